/*
 * A subscription's data path: poll across its images and look an image
 * up.  Opened and closed by the client conductor (client.c), which also
 * keeps its image list.
 */
#include <time.h>

#include "faultline/client.h"
#include "faultline/error.h"
#include "client_internal.h"

/* Batched reads (fl_subscription_set_batch).  A subscriber that keeps up
 * with a streaming publisher reads the cache line the publisher is still
 * filling, so the line crosses the cores about once a message and both
 * sides stall on it: 25-40 M msgs/s here, against 55-90 M for a reader
 * that stays a batch behind and reads only finished lines
 * (docs/figures.md).  So once a read of an image ended two or more
 * messages and stopped at the publisher's heels, the image's polls wait
 * (deliver nothing from it) while fewer than the batch's bytes stand
 * unread behind the publisher's tail and the tail grew since the last
 * look, for at most the batch's delay from the first such poll (plus
 * the look under way; a set_batch call ends every wait).  A wait
 * looks at the tail (the publisher's line) once every BATCH_LOOK_NS and
 * at nothing shared in between, so a poll never blocks and a tail that
 * stopped growing is read at the next look.  A lone message (a request,
 * a ping) never starts a wait. */
#define BATCH_LOOK_NS 2000

static bool
image_defers(fl_image *img, const fl_subscription *s)
{
	uint64_t want = s->batch_bytes, t, now;
	struct timespec ts;

	if (!img->streaming || img->batch_gen != s->batch_gen)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * FL_NS_PER_SEC + (uint64_t)ts.tv_nsec;
	if (img->batch_until != 0 && now < img->batch_look)
		return true;
	if (want > img->log.cap / 4)
		want = img->log.cap / 4;
	/* A wild tail (behind the position, or racing ahead) reads at once
	 * or waits out the delay: never longer. */
	t = __atomic_load_n(&img->log.meta->tail, __ATOMIC_ACQUIRE);
	if (t - img->position >= want || t == img->batch_tail)
		return false; /* a batch, or a stream that stopped */
	if (img->batch_until == 0)
		img->batch_until = now + s->batch_delay_ns;
	else if (now >= img->batch_until)
		return false;
	img->batch_tail = t;
	img->batch_look = now + BATCH_LOOK_NS;
	return true;
}

/* The poll, with its scheduling points (points) or without: read once a
 * poll, the flag takes four checks a message off the unarmed path (the
 * points' cost against a build without them is a goal of the bench). */
static inline __attribute__((always_inline)) int
subscription_poll(fl_subscription *s, fl_fragment_handler h, void *clientd, int fragment_limit,
                  bool points)
{
	struct image_list *l;
	int i, n = 0, rc;
	unsigned start;

	poller_enter(s, points);
	l = __atomic_load_n(&s->images, __ATOMIC_SEQ_CST);
	if (l == NULL || l->count == 0) {
		poller_exit(s, points);
		rc = fl_client_status(s->c);
		return rc != 0 ? rc : 0;
	}
	/* Round robin over the images: the turn is rr % count, as it always
	 * was (the sim's recorded schedules depend on it), but divided only
	 * when the count changed: two divisions a poll were the largest
	 * fixed cost of a subscriber that keeps up. */
	if ((unsigned)l->count != s->rr_count) {
		s->rr_count = (unsigned)l->count;
		s->rr_turn = s->rr % s->rr_count;
	}
	start = s->rr_turn;
	s->rr++;
	s->rr_turn = start + 1 == s->rr_count ? 0 : start + 1;
	for (i = 0; i < l->count && n < fragment_limit; i++) {
		fl_image *img = l->img[start];
		/* Under the sim (points armed) every poll reads: virtual time
		 * and its schedules know nothing of cache lines. */
		bool batching = !points && s->batch_bytes != 0;
		int ends;

		if (batching && image_defers(img, s)) {
			rc = 0;
		} else {
			rc = image_poll(img, h, clientd, fragment_limit - n, points, &ends);
			if (batching) {
				/* Messages, not fragments: a lone message of
				 * several fragments is not a stream. */
				img->streaming = ends >= 2 && rc < fragment_limit - n;
				img->batch_gen = s->batch_gen;
				img->batch_until = 0;
				img->batch_tail = img->position;
			}
		}
		if (rc > 0)
			n += rc;
		if (++start == (unsigned)l->count)
			start = 0;
	}
	poller_exit(s, points);
	return n;
}

int
fl_subscription_poll(fl_subscription *s, fl_fragment_handler h, void *clientd, int fragment_limit)
{
	if (s == NULL || h == NULL)
		return FL_EINVAL;
#ifndef FL_POINTS_DISABLED
	if (__builtin_expect(FL_POINTS_ARMED(fl_sched_armed), 0))
		return subscription_poll(s, h, clientd, fragment_limit, true);
#endif
	return subscription_poll(s, h, clientd, fragment_limit, false);
}

int
fl_subscription_set_batch(fl_subscription *s, uint32_t bytes, uint64_t max_delay_ns)
{
	if (s == NULL || (bytes != 0 && (max_delay_ns == 0 || max_delay_ns > FL_NS_PER_MS)))
		return FL_EINVAL;
	s->batch_bytes = bytes;
	s->batch_delay_ns = max_delay_ns;
	s->batch_gen++;
	return 0;
}

int
fl_subscription_image_count(fl_subscription *s)
{
	struct image_list *l;
	int n;

	reader_enter(s->c);
	l = __atomic_load_n(&s->images, __ATOMIC_SEQ_CST);
	n = l == NULL ? 0 : l->count;
	reader_exit(s->c);
	return n;
}

bool
fl_subscription_is_connected(fl_subscription *s)
{
	return fl_subscription_image_count(s) > 0;
}

int
fl_subscription_image_by_session_id(fl_subscription *s, int32_t session_id, fl_image **out)
{
	struct image_list *l;
	int i;

	if (s == NULL || out == NULL)
		return FL_EINVAL;
	reader_enter(s->c);
	l = __atomic_load_n(&s->images, __ATOMIC_SEQ_CST);
	for (i = 0; l != NULL && i < l->count; i++)
		if (l->img[i]->session_id == session_id) {
			image_ref(l->img[i]);
			*out = l->img[i];
			reader_exit(s->c);
			return 0;
		}
	reader_exit(s->c);
	return FL_ENOENT;
}

int
fl_subscription_image_at_index(fl_subscription *s, int index, fl_image **out)
{
	struct image_list *l;

	if (s == NULL || out == NULL)
		return FL_EINVAL;
	reader_enter(s->c);
	l = __atomic_load_n(&s->images, __ATOMIC_SEQ_CST);
	if (l == NULL || index < 0 || index >= l->count) {
		reader_exit(s->c);
		return FL_ENOENT;
	}
	image_ref(l->img[index]);
	*out = l->img[index];
	reader_exit(s->c);
	return 0;
}
