/*
 * A node's client sessions (session.h): ingress, the replicated session
 * table, the leader's egress.
 */
#include "session.h"

#include <stdio.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/platform.h"

/* ---- publications ---------------------------------------------------------- */

static void
egress_release(struct fli_sessions *ss, struct fli_egress *eg)
{
	if (eg->reg != 0)
		(void)fl_client_cancel(ss->client, eg->reg);
	if (eg->pub != NULL)
		(void)fl_publication_close(eg->pub);
	eg->reg = 0;
	eg->pub = NULL;
	/* retry_ns was the give-up time of the add just cancelled: kept, it
	 * would hold the next add back as long (up to the longest wait). */
	eg->retry_ns = 0;
}

/* How long the next add is waited for once one was given up on: twice
 * the last wait, from an election timeout, up to FLI_EGRESS_PATIENCE_MAX
 * of them and to a quarter of the session timeout, so that an add whose
 * answer was lost is asked again several times before a session or a
 * reply waiting on it times out. */
static uint64_t
egress_patience_next(const struct fli_sessions *ss, uint64_t patience_ns)
{
	uint64_t et = ss->r->cfg.election_timeout_ns, most = FLI_EGRESS_PATIENCE_MAX * et;

	if (ss->timeout_ns != 0 && most > ss->timeout_ns / 4)
		most = ss->timeout_ns / 4;
	if (most < et)
		most = et;
	patience_ns = patience_ns == 0 ? 2 * et : 2 * patience_ns;
	return patience_ns > most ? most : patience_ns;
}

/* Moves eg towards a publication to (channel, stream): starts the add,
 * or polls it.  true once eg->pub is there.  A failed add (the driver's
 * tables or command ring full) is tried again FLI_EGRESS_RETRY_NS later,
 * not on every pass of the duty cycle; an add the driver has not
 * answered in time (its answer lost) is cancelled and asked again.  In
 * time is an election timeout at first and egress_patience_next's longer
 * wait at each add given up on, until an answer: a busy driver answering
 * 64 sessions' adds more slowly than one election timeout each (a
 * ThreadSanitizer build on a loaded machine) saw every add cancelled and
 * sent again for ever, each retry adding to its queue, until the
 * sessions timed out unanswered.  The add is polled before it is given
 * up on: an answer in the same pass is taken, not cancelled. */
static bool
egress_ready(struct fli_sessions *ss, struct fli_egress *eg, const char *channel, int32_t stream,
             uint64_t now_ns)
{
	int rc;

	if (eg->pub != NULL)
		return true;
	if (eg->reg != 0) {
		rc = fl_client_add_publication_poll(ss->client, eg->reg, &eg->pub);
		if (rc != FL_EAGAIN) {
			/* An answer, ok or not: the driver is keeping up. */
			eg->reg = 0;
			eg->patience_ns = 0;
			if (rc != 0)
				eg->retry_ns = now_ns + FLI_EGRESS_RETRY_NS;
			return rc == 0 && eg->pub != NULL;
		}
		if (now_ns < eg->retry_ns)
			return false;
		(void)fl_client_cancel(ss->client, eg->reg);
		eg->reg = 0;
		eg->patience_ns = egress_patience_next(ss, eg->patience_ns);
		/* and asked again at once, below */
	} else if (now_ns < eg->retry_ns) {
		return false;
	}
	rc = fl_client_add_publication_start(ss->client, channel, stream, true, &eg->reg);
	if (rc != 0) {
		eg->reg = 0;
		eg->retry_ns = now_ns + FLI_EGRESS_RETRY_NS;
		return false;
	}
	eg->retry_ns =
	        now_ns + (eg->patience_ns != 0 ? eg->patience_ns : ss->r->cfg.election_timeout_ns);
	return false;
}

/* Offers frame on eg's publication; a publication the driver closed is
 * let go (the next egress_ready adds another).  true if offered. */
