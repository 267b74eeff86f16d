/*
 * The property engine: generators over the choice stream, a property runner
 * with fork isolation, a shrinker over the recorded choices, and a
 * model-based (stateful) runner.  docs/design.md: "The one idea".
 *
 * A property is a C function that draws everything it needs from the
 * trial's choice stream (fl_prop_choice) and returns FL_PROP_PASS, or
 * fl_prop_fail(ctx, "...").  The runner runs trials with seeds derived from
 * one root seed, each (by default) in a forked child with a deadline, so a
 * crash or a hang is a failure verdict like any other.  The first failure is
 * shrunk: the recorded choices are edited (delete spans, delete draws, zero
 * spans and values, lower values by binary search, sort adjacent values) and
 * re-run, keeping an edit whenever the run still fails with the same verdict
 * (same signal for a crash) and its recorded choices are smaller (shorter,
 * or as long and lexicographically smaller), until no pass helps or
 * max_shrinks re-runs were spent.  The minimal run's log (the steps, in
 * words) and message are printed with the seed and the replay command, and
 * saved as a trace (trace.h).
 *
 * Not thread-safe: one runner per process at a time (it forks and reaps).
 */
#ifndef FAULTLINE_PROP_H
#define FAULTLINE_PROP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/choice.h"
#include "faultline/sandbox.h"
#include "faultline/shrink.h"
#include "faultline/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Generators.  Every generator draws only through the choice stream, and an
 * all-zero stream gives the simplest value: 0 (or the bound nearest 0),
 * false, the first option, the empty list.  Smaller draws give simpler
 * values, so the shrinker's "lower a value" is "simplify a value". */

/* A value in [lo, hi]. */
uint64_t fl_gen_u64(struct fl_choice *c, uint64_t lo, uint64_t hi);

/* A value in [lo, hi], simplest nearest 0: when the range holds 0 the draws
 * 0,1,2,3,4,... give 0,1,-1,2,-2,... */
int64_t fl_gen_i64(struct fl_choice *c, int64_t lo, int64_t hi);

/* A fair coin (false on 0). */
bool fl_gen_bool(struct fl_choice *c);

/* true with probability num/den (false on 0). */
bool fl_gen_weighted(struct fl_choice *c, uint32_t num, uint32_t den);

/* An index in [0, n): the first option is the simplest.  n == 0 gives 0. */
size_t fl_gen_one_of(struct fl_choice *c, size_t n);

/* An index in [0, n) with the given relative weights (option i chosen with
 * probability w[i]/sum); a 0 draw picks the first option with w > 0. */
size_t fl_gen_one_of_weighted(struct fl_choice *c, const uint32_t *w, size_t n);

/* A size in [0, max], biased toward small ones (half of the draws below
 * max/8 + 1); 0 is the simplest. */
size_t fl_gen_size(struct fl_choice *c, size_t max);

/* Boundaries: the values where size-dependent code changes path (a
 * message that needs one more fragment, a loan that needs a larger chunk
 * class, the largest message a term takes).  Plain draws over a range of
 * thousands almost never land on them, so the size generators below put a
 * fixed share of their draws there, as Hypothesis does.  A boundary is
 * every multiple of `step` (0: none; e.g. a fragment's payload, mtu - 16)
 * and each of points[0..npoints) (e.g. chunk class sizes, the largest
 * message); the draw lands on one of them or one below or one above. */
struct fl_gen_edges {
	uint64_t step;          /* every multiple k*step, k >= 1 (0: none) */
	const uint64_t *points; /* further boundaries (NULL when npoints is 0) */
	size_t npoints;
};

/* The share of size draws that go to a boundary: 1 in 8. */
#define FL_GEN_EDGE_NUM 1u
#define FL_GEN_EDGE_DEN 8u

/* fl_gen_edge makes the boundary decision of a size draw in [lo, hi]: a
 * weighted draw (FL_GEN_EDGE_NUM in FL_GEN_EDGE_DEN; false on 0, so
 * shrinking falls back to the plain draw) and, when true, a boundary:
 * which kind (lo, a multiple of e->step, a point, hi, each kind equally
 * likely among those that reach [lo, hi]; lo on 0), which multiple or
 * point (the smallest on 0), and an offset (0, -1, +1; exact on 0),
 * clamped to [lo, hi], written to *out.  Returns false, with *out
 * untouched, when the caller is to draw the value its own way.  Draws
 * nothing when hi <= lo.  e may be NULL (lo and hi only). */
bool fl_gen_edge(struct fl_choice *c, uint64_t lo, uint64_t hi, const struct fl_gen_edges *e,
                 uint64_t *out);

