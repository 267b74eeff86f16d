/*
 * The sim engine: determinism, replay, virtual time, deadlock, step limit,
 * locks, threads as actors, and PCT against free threads on a planted race.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fl_test.h"

#include "faultline/choice.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/sim.h"
#include "core/clock.h"

/* The scheduler's tests mark their own points in any build: the actors
 * here race at these, and -Dfaultpoints=disabled compiles out the
 * transport's points, not the scheduler they are tested on. */
#undef FL_SCHED_POINT
#define FL_SCHED_POINT(name)                                                                       \
	do {                                                                                       \
		if (FL_POINTS_ARMED(fl_sched_armed))                                               \
			fl_sched_point_slow(name);                                                 \
	} while (0)

/* Rates are only printed; under memcheck fewer rounds keep the suite quick. */
static int
scale(int n)
{
	return getenv("FL_UNDER_VALGRIND") != NULL ? n / 10 : n;
}

/* A sim on cfg, scheduled by a new choice stream seeded with seed (put in
 * *c and cfg->choices); sim_close frees both. */
static struct fl_sim *
seeded_sim(struct fl_sim_config *cfg, uint64_t seed, struct fl_choice **c)
{
	struct fl_sim *sim;

	assert_fl(fl_choice_new_seeded(seed, c), 0);
	cfg->choices = *c;
	assert_fl(fl_sim_new(cfg, &sim), 0);
	return sim;
}

/* seeded_sim with the random scheduler for an odd seed, PCT for an even
 * one. */
static struct fl_sim *
alternating_sim(uint64_t seed, struct fl_choice **c)
{
	struct fl_sim_config cfg = { .kind = seed % 2 ? FL_SCHED_RANDOM : FL_SCHED_PCT };

	return seeded_sim(&cfg, seed, c);
}

/* Runs sim into *res: it must end with verdict want. */
static void
run_expect(struct fl_sim *sim, struct fl_sim_result *res, enum fl_sim_verdict want)
{
	assert_fl(fl_sim_run(sim, res), 0);
	assert_int_equal(res->verdict, want);
}

static void
sim_close(struct fl_sim *sim, struct fl_choice *c)
{
	fl_sim_free(sim);
	fl_choice_free(c);
}

/* ---- a toy with shared state and scheduling points -------------------- */

struct counter_toy {
	int value;
	int log[64];
	int nlog;
};

static void
counter_actor(void *arg)
{
	struct counter_toy *t = arg;

	for (int i = 0; i < 10; i++) {
		FL_SCHED_POINT("toy.read");
		int v = t->value;
		FL_SCHED_POINT("toy.write");
		t->value = v + 1;
		if (t->nlog < 64)
			t->log[t->nlog++] = v;
	}
}

static uint64_t
run_counter(uint64_t seed, enum fl_sched_kind kind, struct fl_choice **keep, int *value)
{
	struct fl_choice *c;
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = kind };
	struct fl_sim_result res;
	struct counter_toy toy = { 0 };

	sim = seeded_sim(&cfg, seed, &c);
	assert_fl(fl_sim_spawn(sim, "a", counter_actor, &toy, NULL), 0);
	assert_fl(fl_sim_spawn(sim, "b", counter_actor, &toy, NULL), 0);
	run_expect(sim, &res, FL_SIM_OK);
	assert_int_equal(fl_sim_trace_hash(sim), res.trace_hash);
	fl_sim_free(sim);
	*value = toy.value;
	if (keep != NULL)
		*keep = c;
	else
		fl_choice_free(c);
	return res.trace_hash;
}

static void
same_seed_same_trace_hash(void **state)
{
	int v1, v2, v3;
	uint64_t h1 = run_counter(1234, FL_SCHED_RANDOM, NULL, &v1);
	uint64_t h2 = run_counter(1234, FL_SCHED_RANDOM, NULL, &v2);
	uint64_t h3 = run_counter(1235, FL_SCHED_RANDOM, NULL, &v3);

	assert_int_equal(h1, h2);
	assert_int_equal(v1, v2);
	assert_int_not_equal(h1, h3);
	assert_true(v1 >= 2 && v1 <= 20); /* lost updates are possible, by design */
}

