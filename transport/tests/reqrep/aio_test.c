/* Messages, aio and contexts: ownership accounting, round trips over many
 * contexts, close with pending operations, timeouts, errors, message and
 * context sizes at their edges. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "faultline/aio.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "fl_test.h"

static fl_rr_domain *dom;
static struct fl_aio_debug before;

static int
setup(void **state)
{
	struct fl_rr_config cfg = { .chunk_spec = "64:256,1024:16",
		                    .server_ports = 8,
		                    .client_ports = 8 };
	fl_aio_debug_read(&before);
	return fl_rr_domain_create(test_rundir("aio"), &cfg, &dom);
}

static void
assert_balanced(void)
{
	struct fl_aio_debug now;
	struct fl_rr_stats st;

	fl_aio_debug_read(&now);
	if (now.msgs_allocated - before.msgs_allocated != now.msgs_freed - before.msgs_freed)
		fail_msg("messages: %" PRIu64 " allocated, %" PRIu64 " freed",
		         now.msgs_allocated - before.msgs_allocated,
		         now.msgs_freed - before.msgs_freed);
	assert_int_equal(now.aio_started - before.aio_started,
	                 now.aio_completed - before.aio_completed);
	assert_int_equal(now.aio_late_completions, before.aio_late_completions);
	assert_int_equal(now.ctx_opened - before.ctx_opened, now.ctx_closed - before.ctx_closed);
	fl_rr_stats(dom, &st);
	assert_int_equal(st.servers_in_use + st.clients_in_use, 0);
	for (uint32_t i = 0; i < st.chunks.n_classes; i++)
		assert_int_equal(st.chunks.cls[i].loaned, 0);
}

static int
teardown(void **state)
{
	fl_rr_domain_close(dom);
	dom = NULL;
	test_rundir_remove();
	fl_msg_quarantine_flush();
	return 0;
}

static fl_msg *
msg_of(const char *s)
{
	fl_msg *m;

	assert_fl(fl_msg_alloc(&m, strlen(s) + 1), 0);
	memcpy(fl_msg_body(m), s, strlen(s) + 1);
	return m;
}

/* A request socket on service name with one context and one aio (no
 * callback); a failure names the step that failed. */
static void
open_requester(const char *name, fl_sock **req, fl_ctx **c, fl_aio **a)
{
	int rc = fl_sock_open_req(req, dom, name);

	if (rc != 0)
		fail_msg("fl_sock_open_req(dom, \"%s\") = %d (%s), want 0", name, rc,
		         fl_errname(rc));
	assert_fl(fl_ctx_open(c, *req), 0);
	assert_fl(fl_aio_alloc(a, NULL, NULL), 0);
}

/* Closes what open_requester opened. */
static void
close_requester(fl_sock *req, fl_ctx *c, fl_aio *a)
{
	fl_ctx_close(c);
	fl_aio_free(a);
	fl_sock_close(req);
}

/* Sends "q" on c through a and waits for the send, then starts a
 * receive on a that gives up after timeout_ns. */
static void
send_q_then_recv(fl_ctx *c, fl_aio *a, uint64_t timeout_ns)
{
	fl_aio_set_msg(a, msg_of("q"));
	assert_fl(fl_ctx_send(c, a), 0);
	fl_aio_wait(a);
	fl_aio_set_timeout(a, timeout_ns);
	assert_fl(fl_ctx_recv(c, a), 0);
}

/* ---- an echo server built from REP contexts and callbacks ----------- */

struct echo_ctx {
	fl_ctx *ctx;
	fl_aio *aio;
	int sending;
	int stopped;
};

static void
echo_cb(void *arg)
{
	struct echo_ctx *e = arg;
	int rc = fl_aio_result(e->aio);

	if (rc != 0) {
		e->stopped = 1; /* cancelled by close */
		return;
	}
	if (!e->sending) {
		fl_msg *m = fl_aio_get_msg(e->aio);
		char *b = fl_msg_body(m);
		b[0] ^= 0x20;
		fl_aio_set_msg(e->aio, m);
		e->sending = 1;
		if (fl_ctx_send(e->ctx, e->aio) != 0) {
			fl_msg_free(fl_aio_get_msg(e->aio));
			e->sending = 0;
			if (fl_ctx_recv(e->ctx, e->aio) != 0)
				e->stopped = 1;
		}
		return;
	}
	e->sending = 0;
	if (fl_ctx_recv(e->ctx, e->aio) != 0)
		e->stopped = 1;
}

