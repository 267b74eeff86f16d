/*
 * faultline: run scenario suites, replay and shrink failures, list
 * scenarios.  Exit status: 0 every run passed, 1 some run failed, 2 usage,
 * scenario or harness error (a report that cannot be written, a run the
 * harness could not execute, no run executed at all), 128 + the signal
 * when `run` was interrupted by SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/report.h"
#include "faultline/scenario.h"
#include "faultline/target.h"
#include "faultline/trace.h"

#include "cli.h"
#include "fixtures.h"
#include "faultline/faults.h"
#include "core/clock.h"
#include "run/runner.h"
#include "run/heap.h"
#include "run/sanitizer.h"
#include "run/shrink.h"
#include "scenario/target_internal.h"
#ifdef FLI_PLANTS
#include "core/plant.h"
#endif

#define EXIT_USAGE FL_CLI_EXIT_USAGE
/* A run's wall-clock deadline when --timeout is not given. */
#define DEFAULT_TIMEOUT_MS 60000

static const char usage_main[] =
        "usage: faultline <command> [options]\n"
        "       faultline --version | --help\n"
        "\n"
        "commands:\n"
        "  run [PATH...]     run scenario files or directories (default: scenarios/)\n"
        "  replay TRACE      re-run a saved trace and report whether it reaches the same verdict\n"
        "  shrink TRACE      minimise a failing trace's choices; writes TRACE.min\n"
        "  show TRACE        replay a trace and show its timeline: lines, or --html OUT\n"
        "  repro TRACE --c OUT.c  write a failing target run as a C program on the\n"
        "                    library's public API (docs/targets.md)\n"
        "  list [PATH...]    list scenarios with their descriptions\n"
        "  merge REPORT...   merge the JSON reports of a batch's shards into one\n"
        "  check-history FILE...  decide whether operation histories (Jepsen EDN or log\n"
        "                    lines) are linearizable under a register or key-value model\n"
        "\n"
        "`faultline <command> --help` describes each command's options.\n";

static const char usage_run[] =
        "usage: faultline run [PATH...] [options]\n"
        "  --seed S         seed of the first run (run i uses S+i); default: FL_SEED from the\n"
        "                   environment, else random (printed); --shard needs one of them\n"
        "  --runs N         runs per scenario (default: the scenario's budget.runs)\n"
        "  --time T         seconds per scenario at most (default: budget.seconds)\n"
        "  --jobs J         run J runs at once in separate processes (default 1)\n"
        "  --shard I/N      only this shard's runs (split across CI jobs): runs whose index\n"
        "                   is I-1 modulo N, and the sweep's faulted runs this shard draws\n"
        "                   (by point and hit); merge the reports with `faultline merge`\n"
        "  --mode M         run every scenario in mode M: sim, proc or stress\n"
        "  --sweep          fault sweep: count every fault point's hits in a clean run, then\n"
        "                   fail the k-th hit of each point once and persistently, for every k\n"
        "  --sweep-limit N  at most N faulted runs per sweep, spread evenly over its list\n"
        "  --check-each-step  audit after every operation of every actor, not only at the\n"
        "                   end; a violation names the actor's step\n"
        "  --timeout MS     wall-clock deadline of one run (default 60000; in proc and\n"
        "                   stress modes at least 4 x driver_timeout_ms + client_liveness_ms\n"
        "                   + 30000, the actors' own deadline and the audits after it)\n"
        "  --fork-each      a fresh forked child for every run (default: sim runs, and proc\n"
        "                   runs without a cluster, target or libc faults, share a worker\n"
        "                   process, replaced after any run that did not pass)\n"
        "  --trace-dir D    where failing runs' traces go (default faultline-traces)\n"
        "  --html-dir D     write each failing run's timeline as an HTML page in D, named as\n"
        "                   its trace (docs/timeline.md); the runs keep their timelines\n"
        "  --html-max N     pages for the first N failing runs only (default 20)\n"
        "  --json F         write the JSON report to F (- for stdout: then progress and\n"
        "                   summary go to stderr)\n"
        "  --junit F        write a JUnit XML report to F\n"
        "  --tap            stream TAP 13 on stdout (progress goes to stderr)\n"
        "  --valgrind       run each run's process and its process actors (proc mode) under\n"
        "                   memcheck: errors or definite leaks fail the run (property\n"
        "                   memcheck; logs memcheck-<run>-<pid>.log in the trace directory)\n"
        "  --quiet          no progress line\n"
        "  --target PATH    every scenario drives the target's shared object at PATH,\n"
        "                   whatever its `target:` says (a twin's build, another release)\n"
        "  --baseline F     known failures (JSON, see docs/cli.md): a run failing as one of\n"
        "                   them is reported KNOWN and does not fail the batch; any other\n"
        "                   failure does; a known one that no run of its scenario shows is\n"
        "                   reported FIXED\n"
        "  --baseline-write F  write this batch's distinct failures as a baseline file\n"
        "In a sanitizer build (meson -Db_sanitize=address,undefined or thread), a report of\n"
        "ASan, UBSan, LSan or TSan in a run fails it (property sanitizer); the report goes\n"
        "beside the run's trace, as <scenario>-<seed>.sanitizer.log.\n"
        "Numbers are decimal integers (--time: seconds, may have a fraction).\n"
        "Exit status: 0 every run passed, 1 some run did not pass, 2 usage, scenario or\n"
        "output error, a run the harness could not execute, or no run executed at all;\n"
        "130/143 interrupted by SIGINT/SIGTERM (runs under way stopped, not reported; the\n"
        "reports say \"interrupted\").\n";

static const char usage_replay[] =
        "usage: faultline replay TRACE [--force]\n"
        "Re-runs the scenario named in TRACE with its recorded choices and prints the verdict\n"
        "(a property trace is replayed by the program named in it).\n"
        "Exit status 0 when the replay reaches the recorded verdict (in sim mode, as the\n"
        "recorded run: another trace_hash is 1, a cut or edited trace), 1 when it does not,\n"
        "2 when the trace or its scenario cannot be read, or when the scenario file changed\n"
        "since the trace was recorded (its hash differs; --force replays it anyway).\n";

static const char usage_shrink[] =
        "usage: faultline shrink TRACE [-o OUT] [--attempts N] [--force]\n"
        "Minimises the recorded choices while the run still fails the same way: the same\n"
        "verdict and property, and a detail that differs at most in counts and paths (the\n"
        "same op and line, the same crash site); writes the minimal trace to OUT (default\n"
        "TRACE.min) and prints it.  In proc and stress modes the timing is not in the\n"
        "choices: the minimal stream must fail again (the same verdict and property) in\n"
        "one of 20 replays, or some of the larger ones kept on the way are tried (5\n"
        "replays each), then TRACE's (20): these replays come on top of --attempts.\n"
        "A scenario file changed since the trace was recorded is refused (exit 2) unless\n"
        "--force is given.\n";

static const char usage_list[] =
        "usage: faultline list [PATH...]\n"
        "       faultline list --points\n"
        "       faultline list --ops [--target PATH]\n"
        "Lists every scenario (name, mode, file, description); --points lists every fault\n"
        "point (what a scenario's faults: and --sweep can fail) and every scheduling point\n"
        "(where the sim scheduler may switch actors), one line of meaning each; --ops lists\n"
        "the operations declared through faultline/target.h (the pub/sub and\n"
        "request/response domains', and with --target a target's) with every argument\n"
        "they take, read from their declarations.\n";

static bool
past(double deadline)
{
	return deadline > 0 && fli_mono_s() > deadline;
}

/* A decimal integer: digits only, no sign, no leading 0 (which strtoull
 * base 0, used here before, read as octal: "010" was 8), no 0x, no
 * exponent.  Returns 0, -1 when s is not one, -2 when it exceeds 2^64-1. */
static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -2;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

/* Option `name`'s value s as a decimal integer in [min, max]; otherwise
 * prints why and returns -1. */
static int
opt_u64(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int rv = parse_u64(s, &v);

	if (rv == -1) {
		fprintf(stderr, "faultline: %s: expected a decimal integer%s (got '%s')\n", name,
		        s[0] == '0' && s[1] >= '0' && s[1] <= '9' ? " without a leading 0" : "", s);
		return -1;
	}
	if (rv == -2 || v < min || v > max) {
		fprintf(stderr,
		        "faultline: %s: must be between %" PRIu64 " and %" PRIu64 " (got '%s')\n",
		        name, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* --shard I/N: two decimal integers, 1 <= I <= N; *index = I - 1.
 * Returns 0 or -1. */
static int
parse_shard(const char *s, uint64_t *index, uint64_t *n)
{
	const char *slash = strchr(s, '/');
	char first[32];
	uint64_t i, count;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(first))
		return -1;
	snprintf(first, sizeof(first), "%.*s", (int)(slash - s), s);
	/* At most a million shards: merge takes no more. */
	if (parse_u64(first, &i) != 0 || parse_u64(slash + 1, &count) != 0 || i < 1 || i > count ||
	    count > 1000000)
		return -1;
	*index = i - 1;
	*n = count;
	return 0;
}

/* --time: seconds as digits with an optional fraction ("30", "0.5"); not
 * strtod's exponents, hex, inf or nan.  Returns 0 or -1. */
static int
parse_seconds(const char *s, double *out)
{
	size_t i = strspn(s, "0123456789"), j = 0;

	if (s[i] == '.')
		j = strspn(s + i + 1, "0123456789");
	if (i + j == 0 || s[i + (s[i] == '.' ? 1 + j : 0)] != '\0')
		return -1;
	*out = strtod(s, NULL);
	return *out > 0 ? 0 : -1;
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
		fprintf(stderr, "faultline: %s%s\n", err,
		        paths == def ? " (no PATH was given: the default is scenarios/ of the "
		                       "current directory)"
		                     : "");
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
	/* Traces are named after the scenario and a replay finds its file by
	 * the path in the trace: two files of one name would overwrite each
	 * other's traces, and a replay would run the wrong file. */
	for (size_t i = 0; i < nfiles; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(list[i]->name, list[j]->name) != 0)
				continue;
			fprintf(stderr,
			        "faultline: two scenarios are named '%s': %s and %s (names must be "
			        "unique: traces and reports are keyed by name)\n",
			        list[i]->name, list[j]->path, list[i]->path);
			fl_scenario_list_free(list, nfiles);
			fl_scenario_paths_free(files);
			return -1;
		}
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

/* A run's, a replay's or a shrink's sanitizer report: beside `trace`, named after it
 * (without ".trace") plus `suffix`. */
static void
san_report_beside(char *out, size_t len, const char *trace, const char *suffix)
{
	size_t n = strlen(trace);

	if (n > 6 && strcmp(trace + n - 6, ".trace") == 0)
		n -= 6;
	snprintf(out, len, "%.*s%s", (int)n, trace, suffix);
}

/*
 * faultline-planted (harness/cli/meson.build) is this program with the
 * transport's planted bugs compiled in (FLI_PLANTS, core/plant.h), one
 * chosen by FL_PLANT: the proof that the cluster's safety checks and the
 * driver's gauges fail when the transport is broken (docs/properties.md,
 * "The proof matrix").  A trace records the plant;
 * a replay sets it again.
 */
static const char *const plant_names[] = { "none",
	                                   "vote_no_log_check",
	                                   "commit_old_term",
	                                   "vote_not_persisted",
	                                   "log_kept",
	                                   "pub_kept",
	                                   "sub_kept",
	                                   "dir_kept",
	                                   "start_fails",
	                                   "images_stale",
	                                   "cancel_kept",
	                                   "stray_write",
	                                   "log_stray_write",
	                                   "append_no_prev_term",
	                                   "log_tail_kept",
	                                   "commit_on_propose",
	                                   "ctx_close_no_cancel",
	                                   "rr_server_port_stray",
	                                   "rr_client_port_stray",
	                                   "rr_chunk_stray",
	                                   "cas_mismatch_ok",
	                                   "propose_rollback",
	                                   "quorum_half",
	                                   "restart_applied",
	                                   "commit_past_log",
	                                   "offer_abort" };

#ifdef FLI_PLANTS
_Static_assert(sizeof(plant_names) / sizeof(plant_names[0]) == FLI_PLANT__COUNT,
               "plant_names[] names every enum fli_plant, in its order");
#endif

/* The plant's name, or NULL when none is set. */
static const char *
plant_name(void)
{
#ifdef FLI_PLANTS
	if ((size_t)fli_plant < sizeof(plant_names) / sizeof(plant_names[0]) &&
	    fli_plant != FLI_PLANT_NONE)
		return plant_names[fli_plant];
#endif
	return NULL;
}

/* Sets the plant called `name`: 0, or -1 after saying why. */
static int
plant_set(const char *name, const char *from)
{
	for (size_t i = 0; i < sizeof(plant_names) / sizeof(plant_names[0]); i++) {
		if (strcmp(plant_names[i], name) != 0)
			continue;
#ifdef FLI_PLANTS
		fli_plant = (enum fli_plant)i;
		/* A run re-executed (--valgrind, posix/ faults) plants it too. */
		setenv("FL_PLANT", name, 1);
		return 0;
#else
		fprintf(stderr,
		        "faultline: %s: the planted bug %s: only faultline-planted (a test build) "
		        "has it; run it with that program\n",
		        from, name);
		return -1;
#endif
	}
	fprintf(stderr, "faultline: %s: no planted bug %s (one of", from, name);
	for (size_t i = 0; i < sizeof(plant_names) / sizeof(plant_names[0]); i++)
		fprintf(stderr, "%s %s", i ? "," : "", plant_names[i]);
	fputs(")\n", stderr);
	return -1;
}

static const char *const mode_names[] = { "sim", "proc", "stress" };

static int
write_trace(const char *path, const struct fl_scenario *s, uint64_t seed,
            const struct fli_runner_outcome *o, const char *sweep, const struct fli_runner_opts *ro)
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
	/* A relative path is the working directory's: kept too, so a replay
	 * from elsewhere finds the file (the path alone is tried first, as
	 * in a copy of the tree). */
	char cwd[4096];
	if (rv == 0 && s->path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		rv = fl_trace_add_extra(&t, "cwd", cwd);
	/* The mode the run had (--mode may have changed the file's): the
	 * replay runs in it. */
	if (rv == 0)
		rv = fl_trace_add_extra(&t, "mode", mode_names[s->mode]);
	if (rv == 0 && plant_name() != NULL)
		rv = fl_trace_add_extra(&t, "plant", plant_name());
	/* --target (or FL_TARGET), or a target: found through
	 * FL_TARGET_PATH: the replay loads the same file, wherever it runs
	 * and whatever its environment says. */
	const char *tfile = fl_scenario_target_override() != NULL ? fl_scenario_target_override()
	                                                          : s->target_found;
	if (rv == 0 && tfile != NULL) {
		char *abs = realpath(tfile, NULL);
		rv = fl_trace_add_extra(&t, "target", abs != NULL ? abs : tfile);
		free(abs);
	}
	if (rv == 0 && ro->valgrind != NULL)
		rv = fl_trace_add_extra(&t, "valgrind", "yes");
	/* The build's sanitizers: a sanitizer verdict replays only in such a
	 * build (replay says so). */
	if (rv == 0 && fli_san_enabled())
		rv = fl_trace_add_extra(&t, "sanitizer", fli_san_build());
	if (rv == 0 && ro->check_each_step)
		rv = fl_trace_add_extra(&t, "check_each_step", "yes");
	if (rv == 0 && ro->pct_steps != 0) {
		char steps[32];
		snprintf(steps, sizeof(steps), "%" PRIu64, ro->pct_steps);
		rv = fl_trace_add_extra(&t, "pct_steps", steps);
	}
	if (rv == 0 && sweep != NULL)
		rv = fl_trace_add_extra(&t, "sweep", sweep);
	/* --timeout: a hang within it replays as a hang (replay's default
	 * would wait the run out, and call it another verdict). */
	if (rv == 0 && ro->timeout_ms != DEFAULT_TIMEOUT_MS) {
		char ms[32];
		snprintf(ms, sizeof(ms), "%" PRIu64, (uint64_t)ro->timeout_ms);
		rv = fl_trace_add_extra(&t, "timeout_ms", ms);
	}
	if (rv == 0)
		rv = fl_trace_write(path, &t);
	fl_trace_fini(&t);
	return rv;
}

/* Writes a failed run's history to TRACE.history.edn and names it at the
 * end of the detail ("faultline check-history" reads it). */
static void
write_history(const char *trace, const char *history, char *detail, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n = strlen(detail);

	if (snprintf(path, sizeof(path), "%s.history.edn", trace) >= (int)sizeof(path))
		return;
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fputs(history, f);
	if (fclose(f) != 0)
		return;
	if (n + strlen(path) + 13 < len)
		snprintf(detail + n, len - n, " (history: %.900s)", path);
	else
		fprintf(stderr, "faultline: the run's history: %s\n", path);
}

struct run_cfg {
	const char *trace_dir;
	uint64_t timeout_ms;
	const char *html_dir; /* --html-dir: a page for each failing run, or NULL */
	uint64_t html_max;    /* ... for the first this many */
	uint32_t *html_made;  /* pages made (shared with --jobs workers) */
};

/* --html-dir: the failing run's timeline as a page beside the others,
 * named as its trace is; the first html_max failing runs only (a count
 * every --jobs worker shares). */
static void
write_page(const struct run_cfg *rc, const struct fl_scenario *s, uint64_t seed, const char *trace,
           const struct fli_runner_outcome *out, struct fl_run_result *res)
{
	const char *base = strrchr(trace, '/');
	char path[sizeof(res->html_path)];
	FILE *f;
	int n;

	if (rc->html_dir == NULL ||
	    __atomic_fetch_add(rc->html_made, 1, __ATOMIC_RELAXED) >= rc->html_max)
		return;
	base = base != NULL ? base + 1 : trace;
	mkdir(rc->html_dir, 0755);
	n = snprintf(path, sizeof(path), "%s/%.*s.html", rc->html_dir,
	             (int)(strlen(base) > 6 ? strlen(base) - 6 : strlen(base)), base);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "faultline: --html-dir: the page's path is too long: %s/...\n",
		        rc->html_dir);
		return;
	}
	struct fli_html_run hr = { .s = s, .out = out, .seed = seed, .trace = trace };
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "faultline: --html-dir: %s: %s\n", path, strerror(errno));
		return;
	}
	n = fli_html_timeline(f, &hr);
	if (fclose(f) != 0 || n != 0) {
		fprintf(stderr, "faultline: --html-dir: %s: %s\n", path,
		        out->timeline == NULL ? "the run kept no timeline"
		                              : "could not be written");
		unlink(path);
		return;
	}
	snprintf(res->html_path, sizeof(res->html_path), "%s", path);
}

