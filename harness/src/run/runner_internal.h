/*
 * What the runner's three parts share: the parent (runner.c), which
 * forks a child per run or hands the run to the persistent worker
 * (runner_worker.c), and the child (runner_child.c), which runs it and
 * sends back frames tagged below.
 */
#ifndef FL_HARNESS_RUNNER_INTERNAL_H
#define FL_HARNESS_RUNNER_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "faultline/sandbox.h"
#include "faultline/scenario.h"

#include "run/runner.h"

#define FL_STR_(x) #x
#define FL_STR(x)  FL_STR_(x)

/* The frames a run's child sends its parent (fl_sandbox_frame_write). */
enum {
	TAG_VERDICT = 'V',
	TAG_CHOICES = 'C',
	TAG_HASH = 'H',
	TAG_HITS = 'P',
	TAG_STEPS = 'S',
	TAG_FIRED = 'F',      /* u64 per fault point: faults fired */
	TAG_OPERR = 'O',      /* [u64 tolerated][u64 fatal] op errors */
	TAG_RULES = 'R',      /* u64: bit i set when the scenario's fault rule i fired */
	TAG_STORY = 'T',      /* the run's story (opts.narrate) */
	TAG_HISTORY = 'Y',    /* a failed run's history of client operations (EDN) */
	TAG_BEGIN = 'B',      /* worker: the run has started; [u64 ms] */
	TAG_END = 'E',        /* worker: the run is over; [i32 rv][u32 clean][u64 ms] */
	TAG_CRASH = 'X',      /* the crash handler: where the run died (text) */
	TAG_VIOLATIONS = 'N', /* u64: violations the run found (the first is its verdict) */
	TAG_MORE = 'M',       /* one later violation: "property\ndetail" (up to FL_REPORT_MORE) */
	TAG_TIMELINE = 'L',   /* the run's timeline (opts.timeline; timeline.h) */
};

/* One run, as the parent hands it to a child. */
struct child_arg {
	const struct fl_scenario *s;
	const struct fli_runner_opts *o;
	const char *ns;
	const char *san_dir; /* the run's sanitizer report directory, or NULL */
};

/* runner_child.c: run it, audit, clean up, and write the frames to
 * out_fd.  0 when the run's child did its job (whatever the verdict). */
int fli_runner_child_run(void *arg, int out_fd);
/* When fli_runner_child_run's last run was over, before it wrote its
 * outcome (fli_mono_ms): a worker's run is judged by its own time, not by
 * how long its writes waited for the parent to read. */
extern uint64_t fli_runner_child_done_ms;
/* The frames of a run's outcome, as fli_runner_child_run built them.
 * With fli_runner_child_hold clear it writes them to out_fd itself; set
 * (the worker), they stay here and the worker writes them with its
 * TAG_END, and the next run's TAG_BEGIN when that run was sent ahead,
 * in one write: the parent wakes once a run where it woke three times.
 * (A stress run's hang writes them at once either way; the crash
 * handler writes what is held before its own frames.) */
extern bool fli_runner_child_hold;
extern struct fl_sandbox_frames fli_runner_child_outcome;
/* How much of fli_runner_child_outcome is the run's outcome, set by the
 * worker before it adds its own frames (SIZE_MAX: all of it): the crash
 * handler writes that much. */
extern size_t fli_runner_child_outcome_mark;

/* runner_worker.c: plain seeded sim and proc runs on the persistent
 * worker (runner.c's for_worker says which).
 * fli_runner_worker_send hands it a run (at most two are in flight: the
 * one waited for and the next, sent ahead) and sets *ticket;
 * fli_runner_worker_wait waits for the oldest, which must be ticket's,
 * and fills *sr as fl_sandbox_run would.  Both return 0, or FL_EIO when
 * no worker could be started or reached, or the run was lost with a
 * worker that died before it began (never begun: the caller forks it, or
 * sends it again when it was one sent ahead).  stop() true: cut it
 * short. */
int fli_runner_worker_send(const struct fl_scenario *s, const struct fli_runner_opts *o,
                           const char *ns, const char *san_dir, uint64_t *ticket);
int fli_runner_worker_wait(uint64_t ticket, uint64_t timeout_ms, bool (*stop)(void),
                           struct fl_sandbox_result *sr);
/* Whether the worker still has ticket's run to do or to report. */
bool fli_runner_worker_holds(uint64_t ticket);
/* The run ticket, sent ahead and now the only one in flight, is not
 * wanted: the worker is killed with it.  Unless it ended before it began
 * that run: its death between runs is then noted (fli_runner_worker_died),
 * as it would have been had the run been made.  stop() true: killed at
 * once. */
void fli_runner_worker_drop(uint64_t ticket, bool (*stop)(void));
/* The runs the worker had ended before the run fli_runner_worker_wait
 * last returned: how many (0: that run was its first), and the seeds of
 * the first and the last of them. */
struct fli_worker_before {
	uint64_t runs;
	uint64_t first_seed;
	uint64_t last_seed;
	bool sweep;       /* a sweep's faulted run among them */
	bool consecutive; /* each seed the one before it plus one */
};
extern struct fli_worker_before fli_runner_worker_before;
/* Names the runs b counts, "the run <ran> (seed S)" or "one of the N runs
 * <ran> (seeds ...)", into buf. */
void fli_worker_before_say(char *buf, size_t size, const struct fli_worker_before *b,
                           const char *ran);

#endif
