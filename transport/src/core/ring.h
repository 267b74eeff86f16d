/*
 * The two rings of the command-and-control segment.
 *
 * fli_mpsc: many producers (clients, any process), one consumer (driver).
 * A record is {int32 length, int32 type, payload}, 8-byte aligned.  A
 * producer claims space by CAS on the tail, stores -length, writes, then
 * commits by storing +length with release.  The consumer zeroes what it
 * consumed before moving the head, so a zero length means "claimed, not
 * started".  A record that stays unfinished (its producer died) is turned
 * into padding by fli_mpsc_unblock after a timeout.
 *
 * fli_bcast: one transmitter (driver), any number of receivers, each with
 * its own cursor.  A receiver that falls a whole buffer behind is lapped:
 * FL_ELAPPED, and it resumes from the latest record.
 *
 * Both live in caller-provided memory: capacity bytes of records followed
 * by a trailer (FL_RING_TRAILER bytes).  Every length read back from shared
 * memory is bounds-checked; garbage yields FL_EPROTO, never a wild access.
 * The index only one side moves (the MPSC head, the broadcast tail) is kept
 * in that side's own memory and only published to the shared copy, so a
 * wild writer cannot move it; an index the other side moves (the MPSC
 * tail) is checked against the capacity before any loop uses it.
 */
#ifndef FL_RING_H
#define FL_RING_H

#include <stddef.h>
#include <stdint.h>

#define FL_RING_TRAILER 256
#define FL_REC_HEADER   8
#define FL_REC_PAD      (-1)

struct fli_mpsc {
	uint8_t *buf;
	uint64_t cap;
	uint64_t mask;
	uint64_t *tail;      /* in shm */
	uint64_t *head;      /* in shm: the consumer's, published */
	uint64_t own_head;   /* consumer: the head, its own copy */
	uint64_t repairs;    /* consumer: shared indices found wild and put back */
	uint64_t stuck_head; /* consumer: head seen stuck since stuck_since */
	uint64_t stuck_since;
};

/* Attaches to mem (capacity a power of two >= 1 KiB, plus trailer).  With
 * zero_it the memory is zeroed (creator only). */
int fli_mpsc_init(struct fli_mpsc *r, void *mem, uint64_t capacity, int zero_it);

/* Writes one record.  0, FL_EMSGSIZE (len > capacity / 8), FL_EINVAL
 * (type <= 0), FL_EFULL, FL_EPROTO (the shared tail is misaligned: wild;
 * the consumer puts it back). */
int fli_mpsc_write(struct fli_mpsc *r, int32_t type, const void *payload, size_t len);

typedef void (*fl_ring_handler)(void *arg, int32_t type, const uint8_t *payload, size_t len);

/* Consumer: delivers up to limit records.  Returns records read (>= 0) or
 * FL_EPROTO when a record header is corrupt (the ring is then resynced to
 * the tail and the damaged span skipped) or the tail is wild (behind the
 * head, more than the capacity ahead or misaligned: the ring is emptied,
 * the tail put back to the head, and r->repairs counts it).  Work is
 * bounded by the capacity whatever the shared indices say. */
int fli_mpsc_read(struct fli_mpsc *r, fl_ring_handler h, void *arg, int limit);

/* Consumer: if the record at head has been unfinished for timeout_ns (by
 * now_ns), turn it into padding.  Returns 1 when it unblocked one. */
int fli_mpsc_unblock(struct fli_mpsc *r, uint64_t now_ns, uint64_t timeout_ns);

struct fli_bcast {
	uint8_t *buf;
	uint64_t cap;
	uint64_t mask;
	uint64_t *tail_intent;
	uint64_t *tail;
	uint64_t *latest;
	uint64_t own_tail; /* transmitter: the tail, its own copy */
};

int fli_bcast_init(struct fli_bcast *b, void *mem, uint64_t capacity, int zero_it);

/* Transmitter: 0, FL_EINVAL, FL_EMSGSIZE (len > capacity / 8). */
int fli_bcast_transmit(struct fli_bcast *b, int32_t type, const void *payload, size_t len);

struct fli_bcast_rx {
	struct fli_bcast *b;
	uint64_t cursor;
	uint64_t lapped; /* times lapped */
	uint8_t *scratch;
	size_t scratch_len;
};

/* Receiver starting at the current tail; scratch holds one record. */
void fli_bcast_rx_init(struct fli_bcast_rx *rx, struct fli_bcast *b, uint8_t *scratch,
                       size_t scratch_len);

/* Receives up to limit records.  Returns count, FL_ELAPPED (records were
 * lost; the cursor moved to the latest) or FL_EPROTO (a corrupt record, or
 * a cursor a wild tail left ahead of the tail or off the record grid: the
 * cursor moved to the latest record). */
int fli_bcast_receive(struct fli_bcast_rx *rx, fl_ring_handler h, void *arg, int limit);

#endif