static bool
offer(struct fli_sessions *ss, struct fli_egress *eg, const uint8_t *frame, size_t len)
{
	int64_t rc;

	if (eg->pub == NULL || len == 0)
		return false;
	rc = fl_publication_offer(eg->pub, frame, len);
	if (rc == FL_ECLOSED)
		egress_release(ss, eg);
	return rc > 0;
}

/* ---- frames this node sends -------------------------------------------------- */

static int32_t
ingress_of(int leader)
{
	return leader >= 0 ? FL_CLUSTER_INGRESS_STREAM_BASE + leader : 0;
}

/* A SESSION_EVENT naming the leader this node knows, in ss->out. */
static size_t
event(struct fli_sessions *ss, uint8_t code, uint64_t session, uint64_t correlation,
      const char *detail)
{
	struct fli_sw_msg m = {
		.type = FLI_SW_SESSION_EVENT,
		.code = code,
		.leader = (int16_t)ss->r->leader,
		.stream = ingress_of(ss->r->leader),
		.term = ss->r->term,
		.session = session,
		.correlation = correlation,
		.data = (const uint8_t *)detail,
		.len = (uint32_t)strlen(detail),
	};

	return fli_sw_encode(&m, ss->out, sizeof(ss->out));
}

/* Sends s the event it is owed, if its egress is there.  1 if sent. */
static int
send_owed(struct fli_sessions *ss, struct fli_session *s)
{
	struct fli_sw_msg m = {
		.type = FLI_SW_NEW_LEADER,
		.leader = (int16_t)ss->r->cfg.id,
		.stream = ingress_of(ss->r->cfg.id),
		.term = ss->r->term,
		.session = s->id,
	};
	size_t len;

	if (s->owed == FLI_OWED_NONE || s->eg.pub == NULL)
		return 0;
	if (s->owed == FLI_OWED_OK)
		len = event(ss, FLI_SW_OK, s->id, s->correlation, "");
	else
		len = fli_sw_encode(&m, ss->out, sizeof(ss->out));
	if (!offer(ss, &s->eg, ss->out, len))
		return 0;
	s->owed = FLI_OWED_NONE;
	return 1;
}

/* Sends ss->out[0..len) on s's egress, after what s is owed; counted if
 * it cannot go (it is not retried). */
static void
send_on(struct fli_sessions *ss, struct fli_session *s, size_t len)
{
	uint8_t frame[FLI_SW_EGRESS_MAX];

	memcpy(frame, ss->out, len);
	(void)send_owed(ss, s);
	if (s->owed != FLI_OWED_NONE || !offer(ss, &s->eg, frame, len))
		ss->egress_dropped++;
}

/* ---- one-off replies ----------------------------------------------------------- */

static void
reply_done(struct fli_sessions *ss, struct fli_session_reply *rp, bool sent)
{
	if (!sent)
		ss->egress_dropped++;
	egress_release(ss, &rp->eg);
	rp->used = false;
}

/* Sends ss->out[0..len) to (channel, stream), on eg (taken over; may be
 * empty: one is added), then lets the publication go.  With no room for
 * it, it is offered once, at once. */
static void
reply(struct fli_sessions *ss, const char *channel, int32_t stream, struct fli_egress *eg,
      size_t len, uint64_t now_ns)
{
	struct fli_session_reply *rp = NULL, spare = { 0 };

	for (int i = 0; i < FLI_SESSION_REPLIES && rp == NULL; i++)
		if (!ss->replies[i].used)
			rp = &ss->replies[i];
	if (rp == NULL) {
		spare.eg = *eg;
		*eg = (struct fli_egress){ 0 };
		reply_done(ss, &spare, offer(ss, &spare.eg, ss->out, len));
		return;
	}
	rp->used = true;
	rp->stream = stream;
	snprintf(rp->channel, sizeof(rp->channel), "%s", channel);
	rp->eg = *eg;
	rp->deadline_ns = now_ns + ss->timeout_ns;
	rp->len = (uint32_t)len;
	memcpy(rp->frame, ss->out, len);
	*eg = (struct fli_egress){ 0 };
}

