/*
 * Operations: converting each `- op: {args}` entry into the tagged union,
 * the named objects operations create with `as:`, references to them
 * (resolved once every actor is read, so a reference names its own line),
 * and barriers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "faultline/error.h"
#include "faultline/reqrep.h"
#include "faultline/scenario.h"
#include "loader.h"
#include "target_internal.h"
#include "faultline/impl.h"
#include "faultline/target.h"
#include "core/grow.h"

/* ---- objects, references, barriers ---- */

static const char *const obj_kind_names[] = {
	[FL_SCN_OBJ_PUBLICATION] = "publication",
	[FL_SCN_OBJ_SUBSCRIPTION] = "subscription",
	[FL_SCN_OBJ_IMAGE] = "image",
	[FL_SCN_OBJ_SERVER] = "server",
	[FL_SCN_OBJ_CONNECTION] = "connection",
	[FL_SCN_OBJ_CTX] = "context",
	[FL_SCN_OBJ_NODE] = "node",
	[FL_SCN_OBJ_CLUSTER_CLIENT] = "cluster client",
	[FL_SCN_OBJ_TARGET] = "target object",
};

static int
define_obj(struct loader *l, yaml_node_t *map, const char *base, const char *name,
           enum fl_scn_obj_kind kind, int actor, int op, fl_scn_ref *slot)
{
	char f[160];
	fli_scn_join(f, sizeof f, base, "as");
	int line = fli_scn_yline(fli_scn_yget(l, map, "as"));
	for (size_t i = 0; i < l->obj_count; i++) {
		if (strcmp(l->objs[i].name, name) == 0)
			return fli_scn_fail(l, line, f, "'%s' is already defined at line %d", name,
			                    l->obj_line[i]);
	}
	if (l->obj_count == l->obj_cap)
		return fli_scn_fail_nomem(l); /* cannot happen: one object per op at most */
	struct fl_scenario_object *o = &l->objs[l->obj_count];
	o->name = name;
	o->kind = kind;
	o->actor = actor;
	o->op = op;
	o->target_kind = NULL;
	l->obj_line[l->obj_count] = line;
	*slot = (fl_scn_ref)l->obj_count++;
	return 0;
}

/* Records a reference to resolve once every object is known.  A NULL name
 * leaves the slot at -1. */
static int
add_ref(struct loader *l, yaml_node_t *map, const char *base, const char *key, const char *name,
        unsigned kinds, bool cross_ok, int actor, int op, fl_scn_ref *slot)
{
	*slot = -1;
	if (name == NULL)
		return 0;
	struct pending_ref *refs =
	        fli_grow(l->refs, &l->ref_cap, l->ref_count + 1, sizeof *refs, 32);
	if (refs == NULL)
		return fli_scn_fail_nomem(l);
	l->refs = refs;
	struct pending_ref *r = &l->refs[l->ref_count++];
	r->name = name;
	r->slot = slot;
	r->kinds = kinds;
	r->cross_ok = cross_ok;
	r->target_kind = NULL;
	r->line = fli_scn_yline(fli_scn_yget(l, map, key));
	r->actor = actor;
	r->op = op;
	fli_scn_join(r->field, sizeof r->field, base, key);
	return 0;
}

/* A key naming an object: its text (required or not), and the reference
 * to resolve once every object is known. */
static int
ref_field(struct loader *l, yaml_node_t *map, const char *base, const char *key, const char *raw,
          bool required, unsigned kinds, bool cross_ok, int actor, int op, fl_scn_ref *slot)
{
	const char *name = NULL;
	int rc = fli_scn_str_field(l, map, base, key, raw, required, true, &name);

	return rc ? rc : add_ref(l, map, base, key, name, kinds, cross_ok, actor, op, slot);
}

static const char *
kinds_text(unsigned kinds, char *buf, size_t n)
{
	buf[0] = '\0';
	for (int k = 0; k <= FL_SCN_OBJ_TARGET; k++) {
		if (!(kinds & (1u << k)))
			continue;
		if (buf[0] != '\0')
			strncat(buf, " or ", n - strlen(buf) - 1);
		strncat(buf, obj_kind_names[k], n - strlen(buf) - 1);
	}
	return buf;
}

/* Is kind one of list's ("a|b")? */
static bool
kind_listed(const char *list, const char *kind)
{
	size_t n = strlen(kind);

	for (const char *p = list;; p++) {
		size_t m = strcspn(p, "|");

		if (m == n && strncmp(p, kind, n) == 0)
			return true;
		p += m;
		if (*p == '\0')
			return false;
	}
}

/* "a|b|c" as "a, b or c". */
static const char *
kind_list_text(const char *list, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (const char *p = list; len < n - 1;) {
		size_t m = strcspn(p, "|");
		bool last = p[m] == '\0';

		len += (size_t)snprintf(buf + len, n - len, "%s%.*s",
		                        p == list ? ""
		                        : last    ? " or "
		                                  : ", ",
		                        (int)m, p);
		if (last || len >= n)
			break;
		p += m + 1;
	}
	return buf;
}

