/*
 * The parent side of a run: picks the run's name, hands a plain seeded
 * sim or proc run to the persistent worker (runner_worker.c) or forks a child for
 * it (fl_sandbox_run: runner_child.c's fli_runner_child_run, or an exec'd
 * `faultline __run` under valgrind or libfiu's POSIX preload), with a
 * wall-clock deadline, and reads the frames it sends back into the run's
 * outcome.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultline/choice.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "faultline/sandbox.h"
#include "faultline/sim.h"

#include "faultline/faults.h"
#include "run/run_internal.h"
#include "run/runner.h"
#include "run/runner_internal.h"
#include "run/timeline.h"
#include "run/sanitizer.h"

/* fli_runner_set_stop: when it reads non-zero, runs are cut short. */
static const volatile sig_atomic_t *runner_stop;

static bool
stop_requested(void)
{
	return runner_stop != NULL && *runner_stop != 0;
}

void
fli_runner_set_stop(const volatile sig_atomic_t *flag)
{
	runner_stop = flag;
}

static char runner_self[512];

void
fli_runner_set_self(const char *exe)
{
	snprintf(runner_self, sizeof(runner_self), "%s", exe);
}

/* libfiu's POSIX preload library: FL_FIU_POSIX_PRELOAD, or where Debian's
 * fiu-utils (and a /usr/local build) put it.  NULL: not installed. */
static const char *
posix_preload(void)
{
	static const char *const where[] = {
		"/usr/lib/fiu/fiu_posix_preload.so",
		"/usr/lib/x86_64-linux-gnu/fiu/fiu_posix_preload.so",
		"/usr/lib/aarch64-linux-gnu/fiu/fiu_posix_preload.so",
		"/usr/local/lib/fiu/fiu_posix_preload.so",
	};
	const char *env = getenv("FL_FIU_POSIX_PRELOAD");

	if (env != NULL && *env != '\0')
		return access(env, R_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], R_OK) == 0)
			return where[i];
	return NULL;
}

/*
 * A run that cannot be a plain fork: the forked child execs
 * `[valgrind ...] faultline __run ...`, which re-reads the scenario and
 * runs fli_runner_child_run.  --valgrind: under memcheck; the process actors it forks
 * stay under memcheck (valgrind follows fork) and each process's leak
 * check runs when it exits.  posix/ faults: with libfiu's POSIX preload in
 * LD_PRELOAD, so its wrapped libc calls consult the run's fault engine.
 */
static int
exec_child(void *arg, int out_fd)
{
	struct child_arg *ca = arg;
	const struct fli_runner_opts *o = ca->o;
	static const char *const modes[] = { "sim", "proc", "stress" };
	char fdbuf[16], seed[32], steps[32], log[512], cfd[16] = "-1", sk[32];
	const char *pre;
	const char *argv[32];
	int n = 0;

	snprintf(fdbuf, sizeof(fdbuf), "%d", out_fd);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)o->seed);
	snprintf(steps, sizeof(steps), "%llu", (unsigned long long)o->pct_steps);
	snprintf(sk, sizeof(sk), "%llu", (unsigned long long)o->sweep_k);
	if (o->replaying) {
		/* The recorded choices reach the exec'd run through a memfd. */
		int mfd = memfd_create("faultline-choices", 0);
		size_t len = o->nreplay * sizeof(uint64_t);
		if (mfd < 0 || write(mfd, o->replay, len) != (ssize_t)len ||
		    lseek(mfd, 0, SEEK_SET) != 0)
			return 1;
		snprintf(cfd, sizeof(cfd), "%d", mfd);
	}
	snprintf(log, sizeof(log), "--log-file=%s/memcheck-%s-%%p.log",
	         o->valgrind_log_dir ? o->valgrind_log_dir : ".", ca->ns);
	if (o->valgrind != NULL) {
		argv[n++] = o->valgrind;
		argv[n++] = "--tool=memcheck";
		argv[n++] = "--leak-check=full";
		argv[n++] = "--errors-for-leak-kinds=definite";
		argv[n++] = "--error-exitcode=" FL_STR(FL_RUNNER_MEMCHECK_EXIT);
		argv[n++] = log;
	}
	argv[n++] = o->self_exe != NULL ? o->self_exe : runner_self;
	argv[n++] = "__run";
	argv[n++] = fdbuf;
	argv[n++] = ca->s->path;
	argv[n++] = modes[ca->s->mode];
	argv[n++] = ca->ns;
	argv[n++] = seed;
	argv[n++] = steps;
	argv[n++] = o->check_each_step ? "1" : "0";
	argv[n++] = cfd;
	argv[n++] = o->sweep_point ? o->sweep_point : "-";
	argv[n++] = sk;
	argv[n++] = o->sweep_persistent ? "1" : "0";
	argv[n++] = NULL;
	fcntl(out_fd, F_SETFD, 0); /* the exec'd run writes its frames here */
	if (ca->san_dir != NULL)
		setenv(FL_RUNNER_SAN_DIR_ENV, ca->san_dir, 1);
	if (o->timeline)
		setenv(FL_RUNNER_TIMELINE_ENV, "1", 1);
	if (fl_scenario_libc_faults(ca->s) && (pre = posix_preload()) != NULL)
		setenv("LD_PRELOAD", pre, 1);
	execv(argv[0], (char *const *)argv);
	return 1;
}

