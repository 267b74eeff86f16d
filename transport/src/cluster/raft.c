/*
 * Raft's rules as a state machine (raft.h).  The paper's Figure 2 is the
 * specification; each rule's clause is named where it is applied.
 */
#include "raft.h"

#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "fli_impl.h"
#include "reserve.h"

#include "core/plant.h"

#ifdef FLI_PLANTS
enum fli_plant fli_plant;
#endif

const char *
fli_raft_role_name(enum fli_raft_role role)
{
	switch (role) {
	case FLI_RAFT_FOLLOWER: return "follower";
	case FLI_RAFT_CANDIDATE: return "candidate";
	case FLI_RAFT_LEADER: return "leader";
	case FLI_RAFT_HALTED: return "halted";
	}
	return "?";
}

/* ---- the log --------------------------------------------------------- */

uint64_t
fli_raft_last_index(const struct fli_raft *r)
{
	return r->log.len;
}

const struct fli_raft_entry *
fli_raft_entry_at(const struct fli_raft *r, uint64_t index)
{
	return index >= 1 && index <= r->log.len ? &r->log.e[index - 1] : NULL;
}

uint64_t
fli_raft_term_at(const struct fli_raft *r, uint64_t index)
{
	const struct fli_raft_entry *e = fli_raft_entry_at(r, index);

	return e != NULL ? e->term : 0;
}

static void
log_cut(struct fli_raft_log *log, uint64_t index)
{
	while (log->len >= index && log->len > 0)
		free((void *)log->e[--log->len].data);
}

/* Puts a copy of e at index (log->len + 1 at most), dropping what is at
 * index and above.  In memory only. */
static int
log_put(struct fli_raft_log *log, uint64_t index, const struct fli_raft_entry *e)
{
	uint8_t *copy = NULL;

	FLI_ASSERT(index >= 1 && index <= log->len + 1);
	if (fli_reserve(&log->e, &log->cap, index, sizeof(*log->e)) != 0)
		return FL_ENOMEM;
	if (e->len > 0) {
		copy = malloc(e->len);
		if (copy == NULL)
			return FL_ENOMEM;
		memcpy(copy, e->data, e->len);
	}
	if (PLANTED(FLI_PLANT_LOG_TAIL_KEPT) && index <= log->len) {
		/* The plant: the entry replaced in place, what follows kept. */
		free((void *)log->e[index - 1].data);
		log->e[index - 1] = (struct fli_raft_entry){ e->term, e->type, e->len, copy };
		return 0;
	}
	log_cut(log, index);
	log->e[index - 1] = (struct fli_raft_entry){ e->term, e->type, e->len, copy };
	log->len = index;
	return 0;
}

/* ---- state changes ---------------------------------------------------- */

static void
changed(struct fli_raft *r)
{
	FL_SCHED_POINT("cluster.raft.changed");
	if (r->io.changed != NULL)
		r->io.changed(r->io_arg);
}

/* A persist failed: stop acting until restarted from the files. */
static void
halt(struct fli_raft *r)
{
	r->role = FLI_RAFT_HALTED;
	r->leader = FLI_RAFT_NO_NODE;
	r->persist_failures++;
	changed(r);
}

static int
persist_state(struct fli_raft *r)
{
	int rc = r->io.persist_state(r->io_arg, r->term, r->voted_for);

	if (rc != 0)
		halt(r);
	return rc;
}

/* Appends e at index, durably first, then in memory. */
static int
append(struct fli_raft *r, uint64_t index, const struct fli_raft_entry *e)
{
	int rc = r->io.persist_entry(r->io_arg, index, e);

	if (rc == 0)
		rc = log_put(&r->log, index, e);
	if (rc != 0)
		halt(r);
	return rc;
}

static void
reset_election(struct fli_raft *r, uint64_t now_ns)
{
	uint64_t t = r->cfg.election_timeout_ns;

	r->election_deadline_ns = now_ns + t + r->io.random(r->io_arg, t);
}

