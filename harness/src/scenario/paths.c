/*
 * Turning command-line paths into scenario files: a directory stands for
 * its *.yaml / *.yml files, sorted by name so runs and shards are stable.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "faultline/error.h"
#include "faultline/scenario.h"
#include "core/grow.h"

struct path_list {
	char **v;
	size_t n, cap;
};

static int
push(struct path_list *pl, char *p)
{
	if (p == NULL)
		return FL_ENOMEM;
	/* Room for p and the NULL after it. */
	char **v = fli_grow(pl->v, &pl->cap, pl->n + 2, sizeof *v, 16);
	if (v == NULL) {
		free(p);
		return FL_ENOMEM;
	}
	pl->v = v;
	pl->v[pl->n++] = p;
	pl->v[pl->n] = NULL;
	return 0;
}

static bool
is_scenario_name(const char *name)
{
	size_t n = strlen(name);
	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
expand_dir(struct path_list *pl, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		int e = errno;
		if (errlen)
			snprintf(err, errlen, "%s: %s", dir, strerror(e));
		return e == ENOENT ? FL_ENOENT : FL_EIO;
	}
	size_t first = pl->n;
	int rc = 0;
	struct dirent *de;
	size_t dlen = strlen(dir);
	bool slash = dlen > 0 && dir[dlen - 1] == '/';
	while ((de = readdir(d)) != NULL) {
		if (!is_scenario_name(de->d_name))
			continue;
		size_t n = dlen + strlen(de->d_name) + 2;
		char *p = malloc(n);
		if (p != NULL)
			snprintf(p, n, "%s%s%s", dir, slash ? "" : "/", de->d_name);
		if ((rc = push(pl, p)) != 0)
			break;
	}
	closedir(d);
	if (rc == FL_ENOMEM && errlen)
		snprintf(err, errlen, "%s: out of memory", dir);
	if (rc == 0 && pl->n == first) {
		if (errlen)
			snprintf(err, errlen, "%s: no scenario files (*.yaml, *.yml)", dir);
		rc = FL_EINVAL;
	}
	if (rc == 0)
		qsort(pl->v + first, pl->n - first, sizeof(char *), cmp_str);
	return rc;
}

int
fl_scenario_expand_paths(const char *const *paths, size_t npaths, char ***files, size_t *count,
                         char *err, size_t errlen)
{
	struct path_list pl = { 0 };
	int rc = 0;
	if (errlen)
		err[0] = '\0';
	for (size_t i = 0; i < npaths && rc == 0; i++) {
		struct stat st;
		if (stat(paths[i], &st) != 0) {
			int e = errno;
			if (errlen)
				snprintf(err, errlen, "%s: %s", paths[i], strerror(e));
			rc = e == ENOENT ? FL_ENOENT : FL_EIO;
		} else if (S_ISDIR(st.st_mode)) {
			rc = expand_dir(&pl, paths[i], err, errlen);
		} else {
			rc = push(&pl, strdup(paths[i]));
			if (rc && errlen)
				snprintf(err, errlen, "%s: out of memory", paths[i]);
		}
	}
	if (rc == 0 && pl.v == NULL) {
		pl.v = calloc(1, sizeof(char *));
		if (pl.v == NULL)
			rc = FL_ENOMEM;
	}
	if (rc != 0) {
		fl_scenario_paths_free(pl.v);
		return rc;
	}
	*files = pl.v;
	*count = pl.n;
	return 0;
}

void
fl_scenario_paths_free(char **files)
{
	if (files == NULL)
		return;
	for (char **p = files; *p != NULL; p++)
		free(*p);
	free(files);
}

int
fl_scenario_load_dir(const char *dir, struct fl_scenario ***out, size_t *count, char *err,
                     size_t errlen)
{
	char **files = NULL;
	size_t n = 0;
	const char *paths[1] = { dir };
	int rc = fl_scenario_expand_paths(paths, 1, &files, &n, err, errlen);
	if (rc)
		return rc;
	struct fl_scenario **list = calloc(n + 1, sizeof(*list));
	if (list == NULL) {
		fl_scenario_paths_free(files);
		if (errlen)
			snprintf(err, errlen, "%s: out of memory", dir);
		return FL_ENOMEM;
	}
	size_t i;
	for (i = 0; i < n; i++)
		if ((rc = fl_scenario_load(files[i], &list[i], err, errlen)) != 0)
			break;
	fl_scenario_paths_free(files);
	if (rc) {
		fl_scenario_list_free(list, i);
		return rc;
	}
	*out = list;
	*count = n;
	return 0;
}

void
fl_scenario_list_free(struct fl_scenario **list, size_t count)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		fl_scenario_free(list[i]);
	free(list);
}
