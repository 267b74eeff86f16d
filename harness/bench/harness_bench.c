/*
 * faultline-harness-bench: how fast the harness runs scenarios, from one
 * run of this program.
 *
 *   sim_runs_per_s      runs/s of a two-actor scenario in sim mode
 *                       (default scenarios/pubsub-smoke.yaml)
 *   sim_steps_per_run   scheduling steps of one sim run (mean)
 *   bare_steps_per_s    the bare scheduler, measured here: two actors
 *                       that do nothing but reach a scheduling point,
 *                       random scheduler, 2 x 10^6 steps
 *   sim_overhead        wall time of a sim run / the bare scheduler's time
 *                       for as many steps (issue 17's goal: <= 1.5 for
 *                       pubsub-smoke, <= 2 for reqrep-smoke)
 *   sim_worker_minflt_per_run, sim_worker_kernel_share
 *                       the sim worker's minor page faults a run and the
 *                       share of its CPU time spent in the kernel, over
 *                       the runs of sim_runs_per_s (/proc/PID/stat)
 *   sim_syscalls_per_run
 *                       system calls a sim run makes in the worker,
 *                       counted by `strace -c` attached to it over
 *                       min(N, 500) further runs (n/a without strace)
 *   proc_runs_per_s     the same scenario with actors as processes
 *   stress_runs_per_s   the same scenario with actors as free threads
 *   bare_fork_per_s     the least a proc run must do, measured here: fork
 *                       one process per actor of the scenario, one round
 *                       trip with each over a pipe, reap them; rounds/s
 *   proc_to_bare        proc_runs_per_s / bare_fork_per_s (issue 17's
 *                       goal: >= 0.5)
 *   sim_jobs2_speedup, proc_jobs2_speedup
 *                       wall time of `faultline run SCENARIO --jobs 1`
 *                       / that of `--jobs 2`, the same runs (sim: N,
 *                       proc: N/4+1; at least 2,000 and 200, so that the
 *                       CLI's start does not weigh), the CLI beside this program
 *                       (issue 17's goal on 2 idle cores: >= 1.8)
 *   suite_seconds, suite_runs, suite_runs_per_s
 *                       with --suite: `faultline run scenarios/ --jobs 2
 *                       --seed 1`, as the README's main command runs it
 *   conformance_seconds with --suite: fixtures/conformance.py, the bug
 *                       classes' fixtures and their twins, end to end
 *   worker_rss_kb_<n>   with --rss N: the persistent sim worker's resident
 *                       memory (VmRSS) after n sim runs of SCENARIO, for n
 *                       = 1000, 10000, ... up to N: flat, or the worker
 *                       keeps something per run
 *   b1_runs_to_detect   runs until the B1 fixture fails (n/a without pub/sub)
 *   b1_seconds_to_detect
 *   b2_runs_to_detect   the same for B2 (fixtures/scenarios/b2-connect-leak.yaml)
 *   b2_seconds_to_detect
 *   b3_runs_to_detect   the same for B3 (fixtures/scenarios/b3-close-unsafe.yaml)
 *   b3_seconds_to_detect
 *   b3_<sched>_runs_median, b3_<sched>_runs_max
 *                       B3 searched from 10 seeds (1, 100001, 200001, ...)
 *                       with the PCT scheduler (depth 3) and the random
 *                       one: runs to the first crash, median and maximum
 *                       over the 10 (budget 10^4 runs each; a search that
 *                       finds nothing counts 10^4 and is reported apart).
 *                       Stress (free threads) cannot run a cluster: n/a.
 *
 * Each run is a forked child, as in `faultline run`.  Prints `name value`
 * lines, or one JSON object with --json.
 *
 * --sim-only skips the proc and stress rates and the B1 detection (n/a):
 * a scenario whose proc runs take seconds (the cluster's) is then
 * measured in sim alone.  --proc-only measures proc_runs_per_s,
 * bare_fork_per_s and proc_to_bare alone (a target's scenario, whose
 * library runs threads the sim cannot schedule: FL_TARGET=PATH for its
 * shared object).
 *
 * usage: faultline-harness-bench [--runs N] [--sim-only | --proc-only | --rss N]
 *                                [--b3-searches] [--suite] [--json]
 *                                [SCENARIO [B1-FIXTURE]]
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultline/choice.h"
#include "faultline/platform.h"
#include "faultline/scenario.h"
#include "faultline/sim.h"

#include "fixtures.h"
#include "core/clock.h"
#include "run/runner.h"

#include "bench_emit.h"

/* A process's minor faults, user and system clock ticks
 * (/proc/PID/stat); false when unreadable. */
