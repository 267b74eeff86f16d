/* Request/response: round trips in one process and between processes,
 * several clients and servers, port exhaustion and churn, crashes of either
 * side (at chosen points and at random ones), request deadlines, bad names
 * and corrupted queues; and the edges: requests and responses of each class
 * size and one byte either side, the first and last port of each table,
 * port and chunk indices one past the last. */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "chunk_pool.h"
#include "port_pool.h"
#include "rr_internal.h"
#include "fl_test.h"

static fl_rr_domain *dom;

static int
setup_cfg(const struct fl_rr_config *cfg)
{
	return fl_rr_domain_create(test_rundir("reqrep"), cfg, &dom);
}

static int
setup(void **state)
{
	struct fl_rr_config cfg = { .chunk_spec = "64:64,1024:16",
		                    .server_ports = 8,
		                    .client_ports = 8 };
	return setup_cfg(&cfg);
}

static int
teardown(void **state)
{
	fl_rr_domain_close(dom);
	dom = NULL;
	test_rundir_remove();
	return 0;
}

static void
assert_all_returned(fl_rr_domain *d)
{
	struct fl_rr_stats st;

	fl_rr_stats(d, &st);
	if (st.servers_in_use != 0 || st.clients_in_use != 0)
		fail_msg("ports in use: %u servers, %u clients", st.servers_in_use,
		         st.clients_in_use);
	for (uint32_t i = 0; i < st.chunks.n_classes; i++)
		if (st.chunks.cls[i].loaned != 0)
			fail_msg("class %u (%u bytes): %u chunks loaned", i,
			         st.chunks.cls[i].chunk_size, st.chunks.cls[i].loaned);
}

/* Opens a server and a client of service name in dom; a failure names
 * which of the two did not open, and why. */
static void
open_pair(const char *name, fl_rr_server **s, fl_rr_client **c)
{
	int rc = fl_rr_server_open(dom, name, s);

	if (rc != 0)
		fail_msg("fl_rr_server_open(dom, \"%s\") = %d (%s), want 0", name, rc,
		         fl_errname(rc));
	rc = fl_rr_client_open(dom, name, c);
	if (rc != 0)
		fail_msg("fl_rr_client_open(dom, \"%s\") = %d (%s), want 0", name, rc,
		         fl_errname(rc));
}

/* Closes c and s, then asserts every port and chunk of dom is back. */
static void
close_pair(fl_rr_server *s, fl_rr_client *c)
{
	fl_rr_client_close(c);
	fl_rr_server_close(s);
	assert_all_returned(dom);
}

/* In a child process: maps the domain as owner and returns it, with a
 * server of svc in *s if s is not NULL, a client of svc in *c if c is
 * not NULL; the child exits with 2 if any of them fails to open. */
static fl_rr_domain *
child_open(uint64_t owner, const char *svc, fl_rr_server **s, fl_rr_client **c)
{
	fl_rr_domain *d;

	if (fl_rr_domain_open(test_rundir_path, owner, &d) != 0 ||
	    (s != NULL && fl_rr_server_open(d, svc, s) != 0) ||
	    (c != NULL && fl_rr_client_open(d, svc, c) != 0))
		_exit(2);
	return d;
}

static int
serve_one(fl_rr_domain *d, fl_rr_server *s)
{
	fl_chunk req, resp;
	int rc = fl_rr_server_take(s, &req);

	if (rc != 0)
		return rc;
	rc = fl_rr_server_loan(s, req.len, 0, &resp);
	if (rc == 0) {
		memcpy(resp.data, req.data, req.len);
		((char *)resp.data)[0] ^= 0x20; /* the "service": flip case */
		resp.len = req.len;
		rc = fl_rr_server_send(s, &req, &resp);
		if (rc != 0)
			fl_rr_release(d, &resp);
	}
	fl_rr_release(d, &req);
	return rc;
}

static void
round_trip_in_process(void **state)
{
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, resp;
	uint64_t seq;

	open_pair("echo", &s, &c);
	for (int i = 0; i < 100; i++) {
		assert_fl(fl_rr_client_loan(c, 6, 0, &req), 0);
		memcpy(req.data, "hello", 6);
		assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
		assert_int_equal(seq, (uint64_t)i + 1);
		assert_fl(fl_rr_client_take(c, &resp), FL_EAGAIN);
		assert_fl(serve_one(dom, s), 0);
		assert_fl(fl_rr_client_take(c, &resp), 0);
		assert_int_equal(resp.seq, seq);
		assert_int_equal(resp.len, 6);
		assert_string_equal(resp.data, "Hello");
		assert_fl(fl_rr_release(dom, &resp), 0);
		assert_fl(fl_rr_release(dom, &resp), FL_ESTALE);
	}
	assert_int_equal(fl_rr_client_outstanding(c), 0);
	close_pair(s, c);
}

static void
no_server_and_bad_names(void **state)
{
	fl_rr_client *c;
	fl_rr_server *s;
	fl_chunk req;
	uint64_t seq;
	char longname[100];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_fl(fl_rr_server_open(dom, "", &s), FL_ENAME);
	assert_fl(fl_rr_server_open(dom, "a/b", &s), FL_ENAME);
	assert_fl(fl_rr_server_open(dom, "..x", &s), FL_ENAME);
	assert_fl(fl_rr_server_open(dom, "a\nb", &s), FL_ENAME);
	assert_fl(fl_rr_client_open(dom, longname, &c), FL_ENAME);
	assert_fl(fl_rr_client_open(dom, "nobody", &c), 0);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), FL_ENOSERVER);
	/* A failed send leaves the chunk with the caller. */
	assert_fl(fl_rr_release(dom, &req), 0);
	fl_rr_client_close(c);
	assert_all_returned(dom);
}

static void
port_exhaustion_names_pool(void **state)
{
	fl_rr_server *s[9];
	fl_rr_client *c[9];
	struct fl_rr_stats st;

	for (int i = 0; i < 8; i++) {
		open_pair("svc", &s[i], &c[i]);
	}
	assert_fl(fl_rr_server_open(dom, "svc", &s[8]), FL_ENO_PORTS);
	assert_non_null(strstr(fl_rr_errmsg(), "server port pool"));
	assert_non_null(strstr(fl_rr_errmsg(), "8"));
	assert_fl(fl_rr_client_open(dom, "svc", &c[8]), FL_ENO_PORTS);
	assert_non_null(strstr(fl_rr_errmsg(), "client port pool"));
	fl_rr_stats(dom, &st);
	assert_int_equal(st.servers_in_use, 8);
	assert_int_equal(st.clients_in_use, 8);
	assert_int_equal(st.server_exhausted, 1);
	assert_int_equal(st.client_exhausted, 1);
	fl_rr_server_close(s[3]);
	assert_fl(fl_rr_server_open(dom, "svc", &s[3]), 0);
	for (int i = 0; i < 8; i++) {
		fl_rr_server_close(s[i]);
		fl_rr_client_close(c[i]);
	}
	assert_all_returned(dom);
}

struct churner {
	fl_rr_domain *d;
	unsigned cycles;
	int errors;
	int exhausted;
};

static void *
churn(void *arg)
{
	struct churner *ch = arg;

	for (unsigned i = 0; i < ch->cycles; i++) {
		fl_rr_server *s;
		fl_rr_client *c;
		int rc = fl_rr_server_open(ch->d, "churn", &s);

		if (rc == FL_ENO_PORTS) {
			ch->exhausted++;
			continue;
		}
		if (rc != 0) {
			ch->errors++;
			continue;
		}
		rc = fl_rr_client_open(ch->d, "churn", &c);
		if (rc == 0)
			fl_rr_client_close(c);
		else if (rc != FL_ENO_PORTS)
			ch->errors++;
		fl_rr_server_close(s);
	}
	return NULL;
}

