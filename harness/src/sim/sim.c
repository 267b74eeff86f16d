/*
 * The sim engine: coroutines (ucontext) on one OS thread, a random or PCT
 * scheduler drawing from the choice stream, and a virtual clock.  See
 * faultline/sim.h.
 *
 * Cost: one scheduling point is two context switches (actor -> scheduler
 * -> actor) plus a choice draw when more than one actor is runnable.  An
 * actor starts on its own stack with makecontext/setcontext, once; every
 * switch after that is _setjmp/_longjmp, which, unlike swapcontext, saves
 * and restores no signal mask: swapcontext's rt_sigprocmask per switch was
 * half a short sim run's time (about 1,400 syscalls a run).  Stacks are
 * mmap'd with a guard page below, so an overflow is a SIGSEGV (a crash
 * verdict), not silent corruption.
 *
 * A process runs sim after sim (a worker, thousands of runs), so the
 * stacks are kept when a sim is freed and reused by the next one, and on
 * x86-64 an actor's first entry is a jump onto its stack (a few
 * instructions) rather than getcontext/makecontext/setcontext, whose
 * signal mask calls were three syscalls an actor.
 */
/* _longjmp between coroutine stacks is what this file does on purpose;
 * the fortified longjmp takes a jump to another stack for a corrupt one. */
#undef _FORTIFY_SOURCE
#include <assert.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

/* AddressSanitizer must be told of every switch between stacks, or it
 * takes the actor's stack for an overflow of the scheduler's: each switch
 * starts a fiber switch, and the code that runs on the other side
 * finishes it (sanitizer/common_interface_defs.h). */
#if defined(__SANITIZE_ADDRESS__)
#define FL_SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FL_SIM_ASAN 1
#endif
#endif
#ifdef FL_SIM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define ASAN_START_SWITCH(save, bottom, size)  __sanitizer_start_switch_fiber(save, bottom, size)
#define ASAN_FINISH_SWITCH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define ASAN_START_SWITCH(save, bottom, size)  ((void)(save), (void)(bottom), (void)(size))
#define ASAN_FINISH_SWITCH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(p, n)      ((void)(p), (void)(n))
#endif
#include <unistd.h>

#include <valgrind/valgrind.h>

#include "faultline/choice.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/sim.h"

struct actor {
	uint64_t id;
	char name[32];
	void (*fn)(void *);
	void *arg;
	ucontext_t ctx; /* the first entry only; its uc_stack always */
	jmp_buf jb;     /* where it resumes once started */
	bool started;
	void *stack_map; /* mmap'd region including the guard page */
	void *asan_fake; /* ASan's fake stack of this actor while it is switched out */
	size_t map_len;
	unsigned vg_stack_id;
	enum fl_actor_state state;
	uint64_t deadline_ns;      /* IDLE: wake at this time (FL_DEADLINE_NONE: never) */
	uint64_t idle_epoch;       /* IDLE: work epoch when it went to sleep */
	uint64_t priority;         /* PCT: higher runs first */
	uint64_t demoted_at_ns;    /* PCT: when a change point demoted it */
	uint64_t blocked_progress; /* BLOCKED: sim progress count when its lock try failed */
	const char *last_point;
	uint64_t parent; /* the actor that started it (fl_thread_start), 0: none */
};

struct fl_sim {
	struct fl_sim_config cfg;
	struct actor *actors[FL_SIM_MAX_ACTORS];
	size_t nactors;
	struct actor *current;
	jmp_buf sched_jb;              /* the scheduler, waiting for the actor to yield */
	void *asan_fake;               /* ASan: the scheduler's fake stack while an actor runs */
	const void *asan_sched_bottom; /* ASan: the scheduler's stack */
	size_t asan_sched_size;
	uint64_t now_ns;
	uint64_t preempt_until; /* PCT: pick() chose to let time move here */
	uint64_t work_epoch;    /* bumped whenever an actor reports work */
	uint64_t quantum_ns;    /* next time step when every actor sleeps */
	uint64_t recheck_at;    /* when every sleeper re-checks next; 0: now + quantum */
	uint64_t steps;
	uint64_t switches;
	uint64_t progress; /* steps other than a failed lock retry */
	uint64_t trace_hash;
	uint64_t change_points[16];
	unsigned nchange;
	unsigned changes_done;
	bool ran;
	bool running;
};

