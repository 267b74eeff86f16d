/*
 * Asynchronous operations and contexts over request/response sockets.
 * See faultline/aio.h.
 *
 * One mutex per socket guards its contexts and the aios pending on them;
 * callbacks run on the worker without it.  An aio moves
 * IDLE -> PENDING -> DONE (on the socket's completion list) -> CALLBACK
 * -> IDLE; a context counts the operations started on it whose callback
 * has not returned (`outstanding`), which is what close waits for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/aio.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "aio_internal.h"
#include "core/plant.h"
#include "fli_impl.h"

enum { AIO_IDLE, AIO_PENDING, AIO_DONE, AIO_CALLBACK };

struct fl_aio {
	void (*cb)(void *);
	void *arg;
	uint64_t timeout_ns;
	uint64_t deadline_ns; /* of the pending receive; 0: none */
	int result;
	fl_msg *msg;
	_Atomic int state;
	fl_sock *sock; /* while not idle (atomic: fl_aio_free and
	                           fl_aio_cancel read it without the lock) */
	fl_ctx *ctx;
	fl_aio *next; /* completion list */
	int free_after_cb;
};

struct fl_ctx {
	fl_sock *s;
	fl_ctx *next;
	int closing;
	int deferred_free; /* closed from a callback: worker frees it */
	uint32_t outstanding;
	fl_aio *recv;         /* pending receive */
	uint64_t recv_ticket; /* REP: order of waiting receives */
	/* REQ */
	uint64_t req_seq;
	int req_pending;
	int req_err;   /* the request expired: FL_ETIMEDOUT/FL_ECRASHED */
	fl_msg *reply; /* arrived before a receive was posted */
	/* REP */
	int have_req;
	fl_chunk req; /* routing of the request to answer */
};

struct fl_sock {
	fl_rr_domain *d;
	int is_req;
	fl_rr_client *cli;
	fl_rr_server *srv;
	fl_mutex mu;
	fl_ctx *ctxs;
	fl_aio *done_head, *done_tail;
	fl_thread *worker;
	_Atomic int stop;
	_Atomic uint64_t worker_id;
	uint64_t ticket;
	int closed;
};

#define EXPIRE_EVERY 64 /* worker passes between scans for expired requests */

static int
on_worker(fl_sock *s)
{
	return atomic_load(&s->worker_id) == fl_actor_id();
}

/* Locked.  Moves a pending aio to the completion list. */
static void
complete(fl_sock *s, fl_aio *a, int result)
{
	fl_ctx *c = a->ctx;

	if (c != NULL && c->recv == a)
		c->recv = NULL;
	if (c != NULL && c->closing && result != FL_ECANCELED && result != FL_ECLOSED)
		atomic_fetch_add(&fli_aio_counters.aio_late_completions, 1);
	a->result = result;
	a->next = NULL;
	fl_atomic_store("aio.state.done", &a->state, AIO_DONE, __ATOMIC_SEQ_CST);
	if (s->done_tail != NULL)
		s->done_tail->next = a;
	else
		s->done_head = a;
	s->done_tail = a;
}

/* Locked.  Checks that a may start an operation on c, and marks it. */
static int
begin(fl_ctx *c, fl_aio *a)
{
	int st = atomic_load(&a->state);

	if (c->closing || c->s->closed)
		return FL_ECLOSED;
	/* Restarting an aio from its own callback is allowed. */
	if (st != AIO_IDLE && !(st == AIO_CALLBACK && on_worker(c->s)))
		return FL_EBUSY;
	return 0;
}

/* Locked.  The operation started: a callback is owed. */
static void
started(fl_ctx *c, fl_aio *a)
{
	__atomic_store_n(&a->sock, c->s, __ATOMIC_RELAXED);
	a->ctx = c;
	a->deadline_ns = a->timeout_ns != 0 ? fl_clock_now_ns() + a->timeout_ns : 0;
	c->outstanding++;
	fl_atomic_store("aio.state.pending", &a->state, AIO_PENDING, __ATOMIC_SEQ_CST);
	atomic_fetch_add(&fli_aio_counters.aio_started, 1);
}

