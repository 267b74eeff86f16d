/*
 * Scenario loader tests: the good files' values, every bad file's exact
 * message, the content hash, directory expansion.  Runs in
 * harness/tests/scenario (meson workdir).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fl_test.h"

#include "faultline/error.h"
#include "faultline/scenario.h"
#include "faultline/target.h"
#include "fixtures.h"

#define SMOKE "../../../scenarios/pubsub-smoke.yaml"

struct bad_case {
	const char *file;
	const char *message;
};

static const struct bad_case bad_cases[] = {
	{ "bad/syntax.yaml",
	  "bad/syntax.yaml:7: yaml: did not find expected ',' or ']' (while parsing a flow "
	  "sequence at line 7)" },
	{ "bad/empty.yaml", "bad/empty.yaml:1: (top): empty scenario file" },
	{ "bad/unknown_key.yaml", "bad/unknown_key.yaml:6: actors[0].knd: unknown key" },
	{ "bad/unknown_op.yaml",
	  "bad/unknown_op.yaml:7: actors[0].ops[0].ofer: unknown operation (did you mean offer?)" },
	{ "bad/scalar_op.yaml",
	  "bad/scalar_op.yaml:8: actors[0].ops[1]: an operation is a mapping with exactly one key, "
	  "e.g. '- close_client: {}'" },
	{ "bad/wrong_type.yaml", "bad/wrong_type.yaml:8: actors[0].ops[1].offer.count: expected a "
	                         "decimal integer (got 'many')" },
	{ "bad/missing_field.yaml", "bad/missing_field.yaml:1: mode: required field missing" },
	{ "bad/unknown_actor.yaml",
	  "bad/unknown_actor.yaml:9: faults[0].actor: unknown actor 'nobody'" },
	{ "bad/unknown_ref.yaml",
	  "bad/unknown_ref.yaml:7: actors[0].ops[0].offer.pub: unknown publication 'nope'" },
	{ "bad/wrong_ref_kind.yaml",
	  "bad/wrong_ref_kind.yaml:8: actors[0].ops[1].offer.pub: 's' is a subscription (line 7), "
	  "expected a publication" },
	{ "bad/use_before_define.yaml",
	  "bad/use_before_define.yaml:7: actors[0].ops[0].poll.sub: 's' is used before it is "
	  "defined (line 8)" },
	{ "bad/foreign_client.yaml",
	  "bad/foreign_client.yaml:11: actors[1].ops[0].offer.pub: publication 'p' belongs to "
	  "client 'c1' (actor a); actor b uses client 'b'" },
	{ "bad/bad_fault_point.yaml",
	  "bad/bad_fault_point.yaml:7: faults[0].point: unknown fault point 'bogus/point' "
	  "(expected a registered transport/ or target/ point, or posix/... or libc/... for "
	  "libfiu's preload)" },
	{ "bad/target_alloc_no_target.yaml",
	  "bad/target_alloc_no_target.yaml:8: faults[0].point: 'target/alloc' is a target's "
	  "point, and this scenario names no target (target: PATH)" },
	{ "bad/target_alloc_typo.yaml",
	  "bad/target_alloc_typo.yaml:8: faults[0].point: unknown fault point 'target/aloc' "
	  "(did you mean target/alloc?)" },
	{ "bad/two_whens.yaml",
	  "bad/two_whens.yaml:9: faults[0].when: give exactly one of nth, after, probability" },
	{ "bad/bad_mode_kind.yaml", "bad/bad_mode_kind.yaml:6: actors[0].kind: a process actor "
	                            "needs mode proc (mode is sim)" },
	{ "bad/negative_count.yaml",
	  "bad/negative_count.yaml:10: actors[0].ops[1].offer.count: must be between 1 and "
	  "1000000000 (got -3)" },
	{ "bad/cancel_without_async.yaml",
	  "bad/cancel_without_async.yaml:7: actors[0].ops[0].add_subscription.cancel_at: needs "
	  "async: true" },
	{ "bad/partition_twice_in_group.yaml",
	  "bad/partition_twice_in_group.yaml:8: actors[0].ops[0].partition.groups[0]: 0 is listed "
	  "twice in this group" },
	{ "bad/misspelt_property.yaml",
	  "bad/misspelt_property.yaml:10: properties[0]: unknown property 'no_leaked_file' (did "
	  "you mean no_leaked_files?)" },
	{ "bad/unknown_property.yaml",
	  "bad/unknown_property.yaml:8: properties[1]: unknown property 'no_leaks' (known: "
	  "image_refs, no_leaked_files, gauges_zero, no_pending_registrations, no_new_fds, "
	  "no_unexpected_signal, delivery_in_order, no_loss, no_duplicates, chunks_balanced, "
	  "ports_zero, messages_freed_once, no_late_completions, election_safety, log_matching, "
	  "leader_completeness, state_machine_safety, cluster_liveness, linearizable, "
	  "no_orphaned_registrations, target_resources, target_model, target_heap, "
	  "no_heap_growth)" },
	{ "bad/connect_cancel_sync.yaml",
	  "bad/connect_cancel_sync.yaml:8: actors[0].ops[0].cluster_connect.cancel_at: needs "
	  "async: true" },
	{ "bad/connect_unknown_step.yaml",
	  "bad/connect_unknown_step.yaml:8: actors[0].ops[0].cluster_connect.cancel_at: expected "
	  "one of: create_egress_sub, create_ingress_pub, await_pub_connected, send_connect, "
	  "poll_response, conclude, random, none (got 'handshake')" },
	{ "bad/connect_no_cluster.yaml",
	  "bad/connect_no_cluster.yaml:7: actors[0].ops[0].cluster_connect: cluster_connect needs "
	  "a cluster (a "
	  "top-level `cluster: {nodes: 3}`)" },
	{ "bad/cluster_close_both.yaml",
	  "bad/cluster_close_both.yaml:9: actors[0].ops[1].cluster_close: give from_actor or flag, "
	  "not both" },
	{ "bad/cluster_put_not_client.yaml",
	  "bad/cluster_put_not_client.yaml:9: actors[0].ops[1].cluster_put.client: 'n' is a node "
	  "(line 8), expected a cluster client" },
	{ "bad/orphans_without_connect.yaml",
	  "bad/orphans_without_connect.yaml:9: properties: no_orphaned_registrations judges what "
	  "cluster clients leave with the driver, and this scenario connects none" },
	{ "bad/cluster_property_without_cluster.yaml",
	  "bad/cluster_property_without_cluster.yaml:8: properties: cluster_liveness judges a "
	  "cluster's nodes (the `cluster:` key), and this scenario has none" },
	{ "bad/reqrep_property_without_reqrep.yaml",
	  "bad/reqrep_property_without_reqrep.yaml:8: properties: ports_zero judges "
	  "request/response operations (offer_service, connect_service, request, respond), and "
	  "this scenario has none" },
	{ "bad/gauges_without_driver.yaml",
	  "bad/gauges_without_driver.yaml:8: properties: gauges_zero judges pub/sub operations or "
	  "a cluster (the driver's clients), and this scenario has none" },
	{ "bad/fault_point_never_reached.yaml",
	  "bad/fault_point_never_reached.yaml:12: faults[1].point: 'transport/rr/request_send' is "
	  "never reached without request/response operations, and this scenario has none: the "
	  "rule could never fire" },
	{ "bad/empty_ops.yaml",
	  "bad/empty_ops.yaml:6: actors[0]: an actor needs one op or more (`ops:` is "
	  "empty)" },
	{ "bad/mode_cannot_run.yaml",
	  "bad/mode_cannot_run.yaml:5: mode: actors sharing a client (client:) need sim or stress "
	  "mode (in proc mode each actor is a process), and this file's mode is proc" },
	{ "bad/stress_crash_fault.yaml",
	  "bad/stress_crash_fault.yaml:3: mode: crash faults need sim or proc mode (a thread "
	  "cannot die alone), and this file's mode is stress" },
	{ "bad/too_many_actors.yaml",
	  "bad/too_many_actors.yaml:198: actors: 65 actors; a scenario has at most 64" },
	{ "bad/too_many_barriers.yaml",
	  "bad/too_many_barriers.yaml:40: actors[0].ops[32].barrier.name: barrier 'b32' is a name "
	  "more than the 32 a scenario can have" },
	{ "bad/name_too_long.yaml",
	  "bad/name_too_long.yaml:2: name: the name is 128 bytes long; at most 127" },
	{ "bad/duplicate_actor.yaml",
	  "bad/duplicate_actor.yaml:7: actors[2].name: actor 'a' is already defined at line 5" },
	{ "bad/lonely_barrier.yaml",
	  "bad/lonely_barrier.yaml:7: actors[0].ops[0].barrier.name: barrier 'alone' is reached "
	  "only by actor a; a barrier needs two or more actors" },
	{ "bad/bad_bool.yaml", "bad/bad_bool.yaml:6: sweep: expected true or false (got 'maybe')" },
	{ "bad/probability_range.yaml",
	  "bad/probability_range.yaml:9: faults[0].when.probability: must be in (0, 1] (got 1.5)" },
	{ "bad/two_op_keys.yaml",
	  "bad/two_op_keys.yaml:7: actors[0].ops[0]: an operation is a mapping with exactly one "
	  "key, e.g. '- wait: {ms: 5}'" },
	{ "bad/bad_service.yaml",
	  "bad/bad_service.yaml:7: actors[0].ops[0].offer_service.service: 'a/b' is not a valid "
	  "service name (1 to 63 characters, no '/', '..' or control characters)" },
	{ "bad/bad_name.yaml", "bad/bad_name.yaml:1: name: 'smoke/2' is not a valid name (letters, "
	                       "digits, '_', '-', '.')" },
	{ "bad/duplicate_key.yaml", "bad/duplicate_key.yaml:4: mode: key given twice" },
	{ "bad/unknown_impl.yaml",
	  "bad/unknown_impl.yaml:8: actors[0].ops[1].request.impl: unknown request helper "
	  "implementation 'b1_leaky' (one of: b4_release_matching, b4_release_all, "
	  "b5_free_after_send, b5_close_pending, b5_correct)" },
	{ "bad/impl_with_ctx.yaml",
	  "bad/impl_with_ctx.yaml:9: actors[0].ops[2].request: give ctx or impl, not both" },
	{ "bad/bad_chunks.yaml",
	  "bad/bad_chunks.yaml:6: driver.chunks: chunk spec \"4096:8,128:4\": sizes must ascend" },
	{ "bad/bad_expect.yaml",
	  "bad/bad_expect.yaml:7: actors[0].ops[0].offer_service.expect: unknown error code "
	  "'ENOSPC' "
	  "(expected FL_E* names joined by '|', e.g. FL_ETIMEDOUT|FL_ECRASHED, or any)" },
	{ "bad/connect_impl.yaml",
	  "bad/connect_impl.yaml:7: actors[0].ops[0].connect_service.impl: unknown client opener "
	  "implementation 'b4_port_leaky' (one of: b4_client_port_leaky, b4_client_port_correct, "
	  "crash_client_unchecked, killed_client, fd_client_leaky, fd_client_correct)" },
	{ "bad/key_sequence.yaml",
	  "bad/key_sequence.yaml:4: (top): a key must be a name, not a sequence" },
	{ "bad/key_mapping_in_op.yaml", "bad/key_mapping_in_op.yaml:10: actors[0].ops[1].offer: a "
	                                "key must be a name, not a mapping" },
	{ "bad/cluster_op_without_cluster.yaml",
	  "bad/cluster_op_without_cluster.yaml:7: actors[0].ops[0].wait_leader: wait_leader needs "
	  "a cluster (a top-level `cluster: {nodes: 3}`)" },
	{ "bad/cluster_even_nodes.yaml",
	  "bad/cluster_even_nodes.yaml:5: cluster.nodes: must be 1, 3 or 5 (got 4)" },
	{ "bad/cluster_node_id.yaml",
	  "bad/cluster_node_id.yaml:8: actors[0].ops[0].kill_node.node: node 3 is not a member "
	  "(ids 0..2)" },
	{ "bad/cluster_partition_twice.yaml",
	  "bad/cluster_partition_twice.yaml:9: actors[0].ops[0].partition.groups[1]: 1 is in "
	  "two groups (actors[0].ops[0].partition.groups[0] and this one)" },
	{ "bad/cluster_unknown_node.yaml",
	  "bad/cluster_unknown_node.yaml:9: actors[0].ops[1].restart_node.node: unknown node "
	  "'frist'" },
	{ "bad/cluster_proc.yaml",
	  "bad/cluster_proc.yaml:4: cluster: runs in mode sim or proc (mode is stress: a node's "
	  "life is a coroutine or a process, never a free thread)" },
	{ "bad/cluster_node_actor.yaml",
	  "bad/cluster_node_actor.yaml:6: actors[0].name: 'node1' is the name of a cluster "
	  "node's actor" },
};

static void
test_bad_file(void **state)
{
	const struct bad_case *c = *state;
	struct fl_scenario *s = NULL;
	char err[512];
	int rc = fl_scenario_load(c->file, &s, err, sizeof err);
	assert_fl(rc, FL_EINVAL);
	assert_null(s);
	assert_string_equal(err, c->message);
}

static void
test_smoke_values(void **state)
{
	(void)state;
	struct fl_scenario *s = NULL;
	char err[512];
	int rc = fl_scenario_load(SMOKE, &s, err, sizeof err);
	if (rc)
		fail_msg("%s", err);
	assert_string_equal(s->name, "pubsub-smoke");
	assert_int_equal(s->mode, FL_SCN_MODE_SIM);
	assert_int_equal(s->driver.kind, FL_SCN_DRIVER_EMBEDDED);
	assert_int_equal(s->driver.linger_ms, 1000);
	assert_int_equal(s->driver.term_length, 65536);
	assert_int_equal(s->actor_count, 2);
	assert_string_equal(s->actors[1].name, "subscriber");
	assert_int_equal(s->actors[1].kind, FL_SCN_ACTOR_THREAD);
	assert_string_equal(s->actors[1].client, "subscriber");
	assert_int_equal(s->actors[1].repeat, 1);
	assert_int_equal(s->actors[0].op_count, 6);
	const struct fl_scenario_op *offer = &s->actors[0].ops[2];
	assert_int_equal(offer->kind, FL_SCN_OP_OFFER);
	assert_int_equal(offer->line, 17);
	/* declared ops: values at their argument's index (interp_pubsub.c) */
	assert_int_equal(offer->u.target.ints[1] /* count */, 100);
	assert_true(offer->u.target.given & (1u << 3)); /* sizes */
	assert_int_equal(offer->u.target.ints[3] /* sizes */, 8);
	assert_int_equal(offer->u.target.his[3], 256);
	assert_string_equal(s->objects[offer->u.target.objs[0] /* pub */].name, "pub1");
	assert_int_equal(s->actors[1].ops[5].kind, FL_SCN_OP_CLOSE_CLIENT);
	assert_int_equal(s->actors[1].ops[2].u.target.deadline_ms, 5000);
	assert_int_equal(s->properties,
	                 FL_SCN_PROP_IMAGE_REFS | FL_SCN_PROP_NO_LEAKED_FILES |
	                         FL_SCN_PROP_GAUGES_ZERO | FL_SCN_PROP_NO_PENDING_REGISTRATIONS |
	                         FL_SCN_PROP_DELIVERY_IN_ORDER | FL_SCN_PROP_NO_LOSS |
	                         FL_SCN_PROP_NO_DUPLICATES | FL_SCN_PROP_NO_HEAP_GROWTH);
	assert_int_equal(s->budget_runs, 200);
	assert_true(s->budget_seconds == 30.0);
	assert_int_equal(s->scheduler, FL_SCN_SCHED_RANDOM);
	assert_false(s->sweep);
	assert_int_equal(s->warning_count, 0);
	fl_scenario_free(s);
}

