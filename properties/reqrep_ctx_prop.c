/*
 * The request/response contexts model: contexts and aios under the sim.
 *
 * reqrep_ctx (and reqrep_ctx_faults, sends failing at random): contexts
 * and asynchronous operations (aio.h) on one REQ and
 * one REP socket, run under the deterministic scheduler (harness sim: the
 * sockets' workers are coroutines, every interleaving decision comes from
 * the trial's stream, see reqrep_ctx_prop).  Random context opens and closes with receives
 * pending, sends, receives, replies, cancels, waits, server socket churn.
 * After every step: no message freed twice, no aio freed with work
 * pending, no completion after its context closed, ports per owner as
 * the model says, and messages alive no more than the property holds plus
 * one per context.  At the end, after closing: every message freed exactly
 * once, every callback owed run, zero chunks and ports.
 *
 * Built with -DPLANT_BUGS the command set also holds the planted B5 bugs'
 * helpers (see reqrep_planted.c).
 */
#include "faultline/aio.h"
#include "faultline/chunk.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/prop.h"
#include "faultline/reqrep.h"
#include "faultline/sim.h"
#include "faultline/faults.h"

#include "prop_faults.h"
#include "prop_model.h"
#include "reqrep_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CX_CHUNK_SPEC "64:16,512:4" /* reqrep_ctx's pools */

/* ------------------------------------------------------------------ */
/* reqrep_ctx: contexts and aios under the deterministic scheduler. */

#define MAX_CTX        5
#define AIO_TIMEOUT_NS FL_NS_PER_SEC /* virtual: a wait never hangs */

struct cx_ctx {
	bool used, rep, busy; /* busy: an operation started and not waited for */
	bool sent;            /* REQ: a request whose reply was not yet asked for */
	bool has_req;         /* REP: holds a received request (a message) */
	int last_op;          /* 0 send, 1 recv */
};

struct cx_model {
	struct cx_ctx c[MAX_CTX];
	bool rep_open;
};

struct cx_real {
	char dir[256];
	fl_rr_domain *drv, *dreq, *drep;
	fl_sock *req, *rep;
	fl_ctx *ctx[MAX_CTX];
	fl_aio *aio[MAX_CTX];
	fl_msg *held[MAX_CTX]; /* REP: the received request, to be answered */
	fl_aio *lost[8];       /* planted B5: aios the buggy path failed to free */
	int nlost;
	struct fl_faults *faults; /* reqrep_ctx_faults: armed after setup */
	struct fl_aio_debug base; /* counters at setup (process-wide) */
};

struct cx_args {
	int8_t ctx, slot;
	int32_t rc, result;
	uint32_t len;
	bool got_msg;
	bool freed;
};

static int
cx_count(const struct cx_model *m, bool busy_only)
{
	int n = 0;
	for (int i = 0; i < MAX_CTX; i++)
		n += m->c[i].used && (!busy_only || m->c[i].busy);
	return n;
}

static int
cx_held(const struct cx_model *m)
{
	int n = 0;
	for (int i = 0; i < MAX_CTX; i++)
		n += m->c[i].used && m->c[i].has_req;
	return n;
}

static void
cx_debug(const struct cx_real *r, struct fl_aio_debug *d)
{
	fl_aio_debug_read(d);
	d->msgs_allocated -= r->base.msgs_allocated;
	d->msgs_freed -= r->base.msgs_freed;
	d->msg_double_frees -= r->base.msg_double_frees;
	d->aio_started -= r->base.aio_started;
	d->aio_completed -= r->base.aio_completed;
	d->aio_late_completions -= r->base.aio_late_completions;
	d->aio_free_pending -= r->base.aio_free_pending;
}

static void cx_teardown(void *model, void *real);

/* A failure after the allocation hands the partial state to cx_teardown:
 * every handle it closes is NULL or open. */