/* ---- interrupts --------------------------------------------------------
 * SIGINT or SIGTERM during `run`: the handler only records the signal.
 * The runner (fli_runner_set_stop) starts no new run and kills the one
 * under way with its process group (actors included), removing its run
 * directory; the loops here stop making runs; --jobs workers (forks of
 * this process, with the same handler) do the same and exit, and are
 * reaped.  The report is finished with "interrupted": true and the exit
 * status is 128 + the signal.  A run cut short is not reported: its
 * verdict would be the interrupt's, not the code's. */
static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
	if (interrupted == 0)
		interrupted = sig;
}

static void
catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	/* Reads, writes and waits resume; poll and nanosleep (the waits for
	 * runs) return early, so the flag is seen at once. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fli_runner_set_stop(&interrupted);
}

/* Before a command makes runs: the run directories a SIGKILLed faultline
 * left (nothing of it could remove them), unless FL_KEEP_DEAD_RUN_DIRS
 * asks to keep them for a look. */
static void
remove_dead_run_dirs(const char *cmd)
{
	const char *keep = getenv("FL_KEEP_DEAD_RUN_DIRS");
	unsigned n;

	if (keep != NULL && keep[0] != '\0' && strcmp(keep, "0") != 0)
		return;
	n = fli_runner_remove_dead_run_dirs(NULL);
	if (n > 0)
		fprintf(stderr,
		        "faultline %s: removed %u run director%s that killed faultline "
		        "processes left in /dev/shm\n",
		        cmd, n, n == 1 ? "y" : "ies");
}

static void
start_runs(const char *cmd)
{
	remove_dead_run_dirs(cmd);
	catch_interrupts();
}

/* replay and shrink, interrupted: the run under way was killed and its
 * directory removed; what is not done stays undone. */
static int
interrupted_exit(const char *cmd)
{
	fprintf(stderr, "faultline %s: INTERRUPTED (SIG%s)\n", cmd,
	        interrupted == SIGINT ? "INT" : "TERM");
	return 128 + interrupted;
}

/* The batch's report while `run` runs it: messages clear its progress line. */
static struct fl_report *batch_report;

/* A message during the batch, on a line of its own (not after the
 * progress line drawn in place on the terminal). */
static void __attribute__((format(printf, 2, 3))) note(FILE *f, const char *fmt, ...)
{
	va_list ap;

	if (batch_report != NULL)
		fl_report_clear_progress(batch_report);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

/* The first reason a run was not run, for the closing message. */
static char first_not_run[1024];

/* The fault rules of the scenario being run that fired in some run, and
 * its runs executed: what rules_never_fired is made of. */
static uint64_t scn_rules_fired, scn_runs_done;

static void
add_result(struct fl_report *rep, const struct fl_run_result *res)
{
	if (res->not_run && first_not_run[0] == '\0')
		snprintf(first_not_run, sizeof(first_not_run), "%s", res->detail);
	if (!res->not_run) {
		scn_rules_fired |= res->rules_fired;
		scn_runs_done++;
	}
	fl_report_add(rep, res);
}

/* A rule that fired in no run of the batch tested nothing: say so (the
 * way FoundationDB reports BUGGIFY sites that never fired). */
static void
report_rules_never_fired(struct fl_report *rep, const struct fl_scenario *s)
{
	for (size_t i = 0; i < s->fault_count && i < 64; i++)
		if (scn_runs_done > 0 && (scn_rules_fired & (1ull << i)) == 0)
			fl_report_rule_never_fired(rep, s->name, (int)i, s->faults[i].point,
			                           s->faults[i].line, scn_runs_done);
}

/* One run to make: the scenario, its options, its place in the batch. */
struct job {
	const struct fl_scenario *s;
	struct fli_runner_opts o;
	uint64_t run_index;      /* fl_run_result.run_index */
	const char *sweep_point; /* a faulted sweep run: o.sweep_point; else NULL */
	char sweep_desc[160];
};

/* Where run_jobs takes its jobs: an array, or made one at a time by
 * make(arg, i) (a scenario's plain runs: none is held before it runs,
 * however many are asked for).  A --jobs worker forked from the caller
 * makes its own share the same way. */
struct job_src {
	const struct job *array;
	void (*make)(const void *arg, size_t i, struct job *out);
	const void *arg;
};

static void
job_at(const struct job_src *src, size_t i, struct job *out)
{
	if (src->array != NULL)
		*out = src->array[i];
	else
		src->make(src->arg, i, out);
}


/* The fields of a result that say which run it is. */
static void
result_init(struct fl_run_result *res, const struct fl_scenario *s, uint64_t seed,
            uint64_t run_index)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->scenario, sizeof(res->scenario), "%s", s->name);
	snprintf(res->mode, sizeof(res->mode), "%s", mode_names[s->mode]);
	res->seed = seed;
	res->run_index = run_index;
}

/* Run once and turn the outcome into a report entry (and a trace file
 * when it failed).  A run the harness could not start is reported not
 * run, never as a verdict.  Returns false, *res unset, when the run was
 * stopped by an interrupt (never started, or killed): not to be reported. */
static bool
run_one(const struct run_cfg *rc, const struct job *j, struct fl_run_result *res)
{
	const struct fl_scenario *s = j->s;
	struct fli_runner_opts ro = j->o;
	const struct fli_runner_opts *o = &ro;
	const char *sweep_desc = j->sweep_point ? j->sweep_desc : NULL;
	struct fli_runner_outcome out;
	char file[256], name[64], san_report[300];
	int rv;

	result_init(res, s, o->seed, j->run_index);
	/* The trace's name, known before the run: a sanitizer's report goes
	 * beside it under the same name. */
	sanitize(name, sizeof(name), s->name);
	if (o->sweep_point != NULL) {
		/* One trace per faulted run: point, hit and persistence. */
		char point[64];
		sanitize(point, sizeof(point), o->sweep_point);
		snprintf(file, sizeof(file), "%s/%s-%" PRIu64 "-sweep-%s-%" PRIu64 "%s.trace",
		         rc->trace_dir, name, o->seed, point, o->sweep_k,
		         o->sweep_persistent ? "-after" : "");
	} else {
		snprintf(file, sizeof(file), "%s/%s-%" PRIu64 ".trace", rc->trace_dir, name,
		         o->seed);
	}
	san_report_beside(san_report, sizeof(san_report), file, ".sanitizer.log");
	ro.sanitizer_report = san_report;
	if (o->sweep_point != NULL) {
		snprintf(res->sweep_point, sizeof(res->sweep_point), "%s", o->sweep_point);
		res->sweep_k = o->sweep_k;
		res->sweep_persistent = o->sweep_persistent;
	}
	errno = 0;
	if ((rv = fli_runner_run(s, o, &out)) != 0) {
		int e = errno;
		res->not_run = true;
		snprintf(res->detail, sizeof(res->detail),
		         "the harness could not start the run: %s",
		         e != 0 ? strerror(e) : fl_strerror(rv));
		return true;
	}
	if (out.stopped) {
		fli_runner_outcome_fini(&out);
		return false;
	}
	if (strcmp(out.property, "harness") == 0) {
		/* The harness failed inside the run (an actor's fork, its
		 * threads, memory): the code was not judged, so no verdict and
		 * no trace to replay; still never a pass. */
		res->not_run = true;
		snprintf(res->property, sizeof(res->property), "harness");
		snprintf(res->detail, sizeof(res->detail),
		         "the harness failed inside the run: %.440s", out.detail);
		fli_runner_outcome_fini(&out);
		return true;
	}
	res->verdict = out.verdict;
	for (size_t i = 0; i < out.nfired && i < FL_REPORT_MAX_POINTS; i++)
		res->faults_fired[i] = (uint32_t)out.fired[i];
	res->op_errors_tolerated = (uint32_t)out.op_errors_tolerated;
	res->op_errors_fatal = (uint32_t)out.op_errors_fatal;
	res->violations = out.violations > UINT32_MAX ? UINT32_MAX : (uint32_t)out.violations;
	for (size_t i = 0; i < out.nmore && i < FL_REPORT_MORE; i++) {
		snprintf(res->more[i].property, sizeof(res->more[i].property), "%s",
		         out.more[i].property);
		snprintf(res->more[i].detail, sizeof(res->more[i].detail), "%s",
		         out.more[i].detail);
	}
	res->nmore = (uint8_t)(out.nmore < FL_REPORT_MORE ? out.nmore : FL_REPORT_MORE);
	res->rules_fired = out.rules_fired;
	res->trace_hash = out.trace_hash;
	res->seconds = out.seconds;
	snprintf(res->property, sizeof(res->property), "%s", out.property);
	if (sweep_desc != NULL && out.verdict != FL_VERDICT_PASS)
		snprintf(res->detail, sizeof(res->detail), "%.340s [%.160s]", out.detail,
		         sweep_desc);
	else
		snprintf(res->detail, sizeof(res->detail), "%s", out.detail);
	if (out.verdict != FL_VERDICT_PASS) {
		mkdir(rc->trace_dir, 0755);
		if (write_trace(file, s, o->seed, &out, sweep_desc, o) == 0) {
			snprintf(res->trace_path, sizeof(res->trace_path), "%s", file);
			snprintf(res->replay_cmd, sizeof(res->replay_cmd), "faultline replay %s",
			         file);
		}
		/* The clients' history beside the trace, for check-history. */
		if (out.history != NULL)
			write_history(file, out.history, res->detail, sizeof(res->detail));
		errno = 0;
		write_page(rc, s, o->seed, file, &out, res);
	}
	fli_runner_outcome_fini(&out);
	return true;
}

/* ---- parallel runs: J workers, each sends fixed-size results ----------
 * Every job is executed or reported not run: a worker that cannot be
 * started (pipe or fork failing: fds, processes, memory) or that dies
 * leaves its remaining share to this process, which runs it itself (and
 * reports a run it cannot start as not run).  Only the time budget leaves
 * jobs unrun, and then the caller says so. */

#define MAX_JOBS 64

/* A persistent worker found dead between runs (fli_runner_worker_died)
 * fails the run made last before it was found: a crash when that run
 * passed, one more violation when it did not. */
static void
worker_death_onto(struct fl_run_result *res)
{
	char why[512];

	/* An interrupt's signal may have reached the worker too: the batch
	 * says its stopped runs are not reported. */
	if (!fli_runner_worker_died(why, sizeof(why)) || interrupted)
		return;
	if (res->not_run || res->verdict != FL_VERDICT_PASS) {
		if (res->nmore < FL_REPORT_MORE) {
			snprintf(res->more[res->nmore].property, sizeof(res->more[0].property),
			         "no_unexpected_signal");
			snprintf(res->more[res->nmore].detail, sizeof(res->more[0].detail),
			         "%.399s", why);
			res->nmore++;
		}
		res->violations = (res->violations > 0 ? res->violations : 1) + 1;
		return;
	}
	res->verdict = FL_VERDICT_CRASH;
	res->violations = 1;
	snprintf(res->property, sizeof(res->property), "no_unexpected_signal");
	snprintf(res->detail, sizeof(res->detail), "%s", why);
}

/* One result to the report, or down fd, failed first by a worker's
 * death found since the last (worker_death_onto); false when fd broke. */
static bool
emit_result(struct fl_report *rep, int fd, struct fl_run_result *res)
{
	worker_death_onto(res);
	if (fd < 0) {
		add_result(rep, res);
		return true;
	}
	/* one write of < PIPE_BUF bytes: whole or nothing */
	_Static_assert(sizeof(*res) <= PIPE_BUF, "a result is written to its pipe whole");
	return write(fd, res, sizeof(*res)) == (ssize_t)sizeof(*res);
}

/* Runs jobs first, first + stride, ... below njobs here, in order, until
 * the deadline has passed (the first always runs, so every call makes
 * progress) or an interrupt.  Each result goes to the report, or down fd
 * when fd >= 0.  Returns how many ran, or -1 when fd broke.
 *
 * A run that passed waits for the next run's result (or the end of the
 * batch's worker): a worker found dead between runs meanwhile fails it.
 * One that did not pass goes at once (its worker retired after it, so
 * no death can follow it there), and is never lost with this process. */
