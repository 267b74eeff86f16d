/*
 * The operation interpreter: what each scenario actor does, and the
 * embedded driver's liveness duty (reclaiming what crashed actors owned).
 *
 * Every wait is a duty-cycle loop over fl_idle with a deadline, so under
 * sim virtual time carries it and a missing peer is a timeout, never a
 * hang.  An operation that fails is a violation when the scenario injects
 * no faults (property "operations"); with faults configured, errors are the
 * expected outcome and the actor goes on to its clean-up operations: the
 * properties checked at the end decide the verdict.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "faultline/sim.h"

#include <sys/mman.h>

#include "run/run_internal.h"
#include "faultline/impl.h"

static uint32_t
total_actor_faults(struct run *r)
{
	uint32_t n = 0;

	for (size_t i = 0; i < r->s->actor_count; i++)
		n += __atomic_load_n(&r->actors[i].faults_fired, __ATOMIC_RELAXED);
	return n;
}

void
op_error(struct actor_run *ar, const struct fl_scenario_op *op, const char *what, int rv)
{
	struct run *r = ar->run;

	ar->op_errors++;
	if ((rv < 0 && rv >= FL_ERROR_MIN && (op->expect & FL_SCN_EXPECT_BIT(rv)) != 0) ||
	    r->sweep || op_fault_fired(ar)) {
		ar->op_errors_tolerated++;
		return;
	}
	if (r->faults_configured && __atomic_load_n(&r->driver_faults_fired, __ATOMIC_RELAXED) +
	                                    total_actor_faults(r) > 0)
		run_fail(r, "operations",
		         "actor %s: %s (line %d): %s: %s (no fault fired in this operation; if an "
		         "earlier fault causes it, declare it with expect: %s or expect: any)",
		         ar->a->name, fl_scenario_op_name(op->kind), op->line, what, fl_errname(rv),
		         fl_errname(rv));
	else
		run_fail(r, "operations", "actor %s: %s (line %d): %s: %s", ar->a->name,
		         fl_scenario_op_name(op->kind), op->line, what, fl_errname(rv));
}

bool
run_faults_fired_for(const struct actor_run *ar)
{
	return ar->run->sweep || __atomic_load_n(&ar->faults_fired, __ATOMIC_ACQUIRE) > 0 ||
	       __atomic_load_n(&ar->run->driver_faults_fired, __ATOMIC_ACQUIRE) > 0;
}

bool
op_fault_fired(const struct actor_run *ar)
{
	return __atomic_load_n(&ar->faults_fired, __ATOMIC_ACQUIRE) != ar->faults_at_op ||
	       __atomic_load_n(&ar->run->driver_faults_fired, __ATOMIC_ACQUIRE) != ar->driver_faults_at_op;
}

uint64_t
deadline_after_ms(struct run *r, uint32_t ms)
{
	uint64_t d = ms != 0 ? (uint64_t)ms * FL_NS_PER_MS : r->timeout_ns;
	return fl_clock_now_ns() + d;
}

/* Wait (with a deadline) until the driver actor has started. */
int
wait_driver(struct run *r)
{
	struct fl_idle st = { 0 };
	uint64_t deadline = fl_clock_now_ns() + r->timeout_ns;

	while (__atomic_load_n(&r->driver_state, __ATOMIC_ACQUIRE) == RUN_DRIVER_STARTING) {
		if (fl_clock_now_ns() >= deadline)
			return FL_ETIMEDOUT;
		fl_idle(&st, 0, deadline);
	}
	return __atomic_load_n(&r->driver_state, __ATOMIC_ACQUIRE) == RUN_DRIVER_READY ? 0 : FL_ENOENT;
}

static int
ensure_domain(struct actor_run *ar)
{
	int rv;

	if (ar->dom != NULL)
		return 0;
	rv = wait_driver(ar->run);
	if (rv != 0)
		return rv;
	return fl_rr_domain_open(ar->run->dir, ar->owner, &ar->dom);
}

/* Fill a payload so that the receiver can check it: byte i of message
 * `seq` is (seq * 31 + i) & 0xff. */
static void
fill(void *p, uint32_t len, uint64_t seq)
{
	unsigned char *b = p;

	for (uint32_t i = 0; i < len; i++)
		b[i] = (unsigned char)(seq * 31 + i);
}

static bool
check_fill(const void *p, uint32_t len, uint64_t seq)
{
	const unsigned char *b = p;

	for (uint32_t i = 0; i < len; i++)
		if (b[i] != (unsigned char)(seq * 31 + i))
			return false;
	return true;
}

/* What barrier_deadlock reads of the run: per actor, its waits_at word
 * (BARRIER_GONE once it finished or crashed), per barrier its arrivals. */
#define BARRIER_GONE UINT64_MAX
struct barrier_view {
	uint64_t waits_at[RUN_MAX_ACTORS];
	int arrived[RUN_MAX_BARRIERS];
};

static void
barrier_collect(struct run *r, struct barrier_view *v)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < r->s->actor_count && i < RUN_MAX_ACTORS; i++) {
		struct actor_run *a = &r->actors[i];

		if (__atomic_load_n(&a->finished, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&a->crashed, __ATOMIC_SEQ_CST))
			v->waits_at[i] = BARRIER_GONE;
		else
			v->waits_at[i] = __atomic_load_n(&a->waits_at, __ATOMIC_SEQ_CST);
	}
	for (int k = 0; k < r->nbarriers; k++)
		v->arrived[k] = __atomic_load_n(&r->barriers[k].arrived, __ATOMIC_SEQ_CST);
}

