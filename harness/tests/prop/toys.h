/*
 * Toy systems with planted bugs, for the property engine's own tests and
 * benchmark.  Each property's known minimal counterexample is documented.
 */
#ifndef FL_PROP_TOYS_H
#define FL_PROP_TOYS_H

#include "faultline/prop.h"

/* Model-based: a resource manager whose lookup helper forgets to release
 * the reference it took when the resource was already referenced.  The
 * leak shows only at close: minimal run acquire, lookup_helper, close. */
extern const struct fl_prop_def toy_refcount_leak;
/* The same manager with a correct helper: passes. */
extern const struct fl_prop_def toy_refcount_ok;

/* A list of values in [0, 10000]: fails when the sum reaches 1000.
 * Minimal: the one-element list [1000]. */
extern const struct fl_prop_def toy_sum_below_1000;

/* x in [0, 1000]: abort() when x >= 500, a plain failure when x >= 100.
 * A crash shrinks to x == 500 (same kind of failure), not 100. */
extern const struct fl_prop_def toy_abort_at_500;

/* x in [0, 1000]: SIGSEGV when x >= 300. */
extern const struct fl_prop_def toy_segv_at_300;

/* x in [0, 100]: loops forever when x >= 50.  Minimal: 50. */
extern const struct fl_prop_def toy_hang_at_50;

/* x in [0, 1000]: SIGKILL at x >= 500 (no record: replay from the seed). */
extern const struct fl_prop_def toy_sigkill_at_500;

/* Always passes after drawing a list of 10 values: for trials/second. */
extern const struct fl_prop_def toy_pass;

/* The list the last toy_sum_below_1000 run drew (in-process runs only). */
extern unsigned toy_sum_calls;

#endif
