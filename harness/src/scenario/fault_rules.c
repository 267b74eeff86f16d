/*
 * Faults: point names checked against the transport's registry
 * (fl_fault_point_names), actions, when-clauses, errno / FL_E* codes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "faultline/error.h"
#include "faultline/faults.h"
#include "faultline/platform.h"
#include "faultline/scenario.h"
#include "loader.h"

/* ---- faults ---- */

static const struct {
	const char *name;
	int value;
} errno_table[] = {
	{ "EPERM", EPERM },         { "ENOENT", ENOENT },
	{ "EINTR", EINTR },         { "EIO", EIO },
	{ "ENXIO", ENXIO },         { "EBADF", EBADF },
	{ "EAGAIN", EAGAIN },       { "ENOMEM", ENOMEM },
	{ "EACCES", EACCES },       { "EFAULT", EFAULT },
	{ "EBUSY", EBUSY },         { "EEXIST", EEXIST },
	{ "ENODEV", ENODEV },       { "EINVAL", EINVAL },
	{ "ENFILE", ENFILE },       { "EMFILE", EMFILE },
	{ "EFBIG", EFBIG },         { "ENOSPC", ENOSPC },
	{ "EROFS", EROFS },         { "ENAMETOOLONG", ENAMETOOLONG },
	{ "ETIMEDOUT", ETIMEDOUT }, { "ECONNREFUSED", ECONNREFUSED },
	{ "EPIPE", EPIPE },
};

static bool
known_point(const char *point, bool *registered)
{
	size_t n = strlen(point);
	bool prefix = n > 0 && point[n - 1] == '*';
	if (prefix)
		n--;
	*registered = false;
	for (const char *const *p = fl_fault_points(); *p != NULL; p++) {
		if (prefix ? strncmp(*p, point, n) == 0 : strcmp(*p, point) == 0) {
			*registered = true;
			return true;
		}
	}
	return strncmp(point, "transport/", 10) == 0 || strncmp(point, "target/", 7) == 0 ||
	       strncmp(point, "posix/", 6) == 0 || strncmp(point, "libc/", 5) == 0;
}

/* The registered point nearest to `point`, if near enough to be a typo. */
static const char *
nearest_point(const char *point)
{
	size_t n = 0;
	const char *const *names = fl_fault_points();
	while (names[n] != NULL)
		n++;
	return fli_scn_nearest(point, names, n);
}