/*
 * Every actor that can still run waits at a barrier whose round cannot
 * complete (barriers crossed in opposite orders, or a peer that finished
 * or crashed before arriving): nothing can change, so the run is a
 * deadlock, named with each actor's barrier and line, rather than an op
 * error once the barrier's timeout passes.  The first actor to see it
 * records it; the others leave their barriers too.
 *
 * With free threads (stress, proc) the actors move while they are read:
 * one read waiting at a barrier may leave it when a peer read later
 * arrives there, and then wait elsewhere.  So the state is read twice and
 * judged only when both reads agree: every word read only ever changes to
 * a value it never had (arrivals count up, an actor waits at a (barrier,
 * round) once, finished and crashed stay), so two equal reads saw the
 * state as it was at one moment.  An actor between two barriers (0) is
 * never judged; one that keeps moving is not deadlocked.
 */
static bool
barrier_deadlock(struct run *r)
{
	struct barrier_view v, again;
	char detail[480];
	size_t off = 0;
	int waiting = 0;

	if (__atomic_load_n(&r->deadlocked, __ATOMIC_SEQ_CST))
		return true;
	barrier_collect(r, &v);
	for (size_t i = 0; i < r->s->actor_count && i < RUN_MAX_ACTORS; i++) {
		uint64_t w = v.waits_at[i];

		if (w == BARRIER_GONE)
			continue;
		if (w == 0)
			return false; /* it may still arrive somewhere */
		int at = (int)(w >> 32);
		if (v.arrived[at - 1] >= (int)(uint32_t)w * r->barriers[at - 1].expected)
			return false; /* its round completed: it goes on */
		waiting++;
	}
	if (waiting == 0)
		return false;
	barrier_collect(r, &again);
	if (memcmp(&v, &again, sizeof(v)) != 0)
		return false; /* something moved: judge another time */
	for (size_t i = 0; i < r->s->actor_count && i < RUN_MAX_ACTORS && off < sizeof(detail) - 1;
	     i++) {
		struct actor_run *a = &r->actors[i];
		uint64_t w = v.waits_at[i];
		int n;

		if (w == BARRIER_GONE)
			n = snprintf(detail + off, sizeof(detail) - off, "%s%s %s", off ? "; " : "",
			             a->a->name,
			             __atomic_load_n(&a->crashed, __ATOMIC_SEQ_CST) ? "crashed" : "finished");
		else
			n = snprintf(detail + off, sizeof(detail) - off,
			             "%s%s waits at barrier '%s' (line %d)", off ? "; " : "", a->a->name,
			             r->barriers[(w >> 32) - 1].name,
			             __atomic_load_n(&a->last_op_line, __ATOMIC_RELAXED));
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!__atomic_exchange_n(&r->deadlocked, true, __ATOMIC_SEQ_CST))
		run_fail(r, "deadlock", "no barrier can complete: %s", detail);
	return true;
}

static void
do_barrier(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct run *r = ar->run;
	struct barrier *b = NULL;
	struct fl_idle st = { 0 };
	uint64_t deadline = deadline_after_ms(r, 0);
	uint32_t round = 0;

	for (int i = 0; i < r->nbarriers; i++) {
		if (strcmp(r->barriers[i].name, op->u.barrier.name) == 0) {
			b = &r->barriers[i];
			round = ++ar->barrier_rounds[i];
		}
	}
	if (b == NULL)
		return;
	/* Arrive first, then say where it waits: a peer that sees it waiting
	 * sees its arrival counted too (barrier_deadlock). */
	__atomic_add_fetch(&b->arrived, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ar->waits_at, (uint64_t)(b - r->barriers + 1) << 32 | round,
	                 __ATOMIC_SEQ_CST);
	fl_idle(&st, 1, FL_DEADLINE_NONE); /* arriving is progress for the others */
	/* Round k completes when every actor of the barrier arrived k times
	 * (actors with `repeat:` pass the same barrier once a round). */
	while (__atomic_load_n(&b->arrived, __ATOMIC_SEQ_CST) < (int)round * b->expected) {
		if (barrier_deadlock(r)) {
			__atomic_store_n(&ar->waits_at, 0, __ATOMIC_SEQ_CST);
			return;
		}
		if (fl_clock_now_ns() >= deadline) {
			/* A peer died or is stuck: do not wait forever. */
			__atomic_store_n(&ar->waits_at, 0, __ATOMIC_SEQ_CST);
			op_error(ar, op, op->u.barrier.name, FL_ETIMEDOUT);
			return;
		}
		fl_idle(&st, 0, deadline);
	}
	__atomic_store_n(&ar->waits_at, 0, __ATOMIC_SEQ_CST);
}

/* Does server or connection object `obj` need a socket (faultline/aio.h):
 * a context is opened on it, or a context helper requests through it?
 * Such an object is the socket (a port of its own, served by its worker);
 * plain take/send on it is not possible. */
