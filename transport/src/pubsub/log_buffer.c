/*
 * Log buffer append and read; see log_buffer.h.
 */
#include <string.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "log_buffer.h"

#define ALIGNF(x) (((x) + (FL_FRAME_ALIGN - 1)) & ~(uint64_t)(FL_FRAME_ALIGN - 1))

static inline uint64_t
frame_word(uint32_t len, uint32_t flags, uint32_t lap)
{
	return (uint64_t)(len & 0xffffffu) | ((uint64_t)(flags & 0xffu) << 24) |
	       ((uint64_t)lap << 32);
}

static inline uint64_t
frame_check(uint64_t word, uint64_t position)
{
	uint64_t x = word ^ (position * 0x9e3779b97f4a7c15ull) ^ 0x5bd1e9955bd1e995ull;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 29);
}

static inline void
frame_commit(const struct fli_log *l, uint64_t pos, uint32_t len, uint32_t flags)
{
	uint8_t *p = l->data + (pos & l->mask);
	uint64_t w = frame_word(len, flags, (uint32_t)(pos >> l->shift));

	*(uint64_t *)(p + 8) = frame_check(w, pos);
	__atomic_store_n((uint64_t *)p, w, __ATOMIC_RELEASE);
}

void
fli_log_format(void *mem, uint32_t capacity, uint32_t mtu, int32_t session_id, int32_t stream_id,
               bool exclusive, int64_t reg_id, uint64_t owner)
{
	struct fli_log_meta *m = mem;

	m->version = FL_LOG_VERSION;
	m->capacity = capacity;
	m->mtu = mtu;
	m->session_id = session_id;
	m->stream_id = stream_id;
	m->exclusive = exclusive;
	m->reg_id = reg_id;
	m->owner_client = owner;
	/* Start at position capacity so lap 0 never matches zeroed memory. */
	__atomic_store_n(&m->tail, (uint64_t)capacity, __ATOMIC_RELEASE);
	__atomic_store_n(&m->magic, FL_LOG_MAGIC, __ATOMIC_RELEASE);
}

int
fli_log_attach(struct fli_log *l, void *mem, size_t len)
{
	struct fli_log_meta *m = mem;
	uint32_t cap, mtu;

	if (len < FL_LOG_META_SIZE ||
	    __atomic_load_n(&m->magic, __ATOMIC_ACQUIRE) != FL_LOG_MAGIC ||
	    m->version != FL_LOG_VERSION)
		return FL_EPROTO;
	/* Each read once: the values checked are the values kept. */
	cap = __atomic_load_n(&m->capacity, __ATOMIC_RELAXED);
	mtu = __atomic_load_n(&m->mtu, __ATOMIC_RELAXED);
	if (cap < FL_LOG_MIN_CAP || cap > FL_LOG_MAX_CAP || (cap & (cap - 1)) != 0 ||
	    len < fli_log_file_length(cap) || mtu < 64 || mtu > 65536 || mtu > cap / 8 ||
	    (mtu % FL_FRAME_ALIGN) != 0)
		return FL_EPROTO;
	l->meta = m;
	l->data = (uint8_t *)mem + FL_LOG_META_SIZE;
	l->cap = cap;
	l->mask = cap - 1;
	l->shift = (unsigned)__builtin_ctzll(cap);
	l->max_payload = mtu - FL_FRAME_HEADER;
	l->max_message = cap / 8;
	return 0;
}

void
fli_log_appender_init(struct fli_log_appender *a, const struct fli_log *l, bool exclusive)
{
	a->log = *l;
	a->exclusive = exclusive;
	a->limit = 0;
	a->tail = __atomic_load_n(&l->meta->tail, __ATOMIC_ACQUIRE);
}

uint64_t
fli_log_min_position(const struct fli_log *l)
{
	uint64_t min = UINT64_MAX;
	int i;

	for (i = 0; i < FL_LOG_MAX_SUBS; i++) {
		const struct fli_log_slot *s = &l->meta->slots[i];

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == FL_SLOT_ACTIVE) {
			uint64_t p = __atomic_load_n(&s->position, __ATOMIC_ACQUIRE);

			if (p < min)
				min = p;
		}
	}
	return min;
}

/* Claims `total` bytes (aligned) contiguously; pads to the ring end first
 * when needed.  Returns the claim's start position or an FL_E* code. */
