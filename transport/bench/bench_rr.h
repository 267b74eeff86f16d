/*
 * faultline's request/response round trip between two forked processes,
 * shared by faultline-rr-bench (its headline figure) and
 * faultline-cluster-bench (the floor a commit is compared with): a server
 * that echoes each request, a client that sends one request at a time
 * and times each round trip, and the pair run under deadlines.
 *
 * Private to transport/bench; not part of the transport's API.
 */
#ifndef FAULTLINE_BENCH_RR_H
#define FAULTLINE_BENCH_RR_H

#include <stdint.h>

#include "bench_common.h"

#define BENCH_RR_STOP_LEN 8                    /* a request this long ends the server */
#define BENCH_GRACE_NS    (10 * FL_NS_PER_SEC) /* past a run's sending bound */

/* What the faultline pair needs: the domain's directory (chunks.dat and
 * ports.dat, created by the caller), the measured round trips after
 * warmup more, the sending bound and how both peers wait. */
struct bench_rr_cfg {
	const char *dir;
	uint64_t rounds, warmup;
	uint64_t bound_ns;
	enum bench_idle_mode idle;
};

/* The client side's samples: lat holds room for the measured rounds. */
struct bench_rounds {
	uint64_t *lat;
	uint64_t done, warmup;
	uint64_t start_ns, end_ns;
};

/* bench_round_done records round i, from t0 to t1, unless it warmed up
 * or was the last one (the stop request, not measured); returns last. */
int bench_round_done(struct bench_rounds *r, uint64_t i, uint64_t t0, uint64_t t1, int last);

/* bench_rounds_finish puts the count, span and percentiles in res (a
 * failure when no round was measured). */
void bench_rounds_finish(struct bench_rounds *r, struct bench_result *res);

/* The faultline peers, for bench_child_spawn with a struct bench_rr_cfg
 * as arg: the server echoes until the stop request; the client measures. */
void bench_rr_server_process(void *arg, struct bench_result *res);
void bench_rr_client_process(void *arg, struct bench_result *res);

/* bench_run_pair forks server and client (arg to both), starts them, and
 * returns the client's result in *out: 0, or -1 with the reason on
 * stderr after "prog: what: ".  bound_ns is the run's sending bound (the
 * wait is that plus three grace periods).  Fork before any thread. */
int bench_run_pair(void (*server)(void *, struct bench_result *),
                   void (*client)(void *, struct bench_result *), void *arg, uint64_t bound_ns,
                   const char *prog, const char *what, struct bench_result *out);

/* bench_rt_per_sec: round trips per second of a client's result. */
double bench_rt_per_sec(const struct bench_result *r);

#endif
