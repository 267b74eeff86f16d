/*
 * The cluster domain: a scenario's `cluster:` nodes, its operations
 * (kill_node, restart_node, partition, heal, wait_leader, put) and
 * Raft's safety properties, checked as the nodes act.
 *
 * Under sim every node life is an actor of its own ("node<i>"): a
 * coroutine that opens the node on its files (<run dir>/cluster/node<i>),
 * runs its duty cycle on the run's embedded driver, and ends when it is
 * killed (the node abandoned as a process's death would leave it:
 * fl_cluster_node_abandon), crashed by a fault rule (the coroutine stops
 * where it stands), or closed at the end of the run.  restart_node starts
 * the next life.  Election timeouts are draws from the run's choice
 * stream (fl_random), so a seed replays elections too.
 *
 * The checks, as the nodes act (the node's observer and its duty cycle):
 *   election_safety       per term, the one node that led it;
 *   leader_completeness   every entry known committed is in a new
 *                         leader's log when it takes office;
 *   state_machine_safety  per index, the one entry applied (and the one
 *                         committed) there, by any node;
 *   log_matching          per (index, term), one entry and one prefix
 *                         (a hash chain over the log up to it).
 * Once every actor is done a supervisor actor ("cluster") heals the
 * partition, restarts every node that is down or halted, and requires
 * (cluster_liveness) a leader that committed its whole log, applied by
 * every node to the same state, within cluster.liveness_ms.  Then it
 * closes the nodes, removes their files, and the run's leak properties
 * judge what is left.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/cluster.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/sim.h"

#include "core/grow.h"
#include "run/run_internal.h"

#define MAX_LIVES    256 /* node lives started by restarts in one run */
#define SEEN_PER_IDX 4   /* distinct terms remembered per index (log_matching) */

enum node_state {
	NODE_DOWN,
	NODE_UP,
};

struct node_run {
	struct cluster_run *c;
	int id;
	char name[16];
	char dir[320];
	fl_cluster_node *n; /* this life's node, or NULL */
	enum node_state state;
	bool kill;          /* asked to die at its next turn */
	uint64_t revive_at; /* the supervisor's next restart of it */
	uint32_t revivals;  /* ... and how many it made */
	uint32_t lives;
	uint64_t checked_len, checked_last_term, checked_commit; /* what check_node saw */
	struct fl_cluster_observer obs;
};

#define MAX_CORPSES 64
static fl_cluster_node *corpses[MAX_CORPSES];
static unsigned ncorpses;

struct entry_id {
	uint64_t term, hash;
};

/* What log_matching remembers of an index: per term seen there, the
 * entry's hash, the hash chain up to it, and who held it first. */
struct seen_slot {
	uint64_t term, hash, chain;
	int node;
};

struct cluster_run {
	struct run *r;
	const struct fl_scenario_cluster *cfg;
	struct node_run nodes[FL_SCN_MAX_NODES];
	uint8_t group[FL_SCN_MAX_NODES]; /* partition: equal groups reach each other */
	bool stop;                       /* the supervisor closes the nodes */
	bool done;                       /* ... and they are closed */
	bool crashed;                    /* a node life died at a crash fault */
	char top[300];                   /* <run dir>/cluster */
	fl_thread *threads[MAX_LIVES];   /* lives started inside the sim, joined at the end */
	size_t nthreads;
	int32_t *leader_of_term; /* per term, node + 1 (0: none seen) */
	size_t terms_cap;
	struct entry_id *committed; /* per index - 1: known committed */
	size_t ncommitted, committed_cap;
	int *committed_by;
	struct entry_id *applied; /* per index - 1: applied (term 0: not yet) */
	size_t applied_cap;
	struct seen_slot *seen; /* per index - 1: SEEN_PER_IDX slots */
	size_t seen_cap;
};

static bool
checking(const struct cluster_run *c, uint32_t prop)
{
	return (c->r->s->properties & prop) != 0;
}

/* ---- the observer: what the nodes say as they act ------------------------- */

static bool
need(void **p, size_t *cap, size_t want, size_t elem)
{
	size_t old = *cap;
	void *q;

	if (want <= old)
		return true;
	q = fli_grow(*p, cap, want, elem, 64);

	if (q == NULL)
		return false;
	memset((char *)q + old * elem, 0, (*cap - old) * elem);
	*p = q;
	return true;
}

