/*
 * The cluster's clients under the harness: cluster_connect,
 * cluster_close, cluster_put / _get / _cas / _append and cluster_poll
 * (docs/scenario-format.md), over the library of
 * faultline/cluster_client.h or a registered connect helper (impl:).
 *
 * Each actor's cluster clients share a pub/sub client of their own,
 * opened on first use and closed when the actor's ops end (after its
 * cluster clients), so that what they leave with the driver is theirs
 * alone: no_orphaned_registrations (B2) lists, before that pub/sub
 * client closes, every add nobody collected or cancelled, and then
 * requires the driver to hold no registration of it.  A process exit
 * would reclaim them all: that is how the bug hid (Aeron #1574).
 *
 * A cluster client is its creator's (the owner, by the library's
 * contract).  Another actor closes it only on purpose: `flag: true` sets
 * a flag the owner's cluster_poll reads (the safe way: the owner
 * closes), `from_actor: true` calls close from the wrong thread (B3,
 * Aeron #1590): the library's owner check answers FL_EOWNER, and without
 * it the close frees what the owner is still polling, which the guarded
 * heap of sim runs turns into a crash at the first stale access.  The
 * owner's ops hold the client as an application would, by a pointer
 * taken when they begin.
 *
 * The key-value ops record every operation through the client's
 * observer in the run's history (Jepsen EDN), for linearizable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/choice.h"
#include "faultline/client.h"
#include "faultline/cluster.h"
#include "faultline/cluster_client.h"
#include "faultline/error.h"
#include "faultline/impl.h"
#include "faultline/platform.h"
#include "faultline/stats.h"
#include "faultline/target.h"

#include "run/run_internal.h"
#include "scenario/loader.h" /* MAX_COUNT: the loader's limit */

/* The egress (response) addresses: one stream per client object. */
#define EGRESS_CHANNEL     "cluster-egress"
#define EGRESS_STREAM_BASE 1
/* History processes of the clients: far from the kv op's (actor
 * indexes), one per client object and life (a new one after an info). */
#define PROCESS_BASE   1000000
#define PROCESS_STRIDE 4096
/* Adds listed in one violation. */
#define MAX_LISTED 8
/* cluster_poll's fragments a poll, and its longest idle between polls. */
#define POLL_FRAGMENTS 16
#define POLL_TICK_NS   (10ull * FL_NS_PER_MS)

/* The index of each op's arguments in its declaration (client_ops). */
enum { CN_ATTEMPTS, CN_ASYNC, CN_CANCEL_AT, CN_MEMBER, CN_CHECK_OWNER, CN_IMPL };
enum { CL_CLIENT, CL_FROM_ACTOR, CL_FLAG };
enum { KC_CLIENT, KC_COUNT, KC_KEYS };
enum { PL_CLIENT, PL_UNTIL };

/* A cluster client object's state: r->objs[ref]. */
struct cc_slot {
	struct actor_run *owner;
	fl_scn_ref ref;
	fl_cluster_client *c; /* NULL: not connected, or closed */
	int stop;             /* atomic: `flag: true` asked the owner to close it */
	bool cancelled;       /* its connect was closed on purpose (cancel_at) */
	char gone[112];       /* why c is NULL, for the ops after ("" if unknown) */
	uint32_t lives;       /* history process lives (a new one after an info) */
	struct fl_cluster_op_observer obs;
	/* The value this client last wrote or read per key (a cas's
	 * expected value), "" when none is known. */
	char last[64][96];
};

static const char *const op_f[] = {
	[FL_CLUSTER_PUT] = "put",
	[FL_CLUSTER_GET] = "get",
	[FL_CLUSTER_CAS] = "cas",
	[FL_CLUSTER_APPEND] = "append",
};

static struct cc_slot *
slot_of(struct run *r, fl_scn_ref ref)
{
	return ref >= 0 ? r->objs[ref] : NULL;
}

static int64_t
process_of(const struct cc_slot *s)
{
	return PROCESS_BASE + (int64_t)s->lives * PROCESS_STRIDE + s->ref;
}

/* A value of the history as a C string (the client's bytes are text: the
 * harness wrote them). */
static void
text(char *buf, size_t cap, const void *p, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	if (len > 0)
		memcpy(buf, p, len);
	buf[len] = '\0';
}

