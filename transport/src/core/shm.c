/*
 * POSIX implementation of the shm seam: files in /dev/shm/faultline-<ns>/
 * mapped with mmap.  Each OS call that can fail carries a fault point.
 * See shm.h for why everything goes through a checked directory
 * descriptor.
 */
#include <dirent.h>
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
#include "cnc.h"
#include "shm.h"
#include "shm_mem.h"

#define DIR_MODE 0700

/* In memory (shm_mem.c) while fl_run_dirs_in_memory is on. */
#define MEM fli_shm_mem_on()

uid_t
fli_shm_euid(void)
{
	static uid_t euid = (uid_t)-1;

	if (euid == (uid_t)-1)
		euid = geteuid(); /* the in-memory backend alone asks */
	return euid;
}

static void __attribute__((format(printf, 3, 4)))
set_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* Keeps the checked directory's descriptor and identity in out. */
static void
dir_keep(struct fli_shm_dir *out, int fd, const struct stat *st)
{
	out->fd = fd;
	out->open = true;
	out->uid = st->st_uid;
	out->dev = st->st_dev;
	out->ino = st->st_ino;
}

/* Checks an opened directory: ours (or also_uid's), a directory, 0700. */
static int
dir_check(int fd, uid_t also_uid, struct fli_shm_dir *out, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return FL_EIO;
	if (!S_ISDIR(st.st_mode)) {
		set_why(why, whylen, "is not a directory");
		return FL_EPERM;
	}
	if (st.st_uid != geteuid() && (also_uid == (uid_t)-1 || st.st_uid != also_uid)) {
		set_why(why, whylen, "is owned by uid %u, not by this user (uid %u)",
		        (unsigned)st.st_uid, (unsigned)geteuid());
		return FL_EPERM;
	}
	if ((st.st_mode & 07777) != DIR_MODE) {
		set_why(why, whylen, "has mode %04o, not 0700", (unsigned)(st.st_mode & 07777));
		return FL_EPERM;
	}
	dir_keep(out, fd, &st);
	return 0;
}

/* open(2) of a run directory's path, never through a link; a negative
 * FL_E* code with why filled in on failure. */
static int
dir_fd(const char *dir, char *why, size_t whylen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case ENOENT: set_why(why, whylen, "does not exist"); return FL_ENOENT;
	case ELOOP:
	case ENOTDIR: {
		/* (O_DIRECTORY reports a link as ENOTDIR; lstat only words
		 * the message.) */
		struct stat st;

		set_why(why, whylen,
		        lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) ? "is a symbolic link"
		                                                    : "is not a directory");
		return FL_EPERM;
	}
	case EACCES:
	case EPERM:
		set_why(why, whylen, "is not accessible to this user (uid %u)",
		        (unsigned)geteuid());
		return FL_EPERM;
	default: set_why(why, whylen, "cannot be opened"); return FL_EIO;
	}
}

int
fli_shm_dir_open(const char *dir, uid_t also_uid, struct fli_shm_dir *out, char *why, size_t whylen)
{
	int fd, rc;

	if (MEM)
		return fli_shm_mem_dir_open(dir, out, why, whylen);
	fd = dir_fd(dir, why, whylen);
	if (fd < 0)
		return fd;
	rc = dir_check(fd, also_uid, out, why, whylen);
	if (rc != 0)
		close(fd);
	return rc;
}

int
fli_shm_dir_reopen(const char *path, struct fli_shm_dir *d)
{
	struct fli_shm_dir now;
	int fd, rc;

	if (d->open)
		return 0;
	if (MEM)
		return fli_shm_mem_dir_reopen(path, d);
	fd = dir_fd(path, NULL, 0);
	if (fd < 0)
		return fd;
	rc = dir_check(fd, d->uid, &now, NULL, 0);
	if (rc == 0 && (now.uid != d->uid || now.dev != d->dev || now.ino != d->ino))
		rc = FL_EPERM; /* another directory at the path now */
	if (rc != 0) {
		close(fd);
		return rc;
	}
	d->fd = fd;
	d->open = true;
	return 0;
}

