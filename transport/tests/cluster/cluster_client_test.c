/*
 * The cluster client (cluster_client.h) against three real nodes on an
 * embedded driver (cluster_nodes.h): a connect at a follower follows the
 * redirect, one during the election retries "no leader"; put, get, cas
 * and append answer what the map holds, and an observer hears each op's
 * invocation and outcome; the leader closed, the client hears NEW_LEADER,
 * re-points its ingress and goes on; a session the cluster times out is
 * closed at the end of the poll that delivered CLOSED, one whose leader
 * never comes back at the new-leader timeout; the connect closed at every
 * step (by hand, or timed out by its fault point) leaves the driver no
 * registration of the client's, and so does one that timed out with no
 * node up; a second thread's calls get FL_EOWNER and change nothing.
 *
 * The nodes run on the test's thread (round_all, the client's work as
 * its hook) or, for the synchronous calls that block the test's thread,
 * on a runner thread that takes nodes_mu for each round (the test takes
 * it to look at a node).  Every wait is bounded by rounds of work with a
 * deadline that only ends a hang.
 */
#include <fiu-control.h>
#include <fiu.h>

#include "cluster_nodes.h"
#include "faultline/cluster_client.h"

#define EGRESS "egress"
#define MS     FL_NS_PER_MS

static fl_client *pc;                /* the clients' pub/sub client (agent mode) */
static fl_cluster_client *cc;        /* the client under test, closed by the teardown */
static fl_cluster_async_connect *ac; /* a connect under test, likewise */

/* Skips a case that needs followers (a cluster of three). */
static void
needs_three(void)
{
	if (N < 3)
		skip();
}

/* ---- the nodes' runner thread -------------------------------------------------- */

static pthread_mutex_t nodes_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t runner;
static bool running, stop_runner;
static int runner_error; /* a node's do_work error, 0 if none */

static void *
run_nodes(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_runner, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&nodes_mu);
		for (int i = 0; i < N; i++) {
			int rc = nodes[i] != NULL ? fl_cluster_node_do_work(nodes[i]) : 0;

			if (rc < 0 && runner_error == 0)
				runner_error = rc;
		}
		pthread_mutex_unlock(&nodes_mu);
		usleep(500);
	}
	return NULL;
}

static void
runner_start(void)
{
	__atomic_store_n(&stop_runner, false, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&runner, NULL, run_nodes, NULL), 0);
	running = true;
}

static void
runner_stop(void)
{
	if (!running)
		return;
	__atomic_store_n(&stop_runner, true, __ATOMIC_RELEASE);
	pthread_join(runner, NULL);
	running = false;
	assert_fl(runner_error, 0);
}

/* status(i) taken under nodes_mu, while the runner runs. */
static struct fl_cluster_node_status
locked_status(int i)
{
	struct fl_cluster_node_status st;

	pthread_mutex_lock(&nodes_mu);
	st = status(i);
	pthread_mutex_unlock(&nodes_mu);
	return st;
}

/* Every open node holds `want` sessions (under nodes_mu). */
static bool
sessions_are(uint64_t want)
{
	bool ok = true;

	pthread_mutex_lock(&nodes_mu);
	for (int i = 0; i < N; i++)
		if (nodes[i] != NULL && status(i).sessions != want)
			ok = false;
	pthread_mutex_unlock(&nodes_mu);
	return ok;
}

/* ---- the client's side ------------------------------------------------------------- */

/* What the egress handler heard. */
struct heard {
	int n, responses, sessions, new_leaders;
	struct fl_cluster_event last;           /* data not kept */
	uint8_t value[FL_CLUSTER_MAX_VALUE];    /* the last response's value */
	char detail[FL_CLUSTER_MAX_DETAIL + 1]; /* the last session event's */
	enum fl_cluster_client_state state_in_handler;
	int status_in_handler;
};

static struct heard heard;

static void
on_event(void *arg, fl_cluster_client *c, const struct fl_cluster_event *ev)
{
	struct heard *h = arg;

	h->n++;
	h->last = *ev;
	h->last.data = NULL;
	h->state_in_handler = fl_cluster_client_state(c);
	h->status_in_handler = fl_cluster_client_status(c);
	switch (ev->type) {
	case FL_CLUSTER_EV_RESPONSE:
		h->responses++;
		if (ev->len > 0) /* data may be NULL when empty */
			memcpy(h->value, ev->data, ev->len);
		break;
	case FL_CLUSTER_EV_SESSION:
		h->sessions++;
		if (ev->len > 0)
			memcpy(h->detail, ev->data, ev->len);
		h->detail[ev->len] = '\0';
		break;
	case FL_CLUSTER_EV_NEW_LEADER: h->new_leaders++; break;
	}
}

/* The client's work in a round: the pub/sub conductor, the egress. */
static void
client_work(void)
{
	assert_true(fl_client_do_work(pc) >= 0);
	if (cc != NULL && fl_cluster_client_state(cc) != FL_CLUSTER_CLIENT_CLOSED)
		(void)fl_cluster_client_poll_egress(cc, on_event, &heard, 16);
}

/* The pub/sub conductor alone (its heartbeat: the driver times out a
 * client silent for 0.5 s here). */
static void
pc_work(void)
{
	assert_true(fl_client_do_work(pc) >= 0);
}

static void
pc_open(void)
{
	struct fl_client_ctx c;

	fl_client_ctx_init(&c);
	c.ns = ns;
	c.agent = true;
	assert_fl(fl_client_open(&c, &pc), 0);
	memset(&heard, 0, sizeof(heard));
	round_hook = client_work;
}

static struct fl_cluster_client_ctx
ctx_for(int member)
{
	struct fl_cluster_client_ctx c;

	fl_cluster_client_ctx_init(&c);
	c.client = pc;
	c.members = N;
	c.member = member;
	c.egress_channel = EGRESS;
	c.egress_stream = 2001;
	c.message_timeout_ns = test_ms(5000) * MS;
	c.new_leader_timeout_ns = test_ms(5000) * MS;
	c.keepalive_interval_ns = 100 * MS;
	c.on_event = on_event;
	c.event_arg = &heard;
	return c;
}

/* The driver's registrations of pc, and those pc still waits for. */
static void
pc_registrations(int64_t *regs, int64_t *pending)
{
	struct fl_stats s;

	assert_fl(fl_stats_read(ns, &s), 0);
	*regs = *pending = -1;
	for (int i = 0; i < s.client_count; i++)
		if (s.clients[i].client_id == fl_client_id(pc)) {
			*regs = s.clients[i].registrations;
			*pending = s.clients[i].pending_registrations;
		}
}

static bool
pc_holds(int64_t want)
{
	int64_t regs, pending;

	pc_registrations(&regs, &pending);
	return regs == want && pending == 0;
}

/* The driver holds want registrations of pc; it answered the adds, and
 * pc (whose conductor does not run) has not heard yet. */
static bool
driver_holds(int64_t want)
{
	int64_t regs, pending;

	pc_registrations(&regs, &pending);
	return regs == want;
}

/* Connects at member through async polls, the nodes on this thread;
 * steps (may be NULL) gets the step of each poll, *nsteps their number. */
static int
connect_here(struct fl_cluster_client_ctx *ctx, enum fl_cluster_connect_step *steps, int *nsteps,
             fl_cluster_client **out)
{
	int rc = FL_EAGAIN, n = 0;

	assert_fl(fl_cluster_connect_async(ctx, &ac), 0);
	assert_true(WAIT_UNTIL((round_all(),
	                        steps != NULL && n < 64
	                                ? (void)(steps[n++] = fl_cluster_connect_step(ac))
	                                : (void)0,
	                        (rc = fl_cluster_connect_poll(ac, out)) != FL_EAGAIN),
	                       20000));
	if (nsteps != NULL)
		*nsteps = n;
	assert_fl(fl_cluster_connect_close(ac), 0);
	ac = NULL;
	return rc;
}