static int
key_index(const char *key)
{
	int k = atoi(key + 1);
	return k >= 0 && k < 64 ? k : 0;
}

/* The client's observer: every operation of the key-value helpers, into
 * the run's history. */
static void
observe(void *arg, fl_cluster_client *c, const struct fl_cluster_op_event *ev)
{
	static const char *const types[] = {
		[FL_CLUSTER_OP_INVOKE] = "invoke",
		[FL_CLUSTER_OP_OK] = "ok",
		[FL_CLUSTER_OP_FAIL] = "fail",
		[FL_CLUSTER_OP_INFO] = "info",
	};
	struct cc_slot *s = arg;
	struct run *r = s->owner->run;
	enum fl_cluster_op_phase phase = ev->phase;
	char v[FL_CLUSTER_MAX_VALUE + 1], x[FL_CLUSTER_MAX_VALUE + 1];
	const char *value = v, *expected = NULL;

	(void)c;
	text(v, sizeof(v), ev->value, ev->value_len);
	if (ev->op == FL_CLUSTER_CAS) {
		text(x, sizeof(x), ev->expected, ev->expected_len);
		expected = x;
	}
	if (ev->op == FL_CLUSTER_GET &&
	    (ev->phase != FL_CLUSTER_OP_OK || ev->status == FL_CLUSTER_NOT_FOUND))
		value = NULL; /* an invocation's, an unknown answer's, or an absent key: nil */
	/* A cas's :fail is an observation to the model (the key did not hold
	 * the expected value).  One the cluster refused ("stale term", "not
	 * appended") or that was never offered observed nothing: certainly
	 * not applied, it is recorded as info, which allows that. */
	if (phase == FL_CLUSTER_OP_FAIL && ev->op == FL_CLUSTER_CAS &&
	    ev->status != FL_CLUSTER_MISMATCH && ev->status != FL_CLUSTER_NOT_FOUND)
		phase = FL_CLUSTER_OP_INFO;
	if (phase == FL_CLUSTER_OP_OK && ev->op != FL_CLUSTER_APPEND)
		text(s->last[key_index(ev->key)], sizeof(s->last[0]), value,
		     value != NULL ? strlen(value) : 0);
	fli_run_history2(r, &fl_history_kv, process_of(s), types[phase], op_f[ev->op], ev->key,
	                 expected != NULL ? expected : value, expected != NULL ? value : NULL);
	if (phase == FL_CLUSTER_OP_INFO)
		s->lives++; /* Jepsen's rule: a process with an op of unknown end is gone */
}

static void
client_error(void *arg, int err, const char *what)
{
	struct actor_run *ar = arg;

	/* The client could not tell the driver to remove a registration (a
	 * fault filled or broke the command ring): the driver keeps it until
	 * the client closes, and check_orphans counts it as known. */
	if (what != NULL && strstr(what, "a remove was lost") != NULL)
		__atomic_fetch_add(&ar->cluster_removes_lost, 1, __ATOMIC_RELAXED);
	if (err != FL_ECLOSED && !fli_run_faults_fired_for(ar))
		fli_run_fail(ar->run, "operations", "actor %s: cluster clients' client: %s: %s",
		             ar->a->name, what ? what : "", fl_errname(err));
}

/* The actor's pub/sub client for its cluster clients, opened on first
 * use. */
static int
ensure_pc(struct actor_run *ar)
{
	return ar->cluster_pc != NULL ? 0
	                              : fli_actor_client_open(ar, client_error, &ar->cluster_pc);
}

/* ---- connecting ------------------------------------------------------------ */

static void
client_ctx(struct actor_run *ar, const struct fl_target_args *a, struct cc_slot *s,
           uint64_t timeout_ns, struct fl_cluster_client_ctx *ctx)
{
	fl_cluster_client_ctx_init(ctx);
	ctx->client = ar->cluster_pc;
	ctx->members = (int)ar->run->s->cluster.nodes;
	ctx->member = a->ints[CN_MEMBER] < 0 ? FL_CLUSTER_ROUND_ROBIN : (int)a->ints[CN_MEMBER];
	ctx->egress_channel = EGRESS_CHANNEL;
	ctx->egress_stream = EGRESS_STREAM_BASE + s->ref;
	ctx->message_timeout_ns = timeout_ns;
	ctx->check_owner = a->ints[CN_CHECK_OWNER] != 0;
	ctx->observer = &s->obs;
}