static void
port_churn_threads(void **state)
{
	enum { N = 6 };
	struct churner ch[N];
	struct fl_rr_stats st;
	unsigned total = 0;

	/* 6 threads on 8 ports: sometimes full, never leaking. */
	for (int i = 0; i < N; i++)
		ch[i] = (struct churner){ dom, test_scale(10000 / N + 1, 20), 0, 0 };
	test_threads(N, churn, ch, sizeof(ch[0]));
	for (int i = 0; i < N; i++) {
		assert_int_equal(ch[i].errors, 0);
		total += ch[i].cycles;
	}
	fl_rr_stats(dom, &st);
	print_message("%u cycles, %" PRIu64 " server opens\n", total, st.server_opens);
	assert_all_returned(dom);
}

static void
several_servers_round_robin(void **state)
{
	fl_rr_server *s[3];
	fl_rr_client *c[2];
	fl_chunk req, resp;
	uint64_t seq;
	int taken[3] = { 0 };

	for (int i = 0; i < 3; i++)
		assert_fl(fl_rr_server_open(dom, "rr", &s[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_fl(fl_rr_client_open(dom, "rr", &c[i]), 0);
	for (int k = 0; k < 30; k++) {
		for (int i = 0; i < 2; i++) {
			assert_fl(fl_rr_client_loan(c[i], 8, 0, &req), 0);
			snprintf(req.data, 8, "c%d", i);
			req.len = 8;
			assert_fl(fl_rr_client_send(c[i], &req, 0, &seq), 0);
		}
	}
	for (int i = 0; i < 3; i++)
		while (serve_one(dom, s[i]) == 0)
			taken[i]++;
	assert_int_equal(taken[0] + taken[1] + taken[2], 60);
	for (int i = 0; i < 3; i++)
		assert_int_equal(taken[i], 20);
	for (int i = 0; i < 2; i++) {
		int n = 0;
		while (fl_rr_client_take(c[i], &resp) == 0) {
			assert_int_equal(((char *)resp.data)[0], 'C');
			assert_int_equal(((char *)resp.data)[1], '0' + i);
			fl_rr_release(dom, &resp);
			n++;
		}
		assert_int_equal(n, 30);
		assert_int_equal(fl_rr_client_outstanding(c[i]), 0);
		fl_rr_client_close(c[i]);
	}
	for (int i = 0; i < 3; i++)
		fl_rr_server_close(s[i]);
	assert_all_returned(dom);
}

static void
close_releases_queued(void **state)
{
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req;
	uint64_t seq, lost;
	int reason;

	open_pair("q", &s, &c);
	for (int i = 0; i < 5; i++) {
		assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
		assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	}
	/* Server closes with five requests queued: they are released and
	 * the client learns its requests will not be answered. */
	fl_rr_server_close(s);
	for (int i = 0; i < 5; i++) {
		assert_fl(fl_rr_client_expired(c, &lost, &reason), 0);
		assert_int_equal(reason, FL_ECRASHED);
	}
	assert_fl(fl_rr_client_expired(c, &lost, &reason), FL_EAGAIN);
	/* Responses queued at a closing client are released too. */
	assert_fl(fl_rr_server_open(dom, "q", &s), 0);
	for (int i = 0; i < 3; i++) {
		assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
		assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
		assert_fl(serve_one(dom, s), 0);
	}
	close_pair(s, c);
}

static void
request_deadline(void **state)
{
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, resp;
	uint64_t seq, lost = 0;

	open_pair("slow", &s, &c);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, fl_clock_now_ns() + 2 * FL_NS_PER_MS, &seq), 0);
	assert_fl(fl_rr_client_wait(c, fl_clock_now_ns() + 2 * FL_NS_PER_SEC, &resp, &lost),
	          FL_ETIMEDOUT);
	assert_int_equal(lost, seq);
	/* The server drops the expired request instead of answering. */
	assert_fl(fl_rr_server_take(s, &req), FL_EAGAIN);
	assert_fl(fl_rr_client_wait(c, fl_clock_now_ns() + FL_NS_PER_MS, &resp, NULL),
	          FL_ETIMEDOUT);
	close_pair(s, c);
}

/* A chunk sent after its release is refused and nothing changes hands. */
static void
send_after_release_is_stale(void **state)
{
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, got, resp;
	uint64_t seq;

	open_pair("st", &s, &c);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_release(dom, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), FL_ESTALE);
	assert_fl(fl_rr_server_take(s, &got), FL_EAGAIN);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	assert_fl(fl_rr_server_take(s, &got), 0);
	assert_fl(fl_rr_server_loan(s, 8, 0, &resp), 0);
	assert_fl(fl_rr_release(dom, &resp), 0);
	assert_fl(fl_rr_server_send(s, &got, &resp), FL_ESTALE);
	assert_fl(fl_rr_client_take(c, &resp), FL_EAGAIN);
	assert_fl(fl_rr_release(dom, &got), 0);
	close_pair(s, c);
}

static void
client_gone_before_response(void **state)
{
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, resp, r2;
	uint64_t seq;

	open_pair("g", &s, &c);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	fl_rr_client_close(c);
	assert_fl(fl_rr_server_take(s, &r2), 0);
	assert_fl(fl_rr_server_loan(s, 8, 0, &resp), 0);
	assert_fl(fl_rr_server_send(s, &r2, &resp), FL_ENOT_CONNECTED);
	assert_fl(fl_rr_release(dom, &resp), 0);
	assert_fl(fl_rr_release(dom, &r2), 0);
	fl_rr_server_close(s);
	assert_all_returned(dom);
}

/* A server answers and closes at once (its last response, then
 * close_client).  The client that has not taken the response yet must
 * get it, not FL_ECRASHED: the response was queued before the port
 * closed.  (A loaded machine preempts a client between its empty take
 * and its expiry scan; the proc-mode scenario reqrep-proc-crash lost a
 * bystander's last response that way.) */
static void
response_before_server_close_is_delivered(void **state)
{
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, resp;
	uint64_t seq, lost = 0;
	int reason = 0;

	open_pair("last", &s, &c);
	assert_fl(fl_rr_client_loan(c, 6, 0, &req), 0);
	memcpy(req.data, "hello", 6);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	assert_fl(serve_one(dom, s), 0);
	fl_rr_server_close(s);
	/* What the wait loop does after an empty take: scan for expiries. */
	assert_fl(fl_rr_client_expired(c, &lost, &reason), FL_EAGAIN);
	assert_fl(fl_rr_client_wait(c, fl_clock_now_ns() + test_ms(1000) * FL_NS_PER_MS, &resp,
	                            &lost),
	          0);
	assert_int_equal(resp.seq, seq);
	assert_string_equal(resp.data, "Hello");
	assert_fl(fl_rr_release(dom, &resp), 0);
	/* Nothing queued and the server gone: now a request is lost. */
	assert_fl(fl_rr_client_loan(c, 6, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), FL_ENOSERVER);
	assert_fl(fl_rr_release(dom, &req), 0);
	assert_int_equal(fl_rr_client_outstanding(c), 0);
	fl_rr_client_close(c);
	assert_all_returned(dom);
}

