/*
 * Allocation faults in a target (alloc_hook.h): its GOT rewritten.
 *
 * The object is found from the dlopen handle (dlinfo's link_map, whose
 * l_ld is matched against the PT_DYNAMIC of each object dl_iterate_phdr
 * lists: that gives its program headers).  Its dynamic section names the
 * relocation tables: DT_JMPREL (PLT slots, R_*_JUMP_SLOT) and DT_RELA
 * (R_*_GLOB_DAT: GOT slots the code loads function addresses from;
 * R_*_64/ABS64 with no addend: function pointers in its data, while they
 * still hold the function).  Each relocation against an undefined symbol
 * the hook wraps (the target imports it; a target that defines its own
 * malloc keeps it) gets the wrapper's address, written with the page
 * made writable for the store if it is
 * not (RELRO makes the GOT read-only after loading); the protection put
 * back is computed from the program headers as ld.so set it: the
 * PT_LOAD's flags, read-only in the page-aligned PT_GNU_RELRO range.
 *
 * The wrappers call malloc, free, realloc... from here: the process's
 * own, through faultline's GOT, never rewritten.  (The target's original
 * slot values are not called: under lazy binding they are PLT stubs, and
 * calling one would resolve the symbol and overwrite the wrapper.)
 *
 * The table of held blocks is an open-addressing hash table (linear
 * probing, backward-shift deletion, never more than half full) grown with
 * the real calloc.  Every numbered call reserves a slot first, under the
 * lock, so that recording its block afterwards never fails: a block is
 * never handed to the target unrecorded.  A free takes its block out of
 * the table before the real free, and a realloc before the real realloc,
 * so that an address released and reused by another thread's allocation
 * at once is never confused with the old block.
 */
#include "alloc_hook.h"
#include "core/code_where.h"

#include "faultline/error.h"
#include "faultline/target.h" /* the __wrap_ functions */

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if __SIZEOF_POINTER__ == 8 && defined(__x86_64__)
#define FLI_R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define FLI_R_GLOB_DAT  R_X86_64_GLOB_DAT
#define FLI_R_ABS64     R_X86_64_64
#elif __SIZEOF_POINTER__ == 8 && defined(__aarch64__)
#define FLI_R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define FLI_R_GLOB_DAT  R_AARCH64_GLOB_DAT
#define FLI_R_ABS64     R_AARCH64_ABS64
#endif

/* The object's ELF types, of this machine's word size. */
typedef ElfW(Phdr) phdr_t;
typedef ElfW(Rela) rela_t;
typedef ElfW(Sym) sym_t;
typedef ElfW(Dyn) dyn_t;

enum fn {
	F_MALLOC,
	F_CALLOC,
	F_REALLOC,
	F_REALLOCARRAY,
	F_STRDUP,
	F_STRNDUP,
	F_POSIX_MEMALIGN,
	F_ALIGNED_ALLOC,
	F_MEMALIGN,
	F_NFN
};

static const char *const fn_names[F_NFN] = {
	[F_MALLOC] = "malloc",
	[F_CALLOC] = "calloc",
	[F_REALLOC] = "realloc",
	[F_REALLOCARRAY] = "reallocarray",
	[F_STRDUP] = "strdup",
	[F_STRNDUP] = "strndup",
	[F_POSIX_MEMALIGN] = "posix_memalign",
	[F_ALIGNED_ALLOC] = "aligned_alloc",
	[F_MEMALIGN] = "memalign",
};

/* ---- the table of held blocks --------------------------------------------- */

struct entry {
	uintptr_t addr; /* 0: empty */
	size_t size;
	uint64_t n;
	uint8_t fn;
	bool guarded;       /* GUARD_LEN bytes of guard_byte() follow its size */
	uintptr_t site;     /* the code that allocated it: the call's return address */
	uintptr_t freed_at; /* ... that freed it (quarantined), or 0 */
};

/* The return address of the wrapper this thread is in: the library's
 * code that called malloc (or free), set first thing by every wrapper
 * the library calls.  A heap error names it (fli_code_where). */
static __thread uintptr_t call_site;
/* The library's call site when it came through __wrap_malloc and its kin
 * (below): the wrapper's own return address would name faultline. */
static __thread uintptr_t wrap_site;
#define AT_CALLER()                                                                                \
	(call_site = wrap_site != 0 ? wrap_site : (uintptr_t)__builtin_return_address(0),          \
	 wrap_site = 0)

/* The heap check (hooks.check): every block the target allocates is made
 * GUARD_LEN bytes longer, those bytes set to a pattern that a write past
 * the block's end changes; a block the target frees is filled with
 * FREED_BYTE and kept, unreleased, in a quarantine of at most QUAR_MAX
 * blocks and QUAR_BYTES bytes (larger blocks are released at once, their
 * guard checked): its address cannot come back from an allocation while
 * it is there, so a second free of it is a double free, and a change of
 * its fill when it leaves is a write after free. */
#define GUARD_LEN  16
#define FREED_BYTE 0xdf
#define QUAR_MAX   1024
#define QUAR_BYTES ((size_t)8 << 20)

