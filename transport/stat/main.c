/*
 * faultline-stat: print a namespace's gauges.
 *
 *   faultline-stat [--json] [--allow-uid UID] NAMESPACE
 *
 * Exit status: 0 printed, 1 no such namespace or unreadable, 2 usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/stats.h"

static const char usage[] =
        "usage: faultline-stat [--json] [--allow-uid UID] NAMESPACE\n"
        "Prints the gauges of the driver of NAMESPACE (clients, publications, images,\n"
        "chunks, ports, heartbeats); --json as one JSON object.\n"
        "Reads only a namespace this user owns, unless --allow-uid names the other\n"
        "user whose namespace it may read (its files are read, never mapped).\n"
        "Exit status: 0 printed, 1 no such namespace or unreadable, 2 usage.\n";

int
main(int argc, char **argv)
{
	struct fl_stats s;
	const char *ns = NULL;
	uint32_t allow = 0;
	bool json = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--allow-uid") == 0 && i + 1 < argc) {
			const char *v = argv[++i];
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(v, &end, 10);
			if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n == 0 ||
			    n >= UINT32_MAX) {
				fprintf(stderr,
				        "faultline-stat: --allow-uid: '%s' is not a uid "
				        "(a decimal number above 0)\n",
				        v);
				return 2;
			}
			allow = (uint32_t)n;
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
	rc = fl_stats_read_as(ns, allow, &s);
	if (rc != 0) {
		fprintf(stderr, "faultline-stat: %s: %s%s\n", ns, fl_strerror(rc),
		        rc == FL_EPERM ? " (not this user's: --allow-uid UID reads another's)"
		                       : "");
		return 1;
	}
	fl_stats_print(&s, stdout, json);
	return 0;
}
