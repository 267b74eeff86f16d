/*
 * The platform seam.
 *
 * The transport never reads the clock, sleeps, spins, starts a thread, takes
 * a lock or decides to fail on its own.  It asks this layer, and the harness
 * replaces the layer's behaviour at run time through one table of operations
 * (struct fl_platform_ops).  In a production process nothing is installed and
 * the defaults apply: CLOCK_MONOTONIC, a spin/yield/park idle strategy,
 * pthreads, and fault/scheduling points that cost one predictable branch.
 *
 * Under the harness's sim mode every "thread" is a coroutine on one OS
 * thread: the clock is virtual, idling yields to the scheduler, a contended
 * lock yields instead of blocking in the kernel, and fl_actor_id() names the
 * running coroutine.
 */
#ifndef FAULTLINE_PLATFORM_H
#define FAULTLINE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_NS_PER_MS     1000000ull
#define FL_NS_PER_SEC    1000000000ull
#define FL_DEADLINE_NONE UINT64_MAX

struct fl_idle;

/*
 * Operations the harness can install.  Any member left NULL keeps the
 * default.  `arg` is passed back to every operation.
 */
struct fl_platform_ops {
	void *arg;
	/* Monotonic time in nanoseconds. */
	uint64_t (*now_ns)(void *arg);
	/* Called by a duty-cycle loop after each pass.  work_count > 0 means
	 * the pass made progress.  deadline_ns is the earliest time at which
	 * the caller has something to do on its own (FL_DEADLINE_NONE: only
	 * when another actor acts).  Under sim this is where virtual time
	 * advances.  `state` is the caller's idle state. */
	void (*idle)(void *arg, struct fl_idle *state, int work_count, uint64_t deadline_ns);
	/* A scheduling point was reached (only called while points are armed). */
	void (*sched_point)(void *arg, const char *name);
	/* A scheduling point right after an atomic operation changed shared
	 * ownership state (fl_atomic_*): an actor polling that state would see
	 * the change now, so one waiting for a change may look again.  NULL:
	 * sched_point. */
	void (*state_changed)(void *arg, const char *name);
	/* The caller cannot proceed (a lock is held by another actor): let
	 * another actor run. */
	void (*blocked)(void *arg, const char *what);
	/* Start a thread (an actor under sim).  On success *handle is set. */
	int (*thread_start)(void *arg, const char *name, void (*fn)(void *), void *fn_arg,
	                    void **handle);
	/* Wait for a thread started by thread_start to finish, then free it. */
	int (*thread_join)(void *arg, void *handle);
	/* Identity of the running actor (what a thread id would be). */
	uint64_t (*actor_id)(void *arg);
	/* A number in [0, bound) (bound 0: any 64-bit value): the transport's
	 * own randomness (a cluster node's election timeouts).  Under sim it
	 * is a draw from the run's choice stream, so a seed replays it. */
	uint64_t (*random)(void *arg, uint64_t bound);
};

/* fl_platform_set_ops installs `ops` (copied) or, with NULL, restores the
 * defaults.  Call it before any driver or client starts and not while one
 * runs.  Not thread-safe. */
void fl_platform_set_ops(const struct fl_platform_ops *ops);

/* fl_platform_get_ops returns the installed table (never NULL). */
const struct fl_platform_ops *fl_platform_get_ops(void);

/* ---- time ---------------------------------------------------------- */

/* fl_clock_now_ns returns monotonic nanoseconds (virtual under sim).
 * Every timeout in the transport is computed from it.  Thread-safe. */
uint64_t fl_clock_now_ns(void);

/* fl_random returns a number in [0, bound) (bound 0: any value): the
 * installed random op, or else a per-process splitmix64 stream seeded
 * from the clock and the pid.  Not for secrets.  Thread-safe. */
uint64_t fl_random(uint64_t bound);

/* ---- processes ----------------------------------------------------- */

/* fl_getpid is getpid(), asked of the kernel once a process (and again
 * in a child made by fork: an atfork handler forgets it).  A sim run asks
 * for its pid several times; the answer never changes.  Thread-safe. */
int32_t fl_getpid(void);

/* fl_pid_ns identifies this process's pid namespace (the inode of
 * /proc/self/ns/pid); 0 when it cannot be read.  A pid means the same
 * process to two processes only when their namespaces are equal. */
uint64_t fl_pid_ns(void);

/* fl_process_gone tells whether process `pid`, recorded by a process of
 * pid namespace `pid_ns`, has certainly exited (and been reaped): only
 * when the namespace is known and ours, and kill(pid, 0) says ESRCH.  A
 * live, zombie, foreign or unknown process is never called gone, so a
 * caller falls back on its heartbeat timeout.  A reused pid makes it miss
 * a death, never invent one. */
