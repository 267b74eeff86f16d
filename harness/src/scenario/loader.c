/*
 * Scenario loading: the file is parsed twice, once by libyaml into a
 * document (syntax errors, and the source line of every node) and once by
 * libcyaml against the schema (unknown keys, wrong types).  The raw libcyaml
 * tree is then converted into struct fl_scenario while walking the document
 * in step, so every semantic error names its line.  Parsing twice costs
 * microseconds per file and keeps line lookups exact, which libcyaml's own
 * backtraces are not for unknown or missing keys.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/chunk.h"
#include "faultline/error.h"
#include "faultline/report.h"
#include "faultline/reqrep.h"
#include "faultline/faults.h"
#include "faultline/scenario.h"
#include "faultline/target.h"
#include "loader.h"
#include "target_internal.h"

#define MAX_FILE_BYTES  (1u << 20)
#define MAX_CHUNK_BYTES (256u << 20) /* driver.chunks: shm a run may ask for */

struct scn_box {
	struct fl_scenario s; /* first: fl_scenario_free casts back */
	struct arena_block *arena;
};

static const char *const prop_names[FL_SCN_PROP_COUNT] = {
	"image_refs",           "no_leaked_files",
	"gauges_zero",          "no_pending_registrations",
	"no_new_fds",           "no_unexpected_signal",
	"delivery_in_order",    "no_loss",
	"no_duplicates",        "chunks_balanced",
	"ports_zero",           "messages_freed_once",
	"no_late_completions",  "election_safety",
	"log_matching",         "leader_completeness",
	"state_machine_safety", "cluster_liveness",
	"linearizable",         "no_orphaned_registrations",
	"target_resources",     "target_model",
	"target_heap",          "no_heap_growth",
};

/* Faults on libc calls: libfiu's POSIX preload wraps them, and its own
 * lookups allocate inside the run through libc (strdup), where the heap
 * counter cannot tell them from the run's: no_heap_growth is not judged
 * with them. */
bool
fl_scenario_libc_faults(const struct fl_scenario *s)
{
	for (size_t i = 0; i < s->fault_count; i++)
		if (fl_fault_point_external(s->faults[i].point))
			return true;
	return false;
}

const char *
fl_scenario_mode_unsupported(const struct fl_scenario *s)
{
	if (s->mode == FL_SCN_MODE_PROC)
		for (size_t i = 0; i < s->actor_count; i++)
			for (size_t j = 0; j < s->actors[i].op_count; j++) {
				const struct fl_scenario_op *op = &s->actors[i].ops[j];

				if (op->kind == FL_SCN_OP_KV)
					return "kv operations run in sim mode only (not yet in "
					       "proc mode)";
				/* cluster_close's first argument is its client */
				if (op->kind == FL_SCN_OP_CLUSTER_CLOSE &&
				    s->objects[op->u.target.objs[0]].actor != (int)i)
					return "closing another actor's cluster client needs sim "
					       "mode (in proc mode each actor is a process)";
			}
	if (s->cluster.nodes > 0 && s->mode == FL_SCN_MODE_STRESS)
		return "a cluster runs in sim or proc mode (a node's life is a coroutine or a "
		       "process)";
	if (s->mode == FL_SCN_MODE_STRESS) {
		for (size_t i = 0; i < s->fault_count; i++)
			if (s->faults[i].action == FL_SCN_FAULT_CRASH)
				return "crash faults need sim or proc mode (a thread cannot die "
				       "alone)";
		for (size_t i = 0; i < s->actor_count; i++)
			for (size_t j = 0; j < s->actors[i].op_count; j++)
				if (s->actors[i].ops[j].kind == FL_SCN_OP_CRASH_SELF)
					return "crash_self needs sim or proc mode (a thread cannot "
					       "die alone)";
	}
	/* proc forks every actor: a client (and what it opened) lives in one
	 * process only. */
	if (s->mode == FL_SCN_MODE_PROC)
		for (size_t i = 0; i < s->actor_count; i++)
			for (size_t j = 0; j < i; j++)
				if (strcmp(s->actors[i].client, s->actors[j].client) == 0)
					return "actors sharing a client (client:) need sim or "
					       "stress mode (in proc mode each actor is a process)";
	if (fl_scenario_libc_faults(s) && s->mode != FL_SCN_MODE_PROC)
		return "faults on libc calls (posix/..., libc/...: libfiu's POSIX preload) need "
		       "proc mode";
	return NULL;
}

/* The leak and balance properties that hold for any correct program
 * running these operations, faults or not (no_loss and the ordering
 * properties depend on what the scenario means, so they are never
 * implied). */
static uint32_t
default_properties(const struct fl_scenario *s)
{
	uint32_t p = FL_SCN_PROP_NO_LEAKED_FILES | FL_SCN_PROP_NO_UNEXPECTED_SIGNAL;
	for (size_t i = 0; i < s->actor_count; i++) {
		for (size_t j = 0; j < s->actors[i].op_count; j++) {
			switch (s->actors[i].ops[j].kind) {
			case FL_SCN_OP_ADD_PUBLICATION:
			case FL_SCN_OP_ADD_SUBSCRIPTION:
			case FL_SCN_OP_TAKE_IMAGE:
			case FL_SCN_OP_LOOKUP_IMAGE:
				p |= FL_SCN_PROP_IMAGE_REFS | FL_SCN_PROP_GAUGES_ZERO |
				     FL_SCN_PROP_NO_PENDING_REGISTRATIONS;
				break;
			case FL_SCN_OP_OFFER_SERVICE:
			case FL_SCN_OP_CONNECT_SERVICE:
			case FL_SCN_OP_REQUEST:
			case FL_SCN_OP_RESPOND:
				p |= FL_SCN_PROP_CHUNKS_BALANCED | FL_SCN_PROP_PORTS_ZERO |
				     FL_SCN_PROP_MESSAGES_FREED_ONCE;
				break;
			case FL_SCN_OP_CTX_OPEN: p |= FL_SCN_PROP_NO_LATE_COMPLETIONS; break;
			case FL_SCN_OP_KILL_NODE:
			case FL_SCN_OP_RESTART_NODE:
			case FL_SCN_OP_PARTITION:
			case FL_SCN_OP_HEAL:
			case FL_SCN_OP_WAIT_LEADER:
			case FL_SCN_OP_PUT: break;
			case FL_SCN_OP_KV:
			case FL_SCN_OP_CLUSTER_PUT:
			case FL_SCN_OP_CLUSTER_GET:
			case FL_SCN_OP_CLUSTER_CAS:
			case FL_SCN_OP_CLUSTER_APPEND: p |= FL_SCN_PROP_LINEARIZABLE; break;
			case FL_SCN_OP_CLUSTER_CONNECT:
				p |= FL_SCN_PROP_NO_ORPHANED_REGISTRATIONS;
				break;
			case FL_SCN_OP_TARGET:
				p |= FL_SCN_PROP_TARGET_RESOURCES | FL_SCN_PROP_TARGET_MODEL |
				     FL_SCN_PROP_TARGET_HEAP;
				break;
			default: break;
			}
		}
	}
	/* A cluster's nodes are pub/sub clients of the run's driver (its
	 * gauges); no_pending_registrations judges an actor's own pub/sub
	 * client, which only pub/sub operations open (a cluster client's is
	 * no_orphaned_registrations'). */
	if (s->cluster.nodes > 0)
		p |= FL_SCN_PROP_CLUSTER | FL_SCN_PROP_GAUGES_ZERO;
	/* The heap: every block a run allocates is freed by its end.  A
	 * target's library is judged by its own target_resources and
	 * target_heap (its allocations, caches included, are its own). */
	if (!(p & FL_SCN_PROP_TARGET_HEAP) && !fl_scenario_libc_faults(s))
		p |= FL_SCN_PROP_NO_HEAP_GROWTH;
	return p;
}