static void
unlink_ctx(fl_sock *s, fl_ctx *c)
{
	for (fl_ctx **pp = &s->ctxs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

/* Locked.  REQ: give up on c's request; its late reply is discarded. */
static void
abandon(fl_ctx *c)
{
	if (c->req_pending && c->s->is_req)
		fl_rr_client_forget(c->s->cli, c->req_seq);
	c->req_pending = 0;
}

/* ---- aio ----------------------------------------------------------- */

int
fl_aio_alloc(fl_aio **out, void (*cb)(void *), void *arg)
{
	fl_aio *a;

	if (out == NULL)
		return FL_EINVAL;
	a = fl_obj_alloc(sizeof(*a), "fl_aio");
	if (a == NULL)
		return FL_ENOMEM;
	a->cb = cb;
	a->arg = arg;
	atomic_init(&a->state, AIO_IDLE);
	*out = a;
	return 0;
}

int
fl_aio_free(fl_aio *a)
{
	fl_sock *s;
	int st;

	if (a == NULL)
		return 0;
	st = atomic_load(&a->state);
	if (st == AIO_IDLE) {
		fl_obj_free(a, sizeof(*a), "fl_aio");
		return 0;
	}
	s = __atomic_load_n(&a->sock, __ATOMIC_RELAXED);
	if (st == AIO_CALLBACK && s != NULL && on_worker(s)) {
		a->free_after_cb = 1;
		return 0;
	}
	atomic_fetch_add(&fli_aio_counters.aio_free_pending, 1);
#ifndef NDEBUG
	fprintf(stderr,
	        "faultline: fl_aio_free(%p) with an operation pending: "
	        "cancel and wait first (not freed)\n",
	        (void *)a);
#endif
	return FL_EBUSY;
}

void
fl_aio_set_timeout(fl_aio *a, uint64_t timeout_ns)
{
	a->timeout_ns = timeout_ns;
}

void
fl_aio_wait(fl_aio *a)
{
	struct fl_idle idle = { 0 };

	while (atomic_load(&a->state) != AIO_IDLE)
		fl_idle(&idle, 0, FL_DEADLINE_NONE);
}

void
fl_aio_cancel(fl_aio *a)
{
	fl_sock *s;

	/* The state first: an aio seen pending has its sock stored already
	 * (started() stores it before the state). */
	if (atomic_load(&a->state) != AIO_PENDING)
		return;
	s = __atomic_load_n(&a->sock, __ATOMIC_RELAXED);
	if (s == NULL)
		return;
	fl_mutex_lock(&s->mu);
	if (atomic_load(&a->state) == AIO_PENDING) {
		fl_ctx *c = a->ctx;
		if (c != NULL && c->recv == a)
			abandon(c);
		complete(s, a, FL_ECANCELED);
	}
	fl_mutex_unlock(&s->mu);
}

int
fl_aio_result(const fl_aio *a)
{
	return a->result;
}

fl_msg *
fl_aio_get_msg(fl_aio *a)
{
	fl_msg *m = a->msg;

	a->msg = NULL;
	return m;
}

void
fl_aio_set_msg(fl_aio *a, fl_msg *m)
{
	a->msg = m;
}

/* ---- worker -------------------------------------------------------- */

static fl_ctx *
req_ctx_for(fl_sock *s, uint64_t seq)
{
	for (fl_ctx *c = s->ctxs; c != NULL; c = c->next)
		if (c->req_pending && c->req_seq == seq && !c->closing)
			return c;
	return NULL;
}

/* Locked.  Delivers replies to REQ contexts and expired requests. */
static int
req_poll(fl_sock *s, uint32_t pass)
{
	fl_chunk resp;
	uint64_t seq;
	int reason, work = 0;

	while (fl_rr_client_take(s->cli, &resp) == 0) {
		fl_ctx *c = req_ctx_for(s, resp.seq);
		fl_msg *m = NULL;
		int rc;

		work++;
		if (c == NULL) {
			fl_rr_release(s->d, &resp);
			atomic_fetch_add(&fli_aio_counters.replies_discarded, 1);
			continue;
		}
		rc = fl_msg_alloc(&m, resp.len);
		if (rc == 0)
			memcpy(fl_msg_body(m), resp.data, resp.len);
		fl_rr_release(s->d, &resp);
		c->req_pending = 0;
		if (c->recv != NULL) {
			c->recv->msg = m;
			complete(s, c->recv, rc);
		} else if (rc == 0) {
			c->reply = m;
		} else {
			c->req_err = rc;
		}
	}
	if (pass % EXPIRE_EVERY == 0) {
		while (fl_rr_client_expired(s->cli, &seq, &reason) == 0) {
			fl_ctx *c = req_ctx_for(s, seq);
			work++;
			if (c == NULL)
				continue;
			c->req_pending = 0;
			if (c->recv != NULL)
				complete(s, c->recv, reason);
			else
				c->req_err = reason;
		}
	}
	return work;
}

/* Locked.  Hands requests to REP contexts waiting in receive, oldest
 * first. */
static int
rep_poll(fl_sock *s)
{
	int work = 0;

	for (;;) {
		fl_ctx *w = NULL;
		fl_chunk req;
		fl_msg *m = NULL;
		int rc;

		for (fl_ctx *c = s->ctxs; c != NULL; c = c->next)
			if (c->recv != NULL && !c->closing &&
			    (w == NULL || c->recv_ticket < w->recv_ticket))
				w = c;
		if (w == NULL)
			break;
		if (fl_rr_server_take(s->srv, &req) != 0)
			break;
		work++;
		rc = fl_msg_alloc(&m, req.len);
		if (rc == 0)
			memcpy(fl_msg_body(m), req.data, req.len);
		w->req = req;
		w->req.data = NULL; /* only the routing is kept */
		w->have_req = rc == 0;
		fl_rr_release(s->d, &req);
		w->recv->msg = m;
		complete(s, w->recv, rc);
	}
	return work;
}

/* Locked.  Times out receives; returns the earliest deadline left. */
static uint64_t
expire_receives(fl_sock *s, int *work)
{
	uint64_t now = fl_clock_now_ns(), next = FL_DEADLINE_NONE;

	for (fl_ctx *c = s->ctxs; c != NULL; c = c->next) {
		fl_aio *a = c->recv;
		if (a == NULL || a->deadline_ns == 0)
			continue;
		if (now >= a->deadline_ns) {
			abandon(c);
			complete(s, a, FL_ETIMEDOUT);
			(*work)++;
		} else if (a->deadline_ns < next) {
			next = a->deadline_ns;
		}
	}
	return next;
}

static void
run_callback(fl_sock *s, fl_aio *a)
{
	fl_ctx *c = a->ctx;
	int free_it;

	fl_atomic_store("aio.state.callback", &a->state, AIO_CALLBACK, __ATOMIC_SEQ_CST);
	if (a->cb != NULL)
		a->cb(a->arg);
	atomic_fetch_add(&fli_aio_counters.aio_completed, 1);
	fl_mutex_lock(&s->mu);
	free_it = a->free_after_cb;
	FLI_ASSERT(c->outstanding > 0);
	c->outstanding--;
	/* Unless its callback started it again, the aio goes idle, and from
	 * that store on its owner may free it or start it at once (sock was
	 * cleared after the store, into an aio the owner could have freed).
	 * So it is done with first.  Only this worker moves an aio out of
	 * CALLBACK, so the state read and the store do not race.  One its
	 * callback freed never reads idle: another could free it too. */
	if (atomic_load(&a->state) == AIO_CALLBACK && !free_it) {
		__atomic_store_n(&a->sock, NULL, __ATOMIC_RELAXED);
		fl_atomic_store("aio.state.idle", &a->state, AIO_IDLE, __ATOMIC_SEQ_CST);
	}
	if (c->deferred_free && c->outstanding == 0) {
		unlink_ctx(s, c);
		fl_obj_free(c, sizeof(*c), "fl_ctx");
	}
	fl_mutex_unlock(&s->mu);
	/* Not touched after the unlock unless its callback asked to free it
	 * (then nobody else may). */
	if (free_it)
		fl_obj_free(a, sizeof(*a), "fl_aio");
}

static void
worker(void *arg)
{
	fl_sock *s = arg;
	struct fl_idle idle = { 0 };
	uint32_t pass = 0;

	atomic_store(&s->worker_id, fl_actor_id());
	for (;;) {
		int work = 0;
		uint64_t next;
		fl_aio *list;

		fl_mutex_lock(&s->mu);
		if (!s->closed || s->ctxs != NULL)
			work += s->is_req ? req_poll(s, pass++) : rep_poll(s);
		next = expire_receives(s, &work);
		list = s->done_head;
		s->done_head = s->done_tail = NULL;
		fl_mutex_unlock(&s->mu);
		while (list != NULL) {
			fl_aio *a = list;
			list = a->next;
			run_callback(s, a);
			work++;
		}
		if (work == 0 && atomic_load(&s->stop))
			break;
		FL_SCHED_POINT("aio.worker.idle");
		fl_idle(&idle, work, next);
	}
}

/* ---- sockets and contexts ------------------------------------------ */

static int
sock_open(fl_sock **out, fl_rr_domain *d, const char *service, int is_req)
{
	fl_sock *s;
	int rc;

	if (out == NULL || d == NULL)
		return FL_EINVAL;
	s = fl_obj_alloc(sizeof(*s), "fl_sock");
	if (s == NULL)
		return FL_ENOMEM;
	s->d = d;
	s->is_req = is_req;
	fl_mutex_init(&s->mu);
	rc = is_req ? fl_rr_client_open(d, service, &s->cli)
	            : fl_rr_server_open(d, service, &s->srv);
	if (rc != 0)
		goto fail;
	rc = fl_thread_start(&s->worker, is_req ? "fl-req-worker" : "fl-rep-worker", worker, s);
	if (rc != 0)
		goto fail_port;
	*out = s;
	return 0;
fail_port:
	fl_rr_client_close(s->cli);
	fl_rr_server_close(s->srv);
fail:
	fl_mutex_fini(&s->mu);
	fl_obj_free(s, sizeof(*s), "fl_sock");
	return rc;
}

int
fl_sock_open_req(fl_sock **out, fl_rr_domain *d, const char *service)
{
	return sock_open(out, d, service, 1);
}

int
fl_sock_open_rep(fl_sock **out, fl_rr_domain *d, const char *service)
{
	return sock_open(out, d, service, 0);
}

void
fl_sock_close(fl_sock *s)
{
	if (s == NULL)
		return;
	fl_mutex_lock(&s->mu);
	s->closed = 1;
	fl_mutex_unlock(&s->mu);
	for (;;) {
		fl_ctx *c;
		fl_mutex_lock(&s->mu);
		c = s->ctxs;
		while (c != NULL && c->closing)
			c = c->next;
		fl_mutex_unlock(&s->mu);
		if (c == NULL)
			break;
		fl_ctx_close(c);
	}
	/* Contexts another thread is closing: let their callbacks finish. */
	struct fl_idle idle = { 0 };
	for (;;) {
		fl_mutex_lock(&s->mu);
		int busy = s->ctxs != NULL;
		fl_mutex_unlock(&s->mu);
		if (!busy)
			break;
		fl_idle(&idle, 0, FL_DEADLINE_NONE);
	}
	fl_atomic_store("aio.sock.stop", &s->stop, 1, __ATOMIC_SEQ_CST);
	fl_thread_join(s->worker);
	fl_rr_client_close(s->cli);
	fl_rr_server_close(s->srv);
	fl_mutex_fini(&s->mu);
	fl_obj_free(s, sizeof(*s), "fl_sock");
}

int
fl_ctx_open(fl_ctx **out, fl_sock *s)
{
	fl_ctx *c;

	if (out == NULL || s == NULL)
		return FL_EINVAL;
	c = fl_obj_alloc(sizeof(*c), "fl_ctx");
	if (c == NULL)
		return FL_ENOMEM;
	c->s = s;
	fl_mutex_lock(&s->mu);
	if (s->closed) {
		fl_mutex_unlock(&s->mu);
		fl_obj_free(c, sizeof(*c), "fl_ctx");
		return FL_ECLOSED;
	}
	c->next = s->ctxs;
	s->ctxs = c;
	fl_mutex_unlock(&s->mu);
	atomic_fetch_add(&fli_aio_counters.ctx_opened, 1);
	*out = c;
	return 0;
}

void
fl_ctx_close(fl_ctx *c)
{
	fl_sock *s;
	struct fl_idle idle = { 0 };

	if (c == NULL)
		return;
	s = c->s;
	fl_mutex_lock(&s->mu);
	if (c->closing) {
		fl_mutex_unlock(&s->mu);
		return;
	}
	c->closing = 1;
	FL_SCHED_POINT("aio.ctx.close");
	if (c->recv != NULL && !PLANTED(FLI_PLANT_CTX_CLOSE_NO_CANCEL))
		complete(s, c->recv, FL_ECANCELED);
	fl_msg_free(c->reply);
	c->reply = NULL;
	abandon(c);
	atomic_fetch_add(&fli_aio_counters.ctx_closed, 1);
	if (on_worker(s)) {
		/* From a callback: the worker frees c when its callbacks ran. */
		c->deferred_free = 1;
		if (c->outstanding == 0) {
			unlink_ctx(s, c);
			fl_obj_free(c, sizeof(*c), "fl_ctx");
		}
		fl_mutex_unlock(&s->mu);
		return;
	}
	while (c->outstanding != 0) {
		fl_mutex_unlock(&s->mu);
		fl_idle(&idle, 0, FL_DEADLINE_NONE);
		fl_mutex_lock(&s->mu);
	}
	unlink_ctx(s, c);
	fl_mutex_unlock(&s->mu);
	fl_obj_free(c, sizeof(*c), "fl_ctx");
}

/* fl_ctx_send's work, with the socket's lock held once begin() took a. */
static int
ctx_send_locked(fl_ctx *c, fl_aio *a)
{
	fl_sock *s = c->s;
	fl_chunk ch;
	size_t len;
	int rc;

	if (a->msg == NULL)
		return FL_EINVAL;
	if (!s->is_req && !c->have_req)
		return FL_ESTATE;
	len = fl_msg_len(a->msg);
	rc = fl_chunk_loan(fl_rr_domain_chunks(s->d), len, 0, &ch);
	if (rc != 0)
		return rc;
	memcpy(ch.data, fl_msg_body(a->msg), len);
	ch.len = (uint32_t)len;
	if (s->is_req) {
		uint64_t seq;
		uint64_t dl = a->timeout_ns != 0 ? fl_clock_now_ns() + a->timeout_ns : 0;
		rc = fl_rr_client_send(s->cli, &ch, dl, &seq);
		if (rc == 0) {
			abandon(c);
			/* A new request abandons the previous one. */
			if (c->recv != NULL)
				complete(s, c->recv, FL_ECANCELED);
			fl_msg_free(c->reply);
			c->reply = NULL;
			c->req_err = 0;
			c->req_seq = seq;
			c->req_pending = 1;
		}
	} else {
		rc = fl_rr_server_send(s->srv, &c->req, &ch);
		if (rc == 0 || rc == FL_ENOT_CONNECTED)
			c->have_req = 0;
	}
	if (rc != 0) {
		fl_rr_release(s->d, &ch);
		return rc;
	}
	/* Ownership passed: the library frees the message. */
	fl_msg_free(a->msg);
	a->msg = NULL;
	started(c, a);
	complete(s, a, 0);
	return 0;
}

/* fl_ctx_recv's work, with the socket's lock held once begin() took a. */
static int
ctx_recv_locked(fl_ctx *c, fl_aio *a)
{
	fl_sock *s = c->s;

	if (c->recv != NULL)
		return FL_EBUSY;
	if (s->is_req && !c->req_pending && c->reply == NULL && c->req_err == 0)
		return FL_ESTATE;
	a->msg = NULL;
	started(c, a);
	if (s->is_req && c->reply != NULL) {
		a->msg = c->reply;
		c->reply = NULL;
		complete(s, a, 0);
	} else if (s->is_req && c->req_err != 0) {
		complete(s, a, c->req_err);
		c->req_err = 0;
	} else {
		c->recv = a;
		c->recv_ticket = ++s->ticket;
	}
	return 0;
}

/* Checks c and a, then runs op on them under the socket's lock once
 * begin() took a: the common part of fl_ctx_send and fl_ctx_recv. */
static int
ctx_start(fl_ctx *c, fl_aio *a, int (*op)(fl_ctx *, fl_aio *))
{
	fl_sock *s;
	int rc;

	if (c == NULL || a == NULL)
		return FL_EINVAL;
	s = c->s;
	fl_mutex_lock(&s->mu);
	rc = begin(c, a);
	if (rc == 0)
		rc = op(c, a);
	fl_mutex_unlock(&s->mu);
	return rc;
}

int
fl_ctx_send(fl_ctx *c, fl_aio *a)
{
	return ctx_start(c, a, ctx_send_locked);
}

int
fl_ctx_recv(fl_ctx *c, fl_aio *a)
{
	return ctx_start(c, a, ctx_recv_locked);
}
