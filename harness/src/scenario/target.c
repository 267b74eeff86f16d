/*
 * The registered targets (faultline/target.h): tables a program hands
 * over, or shared objects a scenario names, checked whole before any op
 * of theirs is known, so that a malformed target is a clear error at
 * load time, never a crash in a run.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/scenario.h"
#include "faultline/target.h"
#include "scenario/target_internal.h"
#include "target/alloc_hook.h"

static const struct fl_target *targets[FL_TARGET_MAX];
static void *handles[FL_TARGET_MAX]; /* the shared object's (dlopen), or NULL */
static size_t ntargets;

/* Keys every target op takes besides its declared arguments. */
static const char *const reserved[] = { "as", "expect", "deadline_ms" };

static bool
name_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static const struct fl_target_kind *
kind_of(const struct fl_target *t, const char *name)
{
	for (const struct fl_target_kind *k = t->kinds; k != NULL && k->name != NULL; k++)
		if (name != NULL && strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Is kinds ("a" or "a|b|c") every one a declared kind of t? */
static bool
kinds_ok(const struct fl_target *t, const char *kinds)
{
	char one[72];

	if (kinds == NULL || *kinds == '\0')
		return false;
	for (const char *p = kinds;; p++) {
		size_t n = strcspn(p, "|");

		if (n == 0 || n >= sizeof(one))
			return false;
		memcpy(one, p, n);
		one[n] = '\0';
		if (kind_of(t, one) == NULL)
			return false;
		p += n;
		if (*p == '\0')
			return true;
	}
}

/* Is v one of a's names' values? */
static bool
named(const struct fl_target_arg *a, int64_t v)
{
	for (const struct fl_target_name *w = a->names; w != NULL && w->name != NULL; w++)
		if (w->value == v)
			return true;
	return false;
}

static int
bad(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (errlen)
		snprintf(err, errlen, fmt, a, b);
	return FL_EINVAL;
}

static bool
builtin_op(const char *name)
{
	for (int k = 0; k < FL_SCN_OP__COUNT; k++)
		if (strcmp(fl_scenario_op_name((enum fl_scn_op_kind)k), name) == 0)
			return true;
	return false;
}

/* Checks one op of t: 0, or FL_EINVAL with err. */
static int
check_op(const struct fl_target *t, const struct fl_target_op *op, char *err, size_t errlen)
{
	size_t n = 0;
	bool closes_found = op->closes == NULL;

	if (!name_ok(op->name))
		return bad(err, errlen, "target %s: an op's name '%s' is not lower_case_name",
		           t->name, op->name ? op->name : "(null)");
	if (op->fn == NULL)
		return bad(err, errlen, "target %s: op %s has no function", t->name, op->name);
	if (op->creates != NULL && kind_of(t, op->creates) == NULL)
		return bad(err, errlen, "target %s: op %s creates an undeclared kind", t->name,
		           op->name);
	for (const struct fl_target_arg *a = op->args; a != NULL && a->name != NULL; a++, n++) {
		if (n == FL_TARGET_MAX_ARGS)
			return bad(err, errlen, "target %s: op %s has more than 8 arguments",
			           t->name, op->name);
		if (!name_ok(a->name))
			return bad(err, errlen,
			           "target %s: op %s: an argument's name is not "
			           "lower_case_name",
			           t->name, op->name);
		for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++)
			if (strcmp(a->name, reserved[r]) == 0)
				return bad(err, errlen,
				           "target %s: op %s: argument names as, expect and "
				           "deadline_ms are the harness's",
				           t->name, op->name);
		for (const struct fl_target_arg *b = op->args; b < a; b++)
			if (strcmp(a->name, b->name) == 0)
				return bad(err, errlen,
				           "target %s: op %s: an argument is declared twice",
				           t->name, op->name);
		if ((a->type == FL_TARGET_OBJECT || (a->type == FL_TARGET_INT && a->kind)) &&
		    !kinds_ok(t, a->kind))
			return bad(err, errlen,
			           "target %s: op %s: an object argument of an undeclared "
			           "kind",
			           t->name, op->name);
		if ((a->type == FL_TARGET_INT || a->type == FL_TARGET_RANGE) &&
		    (a->min > a->max ||
		     ((a->dflt < a->min || a->dflt > a->max) && !named(a, a->dflt))))
			return bad(err, errlen,
			           "target %s: op %s: an integer's min, max and default "
			           "disagree",
			           t->name, op->name);
		if (a->names != NULL && a->type != FL_TARGET_INT)
			return bad(err, errlen,
			           "target %s: op %s: only an integer argument has names", t->name,
			           op->name);
		for (const struct fl_target_name *w = a->names; w != NULL && w->name != NULL; w++)
			if (!name_ok(w->name) || w->name[0] < 'a' || w->name[0] > 'z')
				return bad(err, errlen,
				           "target %s: op %s: an integer's name is not "
				           "lower_case_name starting with a letter",
				           t->name, op->name);
		if (a->type == FL_TARGET_GROUPS && (a->min != 0 || a->max < 0 || a->max > 15))
			return bad(err, errlen,
			           "target %s: op %s: groups' members run from 0 to a max of at "
			           "most 15",
			           t->name, op->name);
		if (a->names_only && a->names == NULL)
			return bad(err, errlen,
			           "target %s: op %s: an argument of names only has no names",
			           t->name, op->name);
		if (a->kind != NULL && a->type != FL_TARGET_OBJECT && a->type != FL_TARGET_INT)
			return bad(err, errlen,
			           "target %s: op %s: only an object or integer argument has a "
			           "kind",
			           t->name, op->name);
		if (a->any_client && a->type != FL_TARGET_OBJECT &&
		    !(a->type == FL_TARGET_INT && a->kind != NULL))
			return bad(err, errlen,
			           "target %s: op %s: only an object argument is any_client",
			           t->name, op->name);
		if ((int)a->type < FL_TARGET_INT || a->type > FL_TARGET_GROUPS)
			return bad(err, errlen, "target %s: op %s: an argument of an unknown type",
			           t->name, op->name);
		if (a->check != NULL && a->type != FL_TARGET_STRING)
			return bad(err, errlen,
			           "target %s: op %s: only a string argument has a check", t->name,
			           op->name);
		if (op->closes != NULL && strcmp(op->closes, a->name) == 0)
			closes_found = a->type == FL_TARGET_OBJECT;
	}
	for (const struct fl_target_arg *a = op->args; a != NULL && a->name != NULL; a++) {
		bool found = false;

		for (const struct fl_target_arg *b = op->args; a->excludes && b->name; b++)
			found = found || (b != a && strcmp(b->name, a->excludes) == 0);
		if (a->excludes != NULL && !found)
			return bad(err, errlen,
			           "target %s: op %s: an argument excludes no other argument of "
			           "the op",
			           t->name, op->name);
		found = false;
		for (const struct fl_target_arg *b = op->args; a->requires && b->name; b++)
			found = found || (b != a && b->type == FL_TARGET_BOOL &&
			                  strcmp(b->name, a->requires) == 0);
		if (a->requires != NULL && !found)
			return bad(err, errlen,
			           "target %s: op %s: an argument requires no boolean argument of "
			           "the op",
			           t->name, op->name);
	}
	if ((op->flags & FL_TARGET_OP_AS_OPTIONAL) && op->creates == NULL)
		return bad(err, errlen, "target %s: op %s: `as:` optional, but it creates nothing",
		           t->name, op->name);
	if (op->flags &
	    ~(FL_TARGET_OP_BLOCKS | FL_TARGET_OP_EXPECT_EXACT | FL_TARGET_OP_AS_OPTIONAL))
		return bad(err, errlen, "target %s: op %s has flags this faultline does not know",
		           t->name, op->name);
	if (!closes_found)
		return bad(err, errlen, "target %s: op %s closes no object argument of its own",
		           t->name, op->name);
	return 0;
}

static int
check(const struct fl_target *t, char *err, size_t errlen)
{
	if (t == NULL)
		return bad(err, errlen, "no target%s%s", "", "");
	if (!name_ok(t->name))
		return bad(err, errlen, "a target's name '%s' is not lower_case_name%s",
		           t->name ? t->name : "(null)", "");
	for (const struct fl_target_kind *k = t->kinds; k != NULL && k->name != NULL; k++)
		if (!name_ok(k->name) || k->close == NULL)
			return bad(err, errlen,
			           "target %s: kind %s needs a lower_case_name and a close",
			           t->name, k->name);
	for (const struct fl_target_gauge *g = t->gauges; g != NULL && g->name != NULL; g++)
		if (!name_ok(g->name) || g->read == NULL)
			return bad(err, errlen,
			           "target %s: gauge %s needs a lower_case_name and a read",
			           t->name, g->name);
	if (t->ops == NULL || t->ops[0].name == NULL)
		return bad(err, errlen, "target %s declares no op%s", t->name, "");
	for (size_t i = 0; t->properties != NULL && t->properties[i].name != NULL; i++) {
		const struct fl_target_property *p = &t->properties[i];

		if (i == FL_TARGET_MAX_PROPERTIES)
			return bad(err, errlen, "target %s: more than %s properties", t->name,
			           "FL_TARGET_MAX_PROPERTIES (16)");
		if (!name_ok(p->name) || p->holds == NULL || p->what == NULL)
			return bad(err, errlen,
			           "target %s: property %s needs a lower_case_name, a what and a "
			           "holds",
			           t->name, p->name ? p->name : "(null)");
		for (uint32_t k = 0; k < FL_SCN_PROP_COUNT; k++)
			if (strcmp(fl_scenario_property_name(1u << k), p->name) == 0)
				return bad(err, errlen,
				           "target %s: property %s is a built-in one's name",
				           t->name, p->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->properties[j].name, p->name) == 0)
				return bad(err, errlen, "target %s: property %s is declared twice",
				           t->name, p->name);
	}
	if (t->wrapped && t->libraries != NULL && t->libraries[0] != NULL)
		return bad(err, errlen,
		           "target %s: a wrapped library is linked in: give wrapped or "
		           "libraries, not both%s",
		           t->name, "");
	if (t->shared_size > FL_TARGET_SHARED_MAX)
		return bad(err, errlen, "target %s: shared_size is over %s (64 MiB)", t->name,
		           "FL_TARGET_SHARED_MAX");
	for (size_t i = 0; t->libraries != NULL && t->libraries[i] != NULL; i++) {
		/* Loaded already (RTLD_NOLOAD): the target links it. */
		void *h = dlopen(t->libraries[i], RTLD_NOW | RTLD_NOLOAD);

		if (h == NULL)
			return bad(err, errlen,
			           "target %s: its library '%s' is not loaded (link the target "
			           "against it, and name it as dlopen would: its soname)",
			           t->name, t->libraries[i]);
		dlclose(h);
		_Static_assert(FLI_ALLOC_MAX_OBJECTS == 8, "the message says 8");
		if (i == FLI_ALLOC_MAX_OBJECTS)
			return bad(err, errlen, "target %s: more than 8 libraries%s", t->name, "");
	}
	for (const struct fl_target_op *op = t->ops; op->name != NULL; op++) {
		int rc = check_op(t, op, err, errlen);
		if (rc)
			return rc;
		for (const struct fl_target_op *o2 = t->ops; o2 < op; o2++)
			if (strcmp(o2->name, op->name) == 0)
				return bad(err, errlen, "target %s: op %s is declared twice",
				           t->name, op->name);
	}
	return 0;
}

