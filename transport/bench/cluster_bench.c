/*
 * faultline-cluster-bench: a 3-node cluster (faultline/cluster.h) of
 * node processes on one driver: commands committed per second through
 * the leader, the commit latency of each, the transport's
 * request/response round trip measured in the same run (the physical
 * floor of a commit is one round trip to a majority), and the time to a
 * new leader after the leader's process is SIGKILLed; and the same
 * through the cluster client (faultline/cluster_client.h): a connect, a
 * put answered end to end, and the failover as the client sees it.
 *
 *   faultline-cluster-bench [--commands N] [--window W] [--kills K]
 *                           [--election-ms T] [--heartbeat-ms H]
 *                           [--seconds S] [--repeat R] [--idle spin|yield|backoff] [--json]
 *
 * The run, in order:
 *   1. The request/response round trip of 32-byte payloads between two
 *      forked processes (bench_rr.c, what faultline-rr-bench measures),
 *      max(N, 1000) round trips, before any node runs.
 *   2. Three node processes (forked) open their nodes, each on its own
 *      files in /dev/shm/faultline-cluster-bench-<pid>-nodes/node<i>, on
 *      a driver this process runs in its own loop (agent style: no thread
 *      here ever, so a node process may be forked at any time).  Each
 *      loops fl_cluster_node_do_work under the idle strategy and tells
 *      this process, through a pipe, its role, term and leader, and when
 *      it leads with an entry of its own term committed.
 *   3. That leader's process is told to run two loads, each a put of a
 *      32-byte value under one of 1024 keys (a 49-byte command in the
 *      log), after a warm-up of a tenth (at most 1000): N commands
 *      (default 100000) pipelined, at most W (default 64) proposed and
 *      not yet committed (commits/s; their latency is mostly the wait
 *      behind the window), then N/10 (at least 100) one at a time, whose
 *      p50 over the round trip's is ratio_commit_p50_to_rtt (target at
 *      most 3).  A command's latency runs from its put to the first pass
 *      that sees the leader's commit index at or past its index.
 *      --repeat R runs the round trip and both loads R times and keeps
 *      the pipelined run with the highest rate, and the round trip and
 *      one-at-a-time run with the lowest p50 (each with its own
 *      percentiles).
 *   3b. The cluster client, in a process of its own (forked as the
 *      nodes are, with its own fl_client in agent mode, commanded
 *      through pipes alike: this process never has a thread), with a
 *      session to the leader (the default ctx, its member the leader)
 *      puts N/10 (at least 100) values one at a time after a warm-up of
 *      a tenth (at most 1000), each timed from before its
 *      fl_cluster_client_put_sync to its return with the answer (offered
 *      to the leader's ingress, committed, applied, answered on the
 *      egress): client_put_p50_us / p99, and their p50 over the round
 *      trip's, ratio_client_put_p50_to_rtt (--repeat: the run with the
 *      lowest p50).  Then 20 synchronous connects to the leader
 *      (fl_cluster_connect, the whole of it: egress subscription,
 *      ingress publication, CONNECT, the session's open committed, OK),
 *      each closed before the next: client_connect_ms (p50) and max.
 *   4. K times (default 5): the leader's process is SIGKILLed; the time
 *      from the kill to the moment a new leader has committed an entry of
 *      its own term (its no-op) is measured in the new leader's process;
 *      the killed node is then started again on its files and the next
 *      kill waits until all three agree on one leader.  All the while the
 *      client puts one at a time (one started every 200 us at most, so
 *      the log stays small), retrying those that time out (500 ms) or
 *      fail for the failover (FL_ECANCELED: a new leader took over;
 *      FL_ESTATE: refused); a kill waits until it had a put answered by
 *      the leader to be killed.  client_failover_ms (median) and max:
 *      from its last put answered in the killed leader's term to its
 *      first answered by the next leader (CLOCK_MONOTONIC stamps taken
 *      in the client's process).
 *
 * Election timeout and heartbeat default to the node's (300 ms, a
 * follower waits [T, 2T); 50 ms), those of scenarios/cluster-election.yaml.
 * Every wait has a deadline; a failure is a message on stderr and exit
 * status 1.  The run directories are gone when the program exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_rr.h"
#include "faultline/client.h"
#include "faultline/cluster.h"
#include "faultline/cluster_client.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/reqrep.h"

#define NODES       3
#define KEYS        1024
#define KEY_FMT     "k%04u" /* 5 bytes: with the value and the 12-byte header, 49 */
#define CMD_BYTES   (12 + 5 + BENCH_MSG_LEN)
#define ELECT_NS    (20 * FL_NS_PER_SEC) /* a first or next leader, at most */
#define SETTLE_NS   (20 * FL_NS_PER_SEC) /* a restarted node following, at most */
#define STATUS_NS   (20 * FL_NS_PER_MS)  /* a node repeats its status this often */
#define PROG        "faultline-cluster-bench"
#define MAX_SAMPLES 100

/* The cluster client's process (procs[CLIENT], beside the nodes'). */
#define PROCS          (NODES + 1)
#define CLIENT         NODES
#define CONNECTS       20 /* connects timed, each closed before the next */
#define EGRESS         "cluster-bench-egress"
#define PUT_STREAM     2001                 /* the response address of the session that puts */
#define CONNECT_STREAM 2002                 /* ... of the timed connects */
#define CONNECT_NS     (20 * FL_NS_PER_SEC) /* one synchronous connect, at most */
#define PUT_NS         (10 * FL_NS_PER_SEC) /* one put answered, at most (no kill) */
#define RETRY_NS       (500 * FL_NS_PER_MS) /* one put in the failover loop, then again */
#define PACE_NS        (200 * 1000ull)      /* the failover loop starts a put this often */
/* The failover loop's longest gap between answered puts, and the
 * parent's wait for the client to report one after a kill: an
 * election, then the client's new-leader timeout. */
#define FAILOVER_NS (ELECT_NS + FL_CLUSTER_NEW_LEADER_TIMEOUT_NS)

static struct {
	uint64_t commands, latency_commands, window;
	unsigned kills;
	uint64_t election_ns, heartbeat_ns;
	struct bench_opts opts;
	char ns[48];
	char top[PATH_MAX];    /* the nodes' files */
	char rr_dir[PATH_MAX]; /* the round trip's domain */
	uint64_t hard_ns;      /* a node process gives up at this time */
} cfg;

