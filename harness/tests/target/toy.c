/*
 * A toy target for alloc_hook_test.c: a shared object that allocates in
 * every way the hook knows, each call in a function of its own so that the
 * test decides the order.  Calls go through its PLT (JUMP_SLOT), its GOT
 * (&malloc: GLOB_DAT) and pointers in its data (R_X86_64_64, one in
 * writable data and one in RELRO).  Built twice: lazily bound with partial
 * RELRO, and with -z now (the whole GOT read-only after loading).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toy.h"

/* Keeps the compiler from proving a block unused (GCC drops a malloc
 * whose block is only freed). */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

/* Function pointers in the toy's data, set by relocations against
 * malloc: one in writable data, one in RELRO (const: .data.rel.ro). */
static toy_malloc_fn toy_fp = malloc;
static const toy_malloc_fn toy_fp_ro = malloc;

/* *pp, read from memory: the compiler cannot see where pp points. */
static toy_malloc_fn
load(const toy_malloc_fn *pp)
{
	__asm__("" : "+r"(pp));
	return *pp;
}

static void *toy_leaked;

TOY_API void *
toy_malloc(size_t n)
{
	return malloc(n);
}

TOY_API void *
toy_calloc(size_t a, size_t b)
{
	return calloc(a, b);
}

TOY_API void *
toy_realloc(void *p, size_t n)
{
	return realloc(p, n);
}

TOY_API void *
toy_reallocarray(void *p, size_t a, size_t b)
{
	return reallocarray(p, a, b);
}

TOY_API char *
toy_strdup(const char *s)
{
	return strdup(s);
}

TOY_API char *
toy_strndup(const char *s, size_t n)
{
	return strndup(s, n);
}

TOY_API int
toy_posix_memalign(void **p, size_t align, size_t n)
{
	return posix_memalign(p, align, n);
}

TOY_API void *
toy_aligned_alloc(size_t align, size_t n)
{
	return aligned_alloc(align, n);
}

TOY_API void *
toy_memalign(size_t align, size_t n)
{
	return memalign(align, n);
}

TOY_API void
toy_free(void *p)
{
	free(p);
}

/* malloc through the pointer in writable data. */
TOY_API void *
toy_malloc_data(size_t n)
{
	return load(&toy_fp)(n);
}

/* malloc through the pointer in RELRO. */
TOY_API void *
toy_malloc_relro(size_t n)
{
	return load(&toy_fp_ro)(n);
}

/* malloc as the toy's code sees its address (loaded from its GOT). */
TOY_API toy_malloc_fn
toy_malloc_address(void)
{
	toy_malloc_fn volatile f = malloc;
	return f;
}

/* A planted leak: n bytes the toy keeps and never frees, until
 * toy_unleak (so that the test process itself ends clean). */
TOY_API void
toy_leak(size_t n)
{
	toy_leaked = malloc(n);
	ESCAPE(toy_leaked);
}

TOY_API void
toy_unleak(void)
{
	free(toy_leaked);
	toy_leaked = NULL;
}

/* iters rounds of malloc, realloc (grow) and free, each NULL survived;
 * then keep blocks of 8 bytes (malloc), put in kept[] (NULL where one
 * failed).  *calls: allocation calls made; returns the NULLs seen. */
TOY_API long
toy_loop(long iters, int keep, void **kept, long *calls)
{
	long nulls = 0, n = 0;

	for (long i = 0; i < iters; i++) {
		void *p = malloc(16 + (size_t)(i % 48));
		void *q;

		n++;
		if (p == NULL) {
			nulls++;
			continue;
		}
		ESCAPE(p);
		q = realloc(p, 128);
		n++;
		if (q == NULL) {
			nulls++;
			q = p;
		}
		ESCAPE(q);
		free(q);
	}
	for (int i = 0; i < keep; i++) {
		kept[i] = malloc(8);
		n++;
		if (kept[i] == NULL)
			nulls++;
	}
	*calls = n;
	return nulls;
}
