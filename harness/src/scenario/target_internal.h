/*
 * What the run needs of the registered targets (target.c) beyond
 * faultline/target.h.
 */
#ifndef FLI_TARGET_INTERNAL_H
#define FLI_TARGET_INTERNAL_H

#include "faultline/target.h"

/* The dlopen handle of target t when it came from a shared object
 * (fl_target_load), or NULL (a table a program registered). */
void *fli_target_handle(const struct fl_target *t);

/* The op called name of the scenario's target `scope` (its `target:`),
 * or, scope NULL, of any registered target (fl_target_op_find). */
const struct fl_target_op *fli_target_op_in(const struct fl_target *scope, const char *name,
                                            const struct fl_target **target);

/* The tables built-in domain d's ops are declared in, as a target's
 * are, ended by NULL (none for the run's own steps).  Their kinds of
 * object are the scenario's kinds of the same name (enum
 * fl_scn_obj_kind: "server", "connection", "context", "node";
 * "cluster_client" is "cluster client"); scenarios name them as any
 * op, without `target:`, and the domain runs them (its interpreter
 * calls each op's fn). */
enum fl_scn_domain;
const struct fl_target *const *fli_builtin_targets(enum fl_scn_domain d);

/* fl_target_register's checks of t, without registering it: 0, or
 * FL_EINVAL/FL_EPROTO with err. */
int fli_target_check(const struct fl_target *t, char *err, size_t errlen);

#endif