static bool
proc_stat(pid_t pid, double *minflt, double *utime, double *stime)
{
	char path[64], buf[1024];
	const char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold spaces */
	/* After ") ": state(3) ppid pgrp session tty tpgid flags minflt(10)
	 * cminflt majflt cmajflt utime(14) stime(15). */
	return p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lf %*f %*f %*f %lf %lf",
	                           minflt, utime, stime) == 3;
}

static void
spin(void *arg)
{
	(void)arg;
	for (;;)
		FL_SCHED_POINT("bench.spin");
}

/* Steps/s of the bare scheduler: two spinning actors, random scheduler,
 * 2 x 10^6 steps; -1 when the sim cannot be made. */
static double
bare_steps_per_s(void)
{
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM, .max_steps = 2000000 };
	struct fl_sim_result res;
	struct fl_choice *c = NULL;
	struct fl_sim *sim = NULL;
	double t0, rate = -1;

	if (fl_choice_new_seeded(1, &c) != 0)
		return -1;
	cfg.choices = c;
	if (fl_sim_new(&cfg, &sim) == 0 && fl_sim_spawn(sim, "s1", spin, NULL, NULL) == 0 &&
	    fl_sim_spawn(sim, "s2", spin, NULL, NULL) == 0) {
		t0 = fli_mono_s();
		if (fl_sim_run(sim, &res) == 0 && res.steps > 0)
			rate = (double)res.steps / (fli_mono_s() - t0);
	}
	fl_sim_free(sim);
	fl_choice_free(c);
	return rate;
}

/* One run of s, seed `seed`, as `faultline run` makes it: with `more`,
 * the next seed is named (fli_runner_next) and goes to the sim worker
 * with this one.  The caller ends a loop with fli_runner_next(NULL,
 * NULL). */
static int
bench_run(struct fl_scenario *s, uint64_t seed, bool more, struct fli_runner_outcome *out)
{
	struct fli_runner_opts o = { .seed = seed, .timeout_ms = 60000, .ns_prefix = "bench" };

	if (more) {
		struct fli_runner_opts next = o;

		next.seed = seed + 1;
		fli_runner_next(s, &next);
	}
	return fli_runner_run(s, &o, out);
}

/* Runs/s of `s` in `mode` over n runs, or -1 when it cannot run or a run
 * fails (the benchmark measures the passing path). */
static double mean_steps;

static double
rate(struct fl_scenario *s, enum fl_scn_mode mode, unsigned n)
{
	uint64_t steps = 0;

	enum fl_scn_mode saved = s->mode;
	double t0, rate = -1;

	s->mode = mode;
	if (fli_runner_unsupported(s) == NULL) {
		t0 = fli_mono_s();
		rate = 0;
		for (unsigned i = 0; i < n; i++) {
			struct fli_runner_outcome out;
			if (bench_run(s, i + 1, i + 1 < n, &out) != 0 ||
			    out.verdict != FL_VERDICT_PASS) {
				fprintf(stderr, "%s: run %u in mode %d did not pass: %s %s\n",
				        s->name, i, (int)mode, out.property, out.detail);
				fli_runner_outcome_fini(&out);
				rate = -1;
				break;
			}
			steps += out.steps;
			fli_runner_outcome_fini(&out);
		}
		fli_runner_next(NULL, NULL);
		if (rate == 0) {
			rate = n / (fli_mono_s() - t0);
			mean_steps = (double)steps / n;
		}
	}
	s->mode = saved;
	return rate;
}

