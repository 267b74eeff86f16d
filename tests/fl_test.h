/*
 * The one helper header of every cmocka test, the transport's and the
 * harness's: an assert that names FL_E* codes, waits with deadlines that
 * stretch on a busy machine, valgrind scaling, child processes, threads, the
 * small driver settings most tests use, a handler that keeps whole
 * messages, wild writes into a segment's fields, per-test namespaces and run directories in /dev/shm, and their
 * cleanup after a failed test.
 * Only public API: a test that needs the transport's internals includes
 * their headers itself.
 */
#ifndef FL_TEST_H
#define FL_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"

/* The name of v when it is an FL_E* code or 0, else "". */
static inline const char *
fl_test_name(long long v)
{
	return v <= 0 && v >= INT_MIN ? fl_errname((int)v) : "";
}

/* Assert that expr equals want; a failure prints both, with the names of
 * FL_E* codes ("fl_x(...) = -21 (FL_ESTATE), want 0 (FL_OK)"), not
 * cmocka's "0xffffffffffffffeb != 0". */
#define assert_fl(expr, want)                                                                      \
	do {                                                                                       \
		long long got_ = (long long)(expr), want_ = (long long)(want);                     \
		if (got_ != want_)                                                                 \
			fail_msg("%s = %lld (%s), want %lld (%s)", #expr, got_,                    \
			         fl_test_name(got_), want_, fl_test_name(want_));                  \
	} while (0)

static inline bool
under_valgrind(void)
{
	return getenv("FL_UNDER_VALGRIND") != NULL;
}

/* n natively, n / div under valgrind (at least 1). */
static inline unsigned
test_scale(unsigned n, unsigned div)
{
	if (!under_valgrind())
		return n;
	return n / div > 0 ? n / div : 1;
}

/*
 * Deadlines in the tests bound what an idle machine needs; test_ms
 * stretches one by FL_TEST_SLACK (default 20) so that a busy 2-core CI
 * machine, whose threads may be starved for seconds, still passes.  A wait
 * that ends as soon as its condition holds costs nothing more when it
 * passes; only a failing test waits the whole stretch.  No test asserts
 * that something did not happen within one.
 */
static inline uint64_t
test_ms(uint64_t ms)
{
	const char *e = getenv("FL_TEST_SLACK");
	long slack = e != NULL ? atol(e) : 20;

	return ms * (uint64_t)(slack > 0 ? slack : 1);
}

/* Wait (idling) until cond holds or test_ms(timeout_ms) passes; evaluates
 * to cond. */
#define WAIT_UNTIL(cond, timeout_ms)                                                               \
	({                                                                                         \
		uint64_t dl_ = fl_clock_now_ns() + test_ms(timeout_ms) * FL_NS_PER_MS;             \
		struct fl_idle id_ = { 0 };                                                        \
		bool ok_;                                                                          \
		while (!(ok_ = (cond)) && fl_clock_now_ns() < dl_)                                 \
			fl_idle(&id_, 0, dl_);                                                     \
		ok_;                                                                               \
	})

/* dc initialised for namespace ns with the small terms most tests use:
 * 64 KiB terms, an mtu of 1024 (the rest fl_driver_ctx_init's defaults). */
static inline void
test_driver_ctx(struct fl_driver_ctx *dc, const char *ns)
{
	fl_driver_ctx_init(dc);
	dc->ns = ns;
	dc->term_length = 64 * 1024;
	dc->mtu = 1024;
}

/* Waits for child pid; returns its exit status, or 128 + signal. */
static inline int
test_wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* ---- child processes -------------------------------------------------------
 *
 * test_fork: fork() for tests whose children must not outlive the test
 * process.  The child gets SIGKILL when the process that forked it exits,
 * so a failed assertion (which abandons the test's waits) does not leave
 * a child running to its own deadline, holding the test's output pipe
 * open and its shared memory mapped.
 */
static inline pid_t
test_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) /* the parent is gone already */
			_exit(99);
	}
	return pid;
}

/* A pipe in pfd, then test_fork(): for a child that tells the parent
 * through pfd[1] when it is ready.  Fails the test (naming the errno) if
 * either cannot be made; returns the pid, 0 in the child. */