static int64_t
claim(struct fli_log_appender *a, uint64_t total)
{
	const struct fli_log *l = &a->log;
	struct fli_log_meta *m = l->meta;
	uint64_t tail, idx, to_end, pad, next;

	if (__builtin_expect(__atomic_load_n(&m->closed, __ATOMIC_RELAXED) != 0, 0))
		return FL_ECLOSED;
	if (__builtin_expect(__atomic_load_n(&m->subscriber_count, __ATOMIC_ACQUIRE) == 0, 0))
		return FL_ENOT_CONNECTED;
	FL_SCHED_POINT("pub.claim");
	tail = a->exclusive ? a->tail : __atomic_load_n(&m->tail, __ATOMIC_ACQUIRE);
	for (;;) {
		/* Off the frame grid only a wild writer puts it: a frame (or
		 * pad) header there could end past the ring. */
		if ((tail & (FL_FRAME_ALIGN - 1)) != 0)
			return FL_EPROTO;
		idx = tail & l->mask;
		to_end = l->cap - idx;
		pad = total > to_end ? to_end : 0;
		next = tail + pad + total;
		/* The cached limit is shared by the threads offering on one
		 * publication: relaxed atomics (a stale value only means a
		 * recomputation). */
		/* Acquire and release: a publisher sharing this appender
		 * writes up to a limit another one computed from the
		 * subscribers' positions; only this pairing orders the
		 * subscribers' reads of that space before its writes
		 * (ThreadSanitizer saw the relaxed pair race, 1 run in 6 of
		 * concurrent_publication under load). */
		if (next > __atomic_load_n(&a->limit, __ATOMIC_ACQUIRE)) {
			uint64_t min = fli_log_min_position(l), limit;

			if (min == UINT64_MAX)
				return FL_ENOT_CONNECTED;
			/* A tail more than a ring ahead of the slowest position
			 * (a position written back late by a subscriber that was
			 * just unlinked, or a wild word) is backpressure, never a
			 * write: the limit stays below the tail. */
			limit = min + l->cap - FL_FRAME_ALIGN;
			__atomic_store_n(&a->limit, limit, __ATOMIC_RELEASE);
			if (next > limit)
				return FL_EBACKPRESSURE;
		}
		if (a->exclusive) {
			a->tail = next;
			__atomic_store_n(&m->tail, next, __ATOMIC_RELEASE);
			break;
		}
		if (__atomic_compare_exchange_n(&m->tail, &tail, next, false, __ATOMIC_ACQ_REL,
		                                __ATOMIC_ACQUIRE))
			break;
	}
	/* The length field holds 24 bits: a longer pad is several frames. */
	for (uint64_t off = 0; off < pad; off += FL_FRAME_MAX_LENGTH)
		frame_commit(l, tail + off,
		             (uint32_t)(pad - off < FL_FRAME_MAX_LENGTH ? pad - off
		                                                        : FL_FRAME_MAX_LENGTH),
		             FL_FRAME_PAD);
	return (int64_t)(tail + pad);
}

int64_t
fli_log_offer(struct fli_log_appender *a, const void *buf, size_t len)
{
	const struct fli_log *l = &a->log;
	const uint8_t *src = buf;
	uint32_t mp = l->max_payload;
	uint64_t nfull, rem, total, pos;
	int64_t start;
	size_t off = 0;

	if (len > l->max_message)
		return FL_EMSGSIZE;
	if (len <= mp) {
		total = ALIGNF(FL_FRAME_HEADER + len);
		start = claim(a, total);
		if (start < 0)
			return start;
		if (len != 0)
			memcpy(l->data + ((uint64_t)start & l->mask) + FL_FRAME_HEADER, buf, len);
		frame_commit(l, (uint64_t)start, (uint32_t)(FL_FRAME_HEADER + len),
		             FL_FRAG_UNFRAGMENTED);
		return (int64_t)((uint64_t)start + total);
	}
	nfull = len / mp;
	rem = len % mp;
	total = nfull * ALIGNF(FL_FRAME_HEADER + mp) + (rem ? ALIGNF(FL_FRAME_HEADER + rem) : 0);
	start = claim(a, total);
	if (start < 0)
		return start;
	pos = (uint64_t)start;
	while (off < len) {
		size_t n = len - off > mp ? mp : len - off;
		uint32_t flags = 0;

		if (off == 0)
			flags |= FL_FRAG_BEGIN;
		if (off + n == len)
			flags |= FL_FRAG_END;
		memcpy(l->data + (pos & l->mask) + FL_FRAME_HEADER, src + off, n);
		frame_commit(l, pos, (uint32_t)(FL_FRAME_HEADER + n), flags);
		pos += ALIGNF(FL_FRAME_HEADER + n);
		off += n;
	}
	return (int64_t)pos;
}

