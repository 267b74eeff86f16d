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

static const char usage[] =
	"usage: faultline-stat [--json] NAMESPACE\n"
	"Prints the gauges of the driver of NAMESPACE (clients, publications, images,\n"
	"chunks, ports, heartbeats); --json as one JSON object.\n"
	"Exit status: 0 printed, 1 no such namespace or unreadable, 2 usage.\n";

int
main(int argc, char **argv)
{
	struct fl_stats s;
	const char *ns = NULL;
	bool json = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (argv[i][0] != '-' && ns == NULL) {
			ns = argv[i];
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (ns == NULL) {
		fputs(usage, stderr);
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