static bool
needs_sock(const struct fl_scenario *s, int obj)
{
	for (size_t i = 0; i < s->actor_count; i++) {
		for (size_t j = 0; j < s->actors[i].op_count; j++) {
			const struct fl_scenario_op *op = &s->actors[i].ops[j];

			if (op->kind == FL_SCN_OP_CTX_OPEN && op->u.ctx.on == obj)
				return true;
			if (op->kind == FL_SCN_OP_REQUEST && op->u.request.conn == obj &&
			    op->u.request.impl != NULL &&
			    fl_impl_find(op->u.request.impl)->kind == FL_IMPL_CTX_REQUEST)
				return true;
		}
	}
	return false;
}

/*
 * Sockets and contexts are opened on a socket and closed under one lock.
 * A context's handle belongs to the actor that opened it, its socket's
 * to the actor that opened the socket; closing the socket closes and
 * frees the contexts still open on it.  So when two actors close (one its
 * context, the other the socket, or both their clients), each could take
 * the same context handle, one of them then closing what the other freed,
 * and one actor's close_sock wrote the other's slots while that one read
 * them.  Under the lock a handle is taken and closed by one actor, a
 * socket is never closed under a ctx_open, and the table's slots are
 * written (a socket opened, a socket or context closed) under it.
 * Process-local, not in the shared struct run: in proc mode each process
 * closes only its own.  fl_mutex yields to the other actors under sim.
 */
static fl_mutex close_mu = { PTHREAD_MUTEX_INITIALIZER };

/* The socket table's slot for object obj: its socket is sock (NULL: its
 * open failed).  Other actors read it under close_mu (obj_sock, ctx_open). */
static void
set_sock(struct run *r, int obj, fl_sock *sock)
{
	fl_mutex_lock(&close_mu);
	r->socks[obj] = sock;
	fl_mutex_unlock(&close_mu);
}

/* The socket of object `obj`, or NULL (an op error) when it has none. */
static fl_sock *
obj_sock(struct actor_run *ar, const struct fl_scenario_op *op, int obj)
{
	struct run *r = ar->run;
	fl_sock *sock;

	fl_mutex_lock(&close_mu);
	sock = r->socks[obj];
	fl_mutex_unlock(&close_mu);
	if (sock == NULL)
		op_error(ar, op, r->s->objects[obj].name, FL_ESTATE); /* its open failed */
	return sock;
}

/* offer_service/connect_service {expect: FL_E...}: the open must fail with
 * that code (a pool exhausted is a clear error).  Returns true when the
 * outcome was handled here. */
static bool
expected_open(struct actor_run *ar, const struct fl_scenario_op *op, int rv)
{
	int want = op->u.service.expect;

	if (want == 0)
		return false;
	if (rv == want)
		return true;
	if (rv != 0) {
		op_error(ar, op, op->u.service.service, rv);
		return true;
	}
	/* Excused only where a fault in this very open may have changed what
	 * it found, or in a sweep run. */
	if (!ar->run->sweep && !op_fault_fired(ar))
		run_fail(ar->run, "operations", "actor %s: %s (line %d): expected %s, but it succeeded",
		         ar->a->name, fl_scenario_op_name(op->kind), op->line, fl_errname(want));
	return false; /* keep what opened, so close_client closes it */
}

static void
do_offer_service(struct actor_run *ar, const struct fl_scenario_op *op)
{
	fl_rr_server *srv;
	int rv = ensure_domain(ar);

	if (rv == 0 && needs_sock(ar->run->s, op->u.service.as)) {
		fl_sock *sock = NULL;

		rv = fl_sock_open_rep(&sock, ar->dom, op->u.service.service);
		set_sock(ar->run, op->u.service.as, sock);
		srv = (fl_rr_server *)sock; /* only a mark */
	} else if (rv == 0 && op->u.service.impl != NULL) {
		rv = fl_impl_find(op->u.service.impl)->fn.server_open(ar->dom, op->u.service.service,
		                                                       &srv);
	} else if (rv == 0) {
		rv = fl_rr_server_open(ar->dom, op->u.service.service, &srv);
	}
	if (expected_open(ar, op, rv))
		return;
	if (rv != 0) {
		op_error(ar, op, op->u.service.service, rv);
		return;
	}
	ar->run->objs[op->u.service.as] = srv;
}

static void
do_connect_service(struct actor_run *ar, const struct fl_scenario_op *op)
{
	fl_rr_client *cl;
	int rv = ensure_domain(ar);

	if (rv == 0 && needs_sock(ar->run->s, op->u.service.as)) {
		fl_sock *sock = NULL;

		rv = fl_sock_open_req(&sock, ar->dom, op->u.service.service);
		set_sock(ar->run, op->u.service.as, sock);
		cl = (fl_rr_client *)sock; /* only a mark */
	} else if (rv == 0) {
		rv = fl_rr_client_open(ar->dom, op->u.service.service, &cl);
	}
	if (expected_open(ar, op, rv))
		return;
	if (rv != 0) {
		op_error(ar, op, op->u.service.service, rv);
		return;
	}
	ar->run->objs[op->u.service.as] = cl;
}

static void
do_ctx_open(struct actor_run *ar, const struct fl_scenario_op *op)
{
	fl_sock *sock;
	fl_ctx *c;
	int rv;

	/* Opened under the lock: the socket's owner may be closing it. */
	fl_mutex_lock(&close_mu);
	sock = ar->run->socks[op->u.ctx.on];
	rv = sock != NULL ? fl_ctx_open(&c, sock) : FL_ESTATE;
	if (rv == 0)
		ar->run->objs[op->u.ctx.ctx] = c;
	fl_mutex_unlock(&close_mu);
	if (sock == NULL)
		op_error(ar, op, ar->run->s->objects[op->u.ctx.on].name, FL_ESTATE); /* its open failed */
	else if (rv != 0)
		op_error(ar, op, "ctx_open", rv);
}