int
fli_shm_dir_create(const char *dir, struct fli_shm_dir *out)
{
	struct stat st;
	int fd;

	if (FL_FAULT("transport/shm/mkdir"))
		return FL_EIO;
	if (MEM)
		return fli_shm_mem_dir_create(dir, out);
	if (mkdir(dir, DIR_MODE) != 0)
		return errno == EEXIST ? FL_EEXIST : errno == ENOSPC ? FL_ENOSPC : FL_EIO;
	/* Ours: /dev/shm is sticky, so no other user can rename or remove the
	 * entry we just made.  The umask may have taken bits off DIR_MODE. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
	    ((st.st_mode & 07777) != DIR_MODE && fchmod(fd, DIR_MODE) != 0)) {
		if (fd >= 0)
			close(fd);
		rmdir(dir);
		return FL_EIO;
	}
	dir_keep(out, fd, &st);
	return 0;
}

void
fli_shm_dir_close(struct fli_shm_dir *d)
{
	if (d->open && d->fd >= 0)
		close(d->fd);
	d->open = false;
	d->fd = -1;
}

/* The names the transport creates in a run directory: FL_CNC_FILE and
 * FL_CNC_NEW_FILE (the driver), FL_LOG_NAME_FMT with a positive id (the driver, one a
 * publication), FL_CHUNKS_FILE and FL_PORTS_FILE (request/response,
 * reqrep.c). */
bool
fli_shm_run_file(const char *name)
{
	size_t n = strlen(name), digits;

	if (strcmp(name, FL_CNC_FILE) == 0 || strcmp(name, FL_CNC_NEW_FILE) == 0 ||
	    strcmp(name, FL_CHUNKS_FILE) == 0 || strcmp(name, FL_PORTS_FILE) == 0)
		return true;
	/* A cluster node's status page: node-<id>.stat, id 0..9. */
	if (n == 11 && strncmp(name, "node-", 5) == 0 && name[5] >= '0' && name[5] <= '9' &&
	    strcmp(name + 6, ".stat") == 0)
		return true;
	if (n < 9 || strncmp(name, "pub-", 4) != 0 || strcmp(name + n - 4, ".log") != 0)
		return false;
	digits = strspn(name + 4, "0123456789");
	return digits == n - 8 && digits <= 19 && name[4] != '0';
}

int
fli_shm_dir_clean(const struct fli_shm_dir *d, const char *rmdir_path, char *other, size_t otherlen)
{
	/* getdents64 on d's own descriptor, not opendir: no second
	 * descriptor, so a process at its open-files limit still cleans up. */
	char buf[4096] __attribute__((aligned(8)));
	struct stat dst, pst;
	ssize_t n;
	int rc = 0;

	if (MEM)
		return fli_shm_mem_dir_clean(d, rmdir_path, other, otherlen);
	if (other != NULL && otherlen > 0)
		other[0] = '\0';
	if (lseek(d->fd, 0, SEEK_SET) != 0)
		return FL_EIO;
	while ((n = getdents64(d->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *e = (const struct dirent64 *)(buf + off);

			off += e->d_reclen;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (fli_shm_run_file(e->d_name)) {
				if (unlinkat(d->fd, e->d_name, 0) == 0 || errno == ENOENT)
					continue;
				if (errno != EISDIR && errno != EPERM) {
					rc = FL_EIO;
					continue;
				}
				/* a directory by one of our names is not ours */
			}
			if (rc == 0)
				rc = FL_EEXIST;
			if (other != NULL && otherlen > 0 && other[0] == '\0')
				snprintf(other, otherlen, "%s", e->d_name);
		}
	}
	if (n < 0)
		rc = FL_EIO;
	if (rc != 0 || rmdir_path == NULL)
		return rc;
	/* rmdir goes by path: only if the path still names our directory
	 * (and rmdir removes nothing but an empty one). */
	if (fstat(d->fd, &dst) != 0 || lstat(rmdir_path, &pst) != 0 || dst.st_dev != pst.st_dev ||
	    dst.st_ino != pst.st_ino)
		return FL_EIO;
	if (rmdir(rmdir_path) != 0 && errno != ENOENT)
		return errno == ENOTEMPTY || errno == EEXIST ? FL_EEXIST : FL_EIO;
	return 0;
}

int
fli_shm_dir_remove(const char *dir)
{
	struct fli_shm_dir d = { .fd = -1 };
	int rc = fli_shm_dir_open(dir, (uid_t)-1, &d, NULL, 0);

	if (rc != 0)
		return rc;
	rc = fli_shm_dir_clean(&d, dir, NULL, 0);
	fli_shm_dir_close(&d);
	return rc;
}

int
fli_shm_dir_count(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (MEM)
		return fli_shm_mem_dir_count(dir);
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? FL_ENOENT : FL_EIO;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Reserves len bytes for the new file fd and maps it rw, zero-filled.
 * ftruncate alone always succeeds on tmpfs and backs nothing: the first
 * touch of a page /dev/shm has no room for is a SIGBUS.  posix_fallocate
 * takes the pages now or fails with ENOSPC.  points: consult the fault
 * points transport/shm/truncate and transport/shm/map. */
static int
reserve_map(int fd, size_t len, bool points, struct fli_shm *out, char *why, size_t whylen)
{
	void *p;
	int err;

	if (points && FL_FAULT("transport/shm/truncate"))
		return FL_ENOSPC;
	err = posix_fallocate(fd, 0, (off_t)len);
	if (err != 0) {
		set_why(why, whylen, "reserving %zu bytes of /dev/shm: %s", len, strerror(err));
		return err == ENOSPC || err == EFBIG ? FL_ENOSPC : FL_EIO;
	}
	if (points && FL_FAULT("transport/shm/map"))
		return FL_EIO;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		set_why(why, whylen, "map: %s", strerror(errno));
		return FL_EIO;
	}
	out->addr = p;
	out->len = len;
	return 0;
}

int
fli_shm_create_at(const struct fli_shm_dir *d, const char *name, size_t len, struct fli_shm *out)
{
	int fd, rc;

	if (FL_FAULT("transport/shm/create"))
		return FL_EIO;
	if (MEM)
		return fli_shm_mem_create_at(d, name, len, out);
	fd = openat(d->fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? FL_EEXIST : errno == ENOSPC ? FL_ENOSPC : FL_EIO;
	rc = reserve_map(fd, len, true, out, NULL, 0);
	close(fd);
	if (rc != 0)
		unlinkat(d->fd, name, 0);
	return rc;
}

/* Maps the open file fd after checking it: a regular file owned by uid. */
static int
map_fd(int fd, uid_t uid, bool writable, size_t min_len, struct fli_shm *out, char *why,
       size_t whylen)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) != 0) {
		set_why(why, whylen, "unreadable segment");
		return FL_EIO;
	}
	/* Its owner can write what this process reads and shrink it under
	 * the mapping (SIGBUS): only the expected owner's files are mapped. */
	if (!S_ISREG(st.st_mode) || st.st_uid != uid) {
		set_why(why, whylen, "not a regular file owned by this user (uid %u); refused",
		        (unsigned)uid);
		return FL_EPERM;
	}
	if ((size_t)st.st_size < min_len || st.st_size == 0) {
		set_why(why, whylen, st.st_size == 0 ? "empty segment" : "shorter than %zu bytes",
		        min_len);
		return FL_EPROTO;
	}
	p = mmap(NULL, (size_t)st.st_size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
	         MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		set_why(why, whylen, "map: %s", strerror(errno));
		return FL_EIO;
	}
	out->addr = p;
	out->len = (size_t)st.st_size;
	return 0;
}

