/*
 * Descriptions of the FL_E* codes.
 */
#include <stdio.h>
#include "faultline/error.h"

struct errdesc {
	int code;
	const char *name;
	const char *text;
};

static const struct errdesc errors[] = {
	{ FL_OK, "FL_OK", "success" },
	{ FL_EINVAL, "FL_EINVAL", "invalid argument" },
	{ FL_ENOMEM, "FL_ENOMEM", "out of memory" },
	{ FL_ETIMEDOUT, "FL_ETIMEDOUT", "timed out" },
	{ FL_ECLOSED, "FL_ECLOSED", "object closed" },
	{ FL_ENOT_CONNECTED, "FL_ENOT_CONNECTED", "no subscriber connected" },
	{ FL_EBACKPRESSURE, "FL_EBACKPRESSURE", "back-pressured by the slowest subscriber" },
	{ FL_EMSGSIZE, "FL_EMSGSIZE", "message too large" },
	{ FL_ENAME, "FL_ENAME", "invalid name" },
	{ FL_EEXIST, "FL_EEXIST", "already exists" },
	{ FL_ENOENT, "FL_ENOENT", "no such entity" },
	{ FL_EIO, "FL_EIO", "shared-memory operation failed" },
	{ FL_EDRIVER_TIMEOUT, "FL_EDRIVER_TIMEOUT", "driver timed out (no heartbeat)" },
	{ FL_ECLIENT_TIMEOUT, "FL_ECLIENT_TIMEOUT", "client timed out by the driver" },
	{ FL_EAGAIN, "FL_EAGAIN", "not complete yet" },
	{ FL_ECANCELED, "FL_ECANCELED", "operation cancelled" },
	{ FL_EFULL, "FL_EFULL", "command ring full" },
	{ FL_ELAPPED, "FL_ELAPPED", "broadcast receiver lapped" },
	{ FL_EPROTO, "FL_EPROTO", "malformed frame or corrupted shared memory" },
	{ FL_EBUSY, "FL_EBUSY", "resource busy" },
	{ FL_ESTALE, "FL_ESTALE", "stale handle (released twice?)" },
	{ FL_EPOOL_EMPTY, "FL_EPOOL_EMPTY", "chunk pool empty" },
	{ FL_ENO_PORTS, "FL_ENO_PORTS", "port pool exhausted" },
	{ FL_EOWNER, "FL_EOWNER", "called from a thread that does not own the object" },
	{ FL_ESTATE, "FL_ESTATE", "invalid in the current state" },
	{ FL_ELIMIT, "FL_ELIMIT", "fixed table full" },
	{ FL_EFAULT_INJECTED, "FL_EFAULT_INJECTED", "injected fault" },
	{ FL_ECRASHED, "FL_ECRASHED", "peer process died" },
	{ FL_ENOSERVER, "FL_ENOSERVER", "no server offers the service" },
	{ FL_EPERM, "FL_EPERM",
	  "refused: the run directory or segment is a link, not owned by this user or not private "
	  "(mode 0700), or not accessible to this user" },
	{ FL_ENOSPC, "FL_ENOSPC", "no space left in /dev/shm for a shared-memory segment" },
};

static const struct errdesc *
find(int err)
{
	for (unsigned i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == err)
			return &errors[i];
	return 0;
}

const char *
fl_strerror(int err)
{
	const struct errdesc *d = find(err);
	return d ? d->text : "unknown error";
}

const char *
fl_errname(int err)
{
	/* A code that is none of ours (a target's adapter returning errno,
	 * a stray value) is named with its number: "FL_E?(22)".  A few
	 * buffers a thread, so one message can name two such codes. */
	static __thread char unknown[4][24];
	static __thread unsigned next;
	const struct errdesc *d = find(err);
	char *b;

	if (d != NULL)
		return d->name;
	b = unknown[next++ % 4];
	snprintf(b, sizeof(unknown[0]), "FL_E?(%d)", err);
	return b;
}