static void
detect_from(struct fl_scenario *s, uint64_t seed0, unsigned budget, long *runs, double *secs)
{
	double t0 = fli_mono_s();

	*runs = -1;
	*secs = -1;
	if (s == NULL || fli_runner_unsupported(s) != NULL)
		return;
	for (unsigned i = 0; i < budget; i++) {
		struct fli_runner_outcome out;
		int failed;

		if (bench_run(s, seed0 + i, i + 1 < budget, &out) != 0)
			break;
		failed = out.verdict != FL_VERDICT_PASS;
		fli_runner_outcome_fini(&out);
		if (failed) {
			*runs = i + 1;
			*secs = fli_mono_s() - t0;
			break;
		}
	}
	fli_runner_next(NULL, NULL);
}

static void
detect(struct fl_scenario *s, unsigned budget, long *runs, double *secs)
{
	detect_from(s, 1, budget, runs, secs);
}

/* Rounds/s of the bare cost of a proc run with k actors: k children
 * forked, one byte to each and back over a pipe pair, all reaped; over
 * n rounds.  -1 when a fork or pipe fails. */
static double
bare_fork(unsigned k, unsigned n)
{
	double t0 = fli_mono_s();

	for (unsigned i = 0; i < n; i++) {
		int to[2], from[2];
		pid_t pids[64];
		unsigned made = 0;
		bool ok = pipe(to) == 0 && (pipe(from) == 0 || (close(to[0]), close(to[1]), 0));
		char c = 'p';

		if (!ok)
			return -1;
		for (; made < k && made < 64; made++) {
			pids[made] = fork();
			if (pids[made] < 0)
				break;
			if (pids[made] == 0) {
				char b;

				if (read(to[0], &b, 1) == 1 && write(from[1], &b, 1) == 1)
					_exit(0);
				_exit(1);
			}
		}
		for (unsigned j = 0; j < made; j++)
			ok = ok && write(to[1], &c, 1) == 1 && read(from[0], &c, 1) == 1;
		for (unsigned j = 0; j < made; j++) {
			int st;

			ok = ok && waitpid(pids[j], &st, 0) == pids[j] && WIFEXITED(st) &&
			     WEXITSTATUS(st) == 0;
		}
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		if (!ok || made < k)
			return -1;
	}
	return n / (fli_mono_s() - t0);
}

/* Runs n sim runs of s (seeds from seed0) with `strace -c -f` attached to
 * the sim worker: system calls a run, or -1 (no strace, no worker, a run
 * that does not pass). */
static double
syscalls_per_run(struct fl_scenario *s, uint64_t seed0, unsigned n)
{
	pid_t w = fli_runner_worker_pid(), st;
	char out[] = "/tmp/faultline-bench-strace-XXXXXX", pidarg[24], line[256];
	double calls = -1;
	bool ok = true;
	int fd, status;
	FILE *f;

	if (w <= 0 || (fd = mkstemp(out)) < 0)
		return -1;
	close(fd);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)w);
	st = fork();
	if (st == 0) {
		execlp("strace", "strace", "-q", "-c", "-f", "-o", out, "-p", pidarg, (char *)NULL);
		_exit(127);
	}
	/* Attached once the worker's TracerPid is strace's (at most 10 s). */
	for (int i = 0; st > 0 && i < 1000; i++) {
		char path[64];
		long tracer = 0;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)w);
		if ((f = fopen(path, "r")) == NULL)
			break;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "TracerPid:", 10) == 0)
				tracer = strtol(line + 10, NULL, 10);
		fclose(f);
		if (tracer == st || waitpid(st, &status, WNOHANG) == st) {
			ok = tracer == st;
			break;
		}
		usleep(10000);
	}
	for (unsigned i = 0; ok && i < n; i++) {
		struct fli_runner_outcome r;

		ok = bench_run(s, seed0 + i, i + 1 < n, &r) == 0 && r.verdict == FL_VERDICT_PASS;
		fli_runner_outcome_fini(&r);
	}
	fli_runner_next(NULL, NULL);
	if (st > 0) {
		kill(st, SIGINT);
		(void)waitpid(st, &status, 0);
	}
	if (ok && (f = fopen(out, "r")) != NULL) {
		/* "100.00    0.012345           1      1234        12 total" */
		while (fgets(line, sizeof(line), f) != NULL) {
			double pct, secs, usecs, c;

			if (strstr(line, " total") != NULL &&
			    sscanf(line, "%lf %lf %lf %lf", &pct, &secs, &usecs, &c) == 4)
				calls = c / n;
			else if (strstr(line, " total") != NULL &&
			         sscanf(line, "%lf %lf %lf", &pct, &secs, &c) == 3)
				calls = c / n; /* no usecs/call column */
		}
		fclose(f);
	}
	unlink(out);
	return calls;
}