static ssize_t
run_strided(const struct run_cfg *rc, const struct job_src *jobs, size_t njobs, size_t first,
            size_t stride, double deadline, struct fl_report *rep, int fd)
{
	ssize_t ran = 0;
	struct fl_run_result res, held;
	bool holding = false;

	fli_runner_batch(true);
	for (size_t i = first; i < njobs; i += stride) {
		struct job j;

		if (interrupted || (i != first && past(deadline)))
			break;
		job_at(jobs, i, &j);
		/* The next run goes to the sim worker with this one, which
		 * starts it as soon as this one ends. */
		if (i + stride < njobs) {
			struct job next;

			job_at(jobs, i + stride, &next);
			fli_runner_next(next.s, &next.o);
		}
		if (!run_one(rc, &j, &res))
			break;
		ran++;
		if (holding && !emit_result(rep, fd, &held)) {
			holding = false;
			ran = -1;
			break;
		}
		holding = !res.not_run && res.verdict == FL_VERDICT_PASS;
		if (holding)
			held = res;
		else if (!emit_result(rep, fd, &res)) {
			ran = -1;
			break;
		}
	}
	fli_runner_next(NULL, NULL); /* one sent ahead and not made is killed */
	fli_runner_shutdown();       /* and the worker's end is known */
	fli_runner_batch(false);
	if (holding && !emit_result(rep, fd, &held))
		ran = -1;
	if (!holding) {
		/* The last run went out at once (it failed), its worker still
		 * alive; a death found since is said here, not put on a later
		 * batch's run. */
		char why[512];

		if (fli_runner_worker_died(why, sizeof(why)) && !interrupted)
			fprintf(stderr, "faultline: after a failed run, %s\n", why);
	}
	return ran;
}


static void
describe_status(int st, char *buf, size_t len)
{
	if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
}

static void
run_jobs(const struct run_cfg *rc, const struct job_src *jobs, size_t njobs, unsigned nworkers,
         double deadline, struct fl_report *rep)
{
	static bool warned;
	int fds[MAX_JOBS], wfds[MAX_JOBS], st[MAX_JOBS];
	pid_t pids[MAX_JOBS], parent = getpid();
	size_t got[MAX_JOBS] = { 0 };
	unsigned nw, started, live;
	bool stopping = false;
	double kill_at = 0;

	if (nworkers > MAX_JOBS)
		nworkers = MAX_JOBS;
	if (nworkers > njobs)
		nworkers = (unsigned)njobs;
	if (nworkers <= 1) {
		run_strided(rc, jobs, njobs, 0, 1, deadline, rep, -1);
		return;
	}
	/* Every pipe before any fork: a worker's share (every nw-th job) is
	 * fixed when it forks. */
	for (nw = 0; nw < nworkers; nw++) {
		int p[2];
		if (pipe(p) != 0) {
			if (!warned)
				note(stderr,
				     "faultline: --jobs: no pipe for worker %u of %u (%s): "
				     "its runs go on in this process\n",
				     nw + 1, nworkers, strerror(errno));
			warned = true;
			break;
		}
		fds[nw] = p[0];
		wfds[nw] = p[1];
	}
	if (nw <= 1) {
		if (nw == 1) {
			close(fds[0]);
			close(wfds[0]);
		}
		run_strided(rc, jobs, njobs, 0, 1, deadline, rep, -1);
		return;
	}
	fflush(NULL);
	for (started = 0; started < nw && !interrupted; started++) {
		unsigned w = started;

		pids[w] = fork();
		if (pids[w] < 0) {
			if (!warned)
				note(stderr,
				     "faultline: --jobs: cannot fork worker %u of %u (%s): "
				     "its runs go on in this process\n",
				     w + 1, nw, strerror(errno));
			warned = true;
			break;
		}
		if (pids[w] == 0) {
			/* Killed with this process (SIGKILL leaves no time to
			 * stop it): its run dies with it, as do the run's actors. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(3);
			for (unsigned v = 0; v < nw; v++) {
				close(fds[v]);
				if (v != w && wfds[v] >= 0)
					close(wfds[v]);
			}
			ssize_t ran = run_strided(rc, jobs, njobs, w, nw, deadline, NULL, wfds[w]);
			fli_runner_shutdown();
			_exit(ran < 0 ? 3 : 0);
		}
		close(wfds[w]);
		wfds[w] = -1;
	}
	for (unsigned v = started; v < nw; v++) {
		close(fds[v]);
		close(wfds[v]);
	}
	for (live = started; live > 0;) {
		struct pollfd pf[MAX_JOBS];

		/* An interrupt: the workers (SIGTERM: the handler they share
		 * with this process) kill their runs, clean up and exit; one
		 * still there after 10 s is killed. */
		if (interrupted && !stopping) {
			stopping = true;
			kill_at = fli_mono_s() + 10;
			for (unsigned i = 0; i < started; i++)
				if (fds[i] >= 0)
					kill(pids[i], SIGTERM);
		}
		if (stopping && past(kill_at)) {
			for (unsigned i = 0; i < started; i++)
				if (fds[i] >= 0)
					kill(pids[i], SIGKILL);
			kill_at = fli_mono_s() + 10;
		}
		for (unsigned i = 0; i < started; i++)
			pf[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		/* A signal interrupts poll (EINTR); the 200 ms slice bounds the
		 * wait for one that lands just before it. */
		if (poll(pf, started, 200) <= 0)
			continue;
		for (unsigned i = 0; i < started; i++) {
			struct fl_run_result res;

			if (fds[i] < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (fli_runner_read_full(fds[i], &res, sizeof(res)) == 0) {
				add_result(rep, &res);
				got[i]++;
				continue;
			}
			close(fds[i]);
			fds[i] = -1;
			live--;
			while (waitpid(pids[i], &st[i], 0) < 0 && errno == EINTR)
				;
			/* A worker killed mid-run could not remove its run's
			 * directory (named after the worker). */
			if (stopping || !WIFEXITED(st[i]) || WEXITSTATUS(st[i]) != 0)
				fli_runner_remove_run_dirs(pids[i], NULL);
		}
	}
	if (interrupted)
		return; /* what is not done stays undone */
	/* What a worker did not report, this process runs: the share of a
	 * worker never started, the rest of one that died.  A worker that
	 * ended cleanly short of its share stopped at the time budget. */
	for (unsigned w = 0; w < nw; w++) {
		size_t share = (njobs - w + nw - 1) / nw;
		char why[64];

		if (got[w] >= share)
			continue;
		if (w < started) {
			if (WIFEXITED(st[w]) && WEXITSTATUS(st[w]) == 0 && past(deadline))
				continue;
			describe_status(st[w], why, sizeof(why));
			note(stderr,
			     "faultline: --jobs worker %u (pid %d) ended (%s) after %zu of its "
			     "%zu runs: the other %zu go on in this process\n",
			     w + 1, (int)pids[w], why, got[w], share, share - got[w]);
		}
		run_strided(rc, jobs, njobs, w + got[w] * nw, nw, deadline, rep, -1);
	}
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
	struct fli_runner_opts o = { 0 };
	struct fl_scenario *s;
	char err[512];
	uint64_t fd, *choices = NULL;
	int rv;

	o.timeline = getenv(FL_RUNNER_TIMELINE_ENV) != NULL;
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
	/* A sanitizer build: the run's report directory, from the parent. */
	o.san_dir = getenv(FL_RUNNER_SAN_DIR_ENV);
	rv = fli_runner_child_main(s, &o, argv[4], (int)fd);
	fl_scenario_free(s);
	free(choices);
	return rv == 0 ? 0 : 1;
}

/*
 * PCT spreads its d-1 priority change points over the steps of a run; a
 * bug of depth d is found with probability 1/(n k^(d-1)) for n actors and
 * k steps only when k is the run's real length.  The estimate is the step
 * count of one clean run of the scenario under the uniform scheduler,
 * always from seed PCT_CALIBRATION_SEED, never the batch's: a run is then
 * the same whichever batch holds it, so `--seed S --runs 1` is run S of
 * any batch (a batch's first seed once made another estimate, and the
 * printed seed of a failure did not reproduce it).  It goes into every
 * run's options and every trace, so a replay spreads its change points
 * the same way.  0 (not PCT, not sim, or the calibration run failed): the
 * sim draws a scale per run.
 */
#define PCT_CALIBRATION_SEED 1

static uint64_t
pct_estimate(const struct run_cfg *rc, struct fl_scenario *s, bool each_step, FILE *msg, bool quiet)
{
	struct fli_runner_opts o = { .seed = PCT_CALIBRATION_SEED,
		                     .timeout_ms = rc->timeout_ms,
		                     .check_each_step = each_step };
	struct fli_runner_outcome out;
	enum fl_scn_sched_kind kind = s->scheduler;
	uint64_t steps = 0;

	if (s->mode != FL_SCN_MODE_SIM || kind != FL_SCN_SCHED_PCT)
		return 0;
	s->scheduler = FL_SCN_SCHED_RANDOM;
	if (fli_runner_run(s, &o, &out) == 0) {
		if (out.verdict == FL_VERDICT_PASS)
			steps = out.steps;
		fli_runner_outcome_fini(&out);
	}
	s->scheduler = kind;
	if (!quiet)
		note(msg, "%s: PCT depth %u, change points over %" PRIu64 " steps%s\n", s->name,
		     s->sched_depth, steps, steps ? " (a clean run's length)" : " (drawn per run)");
	return steps;
}

/* The trace directory must take files before the first run: created here
 * when missing (*created: removed at the end if still empty), checked by
 * writing a file into it.  Returns 0, or -1 after saying why. */
static int
prepare_trace_dir(const char *dir, bool *created)
{
	char probe[4096];
	struct stat st;
	int fd;

	*created = false;
	if (mkdir(dir, 0755) == 0) {
		*created = true;
	} else if (errno != EEXIST) {
		fprintf(stderr, "faultline: --trace-dir %s: cannot create it (%s)\n", dir,
		        strerror(errno));
		return -1;
	} else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "faultline: --trace-dir %s: not a directory\n", dir);
		return -1;
	}
	snprintf(probe, sizeof(probe), "%s/.faultline-probe-XXXXXX", dir);
	if ((fd = mkstemp(probe)) < 0) {
		fprintf(stderr, "faultline: --trace-dir %s: cannot write into it (%s)\n", dir,
		        strerror(errno));
		if (*created)
			rmdir(dir);
		return -1;
	}
	close(fd);
	unlink(probe);
	return 0;
}

struct run_plan {
	struct run_cfg rc;
	uint64_t seed, runs, shard_i, shard_n, timeout_ms;
	uint64_t sweep_limit; /* --sweep-limit: faulted runs per sweep; 0: all */
	unsigned jobs_n;
	double time_limit;
	bool sweep, quiet, each_step, fork_each, use_valgrind;
	const char *valgrind, *self_exe;
	FILE *msg;       /* progress and messages: stdout or stderr */
	uint64_t global; /* runs before this scenario, for --shard */
};


static uint64_t
reported(const struct fl_report *rep)
{
	struct fl_report_counts c;

	fl_report_counts(rep, &c);
	return c.runs;
}

/* FNV-1a 64 of a string, continuing from h. */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* The shard a sweep's faulted run belongs to: by what it faults, not by
 * its place in the list, so shards whose counting runs saw different hit
 * counts (proc and stress runs are not deterministic) still never run one
 * fault twice.  Consecutive hits of one point alternate between shards. */
static uint64_t
sweep_shard(const struct fl_scenario *s, const char *point, uint64_t k, bool persistent,
            uint64_t shard_n)
{
	uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ull, s->name), point);

	return (h + (k - 1) * 2 + persistent) % shard_n;
}

/* The hits of a point a sweep tries: the transport's first 64 (a point
 * hit more often than that repeats itself: its later hits take the same
 * path), a target's allocation calls all of them up to SWEEP_ALLOC_CAP
 * (each call site is a different path). */
#define SWEEP_POINT_CAP 64
#define SWEEP_ALLOC_CAP 10000

static uint64_t
sweep_cap(const char *point)
{
	return strcmp(point, FL_POINT_TARGET_ALLOC) == 0 ? SWEEP_ALLOC_CAP : SWEEP_POINT_CAP;
}

/* The fault sweep of `s`: a clean run counts every point's hits, then the
 * k-th hit of each point fails once and persistently, for every k (at most
 * sweep_cap hits a point).  --sweep-limit L keeps L of those F faulted runs,
 * spread evenly over the list (points in fl_fault_points() order, hits
 * in order): the (i * F / L)-th for i < L.  --shard keeps the faulted runs
 * sweep_shard gives this shard; every shard makes its own counting run.
 * The runs' indices follow the scenario's n runs: n the counting run, then
 * n + 1 + j for the j-th faulted run of the whole list. */
