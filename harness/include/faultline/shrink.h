/*
 * The shrinker both engines use: it edits a failing run's recorded
 * choices, asks the engine to run each candidate, and keeps what still
 * ends the same way and is simpler.  The property engine shrinks its
 * trials with it; the scenario engine's `faultline shrink` its runs.
 */
#ifndef FAULTLINE_SHRINK_H
#define FAULTLINE_SHRINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/choice.h"
#include "faultline/sandbox.h"

struct fl_shrink_run {
	enum fl_verdict verdict; /* how the run ended (any verdict value) */
	int signal;              /* crash: the signal (must match to count as "same") */
	bool recorded;           /* values and spans are the run's record */
	uint64_t *values;        /* the choices the run drew (malloc'd) */
	size_t n;
	struct fl_choice_span *spans; /* its spans (malloc'd, may be NULL) */
	size_t nspans;
	char *message; /* malloc'd or NULL: why it failed */
	char *log;     /* malloc'd or NULL: its steps in words */
};

/* Runs the system on the replayed choices values[0..n) (answering 0 past
 * the end) and fills *out (zeroed on entry; its buffers pass to the
 * shrinker).  Returns 0, or a negative FL_E* that stops shrinking. */
typedef int (*fl_shrink_fn)(void *arg, const uint64_t *values, size_t n, struct fl_shrink_run *out);

/* fl_shrink minimises `failing` (consumed: its buffers pass to the shrinker
 * even on error).  Passes, repeated while one helps and runs remain: in a
 * stream without spans delete runs of n/2, n/4, ... draws; delete spans
 * (largest first), delete blocks of 8/4/2/1 draws, zero spans, zero
 * and binary-search-lower single values, swap adjacent out-of-order values.
 * A candidate is kept when its run has the same verdict (same signal for a
 * crash) and its record is shortlex-smaller (trailing zeros dropped).  At
 * most max_runs calls of fn.  *best receives the smallest failing run
 * (free with fl_shrink_run_fini); *runs and *kept (may be NULL) count the
 * calls and the kept candidates.  Returns 0, FL_EINVAL, FL_ENOMEM or fn's
 * error (best is still filled).  Not thread-safe for one fn/arg. */
int fl_shrink(struct fl_shrink_run *failing, unsigned max_runs, fl_shrink_fn fn, void *arg,
              struct fl_shrink_run *best, unsigned *runs, unsigned *kept);

/* fl_shrink_run_normalise drops a record's trailing zero values (an
 * exhausted replay answers 0 past them) and clips its spans to what is
 * left: the form fl_shrink compares. */
void fl_shrink_run_normalise(struct fl_shrink_run *o);

/* fl_shrink_run_fini frees a run record; safe on a zeroed one. */
void fl_shrink_run_fini(struct fl_shrink_run *r);

#endif
