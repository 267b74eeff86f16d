/*
 * Namespace and channel name validation, the run directory path and its
 * removal.
 */
#include <stdio.h>
#include <string.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "shm.h"

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