/* Closing cancels the context's pending operations and waits for their
 * callbacks (another actor's request may be waiting on it).  Under
 * close_mu. */
static void
close_ctx(struct run *r, size_t obj)
{
	fl_ctx_close(r->objs[obj]);
	r->objs[obj] = NULL;
}

static void
do_ctx_close(struct actor_run *ar, const struct fl_scenario_op *op)
{
	fl_mutex_lock(&close_mu);
	close_ctx(ar->run, (size_t)op->u.ctx.ctx);
	fl_mutex_unlock(&close_mu);
}

/* Close object `obj`'s socket: the contexts still open on it are closed
 * with it, so their handles are forgotten.  Under close_mu. */
static void
close_sock(struct run *r, size_t obj)
{
	if (r->socks[obj] == NULL)
		return;
	for (size_t i = 0; i < r->s->object_count; i++) {
		const struct fl_scenario_object *o = &r->s->objects[i];

		if (o->kind == FL_SCN_OBJ_CTX &&
		    r->s->actors[o->actor].ops[o->op].u.ctx.on == (fl_scn_ref)obj)
			r->objs[i] = NULL;
	}
	fl_sock_close(r->socks[obj]);
	r->socks[obj] = NULL;
}

/* Sends the message aio a carries on context c and waits for the send to
 * finish.  A failed send gives the message back: it is freed here and the
 * failure counted as an op error.  Returns the send's result. */
static int
ctx_send_wait(struct actor_run *ar, const struct fl_scenario_op *op, fl_ctx *c, fl_aio *a)
{
	int rv = fl_ctx_send(c, a);

	if (rv != 0) {
		fl_msg_free(fl_aio_get_msg(a));
		op_error(ar, op, "send", rv);
		return rv;
	}
	fl_aio_wait(a); /* the send took the message */
	return 0;
}

/* Receives on context c through aio a and waits: the receive's result
 * (0: the message is in a, the caller's to free). */
static int
ctx_recv_wait(fl_ctx *c, fl_aio *a)
{
	int rv = fl_ctx_recv(c, a);

	if (rv == 0) {
		fl_aio_wait(a);
		rv = fl_aio_result(a);
	}
	return rv;
}

/* request {ctx}: each request is a message sent on the context and its
 * reply received there, through one aio with the request's deadline. */
static void
ctx_requests(struct actor_run *ar, const struct fl_scenario_op *op, fl_ctx *c, uint32_t size)
{
	struct run *r = ar->run;
	const struct fl_scn_op_request *q = &op->u.request;
	fl_aio *a;
	int rv = fl_aio_alloc(&a, NULL, NULL);

	if (rv != 0) {
		op_error(ar, op, "aio", rv);
		return;
	}
	fl_aio_set_timeout(a, q->deadline_ms != 0 ? (uint64_t)q->deadline_ms * FL_NS_PER_MS
	                                          : r->timeout_ns);
	for (uint32_t i = 0; i < q->count; i++) {
		fl_msg *m;

		FL_SCHED_POINT("scenario.request");
		rv = fl_msg_alloc(&m, size);
		if (rv != 0) {
			op_error(ar, op, "msg", rv);
			continue;
		}
		fill(fl_msg_body(m), size, i);
		fl_aio_set_msg(a, m);
		if (ctx_send_wait(ar, op, c, a) != 0)
			continue;
		rv = ctx_recv_wait(c, a);
		if (rv != 0) {
			op_error(ar, op, "recv", rv);
			continue;
		}
		m = fl_aio_get_msg(a);
		if (fl_msg_len(m) != size || !check_fill(fl_msg_body(m), size, i))
			run_fail(r, "delivery", "actor %s: the reply to request %u on its context does not match it",
			         ar->a->name, i);
		fl_msg_free(m);
	}
	fl_aio_free(a);
}

/* request {impl}: a fixture helper does each request. */
static void
impl_requests(struct actor_run *ar, const struct fl_scenario_op *op, fl_rr_client *cl,
              uint32_t size)
{
	struct run *r = ar->run;
	const struct fl_scn_op_request *q = &op->u.request;
	const struct fl_impl *f = fl_impl_find(q->impl);
	fl_sock *sock = NULL;

	if (f->kind == FL_IMPL_CTX_REQUEST && (sock = obj_sock(ar, op, q->conn)) == NULL)
		return;
	for (uint32_t i = 0; i < q->count; i++) {
		uint64_t deadline = deadline_after_ms(r, q->deadline_ms);
		int rv;

		FL_SCHED_POINT("scenario.request");
		if (f->kind == FL_IMPL_CTX_REQUEST)
			rv = f->fn.ctx_request(sock, size, deadline - fl_clock_now_ns());
		else
			rv = f->fn.rr_request(ar->dom, cl, size, deadline);
		/* A helper that gave up on purpose says FL_ECANCELED. */
		if (rv != 0 && rv != FL_ECANCELED)
			op_error(ar, op, q->impl, rv);
	}
}

