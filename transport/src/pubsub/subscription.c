/*
 * A subscription's data path: poll across its images and look an image
 * up.  Opened and closed by the client conductor (client.c), which also
 * keeps its image list.
 */
#include "faultline/client.h"
#include "faultline/error.h"
#include "client_internal.h"

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
		rc = image_poll(l->img[start], h, clientd, fragment_limit - n, points);
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
