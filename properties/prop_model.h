/*
 * What the model-based properties' setups share (fl_model_spec's setup):
 * the allocation of a trial's model and real state.
 */
#ifndef PROPERTIES_PROP_MODEL_H
#define PROPERTIES_PROP_MODEL_H

#include "faultline/prop.h"

#include <stddef.h>
#include <stdlib.h>

/* Allocates a trial's model (model_size bytes) into *model and its real
 * state into *real, both zeroed.  FL_PROP_PASS, or out of memory: neither
 * is kept (both NULL) and the trial fails.  A setup that fails later
 * frees both itself (or hands them to its teardown). */
static inline int
prop_model_alloc(struct fl_prop_ctx *ctx, void **model, size_t model_size, void **real,
                 size_t real_size)
{
	*model = calloc(1, model_size);
	*real = calloc(1, real_size);
	if (*model && *real)
		return FL_PROP_PASS;
	free(*model);
	free(*real);
	*model = *real = NULL;
	return fl_prop_fail(ctx, "out of memory");
}

#endif