int
fli_target_check(const struct fl_target *t, char *err, size_t errlen)
{
	if (t != NULL && t->abi != FL_TARGET_ABI) {
		if (errlen)
			snprintf(err, errlen,
			         "target %s: built for target ABI %d, this faultline has %d",
			         t->name ? t->name : "(null)", t->abi, FL_TARGET_ABI);
		return FL_EPROTO;
	}
	return check(t, err, errlen);
}

/* Registers t; a target a program registers must not share an op's name
 * with another (a scenario without `target:` finds ops among them all),
 * one loaded for a scenario's `target:` may (the scenario's ops are found
 * in its own target first: two planted builds of one library load side
 * by side). */
static int register_target(const struct fl_target *t, bool loaded, char *err, size_t errlen);

int
fl_target_register(const struct fl_target *t, char *err, size_t errlen)
{
	return register_target(t, false, err, errlen);
}

static int
register_target(const struct fl_target *t, bool loaded, char *err, size_t errlen)
{
	int rc;

	if (errlen)
		err[0] = '\0';
	for (size_t i = 0; i < ntargets; i++)
		if (targets[i] == t)
			return 0;
	if ((rc = fli_target_check(t, err, errlen)) != 0)
		return rc;
	for (const struct fl_target_op *op = t->ops; op->name != NULL; op++) {
		const struct fl_target *other = NULL;

		if (builtin_op(op->name) ||
		    (!loaded && fl_target_op_find(op->name, &other) != NULL)) {
			if (errlen)
				snprintf(err, errlen, "target %s: op %s is %s", t->name, op->name,
				         other != NULL ? "another registered target's too"
				                       : "a built-in operation's name");
			return FL_EEXIST;
		}
	}
	if (ntargets == FL_TARGET_MAX) {
		if (errlen)
			snprintf(err, errlen, "more than %d targets", FL_TARGET_MAX);
		return FL_ELIMIT;
	}
	targets[ntargets++] = t;
	return 0;
}

