/*
 * The sandbox's fork, for the harness's other children that must not
 * outlive it (the runner's worker).
 */
#ifndef FL_HARNESS_SANDBOX_INTERNAL_H
#define FL_HARNESS_SANDBOX_INTERNAL_H

#include <sys/types.h>

/* fork() with the child in a process group of its own that dies with its
 * parent (SIGKILL; when the parent is gone already the child exits with
 * FL_SANDBOX_EXIT_FAIL at once).  fds is a pipe or socket pair: the child
 * keeps fds[1], the parent fds[0].  Returns the child's pid in the
 * parent, 0 in the child, -1 when fork failed (both fds closed). */
pid_t fli_fork_group(int fds[2]);

#endif