/* A listed property whose objects the scenario never makes would be
 * judged over nothing and pass: refused, naming what it judges.  The
 * domains are default_properties'; the ones only ever listed (fds, heap,
 * the delivery checks over pub/sub) go with theirs. */
static int
check_domains(struct loader *l, const struct fl_scenario *s, yaml_node_t *pn)
{
	static const struct {
		uint32_t props;
		const char *what;
	} domains[] = {
		{ FL_SCN_PROP_CLUSTER, "a cluster's nodes (the `cluster:` key)" },
		{ FL_SCN_PROP_IMAGE_REFS | FL_SCN_PROP_DELIVERY_IN_ORDER | FL_SCN_PROP_NO_LOSS |
		          FL_SCN_PROP_NO_DUPLICATES | FL_SCN_PROP_NO_PENDING_REGISTRATIONS,
		  "pub/sub operations (add_publication, add_subscription, take_image, "
		  "lookup_image)" },
		{ FL_SCN_PROP_GAUGES_ZERO,
		  "pub/sub operations or a cluster (the driver's clients)" },
		{ FL_SCN_PROP_CHUNKS_BALANCED | FL_SCN_PROP_PORTS_ZERO |
		          FL_SCN_PROP_MESSAGES_FREED_ONCE,
		  "request/response operations (offer_service, connect_service, request, "
		  "respond)" },
		{ FL_SCN_PROP_NO_LATE_COMPLETIONS,
		  "contexts and aios (ctx_open, or request/response operations, whose impl: "
		  "may open them)" },
		{ FL_SCN_PROP_TARGET_RESOURCES | FL_SCN_PROP_TARGET_MODEL | FL_SCN_PROP_TARGET_HEAP,
		  "a target's operations" },
	};
	uint32_t fits = default_properties(s);

	if (fits & FL_SCN_PROP_IMAGE_REFS)
		fits |= FL_SCN_PROP_DELIVERY_IN_ORDER | FL_SCN_PROP_NO_LOSS |
		        FL_SCN_PROP_NO_DUPLICATES;
	if (fits & FL_SCN_PROP_CHUNKS_BALANCED)
		fits |= FL_SCN_PROP_NO_LATE_COMPLETIONS;
	for (size_t d = 0; d < sizeof(domains) / sizeof(domains[0]); d++) {
		uint32_t stray = s->properties & domains[d].props & ~fits;

		if (stray != 0)
			return fli_scn_fail(l, fli_scn_yline(pn), "properties",
			                    "%s judges %s, and this scenario has none",
			                    fl_scenario_property_name(stray & -stray),
			                    domains[d].what);
	}
	return 0;
}

static bool scenario_has_op(const struct fl_scenario *s, enum fl_scn_op_kind kind);

/* The parts of the transport whose fault points only their own code
 * reaches, and whether the scenario runs each. */
struct point_part {
	const char *prefix;
	bool present;
	const char *needs;
};

/* What a point needs that the scenario lacks, or NULL (its part runs, or
 * it has none: transport/shm/, libc's). */
static const char *
point_missing(const struct point_part *parts, size_t n, const char *point)
{
	for (size_t k = 0; k < n; k++)
		if (strncmp(point, parts[k].prefix, strlen(parts[k].prefix)) == 0)
			return parts[k].present ? NULL : parts[k].needs;
	return NULL;
}

/* A fault rule on a point of a part the scenario never runs can never
 * fire: a scenario written to test that fault would pass untested (the
 * batch says only "never fired").  Refused, naming what the point needs.
 * A prefix rule (a name ending in a star) is refused when no registered
 * point it matches can be reached. */
static int
check_fault_domains(struct loader *l, const struct fl_scenario *s, yaml_node_t *fsn)
{
	bool driver = fl_scenario_uses_domain(s, FL_SCN_DOMAIN_PUBSUB) || s->cluster.nodes > 0;
	bool reqrep = fl_scenario_uses_domain(s, FL_SCN_DOMAIN_REQREP);
	const struct point_part parts[] = {
		{ "transport/cluster/client/", scenario_has_op(s, FL_SCN_OP_CLUSTER_CONNECT),
		  "a cluster client (cluster_connect)" },
		{ "transport/cluster/", s->cluster.nodes > 0, "a cluster (the `cluster:` key)" },
		{ "transport/rr/", reqrep, "request/response operations" },
		{ "transport/chunk/", reqrep, "request/response operations" },
		{ "transport/port/", reqrep, "request/response operations" },
		{ "transport/client/", driver, "pub/sub operations or a cluster" },
		{ "transport/driver/", driver, "pub/sub operations or a cluster" },
		{ "transport/cmd/", driver, "pub/sub operations or a cluster" },
		{ "transport/bcast/", driver, "pub/sub operations or a cluster" },
		{ "transport/log/", driver, "pub/sub operations or a cluster" },
		{ "target/", s->target != NULL, "a target (the `target:` key)" },
	};
	size_t nparts = sizeof(parts) / sizeof(parts[0]);

	for (size_t i = 0; i < s->fault_count; i++) {
		const char *pt = s->faults[i].point, *needs = NULL;
		size_t n = strlen(pt);

		if (n > 0 && pt[n - 1] == '*' && strncmp(pt, "transport/", 10) == 0) {
			/* Needs what every point it matches needs (the first's
			 * is said), or nothing when one of them is reached. */
			for (const char *const *p = fl_fault_points(); *p != NULL; p++) {
				const char *m;

				if (strncmp(*p, pt, n - 1) != 0)
					continue;
				if ((m = point_missing(parts, nparts, *p)) == NULL) {
					needs = NULL;
					break;
				}
				if (needs == NULL)
					needs = m;
			}
		} else {
			needs = point_missing(parts, nparts, pt);
		}
		if (needs != NULL) {
			char f[48];

			snprintf(f, sizeof f, "faults[%zu].point", i);
			return fli_scn_fail(l, fli_scn_yline(fli_scn_yitem(l, fsn, i)), f,
			                    "'%s' is never reached without %s, and this scenario "
			                    "has none: the rule could never fire",
			                    pt, needs);
		}
	}
	return 0;
}