int
fli_scn_resolve_refs(struct loader *l, const struct fl_scenario_actor *actors)
{
	for (size_t i = 0; i < l->ref_count; i++) {
		struct pending_ref *r = &l->refs[i];
		char want[96];
		size_t k;
		for (k = 0; k < l->obj_count; k++)
			if (strcmp(l->objs[k].name, r->name) == 0)
				break;
		if (k == l->obj_count)
			return fli_scn_fail(l, r->line, r->field, "unknown %s '%s'",
			                    kinds_text(r->kinds, want, sizeof want), r->name);
		const struct fl_scenario_object *o = &l->objs[k];
		if (r->target_kind != NULL && o->kind == FL_SCN_OBJ_TARGET &&
		    !kind_listed(r->target_kind, o->target_kind))
			return fli_scn_fail(l, r->line, r->field,
			                    "'%s' is a %s (line %d), expected a %s", r->name,
			                    o->target_kind, l->obj_line[k],
			                    kind_list_text(r->target_kind, want, sizeof want));
		if (!(r->kinds & (1u << o->kind)))
			return fli_scn_fail(l, r->line, r->field,
			                    "'%s' is a %s (line %d), expected a %s", r->name,
			                    obj_kind_names[o->kind], l->obj_line[k],
			                    kinds_text(r->kinds, want, sizeof want));
		if (o->actor == r->actor && o->op >= r->op)
			return fli_scn_fail(l, r->line, r->field,
			                    "'%s' is used before it is defined (line %d)", r->name,
			                    l->obj_line[k]);
		const struct fl_scenario_actor *owner = &actors[o->actor],
		                               *user = &actors[r->actor];
		if (!r->cross_ok && strcmp(owner->client, user->client) != 0)
			return fli_scn_fail(l, r->line, r->field,
			                    "%s '%s' belongs to client '%s' (actor %s); actor %s "
			                    "uses client '%s'",
			                    obj_kind_names[o->kind], r->name, owner->client,
			                    owner->name, user->name, user->client);
		*r->slot = (fl_scn_ref)k;
	}
	return 0;
}

static int
add_barrier(struct loader *l, const char *name, int actor, int line, const char *field)
{
	struct barrier_use *uses =
	        fli_grow(l->barriers, &l->barrier_cap, l->barrier_count + 1, sizeof *uses, 8);
	if (uses == NULL)
		return fli_scn_fail_nomem(l);
	l->barriers = uses;
	struct barrier_use *b = &l->barriers[l->barrier_count++];
	b->name = name;
	b->actor = actor;
	b->line = line;
	snprintf(b->field, sizeof b->field, "%s", field);
	return 0;
}

int
fli_scn_check_barriers(struct loader *l, const struct fl_scenario_actor *actors)
{
	int names = 0;

	for (size_t i = 0; i < l->barrier_count; i++) {
		bool other = false, first = true;

		for (size_t j = 0; j < i && first; j++)
			first = strcmp(l->barriers[i].name, l->barriers[j].name) != 0;
		if (first && ++names > FL_SCN_MAX_BARRIERS)
			return fli_scn_fail(
			        l, l->barriers[i].line, l->barriers[i].field,
			        "barrier '%s' is a name more than the %d a scenario can have",
			        l->barriers[i].name, FL_SCN_MAX_BARRIERS);
		for (size_t j = 0; j < l->barrier_count && !other; j++)
			other = strcmp(l->barriers[i].name, l->barriers[j].name) == 0 &&
			        l->barriers[i].actor != l->barriers[j].actor;
		if (!other)
			return fli_scn_fail(
			        l, l->barriers[i].line, l->barriers[i].field,
			        "barrier '%s' is reached only by actor %s; a barrier needs two or "
			        "more actors",
			        l->barriers[i].name, actors[l->barriers[i].actor].name);
	}
	return 0;
}

/* ---- operations ---- */

static const char *const op_names[FL_SCN_OP__COUNT] = {
#define FL_SCN_OP(KIND, name, DOMAIN, EXPECT) [FL_SCN_OP_##KIND] = #name,
#include "faultline/scenario_ops.def"
#undef FL_SCN_OP
};

const char *
fli_scn_nearest_op(const struct fl_target *t, const char *name)
{
	/* The built-in ops, then the target's (at most 64 of them named). */
	const char *cand[FL_SCN_OP__COUNT + 64];
	size_t n = FL_SCN_OP__COUNT;

	memcpy(cand, op_names, sizeof(op_names));
	cand[FL_SCN_OP_TARGET] = NULL; /* not a name a scenario writes */
	for (const struct fl_target_op *op = t != NULL ? t->ops : NULL;
	     op != NULL && op->name != NULL && n < sizeof(cand) / sizeof(cand[0]); op++)
		cand[n++] = op->name;
	return fli_scn_nearest(name, cand, n);
}

static const enum fl_scn_domain op_domains[FL_SCN_OP__COUNT] = {
#define FL_SCN_OP(KIND, name, DOMAIN, EXPECT) [FL_SCN_OP_##KIND] = FL_SCN_DOMAIN_##DOMAIN,
#include "faultline/scenario_ops.def"
#undef FL_SCN_OP
};

const char *
fl_scenario_op_label(const struct fl_scenario_op *op)
{
	if (op->kind == FL_SCN_OP_TARGET && op->u.target.op != NULL)
		return op->u.target.op->name;
	return fl_scenario_op_name(op->kind);
}

