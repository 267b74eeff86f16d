/*
 * Growing an array by doubling, for the harness's lists that fill one
 * element at a time (references, paths, runs, recorded choices).
 */
#ifndef FL_HARNESS_GROW_H
#define FL_HARNESS_GROW_H

#include <stddef.h>
#include <stdlib.h>

#include "run/heap.h"

/* The array p of *cap elements of elem bytes, made to hold at least need:
 * its capacity doubles, from first when it is 0, until it does.  Returns
 * the array (p itself when it is large enough already) and updates *cap;
 * NULL when memory runs out, with p and *cap as they were.  The
 * harness's own bookkeeping: not counted as the run's heap (run/heap.h). */
static inline void *
fli_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t n = *cap ? *cap : first;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	fli_heap_pause(true);
	p = realloc(p, n * elem);
	fli_heap_pause(false);
	if (p != NULL)
		*cap = n;
	return p;
}

#endif
