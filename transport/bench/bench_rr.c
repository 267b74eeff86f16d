/*
 * The request/response round trip both faultline-rr-bench and
 * faultline-cluster-bench measure; see bench_rr.h.
 */
#include "bench_rr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/chunk.h"
#include "faultline/error.h"
#include "faultline/reqrep.h"

int
bench_round_done(struct bench_rounds *r, uint64_t i, uint64_t t0, uint64_t t1, int last)
{
	if (last)
		return 1;
	if (i >= r->warmup) {
		r->lat[r->done++] = t1 - t0;
		r->end_ns = t1;
	}
	return 0;
}

void
bench_rounds_finish(struct bench_rounds *r, struct bench_result *res)
{
	if (r->done == 0) {
		bench_fail_set(res, FL_ETIMEDOUT, "no round trip completed");
		return;
	}
	res->count = r->done;
	res->start_ns = r->start_ns;
	res->end_ns = r->end_ns;
	bench_lat_summarize(r->lat, r->done, &res->lat);
}

void
bench_rr_server_process(void *arg, struct bench_result *res)
{
	const struct bench_rr_cfg *cfg = arg;
	fl_rr_domain *d = NULL;
	fl_rr_server *s = NULL;
	struct bench_idle idle;
	uint64_t hard = bench_now_ns() + cfg->bound_ns + 2 * BENCH_GRACE_NS;
	int rc, stop = 0;

	bench_idle_init(&idle, cfg->idle);
	if ((rc = fl_rr_domain_open(cfg->dir, 2, &d)) != 0 ||
	    (rc = fl_rr_server_open(d, "bench", &s)) != 0) {
		bench_fail_set(res, rc, fl_rr_errmsg());
		goto out;
	}
	while (!stop) {
		fl_chunk req, resp;

		rc = fl_rr_server_take(s, &req);
		if (rc == FL_EAGAIN) {
			if (bench_now_ns() >= hard) {
				bench_fail_set(res, FL_ETIMEDOUT,
				               "server: the stop request never came");
				goto out;
			}
			bench_idle(&idle, 0);
			continue;
		}
		if (rc != 0) {
			bench_fail_set(res, rc, "server take");
			goto out;
		}
		stop = req.len == BENCH_RR_STOP_LEN;
		rc = fl_rr_server_loan(s, req.len, 0, &resp);
		if (rc == 0) {
			memcpy(resp.data, req.data, req.len);
			resp.len = req.len;
			rc = fl_rr_server_send(s, &req, &resp);
			if (rc != 0)
				fl_rr_release(d, &resp);
		}
		fl_rr_release(d, &req);
		if (rc != 0) {
			bench_fail_set(res, rc, "server loan/send");
			goto out;
		}
		res->count++;
		bench_idle(&idle, 1);
	}
out:
	fl_rr_server_close(s);
	fl_rr_domain_close(d);
}

/* wait_response waits for the answer to the last request until deadline. */
static int
wait_response(const struct bench_rr_cfg *cfg, fl_rr_client *c, uint64_t deadline,
              struct bench_idle *idle, fl_chunk *resp)
{
	uint32_t pass = 0;

	if (cfg->idle == BENCH_IDLE_BACKOFF)
		return fl_rr_client_wait(c, deadline, resp, NULL);
	for (;;) {
		int rc = fl_rr_client_take(c, resp);
		if (rc != FL_EAGAIN) {
			bench_idle(idle, 1);
			return rc;
		}
		/* The clock and expiry checks cost more than a take: every 64
		 * empty passes, as fl_rr_client_wait does for expiry. */
		if ((++pass & 63) == 0) {
			uint64_t lost;
			int reason;
			if (fl_rr_client_expired(c, &lost, &reason) == 0)
				return reason;
			if (bench_now_ns() >= deadline)
				return FL_ETIMEDOUT;
		}
		bench_idle(idle, 0);
	}
}

/* request sends one request of len bytes, retrying while no server is
 * offering the service yet (the server process may still be starting). */
static int
request(fl_rr_domain *d, fl_rr_client *c, size_t len, uint64_t i, uint64_t deadline,
        struct bench_idle *idle, uint64_t *seq)
{
	fl_chunk req;
	int rc = fl_rr_client_loan(c, len, 0, &req);