const char *
fl_scenario_op_name(enum fl_scn_op_kind kind)
{
	if ((unsigned)kind >= FL_SCN_OP__COUNT)
		return "?";
	return op_names[kind];
}

enum fl_scn_domain
fl_scenario_op_domain(enum fl_scn_op_kind kind)
{
	if ((unsigned)kind >= FL_SCN_OP__COUNT)
		return FL_SCN_DOMAIN_RUN;
	return op_domains[kind];
}

bool
fl_scenario_uses_domain(const struct fl_scenario *s, enum fl_scn_domain d)
{
	for (size_t i = 0; i < s->actor_count; i++)
		for (size_t j = 0; j < s->actors[i].op_count; j++)
			if (fl_scenario_op_domain(s->actors[i].ops[j].kind) == d)
				return true;
	return false;
}

/* The `expect:` text of whichever operation raw holds (NULL: none, and
 * always for an operation that cannot fail). */
#define EXPECT_1(member) (raw->member != NULL ? raw->member->expect : NULL)
#define EXPECT_0(member) NULL
#define EXPECT_2(member) NULL
static const char *
raw_expect(const struct fli_raw_op *raw, enum fl_scn_op_kind kind)
{
	switch (kind) {
#define FL_SCN_OP(KIND, name, DOMAIN, EXPECT)                                                      \
	case FL_SCN_OP_##KIND:                                                                     \
		return EXPECT_##EXPECT(name);
#include "faultline/scenario_ops.def"
#undef FL_SCN_OP
	default: return NULL;
	}
}
#undef EXPECT_1
#undef EXPECT_0
#undef EXPECT_2

/* `expect: any`, or FL_E* names joined by '|' (FL_ETIMEDOUT|FL_ECRASHED),
 * into op->expect. */
static int
expect_field(struct loader *l, yaml_node_t *m, const char *base, const char *text,
             struct fl_scenario_op *op)
{
	char f[160], name[64];
	op->expect = 0;
	if (text == NULL)
		return 0;
	if (strcmp(text, "any") == 0) {
		op->expect = FL_SCN_EXPECT_ANY;
		return 0;
	}
	for (const char *p = text;; p++) {
		size_t n = strcspn(p, "|");
		uint64_t bit = 0;
		if (n < sizeof name) {
			memcpy(name, p, n);
			name[n] = '\0';
			for (int c = -1; c >= FL_ERROR_MIN; c--)
				if (strcmp(fl_errname(c), name) == 0)
					bit = FL_SCN_EXPECT_BIT(c);
			/* cluster_client.h's other name of FL_EOWNER */
			if (strcmp(name, "FL_EWRONG_THREAD") == 0)
				bit = FL_SCN_EXPECT_BIT(FL_EOWNER);
		}
		if (bit == 0) {
			fli_scn_join(f, sizeof f, base, "expect");
			return fli_scn_fail(
			        l, fli_scn_yline(fli_scn_yget(l, m, "expect")), f,
			        "unknown error code '%.*s' (expected FL_E* names joined by '|', "
			        "e.g. FL_ETIMEDOUT|FL_ECRASHED, or any)",
			        (int)(n < 64 ? n : 64), p);
		}
		op->expect |= bit;
		p += n;
		if (*p == '\0')
			return 0;
	}
}

/* The one code of a set with a single member, else 0. */
static int
expect_single(uint64_t set)
{
	for (int c = -1; c >= FL_ERROR_MIN; c--)
		if (set == FL_SCN_EXPECT_BIT(c))
			return c;
	return 0;
}

/* An op whose `expect:` names the one code it must fail with
 * (FL_TARGET_OP_EXPECT_EXACT): one code, not a set. */
static int
exact_expect(struct loader *l, yaml_node_t *m, const char *base, const struct fl_scenario_op *op,
             const struct fl_target_op *top)
{
	if (!(top->flags & FL_TARGET_OP_EXPECT_EXACT) || op->expect == 0 ||
	    expect_single(op->expect) != 0)
		return 0;
	return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, m, "expect")), base,
	                    "expect: on %s names the one code it must fail with (e.g. "
	                    "FL_ENO_PORTS)",
	                    top->name);
}

/* ---- cluster operations ---- */

/* The text of scalar `key` of map, or NULL (absent, or not a scalar: the
 * field's parser then says what is wrong). */
