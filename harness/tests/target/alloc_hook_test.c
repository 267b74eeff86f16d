/*
 * The allocation hook on a target (harness/src/target/alloc_hook.h): the
 * toy shared object (toy.c), dlopen'ed by path (argv[1]; argv[2] "now"
 * opens it RTLD_NOW, else RTLD_LAZY), hooked, and driven one call at a
 * time; argv[3], the toy's other build, is the target dlclose'd before the
 * unhook.  The toy's calls are numbered 1..N in order, a failing call k
 * fails that call alone, the test's own allocations never fail, the held
 * blocks and bytes balance (and show a planted leak), unknown frees are
 * counted, four threads keep the counts exact, and unhooking restores the
 * toy's own pointers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/target.h" /* the __wrap_ functions */
#include "target/alloc_hook.h"
#include "toy.h"

static const char *toy_path;
static const char *other_path; /* the other build of the toy */
static int toy_mode = RTLD_LAZY;
static void *toy_handle;
static char toy_maps_loaded[2048]; /* the toy's mappings once loaded */

/* The toy's functions (toy.h), found with dlsym. */
static struct {
	__typeof__(&toy_malloc) malloc;
	__typeof__(&toy_calloc) calloc;
	__typeof__(&toy_realloc) realloc;
	__typeof__(&toy_reallocarray) reallocarray;
	__typeof__(&toy_strdup) strdup;
	__typeof__(&toy_strndup) strndup;
	__typeof__(&toy_posix_memalign) posix_memalign;
	__typeof__(&toy_aligned_alloc) aligned_alloc;
	__typeof__(&toy_memalign) memalign;
	__typeof__(&toy_free) free;
	__typeof__(&toy_malloc_data) malloc_data;
	__typeof__(&toy_malloc_relro) malloc_relro;
	__typeof__(&toy_malloc_address) malloc_address;
	__typeof__(&toy_leak) leak;
	__typeof__(&toy_unleak) unleak;
	__typeof__(&toy_loop) loop;
} toy;

static void *
sym(const char *name)
{
	void *p = dlsym(toy_handle, name);

	if (p == NULL)
		fail_msg("dlsym %s: %s", name, dlerror());
	return p;
}

/* The toy's mappings in /proc/self/maps ("start-end perms" lines, in
 * order) into buf. */
static void
toy_maps(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096], real[PATH_MAX];
	size_t used = 0;

	assert_non_null(f);
	assert_non_null(realpath(toy_path, real));
	buf[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		char range[64], perms[8];

		if (strstr(line, real) == NULL || sscanf(line, "%63s %7s", range, perms) != 2)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s %s\n", range, perms);
		assert_true(used < len);
	}
	fclose(f);
}

static int
group_setup(void **state)
{
	(void)state;
	toy_handle = dlopen(toy_path, toy_mode | RTLD_LOCAL);
	if (toy_handle == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", toy_path, dlerror());
		return -1;
	}
	*(void **)&toy.malloc = sym("toy_malloc");
	*(void **)&toy.calloc = sym("toy_calloc");
	*(void **)&toy.realloc = sym("toy_realloc");
	*(void **)&toy.reallocarray = sym("toy_reallocarray");
	*(void **)&toy.strdup = sym("toy_strdup");
	*(void **)&toy.strndup = sym("toy_strndup");
	*(void **)&toy.posix_memalign = sym("toy_posix_memalign");
	*(void **)&toy.aligned_alloc = sym("toy_aligned_alloc");
	*(void **)&toy.memalign = sym("toy_memalign");
	*(void **)&toy.free = sym("toy_free");
	*(void **)&toy.malloc_data = sym("toy_malloc_data");
	*(void **)&toy.malloc_relro = sym("toy_malloc_relro");
	*(void **)&toy.malloc_address = sym("toy_malloc_address");
	*(void **)&toy.leak = sym("toy_leak");
	*(void **)&toy.unleak = sym("toy_unleak");
	*(void **)&toy.loop = sym("toy_loop");
	toy_maps(toy_maps_loaded, sizeof(toy_maps_loaded));
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	fli_alloc_unhook();
	fli_alloc_reset();
	if (toy_handle != NULL)
		dlclose(toy_handle);
	return 0;
}

/* Each test starts unhooked, numbering from 1, and leaves it so. */
static int
setup(void **state)
{
	(void)state;
	fli_alloc_unhook();
	fli_alloc_reset();
	return 0;
}

