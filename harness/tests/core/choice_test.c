/* The choice stream: bounds, recording, replay, 0-fill, spans, hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl_test.h"

#include "faultline/choice.h"

static void
draws_stay_in_bounds(void **state)
{
	struct fl_choice *c;
	unsigned seen[7] = { 0 };

	assert_fl(fl_choice_new_seeded(1, &c), 0);
	for (int i = 0; i < 7000; i++) {
		uint64_t v = fl_choice_draw(c, 7);
		assert_true(v < 7);
		seen[v]++;
	}
	for (int i = 0; i < 7; i++)
		assert_true(seen[i] > 800 && seen[i] < 1200); /* roughly uniform */
	for (int i = 0; i < 1000; i++) {
		int64_t r = fl_choice_range(c, -5, 5);
		assert_true(r >= -5 && r <= 5);
	}
	assert_int_equal(fl_choice_count(c), 8000);
	fl_choice_free(c);
}

static void
same_seed_same_stream(void **state)
{
	struct fl_choice *a, *b, *d;

	assert_fl(fl_choice_new_seeded(99, &a), 0);
	assert_fl(fl_choice_new_seeded(99, &b), 0);
	assert_fl(fl_choice_new_seeded(100, &d), 0);
	for (int i = 0; i < 100; i++) {
		uint64_t x = fl_choice_draw(a, 1000);
		assert_int_equal(x, fl_choice_draw(b, 1000));
		fl_choice_draw(d, 1000);
	}
	assert_int_equal(fl_choice_hash(a), fl_choice_hash(b));
	assert_int_not_equal(fl_choice_hash(a), fl_choice_hash(d));
	fl_choice_free(a);
	fl_choice_free(b);
	fl_choice_free(d);
}

static void
replay_reproduces_then_fills_zero(void **state)
{
	struct fl_choice *a, *r;
	uint64_t first[50];

	assert_fl(fl_choice_new_seeded(7, &a), 0);
	for (int i = 0; i < 50; i++)
		first[i] = fl_choice_draw(a, 1u << 20);
	assert_fl(fl_choice_new_replay(fl_choice_values(a), 50, &r), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(fl_choice_draw(r, 1u << 20), first[i]);
	assert_false(fl_choice_exhausted(r));
	assert_fl(fl_choice_draw(r, 10), 0);
	assert_true(fl_choice_exhausted(r));
	fl_choice_free(a);
	fl_choice_free(r);
}

static void
replayed_value_out_of_range_is_reduced(void **state)
{
	uint64_t vals[] = { 25, 3 };
	struct fl_choice *r;

	assert_fl(fl_choice_new_replay(vals, 2, &r), 0);
	assert_int_equal(fl_choice_draw(r, 10), 5);
	assert_int_equal(fl_choice_draw(r, 10), 3);
	fl_choice_free(r);
}

static void
zero_stream_is_simplest(void **state)
{
	struct fl_choice *r;

	assert_fl(fl_choice_new_replay(NULL, 0, &r), 0);
	assert_false(fl_choice_weighted(r, 99, 100));
	assert_int_equal(fl_choice_range(r, 3, 9), 3);
	assert_fl(fl_choice_draw(r, 0), 0);
	fl_choice_free(r);
}

static void
weighted_respects_probability(void **state)
{
	struct fl_choice *c;
	int yes = 0;

	assert_fl(fl_choice_new_seeded(5, &c), 0);
	for (int i = 0; i < 10000; i++)
		yes += fl_choice_weighted(c, 1, 4);
	assert_true(yes > 2200 && yes < 2800);
	assert_false(fl_choice_weighted(c, 0, 4));
	/* Certain outcomes draw nothing. */
	size_t before = fl_choice_count(c);
	assert_true(fl_choice_weighted(c, 1, 1));
	assert_true(fl_choice_weighted(c, 5, 4));
	assert_false(fl_choice_weighted(c, 3, 0));
	assert_int_equal(fl_choice_count(c), before);
	fl_choice_free(c);
}

static void
spans_nest_and_empty_ones_vanish(void **state)
{
	struct fl_choice *c;
	const struct fl_choice_span *s;

	assert_fl(fl_choice_new_seeded(3, &c), 0);
	fl_choice_span_begin(c, "op");
	fl_choice_draw(c, 5);
	fl_choice_span_begin(c, "arg");
	fl_choice_draw(c, 5);
	fl_choice_draw(c, 5);
	fl_choice_span_end(c);
	fl_choice_span_end(c);
	fl_choice_span_begin(c, "empty");
	fl_choice_span_end(c);
	fl_choice_draw(c, 5);
	assert_int_equal(fl_choice_span_count(c), 2);
	s = fl_choice_spans(c);
	assert_string_equal(s[0].label, "op");
	assert_int_equal(s[0].start, 0);
	assert_int_equal(s[0].end, 3);
	assert_string_equal(s[1].label, "arg");
	assert_int_equal(s[1].start, 1);
	assert_int_equal(s[1].end, 3);
	fl_choice_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(draws_stay_in_bounds),
		cmocka_unit_test(same_seed_same_stream),
		cmocka_unit_test(replay_reproduces_then_fills_zero),
		cmocka_unit_test(replayed_value_out_of_range_is_reduced),
		cmocka_unit_test(zero_stream_is_simplest),
		cmocka_unit_test(weighted_respects_probability),
		cmocka_unit_test(spans_nest_and_empty_ones_vanish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