static const char *
scalar_of(struct loader *l, yaml_node_t *map, const char *key)
{
	yaml_node_t *n = fli_scn_yget(l, map, key);

	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* An op a target declares: every key one of its arguments (or as,
 * expect, deadline_ms), each argument by its declared type. */
/* A list of integers in [min, max] to draw from (field f): 1 to
 * FL_SCN_TARGET_DRAWS decimal values, or words of names (NULL: none). */
static int
draw_list(struct loader *l, yaml_node_t *n, const char *f, int64_t min, int64_t max,
          const struct fl_target_name *names, bool names_only, struct fl_scn_target_draw *d)
{
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	int64_t *v;

	if (count == 0 || count > FL_SCN_TARGET_DRAWS)
		return fli_scn_fail(l, fli_scn_yline(n), f,
		                    "a list to draw from holds 1 to %d values (got %zu)",
		                    FL_SCN_TARGET_DRAWS, count);
	v = fli_scn_arena_alloc(l->arena, count * sizeof(*v));
	if (v == NULL) {
		fli_scn_fail_nomem(l);
		return l->rc;
	}
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *it = fli_scn_yitem(l, n, i);
		const char *text = it != NULL && it->type == YAML_SCALAR_NODE
		                           ? (const char *)it->data.scalar.value
		                           : NULL;

		const struct fl_target_name *w = names;

		while (text != NULL && w != NULL && w->name != NULL && strcmp(w->name, text) != 0)
			w++;
		if (w != NULL && w->name != NULL) {
			v[i] = w->value;
			continue;
		}
		if (names_only) {
			char list[200] = "";

			for (w = names; w->name != NULL; w++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				         list[0] ? ", " : "", w->name);
			return fli_scn_fail(l, fli_scn_yline(it ? it : n), f,
			                    "item %zu: expected one of: %s (got '%.64s')", i, list,
			                    text != NULL ? text : "");
		}
		if (text == NULL || fli_scn_parse_decimal(text, &v[i]) != 0)
			return fli_scn_fail(l, fli_scn_yline(it ? it : n), f,
			                    "item %zu: expected a decimal integer%s", i,
			                    names != NULL ? " or one of its words" : "");
		if (v[i] < min || v[i] > max)
			return fli_scn_fail(l, fli_scn_yline(it), f,
			                    "item %zu: %lld is out of range [%lld, %lld]", i,
			                    (long long)v[i], (long long)min, (long long)max);
	}
	d->values = v;
	d->n = (uint8_t)count;
	return 0;
}

/* Does text look like a number (a sign or a digit first)?  Else an
 * integer argument with names reads it as one of them. */
static bool
looks_numeric(const char *text)
{
	return (text[0] >= '0' && text[0] <= '9') || text[0] == '-' || text[0] == '+';
}

/* An integer argument written as one of its names. */
static int
named_int(struct loader *l, yaml_node_t *n, const char *f, const struct fl_target_arg *a,
          const char *text, int64_t *out)
{
	char list[200] = "";

	for (const struct fl_target_name *w = a->names; w->name != NULL; w++) {
		if (strcmp(w->name, text) == 0) {
			*out = w->value;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		         list[0] ? ", " : "", w->name);
	}
	if (a->names_only)
		return fli_scn_fail(l, fli_scn_yline(n), f, "expected one of: %s (got '%.64s')",
		                    list, text);
	return fli_scn_fail(l, fli_scn_yline(n), f,
	                    "expected an integer between %lld and %lld%s or one of: %s (got "
	                    "'%.64s')",
	                    (long long)a->min, (long long)a->max,
	                    a->kind != NULL ? ", the name of an object," : "", list, text);
}

/* Is text one of a's names? */
static bool
is_name(const struct fl_target_arg *a, const char *text)
{
	for (const struct fl_target_name *w = a->names; w != NULL && w->name != NULL; w++)
		if (strcmp(w->name, text) == 0)
			return true;
	return false;
}

/* A GROUPS argument: a list of lists of members 0..max, each in one
 * group at most; *out packs member m's group (1-based) in bits 4m. */
static int
groups_arg(struct loader *l, yaml_node_t *n, const char *f, const struct fl_target_arg *a,
           int64_t *out)
{
	uint64_t packed = 0;

	if (n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.top == n->data.sequence.items.start ||
	    n->data.sequence.items.top - n->data.sequence.items.start > 15)
		return fli_scn_fail(l, fli_scn_yline(n), f,
		                    "expected a list of 1 to 15 groups of members, e.g. [[0], [1, "
		                    "2]]");
	for (size_t g = 0; fli_scn_yitem(l, n, g) != NULL; g++) {
		yaml_node_t *grp = fli_scn_yitem(l, n, g);
		char fg[176];

		snprintf(fg, sizeof fg, "%s[%zu]", f, g);
		if (grp->type != YAML_SEQUENCE_NODE)
			return fli_scn_fail(l, fli_scn_yline(grp), fg,
			                    "a group is a list of members, e.g. [1, 2]");
		for (size_t k = 0; fli_scn_yitem(l, grp, k) != NULL; k++) {
			yaml_node_t *it = fli_scn_yitem(l, grp, k);
			const char *t = it->type == YAML_SCALAR_NODE
			                        ? (const char *)it->data.scalar.value
			                        : "";
			int64_t v;

			if (fli_scn_parse_decimal(t, &v) != 0 || v < a->min || v > a->max)
				return fli_scn_fail(l, fli_scn_yline(it), fg,
				                    "'%.32s' is not a member (%lld..%lld)", t,
				                    (long long)a->min, (long long)a->max);
			uint64_t was = (packed >> (4 * v)) & 15u;
			if (was == g + 1)
				return fli_scn_fail(l, fli_scn_yline(it), fg,
				                    "%lld is listed twice in this group",
				                    (long long)v);
			if (was != 0)
				return fli_scn_fail(l, fli_scn_yline(it), fg,
				                    "%lld is in two groups (%s[%llu] and this one)",
				                    (long long)v, f, (unsigned long long)(was - 1));
			packed |= (uint64_t)(g + 1) << (4 * v);
		}
	}
	*out = (int64_t)packed;
	return 0;
}

