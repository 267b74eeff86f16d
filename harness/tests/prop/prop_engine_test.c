/*
 * The property engine finds planted bugs and shrinks them to the known
 * minimal counterexample; generators; seeds; traces; bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl_test.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/prop.h"
#include "toys.h"

#include "../children.h"

/* A fixed seed, fork on, quiet unless FL_PROP_VERBOSE. */
static void
config(struct fl_prop_config *cfg, uint64_t seed, unsigned trials)
{
	fl_prop_config_init(cfg, NULL);
	cfg->seed = seed;
	cfg->trials = trials;
	cfg->max_shrinks = 2000;
	cfg->trial_timeout_ms = under_valgrind() ? 20000 : 5000;
	cfg->trace_dir = NULL;
	cfg->quiet = getenv("FL_PROP_VERBOSE") == NULL;
}

/* Checks prop under cfg into *rep (the caller finis it); fails the test
 * unless a counterexample was found. */
static void
check_fails(const struct fl_prop_config *cfg, const struct fl_prop_def *prop,
            struct fl_prop_report *rep)
{
	int rc = fl_prop_check(cfg, prop, rep);
	if (rc != FL_PROP_FAIL)
		fail_msg("%s: fl_prop_check returned %d, want FL_PROP_FAIL (%d)", prop->name, rc,
		         FL_PROP_FAIL);
}

/* Fails the test unless the counterexample is the one choice want. */
static void
assert_one_choice(const struct fl_prop_report *rep, uint64_t want)
{
	if (rep->nchoices != 1 || rep->choices[0] != want)
		fail_msg("counterexample of %zu choices, first %llu; want the one choice %llu",
		         rep->nchoices, rep->nchoices ? (unsigned long long)rep->choices[0] : 0ull,
		         (unsigned long long)want);
}

/* Frees rep, then fails the test if the run left a child behind. */
static void
fini_no_children(struct fl_prop_report *rep)
{
	fl_prop_report_fini(rep);
	assert_no_children();
}

static unsigned
count_lines_with(const char *log, const char *needle)
{
	unsigned n = 0;
	for (const char *p = log; p && (p = strstr(p, needle)); p++)
		n += p == log || p[-1] == '\n';
	return n;
}

/* ---------------- generators ---------------- */

static void
test_gen_zero_stream_is_simplest(void **state)
{
	(void)state;
	struct fl_choice *c;
	assert_fl(fl_choice_new_replay(NULL, 0, &c), 0);
	assert_int_equal(fl_gen_u64(c, 5, 10), 5);
	assert_fl(fl_gen_i64(c, -5, 5), 0);
	assert_int_equal(fl_gen_i64(c, -10, -3), -3);
	assert_int_equal(fl_gen_i64(c, 3, 10), 3);
	assert_false(fl_gen_bool(c));
	assert_false(fl_gen_weighted(c, 99, 100));
	assert_fl(fl_gen_one_of(c, 7), 0);
	static const uint32_t w[] = { 0, 0, 3, 1 };
	assert_int_equal(fl_gen_one_of_weighted(c, w, 4), 2);
	assert_fl(fl_gen_size(c, 1000), 0);
	uint8_t buf[16];
	assert_int_equal(fl_gen_bytes(c, buf, 2, 16), 2);
	assert_int_equal(buf[0], 0);
	struct fl_gen_list l;
	fl_gen_list_begin(&l, c, 0, 10, 5);
	assert_false(fl_gen_list_next(&l));
	fl_gen_list_begin(&l, c, 2, 10, 5);
	assert_true(fl_gen_list_next(&l));
	assert_true(fl_gen_list_next(&l));
	assert_false(fl_gen_list_next(&l));
	fl_choice_free(c);
}