static void
do_request(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct run *r = ar->run;
	const struct fl_scn_op_request *q = &op->u.request;
	fl_rr_client *cl = q->conn >= 0 ? r->objs[q->conn] : NULL;
	uint32_t size = q->size != 0 ? q->size : 32;

	if (cl == NULL) {
		op_error(ar, op, "no connection", FL_ESTATE);
		return;
	}
	if (q->ctx >= 0) {
		if (r->objs[q->ctx] == NULL)
			op_error(ar, op, "no context", FL_ESTATE);
		else
			ctx_requests(ar, op, r->objs[q->ctx], size);
		return;
	}
	if (q->impl != NULL) {
		impl_requests(ar, op, cl, size);
		return;
	}
	if (r->socks[q->conn] != NULL) {
		op_error(ar, op, "a connection with contexts takes requests on a context", FL_ESTATE);
		return;
	}
	for (uint32_t i = 0; i < q->count; i++) {
		fl_chunk req, resp;
		uint64_t seq, lost, deadline = deadline_after_ms(r, q->deadline_ms);
		int rv;

		FL_SCHED_POINT("scenario.request");
		rv = fl_rr_client_loan(cl, size, deadline, &req);
		if (rv != 0) {
			op_error(ar, op, "loan", rv);
			continue;
		}
		req.len = size;
		fill(req.data, size, i);
		rv = fl_rr_client_send(cl, &req, deadline, &seq);
		if (rv != 0) {
			fl_rr_release(ar->dom, &req); /* a failed send gives it back */
			op_error(ar, op, "send", rv);
			continue;
		}
		/* A response or an expiry notice for a request this actor already
		 * gave up on may come first: release or skip it and keep waiting
		 * for this request's answer (sequence ids only grow). */
		for (;;) {
			lost = 0;
			rv = fl_rr_client_wait(cl, deadline, &resp, &lost);
			if (rv == 0 && resp.seq < seq) {
				fl_rr_release(ar->dom, &resp);
				continue;
			}
			if ((rv == FL_ETIMEDOUT || rv == FL_ECRASHED) && lost != 0 && lost < seq &&
			    fl_clock_now_ns() < deadline)
				continue;
			break;
		}
		if (rv != 0) {
			fl_rr_client_forget(cl, seq);
			op_error(ar, op, "wait", rv);
			continue;
		}
		if (resp.seq != seq || resp.len != size || !check_fill(resp.data, size, i))
			run_fail(r, "delivery", "actor %s: response %llu does not match request %llu",
			         ar->a->name, (unsigned long long)resp.seq, (unsigned long long)seq);
		rv = fl_rr_release(ar->dom, &resp);
		if (rv != 0)
			run_fail(r, "chunks_balanced", "actor %s: releasing response %llu: %s",
			         ar->a->name, (unsigned long long)resp.seq, fl_errname(rv));
	}
}

/* respond {ctx}: receive each request on the REP context and send it
 * back as the reply; the receive waits up to the scenario's timeout. */
static void
ctx_responses(struct actor_run *ar, const struct fl_scenario_op *op, fl_ctx *c)
{
	fl_aio *a;
	int rv = fl_aio_alloc(&a, NULL, NULL);

	if (rv != 0) {
		op_error(ar, op, "aio", rv);
		return;
	}
	fl_aio_set_timeout(a, ar->run->timeout_ns);
	for (uint32_t done = 0; done < op->u.respond.count; done++) {
		rv = ctx_recv_wait(c, a);
		if (rv != 0) {
			op_error(ar, op, "recv", rv);
			break;
		}
		FL_SCHED_POINT("scenario.respond");
		fl_aio_set_msg(a, fl_aio_get_msg(a)); /* the request, echoed */
		(void)ctx_send_wait(ar, op, c, a);
	}
	fl_aio_free(a);
}

static void
do_respond(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct run *r = ar->run;
	fl_rr_server *srv = op->u.respond.server >= 0 ? r->objs[op->u.respond.server] : NULL;
	struct fl_idle st = { 0 };
	uint32_t done = 0;
	uint64_t deadline = deadline_after_ms(r, 0);

	if (srv == NULL) {
		op_error(ar, op, "no server", FL_ESTATE);
		return;
	}
	if (op->u.respond.ctx >= 0) {
		if (r->objs[op->u.respond.ctx] == NULL)
			op_error(ar, op, "no context", FL_ESTATE);
		else
			ctx_responses(ar, op, r->objs[op->u.respond.ctx]);
		return;
	}
	if (r->socks[op->u.respond.server] != NULL) {
		op_error(ar, op, "a server with contexts answers on a context", FL_ESTATE);
		return;
	}
	while (done < op->u.respond.count) {
		fl_chunk req, resp;
		int rv = fl_rr_server_take(srv, &req);

		if (rv == FL_EAGAIN) {
			if (fl_clock_now_ns() >= deadline) {
				op_error(ar, op, "take", FL_ETIMEDOUT);
				return;
			}
			fl_idle(&st, 0, deadline);
			continue;
		}
		if (rv != 0) {
			op_error(ar, op, "take", rv);
			return;
		}
		FL_SCHED_POINT("scenario.respond");
		rv = fl_rr_server_loan(srv, req.len, deadline, &resp);
		if (rv == 0) {
			memcpy(resp.data, req.data, req.len);
			resp.len = req.len;
			rv = fl_rr_server_send(srv, &req, &resp);
			if (rv != 0) {
				fl_rr_release(ar->dom, &resp);
				op_error(ar, op, "send", rv);
			}
		} else {
			op_error(ar, op, "loan", rv);
		}
		fl_rr_release(ar->dom, &req);
		done++;
		fl_idle(&st, 1, FL_DEADLINE_NONE);
	}
}

