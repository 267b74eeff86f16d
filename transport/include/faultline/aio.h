/*
 * Messages, asynchronous operations and contexts over request/response
 * (NNG-like), on top of faultline/reqrep.h.
 *
 * A socket (fl_sock) owns one client port (REQ) or one server port (REP)
 * and one worker thread, started with fl_thread_start (an actor under the
 * harness; its idle loop calls fl_idle, a scheduling point).  The worker
 * moves chunks between the port and the contexts and runs every completion
 * callback.  Many contexts (fl_ctx) share one socket; each carries one
 * request/reply exchange at a time.
 *
 * REQ context: fl_ctx_send sends the message as a request (completing at
 * once), fl_ctx_recv receives the reply to the context's last request.
 * A new send abandons an unanswered request; its late reply is released by
 * the worker.  REP context: fl_ctx_recv receives the next request (contexts
 * waiting in recv are served first come, first served), fl_ctx_send sends
 * the reply to the request that context received last.
 *
 * The callback rule (libuv's): when fl_ctx_send/fl_ctx_recv return an
 * error, the operation did not start and its callback is never called;
 * when they return 0 the callback runs exactly once, on the worker thread,
 * with fl_aio_result telling how it ended.
 *
 * Ownership of messages: a successful send takes the message (the library
 * frees it); a failed send leaves it with the caller, still set in the aio.
 * A received message belongs to the caller (fl_aio_get_msg) until freed.
 *
 * Debug accounting (fl_aio_debug_read) counts messages allocated and
 * freed, double frees detected, completions that arrived after their
 * context closed, and aios freed with work pending, so an auditor can check
 * "every message freed exactly once" and "no aio completes after its
 * context closed".
 */
#ifndef FAULTLINE_AIO_H
#define FAULTLINE_AIO_H

#include <stddef.h>
#include <stdint.h>

#include "faultline/reqrep.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_msg fl_msg;
typedef struct fl_aio fl_aio;
typedef struct fl_sock fl_sock;
typedef struct fl_ctx fl_ctx;

/* ---- messages ------------------------------------------------------ */

/* fl_msg_alloc allocates a message with a body of `len` bytes (contents
 * unspecified).  FL_ENOMEM.  The caller owns *out until it frees it or a
 * send succeeds.  Thread-safe. */
int fl_msg_alloc(fl_msg **out, size_t len);

/* fl_msg_free frees a message the caller owns.  A second free of the same
 * message (within the last 64 frees process-wide) is detected, counted in
 * fl_aio_debug.msg_double_frees and ignored instead of corrupting the heap.
 * Safe on NULL.  Thread-safe. */
void fl_msg_free(fl_msg *m);

/* fl_msg_body returns the body (len bytes); valid while the caller owns m. */
void *fl_msg_body(fl_msg *m);

/* fl_msg_len returns the body length. */
size_t fl_msg_len(const fl_msg *m);

/* fl_msg_set_len shrinks or grows the body up to the length it was
 * allocated with.  FL_EMSGSIZE beyond that. */
int fl_msg_set_len(fl_msg *m, size_t len);

/* fl_msg_quarantine_flush really frees the messages kept to detect double
 * frees (tests call it before exit).  Not thread-safe against fl_msg_free. */
void fl_msg_quarantine_flush(void);

/* ---- aio ----------------------------------------------------------- */

/* fl_aio_alloc allocates an idle aio whose completions call cb(arg) on the
 * socket's worker thread (cb may be NULL).  FL_ENOMEM. */
int fl_aio_alloc(fl_aio **out, void (*cb)(void *arg), void *arg);

/* fl_aio_free frees an idle aio.  With an operation pending it returns
 * FL_EBUSY, frees nothing and counts fl_aio_debug.aio_free_pending (and
 * prints a diagnostic in debug builds): cancel and wait first.  Called from
 * the aio's own callback it is deferred until the callback returns.  Safe
 * on NULL (returns 0). */
int fl_aio_free(fl_aio *a);

/* fl_aio_set_timeout sets the relative timeout (ns, 0: none) applied to
 * operations started afterwards.  Not while an operation is pending. */
void fl_aio_set_timeout(fl_aio *a, uint64_t timeout_ns);

/* fl_aio_wait waits (duty loop with fl_idle) until the aio is idle: no
 * operation pending and its callback has returned.  Must not be called from
 * the aio's own callback. */