static void
out_of_memory(struct cluster_run *c)
{
	fli_run_fail(c->r, "harness", "cluster checks: out of memory");
}

/* A new leader's log holds every entry known committed. */
static void
check_completeness(struct cluster_run *c, const struct node_run *nr, uint64_t term)
{
	for (uint64_t i = 1; i <= c->ncommitted; i++) {
		uint64_t t = 0, h = 0;
		const struct entry_id *e = &c->committed[i - 1];

		if (fl_cluster_node_entry(nr->n, i, &t, &h) == 0 && t == e->term && h == e->hash)
			continue;
		fli_run_fail(c->r, "leader_completeness",
		             "node %d leads term %llu without entry %llu of term %llu, committed "
		             "(node %d saw it committed)%s",
		             nr->id, (unsigned long long)term, (unsigned long long)i,
		             (unsigned long long)e->term, c->committed_by[i - 1],
		             t == 0 ? "; its log ends before it"
		                    : "; it holds another entry there");
		return;
	}
}

static void
obs_changed(void *arg, const struct fl_cluster_node_status *st)
{
	struct node_run *nr = arg;
	struct cluster_run *c = nr->c;

	fli_run_story(c->r, "%s: %s of term %llu (leader %d)", nr->name,
	              st->role == FL_CLUSTER_LEADER      ? "leader"
	              : st->role == FL_CLUSTER_CANDIDATE ? "candidate"
	              : st->role == FL_CLUSTER_HALTED    ? "halted"
	                                                 : "follower",
	              (unsigned long long)st->term, st->leader);
	if (st->role != FL_CLUSTER_LEADER || nr->n == NULL)
		return;
	if (!need((void **)&c->leader_of_term, &c->terms_cap, st->term + 1, sizeof(int32_t))) {
		out_of_memory(c);
		return;
	}
	int32_t *who = &c->leader_of_term[st->term];
	if (*who != 0 && *who != nr->id + 1 && checking(c, FL_SCN_PROP_ELECTION_SAFETY))
		fli_run_fail(c->r, "election_safety", "nodes %d and %d both lead term %llu",
		             *who - 1, nr->id, (unsigned long long)st->term);
	*who = nr->id + 1;
	if (checking(c, FL_SCN_PROP_LEADER_COMPLETENESS))
		check_completeness(c, nr, st->term);
}

static void
obs_applied(void *arg, int id, uint64_t index, uint64_t term, uint64_t hash)
{
	struct node_run *nr = arg;
	struct cluster_run *c = nr->c;
	struct entry_id *e;

	if (!need((void **)&c->applied, &c->applied_cap, index, sizeof(*c->applied))) {
		out_of_memory(c);
		return;
	}
	e = &c->applied[index - 1];
	if (e->term == 0) {
		e->term = term;
		e->hash = hash;
	} else if ((e->term != term || e->hash != hash) &&
	           checking(c, FL_SCN_PROP_STATE_MACHINE_SAFETY)) {
		fli_run_fail(c->r, "state_machine_safety",
		             "node %d applied entry %llu of term %llu (hash %016llx) where another "
		             "node applied one of term %llu (hash %016llx)",
		             id, (unsigned long long)index, (unsigned long long)term,
		             (unsigned long long)hash, (unsigned long long)e->term,
		             (unsigned long long)e->hash);
	}
}

static bool
obs_link_up(void *arg, int from, int to)
{
	struct node_run *nr = arg;
	const uint8_t *g = nr->c->group;

	(void)from;
	return g[nr->id] == g[to];
}

/* ---- the checks a node's duty cycle makes --------------------------------- */

/* Entries (checked_commit, commit] of a node are committed: the same
 * everywhere (a second node's view is compared to the first's). */