static int
cx_setup(struct fl_prop_ctx *ctx, void **model, void **real)
{
	static unsigned counter;
	int rc =
	        prop_model_alloc(ctx, model, sizeof(struct cx_model), real, sizeof(struct cx_real));
	if (rc != FL_PROP_PASS)
		return rc;
	struct cx_model *m = *model;
	struct cx_real *r = *real;
	char ns[64];
	snprintf(ns, sizeof ns, "prop-rr-%d-%d-c%u", (int)getppid(), (int)getpid(), counter++);
	fl_run_dir_path(ns, r->dir, sizeof r->dir);
	struct fl_rr_config cfg = { .chunk_spec = CX_CHUNK_SPEC,
		                    .server_ports = 2,
		                    .client_ports = 2 };
	rc = mkdir(r->dir, 0700) ? FL_EIO : fl_rr_domain_create(r->dir, &cfg, &r->drv);
	if (rc == 0)
		rc = fl_rr_domain_open(r->dir, 2, &r->dreq);
	if (rc == 0)
		rc = fl_rr_domain_open(r->dir, 3, &r->drep);
	if (rc == 0)
		rc = fl_sock_open_rep(&r->rep, r->drep, "svc");
	if (rc == 0)
		rc = fl_sock_open_req(&r->req, r->dreq, "svc");
	if (rc) {
		cx_teardown(m, r); /* what setup made so far */
		return fl_prop_fail(ctx, "setup: %s", fl_errname(rc));
	}
	fl_aio_debug_read(&r->base);
	m->rep_open = true;
	return FL_PROP_PASS;
}

/* Forgets slot i's closed context and frees its aio, a message the aio
 * still holds and a request the slot holds.  Returns fl_aio_free's result. */
static int
cx_free_ctx_slot(struct cx_real *r, int i)
{
	r->ctx[i] = NULL;
	fl_msg_free(fl_aio_get_msg(r->aio[i]));
	int rc = fl_aio_free(r->aio[i]);
	r->aio[i] = NULL;
	fl_msg_free(r->held[i]);
	r->held[i] = NULL;
	return rc;
}

/* Closes context i: its pending operation is cancelled and waited for; a
 * message its aio still holds and a request it holds are freed.  Returns
 * fl_aio_free's result (0: the operation was over). */
static int
cx_close_ctx(struct cx_real *r, int i)
{
	fl_ctx_close(r->ctx[i]);
	return cx_free_ctx_slot(r, i);
}

static void
cx_close_rep_sock(struct cx_model *m, struct cx_real *r)
{
	fl_sock_close(r->rep); /* closes its contexts */
	r->rep = NULL;
	for (int i = 0; i < MAX_CTX; i++) {
		if (!m->c[i].used || !m->c[i].rep)
			continue;
		cx_free_ctx_slot(r, i);
		memset(&m->c[i], 0, sizeof m->c[i]);
	}
	m->rep_open = false;
}

static void
cx_close_everything(struct cx_model *m, struct cx_real *r)
{
	for (int i = 0; i < MAX_CTX; i++)
		if (m->c[i].used && !m->c[i].rep) {
			cx_close_ctx(r, i);
			memset(&m->c[i], 0, sizeof m->c[i]);
		}
	if (r->rep)
		cx_close_rep_sock(m, r);
	fl_sock_close(r->req);
	r->req = NULL;
	for (int i = 0; i < r->nlost; i++)
		fl_aio_free(r->lost[i]); /* idle once its context closed */
	r->nlost = 0;
}

static void
cx_teardown(void *model, void *real)
{
	struct cx_real *r = real;
	if (r) {
		fl_faults_free(r->faults);
		cx_close_everything(model, r);
		fl_rr_domain_close(r->dreq);
		fl_rr_domain_close(r->drep);
		fl_rr_domain_close(r->drv);
		fl_rr_domain_unlink(r->dir);
		rmdir(r->dir);
		fl_msg_quarantine_flush();
	}
	free(model);
	free(real);
}

/* ---- commands ---- */

/* The scheduler's stream (see reqrep_ctx_prop): reseeded at the start of every
 * step from one draw of the trial's stream, in the step's span. */
static struct fl_choice *cx_sched;

static bool cx_nested; /* inside a composite step: one reseed per step */

static void
cx_step_schedule(struct fl_prop_ctx *ctx)
{
	if (!cx_nested)
		fl_choice_reseed(cx_sched, fl_choice_draw(fl_prop_choice(ctx), 1u << 16));
}

static int
cx_free_slot(const struct cx_model *m)
{
	for (int i = 0; i < MAX_CTX; i++)
		if (!m->c[i].used)
			return i;
	return -1;
}

static bool
p_cx_open_req(const void *mv)
{
	return cx_free_slot(mv) >= 0;
}

static bool
p_cx_open_rep(const void *mv)
{
	return cx_free_slot(mv) >= 0 && ((const struct cx_model *)mv)->rep_open;
}

static int
cx_open(struct fl_prop_ctx *ctx, struct cx_real *r, const struct cx_model *m, struct cx_args *a,
        bool rep)
{
	int i = cx_free_slot(m);
	a->slot = (int8_t)i;
	int rc = fl_aio_alloc(&r->aio[i], NULL, NULL);
	if (rc)
		return fl_prop_fail(ctx, "aio_alloc: %s", fl_errname(rc));
	fl_aio_set_timeout(r->aio[i], AIO_TIMEOUT_NS);
	rc = fl_ctx_open(&r->ctx[i], rep ? r->rep : r->req);
	if (rc) {
		fl_aio_free(r->aio[i]);
		r->aio[i] = NULL;
		return fl_prop_fail(ctx, "ctx_open: %s", fl_errname(rc));
	}
	return FL_PROP_PASS;
}

