/*
 * Report tests: the exact text of the human lines, JSON, JUnit and TAP for a
 * small report; escaping of hostile strings; and, when python3 is there,
 * json.load / xml.etree / ci/count.py read back what the writers produce.
 * argv[1]: python3 (or ""), argv[2]: ci/count.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fl_test.h"

#include "faultline/error.h"
#include "faultline/report.h"

#include "run/json_read.h"

static const char *python3, *count_py;

static struct fl_run_result
result(const char *scenario, uint64_t seed, enum fl_verdict v, const char *prop, const char *detail,
       const char *trace, uint64_t hash, double secs, const char *replay)
{
	struct fl_run_result r;
	memset(&r, 0, sizeof r);
	snprintf(r.scenario, sizeof r.scenario, "%s", scenario);
	r.seed = seed;
	r.verdict = v;
	snprintf(r.property, sizeof r.property, "%s", prop);
	snprintf(r.detail, sizeof r.detail, "%s", detail);
	snprintf(r.trace_path, sizeof r.trace_path, "%s", trace);
	r.trace_hash = hash;
	r.seconds = secs;
	snprintf(r.replay_cmd, sizeof r.replay_cmd, "%s", replay);
	return r;
}

/* Two scenarios, one pass and one failure each way the strings can hurt. */
static void
fill(struct fl_report *r)
{
	struct fl_run_result res[] = {
		result("smoke", 1, FL_VERDICT_PASS, "", "", "", 0xabcdef, 0.5, ""),
		result("smoke", 18446744073709551615ull, FL_VERDICT_FAIL, "image_refs",
		       "image_refs: actor \"sub\" holds 1 reference <session 7> & more\nline2\ttab",
		       "traces/smoke-2.trace", 0x0123456789abcdefull, 0.25,
		       "faultline replay traces/smoke-2.trace"),
		result("b1 #fixture", 3, FL_VERDICT_CRASH, "",
		       "SIGSEGV in actor sub \x01 \xff bad utf8 caf\xc3\xa9", "", 7, 0.125,
		       "faultline run fixtures/b1.yaml --seed 3"),
		result("b1 #fixture", 4, FL_VERDICT_HANG, "", "", "", 8, 2, ""),
		result("smoke", 5, FL_VERDICT_DEADLOCK, "", "no actor runnable: pub at offer",
		       "t.trace", 9, 0, "faultline replay t.trace"),
	};
	for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
		assert_fl(fl_report_add(r, &res[i]), 0);
}

static char *
slurp(FILE *f)
{
	fflush(f);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	return buf;
}

/* A new report with opt (asserted to succeed). */
static struct fl_report *
new_report(const struct fl_report_options *opt)
{
	struct fl_report *r = NULL;
	assert_fl(fl_report_new(opt, &r), 0);
	return r;
}

/* The text write(r, f) puts in a new temporary file (the caller frees it). */
static char *
written(const struct fl_report *r, int (*write)(const struct fl_report *, FILE *))
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_fl(write(r, f), 0);
	char *text = slurp(f);
	fclose(f);
	return text;
}

/* The whole text of the file at path (the caller frees it). */
static char *
slurp_path(const char *path)
{
	FILE *g = fopen(path, "r");
	assert_non_null(g);
	fseek(g, 0, SEEK_END);
	char *text = slurp(g);
	fclose(g);
	return text;
}

/* Makes path (a mkstemp template) an empty file of this process's. */
static void
make_temp(char *path)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

static void
test_verdict_names(void **state)
{
	(void)state;
	enum fl_verdict v;
	static const char *const names[] = { "pass", "fail", "crash", "hang", "deadlock" };
	for (int i = 0; i < FL_VERDICT_COUNT; i++) {
		assert_string_equal(fl_verdict_name((enum fl_verdict)i), names[i]);
		assert_fl(fl_verdict_parse(names[i], &v), 0);
		assert_int_equal(v, i);
	}
	assert_fl(fl_verdict_parse("PASS", &v), FL_EINVAL);
	assert_string_equal(fl_verdict_name((enum fl_verdict)9), "unknown");
}

static const char expected_json[] =
        "{\"runs\": [\n"
        "  {\"scenario\": \"smoke\", \"seed\": 1, \"mode\": null, \"run_index\": 0, "
        "\"sweep_point\": null, \"sweep_k\": null, \"sweep_persistent\": null, \"verdict\": "
        "\"pass\", \"property\": null, "
        "\"trace\": null, \"trace_hash\": \"0000000000abcdef\", \"seconds\": 0.500000, "
        "\"detail\": \"\", \"faults_fired\": {}, \"op_errors_tolerated\": 0, \"op_errors_fatal\": "
        "0, \"known\": false},\n"
        "  {\"scenario\": \"smoke\", \"seed\": 18446744073709551615, \"mode\": null, "
        "\"run_index\": 0, \"sweep_point\": null, \"sweep_k\": null, \"sweep_persistent\": null, "
        "\"verdict\": \"fail\", "
        "\"property\": \"image_refs\", \"trace\": \"traces/smoke-2.trace\", "
        "\"trace_hash\": \"0123456789abcdef\", \"seconds\": 0.250000, \"detail\": "
        "\"image_refs: actor \\\"sub\\\" holds 1 reference <session 7> & more\\nline2\\ttab\", "
        "\"faults_fired\": {}, \"op_errors_tolerated\": 0, \"op_errors_fatal\": 0, \"known\": "
        "false},\n"
        "  {\"scenario\": \"b1 #fixture\", \"seed\": 3, \"mode\": null, \"run_index\": 0, "
        "\"sweep_point\": null, \"sweep_k\": null, \"sweep_persistent\": null, \"verdict\": "
        "\"crash\", \"property\": null, "
        "\"trace\": null, \"trace_hash\": \"0000000000000007\", \"seconds\": 0.125000, "
        "\"detail\": \"SIGSEGV in actor sub \\u0001 \\ufffd bad utf8 caf\xc3\xa9\", "
        "\"faults_fired\": {}, \"op_errors_tolerated\": 0, \"op_errors_fatal\": 0, \"known\": "
        "false},\n"
        "  {\"scenario\": \"b1 #fixture\", \"seed\": 4, \"mode\": null, \"run_index\": 0, "
        "\"sweep_point\": null, \"sweep_k\": null, \"sweep_persistent\": null, \"verdict\": "
        "\"hang\", \"property\": null, "
        "\"trace\": null, \"trace_hash\": \"0000000000000008\", \"seconds\": 2.000000, "
        "\"detail\": \"\", \"faults_fired\": {}, \"op_errors_tolerated\": 0, \"op_errors_fatal\": "
        "0, \"known\": false},\n"
        "  {\"scenario\": \"smoke\", \"seed\": 5, \"mode\": null, \"run_index\": 0, "
        "\"sweep_point\": null, \"sweep_k\": null, \"sweep_persistent\": null, \"verdict\": "
        "\"deadlock\", \"property\": null, "
        "\"trace\": \"t.trace\", \"trace_hash\": \"0000000000000009\", \"seconds\": 0.000000, "
        "\"detail\": \"no actor runnable: pub at offer\", \"faults_fired\": {}, "
        "\"op_errors_tolerated\": 0, \"op_errors_fatal\": 0, \"known\": false}\n"
        "],\n"
        " \"rules_never_fired\": [],\n"
        " \"skipped\": [],\n"
        " \"sweeps\": [],\n"
        " \"interrupted\": false,\n"
        " \"summary\": {\"runs\": 5, \"passed\": 1, \"failed\": 1, \"crashed\": 1, \"hung\": 1, "
        "\"deadlocked\": 1, \"not_run\": 0, \"known\": 0}}\n";

