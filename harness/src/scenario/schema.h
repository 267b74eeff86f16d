/*
 * The libcyaml schema of a scenario file and the raw structures libcyaml
 * fills.  Private to harness/src/scenario: loader.c converts the raw tree
 * into struct fl_scenario and checks what a schema cannot (references,
 * ranges, required fields with their lines).
 *
 * Every field is optional to libcyaml; required fields are checked by the
 * loader, which knows their source lines.  Numbers are strings here: the
 * loader reads them itself (fields.c says why).
 */
#ifndef FL_SCENARIO_SCHEMA_H
#define FL_SCENARIO_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include <cyaml/cyaml.h>

struct fli_raw_name {
	char *name;   /* barrier.name */
	char *expect; /* an FL_E* name or any: an error this op may end with */
};

struct fli_raw_wait {
	char *ms;
};

struct fli_raw_empty {
	char *expect; /* close_client's; crash_self takes no key */
};

/* One operation: exactly one member is set (the loader checks the key
 * count in the document; the member may be NULL for `close_client:`). */
struct fli_raw_op {
	struct fli_raw_empty *close_client;
	struct fli_raw_wait *wait;
	struct fli_raw_name *barrier;
	struct fli_raw_empty *crash_self;
	struct fli_raw_empty *target_op; /* never set: a target op's mapping is read from
	                                    the document (its key is rewritten for libcyaml) */
};

struct fli_raw_actor {
	char *name;
	char *kind;
	char *client;
	char *repeat;
	struct fli_raw_op *ops;
	unsigned ops_count;
};

struct fli_raw_when {
	char *nth;
	char *after;
	char *probability;
};

struct fli_raw_fault {
	char *point;
	char *action;
	struct fli_raw_when *when;
	char *errno_name;
	char *code;
	char *delay_ms;
	char *actor;
};

struct fli_raw_driver {
	char *kind;
	char *client_liveness_ms;
	char *driver_timeout_ms;
	char *linger_ms;
	char *term_length;
	char *chunks;
	char *ports;
};

struct fli_raw_cluster {
	char *nodes;
	char *election_timeout_ms;
	char *heartbeat_ms;
	char *session_timeout_ms;
	char *liveness_ms;
};

struct fli_raw_budget {
	char *runs;
	char *seconds;
};

struct fli_raw_sched {
	char *kind;
	char *depth;
};

struct fli_raw_scenario {
	char *name;
	char *description;
	char *mode;
	struct fli_raw_driver *driver;
	struct fli_raw_cluster *cluster;
	struct fli_raw_actor *actors;
	unsigned actors_count;
	struct fli_raw_fault *faults;
	unsigned faults_count;
	char **properties;
	unsigned properties_count;
	struct fli_raw_budget *budget;
	struct fli_raw_sched *scheduler;
	bool sweep;
	char *target; /* the target's shared object */
};

/* The length limit of a number's text: none in practice (a file is at
 * most 1 MiB), but it tells numbers from strings in the schema, so that a
 * sequence given for a number is reported as such. */
#define FL_SCHEMA_NUM_MAX (CYAML_UNLIMITED - 1)

/* The key a target op's key is rewritten to in the text libcyaml reads
 * (the op itself is read from the document, under its own key). */
#define TARGET_OP_KEY "target_op"

/* The top-level schema: a pointer to struct fli_raw_scenario. */
extern const cyaml_schema_value_t fli_scenario_schema;

#endif