static bool
scenario_has_op(const struct fl_scenario *s, enum fl_scn_op_kind kind)
{
	for (size_t i = 0; i < s->actor_count; i++)
		for (size_t j = 0; j < s->actors[i].op_count; j++)
			if (s->actors[i].ops[j].kind == kind)
				return true;
	return false;
}

bool
fl_scenario_records_history(const struct fl_scenario *s)
{
	return scenario_has_op(s, FL_SCN_OP_KV) || scenario_has_op(s, FL_SCN_OP_CLUSTER_PUT) ||
	       scenario_has_op(s, FL_SCN_OP_CLUSTER_GET) ||
	       scenario_has_op(s, FL_SCN_OP_CLUSTER_CAS) ||
	       scenario_has_op(s, FL_SCN_OP_CLUSTER_APPEND);
}

/* The index of t's property called name, or -1; name NULL: how many it
 * has (-1: none). */
static int
target_property(const struct fl_target *t, const char *name)
{
	int i = 0;

	for (; t != NULL && t->properties != NULL && t->properties[i].name != NULL; i++)
		if (name != NULL && strcmp(t->properties[i].name, name) == 0)
			return i;
	return name == NULL && i > 0 ? i : -1;
}

const char *
fl_scenario_property_name(uint32_t prop)
{
	for (int i = 0; i < FL_SCN_PROP_COUNT; i++)
		if (prop == (1u << i))
			return prop_names[i];
	return NULL;
}

/* ---- libcyaml errors: message plus backtrace, mapped onto the document ---- */

static void
cyaml_log_capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct loader *l = ctx;
	if (level < CYAML_LOG_ERROR || l->log_len + 1 >= sizeof l->log)
		return;
	int n = vsnprintf(l->log + l->log_len, sizeof l->log - l->log_len, fmt, args);
	if (n > 0)
		l->log_len += (size_t)n < sizeof l->log - l->log_len
		                      ? (size_t)n
		                      : sizeof l->log - l->log_len - 1;
}

static const char *
type_word(const char *t)
{
	static const struct {
		const char *t, *w;
	} words[] = {
		{ "INT", "an integer" },
		{ "UINT", "a non-negative integer" },
		{ "BOOL", "true or false" },
		{ "FLOAT", "a number" },
		{ "STRING", "a string" },
		{ "MAPPING", "a mapping" },
		{ "SEQUENCE", "a sequence" },
		{ "SCALAR", "a scalar" },
		{ "SEQUENCE_START", "a sequence" },
		{ "MAPPING_START", "a mapping" },
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(words[i].t, t) == 0)
			return words[i].w;
	return t;
}

struct bt_comp {
	bool entry; /* sequence entry (else mapping field) */
	char key[64];
	unsigned index; /* 0-based */
};

/* Whether the field at the backtrace's path is a number (schema.c NUM):
 * libcyaml, reading it as a string, would say "expected a string". */
static bool
number_at(const struct bt_comp *comps, int ncomp)
{
	const cyaml_schema_value_t *v = &fli_scenario_schema;
	for (int i = ncomp - 1; i >= 0; i--) {
		if (comps[i].entry) {
			if (v->type != CYAML_SEQUENCE)
				return false;
			v = v->sequence.entry;
			continue;
		}
		if (v->type != CYAML_MAPPING)
			return false;
		const cyaml_schema_field_t *f = v->mapping.fields;
		while (f->key != NULL && strcmp(f->key, comps[i].key) != 0)
			f++;
		if (f->key == NULL)
			return false;
		v = &f->value;
	}
	return v->type == CYAML_STRING && v->string.max == FL_SCHEMA_NUM_MAX;
}

static int
cyaml_error(struct loader *l, cyaml_err_t e)
{
	struct bt_comp comps[32];
	int ncomp = 0, inner_line = 0;
	char msg[256] = "";
	for (char *line = strtok(l->log, "\n"); line; line = strtok(NULL, "\n")) {
		char key[64];
		unsigned idx;
		int ln;
		if (strncmp(line, "Load: ", 6) == 0) {
			if (msg[0] == '\0' && strcmp(line + 6, "Backtrace:") != 0)
				snprintf(msg, sizeof msg, "%s", line + 6);
			continue;
		}
		char *lp = strstr(line, "(line: ");
		ln = lp ? atoi(lp + 7) : 0;
		if (inner_line == 0)
			inner_line = ln;
		if (ncomp == 32)
			continue;
		if (sscanf(line, "  in mapping field '%63[^']'", key) == 1) {
			comps[ncomp].entry = false;
			snprintf(comps[ncomp++].key, sizeof comps[0].key, "%s", key);
		} else if (sscanf(line, "  in sequence entry '%u'", &idx) == 1) {
			comps[ncomp].entry = true;
			comps[ncomp++].index = idx > 0 ? idx - 1 : 0;
		}
	}
	if (msg[0] == '\0') {
		if (l->errlen)
			snprintf(l->err, l->errlen, "%s: %s", l->path, cyaml_strerror(e));
		l->failed = true;
		return l->rc = e == CYAML_ERR_OOM ? FL_ENOMEM : FL_EINVAL;
	}
	/* Walk root-first through the document; build the field path. */
	char path[256] = "";
	yaml_node_t *n = yaml_document_get_root_node(&l->doc), *parent = NULL;
	bool in_ops = false;
	for (int i = ncomp - 1; i >= 0; i--) {
		size_t len = strlen(path);
		if (comps[i].entry) {
			snprintf(path + len, sizeof path - len, "[%u]", comps[i].index);
			parent = n;
			n = fli_scn_yitem(l, n, comps[i].index);
			in_ops = i == 0 && i + 1 < ncomp && !comps[i + 1].entry &&
			         strcmp(comps[i + 1].key, "ops") == 0;
		} else {
			snprintf(path + len, sizeof path - len, "%s%s", len ? "." : "",
			         comps[i].key);
			parent = n;
			n = fli_scn_yget(l, n, comps[i].key);
			in_ops = false;
		}
	}
	char t1[32], t2[32], val[128];
	if (strncmp(msg, "Unexpected key: ", 16) == 0) {
		const char *key = msg + 16;
		int kl = 0;
		char f[320];
		fli_scn_yget_k(l, n, key, &kl);
		fli_scn_join(f, sizeof f, path, key);
		const char *near = in_ops ? fli_scn_nearest_op(l->target, key) : NULL;
		if (near != NULL)
			return fli_scn_fail(l, kl ? kl : inner_line, f,
			                    "unknown operation (did you mean %s?)", near);
		if (in_ops)
			return fli_scn_fail(l, kl ? kl : inner_line, f, "unknown operation");
		return fli_scn_fail(l, kl ? kl : inner_line, f, "unknown key");
	}
	if (strncmp(msg, "Mapping field already seen: ", 28) == 0 && parent != NULL &&
	    parent->type == YAML_MAPPING_NODE) {
		/* libcyaml points at the first occurrence; name the repeated one. */
		int kl = 0;
		for (yaml_node_pair_t *p = parent->data.mapping.pairs.start;
		     p < parent->data.mapping.pairs.top; p++) {
			yaml_node_t *k = fli_scn_ynode(l, p->key);
			if (k && k->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k->data.scalar.value, msg + 28) == 0)
				kl = fli_scn_yline(k);
		}
		return fli_scn_fail(l, kl ? kl : inner_line, path[0] ? path : "(top)",
		                    "key given twice");
	}
	const char *field = path[0] ? path : "(top)";
	int line = n ? fli_scn_yline(n) : inner_line;
	if (sscanf(msg, "Invalid %31s value: '%127[^']'", t1, val) == 2)
		return fli_scn_fail(l, line, field, "expected %s (got '%s')", type_word(t1), val);
	if (sscanf(msg, "Expecting %31[^,], got event: %31s", t1, t2) == 2) {
		if (in_ops)
			return fli_scn_fail(l, line, field,
			                    "an operation is a mapping with exactly one key, e.g. "
			                    "'- close_client: {}'");
		return fli_scn_fail(l, line, field, "expected %s, not %s",
		                    number_at(comps, ncomp) ? "a number" : type_word(t1),
		                    type_word(t2));
	}
	return fli_scn_fail(l, line, field, "%s", msg);
}

