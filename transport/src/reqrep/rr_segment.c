/*
 * Shared-memory segments of the request/response part (chunks.dat,
 * ports.dat), mapped through the shm seam, and the per-thread error
 * message.
 */
#include <stdarg.h>
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

int
fli_rr_seg_create(const char *path, size_t size, const char *fault, void **base)
{
	struct fli_shm m;
	char why[160];
	int rc;

	if (FL_FAULT(fault)) {
		fli_rr_set_errmsg("%s: injected fault %s", path, fault);
		return FL_EIO;
	}
	rc = fli_shm_create(path, size, &m, why, sizeof(why));
	if (rc != 0) {
		fli_rr_set_errmsg("%s: %s", path, why);
		return rc;
	}
	*base = m.addr;
	return 0;
}

int
fli_rr_seg_open(const char *path, const char *fault, void **base, size_t *size)
{
	struct fli_shm m;
	char why[160];
	int rc;

	if (FL_FAULT(fault)) {
		fli_rr_set_errmsg("%s: injected fault %s", path, fault);
		return FL_EIO;
	}
	rc = fli_shm_map(path, true, 1, &m, why, sizeof(why));
	if (rc != 0) {
		fli_rr_set_errmsg("%s: %s", path, why);
		return rc;
	}
	*base = m.addr;
	*size = m.len;
	return 0;
}

void
fli_rr_seg_unmap(void *base, size_t size)
{
	struct fli_shm m = { .addr = base, .len = size };

	fli_shm_unmap(&m);
}
