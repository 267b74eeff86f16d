/*
 * A node's durable state: its term and vote, and its log, in files of its
 * own (a directory per node, under the run directory or wherever the node
 * is told).
 *
 *   state  two 32-byte slots, written in turn; each holds a sequence
 *          number, the term and the vote under a CRC-32C, so a write
 *          torn by a kill leaves the other slot whole.  The valid slot
 *          with the higher sequence is the state.
 *   log    records of a 24-byte header (magic, type, length, term,
 *          CRC-32C of type, length, term and data) and the data.  A record
 *          is written in two parts (a kill between them is a torn
 *          append); on open, the first record that is short or fails its
 *          check ends the log, and the file is cut there.
 *
 * A write returns once the bytes are in the file (the page cache outlives
 * a killed process); with sync, once fdatasync has returned.  While
 * fl_run_dirs_in_memory is on (a sim run), the directory and its files are
 * kept in this process's memory instead, with the same contents a write
 * at a time: a node killed and opened again in the run finds what its
 * last life wrote, torn records included.  The store
 * has no fault points of its own: the node that calls it puts them where
 * a scenario can reach them.
 */
#ifndef FLI_STORE_H
#define FLI_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "raft.h"

/* One of a node's files: the kernel's (fd), or one kept in this
 * process's memory (m: fl_run_dirs_in_memory was on at the open). */
struct fli_store_mfile;
struct fli_store_file {
	int fd;
	struct fli_store_mfile *m;
};

struct fli_store {
	int dir_fd;
	struct fli_store_file state, log;
	bool sync;
	uint64_t state_seq;
	uint64_t *offsets; /* offsets[i]: where index i + 1 starts */
	uint64_t n, cap;
	uint64_t end; /* the log file's length */
};

/* What fli_store_open found. */
struct fli_store_loaded {
	uint64_t term;
	int32_t voted_for;
	struct fli_raft_entry *log; /* n entries, each's data malloc'd */
	uint64_t n;
	uint64_t torn_bytes; /* cut off the log's end */
	bool state_torn;     /* one state slot failed its check */
};

/* fli_store_open opens (creating, mode 0700) the directory dir and its
 * files, and loads what they hold into *out (free with
 * fli_store_loaded_free).  Returns 0, FL_EIO, FL_EPERM (dir is a link or
 * not a directory), FL_ENOMEM. */
int fli_store_open(struct fli_store *s, const char *dir, bool sync, struct fli_store_loaded *out);

void fli_store_loaded_free(struct fli_store_loaded *l);

/* fli_store_save_state makes (term, voted_for) durable.  0 or FL_EIO. */
int fli_store_save_state(struct fli_store *s, uint64_t term, int32_t voted_for);

/* fli_store_put_entry makes e durable at index (1..n + 1), dropping every
 * record at index and above first.  0, FL_EINVAL, FL_EIO or FL_ENOMEM. */
int fli_store_put_entry(struct fli_store *s, uint64_t index, const struct fli_raft_entry *e);

/* fli_store_close closes the files (they stay). */
void fli_store_close(struct fli_store *s);

/* fli_store_remove removes dir's files and dir itself.  0 or FL_EIO. */
int fli_store_remove(const char *dir);

/* For tests: writes len bytes at off into dir's file name ("state" or
 * "log"), or with buf NULL cuts it to off bytes, on the backend the
 * store would open it on.  0, FL_ENOENT, FL_EIO. */
int fli_store_file_poke(const char *dir, const char *name, uint64_t off, const void *buf,
                        size_t len);

/* For tests: reads up to len bytes at off of dir's file name into buf,
 * and its length into *size.  0, FL_ENOENT, FL_EIO. */
int fli_store_file_peek(const char *dir, const char *name, uint64_t off, void *buf, size_t len,
                        uint64_t *size);

/* CRC-32C (Castagnoli) of buf, continuing from crc (0 to start). */
uint32_t fli_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