/* One async connect, polled from here: closed on reaching `cancel_at`
 * (FL_ECANCELED). */
static int
connect_async(struct actor_run *ar, const struct fl_cluster_client_ctx *ctx, int cancel_at,
              uint64_t deadline, fl_cluster_client **out)
{
	struct fl_idle idle = { 0 };
	fl_cluster_async_connect *a;
	int rv = fl_cluster_connect_async(ctx, &a);

	if (rv != 0)
		return rv;
	for (;;) {
		int step = (int)fl_cluster_connect_step(a);
		int work;

		rv = fl_cluster_connect_poll(a, out);
		if (step == cancel_at && rv == FL_EAGAIN) {
			/* After the step's first poll: what it asked the driver
			 * for is in flight (B2's moment), or done. */
			fli_run_story(ar->run, "%s: connect closed at %s", ar->a->name,
			              fl_cluster_connect_step_name(
			                      (enum fl_cluster_connect_step)step));
			rv = FL_ECANCELED;
			break;
		}
		if (rv != FL_EAGAIN)
			break;
		if (fl_clock_now_ns() >= deadline) {
			rv = FL_ETIMEDOUT;
			break;
		}
		work = fl_client_do_work(ctx->client);
		if (work < 0) {
			rv = work;
			break;
		}
		fl_idle(&idle, work, deadline);
	}
	(void)fl_cluster_connect_close(a);
	return rv;
}

/* cluster_connect: a cluster client (faultline/cluster_client.h) over
 * the actor's own pub/sub client for cluster clients, named with `as:`.
 * Connects with the library's fl_cluster_connect, or (async) by polling
 * its steps from the op, or with a registered connect helper (impl).  A
 * connect that times out is tried again, up to `attempts` times. */
static int
op_connect(void *state, const struct fl_target_args *a, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	fl_scn_ref as = op->u.target.as;
	uint32_t attempts = (uint32_t)a->ints[CN_ATTEMPTS];
	struct run *r = ar->run;
	struct cc_slot *s = slot_of(r, as);
	struct fl_cluster_client_ctx ctx;
	const struct fl_impl *impl =
	        a->strs[CN_IMPL] != NULL ? fl_impl_find(a->strs[CN_IMPL]) : NULL;
	int cancel_at = (int)a->ints[CN_CANCEL_AT];
	int rv = ensure_pc(ar);

	(void)state;
	(void)created;
	if (rv != 0) {
		fli_op_error(ar, op, "the cluster clients' pub/sub client", rv);
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			fli_run_fail(r, "harness", "out of memory for a cluster client");
			return 0;
		}
		r->objs[as] = s;
	}
	if (s->c != NULL) {
		/* `repeat:` made it afresh: the last round's goes first. */
		(void)fl_cluster_client_close(s->c);
		s->c = NULL;
	}
	s->owner = ar;
	s->ref = as;
	s->cancelled = false;
	s->gone[0] = '\0';
	s->obs.arg = s;
	s->obs.op = observe;
	__atomic_store_n(&s->stop, 0, __ATOMIC_RELAXED);
	if (cancel_at == FL_SCN_CANCEL_RANDOM)
		cancel_at = (int)fl_choice_draw(ar->choices, FL_CLUSTER_CONNECT_DONE);
	/* each attempt's deadline: deadline_ms (drawn once for the op) */
	uint64_t span = fli_target_deadline_span(ar, op);

	for (uint32_t k = 0; k < attempts; k++) {
		uint64_t deadline = fl_clock_now_ns() + span;
		uint64_t timeout = deadline - fl_clock_now_ns();

		client_ctx(ar, a, s, timeout, &ctx);
		if (impl != NULL)
			rv = impl->fn.cluster_connect(&ctx, deadline, &s->c);
		else if (a->ints[CN_ASYNC])
			rv = connect_async(ar, &ctx, cancel_at, deadline, &s->c);
		else
			rv = fl_cluster_connect(&ctx, deadline, &s->c);
		fli_run_story(r, "%s: connect %u of %u: %s", ar->a->name, k + 1, attempts,
		              rv == 0 ? "connected" : fl_errname(rv));
		s->gone[0] = '\0';
		if (rv != 0)
			snprintf(s->gone, sizeof(s->gone),
			         "its connect (line %d) failed: %s, attempt %u of %u", op->line,
			         fl_errname(rv), k + 1, attempts);
		if (rv != FL_ETIMEDOUT)
			break;
	}
	if (rv == FL_ECANCELED && a->ints[CN_CANCEL_AT] != FL_SCN_CANCEL_NONE) {
		/* Closed on purpose: what it left is no_orphaned_registrations';
		 * the ops on this client are skipped. */
		s->cancelled = true;
		return 0;
	}
	if (rv != 0) {
		s->c = NULL;
		fli_op_error(ar, op, "connect", rv);
	}
	return 0;
}

