/* What the history reader, models and checker share. */
#ifndef FLI_HISTORY_INTERNAL_H
#define FLI_HISTORY_INTERNAL_H

#include "faultline/history.h"

/* fli_history_alloc: n bytes from the arena *a (NULL when out of memory);
 * freed all at once by fl_history_fini. */
void *fli_history_alloc(struct fl_history_arena **a, size_t n);

/* fli_hvalue_hash: agrees with fl_hvalue_equal. */
uint64_t fli_hvalue_hash(const struct fl_hvalue *v);

#endif