static int
teardown(void **state)
{
	return setup(state);
}

/* ---- the hook the tests install -------------------------------------------- */

struct rec {
	uint64_t fail_at;  /* this call fails (0: none) */
	uint64_t fail_mod; /* every call whose number it divides fails (0: none) */
	bool fail_all;
	uint64_t seen; /* calls the hook was asked about */
	uint64_t last; /* the last number */
	bool out_of_order;
	const char *fns[64]; /* the functions of calls 1..64 */
};

static bool
rec_fail(void *arg, uint64_t n, const char *fn)
{
	struct rec *r = arg;

	r->seen++;
	if (n != r->last + 1)
		r->out_of_order = true;
	r->last = n;
	if (n <= 64)
		r->fns[n - 1] = fn;
	return r->fail_all || n == r->fail_at || (r->fail_mod != 0 && n % r->fail_mod == 0);
}

static int
hook(struct rec *r)
{
	struct fli_alloc_hooks h = { .arg = r, .fail = rec_fail };

	return fli_alloc_hook(toy_handle, &h);
}

static struct fli_alloc_stats
stats(void)
{
	struct fli_alloc_stats s;

	fli_alloc_stats(&s);
	return s;
}

/* ---- one call of every kind, in an order of the test's ---------------------- */

enum { NSTEPS = 13 };

static const char *const step_fn[NSTEPS] = {
	"malloc",  "calloc",         "realloc",       "realloc",      "strdup",
	"strndup", "posix_memalign", "aligned_alloc", "reallocarray", "memalign",
	"malloc",  "malloc",         "malloc",
};

/* The blocks of a run of the steps and their sizes. */
struct blocks {
	void *p[NSTEPS];
	size_t size[NSTEPS];
	bool got_null[NSTEPS]; /* step i returned NULL (or ENOMEM) */
	int err[NSTEPS];       /* errno after a NULL, posix_memalign's result */
};

/* Step i of the sequence, into b. */
static void
step(int i, struct blocks *b)
{
	void *p = NULL;
	size_t size = 0;
	int slot = i;

	errno = 0;
	switch (i) {
	case 0:
		p = toy.malloc(size = 10);
		if (p != NULL)
			memcpy(p, "0123456789", 10);
		break;
	case 1: p = toy.calloc(3, 4), size = 12; break;
	case 2: /* grow block 0 */
	case 3: /* shrink it */
		slot = 0;
		size = i == 2 ? 100 : 5;
		p = toy.realloc(b->p[0], size);
		if (p == NULL) {
			b->got_null[i] = true;
			b->err[i] = errno;
			return; /* block 0 as it was */
		}
		break;
	case 4: p = toy.strdup("hello"), size = 6; break;
	case 5:
		p = toy.strndup("abcdef", 3), size = 4;
		if (p != NULL)
			assert_string_equal(p, "abc");
		break;
	case 6: {
		void *m = (void *)&b; /* must stay so on failure */
		int rc = toy.posix_memalign(&m, 64, size = 128);

		if (rc != 0) {
			assert_ptr_equal(m, (void *)&b);
			b->got_null[i] = true;
			b->err[i] = rc;
			return;
		}
		assert_int_equal((uintptr_t)m % 64, 0);
		p = m;
		break;
	}
	case 7: p = toy.aligned_alloc(64, size = 128); break;
	case 8: p = toy.reallocarray(NULL, 4, 8), size = 32; break;
	case 9: p = toy.memalign(32, size = 40); break;
	case 10: p = toy.malloc_data(size = 7); break;
	case 11: p = toy.malloc_relro(size = 9); break;
	case 12: p = toy.malloc_address()(size = 11); break;
	}
	if (p == NULL) {
		b->got_null[i] = true;
		b->err[i] = errno;
		return;
	}
	b->p[slot] = p;
	b->size[slot] = size;
}

static void
run_steps(struct blocks *b)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < NSTEPS; i++)
		step(i, b);
}

static uint64_t
blocks_count(const struct blocks *b)
{
	uint64_t n = 0;

	for (int i = 0; i < NSTEPS; i++)
		n += b->p[i] != NULL;
	return n;
}

static uint64_t
blocks_bytes(const struct blocks *b)
{
	uint64_t n = 0;

	for (int i = 0; i < NSTEPS; i++)
		n += b->p[i] != NULL ? b->size[i] : 0;
	return n;
}