/* The client an op names, or NULL: skipped (its connect was closed on
 * purpose), or an error (its connect failed, or it is closed). */
static fl_cluster_client *
op_client(struct actor_run *ar, const struct fl_scenario_op *op, fl_scn_ref ref,
          struct cc_slot **slot)
{
	struct cc_slot *s = slot_of(ar->run, ref);

	*slot = s;
	if (s != NULL && s->c != NULL)
		return s->c;
	if (s != NULL && s->cancelled)
		fli_run_story(ar->run, "%s: %s (line %d) skipped: its client's connect was closed",
		              ar->a->name, fl_scenario_op_name(op->kind), op->line);
	else if (s != NULL && s->gone[0] != '\0') {
		char what[160];

		snprintf(what, sizeof(what), "no such client: %s", s->gone);
		fli_op_error(ar, op, what, FL_ENOENT);
	} else
		fli_op_error(ar, op, "no such client (its connect failed, or it is closed)",
		             FL_ENOENT);
	return NULL;
}

/* ---- closing ------------------------------------------------------------------ */

/* cluster_close: closes a cluster client.  The owner closes it; another
 * actor may close it only by saying so: `from_actor: true` (the B3
 * misuse: it sets the flag below, then calls close from a thread that
 * does not own the client; with the owner check that close must answer
 * FL_EOWNER), or `flag: true` (the safe way: it sets a flag the owner's
 * cluster_poll reads, and the owner closes). */
static int
op_close(void *state, const struct fl_target_args *a, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct cc_slot *s;
	fl_cluster_client *c = op_client(ar, op, op->u.target.objs[CL_CLIENT], &s);
	int rv;

	(void)state;
	(void)created;
	if (c == NULL)
		return 0;
	if (a->ints[CL_FLAG]) {
		/* The safe way: the owner reads it in its poll loop. */
		__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
		return 0;
	}
	if (s->owner != ar && !a->ints[CL_FROM_ACTOR]) {
		fli_op_error(ar, op,
		             "the client is another actor's: close it there, or say flag: true "
		             "(the owner closes) or from_actor: true (the misuse, on purpose)",
		             FL_EOWNER);
		return 0;
	}
	if (s->owner != ar)
		/* The program stops its owner's loop too, as B3's did; then
		 * closes from here, which only the owner may do. */
		__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	rv = fl_cluster_client_close(c);
	if (rv == 0) {
		s->c = NULL;
		snprintf(s->gone, sizeof(s->gone), "cluster_close (line %d) closed it", op->line);
		if (op->expect != 0 && s->owner != ar)
			/* The owner check should have refused it. */
			fli_run_fail(ar->run, "operations",
			             "actor %s: cluster_close (line %d) closed actor %s's client "
			             "from another thread: the owner check did not catch it",
			             ar->a->name, op->line, s->owner->a->name);
		return 0;
	}
	fli_op_error(ar, op, "close", rv);
	return 0;
}

/* ---- key-value operations ------------------------------------------------------ */

/* cluster_put, cluster_get, cluster_cas, cluster_append: `count`
 * operations of the client's, one at a time, each on one of `keys` keys
 * (drawn from the choice stream) and each waited for until its deadline;
 * every one recorded in the run's history (linearizable). */
