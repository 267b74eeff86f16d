/*
 * The heap counter (harness/cli/heap_count.c, run/heap.h), linked into a
 * program of its own: its table must say exactly what a window kept,
 * however the blocks were allocated, freed, reallocated and grown past
 * the table's first size, and nothing of what was allocated outside the
 * window, paused, or freed.  Skipped (77) where the counter is not live:
 * under valgrind or a sanitizer (heap_count.c is not built there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "run/heap.h"

const struct fli_heap_counter *fli_heap_counter;

/* Through a volatile pointer: the compiler may not pair them away. */
static void *(*volatile xmalloc)(size_t) = malloc;
static void *(*volatile xcalloc)(size_t, size_t) = calloc;
static void *(*volatile xrealloc)(void *, size_t) = realloc;
static void (*volatile xfree)(void *) = free;
static int (*volatile xposix_memalign)(void **, size_t, size_t) = posix_memalign;
static void *(*volatile xaligned_alloc)(size_t, size_t) = aligned_alloc;
static void *(*volatile xmemalign)(size_t, size_t) = memalign;
static void *(*volatile xvalloc)(size_t) = valloc;
static void *(*volatile xpvalloc)(size_t) = pvalloc;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_exact_after_churn(void **state)
{
	enum { N = 100000 }; /* past the table's first 2^14 slots, half full */
	void **p = calloc(N, sizeof(*p));
	size_t *len = calloc(N, sizeof(*len));
	uint64_t kept = 0, bytes = 0;
	struct fli_heap_held h;
	void *before = xmalloc(24), *paused;

	(void)state;
	assert_non_null(p);
	fli_heap_counter->begin();
	xfree(before); /* allocated before the window: its free is no news */
	fli_heap_pause(true);
	paused = xmalloc(40);
	fli_heap_pause(false);
	for (size_t i = 0; i < N; i++) {
		len[i] = 1 + next() % 300;
		p[i] = (i % 3 == 0) ? xcalloc(1, len[i]) : xmalloc(len[i]);
		assert_non_null(p[i]);
	}
	/* Free two in three in a scrambled order, realloc some of the rest. */
	for (size_t k = 0; k < N; k++) {
		size_t i = (size_t)(next() % N);

		if (p[i] == NULL)
			continue;
		if (next() % 3 != 0) {
			xfree(p[i]);
			p[i] = NULL;
		} else if (next() % 4 == 0) {
			len[i] = 1 + next() % 600;
			p[i] = xrealloc(p[i], len[i]);
			assert_non_null(p[i]);
		}
	}
	for (size_t i = 0; i < N; i++)
		if (p[i] != NULL) {
			kept++;
			bytes += len[i];
		}
	fli_heap_counter->end(&h);
	assert_int_equal(h.blocks, kept);
	assert_int_equal(h.bytes, bytes);
	assert_false(h.overflow);
	assert_true(h.first_pc != 0);
	/* After the window: nothing is recorded, and freeing is no news. */
	for (size_t i = 0; i < N; i++)
		xfree(p[i]);
	xfree(paused);
	fli_heap_counter->begin();
	fli_heap_counter->end(&h);
	assert_int_equal(h.blocks, 0);
	assert_int_equal(h.bytes, 0);
	free(p);
	free(len);
}

static void
test_first_in_allocation_order(void **state)
{
	struct fli_heap_held h;
	void *a, *b, *c;

	(void)state;
	fli_heap_counter->begin();
	a = xmalloc(11);
	b = xmalloc(22);
	c = xmalloc(33);
	xfree(a);
	fli_heap_counter->end(&h);
	assert_int_equal(h.blocks, 2);
	assert_int_equal(h.bytes, 55);
	assert_int_equal(h.first_size, 22); /* b: the first still held */
	xfree(b);
	xfree(c);
}

/* The aligned family is recorded as malloc is, and freed with free. */
static void
test_aligned_family(void **state)
{
	struct fli_heap_held h;
	void *a = NULL, *b, *c, *d, *e;

	(void)state;
	fli_heap_counter->begin();
	assert_int_equal(xposix_memalign(&a, 64, 100), 0);
	b = xaligned_alloc(64, 128);
	c = xmemalign(128, 50);
	d = xvalloc(10);
	e = xpvalloc(10);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(d);
	assert_non_null(e);
	xfree(c);
	fli_heap_counter->end(&h);
	assert_int_equal(h.blocks, 4);
	assert_int_equal(h.bytes, 100 + 128 + 10 + 10);
	assert_int_equal(h.first_size, 100); /* a: the first still held */
	xfree(a);
	xfree(b);
	xfree(d);
	xfree(e);
}

/* Blocks at one offset of many pages (page-aligned ones) share the slot
 * within their group: the table still says exactly which are held after
 * they are freed in a random order (each free shifts the probe runs). */
static void
test_page_aligned_exact(void **state)
{
	enum { N = 6000 };
	void **p = calloc(N, sizeof(*p));
	struct fli_heap_held h;
	uint64_t kept = 0;

	(void)state;
	assert_non_null(p);
	fli_heap_counter->begin();
	for (size_t i = 0; i < N; i++) {
		p[i] = xaligned_alloc(4096, 16);
		assert_non_null(p[i]);
	}
	for (size_t i = N; i > 1; i--) {
		size_t j = (size_t)(next() % i);
		void *t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
	for (size_t i = 0; i < N; i++)
		if (next() % 3 != 0) {
			xfree(p[i]);
			p[i] = NULL;
		} else {
			kept++;
		}
	fli_heap_counter->end(&h);
	assert_int_equal(h.blocks, kept);
	assert_int_equal(h.bytes, kept * 16);
	for (size_t i = 0; i < N; i++)
		xfree(p[i]);
	free(p);
}

/* A realloc that fails leaves the block the caller's: still recorded. */
static void
test_failed_realloc_kept(void **state)
{
	struct fli_heap_held h;
	void *a, *r;

	(void)state;
	fli_heap_counter->begin();
	a = xmalloc(32);
	r = xrealloc(a, SIZE_MAX / 2);
	assert_null(r);
	fli_heap_counter->end(&h);
	assert_int_equal(h.blocks, 1);
	assert_int_equal(h.bytes, 32);
	xfree(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_after_churn),
		cmocka_unit_test(test_first_in_allocation_order),
		cmocka_unit_test(test_aligned_family),
		cmocka_unit_test(test_page_aligned_exact),
		cmocka_unit_test(test_failed_realloc_kept),
	};

	if (fli_heap_counter == NULL) {
		printf("# the heap counter is not live here (valgrind or a sanitizer)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