static bool
majority(const struct fli_raft *r, int count)
{
	if (PLANTED(FLI_PLANT_QUORUM_HALF)) /* the plant: one of three is a quorum */
		return count >= r->cfg.n / 2;
	return 2 * count > r->cfg.n;
}

/* Rules for all servers: a message of a later term makes this node a
 * follower of that term, with no vote cast in it yet. */
static int
step_down(struct fli_raft *r, uint64_t term)
{
	bool was = r->role != FLI_RAFT_FOLLOWER || r->term != term;

	if (term > r->term) {
		r->term = term;
		r->voted_for = FLI_RAFT_NO_NODE;
		if (persist_state(r) != 0)
			return FL_EIO;
	}
	r->role = FLI_RAFT_FOLLOWER;
	if (was) {
		r->leader = FLI_RAFT_NO_NODE;
		changed(r);
	}
	return 0;
}

static void
apply_committed(struct fli_raft *r)
{
	while (r->applied < r->commit) {
		/* The plant's node applies what it holds, and keeps its commit. */
		if (PLANTED(FLI_PLANT_COMMIT_PAST_LOG) && r->applied >= fli_raft_last_index(r))
			break;
		r->applied++;
		r->io.apply(r->io_arg, r->applied, fli_raft_entry_at(r, r->applied));
	}
}

/* ---- sending ------------------------------------------------------------ */

static void
send_msg(struct fli_raft *r, struct fli_raft_msg *m, int to)
{
	m->from = (int16_t)r->cfg.id;
	m->to = (int16_t)to;
	m->term = r->term;
	FL_SCHED_POINT("cluster.raft.send");
	r->io.send(r->io_arg, m);
}

/* Sends `to` the entries from its next index on (as many as fit), or a
 * heartbeat with none; optimistically moves its next index past them (a
 * refusal moves it back). */
static void
send_append(struct fli_raft *r, int to, uint64_t now_ns)
{
	uint64_t next = r->next_index[to], last = fli_raft_last_index(r);
	struct fli_raft_msg m = { .type = FLI_MSG_APPEND_REQ };
	uint32_t n = 0, bytes = 0;

	if (next < 1)
		next = 1;
	while (next + n <= last && n < r->cfg.max_append_entries) {
		uint32_t len = r->log.e[next + n - 1].len;
		if (n > 0 && bytes + len > r->cfg.max_append_bytes)
			break;
		bytes += len;
		n++;
	}
	m.index = next - 1;
	m.log_term = fli_raft_term_at(r, next - 1);
	m.commit = r->commit;
	m.n_entries = n;
	m.entries = n > 0 ? &r->log.e[next - 1] : NULL;
	r->next_index[to] = next + n;
	r->sent_ns[to] = now_ns;
	send_msg(r, &m, to);
}

static void
broadcast_append(struct fli_raft *r, uint64_t now_ns)
{
	for (int p = 0; p < r->cfg.n; p++)
		if (p != r->cfg.id)
			send_append(r, p, now_ns);
}

/* Leaders: the highest N a majority has with log[N].term == currentTerm
 * is committed. */
static void
advance_commit(struct fli_raft *r)
{
	for (uint64_t n = fli_raft_last_index(r); n > r->commit; n--) {
		int count = 0;

		for (int p = 0; p < r->cfg.n; p++)
			count += r->match_index[p] >= n;
		if (!majority(r, count))
			continue;
		/* Terms only grow along the log: no lower N is of this term. */
		if (fli_raft_term_at(r, n) != r->term && !PLANTED(FLI_PLANT_COMMIT_OLD_TERM))
			break;
		r->commit = n;
		break;
	}
	apply_committed(r);
}