static int
op_kv(void *state, const struct fl_target_args *a, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct cc_slot *s;
	fl_cluster_client *c = op_client(ar, op, op->u.target.objs[KC_CLIENT], &s);
	char key[16], value[RUN_VALUE_MAX], got[FL_CLUSTER_MAX_VALUE];

	(void)state;
	(void)created;
	if (c == NULL)
		return 0;
	/* each operation's deadline: deadline_ms (drawn once for the op) */
	uint64_t span = fli_target_deadline_span(ar, op);

	for (uint32_t k = 0; k < (uint32_t)a->ints[KC_COUNT]; k++) {
		uint64_t deadline = fl_clock_now_ns() + span;
		struct fl_cluster_reply reply = { .value = got, .value_cap = sizeof(got) };
		int kk = (int)fl_choice_draw(ar->choices, (uint64_t)a->ints[KC_KEYS]);
		int rv;

		snprintf(key, sizeof(key), "k%d", kk);
		/* Its own in the run (run_unique_value). */
		run_unique_value(ar, value);
		switch (op->kind) {
		case FL_SCN_OP_CLUSTER_PUT:
			rv = fl_cluster_client_put_sync(c, key, value, strlen(value), deadline,
			                                &reply);
			break;
		case FL_SCN_OP_CLUSTER_GET:
			rv = fl_cluster_client_get_sync(c, key, deadline, &reply);
			break;
		case FL_SCN_OP_CLUSTER_CAS:
			rv = fl_cluster_client_cas_sync(c, key, s->last[kk], strlen(s->last[kk]),
			                                value, strlen(value), deadline, &reply);
			break;
		default:
			rv = fl_cluster_client_append_sync(c, key, value, strlen(value), deadline,
			                                   &reply);
			break;
		}
		/* An answer of unknown end (a timeout, a leader change) or a
		 * refusal is part of the history, not the op's failure. */
		if (rv == 0 || rv == FL_ETIMEDOUT || rv == FL_ECANCELED || rv == FL_ESTATE)
			continue;
		fli_op_error(ar, op, fl_scenario_op_name(op->kind), rv);
		return 0;
	}
	return 0;
}

/* ---- polling ------------------------------------------------------------------- */

struct poll_state {
	bool new_leader;
};

static void
on_event(void *arg, fl_cluster_client *c, const struct fl_cluster_event *ev)
{
	struct poll_state *ps = arg;

	(void)c;
	if (ev->type == FL_CLUSTER_EV_NEW_LEADER)
		ps->new_leader = true;
}

/* cluster_poll: polls the client's egress until the deadline, or
 * `until` it closed (by the cluster, or by a flag another actor set: the
 * owner closes it then) or followed a new leader. */
static int
op_poll(void *state, const struct fl_target_args *a, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	int64_t until = a->ints[PL_UNTIL];
	struct run *r = ar->run;
	struct cc_slot *s;
	fl_cluster_client *c = op_client(ar, op, op->u.target.objs[PL_CLIENT],
	                                 &s); /* held as an application holds it */
	uint64_t deadline = fl_clock_now_ns() + fli_target_deadline_span(ar, op), term = 0;
	struct poll_state ps = { false };
	struct fl_idle idle = { .max_park_ns = POLL_TICK_NS };

	(void)state;
	(void)created;
	if (c == NULL)
		return 0;
	term = fl_cluster_client_term(c);
	for (;;) {
		int work, rv;

		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
			/* Another actor asked: the owner leaves its loop and
			 * closes, as a signal handler's flag asks (unless that
			 * actor closed it already: from_actor). */
			fli_run_story(r, "%s: stop flag seen", ar->a->name);
			if (s->c != c)
				return 0;
			rv = fl_cluster_client_close(c);
			if (rv != 0)
				fli_op_error(ar, op, "close", rv);
			else {
				s->c = NULL;
				snprintf(s->gone, sizeof(s->gone),
				         "cluster_poll (line %d) closed it on its stop flag",
				         op->line);
			}
			return 0;
		}
		rv = fl_cluster_client_poll_egress(c, on_event, &ps, POLL_FRAGMENTS);
		if (rv < 0) {
			int crv;

			/* The client closed itself: the cluster closed the
			 * session (FL_ECLOSED) or no leader came in time
			 * (FL_ETIMEDOUT); anything else is an error. */
			fli_run_story(r, "%s: the client closed: %s", ar->a->name, fl_errname(rv));
			crv = fl_cluster_client_close(c);
			s->c = NULL;
			snprintf(s->gone, sizeof(s->gone),
			         "it closed itself in cluster_poll (line %d): %s", op->line,
			         fl_errname(rv));
			if (until != FL_SCN_UNTIL_CLOSED ||
			    (rv != FL_ECLOSED && rv != FL_ETIMEDOUT))
				fli_op_error(ar, op, "poll", rv);
			else if (crv != 0)
				fli_op_error(ar, op, "close", crv);
			return 0;
		}
		/* A NEW_LEADER heard here, or followed in an earlier op's wait
		 * (the term moved on since this op began). */
		if (until == FL_SCN_UNTIL_NEW_LEADER &&
		    (ps.new_leader || fl_cluster_client_term(c) != term))
			return 0;
		if (fl_clock_now_ns() >= deadline) {
			if (until != FL_SCN_UNTIL_DEADLINE)
				fli_op_error(ar, op,
				             until == FL_SCN_UNTIL_CLOSED
				                     ? "poll: the client is still open"
				                     : "poll: no new leader",
				             FL_ETIMEDOUT);
			return 0;
		}
		work = fl_client_do_work(ar->cluster_pc);
		fl_idle(&idle, rv + (work > 0 ? work : 0), deadline);
	}
}

