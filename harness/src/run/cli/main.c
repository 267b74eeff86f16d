/*
 * faultline: run scenario suites, replay and shrink failures, list
 * scenarios.  Exit status: 0 every run passed, 1 some run failed, 2 usage
 * or scenario error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/report.h"
#include "faultline/scenario.h"
#include "faultline/trace.h"

#include "run/faults.h"
#include "run/runner.h"
#include "run/shrink.h"

#define EXIT_USAGE 2

static const char usage_main[] =
	"usage: faultline <command> [options]\n"
	"\n"
	"commands:\n"
	"  run [PATH...]     run scenario files or directories (default: scenarios/)\n"
	"  replay TRACE      re-run a saved trace and report whether it reaches the same verdict\n"
	"  shrink TRACE      minimise a failing trace's choices; writes TRACE.min\n"
	"  list [PATH...]    list scenarios with their descriptions\n"
	"\n"
	"`faultline <command> --help` describes each command's options.\n";

static const char usage_run[] =
	"usage: faultline run [PATH...] [options]\n"
	"  --seed S         seed of the first run (run i uses S+i); default: random, printed\n"
	"  --runs N         runs per scenario (default: the scenario's budget.runs)\n"
	"  --time T         seconds per scenario at most (default: budget.seconds)\n"
	"  --jobs J         run J runs at once in separate processes (default 1)\n"
	"  --shard I/N      only runs whose index is I-1 modulo N (split across CI jobs)\n"
	"  --mode M         run every scenario in mode M: sim, proc or stress\n"
	"  --sweep          fault sweep: count every fault point's hits in a clean run, then\n"
	"                   fail the k-th hit of each point once and persistently, for every k\n"
	"  --check-each-step  audit after every operation of every actor, not only at the\n"
	"                   end; a violation names the actor's step\n"
	"  --timeout MS     wall-clock deadline of one run (default 60000)\n"
	"  --fork-each      a fresh forked child for every run (default: sim runs share a\n"
	"                   worker process, replaced after any run that did not pass)\n"
	"  --trace-dir D    where failing runs' traces go (default faultline-traces)\n"
	"  --json F         write the JSON report to F (- for stdout)\n"
	"  --junit F        write a JUnit XML report to F\n"
	"  --tap            stream TAP 13 on stdout (progress goes to stderr)\n"
	"  --valgrind       run each run's process and its process actors (proc mode) under\n"
	"                   memcheck: errors or definite leaks fail the run (property\n"
	"                   memcheck; logs memcheck-<run>-<pid>.log in the trace directory)\n"
	"  --quiet          no progress line\n";

static const char usage_replay[] =
	"usage: faultline replay TRACE\n"
	"Re-runs the scenario named in TRACE with its recorded choices and prints the verdict\n"
	"(a property trace is replayed by the program named in it).\n"
	"Exit status 0 when the replay reaches the recorded verdict, 1 when it does not,\n"
	"2 when the trace or its scenario cannot be read.\n";

static const char usage_shrink[] =
	"usage: faultline shrink TRACE [-o OUT] [--attempts N]\n"
	"Minimises the recorded choices while the run still fails with the same verdict and\n"
	"property; writes the minimal trace to OUT (default TRACE.min) and prints it.\n";

static const char usage_list[] =
	"usage: faultline list [PATH...]\n"
	"Lists every scenario (name, mode, file, description).\n";

static double
wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (s == NULL || *s == '\0' || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
load_all(const char *const *paths, size_t n, struct fl_scenario ***out, size_t *count)
{
	static const char *const def[] = { "scenarios" };
	char err[512];
	char **files;
	size_t nfiles;
	struct fl_scenario **list;

	if (n == 0) {
		paths = def;
		n = 1;
	}
	if (fl_scenario_expand_paths(paths, n, &files, &nfiles, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline: %s\n", err);
		return -1;
	}
	list = calloc(nfiles + 1, sizeof(*list));
	if (list == NULL) {
		fl_scenario_paths_free(files);
		return -1;
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (fl_scenario_load(files[i], &list[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			fl_scenario_list_free(list, i);
			fl_scenario_paths_free(files);
			return -1;
		}
		for (size_t w = 0; w < list[i]->warning_count; w++)
			fprintf(stderr, "warning: %s\n", list[i]->warnings[w]);
	}
	fl_scenario_paths_free(files);
	*out = list;
	*count = nfiles;
	return 0;
}

/* ---- one run, its trace --------------------------------------------- */

