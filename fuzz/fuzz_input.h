/*
 * Reading a fuzz input as a stream of little-endian integers, shared by the
 * targets that decode operations from their input (driver_fuzz.c,
 * rr_fuzz.c).  Past the end every read yields zero bytes, so any input
 * decodes to some sequence of operations.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t
u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

/* Each wider read takes its bytes in order, lowest first. */
static inline uint16_t
u16(struct in *in)
{
	uint16_t lo = u8(in);

	return (uint16_t)(lo | (uint16_t)u8(in) << 8);
}

static inline uint32_t
u32(struct in *in)
{
	uint32_t lo = u16(in);

	return lo | (uint32_t)u16(in) << 16;
}

static inline uint64_t
u64(struct in *in)
{
	uint64_t lo = u32(in);

	return lo | (uint64_t)u32(in) << 32;
}

#endif
