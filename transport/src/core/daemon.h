/*
 * What the daemons (faultline-driver, faultline-node) share: stopping on
 * SIGINT or SIGTERM at the end of a duty cycle, and its idle strategy.
 */
#ifndef FLI_DAEMON_H
#define FLI_DAEMON_H

#include <signal.h>
#include <string.h>

#include "faultline/platform.h"

/* Set by SIGINT or SIGTERM once fli_daemon_trap_signals ran. */
static volatile sig_atomic_t fli_daemon_stop;

static void
fli_daemon_on_signal(int sig)
{
	(void)sig;
	fli_daemon_stop = 1;
}

/* Makes SIGINT and SIGTERM set fli_daemon_stop, and idle (the duty
 * cycle's idle state) park at most a millisecond between passes. */
static inline void
fli_daemon_trap_signals(struct fl_idle *idle)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fli_daemon_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(idle, 0, sizeof(*idle));
	idle->max_park_ns = FL_NS_PER_MS;
}

#endif