/* A cluster client: closed with its actor (fli_interp_client_close). */
static const struct fl_target_kind client_kinds[] = {
	{ .name = "cluster_client", .close = fli_close_nothing },
	{ NULL },
};

static int
check_connect_impl(const char *name, char *why, size_t len)
{
	return fl_impl_check(name, 1u << FL_IMPL_CLUSTER_CONNECT, "cluster connect helper", why,
	                     len);
}

/* The steps of the connect (enum fl_cluster_connect_step's order), as
 * `cancel_at:` names them. */
static const struct fl_target_name connect_steps[] = {
	{ "create_egress_sub", FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB },
	{ "create_ingress_pub", FL_CLUSTER_CONNECT_CREATE_INGRESS_PUB },
	{ "await_pub_connected", FL_CLUSTER_CONNECT_AWAIT_PUB_CONNECTED },
	{ "send_connect", FL_CLUSTER_CONNECT_SEND_CONNECT },
	{ "poll_response", FL_CLUSTER_CONNECT_POLL_RESPONSE },
	{ "conclude", FL_CLUSTER_CONNECT_CONCLUDE },
	{ "random", FL_SCN_CANCEL_RANDOM },
	{ "none", FL_SCN_CANCEL_NONE },
	{ NULL },
};

static const struct fl_target_name round_robin[] = {
	{ "round_robin", -1 },
	{ NULL },
};

static const struct fl_target_arg connect_args[] = {
	[CN_ATTEMPTS] = { .name = "attempts",
	                  .type = FL_TARGET_INT,
	                  .min = 1,
	                  .max = 1000,
	                  .dflt = 1 },
	/* polls fl_cluster_connect_poll from the op */
	[CN_ASYNC] = { .name = "async", .type = FL_TARGET_BOOL },
	/* closes the connect's handle when it reaches that step */
	[CN_CANCEL_AT] = { .name = "cancel_at",
	                   .type = FL_TARGET_INT,
	                   .max = FL_CLUSTER_CONNECT_DONE - 1,
	                   .dflt = FL_SCN_CANCEL_NONE,
	                   .names = connect_steps,
	                   .names_only = true,
	                   .requires = "async" },
	/* whose ingress first (the loader keeps it to the members) */
	[CN_MEMBER] = { .name = "member",
	                .type = FL_TARGET_INT,
	                .max = 1000000, /* a member: the loader says which */
	                .names = round_robin },
	[CN_CHECK_OWNER] = { .name = "check_owner", .type = FL_TARGET_BOOL, .dflt = 1 },
	/* a registered connect helper drives its own steps */
	[CN_IMPL] = { .name = "impl",
	              .type = FL_TARGET_STRING,
	              .check = check_connect_impl,
	              .excludes = "async" },
	{ NULL },
};

