/*
 * An image's data path: poll, references, position.  Images are made and
 * freed by the client conductor (client.c) as the driver reports them.
 */
#include "faultline/client.h"
#include "faultline/error.h"
#include "client_internal.h"

int
fl_image_release(fl_image *img)
{
	fl_client *c;
	int r;

	if (img == NULL)
		return FL_EINVAL;
	/* Read before the last reference goes: from then on the conductor may
	 * free img, and the gauge's img->c read would race with image_free
	 * (the harness's cli_uaf_image opens that window). */
	c = img->c;
	FL_SCHED_POINT("image.release");
	r = __atomic_load_n(&img->refs, __ATOMIC_ACQUIRE);
	do {
		if (r <= 0)
			return FL_ESTALE;
	} while (!fl_atomic_cas("image.ref.dropped", &img->refs, &r, r - 1, __ATOMIC_ACQ_REL,
	                        __ATOMIC_ACQUIRE));
	__atomic_fetch_sub(&c->rec->image_refs_held, 1, __ATOMIC_RELAXED);
	return 0;
}

int
fl_image_poll(fl_image *img, fl_fragment_handler h, void *clientd, int fragment_limit)
{
	int ends;

	if (img == NULL || h == NULL)
		return FL_EINVAL;
	if (!__atomic_load_n(&img->available, __ATOMIC_ACQUIRE))
		return FL_ECLOSED;
	/* A read past its subscription's batching: no wait follows it. */
	img->streaming = false;
	return image_poll(img, h, clientd, fragment_limit, true, &ends);
}

int32_t
fl_image_session_id(const fl_image *img)
{
	return img->session_id;
}
int64_t
fl_image_position(const fl_image *img)
{
	return (int64_t)img->position;
}

bool
fl_image_is_available(const fl_image *img)
{
	return __atomic_load_n(&img->available, __ATOMIC_ACQUIRE) != 0;
}
