/*
 * Shared-memory segments under the run directory: the platform seam's shm
 * part.  Every create/map/truncate/unlink goes through here so fault points
 * transport/shm/... cover them all.  Module-to-module.
 *
 * A run directory sits in /dev/shm, where any user may create any name, so
 * it is trusted only through a descriptor: opened without following a link
 * and checked with fstat (a directory, mode 0700, owned by a uid the caller
 * accepts); segments are then opened relative to that descriptor, again
 * without following links, and checked the same way.
 *
 * The descriptor is held only for an operation, not for the life of a
 * driver or client (a process's descriptors are the harness's to count):
 * fli_shm_dir_close keeps the directory's identity, and fli_shm_dir_reopen
 * opens it again for the next operation and refuses anything at the path
 * that is not that same directory, still private and owned as before.
 */
#ifndef FL_SHM_H
#define FL_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fli_shm {
	void *addr; /* NULL when not mapped */
	size_t len;
};

/* A checked run directory: its identity, and a descriptor while open. */
struct fli_shm_dir {
	int fd; /* O_DIRECTORY descriptor, valid when open */
	bool open;
	uid_t uid; /* its owner */
	dev_t dev; /* identity, checked on every reopen */
	ino_t ino;
};

/* Creates dir (mode 0700) exclusively and opens it into *out.  FL_EEXIST if
 * anything exists at that path, FL_ENOSPC, FL_EIO. */
int fli_shm_dir_create(const char *dir, struct fli_shm_dir *out);

/* Opens an existing run directory without following a link and checks it:
 * a directory of mode 0700 owned by the effective uid or by also_uid
 * ((uid_t)-1: none).  FL_ENOENT, FL_EPERM (a link, not a directory, another
 * owner, another mode, or not accessible; why, when not NULL, gets a
 * sentence "is a symbolic link"), FL_EIO. */
int fli_shm_dir_open(const char *dir, uid_t also_uid, struct fli_shm_dir *out, char *why,
                     size_t whylen);

/* Opens the directory d was opened from (path) again: refused (FL_EPERM)
 * unless it is still that directory, owned by the same uid, mode 0700,
 * reached without following a link.  A no-op when d is open.  FL_ENOENT,
 * FL_EPERM, FL_EIO. */
int fli_shm_dir_reopen(const char *path, struct fli_shm_dir *d);

/* Closes the descriptor, keeping the identity for fli_shm_dir_reopen (safe
 * on a zeroed or closed struct). */
void fli_shm_dir_close(struct fli_shm_dir *d);

/* Is name a file the transport creates in a run directory (cnc.dat,
 * cnc.dat.new, pub-<id>.log, chunks.dat, ports.dat, node-<id>.stat)?  Nothing else is
 * ever unlinked. */
bool fli_shm_run_file(const char *name);

/* Unlinks the transport's files (fli_shm_run_file) in the open directory d,
 * then, when rmdir_path is not NULL and still names d, removes the
 * directory.  Anything else is left, and with it the directory: FL_EEXIST,
 * the first such name copied into other (when not NULL).  0, FL_EEXIST,
 * FL_EIO. */
int fli_shm_dir_clean(const struct fli_shm_dir *d, const char *rmdir_path, char *other,
                      size_t otherlen);

/* Removes the run directory dir: fli_shm_dir_open (owned by the effective
 * uid), then fli_shm_dir_clean.  0, FL_ENOENT, FL_EPERM, FL_EEXIST, FL_EIO. */
int fli_shm_dir_remove(const char *dir);

/* Number of entries in dir (>= 0) or FL_ENOENT/FL_EIO.  For tests. */
int fli_shm_dir_count(const char *dir);

/* Creates name in d exclusively (0600), reserves len bytes of /dev/shm for
 * it and maps it rw, zero-filled.  The reservation is what keeps a full or
 * small /dev/shm from killing the process with SIGBUS on the first touch of
 * an unbacked page: FL_ENOSPC instead.  On failure nothing is left behind.
 * FL_EEXIST, FL_ENOSPC, FL_EIO. */