/* ---- setup ------------------------------------------------------------------------ */

static int
setup(void **state)
{
	(void)state;
	/* No node here is abandoned: the driver need not reap a dead client
	 * soon, and a thread starved for seconds must not be timed out. */
	nodes_client_liveness_ns = 5000 * MS; /* 10x the default */
	if (nodes_setup("ccli") != 0)
		return -1;
	pc_open();
	return 0;
}

/* Sessions time out after 1 s of silence. */
static int
setup_short_timeout(void **state)
{
	(void)state;
	nodes_session_timeout_ns = 1000 * MS;
	return setup(state);
}

/* As setup_short_timeout, the leader's publications lingering 60 s once
 * closed: a session's CLOSED stays readable however long the test's
 * thread is starved after the session ended (with the default 1 s the
 * egress may be gone first, and the client closes by the egress-loss
 * rule instead, which egress_lost_closes_the_client tests). */
static int
setup_short_timeout_long_linger(void **state)
{
	nodes_publication_linger_ns = 60000 * MS;
	return setup_short_timeout(state);
}

/* A driver and no node at all. */
static int
setup_no_nodes(void **state)
{
	struct fl_driver_ctx dc;

	(void)state;
	test_driver_ctx(&dc, test_ns(ns, sizeof(ns), "ccli"));
	dc.client_liveness_ns = 5000 * MS; /* as setup's */
	if (fl_driver_start(&dc, &drv) != 0)
		return -1;
	pc_open();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	runner_stop();
	fl_points_arm(false, false);
	(void)fl_cluster_connect_close(ac);
	(void)fl_cluster_client_close(cc);
	ac = NULL;
	cc = NULL;
	fl_client_close(pc);
	pc = NULL;
	return nodes_teardown();
}

/* ---- connecting ---------------------------------------------------------------------- */

/* At a follower: REDIRECT, the ingress made anew to the leader, OK. */
static void
connect_at_follower_follows_redirect(void **state)
{
	struct fl_cluster_client_ctx ctx;
	enum fl_cluster_connect_step steps[64];
	int l, f, n, polls_in_response = 0, back_to_ingress = 0;

	(void)state;
	l = elect();
	f = (l + 1) % N;
	ctx = ctx_for(f);
	assert_fl(connect_here(&ctx, steps, &n, &cc), 0);
	for (int i = 1; i < n; i++)
		if (steps[i - 1] == FL_CLUSTER_CONNECT_POLL_RESPONSE) {
			polls_in_response++;
			back_to_ingress += steps[i] == FL_CLUSTER_CONNECT_CREATE_INGRESS_PUB;
		}
	assert_int_equal(steps[0], FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB);
	assert_true(polls_in_response >= 2);
	assert_int_equal(back_to_ingress, 1); /* the one redirect */
	assert_int_equal(fl_cluster_client_leader(cc), l);
	assert_fl(fl_cluster_client_term(cc), status(l).term);
	assert_true(fl_cluster_client_session_id(cc) >= 2); /* after the leader's no-op */
	assert_int_equal(fl_cluster_client_state(cc), FL_CLUSTER_CLIENT_CONNECTED);
	assert_fl(fl_cluster_client_status(cc), 0);
	assert_true(WAIT_UNTIL((round_all(), sessions_are(1)), 20000));
	/* The client holds its subscription and one publication, the
	 * leader's ingress: the follower's went at the redirect. */
	assert_true(WAIT_UNTIL((round_all(), pc_holds(2)), 20000));
	assert_fl(fl_cluster_connect_step_name(FL_CLUSTER_CONNECT_POLL_RESPONSE),
	          fl_cluster_connect_step_name(FL_CLUSTER_CONNECT_POLL_RESPONSE));
	assert_string_equal(fl_cluster_connect_step_name(FL_CLUSTER_CONNECT_POLL_RESPONSE),
	                    "POLL_RESPONSE");
}

/* Right after the nodes opened nobody leads: member 0 answers "no
 * leader" (or, elected meanwhile, redirects or opens); the connect tries
 * again within its deadline and gets there. */
static void
connect_during_election_gets_there(void **state)
{
	struct fl_cluster_client_ctx ctx = ctx_for(0);

	(void)state;
	assert_fl(connect_here(&ctx, NULL, NULL, &cc), 0);
	assert_true(WAIT_UNTIL((round_all(), sessions_are(1)), 20000));
	assert_int_equal(fl_cluster_client_leader(cc), agreed_leader());
}

/* Round robin from member 0 with member 0 gone: its ingress never
 * connects, so at its deadline the connect moves on to member 1. */
static void
round_robin_moves_past_a_dead_member(void **state)
{
	struct fl_cluster_client_ctx ctx = ctx_for(FL_CLUSTER_ROUND_ROBIN);

	(void)state;
	needs_three();
	fl_cluster_node_close(nodes[0]);
	nodes[0] = NULL;
	(void)elect();
	ctx.message_timeout_ns = 2000 * MS; /* wide for a loaded machine; waited in full */
	assert_fl(connect_here(&ctx, NULL, NULL, &cc), 0);
	assert_true(fl_cluster_client_leader(cc) != 0);
	assert_true(WAIT_UNTIL((round_all(), sessions_are(1)), 20000));
}

/* Member 0 alone of three never leads nor knows a leader: it answers
 * every CONNECT "no leader".  The connect sends again, after a backoff,
 * within the deadline POLL_RESPONSE had; then it times out, and its
 * close leaves nothing. */
static void
no_leader_retries_until_the_deadline(void **state)
{
	struct fl_cluster_client_ctx ctx = ctx_for(0);
	enum fl_cluster_connect_step was = FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB, now;
	fl_cluster_client *c = NULL;
	int rc = FL_EAGAIN, retries = 0;

	(void)state;
	needs_three();
	for (int i = 1; i < N; i++) {
		fl_cluster_node_close(nodes[i]);
		nodes[i] = NULL;
	}
	ctx.message_timeout_ns = 3000 * MS; /* two retries fit on a loaded machine */
	assert_fl(fl_cluster_connect_async(&ctx, &ac), 0);
	assert_true(WAIT_UNTIL((round_all(), rc = fl_cluster_connect_poll(ac, &c),
	                        now = fl_cluster_connect_step(ac),
	                        retries += was == FL_CLUSTER_CONNECT_POLL_RESPONSE &&
	                                   now == FL_CLUSTER_CONNECT_SEND_CONNECT,
	                        was = now, rc != FL_EAGAIN),
	                       20000));
	assert_fl(rc, FL_ETIMEDOUT);
	assert_true(retries >= 2);
	assert_true(now == FL_CLUSTER_CONNECT_SEND_CONNECT ||
	            now == FL_CLUSTER_CONNECT_POLL_RESPONSE);
	assert_fl(fl_cluster_connect_close(ac), 0);
	ac = NULL;
	assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
	assert_fl(status(0).sessions, 0);
}

/* ---- key-value ------------------------------------------------------------------------ */

struct seen_op {
	enum fl_cluster_op_phase phase;
	enum fl_cluster_op op;
	uint64_t correlation;
	int status;
	char key[16], value[16];
};

static struct seen_op seen_ops[64];
static int nseen_ops;