static uint8_t
guard_byte(size_t i)
{
	return (uint8_t)(0xa5 ^ (i * 0x3b));
}

static struct {
	pthread_mutex_t lock; /* everything in this struct */
	struct fli_alloc_hooks hooks;
	struct fli_alloc_stats st;
	struct entry *v;
	size_t cap;      /* a power of two, or 0 */
	size_t count;    /* entries in v */
	size_t reserved; /* slots promised to calls in progress */
	/* The quarantine: a ring of freed blocks, oldest at qhead. */
	struct entry quar[QUAR_MAX];
	size_t qhead, qcount, qbytes;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t
home(uintptr_t addr, size_t cap)
{
	uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Puts e in v (cap slots, e->addr not in it, a slot free). */
static void
place(struct entry *v, size_t cap, const struct entry *e)
{
	size_t i = home(e->addr, cap);

	while (v[i].addr != 0)
		i = (i + 1) & (cap - 1);
	v[i] = *e;
}

/* The table at twice its size (at least 1024 slots); false if calloc
 * failed (the table is as it was). */
static bool
grow(void)
{
	size_t cap = g.cap ? g.cap * 2 : 1024;
	struct entry *v = calloc(cap, sizeof(*v));

	if (v == NULL)
		return false;
	for (size_t i = 0; i < g.cap; i++)
		if (g.v[i].addr != 0)
			place(v, cap, &g.v[i]);
	free(g.v);
	g.v = v;
	g.cap = cap;
	return true;
}

/* Promises a slot to a call in progress; false: none can be had. */
static bool
reserve(void)
{
	size_t need = g.count + g.reserved + 1;

	if (need * 2 > g.cap && !grow() && need >= g.cap)
		return false;
	g.reserved++;
	return true;
}

static ssize_t
lookup(uintptr_t addr)
{
	if (g.cap == 0)
		return -1;
	for (size_t i = home(addr, g.cap);; i = (i + 1) & (g.cap - 1)) {
		if (g.v[i].addr == addr)
			return (ssize_t)i;
		if (g.v[i].addr == 0)
			return -1;
	}
}

/* Takes addr out of the table into *out; false: it was not there. */
static bool
take(uintptr_t addr, struct entry *out)
{
	ssize_t f = lookup(addr);
	size_t i, j, mask = g.cap - 1;

	if (f < 0)
		return false;
	*out = g.v[f];
	g.st.blocks_held--;
	g.st.bytes_held -= out->size;
	g.count--;
	/* Backward-shift deletion: move up every entry of the run after
	 * the hole whose home is not between the hole and it. */
	i = (size_t)f;
	for (j = (i + 1) & mask; g.v[j].addr != 0; j = (j + 1) & mask) {
		size_t k = home(g.v[j].addr, g.cap);
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);

		if (!stays) {
			g.v[i] = g.v[j];
			i = j;
		}
	}
	g.v[i].addr = 0;
	return true;
}

/* Records e, using a reserved slot.  An address still in the table is a
 * block freed by someone else (not through the target), whose address
 * came back: the new block replaces it. */
static void
put(const struct entry *e)
{
	struct entry old;

	g.reserved--;
	(void)take(e->addr, &old);
	place(g.v, g.cap, e);
	g.count++;
	g.st.blocks_held++;
	g.st.bytes_held += e->size;
}

/* ---- the wrappers ---------------------------------------------------------- */

enum begin { GO, INJECTED, NO_ROOM };

/* Numbers a call of f and asks the hook; GO reserves a table slot, which
 * end() uses or gives back. */
static enum begin
begin(enum fn f, uint64_t *n)
{
	enum begin b = GO;

	pthread_mutex_lock(&g.lock);
	*n = ++g.st.calls;
	if (g.hooks.fail != NULL && g.hooks.fail(g.hooks.arg, *n, fn_names[f])) {
		g.st.failed++;
		b = INJECTED;
	} else if (!reserve()) {
		b = NO_ROOM;
	}
	pthread_mutex_unlock(&g.lock);
	return b;
}

/* ---- the heap check --------------------------------------------------------- */

/* The room to ask the real allocator for a block of size bytes: with
 * its guard when the check is on (and the size leaves room for one). */
static size_t
room(size_t size, bool *guarded)
{
	bool check;

	pthread_mutex_lock(&g.lock);
	check = g.hooks.check;
	pthread_mutex_unlock(&g.lock);
	*guarded = check && size <= SIZE_MAX - GUARD_LEN;
	return *guarded ? size + GUARD_LEN : size;
}

static void
set_guard(void *p, size_t size)
{
	for (size_t i = 0; i < GUARD_LEN; i++)
		((uint8_t *)p)[size + i] = guard_byte(i);
}

/* A heap error of the target's, told to the hook (g.lock held). */
static void
heap_error_again(const struct entry *e, const char *fmt, size_t at, uintptr_t again_at)
{
	char what[160], msg[800], made[160] = "", freed[160] = "", again[160] = "";

	if (g.hooks.heap_error == NULL)
		return;
	snprintf(what, sizeof(what), fmt, at);
	if (e->site != 0)
		(void)fli_code_where(made, sizeof(made), e->site);
	if (e->freed_at != 0)
		(void)fli_code_where(freed, sizeof(freed), e->freed_at);
	if (again_at != 0)
		(void)fli_code_where(again, sizeof(again), again_at);
	snprintf(msg, sizeof(msg),
	         "%s: the %zu-byte block of its allocation call #%llu (%s)%s%s%s%s%s%s", what,
	         e->size, (unsigned long long)e->n, fn_names[e->fn], made[0] ? ", made at " : "",
	         made, freed[0] ? ", freed at " : "", freed, again[0] ? ", again at " : "", again);
	g.hooks.heap_error(g.hooks.arg, msg);
}

static void
heap_error(const struct entry *e, const char *fmt, size_t at)
{
	heap_error_again(e, fmt, at, 0);
}

/* e's guard intact (or none); if not, told, and false (g.lock held). */
static bool
check_guard(const struct entry *e, const char *when)
{
	const uint8_t *p = (const uint8_t *)e->addr;
	char fmt[96];

	if (!e->guarded)
		return true;
	for (size_t i = 0; i < GUARD_LEN; i++) {
		if (p[e->size + i] != guard_byte(i)) {
			snprintf(fmt, sizeof(fmt),
			         "heap overflow: written past its end (byte +%%zu) %s", when);
			heap_error(e, fmt, i);
			return false;
		}
	}
	return true;
}

/* The oldest quarantined block released, its fill checked (g.lock held). */
static void
release_oldest(void)
{
	struct entry *e = &g.quar[g.qhead];
	const uint8_t *p = (const uint8_t *)e->addr;

	for (size_t i = 0; i < e->size; i++) {
		if (p[i] != FREED_BYTE) {
			heap_error(e,
			           "use after free: written at byte %zu after the target freed it",
			           i);
			break;
		}
	}
	(void)check_guard(e, "after it was freed");
	free((void *)e->addr);
	g.qbytes -= e->size;
	g.qhead = (g.qhead + 1) % QUAR_MAX;
	g.qcount--;
}

/* A block the target freed (out of the table): checked, then kept in the
 * quarantine or, too large for it, released (g.lock held). */
static void
retire(const struct entry *e)
{
	struct entry kept = *e;

	if (!e->guarded || e->size > QUAR_BYTES / 8) {
		(void)check_guard(e, "before its free");
		free((void *)e->addr);
		return;
	}
	/* An overflow is told once: its guard is not looked at again. */
	kept.guarded = check_guard(e, "before its free");
	memset((void *)e->addr, FREED_BYTE, e->size);
	while (g.qcount == QUAR_MAX || (g.qcount > 0 && g.qbytes + e->size > QUAR_BYTES))
		release_oldest();
	g.quar[(g.qhead + g.qcount) % QUAR_MAX] = kept;
	g.qcount++;
	g.qbytes += e->size;
}

/* The quarantined block at addr, or NULL (g.lock held). */
static const struct entry *
quarantined(uintptr_t addr)
{
	for (size_t i = 0; i < g.qcount; i++)
		if (g.quar[(g.qhead + i) % QUAR_MAX].addr == addr)
			return &g.quar[(g.qhead + i) % QUAR_MAX];
	return NULL;
}

/* The end of a call that began GO: p (size bytes) recorded, or the slot
 * given back when p is NULL (the real function failed). */
static void
end_guarded(void *p, size_t size, uint64_t n, enum fn f, bool guarded)
{
	struct entry e = { .addr = (uintptr_t)p,
		           .size = size,
		           .n = n,
		           .fn = (uint8_t)f,
		           .guarded = guarded,
		           .site = call_site };

	if (p != NULL && guarded)
		set_guard(p, size);
	pthread_mutex_lock(&g.lock);
	if (p != NULL)
		put(&e);
	else
		g.reserved--;
	pthread_mutex_unlock(&g.lock);
}

static void
end(void *p, size_t size, uint64_t n, enum fn f)
{
	end_guarded(p, size, n, f, false);
}

/* A free by the target: a block of its own checked and retired; a block
 * in the quarantine is a double free, told and not released again;
 * another (not the target's) counted in frees_unknown and released. */
static void
target_free(void *p)
{
	struct entry old;
	const struct entry *q;

	pthread_mutex_lock(&g.lock);
	if (take((uintptr_t)p, &old)) {
		old.freed_at = call_site;
		retire(&old);
	} else if ((q = quarantined((uintptr_t)p)) != NULL) {
		heap_error_again(q, "double free: freed a second time%.0zu", 0, call_site);
	} else {
		g.st.frees_unknown++;
		free(p);
	}
	pthread_mutex_unlock(&g.lock);
}

static void *
w_malloc(size_t size)
{
	uint64_t n;
	bool guarded;
	void *p;

	AT_CALLER();
	if (begin(F_MALLOC, &n) != GO) {
		errno = ENOMEM;
		return NULL;
	}
	p = malloc(room(size, &guarded));
	end_guarded(p, size, n, F_MALLOC, guarded);
	return p;
}

static void *
w_calloc(size_t nmemb, size_t size)
{
	uint64_t n;
	size_t total = 0;
	bool guarded;
	void *p;

	AT_CALLER();
	if (begin(F_CALLOC, &n) != GO) {
		errno = ENOMEM;
		return NULL;
	}
	if (__builtin_mul_overflow(nmemb, size, &total)) {
		p = calloc(nmemb, size); /* fails, as the target's own call would */
		guarded = false;
	} else {
		p = calloc(1, room(total, &guarded));
	}
	end_guarded(p, total, n, F_CALLOC, guarded);
	return p;
}

static void
w_free(void *p)
{
	AT_CALLER();
	if (p == NULL)
		return;
	target_free(p);
}

/* realloc and reallocarray (size computed) as f. */
static void *
resize(void *p, size_t size, enum fn f)
{
	struct entry old;
	bool known = false;
	uint64_t n;
	void *q;

	if (p != NULL && size == 0) { /* a free, as glibc's realloc */
		target_free(p);
		return NULL;
	}
	if (begin(f, &n) != GO) {
		errno = ENOMEM;
		return NULL; /* p as it was */
	}
	if (p != NULL) {
		pthread_mutex_lock(&g.lock);
		known = take((uintptr_t)p, &old);
		if (!known && quarantined((uintptr_t)p) != NULL) {
			heap_error(quarantined((uintptr_t)p),
			           "use after free: realloc'd after the target freed it%.0zu", 0);
			g.reserved--;
			pthread_mutex_unlock(&g.lock);
			errno = ENOMEM;
			return NULL;
		}
		pthread_mutex_unlock(&g.lock);
	}
	if (p == NULL || (known && old.guarded)) {
		/* A new block (guarded when the check is on), the old one's
		 * bytes copied and the old one retired: a later write to it is
		 * seen, as with free. */
		bool guarded;

		q = malloc(room(size, &guarded));
		pthread_mutex_lock(&g.lock);
		if (q != NULL) {
			struct entry e = { .addr = (uintptr_t)q,
				           .size = size,
				           .n = n,
				           .fn = (uint8_t)f,
				           .guarded = guarded,
				           .site = call_site };

			if (p != NULL) {
				memcpy(q, p, old.size < size ? old.size : size);
				old.freed_at = call_site;
				retire(&old);
			}
			if (guarded)
				set_guard(q, size);
			put(&e);
		} else if (known) {
			put(&old); /* p still valid: back in the table */
		} else {
			g.reserved--;
		}
		pthread_mutex_unlock(&g.lock);
		return q;
	}
	q = realloc(p, size);
	pthread_mutex_lock(&g.lock);
	if (q != NULL) {
		struct entry e = { .addr = (uintptr_t)q,
			           .size = size,
			           .n = n,
			           .fn = (uint8_t)f,
			           .site = call_site };

		put(&e);
		if (p != NULL && !known)
			g.st.frees_unknown++;
	} else if (known) {
		/* p still valid: back in the table, in the reserved slot */
		put(&old);
	} else {
		g.reserved--;
	}
	pthread_mutex_unlock(&g.lock);
	return q;
}

static void *
w_realloc(void *p, size_t size)
{
	AT_CALLER();
	return resize(p, size, F_REALLOC);
}

static void *
w_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t total;

