/*
 * faultline-stat: print a namespace's gauges.
 *
 *   faultline-stat [--json] NAMESPACE
 *
 * Exit status: 0 printed, 1 no such namespace or unreadable, 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/stats.h"

int
main(int argc, char **argv)
{
	struct fl_stats s;
	const char *ns = NULL;
	bool json = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] != '-' && ns == NULL)
			ns = argv[i];
		else {
			fprintf(stderr, "usage: faultline-stat [--json] NAMESPACE\n");
			return 2;
		}
	}
	if (ns == NULL) {
		fprintf(stderr, "usage: faultline-stat [--json] NAMESPACE\n");
		return 2;
	}
	rc = fl_stats_read(ns, &s);
	if (rc != 0) {
		fprintf(stderr, "faultline-stat: %s: %s\n", ns, fl_strerror(rc));
		return 1;
	}
	fl_stats_print(&s, stdout, json);
	return 0;
}
