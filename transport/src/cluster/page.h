/*
 * A node's status page: one small file in its driver's run directory,
 * node-<id>.stat, that the node rewrites as its state changes and any
 * process of the same user reads (faultline-stat's per-node view,
 * fl_cluster_nodes_read).  It holds what fl_cluster_node_status says,
 * the node's pid, and when it last wrote.
 *
 * Written under a sequence word: odd while the node writes, and copied
 * into a tail word once the write is done.  A reader takes a snapshot
 * (pread, never a mapping: the writer could be another user's process)
 * and keeps it only when the sequence is even and equals the tail; a few
 * tries, then FL_EAGAIN.  The node unlinks the page when it closes; a
 * killed node's page stays, with a pid that is gone, until the next life
 * of that node takes it over or the driver cleans its run directory
 * (node-<id>.stat is one of the transport's file names).
 */
#ifndef FLI_CLUSTER_PAGE_H
#define FLI_CLUSTER_PAGE_H

#include <stdint.h>

#include "faultline/cluster.h"
#include "shm.h"

#define FLI_PAGE_MAGIC   0x4547504e4c465446ull /* "FTFLNPGE" */
#define FLI_PAGE_VERSION 1u
#define FLI_PAGE_LEN     4096u

struct fli_page {
	uint64_t magic;
	uint32_t version;
	int32_t pid;
	uint64_t seq; /* odd while written */
	int32_t id, role, leader, members;
	uint64_t term, commit, applied, log_length, sessions, elections;
	uint64_t garbled, refused, dropped, state_hash, written_ns;
	uint64_t seq_tail; /* seq once the write is done */
};

/* The page's file name for node id: "node-<id>.stat". */
void fli_page_name(int id, char *buf, size_t len);

/* fli_page_open creates (or takes over from a dead life) node id's page
 * in the run directory dir and maps it.  0, or fli_shm's errors. */
int fli_page_open(const char *dir, int id, struct fli_shm *out);

/* fli_page_write publishes st (of a node of `members`) on the page. */
void fli_page_write(struct fli_shm *m, const struct fl_cluster_node_status *st, int members);

/* fli_page_close unmaps the page and, with unlink, removes its file. */
void fli_page_close(struct fli_shm *m, const char *dir, int id, int unlink);

/* fli_page_read decodes a snapshot of a page: 0, FL_EPROTO (not a page:
 * magic, version, a field out of range) or FL_EAGAIN (taken mid-write). */
int fli_page_read(const struct fli_page *p, struct fl_cluster_node_status *st, int32_t *pid);

#endif