/* ---- mapping keys ---- */

/*
 * libcyaml stops at a mapping key that is not a scalar ([1]: 2) with
 * "Internal error" and no backtrace, so the document is checked first.  A
 * pass over the node array finds such a key however deep it sits, without
 * recursion (a 1 MiB file can nest half a million levels).  The field path
 * is rebuilt from parent links: parent[c] is the lowest-numbered node
 * holding c, lower than c itself (libyaml numbers a collection before its
 * contents; an alias may add a lower holder, never a cycle), root excluded.
 */
static void
node_path(struct loader *l, int id, char *path, size_t cap)
{
	size_t count = (size_t)(l->doc.nodes.top - l->doc.nodes.start);
	int *parent = calloc(count + 1, sizeof(int));
	int *slot = calloc(count + 1, sizeof(int));
	int *chain = calloc(count + 1, sizeof(int));
	size_t depth = 0;
	path[0] = '\0';
	if (parent == NULL || slot == NULL || chain == NULL)
		goto out;
	for (size_t i = 1; i <= count; i++) {
		yaml_node_t *n = fli_scn_ynode(l, (int)i);
		int nkids = 0, *kids = NULL;
		yaml_node_pair_t *pairs = NULL;
		if (n->type == YAML_SEQUENCE_NODE) {
			kids = n->data.sequence.items.start;
			nkids = (int)(n->data.sequence.items.top - kids);
		} else if (n->type == YAML_MAPPING_NODE) {
			pairs = n->data.mapping.pairs.start;
			nkids = (int)(n->data.mapping.pairs.top - pairs);
		}
		for (int k = 0; k < nkids; k++) {
			int c = kids ? kids[k] : pairs[k].value;
			if (c > 1 && (size_t)c <= count && parent[c] == 0) {
				parent[c] = (int)i;
				slot[c] = k;
			}
		}
	}
	for (int c = id; c > 1 && parent[c] != 0; c = parent[c])
		chain[depth++] = c;
	while (depth > 0) {
		int c = chain[--depth];
		yaml_node_t *p = fli_scn_ynode(l, parent[c]);
		size_t len = strlen(path);
		if (p->type == YAML_SEQUENCE_NODE) {
			snprintf(path + len, cap - len, "[%d]", slot[c]);
		} else {
			yaml_node_t *k = fli_scn_ynode(l, p->data.mapping.pairs.start[slot[c]].key);
			const char *name = k && k->type == YAML_SCALAR_NODE
			                           ? (const char *)k->data.scalar.value
			                           : "?";
			snprintf(path + len, cap - len, "%s%s", len ? "." : "", name);
		}
	}
out:
	free(parent);
	free(slot);
	free(chain);
}

static int
check_keys(struct loader *l)
{
	for (yaml_node_t *n = l->doc.nodes.start; n < l->doc.nodes.top; n++) {
		if (n->type != YAML_MAPPING_NODE)
			continue;
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = fli_scn_ynode(l, p->key);
			char path[256];
			if (k == NULL || k->type == YAML_SCALAR_NODE)
				continue;
			node_path(l, (int)(n - l->doc.nodes.start) + 1, path, sizeof path);
			return fli_scn_fail(l, fli_scn_yline(k), path[0] ? path : "(top)",
			                    "a key must be a name, not a %s",
			                    k->type == YAML_SEQUENCE_NODE ? "sequence" : "mapping");
		}
	}
	return 0;
}

/* ---- the whole file ---- */

static const char *const mode_names[] = { "sim", "proc", "stress" };
static const char *const driver_names[] = { "embedded", "process" };
static const char *const actor_kind_names[] = { "thread", "process" };
static const char *const sched_names[] = { "random", "pct" };

/* `cluster:`: nodes and their timers; before the actors (their ops
 * check node ids against it). */
static int
convert_cluster(struct loader *l, const struct fli_raw_scenario *r, struct fl_scenario *s)
{
	static const struct fli_raw_cluster zero;
	const struct fli_raw_cluster *c = r->cluster ? r->cluster : &zero;
	yaml_node_t *cn = fli_scn_yget(l, yaml_document_get_root_node(&l->doc), "cluster");
	struct fl_scenario_cluster *o = &s->cluster;
	int rc;

	if (cn == NULL)
		return 0;
	if ((rc = fli_scn_u32_field(l, cn, "cluster", "nodes", c->nodes, 1, FL_SCN_MAX_NODES, false,
	                            3, &o->nodes)) ||
	    (rc = fli_scn_u32_field(l, cn, "cluster", "election_timeout_ms", c->election_timeout_ms,
	                            1, MAX_MS, false, FL_SCN_DEFAULT_ELECTION_MS,
	                            &o->election_timeout_ms)) ||
	    (rc = fli_scn_u32_field(l, cn, "cluster", "heartbeat_ms", c->heartbeat_ms, 1, MAX_MS,
	                            false, FL_SCN_DEFAULT_HEARTBEAT_MS, &o->heartbeat_ms)) ||
	    (rc = fli_scn_u32_field(l, cn, "cluster", "session_timeout_ms", c->session_timeout_ms,
	                            1, MAX_MS, false, 10000, &o->session_timeout_ms)) ||
	    (rc = fli_scn_u32_field(l, cn, "cluster", "liveness_ms", c->liveness_ms, 1, MAX_MS,
	                            false, 20 * o->election_timeout_ms, &o->liveness_ms)))
		return rc;
	if (o->nodes % 2 == 0)
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, cn, "nodes")), "cluster.nodes",
		                    "must be 1, 3 or 5 (got %u)", o->nodes);
	if (o->heartbeat_ms >= o->election_timeout_ms)
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, cn, "heartbeat_ms")),
		                    "cluster.heartbeat_ms",
		                    "must be shorter than election_timeout_ms (%u), or followers "
		                    "start elections between heartbeats",
		                    o->election_timeout_ms);
	if (s->mode == FL_SCN_MODE_STRESS)
		return fli_scn_fail(l, fli_scn_yline(cn), "cluster",
		                    "runs in mode sim or proc (mode is stress: a node's life is a "
		                    "coroutine or a process, never a free thread)");
	return 0;
}