static int
cx_open_req_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	return cx_open(ctx, rv, mv, av, false);
}

static int
cx_open_rep_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	return cx_open(ctx, rv, mv, av, true);
}

static void
cx_open_model(void *mv, const void *av, bool rep)
{
	struct cx_ctx *c = &((struct cx_model *)mv)->c[((const struct cx_args *)av)->slot];
	memset(c, 0, sizeof *c);
	c->used = true;
	c->rep = rep;
}

static void
cx_open_req_model(void *mv, const void *av)
{
	cx_open_model(mv, av, false);
}

static void
cx_open_rep_model(void *mv, const void *av)
{
	cx_open_model(mv, av, true);
}

/* A context with pred true (the precondition makes sure one exists). */
static bool
cx_any(const void *mv, bool (*pred)(const struct cx_ctx *))
{
	const struct cx_model *m = mv;
	for (int i = 0; i < MAX_CTX; i++)
		if (m->c[i].used && pred(&m->c[i]))
			return true;
	return false;
}

static int
cx_pick(struct fl_prop_ctx *ctx, const struct cx_model *m, bool (*pred)(const struct cx_ctx *))
{
	int ok[MAX_CTX], n = 0;
	for (int i = 0; i < MAX_CTX; i++)
		if (m->c[i].used && pred(&m->c[i]))
			ok[n++] = i;
	return n ? ok[pick(ctx, (size_t)n)] : 0;
}

static bool
c_req_idle(const struct cx_ctx *c)
{
	return !c->rep && !c->busy;
}
static bool
c_recv_ok(const struct cx_ctx *c)
{
	return !c->busy && (c->rep ? !c->has_req : true);
}
static bool
c_can_reply(const struct cx_ctx *c)
{
	return c->rep && !c->busy && c->has_req;
}
static bool
c_busy(const struct cx_ctx *c)
{
	return c->busy;
}
static bool
c_any(const struct cx_ctx *c)
{
	return true;
}

static bool
p_cx_send(const void *mv)
{
	return cx_any(mv, c_req_idle);
}
static bool
p_cx_recv(const void *mv)
{
	return cx_any(mv, c_recv_ok);
}
static bool
p_cx_reply(const void *mv)
{
	return cx_any(mv, c_can_reply);
}
static bool
p_cx_busy(const void *mv)
{
	return cx_any(mv, c_busy);
}
static bool
p_cx_any(const void *mv)
{
	return cx_any(mv, c_any);
}

static void
gen_cx_send(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	struct cx_args *a = av;
	/* Up to one byte past the 64-byte class of CX_CHUNK_SPEC, so sends
	 * land on both sides of it (one draw in 8 on 0, 63, 64 or 65). */
	static const uint64_t cls64 = 64;
	static const struct fl_gen_edges edges = { 0, &cls64, 1 };
	a->ctx = (int8_t)cx_pick(ctx, mv, c_req_idle);
	a->len = (uint32_t)fl_gen_size_edges(fl_prop_choice(ctx), 0, 65, &edges);
}
static void
gen_cx_recv(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_recv_ok);
}
static void
gen_cx_reply(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_can_reply);
}
static void
gen_cx_busy(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_busy);
}
static void
gen_cx_any(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_any);
}

/* A send's outcome: 0 (the library took the message) or an error after
 * which the message is still the caller's, and it frees it. */
static int
cx_send_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	const struct cx_model *m = mv;
	struct cx_real *r = rv;
	struct cx_args *a = av;
	fl_msg *msg;
	int rc = fl_msg_alloc(&msg, a->len);
	if (rc)
		return fl_prop_fail(ctx, "msg_alloc: %s", fl_errname(rc));
	fl_aio_set_msg(r->aio[a->ctx], msg);
	rc = fl_ctx_send(r->ctx[a->ctx], r->aio[a->ctx]);
	a->rc = rc;
	if (rc) {
		if (fl_aio_get_msg(r->aio[a->ctx]) != msg)
			return fl_prop_fail(ctx,
			                    "ctx_send failed (%s) but the aio lost the message",
			                    fl_errname(rc));
		fl_msg_free(msg);
	}