static void
sanitize(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		dst[i] = (src[i] == '/' || src[i] == ' ') ? '_' : src[i];
	dst[i] = '\0';
}

static int
write_trace(const char *path, const struct fl_scenario *s, uint64_t seed,
            const struct fl_runner_outcome *o, const char *sweep, const struct fl_runner_opts *ro)
{
	struct fl_trace t;
	int rv;

	rv = fl_trace_init(&t, "scenario", s->name, s->hash, seed, fl_verdict_name(o->verdict),
	                   o->property[0] ? o->property : NULL, o->detail[0] ? o->detail : NULL,
	                   o->choices, o->nchoices);
	if (rv != 0)
		return rv;
	t.signal = o->signal;
	t.trace_hash = o->trace_hash;
	rv = fl_trace_add_extra(&t, "path", s->path);
	if (rv == 0 && ro->valgrind != NULL)
		rv = fl_trace_add_extra(&t, "valgrind", "yes");
	if (rv == 0 && ro->check_each_step)
		rv = fl_trace_add_extra(&t, "check_each_step", "yes");
	if (rv == 0 && ro->pct_steps != 0) {
		char steps[32];
		snprintf(steps, sizeof(steps), "%" PRIu64, ro->pct_steps);
		rv = fl_trace_add_extra(&t, "pct_steps", steps);
	}
	if (rv == 0 && sweep != NULL)
		rv = fl_trace_add_extra(&t, "sweep", sweep);
	if (rv == 0)
		rv = fl_trace_write(path, &t);
	fl_trace_fini(&t);
	return rv;
}

struct run_cfg {
	const char *trace_dir;
	uint64_t timeout_ms;
};

/* Run once and turn the outcome into a report entry (and a trace file
 * when it failed). */
static void
run_one(const struct run_cfg *rc, const struct fl_scenario *s, const struct fl_runner_opts *o,
        const char *sweep_desc, struct fl_run_result *res)
{
	struct fl_runner_outcome out;
	char file[256], name[64];

	memset(res, 0, sizeof(*res));
	snprintf(res->scenario, sizeof(res->scenario), "%s", s->name);
	res->seed = o->seed;
	if (fl_runner_run(s, o, &out) != 0) {
		res->verdict = FL_VERDICT_FAIL;
		snprintf(res->property, sizeof(res->property), "harness");
		snprintf(res->detail, sizeof(res->detail), "the harness could not fork a run");
		return;
	}
	res->verdict = out.verdict;
	res->trace_hash = out.trace_hash;
	res->seconds = out.seconds;
	snprintf(res->property, sizeof(res->property), "%s", out.property);
	if (sweep_desc != NULL && out.verdict != FL_VERDICT_PASS)
		snprintf(res->detail, sizeof(res->detail), "%.340s [%.160s]", out.detail, sweep_desc);
	else
		snprintf(res->detail, sizeof(res->detail), "%s", out.detail);
	if (out.verdict != FL_VERDICT_PASS) {
		mkdir(rc->trace_dir, 0755);
		sanitize(name, sizeof(name), s->name);
		if (o->sweep_point != NULL) {
			/* One trace per faulted run: point, hit and persistence. */
			char point[64];
			sanitize(point, sizeof(point), o->sweep_point);
			snprintf(file, sizeof(file), "%s/%s-%" PRIu64 "-sweep-%s-%" PRIu64 "%s.trace",
			         rc->trace_dir, name, o->seed, point, o->sweep_k,
			         o->sweep_persistent ? "-after" : "");
		} else {
			snprintf(file, sizeof(file), "%s/%s-%" PRIu64 ".trace", rc->trace_dir, name, o->seed);
		}
		if (write_trace(file, s, o->seed, &out, sweep_desc, o) == 0) {
			snprintf(res->trace_path, sizeof(res->trace_path), "%s", file);
			snprintf(res->replay_cmd, sizeof(res->replay_cmd), "faultline replay %s", file);
		}
	}
	fl_runner_outcome_fini(&out);
}

/* ---- parallel runs: J workers, each sends fixed-size results ---------- */

struct job {
	const struct fl_scenario *s;
	struct fl_runner_opts o;
	const char *sweep_point;
	char sweep_desc[160];
};