static void
on_op(void *arg, fl_cluster_client *c, const struct fl_cluster_op_event *ev)
{
	struct seen_op *s = &seen_ops[nseen_ops++];

	(void)arg;
	assert_true(c == cc || cc == NULL);
	assert_true(nseen_ops < 64);
	s->phase = ev->phase;
	s->op = ev->op;
	s->correlation = ev->correlation;
	s->status = ev->status;
	snprintf(s->key, sizeof(s->key), "%s", ev->key);
	snprintf(s->value, sizeof(s->value), "%.*s", (int)ev->value_len,
	         ev->value != NULL ? (const char *)ev->value : "");
}

static const struct fl_cluster_op_observer observer_ops = { .op = on_op };

static uint64_t
deadline(uint64_t ms)
{
	return fl_clock_now_ns() + test_ms(ms) * MS;
}

/* A synchronous op's reply with its value as a string. */
struct got {
	struct fl_cluster_reply r;
	char value[64];
};

static struct fl_cluster_reply *
reply_of(struct got *g)
{
	memset(g, 0, sizeof(*g));
	g->r.value = g->value;
	g->r.value_cap = sizeof(g->value) - 1;
	return &g->r;
}

static void
kv_round_trips(void **state)
{
	struct fl_cluster_client_ctx ctx;
	struct got g;
	uint64_t idx, corr, corr2;
	int l;

	(void)state;
	l = elect();
	ctx = ctx_for(l);
	ctx.observer = &observer_ops;
	nseen_ops = 0;
	runner_start();
	assert_fl(fl_cluster_connect(&ctx, deadline(20000), &cc), 0);

	assert_fl(fl_cluster_client_put_sync(cc, "k", "1", 1, deadline(20000), reply_of(&g)), 0);
	assert_int_equal(g.r.status, FL_CLUSTER_OK);
	assert_fl(g.r.term, fl_cluster_client_term(cc));
	idx = g.r.index;
	assert_true(idx > fl_cluster_client_session_id(cc));
	assert_fl(fl_cluster_client_get_sync(cc, "k", deadline(20000), reply_of(&g)), 0);
	assert_int_equal(g.r.status, FL_CLUSTER_OK);
	assert_fl(g.r.value_len, 1);
	assert_string_equal(g.value, "1");
	assert_true(g.r.index > idx);
	assert_fl(fl_cluster_client_append_sync(cc, "k", "2", 1, deadline(20000), reply_of(&g)), 0);
	assert_int_equal(g.r.status, FL_CLUSTER_OK);
	assert_fl(fl_cluster_client_get_sync(cc, "k", deadline(20000), reply_of(&g)), 0);
	assert_string_equal(g.value, "12");
	assert_fl(fl_cluster_client_cas_sync(cc, "k", "12", 2, "x", 1, deadline(20000),
	                                     reply_of(&g)),
	          0);
	assert_int_equal(g.r.status, FL_CLUSTER_OK);
	assert_fl(fl_cluster_client_cas_sync(cc, "k", "12", 2, "y", 1, deadline(20000),
	                                     reply_of(&g)),
	          0);
	assert_int_equal(g.r.status, FL_CLUSTER_MISMATCH);
	assert_fl(fl_cluster_client_get_sync(cc, "k", deadline(20000), reply_of(&g)), 0);
	assert_string_equal(g.value, "x");
	assert_fl(fl_cluster_client_get_sync(cc, "nope", deadline(20000), reply_of(&g)), 0);
	assert_int_equal(g.r.status, FL_CLUSTER_NOT_FOUND);
	assert_fl(g.r.value_len, 0);
	assert_fl(fl_cluster_client_cas_sync(cc, "nope", "a", 1, "b", 1, deadline(20000), NULL), 0);
	/* A value longer than the caller's buffer: its length, the head. */
	assert_fl(fl_cluster_client_put_sync(cc, "long", "0123456789", 10, deadline(20000), NULL),
	          0);
	reply_of(&g)->value_cap = 4;
	assert_fl(fl_cluster_client_get_sync(cc, "long", deadline(20000), &g.r), 0);
	assert_fl(g.r.value_len, 10);
	assert_string_equal(g.value, "0123");

	/* Asynchronously: two in flight, answered in order, each with its
	 * correlation; the handler hears them. */
	memset(&heard, 0, sizeof(heard));
	assert_fl(fl_cluster_client_put(cc, "a", "v", 1, &corr), 0);
	assert_fl(fl_cluster_client_get(cc, "a", &corr2), 0);
	assert_true(corr2 == corr + 1);
	assert_true(WAIT_UNTIL((fl_client_do_work(pc),
	                        fl_cluster_client_poll_egress(cc, on_event, &heard, 16) >= 0 &&
	                                heard.responses == 2),
	                       20000));
	assert_fl(heard.last.correlation, corr2);
	assert_int_equal(heard.last.code, FL_CLUSTER_OK);
	assert_memory_equal(heard.value, "v", 1);

	/* What the observer heard: an INVOKE then an outcome for each, in
	 * order (the ops ran one at a time but the last two). */
	{
		static const struct {
			enum fl_cluster_op op;
			enum fl_cluster_op_phase end;
			const char *key, *value;
		} want[] = {
			{ FL_CLUSTER_PUT, FL_CLUSTER_OP_OK, "k", "1" },
			{ FL_CLUSTER_GET, FL_CLUSTER_OP_OK, "k", "1" },
			{ FL_CLUSTER_APPEND, FL_CLUSTER_OP_OK, "k", "2" },
			{ FL_CLUSTER_GET, FL_CLUSTER_OP_OK, "k", "12" },
			{ FL_CLUSTER_CAS, FL_CLUSTER_OP_OK, "k", "x" },
			{ FL_CLUSTER_CAS, FL_CLUSTER_OP_FAIL, "k", "y" },
			{ FL_CLUSTER_GET, FL_CLUSTER_OP_OK, "k", "x" },
			{ FL_CLUSTER_GET, FL_CLUSTER_OP_OK, "nope", "" }, /* nil */
			{ FL_CLUSTER_CAS, FL_CLUSTER_OP_FAIL, "nope", "b" },
			{ FL_CLUSTER_PUT, FL_CLUSTER_OP_OK, "long", "0123456789" },
			{ FL_CLUSTER_GET, FL_CLUSTER_OP_OK, "long", "0123456789" },
		};
		int k = 0;

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++, k += 2) {
			assert_int_equal(seen_ops[k].phase, FL_CLUSTER_OP_INVOKE);
			assert_int_equal(seen_ops[k].op, want[i].op);
			assert_string_equal(seen_ops[k].key, want[i].key);
			assert_int_equal(seen_ops[k + 1].phase, want[i].end);
			assert_fl(seen_ops[k + 1].correlation, seen_ops[k].correlation);
			assert_string_equal(seen_ops[k + 1].value, want[i].value);
		}
		assert_int_equal(seen_ops[k].phase, FL_CLUSTER_OP_INVOKE);
		assert_int_equal(seen_ops[k + 1].phase, FL_CLUSTER_OP_INVOKE);
		assert_int_equal(seen_ops[k + 2].phase, FL_CLUSTER_OP_OK);
		assert_int_equal(seen_ops[k + 3].phase, FL_CLUSTER_OP_OK);
		assert_int_equal(nseen_ops, k + 4);
	}
	/* An op given up: INFO, once. */
	assert_fl(fl_cluster_client_put(cc, "g", "1", 1, &corr), 0);
	assert_fl(fl_cluster_client_give_up(cc, corr), 0);
	assert_int_equal(seen_ops[nseen_ops - 1].phase, FL_CLUSTER_OP_INFO);
	assert_fl(fl_cluster_client_give_up(cc, corr), FL_ENOENT);
	runner_stop();
	assert_true(WAIT_UNTIL((round_all(), converged(l, status(l).commit)), 20000));
	assert_fl(status(l).egress_dropped, 0);
	assert_fl(status(l).ingress_garbled, 0);
}