/* A reply to a CONNECT m, on a publication of its own. */
static void
reply_connect(struct fli_sessions *ss, const struct fli_sw_msg *m, uint8_t code, const char *detail,
              uint64_t now_ns)
{
	struct fli_egress none = { 0 };
	char channel[FL_NAME_MAX + 1];
	size_t len = event(ss, code, 0, m->correlation, detail);

	memcpy(channel, m->data, m->len);
	channel[m->len] = '\0';
	reply(ss, channel, m->stream, &none, len, now_ns);
}

static int
replies_work(struct fli_sessions *ss, uint64_t now_ns)
{
	int work = 0;

	for (int i = 0; i < FLI_SESSION_REPLIES; i++) {
		struct fli_session_reply *rp = &ss->replies[i];

		if (!rp->used)
			continue;
		if (egress_ready(ss, &rp->eg, rp->channel, rp->stream, now_ns) &&
		    offer(ss, &rp->eg, rp->frame, rp->len)) {
			reply_done(ss, rp, true);
			work++;
		} else if (now_ns >= rp->deadline_ns) {
			reply_done(ss, rp, false);
			work++;
		}
	}
	return work;
}

/* ---- the table ------------------------------------------------------------------- */

static struct fli_session *
find(struct fli_sessions *ss, uint64_t id)
{
	for (uint32_t i = 0; i < ss->n; i++)
		if (ss->s[i].id == id)
			return &ss->s[i];
	return NULL;
}

/* Removes s, keeping the others in the order they opened. */
static void
drop(struct fli_sessions *ss, struct fli_session *s)
{
	size_t i = (size_t)(s - ss->s);

	memmove(s, s + 1, (ss->n - i - 1) * sizeof(*s));
	ss->n--;
}

static bool
leader(const struct fli_sessions *ss)
{
	return ss->r->role == FLI_RAFT_LEADER;
}

/* SESSION_OPENs in the log not yet applied: sessions about to open. */
static uint32_t
opening(const struct fli_raft *r)
{
	uint32_t k = 0;

	for (uint64_t i = r->applied + 1; i <= fli_raft_last_index(r); i++)
		k += fli_raft_entry_at(r, i)->type == FLI_ENTRY_SESSION_OPEN;
	return k;
}

/* Each apply_* gets `answer`: this node leads and the entry is of its
 * term, so it took the request and answers it.  A leader applying what
 * earlier terms left answers none of it: those clients hear NEW_LEADER
 * instead, and a whole cluster restarted from its logs sends no one the
 * answers of its history. */
static int
apply_open(struct fli_sessions *ss, bool answer, uint64_t index, const struct fli_sw_msg *m,
           uint64_t now_ns)
{
	struct fli_session *s;

	if (ss->n == FL_CLUSTER_MAX_SESSIONS) {
		if (answer)
			reply_connect(ss, m, FLI_SW_ERROR, "too many sessions", now_ns);
		return 0;
	}
	s = &ss->s[ss->n++];
	memset(s, 0, sizeof(*s));
	s->id = index;
	s->correlation = m->correlation;
	s->stream = m->stream;
	memcpy(s->channel, m->data, m->len);
	if (answer) {
		s->active_ns = now_ns;
		s->owed = FLI_OWED_OK;
		(void)egress_ready(ss, &s->eg, s->channel, s->stream, now_ns);
	}
	return 0;
}

static void
apply_close(struct fli_sessions *ss, bool answer, const struct fli_sw_msg *m, const char *reason,
            uint64_t now_ns)
{
	struct fli_session *s = find(ss, m->session);

	if (s == NULL)
		return; /* closed already (a close and a timeout both logged) */
	if (answer)
		reply(ss, s->channel, s->stream, &s->eg,
		      event(ss, FLI_SW_CLOSED, s->id, s->correlation, reason), now_ns);
	egress_release(ss, &s->eg);
	drop(ss, s);
}