static void
test_json_exact(void **state)
{
	(void)state;
	FILE *out = tmpfile();
	struct fl_report *r = new_report(&(struct fl_report_options){ .out = out });
	fill(r);
	char *text = written(r, fl_report_write_json);
	assert_string_equal(text, expected_json);
	free(text);
	struct fl_report_counts c;
	fl_report_counts(r, &c);
	assert_int_equal(c.runs, 5);
	assert_int_equal(c.by_verdict[FL_VERDICT_PASS], 1);
	assert_int_equal(c.by_verdict[FL_VERDICT_DEADLOCK], 1);
	assert_true(c.seconds == 2.875);
	assert_int_equal(fl_report_exit_status(r), 1);
	fl_report_free(r);
	fclose(out);
}

static void
test_json_empty(void **state)
{
	(void)state;
	FILE *out = tmpfile();
	struct fl_report *r = new_report(&(struct fl_report_options){ .out = out });
	assert_int_equal(fl_report_exit_status(r), 2); /* zero runs is never a pass */
	char *text = written(r, fl_report_write_json);
	assert_string_equal(text, "{\"runs\": [],\n \"rules_never_fired\": [],\n \"skipped\": "
	                          "[],\n \"sweeps\": [],\n "
	                          "\"interrupted\": "
	                          "false,\n \"summary\": {\"runs\": 0, \"passed\": 0, "
	                          "\"failed\": 0, \"crashed\": 0, \"hung\": 0, \"deadlocked\": 0, "
	                          "\"not_run\": 0, \"known\": 0}}\n");
	free(text);
	fl_report_free(r);
	fclose(out);
}

static void
test_junit_exact(void **state)
{
	(void)state;
	FILE *out = tmpfile();
	struct fl_report *r = new_report(&(struct fl_report_options){ .out = out });
	fill(r);
	char *text = written(r, fl_report_write_junit);
	static const char expected[] =
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<testsuites name=\"faultline\" tests=\"5\" failures=\"4\" errors=\"0\" "
	        "time=\"2.875000\">\n"
	        "  <testsuite name=\"smoke\" tests=\"3\" failures=\"2\" errors=\"0\" skipped=\"0\" "
	        "time=\"0.750000\">\n"
	        "    <testcase classname=\"smoke\" name=\"smoke seed=1\" time=\"0.500000\"/>\n"
	        "    <testcase classname=\"smoke\" name=\"smoke seed=18446744073709551615\" "
	        "time=\"0.250000\">\n"
	        "      <failure type=\"fail\" message=\"fail: image_refs\">verdict: fail\n"
	        "property: image_refs\nseed: 18446744073709551615\ntrace: traces/smoke-2.trace\n"
	        "trace_hash: 0123456789abcdef\n"
	        "detail: image_refs: actor &quot;sub&quot; holds 1 reference &lt;session 7&gt; "
	        "&amp; "
	        "more\nline2\ttab\n"
	        "replay: faultline replay traces/smoke-2.trace</failure>\n"
	        "    </testcase>\n"
	        "    <testcase classname=\"smoke\" name=\"smoke seed=5\" time=\"0.000000\">\n"
	        "      <failure type=\"deadlock\" message=\"deadlock\">verdict: deadlock\n"
	        "property: -\nseed: 5\ntrace: t.trace\ntrace_hash: 0000000000000009\n"
	        "detail: no actor runnable: pub at offer\nreplay: faultline replay "
	        "t.trace</failure>\n"
	        "    </testcase>\n"
	        "  </testsuite>\n"
	        "  <testsuite name=\"b1 #fixture\" tests=\"2\" failures=\"2\" errors=\"0\" "
	        "skipped=\"0\" time=\"2.125000\">\n"
	        "    <testcase classname=\"b1 #fixture\" name=\"b1 #fixture seed=3\" "
	        "time=\"0.125000\">\n"
	        "      <failure type=\"crash\" message=\"crash\">verdict: crash\n"
	        "property: -\nseed: 3\ntrace: -\ntrace_hash: 0000000000000007\n"
	        "detail: SIGSEGV in actor sub ? ? bad utf8 caf\xc3\xa9\n"
	        "replay: faultline run fixtures/b1.yaml --seed 3</failure>\n"
	        "    </testcase>\n"
	        "    <testcase classname=\"b1 #fixture\" name=\"b1 #fixture seed=4\" "
	        "time=\"2.000000\">\n"
	        "      <failure type=\"hang\" message=\"hang\">verdict: hang\n"
	        "property: -\nseed: 4\ntrace: -\ntrace_hash: 0000000000000008\ndetail: \n"
	        "replay: -</failure>\n"
	        "    </testcase>\n"
	        "  </testsuite>\n"
	        "</testsuites>\n";
	assert_string_equal(text, expected);
	free(text);
	fl_report_free(r);
	fclose(out);
}

/* A scenario skipped between runs: a TAP line of its own (numbered with
 * the runs, counted in the plan), an entry of the JSON's skipped, a JUnit
 * testcase with <skipped>, and a count on the summary line. */
