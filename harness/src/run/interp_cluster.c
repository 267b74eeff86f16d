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
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultline/choice.h"
#include "faultline/cluster.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/sandbox.h"
#include "faultline/sim.h"
#include "faultline/target.h"

#include "core/grow.h"
#include "run/run_internal.h"
#include "run/timeline.h"
#include "run/runner.h"
#include "run/sanitizer.h"
#include "scenario/loader.h" /* MAX_COUNT: the loader's limit */

#define MAX_LIVES    256 /* node lives started by restarts in one run */
#define SEEN_PER_IDX 4   /* distinct terms remembered per index (log_matching) */

enum node_state {
	NODE_DOWN,
	NODE_UP,
};

struct entry_id {
	uint64_t term, hash;
};

struct node_run {
	struct cluster_run *c;
	int id;
	char name[16];
	char dir[320];
	fl_cluster_node *n; /* this life's node, or NULL */
	bool busy;          /* sim: a coroutine is inside a call of n's (see node_enter) */
	char busy_by[32];   /* ... that coroutine's name (a crash there releases it) */
	enum node_state state;
	bool kill;          /* asked to die at its next turn */
	bool closed;        /* this life closed its node at the end of the run */
	uint64_t revive_at; /* the supervisor's next restart of it */
	uint32_t revivals;  /* ... and how many it made */
	uint32_t lives;
	uint64_t checked_len, checked_last_term, checked_commit; /* what check_node saw */
	/* entries the node said it wrote (its observer's `logged`), and as
	 * many as check_node had seen: an entry rewritten in place changes
	 * neither the log's length nor its last term */
	uint64_t log_writes, checked_writes;
	struct fl_cluster_observer obs;
	/* proc mode: this life's process, its event and command pipes, and
	 * what its events told: its status and a copy of its log. */
	pid_t pid;
	int ev_fd, cmd_fd;
	bool have_st;
	struct fl_cluster_node_status st;
	struct entry_id *mirror;
	size_t mirror_len, mirror_cap;
	uint8_t ev_buf[4096];
	size_t ev_have;
	bool put_answered; /* the answer to put number put_seq came */
	uint32_t put_seq;
	int put_rv;
	uint64_t put_index, put_term;
};

#define MAX_CORPSES 64
static fl_cluster_node *corpses[MAX_CORPSES];
static unsigned ncorpses;

/* An entry known committed: which, who first saw it so, and the lowest
 * term a node saw it committed in. */