static int
convert(struct loader *l, const struct fli_raw_scenario *r, struct fl_scenario *s)
{
	yaml_node_t *root = yaml_document_get_root_node(&l->doc);
	int rc, iv;
	int64_t v;
	l->line = 1;
	s->target = l->target;
	if (r->target != NULL && (s->target_path = fli_scn_adup(l, r->target)) == NULL)
		return l->rc;
	if (l->target_found[0] != '\0' &&
	    (s->target_found = fli_scn_adup(l, l->target_found)) == NULL)
		return l->rc;
	if ((rc = fli_scn_str_field(l, root, "", "name", r->name, true, true, &s->name)) ||
	    (rc = fli_scn_str_field(l, root, "", "description", r->description, true, false,
	                            &s->description)) ||
	    (rc = fli_scn_enum_field(l, root, "", "mode", r->mode, mode_names, 3, -1, &iv)))
		return rc;
	s->mode = (enum fl_scn_mode)iv;
	/* A run's report keeps the name whole (struct fl_run_result): a
	 * longer one would be cut in its runs and whole in a batch's plan,
	 * which merge then could not match. */
	if (strlen(s->name) >= sizeof(((struct fl_run_result *)0)->scenario))
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, root, "name")), "name",
		                    "the name is %zu bytes long; at most %zu", strlen(s->name),
		                    sizeof(((struct fl_run_result *)0)->scenario) - 1);

	/* driver */
	static const struct fli_raw_driver zero_driver;
	const struct fli_raw_driver *d = r->driver ? r->driver : &zero_driver;
	yaml_node_t *dn = fli_scn_yget(l, root, "driver");
	if ((rc = fli_scn_enum_field(l, dn, "driver", "kind", d->kind, driver_names, 2, 0, &iv)))
		return rc;
	s->driver.kind = (enum fl_scn_driver_kind)iv;
	if (s->driver.kind == FL_SCN_DRIVER_PROCESS && s->mode != FL_SCN_MODE_PROC)
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, dn, "kind")), "driver.kind",
		                    "a process driver needs mode proc (mode is %s)",
		                    mode_names[s->mode]);
	if ((rc = fli_scn_u32_field(l, dn, "driver", "client_liveness_ms", d->client_liveness_ms, 1,
	                            MAX_MS, false, FL_SCN_DEFAULT_CLIENT_LIVENESS_MS,
	                            &s->driver.client_liveness_ms)) ||
	    (rc = fli_scn_u32_field(l, dn, "driver", "driver_timeout_ms", d->driver_timeout_ms, 1,
	                            MAX_MS, false, FL_SCN_DEFAULT_DRIVER_TIMEOUT_MS,
	                            &s->driver.driver_timeout_ms)) ||
	    (rc = fli_scn_u32_field(l, dn, "driver", "linger_ms", d->linger_ms, 0, MAX_MS, false,
	                            FL_SCN_DEFAULT_LINGER_MS, &s->driver.linger_ms)) ||
	    (rc = fli_scn_u32_field(l, dn, "driver", "term_length", d->term_length, 65536, 1 << 30,
	                            false, FL_SCN_DEFAULT_TERM_LENGTH, &s->driver.term_length)))
		return rc;
	if (s->driver.term_length & (s->driver.term_length - 1))
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, dn, "term_length")),
		                    "driver.term_length", "must be a power of two (got %u)",
		                    s->driver.term_length);
	if ((rc = fli_scn_u32_field(l, dn, "driver", "ports", d->ports, 1, 4096, false,
	                            FL_SCN_DEFAULT_PORTS, &s->driver.ports)) ||
	    (rc = fli_scn_str_field(l, dn, "driver", "chunks", d->chunks, false, false,
	                            &s->driver.chunks)))
		return rc;
	if (s->driver.chunks != NULL) {
		uint64_t bytes = 0;
		int line = fli_scn_yline(fli_scn_yget(l, dn, "chunks"));
		if (fl_chunk_spec_check(s->driver.chunks, &bytes) != 0)
			return fli_scn_fail(l, line, "driver.chunks", "%s", fl_rr_errmsg());
		if (bytes > MAX_CHUNK_BYTES)
			return fli_scn_fail(l, line, "driver.chunks",
			                    "the pools add up to %llu bytes (at most %u MiB)",
			                    (unsigned long long)bytes, MAX_CHUNK_BYTES >> 20);
	}

	if ((rc = convert_cluster(l, r, s)))
		return rc;

	/* actors */
	yaml_node_t *an = fli_scn_yget(l, root, "actors");
	if (r->actors_count == 0)
		return fli_scn_fail(l, an ? fli_scn_yline(an) : 1, "actors",
		                    an ? "needs at least one actor" : "required field missing");
	if (r->actors_count > FL_SCN_MAX_ACTORS)
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yitem(l, an, FL_SCN_MAX_ACTORS)),
		                    "actors", "%u actors; a scenario has at most %d",
		                    r->actors_count, FL_SCN_MAX_ACTORS);
	size_t total_ops = 0;
	for (unsigned i = 0; i < r->actors_count; i++)
		total_ops += r->actors[i].ops_count;
	struct fl_scenario_actor *actors =
	        fli_scn_arena_alloc(l->arena, r->actors_count * sizeof(*actors));
	l->objs = fli_scn_arena_alloc(l->arena, (total_ops + 1) * sizeof(*l->objs));
	l->obj_line = malloc((total_ops + 1) * sizeof(int));
	if (!actors || !l->objs || !l->obj_line)
		return fli_scn_fail_nomem(l);
	l->obj_cap = total_ops;
	s->actors = actors;
	s->actor_count = r->actors_count;
	for (unsigned i = 0; i < r->actors_count; i++) {
		const struct fli_raw_actor *ra = &r->actors[i];
		struct fl_scenario_actor *a = &actors[i];
		yaml_node_t *node = fli_scn_yitem(l, an, i);
		char base[32];
		snprintf(base, sizeof base, "actors[%u]", i);
		a->line = l->line = fli_scn_yline(node);
		if ((rc = fli_scn_str_field(l, node, base, "name", ra->name, true, true,
		                            &a->name)) ||
		    (rc = fli_scn_enum_field(l, node, base, "kind", ra->kind, actor_kind_names, 2,
		                             0, &iv)))
			return rc;
		a->kind = (enum fl_scn_actor_kind)iv;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(actors[j].name, a->name) == 0) {
				char f[48];
				fli_scn_join(f, sizeof f, base, "name");
				return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, node, "name")),
				                    f, "actor '%s' is already defined at line %d",
				                    a->name, actors[j].line);
			}
		unsigned nodeid;
		char tail;
		if (sscanf(a->name, "node%u%c", &nodeid, &tail) == 1 && nodeid < s->cluster.nodes) {
			char f[48];
			fli_scn_join(f, sizeof f, base, "name");
			return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, node, "name")), f,
			                    "'%s' is the name of a cluster node's actor", a->name);
		}
		if (a->kind == FL_SCN_ACTOR_PROCESS && s->mode != FL_SCN_MODE_PROC) {
			char f[48];
			fli_scn_join(f, sizeof f, base, "kind");
			return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, node, "kind")), f,
			                    "a process actor needs mode proc (mode is %s)",
			                    mode_names[s->mode]);
		}
		if ((rc = fli_scn_str_field(l, node, base, "client", ra->client, false, true,
		                            &a->client)))
			return rc;
		if ((rc = fli_scn_u32_field(l, node, base, "repeat", ra->repeat, 1, 10000000, false,
		                            1, &a->repeat)))
			return rc;
		if (a->client == NULL)
			a->client = a->name;
	}
	for (unsigned i = 0; i < r->actors_count; i++) {
		const struct fli_raw_actor *ra = &r->actors[i];
		struct fl_scenario_actor *a = &actors[i];
		yaml_node_t *opsn = fli_scn_yget(l, fli_scn_yitem(l, an, i), "ops");
		struct fl_scenario_op *ops =
		        fli_scn_arena_alloc(l->arena, (ra->ops_count + 1) * sizeof(*ops));
		if (ops == NULL)
			return fli_scn_fail_nomem(l);
		char base[32];
		snprintf(base, sizeof base, "actors[%u]", i);
		for (unsigned j = 0; j < ra->ops_count; j++)
			if ((rc = fli_scn_convert_op(l, &ra->ops[j], fli_scn_yitem(l, opsn, j),
			                             base, (int)i, (int)j, &ops[j], a->kind)))
				return rc;
		a->ops = ops;
		a->op_count = ra->ops_count;
	}
	if ((rc = fli_scn_resolve_refs(l, actors)) || (rc = fli_scn_check_barriers(l, actors)))
		return rc;
	s->objects = l->objs;
	s->object_count = l->obj_count;

	/* faults */
	yaml_node_t *fsn = fli_scn_yget(l, root, "faults");
	struct fl_scenario_fault *faults =
	        fli_scn_arena_alloc(l->arena, (r->faults_count + 1) * sizeof(*faults));
	if (faults == NULL)
		return fli_scn_fail_nomem(l);
	for (unsigned i = 0; i < r->faults_count; i++)
		if ((rc = fli_scn_convert_fault(l, &r->faults[i], fli_scn_yitem(l, fsn, i), (int)i,
		                                &faults[i], s)))
			return rc;
	s->faults = faults;
	s->fault_count = r->faults_count;
	if ((rc = check_fault_domains(l, s, fsn)) != 0)
		return rc;

	/* properties */
	yaml_node_t *pn = fli_scn_yget(l, root, "properties");
	for (unsigned i = 0; i < r->properties_count; i++) {
		int line = fli_scn_yline(fli_scn_yitem(l, pn, i));
		char f[32];
		snprintf(f, sizeof f, "properties[%u]", i);
		int k, tk = target_property(s->target, r->properties[i]);
		if (tk >= 0) {
			if (s->target_properties & (1u << tk))
				return fli_scn_fail(l, line, f, "property '%s' is listed twice",
				                    r->properties[i]);
			s->target_properties |= 1u << tk;
			continue;
		}
		for (k = 0; k < FL_SCN_PROP_COUNT; k++)
			if (strcmp(prop_names[k], r->properties[i]) == 0)
				break;
		if (k == FL_SCN_PROP_COUNT) {
			/* The target's own first: the built-in list is long. */
			char known[768] = "";
			for (int j = 0; s->target != NULL && s->target->properties != NULL &&
			                s->target->properties[j].name != NULL;
			     j++)
				snprintf(known + strlen(known), sizeof known - strlen(known),
				         "%s%s", j ? ", " : "target ",
				         s->target->properties[j].name);
			if (known[0] != '\0')
				snprintf(known + strlen(known), sizeof known - strlen(known),
				         "; built in: ");
			for (int j = 0; j < FL_SCN_PROP_COUNT; j++)
				snprintf(known + strlen(known), sizeof known - strlen(known),
				         "%s%s", j ? ", " : "", prop_names[j]);
			/* target_properties is a 32-bit mask: at most 32 of its own. */
			const char *cand[FL_SCN_PROP_COUNT + 32];
			size_t nc = 0;
			for (int j = 0; j < FL_SCN_PROP_COUNT; j++)
				cand[nc++] = prop_names[j];
			for (int j = 0;
			     j < 32 && s->target != NULL && s->target->properties != NULL &&
			     s->target->properties[j].name != NULL;
			     j++)
				cand[nc++] = s->target->properties[j].name;
			const char *near = fli_scn_nearest(r->properties[i], cand, nc);
			if (near != NULL)
				return fli_scn_fail(l, line, f,
				                    "unknown property '%s' (did you mean %s?)",
				                    r->properties[i], near);
			return fli_scn_fail(l, line, f, "unknown property '%s' (known: %s)",
			                    r->properties[i], known);
		}
		if (s->properties & (1u << k))
			return fli_scn_fail(l, line, f, "property '%s' is listed twice",
			                    r->properties[i]);
		s->properties |= 1u << k;
	}
	if (pn == NULL) {
		/* A scenario that names no property would check nothing and pass
		 * a known leak: it gets every leak and balance property that fits
		 * its operations (`faultline list` shows them). */
		s->properties = default_properties(s);
		s->target_properties = target_property(s->target, NULL) >= 0
		                               ? (1u << target_property(s->target, NULL)) - 1
		                               : 0;
		s->properties_default = true;
	} else if ((s->properties & FL_SCN_PROP_LINEARIZABLE) && !fl_scenario_records_history(s)) {
		return fli_scn_fail(l, fli_scn_yline(pn), "properties",
		                    "linearizable judges the history the kv and cluster_put/get/"
		                    "cas/append operations record, and this scenario has none");
	} else if ((s->properties & FL_SCN_PROP_NO_HEAP_GROWTH) && fl_scenario_libc_faults(s)) {
		return fli_scn_fail(l, fli_scn_yline(pn), "properties",
		                    "no_heap_growth cannot be judged with faults on libc calls "
		                    "(libfiu's POSIX preload allocates inside the run through "
		                    "libc): leave it out, or the posix/ and libc/ faults");
	} else if ((s->properties & FL_SCN_PROP_NO_ORPHANED_REGISTRATIONS) &&
	           !scenario_has_op(s, FL_SCN_OP_CLUSTER_CONNECT)) {
		return fli_scn_fail(l, fli_scn_yline(pn), "properties",
		                    "no_orphaned_registrations judges what cluster clients leave "
		                    "with the driver, and this scenario connects none");
	} else if ((rc = check_domains(l, s, pn)) != 0) {
		return rc;
	} else if (s->properties == 0 && s->target_properties == 0) {
		return fli_scn_fail(
		        l, fli_scn_yline(pn), "properties",
		        "an empty list checks nothing (leave the key out for the defaults "
		        "that fit the operations)");
	}

	/* budget */
	yaml_node_t *bn = fli_scn_yget(l, root, "budget");
	s->budget_runs = FL_SCN_DEFAULT_RUNS;
	if (bn != NULL && !fli_scn_ynull(bn)) {
		if (!fli_scn_yget(l, bn, "runs") && !fli_scn_yget(l, bn, "seconds"))
			return fli_scn_fail(l, fli_scn_yline(bn), "budget",
			                    "give runs, seconds or both");
		if ((rc = fli_scn_int_field(l, bn, "budget", "runs", r->budget->runs, 1, INT64_MAX,
		                            false, 0, &v)))
			return rc;
		s->budget_runs = (uint64_t)v;
		if (fli_scn_yget(l, bn, "seconds") &&
		    (rc = fli_scn_number_field(l, bn, "budget", "seconds", r->budget->seconds,
		                               &s->budget_seconds)))
			return rc;
		if (fli_scn_yget(l, bn, "seconds") &&
		    !(s->budget_seconds > 0 && s->budget_seconds <= 86400))
			return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, bn, "seconds")),
			                    "budget.seconds", "must be in (0, 86400] (got %g)",
			                    s->budget_seconds);
	}

	/* scheduler */
	yaml_node_t *sn = fli_scn_yget(l, root, "scheduler");
	static const struct fli_raw_sched zero_sched;
	const struct fli_raw_sched *sc = r->scheduler ? r->scheduler : &zero_sched;
	if ((rc = fli_scn_enum_field(l, sn, "scheduler", "kind", sc->kind, sched_names, 2, 0, &iv)))
		return rc;
	s->scheduler = (enum fl_scn_sched_kind)iv;
	if (s->scheduler != FL_SCN_SCHED_PCT && fli_scn_yget(l, sn, "depth"))
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, sn, "depth")),
		                    "scheduler.depth", "applies to kind pct only");
	if ((rc = fli_scn_u32_field(l, sn, "scheduler", "depth", sc->depth, 1, 1000, false,
	                            FL_SCN_DEFAULT_PCT_DEPTH, &s->sched_depth)))
		return rc;
	s->sweep = r->sweep;
	if ((rc = fli_scn_bool_check(l, root, "", "sweep")) != 0)
		return rc;
	/* An actor that does nothing tests nothing: a scenario of such actors
	 * would pass every property over nothing.  Said after the rest, so
	 * that a file's other errors come first. */
	for (unsigned i = 0; i < r->actors_count; i++) {
		yaml_node_t *opsn = fli_scn_yget(l, fli_scn_yitem(l, an, i), "ops");
		char base[32];

		snprintf(base, sizeof base, "actors[%u]", i);
		if (r->actors[i].ops_count == 0)
			return fli_scn_fail(l,
			                    fli_scn_yline(opsn != NULL ? opsn
			                                               : fli_scn_yitem(l, an, i)),
			                    base, "an actor needs one op or more (`ops:` is %s)",
			                    opsn == NULL ? "missing" : "empty");
	}
	/* What the file's own mode cannot run is an error in the file, not a
	 * scenario to skip (and pass the batch without): only --mode may ask
	 * a mode its scenarios cannot all run in. */
	const char *why = fl_scenario_mode_unsupported(s);
	if (why != NULL) {
		yaml_node_t *mn = fli_scn_yget(l, root, "mode");

		return fli_scn_fail(l, mn != NULL ? fli_scn_yline(mn) : 1, "mode",
		                    "%s, and this file's mode is %s", why, mode_names[s->mode]);
	}
	return 0;
}

