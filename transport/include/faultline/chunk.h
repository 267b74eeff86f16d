/*
 * Chunk pools: size classes of fixed-size payload chunks in one shared
 * segment (iceoryx-style loaned memory).
 *
 * The segment is created once (by the driver in the run directory, or by a
 * test given a path) from a spec string such as
 * "128:8192,4096:1024,1048576:16" (chunk_size:count, sizes ascending).  Any
 * process maps it with fl_chunk_pool_open.  Every chunk has a header in
 * shared memory: a state word (generation << 32 | refcount), the owning
 * client id, its size class, the sequence id and payload length.  The
 * generation changes on every release, so a stale or double release is
 * reported as FL_ESTALE instead of freeing someone else's chunk.
 *
 * Loan and release are lock-free and crash-consistent: a free chunk is one
 * with owner 0; a loan takes it by one compare-and-swap of the owner word,
 * then sets refcount 1; the last release sets refcount 0, then owner 0.  A
 * process killed at any instruction of either leaves the chunk attributed
 * to it, and fl_chunk_reclaim_owner gives it back.  Each process starts
 * its search where it last freed or took a chunk of that class, or, when
 * that one is taken, at the chunk freed last by anyone.
 */
#ifndef FAULTLINE_CHUNK_H
#define FAULTLINE_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_CHUNK_MAX_CLASSES 16
/* The default spec the driver uses when none is given. */
#define FL_CHUNK_DEFAULT_SPEC "128:8192,4096:1024,65536:64"

typedef struct fl_chunk_pool fl_chunk_pool;

/* A loaned chunk as its holder sees it: a value, copied freely; only one
 * copy may be released.  Written by the library on success only. */
typedef struct fl_chunk {
	void *data;          /* payload, `cap` bytes, in shared memory */
	uint32_t len;        /* payload length in use */
	uint32_t cap;        /* size class of the chunk */
	uint64_t seq;        /* request/response sequence id */
	uint32_t index;      /* global chunk index in the segment */
	uint32_t gen;        /* generation at loan time (checked on release) */
	uint32_t reply_port; /* request only: client port index + 1 */
	uint32_t reply_gen;  /* request only: that client port's generation */
} fl_chunk;

/* Per size-class gauges. */
struct fl_chunk_class_stats {
	uint32_t chunk_size;
	uint32_t total;
	uint32_t loaned;    /* chunks with a reference now (counted, not kept) */
	uint64_t loans;     /* loans since creation */
	uint64_t releases;  /* releases since creation (incl. reclaimed) */
	uint64_t exhausted; /* loans that failed with FL_EPOOL_EMPTY */
	uint64_t stale;     /* releases rejected with FL_ESTALE */
	uint64_t reclaimed; /* chunks reclaimed from dead owners */
};

struct fl_chunk_pool_stats {
	uint32_t n_classes;
	struct fl_chunk_class_stats cls[FL_CHUNK_MAX_CLASSES];
	uint64_t corrupt_rejected; /* wild words of the segment refused (FL_EPROTO), by anyone */
};

/* fl_chunk_pool_create creates the segment file `path` (mode 0600, must not
 * exist) from `spec` (NULL: FL_CHUNK_DEFAULT_SPEC) and maps it.  Errors:
 * FL_EINVAL (bad spec: message in fl_rr_errmsg()), FL_EEXIST, FL_ENOSPC
 * (no room in /dev/shm: the file is reserved when created), FL_EIO,
 * FL_ENOMEM.  The caller owns *out and closes it with fl_chunk_pool_close;
 * the file stays until fl_chunk_pool_unlink.  Not thread-safe against
 * other calls on the same path. */
int fl_chunk_pool_create(const char *path, const char *spec, fl_chunk_pool **out);

/* fl_chunk_spec_check checks a spec string as fl_chunk_pool_create would
 * parse it, without creating anything: 0 and, if bytes is not NULL, the
 * payload bytes its chunks add up to; FL_EINVAL with the reason in
 * fl_rr_errmsg().  Thread-safe. */
int fl_chunk_spec_check(const char *spec, uint64_t *bytes);

/* fl_chunk_pool_open maps an existing segment and validates its header.
 * `owner` (non-zero) is the client id recorded in every chunk this handle
 * loans.  Errors: FL_ENOENT, FL_EPERM (a link, not a regular file, or not
 * owned by this process's effective uid), FL_EPROTO (bad
 * magic/version/layout), FL_EIO, FL_ENOMEM, FL_EINVAL (owner 0). */
int fl_chunk_pool_open(const char *path, uint64_t owner, fl_chunk_pool **out);

/* fl_chunk_pool_set_owner changes the owner id recorded by later loans
 * (the creator's handle starts with owner 1).  Not thread-safe. */
void fl_chunk_pool_set_owner(fl_chunk_pool *p, uint64_t owner);

/* fl_chunk_pool_close unmaps; chunks still loaned stay loaned (reclaim
 * them by owner).  Safe on NULL. */
void fl_chunk_pool_close(fl_chunk_pool *p);

/* fl_chunk_pool_unlink removes the segment file.  0 or FL_EIO/FL_ENOENT. */
int fl_chunk_pool_unlink(const char *path);

/* fl_chunk_loan loans a chunk of the smallest size class that holds `len`
 * bytes.  With deadline_ns == 0 an empty class fails at once; otherwise the
 * call idles (fl_idle) until a chunk is released or the deadline
 * (fl_clock_now_ns time) passes.  Errors: FL_EMSGSIZE (no class is large
 * enough), FL_EPOOL_EMPTY, FL_EPROTO (corrupted shared memory),
 * FL_EFAULT_INJECTED.  On success *out is the caller's until released or
 * sent.  Thread-safe, lock-free, never blocks forever. */
int fl_chunk_loan(fl_chunk_pool *p, size_t len, uint64_t deadline_ns, fl_chunk *out);

/* fl_chunk_release drops the caller's reference.  The chunk returns to its
 * pool when the last reference goes.  Errors: FL_ESTALE (released twice or
 * the generation changed: nothing happens), FL_EPROTO (bad index).
 * Thread-safe, lock-free. */
int fl_chunk_release(fl_chunk_pool *p, const fl_chunk *c);

/* fl_chunk_reclaim_owner releases every chunk `owner` holds (a dead
 * client's), whatever its refcount, and every chunk it was in the middle of
 * loaning or releasing.  Returns the number reclaimed (>= 0).  Call only
 * when the owner can no longer touch the pool. */
int fl_chunk_reclaim_owner(fl_chunk_pool *p, uint64_t owner);

/* fl_chunk_pool_stats reads the gauges.  Thread-safe (a snapshot). */
void fl_chunk_pool_stats(fl_chunk_pool *p, struct fl_chunk_pool_stats *out);

/* fl_chunk_owner_loaned counts the chunks currently held by `owner`
 * (O(chunks) scan; for auditors and tests). */
uint32_t fl_chunk_owner_loaned(fl_chunk_pool *p, uint64_t owner);

#ifdef __cplusplus
}
#endif
#endif