static const struct fl_target_arg close_args[] = {
	/* any actor's: another actor closing it is B3's misuse, or `flag` */
	[CL_CLIENT] = { .name = "client",
	                .type = FL_TARGET_OBJECT,
	                .required = true,
	                .kind = "cluster_client",
	                .any_client = true },
	[CL_FROM_ACTOR] = { .name = "from_actor", .type = FL_TARGET_BOOL },
	[CL_FLAG] = { .name = "flag", .type = FL_TARGET_BOOL, .excludes = "from_actor" },
	{ NULL },
};

static const struct fl_target_arg kv_args[] = {
	[KC_CLIENT] = FLI_ARG_OBJECT("client", "cluster_client"),
	[KC_COUNT] = { .name = "count",
	               .type = FL_TARGET_INT,
	               .min = 1,
	               .max = MAX_COUNT,
	               .dflt = 1 },
	[KC_KEYS] = FLI_ARG_KEYS("keys"),
	{ NULL },
};

static const struct fl_target_name untils[] = {
	{ "deadline", FL_SCN_UNTIL_DEADLINE },
	{ "closed", FL_SCN_UNTIL_CLOSED },
	{ "new_leader", FL_SCN_UNTIL_NEW_LEADER },
	{ NULL },
};

static const struct fl_target_arg poll_args[] = {
	[PL_CLIENT] = FLI_ARG_OBJECT("client", "cluster_client"),
	[PL_UNTIL] = { .name = "until",
	               .type = FL_TARGET_INT,
	               .max = FL_SCN_UNTIL_NEW_LEADER,
	               .dflt = FL_SCN_UNTIL_DEADLINE,
	               .names = untils,
	               .names_only = true },
	{ NULL },
};

static const struct fl_target_op client_ops[] = {
	{ .name = "cluster_connect",
	  .args = connect_args,
	  .creates = "cluster_client",
	  .flags = FL_TARGET_OP_BLOCKS,
	  .fn = op_connect },
	{ .name = "cluster_close", .args = close_args, .fn = op_close },
	{ .name = "cluster_put", .args = kv_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_kv },
	{ .name = "cluster_get", .args = kv_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_kv },
	{ .name = "cluster_cas", .args = kv_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_kv },
	{ .name = "cluster_append", .args = kv_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_kv },
	{ .name = "cluster_poll", .args = poll_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_poll },
	{ NULL },
};

const struct fl_target fli_cluster_client_target = {
	.abi = FL_TARGET_ABI,
	.name = "cluster_client",
	.ops = client_ops,
	.kinds = client_kinds,
};

/* ---- the actor's end: no_orphaned_registrations ----------------------------------------- */

/* The connect step (or the client's duty) an add came from, by its
 * address. */
static const char *
add_origin(const struct fl_client_add_info *a)
{
	if (strcmp(a->channel, EGRESS_CHANNEL) == 0 && !a->publication)
		return "the connect's CREATE_EGRESS_SUB step";
	if (strcmp(a->channel, FL_CLUSTER_CHANNEL) == 0 && a->publication)
		return "the connect's CREATE_INGRESS_PUB step, or a failover's new ingress";
	return "no cluster client step";
}

/* The driver's count of the client's registrations (held and pending),
 * or -1 when its record is not found. */
static int64_t
driver_holds(struct run *r, uint64_t id)
{
	struct fl_stats st;

	if (fl_stats_read(r->ns, &st) != 0)
		return -1;
	for (int i = 0; i < st.client_count; i++)
		if (st.clients[i].client_id == id && st.clients[i].state == FL_CLIENT_ACTIVE)
			return st.clients[i].registrations + st.clients[i].pending_registrations;
	return -1;
}

static bool
checking(const struct run *r)
{
	return (r->s->properties & FL_SCN_PROP_NO_ORPHANED_REGISTRATIONS) != 0;
}

/* Every add of the cluster clients' pub/sub client is collected or
 * cancelled, and then (bounded) the driver holds nothing of it. */
