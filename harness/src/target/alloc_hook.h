/*
 * Allocation faults in a target: a library faultline did not write (issue
 * 20), loaded into the run's process with dlopen.
 *
 * fli_alloc_hook rewrites the target object's own GOT slots (and the
 * pointers in its data that relocations set to an allocator) for malloc,
 * calloc, realloc, reallocarray, strdup, strndup (and glibc's __strdup,
 * __strndup), posix_memalign, aligned_alloc, memalign and free, so that
 * the target's calls, and only the target's, go through wrappers here.
 * Nothing is interposed globally: faultline's own allocations, libc's
 * internal ones and every other library's never reach a wrapper, and the
 * wrappers call the process's malloc and free, whichever those are (ASan's
 * and valgrind's replacements included).
 *
 * Every allocation call of the target is a numbered fault point: numbered
 * from 1 in the order the calls happen, over all the target's threads,
 * and the fail hook is consulted for each under one lock, in that order.
 * free is not numbered (it cannot fail), nor is realloc(p, 0) with p not
 * NULL, which frees as glibc's does; realloc(NULL, n) is numbered as a
 * realloc.  An injected failure returns NULL with errno ENOMEM
 * (posix_memalign returns ENOMEM and leaves its out-pointer alone; a
 * failed realloc leaves the old block as it was).
 *
 * The wrappers keep a table of the blocks the target holds (address, size
 * asked for, the number of the call that made it): the leak oracle once
 * every handle is closed.  A free of a block the table does not know
 * (allocated before the hook, or by libc or another library and freed by
 * the target) goes to the real free and is counted in frees_unknown; a
 * realloc that releases such a block counts there too.  A block the target
 * allocates and something else frees (the caller, with its own free) stays
 * held in the table until the address comes back from another allocation
 * of the target.
 *
 * One target at a time (its objects: fli_alloc_hook_also).  Hook after dlopen, before the target runs its
 * threads, and unhook after they stopped: a slot is swapped with one
 * aligned store, but a lazy binding in progress on another thread could
 * write the slot after the swap (dlopen with RTLD_NOW avoids lazy binding
 * altogether).  Unhook before dlclose, or after: an object no longer
 * loaded is not written to, yet the wrappers' state is only cleared by
 * the unhook.  x86-64 and aarch64 (RELA, 64-bit) only; elsewhere
 * fli_alloc_hook returns FL_EPROTO.  A library linked in from its static
 * archive has no GOT of its own: -Wl,--wrap at link time instead
 * (fli_alloc_hook_wrapped).
 *
 * The fail hook runs with the wrappers' lock held: it must not call into
 * the target (it may allocate: faultline's allocations are not hooked).
 * A target that allocates in a signal handler, or forks while another of
 * its threads is in a wrapper, can deadlock in the child or handler.
 */
#ifndef FLI_TARGET_ALLOC_HOOK_H
#define FLI_TARGET_ALLOC_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fli_alloc_hooks {
	void *arg;
	/* Called for every allocation call of the target, n from 1 in the
	 * order the calls happen (all threads, serialized), fn the function
	 * the target called ("malloc", "calloc", "realloc", "reallocarray",
	 * "strdup", "strndup", "posix_memalign", "aligned_alloc", "memalign").
	 * true: this call fails.  NULL: none fails (counting only). */
	bool (*fail)(void *arg, uint64_t n, const char *fn);
	/* The heap check: each block the target allocates gets a guard after
	 * its end, and each it frees is filled and kept a while (a
	 * quarantine) before the real free.  heap_error (may be NULL) is
	 * told, in words naming the block and the call that made it, of a
	 * write past a block's end (seen at the block's free by the target),
	 * a second free of a block, or a write to a freed block (seen when
	 * it leaves the quarantine or at fli_alloc_flush).
	 * A double free is not passed on to the real free.  heap_error runs
	 * with the wrappers' lock held, as fail does. */
	bool check;
	void (*heap_error)(void *arg, const char *what);
};