static void
replayed_choices_reproduce_the_trace(void **state)
{
	struct fl_choice *c, *r;
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM };
	struct fl_sim_result res;
	struct counter_toy toy = { 0 };
	int v;
	uint64_t h = run_counter(77, FL_SCHED_RANDOM, &c, &v);

	assert_fl(fl_choice_new_replay(fl_choice_values(c), fl_choice_count(c), &r), 0);
	cfg.choices = r;
	assert_fl(fl_sim_new(&cfg, &sim), 0);
	assert_fl(fl_sim_spawn(sim, "a", counter_actor, &toy, NULL), 0);
	assert_fl(fl_sim_spawn(sim, "b", counter_actor, &toy, NULL), 0);
	assert_fl(fl_sim_run(sim, &res), 0);
	assert_int_equal(res.trace_hash, h);
	assert_int_equal(toy.value, v);
	assert_false(fl_choice_exhausted(r));
	sim_close(sim, c);
	fl_choice_free(r);
}

/* ---- virtual time ------------------------------------------------------ */

struct sleeper {
	uint64_t woke_at;
	uint64_t started_at;
};

static void
sleeper_actor(void *arg)
{
	struct sleeper *s = arg;
	struct fl_idle st = { 0 };
	uint64_t deadline;

	s->started_at = fl_clock_now_ns();
	deadline = s->started_at + 10 * FL_NS_PER_SEC;
	while (fl_clock_now_ns() < deadline)
		fl_idle(&st, 0, deadline);
	s->woke_at = fl_clock_now_ns();
}

static void
ten_second_timeout_costs_nothing(void **state)
{
	struct fl_choice *c;
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM };
	struct fl_sim_result res;
	struct sleeper s = { 0 };
	double t0 = fli_mono_s();

	sim = seeded_sim(&cfg, 1, &c);
	assert_fl(fl_sim_spawn(sim, "sleeper", sleeper_actor, &s, NULL), 0);
	run_expect(sim, &res, FL_SIM_OK);
	assert_int_equal(s.woke_at - s.started_at, 10 * FL_NS_PER_SEC);
	assert_true(res.virtual_ns >= 10 * FL_NS_PER_SEC);
	assert_true(fli_mono_s() - t0 < 1.0);
	sim_close(sim, c);
}

/* Many short sleeps in a row with no work in between: each time step is
 * capped by the deadline while the idle quantum keeps doubling; it must
 * not overflow and stop the clock (regression: time stood still and the
 * run hit the step limit). */
static void
short_sleeps_actor(void *arg)
{
	int *done = arg;
	struct fl_idle st = { 0 };

	for (int i = 0; i < 200; i++) {
		uint64_t deadline = fl_clock_now_ns() + 1000;
		while (fl_clock_now_ns() < deadline)
			fl_idle(&st, 0, deadline);
		(*done)++;
	}
}

static void
many_short_sleeps_keep_time_moving(void **state)
{
	struct fl_choice *c;
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM, .max_steps = 100000 };
	struct fl_sim_result res;
	int done = 0;

	sim = seeded_sim(&cfg, 3, &c);
	assert_fl(fl_sim_spawn(sim, "napper", short_sleeps_actor, &done, NULL), 0);
	run_expect(sim, &res, FL_SIM_OK);
	assert_int_equal(done, 200);
	assert_true(res.virtual_ns >= 200 * 1000);
	sim_close(sim, c);
}

/* Short sleeps grow no quantum: after them, an actor that sleeps with no
 * deadline and is told to stop by a plain store (no work reported, as
 * fl_sock_close tells its worker) still sees it at a park re-check
 * (regression: 30 capped steps had grown the quantum past the deadlock
 * horizon; found by properties/reqrep_prop reqrep_ctx). */
