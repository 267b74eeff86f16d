/*
 * faultline-kv: a client of a running cluster's key-value service
 * (faultline/cluster_client.h), and the library's example of use.
 *
 *   faultline-kv -n NS [--members M] [--member I|round-robin]
 *                [--timeout-ms T] COMMAND ARGS...
 *
 *   put KEY VALUE          the key holds VALUE
 *   get KEY                prints the key's value (exit 1: no value)
 *   cas KEY EXPECTED VALUE VALUE if the key holds EXPECTED (exit 1: it
 *                          did not, or held nothing)
 *   append KEY VALUE       VALUE appended to the key's value
 *   watch                  stays connected, printing every event the
 *                          cluster sends (new leaders, session events),
 *                          until SIGINT or SIGTERM
 *
 * Connects (at member 0 by default, following redirects to the leader)
 * through the driver of namespace NS (faultline-driver) to the nodes
 * (faultline-node), runs the command with a deadline of T ms (default
 * 10000), and closes.  Exit status: 0 done; 1 the cluster answered no
 * (not found, mismatch); 2 bad arguments; 3 no answer (the connect or
 * the command timed out, the session closed: a put may still have
 * taken effect); 4 another error.
 *
 * The client is single-threaded by contract: this program's one thread
 * owns it.  SIGINT and SIGTERM only set a flag (the handler touches
 * nothing else); the loop sees it, leaves, and the owner closes the
 * client.  Closing it from the handler (or from another thread) is B3
 * (docs/bug-classes.md).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/client.h"
#include "faultline/cluster_client.h"
#include "faultline/error.h"
#include "faultline/platform.h"

#define PROG "faultline-kv"
/* The response address: this process's own stream. */
#define EGRESS_CHANNEL "kv-egress"

static volatile sig_atomic_t stop; /* the signal handler's only write */

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: " PROG " -n NAMESPACE [--members M] [--member I|round-robin]\n"
	           "                   [--timeout-ms T] COMMAND ARGS...\n"
	           "commands: put KEY VALUE | get KEY | cas KEY EXPECTED VALUE |\n"
	           "          append KEY VALUE | watch\n"
	           "exit: 0 done, 1 the cluster answered no (not found, mismatch),\n"
	           "      2 bad arguments, 3 no answer (timed out, session closed), 4 error\n");
}

static int
exit_for(int rc)
{
	return rc == FL_ETIMEDOUT || rc == FL_ECANCELED || rc == FL_ECLOSED ? 3 : 4;
}

static void
on_event(void *arg, fl_cluster_client *c, const struct fl_cluster_event *ev)
{
	(void)arg;
	(void)c;
	switch (ev->type) {
	case FL_CLUSTER_EV_NEW_LEADER:
		printf("new leader %d, term %llu\n", ev->leader, (unsigned long long)ev->term);
		break;
	case FL_CLUSTER_EV_SESSION:
		printf("session event %d: %.*s\n", ev->code, (int)ev->len, (const char *)ev->data);
		break;
	default:
		printf("response %llu: status %d\n", (unsigned long long)ev->correlation, ev->code);
		break;
	}
	fflush(stdout);
}

/* watch: the owner's loop, until a signal asks it to stop or the
 * client closes.  Returns the exit status. */
static int
watch(fl_client *pc, fl_cluster_client *c)
{
	struct fl_idle idle = { .max_park_ns = 10 * FL_NS_PER_MS };
	int rc = 0;

	printf("connected: session %llu, leader %d, term %llu\n",
	       (unsigned long long)fl_cluster_client_session_id(c), fl_cluster_client_leader(c),
	       (unsigned long long)fl_cluster_client_term(c));
	fflush(stdout);
	while (!stop) {
		int w = fl_client_do_work(pc);

		if (w < 0) {
			rc = w;
			break;
		}
		rc = fl_cluster_client_poll_egress(c, on_event, NULL, 16);
		if (rc < 0)
			break; /* closed: by the cluster, or no leader in time */
		fl_idle(&idle, w + rc, fl_clock_now_ns() + 10 * FL_NS_PER_MS);
		rc = 0;
	}
	if (rc != 0)
		fprintf(stderr, PROG ": %s: %s\n", fl_errname(rc), fl_strerror(rc));
	return rc == 0 ? 0 : exit_for(rc);
}