static void
test_everything_values(void **state)
{
	(void)state;
	struct fl_scenario *s = NULL;
	char err[512];
	int rc = fl_scenario_load("good/everything.yaml", &s, err, sizeof err);
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(s->mode, FL_SCN_MODE_PROC);
	assert_int_equal(s->driver.kind, FL_SCN_DRIVER_PROCESS);
	assert_int_equal(s->driver.client_liveness_ms, 2000);
	assert_int_equal(s->driver.driver_timeout_ms, 3000);
	assert_int_equal(s->driver.linger_ms, 0);
	assert_int_equal(s->actor_count, 4);
	const struct fl_scenario_actor *pub = &s->actors[0], *sub = &s->actors[1];
	assert_int_equal(pub->kind, FL_SCN_ACTOR_PROCESS);
	assert_string_equal(pub->client, "shared");
	assert_int_equal(pub->line, 7);
	const struct fl_scn_op_target *a0 = &pub->ops[0].u.target;
	assert_int_equal(a0->ints[1] /* stream */, -7);
	assert_true(a0->ints[2] /* exclusive */ && a0->ints[3] /* async */);
	assert_int_equal(a0->ints[4] /* cancel_at */, 3);
	assert_int_equal(pub->ops[1].u.target.ints[4], FL_SCN_CANCEL_RANDOM);
	assert_int_equal(pub->ops[3].u.target.ints[2] /* size */, 64); /* the default */
	assert_false(pub->ops[3].u.target.given & (1u << 3));          /* no sizes */
	assert_int_equal(pub->ops[5].kind, FL_SCN_OP_REMOVE_PUBLICATION);
	assert_int_equal(pub->ops[5].u.target.ints[2] /* cancel_at */, FL_SCN_CANCEL_NONE);
	assert_int_equal(pub->ops[6].kind, FL_SCN_OP_CRASH_SELF);
	const struct fl_scn_op_target *t1 = &sub->ops[2].u.target, *t2 = &sub->ops[3].u.target;
	assert_string_equal(s->objects[t1->objs[1] /* from */].name, "p1");
	assert_int_equal(s->objects[t1->as].kind, FL_SCN_OBJ_IMAGE);
	assert_int_equal(t2->objs[1], -1);
	assert_int_equal(t2->ints[2] /* index */, 2);
	assert_int_equal(sub->ops[4].u.target.objs[0] /* img */, t1->as);
	assert_int_equal(sub->ops[8].u.wait.ms, 25);
	const struct fl_scenario_actor *srv = &s->actors[2], *cli = &s->actors[3];
	assert_int_equal(srv->repeat, 3);
	assert_int_equal(srv->ops[1].kind, FL_SCN_OP_CTX_OPEN);
	/* declared ops (interp_reqrep.c's table): objs, ints and strs at the
	 * index of each argument of the declaration */
	assert_string_equal(srv->ops[1].u.target.op->name, "ctx_open");
	assert_int_equal(srv->ops[1].u.target.objs[0] /* on */, srv->ops[0].u.target.as);
	assert_int_equal(srv->ops[2].u.target.objs[1] /* ctx */, srv->ops[1].u.target.as);
	assert_int_equal(srv->ops[3].u.target.objs[0] /* ctx */, srv->ops[1].u.target.as);
	assert_int_equal(s->objects[srv->ops[1].u.target.as].kind, FL_SCN_OBJ_CTX);
	assert_int_equal(s->objects[srv->ops[0].u.target.as].kind, FL_SCN_OBJ_SERVER);
	assert_string_equal(cli->ops[0].u.target.strs[0] /* service */, "calc");
	assert_int_equal(cli->ops[1].u.target.objs[1] /* ctx */, -1);
	assert_int_equal(cli->ops[1].u.target.ints[3] /* size */, 100);
	assert_int_equal(cli->ops[1].u.target.deadline_ms, 500);
	assert_int_equal(s->object_count, 8);

	assert_int_equal(s->fault_count, 4);
	assert_string_equal(s->faults[0].point, "transport/shm/map");
	assert_int_equal(s->faults[0].when, FL_SCN_WHEN_NTH);
	assert_int_equal(s->faults[0].n, 2);
	assert_int_equal(s->faults[0].error, 0);
	assert_int_equal(s->faults[0].actor_index, 0);
	assert_int_equal(s->faults[0].line, 43);
	assert_int_equal(s->faults[1].action, FL_SCN_FAULT_DELAY);
	assert_int_equal(s->faults[1].delay_ms, 7);
	assert_true(s->faults[1].probability == 0.25);
	assert_int_equal(s->faults[2].when, FL_SCN_WHEN_AFTER);
	assert_int_equal(s->faults[2].error, 28 /* ENOSPC */);
	assert_int_equal(s->faults[3].action, FL_SCN_FAULT_CRASH);
	assert_int_equal(s->faults[3].when, FL_SCN_WHEN_ALWAYS);
	assert_int_equal(s->warning_count, 0);
	assert_int_equal(s->properties, FL_SCN_PROP_IMAGE_REFS | FL_SCN_PROP_PORTS_ZERO |
	                                        FL_SCN_PROP_MESSAGES_FREED_ONCE);
	assert_int_equal(s->budget_runs, 0);
	assert_true(s->budget_seconds == 2.5);
	assert_int_equal(s->scheduler, FL_SCN_SCHED_PCT);
	assert_int_equal(s->sched_depth, 4);
	assert_true(s->sweep);
	fl_scenario_free(s);
}

