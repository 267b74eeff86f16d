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

#include "faultline/cluster.h"
#include "faultline/error.h"
#include "faultline/stats.h"

static const char usage[] =
        "usage: faultline-stat [--json] [--allow-uid UID] NAMESPACE\n"
        "Prints the gauges of the driver of NAMESPACE (clients, publications, images,\n"
        "chunks, ports, heartbeats) and, per cluster node on that driver, its role,\n"
        "term, leader, commit and applied indexes, log length and sessions; --json\n"
        "as one JSON object (the nodes under \"nodes\").\n"
        "Reads only a namespace this user owns, unless --allow-uid names the other\n"
        "user whose namespace it may read (its files are read, never mapped).\n"
        "Exit status: 0 printed, 1 no such namespace or unreadable, 2 usage.\n";

static const char *
role_name(enum fl_cluster_role r)
{
	switch (r) {
	case FL_CLUSTER_LEADER: return "leader";
	case FL_CLUSTER_CANDIDATE: return "candidate";
	case FL_CLUSTER_HALTED: return "halted";
	default: return "follower";
	}
}

/* One node's line, or its JSON object. */
static void
print_node(const struct fl_cluster_node_status *n, int32_t pid, bool json, FILE *f)
{
	fprintf(f,
	        json ? "{\"id\": %d, \"pid\": %d, \"role\": \"%s\", \"term\": %llu, "
	               "\"leader\": %d, \"commit\": %llu, \"applied\": %llu, "
	               "\"log_length\": %llu, \"sessions\": %llu, \"elections\": %llu}"
	             : "node %d pid %d role %s term %llu leader %d commit %llu applied %llu "
	               "log_length %llu sessions %llu elections %llu\n",
	        n->id, (int)pid, role_name(n->role), (unsigned long long)n->term, n->leader,
	        (unsigned long long)n->commit, (unsigned long long)n->applied,
	        (unsigned long long)n->log_length, (unsigned long long)n->sessions,
	        (unsigned long long)n->elections);
}

/* The driver's gauges, then the nodes' pages (fl_cluster_nodes_read).
 * In JSON the nodes join the driver's object: its closing brace is
 * taken off and put back after them. */
static void
print_all(const struct fl_stats *s, const char *ns, uint32_t allow, bool json)
{
	struct fl_cluster_node_status nodes[FL_CLUSTER_MAX_NODES];
	int32_t pids[FL_CLUSTER_MAX_NODES];
	int count = 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	if (fl_cluster_nodes_read(ns, allow, nodes, pids, FL_CLUSTER_MAX_NODES, &count) != 0)
		count = 0;
	if (!json) {
		fl_stats_print(s, stdout, false);
		for (int i = 0; i < count; i++)
			print_node(&nodes[i], pids[i], false, stdout);
		return;
	}
	mem = open_memstream(&buf, &len);
	if (mem == NULL) {
		fl_stats_print(s, stdout, true);
		return;
	}
	fl_stats_print(s, mem, true);
	fclose(mem);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '}'))
		if (buf[--len] == '}')
			break;
	fwrite(buf, 1, len, stdout);
	fputs(", \"nodes\": [", stdout);
	for (int i = 0; i < count; i++) {
		fputs(i ? ", " : "", stdout);
		print_node(&nodes[i], pids[i], true, stdout);
	}
	fputs("]}\n", stdout);
	free(buf);
}

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
	print_all(&s, ns, allow, json);
	return 0;
}
