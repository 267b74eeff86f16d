/*
 * Raft's rules (raft.c) on an in-memory network (tests/raft_net.h) with
 * each node's real files: elections, replication, a killed leader, a
 * partitioned leader, a restart from the files, the up-to-date vote
 * check, Figure 8's commit rule, and a failed persist.
 */
#include "fl_test.h"
#include "raft_net.h"

static struct rn net;
static const char *root;

static int
setup3(void **state)
{
	(void)state;
	root = test_rundir("raft");
	return rn_init(&net, 3, root, 1);
}

static int
teardown(void **state)
{
	(void)state;
	rn_fini(&net);
	test_rundir_remove();
	return 0;
}

/* Runs until a leader is up and every node knows it (at most 5 s of
 * time). */
static int
elect(void)
{
	for (int step = 0; step < 500; step++) {
		int l = rn_leader(&net);
		bool known = l >= 0;

		for (int i = 0; known && i < net.n; i++)
			if (net.nodes[i].up && net.nodes[i].r.leader != l)
				known = false;
		if (known)
			return l;
		rn_run(&net, 10000000ull, 10000000ull);
	}
	return -1;
}

static void
put_n(int leader, int n, const char *prefix)
{
	for (int k = 0; k < n; k++) {
		char key[32], val[32];

		snprintf(key, sizeof(key), "%s%d", prefix, k);
		snprintf(val, sizeof(val), "v%d", k);
		assert_fl(rn_put(&net, leader, key, val, NULL), 0);
	}
}

/* Elects a leader, has it replicate n puts, lets them commit; returns
 * the leader. */
static int
lead_with(int n, const char *prefix)
{
	int l = elect();

	assert_true(l >= 0);
	put_n(l, n, prefix);
	rn_run(&net, 100000000ull, 10000000ull);
	return l;
}

/* Raft's safety properties hold over all that happened (raft_net.h). */
static void
assert_safe(void)
{
	if (!rn_check(&net))
		fail_msg("%s", net.violation);
}

/* Every live node applied up to its leader's commit and holds the same
 * map. */
static void
assert_converged(void)
{
	int l = rn_leader(&net);
	uint64_t hash;

	assert_true(l >= 0);
	hash = fli_kv_hash(&net.nodes[l].kv);
	for (int i = 0; i < net.n; i++) {
		if (!net.nodes[i].up)
			continue;
		assert_fl(net.nodes[i].r.applied, net.nodes[l].r.commit);
		assert_true(fli_kv_hash(&net.nodes[i].kv) == hash);
	}
	assert_safe();
}

static void
single_node_leads_and_commits(void **state)
{
	(void)state;
	rn_fini(&net);
	assert_fl(rn_init(&net, 1, root, 7), 0);
	assert_int_equal(elect(), 0);
	put_n(0, 5, "k");
	/* A one-node majority commits at once: noop + 5. */
	assert_fl(net.nodes[0].r.commit, 6);
	assert_fl(net.nodes[0].r.applied, 6);
	assert_fl(net.nodes[0].kv.count, 5);
}

static void
three_nodes_elect_one_leader(void **state)
{
	int l;

	(void)state;
	l = elect();
	assert_true(l >= 0);
	assert_true(net.nodes[l].r.term >= 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(net.nodes[i].r.leader, l);
		assert_fl(net.nodes[i].r.term, net.nodes[l].r.term);
		if (i != l)
			assert_int_equal(net.nodes[i].r.role, FLI_RAFT_FOLLOWER);
	}
	assert_safe();
}

static void
commands_replicate_and_apply_in_order(void **state)
{
	int l;

	(void)state;
	l = lead_with(20, "k");
	/* noop + 20 on every node, applied, the same map */
	assert_fl(net.nodes[l].r.commit, 21);
	assert_fl(net.nodes[l].kv.count, 20);
	assert_converged();
}

static void
leader_killed_a_new_one_keeps_every_commit(void **state)
{
	int l, l2;
	uint64_t committed;

	(void)state;
	l = lead_with(10, "a");
	committed = net.nodes[l].r.commit;
	assert_fl(committed, 11);
	rn_kill(&net, l);
	l2 = lead_with(5, "b");
	assert_true(l2 != l);
	assert_true(net.nodes[l2].r.commit >= committed + 6);
	/* The old leader restarts from its files and catches up. */
	assert_fl(rn_start(&net, l), 0);
	assert_true(fli_raft_last_index(&net.nodes[l].r) >= committed);
	rn_run(&net, 300000000ull, 10000000ull);
	assert_converged();
}

