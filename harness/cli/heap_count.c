/*
 * The faultline program's heap counter (run/heap.h): malloc, calloc,
 * realloc, free and the aligned family (posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc) defined here, in the executable, so every library's
 * calls reach them first (the executable is first in the lookup scope).
 * Each passes the call to the next definition (dlsym RTLD_NEXT: libfiu's
 * POSIX preload when a run has libc faults, so its malloc faults still
 * fire; else libc's).  While resolving those (dlsym may allocate), calls
 * are served from a small static arena that free ignores.
 *
 * Recording: an open-addressing table keyed by the block's address
 * (linear probing, backward-shift deletion, at most half full), in pages
 * of its own from mmap, under one mutex held across fork.  Outside a
 * window, or with nothing recorded, a free costs one relaxed load.
 *
 * Not built into sanitizer builds: ASan, TSan and their LeakSanitizer
 * must see every allocation themselves (run/heap.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "run/heap.h"

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*aligned_fn)(size_t, size_t);
typedef void *(*valloc_fn)(size_t);

static malloc_fn next_malloc;
static calloc_fn next_calloc;
static realloc_fn next_realloc;
static free_fn next_free;
static posix_memalign_fn next_posix_memalign;
static aligned_fn next_aligned_alloc, next_memalign;
static valloc_fn next_valloc, next_pvalloc;

/* ---- bootstrap: allocations made while the next allocator is looked up */

static _Alignas(16) unsigned char boot[16384];
static size_t boot_used;
static int resolving;

static bool
in_boot(const void *p)
{
	return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof(boot);
}

static void *
boot_alloc(size_t n)
{
	size_t at = (boot_used + 15) & ~(size_t)15;

	if (n > sizeof(boot) - at)
		return NULL;
	boot_used = at + n;
	return boot + at;
}

static void
resolve(void)
{
	if (next_free != NULL || resolving)
		return;
	resolving = 1;
	next_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
	next_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
	next_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
	next_posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
	next_aligned_alloc = (aligned_fn)dlsym(RTLD_NEXT, "aligned_alloc");
	next_memalign = (aligned_fn)dlsym(RTLD_NEXT, "memalign");
	next_valloc = (valloc_fn)dlsym(RTLD_NEXT, "valloc");
	next_pvalloc = (valloc_fn)dlsym(RTLD_NEXT, "pvalloc");
	/* Last: next_free set says every one of them is. */
	next_free = (free_fn)dlsym(RTLD_NEXT, "free");
	resolving = 0;
}

/* ---- the record -------------------------------------------------------- */

struct slot {
	uintptr_t p; /* 0: empty */
	uintptr_t pc;
	uint64_t seq;
	size_t size;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int window;    /* atomic: recording */
static uint64_t held; /* atomic: blocks recorded and not freed */
static struct slot *tab;
static size_t cap; /* slots, a power of two */
static uint64_t seq;
static bool overflowed;
#define EXCLUDED_MAX 8
static struct {
	uintptr_t lo, hi;
} excluded[EXCLUDED_MAX]; /* code ranges whose allocations are not recorded */
static int nexcluded;
static bool excluded_known;
static __thread int paused;
static int probing, probe_hits; /* is malloc this file's? (heap_count_init) */

#define CAP_MIN ((size_t)1 << 14)
#define CAP_MAX ((size_t)1 << 24)

/* A block's first slot: a hash of its 4 KB page picks a group of 256
 * slots, its 16-byte offset in the page the slot in the group.  Blocks
 * allocated near each other are recorded into few pages of the table,
 * and each page of it a process writes costs a fault (a copy, in a
 * process actor forked with the table); a hash of the whole address sent
 * every block to a page of its own, about 66 faults a proc run.  Blocks
 * at one offset of many pages (page-aligned ones) still spread over the
 * groups. */
static size_t
home(uintptr_t p, size_t n)
{
	size_t group = (size_t)((p >> 12) * 0x9e3779b97f4a7c15ull >> 40);

	return ((group << 8) | (size_t)((p >> 4) & 255)) & (n - 1);
}

static void
put(struct slot *t, size_t n, const struct slot *s)
{
	size_t i = home(s->p, n);

	while (t[i].p != 0)
		i = (i + 1) & (n - 1);
	t[i] = *s;
}

/* Room for one more, growing at half full; false when it cannot. */
static bool
room(void)
{
	struct slot *nt;
	size_t ncap = cap ? cap * 2 : CAP_MIN;

	if (tab != NULL && (held + 1) * 2 <= cap)
		return true;
	if (ncap > CAP_MAX)
		return false;
	nt = mmap(NULL, ncap * sizeof(*nt), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	          0);
	if (nt == MAP_FAILED)
		return false;
	for (size_t i = 0; i < cap; i++)
		if (tab[i].p != 0)
			put(nt, ncap, &tab[i]);
	if (tab != NULL)
		munmap(tab, cap * sizeof(*tab));
	tab = nt;
	cap = ncap;
	return true;
}

static void
record(void *p, size_t size, uintptr_t pc)
{
	if (p == NULL || paused || !__atomic_load_n(&window, __ATOMIC_RELAXED))
		return;
	for (int i = 0; i < nexcluded; i++)
		if (pc >= excluded[i].lo && pc < excluded[i].hi)
			return;
	pthread_mutex_lock(&mu);
	if (__atomic_load_n(&window, __ATOMIC_RELAXED)) {
		if (room()) {
			struct slot s = { .p = (uintptr_t)p, .pc = pc, .seq = seq++, .size = size };

			put(tab, cap, &s);
			__atomic_store_n(&held, held + 1, __ATOMIC_RELAXED);
		} else {
			overflowed = true;
		}
	}
	pthread_mutex_unlock(&mu);
}

/* Drops p's record; true and *was (may be NULL) when it had one. */
static bool
forget(void *p, struct slot *was)
{
	size_t i, j;
	bool found = false;

	if (p == NULL || __atomic_load_n(&held, __ATOMIC_RELAXED) == 0)
		return false;
	pthread_mutex_lock(&mu);
	for (i = home((uintptr_t)p, cap); tab != NULL && tab[i].p != 0; i = (i + 1) & (cap - 1)) {
		if (tab[i].p != (uintptr_t)p)
			continue;
		found = true;
		if (was != NULL)
			*was = tab[i];
		/* Backward-shift deletion: move up each later entry of the
		 * run whose home is not between the hole and itself. */
		tab[i].p = 0;
		for (j = (i + 1) & (cap - 1); tab[j].p != 0; j = (j + 1) & (cap - 1)) {
			size_t h = home(tab[j].p, cap);

			if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
				tab[i] = tab[j];
				tab[j].p = 0;
				i = j;
			}
		}
		__atomic_store_n(&held, held - 1, __ATOMIC_RELAXED);
		break;
	}
	pthread_mutex_unlock(&mu);
	return found;
}

