/*
 * The request/response domain's operations: services, connections,
 * requests and responses on plain ports or on contexts (faultline/aio.h),
 * and the helpers scenarios name with `impl:`.  Every wait has a
 * deadline; see interp.c.
 *
 * Its ops are declared as a target's are (faultline/target.h: names,
 * typed arguments with ranges, the kinds they create and close), so the
 * loader reads them as it reads any target's and the domain calls each
 * op's fn; what a library's target has no use for (the actor's own
 * client, the run's object slots, the audits of ports and chunks) the
 * fns find in the actor and op being run (fli_builtin_cur).
 */
#include <stdio.h>
#include <string.h>

#include "faultline/aio.h"
#include "faultline/error.h"
#include "faultline/impl.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "faultline/target.h"

#include "run/run_internal.h"
#include "scenario/loader.h" /* MAX_COUNT, MAX_MSG_SIZE: the loader's limits */

/* The index of each op's arguments in its declaration (reqrep_ops). */
enum { SV_SERVICE, SV_IMPL };
enum { RQ_CONN, RQ_CTX, RQ_COUNT, RQ_SIZE, RQ_IMPL };
enum { RS_SERVER, RS_CTX, RS_COUNT, RS_IMPL };
enum { CO_ON };
enum { CC_CTX };

static int
ensure_domain(struct actor_run *ar)
{
	int rv;

	if (ar->dom != NULL)
		return 0;
	rv = fli_wait_driver(ar->run);
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

			const struct fl_scn_op_target *o = &op->u.target;

			if (op->kind == FL_SCN_OP_CTX_OPEN && o->objs[CO_ON] == obj)
				return true;
			if (op->kind == FL_SCN_OP_REQUEST && o->objs[RQ_CONN] == obj &&
			    o->strs[RQ_IMPL] != NULL &&
			    fl_impl_find(o->strs[RQ_IMPL])->kind == FL_IMPL_CTX_REQUEST)
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
		fli_op_error(ar, op, r->s->objects[obj].name, FL_ESTATE); /* its open failed */
	return sock;
}

/* offer_service (server) or connect_service: the service's server or
 * client, or a socket of the fl_sock API where the scenario uses the
 * object as one. */
static int
open_service(bool server)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	const struct fl_scn_op_target *sv = &op->u.target;
	const char *service = sv->strs[SV_SERVICE], *impl = sv->strs[SV_IMPL];
	void *obj = NULL;
	int rv = ensure_domain(ar);

	if (rv == 0 && needs_sock(ar->run->s, sv->as)) {
		fl_sock *sock = NULL;

		rv = server ? fl_sock_open_rep(&sock, ar->dom, service)
		            : fl_sock_open_req(&sock, ar->dom, service);
		set_sock(ar->run, sv->as, sock);
		obj = sock; /* only a mark */
	} else if (rv == 0 && server) {
		fl_rr_server *srv = NULL;

		rv = impl != NULL ? fl_impl_find(impl)->fn.server_open(ar->dom, service, &srv)
		                  : fl_rr_server_open(ar->dom, service, &srv);
		obj = srv;
	} else if (rv == 0) {
		fl_rr_client *cl = NULL;

		rv = impl != NULL ? fl_impl_find(impl)->fn.client_open(ar->dom, service, &cl)
		                  : fl_rr_client_open(ar->dom, service, &cl);
		obj = cl;
	}
	/* expect: on an open is an exhaustion check (FL_TARGET_OP_EXPECT_EXACT):
	 * what opened anyway is kept, so close_client closes it. */
	if (fli_op_must_fail(ar, op, service, rv))
		return 0;
	if (rv != 0) {
		fli_op_error(ar, op, service, rv);
		return 0;
	}
	ar->run->objs[sv->as] = obj;
	return 0;
}

static int
do_offer_service(void *state, const struct fl_target_args *a, void **created)
{
	(void)state, (void)a, (void)created;
	return open_service(true);
}

static int
do_connect_service(void *state, const struct fl_target_args *a, void **created)
{
	(void)state, (void)a, (void)created;
	return open_service(false);
}

