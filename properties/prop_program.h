/*
 * The main of a property program, shared by the programs in properties/:
 * an unplanted program's CI run, the check a planted program makes, their
 * --bench modes (trials per second of a property, trials and seconds to
 * find and shrink a planted bug; figures go to stdout, one line each), and
 * the reaper that removes what killed trials left in /dev/shm.
 */
#ifndef PROPERTIES_PROP_PROGRAM_H
#define PROPERTIES_PROP_PROGRAM_H

#include "faultline/error.h"
#include "faultline/prop.h"
#include "faultline/driver.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* CPU seconds of this process and its reaped children (the trials): a
 * figure that holds on a loaded machine, unlike wall time. */
static inline double
bench_cpu_s(void)
{
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
	       kids.ru_stime.tv_sec +
	       (self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
	        kids.ru_stime.tv_usec) /
	               1e6;
}

/* A bench's configuration: from `seed`, at most `trials` trials, quiet,
 * no trace saved. */
static inline void
bench_config(struct fl_prop_config *cfg, uint64_t seed, unsigned trials)
{
	fl_prop_config_init(cfg, NULL);
	cfg->seed = seed;
	cfg->trials = trials;
	cfg->quiet = true;
	cfg->trace_dir = NULL;
}

/* Runs prop for `secs` seconds (fork per trial, as CI does) from `seed`
 * and prints trials/s.  Returns 0, or 1 when a trial failed. */
static inline int
bench_throughput(const struct fl_prop_def *prop, double secs, uint64_t seed)
{
	struct fl_prop_config cfg;
	struct fl_prop_report rep;
	bench_config(&cfg, seed, 100000000);
	cfg.time_budget_s = secs;
	double cpu0 = bench_cpu_s();
	int rc = fl_prop_check(&cfg, prop, &rep);
	double cpu = bench_cpu_s() - cpu0;
	if (rc == 0)
		printf("%-24s %6.0f trials/s wall, %6.0f per CPU second  (%u trials in %.2f s, "
		       "fork per trial)\n",
		       prop->name, rep.trials / rep.seconds, cpu > 0 ? rep.trials / cpu : 0.0,
		       rep.trials, rep.seconds);
	else
		printf("%-28s FAILED (seed %llu)\n", prop->name, (unsigned long long)rep.fail_seed);
	fl_prop_report_fini(&rep);
	return rc != 0;
}

/* The property program whose trials' directories remove_prop_dirs removes:
 * this process, or (in the reaper, below) the program it outlived. */
static pid_t prop_owner_pid;

/* What its trials' run directories' names start with in /dev/shm
 * ("faultline-prop-rr-"): set by start_reaper. */
static const char *prop_dirs_prefix;

/* Removes the run directories /dev/shm/<prefix><pid>-* of the program's
 * trials, with what is in them: a trial that crashed or hung never ran its
 * teardown. */
static inline void
remove_prop_dirs(const char *prefix)
{
	char mine[96];
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	if (!d)
		return;
	snprintf(mine, sizeof mine, "%s%d-", prefix,
	         (int)(prop_owner_pid ? prop_owner_pid : getpid()));
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, mine, strlen(mine)) != 0)
			continue;
		/* A run directory is /dev/shm/faultline-<ns>. */
		if (strncmp(e->d_name, "faultline-", 10) == 0)
			(void)fl_run_dir_remove(e->d_name + 10);
	}
	closedir(d);
}

/* What else a program's trials leave that its end must remove (files
 * outside /dev/shm): set before start_reaper, run by remove_leftovers. */
static void (*prop_leftovers_hook)(void);

/* Removes what trials of this program that crashed or hung left in
 * /dev/shm, and what prop_leftovers_hook removes. */
static inline void
remove_leftovers(void)
{
	if (prop_dirs_prefix != NULL)
		remove_prop_dirs(prop_dirs_prefix);
	if (prop_leftovers_hook != NULL)
		prop_leftovers_hook();
}

/* Lines of a shrunk failure's log that start with "step ". */
static inline unsigned
log_steps(const char *log)
{
	unsigned n = 0;
	for (const char *p = log; p && (p = strstr(p, "step ")); p++)
		n += p == log || p[-1] == '\n';
	return n;
}

/* Finds and shrinks a planted bug from seeds seed..seed+runs-1 and prints
 * the means: trials and seconds to find, shrink runs and seconds, steps
 * of the shrunk sequence (and the largest). */