/* ---- what a node process tells the parent ---------------------------------- */

enum ev_kind {
	EV_STATUS,
	EV_READY,
	EV_LOAD,
	/* The client's: an answered put of a term it had none answered in
	 * (term), and a failover (term: the new one; old_term; start_ns: its
	 * last put answered in old_term, end_ns: its first in term). */
	EV_CLIENT_OK,
	EV_FAILOVER,
};

/* One record a write, under PIPE_BUF: written whole. */
struct ev {
	int32_t kind, id, role, leader;
	uint64_t term, commit, at_ns;
	/* EV_LOAD: the load's outcome. */
	int32_t rc;
	char what[64];
	uint64_t count, start_ns, end_ns;
	struct bench_lat lat;
	uint64_t max_ns;   /* the client's connects: the slowest */
	uint64_t old_term; /* EV_FAILOVER */
};

/* The parent's side of a node process (or the client's). */
struct node_proc {
	int id;
	struct bench_child child;
	int ctl_fd, evt_fd; /* parent's ends: commands to it, events from it */
	bool up;
	struct ev last;   /* its last status */
	bool have_status; /* ... one came since it started */
	uint64_t ready_term;
	uint64_t ready_ns;
	bool have_load;
	struct ev load;
	uint8_t buf[sizeof(struct ev)];
	size_t have;
	/* The client's: the last term it had a put answered in, its last
	 * failover. */
	uint64_t ok_term;
	bool have_failover;
	struct ev failover;
};

static struct node_proc procs[PROCS];
static bool stopping; /* the node processes were told to stop: an end of file is expected */

static void
send_ev(int fd, const struct ev *e)
{
	ssize_t n;

	do
		n = write(fd, e, sizeof(*e));
	while (n < 0 && errno == EINTR);
}

/* ---- in a node process ----------------------------------------------------- */

/* Whether the parent said stop ('S', or its end closed); any other
 * command byte goes to *cmd. */
static bool
ctl_stop(int fd, char *cmd)
{
	char c = 0;
	ssize_t r = read(fd, &c, 1);

	if (r == 1 && c != 'S')
		*cmd = c;
	return r == 0 || (r == 1 && c == 'S');
}

struct load_state {
	uint64_t *lat;    /* per measured command */
	uint64_t *t_put;  /* per window slot: when its command was put */
	uint64_t *idx;    /* per window slot: its log index */
	uint64_t head, n; /* the oldest outstanding slot, how many */
};

/* The leader's load: warmup + commands puts, at most window outstanding,
 * each timed from put to commit.  The node keeps working meanwhile. */
static bool
run_load(fl_cluster_node *n, int ctl, struct bench_idle *idle, uint64_t window, uint64_t commands,
         struct ev *out)
{
	uint64_t next_ctl = 0;
	bool stopped = false;
	char ignored;
	uint64_t warmup = commands / 10 < 1000 ? commands / 10 : 1000;
	uint64_t total = warmup + commands, put = 0, done = 0;
	uint64_t stop = bench_now_ns() + cfg.opts.bound_ns, hard = stop + BENCH_GRACE_NS;
	struct load_state s = { calloc(commands, sizeof(uint64_t)),
		                calloc(window, sizeof(uint64_t)), calloc(window, sizeof(uint64_t)),
		                0, 0 };
	uint8_t value[BENCH_MSG_LEN];
	uint64_t measured = 0;
	int rc = 0;

	out->kind = EV_LOAD;
	if (s.lat == NULL || s.t_put == NULL || s.idx == NULL) {
		rc = FL_ENOMEM;
		snprintf(out->what, sizeof(out->what), "latency samples");
		goto out;
	}
	while (done < total) {
		struct fl_cluster_node_status st;
		uint64_t now = bench_now_ns();
		int work = 0;

		/* Stop proposing at the bound; what is out still commits. */
		if (now >= stop && put > warmup + 100)
			total = put;
		while (put < total && s.n < window) {
			char key[16];
			uint64_t slot = (s.head + s.n) % window;

			snprintf(key, sizeof(key), KEY_FMT, (unsigned)(put % KEYS));
			memset(value, (int)(put & 0xff), sizeof(value));
			/* From before the put: it writes the entry and sends it. */
			s.t_put[slot] = bench_now_ns();
			rc = fl_cluster_node_put(n, key, value, sizeof(value), &s.idx[slot]);
			if (rc != 0) {
				snprintf(out->what, sizeof(out->what), "put %" PRIu64 ": %s", put,
				         fl_errname(rc));
				goto out;
			}
			s.n++;
			put++;
			work++;
		}
		int w = fl_cluster_node_do_work(n);
		if (w < 0) {
			rc = w;
			snprintf(out->what, sizeof(out->what), "do_work: %s", fl_errname(w));
			goto out;
		}
		(void)fl_cluster_node_status(n, &st);
		if (st.role != FL_CLUSTER_LEADER) {
			rc = FL_ESTATE;
			snprintf(out->what, sizeof(out->what),
			         "the leader lost its office in the load (term %" PRIu64 ")",
			         st.term);
			goto out;
		}
		now = bench_now_ns();
		while (s.n > 0 && s.idx[s.head] <= st.commit) {
			if (done >= warmup) {
				if (measured == 0)
					out->start_ns = s.t_put[s.head];
				s.lat[measured++] = now - s.t_put[s.head];
				out->end_ns = now;
			}
			s.head = (s.head + 1) % window;
			s.n--;
			done++;
			work++;
		}
		if (now >= next_ctl) {
			next_ctl = now + FL_NS_PER_MS;
			if ((stopped = ctl_stop(ctl, &ignored))) {
				rc = FL_ECANCELED;
				snprintf(out->what, sizeof(out->what), "stopped in the load");
				goto out;
			}
		}
		if (now >= hard) {
			rc = FL_ETIMEDOUT;
			snprintf(out->what, sizeof(out->what),
			         "%" PRIu64 " commands not committed in the grace period", s.n);
			goto out;
		}
		bench_idle(idle, work + w);
	}
	if (measured == 0) {
		rc = FL_ETIMEDOUT;
		snprintf(out->what, sizeof(out->what), "no command measured");
		goto out;
	}
	out->count = measured;
	bench_lat_summarize(s.lat, measured, &out->lat);
out:
	out->rc = rc;
	free(s.lat);
	free(s.t_put);
	free(s.idx);
	return stopped;
}

