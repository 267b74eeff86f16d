/* The fault engine: nth/after/probability rules, hit counting, actions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "fl_test.h"

#include "faultline/choice.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/faults.h"

#define POINT "transport/shm/map"

static int
hit(int times, int *fired)
{
	*fired = 0;
	for (int i = 0; i < times; i++)
		if (FL_FAULT(POINT))
			(*fired)++;
	return times;
}

/* An armed fault engine with the one rule r (drawing from c, calling h). */
static struct fl_faults *
armed(struct fl_choice *c, const struct fl_fault_hooks *h, const struct fl_fault_rule *r)
{
	struct fl_faults *f;

	assert_fl(fl_faults_new(c, h, &f), 0);
	assert_fl(fl_faults_add(f, r), 0);
	assert_fl(fl_faults_arm(f), 0);
	return f;
}

static void
nth_fires_once(void **state)
{
	struct fl_faults *f;
	struct fl_fault_rule r = { .point = POINT,
		                   .action = FL_FAULT_ERROR,
		                   .when = FL_WHEN_NTH,
		                   .n = 3 };
	int fired;
	uint64_t first_hit;

	f = armed(NULL, NULL, &r);
	hit(10, &fired);
	assert_int_equal(fired, 1);
	assert_int_equal(fl_faults_hits(f, POINT), 10);
	assert_int_equal(fl_faults_fired(f, POINT), 1);
	assert_string_equal(fl_faults_first_fired(f, &first_hit), POINT);
	assert_int_equal(first_hit, 3);
	fl_faults_free(f);
	/* Disarmed: nothing fires, nothing is counted. */
	hit(5, &fired);
	assert_int_equal(fired, 0);
}

/* Rules on one point each count every hit of it, whichever fired:
 * nth 1, 2 and 3 fail the first three hits (the scenario B2's fixture
 * writes), where a rule that did not count the hits another rule fired
 * at would fire at the 3rd, 5th... or never. */
static void
nth_rules_on_one_point_count_every_hit(void **state)
{
	struct fl_faults *f;
	struct fl_fault_rule r = { .point = POINT, .action = FL_FAULT_ERROR, .when = FL_WHEN_NTH };
	int fired, seq[6];

	(void)state;
	assert_fl(fl_faults_new(NULL, NULL, &f), 0);
	for (uint64_t n = 1; n <= 3; n++) {
		r.n = n;
		assert_fl(fl_faults_add(f, &r), 0);
	}
	assert_fl(fl_faults_arm(f), 0);
	for (int i = 0; i < 6; i++) {
		hit(1, &fired);
		seq[i] = fired;
	}
	assert_int_equal(seq[0] + seq[1] + seq[2], 3);
	assert_int_equal(seq[3] + seq[4] + seq[5], 0);
	assert_int_equal(fl_faults_fired(f, POINT), 3);
	fl_faults_free(f);
}

static void
after_fires_persistently(void **state)
{
	struct fl_faults *f;
	struct fl_fault_rule r = { .point = "transport/shm/*",
		                   .action = FL_FAULT_ERROR,
		                   .when = FL_WHEN_AFTER,
		                   .n = 4 };
	int fired;

	f = armed(NULL, NULL, &r);
	hit(10, &fired);
	assert_int_equal(fired, 7);
	assert_int_equal(fl_faults_total_fired(f), 7);
	fl_faults_free(f);
}

static void
probability_is_replayable(void **state)
{
	struct fl_choice *c, *rc;
	struct fl_faults *f;
	struct fl_fault_rule r = { .point = POINT,
		                   .action = FL_FAULT_ERROR,
		                   .when = FL_WHEN_PROB,
		                   .p = 0.5 };
	int fired1, fired2;

	assert_fl(fl_choice_new_seeded(42, &c), 0);
	f = armed(c, NULL, &r);
	hit(200, &fired1);
	fl_faults_free(f);
	assert_true(fired1 > 50 && fired1 < 150);

	assert_fl(fl_choice_new_replay(fl_choice_values(c), fl_choice_count(c), &rc), 0);
	f = armed(rc, NULL, &r);
	hit(200, &fired2);
	fl_faults_free(f);
	assert_int_equal(fired1, fired2);
	assert_int_equal(fl_choice_hash(c), fl_choice_hash(rc));
	fl_choice_free(c);
	fl_choice_free(rc);
}

