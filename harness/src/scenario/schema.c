/*
 * The libcyaml schema of scenario files (see docs/scenario-format.md for the format and
 * schema.h for why every field is optional here).
 */
#include "schema.h"

#define OPT          CYAML_FLAG_OPTIONAL
#define OPT_PTR      (CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER)
#define OPT_NULLABLE (CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER_NULL)
#define STR(key, type, member)                                                                     \
	CYAML_FIELD_STRING_PTR(key, OPT_PTR, type, member, 0, CYAML_UNLIMITED)
/* Every op that can fail takes `expect:` (an FL_E* name or any). */
#define EXPECT(type) STR("expect", type, expect)
/* A number: read as text, parsed by fields.c (which says why). */
#define NUM(key, type, member)                                                                     \
	CYAML_FIELD_STRING_PTR(key, OPT_PTR, type, member, 0, FL_SCHEMA_NUM_MAX)

static const cyaml_schema_field_t barrier_fields[] = { STR("name", struct fli_raw_name, name),
	                                               EXPECT(struct fli_raw_name),
	                                               CYAML_FIELD_END };

static const cyaml_schema_field_t empty_fields[] = { CYAML_FIELD_END };

static const cyaml_schema_field_t close_client_fields[] = { EXPECT(struct fli_raw_empty),
	                                                    CYAML_FIELD_END };

static const cyaml_schema_field_t wait_fields[] = { NUM("ms", struct fli_raw_wait, ms),
	                                            CYAML_FIELD_END };

#define OP(member, fields)                                                                         \
	CYAML_FIELD_MAPPING_PTR(#member, OPT_NULLABLE, struct fli_raw_op, member, fields)

/* An op declared as a target's is (the pub/sub, request/response and
 * cluster domains', interp_pubsub.c, interp_reqrep.c, interp_cluster.c
 * and interp_client.c), and a target's own (its
 * key rewritten by loader.c), is read from the document (ops.c), not
 * from a raw form here. */
#define DECLARED(name) CYAML_FIELD_IGNORE(name, OPT)

static const cyaml_schema_field_t op_fields[] = { DECLARED("add_publication"),
	                                          DECLARED("remove_publication"),
	                                          DECLARED("add_subscription"),
	                                          DECLARED("remove_subscription"),
	                                          DECLARED("offer"),
	                                          DECLARED("poll"),
	                                          DECLARED("take_image"),
	                                          DECLARED("release_image"),
	                                          DECLARED("lookup_image"),
	                                          OP(close_client, close_client_fields),
	                                          OP(wait, wait_fields),
	                                          OP(barrier, barrier_fields),
	                                          OP(crash_self, empty_fields),
	                                          DECLARED("offer_service"),
	                                          DECLARED("connect_service"),
	                                          DECLARED("request"),
	                                          DECLARED("respond"),
	                                          DECLARED("ctx_open"),
	                                          DECLARED("ctx_close"),
	                                          DECLARED("kill_node"),
	                                          DECLARED("restart_node"),
	                                          DECLARED("partition"),
	                                          DECLARED("heal"),
	                                          DECLARED("wait_leader"),
	                                          DECLARED("put"),
	                                          DECLARED("kv"),
	                                          DECLARED("cluster_connect"),
	                                          DECLARED("cluster_close"),
	                                          DECLARED("cluster_put"),
	                                          DECLARED("cluster_get"),
	                                          DECLARED("cluster_cas"),
	                                          DECLARED("cluster_append"),
	                                          DECLARED("cluster_poll"),
	                                          DECLARED(TARGET_OP_KEY),
	                                          CYAML_FIELD_END };

static const cyaml_schema_value_t op_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct fli_raw_op, op_fields),
};