struct node_arg {
	int id, ctl, evt;
};

/* A node's status as an event of `kind` (EV_STATUS, EV_READY). */
static void
send_status(const struct node_arg *a, int kind, const struct fl_cluster_node_status *st,
            uint64_t now)
{
	struct ev e = { .kind = kind,
		        .id = a->id,
		        .role = (int32_t)st->role,
		        .leader = st->leader,
		        .term = st->term,
		        .commit = st->commit,
		        .at_ns = now };

	send_ev(a->evt, &e);
}


static void
node_process(void *arg, struct bench_result *res)
{
	const struct node_arg *a = arg;
	struct fl_cluster_node_ctx ctx;
	struct fl_cluster_node_status st = { 0 }, told = { .role = -1, .leader = -2 };
	struct bench_idle idle;
	fl_cluster_node *n = NULL;
	char dir[PATH_MAX + 16];
	uint64_t ready_term = 0, next_status = 0, next_ctl = 0;
	int rc;

	bench_idle_init(&idle, cfg.opts.idle);
	(void)fcntl(a->ctl, F_SETFL, O_NONBLOCK);
	snprintf(dir, sizeof(dir), "%s/node%d", cfg.top, a->id);
	fl_cluster_node_ctx_init(&ctx);
	ctx.ns = cfg.ns;
	ctx.id = a->id;
	ctx.members = NODES;
	ctx.dir = dir;
	ctx.election_timeout_ns = cfg.election_ns;
	ctx.heartbeat_ns = cfg.heartbeat_ns;
	rc = fl_cluster_node_open(&ctx, &n);
	if (rc != 0) {
		bench_fail_set(res, rc, "fl_cluster_node_open");
		return;
	}
	for (;;) {
		int w = fl_cluster_node_do_work(n);
		uint64_t now = bench_now_ns();

		if (w < 0) {
			bench_fail_set(res, w, "fl_cluster_node_do_work");
			break;
		}
		(void)fl_cluster_node_status(n, &st);
		if (st.role != told.role || st.term != told.term || st.leader != told.leader ||
		    now >= next_status) {
			send_status(a, EV_STATUS, &st, now);
			told = st;
			next_status = now + STATUS_NS;
		}
		/* A leader that committed an entry of its own term (its no-op):
		 * in office for clients. */
		if (st.role == FL_CLUSTER_LEADER && st.term != ready_term && st.commit > 0) {
			uint64_t t, h;
			if (fl_cluster_node_entry(n, st.commit, &t, &h) == 0 && t == st.term) {
				send_status(a, EV_READY, &st, now);
				ready_term = st.term;
			}
		}
		if (now >= next_ctl) {
			char c = 0;

			next_ctl = now + FL_NS_PER_MS;
			if (ctl_stop(a->ctl, &c))
				break; /* told to stop, or the parent is gone */
			if (c == 'L' || c == 'U') {
				struct ev e = { .id = a->id };
				bool stop = c == 'L' ? run_load(n, a->ctl, &idle, cfg.window,
				                                cfg.commands, &e)
				                     : run_load(n, a->ctl, &idle, 1,
				                                cfg.latency_commands, &e);
				send_ev(a->evt, &e);
				if (stop)
					break;
			}
			if (now >= cfg.hard_ns) {
				bench_fail_set(res, FL_ETIMEDOUT, "node: never told to stop");
				break;
			}
		}
		bench_idle(&idle, w);
	}
	res->count = st.commit;
	fl_cluster_node_close(n);
}

/* ---- in the client's process ------------------------------------------------- */

/* The cluster client's process: its own pub/sub client (agent mode, its
 * conductor run here: by fl_client_do_work in this loop, and by the
 * synchronous helpers while they wait), commanded through its pipe as
 * a node process is:
 *   'C' m  CONNECTS connects to member m, each closed before the next:
 *          their p50 and max (EV_LOAD);
 *   'U' m  a session with m (kept for what follows), then one put at a
 *          time, answered end to end: their latency (EV_LOAD);
 *   'F' m  puts one at a time, one started every PACE_NS at most, until
 *          'S': each term a put is first answered in is reported
 *          (EV_CLIENT_OK), and a change of term as a failover
 *          (EV_FAILOVER);
 *   'S'    (or its pipe's end) stop.
 * A failure ends the process with its result set (the parent sees the
 * pipe's end of file, then the message). */
struct client_run {
	const struct node_arg *a;
	struct bench_result *res;
	fl_client *pc;
	fl_cluster_client *cc; /* the session that puts */
	uint64_t seq;          /* puts made */
	char cmd[2];           /* the command read, its member */
};

/* The parent's command, or 0: 'S' also for the pipe's end. */
static char
client_ctl(struct client_run *cr)
{
	ssize_t r = read(cr->a->ctl, cr->cmd, sizeof(cr->cmd));

	if (r == 0)
		return 'S';
	if (r < 0)
		return 0;
	if (r == 1)
		cr->cmd[1] = '0';
	return cr->cmd[0];
}

static void
client_fail(struct client_run *cr, int rc, const char *fmt, const char *arg)
{
	char what[96];

	snprintf(what, sizeof(what), fmt, arg);
	bench_fail_set(cr->res, rc, what);
}

static int
client_connect(struct client_run *cr, int member, int32_t stream, fl_cluster_client **out)
{
	struct fl_cluster_client_ctx ctx;

	fl_cluster_client_ctx_init(&ctx);
	ctx.client = cr->pc;
	ctx.members = NODES;
	ctx.member = member;
	ctx.egress_channel = EGRESS;
	ctx.egress_stream = stream;
	return fl_cluster_connect(&ctx, fl_clock_now_ns() + CONNECT_NS, out);
}

/* The session that puts, made with member m if there is none. */
static bool
client_session(struct client_run *cr)
{
	int rc;

	if (cr->cc != NULL)
		return true;
	rc = client_connect(cr, cr->cmd[1] - '0', PUT_STREAM, &cr->cc);
	if (rc != 0)
		client_fail(cr, rc, "connect: %s", fl_errname(rc));
	return rc == 0;
}

/* The next put, with the reply's status checked: 0, or the put's error
 * (FL_EPROTO: answered with another status). */
