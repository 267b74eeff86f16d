/*
 * A publication's data path: offer, claim and what they report.  Opened
 * and closed by the client conductor (client.c).
 */
#include <stdlib.h>

#include "faultline/client.h"
#include "faultline/error.h"
#include "client_internal.h"
#include "core/plant.h"

int64_t
fl_publication_offer(fl_publication *p, const void *buf, size_t len)
{
	if (__builtin_expect(__atomic_load_n(&p->closed, __ATOMIC_RELAXED) != 0, 0))
		return FL_ECLOSED;
	if (buf == NULL && len != 0)
		return FL_EINVAL;
	if (PLANTED(FLI_PLANT_LOG_STRAY_WRITE)) /* the plant: a word only the driver writes */
		__atomic_store_n(&p->map->log.meta->mtu, 0, __ATOMIC_RELAXED);
	if (PLANTED(FLI_PLANT_OFFER_ABORT)) /* the plant: an assert of this code fails */
		abort();
	return fli_log_offer(&p->ap, buf, len);
}

int64_t
fl_publication_try_claim(fl_publication *p, size_t len, struct fl_claim *claim)
{
	if (__atomic_load_n(&p->closed, __ATOMIC_RELAXED) != 0)
		return FL_ECLOSED;
	if (claim == NULL)
		return FL_EINVAL;
	return fli_log_try_claim(&p->ap, len, claim);
}

/* Caller holds c->mu. */
int32_t
fl_publication_session_id(const fl_publication *p)
{
	return p->session_id;
}
int32_t
fl_publication_stream_id(const fl_publication *p)
{
	return p->stream_id;
}
int64_t
fl_publication_registration_id(const fl_publication *p)
{
	return p->reg_id;
}
size_t
fl_publication_max_message_length(const fl_publication *p)
{
	return p->ap.log.max_message;
}
size_t
fl_publication_max_payload_length(const fl_publication *p)
{
	return p->ap.log.max_payload;
}

bool
fl_publication_is_connected(const fl_publication *p)
{
	return !__atomic_load_n(&p->closed, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&p->ap.log.meta->subscriber_count, __ATOMIC_ACQUIRE) != 0;
}

int64_t
fl_publication_position(const fl_publication *p)
{
	return (int64_t)__atomic_load_n(&p->ap.log.meta->tail, __ATOMIC_ACQUIRE);
}
