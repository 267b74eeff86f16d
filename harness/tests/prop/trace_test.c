/*
 * Trace files: round trip, extras, malformed files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/trace.h"

static char g_path[256];

static int setup(void **state)
{
	(void)state;
	snprintf(g_path, sizeof g_path, "/tmp/fl-trace-test-%d.trace", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(g_path);
	return 0;
}

static void write_text(const char *text)
{
	FILE *f = fopen(g_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_round_trip(void **state)
{
	(void)state;
	uint64_t vals[40];
	for (int i = 0; i < 40; i++)
		vals[i] = (uint64_t)i * 1000003u;
	vals[39] = UINT64_MAX;
	struct fl_trace t;
	assert_int_equal(fl_trace_init(&t, "scenario", "pubsub smoke", 0xabcdef, 42, "crash",
				       "image_refs", "line one\nline two", vals, 40), 0);
	t.signal = SIGSEGV;
	t.trace_hash = 0x1234;
	assert_int_equal(fl_trace_add_extra(&t, "mode", "sim"), 0);
	assert_int_equal(fl_trace_add_extra(&t, "scheduler", "pct depth=3"), 0);
	assert_int_equal(fl_trace_write(g_path, &t), 0);

	struct fl_trace r;
	char err[128] = "";
	int rc = fl_trace_read(g_path, &r, err, sizeof err);
	if (rc)
		fail_msg("read: %s (%s)", fl_strerror(rc), err);
	assert_string_equal(r.kind, "scenario");
	assert_string_equal(r.name, "pubsub smoke");
	assert_int_equal(r.hash, 0xabcdef);
	assert_int_equal(r.seed, 42);
	assert_string_equal(r.verdict, "crash");
	assert_int_equal(r.signal, SIGSEGV);
	assert_string_equal(r.property, "image_refs");
	assert_string_equal(r.message, "line one line two");
	assert_int_equal(r.trace_hash, 0x1234);
	assert_int_equal(r.nchoices, 40);
	assert_memory_equal(r.choices, vals, sizeof vals);
	assert_string_equal(fl_trace_get_extra(&r, "scheduler"), "pct depth=3");
	assert_string_equal(fl_trace_get_extra(&r, "mode"), "sim");
	assert_null(fl_trace_get_extra(&r, "nope"));
	fl_trace_fini(&r);
	fl_trace_fini(&t);
}

static void test_empty_choices_no_property(void **state)
{
	(void)state;
	struct fl_trace t;
	assert_int_equal(fl_trace_init(&t, "property", "p", 1, 2, "fail", "-", NULL, NULL, 0), 0);
	assert_int_equal(fl_trace_write(g_path, &t), 0);
	fl_trace_fini(&t);
	struct fl_trace r;
	assert_int_equal(fl_trace_read(g_path, &r, NULL, 0), 0);
	assert_null(r.property);
	assert_null(r.message);
	assert_int_equal(r.nchoices, 0);
	fl_trace_fini(&r);
}

struct bad_case {
	const char *name;
	const char *text;
	const char *want; /* substring of the error */
};

static const struct bad_case bad_cases[] = {
	{"not a trace", "hello\n", "not a faultline trace"},
	{"version", "faultline-trace 9\n", "unsupported trace version"},
	{"empty", "", "empty file"},
	{"no choices", "faultline-trace 1\nkind property\nname p\n", "missing 'choices N'"},
	{"no end", "faultline-trace 1\nkind property\nname p\nchoices 2\n1 2\n", "missing 'end'"},
	{"short", "faultline-trace 1\nkind property\nname p\nchoices 3\n1 2\nend\n", "2 choices, header says 3"},
	{"long", "faultline-trace 1\nkind property\nname p\nchoices 1\n1 2\nend\n", "more than 1 choices"},
	{"bad value", "faultline-trace 1\nkind property\nname p\nchoices 1\nx\nend\n", "bad choice value"},
	{"bad seed", "faultline-trace 1\nkind property\nname p\nseed -4\nchoices 0\nend\n", "seed: not a number"},
	{"no name", "faultline-trace 1\nkind property\nchoices 0\nend\n", "missing name"},
	{"bad signal", "faultline-trace 1\nkind property\nname p\nsignal SIGNOPE\nchoices 0\nend\n", "signal: unknown"},
};

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		write_text(bad_cases[i].text);
		struct fl_trace r;
		char err[256] = "";
		int rc = fl_trace_read(g_path, &r, err, sizeof err);
		if (rc != FL_EPROTO || !strstr(err, bad_cases[i].want))
			fail_msg("case '%s': rc %s, error '%s', want '%s'", bad_cases[i].name,
				 fl_errname(rc), err, bad_cases[i].want);
	}
	struct fl_trace r;
	assert_int_equal(fl_trace_read("/nonexistent/x.trace", &r, NULL, 0), FL_EIO);
}

static void test_hash_str(void **state)
{
	(void)state;
	assert_int_equal(fl_trace_hash_str(""), 0xcbf29ce484222325ull);
	assert_int_not_equal(fl_trace_hash_str("a"), fl_trace_hash_str("b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_choices_no_property, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test(test_hash_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