static void
test_gen_order_and_bounds(void **state)
{
	(void)state;
	/* Draws 0,1,2,3,4 give 0,1,-1,2,-2 when 0 is inside the range; the
	 * longer side continues once the shorter one is used up. */
	static const uint64_t d[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	static const int64_t want[] = { 0, 1, -1, 2, -2, 3, 4, 5 };
	struct fl_choice *c;
	assert_fl(fl_choice_new_replay(d, 8, &c), 0);
	for (int i = 0; i < 8; i++) {
		int64_t v = fl_gen_i64(c, -2, 100);
		if (v != want[i])
			fail_msg("draw %d: got %" PRId64 ", want %" PRId64, i, v, want[i]);
	}
	fl_choice_free(c);

	assert_fl(fl_choice_new_seeded(99, &c), 0);
	for (int i = 0; i < 2000; i++) {
		int64_t v = fl_gen_i64(c, -7, 3);
		assert_in_range(v + 7, 0, 10);
		uint64_t u = fl_gen_u64(c, 10, 20);
		assert_in_range(u, 10, 20);
		size_t s = fl_gen_size(c, 64);
		assert_in_range(s, 0, 64);
		assert_in_range(fl_gen_one_of(c, 3), 0, 2);
	}
	uint64_t full = fl_gen_u64(c, 0, UINT64_MAX);
	(void)full;
	fl_choice_free(c);
	/* The extremes of the full signed range. */
	static const uint64_t ext[] = { UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 2 };
	assert_fl(fl_choice_new_replay(ext, 3, &c), 0);
	assert_true(fl_gen_i64(c, INT64_MIN, INT64_MAX) == INT64_MIN);
	assert_true(fl_gen_i64(c, INT64_MIN, INT64_MAX) == -INT64_MAX);
	assert_true(fl_gen_i64(c, INT64_MIN, INT64_MAX) == INT64_MAX);
	fl_choice_free(c);
}

/* fl_gen_edge: an all-zero stream takes the plain path; a recorded
 * boundary decodes as documented; about 1 draw in 8 is a boundary, every
 * boundary of the range is reached and nothing else is returned. */
static bool
is_boundary_0_1000(uint64_t v)
{
	/* lo 0, hi 1000, multiples of 100 and the point 512, each +-1. */
	return v == 0 || v == 1000 || (v >= 99 && (v % 100 <= 1 || v % 100 == 99)) ||
	       (v >= 511 && v <= 513);
}

static void
test_gen_edges(void **state)
{
	(void)state;
	static const uint64_t pt = 512;
	static const struct fl_gen_edges e = { 100, &pt, 1 };
	struct fl_choice *c;
	uint64_t v = 77;

	assert_fl(fl_choice_new_replay(NULL, 0, &c), 0);
	assert_false(fl_gen_edge(c, 0, 1000, &e, &v));
	assert_int_equal(v, 77); /* untouched on the plain path */
	assert_int_equal(fl_gen_size_edges(c, 5, 1000, &e), 5);
	fl_choice_free(c);
	/* No draw at all for a fixed size. */
	assert_fl(fl_choice_new_seeded(1, &c), 0);
	assert_false(fl_gen_edge(c, 9, 9, &e, &v));
	assert_int_equal(fl_gen_size_edges(c, 9, 9, &e), 9);
	assert_fl(fl_choice_count(c), 0);
	fl_choice_free(c);
	/* Recorded: flag (1 = true), kind (lo, multiple, point, hi), the
	 * multiple's k - kmin or the point's index, offset (0, -1, +1). */
	static const uint64_t rec[] = { 1, 0, 1, 3, 1, 1, 0, 0, 1, 1, 2, 1, 1, 1, 9, 2, 1, 2, 2 };
	static const uint64_t want[] = { 0, 1000, 100, 299, 1000, 513 };
	assert_fl(fl_choice_new_replay(rec, sizeof rec / sizeof rec[0], &c), 0);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_true(fl_gen_edge(c, 0, 1000, &e, &v));
		if (v != want[i])
			fail_msg("boundary %zu: got %" PRIu64 ", want %" PRIu64, i, v, want[i]);
	}
	fl_choice_free(c);
	/* Multiples below lo - 1 are not boundaries of [250, 1000]: k starts
	 * at 3 (299, 300, 301). */
	static const uint64_t rec2[] = { 1, 1, 0, 1 };
	assert_fl(fl_choice_new_replay(rec2, 4, &c), 0);
	assert_true(fl_gen_edge(c, 250, 1000, &e, &v));
	assert_int_equal(v, 299);
	fl_choice_free(c);

	enum { N = 8000 };
	unsigned edges = 0, seen[1001] = { 0 };
	assert_fl(fl_choice_new_seeded(7, &c), 0);
	for (int i = 0; i < N; i++) {
		if (!fl_gen_edge(c, 0, 1000, &e, &v))
			continue;
		edges++;
		assert_in_range(v, 0, 1000);
		if (!is_boundary_0_1000(v))
			fail_msg("%" PRIu64 " is no boundary of [0, 1000]", v);
		seen[v]++;
	}
	/* 1000 expected; a binomial this far off has odds below 1e-9. */
	assert_in_range(edges, N / 8 - 200, N / 8 + 200);
	for (unsigned x = 0; x <= 1000; x++)
		if (is_boundary_0_1000(x) && seen[x] == 0)
			fail_msg("boundary %u never drawn in %u boundary draws", x, edges);
	for (int i = 0; i < N; i++)
		assert_in_range(fl_gen_size_edges(c, 3, 1000, &e), 3, 1000);
	fl_choice_free(c);
}