static void
check_orphans(struct actor_run *ar)
{
	struct run *r = ar->run;
	fl_client *pc = ar->cluster_pc;
	struct fl_client_add_info adds[MAX_LISTED];
	int n = fl_client_outstanding_adds(pc, adds, MAX_LISTED);
	uint64_t deadline = fli_deadline_after_ms(r, 0);
	struct fl_idle idle = { 0 };
	int64_t held;

	if (n > 0) {
		char list[400] = "";

		for (int i = 0; i < n && i < MAX_LISTED; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
			         "%s%s %lld on %s stream %d (%s, %s)", i ? "; " : "",
			         adds[i].publication ? "publication" : "subscription",
			         (long long)adds[i].reg_id, adds[i].channel, adds[i].stream_id,
			         add_origin(&adds[i]),
			         adds[i].answered ? "held by the driver" : "still in flight");
		fli_run_fail(r, "no_orphaned_registrations",
		             "actor %s: %d add%s nobody collected or cancelled once its cluster "
		             "clients closed: %s",
		             ar->a->name, n, n == 1 ? "" : "s", list);
		return;
	}
	if (fl_client_status(pc) != 0 && !fli_run_faults_fired_for(ar)) {
		/* Dead with no fault to kill it: a bug of the client's or the
		 * driver's, and the driver's count cannot be judged. */
		fli_run_fail(r, "operations",
		             "actor %s: its cluster clients' pub/sub client is dead (%s) with no "
		             "fault injected: the driver's count of its registrations cannot be "
		             "judged",
		             ar->a->name, fl_errname(fl_client_status(pc)));
		return;
	}
	if (fl_client_status(pc) != 0) {
		/* Dead (a fault): the driver reclaims what it holds of it when
		 * it times it out; only the client's own books were judged. */
		fli_run_story(r,
		              "%s: its cluster clients' pub/sub client is dead (%s): the "
		              "driver's count of its registrations is not judged",
		              ar->a->name, fl_errname(fl_client_status(pc)));
		return;
	}
	/* Cancelled adds are the driver's to remove once it answered them.
	 * A remove the client said it lost (a fault at the command ring) is
	 * the driver's until the client closes: counted, not judged here. */
	while ((held = driver_holds(r, fl_client_id(pc))) >
	               (int64_t)__atomic_load_n(&ar->cluster_removes_lost, __ATOMIC_RELAXED) ||
	       held < 0) {
		if (held < 0) {
			/* Not judged is not a pass. */
			fli_run_fail(r, "harness",
			             "no_orphaned_registrations: the driver's record of actor %s's "
			             "cluster clients' pub/sub client could not be read",
			             ar->a->name);
			return;
		}
		if (fl_clock_now_ns() >= deadline) {
			fli_run_fail(r, "no_orphaned_registrations",
			             "actor %s: the driver still holds %lld registration%s of its "
			             "cluster clients' pub/sub client once they all closed (%u "
			             "remove%s lost to a fault, as the client said)",
			             ar->a->name, (long long)held, held == 1 ? "" : "s",
			             ar->cluster_removes_lost,
			             ar->cluster_removes_lost == 1 ? "" : "s");
			return;
		}
		fl_idle(&idle, fl_client_do_work(pc) > 0, deadline);
	}
}

void
fli_interp_client_close(struct actor_run *ar)
{
	struct run *r = ar->run;

	/* Only this actor's slots: another actor's objects (of any domain)
	 * are another thread's to touch (stress mode). */
	for (size_t i = 0; r->objs != NULL && i < r->s->object_count; i++) {
		struct cc_slot *s;

		if (r->s->objects[i].kind != FL_SCN_OBJ_CLUSTER_CLIENT ||
		    r->s->objects[i].actor != ar->index || (s = r->objs[i]) == NULL)
			continue;
		if (s->c != NULL)
			(void)fl_cluster_client_close(s->c);
		s->c = NULL;
		if (r->s->mode == FL_SCN_MODE_PROC) {
			/* This process's own, gone with it: freed here (in the
			 * run's process the teardown frees them). */
			free(s);
			r->objs[i] = NULL;
		}
	}
	if (ar->cluster_pc == NULL)
		return;
	if (checking(r) && !ar->crashed)
		check_orphans(ar);
	fl_client_close(ar->cluster_pc);
	ar->cluster_pc = NULL;
}

/* The run's end: the client objects' states. */
void
fli_interp_client_teardown(struct run *r)
{
	if (r->objs == NULL)
		return;
	for (size_t i = 0; i < r->s->object_count; i++)
		if (r->s->objects[i].kind == FL_SCN_OBJ_CLUSTER_CLIENT) {
			free(r->objs[i]);
			r->objs[i] = NULL;
		}
}
