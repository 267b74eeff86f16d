/*
 * Three cluster nodes on an embedded driver, each with its own client and
 * files, driven from the test's thread in turn (the tests of node.c and
 * session.c).  An observer checks, as it happens, that each term has one
 * leader and that each applied entry is the one the node's log holds.
 * Every wait is bounded by rounds of work with a deadline that only ends
 * a hang.
 */
#ifndef CLUSTER_NODES_H
#define CLUSTER_NODES_H

#include "fl_test.h"

#include "faultline/client.h"
#include "faultline/cluster.h"
#include "faultline/stats.h"
#include "store.h"

#ifndef N
#define N 3 /* members */
#endif

static fl_driver *drv;
static fl_cluster_node *nodes[N];
static char ns[64], dirs[N][PATH_MAX];
static uint64_t nodes_session_timeout_ns; /* for open_node; 0: the default */
/* open_node's election timeout; 0: 100 ms.  Every node works on the
 * test's one thread: a stall of it longer than this (a sanitizer build
 * on a loaded machine) lets a follower's timer run out before the
 * leader's next heartbeat, and a new election starts under the test. */
static uint64_t nodes_election_timeout_ns;
/* The driver's client liveness for nodes_setup; 0: 500 ms, so that an
 * abandoned node's client goes soon.  A test that abandons none sets it
 * wide: a thread starved for longer (a sanitizer build on a loaded
 * machine) must not be timed out. */
static uint64_t nodes_client_liveness_ns;
/* The driver's publication linger for nodes_setup; 0: the driver's
 * default (1 s).  A test that reads what a closed publication left
 * (a session's CLOSED) after its close sets it wide: a thread starved
 * for longer than the linger would find it gone. */
static uint64_t nodes_publication_linger_ns;
static void (*round_hook)(void); /* also run every round (clients) */

/* What the observer was told: per term, the node that said it leads
 * (-1: none), and how many applies it heard. */
static int leader_of_term[256];
static unsigned applies;

static void
seen_changed(void *arg, const struct fl_cluster_node_status *st)
{
	(void)arg;
	if (st->role == FL_CLUSTER_LEADER && st->term < 256) {
		assert_true(leader_of_term[st->term] < 0 || leader_of_term[st->term] == st->id);
		leader_of_term[st->term] = st->id;
	}
}

static void
seen_applied(void *arg, int id, uint64_t index, uint64_t term, uint64_t hash)
{
	uint64_t t, h;

	(void)arg;
	/* What it applied is what its log holds at that index. */
	assert_fl(fl_cluster_node_entry(nodes[id], index, &t, &h), 0);
	assert_true(t == term && h == hash);
	applies++;
}

static const struct fl_cluster_observer observer = {
	.changed = seen_changed,
	.applied = seen_applied,
};

static void
open_node(int i)
{
	struct fl_cluster_node_ctx c;

	fl_cluster_node_ctx_init(&c);
	c.ns = ns;
	c.id = i;
	c.members = N;
	c.dir = dirs[i];
	c.election_timeout_ns =
	        nodes_election_timeout_ns != 0 ? nodes_election_timeout_ns : 100ull * 1000000ull;
	c.heartbeat_ns = 20ull * 1000000ull;
	c.session_timeout_ns = nodes_session_timeout_ns;
	c.observer = &observer;
	assert_fl(fl_cluster_node_open(&c, &nodes[i]), 0);
}

/* A driver in namespace t-<name>-<pid> and N nodes with files under its
 * run directory. */
static int
nodes_setup(const char *name)
{
	struct fl_driver_ctx dc;
	const char *root = test_rundir(name);

	memset(leader_of_term, 0xff, sizeof(leader_of_term));
	applies = 0;
	test_driver_ctx(&dc, test_ns(ns, sizeof(ns), name));
	dc.client_liveness_ns =
	        nodes_client_liveness_ns != 0 ? nodes_client_liveness_ns : 500ull * 1000000ull;
	dc.publication_linger_ns = nodes_publication_linger_ns;
	if (fl_driver_start(&dc, &drv) != 0)
		return -1;
	for (int i = 0; i < N; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%.4000s/node-%d", root, i);
		open_node(i);
	}
	return 0;
}

static int
nodes_teardown(void)
{
	for (int i = 0; i < N; i++) {
		fl_cluster_node_close(nodes[i]);
		nodes[i] = NULL;
		(void)fli_store_remove(dirs[i]);
	}
	fl_driver_close(drv);
	test_rundir_remove();
	round_hook = NULL;
	nodes_session_timeout_ns = 0;
	nodes_election_timeout_ns = 0;
	nodes_publication_linger_ns = 0;
	return 0;
}

static struct fl_cluster_node_status
status(int i)
{
	struct fl_cluster_node_status st;

	assert_fl(fl_cluster_node_status(nodes[i], &st), 0);
	return st;
}

/* One round: every open node works once, then the hook, then a short
 * idle. */
static void
round_all(void)
{
	for (int i = 0; i < N; i++)
		if (nodes[i] != NULL)
			assert_true(fl_cluster_node_do_work(nodes[i]) >= 0);
	if (round_hook != NULL)
		round_hook();
	usleep(1000);
}

/* The leader every open node agrees on, or -1. */
static int
agreed_leader(void)
{
	int l = -1;

	for (int i = 0; i < N; i++) {
		if (nodes[i] == NULL)
			continue;
		struct fl_cluster_node_status st = status(i);
		if (st.leader < 0 || (l >= 0 && st.leader != l))
			return -1;
		l = st.leader;
	}
	return l >= 0 && nodes[l] != NULL && status(l).role == FL_CLUSTER_LEADER ? l : -1;
}

static int
elect(void)
{
	int l = -1;

	assert_true(WAIT_UNTIL((round_all(), (l = agreed_leader()) >= 0), 20000));
	return l;
}

/* Every open node applied everything the leader committed, at least
 * `want`, and holds the same map and as many sessions. */
static bool
converged(int l, uint64_t want)
{
	struct fl_cluster_node_status ls = status(l);

	if (ls.commit < want)
		return false;
	for (int i = 0; i < N; i++) {
		if (nodes[i] == NULL)
			continue;
		struct fl_cluster_node_status st = status(i);
		if (st.applied != ls.commit || st.state_hash != ls.state_hash ||
		    st.sessions != ls.sessions)
			return false;
	}
	return true;
}

#endif