static int
client_put(struct client_run *cr, uint64_t deadline_ns, struct fl_cluster_reply *r)
{
	char key[16];
	uint8_t value[BENCH_MSG_LEN];
	int rc;

	snprintf(key, sizeof(key), KEY_FMT, (unsigned)(cr->seq % KEYS));
	memset(value, (int)(cr->seq & 0xff), sizeof(value));
	cr->seq++;
	*r = (struct fl_cluster_reply){ 0 };
	rc = fl_cluster_client_put_sync(cr->cc, key, value, sizeof(value), deadline_ns, r);
	return rc == 0 && r->status != FL_CLUSTER_OK ? FL_EPROTO : rc;
}

/* 'C': the connects.  false: failed. */
static bool
client_connects(struct client_run *cr, struct ev *out)
{
	uint64_t lat[CONNECTS];

	for (int i = 0; i < CONNECTS; i++) {
		fl_cluster_client *c = NULL;
		uint64_t t0 = fl_clock_now_ns();
		int rc = client_connect(cr, cr->cmd[1] - '0', CONNECT_STREAM, &c);

		lat[i] = fl_clock_now_ns() - t0;
		if (rc != 0) {
			client_fail(cr, rc, "timed connect: %s", fl_errname(rc));
			return false;
		}
		(void)fl_cluster_client_close(c);
		/* The session that puts keeps alive meanwhile. */
		if (cr->cc != NULL)
			(void)fl_cluster_client_poll_egress(cr->cc, NULL, NULL, 16);
	}
	out->count = CONNECTS;
	bench_lat_summarize(lat, CONNECTS, &out->lat);
	out->max_ns = lat[CONNECTS - 1];
	return true;
}

/* 'U': a tenth of `commands` (at most 1000) put as a warm-up, then
 * `commands` timed, one at a time, each from before its put_sync to its
 * return with the answer.  Stops at the bound past 100 timed.  false:
 * failed, or the parent said stop. */
static bool
client_puts(struct client_run *cr, uint64_t commands, struct ev *out)
{
	uint64_t warmup = commands / 10 < 1000 ? commands / 10 : 1000;
	uint64_t *lat = bench_samples(commands), measured = 0, next_ctl = 0;
	uint64_t end = fl_clock_now_ns() + cfg.opts.bound_ns;
	bool ok = false;

	if (lat == NULL) {
		client_fail(cr, FL_ENOMEM, "%s", "latency samples");
		return false;
	}
	for (uint64_t i = 0; i < warmup + commands; i++) {
		struct fl_cluster_reply r;
		uint64_t t0 = fl_clock_now_ns();

		if (t0 >= end && i > warmup + 100)
			break;
		if (t0 >= next_ctl) {
			next_ctl = t0 + FL_NS_PER_MS;
			if (client_ctl(cr) == 'S')
				goto out;
		}
		int rc = client_put(cr, t0 + PUT_NS, &r);
		uint64_t t1 = fl_clock_now_ns();
		if (rc != 0) {
			client_fail(cr, rc, "put: %s", fl_errname(rc));
			goto out;
		}
		if (i >= warmup) {
			if (measured == 0)
				out->start_ns = t0;
			lat[measured++] = t1 - t0;
			out->end_ns = t1;
		}
	}
	out->count = measured;
	bench_lat_summarize(lat, measured, &out->lat);
	ok = true;
out:
	free(lat);
	return ok;
}

/* 'F': the failover loop, until 'S' (returns true) or a failure (false). */
static bool
client_failover(struct client_run *cr)
{
	uint64_t term = 0, last_ok = fl_clock_now_ns(), next_ctl = 0, next_put = 0;

	for (;;) {
		struct fl_cluster_reply r;
		uint64_t now = fl_clock_now_ns();

		if (now >= next_ctl) {
			next_ctl = now + FL_NS_PER_MS;
			if (client_ctl(cr) == 'S')
				return true;
		}
		if (now >= cfg.hard_ns) {
			client_fail(cr, FL_ETIMEDOUT, "%s", "client: never told to stop");
			return false;
		}
		if (now < next_put) {
			/* The conductor and the egress (keep-alives) meanwhile. */
			int w = fl_client_do_work(cr->pc);
			if (w >= 0)
				w = fl_cluster_client_poll_egress(cr->cc, NULL, NULL, 16);
			if (w < 0) {
				client_fail(cr, w, "client between puts: %s", fl_errname(w));
				return false;
			}
			uint64_t ns = next_put - now < 50000 ? next_put - now : 50000;
			struct timespec ts = { 0, (long)ns };
			nanosleep(&ts, NULL);
			continue;
		}
		next_put = now + PACE_NS;
		int rc = client_put(cr, now + RETRY_NS, &r);
		uint64_t t = fl_clock_now_ns();
		if (rc == 0 && r.term != term) {
			struct ev e = { .kind = EV_CLIENT_OK,
				        .id = CLIENT,
				        .term = r.term,
				        .at_ns = t };

			if (term != 0) {
				struct ev f = { .kind = EV_FAILOVER,
					        .id = CLIENT,
					        .term = r.term,
					        .old_term = term,
					        .start_ns = last_ok,
					        .end_ns = t };
				send_ev(cr->a->evt, &f);
			}
			send_ev(cr->a->evt, &e);
			term = r.term;
		}
		if (rc == 0) {
			last_ok = t;
		} else if ((rc != FL_ETIMEDOUT && rc != FL_ECANCELED && rc != FL_ESTATE) ||
		           fl_cluster_client_state(cr->cc) == FL_CLUSTER_CLIENT_CLOSED) {
			/* Not one the failover explains, or the session ended. */
			client_fail(cr, rc, "put in the failover loop: %s", fl_errname(rc));
			return false;
		}
		if (t - last_ok >= FAILOVER_NS) {
			client_fail(cr, FL_ETIMEDOUT, "%s",
			            "no put answered in the failover's bound");
			return false;
		}
	}
}