static void
record_commits(struct cluster_run *c, struct node_run *nr, uint64_t commit)
{
	for (uint64_t i = nr->checked_commit + 1; i <= commit; i++) {
		struct entry_id e;

		if (fl_cluster_node_entry(nr->n, i, &e.term, &e.hash) != 0)
			break;
		if (i <= c->ncommitted) {
			const struct entry_id *k = &c->committed[i - 1];

			if ((k->term != e.term || k->hash != e.hash) &&
			    checking(c, FL_SCN_PROP_STATE_MACHINE_SAFETY))
				fli_run_fail(
				        c->r, "state_machine_safety",
				        "node %d committed entry %llu of term %llu where node %d "
				        "committed one of term %llu",
				        nr->id, (unsigned long long)i, (unsigned long long)e.term,
				        c->committed_by[i - 1], (unsigned long long)k->term);
			continue;
		}
		size_t cap = c->committed_cap;
		if (!need((void **)&c->committed, &c->committed_cap, i, sizeof(*c->committed)) ||
		    !need((void **)&c->committed_by, &cap, i, sizeof(int))) {
			out_of_memory(c);
			return;
		}
		c->committed[i - 1] = e;
		c->committed_by[i - 1] = nr->id;
		c->ncommitted = i;
	}
	nr->checked_commit = commit;
}

static uint64_t
chain_next(uint64_t chain, const struct entry_id *e)
{
	chain ^= e->term * 0x9e3779b97f4a7c15ull;
	chain = (chain ^ e->hash) * 0x100000001b3ull;
	return chain ^ (chain >> 29);
}

/* log_matching over a node's whole log: one entry per (index, term), and
 * the same entries before it. */
static void
check_log(struct cluster_run *c, struct node_run *nr, uint64_t len)
{
	uint64_t chain = 0;

	if (!need((void **)&c->seen, &c->seen_cap, len * SEEN_PER_IDX, sizeof(*c->seen))) {
		out_of_memory(c);
		return;
	}
	for (uint64_t i = 1; i <= len; i++) {
		struct entry_id e;
		struct seen_slot *s = &c->seen[(i - 1) * SEEN_PER_IDX];
		int k;

		if (fl_cluster_node_entry(nr->n, i, &e.term, &e.hash) != 0)
			return;
		chain = chain_next(chain, &e);
		for (k = 0; k < SEEN_PER_IDX && s[k].term != 0 && s[k].term != e.term; k++)
			;
		if (k == SEEN_PER_IDX)
			continue; /* more terms at one index than remembered: not judged */
		if (s[k].term == 0) {
			s[k] = (struct seen_slot){ e.term, e.hash, chain, nr->id };
			continue;
		}
		if (s[k].hash != e.hash)
			fli_run_fail(
			        c->r, "log_matching",
			        "nodes %d and %d hold different entries at index %llu, both of "
			        "term %llu",
			        s[k].node, nr->id, (unsigned long long)i,
			        (unsigned long long)e.term);
		else if (s[k].chain != chain)
			fli_run_fail(
			        c->r, "log_matching",
			        "nodes %d and %d hold the same entry at index %llu (term %llu) "
			        "but their logs differ before it",
			        s[k].node, nr->id, (unsigned long long)i,
			        (unsigned long long)e.term);
		if (s[k].hash != e.hash || s[k].chain != chain)
			return;
	}
}

static void
check_node(struct cluster_run *c, struct node_run *nr)
{
	struct fl_cluster_node_status st;
	uint64_t last_term = 0, h;

	if (fl_cluster_node_status(nr->n, &st) != 0)
		return;
	if (st.log_length > 0)
		(void)fl_cluster_node_entry(nr->n, st.log_length, &last_term, &h);
	if (st.commit > nr->checked_commit)
		record_commits(c, nr, st.commit);
	if (checking(c, FL_SCN_PROP_LOG_MATCHING) &&
	    (st.log_length != nr->checked_len || last_term != nr->checked_last_term))
		check_log(c, nr, st.log_length);
	nr->checked_len = st.log_length;
	nr->checked_last_term = last_term;
}

/* ---- a node's life -------------------------------------------------------- */

