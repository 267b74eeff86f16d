/*
 * The MPMC queue of chunk references every port carries (rr_queue.c).
 * Module-to-module.
 */
#ifndef FL_RR_QUEUE_H
#define FL_RR_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Bounded MPMC queue of 64-bit values (Vyukov's design: each cell has a
 * sequence number telling producers and consumers whose turn it is).  Any
 * process may produce or consume.  A producer that dies between claiming a
 * cell and publishing it would stop the consumer at that cell for good: the
 * reclaim of the dead process marks such cells holes that consumers step
 * over (fli_rr_queue_mark_holes).  A consumer that dies between taking a cell
 * and giving it back would make the queue full one lap later: the port's
 * next owner gives such cells back (fli_rr_queue_repair).
 */
#define RR_QUEUE_CAP 128u /* power of two */

/* A cell's sequence is stored less the cell's index in the ring
 * (fli_rr_seq_stored; modulo 2^64, a bijection), so a queue whose words
 * are all zero, as a segment is created, is the empty queue: cell i
 * ready for position i.  Creating a port table then writes none of its
 * queues' pages (a sim run paid for touching every one of them). */
struct fli_rr_cell {
	_Atomic uint64_t seq;
	_Atomic uint64_t val;
};

struct fli_rr_queue {
	_Atomic uint64_t enq;
	char pad0[56];
	_Atomic uint64_t deq;
	char pad1[56];
	struct fli_rr_cell cells[RR_QUEUE_CAP];
};

/* What cell i stores for sequence seq, and the sequence of what it
 * stores. */
static inline uint64_t
fli_rr_seq_stored(uint64_t seq, uint64_t i)
{
	return seq - i;
}

static inline uint64_t
fli_rr_cell_seq(uint64_t stored, uint64_t i)
{
	return stored + i;
}

/* Lays q out empty: all of its words zero. */
void fli_rr_queue_init(struct fli_rr_queue *q);
/* 0, FL_EFULL, or FL_EFAULT_INJECTED (transport/rr/queue_publish: the
 * claimed cell is left a hole). */
int fli_rr_queue_push(struct fli_rr_queue *q, uint64_t v);
/* 0 or FL_EAGAIN (empty). */
int fli_rr_queue_pop(struct fli_rr_queue *q, uint64_t *v);
uint32_t fli_rr_queue_depth(struct fli_rr_queue *q);
/* The reclaim of a dead process: marks every cell a producer claimed and
 * never published as a hole that consumers step over.  A live producer
 * caught between the two claims another cell.  Returns the cells marked. */
uint32_t fli_rr_queue_mark_holes(struct fli_rr_queue *q);
/* Is entry v published in q now? */
bool fli_rr_queue_contains(struct fli_rr_queue *q, uint64_t v);
/* Is any entry published in q now (not a hole, nor a claimed cell)? */
bool fli_rr_queue_any_published(struct fli_rr_queue *q);
/* For the queue's sole consumer (a port's new owner): gives back to the
 * producers every cell a consumer took and died before releasing.
 * Returns the cells repaired. */
uint32_t fli_rr_queue_repair(struct fli_rr_queue *q);
/* For the queue's sole consumer (a port's new owner), after fli_rr_queue_repair
 * and a drain: puts back what no push or pop leaves, which a wild write
 * did (any process maps the queue writable) and which would stop the queue
 * for good: indices a lap or more apart or past 2^62 (the empty queue is
 * laid out again), a claimed cell of another sequence (made a hole), a
 * free cell of another sequence (made ready).  Returns the words put back
 * (a lap's worth for the indices). */
uint32_t fli_rr_queue_fix_wild(struct fli_rr_queue *q);

/* A queue entry names a chunk and its generation. */
static inline uint64_t
fli_rr_entry(uint32_t index, uint32_t gen)
{
	return ((uint64_t)gen << 32) | index;
}

#endif