static int
apply_command(struct fli_sessions *ss, bool answer, uint64_t index, const struct fli_sw_msg *m)
{
	struct fli_session *s = find(ss, m->session);
	struct fli_kv_result res;
	struct fli_sw_msg rm = {
		.type = FLI_SW_RESPONSE,
		.session = m->session,
		.correlation = m->correlation,
		.term = ss->r->term,
		.index = index,
	};

	if (s == NULL)
		return 0; /* its session closed first: nothing */
	if (fli_kv_apply(ss->kv, m->data, m->len, &res) != 0)
		return FL_ENOMEM;
	if (!answer)
		return 0;
	rm.code = (uint8_t)res.status;
	rm.data = res.value;
	rm.len = res.value_len;
	/* Appends can make a value longer than one response carries. */
	if (res.value_len > FLI_KV_MAX_VALUE)
		send_on(ss, s, event(ss, FLI_SW_ERROR, s->id, m->correlation, "value too long"));
	else
		send_on(ss, s, fli_sw_encode(&rm, ss->out, sizeof(ss->out)));
	return 0;
}

/* This leader's term's first entry is applied: everything committed
 * before it is in the table (and no session of its own term is yet).
 * Every session gets its egress, a NEW_LEADER and a fresh activity
 * time, so that none times out for the failover. */
static void
establish(struct fli_sessions *ss, uint64_t now_ns)
{
	ss->leading = ss->r->term;
	for (uint32_t i = 0; i < ss->n; i++) {
		struct fli_session *s = &ss->s[i];

		s->active_ns = now_ns;
		s->closing = false;
		s->owed = FLI_OWED_NEW_LEADER;
		(void)egress_ready(ss, &s->eg, s->channel, s->stream, now_ns);
	}
}

/* The frame type each session entry holds. */
static uint8_t
frame_of(uint16_t entry_type)
{
	switch (entry_type) {
	case FLI_ENTRY_SESSION_OPEN: return FLI_SW_CONNECT;
	case FLI_ENTRY_SESSION_CLOSE:
	case FLI_ENTRY_SESSION_TIMEOUT: return FLI_SW_CLOSE;
	case FLI_ENTRY_SESSION_COMMAND: return FLI_SW_COMMAND;
	}
	return 0;
}

int
fli_sessions_apply(struct fli_sessions *ss, uint64_t index, const struct fli_raft_entry *e,
                   uint64_t now_ns)
{
	bool answer = leader(ss) && e->term == ss->r->term;
	struct fli_sw_msg m;

	if (e->type == FLI_ENTRY_NOOP) {
		if (answer)
			establish(ss, now_ns);
		return 0;
	}
	if (frame_of(e->type) == 0 || fli_sw_decode(e->data, e->len, &m, NULL) != 0 ||
	    m.type != frame_of(e->type))
		return 0;
	switch (e->type) {
	case FLI_ENTRY_SESSION_OPEN: return apply_open(ss, answer, index, &m, now_ns);
	case FLI_ENTRY_SESSION_CLOSE: apply_close(ss, answer, &m, "client", now_ns); return 0;
	case FLI_ENTRY_SESSION_TIMEOUT: apply_close(ss, answer, &m, "timeout", now_ns); return 0;
	}
	return apply_command(ss, answer, index, &m);
}

void
fli_sessions_changed(struct fli_sessions *ss)
{
	if (leader(ss))
		return;
	ss->leading = 0;
	for (uint32_t i = 0; i < ss->n; i++) {
		egress_release(ss, &ss->s[i].eg);
		ss->s[i].owed = FLI_OWED_NONE;
		ss->s[i].closing = false;
	}
}

/* ---- ingress ------------------------------------------------------------------------ */