static int
do_ctx_open(void *state, const struct fl_target_args *args, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	fl_scn_ref on = op->u.target.objs[CO_ON], as = op->u.target.as;

	(void)state, (void)args, (void)created;
	fl_sock *sock;
	fl_ctx *c;
	int rv;

	/* Opened under the lock: the socket's owner may be closing it. */
	fl_mutex_lock(&close_mu);
	sock = ar->run->socks[on];
	rv = sock != NULL ? fl_ctx_open(&c, sock) : FL_ESTATE;
	if (rv == 0)
		ar->run->objs[as] = c;
	fl_mutex_unlock(&close_mu);
	if (sock == NULL)
		fli_op_error(ar, op, ar->run->s->objects[on].name, FL_ESTATE); /* its open failed */
	else if (rv != 0)
		fli_op_error(ar, op, "ctx_open", rv);
	return 0;
}

static void
close_server(void *state, void *obj)
{
	(void)state;
	fl_rr_server_close(obj);
}

static void
close_connection(void *state, void *obj)
{
	(void)state;
	fl_rr_client_close(obj);
}

/* Closing cancels the context's pending operations and waits for their
 * callbacks (another actor's request may be waiting on it). */
static void
close_context(void *state, void *obj)
{
	(void)state;
	fl_ctx_close(obj);
}

/* The kinds of object its ops make, and how one is closed. */
enum { K_SERVER, K_CONNECTION, K_CONTEXT };
static const struct fl_target_kind reqrep_kinds[] = {
	[K_SERVER] = { .name = "server", .close = close_server },
	[K_CONNECTION] = { .name = "connection", .close = close_connection },
	[K_CONTEXT] = { .name = "context", .close = close_context },
	{ NULL },
};

/* Closing cancels the context's pending operations and waits for their
 * callbacks (another actor's request may be waiting on it).  Under
 * close_mu. */
static void
close_ctx(struct run *r, size_t obj)
{
	reqrep_kinds[K_CONTEXT].close(NULL, r->objs[obj]);
	r->objs[obj] = NULL;
}

static int
do_ctx_close(void *state, const struct fl_target_args *a, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;

	(void)state, (void)a, (void)created;
	fl_mutex_lock(&close_mu);
	close_ctx(ar->run, (size_t)op->u.target.objs[CC_CTX]);
	fl_mutex_unlock(&close_mu);
	return 0;
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
		    r->s->actors[o->actor].ops[o->op].u.target.objs[CO_ON] == (fl_scn_ref)obj)
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
		fli_op_error(ar, op, "send", rv);
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
/* What request does: count requests of size bytes, each with deadline
 * span from its start. */
struct requests {
	uint32_t count, size;
	uint64_t span;
};

static void
ctx_requests(struct actor_run *ar, const struct fl_scenario_op *op, fl_ctx *c,
             const struct requests *q)
{
	struct run *r = ar->run;
	uint32_t size = q->size;
	fl_aio *a;
	int rv = fl_aio_alloc(&a, NULL, NULL);

	if (rv != 0) {
		fli_op_error(ar, op, "aio", rv);
		return;
	}
	/* a drawn deadline_ms of 0 is one already past: the least timeout
	 * there is (0 would be none) */
	fl_aio_set_timeout(a, q->span != 0 ? q->span : 1);
	for (uint32_t i = 0; i < q->count; i++) {
		fl_msg *m;

		FL_SCHED_POINT("scenario.request");
		rv = fl_msg_alloc(&m, size);
		if (rv != 0) {
			fli_op_error(ar, op, "msg", rv);
			continue;
		}
		fill(fl_msg_body(m), size, i);
		fl_aio_set_msg(a, m);
		if (ctx_send_wait(ar, op, c, a) != 0)
			continue;
		rv = ctx_recv_wait(c, a);
		if (rv != 0) {
			fli_op_error(ar, op, "recv", rv);
			continue;
		}
		m = fl_aio_get_msg(a);
		if (fl_msg_len(m) != size || !check_fill(fl_msg_body(m), size, i))
			fli_run_fail(r, "delivery",
			             "actor %s: the reply to request %u on its context does not "
			             "match it",
			             ar->a->name, i);
		fl_msg_free(m);
	}
	fl_aio_free(a);
}