/* A process's VmRSS in kB, or -1. */
static double
rss_kb(pid_t pid)
{
	char path[64], line[256];
	double kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtod(line + 6, NULL);
	fclose(f);
	return kb;
}

/* worker_rss_kb_<n> after n = 1000, 10000, ... <= total sim runs of s
 * (seeds 1, 2, ...; a run that does not pass ends it: -1). */
static void
emit_rss(bool json, bool *first, struct fl_scenario *s, unsigned long total)
{
	unsigned long done = 0;
	enum fl_scn_mode saved = s->mode;

	s->mode = FL_SCN_MODE_SIM;
	for (unsigned long mark = 1000; mark <= total; mark *= 10) {
		char name[64];
		bool ok = true;

		for (; done < mark && ok; done++) {
			struct fli_runner_outcome out;

			ok = bench_run(s, done + 1, done + 1 < mark, &out) == 0 &&
			     out.verdict == FL_VERDICT_PASS;
			fli_runner_outcome_fini(&out);
		}
		fli_runner_next(NULL, NULL);
		snprintf(name, sizeof(name), "worker_rss_kb_%lu", mark);
		bench_emit(json, first, name,
		           ok && fli_runner_worker_pid() > 0 ? rss_kb(fli_runner_worker_pid()) : -1,
		           0);
		if (!ok)
			break;
	}
	s->mode = saved;
}

/* The sim figures of s over n runs: runs/s, steps a run, the bare
 * scheduler and the overhead, the worker's faults and kernel share, and
 * its system calls a run. */
static void
emit_sim(bool json, bool *first, struct fl_scenario *s, unsigned n)
{
	double f0 = 0, u0 = 0, s0 = 0, f1 = 0, u1 = 0, s1 = 0, r, bare;
	bool have0, have1;
	enum fl_scn_mode saved = s->mode;

	/* One run first, so that the worker exists before the counts. */
	(void)rate(s, FL_SCN_MODE_SIM, 1);
	have0 = proc_stat(fli_runner_worker_pid(), &f0, &u0, &s0);
	r = rate(s, FL_SCN_MODE_SIM, n);
	have1 = have0 && proc_stat(fli_runner_worker_pid(), &f1, &u1, &s1);
	bare = bare_steps_per_s();
	bench_emit(json, first, "sim_runs_per_s", r, 0);
	bench_emit(json, first, "sim_steps_per_run", r > 0 ? mean_steps : -1, 0);
	bench_emit(json, first, "bare_steps_per_s", bare, 0);
	bench_emit(json, first, "sim_overhead",
	           r > 0 && bare > 0 && mean_steps > 0 ? bare / (r * mean_steps) : -1, 2);
	bench_emit(json, first, "sim_worker_minflt_per_run", r > 0 && have1 ? (f1 - f0) / n : -1,
	           1);
	bench_emit(json, first, "sim_worker_kernel_share",
	           r > 0 && have1 && u1 + s1 > u0 + s0 ? (s1 - s0) / (u1 + s1 - u0 - s0) : -1, 2);
	s->mode = FL_SCN_MODE_SIM;
	bench_emit(json, first, "sim_syscalls_per_run",
	           r > 0 ? syscalls_per_run(s, 1000001, n < 500 ? n : 500) : -1, 1);
	s->mode = saved;
}