/* A response address on the cluster's own streams would put events in a
 * node's consensus or ingress stream. */
static bool
address_ok(const struct fli_sw_msg *m)
{
	int32_t s = m->stream;

	if (m->len != strlen(FL_CLUSTER_CHANNEL) ||
	    memcmp(m->data, FL_CLUSTER_CHANNEL, m->len) != 0)
		return true;
	return !(s >= FL_CLUSTER_STREAM_BASE &&
	         s < FL_CLUSTER_STREAM_BASE + FL_CLUSTER_MAX_NODES) &&
	       !(s >= FL_CLUSTER_INGRESS_STREAM_BASE &&
	         s < FL_CLUSTER_INGRESS_STREAM_BASE + FL_CLUSTER_MAX_NODES);
}

static void
on_connect(struct fli_sessions *ss, const struct fli_sw_msg *m, const uint8_t *frame, size_t len,
           uint64_t now_ns)
{
	struct fli_raft *r = ss->r;

	if (!address_ok(m))
		ss->ingress_dropped++;
	else if (!leader(ss) && r->leader >= 0)
		reply_connect(ss, m, FLI_SW_REDIRECT, "", now_ns);
	else if (!leader(ss))
		reply_connect(ss, m, FLI_SW_ERROR, "no leader", now_ns);
	else if (ss->n + opening(r) >= FL_CLUSTER_MAX_SESSIONS)
		reply_connect(ss, m, FLI_SW_ERROR, "too many sessions", now_ns);
	else if (fli_raft_propose(r, FLI_ENTRY_SESSION_OPEN, frame, (uint32_t)len, now_ns, NULL) !=
	         0)
		reply_connect(ss, m, FLI_SW_ERROR, "not appended", now_ns);
}

/* A KEEPALIVE, CLOSE or COMMAND from session s, at the leader.  s may be
 * gone after a proposal (a cluster of one applies at once). */
static void
on_session_frame(struct fli_sessions *ss, struct fli_session *s, const struct fli_sw_msg *m,
                 const uint8_t *frame, size_t len, uint64_t now_ns)
{
	struct fli_raft *r = ss->r;
	uint64_t correlation = m->correlation;

	if (m->term != r->term) {
		if (m->type != FLI_SW_COMMAND) {
			ss->ingress_dropped++;
			return;
		}
		send_on(ss, s, event(ss, FLI_SW_ERROR, s->id, correlation, "stale term"));
		return;
	}
	s->active_ns = now_ns;
	if (m->type == FLI_SW_KEEPALIVE || (m->type == FLI_SW_CLOSE && s->closing))
		return;
	if (m->type == FLI_SW_CLOSE) {
		s->closing = true;
		if (fli_raft_propose(r, FLI_ENTRY_SESSION_CLOSE, frame, (uint32_t)len, now_ns,
		                     NULL) != 0 &&
		    (s = find(ss, m->session)) != NULL)
			s->closing = false;
		return;
	}
	if (fli_raft_propose(r, FLI_ENTRY_SESSION_COMMAND, frame, (uint32_t)len, now_ns, NULL) !=
	            0 &&
	    (s = find(ss, m->session)) != NULL)
		send_on(ss, s, event(ss, FLI_SW_ERROR, s->id, correlation, "not appended"));
}

static void
on_ingress(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct fli_sessions *ss = arg;
	uint64_t now_ns = fl_clock_now_ns();
	struct fli_session *s;
	struct fli_sw_msg m;

	(void)h;
	if (fli_sw_decode(buf, len, &m, NULL) != 0 || m.type > FLI_SW_COMMAND)
		ss->ingress_garbled++;
	else if (m.type == FLI_SW_CONNECT)
		on_connect(ss, &m, buf, len, now_ns);
	else if (!leader(ss) || (s = find(ss, m.session)) == NULL)
		ss->ingress_dropped++;
	else
		on_session_frame(ss, s, &m, buf, len, now_ns);
}