/* close_client: close every object this actor created, newest first, then
 * unmap the domain.  What is still loaned after that is a leak. */
static void
do_close_client(struct actor_run *ar)
{
	struct run *r = ar->run;

	for (size_t i = r->s->object_count; i-- > 0;) {
		const struct fl_scenario_object *o = &r->s->objects[i];

		if (o->actor != ar->index)
			continue;
		if (o->kind == FL_SCN_OBJ_CTX || r->socks[i] != NULL) {
			fl_mutex_lock(&close_mu);
			if (r->socks[i] != NULL) {
				close_sock(r, i);
				r->objs[i] = NULL;
			} else if (r->objs[i] != NULL) {
				close_ctx(r, i);
			}
			fl_mutex_unlock(&close_mu);
			continue;
		}
		/* Publications, subscriptions and images are interp_pubsub's
		 * (below): a subscription's state was leaked when its slot was
		 * cleared here first (LeakSanitizer, pubsub-async-cancel). */
		if (r->objs[i] == NULL ||
		    (o->kind != FL_SCN_OBJ_SERVER && o->kind != FL_SCN_OBJ_CONNECTION))
			continue;
		if (o->kind == FL_SCN_OBJ_SERVER)
			fl_rr_server_close(r->objs[i]);
		else
			fl_rr_client_close(r->objs[i]);
		r->objs[i] = NULL;
	}
	if (ar->dom != NULL) {
		fl_rr_domain_close(ar->dom);
		ar->dom = NULL;
	}
	if (r->pubsub)
		interp_pubsub_close(ar);
}

static void
crash_self(struct actor_run *ar)
{
	ar->crashed = true;
	ar->crashed_at_ns = fl_clock_now_ns();
	/* A process actor dies for real, holding what it holds (it used to
	 * return and go on with its next operations). */
	if (ar->run->s->mode == FL_SCN_MODE_PROC)
		kill(getpid(), SIGKILL);
	fl_sim_crash_current();
}

static void
run_op(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct fl_idle st = { 0 };

	__atomic_store_n(&ar->last_op_line, op->line, __ATOMIC_RELAXED); /* barrier_deadlock reads it */
	run_story(ar->run, "%s: %s (line %d)", ar->a->name, fl_scenario_op_name(op->kind), op->line);
	switch (op->kind) {
	case FL_SCN_OP_OFFER_SERVICE:
	case FL_SCN_OP_CONNECT_SERVICE:
	case FL_SCN_OP_CTX_OPEN:
		ar->last_port_line = op->line;
		ar->last_port_op = (int)op->kind;
		break;
	case FL_SCN_OP_REQUEST:
	case FL_SCN_OP_RESPOND:
		ar->last_loan_line = op->line;
		ar->last_loan_op = (int)op->kind;
		break;
	default:
		break;
	}
	ar->faults_at_op = __atomic_load_n(&ar->faults_fired, __ATOMIC_ACQUIRE);
	ar->driver_faults_at_op = __atomic_load_n(&ar->run->driver_faults_fired, __ATOMIC_ACQUIRE);

	switch (op->kind) {
	case FL_SCN_OP_WAIT:
		fl_idle_sleep_until(fl_clock_now_ns() + (uint64_t)op->u.wait.ms * FL_NS_PER_MS);
		break;
	case FL_SCN_OP_BARRIER:
		do_barrier(ar, op);
		break;
	case FL_SCN_OP_CRASH_SELF:
		crash_self(ar);
		break;
	case FL_SCN_OP_CLOSE_CLIENT:
		do_close_client(ar);
		break;
	case FL_SCN_OP_OFFER_SERVICE:
		do_offer_service(ar, op);
		break;
	case FL_SCN_OP_CONNECT_SERVICE:
		do_connect_service(ar, op);
		break;
	case FL_SCN_OP_REQUEST:
		do_request(ar, op);
		break;
	case FL_SCN_OP_RESPOND:
		do_respond(ar, op);
		break;
	case FL_SCN_OP_CTX_OPEN:
		do_ctx_open(ar, op);
		break;
	case FL_SCN_OP_CTX_CLOSE:
		do_ctx_close(ar, op);
		break;
	default:
		if (interp_pubsub_op(ar, op))
			break;
		/* fl_runner_unsupported refuses such scenarios before a run. */
		run_fail(ar->run, "operations", "actor %s: %s (line %d) is not supported by this build",
		         ar->a->name, fl_scenario_op_name(op->kind), op->line);
		break;
	}
	fl_idle(&st, 1, FL_DEADLINE_NONE); /* an operation finished: progress */
}

/* Run the op list `repeat` times; the client closes when the ops end
 * (docs/scenario-format.md), as a process's client would at exit.  What its transport
 * objects still hold after that close is what the audit reports. */
