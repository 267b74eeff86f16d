/*
 * fl_prop_main: the main() of a property program (properties/).
 */
#include "faultline/prop.h"
#include "faultline/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f, const char *argv0, const struct fl_prop_def *table, size_t n)
{
	fprintf(f,
	        "usage: %s [--prop NAME]... [--seed S] [--trials N] [--time SEC] [--long]\n"
	        "          [--seeds S1,S2,... [--fresh]]\n"
	        "          [--max-shrinks N] [--timeout-ms MS] [--trace-dir DIR] [--no-fork] "
	        "[--quiet]\n"
	        "       %s --replay TRACE | --shrink TRACE [--out FILE] | --list\n"
	        "environment: FL_SEED, FL_TRIALS, FL_TIME, FL_LONG=1, FL_MAX_SHRINKS, "
	        "FL_TRACE_DIR\n"
	        "properties:\n",
	        argv0, argv0);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-28s %s\n", table[i].name,
		        table[i].description ? table[i].description : "");
}

int
fl_prop_main(int argc, char **argv, const struct fl_prop_def *table, size_t n)
{
	struct fl_prop_config cfg;
	fl_prop_config_init(&cfg, NULL);
	if (!cfg.trace_dir)
		cfg.trace_dir = "faultline-traces";
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, argv[0], table, n);
			return 0;
		}
	if (fl_prop_config_args(&cfg, argc, argv) != 0) {
		usage(stderr, argv[0], table, n);
		return 2;
	}
	const char *replay = NULL, *shrink = NULL, *out = NULL;
	const char **only = calloc((size_t)argc + 1, sizeof *only);
	size_t nonly = 0;
	uint64_t seeds[64];
	size_t nseeds = 0;
	bool fresh = false;
	if (!only)
		return 2;
	int code = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (strcmp(a, "--prop") == 0 && has) {
			only[nonly++] = argv[++i];
		} else if (strcmp(a, "--replay") == 0 && has) {
			replay = argv[++i];
		} else if (strcmp(a, "--shrink") == 0 && has) {
			shrink = argv[++i];
		} else if (strcmp(a, "--out") == 0 && has) {
			out = argv[++i];
		} else if (strcmp(a, "--fresh") == 0) {
			fresh = true;
		} else if (strcmp(a, "--seeds") == 0 && has) {
			char *list = argv[++i], *end = list;
			while (*end && nseeds < sizeof seeds / sizeof seeds[0]) {
				errno = 0;
				seeds[nseeds++] = strtoull(end, &end, 0);
				if (errno || (*end && *end != ',')) {
					fprintf(stderr, "%s: --seeds: bad list '%s'\n", argv[0],
					        list);
					goto done;
				}
				if (*end == ',')
					end++;
			}
		} else if (strcmp(a, "--list") == 0) {
			for (size_t k = 0; k < n; k++)
				printf("%s\t%s\n", table[k].name,
				       table[k].description ? table[k].description : "");
			code = 0;
			goto done;
		} else if (strcmp(a, "--seed") == 0 || strcmp(a, "--trials") == 0 ||
		           strcmp(a, "--time") == 0 || strcmp(a, "--max-shrinks") == 0 ||
		           strcmp(a, "--timeout-ms") == 0 || strcmp(a, "--trace-dir") == 0) {
			i++;
		} else if (strcmp(a, "--long") != 0 && strcmp(a, "--no-fork") != 0 &&
		           strcmp(a, "--quiet") != 0) {
			fprintf(stderr, "%s: unknown argument %s\n", argv[0], a);
			usage(stderr, argv[0], table, n);
			goto done;
		}
	}
	if (replay || shrink) {
		char err[256] = "";
		struct fl_trace t;
		int rc = fl_trace_read(replay ? replay : shrink, &t, err, sizeof err);
		if (rc) {
			fprintf(stderr, "%s: %s\n", replay ? replay : shrink, err);
			goto done;
		}
		struct fl_prop_report rep;
		if (replay)
			rc = fl_prop_replay(table, n, &t, &cfg, &rep);
		else
			rc = fl_prop_shrink(table, n, &t, &cfg, out, &rep);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", t.name, fl_strerror(rc));
		} else {
			fl_prop_print(&rep, t.name);
			if (replay)
				printf("replay %s: %s (trace says %s)\n",
				       rc == 0 ? "reproduced" : "DIFFERS",
				       fl_verdict_name(rep.verdict), t.verdict ? t.verdict : "?");
			/* Like a run: 1 when the trace (still) fails. */
			code = rep.verdict == FL_VERDICT_PASS ? 0 : 1;
			fl_prop_report_fini(&rep);
		}
		fl_trace_fini(&t);
		goto done;
	}
	code = 0;
	for (size_t i = 0; i < n; i++) {
		bool run = nonly == 0;
		for (size_t k = 0; k < nonly; k++)
			run |= strcmp(only[k], table[i].name) == 0;
		if (!run)
			continue;
		/* The fixed seeds (CI's regression list), then the run's own
		 * seed: fresh unless --seed / FL_SEED fixed it. */
		size_t nruns = nseeds + (nseeds == 0 || fresh ? 1 : 0);
		for (size_t r = 0; r < nruns; r++) {
			struct fl_prop_config c = cfg;
			if (r < nseeds)
				c.seed = seeds[r];
			int rc = fl_prop_check(&c, &table[i], NULL);
			if (rc < 0) {
				fprintf(stderr, "%s: engine error: %s\n", table[i].name,
				        fl_strerror(rc));
				code = 2;
			} else if (rc != 0 && code == 0) {
				code = 1;
			}
		}
	}
	for (size_t k = 0; k < nonly; k++)
		if (!fl_prop_find(table, n, only[k])) {
			fprintf(stderr, "%s: no property named %s\n", argv[0], only[k]);
			code = 2;
		}
done:
	free(only);
	return code;
}