static void
become_leader(struct fli_raft *r, uint64_t now_ns)
{
	struct fli_raft_entry noop = { .term = r->term, .type = FLI_ENTRY_NOOP };
	uint64_t last = fli_raft_last_index(r);

	r->role = FLI_RAFT_LEADER;
	r->leader = r->cfg.id;
	for (int p = 0; p < r->cfg.n; p++) {
		r->next_index[p] = last + 1;
		r->match_index[p] = 0;
	}
	r->match_index[r->cfg.id] = last;
	changed(r);
	/* A no-op of the new term, so that what earlier terms left can
	 * commit with it (section 5.4.2). */
	if (r->cfg.leader_noop) {
		if (append(r, last + 1, &noop) != 0)
			return;
		r->match_index[r->cfg.id] = last + 1;
	}
	broadcast_append(r, now_ns);
	advance_commit(r);
}

static void
start_election(struct fli_raft *r, uint64_t now_ns)
{
	struct fli_raft_msg m = { .type = FLI_MSG_VOTE_REQ };

	r->term++;
	r->voted_for = r->cfg.id;
	r->role = FLI_RAFT_CANDIDATE;
	r->leader = FLI_RAFT_NO_NODE;
	r->elections++;
	if (persist_state(r) != 0)
		return;
	r->votes = 1u << r->cfg.id;
	reset_election(r, now_ns);
	changed(r);
	if (majority(r, 1)) {
		become_leader(r, now_ns);
		return;
	}
	m.index = fli_raft_last_index(r);
	m.log_term = fli_raft_term_at(r, m.index);
	for (int p = 0; p < r->cfg.n; p++)
		if (p != r->cfg.id)
			send_msg(r, &m, p);
}

/* ---- receiving ---------------------------------------------------------- */

/* RequestVote: is the candidate's log at least as up to date as ours
 * (section 5.4.1: the later last term, or the same and at least as long)? */
static bool
up_to_date(const struct fli_raft *r, const struct fli_raft_msg *m)
{
	uint64_t last = fli_raft_last_index(r), last_term = fli_raft_term_at(r, last);

	if (PLANTED(FLI_PLANT_VOTE_NOT_UP_TO_DATE))
		return true;
	return m->log_term > last_term || (m->log_term == last_term && m->index >= last);
}

static void
on_vote_req(struct fli_raft *r, const struct fli_raft_msg *m, uint64_t now_ns)
{
	struct fli_raft_msg reply = { .type = FLI_MSG_VOTE_RESP };

	if (m->term == r->term && r->role == FLI_RAFT_FOLLOWER &&
	    (r->voted_for == FLI_RAFT_NO_NODE || r->voted_for == m->from) && up_to_date(r, m)) {
		if (r->voted_for != m->from) {
			r->voted_for = m->from;
			/* The vote is durable before it is answered. */
			if (!PLANTED(FLI_PLANT_VOTE_NOT_PERSISTED) && persist_state(r) != 0)
				return;
		}
		reset_election(r, now_ns);
		reply.ok = true;
	}
	send_msg(r, &reply, m->from);
}

static void
on_vote_resp(struct fli_raft *r, const struct fli_raft_msg *m, uint64_t now_ns)
{
	if (r->role != FLI_RAFT_CANDIDATE || m->term != r->term || !m->ok)
		return;
	r->votes |= 1u << m->from;
	if (majority(r, __builtin_popcount(r->votes)))
		become_leader(r, now_ns);
}