#if defined(PLANT_BUGS)
	/* B5 (fixtures/b5_free_after_send.c): the caller frees the message
	 * a successful send took. */
	if (planted("b5_send") && rc == 0)
		fl_msg_free(msg);
#endif
	bool ok = rc == 0 || rc == FL_EPOOL_EMPTY || (!m->rep_open && rc == FL_ENOSERVER) ||
	          (r->faults && rc == FL_EFAULT_INJECTED);
	return ok ? FL_PROP_PASS
	          : fl_prop_fail(ctx, "ctx_send: %s (server socket %s)", fl_errname(rc),
	                         m->rep_open ? "open" : "closed");
}

/* The model of a step that started operation op (0 send, 1 recv) on its
 * context, when it did (a->rc 0): the context, now busy; else NULL. */
static struct cx_ctx *
cx_started(void *mv, const struct cx_args *a, int op)
{
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	if (a->rc)
		return NULL;
	c->busy = true;
	c->last_op = op;
	return c;
}

static void
cx_send_model(void *mv, const void *av)
{
	struct cx_ctx *c = cx_started(mv, av, 0);
	if (!c)
		return;
	if (!c->rep)
		c->sent = true;
	else
		c->has_req = false;
}

static int
cx_recv_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	const struct cx_model *m = mv;
	struct cx_real *r = rv;
	struct cx_args *a = av;
	const struct cx_ctx *c = &m->c[a->ctx];
	int want = !c->rep && !c->sent ? FL_ESTATE : 0;
	int rc = fl_ctx_recv(r->ctx[a->ctx], r->aio[a->ctx]);
	a->rc = rc;
	return rc == want ? FL_PROP_PASS : mismatch(ctx, "ctx_recv", rc, want);
}

static void
cx_recv_model(void *mv, const void *av)
{
	struct cx_ctx *c = cx_started(mv, av, 1);
	if (c)
		c->sent = false;
}

static int
cx_reply_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	struct cx_args *a = av;
	fl_msg *msg = r->held[a->ctx];
	r->held[a->ctx] = NULL;
	fl_aio_set_msg(r->aio[a->ctx], msg);
	int rc = fl_ctx_send(r->ctx[a->ctx], r->aio[a->ctx]);
	a->rc = rc;
	if (rc)
		fl_msg_free(fl_aio_get_msg(r->aio[a->ctx]));
	/* The requester's port lives as long as the REQ socket. */
	return rc == 0 || rc == FL_EPOOL_EMPTY || (r->faults && rc == FL_EFAULT_INJECTED)
	               ? FL_PROP_PASS
	               : fl_prop_fail(ctx, "reply: %s", fl_errname(rc));
}

static void
cx_reply_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	((struct cx_model *)mv)->c[a->ctx].has_req =
	        false; /* sent, or freed after the failed send */
	cx_started(mv, a, 0);
}

static int
cx_wait_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	const struct cx_model *m = mv;
	struct cx_real *r = rv;
	struct cx_args *a = av;
	const struct cx_ctx *c = &m->c[a->ctx];
	fl_aio_wait(r->aio[a->ctx]);
	int res = fl_aio_result(r->aio[a->ctx]);
	fl_msg *msg = fl_aio_get_msg(r->aio[a->ctx]);
	a->result = res;
	a->got_msg = msg != NULL;
	if (c->last_op == 0 && (res != 0 || msg))
		return fl_prop_fail(ctx, "a send completed with %s%s", fl_errname(res),
		                    msg ? " and a message" : "");
	if (c->last_op == 1 && (res == 0) != (msg != NULL))
		return fl_prop_fail(ctx, "a receive completed with %s and %s message",
		                    fl_errname(res), msg ? "a" : "no");
	if (res != 0 && res != FL_ETIMEDOUT && res != FL_ECANCELED && res != FL_ECRASHED)
		return fl_prop_fail(ctx, "a receive completed with %s", fl_errname(res));
	if (msg && c->rep)
		r->held[a->ctx] = msg;
	else
		fl_msg_free(msg);
	return FL_PROP_PASS;
}

static void
cx_wait_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	c->busy = false;
	if (c->rep && a->got_msg)
		c->has_req = true;
}

static int
cx_cancel_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	fl_aio_cancel(r->aio[((const struct cx_args *)av)->ctx]);
	return FL_PROP_PASS;
}

static int
cx_close_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	int rc = cx_close_ctx(rv, ((const struct cx_args *)av)->ctx);
	return rc ? fl_prop_fail(ctx, "aio_free after ctx_close: %s", fl_errname(rc))
	          : FL_PROP_PASS;
}