static const cyaml_schema_field_t actor_fields[] = {
	STR("name", struct fli_raw_actor, name),
	STR("kind", struct fli_raw_actor, kind),
	STR("client", struct fli_raw_actor, client),
	NUM("repeat", struct fli_raw_actor, repeat),
	CYAML_FIELD_SEQUENCE("ops", OPT_PTR, struct fli_raw_actor, ops, &op_entry, 0,
	                     CYAML_UNLIMITED),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t actor_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct fli_raw_actor, actor_fields),
};

static const cyaml_schema_field_t when_fields[] = {
	NUM("nth", struct fli_raw_when, nth), NUM("after", struct fli_raw_when, after),
	NUM("probability", struct fli_raw_when, probability), CYAML_FIELD_END
};

static const cyaml_schema_field_t fault_fields[] = {
	STR("point", struct fli_raw_fault, point),
	STR("action", struct fli_raw_fault, action),
	CYAML_FIELD_MAPPING_PTR("when", OPT_NULLABLE, struct fli_raw_fault, when, when_fields),
	STR("errno", struct fli_raw_fault, errno_name),
	STR("code", struct fli_raw_fault, code),
	NUM("delay_ms", struct fli_raw_fault, delay_ms),
	STR("actor", struct fli_raw_fault, actor),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t fault_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct fli_raw_fault, fault_fields),
};

static const cyaml_schema_field_t driver_fields[] = {
	STR("kind", struct fli_raw_driver, kind),
	NUM("client_liveness_ms", struct fli_raw_driver, client_liveness_ms),
	NUM("driver_timeout_ms", struct fli_raw_driver, driver_timeout_ms),
	NUM("linger_ms", struct fli_raw_driver, linger_ms),
	NUM("term_length", struct fli_raw_driver, term_length),
	STR("chunks", struct fli_raw_driver, chunks),
	NUM("ports", struct fli_raw_driver, ports),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t cluster_fields[] = {
	NUM("nodes", struct fli_raw_cluster, nodes),
	NUM("election_timeout_ms", struct fli_raw_cluster, election_timeout_ms),
	NUM("heartbeat_ms", struct fli_raw_cluster, heartbeat_ms),
	NUM("session_timeout_ms", struct fli_raw_cluster, session_timeout_ms),
	NUM("liveness_ms", struct fli_raw_cluster, liveness_ms),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t budget_fields[] = {
	NUM("runs", struct fli_raw_budget, runs), NUM("seconds", struct fli_raw_budget, seconds),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t sched_fields[] = { STR("kind", struct fli_raw_sched, kind),
	                                             NUM("depth", struct fli_raw_sched, depth),
	                                             CYAML_FIELD_END };

static const cyaml_schema_value_t string_entry = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t scenario_fields[] = {
	STR("name", struct fli_raw_scenario, name),
	STR("description", struct fli_raw_scenario, description),
	STR("mode", struct fli_raw_scenario, mode),
	CYAML_FIELD_MAPPING_PTR("driver", OPT_NULLABLE, struct fli_raw_scenario, driver,
	                        driver_fields),
	CYAML_FIELD_MAPPING_PTR("cluster", OPT_NULLABLE, struct fli_raw_scenario, cluster,
	                        cluster_fields),
	CYAML_FIELD_SEQUENCE("actors", OPT_PTR, struct fli_raw_scenario, actors, &actor_entry, 0,
	                     CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("faults", OPT_PTR, struct fli_raw_scenario, faults, &fault_entry, 0,
	                     CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("properties", OPT_PTR, struct fli_raw_scenario, properties,
	                     &string_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_MAPPING_PTR("budget", OPT_NULLABLE, struct fli_raw_scenario, budget,
	                        budget_fields),
	CYAML_FIELD_MAPPING_PTR("scheduler", OPT_NULLABLE, struct fli_raw_scenario, scheduler,
	                        sched_fields),
	CYAML_FIELD_BOOL("sweep", OPT, struct fli_raw_scenario, sweep),
	STR("target", struct fli_raw_scenario, target),
	CYAML_FIELD_END
};

const cyaml_schema_value_t fli_scenario_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct fli_raw_scenario, scenario_fields),
};
