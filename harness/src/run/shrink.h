/*
 * Shrinking a failing scenario run.  See shrink.c.
 */
#ifndef FL_HARNESS_SHRINK_H
#define FL_HARNESS_SHRINK_H

#include <stddef.h>
#include <stdint.h>

#include "run/runner.h"

struct fli_shrink_result {
	uint64_t *choices; /* the minimal stream (malloc'd) */
	size_t nchoices;
	size_t original; /* length of the stream shrinking started from */
	/* proc and stress: the length of the smallest stream that failed
	 * the same way once but not again in its replays, when the result
	 * is a larger one that did (0: the result is the smallest). */
	size_t smallest;
	unsigned attempts;                 /* runs spent */
	struct fli_runner_outcome outcome; /* the minimal run's outcome */
};

/* fl_shrink_run minimises `choices` while replaying `s` with them still
 * ends in `verdict` with `property` and a detail of the same signature
 * (fl_baseline_signature) as `detail` (the recorded one: under sim) or as
 * the first replay's (proc and stress, or `detail` NULL).  base supplies the other run options.
 * At most max_attempts runs (0: 500).  Returns 0 (fill *res; release with
 * fli_shrink_result_fini), FL_ESTATE when the given stream does not fail
 * that way to begin with, FL_EAGAIN when neither the minimal stream,
 * replayed FLI_SHRINK_REPLAYS times, nor a larger one that failed before
 * it, nor the given one failed again (proc and stress runs are not all
 * in their stream: there a replay fails again when it has the same
 * verdict and property), FL_ECANCELED (interrupted), FL_EIO (a run
 * could not be started) or FL_ENOMEM.  The confirming replays come on
 * top of max_attempts: in proc and stress modes up to 20, 5 for each of
 * at most 6 earlier streams, and 20 for the given one. */
#define FLI_SHRINK_REPLAYS 20
int fli_shrink_scenario(const struct fl_scenario *s, const struct fli_runner_opts *base,
                        const uint64_t *choices, size_t n, enum fl_verdict verdict,
                        const char *property, const char *detail, unsigned max_attempts,
                        struct fli_shrink_result *res);

void fli_shrink_result_fini(struct fli_shrink_result *res);

#endif