/* Fails on a message one byte past a whole number of 4080-byte fragments
 * (of four sizes up to 1 MiB): a plain draw lands there once in 4080, a
 * boundary draw once in 96.  Minimal: one message of 4081 bytes. */
static int
frag_edge_prop(struct fl_prop_ctx *ctx)
{
	static const struct fl_gen_edges e = { 4080, NULL, 0 };
	for (int i = 0; i < 4; i++) {
		uint64_t len = fl_gen_size_edges(fl_prop_choice(ctx), 0, 1u << 20, &e);
		fl_prop_log(ctx, "len %" PRIu64, len);
		if (len % 4080 == 1)
			return fl_prop_fail(ctx, "%" PRIu64 " bytes: one past a fragment", len);
	}
	return FL_PROP_PASS;
}

static void
test_gen_edges_find_and_shrink(void **state)
{
	(void)state;
	static const struct fl_prop_def def = { "frag_edge", frag_edge_prop, NULL, NULL };
	struct fl_prop_config cfg;
	struct fl_prop_report rep;
	config(&cfg, 3, 200);
	cfg.fork = false;
	check_fails(&cfg, &def, &rep);
	if (!strstr(rep.message, "4081 bytes"))
		fail_msg("not minimal: %s\n%s", rep.message, rep.log);
	fl_prop_report_fini(&rep);
}

static void
gen_small(struct fl_choice *c, void *out, const void *arg)
{
	*(int *)out = (int)fl_gen_i64(c, -3, 3) * *(const int *)arg;
}

static void
test_gen_array_spans(void **state)
{
	(void)state;
	struct fl_choice *c;
	assert_fl(fl_choice_new_seeded(7, &c), 0);
	int xs[20], mul = 10;
	size_t n = fl_gen_array(c, xs, sizeof xs[0], 1, 20, 5, gen_small, &mul);
	assert_in_range(n, 1, 20);
	for (size_t i = 0; i < n; i++)
		assert_in_range(xs[i] + 30, 0, 60);
	/* One span per element (plus the terminator when it was drawn). */
	assert_true(fl_choice_span_count(c) >= n);
	fl_choice_free(c);
}

/* Fails when a byte string (length drawn first) holds 3 or more
 * non-zero bytes: minimal is three bytes 1,1,1. */
static int
bytes_prop(struct fl_prop_ctx *ctx)
{
	uint8_t buf[32];
	size_t n = fl_gen_bytes(fl_prop_choice(ctx), buf, 0, sizeof buf);
	unsigned nz = 0;
	for (size_t i = 0; i < n; i++)
		nz += buf[i] != 0;
	char hex[100] = "";
	for (size_t i = 0; i < n && i < 32; i++)
		snprintf(hex + 3 * i, 4, "%02x ", buf[i]);
	fl_prop_log(ctx, "bytes (%zu): %s", n, hex);
	return nz >= 3 ? fl_prop_fail(ctx, "%u non-zero bytes", nz) : FL_PROP_PASS;
}

static void
test_bytes_length_first_shrinks(void **state)
{
	(void)state;
	static const struct fl_prop_def def = { "bytes_nonzero", bytes_prop, NULL, NULL };
	struct fl_prop_config cfg;
	config(&cfg, 42, 100);
	struct fl_prop_report rep;
	check_fails(&cfg, &def, &rep);
	if (!strstr(rep.log, "bytes (3): 01 01 01"))
		fail_msg("not minimal: %s", rep.log);
	fl_prop_report_fini(&rep);
}

/* Copies the choices c recorded and their spans into *out, as a system
 * fl_shrink runs reports them. */
static void
record_stream(struct fl_choice *c, struct fl_shrink_run *out)
{
	out->recorded = true;
	out->n = fl_choice_count(c);
	out->values = malloc(out->n * sizeof(uint64_t) + 1);
	out->nspans = fl_choice_span_count(c);
	out->spans = malloc(out->nspans * sizeof(struct fl_choice_span) + 1);
	memcpy(out->values, fl_choice_values(c), out->n * sizeof(uint64_t));
	memcpy(out->spans, fl_choice_spans(c), out->nspans * sizeof(struct fl_choice_span));
}

/* fl_shrink on its own, as the scenario engine uses it: a "system" that
 * deadlocks when two of its drawn values reach 10.  Minimal: [10, 10]. */