static int crashes;
static void
fake_crash(void *arg, const char *point)
{
	crashes++;
	assert_string_equal(point, POINT);
}

static void
crash_action_runs_outside_libfiu(void **state)
{
	struct fl_faults *f;
	struct fl_fault_hooks h = { .crash = fake_crash };
	struct fl_fault_rule r = { .point = POINT,
		                   .action = FL_FAULT_CRASH,
		                   .when = FL_WHEN_NTH,
		                   .n = 2 };
	int fired;

	f = armed(NULL, &h, &r);
	hit(3, &fired);
	assert_int_equal(fired, 0); /* a crash is not an error return */
	assert_int_equal(crashes, 1);
	fl_faults_free(f);
}

static void
unknown_point_rejected(void **state)
{
	struct fl_faults *f;
	struct fl_fault_rule r = { .point = "transport/nope/never", .when = FL_WHEN_ALWAYS };
	struct fl_fault_rule bad_p = { .point = POINT, .when = FL_WHEN_PROB, .p = 1.5 };

	assert_fl(fl_faults_new(NULL, NULL, &f), 0);
	assert_fl(fl_faults_add(f, &r), FL_EINVAL);
	assert_fl(fl_faults_add(f, &bad_p), FL_EINVAL);
	assert_true(fl_fault_point_index(POINT) >= 0);
	assert_int_equal(fl_fault_point_index("x"), -1);
	/* Every point is found at its own index, by a copy of its name
	 * too (the lookup hashes the text, not the pointer); a name one
	 * character short or long is not that point. */
	for (size_t i = 0; i < fl_fault_point_count(); i++) {
		char copy[128], cut[128], more[130];
		const char *name = fl_fault_points()[i];

		snprintf(copy, sizeof(copy), "%s", name);
		snprintf(cut, sizeof(cut), "%.*s", (int)strlen(name) - 1, name);
		snprintf(more, sizeof(more), "%sx", name);
		assert_int_equal(fl_fault_point_index(name), (int)i);
		assert_int_equal(fl_fault_point_index(copy), (int)i);
		for (int k = 0; k < 2; k++) {
			const char *other = k == 0 ? cut : more;
			int j = fl_fault_point_index(other);

			/* (Unless that is another point's name.) */
			assert_true(j == -1 || strcmp(fl_fault_points()[j], other) == 0);
			assert_int_not_equal(j, (int)i);
		}
	}
	fl_faults_free(f);
}

static bool silence_flag;

static bool
silenced(void *arg)
{
	(void)arg;
	return silence_flag;
}

/* Once the hook says so (a cluster's heal), no rule fires, a probability
 * rule draws no choice, and hits are still counted. */
static void
silenced_rules_never_fire(void **state)
{
	struct fl_choice *c;
	struct fl_faults *f;
	struct fl_fault_hooks h = { .silenced = silenced };
	struct fl_fault_rule r = { .point = POINT,
		                   .action = FL_FAULT_ERROR,
		                   .when = FL_WHEN_PROB,
		                   .p = 0.5 };
	int fired, before;
	size_t draws;

	(void)state;
	assert_fl(fl_choice_new_seeded(7, &c), 0);
	silence_flag = false;
	f = armed(c, &h, &r);
	hit(20, &fired);
	assert_true(fired > 0 && fired < 20); /* seed 7: deterministic */
	draws = fl_choice_count(c);
	assert_int_equal(draws, 20); /* one draw a hit */
	silence_flag = true;
	hit(20, &before);
	assert_int_equal(before, 0);
	assert_int_equal(fl_choice_count(c), draws);
	assert_int_equal(fl_faults_hits(f, POINT), 40);
	assert_int_equal(fl_faults_fired(f, POINT), (uint64_t)fired);
	silence_flag = false;
	fl_faults_free(f);
	fl_choice_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nth_fires_once),
		cmocka_unit_test(nth_rules_on_one_point_count_every_hit),
		cmocka_unit_test(silenced_rules_never_fire),
		cmocka_unit_test(after_fires_persistently),
		cmocka_unit_test(probability_is_replayable),
		cmocka_unit_test(crash_action_runs_outside_libfiu),
		cmocka_unit_test(unknown_point_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
