/*
 * Default implementations of the platform seam, and the dispatch to the
 * operations the harness installs.  See faultline/platform.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

#include <fiu.h>

#include "faultline/error.h"
#include "faultline/platform.h"

int fl_sched_armed;
int fl_faults_armed;

const char *const fl_fault_point_names[] = {
#define FL_POINT(name, what) name,
#include "fault_points.def"
#undef FL_POINT
	NULL,
};

const char *const fl_fault_point_whats[] = {
#define FL_POINT(name, what) what,
#include "fault_points.def"
#undef FL_POINT
	NULL,
};

const char *const fl_sched_point_names[] = {
#define FL_SCHED(name, what) name,
#include "sched_points.def"
#undef FL_SCHED
	NULL,
};

const char *const fl_sched_point_whats[] = {
#define FL_SCHED(name, what) what,
#include "sched_points.def"
#undef FL_SCHED
	NULL,
};

static struct fl_platform_ops ops;

void
fl_platform_set_ops(const struct fl_platform_ops *o)
{
	if (o == NULL)
		memset(&ops, 0, sizeof(ops));
	else
		ops = *o;
}

const struct fl_platform_ops *
fl_platform_get_ops(void)
{
	return &ops;
}

uint64_t
fl_clock_now_ns(void)
{
	struct timespec ts;

	if (ops.now_ns != NULL)
		return ops.now_ns(ops.arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * FL_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t
fl_random(uint64_t bound)
{
	static uint64_t state;
	static pid_t seeded_by;
	uint64_t z;

	if (ops.random != NULL)
		return ops.random(ops.arg, bound);
	/* Seeded again in a forked child: parent and child must not draw
	 * the same numbers (two nodes forked from one process would time
	 * their elections out alike). */
	if (__atomic_load_n(&seeded_by, __ATOMIC_ACQUIRE) != fl_getpid()) {
		z = fl_clock_now_ns() ^ ((uint64_t)fl_getpid() << 32) ^ 0x2545f4914f6cdd1dull;
		__atomic_store_n(&state, z, __ATOMIC_RELAXED);
		__atomic_store_n(&seeded_by, fl_getpid(), __ATOMIC_RELEASE);
	}
	/* splitmix64: each caller takes its own increment of the state. */
	z = __atomic_add_fetch(&state, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return bound > 0 ? z % bound : z;
}

static int32_t self_pid; /* 0: not asked in this process yet */

static void
self_pid_forget(void)
{
	__atomic_store_n(&self_pid, 0, __ATOMIC_RELAXED);
}

static void
self_pid_watch(void)
{
	(void)pthread_atfork(NULL, NULL, self_pid_forget);
}

int32_t
fl_getpid(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int32_t pid = __atomic_load_n(&self_pid, __ATOMIC_RELAXED);

	if (pid == 0) {
		/* The handler first: a fork after the store forgets it. */
		pthread_once(&once, self_pid_watch);
		pid = (int32_t)getpid();
		__atomic_store_n(&self_pid, pid, __ATOMIC_RELAXED);
	}
	return pid;
}

uint64_t
fl_pid_ns(void)
{
	static uint64_t cached;
	uint64_t ns = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	struct stat st;

	if (ns == 0 && stat("/proc/self/ns/pid", &st) == 0) {
		ns = (uint64_t)st.st_ino;
		__atomic_store_n(&cached, ns, __ATOMIC_RELAXED);
	}
	return ns;
}