/* request {impl}: a fixture helper does each request. */
static void
impl_requests(struct actor_run *ar, const struct fl_scenario_op *op, fl_rr_client *cl,
              const struct requests *q)
{
	const char *impl = op->u.target.strs[RQ_IMPL];
	const struct fl_impl *f = fl_impl_find(impl);
	fl_sock *sock = NULL;

	if (f->kind == FL_IMPL_CTX_REQUEST &&
	    (sock = obj_sock(ar, op, op->u.target.objs[RQ_CONN])) == NULL)
		return;
	for (uint32_t i = 0; i < q->count; i++) {
		uint64_t deadline = fl_clock_now_ns() + q->span;
		int rv;

		FL_SCHED_POINT("scenario.request");
		uint64_t now = fl_clock_now_ns();

		if (f->kind == FL_IMPL_CTX_REQUEST) /* a timeout, never 0 (none) */
			rv = f->fn.ctx_request(sock, q->size, deadline > now ? deadline - now : 1);
		else
			rv = f->fn.rr_request(ar->dom, cl, q->size, deadline);
		/* A helper that gave up on purpose says FL_ECANCELED. */
		if (rv != 0 && rv != FL_ECANCELED)
			fli_op_error(ar, op, impl, rv);
	}
}

static int
do_request(void *state, const struct fl_target_args *args, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	fl_scn_ref conn = op->u.target.objs[RQ_CONN], ctx = op->u.target.objs[RQ_CTX];
	fl_rr_client *cl = conn >= 0 ? r->objs[conn] : NULL;
	/* size 0 asks for the default, 32 bytes */
	struct requests q = { .count = (uint32_t)args->ints[RQ_COUNT],
		              .size = args->ints[RQ_SIZE] != 0 ? (uint32_t)args->ints[RQ_SIZE] : 32,
		              .span = fli_target_deadline_span(ar, op) };

	(void)state, (void)created;
	if (cl == NULL) {
		fli_op_error(ar, op, "no connection", FL_ESTATE);
		return 0;
	}
	if (ctx >= 0) {
		if (r->objs[ctx] == NULL)
			fli_op_error(ar, op, "no context", FL_ESTATE);
		else
			ctx_requests(ar, op, r->objs[ctx], &q);
		return 0;
	}
	if (op->u.target.strs[RQ_IMPL] != NULL) {
		impl_requests(ar, op, cl, &q);
		return 0;
	}
	if (r->socks[conn] != NULL) {
		fli_op_error(ar, op, "a connection with contexts takes requests on a context",
		             FL_ESTATE);
		return 0;
	}
	for (uint32_t i = 0; i < q.count; i++) {
		fl_chunk req, resp;
		uint64_t seq, lost, deadline = fl_clock_now_ns() + q.span;
		uint32_t size = q.size;
		int rv;

		FL_SCHED_POINT("scenario.request");
		rv = fl_rr_client_loan(cl, size, deadline, &req);
		if (rv != 0) {
			fli_op_error(ar, op, "loan", rv);
			continue;
		}
		req.len = size;
		fill(req.data, size, i);
		rv = fl_rr_client_send(cl, &req, deadline, &seq);
		if (rv != 0) {
			fl_rr_release(ar->dom, &req); /* a failed send gives it back */
			fli_op_error(ar, op, "send", rv);
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
			fli_op_error(ar, op, "wait", rv);
			continue;
		}
		if (resp.seq != seq || resp.len != size || !check_fill(resp.data, size, i))
			fli_run_fail(r, "delivery",
			             "actor %s: response %llu does not match request %llu",
			             ar->a->name, (unsigned long long)resp.seq,
			             (unsigned long long)seq);
		rv = fl_rr_release(ar->dom, &resp);
		if (rv != 0)
			fli_run_fail(r, "chunks_balanced", "actor %s: releasing response %llu: %s",
			             ar->a->name, (unsigned long long)resp.seq, fl_errname(rv));
	}
	return 0;
}

/* respond {ctx}: receive each request on the REP context and send it
 * back as the reply; the receive waits up to the scenario's timeout. */
static void
ctx_responses(struct actor_run *ar, const struct fl_scenario_op *op, fl_ctx *c, uint32_t count)
{
	fl_aio *a;
	int rv = fl_aio_alloc(&a, NULL, NULL);

	if (rv != 0) {
		fli_op_error(ar, op, "aio", rv);
		return;
	}
	fl_aio_set_timeout(a, ar->run->timeout_ns);
	for (uint32_t done = 0; done < count; done++) {
		rv = ctx_recv_wait(c, a);
		if (rv != 0) {
			fli_op_error(ar, op, "recv", rv);
			break;
		}
		FL_SCHED_POINT("scenario.respond");
		fl_aio_set_msg(a, fl_aio_get_msg(a)); /* the request, echoed */
		(void)ctx_send_wait(ar, op, c, a);
	}
	fl_aio_free(a);
}

