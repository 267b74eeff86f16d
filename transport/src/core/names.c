/*
 * Namespace and channel name validation, the run directory path and its
 * removal.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "shm.h"
#include "shm_mem.h"

int
fl_name_validate(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return FL_ENAME;
	n = strnlen(name, FL_NAME_MAX + 1);
	if (n == 0 || n > FL_NAME_MAX)
		return FL_ENAME;
	if (strstr(name, "..") != NULL)
		return FL_ENAME;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '/' || ch == '\\' || ch <= ' ' || ch == 0x7f)
			return FL_ENAME;
	}
	return 0;
}

int
fl_run_dir_path(const char *ns, char *buf, size_t len)
{
	int n;

	if (fl_name_validate(ns) != 0)
		return FL_ENAME;
	n = snprintf(buf, len, "/dev/shm/faultline-%s", ns);
	if (n < 0 || (size_t)n >= len)
		return FL_EINVAL;
	return 0;
}

int
fl_run_dir_remove(const char *ns)
{
	char dir[256];
	int rc = fl_run_dir_path(ns, dir, sizeof(dir));

	return rc != 0 ? rc : fli_shm_dir_remove(dir);
}

int
fl_run_dir_make(const char *ns)
{
	char dir[256];
	struct fli_shm_dir d;
	int rc = fl_run_dir_path(ns, dir, sizeof(dir));

	if (rc != 0)
		return rc;
	if (fli_shm_mem_on())
		return fli_shm_mem_dir_create(dir, &d);
	if (mkdir(dir, 0700) == 0)
		return 0;
	return errno == EEXIST ? FL_EEXIST : errno == ENOSPC ? FL_ENOSPC : FL_EIO;
}

int
fl_run_dir_exists(const char *ns)
{
	char dir[256];
	struct stat st;
	int rc = fl_run_dir_path(ns, dir, sizeof(dir));

	if (rc != 0)
		return rc;
	if (fli_shm_mem_on())
		return fli_shm_mem_exists(dir);
	return lstat(dir, &st) == 0;
}

int
fl_run_dir_each(const char *ns, void (*fn)(void *arg, const char *name), void *arg)
{
	char dir[256];
	struct dirent *e;
	DIR *d;
	int rc = fl_run_dir_path(ns, dir, sizeof(dir));

	if (rc != 0)
		return rc;
	if (fli_shm_mem_on())
		return fli_shm_mem_dir_each(dir, fn, arg);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? FL_ENOENT : FL_EIO;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			fn(arg, e->d_name);
	closedir(d);
	return 0;
}