struct stop_flag {
	volatile int stop, done;
};

static void
sleeps_then_stops_other(void *arg)
{
	struct stop_flag *f = arg;
	struct fl_idle st = { 0 };

	for (int i = 0; i < 30; i++)
		fl_idle_sleep_until(fl_clock_now_ns() + 5 * FL_NS_PER_MS);
	f->stop = 1;
	while (!f->done)
		fl_idle(&st, 0, FL_DEADLINE_NONE);
}

static void
waits_for_stop(void *arg)
{
	struct stop_flag *f = arg;
	struct fl_idle st = { 0 };

	while (!f->stop)
		fl_idle(&st, 0, FL_DEADLINE_NONE);
	f->done = 1;
}

static void
stop_after_short_sleeps_is_not_a_deadlock(void **state)
{
	/* Whether the worker re-checks before or after the store is the
	 * scheduler's choice: 16 seeds cover both orders. */
	for (uint64_t seed = 1; seed <= 16; seed++) {
		struct fl_choice *c;
		struct fl_sim *sim;
		struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM, .max_steps = 100000 };
		struct fl_sim_result res;
		struct stop_flag f = { 0, 0 };

		sim = seeded_sim(&cfg, seed, &c);
		assert_fl(fl_sim_spawn(sim, "worker", waits_for_stop, &f, NULL), 0);
		assert_fl(fl_sim_spawn(sim, "closer", sleeps_then_stops_other, &f, NULL), 0);
		assert_fl(fl_sim_run(sim, &res), 0);
		if (res.verdict != FL_SIM_OK)
			fail_msg("seed %llu: verdict %d (deadlock %d) after %llu steps",
			         (unsigned long long)seed, (int)res.verdict, (int)FL_SIM_DEADLOCK,
			         (unsigned long long)res.steps);
		assert_int_equal(f.done, 1);
		sim_close(sim, c);
	}
}

/* ---- deadlock and step limit ---------------------------------------------- */

static void
waits_forever(void *arg)
{
	struct fl_idle st = { 0 };
	volatile int *flag = arg;

	while (!*flag) {
		FL_SCHED_POINT("toy.wait.check");
		fl_idle(&st, 0, FL_DEADLINE_NONE);
	}
}

static void
deadlock_is_a_verdict_with_last_points(void **state)
{
	struct fl_choice *c;
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM };
	struct fl_sim_result res;
	volatile int flag = 0;

	sim = seeded_sim(&cfg, 3, &c);
	assert_fl(fl_sim_spawn(sim, "w1", waits_forever, (void *)&flag, NULL), 0);
	assert_fl(fl_sim_spawn(sim, "w2", waits_forever, (void *)&flag, NULL), 0);
	run_expect(sim, &res, FL_SIM_DEADLOCK);
	assert_int_equal(res.nactors, 2);
	assert_string_equal(res.actors[0].name, "w1");
	assert_int_equal(res.actors[0].state, FL_ACTOR_IDLE);
	assert_string_equal(res.actors[0].last_point, "idle");
	sim_close(sim, c);
}

static void
spinner(void *arg)
{
	for (;;)
		FL_SCHED_POINT("toy.spin");
}

static void
step_limit_is_a_verdict(void **state)
{
	struct fl_choice *c;
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM, .max_steps = 500 };
	struct fl_sim_result res;

	sim = seeded_sim(&cfg, 3, &c);
	assert_fl(fl_sim_spawn(sim, "spin", spinner, NULL, NULL), 0);
	run_expect(sim, &res, FL_SIM_STEP_LIMIT);
	assert_int_equal(res.steps, 500);
	assert_string_equal(res.actors[0].last_point, "toy.spin");
	sim_close(sim, c);
}

/* ---- locks and threads ----------------------------------------------------- */

struct locked_toy {
	fl_mutex mu;
	int value;
};