struct echo_server {
	fl_sock *sock;
	struct echo_ctx e[4];
};

static void
echo_start(struct echo_server *srv, const char *svc)
{
	assert_fl(fl_sock_open_rep(&srv->sock, dom, svc), 0);
	for (int i = 0; i < 4; i++) {
		struct echo_ctx *e = &srv->e[i];
		memset(e, 0, sizeof(*e));
		assert_fl(fl_ctx_open(&e->ctx, srv->sock), 0);
		assert_fl(fl_aio_alloc(&e->aio, echo_cb, e), 0);
		assert_fl(fl_ctx_recv(e->ctx, e->aio), 0);
	}
}

static void
echo_stop(struct echo_server *srv)
{
	for (int i = 0; i < 4; i++) {
		fl_ctx_close(srv->e[i].ctx);
		fl_aio_wait(srv->e[i].aio);
		assert_fl(fl_aio_free(srv->e[i].aio), 0);
	}
	fl_sock_close(srv->sock);
}

/* ---- cases ---------------------------------------------------------- */

static void
msg_double_free_detected(void **state)
{
	struct fl_aio_debug d0, d1;
	fl_msg *m;

	fl_aio_debug_read(&d0);
	assert_fl(fl_msg_alloc(&m, 10), 0);
	assert_int_equal(fl_msg_len(m), 10);
	assert_fl(fl_msg_set_len(m, 4), 0);
	assert_fl(fl_msg_set_len(m, 11), FL_EMSGSIZE);
	fl_msg_free(m);
	fl_msg_free(m); /* detected, ignored */
	fl_aio_debug_read(&d1);
	assert_int_equal(d1.msg_double_frees - d0.msg_double_frees, 1);
	assert_int_equal(d1.msgs_freed - d0.msgs_freed, 1);
	fl_msg_free(NULL);
}

/* Message lengths at their edges: 0 and 1 GiB are the bounds of
 * fl_msg_alloc (one byte more is FL_EINVAL, nothing allocated); set_len
 * reaches the allocated length and no further.  Through contexts (pools
 * "64:256,1024:16"): 64, 65 and 1024 bytes make the round trip whole,
 * 1025 bytes (past the largest class) is FL_EMSGSIZE and the message
 * stays the caller's. */
static void
msg_and_ctx_sizes_at_edges(void **state)
{
	static const size_t lens[] = { 0, 1, 64, 65, 1023, 1024 };
	struct echo_server srv;
	fl_sock *req;
	fl_ctx *c;
	fl_aio *a;
	fl_msg *m = NULL;

	assert_fl(fl_msg_alloc(&m, (1u << 30) + 1), FL_EINVAL);
	assert_null(m);
	assert_fl(fl_msg_alloc(&m, 0), 0);
	assert_int_equal(fl_msg_len(m), 0);
	assert_fl(fl_msg_set_len(m, 1), FL_EMSGSIZE);
	assert_fl(fl_msg_set_len(m, 0), 0);
	fl_msg_free(m);
	assert_fl(fl_msg_alloc(&m, 64), 0);
	assert_fl(fl_msg_set_len(m, 0), 0);
	assert_fl(fl_msg_set_len(m, 64), 0);
	assert_fl(fl_msg_set_len(m, 65), FL_EMSGSIZE);
	assert_int_equal(fl_msg_len(m), 64);
	fl_msg_free(m);

	echo_start(&srv, "sizes");
	open_requester("sizes", &req, &c, &a);
	fl_aio_set_timeout(a, 5 * FL_NS_PER_SEC);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];
		unsigned char *b;

		assert_fl(fl_msg_alloc(&m, len), 0);
		b = fl_msg_body(m);
		for (size_t k = 0; k < len; k++)
			b[k] = (unsigned char)(k * 7 + i + 0x40);
		fl_aio_set_msg(a, m);
		assert_fl(fl_ctx_send(c, a), 0);
		fl_aio_wait(a);
		assert_fl(fl_aio_result(a), 0);
		assert_fl(fl_ctx_recv(c, a), 0);
		fl_aio_wait(a);
		assert_fl(fl_aio_result(a), 0);
		m = fl_aio_get_msg(a);
		assert_non_null(m);
		b = fl_msg_body(m);
		if (fl_msg_len(m) != len)
			fail_msg("%zu bytes came back as %zu", len, fl_msg_len(m));
		for (size_t k = 0; k < len; k++) {
			unsigned char want =
			        (unsigned char)(k * 7 + i + 0x40) ^ (k == 0 ? 0x20 : 0);
			if (b[k] != want)
				fail_msg("%zu bytes: byte %zu is %#x, want %#x", len, k, b[k],
				         want);
		}
		fl_msg_free(m);
	}
	assert_fl(fl_msg_alloc(&m, 1025), 0);
	fl_aio_set_msg(a, m);
	assert_fl(fl_ctx_send(c, a), FL_EMSGSIZE);
	assert_ptr_equal(fl_aio_get_msg(a), m);
	fl_msg_free(m);
	fl_ctx_close(c);
	assert_fl(fl_aio_free(a), 0);
	fl_sock_close(req);
	echo_stop(&srv);
	assert_balanced();
}