static void
run_sweep(struct run_plan *p, struct fl_scenario *s, uint64_t n, uint64_t pct_steps, double start,
          double limit, struct fl_report *rep)
{
	struct fli_runner_opts o = { .seed = p->seed,
		                     .timeout_ms = p->timeout_ms,
		                     .count_hits = true };
	struct fli_runner_outcome out;
	struct job *jobs;
	size_t nsweep = 0, nall = 0, nkept = 0;
	double deadline = limit > 0 ? start + limit : 0;
	const char *const *names = fl_fault_points();
	int rv;

	errno = 0;
	if ((rv = fli_runner_run(s, &o, &out)) == 0 && out.stopped) {
		fli_runner_outcome_fini(&out);
		return;
	}
	if (rv != 0) {
		struct fl_run_result res;
		int e = errno;
		result_init(&res, s, p->seed, n);
		res.not_run = true;
		res.sweep_count = true;
		snprintf(res.detail, sizeof(res.detail),
		         "the harness could not start the sweep's counting run: %s",
		         e != 0 ? strerror(e) : fl_strerror(rv));
		add_result(rep, &res);
		return;
	}
	if (out.verdict != FL_VERDICT_PASS || strcmp(out.property, "harness") == 0) {
		/* Not a clean run: its counts are not the points' hits (a run
		 * cut short counts fewer, a crash none), and a sweep made of
		 * them would try part of the hits, or none, and pass.  The
		 * counting run is reported as the failure it is; no faulted
		 * run is made. */
		struct fl_run_result res;
		char file[200], name[64];

		result_init(&res, s, p->seed, n);
		res.sweep_count = true;
		if (strcmp(out.property, "harness") == 0) {
			res.not_run = true;
			snprintf(res.detail, sizeof(res.detail),
			         "the sweep's counting run: the harness failed inside it: %.400s",
			         out.detail);
		} else {
			res.verdict = out.verdict;
			res.trace_hash = out.trace_hash;
			res.seconds = out.seconds;
			snprintf(res.property, sizeof(res.property), "%s", out.property);
			snprintf(res.detail, sizeof(res.detail),
			         "%.340s [sweep: its counting run, a clean run, did not pass: no "
			         "faulted run was made]",
			         out.detail);
			sanitize(name, sizeof(name), s->name);
			snprintf(file, sizeof(file), "%.100s/%s-%" PRIu64 "-sweep-count.trace",
			         p->rc.trace_dir, name, p->seed);
			mkdir(p->rc.trace_dir, 0755);
			if (write_trace(file, s, p->seed, &out, NULL, &o) == 0) {
				snprintf(res.trace_path, sizeof(res.trace_path), "%s", file);
				snprintf(res.replay_cmd, sizeof(res.replay_cmd),
				         "faultline replay %s", file);
			}
		}
		add_result(rep, &res);
		fli_runner_outcome_fini(&out);
		return;
	}
	for (size_t pt = 0; pt < out.nhits && names[pt] != NULL; pt++)
		nall += 2 *
		        (out.hits[pt] < sweep_cap(names[pt]) ? out.hits[pt] : sweep_cap(names[pt]));
	uint64_t nlimit = p->sweep_limit > 0 && p->sweep_limit < nall ? p->sweep_limit : nall;
	jobs = calloc(nlimit ? nlimit : 1, sizeof(*jobs));
	if (jobs == NULL) {
		struct fl_run_result res;
		result_init(&res, s, p->seed, n);
		res.not_run = true;
		res.sweep_count = true;
		snprintf(res.detail, sizeof(res.detail), "the sweep's runs: out of memory");
		add_result(rep, &res);
		fli_runner_outcome_fini(&out);
		return;
	}
	for (size_t pt = 0, j = 0, next = 0; pt < out.nhits && names[pt] != NULL; pt++) {
		for (uint64_t k = 1; k <= out.hits[pt] && k <= sweep_cap(names[pt]); k++) {
			for (int pers = 0; pers < 2; pers++, j++) {
				const char *point = names[pt];
				struct job *jb;

				/* The (next * nall / nlimit)-th faulted run is kept. */
				if (next >= nlimit || j != (size_t)((uint64_t)next * nall / nlimit))
					continue;
				next++;
				nkept++;
				if (sweep_shard(s, point, k, pers, p->shard_n) != p->shard_i ||
				    nsweep == nlimit)
					continue;
				jb = &jobs[nsweep++];
				jb->s = s;
				jb->run_index = n + 1 + j;
				jb->sweep_point = point;
				jb->o = (struct fli_runner_opts){
					.seed = p->seed,
					.timeout_ms = p->timeout_ms,
					.check_each_step = p->each_step,
					.timeline = p->rc.html_dir != NULL,
					.pct_steps = pct_steps,
					.sweep_point = point,
					.sweep_k = k,
					.sweep_persistent = pers,
				};
				if (p->use_valgrind) {
					jb->o.valgrind = p->valgrind;
					jb->o.self_exe = p->self_exe;
					jb->o.valgrind_log_dir = p->rc.trace_dir;
				}
				snprintf(jb->sweep_desc, sizeof(jb->sweep_desc),
				         "sweep: %s hit %" PRIu64 "%s", point, k,
				         pers ? " and after" : " once");
			}
		}
	}
	{
		uint64_t *tried = calloc(out.nhits ? out.nhits : 1, sizeof(*tried));
		struct fl_report_sweep sw = { .scenario = s->name,
			                      .seed = p->seed,
			                      .points = names,
			                      .hits = out.hits,
			                      .tried = tried,
			                      .faulted = nall,
			                      .kept = nkept,
			                      .here = nsweep };

		for (size_t pt = 0; tried != NULL && pt < out.nhits && names[pt] != NULL; pt++) {
			tried[pt] = out.hits[pt] < sweep_cap(names[pt]) ? out.hits[pt]
			                                                : sweep_cap(names[pt]);
			sw.npoints = pt + 1;
		}
		/* a report without it is not the batch's: out of memory fails */
		if (tried == NULL || fl_report_sweep(rep, &sw) != 0) {
			fprintf(stderr, "faultline: out of memory for the sweep's report\n");
			fl_report_set_interrupted(rep, "out of memory");
		}
		free(tried);
	}
	fli_runner_outcome_fini(&out);
	fl_report_plan(rep, NULL, nsweep);
	/* The scenario's time budget bounds a sweep too (run_strided stops
	 * at it); a cut-short sweep says how far it got.  One call: a
	 * --jobs worker and its sim worker serve the whole sweep. */
	uint64_t before = reported(rep);
	struct job_src src = { .array = jobs };
	if (nsweep > 0 && !past(deadline) && !interrupted)
		run_jobs(&p->rc, &src, nsweep, p->jobs_n, deadline, rep);
	uint64_t done = reported(rep) - before;
	char share[160] = "", limited[64] = "";
	if (nkept < nall)
		snprintf(limited, sizeof(limited), "--sweep-limit: %zu of %zu", nkept, nall);
	if (p->shard_n > 1)
		snprintf(share, sizeof(share),
		         " (shard %" PRIu64 "/%" PRIu64 "'s share of %zu%s%s)", p->shard_i + 1,
		         p->shard_n, nkept, limited[0] ? "; " : "", limited);
	else if (limited[0])
		snprintf(share, sizeof(share), " (%s)", limited);
	note(p->msg, "%s: sweep: %" PRIu64 " of %zu faulted runs%s%s\n", s->name, done, nsweep,
	     share,
	     done >= nsweep ? ""
	     : interrupted  ? " (interrupted)"
	                    : " (time budget reached)");
	free(jobs);
}

/* A scenario's runs in the batch: --runs, else its budget, else 100. */
static uint64_t
scenario_runs(const struct run_plan *p, const struct fl_scenario *s)
{
	return p->runs ? p->runs : (s->budget_runs ? s->budget_runs : 100);
}

/* The batch's plan, which each of its shards shares: every scenario (its
 * name, its file's hash, its mode and its runs, in order) and the sweep's
 * settings.  merge refuses shards of different plans (another scenario
 * list, another --runs or --mode): they are not one batch. */
static uint64_t
batch_plan(const struct run_plan *p, struct fl_scenario *const *list, size_t count, int mode,
           const struct fl_baseline *known)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char buf[128];

	/* The baseline too: merge carries each shard's "known" through, so
	 * shards judged against different baselines (one shard re-run by
	 * hand with --baseline) would make a failure known or not by the
	 * shard it fell in. */
	for (size_t i = 0; i < fl_baseline_count(known); i++) {
		const char *f[5];
		uint64_t seen;

		fl_baseline_entry(known, i, &f[0], &f[1], &f[2], &f[3], &f[4], &seen);
		for (size_t k = 0; k < 4; k++)
			h = fnv1a(fnv1a(h, f[k] != NULL ? f[k] : ""), "\x1f");
	}

	for (size_t i = 0; i < count; i++) {
		snprintf(buf, sizeof buf, "|%016llx %d %llu|",
		         (unsigned long long)fl_scenario_hash(list[i]),
		         mode >= 0 ? mode : (int)list[i]->mode,
		         (unsigned long long)scenario_runs(p, list[i]));
		h = fnv1a(fnv1a(h, list[i]->name), buf);
	}
	snprintf(buf, sizeof buf, "sweep %d %llu each-step %d", p->sweep,
	         (unsigned long long)p->sweep_limit, p->each_step);
	return fnv1a(h, buf);
}

/* How many of a scenario's n runs this shard makes, and the index of its
 * first (*first), when the batch's scenarios before it have `global` runs:
 * run k (seed + k) has global index global + k, and the shard keeps those
 * equal to shard_i modulo shard_n. */
static uint64_t
shard_share(const struct run_plan *p, uint64_t global, uint64_t n, uint64_t *first)
{
	uint64_t r = global % p->shard_n;

	*first = p->shard_i >= r ? p->shard_i - r : p->shard_i + (p->shard_n - r);
	return *first < n ? 1 + (n - 1 - *first) / p->shard_n : 0;
}

/* What makes a scenario's plain runs, one at a time: run i of this
 * shard's share is run index first + i * shard_n, seed + that index. */
struct plain_runs {
	const struct run_plan *p;
	const struct fl_scenario *s;
	uint64_t first, pct_steps;
};

static void
plain_run(const void *arg, size_t i, struct job *j)
{
	const struct plain_runs *pr = arg;
	const struct run_plan *p = pr->p;
	uint64_t k = pr->first + (uint64_t)i * p->shard_n;

	memset(j, 0, sizeof(*j));
	j->s = pr->s;
	j->run_index = k;
	j->o = (struct fli_runner_opts){ .seed = p->seed + k,
		                         .timeout_ms = p->timeout_ms,
		                         .check_each_step = p->each_step,
		                         .timeline = p->rc.html_dir != NULL,
		                         .pct_steps = pr->pct_steps,
		                         .fork_each = p->fork_each };
	if (p->use_valgrind) {
		j->o.valgrind = p->valgrind;
		j->o.self_exe = p->self_exe;
		j->o.valgrind_log_dir = p->rc.trace_dir;
	}
}

/* Every run of `s` in this shard.  Made one at a time as they run (10^7
 * runs preallocated took 2.5 GB), the time budget checked before each;
 * with --jobs, the workers fork once for the scenario, so each keeps its
 * sim worker, warm, across all of its share (forking them again every
 * 128 runs cost more than the runs on a 2-core machine). */
static void
run_scenario(struct run_plan *p, struct fl_scenario *s, struct fl_report *rep)
{
	uint64_t n = scenario_runs(p, s);
	double limit = p->time_limit > 0 ? p->time_limit : s->budget_seconds;
	double start = fli_mono_s(), deadline = limit > 0 ? start + limit : 0;
	struct plain_runs pr = { .p = p, .s = s };
	struct job_src src = { .make = plain_run, .arg = &pr };
	uint64_t want = shard_share(p, p->global, n, &pr.first);
	uint64_t before = reported(rep), done;

	fl_report_plan(rep, s->name, 0);
	pr.pct_steps = pct_estimate(&p->rc, s, p->each_step, p->msg, p->quiet);
	scn_rules_fired = 0;
	scn_runs_done = 0;
	p->global += n;
	if (want > 0 && !interrupted)
		run_jobs(&p->rc, &src, (size_t)want, p->jobs_n, deadline, rep);
	done = reported(rep) - before;
	if (interrupted)
		return; /* no claim about rules from a scenario cut short */
	if (done < want) {
		note(p->msg,
		     "%s: time budget of %g s reached after %" PRIu64 " of %" PRIu64 " runs\n",
		     s->name, limit, done, want);
		/* merge takes the runs not made for missing ones unless told */
		fl_report_cut_short(rep, s->name, done, want);
	}
	if (p->sweep || s->sweep)
		run_sweep(p, s, n, pr.pct_steps, start, limit, rep);
	if (!interrupted)
		report_rules_never_fired(rep, s);
}