int
fl_target_load(const char *path, const struct fl_target **out, char *err, size_t errlen)
{
	fl_target_entry_fn entry;
	const struct fl_target *t;
	void *h;
	int rc;

	/* RTLD_NODELETE: ops of it stay callable as long as a scenario may
	 * name them; dlopen of the same path again returns this one. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (h == NULL) {
		if (errlen)
			snprintf(err, errlen, "%s", dlerror());
		return FL_ENOENT;
	}
	*(void **)&entry = dlsym(h, FL_TARGET_ENTRY);
	if (entry == NULL) {
		if (errlen)
			snprintf(err, errlen, "%s: no %s() (is it a faultline target?)", path,
			         FL_TARGET_ENTRY);
		dlclose(h);
		return FL_ENOENT;
	}
	t = entry();
	rc = register_target(t, true, err, errlen);
	if (rc != 0) {
		dlclose(h); /* refused: nothing of it is kept */
		return rc;
	}
	for (size_t i = 0; i < ntargets; i++)
		if (targets[i] == t)
			handles[i] = h;
	if (rc == 0 && out != NULL)
		*out = t;
	return rc;
}

void *
fli_target_handle(const struct fl_target *t)
{
	for (size_t i = 0; i < ntargets; i++)
		if (targets[i] == t)
			return handles[i];
	return NULL;
}

const struct fl_target_op *
fli_target_op_in(const struct fl_target *scope, const char *name, const struct fl_target **target)
{
	if (scope == NULL)
		return fl_target_op_find(name, target);
	for (const struct fl_target_op *op = scope->ops; name != NULL && op->name != NULL; op++)
		if (strcmp(op->name, name) == 0) {
			if (target != NULL)
				*target = scope;
			return op;
		}
	return NULL;
}

const struct fl_target_op *
fl_target_op_find(const char *name, const struct fl_target **target)
{
	for (size_t i = 0; name != NULL && i < ntargets; i++)
		for (const struct fl_target_op *op = targets[i]->ops; op->name != NULL; op++)
			if (strcmp(op->name, name) == 0) {
				if (target != NULL)
					*target = targets[i];
				return op;
			}
	return NULL;
}