static void
free_after_successful_send_detected(void **state)
{
	struct echo_server srv;
	fl_sock *req;
	fl_ctx *c;
	fl_aio *a;
	struct fl_aio_debug d0, d1;

	echo_start(&srv, "own");
	open_requester("own", &req, &c, &a);
	fl_msg *m = msg_of("x");
	fl_aio_set_msg(a, m);
	assert_fl(fl_ctx_send(c, a), 0);
	fl_aio_wait(a);
	fl_aio_debug_read(&d0);
	fl_msg_free(m); /* the B5 bug: the library already freed it */
	fl_aio_debug_read(&d1);
	assert_int_equal(d1.msg_double_frees - d0.msg_double_frees, 1);
	assert_fl(fl_ctx_recv(c, a), 0);
	fl_aio_wait(a);
	assert_fl(fl_aio_result(a), 0);
	fl_msg_free(fl_aio_get_msg(a));
	close_requester(req, c, a);
	echo_stop(&srv);
	assert_balanced();
}

static void
round_trips_over_contexts(void **state)
{
	struct echo_server srv;
	fl_sock *req;
	fl_ctx *c[8];
	fl_aio *a[8];
	unsigned rounds = test_scale(500, 10);

	echo_start(&srv, "echo");
	assert_fl(fl_sock_open_req(&req, dom, "echo"), 0);
	for (int i = 0; i < 8; i++) {
		assert_fl(fl_ctx_open(&c[i], req), 0);
		assert_fl(fl_aio_alloc(&a[i], NULL, NULL), 0);
		fl_aio_set_timeout(a[i], 5 * FL_NS_PER_SEC);
	}
	for (unsigned r = 0; r < rounds; r++) {
		char want[8][32];
		for (int i = 0; i < 8; i++) {
			char b[32];
			snprintf(b, sizeof(b), "ctx %d round %u", i, r);
			snprintf(want[i], sizeof(want[i]), "Ctx %d round %u", i, r);
			fl_aio_set_msg(a[i], msg_of(b));
			assert_fl(fl_ctx_send(c[i], a[i]), 0);
		}
		for (int i = 0; i < 8; i++) {
			fl_aio_wait(a[i]);
			assert_fl(fl_aio_result(a[i]), 0);
			assert_fl(fl_ctx_recv(c[i], a[i]), 0);
		}
		for (int i = 0; i < 8; i++) {
			fl_aio_wait(a[i]);
			assert_fl(fl_aio_result(a[i]), 0);
			fl_msg *m = fl_aio_get_msg(a[i]);
			assert_non_null(m);
			assert_string_equal(fl_msg_body(m), want[i]);
			fl_msg_free(m);
		}
	}
	for (int i = 0; i < 8; i++) {
		fl_ctx_close(c[i]);
		assert_fl(fl_aio_free(a[i]), 0);
	}
	fl_sock_close(req);
	echo_stop(&srv);
	assert_balanced();
}