bool
fl_process_gone(int32_t pid, uint64_t pid_ns)
{
	if (pid <= 0 || pid_ns == 0 || pid_ns != fl_pid_ns())
		return false;
	/* This process is not gone (a sim run's driver and clients are all
	 * in it: no kill a check there). */
	if (pid == fl_getpid())
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/*
 * Backoff: a few hundred spins keep latency low when a peer answers within
 * microseconds; yields give the core away on a 2-core machine; parking
 * bounds the cost of an idle agent to a wake-up per max_park_ns.
 */
#define IDLE_SPINS       200
#define IDLE_YIELDS      50
#define IDLE_MIN_PARK_NS 1000ull
#define IDLE_MAX_PARK_NS (1ull * FL_NS_PER_MS)

static void
idle_default(struct fl_idle *st, int work_count, uint64_t deadline_ns)
{
	uint64_t max_park;

	if (work_count > 0) {
		st->spins = 0;
		st->yields = 0;
		st->park_ns = 0;
		return;
	}
	if (st->spins < IDLE_SPINS) {
		st->spins++;
		__builtin_ia32_pause();
		return;
	}
	if (st->yields < IDLE_YIELDS) {
		st->yields++;
		sched_yield();
		return;
	}
	max_park = st->max_park_ns != 0 ? st->max_park_ns : IDLE_MAX_PARK_NS;
	st->park_ns = st->park_ns == 0 ? IDLE_MIN_PARK_NS : st->park_ns * 2;
	if (st->park_ns > max_park)
		st->park_ns = max_park;
	if (deadline_ns != FL_DEADLINE_NONE) {
		uint64_t now = fl_clock_now_ns();
		if (deadline_ns <= now)
			return;
		if (deadline_ns - now < st->park_ns)
			st->park_ns = deadline_ns - now;
	}
	struct timespec ts = { .tv_sec = (time_t)(st->park_ns / FL_NS_PER_SEC),
		               .tv_nsec = (long)(st->park_ns % FL_NS_PER_SEC) };
	nanosleep(&ts, NULL);
}

void
fl_idle(struct fl_idle *st, int work_count, uint64_t deadline_ns)
{
	if (ops.idle != NULL)
		ops.idle(ops.arg, st, work_count, deadline_ns);
	else
		idle_default(st, work_count, deadline_ns);
}

void
fl_idle_sleep_until(uint64_t deadline_ns)
{
	struct fl_idle st = { 0 };

	while (fl_clock_now_ns() < deadline_ns)
		fl_idle(&st, 0, deadline_ns);
}

/* ---- threads ------------------------------------------------------- */

struct fl_thread {
	pthread_t tid;
	void *handle; /* set when the harness started it */
	void (*fn)(void *);
	void *arg;
};

static void *
thread_trampoline(void *p)
{
	struct fl_thread *t = p;

	t->fn(t->arg);
	return NULL;
}

int
fl_thread_start(fl_thread **out, const char *name, void (*fn)(void *), void *arg)
{
	struct fl_thread *t = calloc(1, sizeof(*t));
	int rv;

	if (t == NULL)
		return FL_ENOMEM;
	t->fn = fn;
	t->arg = arg;
	if (ops.thread_start != NULL) {
		rv = ops.thread_start(ops.arg, name, fn, arg, &t->handle);
		if (rv != 0) {
			free(t);
			return rv;
		}
	} else if (pthread_create(&t->tid, NULL, thread_trampoline, t) != 0) {
		free(t);
		return FL_EIO;
	} else if (name != NULL) {
		char n[16];
		snprintf(n, sizeof(n), "%s", name);
		pthread_setname_np(t->tid, n);
	}
	*out = t;
	return 0;
}

int
fl_thread_join(fl_thread *t)
{
	int rv = 0;

	if (t == NULL)
		return FL_EINVAL;
	if (t->handle != NULL) {
		if (ops.thread_join == NULL)
			rv = FL_ESTATE;
		else
			rv = ops.thread_join(ops.arg, t->handle);
	} else if (pthread_join(t->tid, NULL) != 0) {
		rv = FL_EIO;
	}
	free(t);
	return rv;
}

uint64_t
fl_actor_id(void)
{
	if (ops.actor_id != NULL)
		return ops.actor_id(ops.arg);
	return (uint64_t)pthread_self();
}

/* ---- locks --------------------------------------------------------- */

void
fl_mutex_init(fl_mutex *m)
{
	pthread_mutex_init(&m->mu, NULL);
}

void
fl_mutex_fini(fl_mutex *m)
{
	pthread_mutex_destroy(&m->mu);
}

void
fl_mutex_lock(fl_mutex *m)
{
	if (ops.blocked == NULL) {
		pthread_mutex_lock(&m->mu);
		return;
	}
	/* Under sim every actor shares one OS thread: blocking would stop
	 * them all, so yield until the holder has run and unlocked. */
	while (pthread_mutex_trylock(&m->mu) == EBUSY)
		ops.blocked(ops.arg, "mutex");
}

void
fl_mutex_unlock(fl_mutex *m)
{
	pthread_mutex_unlock(&m->mu);
}

/* ---- points -------------------------------------------------------- */

void
fl_points_arm(bool sched, bool faults)
{
	__atomic_store_n(&fl_sched_armed, sched, __ATOMIC_RELAXED);
	__atomic_store_n(&fl_faults_armed, faults, __ATOMIC_RELAXED);
}

void
fl_sched_point_slow(const char *name)
{
	if (ops.sched_point != NULL)
		ops.sched_point(ops.arg, name);
}

void
fl_sched_point_changed_slow(const char *name)
{
	if (ops.state_changed != NULL)
		ops.state_changed(ops.arg, name);
	else if (ops.sched_point != NULL)
		ops.sched_point(ops.arg, name);
}

static int (*fault_observer)(void *, const char *, int);
static void *fault_observer_arg;

void
fl_fault_set_observer(int (*fn)(void *arg, const char *name, int failed), void *arg)
{
	fault_observer = fn;
	fault_observer_arg = arg;
}

int
fl_fault_slow(const char *name)
{
	int failed = fiu_fail(name);

	if (fault_observer != NULL)
		failed = fault_observer(fault_observer_arg, name, failed);
	return failed;
}

void *
fl_fault_info(void)
{
	return fiu_failinfo();
}
