/*
 * Every FL_FAULT("name") in transport/src (.c and .h files) is listed in
 * fault_points.def (so a sweep enumerates it), and every listed name is
 * named somewhere in the sources (FL_FAULT or a helper taking the point's
 * name); every FL_SCHED_POINT("name") and fl_atomic_*("name", ...) is
 * listed in sched_points.def and every listed one is used; every point of
 * either list says what it means.
 * The source directory comes as argv[1].
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_test.h"

static const char *src_dir;
static char used[256][96];
static int nused;
static char mentioned[512][96]; /* any "transport/..." literal (points passed by name) */
static int nmentioned;
static char sched[256][96]; /* FL_SCHED_POINT("...") names */
static int nsched;

/* Adds the name that runs from name to the next '"' to list (*n names
 * of at most max), if it is shorter than 95 characters and there is
 * room. */
static void
add_name(char list[][96], int *n, int max, const char *name)
{
	const char *q = strchr(name, '"');

	if (q != NULL && q - name < 95 && *n < max) {
		memcpy(list[*n], name, (size_t)(q - name));
		list[*n][q - name] = '\0';
		(*n)++;
	}
}

/* Adds to list each name in line that starts skip characters into an
 * occurrence of pattern (the rest of the pattern is the name's start). */
static void
add_names_after(const char *line, const char *pattern, size_t skip, char list[][96], int *n,
                int max)
{
	for (const char *p = line; (p = strstr(p, pattern)) != NULL; p += skip)
		add_name(list, n, max, p + skip);
}

static void
scan_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p;

		add_names_after(line, "FL_FAULT(\"", 10, used, &nused, 256);
		add_names_after(line, "FL_SCHED_POINT(\"", 16, sched, &nsched, 256);
		/* fl_atomic_cas("name", ...) and friends (platform.h). */
		p = line;
		while ((p = strstr(p, "fl_atomic_")) != NULL) {
			char *n = p + 10;

			while ((*n >= 'a' && *n <= 'z') || *n == '_')
				n++;
			p = n;
			if (strncmp(n, "(\"", 2) == 0)
				add_name(sched, &nsched, 256, n + 2);
		}
		/* The name includes "transport/". */
		add_names_after(line, "\"transport/", 1, mentioned, &nmentioned, 512);
	}
	fclose(f);
}

static void
scan_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (n > 2 &&
		    (strcmp(e->d_name + n - 2, ".c") == 0 || strcmp(e->d_name + n - 2, ".h") == 0))
			scan_file(path);
		else if (strchr(e->d_name, '.') == NULL)
			scan_dir(path);
	}
	closedir(d);
}

/* Whether s is one of the NULL-terminated names. */
static bool
in_names(const char *const *names, const char *s)
{
	for (int k = 0; names[k] != NULL; k++)
		if (strcmp(names[k], s) == 0)
			return true;
	return false;
}

/* Whether s is one of the n names in list. */
static bool
in_list(char list[][96], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void
every_point_is_registered(void **state)
{
	int i, k, missing = 0;

	scan_dir(src_dir);
	assert_true(nused > 10);
	for (i = 0; i < nused; i++) {
		if (!in_names(fl_fault_point_names, used[i])) {
			fprintf(stderr, "FL_FAULT(\"%s\") is not in fault_points.def\n", used[i]);
			missing++;
		}
	}
	for (k = 0; fl_fault_point_names[k] != NULL; k++) {
		if (!in_list(mentioned, nmentioned, fl_fault_point_names[k])) {
			fprintf(stderr, "fault_points.def lists \"%s\" but no FL_FAULT uses it\n",
			        fl_fault_point_names[k]);
			missing++;
		}
		assert_int_equal(strncmp(fl_fault_point_names[k], "transport/", 10), 0);
	}
	assert_int_equal(missing, 0);
}

static void
every_sched_point_is_registered(void **state)
{
	int i, k, missing = 0;

	if (nsched == 0)
		scan_dir(src_dir);
	assert_true(nsched > 10);
	for (i = 0; i < nsched; i++) {
		if (!in_names(fl_sched_point_names, sched[i])) {
			fprintf(stderr, "FL_SCHED_POINT(\"%s\") is not in sched_points.def\n",
			        sched[i]);
			missing++;
		}
	}
	for (k = 0; fl_sched_point_names[k] != NULL; k++) {
		if (!in_list(sched, nsched, fl_sched_point_names[k])) {
			fprintf(stderr,
			        "sched_points.def lists \"%s\" but no FL_SCHED_POINT uses it\n",
			        fl_sched_point_names[k]);
			missing++;
		}
		for (i = 0; i < k; i++)
			if (strcmp(fl_sched_point_names[i], fl_sched_point_names[k]) == 0) {
				fprintf(stderr, "sched_points.def lists \"%s\" twice\n",
				        fl_sched_point_names[k]);
				missing++;
			}
		assert_non_null(fl_sched_point_whats[k]);
		assert_true(strlen(fl_sched_point_whats[k]) > 10);
	}
	for (k = 0; fl_fault_point_names[k] != NULL; k++) {
		assert_non_null(fl_fault_point_whats[k]);
		assert_true(strlen(fl_fault_point_whats[k]) > 10);
	}
	assert_int_equal(missing, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_point_is_registered),
		cmocka_unit_test(every_sched_point_is_registered),
	};

	src_dir = argc > 1 ? argv[1] : "transport/src";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