static inline pid_t
test_fork_piped(int pfd[2])
{
	pid_t pid;

	if (pipe(pfd) != 0)
		fail_msg("pipe: %s", strerror(errno));
	pid = test_fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	return pid;
}

/* Runs this test's own program again as a child, with argv (argv[0] is
 * only its name), killed like test_fork's when the test process exits.
 * For a child forked while the test process has threads (its driver's,
 * a client's conductor): the forked copy of a multi-threaded process may
 * only exec (it holds no thread but the forking one, and locks other
 * threads held stay locked; ThreadSanitizer kills a child that starts a
 * thread then), so the child starts afresh from main.  The pid, or -1. */
static inline pid_t
test_spawn_self(char *const argv[])
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;

	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return -1;
	self[n] = '\0';
	pid = test_fork();
	if (pid == 0) {
		execv(self, argv);
		_exit(127);
	}
	return pid;
}

/* In a child: a crash ends it (cmocka's signal handlers, inherited, would
 * resume the parent's test run in the child). */
static inline void
test_default_signals(void)
{
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
}

/* In a child: tells the parent through fd (the byte c), then waits to be
 * killed. */
static inline void __attribute__((noreturn)) test_ready_then_pause(int fd, char c)
{
	(void)!write(fd, &c, 1);
	for (;;)
		pause();
}

/* SIGKILLs child pid and asserts that it died of that signal. */
static inline void
test_kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(test_wait_child(pid), 128 + SIGKILL);
}

/* Runs fn(arg) in a child and returns what became of it: fn's return value
 * as the exit status, or 128 + the signal that killed the child, -1 if
 * the fork failed.  For a step that may crash on broken code: the test
 * process survives to report it. */
static inline int
test_in_child(int (*fn)(void *arg), void *arg)
{
	pid_t pid = test_fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		test_default_signals();
		_exit(fn(arg));
	}
	return test_wait_child(pid);
}

/* ---- threads ---------------------------------------------------------------
 *
 * test_threads: runs fn on each of n arguments (args, size bytes apart,
 * at most 16), each in its own thread, and waits for them all.  Fails the
 * test, after joining those that started, if one cannot be started.
 */
static inline void
test_threads(int n, void *(*fn)(void *arg), void *args, size_t size)
{
	pthread_t t[16];
	int started = 0, rc = 0;

	if (n > 16)
		fail_msg("test_threads: %d threads, at most 16", n);
	while (started < n && rc == 0) {
		rc = pthread_create(&t[started], NULL, fn, (char *)args + (size_t)started * size);
		if (rc == 0)
			started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (rc != 0)
		fail_msg("pthread_create: %s", strerror(rc));
}

/* ---- whole messages --------------------------------------------------------
 *
 * test_on_whole: the handler a test's fragment assembler delivers whole
 * messages to (clientd a struct test_whole).  It counts them and keeps
 * the last one's length and its first cap bytes, in buf.
 */
struct test_whole {
	long n;       /* messages delivered */
	size_t len;   /* the last one's length */
	uint8_t *buf; /* its first cap bytes */
	size_t cap;
};

static inline void
test_on_whole(void *clientd, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct test_whole *w = clientd;

	(void)h;
	w->n++;
	w->len = len;
	memcpy(w->buf, buf, len < w->cap ? len : w->cap);
}

/* ---- scribbled fields ------------------------------------------------------
 *
 * A wild writer's 4- or 8-byte write into a shared segment: what the
 * tests of a segment's layout scribble, and check that nothing follows.
 */

/* One scribbled field: its name for the report, its offset in the
 * segment, its width (8, else 4) and the value written there. */
struct test_scribble {
	const char *name;
	size_t off;
	int width;
	uint64_t value;
};

/* Writes value at base + off, 8 bytes when width is 8, else its low 4
 * (a release store, as another process's write would land). */
static inline void
test_scribble_write(void *base, size_t off, int width, uint64_t value)
{
	if (width == 8)
		__atomic_store_n((uint64_t *)((char *)base + off), value, __ATOMIC_RELEASE);
	else
		__atomic_store_n((uint32_t *)((char *)base + off), (uint32_t)value,
		                 __ATOMIC_RELEASE);
}

/* After field f was scribbled: runs fn(opener), then fn(creator), each in
 * a child (test_in_child), and prints each that did not return 0 ("<name>
 * = <value>: the opener's <what> ended with <rc>").  Returns how many
 * failed (0 to 2). */
static inline int
test_scribble_sides(const struct test_scribble *f, const char *what, int (*fn)(void *arg),
                    void *opener, void *creator)
{
	int bad = 0;

	for (int side = 0; side < 2; side++) {
		int rc = test_in_child(fn, side == 0 ? opener : creator);

		if (rc != 0) {
			fprintf(stderr, "%s = %#llx: the %s's %s ended with %d\n", f->name,
			        (unsigned long long)f->value, side == 0 ? "opener" : "creator",
			        what, rc);
			bad++;
		}
	}
	return bad;
}

/* Fails the test when bad, the failures counted over the scribbled fields
 * of array cases, is not 0 (each failure printed where it was counted). */
#define test_scribble_verdict(bad, cases)                                                          \
	do {                                                                                       \
		if ((bad) != 0)                                                                    \
			fail_msg("%d failures over %zu scribbled fields", (bad),                   \
			         sizeof(cases) / sizeof((cases)[0]));                              \
	} while (0)

/* A namespace unique to this test and process. */
static inline const char *
test_ns(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "t-%s-%d", name, (int)getpid());
	return buf;
}