static void
node_main(void *arg)
{
	struct node_run *nr = arg;
	struct cluster_run *c = nr->c;
	struct fl_cluster_node_ctx ctx;
	struct fl_idle st = { 0 };
	uint64_t tick = (uint64_t)c->cfg->heartbeat_ms * FL_NS_PER_MS / 2;
	int rv;

	if (fli_wait_driver(c->r) != 0) {
		nr->state = NODE_DOWN;
		return; /* the run reports the driver */
	}
	(void)mkdir(c->top, 0700); /* the nodes' directories' parent */
	fl_cluster_node_ctx_init(&ctx);
	ctx.ns = c->r->ns;
	ctx.id = nr->id;
	ctx.members = (int)c->cfg->nodes;
	ctx.dir = nr->dir;
	ctx.election_timeout_ns = (uint64_t)c->cfg->election_timeout_ms * FL_NS_PER_MS;
	ctx.heartbeat_ns = (uint64_t)c->cfg->heartbeat_ms * FL_NS_PER_MS;
	ctx.observer = &nr->obs;
	nr->checked_len = nr->checked_last_term = nr->checked_commit = 0;
	nr->lives++;
	rv = fl_cluster_node_open(&ctx, &nr->n);
	if (rv != 0) {
		nr->n = NULL;
		fli_run_story(c->r, "%s: open: %s", nr->name, fl_errname(rv));
		if (__atomic_load_n(&c->r->driver_faults_fired, __ATOMIC_ACQUIRE) == 0)
			fli_run_fail(c->r, "operations", "%s: the node did not open: %s", nr->name,
			             fl_errname(rv));
		nr->state = NODE_DOWN;
		fl_idle(&st, 1, FL_DEADLINE_NONE);
		return;
	}
	nr->state = NODE_UP;
	fli_run_story(c->r, "%s: up (life %u)", nr->name, nr->lives);
	for (;;) {
		int work;

		if (c->stop) {
			fl_cluster_node_close(nr->n);
			break;
		}
		if (nr->kill) {
			fl_cluster_node_abandon(nr->n);
			fli_run_story(c->r, "%s: killed", nr->name);
			break;
		}
		work = fl_cluster_node_do_work(nr->n);
		if (work < 0) {
			/* Its client is dead (the driver timed it out): the node
			 * can do nothing more; it ends as a crash would. */
			fli_run_story(c->r, "%s: client: %s", nr->name, fl_errname(work));
			fl_cluster_node_abandon(nr->n);
			break;
		}
		check_node(c, nr);
		fl_idle(&st, work, fl_clock_now_ns() + tick);
	}
	nr->n = NULL;
	nr->kill = false;
	nr->state = NODE_DOWN;
	fl_idle(&st, 1, FL_DEADLINE_NONE); /* a peer waiting on it may go on */
}

/* Start the next life of a node from inside the sim. */
static int
node_start(struct cluster_run *c, struct node_run *nr)
{
	int rv;

	if (c->nthreads == MAX_LIVES) {
		fli_run_fail(c->r, "harness", "more than %d node restarts in one run", MAX_LIVES);
		return FL_ELIMIT;
	}
	nr->state = NODE_UP; /* starting: not to be started twice */
	rv = fl_thread_start(&c->threads[c->nthreads], nr->name, node_main, nr);
	if (rv != 0) {
		nr->state = NODE_DOWN;
		return rv;
	}
	c->nthreads++;
	return 0;
}

/* Ask a live node to die and wait (bounded) until it did. */
static int
node_kill(struct cluster_run *c, struct node_run *nr, uint64_t deadline)
{
	struct fl_idle st = { 0 };

	if (nr->state != NODE_UP)
		return 0;
	nr->kill = true;
	fl_idle(&st, 1, FL_DEADLINE_NONE);
	while (nr->state == NODE_UP) {
		if (fl_clock_now_ns() >= deadline)
			return FL_ETIMEDOUT;
		fl_idle(&st, 0, deadline);
	}
	(void)c;
	return 0;
}

/* ---- who leads ------------------------------------------------------------- */

/* A node that leads now: it committed an entry of its own term, and a
 * majority of the members (itself included), up and on its side of any
 * partition, follow it in that term.  A leader cut off from the
 * majority still believes it leads; it is not this one.  -1: none. */
