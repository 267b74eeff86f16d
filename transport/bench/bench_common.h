/*
 * What the two benchmark programs share: the wait (idle) strategy of the
 * measured loops, latency percentiles, forked peer processes started on a
 * "go" byte with a result read back under a deadline, and the table of
 * figures printed as `name value` lines or one JSON object.
 *
 * Private to transport/bench; not part of the transport's API.
 */
#ifndef FAULTLINE_BENCH_COMMON_H
#define FAULTLINE_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "faultline/platform.h"

#ifndef FL_BENCH_FAULTPOINTS
#define FL_BENCH_FAULTPOINTS "unknown"
#endif

#define BENCH_MSG_LEN 32

/* How a measured loop waits when a pass found nothing to do.  spin: a
 * pause per pass for the first 64 empty passes, then sched_yield (so a
 * peer that shares the core still runs); yield: sched_yield every pass;
 * backoff: the transport's default fl_idle (spin, yield, then park up to
 * 1 ms), what an application gets without tuning. */
enum bench_idle_mode { BENCH_IDLE_SPIN, BENCH_IDLE_YIELD, BENCH_IDLE_BACKOFF };

struct bench_idle {
	enum bench_idle_mode mode;
	uint32_t empty;    /* consecutive empty passes */
	struct fl_idle fl; /* state of the backoff mode */
};

/* bench_idle_init zeroes st for `mode`. */
void bench_idle_init(struct bench_idle *st, enum bench_idle_mode mode);

/* bench_idle runs the strategy once after a pass that did `work` items. */
void bench_idle(struct bench_idle *st, int work);

/* bench_idle_parse maps "spin", "yield", "backoff": 0 or -1. */
int bench_idle_parse(const char *s, enum bench_idle_mode *out);
const char *bench_idle_name(enum bench_idle_mode mode);

/* bench_now_ns: CLOCK_MONOTONIC nanoseconds (the same clock in every
 * process, so a start stamp travels in a message). */
uint64_t bench_now_ns(void);

/* bench_samples: room for n latency samples, every page written once
 * (calloc's pages are mapped on first write: about 200 page faults for
 * 100,000 samples, which landed inside the measured round trips).  NULL
 * when out of memory; free() it. */
uint64_t *bench_samples(size_t n);

/* Latency percentiles and the largest of n samples (sorts v in place;
 * n > 0). */
struct bench_lat {
	uint64_t p50_ns, p99_ns, p999_ns, max_ns;
};
void bench_lat_summarize(uint64_t *v, size_t n, struct bench_lat *out);

/* What a peer process reports back. */
struct bench_result {
	int rc;               /* 0, or the failure (negative FL_E* or -errno) */
	char what[96];        /* what failed, for stderr */
	uint64_t count;       /* messages received / rounds completed */
	uint64_t errors;      /* out-of-order or corrupted messages */
	uint64_t start_ns;    /* first send (bench_now_ns) */
	uint64_t end_ns;      /* last receive */
	struct bench_lat lat; /* ping-pong only */
	double extra;         /* program-specific figure */
};

/*
 * A forked peer.  bench_child_spawn forks; the child waits (up to 30 s)
 * for bench_child_go, runs fn(arg, &result), writes the result to the
 * parent and _exits.  Fork the peers before the parent starts any thread
 * (a driver, NNG's pool): the child then inherits no other thread's locks.
 */
struct bench_child {
	pid_t pid;
	int go_fd;  /* parent's end: one byte starts the child */
	int res_fd; /* parent's end: the child's struct bench_result */
};

int bench_child_spawn(struct bench_child *c, void (*fn)(void *arg, struct bench_result *res),
                      void *arg);

/* bench_child_go starts the child (0 or -errno). */
int bench_child_go(struct bench_child *c);

/* bench_child_finish reads the child's result until deadline_ns, then
 * reaps it; a child that is late is killed.  Returns 0 with *res set, or
 * -1 (res->what says why).  Always closes the pipes; safe on a child that
 * never started (pid 0). */
int bench_child_finish(struct bench_child *c, uint64_t deadline_ns, struct bench_result *res);

/* bench_child_kill SIGKILLs the child (a crash, as the benchmark wants
 * it), reaps it (bounded) and closes its pipes: 0, or -1 when it could
 * not be killed or reaped. */
int bench_child_kill(struct bench_child *c);

/* bench_parent_fd_add names a parent's end of a pipe of the caller's own
 * to a child: every child forked from now on closes it (so that closing
 * it in the parent is an end-of-file its child sees), until
 * bench_parent_fd_close closes it here. */
void bench_parent_fd_add(int fd);
void bench_parent_fd_close(int fd);

/* The table of figures, printed in the order they were put. */
void bench_put(const char *name, double value, int decimals);
void bench_put_str(const char *name, const char *value);
void bench_print(int json);

/* The options both programs take: --json, --seconds S (0 < S <= 3600),
 * --repeat R (1..100), --idle spin|yield|backoff. */
struct bench_opts {
	int json;
	uint64_t bound_ns;         /* default 10 s */
	unsigned repeat;           /* default 1 */
	enum bench_idle_mode idle; /* default spin */
};

/* bench_opts_init sets the defaults. */
void bench_opts_init(struct bench_opts *o);

/* bench_opt parses argv[*i] (and its value, advancing *i) if it is one of
 * the shared options: 1 taken, 0 not one of them, -1 a bad or missing
 * value. */
int bench_opt(struct bench_opts *o, int argc, char **argv, int *i);

/* bench_args sets the defaults in o, then parses argv: the shared options
 * into o, a program's own through own (called as bench_opt is, returning 1
 * taken or 0 not its own), and --help or -h.  Returns -1 when main goes
 * on, or the status main exits with: 0 after usage(stdout) for --help, 2
 * after usage(stderr) for a bad or unknown argument. */
int bench_args(struct bench_opts *o, int argc, char **argv,
               int (*own)(int argc, char **argv, int *i),
               void (*usage)(FILE *f, const char *argv0));

/* bench_fail_set records a failure in res (first one wins). */
void bench_fail_set(struct bench_result *res, int rc, const char *what);

#endif