static void
locked_actor(void *arg)
{
	struct locked_toy *t = arg;

	for (int i = 0; i < 20; i++) {
		fl_mutex_lock(&t->mu);
		int v = t->value;
		FL_SCHED_POINT("toy.locked.read");
		t->value = v + 1;
		fl_mutex_unlock(&t->mu);
		FL_SCHED_POINT("toy.unlocked");
	}
}

static void
parent_actor(void *arg)
{
	fl_thread *t1, *t2;

	assert_fl(fl_thread_start(&t1, "child1", locked_actor, arg), 0);
	assert_fl(fl_thread_start(&t2, "child2", locked_actor, arg), 0);
	assert_fl(fl_thread_join(t1), 0);
	assert_fl(fl_thread_join(t2), 0);
}

static void
mutex_and_threads_are_actors(void **state)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct fl_choice *c;
		struct fl_sim *sim;
		struct fl_sim_result res;
		struct locked_toy toy = { .value = 0 };

		fl_mutex_init(&toy.mu);
		sim = alternating_sim(seed, &c);
		assert_fl(fl_sim_spawn(sim, "parent", parent_actor, &toy, NULL), 0);
		run_expect(sim, &res, FL_SIM_OK);
		assert_int_equal(res.nactors, 3);
		assert_int_equal(toy.value, 40); /* the lock makes updates atomic */
		sim_close(sim, c);
		fl_mutex_fini(&toy.mu);
	}
}

/* A thread that would wait forever: a heartbeat, a socket's worker. */
static void
forever_actor(void *arg)
{
	struct fl_idle st = { 0 };

	(void)arg;
	for (;;) {
		FL_SCHED_POINT("toy.forever");
		fl_idle(&st, 0, FL_DEADLINE_NONE);
	}
}

static void
crashing_parent(void *arg)
{
	fl_thread **t = arg;

	assert_fl(fl_thread_start(t, "worker", forever_actor, NULL), 0);
	FL_SCHED_POINT("toy.before_crash");
	fl_sim_crash_current();
}

/* Joins the dead parent's worker: it returns once the worker is gone. */
static void
bystander_actor(void *arg)
{
	fl_thread *volatile *t = arg;
	struct fl_idle st = { 0 };

	while (*t == NULL)
		fl_idle(&st, 1, FL_DEADLINE_NONE);
	assert_fl(fl_thread_join(*t), 0);
}

/* A crash is a process dying: the thread the crashed actor started dies
 * with it (it used to run on, and the run ended as a deadlock). */
static void
crash_takes_its_threads(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct fl_choice *c;
		struct fl_sim *sim;
		struct fl_sim_result res;
		fl_thread *worker = NULL;

		sim = alternating_sim(seed, &c);
		assert_fl(fl_sim_spawn(sim, "parent", crashing_parent, &worker, NULL), 0);
		assert_fl(fl_sim_spawn(sim, "bystander", bystander_actor, &worker, NULL), 0);
		run_expect(sim, &res, FL_SIM_OK);
		assert_int_equal(res.nactors, 3);
		for (size_t i = 0; i < res.nactors; i++)
			assert_string_equal(fl_sim_state_name(res.actors[i].state),
			                    strcmp(res.actors[i].name, "bystander") == 0
			                            ? "done"
			                            : "crashed");
		sim_close(sim, c);
	}
}

/* One run of the parent/two-children lock toy; returns the trace hash. */
static uint64_t
run_locked_family(struct fl_choice *c, enum fl_sched_kind kind, int *value)
{
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = kind, .choices = c };
	struct fl_sim_result res;
	struct locked_toy toy = { .value = 0 };
	uint64_t h;

	fl_mutex_init(&toy.mu);
	assert_fl(fl_sim_new(&cfg, &sim), 0);
	assert_fl(fl_sim_spawn(sim, "parent", parent_actor, &toy, NULL), 0);
	run_expect(sim, &res, FL_SIM_OK);
	h = res.trace_hash;
	*value = toy.value;
	fl_sim_free(sim);
	fl_mutex_fini(&toy.mu);
	return h;
}