int64_t
fli_log_try_claim(struct fli_log_appender *a, size_t len, struct fl_claim *c)
{
	const struct fli_log *l = &a->log;
	uint64_t total;
	int64_t start;

	if (len > l->max_payload)
		return FL_EMSGSIZE;
	total = ALIGNF(FL_FRAME_HEADER + len);
	start = claim(a, total);
	if (start < 0)
		return start;
	c->data = l->data + ((uint64_t)start & l->mask) + FL_FRAME_HEADER;
	c->length = len;
	c->frame_ = a;
	c->lap_ = 0;
	c->frame_length_ = (uint32_t)(FL_FRAME_HEADER + len);
	/* The position lives in data - header: recompute from it on commit. */
	return (int64_t)((uint64_t)start + total);
}

static int
claim_finish(struct fl_claim *c, uint32_t flags)
{
	struct fli_log_appender *a = c->frame_;
	const struct fli_log *l;
	uint64_t idx, tail, pos;

	if (a == NULL)
		return FL_EINVAL;
	l = &a->log;
	idx = (uint64_t)(c->data - FL_FRAME_HEADER - l->data);
	/* The claim is within one capacity behind the tail: rebuild its
	 * position from the index. */
	tail = __atomic_load_n(&l->meta->tail, __ATOMIC_ACQUIRE);
	pos = (tail & ~l->mask) | idx;
	if (pos >= tail)
		pos -= l->cap;
	FL_SCHED_POINT("pub.commit");
	if (flags == FL_FRAME_PAD)
		frame_commit(l, pos, (uint32_t)ALIGNF(c->frame_length_), FL_FRAME_PAD);
	else
		frame_commit(l, pos, c->frame_length_, flags);
	c->frame_ = NULL;
	return 0;
}

int
fl_claim_commit(struct fl_claim *c)
{
	return c == NULL ? FL_EINVAL : claim_finish(c, FL_FRAG_UNFRAGMENTED);
}

int
fl_claim_abort(struct fl_claim *c)
{
	return c == NULL ? FL_EINVAL : claim_finish(c, FL_FRAME_PAD);
}

int
fli_log_read(const struct fli_log *l, uint64_t *position, int32_t session_id, fl_fragment_handler h,
             void *clientd, int limit)
{
	int ends;

	return fli_log_read_ends(l, position, session_id, h, clientd, limit, &ends);
}

int
fli_log_read_ends(const struct fli_log *l, uint64_t *position, int32_t session_id,
                  fl_fragment_handler h, void *clientd, int limit, int *ends)
{
	uint64_t pos = *position;
	int n = 0, rc = 0, e = 0;
	struct fl_header hdr;

	hdr.session_id = session_id;
	hdr.stream_id = l->meta->stream_id;
	/* Positions start on the frame grid (the image's first one is read
	 * from shared memory): off it, a frame header could end past the
	 * ring. */
	if ((pos & (FL_FRAME_ALIGN - 1)) != 0)
		return FL_EPROTO;
	while (n < limit) {
		uint64_t idx = pos & l->mask;
		const uint8_t *p = l->data + idx;
		uint64_t w = __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
		uint32_t len = (uint32_t)(w & 0xffffffu);
		uint32_t flags = (uint32_t)(w >> 24) & 0xffu;
		uint64_t alen;

		if (len == 0 || (uint32_t)(w >> 32) != (uint32_t)(pos >> l->shift) ||
		    *(const uint64_t *)(p + 8) != frame_check(w, pos))
			break;
		alen = ALIGNF((uint64_t)len);
		if (len < FL_FRAME_HEADER || alen > l->cap - idx) {
			rc = FL_EPROTO;
			break;
		}
		pos += alen;
		if (flags & FL_FRAME_PAD)
			continue;
		hdr.position = (int64_t)pos;
		hdr.flags = flags;
		hdr.frame_length = len;
		h(clientd, p + FL_FRAME_HEADER, len - FL_FRAME_HEADER, &hdr);
		n++;
		e += (flags & FL_FRAG_END) != 0;
	}
	*position = pos;
	*ends = e;
	return rc != 0 ? rc : n;
}