/* A frame of uint64_t values into *v (the old array freed; malloc'd) and
 * their count into *n (left as it was when the allocation fails). */
static void
frame_u64s(uint64_t **v, size_t *n, const uint8_t *data, uint32_t len)
{
	free(*v);
	*v = malloc(len ? len : 1);
	if (*v != NULL) {
		memcpy(*v, data, len);
		*n = len / sizeof(uint64_t);
	}
}

/* A frame of one uint64_t into *v (a frame of another length is
 * ignored). */
/* A frame of text into *s (malloc'd, NUL-terminated; what it held is
 * freed; NULL when out of memory). */
static void
frame_text(char **s, const uint8_t *data, uint32_t len)
{
	free(*s);
	*s = malloc((size_t)len + 1);
	if (*s != NULL) {
		memcpy(*s, data, len);
		(*s)[len] = '\0';
	}
}

static void
frame_u64(uint64_t *v, const uint8_t *data, uint32_t len)
{
	if (len == sizeof(uint64_t))
		memcpy(v, data, sizeof(uint64_t));
}

/* A run's options, kept: its strings copied. */
struct kept_run {
	const struct fl_scenario *s; /* NULL: none */
	struct fli_runner_opts o;
	char sweep_point[128];
	char prefix[64];
};

/* The run the caller makes next (fli_runner_next), and the one sent to
 * the worker ahead of its turn, with its directory's name and ticket. */
static struct kept_run next_run;
static struct {
	struct kept_run run;
	char ns[64];
	char san_dir[256]; /* its sanitizer reports' directory, or "" */
	uint64_t ticket;
} ahead;

/* Does the persistent worker take this run? Seeded sim runs, a sweep's
 * among them, and seeded proc runs of the transport's own pub/sub and
 * request/response: the worker forks their process actors as a run's
 * own child did (a fork server: the run's process is not forked again
 * each run, and its pages, warm, are not faulted in again).  Replays,
 * stress runs, a proc run of a cluster (its nodes are processes too) or
 * of a target (its library may start threads of its own, which must not
 * live on into the next run's forks), and runs under libfiu's POSIX
 * preload or valgrind fork a child each. */
static bool
for_worker(const struct fl_scenario *s, const struct fli_runner_opts *o)
{
	bool mode_ok = s->mode == FL_SCN_MODE_SIM ||
	               (s->mode == FL_SCN_MODE_PROC && s->target == NULL && s->cluster.nodes == 0 &&
	                !fl_scenario_libc_faults(s));

	return mode_ok && !o->replaying && !o->fork_each && o->valgrind == NULL;
}

static bool
same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Is o, of s, the run k keeps?  Every option a worker's run depends on. */
static bool
same_run(const struct kept_run *k, const struct fl_scenario *s, const struct fli_runner_opts *o)
{
	const struct fli_runner_opts *a = &k->o;

	return k->s == s && a->seed == o->seed && a->timeout_ms == o->timeout_ms &&
	       a->check_each_step == o->check_each_step && a->pct_steps == o->pct_steps &&
	       same_str(a->sweep_point, o->sweep_point) && a->sweep_k == o->sweep_k &&
	       a->sweep_persistent == o->sweep_persistent && same_str(a->ns_prefix, o->ns_prefix) &&
	       a->count_hits == o->count_hits && a->narrate == o->narrate &&
	       a->timeline == o->timeline && for_worker(s, o);
}