void fl_aio_wait(fl_aio *a);

/* fl_aio_cancel completes a pending operation with FL_ECANCELED (a REQ
 * receive also abandons its request).  No effect when idle.  Does not wait:
 * follow with fl_aio_wait. */
void fl_aio_cancel(fl_aio *a);

/* fl_aio_result returns the result of the last completed operation: 0,
 * FL_ETIMEDOUT, FL_ECANCELED, FL_ECLOSED, FL_ECRASHED (the server went away
 * before answering), FL_ENOMEM, ... */
int fl_aio_result(const fl_aio *a);

/* fl_aio_get_msg returns the message set in the aio (a received message
 * after a successful recv: the caller now owns it; the aio forgets it). */
fl_msg *fl_aio_get_msg(fl_aio *a);

/* fl_aio_set_msg sets the message a send will take. */
void fl_aio_set_msg(fl_aio *a, fl_msg *m);

/* ---- sockets and contexts ------------------------------------------ */

/* fl_sock_open_req / fl_sock_open_rep take a client / server port for
 * `service` in domain d and start the worker.  Errors: those of
 * fl_rr_client_open / fl_rr_server_open, FL_ENOMEM, FL_EIO (thread).  The
 * domain must outlive the socket. */
int fl_sock_open_req(fl_sock **out, fl_rr_domain *d, const char *service);
int fl_sock_open_rep(fl_sock **out, fl_rr_domain *d, const char *service);

/* fl_sock_close closes every context still open (as fl_ctx_close), stops
 * the worker, releases every chunk and returns the port.  Safe on NULL.
 * Not from a callback. */
void fl_sock_close(fl_sock *s);

/* fl_ctx_open opens a context on s.  FL_ENOMEM, FL_ECLOSED. */
int fl_ctx_open(fl_ctx **out, fl_sock *s);

/* fl_ctx_close cancels the context's pending operations (they complete
 * with FL_ECANCELED), waits for their callbacks to return, and frees the
 * context.  Operations started on it while it closes fail at once with
 * FL_ECLOSED.  From a callback on the same socket it does not wait: the
 * worker frees the context once its callbacks have run.  An operation
 * that completed before the close keeps its result and message (the
 * caller's: take it with fl_aio_get_msg).  Safe on NULL. */
void fl_ctx_close(fl_ctx *c);

/* fl_ctx_send starts a send of a's message (REQ: a request; REP: the reply
 * to the last request this context received).  0: started; the message now
 * belongs to the library and a's callback will run.  Errors (message still
 * the caller's, callback not called): FL_EINVAL (no message), FL_EBUSY (a
 * already pending), FL_ECLOSED, FL_ESTATE (REP: nothing to reply to),
 * FL_ENOSERVER, FL_EFULL, FL_ELIMIT, FL_EPOOL_EMPTY, FL_EMSGSIZE,
 * FL_ENOT_CONNECTED (REP: the requester went away), FL_EFAULT_INJECTED. */
int fl_ctx_send(fl_ctx *c, fl_aio *a);

/* fl_ctx_recv starts a receive (REQ: the reply to this context's request;
 * REP: the next request).  0: started, callback will run; on success
 * fl_aio_get_msg hands the caller the message.  Errors (callback not
 * called): FL_EBUSY (a pending, or a receive already pending on c),
 * FL_ECLOSED, FL_ESTATE (REQ: no request sent). */
int fl_ctx_recv(fl_ctx *c, fl_aio *a);

/* ---- debug accounting ---------------------------------------------- */

struct fl_aio_debug {
	uint64_t msgs_allocated;
	uint64_t msgs_freed;
	uint64_t msg_double_frees;     /* fl_msg_free on a freed message */
	uint64_t aio_started;          /* operations started (callback owed) */
	uint64_t aio_completed;        /* callbacks run */
	uint64_t aio_late_completions; /* completed other than FL_ECANCELED after close began */
	uint64_t aio_free_pending;     /* fl_aio_free with an operation pending */
	uint64_t ctx_opened;
	uint64_t ctx_closed;
	uint64_t replies_discarded; /* REQ replies nobody waited for, released */
};

/* fl_aio_debug_read copies the process-wide counters.  Thread-safe. */
void fl_aio_debug_read(struct fl_aio_debug *out);

#ifdef __cplusplus
}
#endif
#endif