static int
shrink_system(void *arg, const uint64_t *values, size_t n, struct fl_shrink_run *out)
{
	unsigned *calls = arg;
	struct fl_choice *c;
	int rc = fl_choice_new_replay(values, n, &c);
	if (rc)
		return rc;
	(*calls)++;
	unsigned big = 0;
	struct fl_gen_list l;
	fl_gen_list_begin(&l, c, 0, 20, 5);
	while (fl_gen_list_next(&l))
		big += fl_gen_u64(c, 0, 50) >= 10;
	out->verdict = big >= 2 ? FL_VERDICT_DEADLOCK : FL_VERDICT_PASS;
	record_stream(c, out);
	out->message = strdup("deadlock");
	fl_choice_free(c);
	return 0;
}

static void
test_generic_shrink(void **state)
{
	(void)state;
	static const uint64_t start[] = { 1, 3, 1, 44, 1, 7, 1, 12, 1, 49, 1, 30, 0 };
	unsigned calls = 0;
	struct fl_shrink_run first = { 0 }, best;
	assert_int_equal(shrink_system(&calls, start, 13, &first), 0);
	assert_int_equal(first.verdict, FL_VERDICT_DEADLOCK);
	unsigned runs = 0, kept = 0;
	assert_fl(fl_shrink(&first, 500, shrink_system, &calls, &best, &runs, &kept), 0);
	assert_int_equal(runs, calls - 1);
	assert_true(kept > 0);
	assert_int_equal(best.verdict, FL_VERDICT_DEADLOCK);
	/* more=1, 10, more=1, 10 */
	if (best.n != 4 || best.values[1] != 10 || best.values[3] != 10)
		fail_msg("not minimal: %zu values, [1]=%" PRIu64, best.n,
		         best.n > 1 ? best.values[1] : 0);
	fl_shrink_run_fini(&best);

	/* The bound: at most max_runs calls. */
	calls = 0;
	assert_int_equal(shrink_system(&calls, start, 13, &first), 0);
	assert_fl(fl_shrink(&first, 3, shrink_system, &calls, &best, &runs, NULL), 0);
	assert_int_equal(runs, 3);
	assert_int_equal(calls, 4);
	fl_shrink_run_fini(&best);
}

/* A system whose steps index what earlier steps made: open a slot (ids
 * 0, 1, 2, ... in order), close the arg-th open slot, use the arg-th open
 * slot; using slot id 1 fails.  From open, open, open, close(0), use(0)
 * plain deletions stop at four steps (the close shifts the index use
 * needs); deleting the close and nudging use's index up finds the
 * minimal open, open, use(1). */
static int
slots_system(void *arg, const uint64_t *values, size_t n, struct fl_shrink_run *out)
{
	(void)arg;
	struct fl_choice *c;
	int rc = fl_choice_new_replay(values, n, &c);
	if (rc)
		return rc;
	int open[20], nopen = 0, next = 0;
	bool failed = false;
	struct fl_gen_list l;
	fl_gen_list_begin(&l, c, 0, 20, 5);
	while (fl_gen_list_next(&l) && !failed) {
		uint64_t op = fl_gen_u64(c, 0, 2), ix = fl_gen_u64(c, 0, 5);
		if (op == 0 && nopen < 20) {
			open[nopen++] = next++;
		} else if (op == 1 && nopen > 0) {
			size_t k = ix % (size_t)nopen;
			memmove(open + k, open + k + 1,
			        (size_t)(nopen - (int)k - 1) * sizeof open[0]);
			nopen--;
		} else if (op == 2 && nopen > 0) {
			failed = open[ix % (size_t)nopen] == 1;
		}
	}
	out->verdict = failed ? FL_VERDICT_FAIL : FL_VERDICT_PASS;
	record_stream(c, out);
	fl_choice_free(c);
	return 0;
}

static void
test_shrink_past_an_index_shift(void **state)
{
	(void)state;
	/* open, open, open, close(0), use(0) */
	static const uint64_t start[] = { 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 2, 0, 0 };
	static const uint64_t minimal[] = { 1, 0, 0, 1, 0, 0, 1, 2, 1 };
	struct fl_shrink_run first = { 0 }, best;
	assert_int_equal(slots_system(NULL, start, 16, &first), 0);
	assert_int_equal(first.verdict, FL_VERDICT_FAIL);
	assert_fl(fl_shrink(&first, 2000, slots_system, NULL, &best, NULL, NULL), 0);
	assert_int_equal(best.verdict, FL_VERDICT_FAIL);
	if (best.n != 9 || memcmp(best.values, minimal, sizeof minimal) != 0) {
		char got[256] = "";
		for (size_t i = 0; i < best.n && i < 30; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), " %" PRIu64,
			         best.values[i]);
		fail_msg("not minimal (open, open, use(1) expected):%s", got);
	}
	fl_shrink_run_fini(&best);
}

/* ---------------- planted bugs ---------------- */

