/*
 * The libcyaml schema of a scenario file and the raw structures libcyaml
 * fills.  Private to harness/src/scenario: loader.c converts the raw tree
 * into struct fl_scenario and checks what a schema cannot (references,
 * ranges, required fields with their lines).
 *
 * Every field is optional to libcyaml; required fields are checked by the
 * loader, which knows their source lines.
 */
#ifndef FL_SCENARIO_SCHEMA_H
#define FL_SCENARIO_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include <cyaml/cyaml.h>

struct fl_raw_add {
	char *channel;
	int64_t stream;
	bool exclusive;
	bool async;
	char *cancel_at; /* integer step or "random" */
	char *as;
};

struct fl_raw_remove {
	char *target; /* `pub:` or `sub:` */
	bool async;
	char *cancel_at;
};

struct fl_raw_offer {
	char *pub;
	int64_t count;
	int64_t size;
	int64_t *sizes;
	unsigned sizes_count;
};

struct fl_raw_poll {
	char *sub;
	int64_t until;
	int64_t deadline_ms;
};

struct fl_raw_take {
	char *sub;
	char *from;
	int64_t index;
	char *as;
};

struct fl_raw_lookup {
	char *sub;
	char *from;
	char *impl;
};

struct fl_raw_name {
	char *name; /* release_image.img, barrier.name, ctx_close.ctx */
};

struct fl_raw_wait {
	int64_t ms;
};

struct fl_raw_service {
	char *service;
	char *as;
	char *impl; /* offer_service only */
	char *expect;
};

struct fl_raw_request {
	char *conn;
	char *ctx;
	int64_t count;
	int64_t size;
	int64_t deadline_ms;
	char *impl;
};

struct fl_raw_respond {
	char *server;
	char *ctx;
	int64_t count;
};

struct fl_raw_ctx_open {
	char *on;
	char *as;
};

struct fl_raw_empty {
	int unused;
};

/* One operation: exactly one member is set (the loader checks the key
 * count in the document; the member may be NULL for `close_client:`). */
struct fl_raw_op {
	struct fl_raw_add *add_publication;
	struct fl_raw_remove *remove_publication;
	struct fl_raw_add *add_subscription;
	struct fl_raw_remove *remove_subscription;
	struct fl_raw_offer *offer;
	struct fl_raw_poll *poll;
	struct fl_raw_take *take_image;
	struct fl_raw_name *release_image;
	struct fl_raw_empty *close_client;
	struct fl_raw_wait *wait;
	struct fl_raw_name *barrier;
	struct fl_raw_empty *crash_self;
	struct fl_raw_service *offer_service;
	struct fl_raw_service *connect_service;
	struct fl_raw_request *request;
	struct fl_raw_respond *respond;
	struct fl_raw_ctx_open *ctx_open;
	struct fl_raw_name *ctx_close;
	struct fl_raw_lookup *lookup_image;
};

struct fl_raw_actor {
	char *name;
	char *kind;
	char *client;
	int64_t repeat;
	struct fl_raw_op *ops;
	unsigned ops_count;
};

struct fl_raw_when {
	int64_t nth;
	int64_t after;
	double probability;
};

struct fl_raw_fault {
	char *point;
	char *action;
	struct fl_raw_when *when;
	char *errno_name;
	char *code;
	int64_t delay_ms;
	char *actor;
};

struct fl_raw_driver {
	char *kind;
	int64_t client_liveness_ms;
	int64_t driver_timeout_ms;
	int64_t linger_ms;
	int64_t term_length;
	char *chunks;
	int64_t ports;
};

struct fl_raw_budget {
	int64_t runs;
	double seconds;
};

struct fl_raw_sched {
	char *kind;
	int64_t depth;
};

struct fl_raw_scenario {
	char *name;
	char *description;
	char *mode;
	struct fl_raw_driver *driver;
	struct fl_raw_actor *actors;
	unsigned actors_count;
	struct fl_raw_fault *faults;
	unsigned faults_count;
	char **properties;
	unsigned properties_count;
	struct fl_raw_budget *budget;
	struct fl_raw_sched *scheduler;
	bool sweep;
};

/* The top-level schema: a pointer to struct fl_raw_scenario. */
extern const cyaml_schema_value_t fl_scenario_schema;

#endif
