/*
 * Module-to-module declarations of the request/response part: segment
 * mapping, the last-error message and header layout writes.
 */
#ifndef FL_RR_INTERNAL_H
#define FL_RR_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Maps `size` bytes of the segment file `path` through the shm seam
 * (fli_shm_create, fli_shm_map).  create: the file must not exist; it is
 * created 0600 and sized.  On success *base and *size are set; on failure
 * fl_rr_errmsg() says why.  `fault` names the fault point consulted
 * before the OS calls. */
int fli_rr_seg_create(const char *path, size_t size, const char *fault, void **base);
int fli_rr_seg_open(const char *path, const char *fault, void **base, size_t *size);
void fli_rr_seg_unmap(void *base, size_t size);

/* A printf-style message kept per thread, read with fl_rr_errmsg(). */
void fli_rr_set_errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes value into field of a segment header, the layout_write step of
 * the chunk and port pools: with only_changed, only where they differ.
 * Counts each write in n. */
#define FLI_LAYOUT_PUT(n, only_changed, field, value)                                              \
	do {                                                                                       \
		if (!(only_changed) || (field) != (value)) {                                       \
			(field) = (value);                                                         \
			(n)++;                                                                     \
		}                                                                                  \
	} while (0)

#endif
