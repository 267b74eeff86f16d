/*
 * The child side of one run (fl_sandbox_run's child, the persistent
 * worker, or `faultline __run` exec'd): builds the run's state, the
 * choice stream and the fault engine, runs every actor in the scenario's
 * mode, audits, cleans up and sends back frames: the verdict, the
 * recorded choices, the trace hash and the fault-point hit counts.  A
 * SIGSEGV or abort in the code under test still sends the choices (from
 * the signal handler) so a crash can be replayed and shrunk.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <malloc.h>
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "faultline/aio.h"
#include "faultline/choice.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "faultline/sandbox.h"
#include "faultline/sim.h"
#include "faultline/target.h"

#include "faultline/faults.h"
#include "core/clock.h"
#include "core/code_where.h"
#include "run/run_internal.h"
#include "run/timeline.h"
#include "run/runner.h"
#include "run/runner_internal.h"
#include "run/sanitizer.h"

/* For the crash handler: what to send when the code under test dies. */
static struct fl_choice *crash_choices;
static int crash_fd = -1;
/* When the run being made began (fli_mono_ms), and its deadline. */
static uint64_t run_began_ms, run_timeout_ms;
static struct run *the_run;

static size_t crash_text_add(char *buf, size_t len, size_t at, const char *fmt, ...)
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

/* pc's name (core/code_where.h) at buf + at. */
static size_t
crash_code_where(char *buf, size_t len, size_t at, uintptr_t pc)
{
	return at < len ? at + fli_code_where(buf + at, len - at, pc) : at;
}

/* The faulting instruction's address, from the signal's context. */
static uintptr_t
crash_pc(void *uctx)
{
	const ucontext_t *uc = uctx;

	if (uc == NULL)
		return 0;
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	return 0;
#endif
}

/* Whether frame f is a sanitizer runtime's (an interceptor of
 * backtrace or abort, a signal wrapper): in its shared library (gcc's
 * libasan.so) or, linked into this program (clang's), by its name. */
static bool
frame_in_runtime(const Dl_info *fi)
{
	static const char *const objs[] = { "libasan", "libtsan", "libubsan", "liblsan",
		                            "libclang_rt" };
	static const char *const syms[] = { "__interceptor_", "__sanitizer", "__asan",
		                            "__tsan",         "__ubsan",     "__lsan" };

	for (size_t k = 0; fi->dli_fname != NULL && k < sizeof(objs) / sizeof(objs[0]); k++)
		if (strstr(fi->dli_fname, objs[k]) != NULL)
			return true;
	for (size_t k = 0; fi->dli_sname != NULL && k < sizeof(syms) / sizeof(syms[0]); k++)
		if (strstr(fi->dli_sname, syms[k]) != NULL)
			return true;
	return false;
}

/* Whether frame f is libc's (the signal trampoline, raise, abort,
 * __assert_fail) or a sanitizer runtime's around them. */
static bool
frame_in_libc(void *f)
{
	Dl_info fi;

	return dladdr(f, &fi) != 0 &&
	       ((fi.dli_fname != NULL && strstr(fi.dli_fname, "libc.so") != NULL) ||
	        frame_in_runtime(&fi));
}

/* "at F <- G <- H": the faulting function and up to three callers (a
 * synchronous signal: the frames after the handler's and the signal
 * trampoline's; abort's frames in libc are skipped to the caller, in
 * whatever object it is: a target's library, or this program, whose
 * transport and harness an assert of would otherwise all be the one
 * libc address, a baseline's signature that knows every abort). */
static size_t
crash_backtrace(char *buf, size_t len, size_t at, int sig, void *uctx)
{
	void *frames[24];
	uintptr_t pc = crash_pc(uctx);
	int n = backtrace(frames, 24), from = -1, shown = 0;
	bool returns = false; /* frames[from] is a return address too */

	for (int i = 0; i < n && from < 0; i++)
		if ((uintptr_t)frames[i] == pc)
			from = i;
	if (from < 0 || sig == SIGABRT) {
		/* The handler's own frames (this object), then libc's. */
		Dl_info self, fi;
		int i = 0;

		from = -1;
		if (dladdr((void *)crash_pc, &self) != 0) {
			while (i < n && dladdr(frames[i], &fi) != 0 &&
			       (fi.dli_fbase == self.dli_fbase || frame_in_runtime(&fi)))
				i++;
			while (i < n && frame_in_libc(frames[i]))
				i++;
			if (i < n)
				from = i;
			returns = true;
		}
	}
	at = crash_text_add(buf, len, at, "at ");
	if (from < 0)
		return pc ? crash_code_where(buf, len, at, pc) : at;
	for (int i = from; i < n && shown < 4; i++, shown++) {
		/* A return address points after its call: -1 names the caller. */
		uintptr_t a = (uintptr_t)frames[i] - (i > from || returns ? 1 : 0);

		if (shown)
			at = crash_text_add(buf, len, at, " <- ");
		at = crash_code_where(buf, len, at, a);
	}
	return at;
}

static struct actor_run *current_actor(struct run *r);
/* proc mode: the actor this process is (NULL in the run's own process). */
static struct actor_run *proc_actor;

/* Where the run died, for its crash verdict: the sim actor that was
 * running and its last scheduling point, the freed object a stale pointer
 * reached (the guarded heap, fl_obj_guard), and the op each scenario actor
 * was in.  A handler on a dying process: it formats into a stack buffer. */