static void
partitioned_leader_loses_its_uncommitted_entries(void **state)
{
	int l = lead_with(3, "a"), l2 = -1;
	uint64_t old_term = net.nodes[l].r.term;

	(void)state;
	rn_partition(&net, 1u << l);
	/* The old leader goes on accepting; nothing of that can commit. */
	put_n(l, 4, "lost");
	for (int step = 0; step < 200 && l2 < 0; step++) {
		rn_run(&net, 10000000ull, 10000000ull);
		for (int i = 0; i < 3; i++)
			if (i != l && net.nodes[i].r.role == FLI_RAFT_LEADER)
				l2 = i;
	}
	assert_true(l2 >= 0);
	assert_true(net.nodes[l2].r.term > old_term);
	assert_fl(net.nodes[l].r.commit, 4); /* noop + 3, not the 4 lost */
	put_n(l2, 2, "b");
	rn_run(&net, 100000000ull, 10000000ull);
	rn_heal(&net);
	rn_run(&net, 300000000ull, 10000000ull);
	/* The old leader followed, dropped its 4 entries, took the new. */
	assert_int_equal(net.nodes[l].r.role, FLI_RAFT_FOLLOWER);
	assert_int_equal(rn_leader(&net), l2);
	assert_fl(fli_raft_last_index(&net.nodes[l].r), fli_raft_last_index(&net.nodes[l2].r));
	assert_fl(net.nodes[l].kv.count, 5); /* a0..a2, b0, b1 */
	assert_converged();
}

static void
restart_recovers_term_vote_and_log(void **state)
{
	uint64_t term, last;
	int32_t vote;

	(void)state;
	(void)lead_with(7, "k");
	for (int i = 0; i < 3; i++) {
		term = net.nodes[i].r.term;
		vote = net.nodes[i].r.voted_for;
		last = fli_raft_last_index(&net.nodes[i].r);
		assert_fl(rn_restart(&net, i), 0);
		assert_fl(net.nodes[i].r.term, term);
		assert_int_equal(net.nodes[i].r.voted_for, vote);
		assert_fl(fli_raft_last_index(&net.nodes[i].r), last);
		/* Memory is gone: commit and applied start over, and come
		 * back from the leader. */
		assert_fl(net.nodes[i].r.applied, 0);
	}
	elect();
	rn_run(&net, 300000000ull, 10000000ull);
	assert_converged();
	assert_fl(net.nodes[rn_leader(&net)].kv.count, 7);
}

/* A node whose log is behind asks for votes and gets none: the others'
 * logs are more up to date (later last term). */
static void
vote_needs_an_up_to_date_log(void **state)
{
	int l, behind;
	uint64_t t;

	(void)state;
	l = elect();
	behind = (l + 1) % 3;
	rn_partition(&net, 1u << behind);
	put_n(l, 3, "k");
	rn_run(&net, 100000000ull, 10000000ull);
	/* The lagging node has timed out many times, its term is high. */
	rn_run(&net, 2000000000ull, 10000000ull);
	t = net.nodes[behind].r.term;
	assert_true(t > net.nodes[l].r.term);
	rn_heal(&net);
	/* Its high term unseats the leader, but it cannot win: someone with
	 * the longer log does, at a later term. */
	for (int step = 0; step < 300; step++) {
		rn_run(&net, 10000000ull, 10000000ull);
		assert_true(net.nodes[behind].r.role != FLI_RAFT_LEADER);
	}
	l = rn_leader(&net);
	assert_true(l >= 0 && l != behind);
	assert_true(net.nodes[l].r.term >= t);
	assert_converged();
}

/* Writes node i's files before it starts: term, vote, and a log of n
 * entries of the given terms (index 1 a noop, the rest commands). */
