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
#include <strings.h>

#include <yaml.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/scenario.h"
#include "schema.h"

#define MAX_FILE_BYTES (1u << 20)

/* ---- arena: everything a scenario owns, freed at once ---- */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct scn_box {
	struct fl_scenario s; /* first: fl_scenario_free casts back */
	struct arena_block *arena;
};

static void *arena_alloc(struct arena_block **a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (n == 0)
		n = sizeof(max_align_t);
	if (*a == NULL || (*a)->used + n > (*a)->cap) {
		size_t cap = n > 8192 ? n : 8192;
		struct arena_block *b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->next = *a;
		b->used = 0;
		b->cap = cap;
		*a = b;
	}
	void *p = (char *)(*a)->data + (*a)->used;
	(*a)->used += n;
	memset(p, 0, n);
	return p;
}

static void arena_free(struct arena_block *a)
{
	while (a != NULL) {
		struct arena_block *next = a->next;
		free(a);
		a = next;
	}
}

/* ---- loader state ---- */

enum { REF_PUB = 1 << FL_SCN_OBJ_PUBLICATION, REF_SUB = 1 << FL_SCN_OBJ_SUBSCRIPTION,
       REF_IMG = 1 << FL_SCN_OBJ_IMAGE, REF_SERVER = 1 << FL_SCN_OBJ_SERVER,
       REF_CONN = 1 << FL_SCN_OBJ_CONNECTION, REF_CTX = 1 << FL_SCN_OBJ_CTX };

struct pending_ref {
	const char *name;
	fl_scn_ref *slot;
	unsigned kinds; /* REF_* bits accepted */
	bool cross_ok;  /* may name another client's object */
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
};

static int fail(struct loader *l, int line, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct loader *l, int line, const char *field, const char *fmt, ...)
{
	if (l->failed)
		return l->rc;
	l->failed = true;
	l->rc = FL_EINVAL;
	if (l->errlen == 0)
		return l->rc;
	int n;
	if (line > 0)
		n = snprintf(l->err, l->errlen, "%s:%d: %s: ", l->path, line, field);
	else
		n = snprintf(l->err, l->errlen, "%s: %s: ", l->path, field);
	if (n >= 0 && (size_t)n < l->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return l->rc;
}

static int fail_nomem(struct loader *l)
{
	if (!l->failed) {
		l->failed = true;
		l->rc = FL_ENOMEM;
		if (l->errlen)
			snprintf(l->err, l->errlen, "%s: out of memory", l->path);
	}
	return l->rc;
}

static void warn(struct loader *l, int line, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void warn(struct loader *l, int line, const char *field, const char *fmt, ...)
{
	char buf[512], msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof buf, "%s:%d: %s: %s", l->path, line, field, msg);
	char **w = realloc(l->warnings, (l->warning_count + 1) * sizeof(*w));
	if (w == NULL)
		return;
	l->warnings = w;
	w[l->warning_count] = strdup(buf);
	if (w[l->warning_count] != NULL)
		l->warning_count++;
}

static const char *adup(struct loader *l, const char *str)
{
	size_t n = strlen(str) + 1;
	char *p = arena_alloc(l->arena, n);
	if (p == NULL) {
		fail_nomem(l);
		return NULL;
	}
	memcpy(p, str, n);
	return p;
}

/* ---- the libyaml document: lines and presence ---- */

static yaml_node_t *ynode(struct loader *l, int id)
{
	return yaml_document_get_node(&l->doc, id);
}

static int yline(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

static bool ynull(const yaml_node_t *n)
{
	if (n == NULL)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* The value node of `key` in mapping `map`, or NULL; *keyline gets the key's
 * line when non-NULL. */
static yaml_node_t *yget_k(struct loader *l, yaml_node_t *map, const char *key, int *keyline)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = ynode(l, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0) {
			if (keyline)
				*keyline = yline(k);
			return ynode(l, p->value);
		}
	}
	return NULL;
}

static yaml_node_t *yget(struct loader *l, yaml_node_t *map, const char *key)
{
	return yget_k(l, map, key, NULL);
}

static yaml_node_t *yitem(struct loader *l, yaml_node_t *seq, size_t i)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	if ((size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) <= i)
		return NULL;
	return ynode(l, seq->data.sequence.items.start[i]);
}

/* The line of a mapping, or the current item's line when the mapping is
 * absent or null (`offer:` with no value). */
static int map_line(struct loader *l, yaml_node_t *map)
{
	return map && !ynull(map) ? yline(map) : l->line;
}

static void join(char *buf, size_t n, const char *base, const char *key)
{
	if (base[0] != '\0')
		snprintf(buf, n, "%s.%s", base, key);
	else
		snprintf(buf, n, "%s", key);
}

/* ---- typed fields ---- */

static int need(struct loader *l, yaml_node_t *map, const char *base, const char *key)
{
	char f[160];
	join(f, sizeof f, base, key);
	return fail(l, map_line(l, map), f, "required field missing");
}

static int int_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                     int64_t v, int64_t min, int64_t max, bool required, int64_t dflt,
                     int64_t *out)
{
	yaml_node_t *n = yget(l, map, key);
	if (n == NULL) {
		if (required)
			return need(l, map, base, key);
		*out = dflt;
		return 0;
	}
	if (v < min || v > max) {
		char f[160];
		join(f, sizeof f, base, key);
		if (max == INT64_MAX)
			return fail(l, yline(n), f, "must be >= %lld (got %lld)", (long long)min,
			            (long long)v);
		return fail(l, yline(n), f, "must be between %lld and %lld (got %lld)",
		            (long long)min, (long long)max, (long long)v);
	}
	*out = v;
	return 0;
}

static int u32_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                     int64_t v, int64_t min, int64_t max, bool required, uint32_t dflt,
                     uint32_t *out)
{
	int64_t r;
	int rc = int_field(l, map, base, key, v, min, max, required, dflt, &r);
	if (rc == 0)
		*out = (uint32_t)r;
	return rc;
}

/* libcyaml reads any unknown word as true; accept only YAML's spellings. */
static int bool_check(struct loader *l, yaml_node_t *map, const char *base, const char *key)
{
	static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
	yaml_node_t *n = yget(l, map, key);
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp((const char *)n->data.scalar.value, words[i]) == 0)
			return 0;
	char f[160];
	join(f, sizeof f, base, key);
	return fail(l, yline(n), f, "expected true or false (got '%s')",
	            (const char *)n->data.scalar.value);
}

static bool valid_name(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '/'))
			return false;
	}
	return true;
}

