/*
 * MPSC command ring and broadcast buffer; see ring.h.
 */
#include <string.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "fli_impl.h"
#include "ring.h"

#define ALIGN8(x) (((x) + 7u) & ~(uint64_t)7u)

static int
is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static int32_t
load_len(const uint8_t *p)
{
	return __atomic_load_n((const int32_t *)p, __ATOMIC_ACQUIRE);
}

static void
store_len(uint8_t *p, int32_t v)
{
	__atomic_store_n((int32_t *)p, v, __ATOMIC_RELEASE);
}

/* What both rings' init does first: checks capacity (a power of two, at
 * least 1 KiB), zeroes the data and the trailer when zero_it, and sets
 * the ring's buf, cap and mask.  0, or FL_EINVAL with nothing set. */
static int
ring_attach(uint8_t *m, uint64_t capacity, int zero_it, uint8_t **buf, uint64_t *cap,
            uint64_t *mask)
{
	if (!is_pow2(capacity) || capacity < 1024)
		return FL_EINVAL;
	if (zero_it)
		memset(m, 0, capacity + FL_RING_TRAILER);
	*buf = m;
	*cap = capacity;
	*mask = capacity - 1;
	return 0;
}

int
fli_mpsc_init(struct fli_mpsc *r, void *mem, uint64_t capacity, int zero_it)
{
	uint8_t *m = mem;

	if (ring_attach(m, capacity, zero_it, &r->buf, &r->cap, &r->mask) != 0)
		return FL_EINVAL;
	r->tail = (uint64_t *)(m + capacity);
	r->head = (uint64_t *)(m + capacity + 128);
	r->own_head = __atomic_load_n(r->head, __ATOMIC_ACQUIRE);
	r->repairs = 0;
	r->stuck_head = UINT64_MAX;
	r->stuck_since = 0;
	return 0;
}

