/*
 * faultline-rr-bench: request/response round trips of 32-byte payloads
 * between one client and one server in separate processes, faultline's
 * shared-memory request/response against NNG req0/rep0 over ipc:// in the
 * same run, plus the cost of one chunk loan+release.
 *
 *   faultline-rr-bench [--rounds N] [--seconds S] [--repeat R] [--idle spin|yield|backoff] [--json]
 *
 * faultline runs N round trips (default 100000) after 1000 of warm-up;
 * NNG runs N/5 (at least 100): it is far slower and its percentiles settle
 * with fewer samples.  Each run stops after S seconds (default 10) and
 * reports what it did; --repeat R alternates the pairs R times and keeps
 * each one's best run.  --idle picks how both faultline peers wait for
 * the next request/response: spin (64 pauses, then sched_yield per
 * empty pass; default), yield, or backoff (the library's fl_idle, which parks
 * up to 1 ms; the client then waits in fl_rr_client_wait).  NNG blocks in
 * the kernel, its own strategy.
 *
 * The domain (chunks.dat, ports.dat) is created without a driver in
 * /dev/shm/faultline-rr-bench-<pid>, removed at exit.  Peers are forked
 * before any thread exists in the parent; every wait has a deadline.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "bench_common.h"
#include "bench_rr.h"
#include "faultline/chunk.h"
#include "faultline/error.h"
#include "faultline/reqrep.h"

static struct {
	uint64_t warmup;
	uint64_t rounds, nng_rounds;
	struct bench_opts opts; /* --json, --seconds, --repeat (best of), --idle */
	char dir[PATH_MAX];
	char url[96];
	struct bench_rr_cfg rr; /* the faultline pair's (bench_rr.h) */
} cfg;

/* ---- NNG req0/rep0 over ipc:// --------------------------------------- */

static atomic_int nng_peer_gone;

static void
nng_on_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	atomic_store(&nng_peer_gone, 1);
}

static void
nng_set_timeouts(nng_socket s)
{
	nng_duration ms = (nng_duration)((cfg.opts.bound_ns + BENCH_GRACE_NS) / FL_NS_PER_MS);

	nng_setopt_ms(s, NNG_OPT_RECVTIMEO, ms);
	nng_setopt_ms(s, NNG_OPT_SENDTIMEO, ms);
}

static void
nng_server_process(void *arg, struct bench_result *res)
{
	nng_socket s;
	int rc, stop = 0;

	if ((rc = nng_rep0_open(&s)) != 0) {
		bench_fail_set(res, -rc, "nng_rep0_open");
		return;
	}
	nng_set_timeouts(s);
	nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, nng_on_pipe_removed, NULL);
	if ((rc = nng_listen(s, cfg.url, NULL, 0)) != 0) {
		bench_fail_set(res, -rc, "nng_listen");
		goto out;
	}
	while (!stop) {
		nng_msg *m;
		if ((rc = nng_recvmsg(s, &m, 0)) != 0) {
			bench_fail_set(res, -rc, "nng server receive");
			goto out;
		}
		stop = nng_msg_len(m) == BENCH_RR_STOP_LEN;
		if ((rc = nng_sendmsg(s, m, 0)) != 0) {
			nng_msg_free(m);
			bench_fail_set(res, -rc, "nng server send");
			goto out;
		}
		res->count++;
	}
	/* NNG may drop a queued reply at close: wait (bounded) until the
	 * client, which has its reply, hangs up. */
	uint64_t deadline = bench_now_ns() + 5 * FL_NS_PER_SEC;
	while (!atomic_load(&nng_peer_gone) && bench_now_ns() < deadline)
		usleep(1000);
out:
	nng_close(s);
}

