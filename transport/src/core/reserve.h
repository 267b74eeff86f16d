/*
 * fli_reserve: room for `need` elements of `size` bytes in the array *p of
 * *cap, doubling (from 64) as needed.  0, or FL_ENOMEM with *p and *cap
 * as they were.
 */
#ifndef FLI_RESERVE_H
#define FLI_RESERVE_H

#include <stdint.h>
#include <stdlib.h>

#include "faultline/error.h"

static inline int
fli_reserve(void *p, uint64_t *cap, uint64_t need, size_t size)
{
	void **arr = p, *np;
	uint64_t nc = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	np = realloc(*arr, nc * size);
	if (np == NULL)
		return FL_ENOMEM;
	*arr = np;
	*cap = nc;
	return 0;
}

#endif
