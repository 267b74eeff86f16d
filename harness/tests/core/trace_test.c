/*
 * Trace files: round trip, extras, malformed files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/trace.h"

static char g_path[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(g_path, sizeof g_path, "/tmp/fl-trace-test-%d.trace", (int)getpid());
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(g_path);
	return 0;
}

static void
write_text(const char *text)
{
	FILE *f = fopen(g_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_round_trip(void **state)
{
	(void)state;
	uint64_t vals[40];
	for (int i = 0; i < 40; i++)
		vals[i] = (uint64_t)i * 1000003u;
	vals[39] = UINT64_MAX;
	struct fl_trace t;
	assert_fl(fl_trace_init(&t, "scenario", "pubsub smoke", 0xabcdef, 42, "crash", "image_refs",
	                        "line one\nline two", vals, 40),
	          0);
	t.signal = SIGSEGV;
	t.trace_hash = 0x1234;
	assert_fl(fl_trace_add_extra(&t, "mode", "sim"), 0);
	assert_fl(fl_trace_add_extra(&t, "scheduler", "pct depth=3"), 0);
	assert_fl(fl_trace_write(g_path, &t), 0);

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

static void
test_empty_choices_no_property(void **state)
{
	(void)state;
	struct fl_trace t;
	assert_fl(fl_trace_init(&t, "property", "p", 1, 2, "fail", "-", NULL, NULL, 0), 0);
	assert_fl(fl_trace_write(g_path, &t), 0);
	fl_trace_fini(&t);
	struct fl_trace r;
	assert_fl(fl_trace_read(g_path, &r, NULL, 0), 0);
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
	{ "not a trace", "hello\n", "not a faultline trace" },
	{ "version", "faultline-trace 9\n", "unsupported trace version" },
	{ "empty", "", "empty file" },
	{ "no choices", "faultline-trace 1\nkind property\nname p\n", "missing 'choices N'" },
	{ "no end", "faultline-trace 1\nkind property\nname p\nchoices 2\n1 2\n", "missing 'end'" },
	{ "short", "faultline-trace 1\nkind property\nname p\nchoices 3\n1 2\nend\n",
	  "2 choices, header says 3" },
	{ "long", "faultline-trace 1\nkind property\nname p\nchoices 1\n1 2\nend\n",
	  "more than 1 choices" },
	{ "bad value", "faultline-trace 1\nkind property\nname p\nchoices 1\nx\nend\n",
	  "bad choice value" },
	{ "bad seed", "faultline-trace 1\nkind property\nname p\nseed -4\nchoices 0\nend\n",
	  "seed: not a number" },
	{ "no name", "faultline-trace 1\nkind property\nchoices 0\nend\n", "missing name" },
	{ "bad signal",
	  "faultline-trace 1\nkind property\nname p\nsignal SIGNOPE\nchoices 0\nend\n",
	  "signal: unknown" },
};

static void
test_malformed(void **state)
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
	assert_fl(fl_trace_read("/nonexistent/x.trace", &r, NULL, 0), FL_EIO);
}

/* A signal comes back as written: a name for the signals sandbox.c names,
 * the number for the others (100 was written "SIG?" and read back as 16,
 * the first signal without a name).  Out of WTERMSIG's range: refused. */