static int
open_errno(void)
{
	switch (errno) {
	case ENOENT: return FL_ENOENT;
	case ELOOP:
	case EACCES:
	case EPERM: return FL_EPERM;
	default: return FL_EIO;
	}
}

int
fli_shm_map_at(const struct fli_shm_dir *d, const char *name, bool writable, size_t min_len,
               struct fli_shm *out)
{
	int fd, rc;

	if (FL_FAULT("transport/shm/map"))
		return FL_EIO;
	if (MEM)
		return fli_shm_mem_map_at(d, name, writable, min_len, out);
	fd = openat(d->fd, name,
	            (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return open_errno();
	rc = map_fd(fd, d->uid, writable, min_len, out, NULL, 0);
	close(fd);
	return rc;
}

int
fli_shm_read_at(const struct fli_shm_dir *d, const char *name, void *buf, size_t len,
                size_t *file_len)
{
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;

	if (MEM)
		return fli_shm_mem_read_at(d, name, buf, len, file_len);
	fd = openat(d->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return open_errno();
	if (fstat(fd, &st) != 0)
		rc = FL_EIO;
	else if (!S_ISREG(st.st_mode) || st.st_uid != d->uid)
		rc = FL_EPERM;
	else if ((size_t)st.st_size < len)
		rc = FL_EPROTO;
	/* pread, not a mapping: a file its owner shrinks under the read ends
	 * the read short (FL_EPROTO), never in a SIGBUS. */
	while (rc == 0 && got < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + got, len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = FL_EIO;
		else if (n == 0)
			rc = FL_EPROTO;
		else
			got += (size_t)n;
	}
	if (rc == 0 && file_len != NULL)
		*file_len = (size_t)st.st_size;
	close(fd);
	return rc;
}

int
fli_shm_create(const char *path, size_t len, struct fli_shm *out, char *why, size_t whylen)
{
	int fd, err, rc;

	if (MEM)
		return fli_shm_mem_create(path, len, out, why, whylen);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno;
		set_why(why, whylen, "create: %s", strerror(err));
		return err == EEXIST   ? FL_EEXIST
		       : err == ENOENT ? FL_ENOENT
		       : err == ENOSPC ? FL_ENOSPC
		                       : FL_EIO;
	}
	rc = reserve_map(fd, len, false, out, why, whylen);
	close(fd);
	if (rc != 0)
		unlink(path);
	return rc;
}

int
fli_shm_map(const char *path, bool writable, size_t min_len, struct fli_shm *out, char *why,
            size_t whylen)
{
	int fd, rc;

	if (MEM)
		return fli_shm_mem_map(path, writable, min_len, out, why, whylen);
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = open_errno();
		set_why(why, whylen, "open: %s", strerror(errno));
		return rc;
	}
	rc = map_fd(fd, geteuid(), writable, min_len, out, why, whylen);
	close(fd);
	return rc;
}

void
fli_shm_unmap(struct fli_shm *m)
{
	/* A file of the in-memory backend is looked up whatever the mode
	 * now: its block goes back to the pool, never to munmap. */
	if (m->addr != NULL && !fli_shm_mem_unmap(m))
		munmap(m->addr, m->len);
	m->addr = NULL;
	m->len = 0;
}

void *
fli_shm_view(void *addr, size_t len, bool write)
{
	void *v = fli_shm_mem_view(addr, len, write);

	return v != NULL ? v : addr;
}

int
fli_shm_unlink_at(const struct fli_shm_dir *d, const char *name)
{
	if (FL_FAULT("transport/shm/unlink"))
		return FL_EIO;
	return fli_shm_unlink_at_quiet(d, name);
}

int
fli_shm_unlink_at_quiet(const struct fli_shm_dir *d, const char *name)
{
	if (MEM)
		return fli_shm_mem_unlink_at(d, name);
	if (unlinkat(d->fd, name, 0) != 0)
		return errno == ENOENT ? FL_ENOENT : FL_EIO;
	return 0;
}

int
fli_shm_rename_at(const struct fli_shm_dir *d, const char *from, const char *to)
{
	if (MEM)
		return fli_shm_mem_rename_at(d, from, to);
	if (renameat2(d->fd, from, d->fd, to, RENAME_NOREPLACE) != 0)
		return errno == EEXIST ? FL_EEXIST : errno == ENOENT ? FL_ENOENT : FL_EIO;
	return 0;
}

int
fli_shm_unlink(const char *path)
{
	if (FL_FAULT("transport/shm/unlink"))
		return FL_EIO;
	if (MEM)
		return fli_shm_mem_unlink(path);
	if (unlink(path) != 0)
		return errno == ENOENT ? FL_ENOENT : FL_EIO;
	return 0;
}