static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int
parse_document(struct loader *l, const char *text, size_t len)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return fli_scn_fail_nomem(l);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int ok = yaml_parser_load(&parser, &l->doc);
	int rc = 0;
	if (!ok) {
		char ctx[128] = "";
		if (parser.context)
			snprintf(ctx, sizeof ctx, " (%s at line %zu)", parser.context,
			         parser.context_mark.line + 1);
		rc = fli_scn_fail(l, (int)parser.problem_mark.line + 1, "yaml", "%s%s",
		                  parser.problem ? parser.problem : "syntax error", ctx);
		memset(&l->doc, 0, sizeof l->doc);
	}
	yaml_parser_delete(&parser);
	if (rc)
		return rc;
	yaml_node_t *root = yaml_document_get_root_node(&l->doc);
	if (root == NULL)
		return fli_scn_fail(l, 1, "(top)", "empty scenario file");
	if (root->type != YAML_MAPPING_NODE)
		return fli_scn_fail(
		        l, fli_scn_yline(root), "(top)",
		        "a scenario is a mapping (name, description, mode, actors, ...)");
	return 0;
}

/* `target: PATH`: the target's shared object, relative to the scenario's
 * directory unless absolute (or, when not there, to a directory of the
 * environment's FL_TARGET_PATH, colon-separated, as a build tree keeps
 * it), loaded and registered before the ops are read (they name its
 * ops). */