static void
nng_client_process(void *arg, struct bench_result *res)
{
	nng_socket s;
	struct bench_rounds r = { calloc(cfg.nng_rounds, sizeof(uint64_t)), 0, cfg.warmup, 0, 0 };
	uint64_t stop = bench_now_ns() + cfg.opts.bound_ns;
	uint64_t total = cfg.warmup + cfg.nng_rounds;
	int rc;

	if (r.lat == NULL) {
		bench_fail_set(res, FL_ENOMEM, "latency samples");
		return;
	}
	if ((rc = nng_req0_open(&s)) != 0) {
		bench_fail_set(res, -rc, "nng_req0_open");
		free(r.lat);
		return;
	}
	nng_set_timeouts(s);
	/* Dials in the background until the server listens; the first send
	 * waits (up to the send timeout) for the connection. */
	if ((rc = nng_dial(s, cfg.url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		bench_fail_set(res, -rc, "nng_dial");
		goto out;
	}
	for (uint64_t i = 0; i <= total; i++) {
		int last = i == total || (i > cfg.warmup + 100 && bench_now_ns() >= stop);
		size_t len = last ? BENCH_RR_STOP_LEN : BENCH_MSG_LEN;
		uint64_t t0 = bench_now_ns();
		nng_msg *m;

		if (i == cfg.warmup)
			r.start_ns = t0;
		if ((rc = nng_msg_alloc(&m, len)) != 0) {
			bench_fail_set(res, -rc, "nng_msg_alloc");
			goto out;
		}
		memset(nng_msg_body(m), (int)(i & 0xff), len);
		if ((rc = nng_sendmsg(s, m, 0)) != 0) {
			nng_msg_free(m);
			bench_fail_set(res, -rc, "nng client send");
			goto out;
		}
		if ((rc = nng_recvmsg(s, &m, 0)) != 0) {
			bench_fail_set(res, -rc, "nng client receive");
			goto out;
		}
		uint64_t t1 = bench_now_ns();
		if (nng_msg_len(m) != len)
			res->errors++;
		nng_msg_free(m);
		if (bench_round_done(&r, i, t0, t1, last))
			break;
	}
	bench_rounds_finish(&r, res);
out:
	nng_close(s);
	free(r.lat);
}

/* ---- driver of the measurements -------------------------------------- */

/* Loan + release of one 32-byte chunk, one thread, uncontended. */
static int
measure_loan_release(fl_rr_domain *d, double *ns)
{
	fl_chunk_pool *p = fl_rr_domain_chunks(d);
	uint64_t k = cfg.rounds * 10 < 1000000 ? cfg.rounds * 10 : 1000000;
	uint64_t t0 = bench_now_ns();

	for (uint64_t i = 0; i < k; i++) {
		fl_chunk ch;
		int rc = fl_chunk_loan(p, BENCH_MSG_LEN, 0, &ch);
		if (rc == 0)
			rc = fl_chunk_release(p, &ch);
		if (rc != 0) {
			fprintf(stderr, "faultline-rr-bench: loan/release: %s\n", fl_strerror(rc));
			return -1;
		}
	}
	*ns = (double)(bench_now_ns() - t0) / (double)k;
	return 0;
}

/* A chunk freed by one process and loaned by another, with `held` of the
 * 128-byte class's chunks loaned: a loan looks from where its own process
 * last freed or took a chunk, so when another process freed the only free
 * one, it scans the class (the cost of a pool with no free list; see
 * chunk_pool.h).  ns a release+loan pair, a second handle playing the other
 * process. */
static int
measure_loan_freed_elsewhere(fl_rr_domain *d, uint32_t held, double *ns)
{
	fl_chunk_pool *p = fl_rr_domain_chunks(d), *q;
	fl_rr_domain *other;
	fl_chunk *h = calloc(held, sizeof(*h));
	uint32_t n = 0, k = 20000, x = 12345;
	int rc = h == NULL ? FL_ENOMEM : fl_rr_domain_open(cfg.dir, 99, &other);

	if (rc != 0) {
		free(h);
		fprintf(stderr, "faultline-rr-bench: loan elsewhere: %s\n", fl_strerror(rc));
		return -1;
	}
	q = fl_rr_domain_chunks(other);
	while (rc == 0 && n < held)
		if ((rc = fl_chunk_loan(p, BENCH_MSG_LEN, 0, &h[n])) == 0)
			n++;
	uint64_t t0 = bench_now_ns();
	for (uint32_t i = 0; rc == 0 && i < k; i++) {
		x = x * 1103515245u + 12345u;
		uint32_t j = (x >> 8) % held;
		rc = fl_chunk_release(p, &h[j]);
		if (rc == 0)
			rc = fl_chunk_loan(q, BENCH_MSG_LEN, 0, &h[j]);
	}
	*ns = (double)(bench_now_ns() - t0) / (double)k;
	for (uint32_t i = 0; i < n; i++)
		fl_chunk_release(p, &h[i]); /* the owner word does not matter here */
	fl_rr_domain_close(other);
	free(h);
	if (rc != 0)
		fprintf(stderr, "faultline-rr-bench: loan elsewhere: %s\n", fl_strerror(rc));
	return rc != 0 ? -1 : 0;
}

/* One round trip in one thread (client loan+send, server take, loan+send,
 * release; client take, release), best ns over 5 batches: the code path
 * alone, which the two-process figures add cache-line transfers and
 * scheduling to. */
static int
measure_single_rt(fl_rr_domain *d, double *ns)
{
	fl_rr_server *s = NULL;
	fl_rr_client *c = NULL;
	uint64_t k = cfg.rounds < 100000 ? cfg.rounds : 100000;
	int rc;

	if ((rc = fl_rr_server_open(d, "bench-1t", &s)) != 0 ||
	    (rc = fl_rr_client_open(d, "bench-1t", &c)) != 0)
		goto out;
	for (int b = 0; b < 5; b++) {
		uint64_t t0 = bench_now_ns();
		for (uint64_t i = 0; i < k; i++) {
			fl_chunk req, sreq, resp, cresp;
			uint64_t seq;
			if ((rc = fl_rr_client_loan(c, BENCH_MSG_LEN, 0, &req)) != 0)
				goto out;
			memset(req.data, (int)(i & 0xff), BENCH_MSG_LEN);
			req.len = BENCH_MSG_LEN;
			if ((rc = fl_rr_client_send(c, &req, 0, &seq)) != 0) {
				fl_rr_release(d, &req);
				goto out;
			}
			if ((rc = fl_rr_server_take(s, &sreq)) != 0)
				goto out;
			if ((rc = fl_rr_server_loan(s, BENCH_MSG_LEN, 0, &resp)) == 0) {
				memcpy(resp.data, sreq.data, BENCH_MSG_LEN);
				resp.len = BENCH_MSG_LEN;
				if ((rc = fl_rr_server_send(s, &sreq, &resp)) != 0)
					fl_rr_release(d, &resp);
			}
			fl_rr_release(d, &sreq);
			if (rc != 0 || (rc = fl_rr_client_take(c, &cresp)) != 0)
				goto out;
			rc = cresp.seq == seq ? 0 : FL_EPROTO;
			fl_rr_release(d, &cresp);
			if (rc != 0)
				goto out;
		}
		double v = (double)(bench_now_ns() - t0) / (double)k;
		if (b == 0 || v < *ns)
			*ns = v;
	}
out:
	if (rc != 0)
		fprintf(stderr, "faultline-rr-bench: single-thread round trip: %s (%s)\n",
		        fl_strerror(rc), fl_rr_errmsg());
	fl_rr_client_close(c);
	fl_rr_server_close(s);
	return rc == 0 ? 0 : -1;
}

static void
usage(FILE *f, const char *argv0)
{
	fprintf(f,
	        "usage: %s [--rounds N] [--seconds S] [--repeat R] [--idle spin|yield|backoff] "
	        "[--json]\n"
	        "  --rounds N   faultline round trips (default 100000, >= 100); NNG runs N/5\n"
	        "  --seconds S  stop each run after S seconds (default 10)\n"
	        "  --repeat R   run both pairs R times, keep each one's best (default 1)\n"
	        "  --idle M     how the faultline peers wait (default spin)\n"
	        "  --json       one JSON object instead of `name value` lines\n",
	        argv0);
}

/* The option only this program takes, for bench_args. */
static int
own_opt(int argc, char **argv, int *i)
{
	if (strcmp(argv[*i], "--rounds") == 0 && *i + 1 < argc) {
		cfg.rounds = strtoull(argv[++*i], NULL, 10);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench_result ff = { 0 }, nf = { 0 };
	fl_rr_domain *d = NULL;
	double loan_ns = 0, single_ns = 0, elsewhere_ns[2] = { 0, 0 };
	int rc = 1;

	cfg.rounds = 100000;
	/* A peer that died must not kill us through its pipe. */
	signal(SIGPIPE, SIG_IGN);
	int st = bench_args(&cfg.opts, argc, argv, own_opt, usage);
	if (st >= 0)
		return st;
	if (cfg.rounds < 100)
		cfg.rounds = 100;
	cfg.nng_rounds = cfg.rounds / 5 < 100 ? 100 : cfg.rounds / 5;
	cfg.warmup = cfg.rounds >= 10000 ? 1000 : cfg.rounds / 10;
	snprintf(cfg.dir, sizeof(cfg.dir), "/dev/shm/faultline-rr-bench-%d", (int)getpid());
	snprintf(cfg.url, sizeof(cfg.url), "ipc:///tmp/faultline-rr-bench-%d.ipc", (int)getpid());
	cfg.rr = (struct bench_rr_cfg){ cfg.dir, cfg.rounds, cfg.warmup, cfg.opts.bound_ns,
		                        cfg.opts.idle };

	if (mkdir(cfg.dir, 0700) != 0) {
		perror("faultline-rr-bench: mkdir");
		return 1;
	}
	int drc = fl_rr_domain_create(cfg.dir, NULL, &d);
	if (drc != 0) {
		fprintf(stderr, "faultline-rr-bench: domain: %s\n", fl_rr_errmsg());
		goto out;
	}
	/* --repeat: the pairs alternate, each keeps its best run (highest
	 * round trips/s, with that run's percentiles), the loan cost its
	 * lowest.  NNG runs only in children: its threads never meet a fork. */
	for (unsigned r = 0; r < cfg.opts.repeat; r++) {
		struct bench_result f1, n1;
		double l1, e1, e2, s1 = 0;

		if (measure_loan_release(d, &l1) != 0 ||
		    measure_loan_freed_elsewhere(d, 8000, &e1) != 0 ||
		    measure_loan_freed_elsewhere(d, 8191, &e2) != 0 ||
		    measure_single_rt(d, &s1) != 0 ||
		    bench_run_pair(bench_rr_server_process, bench_rr_client_process, &cfg.rr,
		                   cfg.opts.bound_ns, "faultline-rr-bench", "faultline", &f1) != 0)
			goto out;
		int nrc = bench_run_pair(nng_server_process, nng_client_process, NULL,
		                         cfg.opts.bound_ns, "faultline-rr-bench", "nng", &n1);
		unlink(cfg.url + strlen("ipc://"));
		if (nrc != 0)
			goto out;
		if (r == 0 || l1 < loan_ns)
			loan_ns = l1;
		if (r == 0 || e1 < elsewhere_ns[0])
			elsewhere_ns[0] = e1;
		if (r == 0 || e2 < elsewhere_ns[1])
			elsewhere_ns[1] = e2;
		if (r == 0 || s1 < single_ns)
			single_ns = s1;
		if (r == 0 || bench_rt_per_sec(&f1) > bench_rt_per_sec(&ff))
			ff = f1;
		if (r == 0 || bench_rt_per_sec(&n1) > bench_rt_per_sec(&nf))
			nf = n1;
	}

	double ratio = bench_rt_per_sec(&ff) / bench_rt_per_sec(&nf);
	bench_put_str("faultpoints_build", FL_BENCH_FAULTPOINTS);
	bench_put_str("idle_strategy", bench_idle_name(cfg.opts.idle));
	bench_put("payload_bytes", BENCH_MSG_LEN, 0);
	bench_put("repeat", cfg.opts.repeat, 0);
	bench_put("rr_faultline_rounds", (double)ff.count, 0);
	bench_put("rr_faultline_rt_per_sec", bench_rt_per_sec(&ff), 0);
	bench_put("rr_faultline_p50_ns", (double)ff.lat.p50_ns, 0);
	bench_put("rr_faultline_p99_ns", (double)ff.lat.p99_ns, 0);
	bench_put("rr_nng_rounds", (double)nf.count, 0);
	bench_put("rr_nng_ipc_rt_per_sec", bench_rt_per_sec(&nf), 0);
	bench_put("rr_nng_ipc_p50_ns", (double)nf.lat.p50_ns, 0);
	bench_put("rr_nng_ipc_p99_ns", (double)nf.lat.p99_ns, 0);
	bench_put("rr_ratio_vs_nng", ratio, 1);
	bench_put("chunk_loan_release_ns", loan_ns, 1);
	bench_put("chunk_loan_freed_elsewhere_8000_of_8192_ns", elsewhere_ns[0], 0);
	bench_put("chunk_loan_freed_elsewhere_8191_of_8192_ns", elsewhere_ns[1], 0);
	bench_put("rr_faultline_single_thread_ns_per_rt", single_ns, 1);
	bench_print(cfg.opts.json);
	rc = 0;
out:
	fl_rr_domain_close(d);
	fl_rr_domain_unlink(cfg.dir);
	rmdir(cfg.dir);
	return rc;
}