	AT_CALLER();
	if (__builtin_mul_overflow(nmemb, size, &total)) {
		uint64_t n;

		if (begin(F_REALLOCARRAY, &n) == GO)
			end(NULL, 0, n, F_REALLOCARRAY);
		errno = ENOMEM;
		return NULL;
	}
	return resize(p, total, F_REALLOCARRAY);
}

/* strdup and strndup: len bytes of s and a NUL, from the real malloc. */
static char *
w_dup(const char *s, size_t len, enum fn f)
{
	uint64_t n;
	char *p;

	if (begin(f, &n) != GO) {
		errno = ENOMEM;
		return NULL;
	}
	bool guarded;

	p = malloc(room(len + 1, &guarded));
	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	end_guarded(p, len + 1, n, f, guarded);
	return p;
}

static char *
w_strdup(const char *s)
{
	AT_CALLER();
	return w_dup(s, strlen(s), F_STRDUP);
}

static char *
w_strndup(const char *s, size_t max)
{
	AT_CALLER();
	return w_dup(s, strnlen(s, max), F_STRNDUP);
}

static int
w_posix_memalign(void **out, size_t align, size_t size)
{
	uint64_t n;
	void *p = NULL;
	int rc;
	bool guarded;

	AT_CALLER();
	if (begin(F_POSIX_MEMALIGN, &n) != GO)
		return ENOMEM;
	rc = posix_memalign(&p, align, room(size, &guarded));
	end_guarded(rc == 0 ? p : NULL, size, n, F_POSIX_MEMALIGN, guarded);
	if (rc == 0)
		*out = p;
	return rc;
}