struct committed {
	uint64_t term, hash, in_term;
	int by;
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
	bool proc;              /* nodes are processes (mode proc) */
	fl_thread *proc_thread; /* proc: the thread serving the actors and the checks */
	struct node_run nodes[FL_SCN_MAX_NODES];
	bool stop;                     /* the supervisor closes the nodes */
	bool done;                     /* ... and they are closed */
	bool crashed;                  /* a node life died at a crash fault */
	char top[300];                 /* <run dir>/cluster */
	fl_thread *threads[MAX_LIVES]; /* lives started inside the sim, joined at the end */
	size_t nthreads;
	int32_t *leader_of_term; /* per term, node + 1 (0: none seen) */
	size_t terms_cap;
	struct committed *committed; /* per index - 1: known committed */
	size_t ncommitted, committed_cap;
	bool seen_full;           /* log_matching ran out of slots at some index (told once) */
	uint32_t put_seq;         /* proc: the last put command's number */
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

/* ---- what the checks see of a node ---------------------------------------- */

/* Under sim, the node itself; in proc mode, what its events told (its
 * status and a copy of its log). */
static bool
node_up(const struct node_run *nr)
{
	return nr->c->proc ? nr->state == NODE_UP && nr->have_st : nr->n != NULL;
}

static bool
view_status(const struct node_run *nr, struct fl_cluster_node_status *st)
{
	if (!nr->c->proc)
		return nr->n != NULL && fl_cluster_node_status(nr->n, st) == 0;
	if (!node_up(nr))
		return false;
	*st = nr->st;
	return true;
}

static int
view_entry(const struct node_run *nr, uint64_t index, uint64_t *term, uint64_t *hash)
{
	if (!nr->c->proc)
		return nr->n != NULL ? fl_cluster_node_entry(nr->n, index, term, hash) : FL_ENOENT;
	if (index < 1 || index > nr->mirror_len)
		return FL_ENOENT;
	*term = nr->mirror[index - 1].term;
	*hash = nr->mirror[index - 1].hash;
	return 0;
}

/* A node is single-threaded: every call into it comes from one thread.
 * Under the sim its life's coroutine works it and actors' coroutines put
 * commands to it and read it, and a call can yield inside (at a
 * scheduling point of the transport it publishes on): two calls would
 * then interleave as two threads would, which no application of the
 * node may do (two proposals took the same index).  So each call holds
 * the node for its length; the others wait their turn. */
static void
node_enter(struct node_run *nr)
{
	struct fl_idle st = { 0 };

	const char *me = fl_sim_current_name();

	while (nr->busy)
		fl_idle(&st, 0, FL_DEADLINE_NONE);
	nr->busy = true;
	snprintf(nr->busy_by, sizeof(nr->busy_by), "%s", me != NULL ? me : "");
}

static void
node_leave(struct node_run *nr)
{
	nr->busy = false;
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

/* A new leader of `term` holds every entry known committed in an
 * earlier term.  Known: some node reported it committed while its own
 * term was below `term` (a node learns a commit in its term or later, so
 * that one was committed before `term`).  Later commits are not asked
 * of it: in proc mode the nodes' events cross, and a commit made after
 * this election (by this leader, or a later one) may be read first. */
static void
check_completeness(struct cluster_run *c, const struct node_run *nr, uint64_t term)
{
	for (uint64_t i = 1; i <= c->ncommitted; i++) {
		uint64_t t = 0, h = 0;
		const struct committed *e = &c->committed[i - 1];

		if (e->in_term >= term)
			continue;
		if (view_entry(nr, i, &t, &h) == 0 && t == e->term && h == e->hash)
			continue;
		fli_run_fail(c->r, "leader_completeness",
		             "node %d leads term %llu without entry %llu of term %llu, committed "
		             "(node %d saw it committed)%s",
		             nr->id, (unsigned long long)term, (unsigned long long)i,
		             (unsigned long long)e->term, e->by,
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
	if (st->role != FL_CLUSTER_LEADER)
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
obs_logged(void *arg, int id, uint64_t index, uint64_t term, uint64_t hash)
{
	struct node_run *nr = arg;

	(void)id;
	(void)index;
	(void)term;
	(void)hash;
	nr->log_writes++;
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
	const uint8_t *g = nr->c->r->cluster_group;

	(void)from;
	return g[nr->id] == g[to];
}

/* ---- the checks a node's duty cycle makes --------------------------------- */

/* Entries (checked_commit, commit] of a node are committed: the same
 * everywhere (a second node's view is compared to the first's). */
static void
record_commits(struct cluster_run *c, struct node_run *nr, uint64_t commit, uint64_t term)
{
	for (uint64_t i = nr->checked_commit + 1; i <= commit; i++) {
		struct entry_id e;

		/* Not in view yet (a proc node's mirror lags its commit; a
		 * node whose commit ran past its log): compared once it is,
		 * never skipped. */
		if (view_entry(nr, i, &e.term, &e.hash) != 0) {
			nr->checked_commit = i - 1;
			return;
		}
		if (i <= c->ncommitted) {
			struct committed *k = &c->committed[i - 1];

			if (term < k->in_term)
				k->in_term = term;
			if ((k->term != e.term || k->hash != e.hash) &&
			    checking(c, FL_SCN_PROP_STATE_MACHINE_SAFETY))
				fli_run_fail(
				        c->r, "state_machine_safety",
				        "node %d committed entry %llu of term %llu where node %d "
				        "committed one of term %llu",
				        nr->id, (unsigned long long)i, (unsigned long long)e.term,
				        k->by, (unsigned long long)k->term);
			continue;
		}
		if (!need((void **)&c->committed, &c->committed_cap, i, sizeof(*c->committed))) {
			out_of_memory(c);
			return;
		}
		c->committed[i - 1] = (struct committed){ e.term, e.hash, term, nr->id };
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

		if (view_entry(nr, i, &e.term, &e.hash) != 0)
			return;
		chain = chain_next(chain, &e);
		for (k = 0; k < SEEN_PER_IDX && s[k].term != 0 && s[k].term != e.term; k++)
			;
		if (k == SEEN_PER_IDX) {
			/* More terms at one index than remembered: not judged
			 * there, and the story says so (once). */
			if (!c->seen_full)
				fli_run_story(c->r,
				              "cluster: log_matching: more than %d terms at index "
				              "%llu; that index is no longer compared",
				              SEEN_PER_IDX, (unsigned long long)i);
			c->seen_full = true;
			continue;
		}
		if (s[k].term == 0) {
			s[k] = (struct seen_slot){ e.term, e.hash, chain, nr->id };
			continue;
		}
		if (s[k].hash != e.hash || s[k].chain != chain) {
			bool differ = s[k].hash != e.hash;

			if (s[k].node == nr->id) {
				/* A log that changed under an entry it kept. */
				fli_run_fail(
				        c->r, "log_matching",
				        differ ? "node %d holds another entry at index %llu (term "
				                 "%llu) than it held there before"
				               : "node %d holds the entry at index %llu (term "
				                 "%llu) it held before, but its log differs "
				                 "before it now",
				        nr->id, (unsigned long long)i, (unsigned long long)e.term);
				return;
			}
			fli_run_fail(c->r, "log_matching",
			             "nodes %d and %d hold %s at index %llu (term %llu)%s",
			             s[k].node, nr->id,
			             differ ? "different entries" : "the same entry",
			             (unsigned long long)i, (unsigned long long)e.term,
			             differ ? "" : " but their logs differ before it");
			return;
		}
	}
}

static void
check_node(struct cluster_run *c, struct node_run *nr)
{
	struct fl_cluster_node_status st;
	uint64_t last_term = 0, h;

	if (!view_status(nr, &st))
		return;
	if (st.log_length > 0)
		(void)view_entry(nr, st.log_length, &last_term, &h);
	/* A commit past the log (no snapshots here): entries the node calls
	 * committed that it does not hold, which record_commits can never
	 * compare.  One status, so the two figures are of one moment. */
	if (st.commit > st.log_length && checking(c, FL_SCN_PROP_STATE_MACHINE_SAFETY))
		fli_run_fail(c->r, "state_machine_safety",
		             "node %d says entries up to %llu are committed, but its log holds "
		             "%llu",
		             nr->id, (unsigned long long)st.commit,
		             (unsigned long long)st.log_length);
	if (st.commit > nr->checked_commit)
		record_commits(c, nr, st.commit, st.term);
	if (checking(c, FL_SCN_PROP_LOG_MATCHING) &&
	    (st.log_length != nr->checked_len || last_term != nr->checked_last_term ||
	     nr->log_writes != nr->checked_writes))
		check_log(c, nr, st.log_length);
	nr->checked_len = st.log_length;
	nr->checked_last_term = last_term;
	nr->checked_writes = nr->log_writes;
}

/* ---- a node's life -------------------------------------------------------- */

static int proc_start(struct cluster_run *c, struct node_run *nr);
static void proc_stop(struct cluster_run *c);
static int proc_kill(struct cluster_run *c, struct node_run *nr);
static int proc_events(struct cluster_run *c);
static int proc_requests(struct cluster_run *c);
static int proc_request(struct actor_run *ar, const struct fl_scenario_op *op, int node,
                        const int64_t *put, uint64_t deadline);

static void
node_ctx(const struct node_run *nr, struct fl_cluster_node_ctx *ctx)
{
	const struct cluster_run *c = nr->c;

	fl_cluster_node_ctx_init(ctx);
	ctx->ns = c->r->ns;
	ctx->id = nr->id;
	ctx->members = (int)c->cfg->nodes;
	ctx->dir = nr->dir;
	ctx->election_timeout_ns = (uint64_t)c->cfg->election_timeout_ms * FL_NS_PER_MS;
	ctx->heartbeat_ns = (uint64_t)c->cfg->heartbeat_ms * FL_NS_PER_MS;
	ctx->session_timeout_ns = (uint64_t)c->cfg->session_timeout_ms * FL_NS_PER_MS;
}

/* Idling in the cluster's own loops: under sim the nodes run meanwhile;
 * in proc mode this thread reads their events and serves the actors. */
static void
cluster_idle(struct cluster_run *c, struct fl_idle *st, int work, uint64_t deadline)
{
	if (c->proc) {
		work += proc_events(c) + proc_requests(c);
		uint64_t soon = fl_clock_now_ns() + FL_NS_PER_MS;
		deadline = deadline < soon ? deadline : soon;
	}
	fl_idle(st, work, deadline);
}

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
	(void)fl_cluster_stores_make(c->top); /* the nodes' directories' parent */
	node_ctx(nr, &ctx);
	ctx.observer = &nr->obs;
	nr->checked_len = nr->checked_last_term = nr->checked_commit = 0;
	nr->lives++;
	nr->closed = false;
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
	fli_tl_named(c->r, FLI_TL_NODE_UP, nr->id, nr->name, NULL);
	for (;;) {
		int work;

		node_enter(nr);
		if (c->stop) {
			fl_cluster_node_close(nr->n);
			nr->closed = true;
			break;
		}
		if (nr->kill) {
			fl_cluster_node_abandon(nr->n);
			fli_run_story(c->r, "%s: killed", nr->name);
			fli_tl_named(c->r, FLI_TL_NODE_DOWN, nr->id, nr->name, "killed");
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
		node_leave(nr);
		check_node(c, nr);
		fl_idle(&st, work, fl_clock_now_ns() + tick);
	}
	nr->n = NULL;
	node_leave(nr);
	nr->kill = false;
	nr->state = NODE_DOWN;
	fl_idle(&st, 1, FL_DEADLINE_NONE); /* a peer waiting on it may go on */
}

/* Start the next life of a node from inside the sim. */
static int
node_start(struct cluster_run *c, struct node_run *nr)
{
	int rv;

	if (c->proc)
		return proc_start(c, nr);
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

	if (c->proc)
		return proc_kill(c, nr);
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
		up[i] = view_status(&c->nodes[i], &st[i]);
	for (uint32_t l = 0; l < n; l++) {
		uint64_t t = 0, h;
		uint32_t followers = 0;

		if (!up[l] || st[l].role != FL_CLUSTER_LEADER || st[l].commit == 0 ||
		    view_entry(&c->nodes[l], st[l].commit, &t, &h) != 0 || t != st[l].term)
			continue;
		for (uint32_t i = 0; i < n; i++)
			if (up[i] && c->r->cluster_group[i] == c->r->cluster_group[l] &&
			    st[i].term == st[l].term && st[i].leader == (int)l)
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

/*
 * The ops are declared as a target's are (faultline/target.h), so the
 * loader reads them as it reads any target's and fli_builtin_op calls
 * each fn with its values for this run of it; the actor and the op are
 * fli_builtin_cur's.  The index of each op's arguments in its
 * declaration (cluster_ops):
 */
enum { ND_NODE };                    /* kill_node, restart_node */
enum { PT_GROUPS, PT_ISOLATE };      /* partition */
enum { PU_COUNT, PU_SIZE, PU_WAIT }; /* put */
enum { KA_COUNT, KA_KEYS, KA_READ }; /* kv */

/* A node an op names: an id, FL_SCN_NODE_LEADER, or FL_SCN_NODE_REF
 * (a node an earlier op named: ref). */
struct node_arg {
	int node;
	fl_scn_ref ref;
};

static struct cluster_run *
cluster_of(struct run *r)
{
	return r->cluster;
}

/* Argument i of the op being run, a node id, `leader` or a node's name. */
static struct node_arg
node_arg(const struct fl_target_args *a, int i)
{
	fl_scn_ref ref = fli_builtin_cur.op->u.target.objs[i];

	return ref >= 0 ? (struct node_arg){ FL_SCN_NODE_REF, ref }
	                : (struct node_arg){ (int)a->ints[i], -1 };
}

/* The node an op names: an id (a node named by an earlier op's `as:`,
 * kept in the run's shared slots, so any actor's process reads it),
 * FL_SCN_NODE_LEADER, or FL_ENOENT (the op that named it failed). */
static int
op_target(struct actor_run *ar, struct node_arg o)
{
	if (o.node == FL_SCN_NODE_REF) {
		int64_t v = ar->run->sessions[o.ref];
		return v == RUN_NO_SESSION ? FL_ENOENT : (int)v;
	}
	return o.node;
}

/* The node an op names, the leader waited for (deadline) if need be:
 * an id or a negative error. */
static int
op_node(struct actor_run *ar, struct node_arg o, uint64_t deadline)
{
	struct cluster_run *c = cluster_of(ar->run);
	int id = op_target(ar, o);

	if (id != FL_SCN_NODE_LEADER)
		return id;
	if (!c->proc)
		return wait_leader(c, deadline);
	struct fl_scenario_op wl = { .kind = FL_SCN_OP_WAIT_LEADER };
	return proc_request(ar, &wl, 0, NULL, deadline);
}

static void
name_node(struct actor_run *ar, fl_scn_ref as, int id)
{
	if (as >= 0)
		ar->run->sessions[as] = id;
}

/* A blocking op's deadline: its `deadline_ms` (drawn, when a list),
 * else the driver timeout. */
static uint64_t
op_deadline(struct actor_run *ar, const struct fl_scenario_op *op)
{
	return fl_clock_now_ns() + fli_target_deadline_span(ar, op);
}

/* put: `count` commands proposed at whichever node leads at that moment
 * (a key each, `size` bytes of value); with `wait`, the op ends once
 * every one is committed on a majority. */
static void
do_put(struct actor_run *ar, const struct fl_scenario_op *op, const int64_t *v)
{
	struct cluster_run *c = cluster_of(ar->run);
	uint32_t count = (uint32_t)v[PU_COUNT], size = (uint32_t)v[PU_SIZE];
	uint64_t deadline = op_deadline(ar, op), last = 0, term = 0;
	struct fl_idle st = { 0 };
	struct fl_cluster_node_status s;
	uint8_t value[4096];
	char key[48];
	int l = -1, rv;

	for (uint32_t k = 0; k < count; k++) {
		snprintf(key, sizeof key, "%s.%d.%u", ar->a->name, op->line, k);
		memset(value, (int)('a' + k % 26), size);
		for (;;) {
			l = wait_leader(c, deadline);
			if (l < 0) {
				fli_op_error(ar, op, "no leader", l);
				return;
			}
			node_enter(&c->nodes[l]);
			rv = c->nodes[l].n != NULL
			             ? fl_cluster_node_put(c->nodes[l].n, key, value, size, &last)
			             : FL_ESTATE;
			node_leave(&c->nodes[l]);
			if (rv == 0) {
				if (view_status(&c->nodes[l], &s))
					term = s.term; /* the term it was proposed in */
				break;
			}
			if (rv != FL_ESTATE) {
				fli_op_error(ar, op, "put", rv);
				return;
			}
		}
		fl_idle(&st, 1, FL_DEADLINE_NONE); /* the nodes replicate between commands */
	}
	if (!v[PU_WAIT])
		return;
	/* Committed on a majority: the leading node's commit passed it, and
	 * the entry there is still of the term it was proposed in (a later
	 * leader may have replaced it: an error the client retries). */
	for (;;) {
		int now_l = current_leader(c);
		uint64_t t = 0, h;

		if (now_l >= 0 && view_entry(&c->nodes[now_l], last, &t, &h) == 0 && t == term &&
		    view_status(&c->nodes[now_l], &s) && s.commit >= last)
			return;
		if (now_l >= 0 &&
		    (now_l != l || (view_status(&c->nodes[now_l], &s) && s.term != term))) {
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

/* ---- kv: a client's reads and writes, recorded as a history ------------------ */

/* A node that says it leads (the client cannot know better), drawn from
 * the choice stream when several do: an isolated leader that has not
 * heard of the next term is as good as the real one to a client.  -1
 * when none does by the deadline. */
static int
claimed_leader(struct actor_run *ar, struct cluster_run *c, uint64_t deadline)
{
	struct fl_idle st = { 0 };

	for (;;) {
		int cand[FL_SCN_MAX_NODES], n = 0;
		struct fl_cluster_node_status s;

		for (uint32_t i = 0; i < c->cfg->nodes; i++)
			if (view_status(&c->nodes[i], &s) && s.role == FL_CLUSTER_LEADER)
				cand[n++] = (int)i;
		if (n == 1)
			return cand[0];
		if (n > 1)
			return cand[fl_choice_draw(ar->choices, (uint64_t)n)];
		if (fl_clock_now_ns() >= deadline)
			return -1;
		fl_idle(&st, 0, deadline);
	}
}

enum kv_end { KV_OK, KV_FAIL, KV_INFO };

/* A put to node nr in its life `life` (FL_ESTATE when that life is over:
 * it was killed while the client waited its turn); *term is the term the
 * entry was proposed in, read in the same turn (the node may have changed
 * terms while the client waited for it). */
static int
node_put(struct node_run *nr, uint32_t life, const char *key, const void *value, size_t len,
         uint64_t *index, uint64_t *term)
{
	struct fl_cluster_node_status s;
	int rv = FL_ESTATE;

	node_enter(nr);
	if (nr->n != NULL && nr->lives == life) {
		rv = fl_cluster_node_put(nr->n, key, value, len, index);
		if (rv == 0)
			rv = fl_cluster_node_status(nr->n, &s);
		if (rv == 0)
			*term = s.term;
	}
	node_leave(nr);
	return rv;
}

/* Waits until entry `index`, proposed in `term` at node l in its life
 * `life`, is committed (some node holds it in that term with its commit
 * past it; with `applied_at_l`, node l has also applied it, in the same
 * life); KV_FAIL when node l holds another entry there, committed (the
 * proposal is certainly lost), or, for a read, when node l died; KV_INFO
 * at the deadline. */
static enum kv_end
kv_await(struct cluster_run *c, int l, uint32_t life, uint64_t index, uint64_t term,
         bool applied_at_l, uint64_t deadline)
{
	struct fl_idle st = { 0 };

	for (;;) {
		struct fl_cluster_node_status s;
		uint64_t t, h;
		bool same_life = c->nodes[l].lives == life && node_up(&c->nodes[l]);

		if (applied_at_l) {
			if (!same_life)
				return KV_FAIL;
			/* A node halted at an apply (out of memory) counts the
			 * entry applied though its map did not change. */
			if (view_status(&c->nodes[l], &s) && s.role == FL_CLUSTER_HALTED)
				return KV_FAIL;
			if (view_status(&c->nodes[l], &s) && s.applied >= index &&
			    view_entry(&c->nodes[l], index, &t, &h) == 0)
				return t == term ? KV_OK : KV_FAIL;
		} else {
			for (uint32_t i = 0; i < c->cfg->nodes; i++)
				if (view_status(&c->nodes[i], &s) && s.commit >= index &&
				    view_entry(&c->nodes[i], index, &t, &h) == 0 && t == term)
					return KV_OK;
			if (same_life && view_status(&c->nodes[l], &s) && s.commit >= index &&
			    view_entry(&c->nodes[l], index, &t, &h) == 0 && t != term)
				return KV_FAIL;
		}
		if (fl_clock_now_ns() >= deadline)
			return KV_INFO;
		fl_idle(&st, 0, deadline);
	}
}

static const char *const kv_type[] = { "ok", "fail", "info" };

/* The key every log read's barrier entry writes: not one of the keys the
 * history records (k0, k1, ...). */
#define KV_BARRIER_KEY "faultline.read-barrier"

static void
do_kv(struct actor_run *ar, const struct fl_scenario_op *op, const int64_t *v)
{
	struct cluster_run *c = cluster_of(ar->run);
	struct run *r = ar->run;
	const struct fl_history_model *m = &fl_history_kv;
	struct fl_idle idle = { 0 };
	/* each operation's deadline: deadline_ms (drawn once for the op) */
	uint64_t span = fli_target_deadline_span(ar, op);

	for (uint32_t k = 0; k < (uint32_t)v[KA_COUNT]; k++) {
		uint64_t deadline = fl_clock_now_ns() + span, index = 0;
		int64_t process = ar->index + (int64_t)ar->history_lives * RUN_MAX_ACTORS;
		char key[16], value[RUN_VALUE_MAX], got[4097];
		bool write = fl_choice_draw(ar->choices, 2) == 0;
		enum kv_end end;
		size_t len = 0;
		int l, rv;

		snprintf(key, sizeof(key), "k%u",
		         (unsigned)fl_choice_draw(ar->choices, (uint64_t)v[KA_KEYS]));
		l = claimed_leader(ar, c, deadline);
		if (l < 0) {
			fli_run_story(r, "%s: kv (line %d): no node says it leads: op %u not sent",
			              ar->a->name, op->line, k);
			continue;
		}
		uint32_t life = c->nodes[l].lives;
		uint64_t term = 0;
		if (write) {
			run_unique_value(ar, value);
			fli_run_history(r, m, process, "invoke", "put", key, value);
			rv = node_put(&c->nodes[l], life, key, value, strlen(value), &index, &term);
			/* FL_ESTATE: not appended (no longer the leader); any other
			 * error (the node halted at its write) may have left it. */
			end = rv == 0           ? kv_await(c, l, life, index, term, false, deadline)
			      : rv == FL_ESTATE ? KV_FAIL
			                        : KV_INFO;
			fli_run_history(r, m, process, kv_type[end], "put", key, value);
		} else {
			fli_run_history(r, m, process, "invoke", "get", key, NULL);
			end = KV_OK;
			if (v[KA_READ] == FL_SCN_KV_READ_LOG) {
				rv = node_put(&c->nodes[l], life, KV_BARRIER_KEY, "", 0, &index,
				              &term);
				end = rv == 0 ? kv_await(c, l, life, index, term, true, deadline)
				              : KV_FAIL;
			}
			if (end == KV_OK) {
				node_enter(&c->nodes[l]);
				rv = c->nodes[l].n != NULL && c->nodes[l].lives == life
				             ? fl_cluster_node_read(c->nodes[l].n, key, got,
				                                    sizeof(got) - 1, &len)
				             : FL_ECLOSED;
				node_leave(&c->nodes[l]);
				if (rv == 0) {
					got[len] = '\0';
					fli_run_history(r, m, process, "ok", "get", key, got);
				} else if (rv == FL_ENOENT) {
					fli_run_history(r, m, process, "ok", "get", key, NULL);
				} else {
					end = KV_FAIL;
				}
			}
			if (end != KV_OK)
				fli_run_history(r, m, process, kv_type[end], "get", key, NULL);
		}
		if (end == KV_INFO)
			ar->history_lives++;
		fl_idle(&idle, 1, FL_DEADLINE_NONE); /* the nodes work between operations */
	}
}

/* kill_node (kill) or restart_node. */
static int
kill_restart(const struct fl_target_args *a, bool kill)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	struct cluster_run *c = cluster_of(r);
	uint64_t deadline = fli_deadline_after_ms(r, 0);
	int id, rv;

	if (c->proc) {
		/* The run's process holds the nodes: it kills (and starts). */
		id = op_target(ar, node_arg(a, ND_NODE));
		rv = id == FL_ENOENT ? id : proc_request(ar, op, id, NULL, deadline);
		if (rv < 0) {
			fli_op_error(ar, op, kill ? "kill" : "restart", rv);
			return 0;
		}
		if (kill)
			name_node(ar, op->u.target.as, rv);
		return 0;
	}
	id = op_node(ar, node_arg(a, ND_NODE), deadline);
	if (id < 0) {
		fli_op_error(ar, op, "which node", id);
		return 0;
	}
	if (kill)
		name_node(ar, op->u.target.as, id);
	fli_run_story(r, "%s: %s node%d", ar->a->name, kill ? "kill" : "restart", id);
	rv = node_kill(c, &c->nodes[id], deadline);
	if (rv == 0 && !kill)
		rv = node_start(c, &c->nodes[id]);
	if (rv != 0)
		fli_op_error(ar, op, kill ? "kill" : "restart", rv);
	return 0;
}

static int
op_kill_node(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return kill_restart(a, true);
}

static int
op_restart_node(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return kill_restart(a, false);
}

/* partition: per node its group; nodes of different groups cannot
 * reach each other, a node in no group is alone.  Or `isolate:` one
 * node (an id, the leader, or a named node) from all the others. */
static int
op_partition(void *state, const struct fl_target_args *a, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	struct cluster_run *c = cluster_of(r);
	int id;

	(void)state;
	(void)created;
	/* The links live in the run's shared state: a node's process reads
	 * them at every message. */
	if (a->given & (1u << PT_ISOLATE)) {
		id = op_node(ar, node_arg(a, PT_ISOLATE), fli_deadline_after_ms(r, 0));
		if (id < 0) {
			fli_op_error(ar, op, "which node", id);
			return 0;
		}
		fli_run_story(r, "%s: isolate node%d", ar->a->name, id);
		for (uint32_t i = 0; i < c->cfg->nodes; i++)
			r->cluster_group[i] = i == (uint32_t)id ? 1 : 2;
		return 0;
	}
	for (uint32_t i = 0; i < c->cfg->nodes; i++) {
		uint8_t g = (uint8_t)(((uint64_t)a->ints[PT_GROUPS] >> (4 * i)) & 15u);

		/* A node in no group is alone: a group of its own. */
		r->cluster_group[i] = g ? g : (uint8_t)(100 + i);
	}
	return 0;
}

static int
op_heal(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)a;
	(void)created;
	memset(fli_builtin_cur.ar->run->cluster_group, 0,
	       sizeof(fli_builtin_cur.ar->run->cluster_group));
	return 0;
}

static int
op_wait_leader(void *state, const struct fl_target_args *a, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct cluster_run *c = cluster_of(ar->run);
	uint64_t deadline = op_deadline(ar, op);
	int id = c->proc ? proc_request(ar, op, 0, NULL, deadline) : wait_leader(c, deadline);

	(void)state;
	(void)a;
	(void)created;
	if (id < 0)
		fli_op_error(ar, op, "no leader", id);
	else
		name_node(ar, op->u.target.as, id);
	return 0;
}

static int
op_put(void *state, const struct fl_target_args *a, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	int rv;

	(void)state;
	(void)created;
	if (!cluster_of(ar->run)->proc) {
		do_put(ar, op, a->ints);
		return 0;
	}
	rv = proc_request(ar, op, 0, a->ints, op_deadline(ar, op));
	if (rv != 0)
		fli_op_error(ar, op, "put", rv);
	return 0;
}

static int
op_kv(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	/* fli_runner_unsupported keeps kv out of proc mode */
	do_kv(fli_builtin_cur.ar, fli_builtin_cur.op, a->ints);
	return 0;
}

void
fli_close_nothing(void *state, void *obj)
{
	(void)state;
	(void)obj;
}

/* Nodes are names of ids (the run's shared slots): nothing to close. */
static const struct fl_target_kind cluster_kinds[] = {
	{ .name = "node", .close = fli_close_nothing },
	{ NULL },
};

static const struct fl_target_name leader_name[] = { { "leader", FL_SCN_NODE_LEADER }, { NULL } };

/* A node: its id, `leader` (the leader at that moment) or the name an
 * earlier op gave one (any actor's).  An id is one of the scenario's
 * cluster's members (at most FL_SCN_MAX_NODES): the loader's
 * cluster_members says so, naming them; any number here, so that every
 * number past them gets that message. */
#define NODE_ID_MAX 1000000
#define NODE_ARG(n, req)                                                                           \
	{                                                                                          \
		.name = (n), .type = FL_TARGET_INT, .required = (req), .min = 0,                   \
		.max = NODE_ID_MAX, .dflt = FL_SCN_NODE_LEADER, .names = leader_name,              \
		.kind = "node", .any_client = true                                                 \
	}

static const struct fl_target_arg node_args[] = {
	[ND_NODE] = NODE_ARG("node", true),
	{ NULL },
};

static const struct fl_target_arg partition_args[] = {
	[PT_GROUPS] = { .name = "groups",
	                .type = FL_TARGET_GROUPS,
	                .max = 15, /* the most groups pack: cluster_members says more */
	                .excludes = "isolate" },
	[PT_ISOLATE] = NODE_ARG("isolate", false),
	{ NULL },
};

static const struct fl_target_arg put_args[] = {
	[PU_COUNT] = FLI_ARG_COUNT("count"),
	[PU_SIZE] = { .name = "size", .type = FL_TARGET_INT, .max = 4096, .dflt = 32 },
	[PU_WAIT] = { .name = "wait", .type = FL_TARGET_BOOL },
	{ NULL },
};

static const struct fl_target_name reads[] = {
	{ "log", FL_SCN_KV_READ_LOG },
	{ "local", FL_SCN_KV_READ_LOCAL },
	{ NULL },
};

static const struct fl_target_arg kv_args[] = {
	[KA_COUNT] = FLI_ARG_COUNT("count"),
	[KA_KEYS] = FLI_ARG_KEYS("keys"),
	[KA_READ] = { .name = "read",
	              .type = FL_TARGET_INT,
	              .max = FL_SCN_KV_READ_LOCAL,
	              .dflt = FL_SCN_KV_READ_LOG,
	              .names = reads,
	              .names_only = true },
	{ NULL },
};

static const struct fl_target_arg no_args[] = { { NULL } };

static const struct fl_target_op cluster_ops[] = {
	{ .name = "kill_node",
	  .args = node_args,
	  .creates = "node",
	  .flags = FL_TARGET_OP_AS_OPTIONAL,
	  .fn = op_kill_node },
	{ .name = "restart_node", .args = node_args, .fn = op_restart_node },
	{ .name = "partition", .args = partition_args, .fn = op_partition },
	{ .name = "heal", .args = no_args, .fn = op_heal },
	{ .name = "wait_leader",
	  .args = no_args,
	  .creates = "node",
	  .flags = FL_TARGET_OP_BLOCKS | FL_TARGET_OP_AS_OPTIONAL,
	  .fn = op_wait_leader },
	{ .name = "put", .args = put_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_put },
	{ .name = "kv", .args = kv_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_kv },
	{ NULL },
};

const struct fl_target fli_cluster_target = {
	.abi = FL_TARGET_ABI,
	.name = "cluster",
	.ops = cluster_ops,
	.kinds = cluster_kinds,
};

/* Runs a cluster or cluster client operation: its declaration's fn,
 * with the values of its arguments for this run of it; false for any
 * other kind, or when the scenario has no cluster. */
bool
fli_interp_cluster_op(struct actor_run *ar, const struct fl_scenario_op *op)
{
	return cluster_of(ar->run) != NULL && fli_builtin_op(ar, op, FL_SCN_DOMAIN_CLUSTER);
}

static void supervisor_main(void *arg);
static bool actors_done(const struct run *r);

/* ---- proc mode: every node life a process ---------------------------------- */

/*
 * A node process is forked from the run's process (so the fault rules
 * and the choice stream reach it, as they reach process actors) and runs
 * the same node code faultline-node runs.  It tells the run's process
 * what its observer sees through a pipe of fixed-size events (a record
 * is under PIPE_BUF: written whole), from which that process keeps the
 * node's status and a copy of its log and makes the same checks as under
 * sim.  Commands come the other way (put, stop).  kill_node is a SIGKILL.
 */
enum { EV_CHANGED = 1, EV_STATUS, EV_LOGGED, EV_APPLIED, EV_PUT };
struct node_event {
	uint8_t type;
	int8_t role;
	int16_t leader;
	int32_t rv;
	uint64_t term, index, hash, commit, applied, log_length, state_hash;
};

enum { CMD_PUT = 1, CMD_STOP };
/* A node process could not open its node: this plus the error's
 * magnitude (33 to 62, clear of FL_RUNNER_MEMCHECK_EXIT). */
#define NODE_EXIT_OPEN 32
struct node_cmd {
	uint8_t type;
	uint32_t size;
	uint32_t seq; /* a put's number: its answer (EV_PUT) carries it in `commit` */
	char key[64];
};

/* The node process's side. */
static int child_ev = -1;

static void
child_send(const struct node_event *e)
{
	ssize_t n;

	do
		n = write(child_ev, e, sizeof(*e));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*e))
		_exit(4); /* the run's process is gone */
}

static void
child_status(uint8_t type, const struct fl_cluster_node_status *st)
{
	struct node_event e = { .type = type,
		                .role = (int8_t)st->role,
		                .leader = (int16_t)st->leader,
		                .term = st->term,
		                .commit = st->commit,
		                .applied = st->applied,
		                .log_length = st->log_length,
		                .state_hash = st->state_hash };

	child_send(&e);
}

static bool child_flush_log(void);

static void
child_changed(void *arg, const struct fl_cluster_node_status *st)
{
	(void)arg;
	/* The entries written so far first: the status names its log's
	 * length, and the harness reads that much of its copy. */
	(void)child_flush_log();
	child_status(EV_CHANGED, st);
}

static void
child_entry(uint8_t type, uint64_t index, uint64_t term, uint64_t hash)
{
	struct node_event e = { .type = type, .index = index, .term = term, .hash = hash };

	child_send(&e);
}

static void
child_applied(void *arg, int id, uint64_t index, uint64_t term, uint64_t hash)
{
	(void)arg;
	(void)id;
	child_entry(EV_APPLIED, index, term, hash);
}

/* The lowest index the node said it wrote since child_flush_log, and
 * the node (this process's one). */
static uint64_t child_low = UINT64_MAX;
static fl_cluster_node *child_node;

static void
child_logged(void *arg, int id, uint64_t index, uint64_t term, uint64_t hash)
{
	(void)arg;
	(void)id;
	(void)term;
	(void)hash;
	if (index < child_low)
		child_low = index;
}

/* The log as the node holds it, from the lowest index it said it wrote
 * to its end: read from the node, not taken from what `logged` said, so
 * a node that rewrote an entry and kept what followed (the callback's
 * contract is that it replaced them) is mirrored as it is. */
static bool
child_flush_log(void)
{
	struct fl_cluster_node_status st;

	if (child_low == UINT64_MAX || child_node == NULL)
		return false;
	(void)fl_cluster_node_status(child_node, &st);
	for (uint64_t i = child_low; i <= st.log_length; i++) {
		uint64_t t, h;

		if (fl_cluster_node_entry(child_node, i, &t, &h) == 0)
			child_entry(EV_LOGGED, i, t, h);
	}
	child_low = UINT64_MAX;
	return true;
}

static void
child_command(struct node_run *nr, fl_cluster_node *n, const struct node_cmd *cmd)
{
	uint8_t value[4096];
	struct node_event e = { .type = EV_PUT };
	struct fl_cluster_node_status st;
	char key[sizeof(cmd->key) + 1];

	if (cmd->type == CMD_STOP) {
		fl_cluster_node_close(n);
		fflush(NULL);
		/* No leak check here: forked by a thread of a process with
		 * others running, this child's LeakSanitizer still lists them
		 * ("not suspended: false leaks are possible") and cannot judge.
		 * The node's code is leak-checked where it runs in the run's
		 * process (sim) and by its tests under ASan and memcheck. */
		_exit(0);
	}
	memcpy(key, cmd->key, sizeof(cmd->key));
	key[sizeof(cmd->key)] = '\0';
	memset(value, 'v', sizeof(value));
	e.rv = fl_cluster_node_put(n, key, value, cmd->size <= sizeof(value) ? cmd->size : 0,
	                           &e.index);
	/* The answer names its command and the term it was proposed in. */
	e.commit = cmd->seq;
	(void)fl_cluster_node_status(n, &st);
	e.term = st.term;
	(void)nr;
	(void)child_flush_log(); /* what it logged, before its answer (as before) */
	child_send(&e);
}

static void __attribute__((noreturn)) node_child(struct node_run *nr, int ev_w, int cmd_r)
{
	struct cluster_run *c = nr->c;
	const struct fl_cluster_observer obs = { .arg = nr,
		                                 .changed = child_changed,
		                                 .applied = child_applied,
		                                 .logged = child_logged,
		                                 .link_up = obs_link_up };
	struct fl_cluster_node_status st, last = { 0 };
	struct fl_cluster_node_ctx ctx;
	struct fl_idle idle = { 0 };
	fl_cluster_node *n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fli_runner_child_node(nr->id, nr->name);
	for (uint32_t i = 0; i < c->cfg->nodes; i++) {
		if (c->nodes[i].state == NODE_UP && &c->nodes[i] != nr) {
			close(c->nodes[i].ev_fd);
			close(c->nodes[i].cmd_fd);
		}
	}
	child_ev = ev_w;
	node_ctx(nr, &ctx);
	ctx.observer = &obs;
	int rv = fl_cluster_node_open(&ctx, &n);

	if (rv != 0)
		_exit(NODE_EXIT_OPEN - (rv < 0 && rv >= FL_ERROR_MIN ? rv : FL_EIO));
	child_node = n;
	/* The log it restarts with, then where it stands. */
	(void)fl_cluster_node_status(n, &st);
	for (uint64_t i = 1; i <= st.log_length; i++) {
		uint64_t t, h;

		if (fl_cluster_node_entry(n, i, &t, &h) == 0)
			child_entry(EV_LOGGED, i, t, h);
	}
	for (;;) {
		struct node_cmd cmd;
		int work;

		if (read(cmd_r, &cmd, sizeof(cmd)) == (ssize_t)sizeof(cmd))
			child_command(nr, n, &cmd);
		work = fl_cluster_node_do_work(n);
		if (work < 0)
			_exit(3); /* its client is dead: the node can do nothing more */
		/* A log rewritten in place changes no field of the status:
		 * its entries are sent with one, so that the harness checks. */
		bool wrote = child_flush_log();
		(void)fl_cluster_node_status(n, &st);
		if (wrote || st.commit != last.commit || st.applied != last.applied ||
		    st.log_length != last.log_length || st.term != last.term ||
		    st.role != last.role || st.leader != last.leader) {
			child_status(EV_STATUS, &st);
			last = st;
		}
		fl_idle(&idle, work, fl_clock_now_ns() + FL_NS_PER_MS);
	}
}

/* The run's process's side. */
static int
proc_start(struct cluster_run *c, struct node_run *nr)
{
	int ev[2], cmd[2];
	pid_t pid;

	if (pipe(ev) != 0)
		return FL_EIO;
	if (pipe(cmd) != 0) {
		close(ev[0]);
		close(ev[1]);
		return FL_EIO;
	}
	(void)fcntl(ev[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(cmd[0], F_SETFL, O_NONBLOCK);
	/* Before the fork: the child may crash at a fault while opening. */
	__atomic_store_n(&c->r->cluster_crashed[nr->id], false, __ATOMIC_RELEASE);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(ev[0]);
		close(cmd[1]);
		/* A node's process is not judged by no_heap_growth: it stops
		 * the run's window (every allocation would take its lock). */
		if (fli_heap_counter != NULL) {
			struct fli_heap_held h;

			fli_heap_counter->end(&h);
		}
		node_child(nr, ev[1], cmd[0]);
	}
	close(ev[1]);
	close(cmd[0]);
	if (pid < 0) {
		close(ev[0]);
		close(cmd[1]);
		fli_run_fail(c->r, "harness", "could not fork %s: %s", nr->name, strerror(errno));
		return FL_EIO;
	}
	nr->pid = pid;
	nr->ev_fd = ev[0];
	nr->cmd_fd = cmd[1];
	nr->ev_have = 0;
	nr->have_st = false;
	nr->mirror_len = 0;
	nr->put_answered = false;
	nr->checked_len = nr->checked_last_term = nr->checked_commit = 0;
	nr->lives++;
	nr->closed = false;
	nr->state = NODE_UP;
	fli_run_story(c->r, "%s: up (life %u, pid %d)", nr->name, nr->lives, (int)pid);
	fli_tl_named(c->r, FLI_TL_NODE_UP, nr->id, nr->name, NULL);
	return 0;
}

/* The node process ended (killed, or dead on its own): reap it, judge
 * how it died, and forget it. */
static void proc_event(struct cluster_run *c, struct node_run *nr, const struct node_event *e);

/* Reads what node nr's process wrote, handling each event; false at the
 * end of its pipe (the process is gone). */
static bool
proc_read(struct cluster_run *c, struct node_run *nr, int *work)
{
	for (;;) {
		ssize_t n =
		        read(nr->ev_fd, nr->ev_buf + nr->ev_have, sizeof(nr->ev_buf) - nr->ev_have);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return true; /* EAGAIN: nothing more now */
		if (n == 0)
			return false;
		nr->ev_have += (size_t)n;
		for (; nr->ev_have - off >= sizeof(struct node_event);
		     off += sizeof(struct node_event)) {
			struct node_event e;

			memcpy(&e, nr->ev_buf + off, sizeof(e));
			proc_event(c, nr, &e);
			(*work)++;
		}
		memmove(nr->ev_buf, nr->ev_buf + off, nr->ev_have - off);
		nr->ev_have -= off;
	}
}

/* The node process ended (killed, or dead on its own): reap it (this
 * thread is the only reaper of node processes), check what it wrote
 * last, judge how it died, and forget it. */
static void
proc_ended(struct cluster_run *c, struct node_run *nr, bool killed)
{
	int status = 0, work = 0;
	pid_t w;

	do
		w = waitpid(nr->pid, &status, 0);
	while (w < 0 && errno == EINTR);
	/* Gone, so its pipe has no writer: read to its end.  The events
	 * it wrote before it died (a violation just before a kill) count. */
	while (proc_read(c, nr, &work))
		if (work == 0)
			break;
		else
			work = 0;
	if (w < 0) {
		fli_run_fail(c->r, "harness", "%s (pid %d): waitpid: %s", nr->name, (int)nr->pid,
		             strerror(errno));
	} else if (WIFSIGNALED(status) && !killed &&
	           !__atomic_load_n(&c->r->cluster_crashed[nr->id], __ATOMIC_ACQUIRE) &&
	           (WTERMSIG(status) != SIGKILL || !c->r->failed)) {
		fli_run_fail(c->r, "no_unexpected_signal", "%s (pid %d) died of %s", nr->name,
		             (int)nr->pid, fl_signal_name(WTERMSIG(status)));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && c->stop) {
		nr->closed = true; /* CMD_STOP: it closed its node and exited */
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == FL_RUNNER_MEMCHECK_EXIT) {
		fli_run_fail(c->r, "memcheck",
		             "%s (pid %d): memcheck found errors or definite leaks; see "
		             "memcheck-%s-%d.log",
		             nr->name, (int)nr->pid, c->r->ns, (int)nr->pid);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) > NODE_EXIT_OPEN &&
	           WEXITSTATUS(status) <= NODE_EXIT_OPEN - FL_ERROR_MIN &&
	           __atomic_load_n(&c->r->driver_faults_fired, __ATOMIC_ACQUIRE) == 0) {
		/* As under sim: a node that cannot open, no fault fired. */
		fli_run_fail(c->r, "operations", "%s: the node did not open: %s", nr->name,
		             fl_errname(NODE_EXIT_OPEN - WEXITSTATUS(status)));
	} else if (!killed) {
		fli_tl_named(c->r, FLI_TL_NODE_DOWN, nr->id, nr->name, "ended");
		fli_run_story(c->r, "%s: ended (%s %d)", nr->name,
		              WIFSIGNALED(status) ? "signal" : "exit",
		              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	close(nr->ev_fd);
	close(nr->cmd_fd);
	nr->ev_fd = nr->cmd_fd = -1;
	nr->pid = 0;
	nr->have_st = false;
	nr->state = NODE_DOWN;
}

static int
proc_kill(struct cluster_run *c, struct node_run *nr)
{
	if (nr->state != NODE_UP)
		return 0;
	kill(nr->pid, SIGKILL);
	fli_run_story(c->r, "%s: killed (pid %d)", nr->name, (int)nr->pid);
	fli_tl_named(c->r, FLI_TL_NODE_DOWN, nr->id, nr->name, "killed");
	proc_ended(c, nr, true);
	return 0;
}

static void
proc_event(struct cluster_run *c, struct node_run *nr, const struct node_event *e)
{
	switch (e->type) {
	case EV_LOGGED:
		if (e->index < 1 || e->index > nr->mirror_len + 1 ||
		    !need((void **)&nr->mirror, &nr->mirror_cap, e->index, sizeof(*nr->mirror))) {
			fli_run_fail(c->r, "harness", "%s: a log entry out of order", nr->name);
			return;
		}
		nr->mirror[e->index - 1] = (struct entry_id){ e->term, e->hash };
		nr->mirror_len = e->index;
		nr->log_writes++;
		return;
	case EV_CHANGED:
	case EV_STATUS:
		nr->st.id = nr->id;
		nr->st.role = (enum fl_cluster_role)e->role;
		nr->st.leader = e->leader;
		nr->st.term = e->term;
		nr->st.commit = e->commit;
		nr->st.applied = e->applied;
		nr->st.log_length = e->log_length;
		nr->st.state_hash = e->state_hash;
		if (e->type == EV_CHANGED) {
			obs_changed(nr, &nr->st);
			return;
		}
		nr->have_st = true;
		check_node(c, nr);
		return;
	case EV_APPLIED: obs_applied(nr, nr->id, e->index, e->term, e->hash); return;
	case EV_PUT:
		if (e->commit != nr->put_seq)
			return; /* the answer to an earlier put, given up on */
		nr->put_rv = e->rv;
		nr->put_index = e->index;
		nr->put_term = e->term;
		nr->put_answered = true;
		return;
	default: fli_run_fail(c->r, "harness", "%s: an unknown event %d", nr->name, e->type);
	}
}

/* The end of the run: every node process told to close its node and
 * exit; one that does not within the driver timeout is killed (and the
 * leak properties will say what it held). */
static void proc_send(struct node_run *nr, const struct node_cmd *cmd);

static void
proc_stop(struct cluster_run *c)
{
	struct fl_idle st = { 0 };
	uint64_t deadline = fli_deadline_after_ms(c->r, 0);
	const struct node_cmd stop = { .type = CMD_STOP };
	bool up = true;

	for (uint32_t i = 0; i < c->cfg->nodes; i++)
		if (c->nodes[i].state == NODE_UP)
			proc_send(&c->nodes[i], &stop);
	while (up && fl_clock_now_ns() < deadline) {
		int work = proc_events(c);

		up = false;
		for (uint32_t i = 0; i < c->cfg->nodes; i++)
			up = up || c->nodes[i].state == NODE_UP;
		fl_idle(&st, work, fl_clock_now_ns() + FL_NS_PER_MS);
	}
	for (uint32_t i = 0; i < c->cfg->nodes; i++)
		if (c->nodes[i].state == NODE_UP) {
			/* Under sim the same hang is a deadlock or a step limit. */
			if (__atomic_load_n(&c->r->driver_faults_fired, __ATOMIC_ACQUIRE) == 0)
				fli_run_fail(c->r, "hang", "%s did not close its node within %u ms",
				             c->nodes[i].name, c->r->s->driver.driver_timeout_ms);
			(void)proc_kill(c, &c->nodes[i]);
		}
}

/* Everything the node processes said since the last look; a process
 * whose pipe ended is reaped. */
static int
proc_events(struct cluster_run *c)
{
	int work = 0;

	for (uint32_t i = 0; i < c->cfg->nodes; i++) {
		struct node_run *nr = &c->nodes[i];

		if (nr->state == NODE_UP && !proc_read(c, nr, &work)) {
			proc_ended(c, nr, false);
			work++;
		}
	}
	return work;
}

static void
proc_send(struct node_run *nr, const struct node_cmd *cmd)
{
	ssize_t n;

	do
		n = write(nr->cmd_fd, cmd, sizeof(*cmd));
	while (n < 0 && errno == EINTR);
	(void)n; /* a dead node's pipe: its end is seen on the event pipe */
}

/* One step of an actor's put, done here: a command at a time, at the
 * leader of the moment; true when the request is done. */
static bool
proc_put_step(struct cluster_run *c, struct cluster_req *q)
{
	struct node_run *nr;
	struct fl_cluster_node_status st;
	uint64_t t = 0, h;
	int l;

	switch (q->phase) {
	case 0: /* a command to send */
		if (q->done == q->count) {
			q->phase = 2;
			return false;
		}
		q->leader = current_leader(c);
		if (q->leader < 0)
			return false;
		nr = &c->nodes[q->leader];
		struct node_cmd cmd = { .type = CMD_PUT, .size = q->size, .seq = ++c->put_seq };
		snprintf(cmd.key, sizeof cmd.key, "%s.%u", q->key, q->done);
		nr->put_answered = false;
		nr->put_seq = cmd.seq;
		q->lives = nr->lives;
		proc_send(nr, &cmd);
		q->phase = 1;
		return false;
	case 1: /* its answer */
		nr = &c->nodes[q->leader];
		if (nr->state != NODE_UP || nr->lives != q->lives) {
			q->phase = 0; /* died (or restarted): at the next leader */
			return false;
		}
		if (!nr->put_answered)
			return false;
		q->phase = 0;
		if (nr->put_rv == FL_ESTATE)
			return false; /* no longer the leader: at the next */
		if (nr->put_rv != 0) {
			q->rv = nr->put_rv;
			return true;
		}
		q->done++;
		q->last_index = nr->put_index;
		q->term = nr->put_term;
		return false;
	default: /* every command proposed: committed, as proposed? */
		if (!q->wait)
			return true;
		l = current_leader(c);
		if (l < 0)
			return false;
		nr = &c->nodes[l];
		/* The entry at the last index is still the put's (its term),
		 * and the leader committed it. */
		if (view_entry(nr, q->last_index, &t, &h) == 0 && t == q->term &&
		    view_status(nr, &st) && st.commit >= q->last_index)
			return true;
		if (l != q->leader || (view_status(nr, &st) && st.term != q->term)) {
			q->rv = FL_ECANCELED; /* another leader: the client's to retry */
			return true;
		}
		return false;
	}
}

/* Does what actor ar asked; true when done (q->rv set). */
static bool
proc_request_step(struct cluster_run *c, struct cluster_req *q)
{
	bool late = fl_clock_now_ns() >= q->deadline;
	int l;

	switch (q->kind) {
	case FL_SCN_OP_WAIT_LEADER:
		q->rv = current_leader(c);
		if (q->rv < 0 && late)
			q->rv = FL_ETIMEDOUT;
		return q->rv >= 0 || late;
	case FL_SCN_OP_KILL_NODE:
	case FL_SCN_OP_RESTART_NODE:
		l = q->node == FL_SCN_NODE_LEADER ? current_leader(c) : q->node;
		if (l < 0) {
			q->rv = FL_ETIMEDOUT;
			return late;
		}
		(void)proc_kill(c, &c->nodes[l]);
		q->rv = q->kind == FL_SCN_OP_RESTART_NODE ? proc_start(c, &c->nodes[l]) : 0;
		if (q->rv == 0)
			q->rv = l;
		return true;
	case FL_SCN_OP_PUT:
		q->rv = 0;
		if (proc_put_step(c, q))
			return true;
		if (late)
			q->rv = q->phase == 2 ? FL_ETIMEDOUT : FL_ETIMEDOUT;
		return late;
	default: q->rv = FL_EINVAL; return true;
	}
}

static int
proc_requests(struct cluster_run *c)
{
	int work = 0;

	for (size_t i = 0; i < c->r->s->actor_count; i++) {
		struct cluster_req *q = &c->r->actors[i].creq;

		if (__atomic_load_n(&q->state, __ATOMIC_ACQUIRE) != CREQ_POSTED)
			continue;
		if (proc_request_step(c, q)) {
			__atomic_store_n(&q->state, CREQ_DONE, __ATOMIC_RELEASE);
			work++;
		}
	}
	return work;
}

/* The actor's side: post the request, wait for it to be done. */
static int
proc_request(struct actor_run *ar, const struct fl_scenario_op *op, int node, const int64_t *put,
             uint64_t deadline)
{
	struct cluster_req *q = &ar->creq;
	struct fl_idle st = { 0 };
	/* The run's process answers within its own deadline; past this
	 * margin it is gone, and the run's hang deadline ends the actor. */
	uint64_t give_up = deadline + 10 * FL_NS_PER_SEC;

	memset(q, 0, sizeof(*q));
	q->kind = (int)op->kind;
	q->node = node;
	q->deadline = deadline;
	if (op->kind == FL_SCN_OP_PUT) {
		q->count = (uint32_t)put[PU_COUNT];
		q->size = (uint32_t)put[PU_SIZE];
		q->wait = put[PU_WAIT] != 0;
		snprintf(q->key, sizeof q->key, "%s.%d", ar->a->name, op->line);
	}
	__atomic_store_n(&q->state, CREQ_POSTED, __ATOMIC_RELEASE);
	while (__atomic_load_n(&q->state, __ATOMIC_ACQUIRE) != CREQ_DONE) {
		if (fl_clock_now_ns() >= give_up)
			return FL_ETIMEDOUT;
		fl_idle(&st, 0, fl_clock_now_ns() + FL_NS_PER_MS);
	}
	__atomic_store_n(&q->state, CREQ_IDLE, __ATOMIC_RELEASE);
	return q->rv;
}

/* The run's process's cluster thread: starts the nodes, serves the
 * actors' requests and reads the nodes' events until every actor is
 * done, then supervises the end as under sim. */
static void
proc_main(void *arg)
{
	struct cluster_run *c = arg;
	struct fl_idle st = { 0 };

	if (fli_wait_driver(c->r) == 0) {
		(void)fl_cluster_stores_make(c->top);
		for (uint32_t i = 0; i < c->cfg->nodes; i++)
			(void)proc_start(c, &c->nodes[i]);
	}
	while (!actors_done(c->r)) {
		int work = proc_events(c) + proc_requests(c);

		fl_idle(&st, work, fl_clock_now_ns() + FL_NS_PER_MS);
	}
	supervisor_main(c);
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
	(void)view_status(&c->nodes[l], &ls);
	if (ls.commit < ls.log_length) {
		snprintf(why, len, "leader node %d (term %llu) committed %llu of %llu entries", l,
		         (unsigned long long)ls.term, (unsigned long long)ls.commit,
		         (unsigned long long)ls.log_length);
		return false;
	}
	for (uint32_t i = 0; i < c->cfg->nodes; i++) {
		if (!view_status(&c->nodes[i], &st)) {
			snprintf(why, len, "node %u is down", i);
			return false;
		}
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
		bool halted = view_status(nr, &s) && s.role == FL_CLUSTER_HALTED;

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
		cluster_idle(c, &st, 0, FL_DEADLINE_NONE);
	memset(c->r->cluster_group, 0, sizeof(c->r->cluster_group));
	/* Raft promises progress once faults stop: stop them all, random
	 * and persistent rules and a sweep's too, in every process. */
	__atomic_store_n(&r->faults_silenced, true, __ATOMIC_RELEASE);
	revive(c, 0);
	healed_at = fl_clock_now_ns();
	faults = faults_so_far(r);
	fli_run_story(r, "cluster: every fault healed, every fault rule silenced");
	deadline = healed_at + (uint64_t)c->cfg->liveness_ms * FL_NS_PER_MS;
	for (;;) {
		l = current_leader(c);
		if (converged(c, l, why, sizeof why))
			break;
		revive(c, (uint64_t)c->cfg->election_timeout_ms * FL_NS_PER_MS);
		/* The heal silenced every rule; only a fault a node process
		 * was already inside when the heal came (proc mode: real
		 * concurrency) can still count after it, and then liveness is
		 * not judged, as the story says.  Nor when the driver never
		 * started. */
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
		cluster_idle(c, &st, 0,
		             fl_clock_now_ns() + (uint64_t)c->cfg->heartbeat_ms * FL_NS_PER_MS);
	}
	/* The final logs, every node's against the others'. */
	for (uint32_t i = 0; i < c->cfg->nodes; i++)
		if (node_up(&c->nodes[i])) {
			c->nodes[i].checked_len = UINT64_MAX;
			check_node(c, &c->nodes[i]);
		}
	c->stop = true;
	if (c->proc)
		proc_stop(c);
	fl_idle(&st, 1, FL_DEADLINE_NONE);
	for (size_t i = 0; i < c->nthreads; i++)
		fl_thread_join(c->threads[i]);
	c->nthreads = 0;
	for (uint32_t i = 0; i < c->cfg->nodes; i++)
		while (c->nodes[i].state == NODE_UP)
			fl_idle(&st, 0, FL_DEADLINE_NONE);
	/* A node that did not close died for good: its status page stays as
	 * a dead process leaves it, and is removed here as its operator
	 * would.  One that closed removed its own (no_leaked_files judges). */
	for (uint32_t i = 0; i < c->cfg->nodes; i++)
		if (!c->nodes[i].closed)
			(void)fl_cluster_page_remove(r->dir, (int)i);
	if (fli_cluster_remove_files(r->dir) != 0 && r->in_memory &&
	    (r->s->properties & FL_SCN_PROP_NO_LEAKED_FILES))
		fli_run_fail(r, "no_leaked_files",
		             "%s/cluster kept a file that is no node's state or log", r->dir);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
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
	c->proc = s->mode == FL_SCN_MODE_PROC;
	snprintf(c->top, sizeof c->top, "%s/cluster", r->dir);
	for (uint32_t i = 0; i < s->cluster.nodes; i++) {
		struct node_run *nr = &c->nodes[i];

		nr->c = c;
		nr->id = (int)i;
		nr->ev_fd = nr->cmd_fd = -1;
		snprintf(nr->name, sizeof nr->name, "node%u", i);
		snprintf(nr->dir, sizeof nr->dir, "%s/node%u", c->top, i);
		nr->obs = (struct fl_cluster_observer){ .arg = nr,
			                                .changed = obs_changed,
			                                .applied = obs_applied,
			                                .logged = obs_logged,
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

int
fli_cluster_start_proc(struct run *r)
{
	struct cluster_run *c = r->cluster;

	int rv;

	if (c == NULL || !c->proc)
		return 0;
	rv = fl_thread_start(&c->proc_thread, "cluster", proc_main, c);
	if (rv != 0)
		__atomic_store_n(&c->done, true, __ATOMIC_RELEASE); /* the driver stops waiting */
	return rv;
}

void
fli_cluster_join_proc(struct run *r)
{
	struct cluster_run *c = r->cluster;

	if (c != NULL && c->proc_thread != NULL) {
		fl_thread_join(c->proc_thread);
		c->proc_thread = NULL;
	}
}

bool
fli_cluster_busy(struct run *r)
{
	return r->cluster != NULL && !__atomic_load_n(&r->cluster->done, __ATOMIC_ACQUIRE);
}

bool
fli_cluster_node_crash(struct run *r, const char *name)
{
	struct cluster_run *c = r->cluster;

	/* A coroutine that dies inside a node's call never leaves it: its
	 * hold goes with it (a node's next life, and the actors' calls into
	 * the node, waited on it for ever: every sim crash fault at a node's
	 * point hung the cluster). */
	for (uint32_t i = 0; c != NULL && name != NULL && i < c->cfg->nodes; i++)
		if (c->nodes[i].busy && strcmp(c->nodes[i].busy_by, name) == 0)
			node_leave(&c->nodes[i]);
	for (uint32_t i = 0; c != NULL && name != NULL && i < c->cfg->nodes; i++) {
		struct node_run *nr = &c->nodes[i];

		if (strcmp(nr->name, name) != 0)
			continue;
		/* Its coroutine stops where it stands, the node's memory with
		 * it: a dead process's, not a leak.  Kept reachable (it cannot
		 * be freed: the coroutine may hold the node's locks). */
		c->crashed = true;
		r->node_life_crashed = true;
		corpses[ncorpses++ % MAX_CORPSES] = nr->n;
		nr->n = NULL;
		fli_run_story(r, "%s: crashed", nr->name);
		fli_tl_named(r, FLI_TL_NODE_DOWN, nr->id, nr->name, "crashed");
		nr->state = NODE_DOWN;
		return true;
	}
	return false;
}

bool
fli_cluster_crashed(const struct run *r)
{
	return r->node_life_crashed || (r->cluster != NULL && r->cluster->crashed);
}

void
fli_cluster_teardown(struct run *r)
{
	struct cluster_run *c = r->cluster;

	fli_interp_client_teardown(r);
	if (c == NULL)
		return;
	/* A run cut short (step limit, deadlock): a node's coroutine may be
	 * gone holding its client's lock, so its node cannot be freed; it
	 * goes as a killed process's memory would. */
	for (uint32_t i = 0; i < c->cfg->nodes; i++) {
		struct node_run *nr = &c->nodes[i];

		if (nr->n != NULL)
			corpses[ncorpses++ % MAX_CORPSES] = nr->n;
		if (c->proc && nr->state == NODE_UP)
			(void)proc_kill(c, nr); /* a run cut short */
		free(nr->mirror);
	}
	free(c->leader_of_term);
	free(c->committed);
	free(c->applied);
	free(c->seen);
	free(c);
	r->cluster = NULL;
}

/* ---- the nodes' files -------------------------------------------------------- */

/* Remove <dir>/cluster/node<i>/{state,log}, the node directories and
 * <dir>/cluster; nothing else (another file stays, and so does its
 * directory: on disk the run's no_leaked_files reports it; in memory the
 * caller does).  0, or FL_EEXIST when something stayed. */
int
fli_cluster_remove_files(const char *dir)
{
	char top[300];

	if ((size_t)snprintf(top, sizeof top, "%s/cluster", dir) >= sizeof top)
		return FL_EINVAL;
	return fl_cluster_stores_remove(top);
}
