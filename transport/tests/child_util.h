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
#include <sys/wait.h>
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

/* Runs fn(arg) in a child and returns what became of it: fn's return value
 * as the exit status, or 128 + the signal that killed the child, -1 if
 * the fork failed.  For a step that may crash on broken code: the test
 * process survives to report it. */
static inline int
test_in_child(int (*fn)(void *arg), void *arg)
{
	pid_t pid = test_fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		test_default_signals();
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