static int
current_leader(const struct cluster_run *c)
{
	struct fl_cluster_node_status st[FL_SCN_MAX_NODES];
	bool up[FL_SCN_MAX_NODES];
	uint32_t n = c->cfg->nodes;

	for (uint32_t i = 0; i < n; i++)
		up[i] = c->nodes[i].n != NULL && fl_cluster_node_status(c->nodes[i].n, &st[i]) == 0;
	for (uint32_t l = 0; l < n; l++) {
		uint64_t t = 0, h;
		uint32_t followers = 0;

		if (!up[l] || st[l].role != FL_CLUSTER_LEADER || st[l].commit == 0 ||
		    fl_cluster_node_entry(c->nodes[l].n, st[l].commit, &t, &h) != 0 ||
		    t != st[l].term)
			continue;
		for (uint32_t i = 0; i < n; i++)
			if (up[i] && c->group[i] == c->group[l] && st[i].term == st[l].term &&
			    st[i].leader == (int)l)
				followers++;
		if (followers > n / 2)
			return (int)l;
	}
	return -1;
}

static int
wait_leader(struct cluster_run *c, uint64_t deadline)
{
	struct fl_idle st = { 0 };
	int l;

	while ((l = current_leader(c)) < 0) {
		if (fl_clock_now_ns() >= deadline)
			return FL_ETIMEDOUT;
		fl_idle(&st, 0, deadline);
	}
	return l;
}

/* ---- operations ----------------------------------------------------------- */

static struct cluster_run *
cluster_of(struct run *r)
{
	return r->cluster;
}

/* The node an op names, or a negative error (no leader in time). */
static int
op_node(struct actor_run *ar, const struct fl_scn_op_node *o, uint64_t deadline)
{
	struct cluster_run *c = cluster_of(ar->run);

	switch (o->node) {
	case FL_SCN_NODE_LEADER: return wait_leader(c, deadline);
	case FL_SCN_NODE_REF: {
		int id = (int)(intptr_t)ar->run->objs[o->ref] - 1;
		return id >= 0 ? id : FL_ENOENT; /* the op that named it failed */
	}
	default: return o->node;
	}
}

static void
name_node(struct actor_run *ar, fl_scn_ref as, int id)
{
	if (as >= 0)
		ar->run->objs[as] = (void *)(intptr_t)(id + 1);
}

static void
do_put(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct cluster_run *c = cluster_of(ar->run);
	const struct fl_scn_op_put *o = &op->u.put;
	uint64_t deadline = fli_deadline_after_ms(ar->run, o->deadline_ms), last = 0;
	struct fl_idle st = { 0 };
	uint8_t value[4096];
	char key[48];
	int l = -1, rv;

	for (uint32_t k = 0; k < o->count; k++) {
		snprintf(key, sizeof key, "%s.%d.%u", ar->a->name, op->line, k);
		memset(value, (int)('a' + k % 26), o->size);
		for (;;) {
			l = wait_leader(c, deadline);
			if (l < 0) {
				fli_op_error(ar, op, "no leader", l);
				return;
			}
			rv = fl_cluster_node_put(c->nodes[l].n, key, value, o->size, &last);
			if (rv == 0)
				break;
			if (rv != FL_ESTATE) {
				fli_op_error(ar, op, "put", rv);
				return;
			}
		}
		fl_idle(&st, 1, FL_DEADLINE_NONE); /* the nodes replicate between commands */
	}
	if (!o->wait)
		return;
	/* Committed on a majority: the leader's commit passed it in the term
	 * it was proposed (a later leader may have dropped it: an error). */
	for (;;) {
		struct fl_cluster_node_status s;
		int now_l = current_leader(c);

		if (now_l == l && fl_cluster_node_status(c->nodes[l].n, &s) == 0 &&
		    s.commit >= last)
			return;
		if (now_l >= 0 && now_l != l) {
			fli_op_error(ar, op, "leader changed before the commands committed",
			             FL_ECANCELED);
			return;
		}
		if (fl_clock_now_ns() >= deadline) {
			fli_op_error(ar, op, "commit", FL_ETIMEDOUT);
			return;
		}
		fl_idle(&st, 0, deadline);
	}
}