static void
corrupted_queue_is_eproto(void **state)
{
	fl_rr_server *s;
	fl_chunk req;
	struct fli_pp_pool pp;
	char p[PATH_MAX + 16];

	assert_fl(fl_rr_server_open(dom, "x", &s), 0);
	snprintf(p, sizeof(p), "%s/ports.dat", test_rundir_path);
	assert_fl(fli_pp_open(p, &pp), 0);
	/* The server holds port 0 of a fresh domain. */
	assert_fl(fli_rr_queue_push(&fli_pp_port(&pp, PP_SERVER, 0)->q, fli_rr_entry(999999, 1)),
	          0);
	assert_fl(fl_rr_server_take(s, &req), FL_EPROTO);
	assert_fl(fl_rr_server_take(s, &req), FL_EAGAIN);
	fli_pp_close(&pp);
	fl_rr_server_close(s);
	assert_all_returned(dom);
}

/* A free port's queue indices or cells that a wild write changed (any
 * process maps ports.dat writable) are laid out again by the port's next
 * owner: the queue is empty then.  Before, a server given such a port
 * never saw a request (its pops found nothing, forever) and a client
 * never saw a response. */
static void
wild_queue_of_free_port_is_laid_out_again(void **state)
{
	static const struct {
		const char *what;
		size_t off;
		uint64_t value;
	} cases[] = {
		{ "deq past enq", offsetof(struct fli_rr_queue, deq), 128 },
		{ "deq at 2^60 - 1", offsetof(struct fli_rr_queue, deq), (1ull << 60) - 1 },
		{ "enq ~0", offsetof(struct fli_rr_queue, enq), UINT64_MAX },
		{ "enq a lap ahead", offsetof(struct fli_rr_queue, enq), RR_QUEUE_CAP + 1 },
		{ "cell 0 seq wild", offsetof(struct fli_rr_queue, cells[0].seq), 0x7fffffff },
		/* Stored less the cell's index (rr_queue.h): published at 1,
		 * a hole at 2. */
		{ "cell 1 seq published", offsetof(struct fli_rr_queue, cells[1].seq), 2 - 1 },
		{ "cell 2 seq a hole", offsetof(struct fli_rr_queue, cells[2].seq),
		  (2 | (1ull << 63)) - 2 },
	};
	char p[PATH_MAX + 16];
	struct fli_pp_pool pp;
	struct fl_rr_stats st;

	snprintf(p, sizeof(p), "%s/ports.dat", test_rundir_path);
	assert_fl(fli_pp_open(p, &pp), 0);
	for (size_t i = 0; i < 2 * sizeof(cases) / sizeof(cases[0]); i++) {
		int kind = (int)(i % 2), bad = 0;
		size_t k = i / 2;
		/* The port the next open takes: the one after the last taken. */
		uint32_t idx = (uint32_t)(atomic_load(&pp.seg->tab[kind].hint) % pp.count[kind]);
		struct fli_rr_queue *q = &fli_pp_port(&pp, kind, idx)->q;
		fl_rr_server *s;
		fl_rr_client *c;

		__atomic_store_n((uint64_t *)((char *)q + cases[k].off), cases[k].value,
		                 __ATOMIC_RELEASE);
		open_pair("wq", &s, &c);
		/* More than a lap of the queue, both ways. */
		for (uint32_t n = 0; n < RR_QUEUE_CAP + 8 && bad == 0; n++) {
			fl_chunk req, resp;
			uint64_t seq;

			if (fl_rr_client_loan(c, 8, 0, &req) != 0)
				bad = 1;
			else if (memcpy(req.data, "request", 8),
			         fl_rr_client_send(c, &req, 0, &seq) != 0)
				bad = 2 + (fl_rr_release(dom, &req) != 0);
			else if (serve_one(dom, s) != 0)
				bad = 4;
			else if (fl_rr_client_take(c, &resp) != 0)
				bad = 5;
			else if (resp.seq != seq || strcmp(resp.data, "Request") != 0)
				bad = 6 + (fl_rr_release(dom, &resp) != 0);
			else if (fl_rr_release(dom, &resp) != 0)
				bad = 8;
		}
		if (bad != 0)
			fail_msg("%s port %u, %s: round trips fail (step %d)",
			         kind == PP_SERVER ? "server" : "client", idx, cases[k].what, bad);
		close_pair(s, c);
	}
	fl_rr_stats(dom, &st);
	assert_true(st.queue_cells_repaired >= 2 * sizeof(cases) / sizeof(cases[0]));
	fli_pp_close(&pp);
}

/* ---- sizes and handles at their edges ------------------------------ */

/* setup's domain: chunks "64:64,1024:16" (80), 8 server and 8 client ports. */
#define EDGE_CHUNKS 80u
#define EDGE_PORTS  8u

static void
pattern(void *data, size_t len, unsigned salt)
{
	for (size_t k = 0; k < len; k++)
		((unsigned char *)data)[k] = (unsigned char)(k * 31 + salt);
}

static bool
has_pattern(const void *data, size_t len, unsigned salt)
{
	for (size_t k = 0; k < len; k++)
		if (((const unsigned char *)data)[k] != (unsigned char)(k * 31 + salt))
			return false;
	return true;
}

/* Requests and responses of each class size and one byte either side
 * travel whole (every byte compared, lengths kept); one byte past the
 * largest class cannot be loaned (FL_EMSGSIZE); a length one past the
 * chunk's cap cannot be sent (FL_EINVAL), and the chunk stays the
 * sender's. */
static void
requests_at_class_edges(void **state)
{
	static const struct {
		uint32_t len, cap;
	} cases[] = {
		{ 0, 64 }, { 63, 64 }, { 64, 64 }, { 65, 1024 }, { 1023, 1024 }, { 1024, 1024 },
	};
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, got, resp, back;
	uint64_t seq;

	open_pair("edge", &s, &c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t len = cases[i].len;

		assert_fl(fl_rr_client_loan(c, len, 0, &req), 0);
		assert_int_equal(req.cap, cases[i].cap);
		pattern(req.data, len, (unsigned)i);
		req.len = len;
		assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
		assert_fl(fl_rr_server_take(s, &got), 0);
		if (got.len != len || got.cap != cases[i].cap ||
		    !has_pattern(got.data, len, (unsigned)i))
			fail_msg("request of %u bytes arrived as %u bytes in a %u-byte chunk%s",
			         len, got.len, got.cap, got.len == len ? ", other bytes" : "");
		assert_fl(fl_rr_server_loan(s, len, 0, &resp), 0);
		pattern(resp.data, len, (unsigned)i + 100);
		resp.len = len;
		assert_fl(fl_rr_server_send(s, &got, &resp), 0);
		assert_fl(fl_rr_release(dom, &got), 0);
		assert_fl(fl_rr_client_take(c, &back), 0);
		assert_int_equal(back.seq, seq);
		if (back.len != len || !has_pattern(back.data, len, (unsigned)i + 100))
			fail_msg("response of %u bytes arrived as %u bytes%s", len, back.len,
			         back.len == len ? ", other bytes" : "");
		assert_fl(fl_rr_release(dom, &back), 0);
	}
	assert_fl(fl_rr_client_loan(c, 1025, 0, &req), FL_EMSGSIZE);
	assert_fl(fl_rr_client_loan(c, 64, 0, &req), 0);
	req.len = req.cap + 1;
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), FL_EINVAL);
	req.len = req.cap;
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	assert_fl(fl_rr_server_take(s, &got), 0);
	assert_int_equal(got.len, 64);
	assert_fl(fl_rr_server_loan(s, 1024, 0, &resp), 0);
	resp.len = resp.cap + 1;
	assert_fl(fl_rr_server_send(s, &got, &resp), FL_EINVAL);
	assert_fl(fl_rr_client_take(c, &back), FL_EAGAIN);
	assert_fl(fl_rr_release(dom, &resp), 0);
	assert_fl(fl_rr_release(dom, &got), 0);
	close_pair(s, c);
}