/* ---- failover ------------------------------------------------------------------------ */

static void
failover_follows_the_new_leader(void **state)
{
	struct fl_cluster_client_ctx ctx;
	struct got g;
	uint64_t term;
	int l, l2;
	bool awaited = false;

	(void)state;
	needs_three();
	l = elect();
	ctx = ctx_for(l);
	runner_start();
	assert_fl(fl_cluster_connect(&ctx, deadline(20000), &cc), 0);
	assert_fl(fl_cluster_client_put_sync(cc, "before", "a", 1, deadline(20000), NULL), 0);
	term = fl_cluster_client_term(cc);
	memset(&heard, 0, sizeof(heard));
	pthread_mutex_lock(&nodes_mu);
	fl_cluster_node_close(nodes[l]);
	nodes[l] = NULL;
	pthread_mutex_unlock(&nodes_mu);
	/* The ingress lost its subscriber: the client waits for NEW_LEADER,
	 * then makes its ingress to the new leader. */
	assert_true(WAIT_UNTIL((fl_client_do_work(pc),
	                        fl_cluster_client_poll_egress(cc, on_event, &heard, 16) >= 0 &&
	                                (awaited |=
	                                 fl_cluster_client_state(cc) != FL_CLUSTER_CLIENT_CONNECTED,
	                                 heard.new_leaders == 1 &&
	                                         fl_cluster_client_state(cc) ==
	                                                 FL_CLUSTER_CLIENT_CONNECTED)),
	                       20000));
	assert_true(awaited);
	l2 = fl_cluster_client_leader(cc);
	assert_true(l2 != l);
	assert_true(fl_cluster_client_term(cc) > term);
	assert_int_equal(heard.last.type, FL_CLUSTER_EV_NEW_LEADER);
	assert_int_equal(heard.last.leader, l2);
	assert_fl(heard.last.term, fl_cluster_client_term(cc));
	/* A later put goes through the new leader, in its term. */
	assert_fl(fl_cluster_client_append_sync(cc, "before", "b", 1, deadline(20000), NULL), 0);
	assert_fl(fl_cluster_client_get_sync(cc, "before", deadline(20000), reply_of(&g)), 0);
	assert_string_equal(g.value, "ab");
	assert_fl(g.r.term, fl_cluster_client_term(cc));
	assert_int_equal(locked_status(l2).role, FL_CLUSTER_LEADER);
	/* The old ingress was closed: a subscription and one publication. */
	assert_true(WAIT_UNTIL((fl_client_do_work(pc), pc_holds(2)), 20000));
}

/* Every node gone: no NEW_LEADER comes, and the client closes itself at
 * the new-leader timeout, releasing what it held. */
static void
no_new_leader_times_out(void **state)
{
	struct fl_cluster_client_ctx ctx;
	int l, rc = 0;

	(void)state;
	l = elect();
	ctx = ctx_for(l);
	ctx.new_leader_timeout_ns = 300 * MS;
	assert_fl(connect_here(&ctx, NULL, NULL, &cc), 0);
	for (int i = 0; i < N; i++) {
		fl_cluster_node_close(nodes[i]);
		nodes[i] = NULL;
	}
	assert_true(WAIT_UNTIL((fl_client_do_work(pc),
	                        (rc = fl_cluster_client_poll_egress(cc, on_event, &heard, 16)) < 0),
	                       20000));
	assert_fl(rc, FL_ETIMEDOUT);
	assert_int_equal(fl_cluster_client_state(cc), FL_CLUSTER_CLIENT_CLOSED);
	assert_fl(fl_cluster_client_status(cc), FL_ETIMEDOUT);
	assert_fl(fl_cluster_client_poll_egress(cc, on_event, &heard, 16), FL_ETIMEDOUT);
	assert_fl(fl_cluster_client_put(cc, "k", "v", 1, NULL), FL_ECLOSED);
	assert_true(WAIT_UNTIL((fl_client_do_work(pc), pc_holds(0)), 20000));
	assert_fl(fl_cluster_client_close(cc), 0);
	cc = NULL;
}

/* ---- closing ------------------------------------------------------------------------------ */

/* Silent past the session timeout, the session is closed by the
 * cluster: the poll that delivers CLOSED hands the handler a client
 * still whole (PENDING_CLOSE) and closes it at its end. */
static void
session_timeout_is_a_pending_close(void **state)
{
	struct fl_cluster_client_ctx ctx;
	int l, rc = 0;

	(void)state;
	l = elect();
	ctx = ctx_for(l);
	assert_fl(connect_here(&ctx, NULL, NULL, &cc), 0);
	/* No poll of the client now: no keep-alive. */
	round_hook = pc_work;
	assert_true(WAIT_UNTIL((round_all(), sessions_are(0)), 20000));
	memset(&heard, 0, sizeof(heard));
	/* Until the poll ends the client: on a machine slow enough for an
	 * election meanwhile (the TSan job beside a loaded CI run), a
	 * NEW_LEADER comes first, and a poll that delivered it returns its
	 * count, not the close. */
	assert_true(WAIT_UNTIL((round_all(),
	                        (rc = fl_cluster_client_poll_egress(cc, on_event, &heard, 1)) < 0),
	                       20000));
	assert_fl(rc, FL_ECLOSED);
	assert_int_equal(heard.responses, 0);
	assert_int_equal(heard.sessions, 1);
	assert_int_equal(heard.last.code, FL_CLUSTER_EVENT_CLOSED);
	assert_string_equal(heard.detail, "timeout");
	assert_int_equal(heard.state_in_handler, FL_CLUSTER_CLIENT_PENDING_CLOSE);
	assert_fl(heard.status_in_handler, 0);
	assert_int_equal(fl_cluster_client_state(cc), FL_CLUSTER_CLIENT_CLOSED);
	assert_fl(fl_cluster_client_status(cc), FL_ECLOSED);
	assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
	assert_fl(fl_cluster_client_close(cc), 0);
	cc = NULL;
}

/* The log buffers pc maps (its publications', its images'). */
static int64_t
pc_logs_mapped(void)
{
	struct fl_stats s;

	assert_fl(fl_stats_read(ns, &s), 0);
	for (int i = 0; i < s.client_count; i++)
		if (s.clients[i].client_id == fl_client_id(pc))
			return s.clients[i].logs_mapped;
	return -1;
}

/* A session the cluster times out while nobody polls: the leader sends
 * CLOSED and lets its publication to the egress go; nobody reads it, so
 * the driver drops it at its linger (1 s: cluster_nodes.h leaves the
 * driver's default), and the CLOSED with it.  The client's ingress is
 * still subscribed (the leader lives), so only the egress, which no
 * leader publishes to any more, tells it: at the new-leader timeout the
 * poll closes it, FL_ETIMEDOUT, having delivered nothing. */