bool
fli_interp_cluster_op(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct run *r = ar->run;
	struct cluster_run *c = cluster_of(r);
	uint64_t deadline;
	int id, rv;

	if (c == NULL)
		return false;
	switch (op->kind) {
	case FL_SCN_OP_KILL_NODE:
		deadline = fli_deadline_after_ms(r, 0);
		id = op_node(ar, &op->u.node, deadline);
		if (id < 0) {
			fli_op_error(ar, op, "which node", id);
			return true;
		}
		name_node(ar, op->u.node.as, id);
		fli_run_story(r, "%s: kill node%d", ar->a->name, id);
		rv = node_kill(c, &c->nodes[id], deadline);
		if (rv != 0)
			fli_op_error(ar, op, "kill", rv);
		return true;
	case FL_SCN_OP_RESTART_NODE:
		deadline = fli_deadline_after_ms(r, 0);
		id = op_node(ar, &op->u.node, deadline);
		if (id < 0) {
			fli_op_error(ar, op, "which node", id);
			return true;
		}
		fli_run_story(r, "%s: restart node%d", ar->a->name, id);
		rv = node_kill(c, &c->nodes[id], deadline);
		if (rv == 0)
			rv = node_start(c, &c->nodes[id]);
		if (rv != 0)
			fli_op_error(ar, op, "restart", rv);
		return true;
	case FL_SCN_OP_PARTITION:
		if (op->u.partition.isolate) {
			id = op_node(ar, &op->u.partition.node, fli_deadline_after_ms(r, 0));
			if (id < 0) {
				fli_op_error(ar, op, "which node", id);
				return true;
			}
			fli_run_story(r, "%s: isolate node%d", ar->a->name, id);
			for (uint32_t i = 0; i < c->cfg->nodes; i++)
				c->group[i] = i == (uint32_t)id ? 1 : 2;
			return true;
		}
		for (uint32_t i = 0; i < c->cfg->nodes; i++)
			/* A node in no group is alone: a group of its own. */
			c->group[i] = op->u.partition.group[i] ? op->u.partition.group[i]
			                                       : (uint8_t)(100 + i);
		return true;
	case FL_SCN_OP_HEAL: memset(c->group, 0, sizeof(c->group)); return true;
	case FL_SCN_OP_WAIT_LEADER:
		id = wait_leader(c, fli_deadline_after_ms(r, op->u.wait_leader.deadline_ms));
		if (id < 0)
			fli_op_error(ar, op, "no leader", id);
		else
			name_node(ar, op->u.wait_leader.as, id);
		return true;
	case FL_SCN_OP_PUT: do_put(ar, op); return true;
	default: return false;
	}
}

/* ---- the end of the run ---------------------------------------------------- */

/* Everything the leader logged is committed and applied alike on every
 * node; "" when so, else what is not. */
static bool
converged(struct cluster_run *c, int l, char *why, size_t len)
{
	struct fl_cluster_node_status ls, st;

	if (l < 0) {
		snprintf(why, len, "no leader");
		return false;
	}
	(void)fl_cluster_node_status(c->nodes[l].n, &ls);
	if (ls.commit < ls.log_length) {
		snprintf(why, len, "leader node %d (term %llu) committed %llu of %llu entries", l,
		         (unsigned long long)ls.term, (unsigned long long)ls.commit,
		         (unsigned long long)ls.log_length);
		return false;
	}
	for (uint32_t i = 0; i < c->cfg->nodes; i++) {
		if (c->nodes[i].n == NULL) {
			snprintf(why, len, "node %u is down", i);
			return false;
		}
		(void)fl_cluster_node_status(c->nodes[i].n, &st);
		if (st.applied != ls.commit || st.state_hash != ls.state_hash) {
			snprintf(why, len,
			         "node %u applied %llu entries (state %016llx); leader node %d "
			         "committed %llu (state %016llx)",
			         i, (unsigned long long)st.applied,
			         (unsigned long long)st.state_hash, l,
			         (unsigned long long)ls.commit, (unsigned long long)ls.state_hash);
			return false;
		}
	}
	return true;
}

/* Faults fired so far in the run, anywhere (a node's count as the
 * driver's: no scenario actor runs them). */
static uint64_t
faults_so_far(const struct run *r)
{
	uint64_t n = __atomic_load_n(&r->driver_faults_fired, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < r->s->actor_count; i++)
		n += __atomic_load_n(&r->actors[i].faults_fired, __ATOMIC_ACQUIRE);
	return n;
}