static void
client_process(void *arg, struct bench_result *res)
{
	struct client_run cr = { .a = arg, .res = res };
	struct fl_client_ctx pctx;
	int rc;

	(void)fcntl(cr.a->ctl, F_SETFL, O_NONBLOCK);
	fl_client_ctx_init(&pctx);
	pctx.ns = cfg.ns;
	pctx.agent = true;
	rc = fl_client_open(&pctx, &cr.pc);
	if (rc != 0) {
		bench_fail_set(res, rc, "client: fl_client_open");
		return;
	}
	for (;;) {
		int w = fl_client_do_work(cr.pc);
		struct pollfd pf = { .fd = cr.a->ctl, .events = POLLIN };
		struct ev e = { .kind = EV_LOAD, .id = CLIENT };

		if (w >= 0 && cr.cc != NULL)
			w = fl_cluster_client_poll_egress(cr.cc, NULL, NULL, 16);
		if (w < 0) {
			client_fail(&cr, w, "client: %s", fl_errname(w));
			break;
		}
		char c = client_ctl(&cr);
		if (c == 'S')
			break;
		if (c == 'C' && !client_connects(&cr, &e))
			break;
		if (c == 'U' &&
		    (!client_session(&cr) || !client_puts(&cr, cfg.latency_commands, &e)))
			break;
		if (c == 'F') {
			if (!client_session(&cr))
				break;
			(void)client_failover(&cr);
			break;
		}
		if (c == 'C' || c == 'U')
			send_ev(cr.a->evt, &e);
		if (fl_clock_now_ns() >= cfg.hard_ns) {
			bench_fail_set(res, FL_ETIMEDOUT, "client: never told to stop");
			break;
		}
		if (w == 0 && c == 0)
			(void)poll(&pf, 1, 1);
	}
	res->count = cr.seq;
	(void)fl_cluster_client_close(cr.cc);
	fl_client_close(cr.pc);
}

/* ---- in the parent: the node processes -------------------------------------- */

static int
proc_start(struct node_proc *p)
{
	int ctl[2], evt[2];
	struct node_arg a;

	if (pipe(ctl) != 0)
		return -errno;
	if (pipe(evt) != 0) {
		int e = errno;
		close(ctl[0]);
		close(ctl[1]);
		return -e;
	}
	p->ctl_fd = ctl[1];
	p->evt_fd = evt[0];
	bench_parent_fd_add(p->ctl_fd);
	bench_parent_fd_add(p->evt_fd);
	(void)fcntl(p->evt_fd, F_SETFL, O_NONBLOCK);
	a = (struct node_arg){ p->id, ctl[0], evt[1] };
	int rc = bench_child_spawn(&p->child, p->id == CLIENT ? client_process : node_process, &a);
	close(ctl[0]);
	close(evt[1]);
	if (rc == 0)
		rc = bench_child_go(&p->child);
	p->up = rc == 0;
	p->have_status = p->have_load = p->have_failover = false;
	p->have = 0;
	return rc;
}

static void
proc_close_pipes(struct node_proc *p)
{
	if (p->ctl_fd >= 0)
		bench_parent_fd_close(p->ctl_fd);
	if (p->evt_fd >= 0)
		bench_parent_fd_close(p->evt_fd);
	p->ctl_fd = p->evt_fd = -1;
}

static const char *
proc_name(int i)
{
	static char name[16];

	if (i == CLIENT)
		return "the client";
	snprintf(name, sizeof(name), "node %d", i);
	return name;
}

/* Reads what each process said; false when one died (its pipe's end of
 * file) unasked. */
static bool
read_events(void)
{
	bool ok = true;

	for (int i = 0; i < PROCS; i++) {
		struct node_proc *p = &procs[i];

		while (p->up) {
			ssize_t r = read(p->evt_fd, p->buf + p->have, sizeof(p->buf) - p->have);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0) {
				if (!stopping)
					fprintf(stderr, "%s: %s's process ended unasked\n", PROG,
					        proc_name(i));
				p->up = false;
				ok = stopping;
				break;
			}
			if (r < 0)
				break;
			p->have += (size_t)r;
			if (p->have < sizeof(p->buf))
				continue;
			p->have = 0;
			struct ev e;
			memcpy(&e, p->buf, sizeof(e));
			if (e.kind == EV_STATUS) {
				p->last = e;
				p->have_status = true;
			} else if (e.kind == EV_READY) {
				p->last = e;
				p->have_status = true;
				p->ready_term = e.term;
				p->ready_ns = e.at_ns;
			} else if (e.kind == EV_CLIENT_OK) {
				p->ok_term = e.term;
			} else if (e.kind == EV_FAILOVER) {
				p->failover = e;
				p->have_failover = true;
			} else {
				p->load = e;
				p->have_load = true;
			}
		}
	}
	return ok;
}

/* One pass of this process's loop: the driver's duty cycle, then the
 * nodes' events, sleeping up to 1 ms for one. */
static bool
pump(fl_driver *d)
{
	struct pollfd pf[PROCS];
	nfds_t k = 0;

	(void)fl_driver_do_work(d);
	for (int i = 0; i < PROCS; i++)
		if (procs[i].up)
			pf[k++] = (struct pollfd){ .fd = procs[i].evt_fd, .events = POLLIN };
	(void)poll(pf, k, 1);
	return read_events();
}

/* The leader all three nodes follow in one term, ready (an entry of its
 * term committed), or -1. */
static int
agreed_leader(void)
{
	int l = procs[0].last.leader;
	uint64_t term = procs[0].last.term;

	for (int i = 0; i < NODES; i++) {
		const struct node_proc *p = &procs[i];
		if (!p->up || !p->have_status || p->last.leader != l || p->last.term != term)
			return -1;
	}
	if (l < 0 || l >= NODES || procs[l].last.role != FL_CLUSTER_LEADER ||
	    procs[l].ready_term != term)
		return -1;
	return l;
}

/* A node other than `old` leading a term after old_term, ready: its id,
 * or -1. */
static int
new_leader(uint64_t old_term)
{
	for (int i = 0; i < NODES; i++)
		if (procs[i].up && procs[i].ready_term > old_term)
			return i;
	return -1;
}

static int
wait_agreed(fl_driver *d, uint64_t budget_ns, const char *what)
{
	uint64_t deadline = bench_now_ns() + budget_ns;
	int l;

	while ((l = agreed_leader()) < 0) {
		if (!pump(d))
			return -1;
		if (bench_now_ns() >= deadline) {
			fprintf(stderr, "%s: %s: no leader all three follow in %" PRIu64 " ms\n",
			        PROG, what, (uint64_t)(budget_ns / FL_NS_PER_MS));
			return -1;
		}
	}
	return l;
}

