/*
 * Reading a fuzz input as a stream of little-endian integers, shared by the
 * targets that decode operations from their input (driver_fuzz.c,
 * rr_fuzz.c).  Past the end every read yields zero bytes, so any input
 * decodes to some sequence of operations.
 *
 * And the parts of the targets that copy their input into a mapping for a
 * reader to read (frame_fuzz.c, ring_fuzz.c): a mode byte, then the bytes
 * to copy.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* A zeroed mapping stand-in of len bytes, aligned as shared memory is for
 * the atomics, for an input of size bytes; NULL if the input has no mode
 * byte (nothing to do) or out of memory.  The caller frees it. */
static inline uint8_t *
fuzz_mapping(size_t size, size_t len)
{
	uint8_t *mem;

	if (size < 1)
		return NULL;
	mem = aligned_alloc(64, len);

	if (mem != NULL)
		memset(mem, 0, len);
	return mem;
}

/* Copies the input after its mode byte (data[0], size >= 1) to dst, at
 * most cap bytes of it. */
static inline void
fuzz_copy_rest(uint8_t *dst, size_t cap, const uint8_t *data, size_t size)
{
	memcpy(dst, data + 1, size - 1 < cap ? size - 1 : cap);
}

/* Reads each of the len bytes a reader delivered in buf, so a sanitizer
 * checks them all; returns len, the count a callback adds up. */
static inline size_t
fuzz_touch(const uint8_t *buf, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum ^= buf[i];
	return len + (sum & 0);
}

#endif