static void
replay_reproduces_pct_with_threads_and_locks(void **state)
{
	for (uint64_t seed = 1; seed <= 10; seed++) {
		for (int k = 0; k < 2; k++) {
			enum fl_sched_kind kind = k ? FL_SCHED_PCT : FL_SCHED_RANDOM;
			struct fl_choice *c, *r;
			int v1, v2;
			uint64_t h1, h2;

			assert_fl(fl_choice_new_seeded(seed, &c), 0);
			h1 = run_locked_family(c, kind, &v1);
			assert_fl(fl_choice_new_replay(fl_choice_values(c), fl_choice_count(c), &r),
			          0);
			h2 = run_locked_family(r, kind, &v2);
			assert_int_equal(h1, h2);
			assert_int_equal(v1, 40);
			assert_int_equal(v2, 40);
			assert_false(fl_choice_exhausted(r));
			fl_choice_free(c);
			fl_choice_free(r);
		}
	}
}

static void
all_zero_choices_are_a_valid_schedule(void **state)
{
	/* What a shrinker reaches by deleting every span: an empty replay
	 * answers 0 everywhere, and that must still be a legal run. */
	for (int k = 0; k < 2; k++) {
		struct fl_choice *r;
		int v;

		assert_fl(fl_choice_new_replay(NULL, 0, &r), 0);
		run_locked_family(r, k ? FL_SCHED_PCT : FL_SCHED_RANDOM, &v);
		assert_int_equal(v, 40);
		assert_true(fl_choice_exhausted(r));
		fl_choice_free(r);
	}
}

/*
 * A lock waiter must be able to win the lock right after the holder
 * releases it, while the holder still has work to do: otherwise schedules
 * that hand a lock over are never explored.
 */
struct handoff_toy {
	fl_mutex mu;
	int held;
	int last_holder;
	int left[2];
	int handoffs;
	int total;
};

struct handoff_arg {
	struct handoff_toy *t;
	int me;
};

static void
handoff_actor(void *arg)
{
	struct handoff_arg *h = arg;
	struct handoff_toy *t = h->t;
	int other = 1 - h->me;

	while (t->left[h->me] > 0) {
		FL_SCHED_POINT("toy.before_lock");
		int contended = t->held; /* no point between this and the try */
		fl_mutex_lock(&t->mu);
		t->held = 1;
		if (contended && t->last_holder == other && t->left[other] > 0)
			t->handoffs++;
		t->last_holder = h->me;
		FL_SCHED_POINT("toy.locked");
		t->left[h->me]--;
		t->total++;
		t->held = 0;
		fl_mutex_unlock(&t->mu);
		FL_SCHED_POINT("toy.unlocked");
	}
}

static void
blocked_waiter_can_win_the_lock(void **state)
{
	int runs_with_handoff = 0;

	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct fl_choice *c;
		struct fl_sim *sim;
		struct fl_sim_result res;
		struct handoff_toy toy = { .last_holder = -1, .left = { 5, 5 } };
		struct handoff_arg a0 = { &toy, 0 }, a1 = { &toy, 1 };

		fl_mutex_init(&toy.mu);
		sim = alternating_sim(seed, &c);
		assert_fl(fl_sim_spawn(sim, "h0", handoff_actor, &a0, NULL), 0);
		assert_fl(fl_sim_spawn(sim, "h1", handoff_actor, &a1, NULL), 0);
		run_expect(sim, &res, FL_SIM_OK);
		assert_int_equal(toy.total, 10);
		if (toy.handoffs > 0)
			runs_with_handoff++;
		sim_close(sim, c);
		fl_mutex_fini(&toy.mu);
	}
	printf("# lock hand-offs to a blocked waiter in %d of 40 runs\n", runs_with_handoff);
	assert_true(runs_with_handoff > 0);
}