/* One command; prints what a get read.  Returns the exit status. */
static int
command(fl_cluster_client *c, char **args, int n, uint64_t deadline)
{
	char value[FL_CLUSTER_MAX_VALUE];
	struct fl_cluster_reply r = { .value = value, .value_cap = sizeof(value) };
	const char *cmd = args[0];
	int rc;

	if (strcmp(cmd, "put") == 0 && n == 3)
		rc = fl_cluster_client_put_sync(c, args[1], args[2], strlen(args[2]), deadline, &r);
	else if (strcmp(cmd, "append") == 0 && n == 3)
		rc = fl_cluster_client_append_sync(c, args[1], args[2], strlen(args[2]), deadline,
		                                   &r);
	else if (strcmp(cmd, "get") == 0 && n == 2)
		rc = fl_cluster_client_get_sync(c, args[1], deadline, &r);
	else if (strcmp(cmd, "cas") == 0 && n == 4)
		rc = fl_cluster_client_cas_sync(c, args[1], args[2], strlen(args[2]), args[3],
		                                strlen(args[3]), deadline, &r);
	else
		return 2; /* checked before connecting */
	if (rc != 0) {
		fprintf(stderr, PROG ": %s: %s: %s\n", cmd, fl_errname(rc), fl_strerror(rc));
		return exit_for(rc);
	}
	if (r.status == FL_CLUSTER_NOT_FOUND || r.status == FL_CLUSTER_MISMATCH) {
		fprintf(stderr, PROG ": %s: %s\n", cmd,
		        r.status == FL_CLUSTER_NOT_FOUND ? "no value" : "another value");
		return 1;
	}
	if (r.status != FL_CLUSTER_OK) {
		fprintf(stderr, PROG ": %s: the service could not parse it\n", cmd);
		return 4;
	}
	if (strcmp(cmd, "get") == 0)
		printf("%.*s\n", (int)(r.value_len < sizeof(value) ? r.value_len : sizeof(value)),
		       value);
	return 0;
}

static bool
well_formed(char **args, int n)
{
	static const struct {
		const char *name;
		int n;
	} cmds[] = { { "put", 3 }, { "get", 2 }, { "cas", 4 }, { "append", 3 }, { "watch", 1 } };

	for (size_t i = 0; n > 0 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(args[0], cmds[i].name) == 0)
			return n == cmds[i].n;
	return false;
}

static bool
number(const char *s, long max, long *out)
{
	char *end = NULL;

	errno = 0;
	if (s != NULL && *s >= '0' && *s <= '9')
		*out = strtol(s, &end, 10);
	return end != NULL && *end == '\0' && errno == 0 && *out <= max;
}

int
main(int argc, char **argv)
{
	struct fl_client_ctx pctx;
	struct fl_cluster_client_ctx ctx;
	struct sigaction sa;
	fl_client *pc;
	fl_cluster_client *c;
	const char *ns = NULL;
	long members = 3, member = 0, timeout_ms = 10000;
	int i, rc, status;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if ((strcmp(a, "-n") == 0 || strcmp(a, "--namespace") == 0) && v != NULL) {
			ns = v;
		} else if (strcmp(a, "--members") == 0 &&
		           number(v, FL_CLUSTER_MAX_NODES, &members) && members >= 1) {
		} else if (strcmp(a, "--member") == 0 && v != NULL &&
		           strcmp(v, "round-robin") == 0) {
			member = FL_CLUSTER_ROUND_ROBIN;
		} else if (strcmp(a, "--member") == 0 &&
		           number(v, FL_CLUSTER_MAX_NODES - 1, &member)) {
		} else if (strcmp(a, "--timeout-ms") == 0 && number(v, 3600000, &timeout_ms) &&
		           timeout_ms > 0) {
		} else {
			fprintf(stderr,
			        PROG ": unknown, incomplete or out-of-range option %s%s%s\n", a,
			        v != NULL ? " " : "", v != NULL ? v : "");
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (ns == NULL || !well_formed(argv + i, argc - i) ||
	    (member != FL_CLUSTER_ROUND_ROBIN && member >= members)) {
		fprintf(stderr, PROG ": %s\n",
		        ns == NULL ? "-n NAMESPACE is required"
		        : member != FL_CLUSTER_ROUND_ROBIN && member >= members
		                ? "--member must be below --members"
		                : "expected one command and its arguments");
		usage(stderr);
		return 2;
	}

	fl_client_ctx_init(&pctx);
	pctx.ns = ns;
	pctx.agent = true; /* this thread does the client's work: no other thread */
	rc = fl_client_open(&pctx, &pc);
	if (rc != 0) {
		fprintf(stderr, PROG ": namespace %s: %s: %s%s\n", ns, fl_errname(rc),
		        fl_strerror(rc), rc == FL_ENOENT ? " (is faultline-driver running?)" : "");
		return 4;
	}
	fl_cluster_client_ctx_init(&ctx);
	ctx.client = pc;
	ctx.members = (int)members;
	ctx.member = (int)member;
	ctx.egress_channel = EGRESS_CHANNEL;
	ctx.egress_stream = (int32_t)(1 + getpid() % 1000000);
	ctx.message_timeout_ns = (uint64_t)timeout_ms * FL_NS_PER_MS;
	rc = fl_cluster_connect(&ctx, fl_clock_now_ns() + (uint64_t)timeout_ms * FL_NS_PER_MS, &c);
	if (rc != 0) {
		fprintf(stderr, PROG ": connect: %s: %s%s\n", fl_errname(rc), fl_strerror(rc),
		        rc == FL_ETIMEDOUT ? " (are the faultline-node members running?)" : "");
		fl_client_close(pc);
		return exit_for(rc);
	}
	if (strcmp(argv[i], "watch") == 0) {
		/* Only watch waits on a signal: the commands keep the default
		 * (a Ctrl-C ends them at once; the driver reclaims). */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		status = watch(pc, c);
	} else {
		status = command(c, argv + i, argc - i,
		                 fl_clock_now_ns() + (uint64_t)timeout_ms * FL_NS_PER_MS);
	}
	fl_cluster_client_close(c); /* the owner, after its last poll */
	fl_client_close(pc);
	return status;
}