/* Puts back a record forget took (a realloc that failed: the block is
 * still the caller's, as it was). */
static void
restore(const struct slot *s)
{
	pthread_mutex_lock(&mu);
	if (!__atomic_load_n(&window, __ATOMIC_RELAXED)) {
		/* The window closed meanwhile: not this window's to count. */
	} else if (room()) {
		put(tab, cap, s);
		__atomic_store_n(&held, held + 1, __ATOMIC_RELAXED);
	} else {
		overflowed = true;
	}
	pthread_mutex_unlock(&mu);
}

/* ---- the allocator's entry points ------------------------------------- */

void *
malloc(size_t n)
{
	void *p;

	if (next_malloc == NULL) {
		if (resolving)
			return boot_alloc(n);
		resolve();
	}
	p = next_malloc(n);
	if (probing)
		probe_hits++;
	record(p, n, (uintptr_t)__builtin_return_address(0));
	return p;
}

void *
calloc(size_t k, size_t n)
{
	void *p;

	if (next_calloc == NULL) {
		if (resolving) {
			/* The arena is zeroed and never reused. */
			return n != 0 && k > SIZE_MAX / n ? NULL : boot_alloc(k * n);
		}
		resolve();
	}
	p = next_calloc(k, n);
	record(p, k * n, (uintptr_t)__builtin_return_address(0));
	return p;
}

void
free(void *p)
{
	if (p == NULL || in_boot(p))
		return;
	if (next_free == NULL)
		resolve();
	if (next_free == NULL)
		return; /* freed while resolving: kept (dlsym's, never more) */
	(void)forget(p, NULL);
	next_free(p);
}

void *
realloc(void *old, size_t n)
{
	void *p;

	if (next_realloc == NULL) {
		if (resolving)
			return NULL;
		resolve();
	}
	if (in_boot(old)) {
		p = next_malloc(n);
		if (p != NULL)
			memcpy(p, old,
			       n < sizeof(boot) - (size_t)((unsigned char *)old - boot)
			               ? n
			               : sizeof(boot) - (size_t)((unsigned char *)old - boot));
		record(p, n, (uintptr_t)__builtin_return_address(0));
		return p;
	}
	/* Forgotten first: once the real realloc frees it, another
	 * thread's malloc may get the address. */
	struct slot was;
	bool had = forget(old, &was);

	p = next_realloc(old, n);
	if (p == NULL && n != 0 && old != NULL) {
		/* It failed: old is still the caller's, and its record with it
		 * (no other thread can have its address meanwhile). */
		if (had)
			restore(&was);
		return NULL;
	}
	record(p, n, (uintptr_t)__builtin_return_address(0));
	return p;
}

/* The aligned family: recorded as malloc's blocks are (a block of theirs
 * kept past the run fails it the same).  None is called while resolving
 * (dlsym allocates with malloc and calloc only). */
int
posix_memalign(void **out, size_t align, size_t n)
{
	int rc;

	if (next_free == NULL)
		resolve();
	if (next_posix_memalign == NULL)
		return ENOMEM; /* called while resolving */
	rc = next_posix_memalign(out, align, n);
	if (rc == 0)
		record(*out, n, (uintptr_t)__builtin_return_address(0));
	return rc;
}