int
fli_mpsc_write(struct fli_mpsc *r, int32_t type, const void *payload, size_t len)
{
	uint64_t required, head, tail, idx, to_end, pad;
	int32_t rec_len;
	uint8_t *p;

	if (type <= 0)
		return FL_EINVAL;
	if (len > r->cap / 8)
		return FL_EMSGSIZE;
	rec_len = (int32_t)(len + FL_REC_HEADER);
	required = ALIGN8((uint64_t)rec_len);
	if (FL_FAULT("transport/cmd/ring_full"))
		return FL_EFULL;
	FL_SCHED_POINT("cmd.ring.claim");
	tail = __atomic_load_n(r->tail, __ATOMIC_ACQUIRE);
	for (;;) {
		if ((tail & 7u) != 0)
			return FL_EPROTO; /* off the record grid: only a wild writer */
		head = __atomic_load_n(r->head, __ATOMIC_ACQUIRE);
		idx = tail & r->mask;
		to_end = r->cap - idx;
		pad = required > to_end ? to_end : 0;
		if (tail - head + required + pad > r->cap)
			return FL_EFULL;
		if (__atomic_compare_exchange_n(r->tail, &tail, tail + pad + required, false,
		                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
	}
	if (pad != 0) {
		p = r->buf + idx;
		*(int32_t *)(p + 4) = FL_REC_PAD;
		store_len(p, (int32_t)pad);
		idx = 0;
	}
	p = r->buf + idx;
	store_len(p, -rec_len);
	*(int32_t *)(p + 4) = type;
	if (len != 0)
		memcpy(p + FL_REC_HEADER, payload, len);
	FL_SCHED_POINT("cmd.ring.commit");
	store_len(p, rec_len);
	return 0;
}

/* Zero [from, to) of the ring (positions), in at most two pieces; a span
 * longer than the ring zeroes the ring once. */
static void
zero_span(struct fli_mpsc *r, uint64_t from, uint64_t to)
{
	if (to - from >= r->cap) {
		memset(r->buf, 0, r->cap);
		return;
	}
	while (from < to) {
		uint64_t idx = from & r->mask;
		uint64_t n = r->cap - idx;

		if (n > to - from)
			n = to - from;
		memset(r->buf + idx, 0, n);
		from += n;
	}
}

/*
 * The head is the consumer's: its own copy is the truth and a shared copy
 * that differs is put back.  The tail is the producers': a tail behind the
 * head, more than a ring ahead of it or off the 8-byte grid is wild (no
 * producer can put it there), and the ring is given back empty: zeroed
 * once, whatever span the tail claims, and the tail set back to the head
 * (a producer that claimed meanwhile moved it: the next read looks again).
 */
static bool
repair_indices(struct fli_mpsc *r, uint64_t head, uint64_t *tail)
{
	uint64_t t = *tail;

	if (__atomic_load_n(r->head, __ATOMIC_RELAXED) != head) {
		__atomic_store_n(r->head, head, __ATOMIC_RELEASE);
		r->repairs++;
	}
	if (t - head <= r->cap && (t & 7u) == 0)
		return false;
	memset(r->buf, 0, r->cap);
	(void)__atomic_compare_exchange_n(r->tail, &t, head, false, __ATOMIC_ACQ_REL,
	                                  __ATOMIC_ACQUIRE);
	r->stuck_head = UINT64_MAX;
	r->repairs++;
	*tail = head;
	return true;
}

int
fli_mpsc_read(struct fli_mpsc *r, fl_ring_handler h, void *arg, int limit)
{
	uint64_t head = r->own_head;
	uint64_t tail = __atomic_load_n(r->tail, __ATOMIC_ACQUIRE);
	uint64_t pos = head;
	int n = 0, rc = 0;

	if (repair_indices(r, head, &tail))
		return FL_EPROTO;
	while (n < limit && pos < tail) {
		uint64_t idx = pos & r->mask;
		uint8_t *p = r->buf + idx;
		int32_t len = load_len(p);
		int32_t type;
		uint64_t alen;

		if (len <= 0)
			break;
		type = *(int32_t *)(p + 4);
		alen = ALIGN8((uint64_t)len);
		if ((uint64_t)len < FL_REC_HEADER || alen > r->cap - idx || alen > tail - pos) {
			/* Corrupt header: skip everything written so far. */
			pos = tail;
			rc = FL_EPROTO;
			break;
		}
		pos += alen;
		if (type != FL_REC_PAD) {
			h(arg, type, p + FL_REC_HEADER, (size_t)len - FL_REC_HEADER);
			n++;
		}
	}
	/* The consumer's head never passes the tail it read (checked by
	 * repair_indices and every record's length above). */
	FLI_ASSERT(head <= pos && pos <= tail && pos - head <= r->cap);
	if (pos != head) {
		zero_span(r, head, pos);
		r->own_head = pos;
		__atomic_store_n(r->head, pos, __ATOMIC_RELEASE);
		r->stuck_head = UINT64_MAX;
	}
	return rc != 0 ? rc : n;
}

int
fli_mpsc_unblock(struct fli_mpsc *r, uint64_t now_ns, uint64_t timeout_ns)
{
	uint64_t head = r->own_head;
	uint64_t tail = __atomic_load_n(r->tail, __ATOMIC_ACQUIRE);
	uint64_t idx, end;
	uint8_t *p;
	int32_t len;

	if (head >= tail || tail - head > r->cap) {
		r->stuck_head = UINT64_MAX;
		return 0;
	}
	p = r->buf + (head & r->mask);
	len = load_len(p);
	if (len > 0)
		return 0;
	if (r->stuck_head != head) {
		r->stuck_head = head;
		r->stuck_since = now_ns;
		return 0;
	}
	if (now_ns - r->stuck_since < timeout_ns)
		return 0;
	idx = head & r->mask;
	if (len < 0 && ALIGN8((uint64_t)(-(int64_t)len)) <= r->cap - idx &&
	    ALIGN8((uint64_t)(-(int64_t)len)) <= tail - head) {
		*(int32_t *)(p + 4) = FL_REC_PAD;
		store_len(p, (int32_t)ALIGN8((uint64_t)(-(int64_t)len)));
	} else {
		/* Claimed but never started: the claimed span is all zero up to
		 * the next record's header. */
		end = idx + 8;
		while (end < r->cap && head + (end - idx) < tail &&
		       __atomic_load_n((int64_t *)(r->buf + end), __ATOMIC_ACQUIRE) == 0)
			end += 8;
		*(int32_t *)(p + 4) = FL_REC_PAD;
		store_len(p, (int32_t)(end - idx));
	}
	r->stuck_head = UINT64_MAX;
	return 1;
}

/* ---- broadcast ------------------------------------------------------ */

int
fli_bcast_init(struct fli_bcast *b, void *mem, uint64_t capacity, int zero_it)
{
	uint8_t *m = mem;

	if (ring_attach(m, capacity, zero_it, &b->buf, &b->cap, &b->mask) != 0)
		return FL_EINVAL;
	b->tail_intent = (uint64_t *)(m + capacity);
	b->tail = (uint64_t *)(m + capacity + 64);
	b->latest = (uint64_t *)(m + capacity + 128);
	b->own_tail = __atomic_load_n(b->tail, __ATOMIC_ACQUIRE) & ~(uint64_t)7u;
	return 0;
}

int
fli_bcast_transmit(struct fli_bcast *b, int32_t type, const void *payload, size_t len)
{
	uint64_t tail = b->own_tail; /* ours: the shared copy only publishes it */
	uint64_t required, idx, to_end;
	int32_t rec_len;
	uint8_t *p;

	if (type <= 0)
		return FL_EINVAL;
	if (len > b->cap / 8)
		return FL_EMSGSIZE;
	rec_len = (int32_t)(len + FL_REC_HEADER);
	required = ALIGN8((uint64_t)rec_len);
	idx = tail & b->mask;
	to_end = b->cap - idx;
	if (required > to_end) {
		__atomic_store_n(b->tail_intent, tail + to_end + required, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		p = b->buf + idx;
		*(int32_t *)(p + 4) = FL_REC_PAD;
		store_len(p, (int32_t)to_end);
		tail += to_end;
		idx = 0;
	} else {
		__atomic_store_n(b->tail_intent, tail + required, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	p = b->buf + idx;
	*(int32_t *)(p + 4) = type;
	if (len != 0)
		memcpy(p + FL_REC_HEADER, payload, len);
	store_len(p, rec_len);
	b->own_tail = tail + required;
	__atomic_store_n(b->latest, tail, __ATOMIC_RELEASE);
	__atomic_store_n(b->tail, tail + required, __ATOMIC_RELEASE);
	return 0;
}

void
fli_bcast_rx_init(struct fli_bcast_rx *rx, struct fli_bcast *b, uint8_t *scratch,
                  size_t scratch_len)
{
	rx->b = b;
	rx->cursor = __atomic_load_n(b->tail, __ATOMIC_ACQUIRE);
	rx->lapped = 0;
	rx->scratch = scratch;
	rx->scratch_len = scratch_len;
}

/* Where a receiver resumes: the latest record, if it lies within the
 * ring behind the tail on the record grid, else the tail. */
static uint64_t
resume_at(struct fli_bcast *b)
{
	uint64_t tail = __atomic_load_n(b->tail, __ATOMIC_ACQUIRE);
	uint64_t latest = __atomic_load_n(b->latest, __ATOMIC_ACQUIRE);

	return latest <= tail && tail - latest <= b->cap && (latest & 7u) == 0 ? latest : tail;
}

int
fli_bcast_receive(struct fli_bcast_rx *rx, fl_ring_handler h, void *arg, int limit)
{
	struct fli_bcast *b = rx->b;
	int n = 0;

	while (n < limit) {
		uint64_t tail = __atomic_load_n(b->tail, __ATOMIC_ACQUIRE);
		uint64_t idx, alen, intent;
		int32_t len, type;
		uint8_t *p;

		if (rx->cursor > tail || (rx->cursor & 7u) != 0) {
			/* Only a wild tail (since put back) leaves a cursor there. */
			rx->cursor = resume_at(b);
			return FL_EPROTO;
		}
		if (rx->cursor == tail)
			break;
		if (tail - rx->cursor > b->cap || FL_FAULT("transport/bcast/lapped"))
			goto lapped;
		idx = rx->cursor & b->mask;
		p = b->buf + idx;
		len = load_len(p);
		type = *(int32_t *)(p + 4);
		alen = ALIGN8((uint64_t)(uint32_t)len);
		if (len < FL_REC_HEADER || alen > b->cap - idx)
			goto check; /* maybe overwritten under us; else corrupt */
		if ((size_t)len - FL_REC_HEADER > rx->scratch_len)
			goto check;
		memcpy(rx->scratch, p + FL_REC_HEADER, (size_t)len - FL_REC_HEADER);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		intent = __atomic_load_n(b->tail_intent, __ATOMIC_ACQUIRE);
		if (intent - rx->cursor > b->cap)
			goto lapped;
		rx->cursor += alen;
		if (type != FL_REC_PAD) {
			h(arg, type, rx->scratch, (size_t)len - FL_REC_HEADER);
			n++;
		}
		continue;
	check:
		intent = __atomic_load_n(b->tail_intent, __ATOMIC_ACQUIRE);
		if (intent - rx->cursor > b->cap)
			goto lapped;
		rx->cursor = __atomic_load_n(b->tail, __ATOMIC_ACQUIRE);
		return FL_EPROTO;
	lapped:
		rx->lapped++;
		rx->cursor = resume_at(b);
		return FL_ELAPPED;
	}
	return n;
}
