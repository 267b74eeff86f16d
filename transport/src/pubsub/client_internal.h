/*
 * The client's objects, shared by the files of the client: the conductor
 * and every open and close (client.c), and the data paths of publications
 * (publication.c), subscriptions (subscription.c) and images (image.c).
 * Private to those files.
 *
 * Locking: c->mu guards the conductor's tables (pending adds, subscriptions,
 * publications, maps, dead images).  offer and poll never take it: a
 * subscription's image list is replaced copy-on-write and old lists and
 * unavailable images are freed only after resource_linger_ns, long after a
 * poll that could still hold them returned.
 */
#ifndef FL_CLIENT_INTERNAL_H
#define FL_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/platform.h"
#include "cnc.h"
#include "fli_impl.h"
#include "log_buffer.h"
#include "shm.h"

struct log_map {
	int64_t id;
	struct fli_shm shm;
	struct fli_log log;
	int refs;
};

struct image_list {
	int count;
	fl_image *img[];
};

struct fl_image {
	fl_client *c;
	fl_subscription *sub; /* NULL once the subscription closed */
	struct log_map *map;
	struct fli_log log;
	int64_t log_id;
	int64_t sub_reg_id; /* owner of the slot, to never write a reused one */
	int32_t session_id;
	int slot;
	uint64_t position;
	int refs;      /* user references (atomic) */
	int available; /* atomic */
	bool lingering;
	uint64_t free_at;
	uint64_t dead_gen; /* c->quiescent when it left its subscription */
	/* Batched reads (fl_subscription_set_batch), the polling thread's
	 * own: its last read ended two or more messages and stopped at the
	 * publisher's heels, under the subscription's batch_gen then; until
	 * when (CLOCK_MONOTONIC ns) a poll may still wait for a batch (0: no
	 * wait begun); the publisher's tail at the last look (or the
	 * position after the last read), and when to look again. */
	bool streaming;
	unsigned batch_gen;
	uint64_t batch_until;
	uint64_t batch_tail;
	uint64_t batch_look;
};

struct fl_subscription {
	fl_client *c;
	int64_t reg_id;
	int32_t stream_id;
	struct fl_image_handlers h;
	struct image_list *images; /* atomic pointer, copy-on-write */
	unsigned rr;               /* polls so far: the turn is rr % rr_count */
	unsigned rr_count;         /* the image count rr_turn is for */
	unsigned rr_turn;          /* rr % rr_count */
	/* How deep its (one) polling thread is inside fl_subscription_poll
	 * (a handler may poll again), when c->membarrier: plain stores, no
	 * locked instruction (see poller_enter). */
	int polling;
	/* fl_subscription_set_batch: bytes to wait for (0: off) and the
	 * longest wait; read by the polling thread only. */
	uint32_t batch_bytes;
	uint64_t batch_delay_ns;
	unsigned batch_gen; /* set_batch calls: a wait begun before one ends */
};

struct fl_publication {
	fl_client *c;
	struct fli_log_appender ap;
	struct log_map *map;
	int64_t reg_id;
	int32_t session_id;
	int32_t stream_id;
	int closed; /* atomic */
};

/* A growable array of pointers. */
struct vec {
	void **v;
	int n;
	int cap;
};

struct fl_client {
	struct fl_client_ctx ctx;
	/* Application calls inside a subscription's image list (atomic).  The
	 * conductor frees a retired list or image only after it saw none in
	 * progress since the retirement (quiescent moved on): the linger time
	 * alone would let a reader starved longer than it poll freed memory. */
	int readers;
	uint64_t quiescent; /* conductor only: reader-free moments seen */
	/* Set at open when membarrier(2) took this process's registration:
	 * then fl_subscription_poll marks itself in its subscription's
	 * `polling` instead of counting itself in `readers`, and the
	 * conductor fences every thread of the process before it reads the
	 * marks.  Two locked instructions a poll cost 20-30 ns a round trip
	 * (docs/figures.md). */
	bool membarrier;
	bool barrier_failed; /* conductor only: membarrier refused, reported */
	/* Barriers the conductor ran before reading the marks (atomic: the
	 * tests read it, to see that a free waited for one). */
	uint64_t barriers;
	/* Pages ctx.pre_touch read, under mu (the tests read it: a pre-touch
	 * that reads nothing fails no other test). */
	uint64_t pages_touched;
	char ns[FL_NAME_MAX + 1];
	char dir[256];
	struct fli_shm_dir rundir; /* the run directory: identity; open during an operation */
	struct fli_shm cnc;
	struct fli_cnc_header *hdr;
	uint64_t id;
	struct fli_cnc_client *rec; /* this client's record in the counters */
	struct fli_mpsc ring;
	struct fli_bcast bc;
	struct fli_bcast_rx rx;
	uint8_t scratch[8192];
	fl_mutex mu;
	int status;     /* atomic: 0 or sticky error */
	bool abandoned; /* fl_client_abandon: write nothing shared any more */
	fl_thread *thread;
	int stop;
	uint64_t next_hb;
	uint64_t pid_check_at; /* next look for a driver whose process is gone */
	uint64_t now;
	struct vec pending; /* struct pending * */
	struct vec subs;    /* fl_subscription * */
	struct vec pubs;    /* fl_publication * */
	struct vec maps;    /* struct log_map * */
	struct vec dead;    /* fl_image *, unavailable */
	struct vec retired; /* struct retired * */
	void (*ext_fn)(void *arg, int32_t type, const void *payload, size_t len);
	void *ext_arg;
};