/* Both port tables full: the i-th open takes port i, first to last (the
 * segment says whose each is); port EDGE_PORTS, one past the last, and
 * UINT32_MAX are no port.  The first and the last server and client ports
 * carry round trips; a response addressed one past the last client port
 * (a reply port read from shared memory) is FL_ENOT_CONNECTED and reaches
 * nobody; reply port 0 is FL_EINVAL. */
static void
ports_first_and_last(void **state)
{
	fl_rr_server *s[EDGE_PORTS];
	fl_rr_client *c[EDGE_PORTS];
	struct fli_pp_pool pp;
	char path[PATH_MAX + 16], svc[8];
	fl_chunk req, got, resp, forged;
	uint64_t seq;
	unsigned last = EDGE_PORTS - 1;

	for (unsigned i = 0; i < EDGE_PORTS; i++) {
		snprintf(svc, sizeof(svc), "p%u", i);
		open_pair(svc, &s[i], &c[i]);
	}
	snprintf(path, sizeof(path), "%s/ports.dat", test_rundir_path);
	assert_fl(fli_pp_open(path, &pp), 0);
	for (int k = 0; k < 2; k++) {
		for (unsigned i = 0; i < EDGE_PORTS; i++) {
			struct fli_pp_port *port = fli_pp_port(&pp, k, i);

			snprintf(svc, sizeof(svc), "p%u", i);
			if (port == NULL || atomic_load(&port->state) != PP_ACTIVE ||
			    strcmp(port->service, svc) != 0)
				fail_msg("%s port %u: not the %u-th open's",
				         k == PP_SERVER ? "server" : "client", i, i + 1);
		}
		assert_null(fli_pp_port(&pp, k, EDGE_PORTS));
		assert_null(fli_pp_port(&pp, k, UINT32_MAX));
	}
	fli_pp_close(&pp);
	for (unsigned i = 0; i < EDGE_PORTS; i += last) {
		assert_fl(fl_rr_client_loan(c[i], 8, 0, &req), 0);
		memcpy(req.data, "edge", 5);
		req.len = 5;
		assert_fl(fl_rr_client_send(c[i], &req, 0, &seq), 0);
		assert_fl(fl_rr_server_take(s[i], &got), 0);
		assert_int_equal(got.reply_port, i + 1);
		if (i == last) {
			assert_fl(fl_rr_server_loan(s[i], 8, 0, &resp), 0);
			forged = got;
			forged.reply_port = EDGE_PORTS + 1;
			assert_fl(fl_rr_server_send(s[i], &forged, &resp), FL_ENOT_CONNECTED);
			forged.reply_port = UINT32_MAX;
			assert_fl(fl_rr_server_send(s[i], &forged, &resp), FL_ENOT_CONNECTED);
			forged.reply_port = 0;
			assert_fl(fl_rr_server_send(s[i], &forged, &resp), FL_EINVAL);
			for (unsigned k = 0; k < EDGE_PORTS; k++)
				assert_fl(fl_rr_client_take(c[k], &forged), FL_EAGAIN);
			assert_fl(fl_rr_release(dom, &resp), 0);
		}
		/* The true reply port. */
		assert_fl(fl_rr_server_loan(s[i], 8, 0, &resp), 0);
		memcpy(resp.data, "Edge", 5);
		resp.len = 5;
		assert_fl(fl_rr_server_send(s[i], &got, &resp), 0);
		assert_fl(fl_rr_release(dom, &got), 0);
		assert_fl(fl_rr_client_take(c[i], &resp), 0);
		assert_int_equal(resp.seq, seq);
		assert_string_equal(resp.data, "Edge");
		assert_fl(fl_rr_release(dom, &resp), 0);
	}
	for (unsigned i = 0; i < EDGE_PORTS; i++) {
		fl_rr_client_close(c[i]);
		fl_rr_server_close(s[i]);
	}
	assert_all_returned(dom);
}

/* A client's scan for servers stops at the table's high mark (one past
 * the highest port ever taken): a server on a port past the first ones
 * is found; a mark written too low hides it (an error the client sees);
 * the driver's repair puts it back, counted, and it is found again. */
static void
scan_stops_at_high_mark(void **state)
{
	fl_rr_server *s, *gone;
	fl_rr_client *c;
	struct fli_pp_pool pp;
	char path[PATH_MAX + 16];
	fl_chunk req;
	uint64_t seq;

	for (int i = 0; i < 5; i++) { /* the next allocation starts past these */
		assert_fl(fl_rr_server_open(dom, "spare", &gone), 0);
		fl_rr_server_close(gone);
	}
	assert_fl(fl_rr_server_open(dom, "late", &s), 0);
	snprintf(path, sizeof(path), "%s/ports.dat", test_rundir_path);
	assert_fl(fli_pp_open(path, &pp), 0);
	assert_int_equal(atomic_load(&pp.seg->tab[PP_SERVER].high), 6);
	assert_int_equal(atomic_load(&fli_pp_port(&pp, PP_SERVER, 5)->state), PP_ACTIVE);
	assert_fl(fl_rr_client_open(dom, "late", &c), 0);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	fl_rr_client_close(c);
	atomic_store(&pp.seg->tab[PP_SERVER].high, 5); /* a wild write */
	assert_fl(fl_rr_client_open(dom, "late", &c), 0);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), FL_ENOSERVER);
	/* The driver's repair puts it back above the highest owned port,
	 * and counts it (no_corruption fails the run). */
	assert_int_equal(fl_rr_domain_repair(dom), 1);
	assert_int_equal(atomic_load(&pp.seg->tab[PP_SERVER].high), 6);
	assert_int_equal(fl_rr_domain_repair(dom), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	fl_rr_client_close(c);
	fl_rr_server_close(s);
	fli_pp_close(&pp);
	assert_all_returned(dom);
}

/* Chunk handles by index: one past the last chunk (EDGE_CHUNKS) is
 * FL_EINVAL for sends and FL_EPROTO for releases, from a caller; from a
 * queue (shared memory) FL_EPROTO; the last chunk, queued with a stale
 * generation, is skipped. */
static void
chunk_index_one_past_the_last_in_sends(void **state)
{
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, got, resp, bogus;
	struct fli_pp_pool pp;
	char path[PATH_MAX + 16];
	uint64_t seq;

	open_pair("ix", &s, &c); /* server port 0 */
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	bogus = req;
	bogus.index = EDGE_CHUNKS;
	assert_fl(fl_rr_client_send(c, &bogus, 0, &seq), FL_EINVAL);
	assert_fl(fl_rr_release(dom, &bogus), FL_EPROTO);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	assert_fl(fl_rr_server_take(s, &got), 0);
	assert_fl(fl_rr_server_loan(s, 8, 0, &resp), 0);
	bogus = resp;
	bogus.index = EDGE_CHUNKS;
	assert_fl(fl_rr_server_send(s, &got, &bogus), FL_EINVAL);
	assert_fl(fl_rr_client_take(c, &bogus), FL_EAGAIN);
	assert_fl(fl_rr_server_send(s, &got, &resp), 0);
	assert_fl(fl_rr_release(dom, &got), 0);
	assert_fl(fl_rr_client_take(c, &got), 0);
	assert_fl(fl_rr_release(dom, &got), 0);
	snprintf(path, sizeof(path), "%s/ports.dat", test_rundir_path);
	assert_fl(fli_pp_open(path, &pp), 0);
	assert_fl(fli_rr_queue_push(&fli_pp_port(&pp, PP_SERVER, 0)->q,
	                            fli_rr_entry(EDGE_CHUNKS, 0)),
	          0);
	assert_fl(fl_rr_server_take(s, &got), FL_EPROTO);
	assert_fl(fli_rr_queue_push(&fli_pp_port(&pp, PP_SERVER, 0)->q,
	                            fli_rr_entry(EDGE_CHUNKS - 1, 12345)),
	          0);
	assert_fl(fl_rr_server_take(s, &got), FL_EAGAIN);
	fli_pp_close(&pp);
	close_pair(s, c);
}