/* The faultline program beside this one (the build tree's
 * harness/cli/faultline), or $FAULTLINE: false when there is none. */
static bool
cli_path(char *buf, size_t len)
{
	const char *env = getenv("FAULTLINE");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env != NULL && env[0] != '\0') {
		snprintf(buf, len, "%s", env);
		return access(buf, X_OK) == 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return false;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/../cli/faultline", self) >= len)
		return false;
	return access(buf, X_OK) == 0;
}

/* Runs `sh -c cmd` (its output read and dropped, but for a summary line
 * "N runs: ..." whose N goes to *runs when asked): wall seconds, or -1
 * when it cannot start or exits non-zero (a failing run is no figure). */
static double
timed(const char *cmd, long *runs)
{
	double t0 = fli_mono_s();
	char line[1024];
	FILE *f = popen(cmd, "r");
	long n;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (runs != NULL && sscanf(line, "%ld runs:", &n) == 1)
			*runs = n;
	if (pclose(f) != 0)
		return -1;
	return fli_mono_s() - t0;
}

/* `faultline run` of s's file with --jobs 1, then --jobs 2, n runs each
 * in mode `mode`: the first's wall time over the second's, or -1. */
static double
jobs2_speedup(const char *path, const char *mode, unsigned n)
{
	char fl[PATH_MAX], cmd[2 * PATH_MAX + 200];
	double t[2];

	if (!cli_path(fl, sizeof(fl)))
		return -1;
	for (int j = 0; j < 2; j++) {
		snprintf(cmd, sizeof(cmd),
		         "'%s' run '%s' --mode %s --runs %u --jobs %d --seed 1 --quiet "
		         "--trace-dir /tmp/faultline-bench-traces 2>&1",
		         fl, path, mode, n, j + 1);
		if ((t[j] = timed(cmd, NULL)) <= 0)
			return -1;
	}
	return t[0] / t[1];
}

/* --suite: the shipped scenario suite as the README runs it, and the
 * fixtures' conformance script, each timed end to end. */
static void
emit_suite(bool json, bool *first)
{
	char fl[PATH_MAX], cmd[PATH_MAX + 200];
	long runs = -1;
	double secs = -1, conf = -1;

	if (cli_path(fl, sizeof(fl))) {
		snprintf(cmd, sizeof(cmd),
		         "'%s' run scenarios/ --jobs 2 --seed 1 --quiet "
		         "--trace-dir /tmp/faultline-bench-traces 2>&1",
		         fl);
		secs = timed(cmd, &runs);
		snprintf(cmd, sizeof(cmd), "python3 fixtures/conformance.py '%s' 2>&1", fl);
		conf = timed(cmd, NULL);
	}
	bench_emit(json, first, "suite_seconds", secs, 1);
	bench_emit(json, first, "suite_runs", secs > 0 ? (double)runs : -1, 0);
	bench_emit(json, first, "suite_runs_per_s", secs > 0 && runs > 0 ? runs / secs : -1, 0);
	bench_emit(json, first, "conformance_seconds", conf, 1);
}

/* proc_runs_per_s, bare_fork_per_s and their ratio over n runs each
 * (s NULL: n/a). */