static int
on_append_req(struct fli_raft *r, const struct fli_raft_msg *m, uint64_t now_ns)
{
	struct fli_raft_msg reply = { .type = FLI_MSG_APPEND_RESP };
	uint64_t last = fli_raft_last_index(r), last_new;

	if (m->term < r->term) {
		reply.index = last;
		send_msg(r, &reply, m->from);
		return 0;
	}
	/* Same term: m->from won it.  Another leader of our own term cannot
	 * be, unless election safety is broken: say so, do not follow. */
	if (r->role == FLI_RAFT_LEADER)
		return FL_EPROTO;
	if (r->role == FLI_RAFT_CANDIDATE || r->leader != m->from) {
		r->role = FLI_RAFT_FOLLOWER;
		r->leader = m->from;
		changed(r);
	}
	reset_election(r, now_ns);
	/* Reply false if the log has no entry at prevLogIndex of
	 * prevLogTerm. */
	if (m->index > last || (fli_raft_term_at(r, m->index) != m->log_term &&
	                        !PLANTED(FLI_PLANT_APPEND_NO_PREV_TERM))) {
		reply.index = m->index > last ? last : m->index - 1;
		send_msg(r, &reply, m->from);
		return 0;
	}
	/* An existing entry that conflicts with a new one (same index,
	 * other term) goes, with all that follow; new entries are
	 * appended.  Entries already there stay (a late duplicate append
	 * must not cut what a later one added). */
	for (uint32_t k = 0; k < m->n_entries; k++) {
		uint64_t index = m->index + 1 + k;

		if (index <= fli_raft_last_index(r) &&
		    fli_raft_term_at(r, index) == m->entries[k].term)
			continue;
		if (append(r, index, &m->entries[k]) != 0)
			return 0;
	}
	last_new = m->index + m->n_entries;
	if (m->commit > r->commit) {
		uint64_t c = m->commit < last_new ? m->commit : last_new;

		/* The plant: no min with the last new entry (Raft's rule; the
		 * entries past it are not known to be the leader's). */
		if (PLANTED(FLI_PLANT_COMMIT_PAST_LOG))
			c = m->commit;
		if (c > r->commit)
			r->commit = c;
		apply_committed(r);
	}
	reply.ok = true;
	reply.index = last_new;
	send_msg(r, &reply, m->from);
	return 0;
}

static int
on_append_resp(struct fli_raft *r, const struct fli_raft_msg *m, uint64_t now_ns)
{
	uint64_t last = fli_raft_last_index(r);
	int p = m->from;

	if (r->role != FLI_RAFT_LEADER || m->term != r->term)
		return 0;
	if (m->index > last)
		return FL_EPROTO; /* no follower can match past our log */
	if (m->ok) {
		if (m->index > r->match_index[p])
			r->match_index[p] = m->index;
		if (r->next_index[p] < r->match_index[p] + 1)
			r->next_index[p] = r->match_index[p] + 1;
		if (!PLANTED(FLI_PLANT_COMMIT_ON_PROPOSE))
			advance_commit(r);
		if (r->role == FLI_RAFT_LEADER && r->next_index[p] <= fli_raft_last_index(r))
			send_append(r, p, now_ns);
		return 0;
	}
	/* Refused: go back to just past what it has, never below what it
	 * is known to match, and try again. */
	r->next_index[p] = m->index + 1;
	if (r->next_index[p] < r->match_index[p] + 1)
		r->next_index[p] = r->match_index[p] + 1;
	send_append(r, p, now_ns);
	return 0;
}

int
fli_raft_recv(struct fli_raft *r, const struct fli_raft_msg *m, uint64_t now_ns)
{
	if (m->from < 0 || m->from >= r->cfg.n || m->from == r->cfg.id || m->to != r->cfg.id ||
	    m->term == 0)
		return FL_EPROTO;
	if (r->role == FLI_RAFT_HALTED)
		return 0;
	FL_SCHED_POINT("cluster.raft.recv");
	if (m->term > r->term && step_down(r, m->term) != 0)
		return 0;
	switch (m->type) {
	case FLI_MSG_VOTE_REQ: on_vote_req(r, m, now_ns); return 0;
	case FLI_MSG_VOTE_RESP: on_vote_resp(r, m, now_ns); return 0;
	case FLI_MSG_APPEND_REQ: return on_append_req(r, m, now_ns);
	case FLI_MSG_APPEND_RESP: return on_append_resp(r, m, now_ns);
	}
	return FL_EPROTO;
}