/* Two locks taken in opposite orders: some schedule deadlocks, and the
 * verdict names both actors blocked on a mutex. */
struct abba_toy {
	fl_mutex l1, l2;
};

/* Takes first, then (after the point) second; releases both. */
static void
lock_both(fl_mutex *first, fl_mutex *second, const char *point)
{
	fl_mutex_lock(first);
	FL_SCHED_POINT(point);
	fl_mutex_lock(second);
	fl_mutex_unlock(second);
	fl_mutex_unlock(first);
}

static void
ab_actor(void *arg)
{
	struct abba_toy *t = arg;

	lock_both(&t->l1, &t->l2, "toy.ab.holds_1");
}

static void
ba_actor(void *arg)
{
	struct abba_toy *t = arg;

	lock_both(&t->l2, &t->l1, "toy.ba.holds_2");
}

static void
lock_order_deadlock_is_a_verdict(void **state)
{
	int ok = 0, deadlocks = 0;

	for (uint64_t seed = 1; seed <= 30; seed++) {
		struct fl_choice *c;
		struct fl_sim *sim;
		struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM };
		struct fl_sim_result res;
		struct abba_toy toy;
		double t0 = fli_mono_s();

		fl_mutex_init(&toy.l1);
		fl_mutex_init(&toy.l2);
		sim = seeded_sim(&cfg, seed, &c);
		assert_fl(fl_sim_spawn(sim, "ab", ab_actor, &toy, NULL), 0);
		assert_fl(fl_sim_spawn(sim, "ba", ba_actor, &toy, NULL), 0);
		assert_fl(fl_sim_run(sim, &res), 0);
		assert_true(fli_mono_s() - t0 < 1.0);
		if (res.verdict == FL_SIM_DEADLOCK) {
			deadlocks++;
			for (int i = 0; i < 2; i++) {
				assert_int_equal(res.actors[i].state, FL_ACTOR_BLOCKED);
				assert_string_equal(res.actors[i].last_point, "mutex");
			}
			/* The abandoned actors hold one lock each. */
			fl_mutex_unlock(&toy.l1);
			fl_mutex_unlock(&toy.l2);
		} else {
			assert_int_equal(res.verdict, FL_SIM_OK);
			ok++;
		}
		sim_close(sim, c);
		fl_mutex_fini(&toy.l1);
		fl_mutex_fini(&toy.l2);
	}
	printf("# lock-order toy: %d deadlocks, %d clean runs of 30\n", deadlocks, ok);
	assert_true(deadlocks > 0);
	assert_true(ok > 0);
}

/* ---- PCT against free threads on a planted race ---------------------------- */

/*
 * A close/poll race in miniature: the poller checks that the buffer is
 * mapped, then reads it; the closer unmaps it.  The bug needs two ordering
 * constraints (check before unmap, unmap before read): depth 2.
 */
struct race_toy {
	volatile int mapped;
	volatile int crashed;
	volatile int work;
};

/* Three steps of work, each after the point. */
static void
prepare(struct race_toy *t, const char *point)
{
	for (int i = 0; i < 3; i++) {
		FL_SCHED_POINT(point);
		t->work++;
	}
}

static void
poller(void *arg)
{
	struct race_toy *t = arg;

	prepare(t, "poll.prepare");
	FL_SCHED_POINT("poll.check");
	if (t->mapped) {
		FL_SCHED_POINT("poll.read");
		if (!t->mapped)
			t->crashed = 1; /* would be a SIGSEGV on the unmapped buffer */
	}
}

static void
closer(void *arg)
{
	struct race_toy *t = arg;

	prepare(t, "close.prepare");
	FL_SCHED_POINT("close.unmap");
	t->mapped = 0;
}

