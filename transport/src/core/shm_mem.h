/*
 * The shm seam's in-process backend (shm_mem.c): what shm.c calls instead
 * of the kernel while fl_run_dirs_in_memory is on.  Each function does
 * the work of its shm.h namesake after that one's first fault point, with
 * the same results.  Module-to-module.
 */
#ifndef FL_SHM_MEM_H
#define FL_SHM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "shm.h"

bool fli_shm_mem_on(void);
/* The effective uid, asked of the kernel once. */
uid_t fli_shm_euid(void);

int fli_shm_mem_dir_create(const char *path, struct fli_shm_dir *out);
int fli_shm_mem_dir_open(const char *path, struct fli_shm_dir *out, char *why, size_t whylen);
int fli_shm_mem_dir_reopen(const char *path, struct fli_shm_dir *d);
int fli_shm_mem_dir_clean(const struct fli_shm_dir *d, const char *rmdir_path, char *other,
                          size_t otherlen);
int fli_shm_mem_dir_count(const char *path);
int fli_shm_mem_dir_each(const char *path, void (*fn)(void *arg, const char *name), void *arg);
int fli_shm_mem_create_at(const struct fli_shm_dir *d, const char *name, size_t len,
                          struct fli_shm *out);
int fli_shm_mem_map_at(const struct fli_shm_dir *d, const char *name, bool writable, size_t min_len,
                       struct fli_shm *out);
int fli_shm_mem_read_at(const struct fli_shm_dir *d, const char *name, void *buf, size_t len,
                        size_t *file_len);
int fli_shm_mem_rename_at(const struct fli_shm_dir *d, const char *from, const char *to);
int fli_shm_mem_unlink_at(const struct fli_shm_dir *d, const char *name);
int fli_shm_mem_create(const char *path, size_t len, struct fli_shm *out, char *why, size_t whylen);
int fli_shm_mem_map(const char *path, bool writable, size_t min_len, struct fli_shm *out, char *why,
                    size_t whylen);
int fli_shm_mem_unlink(const char *path);
/* Drops one mapping of an in-memory file: false when m is none. */
bool fli_shm_mem_unmap(struct fli_shm *m);
/* The backend's own address of the len bytes at addr, in a live mapping
 * (writable, when write) of an in-memory file; NULL when there is none. */
void *fli_shm_mem_view(void *addr, size_t len, bool write);
/* Is path an in-memory run directory? */
bool fli_shm_mem_exists(const char *path);

#endif
