/* Process-wide debug counters shared by msg.c and aio.c. */
#ifndef FL_AIO_INTERNAL_H
#define FL_AIO_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

struct fli_aio_counters {
	_Atomic uint64_t msgs_allocated, msgs_freed, msg_double_frees;
	_Atomic uint64_t aio_started, aio_completed, aio_late_completions, aio_free_pending;
	_Atomic uint64_t ctx_opened, ctx_closed, replies_discarded;
};

extern struct fli_aio_counters fli_aio_counters;

#endif
