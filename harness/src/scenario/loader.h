/*
 * Module-internal interface of the scenario loader (harness/src/scenario):
 * the loader's state and the helpers fields.c, ops.c, fault_rules.c and
 * loader.c share.  Not installed; prefix scn_.
 */
#ifndef FL_SCENARIO_LOADER_H
#define FL_SCENARIO_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "faultline/scenario.h"
#include "schema.h"

#define MAX_MSG_SIZE (16 * 1024 * 1024)
#define MAX_COUNT    1000000000
#define MAX_MS       (24 * 3600 * 1000)

/* The arena: everything a scenario owns, freed at once. */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

enum {
	REF_PUB = 1 << FL_SCN_OBJ_PUBLICATION,
	REF_SUB = 1 << FL_SCN_OBJ_SUBSCRIPTION,
	REF_IMG = 1 << FL_SCN_OBJ_IMAGE,
	REF_SERVER = 1 << FL_SCN_OBJ_SERVER,
	REF_CONN = 1 << FL_SCN_OBJ_CONNECTION,
	REF_CTX = 1 << FL_SCN_OBJ_CTX,
	REF_NODE = 1 << FL_SCN_OBJ_NODE,
	REF_CLUSTER_CLIENT = 1 << FL_SCN_OBJ_CLUSTER_CLIENT,
	REF_TARGET = 1 << FL_SCN_OBJ_TARGET
};

struct pending_ref {
	const char *name;
	fl_scn_ref *slot;
	unsigned kinds;          /* REF_* bits accepted */
	bool cross_ok;           /* may name another client's object */
	const char *target_kind; /* a target object's kind it must be, or NULL */
	int line, actor, op;
	char field[128];
};

struct barrier_use {
	const char *name;
	int actor, line;
	char field[160];
};

struct loader {
	const char *path;
	char *err;
	size_t errlen;
	bool failed;
	int rc;
	yaml_document_t doc;
	struct arena_block **arena;
	struct fl_scenario *s;
	char **warnings;
	size_t warning_count;
	char log[2048]; /* libcyaml's messages */
	size_t log_len;
	struct fl_scenario_object *objs;
	int *obj_line;
	size_t obj_count, obj_cap;
	struct pending_ref *refs;
	size_t ref_count, ref_cap;
	struct barrier_use *barriers;
	size_t barrier_count, barrier_cap;
	int line; /* current op/actor/fault line, for fields of a null mapping */
	const struct fl_target *target; /* `target:`'s, loaded before the ops */
	char target_found[4096];        /* ... its file, when found through FL_TARGET_PATH */
};

/* arena (fields.c): zeroed, max_align_t aligned; NULL when out of memory. */
void *fli_scn_arena_alloc(struct arena_block **a, size_t n);
void fli_scn_arena_free(struct arena_block *a);

/* Messages (fields.c).  fli_scn_fail records the first error as
 * "path:line: field: what" and returns FL_EINVAL (later calls keep the
 * first message); fli_scn_warn appends a warning; fli_scn_adup copies a string into
 * the arena (NULL and the error recorded when out of memory). */
int fli_scn_fail(struct loader *l, int line, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
int fli_scn_fail_nomem(struct loader *l);
void fli_scn_warn(struct loader *l, int line, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
const char *fli_scn_adup(struct loader *l, const char *str);
/* The one of names[0..n) (NULLs skipped) nearest to `word` by edit
 * distance, if near enough to be a typo of it (fields.c); else NULL. */
const char *fli_scn_nearest(const char *word, const char *const *names, size_t n);
/* The operation nearest to `name`, built in or of target t (NULL: none),
 * if a typo of it (ops.c). */
const char *fli_scn_nearest_op(const struct fl_target *t, const char *name);

/* The libyaml document (fields.c): node by id, 1-based line (0 for NULL),
 * null scalars, mapping lookup (with the key's line), sequence items. */
yaml_node_t *fli_scn_ynode(struct loader *l, int id);
int fli_scn_yline(const yaml_node_t *n);
bool fli_scn_ynull(const yaml_node_t *n);
yaml_node_t *fli_scn_yget_k(struct loader *l, yaml_node_t *map, const char *key, int *keyline);
yaml_node_t *fli_scn_yget(struct loader *l, yaml_node_t *map, const char *key);
yaml_node_t *fli_scn_yitem(struct loader *l, yaml_node_t *seq, size_t i);
int fli_scn_map_line(struct loader *l, yaml_node_t *map);
void fli_scn_join(char *buf, size_t n, const char *base, const char *key);

/* Typed fields (fields.c): `map` is the document mapping holding `key`,
 * `base` the field path of that mapping; `raw` is the text libcyaml read
 * (numbers too: the schema reads them as strings, see fields.c).  Absent
 * and required: error; absent otherwise: the default.  Return 0 or the
 * recorded error.  fli_scn_number_field is for a field known to be present.
 * fli_scn_parse_decimal: 0 and *out for a plain decimal integer, -1 for other
 * text, 1 for one beyond int64_t. */
int fli_scn_need(struct loader *l, yaml_node_t *map, const char *base, const char *key);
int fli_scn_parse_decimal(const char *s, int64_t *out);
int fli_scn_int_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                      const char *raw, int64_t min, int64_t max, bool required, int64_t dflt,
                      int64_t *out);
int fli_scn_u32_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                      const char *raw, int64_t min, int64_t max, bool required, uint32_t dflt,
                      uint32_t *out);
int fli_scn_number_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                         const char *raw, double *out);
int fli_scn_bool_check(struct loader *l, yaml_node_t *map, const char *base, const char *key);
bool fli_scn_valid_name(const char *s);
int fli_scn_str_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                      const char *raw, bool required, bool name, const char **out);
int fli_scn_enum_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                       const char *raw, const char *const *names, int count, int dflt, int *out);

/* Operations (ops.c): convert one op (recording objects, references and
 * barriers); then resolve references and check barriers once all actors
 * are read. */
int fli_scn_convert_op(struct loader *l, const struct fli_raw_op *raw, yaml_node_t *opn,
                       const char *abase, int ai, int oi, struct fl_scenario_op *op,
                       enum fl_scn_actor_kind akind);
int fli_scn_resolve_refs(struct loader *l, const struct fl_scenario_actor *actors);
int fli_scn_check_barriers(struct loader *l, const struct fl_scenario_actor *actors);

/* Faults (fault_rules.c): needs s->mode and s->actors set. */
int fli_scn_convert_fault(struct loader *l, const struct fli_raw_fault *a, yaml_node_t *fn, int fi,
                          struct fl_scenario_fault *o, const struct fl_scenario *s);

#endif
