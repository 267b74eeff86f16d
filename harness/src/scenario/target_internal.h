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

#endif
