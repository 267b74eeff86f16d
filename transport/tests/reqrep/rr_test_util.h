/*
 * Shared by the request/response tests: a private run directory under
 * /dev/shm per test process, removed with everything in it at teardown
 * (also when an assertion failed), and an iteration scale that keeps the
 * tests quick under valgrind.
 */
#ifndef RR_TEST_UTIL_H
#define RR_TEST_UTIL_H

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../child_util.h"
#include "shm.h"

static char rr_dir[PATH_MAX];

static inline const char *
rr_test_dir(const char *name)
{
	snprintf(rr_dir, sizeof(rr_dir), "/dev/shm/faultline-%s-%d", name, (int)getpid());
	mkdir(rr_dir, 0700);
	return rr_dir;
}

static inline void
rr_test_rmdir(void)
{
	if (rr_dir[0] != '\0')
		(void)fli_shm_dir_remove(rr_dir);
}

/* Number of files left in the run directory. */
static inline int
rr_test_files(void)
{
	DIR *d = opendir(rr_dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline int
rr_under_valgrind(void)
{
	return getenv("FL_UNDER_VALGRIND") != NULL;
}

/* n natively, n / div under valgrind (at least 1). */
static inline unsigned
rr_scale(unsigned n, unsigned div)
{
	if (!rr_under_valgrind())
		return n;
	return n / div > 0 ? n / div : 1;
}

/* Waits for child pid; returns its exit status, or 128 + signal. */
static inline int
rr_wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

#define assert_rc(expr, want)                                                       \
	do {                                                                        \
		int rc_ = (expr);                                                   \
		if (rc_ != (want))                                                  \
			fail_msg("%s = %s (%d), want %s", #expr, fl_errname(rc_), rc_, \
			         fl_errname(want));                                 \
	} while (0)

#endif
