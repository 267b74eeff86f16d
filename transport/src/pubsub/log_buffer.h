/*
 * The log buffer of one publication: a metadata page then a power-of-two
 * ring of frames.  Positions are 64-bit and only grow; a frame at position
 * p sits at p & mask and belongs to lap p >> log2(capacity).
 *
 * Frame header (16 bytes, frames 16-byte aligned):
 *   u64 word  = length:24 | flags:8 | lap:32, stored last with release;
 *   u64 check = a function of (word, position) stored before it.
 * A reader sees a frame only when the word's lap is the position's lap and
 * the check matches, so stale bytes of an earlier lap (even user payload)
 * never pass for a frame and the ring needs no cleaning.
 *
 * A message above max_payload is cut into fragments that are all claimed at
 * once (a late joiner therefore starts at a message boundary); a claim that
 * would cross the end of the ring first pads to the end, in pad frames of
 * at most FL_FRAME_MAX_LENGTH (from a ring of 2^27 bytes on, whose largest
 * message is 2^24, a pad can be longer than the 24-bit length holds).  The
 * publisher may run at most capacity - 16 bytes ahead of the slowest active
 * subscriber slot (the reserve keeps ring cleanliness simple); the limit is
 * cached and rescanned only when reached.
 */
#ifndef FL_LOG_BUFFER_H
#define FL_LOG_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/client.h"

#define FL_LOG_MAGIC    0x464c4c4f47303031ull /* "FLLOG001" */
#define FL_LOG_VERSION  1u
#define FL_LOG_MAX_SUBS 64
#define FL_FRAME_HEADER 16u
#define FL_FRAME_ALIGN  16u
#define FL_FRAME_PAD    0x80u
/* The longest frame the 24-bit length holds, aligned: a longer pad is
 * written as several pad frames. */
#define FL_FRAME_MAX_LENGTH 0xfffff0u
#define FL_LOG_META_SIZE    8192u
#define FL_LOG_MIN_CAP      (64u * 1024u)
#define FL_LOG_MAX_CAP      (1u << 30)

enum { FL_SLOT_FREE = 0, FL_SLOT_ACTIVE = 1 };

struct fli_log_slot {
	uint64_t position; /* subscriber's next byte (subscriber writes) */
	uint32_t state;    /* FL_SLOT_*, driver writes */
	uint32_t pad_;
	uint64_t client_id;
	int64_t sub_reg_id;
	uint8_t pad2_[32];
} __attribute__((aligned(64)));

struct fli_log_meta {
	uint64_t magic;
	uint32_t version;
	uint32_t capacity;
	uint32_t mtu;
	int32_t session_id;
	int32_t stream_id;
	uint32_t exclusive;
	int64_t reg_id;
	uint64_t owner_client;
	uint32_t closed __attribute__((aligned(64))); /* driver: no more offers */
	uint32_t subscriber_count;                    /* driver: active slots */
	uint64_t tail __attribute__((aligned(64)));   /* publisher(s) */
	struct fli_log_slot slots[FL_LOG_MAX_SUBS];
};

_Static_assert(sizeof(struct fli_log_meta) <= FL_LOG_META_SIZE, "log meta too large");

/* Process-local view of a mapped log. */
struct fli_log {
	struct fli_log_meta *meta;
	uint8_t *data;
	uint64_t cap;
	uint64_t mask;
	unsigned shift;
	uint32_t max_payload;
	uint32_t max_message;
};

/* Initialises a freshly created (zeroed) log of capacity/mtu. */
void fli_log_format(void *mem, uint32_t capacity, uint32_t mtu, int32_t session_id,
                    int32_t stream_id, bool exclusive, int64_t reg_id, uint64_t owner);

/* Attaches a view to mapped memory of len bytes, validating the metadata.
 * 0 or FL_EPROTO. */
int fli_log_attach(struct fli_log *l, void *mem, size_t len);

static inline size_t
fli_log_file_length(uint32_t capacity)
{
	return (size_t)FL_LOG_META_SIZE + capacity;
}

/* Publisher side. */
struct fli_log_appender {
	struct fli_log log;
	bool exclusive;
	uint64_t limit; /* cached: may write below this position */
	uint64_t tail;  /* exclusive: own copy of meta->tail */
};

void fli_log_appender_init(struct fli_log_appender *a, const struct fli_log *l, bool exclusive);

/* Offer len bytes (fragmenting).  New position or FL_E* (FL_EPROTO: the
 * shared tail or a subscriber position is wild; nothing is written). */
int64_t fli_log_offer(struct fli_log_appender *a, const void *buf, size_t len);

/* Claim one frame of len <= max_payload. */
int64_t fli_log_try_claim(struct fli_log_appender *a, size_t len, struct fl_claim *claim);

/* Minimum position of active slots (UINT64_MAX when none). */
uint64_t fli_log_min_position(const struct fli_log *l);

/* Reader: deliver up to limit fragments from *position; advances it.
 * Returns fragments delivered or FL_EPROTO on a corrupt frame or a
 * position off the frame grid. */
int fli_log_read(const struct fli_log *l, uint64_t *position, int32_t session_id,
                 fl_fragment_handler h, void *clientd, int limit);

/* fli_log_read, and *ends: the messages whose last fragment it delivered
 * (what batched reads count, not fragments). */
int fli_log_read_ends(const struct fli_log *l, uint64_t *position, int32_t session_id,
                      fl_fragment_handler h, void *clientd, int limit, int *ends);

#endif