static int
do_respond(void *state, const struct fl_target_args *args, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	fl_scn_ref server = op->u.target.objs[RS_SERVER], ctx = op->u.target.objs[RS_CTX];
	fl_rr_server *srv = server >= 0 ? r->objs[server] : NULL;
	uint32_t count = (uint32_t)args->ints[RS_COUNT];
	struct fl_idle st = { 0 };
	uint32_t done = 0;
	uint64_t deadline = fli_deadline_after_ms(r, 0);
	const struct fl_impl *impl =
	        (args->given & (1u << RS_IMPL)) != 0 ? fl_impl_find(args->strs[RS_IMPL]) : NULL;

	(void)state, (void)created;
	if (srv == NULL) {
		fli_op_error(ar, op, "no server", FL_ESTATE);
		return 0;
	}
	if (ctx >= 0) {
		if (r->objs[ctx] == NULL)
			fli_op_error(ar, op, "no context", FL_ESTATE);
		else
			ctx_responses(ar, op, r->objs[ctx], count);
		return 0;
	}
	if (r->socks[server] != NULL) {
		fli_op_error(ar, op, "a server with contexts answers on a context", FL_ESTATE);
		return 0;
	}
	while (done < count) {
		fl_chunk req, resp;
		int rv = fl_rr_server_take(srv, &req);

		if (rv == FL_EAGAIN) {
			if (fl_clock_now_ns() >= deadline) {
				fli_op_error(ar, op, "take", FL_ETIMEDOUT);
				return 0;
			}
			fl_idle(&st, 0, deadline);
			continue;
		}
		if (rv != 0) {
			fli_op_error(ar, op, "take", rv);
			return 0;
		}
		FL_SCHED_POINT("scenario.respond");
		if (impl != NULL && impl->kind == FL_IMPL_RR_ANSWER) {
			/* a fixture's answer helper answers it */
			rv = impl->fn.rr_answer(ar->dom, srv, &req, deadline);
			if (rv != 0)
				fli_op_error(ar, op, impl->name, rv);
			fl_rr_release(ar->dom, &req);
			done++;
			fl_idle(&st, 1, FL_DEADLINE_NONE);
			continue;
		}
		rv = fl_rr_server_loan(srv, req.len, deadline, &resp);
		if (rv == 0) {
			memcpy(resp.data, req.data, req.len);
			resp.len = req.len;
			rv = fl_rr_server_send(srv, &req, &resp);
			if (rv != 0) {
				fl_rr_release(ar->dom, &resp);
				fli_op_error(ar, op, "send", rv);
			}
		} else {
			fli_op_error(ar, op, "loan", rv);
		}
		fl_rr_release(ar->dom, &req);
		done++;
		fl_idle(&st, 1, FL_DEADLINE_NONE);
	}
	return 0;
}

static int
check_service(const char *name, char *why, size_t len)
{
	if (fl_rr_validate_service(name) == 0)
		return 0;
	snprintf(why, len,
	         "'%s' is not a valid service name (1 to %d characters, no '/', '..' or "
	         "control characters)",
	         name, FL_RR_SERVICE_MAX);
	return -1;
}

static int
check_answer_impl(const char *name, char *why, size_t len)
{
	return fl_impl_check(name, 1u << FL_IMPL_RR_ANSWER, "answer helper", why, len);
}

static int
check_server_impl(const char *name, char *why, size_t len)
{
	return fl_impl_check(name, 1u << FL_IMPL_SERVER_OPEN, "server opener", why, len);
}

static int
check_client_impl(const char *name, char *why, size_t len)
{
	return fl_impl_check(name, 1u << FL_IMPL_CLIENT_OPEN, "client opener", why, len);
}

static int
check_request_impl(const char *name, char *why, size_t len)
{
	return fl_impl_check(name, (1u << FL_IMPL_RR_REQUEST) | (1u << FL_IMPL_CTX_REQUEST),
	                     "request helper", why, len);
}