/* ---- processes ----------------------------------------------------- */

/* Where a server process stops to be killed: at the first delivery of a
 * response (scheduling point rr.deliver.push: the chunk is the client's,
 * the push has not begun) once *armed is set; it then writes 'p' to fd
 * and waits for the SIGKILL. */
struct stop_at {
	int fd;
	volatile int *armed;
};

static void
stop_at_push_when_armed(void *arg, const char *name)
{
	struct stop_at *st = arg;

	if (*st->armed && strcmp(name, "rr.deliver.push") == 0) {
		test_ready_then_pause(st->fd, 'p');
	}
}

/* Serves n requests (or until 20 s pass).  stop: NULL, or where to stop
 * to be killed (see struct stop_at). */
static void
server_process(const char *dir, uint64_t owner, const char *svc, int ready_fd, unsigned n,
               struct stop_at *stop)
{
	fl_rr_domain *d;
	fl_rr_server *s;
	struct fl_idle idle = { 0 };
	uint64_t deadline = fl_clock_now_ns() + 20 * FL_NS_PER_SEC;

	if (fl_rr_domain_open(dir, owner, &d) != 0 || fl_rr_server_open(d, svc, &s) != 0)
		_exit(2);
	if (stop != NULL) {
		struct fl_platform_ops ops = { .arg = stop,
			                       .sched_point = stop_at_push_when_armed };
		fl_platform_set_ops(&ops);
		fl_points_arm(true, false);
	}
	(void)!write(ready_fd, "r", 1);
	while (n > 0 && fl_clock_now_ns() < deadline) {
		int rc = serve_one(d, s);
		if (rc == 0)
			n--;
		else if (rc != FL_EAGAIN)
			_exit(3);
		fl_idle(&idle, rc == 0, deadline);
	}
	fl_rr_server_close(s);
	fl_rr_domain_close(d);
	_exit(n == 0 ? 0 : 4);
}

static void
round_trips_between_processes(void **state)
{
	unsigned n = test_scale(20000, 100);
	fl_rr_client *c;
	fl_chunk req, resp;
	uint64_t seq;
	int pfd[2];
	char b;

	pid_t pid = test_fork_piped(pfd);
	if (pid == 0)
		server_process(test_rundir_path, 42, "echo", pfd[1], n, NULL);
	assert_int_equal(read(pfd[0], &b, 1), 1);
	close(pfd[0]);
	close(pfd[1]);
	assert_fl(fl_rr_client_open(dom, "echo", &c), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_fl(fl_rr_client_loan(c, 32, 0, &req), 0);
		snprintf(req.data, 32, "msg %u", i);
		req.len = 32;
		assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
		assert_fl(fl_rr_client_wait(c, fl_clock_now_ns() + 5 * FL_NS_PER_SEC, &resp, NULL),
		          0);
		assert_int_equal(resp.seq, seq);
		char want[32];
		snprintf(want, sizeof(want), "Msg %u", i);
		assert_string_equal(resp.data, want);
		assert_fl(fl_rr_release(dom, &resp), 0);
	}
	assert_int_equal(test_wait_child(pid), 0);
	fl_rr_client_close(c);
	assert_all_returned(dom);
}

static void
server_killed(void **state)
{
	fl_rr_client *c;
	fl_chunk req, resp;
	uint64_t seq, lost = 0;
	uint32_t ports, chunks;
	int pfd[2];
	char b;

	pid_t pid = test_fork_piped(pfd);
	if (pid == 0) {
		fl_rr_server *s;
		fl_chunk held;
		(void)child_open(77, "k", &s, NULL);
		(void)!write(pfd[1], "r", 1);
		/* Take one request and sit on it, with a loaned response. */
		while (fl_rr_server_take(s, &held) != 0)
			usleep(100);
		fl_rr_server_loan(s, 8, 0, &held);
		test_ready_then_pause(pfd[1], 't');
	}
	assert_int_equal(read(pfd[0], &b, 1), 1);
	assert_fl(fl_rr_client_open(dom, "k", &c), 0);
	for (int i = 0; i < 3; i++) {
		assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
		assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	}
	assert_int_equal(read(pfd[0], &b, 1), 1);
	test_kill_child(pid);
	close(pfd[0]);
	close(pfd[1]);
	/* The driver's reclaim: the port, the request it held, its loaned
	 * response and the two requests still queued. */
	assert_int_equal(fl_rr_owner_ports(dom, 77), 1);
	assert_fl(fl_rr_reclaim_owner(dom, 77, &ports, &chunks), 0);
	assert_int_equal(ports, 1);
	print_message("reclaimed %u ports, %u chunks\n", ports, chunks);
	assert_fl(fl_rr_client_wait(c, fl_clock_now_ns() + 2 * FL_NS_PER_SEC, &resp, &lost),
	          FL_ECRASHED);
	fl_rr_client_close(c);
	assert_all_returned(dom);
}

static void
client_killed(void **state)
{
	fl_rr_server *s;
	fl_chunk req, resp;
	uint32_t ports, chunks;
	int pfd[2];
	char b;

	assert_fl(fl_rr_server_open(dom, "ck", &s), 0);
	pid_t pid = test_fork_piped(pfd);
	if (pid == 0) {
		fl_rr_client *c;
		fl_chunk r;
		uint64_t seq;
		(void)child_open(88, "ck", NULL, &c);
		for (int i = 0; i < 4; i++)
			if (fl_rr_client_loan(c, 8, 0, &r) != 0 ||
			    fl_rr_client_send(c, &r, 0, &seq) != 0)
				_exit(3);
		fl_rr_client_loan(c, 8, 0, &r); /* held, never sent */
		test_ready_then_pause(pfd[1], 'r');
	}
	assert_int_equal(read(pfd[0], &b, 1), 1);
	/* Answer one request while the client still lives. */
	assert_fl(serve_one(dom, s), 0);
	test_kill_child(pid);
	close(pfd[0]);
	close(pfd[1]);
	assert_fl(fl_rr_reclaim_owner(dom, 88, &ports, &chunks), 0);
	assert_int_equal(ports, 1);
	/* The held request; the queued response went with the port's queue. */
	assert_int_equal(chunks, 1);
	assert_fl(fl_rr_server_take(s, &req), 0);
	assert_fl(fl_rr_server_loan(s, 8, 0, &resp), 0);
	assert_fl(fl_rr_server_send(s, &req, &resp), FL_ENOT_CONNECTED);
	fl_rr_release(dom, &resp);
	fl_rr_release(dom, &req);
	fl_rr_server_close(s); /* releases the two requests still queued */
	assert_all_returned(dom);
}

/* Two server processes, three client processes; one server is killed
 * half-way, at a point chosen by the test, not by timing: inside the
 * delivery of a response (a SIGKILL landing anywhere would make the test
 * pass or fail by luck; the windows it could land in are each tested on
 * their own).  Clients see FL_ECRASHED for requests it held and carry on
 * with the other server; after reclaim everything is back. */
