/*
 * The heap counter behind the property no_heap_growth (docs/properties.md).
 *
 * The faultline program defines malloc, calloc, realloc and free
 * (harness/cli/heap_count.c): each passes the call on to the allocator
 * next in line (libfiu's POSIX preload when it is there, else libc's) and,
 * between begin and end, records the blocks it hands out and forgets those
 * freed, by whoever.  What is still recorded at end is what the window
 * left on the heap.  The harness's own bookkeeping that outlives a window
 * on purpose is allocated with the counter paused (fli_heap_pause).
 * Blocks the dynamic loader allocates (a new thread's TLS, kept with
 * glibc's cached stacks) are not counted: they are the C library's
 * caches, not the run's.
 *
 * Other programs linking the harness (the tests), and sanitizer builds
 * (whose own allocator must see every call), have no counter:
 * fli_heap_counter is NULL there.
 */
#ifndef FL_HARNESS_RUN_HEAP_H
#define FL_HARNESS_RUN_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fli_heap_held {
	uint64_t blocks; /* recorded blocks still held at end */
	uint64_t bytes;
	size_t first_size;  /* the first of them in allocation order */
	uintptr_t first_pc; /* the code that called malloc for it */
	bool overflow;      /* the record ran out of room: counts are short */
};

struct fli_heap_counter {
	void (*begin)(void);    /* record from now (what was recorded is dropped) */
	void (*pause)(bool on); /* this thread's allocations: not recorded while on */
	void (*end)(struct fli_heap_held *out); /* stop; what is still held */
};

/* Set by the faultline program before main; NULL elsewhere. */
extern const struct fli_heap_counter *fli_heap_counter;

static inline void
fli_heap_pause(bool on)
{
	if (fli_heap_counter != NULL)
		fli_heap_counter->pause(on);
}

#endif
