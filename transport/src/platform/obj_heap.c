/*
 * The object heap: where the transport allocates what threads share by
 * pointer (images, aios, contexts, sockets, image lists).  See
 * faultline/platform.h.
 *
 * Guarded (the harness turns it on for sim runs), each object starts a
 * run of pages of its own inside one reserved region; freeing it takes
 * every access away from those pages and leaves them so until the
 * allocator comes round the region again, 2^16 pages later.  A read or a
 * write through a stale pointer then faults at once, in the actor and the
 * operation that made it, where malloc would have let it pass (the freed
 * bytes still look like an object) or let it land in whatever was
 * allocated there next.  This is Electric Fence's idea, kept to the few
 * objects whose lifetime races are the point.
 *
 * Whether a pointer is guarded is a range check on the region, so an
 * object is freed the way it was allocated even when guarding was turned
 * off in between.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "faultline/platform.h"

#if defined(__SANITIZE_ADDRESS__)
#define OBJ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OBJ_ASAN 1
#endif
#endif

#define GUARD_PAGES (1u << 16)

enum { PAGE_UNUSED, PAGE_LIVE, PAGE_FREED, PAGE_TAIL };

struct guard_page {
	const char *what;   /* the object's kind, at its first page */
	uint64_t actor;     /* fl_actor_id() of whoever freed it */
	uint64_t freed_seq; /* value of `frees` when it was freed */
	uint32_t first;     /* PAGE_TAIL: index of the object's first page */
	uint32_t npages;    /* at the first page */
	uint8_t state;
};

static pthread_mutex_t heap_mu = PTHREAD_MUTEX_INITIALIZER;
static int guard_on;             /* atomic: allocate guarded */
static uint8_t *region;          /* GUARD_PAGES pages, reserved once */
static struct guard_page *pages; /* one record a page */
static size_t page_size;
static uint32_t next_page;
static uint64_t frees;

void
fl_obj_guard(bool on)
{
#ifdef OBJ_ASAN
	(void)on; /* AddressSanitizer checks every access itself */
#else
	__atomic_store_n(&guard_on, on ? 1 : 0, __ATOMIC_RELAXED);
#endif
}

/* Locked.  Reserves the region and its records on first use. */
static bool
region_ready(void)
{
	void *r, *p;

	if (region != NULL)
		return true;
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	r = mmap(NULL, (size_t)GUARD_PAGES * page_size, PROT_NONE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return false;
	p = mmap(NULL, GUARD_PAGES * sizeof(*pages), PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		munmap(r, (size_t)GUARD_PAGES * page_size);
		return false;
	}
	pages = p;
	__atomic_store_n(&region, (uint8_t *)r, __ATOMIC_RELEASE);
	return true;
}

static bool
in_region(const void *p)
{
	const uint8_t *r = __atomic_load_n(&region, __ATOMIC_ACQUIRE);

	return r != NULL && (const uint8_t *)p >= r &&
	       (const uint8_t *)p < r + (size_t)GUARD_PAGES * page_size;
}

/* Locked.  The first of n consecutive pages no live object holds, from
 * next_page on, round the region once; GUARD_PAGES when there is none. */
static uint32_t
find_pages(uint32_t n)
{
	uint32_t start = next_page, tried = 0;

	while (tried < GUARD_PAGES) {
		uint32_t k;

		if (start + n > GUARD_PAGES) {
			tried += GUARD_PAGES - start;
			start = 0;
			continue;
		}
		for (k = 0; k < n; k++)
			if (pages[start + k].state == PAGE_LIVE ||
			    pages[start + k].state == PAGE_TAIL)
				break;
		if (k == n)
			return start;
		tried += k + 1;
		start += k + 1;
		if (start >= GUARD_PAGES)
			start = 0;
	}
	return GUARD_PAGES;
}

static void *
guarded_alloc(size_t size, const char *what)
{
	uint32_t n, first;
	uint8_t *p = NULL;

	pthread_mutex_lock(&heap_mu);
	if (!region_ready())
		goto out;
	n = (uint32_t)((size + page_size - 1) / page_size);
	if (n == 0 || n > 64 || (first = find_pages(n)) == GUARD_PAGES)
		goto out;
	p = region + (size_t)first * page_size;
	if (mprotect(p, (size_t)n * page_size, PROT_READ | PROT_WRITE) != 0) {
		p = NULL;
		goto out;
	}
	/* No memset: the region is a fresh anonymous mapping and every free
	 * maps fresh pages over the object, so pages handed out here read
	 * as zeros already (calloc's promise), and clearing them would fault
	 * in every page of the object where it may use only its first. */
	for (uint32_t k = 0; k < n; k++) {
		pages[first + k].state = k == 0 ? PAGE_LIVE : PAGE_TAIL;
		pages[first + k].first = first;
		pages[first + k].npages = 0;
	}
	pages[first].what = what;
	pages[first].npages = n;
	pages[first].actor = 0;
	next_page = first + n < GUARD_PAGES ? first + n : 0;
out:
	pthread_mutex_unlock(&heap_mu);
	return p;
}

void *
fl_obj_alloc(size_t size, const char *what)
{
	void *p;

	if (__atomic_load_n(&guard_on, __ATOMIC_RELAXED) && (p = guarded_alloc(size, what)) != NULL)
		return p;
	return calloc(1, size != 0 ? size : 1);
}

void
fl_obj_free(void *p, size_t size, const char *what)
{
	uint32_t i, n;
	uint8_t *at;

	(void)size;
	if (p == NULL)
		return;
	if (!in_region(p)) {
		free(p);
		return;
	}
	pthread_mutex_lock(&heap_mu);
	at = p;
	i = (uint32_t)((size_t)(at - region) / page_size);
	if ((size_t)(at - region) % page_size != 0 || pages[i].state != PAGE_LIVE) {
		/* Freed twice, or never allocated here: as a libc would. */
		fprintf(stderr, "faultline: fl_obj_free(%p, %s): not a live object (%s)\n", p, what,
		        pages[i].state == PAGE_FREED ? "freed already" : "not an object's start");
		abort();
	}
	n = pages[i].npages;
	pages[i].state = PAGE_FREED;
	pages[i].actor = fl_actor_id();
	pages[i].freed_seq = ++frees;
	for (uint32_t k = 1; k < n; k++)
		pages[i + k].state = PAGE_FREED, pages[i + k].first = i, pages[i + k].npages = 0;
	/* No access from now on, and the bytes go back to the kernel: a
	 * fresh inaccessible mapping over the object's pages does both in
	 * one call and one TLB flush, where mprotect and madvise took two
	 * (each flush an interrupt to the other CPUs: a tenth of a short sim
	 * run). */
	if (mmap(at, (size_t)n * page_size, PROT_NONE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
		abort();
	pthread_mutex_unlock(&heap_mu);
}

bool
fl_obj_guard_freed(const void *addr, const char **what, uint64_t *freed_by)
{
	uint32_t i;

	if (!in_region(addr) || pages == NULL)
		return false;
	i = (uint32_t)((size_t)((const uint8_t *)addr - region) / page_size);
	if (pages[i].state != PAGE_FREED)
		return false;
	if (pages[i].npages == 0)
		i = pages[i].first;
	*what = pages[i].what != NULL ? pages[i].what : "an object";
	*freed_by = pages[i].actor;
	return true;
}