static void *
w_aligned_alloc(size_t align, size_t size)
{
	uint64_t n;
	void *p;

	AT_CALLER();
	if (begin(F_ALIGNED_ALLOC, &n) != GO) {
		errno = ENOMEM;
		return NULL;
	}
	bool guarded;
	size_t r = room(size, &guarded);

	/* C11's aligned_alloc wants a size that is a multiple of the
	 * alignment (ASan's insists): the guard's room rounded up to one. */
	if (guarded && align > 0 && r % align != 0) {
		if (r > SIZE_MAX - align)
			guarded = false, r = size;
		else
			r += align - r % align;
	}
	p = aligned_alloc(align, r);
	end_guarded(p, size, n, F_ALIGNED_ALLOC, guarded);
	return p;
}

static void *
w_memalign(size_t align, size_t size)
{
	uint64_t n;
	void *p;

	AT_CALLER();
	if (begin(F_MEMALIGN, &n) != GO) {
		errno = ENOMEM;
		return NULL;
	}
	bool guarded;

	p = memalign(align, room(size, &guarded));
	end_guarded(p, size, n, F_MEMALIGN, guarded);
	return p;
}

/* ---- a library linked in from its static archive: -Wl,--wrap ------------------ */

/* Set by fli_alloc_hook_wrapped until fli_alloc_unhook (atomic): the
 * __wrap_ functions go to the wrappers; else straight to the allocator. */
