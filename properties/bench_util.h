/*
 * Benchmark helpers shared by the property programs' --bench modes:
 * trials per second of a property, and trials and seconds to find and
 * shrink a planted bug.  Figures go to stdout, one line each.
 */
#ifndef PROPERTIES_BENCH_UTIL_H
#define PROPERTIES_BENCH_UTIL_H

#include "faultline/prop.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* CPU seconds of this process and its reaped children (the trials): a
 * figure that holds on a loaded machine, unlike wall time. */
static inline double bench_cpu_s(void)
{
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
	       kids.ru_stime.tv_sec +
	       (self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
		kids.ru_stime.tv_usec) / 1e6;
}

/* Runs prop for `secs` seconds (fork per trial, as CI does) from `seed`
 * and prints trials/s.  Returns 0, or 1 when a trial failed. */
static inline int bench_throughput(const struct fl_prop_def *prop, double secs, uint64_t seed)
{
	struct fl_prop_config cfg;
	struct fl_prop_report rep;
	fl_prop_config_init(&cfg, NULL);
	cfg.seed = seed;
	cfg.trials = 100000000;
	cfg.time_budget_s = secs;
	cfg.quiet = true;
	cfg.trace_dir = NULL;
	double cpu0 = bench_cpu_s();
	int rc = fl_prop_check(&cfg, prop, &rep);
	double cpu = bench_cpu_s() - cpu0;
	if (rc == 0)
		printf("%-24s %6.0f trials/s wall, %6.0f per CPU second  (%u trials in %.2f s, "
		       "fork per trial)\n", prop->name, rep.trials / rep.seconds,
		       cpu > 0 ? rep.trials / cpu : 0.0, rep.trials, rep.seconds);
	else
		printf("%-28s FAILED (seed %llu)\n", prop->name, (unsigned long long)rep.fail_seed);
	fl_prop_report_fini(&rep);
	return rc != 0;
}

/* Finds and shrinks a planted bug from seeds seed..seed+runs-1 and prints
 * the means: trials and seconds to find, shrink runs and seconds, steps
 * of the shrunk sequence (and the largest). */
static inline void bench_find(const char *label, const struct fl_prop_def *prop, uint64_t seed,
			      unsigned runs)
{
	double tf = 0, ts = 0, steps = 0;
	unsigned trials = 0, shrinks = 0, found = 0, maxsteps = 0;
	for (unsigned i = 0; i < runs; i++) {
		struct fl_prop_config cfg;
		struct fl_prop_report rep;
		fl_prop_config_init(&cfg, NULL);
		cfg.seed = seed + i;
		cfg.trials = 100000;
		cfg.quiet = true;
		cfg.trace_dir = NULL;
		if (fl_prop_check(&cfg, prop, &rep) == 1) {
			unsigned n = 0;
			for (const char *p = rep.log; p && (p = strstr(p, "step ")); p++)
				n += p == rep.log || p[-1] == '\n';
			found++;
			tf += rep.seconds;
			ts += rep.shrink_seconds;
			trials += rep.trials;
			shrinks += rep.shrink_attempts;
			steps += n;
			maxsteps = n > maxsteps ? n : maxsteps;
		}
		fl_prop_report_fini(&rep);
	}
	if (!found) {
		printf("%-14s not found in %u seeds\n", label, runs);
		return;
	}
	printf("%-14s found %u/%u  mean %6.1f trials %6.3f s to find, %5.0f shrink runs %6.3f s, "
	       "%.1f steps (max %u)\n",
	       label, found, runs, (double)trials / found, tf / found, (double)shrinks / found,
	       ts / found, steps / found, maxsteps);
}

#endif
