/*
 * faultline-cluster-sim-bench: a 3-node cluster's elections under the
 * harness's sim, in virtual time, from one run of this program.
 *
 *   sim_first_election_p50_virtual_ms   cold start to a leader that has
 *   sim_first_election_max_virtual_ms   committed an entry of its term
 *   sim_election_after_kill_p50_virtual_ms  the leader killed (its node
 *   sim_election_after_kill_max_virtual_ms  abandoned, as a SIGKILLed
 *                                       process's) to the same of a new one
 *   sim_runs_per_s                      runs/s of these runs, in this
 *                                       process (no fork, no audit)
 *   sim_steps_per_run                   scheduling steps of one (mean)
 *
 * Each run (seed 1, 2, ..) is a sim of its own: a driver actor (agent
 * style, as the harness's), three node actors on their files, and a
 * chaos actor that waits for the leader, kills it K times (each time
 * starting the killed node's next life and waiting until all three
 * follow one leader again), then closes the nodes.  Timing as
 * scenarios/cluster-election.yaml's (election timeout 300 ms, a follower
 * waits [300, 600); heartbeat 50 ms; driver liveness 1 s, linger 100 ms,
 * term 64 KiB), and as faultline-cluster-bench's default, whose real
 * milliseconds these virtual ones are to be read beside.  Virtual time
 * passes only while every actor waits, so a figure here is the Raft
 * timers' alone: messages, disk and scheduling take none of it.
 *
 * The harness's own rate on a scenario (a persistent worker, Raft's
 * checks, the audit, the run directory) is faultline-harness-bench's:
 * `faultline-harness-bench --sim-only --runs N scenarios/cluster-election.yaml`.
 *
 * --cnc-kib K sizes the driver's command ring and broadcast buffer (each;
 * default the driver's 1 MiB, as the harness's runs have them): most of
 * a run's time is the kernel reserving and freeing its shared memory,
 * and cnc.dat is most of that.
 *
 * usage: faultline-cluster-sim-bench [--runs N] [--kills K] [--cnc-kib K] [--json]
 */
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faultline/choice.h"
#include "faultline/cluster.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/sim.h"

#include "bench_emit.h"

#define NODES        3
#define ELECTION_NS  (300 * FL_NS_PER_MS)
#define HEARTBEAT_NS (50 * FL_NS_PER_MS)
#define LIVENESS_NS  (1000 * FL_NS_PER_MS)
#define LINGER_NS    (100 * FL_NS_PER_MS)
#define TERM_LENGTH  65536u
#define WAIT_NS      (10 * FL_NS_PER_SEC) /* virtual: a leader, at most */
#define MAX_KILLS    100

struct node_life {
	struct sim_run *run;
	int id;
	char dir[320];
	fl_cluster_node *n; /* while up */
	bool up, kill;
};

struct sim_run {
	struct fl_sim *sim;
	uint32_t cnc_length; /* the driver's command ring and broadcast, each; 0: its default */
	char ns[64];
	char top[256];
	fl_driver *driver;
	bool driver_ready, driver_failed, stop;
	int nodes_running; /* node lives not yet ended */
	struct node_life nodes[NODES];
	unsigned kills;
	uint64_t first_ns, kill_ns[MAX_KILLS];
	const char *failed; /* what went wrong, or NULL */
};

/* ---- the actors ------------------------------------------------------------ */