static int wrapped_on;

/* In a __wrap_ function: are the wrappers on?  Then its return address
 * (the library's call) is the call site the wrapper records. */
#define wrapping()                                                                                 \
	(__atomic_load_n(&wrapped_on, __ATOMIC_ACQUIRE) &&                                         \
	 (wrap_site = (uintptr_t)__builtin_return_address(0), true))

#define WRAP_ENTRY __attribute__((visibility("default")))

WRAP_ENTRY void *
__wrap_malloc(size_t size)
{
	return wrapping() ? w_malloc(size) : malloc(size);
}

WRAP_ENTRY void *
__wrap_calloc(size_t nmemb, size_t size)
{
	return wrapping() ? w_calloc(nmemb, size) : calloc(nmemb, size);
}

WRAP_ENTRY void *
__wrap_realloc(void *p, size_t size)
{
	return wrapping() ? w_realloc(p, size) : realloc(p, size);
}

WRAP_ENTRY void *
__wrap_reallocarray(void *p, size_t nmemb, size_t size)
{
	return wrapping() ? w_reallocarray(p, nmemb, size) : reallocarray(p, nmemb, size);
}

WRAP_ENTRY void
__wrap_free(void *p)
{
	if (wrapping())
		w_free(p);
	else
		free(p);
}

WRAP_ENTRY char *
__wrap_strdup(const char *s)
{
	return wrapping() ? w_strdup(s) : strdup(s);
}

WRAP_ENTRY char *
__wrap_strndup(const char *s, size_t max)
{
	return wrapping() ? w_strndup(s, max) : strndup(s, max);
}

WRAP_ENTRY int
__wrap_posix_memalign(void **out, size_t align, size_t size)
{
	return wrapping() ? w_posix_memalign(out, align, size) : posix_memalign(out, align, size);
}

WRAP_ENTRY void *
__wrap_aligned_alloc(size_t align, size_t size)
{
	return wrapping() ? w_aligned_alloc(align, size) : aligned_alloc(align, size);
}

WRAP_ENTRY void *
__wrap_memalign(size_t align, size_t size)
{
	return wrapping() ? w_memalign(align, size) : memalign(align, size);
}

/* The symbols whose relocations are rewritten, with what, and the
 * function a pointer in the target's data (an R_*_64 relocation) must
 * hold to be rewritten: the one the symbol resolves to, as faultline's own
 * code sees it (NULL: such pointers are left alone). */
static const struct {
	const char *name;
	void *wrapper;
	void *real;
} wrapped[] = {
	{ "malloc", (void *)w_malloc, (void *)malloc },
	{ "calloc", (void *)w_calloc, (void *)calloc },
	{ "realloc", (void *)w_realloc, (void *)realloc },
	{ "reallocarray", (void *)w_reallocarray, (void *)reallocarray },
	{ "free", (void *)w_free, (void *)free },
	{ "strdup", (void *)w_strdup, (void *)strdup },
	{ "__strdup", (void *)w_strdup, NULL },
	{ "strndup", (void *)w_strndup, (void *)strndup },
	{ "__strndup", (void *)w_strndup, NULL },
	{ "posix_memalign", (void *)w_posix_memalign, (void *)posix_memalign },
	{ "aligned_alloc", (void *)w_aligned_alloc, (void *)aligned_alloc },
	{ "memalign", (void *)w_memalign, (void *)memalign },
};

/* ---- the target's slots ---------------------------------------------------- */

/* While an object is hooked for its frees alone (fli_alloc_hook_frees,
 * under t.lock): only free's slots are collected. */
static bool frees_only;

struct patch {
	void **slot;
	void *orig;
	void *wrapper;
};

/* A hooked object: its slots rewritten, and its program headers (to
 * know each page's protection). */
struct hooked {
	uintptr_t base;
	const phdr_t *phdr;
	size_t phnum;
	struct patch *v;
	size_t n;
};

static struct {
	pthread_mutex_t lock; /* hook and unhook, against each other */
	struct hooked o[FLI_ALLOC_MAX_OBJECTS];
	size_t n; /* objects hooked */
} t = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct obj {
	uintptr_t base;
	const phdr_t *phdr;
	size_t phnum;
};