static void
egress_lost_closes_the_client(void **state)
{
	struct fl_cluster_client_ctx ctx;
	int l, rc = 0;

	(void)state;
	l = elect();
	ctx = ctx_for(l);
	ctx.new_leader_timeout_ns = 300 * MS;
	assert_fl(connect_here(&ctx, NULL, NULL, &cc), 0);
	/* pc maps the client's ingress and the image of the leader's
	 * publication to the egress (the OK came on it); nothing else once
	 * a redirect's one-off answer, had there been one, went. */
	assert_true(WAIT_UNTIL((round_all(), pc_logs_mapped() == 2), 20000));
	/* No poll of the client now: no keep-alive. */
	round_hook = pc_work;
	assert_true(WAIT_UNTIL((round_all(), sessions_are(0)), 20000));
	/* The driver dropped the leader's egress publication (drained by
	 * nobody, at its linger) and the client's image of it; pc's
	 * conductor took the image off the egress and unmapped its log: the
	 * CLOSED in it is unread and unreadable. */
	assert_true(WAIT_UNTIL((round_all(), pc_logs_mapped() == 1), 20000));
	assert_int_equal(fl_cluster_client_state(cc), FL_CLUSTER_CLIENT_CONNECTED);
	memset(&heard, 0, sizeof(heard));
	assert_true(WAIT_UNTIL((round_all(),
	                        (rc = fl_cluster_client_poll_egress(cc, on_event, &heard, 16)) < 0),
	                       20000));
	assert_fl(rc, FL_ETIMEDOUT);
	assert_int_equal(heard.n, 0); /* no CLOSED */
	assert_int_equal(fl_cluster_client_state(cc), FL_CLUSTER_CLIENT_CLOSED);
	assert_fl(fl_cluster_client_status(cc), FL_ETIMEDOUT);
	assert_fl(fl_cluster_client_poll_egress(cc, on_event, &heard, 16), FL_ETIMEDOUT);
	assert_fl(fl_cluster_client_put(cc, "k", "v", 1, NULL), FL_ECLOSED);
	assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
	assert_fl(fl_cluster_client_close(cc), 0);
	cc = NULL;
}

/* A client that polls keeps its session past the timeout (keep-alives);
 * closed, it ends the session on every node and the leader lets its
 * publication to it go. */
static void
close_ends_the_session(void **state)
{
	struct fl_cluster_client_ctx ctx;
	struct fl_stats s;
	int64_t before;
	uint64_t until;
	int l;

	(void)state;
	l = elect();
	/* The nodes' own publications, one to each peer: waited for, since
	 * a node's publication to the peer that did not vote can still be
	 * on its way. */
	before = N * (N - 1);
	assert_true(
	        WAIT_UNTIL((round_all(), fl_stats_read(ns, &s) == 0 && s.publications == before),
	                   20000));
	ctx = ctx_for(l);
	assert_fl(connect_here(&ctx, NULL, NULL, &cc), 0);
	/* 1.5 s, well inside the default 10 s session timeout: a thread
	 * starved for a second (a sanitizer build on a loaded machine) must
	 * not time the session out here. */
	until = fl_clock_now_ns() + 1500 * MS;
	assert_true(WAIT_UNTIL((round_all(), fl_clock_now_ns() >= until), 20000));
	assert_true(sessions_are(1));
	assert_int_equal(fl_cluster_client_state(cc), FL_CLUSTER_CLIENT_CONNECTED);
	assert_fl(fl_cluster_client_close(cc), 0);
	cc = NULL;
	assert_true(WAIT_UNTIL((round_all(), sessions_are(0)), 20000));
	assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
	/* The leader's CLOSED answer has no subscriber left: its one-off
	 * publication goes at the session timeout (10 s here). */
	assert_true(
	        WAIT_UNTIL((round_all(), fl_stats_read(ns, &s) == 0 && s.publications == before),
	                   20000));
}

/* ---- the connect closed at every step -------------------------------------------------- */

/* Polls ac (the nodes on this thread) until it is at step st; false if
 * it ended first. */
static bool
poll_until_step(enum fl_cluster_connect_step st)
{
	fl_cluster_client *c = NULL;
	int rc = FL_EAGAIN;

	assert_true(WAIT_UNTIL((round_all(),
	                        fl_cluster_connect_step(ac) == st ||
	                                (rc = fl_cluster_connect_poll(ac, &c)) != FL_EAGAIN),
	                       20000));
	assert_null(c);
	return fl_cluster_connect_step(ac) == st && rc == FL_EAGAIN;
}

/* Closed at each step, having begun it (an add started, a CONNECT sent):
 * the driver ends with nothing of the client's.  At the two adds, the
 * close comes once the driver completed the add and before the client
 * heard of it: the registration Aeron's #1574 left behind. */
static void
connect_close_at_every_step(void **state)
{
	int l;

	(void)state;
	l = elect();
	for (int st = FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB; st <= FL_CLUSTER_CONNECT_CONCLUDE;
	     st++) {
		struct fl_cluster_client_ctx ctx = ctx_for(l);
		fl_cluster_client *c = NULL;

		assert_fl(fl_cluster_connect_async(&ctx, &ac), 0);
		assert_true(poll_until_step(st));
		if (st == FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB ||
		    st == FL_CLUSTER_CONNECT_CREATE_INGRESS_PUB) {
			int64_t want = st == FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB ? 1 : 2;

			/* The add goes out; the driver completes it; the client's
			 * conductor does not run, so the connect has not heard. */
			assert_fl(fl_cluster_connect_poll(ac, &c), FL_EAGAIN);
			assert_true(WAIT_UNTIL(driver_holds(want), 20000));
			assert_int_equal(fl_cluster_connect_step(ac), st);
		} else if (st != FL_CLUSTER_CONNECT_CONCLUDE) {
			assert_fl(fl_cluster_connect_poll(ac, &c), FL_EAGAIN);
		}
		assert_fl(fl_cluster_connect_close(ac), 0);
		ac = NULL;
		assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
		/* A session opened (CONCLUDE) was sent CLOSE; one whose CONNECT
		 * went unanswered (SEND_CONNECT, POLL_RESPONSE) is opened by the
		 * cluster anyway and times out (1 s here). */
		assert_true(WAIT_UNTIL((round_all(), sessions_are(0)), 20000));
	}
}

/* Each step's fault point times the connect out at that step, with what
 * it began still in flight; three timed-out connects a step and their
 * closes leave the driver nothing of the client's (B2's catch). */
static void
connect_fault_at_every_step(void **state)
{
	static const char *const points[] = {
		"transport/cluster/client/create_egress_sub",
		"transport/cluster/client/create_ingress_pub",
		"transport/cluster/client/await_pub_connected",
		"transport/cluster/client/send_connect",
		"transport/cluster/client/poll_response",
		"transport/cluster/client/conclude",
	};
	int l;

	(void)state;
#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled: the points are compiled out */
#endif
	l = elect();
	fiu_init(0);
	for (int st = FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB; st <= FL_CLUSTER_CONNECT_CONCLUDE;
	     st++) {
		for (int k = 0; k < 3; k++) {
			struct fl_cluster_client_ctx ctx = ctx_for(l);
			fl_cluster_client *c = NULL;

			assert_fl(fl_cluster_connect_async(&ctx, &ac), 0);
			assert_true(poll_until_step(st));
			fiu_enable(points[st], 1, NULL, 0);
			fl_points_arm(false, true);
			assert_fl(fl_cluster_connect_poll(ac, &c), FL_ETIMEDOUT);
			fl_points_arm(false, false);
			fiu_disable(points[st]);
			assert_int_equal(fl_cluster_connect_step(ac), st);
			/* Sticky, and the handle still to close. */
			assert_fl(fl_cluster_connect_poll(ac, &c), FL_ETIMEDOUT);
			assert_null(c);
			if (st <= FL_CLUSTER_CONNECT_CREATE_INGRESS_PUB)
				assert_true(WAIT_UNTIL(driver_holds(st + 1), 20000));
			assert_fl(fl_cluster_connect_close(ac), 0);
			ac = NULL;
		}
		assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
		/* As above: CLOSE sent, or an unanswered CONNECT timed out. */
		assert_true(WAIT_UNTIL((round_all(), sessions_are(0)), 20000));
	}
}