static void
driver_main(void *arg)
{
	struct sim_run *r = arg;
	struct fl_driver_ctx ctx;
	struct fl_idle st = { 0 };

	fl_driver_ctx_init(&ctx);
	ctx.ns = r->ns;
	ctx.no_thread = true;
	ctx.client_liveness_ns = LIVENESS_NS;
	ctx.publication_linger_ns = LINGER_NS;
	ctx.term_length = TERM_LENGTH;
	ctx.cmd_ring_length = r->cnc_length;
	ctx.broadcast_length = r->cnc_length;
	ctx.fresh_dir = true;
	if (fl_driver_start(&ctx, &r->driver) != 0) {
		r->driver = NULL;
		r->driver_failed = true;
		r->failed = "the driver did not start";
		fl_idle(&st, 1, FL_DEADLINE_NONE);
		return;
	}
	r->driver_ready = true;
	fl_idle(&st, 1, FL_DEADLINE_NONE);
	/* Until the nodes are closed; the driver is closed after the sim. */
	while (!(r->stop && r->nodes_running == 0)) {
		int w = fl_driver_do_work(r->driver);
		fl_idle(&st, w, fl_clock_now_ns() + LIVENESS_NS / 10);
	}
}

static void
node_main(void *arg)
{
	struct node_life *nl = arg;
	struct sim_run *r = nl->run;
	struct fl_cluster_node_ctx ctx;
	struct fl_idle st = { 0 };

	while (!r->driver_ready && !r->driver_failed)
		fl_idle(&st, 0, FL_DEADLINE_NONE);
	fl_cluster_node_ctx_init(&ctx);
	ctx.ns = r->ns;
	ctx.id = nl->id;
	ctx.members = NODES;
	ctx.dir = nl->dir;
	ctx.election_timeout_ns = ELECTION_NS;
	ctx.heartbeat_ns = HEARTBEAT_NS;
	if (r->driver_failed || fl_cluster_node_open(&ctx, &nl->n) != 0) {
		nl->n = NULL;
		if (r->failed == NULL)
			r->failed = "a node did not open";
		r->stop = true;
	}
	while (nl->n != NULL) {
		if (r->stop) {
			fl_cluster_node_close(nl->n);
			break;
		}
		if (nl->kill) {
			fl_cluster_node_abandon(nl->n);
			break;
		}
		int w = fl_cluster_node_do_work(nl->n);
		if (w < 0) {
			fl_cluster_node_abandon(nl->n);
			if (r->failed == NULL)
				r->failed = "a node's client failed";
			r->stop = true;
			break;
		}
		fl_idle(&st, w, fl_clock_now_ns() + HEARTBEAT_NS / 2);
	}
	nl->n = NULL;
	nl->up = nl->kill = false;
	r->nodes_running--;
	fl_idle(&st, 1, FL_DEADLINE_NONE); /* whoever waits on it goes on */
}

static int
node_start(struct sim_run *r, int id)
{
	struct node_life *nl = &r->nodes[id];
	char name[16];

	snprintf(name, sizeof(name), "node%d", id);
	nl->up = true;
	r->nodes_running++;
	if (fl_sim_spawn(r->sim, name, node_main, nl, NULL) != 0) {
		nl->up = false;
		r->nodes_running--;
		return -1;
	}
	return 0;
}

/* The node leading a term in which it committed an entry, every up node
 * following it in that term; or -1. */
static int
agreed_leader(const struct sim_run *r)
{
	struct fl_cluster_node_status st[NODES];
	int l = -1;

	for (int i = 0; i < NODES; i++) {
		if (r->nodes[i].n == NULL)
			continue;
		(void)fl_cluster_node_status(r->nodes[i].n, &st[i]);
		if (st[i].role == FL_CLUSTER_LEADER)
			l = i;
	}
	if (l < 0)
		return -1;
	uint64_t t = 0, h;
	if (st[l].commit == 0 || fl_cluster_node_entry(r->nodes[l].n, st[l].commit, &t, &h) != 0 ||
	    t != st[l].term)
		return -1;
	for (int i = 0; i < NODES; i++)
		if (r->nodes[i].n != NULL && (st[i].term != st[l].term || st[i].leader != l))
			return -1;
	return l;
}

/* Waits (virtual time) until up_nodes are up and follow one ready
 * leader: its id, or -1 past the deadline. */