/* ---- run directories ------------------------------------------------------
 *
 * A test's run directory is /dev/shm/faultline-<ns>, ns from test_ns, or
 * test_rundir's for a test that makes one itself (request/response
 * domains).  test_ns_cleanup, the group teardown, removes what a failed
 * test left of this process's.
 */

static char test_rundir_path[PATH_MAX];

/* Make /dev/shm/faultline-<name>-<pid> (mode 0700) for this test and
 * return its path. */
static inline const char *
test_rundir(const char *name)
{
	snprintf(test_rundir_path, sizeof(test_rundir_path), "/dev/shm/faultline-%s-%d", name,
	         (int)getpid());
	mkdir(test_rundir_path, 0700);
	return test_rundir_path;
}

/* Entries in directory path (-1: it cannot be read). */
static inline int
test_dir_count(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Removes path, this test's own entry that fl_run_dir_remove refused (a
 * link, or a directory another uid or mode made for a test of that): a
 * link or file is unlinked, a directory emptied through a descriptor
 * (never through a link) and removed. */
static inline void
test_remove_entry(const char *path)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		(void)unlink(path);
		return;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			(void)unlinkat(fd, e->d_name, 0);
	closedir(d);
	(void)rmdir(path);
}

/* Removes /dev/shm/<name>, a run directory: the transport's own files
 * through fl_run_dir_remove, anything it refuses by hand. */
static inline void
test_remove_rundir(const char *name)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	if (strncmp(name, "faultline-", 10) != 0 || fl_run_dir_remove(name + 10) != 0)
		test_remove_entry(path);
}

/* Files in the run directory test_rundir made (0 when it is gone). */
static inline int
test_rundir_files(void)
{
	int n = test_dir_count(test_rundir_path);

	return n < 0 ? 0 : n;
}

/* Removes the run directory test_rundir made (if any). */
static inline void
test_rundir_remove(void)
{
	if (test_rundir_path[0] != '\0')
		test_remove_rundir(test_rundir_path + strlen("/dev/shm/"));
}

/* Group teardown: removes what this process's namespaces left in /dev/shm
 * (a test whose assertion failed never closed its driver).  Empty when
 * every test cleaned up after itself. */
static inline int
test_ns_cleanup(void **state)
{
	char suffix[32];
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	(void)state;
	if (d == NULL)
		return 0;
	snprintf(suffix, sizeof(suffix), "-%d", (int)getpid());
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name), k = strlen(suffix);

		if (strncmp(e->d_name, "faultline-t-", 12) != 0 || n < k ||
		    strcmp(e->d_name + n - k, suffix) != 0)
			continue;
		fprintf(stderr, "test_ns_cleanup: removing /dev/shm/%s, left by a failed test\n",
		        e->d_name);
		test_remove_rundir(e->d_name);
	}
	closedir(d);
	return 0;
}

#endif