static struct fl_sim *the_sim; /* the running sim: platform ops have no other way in */

/* Stacks of freed sims, guard page included, for the next sims' actors
 * (one sim runs at a time: the_sim). */
#define STACK_CACHE 32
static struct {
	void *map;
	size_t len;
} stack_cache[STACK_CACHE];
static size_t nstack_cache;

#define DEFAULT_STACK     (256u * 1024u)
#define DEFAULT_MAX_STEPS 1000000u
/* PCT with no step estimate: the change points are spread over a scale
 * drawn per run, 2^5 .. 2^12 steps, so short and long runs both get
 * change points inside them. */
#define PCT_SCALE_MIN_LOG2 5u
#define PCT_SCALE_CHOICES  8u
#define DEFAULT_PCT_DEPTH  3u
/* PCT: an actor a change point demoted is a thread the OS preempted, and
 * a preempted thread stays off its CPU while time passes: for up to this
 * much virtual time after its demotion, timers of the actors above it
 * fire (time moves to their deadline) before it runs again, as on a busy
 * machine a few time slices go by.  Without it a runnable actor held
 * virtual time still, and a window that needs a peer's timer (an image
 * freed a linger after its last reference went) could not be reached. */
#define PCT_PREEMPT_NS (10ull * FL_NS_PER_MS)
/* When every actor sleeps, time moves by a quantum that starts at the
 * longest park of the default idle strategy and doubles while no actor
 * reports work, capped by the earliest deadline; sleepers then re-check,
 * as parked agents would.  State another actor changed in shared memory
 * without reporting work is therefore seen within a quantum.  With no
 * deadline ahead and nothing happening for DEADLOCK_HORIZON_NS of virtual
 * time, the verdict is deadlock. */
#define BASE_QUANTUM_NS     FL_NS_PER_MS
#define DEADLOCK_HORIZON_NS (120ull * FL_NS_PER_SEC)

static void
hash_mix(struct fl_sim *s, uint64_t v)
{
	for (int b = 0; b < 8; b++) {
		s->trace_hash ^= (v >> (8 * b)) & 0xff;
		s->trace_hash *= 0x100000001b3ull;
	}
}

static uint64_t
str_hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (p != NULL && *p != '\0') {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

int
fl_sim_new(const struct fl_sim_config *cfg, struct fl_sim **out)
{
	struct fl_sim *s;

	if (cfg == NULL || cfg->choices == NULL)
		return FL_EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return FL_ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.stack_size == 0)
		s->cfg.stack_size = DEFAULT_STACK;
	if (s->cfg.max_steps == 0)
		s->cfg.max_steps = DEFAULT_MAX_STEPS;
	if (s->cfg.pct_depth == 0)
		s->cfg.pct_depth = DEFAULT_PCT_DEPTH;
	if (s->cfg.pct_depth > 16)
		s->cfg.pct_depth = 16;
	s->now_ns = s->cfg.start_time_ns != 0 ? s->cfg.start_time_ns : FL_NS_PER_SEC;
	s->trace_hash = 0xcbf29ce484222325ull;
	s->quantum_ns = BASE_QUANTUM_NS;
	*out = s;
	return 0;
}

static void note_work(struct fl_sim *s);