static void
free_blocks(struct blocks *b)
{
	for (int i = 0; i < NSTEPS; i++) {
		toy.free(b->p[i]);
		b->p[i] = NULL;
	}
}

/* ---- the tests --------------------------------------------------------------- */

/* The toy's calls are numbered 1..13 in order, each named after the
 * function the toy called; blocks and bytes follow the calls and come
 * back to zero when the toy frees everything (frees are not numbered). */
static void
test_numbering(void **state)
{
	struct rec r = { 0 };
	struct blocks b;
	struct fli_alloc_stats s;
	int slots;

	(void)state;
	slots = hook(&r);
	/* at least one slot for each of the 10 functions, and the two
	 * pointers in data */
	assert_true(slots >= 12);
	run_steps(&b);
	s = stats();
	assert_int_equal(s.calls, NSTEPS);
	assert_int_equal(s.failed, 0);
	assert_int_equal(r.seen, NSTEPS);
	assert_false(r.out_of_order);
	for (int i = 0; i < NSTEPS; i++) {
		assert_false(b.got_null[i]);
		assert_string_equal(r.fns[i], step_fn[i]);
	}
	assert_int_equal(s.blocks_held, blocks_count(&b));
	assert_int_equal(s.blocks_held, NSTEPS - 2); /* two reallocs of block 0 */
	assert_int_equal(s.bytes_held, blocks_bytes(&b));
	assert_int_equal(s.bytes_held, 5 + 12 + 6 + 4 + 128 + 128 + 32 + 40 + 7 + 9 + 11);
	free_blocks(&b);
	s = stats();
	assert_int_equal(s.blocks_held, 0);
	assert_int_equal(s.bytes_held, 0);
	assert_int_equal(s.frees_unknown, 0);
	assert_int_equal(s.calls, NSTEPS);
	assert_int_equal(r.seen, NSTEPS);
}

/* Failing call k fails that call alone (NULL and ENOMEM; posix_memalign
 * ENOMEM with its out-pointer untouched; a failed realloc leaves the old
 * block whole), for every k; the rest succeed and balance. */
static void
test_fail_each(void **state)
{
	struct rec r = { 0 };

	(void)state;
	assert_true(hook(&r) > 0);
	for (uint64_t k = 1; k <= NSTEPS; k++) {
		struct blocks b;
		struct fli_alloc_stats s;

		fli_alloc_reset();
		r = (struct rec){ .fail_at = k };
		run_steps(&b);
		for (int i = 0; i < NSTEPS; i++) {
			if ((uint64_t)i + 1 != k) {
				assert_false(b.got_null[i]);
				continue;
			}
			assert_true(b.got_null[i]);
			assert_int_equal(b.err[i], ENOMEM);
		}
		if (k == 3) /* the grow failed: block 0 kept its 10 bytes */
			assert_memory_equal(b.p[0], "01234", 5);
		s = stats();
		assert_int_equal(s.calls, NSTEPS);
		assert_int_equal(s.failed, 1);
		assert_int_equal(s.blocks_held, blocks_count(&b));
		assert_int_equal(s.bytes_held, blocks_bytes(&b));
		free_blocks(&b);
		s = stats();
		assert_int_equal(s.blocks_held, 0);
		assert_int_equal(s.bytes_held, 0);
		assert_int_equal(s.frees_unknown, 0);
	}
}

/* Under a hook that fails everything, every call of the toy fails and
 * none of the test's own: its malloc, calloc, realloc, strdup and
 * posix_memalign are not the target's. */
static void
test_own_allocations_never_fail(void **state)
{
	struct rec r = { .fail_all = true };
	void *mine[6];
	void *m = NULL;

	(void)state;
	assert_true(hook(&r) > 0);
	errno = 0;
	assert_null(toy.malloc(16));
	assert_int_equal(errno, ENOMEM);
	mine[0] = malloc(16);
	assert_non_null(mine[0]);
	assert_null(toy.calloc(2, 8));
	mine[1] = calloc(2, 8);
	assert_non_null(mine[1]);
	assert_null(toy.strdup("x"));
	mine[2] = strdup("x");
	assert_non_null(mine[2]);
	assert_null(toy.realloc(NULL, 8));
	mine[3] = realloc(NULL, 8);
	assert_non_null(mine[3]);
	assert_int_equal(toy.posix_memalign(&m, 16, 8), ENOMEM);
	assert_int_equal(posix_memalign(&m, 16, 8), 0);
	mine[4] = m;
	assert_null(toy.malloc_address()(8));
	mine[5] = aligned_alloc(16, 16);
	assert_non_null(mine[5]);
	assert_null(toy.aligned_alloc(16, 16));
	for (int i = 0; i < 6; i++)
		free(mine[i]);
	assert_int_equal(stats().calls, 7);
	assert_int_equal(stats().failed, 7);
	assert_int_equal(r.seen, 7);
	assert_int_equal(stats().blocks_held, 0);
	assert_int_equal(stats().frees_unknown, 0);
}