/* The protection ld.so left on page (of pagesz bytes) of object o; -1
 * if no segment of o covers it. */
static int
page_prot(const struct obj *o, uintptr_t page, uintptr_t pagesz)
{
	int prot = -1;

	for (size_t i = 0; i < o->phnum; i++) {
		const phdr_t *ph = &o->phdr[i];
		uintptr_t lo = (o->base + ph->p_vaddr) & ~(pagesz - 1);
		uintptr_t hi = o->base + ph->p_vaddr + ph->p_memsz;

		if (ph->p_type == PT_LOAD) {
			hi = (hi + pagesz - 1) & ~(pagesz - 1);
			if (page >= lo && page < hi)
				prot = (ph->p_flags & PF_R ? PROT_READ : 0) |
				       (ph->p_flags & PF_W ? PROT_WRITE : 0) |
				       (ph->p_flags & PF_X ? PROT_EXEC : 0);
		}
	}
	for (size_t i = 0; i < o->phnum && prot >= 0; i++) {
		const phdr_t *ph = &o->phdr[i];
		uintptr_t lo = (o->base + ph->p_vaddr) & ~(pagesz - 1);
		uintptr_t hi = (o->base + ph->p_vaddr + ph->p_memsz) & ~(pagesz - 1);

		if (ph->p_type == PT_GNU_RELRO && page >= lo && page < hi)
			prot = PROT_READ;
	}
	return prot;
}

/* Stores v in *slot, the page made writable for it if it is not. */
static int
store(const struct obj *o, void **slot, void *v)
{
	uintptr_t pagesz = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t page = (uintptr_t)slot & ~(pagesz - 1);
	int prot = page_prot(o, page, pagesz);

	if (prot < 0)
		return FL_EPROTO;
	if (!(prot & PROT_WRITE) && mprotect((void *)page, pagesz, prot | PROT_WRITE) != 0)
		return FL_EIO;
	__atomic_store_n(slot, v, __ATOMIC_RELEASE);
	if (!(prot & PROT_WRITE) && mprotect((void *)page, pagesz, prot) != 0)
		return FL_EIO;
	return 0;
}

#ifdef FLI_R_JUMP_SLOT

struct find {
	uintptr_t ld; /* the link_map's l_ld */
	struct obj o;
	bool found;
};

static int
find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;

	(void)size;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const phdr_t *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_DYNAMIC && info->dlpi_addr + ph->p_vaddr == f->ld) {
			f->o.base = info->dlpi_addr;
			f->o.phdr = info->dlpi_phdr;
			f->o.phnum = info->dlpi_phnum;
			f->found = true;
			return 1;
		}
	}
	return 0;
}

/* A d_ptr of the dynamic section: glibc relocates them in place, other
 * loaders (and glibc where the section is read-only) leave offsets. */
static uintptr_t
dyn_ptr(uintptr_t base, ElfW(Addr) v)
{
	return v < base ? base + v : v;
}

/* The wrapper for relocation r (its slot at slot), or NULL. */
static void *
wrapper_of(const rela_t *r, void **slot, const sym_t *symtab, const char *strtab)
{
	unsigned long type = ELF64_R_TYPE(r->r_info);
	const sym_t *sym = &symtab[ELF64_R_SYM(r->r_info)];

	if (ELF64_R_SYM(r->r_info) == 0 || sym->st_shndx != SHN_UNDEF)
		return NULL;
	if (type != FLI_R_JUMP_SLOT && type != FLI_R_GLOB_DAT && type != FLI_R_ABS64)
		return NULL;
	for (size_t i = 0; i < sizeof(wrapped) / sizeof(wrapped[0]); i++) {
		if (strcmp(strtab + sym->st_name, wrapped[i].name) != 0 ||
		    (frees_only && wrapped[i].wrapper != (void *)w_free))
			continue;
		/* A pointer in data: only as the relocation left it (the
		 * target may have set it to something else since). */
		if (type == FLI_R_ABS64 &&
		    (r->r_addend != 0 || wrapped[i].real == NULL ||
		     __atomic_load_n(slot, __ATOMIC_ACQUIRE) != wrapped[i].real))
			return NULL;
		return wrapped[i].wrapper;
	}
	return NULL;
}

/* Adds the slots of the n relocations at rel to *v (*len of them). */
static int
collect(const struct obj *o, const rela_t *rel, size_t n, const sym_t *symtab, const char *strtab,
        struct patch **v, size_t *len)
{
	for (size_t i = 0; i < n; i++) {
		void **slot = (void **)(o->base + rel[i].r_offset);
		void *w;
		bool seen = false;
		struct patch *nv;

		if ((uintptr_t)slot % sizeof(void *) != 0)
			continue;
		w = wrapper_of(&rel[i], slot, symtab, strtab);
		if (w == NULL)
			continue;
		/* DT_RELA may cover DT_JMPREL too (some linkers): once a slot */
		for (size_t j = 0; j < *len && !seen; j++)
			seen = (*v)[j].slot == slot;
		if (seen)
			continue;
		nv = realloc(*v, (*len + 1) * sizeof(**v));
		if (nv == NULL)
			return FL_ENOMEM;
		*v = nv;
		(*v)[(*len)++] = (struct patch){ .slot = slot, .wrapper = w };
	}
	return 0;
}