struct cb_count {
	_Atomic int calls;
	int last;
	fl_aio *aio;
};

static void
count_cb(void *arg)
{
	struct cb_count *k = arg;
	k->last = fl_aio_result(k->aio);
	atomic_fetch_add(&k->calls, 1);
}

static void
close_cancels_pending(void **state)
{
	fl_sock *rep, *req;
	fl_ctx *rc_ctx, *q_ctx;
	struct cb_count k1 = { 0 }, k2 = { 0 };
	fl_aio *a1, *a2, *a3;

	assert_fl(fl_sock_open_rep(&rep, dom, "silent"), 0);
	assert_fl(fl_sock_open_req(&req, dom, "silent"), 0);
	assert_fl(fl_ctx_open(&rc_ctx, rep), 0);
	assert_fl(fl_ctx_open(&q_ctx, req), 0);
	assert_fl(fl_aio_alloc(&a1, count_cb, &k1), 0);
	assert_fl(fl_aio_alloc(&a2, count_cb, &k2), 0);
	assert_fl(fl_aio_alloc(&a3, NULL, NULL), 0);
	k1.aio = a1;
	k2.aio = a2;
	/* A REP receive with nothing to receive, a REQ request that is
	 * received by nobody (no REP context waits... then one does not
	 * answer). */
	assert_fl(fl_ctx_recv(rc_ctx, a1), 0);
	assert_fl(fl_ctx_recv(rc_ctx, a3), FL_EBUSY);
	fl_aio_set_msg(a3, msg_of("q"));
	assert_fl(fl_ctx_send(q_ctx, a3), 0);
	fl_aio_wait(a3);
	assert_fl(fl_ctx_recv(q_ctx, a2), 0);
	/* Freeing an aio with work pending is refused and counted. */
	struct fl_aio_debug d0, d1;
	fl_aio_debug_read(&d0);
	assert_fl(fl_aio_free(a2), FL_EBUSY);
	fl_aio_debug_read(&d1);
	assert_int_equal(d1.aio_free_pending - d0.aio_free_pending, 1);
	/* The REP context got the request; close it without answering. */
	fl_aio_wait(a1);
	assert_fl(fl_aio_result(a1), 0);
	fl_msg_free(fl_aio_get_msg(a1));
	assert_fl(fl_ctx_recv(rc_ctx, a1), 0);
	fl_ctx_close(rc_ctx);
	/* Close waited for the callback: it already ran. */
	assert_int_equal(atomic_load(&k1.calls), 2);
	assert_fl(k1.last, FL_ECANCELED);
	fl_ctx_close(q_ctx);
	assert_int_equal(atomic_load(&k2.calls), 1);
	assert_fl(k2.last, FL_ECANCELED);
	assert_fl(fl_aio_free(a1), 0);
	assert_fl(fl_aio_free(a2), 0);
	assert_fl(fl_aio_free(a3), 0);
	fl_sock_close(req);
	fl_sock_close(rep);
	assert_balanced();
}

struct closer {
	fl_ctx *ctx;
	fl_aio *aio, *other;
	int second_rc;
	_Atomic int armed;
	_Atomic int done;
};

static void
close_from_callback_cb(void *arg)
{
	struct closer *k = arg;

	if (!atomic_load(&k->armed))
		return;
	fl_ctx_close(k->ctx); /* deferred: we are its callback */
	k->second_rc = fl_ctx_recv(k->ctx, k->other);
	atomic_store(&k->done, 1);
}