/* A planted leak shows as one block of its size, listed with its call's
 * number and function; it goes once the toy frees it. */
static void
test_leak(void **state)
{
	struct rec r = { 0 };
	struct fli_alloc_block *held;
	size_t n;
	char *s;

	(void)state;
	assert_true(hook(&r) > 0);
	s = toy.strdup("kept");
	toy.leak(24);
	assert_int_equal(stats().blocks_held, 2);
	assert_int_equal(stats().bytes_held, 5 + 24);
	assert_fl(fli_alloc_held(&held, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(held[0].n, 1);
	assert_string_equal(held[0].fn, "strdup");
	assert_int_equal(held[0].size, 5);
	assert_ptr_equal((void *)held[0].addr, s);
	assert_int_equal(held[1].n, 2);
	assert_string_equal(held[1].fn, "malloc");
	assert_int_equal(held[1].size, 24);
	free(held);
	/* a realloc'd block is listed under its realloc */
	s = toy.realloc(s, 50);
	assert_non_null(s);
	assert_fl(fli_alloc_held(&held, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(held[1].n, 3);
	assert_string_equal(held[1].fn, "realloc");
	assert_int_equal(held[1].size, 50);
	free(held);
	toy.unleak();
	toy.free(s);
	assert_int_equal(stats().blocks_held, 0);
	assert_int_equal(stats().bytes_held, 0);
	assert_fl(fli_alloc_held(&held, &n), 0);
	assert_int_equal(n, 0);
	assert_null(held);
	assert_int_equal(stats().frees_unknown, 0);
}

/* A block the test allocated and the toy frees, or reallocs, is unknown
 * to the table: counted in frees_unknown, passed to the real functions;
 * the realloc's new block is the toy's.  realloc(p, 0) frees, unnumbered;
 * reallocarray's overflow fails with ENOMEM. */
static void
test_unknown_frees(void **state)
{
	struct rec r = { 0 };
	void *p = malloc(32), *q = malloc(8), *z;

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	assert_true(hook(&r) > 0);
	toy.free(p);
	assert_int_equal(stats().frees_unknown, 1);
	assert_int_equal(stats().blocks_held, 0);
	assert_int_equal(stats().calls, 0);
	q = toy.realloc(q, 64);
	assert_non_null(q);
	assert_int_equal(stats().frees_unknown, 2);
	assert_int_equal(stats().blocks_held, 1);
	assert_int_equal(stats().bytes_held, 64);
	assert_null(toy.realloc(q, 0)); /* freed */
	assert_int_equal(stats().blocks_held, 0);
	assert_int_equal(stats().calls, 1);
	toy.free(NULL); /* nothing */
	assert_int_equal(stats().frees_unknown, 2);
	errno = 0;
	assert_null(toy.reallocarray(NULL, SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(stats().calls, 2);
	assert_int_equal(stats().failed, 0);
	assert_int_equal(stats().blocks_held, 0);
	/* reallocarray(p, 0, n) frees too */
	z = toy.reallocarray(NULL, 3, 5);
	assert_non_null(z);
	assert_int_equal(stats().bytes_held, 15);
	assert_null(toy.reallocarray(z, 0, 5));
	assert_int_equal(stats().blocks_held, 0);
	assert_int_equal(stats().frees_unknown, 2);
}

/* ---- threads ---- */

enum { NTHREADS = 4, ITERS = 10000, KEEP = 3 };

struct worker {
	long nulls, calls;
	void *kept[KEEP];
};

static void *
work(void *arg)
{
	struct worker *w = arg;

	w->nulls = toy.loop(ITERS, KEEP, w->kept, &w->calls);
	return NULL;
}

/* Four threads of the toy, 10^4 rounds each, every 7th call failing: the
 * hook sees the numbers in order, the counts are exact, the kept blocks
 * are all that is held. */
static void
test_four_threads(void **state)
{
	struct rec r = { .fail_mod = 7 };
	struct worker w[NTHREADS];
	long calls = 0, nulls = 0, kept = 0;
	struct fli_alloc_stats s;

	(void)state;
	memset(w, 0, sizeof(w));
	assert_true(hook(&r) > 0);
	test_threads(NTHREADS, work, w, sizeof(w[0]));
	for (int i = 0; i < NTHREADS; i++) {
		calls += w[i].calls;
		nulls += w[i].nulls;
		for (int j = 0; j < KEEP; j++)
			kept += w[i].kept[j] != NULL;
	}
	s = stats();
	assert_false(r.out_of_order);
	assert_int_equal(s.calls, calls);
	assert_int_equal(r.seen, calls);
	assert_int_equal(s.failed, nulls);
	assert_int_equal(s.failed, calls / 7);
	assert_true(calls > 4L * ITERS); /* most rounds made two calls */
	assert_int_equal(s.blocks_held, kept);
	assert_int_equal(s.bytes_held, 8 * kept);
	assert_int_equal(s.frees_unknown, 0);
	for (int i = 0; i < NTHREADS; i++)
		for (int j = 0; j < KEEP; j++)
			toy.free(w[i].kept[j]);
	assert_int_equal(stats().blocks_held, 0);
	assert_int_equal(stats().bytes_held, 0);
}

/* Unhooking puts the toy's own pointers back: the hook is no longer
 * consulted, nothing is counted, &malloc in the toy is what it was; a
 * second hook and unhook do the same. */
static void
test_unhook(void **state)
{
	struct rec r = { .fail_all = true };
	toy_malloc_fn before = toy.malloc_address();
	void *p;

	(void)state;
	for (int round = 0; round < 2; round++) {
		int slots = hook(&r);

		assert_true(slots > 0);
		assert_true(toy.malloc_address() != before);
		assert_null(toy.malloc(8));
		assert_null(toy.malloc_data(8));
		assert_null(toy.malloc_relro(8));
		assert_fl(fli_alloc_unhook(), 0);
		assert_true(toy.malloc_address() == before);
		p = toy.malloc(8);
		assert_non_null(p);
		toy.free(p);
		p = toy.malloc_data(8);
		assert_non_null(p);
		toy.free(p);
		p = toy.malloc_relro(8);
		assert_non_null(p);
		toy.free(p);
		p = toy.strdup("after");
		assert_non_null(p);
		toy.free(p);
		assert_int_equal(stats().calls, 3 * (round + 1));
		assert_int_equal(r.seen, 3 * (round + 1));
		assert_int_equal(stats().frees_unknown, 0);
	}
	assert_fl(fli_alloc_unhook(), 0); /* nothing hooked: nothing done */
}

/* The pages the hook wrote (the GOT, RELRO and data) keep the protection
 * they had when the toy was loaded, while hooked and after the unhook
 * (and after every test before this one): with -z now the GOT stays
 * read-only. */
static void
test_protection_restored(void **state)
{
	struct rec r = { 0 };
	char before[2048], hooked[2048], after[2048];

	(void)state;
	toy_maps(before, sizeof(before));
	assert_string_equal(before, toy_maps_loaded);
	assert_true(hook(&r) > 0);
	toy_maps(hooked, sizeof(hooked));
	assert_fl(fli_alloc_unhook(), 0);
	toy_maps(after, sizeof(after));
	assert_string_equal(hooked, before);
	assert_string_equal(after, before);
}

/* An unhook after the target's dlclose writes nothing (the object is
 * gone) and leaves the hook free for the next target; a block the gone
 * target leaked is still reported. */
static void
test_unhook_after_dlclose(void **state)
{
	struct rec r = { 0 };
	void *other = dlopen(other_path, RTLD_NOW | RTLD_LOCAL);
	struct fli_alloc_hooks h = { .arg = &r, .fail = rec_fail };
	void (*leak)(size_t);
	struct fli_alloc_block *held;
	size_t n;

	(void)state;
	assert_non_null(other);
	assert_true(other != toy_handle);
	*(void **)&leak = dlsym(other, "toy_leak");
	assert_non_null(leak);
	assert_true(fli_alloc_hook(other, &h) > 0);
	leak(40);
	assert_int_equal(dlclose(other), 0);
	assert_null(dlopen(other_path, RTLD_NOW | RTLD_NOLOAD)); /* unloaded */
	assert_fl(fli_alloc_unhook(), 0);
	assert_int_equal(stats().blocks_held, 1);
	assert_int_equal(stats().bytes_held, 40);
	/* the leaked block, freed by the test: no leak for valgrind (and
	 * still held: the target did not free it) */
	assert_fl(fli_alloc_held(&held, &n), 0);
	assert_int_equal(n, 1);
	free((void *)held[0].addr);
	free(held);
	/* the next run's target is hooked as usual */
	fli_alloc_reset();
	assert_true(hook(&r) > 0);
	toy.free(toy.malloc(8));
	assert_int_equal(stats().calls, 1);
	assert_int_equal(stats().blocks_held, 0);
}

/* Refusals: no handle or hooks, a second target, the program itself
 * (it holds the wrappers). */
/* ---- the heap check ------------------------------------------------------------ */

struct heap_rec {
	int n;
	char last[400];
};

static void
heap_rec_error(void *arg, const char *what)
{
	struct heap_rec *h = arg;

	h->n++;
	snprintf(h->last, sizeof(h->last), "%s", what);
}

static int
hook_checked(struct heap_rec *h)
{
	struct fli_alloc_hooks hk = { .arg = h, .check = true, .heap_error = heap_rec_error };

	memset(h, 0, sizeof(*h));
	return fli_alloc_hook(toy_handle, &hk);
}

/* Expects exactly one heap error since the last, saying `want`. */
static void
expect_error(struct heap_rec *h, int before, const char *want)
{
	if (h->n != before + 1 || strstr(h->last, want) == NULL)
		fail_msg("%d heap errors after %d, the last: \"%s\"; expected one saying \"%s\"",
		         h->n, before, h->last, want);
}

/* With the check on, every allocation function still does its work (a
 * realloc keeps the bytes), and freeing everything is no error; then a
 * byte written past a block's end is seen at its free, a second free is
 * a double free (not passed on), a byte written to a freed block (or the
 * old block of a realloc) is seen at the flush or when the block leaves
 * the quarantine; a block still held is not looked at by the flush. */
static void
test_heap_check(void **state)
{
	struct heap_rec h;
	struct blocks b;
	char *p, *q;
	int n;

	(void)state;
	assert_true(hook_checked(&h) > 0);
	run_steps(&b);
	assert_int_equal(blocks_count(&b), NSTEPS - 2);
	assert_memory_equal(b.p[0], "01234", 5);
	free_blocks(&b);
	fli_alloc_flush();
	assert_int_equal(h.n, 0);

	n = h.n;
	p = toy.malloc(10);
	p[10] = 'x';
	toy.free(p);
	expect_error(&h, n,
	             "heap overflow: written past its end (byte +0) before its free: the "
	             "10-byte block of its allocation call #14 (malloc)");

	n = h.n;
	p = toy.calloc(2, 4);
	toy.free(p);
	toy.free(p);
	expect_error(&h, n,
	             "double free: freed a second time: the 8-byte block of its allocation "
	             "call #15 (calloc), made at ");
	/* Where it was made, freed, and freed again: code addresses named. */
	if (strstr(h.last, ", freed at ") == NULL || strstr(h.last, ", again at ") == NULL)
		fail_msg("the double free does not name where it was freed twice: %s", h.last);

	n = h.n;
	p = toy.strdup("abcdef");
	toy.free(p);
	p[3] = 'z';
	fli_alloc_flush();
	expect_error(&h, n,
	             "use after free: written at byte 3 after the target freed it: the "
	             "7-byte block of its allocation call #16 (strdup), made at ");
	if (strstr(h.last, ", freed at ") == NULL)
		fail_msg("the use after free does not name where it was freed: %s", h.last);

	n = h.n;
	p = toy.malloc(8);
	q = toy.realloc(p, 64);
	assert_non_null(q);
	assert_ptr_not_equal(p, q);
	p[0] = 1;
	toy.free(q);
	fli_alloc_flush();
	expect_error(&h, n,
	             "use after free: written at byte 0 after the target freed it: the "
	             "8-byte block of its allocation call #17 (malloc)");

	/* A block still held: its guard is not read at the flush (it may
	 * have been freed by code that is not hooked); its free tells. */
	n = h.n;
	p = toy.malloc(4);
	p[5] = 0;
	fli_alloc_flush();
	assert_int_equal(h.n, n);
	toy.free(p);
	expect_error(&h, n,
	             "heap overflow: written past its end (byte +1) before its free: the "
	             "4-byte block of its allocation call #19 (malloc)");

	/* A freed block written to, then pushed out of the quarantine by
	 * 1,024 others: seen as it leaves. */
	n = h.n;
	p = toy.malloc(16);
	toy.free(p);
	p[15] = 0;
	for (int i = 0; i < 1024; i++)
		toy.free(toy.malloc(16));
	expect_error(&h, n,
	             "use after free: written at byte 15 after the target freed it: the "
	             "16-byte block of its allocation call #20 (malloc)");
	fli_alloc_flush();
	assert_int_equal(h.n, n + 1);
	assert_int_equal(stats().blocks_held, 0);
}

static void
test_refusals(void **state)
{
	struct fli_alloc_hooks h = { 0 };
	void *self = dlopen(NULL, RTLD_NOW);

	(void)state;
	assert_fl(fli_alloc_hook(NULL, &h), FL_EINVAL);
	assert_fl(fli_alloc_hook(toy_handle, NULL), FL_EINVAL);
	assert_non_null(self);
	assert_fl(fli_alloc_hook(self, &h), FL_EINVAL);
	/* a NULL fail hook counts without failing */
	assert_true(fli_alloc_hook(toy_handle, &h) > 0);
	assert_fl(fli_alloc_hook(toy_handle, &h), FL_ESTATE);
	toy.free(toy.malloc(4));
	assert_int_equal(stats().calls, 1);
	assert_int_equal(stats().failed, 0);
	assert_fl(fli_alloc_unhook(), 0);
	dlclose(self);
}

/* A library linked in from its archive with -Wl,--wrap calls the
 * __wrap_ functions: counted, failed, held and checked only between
 * fli_alloc_hook_wrapped and the unhook, straight to the allocator
 * otherwise; one hook at a time, either way. */
static void
test_wrapped(void **state)
{
	struct rec r = { .fail_at = 3 };
	struct fli_alloc_hooks h = { .arg = &r, .fail = rec_fail };
	void *p, *q, *aligned = NULL;
	char *d;

	(void)state;
	p = __wrap_malloc(8); /* not on: not counted */
	__wrap_free(p);
	assert_int_equal(stats().calls, 0);
	assert_fl(fli_alloc_hook_wrapped(NULL), FL_EINVAL);
	assert_fl(fli_alloc_hook_wrapped(&h), 0);
	assert_fl(fli_alloc_hook_wrapped(&h), FL_ESTATE);
	assert_fl(fli_alloc_hook(toy_handle, &h), FL_ESTATE);
	p = __wrap_malloc(10);
	q = __wrap_calloc(2, 3);
	assert_null(__wrap_strdup("fails")); /* call 3 */
	d = __wrap_strndup("abcdef", 3);
	assert_int_equal(__wrap_posix_memalign(&aligned, 64, 20), 0);
	q = __wrap_realloc(q, 12);
	assert_non_null(p);
	assert_non_null(q);
	assert_string_equal(d, "abc");
	assert_int_equal(stats().calls, 6);
	assert_int_equal(stats().failed, 1);
	assert_int_equal(stats().blocks_held, 4);
	assert_int_equal(stats().bytes_held, 10 + 12 + 4 + 20);
	assert_string_equal(r.fns[2], "strdup");
	assert_string_equal(r.fns[5], "realloc");
	__wrap_free(p);
	__wrap_free(q);
	__wrap_free(d);
	__wrap_free(aligned);
	assert_int_equal(stats().blocks_held, 0);
	assert_fl(fli_alloc_unhook(), 0);
	p = __wrap_malloc(8); /* off again */
	__wrap_free(p);
	assert_int_equal(stats().calls, 6);
	assert_int_equal(r.seen, 6);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numbering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_allocations_never_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_four_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unhook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protection_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unhook_after_dlclose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heap_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrapped, setup, teardown),
	};

	if (argc < 4) {
		fprintf(stderr, "usage: %s TOY.so now|lazy OTHER-TOY.so\n", argv[0]);
		return 2;
	}
	toy_path = argv[1];
	if (strcmp(argv[2], "now") == 0)
		toy_mode = RTLD_NOW;
	other_path = argv[3];
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