static void
test_skipped(void **state)
{
	(void)state;
	FILE *out = tmpfile(), *tap = tmpfile(), *json = tmpfile(), *junit = tmpfile();
	struct fl_report_options opt = { .out = out, .tap = tap };
	struct fl_run_result pass = result("smoke", 1, FL_VERDICT_PASS, "", "", "", 1, 0.5, "");
	char err[256];
	struct fl_report *r = new_report(&opt);

	assert_fl(fl_report_add(r, &pass), 0);
	assert_fl(fl_report_skipped(r, "cl #1", "a cluster runs in sim or proc mode"), 0);
	pass.seed = 2;
	assert_fl(fl_report_add(r, &pass), 0);
	assert_fl(fl_report_finish(r, 1.0, err, sizeof err), 0);
	assert_fl(fl_report_write_json(r, json), 0);
	assert_fl(fl_report_write_junit(r, junit), 0);
	char *human = slurp(out), *taptext = slurp(tap), *j = slurp(json), *x = slurp(junit);
	assert_string_equal(taptext, "TAP version 13\n"
	                             "ok 1 - smoke seed=1\n"
	                             "ok 2 - cl \\#1 # SKIP a cluster runs in sim or proc mode\n"
	                             "ok 3 - smoke seed=2\n"
	                             "1..3\n");
	assert_non_null(strstr(human, "2 runs: 2 passed, 0 failed, 0 crashed, 0 hung, 0 "
	                              "deadlocked, 1 scenario skipped (1.00 s)\n"));
	assert_non_null(strstr(j, "\n \"skipped\": [{\"scenario\": \"cl #1\", \"why\": \"a "
	                          "cluster runs in sim or proc mode\"}],\n"));
	assert_non_null(strstr(x, "<testsuites name=\"faultline\" tests=\"3\" "));
	assert_non_null(strstr(x, "<testcase classname=\"cl #1\" name=\"cl #1\" "
	                          "time=\"0.000000\">\n      <skipped message=\"a cluster runs in "
	                          "sim or proc mode\"/>\n"));
	free(human);
	free(taptext);
	free(j);
	free(x);
	fclose(out);
	fclose(tap);
	fclose(json);
	fclose(junit);
	fl_report_free(r);
}

static void
test_human_and_tap(void **state)
{
	(void)state;
	FILE *out = tmpfile(), *tap = tmpfile();
	struct fl_report_options opt = { .out = out,
		                         .tap = tap,
		                         .progress = true,
		                         .planned = 5,
		                         .progress_every = 2 };
	char err[256];
	struct fl_report *r = new_report(&opt);
	fill(r);
	assert_fl(fl_report_finish(r, 3.5, err, sizeof err), 0);
	char *human = slurp(out), *taptext = slurp(tap);
	static const char expected_human[] =
	        "FAIL     smoke seed=18446744073709551615 property=image_refs "
	        "trace=traces/smoke-2.trace\n"
	        "         image_refs: actor \"sub\" holds 1 reference <session 7> & "
	        "more\nline2\ttab\n"
	        "         replay: faultline replay traces/smoke-2.trace\n"
	        "[2/5] 1 passed, 1 not passed\n"
	        "CRASH    b1 #fixture seed=3 property=- trace=-\n"
	        "         SIGSEGV in actor sub \x01 \xff bad utf8 caf\xc3\xa9\n"
	        "         replay: faultline run fixtures/b1.yaml --seed 3\n"
	        "HANG     b1 #fixture seed=4 property=- trace=-\n"
	        "[4/5] 1 passed, 3 not passed\n"
	        "DEADLOCK smoke seed=5 property=- trace=t.trace\n"
	        "         no actor runnable: pub at offer\n"
	        "         replay: faultline replay t.trace\n"
	        "[5/5] 1 passed, 4 not passed\n"
	        "5 runs: 1 passed, 1 failed, 1 crashed, 1 hung, 1 deadlocked (3.50 s)\n";
	assert_string_equal(human, expected_human);
	static const char expected_tap[] =
	        "TAP version 13\n"
	        "ok 1 - smoke seed=1\n"
	        "not ok 2 - smoke seed=18446744073709551615\n"
	        "  ---\n  verdict: fail\n  seed: 18446744073709551615\n  property: \"image_refs\"\n"
	        "  trace: \"traces/smoke-2.trace\"\n  trace_hash: \"0123456789abcdef\"\n"
	        "  seconds: 0.250000\n"
	        "  detail: \"image_refs: actor \\\"sub\\\" holds 1 reference <session 7> & "
	        "more\\nline2\\ttab\"\n"
	        "  replay: \"faultline replay traces/smoke-2.trace\"\n  ...\n"
	        "not ok 3 - b1 \\#fixture seed=3\n"
	        "  ---\n  verdict: crash\n  seed: 3\n  property: null\n  trace: null\n"
	        "  trace_hash: \"0000000000000007\"\n  seconds: 0.125000\n"
	        "  detail: \"SIGSEGV in actor sub \\u0001 \\ufffd bad utf8 caf\xc3\xa9\"\n"
	        "  replay: \"faultline run fixtures/b1.yaml --seed 3\"\n  ...\n"
	        "not ok 4 - b1 \\#fixture seed=4\n"
	        "  ---\n  verdict: hang\n  seed: 4\n  property: null\n  trace: null\n"
	        "  trace_hash: \"0000000000000008\"\n  seconds: 2.000000\n  detail: \"\"\n"
	        "  replay: null\n  ...\n"
	        "not ok 5 - smoke seed=5\n"
	        "  ---\n  verdict: deadlock\n  seed: 5\n  property: null\n  trace: \"t.trace\"\n"
	        "  trace_hash: \"0000000000000009\"\n  seconds: 0.000000\n"
	        "  detail: \"no actor runnable: pub at offer\"\n"
	        "  replay: \"faultline replay t.trace\"\n  ...\n"
	        "1..5\n";
	assert_string_equal(taptext, expected_tap);
	free(human);
	free(taptext);
	fl_report_free(r);
	fclose(out);
	fclose(tap);
}

/* On a terminal the progress line is rewritten in place on progress_out,
 * at most once per progress_interval_ms (here never twice), and cleared
 * before a failure entry and the summary, which go to out; it names the
 * scenario fl_report_plan announced and the plan's total. */
