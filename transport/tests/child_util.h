/*
 * test_fork: fork() for tests whose children must not outlive the test
 * process.  The child gets SIGKILL when the process that forked it exits,
 * so a failed assertion (which abandons the test's waits) does not leave
 * a child running to its own deadline, holding the test's output pipe
 * open and its shared memory mapped.
 */
#ifndef FL_CHILD_UTIL_H
#define FL_CHILD_UTIL_H

#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

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

#endif
