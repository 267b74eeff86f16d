/*
 * Names: public fl_ (FL_ for macros), declared under include/faultline/;
 * internal fli_, for every function, global and struct shared between the
 * transport's files; static and unprefixed within one file.  No other
 * global symbol in the library, and no public header names a fli_ one.
 *
 * In full: what a user may call or name is declared in a public header and
 * starts fl_.  What one of the transport's files exports to another, in a
 * module-to-module header (shm.h, ring.h, cnc.h, chunk_pool.h, ...),
 * starts fli_, whatever module it belongs to (fli_shm_map_at,
 * fli_rr_queue_push, struct fli_cnc_header).  A header private to the
 * files of one object (client_internal.h) may keep short unprefixed type
 * names; its functions are static inline or fli_.  Internal macros keep
 * their module's upper-case prefix (FL_CNC_, FL_LOG_, RR_, CP_, PP_).
 * transport/tests/symbols_test.py checks the library's global symbols.
 *
 * Invariants: FLI_ASSERT(x) states what this process's own state always
 * satisfies (a reference count never negative, a ring's head never past
 * its tail, a chunk's generation only growing); it aborts in the default
 * (debug) build and compiles out with NDEBUG.  What another process can
 * write (every word of a shared segment) is never asserted: a wild write
 * is an input the transport handles, not a broken invariant.  Where the
 * code already handles a case that should not happen, FLI_NEVER(x) and
 * FLI_ALWAYS(x) (SQLite's NEVER and ALWAYS) evaluate to x so the handling
 * still runs in a release build, and abort on it in a debug build.
 */
#ifndef FLI_IMPL_H
#define FLI_IMPL_H

#include <assert.h>

#ifdef NDEBUG
#define FLI_ASSERT(x) ((void)0)
#define FLI_ALWAYS(x) (x)
#define FLI_NEVER(x)  (x)
#else
#define FLI_ASSERT(x) assert(x)
#define FLI_ALWAYS(x) ((x) ? 1 : (assert(0 && #x), 0))
#define FLI_NEVER(x)  ((x) ? (assert(0 && #x), 1) : 0)
#endif

#endif