static void
test_tty_progress(void **state)
{
	(void)state;
	FILE *out = tmpfile(), *tty = tmpfile();
	struct fl_report_options opt = { .out = out,
		                         .progress = true,
		                         .tty = true,
		                         .progress_out = tty,
		                         .progress_interval_ms = UINT32_MAX };
	struct fl_report *r = new_report(&opt);
	assert_fl(fl_report_plan(r, "scn", 2), 0); /* drawn: the first draw */
	struct fl_run_result a = result("scn", 1, FL_VERDICT_PASS, "", "", "", 0, 1, "");
	struct fl_run_result b = result("scn", 2, FL_VERDICT_FAIL, "p", "", "", 0, 1, "");
	assert_fl(fl_report_add(r, &a), 0); /* within the interval: not drawn */
	assert_fl(fl_report_add(r, &b), 0);
	assert_fl(fl_report_finish(r, -1, NULL, 0), 0);
	char *text = slurp(out), *line = slurp(tty);
	assert_string_equal(line, "\r\033[K[0/2] scn: 0 passed, 0 not passed\r\033[K");
	assert_string_equal(text, "FAIL     scn seed=2 property=p trace=-\n"
	                          "2 runs: 1 passed, 1 failed, 0 crashed, 0 hung, "
	                          "0 deadlocked (2.00 s)\n");
	free(text);
	free(line);
	fl_report_free(r);
	fclose(out);
	fclose(tty);
	/* Not a terminal: a line every progress_every runs, on out. */
	out = tmpfile();
	struct fl_report_options plain = { .out = out, .progress = true, .progress_every = 1 };
	r = new_report(&plain);
	assert_fl(fl_report_plan(r, "scn", 1), 0);
	assert_fl(fl_report_add(r, &a), 0);
	assert_fl(fl_report_finish(r, -1, NULL, 0), 0);
	text = slurp(out);
	assert_string_equal(text, "[1/1] scn: 1 passed, 0 not passed\n"
	                          "1 runs: 1 passed, 0 failed, 0 crashed, 0 hung, 0 deadlocked "
	                          "(1.00 s)\n");
	free(text);
	fl_report_free(r);
	fclose(out);
}

static void
test_bad_verdict_and_unwritable(void **state)
{
	(void)state;
	FILE *out = tmpfile();
	struct fl_report_options opt = { .out = out, .json_path = "/nonexistent-dir/x.json" };
	char err[256];
	struct fl_report *r = new_report(&opt);
	struct fl_run_result bad = result("s", 1, FL_VERDICT_PASS, "", "", "", 0, 0, "");
	bad.verdict = (enum fl_verdict)17;
	assert_fl(fl_report_add(r, &bad), FL_EINVAL);
	assert_fl(fl_report_finish(r, -1, err, sizeof err), FL_EIO);
	assert_string_equal(err, "/nonexistent-dir/x.json: cannot open for writing "
	                         "(No such file or directory)");
	fl_report_free(r);
	fclose(out);
}

/* The JSON streamed into the file fl_report_open_files opened is exactly
 * what fl_report_write_json writes from records (which are then not kept:
 * memory stays flat however many runs). */
static void
test_streamed_json(void **state)
{
	(void)state;
	char path[] = "/tmp/fl-report-stream-XXXXXX";
	make_temp(path);
	FILE *out = tmpfile(), *f = tmpfile();
	struct fl_report_options opt = { .out = out, .json_path = path };
	char err[256];
	struct fl_report *r = new_report(&opt);
	assert_fl(fl_report_open_files(r, err, sizeof err), 0);
	fill(r);
	assert_fl(fl_report_write_json(r, f), FL_EINVAL); /* no records kept */
	assert_fl(fl_report_finish(r, -1, err, sizeof err), 0);
	fl_report_free(r);
	char *text = slurp_path(path);
	unlink(path);
	assert_string_equal(text, expected_json);
	free(text);
	fclose(out);
	fclose(f);
}

/* A sweep's entry: the points hit, what it tried, its promise; points
 * never hit are left out. */
static void
test_json_sweep(void **state)
{
	static const char *const points[] = { "transport/a", "transport/b", "target/alloc" };
	static const uint64_t hits[] = { 70, 0, 3 }, tried[] = { 64, 0, 3 };
	struct fl_report_sweep sw = { .scenario = "sw\"eep",
		                      .seed = 7,
		                      .points = points,
		                      .hits = hits,
		                      .tried = tried,
		                      .npoints = 3,
		                      .faulted = 134,
		                      .kept = 10,
		                      .here = 5 };
	FILE *out = tmpfile();
	struct fl_report *r = new_report(&(struct fl_report_options){ .out = out });
	char *text;

	(void)state;
	assert_fl(fl_report_sweep(r, &sw), 0);
	text = written(r, fl_report_write_json);
	assert_non_null(strstr(text,
	                       "\n \"sweeps\": [{\"scenario\": \"sw\\\"eep\", \"seed\": 7, "
	                       "\"hits\": {\"transport/a\": 70, \"target/alloc\": 3}, "
	                       "\"tried\": {\"transport/a\": 64, \"target/alloc\": 3}, "
	                       "\"faulted_runs\": 134, \"kept\": 10, \"this_shard\": 5}],\n"));
	free(text);
	fl_report_free(r);
	fclose(out);
}

/* A report file that cannot be opened is found by fl_report_open_files,
 * before any run; nothing is left open. */
static void
test_open_files_unwritable(void **state)
{
	(void)state;
	static const struct fl_report_options opts[] = {
		{ .json_path = "/nonexistent-dir/x.json" },
		{ .json_path = "/tmp", .junit_path = NULL },
		{ .json_path = "-", .junit_path = "/nonexistent-dir/x.xml" },
	};
	static const char *const msgs[] = {
		"/nonexistent-dir/x.json: cannot open for writing (No such file or directory)",
		"/tmp: cannot open for writing (Is a directory)",
		"/nonexistent-dir/x.xml: cannot open for writing (No such file or directory)",
	};
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		struct fl_report_options opt = opts[i];
		FILE *out = tmpfile();
		char err[256];
		opt.out = out;
		struct fl_report *r = new_report(&opt);
		assert_fl(fl_report_open_files(r, err, sizeof err), FL_EIO);
		assert_string_equal(err, msgs[i]);
		fl_report_free(r);
		fclose(out);
	}
}

/* A run the harness could not execute: reported as not run everywhere,
 * never a pass, and the exit status is 2 even when every other run passed. */