static void
test_hash(void **state)
{
	(void)state;
	struct fl_scenario *a = NULL, *b = NULL, *c = NULL;
	char err[512];
	static const char text[] =
	        "name: h\ndescription: d\nmode: sim\nactors: [{name: a, ops: [wait: {ms: "
	        "1}]}]\n";
	assert_fl(fl_scenario_load(SMOKE, &a, err, sizeof err), 0);
	assert_fl(fl_scenario_load(SMOKE, &b, err, sizeof err), 0);
	assert_int_equal(fl_scenario_hash(a), fl_scenario_hash(b));
	assert_fl(fl_scenario_load_string("mem", text, sizeof text - 1, &c, err, sizeof err), 0);
	assert_int_not_equal(fl_scenario_hash(a), fl_scenario_hash(c));
	/* FNV-1a 64 of the exact bytes (checked with python), pinned so traces
	 * stay valid across builds. */
	assert_int_equal(fl_scenario_hash(c), 0x4bb363a0bcd72bbcull);
	assert_int_equal(c->budget_runs, FL_SCN_DEFAULT_RUNS);
	assert_int_equal(c->driver.client_liveness_ms, FL_SCN_DEFAULT_CLIENT_LIVENESS_MS);
	fl_scenario_free(a);
	fl_scenario_free(b);
	fl_scenario_free(c);
}