uint64_t
fli_raft_tick(struct fli_raft *r, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	switch (r->role) {
	case FLI_RAFT_HALTED: return UINT64_MAX;
	case FLI_RAFT_LEADER:
		for (int p = 0; p < r->cfg.n; p++) {
			if (p == r->cfg.id)
				continue;
			if (now_ns >= r->sent_ns[p] + r->cfg.heartbeat_ns)
				send_append(r, p, now_ns);
			if (r->sent_ns[p] + r->cfg.heartbeat_ns < next)
				next = r->sent_ns[p] + r->cfg.heartbeat_ns;
		}
		return next;
	case FLI_RAFT_FOLLOWER:
	case FLI_RAFT_CANDIDATE:
		if (now_ns >= r->election_deadline_ns) {
			FL_SCHED_POINT("cluster.raft.election_timeout");
			start_election(r, now_ns);
			if (r->role == FLI_RAFT_LEADER || r->role == FLI_RAFT_HALTED)
				return fli_raft_tick(r, now_ns);
		}
		return r->election_deadline_ns;
	}
	return next;
}

/* A new entry at `at` goes at once to every follower that has all before
 * it (the others get it with what they still miss). */
static void
send_new_entry(struct fli_raft *r, uint64_t at, uint64_t now_ns)
{
	for (int p = 0; p < r->cfg.n; p++)
		if (p != r->cfg.id && r->next_index[p] == at)
			send_append(r, p, now_ns);
}

int
fli_raft_propose(struct fli_raft *r, uint16_t type, const void *data, uint32_t len, uint64_t now_ns,
                 uint64_t *index)
{
	struct fli_raft_entry e = { .term = r->term, .type = type, .len = len, .data = data };
	uint64_t at = fli_raft_last_index(r) + 1;
	int rc;

	if (r->role != FLI_RAFT_LEADER)
		return FL_ESTATE;
	if (len > r->cfg.max_append_bytes || type < FLI_ENTRY_COMMAND || type > FLI_ENTRY__MAX)
		return len > r->cfg.max_append_bytes ? FL_EMSGSIZE : FL_EINVAL;
	if (PLANTED(FLI_PLANT_PROPOSE_ROLLBACK)) {
		/* The plant: the entry sent while it is made durable, and taken
		 * back when that fails, the leader going on: its index is the
		 * next command's, of the same term, though a follower has it. */
		rc = log_put(&r->log, at, &e);
		if (rc != 0)
			return rc;
		send_new_entry(r, at, now_ns);
		rc = r->io.persist_entry(r->io_arg, at, &e);
		if (rc != 0) {
			log_cut(&r->log, at);
			return rc;
		}
	} else if ((rc = append(r, at, &e)) != 0) {
		return rc;
	}
	r->match_index[r->cfg.id] = at;
	send_new_entry(r, at, now_ns);
	advance_commit(r);
	if (index != NULL)
		*index = at;
	return 0;
}

int
fli_raft_init(struct fli_raft *r, const struct fli_raft_config *cfg, const struct fli_raft_io *io,
              void *io_arg, uint64_t term, int32_t voted_for, const struct fli_raft_entry *log,
              uint64_t n, uint64_t now_ns)
{
	memset(r, 0, sizeof(*r));
	if (cfg->n < 1 || cfg->n > FLI_RAFT_MAX_NODES || cfg->id < 0 || cfg->id >= cfg->n ||
	    cfg->election_timeout_ns == 0 || cfg->heartbeat_ns == 0 ||
	    cfg->max_append_entries == 0 || voted_for < FLI_RAFT_NO_NODE || voted_for >= cfg->n)
		return FL_EINVAL;
	r->cfg = *cfg;
	r->io = *io;
	r->io_arg = io_arg;
	r->role = FLI_RAFT_FOLLOWER;
	r->term = term;
	r->voted_for = voted_for;
	r->leader = FLI_RAFT_NO_NODE;
	for (uint64_t i = 0; i < n; i++) {
		if (log_put(&r->log, i + 1, &log[i]) != 0) {
			fli_raft_fini(r);
			return FL_ENOMEM;
		}
	}
	if (PLANTED(FLI_PLANT_RESTART_APPLIED)) /* the plant: "applied before it stopped" */
		r->commit = r->applied = n;
	reset_election(r, now_ns);
	return 0;
}

void
fli_raft_fini(struct fli_raft *r)
{
	log_cut(&r->log, 1);
	free(r->log.e);
	r->log.e = NULL;
	r->log.cap = 0;
}