static bool
actors_done(const struct run *r)
{
	for (size_t i = 0; i < r->s->actor_count; i++)
		if (!__atomic_load_n(&r->actors[i].finished, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&r->actors[i].crashed, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* The supervisor's restarts: every node down or halted starts again, as
 * a service manager would restart a dead process, at most once every
 * `every` ns and MAX_REVIVALS times a node (a fault that kills every
 * life stops being fed). */
#define MAX_REVIVALS 16
static void
revive(struct cluster_run *c, uint64_t every)
{
	uint64_t now = fl_clock_now_ns();

	for (uint32_t i = 0; i < c->cfg->nodes; i++) {
		struct node_run *nr = &c->nodes[i];
		struct fl_cluster_node_status s;
		bool halted = nr->n != NULL && fl_cluster_node_status(nr->n, &s) == 0 &&
		              s.role == FL_CLUSTER_HALTED;

		if ((!halted && nr->state != NODE_DOWN) || now < nr->revive_at ||
		    nr->revivals >= MAX_REVIVALS)
			continue;
		nr->revive_at = now + every;
		nr->revivals++;
		fli_run_story(c->r, "cluster: restart %s (%s)", nr->name,
		              halted ? "halted" : "down");
		if (halted && node_kill(c, nr, fli_deadline_after_ms(c->r, 0)) != 0)
			continue;
		(void)node_start(c, nr);
	}
}

/* The supervisor: once every actor is done, heal, restart, judge
 * liveness, close the nodes and remove their files. */
static void
supervisor_main(void *arg)
{
	struct cluster_run *c = arg;
	struct run *r = c->r;
	struct fl_idle st = { 0 };
	uint64_t healed_at, deadline, faults;
	char why[256] = "";
	int l = -1;

	while (!actors_done(r))
		fl_idle(&st, 0, FL_DEADLINE_NONE);
	memset(c->group, 0, sizeof(c->group));
	revive(c, 0);
	healed_at = fl_clock_now_ns();
	faults = faults_so_far(r);
	fli_run_story(r, "cluster: every fault healed");
	deadline = healed_at + (uint64_t)c->cfg->liveness_ms * FL_NS_PER_MS;
	for (;;) {
		l = current_leader(c);
		if (converged(c, l, why, sizeof why))
			break;
		revive(c, (uint64_t)c->cfg->election_timeout_ms * FL_NS_PER_MS);
		/* Raft promises progress once faults stop: a fault that fires
		 * after the heal (a persistent or random rule, a sweep's)
		 * means they never stopped, and liveness is not judged; the
		 * story says so.  Nor when the driver never started. */
		if (faults_so_far(r) != faults ||
		    __atomic_load_n(&r->driver_state, __ATOMIC_ACQUIRE) == RUN_DRIVER_FAILED) {
			fli_run_story(r, "cluster: liveness not judged: %s",
			              faults_so_far(r) != faults ? "a fault fired after the heal"
			                                         : "the driver did not start");
			break;
		}
		if (fl_clock_now_ns() >= deadline) {
			if (checking(c, FL_SCN_PROP_CLUSTER_LIVENESS))
				fli_run_fail(r, "cluster_liveness",
				             "%u ms after every fault healed: %s",
				             c->cfg->liveness_ms, why);
			break;
		}
		fl_idle(&st, 0, fl_clock_now_ns() + (uint64_t)c->cfg->heartbeat_ms * FL_NS_PER_MS);
	}
	/* The final logs, every node's against the others'. */
	for (uint32_t i = 0; i < c->cfg->nodes; i++)
		if (c->nodes[i].n != NULL) {
			c->nodes[i].checked_len = UINT64_MAX;
			check_node(c, &c->nodes[i]);
		}
	c->stop = true;
	fl_idle(&st, 1, FL_DEADLINE_NONE);
	for (size_t i = 0; i < c->nthreads; i++)
		fl_thread_join(c->threads[i]);
	c->nthreads = 0;
	for (uint32_t i = 0; i < c->cfg->nodes; i++)
		while (c->nodes[i].state == NODE_UP)
			fl_idle(&st, 0, FL_DEADLINE_NONE);
	fli_cluster_remove_files(r->dir);
	c->done = true;
	fl_idle(&st, 1, FL_DEADLINE_NONE);
}

/* ---- the run's hooks ------------------------------------------------------ */

int
fli_cluster_setup(struct run *r)
{
	const struct fl_scenario *s = r->s;
	struct cluster_run *c;
	if (s->cluster.nodes == 0)
		return 0;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return FL_ENOMEM;
	c->r = r;
	c->cfg = &s->cluster;
	snprintf(c->top, sizeof c->top, "%s/cluster", r->dir);
	for (uint32_t i = 0; i < s->cluster.nodes; i++) {
		struct node_run *nr = &c->nodes[i];

		nr->c = c;
		nr->id = (int)i;
		snprintf(nr->name, sizeof nr->name, "node%u", i);
		snprintf(nr->dir, sizeof nr->dir, "%s/node%u", c->top, i);
		nr->obs = (struct fl_cluster_observer){ .arg = nr,
			                                .changed = obs_changed,
			                                .applied = obs_applied,
			                                .link_up = obs_link_up };
	}
	r->cluster = c;
	return 0;
}

int
fli_cluster_spawn(struct run *r, struct fl_sim *sim)
{
	struct cluster_run *c = r->cluster;
	int rv = 0;

	if (c == NULL)
		return 0;
	for (uint32_t i = 0; rv == 0 && i < c->cfg->nodes; i++) {
		c->nodes[i].state = NODE_UP; /* starting */
		rv = fl_sim_spawn(sim, c->nodes[i].name, node_main, &c->nodes[i], NULL);
	}
	if (rv == 0)
		rv = fl_sim_spawn(sim, "cluster", supervisor_main, c, NULL);
	return rv;
}

bool
fli_cluster_busy(struct run *r)
{
	return r->cluster != NULL && !r->cluster->done;
}

bool
fli_cluster_node_crash(struct run *r, const char *name)
{
	struct cluster_run *c = r->cluster;

	for (uint32_t i = 0; c != NULL && name != NULL && i < c->cfg->nodes; i++) {
		struct node_run *nr = &c->nodes[i];

		if (strcmp(nr->name, name) != 0)
			continue;
		/* Its coroutine stops where it stands, the node's memory with
		 * it: a dead process's, not a leak.  Kept reachable (it cannot
		 * be freed: the coroutine may hold the node's locks). */
		c->crashed = true;
		corpses[ncorpses++ % MAX_CORPSES] = nr->n;
		nr->n = NULL;
		fli_run_story(r, "%s: crashed", nr->name);
		nr->state = NODE_DOWN;
		return true;
	}
	return false;
}

bool
fli_cluster_crashed(const struct run *r)
{
	return r->cluster != NULL && r->cluster->crashed;
}

void
fli_cluster_teardown(struct run *r)
{
	struct cluster_run *c = r->cluster;

	if (c == NULL)
		return;
	/* A run cut short (step limit, deadlock): a node's coroutine may be
	 * gone holding its client's lock, so its node cannot be freed; it
	 * goes as a killed process's memory would. */
	for (uint32_t i = 0; i < c->cfg->nodes; i++)
		if (c->nodes[i].n != NULL)
			corpses[ncorpses++ % MAX_CORPSES] = c->nodes[i].n;
	free(c->leader_of_term);
	free(c->committed);
	free(c->committed_by);
	free(c->applied);
	free(c->seen);
	free(c);
	r->cluster = NULL;
}

/* ---- the nodes' files -------------------------------------------------------- */

/* Remove <dir>/cluster/node<i>/{state,log}, the node directories and
 * <dir>/cluster; nothing else (another file stays, and so does its
 * directory: the run's no_leaked_files reports it). */
void
fli_cluster_remove_files(const char *dir)
{
	char top[300], node[600];
	DIR *d;
	struct dirent *e;

	snprintf(top, sizeof top, "%s/cluster", dir);
	d = opendir(top);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		unsigned id;
		char tail;

		if (sscanf(e->d_name, "node%u%c", &id, &tail) != 1)
			continue;
		snprintf(node, sizeof node, "%s/%s", top, e->d_name);
		int fd = open(node, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		(void)unlinkat(fd, "state", 0);
		(void)unlinkat(fd, "log", 0);
		close(fd);
		(void)rmdir(node);
	}
	closedir(d);
	(void)rmdir(top);
}