/* Keeps s and o in k; false (k emptied) when a string does not fit. */
static bool
keep_run(struct kept_run *k, const struct fl_scenario *s, const struct fli_runner_opts *o)
{
	memset(k, 0, sizeof(*k));
	if ((o->sweep_point != NULL && strlen(o->sweep_point) >= sizeof(k->sweep_point)) ||
	    (o->ns_prefix != NULL && strlen(o->ns_prefix) >= sizeof(k->prefix)))
		return false;
	k->o = *o;
	k->o.replay = NULL;
	k->o.sanitizer_report = NULL;
	k->o.san_dir = NULL;
	if (o->sweep_point != NULL)
		k->o.sweep_point = strcpy(k->sweep_point, o->sweep_point);
	if (o->ns_prefix != NULL)
		k->o.ns_prefix = strcpy(k->prefix, o->ns_prefix);
	k->s = s;
	return true;
}

/* The run sent ahead is not the one asked for: killed with the worker,
 * and whatever it made removed.  A worker that died before it began that
 * run died between runs: noted, it fails the run made last
 * (fli_runner_worker_drop). */
static void
ahead_drop(void)
{
	if (ahead.run.s == NULL)
		return;
	fli_runner_worker_drop(ahead.ticket, stop_requested);
	fli_run_dir_remove(ahead.ns);
	if (ahead.san_dir[0] != '\0') {
		char detail[512];

		/* Not reported: whatever it wrote goes with its directory. */
		(void)fli_san_collect(ahead.san_dir, NULL, detail, sizeof(detail));
		ahead.san_dir[0] = '\0';
	}
	ahead.run.s = NULL;
}

void
fli_runner_next(const struct fl_scenario *s, const struct fli_runner_opts *o)
{
	if (s == NULL || o == NULL || !keep_run(&next_run, s, o))
		next_run.s = NULL;
	if (s == NULL)
		ahead_drop();
}

/* Sends the run fli_runner_next named to the worker after the coming
 * one (of s, just sent): the same scenario only (another would need
 * another worker); under a sanitizer with a report directory of its
 * own. */
static void
send_ahead(const struct fl_scenario *s, const struct kept_run *k)
{
	char detail[512];

	if (k->s != s || !for_worker(k->s, &k->o))
		return;
	if (fli_run_dir_pick(k->o.ns_prefix, ahead.ns, sizeof(ahead.ns)) != 0)
		return;
	ahead.san_dir[0] = '\0';
	if (fli_san_enabled() && fli_san_dir_make(ahead.san_dir, sizeof(ahead.san_dir)) != 0) {
		ahead.san_dir[0] = '\0';
		return; /* made in its turn, or said why then */
	}
	if (fli_runner_worker_send(k->s, &k->o, ahead.ns,
	                           ahead.san_dir[0] != '\0' ? ahead.san_dir : NULL,
	                           &ahead.ticket) != 0) {
		if (ahead.san_dir[0] != '\0')
			(void)fli_san_collect(ahead.san_dir, NULL, detail, sizeof(detail));
		ahead.san_dir[0] = '\0';
		return;
	}
	ahead.run = *k;
	/* Its strings point into the copy now. */
	if (k->o.sweep_point != NULL)
		ahead.run.o.sweep_point = ahead.run.sweep_point;
	if (k->o.ns_prefix != NULL)
		ahead.run.o.ns_prefix = ahead.run.prefix;
}

static void *
no_op(void *arg)
{
	return arg;
}

/* glibc loads the unwinder (libgcc_s) the first time a thread exits or a
 * backtrace is taken: in a run's child, or each of its process actors,
 * that was an open, a read and a dozen mappings a run.  Loaded here once,
 * before any fork, every child has it.  And one thread started and
 * joined: libc binds its own calls to the allocator (this program's)
 * lazily, at a process's first thread, and each process actor bound them
 * again, symbol lookups that faulted in about 10 pages a proc run. */
static void
unwinder_preload(void)
{
	static bool done;
	pthread_t t;

	if (!done) {
		done = true;
		(void)dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE);
		for (int i = 0; i < 2; i++) /* a new stack, then a cached one */
			if (pthread_create(&t, NULL, no_op, NULL) == 0)
				(void)pthread_join(t, NULL);
	}
}