static void
run_jobs(const struct run_cfg *rc, struct job *jobs, size_t njobs, unsigned nworkers,
         struct fl_report *rep)
{
	int fds[64];
	pid_t pids[64];
	unsigned w, live = 0;

	if (nworkers <= 1 || njobs <= 1) {
		for (size_t i = 0; i < njobs; i++) {
			struct fl_run_result res;
			run_one(rc, jobs[i].s, &jobs[i].o, jobs[i].sweep_point ? jobs[i].sweep_desc : NULL,
			        &res);
			fl_report_add(rep, &res);
		}
		return;
	}
	if (nworkers > 64)
		nworkers = 64;
	fflush(NULL);
	for (w = 0; w < nworkers; w++) {
		int p[2];
		if (pipe(p) != 0)
			break;
		pids[w] = fork();
		if (pids[w] == 0) {
			close(p[0]);
			for (size_t i = w; i < njobs; i += nworkers) {
				struct fl_run_result res;
				run_one(rc, jobs[i].s, &jobs[i].o,
				        jobs[i].sweep_point ? jobs[i].sweep_desc : NULL, &res);
				if (write(p[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
					_exit(3);
			}
			fl_runner_shutdown();
			_exit(0);
		}
		close(p[1]);
		fds[w] = p[0];
		live++;
	}
	while (live > 0) {
		struct pollfd pf[64];
		for (unsigned i = 0; i < w; i++)
			pf[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pf, w, -1) < 0)
			continue;
		for (unsigned i = 0; i < w; i++) {
			struct fl_run_result res;
			if (fds[i] < 0 || !(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			ssize_t n = read(fds[i], &res, sizeof(res));
			if (n == (ssize_t)sizeof(res)) {
				fl_report_add(rep, &res);
			} else {
				close(fds[i]);
				fds[i] = -1;
				pf[i].fd = -1;
				live--;
			}
		}
		for (unsigned i = 0; i < w; i++)
			if (fds[i] < 0)
				pf[i].fd = -1;
	}
	for (unsigned i = 0; i < w; i++)
		waitpid(pids[i], NULL, 0);
}

/* ---- run ------------------------------------------------------------- */

static int
find_valgrind(char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dir[256];

	while (path != NULL && *path != '\0') {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
		snprintf(out, len, "%s/valgrind", n ? dir : ".");
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

/* faultline __run FD PATH MODE NS SEED PCT_STEPS EACH_STEP CHOICES_FD
 * SWEEP_POINT SWEEP_K PERSISTENT: one run in this process, frames to FD;
 * what --valgrind execs under memcheck.  CHOICES_FD (-1: none) holds
 * recorded choices to replay; SWEEP_POINT "-": no sweep rule. */
static int
cmd_run_one(int argc, char **argv)
{
	static const char *const modes[] = { "sim", "proc", "stress" };
	struct fl_runner_opts o = { 0 };
	struct fl_scenario *s;
	char err[512];
	uint64_t fd, *choices = NULL;
	int rv;

	if (argc != 12 || parse_u64(argv[1], &fd) != 0 || parse_u64(argv[5], &o.seed) != 0 ||
	    parse_u64(argv[6], &o.pct_steps) != 0 || parse_u64(argv[10], &o.sweep_k) != 0)
		return EXIT_USAGE;
	if (strcmp(argv[8], "-1") != 0) {
		int cfd = atoi(argv[8]);
		struct stat st;
		if (fstat(cfd, &st) != 0 || (choices = malloc((size_t)st.st_size + 8)) == NULL ||
		    read(cfd, choices, (size_t)st.st_size) != (ssize_t)st.st_size)
			return EXIT_USAGE;
		close(cfd);
		o.replay = choices;
		o.nreplay = (size_t)st.st_size / sizeof(uint64_t);
		o.replaying = true;
	}
	if (strcmp(argv[9], "-") != 0) {
		o.sweep_point = argv[9];
		o.sweep_persistent = strcmp(argv[11], "1") == 0;
	}
	if (fl_scenario_load(argv[2], &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	for (int m = 0; m < 3; m++)
		if (strcmp(argv[3], modes[m]) == 0)
			s->mode = (enum fl_scn_mode)m;
	o.check_each_step = strcmp(argv[7], "1") == 0;
	rv = fl_runner_child_main(s, &o, argv[4], (int)fd);
	fl_scenario_free(s);
	free(choices);
	return rv == 0 ? 0 : 1;
}

/*
 * PCT spreads its d-1 priority change points over the steps of a run; a
 * bug of depth d is found with probability 1/(n k^(d-1)) for n actors and
 * k steps only when k is the run's real length.  The estimate is the step
 * count of one clean run of the scenario under the uniform scheduler
 * (first seed); it goes into every run's options and every trace, so a
 * replay spreads its change points the same way.  0 (not PCT, not sim, or
 * the calibration run failed): the sim draws a scale per run.
 */
static uint64_t
pct_estimate(const struct run_cfg *rc, struct fl_scenario *s, uint64_t seed, bool each_step,
             FILE *msg, bool quiet)
{
	struct fl_runner_opts o = { .seed = seed, .timeout_ms = rc->timeout_ms,
	                            .check_each_step = each_step };
	struct fl_runner_outcome out;
	enum fl_scn_sched_kind kind = s->scheduler;
	uint64_t steps = 0;

	if (s->mode != FL_SCN_MODE_SIM || kind != FL_SCN_SCHED_PCT)
		return 0;
	s->scheduler = FL_SCN_SCHED_RANDOM;
	if (fl_runner_run(s, &o, &out) == 0) {
		if (out.verdict == FL_VERDICT_PASS)
			steps = out.steps;
		fl_runner_outcome_fini(&out);
	}
	s->scheduler = kind;
	if (!quiet)
		fprintf(msg, "%s: PCT depth %u, change points over %" PRIu64 " steps%s\n", s->name,
		        s->sched_depth, steps, steps ? " (a clean run's length)" : " (drawn per run)");
	return steps;
}

static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, 0, 's' },   { "runs", required_argument, 0, 'n' },
		{ "time", required_argument, 0, 't' },   { "jobs", required_argument, 0, 'j' },
		{ "shard", required_argument, 0, 'S' },  { "mode", required_argument, 0, 'm' },
		{ "sweep", no_argument, 0, 'w' },        { "valgrind", no_argument, 0, 'V' },
		{ "junit", required_argument, 0, 'J' },  { "json", required_argument, 0, 'O' },
		{ "tap", no_argument, 0, 'T' },          { "timeout", required_argument, 0, 'x' },
		{ "trace-dir", required_argument, 0, 'd' }, { "quiet", no_argument, 0, 'q' },
		{ "check-each-step", no_argument, 0, 'E' },
		{ "fork-each", no_argument, 0, 'F' },
		{ "help", no_argument, 0, 'h' },         { 0, 0, 0, 0 },
	};
	uint64_t seed = 0, runs = 0, jobs_n = 1, shard_i = 0, shard_n = 1, timeout_ms = 60000;
	double time_limit = 0;
	int mode = -1;
	bool have_seed = false, sweep = false, tap = false, quiet = false, each_step = false,
	     fork_each = false, use_valgrind = false;
	static char valgrind[512], self_exe[512]; /* find_valgrind: 256 + "/valgrind" */
	const char *json = NULL, *junit = NULL;
	struct run_cfg rc = { .trace_dir = "faultline-traces" };
	struct fl_scenario **list;
	size_t count;
	int c, status;

	int li = -1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hq", opts, &li)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64(optarg, &seed) != 0)
				goto bad;
			have_seed = true;
			break;
		case 'n':
			if (parse_u64(optarg, &runs) != 0 || runs == 0)
				goto bad;
			break;
		case 't': {
			char *end;
			time_limit = strtod(optarg, &end);
			if (*end != '\0' || !(time_limit > 0))
				goto bad;
			break;
		}
		case 'j':
			if (parse_u64(optarg, &jobs_n) != 0 || jobs_n == 0 || jobs_n > 64)
				goto bad;
			break;
		case 'S': {
			unsigned a, b;
			char tail;
			if (sscanf(optarg, "%u/%u%c", &a, &b, &tail) != 2 || b == 0 || a == 0 || a > b)
				goto bad;
			shard_i = a - 1;
			shard_n = b;
			break;
		}
		case 'm':
			if (strcmp(optarg, "sim") == 0) {
				mode = FL_SCN_MODE_SIM;
			} else if (strcmp(optarg, "stress") == 0) {
				mode = FL_SCN_MODE_STRESS;
			} else if (strcmp(optarg, "proc") == 0) {
				mode = FL_SCN_MODE_PROC;
			} else {
				fprintf(stderr, "faultline run: --mode %s: one of sim, proc, stress\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'w': sweep = true; break;
		case 'V': use_valgrind = true; break;
		case 'J': junit = optarg; break;
		case 'O': json = optarg; break;
		case 'T': tap = true; break;
		case 'x':
			if (parse_u64(optarg, &timeout_ms) != 0 || timeout_ms == 0)
				goto bad;
			break;
		case 'd': rc.trace_dir = optarg; break;
		case 'q': quiet = true; break;
		case 'E': each_step = true; break;
		case 'F': fork_each = true; break;
		case 'h': fputs(usage_run, stdout); return 0;
		default: goto usage;
		}
	}
	if (use_valgrind) {
		ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
		if (n <= 0 || find_valgrind(valgrind, sizeof(valgrind)) != 0) {
			fprintf(stderr, "faultline run: --valgrind: %s\n",
			        n <= 0 ? "cannot find this program's path" : "valgrind is not on PATH");
			return EXIT_USAGE;
		}
		self_exe[n] = '\0';
		mkdir(rc.trace_dir, 0755);
	}
	if (!have_seed) {
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
		seed &= 0xffffffffffull; /* short enough to type */
	}
	if (load_all((const char *const *)argv + optind, (size_t)(argc - optind), &list, &count) != 0)
		return EXIT_USAGE;
	rc.timeout_ms = timeout_ms;

	struct fl_report_options ro = {
		.out = tap ? stderr : stdout,
		.progress = !quiet,
		.tty = isatty(tap ? 2 : 1),
		.tap = tap ? stdout : NULL,
		.json_path = json,
		.junit_path = junit,
	};
	struct fl_report *rep;
	double t0 = wall_now();

	if (fl_report_new(&ro, &rep) != 0) {
		fl_scenario_list_free(list, count);
		return EXIT_USAGE;
	}
	fprintf(tap ? stderr : stdout, "faultline: seed %" PRIu64 ", %zu scenario(s)%s\n", seed, count,
	        shard_n > 1 ? " (sharded)" : "");
	uint64_t global = 0;
	for (size_t i = 0; i < count; i++) {
		const struct fl_scenario *s = list[i];
		const char *why;

		if (mode >= 0)
			list[i]->mode = (enum fl_scn_mode)mode;
		why = fl_runner_unsupported(s);
		uint64_t n = runs ? runs : (s->budget_runs ? s->budget_runs : 100);
		double limit = time_limit > 0 ? time_limit : s->budget_seconds;
		double start = wall_now();
		struct job *jobs;
		size_t njobs = 0, cap;
		uint64_t pct_steps;

		if (why != NULL) {
			fprintf(stderr, "%s: skipped: %s\n", s->path, why);
			continue;
		}
		pct_steps = pct_estimate(&rc, list[i], seed, each_step, tap ? stderr : stdout, quiet);
		cap = (size_t)n + 1;
		if (sweep || s->sweep)
			cap += 2 * fl_fault_point_count() * 64;
		jobs = calloc(cap, sizeof(*jobs));
		if (jobs == NULL)
			break;
		/* Time budget: jobs are run in batches so a long scenario stops
		 * near its budget. */
		for (uint64_t k = 0; k < n; k++, global++) {
			if (global % shard_n != shard_i)
				continue;
			struct job *j = &jobs[njobs++];
			j->s = s;
			j->o = (struct fl_runner_opts){ .seed = seed + k, .timeout_ms = timeout_ms,
			                                .check_each_step = each_step,
			                                .pct_steps = pct_steps,
			                                .fork_each = fork_each };
			if (use_valgrind) {
				j->o.valgrind = valgrind;
				j->o.self_exe = self_exe;
				j->o.valgrind_log_dir = rc.trace_dir;
			}
		}
		for (size_t b = 0; b < njobs; b += 64 * jobs_n) {
			size_t m = njobs - b < 64 * jobs_n ? njobs - b : 64 * jobs_n;
			run_jobs(&rc, jobs + b, m, (unsigned)jobs_n, rep);
			if (limit > 0 && wall_now() - start > limit)
				break;
		}
		if (sweep || s->sweep) {
			/* The clean run counts every point's hits. */
			struct fl_runner_opts o = { .seed = seed, .timeout_ms = timeout_ms,
			                            .count_hits = true };
			struct fl_runner_outcome out;
			size_t nsweep = 0;

			if (fl_runner_run(s, &o, &out) == 0) {
				for (size_t p = 0; p < out.nhits && nsweep + 2 < cap; p++) {
					for (uint64_t k = 1; k <= out.hits[p] && k <= 64 && nsweep + 2 < cap; k++) {
						for (int pers = 0; pers < 2; pers++) {
							struct job *j = &jobs[nsweep++];
							j->s = s;
							j->sweep_point = fl_fault_point_names[p];
							j->o = (struct fl_runner_opts){
								.seed = seed, .timeout_ms = timeout_ms,
								.check_each_step = each_step,
								.pct_steps = pct_steps,
								.sweep_point = fl_fault_point_names[p],
								.sweep_k = k, .sweep_persistent = pers,
							};
							snprintf(j->sweep_desc, sizeof(j->sweep_desc),
							         "sweep: %s hit %" PRIu64 "%s", fl_fault_point_names[p], k,
							         pers ? " and after" : " once");
						}
					}
				}
				fl_runner_outcome_fini(&out);
				/* In batches, so the scenario's time budget bounds a sweep
				 * too; a cut-short sweep says how far it got. */
				size_t done = 0;
				for (; done < nsweep; done += 16 * jobs_n) {
					size_t m = nsweep - done < 16 * jobs_n ? nsweep - done : 16 * jobs_n;
					if (limit > 0 && wall_now() - start > limit)
						break;
					run_jobs(&rc, jobs + done, m, (unsigned)jobs_n, rep);
				}
				if (done > nsweep)
					done = nsweep;
				fprintf(tap ? stderr : stdout, "%s: sweep: %zu of %zu faulted runs%s\n", s->name,
				        done, nsweep, done < nsweep ? " (time budget reached)" : "");
			}
		}
		free(jobs);
	}
	char err[256];
	if (fl_report_finish(rep, wall_now() - t0, err, sizeof(err)) != 0)
		fprintf(stderr, "faultline: %s\n", err);
	status = fl_report_exit_status(rep);
	fl_runner_shutdown();
	fl_report_free(rep);
	fl_scenario_list_free(list, count);
	return status;
bad:
	fprintf(stderr, "faultline run: bad value for --%s: '%s'\n", li >= 0 ? opts[li].name : "?",
	        optarg ? optarg : "");
usage:
	fputs(usage_run, stderr);
	return EXIT_USAGE;
}

/* ---- property traces ---------------------------------------------------
 * A property trace (kind property, prop.h) names the program that holds
 * the property; replay and shrink hand it over: `<program> --replay TRACE`
 * or `<program> --shrink TRACE --out OUT` (fl_prop_main), with the exit
 * status mapped to this command's (the program says 1 while the trace
 * fails).  Returns -1 when `path` is not a property trace. */

static int
property_trace_handoff(const char *path, const char *outpath)
{
	struct fl_trace t;
	char err[512], prog[4096], verdict[32];
	pid_t pid;
	int st;

	if (fl_trace_read(path, &t, err, sizeof(err)) != 0)
		return -1; /* load_trace reports it */
	if (t.kind == NULL || strcmp(t.kind, "property") != 0) {
		fl_trace_fini(&t);
		return -1;
	}
	const char *p = fl_trace_get_extra(&t, "program");
	snprintf(prog, sizeof(prog), "%s", p ? p : "");
	snprintf(verdict, sizeof(verdict), "%s", t.verdict ? t.verdict : "");
	fl_trace_fini(&t);
	if (prog[0] == '\0' || access(prog, X_OK) != 0) {
		fprintf(stderr, "faultline: %s: a property trace whose program '%s' cannot be run\n", path,
		        prog);
		return EXIT_USAGE;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (outpath != NULL)
			execl(prog, prog, "--shrink", path, "--out", outpath, (char *)NULL);
		else
			execl(prog, prog, "--replay", path, (char *)NULL);
		fprintf(stderr, "faultline: %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
		return EXIT_USAGE;
	/* 1: the trace (still) fails. */
	if (outpath != NULL)
		return WEXITSTATUS(st) == 1 ? 0 : 1;
	return (WEXITSTATUS(st) == 1) == (strcmp(verdict, "pass") != 0) ? 0 : 1;
}

/* ---- replay and shrink ------------------------------------------------ */

static int
load_trace(const char *path, struct fl_trace *t, struct fl_scenario **s)
{
	char err[512];
	const char *spath;

	if (fl_trace_read(path, t, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline: %s\n", err);
		return -1;
	}
	if (strcmp(t->kind, "scenario") != 0) {
		fprintf(stderr, "faultline: %s: a %s trace; replay it with the program named in it\n",
		        path, t->kind);
		fl_trace_fini(t);
		return -1;
	}
	spath = fl_trace_get_extra(t, "path");
	if (spath == NULL || fl_scenario_load(spath, s, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline: %s: %s\n", path, spath ? err : "no scenario path in the trace");
		fl_trace_fini(t);
		return -1;
	}
	if ((*s)->hash != t->hash)
		fprintf(stderr, "warning: %s changed since the trace was saved (hash %016" PRIx64
		                " now %016" PRIx64 "): the replay may differ\n",
		        spath, t->hash, (*s)->hash);
	return 0;
}

static void
trace_opts(const struct fl_trace *t, struct fl_runner_opts *o)
{
	const char *sweep = fl_trace_get_extra(t, "sweep");

	memset(o, 0, sizeof(*o));
	o->seed = t->seed;
	o->replay = t->choices;
	o->nreplay = t->nchoices;
	o->replaying = true;
	o->timeout_ms = 60000;
	/* A run that audited every step replays the same way. */
	o->check_each_step = fl_trace_get_extra(t, "check_each_step") != NULL;
	/* A run under memcheck replays under memcheck. */
	if (fl_trace_get_extra(t, "valgrind") != NULL) {
		static char vg[512], self[512];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0 && find_valgrind(vg, sizeof(vg)) == 0) {
			self[n] = '\0';
			o->valgrind = vg;
			o->self_exe = self;
			o->valgrind_log_dir = NULL; /* set_log_dir: beside the trace */
		} else {
			fprintf(stderr, "warning: the trace ran under valgrind, which is not on PATH\n");
		}
	}
	if (fl_trace_get_extra(t, "pct_steps") != NULL)
		o->pct_steps = strtoull(fl_trace_get_extra(t, "pct_steps"), NULL, 10);
	/* A sweep trace also replays its injected fault. */
	if (sweep != NULL) {
		static char point[128];
		unsigned long long k;
		if (sscanf(sweep, "sweep: %127s hit %llu", point, &k) == 2) {
			o->sweep_point = point;
			o->sweep_k = k;
			o->sweep_persistent = strstr(sweep, "and after") != NULL;
		}
	}
}

/* Memcheck logs of a replay or shrink go beside the trace. */
static void
set_log_dir(struct fl_runner_opts *o, const char *trace)
{
	static char dir[512];
	const char *slash = strrchr(trace, '/');

	if (o->valgrind == NULL)
		return;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - trace) : 1, slash ? trace : ".");
	o->valgrind_log_dir = dir;
}

static int
cmd_replay(int argc, char **argv)
{
	struct fl_trace t;
	struct fl_scenario *s;
	struct fl_runner_opts o;
	struct fl_runner_outcome out;
	bool same;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_replay, argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : EXIT_USAGE;
	}
	int handed = property_trace_handoff(argv[1], NULL);
	if (handed >= 0)
		return handed;
	if (load_trace(argv[1], &t, &s) != 0)
		return EXIT_USAGE;
	trace_opts(&t, &o);
	set_log_dir(&o, argv[1]);
	if (fl_runner_run(s, &o, &out) != 0) {
		fprintf(stderr, "faultline replay: the harness could not fork the run\n");
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return EXIT_USAGE;
	}
	same = strcmp(fl_verdict_name(out.verdict), t.verdict) == 0 &&
	       strcmp(out.property, t.property ? t.property : "") == 0;
	printf("%s seed=%" PRIu64 ": %s%s%s%s%s\n", s->name, t.seed, fl_verdict_name(out.verdict),
	       out.property[0] ? " " : "", out.property, out.detail[0] ? ": " : "", out.detail);
	printf("trace_hash %016" PRIx64 " (recorded %016" PRIx64 ")\n", out.trace_hash, t.trace_hash);
	printf("%s\n", same ? "replay: same verdict as recorded" : "replay: DIFFERENT verdict from recorded");
	fl_runner_outcome_fini(&out);
	fl_scenario_free(s);
	fl_trace_fini(&t);
	return same ? 0 : 1;
}

static int
cmd_shrink(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' },
		{ "attempts", required_argument, 0, 'a' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *outpath = NULL;
	uint64_t attempts = 500;
	char defpath[512];
	struct fl_trace t;
	struct fl_scenario *s;
	struct fl_runner_opts o;
	struct fl_shrink_result sr;
	enum fl_verdict v;
	int c, rv;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': outpath = optarg; break;
		case 'a':
			if (parse_u64(optarg, &attempts) != 0 || attempts == 0) {
				fputs(usage_shrink, stderr);
				return EXIT_USAGE;
			}
			break;
		case 'h': fputs(usage_shrink, stdout); return 0;
		default: fputs(usage_shrink, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(usage_shrink, stderr);
		return EXIT_USAGE;
	}
	if (outpath == NULL) {
		snprintf(defpath, sizeof(defpath), "%s.min", argv[optind]);
		outpath = defpath;
	}
	int handed = property_trace_handoff(argv[optind], outpath);
	if (handed >= 0)
		return handed;
	if (load_trace(argv[optind], &t, &s) != 0)
		return EXIT_USAGE;
	if (fl_verdict_parse(t.verdict, &v) != 0 || v == FL_VERDICT_PASS) {
		fprintf(stderr, "faultline shrink: %s: verdict '%s' is not a failure\n", argv[optind],
		        t.verdict);
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return EXIT_USAGE;
	}
	trace_opts(&t, &o);
	set_log_dir(&o, argv[optind]);
	rv = fl_shrink_run(s, &o, t.choices, t.nchoices, v, t.property, (unsigned)attempts, &sr);
	if (rv != 0) {
		fprintf(stderr, "faultline shrink: %s: the trace does not fail the same way when replayed\n",
		        argv[optind]);
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return 1;
	}
	if (outpath == NULL) {
		snprintf(defpath, sizeof(defpath), "%s.min", argv[optind]);
		outpath = defpath;
	}
	/* The minimal stream, not the run's record of it (which goes on with
	 * the zero fill past its end). */
	struct fl_runner_outcome minimal = sr.outcome;
	minimal.choices = sr.choices;
	minimal.nchoices = sr.nchoices;
	rv = write_trace(outpath, s, t.seed, &minimal, fl_trace_get_extra(&t, "sweep"),
	                 &o);
	printf("shrunk %s: %zu choices -> %zu in %u runs\n", s->name, sr.original, sr.nchoices,
	       sr.attempts);
	printf("verdict: %s %s: %s\n", fl_verdict_name(sr.outcome.verdict), sr.outcome.property,
	       sr.outcome.detail);
	printf("choices:");
	for (size_t i = 0; i < sr.nchoices; i++)
		printf(" %" PRIu64, sr.choices[i]);
	printf("\nminimal trace: %s\nreplay: faultline replay %s\n", rv == 0 ? outpath : "(not written)",
	       outpath);
	fl_shrink_result_fini(&sr);
	fl_scenario_free(s);
	fl_trace_fini(&t);
	return rv == 0 ? 0 : EXIT_USAGE;
}

static int
cmd_list(int argc, char **argv)
{
	struct fl_scenario **list;
	size_t count;
	static const char *const modes[] = { "sim", "proc", "stress" };

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_list, stdout);
		return 0;
	}
	if (load_all((const char *const *)argv + 1, (size_t)(argc - 1), &list, &count) != 0)
		return EXIT_USAGE;
	for (size_t i = 0; i < count; i++) {
		const char *why = fl_runner_unsupported(list[i]);
		printf("%-28s %-6s %s\n    %s%s%s\n", list[i]->name, modes[list[i]->mode], list[i]->path,
		       list[i]->description ? list[i]->description : "",
		       why ? "\n    (not runnable in this build: " : "", why ? why : "");
		if (why)
			printf(")\n");
	}
	fl_scenario_list_free(list, count);
	return 0;
}

int
main(int argc, char **argv)
{
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		fl_runner_set_self(self); /* re-executed runs: --valgrind, posix/ faults */
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_main, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(argv[1], "shrink") == 0)
		return cmd_shrink(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "__run") == 0)
		return cmd_run_one(argc - 1, argv + 1);
	fprintf(stderr, "faultline: unknown command '%s'\n\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}
