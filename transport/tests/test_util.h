/*
 * Helpers shared by the transport tests: per-test namespaces, waits with
 * deadlines, valgrind scaling.
 */
#ifndef FL_TEST_UTIL_H
#define FL_TEST_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "child_util.h"
#include "shm.h"

/* Assert an FL_E* result equals want, printing both names. */
#define assert_fl(expr, want)                                                             \
	do {                                                                              \
		long long got_ = (long long)(expr);                                       \
		if (got_ != (long long)(want))                                            \
			fail_msg("%s = %lld (%s), want %s", #expr, got_, fl_errname((int)got_), \
			         fl_errname((int)(want)));                                \
	} while (0)

static inline bool
under_valgrind(void)
{
	return getenv("FL_UNDER_VALGRIND") != NULL;
}

/* A namespace unique to this test and process. */
static inline const char *
test_ns(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "t-%s-%d", name, (int)getpid());
	return buf;
}

/* Removes path, this test's own entry that fli_shm_dir_remove refused (a
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

/* Group teardown: removes what this process's namespaces left in /dev/shm
 * (a test whose assertion failed never closed its driver).  Empty when
 * every test cleaned up after itself. */
static inline int
test_ns_cleanup(void **state)
{
	char suffix[32], path[512];
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
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		fprintf(stderr, "test_ns_cleanup: removing %s, left by a failed test\n", path);
		if (fli_shm_dir_remove(path) != 0)
			test_remove_entry(path);
	}
	closedir(d);
	return 0;
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
#define WAIT_UNTIL(cond, timeout_ms)                                                     \
	({                                                                                \
		uint64_t dl_ = fl_clock_now_ns() + test_ms(timeout_ms) * FL_NS_PER_MS;    \
		struct fl_idle id_ = {0};                                                 \
		bool ok_;                                                                 \
		while (!(ok_ = (cond)) && fl_clock_now_ns() < dl_)                        \
			fl_idle(&id_, 0, dl_);                                            \
		ok_;                                                                      \
	})

#endif