static const struct fl_target_arg offer_args[] = {
	[SV_SERVICE] = { .name = "service",
	                 .type = FL_TARGET_STRING,
	                 .required = true,
	                 .check = check_service },
	[SV_IMPL] = { .name = "impl", .type = FL_TARGET_STRING, .check = check_server_impl },
	{ NULL },
};

static const struct fl_target_arg connect_args[] = {
	[SV_SERVICE] = { .name = "service",
	                 .type = FL_TARGET_STRING,
	                 .required = true,
	                 .check = check_service },
	[SV_IMPL] = { .name = "impl", .type = FL_TARGET_STRING, .check = check_client_impl },
	{ NULL },
};

static const struct fl_target_arg request_args[] = {
	[RQ_CONN] = FLI_ARG_OBJECT("conn", "connection"),
	[RQ_CTX] = { .name = "ctx", .type = FL_TARGET_OBJECT, .kind = "context" },
	[RQ_COUNT] = FLI_ARG_COUNT("count"),
	[RQ_SIZE] = { .name = "size", .type = FL_TARGET_INT, .max = MAX_MSG_SIZE, .dflt = 64 },
	/* a context helper opens a context of its own for each request */
	[RQ_IMPL] = { .name = "impl",
	              .type = FL_TARGET_STRING,
	              .check = check_request_impl,
	              .excludes = "ctx" },
	{ NULL },
};

static const struct fl_target_arg respond_args[] = {
	[RS_SERVER] = FLI_ARG_OBJECT("server", "server"),
	[RS_CTX] = { .name = "ctx", .type = FL_TARGET_OBJECT, .kind = "context" },
	[RS_COUNT] = FLI_ARG_COUNT("count"),
	/* a fixture's helper answers each request (a plain server's) */
	[RS_IMPL] = { .name = "impl",
	              .type = FL_TARGET_STRING,
	              .check = check_answer_impl,
	              .excludes = "ctx" },
	{ NULL },
};

static const struct fl_target_arg ctx_open_args[] = {
	[CO_ON] = FLI_ARG_OBJECT("on", "connection|server"),
	{ NULL },
};

static const struct fl_target_arg ctx_close_args[] = {
	[CC_CTX] = FLI_ARG_OBJECT("ctx", "context"),
	{ NULL },
};

static const struct fl_target_op reqrep_ops[] = {
	{ .name = "offer_service",
	  .args = offer_args,
	  .creates = "server",
	  .flags = FL_TARGET_OP_EXPECT_EXACT,
	  .fn = do_offer_service },
	{ .name = "connect_service",
	  .args = connect_args,
	  .creates = "connection",
	  .flags = FL_TARGET_OP_EXPECT_EXACT,
	  .fn = do_connect_service },
	{ .name = "request", .args = request_args, .flags = FL_TARGET_OP_BLOCKS, .fn = do_request },
	{ .name = "respond", .args = respond_args, .fn = do_respond },
	{ .name = "ctx_open", .args = ctx_open_args, .creates = "context", .fn = do_ctx_open },
	{ .name = "ctx_close", .args = ctx_close_args, .closes = "ctx", .fn = do_ctx_close },
	{ NULL },
};

const struct fl_target fli_reqrep_target = {
	.abi = FL_TARGET_ABI,
	.name = "reqrep",
	.ops = reqrep_ops,
	.kinds = reqrep_kinds,
};

/* close_client's request/response part: close every server,
 * connection, socket and context this actor created, newest first, then
 * unmap the domain. */
void
fli_interp_reqrep_close(struct actor_run *ar)
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
		reqrep_kinds[o->kind == FL_SCN_OBJ_SERVER ? K_SERVER : K_CONNECTION]
		        .close(NULL, r->objs[i]);
		r->objs[i] = NULL;
	}
	if (ar->dom != NULL) {
		fl_rr_domain_close(ar->dom);
		ar->dom = NULL;
	}
}

/* Runs a request/response operation: its declaration's fn, with the
 * values of its arguments for this run of it; false for any other kind. */
bool
fli_interp_reqrep_op(struct actor_run *ar, const struct fl_scenario_op *op)
{
	return fli_builtin_op(ar, op, FL_SCN_DOMAIN_REQREP);
}
