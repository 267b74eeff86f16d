/*
 * The bounded MPMC queue of chunk references every port carries, shared
 * by every process that maps the port segment: see rr_queue.h for how it
 * stays usable when a producer or a consumer dies inside an operation,
 * or a wild write lands in it.
 */
#include <stdatomic.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "rr_internal.h"
#include "rr_queue.h"

void
fli_rr_queue_init(struct fli_rr_queue *q)
{
	for (uint32_t i = 0; i < RR_QUEUE_CAP; i++) {
		atomic_store_explicit(&q->cells[i].seq, fli_rr_seq_stored(i, i),
		                      memory_order_relaxed);
		atomic_store_explicit(&q->cells[i].val, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&q->enq, 0, memory_order_relaxed);
	atomic_store_explicit(&q->deq, 0, memory_order_release);
}

/* A cell whose producer claimed it and never published (it died between
 * the two) is marked a hole: seq = pos | RR_CELL_HOLE.  Consumers step
 * over holes; a producer whose publish finds its cell marked claims another.
 * Positions never reach bit 63. */
#define RR_CELL_HOLE (1ull << 63)

int
fli_rr_queue_push(struct fli_rr_queue *q, uint64_t v)
{
	uint64_t pos = atomic_load_explicit(&q->enq, memory_order_relaxed);

	for (;;) {
		uint64_t i = pos & (RR_QUEUE_CAP - 1);
		struct fli_rr_cell *c = &q->cells[i];
		uint64_t seq =
		        fli_rr_cell_seq(atomic_load_explicit(&c->seq, memory_order_acquire), i);
		int64_t dif = (int64_t)(seq - pos);

		if (seq & RR_CELL_HOLE) {
			/* A hole of an earlier lap not yet stepped over: full. */
			uint64_t now = atomic_load_explicit(&q->enq, memory_order_relaxed);
			if ((seq & ~RR_CELL_HOLE) < pos || now == pos)
				return FL_EFULL;
			pos = now;
		} else if (dif == 0) {
			if (fl_atomic_cas("rr.queue.enq.claimed", &q->enq, &pos, pos + 1,
			                  memory_order_relaxed, memory_order_relaxed)) {
				uint64_t claimed = fli_rr_seq_stored(pos, i);

				if (FL_FAULT("transport/rr/queue_publish")) {
					/* Claimed and never published: give the
					 * cell up as a hole, as the reclaim of a
					 * producer that died here would. */
					atomic_compare_exchange_strong(
					        &c->seq, &claimed,
					        fli_rr_seq_stored(pos | RR_CELL_HOLE, i));
					fli_rr_set_errmsg("queue push: injected fault");
					return FL_EFAULT_INJECTED;
				}
				atomic_store_explicit(&c->val, v, memory_order_relaxed);
				if (fl_atomic_cas("rr.queue.published", &c->seq, &claimed,
				                  fli_rr_seq_stored(pos + 1, i),
				                  memory_order_release, memory_order_relaxed))
					return 0;
				/* A reclaim took us for a dead producer: again. */
				pos = atomic_load_explicit(&q->enq, memory_order_relaxed);
			}
		} else if (dif < 0) {
			return FL_EFULL;
		} else {
			/* Another producer took pos.  If enq did not move, the
			 * cell is from a later lap than enq: corrupted. */
			uint64_t now = atomic_load_explicit(&q->enq, memory_order_relaxed);
			if (now == pos)
				return FL_EFULL;
			pos = now;
		}
	}
}

int
fli_rr_queue_pop(struct fli_rr_queue *q, uint64_t *v)
{
	uint64_t pos = atomic_load_explicit(&q->deq, memory_order_relaxed);

	for (;;) {
		uint64_t i = pos & (RR_QUEUE_CAP - 1);
		struct fli_rr_cell *c = &q->cells[i];
		uint64_t seq =
		        fli_rr_cell_seq(atomic_load_explicit(&c->seq, memory_order_acquire), i);
		int64_t dif = (int64_t)(seq - (pos + 1));

		if (seq == (pos | RR_CELL_HOLE)) {
			if (fl_atomic_cas("rr.queue.deq.claimed", &q->deq, &pos, pos + 1,
			                  memory_order_relaxed, memory_order_relaxed)) {
				fl_atomic_store("rr.queue.cell.freed", &c->seq,
				                fli_rr_seq_stored(pos + RR_QUEUE_CAP, i),
				                memory_order_release);
				pos++;
			}
		} else if (dif == 0) {
			/* Read before claiming: the value cannot change while the
			 * cell is published, and a consumer that dies after its
			 * claim leaves nothing half-read behind (fli_rr_queue_repair). */
			uint64_t val = atomic_load_explicit(&c->val, memory_order_relaxed);

			if (fl_atomic_cas("rr.queue.deq.claimed", &q->deq, &pos, pos + 1,
			                  memory_order_relaxed, memory_order_relaxed)) {
				fl_atomic_store("rr.queue.cell.freed", &c->seq,
				                fli_rr_seq_stored(pos + RR_QUEUE_CAP, i),
				                memory_order_release);
				*v = val;
				return 0;
			}
		} else if (dif < 0) {
			return FL_EAGAIN;
		} else {
			/* Another consumer took pos; if deq did not move, the
			 * cell is corrupted: nothing to take. */
			uint64_t now = atomic_load_explicit(&q->deq, memory_order_relaxed);
			if (now == pos)
				return FL_EAGAIN;
			pos = now;
		}
	}
}

uint32_t
fli_rr_queue_mark_holes(struct fli_rr_queue *q)
{
	uint64_t d = atomic_load_explicit(&q->deq, memory_order_acquire);
	uint64_t e = atomic_load_explicit(&q->enq, memory_order_acquire);
	uint32_t n = 0;

	for (uint64_t pos = d; pos < e && pos - d < RR_QUEUE_CAP; pos++) {
		uint64_t i = pos & (RR_QUEUE_CAP - 1);
		uint64_t claimed = fli_rr_seq_stored(pos, i);

		/* seq == pos below enq: claimed, not published. */
		if (atomic_compare_exchange_strong(&q->cells[i].seq, &claimed,
		                                   fli_rr_seq_stored(pos | RR_CELL_HOLE, i)))
			n++;
	}
	return n;
}

/* Is an entry published in q now (any entry when any is true, else the
 * entry v)?  Holes and claimed cells are not. */
static bool
find_published(struct fli_rr_queue *q, bool any, uint64_t v)
{
	uint64_t d = atomic_load_explicit(&q->deq, memory_order_acquire);
	uint64_t e = atomic_load_explicit(&q->enq, memory_order_acquire);

	for (uint64_t pos = d; pos < e && pos - d < RR_QUEUE_CAP; pos++) {
		uint64_t i = pos & (RR_QUEUE_CAP - 1);
		struct fli_rr_cell *c = &q->cells[i];

		if (fli_rr_cell_seq(atomic_load_explicit(&c->seq, memory_order_acquire), i) ==
		            pos + 1 &&
		    (any || atomic_load_explicit(&c->val, memory_order_relaxed) == v))
			return true;
	}
	return false;
}

bool
fli_rr_queue_contains(struct fli_rr_queue *q, uint64_t v)
{
	return find_published(q, false, v);
}

bool
fli_rr_queue_any_published(struct fli_rr_queue *q)
{
	return find_published(q, true, 0);
}

uint32_t
fli_rr_queue_repair(struct fli_rr_queue *q)
{
	uint64_t d = atomic_load_explicit(&q->deq, memory_order_acquire);
	uint32_t n = 0;

	for (uint64_t pos = d >= RR_QUEUE_CAP ? d - RR_QUEUE_CAP : 0; pos < d; pos++) {
		uint64_t i = pos & (RR_QUEUE_CAP - 1);
		uint64_t taken = fli_rr_seq_stored(pos + 1, i);

		/* Consumed (below deq) but never given back to producers. */
		if (atomic_compare_exchange_strong(&q->cells[i].seq, &taken,
		                                   fli_rr_seq_stored(pos + RR_QUEUE_CAP, i)))
			n++;
	}
	return n;
}

/* No position gets near this: a queue index or cell sequence from here on
 * (bit 63 aside, which marks holes) is a wild write's. */
#define RR_POS_WILD (1ull << 62)

uint32_t
fli_rr_queue_fix_wild(struct fli_rr_queue *q)
{
	uint64_t d = atomic_load_explicit(&q->deq, memory_order_acquire);
	uint64_t e = atomic_load_explicit(&q->enq, memory_order_acquire);
	uint32_t n = 0;

	if (e - d > RR_QUEUE_CAP || d >= RR_POS_WILD || e >= RR_POS_WILD) {
		/* Indices no push or pop leaves (dequeue past enqueue, more
		 * than a lap apart): lay the empty queue out again. */
		if (d >= RR_POS_WILD)
			d = 0;
		for (uint64_t pos = d; pos < d + RR_QUEUE_CAP; pos++)
			atomic_store_explicit(&q->cells[pos & (RR_QUEUE_CAP - 1)].seq,
			                      fli_rr_seq_stored(pos, pos & (RR_QUEUE_CAP - 1)),
			                      memory_order_relaxed);
		atomic_store_explicit(&q->deq, d, memory_order_release);
		atomic_store_explicit(&q->enq, d, memory_order_release);
		return RR_QUEUE_CAP;
	}
	for (uint64_t pos = d; pos < d + RR_QUEUE_CAP; pos++) {
		uint64_t i = pos & (RR_QUEUE_CAP - 1);
		struct fli_rr_cell *c = &q->cells[i];
		uint64_t raw = atomic_load_explicit(&c->seq, memory_order_acquire);
		uint64_t seq = fli_rr_cell_seq(raw, i);

		if (pos < e) {
			/* Claimed: not published yet (a producer still pushing),
			 * or a hole.  (Published ones the drain took.)  A wild one
			 * would stop the consumer there: a hole it steps over; a
			 * producer that claimed it claims another. */
			if (seq != pos && seq != pos + 1 && seq != (pos | RR_CELL_HOLE) &&
			    atomic_compare_exchange_strong(&c->seq, &raw,
			                                   fli_rr_seq_stored(pos | RR_CELL_HOLE,
			                                                     i)))
				n++;
		} else if (seq != pos && seq != pos + 1 - RR_QUEUE_CAP &&
		           atomic_compare_exchange_strong(&c->seq, &raw,
		                                          fli_rr_seq_stored(pos, i))) {
			/* Not claimed yet: ready for its producer (or taken by a
			 * consumer a lap ago and not given back yet).  No producer
			 * claims a cell of another sequence, so none races this. */
			n++;
		}
	}
	return n;
}

uint32_t
fli_rr_queue_depth(struct fli_rr_queue *q)
{
	uint64_t e = atomic_load_explicit(&q->enq, memory_order_relaxed);
	uint64_t d = atomic_load_explicit(&q->deq, memory_order_relaxed);

	return e > d ? (uint32_t)(e - d) : 0;
}