/* The child (or a target in it) may have written anything there: every
 * string of the timeline's records ends in its field. */
static void
timeline_terminate(void *buf, size_t len)
{
	struct fli_tl *tl = buf;
	size_t n;

	if (len < sizeof(*tl))
		return;
	n = (len - sizeof(*tl)) / sizeof(tl->ev[0]);
	for (size_t i = 0; i < n; i++) {
		struct fli_tl_event *e = &tl->ev[i];

		if (e->kind == FLI_TL_OP)
			e->u.op.what[sizeof(e->u.op.what) - 1] = '\0';
		else if (e->kind == FLI_TL_FAULT)
			e->u.fault.name[sizeof(e->u.fault.name) - 1] = '\0';
		else
			e->u.name[sizeof(e->u.name) - 1] = '\0';
	}
}

/* The verdict frame runner_child.c writes (verdict, property and detail,
 * a line each): *v, property and detail (either may be NULL) set; false
 * when the frame is malformed. */
static bool
verdict_frame(const uint8_t *data, uint32_t len, int *v, char *property, size_t psize, char *detail,
              size_t dsize)
{
	char text[700];
	char *nl1, *nl2;

	snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)data);
	nl1 = strchr(text, '\n');
	nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
	if (nl1 == NULL || nl2 == NULL)
		return false;
	*nl1 = *nl2 = '\0';
	*v = atoi(text);
	if (property != NULL)
		snprintf(property, psize, "%s", nl1 + 1);
	if (detail != NULL)
		snprintf(detail, dsize, "%s", nl2 + 1);
	return true;
}

/* A run that crashed in the worker, after the worker's earlier runs
 * passed, is run once more alone, in a fresh child under a directory
 * name of its own: what one run leaves in the worker's process (a heap
 * damaged by a write to freed memory, which malloc finds only later) can
 * kill the run after it, and the seed named must be one that replays the
 * crash.  The worker's crash stays the verdict either way: it happened.
 * 1: the run crashed alone too; 0: it ran to its end alone, passing or
 * failing a property of its own, without a crash; -1: anything else (not
 * run, stopped, hung, or a failure of the harness's): nothing is said. */
static int
crash_alone(const struct fl_sandbox_opts *so, const struct child_arg *ca)
{
	struct fl_sandbox_result sr;
	struct child_arg alone = *ca;
	char ns[64];
	size_t pos = 0;
	uint32_t tag, len;
	const uint8_t *data;
	int said = 0;
	bool seen = false;

	if (fli_run_dir_pick(ca->o->ns_prefix, ns, sizeof(ns)) != 0)
		return -1;
	alone.ns = ns;
	fflush(NULL);
	if (fl_sandbox_run(so, fli_runner_child_run, &alone, &sr) != 0) {
		fli_run_dir_remove(ns);
		return -1;
	}
	fli_run_dir_remove(ns);
	if (sr.stopped || stop_requested())
		said = -1;
	else if (sr.verdict == FL_VERDICT_CRASH)
		said = 1;
	else if (sr.verdict != FL_VERDICT_PASS && sr.verdict != FL_VERDICT_FAIL)
		said = -1;
	/* Its own verdict (runner_child.c's frame: verdict, property,
	 * detail, a line each): no hang, no harness failure. */
	while (said == 0 &&
	       fl_sandbox_frame_next(sr.payload, sr.payload_len, &pos, &tag, &data, &len) == 0)
		if (tag == TAG_VERDICT) {
			char property[64];
			int v;

			seen = true;
			if (!verdict_frame(data, len, &v, property, sizeof(property), NULL, 0))
				said = -1;
			else if (v == FL_VERDICT_CRASH)
				said = 1;
			else if ((v != FL_VERDICT_PASS && v != FL_VERDICT_FAIL) ||
			         strcmp(property, "harness") == 0)
				said = -1;
		}
	/* Its verdict unseen (a child that failed before it wrote one, or
	 * cut short): nothing is known of how it ended. */
	if (said == 0 && (!seen || sr.truncated))
		said = -1;
	fl_sandbox_result_fini(&sr);
	return said;
}