static int
wait_leader(struct sim_run *r, int up_nodes)
{
	struct fl_idle st = { 0 };
	uint64_t deadline = fl_clock_now_ns() + WAIT_NS;
	int l;

	for (;;) {
		int up = 0;
		for (int i = 0; i < NODES; i++)
			up += r->nodes[i].n != NULL;
		if (up >= up_nodes && (l = agreed_leader(r)) >= 0)
			return l;
		if (r->stop || fl_clock_now_ns() >= deadline)
			return -1;
		fl_idle(&st, 0, deadline);
	}
}

static void
chaos_main(void *arg)
{
	struct sim_run *r = arg;
	struct fl_idle st = { 0 };
	uint64_t t0 = fl_clock_now_ns();
	int l = wait_leader(r, NODES);

	if (l < 0) {
		r->failed = "no first leader in 10 virtual seconds";
		goto out;
	}
	r->first_ns = fl_clock_now_ns() - t0;
	for (unsigned k = 0; k < r->kills; k++) {
		struct node_life *nl = &r->nodes[l];

		t0 = fl_clock_now_ns();
		nl->kill = true;
		fl_idle(&st, 1, FL_DEADLINE_NONE);
		while (nl->up && !r->stop)
			fl_idle(&st, 0, FL_DEADLINE_NONE);
		if ((l = wait_leader(r, NODES - 1)) < 0) {
			r->failed = "no leader after a kill in 10 virtual seconds";
			goto out;
		}
		r->kill_ns[k] = fl_clock_now_ns() - t0;
		if (node_start(r, nl->id) != 0) {
			r->failed = "a node's next life did not start";
			goto out;
		}
		if ((l = wait_leader(r, NODES)) < 0) {
			r->failed = "the cluster did not settle after a restart";
			goto out;
		}
	}
out:
	r->stop = true;
	fl_idle(&st, 1, FL_DEADLINE_NONE);
}

/* ---- one run ---------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* One run from seed; *steps its scheduling steps.  0, or -1 with the
 * reason on stderr. */
