/*
 * One run of one scenario, in a forked child (fl_sandbox_run) with a
 * wall-clock deadline.  The child builds the run directory, the choice
 * stream, the fault engine and the sim, runs every actor, audits, cleans up
 * and sends back frames: the verdict, the recorded choices, the trace hash
 * and the fault-point hit counts.  A SIGSEGV or abort in the code under
 * test still sends the choices (from the signal handler) so a crash can be
 * replayed and shrunk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "run/sanitizer.h"

#define FL_STR_(x) #x
#define FL_STR(x) FL_STR_(x)

enum {
	TAG_VERDICT = 'V',
	TAG_CHOICES = 'C',
	TAG_HASH = 'H',
	TAG_HITS = 'P',
	TAG_STEPS = 'S',
	TAG_FIRED = 'F',   /* u64 per fault point: faults fired */
	TAG_OPERR = 'O',   /* [u64 tolerated][u64 fatal] op errors */
	TAG_RULES = 'R',
	TAG_STORY = 'T',   /* the run's story (opts.narrate) */   /* u64: bit i set when the scenario's fault rule i fired */
	TAG_BEGIN = 'B',   /* worker: the run has started */
	TAG_END = 'E',     /* worker: the run is over; [i32 rv][u32 clean] */
	TAG_CRASH = 'X',   /* the crash handler: where the run died (text) */
};

struct child_arg {
	const struct fl_scenario *s;
	const struct fl_runner_opts *o;
	const char *ns;
	const char *san_dir;      /* the run's sanitizer report directory, or NULL */
};

/* For the crash handler: what to send when the code under test dies. */
static struct fl_choice *crash_choices;
static int crash_fd = -1;
static struct run *the_run;

