/*
 * Little-endian fields of the cluster's frames and files.
 */
#ifndef FLI_LE_H
#define FLI_LE_H

#include <stdint.h>

/* The n-byte (n <= 8) little-endian value at p. */
static inline uint64_t
fli_le_get(int n, const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Writes the low n bytes of v at p, little-endian. */
static inline void
fli_le_put(int n, uint8_t *p, uint64_t v)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