static void
test_refcount_leak_shrinks_to_3_steps(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 20261123, under_valgrind() ? 30 : 200);
	struct fl_prop_report rep;
	int rc = fl_prop_check(&cfg, &toy_refcount_leak, &rep);
	if (rc != FL_PROP_FAIL)
		fail_msg("the leak was not found: rc %d after %u trials", rc, rep.trials);
	unsigned steps = count_lines_with(rep.log, "step ");
	if (steps != 3 || !strstr(rep.log, "step 1: acquire") ||
	    !strstr(rep.log, "step 2: lookup_helper") || !strstr(rep.log, "step 3: close"))
		fail_msg("shrunk to %u steps, want acquire, lookup_helper, close:\n%s", steps,
		         rep.log);
	assert_string_equal(fl_verdict_name(rep.verdict), "fail");
	assert_non_null(strstr(rep.message, "refcount leak"));
	print_message("found after %u trials, shrunk %zu -> %zu choices in %u runs\n", rep.trials,
	              rep.original_nchoices, rep.nchoices, rep.shrink_attempts);
	fini_no_children(&rep);
}

/* Not one lucky seed: every seed finds the leak and shrinks it to the same
 * three steps, and every list counterexample to [1000]. */
static void
test_minimum_across_seeds(void **state)
{
	(void)state;
	unsigned nseeds = under_valgrind() ? 1 : 20;
	for (unsigned seed = 1; seed <= nseeds; seed++) {
		struct fl_prop_config cfg;
		config(&cfg, seed * 7919, 1000);
		struct fl_prop_report rep;
		check_fails(&cfg, &toy_refcount_leak, &rep);
		unsigned steps = count_lines_with(rep.log, "step ");
		if (steps != 3 || !strstr(rep.log, "step 2: lookup_helper"))
			fail_msg("seed %u: shrunk to %u steps:\n%s", seed * 7919, steps, rep.log);
		fl_prop_report_fini(&rep);
		check_fails(&cfg, &toy_sum_below_1000, &rep);
		if (rep.nchoices != 2 || rep.choices[1] != 1000)
			fail_msg("seed %u: list not minimal: %s", seed * 7919, rep.log);
		fl_prop_report_fini(&rep);
	}
}

static void
test_refcount_ok_passes(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 5, under_valgrind() ? 20 : 200);
	struct fl_prop_report rep;
	int rc = fl_prop_check(&cfg, &toy_refcount_ok, &rep);
	if (rc != 0)
		fail_msg("correct manager failed: %s\n%s", rep.message, rep.log);
	assert_int_equal(rep.trials, cfg.trials);
	fl_prop_report_fini(&rep);
}

static void
check_sum_minimal(const struct fl_prop_report *rep)
{
	/* [more=1, 1000]: the one-element list [1000]. */
	if (rep->nchoices != 2 || rep->choices[1] != 1000)
		fail_msg("not minimal: %zu choices (%s), log %s", rep->nchoices, rep->message,
		         rep->log);
	assert_non_null(strstr(rep->log, "list [1000]"));
}

static void
test_list_sum_shrinks_to_1000(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 1, 100);
	struct fl_prop_report rep;
	check_fails(&cfg, &toy_sum_below_1000, &rep);
	check_sum_minimal(&rep);
	fl_prop_report_fini(&rep);
}

/* Rejects every input: checks nothing. */
static int
discard_all_prop(struct fl_prop_ctx *ctx)
{
	(void)fl_gen_u64(fl_prop_choice(ctx), 0, 9);
	return FL_PROP_DISCARD;
}

/* A property whose every trial discarded its input is no pass, forked or
 * in process. */
static void
test_all_discarded_is_no_pass(void **state)
{
	(void)state;
	static const struct fl_prop_def def = { "discard_all", discard_all_prop, NULL, NULL };
	for (int fork = 0; fork < 2; fork++) {
		struct fl_prop_config cfg;
		struct fl_prop_report rep;

		config(&cfg, 3, 20);
		cfg.fork = fork != 0;
		assert_int_equal(fl_prop_check(&cfg, &def, &rep), FL_PROP_FAIL);
		assert_int_equal(rep.verdict, FL_VERDICT_FAIL);
		assert_int_equal(rep.trials, 20);
		assert_int_equal(rep.discarded, 20);
		assert_non_null(rep.message);
		assert_non_null(strstr(rep.message, "every one of the 20 trials discarded"));
		fl_prop_report_fini(&rep);
	}
}