/* fl_gen_size_edges is a size in [lo, hi]: a boundary (fl_gen_edge) in
 * 1 of 8 draws, else lo + fl_gen_size(hi - lo).  An all-zero stream gives
 * lo. */
uint64_t fl_gen_size_edges(struct fl_choice *c, uint64_t lo, uint64_t hi,
                           const struct fl_gen_edges *e);

/* Fills buf with a byte string of length in [min, max] and returns the
 * length.  Length drawn first, then one draw per byte, all in one span. */
size_t fl_gen_bytes(struct fl_choice *c, uint8_t *buf, size_t min, size_t max);

/* Lists.  Each element is one span that starts with a "more" draw (true
 * with probability avg/(avg+1)) followed by the element's own draws; a 0
 * "more" ends the list.  That encoding (Hypothesis') lets the shrinker
 * delete any element by deleting its span, which a length drawn up front
 * would not allow without also fixing the length.  Use as
 *
 *   struct fl_gen_list l;
 *   fl_gen_list_begin(&l, c, 0, 50, 5);
 *   while (fl_gen_list_next(&l))
 *           xs[n++] = fl_gen_u64(c, 0, 100);
 *
 * min elements are forced (no "more" draw), at most max are produced. */
struct fl_gen_list {
	struct fl_choice *c;
	size_t min, max, count;
	uint32_t more_num, more_den;
	bool in_elem;
};
void fl_gen_list_begin(struct fl_gen_list *l, struct fl_choice *c, size_t min, size_t max,
                       size_t avg);
bool fl_gen_list_next(struct fl_gen_list *l);

/* A combinable generator: writes one value to out. */
typedef void (*fl_gen_fn)(struct fl_choice *c, void *out, const void *arg);

/* Fills out[0..n) (elements of elem_size bytes, capacity max) with a list of
 * gen values and returns n, using the list encoding above. */
size_t fl_gen_array(struct fl_choice *c, void *out, size_t elem_size, size_t min, size_t max,
                    size_t avg, fl_gen_fn gen, const void *arg);

/* ------------------------------------------------------------------ */
/* Properties. */

#define FL_PROP_PASS    0
#define FL_PROP_FAIL    1
/* FL_PROP_DISCARD: the input does not apply (fl_prop_assume); a trial so
 * ended counts as not failing, but a check whose every trial discarded
 * its input checked nothing and fails. */
#define FL_PROP_DISCARD 2

struct fl_prop_ctx;
typedef int (*fl_prop_fn)(struct fl_prop_ctx *ctx);

/* A property: a name (also its identity in traces), the function and an
 * argument it reads back with fl_prop_arg. */
struct fl_prop_def {
	const char *name;
	fl_prop_fn fn;
	const void *arg;
	const char *description;
};

/* The trial's choice stream: inputs, faults and scheduling all draw here. */
struct fl_choice *fl_prop_choice(struct fl_prop_ctx *ctx);

/* The def's arg. */
const void *fl_prop_arg(const struct fl_prop_ctx *ctx);

/* fl_prop_fail records a failure message (the first one wins) and returns
 * FL_PROP_FAIL, to be returned by the property. */