/* Does argument i count as given: in the scenario, and (an integer or
 * boolean) not as its default? */
static bool
given_as_more(const struct fl_scn_op_target *o, const struct fl_target_arg *a, size_t i)
{
	if (!(o->given & (1u << i)))
		return false;
	if (a->type != FL_TARGET_INT && a->type != FL_TARGET_BOOL)
		return true;
	return o->draws[i].values != NULL || o->ints[i] != a->dflt || (o->named & (1u << i));
}

/* A RANGE argument: [lo, hi] with min <= lo <= hi <= max; absent, [dflt,
 * dflt]. */
static int
range_arg(struct loader *l, yaml_node_t *m, yaml_node_t *n, const char *base, const char *f,
          const struct fl_target_arg *a, int64_t *lo, int64_t *hi)
{
	int64_t v[2] = { -1, -1 };
	size_t count;

	*lo = *hi = a->dflt;
	if (n == NULL)
		return a->required ? fli_scn_need(l, m, base, a->name) : 0;
	count = n->type == YAML_SEQUENCE_NODE
	                ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
	                : 0;
	for (size_t k = 0; k < count && k < 2; k++) {
		yaml_node_t *it = fli_scn_yitem(l, n, k);
		const char *t = it != NULL && it->type == YAML_SCALAR_NODE
		                        ? (const char *)it->data.scalar.value
		                        : "";
		char fk[176];

		snprintf(fk, sizeof fk, "%s[%zu]", f, k);
		if (fli_scn_parse_decimal(t, &v[k]) < 0)
			return fli_scn_fail(l, fli_scn_yline(it ? it : n), fk,
			                    "expected a decimal integer (got '%.64s')", t);
	}
	if (count != 2 || v[0] < a->min || v[0] > v[1] || v[1] > a->max)
		return fli_scn_fail(l, fli_scn_yline(n), f,
		                    "must be [min, max] with %lld <= min <= max <= %lld",
		                    (long long)a->min, (long long)a->max);
	*lo = v[0];
	*hi = v[1];
	return 0;
}

/* A built-in domain's kind of object (its name is the scenario's object
 * kind's: "server"), or -1. */
static int
builtin_kind(const char *name, size_t n)
{
	/* a table's kind name is lower_case_name: "cluster_client" is the
	 * scenario's "cluster client" */
	for (int k = 0; k < FL_SCN_OBJ_TARGET; k++) {
		const char *kn = obj_kind_names[k];
		size_t j = 0;

		while (j < n && kn[j] != '\0' &&
		       (kn[j] == name[j] || (kn[j] == ' ' && name[j] == '_')))
			j++;
		if (j == n && kn[j] == '\0')
			return k;
	}
	return -1;
}

/* The REF_* bits of a built-in op's object argument ("connection|server"). */
static unsigned
builtin_kinds(const char *list)
{
	unsigned bits = 0;

	for (const char *p = list;; p++) {
		size_t m = strcspn(p, "|");
		int k = builtin_kind(p, m);

		if (k >= 0)
			bits |= 1u << k;
		p += m;
		if (*p == '\0')
			return bits;
	}
}

/* An op declared as a target's is (faultline/target.h): a target's, or
 * (builtin) a built-in domain's, whose kinds of object are the
 * scenario's own (fli_builtin_target). */