static void
cx_close_model(void *mv, const void *av)
{
	struct cx_ctx *c = &((struct cx_model *)mv)->c[((const struct cx_args *)av)->ctx];
	memset(c, 0, sizeof *c);
}

#ifdef PLANT_BUGS
/* B5 (fixtures/b5_close_pending.c): on a deadline of its own the caller
 * frees the aio and then closes the context, while the receive still
 * holds the aio.  Its author, like the model, believes both are gone. */
static bool
c_recv_pending(const struct cx_ctx *c)
{
	return c->busy && c->last_op == 1;
}
static bool
p_plant_b5_close(const void *mv)
{
	return planted("b5_close") && cx_any(mv, c_recv_pending);
}
static void
gen_b5_close(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_recv_pending);
}
static int
cx_give_up_b5_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	int i = ((const struct cx_args *)av)->ctx;
	if (fl_aio_free(r->aio[i]) != 0 && r->nlost < 8)
		r->lost[r->nlost++] = r->aio[i]; /* still pending: not freed (kept for teardown) */
	r->aio[i] = NULL;
	fl_ctx_close(r->ctx[i]);
	r->ctx[i] = NULL;
	fl_msg_free(r->held[i]);
	r->held[i] = NULL;
	return FL_PROP_PASS;
}
static void
d_cx_b5(const void *av, char *b, size_t l)
{
	snprintf(b, l, "give up on context #%d: free its aio, then close it (B5 helper)",
	         ((const struct cx_args *)av)->ctx);
}
#endif

/* ---- composites: a round trip is eight single steps, these make it
 * three (call, serve, wait) so most trials carry replies ---- */

/* REQ: send a request, wait for the send, start the receive of its reply. */
static int
cx_call_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_args *a = av;
	struct cx_model tmp = *(const struct cx_model *)mv;
	cx_nested = true;
	int rc = cx_send_real(ctx, rv, &tmp, av);
	int send_rc = a->rc;
	if (rc == FL_PROP_PASS && send_rc == 0) {
		cx_send_model(&tmp, av);
		rc = cx_wait_real(ctx, rv, &tmp, av);
		if (rc == FL_PROP_PASS) {
			cx_wait_model(&tmp, av);
			rc = cx_recv_real(ctx, rv, &tmp, av);
		}
	}
	cx_nested = false;
	a->result = send_rc; /* 0: the receive is pending (a->rc its start) */
	return rc;
}

static void
cx_call_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	if (a->result != 0)
		return;       /* the send failed: nothing changed */
	c->sent = a->rc != 0; /* the receive did not start: the reply is still owed */
	c->busy = a->rc == 0;
	c->last_op = 1;
}

static bool
c_rep_ready(const struct cx_ctx *c)
{
	return c->rep && !c->busy && !c->has_req;
}
static bool
p_cx_serve(const void *mv)
{
	return cx_any(mv, c_rep_ready);
}
static void
gen_cx_serve(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_rep_ready);
}

/* REP: receive the next request (or time out), answer it with itself. */
static int
cx_serve_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_args *a = av;
	struct cx_model tmp = *(const struct cx_model *)mv;
	cx_nested = true;
	int rc = cx_recv_real(ctx, rv, &tmp, av);
	a->got_msg = false;
	a->freed = false; /* true: a reply is pending */
	if (rc == FL_PROP_PASS && a->rc == 0) {
		cx_recv_model(&tmp, av);
		rc = cx_wait_real(ctx, rv, &tmp, av);
		if (rc == FL_PROP_PASS && a->got_msg) {
			cx_wait_model(&tmp, av);
			rc = cx_reply_real(ctx, rv, &tmp, av);
			a->freed = rc == FL_PROP_PASS && a->rc == 0;
		}
	}
	cx_nested = false;
	return rc;
}

static void
cx_serve_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	/* the request was answered (busy: the send's callback is owed) or
	 * freed after a failed reply; or none came (timed out) */
	c->has_req = false;
	c->busy = a->freed;
	c->last_op = 0;
}

static int
cx_settle_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	fl_idle_sleep_until(fl_clock_now_ns() + 5 * FL_NS_PER_MS);
	return FL_PROP_PASS;
}

static bool
p_rep_open(const void *mv)
{
	return ((const struct cx_model *)mv)->rep_open;
}
static bool
p_rep_closed(const void *mv)
{
	return !((const struct cx_model *)mv)->rep_open;
}

static int
cx_close_rep_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	/* The model is updated here too (cx_close_rep_sock): the real
	 * close and the model's drop of the REP contexts are one act. */
	struct cx_model tmp = *(const struct cx_model *)mv;
	cx_close_rep_sock(&tmp, rv);
	return FL_PROP_PASS;
}

