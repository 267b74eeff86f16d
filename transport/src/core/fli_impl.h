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
 */
#ifndef FLI_IMPL_H
#define FLI_IMPL_H

#endif
