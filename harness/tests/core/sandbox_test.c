/*
 * Fork sandbox: verdicts, payloads, deadlines, no zombie, no fd leak.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl_test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/sandbox.h"

#include "../children.h"

static int
count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int
fn_pass(void *arg, int fd)
{
	(void)arg;
	return fl_sandbox_frame_write(fd, 7, "hello", 5);
}

static int
fn_fail(void *arg, int fd)
{
	(void)arg;
	fl_sandbox_frame_write(fd, 9, "broken", 6);
	return 1;
}

static int
fn_segv(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	raise(SIGSEGV);
	return 0;
}

static int
fn_abort(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	abort();
}

static int
fn_hang(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	for (;;)
		pause();
	return 0; /* not reached */
}

static int
fn_exit7(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	_exit(7);
}

static int
fn_flood(void *arg, int fd)
{
	(void)arg;
	static char buf[65536];
	memset(buf, 0xAB, sizeof buf);
	for (int i = 0; i < 64; i++) /* 4 MiB */
		if (write(fd, buf, sizeof buf) < 0)
			return 1;
	return 0;
}

static int
fn_grandchild(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	/* The grandchild inherits the pipe and would keep it open forever. */
	pid_t p = fork();
	if (p == 0) {
		for (;;)
			pause();
	}
	return 0;
}

/* A child that hangs, and a grandchild in its group that hangs too. */
static int
fn_grandchild_hang(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	if (fork() == 0)
		for (;;)
			pause();
	for (;;)
		pause();
	return 0; /* not reached */
}

static volatile sig_atomic_t g_dump_fd = -1;
static void
on_dump(int sig)
{
	(void)sig;
	fl_sandbox_frame_write(g_dump_fd, 1, "dumped", 6);
	_exit(FL_SANDBOX_EXIT_DUMPED);
}

static int
fn_hang_dump(void *arg, int fd)
{
	(void)arg;
	g_dump_fd = fd;
	signal(SIGUSR2, on_dump);
	for (;;)
		pause();
	return 0; /* not reached */
}

/* Runs fn in the sandbox under o into *r: the run must end with verdict
 * (unless NULL). */
static void
run_opts(const struct fl_sandbox_opts *o, int (*fn)(void *, int), const char *verdict,
         struct fl_sandbox_result *r)
{
	int rc = fl_sandbox_run(o, fn, NULL, r);
	if (rc != 0)
		fail_msg("fl_sandbox_run: %s", fl_strerror(rc));
	if (verdict)
		assert_string_equal(fl_verdict_name(r->verdict), verdict);
}

static void
run(int (*fn)(void *, int), uint64_t timeout_ms, const char *verdict, struct fl_sandbox_result *r)
{
	struct fl_sandbox_opts o = { .timeout_ms = timeout_ms };
	run_opts(&o, fn, verdict, r);
}

/* Frees r; the run left no child behind. */
static void
fini_no_children(struct fl_sandbox_result *r)
{
	fl_sandbox_result_fini(r);
	assert_no_children();
}

/* Frees r; the run left no child behind, and as many fds open as fds. */
static void
fini_no_leaks(struct fl_sandbox_result *r, int fds)
{
	fl_sandbox_result_fini(r);
	assert_int_equal(count_fds(), fds);
	assert_no_children();
}

static void
test_pass_payload(void **state)
{
	(void)state;
	int fds = count_fds();
	struct fl_sandbox_result r;
	run(fn_pass, 5000, "pass", &r);
	assert_int_equal(r.exit_status, 0);
	size_t pos = 0;
	uint32_t tag, len;
	const uint8_t *data;
	assert_fl(fl_sandbox_frame_next(r.payload, r.payload_len, &pos, &tag, &data, &len), 0);
	assert_int_equal(tag, 7);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	assert_fl(fl_sandbox_frame_next(r.payload, r.payload_len, &pos, &tag, &data, &len),
	          FL_ENOENT);
	fini_no_leaks(&r, fds);
}

static void
test_fail(void **state)
{
	(void)state;
	struct fl_sandbox_result r;
	run(fn_fail, 5000, "fail", &r);
	assert_int_equal(r.exit_status, FL_SANDBOX_EXIT_FAIL);
	assert_int_equal(r.payload_len, 14);
	fl_sandbox_result_fini(&r);
	run(fn_exit7, 5000, "fail", &r);
	assert_int_equal(r.exit_status, 7);
	fini_no_children(&r);
}

static void
test_crash_named(void **state)
{
	(void)state;
	struct fl_sandbox_result r;
	run(fn_segv, 10000, "crash", &r);
	assert_string_equal(fl_signal_name(r.signal), "SIGSEGV");
	fl_sandbox_result_fini(&r);
	run(fn_abort, 10000, "crash", &r);
	assert_string_equal(fl_signal_name(r.signal), "SIGABRT");
	fini_no_children(&r);
}