/* No node up: the connect times out at AWAIT_PUB_CONNECTED, the
 * synchronous one too, and either way nothing is left of it. */
static void
connect_without_nodes_times_out(void **state)
{
	struct fl_cluster_client_ctx ctx = ctx_for(0);
	fl_cluster_client *c = NULL;
	int rc = FL_EAGAIN;

	(void)state;
	ctx.message_timeout_ns = 1000 * MS; /* the driver adds in time, however loaded */
	assert_fl(fl_cluster_connect_async(&ctx, &ac), 0);
	assert_true(WAIT_UNTIL((fl_client_do_work(pc),
	                        (rc = fl_cluster_connect_poll(ac, &c)) != FL_EAGAIN),
	                       20000));
	assert_fl(rc, FL_ETIMEDOUT);
	/* At AWAIT_PUB_CONNECTED, unless the machine was so loaded that the
	 * driver had not even completed an add within the second. */
	assert_true(fl_cluster_connect_step(ac) == FL_CLUSTER_CONNECT_AWAIT_PUB_CONNECTED ||
	            fl_cluster_connect_step(ac) < FL_CLUSTER_CONNECT_AWAIT_PUB_CONNECTED);
	if (fl_cluster_connect_step(ac) == FL_CLUSTER_CONNECT_AWAIT_PUB_CONNECTED)
		assert_true(WAIT_UNTIL(driver_holds(2), 20000));
	assert_fl(fl_cluster_connect_close(ac), 0);
	ac = NULL;
	assert_true(WAIT_UNTIL((fl_client_do_work(pc), pc_holds(0)), 20000));
	/* Synchronous, round robin: every member tried in turn, then the
	 * timeout; the deadline of the whole call is further off. */
	ctx.member = FL_CLUSTER_ROUND_ROBIN;
	assert_fl(fl_cluster_connect(&ctx, deadline(20000), &c), FL_ETIMEDOUT);
	assert_true(WAIT_UNTIL((fl_client_do_work(pc), pc_holds(0)), 20000));
	/* The call's own deadline first. */
	ctx.message_timeout_ns = test_ms(20000) * MS;
	assert_fl(fl_cluster_connect(&ctx, fl_clock_now_ns() + 100 * MS, &c), FL_ETIMEDOUT);
	assert_true(WAIT_UNTIL((fl_client_do_work(pc), pc_holds(0)), 20000));
}

/* ---- a connect of one's own -------------------------------------------------------------- */

/* What a connect of one's own heard on its egress: the answer to its
 * CONNECT (the event whose correlation it carries). */
struct own_answer {
	uint64_t correlation;
	bool got;
	int decode_rc;
	struct fl_cluster_event ev; /* data not kept */
};

static void
own_on_egress(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct own_answer *a = arg;
	struct fl_cluster_event ev;

	(void)h;
	a->decode_rc = fl_cluster_decode_event(buf, len, &ev);
	if (a->decode_rc != 0 || ev.type != FL_CLUSTER_EV_SESSION ||
	    ev.correlation != a->correlation)
		return;
	a->ev = ev;
	a->ev.data = NULL;
	a->got = true;
}

/* A program's own connect on the public API: subscribe the response
 * address, publish to the leader's ingress, offer CONNECT, read the
 * answer, adopt the session it opened; the adopted client works like any
 * other, and closed, leaves nothing. */
static void
own_connect_adopted(void **state)
{
	static const uint8_t garbage[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02 };
	struct fl_cluster_client_ctx ctx;
	struct fl_fragment_assembler fa;
	struct own_answer answer = { .correlation = 0x5eed0001 };
	struct fl_cluster_event ev;
	fl_subscription *egress = NULL;
	fl_publication *ingress = NULL, *to[N];
	uint8_t frame[256];
	size_t len;
	struct got g;
	int l;

	(void)state;
	/* The response address, and a publication to every member's ingress
	 * made before the leader is known: the nodes run between the
	 * election and the CONNECT (a leader's term is not left to the
	 * adds' blocking waits), and the leader's is kept. */
	assert_fl(fl_client_add_subscription(pc, EGRESS, 2001, NULL, deadline(20000), &egress), 0);
	for (int i = 0; i < N; i++)
		assert_fl(fl_client_add_publication(pc, FL_CLUSTER_CHANNEL,
		                                    FL_CLUSTER_INGRESS_STREAM_BASE + i, true,
		                                    deadline(20000), &to[i]),
		          0);
	l = elect();
	ctx = ctx_for(l);
	ingress = to[l];
	for (int i = 0; i < N; i++)
		if (i != l)
			assert_fl(fl_publication_close(to[i]), 0);
	assert_true(WAIT_UNTIL((round_all(), fl_publication_is_connected(ingress)), 20000));

	/* The CONNECT: its length; 0 with no room for it, or for an address
	 * that is not a name. */
	len = fl_cluster_connect_frame(frame, sizeof(frame), answer.correlation, EGRESS, 2001);
	assert_true(len > 0 && len <= sizeof(frame));
	assert_fl(fl_cluster_connect_frame(frame, len - 1, answer.correlation, EGRESS, 2001), 0);
	assert_fl(fl_cluster_connect_frame(frame, 0, answer.correlation, EGRESS, 2001), 0);
	assert_fl(fl_cluster_connect_frame(frame, sizeof(frame), 1, "no/slashes", 2001), 0);
	assert_fl(fl_cluster_connect_frame(frame, sizeof(frame), 1, "", 2001), 0);
	assert_fl(fl_cluster_connect_frame(frame, sizeof(frame), 1, NULL, 2001), 0);
	assert_fl(fl_cluster_connect_frame(NULL, sizeof(frame), 1, EGRESS, 2001), 0);
	/* (The failed calls wrote nothing that matters: made again.) */
	assert_fl(fl_cluster_connect_frame(frame, sizeof(frame), answer.correlation, EGRESS, 2001),
	          len);

	/* Not an event: garbage, nothing, and an ingress frame (the CONNECT). */
	assert_fl(fl_cluster_decode_event(garbage, sizeof(garbage), &ev), FL_EPROTO);
	assert_fl(fl_cluster_decode_event(garbage, 0, &ev), FL_EPROTO);
	assert_fl(fl_cluster_decode_event(frame, len, &ev), FL_EPROTO);
	assert_fl(fl_cluster_decode_event(NULL, len, &ev), FL_EPROTO);
	assert_fl(fl_cluster_decode_event(frame, len, NULL), FL_EPROTO);

	assert_true(fl_publication_offer(ingress, frame, len) > 0);
	fl_fragment_assembler_init(&fa, own_on_egress, &answer);
	assert_true(
	        WAIT_UNTIL((round_all(),
	                    fl_subscription_poll(egress, fl_fragment_assembler_handler, &fa, 16),
	                    answer.got),
	                   20000));
	fl_fragment_assembler_fini(&fa);
	assert_fl(answer.decode_rc, 0);
	assert_int_equal(answer.ev.type, FL_CLUSTER_EV_SESSION);
	assert_int_equal(answer.ev.code, FL_CLUSTER_EVENT_OK);
	assert_true(answer.ev.session != 0);
	assert_true(answer.ev.term != 0);
	assert_int_equal(answer.ev.leader, l);

	assert_fl(fl_cluster_client_adopt(&ctx, egress, ingress, answer.ev.leader,
	                                  answer.ev.session, answer.ev.term, &cc),
	          0);
	assert_non_null(cc);
	assert_fl(fl_cluster_client_session_id(cc), answer.ev.session);
	assert_int_equal(fl_cluster_client_leader(cc), l);
	assert_fl(fl_cluster_client_term(cc), answer.ev.term);
	assert_int_equal(fl_cluster_client_state(cc), FL_CLUSTER_CLIENT_CONNECTED);
	assert_fl(fl_cluster_client_status(cc), 0);

	runner_start();
	assert_fl(fl_cluster_client_put_sync(cc, "own", "adopted", 7, deadline(20000),
	                                     reply_of(&g)),
	          0);
	assert_int_equal(g.r.status, FL_CLUSTER_OK);
	assert_true(g.r.index > answer.ev.session);
	assert_fl(fl_cluster_client_get_sync(cc, "own", deadline(20000), reply_of(&g)), 0);
	assert_int_equal(g.r.status, FL_CLUSTER_OK);
	assert_fl(g.r.value_len, 7);
	assert_string_equal(g.value, "adopted");
	runner_stop();
	assert_true(WAIT_UNTIL((round_all(), sessions_are(1)), 20000));
	/* Closed, it ends the session and lets go of what it took over. */
	assert_fl(fl_cluster_client_close(cc), 0);
	cc = NULL;
	assert_true(WAIT_UNTIL((round_all(), sessions_are(0) && pc_holds(0)), 20000));
}