static void
operation_on_closing_context_fails(void **state)
{
	fl_sock *req;
	struct closer k = { 0 };
	struct fl_idle idle = { 0 };
	uint64_t dl = fl_clock_now_ns() + 5 * FL_NS_PER_SEC;

	assert_fl(fl_sock_open_req(&req, dom, "none"), 0);
	assert_fl(fl_ctx_open(&k.ctx, req), 0);
	assert_fl(fl_aio_alloc(&k.aio, close_from_callback_cb, &k), 0);
	assert_fl(fl_aio_alloc(&k.other, NULL, NULL), 0);
	/* No server: the send fails at once and keeps the message. */
	fl_msg *m = msg_of("hi");
	fl_aio_set_msg(k.aio, m);
	assert_fl(fl_ctx_send(k.ctx, k.aio), FL_ENOSERVER);
	assert_ptr_equal(fl_aio_get_msg(k.aio), m);
	fl_msg_free(m);
	assert_fl(fl_ctx_recv(k.ctx, k.aio), FL_ESTATE);
	/* A server that never answers; the callback of the timed-out receive
	 * closes its own context. */
	fl_sock *rep;
	assert_fl(fl_sock_open_rep(&rep, dom, "none"), 0);
	fl_aio_set_msg(k.aio, msg_of("hi"));
	assert_fl(fl_ctx_send(k.ctx, k.aio), 0);
	fl_aio_wait(k.aio);
	fl_aio_set_timeout(k.aio, 2 * FL_NS_PER_MS);
	atomic_store(&k.armed, 1);
	assert_fl(fl_ctx_recv(k.ctx, k.aio), 0);
	while (!atomic_load(&k.done) && fl_clock_now_ns() < dl)
		fl_idle(&idle, 0, dl);
	assert_true(atomic_load(&k.done));
	assert_fl(fl_aio_result(k.aio), FL_ETIMEDOUT);
	assert_fl(k.second_rc, FL_ECLOSED);
	fl_aio_wait(k.aio);
	assert_fl(fl_aio_free(k.aio), 0);
	assert_fl(fl_aio_free(k.other), 0);
	fl_sock_close(req);
	fl_sock_close(rep);
	assert_balanced();
}

static void
late_reply_is_discarded(void **state)
{
	fl_sock *req;
	fl_ctx *c;
	fl_aio *a;
	fl_rr_server *s;
	fl_chunk rq, rs;
	struct fl_aio_debug d0, d1;
	struct fl_idle idle = { 0 };

	/* A hand-driven server that answers late. */
	assert_fl(fl_rr_server_open(dom, "late", &s), 0);
	open_requester("late", &req, &c, &a);
	send_q_then_recv(c, a, 1 * FL_NS_PER_MS);
	fl_aio_wait(a);
	assert_fl(fl_aio_result(a), FL_ETIMEDOUT);
	fl_aio_debug_read(&d0);
	assert_fl(fl_rr_server_take(s, &rq), 0);
	assert_fl(fl_rr_server_loan(s, 4, 0, &rs), 0);
	assert_fl(fl_rr_server_send(s, &rq, &rs), 0);
	fl_rr_release(dom, &rq);
	uint64_t dl = fl_clock_now_ns() + 5 * FL_NS_PER_SEC;
	do {
		fl_aio_debug_read(&d1);
		fl_idle(&idle, 0, dl);
	} while (d1.replies_discarded == d0.replies_discarded && fl_clock_now_ns() < dl);
	assert_int_equal(d1.replies_discarded - d0.replies_discarded, 1);
	close_requester(req, c, a);
	fl_rr_server_close(s);
	assert_balanced();
}

static void
abandoned_requests_free_their_slots(void **state)
{
	fl_sock *req;
	fl_ctx *c;
	fl_aio *a;
	fl_rr_server *s;
	fl_chunk rq;

	/* More timed-out requests than FL_RR_MAX_OUTSTANDING: each one's
	 * slot must be given back when its receive gives up. */
	assert_fl(fl_rr_server_open(dom, "mute", &s), 0);
	open_requester("mute", &req, &c, &a);
	for (int i = 0; i < FL_RR_MAX_OUTSTANDING + 44; i++) {
		fl_aio_set_timeout(a, 0);
		send_q_then_recv(c, a, 100 * 1000);
		fl_aio_wait(a);
		assert_fl(fl_aio_result(a), FL_ETIMEDOUT);
		while (fl_rr_server_take(s, &rq) == 0)
			fl_rr_release(dom, &rq);
	}
	close_requester(req, c, a);
	fl_rr_server_close(s);
	assert_balanced();
}