/* A string field; `name` asks for an identifier (letters, digits, _-./). */
static int str_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                     const char *raw, bool required, bool name, const char **out)
{
	if (raw == NULL) {
		if (required)
			return need(l, map, base, key);
		*out = NULL;
		return 0;
	}
	char f[160];
	join(f, sizeof f, base, key);
	int line = yline(yget(l, map, key));
	if (raw[0] == '\0')
		return fail(l, line, f, "must not be empty");
	if (name && !valid_name(raw))
		return fail(l, line, f, "'%s' is not a valid name (letters, digits, '_', '-', '.', '/')",
		            raw);
	*out = adup(l, raw);
	return *out ? 0 : l->rc;
}

static int enum_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                      const char *raw, const char *const *names, int count, int dflt, int *out)
{
	if (raw == NULL) {
		if (dflt < 0)
			return need(l, map, base, key);
		*out = dflt;
		return 0;
	}
	for (int i = 0; i < count; i++) {
		if (strcmp(raw, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	char f[160], list[256] = "";
	join(f, sizeof f, base, key);
	for (int i = 0; i < count; i++) {
		strncat(list, names[i], sizeof list - strlen(list) - 1);
		if (i + 1 < count)
			strncat(list, ", ", sizeof list - strlen(list) - 1);
	}
	return fail(l, yline(yget(l, map, key)), f, "must be one of %s (got '%s')", list, raw);
}

/* ---- objects, references, barriers ---- */

static const char *const obj_kind_names[] = {
	[FL_SCN_OBJ_PUBLICATION] = "publication", [FL_SCN_OBJ_SUBSCRIPTION] = "subscription",
	[FL_SCN_OBJ_IMAGE] = "image",             [FL_SCN_OBJ_SERVER] = "server",
	[FL_SCN_OBJ_CONNECTION] = "connection",   [FL_SCN_OBJ_CTX] = "context",
};

static int define_obj(struct loader *l, yaml_node_t *map, const char *base, const char *name,
                      enum fl_scn_obj_kind kind, int actor, int op, fl_scn_ref *slot)
{
	char f[160];
	join(f, sizeof f, base, "as");
	int line = yline(yget(l, map, "as"));
	for (size_t i = 0; i < l->obj_count; i++) {
		if (strcmp(l->objs[i].name, name) == 0)
			return fail(l, line, f, "'%s' is already defined at line %d", name,
			            l->obj_line[i]);
	}
	if (l->obj_count == l->obj_cap)
		return fail_nomem(l); /* cannot happen: one object per op at most */
	struct fl_scenario_object *o = &l->objs[l->obj_count];
	o->name = name;
	o->kind = kind;
	o->actor = actor;
	o->op = op;
	l->obj_line[l->obj_count] = line;
	*slot = (fl_scn_ref)l->obj_count++;
	return 0;
}

/* Records a reference to resolve once every object is known.  A NULL name
 * leaves the slot at -1. */
static int add_ref(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                   const char *name, unsigned kinds, bool cross_ok, int actor, int op,
                   fl_scn_ref *slot)
{
	*slot = -1;
	if (name == NULL)
		return 0;
	if (l->ref_count == l->ref_cap) {
		size_t cap = l->ref_cap ? l->ref_cap * 2 : 32;
		struct pending_ref *r = realloc(l->refs, cap * sizeof(*r));
		if (r == NULL)
			return fail_nomem(l);
		l->refs = r;
		l->ref_cap = cap;
	}
	struct pending_ref *r = &l->refs[l->ref_count++];
	r->name = name;
	r->slot = slot;
	r->kinds = kinds;
	r->cross_ok = cross_ok;
	r->line = yline(yget(l, map, key));
	r->actor = actor;
	r->op = op;
	join(r->field, sizeof r->field, base, key);
	return 0;
}

static const char *kinds_text(unsigned kinds, char *buf, size_t n)
{
	buf[0] = '\0';
	for (int k = 0; k <= FL_SCN_OBJ_CTX; k++) {
		if (!(kinds & (1u << k)))
			continue;
		if (buf[0] != '\0')
			strncat(buf, " or ", n - strlen(buf) - 1);
		strncat(buf, obj_kind_names[k], n - strlen(buf) - 1);
	}
	return buf;
}

static int resolve_refs(struct loader *l, const struct fl_scenario_actor *actors)
{
	for (size_t i = 0; i < l->ref_count; i++) {
		struct pending_ref *r = &l->refs[i];
		char want[96];
		size_t k;
		for (k = 0; k < l->obj_count; k++)
			if (strcmp(l->objs[k].name, r->name) == 0)
				break;
		if (k == l->obj_count)
			return fail(l, r->line, r->field, "unknown %s '%s'",
			            kinds_text(r->kinds, want, sizeof want), r->name);
		const struct fl_scenario_object *o = &l->objs[k];
		if (!(r->kinds & (1u << o->kind)))
			return fail(l, r->line, r->field, "'%s' is a %s (line %d), expected a %s",
			            r->name, obj_kind_names[o->kind], l->obj_line[k],
			            kinds_text(r->kinds, want, sizeof want));
		if (o->actor == r->actor && o->op >= r->op)
			return fail(l, r->line, r->field, "'%s' is used before it is defined (line %d)",
			            r->name, l->obj_line[k]);
		const struct fl_scenario_actor *owner = &actors[o->actor], *user = &actors[r->actor];
		if (!r->cross_ok && strcmp(owner->client, user->client) != 0)
			return fail(l, r->line, r->field,
			            "%s '%s' belongs to client '%s' (actor %s); actor %s uses client '%s'",
			            obj_kind_names[o->kind], r->name, owner->client, owner->name,
			            user->name, user->client);
		*r->slot = (fl_scn_ref)k;
	}
	return 0;
}

static int add_barrier(struct loader *l, const char *name, int actor, int line,
                       const char *field)
{
	if (l->barrier_count == l->barrier_cap) {
		size_t cap = l->barrier_cap ? l->barrier_cap * 2 : 8;
		struct barrier_use *b = realloc(l->barriers, cap * sizeof(*b));
		if (b == NULL)
			return fail_nomem(l);
		l->barriers = b;
		l->barrier_cap = cap;
	}
	struct barrier_use *b = &l->barriers[l->barrier_count++];
	b->name = name;
	b->actor = actor;
	b->line = line;
	snprintf(b->field, sizeof b->field, "%s", field);
	return 0;
}

static int check_barriers(struct loader *l, const struct fl_scenario_actor *actors)
{
	for (size_t i = 0; i < l->barrier_count; i++) {
		bool other = false;
		for (size_t j = 0; j < l->barrier_count && !other; j++)
			other = strcmp(l->barriers[i].name, l->barriers[j].name) == 0 &&
			        l->barriers[i].actor != l->barriers[j].actor;
		if (!other)
			return fail(l, l->barriers[i].line, l->barriers[i].field,
			            "barrier '%s' is reached only by actor %s; a barrier needs two or "
			            "more actors",
			            l->barriers[i].name, actors[l->barriers[i].actor].name);
	}
	return 0;
}

/* ---- operations ---- */

static const char *const op_names[FL_SCN_OP__COUNT] = {
	[FL_SCN_OP_ADD_PUBLICATION] = "add_publication",
	[FL_SCN_OP_REMOVE_PUBLICATION] = "remove_publication",
	[FL_SCN_OP_ADD_SUBSCRIPTION] = "add_subscription",
	[FL_SCN_OP_REMOVE_SUBSCRIPTION] = "remove_subscription",
	[FL_SCN_OP_OFFER] = "offer",
	[FL_SCN_OP_POLL] = "poll",
	[FL_SCN_OP_TAKE_IMAGE] = "take_image",
	[FL_SCN_OP_RELEASE_IMAGE] = "release_image",
	[FL_SCN_OP_CLOSE_CLIENT] = "close_client",
	[FL_SCN_OP_WAIT] = "wait",
	[FL_SCN_OP_BARRIER] = "barrier",
	[FL_SCN_OP_CRASH_SELF] = "crash_self",
	[FL_SCN_OP_OFFER_SERVICE] = "offer_service",
	[FL_SCN_OP_CONNECT_SERVICE] = "connect_service",
	[FL_SCN_OP_REQUEST] = "request",
	[FL_SCN_OP_RESPOND] = "respond",
	[FL_SCN_OP_CTX_OPEN] = "ctx_open",
	[FL_SCN_OP_CTX_CLOSE] = "ctx_close",
};

const char *fl_scenario_op_name(enum fl_scn_op_kind kind)
{
	if ((unsigned)kind >= FL_SCN_OP__COUNT)
		return "?";
	return op_names[kind];
}

static const char *const prop_names[FL_SCN_PROP_COUNT] = {
	"image_refs",       "no_leaked_files", "gauges_zero",    "no_pending_registrations",
	"no_new_fds",       "no_unexpected_signal", "delivery_in_order", "no_loss",
	"no_duplicates",    "chunks_balanced", "ports_zero",     "messages_freed_once",
};

const char *fl_scenario_property_name(uint32_t prop)
{
	for (int i = 0; i < FL_SCN_PROP_COUNT; i++)
		if (prop == (1u << i))
			return prop_names[i];
	return NULL;
}

#define MAX_MSG_SIZE (16 * 1024 * 1024)
#define MAX_COUNT 1000000000
#define MAX_MS (24 * 3600 * 1000)

static int cancel_field(struct loader *l, yaml_node_t *map, const char *base, const char *raw,
                        bool async, int *out)
{
	*out = FL_SCN_CANCEL_NONE;
	if (raw == NULL)
		return 0;
	char f[160];
	join(f, sizeof f, base, "cancel_at");
	int line = yline(yget(l, map, "cancel_at"));
	if (!async)
		return fail(l, line, f, "needs async: true");
	if (strcmp(raw, "random") == 0) {
		*out = FL_SCN_CANCEL_RANDOM;
		return 0;
	}
	char *end;
	errno = 0;
	long v = strtol(raw, &end, 10);
	if (raw[0] == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 1000000)
		return fail(l, line, f, "must be a step index >= 0 or 'random' (got '%s')", raw);
	*out = (int)v;
	return 0;
}

static int convert_op(struct loader *l, const struct fl_raw_op *raw, yaml_node_t *opn,
                      const char *abase, int ai, int oi, struct fl_scenario_op *op,
                      enum fl_scn_actor_kind akind)
{
	static const struct fl_raw_op zero_op;
	char base[128], obase[96];
	int rc = 0;
	int64_t v;
	snprintf(obase, sizeof obase, "%s.ops[%d]", abase, oi);
	op->line = l->line = yline(opn);
	if (opn == NULL || opn->type != YAML_MAPPING_NODE ||
	    opn->data.mapping.pairs.top - opn->data.mapping.pairs.start != 1)
		return fail(l, op->line, obase,
		            "an operation is a mapping with exactly one key, e.g. '- wait: {ms: 5}'");
	yaml_node_t *key = ynode(l, opn->data.mapping.pairs.start[0].key);
	yaml_node_t *m = ynode(l, opn->data.mapping.pairs.start[0].value);
	if (ynull(m))
		m = NULL;
	const char *kname = key && key->type == YAML_SCALAR_NODE
	                            ? (const char *)key->data.scalar.value
	                            : "?";
	int kind = -1;
	for (int k = 0; k < FL_SCN_OP__COUNT; k++)
		if (strcmp(op_names[k], kname) == 0)
			kind = k;
	if (kind < 0)
		return fail(l, op->line, obase, "unknown operation '%s'", kname);
	if (raw == NULL)
		raw = &zero_op;
	op->kind = (enum fl_scn_op_kind)kind;
	snprintf(base, sizeof base, "%s.%s", obase, kname);

	switch (op->kind) {
	case FL_SCN_OP_ADD_PUBLICATION:
	case FL_SCN_OP_ADD_SUBSCRIPTION: {
		static const struct fl_raw_add zero;
		const struct fl_raw_add *a = raw->add_publication ? raw->add_publication
		                           : raw->add_subscription ? raw->add_subscription
		                                                   : &zero;
		struct fl_scn_op_add *o = &op->u.add;
		bool pub = op->kind == FL_SCN_OP_ADD_PUBLICATION;
		const char *as = NULL;
		rc = str_field(l, m, base, "channel", a->channel, true, false, &o->channel);
		if (!rc)
			rc = int_field(l, m, base, "stream", a->stream, INT32_MIN, INT32_MAX, true, 0, &v);
		if (!rc)
			rc = bool_check(l, m, base, "exclusive");
		if (!rc)
			rc = bool_check(l, m, base, "async");
		if (!rc) {
			o->stream = (int32_t)v;
			o->exclusive = a->exclusive;
			o->async = a->async;
			rc = cancel_field(l, m, base, a->cancel_at, a->async, &o->cancel_at);
		}
		if (!rc)
			rc = str_field(l, m, base, "as", a->as, true, true, &as);
		if (!rc)
			rc = define_obj(l, m, base, as,
			                pub ? FL_SCN_OBJ_PUBLICATION : FL_SCN_OBJ_SUBSCRIPTION, ai, oi,
			                &o->as);
		break;
	}
	case FL_SCN_OP_REMOVE_PUBLICATION:
	case FL_SCN_OP_REMOVE_SUBSCRIPTION: {
		static const struct fl_raw_remove zero;
		const struct fl_raw_remove *a = raw->remove_publication ? raw->remove_publication
		                              : raw->remove_subscription ? raw->remove_subscription
		                                                         : &zero;
		bool pub = op->kind == FL_SCN_OP_REMOVE_PUBLICATION;
		const char *key_name = pub ? "pub" : "sub", *target = NULL;
		struct fl_scn_op_remove *o = &op->u.remove;
		rc = str_field(l, m, base, key_name, a->target, true, true, &target);
		if (!rc)
			rc = add_ref(l, m, base, key_name, target, pub ? REF_PUB : REF_SUB, false, ai, oi,
			             &o->target);
		o->async = a->async;
		if (!rc)
			rc = bool_check(l, m, base, "async");
		if (!rc)
			rc = cancel_field(l, m, base, a->cancel_at, a->async, &o->cancel_at);
		break;
	}
	case FL_SCN_OP_OFFER: {
		static const struct fl_raw_offer zero;
		const struct fl_raw_offer *a = raw->offer ? raw->offer : &zero;
		struct fl_scn_op_offer *o = &op->u.offer;
		const char *pub = NULL;
		rc = str_field(l, m, base, "pub", a->pub, true, true, &pub);
		if (!rc)
			rc = add_ref(l, m, base, "pub", pub, REF_PUB, false, ai, oi, &o->pub);
		if (!rc)
			rc = u32_field(l, m, base, "count", a->count, 1, MAX_COUNT, true, 0, &o->count);
		if (rc)
			break;
		yaml_node_t *sizes = yget(l, m, "sizes");
		if (sizes != NULL && yget(l, m, "size") != NULL) {
			rc = fail(l, yline(sizes), base, "give size or sizes, not both");
		} else if (sizes != NULL) {
			char f[160];
			join(f, sizeof f, base, "sizes");
			if (a->sizes_count != 2 || a->sizes[0] < 0 || a->sizes[0] > a->sizes[1] ||
			    a->sizes[1] > MAX_MSG_SIZE)
				rc = fail(l, yline(sizes), f,
				          "must be [min, max] with 0 <= min <= max <= %d", MAX_MSG_SIZE);
			else {
				o->size_min = (uint32_t)a->sizes[0];
				o->size_max = (uint32_t)a->sizes[1];
			}
		} else {
			rc = u32_field(l, m, base, "size", a->size, 0, MAX_MSG_SIZE, false, 64,
			               &o->size_min);
			o->size_max = o->size_min;
		}
		break;
	}
	case FL_SCN_OP_POLL: {
		static const struct fl_raw_poll zero;
		const struct fl_raw_poll *a = raw->poll ? raw->poll : &zero;
		struct fl_scn_op_poll *o = &op->u.poll;
		const char *sub = NULL;
		rc = str_field(l, m, base, "sub", a->sub, true, true, &sub);
		if (!rc)
			rc = add_ref(l, m, base, "sub", sub, REF_SUB, false, ai, oi, &o->sub);
		if (!rc)
			rc = u32_field(l, m, base, "until", a->until, 1, MAX_COUNT, true, 0, &o->until);
		if (!rc)
			rc = u32_field(l, m, base, "deadline_ms", a->deadline_ms, 1, MAX_MS, false, 0,
			               &o->deadline_ms);
		break;
	}
	case FL_SCN_OP_TAKE_IMAGE: {
		static const struct fl_raw_take zero;
		const struct fl_raw_take *a = raw->take_image ? raw->take_image : &zero;
		struct fl_scn_op_take_image *o = &op->u.take_image;
		const char *sub = NULL, *from = NULL, *as = NULL;
		rc = str_field(l, m, base, "sub", a->sub, true, true, &sub);
		if (!rc)
			rc = add_ref(l, m, base, "sub", sub, REF_SUB, false, ai, oi, &o->sub);
		if (!rc)
			rc = str_field(l, m, base, "from", a->from, false, true, &from);
		if (!rc && from != NULL && yget(l, m, "index") != NULL)
			rc = fail(l, yline(yget(l, m, "index")), base, "give from or index, not both");
		if (!rc)
			rc = add_ref(l, m, base, "from", from, REF_PUB, true, ai, oi, &o->from);
		if (!rc)
			rc = u32_field(l, m, base, "index", a->index, 0, 1 << 20, false, 0, &o->index);
		if (!rc)
			rc = str_field(l, m, base, "as", a->as, true, true, &as);
		if (!rc)
			rc = define_obj(l, m, base, as, FL_SCN_OBJ_IMAGE, ai, oi, &o->as);
		break;
	}
	case FL_SCN_OP_RELEASE_IMAGE:
	case FL_SCN_OP_CTX_CLOSE: {
		static const struct fl_raw_name zero;
		bool rel = op->kind == FL_SCN_OP_RELEASE_IMAGE;
		const struct fl_raw_name *a = rel ? raw->release_image : raw->ctx_close;
		const char *key_name = rel ? "img" : "ctx", *name = NULL;
		fl_scn_ref *slot = rel ? &op->u.release_image.img : &op->u.ctx.ctx;
		if (!rel)
			op->u.ctx.on = -1;
		rc = str_field(l, m, base, key_name, (a ? a : &zero)->name, true, true, &name);
		if (!rc)
			rc = add_ref(l, m, base, key_name, name, rel ? REF_IMG : REF_CTX, false, ai, oi,
			             slot);
		break;
	}
	case FL_SCN_OP_WAIT: {
		static const struct fl_raw_wait zero;
		const struct fl_raw_wait *a = raw->wait ? raw->wait : &zero;
		rc = u32_field(l, m, base, "ms", a->ms, 0, MAX_MS, true, 0, &op->u.wait.ms);
		break;
	}
	case FL_SCN_OP_BARRIER: {
		static const struct fl_raw_name zero;
		const struct fl_raw_name *a = raw->barrier ? raw->barrier : &zero;
		rc = str_field(l, m, base, "name", a->name, true, true, &op->u.barrier.name);
		if (!rc) {
			char f[160];
			join(f, sizeof f, base, "name");
			rc = add_barrier(l, op->u.barrier.name, ai, yline(yget(l, m, "name")), f);
		}
		break;
	}
	case FL_SCN_OP_CLOSE_CLIENT:
		break;
	case FL_SCN_OP_CRASH_SELF:
		if (akind != FL_SCN_ACTOR_PROCESS)
			rc = fail(l, op->line, base, "crash_self needs an actor of kind process");
		break;
	case FL_SCN_OP_OFFER_SERVICE:
	case FL_SCN_OP_CONNECT_SERVICE: {
		static const struct fl_raw_service zero;
		bool server = op->kind == FL_SCN_OP_OFFER_SERVICE;
		const struct fl_raw_service *a = server ? raw->offer_service : raw->connect_service;
		const char *as = NULL;
		if (a == NULL)
			a = &zero;
		rc = str_field(l, m, base, "service", a->service, true, true, &op->u.service.service);
		if (!rc)
			rc = str_field(l, m, base, "as", a->as, true, true, &as);
		if (!rc)
			rc = define_obj(l, m, base, as,
			                server ? FL_SCN_OBJ_SERVER : FL_SCN_OBJ_CONNECTION, ai, oi,
			                &op->u.service.as);
		break;
	}
	case FL_SCN_OP_REQUEST: {
		static const struct fl_raw_request zero;
		const struct fl_raw_request *a = raw->request ? raw->request : &zero;
		struct fl_scn_op_request *o = &op->u.request;
		const char *conn = NULL, *ctx = NULL;
		rc = str_field(l, m, base, "conn", a->conn, true, true, &conn);
		if (!rc)
			rc = add_ref(l, m, base, "conn", conn, REF_CONN, false, ai, oi, &o->conn);
		if (!rc)
			rc = str_field(l, m, base, "ctx", a->ctx, false, true, &ctx);
		if (!rc)
			rc = add_ref(l, m, base, "ctx", ctx, REF_CTX, false, ai, oi, &o->ctx);
		if (!rc)
			rc = u32_field(l, m, base, "count", a->count, 1, MAX_COUNT, true, 0, &o->count);
		if (!rc)
			rc = u32_field(l, m, base, "size", a->size, 0, MAX_MSG_SIZE, false, 64, &o->size);
		if (!rc)
			rc = u32_field(l, m, base, "deadline_ms", a->deadline_ms, 1, MAX_MS, false, 0,
			               &o->deadline_ms);
		break;
	}
	case FL_SCN_OP_RESPOND: {
		static const struct fl_raw_respond zero;
		const struct fl_raw_respond *a = raw->respond ? raw->respond : &zero;
		struct fl_scn_op_respond *o = &op->u.respond;
		const char *server = NULL, *ctx = NULL;
		rc = str_field(l, m, base, "server", a->server, true, true, &server);
		if (!rc)
			rc = add_ref(l, m, base, "server", server, REF_SERVER, false, ai, oi, &o->server);
		if (!rc)
			rc = str_field(l, m, base, "ctx", a->ctx, false, true, &ctx);
		if (!rc)
			rc = add_ref(l, m, base, "ctx", ctx, REF_CTX, false, ai, oi, &o->ctx);
		if (!rc)
			rc = u32_field(l, m, base, "count", a->count, 1, MAX_COUNT, true, 0, &o->count);
		break;
	}
	case FL_SCN_OP_CTX_OPEN: {
		static const struct fl_raw_ctx_open zero;
		const struct fl_raw_ctx_open *a = raw->ctx_open ? raw->ctx_open : &zero;
		const char *on = NULL, *as = NULL;
		rc = str_field(l, m, base, "on", a->on, true, true, &on);
		if (!rc)
			rc = add_ref(l, m, base, "on", on, REF_CONN | REF_SERVER, false, ai, oi,
			             &op->u.ctx.on);
		if (!rc)
			rc = str_field(l, m, base, "as", a->as, true, true, &as);
		if (!rc)
			rc = define_obj(l, m, base, as, FL_SCN_OBJ_CTX, ai, oi, &op->u.ctx.ctx);
		break;
	}
	case FL_SCN_OP__COUNT:
		break;
	}
	return rc;
}

/* ---- faults ---- */

static const struct {
	const char *name;
	int value;
} errno_table[] = {
	{"EPERM", EPERM},   {"ENOENT", ENOENT}, {"EINTR", EINTR},     {"EIO", EIO},
	{"ENXIO", ENXIO},   {"EBADF", EBADF},   {"EAGAIN", EAGAIN},   {"ENOMEM", ENOMEM},
	{"EACCES", EACCES}, {"EFAULT", EFAULT}, {"EBUSY", EBUSY},     {"EEXIST", EEXIST},
	{"ENODEV", ENODEV}, {"EINVAL", EINVAL}, {"ENFILE", ENFILE},   {"EMFILE", EMFILE},
	{"EFBIG", EFBIG},   {"ENOSPC", ENOSPC}, {"EROFS", EROFS},     {"ENAMETOOLONG", ENAMETOOLONG},
	{"ETIMEDOUT", ETIMEDOUT}, {"ECONNREFUSED", ECONNREFUSED}, {"EPIPE", EPIPE},
};

static bool known_point(const char *point, bool *registered)
{
	size_t n = strlen(point);
	bool prefix = n > 0 && point[n - 1] == '*';
	if (prefix)
		n--;
	*registered = false;
	for (const char *const *p = fl_fault_point_names; *p != NULL; p++) {
		if (prefix ? strncmp(*p, point, n) == 0 : strcmp(*p, point) == 0) {
			*registered = true;
			return true;
		}
	}
	return strncmp(point, "transport/", 10) == 0 || strncmp(point, "posix/", 6) == 0 ||
	       strncmp(point, "libc/", 5) == 0;
}

static int convert_fault(struct loader *l, const struct fl_raw_fault *a, yaml_node_t *fn, int fi,
                         struct fl_scenario_fault *o, const struct fl_scenario *s)
{
	static const char *const actions[] = {"error", "delay", "drop", "crash"};
	char base[32], f[64];
	int rc, act;
	snprintf(base, sizeof base, "faults[%d]", fi);
	o->line = l->line = yline(fn);
	o->actor_index = -1;
	rc = str_field(l, fn, base, "point", a->point, true, false, &o->point);
	if (rc)
		return rc;
	int pline = yline(yget(l, fn, "point"));
	join(f, sizeof f, base, "point");
	bool registered;
	if (!known_point(o->point, &registered))
		return fail(l, pline, f,
		            "unknown fault point '%s' (expected a registered transport/ point, "
		            "or posix/... or libc/... for libfiu's preload)",
		            o->point);
	if (!registered && strncmp(o->point, "transport/", 10) == 0)
		warn(l, pline, f, "'%s' is not in this build's fault point registry", o->point);
	if (registered == false && strncmp(o->point, "transport/", 10) != 0 &&
	    s->mode != FL_SCN_MODE_PROC)
		return fail(l, pline, f, "syscall point '%s' needs mode proc (libfiu preload)",
		            o->point);
	rc = enum_field(l, fn, base, "action", a->action, actions, 4, -1, &act);
	if (rc)
		return rc;
	o->action = (enum fl_scn_fault_action)act;

	yaml_node_t *wn = yget(l, fn, "when");
	o->when = FL_SCN_WHEN_ALWAYS;
	if (wn != NULL && !ynull(wn)) {
		char wb[48];
		int64_t v;
		snprintf(wb, sizeof wb, "%s.when", base);
		int given = (yget(l, wn, "nth") != NULL) + (yget(l, wn, "after") != NULL) +
		            (yget(l, wn, "probability") != NULL);
		if (given != 1)
			return fail(l, yline(wn), wb, "give exactly one of nth, after, probability");
		if (yget(l, wn, "nth")) {
			o->when = FL_SCN_WHEN_NTH;
			rc = int_field(l, wn, wb, "nth", a->when->nth, 1, INT64_MAX, true, 0, &v);
			o->n = (uint64_t)v;
		} else if (yget(l, wn, "after")) {
			o->when = FL_SCN_WHEN_AFTER;
			rc = int_field(l, wn, wb, "after", a->when->after, 1, INT64_MAX, true, 0, &v);
			o->n = (uint64_t)v;
		} else {
			join(f, sizeof f, wb, "probability");
			o->when = FL_SCN_WHEN_PROBABILITY;
			o->probability = a->when->probability;
			if (!(o->probability > 0.0 && o->probability <= 1.0))
				return fail(l, yline(yget(l, wn, "probability")), f,
				            "must be in (0, 1] (got %g)", o->probability);
		}
		if (rc)
			return rc;
	}

	yaml_node_t *en = yget(l, fn, "errno"), *cn = yget(l, fn, "code");
	if ((en || cn) && o->action != FL_SCN_FAULT_ERROR && o->action != FL_SCN_FAULT_DROP)
		return fail(l, yline(en ? en : cn), base, "%s applies to action error or drop only",
		            en ? "errno" : "code");
	if (en && cn)
		return fail(l, yline(cn), base, "give errno or code, not both");
	if (en && a->errno_name) {
		join(f, sizeof f, base, "errno");
		char *end;
		long v = strtol(a->errno_name, &end, 10);
		if (*end == '\0' && a->errno_name[0] != '\0' && v > 0 && v < 4096) {
			o->error = (int)v;
		} else {
			for (size_t i = 0; i < sizeof errno_table / sizeof errno_table[0]; i++)
				if (strcmp(errno_table[i].name, a->errno_name) == 0)
					o->error = errno_table[i].value;
			if (o->error == 0)
				return fail(l, yline(en), f, "unknown errno '%s'", a->errno_name);
		}
	}
	if (cn && a->code) {
		join(f, sizeof f, base, "code");
		for (int c = -1; c >= FL_ERROR_MIN; c--)
			if (strcmp(fl_errname(c), a->code) == 0)
				o->error = c;
		if (o->error == 0)
			return fail(l, yline(cn), f, "unknown error code '%s' (expected an FL_E* name)",
			            a->code);
	}
	if (o->action == FL_SCN_FAULT_DELAY)
		rc = u32_field(l, fn, base, "delay_ms", a->delay_ms, 0, MAX_MS, true, 0, &o->delay_ms);
	else if (yget(l, fn, "delay_ms"))
		rc = fail(l, yline(yget(l, fn, "delay_ms")), base, "delay_ms applies to action delay only");
	if (rc)
		return rc;
	rc = str_field(l, fn, base, "actor", a->actor, false, true, &o->actor);
	if (rc || o->actor == NULL)
		return rc;
	for (size_t i = 0; i < s->actor_count; i++)
		if (strcmp(s->actors[i].name, o->actor) == 0)
			o->actor_index = (int)i;
	if (o->actor_index < 0) {
		join(f, sizeof f, base, "actor");
		return fail(l, yline(yget(l, fn, "actor")), f, "unknown actor '%s'", o->actor);
	}
	return 0;
}

/* ---- libcyaml errors: message plus backtrace, mapped onto the document ---- */

static void cyaml_log_capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct loader *l = ctx;
	if (level < CYAML_LOG_ERROR || l->log_len + 1 >= sizeof l->log)
		return;
	int n = vsnprintf(l->log + l->log_len, sizeof l->log - l->log_len, fmt, args);
	if (n > 0)
		l->log_len += (size_t)n < sizeof l->log - l->log_len ? (size_t)n
		                                                    : sizeof l->log - l->log_len - 1;
}

static const char *type_word(const char *t)
{
	static const struct {
		const char *t, *w;
	} words[] = {
		{"INT", "an integer"},      {"UINT", "a non-negative integer"},
		{"BOOL", "true or false"},  {"FLOAT", "a number"},
		{"STRING", "a string"},     {"MAPPING", "a mapping"},
		{"SEQUENCE", "a sequence"}, {"SCALAR", "a scalar"},
		{"SEQUENCE_START", "a sequence"}, {"MAPPING_START", "a mapping"},
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(words[i].t, t) == 0)
			return words[i].w;
	return t;
}

struct bt_comp {
	bool entry;      /* sequence entry (else mapping field) */
	char key[64];
	unsigned index;  /* 0-based */
};

static int cyaml_error(struct loader *l, cyaml_err_t e)
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
	yaml_node_t *n = yaml_document_get_root_node(&l->doc);
	bool in_ops = false;
	for (int i = ncomp - 1; i >= 0; i--) {
		size_t len = strlen(path);
		if (comps[i].entry) {
			snprintf(path + len, sizeof path - len, "[%u]", comps[i].index);
			n = yitem(l, n, comps[i].index);
			in_ops = i == 0 && i + 1 < ncomp && !comps[i + 1].entry &&
			         strcmp(comps[i + 1].key, "ops") == 0;
		} else {
			snprintf(path + len, sizeof path - len, "%s%s", len ? "." : "", comps[i].key);
			n = yget(l, n, comps[i].key);
			in_ops = false;
		}
	}
	char t1[32], t2[32], val[128];
	if (strncmp(msg, "Unexpected key: ", 16) == 0) {
		const char *key = msg + 16;
		int kl = 0;
		char f[320];
		yget_k(l, n, key, &kl);
		join(f, sizeof f, path, key);
		if (in_ops)
			return fail(l, kl ? kl : inner_line, f, "unknown operation");
		return fail(l, kl ? kl : inner_line, f, "unknown key");
	}
	const char *field = path[0] ? path : "(top)";
	int line = n ? yline(n) : inner_line;
	if (sscanf(msg, "Invalid %31s value: '%127[^']'", t1, val) == 2)
		return fail(l, line, field, "expected %s (got '%s')", type_word(t1), val);
	if (sscanf(msg, "Expecting %31[^,], got event: %31s", t1, t2) == 2) {
		if (in_ops)
			return fail(l, line, field,
			            "an operation is a mapping with exactly one key, e.g. "
			            "'- close_client: {}'");
		return fail(l, line, field, "expected %s, not %s", type_word(t1), type_word(t2));
	}
	return fail(l, line, field, "%s", msg);
}

/* ---- the whole file ---- */

static const char *const mode_names[] = {"sim", "proc", "stress"};
static const char *const driver_names[] = {"embedded", "process"};
static const char *const actor_kind_names[] = {"thread", "process"};
static const char *const sched_names[] = {"random", "pct"};

static int convert(struct loader *l, const struct fl_raw_scenario *r, struct fl_scenario *s)
{
	yaml_node_t *root = yaml_document_get_root_node(&l->doc);
	int rc, iv;
	int64_t v;
	l->line = 1;
	if ((rc = str_field(l, root, "", "name", r->name, true, true, &s->name)) ||
	    (rc = str_field(l, root, "", "description", r->description, true, false,
	                    &s->description)) ||
	    (rc = enum_field(l, root, "", "mode", r->mode, mode_names, 3, -1, &iv)))
		return rc;
	s->mode = (enum fl_scn_mode)iv;

	/* driver */
	static const struct fl_raw_driver zero_driver;
	const struct fl_raw_driver *d = r->driver ? r->driver : &zero_driver;
	yaml_node_t *dn = yget(l, root, "driver");
	if ((rc = enum_field(l, dn, "driver", "kind", d->kind, driver_names, 2, 0, &iv)))
		return rc;
	s->driver.kind = (enum fl_scn_driver_kind)iv;
	if (s->driver.kind == FL_SCN_DRIVER_PROCESS && s->mode != FL_SCN_MODE_PROC)
		return fail(l, yline(yget(l, dn, "kind")), "driver.kind",
		            "a process driver needs mode proc (mode is %s)", mode_names[s->mode]);
	if ((rc = u32_field(l, dn, "driver", "client_liveness_ms", d->client_liveness_ms, 1, MAX_MS,
	                    false, FL_SCN_DEFAULT_CLIENT_LIVENESS_MS,
	                    &s->driver.client_liveness_ms)) ||
	    (rc = u32_field(l, dn, "driver", "driver_timeout_ms", d->driver_timeout_ms, 1, MAX_MS,
	                    false, FL_SCN_DEFAULT_DRIVER_TIMEOUT_MS,
	                    &s->driver.driver_timeout_ms)) ||
	    (rc = u32_field(l, dn, "driver", "linger_ms", d->linger_ms, 0, MAX_MS, false,
	                    FL_SCN_DEFAULT_LINGER_MS, &s->driver.linger_ms)) ||
	    (rc = u32_field(l, dn, "driver", "term_length", d->term_length, 4096, 1 << 30, false,
	                    FL_SCN_DEFAULT_TERM_LENGTH, &s->driver.term_length)))
		return rc;
	if (s->driver.term_length & (s->driver.term_length - 1))
		return fail(l, yline(yget(l, dn, "term_length")), "driver.term_length",
		            "must be a power of two (got %u)", s->driver.term_length);

	/* actors */
	yaml_node_t *an = yget(l, root, "actors");
	if (r->actors_count == 0)
		return fail(l, an ? yline(an) : 1, "actors",
		            an ? "needs at least one actor" : "required field missing");
	size_t total_ops = 0;
	for (unsigned i = 0; i < r->actors_count; i++)
		total_ops += r->actors[i].ops_count;
	struct fl_scenario_actor *actors = arena_alloc(l->arena, r->actors_count * sizeof(*actors));
	l->objs = arena_alloc(l->arena, (total_ops + 1) * sizeof(*l->objs));
	l->obj_line = malloc((total_ops + 1) * sizeof(int));
	if (!actors || !l->objs || !l->obj_line)
		return fail_nomem(l);
	l->obj_cap = total_ops;
	s->actors = actors;
	s->actor_count = r->actors_count;
	for (unsigned i = 0; i < r->actors_count; i++) {
		const struct fl_raw_actor *ra = &r->actors[i];
		struct fl_scenario_actor *a = &actors[i];
		yaml_node_t *node = yitem(l, an, i);
		char base[32];
		snprintf(base, sizeof base, "actors[%u]", i);
		a->line = l->line = yline(node);
		if ((rc = str_field(l, node, base, "name", ra->name, true, true, &a->name)) ||
		    (rc = enum_field(l, node, base, "kind", ra->kind, actor_kind_names, 2, 0, &iv)))
			return rc;
		a->kind = (enum fl_scn_actor_kind)iv;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(actors[j].name, a->name) == 0) {
				char f[48];
				join(f, sizeof f, base, "name");
				return fail(l, yline(yget(l, node, "name")), f,
				            "actor '%s' is already defined at line %d", a->name,
				            actors[j].line);
			}
		if (a->kind == FL_SCN_ACTOR_PROCESS && s->mode != FL_SCN_MODE_PROC) {
			char f[48];
			join(f, sizeof f, base, "kind");
			return fail(l, yline(yget(l, node, "kind")), f,
			            "a process actor needs mode proc (mode is %s)", mode_names[s->mode]);
		}
		if ((rc = str_field(l, node, base, "client", ra->client, false, true, &a->client)))
			return rc;
		if (a->client == NULL)
			a->client = a->name;
	}
	for (unsigned i = 0; i < r->actors_count; i++) {
		const struct fl_raw_actor *ra = &r->actors[i];
		struct fl_scenario_actor *a = &actors[i];
		yaml_node_t *opsn = yget(l, yitem(l, an, i), "ops");
		struct fl_scenario_op *ops = arena_alloc(l->arena, (ra->ops_count + 1) * sizeof(*ops));
		if (ops == NULL)
			return fail_nomem(l);
		char base[32];
		snprintf(base, sizeof base, "actors[%u]", i);
		for (unsigned j = 0; j < ra->ops_count; j++)
			if ((rc = convert_op(l, &ra->ops[j], yitem(l, opsn, j), base, (int)i, (int)j,
			                     &ops[j], a->kind)))
				return rc;
		a->ops = ops;
		a->op_count = ra->ops_count;
	}
	if ((rc = resolve_refs(l, actors)) || (rc = check_barriers(l, actors)))
		return rc;
	s->objects = l->objs;
	s->object_count = l->obj_count;

	/* faults */
	yaml_node_t *fsn = yget(l, root, "faults");
	struct fl_scenario_fault *faults = arena_alloc(l->arena, (r->faults_count + 1) * sizeof(*faults));
	if (faults == NULL)
		return fail_nomem(l);
	for (unsigned i = 0; i < r->faults_count; i++)
		if ((rc = convert_fault(l, &r->faults[i], yitem(l, fsn, i), (int)i, &faults[i], s)))
			return rc;
	s->faults = faults;
	s->fault_count = r->faults_count;

	/* properties */
	yaml_node_t *pn = yget(l, root, "properties");
	for (unsigned i = 0; i < r->properties_count; i++) {
		int line = yline(yitem(l, pn, i));
		char f[32];
		snprintf(f, sizeof f, "properties[%u]", i);
		int k;
		for (k = 0; k < FL_SCN_PROP_COUNT; k++)
			if (strcmp(prop_names[k], r->properties[i]) == 0)
				break;
		if (k == FL_SCN_PROP_COUNT)
			return fail(l, line, f, "unknown property '%s' (known: image_refs, no_leaked_files, "
			            "gauges_zero, no_pending_registrations, no_new_fds, "
			            "no_unexpected_signal, delivery_in_order, no_loss, no_duplicates, "
			            "chunks_balanced, ports_zero, messages_freed_once)",
			            r->properties[i]);
		if (s->properties & (1u << k))
			return fail(l, line, f, "property '%s' is listed twice", r->properties[i]);
		s->properties |= 1u << k;
	}

	/* budget */
	yaml_node_t *bn = yget(l, root, "budget");
	s->budget_runs = FL_SCN_DEFAULT_RUNS;
	if (bn != NULL && !ynull(bn)) {
		if (!yget(l, bn, "runs") && !yget(l, bn, "seconds"))
			return fail(l, yline(bn), "budget", "give runs, seconds or both");
		if ((rc = int_field(l, bn, "budget", "runs", r->budget->runs, 1, INT64_MAX, false, 0,
		                    &v)))
			return rc;
		s->budget_runs = (uint64_t)v;
		s->budget_seconds = r->budget->seconds;
		if (yget(l, bn, "seconds") && !(s->budget_seconds > 0 && s->budget_seconds <= 86400))
			return fail(l, yline(yget(l, bn, "seconds")), "budget.seconds",
			            "must be in (0, 86400] (got %g)", s->budget_seconds);
	}

	/* scheduler */
	yaml_node_t *sn = yget(l, root, "scheduler");
	static const struct fl_raw_sched zero_sched;
	const struct fl_raw_sched *sc = r->scheduler ? r->scheduler : &zero_sched;
	if ((rc = enum_field(l, sn, "scheduler", "kind", sc->kind, sched_names, 2, 0, &iv)))
		return rc;
	s->scheduler = (enum fl_scn_sched_kind)iv;
	if (s->scheduler != FL_SCN_SCHED_PCT && yget(l, sn, "depth"))
		return fail(l, yline(yget(l, sn, "depth")), "scheduler.depth",
		            "applies to kind pct only");
	if ((rc = u32_field(l, sn, "scheduler", "depth", sc->depth, 1, 1000, false,
	                    FL_SCN_DEFAULT_PCT_DEPTH, &s->sched_depth)))
		return rc;
	s->sweep = r->sweep;
	return bool_check(l, root, "", "sweep");
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int parse_document(struct loader *l, const char *text, size_t len)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return fail_nomem(l);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int ok = yaml_parser_load(&parser, &l->doc);
	int rc = 0;
	if (!ok) {
		char ctx[128] = "";
		if (parser.context)
			snprintf(ctx, sizeof ctx, " (%s at line %zu)", parser.context,
			         parser.context_mark.line + 1);
		rc = fail(l, (int)parser.problem_mark.line + 1, "yaml", "%s%s",
		          parser.problem ? parser.problem : "syntax error", ctx);
		memset(&l->doc, 0, sizeof l->doc);
	}
	yaml_parser_delete(&parser);
	if (rc)
		return rc;
	yaml_node_t *root = yaml_document_get_root_node(&l->doc);
	if (root == NULL)
		return fail(l, 1, "(top)", "empty scenario file");
	if (root->type != YAML_MAPPING_NODE)
		return fail(l, yline(root), "(top)",
		            "a scenario is a mapping (name, description, mode, actors, ...)");
	return 0;
}