static void
test_hang_deadline(void **state)
{
	(void)state;
	int fds = count_fds();
	uint64_t timeout = under_valgrind() ? 1000 : 150;
	struct fl_sandbox_result r;
	run(fn_hang, timeout, "hang", &r);
	if (r.seconds < timeout / 1000.0 || r.seconds > timeout / 1000.0 + 2.0)
		fail_msg("hang verdict after %.3f s, deadline %.3f s", r.seconds, timeout / 1000.0);
	fini_no_leaks(&r, fds);
}

static void
test_hang_dump_signal(void **state)
{
	(void)state;
	struct fl_sandbox_opts o = { .timeout_ms = under_valgrind() ? 1000 : 100,
		                     .dump_signal = SIGUSR2,
		                     .grace_ms = 2000 };
	struct fl_sandbox_result r;
	run_opts(&o, fn_hang_dump, "hang", &r);
	assert_int_equal(r.exit_status, FL_SANDBOX_EXIT_DUMPED);
	assert_int_equal(r.payload_len, 14);
	assert_memory_equal(r.payload + 8, "dumped", 6);
	fini_no_children(&r);
}

static void
test_flood_truncated(void **state)
{
	(void)state;
	struct fl_sandbox_opts o = { .timeout_ms = 20000, .max_payload = 1000 };
	struct fl_sandbox_result r;
	run_opts(&o, fn_flood, "pass", &r);
	assert_int_equal(r.payload_len, 1000);
	assert_true(r.truncated);
	/* Garbage is not a frame. */
	size_t pos = 0;
	uint32_t tag, len;
	const uint8_t *data;
	assert_fl(fl_sandbox_frame_next(r.payload, r.payload_len, &pos, &tag, &data, &len),
	          FL_EPROTO);
	fini_no_children(&r);
}

static void
test_grandchild_killed(void **state)
{
	(void)state;
	int fds = count_fds();
	struct fl_sandbox_result r;
	run(fn_grandchild, 5000, "pass", &r);
	if (r.seconds > 1.0)
		fail_msg("the lingering grandchild delayed the verdict: %.3f s", r.seconds);
	fini_no_leaks(&r, fds);
}

static volatile sig_atomic_t stop_flag;

static void
on_alarm(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* opts.stop set by a signal handler mid-run (what `faultline run` does on
 * SIGINT): the child's group is killed at once, far before its deadline,
 * and the result says stopped; a stop already set kills the child as soon
 * as it is forked. */
static void
test_stop_flag(void **state)
{
	(void)state;
	int fds = count_fds();
	struct fl_sandbox_opts o = { .timeout_ms = 60000, .stop = &stop_flag };
	struct fl_sandbox_result r;
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	sigaction(SIGALRM, &sa, &old);
	stop_flag = 0;
	alarm(1);
	assert_fl(fl_sandbox_run(&o, fn_grandchild_hang, NULL, &r), 0);
	alarm(0);
	assert_true(r.stopped);
	if (r.seconds > 30.0)
		fail_msg("a stop took %.3f s to end a run with a 60 s deadline", r.seconds);
	fini_no_children(&r);
	assert_fl(fl_sandbox_run(&o, fn_hang, NULL, &r), 0);
	assert_true(r.stopped);
	fl_sandbox_result_fini(&r);
	stop_flag = 0;
	run(fn_pass, 5000, NULL, &r);
	assert_false(r.stopped);
	fl_sandbox_result_fini(&r);
	sigaction(SIGALRM, &old, NULL);
	assert_int_equal(count_fds(), fds);
	assert_no_children();
}

static void
test_frames_garbage(void **state)
{
	(void)state;
	uint8_t buf[32] = { 1, 0, 0, 0, 200, 0, 0, 0, 'x' };
	size_t pos = 0;
	uint32_t tag, len;
	const uint8_t *data;
	assert_fl(fl_sandbox_frame_next(buf, 9, &pos, &tag, &data, &len), FL_EPROTO);
	assert_fl(fl_sandbox_frame_next(buf, 5, &pos, &tag, &data, &len), FL_EPROTO);
	assert_fl(fl_sandbox_frame_next(NULL, 0, &pos, &tag, &data, &len), FL_ENOENT);
	enum fl_verdict v;
	assert_fl(fl_verdict_parse("hang", &v), 0);
	assert_int_equal(v, FL_VERDICT_HANG);
	assert_fl(fl_verdict_parse("nope", &v), FL_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_payload),      cmocka_unit_test(test_fail),
		cmocka_unit_test(test_crash_named),       cmocka_unit_test(test_hang_deadline),
		cmocka_unit_test(test_hang_dump_signal),  cmocka_unit_test(test_flood_truncated),
		cmocka_unit_test(test_grandchild_killed), cmocka_unit_test(test_frames_garbage),
		cmocka_unit_test(test_stop_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