static void
test_missing_file(void **state)
{
	(void)state;
	struct fl_scenario *s = NULL;
	char err[512];
	assert_fl(fl_scenario_load("bad/no-such-file.yaml", &s, err, sizeof err), FL_ENOENT);
	assert_string_equal(err, "bad/no-such-file.yaml: No such file or directory");
	assert_null(s);
}

static void
test_expand_paths(void **state)
{
	(void)state;
	char **files = NULL, err[512];
	size_t n = 0;
	const char *paths[] = { "good", "bad/empty.yaml" };
	assert_fl(fl_scenario_expand_paths(paths, 2, &files, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(files[0], "good/everything.yaml");
	assert_string_equal(files[1], "bad/empty.yaml");
	assert_null(files[2]);
	fl_scenario_paths_free(files);

	const char *bad[] = { "good", "nowhere" };
	files = NULL;
	assert_fl(fl_scenario_expand_paths(bad, 2, &files, &n, err, sizeof err), FL_ENOENT);
	assert_string_equal(err, "nowhere: No such file or directory");
	assert_null(files);

	/* A directory's files come back sorted. */
	assert_fl(fl_scenario_expand_paths((const char *[]){ "bad" }, 1, &files, &n, err,
	                                   sizeof err),
	          0);
	assert_true(n >= 6);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(files[i - 1], files[i]) < 0);
	fl_scenario_paths_free(files);
}

static void
test_load_dir(void **state)
{
	(void)state;
	struct fl_scenario **list = NULL;
	size_t n = 0;
	char err[512];
	assert_fl(fl_scenario_load_dir("good", &list, &n, err, sizeof err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->name, "everything");
	fl_scenario_list_free(list, n);
	list = NULL;
	/* The first bad file (sorted) stops the load and names itself. */
	assert_fl(fl_scenario_load_dir("bad", &list, &n, err, sizeof err), FL_EINVAL);
	assert_null(list);
	assert_string_equal(err, "bad/bad_bool.yaml:6: sweep: expected true or false (got "
	                         "'maybe')"); /* sorts first */
}

/* The complete example in docs/scenario-format.md loads: the documentation cannot drift
 * from the loader. */
static void
test_format_example(void **state)
{
	(void)state;
	FILE *f = fopen("../../../docs/scenario-format.md", "r");
	assert_non_null(f);
	static char doc[32768];
	size_t n = fread(doc, 1, sizeof doc - 1, f);
	fclose(f);
	doc[n] = '\0';
	char *start = strstr(doc, "```yaml\n");
	assert_non_null(start);
	start += 8;
	char *end = strstr(start, "```");
	assert_non_null(end);
	struct fl_scenario *s = NULL;
	char err[512];
	int rc = fl_scenario_load_string("docs/scenario-format.md", start, (size_t)(end - start),
	                                 &s, err, sizeof err);
	if (rc)
		fail_msg("%s", err);
	assert_string_equal(s->name, "churn-with-faults");
	assert_int_equal(s->actor_count, 2);
	assert_int_equal(s->fault_count, 2);
	assert_int_equal(s->warning_count, 0);
	assert_int_equal(s->scheduler, FL_SCN_SCHED_PCT);
	fl_scenario_free(s);
}

/* Every file of the scenario suite loads, without warnings. */
static void
test_suite_loads(void **state)
{
	(void)state;
	struct fl_scenario **list = NULL;
	size_t n = 0;
	char err[512];
	int rc = fl_scenario_load_dir("../../../scenarios", &list, &n, err, sizeof err);
	if (rc)
		fail_msg("%s", err);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		if (list[i]->warning_count)
			fail_msg("%s", list[i]->warnings[0]);
		assert_non_null(list[i]->description);
	}
	fl_scenario_list_free(list, n);
}

/*
 * Numbers: every integer field takes a plain decimal integer and nothing
 * else (libcyaml read 1e3 as 1, 2.5 as 2, 1_000 as 1, 010 as 8, 0x10 as
 * 16), every number field a plain decimal number.  Each case is a whole
 * file; the message names the value's line and the field.
 */
#define HEAD       "name: x\ndescription: d\nmode: sim\n"
#define HEAD_PROC  "name: x\ndescription: d\nmode: proc\n" /* libc's points */
#define ACTOR      "actors:\n  - name: a\n    ops:\n"      /* lines 4-6; the first op is line 7 */
#define WAIT       "      - wait: {ms: 1}\n"
#define PUB        "      - add_publication: {channel: ipc, stream: 1, as: p}\n"
#define SUB        "      - add_subscription: {channel: ipc, stream: 1, as: s}\n"
#define FAULT      "faults:\n  - point: transport/shm/map\n" /* lines 8-9 after ACTOR WAIT */
#define FAULT_LIBC "faults:\n  - point: posix/mm/mmap\n"     /* errno: libc's points only */
#define INT_ERR(file_line, field, got)                                                             \
	"mem.yaml:" #file_line ": " field ": expected a decimal integer (got '" got "')"

/* A scenario text and the one message its load must be refused with. */
struct refusal {
	const char *text, *message;
};

static const struct refusal number_cases[] = {
	{ HEAD "driver: {term_length: 0x10000}\n" ACTOR WAIT,
	  INT_ERR(4, "driver.term_length", "0x10000") },
	{ HEAD "driver: {client_liveness_ms: 1e3}\n" ACTOR WAIT,
	  INT_ERR(4, "driver.client_liveness_ms", "1e3") },
	{ HEAD "driver: {driver_timeout_ms: 2.5}\n" ACTOR WAIT,
	  INT_ERR(4, "driver.driver_timeout_ms", "2.5") },
	{ HEAD "driver: {linger_ms: 010}\n" ACTOR WAIT, INT_ERR(4, "driver.linger_ms", "010") },
	{ HEAD "driver: {ports: 1_0}\n" ACTOR WAIT, INT_ERR(4, "driver.ports", "1_0") },
	{ HEAD "actors:\n  - name: a\n    repeat: 1e3\n    ops:\n" WAIT,
	  INT_ERR(6, "actors[0].repeat", "1e3") },
	{ HEAD ACTOR "      - add_publication: {channel: ipc, stream: 0x10, as: p}\n",
	  INT_ERR(7, "actors[0].ops[0].add_publication.stream", "0x10") },
	{ HEAD ACTOR
	  "      - add_subscription: {channel: ipc, stream: 1, async: true, cancel_at: 03, "
	  "as: s}\n",
	  "mem.yaml:7: actors[0].ops[0].add_subscription.cancel_at: expected a decimal integer "
	  "(got '03')" },
	{ HEAD ACTOR
	  "      - add_subscription: {channel: ipc, stream: 1, async: true, cancel_at: soon, "
	  "as: s}\n",
	  "mem.yaml:7: actors[0].ops[0].add_subscription.cancel_at: expected an integer between 0 "
	  "and 1000000 or one of: random, none (got 'soon')" },
	{ HEAD ACTOR "      - add_subscription: {channel: ipc, stream: 1, cancel_at: 2, as: s}\n",
	  "mem.yaml:7: actors[0].ops[0].add_subscription.cancel_at: needs async: true" },
	{ HEAD ACTOR "      - add_subscription: {channel: '', stream: 1, as: s}\n",
	  "mem.yaml:7: actors[0].ops[0].add_subscription.channel: must not be empty" },
	{ HEAD ACTOR "      - add_subscription: {channel: , stream: 1, as: s}\n",
	  "mem.yaml:7: actors[0].ops[0].add_subscription.channel: must not be empty" },
	{ HEAD ACTOR "      - add_subscription: {channel: ipc, stream: 1, async: True, "
	             "cancel_at: [random, x], as: s}\n",
	  "mem.yaml:7: actors[0].ops[0].add_subscription.cancel_at: item 1: expected a decimal "
	  "integer or one of its words" },
	{ HEAD ACTOR
	  "      - add_subscription: {channel: ipc, stream: 1, exclusive: true, as: s}\n",
	  "mem.yaml:7: actors[0].ops[0].add_subscription.exclusive: unknown key (op "
	  "add_subscription takes channel, stream, async, cancel_at, batch, batch_delay_us, as, "
	  "expect)" },
	{ HEAD ACTOR PUB "      - offer: {pub: p, count: 1, size: 8, sizes: [1, 9]}\n",
	  "mem.yaml:8: actors[0].ops[1].offer: give size or sizes, not both" },
	{ HEAD ACTOR PUB "      - offer: {pub: p, count: 1, sizes: [9, 1]}\n",
	  "mem.yaml:8: actors[0].ops[1].offer.sizes: must be [min, max] with 0 <= min <= max <= "
	  "16777216" },
	{ HEAD ACTOR PUB "      - offer: {pub: p, count: 1e3}\n",
	  INT_ERR(8, "actors[0].ops[1].offer.count", "1e3") },
	{ HEAD ACTOR PUB "      - offer: {pub: p, count: 1, size: 2.5}\n",
	  INT_ERR(8, "actors[0].ops[1].offer.size", "2.5") },
	{ HEAD ACTOR PUB "      - offer: {pub: p, count: 1, sizes: [8, 1e3]}\n",
	  INT_ERR(8, "actors[0].ops[1].offer.sizes[1]", "1e3") },
	{ HEAD ACTOR SUB "      - poll: {sub: s, until: 1_000}\n",
	  INT_ERR(8, "actors[0].ops[1].poll.until", "1_000") },
	{ HEAD ACTOR SUB "      - poll: {sub: s, until: 1, deadline_ms: 0x10}\n",
	  INT_ERR(8, "actors[0].ops[1].poll.deadline_ms", "0x10") },
	{ HEAD ACTOR SUB "      - take_image: {sub: s, index: 010, as: i}\n",
	  INT_ERR(8, "actors[0].ops[1].take_image.index", "010") },
	{ HEAD ACTOR "      - wait: {ms: 2.5}\n", INT_ERR(7, "actors[0].ops[0].wait.ms", "2.5") },
	{ HEAD ACTOR "      - connect_service: {service: s, as: c}\n"
	             "      - request: {conn: c, count: 1:30}\n",
	  INT_ERR(8, "actors[0].ops[1].request.count", "1:30") },
	{ HEAD ACTOR "      - connect_service: {service: s, as: c}\n"
	             "      - request: {conn: c, count: 1, size: 1e3}\n",
	  INT_ERR(8, "actors[0].ops[1].request.size", "1e3") },
	{ HEAD ACTOR "      - connect_service: {service: s, as: c}\n"
	             "      - request: {conn: c, count: 1, deadline_ms: 5.0}\n",
	  INT_ERR(8, "actors[0].ops[1].request.deadline_ms", "5.0") },
	{ HEAD ACTOR "      - offer_service: {service: s, as: v}\n"
	             "      - respond: {server: v, count: 0x2}\n",
	  INT_ERR(8, "actors[0].ops[1].respond.count", "0x2") },
	{ HEAD ACTOR WAIT FAULT "    action: error\n    when: {nth: 1e3}\n",
	  INT_ERR(11, "faults[0].when.nth", "1e3") },
	{ HEAD ACTOR WAIT FAULT "    action: error\n    when: {after: 0x10}\n",
	  INT_ERR(11, "faults[0].when.after", "0x10") },
	{ HEAD ACTOR WAIT FAULT "    action: delay\n    delay_ms: 1e3\n",
	  INT_ERR(11, "faults[0].delay_ms", "1e3") },
	{ HEAD_PROC ACTOR WAIT FAULT_LIBC "    action: error\n    errno: 010\n",
	  "mem.yaml:11: faults[0].errno: unknown errno '010'" },
	{ HEAD ACTOR WAIT FAULT "    action: error\n    when: {probability: 0.5abc}\n",
	  "mem.yaml:11: faults[0].when.probability: expected a decimal number (got '0.5abc')" },
	{ HEAD ACTOR WAIT FAULT "    action: error\n    when: {probability: 1_0}\n",
	  "mem.yaml:11: faults[0].when.probability: expected a decimal number (got '1_0')" },
	{ HEAD ACTOR WAIT "budget: {runs: 1e3}\n", INT_ERR(8, "budget.runs", "1e3") },
	{ HEAD ACTOR WAIT "budget: {seconds: 2.5s}\n",
	  "mem.yaml:8: budget.seconds: expected a decimal number (got '2.5s')" },
	{ HEAD ACTOR WAIT "budget: {seconds: 0x10}\n",
	  "mem.yaml:8: budget.seconds: expected a decimal number (got '0x10')" },
	{ HEAD ACTOR WAIT "scheduler: {kind: pct, depth: 1_0}\n",
	  INT_ERR(8, "scheduler.depth", "1_0") },
	/* Beyond int64_t is out of range, not a wrapped or clamped value. */
	{ HEAD ACTOR WAIT "budget: {runs: 99999999999999999999}\n",
	  "mem.yaml:8: budget.runs: must be between 1 and 9223372036854775807 (got "
	  "99999999999999999999)" },
	/* Negative where not allowed (these were errors before too). */
	{ HEAD ACTOR "      - wait: {ms: -1}\n",
	  "mem.yaml:7: actors[0].ops[0].wait.ms: must be between 0 and 86400000 (got -1)" },
	{ HEAD ACTOR WAIT FAULT "    action: error\n    when: {nth: -1}\n",
	  "mem.yaml:11: faults[0].when.nth: must be >= 1 (got -1)" },
	{ HEAD ACTOR "      - wait: {ms: [1]}\n",
	  "mem.yaml:7: actors[0].ops[0].wait.ms: expected a number, not a sequence" },
};

/* Whether text, loaded as mem.yaml, is refused with FL_EINVAL and exactly
 * message; when not, prints case i's code and message and returns false. */
static bool
refused_with(size_t i, const char *text, const char *message)
{
	struct fl_scenario *s = NULL;
	char err[512] = "";
	int rc = fl_scenario_load_string("mem.yaml", text, strlen(text), &s, err, sizeof err);
	fl_scenario_free(s);
	if (rc == FL_EINVAL && strcmp(err, message) == 0)
		return true;
	print_error("case %zu: rc %s, message\n  '%s'\nwanted\n  '%s'\n", i, fl_errname(rc), err,
	            message);
	return false;
}

/* Every case of cases[n] refused_with its message; fails the test naming
 * how many were not (each printed above). */
static void
assert_refused(const struct refusal *cases, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		if (!refused_with(i, cases[i].text, cases[i].message))
			bad++;
	if (bad > 0)
		fail_msg("%d of %zu cases not refused as wanted (above)", bad, n);
}

static void
test_numbers_rejected(void **state)
{
	(void)state;
	assert_refused(number_cases, sizeof number_cases / sizeof number_cases[0]);
}

/* A declared op's booleans in any case, as every other boolean; a
 * named integer's default said aloud needs nothing; its words in a list
 * to draw from. */
static void
test_declared_words(void **state)
{
	(void)state;
	static const char text[] = HEAD ACTOR
	        "      - add_publication: {channel: ipc, stream: 1, exclusive: True, async: YES, "
	        "cancel_at: 2, as: p}\n"
	        "      - add_subscription: {channel: ipc, stream: 1, cancel_at: none, as: s}\n"
	        "      - add_subscription: {channel: ipc, stream: 2, async: On, "
	        "cancel_at: [random, 3], as: s2}\n";
	struct fl_scenario *s = NULL;
	char err[512];

	if (fl_scenario_load_string("mem.yaml", text, sizeof text - 1, &s, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(s->actors[0].ops[0].u.target.ints[2] /* exclusive */, 1);
	assert_int_equal(s->actors[0].ops[0].u.target.ints[3] /* async */, 1);
	assert_int_equal(s->actors[0].ops[1].u.target.ints[3] /* cancel_at */, FL_SCN_CANCEL_NONE);
	assert_int_equal(s->actors[0].ops[2].u.target.ints[2] /* async */, 1);
	assert_int_equal(s->actors[0].ops[2].u.target.draws[3].n, 2);
	assert_int_equal(s->actors[0].ops[2].u.target.draws[3].values[0], FL_SCN_CANCEL_RANDOM);
	assert_int_equal(s->actors[0].ops[2].u.target.draws[3].values[1], 3);
	fl_scenario_free(s);
}

/* The cluster's ops, declared as a target's are (interp_cluster.c and
 * interp_client.c): a node by id, `leader` or name, groups packed a
 * member a nibble, `as:` left out, words only, and a boolean at its
 * default beside the one it excludes. */
#define CLUSTER_HEAD HEAD "cluster: {nodes: 5}\n" ACTOR /* the first op is line 8 */
static void
test_cluster_args(void **state)
{
	(void)state;
	static const char text[] = CLUSTER_HEAD
	        "      - wait_leader: {as: first}\n"
	        "      - kill_node: {node: leader}\n"
	        "      - kill_node: {node: [0, 4, leader], as: k}\n"
	        "      - restart_node: {node: k}\n"
	        "      - partition: {groups: [[0, 3], [1, 2]]}\n"
	        "      - partition: {isolate: first}\n"
	        "      - kv: {count: 3, read: local}\n"
	        "      - cluster_connect: {as: c, async: true, cancel_at: send_connect, "
	        "member: round_robin}\n"
	        "      - cluster_poll: {client: c, until: closed}\n"
	        "      - cluster_close: {client: c, flag: false, from_actor: true}\n";
	struct fl_scenario *s = NULL;
	char err[512];

	if (fl_scenario_load_string("mem.yaml", text, sizeof text - 1, &s, err, sizeof err))
		fail_msg("%s", err);
	const struct fl_scenario_op *ops = s->actors[0].ops;
	fl_scn_ref first = ops[0].u.target.as, k = ops[2].u.target.as;
	assert_string_equal(s->objects[first].name, "first");
	assert_int_equal(s->objects[first].kind, FL_SCN_OBJ_NODE);
	assert_int_equal(ops[1].u.target.as, -1); /* as: left out */
	assert_int_equal(ops[1].u.target.ints[0], FL_SCN_NODE_LEADER);
	assert_int_equal(ops[1].u.target.objs[0], -1);
	assert_int_equal(ops[2].u.target.draws[0].n, 3);
	assert_int_equal(ops[2].u.target.draws[0].values[2], FL_SCN_NODE_LEADER);
	assert_int_equal(ops[3].u.target.objs[0], k); /* restart_node: {node: k} */
	/* groups: member m's group in bits 4m */
	assert_int_equal(ops[4].u.target.ints[0], 0x1221); /* 0 and 3 in 1, 1 and 2 in 2 */
	assert_false(ops[4].u.target.given & 2u);
	assert_true(ops[5].u.target.given & 2u);
	assert_int_equal(ops[5].u.target.objs[1], first);
	assert_int_equal(ops[6].u.target.ints[2] /* read */, FL_SCN_KV_READ_LOCAL);
	assert_int_equal(ops[7].u.target.ints[2] /* cancel_at */, 3 /* send_connect */);
	assert_int_equal(ops[7].u.target.ints[3] /* member */, -1);
	assert_int_equal(ops[8].u.target.ints[1] /* until */, FL_SCN_UNTIL_CLOSED);
	assert_int_equal(ops[9].u.target.ints[1] /* from_actor */, 1);
	fl_scenario_free(s);
}

static const struct refusal cluster_cases[] = {
	{ CLUSTER_HEAD "      - kill_node: {node: [0, 5]}\n",
	  "mem.yaml:8: actors[0].ops[0].kill_node.node: node 5 is not a member (ids 0..4)" },
	{ CLUSTER_HEAD "      - partition: {}\n",
	  "mem.yaml:8: actors[0].ops[0].partition: give groups (e.g. [[0], [1, 2]]) or isolate" },
	{ CLUSTER_HEAD "      - partition: {groups: [[0], [1, 6]]}\n",
	  "mem.yaml:8: actors[0].ops[0].partition.groups: node 6 is not a member (ids 0..4)" },
	{ CLUSTER_HEAD "      - partition: {groups: [[0], 1]}\n",
	  "mem.yaml:8: actors[0].ops[0].partition.groups[1]: a group is a list of members, e.g. "
	  "[1, 2]" },
	{ CLUSTER_HEAD "      - partition: {groups: [[0, 1], [2]], isolate: 3}\n",
	  "mem.yaml:8: actors[0].ops[0].partition: give isolate or groups, not both" },
	{ CLUSTER_HEAD "      - kv: {count: 1, read: 0}\n",
	  "mem.yaml:8: actors[0].ops[0].kv.read: expected one of: log, local (got '0')" },
	{ CLUSTER_HEAD "      - kv: {count: 1, read: [log, 1]}\n",
	  "mem.yaml:8: actors[0].ops[0].kv.read: item 1: expected one of: log, local (got '1')" },
	{ CLUSTER_HEAD "      - restart_node: {node: 1, as: n}\n",
	  "mem.yaml:8: actors[0].ops[0].restart_node.as: unknown key (op restart_node takes node, "
	  "expect)" },
	{ CLUSTER_HEAD "      - cluster_connect: {as: c, impl: b2_connect_correct, async: true}\n",
	  "mem.yaml:8: actors[0].ops[0].cluster_connect: give async or impl, not both" },
	{ CLUSTER_HEAD "      - cluster_connect: {as: c, member: 5}\n",
	  "mem.yaml:8: actors[0].ops[0].cluster_connect.member: node 5 is not a member (ids "
	  "0..4)" },
	{ HEAD ACTOR "      - heal: {}\n",
	  "mem.yaml:7: actors[0].ops[0].heal: heal needs a cluster (a top-level `cluster: {nodes: "
	  "3}`)" },
};

static void
test_cluster_refused(void **state)
{
	(void)state;
	assert_refused(cluster_cases, sizeof cluster_cases / sizeof cluster_cases[0]);
}

/* A target's integer argument with a kind, written as an object's
 * name, counts as given: its `requires` holds it too (the name is
 * resolved only once every object is known). */
static int
named_nop(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)a;
	if (created != NULL)
		*created = &named_nop;
	return 0;
}

static void
named_close(void *state, void *obj)
{
	(void)state;
	(void)obj;
}

static void
test_named_int_requires(void **state)
{
	static const struct fl_target_kind kinds[] = { { .name = "thing", .close = named_close },
		                                       { NULL } };
	static const struct fl_target_arg use_args[] = {
		{ .name = "which",
		  .type = FL_TARGET_INT,
		  .max = 9,
		  .kind = "thing",
		  .requires = "flag" },
		{ .name = "flag", .type = FL_TARGET_BOOL },
		{ NULL },
	};
	static const struct fl_target_op ops[] = {
		{ .name = "named_mk", .creates = "thing", .fn = named_nop },
		{ .name = "named_use", .args = use_args, .fn = named_nop },
		{ NULL },
	};
	static const struct fl_target t = { .abi = FL_TARGET_ABI,
		                            .name = "named",
		                            .ops = ops,
		                            .kinds = kinds };
	static const char bad[] = HEAD ACTOR "      - named_mk: {as: x}\n"
	                                     "      - named_use: {which: x}\n";
	static const char good[] = HEAD ACTOR "      - named_mk: {as: x}\n"
	                                      "      - named_use: {which: x, flag: true}\n";
	struct fl_scenario *s = NULL;
	char err[512];

	(void)state;
	assert_fl(fl_target_register(&t, err, sizeof err), 0);
	assert_fl(fl_scenario_load_string("mem.yaml", bad, sizeof bad - 1, &s, err, sizeof err),
	          FL_EINVAL);
	assert_string_equal(err, "mem.yaml:8: actors[0].ops[1].named_use.which: needs flag: true");
	if (fl_scenario_load_string("mem.yaml", good, sizeof good - 1, &s, err, sizeof err))
		fail_msg("%s", err);
	assert_true(s->actors[0].ops[1].u.target.named & 1u);
	assert_int_equal(s->actors[0].ops[1].u.target.objs[0], s->actors[0].ops[0].u.target.as);
	fl_scenario_free(s);
}

/* The plain forms still load, signs and quotes included. */
static void
test_numbers_accepted(void **state)
{
	(void)state;
	static const char text[] =
	        HEAD_PROC "driver: {linger_ms: 0, term_length: 131072}\n" ACTOR
	                  "      - add_publication: {channel: ipc, stream: -7, as: p}\n"
	                  "      - offer: {pub: p, count: +5, sizes: [0, \"16\"]}\n" FAULT_LIBC
	                  "    action: error\n    when: {probability: .5}\n    errno: 28\n"
	                  "budget: {runs: 10, seconds: 1e1}\n";
	struct fl_scenario *s = NULL;
	char err[512];
	if (fl_scenario_load_string("mem.yaml", text, sizeof text - 1, &s, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(s->driver.linger_ms, 0);
	assert_int_equal(s->driver.term_length, 131072);
	assert_int_equal(s->actors[0].ops[0].u.target.ints[1] /* stream */, -7);
	assert_int_equal(s->actors[0].ops[1].u.target.ints[1] /* count */, 5);
	assert_int_equal(s->actors[0].ops[1].u.target.ints[3] /* sizes */, 0);
	assert_int_equal(s->actors[0].ops[1].u.target.his[3], 16);
	assert_true(s->faults[0].probability == 0.5);
	assert_int_equal(s->faults[0].error, 28);
	assert_int_equal(s->budget_runs, 10);
	assert_true(s->budget_seconds == 10.0);
	fl_scenario_free(s);
}

/* expect: on every op that can fail: an FL_E* name or any. */
static void
test_expect(void **state)
{
	(void)state;
	static const char text[] =
	        HEAD ACTOR PUB SUB "      - poll: {sub: s, until: 1, deadline_ms: 5, expect: "
	                           "FL_ETIMEDOUT|FL_ECLOSED}\n"
	                           "      - take_image: {sub: s, from: p, as: i, expect: any}\n"
	                           "      - barrier: {name: b, expect: FL_ETIMEDOUT}\n"
	                           "      - close_client: {expect: any}\n"
	                           "      - wait: {ms: 1}\n"
	                           "  - name: z\n    ops:\n      - barrier: {name: b}\n";
	static const struct refusal bad[] = {
		{ HEAD ACTOR "      - wait: {ms: 1, expect: any}\n",
		  "mem.yaml:7: actors[0].ops[0].wait.expect: unknown key" },
		{ HEAD ACTOR PUB "      - offer: {pub: p, count: 1, expect: ETIMEDOUT}\n",
		  "mem.yaml:8: actors[0].ops[1].offer.expect: unknown error code 'ETIMEDOUT' "
		  "(expected "
		  "FL_E* names joined by '|', e.g. FL_ETIMEDOUT|FL_ECRASHED, or any)" },
		{ HEAD ACTOR PUB "      - offer: {pub: p, count: 1, expect: FL_ETIMEDOUT|}\n",
		  "mem.yaml:8: actors[0].ops[1].offer.expect: unknown error code '' (expected "
		  "FL_E* names joined by '|', e.g. FL_ETIMEDOUT|FL_ECRASHED, or any)" },
		{ HEAD ACTOR "      - offer_service: {service: e, as: s, expect: any}\n",
		  "mem.yaml:7: actors[0].ops[0].offer_service: expect: on offer_service names the "
		  "one code it must fail with (e.g. FL_ENO_PORTS)" },
		/* read as none, a list would let an open that must fail succeed */
		{ HEAD ACTOR "      - offer_service: {service: e, as: s, expect: [FL_ENO_PORTS]}\n",
		  "mem.yaml:7: actors[0].ops[0].offer_service.expect: expected FL_E* names joined "
		  "by '|' (e.g. FL_ETIMEDOUT|FL_ECRASHED) or any, not a list or mapping" },
		{ HEAD ACTOR
		  "      - offer_service: {service: e, as: s, expect: {a: FL_ENO_PORTS}}\n",
		  "mem.yaml:7: actors[0].ops[0].offer_service.expect: expected FL_E* names joined "
		  "by '|' (e.g. FL_ETIMEDOUT|FL_ECRASHED) or any, not a list or mapping" },
		/* a declared op's key given twice: neither value silently wins */
		{ HEAD ACTOR "      - connect_service: {service: e, as: c}\n"
		             "      - request: {conn: c, count: 2, count: 3}\n",
		  "mem.yaml:8: actors[0].ops[1].request.count: given twice (first at line 8)" },
		{ HEAD ACTOR "      - ctx_close: [c]\n",
		  "mem.yaml:7: actors[0].ops[0].ctx_close: expected a mapping of arguments" },
	};
	struct fl_scenario *s = NULL;
	char err[512];
	if (fl_scenario_load_string("mem.yaml", text, sizeof text - 1, &s, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(s->actors[0].ops[0].expect, 0);
	assert_true(s->actors[0].ops[2].expect ==
	            (FL_SCN_EXPECT_BIT(FL_ETIMEDOUT) | FL_SCN_EXPECT_BIT(FL_ECLOSED)));
	assert_true(s->actors[0].ops[3].expect == FL_SCN_EXPECT_ANY);
	assert_true(s->actors[0].ops[4].expect == FL_SCN_EXPECT_BIT(FL_ETIMEDOUT));
	assert_true(s->actors[0].ops[5].expect == FL_SCN_EXPECT_ANY);
	assert_int_equal(s->actors[0].ops[6].expect, 0);
	fl_scenario_free(s);
	assert_refused(bad, sizeof bad / sizeof bad[0]);
}

/* A fault point that is not registered is a load error, with the nearest
 * name when it looks like a typo (it used to load with a warning, and then
 * every run failed with harness: FL_EINVAL). */
static void
test_unknown_point(void **state)
{
	(void)state;
	static const struct refusal cases[] = {
		{ HEAD ACTOR WAIT "faults:\n  - point: transport/shm/mpa\n    action: error\n",
		  "mem.yaml:9: faults[0].point: unknown fault point 'transport/shm/mpa' (did you "
		  "mean "
		  "transport/shm/map?)" },
		{ HEAD ACTOR WAIT "faults:\n  - point: transport/zzz/qqqqq\n    action: error\n",
		  "mem.yaml:9: faults[0].point: unknown fault point 'transport/zzz/qqqqq' (not in "
		  "this "
		  "build's registry: `faultline list --points` prints them)" },
		{ HEAD ACTOR WAIT "faults:\n  - point: transport/nothing/*\n    action: error\n",
		  "mem.yaml:9: faults[0].point: unknown fault point 'transport/nothing/*' (not in "
		  "this "
		  "build's registry: `faultline list --points` prints them)" },
	};
	assert_refused(cases, sizeof cases / sizeof cases[0]);
}

/* No `properties:` key: the leak and balance properties that fit the
 * operations (a scenario that checks nothing would pass a known leak);
 * an empty list is refused. */
static void
test_default_properties(void **state)
{
	(void)state;
	static const char pubsub[] = HEAD ACTOR PUB SUB;
	static const char reqrep[] = HEAD ACTOR "      - offer_service: {service: e, as: srv}\n"
	                                        "      - ctx_open: {on: srv, as: c}\n";
	static const char empty[] = HEAD ACTOR WAIT "properties: []\n";
	struct fl_scenario *s = NULL;
	char err[512] = "";

	if (fl_scenario_load_string("mem.yaml", pubsub, sizeof pubsub - 1, &s, err, sizeof err))
		fail_msg("%s", err);
	assert_true(s->properties_default);
	assert_int_equal(s->properties,
	                 FL_SCN_PROP_NO_LEAKED_FILES | FL_SCN_PROP_NO_UNEXPECTED_SIGNAL |
	                         FL_SCN_PROP_IMAGE_REFS | FL_SCN_PROP_GAUGES_ZERO |
	                         FL_SCN_PROP_NO_PENDING_REGISTRATIONS | FL_SCN_PROP_NO_HEAP_GROWTH);
	fl_scenario_free(s);
	s = NULL;
	if (fl_scenario_load_string("mem.yaml", reqrep, sizeof reqrep - 1, &s, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(s->properties,
	                 FL_SCN_PROP_NO_LEAKED_FILES | FL_SCN_PROP_NO_UNEXPECTED_SIGNAL |
	                         FL_SCN_PROP_CHUNKS_BALANCED | FL_SCN_PROP_PORTS_ZERO |
	                         FL_SCN_PROP_MESSAGES_FREED_ONCE | FL_SCN_PROP_NO_LATE_COMPLETIONS |
	                         FL_SCN_PROP_NO_HEAP_GROWTH);
	fl_scenario_free(s);
	s = NULL;
	assert_fl(fl_scenario_load_string("mem.yaml", empty, sizeof empty - 1, &s, err, sizeof err),
	          FL_EINVAL);
	assert_string_equal(err,
	                    "mem.yaml:8: properties: an empty list checks nothing (leave the key "
	                    "out for the defaults that fit the operations)");
	fl_scenario_free(s);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(fl_scenario_op_name(FL_SCN_OP_TAKE_IMAGE), "take_image");
	assert_string_equal(fl_scenario_op_name(FL_SCN_OP__COUNT), "?");
	assert_string_equal(fl_scenario_property_name(FL_SCN_PROP_NO_LOSS), "no_loss");
	assert_null(fl_scenario_property_name(3));
}

int
main(void)
{
	enum { NBAD = sizeof bad_cases / sizeof bad_cases[0] };
	struct CMUnitTest tests[NBAD + 18];
	size_t n = 0;

	if (fl_fixtures_register() != 0)
		return 1;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_smoke_values);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_everything_values);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_hash);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_missing_file);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_expand_paths);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_load_dir);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_format_example);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_suite_loads);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_numbers_rejected);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_numbers_accepted);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_declared_words);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cluster_args);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cluster_refused);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_named_int_requires);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_expect);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_unknown_point);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_default_properties);
	for (size_t i = 0; i < NBAD; i++)
		tests[n++] = (struct CMUnitTest){ .name = bad_cases[i].file,
			                          .test_func = test_bad_file,
			                          .initial_state = (void *)&bad_cases[i] };
	return _cmocka_run_group_tests("scenario", tests, n, NULL, NULL);
}