/* ---- the duty cycle ---------------------------------------------------------------- */

/* The leader appends a SESSION_TIMEOUT for each session silent too long
 * (from the top down: a cluster of one drops it at once). */
static int
time_out(struct fli_sessions *ss, uint64_t now_ns)
{
	int work = 0;

	for (uint32_t i = ss->n; i-- > 0;) {
		struct fli_session *s = &ss->s[i];
		uint8_t frame[FLI_SW_EVENT_MAX];
		struct fli_sw_msg m = { .type = FLI_SW_CLOSE,
			                .term = ss->r->term,
			                .session = s->id };
		size_t len;
		uint64_t id = s->id;

		if (s->closing || now_ns <= s->active_ns + ss->timeout_ns)
			continue;
		len = fli_sw_encode(&m, frame, sizeof(frame));
		s->closing = true;
		if (fli_raft_propose(ss->r, FLI_ENTRY_SESSION_TIMEOUT, frame, (uint32_t)len, now_ns,
		                     NULL) != 0 &&
		    (s = find(ss, id)) != NULL)
			s->closing = false;
		work++;
		if (!leader(ss))
			break;
	}
	return work;
}

int
fli_sessions_do_work(struct fli_sessions *ss, uint64_t now_ns)
{
	int work = 0, polled;

	work += fli_resub_poll(&ss->ingress, ss->client, now_ns, ss->r->cfg.heartbeat_ns,
	                       ss->r->cfg.election_timeout_ns);
	polled = ss->ingress.sub != NULL
	                 ? fl_subscription_poll(ss->ingress.sub, fl_fragment_assembler_handler,
	                                        &ss->fa, 16)
	                 : 0;
	if (polled > 0)
		work += polled;
	/* Egress and timeouts are an established leader's (fli_sessions_changed
	 * clears leading when it stops). */
	if (leader(ss) && ss->leading == ss->r->term) {
		for (uint32_t i = 0; i < ss->n; i++) {
			struct fli_session *s = &ss->s[i];

			if (s->eg.pub == NULL &&
			    egress_ready(ss, &s->eg, s->channel, s->stream, now_ns))
				work++;
			work += send_owed(ss, s);
		}
		work += time_out(ss, now_ns);
	}
	return work + replies_work(ss, now_ns);
}

/* ---- open and close ------------------------------------------------------------------- */

int
fli_sessions_open(struct fli_sessions *ss, fl_client *c, struct fli_raft *r, struct fli_kv *kv,
                  int id, uint64_t timeout_ns, uint64_t deadline_ns)
{
	memset(ss, 0, sizeof(*ss));
	ss->client = c;
	ss->r = r;
	ss->kv = kv;
	ss->timeout_ns = timeout_ns;
	fl_fragment_assembler_init(&ss->fa, on_ingress, ss);
	ss->ingress.stream = FL_CLUSTER_INGRESS_STREAM_BASE + id;
	return fl_client_add_subscription(c, FL_CLUSTER_CHANNEL, ss->ingress.stream, NULL,
	                                  deadline_ns, &ss->ingress.sub);
}

void
fli_sessions_close(struct fli_sessions *ss)
{
	if (ss->client != NULL) {
		for (uint32_t i = 0; i < ss->n; i++)
			egress_release(ss, &ss->s[i].eg);
		for (int i = 0; i < FLI_SESSION_REPLIES; i++)
			egress_release(ss, &ss->replies[i].eg);
		fli_resub_close(&ss->ingress, ss->client);
	}
	ss->ingress.sub = NULL;
	ss->client = NULL;
	fl_fragment_assembler_fini(&ss->fa);
}

void
fli_sessions_abandon(struct fli_sessions *ss)
{
	ss->client = NULL; /* it took its publications and subscription with it */
	fl_fragment_assembler_fini(&ss->fa);
}