/* What a crash that did not come again alone says of the worker's
 * earlier runs, and how to run them again before it when they were the
 * plain runs of the seeds just before its own (a sweep's runs share one
 * seed, --jobs and --shard stride them, a PCT run's change points come
 * from the batch's first seed: no hint then). */
static void
crash_alone_say(char *buf, size_t size, const struct fl_scenario *s,
                const struct fli_runner_opts *o, const struct fli_worker_before *b)
{
	char runs[160], hint[128] = "";

	fli_worker_before_say(runs, sizeof(runs), b, "its worker ran before it");
	if (b->consecutive && !b->sweep && o->sweep_point == NULL && !o->count_hits &&
	    o->pct_steps == 0 && o->seed == b->last_seed + 1)
		snprintf(hint, sizeof(hint),
		         "; `--jobs 1 --seed %llu --runs %llu` runs %s before it again",
		         (unsigned long long)b->first_seed, (unsigned long long)(b->runs + 1),
		         b->runs == 1 ? "that one" : "them");
	snprintf(buf, size,
	         FLI_ALONE_SAID "the same run did not crash: %s%s left that process damaged (a "
	                        "heap written after a free, say)%s",
	         s->mode == FL_SCN_MODE_SIM ? "" : "a race, or ", runs, hint);
}

uint64_t
fli_runner_actors_span_ms(const struct fl_scenario *s, uint64_t timeout_ms)
{
	uint64_t span = 4 * (uint64_t)s->driver.driver_timeout_ms + s->driver.client_liveness_ms;

	if (timeout_ms > FLI_RUN_DEFAULT_TIMEOUT_MS)
		span = span * timeout_ms / FLI_RUN_DEFAULT_TIMEOUT_MS;
	return span;
}

/* The run's wall deadline: --timeout as given; at its default (60 s),
 * in proc and stress modes, whose actors wait in real time, never before
 * their own deadline (fli_runner_actors_span_ms) and
 * FLI_RUN_AFTER_ACTORS_MS for the drain and the audits after it: a
 * scenario whose driver reclaims a dead client after a minute
 * (client_liveness_ms) is no hang at 60 s. */
#define FLI_RUN_AFTER_ACTORS_MS 30000u
static uint64_t
wall_ms(const struct fl_scenario *s, const struct fli_runner_opts *o)
{
	uint64_t ms = o->timeout_ms ? o->timeout_ms : FLI_RUN_DEFAULT_TIMEOUT_MS, need;

	if (s->mode == FL_SCN_MODE_SIM || ms != FLI_RUN_DEFAULT_TIMEOUT_MS)
		return ms;
	need = fli_runner_actors_span_ms(s, ms) + FLI_RUN_AFTER_ACTORS_MS;
	return need > ms ? need : ms;
}

int
fli_runner_run(const struct fl_scenario *s, const struct fli_runner_opts *o,
               struct fli_runner_outcome *out)
{
	struct fl_sandbox_opts so = { .timeout_ms = wall_ms(s, o), .max_payload = 256u << 20 };
	struct fl_sandbox_result sr;
	char ns[64], san_dir[256] = "", san_detail[512];
	struct child_arg ca = { .s = s, .o = o, .ns = ns };
	size_t pos = 0;
	uint32_t tag, len;
	const uint8_t *data;
	char crash_where[900] = "";
	bool verdict_seen = false; /* the run said its verdict (TAG_VERDICT) */
	int rv, san;

	uint64_t ticket = 0;
	bool sent = false;
	/* A crash in a worker that ran other runs before: that run again
	 * alone, in a fresh process (1: it crashed again; 0: not; -1: not
	 * tried). */
	struct fli_worker_before before = { 0 };
	int alone = -1;
	/* Named for this call only, whatever its end. */
	struct kept_run next = next_run;