static void
failover_between_processes(void **state)
{
	unsigned n = test_scale(3000, 30);
	pid_t srv[2], cli[3];
	int pfd[2], half[2], stopped[2];
	struct stop_at stop;
	struct pollfd pl;
	char b;

#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled: the scheduling point is compiled out */
#endif
	stop.armed =
	        mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(stop.armed != MAP_FAILED);
	*stop.armed = 0;
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(pipe(half), 0);
	assert_int_equal(pipe(stopped), 0);
	stop.fd = stopped[1];
	for (int i = 0; i < 2; i++) {
		srv[i] = test_fork();
		assert_true(srv[i] >= 0);
		if (srv[i] == 0)
			server_process(test_rundir_path, 200 + i, "fo", pfd[1], UINT32_MAX,
			               i == 0 ? &stop : NULL);
		assert_int_equal(read(pfd[0], &b, 1), 1);
	}
	close(stopped[1]);
	for (int i = 0; i < 3; i++) {
		cli[i] = test_fork();
		assert_true(cli[i] >= 0);
		if (cli[i] == 0) {
			fl_rr_domain *d;
			fl_rr_client *c;
			unsigned ok = 0, crashed = 0;
			d = child_open(300 + i, "fo", NULL, &c);
			while (ok < n) {
				fl_chunk req, resp;
				uint64_t seq, lost;
				if (fl_rr_client_loan(c, 16, 0, &req) != 0)
					_exit(3);
				req.len = 16;
				int rc = fl_rr_client_send(c, &req, 0, &seq);
				if (rc != 0) {
					fl_rr_release(d, &req);
					if (rc == FL_EFULL || rc == FL_ENOSERVER)
						continue;
					_exit(4);
				}
				rc = fl_rr_client_wait(c, fl_clock_now_ns() + 10 * FL_NS_PER_SEC,
				                       &resp, &lost);
				if (rc == 0) {
					fl_rr_release(d, &resp);
					if (++ok == n / 2)
						(void)!write(half[1], "h", 1);
				} else if (rc == FL_ECRASHED) {
					crashed++;
				} else {
					_exit(5);
				}
			}
			fl_rr_client_close(c);
			fl_rr_domain_close(d);
			printf("client %d: %u answered, %u lost with FL_ECRASHED\n", i, ok,
			       crashed);
			fflush(stdout);
			_exit(0);
		}
	}
	/* Once every client is half-way, server 0 stops inside its next
	 * response delivery and is killed there. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(read(half[0], &b, 1), 1);
	*stop.armed = 1;
	pl = (struct pollfd){ .fd = stopped[0], .events = POLLIN };
	assert_int_equal(poll(&pl, 1, 20000), 1);
	assert_int_equal(read(stopped[0], &b, 1), 1);
	assert_int_equal(b, 'p');
	close(stopped[0]);
	test_kill_child(srv[0]);
	assert_fl(fl_rr_reclaim_owner(dom, 200, NULL, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(test_wait_child(cli[i]), 0);
	test_kill_child(srv[1]);
	assert_fl(fl_rr_reclaim_owner(dom, 201, NULL, NULL), 0);
	close(pfd[0]);
	close(pfd[1]);
	close(half[0]);
	close(half[1]);
	munmap((void *)stop.armed, sizeof(int));
	assert_all_returned(dom);
}

/* ---- processes killed inside a queue operation --------------------- */

/* What a producer leaves when it dies between claiming a cell and
 * publishing it: enq moved, the cell still waits for its value. */
static void
claim_and_die(struct fli_rr_queue *q)
{
	uint64_t pos = atomic_load(&q->enq);

	assert_int_equal(fli_rr_cell_seq(atomic_load(&q->cells[pos % RR_QUEUE_CAP].seq),
	                                 pos % RR_QUEUE_CAP),
	                 pos);
	assert_true(atomic_compare_exchange_strong(&q->enq, &pos, pos + 1));
}

/* The bare queue: a dead producer's cell stops the consumer until it is
 * marked a hole; a dead consumer's cell stops the producers one lap later
 * until the port's next owner repairs it. */
static void
queue_survives_dead_producer_and_consumer(void **state)
{
	struct fli_rr_queue *q = aligned_alloc(64, sizeof(*q));
	uint64_t v, pos;

	assert_non_null(q);
	fli_rr_queue_init(q);
	assert_fl(fli_rr_queue_push(q, 1), 0);
	claim_and_die(q);
	assert_fl(fli_rr_queue_push(q, 2), 0);
	assert_fl(fli_rr_queue_pop(q, &v), 0);
	assert_int_equal(v, 1);
	assert_fl(fli_rr_queue_pop(q, &v), FL_EAGAIN); /* 2 is stuck behind the claim */
	assert_int_equal(fli_rr_queue_mark_holes(q), 1);
	assert_int_equal(fli_rr_queue_mark_holes(q), 0);
	assert_true(fli_rr_queue_contains(q, 2));
	assert_fl(fli_rr_queue_pop(q, &v), 0);
	assert_int_equal(v, 2);
	assert_fl(fli_rr_queue_pop(q, &v), FL_EAGAIN);

	/* A consumer takes entry 3 and dies before giving the cell back. */
	assert_fl(fli_rr_queue_push(q, 3), 0);
	pos = atomic_load(&q->deq);
	assert_true(atomic_compare_exchange_strong(&q->deq, &pos, pos + 1));
	for (uint32_t i = 0; i < RR_QUEUE_CAP - 1; i++) {
		assert_fl(fli_rr_queue_push(q, 100 + i), 0);
		assert_fl(fli_rr_queue_pop(q, &v), 0);
		assert_int_equal(v, 100 + i);
	}
	assert_int_equal(fli_rr_queue_depth(q), 0);
	assert_fl(fli_rr_queue_push(q, 4), FL_EFULL); /* empty, yet full */
	assert_int_equal(fli_rr_queue_repair(q), 1);
	assert_int_equal(fli_rr_queue_repair(q), 0);
	assert_fl(fli_rr_queue_push(q, 4), 0);
	assert_fl(fli_rr_queue_pop(q, &v), 0);
	assert_int_equal(v, 4);
	free(q);
}

/* In a domain: a server process (owner 99, here a second handle) dies
 * inside the push of a response.  Its cell stops the client's queue and
 * the response chunk, already the client's, never arrives.  The reclaim
 * of owner 99 clears both: the next response gets through and every chunk
 * is back. */
static void
dead_sender_reclaimed(void **state)
{
	fl_rr_domain *dead;
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, resp, lostc;
	struct fli_pp_pool pp;
	struct fl_rr_stats st;
	uint32_t ports, chunks;
	uint64_t seq;
	char p[PATH_MAX + 16];

	assert_fl(fl_rr_domain_open(test_rundir_path, 99, &dead), 0);
	open_pair("d", &s, &c);
	snprintf(p, sizeof(p), "%s/ports.dat", test_rundir_path);
	assert_fl(fli_pp_open(p, &pp), 0);
	/* Owner 99's response, handed over, its cell claimed: then death. */
	assert_fl(fl_chunk_loan(fl_rr_domain_chunks(dead), 8, 0, &lostc), 0);
	struct fli_cp_hdr *h = fli_cp_hdr(fl_rr_domain_chunks(dom), lostc.index);
	atomic_store(&h->sender, 99);
	atomic_store(&h->owner, 1);
	claim_and_die(&fli_pp_port(&pp, PP_CLIENT, 0)->q);
	fl_rr_domain_close(dead);

	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	assert_fl(serve_one(dom, s), 0);
	assert_fl(fl_rr_client_take(c, &resp), FL_EAGAIN); /* behind the claim */
	assert_fl(fl_rr_reclaim_owner(dom, 99, &ports, &chunks), 0);
	assert_int_equal(ports, 0);
	assert_int_equal(chunks, 1);
	fl_rr_stats(dom, &st);
	assert_int_equal(st.queue_holes_marked, 1);
	assert_fl(fl_rr_client_take(c, &resp), 0);
	assert_int_equal(resp.seq, seq);
	assert_fl(fl_rr_release(dom, &resp), 0);
	fli_pp_close(&pp);
	close_pair(s, c);
}

/* A sender that published and died before ending the transit: the
 * reclaim finds the entry queued and leaves the chunk to its receiver. */
static void
dead_sender_published_is_delivered(void **state)
{
	fl_rr_domain *dead;
	fl_rr_server *s;
	fl_chunk req, got;
	uint32_t chunks;

	assert_fl(fl_rr_domain_open(test_rundir_path, 98, &dead), 0);
	assert_fl(fl_rr_server_open(dom, "e", &s), 0);
	{
		fl_rr_client *c;
		uint64_t seq;
		struct fli_cp_hdr *h;

		assert_fl(fl_rr_client_open(dead, "e", &c), 0);
		assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
		assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
		h = fli_cp_hdr(fl_rr_domain_chunks(dom), req.index);
		atomic_store(&h->sender, 98); /* died just after the push */
		free(c); /* the process is gone: its port stays until reclaim */
	}
	fl_rr_domain_close(dead);
	assert_fl(fl_rr_reclaim_owner(dom, 98, NULL, &chunks), 0);
	assert_int_equal(chunks, 0);
	assert_fl(fl_rr_server_take(s, &got), 0);
	assert_int_equal(got.index, req.index);
	assert_fl(fl_rr_release(dom, &got), 0);
	fl_rr_server_close(s);
	assert_all_returned(dom);
}

/* A real server process SIGKILLed inside the delivery of its response,
 * after the chunk became the client's and before the push: at that point
 * it says so on the pipe `arg` and waits to be killed. */
static void
stop_at_push(void *arg, const char *name)
{
	if (strcmp(name, "rr.deliver.push") == 0) {
		test_ready_then_pause(*(int *)arg, 'p');
	}
}

static void
server_killed_inside_delivery(void **state)
{
	fl_rr_client *c;
	fl_chunk req, resp;
	uint64_t seq, lost = 0;
	uint32_t ports, chunks;
	int pfd[2];
	char b;

#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled: the scheduling point is compiled out */
#endif
	pid_t pid = test_fork_piped(pfd);
	if (pid == 0) {
		struct fl_platform_ops ops = { .arg = &pfd[1], .sched_point = stop_at_push };
		fl_rr_domain *d;
		fl_rr_server *s;
		uint64_t deadline = fl_clock_now_ns() + 20 * FL_NS_PER_SEC;

		d = child_open(77, "k", &s, NULL);
		(void)!write(pfd[1], "r", 1);
		fl_platform_set_ops(&ops);
		fl_points_arm(true, false);
		while (fl_clock_now_ns() < deadline)
			if (serve_one(d, s) != FL_EAGAIN)
				_exit(3);
		_exit(4);
	}
	close(pfd[1]); /* a child that dies early ends our reads */
	assert_int_equal(read(pfd[0], &b, 1), 1);
	assert_fl(fl_rr_client_open(dom, "k", &c), 0);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	assert_fl(fl_rr_client_send(c, &req, 0, &seq), 0);
	assert_int_equal(read(pfd[0], &b, 1), 1);
	assert_int_equal(b, 'p');
	test_kill_child(pid);
	close(pfd[0]);
	/* Its port, the request it held and the response in transit. */
	assert_fl(fl_rr_reclaim_owner(dom, 77, &ports, &chunks), 0);
	assert_int_equal(ports, 1);
	assert_int_equal(chunks, 2);
	assert_fl(fl_rr_client_wait(c, fl_clock_now_ns() + 2 * FL_NS_PER_SEC, &resp, &lost),
	          FL_ECRASHED);
	assert_int_equal(lost, seq);
	fl_rr_client_close(c);
	assert_all_returned(dom);
}

/* The process either_side_killed_anywhere kills: a client or a server of
 * "ka" that says "r" on ready_fd once its first port is open, then loops
 * round trips, closing and reopening its port every 50. */
static int
client_round_trip(fl_rr_domain *d, fl_rr_client *c)
{
	fl_chunk req, resp;
	uint64_t seq;

	if (fl_rr_client_loan(c, 16, 0, &req) != 0)
		return -1;
	req.len = 16;
	if (fl_rr_client_send(c, &req, 0, &seq) != 0) {
		fl_rr_release(d, &req);
		return -1;
	}
	if (fl_rr_client_wait(c, fl_clock_now_ns() + FL_NS_PER_SEC, &resp, NULL) == 0)
		fl_rr_release(d, &resp);
	return 0;
}

static void
child_side(uint64_t owner, int ready_fd, bool server)
{
	fl_rr_domain *d;

	if (fl_rr_domain_open(test_rundir_path, owner, &d) != 0)
		_exit(2);
	for (;;) {
		fl_rr_server *s = NULL;
		fl_rr_client *c = NULL;

		if ((server ? fl_rr_server_open(d, "ka", &s) : fl_rr_client_open(d, "ka", &c)) != 0)
			continue;
		if (ready_fd >= 0)
			(void)!write(ready_fd, "r", 1);
		ready_fd = -1;
		for (int i = 0; i < 50;) {
			if (server)
				i += serve_one(d, s) == 0;
			else if (client_round_trip(d, c) == 0)
				i++;
			else
				break;
		}
		fl_rr_server_close(s);
		fl_rr_client_close(c);
	}
}

/* A client or a server process (in turn) working as fast as it can,
 * opening and closing its port now and then, is SIGKILLed after a random
 * delay while this process plays the other side.  Wherever the kill
 * lands, once the dead owner is reclaimed and this side has drained what
 * was in flight, only this side's port is in use and no chunk is loaned.
 * The pass does not depend on where the kills land; a failure names the
 * round. */
static void
either_side_killed_anywhere(void **state)
{
	unsigned rounds =
	        getenv("FL_ROUNDS") ? (unsigned)atoi(getenv("FL_ROUNDS")) : test_scale(40, 8);
	unsigned answered = 0, crashed = 0;

	srand((unsigned)getpid());
	for (unsigned r = 0; r < rounds; r++) {
		bool kill_server = r % 2 == 1;
		uint64_t owner = 500 + r;
		uint64_t until = fl_clock_now_ns() + (uint64_t)(rand() % 10000) * 1000;
		fl_rr_server *s = NULL;
		fl_rr_client *c = NULL;
		int pfd[2];
		char b;

		if (kill_server)
			assert_fl(fl_rr_client_open(dom, "ka", &c), 0);
		else
			assert_fl(fl_rr_server_open(dom, "ka", &s), 0);
		pid_t pid = test_fork_piped(pfd);
		if (pid == 0) {
			close(pfd[0]);
			child_side(owner, pfd[1], kill_server);
		}
		close(pfd[1]);
		assert_int_equal(read(pfd[0], &b, 1), 1);
		close(pfd[0]);
		/* Play the other side until the kill. */
		while (fl_clock_now_ns() < until) {
			if (s != NULL) {
				(void)serve_one(dom, s);
				continue;
			}
			fl_chunk req, resp;
			uint64_t seq, lost;
			if (fl_rr_client_loan(c, 16, 0, &req) != 0)
				continue;
			req.len = 16;
			if (fl_rr_client_send(c, &req, 0, &seq) != 0) {
				fl_rr_release(dom, &req);
				continue;
			}
			int rc = fl_rr_client_wait(c, until, &resp, &lost);
			if (rc == 0) {
				fl_rr_release(dom, &resp);
				answered++;
			} else {
				fl_rr_client_forget(c, seq);
			}
		}
		test_kill_child(pid);
		assert_fl(fl_rr_reclaim_owner(dom, owner, NULL, NULL), 0);
		/* Drain what was in flight towards this side. */
		if (s != NULL) {
			while (serve_one(dom, s) != FL_EAGAIN)
				;
		} else {
			fl_chunk resp;
			uint64_t lost;
			int rc;
			while ((rc = fl_rr_client_wait(c, fl_clock_now_ns() + 10 * FL_NS_PER_MS,
			                               &resp, &lost)) != FL_ETIMEDOUT) {
				if (rc == 0)
					fl_rr_release(dom, &resp);
				else
					crashed++;
			}
		}
		struct fl_rr_stats st;
		fl_rr_stats(dom, &st);
		if (st.servers_in_use + st.clients_in_use != 1 || st.chunks.cls[0].loaned != 0 ||
		    st.chunks.cls[1].loaned != 0)
			fail_msg("round %u (%s killed): %u server and %u client ports, %u + %u "
			         "chunks "
			         "loaned",
			         r, kill_server ? "server" : "client", st.servers_in_use,
			         st.clients_in_use, st.chunks.cls[0].loaned,
			         st.chunks.cls[1].loaned);
		fl_rr_client_close(c);
		fl_rr_server_close(s);
	}
	print_message("%u rounds: %u answered here, %u lost with FL_ECRASHED\n", rounds, answered,
	              crashed);
	assert_all_returned(dom);
}

/* The server closes while a request to it is being pushed (here: from
 * the sender's own scheduling point, just before the push).  The sender
 * sees the port gone after its push and takes its chunk back; the entry
 * left in the dead port's queue is dropped without a stale release when
 * the port is taken again.  The client learns the request is lost. */
static fl_rr_server *closing_server;

static void
close_server_at_push(void *arg, const char *name)
{
	(void)arg;
	if (closing_server != NULL && strcmp(name, "rr.deliver.push") == 0) {
		fl_rr_server *s = closing_server;
		closing_server = NULL;
		fl_rr_server_close(s);
	}
}

static void
server_closes_during_push(void **state)
{
	struct fl_platform_ops ops = { .sched_point = close_server_at_push };
	fl_rr_server *s, *more[8];
	fl_rr_client *c;
	fl_chunk req, resp;
	struct fl_rr_stats st;
	uint64_t seq, lost = 0;

#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled: the scheduling point is compiled out */
#endif
	open_pair("cl", &s, &c);
	assert_fl(fl_rr_client_loan(c, 8, 0, &req), 0);
	closing_server = s;
	fl_platform_set_ops(&ops);
	fl_points_arm(true, false);
	int rc = fl_rr_client_send(c, &req, 0, &seq);
	fl_points_arm(false, false);
	fl_platform_set_ops(NULL);
	assert_fl(rc, 0);
	assert_null(closing_server);
	fl_rr_stats(dom, &st);
	assert_int_equal(st.chunks.cls[0].loaned, 0); /* taken back at once */
	assert_fl(fl_rr_client_wait(c, fl_clock_now_ns() + FL_NS_PER_SEC, &resp, &lost),
	          FL_ECRASHED);
	assert_int_equal(lost, seq);
	/* Every server port taken again, the dead one among them. */
	for (int i = 0; i < 8; i++)
		assert_fl(fl_rr_server_open(dom, "cl", &more[i]), 0);
	fl_rr_stats(dom, &st);
	assert_int_equal(st.chunks.cls[0].stale, 0);
	for (int i = 0; i < 8; i++)
		fl_rr_server_close(more[i]);
	fl_rr_client_close(c);
	assert_all_returned(dom);
}

/* A server and a client of the domain in arg (mapped before the wild
 * write) open their ports, make one round trip and close.  0, or the step
 * that went wrong. */
static int
open_and_round_trip(void *arg)
{
	fl_rr_domain *d = arg;
	fl_rr_server *s;
	fl_rr_client *c;
	fl_chunk req, resp;
	uint64_t seq;

	if (fl_rr_server_open(d, "scrib", &s) != 0)
		return 10;
	if (fl_rr_client_open(d, "scrib", &c) != 0)
		return 11;
	if (fl_rr_client_loan(c, 6, 0, &req) != 0)
		return 12;
	memcpy(req.data, "hello", 6);
	if (fl_rr_client_send(c, &req, 0, &seq) != 0)
		return 13;
	if (serve_one(d, s) != 0)
		return 14;
	if (fl_rr_client_take(c, &resp) != 0 || strcmp(resp.data, "Hello") != 0)
		return 15;
	fl_rr_release(d, &resp);
	fl_rr_client_close(c);
	fl_rr_server_close(s);
	return 0;
}

/* A wild writer rewrites a port table's offset or count after a process
 * mapped ports.dat: that process keeps the tables it validated when it
 * mapped the segment, so its port allocation, server scan and delivery
 * never follow a wild port pointer.  In a child: a crash is reported, not
 * suffered. */
static void
port_tables_scribbled_after_open(void **state)
{
	static const struct test_scribble cases[] = {
		{ "tab[server].off", offsetof(struct fli_pp_seg, tab[PP_SERVER].off), 8,
		  1ull << 40 },
		{ "tab[client].off", offsetof(struct fli_pp_seg, tab[PP_CLIENT].off), 8,
		  1ull << 40 },
		{ "tab[server].count", offsetof(struct fli_pp_seg, tab[PP_SERVER].count), 4,
		  0xffffffffu },
		{ "tab[client].count", offsetof(struct fli_pp_seg, tab[PP_CLIENT].count), 4,
		  0xffffffffu },
	};
	char ppath[PATH_MAX + 16];
	int bad = 0;

	(void)state;
	snprintf(ppath, sizeof(ppath), "%s/ports.dat", test_rundir_path);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		fl_rr_domain *other;
		void *base;
		size_t size;

		assert_fl(fl_rr_domain_open(test_rundir_path, 40 + k, &other), 0);
		assert_fl(fli_rr_seg_open(ppath, "transport/port/map", &base, &size), 0);
		uint8_t saved[8];
		memcpy(saved, (char *)base + cases[k].off, 8);
		test_scribble_write(base, cases[k].off, cases[k].width, cases[k].value);
		bad += test_scribble_sides(&cases[k], "round trip", open_and_round_trip, other,
		                           dom);
		memcpy((char *)base + cases[k].off, saved, 8);
		fli_rr_seg_unmap(base, size);
		fl_rr_domain_close(other);
	}
	test_scribble_verdict(bad, cases);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(round_trip_in_process),
		T(port_tables_scribbled_after_open),
		T(no_server_and_bad_names),
		T(port_exhaustion_names_pool),
		T(port_churn_threads),
		T(several_servers_round_robin),
		T(close_releases_queued),
		T(request_deadline),
		T(send_after_release_is_stale),
		T(client_gone_before_response),
		T(response_before_server_close_is_delivered),
		T(corrupted_queue_is_eproto),
		T(wild_queue_of_free_port_is_laid_out_again),
		T(requests_at_class_edges),
		T(ports_first_and_last),
		T(scan_stops_at_high_mark),
		T(chunk_index_one_past_the_last_in_sends),
		T(round_trips_between_processes),
		T(server_killed),
		T(client_killed),
		T(failover_between_processes),
		T(queue_survives_dead_producer_and_consumer),
		T(dead_sender_reclaimed),
		T(dead_sender_published_is_delivered),
		T(server_killed_inside_delivery),
		T(server_closes_during_push),
		T(either_side_killed_anywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