static int
pct_schedules_to_find_race(unsigned depth, uint64_t pct_steps)
{
	for (int run = 1; run <= 1000; run++) {
		struct fl_choice *c;
		struct fl_sim *sim;
		struct fl_sim_config cfg = { .kind = FL_SCHED_PCT,
			                     .pct_depth = depth,
			                     .pct_steps = pct_steps };
		struct fl_sim_result res;
		struct race_toy toy = { .mapped = 1 };

		sim = seeded_sim(&cfg, (uint64_t)run, &c);
		assert_fl(fl_sim_spawn(sim, "poller", poller, &toy, NULL), 0);
		assert_fl(fl_sim_spawn(sim, "closer", closer, &toy, NULL), 0);
		assert_fl(fl_sim_run(sim, &res), 0);
		sim_close(sim, c);
		if (toy.crashed)
			return run;
	}
	return -1;
}

static int
stress_tries_to_find_race(int max_tries)
{
	for (int run = 1; run <= max_tries; run++) {
		struct race_toy toy = { .mapped = 1 };
		struct fl_stress_actor actors[] = {
			{ "poller", poller, &toy },
			{ "closer", closer, &toy },
		};

		assert_fl(fl_stress_run(actors, 2, NULL), 0);
		if (toy.crashed)
			return run;
	}
	return -1;
}

static void
pct_finds_planted_race_within_100_schedules(void **state)
{
	int pct = pct_schedules_to_find_race(2, 10);
	int pct_scaled = pct_schedules_to_find_race(2, 0);
	int pct3 = pct_schedules_to_find_race(3, 0);
	int stress = stress_tries_to_find_race(2000);

	printf("# planted race: PCT(d=2, k=10) found it at schedule %d, PCT(d=2, drawn scale) at "
	       "%d, "
	       "PCT(d=3, drawn scale) at %d; free threads (fl_stress_run): %s%d tries\n",
	       pct, pct_scaled, pct3, stress < 0 ? "not found in " : "found at ",
	       stress < 0 ? 2000 : stress);
	assert_true(pct > 0 && pct <= 100);
	/* Without a step estimate (pct_steps 0) the change points are spread
	 * over a drawn scale of at least 32 steps, far longer than this toy:
	 * reported, not asserted.  Give PCT an estimate of the run length. */
	(void)pct_scaled;
	(void)pct3;
	/* Free threads are reported, not asserted: whether they hit the
	 * window is timing luck, which is the point of the comparison. */
}

/* The runner's estimate (cli/main.c pct_estimate): the step count of one
 * clean run under the uniform scheduler. */
static uint64_t
race_toy_clean_steps(void)
{
	struct fl_choice *c;
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM };
	struct fl_sim_result res;
	struct race_toy toy = { .mapped = 1 };

	sim = seeded_sim(&cfg, 1, &c);
	assert_fl(fl_sim_spawn(sim, "poller", poller, &toy, NULL), 0);
	assert_fl(fl_sim_spawn(sim, "closer", closer, &toy, NULL), 0);
	assert_fl(fl_sim_run(sim, &res), 0);
	sim_close(sim, c);
	return res.steps;
}

static void
pct_with_measured_step_estimate_finds_race(void **state)
{
	uint64_t k = race_toy_clean_steps();
	int d2 = pct_schedules_to_find_race(2, k);
	int d3 = pct_schedules_to_find_race(3, k);
	int stress = stress_tries_to_find_race(2000);

	(void)state;
	printf("# planted race, change points over a clean run's %llu steps: PCT d=2 at schedule "
	       "%d, "
	       "d=3 at %d; free threads: %s%d tries\n",
	       (unsigned long long)k, d2, d3, stress < 0 ? "not found in " : "found at ",
	       stress < 0 ? 2000 : stress);
	assert_true(k > 0);
	assert_true(d2 > 0 && d2 <= 100);
	assert_true(d3 > 0 && d3 <= 100);
}

