/*
 * Shared-memory segments of the request/response part (chunks.dat,
 * ports.dat) and the per-thread error message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "rr_internal.h"

static _Thread_local char errmsg[256];

void
rr_set_errmsg(const char *fmt, ...)
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
rr_seg_create(const char *path, size_t size, const char *fault, void **base)
{
	int fd, err, rc = FL_EIO;
	void *p;

	if (FL_FAULT(fault)) {
		rr_set_errmsg("%s: injected fault %s", path, fault);
		return FL_EIO;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno;
		rr_set_errmsg("%s: create: %s", path, strerror(err));
		return err == EEXIST ? FL_EEXIST : err == ENOENT ? FL_ENOENT
		       : err == ENOSPC ? FL_ENOSPC : FL_EIO;
	}
	/* Reserved now, not at the first touch of each page: on a full or
	 * small /dev/shm that touch would be a SIGBUS (see shm.c). */
	err = posix_fallocate(fd, 0, (off_t)size);
	if (err != 0) {
		rr_set_errmsg("%s: reserving %zu bytes of /dev/shm: %s", path, size, strerror(err));
		rc = err == ENOSPC || err == EFBIG ? FL_ENOSPC : FL_EIO;
		goto fail;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		rr_set_errmsg("%s: map: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	*base = p;
	return 0;
fail:
	close(fd);
	unlink(path);
	return rc;
}

int
rr_seg_open(const char *path, const char *fault, void **base, size_t *size)
{
	struct stat st;
	void *p;
	int fd;

	if (FL_FAULT(fault)) {
		rr_set_errmsg("%s: injected fault %s", path, fault);
		return FL_EIO;
	}
	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		rr_set_errmsg("%s: open: %s", path, strerror(err));
		return err == ENOENT ? FL_ENOENT : err == ELOOP || err == EACCES ? FL_EPERM : FL_EIO;
	}
	if (fstat(fd, &st) != 0) {
		rr_set_errmsg("%s: unreadable segment", path);
		close(fd);
		return FL_EIO;
	}
	/* Its owner can write what this process reads and shrink it under
	 * the mapping (SIGBUS): only this user's segments are mapped. */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		rr_set_errmsg("%s: not a regular file owned by this user (uid %u); refused", path,
		              (unsigned)geteuid());
		close(fd);
		return FL_EPERM;
	}
	if (st.st_size <= 0) {
		rr_set_errmsg("%s: empty segment", path);
		close(fd);
		return FL_EPROTO;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		rr_set_errmsg("%s: map: %s", path, strerror(errno));
		return FL_EIO;
	}
	*base = p;
	*size = (size_t)st.st_size;
	return 0;
}

void
rr_seg_unmap(void *base, size_t size)
{
	if (base != NULL)
		munmap(base, size);
}