static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, 0, 's' },
		{ "runs", required_argument, 0, 'n' },
		{ "time", required_argument, 0, 't' },
		{ "jobs", required_argument, 0, 'j' },
		{ "shard", required_argument, 0, 'S' },
		{ "mode", required_argument, 0, 'm' },
		{ "sweep", no_argument, 0, 'w' },
		{ "valgrind", no_argument, 0, 'V' },
		{ "junit", required_argument, 0, 'J' },
		{ "json", required_argument, 0, 'O' },
		{ "tap", no_argument, 0, 'T' },
		{ "timeout", required_argument, 0, 'x' },
		{ "trace-dir", required_argument, 0, 'd' },
		{ "quiet", no_argument, 0, 'q' },
		{ "check-each-step", no_argument, 0, 'E' },
		{ "fork-each", no_argument, 0, 'F' },
		{ "sweep-limit", required_argument, 0, 'L' },
		{ "baseline", required_argument, 0, 'B' },
		{ "target", required_argument, 0, 'G' },
		{ "baseline-write", required_argument, 0, 'W' },
		{ "html-dir", required_argument, 0, 'H' },
		{ "html-max", required_argument, 0, 'K' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct run_plan p = { .rc = { .trace_dir = "faultline-traces", .html_max = 20 },
		              .shard_n = 1,
		              .timeout_ms = DEFAULT_TIMEOUT_MS,
		              .jobs_n = 1 };
	uint64_t jobs_n = 1;
	int mode = -1;
	bool have_seed = false, tap = false, created_dir = false;
	static char valgrind[512], self_exe[512]; /* find_valgrind: 256 + "/valgrind" */
	const char *json = NULL, *junit = NULL, *baseline_path = NULL, *baseline_out = NULL;
	struct fl_baseline *baseline = NULL, *recorded = NULL;
	struct fl_scenario **list;
	struct fl_report *rep;
	struct fl_report_counts cnt;
	size_t count, skipped = 0;
	bool skip_lost = false;
	char err[512] = "";
	int c, status;

	/* From here an interrupt ends the batch: before the report files are
	 * opened, with no run and an interrupted report. */
	catch_interrupts();
	optind = 1;
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (opt_u64("--seed", optarg, 0, UINT64_MAX, &p.seed) != 0)
				goto usage;
			have_seed = true;
			break;
		case 'n':
			if (opt_u64("--runs", optarg, 1, UINT64_MAX, &p.runs) != 0)
				goto usage;
			break;
		case 't':
			if (parse_seconds(optarg, &p.time_limit) != 0) {
				fprintf(stderr,
				        "faultline: --time: expected seconds > 0 as digits with an "
				        "optional fraction, e.g. 30 or 0.5 (got '%s')\n",
				        optarg);
				goto usage;
			}
			break;
		case 'j':
			if (opt_u64("--jobs", optarg, 1, MAX_JOBS, &jobs_n) != 0)
				goto usage;
			p.jobs_n = (unsigned)jobs_n;
			break;
		case 'S':
			if (parse_shard(optarg, &p.shard_i, &p.shard_n) != 0) {
				fprintf(stderr,
				        "faultline: --shard: expected I/N, two decimal integers "
				        "with "
				        "1 <= I <= N (got '%s')\n",
				        optarg);
				goto usage;
			}
			break;
		case 'm':
			if (strcmp(optarg, "sim") == 0) {
				mode = FL_SCN_MODE_SIM;
			} else if (strcmp(optarg, "stress") == 0) {
				mode = FL_SCN_MODE_STRESS;
			} else if (strcmp(optarg, "proc") == 0) {
				mode = FL_SCN_MODE_PROC;
			} else {
				fprintf(stderr,
				        "faultline run: --mode %s: one of sim, proc, stress\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'w': p.sweep = true; break;
		case 'V': p.use_valgrind = true; break;
		case 'J': junit = optarg; break;
		case 'O': json = optarg; break;
		case 'T': tap = true; break;
		case 'x':
			if (opt_u64("--timeout", optarg, 1, 86400000, &p.timeout_ms) != 0)
				goto usage;
			break;
		case 'd': p.rc.trace_dir = optarg; break;
		case 'H': p.rc.html_dir = optarg; break;
		case 'K':
			if (opt_u64("--html-max", optarg, 1, UINT32_MAX, &p.rc.html_max) != 0)
				goto usage;
			break;
		case 'q': p.quiet = true; break;
		case 'E': p.each_step = true; break;
		case 'F': p.fork_each = true; break;
		case 'L':
			if (opt_u64("--sweep-limit", optarg, 1, UINT64_MAX, &p.sweep_limit) != 0)
				goto usage;
			break;
		case 'B': baseline_path = optarg; break;
		case 'G': {
			/* Absolute: traces record it, runs exec'd inherit it. */
			char abs[4096];

			if (realpath(optarg, abs) == NULL) {
				fprintf(stderr, "faultline run: --target %s: %s\n", optarg,
				        strerror(errno));
				return EXIT_USAGE;
			}
			if (fl_scenario_set_target(abs) != 0 || setenv("FL_TARGET", abs, 1) != 0) {
				fprintf(stderr, "faultline run: --target: the path is too long\n");
				return EXIT_USAGE;
			}
			break;
		}
		case 'W': baseline_out = optarg; break;
		case 'h': fputs(usage_run, stdout); return 0;
		default: goto usage;
		}
	}
	/* stdout carries at most one machine-read stream; then everything
	 * meant for people goes to stderr. */
	bool json_out = json != NULL && strcmp(json, "-") == 0;
	bool junit_out = junit != NULL && strcmp(junit, "-") == 0;
	if (tap + json_out + junit_out > 1) {
		fprintf(stderr, "faultline run: --tap, --json - and --junit - each take stdout: "
		                "give at most one of them\n");
		return EXIT_USAGE;
	}
	p.msg = tap || json_out || junit_out ? stderr : stdout;
	if (p.use_valgrind) {
		ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
		if (n <= 0 || find_valgrind(valgrind, sizeof(valgrind)) != 0) {
			fprintf(stderr, "faultline run: --valgrind: %s\n",
			        n <= 0 ? "cannot find this program's path"
			               : "valgrind is not on PATH");
			return EXIT_USAGE;
		}
		self_exe[n] = '\0';
		p.valgrind = valgrind;
		p.self_exe = self_exe;
	}
	/* Shards split one batch only when they share its seed: without
	 * --seed it comes from FL_SEED, and a sharded run without either is
	 * refused (a random seed per shard would make N different batches,
	 * some runs twice, some never). */
	const char *env_seed = getenv("FL_SEED");
	if (!have_seed && env_seed != NULL && *env_seed != '\0') {
		if (opt_u64("FL_SEED", env_seed, 0, UINT64_MAX, &p.seed) != 0)
			return EXIT_USAGE;
		have_seed = true;
	}
	if (!have_seed && p.shard_n > 1) {
		fprintf(stderr,
		        "faultline run: --shard %" PRIu64 "/%" PRIu64 " needs --seed S (or FL_SEED "
		        "in the environment): every shard must run with the same seed for the "
		        "shards to split one batch; give each shard the same value, e.g. the CI "
		        "pipeline's id\n",
		        p.shard_i + 1, p.shard_n);
		return EXIT_USAGE;
	}
	if (!have_seed) {
		if (getrandom(&p.seed, sizeof(p.seed), 0) != sizeof(p.seed))
			p.seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
		p.seed &= 0xffffffffffull; /* short enough to type */
	}
	if (load_all((const char *const *)argv + optind, (size_t)(argc - optind), &list, &count) !=
	    0)
		return EXIT_USAGE;
	/* Run k uses seed + k: a batch whose seeds would pass 2^64-1 wrapped
	 * to 0 and printed seeds the batch never asked for. */
	for (size_t i = 0; i < count; i++) {
		uint64_t n = scenario_runs(&p, list[i]);
		if (n - 1 > UINT64_MAX - p.seed) {
			fprintf(stderr,
			        "faultline run: seed %" PRIu64 " with %" PRIu64
			        " runs of %s passes "
			        "%" PRIu64 " (run k uses seed S+k): give --seed %" PRIu64
			        " or less\n",
			        p.seed, n, list[i]->name, UINT64_MAX, UINT64_MAX - (n - 1));
			fl_scenario_list_free(list, count);
			return EXIT_USAGE;
		}
	}
	p.rc.timeout_ms = p.timeout_ms;
	if (baseline_path != NULL &&
	    fl_baseline_load(baseline_path, &baseline, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline run: --baseline %s\n", err[0] ? err : "out of memory");
		fl_scenario_list_free(list, count);
		return EXIT_USAGE;
	}

	/* The progress line is drawn in place on stderr when it is a terminal
	 * that takes escape codes; elsewhere (a CI log) it is a line every
	 * tenth of the batch.  TAP on a terminal is its own progress: no line
	 * is drawn beside it. */
	const char *term = getenv("TERM");
	bool tap_on_tty = tap && isatty(STDOUT_FILENO);
	bool in_place =
	        isatty(STDERR_FILENO) && term != NULL && *term != '\0' && strcmp(term, "dumb") != 0;
	/* The plan in the clear, for merge to check a batch whole. */
	const char **plan_names = calloc(count ? count : 1, sizeof(*plan_names));
	uint64_t *plan_runs = calloc(count ? count : 1, sizeof(*plan_runs));
	if (plan_names == NULL || plan_runs == NULL) {
		fprintf(stderr, "faultline: out of memory\n");
		free(plan_names);
		free(plan_runs);
		fl_baseline_free(baseline);
		fl_scenario_list_free(list, count);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < count; i++) {
		plan_names[i] = list[i]->name;
		plan_runs[i] = scenario_runs(&p, list[i]);
	}
	struct fl_report_options ro = {
		.out = p.msg,
		.progress = !p.quiet && !tap_on_tty,
		.tty = in_place,
		.progress_out = stderr,
		.tap = tap ? stdout : NULL,
		.json_path = json,
		.junit_path = junit,
		.point_names = fl_fault_points(),
		.baseline = baseline,
		.batch_seed = p.seed,
		.batch_plan = batch_plan(&p, list, count, mode, baseline),
		.shard = p.shard_i + 1,
		.shards = p.shard_n,
		.scenarios = plan_names,
		.scenario_runs = plan_runs,
		.nscenarios = count,
		.baseline_partial = p.shard_n > 1 || p.sweep_limit > 0,
		.record = baseline_out != NULL ? &recorded : NULL,
	};
	/* Everything that can stop the batch is found before its first run:
	 * the trace directory, the report files (opened now: a report from an
	 * earlier batch at that path is truncated, never taken for this one). */
	int new_rc = fl_report_new(&ro, &rep); /* copies the plan */
	free(plan_names);
	free(plan_runs);
	if (new_rc != 0) {
		fprintf(stderr, "faultline: out of memory\n");
		fl_baseline_free(baseline);
		fl_scenario_list_free(list, count);
		return EXIT_USAGE;
	}
	if (p.rc.html_dir != NULL) {
		/* Shared with --jobs workers (forks): the first html_max pages. */
		p.rc.html_made = mmap(NULL, sizeof(uint32_t), PROT_READ | PROT_WRITE,
		                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p.rc.html_made == MAP_FAILED) {
			fprintf(stderr, "faultline: out of memory\n");
			return EXIT_USAGE;
		}
	}
	if (prepare_trace_dir(p.rc.trace_dir, &created_dir) != 0 ||
	    fl_report_open_files(rep, err, sizeof(err)) != 0) {
		if (err[0] != '\0')
			fprintf(stderr, "faultline: report file %s\n", err);
		if (created_dir)
			rmdir(p.rc.trace_dir);
		fl_report_free(rep);
		fl_baseline_free(baseline);
		fl_scenario_list_free(list, count);
		return EXIT_USAGE;
	}
	double t0 = fli_mono_s();

	remove_dead_run_dirs("run");
	fprintf(p.msg, "faultline: seed %" PRIu64 ", %zu scenario(s)%s\n", p.seed, count,
	        p.shard_n > 1 ? " (sharded)" : "");
	/* no_heap_growth needs the program's own allocator (run/heap.h):
	 * under valgrind or a sanitizer their leak check judges the heap. */
	for (size_t i = 0; (fli_heap_counter == NULL || p.valgrind != NULL) && i < count; i++) {
		static const char san[] = "a sanitizer's allocator has malloc (LeakSanitizer's "
		                          "check after each run, property sanitizer, judges it)";
		static const char vg[] = "--valgrind runs each run under memcheck, whose malloc "
		                         "is called (its leak check at each process's exit "
		                         "judges it)";
		static const char other[] = "faultline's malloc is not the one called (under "
		                            "valgrind, whose leak check at each process's exit "
		                            "judges it), or libfiu's POSIX preload is loaded";

		if (list[i]->properties & FL_SCN_PROP_NO_HEAP_GROWTH) {
			fprintf(p.msg, "faultline: note: no_heap_growth is not judged here: %s\n",
			        fli_san_enabled()    ? san
			        : p.valgrind != NULL ? vg
			                             : other);
			break;
		}
	}
	/* The plan: this shard's runs of every scenario it can run (a sweep's
	 * are added once its counting run has found them). */
	uint64_t planned = 0, global = 0, first;
	for (size_t i = 0; i < count; i++) {
		if (mode >= 0)
			list[i]->mode = (enum fl_scn_mode)mode;
		if (fli_runner_unsupported(list[i]) != NULL)
			continue;
		planned += shard_share(&p, global, scenario_runs(&p, list[i]), &first);
		global += scenario_runs(&p, list[i]);
	}
	fl_report_plan(rep, NULL, planned);
	batch_report = rep;
	for (size_t i = 0; i < count && !interrupted; i++) {
		const char *why = fli_runner_unsupported(list[i]);

		if (why != NULL) {
			note(stderr, "%s: skipped: %s\n", list[i]->path, why);
			if (fl_report_skipped(rep, list[i]->name, why) != 0)
				skip_lost = true;
			skipped++;
			continue;
		}
		run_scenario(&p, list[i], rep);
	}
	/* A signal from here on finds every run done: the batch is whole. */
	int sig = interrupted;
	if (sig != 0)
		fl_report_set_interrupted(rep, fl_signal_name(sig));
	fl_report_counts(rep, &cnt);
	status = fl_report_exit_status(rep);
	/* A shard past the batch's last run (more shards than runs) holds
	 * none of them, and that is the split's doing, not a fault: its
	 * report, which merge requires, says so, and merge judges the
	 * batch (it refuses one of no run at all). */
	bool empty_shard = sig == 0 && !cnt.interrupted && !skip_lost && cnt.runs == 0 &&
	                   cnt.not_run == 0 && p.shard_n > 1 && planned == 0 && global > 0;
	if (empty_shard)
		status = 0;
	if (skip_lost) {
		/* The reports cannot say what was skipped: not a clean batch. */
		fprintf(stderr, "faultline: out of memory: a skipped scenario is not in the "
		                "reports\n");
		status = EXIT_USAGE;
	}
	if (fl_report_finish(rep, fli_mono_s() - t0, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline: %s: the report is incomplete\n", err);
		status = EXIT_USAGE;
	}
	if (baseline_out != NULL) {
		if (fl_baseline_write(recorded, baseline_out, err, sizeof(err)) != 0) {
			fprintf(stderr, "faultline: --baseline-write %s\n", err);
			status = EXIT_USAGE;
		} else {
			fprintf(p.msg, "faultline: %zu distinct failure(s) written to %s\n",
			        fl_baseline_count(recorded), baseline_out);
		}
	}
	fl_baseline_free(recorded);
	fl_baseline_free(baseline);
	if (sig != 0)
		fprintf(stderr,
		        "faultline: interrupted by %s: no new run was started, the runs under "
		        "way were stopped and are not reported\n",
		        fl_signal_name(sig));
	else if (cnt.not_run > 0)
		fprintf(stderr, "faultline: %" PRIu64 " of %" PRIu64 " runs were not run: %s\n",
		        cnt.not_run, cnt.runs, first_not_run);
	else if (cnt.runs == 0 && !empty_shard)
		fprintf(stderr, "faultline: no run was executed: %s\n",
		        count == 0         ? "no scenario"
		        : skipped == count ? "every scenario was skipped (see above)"
		        : p.shard_n > 1    ? "this shard holds none of the requested runs"
		                           : "no run was started");
	if (empty_shard)
		fprintf(stderr,
		        "faultline: shard %" PRIu64 "/%" PRIu64 " holds none of the batch's "
		        "%" PRIu64 " runs (more shards than runs): exit 0; merge its report with "
		        "the other shards', which judges the batch\n",
		        p.shard_i + 1, p.shard_n, global);
	fli_runner_shutdown();
	batch_report = NULL;
	fl_report_free(rep);
	fl_scenario_list_free(list, count);
	if (created_dir)
		rmdir(p.rc.trace_dir); /* only when no run left anything in it */
	return sig != 0 ? 128 + sig : status;
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
		fprintf(stderr,
		        "faultline: %s: a property trace whose program '%s' cannot be run\n", path,
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

/* Reads a scenario trace and the scenario file it names.  The trace records
 * the file's hash (FNV-1a 64 of its bytes): a file changed since then runs
 * different operations under the same choices, so it is refused unless
 * `force`.  Returns 0, or -1 after saying why. */
static int
load_trace(const char *path, struct fl_trace *t, struct fl_scenario **s, bool force)
{
	char err[512];
	const char *spath;

	if (fl_trace_read(path, t, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline: %s\n", err);
		return -1;
	}
	if (strcmp(t->kind, "scenario") != 0) {
		fprintf(stderr,
		        "faultline: %s: a %s trace; replay it with the program named in it\n", path,
		        t->kind);
		fl_trace_fini(t);
		return -1;
	}
	spath = fl_trace_get_extra(t, "path");
	/* Recorded relative to a working directory that is not this one:
	 * that directory's file. */
	const char *rcwd = fl_trace_get_extra(t, "cwd");
	static char joined[8192];
	if (spath != NULL && spath[0] != '/' && access(spath, F_OK) != 0 && rcwd != NULL) {
		snprintf(joined, sizeof(joined), "%s/%s", rcwd, spath);
		if (access(joined, F_OK) == 0)
			spath = joined;
	}
	if (fl_trace_get_extra(t, "target") != NULL) {
		(void)fl_scenario_set_target(fl_trace_get_extra(t, "target"));
		(void)setenv("FL_TARGET", fl_trace_get_extra(t, "target"), 1);
	}
	if (spath == NULL || fl_scenario_load(spath, s, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline: %s: %s\n", path,
		        spath ? err : "no scenario path in the trace");
		fl_trace_fini(t);
		return -1;
	}
	if ((*s)->hash != t->hash && !force) {
		fprintf(stderr,
		        "faultline: %s: %s changed since the trace was recorded (scenario hash "
		        "%016" PRIx64 " in the trace, %016" PRIx64 " now): the recorded choices "
		        "would drive different operations; restore the file, or give --force "
		        "to replay it anyway\n",
		        path, spath, t->hash, (*s)->hash);
		fl_scenario_free(*s);
		fl_trace_fini(t);
		return -1;
	}
	if ((*s)->hash != t->hash)
		fprintf(stderr,
		        "warning: %s changed since the trace was saved (hash %016" PRIx64
		        " now %016" PRIx64 "): --force: the replay may differ\n",
		        spath, t->hash, (*s)->hash);
	if (fl_trace_get_extra(t, "plant") != NULL &&
	    plant_set(fl_trace_get_extra(t, "plant"), path) != 0) {
		fl_scenario_free(*s);
		fl_trace_fini(t);
		return -1;
	}
	/* The run's mode, which `run --mode` may have set (a trace without
	 * one ran in the file's). */
	const char *mode = fl_trace_get_extra(t, "mode");
	if (mode != NULL) {
		size_t m = 0;
		while (m < 3 && strcmp(mode_names[m], mode) != 0)
			m++;
		if (m == 3) {
			fprintf(stderr, "faultline: %s: mode %s: one of sim, proc, stress\n", path,
			        mode);
			fl_scenario_free(*s);
			fl_trace_fini(t);
			return -1;
		}
		(*s)->mode = (enum fl_scn_mode)m;
	}
	/* What trace_opts reads, refused here when it cannot be read: a
	 * replay without the run's timeout or its swept fault is another
	 * run, whose verdict says nothing of the trace's. */
	const char *tmo = fl_trace_get_extra(t, "timeout_ms");
	const char *sweep = fl_trace_get_extra(t, "sweep");
	const char *bad = NULL;
	char point[128];
	unsigned long long k;
	uint64_t ms;
	if (tmo != NULL && (parse_u64(tmo, &ms) != 0 || ms < 1 || ms > UINT32_MAX))
		bad = "timeout_ms: expected a number of ms from 1 to 4294967295";
	else if (sweep != NULL && sscanf(sweep, "sweep: %127s hit %llu", point, &k) != 2)
		bad = "sweep: expected 'sweep: POINT hit K'";
	else if (strcmp(t->name, (*s)->name) != 0 && !force)
		bad = "name: not the name of the scenario at its path (give --force to replay "
		      "it anyway)";
	if (bad != NULL) {
		fprintf(stderr, "faultline: %s: %s\n", path, bad);
		fl_scenario_free(*s);
		fl_trace_fini(t);
		return -1;
	}
	return 0;
}

static void
trace_opts(const struct fl_trace *t, struct fli_runner_opts *o)
{
	const char *sweep = fl_trace_get_extra(t, "sweep");

	memset(o, 0, sizeof(*o));
	o->seed = t->seed;
	o->replay = t->choices;
	o->nreplay = t->nchoices;
	o->replaying = true;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	/* A run's --timeout (load_trace checked it). */
	const char *tmo = fl_trace_get_extra(t, "timeout_ms");
	uint64_t ms;
	if (tmo != NULL && parse_u64(tmo, &ms) == 0)
		o->timeout_ms = ms;
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
			fprintf(stderr,
			        "warning: the trace ran under valgrind, which is not on PATH\n");
		}
	}
	if (fl_trace_get_extra(t, "pct_steps") != NULL)
		o->pct_steps = strtoull(fl_trace_get_extra(t, "pct_steps"), NULL, 10);
	/* A report of a sanitizer this build lacks cannot come back. */
	const char *san = fl_trace_get_extra(t, "sanitizer");
	const char *here = fli_san_enabled() ? fli_san_build() : "none";
	if (san != NULL && strcmp(san, here) != 0)
		fprintf(stderr,
		        "warning: the trace was recorded by a build with -Db_sanitize=%s, this "
		        "one has %s: its sanitizer reports (property sanitizer) replay only in a "
		        "build with the same sanitizers\n",
		        san, here);
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
set_log_dir(struct fli_runner_opts *o, const char *trace)
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
	struct fli_runner_opts o;
	struct fli_runner_outcome out;
	static const struct option opts[] = {
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	bool same, force = false;
	const char *path;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'h': fputs(usage_replay, stdout); return 0;
		default: fputs(usage_replay, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(usage_replay, stderr);
		return EXIT_USAGE;
	}
	path = argv[optind];
	int handed = property_trace_handoff(path, NULL);
	if (handed >= 0)
		return handed;
	if (load_trace(path, &t, &s, force) != 0)
		return EXIT_USAGE;
	trace_opts(&t, &o);
	set_log_dir(&o, path);
	char san_report[600];
	san_report_beside(san_report, sizeof(san_report), path, ".replay.sanitizer.log");
	o.sanitizer_report = san_report;
	start_runs("replay");
	if (fli_runner_run(s, &o, &out) != 0) {
		fprintf(stderr, "faultline replay: the harness could not fork the run\n");
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return EXIT_USAGE;
	}
	if (interrupted) {
		fli_runner_outcome_fini(&out);
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return interrupted_exit("replay");
	}
	same = strcmp(fl_verdict_name(out.verdict), t.verdict) == 0 &&
	       strcmp(out.property, t.property ? t.property : "") == 0;
	printf("%s seed=%" PRIu64 ": %s%s%s%s%s\n", s->name, t.seed, fl_verdict_name(out.verdict),
	       out.property[0] ? " " : "", out.property, out.detail[0] ? ": " : "", out.detail);
	printf("trace_hash %016" PRIx64 " (recorded %016" PRIx64 ")\n", out.trace_hash,
	       t.trace_hash);
	/* Under sim the recorded choices make the recorded run, hash and
	 * all: another hash is another run (a cut or edited trace), whose
	 * verdict matching says nothing. */
	bool other_run =
	        s->mode == FL_SCN_MODE_SIM && t.trace_hash != 0 && out.trace_hash != t.trace_hash;
	printf("%s\n", !same       ? "replay: DIFFERENT verdict from recorded"
	               : other_run ? "replay: same verdict, but NOT the recorded run (another "
	                             "trace_hash): the trace's choices no longer make the run "
	                             "they recorded (a cut or edited trace?)"
	                           : "replay: same verdict as recorded");
	fli_runner_outcome_fini(&out);
	fl_scenario_free(s);
	fl_trace_fini(&t);
	return same && !other_run ? 0 : 1;
}

static const char usage_show[] =
        "usage: faultline show TRACE [--html OUT] [--force]\n"
        "Replays the scenario run TRACE records, keeping its timeline, and prints it: each\n"
        "op an actor ran (its first and last scheduling step, its time, its outcome), each\n"
        "fault that fired, each crash and node life, and where the violation became\n"
        "visible.  With --html, writes it instead as one self-contained HTML page (no\n"
        "network, no external file): a lane per actor, node and the driver, ops as bars,\n"
        "fault and crash markers, the scheduling decisions, the resource gauges, the\n"
        "violated property as the headline (docs/timeline.md).  A proc or stress run is\n"
        "replayed until it fails as recorded (up to 20 times); the page says when no\n"
        "replay did.  --force shows a trace whose scenario file changed since.\n"
        "Exit status 0 when the replay shown reached the recorded verdict, 1 when not\n"
        "(the timeline is still shown), 2 when the trace or its scenario cannot be read or\n"
        "OUT cannot be written.\n";

/* Replays a trace with its timeline kept, up to FLI_SHRINK_REPLAYS times
 * until it fails as recorded (proc and stress timing is not in the
 * stream): 0 (*same says whether it did), or -1. */
static int
replay_timeline(const struct fl_scenario *s, const struct fl_trace *t, const char *path,
                struct fli_runner_outcome *out, bool *same)
{
	struct fli_runner_opts o;
	int tries = s->mode == FL_SCN_MODE_SIM ? 1 : FLI_SHRINK_REPLAYS;

	trace_opts(t, &o);
	set_log_dir(&o, path);
	o.timeline = true;
	start_runs("show");
	for (int k = 0; k < tries; k++) {
		if (fli_runner_run(s, &o, out) != 0)
			return -1;
		/* Under sim the recorded run itself (replay's rule). */
		*same = strcmp(fl_verdict_name(out->verdict), t->verdict) == 0 &&
		        strcmp(out->property, t->property ? t->property : "") == 0 &&
		        (s->mode != FL_SCN_MODE_SIM || t->trace_hash == 0 ||
		         out->trace_hash == t->trace_hash);
		if (*same || interrupted || k == tries - 1)
			return 0;
		fli_runner_outcome_fini(out);
	}
	return 0;
}

static int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "html", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *html = NULL, *path;
	struct fli_runner_outcome out = { 0 };
	struct fl_trace t;
	struct fl_scenario *s;
	bool force = false, same = false;
	char note[200];
	int c, rv = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'o' || c == 'f') {
			html = c == 'o' ? optarg : html;
			force = force || c == 'f';
			continue;
		}
		fputs(usage_show, c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : EXIT_USAGE;
	}
	if (optind != argc - 1 || load_trace((path = argv[optind]), &t, &s, force) != 0) {
		if (optind != argc - 1)
			fputs(usage_show, stderr);
		return EXIT_USAGE;
	}
	if (replay_timeline(s, &t, path, &out, &same) != 0 || interrupted) {
		if (!interrupted)
			fprintf(stderr, "faultline show: the harness could not fork the run\n");
		else
			fli_runner_outcome_fini(&out);
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return interrupted ? interrupted_exit("show") : EXIT_USAGE;
	}
	snprintf(note, sizeof(note), "this replay %s %s%s%s, not %s%s%s as recorded",
	         s->mode == FL_SCN_MODE_SIM ? "ended" : "(the last of 20) ended",
	         fl_verdict_name(out.verdict), out.property[0] ? " " : "", out.property, t.verdict,
	         t.property ? " " : "", t.property ? t.property : "");
	if (strcmp(fl_verdict_name(out.verdict), t.verdict) == 0 &&
	    strcmp(out.property, t.property ? t.property : "") == 0)
		snprintf(note, sizeof(note),
		         "this replay is not the recorded run (trace_hash %016" PRIx64
		         ", recorded %016" PRIx64 "): a cut or edited trace",
		         out.trace_hash, t.trace_hash);
	struct fli_html_run hr = { .s = s,
		                   .out = &out,
		                   .seed = t.seed,
		                   .trace = path,
		                   .note = same ? NULL : note };
	if (html != NULL) {
		FILE *f = fopen(html, "w");

		if (f == NULL || fli_html_timeline(f, &hr) != 0) {
			fprintf(stderr, "faultline show: %s: %s\n", html,
			        f == NULL ? strerror(errno) : "could not write the page");
			rv = EXIT_USAGE;
		}
		if (f != NULL && fclose(f) != 0 && rv == 0) {
			fprintf(stderr, "faultline show: %s: %s\n", html, strerror(errno));
			rv = EXIT_USAGE;
		}
		if (rv == 0)
			printf("%s seed=%" PRIu64 ": %s%s%s: timeline written to %s\n", s->name,
			       t.seed, fl_verdict_name(out.verdict), out.property[0] ? " " : "",
			       out.property, html);
	} else {
		printf("%s seed=%" PRIu64 ": %s%s%s%s%s\n", s->name, t.seed,
		       fl_verdict_name(out.verdict), out.property[0] ? " " : "", out.property,
		       out.detail[0] ? ": " : "", out.detail);
		printf("%8s %-8s %10s  %s\n", "step", "(to)",
		       s->mode == FL_SCN_MODE_SIM ? "vtime" : "time", "event");
		(void)fli_text_timeline(stdout, &hr);
	}
	if (rv == 0 && !same)
		fprintf(stderr, "faultline show: %s\n", note);
	fli_runner_outcome_fini(&out);
	fl_scenario_free(s);
	fl_trace_fini(&t);
	return rv != 0 ? rv : same ? 0 : 1;
}

/* Points fd 2 at a temporary file; returns the saved fd 2 (-1: left as
 * it was). */
static int
capture_stderr(void)
{
	FILE *tmp = tmpfile();
	int saved;

	if (tmp == NULL)
		return -1;
	fflush(stderr);
	saved = dup(2);
	if (saved < 0 || dup2(fileno(tmp), 2) < 0) {
		if (saved >= 0)
			close(saved);
		fclose(tmp);
		return -1;
	}
	fclose(tmp); /* fd 2 keeps the file open */
	return saved;
}

/* Gives fd 2 back; with show, first copies what was captured (its last
 * 4 KiB) to it. */
static void
restore_stderr(int saved, bool show)
{
	char buf[4096];
	off_t end;
	ssize_t n;

	if (saved < 0)
		return;
	fflush(stderr);
	end = lseek(2, 0, SEEK_END);
	if (show && end > 0 &&
	    lseek(2, end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0, SEEK_SET) >= 0 &&
	    (n = read(2, buf, sizeof(buf))) > 0) {
		dup2(saved, 2);
		if (write(2, buf, (size_t)n) < 0) {
			/* nothing more to do */
		}
	}
	dup2(saved, 2);
	close(saved);
}

/* The minimal failing run in words: it is replayed once more, telling its
 * story (each op an actor started, with its line, in the order the
 * schedule ran them; each fault that fired, with its hit and action; each
 * crash), then the violation. */
static void
tell_minimal_run(const struct fl_scenario *s, const struct fli_runner_opts *base,
                 const struct fli_shrink_result *sr)
{
	struct fli_runner_opts o = *base;
	struct fli_runner_outcome out;
	bool all_default = true;
	int saved, step = 0;

	for (size_t i = 0; i < sr->nchoices; i++)
		all_default = all_default && sr->choices[i] == 0;
	o.replay = sr->choices;
	o.nreplay = sr->nchoices;
	o.replaying = true;
	o.narrate = true;
	/* Told from a replay that fails as the minimal run did (proc and
	 * stress replays may not: their timing is not in the stream). */
	int rv = 0, k;
	for (k = 0; k < FLI_SHRINK_REPLAYS; k++) {
		saved = capture_stderr();
		rv = fli_runner_run(s, &o, &out);
		restore_stderr(saved, false);
		if (rv != 0)
			return;
		if (out.verdict == sr->outcome.verdict &&
		    strcmp(out.property, sr->outcome.property) == 0)
			break;
		fli_runner_outcome_fini(&out);
	}
	if (k == FLI_SHRINK_REPLAYS) {
		printf("minimal failing run: not told (%d narrated replays did not fail the same "
		       "way: %s mode's timing is not in the stream)\n",
		       FLI_SHRINK_REPLAYS, mode_names[s->mode]);
		return;
	}
	printf("minimal failing run:\n");
	for (const char *p = out.story; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		int len = nl != NULL ? (int)(nl - p) : (int)strlen(p);

		if (strncmp(p, "fault ", 6) == 0 || strstr(p, " crashes at ") != NULL)
			printf("    ! %.*s\n", len, p);
		else
			printf("  %3d %.*s\n", ++step, len, p);
		p = nl != NULL ? nl + 1 : p + len;
	}
	printf("  -> %s %s: %s\n", fl_verdict_name(out.verdict), out.property, out.detail);
	if (all_default)
		printf("every choice is at its default (the first candidate): the failure does not "
		       "depend "
		       "on the interleaving or on drawn faults\n");
	fli_runner_outcome_fini(&out);
}

static const char usage_repro[] =
        "usage: faultline repro TRACE --c OUT.c\n"
        "Writes a failing run of a target (docs/targets.md) as a standalone C program on\n"
        "the library's public API: the target's ops in the order they started in a replay\n"
        "that fails as the trace did (at most 20 replays), one after another on one\n"
        "thread, with the scenario's lines as comments and, for a target/alloc fault, an\n"
        "allocation-failure shim inline.  Every op the run used must have a C form\n"
        "(struct fl_target_op's c_code).  Exit 0 written, 1 the trace did not fail the\n"
        "same way again, 2 usage, trace or target error.\n";

/* The allocation-failure shim of a target/alloc fault, for the library
 * object LIB (a substring of its path): malloc, calloc, realloc,
 * reallocarray, strdup, strndup, posix_memalign, aligned_alloc and
 * memalign called from LIB's code are numbered as faultline numbers them
 * (alloc_hook.h), and the FAIL_AT-th (and, PERSIST, every later one)
 * fails with ENOMEM. */
static void
repro_shim(FILE *f, const char *lib, uint64_t k, bool persist)
{
	fprintf(f,
	        "/* ---- the allocation-failure shim (faultline's target/alloc, hit %llu%s) ---- "
	        "*/\n"
	        "#define _GNU_SOURCE\n"
	        "#include <errno.h>\n#include <link.h>\n#include <pthread.h>\n"
	        "#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n\n"
	        "#define FAIL_AT %lluull\n#define PERSIST %d\n"
	        "extern void *__libc_malloc(size_t);\n"
	        "extern void *__libc_calloc(size_t, size_t);\n"
	        "extern void *__libc_realloc(void *, size_t);\n"
	        "extern void *__libc_memalign(size_t, size_t);\n"
	        "static uintptr_t shim_lo, shim_hi;\n"
	        "static unsigned long long shim_calls;\n"
	        "static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;\n\n"
	        "static int\nshim_find(struct dl_phdr_info *info, size_t size, void *arg)\n{\n"
	        "\t(void)size;\n\t(void)arg;\n"
	        "\tif (strstr(info->dlpi_name, \"%s\") == NULL)\n\t\treturn 0;\n"
	        "\tfor (int i = 0; i < info->dlpi_phnum; i++)\n"
	        "\t\tif (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & "
	        "PF_X)) {\n"
	        "\t\t\tshim_lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;\n"
	        "\t\t\tshim_hi = shim_lo + info->dlpi_phdr[i].p_memsz;\n\t\t}\n"
	        "\treturn 1;\n}\n\n"
	        "/* The call returning to ra fails: the library's FAIL_AT-th (or later). */\n"
	        "static int\nshim_fails(void *ra)\n{\n\tint f;\n\n"
	        "\tif (shim_hi == 0)\n\t\tdl_iterate_phdr(shim_find, NULL);\n"
	        "\tif ((uintptr_t)ra < shim_lo || (uintptr_t)ra >= shim_hi)\n\t\treturn 0;\n"
	        "\tpthread_mutex_lock(&shim_lock);\n"
	        "\tf = PERSIST ? ++shim_calls >= FAIL_AT : ++shim_calls == FAIL_AT;\n"
	        "\tpthread_mutex_unlock(&shim_lock);\n"
	        "\tif (f)\n\t\terrno = ENOMEM;\n\treturn f;\n}\n\n"
	        "#define SHIM_RA __builtin_return_address(0)\n"
	        "void *malloc(size_t n) { return shim_fails(SHIM_RA) ? NULL : __libc_malloc(n); }\n"
	        "void *calloc(size_t a, size_t b) { return shim_fails(SHIM_RA) ? NULL : "
	        "__libc_calloc(a, b); }\n"
	        "void *realloc(void *p, size_t n)\n{\n"
	        "\tif (p != NULL && n == 0) {\n\t\tfree(p);\n\t\treturn NULL;\n\t}\n"
	        "\treturn shim_fails(SHIM_RA) ? NULL : __libc_realloc(p, n);\n}\n"
	        "void *reallocarray(void *p, size_t a, size_t b)\n{\n\tsize_t n;\n\n"
	        "\tif (shim_fails(SHIM_RA) || __builtin_mul_overflow(a, b, &n)) {\n"
	        "\t\terrno = ENOMEM;\n\t\treturn NULL;\n\t}\n\treturn __libc_realloc(p, n);\n}\n"
	        "char *strdup(const char *s)\n{\n\tsize_t n = strlen(s) + 1;\n"
	        "\tchar *p = shim_fails(SHIM_RA) ? NULL : __libc_malloc(n);\n\n"
	        "\treturn p != NULL ? memcpy(p, s, n) : NULL;\n}\n"
	        "char *strndup(const char *s, size_t max)\n{\n\tsize_t n = strnlen(s, max);\n"
	        "\tchar *p = shim_fails(SHIM_RA) ? NULL : __libc_malloc(n + 1);\n\n"
	        "\tif (p != NULL) {\n\t\tmemcpy(p, s, n);\n\t\tp[n] = 0;\n\t}\n\treturn p;\n}\n"
	        "int posix_memalign(void **out, size_t align, size_t n)\n{\n"
	        "\tvoid *p = shim_fails(SHIM_RA) ? NULL : __libc_memalign(align, n);\n\n"
	        "\tif (p == NULL)\n\t\treturn ENOMEM;\n\t*out = p;\n\treturn 0;\n}\n"
	        "void *aligned_alloc(size_t align, size_t n) { return shim_fails(SHIM_RA) ? NULL : "
	        "__libc_memalign(align, n); }\n"
	        "void *memalign(size_t align, size_t n) { return shim_fails(SHIM_RA) ? NULL : "
	        "__libc_memalign(align, n); }\n\n",
	        (unsigned long long)k, persist ? " and after" : "", (unsigned long long)k, persist,
	        lib);
}

/* One recorded op: "ACTOR OP DEADLINE_MS INT...". */
struct repro_op {
	int actor, op;
	int64_t deadline_ms;
	int64_t ints[FL_TARGET_MAX_ARGS];
	int nints;
};

static int
repro_read_ops(const char *path, struct repro_op **out, size_t *n)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		struct repro_op r = { 0 };
		char *p = line, *e;

		r.actor = (int)strtol(p, &e, 10);
		r.op = (int)strtol(e, &e, 10);
		r.deadline_ms = strtoll(e, &e, 10);
		while (r.nints < FL_TARGET_MAX_ARGS && *e != '\n' && *e != '\0') {
			p = e;
			r.ints[r.nints] = strtoll(p, &e, 10);
			if (e == p)
				break;
			r.nints++;
		}
		if (*n == cap) {
			struct repro_op *v = realloc(*out, (cap = cap ? cap * 2 : 64) * sizeof(*v));
			if (v == NULL) {
				fclose(f);
				return FL_ENOMEM;
			}
			*out = v;
		}
		(*out)[(*n)++] = r;
	}
	fclose(f);
	return 0;
}