bool fl_process_gone(int32_t pid, uint64_t pid_ns);

/* ---- idling -------------------------------------------------------- */

/* State of the default backoff idle strategy: spin, then sched_yield, then
 * park with nanosleep growing up to max_park_ns.  Zero it to start. */
struct fl_idle {
	uint32_t spins;
	uint32_t yields;
	uint64_t park_ns;
	uint64_t max_park_ns; /* 0: 1 ms */
};

/* fl_idle runs the idle strategy once.  See struct fl_platform_ops.idle. */
void fl_idle(struct fl_idle *state, int work_count, uint64_t deadline_ns);

/* fl_idle_sleep_until idles (without busy work) until fl_clock_now_ns()
 * reaches deadline_ns.  Used by synchronous wrappers and tests. */
void fl_idle_sleep_until(uint64_t deadline_ns);

/* ---- threads, identity, locks -------------------------------------- */

typedef struct fl_thread fl_thread;

/* fl_thread_start starts fn(arg) on a new thread (an actor under sim).
 * On success *out is set and must be passed to fl_thread_join exactly once.
 * Returns 0, FL_ENOMEM or FL_EIO. */
int fl_thread_start(fl_thread **out, const char *name, void (*fn)(void *), void *arg);

/* fl_thread_join waits for the thread to return and frees the handle. */
int fl_thread_join(fl_thread *t);

/* fl_actor_id identifies the running thread or actor; never 0. */
uint64_t fl_actor_id(void);

/* A mutex that yields to the scheduler under sim instead of blocking the
 * one OS thread every actor shares.  Not recursive. */
typedef struct fl_mutex {
	pthread_mutex_t mu;
} fl_mutex;

void fl_mutex_init(fl_mutex *m);
void fl_mutex_fini(fl_mutex *m);
void fl_mutex_lock(fl_mutex *m);
void fl_mutex_unlock(fl_mutex *m);

/* ---- the object heap ------------------------------------------------ */

/* fl_obj_alloc returns `size` zeroed bytes for an object the transport's
 * threads share by pointer (an image, an aio, a context, a socket), or
 * NULL; `what` names its kind ("fl_aio").  fl_obj_free frees it (NULL:
 * nothing); `size` and `what` are the allocation's.  Thread-safe. */
void *fl_obj_alloc(size_t size, const char *what);
void fl_obj_free(void *p, size_t size, const char *what);

/* fl_obj_guard turns the guarded object heap on or off for the
 * allocations that follow (harness only; sim runs turn it on).  Guarded,
 * each object starts pages of its own, and freeing it takes every access
 * away from them for the next 2^16 pages allocated: a read or a write
 * through a stale pointer faults at once, in the actor that made it, where
 * malloc's freed bytes would have let it pass by luck.  A double free
 * aborts.  Objects keep the heap they were allocated from.  Under
 * AddressSanitizer it does nothing: ASan checks every access itself. */
void fl_obj_guard(bool on);

/* fl_obj_guard_freed: when addr lies in a freed guarded object, sets
 * *what to its kind and *freed_by to the fl_actor_id() that freed it, and
 * returns true.  For a crash handler: takes no lock, allocates nothing. */
bool fl_obj_guard_freed(const void *addr, const char **what, uint64_t *freed_by);

/* ---- scheduling points and fault points ---------------------------- */

/* Non-zero while the harness has armed scheduling points / fault points.
 * Read on hot paths as one predictable branch. */
/* Read and written with relaxed atomics (FL_POINTS_ARMED): a test arms
 * points while conductor threads run (volatile was a data race). */
extern int fl_sched_armed;
extern int fl_faults_armed;
#define FL_POINTS_ARMED(flag) (__atomic_load_n(&(flag), __ATOMIC_RELAXED) != 0)

/* Arm or disarm points (harness only). */
void fl_points_arm(bool sched, bool faults);

/* Slow paths behind the macros below. */
void fl_sched_point_slow(const char *name);
void fl_sched_point_changed_slow(const char *name);
int fl_fault_slow(const char *name);

/* fl_fault_set_observer installs fn, called after every armed fault point
 * check with the point's name and libfiu's answer; its return value
 * replaces that answer.  The harness performs delays and crashes there,
 * outside libfiu's locks.  NULL removes it.  Not thread-safe. */
void fl_fault_set_observer(int (*fn)(void *arg, const char *name, int failed), void *arg);

/* fl_fault_info returns the failinfo of the last fault that fired on this
 * thread (libfiu's fiu_failinfo), for example an errno to report. */
void *fl_fault_info(void);

#ifdef FL_POINTS_DISABLED
#define FL_SCHED_POINT(name)         ((void)0)
#define FL_SCHED_POINT_CHANGED(name) ((void)0)
#define FL_FAULT(name)               0
#else
/* FL_SCHED_POINT marks an access to shared state that matters for races,
 * named "<module>.<what>" (e.g. "sub.poll.read"). */