	if (rc != 0)
		return rc;
	memset(req.data, (int)(i & 0xff), len);
	req.len = (uint32_t)len;
	while ((rc = fl_rr_client_send(c, &req, 0, seq)) == FL_ENOSERVER || rc == FL_EFULL) {
		if (bench_now_ns() >= deadline)
			break;
		bench_idle(idle, 0);
	}
	if (rc != 0)
		fl_rr_release(d, &req); /* a failed send leaves it ours */
	return rc;
}

void
bench_rr_client_process(void *arg, struct bench_result *res)
{
	const struct bench_rr_cfg *cfg = arg;
	fl_rr_domain *d = NULL;
	fl_rr_client *c = NULL;
	struct bench_idle idle;
	struct bench_rounds r = { bench_samples(cfg->rounds), 0, cfg->warmup, 0, 0 };
	uint64_t stop = bench_now_ns() + cfg->bound_ns, hard = stop + BENCH_GRACE_NS;
	uint64_t total = cfg->warmup + cfg->rounds;
	int rc;

	bench_idle_init(&idle, cfg->idle);
	if (r.lat == NULL) {
		bench_fail_set(res, FL_ENOMEM, "latency samples");
		return;
	}
	if ((rc = fl_rr_domain_open(cfg->dir, 3, &d)) != 0 ||
	    (rc = fl_rr_client_open(d, "bench", &c)) != 0) {
		bench_fail_set(res, rc, fl_rr_errmsg());
		goto out;
	}
	for (uint64_t i = 0; i <= total; i++) {
		int last = i == total || (i > cfg->warmup + 100 && bench_now_ns() >= stop);
		uint64_t seq, t0 = bench_now_ns();
		fl_chunk resp;

		if (i == cfg->warmup)
			r.start_ns = t0;
		rc = request(d, c, last ? BENCH_RR_STOP_LEN : BENCH_MSG_LEN, i, hard, &idle, &seq);
		if (rc != 0) {
			bench_fail_set(res, rc, "client loan/send");
			goto out;
		}
		rc = wait_response(cfg, c, hard, &idle, &resp);
		if (rc != 0) {
			bench_fail_set(res, rc, "client waiting for the response");
			goto out;
		}
		uint64_t t1 = bench_now_ns();
		if (resp.seq != seq || resp.len != (last ? BENCH_RR_STOP_LEN : BENCH_MSG_LEN))
			res->errors++;
		fl_rr_release(d, &resp);
		if (bench_round_done(&r, i, t0, t1, last))
			break;
	}
	bench_rounds_finish(&r, res);
out:
	fl_rr_client_close(c);
	fl_rr_domain_close(d);
	free(r.lat);
}

int
bench_run_pair(void (*server)(void *, struct bench_result *),
               void (*client)(void *, struct bench_result *), void *arg, uint64_t bound_ns,
               const char *prog, const char *what, struct bench_result *out)
{
	struct bench_child cs, cc;
	struct bench_result rs, rc_;
	int rc = -1;

	memset(&cc, 0, sizeof(cc));
	if (bench_child_spawn(&cs, server, arg) == 0 && bench_child_spawn(&cc, client, arg) == 0 &&
	    bench_child_go(&cs) == 0 && bench_child_go(&cc) == 0)
		rc = 0;
	uint64_t deadline = bench_now_ns() + bound_ns + 3 * BENCH_GRACE_NS;
	int fc = bench_child_finish(&cc, deadline, &rc_);
	int fs = bench_child_finish(&cs, deadline, &rs);
	if (rc != 0 || fc != 0 || fs != 0) {
		const struct bench_result *bad = fc != 0 ? &rc_ : &rs;
		fprintf(stderr, "%s: %s: %s (%d)\n", prog, what, bad->what, bad->rc);
		return -1;
	}
	if (rc_.errors != 0) {
		fprintf(stderr, "%s: %s: %" PRIu64 " wrong responses\n", prog, what, rc_.errors);
		return -1;
	}
	*out = rc_;
	return 0;
}

double
bench_rt_per_sec(const struct bench_result *r)
{
	uint64_t dt = r->end_ns > r->start_ns ? r->end_ns - r->start_ns : 1;

	return (double)r->count * 1e9 / (double)dt;
}