void
interp_actor_main(void *arg)
{
	struct actor_run *ar = arg;
	uint32_t repeat = ar->a->repeat ? ar->a->repeat : 1;

	if (ar->run->threaded)
		runner_set_thread_actor(ar);

	for (uint32_t k = 0; k < repeat; k++) {
		for (size_t i = 0; i < ar->a->op_count; i++) {
			ar->op = (int)i;
			run_op(ar, &ar->a->ops[i]);
			if (ar->run->check_each_step)
				audit_step(ar, (int)i, k);
		}
	}
	do_close_client(ar);
	if (ar->run->check_each_step)
		audit_step(ar, -1, repeat);
	if (ar->run->s->mode == FL_SCN_MODE_PROC) {
		/* This process's counts die with it: hand them to the audit. */
		audit_aio_since(ar->run, &ar->aio_delta);
	}
	__atomic_store_n(&ar->finished, true, __ATOMIC_RELEASE);
}

/*
 * The embedded driver actor.  It starts the pub/sub driver (when the
 * scenario needs it) and the request/response domain inside the sim, so
 * every timestamp they take is virtual; serves commands; reclaims what
 * crashed actors owned once client_liveness_ms has passed (request/response;
 * the pub/sub driver times out its own clients); and, once every actor is
 * done, drains until the driver holds nothing or the drain deadline (linger
 * + liveness + 1 s) passes, so the audit sees the settled state.
 */
/* The embedded driver's duty cycle when nothing wakes it: a tenth of the
 * client liveness (so timeouts land within 10 % of it), at most 100 ms, as
 * the driver's own conductor does.  Commands wake it at once (a client's
 * write is work).  Under sim every tick is a scheduling step: a 10 ms
 * tick made a 1000 s virtual wait 10^5 steps. */
#define DRIVER_DUTY_MAX_NS (100ull * FL_NS_PER_MS)
#define DRIVER_DUTY_MIN_NS (1ull * FL_NS_PER_MS)

/* Transitional, see interp_pubsub.c: the pub/sub driver is referenced
 * weakly until the transport lands; fl_runner_unsupported keeps scenarios
 * that need it from running without it. */
#pragma weak fl_driver_ctx_init
#pragma weak fl_driver_start
#pragma weak fl_driver_do_work

static int
driver_start(struct run *r)
{
	struct stat st;
	int rv;

	/* A run's namespace is guessable (run-<pid>-<n>): whatever is there
	 * already, another user's link or directory or a dead run's, is never
	 * adopted.  The runner picked a free name; this catches one taken
	 * since, and fresh_dir / mkdir catch one taken after this check. */
	if (lstat(r->dir, &st) == 0) {
		r->dir_taken = true;
		return FL_EEXIST;
	}
	if (r->pubsub) {
		struct fl_driver_ctx ctx;

		fl_driver_ctx_init(&ctx);
		ctx.ns = r->ns;
		ctx.no_thread = true;
		ctx.client_liveness_ns = r->liveness_ns;
		ctx.publication_linger_ns = r->linger_ns;
		ctx.term_length = r->s->driver.term_length;
		ctx.fresh_dir = true;
		rv = fl_driver_start(&ctx, (fl_driver **)&r->driver);
		if (rv == FL_EEXIST || rv == FL_EPERM)
			r->dir_taken = true;
		if (rv != 0)
			return rv;
	} else if (mkdir(r->dir, 0700) != 0) {
		r->dir_taken = errno == EEXIST;
		return errno == EEXIST ? FL_EEXIST : FL_EIO;
	}
	/* Pub/sub-only runs have no request/response domain: creating its
	 * chunk pools (9 MiB of fresh shm) was most of such a run's cost. */
	if (!r->reqrep)
		return 0;
	/* driver.ports defaults to 64: a scenario run needs far fewer than
	 * the transport's 512 ports a pool, and initialising their queues is
	 * most of the cost of a short run (page faults on fresh shm). */
	struct fl_rr_config rrcfg = { .chunk_spec = r->s->driver.chunks,
		                      .server_ports = r->s->driver.ports,
		                      .client_ports = r->s->driver.ports };
	rv = fl_rr_domain_create(r->dir, &rrcfg, &r->driver_dom);
	if (rv == FL_EEXIST) /* the driver's request/response extension made it */
		rv = fl_rr_domain_open(r->dir, 1, &r->driver_dom);
	return rv;
}