void *
aligned_alloc(size_t align, size_t n)
{
	void *p;

	if (next_free == NULL)
		resolve();
	if (next_aligned_alloc == NULL)
		return NULL; /* called while resolving */
	p = next_aligned_alloc(align, n);
	record(p, n, (uintptr_t)__builtin_return_address(0));
	return p;
}

void *
memalign(size_t align, size_t n)
{
	void *p;

	if (next_free == NULL)
		resolve();
	if (next_memalign == NULL)
		return NULL; /* called while resolving */
	p = next_memalign(align, n);
	record(p, n, (uintptr_t)__builtin_return_address(0));
	return p;
}

void *
valloc(size_t n)
{
	void *p;

	if (next_free == NULL)
		resolve();
	if (next_valloc == NULL)
		return NULL; /* called while resolving */
	p = next_valloc(n);
	record(p, n, (uintptr_t)__builtin_return_address(0));
	return p;
}

void *
pvalloc(size_t n)
{
	void *p;

	if (next_free == NULL)
		resolve();
	if (next_pvalloc == NULL)
		return NULL; /* called while resolving */
	p = next_pvalloc(n);
	record(p, n, (uintptr_t)__builtin_return_address(0));
	return p;
}

/* ---- the counter (run/heap.h) ------------------------------------------ */

/* Code whose allocations are not the run's: the dynamic loader's (a
 * thread's TLS, kept with glibc's cached stacks) and libfiu's (the fault
 * engine's lookup cache, grown as new points are checked). */
static int
find_excluded(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_name == NULL || (strstr(info->dlpi_name, "/ld-linux") == NULL &&
	                                strstr(info->dlpi_name, "/libfiu.so") == NULL))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && nexcluded < EXCLUDED_MAX; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		excluded[nexcluded].lo = info->dlpi_addr + ph->p_vaddr;
		excluded[nexcluded].hi = excluded[nexcluded].lo + ph->p_memsz;
		nexcluded++;
	}
	return 0;
}

static void
clear(void)
{
	/* Freed blocks left their slots empty: only what is still held
	 * needs clearing (a run that freed everything costs nothing).  The
	 * table (512 KB at least) is cleared by fresh zero pages in its
	 * place, not by a memset: a process actor forked in the middle of
	 * its run inherits the run's table, and writing all of it copied
	 * every page (about 130 faults an actor); only the pages it
	 * records into now fault. */
	if (tab != NULL && held != 0 &&
	    mmap(tab, cap * sizeof(*tab), PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		/* The old pages may be gone already (a failed MAP_FIXED can
		 * unmap first): no table, the next record makes one. */
		munmap(tab, cap * sizeof(*tab));
		tab = NULL;
		cap = 0;
	}
	__atomic_store_n(&held, 0, __ATOMIC_RELAXED);
	overflowed = false;
	seq = 0;
}

static void
count_begin(void)
{
	if (!excluded_known) {
		dl_iterate_phdr(find_excluded, NULL);
		excluded_known = true;
	}
	pthread_mutex_lock(&mu);
	clear();
	__atomic_store_n(&window, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&mu);
}

static void
count_pause(bool on)
{
	paused += on ? 1 : -1;
}

static void
count_end(struct fli_heap_held *out)
{
	const struct slot *first = NULL;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&mu);
	__atomic_store_n(&window, 0, __ATOMIC_RELAXED);
	for (size_t i = 0; held != 0 && i < cap; i++) {
		if (tab[i].p == 0)
			continue;
		out->blocks++;
		out->bytes += tab[i].size;
		if (first == NULL || tab[i].seq < first->seq)
			first = &tab[i];
	}
	if (first != NULL) {
		out->first_size = first->size;
		out->first_pc = first->pc;
	}
	out->overflow = overflowed;
	clear();
	pthread_mutex_unlock(&mu);
}

static const struct fli_heap_counter counter = {
	.begin = count_begin,
	.pause = count_pause,
	.end = count_end,
};

static void
fork_prepare(void)
{
	pthread_mutex_lock(&mu);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&mu);
}

static void
fork_child(void)
{
	pthread_mutex_init(&mu, NULL);
}

static int
find_preload(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	return info->dlpi_name != NULL && strstr(info->dlpi_name, "fiu_posix_preload") != NULL;
}

/* Under valgrind the program's malloc is valgrind's, not this file's
 * (it replaces the main program's too): no counter then, and the run
 * says so (valgrind's leak check judges the heap there).  Nor with
 * libfiu's POSIX preload loaded (fiu-run, or a run with faults on libc
 * calls): its lookups allocate inside a run through libc's strdup, which
 * the counter cannot tell from the run's own. */
__attribute__((constructor)) static void
heap_count_init(void)
{
	void *(*volatile m)(size_t) = malloc;
	void *p;

	resolve();
	probing = 1;
	p = m(16);
	probing = 0;
	free(p);
	if (probe_hits == 0 || dl_iterate_phdr(find_preload, NULL) != 0)
		return;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	fli_heap_counter = &counter;
}