int fl_prop_fail(struct fl_prop_ctx *ctx, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
int fl_prop_vfail(struct fl_prop_ctx *ctx, const char *fmt, va_list ap);

/* fl_prop_log appends a line to the trial's log; the log of the minimal
 * failing run is printed after shrinking (the model runner logs each step).
 * Bounded (64 KiB); the rest is dropped. */
void fl_prop_log(struct fl_prop_ctx *ctx, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* fl_prop_replaying is true while the trial replays recorded choices
 * (shrinking, replay) rather than generating from a seed. */
bool fl_prop_replaying(const struct fl_prop_ctx *ctx);

/* ------------------------------------------------------------------ */
/* The runner. */

struct fl_prop_config {
	const char *name;          /* label for output; NULL: the def's name */
	uint64_t seed;             /* root seed; trial k's seed is derived (k=0: seed itself) */
	unsigned trials;           /* number of trials (0: 100) */
	double time_budget_s;      /* stop starting trials after this (0: no limit) */
	bool fork;                 /* one forked child per trial (default true) */
	unsigned max_shrinks;      /* bound on shrink re-runs (0: no shrinking) */
	uint64_t trial_timeout_ms; /* per trial wall clock, fork mode (0: none) */
	const char *trace_dir;     /* save the minimal failure here (NULL: no file) */
	bool quiet;                /* print nothing (tests and benchmarks) */
	bool long_mode;            /* set by --long / FL_LONG: 100x trials and budget */
};

/* fl_prop_config_init sets defaults: a fresh random seed (getrandom; the
 * seed is printed with any failure), 100 trials, no time limit, fork on,
 * 1000 shrinks, 10 s trial timeout, trace_dir from FL_TRACE_DIR, then
 * applies the environment: FL_SEED, FL_TRIALS, FL_TIME (seconds),
 * FL_MAX_SHRINKS, FL_TIMEOUT_MS, FL_NO_FORK=1, FL_LONG=1. */
void fl_prop_config_init(struct fl_prop_config *cfg, const char *name);

/* fl_prop_config_args applies command-line options: --seed S, --trials N,
 * --time SEC, --max-shrinks N, --timeout-ms MS, --trace-dir DIR, --no-fork,
 * --long, --quiet.  Unknown arguments are left alone.  Returns 0 or
 * FL_EINVAL (a bad value; a message goes to stderr). */
int fl_prop_config_args(struct fl_prop_config *cfg, int argc, char **argv);

/* The outcome of fl_prop_check (and replay / shrink). */
struct fl_prop_report {
	enum fl_verdict verdict; /* PASS unless some trial failed */
	int signal;              /* crash: the signal */
	uint64_t seed;           /* root seed */
	uint64_t fail_seed;      /* seed of the failing trial: --seed X --trials 1 replays it */
	unsigned trials;         /* trials run */
	unsigned discarded;      /* trials that returned FL_PROP_DISCARD */
	double seconds;          /* wall time of the trials, until the failure */
	double shrink_seconds;
	unsigned shrink_attempts; /* re-runs spent shrinking */
	unsigned shrink_accepted; /* of which kept */
	size_t original_nchoices; /* choices of the failing trial before shrinking */
	uint64_t *choices;        /* the minimal failing choices (owned); NULL when the
				     * failing trial died without reporting them (e.g. SIGKILL):
				     * its trace then says `replay_from seed` and replays fail_seed */
	size_t nchoices;
	char *message;    /* failure message of the minimal run (owned, may be NULL) */
	char *log;        /* log of the minimal run: the steps (owned, may be NULL) */
	char *trace_path; /* saved trace (owned) or NULL */
};

/* fl_prop_check runs cfg->trials trials of prop (within the time budget),
 * shrinks the first failure, prints it (unless quiet) and saves a trace.
 * Fills *rep (free with fl_prop_report_fini, also after an error: it is
 * zeroed then) when rep is non-NULL.  Returns
 * 0 when every trial passed, FL_PROP_FAIL (1) on a failure, or a negative
 * FL_E* when the engine itself failed (fork, memory). */
int fl_prop_check(const struct fl_prop_config *cfg, const struct fl_prop_def *prop,
                  struct fl_prop_report *rep);

/* fl_prop_run_choices runs one trial on recorded choices (replay stream),
 * fork-isolated per cfg, without shrinking; fills *rep.  Returns 0 (pass),
 * FL_PROP_FAIL or negative FL_E*. */
int fl_prop_run_choices(const struct fl_prop_config *cfg, const struct fl_prop_def *prop,
                        const uint64_t *values, size_t n, struct fl_prop_report *rep);

/* fl_prop_shrink_choices shrinks a failing stream: rep is filled with the
 * minimal choices.  Returns FL_PROP_FAIL (still failing, shrunk), 0 when the
 * given choices do not fail at all, or negative FL_E*. */
int fl_prop_shrink_choices(const struct fl_prop_config *cfg, const struct fl_prop_def *prop,
                           const uint64_t *values, size_t n, struct fl_prop_report *rep);

/* fl_prop_report_fini frees a report; safe on a zeroed one. */
void fl_prop_report_fini(struct fl_prop_report *rep);

/* fl_prop_print writes a report (verdict, seed, message, steps, replay
 * command, trace) to stderr. */
void fl_prop_print(const struct fl_prop_report *rep, const char *name);

/* fl_prop_trace_from_report builds the trace of a failure (kind property,
 * hash fl_trace_hash_str(name), extra key `program`: the executable holding
 * the property, which a CLI runs as `<program> --replay TRACE` or
 * `<program> --shrink TRACE --out FILE`, see fl_prop_main).  Free with fl_trace_fini.  Returns 0,
 * FL_EINVAL, FL_ENOMEM. */
int fl_prop_trace_from_report(const struct fl_prop_report *rep, const char *name,
                              struct fl_trace *out);

/* Registered properties, for `faultline replay/shrink` and fl_prop_main:
 * fl_prop_find returns the def with that name in table[0..n) or NULL. */
const struct fl_prop_def *fl_prop_find(const struct fl_prop_def *table, size_t n, const char *name);

/* fl_prop_replay re-runs a property trace (kind property; the property is
 * looked up by name in table) and fills *rep.  Returns 0 when the replay
 * reached the trace's verdict (and signal), FL_PROP_FAIL when it did not,
 * FL_ENOENT for an unknown property, FL_EINVAL for a non-property trace. */
int fl_prop_replay(const struct fl_prop_def *table, size_t n, const struct fl_trace *t,
                   const struct fl_prop_config *cfg, struct fl_prop_report *rep);

/* fl_prop_shrink shrinks a property trace's choices and, when out_path is
 * non-NULL, writes the minimal trace there.  Returns FL_PROP_FAIL when the
 * trace still fails (shrunk in *rep), 0 when it no longer fails, FL_ENOENT,
 * FL_EINVAL, FL_EIO. */
int fl_prop_shrink(const struct fl_prop_def *table, size_t n, const struct fl_trace *t,
                   const struct fl_prop_config *cfg, const char *out_path,
                   struct fl_prop_report *rep);

/* fl_prop_main is a main() for a property program: runs every property in
 * the table (or those named with --prop NAME), or --replay FILE / --shrink
 * FILE [--out FILE]; plus the options of fl_prop_config_args.  With
 * --seeds S1,S2,... each property runs once per listed seed (CI's fixed
 * list), and with --fresh once more on the run's own seed (fresh unless
 * --seed/FL_SEED; printed).  Traces go to FL_TRACE_DIR, --trace-dir or
 * ./faultline-traces.  Returns the exit code: 0 all passed, 1 a failure,
 * 2 usage error. */
int fl_prop_main(int argc, char **argv, const struct fl_prop_def *table, size_t n);


/* ------------------------------------------------------------------ */
/* Model-based (stateful) properties.
 *
 * Each step draws, inside one span labelled "step": a "more steps" flag,
 * then the command by weight over all commands (when its precondition
 * fails, the nearest enabled command before it in table order runs
 * instead, or after it when none before is enabled), so a value
 * names the same command whatever the state, choosing it costs one draw
 * whatever the state, and deleting a step does not change what later
 * steps are; the first command is the simplest.
 * Then the command's arguments (gen).  The step
 * is applied to the model and to the real system, the step is logged with
 * describe, and check(model, real) runs.  After the last step final_check
 * runs (e.g. close everything and audit for leaks).  Faults and scheduling
 * decisions the real system draws from fl_prop_choice(ctx) land in the same
 * step's span, so shrinking minimises commands, arguments and faults
 * together. */

#define FL_MODEL_ARGS_MAX 64

struct fl_model_cmd {
	const char *name;
	/* Relative weight among the enabled commands (0 counts as 1). */
	unsigned weight;
	/* May this command run now?  NULL: always. */
	bool (*precondition)(const void *model);
	/* Draw the arguments into args (FL_MODEL_ARGS_MAX bytes, zeroed).  NULL: none. */
	void (*gen)(struct fl_prop_ctx *ctx, const void *model, void *args);
	/* Update the model.  NULL: no model change. */
	void (*apply_model)(void *model, const void *args);
	/* Apply to the real system (it may draw faults from ctx); return
	 * FL_PROP_PASS or fl_prop_fail(ctx, ...).  Called before apply_model, so
	 * it can compare results with the model's prediction, and it may record
	 * its outcome in args (e.g. "no image yet") for apply_model to follow. */
	int (*apply_real)(struct fl_prop_ctx *ctx, void *real, const void *model, void *args);
	/* Words for the step ("acquire(key=3)").  NULL: the name. */
	void (*describe)(const void *args, char *buf, size_t len);
};

struct fl_model_spec {
	const char *name;
	const struct fl_model_cmd *cmds;
	size_t ncmds;
	unsigned max_steps; /* 0: 50 */
	unsigned avg_steps; /* expected steps (0: 10) */
	/* Create the model and the real system (may draw from ctx). */
	int (*setup)(struct fl_prop_ctx *ctx, void **model, void **real);
	/* Invariants after every step: FL_PROP_PASS or fl_prop_fail.  NULL: none. */
	int (*check)(struct fl_prop_ctx *ctx, const void *model, void *real);
	/* After the last step.  NULL: none. */
	int (*final_check)(struct fl_prop_ctx *ctx, void *model, void *real);
	/* Free both; called on every path after setup succeeded. */
	void (*teardown)(void *model, void *real);
};

/* fl_model_prop is the property function of a model spec: use it as
 *   struct fl_prop_def def = { "name", fl_model_prop, &spec };
 * Logs "step N: <describe>" for each step. */
int fl_model_prop(struct fl_prop_ctx *ctx);

/* fl_model_run runs spec as fl_model_prop does, for a property function
 * that sets something up first (a planted bug, a size) and whose arg is
 * its own. */
int fl_model_run(struct fl_prop_ctx *ctx, const struct fl_model_spec *spec);

#ifdef __cplusplus
}
#endif
#endif
