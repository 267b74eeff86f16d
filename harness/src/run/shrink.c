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

/* proc and stress: the streams kept as fallbacks, and the replays each
 * is given (the smallest and the given stream FLI_SHRINK_REPLAYS). */
#define FLI_SHRINK_CHAIN          64
#define FLI_SHRINK_FALLBACK_TRIES 5

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
	/* proc and stress: every stream that failed the same way, oldest
	 * first (thinned to every other one when full), the fallbacks when
	 * the smallest does not fail again (see confirm). */
	struct fl_shrink_run chain[FLI_SHRINK_CHAIN];
	size_t nchain;
};

/* values[0..n)'s length without its trailing zeros: the same run (a
 * replay that runs out answers 0), in the form fl_shrink keeps. */
static size_t
trimmed(const uint64_t *values, size_t n)
{
	while (n > 0 && values[n - 1] == 0)
		n--;
	return n;
}

/* Whether values[0..n) is best's stream, trailing zeros aside. */
static bool
is_best(const uint64_t *values, size_t n, const struct fl_shrink_run *best)
{
	n = trimmed(values, n);
	return n == trimmed(best->values, best->n) &&
	       (n == 0 || memcmp(values, best->values, n * sizeof(*values)) == 0);
}

/* Keeps a copy of values[0..n) at the end of sh->chain: dropping every
 * other older one when it is full keeps a spread from the first kept to
 * the newest.  Out of memory, nothing is kept (a fallback fewer). */
static void
chain_push(struct scenario_shrink *sh, const uint64_t *values, size_t n)
{
	struct fl_shrink_run *c;

	if (sh->nchain == FLI_SHRINK_CHAIN) {
		size_t k = 0;

		for (size_t i = 0; i < sh->nchain; i++) {
			if (i % 2 == 1 && i + 1 < sh->nchain)
				fl_shrink_run_fini(&sh->chain[i]);
			else
				sh->chain[k++] = sh->chain[i];
		}
		sh->nchain = k;
	}
	n = trimmed(values, n);
	if (sh->nchain > 0 && is_best(values, n, &sh->chain[sh->nchain - 1]))
		return; /* the newest again */
	c = &sh->chain[sh->nchain];
	memset(c, 0, sizeof(*c));
	c->values = malloc((n ? n : 1) * sizeof(uint64_t));
	if (c->values == NULL)
		return;
	if (n > 0)
		memcpy(c->values, values, n * sizeof(uint64_t));
	c->n = n;
	sh->nchain++;
}

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
	if (same && sh->s->mode != FL_SCN_MODE_SIM)
		chain_push(sh, ro.choices, used);
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

static void
chain_fini(struct scenario_shrink *sh)
{
	for (size_t i = 0; i < sh->nchain; i++)
		fl_shrink_run_fini(&sh->chain[i]);
	sh->nchain = 0;
}

/* Replays values[0..n) up to `tries` times, until a run fails the same
 * way: under sim with the failure's signature too, in proc and stress
 * modes by replay's rule (verdict and property).  Returns 1 with
 * res->outcome that run's, 0 when none did, FL_EIO (could not run) or
 * FL_ECANCELED (interrupted). */
static int
confirm(struct scenario_shrink *sh, const struct fli_runner_opts *base, const uint64_t *values,
        size_t n, unsigned tries, struct fli_shrink_result *res, unsigned *runs)
{
	struct fli_runner_opts o = *base;

	o.replay = values;
	o.nreplay = n;
	o.replaying = true;
	for (unsigned k = 0; k < tries; k++) {
		struct fli_runner_outcome *ro = &res->outcome;
		char sig[sizeof(sh->sig)];

		if (fli_runner_run(sh->s, &o, ro) != 0)
			return FL_EIO;
		(*runs)++;
		fl_baseline_signature(ro->detail, sig, sizeof(sig));
		if (ro->verdict == sh->verdict && strcmp(ro->property, sh->property) == 0 &&
		    (sh->s->mode != FL_SCN_MODE_SIM || strcmp(sig, sh->sig) == 0))
			return 1;
		bool stopped = ro->stopped;

		fli_runner_outcome_fini(ro);
		if (stopped)
			return FL_ECANCELED;
	}
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
		chain_fini(&sh);
		return rv == FL_ENOMEM ? FL_ENOMEM : FL_ESTATE;
	}
	rv = fl_shrink(&first, max_attempts - 1, run_candidate, &sh, &best, &runs, NULL);
	if (rv != 0 && rv != FL_ECANCELED) {
		fl_shrink_run_fini(&best);
		chain_fini(&sh);
		return rv;
	}
	/* The smallest stream's outcome, for the caller's report: one more
	 * replay.  Under sim the same failure.  In proc and stress modes the
	 * threads' and processes' timing is not in the stream: a candidate
	 * may have failed by the luck of it, and its replays may not again.
	 * It is replayed until it fails as `faultline replay` requires (the
	 * same verdict and property: which actor or registration the detail
	 * names is timing too), at most FLI_SHRINK_REPLAYS times; failing
	 * that, some of the streams that failed before it (the newest but
	 * one, then 2, 4, 8, ... kept streams further back, 5 replays each)
	 * and last the given one, until one does. */
	rv = confirm(&sh, base, best.values, best.n, FLI_SHRINK_REPLAYS, res, &runs);
	for (size_t d = 1, i = sh.nchain; rv == 0 && s->mode != FL_SCN_MODE_SIM;) {
		const uint64_t *v = choices;
		size_t vn = n;
		unsigned tries = FLI_SHRINK_REPLAYS;

		if (d > i && is_best(choices, n, &best))
			break; /* nothing smaller failed: the given stream had its replays */

		if (d <= i) {
			i -= d;
			d *= 2;
			v = sh.chain[i].values;
			vn = sh.chain[i].n;
			tries = FLI_SHRINK_FALLBACK_TRIES;
			if (v == NULL || vn >= trimmed(choices, n) || is_best(v, vn, &best))
				continue;
		}
		rv = confirm(&sh, base, v, vn, tries, res, &runs);
		if (rv == 1) {
			/* (0 when it is the smallest again: the given
			 * stream, when nothing smaller failed.) */
			res->smallest = is_best(v, vn, &best) ? 0 : trimmed(best.values, best.n);
			fl_shrink_run_fini(&best);
			best.values = malloc((vn ? vn : 1) * sizeof(*v));
			if (best.values == NULL) {
				fli_runner_outcome_fini(&res->outcome);
				chain_fini(&sh);
				return FL_ENOMEM;
			}
			memcpy(best.values, v, vn * sizeof(*v));
			best.n = vn;
		}
		if (v == choices)
			break;
	}
	chain_fini(&sh);
	if (rv < 0) {
		fl_shrink_run_fini(&best);
		return rv;
	}
	if (rv == 0) {
		fl_shrink_run_fini(&best);
		return FL_EAGAIN;
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