static void
test_list_sum_in_process(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 1, 100);
	cfg.fork = false;
	toy_sum_calls = 0;
	struct fl_prop_report rep;
	check_fails(&cfg, &toy_sum_below_1000, &rep);
	check_sum_minimal(&rep);
	assert_true(toy_sum_calls > rep.trials); /* the shrinker ran here, not in children */
	fl_prop_report_fini(&rep);
}

static void
test_abort_shrinks_same_kind(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 3, 200);
	struct fl_prop_report rep;
	check_fails(&cfg, &toy_abort_at_500, &rep);
	if (rep.verdict == FL_VERDICT_FAIL) {
		/* The first failure found was the plain one (x in [100,500)). */
		assert_one_choice(&rep, 100);
	} else {
		assert_string_equal(fl_verdict_name(rep.verdict), "crash");
		assert_string_equal(fl_signal_name(rep.signal), "SIGABRT");
		/* Same kind: the crash stays a crash (500), never the plain 100. */
		assert_one_choice(&rep, 500);
	}
	fl_prop_report_fini(&rep);

	/* Shrinking a crash stream directly. */
	uint64_t start[] = { 977 };
	assert_int_equal(fl_prop_shrink_choices(&cfg, &toy_abort_at_500, start, 1, &rep),
	                 FL_PROP_FAIL);
	assert_string_equal(fl_verdict_name(rep.verdict), "crash");
	assert_int_equal(rep.choices[0], 500);
	assert_non_null(strstr(rep.log, "x = 500"));
	fini_no_children(&rep);
}

static void
test_segv_crash_verdict(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 11, 200);
	struct fl_prop_report rep;
	check_fails(&cfg, &toy_segv_at_300, &rep);
	assert_string_equal(fl_verdict_name(rep.verdict), "crash");
	assert_string_equal(fl_signal_name(rep.signal), "SIGSEGV");
	assert_one_choice(&rep, 300);
	assert_non_null(strstr(rep.message, "SIGSEGV"));
	fini_no_children(&rep);
}

static void
test_hang_verdict(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 4, 50);
	cfg.trial_timeout_ms = under_valgrind() ? 500 : 200;
	struct fl_prop_report rep;
	check_fails(&cfg, &toy_hang_at_50, &rep);
	assert_string_equal(fl_verdict_name(rep.verdict), "hang");
	/* Found on the first hanging trial: one deadline, not the whole run. */
	if (rep.seconds > cfg.trial_timeout_ms / 1000.0 + 1.5 + rep.trials * 0.05)
		fail_msg("hang took %.2f s to report", rep.seconds);
	assert_one_choice(&rep, 50);
	assert_non_null(strstr(rep.log, "x = 50"));
	fini_no_children(&rep);
}

static void
test_seed_replays_same_failure(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 77, 200);
	cfg.max_shrinks = 0;
	struct fl_prop_report a, b;
	check_fails(&cfg, &toy_refcount_leak, &a);
	assert_true(a.trials >= 1);
	cfg.seed = a.fail_seed;
	cfg.trials = 1;
	check_fails(&cfg, &toy_refcount_leak, &b);
	assert_int_equal(b.trials, 1);
	assert_int_equal(b.nchoices, a.nchoices);
	assert_memory_equal(b.choices, a.choices, a.nchoices * sizeof(uint64_t));
	assert_string_equal(b.message, a.message);
	assert_string_equal(b.log, a.log);
	fl_prop_report_fini(&a);
	fl_prop_report_fini(&b);
}

static void
test_shrink_bound_respected(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 20261123, 200);
	cfg.max_shrinks = 5;
	struct fl_prop_report rep;
	check_fails(&cfg, &toy_refcount_leak, &rep);
	if (rep.shrink_attempts > 5)
		fail_msg("%u shrink runs, bound 5", rep.shrink_attempts);
	assert_true(rep.nchoices <= rep.original_nchoices);
	fl_prop_report_fini(&rep);
}

static const struct fl_prop_def table[] = {
	{ "toy_refcount_leak", fl_model_prop, NULL, NULL }, /* arg fixed in the test */
};