static void
test_not_run(void **state)
{
	(void)state;
	FILE *out = tmpfile(), *tap = tmpfile();
	struct fl_report_options opt = { .out = out, .tap = tap };
	char err[256];
	struct fl_report *r = new_report(&opt);
	struct fl_run_result a = result("s", 1, FL_VERDICT_PASS, "", "", "", 5, 1, "");
	struct fl_run_result b =
	        result("s", 2, FL_VERDICT_PASS, "",
	               "the harness could not start the run: Too many open files", "", 0, 0, "");
	b.not_run = true;
	assert_fl(fl_report_add(r, &a), 0);
	assert_fl(fl_report_exit_status(r), 0);
	assert_fl(fl_report_add(r, &b), 0);
	assert_int_equal(fl_report_exit_status(r), 2);
	struct fl_report_counts c;
	fl_report_counts(r, &c);
	assert_int_equal(c.runs, 2);
	assert_int_equal(c.not_run, 1);
	assert_int_equal(c.by_verdict[FL_VERDICT_PASS], 1);
	char *json = written(r, fl_report_write_json), *junit = written(r, fl_report_write_junit);
	assert_fl(fl_report_finish(r, 1, err, sizeof err), 0);
	char *human = slurp(out), *taptext = slurp(tap);
	assert_string_equal(human,
	                    "NOT RUN  s seed=2 property=- trace=-\n"
	                    "         the harness could not start the run: Too many open files\n"
	                    "2 runs: 1 passed, 0 failed, 0 crashed, 0 hung, 0 deadlocked, "
	                    "1 not run (1.00 s)\n");
	assert_string_equal(taptext,
	                    "TAP version 13\nok 1 - s seed=1\nnot ok 2 - s seed=2\n"
	                    "  ---\n  verdict: not_run\n  seed: 2\n  property: null\n"
	                    "  trace: null\n  trace_hash: \"0000000000000000\"\n"
	                    "  seconds: 0.000000\n  detail: \"the harness could not start "
	                    "the run: Too many open files\"\n  replay: null\n  ...\n1..2\n");
	assert_string_equal(
	        json,
	        "{\"runs\": [\n"
	        "  {\"scenario\": \"s\", \"seed\": 1, \"mode\": null, \"run_index\": 0, "
	        "\"sweep_point\": null, \"sweep_k\": null, \"sweep_persistent\": null, "
	        "\"verdict\": \"pass\", \"property\": null, "
	        "\"trace\": null, \"trace_hash\": \"0000000000000005\", \"seconds\": 1.000000, "
	        "\"detail\": \"\", \"faults_fired\": {}, \"op_errors_tolerated\": 0, "
	        "\"op_errors_fatal\": 0, \"known\": false},\n"
	        "  {\"scenario\": \"s\", \"seed\": 2, \"mode\": null, \"run_index\": 0, "
	        "\"sweep_point\": null, \"sweep_k\": null, \"sweep_persistent\": null, "
	        "\"verdict\": \"not_run\", \"property\": null, "
	        "\"trace\": null, \"trace_hash\": \"0000000000000000\", \"seconds\": 0.000000, "
	        "\"detail\": \"the harness could not start the run: Too many open files\", "
	        "\"faults_fired\": {}, \"op_errors_tolerated\": 0, \"op_errors_fatal\": 0, "
	        "\"known\": false}\n"
	        "],\n"
	        " \"rules_never_fired\": [],\n"
	        " \"skipped\": [],\n"
	        " \"sweeps\": [],\n"
	        " \"interrupted\": false,\n"
	        " \"summary\": {\"runs\": 2, \"passed\": 1, \"failed\": 0, \"crashed\": 0, "
	        "\"hung\": 0, "
	        "\"deadlocked\": 0, \"not_run\": 1, \"known\": 0}}\n");
	assert_string_equal(
	        junit,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<testsuites name=\"faultline\" tests=\"2\" failures=\"0\" errors=\"1\" "
	        "time=\"1.000000\">\n"
	        "  <testsuite name=\"s\" tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"0\" "
	        "time=\"1.000000\">\n"
	        "    <testcase classname=\"s\" name=\"s seed=1\" time=\"1.000000\"/>\n"
	        "    <testcase classname=\"s\" name=\"s seed=2\" time=\"0.000000\">\n"
	        "      <error type=\"not_run\" message=\"not run\">the harness could not start the "
	        "run: Too many open files</error>\n"
	        "    </testcase>\n"
	        "  </testsuite>\n"
	        "</testsuites>\n");
	free(human);
	free(taptext);
	free(json);
	free(junit);
	fl_report_free(r);
	fclose(out);
	fclose(tap);
}

/* Runs say what ran: mode, run index and the sweep fields in the JSON
 * (null when not a sweep run), and JUnit testcase names / TAP descriptions
 * "SCENARIO seed=S[ sweep=POINT#K once|persistent| sweep=count]" that are
 * unique where the seeds of a sweep are all one. */
static void
test_run_names(void **state)
{
	(void)state;
	FILE *out = tmpfile(), *tap = tmpfile();
	struct fl_report_options opt = { .out = out, .tap = tap };
	struct fl_report *r = new_report(&opt);
	struct fl_run_result a = result("sw", 7, FL_VERDICT_PASS, "", "", "", 1, 0, "");
	struct fl_run_result b = a, c = a, d = a, bad = a;
	snprintf(a.mode, sizeof a.mode, "sim");
	a.run_index = 0;
	snprintf(b.mode, sizeof b.mode, "proc");
	b.run_index = 21;
	snprintf(b.sweep_point, sizeof b.sweep_point, "transport/rr/request_send");
	b.sweep_k = 3;
	c = b;
	c.run_index = 22;
	c.sweep_persistent = true;
	c.verdict = FL_VERDICT_FAIL;
	snprintf(d.mode, sizeof d.mode, "stress");
	d.run_index = 20;
	d.not_run = true;
	d.sweep_count = true;
	snprintf(bad.mode, sizeof bad.mode, "fast");
	assert_fl(fl_report_add(r, &bad), FL_EINVAL);
	assert_fl(fl_report_add(r, &a), 0);
	assert_fl(fl_report_add(r, &b), 0);
	assert_fl(fl_report_add(r, &c), 0);
	assert_fl(fl_report_add(r, &d), 0);
	char *json = written(r, fl_report_write_json), *junit = written(r, fl_report_write_junit);
	static const char *const json_parts[] = {
		"\"seed\": 7, \"mode\": \"sim\", \"run_index\": 0, \"sweep_point\": null, "
		"\"sweep_k\": null, \"sweep_persistent\": null, \"verdict\": \"pass\"",
		"\"seed\": 7, \"mode\": \"proc\", \"run_index\": 21, "
		"\"sweep_point\": \"transport/rr/request_send\", \"sweep_k\": 3, "
		"\"sweep_persistent\": false, \"verdict\": \"pass\"",
		"\"seed\": 7, \"mode\": \"proc\", \"run_index\": 22, "
		"\"sweep_point\": \"transport/rr/request_send\", \"sweep_k\": 3, "
		"\"sweep_persistent\": true, \"verdict\": \"fail\"",
		"\"seed\": 7, \"mode\": \"stress\", \"run_index\": 20, \"sweep_point\": null, "
		"\"sweep_k\": 0, \"sweep_persistent\": null, \"verdict\": \"not_run\"",
	};
	for (size_t i = 0; i < sizeof json_parts / sizeof json_parts[0]; i++)
		if (strstr(json, json_parts[i]) == NULL)
			fail_msg("JSON lacks %s:\n%s", json_parts[i], json);
	static const char *const junit_parts[] = {
		"<testcase classname=\"sw\" name=\"sw seed=7\" ",
		"<testcase classname=\"sw\" name=\"sw seed=7 sweep=transport/rr/request_send#3 "
		"once\" ",
		"<testcase classname=\"sw\" name=\"sw seed=7 sweep=transport/rr/request_send#3 "
		"persistent\" ",
		"<testcase classname=\"sw\" name=\"sw seed=7 sweep=count\" ",
	};
	for (size_t i = 0; i < sizeof junit_parts / sizeof junit_parts[0]; i++)
		if (strstr(junit, junit_parts[i]) == NULL)
			fail_msg("JUnit lacks %s:\n%s", junit_parts[i], junit);
	assert_fl(fl_report_finish(r, 1, NULL, 0), 0);
	char *taptext = slurp(tap), *human = slurp(out);
	assert_non_null(
	        strstr(taptext, "\nok 2 - sw seed=7 sweep=transport/rr/request_send#3 once\n"));
	assert_non_null(strstr(taptext, "\nnot ok 3 - sw seed=7 sweep=transport/rr/request_send#3 "
	                                "persistent\n"));
	assert_non_null(strstr(taptext, "\nnot ok 4 - sw seed=7 sweep=count\n"));
	assert_non_null(strstr(human, "FAIL     sw seed=7 sweep=transport/rr/request_send#3 "
	                              "persistent property=- trace=-\n"));
	free(json);
	free(junit);
	free(taptext);
	free(human);
	fl_report_free(r);
	fclose(out);
	fclose(tap);
}

