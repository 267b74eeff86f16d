/*
 * Shared-memory segments under the run directory: the platform seam's shm
 * part.  Every create/map/truncate/unlink goes through here so fault points
 * transport/shm/... cover them all.  Module-to-module.
 */
#ifndef FL_SHM_H
#define FL_SHM_H

#include <stdbool.h>
#include <stddef.h>

struct fl_shm {
	void *addr;  /* NULL when not mapped */
	size_t len;
};

/* Creates dir with mode 0700.  FL_EEXIST if it exists, FL_EIO. */
int fl_shm_dir_create(const char *dir);

/* Unlinks every file in dir, then removes it.  0, FL_ENOENT, FL_EIO. */
int fl_shm_dir_remove(const char *dir);

/* Number of regular files in dir (>= 0) or FL_ENOENT/FL_EIO. */
int fl_shm_dir_count(const char *dir);

/* Creates path exclusively (0600), sizes it to len and maps it rw,
 * zero-filled.  On failure nothing is left behind. */
int fl_shm_create(const char *path, size_t len, struct fl_shm *out);

/* Maps an existing file; its size must be >= min_len.  FL_ENOENT, FL_EIO,
 * FL_EPROTO (too small). */
int fl_shm_map(const char *path, bool writable, size_t min_len, struct fl_shm *out);

/* Unmaps (safe on a zeroed struct). */
void fl_shm_unmap(struct fl_shm *m);

/* Unlinks path.  0, FL_ENOENT, FL_EIO. */
int fl_shm_unlink(const char *path);

#endif