static char target_override[4096];

int
fl_scenario_set_target(const char *path)
{
	if (path == NULL) {
		target_override[0] = '\0';
		return 0;
	}
	if (strlen(path) >= sizeof(target_override))
		return FL_EINVAL;
	snprintf(target_override, sizeof(target_override), "%s", path);
	return 0;
}

const char *
fl_scenario_target_override(void)
{
	const char *env = getenv("FL_TARGET");

	if (target_override[0] != '\0')
		return target_override;
	return env != NULL && env[0] != '\0' ? env : NULL;
}

static int
load_target(struct loader *l)
{
	yaml_node_t *n = fli_scn_yget(l, yaml_document_get_root_node(&l->doc), "target");
	char path[4096], why[512];
	const char *slash, *v;
	int rc;

	if (fl_scenario_target_override() != NULL) {
		/* `faultline run --target PATH` (FL_TARGET): this target,
		 * whatever the scenario says (a twin's build, a library's new
		 * release). */
		const char *o = fl_scenario_target_override();

		rc = fl_target_load(o, &l->target, why, sizeof(why));
		if (rc != 0)
			return fli_scn_fail(l, n != NULL ? fli_scn_yline(n) : 1, "target",
			                    "%s (--target): %s", o, why);
		return 0;
	}
	if (n == NULL)
		return 0;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0)
		return fli_scn_fail(l, fli_scn_yline(n), "target",
		                    "expected the path of a target's shared object");
	v = (const char *)n->data.scalar.value;
	slash = strrchr(l->path, '/');
	/* A path without a slash is a name dlopen looks for in the
	 * library path: one beside a scenario in the working directory is
	 * "./NAME". */
	if (v[0] == '/')
		snprintf(path, sizeof(path), "%s", v);
	else if (slash == NULL)
		snprintf(path, sizeof(path), "./%s", v);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - l->path), l->path, v);
	for (const char *d = getenv("FL_TARGET_PATH");
	     v[0] != '/' && access(path, F_OK) != 0 && d != NULL && *d != '\0';) {
		size_t dl = strcspn(d, ":");
		char cand[4096];

		snprintf(cand, sizeof(cand), "%.*s/%s", (int)dl, d, v);
		if (access(cand, F_OK) == 0) {
			snprintf(path, sizeof(path), "%s", cand);
			snprintf(l->target_found, sizeof(l->target_found), "%s", cand);
		}
		d += dl + (d[dl] == ':');
	}
	rc = fl_target_load(path, &l->target, why, sizeof(why));
	if (rc != 0)
		return fli_scn_fail(l, fli_scn_yline(n), "target", "%s: %s", path, why);
	return 0;
}