static void
crash_handler(int sig, siginfo_t *si, void *uctx)
{
	char text[900], who[160];
	const char *what;
	uint64_t by;
	size_t n = 0;

	/* A worker's outcome built and not yet sent (its choices among
	 * them): first, as it would have been. */
	if (crash_fd >= 0 && fli_runner_child_outcome.len > 0) {
		const uint8_t *p = fli_runner_child_outcome.buf;
		size_t left = fli_runner_child_outcome.len;

		/* Never the worker's own TAG_END behind it: a run whose
		 * worker died is not a run that ended. */
		if (left > fli_runner_child_outcome_mark)
			left = fli_runner_child_outcome_mark;

		while (left > 0) {
			ssize_t w = write(crash_fd, p, left);

			if (w <= 0)
				break;
			p += w;
			left -= (size_t)w;
		}
	}
	if (crash_choices != NULL && crash_fd >= 0)
		fl_sandbox_frame_write(crash_fd, TAG_CHOICES, fl_choice_values(crash_choices),
		                       (uint32_t)(fl_choice_count(crash_choices) *
		                                  sizeof(uint64_t)));
	if (crash_fd >= 0 && the_run != NULL && the_run->tl != NULL) {
		/* The timeline up to here, the crash on it: the op the
		 * crashing actor was in ends crashed. */
		struct actor_run *me = current_actor(the_run);
		const char *signame = sig == SIGSEGV   ? "SIGSEGV"
		                      : sig == SIGBUS  ? "SIGBUS"
		                      : sig == SIGABRT ? "SIGABRT"
		                      : sig == SIGFPE  ? "SIGFPE"
		                                       : "SIGILL";

		if (me != NULL)
			fli_tl_crashed(me);
		fli_tl_named(the_run, FLI_TL_CRASH, me != NULL ? me->index : -1,
		             me != NULL ? me->a->name : fl_sim_current_name(), signame);
		fl_sandbox_frame_write(crash_fd, TAG_TIMELINE, the_run->tl,
		                       (uint32_t)fli_tl_size(the_run));
	}
	if (crash_fd >= 0) {
		/* dladdr and backtrace are not async-signal-safe: a crash while
		 * another thread holds the loader's lock would wait for ever.
		 * Two seconds, then SIGALRM ends the process (a crash still,
		 * the choices sent above). */
		alarm(2);
		if (sig != SIGABRT || crash_pc(uctx) != 0)
			n = crash_backtrace(text, sizeof(text), n, sig, uctx);
		if (fl_sim_describe_current(who, sizeof(who)))
			n = crash_text_add(text, sizeof(text), n, "%sin %s", n ? "; " : "", who);
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
	if (crash_fd < 0 && proc_actor != NULL) {
		/* A process actor: its site for the run's process, which
		 * reaps it (the verdict, and a baseline's signature, name
		 * where it died, not only the signal). */
		alarm(2);
		n = crash_backtrace(text, sizeof(text), 0, sig, uctx);
		if (n >= sizeof(proc_actor->crash_site))
			n = sizeof(proc_actor->crash_site) - 1;
		memcpy(proc_actor->crash_site, text, n);
		proc_actor->crash_site[n] = '\0';
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* In a process forked off the run (a process actor, a cluster node): its
 * crash is seen by whoever reaps it, and the run's pipe and stream are
 * not its to write (two dying at once would interleave their frames, and
 * their choices are not the run's).  The handler then only dies. */
void
fli_runner_child_forget_crash_pipe(void)
{
	crash_fd = -1;
	crash_choices = NULL;
}

/* The handlers stay from one run of a worker to the next: installed
 * again only after a run whose target library may have put its own. */
static void
install_crash_handlers(struct fl_choice *c, int fd, bool again)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	static bool installed;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	crash_choices = c;
	crash_fd = fd;
	if (installed && !again)
		return;
	installed = true;
	{
		/* backtrace loads its unwinder on first use: not in a handler. */
		void *prime[2];
		(void)backtrace(prime, 2);
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* A node process (proc mode): its id and actor name, or -1. */
static int proc_node = -1;
static const char *proc_node_name;

void
fli_runner_child_node(int id, const char *name)
{
	proc_node = id;
	proc_node_name = name;
	fli_runner_child_forget_crash_pipe();
}

static bool
hook_in_process_actor(void *arg)
{
	(void)arg;
	return proc_actor != NULL || proc_node >= 0;
}

static const char *
hook_actor_name(void *arg)
{
	(void)arg;
	if (proc_actor != NULL)
		return proc_actor->a->name;
	if (proc_node >= 0)
		return proc_node_name;
	/* A stress actor's thread (a rule with actor: never fired in stress
	 * mode when only the sim was asked). */
	if (fli_run_thread_actor() != NULL)
		return fli_run_thread_actor()->a->name;
	return fl_sim_current_name();
}

static struct actor_run *
current_actor(struct run *r)
{
	const char *name;

	if (proc_actor != NULL)
		return proc_actor;
	if (fli_run_thread_actor() != NULL)
		return fli_run_thread_actor();
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

		if (ar->a == NULL)
			continue; /* killed before the actors were set up */
		if (ar->crashed)
			n = snprintf(buf + off, len - off, "%s %s crashed", i ? "," : "",
			             ar->a->name);
		else if (ar->finished)
			n = snprintf(buf + off, len - off, "%s %s finished", i ? "," : "",
			             ar->a->name);
		else if (op >= 0 && (size_t)op < ar->a->op_count)
			n = snprintf(buf + off, len - off, "%s %s in %s (line %d)", i ? "," : "",
			             ar->a->name, fl_scenario_op_label(&ar->a->ops[op]),
			             ar->a->ops[op].line);
		else if (op >= 0 && (size_t)op == ar->a->op_count)
			n = snprintf(buf + off, len - off,
			             "%s %s closing what its ops left open (the harness's close)",
			             i ? "," : "", ar->a->name);
		else
			n = snprintf(buf + off, len - off, "%s %s not started", i ? "," : "",
			             ar->a->name);
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
		snprintf(buf, len,
		         leak_check ? "leak check at the end of the run; every actor done"
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
		n = snprintf(buf, len,
		             "reported in %s%s; actors:", me != NULL ? "actor " : "the driver",
		             me != NULL ? me->a->name : "");
	if (n >= 0 && (size_t)n < len)
		list_actor_ops(r, buf + n, len - (size_t)n);
}

/* Is the code outside any actor that hit `point` a cluster node's: a
 * node process, a sim life the cluster named node<i>, or a node's own
 * point (transport/cluster/, but for the cluster client's, which runs in
 * actors)? */
static bool
in_node(const struct run *r, const char *point)
{
	const char *name = fl_sim_current_name();
	unsigned id;
	char end;

	if (proc_node >= 0)
		return true;
	if (strncmp(point, "transport/cluster/", 18) == 0 &&
	    strncmp(point, "transport/cluster/client/", 25) != 0)
		return true;
	return r->s->cluster.nodes > 0 && name != NULL &&
	       sscanf(name, "node%u%c", &id, &end) == 1 && id < r->s->cluster.nodes;
}

/* A fault fired: counted for the point, and for the actor whose operation
 * it fired in, or as outside any actor (the driver's or a node's).  The
 * counters live in the run, shared with process actors. */
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
	/* Every fault in faults_fired; all but delays in errors_fired too.
	 * Each is read alone (fli_op_fault_explains): a fault that caused an
	 * op's error is seen in both, whatever fires beside it.  Outside any
	 * actor, a cluster node's fault is also counted in the high half of
	 * the same word (run_internal.h, outside_faults). */
	bool error = rule >= r->s->fault_count || r->s->faults[rule].action != FL_SCN_FAULT_DELAY;
	if (ar != NULL) {
		if (error)
			__atomic_fetch_add(&ar->errors_fired, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&ar->faults_fired, 1, __ATOMIC_RELEASE);
	} else {
		/* One add each: the count and its node share together. */
		uint64_t one = 1 | (in_node(r, point) ? 1ull << 32 : 0);

		if (error)
			__atomic_fetch_add(&r->outside_errors, one, __ATOMIC_RELEASE);
		__atomic_fetch_add(&r->outside_faults, one, __ATOMIC_RELEASE);
		__atomic_fetch_add(&r->driver_faults_fired, 1, __ATOMIC_RELEASE);
	}
	if (r->tl != NULL)
		fli_tl_fault(r, ar != NULL ? ar->index : -1, idx, point,
		             fl_faults_hits(r->faults, point),
		             rule < r->s->fault_count ? (int)(r->s->faults[rule].action & 3) : 4);
	if (r->narrate) {
		static const char *const actions[] = { "error", "delay", "drop", "crash" };
		const char *act = rule < r->s->fault_count ? actions[r->s->faults[rule].action & 3]
		                                           : "error (sweep)";
		fli_run_story(r, "fault %s fired at hit %llu (%s) in %s%s", point,
		              (unsigned long long)fl_faults_hits(r->faults, point), act,
		              ar != NULL ? "actor " : "", ar != NULL ? ar->a->name : "the driver");
	}
}

static void
hook_crash(void *arg, const char *point)
{
	struct run *r = arg;
	const char *name = fl_sim_current_name();
	struct actor_run *me = proc_actor != NULL ? proc_actor : current_actor(r);

	if (me != NULL)
		fli_tl_crashed(me);
	fli_tl_named(r, FLI_TL_CRASH,
	             me != NULL       ? me->index
	             : proc_node >= 0 ? proc_node
	                              : -1,
	             me != NULL ? me->a->name : name, point);
	fli_run_story(r, "%s crashes at %s",
	              proc_actor != NULL ? proc_actor->a->name
	              : name != NULL     ? name
	                                 : "?",
	              point);
	if (proc_node >= 0) {
		/* A node's process: a planned death, as a process actor's. */
		__atomic_store_n(&r->cluster_crashed[proc_node], true, __ATOMIC_SEQ_CST);
		kill(getpid(), SIGKILL);
	}
	if (proc_actor != NULL) {
		/* A real crash: the process dies here, holding what it holds. */
		proc_actor->crashed_at_ns = fl_clock_now_ns();
		__atomic_store_n(&proc_actor->crashed, true, __ATOMIC_SEQ_CST);
		kill(getpid(), SIGKILL);
	}

	(void)fli_cluster_node_crash(r, name);
	for (size_t i = 0; name != NULL && i < r->s->actor_count; i++) {
		if (strcmp(r->actors[i].a->name, name) == 0) {
			r->actors[i].crashed = true;
			r->actors[i].crashed_at_ns = fl_clock_now_ns();
		}
	}
	fl_sim_crash_current();
}

/* Shared with process actors and node processes (the run is a shared
 * mapping): the supervisor's heal silences them too. */
static bool
hook_silenced(void *arg)
{
	const struct run *r = arg;

	return __atomic_load_n(&r->faults_silenced, __ATOMIC_ACQUIRE);
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
setup_faults(struct run *r, const struct fli_runner_opts *o)
{
	struct fl_fault_hooks hooks = { .arg = r,
		                        .actor_name = hook_actor_name,
		                        .crash = hook_crash,
		                        .in_process_actor = hook_in_process_actor,
		                        .fired = hook_fired,
		                        .silenced = hook_silenced };
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
			if (strcmp(ar->a->name, res->actors[i].name) != 0 || ar->finished)
				continue;
			if (ar->op >= 0 && (size_t)ar->op < ar->a->op_count)
				snprintf(where, sizeof(where), " in %s (line %d)",
				         fl_scenario_op_label(&ar->a->ops[ar->op]),
				         ar->a->ops[ar->op].line);
			else if (ar->op >= 0 && (size_t)ar->op == ar->a->op_count)
				snprintf(where, sizeof(where), " closing what its ops left open");
		}
		n = snprintf(r->detail + off, sizeof(r->detail) - off, "%s%s %s at %s%s",
		             i ? "; " : ": ", res->actors[i].name,
		             fl_sim_state_name(res->actors[i].state), res->actors[i].last_point,
		             where);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* The verdict is that of the first violation recorded (v: the sim's). */
static enum fl_verdict
final_verdict(const struct run *r, enum fl_verdict v)
{
	if (r->deadlocked && v == FL_VERDICT_PASS && strcmp(r->property, "deadlock") == 0)
		v = FL_VERDICT_DEADLOCK;
	/* A process actor that died of a signal nobody planned: the crash
	 * verdict, as when the run's own process dies. */
	if (r->failed && v == FL_VERDICT_PASS && strcmp(r->property, "no_unexpected_signal") == 0)
		v = FL_VERDICT_CRASH;
	/* Actors still running past their deadline: the hang verdict, as a
	 * run past its wall-clock deadline is. */
	if (r->failed && v == FL_VERDICT_PASS && strcmp(r->property, "hang") == 0)
		v = FL_VERDICT_HANG;
	if (r->failed && v == FL_VERDICT_PASS)
		v = FL_VERDICT_FAIL;
	return v;
}

static int
send_outcome(int fd, struct run *r, enum fl_verdict v, uint64_t hash, uint64_t steps)
{
	char text[700];
	size_t np = fl_fault_point_count();
	uint64_t hits[256];
	struct fl_sandbox_frames *out = &fli_runner_child_outcome;

	fl_sandbox_frames_add(out, TAG_CHOICES, fl_choice_values(r->choices),
	                      (uint32_t)(fl_choice_count(r->choices) * sizeof(uint64_t)));
	fl_sandbox_frames_add(out, TAG_HASH, &hash, sizeof(hash));
	fl_sandbox_frames_add(out, TAG_STEPS, &steps, sizeof(steps));
	if (r->faults != NULL && np <= 256) {
		for (size_t i = 0; i < np; i++) {
			hits[i] = fl_faults_hits(r->faults, fl_fault_points()[i]);
			if (i < FL_RUN_MAX_POINTS &&
			    __atomic_load_n(&r->point_hits_max[i], __ATOMIC_RELAXED) > hits[i])
				hits[i] = __atomic_load_n(&r->point_hits_max[i], __ATOMIC_RELAXED);
		}
		fl_sandbox_frames_add(out, TAG_HITS, hits, (uint32_t)(np * sizeof(uint64_t)));
	}
	if (r->faults_configured && np <= FL_RUN_MAX_POINTS) {
		for (size_t i = 0; i < np; i++)
			hits[i] = __atomic_load_n(&r->point_fired[i], __ATOMIC_RELAXED);
		fl_sandbox_frames_add(out, TAG_FIRED, hits, (uint32_t)(np * sizeof(uint64_t)));
	}
	{
		uint64_t oe[2] = { 0, 0 };

		for (size_t i = 0; i < r->s->actor_count; i++) {
			oe[0] += r->actors[i].op_errors_tolerated;
			oe[1] += r->actors[i].op_errors - r->actors[i].op_errors_tolerated;
		}
		fl_sandbox_frames_add(out, TAG_OPERR, oe, sizeof(oe));
		oe[0] = __atomic_load_n(&r->violations, __ATOMIC_RELAXED);
		fl_sandbox_frames_add(out, TAG_VIOLATIONS, oe, sizeof(uint64_t));
		for (uint64_t i = 0; i + 1 < oe[0] && i < FL_REPORT_MORE; i++) {
			char more[sizeof(r->more[0].property) + sizeof(r->more[0].detail) + 2];
			int n = snprintf(more, sizeof(more), "%s\n%s", r->more[i].property,
			                 r->more[i].detail);

			if (n > 0)
				fl_sandbox_frames_add(out, TAG_MORE, more,
				                      (uint32_t)((size_t)n < sizeof(more)
				                                         ? (size_t)n
				                                         : sizeof(more) - 1));
		}
		oe[0] = __atomic_load_n(&r->rules_fired, __ATOMIC_RELAXED);
		fl_sandbox_frames_add(out, TAG_RULES, oe, sizeof(uint64_t));
	}
	if (v != FL_VERDICT_PASS && r->history_len > 0 && r->history_len <= UINT32_MAX)
		fl_sandbox_frames_add(out, TAG_HISTORY, r->history, (uint32_t)r->history_len);
	if (r->tl != NULL)
		fl_sandbox_frames_add(out, TAG_TIMELINE, r->tl, (uint32_t)fli_tl_size(r));
	if (r->narrate) {
		uint32_t len = __atomic_load_n(&r->story_len, __ATOMIC_RELAXED);
		fl_sandbox_frames_add(out, TAG_STORY, r->story,
		                      len < sizeof(r->story) ? len : (uint32_t)sizeof(r->story));
	}
	snprintf(text, sizeof(text), "%d\n%s\n%s", (int)v, r->property, r->detail);
	if (fl_sandbox_frames_add(out, TAG_VERDICT, text, (uint32_t)strlen(text)) != 0) {
		/* No memory for the batch: the verdict frame alone, so that
		 * the parent knows the run's verdict (it reads the rest as
		 * lost; a worker's TAG_END follows). */
		out->len = 0;
		fl_sandbox_frame_write(fd, TAG_VERDICT, text, (uint32_t)strlen(text));
	}
	/* Held for the worker's one write, unless the run took over half
	 * its deadline: then the parent must see at once that it ended (at
	 * the deadline, frames past TAG_BEGIN extend its wait), while the
	 * teardown goes on before the worker writes. */
	if (!fli_runner_child_hold || fli_runner_child_done_ms - run_began_ms > run_timeout_ms / 2)
		(void)fl_sandbox_frames_flush(fd, out);
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

/* Each actor's own stream, seeded by a draw of the run's: the run's
 * stream records the seeds (a trace replays them), so what an actor
 * generates (sizes, keys) reproduces from the trace, though the
 * interleaving of stress and proc mode does not. */
static int
seed_actor_streams(struct run *r)
{
	for (size_t i = 0; i < r->s->actor_count; i++)
		if (fl_choice_new_seeded(fl_choice_draw(r->choices, 0), &r->actors[i].choices) != 0)
			return FL_ENOMEM; /* the caller frees those made */
	return 0;
}

static void
free_actor_streams(struct run *r)
{
	for (size_t i = 0; i < r->s->actor_count; i++) {
		fl_choice_free(r->actors[i].choices);
		r->actors[i].choices = NULL;
	}
}

/*
 * Stress actors past the run's deadline for its actors (the one process
 * actors get: r->actors_span_ns).  A thread
 * cannot be killed, and the teardown would race the actors still in the
 * transport: the verdict is sent from here and the run's process ends
 * (its parent removes the run's directory, as after a crash).
 */
static void __attribute__((noreturn)) stress_hang(struct run *r, int out_fd)
{
	char ops[400] = "";

	list_actor_ops(r, ops, sizeof(ops));
	fli_run_fail(r, "hang", "stress actors still running after %llu ms:%s",
	             (unsigned long long)(r->actors_span_ns / FL_NS_PER_MS), ops);
	/* No fault rule draws from the run's stream while it is sent (a hung
	 * actor could be inside a decision, growing it). */
	if (r->faults != NULL)
		fl_faults_quiesce(r->faults);
	(void)send_outcome(out_fd, r, final_verdict(r, FL_VERDICT_PASS), 0, 0);
	(void)fl_sandbox_frames_flush(out_fd, &fli_runner_child_outcome); /* held or not */
	/* Never the exit status of a pass, should the verdict's frame be lost. */
	_exit(FL_SANDBOX_EXIT_FAIL);
}

/* Every stress actor finished or crashed, or stress_hang at the deadline. */
static void
wait_threads(struct run *r, size_t started, int out_fd)
{
	uint64_t deadline = fl_clock_now_ns() + r->actors_span_ns;
	struct fl_idle st = { 0 };

	for (;;) {
		size_t running = 0;

		for (size_t i = 0; i < started; i++)
			if (!__atomic_load_n(&r->actors[i].finished, __ATOMIC_ACQUIRE) &&
			    !__atomic_load_n(&r->actors[i].crashed, __ATOMIC_ACQUIRE))
				running++;
		if (running == 0)
			return;
		if (fl_clock_now_ns() >= deadline)
			stress_hang(r, out_fd);
		fl_idle(&st, 0, fl_clock_now_ns() + FL_NS_PER_MS);
	}
}

/*
 * stress: the driver and every actor are real threads with the default
 * platform (real clock, backoff idling, pthread locks), the baseline the
 * controlled modes are measured against.  Each actor draws from its own
 * stream seeded from the run's, so what is generated reproduces; the
 * interleaving does not.
 */
static int
run_threads(struct run *r, int out_fd)
{
	fl_thread *driver, *actors[RUN_MAX_ACTORS];
	size_t n = r->s->actor_count, started = 0;
	int rv;

	r->threaded = true;
	if (seed_actor_streams(r) != 0) {
		free_actor_streams(r);
		return FL_ENOMEM;
	}
	rv = fl_thread_start(&driver, "driver", fli_interp_driver_main, r);
	if (rv != 0) {
		free_actor_streams(r);
		return rv;
	}
	for (; started < n; started++) {
		rv = fl_thread_start(&actors[started], r->actors[started].a->name,
		                     fli_interp_actor_main, &r->actors[started]);
		if (rv != 0) {
			/* The driver waits for every actor: mark the rest done. */
			for (size_t j = started; j < n; j++)
				__atomic_store_n(&r->actors[j].finished, true, __ATOMIC_RELEASE);
			break;
		}
	}
	/* Every wait has a deadline: a join only once the actor is done. */
	wait_threads(r, started, out_fd);
	for (size_t i = 0; i < started; i++)
		fl_thread_join(actors[i]);
	fl_thread_join(driver);
	free_actor_streams(r);
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
	struct run *r = ar->run;

	proc_actor = ar;
	fli_runner_child_forget_crash_pipe();
	/* The fault rules' draws in this process: from a seed the run
	 * recorded, so a replay makes the same ones. */
	fl_choice_detach(r->choices, ar->proc_seed);
	ar->fds_at_start = fli_audit_count_fds();
	/* This process's heap, from a clean record (the fork copied the
	 * run's). */
	if (r->heap_counted)
		fli_heap_counter->begin();
	fli_interp_actor_main(ar);
	if (r->heap_counted) {
		fl_msg_quarantine_flush();
		fli_heap_counter->end(&ar->heap);
	}
	/* This process's hits, for a sweep's counting run. */
	for (size_t i = 0; r->faults != NULL && i < fl_fault_point_count() && i < FL_RUN_MAX_POINTS;
	     i++) {
		uint64_t h = fl_faults_hits(r->faults, fl_fault_points()[i]),
		         cur = __atomic_load_n(&r->point_hits_max[i], __ATOMIC_RELAXED);

		while (h > cur &&
		       !__atomic_compare_exchange_n(&r->point_hits_max[i], &cur, h, false,
		                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
	fflush(NULL);
	/* _exit skips LeakSanitizer's check at exit: this process's own. */
	fli_san_leak_check();
	_exit(0);
}

static int
run_processes(struct run *r)
{
	pid_t pids[RUN_MAX_ACTORS] = { 0 };
	int pidfds[RUN_MAX_ACTORS];
	bool reaped[RUN_MAX_ACTORS] = { false }, hung = false, polled;
	size_t n = r->s->actor_count, alive = 0;
	fl_thread *driver;
	uint64_t deadline;
	struct fl_idle st = { 0 };
	pid_t self = fl_getpid();
	int rv;

	if (seed_actor_streams(r) != 0) {
		free_actor_streams(r);
		return FL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		r->actors[i].proc_seed = fl_choice_draw(r->choices, 0);
	fflush(NULL);
	for (size_t i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			/* The harness's failure, not the code's: the run is not
			 * judged on the actors that did start (they would wait at
			 * barriers for the missing ones, a deadlock verdict). */
			fli_run_fail(r, "harness", "could not fork process actor '%s': %s",
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
	/* A pidfd an actor turns its exit into a poll event: the loop
	 * below sleeps until one exits or the deadline (polling waitpid in
	 * a backoff spun a core of the two the run has).  Opened after the
	 * forks, so no actor holds another's; none (valgrind 3.19 has no
	 * pidfd_open): the backoff. */
	polled = alive > 0;
	for (size_t i = 0; i < n; i++) {
		pidfds[i] = pids[i] > 0 && polled ? (int)syscall(SYS_pidfd_open, pids[i], 0) : -1;
		polled = polled && (pids[i] <= 0 || pidfds[i] >= 0);
	}
	rv = fl_thread_start(&driver, "driver", fli_interp_driver_main, r);
	if (rv != 0) {
		__atomic_store_n(&r->driver_state, RUN_DRIVER_FAILED, __ATOMIC_RELEASE);
		for (size_t i = 0; i < alive; i++)
			kill(pids[i], SIGKILL);
	} else if (fli_cluster_start_proc(r) != 0) {
		fli_run_fail(r, "harness", "could not start the cluster thread");
	}
	/* Every wait has a deadline: the scenario's timeouts bound a run. */
	deadline = fl_clock_now_ns() + r->actors_span_ns;
	while (alive > 0) {
		int status = 0;
		pid_t pid = 0;

		/* The actors' own pids, never -1: a cluster's node processes
		 * are children too, and only the cluster thread reaps them (it
		 * judges how each died). */
		for (size_t i = 0; i < n && pid <= 0; i++)
			if (pids[i] > 0 && !reaped[i])
				pid = waitpid(pids[i], &status, WNOHANG);
		if (pid <= 0) {
			if (fl_clock_now_ns() >= deadline && !hung) {
				/* Once: the kill, then the loop reaps them. */
				for (size_t i = 0; i < n; i++)
					if (!reaped[i] && !__atomic_load_n(&r->actors[i].finished,
					                                   __ATOMIC_ACQUIRE))
						kill(pids[i], SIGKILL);
				fli_run_fail(r, "hang",
				             "process actors still running after %llu ms",
				             (unsigned long long)(r->actors_span_ns /
				                                  FL_NS_PER_MS));
				hung = true;
			}
			if (polled && !hung) {
				struct pollfd pf[RUN_MAX_ACTORS];
				nfds_t np = 0;
				uint64_t now = fl_clock_now_ns();
				uint64_t left =
				        deadline > now ? (deadline - now) / FL_NS_PER_MS + 1 : 0;

				for (size_t i = 0; i < n; i++)
					if (pids[i] > 0 && !reaped[i])
						pf[np++] = (struct pollfd){ .fd = pidfds[i],
							                    .events = POLLIN };
				(void)poll(pf, np, left > 100 ? 100 : (int)left);
			} else {
				fl_idle(&st, 0, fl_clock_now_ns() + FL_NS_PER_MS);
			}
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			struct actor_run *ar = &r->actors[i];
			if (pids[i] != pid)
				continue;
			reaped[i] = true;
			alive--;
			if (WIFSIGNALED(status) &&
			    !__atomic_load_n(&ar->crashed, __ATOMIC_ACQUIRE)) {
				int op = ar->op;
				char in[200] = "";

				if (op >= 0 && (size_t)op < ar->a->op_count)
					snprintf(in, sizeof(in), " in %s (line %d)",
					         fl_scenario_op_label(&ar->a->ops[op]),
					         ar->a->ops[op].line);
				else if (op >= 0 && (size_t)op == ar->a->op_count)
					snprintf(in, sizeof(in),
					         " closing what its ops left open (the harness's "
					         "close)");
				ar->crash_site[sizeof(ar->crash_site) - 1] = '\0';
				if (!(WTERMSIG(status) == SIGKILL && r->failed))
					fli_run_fail(r, "no_unexpected_signal",
					             "actor %s died of %s%s%s%s", ar->a->name,
					             fl_signal_name(WTERMSIG(status)),
					             ar->crash_site[0] ? " " : "", ar->crash_site,
					             in);
				ar->crashed_at_ns = fl_clock_now_ns();
				/* Its process could not say it: the op it was in
				 * ends crashed, the signal on its lane. */
				fli_tl_crashed(ar);
				fli_tl_named(r, FLI_TL_CRASH, ar->index, ar->a->name,
				             fl_signal_name(WTERMSIG(status)));
				__atomic_store_n(&ar->crashed, true, __ATOMIC_RELEASE);
			} else if (!WIFSIGNALED(status)) {
				/* Its process sets finished once its ops ended and its
				 * counts are handed over: an exit before that (exit()
				 * in the code under test) left them unjudged.  (A
				 * sanitizer build's runtime ends a process that way on
				 * a report, status non-zero: the report is the
				 * verdict.) */
				if (!__atomic_load_n(&ar->finished, __ATOMIC_ACQUIRE) &&
				    !(fli_san_enabled() && WEXITSTATUS(status) != 0))
					fli_run_fail(
					        r, "harness",
					        "actor %s's process exited (status %d) before its "
					        "ops ended (exit() inside an op?): what it "
					        "holds was not judged",
					        ar->a->name, WEXITSTATUS(status));
				else if (WEXITSTATUS(status) == FL_RUNNER_MEMCHECK_EXIT)
					fli_run_fail(r, "memcheck",
					             "actor %s (pid %d): memcheck found errors or "
					             "definite leaks; see memcheck-%s-%d.log",
					             ar->a->name, (int)pid, r->ns, (int)pid);
				__atomic_store_n(&ar->finished, true, __ATOMIC_RELEASE);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (pids[i] > 0 && pidfds[i] >= 0)
			close(pidfds[i]);
	fli_cluster_join_proc(r);
	if (rv == 0)
		fl_thread_join(driver);
	free_actor_streams(r);
	return rv;
}

/* A sim actor crashed in the run (its coroutine abandoned mid-op). */
static bool
sim_crashed(const struct run *r)
{
	if (r->s->mode != FL_SCN_MODE_SIM)
		return false;
	if (fli_cluster_crashed(r))
		return true;
	for (size_t i = 0; i < r->s->actor_count; i++)
		if (r->actors[i].crashed)
			return true;
	return false;
}

/* no_heap_growth, once the run is torn down: what the run's process
 * (every actor's in sim and stress mode) and each process actor kept of
 * the blocks allocated since the window began.  Not after a crash under
 * sim: what the crashed actor held is what a dead process loses with its
 * memory, and cannot be told from a leak (as for LeakSanitizer). */
static void
heap_judge(struct run *r, const char *who, const struct fli_heap_held *h)
{
	char where[160];

	if (h->blocks == 0) {
		if (h->overflow)
			fli_run_fail(
			        r, "harness",
			        "%s: the heap counter ran out of room (more blocks held at once "
			        "than it records): no_heap_growth was not judged",
			        who);
		return;
	}
	fli_code_where(where, sizeof(where), h->first_pc);
	fli_run_fail(r, "no_heap_growth",
	             "%s: %llu heap block(s), %llu bytes, allocated during the run and still held "
	             "at its end%s; the first, %zu bytes, allocated by %s",
	             who, (unsigned long long)h->blocks, (unsigned long long)h->bytes,
	             h->overflow ? " (at least: the record ran out of room)" : "", h->first_size,
	             where);
}

static void
audit_heap(struct run *r, bool ran)
{
	struct fli_heap_held h;

	/* Freed messages wait in a quarantine ring (a second free is caught
	 * there): freed, not held. */
	fl_msg_quarantine_flush();
	fli_heap_counter->end(&h);
	if (!ran || sim_crashed(r))
		return;
	heap_judge(r, r->s->mode == FL_SCN_MODE_PROC ? "the run's process (its driver)" : "the run",
	           &h);
	for (size_t i = 0; r->s->mode == FL_SCN_MODE_PROC && i < r->s->actor_count; i++) {
		const struct actor_run *ar = &r->actors[i];
		char who[96];

		if (ar->crashed || !__atomic_load_n(&ar->finished, __ATOMIC_ACQUIRE))
			continue;
		snprintf(who, sizeof(who),
		         "actor %s's process, once its ops ended and its client "
		         "closed",
		         ar->a->name);
		heap_judge(r, who, &ar->heap);
	}
}

/* sim: the driver is an actor too, started inside the sim so that its
 * clock is the virtual one.  True when the run ended (to be audited);
 * false when the harness could not run it, it deadlocked or hit the step
 * limit (the verdict is set, *v for a deadlock or hang). */
static bool
run_sim(struct run *r, const struct fli_runner_opts *o, struct fl_sim **sim,
        struct fl_sim_result *res, enum fl_verdict *v)
{
	const struct fl_scenario *s = r->s;
	struct fl_sim_config cfg = { 0 };
	int rv;

	for (size_t i = 0; i < s->actor_count; i++)
		r->actors[i].choices = r->choices;
	cfg.choices = r->choices;
	cfg.kind = s->scheduler == FL_SCN_SCHED_PCT ? FL_SCHED_PCT : FL_SCHED_RANDOM;
	cfg.pct_depth = s->sched_depth;
	cfg.pct_steps = o->pct_steps;
	if (r->tl != NULL) {
		cfg.on_decision = fli_tl_decision;
		cfg.decision_arg = r;
	}
	rv = fl_sim_new(&cfg, sim);
	if (rv == 0)
		rv = fl_sim_spawn(*sim, "driver", fli_interp_driver_main, r, NULL);
	for (size_t i = 0; rv == 0 && i < s->actor_count; i++)
		rv = fl_sim_spawn(*sim, s->actors[i].name, fli_interp_actor_main, &r->actors[i],
		                  NULL);
	if (rv == 0)
		rv = fli_cluster_spawn(r, *sim);
	if (rv == 0)
		rv = fl_sim_run(*sim, res);
	if (rv != 0) {
		fli_run_fail(r, "harness", "sim: %s", fl_errname(rv));
		return false;
	}
	if (res->verdict == FL_SIM_DEADLOCK) {
		fli_run_fail(r, "deadlock", "no actor can run and no deadline is ahead");
		describe_actors(r, res);
		*v = FL_VERDICT_DEADLOCK;
		return false;
	}
	if (res->verdict == FL_SIM_STEP_LIMIT) {
		fli_run_fail(r, "step_limit", "%llu scheduling steps without finishing",
		             (unsigned long long)res->steps);
		describe_actors(r, res);
		*v = FL_VERDICT_HANG;
		return false;
	}
	return true;
}

uint64_t fli_runner_child_done_ms;
bool fli_runner_child_hold;
size_t fli_runner_child_outcome_mark = SIZE_MAX;
/* Its buffer kept from run to run of a worker (grown after the heap
 * audit, so never counted in a run's heap). */
struct fl_sandbox_frames fli_runner_child_outcome;

static void *
late_crash(void *arg)
{
	usleep(300 * 1000);
	raise(SIGSEGV);
	return arg;
}

/* A test's (cli_test.py, case worker): the proc run of seed
 * FLI_TEST_LEAVE_THREAD_SEED leaves a thread running in its process that
 * crashes 300 ms later.  A run's own process took it with it when it
 * exited; the persistent worker must not carry it into a later run. */
static void
test_leave_thread(uint64_t seed)
{
	const char *e = getenv("FLI_TEST_LEAVE_THREAD_SEED");
	pthread_t t;

	if (e != NULL && strtoull(e, NULL, 10) == seed &&
	    pthread_create(&t, NULL, late_crash, NULL) == 0)
		pthread_detach(t);
}

int
fli_runner_child_run(void *arg, int out_fd)
{
	struct child_arg *ca = arg;
	const struct fl_scenario *s = ca->s;
	/* Shared, so that process actors (proc mode) report their barrier
	 * arrivals, crashes and violations to this process.  A sim worker
	 * keeps its mapping from run to run. */
	static struct run *sim_run; /* private: a fork has its own copy */
	bool sim_mode = s->mode == FL_SCN_MODE_SIM, in_memory = false;
	const char *dev_shm;
	bool reused = sim_mode && sim_run != NULL;
	struct run *r = reused ? sim_run
	                       : mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
	                              (sim_mode ? MAP_PRIVATE : MAP_SHARED) | MAP_ANONYMOUS, -1, 0);
	struct fl_sim *sim = NULL;
	struct fl_sim_result res = { 0 };
	enum fl_verdict v = FL_VERDICT_PASS;
	bool leaked, ran = false;
	int rv;

	run_began_ms = fli_mono_ms();
	run_timeout_ms = ca->o->timeout_ms;
	if (r == MAP_FAILED)
		return 1;
	/* A proc run's process keeps one malloc arena: a thread's own (the
	 * driver's, a client's conductor's) was a new 64 MB reservation
	 * grown by mprotect, 23 calls a run.  Not a stress run's: its actor
	 * threads would queue on one arena's lock, and their interleavings
	 * are what stress mode explores.  The mmap threshold stays glibc's:
	 * a large block of its own mapping has page padding past its end,
	 * where an overrun that corrupts the arena's next header (and dies
	 * of malloc's check) would pass unseen. */
	if (s->mode == FL_SCN_MODE_PROC)
		(void)mallopt(M_ARENA_MAX, 1);
	/* A new mapping is zero already: clearing it would fault in every
	 * page of it (16 of them, each a fault in a proc run's process). */
	if (reused)
		memset(r, 0, sizeof(*r));
	r->s = s;
	the_run = r;
	/* The run's heap is reachable from here (LeakSanitizer does not scan
	 * mappings it was not told of); reports go to the run's directory. */
	fli_san_root_region(r, sizeof(*r), true);
	fli_san_run_begin(ca->san_dir, describe_ops);
	snprintf(r->ns, sizeof(r->ns), "%s", ca->ns);
	(void)fl_run_dir_path(r->ns, r->dir, sizeof(r->dir));
	r->liveness_ns = (uint64_t)s->driver.client_liveness_ms * FL_NS_PER_MS;
	r->timeout_ns = (uint64_t)s->driver.driver_timeout_ms * FL_NS_PER_MS;
	/* Process and stress actors end within this (property hang); the
	 * run's wall deadline is never before it. */
	r->actors_span_ns = fli_runner_actors_span_ms(s, ca->o->timeout_ms) * FL_NS_PER_MS;
	rv = ca->o->replaying ? fl_choice_new_replay(ca->o->replay, ca->o->nreplay, &r->choices)
	                      : fl_choice_new_seeded(ca->o->seed, &r->choices);
	if (rv != 0)
		return 1;
	install_crash_handlers(r->choices, out_fd, s->target != NULL);
	/* A sim run holds its driver and clients, so its run directory can
	 * be this process's memory (no kernel object a run), and so can a
	 * cluster's nodes' files (store.c keeps them there too).  Not a
	 * target's (its library may make files there), nor with
	 * FL_SIM_DEV_SHM=1 (the POSIX shm code under sim's schedules). */
	dev_shm = getenv("FL_SIM_DEV_SHM");
	in_memory = fl_run_dirs_in_memory(sim_mode && s->target == NULL &&
	                                  (dev_shm == NULL || strcmp(dev_shm, "1") != 0));
	r->in_memory = in_memory;
	rv = setup_faults(r, ca->o);
	if (rv != 0) {
		fli_run_fail(r, "harness", "fault rules: %s", fl_errname(rv));
		goto done;
	}
	/* A cluster's nodes are pub/sub clients of the run's driver. */
	r->pubsub = fli_scenario_uses_pubsub(s) || s->cluster.nodes > 0;
	r->reqrep = uses_reqrep(s);
	r->check_each_step = ca->o->check_each_step;
	r->narrate = ca->o->narrate;
	if (ca->o->timeline && fli_tl_open(r) != 0) {
		fli_run_fail(r, "harness", "no memory for the timeline");
		goto done;
	}
	r->linger_ns = (uint64_t)s->driver.linger_ms * FL_NS_PER_MS;
	r->fds_at_start = fli_audit_count_fds();
	if (fli_interp_setup(r) != 0 || fli_cluster_setup(r) != 0) {
		fli_run_fail(r, "harness", "out of memory");
		goto done;
	}
	r->run_pid = fl_getpid();
	if (s->mode == FL_SCN_MODE_PROC && fl_scenario_records_history(s)) {
		/* Process actors record the history: a region they share
		 * (whether or not linearizable judges it). */
		void *h = mmap(NULL, RUN_HISTORY_SHARED, PROT_READ | PROT_WRITE,
		               MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (h == MAP_FAILED) {
			fli_run_fail(r, "harness", "no memory for the history");
			goto done;
		}
		r->history = h;
		r->history_cap = RUN_HISTORY_SHARED;
		r->history_shared = true;
	}

	/* no_heap_growth: from here to the end of the teardown, every block
	 * allocated must be freed again (a crashed process actor's died
	 * with it; a proc actor's own process counts its own). */
	r->heap_counted = (s->properties & FL_SCN_PROP_NO_HEAP_GROWTH) && fli_heap_counter != NULL;
	if (r->heap_counted)
		fli_heap_counter->begin();
	switch (s->mode) {
	case FL_SCN_MODE_PROC:
		ran = run_processes(r) == 0;
		test_leave_thread(ca->o->seed);
		if (!ran)
			fli_run_fail(r, "harness", "could not start the driver thread");
		break;
	case FL_SCN_MODE_STRESS:
		ran = run_threads(r, out_fd) == 0;
		if (!ran)
			fli_run_fail(r, "harness", "could not start the actor threads");
		break;
	default: ran = run_sim(r, ca->o, &sim, &res, &v); break;
	}
	/* A run that ended is audited; one whose driver did not start has
	 * nothing but its directory to check. */
	if (ran && r->driver_state == RUN_DRIVER_FAILED)
		goto audit_files_only;
	if (ran)
		fli_audit_end_of_run(r);
	fli_cluster_teardown(r);
	fli_interp_teardown(r);
	if (r->driver_dom != NULL) {
		fl_rr_domain_close(r->driver_dom);
		fl_rr_domain_unlink(r->dir);
	}
	if (r->driver != NULL) {
		fl_driver_close(r->driver);
		/* Files the driver could not unlink while running must be gone
		 * with its run directory now. */
		if (s->properties & FL_SCN_PROP_NO_LEAKED_FILES)
			fli_run_dir_check_gone(r);
	}
	fl_sim_free(sim);
	sim = NULL;
	goto done;

audit_files_only:
	if ((s->properties & FL_SCN_PROP_NO_LEAKED_FILES) && !r->dir_taken)
		fli_run_dir_check_empty(r);
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
	leaked = !sim_crashed(r) && fli_san_leak_check();
	free(r->objs);
	free(r->socks);
	free(r->sent);
	/* What the teardown unmaps, when it did not run (a persistent worker
	 * would keep one mapping a run). */
	fli_run_sessions_free(r);
	if (r->target_shared != NULL)
		munmap(r->target_shared, s->target->shared_size);
	if (r->faults != NULL)
		fl_faults_disarm(r->faults);
	/* (In memory: no target made a temporary directory, and the
	 * cluster's teardown removed its nodes' files.) */
	if (!r->dir_taken && in_memory) {
		(void)fli_cluster_remove_files(r->dir); /* a teardown that did not run */
		(void)fl_run_dir_remove(r->ns);
	} else if (!r->dir_taken)
		fli_run_dir_remove(r->ns);
	fl_run_dirs_in_memory(false);
	if (r->heap_counted)
		audit_heap(r, ran);
	fli_runner_child_done_ms = fli_mono_ms(); /* before the writes, which may wait */
	rv = send_outcome(out_fd, r, final_verdict(r, v), res.trace_hash, res.steps);
	fli_tl_close(r);
	if (r->history_shared)
		munmap(r->history, r->history_cap);
	else
		free(r->history);
	r->history = NULL;
	crash_choices = NULL;
	fl_faults_free(r->faults);
	fl_choice_free(r->choices);
	fli_san_root_region(r, sizeof(*r), false);
	the_run = NULL;
	if (sim_mode)
		sim_run = r;
	else
		munmap(r, sizeof(*r));
	return leaked ? 1 : rv;
}

int
fli_runner_child_main(const struct fl_scenario *s, const struct fli_runner_opts *o, const char *ns,
                      int fd)
{
	struct child_arg ca = { .s = s, .o = o, .ns = ns, .san_dir = o->san_dir };

	return fli_runner_child_run(&ca, fd);
}
