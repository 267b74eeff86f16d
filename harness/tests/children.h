/*
 * Checks shared by the tests that fork (the sandbox, the property engine):
 * include after <cmocka.h>.
 */
#ifndef FL_TESTS_CHILDREN_H
#define FL_TESTS_CHILDREN_H

#include <errno.h>
#include <sys/types.h>
#include <sys/wait.h>

/* Fails the test when this process has a child left, reaped or not. */
static inline void
assert_no_children(void)
{
	errno = 0;
	pid_t r = waitpid(-1, NULL, WNOHANG);
	if (r != -1 || errno != ECHILD)
		fail_msg("a child is left: waitpid returned %d errno %d", (int)r, errno);
}

#endif
