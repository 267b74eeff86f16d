/*
 * Shrinking a failing scenario run: minimise its recorded choices while the
 * run still fails the same way (same verdict, same property).
 *
 * Passes, repeated until none makes progress or the attempt budget is
 * spent: delete runs of choices (halving the run length from n/2 down to
 * 1), zero each value, then lower each value by binary search.  Each
 * candidate is a full run in a forked child, so a crash during shrinking
 * is a verdict, not the end of the shrinker.  A replayed stream that runs
 * out answers 0, so deleting the tail is always a valid candidate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"

#include "run/runner.h"
#include "run/shrink.h"

struct shrinker {
	const struct fl_scenario *s;
	const struct fl_runner_opts *base;
	enum fl_verdict verdict;
	char property[64];
	unsigned attempts;
	unsigned max_attempts;
	uint64_t *best;
	size_t nbest;
	struct fl_runner_outcome best_outcome;
};

/* Run a candidate; on the same failure, adopt the choices the run actually
 * consumed (often fewer than the candidate had). */
static bool
try_candidate(struct shrinker *sh, const uint64_t *cand, size_t n)
{
	struct fl_runner_opts o = *sh->base;
	struct fl_runner_outcome out;

	if (sh->attempts >= sh->max_attempts)
		return false;
	sh->attempts++;
	o.replay = cand;
	o.nreplay = n;
	o.replaying = true;
	if (fl_runner_run(sh->s, &o, &out) != 0)
		return false;
	if (out.stopped) {
		/* Interrupted (fl_runner_set_stop): no verdict, no more runs. */
		sh->attempts = sh->max_attempts;
		fl_runner_outcome_fini(&out);
		return false;
	}
	if (out.verdict != sh->verdict || strcmp(out.property, sh->property) != 0) {
		fl_runner_outcome_fini(&out);
		return false;
	}
	/* The run may have consumed fewer values than offered (and the 0
	 * fill beyond them): keep what it recorded, trimmed of trailing 0s. */
	size_t used = out.nchoices < n ? out.nchoices : n;
	if (out.choices == NULL)
		used = 0;
	while (used > 0 && out.choices[used - 1] == 0)
		used--;
	free(sh->best);
	sh->best = malloc((used ? used : 1) * sizeof(uint64_t));
	if (sh->best != NULL && used > 0)
		memcpy(sh->best, out.choices, used * sizeof(uint64_t));
	sh->nbest = sh->best != NULL ? used : 0;
	fl_runner_outcome_fini(&sh->best_outcome);
	sh->best_outcome = out;
	return true;
}

static bool
pass_delete(struct shrinker *sh)
{
	bool progress = false;

	for (size_t k = sh->nbest / 2; k >= 1; k /= 2) {
		for (size_t i = 0; i + k <= sh->nbest;) {
			size_t n = sh->nbest - k;
			uint64_t *cand = malloc((n ? n : 1) * sizeof(uint64_t));
			if (cand == NULL)
				return progress;
			memcpy(cand, sh->best, i * sizeof(uint64_t));
			memcpy(cand + i, sh->best + i + k, (sh->nbest - i - k) * sizeof(uint64_t));
			if (try_candidate(sh, cand, n))
				progress = true; /* same i: the next span slid into place */
			else
				i += k;
			free(cand);
			if (sh->attempts >= sh->max_attempts)
				return progress;
		}
		if (k == 1)
			break;
	}
	return progress;
}

static bool
pass_lower(struct shrinker *sh)
{
	bool progress = false;

	for (size_t i = 0; i < sh->nbest; i++) {
		uint64_t lo = 0, hi = sh->best[i];

		if (hi == 0)
			continue;
		/* Binary search for the smallest value that still fails,
		 * trying 0 first. */
		while (lo < hi && sh->attempts < sh->max_attempts && i < sh->nbest) {
			uint64_t mid = lo + (hi - lo) / 2;
			size_t n = sh->nbest;
			uint64_t *cand = malloc(n * sizeof(uint64_t));
			if (cand == NULL)
				return progress;
			memcpy(cand, sh->best, n * sizeof(uint64_t));
			cand[i] = mid;
			if (try_candidate(sh, cand, n)) {
				progress = true;
				hi = mid;
			} else {
				lo = mid + 1;
			}
			free(cand);
		}
	}
	return progress;
}

int
fl_shrink_run(const struct fl_scenario *s, const struct fl_runner_opts *base,
              const uint64_t *choices, size_t n, enum fl_verdict verdict, const char *property,
              unsigned max_attempts, struct fl_shrink_result *res)
{
	struct shrinker sh = {
		.s = s,
		.base = base,
		.verdict = verdict,
		.max_attempts = max_attempts ? max_attempts : 500,
	};

	snprintf(sh.property, sizeof(sh.property), "%s", property ? property : "");
	sh.best = malloc((n ? n : 1) * sizeof(uint64_t));
	if (sh.best == NULL)
		return FL_ENOMEM;
	if (n > 0) /* a trace of 0 choices has none to copy (choices may be NULL) */
		memcpy(sh.best, choices, n * sizeof(uint64_t));
	sh.nbest = n;
	/* The starting point must fail the same way, or there is nothing to
	 * shrink (a flaky trace is reported as such by the caller). */
	if (!try_candidate(&sh, choices, n)) {
		free(sh.best);
		return FL_ESTATE;
	}
	for (;;) {
		bool progress = pass_delete(&sh);
		progress = pass_lower(&sh) || progress;
		if (!progress || sh.attempts >= sh.max_attempts)
			break;
	}
	res->choices = sh.best;
	res->nchoices = sh.nbest;
	res->attempts = sh.attempts;
	res->original = n;
	res->outcome = sh.best_outcome;
	return 0;
}

void
fl_shrink_result_fini(struct fl_shrink_result *res)
{
	free(res->choices);
	res->choices = NULL;
	fl_runner_outcome_fini(&res->outcome);
}
