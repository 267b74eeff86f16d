/*
 * Messages: heap bodies with ownership accounting.  Freed messages sit in a
 * small quarantine ring before their memory goes back to malloc, so a
 * second free of a recently freed message is detected and counted instead
 * of corrupting the heap (the B5 bug: freeing a message a successful send
 * already took).
 */
#include <stdio.h>
#include <stdlib.h>

#include "faultline/aio.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "aio_internal.h"

#define MSG_LIVE   0x4d53474cu /* "MSGL" */
#define MSG_FREED  0x66726565u /* "free" */
#define QUARANTINE 64

struct fl_msg {
	uint32_t magic;
	size_t len;
	size_t cap;
	unsigned char body[];
};

struct fli_aio_counters fli_aio_counters;

static fl_msg *_Atomic quarantine[QUARANTINE];
static _Atomic uint32_t quarantine_pos;

int
fl_msg_alloc(fl_msg **out, size_t len)
{
	fl_msg *m;

	if (out == NULL || len > (1u << 30))
		return FL_EINVAL;
	m = malloc(sizeof(*m) + (len > 0 ? len : 1));
	if (m == NULL)
		return FL_ENOMEM;
	m->magic = MSG_LIVE;
	m->len = len;
	m->cap = len;
	atomic_fetch_add(&fli_aio_counters.msgs_allocated, 1);
	*out = m;
	return 0;
}

void
fl_msg_free(fl_msg *m)
{
	uint32_t old;

	if (m == NULL)
		return;
	/* The CAS makes two racing frees of one message count once. */
	old = fl_atomic_exchange("msg.freed", &m->magic, MSG_FREED, __ATOMIC_ACQ_REL);
	if (old != MSG_LIVE) {
		atomic_fetch_add(&fli_aio_counters.msg_double_frees, 1);
#ifndef NDEBUG
		fprintf(stderr,
		        "faultline: fl_msg_free(%p): message already freed "
		        "(double free or free after a successful send)\n",
		        (void *)m);
#endif
		if (old != MSG_FREED)
			__atomic_store_n(&m->magic, old, __ATOMIC_RELEASE);
		return;
	}
	atomic_fetch_add(&fli_aio_counters.msgs_freed, 1);
	uint32_t pos = atomic_fetch_add(&quarantine_pos, 1) % QUARANTINE;
	free(atomic_exchange(&quarantine[pos], m));
}

void
fl_msg_quarantine_flush(void)
{
	for (int i = 0; i < QUARANTINE; i++)
		free(atomic_exchange(&quarantine[i], NULL));
}

void *
fl_msg_body(fl_msg *m)
{
	return m->body;
}

size_t
fl_msg_len(const fl_msg *m)
{
	return m->len;
}

int
fl_msg_set_len(fl_msg *m, size_t len)
{
	if (len > m->cap)
		return FL_EMSGSIZE;
	m->len = len;
	return 0;
}

void
fl_aio_debug_read(struct fl_aio_debug *out)
{
	out->msgs_allocated = atomic_load(&fli_aio_counters.msgs_allocated);
	out->msgs_freed = atomic_load(&fli_aio_counters.msgs_freed);
	out->msg_double_frees = atomic_load(&fli_aio_counters.msg_double_frees);
	out->aio_started = atomic_load(&fli_aio_counters.aio_started);
	out->aio_completed = atomic_load(&fli_aio_counters.aio_completed);
	out->aio_late_completions = atomic_load(&fli_aio_counters.aio_late_completions);
	out->aio_free_pending = atomic_load(&fli_aio_counters.aio_free_pending);
	out->ctx_opened = atomic_load(&fli_aio_counters.ctx_opened);
	out->ctx_closed = atomic_load(&fli_aio_counters.ctx_closed);
	out->replies_discarded = atomic_load(&fli_aio_counters.replies_discarded);
}