/* The JSON the report writes reads back (json_read.c, what faultline merge
 * uses) to the same values: escaped strings, U+FFFD for invalid UTF-8, a
 * seed of 2^64-1 exactly; malformed text is refused with its line. */
static void
test_json_read_back(void **state)
{
	(void)state;
	FILE *out = tmpfile();
	struct fl_report *r = new_report(&(struct fl_report_options){ .out = out });
	fill(r);
	char *text = written(r, fl_report_write_json), err[128];
	struct fli_json *doc = NULL;
	assert_fl(fli_json_parse(text, strlen(text), &doc, err, sizeof err), 0);
	const struct fli_json *runs = fli_json_get(doc, "runs");
	assert_non_null(runs);
	assert_int_equal(runs->count, 5);
	const struct fli_json *seed = fli_json_get(&runs->items[1], "seed");
	assert_true(seed->is_u64);
	assert_true(seed->u64 == UINT64_MAX);
	assert_string_equal(
	        fli_json_get(&runs->items[1], "detail")->string,
	        "image_refs: actor \"sub\" holds 1 reference <session 7> & more\nline2\ttab");
	assert_string_equal(fli_json_get(&runs->items[2], "detail")->string,
	                    "SIGSEGV in actor sub \x01 \xef\xbf\xbd bad utf8 caf\xc3\xa9");
	assert_int_equal(fli_json_get(&runs->items[0], "property")->type, FL_JSON_NULL);
	assert_int_equal(fli_json_get(doc, "interrupted")->type, FL_JSON_BOOL);
	assert_null(fli_json_get(doc, "nope"));
	fli_json_free(doc);
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "{\"runs\": [\n  {\"a\": 1},\n",
		  "line 3: the text ends where a value was expected" },
		{ "{\"a\": 1} x", "line 1: text after the value" },
		{ "[\"\\ud800\"]", "line 1: a lone surrogate in a \\u escape" },
		{ "[\"a\\u0000\"]", "line 1: \\u0000 in a string" },
		{ "[01]", "line 1: ',' or ']' expected" },
		{ "{1: 2}", "line 1: an object key must be a string" },
		{ "[\"tab\there\"]", "line 1: a control character in a string" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_fl(fli_json_parse(bad[i].text, strlen(bad[i].text), &doc, err, sizeof err),
		          FL_EPROTO);
		assert_string_equal(err, bad[i].err);
	}
	char deep[200];
	memset(deep, '[', sizeof deep);
	assert_fl(fli_json_parse(deep, sizeof deep, &doc, err, sizeof err), FL_EPROTO);
	assert_string_equal(err, "line 1: nested more than 64 deep");
	assert_fl(fli_json_parse("\"\\ud83d\\ude00\"", 14, &doc, err, sizeof err), 0);
	assert_string_equal(doc->string, "\xf0\x9f\x98\x80");
	fli_json_free(doc);
	free(text);
	fl_report_free(r);
	fclose(out);
}

/* Runs python3 with args; returns its exit status (-1 when it did not run). */
static int
run_python(const char *const *argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An interrupted batch: the JSON says so at top level, the JUnit has an
 * error testcase (a partial report never reads green), TAP bails out
 * instead of giving a plan, the exit status is 2. */
static void
test_interrupted(void **state)
{
	(void)state;
	char path[] = "/tmp/fl-report-intr-XXXXXX";
	make_temp(path);
	FILE *out = tmpfile(), *tap = tmpfile();
	struct fl_report_options opt = { .out = out, .tap = tap, .json_path = path };
	char err[256];
	struct fl_report *r = new_report(&opt);
	assert_fl(fl_report_open_files(r, err, sizeof err), 0);
	struct fl_run_result a = result("s", 1, FL_VERDICT_PASS, "", "", "", 5, 1, "");
	assert_fl(fl_report_add(r, &a), 0);
	assert_fl(fl_report_exit_status(r), 0);
	assert_fl(fl_report_set_interrupted(r, "SIGINT"), 0);
	assert_int_equal(fl_report_exit_status(r), 2);
	assert_fl(fl_report_finish(r, 1, err, sizeof err), 0);
	fl_report_free(r);
	char *json = slurp_path(path), *human = slurp(out), *taptext = slurp(tap);
	/* ci/count.py: one passing run, but the batch is partial. */
	const char *a1[] = { python3, count_py, path, NULL };
	int rc = python3 != NULL && python3[0] != '\0' ? run_python(a1) : 1;
	unlink(path);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(json, "\n \"interrupted\": true,\n \"summary\": {\"runs\": 1, "));
	assert_string_equal(human,
	                    "INTERRUPTED (SIGINT): the report holds the 1 runs that finished "
	                    "before it\n"
	                    "1 runs: 1 passed, 0 failed, 0 crashed, 0 hung, 0 deadlocked "
	                    "(1.00 s)\n");
	assert_string_equal(taptext, "TAP version 13\nok 1 - s seed=1\n"
	                             "Bail out! interrupted (SIGINT)\n");
	/* JUnit from records. */
	r = new_report(&(struct fl_report_options){ .out = out });
	assert_fl(fl_report_add(r, &a), 0);
	assert_fl(fl_report_set_interrupted(r, "SIGTERM"), 0);
	char *junit = written(r, fl_report_write_junit);
	assert_string_equal(
	        junit,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<testsuites name=\"faultline\" tests=\"2\" failures=\"0\" errors=\"1\" "
	        "time=\"1.000000\">\n"
	        "  <testsuite name=\"faultline\" tests=\"1\" failures=\"0\" errors=\"1\" "
	        "skipped=\"0\" "
	        "time=\"0.000000\">\n"
	        "    <testcase classname=\"faultline\" name=\"interrupted\" time=\"0.000000\">\n"
	        "      <error type=\"interrupted\" message=\"interrupted: SIGTERM\">the batch was "
	        "interrupted (SIGTERM): this report holds only the runs that finished before "
	        "it</error>\n"
	        "    </testcase>\n  </testsuite>\n"
	        "  <testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\" "
	        "time=\"1.000000\">\n"
	        "    <testcase classname=\"s\" name=\"s seed=1\" time=\"1.000000\"/>\n"
	        "  </testsuite>\n"
	        "</testsuites>\n");
	fl_report_free(r);
	free(json);
	free(human);
	free(taptext);
	free(junit);
	fclose(out);
	fclose(tap);
}

