/*
 * POSIX implementation of the shm seam: files in /dev/shm/faultline-<ns>/
 * mapped with mmap.  Each OS call that can fail carries a fault point.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "shm.h"

int
fl_shm_dir_create(const char *dir)
{
	if (FL_FAULT("transport/shm/mkdir"))
		return FL_EIO;
	if (mkdir(dir, 0700) != 0)
		return errno == EEXIST ? FL_EEXIST : FL_EIO;
	return 0;
}

int
fl_shm_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? FL_ENOENT : FL_EIO;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0 && errno != ENOENT)
			rc = FL_EIO;
	}
	closedir(d);
	if (rmdir(dir) != 0 && errno != ENOENT)
		rc = FL_EIO;
	return rc;
}

int
fl_shm_dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return errno == ENOENT ? FL_ENOENT : FL_EIO;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int
fl_shm_create(const char *path, size_t len, struct fl_shm *out)
{
	int fd;
	void *p;

	if (FL_FAULT("transport/shm/create"))
		return FL_EIO;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? FL_EEXIST : FL_EIO;
	if (FL_FAULT("transport/shm/truncate") || ftruncate(fd, (off_t)len) != 0)
		goto fail;
	if (FL_FAULT("transport/shm/map"))
		goto fail;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);
	out->addr = p;
	out->len = len;
	return 0;
fail:
	close(fd);
	unlink(path);
	return FL_EIO;
}

int
fl_shm_map(const char *path, bool writable, size_t min_len, struct fl_shm *out)
{
	struct stat st;
	int fd;
	void *p;

	if (FL_FAULT("transport/shm/map"))
		return FL_EIO;
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? FL_ENOENT : FL_EIO;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return FL_EIO;
	}
	if ((size_t)st.st_size < min_len || st.st_size == 0) {
		close(fd);
		return FL_EPROTO;
	}
	p = mmap(NULL, (size_t)st.st_size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
	         MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return FL_EIO;
	out->addr = p;
	out->len = (size_t)st.st_size;
	return 0;
}

void
fl_shm_unmap(struct fl_shm *m)
{
	if (m->addr != NULL)
		munmap(m->addr, m->len);
	m->addr = NULL;
	m->len = 0;
}

int
fl_shm_unlink(const char *path)
{
	if (FL_FAULT("transport/shm/unlink"))
		return FL_EIO;
	if (unlink(path) != 0)
		return errno == ENOENT ? FL_ENOENT : FL_EIO;
	return 0;
}