/* A copy of text for libcyaml in which every op key that names a
 * registered target's op is TARGET_OP_KEY (a field libcyaml ignores):
 * such ops are read from the document under their own key.  Lines stay
 * where they were.  NULL when there is none (text is used as it is) or
 * when out of memory (*oom). */
static char *
rewrite_target_ops(struct loader *l, const char *text, size_t len, size_t *out_len, bool *oom)
{
	yaml_node_t *actors = fli_scn_yget(l, yaml_document_get_root_node(&l->doc), "actors");
	size_t starts[256], ends[256], n = 0, extra = 0, at = 0, o = 0;
	char *copy;

	*oom = false;
	for (size_t i = 0; actors != NULL && actors->type == YAML_SEQUENCE_NODE; i++) {
		yaml_node_t *a = fli_scn_yitem(l, actors, i), *ops;

		if (a == NULL)
			break;
		ops = a->type == YAML_MAPPING_NODE ? fli_scn_yget(l, a, "ops") : NULL;
		for (size_t j = 0; ops != NULL && ops->type == YAML_SEQUENCE_NODE; j++) {
			yaml_node_t *op = fli_scn_yitem(l, ops, j), *k;

			if (op == NULL)
				break;
			if (op->type != YAML_MAPPING_NODE ||
			    op->data.mapping.pairs.top - op->data.mapping.pairs.start != 1)
				continue;
			k = fli_scn_ynode(l, op->data.mapping.pairs.start[0].key);
			if (k == NULL || k->type != YAML_SCALAR_NODE ||
			    fli_target_op_in(l->target, (const char *)k->data.scalar.value, NULL) ==
			            NULL)
				continue;
			if (n == sizeof(starts) / sizeof(starts[0])) {
				*oom = true; /* reported as too many */
				return NULL;
			}
			starts[n] = k->start_mark.index;
			ends[n] = k->end_mark.index;
			extra += sizeof(TARGET_OP_KEY);
			n++;
		}
	}
	if (n == 0)
		return NULL;
	copy = malloc(len + extra + 1);
	if (copy == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(copy + o, text + at, starts[i] - at);
		o += starts[i] - at;
		memcpy(copy + o, TARGET_OP_KEY, strlen(TARGET_OP_KEY));
		o += strlen(TARGET_OP_KEY);
		at = ends[i];
	}
	memcpy(copy + o, text + at, len - at);
	o += len - at;
	copy[o] = '\0';
	*out_len = o;
	return copy;
}

int
fl_scenario_load_string(const char *path, const char *text, size_t len, struct fl_scenario **out,
                        char *err, size_t errlen)
{
	struct loader l = { .path = path, .err = err, .errlen = errlen };
	struct scn_box *box = NULL;
	struct fli_raw_scenario *raw = NULL;
	char *rewritten = NULL;
	cyaml_config_t cfg = {
		.log_fn = cyaml_log_capture,
		.log_ctx = &l,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_ERROR,
		.flags = CYAML_CFG_DEFAULT,
	};
	int rc;
	if (errlen)
		err[0] = '\0';
	box = calloc(1, sizeof(*box));
	if (box == NULL)
		return fli_scn_fail_nomem(&l);
	l.arena = &box->arena;
	l.s = &box->s;
	if ((rc = parse_document(&l, text, len)) || (rc = check_keys(&l)) || (rc = load_target(&l)))
		goto fail;
	bool oom;
	size_t rlen = len;
	rewritten = rewrite_target_ops(&l, text, len, &rlen, &oom);
	if (oom) {
		rc = fli_scn_fail(&l, 1, "actors", "out of memory, or more than 256 target ops");
		goto fail;
	}
	cyaml_err_t ce = cyaml_load_data((const uint8_t *)(rewritten ? rewritten : text), rlen,
	                                 &cfg, &fli_scenario_schema, (cyaml_data_t **)&raw, NULL);
	if (ce != CYAML_OK) {
		raw = NULL;
		rc = cyaml_error(&l, ce);
		goto fail;
	}
	if ((rc = convert(&l, raw, &box->s)))
		goto fail;
	if ((box->s.path = fli_scn_adup(&l, path)) == NULL) {
		rc = l.rc;
		goto fail;
	}
	box->s.hash = fnv1a(text, len);
	if (l.warning_count) {
		const char **w = fli_scn_arena_alloc(l.arena, l.warning_count * sizeof(*w));
		if (w == NULL) {
			rc = fli_scn_fail_nomem(&l);
			goto fail;
		}
		for (size_t i = 0; i < l.warning_count; i++)
			if ((w[i] = fli_scn_adup(&l, l.warnings[i])) == NULL) {
				rc = l.rc;
				goto fail;
			}
		box->s.warnings = w;
		box->s.warning_count = l.warning_count;
	}
	*out = &box->s;
	box = NULL;
	rc = 0;
fail:
	free(rewritten);
	if (raw)
		cyaml_free(&cfg, &fli_scenario_schema, raw, 0);
	yaml_document_delete(&l.doc);
	for (size_t i = 0; i < l.warning_count; i++)
		free(l.warnings[i]);
	free(l.warnings);
	free(l.obj_line);
	free(l.refs);
	free(l.barriers);
	if (box) {
		fli_scn_arena_free(box->arena);
		free(box);
	}
	return rc;
}

int
fl_scenario_load(const char *path, struct fl_scenario **out, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;
		if (errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? FL_ENOENT : FL_EIO;
	}
	char *buf = malloc(MAX_FILE_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		if (errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return FL_ENOMEM;
	}
	size_t n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
	int rerr = ferror(f);
	fclose(f);
	int rc;
	if (rerr) {
		if (errlen)
			snprintf(err, errlen, "%s: read error", path);
		rc = FL_EIO;
	} else if (n > MAX_FILE_BYTES) {
		if (errlen)
			snprintf(err, errlen, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
		rc = FL_EINVAL;
	} else {
		rc = fl_scenario_load_string(path, buf, n, out, err, errlen);
	}
	free(buf);
	return rc;
}

void
fl_scenario_free(struct fl_scenario *s)
{
	if (s == NULL)
		return;
	struct scn_box *box = (struct scn_box *)s;
	fli_scn_arena_free(box->arena);
	free(box);
}

uint64_t
fl_scenario_hash(const struct fl_scenario *s)
{
	return s->hash;
}