int fli_shm_create_at(const struct fli_shm_dir *d, const char *name, size_t len,
                      struct fli_shm *out);

/* Renames from to to in d, never replacing a file at to: how a file
 * written whole is published under the name readers open.  FL_EEXIST,
 * FL_ENOENT, FL_EIO. */
int fli_shm_rename_at(const struct fli_shm_dir *d, const char *from, const char *to);

/* Maps the existing regular file name in d (not a link, owned by d's
 * owner); its size must be >= min_len.  FL_ENOENT, FL_EPERM, FL_EIO,
 * FL_EPROTO (too small). */
int fli_shm_map_at(const struct fli_shm_dir *d, const char *name, bool writable, size_t min_len,
                   struct fli_shm *out);

/* fli_shm_read_at copies the first len bytes of file `name` in d (a
 * regular file owned by d's uid, not a link) into buf with pread: a
 * snapshot no writer can change and no truncation can turn into a SIGBUS.
 * *file_len (may be NULL) gets the file's size.  FL_ENOENT, FL_EPERM,
 * FL_EPROTO (shorter than len), FL_EIO. */
int fli_shm_read_at(const struct fli_shm_dir *d, const char *name, void *buf, size_t len,
                    size_t *file_len);

/*
 * Segments by path.  The request/response segments (chunks.dat, ports.dat)
 * sit in whatever directory fl_chunk_pool_create or fl_rr_domain_create is
 * given, not only in a checked run directory, so they are created and
 * mapped by path; the file itself is checked the same way.  Only the
 * unlink carries a fault point: the callers consult their own before a
 * create or a map (transport/chunk/segment, transport/port/map, ...).
 * why (may be NULL) gets a sentence on failure ("create: File exists").
 */

/* fli_shm_create_at by path: creates path exclusively (0600, not through a
 * link), reserves len bytes and maps it rw, zero-filled.  On failure
 * nothing is left behind.  FL_EEXIST, FL_ENOENT, FL_ENOSPC, FL_EIO. */
int fli_shm_create(const char *path, size_t len, struct fli_shm *out, char *why, size_t whylen);

/* fli_shm_map_at by path: the file must be a regular file owned by the
 * effective uid, not a link, of at least min_len bytes and not empty.
 * FL_ENOENT, FL_EPERM, FL_EPROTO, FL_EIO. */
int fli_shm_map(const char *path, bool writable, size_t min_len, struct fli_shm *out, char *why,
                size_t whylen);

/* Unlinks path (fault point transport/shm/unlink).  0, FL_ENOENT, FL_EIO. */
int fli_shm_unlink(const char *path);

/* Unmaps (safe on a zeroed struct). */
void fli_shm_unmap(struct fli_shm *m);

/* Where a scan of a whole table reads (and, when write, writes) the len
 * bytes at addr, which lie in a live mapping of this process's: the same
 * bytes, through the in-memory backend's own mapping of the file.  No
 * unmap ever closes that one, so a scan does not fault in, page by page,
 * a mapping closed and reopened since (about 3 us a page on the virtual
 * machines CI runs on, most of a short sim run).  addr itself on
 * /dev/shm, and whenever addr is not in a live mapping (writable, when
 * write) of an in-memory file: a stale pointer still faults there.
 * A view is good until the caller's next scheduling point (another actor
 * may unmap meanwhile, and the view would not fault): a scan that passes
 * one takes its view again. */
void *fli_shm_view(void *addr, size_t len, bool write);

/* Unlinks name in d.  0, FL_ENOENT, FL_EIO. */
int fli_shm_unlink_at(const struct fli_shm_dir *d, const char *name);

/* fli_shm_unlink_at without the fault point: for a file whose removal
 * failing is no leak (a node's status page, taken over by its next
 * life). */
int fli_shm_unlink_at_quiet(const struct fli_shm_dir *d, const char *name);

#endif