static void
test_signal_round_trip(void **state)
{
	(void)state;
	const struct {
		int sig;
		const char *line;
	} cases[] = {
		{ SIGSEGV, "signal SIGSEGV\n" },
		{ 100, "signal 100\n" },
		{ 127, "signal 127\n" },
		{ 16, NULL }, /* SIGSTKFLT on x86 and arm, no name in sandbox.c */
		{ SIGRTMIN, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fl_trace t, r;
		char text[512] = "", err[256] = "";
		assert_fl(fl_trace_init(&t, "property", "p", 1, 2, "crash", NULL, NULL, NULL, 0),
		          0);
		t.signal = cases[i].sig;
		assert_fl(fl_trace_write(g_path, &t), 0);
		fl_trace_fini(&t);
		FILE *f = fopen(g_path, "r");
		assert_non_null(f);
		text[fread(text, 1, sizeof text - 1, f)] = '\0';
		fclose(f);
		if (cases[i].line && !strstr(text, cases[i].line))
			fail_msg("signal %d: no '%s' in\n%s", cases[i].sig, cases[i].line, text);
		int rc = fl_trace_read(g_path, &r, err, sizeof err);
		if (rc)
			fail_msg("signal %d: read: %s (%s)\n%s", cases[i].sig, fl_errname(rc), err,
			         text);
		if (r.signal != cases[i].sig)
			fail_msg("signal %d written, %d read back from\n%s", cases[i].sig, r.signal,
			         text);
		fl_trace_fini(&r);
	}
	/* What the reader would refuse is not written. */
	struct fl_trace t;
	assert_fl(fl_trace_init(&t, "property", "p", 1, 2, "crash", NULL, NULL, NULL, 0), 0);
	t.signal = 128;
	assert_fl(fl_trace_write(g_path, &t), FL_EINVAL);
	t.signal = -1;
	assert_fl(fl_trace_write(g_path, &t), FL_EINVAL);
	fl_trace_fini(&t);
}

#define HDR "faultline-trace 1\nkind property\nname p\n"

/* Text the reader must refuse with FL_EPROTO and a message.  Most of it
 * was read as something else (SIG? as 16, 010 as 8, the last of two seeds)
 * or failed without a message; signal 128, -1 and huge were refused already. */
static const struct bad_case misread_cases[] = {
	{ "signal SIG?", HDR "signal SIG?\nchoices 0\nend\n", "signal: unknown 'SIG?'" },
	{ "signal 0", HDR "signal 0\nchoices 0\nend\n", "signal: unknown '0'" },
	{ "signal 128", HDR "signal 128\nchoices 0\nend\n", "signal: unknown '128'" },
	{ "signal -1", HDR "signal -1\nchoices 0\nend\n", "signal: unknown '-1'" },
	{ "signal huge", HDR "signal 99999999999999999999\nchoices 0\nend\n", "signal: unknown" },
	{ "seed octal", HDR "seed 010\nchoices 0\nend\n", "seed: not a number '010'" },
	{ "seed hex", HDR "seed 0x10\nchoices 0\nend\n", "seed: not a number '0x10'" },
	{ "seed plus", HDR "seed +5\nchoices 0\nend\n", "seed: not a number '+5'" },
	{ "seed blank", HDR "seed  -5\nchoices 0\nend\n", "seed: not a number ' -5'" },
	{ "hash 0x", HDR "hash 0x12\nchoices 0\nend\n", "hash: not hex '0x12'" },
	{ "choice plus", HDR "choices 1\n+5\nend\n", "bad choice value '+5'" },
	{ "seed twice", HDR "seed 1\nseed 2\nchoices 0\nend\n", "line 5: seed: given twice" },
	{ "verdict twice", HDR "verdict fail\nverdict pass\nchoices 0\nend\n",
	  "line 5: verdict: given twice" },
	{ "extra twice", HDR "path a.yaml\npath b.yaml\nchoices 0\nend\n",
	  "line 5: path: given twice" },
	{ "no key", HDR " p2\nchoices 0\nend\n", "line 4: '' is not a key" },
	{ "huge count", HDR "choices 268435456\n1 2\nend\n", "2 choices, header says 268435456" },
};

static void
test_misread(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof misread_cases / sizeof misread_cases[0]; i++) {
		write_text(misread_cases[i].text);
		struct fl_trace r;
		char err[256] = "";
		int rc = fl_trace_read(g_path, &r, err, sizeof err);
		if (rc == 0)
			fl_trace_fini(&r);
		if (rc != FL_EPROTO || !strstr(err, misread_cases[i].want)) {
			print_error("case '%s': rc %s, error '%s', want '%s'\n",
			            misread_cases[i].name, fl_errname(rc), err,
			            misread_cases[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The count in `choices N` is not an allocation size: a 65-byte file
 * announcing 2^28 choices (2 GiB) reads to the count mismatch even with
 * the address space capped at 256 MiB more than the process uses. */
static void
test_count_not_trusted(void **state)
{
	(void)state;
	write_text(HDR "choices 268435456\n1 2\nend\n");
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		if (f == NULL || fscanf(f, "%ld", &pages) != 1)
			_exit(3);
		fclose(f);
		rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
		struct rlimit rl = { cap, cap };
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
		struct fl_trace r;
		char err[256] = "";
		int rc = fl_trace_read(g_path, &r, err, sizeof err);
		if (rc == FL_EPROTO && strstr(err, "2 choices, header says 268435456"))
			_exit(0);
		fprintf(stderr, "rc %s, error '%s'\n", fl_errname(rc), err);
		_exit(1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_hash_str(void **state)
{
	(void)state;
	assert_int_equal(fl_trace_hash_str(""), 0xcbf29ce484222325ull);
	assert_int_not_equal(fl_trace_hash_str("a"), fl_trace_hash_str("b"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_choices_no_property, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_not_trusted, setup, teardown),
		cmocka_unit_test(test_hash_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