static void
emit_proc(bool json, bool *first, struct fl_scenario *s, unsigned n)
{
	double proc = s != NULL ? rate(s, FL_SCN_MODE_PROC, n) : -1;
	double bare = s != NULL ? bare_fork((unsigned)s->actor_count, n) : -1;

	bench_emit(json, first, "proc_runs_per_s", proc, 0);
	bench_emit(json, first, "bare_fork_per_s", bare, 0);
	bench_emit(json, first, "proc_to_bare", proc > 0 && bare > 0 ? proc / bare : -1, 2);
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

#define SEARCHES      10
#define SEARCH_BUDGET 10000

/* B3 searched SEARCHES times with scheduler `kind`: the median and the
 * largest count of runs to the first failure (SEARCH_BUDGET when none
 * was found; *missed counts those). */
static void
search(struct fl_scenario *s, enum fl_scn_sched_kind kind, double *median, double *max, int *missed)
{
	enum fl_scn_sched_kind saved = s->scheduler;
	long found[SEARCHES];
	double secs;

	s->scheduler = kind;
	*missed = 0;
	for (int k = 0; k < SEARCHES; k++) {
		detect_from(s, 1 + (uint64_t)k * 100000, SEARCH_BUDGET, &found[k], &secs);
		if (found[k] < 0) {
			found[k] = SEARCH_BUDGET;
			(*missed)++;
		}
	}
	s->scheduler = saved;
	qsort(found, SEARCHES, sizeof(found[0]), cmp_long);
	*median = (found[SEARCHES / 2 - 1] + found[SEARCHES / 2]) / 2.0;
	*max = (double)found[SEARCHES - 1];
}

static void
emit_detect(bool json, bool *first, const char *name, struct fl_scenario *s)
{
	char key[64];
	long runs = -1;
	double secs = -1;

	detect(s, 1000, &runs, &secs);
	snprintf(key, sizeof(key), "%s_runs_to_detect", name);
	bench_emit(json, first, key, (double)runs, 0);
	snprintf(key, sizeof(key), "%s_seconds_to_detect", name);
	bench_emit(json, first, key, secs, 3);
}

static const char usage[] =
        "usage: faultline-harness-bench [--runs N] [--sim-only | --proc-only | --rss N]\n"
        "                               [--b3-searches] [--suite] [--json]\n"
        "                               [SCENARIO [B1-FIXTURE]]\n"
        "Measures the scenario runner: sim, proc and stress runs per second of SCENARIO\n"
        "(default scenarios/pubsub-smoke.yaml), sim steps per run, and the runs and\n"
        "seconds to detect B1-FIXTURE (default fixtures/scenarios/b1-image-leak.yaml);\n"
        "--runs N sim runs (default 200), --sim-only the sim figures alone, --json one\n"
        "JSON object.  B2 and B3: runs and seconds to detect each (from the source\n"
        "tree's fixtures/scenarios/); --b3-searches B3 searched from 10 seeds with PCT\n"
        "and with the random scheduler (runs to the first crash, median and maximum).\n"
        "--proc-only: proc runs/s of SCENARIO (N/4+1 runs) beside the bare fork, ping\n"
        "and reap alone (a target whose library runs threads of its own: NNG's).\n"
        "--rss N (N >= 1000): the sim worker's resident memory after 10^3, 10^4, ...\n"
        "up to N sim runs of SCENARIO, alone.  sim_jobs2_speedup and\n"
        "proc_jobs2_speedup: `faultline run SCENARIO` with --jobs 1 over --jobs 2 (the\n"
        "CLI beside this program, or $FAULTLINE).  --suite also times the scenario\n"
        "suite (`faultline run scenarios/ --jobs 2`) and fixtures/conformance.py.\n";

int
main(int argc, char **argv)
{
	const char *path = "scenarios/pubsub-smoke.yaml";
	const char *b1path = "fixtures/scenarios/b1-image-leak.yaml";
	unsigned runs = 200;
	bool json = false, first = true, sim_only = false, proc_only = false;
	bool b3_searches = false, suite = false;
	unsigned long rss_runs = 0;
	int npos = 0;
	struct fl_scenario *s, *b1 = NULL;
	char err[512];
	long b1_runs;
	double b1_secs;

	if (fl_fixtures_register() != 0)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--sim-only") == 0) {
			sim_only = true;
		} else if (strcmp(argv[i], "--rss") == 0 && i + 1 < argc) {
			rss_runs = strtoul(argv[++i], NULL, 10);
			if (rss_runs < 1000)
				goto bad;
		} else if (strcmp(argv[i], "--proc-only") == 0) {
			proc_only = true;
		} else if (strcmp(argv[i], "--b3-searches") == 0) {
			b3_searches = true;
		} else if (strcmp(argv[i], "--suite") == 0) {
			suite = true;
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = (unsigned)strtoul(argv[++i], NULL, 10);
			if (runs == 0)
				goto bad;
		} else if (argv[i][0] == '-') {
			goto bad;
		} else if (npos == 0) {
			path = argv[i];
			npos++;
		} else if (npos == 1) {
			b1path = argv[i];
			npos++;
		} else {
			goto bad;
		}
	}
	if (fl_scenario_load(path, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (sim_only && proc_only)
		goto bad;
	if (rss_runs > 0) {
		emit_rss(json, &first, s, rss_runs);
		goto end;
	}
	if (proc_only) {
		emit_proc(json, &first, s, runs / 4 + 1);
		goto end;
	}
	if (fl_scenario_load(b1path, &b1, err, sizeof(err)) != 0)
		b1 = NULL;
	emit_sim(json, &first, s, runs);
	/* At least 2,000 and 200 runs: the CLI's own start must not weigh. */
	bench_emit(json, &first, "sim_jobs2_speedup",
	           jobs2_speedup(path, "sim", runs > 2000 ? runs : 2000), 2);
	emit_proc(json, &first, sim_only ? NULL : s, runs / 4 + 1);
	bench_emit(json, &first, "proc_jobs2_speedup",
	           sim_only ? -1
	                    : jobs2_speedup(path, "proc", runs / 4 + 1 > 200 ? runs / 4 + 1 : 200),
	           2);
	bench_emit(json, &first, "stress_runs_per_s",
	           sim_only ? -1 : rate(s, FL_SCN_MODE_STRESS, runs / 4 + 1), 0);
	b1_runs = -1;
	b1_secs = -1;
	if (!sim_only)
		detect(b1, 1000, &b1_runs, &b1_secs);
	bench_emit(json, &first, "b1_runs_to_detect", (double)b1_runs, 0);
	bench_emit(json, &first, "b1_seconds_to_detect", b1_secs, 3);
	if (!sim_only) {
		struct fl_scenario *b2 = NULL, *b3 = NULL;
		double med, max;
		int missed;

		if (fl_scenario_load("fixtures/scenarios/b2-connect-leak.yaml", &b2, err,
		                     sizeof(err)) != 0)
			b2 = NULL;
		if (fl_scenario_load("fixtures/scenarios/b3-close-unsafe.yaml", &b3, err,
		                     sizeof(err)) != 0)
			b3 = NULL;
		emit_detect(json, &first, "b2", b2);
		emit_detect(json, &first, "b3", b3);
		if (b3 != NULL && b3_searches) {
			search(b3, FL_SCN_SCHED_PCT, &med, &max, &missed);
			bench_emit(json, &first, "b3_pct_runs_median", med, 1);
			bench_emit(json, &first, "b3_pct_runs_max", max, 0);
			bench_emit(json, &first, "b3_pct_searches_missed", missed, 0);
			search(b3, FL_SCN_SCHED_RANDOM, &med, &max, &missed);
			bench_emit(json, &first, "b3_random_runs_median", med, 1);
			bench_emit(json, &first, "b3_random_runs_max", max, 0);
			bench_emit(json, &first, "b3_random_searches_missed", missed, 0);
			bench_emit(json, &first, "b3_stress_runs_median", -1, 0);
		}
		fl_scenario_free(b2);
		fl_scenario_free(b3);
	}
	if (suite)
		emit_suite(json, &first);
end:
	if (json)
		printf(", \"scenario\": \"%s\"}\n", s->name);
	else
		printf("scenario %s\n", s->name);
	fl_scenario_free(s);
	fl_scenario_free(b1);
	fli_runner_shutdown();
	return 0;
bad:
	fputs(usage, stderr);
	return 2;
}