static size_t
crash_text_add(char *buf, size_t len, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void list_actor_ops(const struct run *r, char *buf, size_t len);

static size_t
crash_text_add(char *buf, size_t len, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (at >= len)
		return at;
	va_start(ap, fmt);
	n = vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
	return n < 0 ? at : at + (size_t)n;
}

/* Where the run died, for its crash verdict: the sim actor that was
 * running and its last scheduling point, the freed object a stale pointer
 * reached (the guarded heap, fl_obj_guard), and the op each scenario actor
 * was in.  A handler on a dying process: it formats into a stack buffer. */
static void
crash_handler(int sig, siginfo_t *si, void *uctx)
{
	char text[600], who[160];
	const char *what;
	uint64_t by;
	size_t n = 0;

	(void)uctx;
	if (crash_choices != NULL && crash_fd >= 0)
		fl_sandbox_frame_write(crash_fd, TAG_CHOICES, fl_choice_values(crash_choices),
		                       (uint32_t)(fl_choice_count(crash_choices) * sizeof(uint64_t)));
	if (crash_fd >= 0) {
		if (fl_sim_describe_current(who, sizeof(who)))
			n = crash_text_add(text, sizeof(text), n, "in %s", who);
		if ((sig == SIGSEGV || sig == SIGBUS) && si != NULL &&
		    fl_obj_guard_freed(si->si_addr, &what, &by)) {
			const char *name = fl_sim_actor_name(by);
			n = crash_text_add(text, sizeof(text), n,
			                   "%sa use after free: it touched an %s that %s%s freed",
			                   n ? ": " : "", what, name ? "actor " : "",
			                   name ? name : "another thread");
		}
		if (the_run != NULL) {
			n = crash_text_add(text, sizeof(text), n, "%sactors:", n > 0 ? "; " : "");
			if (n < sizeof(text)) {
				list_actor_ops(the_run, text + n, sizeof(text) - n);
				n = strlen(text);
			}
		}
		if (n > 0)
			fl_sandbox_frame_write(crash_fd, TAG_CRASH, text,
			                       (uint32_t)(n < sizeof(text) ? n : sizeof(text) - 1));
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_crash_handlers(struct fl_choice *c, int fd)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	crash_choices = c;
	crash_fd = fd;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* proc mode: the actor this process is (NULL in the run's own process). */
static struct actor_run *proc_actor;

static bool
hook_in_process_actor(void *arg)
{
	(void)arg;
	return proc_actor != NULL;
}

static const char *
hook_actor_name(void *arg)
{
	(void)arg;
	if (proc_actor != NULL)
		return proc_actor->a->name;
	return fl_sim_current_name();
}

/* The actor running on this OS thread in stress mode (real threads); sim
 * actors share one thread and are found by the scheduler's name. */
static __thread struct actor_run *thread_actor;

void
runner_set_thread_actor(struct actor_run *ar)
{
	thread_actor = ar;
}

static struct actor_run *
current_actor(struct run *r)
{
	const char *name;

	if (proc_actor != NULL)
		return proc_actor;
	if (thread_actor != NULL)
		return thread_actor;
	name = fl_sim_current_name();
	for (size_t i = 0; name != NULL && i < r->s->actor_count; i++)
		if (strcmp(r->actors[i].a->name, name) == 0)
			return &r->actors[i];
	return NULL;
}

/* Appends " a in request (line 12), b finished, ..." for every actor of
 * r to buf: what a sanitizer report or a crash says of the actors.  Only
 * reads the shared run, from a dying process: not instrumented for
 * ThreadSanitizer, because the actors may still be writing their ops. */
static void __attribute__((no_sanitize("thread")))
list_actor_ops(const struct run *r, char *buf, size_t len)
{
	size_t off;
	int n = 0;

	for (size_t i = 0; n >= 0 && (off = (size_t)n) < len && i < r->s->actor_count; i++) {
		const struct actor_run *ar = &r->actors[i];
		int op = ar->op;

		if (ar->crashed)
			n = snprintf(buf + off, len - off, "%s %s crashed", i ? "," : "", ar->a->name);
		else if (ar->finished)
			n = snprintf(buf + off, len - off, "%s %s finished", i ? "," : "", ar->a->name);
		else if (op >= 0 && (size_t)op < ar->a->op_count)
			n = snprintf(buf + off, len - off, "%s %s in %s (line %d)", i ? "," : "",
			             ar->a->name, fl_scenario_op_name(ar->a->ops[op].kind),
			             ar->a->ops[op].line);
		else
			n = snprintf(buf + off, len - off, "%s %s not started", i ? "," : "", ar->a->name);
		if (n >= 0)
			n += (int)off;
	}
}

/*
 * What a sanitizer report leaves beside itself (sanitizer.c): where it was
 * made and the op each actor was in.  Called in the process that reported,
 * as it dies inside the runtime (or after a leak check), so it only reads
 * the shared run: not instrumented for ThreadSanitizer, because the actors
 * are still writing their ops.
 */
static void __attribute__((no_sanitize("thread")))
describe_ops(char *buf, size_t len, bool leak_check)
{
	struct run *r = the_run;
	struct actor_run *me;
	int n;

	if (r == NULL) {
		/* The run's process checks for leaks once the run is gone. */
		snprintf(buf, len, leak_check ? "leak check at the end of the run; every actor done"
		                              : "outside any run");
		return;
	}
	me = current_actor(r);
	if (leak_check)
		n = snprintf(buf, len, "leak check at the end of %s%s%s; actors:",
		             proc_actor != NULL ? "actor " : "the run",
		             proc_actor != NULL ? proc_actor->a->name : "",
		             proc_actor != NULL ? "'s process" : "");
	else
		n = snprintf(buf, len, "reported in %s%s; actors:", me != NULL ? "actor " : "the driver",
		             me != NULL ? me->a->name : "");
	if (n >= 0 && (size_t)n < len)
		list_actor_ops(r, buf + n, len - (size_t)n);
}

/* A fault fired: counted for the point, and for the actor whose operation
 * it fired in, or for the driver (outside any actor).  The counters live
 * in the run, shared with process actors. */
static void
hook_fired(void *arg, const char *point, size_t rule)
{
	struct run *r = arg;
	struct actor_run *ar = current_actor(r);
	int idx = fl_fault_point_index(point);

	if (rule < 64)
		__atomic_fetch_or(&r->rules_fired, 1ull << rule, __ATOMIC_RELAXED);
	if (idx >= 0 && idx < FL_RUN_MAX_POINTS)
		__atomic_fetch_add(&r->point_fired[idx], 1, __ATOMIC_RELAXED);
	if (ar != NULL)
		__atomic_fetch_add(&ar->faults_fired, 1, __ATOMIC_RELEASE);
	else
		__atomic_fetch_add(&r->driver_faults_fired, 1, __ATOMIC_RELEASE);
	if (r->narrate) {
		static const char *const actions[] = { "error", "delay", "drop", "crash" };
		const char *act = rule < r->s->fault_count ? actions[r->s->faults[rule].action & 3]
		                                           : "error (sweep)";
		run_story(r, "fault %s fired at hit %llu (%s) in %s%s", point,
		          (unsigned long long)fl_faults_hits(r->faults, point), act,
		          ar != NULL ? "actor " : "", ar != NULL ? ar->a->name : "the driver");
	}
}

static void
hook_crash(void *arg, const char *point)
{
	struct run *r = arg;
	const char *name = fl_sim_current_name();

	run_story(r, "%s crashes at %s", proc_actor != NULL ? proc_actor->a->name
	                                 : name != NULL ? name : "?", point);
	if (proc_actor != NULL) {
		/* A real crash: the process dies here, holding what it holds. */
		proc_actor->crashed_at_ns = fl_clock_now_ns();
		__atomic_store_n(&proc_actor->crashed, true, __ATOMIC_SEQ_CST);
		kill(getpid(), SIGKILL);
	}

	for (size_t i = 0; name != NULL && i < r->s->actor_count; i++) {
		if (strcmp(r->actors[i].a->name, name) == 0) {
			r->actors[i].crashed = true;
			r->actors[i].crashed_at_ns = fl_clock_now_ns();
		}
	}
	fl_sim_crash_current();
}

static enum fl_fault_action
map_action(enum fl_scn_fault_action a)
{
	switch (a) {
	case FL_SCN_FAULT_DELAY: return FL_FAULT_DELAY;
	case FL_SCN_FAULT_DROP: return FL_FAULT_DROP;
	case FL_SCN_FAULT_CRASH: return FL_FAULT_CRASH;
	default: return FL_FAULT_ERROR;
	}
}

static enum fl_fault_when
map_when(enum fl_scn_fault_when w)
{
	switch (w) {
	case FL_SCN_WHEN_NTH: return FL_WHEN_NTH;
	case FL_SCN_WHEN_AFTER: return FL_WHEN_AFTER;
	case FL_SCN_WHEN_PROBABILITY: return FL_WHEN_PROB;
	default: return FL_WHEN_ALWAYS;
	}
}

static int
setup_faults(struct run *r, const struct fl_runner_opts *o)
{
	struct fl_fault_hooks hooks = { .arg = r, .actor_name = hook_actor_name, .crash = hook_crash,
	                                .in_process_actor = hook_in_process_actor,
	                                .fired = hook_fired };
	int rv = fl_faults_new(r->choices, &hooks, &r->faults);

	for (size_t i = 0; rv == 0 && i < r->s->fault_count; i++) {
		const struct fl_scenario_fault *f = &r->s->faults[i];
		struct fl_fault_rule rule = {
			.point = f->point,
			.action = map_action(f->action),
			.when = map_when(f->when),
			.n = f->n,
			.p = f->probability,
			.delay_ns = (uint64_t)f->delay_ms * FL_NS_PER_MS,
			.actor = f->actor,
			.err = f->error > 0 ? f->error : 0,
		};
		rv = fl_faults_add(r->faults, &rule);
		r->faults_configured = true;
	}
	if (rv == 0 && o->sweep_point != NULL) {
		struct fl_fault_rule rule = {
			.point = o->sweep_point,
			.action = FL_FAULT_ERROR,
			.when = o->sweep_persistent ? FL_WHEN_AFTER : FL_WHEN_NTH,
			.n = o->sweep_k,
		};
		rv = fl_faults_add(r->faults, &rule);
		r->faults_configured = true;
		r->sweep = true;
	}
	/* No rule and no counting: the points stay disarmed (one branch a
	 * hit), which changes no decision: only rules draw choices. */
	if (rv == 0 && (r->faults_configured || o->count_hits))
		rv = fl_faults_arm(r->faults);
	return rv;
}

static void
describe_actors(struct run *r, const struct fl_sim_result *res)
{
	size_t off = strlen(r->detail);

	for (size_t i = 0; i < res->nactors && off < sizeof(r->detail); i++) {
		char where[64] = "";
		int n;

		/* Scenario actors also say which operation they were in. */
		for (size_t k = 0; k < r->s->actor_count; k++) {
			const struct actor_run *ar = &r->actors[k];
			if (strcmp(ar->a->name, res->actors[i].name) == 0 && ar->a->op_count > 0 &&
			    !ar->finished)
				snprintf(where, sizeof(where), " in %s (line %d)",
				         fl_scenario_op_name(ar->a->ops[ar->op].kind), ar->a->ops[ar->op].line);
		}
		n = snprintf(r->detail + off, sizeof(r->detail) - off, "%s%s %s at %s%s",
		             i ? "; " : ": ", res->actors[i].name,
		             fl_sim_state_name(res->actors[i].state), res->actors[i].last_point, where);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int
send_outcome(int fd, struct run *r, enum fl_verdict v, uint64_t hash, uint64_t steps)
{
	char text[700];
	size_t np = fl_fault_point_count();
	uint64_t hits[256];

	fl_sandbox_frame_write(fd, TAG_CHOICES, fl_choice_values(r->choices),
	                       (uint32_t)(fl_choice_count(r->choices) * sizeof(uint64_t)));
	fl_sandbox_frame_write(fd, TAG_HASH, &hash, sizeof(hash));
	fl_sandbox_frame_write(fd, TAG_STEPS, &steps, sizeof(steps));
	if (r->faults != NULL && np <= 256) {
		for (size_t i = 0; i < np; i++)
			hits[i] = fl_faults_hits(r->faults, fl_fault_point_names[i]);
		fl_sandbox_frame_write(fd, TAG_HITS, hits, (uint32_t)(np * sizeof(uint64_t)));
	}
	if (r->faults_configured && np <= FL_RUN_MAX_POINTS) {
		for (size_t i = 0; i < np; i++)
			hits[i] = __atomic_load_n(&r->point_fired[i], __ATOMIC_RELAXED);
		fl_sandbox_frame_write(fd, TAG_FIRED, hits, (uint32_t)(np * sizeof(uint64_t)));
	}
	{
		uint64_t oe[2] = { 0, 0 };

		for (size_t i = 0; i < r->s->actor_count; i++) {
			oe[0] += r->actors[i].op_errors_tolerated;
			oe[1] += r->actors[i].op_errors - r->actors[i].op_errors_tolerated;
		}
		fl_sandbox_frame_write(fd, TAG_OPERR, oe, sizeof(oe));
		oe[0] = __atomic_load_n(&r->rules_fired, __ATOMIC_RELAXED);
		fl_sandbox_frame_write(fd, TAG_RULES, oe, sizeof(uint64_t));
	}
	if (r->narrate) {
		uint32_t len = __atomic_load_n(&r->story_len, __ATOMIC_RELAXED);
		fl_sandbox_frame_write(fd, TAG_STORY, r->story,
		                       len < sizeof(r->story) ? len : (uint32_t)sizeof(r->story));
	}
	snprintf(text, sizeof(text), "%d\n%s\n%s", (int)v, r->property, r->detail);
	fl_sandbox_frame_write(fd, TAG_VERDICT, text, (uint32_t)strlen(text));
	return v == FL_VERDICT_PASS ? 0 : 1;
}

/* Request/response operations or properties: the run needs a domain. */
static bool
uses_reqrep(const struct fl_scenario *s)
{
	if (s->properties & (FL_SCN_PROP_CHUNKS_BALANCED | FL_SCN_PROP_PORTS_ZERO))
		return true;
	return fl_scenario_uses_domain(s, FL_SCN_DOMAIN_REQREP);
}

/*
 * stress: the driver and every actor are real threads with the default
 * platform (real clock, backoff idling, pthread locks), the baseline the
 * controlled modes are measured against.  Each actor draws from its own
 * stream seeded from the run's, so what is generated reproduces; the
 * interleaving does not.
 */
static int
run_threads(struct run *r)
{
	fl_thread *driver, *actors[RUN_MAX_ACTORS];
	size_t n = r->s->actor_count, started = 0;
	int rv;

	r->threaded = true;
	for (size_t i = 0; i < n; i++)
		if (fl_choice_new_seeded(fl_choice_draw(r->choices, 0), &r->actors[i].choices) != 0)
			return FL_ENOMEM;
	rv = fl_thread_start(&driver, "driver", interp_driver_main, r);
	if (rv != 0)
		return rv;
	for (; started < n; started++) {
		rv = fl_thread_start(&actors[started], r->actors[started].a->name, interp_actor_main,
		                     &r->actors[started]);
		if (rv != 0) {
			/* The driver waits for every actor: mark the rest done. */
			for (size_t j = started; j < n; j++)
				__atomic_store_n(&r->actors[j].finished, true, __ATOMIC_RELEASE);
			break;
		}
	}
	for (size_t i = 0; i < started; i++)
		fl_thread_join(actors[i]);
	fl_thread_join(driver);
	for (size_t i = 0; i < n; i++) {
		fl_choice_free(r->actors[i].choices);
		r->actors[i].choices = NULL;
	}
	return rv;
}

/*
 * proc: every actor is a forked process with real time; the driver is a
 * thread of this process, started after the forks so no child inherits a
 * lock held mid-fork.  A planned crash (crash_self, a crash fault) is a
 * SIGKILL the actor sends itself after marking itself crashed in the
 * shared run; any other death by signal is an unexpected signal.  The
 * driver reclaims a dead actor once client_liveness_ms has passed.
 */
static void
proc_actor_main(struct actor_run *ar)
{
	proc_actor = ar;
	interp_actor_main(ar);
	fflush(NULL);
	/* _exit skips LeakSanitizer's check at exit: this process's own. */
	san_leak_check();
	_exit(0);
}

static int
run_processes(struct run *r)
{
	pid_t pids[RUN_MAX_ACTORS];
	size_t n = r->s->actor_count, alive = 0;
	fl_thread *driver;
	uint64_t deadline;
	struct fl_idle st = { 0 };
	pid_t self = getpid();
	int rv;

	fflush(NULL);
	for (size_t i = 0; i < n; i++) {
		r->actors[i].choices = r->choices; /* each process has its own copy */
		pids[i] = fork();
		if (pids[i] < 0) {
			/* The harness's failure, not the code's: the run is not
			 * judged on the actors that did start (they would wait at
			 * barriers for the missing ones, a deadlock verdict). */
			run_fail(r, "harness", "could not fork process actor '%s': %s",
			         r->s->actors[i].name, strerror(errno));
			for (size_t j = 0; j < i; j++)
				kill(pids[j], SIGKILL);
			for (size_t j = i; j < n; j++)
				__atomic_store_n(&r->actors[j].finished, true, __ATOMIC_RELEASE);
			break;
		}
		if (pids[i] == 0) {
			/* The run's process is killed with its group on a hang or an
			 * interrupt; killed alone (its parent SIGKILLed: it dies by
			 * PR_SET_PDEATHSIG) it must not leave actors running. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(1);
			proc_actor_main(&r->actors[i]);
		}
		alive++;
	}
	rv = fl_thread_start(&driver, "driver", interp_driver_main, r);
	if (rv != 0) {
		__atomic_store_n(&r->driver_state, RUN_DRIVER_FAILED, __ATOMIC_RELEASE);
		for (size_t i = 0; i < alive; i++)
			kill(pids[i], SIGKILL);
	}
	/* Every wait has a deadline: the scenario's timeouts bound a run. */
	deadline = fl_clock_now_ns() + 4 * r->timeout_ns + r->liveness_ns;
	while (alive > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0) {
			if (fl_clock_now_ns() >= deadline) {
				for (size_t i = 0; i < n; i++)
					if (!__atomic_load_n(&r->actors[i].finished, __ATOMIC_ACQUIRE))
						kill(pids[i], SIGKILL);
				run_fail(r, "hang", "process actors still running after %llu ms",
				         (unsigned long long)((4 * r->timeout_ns + r->liveness_ns) / FL_NS_PER_MS));
			}
			fl_idle(&st, 0, fl_clock_now_ns() + FL_NS_PER_MS);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			struct actor_run *ar = &r->actors[i];
			if (pids[i] != pid)
				continue;
			alive--;
			if (WIFSIGNALED(status) && !__atomic_load_n(&ar->crashed, __ATOMIC_ACQUIRE)) {
				if (!(WTERMSIG(status) == SIGKILL && r->failed))
					run_fail(r, "no_unexpected_signal", "actor %s died of %s", ar->a->name,
					         fl_signal_name(WTERMSIG(status)));
				ar->crashed_at_ns = fl_clock_now_ns();
				__atomic_store_n(&ar->crashed, true, __ATOMIC_RELEASE);
			} else if (!WIFSIGNALED(status)) {
				if (WEXITSTATUS(status) == FL_RUNNER_MEMCHECK_EXIT)
					run_fail(r, "memcheck",
					         "actor %s (pid %d): memcheck found errors or definite leaks; see memcheck-%s-%d.log",
					         ar->a->name, (int)pid, r->ns, (int)pid);
				__atomic_store_n(&ar->finished, true, __ATOMIC_RELEASE);
			}
		}
	}
	if (rv == 0)
		fl_thread_join(driver);
	return rv;
}

/* A sim actor crashed in the run (its coroutine abandoned mid-op). */
static bool
sim_crashed(const struct run *r)
{
	if (r->s->mode != FL_SCN_MODE_SIM)
		return false;
	for (size_t i = 0; i < r->s->actor_count; i++)
		if (r->actors[i].crashed)
			return true;
	return false;
}

static int
child_main(void *arg, int out_fd)
{
	struct child_arg *ca = arg;
	const struct fl_scenario *s = ca->s;
	/* Shared, so that process actors (proc mode) report their barrier
	 * arrivals, crashes and violations to this process. */
	struct run *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                     -1, 0);
	struct fl_sim *sim = NULL;
	struct fl_sim_config cfg = { 0 };
	struct fl_sim_result res = { 0 };
	enum fl_verdict v = FL_VERDICT_PASS;
	bool leaked;
	int rv;

	if (r == MAP_FAILED)
		return 1;
	memset(r, 0, sizeof(*r));
	r->s = s;
	the_run = r;
	/* The run's heap is reachable from here (LeakSanitizer does not scan
	 * mappings it was not told of); reports go to the run's directory. */
	san_root_region(r, sizeof(*r), true);
	san_run_begin(ca->san_dir, describe_ops);
	snprintf(r->ns, sizeof(r->ns), "%s", ca->ns);
	(void)fl_run_dir_path(r->ns, r->dir, sizeof(r->dir));
	r->liveness_ns = (uint64_t)s->driver.client_liveness_ms * FL_NS_PER_MS;
	r->timeout_ns = (uint64_t)s->driver.driver_timeout_ms * FL_NS_PER_MS;
	rv = ca->o->replaying ? fl_choice_new_replay(ca->o->replay, ca->o->nreplay, &r->choices)
	                      : fl_choice_new_seeded(ca->o->seed, &r->choices);
	if (rv != 0)
		return 1;
	install_crash_handlers(r->choices, out_fd);
	rv = setup_faults(r, ca->o);
	if (rv != 0) {
		run_fail(r, "harness", "fault rules: %s", fl_errname(rv));
		goto done;
	}
	r->pubsub = scenario_uses_pubsub(s);
	r->reqrep = uses_reqrep(s);
	r->check_each_step = ca->o->check_each_step;
	r->narrate = ca->o->narrate;
	r->linger_ns = (uint64_t)s->driver.linger_ms * FL_NS_PER_MS;
	r->fds_at_start = audit_count_fds();
	if (interp_setup(r) != 0) {
		run_fail(r, "harness", "out of memory");
		goto done;
	}

	if (s->mode == FL_SCN_MODE_PROC) {
		if (run_processes(r) != 0)
			run_fail(r, "harness", "could not start the driver thread");
		else if (r->driver_state != RUN_DRIVER_FAILED)
			audit_end_of_run(r);
		else
			goto audit_files_only;
	} else if (s->mode == FL_SCN_MODE_STRESS) {
		if (run_threads(r) != 0)
			run_fail(r, "harness", "could not start the actor threads");
		else if (r->driver_state != RUN_DRIVER_FAILED)
			audit_end_of_run(r);
		else
			goto audit_files_only;
	} else {
		/* The driver is an actor too: it starts inside the sim so that
		 * its clock is the virtual one. */
		for (size_t i = 0; i < s->actor_count; i++)
			r->actors[i].choices = r->choices;
		cfg.choices = r->choices;
		cfg.kind = s->scheduler == FL_SCN_SCHED_PCT ? FL_SCHED_PCT : FL_SCHED_RANDOM;
		cfg.pct_depth = s->sched_depth;
		cfg.pct_steps = ca->o->pct_steps;
		rv = fl_sim_new(&cfg, &sim);
		if (rv == 0)
			rv = fl_sim_spawn(sim, "driver", interp_driver_main, r, NULL);
		for (size_t i = 0; rv == 0 && i < s->actor_count; i++)
			rv = fl_sim_spawn(sim, s->actors[i].name, interp_actor_main, &r->actors[i], NULL);
		if (rv == 0)
			rv = fl_sim_run(sim, &res);
		if (rv != 0) {
			run_fail(r, "harness", "sim: %s", fl_errname(rv));
		} else if (res.verdict == FL_SIM_DEADLOCK) {
			run_fail(r, "deadlock", "no actor can run and no deadline is ahead");
			describe_actors(r, &res);
			v = FL_VERDICT_DEADLOCK;
		} else if (res.verdict == FL_SIM_STEP_LIMIT) {
			run_fail(r, "step_limit", "%llu scheduling steps without finishing",
			         (unsigned long long)res.steps);
			describe_actors(r, &res);
			v = FL_VERDICT_HANG;
		} else if (r->driver_state != RUN_DRIVER_FAILED) {
			audit_end_of_run(r);
		} else {
			goto audit_files_only;
		}
	}
	interp_teardown(r);
	if (r->driver_dom != NULL) {
		fl_rr_domain_close(r->driver_dom);
		fl_rr_domain_unlink(r->dir);
	}
	if (r->driver != NULL) {
		fl_driver_close(r->driver);
		/* Files the driver could not unlink while running must be gone
		 * with its run directory now. */
		if (s->properties & FL_SCN_PROP_NO_LEAKED_FILES)
			run_dir_check_gone(r);
	}
	fl_sim_free(sim);
	sim = NULL;
	goto done;

audit_files_only:
	if ((s->properties & FL_SCN_PROP_NO_LEAKED_FILES) && !r->dir_taken)
		run_dir_check_empty(r);
done:
	/* A driver that failed to start skips the teardown: what it would
	 * have freed is freed here (the runs of a sweep of driver faults
	 * under --valgrind leaked it: property memcheck). */
	fl_sim_free(sim);
	/* LeakSanitizer: the run is over and torn down, so a heap block that
	 * nothing reaches now, not even the run's own tables (a root region),
	 * is a leak.  (The check at exit never runs: the run's process
	 * _exits, or is the worker.)  The parent reads the report; a worker
	 * retires rather than report the same blocks again.  Not after a
	 * crash under sim: what the crashed actor held only on its stack
	 * (mapped by the sim, which LeakSanitizer does not scan) is what a
	 * dead process loses with its memory, not a leak, and cannot be told
	 * from one. */
	leaked = !sim_crashed(r) && san_leak_check();
	free(r->objs);
	free(r->socks);
	free(r->sent);
	if (r->faults != NULL)
		fl_faults_disarm(r->faults);
	if (!r->dir_taken)
		run_dir_remove(r->ns);
	/* The verdict is that of the first violation recorded. */
	if (r->deadlocked && v == FL_VERDICT_PASS && strcmp(r->property, "deadlock") == 0)
		v = FL_VERDICT_DEADLOCK;
	if (r->failed && v == FL_VERDICT_PASS)
		v = FL_VERDICT_FAIL;
	rv = send_outcome(out_fd, r, v, res.trace_hash, res.steps);
	crash_choices = NULL;
	fl_faults_free(r->faults);
	fl_choice_free(r->choices);
	san_root_region(r, sizeof(*r), false);
	the_run = NULL;
	munmap(r, sizeof(*r));
	return leaked ? 1 : rv;
}

/*
 * The persistent sim worker.  Forking a child per run costs about 0.3 ms,
 * a fifth of a short sim run, so plain seeded sim runs go to one forked
 * worker that runs them in sequence, each exactly as the per-run child
 * would (child_main).  Isolation stays what the per-run child gives where
 * it matters: a run that crashes kills the worker (its signal is the
 * verdict, as before), a run past its deadline gets the worker's process
 * group SIGKILLed (hang), and the worker retires after any run that did
 * not pass or left a file descriptor open, so every failure is found by a
 * worker whose earlier runs all passed clean, and replay and shrink (which
 * always fork per run) reproduce it.  A worker serves one scenario, as it
 * was (mode, scheduler) when the worker forked.
 */
struct worker_req {
	uint64_t seed;
	uint64_t timeout_ms;
	uint64_t pct_steps;
	uint8_t check_each_step;
	uint8_t count_hits;
	char ns[64];
	char san_dir[256];        /* the run's sanitizer report directory, or "" */
};

/* fl_runner_set_stop: when it reads non-zero, runs are cut short. */
static const volatile sig_atomic_t *runner_stop;

static bool
stop_requested(void)
{
	return runner_stop != NULL && *runner_stop != 0;
}

void
fl_runner_set_stop(const volatile sig_atomic_t *flag)
{
	runner_stop = flag;
}

static struct {
	pid_t pid;                    /* 0: none */
	pid_t owner;                  /* the process that forked it */
	int fd;                       /* socket to the worker */
	const struct fl_scenario *s;
	enum fl_scn_mode mode;
	enum fl_scn_sched_kind sched;
	uint32_t properties;
} worker;

int
fl_runner_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void __attribute__((noreturn))
worker_main(const struct fl_scenario *s, int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL,  SIGFPE, SIGABRT,
	                             SIGTRAP, SIGSYS, SIGTERM, SIGINT, SIGALRM };
	int fds_at_start;

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	fds_at_start = audit_count_fds();
	for (;;) {
		struct worker_req q;
		struct fl_runner_opts o = { 0 };
		struct child_arg ca = { .s = s, .o = &o, .ns = q.ns };
		int32_t end[2];

		if (fl_runner_read_full(fd, &q, sizeof(q)) != 0)
			_exit(0);
		q.ns[sizeof(q.ns) - 1] = '\0';
		q.san_dir[sizeof(q.san_dir) - 1] = '\0';
		ca.san_dir = q.san_dir[0] != '\0' ? q.san_dir : NULL;
		fl_sandbox_frame_write(fd, TAG_BEGIN, NULL, 0);
		o.seed = q.seed;
		o.timeout_ms = q.timeout_ms;
		o.pct_steps = q.pct_steps;
		o.check_each_step = q.check_each_step;
		o.count_hits = q.count_hits;
		end[0] = child_main(&ca, fd);
		end[1] = end[0] == 0 && audit_count_fds() == fds_at_start;
		fflush(NULL);
		fl_sandbox_frame_write(fd, TAG_END, end, sizeof(end));
		if (!end[1])
			_exit(0);
	}
}

static void
worker_stop(bool kill_it)
{
	int status;

	if (worker.pid <= 0 || worker.owner != getpid())
		return;
	if (kill_it)
		kill(-worker.pid, SIGKILL);
	close(worker.fd); /* a live worker reads EOF and exits */
	while (waitpid(worker.pid, &status, 0) < 0 && errno == EINTR)
		;
	worker.pid = 0;
}

void
fl_runner_shutdown(void)
{
	worker_stop(false);
}

static int
worker_start(const struct fl_scenario *s)
{
	int sv[2];
	pid_t parent = getpid(), pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return FL_EIO;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return FL_EIO;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(sv[0]);
		worker_main(s, sv[1]);
	}
	setpgid(pid, pid);
	close(sv[1]);
	worker.pid = pid;
	worker.owner = parent;
	worker.fd = sv[0];
	worker.s = s;
	worker.mode = s->mode;
	worker.sched = s->scheduler;
	worker.properties = s->properties;
	return 0;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Scan buf for a complete TAG_END frame. */
static bool
has_end(const uint8_t *buf, size_t len, int32_t end[2])
{
	size_t pos = 0;
	uint32_t tag, dlen;
	const uint8_t *data;

	while (fl_sandbox_frame_next(buf, len, &pos, &tag, &data, &dlen) == 0)
		if (tag == TAG_END && dlen == 2 * sizeof(int32_t)) {
			memcpy(end, data, 2 * sizeof(int32_t));
			return true;
		}
	return false;
}

/* One run on the worker; fills *sr as fl_sandbox_run would.  Returns 0, or
 * FL_EIO when no worker could be started or reached (the caller forks). */
static int
worker_run(const struct fl_scenario *s, const struct fl_runner_opts *o, const char *ns,
           const char *san_dir, uint64_t timeout_ms, struct fl_sandbox_result *sr)
{
	struct worker_req q = { .seed = o->seed, .timeout_ms = o->timeout_ms,
	                        .pct_steps = o->pct_steps, .check_each_step = o->check_each_step,
	                        .count_hits = o->count_hits };
	uint64_t t0 = mono_ms(), deadline = t0 + timeout_ms;
	size_t len = 0, cap = 1 << 16;
	uint8_t *buf;
	int32_t end[2];
	int status;

	if (worker.pid > 0 && worker.owner != getpid()) {
		/* Forked (--jobs): the worker is the parent's, not ours. */
		close(worker.fd);
		worker.pid = 0;
	}
	if (worker.pid > 0 && (worker.s != s || worker.mode != s->mode ||
	                       worker.sched != s->scheduler || worker.properties != s->properties))
		worker_stop(true);
	if (worker.pid <= 0 && worker_start(s) != 0)
		return FL_EIO;
	snprintf(q.ns, sizeof(q.ns), "%s", ns);
	snprintf(q.san_dir, sizeof(q.san_dir), "%s", san_dir != NULL ? san_dir : "");
	if (send(worker.fd, &q, sizeof(q), MSG_NOSIGNAL) != (ssize_t)sizeof(q)) {
		worker_stop(true);
		return FL_EIO;
	}
	buf = malloc(cap);
	if (buf == NULL)
		return FL_ENOMEM;
	memset(sr, 0, sizeof(*sr));
	for (;;) {
		struct pollfd pf = { .fd = worker.fd, .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t n;

		if (stop_requested()) {
			worker_stop(true);
			sr->verdict = FL_VERDICT_CRASH;
			sr->signal = SIGKILL;
			sr->stopped = true;
			break;
		}
		if (now >= deadline) {
			worker_stop(true);
			sr->verdict = FL_VERDICT_HANG;
			sr->signal = SIGKILL;
			break;
		}
		/* A stop interrupts poll (EINTR); one that lands just before it
		 * is seen within the 100 ms slice. */
		if (poll(&pf, 1, (int)(deadline - now > 100 ? 100 : deadline - now)) <= 0)
			continue;
		if (len == cap) {
			uint8_t *nb = cap >= (256u << 20) ? NULL : realloc(buf, cap * 2);
			if (nb == NULL) { /* more than a run may send: a broken run */
				worker_stop(true);
				sr->verdict = FL_VERDICT_FAIL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(worker.fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(worker.fd);
			while (waitpid(worker.pid, &status, 0) < 0 && errno == EINTR)
				;
			worker.pid = 0;
			uint32_t first = 0;
			if (len >= sizeof(first))
				memcpy(&first, buf, sizeof(first));
			if (first != TAG_BEGIN) {
				/* It died before the run began (killed while idle):
				 * not this run's doing; the caller forks it. */
				free(buf);
				return FL_EIO;
			}
			/* The worker died in the run: what the per-run child's
			 * death would have been. */
			if (WIFSIGNALED(status)) {
				sr->verdict = FL_VERDICT_CRASH;
				sr->signal = WTERMSIG(status);
			} else {
				sr->verdict = FL_VERDICT_FAIL;
				sr->exit_status = WEXITSTATUS(status);
			}
			break;
		}
		len += (size_t)n;
		if (has_end(buf, len, end)) {
			sr->verdict = end[0] == 0 ? FL_VERDICT_PASS : FL_VERDICT_FAIL;
			if (!end[1])
				worker_stop(false); /* it retires after a failed or unclean run */
			break;
		}
	}
	if (stop_requested())
		sr->stopped = true; /* whatever it ended with, a stop was pending */
	sr->payload = buf;
	sr->payload_len = len;
	sr->seconds = (mono_ms() - t0) / 1000.0;
	return 0;
}

int
fl_runner_child_main(const struct fl_scenario *s, const struct fl_runner_opts *o, const char *ns,
                     int fd)
{
	struct child_arg ca = { .s = s, .o = o, .ns = ns, .san_dir = o->san_dir };

	return child_main(&ca, fd);
}

static char runner_self[512];

void
fl_runner_set_self(const char *exe)
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

/* Does the scenario fault libc calls (posix/..., libc/... points)? */
static bool
needs_preload(const struct fl_scenario *s)
{
	for (size_t i = 0; i < s->fault_count; i++)
		if (fl_fault_point_external(s->faults[i].point))
			return true;
	return false;
}

/*
 * A run that cannot be a plain fork: the forked child execs
 * `[valgrind ...] faultline __run ...`, which re-reads the scenario and
 * runs child_main.  --valgrind: under memcheck; the process actors it forks
 * stay under memcheck (valgrind follows fork) and each process's leak
 * check runs when it exits.  posix/ faults: with libfiu's POSIX preload in
 * LD_PRELOAD, so its wrapped libc calls consult the run's fault engine.
 */
static int
exec_child(void *arg, int out_fd)
{
	struct child_arg *ca = arg;
	const struct fl_runner_opts *o = ca->o;
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
		if (mfd < 0 || write(mfd, o->replay, len) != (ssize_t)len || lseek(mfd, 0, SEEK_SET) != 0)
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
	if (needs_preload(ca->s) && (pre = posix_preload()) != NULL)
		setenv("LD_PRELOAD", pre, 1);
	execv(argv[0], (char *const *)argv);
	return 1;
}

int
fl_runner_run(const struct fl_scenario *s, const struct fl_runner_opts *o,
              struct fl_runner_outcome *out)
{
	struct fl_sandbox_opts so = { .timeout_ms = o->timeout_ms ? o->timeout_ms : 60000,
	                             .max_payload = 256u << 20 };
	struct fl_sandbox_result sr;
	char ns[64], san_dir[256] = "", san_detail[512];
	struct child_arg ca = { .s = s, .o = o, .ns = ns };
	size_t pos = 0;
	uint32_t tag, len;
	const uint8_t *data;
	char crash_where[600] = "";
	int rv, san;

	memset(out, 0, sizeof(*out));
	if (stop_requested()) {
		out->stopped = true; /* no new run once stopped */
		return 0;
	}
	so.stop = runner_stop;
	if (run_dir_pick(o->ns_prefix, ns, sizeof(ns)) != 0)
		return FL_EEXIST;
	/* A sanitizer build: the run's reports go to a directory of its own,
	 * read once it is over.  Without one, a report could not fail the
	 * run: the harness cannot run it. */
	if (san_enabled()) {
		if (san_dir_make(san_dir, sizeof(san_dir)) != 0) {
			fprintf(stderr, "faultline: cannot make a directory for the run's sanitizer "
			                "reports: %s\n", strerror(errno));
			return FL_EIO;
		}
		ca.san_dir = san_dir;
	}
	fflush(NULL);
	/* Plain seeded sim runs go to the persistent worker; replays, sweep
	 * runs and the other modes fork a child each. */
	rv = FL_EIO;
	if (s->mode == FL_SCN_MODE_SIM && !o->replaying && o->sweep_point == NULL && !o->fork_each &&
	    o->valgrind == NULL)
		rv = worker_run(s, o, ns, ca.san_dir, so.timeout_ms, &sr);
	if (rv != 0)
		rv = fl_sandbox_run(&so, o->valgrind != NULL || needs_preload(s) ? exec_child : child_main,
		                    &ca, &sr);
	if (rv != 0) {
		if (ca.san_dir != NULL)
			(void)san_collect(san_dir, NULL, san_detail, sizeof(san_detail));
		return rv;
	}
	/* A crashed or killed child could not clean up: the harness does. */
	run_dir_remove(ns);

	out->verdict = sr.verdict;
	out->signal = sr.signal;
	out->seconds = sr.seconds;
	out->stopped = sr.stopped;
	while (fl_sandbox_frame_next(sr.payload, sr.payload_len, &pos, &tag, &data, &len) == 0) {
		switch (tag) {
		case TAG_CHOICES:
			free(out->choices);
			out->choices = malloc(len ? len : 1);
			if (out->choices != NULL) {
				memcpy(out->choices, data, len);
				out->nchoices = len / sizeof(uint64_t);
			}
			break;
		case TAG_HASH:
			if (len == sizeof(uint64_t))
				memcpy(&out->trace_hash, data, sizeof(uint64_t));
			break;
		case TAG_STEPS:
			if (len == sizeof(uint64_t))
				memcpy(&out->steps, data, sizeof(uint64_t));
			break;
		case TAG_FIRED:
			free(out->fired);
			out->fired = malloc(len ? len : 1);
			if (out->fired != NULL) {
				memcpy(out->fired, data, len);
				out->nfired = len / sizeof(uint64_t);
			}
			break;
		case TAG_STORY:
			free(out->story);
			out->story = malloc(len + 1);
			if (out->story != NULL) {
				memcpy(out->story, data, len);
				out->story[len] = '\0';
			}
			break;
		case TAG_CRASH:
			snprintf(crash_where, sizeof(crash_where), "%.*s", (int)len, (const char *)data);
			break;
		case TAG_RULES:
			if (len == sizeof(uint64_t))
				memcpy(&out->rules_fired, data, sizeof(uint64_t));
			break;
		case TAG_OPERR:
			if (len == 2 * sizeof(uint64_t)) {
				memcpy(&out->op_errors_tolerated, data, sizeof(uint64_t));
				memcpy(&out->op_errors_fatal, (const uint8_t *)data + sizeof(uint64_t),
				       sizeof(uint64_t));
			}
			break;
		case TAG_HITS:
			free(out->hits);
			out->hits = malloc(len ? len : 1);
			if (out->hits != NULL) {
				memcpy(out->hits, data, len);
				out->nhits = len / sizeof(uint64_t);
			}
			break;
		case TAG_VERDICT: {
			char text[700];
			char *nl1, *nl2;
			int v;

			snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)data);
			nl1 = strchr(text, '\n');
			nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
			if (nl1 == NULL || nl2 == NULL)
				break;
			*nl1 = *nl2 = '\0';
			v = atoi(text);
			if (sr.verdict == FL_VERDICT_PASS || sr.verdict == FL_VERDICT_FAIL)
				out->verdict = (enum fl_verdict)v;
			snprintf(out->property, sizeof(out->property), "%s", nl1 + 1);
			snprintf(out->detail, sizeof(out->detail), "%s", nl2 + 1);
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
	if (o->valgrind != NULL && sr.exit_status == FL_RUNNER_MEMCHECK_EXIT &&
	    out->verdict == FL_VERDICT_PASS) {
		out->verdict = FL_VERDICT_FAIL;
		snprintf(out->property, sizeof(out->property), "memcheck");
		snprintf(out->detail, sizeof(out->detail),
		         "the run's own process (driver thread): memcheck found errors or definite leaks; see %s/memcheck-%s-<pid>.log",
		         o->valgrind_log_dir ? o->valgrind_log_dir : ".", ns);
	}
	/* A sanitizer's report is the verdict, whatever the run's own checks
	 * said: the code did something undefined, or leaked, or raced, and
	 * what followed (a pass, a crash, a hang) is not to be trusted.
	 * Reports that cannot be read leave the run unjudged ("harness":
	 * not run), never a pass. */
	san = ca.san_dir != NULL ? san_collect(san_dir, o->sanitizer_report, san_detail,
	                                       sizeof(san_detail))
	                         : 0;
	if (san != 0 && !out->stopped) {
		out->verdict = FL_VERDICT_FAIL;
		out->signal = 0;
		snprintf(out->property, sizeof(out->property), san > 0 ? "sanitizer" : "harness");
		snprintf(out->detail, sizeof(out->detail), "%s", san_detail);
	}
	if (out->verdict == FL_VERDICT_CRASH) {
		snprintf(out->property, sizeof(out->property), "no_unexpected_signal");
		snprintf(out->detail, sizeof(out->detail), "the run died of %s%s%s",
		         fl_signal_name(sr.signal), crash_where[0] ? " " : "", crash_where);
	} else if (out->verdict == FL_VERDICT_HANG && out->property[0] == '\0') {
		snprintf(out->property, sizeof(out->property), "hang");
		snprintf(out->detail, sizeof(out->detail), "no verdict within %llu ms of wall time",
		         (unsigned long long)so.timeout_ms);
	}
	fl_sandbox_result_fini(&sr);
	return 0;
}

void
fl_runner_outcome_fini(struct fl_runner_outcome *out)
{
	free(out->choices);
	free(out->hits);
	free(out->fired);
	free(out->story);
	out->choices = NULL;
	out->hits = NULL;
	out->fired = NULL;
	out->nfired = 0;
	out->story = NULL;
}

const char *
fl_runner_unsupported(const struct fl_scenario *s)
{
	if (s->mode == FL_SCN_MODE_STRESS) {
		for (size_t i = 0; i < s->fault_count; i++)
			if (s->faults[i].action == FL_SCN_FAULT_CRASH)
				return "crash faults need sim or proc mode (a thread cannot die alone)";
		for (size_t i = 0; i < s->actor_count; i++)
			for (size_t j = 0; j < s->actors[i].op_count; j++)
				if (s->actors[i].ops[j].kind == FL_SCN_OP_CRASH_SELF)
					return "crash_self needs sim or proc mode (a thread cannot die alone)";
	}
	/* proc forks every actor: a client (and what it opened) lives in one
	 * process only. */
	if (s->mode == FL_SCN_MODE_PROC)
		for (size_t i = 0; i < s->actor_count; i++)
			for (size_t j = 0; j < i; j++)
				if (strcmp(s->actors[i].client, s->actors[j].client) == 0)
					return "actors sharing a client (client:) need sim or stress mode (in proc mode each actor is a process)";
	if (needs_preload(s) && s->mode != FL_SCN_MODE_PROC)
		return "faults on libc calls (posix/..., libc/...: libfiu's POSIX preload) need proc mode";
	if (needs_preload(s) && posix_preload() == NULL)
		return "faults on libc calls need libfiu's POSIX preload (fiu_posix_preload.so, Debian "
		       "package fiu-utils; or set FL_FIU_POSIX_PRELOAD)";
	if (needs_preload(s) && runner_self[0] == '\0')
		return "faults on libc calls need the faultline program (the run is re-executed)";
	return NULL;
}