/* The C variable of scenario object i. */
static void
repro_var(char *buf, size_t len, const struct fl_scenario *s, fl_scn_ref i)
{
	snprintf(buf, len, "o_%s",
	         i >= 0 && (size_t)i < s->object_count ? s->objects[i].name : "none");
	for (char *p = buf; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			*p = '_';
}

/* The scenario op a recorded op ran, or NULL. */
static const struct fl_scenario_op *
repro_op_of(const struct fl_scenario *s, const struct repro_op *r)
{
	const struct fl_scenario_actor *a =
	        (size_t)r->actor < s->actor_count ? &s->actors[r->actor] : NULL;

	return a != NULL && (size_t)r->op < a->op_count ? &a->ops[r->op] : NULL;
}

/* The objects the run made and left open, closed at the program's end
 * as the harness closes them at an actor's end: each that an op made and
 * none closed, of a kind with a c_close. */
static void
repro_left_open(FILE *f, const struct fl_scenario *s, const struct fl_target *tg,
                const struct repro_op *ops, size_t nops)
{
	char var[96];

	for (size_t i = 0; i < s->object_count; i++) {
		const char *c_close = NULL;
		bool made = false, closed = false;

		if (s->objects[i].kind != FL_SCN_OBJ_TARGET)
			continue;
		for (const struct fl_target_kind *kd = tg->kinds; kd->name != NULL; kd++)
			if (strcmp(kd->name, s->objects[i].target_kind) == 0)
				c_close = kd->c_close;
		for (size_t k = 0; k < nops && c_close != NULL; k++) {
			const struct fl_scenario_op *op = repro_op_of(s, &ops[k]);
			const struct fl_target_op *top;

			if (op == NULL || op->kind != FL_SCN_OP_TARGET)
				continue;
			top = op->u.target.op;
			made = made || op->u.target.as == (fl_scn_ref)i;
			for (int j = 0; top->closes != NULL && top->args != NULL &&
			                j < FL_TARGET_MAX_ARGS && top->args[j].name != NULL;
			     j++)
				closed = closed || (strcmp(top->args[j].name, top->closes) == 0 &&
				                    op->u.target.objs[j] == (fl_scn_ref)i);
		}
		if (!made || closed)
			continue;
		repro_var(var, sizeof(var), s, (fl_scn_ref)i);
		fprintf(f, "\t/* %s %s left open: closed, as the harness closes it */\n\t",
		        s->objects[i].target_kind, s->objects[i].name);
		fprintf(f, c_close, var);
		fputs("\n", f);
	}
}

static int
cmd_repro(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "c", required_argument, 0, 'c' },
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *out_path = NULL;
	bool force = false;
	struct fl_trace t;
	struct fl_scenario *s;
	struct fli_runner_opts o;
	struct fli_runner_outcome out;
	struct repro_op *ops = NULL;
	size_t nops = 0;
	char log[4096], var[96], vars[FL_TARGET_MAX_ARGS][96], created[96];
	const struct fl_target *tg;
	enum fl_verdict v;
	int c, k, rc = 0;
	FILE *f;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': out_path = optarg; break;
		case 'f': force = true; break;
		case 'h': fputs(usage_repro, stdout); return 0;
		default: fputs(usage_repro, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || out_path == NULL) {
		fputs(usage_repro, stderr);
		return EXIT_USAGE;
	}
	if (load_trace(argv[optind], &t, &s, force) != 0)
		return EXIT_USAGE;
	tg = s->target;
	if (tg == NULL || fl_verdict_parse(t.verdict, &v) != 0 || v == FL_VERDICT_PASS) {
		fprintf(stderr, "faultline repro: %s: %s\n", argv[optind],
		        tg == NULL ? "its scenario drives no target" : "not a failing run");
		rc = EXIT_USAGE;
		goto done;
	}
	for (size_t i = 0; i < s->actor_count; i++)
		for (size_t j = 0; j < s->actors[i].op_count; j++) {
			const struct fl_scenario_op *op = &s->actors[i].ops[j];

			if (op->kind == FL_SCN_OP_TARGET && op->u.target.op->c_code == NULL) {
				fprintf(stderr,
				        "faultline repro: %s: op %s (line %d) has no C form in "
				        "target "
				        "%s: the run cannot be written as a program\n",
				        s->path, op->u.target.op->name, op->line, tg->name);
				rc = EXIT_USAGE;
				goto done;
			}
		}
	/* A replay that fails as the trace did, its target ops recorded. */
	snprintf(log, sizeof(log), "%s.ops", out_path);
	trace_opts(&t, &o);
	set_log_dir(&o, argv[optind]);
	if (setenv("FL_RECORD_OPS", log, 1) != 0) {
		rc = EXIT_USAGE;
		goto done;
	}
	for (k = 0; k < FLI_SHRINK_REPLAYS; k++) {
		unlink(log);
		if (fli_runner_run(s, &o, &out) != 0) {
			fprintf(stderr, "faultline repro: the replay could not run\n");
			rc = EXIT_USAGE;
			goto done;
		}
		bool same =
		        out.verdict == v && strcmp(out.property, t.property ? t.property : "") == 0;
		fli_runner_outcome_fini(&out);
		if (same)
			break;
	}
	unsetenv("FL_RECORD_OPS");
	if (k == FLI_SHRINK_REPLAYS) {
		fprintf(stderr,
		        "faultline repro: %s: no replay failed the same way in %d (%s mode: its "
		        "timing is not in the trace); nothing written\n",
		        argv[optind], FLI_SHRINK_REPLAYS, mode_names[s->mode]);
		unlink(log);
		rc = 1;
		goto done;
	}
	if (repro_read_ops(log, &ops, &nops) != 0) {
		rc = EXIT_USAGE;
		goto done;
	}
	unlink(log);
	if ((f = fopen(out_path, "w")) == NULL) {
		fprintf(stderr, "faultline repro: %s: %s\n", out_path, strerror(errno));
		rc = EXIT_USAGE;
		goto done;
	}
	const char *sweep = fl_trace_get_extra(&t, "sweep");
	char point[128] = "";
	unsigned long long hit = 0;
	bool persist = sweep != NULL && strstr(sweep, "and after") != NULL;

	if (sweep != NULL)
		(void)sscanf(sweep, "sweep: %127s hit %llu", point, &hit);
	/* Or the scenario's own rule on target/alloc (nth, after): the shim
	 * too.  Other rules are named as left out. */
	const struct fl_scenario_fault *shim_rule = NULL;
	for (size_t i = 0; i < s->fault_count && hit == 0; i++)
		if (strcmp(s->faults[i].point, FL_POINT_TARGET_ALLOC) == 0 &&
		    (s->faults[i].when == FL_SCN_WHEN_NTH ||
		     s->faults[i].when == FL_SCN_WHEN_AFTER)) {
			shim_rule = &s->faults[i];
			snprintf(point, sizeof(point), "%s", FL_POINT_TARGET_ALLOC);
			hit = shim_rule->n;
			persist = shim_rule->when == FL_SCN_WHEN_AFTER;
		}
	fprintf(f, "/*\n * faultline repro: scenario %s (%s), seed %llu, %s mode\n", s->name,
	        s->path, (unsigned long long)t.seed, mode_names[s->mode]);
	fprintf(f, " * The run: %s %s: %s\n", t.verdict, t.property ? t.property : "-",
	        t.message ? t.message : "");
	if (sweep != NULL)
		fprintf(f, " * Its fault: %s\n", sweep);
	for (size_t i = 0; i < s->fault_count; i++)
		fprintf(f, " * The scenario's fault rule at line %d (%s) %s.\n", s->faults[i].line,
		        s->faults[i].point,
		        &s->faults[i] == shim_rule ? "is the shim below"
		                                   : "is not in this program");
	fprintf(f,
	        " *\n * Target %s's ops in the order they started in a replay that failed the\n"
	        " * same way, here one after another on one thread (the run's actors ran\n"
	        " * them concurrently: a race may need the original's threads).\n",
	        tg->name);
	if (tg->c_build != NULL) {
		fputs(" *\n * Build: ", f);
		fprintf(f, tg->c_build, out_path);
		fputs("\n", f);
	}
	fputs(" */\n", f);
	if (strcmp(point, FL_POINT_TARGET_ALLOC) == 0 && hit > 0 && shim_rule != NULL)
		fprintf(f, "/* (the rule at line %d) */\n", shim_rule->line);
	if (strcmp(point, FL_POINT_TARGET_ALLOC) == 0 && hit > 0) {
		const char *lib = tg->libraries != NULL && tg->libraries[0] != NULL
		                          ? tg->libraries[0]
		                          : s->target_path;
		repro_shim(f, lib, hit, persist);
	}
	if (tg->c_prologue != NULL)
		fputs(tg->c_prologue, f);
	fputs("\nint\nmain(void)\n{\n", f);
	for (size_t i = 0; i < s->object_count; i++) {
		const char *ctype = "void *";

		if (s->objects[i].kind != FL_SCN_OBJ_TARGET)
			continue;
		for (const struct fl_target_kind *kd = tg->kinds; kd->name != NULL; kd++)
			if (strcmp(kd->name, s->objects[i].target_kind) == 0 && kd->c_type != NULL)
				ctype = kd->c_type;
		repro_var(var, sizeof(var), s, (fl_scn_ref)i);
		fprintf(f, "\t%s %s;\n", ctype, var);
		fprintf(f, "\tmemset(&%s, 0, sizeof(%s));\n", var, var);
	}
	for (size_t i = 0; i < nops; i++) {
		const struct fl_scenario_op *op = repro_op_of(s, &ops[i]);
		struct fl_target_c cc = { .out = f, .deadline_ms = ops[i].deadline_ms };
		int64_t ints[FL_TARGET_MAX_ARGS] = { 0 };
		struct fl_target_args args = { .ints = ints,
			                       .strs = op != NULL ? op->u.target.strs : NULL,
			                       .his = op != NULL ? op->u.target.his : NULL,
			                       .given = op != NULL ? op->u.target.given : 0 };

		if (op == NULL || op->kind != FL_SCN_OP_TARGET)
			continue;
		/* The op's declared arguments only: its args end at a NULL
		 * name, or are NULL (an op of none). */
		const struct fl_target_arg *targs = op->u.target.op->args;
		bool declared = targs != NULL;

		for (int j = 0; j < FL_TARGET_MAX_ARGS; j++) {
			declared = declared && targs[j].name != NULL;
			ints[j] = j < ops[i].nints ? ops[i].ints[j] : op->u.target.ints[j];
			vars[j][0] = '\0';
			if (declared && op->u.target.objs[j] >= 0 &&
			    (targs[j].type == FL_TARGET_OBJECT || (op->u.target.named & (1u << j))))
				repro_var(vars[j], sizeof(vars[j]), s, op->u.target.objs[j]);
			cc.objs[j] = vars[j];
		}
		if (op->u.target.as >= 0) {
			repro_var(created, sizeof(created), s, op->u.target.as);
			cc.created = created;
		}
		fprintf(f, "\t/* actor %s, line %d: %s */\n\t{\n", s->actors[ops[i].actor].name,
		        op->line, op->u.target.op->name);
		op->u.target.op->c_code(&cc, &args);
		fputs("\t}\n", f);
	}
	repro_left_open(f, s, tg, ops, nops);
	fputs("\treturn 0;\n}\n", f);
	if (fclose(f) != 0) {
		fprintf(stderr, "faultline repro: %s: write error\n", out_path);
		rc = EXIT_USAGE;
		goto done;
	}
	printf("wrote %s: %zu ops of target %s%s%s\n", out_path, nops, tg->name,
	       sweep != NULL ? ", with " : "", sweep != NULL ? sweep : "");
done:
	free(ops);
	fl_scenario_free(s);
	fl_trace_fini(&t);
	return rc;
}