static void
cx_close_rep_model(void *mv, const void *av)
{
	struct cx_model *m = mv;
	for (int i = 0; i < MAX_CTX; i++)
		if (m->c[i].used && m->c[i].rep)
			memset(&m->c[i], 0, sizeof m->c[i]);
	m->rep_open = false;
}

static int
cx_open_rep_sock_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	int rc = fl_sock_open_rep(&r->rep, r->drep, "svc");
	return rc ? fl_prop_fail(ctx, "sock_open_rep: %s", fl_errname(rc)) : FL_PROP_PASS;
}

static void
cx_open_rep_sock_model(void *mv, const void *av)
{
	((struct cx_model *)mv)->rep_open = true;
}

static void
d_cx(const void *av, char *b, size_t l, const char *what)
{
	const struct cx_args *a = av;
	snprintf(b, l, "%s context #%d", what, a->ctx);
}
static void
d_cx_open_req(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "open REQ");
}
static void
d_cx_open_rep(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "open REP");
}
static void
d_cx_send(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "send a request on");
}
static void
d_cx_recv(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "start a receive on");
}
static void
d_cx_reply(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "reply on");
}
static void
d_cx_wait(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "wait for the operation of");
}
static void
d_cx_cancel(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "cancel the operation of");
}
static void
d_cx_close(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "close");
}
static void
d_cx_call(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "call (send, wait, receive) on");
}
static void
d_cx_serve(const void *a, char *b, size_t l)
{
	d_cx(a, b, l, "serve one request (receive, wait, reply) on");
}

static void
gen_cx_slot(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_free_slot(mv);
}

static const struct fl_model_cmd cx_cmds[] = {
	{ .name = "open REQ context",
	  .weight = 3,
	  .precondition = p_cx_open_req,
	  .gen = gen_cx_slot,
	  .apply_real = cx_open_req_real,
	  .apply_model = cx_open_req_model,
	  .describe = d_cx_open_req },
	{ .name = "open REP context",
	  .weight = 3,
	  .precondition = p_cx_open_rep,
	  .gen = gen_cx_slot,
	  .apply_real = cx_open_rep_real,
	  .apply_model = cx_open_rep_model,
	  .describe = d_cx_open_rep },
	{ .name = "send",
	  .weight = 4,
	  .precondition = p_cx_send,
	  .gen = gen_cx_send,
	  .apply_real = cx_send_real,
	  .apply_model = cx_send_model,
	  .describe = d_cx_send },
	{ .name = "recv",
	  .weight = 4,
	  .precondition = p_cx_recv,
	  .gen = gen_cx_recv,
	  .apply_real = cx_recv_real,
	  .apply_model = cx_recv_model,
	  .describe = d_cx_recv },
	{ .name = "reply",
	  .weight = 3,
	  .precondition = p_cx_reply,
	  .gen = gen_cx_reply,
	  .apply_real = cx_reply_real,
	  .apply_model = cx_reply_model,
	  .describe = d_cx_reply },
	{ .name = "wait",
	  .weight = 4,
	  .precondition = p_cx_busy,
	  .gen = gen_cx_busy,
	  .apply_real = cx_wait_real,
	  .apply_model = cx_wait_model,
	  .describe = d_cx_wait },
	{ .name = "cancel",
	  .weight = 1,
	  .precondition = p_cx_busy,
	  .gen = gen_cx_busy,
	  .apply_real = cx_cancel_real,
	  .describe = d_cx_cancel },
	{ .name = "close context",
	  .weight = 2,
	  .precondition = p_cx_any,
	  .gen = gen_cx_any,
	  .apply_real = cx_close_real,
	  .apply_model = cx_close_model,
	  .describe = d_cx_close },
	{ .name = "let the workers run (5 ms)", .weight = 2, .apply_real = cx_settle_real },
	{ .name = "call",
	  .weight = 4,
	  .precondition = p_cx_send,
	  .gen = gen_cx_send,
	  .apply_real = cx_call_real,
	  .apply_model = cx_call_model,
	  .describe = d_cx_call },
	{ .name = "serve",
	  .weight = 4,
	  .precondition = p_cx_serve,
	  .gen = gen_cx_serve,
	  .apply_real = cx_serve_real,
	  .apply_model = cx_serve_model,
	  .describe = d_cx_serve },
	{ .name = "close the server socket",
	  .weight = 1,
	  .precondition = p_rep_open,
	  .apply_real = cx_close_rep_real,
	  .apply_model = cx_close_rep_model },
	{ .name = "reopen the server socket",
	  .weight = 2,
	  .precondition = p_rep_closed,
	  .apply_real = cx_open_rep_sock_real,
	  .apply_model = cx_open_rep_sock_model },
#ifdef PLANT_BUGS
	{ .name = "give up (B5)",
	  .weight = 2,
	  .precondition = p_plant_b5_close,
	  .gen = gen_b5_close,
	  .apply_real = cx_give_up_b5_real,
	  .apply_model = cx_close_model,
	  .describe = d_cx_b5 },
#endif
};