static void
preload(int i, uint64_t term, int32_t vote, const uint64_t *terms, int n)
{
	struct fli_store st;
	struct fli_store_loaded l;
	char dir[PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/node-%d", root, i); /* as rn_init names it */
	assert_fl(fli_store_open(&st, dir, false, &l), 0);
	fli_store_loaded_free(&l);
	assert_fl(fli_store_save_state(&st, term, vote), 0);
	for (int k = 0; k < n; k++) {
		struct fli_raft_entry e = { .term = terms[k],
			                    .type = k == 0 ? FLI_ENTRY_NOOP : FLI_ENTRY_COMMAND,
			                    .len = k == 0 ? 0 : 1,
			                    .data = (const uint8_t *)"x" };
		assert_fl(fli_store_put_entry(&st, (uint64_t)k + 1, &e), 0);
	}
	fli_store_close(&st);
}

/* Figure 8: a leader must not commit an entry of an earlier term by
 * counting its replicas.  Node 0 holds index 2 of term 2 that nobody
 * else has; it wins term 4 with node 1's vote (node 2 is cut off), and
 * with one entry a message it replicates index 2 to node 1 first: a
 * majority then has it, yet the commit index must stay 0 until index 3,
 * its own term's noop, reaches node 1 too; then it is 3 at once. */
static void
figure8_old_term_entry_is_not_committed_by_count(void **state)
{
	static const uint64_t t0[] = { 1, 2 }, t1[] = { 1 };
	struct fli_raft *r0;

	(void)state;
	rn_fini(&net);
	preload(0, 3, 0, t0, 2);
	preload(1, 3, FLI_RAFT_NO_NODE, t1, 1);
	preload(2, 3, FLI_RAFT_NO_NODE, t1, 1);
	assert_fl(rn_init(&net, 3, root, 3), 0);
	rn_configure(&net, 1, true);
	net.cut[0][2] = net.cut[2][0] = true;
	r0 = &net.nodes[0].r;
	r0->election_deadline_ns = 0;
	(void)fli_raft_tick(r0, net.now);
	assert_fl(r0->term, 4);
	while (net.qlen > 0) {
		rn_deliver(&net, 0);
		assert_true(r0->commit == 0 || r0->commit == 3);
		if (r0->match_index[1] == 2)
			assert_fl(r0->commit, 0);
	}
	assert_int_equal(r0->role, FLI_RAFT_LEADER);
	assert_fl(r0->commit, 3);
	assert_fl(net.nodes[1].r.commit, 0); /* it learns with the next append */
	rn_run(&net, 100000000ull, 50000000ull);
	assert_fl(net.nodes[1].r.commit, 3);
	assert_safe();
}

/* A persist that fails halts the node: no answer goes out for it. */
static void
persist_failure_halts_the_node(void **state)
{
	uint64_t sent;

	(void)state;
	net.nodes[1].fail_persists = 1;
	net.nodes[0].r.election_deadline_ns = 0;
	rn_tick_all(&net);
	sent = net.sent;
	rn_deliver_all(&net, 2); /* the vote requests to nodes 1 and 2 */
	assert_int_equal(net.nodes[1].r.role, FLI_RAFT_HALTED);
	assert_fl(net.nodes[1].r.persist_failures, 1);
	/* Only node 2 answered. */
	assert_fl(net.sent - sent, 1);
	assert_int_equal(net.q[0].m.from, 2);
	rn_deliver_all(&net, 1000);
	assert_int_equal(net.nodes[0].r.role, FLI_RAFT_LEADER);
	/* Restarted from its files, it follows again. */
	assert_fl(rn_restart(&net, 1), 0);
	rn_run(&net, 300000000ull, 10000000ull);
	assert_int_equal(net.nodes[1].r.leader, 0);
	assert_converged();
}

/* Messages lost, duplicated and late do not break anything: a random
 * mix over many seeds, every check after every step. */
static void
lossy_network_keeps_the_invariants(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		rn_fini(&net);
		assert_fl(rn_init(&net, 3, root, seed), 0);
		for (int step = 0; step < 2000; step++) {
			uint64_t what = rn_rand(&net, 100);
			int l = rn_leader(&net);

			if (what < 50 && net.qlen > 0) {
				rn_deliver(&net, rn_rand(&net, net.qlen));
			} else if (what < 60 && net.qlen > 0) {
				rn_remove(&net, rn_rand(&net, net.qlen));
			} else if (what < 75 && l >= 0) {
				char key[16];
				snprintf(key, sizeof(key), "k%d", (int)rn_rand(&net, 5));
				(void)rn_put(&net, l, key, "v", NULL);
			} else if (what < 77) {
				int i = (int)rn_rand(&net, 3);
				if (net.nodes[i].up)
					rn_kill(&net, i);
				else
					assert_fl(rn_start(&net, i), 0);
			} else {
				net.now += rn_rand(&net, 40000000ull);
				rn_tick_all(&net);
			}
			if (!rn_check(&net))
				fail_msg("seed %llu step %d: %s", (unsigned long long)seed, step,
				         net.violation);
		}
		assert_fl(net.protocol_errors, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(single_node_leads_and_commits, setup3, teardown),
		cmocka_unit_test_setup_teardown(three_nodes_elect_one_leader, setup3, teardown),
		cmocka_unit_test_setup_teardown(commands_replicate_and_apply_in_order, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(leader_killed_a_new_one_keeps_every_commit, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(partitioned_leader_loses_its_uncommitted_entries,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(restart_recovers_term_vote_and_log, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(vote_needs_an_up_to_date_log, setup3, teardown),
		cmocka_unit_test_setup_teardown(figure8_old_term_entry_is_not_committed_by_count,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(persist_failure_halts_the_node, setup3, teardown),
		cmocka_unit_test_setup_teardown(lossy_network_keeps_the_invariants, setup3,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
