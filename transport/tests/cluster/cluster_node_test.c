/*
 * Cluster nodes over the real transport (node.c): three nodes on an
 * embedded driver, each with its own client and files, driven from this
 * thread in turn.  They elect a leader, replicate and apply its
 * commands; a closed leader is replaced and, opened again on its files,
 * catches up; garbled frames on a node's stream are counted and dropped.
 * Bounded by work (rounds of do_work); the deadlines only end a hang.
 */
#include "cluster_nodes.h"

static int
setup(void **state)
{
	(void)state;
	return nodes_setup("cnode");
}

static int
teardown(void **state)
{
	(void)state;
	return nodes_teardown();
}

static void
put_n(int l, int count, const char *prefix, uint64_t *last)
{
	for (int k = 0; k < count; k++) {
		char key[32];

		snprintf(key, sizeof(key), "%s%d", prefix, k);
		assert_fl(fl_cluster_node_put(nodes[l], key, "v", 1, last), 0);
	}
}

static void
elect_replicate_apply(void **state)
{
	uint64_t last = 0, before;
	int l;

	(void)state;
	l = elect();
	/* The leader's no-op, or more than one when a stalled thread (valgrind
	 * on a loaded machine) let a follower's timer run out and the leader
	 * won again: the puts go right after whatever its log holds. */
	before = status(l).log_length;
	assert_true(before >= 1);
	put_n(l, 20, "k", &last);
	assert_fl(last, before + 20);
	for (int i = 0; i < N; i++)
		if (i != l)
			assert_fl(fl_cluster_node_put(nodes[i], "x", "y", 1, NULL), FL_ESTATE);
	assert_true(WAIT_UNTIL((round_all(), converged(l, last)), 20000));
	for (int i = 0; i < N; i++) {
		assert_fl(status(i).garbled, 0);
		assert_fl(status(i).refused, 0);
	}
}

static void
closed_leader_replaced_then_rejoins(void **state)
{
	uint64_t last = 0, term;
	int l, l2;

	(void)state;
	l = elect();
	put_n(l, 5, "a", &last);
	assert_true(WAIT_UNTIL((round_all(), converged(l, last)), 20000));
	term = status(l).term;
	fl_cluster_node_close(nodes[l]);
	nodes[l] = NULL;
	l2 = elect();
	assert_true(l2 != l);
	assert_true(status(l2).term > term);
	put_n(l2, 5, "b", &last);
	open_node(l);
	/* From its files: the log it had, then what it missed. */
	assert_fl(status(l).log_length, 6); /* its no-op and a0..a4 */
	assert_true(WAIT_UNTIL((round_all(), converged(l2, last)), 20000));
	assert_fl(status(l).applied, status(l2).commit);
}

/* A leader abandoned as a killed process's would be: its client is
 * timed out by the driver (registrations and all), a new leader takes
 * over, and the node reopened on its files catches up.  The observer
 * saw one leader a term and every apply match the log. */
static void
abandoned_leader_is_timed_out_then_rejoins(void **state)
{
	struct fl_stats before, after;
	uint64_t last = 0, t0, h0, t1, h1;
	int l, l2;

	(void)state;
	l = elect();
	put_n(l, 5, "a", &last);
	assert_true(WAIT_UNTIL((round_all(), converged(l, last)), 20000));
	assert_fl(fl_stats_read(ns, &before), 0);
	fl_cluster_node_abandon(nodes[l]);
	nodes[l] = NULL;
	l2 = elect();
	/* The driver times the dead client out: one client, its two
	 * subscriptions (consensus and ingress) and two publications fewer. */
	assert_true(
	        WAIT_UNTIL((round_all(), fl_stats_read(ns, &after) == 0 &&
	                                         after.active_clients == before.active_clients - 1),
	                   20000));
	assert_true(after.subscriptions == before.subscriptions - 2);
	open_node(l);
	put_n(l2, 3, "b", &last);
	assert_true(WAIT_UNTIL((round_all(), converged(l2, last)), 20000));
	for (uint64_t i = 1; i <= last; i++) {
		assert_fl(fl_cluster_node_entry(nodes[l], i, &t0, &h0), 0);
		assert_fl(fl_cluster_node_entry(nodes[l2], i, &t1, &h1), 0);
		assert_true(t0 == t1 && h0 == h1);
	}
	assert_fl(fl_cluster_node_entry(nodes[l], last + 1, &t0, &h0), FL_ENOENT);
	/* Every node applied every entry once, and l its first 6 (its no-op
	 * and a0..a4) once more in its first life. */
	assert_int_equal(applies, 3 * last + 6);
}

/* Garbage and a frame for another node, published on node 0's stream:
 * counted, dropped, and the cluster goes on. */
static void
garbled_frames_are_dropped(void **state)
{
	struct fl_client_ctx cc;
	fl_client *c;
	fl_publication *p;
	uint8_t junk[64];
	uint64_t last = 0;
	int l;

	(void)state;
	l = elect();
	fl_client_ctx_init(&cc);
	cc.ns = ns;
	cc.agent = true;
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_fl(fl_client_add_publication(c, FL_CLUSTER_CHANNEL, FL_CLUSTER_STREAM_BASE + 0,
	                                    false, fl_clock_now_ns() + 10000000000ull, &p),
	          0);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	for (int k = 0; k < 5; k++)
		assert_true(WAIT_UNTIL((round_all(), fl_client_do_work(c),
		                        fl_publication_offer(p, junk, 8 + (size_t)k * 10) > 0),
		                       10000));
	assert_true(WAIT_UNTIL((round_all(), status(0).garbled >= 5), 10000));
	assert_fl(status(0).garbled, 5); /* one a frame, none counted twice */
	assert_fl(status(0).refused, 0);
	put_n(l, 3, "g", &last);
	assert_true(WAIT_UNTIL((round_all(), converged(l, last)), 20000));
	(void)fl_publication_close(p);
	fl_client_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(elect_replicate_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_leader_replaced_then_rejoins, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(abandoned_leader_is_timed_out_then_rejoins, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(garbled_frames_are_dropped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
