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

#endif
