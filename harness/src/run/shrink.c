/*
 * Shrinking a failing scenario run: the property engine's shrinker
 * (fl_shrink, faultline/prop.h) over scenario runs.  Each candidate is a
 * full run in a forked child, so a crash during shrinking is a verdict,
 * not the end of the shrinker; a candidate counts as failing the same
 * way when its run ends with the same verdict and the same property (and
 * for a crash, the same signal), and its detail has the same signature
 * (fl_baseline_signature: the same op and line, the same crash site;
 * counts, paths and a fault's advice aside) as the recorded failure under
 * sim, or as the first replay's in proc and stress modes.  A replayed
 * stream that runs out answers 0, so deleting the tail is always a valid
 * candidate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/report.h"
#include "faultline/shrink.h"

#include "run/runner.h"
#include "run/shrink.h"

struct scenario_shrink {
	const struct fl_scenario *s;
	const struct fli_runner_opts *base;
	enum fl_verdict verdict;
	char property[64];
	/* The failure's signature (fl_baseline_signature of its detail):
	 * the recorded one under sim, else the first replay's; every
	 * candidate's must equal it. */
	char sig[1100];
	bool have_sig;
};

/* Replay values[0..n) and say how the run ended.  A run that did not
 * fail the same way is reported as a pass (never kept); the choices the
 * run consumed (often fewer than offered) are its record. */
static int
run_candidate(void *arg, const uint64_t *values, size_t n, struct fl_shrink_run *out)
{
	struct scenario_shrink *sh = arg;
	struct fli_runner_opts o = *sh->base;
	struct fli_runner_outcome ro;
	size_t used;

	o.replay = values;
	o.nreplay = n;
	o.replaying = true;
	if (fli_runner_run(sh->s, &o, &ro) != 0) {
		out->verdict = FL_VERDICT_PASS; /* not run: not the same failure */
		return 0;
	}
	if (ro.stopped) {
		fli_runner_outcome_fini(&ro);
		return FL_ECANCELED; /* interrupted (fli_runner_set_stop): no more runs */
	}
	bool same = ro.verdict == sh->verdict && strcmp(ro.property, sh->property) == 0;
	if (same) {
		/* The same failure, not another of the same property: an op
		 * at another line, another node, another crash site. */
		char sig[sizeof(sh->sig)];

		fl_baseline_signature(ro.detail, sig, sizeof(sig));
		if (!sh->have_sig) {
			memcpy(sh->sig, sig, sizeof(sig));
			sh->have_sig = true;
		}
		same = strcmp(sig, sh->sig) == 0;
	}
	out->verdict = same ? ro.verdict : FL_VERDICT_PASS;
	out->signal = ro.signal;
	used = ro.choices != NULL ? (ro.nchoices < n ? ro.nchoices : n) : 0;
	out->values = malloc((used ? used : 1) * sizeof(uint64_t));
	if (out->values == NULL) {
		fli_runner_outcome_fini(&ro);
		return FL_ENOMEM;
	}
	if (used > 0)
		memcpy(out->values, ro.choices, used * sizeof(uint64_t));
	out->n = used;
	out->recorded = true;
	fli_runner_outcome_fini(&ro);
	return 0;
}

int
fli_shrink_scenario(const struct fl_scenario *s, const struct fli_runner_opts *base,
                    const uint64_t *choices, size_t n, enum fl_verdict verdict,
                    const char *property, const char *detail, unsigned max_attempts,
                    struct fli_shrink_result *res)
{
	struct scenario_shrink sh = { .s = s, .base = base, .verdict = verdict };
	struct fl_shrink_run first = { 0 }, best = { 0 };
	struct fli_runner_opts o = *base;
	unsigned runs = 0;
	int rv;

	snprintf(sh.property, sizeof(sh.property), "%s", property ? property : "");
	/* Under sim the recorded failure is the one every candidate must
	 * make (its replay makes it exactly).  In proc and stress modes, the
	 * first replay's: one failing as recorded but for its timing (which
	 * actor saw it first) would otherwise never start. */
	if (detail != NULL && s->mode == FL_SCN_MODE_SIM) {
		fl_baseline_signature(detail, sh.sig, sizeof(sh.sig));
		sh.have_sig = true;
	}
	if (max_attempts == 0)
		max_attempts = 500;
	memset(res, 0, sizeof(*res));
	/* The starting point must fail the same way, or there is nothing to
	 * shrink (a flaky trace is reported as such by the caller). */
	/* (Tried up to FLI_SHRINK_REPLAYS times: a proc or stress run's
	 * timing is not in its stream.) */
	for (unsigned k = 0;; k++) {
		rv = run_candidate(&sh, choices, n, &first);
		if (rv != 0 || first.verdict == verdict || k + 1 == FLI_SHRINK_REPLAYS ||
		    s->mode == FL_SCN_MODE_SIM)
			break;
		fl_shrink_run_fini(&first);
		runs++;
	}
	if (rv != 0 || first.verdict != verdict || verdict == FL_VERDICT_PASS) {
		fl_shrink_run_fini(&first);
		return rv == FL_ENOMEM ? FL_ENOMEM : FL_ESTATE;
	}
	rv = fl_shrink(&first, max_attempts - 1, run_candidate, &sh, &best, &runs, NULL);
	if (rv != 0 && rv != FL_ECANCELED) {
		fl_shrink_run_fini(&best);
		return rv;
	}
	/* The smallest stream's outcome, for the caller's report: one more
	 * replay.  Under sim the same failure; in proc and stress modes the
	 * threads' and processes' timing is not in the stream, and a replay
	 * may pass: replayed until it fails the same way, at most
	 * FLI_SHRINK_REPLAYS times, never reported as the failure when it
	 * does not. */
	o.replay = best.values;
	o.nreplay = best.n;
	o.replaying = true;
	for (unsigned k = 0;; k++) {
		if (fli_runner_run(s, &o, &res->outcome) != 0) {
			fl_shrink_run_fini(&best);
			return FL_EIO;
		}
		runs++;
		char sig[sizeof(sh.sig)];
		fl_baseline_signature(res->outcome.detail, sig, sizeof(sig));
		if (res->outcome.verdict == verdict &&
		    strcmp(res->outcome.property, sh.property) == 0 && strcmp(sig, sh.sig) == 0)
			break;
		bool stopped = res->outcome.stopped;

		fli_runner_outcome_fini(&res->outcome);
		if (stopped || k + 1 == FLI_SHRINK_REPLAYS) {
			fl_shrink_run_fini(&best);
			return FL_EAGAIN;
		}
	}
	res->choices = best.values;
	res->nchoices = best.n;
	best.values = NULL;
	fl_shrink_run_fini(&best);
	res->attempts = runs + 1;
	res->original = n;
	return 0;
}

void
fli_shrink_result_fini(struct fli_shrink_result *res)
{
	free(res->choices);
	res->choices = NULL;
	fli_runner_outcome_fini(&res->outcome);
}