static void
server_gone_fails_receive(void **state)
{
	fl_sock *req, *rep;
	fl_ctx *c;
	fl_aio *a;

	assert_fl(fl_sock_open_rep(&rep, dom, "gone"), 0);
	open_requester("gone", &req, &c, &a);
	send_q_then_recv(c, a, 10 * FL_NS_PER_SEC);
	fl_sock_close(rep); /* the request dies with the server's queue */
	fl_aio_wait(a);
	assert_fl(fl_aio_result(a), FL_ECRASHED);
	close_requester(req, c, a);
	assert_balanced();
}

static void
rep_send_without_request(void **state)
{
	fl_sock *rep;
	fl_ctx *c;
	fl_aio *a;
	fl_msg *m = msg_of("r");

	assert_fl(fl_sock_open_rep(&rep, dom, "x"), 0);
	assert_fl(fl_ctx_open(&c, rep), 0);
	assert_fl(fl_aio_alloc(&a, NULL, NULL), 0);
	assert_fl(fl_ctx_send(c, a), FL_EINVAL);
	fl_aio_set_msg(a, m);
	assert_fl(fl_ctx_send(c, a), FL_ESTATE);
	fl_msg_free(fl_aio_get_msg(a));
	fl_ctx_close(c);
	fl_aio_free(a);
	fl_sock_close(rep);
	assert_fl(fl_sock_open_rep(&rep, dom, "bad/name"), FL_ENAME);
	assert_balanced();
}

struct per_request {
	fl_sock *req;
	unsigned n;
	int errors;
};

static void *
context_per_request(void *arg)
{
	struct per_request *p = arg;

	for (unsigned i = 0; i < p->n; i++) {
		fl_ctx *c;
		fl_aio *a;
		if (fl_ctx_open(&c, p->req) != 0 || fl_aio_alloc(&a, NULL, NULL) != 0) {
			p->errors++;
			return NULL;
		}
		fl_aio_set_timeout(a, 5 * FL_NS_PER_SEC);
		fl_msg *m;
		fl_msg_alloc(&m, 8);
		memcpy(fl_msg_body(m), "request", 8);
		fl_aio_set_msg(a, m);
		if (fl_ctx_send(c, a) != 0) {
			fl_msg_free(fl_aio_get_msg(a));
			p->errors++;
		} else {
			fl_aio_wait(a);
			/* Every other context is closed with its receive pending. */
			if (fl_ctx_recv(c, a) != 0)
				p->errors++;
			if (i % 2 == 0) {
				fl_aio_wait(a);
				if (fl_aio_result(a) != 0)
					p->errors++;
				fl_msg *r = fl_aio_get_msg(a);
				if (r == NULL || strcmp(fl_msg_body(r), "Request") != 0)
					p->errors++;
				fl_msg_free(r);
			}
		}
		fl_ctx_close(c);
		/* A reply that beat the close is still ours. */
		fl_msg_free(fl_aio_get_msg(a));
		if (fl_aio_free(a) != 0)
			p->errors++;
	}
	return NULL;
}

static void
context_per_request_threads(void **state)
{
	struct echo_server srv;
	struct per_request p[4];
	fl_sock *req;

	echo_start(&srv, "many");
	assert_fl(fl_sock_open_req(&req, dom, "many"), 0);
	for (int i = 0; i < 4; i++)
		p[i] = (struct per_request){ req, test_scale(400, 10), 0 };
	test_threads(4, context_per_request, p, sizeof(p[0]));
	for (int i = 0; i < 4; i++)
		assert_int_equal(p[i].errors, 0);
	fl_sock_close(req);
	echo_stop(&srv);
	assert_balanced();
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(msg_double_free_detected),
		T(msg_and_ctx_sizes_at_edges),
		T(free_after_successful_send_detected),
		T(round_trips_over_contexts),
		T(close_cancels_pending),
		T(operation_on_closing_context_fails),
		T(late_reply_is_discarded),
		T(abandoned_requests_free_their_slots),
		T(server_gone_fails_receive),
		T(rep_send_without_request),
		T(context_per_request_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