/* Brackets an application call that reads a subscription's image list
 * (see fl_client.readers).  seq_cst, paired with the list's seq_cst
 * stores: a reader counted after the conductor saw zero sees the new list.
 * Plain scheduling points, not state changes: only this client's own
 * conductor reads the count, at its next pass, and under sim a state
 * change wakes every sleeper, so pollers whose every pass counts itself a
 * reader (five cluster nodes) woke each other for ever, virtual time
 * standing still. */
static inline void
reader_enter(fl_client *c)
{
	__atomic_fetch_add(&c->readers, 1, __ATOMIC_SEQ_CST);
	FL_SCHED_POINT("client.readers.enter");
}

static inline void
reader_exit(fl_client *c)
{
	int was = __atomic_fetch_sub(&c->readers, 1, __ATOMIC_RELEASE);

	FL_SCHED_POINT("client.readers.exit");
	FLI_ASSERT(was > 0);
	(void)was;
}

/* Brackets fl_subscription_poll, the hot reader of the image list.  With
 * c->membarrier, the mark is a plain store kept before the list's read by
 * a compiler barrier only: the conductor's membarrier(2) is the CPU
 * barrier of both sides (liburcu's membarrier flavour), so a poller either
 * shows its mark to the conductor or reads the list the conductor stored
 * before it.  The exit's release store pairs with the conductor's acquire
 * read: what the poll read of the list happens before the list is
 * freed.  Otherwise the poll counts itself in c->readers. */
/* points: whether scheduling points are armed, read once a poll (see
 * fl_subscription_poll); false compiles them out of the unarmed path. */
static inline __attribute__((always_inline)) void
poller_enter(fl_subscription *s, bool points)
{
	if (s->c->membarrier) {
		/* Only this thread writes the depth: a load and a store, no
		 * read-modify-write. */
		__atomic_store_n(&s->polling, __atomic_load_n(&s->polling, __ATOMIC_RELAXED) + 1,
		                 __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (points)
			FL_SCHED_POINT("client.readers.enter");
	} else {
		reader_enter(s->c);
	}
}

static inline __attribute__((always_inline)) void
poller_exit(fl_subscription *s, bool points)
{
	if (s->c->membarrier) {
		__atomic_store_n(&s->polling, __atomic_load_n(&s->polling, __ATOMIC_RELAXED) - 1,
		                 __ATOMIC_RELEASE);
		if (points)
			FL_SCHED_POINT("client.readers.exit");
	} else {
		reader_exit(s->c);
	}
}

/* Takes a user reference on img (fl_image_release drops it). */
static inline void
image_ref(fl_image *img)
{
	FL_SCHED_POINT("image.ref");
	fl_atomic_fetch_add("image.ref.taken", &img->refs, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&img->c->rec->image_refs_held, 1, __ATOMIC_RELAXED);
}

/* Polls one image: reads, then publishes the position to the image's
 * slot when the slot shows another: it moved on, or a wild write changed
 * the slot's copy, which the publisher would otherwise wait for (or run
 * over) for good once this subscriber has nothing left to read.  points
 * as for poller_enter; *ends gets the messages the read ended. */
static inline __attribute__((always_inline)) int
image_poll(fl_image *img, fl_fragment_handler h, void *clientd, int limit, bool points, int *ends)
{
	struct fli_log_slot *slot = &img->log.meta->slots[img->slot];
	int n;

	if (points)
		FL_SCHED_POINT("sub.poll.read");
	n = fli_log_read_ends(&img->log, &img->position, img->session_id, h, clientd, limit, ends);
	if (__atomic_load_n(&slot->position, __ATOMIC_RELAXED) != img->position &&
	    __atomic_load_n(&img->available, __ATOMIC_ACQUIRE) &&
	    __atomic_load_n(&slot->sub_reg_id, __ATOMIC_RELAXED) == img->sub_reg_id) {
		if (points)
			fl_atomic_store("sub.position.stored", &slot->position, img->position,
			                __ATOMIC_RELEASE);
		else
			__atomic_store_n(&slot->position, img->position, __ATOMIC_RELEASE);
	}
	return n;
}

#endif
