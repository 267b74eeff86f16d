/*
 * Property engine benchmark: trials per second on a toy property (forked
 * and in-process), and trials and seconds to find and shrink planted bugs.
 *
 *   prop_bench [--seed S] [--time SEC]
 */
#include "faultline/prop.h"
#include "toys.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
throughput(const char *label, bool fork, double secs, uint64_t seed)
{
	struct fl_prop_config cfg;
	fl_prop_config_init(&cfg, NULL);
	cfg.seed = seed;
	cfg.trials = 100000000;
	cfg.time_budget_s = secs;
	cfg.fork = fork;
	cfg.quiet = true;
	struct fl_prop_report rep;
	if (fl_prop_check(&cfg, &toy_pass, &rep) != 0) {
		printf("%-34s error\n", label);
		return;
	}
	printf("%-34s %8.0f trials/s  (%u trials in %.2f s)\n", label, rep.trials / rep.seconds,
	       rep.trials, rep.seconds);
	fl_prop_report_fini(&rep);
}

static void
find(const struct fl_prop_def *def, uint64_t seed, unsigned runs)
{
	double tf = 0, ts = 0;
	unsigned trials = 0, shrinks = 0, found = 0;
	size_t orig = 0, min = 0;
	for (unsigned i = 0; i < runs; i++) {
		struct fl_prop_config cfg;
		fl_prop_config_init(&cfg, NULL);
		cfg.seed = seed + i;
		cfg.trials = 100000;
		cfg.quiet = true;
		cfg.max_shrinks = 5000;
		cfg.trial_timeout_ms = 200;
		struct fl_prop_report rep;
		if (fl_prop_check(&cfg, def, &rep) == 1) {
			found++;
			tf += rep.seconds;
			ts += rep.shrink_seconds;
			trials += rep.trials;
			shrinks += rep.shrink_attempts;
			orig += rep.original_nchoices;
			min += rep.nchoices;
		}
		fl_prop_report_fini(&rep);
	}
	if (!found) {
		printf("%-22s not found\n", def->name);
		return;
	}
	printf("%-22s found %u/%u  mean: %6.1f trials %7.4f s to find, %6.1f shrink runs %7.4f s, "
	       "%5.1f -> %4.1f choices\n",
	       def->name, found, runs, (double)trials / found, tf / found, (double)shrinks / found,
	       ts / found, (double)orig / found, (double)min / found);
}

static const char usage[] =
        "usage: prop_bench [--seed S] [--time SEC]\n"
        "The property engine's figures on toy properties: trials per second forked and\n"
        "in process (SEC each, default 2), trials and seconds to find and shrink each\n"
        "planted toy bug (seed S, default 1).\n";

int
main(int argc, char **argv)
{
	uint64_t seed = 1;
	double secs = 2.0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
			secs = strtod(argv[++i], NULL);
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	printf("# faultline property engine benchmark (seed %" PRIu64 ")\n", seed);
	throughput("toy_pass, fork per trial", true, secs, seed);
	throughput("toy_pass, in-process", false, secs, seed);
	find(&toy_refcount_leak, seed, 10);
	find(&toy_sum_below_1000, seed, 10);
	find(&toy_segv_at_300, seed, 10);
	find(&toy_hang_at_50, seed, 3);
	return 0;
}