static int
run_once(struct sim_run *r, uint64_t seed, uint64_t *steps)
{
	struct fl_choice *ch = NULL;
	struct fl_sim_config cfg = { 0 };
	struct fl_sim_result res;
	int rv;

	snprintf(r->ns, sizeof(r->ns), "csim-%d-%llu", (int)getpid(), (unsigned long long)seed);
	snprintf(r->top, sizeof(r->top), "/dev/shm/faultline-csim-%d-%llu-nodes", (int)getpid(),
	         (unsigned long long)seed);
	if (mkdir(r->top, 0700) != 0) {
		fprintf(stderr, "faultline-cluster-sim-bench: mkdir %s: %s\n", r->top,
		        strerror(errno));
		return -1;
	}
	for (int i = 0; i < NODES; i++) {
		r->nodes[i] = (struct node_life){ .run = r, .id = i };
		snprintf(r->nodes[i].dir, sizeof(r->nodes[i].dir), "%s/node%d", r->top, i);
	}
	rv = fl_choice_new_seeded(seed, &ch);
	cfg.choices = ch;
	cfg.kind = FL_SCHED_RANDOM;
	if (rv == 0)
		rv = fl_sim_new(&cfg, &r->sim);
	if (rv == 0)
		rv = fl_sim_spawn(r->sim, "driver", driver_main, r, NULL);
	for (int i = 0; rv == 0 && i < NODES; i++)
		rv = node_start(r, i);
	if (rv == 0)
		rv = fl_sim_spawn(r->sim, "chaos", chaos_main, r, NULL);
	if (rv == 0)
		rv = fl_sim_run(r->sim, &res);
	if (rv != 0)
		r->failed = "the sim could not run";
	else if (res.verdict != FL_SIM_OK)
		r->failed = res.verdict == FL_SIM_DEADLOCK ? "deadlock" : "step limit";
	*steps = rv == 0 ? res.steps : 0;
	fl_sim_free(r->sim);
	r->sim = NULL;
	fl_driver_close(r->driver);
	r->driver = NULL;
	fl_choice_free(ch);
	(void)nftw(r->top, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (r->failed != NULL) {
		fprintf(stderr, "faultline-cluster-sim-bench: seed %llu: %s\n",
		        (unsigned long long)seed, r->failed);
		return -1;
	}
	return 0;
}

/* ---- figures ------------------------------------------------------------------ */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char usage[] =
        "usage: faultline-cluster-sim-bench [--runs N] [--kills K] [--cnc-kib K] [--json]\n"
        "Elections of a 3-node cluster under the sim, in virtual milliseconds: from a\n"
        "cold start, and after the leader is killed (K times a run, default 3), over\n"
        "N runs (default 100) from seeds 1..N; and the runs per second.  --cnc-kib:\n"
        "the driver's command ring and broadcast, each (64 .. 1048576, a power of\n"
        "two; default the driver's 1024).\n";

int
main(int argc, char **argv)
{
	unsigned runs = 100, kills = 3, cnc_kib = 0;
	bool json = false, first = true;
	uint64_t *firsts, *after, steps = 0;
	size_t nafter = 0;
	double t0, secs;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		char *end = NULL;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = (unsigned)strtoul(argv[++i], &end, 10);
			if (*end != '\0' || runs == 0 || runs > 1000000)
				goto bad;
		} else if (strcmp(argv[i], "--kills") == 0 && i + 1 < argc) {
			kills = (unsigned)strtoul(argv[++i], &end, 10);
			if (*end != '\0' || kills == 0 || kills > MAX_KILLS)
				goto bad;
		} else if (strcmp(argv[i], "--cnc-kib") == 0 && i + 1 < argc) {
			cnc_kib = (unsigned)strtoul(argv[++i], &end, 10);
			if (*end != '\0' || cnc_kib < 64 || cnc_kib > (1u << 20) ||
			    (cnc_kib & (cnc_kib - 1)) != 0)
				goto bad;
		} else {
			goto bad;
		}
	}
	firsts = calloc(runs, sizeof(*firsts));
	after = calloc((size_t)runs * kills, sizeof(*after));
	if (firsts == NULL || after == NULL) {
		fprintf(stderr, "faultline-cluster-sim-bench: out of memory\n");
		goto out;
	}
	t0 = mono_s();
	for (unsigned i = 0; i < runs; i++) {
		struct sim_run r;
		uint64_t s;

		memset(&r, 0, sizeof(r));
		r.kills = kills;
		r.cnc_length = cnc_kib * 1024u;
		if (run_once(&r, i + 1, &s) != 0)
			goto out;
		steps += s;
		firsts[i] = r.first_ns;
		for (unsigned k = 0; k < kills; k++)
			after[nafter++] = r.kill_ns[k];
	}
	secs = mono_s() - t0;
	qsort(firsts, runs, sizeof(*firsts), cmp_u64);
	qsort(after, nafter, sizeof(*after), cmp_u64);
	bench_emit(json, &first, "runs", runs, 0);
	bench_emit(json, &first, "kills_per_run", kills, 0);
	bench_emit(json, &first, "cnc_kib", cnc_kib ? cnc_kib : 1024, 0);
	bench_emit(json, &first, "sim_first_election_p50_virtual_ms",
	           (double)firsts[runs / 2] / 1e6, 1);
	bench_emit(json, &first, "sim_first_election_max_virtual_ms",
	           (double)firsts[runs - 1] / 1e6, 1);
	bench_emit(json, &first, "sim_election_after_kill_p50_virtual_ms",
	           (double)after[nafter / 2] / 1e6, 1);
	bench_emit(json, &first, "sim_election_after_kill_max_virtual_ms",
	           (double)after[nafter - 1] / 1e6, 1);
	bench_emit(json, &first, "sim_runs_per_s", runs / secs, 0);
	bench_emit(json, &first, "sim_steps_per_run", (double)steps / runs, 0);
	if (json)
		printf("}\n");
	rc = 0;
out:
	free(firsts);
	free(after);
	return rc;
bad:
	fputs(usage, stderr);
	return 2;
}