static void
test_trace_replay_and_shrink(void **state)
{
	(void)state;
	char dir[] = "/tmp/fl-prop-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct fl_prop_def defs[1] = { toy_refcount_leak };
	(void)table;
	struct fl_prop_config cfg;
	config(&cfg, 20261123, 200);
	cfg.trace_dir = dir;
	struct fl_prop_report rep;
	check_fails(&cfg, &defs[0], &rep);
	assert_non_null(rep.trace_path);

	struct fl_trace t;
	char err[256] = "";
	int rc = fl_trace_read(rep.trace_path, &t, err, sizeof err);
	if (rc)
		fail_msg("read %s: %s", rep.trace_path, err);
	assert_string_equal(t.kind, "property");
	assert_string_equal(t.name, "toy_refcount_leak");
	assert_string_equal(t.verdict, "fail");
	assert_int_equal(t.seed, rep.fail_seed);
	assert_int_equal(t.hash, fl_trace_hash_str("toy_refcount_leak"));
	assert_int_equal(t.nchoices, rep.nchoices);
	assert_non_null(strstr(fl_trace_get_extra(&t, "program"), "prop_engine_test"));

	struct fl_prop_report r2;
	assert_fl(fl_prop_replay(defs, 1, &t, &cfg, &r2), 0);
	assert_string_equal(r2.message, rep.message);
	assert_string_equal(r2.log, rep.log);
	fl_prop_report_fini(&r2);

	char out[300];
	snprintf(out, sizeof out, "%s/min.trace", dir);
	assert_int_equal(fl_prop_shrink(defs, 1, &t, &cfg, out, &r2), FL_PROP_FAIL);
	assert_int_equal(r2.nchoices, rep.nchoices); /* already minimal */
	fl_prop_report_fini(&r2);
	assert_fl(fl_prop_replay(defs, 0, &t, &cfg, &r2), FL_ENOENT);

	fl_trace_fini(&t);
	unlink(out);
	unlink(rep.trace_path);
	fl_prop_report_fini(&rep);
	assert_int_equal(rmdir(dir), 0);
}

/* A trial killed outright reports nothing: the trace falls back to the
 * seed, and replaying it reaches the same verdict. */
static void
test_unrecorded_crash_replays_from_seed(void **state)
{
	(void)state;
	char dir[] = "/tmp/fl-prop-kill-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct fl_prop_def defs[1] = { toy_sigkill_at_500 };
	struct fl_prop_config cfg;
	config(&cfg, 8, 200);
	cfg.trace_dir = dir;
	struct fl_prop_report rep;
	check_fails(&cfg, &defs[0], &rep);
	assert_string_equal(fl_verdict_name(rep.verdict), "crash");
	assert_string_equal(fl_signal_name(rep.signal), "SIGKILL");
	assert_null(rep.choices);
	assert_non_null(rep.trace_path);
	struct fl_trace t;
	assert_fl(fl_trace_read(rep.trace_path, &t, NULL, 0), 0);
	assert_string_equal(fl_trace_get_extra(&t, "replay_from"), "seed");
	struct fl_prop_report r2;
	assert_fl(fl_prop_replay(defs, 1, &t, &cfg, &r2), 0);
	assert_int_equal(r2.signal, rep.signal);
	fl_prop_report_fini(&r2);
	assert_int_equal(fl_prop_shrink(defs, 1, &t, &cfg, NULL, &r2), FL_PROP_FAIL);
	assert_int_equal(r2.signal, SIGKILL);
	fl_prop_report_fini(&r2);
	fl_trace_fini(&t);
	unlink(rep.trace_path);
	fl_prop_report_fini(&rep);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_config_env_and_args(void **state)
{
	(void)state;
	setenv("FL_SEED", "12345", 1);
	setenv("FL_TRIALS", "7", 1);
	struct fl_prop_config cfg;
	fl_prop_config_init(&cfg, "x");
	assert_int_equal(cfg.seed, 12345);
	assert_int_equal(cfg.trials, 7);
	assert_true(cfg.fork);
	setenv("FL_LONG", "1", 1);
	fl_prop_config_init(&cfg, "x");
	assert_int_equal(cfg.trials, 700);
	unsetenv("FL_SEED");
	unsetenv("FL_TRIALS");
	unsetenv("FL_LONG");
	fl_prop_config_init(&cfg, "x");
	char *argv[] = { "prog",      "--seed", "0x10", "--trials", "3",
		         "--no-fork", "--time", "1.5",  NULL };
	assert_fl(fl_prop_config_args(&cfg, 8, argv), 0);
	assert_int_equal(cfg.seed, 16);
	assert_int_equal(cfg.trials, 3);
	assert_false(cfg.fork);
	assert_true(cfg.time_budget_s > 1.4 && cfg.time_budget_s < 1.6);
	char *bad[] = { "prog", "--trials", "zero", NULL };
	assert_fl(fl_prop_config_args(&cfg, 3, bad), FL_EINVAL);
}

static void
test_time_budget_stops_trials(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	config(&cfg, 9, 1000000);
	cfg.time_budget_s = 0.2;
	struct fl_prop_report rep;
	assert_fl(fl_prop_check(&cfg, &toy_pass, &rep), 0);
	assert_true(rep.trials < 1000000);
	if (rep.seconds > 1.5)
		fail_msg("budget 0.2 s, ran %.2f s", rep.seconds);
	fl_prop_report_fini(&rep);
}

static int
count_files(const char *dir, char *first, size_t len)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n++ == 0)
			snprintf(first, len, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	return n;
}