/* The slots of the object whose dynamic section is at ld, into *v. */
static int
find_slots(const struct obj *o, const dyn_t *dyn, struct patch **v, size_t *len)
{
	const sym_t *symtab = NULL;
	const char *strtab = NULL;
	const rela_t *rela = NULL, *jmprel = NULL;
	size_t relasz = 0, relaent = sizeof(rela_t), pltrelsz = 0;
	ElfW(Sxword) pltrel = DT_RELA;
	int rc;

	for (const dyn_t *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const void *)dyn_ptr(o->base, d->d_un.d_ptr); break;
		case DT_STRTAB: strtab = (const void *)dyn_ptr(o->base, d->d_un.d_ptr); break;
		case DT_RELA: rela = (const void *)dyn_ptr(o->base, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		case DT_RELAENT: relaent = d->d_un.d_val; break;
		case DT_JMPREL: jmprel = (const void *)dyn_ptr(o->base, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL: pltrel = (ElfW(Sxword))d->d_un.d_val; break;
		case DT_REL: return FL_EPROTO; /* REL: not x86-64 or aarch64 */
		default: break;
		}
	}
	if (symtab == NULL || strtab == NULL || relaent != sizeof(rela_t) ||
	    (jmprel != NULL && pltrel != DT_RELA))
		return FL_EPROTO;
	if (rela != NULL) {
		rc = collect(o, rela, relasz / relaent, symtab, strtab, v, len);
		if (rc != 0)
			return rc;
	}
	if (jmprel != NULL) {
		rc = collect(o, jmprel, pltrelsz / sizeof(rela_t), symtab, strtab, v, len);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Restores the first n slots of v (those still holding their wrapper):
 * 0 or the first error. */
static int
restore(const struct obj *o, struct patch *v, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		int rc;

		if (__atomic_load_n(v[i].slot, __ATOMIC_ACQUIRE) != v[i].wrapper)
			continue;
		rc = store(o, v[i].slot, v[i].orig);
		if (rc != 0 && err == 0)
			err = rc;
	}
	return err;
}

static int
hook_locked(void *dl_handle, const struct fli_alloc_hooks *h)
{
	struct link_map *lm = NULL;
	struct find f = { 0 };
	struct patch *v = NULL;
	size_t n = 0;
	uintptr_t self = (uintptr_t)(void *)w_malloc;
	int rc;

	if (dlinfo(dl_handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL || lm->l_ld == NULL)
		return FL_EINVAL;
	f.ld = (uintptr_t)lm->l_ld;
	dl_iterate_phdr(find_cb, &f);
	if (!f.found)
		return FL_EINVAL;
	/* The object holding the wrappers: they would call themselves. */
	for (size_t i = 0; i < f.o.phnum; i++) {
		const phdr_t *ph = &f.o.phdr[i];
		uintptr_t lo = f.o.base + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && self >= lo && self < lo + ph->p_memsz)
			return FL_EINVAL;
	}
	for (size_t i = 0; i < t.n; i++)
		if (t.o[i].base == f.o.base && t.o[i].phdr == f.o.phdr)
			return FL_EEXIST;
	rc = find_slots(&f.o, lm->l_ld, &v, &n);
	if (rc != 0) {
		free(v);
		return rc;
	}

	if (h != NULL) {
		pthread_mutex_lock(&g.lock);
		g.hooks = *h;
		pthread_mutex_unlock(&g.lock);
	}
	for (size_t i = 0; i < n; i++) {
		v[i].orig = __atomic_load_n(v[i].slot, __ATOMIC_ACQUIRE);
		rc = store(&f.o, v[i].slot, v[i].wrapper);
		if (rc != 0) {
			(void)restore(&f.o, v, i + 1);
			if (h != NULL) {
				pthread_mutex_lock(&g.lock);
				g.hooks = (struct fli_alloc_hooks){ 0 };
				pthread_mutex_unlock(&g.lock);
			}
			free(v);
			return rc;
		}
	}
	t.o[t.n++] = (struct hooked){ .base = f.o.base,
		                      .phdr = f.o.phdr,
		                      .phnum = f.o.phnum,
		                      .v = v,
		                      .n = n };
	return (int)n;
}

#else /* not x86-64 or aarch64 */

static int
hook_locked(void *dl_handle, const struct fli_alloc_hooks *h)
{
	(void)dl_handle;
	(void)h;
	(void)wrapped;
	(void)store;
	return FL_EPROTO;
}

static int
restore(const struct obj *o, struct patch *v, size_t n)
{
	(void)o;
	(void)v;
	(void)n;
	return 0;
}

#endif

int
fli_alloc_hook(void *dl_handle, const struct fli_alloc_hooks *h)
{
	int rc;

	if (dl_handle == NULL || h == NULL)
		return FL_EINVAL;
	pthread_mutex_lock(&t.lock);
	rc = t.n > 0 || wrapped_on ? FL_ESTATE : hook_locked(dl_handle, h);
	pthread_mutex_unlock(&t.lock);
	return rc;
}

int
fli_alloc_hook_wrapped(const struct fli_alloc_hooks *h)
{
	int rc = 0;

	if (h == NULL)
		return FL_EINVAL;
	pthread_mutex_lock(&t.lock);
	if (t.n > 0 || wrapped_on) {
		rc = FL_ESTATE;
	} else {
		pthread_mutex_lock(&g.lock);
		g.hooks = *h;
		pthread_mutex_unlock(&g.lock);
		__atomic_store_n(&wrapped_on, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&t.lock);
	return rc;
}

/* One more object with the first's hooks: all its allocation calls, or
 * (only_frees) its calls to free alone. */
static int
hook_more(void *dl_handle, bool only_frees)
{
	int rc;

	if (dl_handle == NULL)
		return FL_EINVAL;
	pthread_mutex_lock(&t.lock);
	frees_only = only_frees;
	rc = t.n == 0                       ? FL_ESTATE
	     : t.n == FLI_ALLOC_MAX_OBJECTS ? FL_ELIMIT
	                                    : hook_locked(dl_handle, NULL);
	frees_only = false;
	pthread_mutex_unlock(&t.lock);
	return rc;
}

int
fli_alloc_hook_frees(void *dl_handle)
{
	return hook_more(dl_handle, true);
}

int
fli_alloc_hook_also(void *dl_handle)
{
	return hook_more(dl_handle, false);
}

/* Still loaded: an object at the same address with the same program
 * headers (one dlclose'd since is not written to). */
static int
loaded_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	const struct obj *o = arg;

	(void)size;
	return info->dlpi_addr == o->base && info->dlpi_phdr == o->phdr;
}

int
fli_alloc_unhook(void)
{
	struct obj o;
	int rc = 0;

	pthread_mutex_lock(&t.lock);
	/* The __wrap_ functions straight to the allocator from here on. */
	if (__atomic_exchange_n(&wrapped_on, 0, __ATOMIC_ACQ_REL) || t.n > 0) {
		/* First the hook: a call still on its way sees none. */
		pthread_mutex_lock(&g.lock);
		g.hooks = (struct fli_alloc_hooks){ 0 };
		pthread_mutex_unlock(&g.lock);
	}
	for (size_t i = t.n; i-- > 0;) {
		struct hooked *h = &t.o[i];
		int e = 0;

		o = (struct obj){ .base = h->base, .phdr = h->phdr, .phnum = h->phnum };
		if (dl_iterate_phdr(loaded_cb, &o) != 0)
			e = restore(&o, h->v, h->n);
		if (rc == 0)
			rc = e;
		free(h->v);
		*h = (struct hooked){ 0 };
	}
	t.n = 0;
	pthread_mutex_unlock(&t.lock);
	return rc;
}

void
fli_alloc_stats(struct fli_alloc_stats *out)
{
	pthread_mutex_lock(&g.lock);
	*out = g.st;
	pthread_mutex_unlock(&g.lock);
}

static int
by_n(const void *a, const void *b)
{
	const struct fli_alloc_block *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

int
fli_alloc_held(struct fli_alloc_block **out, size_t *count)
{
	struct fli_alloc_block *v = NULL;
	size_t k = 0;

	pthread_mutex_lock(&g.lock);
	if (g.count > 0) {
		v = malloc(g.count * sizeof(*v));
		if (v == NULL) {
			pthread_mutex_unlock(&g.lock);
			return FL_ENOMEM;
		}
		for (size_t i = 0; i < g.cap; i++)
			if (g.v[i].addr != 0)
				v[k++] = (struct fli_alloc_block){ .addr = g.v[i].addr,
					                           .size = g.v[i].size,
					                           .n = g.v[i].n,
					                           .fn = fn_names[g.v[i].fn] };
	}
	pthread_mutex_unlock(&g.lock);
	if (k > 1)
		qsort(v, k, sizeof(*v), by_n);
	*out = v;
	*count = k;
	return 0;
}

void
fli_alloc_flush(void)
{
	/* Not the guards of the blocks still held: one freed by code that
	 * is not hooked (another library's free) may be gone, its memory
	 * reused or unmapped.  An overflow is seen when the library frees
	 * its block. */
	pthread_mutex_lock(&g.lock);
	while (g.qcount > 0)
		release_oldest();
	pthread_mutex_unlock(&g.lock);
}

void
fli_alloc_reset(void)
{
	pthread_mutex_lock(&g.lock);
	{
		/* Released, their checks told to nobody. */
		struct fli_alloc_hooks keep = g.hooks;

		g.hooks.heap_error = NULL;
		while (g.qcount > 0)
			release_oldest();
		g.hooks = keep;
	}
	g.st = (struct fli_alloc_stats){ 0 };
	g.count = 0;
	if (g.reserved == 0) {
		free(g.v);
		g.v = NULL;
		g.cap = 0;
	} else if (g.v != NULL) {
		memset(g.v, 0, g.cap * sizeof(*g.v)); /* a call in progress keeps its slot */
	}
	pthread_mutex_unlock(&g.lock);
}