static int
run_load_on(fl_driver *d, int l, const char *how, struct ev *out)
{
	struct node_proc *p = &procs[l];
	uint64_t deadline = bench_now_ns() + cfg.opts.bound_ns + 2 * BENCH_GRACE_NS;

	p->have_load = false;
	if (write(p->ctl_fd, how, 1) != 1) {
		fprintf(stderr, "%s: telling node %d to load: %s\n", PROG, l, strerror(errno));
		return -1;
	}
	while (!p->have_load) {
		if (!pump(d))
			return -1;
		if (bench_now_ns() >= deadline) {
			fprintf(stderr, "%s: the load on node %d missed its deadline\n", PROG, l);
			return -1;
		}
	}
	if (p->load.rc != 0) {
		fprintf(stderr, "%s: load on node %d: %s\n", PROG, l, p->load.what);
		return -1;
	}
	*out = p->load;
	return 0;
}

/* Kill the leader l, time its successor, start l again and wait until
 * the three agree.  *ns: from the kill to the successor's readiness. */
static int
kill_and_elect(fl_driver *d, int l, uint64_t *ns)
{
	struct node_proc *p = &procs[l];
	uint64_t term = p->last.term, t_kill, deadline;
	int l2;

	t_kill = bench_now_ns();
	if (bench_child_kill(&p->child) != 0) {
		fprintf(stderr, "%s: could not kill node %d's process\n", PROG, l);
		return -1;
	}
	p->up = false;
	proc_close_pipes(p);
	deadline = t_kill + ELECT_NS;
	while ((l2 = new_leader(term)) < 0) {
		if (!pump(d))
			return -1;
		if (bench_now_ns() >= deadline) {
			fprintf(stderr,
			        "%s: no new leader %" PRIu64 " ms after node %d was killed\n", PROG,
			        (uint64_t)(ELECT_NS / FL_NS_PER_MS), l);
			return -1;
		}
	}
	*ns = procs[l2].ready_ns - t_kill;
	p->ready_term = 0;
	if (proc_start(p) != 0) {
		fprintf(stderr, "%s: could not start node %d again\n", PROG, l);
		return -1;
	}
	return wait_agreed(d, SETTLE_NS, "after a restart") < 0 ? -1 : 0;
}

/* ---- in the parent: the client's process ----------------------------------------- */

/* Tells the client's process command c with member m ('C', 'U') and
 * waits up to budget_ns for its outcome. */
static int
client_run(fl_driver *d, char c, int m, uint64_t budget_ns, const char *what, struct ev *out)
{
	struct node_proc *p = &procs[CLIENT];
	uint64_t deadline = bench_now_ns() + budget_ns;
	char cmd[2] = { c, (char)('0' + m) };

	p->have_load = false;
	if (write(p->ctl_fd, cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd)) {
		fprintf(stderr, "%s: telling the client to run its %s: %s\n", PROG, what,
		        strerror(errno));
		return -1;
	}
	while (!p->have_load) {
		if (!pump(d))
			return -1;
		if (bench_now_ns() >= deadline) {
			fprintf(stderr, "%s: the client's %s missed its deadline\n", PROG, what);
			return -1;
		}
	}
	*out = p->load;
	return 0;
}

/* kill_and_elect while the client puts (its failover loop): once the
 * client had a put answered by the leader l, l is killed; *client_ns:
 * from the client's last put answered in l's term to its first answered
 * by the next leader. */
static int
kill_with_client(fl_driver *d, int l, uint64_t *elect_ns, uint64_t *client_ns)
{
	struct node_proc *c = &procs[CLIENT];
	uint64_t term = procs[l].last.term, deadline = bench_now_ns() + ELECT_NS;

	while (c->ok_term != term) {
		if (!pump(d))
			return -1;
		if (bench_now_ns() >= deadline) {
			fprintf(stderr,
			        "%s: the client had no put answered in term %" PRIu64
			        " (its last: %" PRIu64 ") in %" PRIu64 " ms\n",
			        PROG, term, c->ok_term, (uint64_t)(ELECT_NS / FL_NS_PER_MS));
			return -1;
		}
	}
	c->have_failover = false;
	if (kill_and_elect(d, l, elect_ns) != 0)
		return -1;
	deadline = bench_now_ns() + FAILOVER_NS;
	while (!c->have_failover) {
		if (!pump(d))
			return -1;
		if (bench_now_ns() >= deadline) {
			fprintf(stderr,
			        "%s: the client had no put answered after the kill in %" PRIu64
			        " ms\n",
			        PROG, (uint64_t)(FAILOVER_NS / FL_NS_PER_MS));
			return -1;
		}
	}
	if (c->failover.old_term != term) {
		fprintf(stderr,
		        "%s: the client failed over from term %" PRIu64 ", not %" PRIu64 "\n", PROG,
		        c->failover.old_term, term);
		return -1;
	}
	*client_ns = c->failover.end_ns - c->failover.start_ns;
	return 0;
}

/* Stops every node process still up and reaps it: 0, or -1 when one
 * failed.  The driver works until they are gone (a client whose driver
 * stops heart-beating fails). */
static int
stop_all(fl_driver *d)
{
	uint64_t deadline = bench_now_ns() + 10 * FL_NS_PER_SEC;
	bool any = true;
	int rc = 0;

	stopping = true;
	for (int i = 0; i < PROCS; i++)
		if (procs[i].up)
			(void)!write(procs[i].ctl_fd, "S", 1);
	while (any && d != NULL && bench_now_ns() < deadline) {
		(void)pump(d);
		any = false;
		for (int i = 0; i < PROCS; i++)
			any = any || procs[i].up;
	}
	for (int i = 0; i < PROCS; i++) {
		struct node_proc *p = &procs[i];
		struct bench_result r;

		if (p->child.pid > 0 && bench_child_finish(&p->child, deadline, &r) != 0) {
			fprintf(stderr, "%s: %s: %s (%d)\n", PROG, proc_name(i), r.what, r.rc);
			rc = -1;
		}
		proc_close_pipes(p);
		p->up = false;
	}
	return rc;
}

/* ---- figures ------------------------------------------------------------------ */