/* An error still leaves a report fl_prop_report_fini may free (memcheck
 * would see a free of stack garbage otherwise). */
static void
test_error_leaves_a_finable_report(void **state)
{
	(void)state;
	struct fl_prop_config cfg;
	struct fl_prop_report rep;
	fl_prop_config_init(&cfg, NULL);
	memset(&rep, 0xa5, sizeof rep);
	struct fl_prop_def none = { "none", NULL, NULL, "no function" };
	assert_fl(fl_prop_check(&cfg, &none, &rep), FL_EINVAL);
	assert_null(rep.log);
	assert_int_equal(rep.trials, 0);
	fl_prop_report_fini(&rep);
}

static void
test_prop_main(void **state)
{
	(void)state;
	char dir[] = "/tmp/fl-prop-main-XXXXXX";
	assert_non_null(mkdtemp(dir));
	const struct fl_prop_def defs[] = { toy_pass, toy_sum_below_1000 };
	char *run_all[] = { "p",           "--seed", "1",       "--trials", "20",
		            "--trace-dir", dir,      "--quiet", NULL };
	assert_int_equal(fl_prop_main(8, run_all, defs, 2), 1);
	char *run_pass[] = { "p", "--prop", "toy_pass", "--trials", "5", "--quiet", NULL };
	assert_fl(fl_prop_main(6, run_pass, defs, 2), 0);
	char *run_bad[] = { "p", "--prop", "nope", "--quiet", NULL };
	assert_int_equal(fl_prop_main(4, run_bad, defs, 2), 2);
	char *run_seeds[] = { "p",       "--prop",   "toy_pass", "--seeds", "1,2,0x3",
		              "--fresh", "--trials", "3",        "--quiet", NULL };
	assert_fl(fl_prop_main(9, run_seeds, defs, 2), 0);
	char *bad_seeds[] = { "p", "--seeds", "1,x", NULL };
	assert_int_equal(fl_prop_main(3, bad_seeds, defs, 2), 2);
	char *run_usage[] = { "p", "--frobnicate", NULL };
	assert_int_equal(fl_prop_main(2, run_usage, defs, 2), 2);

	char trace[512], out[600];
	assert_int_equal(count_files(dir, trace, sizeof trace), 1);
	char *replay[] = { "p", "--replay", trace, NULL };
	assert_int_equal(fl_prop_main(3, replay, defs, 2), 1);
	snprintf(out, sizeof out, "%s/min.trace", dir);
	char *shrink[] = { "p", "--shrink", trace, "--out", out, NULL };
	assert_int_equal(fl_prop_main(5, shrink, defs, 2), 1);
	struct fl_trace t;
	assert_fl(fl_trace_read(out, &t, NULL, 0), 0);
	assert_int_equal(t.nchoices, 2);
	assert_int_equal(t.choices[1], 1000);
	fl_trace_fini(&t);
	unlink(out);
	unlink(trace);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gen_zero_stream_is_simplest),
		cmocka_unit_test(test_gen_order_and_bounds),
		cmocka_unit_test(test_gen_edges),
		cmocka_unit_test(test_gen_edges_find_and_shrink),
		cmocka_unit_test(test_gen_array_spans),
		cmocka_unit_test(test_bytes_length_first_shrinks),
		cmocka_unit_test(test_generic_shrink),
		cmocka_unit_test(test_shrink_past_an_index_shift),
		cmocka_unit_test(test_refcount_leak_shrinks_to_3_steps),
		cmocka_unit_test(test_minimum_across_seeds),
		cmocka_unit_test(test_refcount_ok_passes),
		cmocka_unit_test(test_list_sum_shrinks_to_1000),
		cmocka_unit_test(test_list_sum_in_process),
		cmocka_unit_test(test_all_discarded_is_no_pass),
		cmocka_unit_test(test_abort_shrinks_same_kind),
		cmocka_unit_test(test_segv_crash_verdict),
		cmocka_unit_test(test_hang_verdict),
		cmocka_unit_test(test_seed_replays_same_failure),
		cmocka_unit_test(test_shrink_bound_respected),
		cmocka_unit_test(test_trace_replay_and_shrink),
		cmocka_unit_test(test_unrecorded_crash_replays_from_seed),
		cmocka_unit_test(test_config_env_and_args),
		cmocka_unit_test(test_time_budget_stops_trials),
		cmocka_unit_test(test_error_leaves_a_finable_report),
		cmocka_unit_test(test_prop_main),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