static void
test_python_reads_files(void **state)
{
	(void)state;
	if (python3 == NULL || python3[0] == '\0')
		skip();
	char dir[] = "/tmp/fl-report-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char json[64], junit[64], err[256];
	snprintf(json, sizeof json, "%s/r.json", dir);
	snprintf(junit, sizeof junit, "%s/r.xml", dir);
	FILE *out = tmpfile();
	struct fl_report_options opt = { .out = out, .json_path = json, .junit_path = junit };
	struct fl_report *r = new_report(&opt);
	fill(r);
	assert_fl(fl_report_finish(r, -1, err, sizeof err), 0);
	fl_report_free(r);
	fclose(out);

	static const char check_json[] =
	        "import json,sys\n"
	        "d=json.load(open(sys.argv[1],encoding='utf-8'))\n"
	        "runs=d['runs']\n"
	        "assert len(runs)==5, runs\n"
	        "assert [x['verdict'] for x in runs]==['pass','fail','crash','hang','deadlock']\n"
	        "assert runs[1]['seed']==18446744073709551615\n"
	        "assert runs[1]['detail']=='image_refs: actor \"sub\" holds 1 reference <session "
	        "7> & more\\nline2\\ttab'\n"
	        "assert runs[2]['detail']=='SIGSEGV in actor sub \\x01 \\ufffd bad utf8 caf\\xe9', "
	        "runs[2]['detail']\n"
	        "assert runs[0]['property'] is None and runs[1]['property']=='image_refs'\n"
	        "assert runs[0]['trace'] is None and runs[4]['trace']=='t.trace'\n"
	        "assert runs[1]['trace_hash']=='0123456789abcdef'\n"
	        "assert "
	        "set(runs[0])=={'scenario','seed','verdict','property','trace','trace_hash','"
	        "seconds','detail','faults_fired','op_errors_tolerated','op_errors_fatal','mode','"
	        "run_index','sweep_point','sweep_k','sweep_persistent','known'}\n"
	        "assert "
	        "d['summary']=={'runs':5,'passed':1,'failed':1,'crashed':1,'hung':1,'deadlocked':1,"
	        "'not_run':0,'known':0}\n";
	static const char check_xml[] =
	        "import sys,xml.etree.ElementTree as ET\n"
	        "t=ET.parse(sys.argv[1]).getroot()\n"
	        "assert t.tag=='testsuites' and t.get('tests')=='5' and t.get('failures')=='4'\n"
	        "s=t.findall('testsuite')\n"
	        "assert [x.get('name') for x in s]==['smoke','b1 #fixture']\n"
	        "assert len(s[0].findall('testcase'))==3\n"
	        "f=s[0].findall('testcase')[1].find('failure')\n"
	        "assert f.get('message')=='fail: image_refs'\n"
	        "assert 'actor \"sub\" holds 1 reference <session 7> & more' in f.text\n"
	        "assert 'replay: faultline replay traces/smoke-2.trace' in f.text\n";
	const char *a1[] = { python3, "-c", check_json, json, NULL };
	const char *a2[] = { python3, "-c", check_xml, junit, NULL };
	const char *a3[] = { python3, count_py, json, NULL };
	int rc1 = run_python(a1), rc2 = run_python(a2), rc3 = run_python(a3);
	unlink(json);
	unlink(junit);
	rmdir(dir);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, 0);
	assert_int_equal(rc3, 1); /* count.py: 1 passed, 4 failed -> exit 1 */
}

/* ci/count.py, which gates CI on the JSON, fails a scenario with a run not
 * run even when its other runs passed. */
static void
test_python_not_run(void **state)
{
	(void)state;
	if (python3 == NULL || python3[0] == '\0')
		skip();
	char dir[] = "/tmp/fl-report-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char json[64], err[256];
	snprintf(json, sizeof json, "%s/r.json", dir);
	FILE *out = tmpfile();
	struct fl_report_options opt = { .out = out, .json_path = json };
	struct fl_report *r = new_report(&opt);
	assert_fl(fl_report_open_files(r, err, sizeof err), 0);
	struct fl_run_result a = result("s", 1, FL_VERDICT_PASS, "", "", "", 5, 1, "");
	struct fl_run_result b = result("s", 2, FL_VERDICT_PASS, "", "not started", "", 0, 0, "");
	b.not_run = true;
	assert_fl(fl_report_add(r, &a), 0);
	assert_fl(fl_report_add(r, &b), 0);
	assert_fl(fl_report_finish(r, -1, err, sizeof err), 0);
	fl_report_free(r);
	fclose(out);
	const char *a1[] = { python3, count_py, json, NULL };
	int rc = run_python(a1);
	unlink(json);
	rmdir(dir);
	assert_int_equal(rc, 1);
}

/* A baseline signature: counts and paths made N and PATH, a sanitizer's
 * report cut before the actors' ops but keeping "and more reports" (a
 * known first report never covers another process's), a site's hex kept. */