static int
cmd_shrink(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' },
		{ "attempts", required_argument, 0, 'a' },
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *outpath = NULL;
	uint64_t attempts = 500;
	char defpath[512];
	struct fl_trace t;
	struct fl_scenario *s;
	struct fli_runner_opts o;
	struct fli_shrink_result sr;
	enum fl_verdict v;
	bool force = false;
	int c, rv;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': outpath = optarg; break;
		case 'a':
			if (opt_u64("--attempts", optarg, 1, UINT32_MAX, &attempts) != 0) {
				fputs(usage_shrink, stderr);
				return EXIT_USAGE;
			}
			break;
		case 'f': force = true; break;
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
	/* The trace is written beside OUT and renamed over it: a directory
	 * that cannot take it is said before the shrinking, not after. */
	char *outcopy = strdup(outpath);
	if (outcopy == NULL) {
		fprintf(stderr, "faultline shrink: out of memory\n");
		return EXIT_USAGE;
	}
	const char *outdir = dirname(outcopy);
	if (access(outdir, W_OK | X_OK) != 0) {
		fprintf(stderr, "faultline shrink: %s: cannot be written (%s: %s)\n", outpath,
		        outdir, strerror(errno));
		free(outcopy);
		return EXIT_USAGE;
	}
	free(outcopy);
	int handed = property_trace_handoff(argv[optind], outpath);
	if (handed >= 0)
		return handed;
	if (load_trace(argv[optind], &t, &s, force) != 0)
		return EXIT_USAGE;
	if (fl_verdict_parse(t.verdict, &v) != 0 || v == FL_VERDICT_PASS) {
		fprintf(stderr, "faultline shrink: %s: verdict '%s' is not a failure\n",
		        argv[optind], t.verdict);
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return EXIT_USAGE;
	}
	trace_opts(&t, &o);
	set_log_dir(&o, argv[optind]);
	/* Every candidate that fails the same way replaces the report: the
	 * last one is the minimal run's. */
	char san_report[600];
	san_report_beside(san_report, sizeof(san_report), outpath, ".sanitizer.log");
	o.sanitizer_report = san_report;
	/* Candidate runs write what the code under test logs (a library's
	 * warnings, dozens of lines): kept aside, shown only if shrinking
	 * fails, so the result is not buried. */
	start_runs("shrink");
	int saved_err = capture_stderr();
	rv = fli_shrink_scenario(s, &o, t.choices, t.nchoices, v, t.property, t.message,
	                         (unsigned)attempts, &sr);
	restore_stderr(saved_err, rv != 0 && !interrupted);
	if (interrupted) {
		/* Nothing written: a half-shrunk trace is not the minimal one. */
		if (rv == 0)
			fli_shrink_result_fini(&sr);
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return interrupted_exit("shrink");
	}
	if (rv == FL_EAGAIN) {
		fprintf(stderr,
		        "faultline shrink: %s: the shrunk run did not fail the same way again in "
		        "%d replays: in %s mode the failure depends on timing the choices do "
		        "not hold; nothing written\n",
		        argv[optind], FLI_SHRINK_REPLAYS, mode_names[s->mode]);
		fl_scenario_free(s);
		fl_trace_fini(&t);
		return 1;
	}
	if (rv != 0) {
		fprintf(stderr,
		        "faultline shrink: %s: the trace does not fail the same way when "
		        "replayed\n",
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
	struct fli_runner_outcome minimal = sr.outcome;
	minimal.choices = sr.choices;
	minimal.nchoices = sr.nchoices;
	rv = write_trace(outpath, s, t.seed, &minimal, fl_trace_get_extra(&t, "sweep"), &o);
	printf("shrunk %s: %zu choices -> %zu in %u runs\n", s->name, sr.original, sr.nchoices,
	       sr.attempts);
	if (sr.smallest != 0)
		printf("(a stream of %zu choices failed the same way once and not again in %d "
		       "replays: in %s mode the timing is not in the stream; the one written is "
		       "the first of the larger ones kept on the way that did)\n",
		       sr.smallest, FLI_SHRINK_REPLAYS, mode_names[s->mode]);
	printf("verdict: %s %s: %s\n", fl_verdict_name(sr.outcome.verdict), sr.outcome.property,
	       sr.outcome.detail);
	/* The stream in full is in the trace; a long one would bury the story. */
	printf("choices:");
	for (size_t i = 0; i < sr.nchoices && i < 64; i++)
		printf(" %" PRIu64, sr.choices[i]);
	if (sr.nchoices > 64)
		printf(" ... (%zu more, in the trace)", sr.nchoices - 64);
	printf("\n");
	tell_minimal_run(s, &o, &sr);
	if (rv == 0)
		printf("minimal trace: %s\nreplay: faultline replay %s\n", outpath, outpath);
	else
		printf("minimal trace: not written (%s: a write error)\n", outpath);
	fli_shrink_result_fini(&sr);
	fl_scenario_free(s);
	fl_trace_fini(&t);
	return rv == 0 ? 0 : EXIT_USAGE;
}

/* The harness's and the fixtures' scheduling points (the transport's are
 * fl_sched_point_names). */
static const char *const harness_sched_points[][2] = {
#define FL_SCHED(name, what) { name, what },
#include "run/sched_points.def"
#include "fixture_sched_points.def"
#undef FL_SCHED
};

/* The name column: one wider than the longest name (34 at least), so
 * that two spaces or more part every name from its meaning. */
static int
points_width(void)
{
	size_t w = 33;

	for (const char *const *p = fl_fault_points(); *p != NULL; p++)
		w = strlen(*p) > w ? strlen(*p) : w;
	for (size_t i = 0; fl_sched_point_names[i] != NULL; i++)
		w = strlen(fl_sched_point_names[i]) > w ? strlen(fl_sched_point_names[i]) : w;
	for (size_t i = 0; i < sizeof(harness_sched_points) / sizeof(harness_sched_points[0]); i++)
		w = strlen(harness_sched_points[i][0]) > w ? strlen(harness_sched_points[i][0]) : w;
	return (int)w + 1;
}

static void
list_points(void)
{
	int w = points_width();

	printf("fault points (a scenario's faults: point, --sweep):\n");
	for (size_t i = 0; fl_fault_points()[i] != NULL; i++)
		printf("  %-*s %s\n", w, fl_fault_points()[i], fl_fault_points_what()[i]);
	printf("  %-*s %s\n", w, "posix/..., libc/...",
	       "a libc call fails, through libfiu's POSIX preload (proc mode; libfiu names them, "
	       "e.g. posix/io/oc/open)");
	printf("scheduling points (sim mode: where the scheduler may switch actors; it also "
	       "may when an actor idles or waits for a lock):\n");
	for (size_t i = 0; fl_sched_point_names[i] != NULL; i++)
		printf("  %-*s %s\n", w, fl_sched_point_names[i], fl_sched_point_whats[i]);
	for (size_t i = 0; i < sizeof(harness_sched_points) / sizeof(harness_sched_points[0]); i++)
		printf("  %-*s %s\n", w, harness_sched_points[i][0], harness_sched_points[i][1]);
}

/* "a" or "an" before word. */
static const char *
article(const char *word)
{
	return word != NULL && strchr("aeiou", word[0]) != NULL && word[0] != '\0' ? "an" : "a";
}

/* One argument of a declared op, as a scenario writes it. */
static void
list_arg(const struct fl_target_arg *a)
{
	printf("      %s: ", a->name);
	switch (a->type) {
	case FL_TARGET_INT:
		if (a->names_only)
			printf("one of");
		else
			printf("integer %" PRId64 "..%" PRId64, a->min, a->max);
		for (const struct fl_target_name *w = a->names; w != NULL && w->name != NULL; w++)
			printf("%s %s", a->names_only && w == a->names ? "" : " or", w->name);
		if (a->kind != NULL)
			printf(" or %s %s named by `as:`", article(a->kind), a->kind);
		break;
	case FL_TARGET_GROUPS:
		printf("groups of members %" PRId64 "..%" PRId64 ", e.g. [[0], [1, 2]]", a->min,
		       a->max);
		break;
	case FL_TARGET_BOOL: printf("true or false"); break;
	case FL_TARGET_STRING: printf("a string"); break;
	case FL_TARGET_OBJECT:
		printf("%s ", article(a->kind));
		for (const char *k = a->kind; *k != '\0'; k++)
			if (*k == '|')
				printf(" or ");
			else
				putchar(*k);
		printf(" named by `as:`%s", a->any_client
		                                    ? " (any actor's)"
		                                    : " (of an actor with this actor's client)");
		break;
	case FL_TARGET_RANGE:
		printf("[min, max] within %" PRId64 "..%" PRId64, a->min, a->max);
		break;
	}
	if (a->required) {
		printf(", required");
	} else if (a->type == FL_TARGET_INT || a->type == FL_TARGET_BOOL) {
		const char *word = NULL;

		for (const struct fl_target_name *w = a->names; w != NULL && w->name != NULL; w++)
			if (w->value == a->dflt)
				word = w->name;
		if (word != NULL)
			printf(", default %s", word);
		else if (a->type == FL_TARGET_BOOL)
			printf(", default %s", a->dflt ? "true" : "false");
		else
			printf(", default %" PRId64, a->dflt);
	}
	if (a->type == FL_TARGET_INT)
		printf("; a list draws one each run");
	if (a->excludes != NULL)
		printf("; not with %s", a->excludes);
	if (a->requires != NULL)
		printf("; needs %s: true", a->requires);
	printf("\n");
}

static void
list_ops(const struct fl_target *t, const char *what)
{
	printf("%s:\n", what);
	for (const struct fl_target_op *op = t->ops; op->name != NULL; op++) {
		printf("  %s", op->name);
		if (op->creates != NULL)
			printf(": makes %s %s", article(op->creates), op->creates);
		if (op->closes != NULL)
			printf(": closes its %s", op->closes);
		printf("\n");
		for (const struct fl_target_arg *a = op->args; a != NULL && a->name != NULL; a++)
			list_arg(a);
		if (op->creates)
			printf("      as: the name it gives what it makes%s\n",
			       op->flags & FL_TARGET_OP_AS_OPTIONAL ? "" : ", required");
		if (op->flags & FL_TARGET_OP_BLOCKS)
			printf("      deadline_ms: integer 1..86400000, default the driver "
			       "timeout; a "
			       "list draws one each run (0 there: already past)\n");
		printf("      expect: %s\n", op->flags & FL_TARGET_OP_EXPECT_EXACT
		                                     ? "the one FL_E* code it must fail with"
		                                     : "FL_E* codes it may fail with, or any");
	}
}

static int
cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "points", no_argument, 0, 'p' },
		{ "ops", no_argument, 0, 'o' },
		{ "target", required_argument, 0, 't' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct fl_scenario **list;
	size_t count;
	bool points = false, ops = false;
	const char *target = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': points = true; break;
		case 'o': ops = true; break;
		case 't': target = optarg; break;
		case 'h': fputs(usage_list, stdout); return 0;
		default: fputs(usage_list, stderr); return EXIT_USAGE;
		}
	}
	if ((target != NULL && !ops) || (ops && (points || optind != argc))) {
		fputs(usage_list, stderr);
		return EXIT_USAGE;
	}
	if (ops) {
		const struct fl_target *t = NULL;
		char err[512];

		if (target != NULL && fl_target_load(target, &t, err, sizeof(err)) != 0) {
			fprintf(stderr, "faultline list: %s\n", err);
			return EXIT_USAGE;
		}
		/* The loader's own (ops.c), not declared through target.h. */
		fputs("operations of every scenario:\n"
		      "  wait\n"
		      "      ms: milliseconds (virtual under sim), required\n"
		      "  barrier: waits for every actor with a barrier of this name (at most the "
		      "driver timeout; one that timed out breaks it)\n"
		      "      name: a string, required\n"
		      "      expect: FL_E* codes it may fail with, or any\n"
		      "  close_client: closes everything the actor opened, then its client\n"
		      "      expect: FL_E* codes it may fail with, or any\n"
		      "  crash_self: the actor dies here, holding what it holds (kind process "
		      "only)\n",
		      stdout);
		list_ops(fli_builtin_targets(FL_SCN_DOMAIN_PUBSUB)[0], "pub/sub operations");
		list_ops(fli_builtin_targets(FL_SCN_DOMAIN_REQREP)[0],
		         "request/response operations");
		list_ops(fli_builtin_targets(FL_SCN_DOMAIN_CLUSTER)[0], "cluster operations");
		list_ops(fli_builtin_targets(FL_SCN_DOMAIN_CLUSTER)[1],
		         "cluster client operations");
		if (t != NULL) {
			char what[160];

			snprintf(what, sizeof(what), "target %s's operations", t->name);
			list_ops(t, what);
		}
		return 0;
	}
	if (points) {
		if (optind != argc) {
			fputs(usage_list, stderr);
			return EXIT_USAGE;
		}
		list_points();
		return 0;
	}
	if (load_all((const char *const *)argv + optind, (size_t)(argc - optind), &list, &count) !=
	    0)
		return EXIT_USAGE;
	for (size_t i = 0; i < count; i++) {
		const char *why = fli_runner_unsupported(list[i]);
		printf("%-28s %-6s %s\n    %s%s%s\n", list[i]->name, mode_names[list[i]->mode],
		       list[i]->path, list[i]->description ? list[i]->description : "",
		       why ? "\n    (not runnable in this build: " : "", why ? why : "");
		if (why)
			printf(")\n");
		fputs("    properties:", stdout);
		for (int k = 0; k < FL_SCN_PROP_COUNT; k++)
			if (list[i]->properties & (1u << k))
				printf(" %s", fl_scenario_property_name(1u << k));
		for (int k = 0; list[i]->target != NULL && list[i]->target->properties != NULL &&
		                list[i]->target->properties[k].name != NULL;
		     k++)
			if (list[i]->target_properties & (1u << k))
				printf(" %s", list[i]->target->properties[k].name);
		printf("%s\n", list[i]->properties_default
		                       ? " (the defaults for its operations: it lists none)"
		                       : "");
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
		fli_runner_set_self(self); /* re-executed runs: --valgrind, posix/ faults */
	}
	if (fl_fixtures_register() != 0) {
		fputs("faultline: cannot register the fixtures' implementations\n", stderr);
		return EXIT_USAGE;
	}
#ifdef FLI_PLANTS
	if (getenv("FL_PLANT") != NULL && plant_set(getenv("FL_PLANT"), "FL_PLANT") != 0)
		return EXIT_USAGE;
#endif
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_main, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("faultline %s\n", FL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(argv[1], "shrink") == 0)
		return cmd_shrink(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "repro") == 0)
		return cmd_repro(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "merge") == 0)
		return cmd_merge(argc - 1, argv + 1);
	if (strcmp(argv[1], "check-history") == 0)
		return cmd_check_history(argc - 1, argv + 1);
	if (strcmp(argv[1], "__run") == 0)
		return cmd_run_one(argc - 1, argv + 1);
	fprintf(stderr, "faultline: unknown command '%s'\n\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}