	next_run.s = NULL;
	if (next.o.sweep_point != NULL)
		next.o.sweep_point = next.sweep_point; /* the copy's strings */
	if (next.o.ns_prefix != NULL)
		next.o.ns_prefix = next.prefix;
	memset(out, 0, sizeof(*out));
	unwinder_preload();
	if (stop_requested()) {
		out->stopped = true; /* no new run once stopped */
		ahead_drop();
		return 0;
	}
	so.stop = runner_stop;
	if (ahead.run.s != NULL && same_run(&ahead.run, s, o)) {
		/* Sent ahead: its directory's name is the one it was sent
		 * with; lost with a worker that died since, it is sent again
		 * (before anything else is). */
		snprintf(ns, sizeof(ns), "%s", ahead.ns);
		snprintf(san_dir, sizeof(san_dir), "%s", ahead.san_dir);
		ticket = ahead.ticket;
		sent = fli_runner_worker_holds(ticket);
		ahead.run.s = NULL;
		ahead.san_dir[0] = '\0';
		if (!sent) {
			/* Lost: begun or not, what it made goes (its reports
			 * too), and it runs again under names of its own. */
			fli_run_dir_remove(ns);
			if (san_dir[0] != '\0')
				(void)fli_san_collect(san_dir, NULL, san_detail,
				                      sizeof(san_detail));
			san_dir[0] = '\0';
			if (fli_run_dir_pick(o->ns_prefix, ns, sizeof(ns)) != 0)
				return FL_EEXIST;
		}
	} else {
		ahead_drop();
		if (fli_run_dir_pick(o->ns_prefix, ns, sizeof(ns)) != 0)
			return FL_EEXIST;
	}
	/* A sanitizer build: the run's reports go to a directory of its own,
	 * read once it is over.  Without one, a report could not fail the
	 * run: the harness cannot run it. */
	if (fli_san_enabled()) {
		if (san_dir[0] == '\0' && fli_san_dir_make(san_dir, sizeof(san_dir)) != 0) {
			fprintf(stderr,
			        "faultline: cannot make a directory for the run's sanitizer "
			        "reports: %s\n",
			        strerror(errno));
			return FL_EIO;
		}
		ca.san_dir = san_dir;
	}
	fflush(NULL);
	/* Seeded sim runs, a sweep's among them, and plain proc runs go to
	 * the persistent worker (for_worker); the others fork a child each. */
	rv = FL_EIO;
	if (for_worker(s, o)) {
		rv = sent ? 0 : fli_runner_worker_send(s, o, ns, ca.san_dir, &ticket);
		if (rv == 0) {
			/* A test's: the worker given time to end the run (die
			 * in it) before the next is sent. */
			static int pause_ms = -1;

			if (pause_ms < 0) {
				const char *e = getenv("FLI_TEST_AHEAD_PAUSE_MS");

				pause_ms = e != NULL ? atoi(e) : 0;
			}
			if (pause_ms > 0) {
				struct timespec ts = { .tv_sec = pause_ms / 1000,
					               .tv_nsec =
					                       (long)(pause_ms % 1000) * 1000000L };

				nanosleep(&ts, NULL);
			}
			send_ahead(s, &next);
			rv = fli_runner_worker_wait(ticket, so.timeout_ms, stop_requested, &sr);
			if (rv == 0 && sr.verdict == FL_VERDICT_CRASH && !sr.stopped &&
			    fli_runner_worker_before.runs > 0 && ca.san_dir == NULL) {
				before = fli_runner_worker_before;
				alone = crash_alone(&so, &ca);
			}
		}
	}
	if (rv != 0)
		rv = fl_sandbox_run(&so,
		                    o->valgrind != NULL || fl_scenario_libc_faults(s)
		                            ? exec_child
		                            : fli_runner_child_run,
		                    &ca, &sr);
	if (rv != 0) {
		if (ca.san_dir != NULL)
			(void)fli_san_collect(san_dir, NULL, san_detail, sizeof(san_detail));
		return rv;
	}
	/* A crashed or killed child could not clean up: the harness does. */
	fli_run_dir_remove(ns);