static void
actor_trampoline(void)
{
	struct fl_sim *s = the_sim;
	struct actor *a = s->current;

	ASAN_FINISH_SWITCH(NULL, &s->asan_sched_bottom, &s->asan_sched_size);
	a->fn(a->arg);
	a->state = FL_ACTOR_DONE;
	note_work(s);
	ASAN_START_SWITCH(NULL, s->asan_sched_bottom, s->asan_sched_size); /* this stack ends */
	_longjmp(s->sched_jb, 1);
}

/* Clears what earlier actors wrote on a reused stack, so that an actor
 * reads what it would on a fresh one (an uninitialised read must not
 * depend on the runs before it: a replay starts from fresh stacks).
 * Only the pages written are resident (mincore); all of it when that
 * cannot be asked. */
static void
stack_clear(uint8_t *lo, size_t len, size_t page)
{
	unsigned char vec[1024];
	size_t n = len / page;

	/* Valgrind keeps a stack's unused part inaccessible, and reports an
	 * uninitialised read itself: nothing to clear under it. */
	if (RUNNING_ON_VALGRIND)
		return;
	if (n > sizeof(vec) || mincore(lo, len, vec) != 0) {
		memset(lo, 0, len);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (vec[i] & 1)
			memset(lo + i * page, 0, page);
}

/* Keeps a stack for the next sim, or unmaps it when the cache is full. */
static void
stack_put(void *map, size_t len)
{
	if (nstack_cache == STACK_CACHE) {
		munmap(map, len);
		return;
	}
	stack_cache[nstack_cache].map = map;
	stack_cache[nstack_cache].len = len;
	nstack_cache++;
}

/* An actor's first entry on x86-64: onto its stack and into
 * actor_trampoline, with a zero return address below it, where an
 * unwinder (a crash report's backtrace) stops.  Elsewhere, setcontext. */
#if defined(__x86_64__)
#define SIM_JUMP_START 1
static void __attribute__((noreturn, noinline)) jump_start(struct actor *a)
{
	/* 16-byte aligned, less the pushed zero: the trampoline starts with
	 * the stack as a call leaves it. */
	uintptr_t top =
	        ((uintptr_t)a->ctx.uc_stack.ss_sp + a->ctx.uc_stack.ss_size) & ~(uintptr_t)15;

	/* rbp cleared too: a frame-pointer unwinder (ASan's fast one, perf)
	 * stops here rather than walk into the scheduler's stack. */
	__asm__ volatile("mov %0, %%rsp\n\t"
	                 "xor %%ebp, %%ebp\n\t"
	                 "pushq $0\n\t"
	                 "jmp *%1"
	                 :
	                 : "D"(top), "a"(actor_trampoline)
	                 : "memory");
	__builtin_unreachable();
}
#endif

int
fl_sim_spawn(struct fl_sim *s, const char *name, void (*fn)(void *), void *arg, uint64_t *id)
{
	struct actor *a;
	long page = sysconf(_SC_PAGESIZE);

	if (s->nactors == FL_SIM_MAX_ACTORS)
		return FL_ELIMIT;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return FL_ENOMEM;
	a->map_len = s->cfg.stack_size + (size_t)page;
	a->stack_map = NULL;
	for (size_t i = nstack_cache; i-- > 0;)
		if (stack_cache[i].len == a->map_len) {
			a->stack_map = stack_cache[i].map;
			stack_cache[i] = stack_cache[--nstack_cache];
			/* An actor that never returned left its frames' redzones. */
			ASAN_UNPOISON_MEMORY_REGION((char *)a->stack_map + page, s->cfg.stack_size);
			stack_clear((uint8_t *)a->stack_map + page, s->cfg.stack_size,
			            (size_t)page);
			break;
		}
	if (a->stack_map == NULL) {
		a->stack_map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE,
		                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (a->stack_map == MAP_FAILED) {
			free(a);
			return FL_ENOMEM;
		}
		mprotect(a->stack_map, (size_t)page, PROT_NONE); /* guard page */
	}
#ifndef SIM_JUMP_START
	if (getcontext(&a->ctx) != 0) {
		stack_put(a->stack_map, a->map_len);
		free(a);
		return FL_EIO;
	}
#endif
	a->ctx.uc_stack.ss_sp = (char *)a->stack_map + page;
	a->ctx.uc_stack.ss_size = s->cfg.stack_size;
	a->ctx.uc_link = NULL;
	a->vg_stack_id = VALGRIND_STACK_REGISTER(a->ctx.uc_stack.ss_sp,
	                                         (char *)a->ctx.uc_stack.ss_sp + s->cfg.stack_size);
#ifndef SIM_JUMP_START
	makecontext(&a->ctx, actor_trampoline, 0);
#endif
	a->id = s->nactors + 1;
	snprintf(a->name, sizeof(a->name), "%s", name != NULL ? name : "actor");
	a->fn = fn;
	a->arg = arg;
	a->state = FL_ACTOR_RUNNABLE;
	a->last_point = "";
	/* PCT: distinct random priorities above the change-point range. */
	if (s->cfg.kind == FL_SCHED_PCT)
		a->priority = s->cfg.pct_depth + 1 +
		              fl_choice_draw(s->cfg.choices, 1u << 20) * FL_SIM_MAX_ACTORS + a->id;
	s->actors[s->nactors++] = a;
	s->work_epoch++;
	s->quantum_ns = BASE_QUANTUM_NS;
	s->recheck_at = 0;
	if (id != NULL)
		*id = a->id;
	return 0;
}

/* Run `a` until it yields.  Out of line, so that no local of the caller
 * lives across the _setjmp. */
static void __attribute__((noinline)) run_actor(struct fl_sim *s, struct actor *a)
{
	if (_setjmp(s->sched_jb) != 0) {
		ASAN_FINISH_SWITCH(s->asan_fake, NULL, NULL);
		return;
	}
	ASAN_START_SWITCH(&s->asan_fake, a->ctx.uc_stack.ss_sp, a->ctx.uc_stack.ss_size);
	if (!a->started) {
		a->started = true;
#ifdef SIM_JUMP_START
		jump_start(a);
#else
		setcontext(&a->ctx);
		abort(); /* setcontext returns only on failure */
#endif
	}
	_longjmp(a->jb, 1);
}

/* Give control back to the scheduler (out of line, as run_actor). */
static void __attribute__((noinline)) yield_to_scheduler(struct fl_sim *s)
{
	struct actor *a = s->current;

	s->switches++;
	if (_setjmp(a->jb) == 0) {
		ASAN_START_SWITCH(&a->asan_fake, s->asan_sched_bottom, s->asan_sched_size);
		_longjmp(s->sched_jb, 1);
	}
	ASAN_FINISH_SWITCH(a->asan_fake, &s->asan_sched_bottom, &s->asan_sched_size);
}

static bool
is_runnable(const struct fl_sim *s, const struct actor *a)
{
	switch (a->state) {
	case FL_ACTOR_RUNNABLE: return true;
	case FL_ACTOR_BLOCKED:
		/* Worth retrying its lock once some actor made progress
		 * (perhaps the holder unlocked); never before, so a waiter
		 * cannot spin while the holder sleeps. */
		return a->blocked_progress != s->progress;
	case FL_ACTOR_IDLE: return a->idle_epoch != s->work_epoch || s->now_ns >= a->deadline_ns;
	default: return false;
	}
}

/* PCT: the earliest deadline of a sleeper that comes within the
 * preemption of `best` (demoted, the highest runnable actor), or 0: time
 * moves there before `best` runs. */
static uint64_t
preempted_wait(const struct fl_sim *s, const struct actor *best)
{
	uint64_t until = best->demoted_at_ns + PCT_PREEMPT_NS, first = 0;

	if (s->now_ns >= until)
		return 0;
	for (size_t i = 0; i < s->nactors; i++) {
		const struct actor *a = s->actors[i];
		if (a->state == FL_ACTOR_IDLE && a->deadline_ns <= until &&
		    a->deadline_ns > s->now_ns && (first == 0 || a->deadline_ns < first))
			first = a->deadline_ns;
	}
	return first;
}

/* Pick the next actor, or NULL when none is runnable (or, under PCT, the
 * runnable ones are preempted while a timer is due: time moves). */
static struct actor *
pick(struct fl_sim *s)
{
	struct actor *cand[FL_SIM_MAX_ACTORS];
	size_t n = 0;

	/* A lock waiter competes like any runnable actor once something
	 * happened since its last failed try, so the schedules where it wins
	 * the lock right after the holder released it are explored too. */
	for (size_t i = 0; i < s->nactors; i++)
		if (is_runnable(s, s->actors[i]))
			cand[n++] = s->actors[i];
	if (n == 0)
		return NULL;
	if (n == 1 && s->cfg.kind != FL_SCHED_PCT)
		return cand[0];
	if (s->cfg.kind == FL_SCHED_PCT) {
		struct actor *best = cand[0];
		for (size_t i = 1; i < n; i++)
			if (cand[i]->priority > best->priority)
				best = cand[i];
		if (best->priority < s->cfg.pct_depth &&
		    (s->preempt_until = preempted_wait(s, best)) != 0)
			return NULL;
		return best;
	}
	size_t k = (size_t)fl_choice_draw(s->cfg.choices, n);

	if (k != 0 && s->cfg.on_decision != NULL)
		s->cfg.on_decision(s->cfg.decision_arg, s->steps + 1, cand[k]->name);
	return cand[k];
}

static void
note_work(struct fl_sim *s)
{
	s->work_epoch++;
	s->quantum_ns = BASE_QUANTUM_NS;
	s->recheck_at = 0;
}

/* Every actor sleeps: move virtual time to the next event.  That is the
 * earliest deadline, and then only the actors whose deadline it is wake
 * (a conductor's periodic tick: the others sleep on, so a 1000 s wait
 * beside two 100 ms duty cycles costs a few steps a tick, not a wake-up of
 * everyone); or the re-check, a quantum after the last work, when every
 * sleeper re-checks, as parked agents would, and the quantum doubles. */
static bool
advance_time(struct fl_sim *s)
{
	uint64_t earliest = FL_DEADLINE_NONE;

	for (size_t i = 0; i < s->nactors; i++) {
		struct actor *a = s->actors[i];
		if (a->state == FL_ACTOR_IDLE && a->deadline_ns < earliest)
			earliest = a->deadline_ns;
	}
	if (earliest == FL_DEADLINE_NONE && s->quantum_ns > DEADLOCK_HORIZON_NS)
		return false;
	if (s->recheck_at <= s->now_ns)
		s->recheck_at = s->now_ns + s->quantum_ns;
	if (earliest != FL_DEADLINE_NONE && earliest < s->recheck_at) {
		if (earliest > s->now_ns)
			s->now_ns = earliest;
		return true; /* is_runnable: the actors whose deadline passed */
	}
	s->now_ns = s->recheck_at;
	s->recheck_at = 0;
	/* The quantum grows only when a whole quantum passed with no work;
	 * deadline steps in between do not count (counting them grew the
	 * quantum past the horizon in a few dozen steps, so a later sleeper
	 * woken by a park re-check only, a socket worker told to stop, was
	 * called a deadlock).  Doubling stops at the horizon, so it cannot
	 * overflow to 0. */
	if (s->quantum_ns <= DEADLOCK_HORIZON_NS)
		s->quantum_ns *= 2;
	s->work_epoch++; /* a park timeout: every sleeper re-checks */
	return true;
}

/* ---- platform operations ------------------------------------------- */

static uint64_t
op_now(void *arg)
{
	return ((struct fl_sim *)arg)->now_ns;
}

/* The running actor a stops at a scheduling point named point, in state
 * st, and hands control to the scheduler. */
static void
stop_at(struct fl_sim *s, struct actor *a, const char *point, enum fl_actor_state st)
{
	a->last_point = point;
	a->state = st;
	yield_to_scheduler(s);
}

static void
op_idle(void *arg, struct fl_idle *st, int work_count, uint64_t deadline_ns)
{
	struct fl_sim *s = arg;
	struct actor *a = s->current;

	(void)st;
	if (a == NULL) {
		/* Outside any actor (set-up code): just let time pass. */
		if (work_count == 0)
			s->now_ns = deadline_ns != FL_DEADLINE_NONE && deadline_ns > s->now_ns
			                    ? deadline_ns
			                    : s->now_ns + FL_NS_PER_MS;
		return;
	}
	if (work_count > 0) {
		note_work(s);
		stop_at(s, a, "idle.work", FL_ACTOR_RUNNABLE);
	} else {
		a->idle_epoch = s->work_epoch;
		a->deadline_ns = deadline_ns;
		stop_at(s, a, "idle", FL_ACTOR_IDLE);
	}
}

static void
op_sched_point(void *arg, const char *name)
{
	struct fl_sim *s = arg;

	if (s->current != NULL)
		stop_at(s, s->current, name, FL_ACTOR_RUNNABLE);
}

/* After an atomic operation that changed shared state: an actor that
 * polls for a change (an aio's owner waiting for it to go idle, a
 * conductor) would see it now, not a park later, so sleepers may look
 * again; then it is an ordinary point.  It is not work: the re-check
 * quantum keeps growing, or a poller whose every pass counts itself a
 * reader (an atomic add) would hold time to 1 ms steps. */
static void
op_state_changed(void *arg, const char *name)
{
	struct fl_sim *s = arg;

	if (s->current == NULL)
		return;
	s->work_epoch++;
	op_sched_point(arg, name);
}

static void
op_blocked(void *arg, const char *what)
{
	struct fl_sim *s = arg;
	struct actor *a = s->current;

	if (a == NULL)
		return;
	a->blocked_progress = s->progress;
	stop_at(s, a, what, FL_ACTOR_BLOCKED);
}

struct join_handle {
	uint64_t id;
};

static int
op_thread_start(void *arg, const char *name, void (*fn)(void *), void *fn_arg, void **handle)
{
	struct fl_sim *s = arg;
	struct join_handle *h = malloc(sizeof(*h));
	int rv;

	if (h == NULL)
		return FL_ENOMEM;
	rv = fl_sim_spawn(s, name, fn, fn_arg, &h->id);
	if (rv != 0) {
		free(h);
		return rv;
	}
	s->actors[h->id - 1]->parent = s->current != NULL ? s->current->id : 0;
	*handle = h;
	return 0;
}

static int
op_thread_join(void *arg, void *handle)
{
	struct fl_sim *s = arg;
	struct join_handle *h = handle;
	struct actor *t = s->actors[h->id - 1];
	struct fl_idle st = { 0 };

	free(h);
	while (t->state != FL_ACTOR_DONE && t->state != FL_ACTOR_CRASHED) {
		if (s->current == NULL)
			return FL_ESTATE; /* joining from outside the sim would hang */
		op_idle(s, &st, 0, FL_DEADLINE_NONE);
	}
	return 0;
}

static uint64_t
op_actor_id(void *arg)
{
	struct fl_sim *s = arg;

	/* The scheduler's own context is an identity too, distinct from
	 * every actor. */
	return s->current != NULL ? s->current->id : UINT64_MAX;
}

/* The transport's randomness (fl_random) is a choice like any other. */
static uint64_t
op_random(void *arg, uint64_t bound)
{
	struct fl_sim *s = arg;

	return fl_choice_draw(s->cfg.choices, bound);
}

/* ---- the loop -------------------------------------------------------- */

static void
maybe_change_priority(struct fl_sim *s, struct actor *ran)
{
	/* PCT: at the i-th change point the actor that just ran drops to
	 * priority d-1-i, below every initial priority. */
	while (s->changes_done < s->nchange && s->steps >= s->change_points[s->changes_done]) {
		ran->priority = s->cfg.pct_depth - 1 - s->changes_done;
		if (s->cfg.on_decision != NULL)
			s->cfg.on_decision(s->cfg.decision_arg, s->steps, ran->name);
		ran->demoted_at_ns = s->now_ns;
		s->changes_done++;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int
fl_sim_run(struct fl_sim *s, struct fl_sim_result *res)
{
	enum fl_sim_verdict verdict = FL_SIM_OK;
	struct fl_platform_ops ops = {
		.arg = s,
		.now_ns = op_now,
		.idle = op_idle,
		.sched_point = op_sched_point,
		.state_changed = op_state_changed,
		.blocked = op_blocked,
		.thread_start = op_thread_start,
		.thread_join = op_thread_join,
		.actor_id = op_actor_id,
		.random = op_random,
	};
	uint64_t start_ns = s->now_ns;
	int saved_faults = FL_POINTS_ARMED(fl_faults_armed);

	if (s->ran)
		return FL_ESTATE;
	s->ran = true;
	if (s->cfg.kind == FL_SCHED_PCT) {
		uint64_t k = s->cfg.pct_steps;

		if (k == 0)
			k = 1ull << (PCT_SCALE_MIN_LOG2 +
			             fl_choice_draw(s->cfg.choices, PCT_SCALE_CHOICES));
		s->nchange = s->cfg.pct_depth - 1;
		for (unsigned i = 0; i < s->nchange; i++)
			s->change_points[i] = 1 + fl_choice_draw(s->cfg.choices, k);
		qsort(s->change_points, s->nchange, sizeof(uint64_t), cmp_u64);
	}
	the_sim = s;
	s->running = true;
	fl_platform_set_ops(&ops);
	fl_points_arm(true, saved_faults != 0);
	/* A stale pointer to a freed image, aio or context faults at once,
	 * in the actor that used it (platform.h, fl_obj_guard). */
	fl_obj_guard(true);

	for (;;) {
		struct actor *a;
		bool live = false, was_blocked;

		for (size_t i = 0; i < s->nactors; i++)
			live = live || (s->actors[i]->state != FL_ACTOR_DONE &&
			                s->actors[i]->state != FL_ACTOR_CRASHED);
		if (!live)
			break;
		if (s->steps >= s->cfg.max_steps) {
			verdict = FL_SIM_STEP_LIMIT;
			break;
		}
		a = pick(s);
		if (a == NULL && s->preempt_until != 0) {
			/* Preempted actors wait: the next timer fires. */
			s->now_ns = s->preempt_until;
			s->preempt_until = 0;
			continue;
		}
		if (a == NULL) {
			if (!advance_time(s)) {
				verdict = FL_SIM_DEADLOCK;
				break;
			}
			continue;
		}
		if (a->state == FL_ACTOR_IDLE)
			a->state = FL_ACTOR_RUNNABLE;
		was_blocked = a->state == FL_ACTOR_BLOCKED;
		/* The scheduler picks only actors that can run. */
		assert(a->state == FL_ACTOR_RUNNABLE || a->state == FL_ACTOR_BLOCKED);
		assert(s->current == NULL);
		s->current = a;
		s->steps++;
		run_actor(s, a);
		s->current = NULL;
		if (!was_blocked || a->state != FL_ACTOR_BLOCKED)
			s->progress++;
		hash_mix(s, a->id);
		hash_mix(s, str_hash(a->last_point));
		if (s->cfg.kind == FL_SCHED_PCT)
			maybe_change_priority(s, a);
	}

	fl_obj_guard(false);
	fl_points_arm(false, saved_faults != 0);
	fl_platform_set_ops(NULL);
	s->running = false;
	the_sim = NULL;

	memset(res, 0, sizeof(*res));
	res->verdict = verdict;
	res->steps = s->steps;
	res->switches = s->switches;
	res->virtual_ns = s->now_ns - start_ns;
	res->trace_hash = fl_sim_trace_hash(s);
	res->nactors = s->nactors;
	for (size_t i = 0; i < s->nactors; i++) {
		struct actor *a = s->actors[i];
		snprintf(res->actors[i].name, sizeof(res->actors[i].name), "%s", a->name);
		res->actors[i].state = a->state;
		res->actors[i].last_point = a->last_point;
		res->actors[i].deadline_ns = a->deadline_ns;
	}
	return 0;
}

void
fl_sim_free(struct fl_sim *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nactors; i++) {
		struct actor *a = s->actors[i];
		VALGRIND_STACK_DEREGISTER(a->vg_stack_id);
		stack_put(a->stack_map, a->map_len);
		free(a);
	}
	free(s);
}

uint64_t
fl_sim_trace_hash(const struct fl_sim *s)
{
	uint64_t h = s->trace_hash, c = fl_choice_hash(s->cfg.choices);

	/* The (actor, point) sequence so far, then every decision drawn. */
	for (int b = 0; b < 8; b++) {
		h ^= (c >> (8 * b)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

const char *
fl_sim_current_name(void)
{
	if (the_sim == NULL || the_sim->current == NULL)
		return NULL;
	return the_sim->current->name;
}

void
fl_sim_crash_current(void)
{
	struct fl_sim *s = the_sim;

	if (s == NULL || s->current == NULL)
		return;
	s->current->state = FL_ACTOR_CRASHED;
	s->current->last_point = "crash";
	/* A crash is a process dying: the threads the actor started (a
	 * client's conductor, a socket's worker) and theirs die with it, as
	 * they would in proc mode, instead of running on (heart-beating, or
	 * waiting forever for a lock the dead actor held). */
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < s->nactors; i++) {
			struct actor *t = s->actors[i];

			if (t->parent == 0 || t->state == FL_ACTOR_DONE ||
			    t->state == FL_ACTOR_CRASHED ||
			    s->actors[t->parent - 1]->state != FL_ACTOR_CRASHED)
				continue;
			t->state = FL_ACTOR_CRASHED;
			t->last_point = "crash (its starter died)";
			more = true;
		}
	}
	note_work(s);
	yield_to_scheduler(s);
	abort(); /* never resumed */
}

bool
fl_sim_describe_current(char *buf, size_t len)
{
	const struct fl_sim *s = the_sim;
	const struct actor *a = s != NULL ? s->current : NULL;

	if (a == NULL)
		return false;
	if (a->parent != 0 && a->parent <= s->nactors)
		snprintf(buf, len, "%s (started by %s) after %s", a->name,
		         s->actors[a->parent - 1]->name,
		         a->last_point[0] ? a->last_point : "its start");
	else
		snprintf(buf, len, "%s after %s", a->name,
		         a->last_point[0] ? a->last_point : "its start");
	return true;
}

const char *
fl_sim_actor_name(uint64_t id)
{
	const struct fl_sim *s = the_sim;

	if (s == NULL || id == 0 || id > s->nactors)
		return NULL;
	return s->actors[id - 1]->name;
}

uint64_t
fl_sim_now(void)
{
	return the_sim != NULL ? the_sim->now_ns : 0;
}

uint64_t
fl_sim_steps(void)
{
	return the_sim != NULL ? the_sim->steps : 0;
}

const char *
fl_sim_state_name(enum fl_actor_state st)
{
	switch (st) {
	case FL_ACTOR_RUNNABLE: return "runnable";
	case FL_ACTOR_IDLE: return "idle";
	case FL_ACTOR_BLOCKED: return "blocked";
	case FL_ACTOR_DONE: return "done";
	case FL_ACTOR_CRASHED: return "crashed";
	}
	return "?";
}
