/*
 * The request/response domain's operations: services, connections,
 * requests and responses on plain ports or on contexts (faultline/aio.h),
 * and the helpers scenarios name with `impl:`.  Every wait has a
 * deadline; see interp.c.
 */
#include <string.h>

#include "faultline/aio.h"
#include "faultline/error.h"
#include "faultline/impl.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"

#include "run/run_internal.h"

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
		fli_op_error(ar, op, r->s->objects[obj].name, FL_ESTATE); /* its open failed */
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
		fli_op_error(ar, op, op->u.service.service, rv);
		return true;
	}
	/* Excused only where a fault in this very open may have changed what
	 * it found, or in a sweep run. */
	if (!ar->run->sweep && !fli_op_fault_fired(ar))
		fli_run_fail(ar->run, "operations",
		             "actor %s: %s (line %d): expected %s, but it succeeded", ar->a->name,
		             fl_scenario_op_name(op->kind), op->line, fl_errname(want));
	return false; /* keep what opened, so close_client closes it */
}

/* offer_service (server) or connect_service: the service's server or
 * client, or a socket of the fl_sock API where the scenario uses the
 * object as one. */
static void
do_open_service(struct actor_run *ar, const struct fl_scenario_op *op, bool server)
{
	const struct fl_scn_op_service *sv = &op->u.service;
	void *obj = NULL;
	int rv = ensure_domain(ar);

	if (rv == 0 && needs_sock(ar->run->s, sv->as)) {
		fl_sock *sock = NULL;

		rv = server ? fl_sock_open_rep(&sock, ar->dom, sv->service)
		            : fl_sock_open_req(&sock, ar->dom, sv->service);
		set_sock(ar->run, sv->as, sock);
		obj = sock; /* only a mark */
	} else if (rv == 0 && server) {
		fl_rr_server *srv = NULL;

		rv = sv->impl != NULL
		             ? fl_impl_find(sv->impl)->fn.server_open(ar->dom, sv->service, &srv)
		             : fl_rr_server_open(ar->dom, sv->service, &srv);
		obj = srv;
	} else if (rv == 0) {
		fl_rr_client *cl = NULL;

		rv = fl_rr_client_open(ar->dom, sv->service, &cl);
		obj = cl;
	}
	if (expected_open(ar, op, rv))
		return;
	if (rv != 0) {
		fli_op_error(ar, op, sv->service, rv);
		return;
	}
	ar->run->objs[sv->as] = obj;
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
		fli_op_error(ar, op, ar->run->s->objects[op->u.ctx.on].name,
		             FL_ESTATE); /* its open failed */
	else if (rv != 0)
		fli_op_error(ar, op, "ctx_open", rv);
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
static void
ctx_requests(struct actor_run *ar, const struct fl_scenario_op *op, fl_ctx *c, uint32_t size)
{
	struct run *r = ar->run;
	const struct fl_scn_op_request *q = &op->u.request;
	fl_aio *a;
	int rv = fl_aio_alloc(&a, NULL, NULL);

	if (rv != 0) {
		fli_op_error(ar, op, "aio", rv);
		return;
	}
	fl_aio_set_timeout(a, q->deadline_ms != 0 ? (uint64_t)q->deadline_ms * FL_NS_PER_MS
	                                          : r->timeout_ns);
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
              uint32_t size)
{
	struct run *r = ar->run;
	const struct fl_scn_op_request *q = &op->u.request;
	const struct fl_impl *f = fl_impl_find(q->impl);
	fl_sock *sock = NULL;

	if (f->kind == FL_IMPL_CTX_REQUEST && (sock = obj_sock(ar, op, q->conn)) == NULL)
		return;
	for (uint32_t i = 0; i < q->count; i++) {
		uint64_t deadline = fli_deadline_after_ms(r, q->deadline_ms);
		int rv;

		FL_SCHED_POINT("scenario.request");
		if (f->kind == FL_IMPL_CTX_REQUEST)
			rv = f->fn.ctx_request(sock, size, deadline - fl_clock_now_ns());
		else
			rv = f->fn.rr_request(ar->dom, cl, size, deadline);
		/* A helper that gave up on purpose says FL_ECANCELED. */
		if (rv != 0 && rv != FL_ECANCELED)
			fli_op_error(ar, op, q->impl, rv);
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
		fli_op_error(ar, op, "no connection", FL_ESTATE);
		return;
	}
	if (q->ctx >= 0) {
		if (r->objs[q->ctx] == NULL)
			fli_op_error(ar, op, "no context", FL_ESTATE);
		else
			ctx_requests(ar, op, r->objs[q->ctx], size);
		return;
	}
	if (q->impl != NULL) {
		impl_requests(ar, op, cl, size);
		return;
	}
	if (r->socks[q->conn] != NULL) {
		fli_op_error(ar, op, "a connection with contexts takes requests on a context",
		             FL_ESTATE);
		return;
	}
	for (uint32_t i = 0; i < q->count; i++) {
		fl_chunk req, resp;
		uint64_t seq, lost, deadline = fli_deadline_after_ms(r, q->deadline_ms);
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
}

/* respond {ctx}: receive each request on the REP context and send it
 * back as the reply; the receive waits up to the scenario's timeout. */
static void
ctx_responses(struct actor_run *ar, const struct fl_scenario_op *op, fl_ctx *c)
{
	fl_aio *a;
	int rv = fl_aio_alloc(&a, NULL, NULL);

	if (rv != 0) {
		fli_op_error(ar, op, "aio", rv);
		return;
	}
	fl_aio_set_timeout(a, ar->run->timeout_ns);
	for (uint32_t done = 0; done < op->u.respond.count; done++) {
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

static void
do_respond(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct run *r = ar->run;
	fl_rr_server *srv = op->u.respond.server >= 0 ? r->objs[op->u.respond.server] : NULL;
	struct fl_idle st = { 0 };
	uint32_t done = 0;
	uint64_t deadline = fli_deadline_after_ms(r, 0);

	if (srv == NULL) {
		fli_op_error(ar, op, "no server", FL_ESTATE);
		return;
	}
	if (op->u.respond.ctx >= 0) {
		if (r->objs[op->u.respond.ctx] == NULL)
			fli_op_error(ar, op, "no context", FL_ESTATE);
		else
			ctx_responses(ar, op, r->objs[op->u.respond.ctx]);
		return;
	}
	if (r->socks[op->u.respond.server] != NULL) {
		fli_op_error(ar, op, "a server with contexts answers on a context", FL_ESTATE);
		return;
	}
	while (done < op->u.respond.count) {
		fl_chunk req, resp;
		int rv = fl_rr_server_take(srv, &req);

		if (rv == FL_EAGAIN) {
			if (fl_clock_now_ns() >= deadline) {
				fli_op_error(ar, op, "take", FL_ETIMEDOUT);
				return;
			}
			fl_idle(&st, 0, deadline);
			continue;
		}
		if (rv != 0) {
			fli_op_error(ar, op, "take", rv);
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
				fli_op_error(ar, op, "send", rv);
			}
		} else {
			fli_op_error(ar, op, "loan", rv);
		}
		fl_rr_release(ar->dom, &req);
		done++;
		fl_idle(&st, 1, FL_DEADLINE_NONE);
	}
}

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
}

/* Runs a request/response operation; false for any other kind. */
bool
fli_interp_reqrep_op(struct actor_run *ar, const struct fl_scenario_op *op)
{
	switch (op->kind) {
	case FL_SCN_OP_OFFER_SERVICE: do_open_service(ar, op, true); return true;
	case FL_SCN_OP_CONNECT_SERVICE: do_open_service(ar, op, false); return true;
	case FL_SCN_OP_REQUEST: do_request(ar, op); return true;
	case FL_SCN_OP_RESPOND: do_respond(ar, op); return true;
	case FL_SCN_OP_CTX_OPEN: do_ctx_open(ar, op); return true;
	case FL_SCN_OP_CTX_CLOSE: do_ctx_close(ar, op); return true;
	default: return false;
	}
}