int
fli_scn_convert_fault(struct loader *l, const struct fli_raw_fault *a, yaml_node_t *fn, int fi,
                      struct fl_scenario_fault *o, const struct fl_scenario *s)
{
	static const char *const actions[] = { "error", "delay", "drop", "crash" };
	char base[32], f[64];
	int rc, act;
	snprintf(base, sizeof base, "faults[%d]", fi);
	o->line = l->line = fli_scn_yline(fn);
	o->actor_index = -1;
	rc = fli_scn_str_field(l, fn, base, "point", a->point, true, false, &o->point);
	if (rc)
		return rc;
	int pline = fli_scn_yline(fli_scn_yget(l, fn, "point"));
	fli_scn_join(f, sizeof f, base, "point");
	bool registered;
	if (!known_point(o->point, &registered))
		return fli_scn_fail(l, pline, f,
		                    "unknown fault point '%s' (expected a registered transport/ or "
		                    "target/ point, or posix/... or libc/... for libfiu's preload)",
		                    o->point);
	bool harness_point = strncmp(o->point, "target/", 7) == 0;
	if (!registered && (strncmp(o->point, "transport/", 10) == 0 || harness_point)) {
		/* A typo would make every run fail for the wrong reason, or a
		 * rule silently never fire: refuse it at load. */
		const char *near = nearest_point(o->point);
		if (near != NULL)
			return fli_scn_fail(l, pline, f,
			                    "unknown fault point '%s' (did you mean %s?)", o->point,
			                    near);
		return fli_scn_fail(l, pline, f,
		                    "unknown fault point '%s' (not in this build's registry: "
		                    "`faultline list --points` prints them)",
		                    o->point);
	}
	if (registered == false && strncmp(o->point, "transport/", 10) != 0 &&
	    s->mode != FL_SCN_MODE_PROC)
		return fli_scn_fail(l, pline, f,
		                    "syscall point '%s' needs mode proc (libfiu preload)",
		                    o->point);
	rc = fli_scn_enum_field(l, fn, base, "action", a->action, actions, 4, -1, &act);
	if (rc)
		return rc;
	o->action = (enum fl_scn_fault_action)act;
	if (harness_point && l->target == NULL)
		return fli_scn_fail(l, pline, f,
		                    "'%s' is a target's point, and this scenario names no "
		                    "target (target: PATH)",
		                    o->point);
	if (harness_point && o->action != FL_SCN_FAULT_ERROR)
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, fn, "action")), base,
		                    "'%s' takes action error only (the call returns NULL, ENOMEM), "
		                    "not %s",
		                    o->point, actions[act]);

	yaml_node_t *wn = fli_scn_yget(l, fn, "when");
	o->when = FL_SCN_WHEN_ALWAYS;
	if (wn != NULL && !fli_scn_ynull(wn)) {
		char wb[48];
		int64_t v;
		snprintf(wb, sizeof wb, "%s.when", base);
		int given = (fli_scn_yget(l, wn, "nth") != NULL) +
		            (fli_scn_yget(l, wn, "after") != NULL) +
		            (fli_scn_yget(l, wn, "probability") != NULL);
		if (given != 1)
			return fli_scn_fail(l, fli_scn_yline(wn), wb,
			                    "give exactly one of nth, after, probability");
		if (fli_scn_yget(l, wn, "nth")) {
			o->when = FL_SCN_WHEN_NTH;
			rc = fli_scn_int_field(l, wn, wb, "nth", a->when->nth, 1, INT64_MAX, true,
			                       0, &v);
			o->n = (uint64_t)v;
		} else if (fli_scn_yget(l, wn, "after")) {
			o->when = FL_SCN_WHEN_AFTER;
			rc = fli_scn_int_field(l, wn, wb, "after", a->when->after, 1, INT64_MAX,
			                       true, 0, &v);
			o->n = (uint64_t)v;
		} else {
			fli_scn_join(f, sizeof f, wb, "probability");
			o->when = FL_SCN_WHEN_PROBABILITY;
			rc = fli_scn_number_field(l, wn, wb, "probability", a->when->probability,
			                          &o->probability);
			if (rc)
				return rc;
			if (!(o->probability > 0.0 && o->probability <= 1.0))
				return fli_scn_fail(l,
				                    fli_scn_yline(
				                            fli_scn_yget(l, wn, "probability")),
				                    f, "must be in (0, 1] (got %g)",
				                    o->probability);
		}
		if (rc)
			return rc;
	}

	yaml_node_t *en = fli_scn_yget(l, fn, "errno"), *cn = fli_scn_yget(l, fn, "code");
	if ((en || cn) && harness_point)
		return fli_scn_fail(l, fli_scn_yline(en ? en : cn), base,
		                    "'%s' fails with ENOMEM only: no %s", o->point,
		                    en ? "errno" : "code");
	if ((en || cn) && o->action != FL_SCN_FAULT_ERROR && o->action != FL_SCN_FAULT_DROP)
		return fli_scn_fail(l, fli_scn_yline(en ? en : cn), base,
		                    "%s applies to action error or drop only",
		                    en ? "errno" : "code");
	if (en && cn)
		return fli_scn_fail(l, fli_scn_yline(cn), base, "give errno or code, not both");
	if (en && a->errno_name) {
		fli_scn_join(f, sizeof f, base, "errno");
		int64_t v;
		if (fli_scn_parse_decimal(a->errno_name, &v) == 0 && v > 0 && v < 4096) {
			o->error = (int)v;
		} else {
			for (size_t i = 0; i < sizeof errno_table / sizeof errno_table[0]; i++)
				if (strcmp(errno_table[i].name, a->errno_name) == 0)
					o->error = errno_table[i].value;
			if (o->error == 0)
				return fli_scn_fail(l, fli_scn_yline(en), f, "unknown errno '%s'",
				                    a->errno_name);
		}
	}
	if (cn && a->code) {
		fli_scn_join(f, sizeof f, base, "code");
		for (int c = -1; c >= FL_ERROR_MIN; c--)
			if (strcmp(fl_errname(c), a->code) == 0)
				o->error = c;
		if (o->error == 0)
			return fli_scn_fail(l, fli_scn_yline(cn), f,
			                    "unknown error code '%s' (expected an FL_E* name)",
			                    a->code);
	}
	/* Said where it would be dropped: a rule that names an error the op
	 * never sees is a scenario that expects the wrong thing. */
	if (cn)
		return fli_scn_fail(l, fli_scn_yline(cn), base,
		                    "code has no effect: a transport point fails with its own "
		                    "error (the one its op reports), a libc point with its "
		                    "errno (errno:)");
	if (en && strncmp(o->point, "posix/", 6) != 0 && strncmp(o->point, "libc/", 5) != 0)
		return fli_scn_fail(l, fli_scn_yline(en), base,
		                    "errno applies to libc's points (posix/..., libc/...) only: a "
		                    "transport point fails with its own error");
	if (o->action == FL_SCN_FAULT_DELAY)
		rc = fli_scn_u32_field(l, fn, base, "delay_ms", a->delay_ms, 1, MAX_MS, true, 0,
		                       &o->delay_ms);
	else if (fli_scn_yget(l, fn, "delay_ms"))
		rc = fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, fn, "delay_ms")), base,
		                  "delay_ms applies to action delay only");
	if (rc)
		return rc;
	rc = fli_scn_str_field(l, fn, base, "actor", a->actor, false, true, &o->actor);
	if (rc || o->actor == NULL)
		return rc;
	for (size_t i = 0; i < s->actor_count; i++)
		if (strcmp(s->actors[i].name, o->actor) == 0)
			o->actor_index = (int)i;
	/* A cluster's nodes run as actors node0, node1, ... */
	for (uint32_t i = 0; i < s->cluster.nodes && o->actor_index < 0; i++) {
		char name[16];

		snprintf(name, sizeof name, "node%u", i);
		if (strcmp(name, o->actor) == 0)
			return 0;
	}
	if (o->actor_index < 0) {
		fli_scn_join(f, sizeof f, base, "actor");
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, fn, "actor")), f,
		                    "unknown actor '%s'", o->actor);
	}
	return 0;
}