static void
stress_runs_actors_on_real_threads(void **state)
{
	struct locked_toy toy = { .value = 0 };
	struct fl_stress_actor actors[] = {
		{ "l1", locked_actor, &toy },
		{ "l2", locked_actor, &toy },
		{ "l3", locked_actor, &toy },
	};
	struct fl_stress_result res;

	fl_mutex_init(&toy.mu);
	assert_fl(fl_stress_run(actors, 3, &res), 0);
	assert_int_equal(toy.value, 60);
	assert_true(res.wall_ns > 0);
	assert_fl(fl_stress_run(actors, 0, &res), FL_EINVAL);
	fl_mutex_fini(&toy.mu);
}

static void
points_actor(void *arg)
{
	(void)arg;
	for (int i = 0; i < 150; i++)
		FL_SCHED_POINT("toy.point");
}

static void
switch_rate(void **state)
{
	struct fl_choice *c;
	struct fl_sim *sim;
	struct fl_sim_config cfg = { .kind = FL_SCHED_RANDOM,
		                     .max_steps = (uint64_t)scale(200000) };
	struct fl_sim_result res;
	double t0;

	sim = seeded_sim(&cfg, 9, &c);
	assert_fl(fl_sim_spawn(sim, "s1", spinner, NULL, NULL), 0);
	assert_fl(fl_sim_spawn(sim, "s2", spinner, NULL, NULL), 0);
	t0 = fli_mono_s();
	assert_fl(fl_sim_run(sim, &res), 0);
	double dt = fli_mono_s() - t0;
	printf("# sim: %.0f scheduling steps/s, %.0f context switches/s "
	       "(%llu steps, two actors, random scheduler)\n",
	       res.steps / dt, 2.0 * res.switches / dt, (unsigned long long)res.steps);
	assert_int_equal(res.verdict, FL_SIM_STEP_LIMIT);
	sim_close(sim, c);

	/* Whole schedules: a fresh sim, two actors, 300 scheduling points
	 * a run, the cost a runner pays per run (stacks, choices included). */
	int runs = 0;
	uint64_t steps = 0;
	t0 = fli_mono_s();
	for (uint64_t seed = 1; seed <= (uint64_t)scale(2000); seed++) {
		sim = alternating_sim(seed, &c);
		assert_fl(fl_sim_spawn(sim, "a", points_actor, NULL, NULL), 0);
		assert_fl(fl_sim_spawn(sim, "b", points_actor, NULL, NULL), 0);
		run_expect(sim, &res, FL_SIM_OK);
		steps += res.steps;
		sim_close(sim, c);
		runs++;
	}
	dt = fli_mono_s() - t0;
	printf("# sim: %.0f schedules/s of %llu steps each (two actors, fresh sim and stacks "
	       "each)\n",
	       runs / dt, (unsigned long long)(steps / (uint64_t)runs));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_seed_same_trace_hash),
		cmocka_unit_test(replayed_choices_reproduce_the_trace),
		cmocka_unit_test(ten_second_timeout_costs_nothing),
		cmocka_unit_test(many_short_sleeps_keep_time_moving),
		cmocka_unit_test(deadlock_is_a_verdict_with_last_points),
		cmocka_unit_test(step_limit_is_a_verdict),
		cmocka_unit_test(mutex_and_threads_are_actors),
		cmocka_unit_test(crash_takes_its_threads),
		cmocka_unit_test(replay_reproduces_pct_with_threads_and_locks),
		cmocka_unit_test(all_zero_choices_are_a_valid_schedule),
		cmocka_unit_test(blocked_waiter_can_win_the_lock),
		cmocka_unit_test(lock_order_deadlock_is_a_verdict),
		cmocka_unit_test(stress_runs_actors_on_real_threads),
		cmocka_unit_test(pct_finds_planted_race_within_100_schedules),
		cmocka_unit_test(pct_with_measured_step_estimate_finds_race),
		cmocka_unit_test(stop_after_short_sleeps_is_not_a_deadlock),
		cmocka_unit_test(switch_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