/* A subscription to the response address and a publication to member
 * l's ingress, both completed: what a connect of one's own hands over. */
static void
own_pair(int l, fl_subscription **egress, fl_publication **ingress)
{
	*egress = NULL;
	*ingress = NULL;
	assert_fl(fl_client_add_subscription(pc, EGRESS, 2001, NULL, deadline(20000), egress), 0);
	assert_fl(fl_client_add_publication(pc, FL_CLUSTER_CHANNEL,
	                                    FL_CLUSTER_INGRESS_STREAM_BASE + l, true,
	                                    deadline(20000), ingress),
	          0);
	assert_true(WAIT_UNTIL((round_all(), pc_holds(2)), 20000));
}

/* Refused, adopt still takes over what it was given: it closes the
 * subscription and the publication, and *out is left as it was. */
static void
adopt_bad_args_close_what_it_took(void **state)
{
	struct fl_cluster_client_ctx ctx, bad;
	fl_subscription *egress;
	fl_publication *ingress;
	fl_cluster_client *const untouched = (fl_cluster_client *)&heard; /* a mark, never used */
	fl_cluster_client *out;

	(void)state;
	ctx = ctx_for(0);
	/* Session 0; the leader out of range, either way; term 0. */
	for (int k = 0; k < 4; k++) {
		int leader = k == 1 ? N : k == 2 ? -1 : 0;
		uint64_t session = k == 0 ? 0 : 7, term = k == 3 ? 0 : 1;

		own_pair(0, &egress, &ingress);
		out = untouched;
		assert_fl(fl_cluster_client_adopt(&ctx, egress, ingress, leader, session, term,
		                                  &out),
		          FL_EINVAL);
		assert_ptr_equal(out, untouched);
		assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
	}
	/* A bad context: members out of range, no egress address, not a
	 * name; none at all. */
	for (int k = 0; k < 4; k++) {
		bad = ctx;
		if (k == 0)
			bad.members = FL_CLUSTER_MAX_NODES + 1;
		else if (k == 1)
			bad.egress_channel = NULL;
		else if (k == 2)
			bad.egress_channel = "no/slashes";
		own_pair(0, &egress, &ingress);
		out = untouched;
		assert_fl(fl_cluster_client_adopt(k == 3 ? NULL : &bad, egress, ingress, 0, 7, 1,
		                                  &out),
		          FL_EINVAL);
		assert_ptr_equal(out, untouched);
		assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
	}
	/* Only one of the two given: that one is closed. */
	own_pair(0, &egress, &ingress);
	out = untouched;
	assert_fl(fl_cluster_client_adopt(&ctx, egress, NULL, 0, 7, 1, &out), FL_EINVAL);
	assert_fl(fl_cluster_client_adopt(&ctx, NULL, ingress, 0, 7, 1, &out), FL_EINVAL);
	assert_ptr_equal(out, untouched);
	assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
	/* No out: both closed. */
	own_pair(0, &egress, &ingress);
	assert_fl(fl_cluster_client_adopt(&ctx, egress, ingress, 0, 7, 1, NULL), FL_EINVAL);
	assert_true(WAIT_UNTIL((round_all(), pc_holds(0)), 20000));
}

/* ---- threads ------------------------------------------------------------------------------- */

struct other {
	int poll, close, put, give_up, offer, connect_poll, connect_close;
};

static void *
other_thread(void *arg)
{
	struct other *o = arg;
	fl_cluster_client *c = NULL;

	o->poll = fl_cluster_client_poll_egress(cc, on_event, &heard, 16);
	o->close = fl_cluster_client_close(cc);
	o->put = fl_cluster_client_put(cc, "k", "v", 1, NULL);
	o->offer = fl_cluster_client_offer(cc, "x", 1, NULL);
	o->give_up = fl_cluster_client_give_up(cc, 1);
	o->connect_poll = fl_cluster_connect_poll(ac, &c);
	o->connect_close = fl_cluster_connect_close(ac);
	return NULL;
}

static void
other_thread_gets_eowner(void **state)
{
	struct fl_cluster_client_ctx ctx;
	struct other o;
	struct got g;
	int l;

	(void)state;
	assert_int_equal(FL_EWRONG_THREAD, FL_EOWNER);
	l = elect();
	ctx = ctx_for(l);
	assert_fl(connect_here(&ctx, NULL, NULL, &cc), 0);
	assert_fl(fl_cluster_connect_async(&ctx, &ac), 0); /* a second connect, not polled */
	test_threads(1, other_thread, &o, sizeof(o));
	assert_fl(o.poll, FL_EOWNER);
	assert_fl(o.close, FL_EOWNER);
	assert_fl(o.put, FL_EOWNER);
	assert_fl(o.offer, FL_EOWNER);
	assert_fl(o.give_up, FL_EOWNER);
	assert_fl(o.connect_poll, FL_EOWNER);
	assert_fl(o.connect_close, FL_EOWNER);
	/* Both still work for their owner. */
	assert_fl(fl_cluster_connect_close(ac), 0);
	ac = NULL;
	runner_start();
	assert_fl(fl_cluster_client_put_sync(cc, "k", "v", 1, deadline(20000), NULL), 0);
	assert_fl(fl_cluster_client_get_sync(cc, "k", deadline(20000), reply_of(&g)), 0);
	assert_string_equal(g.value, "v");
	runner_stop();
	assert_fl(fl_cluster_client_close(cc), 0);
	cc = NULL;
	assert_true(WAIT_UNTIL((round_all(), sessions_are(0) && pc_holds(0)), 20000));
}

/* ---- arguments ------------------------------------------------------------------------------ */

static void
closing_from_the_handler(void *arg, fl_cluster_client *c, const struct fl_cluster_event *ev)
{
	int *rc = arg;

	(void)ev;
	rc[0] = fl_cluster_client_close(c);
	rc[1] = fl_cluster_client_poll_egress(c, on_event, &heard, 1);
	rc[2] = fl_cluster_client_put_sync(c, "k", "v", 1, fl_clock_now_ns(), NULL);
}