/* After every step: nothing freed twice, no aio freed with work pending,
 * no completion after its context closed, ports per owner, messages alive
 * within [held, held + contexts], callbacks owed within the busy aios,
 * and no chunk held by anyone but the two sockets' owners. */
static int
cx_check(struct fl_prop_ctx *ctx, const void *mv, void *rv)
{
	const struct cx_model *m = mv;
	struct cx_real *r = rv;
	struct fl_aio_debug d;
	cx_debug(r, &d);
	if (d.msg_double_frees)
		return fl_prop_fail(ctx, "%llu message(s) freed twice",
		                    (unsigned long long)d.msg_double_frees);
	if (d.aio_free_pending)
		return fl_prop_fail(ctx, "%llu aio(s) freed with an operation pending",
		                    (unsigned long long)d.aio_free_pending);
	if (d.aio_late_completions)
		return fl_prop_fail(ctx, "%llu operation(s) completed after their context closed",
		                    (unsigned long long)d.aio_late_completions);
	int64_t live = (int64_t)(d.msgs_allocated - d.msgs_freed);
	int held = cx_held(m), nctx = cx_count(m, false);
	if (live < held || live > held + nctx)
		return fl_prop_fail(
		        ctx,
		        "%lld messages alive; the property holds %d and %d contexts may "
		        "hold one each",
		        (long long)live, held, nctx);
	int64_t owed = (int64_t)(d.aio_started - d.aio_completed);
	if (owed < 0 || owed > cx_count(m, true))
		return fl_prop_fail(ctx, "%lld callbacks owed with %d operations not waited for",
		                    (long long)owed, cx_count(m, true));
	if (fl_rr_owner_ports(r->drv, 2) != 1)
		return fl_prop_fail(ctx, "the REQ socket's owner holds %u ports, not 1",
		                    fl_rr_owner_ports(r->drv, 2));
	if ((int)fl_rr_owner_ports(r->drv, 3) != (m->rep_open ? 1 : 0))
		return fl_prop_fail(ctx, "the REP socket's owner holds %u ports, the model says %d",
		                    fl_rr_owner_ports(r->drv, 3), m->rep_open ? 1 : 0);
	fl_chunk_pool *pool = fl_rr_domain_chunks(r->drv);
	struct fl_rr_stats st;
	fl_rr_stats(r->drv, &st);
	uint32_t loaned = st.chunks.cls[0].loaned + st.chunks.cls[1].loaned;
	uint32_t owned = fl_chunk_owner_loaned(pool, 2) + fl_chunk_owner_loaned(pool, 3);
	if (loaned != owned || st.chunks.cls[0].stale || st.chunks.cls[1].stale)
		return fl_prop_fail(
		        ctx,
		        "%u chunks loaned, %u of them owned by the sockets, %llu stale releases",
		        loaned, owned,
		        (unsigned long long)(st.chunks.cls[0].stale + st.chunks.cls[1].stale));
	return FL_PROP_PASS;
}

static int
cx_final(struct fl_prop_ctx *ctx, void *mv, void *rv)
{
	struct cx_model *m = mv;
	struct cx_real *r = rv;
	if (r->faults)
		fl_faults_disarm(r->faults);
	cx_close_everything(m, r);
	struct fl_aio_debug d;
	cx_debug(r, &d);
	if (d.msg_double_frees || d.aio_free_pending || d.aio_late_completions)
		return fl_prop_fail(ctx,
		                    "after close: %llu double frees, %llu aios freed pending, "
		                    "%llu late completions",
		                    (unsigned long long)d.msg_double_frees,
		                    (unsigned long long)d.aio_free_pending,
		                    (unsigned long long)d.aio_late_completions);
	if (d.msgs_allocated != d.msgs_freed)
		return fl_prop_fail(ctx, "after close: %llu messages allocated, %llu freed",
		                    (unsigned long long)d.msgs_allocated,
		                    (unsigned long long)d.msgs_freed);
	if (d.aio_started != d.aio_completed)
		return fl_prop_fail(ctx, "after close: %llu operations started, %llu callbacks run",
		                    (unsigned long long)d.aio_started,
		                    (unsigned long long)d.aio_completed);
	struct fl_rr_stats st;
	fl_rr_stats(r->drv, &st);
	if (st.chunks.cls[0].loaned || st.chunks.cls[1].loaned || st.servers_in_use ||
	    st.clients_in_use)
		return fl_prop_fail(
		        ctx, "after close: %u + %u chunks loaned, %u server and %u client ports",
		        st.chunks.cls[0].loaned, st.chunks.cls[1].loaned, st.servers_in_use,
		        st.clients_in_use);
	char names[256];
	int n = count_dir(r->dir, names, sizeof names);
	if (n != 2)
		return fl_prop_fail(
		        ctx, "run directory holds %d files (%s), only the driver's 2 expected", n,
		        names);
	return FL_PROP_PASS;
}

