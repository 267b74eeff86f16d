/*
 * faultline-node: one cluster member as a daemon (faultline/cluster.h).
 *
 *   faultline-node -n NS --id I --dir DIR [--members M] [--election-ms T]
 *                  [--heartbeat-ms H] [--session-timeout-ms C] [--sync]
 *                  [--status-ms S]
 *
 * Joins the driver of namespace NS (started first: faultline-driver) as
 * member I of M (1, 3 or 5; default 3), keeping its term, vote and log
 * in DIR (opened again on the same DIR, it restarts from them); clients
 * open sessions on its ingress (faultline/cluster.h).  Runs
 * until SIGINT or SIGTERM, then closes cleanly (its files stay) and
 * exits 0.  With --status-ms it prints its status as one JSON line on
 * stdout every S ms, and always once at exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/cluster.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "daemon.h"

static const char *const role_names[] = { "follower", "candidate", "leader", "halted" };

static void
print_status(const fl_cluster_node *n)
{
	struct fl_cluster_node_status st;

	if (fl_cluster_node_status(n, &st) != 0)
		return;
	printf("{\"id\": %d, \"role\": \"%s\", \"term\": %llu, \"leader\": %d, \"commit\": %llu, "
	       "\"applied\": %llu, \"log_length\": %llu, \"state_hash\": \"%016llx\", "
	       "\"garbled\": %llu, \"refused\": %llu, \"dropped\": %llu, \"elections\": %llu, "
	       "\"torn_bytes\": %llu, \"sessions\": %llu, \"ingress_garbled\": %llu, "
	       "\"ingress_dropped\": %llu, \"egress_dropped\": %llu}\n",
	       st.id, role_names[st.role], (unsigned long long)st.term, st.leader,
	       (unsigned long long)st.commit, (unsigned long long)st.applied,
	       (unsigned long long)st.log_length, (unsigned long long)st.state_hash,
	       (unsigned long long)st.garbled, (unsigned long long)st.refused,
	       (unsigned long long)st.dropped, (unsigned long long)st.elections,
	       (unsigned long long)st.torn_bytes, (unsigned long long)st.sessions,
	       (unsigned long long)st.ingress_garbled, (unsigned long long)st.ingress_dropped,
	       (unsigned long long)st.egress_dropped);
	fflush(stdout);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: faultline-node -n NAMESPACE --id I --dir DIR [--members M]\n"
	           "                      [--election-ms T] [--heartbeat-ms H]\n"
	           "                      [--session-timeout-ms C] [--sync] [--status-ms S]\n"
	           "defaults: 3 members (1, 3 or 5), election timeout 300 ms, heartbeat\n"
	           "          50 ms, session timeout 10000 ms; no status lines but the one\n"
	           "          at exit\n");
}

/* The options that take a number, and where each goes. */
struct num_opt {
	const char *name;
	unsigned long long max;
	unsigned long long *out;
};

/* Reads v, the value of option o, into *o->out.  0, or -1 with the
 * message printed. */
static int
parse_num(const struct num_opt *o, const char *v)
{
	char *end = NULL;

	errno = 0;
	if (v != NULL && *v >= '0' && *v <= '9')
		*o->out = strtoull(v, &end, 10);
	if (end == NULL || *end != '\0' || errno != 0 || *o->out > o->max) {
		fprintf(stderr, "faultline-node: %s %s: expected a number 0..%llu\n", o->name,
		        v ? v : "(missing)", o->max);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct fl_cluster_node_ctx ctx;
	unsigned long long id = ~0ull, members = 3, election_ms = 0, heartbeat_ms = 0,
	                   session_ms = 0, status_ms = 0;
	const struct num_opt nums[] = {
		{ "--id", FL_CLUSTER_MAX_NODES - 1, &id },
		{ "--members", FL_CLUSTER_MAX_NODES, &members },
		{ "--election-ms", 3600000, &election_ms },
		{ "--heartbeat-ms", 3600000, &heartbeat_ms },
		{ "--session-timeout-ms", 3600000, &session_ms },
		{ "--status-ms", 3600000, &status_ms },
	};
	struct fl_idle idle;
	fl_cluster_node *n;
	uint64_t next_status;
	int rc;

	fl_cluster_node_ctx_init(&ctx);
	/* --help anywhere: the usage, nothing else. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		size_t k = 0;

		while (k < sizeof(nums) / sizeof(nums[0]) && strcmp(a, nums[k].name) != 0)
			k++;
		if (k < sizeof(nums) / sizeof(nums[0])) {
			if (parse_num(&nums[k], v) < 0)
				return 2;
			i++;
		} else if ((strcmp(a, "-n") == 0 || strcmp(a, "--namespace") == 0) && v != NULL) {
			ctx.ns = argv[++i];
		} else if (strcmp(a, "--dir") == 0 && v != NULL) {
			ctx.dir = argv[++i];
		} else if (strcmp(a, "--sync") == 0) {
			ctx.sync = true;
		} else {
			fprintf(stderr, "faultline-node: unknown or incomplete option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (ctx.ns == NULL || ctx.dir == NULL || id == ~0ull) {
		fprintf(stderr, "faultline-node: -n, --id and --dir are required\n");
		usage(stderr);
		return 2;
	}
	if ((members != 1 && members != 3 && members != 5) || id >= members) {
		fprintf(stderr,
		        "faultline-node: --members %llu --id %llu: members is 1, 3 or 5 "
		        "and id below it\n",
		        members, id);
		return 2;
	}
	ctx.id = (int)id;
	ctx.members = (int)members;
	ctx.election_timeout_ns = election_ms * FL_NS_PER_MS;
	ctx.heartbeat_ns = heartbeat_ms * FL_NS_PER_MS;
	ctx.session_timeout_ns = session_ms * FL_NS_PER_MS;
	rc = fl_cluster_node_open(&ctx, &n);
	if (rc != 0) {
		fprintf(stderr, "faultline-node: joining namespace %s with files in %s: %s: %s%s\n",
		        ctx.ns, ctx.dir, fl_errname(rc), fl_strerror(rc),
		        rc == FL_ENOENT ? " (is faultline-driver running?)" : "");
		return 1;
	}
	fli_daemon_trap_signals(&idle);
	fprintf(stderr, "faultline-node: member %d of %d in %s, files in %s\n", ctx.id, ctx.members,
	        ctx.ns, ctx.dir);
	next_status = fl_clock_now_ns() + status_ms * FL_NS_PER_MS;
	while (!fli_daemon_stop) {
		int w = fl_cluster_node_do_work(n);

		if (w < 0) {
			fprintf(stderr, "faultline-node: %s: %s\n", fl_errname(w), fl_strerror(w));
			print_status(n);
			fl_cluster_node_close(n);
			return 1;
		}
		if (status_ms > 0 && fl_clock_now_ns() >= next_status) {
			print_status(n);
			next_status = fl_clock_now_ns() + status_ms * FL_NS_PER_MS;
		}
		fl_idle(&idle, w, fl_clock_now_ns() + FL_NS_PER_MS);
	}
	print_status(n);
	fl_cluster_node_close(n);
	fprintf(stderr, "faultline-node: stopped\n");
	return 0;
}