static double
ms_of(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double
load_rate(const struct ev *e)
{
	uint64_t dt = e->end_ns > e->start_ns ? e->end_ns - e->start_ns : 1;

	return (double)e->count * 1e9 / (double)dt;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* The round trip, --repeat times, the run with the lowest p50 kept (the
 * floor a commit is compared with). */
static int
measure_rtt(struct bench_result *best)
{
	struct bench_rr_cfg rr = { cfg.rr_dir, cfg.commands < 1000 ? 1000 : cfg.commands,
		                   cfg.commands < 10000 ? 100 : 1000, cfg.opts.bound_ns,
		                   cfg.opts.idle };
	fl_rr_domain *d = NULL;
	int rc = -1;

	if (mkdir(cfg.rr_dir, 0700) != 0) {
		fprintf(stderr, "%s: mkdir %s: %s\n", PROG, cfg.rr_dir, strerror(errno));
		return -1;
	}
	if (fl_rr_domain_create(cfg.rr_dir, NULL, &d) != 0) {
		fprintf(stderr, "%s: request/response domain: %s\n", PROG, fl_rr_errmsg());
		goto out;
	}
	for (unsigned r = 0; r < cfg.opts.repeat; r++) {
		struct bench_result one;
		if (bench_run_pair(bench_rr_server_process, bench_rr_client_process, &rr,
		                   cfg.opts.bound_ns, PROG, "round trip", &one) != 0)
			goto out;
		if (r == 0 || one.lat.p50_ns < best->lat.p50_ns)
			*best = one;
	}
	rc = 0;
out:
	fl_rr_domain_close(d);
	fl_rr_domain_unlink(cfg.rr_dir);
	rmdir(cfg.rr_dir);
	return rc;
}

static void
usage(FILE *f, const char *argv0)
{
	fprintf(f,
	        "usage: %s [--commands N] [--window W] [--kills K] [--election-ms T]\n"
	        "          [--heartbeat-ms H] [--seconds S] [--repeat R] [--idle "
	        "spin|yield|backoff]"
	        " [--json]\n"
	        "  --commands N     measured commands a load (default 100000, >= 100)\n"
	        "  --window W       proposed, not yet committed, at most (default 64, 1..4096)\n"
	        "  --kills K        leader kills timed (default 5, 1..%d)\n"
	        "  --election-ms T  election timeout (default 300; a follower waits [T, 2T))\n"
	        "  --heartbeat-ms H heartbeat (default 50)\n"
	        "  --seconds S      stop a load or round-trip run after S seconds (default 10)\n"
	        "  --repeat R       round trip and load R times, each one's best kept (default 1)\n"
	        "  --idle M         how the nodes and the round-trip peers wait (default spin)\n"
	        "  --json           one JSON object instead of `name value` lines\n",
	        argv0, MAX_SAMPLES);
}

static int
own_opt(int argc, char **argv, int *i)
{
	static const char *const names[] = { "--commands", "--window", "--kills", "--election-ms",
		                             "--heartbeat-ms" };
	static const unsigned long long lo[] = { 100, 1, 1, 1, 1 };
	static const unsigned long long hi[] = { 100000000, 4096, MAX_SAMPLES, 60000, 60000 };
	unsigned long long v;
	char *end;
	size_t k;

	for (k = 0; k < 5 && strcmp(argv[*i], names[k]) != 0; k++)
		;
	if (k == 5)
		return 0;
	if (*i + 1 >= argc)
		return -1;
	errno = 0;
	v = strtoull(argv[++*i], &end, 10);
	if (errno != 0 || *end != '\0' || v < lo[k] || v > hi[k])
		return -1;
	switch (k) {
	case 0: cfg.commands = v; break;
	case 1: cfg.window = v; break;
	case 2: cfg.kills = (unsigned)v; break;
	case 3: cfg.election_ns = v * FL_NS_PER_MS; break;
	default: cfg.heartbeat_ns = v * FL_NS_PER_MS; break;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	struct bench_result rtt = { 0 };
	struct ev best = { 0 }, best1 = { 0 }, cput = { 0 }, cconn = { 0 };
	uint64_t kill_ns[MAX_SAMPLES], fo_ns[MAX_SAMPLES], first_ns = 0;
	fl_driver *d = NULL;
	int rc = 1, l;

	cfg.commands = 100000;
	cfg.window = 64;
	cfg.kills = 5;
	cfg.election_ns = FL_CLUSTER_ELECTION_NS;
	cfg.heartbeat_ns = FL_CLUSTER_HEARTBEAT_NS;
	/* A node process that died must not kill us through its pipe. */
	signal(SIGPIPE, SIG_IGN);
	int st = bench_args(&cfg.opts, argc, argv, own_opt, usage);
	if (st >= 0)
		return st;
	if (cfg.heartbeat_ns >= cfg.election_ns) {
		fprintf(stderr, "%s: the heartbeat must be shorter than the election timeout\n",
		        PROG);
		return 2;
	}
	cfg.latency_commands = cfg.commands / 10 < 100 ? 100 : cfg.commands / 10;
	snprintf(cfg.ns, sizeof(cfg.ns), "cluster-bench-%d", (int)getpid());
	snprintf(cfg.top, sizeof(cfg.top), "/dev/shm/faultline-cluster-bench-%d-nodes",
	         (int)getpid());
	snprintf(cfg.rr_dir, sizeof(cfg.rr_dir), "/dev/shm/faultline-cluster-bench-%d-rr",
	         (int)getpid());
	for (int i = 0; i < PROCS; i++)
		procs[i] = (struct node_proc){ .id = i, .ctl_fd = -1, .evt_fd = -1 };

	/* 1. The floor: one round trip, before any node runs. */
	if (measure_rtt(&rtt) != 0)
		return 1;

	/* 2. The cluster. */
	if (mkdir(cfg.top, 0700) != 0) {
		fprintf(stderr, "%s: mkdir %s: %s\n", PROG, cfg.top, strerror(errno));
		return 1;
	}
	cfg.hard_ns = bench_now_ns() +
	              cfg.opts.repeat * (2 * cfg.opts.bound_ns + 5 * BENCH_GRACE_NS + CONNECT_NS) +
	              CONNECTS * CONNECT_NS +
	              (cfg.kills + 1) * (ELECT_NS + SETTLE_NS + FAILOVER_NS);
	struct fl_driver_ctx dc;
	fl_driver_ctx_init(&dc);
	dc.ns = cfg.ns;
	dc.no_thread = true;
	dc.fresh_dir = true;
	int drc = fl_driver_start(&dc, &d);
	if (drc != 0) {
		fprintf(stderr, "%s: driver for %s: %s\n", PROG, cfg.ns, fl_strerror(drc));
		goto out;
	}
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < NODES; i++) {
		if (proc_start(&procs[i]) != 0) {
			fprintf(stderr, "%s: could not start node %d's process\n", PROG, i);
			goto out;
		}
	}
	if ((l = wait_agreed(d, ELECT_NS, "cold start")) < 0)
		goto out;
	first_ns = procs[l].ready_ns - t0;
	if (proc_start(&procs[CLIENT]) != 0) {
		fprintf(stderr, "%s: could not start the client's process\n", PROG);
		goto out;
	}

	/* 3. The loads, on whichever node leads: pipelined, then one command
	 * at a time; then one at a time through the client. */
	for (unsigned r = 0; r < cfg.opts.repeat; r++) {
		struct ev one, solo, cone;
		if ((l = wait_agreed(d, ELECT_NS, "before the load")) < 0 ||
		    run_load_on(d, l, "L", &one) != 0 || run_load_on(d, l, "U", &solo) != 0 ||
		    client_run(d, 'U', l, cfg.opts.bound_ns + 2 * BENCH_GRACE_NS + CONNECT_NS,
		               "puts", &cone) != 0)
			goto out;
		if (r == 0 || load_rate(&one) > load_rate(&best))
			best = one;
		if (r == 0 || solo.lat.p50_ns < best1.lat.p50_ns)
			best1 = solo;
		if (r == 0 || cone.lat.p50_ns < cput.lat.p50_ns)
			cput = cone;
	}
	/* The client's connects, to the leader. */
	if ((l = wait_agreed(d, ELECT_NS, "before the connects")) < 0 ||
	    client_run(d, 'C', l, CONNECTS * CONNECT_NS + BENCH_GRACE_NS, "connects", &cconn) != 0)
		goto out;

	/* 4. Kill the leader, K times, while the client puts. */
	if (write(procs[CLIENT].ctl_fd, (char[]){ 'F', (char)('0' + l) }, 2) != 2) {
		fprintf(stderr, "%s: telling the client to put: %s\n", PROG, strerror(errno));
		goto out;
	}
	for (unsigned k = 0; k < cfg.kills; k++) {
		if ((l = wait_agreed(d, ELECT_NS, "before a kill")) < 0 ||
		    kill_with_client(d, l, &kill_ns[k], &fo_ns[k]) != 0)
			goto out;
	}
	if (stop_all(d) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		(void)stop_all(d);
	fl_driver_close(d);
	(void)nftw(cfg.top, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (rc != 0)
		return rc;

	struct bench_lat el, fo;
	bench_lat_summarize(kill_ns, cfg.kills, &el);
	bench_lat_summarize(fo_ns, cfg.kills, &fo);
	bench_put_str("faultpoints_build", FL_BENCH_FAULTPOINTS);
	bench_put_str("idle_strategy", bench_idle_name(cfg.opts.idle));
	bench_put("members", NODES, 0);
	bench_put("value_bytes", BENCH_MSG_LEN, 0);
	bench_put("command_bytes", CMD_BYTES, 0);
	bench_put("window", (double)cfg.window, 0);
	bench_put("repeat", cfg.opts.repeat, 0);
	bench_put("pipelined_commands", (double)best.count, 0);
	bench_put("pipelined_commits_per_sec", load_rate(&best), 0);
	bench_put("pipelined_commit_p50_ns", (double)best.lat.p50_ns, 0);
	bench_put("pipelined_commit_p99_ns", (double)best.lat.p99_ns, 0);
	bench_put("pipelined_commit_p999_ns", (double)best.lat.p999_ns, 0);
	bench_put("commands", (double)best1.count, 0);
	bench_put("commits_per_sec", load_rate(&best1), 0);
	bench_put("commit_p50_ns", (double)best1.lat.p50_ns, 0);
	bench_put("commit_p99_ns", (double)best1.lat.p99_ns, 0);
	bench_put("commit_p999_ns", (double)best1.lat.p999_ns, 0);
	bench_put("rr_rounds", (double)rtt.count, 0);
	bench_put("rr_rt_per_sec", bench_rt_per_sec(&rtt), 0);
	bench_put("rr_p50_ns", (double)rtt.lat.p50_ns, 0);
	bench_put("rr_p99_ns", (double)rtt.lat.p99_ns, 0);
	/* The target is at most 3: a commit is one round trip to a majority
	 * plus the work at both ends.  Compared alone (window 1); a window's
	 * latency adds the wait behind the commands before it. */
	bench_put("ratio_commit_p50_to_rtt", (double)best1.lat.p50_ns / (double)rtt.lat.p50_ns, 1);
	bench_put("ratio_pipelined_commit_p50_to_rtt",
	          (double)best.lat.p50_ns / (double)rtt.lat.p50_ns, 1);
	bench_put("election_timeout_ms", ms_of(cfg.election_ns), 0);
	bench_put("heartbeat_ms", ms_of(cfg.heartbeat_ns), 0);
	bench_put("first_election_ms", ms_of(first_ns), 1);
	bench_put("kills", cfg.kills, 0);
	bench_put("election_after_kill_p50_ms", ms_of(el.p50_ns), 1);
	bench_put("election_after_kill_max_ms", ms_of(kill_ns[cfg.kills - 1]), 1);
	/* The cluster client (cluster_client.h) in its own process: a
	 * synchronous connect to the leader; a put answered end to end, one
	 * at a time, against the same round trip; the failover it saw. */
	bench_put("client_connects", (double)cconn.count, 0);
	bench_put("client_connect_ms", ms_of(cconn.lat.p50_ns), 2);
	bench_put("client_connect_max_ms", ms_of(cconn.max_ns), 2);
	bench_put("client_puts", (double)cput.count, 0);
	bench_put("client_put_p50_us", (double)cput.lat.p50_ns / 1e3, 1);
	bench_put("client_put_p99_us", (double)cput.lat.p99_ns / 1e3, 1);
	bench_put("ratio_client_put_p50_to_rtt", (double)cput.lat.p50_ns / (double)rtt.lat.p50_ns,
	          1);
	bench_put("client_failover_ms", ms_of(fo.p50_ns), 1);
	bench_put("client_failover_max_ms", ms_of(fo_ns[cfg.kills - 1]), 1);
	bench_print(cfg.opts.json);
	return 0;
}