static int
convert_target_op(struct loader *l, yaml_node_t *m, const char *base, int ai, int oi,
                  struct fl_scenario_op *op, const struct fl_target *t,
                  const struct fl_target_op *top, bool builtin)
{
	struct fl_scn_op_target *o = &op->u.target;
	char f[160];
	size_t i = 0;
	int rc = 0;

	if (!builtin && l->s->target != NULL && l->s->target != t)
		return fli_scn_fail(l, op->line, base,
		                    "a scenario drives one target: %s is target %s's, this "
		                    "scenario's is %s",
		                    top->name, t->name, l->s->target->name);
	if (!builtin)
		l->s->target = t;
	o->target = t;
	o->op = top;
	o->as = -1;
	if (m != NULL && m->type != YAML_MAPPING_NODE)
		return fli_scn_fail(l, op->line, base, "expected a mapping of arguments");
	for (yaml_node_pair_t *p = m != NULL ? m->data.mapping.pairs.start : NULL;
	     m != NULL && p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = fli_scn_ynode(l, p->key);
		const char *kn = k != NULL && k->type == YAML_SCALAR_NODE
		                         ? (const char *)k->data.scalar.value
		                         : "";
		bool known = strcmp(kn, "expect") == 0 || (strcmp(kn, "as") == 0 && top->creates) ||
		             (strcmp(kn, "deadline_ms") == 0 && (top->flags & FL_TARGET_OP_BLOCKS));
		char list[400] = "";

		for (const struct fl_target_arg *a = top->args; a && a->name && !known; a++)
			known = strcmp(a->name, kn) == 0;
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; known && q < p; q++) {
			yaml_node_t *k2 = fli_scn_ynode(l, q->key);

			if (k2 != NULL && k2->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k2->data.scalar.value, kn) == 0) {
				fli_scn_join(f, sizeof f, base, kn);
				return fli_scn_fail(l, fli_scn_yline(k), f,
				                    "given twice (first at line %d)",
				                    fli_scn_yline(k2));
			}
		}
		if (known)
			continue;
		for (const struct fl_target_arg *a = top->args; a && a->name; a++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s, ", a->name);
		fli_scn_join(f, sizeof f, base, kn);
		return fli_scn_fail(l, fli_scn_yline(k), f,
		                    "unknown key (%s%s%sop %s takes %s%s%s)",
		                    builtin ? "" : "target ", builtin ? "" : t->name,
		                    builtin ? "" : "'s ", top->name, list,
		                    top->creates ? "as, " : "",
		                    top->flags & FL_TARGET_OP_BLOCKS ? "deadline_ms, expect"
		                                                     : "expect");
	}
	for (const struct fl_target_arg *a = top->args; !rc && a && a->name; a++, i++) {
		const char *text = scalar_of(l, m, a->name);
		yaml_node_t *n = fli_scn_yget(l, m, a->name);

		fli_scn_join(f, sizeof f, base, a->name);
		if (n != NULL)
			o->given |= 1u << i;
		if (a->type == FL_TARGET_INT && a->kind != NULL)
			o->objs[i] = -1;
		if (a->type == FL_TARGET_GROUPS) {
			rc = n == NULL ? (a->required ? fli_scn_need(l, m, base, a->name) : 0)
			               : groups_arg(l, n, f, a, &o->ints[i]);
			continue;
		}
		if (n != NULL && n->type == YAML_SEQUENCE_NODE && a->type == FL_TARGET_INT) {
			rc = draw_list(l, n, f, a->min, a->max, a->names, a->names_only,
			               &o->draws[i]);
			if (!rc)
				o->ints[i] = o->draws[i].values[0];
			continue;
		}
		if (n != NULL && n->type != YAML_SCALAR_NODE && a->type != FL_TARGET_RANGE)
			return fli_scn_fail(
			        l, fli_scn_yline(n), f,
			        a->type == FL_TARGET_INT
			                ? "expected an integer, or a list of them to draw "
			                  "from"
			                : "expected a single value");
		switch (a->type) {
		case FL_TARGET_INT:
			if (a->kind != NULL && text != NULL && !looks_numeric(text) &&
			    !is_name(a, text)) {
				/* the name of an object (a node killed earlier) */
				o->ints[i] = a->dflt;
				if (!fli_scn_valid_name(text))
					rc = named_int(l, n, f, a, text, &o->ints[i]);
				else
					rc = ref_field(l, m, base, a->name, text, true,
					               builtin ? builtin_kinds(a->kind)
					                       : 1u << FL_SCN_OBJ_TARGET,
					               a->any_client, ai, oi, &o->objs[i]);
				if (!rc)
					o->named |= 1u << i;
				if (!rc && !builtin)
					l->refs[l->ref_count - 1].target_kind = a->kind;
				break;
			}
			if (a->names != NULL && text != NULL &&
			    (a->names_only || !looks_numeric(text))) {
				rc = named_int(l, n, f, a, text, &o->ints[i]);
				break;
			}
			rc = fli_scn_int_field(l, m, base, a->name, text, a->min, a->max,
			                       a->required, a->dflt, &o->ints[i]);
			break;
		case FL_TARGET_RANGE:
			rc = range_arg(l, m, n, base, f, a, &o->ints[i], &o->his[i]);
			break;
		case FL_TARGET_GROUPS: break; /* above */
		case FL_TARGET_BOOL:
			rc = fli_scn_bool_check(l, m, base, a->name);
			if (!rc && n == NULL && a->required)
				rc = fli_scn_need(l, m, base, a->name);
			/* as fli_scn_bool_check reads it: any case */
			o->ints[i] = n == NULL ? a->dflt != 0
			                       : strcasecmp(text, "true") == 0 ||
			                                 strcasecmp(text, "yes") == 0 ||
			                                 strcasecmp(text, "on") == 0 ||
			                                 strcmp(text, "1") == 0;
			break;
		case FL_TARGET_STRING:
			/* "" is a value here (a topic of every message) */
			if (text != NULL && text[0] == '\0')
				rc = (o->strs[i] = fli_scn_adup(l, "")) != NULL ? 0 : l->rc;
			else
				rc = fli_scn_str_field(l, m, base, a->name, text, a->required,
				                       false, &o->strs[i]);
			if (!rc && a->check != NULL && o->strs[i] != NULL) {
				char why[400] = "";

				if (a->check(o->strs[i], why, sizeof(why)) != 0) {
					why[sizeof(why) - 1] = '\0';
					rc = fli_scn_fail(l, fli_scn_yline(n), f, "%s",
					                  why[0] ? why : "not a value it takes");
				}
			}
			break;
		case FL_TARGET_OBJECT:
			rc = ref_field(l, m, base, a->name, text, a->required,
			               builtin ? builtin_kinds(a->kind) : 1u << FL_SCN_OBJ_TARGET,
			               a->any_client, ai, oi, &o->objs[i]);
			if (!rc && text != NULL && !builtin)
				l->refs[l->ref_count - 1].target_kind = a->kind;
			break;
		}
	}
	i = 0;
	for (const struct fl_target_arg *a = top->args; !rc && a && a->name; a++, i++) {
		size_t j = 0;

		/* given, and a boolean not as its default (`flag: false`) */
		if (!(o->given & (1u << i)) || (a->type == FL_TARGET_BOOL && o->ints[i] == a->dflt))
			continue;
		if (a->excludes != NULL) {
			size_t k = 0;
			const struct fl_target_arg *b = top->args;

			for (; strcmp(b->name, a->excludes); b++)
				k++;
			if ((o->given & (1u << k)) &&
			    (b->type != FL_TARGET_BOOL || o->ints[k] != b->dflt)) {
				rc = fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, m, a->name)),
				                  base, "give %s or %s, not both", a->excludes,
				                  a->name);
				break;
			}
		}
		/* given, and not as its default (`cancel_at: none`) */
		if (a->requires == NULL || !given_as_more(o, a, i))
			continue;
		for (const struct fl_target_arg *b = top->args; strcmp(b->name, a->requires); b++)
			j++;
		fli_scn_join(f, sizeof f, base, a->name);
		if (o->ints[j] == 0)
			rc = fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, m, a->name)), f,
			                  "needs %s: true", a->requires);
	}
	if (!rc && top->creates) {
		const char *as = NULL;
		int kind = builtin ? builtin_kind(top->creates, strlen(top->creates))
		                   : FL_SCN_OBJ_TARGET;

		rc = fli_scn_str_field(l, m, base, "as", scalar_of(l, m, "as"),
		                       !(top->flags & FL_TARGET_OP_AS_OPTIONAL), true, &as);
		if (!rc && as != NULL)
			rc = define_obj(l, m, base, as, (enum fl_scn_obj_kind)kind, ai, oi, &o->as);
		if (!rc && !builtin && as != NULL)
			l->objs[o->as].target_kind = top->creates;
	}
	if (!rc && (top->flags & FL_TARGET_OP_BLOCKS)) {
		yaml_node_t *n = fli_scn_yget(l, m, "deadline_ms");

		fli_scn_join(f, sizeof f, base, "deadline_ms");
		if (n != NULL && n->type == YAML_SEQUENCE_NODE)
			rc = draw_list(l, n, f, 0, MAX_MS, NULL, false, &o->draws[8]);
		else
			rc = fli_scn_u32_field(l, m, base, "deadline_ms",
			                       scalar_of(l, m, "deadline_ms"), 1, MAX_MS, false, 0,
			                       &o->deadline_ms);
	}
	return rc;
}