static void
test_baseline_signatures(void **state)
{
	static const struct {
		const char *detail, *want;
	} cases[] = {
		{ "target q: use after free: the 49-byte block of its allocation call #5 (malloc), "
		  "made at q.so+0x1322",
		  "target q: use after free: the 49-byte block of its allocation call #N (malloc), "
		  "made at q.so+0x1322" },
		{ "LeakSanitizer: detected memory leaks at libnng.so.1+0x3d833; leak check at the "
		  "end "
		  "of the run; actors: a finished, b in nng_recv (line 12); report /tmp/x/r.log",
		  "LeakSanitizer: detected memory leaks at libnng.so.N+0x3d833; leak check at the "
		  "end "
		  "of the run" },
		{ "LeakSanitizer: detected memory leaks at libnng.so.1+0x3d833; leak check at the "
		  "end "
		  "of the run; actors: a finished; and more reports; report /tmp/x/r.log",
		  "LeakSanitizer: detected memory leaks at libnng.so.N+0x3d833; leak check at the "
		  "end "
		  "of the run; and more reports" },
		{ "the run died of SIGSEGV at f+0x10 (a.so); actors: a in op (line 3)",
		  "the run died of SIGSEGV at f+0x10 (a.so)" },
		/* A worker's crash that did not come again alone: what the
		 * run alone gave is not the crash's (--fork-each has none). */
		{ "the run died of SIGABRT at libc.so.6+0x8aeec; alone, in a fresh process, the "
		  "same run did not crash: the run its worker ran before it (seed 1) left that "
		  "process damaged",
		  "the run died of SIGABRT at libc.so.N+0x8aeec" },
		/* A gauge's name says which leak: g2 is not g1.  Other names'
		 * digits (a node, a key drawn from the stream) are the same
		 * failure elsewhere. */
		{ "target m: g2 is 3 once every object of the run closed",
		  "target m: g2 is N once every object of the run closed" },
		{ "node1 applied 0 entries; key k3 (12 ops)",
		  "nodeN applied N entries; key kN (N ops)" },
		/* ... a node 0 or a key k0 the run drew too: seed and timing
		 * choose them, not the bug. */
		{ "nodes 0 and 2 both lead term 3; key \"k0\": the longest order found explains 0",
		  "nodes N and N both lead term N; key \"kN\": the longest order found explains "
		  "N" },
		/* In the audits' lists of what is left after every actor
		 * closed a count of 0 is kept: which of the listed resources
		 * leaked (gauges_zero, ports_zero); and a pool's size. */
		{ "after every actor closed: 0 clients, 0 publications, 1 subscriptions, 0 "
		  "images, 0 log files (0 mapped), 0 image refs",
		  "after every actor closed: 0 clients, 0 publications, N subscriptions, 0 "
		  "images, 0 log files (0 mapped), 0 image refs" },
		{ "after every actor closed: 0 clients, 0 publications, 0 subscriptions, 3 "
		  "images, 0 log files (0 mapped), 0 image refs",
		  "after every actor closed: 0 clients, 0 publications, 0 subscriptions, N "
		  "images, 0 log files (0 mapped), 0 image refs" },
		{ "0 server and 2 client port(s) in use after every actor closed: b (10)",
		  "0 server and N client port(s) in use after every actor closed: b (N)" },
		{ "3 chunk(s) still loaned after every actor closed (pool 64 B: 3 of 16, pool 1024 "
		  "B: 0 of 8)",
		  "N chunk(s) still loaned after every actor closed (pool 64 B: N of N, pool 1024 "
		  "B: 0 of N)" },
		/* An op error's advice on faults is not where it failed. */
		{ "actor sub: take_image (line 17): image: FL_ENOENT (no fault fired in this "
		  "operation; if an earlier fault causes it, declare it with expect: FL_ENOENT or "
		  "expect: any)",
		  "actor sub: take_image (line 17): image: FL_ENOENT" },
		{ "actor a: poll (line 9): FL_ENOENT (only delays fired in this operation, and a "
		  "delay moves time, nothing else; if an earlier fault causes it, declare it with "
		  "expect: FL_ENOENT or expect: any); then x",
		  "actor a: poll (line 9): FL_ENOENT; then x" },
	};
	char out[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fl_baseline_signature(cases[i].detail, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
	/* A buffer too small: cut, always terminated. */
	fl_baseline_signature(cases[2].detail, out, 20);
	assert_int_equal(strlen(out), 19);
	/* A worker's crash with the alone run's note (before the actors'
	 * part) signs as the same crash under --fork-each, a sweep's suffix
	 * kept; two sweep points stay two signatures. */
	static const char *const pairs[][2] = {
		{ "the run died of SIGALRM; alone, in a fresh process, the same run did not "
		  "crash: the run its worker ran before it (seed 1) left that process damaged "
		  "[sweep: fl_shm_open hit 3 once]",
		  "the run died of SIGALRM [sweep: fl_shm_open hit 3 once]" },
		{ "the run died of SIGSEGV at f+0x10 (a.so); alone, in a fresh process, the same "
		  "run did not crash: one of the 4 runs its worker ran before it (seeds 1 to 4) "
		  "left that process damaged; `--jobs 1 --seed 1 --runs 5` runs them before it "
		  "again; actors: a in op (line 3)",
		  "the run died of SIGSEGV at f+0x10 (a.so); actors: b in op (line 9)" },
	};
	char other[512];

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		fl_baseline_signature(pairs[i][0], out, sizeof(out));
		fl_baseline_signature(pairs[i][1], other, sizeof(other));
		assert_string_equal(out, other);
	}
	fl_baseline_signature("the run died of SIGALRM; alone, in a fresh process, the same run "
	                      "did not crash [sweep: fl_mmap hit 3 once]",
	                      other, sizeof(other));
	fl_baseline_signature(pairs[0][0], out, sizeof(out));
	assert_string_not_equal(out, other);
}

int
main(int argc, char **argv)
{
	python3 = argc > 1 ? argv[1] : NULL;
	count_py = argc > 2 ? argv[2] : "ci/count.py";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_json_exact),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_junit_exact),
		cmocka_unit_test(test_human_and_tap),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_tty_progress),
		cmocka_unit_test(test_bad_verdict_and_unwritable),
		cmocka_unit_test(test_python_reads_files),
		cmocka_unit_test(test_streamed_json),
		cmocka_unit_test(test_json_sweep),
		cmocka_unit_test(test_open_files_unwritable),
		cmocka_unit_test(test_not_run),
		cmocka_unit_test(test_interrupted),
		cmocka_unit_test(test_run_names),
		cmocka_unit_test(test_json_read_back),
		cmocka_unit_test(test_python_not_run),
		cmocka_unit_test(test_baseline_signatures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