void
interp_driver_main(void *arg)
{
	struct run *r = arg;
	struct fl_idle st = { 0 };
	uint64_t drain_until = 0, next_quiet_check = 0;
	uint64_t duty = r->liveness_ns / 10;
	int rv = driver_start(r);

	if (duty > DRIVER_DUTY_MAX_NS)
		duty = DRIVER_DUTY_MAX_NS;
	if (duty < DRIVER_DUTY_MIN_NS)
		duty = DRIVER_DUTY_MIN_NS;

	if (rv != 0) {
		/* Under injected faults a driver that refuses to start cleanly
		 * is correct behaviour; without faults it is a failure. */
		if (r->dir_taken)
			run_fail(r, "harness",
			         "%s existed before the run (another user's, or left behind): a run "
			         "never adopts an existing run directory",
			         r->dir);
		else if (__atomic_load_n(&r->driver_faults_fired, __ATOMIC_ACQUIRE) == 0)
			run_fail(r, "driver", "the driver did not start: %s", fl_errname(rv));
		__atomic_store_n(&r->driver_state, RUN_DRIVER_FAILED, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&r->driver_state, RUN_DRIVER_READY, __ATOMIC_RELEASE);
	for (;;) {
		bool live = false;
		uint64_t next = FL_DEADLINE_NONE, now = fl_clock_now_ns();
		int work = 0;

		if (r->driver != NULL) {
			int w = fl_driver_do_work(r->driver);
			if (w > 0)
				work += w;
		}
		for (size_t i = 0; i < r->s->actor_count; i++) {
			struct actor_run *ar = &r->actors[i];

			if (ar->crashed && !ar->reclaimed) {
				uint64_t due = ar->crashed_at_ns + r->liveness_ns;
				if (now >= due) {
					uint32_t ports = 0, chunks = 0;
					if (r->driver_dom != NULL)
						fl_rr_reclaim_owner(r->driver_dom, ar->owner, &ports, &chunks);
					ar->reclaimed = true;
					work++;
				} else {
					live = true;
					if (due < next)
						next = due;
				}
			} else if (!__atomic_load_n(&ar->finished, __ATOMIC_ACQUIRE) && !ar->crashed) {
				live = true;
			}
		}
		if (!live) {
			if (r->driver == NULL)
				break;
			if (drain_until == 0)
				drain_until = now + r->linger_ns + r->liveness_ns + FL_NS_PER_SEC;
			if (now >= drain_until)
				break;
			if (now >= next_quiet_check) {
				if (interp_pubsub_quiet(r))
					break;
				next_quiet_check = now + 50 * FL_NS_PER_MS;
			}
		}
		if (r->driver != NULL && now + duty < next)
			next = now + duty;
		fl_idle(&st, work, next);
	}
	__atomic_store_n(&r->driver_state, RUN_DRIVER_DONE, __ATOMIC_RELEASE);
}

int
interp_setup(struct run *r)
{
	const struct fl_scenario *s = r->s;

	r->objs = calloc(s->object_count + 1, sizeof(void *));
	r->socks = calloc(s->object_count + 1, sizeof(fl_sock *));
	r->sent = calloc(s->object_count + 1, sizeof(uint32_t));
	r->sessions_len = (s->object_count + 1) * sizeof(int64_t);
	r->sessions = mmap(NULL, r->sessions_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                   -1, 0);
	if (r->sessions == MAP_FAILED)
		r->sessions = NULL;
	if (r->objs == NULL || r->socks == NULL || r->sent == NULL || r->sessions == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i <= s->object_count; i++)
		r->sessions[i] = RUN_NO_SESSION;
	fl_aio_debug_read(&r->aio_base);
	for (size_t i = 0; i < s->actor_count && i < RUN_MAX_ACTORS; i++) {
		struct actor_run *ar = &r->actors[i];

		ar->run = r;
		ar->index = (int)i;
		ar->a = &s->actors[i];
		ar->owner = 100 + i;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->actors[j].client ? s->actors[j].client : s->actors[j].name,
			           ar->a->client ? ar->a->client : ar->a->name) == 0)
				ar->owner = r->actors[j].owner;
		for (size_t j = 0; j < ar->a->op_count; j++) {
			const struct fl_scenario_op *op = &ar->a->ops[j];
			int k;

			if (op->kind != FL_SCN_OP_BARRIER)
				continue;
			for (k = 0; k < r->nbarriers; k++)
				if (strcmp(r->barriers[k].name, op->u.barrier.name) == 0)
					break;
			if (k == r->nbarriers) {
				if (r->nbarriers == RUN_MAX_BARRIERS)
					continue;
				r->barriers[r->nbarriers++] = (struct barrier){ .name = op->u.barrier.name };
			}
			/* An actor counts once per name, however often it waits. */
			bool seen = false;
			for (size_t m = 0; m < j; m++)
				seen = seen || (ar->a->ops[m].kind == FL_SCN_OP_BARRIER &&
				                strcmp(ar->a->ops[m].u.barrier.name, op->u.barrier.name) == 0);
			if (!seen)
				r->barriers[k].expected++;
		}
	}
	return 0;
}

void
interp_teardown(struct run *r)
{
	/* Objects of actors that finished without close_client stay open: a
	 * leak the audit reports.  Close them now so the next run starts clean
	 * (the run directory is removed by the runner in any case). */
	r->pubsub = false; /* pub/sub clients closed inside the sim, or died there */
	for (size_t i = 0; i < r->s->actor_count; i++)
		if (!r->actors[i].crashed)
			do_close_client(&r->actors[i]);
	free(r->objs);
	free(r->socks);
	free(r->sent);
	if (r->sessions != NULL)
		munmap(r->sessions, r->sessions_len);
	r->sessions = NULL;
	r->objs = NULL;
	r->socks = NULL;
	r->sent = NULL;
}

void
run_story(struct run *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (!r->narrate)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	uint32_t at = __atomic_fetch_add(&r->story_len, (uint32_t)n, __ATOMIC_RELAXED);
	if (at + (uint32_t)n < sizeof(r->story))
		memcpy(r->story + at, line, (size_t)n);
}

void
run_fail(struct run *r, const char *property, const char *fmt, ...)
{
	va_list ap;

	/* Stress actors are real threads: the first to fail wins. */
	if (__atomic_exchange_n(&r->failed, true, __ATOMIC_SEQ_CST))
		return;
	snprintf(r->property, sizeof(r->property), "%s", property);
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}