#define CX_SPEC(name_, setup_)                                                                     \
	{                                                                                          \
		.name = name_, .cmds = cx_cmds, .ncmds = sizeof cx_cmds / sizeof cx_cmds[0],       \
		.max_steps = 40, .avg_steps = 15, .setup = setup_, .check = cx_check,              \
		.final_check = cx_final, .teardown = cx_teardown,                                  \
	}

const struct fl_model_spec reqrep_ctx_spec = CX_SPEC("reqrep_ctx", cx_setup);

/* Sends fail at random (chunk loan, request and response send; see
 * prop_faults.h): the message stays the caller's, nothing is left behind. */
static int
cx_setup_faults(struct fl_prop_ctx *ctx, void **model, void **real)
{
	static const char *const points[] = { "transport/chunk/loan", "transport/rr/request_send",
		                              "transport/rr/response_send",
		                              "transport/rr/queue_publish" };
	return prop_setup_faults(ctx, model, real, &reqrep_ctx_spec,
	                         offsetof(struct cx_real, faults), points,
	                         sizeof points / sizeof points[0]);
}

const struct fl_model_spec reqrep_ctx_faults_spec = CX_SPEC("reqrep_ctx_faults", cx_setup_faults);

/* The model runner inside one sim actor: the sockets' workers are actors
 * too.  The scheduler draws from its own stream, reseeded from one value
 * of the trial's stream at setup and at every step (cx_step_schedule):
 * a trial replays exactly, shrinking lowers those seeds toward a plain
 * schedule, and a step's decisions cost the trial one value however many
 * there are, so deleting a step never shifts the draws of later steps. */
struct cx_run {
	struct fl_prop_ctx *ctx;
	int rc;
};

static void
cx_actor(void *arg)
{
	struct cx_run *run = arg;
	run->rc = fl_model_prop(run->ctx);
}

int
reqrep_ctx_prop(struct fl_prop_ctx *ctx)
{
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM,
		                     .max_steps = 2000000,
		                     .stack_size = 1 << 20 };
	struct fl_sim *sim = NULL;
	struct cx_run run = { ctx, FL_PROP_FAIL };
	struct fl_sim_result res;
	int rc = fl_choice_new_seeded(fl_choice_draw(fl_prop_choice(ctx), 1u << 16), &cx_sched);
	if (rc == 0) {
		cfg.choices = cx_sched;
		rc = fl_sim_new(&cfg, &sim);
	}
	if (rc == 0)
		rc = fl_sim_spawn(sim, "property", cx_actor, &run, NULL);
	if (rc == 0)
		rc = fl_sim_run(sim, &res);
	fl_sim_free(sim);
	fl_choice_free(cx_sched);
	cx_sched = NULL;
	if (rc)
		return fl_prop_fail(ctx, "sim: %s", fl_errname(rc));
	if (res.verdict != FL_SIM_OK) {
		char who[512] = "";
		for (size_t i = 0; i < res.nactors; i++) {
			size_t at = strlen(who);
			snprintf(who + at, sizeof who - at, "%s%s %s at %s", at ? ", " : "",
			         res.actors[i].name, fl_sim_state_name(res.actors[i].state),
			         res.actors[i].last_point ? res.actors[i].last_point : "");
		}
		return fl_prop_fail(ctx, "%s after %llu scheduling steps: %s",
		                    res.verdict == FL_SIM_DEADLOCK ? "deadlock" : "step limit",
		                    (unsigned long long)res.steps, who);
	}
	return run.rc;
}

#ifdef PLANT_BUGS
const struct fl_model_spec reqrep_ctx_b5_send_spec = CX_SPEC("reqrep_ctx+b5_send", cx_setup);
const struct fl_model_spec reqrep_ctx_b5_close_spec = CX_SPEC("reqrep_ctx+b5_close", cx_setup);
#endif
