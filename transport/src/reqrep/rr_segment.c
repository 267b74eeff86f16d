/*
 * Shared-memory segments of the request/response part (chunks.dat,
 * ports.dat), mapped through the shm seam, and the per-thread error
 * message.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "rr_internal.h"
#include "shm.h"

static _Thread_local char errmsg[256];

void
fli_rr_set_errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
}

const char *
fl_rr_errmsg(void)
{
	return errmsg;
}

/* Maps (create: creates first) the segment at path through the shm seam,
 * after the caller's fault point; fl_rr_errmsg says why it failed. */
static int
seg_map(const char *path, size_t size, bool create, const char *fault, struct fli_shm *m)
{
	char why[160];
	int rc;

	if (FL_FAULT(fault)) {
		fli_rr_set_errmsg("%s: injected fault %s", path, fault);
		return FL_EIO;
	}
	rc = create ? fli_shm_create(path, size, m, why, sizeof(why))
	            : fli_shm_map(path, true, 1, m, why, sizeof(why));
	if (rc != 0)
		fli_rr_set_errmsg("%s: %s", path, why);
	return rc;
}

int
fli_rr_seg_create(const char *path, size_t size, const char *fault, void **base)
{
	struct fli_shm m;
	int rc = seg_map(path, size, true, fault, &m);

	if (rc == 0)
		*base = m.addr;
	return rc;
}

int
fli_rr_seg_open(const char *path, const char *fault, void **base, size_t *size)
{
	struct fli_shm m;
	int rc = seg_map(path, 0, false, fault, &m);

	if (rc == 0) {
		*base = m.addr;
		*size = m.len;
	}
	return rc;
}

void
fli_rr_seg_unmap(void *base, size_t size)
{
	struct fli_shm m = { .addr = base, .len = size };

	fli_shm_unmap(&m);
}
