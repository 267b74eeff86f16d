/*
 * The chunk segment's layout and the helpers reqrep.c uses to route chunks
 * (ownership transfer, routing fields).  Private to src/reqrep.
 */
#ifndef FL_CHUNK_POOL_H
#define FL_CHUNK_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "faultline/chunk.h"

#define CP_MAGIC   0x464c434bu /* "FLCK" */
#define CP_VERSION 5u          /* 5: a header's mark, where it named its class */

struct fli_cp_class {
	uint32_t chunk_size;
	uint32_t count;
	uint32_t first; /* global index of the class's first chunk */
	uint32_t pad;
	uint64_t data_off;           /* offset of the class's payload area */
	_Atomic uint32_t last_freed; /* position of the chunk freed last, by anyone */
	uint32_t pad1;
	_Atomic uint64_t loans;
	_Atomic uint64_t releases;
	_Atomic uint64_t exhausted;
	_Atomic uint64_t stale;
	_Atomic uint64_t reclaimed;
};

/*
 * The segment's header.  Its layout fields (n_classes, total, seg_size,
 * hdr_off and each class's chunk_size, count, first, data_off) are read
 * once, validated, when a process maps the segment, and kept in that
 * process's struct fl_chunk_pool: any process can write them here, so
 * they are never read back.  The creator (the driver) puts them back when
 * they change (fli_cp_repair).
 */
struct fli_cp_seg {
	uint32_t magic;
	uint32_t version;
	uint32_t n_classes;
	uint32_t total; /* chunks over all classes */
	uint64_t seg_size;
	uint64_t hdr_off; /* offset of the chunk header array */
	struct fli_cp_class cls[FL_CHUNK_MAX_CLASSES];
	_Atomic uint64_t corrupt; /* wild words refused with FL_EPROTO, by anyone */
	/* FNV-1a over the layout's words (n_classes, total, seg_size,
	 * hdr_off, then each class's chunk_size, count, first, data_off):
	 * an opener refuses a layout that does not match it, so a stray
	 * write to a layout word is not taken for a layout before the
	 * driver's repair puts it back.  (Up to version 4 each chunk header
	 * named its class, a check at every use that cost writing every
	 * header at creation.) */
	uint64_t layout_sum;
};

/*
 * One per chunk, 64 bytes, in the header array.
 *
 * A chunk is free when its owner word is 0 (and then its refcount is 0).
 * A loan takes it by one CAS of the owner word from 0 to the loaner, then
 * sets refcount 1; the last release sets refcount 0 (a new generation),
 * then owner 0.  So every state a process can die in is attributed to it:
 * owner X with refcount 0 is a loan or release that X did not finish, and
 * the reclaim of X frees it.  There is no free list to fall off.
 */
struct fli_cp_hdr {
	_Atomic uint64_t state; /* generation << 32 | refcount */
	_Atomic uint64_t owner; /* client id holding it (0: free) */
	uint32_t spare;
	/* 0.  A chunk's class comes from this process's own layout; any
	 * other value here is a stray write's, refused (FL_EPROTO, counted)
	 * and put back by the driver's repair.  Up to version 4 it named the
	 * class, so creating a pool wrote every header (145 pages of the
	 * default spec); a pool as created is all zero now. */
	uint32_t mark;
	_Atomic uint64_t seq;
	_Atomic uint32_t len;
	_Atomic uint32_t reply_port; /* request: client port index + 1 */
	_Atomic uint32_t reply_gen;
	_Atomic uint32_t dest_gen;    /* generation of the port it was sent to */
	_Atomic uint64_t deadline_ns; /* request: the server drops it after this */
	/* While a sender moves the chunk to a port (owner already the
	 * receiver, entry not yet taken): the sender's owner id.  0 otherwise;
	 * CP_SENDER_RECLAIMED once the reclaim of a dead sender took it back. */
	_Atomic uint64_t sender;
};

#define CP_SENDER_RECLAIMED UINT64_MAX

/* A class as this process validated it when it mapped the segment. */
struct fli_cp_layout {
	uint32_t chunk_size;
	uint32_t count;
	uint32_t first; /* global index of the class's first chunk */
	uint64_t data_off;
};

struct fl_chunk_pool {
	struct fli_cp_seg *seg; /* first (tests reach it) */
	size_t size;
	uint64_t owner;
	/* The layout, this process's own (see struct fli_cp_seg). */
	uint32_t n_classes;
	uint32_t total;
	struct fli_cp_hdr *hdrs;
	struct fli_cp_layout cls[FL_CHUNK_MAX_CLASSES];
	/* This process's own: where its next loan of each class starts
	 * looking (the chunk it freed last, or past the one it took last),
	 * so a process reuses chunks whose lines it touched last and
	 * processes do not share one hot word. */
	_Atomic uint32_t hint[FL_CHUNK_MAX_CLASSES];
};

/* Header of chunk `index`, or NULL if out of range. */
struct fli_cp_hdr *fli_cp_hdr(fl_chunk_pool *p, uint32_t index);

/* Counts a wild word of the segment this process refused (FL_EPROTO). */
void fli_cp_count_corrupt(fl_chunk_pool *p);

/* The creator's duty: puts back every layout field of the segment header
 * (and its sum) that differs from p's own copy, and every chunk header's
 * mark that is not 0.  Returns how many it put back. */
uint32_t fli_cp_repair(fl_chunk_pool *p);

/* Validates a queue entry (index, gen) read from shared memory and fills
 * *out from the chunk header.  FL_EPROTO (bad index), FL_ESTALE (freed or
 * reused since it was queued). */
int fli_cp_resolve(fl_chunk_pool *p, uint32_t index, uint32_t gen, fl_chunk *out);

/* Releases by (index, gen) without a full handle (drains, stale entries). */
int fli_cp_release_entry(fl_chunk_pool *p, uint32_t index, uint32_t gen);

/* Ends chunk h's transit from `sender` (its sender saw the push land, or a
 * receiver took it).  False if the sender's own take-back or the reclaim
 * of a dead sender got it first. */
static inline bool
fli_cp_transit_end(struct fli_cp_hdr *h, uint64_t sender)
{
	uint64_t want = sender;

	if (sender == 0)
		return true;
	if (sender == CP_SENDER_RECLAIMED)
		return false;
	return atomic_compare_exchange_strong(&h->sender, &want, 0) || want == 0;
}

/* Takes a queue entry (index, gen) popped from a queue: as fli_cp_resolve,
 * and ends the chunk's transit; FL_ESTALE when the chunk was freed or taken
 * back by its sender or a reclaim meanwhile. */
int fli_cp_take_entry(fl_chunk_pool *p, uint32_t index, uint32_t gen, fl_chunk *out);

/* The reclaim of a dead sender: every chunk it was moving to a port when it
 * died (sender == owner) that queued(arg, index, gen) does not find published
 * in a queue is taken back and freed; one found there is left to its
 * receiver.  Returns how many were freed. */
/* The driver's duty: frees every chunk whose owner word names no owner
 * held(arg, owner) knows (no live client: a wild write put it there, and
 * no reclaim by owner would ever free it), and every chunk with a
 * refcount and no owner (a wild write's too).  Returns how many. */
uint32_t fli_cp_reclaim_strays(fl_chunk_pool *p, bool (*held)(void *arg, uint64_t owner),
                               void *arg);

int fli_cp_reclaim_in_transit(fl_chunk_pool *p, uint64_t owner,
                              int (*queued)(void *arg, uint32_t index, uint32_t gen), void *arg);

#endif