static void
bad_arguments(void **state)
{
	struct fl_cluster_client_ctx ctx = ctx_for(0), bad;
	fl_cluster_client *c = NULL;
	char key[FL_CLUSTER_MAX_KEY + 2];
	static uint8_t big[FL_CLUSTER_MAX_VALUE + 1];
	uint64_t corr;
	int in_handler[3] = { 1, 1, 1 }, l;

	(void)state;
	assert_fl(fl_cluster_connect_async(NULL, &ac), FL_EINVAL);
	assert_fl(fl_cluster_connect_async(&ctx, NULL), FL_EINVAL);
	bad = ctx;
	bad.client = NULL;
	assert_fl(fl_cluster_connect_async(&bad, &ac), FL_EINVAL);
	bad = ctx;
	bad.members = FL_CLUSTER_MAX_NODES + 1;
	assert_fl(fl_cluster_connect_async(&bad, &ac), FL_EINVAL);
	bad = ctx;
	bad.member = N;
	assert_fl(fl_cluster_connect_async(&bad, &ac), FL_EINVAL);
	bad.member = -2;
	assert_fl(fl_cluster_connect_async(&bad, &ac), FL_EINVAL);
	bad = ctx;
	bad.egress_channel = NULL;
	assert_fl(fl_cluster_connect_async(&bad, &ac), FL_EINVAL);
	bad.egress_channel = "no/slashes";
	assert_fl(fl_cluster_connect_async(&bad, &ac), FL_ENAME);
	bad.egress_channel = FL_CLUSTER_CHANNEL;
	bad.egress_stream = FL_CLUSTER_INGRESS_STREAM_BASE + 1;
	assert_fl(fl_cluster_connect_async(&bad, &ac), FL_EINVAL);
	bad.egress_stream = FL_CLUSTER_STREAM_BASE;
	assert_fl(fl_cluster_connect_async(&bad, &ac), FL_EINVAL);
	bad.egress_stream = 3000; /* "cluster" is fine on another stream */
	assert_fl(fl_cluster_connect_async(&bad, &ac), 0);
	assert_fl(fl_cluster_connect_poll(ac, NULL), FL_EINVAL);
	assert_fl(fl_cluster_connect_poll(NULL, &c), FL_EINVAL);
	assert_fl(fl_cluster_connect_close(ac), 0);
	ac = NULL;
	assert_fl(fl_cluster_connect(&bad, deadline(1000), NULL), FL_EINVAL);
	assert_null(ac);
	assert_fl(fl_cluster_connect_close(NULL), 0);
	assert_fl(fl_cluster_client_close(NULL), 0);
	assert_string_equal(fl_cluster_connect_step_name(99), "unknown");
	assert_string_equal(fl_cluster_connect_step_name(FL_CLUSTER_CONNECT_DONE), "DONE");

	l = elect();
	ctx = ctx_for(l);
	assert_fl(connect_here(&ctx, NULL, NULL, &cc), 0);
	assert_fl(fl_cluster_client_poll_egress(NULL, on_event, &heard, 1), FL_EINVAL);
	assert_fl(fl_cluster_client_poll_egress(cc, on_event, &heard, 0), FL_EINVAL);
	assert_fl(fl_cluster_client_offer(NULL, "x", 1, &corr), FL_EINVAL);
	assert_fl(fl_cluster_client_offer(cc, NULL, 1, &corr), FL_EINVAL);
	assert_fl(fl_cluster_client_offer(cc, "x", 0, &corr), FL_EMSGSIZE);
	assert_fl(fl_cluster_client_offer(cc, big, sizeof(big) + 300, &corr), FL_EMSGSIZE);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_fl(fl_cluster_client_put(cc, key, "v", 1, &corr), FL_EMSGSIZE);
	key[FL_CLUSTER_MAX_KEY] = '\0'; /* the longest */
	assert_fl(fl_cluster_client_put(NULL, "k", "v", 1, &corr), FL_EINVAL);
	assert_fl(fl_cluster_client_put(cc, NULL, "v", 1, &corr), FL_EINVAL);
	assert_fl(fl_cluster_client_put(cc, "", "v", 1, &corr), FL_EINVAL);
	assert_fl(fl_cluster_client_put(cc, "k", NULL, 1, &corr), FL_EINVAL);
	assert_fl(fl_cluster_client_put(cc, "k", big, sizeof(big), &corr), FL_EMSGSIZE);
	assert_fl(fl_cluster_client_cas(cc, "k", big, 3000, big, 3000, &corr), FL_EMSGSIZE);
	assert_fl(fl_cluster_client_cas(cc, "k", NULL, 1, "v", 1, &corr), FL_EINVAL);
	assert_fl(fl_cluster_client_give_up(NULL, 1), FL_EINVAL);
	assert_fl(fl_cluster_client_give_up(cc, 12345), FL_ENOENT);
	/* What the service refuses to parse is the cluster's to answer: a
	 * raw command that does not parse is applied as nothing, BAD. */
	memset(&heard, 0, sizeof(heard));
	assert_fl(fl_cluster_client_offer(cc, "\x09junk-command", 13, &corr), 0);
	assert_true(WAIT_UNTIL((round_all(), heard.responses == 1), 20000));
	assert_int_equal(heard.last.code, FL_CLUSTER_BAD);
	/* The longest key and value go. */
	memset(big, 'v', sizeof(big));
	assert_fl(fl_cluster_client_put(cc, key, big, FL_CLUSTER_MAX_VALUE, &corr), 0);
	assert_true(WAIT_UNTIL((round_all(), heard.responses == 2), 20000));
	assert_int_equal(heard.last.code, FL_CLUSTER_OK);
	/* From inside its handler: no close, no poll, no synchronous op. */
	assert_fl(fl_cluster_client_get(cc, key, &corr), 0);
	round_hook = pc_work;
	assert_true(
	        WAIT_UNTIL((round_all(), fl_cluster_client_poll_egress(cc, closing_from_the_handler,
	                                                               in_handler, 16) > 0 &&
	                                         in_handler[0] != 1),
	                   20000));
	assert_fl(in_handler[0], FL_EBUSY);
	assert_fl(in_handler[1], FL_EBUSY);
	assert_fl(in_handler[2], FL_EBUSY);
	assert_int_equal(fl_cluster_client_state(cc), FL_CLUSTER_CLIENT_CONNECTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(connect_at_follower_follows_redirect, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(connect_during_election_gets_there, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(round_robin_moves_past_a_dead_member, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(no_leader_retries_until_the_deadline, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(kv_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(failover_follows_the_new_leader, setup, teardown),
		cmocka_unit_test_setup_teardown(no_new_leader_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(session_timeout_is_a_pending_close,
		                                setup_short_timeout_long_linger, teardown),
		cmocka_unit_test_setup_teardown(egress_lost_closes_the_client, setup_short_timeout,
		                                teardown),
		cmocka_unit_test_setup_teardown(close_ends_the_session, setup, teardown),
		cmocka_unit_test_setup_teardown(connect_close_at_every_step, setup_short_timeout,
		                                teardown),
		cmocka_unit_test_setup_teardown(connect_fault_at_every_step, setup_short_timeout,
		                                teardown),
		cmocka_unit_test_setup_teardown(connect_without_nodes_times_out, setup_no_nodes,
		                                teardown),
		cmocka_unit_test_setup_teardown(own_connect_adopted, setup, teardown),
		cmocka_unit_test_setup_teardown(adopt_bad_args_close_what_it_took, setup, teardown),
		cmocka_unit_test_setup_teardown(other_thread_gets_eowner, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
