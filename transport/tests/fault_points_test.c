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

static void
scan_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line;

		while ((p = strstr(p, "FL_FAULT(\"")) != NULL) {
			char *q = strchr(p + 10, '"');

			if (q != NULL && q - (p + 10) < 95 && nused < 256) {
				memcpy(used[nused], p + 10, (size_t)(q - (p + 10)));
				used[nused][q - (p + 10)] = '\0';
				nused++;
			}
			p += 10;
		}
		p = line;
		while ((p = strstr(p, "FL_SCHED_POINT(\"")) != NULL) {
			char *q = strchr(p + 16, '"');

			if (q != NULL && q - (p + 16) < 95 && nsched < 256) {
				memcpy(sched[nsched], p + 16, (size_t)(q - (p + 16)));
				sched[nsched][q - (p + 16)] = '\0';
				nsched++;
			}
			p += 16;
		}
		/* fl_atomic_cas("name", ...) and friends (platform.h). */
		p = line;
		while ((p = strstr(p, "fl_atomic_")) != NULL) {
			char *n = p + 10, *q;

			while ((*n >= 'a' && *n <= 'z') || *n == '_')
				n++;
			p = n;
			if (strncmp(n, "(\"", 2) != 0)
				continue;
			q = strchr(n + 2, '"');
			if (q != NULL && q - (n + 2) < 95 && nsched < 256) {
				memcpy(sched[nsched], n + 2, (size_t)(q - (n + 2)));
				sched[nsched][q - (n + 2)] = '\0';
				nsched++;
			}
		}
		p = line;
		while ((p = strstr(p, "\"transport/")) != NULL) {
			char *q = strchr(p + 1, '"');

			if (q != NULL && q - (p + 1) < 95 && nmentioned < 512) {
				memcpy(mentioned[nmentioned], p + 1, (size_t)(q - (p + 1)));
				mentioned[nmentioned][q - (p + 1)] = '\0';
				nmentioned++;
			}
			p += 1;
		}
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

static void
every_point_is_registered(void **state)
{
	int i, k, missing = 0;

	scan_dir(src_dir);
	assert_true(nused > 10);
	for (i = 0; i < nused; i++) {
		for (k = 0; fl_fault_point_names[k] != NULL; k++)
			if (strcmp(fl_fault_point_names[k], used[i]) == 0)
				break;
		if (fl_fault_point_names[k] == NULL) {
			fprintf(stderr, "FL_FAULT(\"%s\") is not in fault_points.def\n", used[i]);
			missing++;
		}
	}
	for (k = 0; fl_fault_point_names[k] != NULL; k++) {
		for (i = 0; i < nmentioned; i++)
			if (strcmp(fl_fault_point_names[k], mentioned[i]) == 0)
				break;
		if (i == nmentioned) {
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
		for (k = 0; fl_sched_point_names[k] != NULL; k++)
			if (strcmp(fl_sched_point_names[k], sched[i]) == 0)
				break;
		if (fl_sched_point_names[k] == NULL) {
			fprintf(stderr, "FL_SCHED_POINT(\"%s\") is not in sched_points.def\n",
			        sched[i]);
			missing++;
		}
	}
	for (k = 0; fl_sched_point_names[k] != NULL; k++) {
		for (i = 0; i < nsched; i++)
			if (strcmp(fl_sched_point_names[k], sched[i]) == 0)
				break;
		if (i == nsched) {
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