	out->verdict = sr.verdict;
	out->signal = sr.signal;
	out->seconds = sr.seconds;
	out->stopped = sr.stopped;
	while (fl_sandbox_frame_next(sr.payload, sr.payload_len, &pos, &tag, &data, &len) == 0) {
		switch (tag) {
		case TAG_CHOICES: frame_u64s(&out->choices, &out->nchoices, data, len); break;
		case TAG_HASH: frame_u64(&out->trace_hash, data, len); break;
		case TAG_STEPS: frame_u64(&out->steps, data, len); break;
		case TAG_FIRED: frame_u64s(&out->fired, &out->nfired, data, len); break;
		case TAG_STORY: frame_text(&out->story, data, len); break;
		case TAG_TIMELINE:
			free(out->timeline);
			out->timeline = malloc(len > 0 ? len : 1);
			out->timeline_len = out->timeline != NULL ? len : 0;
			if (out->timeline != NULL) {
				memcpy(out->timeline, data, len);
				timeline_terminate(out->timeline, len);
			}
			break;
		case TAG_HISTORY: frame_text(&out->history, data, len); break;
		case TAG_CRASH:
			snprintf(crash_where, sizeof(crash_where), "%.*s", (int)len,
			         (const char *)data);
			break;
		case TAG_RULES: frame_u64(&out->rules_fired, data, len); break;
		case TAG_VIOLATIONS: frame_u64(&out->violations, data, len); break;
		case TAG_MORE:
			if (out->nmore < FL_REPORT_MORE) {
				char text[sizeof(out->more[0].property) +
				          sizeof(out->more[0].detail) + 2];
				char *nl;

				snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)data);
				if ((nl = strchr(text, '\n')) != NULL) {
					*nl = '\0';
					snprintf(out->more[out->nmore].property,
					         sizeof(out->more[0].property), "%.63s", text);
					snprintf(out->more[out->nmore].detail,
					         sizeof(out->more[0].detail), "%s", nl + 1);
					out->nmore++;
				}
			}
			break;
		case TAG_OPERR:
			if (len == 2 * sizeof(uint64_t)) {
				memcpy(&out->op_errors_tolerated, data, sizeof(uint64_t));
				memcpy(&out->op_errors_fatal,
				       (const uint8_t *)data + sizeof(uint64_t), sizeof(uint64_t));
			}
			break;
		case TAG_HITS: frame_u64s(&out->hits, &out->nhits, data, len); break;
		case TAG_VERDICT: {
			int v;

			if (!verdict_frame(data, len, &v, out->property, sizeof(out->property),
			                   out->detail, sizeof(out->detail)))
				break;
			verdict_seen = true;
			if (sr.verdict == FL_VERDICT_PASS || sr.verdict == FL_VERDICT_FAIL)
				out->verdict = (enum fl_verdict)v;
			break;
		}
		}
	}
	if (o->valgrind != NULL && out->verdict == FL_VERDICT_FAIL && out->property[0] == '\0') {
		snprintf(out->property, sizeof(out->property), "harness");
		snprintf(out->detail, sizeof(out->detail),
		         "the run exec'd under %s reported nothing (exit status %d)", o->valgrind,
		         sr.exit_status);
	}
	/* Every run that reaches its end says its verdict: a process that
	 * exited without one (exit() in the code under test; a worker's, or
	 * a fresh child's status 0) was not judged, and is no pass.  (In a
	 * sanitizer build a status other than 0 is left as it was: the
	 * runtime's, its report the verdict.) */
	if (!verdict_seen && !out->stopped &&
	    (out->verdict == FL_VERDICT_PASS ||
	     (out->verdict == FL_VERDICT_FAIL && out->property[0] == '\0' &&
	      (sr.exit_status == 0 || !fli_san_enabled())))) {
		out->verdict = FL_VERDICT_FAIL;
		snprintf(out->property, sizeof(out->property), "harness");
		snprintf(out->detail, sizeof(out->detail),
		         "the run's process exited (status %d) before the run ended, with no "
		         "verdict (exit() inside an op?): the run was not judged",
		         sr.exit_status);
	}
	if (o->valgrind != NULL && sr.exit_status == FL_RUNNER_MEMCHECK_EXIT &&
	    out->verdict == FL_VERDICT_PASS) {
		out->verdict = FL_VERDICT_FAIL;
		snprintf(out->property, sizeof(out->property), "memcheck");
		snprintf(out->detail, sizeof(out->detail),
		         "the run's own process%s: memcheck found errors or definite "
		         "leaks; see %s/memcheck-%s-<pid>.log",
		         ca.s->mode == FL_SCN_MODE_PROC ? " (its driver thread)"
		                                        : " (every actor's)",
		         o->valgrind_log_dir ? o->valgrind_log_dir : ".", ns);
	}
	/* A sanitizer's report is the verdict, whatever the run's own checks
	 * said: the code did something undefined, or leaked, or raced, and
	 * what followed (a pass, a crash, a hang) is not to be trusted.
	 * Reports that cannot be read leave the run unjudged ("harness":
	 * not run), never a pass. */
	san = ca.san_dir != NULL ? fli_san_collect(san_dir, o->sanitizer_report, san_detail,
	                                           sizeof(san_detail))
	                         : 0;
	if (san > 0 && !out->stopped && out->verdict != FL_VERDICT_PASS) {
		/* The run's own failure stays one of its violations, after the
		 * sanitizer's: a known sanitizer report (--baseline) never
		 * covers what the run's own checks found. */
		char prop[64], det[400];

		if (sr.verdict == FL_VERDICT_CRASH)
			snprintf(prop, sizeof(prop), "no_unexpected_signal");
		else if (out->property[0] == '\0')
			snprintf(prop, sizeof(prop), "%s", fl_verdict_name(out->verdict));
		else
			snprintf(prop, sizeof(prop), "%s", out->property);
		if (sr.verdict == FL_VERDICT_CRASH)
			snprintf(det, sizeof(det), "the run died of %s%s%.300s",
			         fl_signal_name(sr.signal), crash_where[0] ? " " : "", crash_where);
		else
			snprintf(det, sizeof(det), "%.399s", out->detail);
		memmove(&out->more[1], &out->more[0], (FL_REPORT_MORE - 1) * sizeof(out->more[0]));
		snprintf(out->more[0].property, sizeof(out->more[0].property), "%s", prop);
		snprintf(out->more[0].detail, sizeof(out->more[0].detail), "%s", det);
		out->nmore = out->nmore + 1 < FL_REPORT_MORE ? out->nmore + 1 : FL_REPORT_MORE;
		out->violations = (out->violations > 0 ? out->violations : 1) + 1;
	}
	if (san != 0 && !out->stopped) {
		out->verdict = FL_VERDICT_FAIL;
		out->signal = 0;
		snprintf(out->property, sizeof(out->property), san > 0 ? "sanitizer" : "harness");
		snprintf(out->detail, sizeof(out->detail), "%s", san_detail);
	}
	/* The run's own process died (a process actor's death came in its
	 * verdict, with its detail). */
	if (out->verdict == FL_VERDICT_CRASH && sr.verdict == FL_VERDICT_CRASH) {
		snprintf(out->property, sizeof(out->property), "no_unexpected_signal");
		/* The alone run's note, if any, before the actors' part, which a
		 * report's 400 bytes may cut (a baseline's signature leaves the
		 * note out). */
		const char *actors = strstr(crash_where, "; actors:");
		int at = actors != NULL ? (int)(actors - crash_where) : (int)strlen(crash_where);
		char note[400] = "";

		if (alone == 0)
			crash_alone_say(note, sizeof(note), s, o, &before);
		snprintf(out->detail, sizeof(out->detail), "the run died of %s%s%.*s%s%s",
		         fl_signal_name(sr.signal), crash_where[0] ? " " : "", at, crash_where,
		         note, crash_where + at);
	} else if (out->verdict == FL_VERDICT_HANG && out->property[0] == '\0') {
		snprintf(out->property, sizeof(out->property), "hang");
		snprintf(out->detail, sizeof(out->detail), "no verdict within %llu ms of wall time",
		         (unsigned long long)so.timeout_ms);
	}
	fl_sandbox_result_fini(&sr);
	return 0;
}

void
fli_runner_outcome_fini(struct fli_runner_outcome *out)
{
	free(out->choices);
	free(out->hits);
	free(out->fired);
	free(out->story);
	free(out->timeline);
	free(out->history);
	out->choices = NULL;
	out->hits = NULL;
	out->fired = NULL;
	out->nfired = 0;
	out->story = NULL;
	out->timeline = NULL;
	out->timeline_len = 0;
	out->history = NULL;
}

const char *
fli_runner_unsupported(const struct fl_scenario *s)
{
	/* What the mode cannot do: the loader refuses a file whose own mode
	 * it is, and --mode can still ask. */
	const char *why = fl_scenario_mode_unsupported(s);

	if (why != NULL)
		return why;
	if (fl_scenario_libc_faults(s) && posix_preload() == NULL)
		return "faults on libc calls need libfiu's POSIX preload (fiu_posix_preload.so, "
		       "Debian "
		       "package fiu-utils; or set FL_FIU_POSIX_PRELOAD)";
	if (fl_scenario_libc_faults(s) && runner_self[0] == '\0')
		return "faults on libc calls need the faultline program (the run is re-executed)";
	return NULL;
}