/* A declared op (convert_target_op), and its `expect:`: FL_E* names
 * joined by '|' or any, one code for an op that must fail; anything but
 * a scalar there is refused (read as none, it would let an op that must
 * fail succeed). */
static int
declared_op(struct loader *l, yaml_node_t *m, const char *base, int ai, int oi,
            struct fl_scenario_op *op, const struct fl_target *t, const struct fl_target_op *top,
            bool builtin)
{
	int rc = convert_target_op(l, m, base, ai, oi, op, t, top, builtin);
	yaml_node_t *e = rc == 0 ? fli_scn_yget(l, m, "expect") : NULL;

	if (e != NULL && e->type != YAML_SCALAR_NODE) {
		char f[160];

		fli_scn_join(f, sizeof f, base, "expect");
		return fli_scn_fail(l, fli_scn_yline(e), f,
		                    "expected FL_E* names joined by '|' (e.g. "
		                    "FL_ETIMEDOUT|FL_ECRASHED) or any, not a list or mapping");
	}
	if (!rc)
		rc = expect_field(l, m, base, scalar_of(l, m, "expect"), op);
	return rc ? rc : exact_expect(l, m, base, op, top);
}

/* A cluster op's node ids (node, isolate, member, groups: the tables
 * take any small number) are members of this scenario's cluster; a
 * partition gives groups or isolate. */
static int
cluster_members(struct loader *l, yaml_node_t *m, const char *base, const struct fl_scenario_op *op)
{
	static const char *const ids[] = { "node", "isolate", "member", "groups" };
	const struct fl_scn_op_target *o = &op->u.target;
	int64_t nodes = l->s->cluster.nodes;
	size_t i = 0;
	char f[160];

	if (op->kind == FL_SCN_OP_PARTITION && o->given == 0)
		return fli_scn_fail(l, op->line, base,
		                    "give groups (e.g. [[0], [1, 2]]) or isolate");
	for (const struct fl_target_arg *a = o->op->args; a->name != NULL; a++, i++) {
		bool id = false;

		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
			id = id || strcmp(a->name, ids[k]) == 0;
		if (!id || !(o->given & (1u << i)))
			continue;
		fli_scn_join(f, sizeof f, base, a->name);
		for (int64_t v = 0; a->type == FL_TARGET_GROUPS && v <= a->max; v++)
			if (v >= nodes && ((o->ints[i] >> (4 * v)) & 15))
				return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, m, a->name)),
				                    f, "node %lld is not a member (ids 0..%u)",
				                    (long long)v, l->s->cluster.nodes - 1);
		for (size_t k = 0;
		     a->type == FL_TARGET_INT && k < (o->draws[i].values ? o->draws[i].n : 1u);
		     k++) {
			int64_t v = o->draws[i].values ? o->draws[i].values[k] : o->ints[i];

			if (v >= nodes && !(o->named & (1u << i)))
				return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, m, a->name)),
				                    f, "node %lld is not a member (ids 0..%u)",
				                    (long long)v, l->s->cluster.nodes - 1);
		}
	}
	return 0;
}