/* fli_alloc_hook redirects the allocation calls of the object dl_handle
 * (from dlopen) to the wrappers, which consult h (copied).  Returns the
 * number of slots rewritten (0: the target calls no allocator), or
 * FL_EINVAL (no handle or hooks, a handle dlinfo does not know, or the
 * object holding faultline's own code), FL_ESTATE (a target is hooked
 * already), FL_EPROTO (not x86-64 or aarch64, or a dynamic section it
 * cannot read), FL_EIO (mprotect refused; nothing is left rewritten) or
 * FL_ENOMEM.  Numbering and the table go on from where they were:
 * fli_alloc_reset starts them afresh. */
int fli_alloc_hook(void *dl_handle, const struct fli_alloc_hooks *h);

/* fli_alloc_hook_also redirects the allocation calls of one more object
 * (a library the target's adapter calls: its calls are the target's too,
 * numbered in the same sequence and held in the same table), with the
 * hooks fli_alloc_hook gave.  The number of slots rewritten, FL_ESTATE
 * (nothing hooked yet), FL_EEXIST (hooked already), FL_ELIMIT (more than
 * FLI_ALLOC_MAX_OBJECTS objects), or fli_alloc_hook's errors. */
#define FLI_ALLOC_MAX_OBJECTS 8
int fli_alloc_hook_also(void *dl_handle);

/* fli_alloc_hook_frees redirects one more object's calls to free alone
 * (the adapter of a library: a block of the library's it frees leaves the
 * table, and is checked and quarantined, instead of staying "held"); its
 * own allocations are neither numbered nor counted.  Errors as
 * fli_alloc_hook_also. */
int fli_alloc_hook_frees(void *dl_handle);

/* fli_alloc_hook_wrapped sends the calls of a library linked in from
 * its static archive to the wrappers, with hooks h: the library's
 * objects were linked with -Wl,--wrap=malloc and its kin (only theirs:
 * `ld -r --wrap=...` over the archive), so their calls reach faultline's
 * __wrap_malloc ... (faultline/target.h), which pass them to the
 * wrappers from now until fli_alloc_unhook, and straight to the
 * allocator otherwise.  0, FL_EINVAL (h NULL) or FL_ESTATE (hooked
 * already, either way). */
int fli_alloc_hook_wrapped(const struct fli_alloc_hooks *h);

/* fli_alloc_unhook puts the target's original pointers back (if it is
 * still loaded); the fail hook is never consulted again.  Returns 0 (also when nothing is hooked)
 * or FL_EIO: a slot that could not be restored keeps its wrapper, which
 * fails nothing from now on.  The statistics and the table stay. */
int fli_alloc_unhook(void);

struct fli_alloc_stats {
	uint64_t calls;         /* numbered allocation calls */
	uint64_t failed;        /* of those, the ones that failed by the hook */
	uint64_t blocks_held;   /* blocks the target holds */
	uint64_t bytes_held;    /* their sizes, as asked for */
	uint64_t frees_unknown; /* frees (and realloc releases) of blocks the table did not know */
};

/* fli_alloc_stats copies the counters (consistent with each other). */
void fli_alloc_stats(struct fli_alloc_stats *out);

/* One block the target holds: its address, size asked for, and the call
 * (number and function) that gave it that size. */
struct fli_alloc_block {
	uintptr_t addr;
	size_t size;
	uint64_t n;
	const char *fn;
};

/* fli_alloc_held copies the blocks the target holds, in the order of
 * their calls' numbers, into *out (*count of them; free *out with free;
 * NULL when there are none).  0 or FL_ENOMEM. */
int fli_alloc_held(struct fli_alloc_block **out, size_t *count);

/* fli_alloc_flush releases every quarantined block, its fill and guard
 * checked: heap errors go to the hook's heap_error, while it is hooked.
 * (Not the guards of blocks still held: one may have been freed by code
 * that is not hooked.) */
void fli_alloc_flush(void);

/* fli_alloc_reset: numbering back to 1, counters zeroed, the table
 * emptied, the quarantine released unchecked (between runs, with no
 * thread of the target running).  Blocks
 * held before it are forgotten: freeing them later counts in
 * frees_unknown. */
void fli_alloc_reset(void);

#endif