static inline void
bench_find(const char *label, const struct fl_prop_def *prop, uint64_t seed, unsigned runs)
{
	double tf = 0, ts = 0, steps = 0;
	unsigned trials = 0, shrinks = 0, found = 0, maxsteps = 0;
	for (unsigned i = 0; i < runs; i++) {
		struct fl_prop_config cfg;
		struct fl_prop_report rep;
		bench_config(&cfg, seed + i, 100000);
		if (fl_prop_check(&cfg, prop, &rep) == 1) {
			unsigned n = log_steps(rep.log);
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

/*
 * A program killed by SIGTERM (meson's timeout), SIGINT or SIGKILL never
 * reaches its own cleanup, and its trials' directories stayed in /dev/shm.
 * A reaper process, forked first, waits for the program's end (its pipe's
 * EOF, whatever the cause), lets the trials die with it (they have
 * PR_SET_PDEATHSIG), and removes what they left.  It ignores SIGINT and
 * SIGTERM, so a signal to the whole group (Ctrl-C) leaves it to clean.
 * `prefix`: what the program's trials' run directories' names start with
 * (remove_leftovers).
 */
static inline void
start_reaper(const char *prefix)
{
	int p[2];
	pid_t pid;

	prop_owner_pid = getpid();
	prop_dirs_prefix = prefix;
	if (getenv("FL_UNDER_VALGRIND") != NULL || pipe(p) != 0)
		return; /* memcheck would check the reaper as a second program */
	pid = fork();
	if (pid == 0) {
		char c;

		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		usleep(200 * 1000); /* the trials' PR_SET_PDEATHSIG kills */
		remove_leftovers();
		_exit(0);
	}
	close(p[0]); /* p[1] stays open: it closes when this program ends */
}

/* main of an unplanted property program (`name`): --bench [SECONDS]
 * prints each property's trials per second; anything else runs
 * fl_prop_main with CI's budget unless FL_TRIALS / --trials say otherwise
 * (200 trials, 5 under memcheck, which runs a trial 20-50x slower).
 * `prefix` names its trials' run directories (start_reaper): what trials
 * that crashed or hung left behind is removed. */
static inline int
prop_program_main(const char *name, int argc, char **argv, const struct fl_prop_def *props,
                  size_t n, const char *prefix)
{
	int code = 0;

	start_reaper(prefix);
	if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
		double secs = argc >= 3 ? strtod(argv[2], NULL) : 2.0;
		printf("# %s: trials per second (%.1f s each)\n", name, secs);
		for (size_t i = 0; i < n; i++)
			code |= bench_throughput(&props[i], secs, 1);
	} else {
		setenv("FL_TRIALS", getenv("FL_UNDER_VALGRIND") ? "5" : "200", 0);
		code = fl_prop_main(argc, argv, props, n);
	}
	remove_leftovers();
	return code;
}

/* A planted program's usage; --help anywhere in argv prints it to stdout
 * (returns true: exit 0). */
static inline void
planted_usage(FILE *f, const char *argv0, const char *plant)
{
	fprintf(f,
	        "usage: %s%s [--seed S] [--trials N] [--time SEC] [--max-shrinks N] [--timeout-ms "
	        "MS]\n"
	        "       %s --replay TRACE | --shrink TRACE [--out FILE]\n"
	        "       %s --bench [RUNS]\n"
	        "Checks that the property finds the planted bug from seeds 1000-1004 and shrinks "
	        "it\n"
	        "to its hand-written reproduction's length or less.  Exit status 0 as expected,\n"
	        "1 not, 2 usage or engine error.\n",
	        argv0, plant, argv0, argv0);
}

static inline bool
planted_help(int argc, char **argv, const char *plant)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			planted_usage(stdout, argv[0], plant);
			return true;
		}
	return false;
}

/* A planted bug's check: from seeds 1000.. (five natively, one under
 * memcheck) the property must fail and shrink to a log that names
 * `helper` (a word of the helper step's description, or of the failure
 * message) in at most max_steps steps, and the failure's message must
 * say `finding` (the invariant the bug breaks, by name: a failure of
 * another kind is not the plant found).  Under memcheck, with memcheck_shrinks non-zero, the shrink stops
 * after that many runs and the bound is not checked (the finding is checked
 * there, the length natively).  Prints a line per seed; returns 0, 1 (not
 * as expected) or 2 (bad arguments, engine error). */
static inline int
planted_check(int argc, char **argv, const char *label, const struct fl_prop_def *prop,
              const char *helper, const char *finding, unsigned max_steps,
              unsigned memcheck_shrinks)
{
	bool memcheck = getenv("FL_UNDER_VALGRIND") != NULL;
	bool bounded = !memcheck || memcheck_shrinks == 0;
	int code = 0;
	for (unsigned i = 0; i < (memcheck ? 1u : 5u); i++) {
		struct fl_prop_config cfg;
		struct fl_prop_report rep;
		fl_prop_config_init(&cfg, NULL);
		cfg.seed = 1000 + i;
		cfg.trials = 1000;
		cfg.quiet = i > 0;
		if (memcheck) {
			/* in-process trials: a fork under memcheck copies its
			 * shadow memory and costs more than the trial */
			cfg.fork = false;
			if (memcheck_shrinks != 0)
				cfg.max_shrinks = memcheck_shrinks;
		}
		if (fl_prop_config_args(&cfg, argc, argv) != 0)
			return 2;
		int rc = fl_prop_check(&cfg, prop, &rep);
		if (rc < 0) {
			fprintf(stderr, "engine error: %s\n", fl_strerror(rc));
			fl_prop_report_fini(&rep);
			return 2;
		}
		unsigned steps = log_steps(rep.log);
		bool ok =
		        rc == 1 && rep.log &&
		        (strstr(rep.log, helper) || (rep.message && strstr(rep.message, helper))) &&
		        rep.message && strstr(rep.message, finding) &&
		        (!bounded || steps <= max_steps);
		printf("%s seed %llu: %s after %u trials (%.3f s), shrunk to %u steps (bound %u) "
		       "in %u "
		       "runs (%.3f s)%s\n",
		       label, (unsigned long long)cfg.seed, fl_verdict_name(rep.verdict),
		       rep.trials, rep.seconds, steps, max_steps, rep.shrink_attempts,
		       rep.shrink_seconds, ok ? "" : "  <-- NOT as expected");
		if (!ok) {
			printf("  failure: %s (must say: %s)\n", rep.message ? rep.message : "none",
			       finding);
			code = 1;
		}
		fl_prop_report_fini(&rep);
	}
	return code;
}

#endif