int
fli_scn_convert_op(struct loader *l, const struct fli_raw_op *raw, yaml_node_t *opn,
                   const char *abase, int ai, int oi, struct fl_scenario_op *op,
                   enum fl_scn_actor_kind akind)
{
	static const struct fli_raw_op zero_op;
	char base[128], obase[96];
	int rc = 0;
	snprintf(obase, sizeof obase, "%s.ops[%d]", abase, oi);
	op->line = l->line = fli_scn_yline(opn);
	if (opn == NULL || opn->type != YAML_MAPPING_NODE ||
	    opn->data.mapping.pairs.top - opn->data.mapping.pairs.start != 1)
		return fli_scn_fail(
		        l, op->line, obase,
		        "an operation is a mapping with exactly one key, e.g. '- wait: {ms: 5}'");
	yaml_node_t *key = fli_scn_ynode(l, opn->data.mapping.pairs.start[0].key);
	yaml_node_t *m = fli_scn_ynode(l, opn->data.mapping.pairs.start[0].value);
	if (fli_scn_ynull(m))
		m = NULL;
	const char *kname =
	        key && key->type == YAML_SCALAR_NODE ? (const char *)key->data.scalar.value : "?";
	int kind = -1;
	const struct fl_target *tgt = NULL;
	const struct fl_target_op *top = NULL;
	for (int k = 0; k < FL_SCN_OP__COUNT; k++)
		if (strcmp(op_names[k], kname) == 0 && k != FL_SCN_OP_TARGET)
			kind = k;
	if (kind < 0 && (top = fli_target_op_in(l->target, kname, &tgt)) != NULL)
		kind = FL_SCN_OP_TARGET;
	const char *near = kind < 0 ? fli_scn_nearest_op(l->target, kname) : NULL;
	if (near != NULL)
		return fli_scn_fail(l, op->line, obase, "unknown operation '%s' (did you mean %s?)",
		                    kname, near);
	if (kind < 0)
		return fli_scn_fail(l, op->line, obase, "unknown operation '%s'%s", kname,
		                    l->s->target == NULL && l->target == NULL
		                            ? ""
		                            : " (neither built in nor the target's)");
	if (raw == NULL)
		raw = &zero_op;
	op->kind = (enum fl_scn_op_kind)kind;
	snprintf(base, sizeof base, "%s.%s", obase, kname);
	/* A built-in domain's op declared as a target's is. */
	for (const struct fl_target *const *t = fli_builtin_targets(op_domains[kind]);
	     kind != FL_SCN_OP_TARGET && *t != NULL; t++) {
		if ((top = fli_target_op_in(*t, kname, NULL)) == NULL)
			continue;
		if (op_domains[kind] != FL_SCN_DOMAIN_CLUSTER)
			return declared_op(l, m, base, ai, oi, op, *t, top, true);
		if (l->s->cluster.nodes == 0)
			return fli_scn_fail(
			        l, op->line, base,
			        "%s needs a cluster (a top-level `cluster: {nodes: 3}`)", kname);
		rc = declared_op(l, m, base, ai, oi, op, *t, top, true);
		return rc ? rc : cluster_members(l, m, base, op);
	}

	switch (op->kind) {
	case FL_SCN_OP_WAIT: {
		static const struct fli_raw_wait zero;
		const struct fli_raw_wait *a = raw->wait ? raw->wait : &zero;
		rc = fli_scn_u32_field(l, m, base, "ms", a->ms, 0, MAX_MS, true, 0, &op->u.wait.ms);
		break;
	}
	case FL_SCN_OP_BARRIER: {
		static const struct fli_raw_name zero;
		const struct fli_raw_name *a = raw->barrier ? raw->barrier : &zero;
		rc = fli_scn_str_field(l, m, base, "name", a->name, true, true,
		                       &op->u.barrier.name);
		if (!rc) {
			char f[160];
			fli_scn_join(f, sizeof f, base, "name");
			rc = add_barrier(l, op->u.barrier.name, ai,
			                 fli_scn_yline(fli_scn_yget(l, m, "name")), f);
		}
		break;
	}
	case FL_SCN_OP_CLOSE_CLIENT: break;
	case FL_SCN_OP_CRASH_SELF:
		if (akind != FL_SCN_ACTOR_PROCESS)
			rc = fli_scn_fail(l, op->line, base,
			                  "crash_self needs an actor of kind process");
		break;
	case FL_SCN_OP_TARGET: return declared_op(l, m, base, ai, oi, op, tgt, top, false);
	default: break;
	}
	if (!rc)
		rc = expect_field(l, m, base, raw_expect(raw, op->kind), op);
	return rc;
}
