/*
 * Module-to-module declarations of the request/response part: segment
 * mapping, the last-error message, and the MPMC queue of chunk references
 * that every port carries.
 */
#ifndef FL_RR_INTERNAL_H
#define FL_RR_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Maps `size` bytes of the segment file `path`.  create: the file must not
 * exist; it is created 0600 and sized.  On success *base and *size are set.
 * `fault` names the fault point consulted before the OS calls. */
int rr_seg_create(const char *path, size_t size, const char *fault, void **base);
int rr_seg_open(const char *path, const char *fault, void **base, size_t *size);
void rr_seg_unmap(void *base, size_t size);

/* A printf-style message kept per thread, read with fl_rr_errmsg(). */
void rr_set_errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Bounded MPMC queue of 64-bit values (Vyukov's design: each cell has a
 * sequence number telling producers and consumers whose turn it is).  Any
 * process may produce or consume.  A producer that dies between claiming a
 * cell and publishing it would stop the consumer at that cell for good: the
 * reclaim of the dead process marks such cells holes that consumers step
 * over (rr_queue_mark_holes).  A consumer that dies between taking a cell
 * and giving it back would make the queue full one lap later: the port's
 * next owner gives such cells back (rr_queue_repair).
 */
#define RR_QUEUE_CAP 128u /* power of two */

struct rr_cell {
	_Atomic uint64_t seq;
	_Atomic uint64_t val;
};

struct rr_queue {
	_Atomic uint64_t enq;
	char pad0[56];
	_Atomic uint64_t deq;
	char pad1[56];
	struct rr_cell cells[RR_QUEUE_CAP];
};

void rr_queue_init(struct rr_queue *q);
/* 0, FL_EFULL, or FL_EFAULT_INJECTED (transport/rr/queue_publish: the
 * claimed cell is left a hole). */
int rr_queue_push(struct rr_queue *q, uint64_t v);
/* 0 or FL_EAGAIN (empty). */
int rr_queue_pop(struct rr_queue *q, uint64_t *v);
uint32_t rr_queue_depth(struct rr_queue *q);
/* The reclaim of a dead process: marks every cell a producer claimed and
 * never published as a hole that consumers step over.  A live producer
 * caught between the two claims another cell.  Returns the cells marked. */
uint32_t rr_queue_mark_holes(struct rr_queue *q);
/* Is entry v published in q now? */
bool rr_queue_contains(struct rr_queue *q, uint64_t v);
/* For the queue's sole consumer (a port's new owner): gives back to the
 * producers every cell a consumer took and died before releasing.
 * Returns the cells repaired. */
uint32_t rr_queue_repair(struct rr_queue *q);
/* For the queue's sole consumer (a port's new owner), after rr_queue_repair
 * and a drain: puts back what no push or pop leaves, which a wild write
 * did (any process maps the queue writable) and which would stop the queue
 * for good: indices a lap or more apart or past 2^62 (the empty queue is
 * laid out again), a claimed cell of another sequence (made a hole), a
 * free cell of another sequence (made ready).  Returns the words put back
 * (a lap's worth for the indices). */
uint32_t rr_queue_fix_wild(struct rr_queue *q);

/* A queue entry names a chunk and its generation. */
static inline uint64_t
rr_entry(uint32_t index, uint32_t gen)
{
	return ((uint64_t)gen << 32) | index;
}

#endif