#define FL_SCHED_POINT(name)                                                                       \
	do {                                                                                       \
		if (__builtin_expect(FL_POINTS_ARMED(fl_sched_armed), 0))                          \
			fl_sched_point_slow(name);                                                 \
	} while (0)
/* FL_SCHED_POINT_CHANGED: the same, after an atomic operation that changed
 * shared state (the fl_atomic_* wrappers below). */
#define FL_SCHED_POINT_CHANGED(name)                                                               \
	do {                                                                                       \
		if (__builtin_expect(FL_POINTS_ARMED(fl_sched_armed), 0))                          \
			fl_sched_point_changed_slow(name);                                         \
	} while (0)
/* FL_FAULT evaluates non-zero when the armed fault point `name` (named
 * "transport/<module>/<event>") fires; 0 otherwise and always when
 * disarmed. */
#define FL_FAULT(name)                                                                             \
	(__builtin_expect(FL_POINTS_ARMED(fl_faults_armed), 0) && fl_fault_slow(name))
#endif

/* ---- atomic operations on shared ownership -------------------------- */

/*
 * fl_atomic_cas, fl_atomic_store, fl_atomic_exchange, fl_atomic_fetch_add
 * and fl_atomic_fetch_sub perform the builtin (__atomic_*, with the memory
 * orders given; on a plain or an _Atomic object), then reach the
 * scheduling point `name`.  Every read-modify-write and every release
 * store on shared ownership state (reference counts, object states,
 * owners, queue indexes) goes through them, so the sim scheduler may run
 * another actor right after the operation and before the caller's next
 * access: between the CAS that drops the last reference and the next
 * touch of the object, which is where use-after-free windows are.  loom
 * and shuttle treat every atomic access as such a point.  The point comes
 * after the operation, not before: what another actor could do before it
 * is reached at the caller's previous point already.
 *
 * Names are "<module>.<what>", listed in sched_points.def like every
 * FL_SCHED_POINT.  With FL_POINTS_DISABLED they compile to the bare
 * builtin; compiled in and disarmed, each costs the one predictable branch
 * of FL_SCHED_POINT.  Statement expressions: GNU C (gcc, clang).
 */
/* The object's pointer without _Atomic: the __atomic builtins take plain
 * objects only under clang (the representation is the same). */
#define FL_ATOMIC_PLAIN(p) ((__typeof__((void)0, *(p)) *)(p))
#define fl_atomic_cas(name, p, expected, desired, mo_ok, mo_fail)                                  \
	__extension__({                                                                            \
		bool fl_ok_ = __atomic_compare_exchange_n(FL_ATOMIC_PLAIN(p), (expected),          \
		                                          (desired), false, (mo_ok), (mo_fail));   \
		if (fl_ok_)                                                                        \
			FL_SCHED_POINT_CHANGED(name);                                              \
		else                                                                               \
			FL_SCHED_POINT(name);                                                      \
		fl_ok_;                                                                            \
	})
#define fl_atomic_store(name, p, v, mo)                                                            \
	do {                                                                                       \
		__atomic_store_n(FL_ATOMIC_PLAIN(p), (v), (mo));                                   \
		FL_SCHED_POINT_CHANGED(name);                                                      \
	} while (0)
#define FL_ATOMIC_RMW_(builtin, name, p, v, mo)                                                    \
	__extension__({                                                                            \
		__typeof__((void)0, *(p)) fl_old_ = builtin(FL_ATOMIC_PLAIN(p), (v), (mo));        \
		FL_SCHED_POINT_CHANGED(name);                                                      \
		fl_old_;                                                                           \
	})
#define fl_atomic_exchange(name, p, v, mo)  FL_ATOMIC_RMW_(__atomic_exchange_n, name, p, v, mo)
#define fl_atomic_fetch_add(name, p, v, mo) FL_ATOMIC_RMW_(__atomic_fetch_add, name, p, v, mo)
#define fl_atomic_fetch_sub(name, p, v, mo) FL_ATOMIC_RMW_(__atomic_fetch_sub, name, p, v, mo)

/* The registry of fault point names compiled into this build, NULL
 * terminated, so a sweep can enumerate them; fl_fault_point_whats[i] says
 * in one line what fails at point i (fault_points.def). */
extern const char *const fl_fault_point_names[];
extern const char *const fl_fault_point_whats[];

/* The transport's scheduling points (FL_SCHED_POINT names), NULL
 * terminated, and one line each on what happens there
 * (sched_points.def). */
extern const char *const fl_sched_point_names[];
extern const char *const fl_sched_point_whats[];

#ifdef __cplusplus
}
#endif
#endif