int fl_scenario_load_string(const char *path, const char *text, size_t len,
                            struct fl_scenario **out, char *err, size_t errlen)
{
	struct loader l = {.path = path, .err = err, .errlen = errlen};
	struct scn_box *box = NULL;
	struct fl_raw_scenario *raw = NULL;
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
		return fail_nomem(&l);
	l.arena = &box->arena;
	l.s = &box->s;
	if ((rc = parse_document(&l, text, len)))
		goto fail;
	cyaml_err_t ce = cyaml_load_data((const uint8_t *)text, len, &cfg, &fl_scenario_schema,
	                                 (cyaml_data_t **)&raw, NULL);
	if (ce != CYAML_OK) {
		raw = NULL;
		rc = cyaml_error(&l, ce);
		goto fail;
	}
	if ((rc = convert(&l, raw, &box->s)))
		goto fail;
	if ((box->s.path = adup(&l, path)) == NULL) {
		rc = l.rc;
		goto fail;
	}
	box->s.hash = fnv1a(text, len);
	if (l.warning_count) {
		const char **w = arena_alloc(l.arena, l.warning_count * sizeof(*w));
		if (w == NULL) {
			rc = fail_nomem(&l);
			goto fail;
		}
		for (size_t i = 0; i < l.warning_count; i++)
			if ((w[i] = adup(&l, l.warnings[i])) == NULL) {
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
	if (raw)
		cyaml_free(&cfg, &fl_scenario_schema, raw, 0);
	yaml_document_delete(&l.doc);
	for (size_t i = 0; i < l.warning_count; i++)
		free(l.warnings[i]);
	free(l.warnings);
	free(l.obj_line);
	free(l.refs);
	free(l.barriers);
	if (box) {
		arena_free(box->arena);
		free(box);
	}
	return rc;
}

int fl_scenario_load(const char *path, struct fl_scenario **out, char *err, size_t errlen)
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

void fl_scenario_free(struct fl_scenario *s)
{
	if (s == NULL)
		return;
	struct scn_box *box = (struct scn_box *)s;
	arena_free(box->arena);
	free(box);
}

uint64_t fl_scenario_hash(const struct fl_scenario *s)
{
	return s->hash;
}
