/*
 * The NNG target (faultline/target.h, docs/targets.md): NNG 1.5.2 as
 * Debian ships it (libnng.so, unmodified), driven through its public
 * API, written from its manual pages and the comments of <nng/nng.h>
 * (nng_socket(5), nng_listen(3), nng_dial(3), nng_send(3), nng_recv(3),
 * nng_close(3), nng_options(5), nng_sub(7), nng_aio(5) and its
 * functions, nng_ctx(5) and its functions, nng_msg(5) and its functions,
 * nng_dialer(5), nng_listener(5), nng_ipc(7)), not aimed at any known
 * defect.
 *
 * Sockets and whole messages:
 *
 *   nng_socket {as, protocol}   open a socket: req, rep, pub, sub, push,
 *                               pull, pair (pair1), bus, surveyor,
 *                               respondent
 *   nng_listen {sock, url}      inproc://NAME, or ipc://NAME (a relative
 *                               NAME: a path in the run's directory,
 *                               fl_target_run_dir, gone with the run)
 *   nng_dial {sock, url, nonblock}
 *   nng_subscribe {sock, topic} a sub socket's topic ("" is every message)
 *   nng_pipes_wait {sock, count, deadline_ms}
 *                               wait until the socket has count pipes
 *                               fully added (NNG_PIPE_EV_ADD_POST less
 *                               NNG_PIPE_EV_REM_POST, nng_pipe_notify(3)):
 *                               a pub socket drops what it sends before
 *                               then (nng_pub(7)); FL_ETIMEDOUT past the
 *                               deadline
 *   nng_send {sock, size, deadline_ms}
 *   nng_recv {sock, deadline_ms}
 *   nng_close {sock}
 *
 * A blocking send or receive (nng_send, nng_recv, nng_sendmsg and
 * nng_recvmsg without nonblock) waits through an aio whose timeout is the
 * op's deadline, never the socket's send-timeout or recv-timeout option:
 * another actor sharing the socket may set those meanwhile.
 *
 * Options (NNG's own names: recv-timeout, send-timeout, recv-size-max,
 * recv-buffer, send-buffer, req:resend-time, surveyor:survey-time,
 * reconnect-time-min, reconnect-time-max, ttl-max, sub:prefnew), each
 * set kept in a model that a get is checked against (or against `value`
 * when given: a default):
 *
 *   nng_socket_set / nng_socket_get {sock, option, value}
 *   nng_ctx_set / nng_ctx_get {ctx, option, value}
 *   nng_dialer_set / nng_dialer_get {dialer, option, value}
 *
 * Dialers and listeners as objects:
 *
 *   nng_listener_create {as, sock, url}, nng_listener_start {listener},
 *   nng_listener_close {listener}
 *   nng_dialer_create {as, sock, url}, nng_dialer_start {dialer,
 *   nonblock}, nng_dialer_close {dialer}
 *
 * Contexts (req, rep, sub, surveyor, respondent):
 *
 *   nng_ctx_open {as, sock}, nng_ctx_close {ctx}
 *   nng_ctx_subscribe {ctx, topic}
 *   nng_ctx_send {ctx, size, deadline_ms}   synchronous: an aio of the
 *   nng_ctx_recv {ctx, deadline_ms}         op's own, nng_aio_wait
 *
 * Asynchronous I/O: an aio object (its completion callback runs on
 * NNG's thread: it takes the result, frees a failed send's message,
 * which stays the caller's (nng_send_aio(3)), checks and frees a
 * received one (nng_recv_aio(3)); nothing else):
 *
 *   nng_aio_alloc {as}
 *   nng_send_aio {aio, sock | ctx, size | msg, timeout_ms}   starts a send
 *                               (ctx: nng_ctx_send) of a message the byte
 *                               model builds, or of a message object's
 *                               message (which then leaves the object)
 *   nng_recv_aio {aio, sock | ctx, timeout_ms}   starts a receive
 *                               (timeout_ms: -2 the socket's or context's
 *                               default, -1 none, 0 at once, ...)
 *   nng_aio_wait {aio, deadline_ms}   waits for the callback (until the
 *                               op's deadline: FL_ETIMEDOUT, the aio still
 *                               in flight), then nng_aio_wait; the op's
 *                               result is the operation's
 *   nng_aio_result {aio}        the completed operation's result
 *                               (FL_EAGAIN while in flight)
 *   nng_aio_cancel {aio}, nng_aio_stop {aio}
 *   nng_aio_free {aio, stop}    stop (default) first, or free while in
 *                               flight (nng_aio_free(3) stops implicitly)
 *
 * Each is allowed at any step: in flight, after a timeout, after a stop.
 * The adapter keeps to the contract: one operation on an aio at a time
 * (a start while one is in flight: FL_EBUSY, NNG not called), none after
 * nng_aio_stop (FL_ESTATE: "no new operations will be started"),
 * nng_aio_result only once the operation completed, and no aio freed
 * while another actor is inside a call on it.
 *
 * Messages: a msg object with a model of its body and header bytes,
 * checked against nng_msg_len, nng_msg_body, nng_msg_header_len and
 * nng_msg_header after every op (a difference is a target_model
 * violation naming the op):
 *
 *   nng_msg_alloc {as, size}, nng_msg_dup {as, msg}, nng_msg_free {msg}
 *   nng_msg_append, _insert, _trim, _chop {msg, size}
 *   nng_msg_header_append, _insert, _trim, _chop {msg, size}
 *   nng_msg_append_u32, _insert_u32 {msg, value}, nng_msg_trim_u32,
 *   _chop_u32 {msg} (big-endian, nng_msg_append(3))
 *   nng_msg_realloc, nng_msg_reserve {msg, size}
 *   nng_msg_clear, nng_msg_header_clear {msg}
 *   nng_sendmsg {sock, msg, nonblock, deadline_ms}  on success the
 *                               socket owns the message (the object is
 *                               left empty); on failure the object keeps it
 *   nng_recvmsg {as, sock, nonblock, deadline_ms}   a msg object
 *
 * The byte model: every message sent (by any op) is registered, its
 * length and a 64-bit hash of its body; every message received is
 * checked against them, and one that is none of them is a target_model
 * violation.  Bytes the adapter makes follow a pattern a key picks
 * (gen_bytes).  NNG's errors map onto faultline's codes (timed out,
 * closed, state, no memory, ...); the story keeps NNG's own word for
 * each (fl_target_note).
 *
 * Gauges, each zero once every object closed: sockets_open, aios_open,
 * ctxs_open, msgs_open (msg objects), msgs_held (NNG messages the
 * adapter owns: made, received or taken back from a failed send, and not
 * yet freed or handed to a socket), dialers_open, listeners_open.
 *
 * Every op has a C form (faultline repro --c, at the end of this file):
 * a failing run written as a program on NNG's public API alone.
 *
 * NNG runs threads of its own: its scenarios run in stress mode, or in
 * proc mode, an actor a process (ipc:// names are per run, and the byte
 * model is in the run's shared memory, so the processes meet and judge
 * each other's messages).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/protocol/survey0/respond.h>
#include <nng/protocol/survey0/survey.h>
#include <nng/supplemental/util/platform.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/target.h"

/* ---- handles ------------------------------------------------------------
 *
 * A socket, context, dialer or listener object is its NNG id plus one,
 * not a pointer: another actor may close it while an op of this one is
 * inside a call on it (NNG answers that op NNG_ECLOSED), and nothing of
 * the adapter's may be freed under it.  An aio or msg object is a slot
 * of a table that lives as long as the process, and a generation: an op
 * holding a handle whose object another actor freed finds the
 * generation changed (FL_ENOENT), never freed memory. */
static void *
obj_of_id(uint32_t id)
{
	return (void *)((uintptr_t)id + 1);
}

static uint32_t
id_of(void *obj)
{
	return (uint32_t)((uintptr_t)obj - 1);
}

static nng_socket
sock_of(void *obj)
{
	nng_socket s = { .id = id_of(obj) };

	return s;
}

static nng_ctx
ctx_of(void *obj)
{
	nng_ctx c = { .id = id_of(obj) };

	return c;
}

static nng_dialer
dialer_of(void *obj)
{
	nng_dialer d = { .id = id_of(obj) };

	return d;
}

static nng_listener
listener_of(void *obj)
{
	nng_listener l = { .id = id_of(obj) };

	return l;
}

static void *
slot_handle(size_t index, uint32_t gen)
{
	return (void *)(((uintptr_t)gen << 16) | (uintptr_t)(index + 1));
}

static size_t
slot_index(void *h)
{
	return (size_t)(((uintptr_t)h & 0xffffu) - 1);
}

static uint32_t
slot_gen(void *h)
{
	return (uint32_t)((uintptr_t)h >> 16);
}

static atomic_long sockets_open, aios_open, ctxs_open, msgs_open, msgs_held, dialers_open,
        listeners_open;
static atomic_uint next_key = 1;

/* NNG's error as faultline's code; the story keeps NNG's own. */
static int
fl_of(const char *what, int rv)
{
	if (rv == 0)
		return 0;
	fl_target_note("%s: %s (NNG error %d)", what, nng_strerror(rv), rv);
	switch (rv) {
	case NNG_ETIMEDOUT: return FL_ETIMEDOUT;
	case NNG_ECLOSED: return FL_ECLOSED;
	case NNG_EAGAIN: return FL_EAGAIN;
	case NNG_ENOMEM: return FL_ENOMEM;
	case NNG_ESTATE: return FL_ESTATE;
	case NNG_ECANCELED: return FL_ECANCELED;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP: return FL_EINVAL;
	case NNG_EMSGSIZE: return FL_EMSGSIZE;
	case NNG_EBUSY: return FL_EBUSY;
	case NNG_EPERM: return FL_EPERM;
	case NNG_EADDRINUSE: return FL_EEXIST;
	case NNG_ENOENT:
	case NNG_ECONNREFUSED: return FL_ENOENT;
	default: return FL_EIO;
	}
}

/* The milliseconds left until deadline_ns (at least 0). */
static nng_duration
ms_left(uint64_t deadline_ns)
{
	uint64_t now = fl_clock_now_ns();

	return deadline_ns > now ? (nng_duration)((deadline_ns - now) / 1000000u) : 0;
}

/* ---- the byte model -----------------------------------------------------
 *
 * Bytes the adapter makes: a pattern its key picks, whose period is
 * long (a slice shifted by 256 bytes does not match itself). */
static void
gen_bytes(unsigned char *p, size_t n, unsigned key)
{
	/* Every byte of the key in the pattern (a message of 4 bytes or
	 * more is its key's alone), not only its low byte. */
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((key * 131u + i + (i >> 8) * 17u) ^ (key >> (8 * (i % 4))));
}

static uint64_t
hash_bytes(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)n;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* Every message sent in this run: its length and hash, in the run's
 * shared memory (fl_target_shared), so that in proc mode a message an
 * actor's process receives is judged against those every process sent.
 * A record is claimed by its index, then published by `ready`; the
 * table is full at SENT_MAX, and a receive that matches none is then
 * not judged as wrong but as unjudgeable: said, never silent. */
#define SENT_MAX 16384
struct sent_rec {
	uint64_t hash;
	uint64_t len;
	_Atomic uint32_t ready;
};
struct sent_table {
	_Atomic uint32_t n;    /* records claimed (may pass SENT_MAX: then full) */
	_Atomic uint32_t keys; /* message keys taken in the run (take_key) */
	struct sent_rec rec[SENT_MAX];
};

static struct sent_table *
sent_table(void)
{
	return fl_target_shared();
}

/* The next message key: from the run's shared count (two processes of
 * a proc run never make the same bytes), else this process's. */
static unsigned
take_key(void)
{
	struct sent_table *t = sent_table();

	return t != NULL ? atomic_fetch_add(&t->keys, 1) + 1 : atomic_fetch_add(&next_key, 1);
}

/* Records the bytes of a message about to be sent.  Built with
 * -DNNG_TARGET_PLANT_CORRUPT (faultline-target-nng-corrupt.so, a planted
 * build for the tests), it then changes the message's last byte, as a
 * library that corrupted it in transit would: the receiver, in proc mode
 * another process, must find it differs from every message sent. */
static void
sent_add(unsigned char *p, size_t n)
{
	struct sent_table *t = sent_table();
	uint32_t i;

	if (t == NULL)
		return; /* outside a run: nothing judges it */
	i = atomic_fetch_add(&t->n, 1);
	if (i >= SENT_MAX)
		return;
	t->rec[i].hash = hash_bytes(p, n);
	t->rec[i].len = n;
	atomic_store_explicit(&t->rec[i].ready, 1, memory_order_release);
#ifdef NNG_TARGET_PLANT_CORRUPT
	if (n > 0)
		p[n - 1] ^= 0x5a;
#endif
}

/* A message received is one of those sent: otherwise a violation. */
static void
sent_check(const char *who, const unsigned char *p, size_t n)
{
	uint64_t h = hash_bytes(p, n);
	struct sent_table *t = sent_table();
	bool found = false, full;
	uint32_t k;

	if (t == NULL) {
		/* Never in a run (the table is there from its start): said,
		 * should it ever be, never a message passed unjudged. */
		fl_target_violation("%s received a %zu-byte message with no byte model to judge "
		                    "it by (the run's shared memory is missing)",
		                    who, n);
		return;
	}
	k = atomic_load(&t->n);
	full = k > SENT_MAX;
	if (full)
		k = SENT_MAX;
	for (uint32_t i = 0; i < k && !found; i++)
		found = atomic_load_explicit(&t->rec[i].ready, memory_order_acquire) &&
		        t->rec[i].hash == h && t->rec[i].len == n;
	if (!found && !full)
		fl_target_violation("%s received a %zu-byte message that differs from every one "
		                    "sent",
		                    who, n);
	else if (!found)
		fl_target_violation("%s received a %zu-byte message the adapter cannot judge: a "
		                    "message sent earlier could not be kept (out of memory)",
		                    who, n);
}

/* ---- ipc:// names ------------------------------------------------------- */

#define IPC_MAX 32
static pthread_mutex_t ipc_mu = PTHREAD_MUTEX_INITIALIZER;
static char ipc_paths[IPC_MAX][128];
static size_t ipc_n;

/* url as NNG gets it: ipc://NAME (NAME relative) is a path in the run's
 * directory (fl_target_run_dir: the same in every process of a proc
 * run, where the actors' processes meet at it, and removed with the run
 * however it ends), remembered to be told of at the run's end by a
 * process that used it if NNG left it behind. */
static const char *
url_of(const char *url, char *buf, size_t n, bool listens)
{
	const char *name;
	bool known = false;

	if (strncmp(url, "ipc://", 6) != 0 || url[6] == '/')
		return url;
	name = url + 6;
	if (fl_target_run_dir() == NULL) {
		/* No place of the run's: NNG gets an address without a path
		 * (the op fails, and the run with it), never a file that
		 * would outlive the run. */
		fl_target_note("ipc://%s: the run's directory cannot be made", name);
		snprintf(buf, n, "ipc://");
		return buf;
	}
	snprintf(buf, n, "ipc://%s/%s", fl_target_run_dir(), name);
	if (!listens)
		return buf; /* a dialer's: another process's socket, not this one's to tell of */
	pthread_mutex_lock(&ipc_mu);
	for (size_t i = 0; i < ipc_n && !known; i++)
		known = strcmp(ipc_paths[i], buf + 6) == 0;
	if (!known && ipc_n < IPC_MAX)
		snprintf(ipc_paths[ipc_n++], sizeof(ipc_paths[0]), "%s", buf + 6);
	pthread_mutex_unlock(&ipc_mu);
	return buf;
}

/* ---- sockets ------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*open)(nng_socket *);
} protocols[] = {
	{ "req", nng_req0_open },           { "rep", nng_rep0_open },
	{ "pub", nng_pub0_open },           { "sub", nng_sub0_open },
	{ "push", nng_push0_open },         { "pull", nng_pull0_open },
	{ "pair", nng_pair1_open },         { "bus", nng_bus0_open },
	{ "surveyor", nng_surveyor0_open }, { "respondent", nng_respondent0_open },
};

/* Pipes fully added to each open socket (nng_pipe_notify(3)), by socket
 * id: what nng_pipes_wait waits on. */
#define PIPES_MAX 256
static pthread_mutex_t pipes_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint32_t sock; /* 0: free */
	int pipes;
} pipes[PIPES_MAX];

static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	uint32_t id = nng_pipe_socket(p).id;

	(void)arg;
	pthread_mutex_lock(&pipes_mu);
	for (size_t i = 0; i < PIPES_MAX; i++)
		if (pipes[i].sock == id)
			pipes[i].pipes += ev == NNG_PIPE_EV_ADD_POST ? 1 : -1;
	pthread_mutex_unlock(&pipes_mu);
}

/* Track s's pipes from now (false: the table is full, or NNG refused). */
static bool
pipes_track(nng_socket s)
{
	size_t i;

	pthread_mutex_lock(&pipes_mu);
	for (i = 0; i < PIPES_MAX && pipes[i].sock != 0; i++)
		;
	if (i < PIPES_MAX) {
		pipes[i].sock = s.id;
		pipes[i].pipes = 0;
	}
	pthread_mutex_unlock(&pipes_mu);
	return i < PIPES_MAX && nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, pipe_event, NULL) == 0 &&
	       nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, pipe_event, NULL) == 0;
}

static void
pipes_forget(nng_socket s)
{
	pthread_mutex_lock(&pipes_mu);
	for (size_t i = 0; i < PIPES_MAX; i++)
		if (pipes[i].sock == s.id)
			pipes[i].sock = 0;
	pthread_mutex_unlock(&pipes_mu);
}

/* s's pipes now; -1 when it is not tracked. */
static int
pipes_of(nng_socket s)
{
	int n = -1;

	pthread_mutex_lock(&pipes_mu);
	for (size_t i = 0; i < PIPES_MAX; i++)
		if (pipes[i].sock == s.id)
			n = pipes[i].pipes;
	pthread_mutex_unlock(&pipes_mu);
	return n;
}

static int
op_socket(void *state, const struct fl_target_args *a, void **created)
{
	const char *proto = a->strs[0];
	nng_socket s;
	int rv;

	(void)state;
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		if (strcmp(proto, protocols[i].name) != 0)
			continue;
		rv = protocols[i].open(&s);
		if (rv != 0)
			return fl_of("open", rv);
		if (!pipes_track(s))
			fl_target_note("socket %u: its pipes cannot be counted (%d sockets open at "
			               "most): nng_pipes_wait on it fails",
			               (unsigned)s.id, PIPES_MAX);
		atomic_fetch_add(&sockets_open, 1);
		*created = obj_of_id(s.id);
		return 0;
	}
	fl_target_note("no protocol '%s' (req, rep, pub, sub, push, pull, pair, bus, surveyor, "
	               "respondent)",
	               proto);
	return FL_EINVAL;
}

static int
op_listen(void *state, const struct fl_target_args *a, void **created)
{
	char buf[128];

	(void)state;
	(void)created;
	return fl_of("listen", nng_listen(sock_of(a->objs[0]),
	                                  url_of(a->strs[1], buf, sizeof(buf), true), NULL, 0));
}

static int
op_dial(void *state, const struct fl_target_args *a, void **created)
{
	char buf[128];

	(void)state;
	(void)created;
	return fl_of("dial",
	             nng_dial(sock_of(a->objs[0]), url_of(a->strs[1], buf, sizeof(buf), false),
	                      NULL, a->ints[2] ? NNG_FLAG_NONBLOCK : 0));
}

static int
op_subscribe(void *state, const struct fl_target_args *a, void **created)
{
	const char *topic = a->strs[1] != NULL ? a->strs[1] : "";

	(void)state;
	(void)created;
	return fl_of("subscribe", nng_socket_set(sock_of(a->objs[0]), NNG_OPT_SUB_SUBSCRIBE, topic,
	                                         strlen(topic)));
}

static void model_opt_set(int kind, uint32_t id, size_t opt, int64_t v);

enum { K_SOCK, K_CTX, K_DIALER, K_LISTENER };
#define OPT_RECVTIMEO 0
#define OPT_SENDTIMEO 1

/* A blocking send or receive bounded by the op's own deadline: through
 * an aio of that timeout (nng_aio_set_timeout(3)), not the socket's
 * send-timeout or recv-timeout option, which another actor sharing the
 * socket could set meanwhile (a premature NNG_ETIMEDOUT that would be
 * the adapter's).  A send that fails leaves *m the caller's
 * (nng_send_aio(3)); a receive that succeeds sets *m. */
static int
timed_io(nng_socket s, bool send, nng_msg **m, nng_duration ms)
{
	nng_aio *aio;
	int rv = nng_aio_alloc(&aio, NULL, NULL);

	if (rv != 0)
		return rv;
	nng_aio_set_timeout(aio, ms);
	if (send) {
		nng_aio_set_msg(aio, *m);
		nng_send_aio(s, aio);
	} else {
		nng_recv_aio(s, aio);
	}
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (send && rv == 0)
		*m = NULL; /* the socket's */
	if (!send && rv == 0)
		*m = nng_aio_get_msg(aio);
	nng_aio_free(aio);
	return rv;
}

static int
op_send(void *state, const struct fl_target_args *a, void **created)
{
	nng_socket s = sock_of(a->objs[0]);
	size_t len = (size_t)a->ints[1];
	unsigned char *buf = malloc(len > 0 ? len : 1);
	nng_duration ms = ms_left(a->deadline_ns);
	int rv;

	(void)state;
	(void)created;
	if (buf == NULL)
		return FL_ENOMEM;
	gen_bytes(buf, len, take_key());
	sent_add(buf, len);
	{
		nng_msg *m = NULL;

		rv = nng_msg_alloc(&m, 0);
		if (rv == 0)
			rv = nng_msg_append(m, buf, len);
		if (rv == 0)
			rv = timed_io(s, true, &m, ms);
		if (m != NULL)
			nng_msg_free(m); /* not sent: still ours */
	}
	free(buf);
	return fl_of("send", rv);
}

static int
op_recv(void *state, const struct fl_target_args *a, void **created)
{
	nng_socket s = sock_of(a->objs[0]);
	nng_duration ms = ms_left(a->deadline_ns);
	char who[32];
	int rv;

	(void)state;
	(void)created;
	{
		nng_msg *m = NULL;

		rv = timed_io(s, false, &m, ms);
		if (rv != 0)
			return fl_of("recv", rv);
		snprintf(who, sizeof(who), "socket %u", (unsigned)s.id);
		sent_check(who, nng_msg_body(m), nng_msg_len(m));
		nng_msg_free(m);
	}
	return 0;
}

static int
op_pipes_wait(void *state, const struct fl_target_args *a, void **created)
{
	nng_socket s = sock_of(a->objs[0]);
	int want = (int)a->ints[1];
	int have;

	(void)state;
	(void)created;
	while ((have = pipes_of(s)) != want) {
		if (have < 0) {
			fl_target_note("nng_pipes_wait: socket %u's pipes are not counted",
			               (unsigned)s.id);
			return FL_EINVAL;
		}
		if (ms_left(a->deadline_ns) <= 0)
			return FL_ETIMEDOUT;
		nng_msleep(1);
	}
	return 0;
}

static void
sock_close(void *state, void *obj)
{
	(void)state;
	(void)nng_close(sock_of(obj));
	pipes_forget(sock_of(obj));
	atomic_fetch_sub(&sockets_open, 1);
}

static int
op_close(void *state, const struct fl_target_args *a, void **created)
{
	int rv = nng_close(sock_of(a->objs[0]));

	(void)state;
	(void)created;
	pipes_forget(sock_of(a->objs[0]));
	atomic_fetch_sub(&sockets_open, 1);
	return fl_of("close", rv);
}

/* ---- options ------------------------------------------------------------ */

enum opt_type { T_MS, T_SIZE, T_INT, T_BOOL };
static const struct {
	const char *name;
	enum opt_type type;
} options[] = {
	[OPT_RECVTIMEO] = { NNG_OPT_RECVTIMEO, T_MS },
	[OPT_SENDTIMEO] = { NNG_OPT_SENDTIMEO, T_MS },
	{ NNG_OPT_RECVMAXSZ, T_SIZE },
	{ NNG_OPT_RECVBUF, T_INT },
	{ NNG_OPT_SENDBUF, T_INT },
	{ NNG_OPT_REQ_RESENDTIME, T_MS },
	{ NNG_OPT_SURVEYOR_SURVEYTIME, T_MS },
	{ NNG_OPT_RECONNMINT, T_MS },
	{ NNG_OPT_RECONNMAXT, T_MS },
	{ NNG_OPT_MAXTTL, T_INT },
	{ NNG_OPT_SUB_PREFNEW, T_BOOL },
};
#define OPTIONS (sizeof(options) / sizeof(options[0]))

/* The values this adapter set, per object and option: a get must
 * return the last one. */
#define MODEL_MAX 512
static pthread_mutex_t model_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int kind;
	uint32_t id;
	size_t opt;
	int64_t v;
} model[MODEL_MAX];
static size_t model_n;

static void
model_opt_set(int kind, uint32_t id, size_t opt, int64_t v)
{
	size_t i;

	pthread_mutex_lock(&model_mu);
	for (i = 0; i < model_n; i++)
		if (model[i].kind == kind && model[i].id == id && model[i].opt == opt)
			break;
	if (i == MODEL_MAX)
		fl_target_violation("the adapter's option model is full (%d options): a get of "
		                    "this one cannot be judged",
		                    MODEL_MAX);
	if (i < MODEL_MAX) {
		model[i].kind = kind;
		model[i].id = id;
		model[i].opt = opt;
		model[i].v = v;
		if (i == model_n)
			model_n++;
	}
	pthread_mutex_unlock(&model_mu);
}

static bool
model_opt_get(int kind, uint32_t id, size_t opt, int64_t *v)
{
	bool found = false;

	pthread_mutex_lock(&model_mu);
	for (size_t i = 0; i < model_n && !found; i++)
		if (model[i].kind == kind && model[i].id == id && model[i].opt == opt) {
			*v = model[i].v;
			found = true;
		}
	pthread_mutex_unlock(&model_mu);
	return found;
}

static const char *const kind_names[] = { "socket", "context", "dialer", "listener" };

/* One setter and getter per kind and type of value. */
static int
opt_set(int kind, uint32_t id, size_t opt, int64_t v)
{
	const char *n = options[opt].name;

	switch (kind * 4 + (int)options[opt].type) {
	case K_SOCK * 4 + T_MS: return nng_socket_set_ms((nng_socket){ id }, n, (nng_duration)v);
	case K_SOCK * 4 + T_SIZE: return nng_socket_set_size((nng_socket){ id }, n, (size_t)v);
	case K_SOCK * 4 + T_INT: return nng_socket_set_int((nng_socket){ id }, n, (int)v);
	case K_SOCK * 4 + T_BOOL: return nng_socket_set_bool((nng_socket){ id }, n, v != 0);
	case K_CTX * 4 + T_MS: return nng_ctx_set_ms((nng_ctx){ id }, n, (nng_duration)v);
	case K_CTX * 4 + T_SIZE: return nng_ctx_set_size((nng_ctx){ id }, n, (size_t)v);
	case K_CTX * 4 + T_INT: return nng_ctx_set_int((nng_ctx){ id }, n, (int)v);
	case K_CTX * 4 + T_BOOL: return nng_ctx_set_bool((nng_ctx){ id }, n, v != 0);
	case K_DIALER * 4 + T_MS: return nng_dialer_set_ms((nng_dialer){ id }, n, (nng_duration)v);
	case K_DIALER * 4 + T_SIZE: return nng_dialer_set_size((nng_dialer){ id }, n, (size_t)v);
	case K_DIALER * 4 + T_INT: return nng_dialer_set_int((nng_dialer){ id }, n, (int)v);
	case K_DIALER * 4 + T_BOOL: return nng_dialer_set_bool((nng_dialer){ id }, n, v != 0);
	default: return NNG_ENOTSUP;
	}
}

static int
opt_get(int kind, uint32_t id, size_t opt, int64_t *v)
{
	const char *n = options[opt].name;
	nng_duration ms = 0;
	size_t sz = 0;
	int i = 0, rv;
	bool b = false;

	switch (kind * 4 + (int)options[opt].type) {
	case K_SOCK * 4 + T_MS: rv = nng_socket_get_ms((nng_socket){ id }, n, &ms); break;
	case K_SOCK * 4 + T_SIZE: rv = nng_socket_get_size((nng_socket){ id }, n, &sz); break;
	case K_SOCK * 4 + T_INT: rv = nng_socket_get_int((nng_socket){ id }, n, &i); break;
	case K_SOCK * 4 + T_BOOL: rv = nng_socket_get_bool((nng_socket){ id }, n, &b); break;
	case K_CTX * 4 + T_MS: rv = nng_ctx_get_ms((nng_ctx){ id }, n, &ms); break;
	case K_CTX * 4 + T_SIZE: rv = nng_ctx_get_size((nng_ctx){ id }, n, &sz); break;
	case K_CTX * 4 + T_INT: rv = nng_ctx_get_int((nng_ctx){ id }, n, &i); break;
	case K_CTX * 4 + T_BOOL: rv = nng_ctx_get_bool((nng_ctx){ id }, n, &b); break;
	case K_DIALER * 4 + T_MS: rv = nng_dialer_get_ms((nng_dialer){ id }, n, &ms); break;
	case K_DIALER * 4 + T_SIZE: rv = nng_dialer_get_size((nng_dialer){ id }, n, &sz); break;
	case K_DIALER * 4 + T_INT: rv = nng_dialer_get_int((nng_dialer){ id }, n, &i); break;
	case K_DIALER * 4 + T_BOOL: rv = nng_dialer_get_bool((nng_dialer){ id }, n, &b); break;
	default: return NNG_ENOTSUP;
	}
	switch (options[opt].type) {
	case T_MS: *v = ms; break;
	case T_SIZE: *v = (int64_t)sz; break;
	case T_INT: *v = i; break;
	case T_BOOL: *v = b; break;
	}
	return rv;
}

/* The option called name (quietly: the C forms use it too). */
static bool
opt_find(const char *name, size_t *opt)
{
	for (size_t i = 0; i < OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0) {
			*opt = i;
			return true;
		}
	return false;
}

static int
opt_index(const char *name, size_t *opt)
{
	if (opt_find(name, opt))
		return 0;
	fl_target_note("no option '%s' this adapter knows (recv-timeout, send-timeout, "
	               "recv-size-max, recv-buffer, send-buffer, req:resend-time, "
	               "surveyor:survey-time, reconnect-time-min, reconnect-time-max, ttl-max, "
	               "sub:prefnew)",
	               name);
	return FL_EINVAL;
}

/* `value` absent on a get: the model's. */
#define VALUE_ABSENT INT64_MIN

static int
do_set(int kind, const struct fl_target_args *a)
{
	uint32_t id = id_of(a->objs[0]);
	size_t opt;
	char what[96];
	int rv;

	if ((rv = opt_index(a->strs[1], &opt)) != 0)
		return rv;
	if (a->ints[2] == VALUE_ABSENT) {
		fl_target_note("a set of %s needs a value", options[opt].name);
		return FL_EINVAL;
	}
	rv = opt_set(kind, id, opt, a->ints[2]);
	snprintf(what, sizeof(what), "%s %u: set %s to %lld", kind_names[kind], (unsigned)id,
	         options[opt].name, (long long)a->ints[2]);
	if (rv == 0)
		model_opt_set(kind, id, opt, a->ints[2]);
	return fl_of(what, rv);
}

static int
do_get(int kind, const struct fl_target_args *a)
{
	uint32_t id = id_of(a->objs[0]);
	int64_t v = 0, want = a->ints[2];
	bool known = want != VALUE_ABSENT;
	size_t opt;
	char what[96];
	int rv;

	if ((rv = opt_index(a->strs[1], &opt)) != 0)
		return rv;
	snprintf(what, sizeof(what), "%s %u: get %s", kind_names[kind], (unsigned)id,
	         options[opt].name);
	rv = opt_get(kind, id, opt, &v);
	if (rv != 0)
		return fl_of(what, rv);
	if (!known)
		known = model_opt_get(kind, id, opt, &want);
	if (!known)
		fl_target_note("%s: %lld", what, (long long)v);
	else if (v != want)
		fl_target_violation("%s: %lld, but %lld was set (or given as its value)", what,
		                    (long long)v, (long long)want);
	return 0;
}

static int
op_socket_set(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return do_set(K_SOCK, a);
}

static int
op_socket_get(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return do_get(K_SOCK, a);
}

static int
op_ctx_set(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return do_set(K_CTX, a);
}

static int
op_ctx_get(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return do_get(K_CTX, a);
}

static int
op_dialer_set(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return do_set(K_DIALER, a);
}

static int
op_dialer_get(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return do_get(K_DIALER, a);
}

/* ---- dialers and listeners ---------------------------------------------- */

static int
op_listener_create(void *state, const struct fl_target_args *a, void **created)
{
	nng_listener l;
	char buf[128];
	int rv;

	(void)state;
	rv = nng_listener_create(&l, sock_of(a->objs[0]),
	                         url_of(a->strs[1], buf, sizeof(buf), true));
	if (rv != 0)
		return fl_of("listener_create", rv);
	atomic_fetch_add(&listeners_open, 1);
	*created = obj_of_id(l.id);
	return 0;
}

static int
op_listener_start(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return fl_of("listener_start", nng_listener_start(listener_of(a->objs[0]), 0));
}

static void
listener_close(void *state, void *obj)
{
	(void)state;
	(void)nng_listener_close(listener_of(obj));
	atomic_fetch_sub(&listeners_open, 1);
}

static int
op_listener_close(void *state, const struct fl_target_args *a, void **created)
{
	int rv = nng_listener_close(listener_of(a->objs[0]));

	(void)state;
	(void)created;
	atomic_fetch_sub(&listeners_open, 1);
	return fl_of("listener_close", rv);
}

static int
op_dialer_create(void *state, const struct fl_target_args *a, void **created)
{
	nng_dialer d;
	char buf[128];
	int rv;

	(void)state;
	rv = nng_dialer_create(&d, sock_of(a->objs[0]),
	                       url_of(a->strs[1], buf, sizeof(buf), false));
	if (rv != 0)
		return fl_of("dialer_create", rv);
	atomic_fetch_add(&dialers_open, 1);
	*created = obj_of_id(d.id);
	return 0;
}

static int
op_dialer_start(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return fl_of("dialer_start",
	             nng_dialer_start(dialer_of(a->objs[0]), a->ints[1] ? NNG_FLAG_NONBLOCK : 0));
}

static void
dialer_close(void *state, void *obj)
{
	(void)state;
	(void)nng_dialer_close(dialer_of(obj));
	atomic_fetch_sub(&dialers_open, 1);
}

static int
op_dialer_close(void *state, const struct fl_target_args *a, void **created)
{
	int rv = nng_dialer_close(dialer_of(a->objs[0]));

	(void)state;
	(void)created;
	atomic_fetch_sub(&dialers_open, 1);
	return fl_of("dialer_close", rv);
}

/* ---- contexts ----------------------------------------------------------- */

static int
op_ctx_open(void *state, const struct fl_target_args *a, void **created)
{
	nng_ctx c;
	int rv;

	(void)state;
	rv = nng_ctx_open(&c, sock_of(a->objs[0]));
	if (rv != 0)
		return fl_of("ctx_open", rv);
	atomic_fetch_add(&ctxs_open, 1);
	*created = obj_of_id(c.id);
	return 0;
}

static void
ctx_close(void *state, void *obj)
{
	(void)state;
	(void)nng_ctx_close(ctx_of(obj));
	atomic_fetch_sub(&ctxs_open, 1);
}

static int
op_ctx_close(void *state, const struct fl_target_args *a, void **created)
{
	int rv = nng_ctx_close(ctx_of(a->objs[0]));

	(void)state;
	(void)created;
	atomic_fetch_sub(&ctxs_open, 1);
	return fl_of("ctx_close", rv);
}

static int
op_ctx_subscribe(void *state, const struct fl_target_args *a, void **created)
{
	const char *topic = a->strs[1] != NULL ? a->strs[1] : "";

	(void)state;
	(void)created;
	return fl_of("ctx_subscribe",
	             nng_ctx_set(ctx_of(a->objs[0]), NNG_OPT_SUB_SUBSCRIBE, topic, strlen(topic)));
}

/* A message of len bytes the byte model makes (registered as sent). */
static int
msg_make(size_t len, nng_msg **mp)
{
	int rv = nng_msg_alloc(mp, len);

	if (rv != 0)
		return rv;
	atomic_fetch_add(&msgs_held, 1);
	gen_bytes(nng_msg_body(*mp), len, take_key());
	sent_add(nng_msg_body(*mp), len);
	return 0;
}

static void
msg_drop(nng_msg *m)
{
	nng_msg_free(m);
	atomic_fetch_sub(&msgs_held, 1);
}

/* A synchronous send or receive on a context: an aio of the op's own,
 * no callback, nng_aio_wait (nng_aio_alloc(3)). */
static int
ctx_sync(nng_ctx c, bool send, size_t len, uint64_t deadline_ns)
{
	nng_aio *aio;
	nng_msg *m = NULL;
	char who[40];
	int rv;

	snprintf(who, sizeof(who), "context %u", (unsigned)c.id);
	if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0)
		return fl_of("aio_alloc", rv);
	atomic_fetch_add(&aios_open, 1);
	if (send && (rv = msg_make(len, &m)) != 0)
		goto out;
	nng_aio_set_timeout(aio, ms_left(deadline_ns));
	nng_aio_set_msg(aio, m);
	if (send)
		nng_ctx_send(c, aio);
	else
		nng_ctx_recv(c, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	m = nng_aio_get_msg(aio);
	nng_aio_set_msg(aio, NULL);
	if (send && rv == 0) {
		atomic_fetch_sub(&msgs_held, 1); /* the socket's now */
	} else if (send) {
		/* Failed: the message is still the caller's (nng_send_aio(3)). */
		if (m != NULL)
			msg_drop(m);
		else
			fl_target_violation("%s: a failed send (NNG error %d) left no message in "
			                    "its aio for the caller to dispose of",
			                    who, rv);
	} else if (rv == 0) {
		if (m == NULL) {
			fl_target_violation("%s: a receive succeeded with no message", who);
		} else {
			atomic_fetch_add(&msgs_held, 1);
			sent_check(who, nng_msg_body(m), nng_msg_len(m));
			msg_drop(m);
		}
	}
out:
	nng_aio_free(aio);
	atomic_fetch_sub(&aios_open, 1);
	return fl_of(send ? "ctx_send" : "ctx_recv", rv);
}

static int
op_ctx_send(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return ctx_sync(ctx_of(a->objs[0]), true, (size_t)a->ints[1], a->deadline_ns);
}

static int
op_ctx_recv(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return ctx_sync(ctx_of(a->objs[0]), false, 0, a->deadline_ns);
}

/* ---- messages ----------------------------------------------------------- */

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static bool
bytes_room(struct bytes *b, size_t len)
{
	unsigned char *p;
	size_t cap = b->cap > 0 ? b->cap : 64;

	if (len <= b->cap)
		return true;
	while (cap < len)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

static bool
bytes_set(struct bytes *b, const void *p, size_t len)
{
	if (!bytes_room(b, len))
		return false;
	if (len > 0)
		memcpy(b->p, p, len);
	b->len = len;
	return true;
}

/* n bytes of src (or made) at the front or the back. */
static bool
bytes_add(struct bytes *b, const unsigned char *src, size_t n, bool front)
{
	if (!bytes_room(b, b->len + n))
		return false;
	if (front && b->len > 0)
		memmove(b->p + n, b->p, b->len);
	memcpy(b->p + (front ? 0 : b->len), src, n);
	b->len += n;
	return true;
}

static void
bytes_cut(struct bytes *b, size_t n, bool front)
{
	if (front && n < b->len)
		memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

#define MSG_SLOTS 256
struct msg_slot {
	pthread_mutex_t mu; /* held for every op on the object */
	uint32_t gen;
	bool used;
	nng_msg *m; /* NULL: sent (the socket's), or being sent */
	bool sending;
	struct bytes body, hdr;
};
static struct msg_slot msgs[MSG_SLOTS];
static pthread_mutex_t msgs_mu = PTHREAD_MUTEX_INITIALIZER;

/* A free slot, its mutex held; NULL when the table is full. */
static struct msg_slot *
msg_slot_new(void **handle)
{
	pthread_mutex_lock(&msgs_mu);
	for (size_t i = 0; i < MSG_SLOTS; i++) {
		struct msg_slot *s = &msgs[i];

		pthread_mutex_lock(&s->mu);
		if (!s->used) {
			s->used = true;
			s->gen = (s->gen + 1) & 0xffffffu;
			s->m = NULL;
			s->sending = false;
			s->body.len = s->hdr.len = 0;
			*handle = slot_handle(i, s->gen);
			pthread_mutex_unlock(&msgs_mu);
			atomic_fetch_add(&msgs_open, 1);
			return s;
		}
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&msgs_mu);
	fl_target_note("more than %d messages open at once", MSG_SLOTS);
	return NULL;
}

/* The slot of a handle, its mutex held; NULL when it was freed. */
static struct msg_slot *
msg_slot_of(void *h)
{
	struct msg_slot *s = &msgs[slot_index(h)];

	pthread_mutex_lock(&s->mu);
	if (s->used && s->gen == slot_gen(h))
		return s;
	pthread_mutex_unlock(&s->mu);
	fl_target_note("the message was freed by another actor");
	return NULL;
}

static void
msg_slot_release(struct msg_slot *s)
{
	s->used = false;
	s->m = NULL;
	free(s->body.p);
	free(s->hdr.p);
	memset(&s->body, 0, sizeof(s->body));
	memset(&s->hdr, 0, sizeof(s->hdr));
	atomic_fetch_sub(&msgs_open, 1);
}

/* The message against its model after op: false (a violation) when they
 * differ. */
static bool
msg_check(struct msg_slot *s, const char *op)
{
	size_t len = nng_msg_len(s->m), hlen = nng_msg_header_len(s->m);
	const unsigned char *body = nng_msg_body(s->m), *hdr = nng_msg_header(s->m);

	if (len != s->body.len || hlen != s->hdr.len) {
		fl_target_violation("%s: the message's body is %zu bytes and its header %zu, the "
		                    "model's %zu and %zu",
		                    op, len, hlen, s->body.len, s->hdr.len);
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if (body[i] != s->body.p[i]) {
			fl_target_violation("%s: the message's body differs from the model's at "
			                    "byte %zu of %zu",
			                    op, i, len);
			return false;
		}
	for (size_t i = 0; i < hlen; i++)
		if (hdr[i] != s->hdr.p[i]) {
			fl_target_violation("%s: the message's header differs from the model's at "
			                    "byte %zu of %zu",
			                    op, i, hlen);
			return false;
		}
	return true;
}

/* The model anew from the message (it came from NNG: a receive). */
static bool
msg_model_from(struct msg_slot *s)
{
	return bytes_set(&s->body, nng_msg_body(s->m), nng_msg_len(s->m)) &&
	       bytes_set(&s->hdr, nng_msg_header(s->m), nng_msg_header_len(s->m));
}

static int
op_msg_alloc(void *state, const struct fl_target_args *a, void **created)
{
	size_t len = (size_t)a->ints[0];
	struct msg_slot *s;
	int rv;

	(void)state;
	if ((s = msg_slot_new(created)) == NULL)
		return FL_ELIMIT;
	if ((rv = nng_msg_alloc(&s->m, len)) != 0) {
		msg_slot_release(s);
		pthread_mutex_unlock(&s->mu);
		return fl_of("msg_alloc", rv);
	}
	atomic_fetch_add(&msgs_held, 1);
	if (nng_msg_len(s->m) != len)
		fl_target_violation("nng_msg_alloc(%zu): a body of %zu bytes", len,
		                    nng_msg_len(s->m));
	else
		gen_bytes(nng_msg_body(s->m), len, take_key());
	if (!msg_model_from(s)) {
		msg_drop(s->m);
		msg_slot_release(s);
		pthread_mutex_unlock(&s->mu);
		return FL_ENOMEM;
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* The slot of an op's message, held, with a message in it (not sent). */
static int
msg_take(void *h, struct msg_slot **sp)
{
	struct msg_slot *s = msg_slot_of(h);

	if (s == NULL)
		return FL_ENOENT;
	if (s->m == NULL) {
		fl_target_note("the message object holds no message: %s",
		               s->sending ? "it is being sent" : "it was sent");
		pthread_mutex_unlock(&s->mu);
		return FL_ESTATE;
	}
	*sp = s;
	return 0;
}

enum msg_edit { E_APPEND, E_INSERT, E_TRIM, E_CHOP };
static const char *const edit_names[2][4] = {
	{ "nng_msg_append", "nng_msg_insert", "nng_msg_trim", "nng_msg_chop" },
	{ "nng_msg_header_append", "nng_msg_header_insert", "nng_msg_header_trim",
	  "nng_msg_header_chop" },
};

/* An edit of n bytes of the body or the header, the model alongside:
 * a trim or chop of more than there is must fail with NNG_EINVAL and
 * leave the message as it was (nng_msg_trim(3)); anything else must
 * succeed. */
static int
msg_edit(void *h, bool header, enum msg_edit e, size_t n)
{
	const char *name = edit_names[header][e];
	struct msg_slot *s;
	struct bytes *b;
	unsigned char *src = NULL;
	char what[96];
	bool too_short, model_ok = true;
	int rv;

	if ((rv = msg_take(h, &s)) != 0)
		return rv;
	b = header ? &s->hdr : &s->body;
	too_short = (e == E_TRIM || e == E_CHOP) && n > b->len;
	if (e == E_APPEND || e == E_INSERT) {
		if ((src = malloc(n > 0 ? n : 1)) == NULL) {
			pthread_mutex_unlock(&s->mu);
			return FL_ENOMEM;
		}
		gen_bytes(src, n, take_key());
	}
	switch ((int)header * 4 + (int)e) {
	case E_APPEND: rv = nng_msg_append(s->m, src, n); break;
	case E_INSERT: rv = nng_msg_insert(s->m, src, n); break;
	case E_TRIM: rv = nng_msg_trim(s->m, n); break;
	case E_CHOP: rv = nng_msg_chop(s->m, n); break;
	case 4 + E_APPEND: rv = nng_msg_header_append(s->m, src, n); break;
	case 4 + E_INSERT: rv = nng_msg_header_insert(s->m, src, n); break;
	case 4 + E_TRIM: rv = nng_msg_header_trim(s->m, n); break;
	default: rv = nng_msg_header_chop(s->m, n); break;
	}
	snprintf(what, sizeof(what), "%s(%zu) of a %zu-byte %s", name, n, b->len,
	         header ? "header" : "body");
	if (too_short && rv != NNG_EINVAL)
		fl_target_violation("%s: %s, not NNG_EINVAL", what,
		                    rv == 0 ? "succeeded" : nng_strerror(rv));
	else if (!too_short && rv != 0 && rv != NNG_ENOMEM)
		fl_target_violation("%s failed: %s", what, nng_strerror(rv));
	if (rv == 0 && !too_short) {
		if (e == E_APPEND || e == E_INSERT) {
			if (!bytes_add(b, src, n, e == E_INSERT))
				model_ok = false;
		} else {
			bytes_cut(b, n, e == E_TRIM);
		}
	}
	free(src);
	if (model_ok)
		(void)msg_check(s, what);
	pthread_mutex_unlock(&s->mu);
	return model_ok ? fl_of(what, rv) : FL_ENOMEM;
}

/* The ops of one edit of a message's body or header: the function a
 * table entry points at, one per (part, edit). */
#define MSG_EDIT_OP(fn, header, edit)                                                              \
	static int fn(void *state, const struct fl_target_args *a, void **created)                 \
	{                                                                                          \
		(void)state;                                                                       \
		(void)created;                                                                     \
		return msg_edit(a->objs[0], header, edit, (size_t)a->ints[1]);                     \
	}
MSG_EDIT_OP(op_msg_append, false, E_APPEND)
MSG_EDIT_OP(op_msg_insert, false, E_INSERT)
MSG_EDIT_OP(op_msg_trim, false, E_TRIM)
MSG_EDIT_OP(op_msg_chop, false, E_CHOP)
MSG_EDIT_OP(op_msg_header_append, true, E_APPEND)
MSG_EDIT_OP(op_msg_header_insert, true, E_INSERT)
MSG_EDIT_OP(op_msg_header_trim, true, E_TRIM)
MSG_EDIT_OP(op_msg_header_chop, true, E_CHOP)

/* The u32 forms: 4 bytes, big-endian (nng_msg_append(3), nng_msg_trim(3)). */
static int
msg_u32(void *h, enum msg_edit e, uint32_t v)
{
	static const char *const names[] = { "nng_msg_append_u32", "nng_msg_insert_u32",
		                             "nng_msg_trim_u32", "nng_msg_chop_u32" };
	unsigned char be[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		                (unsigned char)(v >> 8), (unsigned char)v };
	struct msg_slot *s;
	uint32_t got = 0, want = 0;
	char what[80];
	bool too_short;
	int rv;

	if ((rv = msg_take(h, &s)) != 0)
		return rv;
	too_short = (e == E_TRIM || e == E_CHOP) && s->body.len < 4;
	if (!too_short && (e == E_TRIM || e == E_CHOP)) {
		const unsigned char *p = s->body.p + (e == E_TRIM ? 0 : s->body.len - 4);

		want = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	}
	switch (e) {
	case E_APPEND: rv = nng_msg_append_u32(s->m, v); break;
	case E_INSERT: rv = nng_msg_insert_u32(s->m, v); break;
	case E_TRIM: rv = nng_msg_trim_u32(s->m, &got); break;
	default: rv = nng_msg_chop_u32(s->m, &got); break;
	}
	snprintf(what, sizeof(what), "%s of a %zu-byte body", names[e], s->body.len);
	if (too_short && rv != NNG_EINVAL)
		fl_target_violation("%s: %s, not NNG_EINVAL", what,
		                    rv == 0 ? "succeeded" : nng_strerror(rv));
	else if (!too_short && rv != 0 && rv != NNG_ENOMEM)
		fl_target_violation("%s failed: %s", what, nng_strerror(rv));
	if (rv == 0 && !too_short) {
		if (e == E_APPEND || e == E_INSERT) {
			if (!bytes_add(&s->body, be, 4, e == E_INSERT)) {
				pthread_mutex_unlock(&s->mu);
				return FL_ENOMEM;
			}
		} else {
			if (got != want)
				fl_target_violation("%s: read %#x, the model says %#x", what,
				                    (unsigned)got, (unsigned)want);
			bytes_cut(&s->body, 4, e == E_TRIM);
		}
	}
	(void)msg_check(s, what);
	pthread_mutex_unlock(&s->mu);
	return fl_of(what, rv);
}

static int
op_msg_append_u32(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return msg_u32(a->objs[0], E_APPEND, (uint32_t)a->ints[1]);
}

static int
op_msg_insert_u32(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return msg_u32(a->objs[0], E_INSERT, (uint32_t)a->ints[1]);
}

static int
op_msg_trim_u32(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return msg_u32(a->objs[0], E_TRIM, 0);
}

static int
op_msg_chop_u32(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return msg_u32(a->objs[0], E_CHOP, 0);
}

/* nng_msg_realloc(3): a body of size bytes, what it held kept up to the
 * shorter of the two; the bytes it grew by are then the adapter's. */
static int
op_msg_realloc(void *state, const struct fl_target_args *a, void **created)
{
	size_t len = (size_t)a->ints[1], old;
	struct msg_slot *s;
	char what[80];
	int rv;

	(void)state;
	(void)created;
	if ((rv = msg_take(a->objs[0], &s)) != 0)
		return rv;
	old = s->body.len;
	snprintf(what, sizeof(what), "nng_msg_realloc(%zu) of a %zu-byte body", len, old);
	rv = nng_msg_realloc(s->m, len);
	if (rv == 0) {
		if (len > old && !bytes_room(&s->body, len)) {
			pthread_mutex_unlock(&s->mu);
			return FL_ENOMEM;
		}
		if (len > old) {
			/* What it grew by is unspecified: compare the rest. */
			memcpy(s->body.p + old, (unsigned char *)nng_msg_body(s->m) + old,
			       nng_msg_len(s->m) >= len ? len - old : 0);
		}
		s->body.len = len;
		if (msg_check(s, what) && len > old) {
			gen_bytes((unsigned char *)nng_msg_body(s->m) + old, len - old, take_key());
			memcpy(s->body.p + old, (unsigned char *)nng_msg_body(s->m) + old,
			       len - old);
		}
	} else if (rv != NNG_ENOMEM) {
		fl_target_violation("%s failed: %s", what, nng_strerror(rv));
	}
	pthread_mutex_unlock(&s->mu);
	return fl_of(what, rv);
}

static int
op_msg_reserve(void *state, const struct fl_target_args *a, void **created)
{
	size_t cap = (size_t)a->ints[1];
	struct msg_slot *s;
	char what[80];
	int rv;

	(void)state;
	(void)created;
	if ((rv = msg_take(a->objs[0], &s)) != 0)
		return rv;
	snprintf(what, sizeof(what), "nng_msg_reserve(%zu) of a %zu-byte body", cap, s->body.len);
	rv = nng_msg_reserve(s->m, cap);
	if (rv != 0 && rv != NNG_ENOMEM)
		fl_target_violation("%s failed: %s", what, nng_strerror(rv));
	(void)msg_check(s, what);
	pthread_mutex_unlock(&s->mu);
	return fl_of(what, rv);
}

static int
op_msg_clear(void *state, const struct fl_target_args *a, void **created)
{
	struct msg_slot *s;
	int rv;

	(void)state;
	(void)created;
	if ((rv = msg_take(a->objs[0], &s)) != 0)
		return rv;
	nng_msg_clear(s->m);
	s->body.len = 0;
	(void)msg_check(s, "nng_msg_clear");
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int
op_msg_header_clear(void *state, const struct fl_target_args *a, void **created)
{
	struct msg_slot *s;
	int rv;

	(void)state;
	(void)created;
	if ((rv = msg_take(a->objs[0], &s)) != 0)
		return rv;
	nng_msg_header_clear(s->m);
	s->hdr.len = 0;
	(void)msg_check(s, "nng_msg_header_clear");
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* nng_msg_dup(3): a new message, body and header as the original's. */
static int
op_msg_dup(void *state, const struct fl_target_args *a, void **created)
{
	struct msg_slot *s, *d;
	nng_msg *m;
	int rv;

	(void)state;
	if ((rv = msg_take(a->objs[0], &s)) != 0)
		return rv;
	rv = nng_msg_dup(&m, s->m);
	if (rv != 0) {
		pthread_mutex_unlock(&s->mu);
		return fl_of("nng_msg_dup", rv);
	}
	atomic_fetch_add(&msgs_held, 1);
	/* Lock order: the table, then a slot; s is released first. */
	struct bytes body = { 0 }, hdr = { 0 };
	bool ok = bytes_set(&body, s->body.p, s->body.len) && bytes_set(&hdr, s->hdr.p, s->hdr.len);
	(void)msg_check(s, "nng_msg_dup (the original)");
	pthread_mutex_unlock(&s->mu);
	if (!ok || (d = msg_slot_new(created)) == NULL) {
		free(body.p);
		free(hdr.p);
		msg_drop(m);
		return ok ? FL_ELIMIT : FL_ENOMEM;
	}
	d->m = m;
	free(d->body.p);
	free(d->hdr.p);
	d->body = body;
	d->hdr = hdr;
	(void)msg_check(d, "nng_msg_dup (the copy)");
	pthread_mutex_unlock(&d->mu);
	return 0;
}

static void
msg_close(void *state, void *obj)
{
	struct msg_slot *s = msg_slot_of(obj);

	(void)state;
	if (s == NULL)
		return;
	if (s->m != NULL)
		msg_drop(s->m);
	msg_slot_release(s);
	pthread_mutex_unlock(&s->mu);
}

static int
op_msg_free(void *state, const struct fl_target_args *a, void **created)
{
	(void)created;
	msg_close(state, a->objs[0]);
	return 0;
}

/* nng_sendmsg(3): on success the socket owns the message; on failure
 * the caller does (the object keeps it: its model anew from what it
 * holds, the story saying whether the failed send changed it). */
static int
op_sendmsg(void *state, const struct fl_target_args *a, void **created)
{
	nng_socket sock = sock_of(a->objs[0]);
	void *h = a->objs[1];
	nng_duration ms = ms_left(a->deadline_ns);
	struct msg_slot *s;
	nng_msg *m;
	int rv;

	(void)state;
	(void)created;
	if ((rv = msg_take(h, &s)) != 0)
		return rv;
	if (!msg_check(s, "nng_sendmsg (before)")) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	m = s->m;
	s->m = NULL;
	s->sending = true;
	sent_add(nng_msg_body(m), nng_msg_len(m));
	pthread_mutex_unlock(&s->mu);
	if (a->ints[2]) {
		rv = nng_sendmsg(sock, m, NNG_FLAG_NONBLOCK);
	} else {
		nng_msg *mm = m;

		rv = timed_io(sock, true, &mm, ms); /* on failure mm is m, ours */
	}
	if (rv == 0)
		atomic_fetch_sub(&msgs_held, 1); /* the socket's now */
	if ((s = msg_slot_of(h)) == NULL) {
		if (rv != 0)
			msg_drop(m); /* the object was freed meanwhile */
		return fl_of("sendmsg", rv);
	}
	s->sending = false;
	if (rv != 0) {
		size_t len = s->body.len, hlen = s->hdr.len;

		s->m = m;
		if (nng_msg_len(m) != len || nng_msg_header_len(m) != hlen ||
		    memcmp(nng_msg_body(m), s->body.p, len) != 0 ||
		    memcmp(nng_msg_header(m), s->hdr.p, hlen) != 0)
			fl_target_note("the failed nng_sendmsg left the message changed (body %zu "
			               "bytes, header %zu; it had %zu and %zu)",
			               nng_msg_len(m), nng_msg_header_len(m), len, hlen);
		if (!msg_model_from(s))
			fl_target_note("no memory for the message's model");
	}
	pthread_mutex_unlock(&s->mu);
	return fl_of("sendmsg", rv);
}

static int
op_recvmsg(void *state, const struct fl_target_args *a, void **created)
{
	nng_socket sock = sock_of(a->objs[0]);
	nng_duration ms = ms_left(a->deadline_ns);
	struct msg_slot *s;
	nng_msg *m = NULL;
	char who[32];
	int rv;

	(void)state;
	rv = a->ints[1] ? nng_recvmsg(sock, &m, NNG_FLAG_NONBLOCK) : timed_io(sock, false, &m, ms);
	if (rv != 0)
		return fl_of("recvmsg", rv);
	atomic_fetch_add(&msgs_held, 1);
	snprintf(who, sizeof(who), "socket %u", (unsigned)sock.id);
	sent_check(who, nng_msg_body(m), nng_msg_len(m));
	if ((s = msg_slot_new(created)) == NULL) {
		msg_drop(m);
		return FL_ELIMIT;
	}
	s->m = m;
	if (!msg_model_from(s)) {
		msg_drop(m);
		msg_slot_release(s);
		pthread_mutex_unlock(&s->mu);
		return FL_ENOMEM;
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* ---- aio ----------------------------------------------------------------
 *
 * An aio object is a slot: its NNG aio, allocated with a callback that
 * collects the operation (below), and the state of its one operation.
 * Locks: `use` serializes the calls that start an operation, stop it,
 * wait for it once it completed, read its result and free the aio (the
 * callback never takes it, so nng_aio_stop and nng_aio_wait may be
 * called holding it); `mu` guards the state (the callback takes it, so
 * it is never held across a call that may run the callback). */
#define AIO_SLOTS 128
enum { A_IDLE, A_BUSY, A_DONE };
enum { AIO_SEND, AIO_RECV };
struct aio_slot {
	pthread_mutex_t mu, use;
	pthread_cond_t cv;
	uint32_t gen;
	bool used, dying, stopped;
	int refs; /* ops of other actors inside a call on it */
	nng_aio *aio;
	int state, op, result;
	unsigned number; /* the story's */
	char what[64];   /* the operation, for the story */
};
static struct aio_slot aios[AIO_SLOTS];
static pthread_mutex_t aios_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint aio_numbers;

/* The completed (or stopped) operation: its result; a failed send's
 * message back from the aio and freed (the caller's, nng_send_aio(3));
 * a received message checked and freed.  s->mu held; the operation is
 * no longer in progress (its callback, or after nng_aio_stop). */
static void
aio_collect(struct aio_slot *s)
{
	nng_msg *m;
	char who[96];

	s->result = nng_aio_result(s->aio);
	m = nng_aio_get_msg(s->aio);
	nng_aio_set_msg(s->aio, NULL);
	snprintf(who, sizeof(who), "aio %u (%s)", s->number, s->what);
	if (s->op == AIO_SEND && s->result == 0) {
		atomic_fetch_sub(&msgs_held, 1); /* the socket's now */
	} else if (s->op == AIO_SEND) {
		if (m != NULL)
			msg_drop(m);
		else
			fl_target_violation("%s: a failed send (NNG error %d) left no message in "
			                    "its aio for the caller to dispose of",
			                    who, s->result);
	} else if (s->result == 0) {
		if (m == NULL) {
			fl_target_violation("%s: a receive succeeded with no message", who);
		} else {
			atomic_fetch_add(&msgs_held, 1);
			sent_check(who, nng_msg_body(m), nng_msg_len(m));
			msg_drop(m);
		}
	}
	s->state = A_DONE;
	pthread_cond_broadcast(&s->cv);
}

/* The completion callback, on NNG's thread: short, nothing blocking. */
static void
aio_callback(void *arg)
{
	struct aio_slot *s = arg;

	pthread_mutex_lock(&s->mu);
	if (s->state != A_BUSY)
		fl_target_violation("aio %u: its callback ran with no operation in flight (after "
		                    "nng_aio_stop returned, or twice)",
		                    s->number);
	else
		aio_collect(s);
	pthread_mutex_unlock(&s->mu);
}

/* The slot of a handle, referenced (an op is inside a call on it), or
 * NULL: freed (by another actor), or being freed. */
static struct aio_slot *
aio_ref(void *h)
{
	struct aio_slot *s = &aios[slot_index(h)];

	pthread_mutex_lock(&s->mu);
	if (s->used && s->gen == slot_gen(h) && !s->dying) {
		s->refs++;
		pthread_mutex_unlock(&s->mu);
		return s;
	}
	pthread_mutex_unlock(&s->mu);
	fl_target_note("the aio is freed, or being freed, by another actor");
	return NULL;
}

static void
aio_unref(struct aio_slot *s)
{
	pthread_mutex_lock(&s->mu);
	s->refs--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Waits on s->cv (s->mu held) for at most 10 ms of deadline_ns. */
static void
aio_cv_wait(struct aio_slot *s, uint64_t deadline_ns)
{
	uint64_t now = fl_clock_now_ns(), ns = 10000000u;
	struct timespec ts;

	if (deadline_ns > now && deadline_ns - now < ns)
		ns = deadline_ns - now;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)ns;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static int
op_aio_alloc(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)a;
	pthread_mutex_lock(&aios_mu);
	for (size_t i = 0; i < AIO_SLOTS; i++) {
		struct aio_slot *s = &aios[i];
		int rv;

		if (s->used)
			continue;
		rv = nng_aio_alloc(&s->aio, aio_callback, s);
		if (rv != 0) {
			pthread_mutex_unlock(&aios_mu);
			return fl_of("aio_alloc", rv);
		}
		pthread_mutex_lock(&s->mu);
		s->used = true;
		s->dying = s->stopped = false;
		s->refs = 0;
		s->state = A_IDLE;
		s->gen = (s->gen + 1) & 0xffffffu;
		s->number = atomic_fetch_add(&aio_numbers, 1) + 1;
		snprintf(s->what, sizeof(s->what), "no operation");
		*created = slot_handle(i, s->gen);
		pthread_mutex_unlock(&s->mu);
		pthread_mutex_unlock(&aios_mu);
		atomic_fetch_add(&aios_open, 1);
		return 0;
	}
	pthread_mutex_unlock(&aios_mu);
	fl_target_note("more than %d aios open at once", AIO_SLOTS);
	return FL_ELIMIT;
}

/* Starts a send or a receive on the aio a->objs[0], on the socket
 * a->objs[1] or the context a->objs[2]. */
static int
aio_start(const struct fl_target_args *a, int op)
{
	void *sock = a->objs[1], *ctx = a->objs[2], *mh = op == AIO_SEND ? a->objs[3] : NULL;
	int64_t timeout = op == AIO_SEND ? a->ints[5] : a->ints[3];
	size_t len = op == AIO_SEND ? (size_t)a->ints[4] : 0;
	struct aio_slot *s;
	nng_msg *m = NULL;
	int rv = 0, was;
	bool claimed = false;

	if ((sock == NULL) == (ctx == NULL)) {
		fl_target_note("an aio operation needs a sock or a ctx (one of them)");
		return FL_EINVAL;
	}
	if ((s = aio_ref(a->objs[0])) == NULL)
		return FL_ENOENT;
	pthread_mutex_lock(&s->use);
	pthread_mutex_lock(&s->mu);
	was = s->state;
	if (s->dying || s->stopped || s->state == A_BUSY) {
		fl_target_note("aio %u: %s: not started (nng_aio(5): one operation at a time; "
		               "nng_aio_stop(3): none after a stop)",
		               s->number,
		               s->dying     ? "being freed"
		               : s->stopped ? "stopped"
		                            : "an operation is in flight");
		rv = s->state == A_BUSY ? FL_EBUSY : FL_ESTATE;
	} else {
		s->state = A_BUSY;
		s->op = op;
		claimed = true;
	}
	pthread_mutex_unlock(&s->mu);
	if (rv == 0 && op == AIO_SEND && mh != NULL) {
		struct msg_slot *ms;

		if ((rv = msg_take(mh, &ms)) == 0) {
			if (msg_check(ms, "nng_send_aio (before)")) {
				m = ms->m;
				ms->m = NULL;
				len = nng_msg_len(m);
				sent_add(nng_msg_body(m), len);
			} else {
				rv = FL_EPROTO;
			}
			pthread_mutex_unlock(&ms->mu);
		}
	} else if (rv == 0 && op == AIO_SEND) {
		rv = fl_of("msg_alloc", msg_make(len, &m));
	}
	if (rv != 0) {
		pthread_mutex_lock(&s->mu);
		if (claimed)
			s->state = was; /* NNG not called: as it was */
		pthread_mutex_unlock(&s->mu);
		pthread_mutex_unlock(&s->use);
		aio_unref(s);
		return rv;
	}
	snprintf(s->what, sizeof(s->what), "%s%s %s %u, timeout %lld ms",
	         op == AIO_SEND ? "send" : "receive", op == AIO_SEND && mh ? " of a message" : "",
	         sock != NULL ? "on socket" : "on context", (unsigned)id_of(sock ? sock : ctx),
	         (long long)timeout);
	if (op == AIO_SEND)
		fl_target_note("aio %u: %s (%zu bytes)", s->number, s->what, len);
	nng_aio_set_timeout(s->aio, (nng_duration)timeout);
	nng_aio_set_msg(s->aio, m);
	if (op == AIO_SEND && sock != NULL)
		nng_send_aio(sock_of(sock), s->aio);
	else if (op == AIO_SEND)
		nng_ctx_send(ctx_of(ctx), s->aio);
	else if (sock != NULL)
		nng_recv_aio(sock_of(sock), s->aio);
	else
		nng_ctx_recv(ctx_of(ctx), s->aio);
	pthread_mutex_unlock(&s->use);
	aio_unref(s);
	return 0;
}

static int
op_send_aio(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return aio_start(a, AIO_SEND);
}

static int
op_recv_aio(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return aio_start(a, AIO_RECV);
}

static int
aio_outcome(struct aio_slot *s, int rv)
{
	char what[96];

	snprintf(what, sizeof(what), "aio %u (%s)", s->number, s->what);
	return fl_of(what, rv);
}

/* nng_aio_wait(3), once the callback said the operation completed, or
 * FL_ETIMEDOUT at the op's deadline (the aio still in flight).  The
 * op's result is the operation's. */
static int
op_aio_wait(void *state, const struct fl_target_args *a, void **created)
{
	struct aio_slot *s;
	int rv;

	(void)state;
	(void)created;
	if ((s = aio_ref(a->objs[0])) == NULL)
		return FL_ENOENT;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->state == A_BUSY && !s->dying && fl_clock_now_ns() < a->deadline_ns)
			aio_cv_wait(s, a->deadline_ns);
		if (s->dying || s->state == A_BUSY) {
			bool dying = s->dying;

			pthread_mutex_unlock(&s->mu);
			fl_target_note("aio %u (%s): %s", s->number, s->what,
			               dying ? "freed by another actor while waited for"
			                     : "still in flight at the op's deadline");
			aio_unref(s);
			return dying ? FL_ECLOSED : FL_ETIMEDOUT;
		}
		pthread_mutex_unlock(&s->mu);
		pthread_mutex_lock(&s->use);
		pthread_mutex_lock(&s->mu);
		if (s->state != A_BUSY)
			break;
		/* Another actor started an operation meanwhile: wait for it. */
		pthread_mutex_unlock(&s->mu);
		pthread_mutex_unlock(&s->use);
	}
	pthread_mutex_unlock(&s->mu);
	nng_aio_wait(s->aio); /* the operation completed: at once */
	pthread_mutex_lock(&s->mu);
	rv = s->state == A_DONE ? s->result : 0;
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&s->use);
	rv = aio_outcome(s, rv);
	aio_unref(s);
	return rv;
}

/* nng_aio_result(3), called only once the operation completed (its
 * value is undefined before): FL_EAGAIN while in flight. */
static int
op_aio_result(void *state, const struct fl_target_args *a, void **created)
{
	struct aio_slot *s;
	int rv = 0, seen = 0;
	bool done, busy;

	(void)state;
	(void)created;
	if ((s = aio_ref(a->objs[0])) == NULL)
		return FL_ENOENT;
	pthread_mutex_lock(&s->use);
	pthread_mutex_lock(&s->mu);
	done = s->state == A_DONE;
	busy = s->state == A_BUSY;
	seen = s->result;
	if (busy)
		fl_target_note("aio %u (%s): in flight", s->number, s->what);
	pthread_mutex_unlock(&s->mu);
	if (done) {
		rv = nng_aio_result(s->aio);
		if (rv != seen)
			fl_target_violation("aio %u (%s): nng_aio_result says %d, its callback "
			                    "saw %d",
			                    s->number, s->what, rv, seen);
		rv = aio_outcome(s, rv);
	} else if (busy) {
		rv = FL_EAGAIN;
	}
	pthread_mutex_unlock(&s->use);
	aio_unref(s);
	return rv;
}

static int
op_aio_cancel(void *state, const struct fl_target_args *a, void **created)
{
	struct aio_slot *s;

	(void)state;
	(void)created;
	if ((s = aio_ref(a->objs[0])) == NULL)
		return FL_ENOENT;
	nng_aio_cancel(s->aio);
	aio_unref(s);
	return 0;
}

/* nng_aio_stop(3), s->use held: the operation aborted and its callback
 * done; if the callback did not run (the operation aborted before it
 * could), the operation is collected here. */
static void
aio_stop(struct aio_slot *s)
{
	nng_aio_stop(s->aio);
	pthread_mutex_lock(&s->mu);
	s->stopped = true;
	if (s->state == A_BUSY) {
		fl_target_note("aio %u (%s): nng_aio_stop returned without its callback having "
		               "run: collected after the stop",
		               s->number, s->what);
		aio_collect(s);
	}
	pthread_mutex_unlock(&s->mu);
}

static int
op_aio_stop(void *state, const struct fl_target_args *a, void **created)
{
	struct aio_slot *s;

	(void)state;
	(void)created;
	if ((s = aio_ref(a->objs[0])) == NULL)
		return FL_ENOENT;
	pthread_mutex_lock(&s->use);
	aio_stop(s);
	pthread_mutex_unlock(&s->use);
	aio_unref(s);
	return 0;
}

/* Frees the aio of handle h: once no other actor is inside a call on
 * it (an op waiting for it gives up, FL_ECLOSED), stopped first unless
 * stop is false (nng_aio_free(3) then stops it itself). */
static void
aio_free(void *h, bool stop)
{
	struct aio_slot *s = &aios[slot_index(h)];

	pthread_mutex_lock(&s->mu);
	if (!s->used || s->gen != slot_gen(h) || s->dying) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->dying = true;
	pthread_cond_broadcast(&s->cv);
	while (s->refs > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&s->use);
	if (stop)
		aio_stop(s);
	nng_aio_free(s->aio);
	pthread_mutex_lock(&s->mu);
	if (s->state == A_BUSY)
		fl_target_note("aio %u (%s): freed in flight; its callback never ran: a send's "
		               "message is lost with it",
		               s->number, s->what);
	s->aio = NULL;
	s->used = false;
	s->state = A_IDLE;
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&s->use);
	atomic_fetch_sub(&aios_open, 1);
}

static void
aio_close(void *state, void *obj)
{
	(void)state;
	aio_free(obj, true);
}

static int
op_aio_free(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	aio_free(a->objs[0], a->ints[1] != 0);
	return 0;
}

/* ---- gauges, init, fini ------------------------------------------------- */

#define GAUGE(name)                                                                                \
	static int64_t gauge_##name(void *state)                                                   \
	{                                                                                          \
		(void)state;                                                                       \
		return atomic_load(&name);                                                         \
	}
GAUGE(sockets_open)
GAUGE(aios_open)
GAUGE(ctxs_open)
GAUGE(msgs_open)
GAUGE(msgs_held)
GAUGE(dialers_open)
GAUGE(listeners_open)

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
init_once(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (size_t i = 0; i < AIO_SLOTS; i++) {
		pthread_mutex_init(&aios[i].mu, NULL);
		pthread_mutex_init(&aios[i].use, NULL);
		pthread_cond_init(&aios[i].cv, &ca);
	}
	pthread_condattr_destroy(&ca);
	for (size_t i = 0; i < MSG_SLOTS; i++)
		pthread_mutex_init(&msgs[i].mu, NULL);
}

/* Once per run, before its first op: nothing to reset (fini did; a
 * run's counts must not be reset under an op that already ran, should
 * init be called again). */
static int
init(void **state)
{
	*state = NULL;
	pthread_once(&once, init_once);
	return 0;
}

/* The run's end: NNG's global state goes (nng_fini(3); NNG starts again
 * at its next call, should this process run another run), the run's
 * ipc:// paths with it, and the counts and models start anew. */
static void
fini(void *state)
{
	(void)state;
	nng_fini();
	pthread_mutex_lock(&ipc_mu);
	for (size_t i = 0; i < ipc_n; i++)
		if (unlink(ipc_paths[i]) == 0)
			fl_target_note("%s was left behind once its listener closed: removed",
			               ipc_paths[i]);
	ipc_n = 0;
	pthread_mutex_unlock(&ipc_mu);
	atomic_store(&sockets_open, 0);
	atomic_store(&aios_open, 0);
	atomic_store(&ctxs_open, 0);
	atomic_store(&msgs_open, 0);
	atomic_store(&msgs_held, 0);
	atomic_store(&dialers_open, 0);
	atomic_store(&listeners_open, 0);
	atomic_store(&aio_numbers, 0);
	pthread_mutex_lock(&model_mu);
	model_n = 0;
	pthread_mutex_unlock(&model_mu);
}

/* ---- the table ---------------------------------------------------------- */

#define SOCK_ARG                                                                                   \
	{                                                                                          \
		.name = "sock", .type = FL_TARGET_OBJECT, .required = true, .kind = "socket"       \
	}
#define CTX_ARG                                                                                    \
	{                                                                                          \
		.name = "ctx", .type = FL_TARGET_OBJECT, .required = true, .kind = "ctx"           \
	}
#define MSG_ARG                                                                                    \
	{                                                                                          \
		.name = "msg", .type = FL_TARGET_OBJECT, .required = true, .kind = "msg"           \
	}
#define AIO_ARG                                                                                    \
	{                                                                                          \
		.name = "aio", .type = FL_TARGET_OBJECT, .required = true, .kind = "aio"           \
	}
#define SIZE_ARG(d)                                                                                \
	{                                                                                          \
		.name = "size", .type = FL_TARGET_INT, .min = 0, .max = 1 << 20, .dflt = d         \
	}
#define NONBLOCK_ARG(d)                                                                            \
	{                                                                                          \
		.name = "nonblock", .type = FL_TARGET_BOOL, .dflt = d                              \
	}

/* ---- the ops as C (faultline repro --c) ---------------------------------
 *
 * What the program a maintainer builds against libnng holds before main,
 * and every op's C form: the NNG calls its fn makes, in its order (a
 * target/alloc shim numbers NNG's allocations as the run did), with its
 * flags and timeouts.  Blocking sends and receives wait through an aio of
 * the op's deadline, as the adapter does; the bytes it makes are
 * gen_bytes' pattern, keys taken in the same turn; an aio object's
 * callback does what aio_collect does (a failed send's message taken back
 * and freed); what the adapter refuses without calling NNG (an aio busy
 * or stopped, a message object a send emptied, an option it does not
 * know) the program refuses with the same code.  Every call's result is
 * printed with NNG's own word; a received message by its length, an
 * option read back against the last value set (or the scenario's), a
 * message's lengths after each op on it, rather than the byte model. */
static const char c_prologue[] =
        "#include <errno.h>\n"
        "#include <pthread.h>\n"
        "#include <stdio.h>\n"
        "#include <stdlib.h>\n"
        "#include <string.h>\n"
        "#include <time.h>\n"
        "\n"
        "#include <nng/nng.h>\n"
        "#include <nng/protocol/bus0/bus.h>\n"
        "#include <nng/protocol/pair1/pair.h>\n"
        "#include <nng/protocol/pipeline0/pull.h>\n"
        "#include <nng/protocol/pipeline0/push.h>\n"
        "#include <nng/protocol/pubsub0/pub.h>\n"
        "#include <nng/protocol/pubsub0/sub.h>\n"
        "#include <nng/protocol/reqrep0/rep.h>\n"
        "#include <nng/protocol/reqrep0/req.h>\n"
        "#include <nng/protocol/survey0/respond.h>\n"
        "#include <nng/protocol/survey0/survey.h>\n"
        "\n"
        "#define UNUSED __attribute__((unused))\n"
        "\n"
        "static UNUSED void\n"
        "say(const char *what, int rv)\n"
        "{\n"
        "\tprintf(\"%s: %s\\n\", what, nng_strerror(rv));\n"
        "\tfflush(stdout);\n"
        "}\n"
        "\n"
        "/* A call that returns nothing. */\n"
        "static UNUSED void\n"
        "said(const char *what)\n"
        "{\n"
        "\tprintf(\"%s: returned\\n\", what);\n"
        "\tfflush(stdout);\n"
        "}\n"
        "\n"
        "static int open_protocol(nng_socket *s, const char *p);\n"
        "\n"
        "/* Pipes fully added to each socket (nng_pipe_notify(3)), as the\n"
        " * adapter counts them for nng_pipes_wait. */\n"
        "static pthread_mutex_t pipes_mu = PTHREAD_MUTEX_INITIALIZER;\n"
        "static struct { uint32_t sock; int n; } pipes_tab[256];\n"
        "\n"
        "static void\n"
        "pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)\n"
        "{\n"
        "\tuint32_t id = nng_pipe_socket(p).id;\n"
        "\n"
        "\t(void)arg;\n"
        "\tpthread_mutex_lock(&pipes_mu);\n"
        "\tfor (int i = 0; i < 256; i++)\n"
        "\t\tif (pipes_tab[i].sock == id)\n"
        "\t\t\tpipes_tab[i].n += ev == NNG_PIPE_EV_ADD_POST ? 1 : -1;\n"
        "\tpthread_mutex_unlock(&pipes_mu);\n"
        "}\n"
        "\n"
        "static UNUSED int\n"
        "pipes_wait(nng_socket s, int want, int ms)\n"
        "{\n"
        "\tfor (;; ms--) {\n"
        "\t\tint have = -1;\n"
        "\n"
        "\t\tpthread_mutex_lock(&pipes_mu);\n"
        "\t\tfor (int i = 0; i < 256; i++)\n"
        "\t\t\tif (pipes_tab[i].sock == s.id)\n"
        "\t\t\t\thave = pipes_tab[i].n;\n"
        "\t\tpthread_mutex_unlock(&pipes_mu);\n"
        "\t\tif (have == want)\n"
        "\t\t\treturn 0;\n"
        "\t\tif (have < 0)\n"
        "\t\t\treturn NNG_EINVAL;\n"
        "\t\tif (ms <= 0)\n"
        "\t\t\treturn NNG_ETIMEDOUT;\n"
        "\t\tnanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);\n"
        "\t}\n"
        "}\n"
        "\n"
        "static UNUSED int\n"
        "open_socket(nng_socket *s, const char *p)\n"
        "{\n"
        "\tint rv = open_protocol(s, p);\n"
        "\n"
        "\tif (rv == 0) {\n"
        "\t\tpthread_mutex_lock(&pipes_mu);\n"
        "\t\tfor (int i = 0; i < 256; i++)\n"
        "\t\t\tif (pipes_tab[i].sock == 0) {\n"
        "\t\t\t\tpipes_tab[i].sock = s->id;\n"
        "\t\t\t\tbreak;\n"
        "\t\t\t}\n"
        "\t\tpthread_mutex_unlock(&pipes_mu);\n"
        "\t\tnng_pipe_notify(*s, NNG_PIPE_EV_ADD_POST, pipe_event, NULL);\n"
        "\t\tnng_pipe_notify(*s, NNG_PIPE_EV_REM_POST, pipe_event, NULL);\n"
        "\t}\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "static int\n"
        "open_protocol(nng_socket *s, const char *p)\n"
        "{\n"
        "\tif (!strcmp(p, \"req\")) return nng_req0_open(s);\n"
        "\tif (!strcmp(p, \"rep\")) return nng_rep0_open(s);\n"
        "\tif (!strcmp(p, \"pub\")) return nng_pub0_open(s);\n"
        "\tif (!strcmp(p, \"sub\")) return nng_sub0_open(s);\n"
        "\tif (!strcmp(p, \"push\")) return nng_push0_open(s);\n"
        "\tif (!strcmp(p, \"pull\")) return nng_pull0_open(s);\n"
        "\tif (!strcmp(p, \"pair\")) return nng_pair1_open(s);\n"
        "\tif (!strcmp(p, \"bus\")) return nng_bus0_open(s);\n"
        "\tif (!strcmp(p, \"surveyor\")) return nng_surveyor0_open(s);\n"
        "\tif (!strcmp(p, \"respondent\")) return nng_respondent0_open(s);\n"
        "\treturn NNG_EINVAL; /* no such protocol: the adapter's FL_EINVAL */\n"
        "}\n"
        "\n"
        "/* A relative ipc://NAME: a path under /tmp, as the adapter makes it. */\n"
        "static UNUSED const char *\n"
        "url(const char *u, char *buf, size_t n)\n"
        "{\n"
        "\tif (strncmp(u, \"ipc://\", 6) != 0 || u[6] == '/')\n"
        "\t\treturn u;\n"
        "\tsnprintf(buf, n, \"ipc:///tmp/fl-nng-repro-%s\", u + 6);\n"
        "\treturn buf;\n"
        "}\n"
        "\n"
        "/* The bytes the adapter makes: a pattern each message's key picks, the\n"
        " * keys taken in turn from 1 (the adapter's gen_bytes). */\n"
        "static unsigned next_key = 1;\n"
        "\n"
        "static UNUSED void\n"
        "pattern(unsigned char *p, size_t n)\n"
        "{\n"
        "\tunsigned key = next_key++;\n"
        "\n"
        "\tfor (size_t i = 0; i < n; i++)\n"
        "\t\tp[i] = (unsigned char)((key * 131u + i + (i >> 8) * 17u) ^\n"
        "\t\t                       (key >> (8 * (i % 4))));\n"
        "}\n"
        "\n"
        "/* A message received: its length said (the adapter checks its bytes\n"
        " * against every message sent). */\n"
        "static UNUSED void\n"
        "received(const char *who, nng_msg *m)\n"
        "{\n"
        "\tprintf(\"\\t%s: received %zu bytes\\n\", who, nng_msg_len(m));\n"
        "\tfflush(stdout);\n"
        "}\n"
        "\n"
        "/* A send of *m (the socket's once sent: *m NULL; still the caller's\n"
        " * when it fails) or a receive into *m, bounded by ms through an aio of\n"
        " * its own, never the socket's timeout options. */\n"
        "static UNUSED int\n"
        "sock_io(nng_socket s, int send, nng_msg **m, int ms)\n"
        "{\n"
        "\tnng_aio *aio;\n"
        "\tint rv = nng_aio_alloc(&aio, NULL, NULL);\n"
        "\n"
        "\tif (rv != 0)\n"
        "\t\treturn rv;\n"
        "\tnng_aio_set_timeout(aio, ms);\n"
        "\tif (send) {\n"
        "\t\tnng_aio_set_msg(aio, *m);\n"
        "\t\tnng_send_aio(s, aio);\n"
        "\t} else {\n"
        "\t\tnng_recv_aio(s, aio);\n"
        "\t}\n"
        "\tnng_aio_wait(aio);\n"
        "\trv = nng_aio_result(aio);\n"
        "\tif (send && rv == 0)\n"
        "\t\t*m = NULL;\n"
        "\tif (!send && rv == 0)\n"
        "\t\t*m = nng_aio_get_msg(aio);\n"
        "\tnng_aio_free(aio);\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "/* nng_send: n bytes of the pattern appended to an empty message. */\n"
        "static UNUSED int\n"
        "send_bytes(nng_socket s, size_t n, int ms)\n"
        "{\n"
        "\tunsigned char *buf = malloc(n > 0 ? n : 1);\n"
        "\tnng_msg *m = NULL;\n"
        "\tint rv;\n"
        "\n"
        "\tif (buf == NULL)\n"
        "\t\treturn NNG_ENOMEM;\n"
        "\tpattern(buf, n);\n"
        "\trv = nng_msg_alloc(&m, 0);\n"
        "\tif (rv == 0)\n"
        "\t\trv = nng_msg_append(m, buf, n);\n"
        "\tif (rv == 0)\n"
        "\t\trv = sock_io(s, 1, &m, ms);\n"
        "\tif (m != NULL)\n"
        "\t\tnng_msg_free(m); /* not sent: still ours */\n"
        "\tfree(buf);\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "/* nng_recv: a message received and freed. */\n"
        "static UNUSED int\n"
        "recv_any(nng_socket s, int ms)\n"
        "{\n"
        "\tnng_msg *m = NULL;\n"
        "\tint rv = sock_io(s, 0, &m, ms);\n"
        "\n"
        "\tif (rv == 0) {\n"
        "\t\treceived(\"nng_recv\", m);\n"
        "\t\tnng_msg_free(m);\n"
        "\t}\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "/* nng_ctx_send of n bytes of the pattern, or nng_ctx_recv, through an\n"
        " * aio of its own waited for (timeout ms). */\n"
        "static UNUSED int\n"
        "ctx_io(nng_ctx c, int send, size_t n, int ms)\n"
        "{\n"
        "\tnng_aio *aio;\n"
        "\tnng_msg *m = NULL;\n"
        "\tint rv;\n"
        "\n"
        "\tif ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0)\n"
        "\t\treturn rv;\n"
        "\tif (send && (rv = nng_msg_alloc(&m, n)) != 0) {\n"
        "\t\tnng_aio_free(aio);\n"
        "\t\treturn rv;\n"
        "\t}\n"
        "\tif (send)\n"
        "\t\tpattern(nng_msg_body(m), n);\n"
        "\tnng_aio_set_timeout(aio, ms);\n"
        "\tnng_aio_set_msg(aio, m);\n"
        "\tif (send)\n"
        "\t\tnng_ctx_send(c, aio);\n"
        "\telse\n"
        "\t\tnng_ctx_recv(c, aio);\n"
        "\tnng_aio_wait(aio);\n"
        "\trv = nng_aio_result(aio);\n"
        "\tm = nng_aio_get_msg(aio);\n"
        "\tnng_aio_set_msg(aio, NULL);\n"
        "\tif (send && rv != 0 && m != NULL) {\n"
        "\t\tnng_msg_free(m); /* failed: still ours (nng_send_aio(3)) */\n"
        "\t} else if (send && rv != 0) {\n"
        "\t\tprintf(\"\\ta failed send left no message in its aio\\n\");\n"
        "\t} else if (!send && rv == 0 && m != NULL) {\n"
        "\t\treceived(\"nng_ctx_recv\", m);\n"
        "\t\tnng_msg_free(m);\n"
        "\t} else if (!send && rv == 0) {\n"
        "\t\tprintf(\"\\ta receive succeeded with no message\\n\");\n"
        "\t}\n"
        "\tnng_aio_free(aio);\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "/* Options: the values set (kind, id, option), as the adapter's model:\n"
        " * a value read back is judged against the last one set, or the\n"
        " * scenario's when it gave one. */\n"
        "static struct {\n"
        "\tconst char *kind, *opt;\n"
        "\tunsigned id;\n"
        "\tlong long v;\n"
        "} model[512];\n"
        "static size_t model_n;\n"
        "\n"
        "static UNUSED void\n"
        "model_set(const char *kind, unsigned id, const char *opt, long long v)\n"
        "{\n"
        "\tsize_t i;\n"
        "\n"
        "\tfor (i = 0; i < model_n; i++)\n"
        "\t\tif (!strcmp(model[i].kind, kind) && model[i].id == id && !strcmp(model[i].opt, opt))\n"
        "\t\t\tbreak;\n"
        "\tif (i == sizeof(model) / sizeof(model[0]))\n"
        "\t\treturn;\n"
        "\tmodel[i].kind = kind;\n"
        "\tmodel[i].id = id;\n"
        "\tmodel[i].opt = opt;\n"
        "\tmodel[i].v = v;\n"
        "\tif (i == model_n)\n"
        "\t\tmodel_n++;\n"
        "}\n"
        "\n"
        "static UNUSED void\n"
        "read_back(const char *kind, unsigned id, const char *opt, long long v, int given, long "
        "long want)\n"
        "{\n"
        "\tfor (size_t i = 0; i < model_n && !given; i++)\n"
        "\t\tif (!strcmp(model[i].kind, kind) && model[i].id == id && !strcmp(model[i].opt, opt)) "
        "{\n"
        "\t\t\twant = model[i].v;\n"
        "\t\t\tgiven = 1;\n"
        "\t\t}\n"
        "\tif (given && v != want)\n"
        "\t\tprintf(\"\\t%s: %lld, but %lld was set (or given as its value)\\n\", opt, v, want);\n"
        "\telse\n"
        "\t\tprintf(\"\\t%s: %lld\\n\", opt, v);\n"
        "\tfflush(stdout);\n"
        "}\n"
        "\n"
        "/* Messages: an op on a message object's message; a variable a send\n"
        " * took the message of, or whose alloc failed, is NULL (NNG not called,\n"
        " * as the adapter's msg_take). */\n"
        "static UNUSED int\n"
        "held(nng_msg *m, const char *what)\n"
        "{\n"
        "\tif (m == NULL) {\n"
        "\t\tprintf(\"%s: the object holds no message (a send took it, or none was made): not "
        "called\\n\", what);\n"
        "\t\tfflush(stdout);\n"
        "\t}\n"
        "\treturn m != NULL;\n"
        "}\n"
        "\n"
        "/* What an op on a message returned, and the message's lengths after it. */\n"
        "static UNUSED void\n"
        "say_msg(const char *what, int rv, nng_msg *m)\n"
        "{\n"
        "\tprintf(\"%s: %s (body %zu bytes, header %zu)\\n\", what, nng_strerror(rv), "
        "nng_msg_len(m),\n"
        "\t       nng_msg_header_len(m));\n"
        "\tfflush(stdout);\n"
        "}\n"
        "\n"
        "/* nng_msg_alloc, its body the pattern's. */\n"
        "static UNUSED int\n"
        "msg_new(nng_msg **m, size_t n)\n"
        "{\n"
        "\tint rv = nng_msg_alloc(m, n);\n"
        "\n"
        "\tif (rv != 0) {\n"
        "\t\t*m = NULL;\n"
        "\t\treturn rv;\n"
        "\t}\n"
        "\tif (nng_msg_len(*m) != n)\n"
        "\t\tprintf(\"\\tnng_msg_alloc(%zu): a body of %zu bytes\\n\", n, nng_msg_len(*m));\n"
        "\telse\n"
        "\t\tpattern(nng_msg_body(*m), n);\n"
        "\treturn 0;\n"
        "}\n"
        "\n"
        "/* fn (nng_msg_append, _insert, or the header's) of n bytes of the\n"
        " * pattern. */\n"
        "static UNUSED int\n"
        "msg_add(nng_msg *m, size_t n, int (*fn)(nng_msg *, const void *, size_t))\n"
        "{\n"
        "\tunsigned char *src = malloc(n > 0 ? n : 1);\n"
        "\tint rv;\n"
        "\n"
        "\tif (src == NULL)\n"
        "\t\treturn NNG_ENOMEM;\n"
        "\tpattern(src, n);\n"
        "\trv = fn(m, src, n);\n"
        "\tfree(src);\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "/* nng_msg_realloc; the bytes it grew by are the pattern's. */\n"
        "static UNUSED int\n"
        "msg_resize(nng_msg *m, size_t n)\n"
        "{\n"
        "\tsize_t old = nng_msg_len(m);\n"
        "\tint rv = nng_msg_realloc(m, n);\n"
        "\n"
        "\tif (rv == 0 && n > old)\n"
        "\t\tpattern((unsigned char *)nng_msg_body(m) + old, n - old);\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "/* nng_msg_free of the object's message, if it still holds one. */\n"
        "static UNUSED void\n"
        "msg_release(nng_msg **m)\n"
        "{\n"
        "\tif (*m == NULL) {\n"
        "\t\tprintf(\"nng_msg_free: the object holds no message (a send took it, or none was "
        "made): not called\\n\");\n"
        "\t\tfflush(stdout);\n"
        "\t\treturn;\n"
        "\t}\n"
        "\tnng_msg_free(*m);\n"
        "\t*m = NULL;\n"
        "\tsaid(\"nng_msg_free\");\n"
        "}\n"
        "\n"
        "/* nng_recvmsg, nonblocking or bounded by ms through an aio. */\n"
        "static UNUSED int\n"
        "recv_msg(nng_socket s, nng_msg **m, int nonblock, int ms)\n"
        "{\n"
        "\tint rv = nonblock ? nng_recvmsg(s, m, NNG_FLAG_NONBLOCK) : sock_io(s, 0, m, ms);\n"
        "\n"
        "\tif (rv == 0)\n"
        "\t\treceived(\"nng_recvmsg\", *m);\n"
        "\telse\n"
        "\t\t*m = NULL;\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "/* An aio object: an aio whose callback (on NNG's thread) takes the\n"
        " * operation's result, takes a failed send's message back and frees it\n"
        " * (it stays the caller's, nng_send_aio(3)), says and frees a received\n"
        " * one; as the adapter, one operation at a time and none after\n"
        " * nng_aio_stop (NNG not called). */\n"
        "enum { AIO_IDLE, AIO_BUSY, AIO_DONE };\n"
        "struct repro_aio {\n"
        "\tconst char *name;\n"
        "\tnng_aio *aio;\n"
        "\tpthread_mutex_t mu;\n"
        "\tpthread_cond_t cv;\n"
        "\tint state, send, result, stopped;\n"
        "};\n"
        "\n"
        "/* The operation completed or stopped: collected.  a->mu held. */\n"
        "static UNUSED void\n"
        "aio_collect(struct repro_aio *a)\n"
        "{\n"
        "\tnng_msg *m;\n"
        "\n"
        "\ta->result = nng_aio_result(a->aio);\n"
        "\tm = nng_aio_get_msg(a->aio);\n"
        "\tnng_aio_set_msg(a->aio, NULL);\n"
        "\tprintf(\"\\taio %s: %s completed: %s\\n\", a->name, a->send ? \"send\" : \"receive\",\n"
        "\t       nng_strerror(a->result));\n"
        "\tif (a->send && a->result != 0 && m != NULL)\n"
        "\t\tnng_msg_free(m);\n"
        "\telse if (a->send && a->result != 0)\n"
        "\t\tprintf(\"\\taio %s: a failed send left no message in its aio\\n\", a->name);\n"
        "\telse if (!a->send && a->result == 0 && m != NULL) {\n"
        "\t\treceived(a->name, m);\n"
        "\t\tnng_msg_free(m);\n"
        "\t} else if (!a->send && a->result == 0)\n"
        "\t\tprintf(\"\\taio %s: a receive succeeded with no message\\n\", a->name);\n"
        "\tfflush(stdout);\n"
        "\ta->state = AIO_DONE;\n"
        "\tpthread_cond_broadcast(&a->cv);\n"
        "}\n"
        "\n"
        "static UNUSED void\n"
        "aio_callback(void *arg)\n"
        "{\n"
        "\tstruct repro_aio *a = arg;\n"
        "\n"
        "\tpthread_mutex_lock(&a->mu);\n"
        "\tif (a->state != AIO_BUSY)\n"
        "\t\tprintf(\"\\taio %s: its callback ran with no operation in flight\\n\", a->name);\n"
        "\telse\n"
        "\t\taio_collect(a);\n"
        "\tpthread_mutex_unlock(&a->mu);\n"
        "}\n"
        "\n"
        "/* nng_aio_alloc with the callback. */\n"
        "static UNUSED int\n"
        "aio_new(struct repro_aio **ap, const char *name)\n"
        "{\n"
        "\tstruct repro_aio *a = calloc(1, sizeof(*a));\n"
        "\tpthread_condattr_t ca;\n"
        "\tint rv;\n"
        "\n"
        "\t*ap = NULL;\n"
        "\tif (a == NULL)\n"
        "\t\treturn NNG_ENOMEM;\n"
        "\ta->name = name;\n"
        "\tpthread_mutex_init(&a->mu, NULL);\n"
        "\tpthread_condattr_init(&ca);\n"
        "\tpthread_condattr_setclock(&ca, CLOCK_MONOTONIC);\n"
        "\tpthread_cond_init(&a->cv, &ca);\n"
        "\tpthread_condattr_destroy(&ca);\n"
        "\tif ((rv = nng_aio_alloc(&a->aio, aio_callback, a)) != 0) {\n"
        "\t\tpthread_cond_destroy(&a->cv);\n"
        "\t\tpthread_mutex_destroy(&a->mu);\n"
        "\t\tfree(a);\n"
        "\t\treturn rv;\n"
        "\t}\n"
        "\t*ap = a;\n"
        "\treturn 0;\n"
        "}\n"
        "\n"
        "/* An aio freed already (by another actor, in the run). */\n"
        "static UNUSED int\n"
        "aio_gone(const struct repro_aio *a, const char *what)\n"
        "{\n"
        "\tif (a == NULL) {\n"
        "\t\tprintf(\"%s: the aio is freed: not called\\n\", what);\n"
        "\t\tfflush(stdout);\n"
        "\t}\n"
        "\treturn a == NULL;\n"
        "}\n"
        "\n"
        "/* nng_send_aio or nng_recv_aio on the socket s or (nng_ctx_send,\n"
        " * nng_ctx_recv) the context c, with a timeout (NNG_DURATION_DEFAULT:\n"
        " * the socket's or context's): a send of the message object *mp's\n"
        " * message (it leaves the object), or of n bytes of the pattern. */\n"
        "static UNUSED int\n"
        "aio_start(struct repro_aio *a, nng_socket *s, nng_ctx *c, int send, nng_msg **mp, size_t "
        "n,\n"
        "          nng_duration timeout)\n"
        "{\n"
        "\tconst char *what = send ? \"nng_send_aio\" : \"nng_recv_aio\";\n"
        "\tnng_msg *m = NULL;\n"
        "\tint rv, state, stopped;\n"
        "\n"
        "\tif ((s == NULL) == (c == NULL)) {\n"
        "\t\tprintf(\"%s: needs a sock or a ctx (one of them): not called\\n\", what);\n"
        "\t\treturn NNG_EINVAL;\n"
        "\t}\n"
        "\tif (aio_gone(a, what))\n"
        "\t\treturn NNG_ENOENT;\n"
        "\tpthread_mutex_lock(&a->mu);\n"
        "\tstate = a->state;\n"
        "\tstopped = a->stopped;\n"
        "\tpthread_mutex_unlock(&a->mu);\n"
        "\tif (state == AIO_BUSY || stopped) {\n"
        "\t\tprintf(\"%s: aio %s %s: not started\\n\", what, a->name,\n"
        "\t\t       state == AIO_BUSY ? \"has an operation in flight\" : \"is stopped\");\n"
        "\t\treturn state == AIO_BUSY ? NNG_EBUSY : NNG_ESTATE;\n"
        "\t}\n"
        "\tif (send && mp != NULL) {\n"
        "\t\tif (!held(*mp, what))\n"
        "\t\t\treturn NNG_ESTATE;\n"
        "\t\tm = *mp;\n"
        "\t\t*mp = NULL;\n"
        "\t} else if (send) {\n"
        "\t\tif ((rv = nng_msg_alloc(&m, n)) != 0)\n"
        "\t\t\treturn rv;\n"
        "\t\tpattern(nng_msg_body(m), n);\n"
        "\t}\n"
        "\tpthread_mutex_lock(&a->mu);\n"
        "\ta->state = AIO_BUSY;\n"
        "\ta->send = send;\n"
        "\tpthread_mutex_unlock(&a->mu);\n"
        "\tnng_aio_set_timeout(a->aio, timeout);\n"
        "\tnng_aio_set_msg(a->aio, m);\n"
        "\tif (send && s != NULL)\n"
        "\t\tnng_send_aio(*s, a->aio);\n"
        "\telse if (send)\n"
        "\t\tnng_ctx_send(*c, a->aio);\n"
        "\telse if (s != NULL)\n"
        "\t\tnng_recv_aio(*s, a->aio);\n"
        "\telse\n"
        "\t\tnng_ctx_recv(*c, a->aio);\n"
        "\treturn 0;\n"
        "}\n"
        "\n"
        "/* nng_aio_wait once the callback said the operation completed, or\n"
        " * NNG_ETIMEDOUT after ms (the operation still in flight; not called):\n"
        " * the operation's result. */\n"
        "static UNUSED int\n"
        "aio_await(struct repro_aio *a, int ms)\n"
        "{\n"
        "\tstruct timespec ts;\n"
        "\tint state, rv;\n"
        "\n"
        "\tif (aio_gone(a, \"nng_aio_wait\"))\n"
        "\t\treturn NNG_ENOENT;\n"
        "\tclock_gettime(CLOCK_MONOTONIC, &ts);\n"
        "\tts.tv_sec += ms / 1000;\n"
        "\tts.tv_nsec += (long)(ms % 1000) * 1000000L;\n"
        "\tif (ts.tv_nsec >= 1000000000L) {\n"
        "\t\tts.tv_sec++;\n"
        "\t\tts.tv_nsec -= 1000000000L;\n"
        "\t}\n"
        "\tpthread_mutex_lock(&a->mu);\n"
        "\twhile (a->state == AIO_BUSY && pthread_cond_timedwait(&a->cv, &a->mu, &ts) != "
        "ETIMEDOUT)\n"
        "\t\t;\n"
        "\tstate = a->state;\n"
        "\tpthread_mutex_unlock(&a->mu);\n"
        "\tif (state == AIO_BUSY) {\n"
        "\t\tprintf(\"nng_aio_wait: aio %s still in flight after %d ms: not called\\n\", a->name, "
        "ms);\n"
        "\t\treturn NNG_ETIMEDOUT;\n"
        "\t}\n"
        "\tnng_aio_wait(a->aio);\n"
        "\tpthread_mutex_lock(&a->mu);\n"
        "\trv = a->state == AIO_DONE ? a->result : 0;\n"
        "\tpthread_mutex_unlock(&a->mu);\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "/* nng_aio_result once the operation completed (NNG_EAGAIN while in\n"
        " * flight: not called; 0 when none was started). */\n"
        "static UNUSED int\n"
        "aio_result_of(struct repro_aio *a)\n"
        "{\n"
        "\tint state, seen, rv;\n"
        "\n"
        "\tif (aio_gone(a, \"nng_aio_result\"))\n"
        "\t\treturn NNG_ENOENT;\n"
        "\tpthread_mutex_lock(&a->mu);\n"
        "\tstate = a->state;\n"
        "\tseen = a->result;\n"
        "\tpthread_mutex_unlock(&a->mu);\n"
        "\tif (state == AIO_BUSY) {\n"
        "\t\tprintf(\"nng_aio_result: aio %s in flight: not called\\n\", a->name);\n"
        "\t\treturn NNG_EAGAIN;\n"
        "\t}\n"
        "\tif (state != AIO_DONE)\n"
        "\t\treturn 0;\n"
        "\trv = nng_aio_result(a->aio);\n"
        "\tif (rv != seen)\n"
        "\t\tprintf(\"\\taio %s: nng_aio_result says %d, its callback saw %d\\n\", a->name, rv, "
        "seen);\n"
        "\treturn rv;\n"
        "}\n"
        "\n"
        "static UNUSED void\n"
        "aio_cancel_of(struct repro_aio *a)\n"
        "{\n"
        "\tif (aio_gone(a, \"nng_aio_cancel\"))\n"
        "\t\treturn;\n"
        "\tnng_aio_cancel(a->aio);\n"
        "\tsaid(\"nng_aio_cancel\");\n"
        "}\n"
        "\n"
        "/* nng_aio_stop; an operation whose callback did not run is collected\n"
        " * after it. */\n"
        "static UNUSED void\n"
        "aio_stop_of(struct repro_aio *a)\n"
        "{\n"
        "\tif (aio_gone(a, \"nng_aio_stop\"))\n"
        "\t\treturn;\n"
        "\tnng_aio_stop(a->aio);\n"
        "\tpthread_mutex_lock(&a->mu);\n"
        "\ta->stopped = 1;\n"
        "\tif (a->state == AIO_BUSY) {\n"
        "\t\tprintf(\"\\taio %s: nng_aio_stop returned without its callback having run\\n\",\n"
        "\t\t       a->name);\n"
        "\t\taio_collect(a);\n"
        "\t}\n"
        "\tpthread_mutex_unlock(&a->mu);\n"
        "\tsaid(\"nng_aio_stop\");\n"
        "}\n"
        "\n"
        "/* nng_aio_free, stopped first unless stop is 0 (nng_aio_free(3) then\n"
        " * stops it itself). */\n"
        "static UNUSED void\n"
        "aio_release(struct repro_aio **ap, int stop)\n"
        "{\n"
        "\tstruct repro_aio *a = *ap;\n"
        "\n"
        "\tif (aio_gone(a, \"nng_aio_free\"))\n"
        "\t\treturn;\n"
        "\tif (stop)\n"
        "\t\taio_stop_of(a);\n"
        "\tnng_aio_free(a->aio);\n"
        "\tif (a->state == AIO_BUSY)\n"
        "\t\tprintf(\"\\taio %s: freed in flight; its callback never ran\\n\", a->name);\n"
        "\tsaid(\"nng_aio_free\");\n"
        "\tpthread_cond_destroy(&a->cv);\n"
        "\tpthread_mutex_destroy(&a->mu);\n"
        "\tfree(a);\n"
        "\t*ap = NULL;\n"
        "}\n";

/* s as a C string literal. */
static void
c_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\%03o", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
c_socket(const struct fl_target_c *c, const struct fl_target_args *a)
{
	fprintf(c->out, "\t\tsay(\"nng_socket %s\", open_socket(&%s, ", a->strs[0], c->created);
	c_str(c->out, a->strs[0]);
	fputs("));\n", c->out);
}

static void
c_close(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tsay(\"nng_close\", nng_close(%s));\n", c->objs[0]);
}

static void
c_listen_dial(const struct fl_target_c *c, const struct fl_target_args *a, bool dial)
{
	fputs("\t\tchar u[128];\n\n", c->out);
	fprintf(c->out, "\t\tsay(\"%s\", %s(%s, url(", dial ? "nng_dial" : "nng_listen",
	        dial ? "nng_dial" : "nng_listen", c->objs[0]);
	c_str(c->out, a->strs[1]);
	fprintf(c->out, ", u, sizeof(u)), NULL, %s));\n",
	        dial && a->ints[2] ? "NNG_FLAG_NONBLOCK" : "0");
}

static void
c_listen(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_listen_dial(c, a, false);
}

static void
c_dial(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_listen_dial(c, a, true);
}

/* A subscription: label, and the NNG setter (of a socket or a context). */
static void
c_subscribe_by(const struct fl_target_c *c, const struct fl_target_args *a, const char *label,
               const char *setter)
{
	const char *topic = a->strs[1] != NULL ? a->strs[1] : "";

	fprintf(c->out, "\t\tsay(\"%s\", %s(%s, NNG_OPT_SUB_SUBSCRIBE, ", label, setter,
	        c->objs[0]);
	c_str(c->out, topic);
	fprintf(c->out, ", %zu));\n", strlen(topic));
}

static void
c_subscribe(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_subscribe_by(c, a, "nng_subscribe", "nng_socket_set");
}

static void
c_pipes_wait(const struct fl_target_c *c, const struct fl_target_args *a)
{
	fprintf(c->out, "\t\tsay(\"nng_pipes_wait %lld\", pipes_wait(%s, %lld, %lld));\n",
	        (long long)a->ints[1], c->objs[0], (long long)a->ints[1],
	        (long long)c->deadline_ms);
}

static void
c_send(const struct fl_target_c *c, const struct fl_target_args *a)
{
	fprintf(c->out, "\t\tsay(\"nng_send %lld bytes\", send_bytes(%s, %lld, %lld));\n",
	        (long long)a->ints[1], c->objs[0], (long long)a->ints[1],
	        (long long)c->deadline_ms);
}

static void
c_recv(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tsay(\"nng_recv\", recv_any(%s, %lld));\n", c->objs[0],
	        (long long)c->deadline_ms);
}

/* nng_listener_create and nng_dialer_create. */
static void
c_endpoint_create(const struct fl_target_c *c, const struct fl_target_args *a, const char *fn)
{
	fputs("\t\tchar u[128];\n\n", c->out);
	fprintf(c->out, "\t\tsay(\"%s\", %s(&%s, %s, url(", fn, fn, c->created, c->objs[0]);
	c_str(c->out, a->strs[1]);
	fputs(", u, sizeof(u))));\n", c->out);
}

static void
c_listener_create(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_endpoint_create(c, a, "nng_listener_create");
}

static void
c_dialer_create(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_endpoint_create(c, a, "nng_dialer_create");
}

/* A call on one endpoint: fn(VAR, extra). */
static void
c_endpoint_call(const struct fl_target_c *c, const char *fn, const char *extra)
{
	fprintf(c->out, "\t\tsay(\"%s\", %s(%s%s%s));\n", fn, fn, c->objs[0], extra ? ", " : "",
	        extra ? extra : "");
}

static void
c_listener_start(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	c_endpoint_call(c, "nng_listener_start", "0");
}

static void
c_listener_close(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	c_endpoint_call(c, "nng_listener_close", NULL);
}

static void
c_dialer_start(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_endpoint_call(c, "nng_dialer_start", a->ints[1] ? "NNG_FLAG_NONBLOCK" : "0");
}

static void
c_dialer_close(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	c_endpoint_call(c, "nng_dialer_close", NULL);
}

/* Options: the typed call NNG's option takes (nng_socket_set_ms, ...),
 * the value written as that type takes it; a value read back judged by
 * read_back against the last one set or the scenario's. */
static const char *const c_opt_fn[] = {
	[K_SOCK] = "socket",
	[K_CTX] = "ctx",
	[K_DIALER] = "dialer",
};
static const char *const c_opt_type[] = {
	[T_MS] = "ms",
	[T_SIZE] = "size",
	[T_INT] = "int",
	[T_BOOL] = "bool",
};
static const char *const c_opt_var[] = {
	[T_MS] = "nng_duration",
	[T_SIZE] = "size_t",
	[T_INT] = "int",
	[T_BOOL] = "bool",
};

static void
c_opt_value(FILE *f, enum opt_type t, int64_t v)
{
	bool int32 = v > INT32_MIN && v <= INT32_MAX;

	switch (t) {
	case T_MS: fprintf(f, int32 ? "%lld" : "(nng_duration)%lldLL", (long long)v); break;
	case T_SIZE: fprintf(f, v >= 0 ? "%lldu" : "(size_t)%lldLL", (long long)v); break;
	case T_INT: fprintf(f, int32 ? "%lld" : "(int)%lldLL", (long long)v); break;
	case T_BOOL: fputs(v != 0 ? "true" : "false", f); break;
	}
}

/* An option the adapter does not know, or a set without a value: the
 * adapter's NNG_EINVAL, NNG not called. */
static bool
c_opt_refused(const struct fl_target_c *c, const struct fl_target_args *a, int kind, bool set,
              size_t *opt)
{
	char what[160];

	if (!opt_find(a->strs[1], opt))
		snprintf(what, sizeof(what),
		         "nng_%s_%s %s: an option the adapter does not know (not called)",
		         c_opt_fn[kind], set ? "set" : "get", a->strs[1]);
	else if (set && a->ints[2] == VALUE_ABSENT)
		snprintf(what, sizeof(what), "nng_%s_set %s: no value (not called)", c_opt_fn[kind],
		         a->strs[1]);
	else
		return false;
	fputs("\t\tsay(", c->out);
	c_str(c->out, what);
	fputs(", NNG_EINVAL);\n", c->out);
	return true;
}

static void
c_opt_set(const struct fl_target_c *c, const struct fl_target_args *a, int kind)
{
	enum opt_type t;
	char what[160];
	size_t opt;

	if (c_opt_refused(c, a, kind, true, &opt))
		return;
	t = options[opt].type;
	fprintf(c->out, "\t\tint rv = nng_%s_set_%s(%s, ", c_opt_fn[kind], c_opt_type[t],
	        c->objs[0]);
	c_str(c->out, options[opt].name);
	fputs(", ", c->out);
	c_opt_value(c->out, t, a->ints[2]);
	snprintf(what, sizeof(what), "nng_%s_set %s %lld", c_opt_fn[kind], options[opt].name,
	         (long long)a->ints[2]);
	fputs(");\n\n\t\tsay(", c->out);
	c_str(c->out, what);
	fprintf(c->out, ", rv);\n\t\tif (rv == 0)\n\t\t\tmodel_set(\"%s\", %s.id, ",
	        kind_names[kind], c->objs[0]);
	c_str(c->out, options[opt].name);
	fprintf(c->out, ", %lldLL);\n", (long long)a->ints[2]);
}

static void
c_opt_get(const struct fl_target_c *c, const struct fl_target_args *a, int kind)
{
	bool given = a->ints[2] != VALUE_ABSENT;
	enum opt_type t;
	char what[160];
	size_t opt;

	if (c_opt_refused(c, a, kind, false, &opt))
		return;
	t = options[opt].type;
	fprintf(c->out, "\t\t%s v = 0;\n\t\tint rv = nng_%s_get_%s(%s, ", c_opt_var[t],
	        c_opt_fn[kind], c_opt_type[t], c->objs[0]);
	c_str(c->out, options[opt].name);
	snprintf(what, sizeof(what), "nng_%s_get %s", c_opt_fn[kind], options[opt].name);
	fputs(", &v);\n\n\t\tsay(", c->out);
	c_str(c->out, what);
	fprintf(c->out, ", rv);\n\t\tif (rv == 0)\n\t\t\tread_back(\"%s\", %s.id, ",
	        kind_names[kind], c->objs[0]);
	c_str(c->out, options[opt].name);
	fprintf(c->out, ", v, %d, %lldLL);\n", given, given ? (long long)a->ints[2] : 0LL);
}

static void
c_socket_set(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_opt_set(c, a, K_SOCK);
}

static void
c_socket_get(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_opt_get(c, a, K_SOCK);
}

static void
c_ctx_set(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_opt_set(c, a, K_CTX);
}

static void
c_ctx_get(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_opt_get(c, a, K_CTX);
}

static void
c_dialer_set(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_opt_set(c, a, K_DIALER);
}

static void
c_dialer_get(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_opt_get(c, a, K_DIALER);
}

/* Contexts: a synchronous send or receive through ctx_io, an aio of its
 * own waited for, as ctx_sync. */
static void
c_ctx_open(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tsay(\"nng_ctx_open\", nng_ctx_open(&%s, %s));\n", c->created,
	        c->objs[0]);
}

static void
c_ctx_close(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tsay(\"nng_ctx_close\", nng_ctx_close(%s));\n", c->objs[0]);
}

static void
c_ctx_subscribe(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_subscribe_by(c, a, "nng_ctx_subscribe", "nng_ctx_set");
}

static void
c_ctx_send(const struct fl_target_c *c, const struct fl_target_args *a)
{
	fprintf(c->out, "\t\tsay(\"nng_ctx_send %lld bytes\", ctx_io(%s, 1, %lld, %lld));\n",
	        (long long)a->ints[1], c->objs[0], (long long)a->ints[1],
	        (long long)c->deadline_ms);
}

static void
c_ctx_recv(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tsay(\"nng_ctx_recv\", ctx_io(%s, 0, 0, %lld));\n", c->objs[0],
	        (long long)c->deadline_ms);
}

/* Messages: a msg object is an nng_msg * variable, NULL once a send
 * took its message (held() says so, NNG not called, as msg_take); each
 * op says what NNG returned and the lengths after it. */
static void
c_msg_alloc(const struct fl_target_c *c, const struct fl_target_args *a)
{
	fprintf(c->out, "\t\tsay(\"nng_msg_alloc(%lld)\", msg_new(&%s, %lld));\n",
	        (long long)a->ints[0], c->created, (long long)a->ints[0]);
}

static void
c_msg_dup(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out,
	        "\t\tif (held(%s, \"nng_msg_dup\"))\n"
	        "\t\t\tsay(\"nng_msg_dup\", nng_msg_dup(&%s, %s));\n",
	        c->objs[0], c->created, c->objs[0]);
}

static void
c_msg_free(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tmsg_release(&%s);\n", c->objs[0]);
}

/* An op on the object's message: `int rv = CALL;` then what it said. */
static void
c_msg_call(const struct fl_target_c *c, const char *what, const char *call)
{
	const char *m = c->objs[0];

	fprintf(c->out, "\t\tif (held(%s, \"%s\")) {\n\t\t\tint rv = %s;\n\n", m, what, call);
	fprintf(c->out, "\t\t\tsay_msg(\"%s\", rv, %s);\n\t\t}\n", what, m);
}

static void
c_msg_edit(const struct fl_target_c *c, const struct fl_target_args *a, bool header,
           enum msg_edit e)
{
	const char *name = edit_names[header][e];
	char what[64], call[160];

	snprintf(what, sizeof(what), "%s(%lld)", name, (long long)a->ints[1]);
	if (e == E_APPEND || e == E_INSERT)
		snprintf(call, sizeof(call), "msg_add(%s, %lld, %s)", c->objs[0],
		         (long long)a->ints[1], name);
	else
		snprintf(call, sizeof(call), "%s(%s, %lld)", name, c->objs[0],
		         (long long)a->ints[1]);
	c_msg_call(c, what, call);
}

#define C_MSG_EDIT(fn, header, edit)                                                               \
	static void fn(const struct fl_target_c *c, const struct fl_target_args *a)                \
	{                                                                                          \
		c_msg_edit(c, a, header, edit);                                                    \
	}
C_MSG_EDIT(c_msg_append, false, E_APPEND)
C_MSG_EDIT(c_msg_insert, false, E_INSERT)
C_MSG_EDIT(c_msg_trim, false, E_TRIM)
C_MSG_EDIT(c_msg_chop, false, E_CHOP)
C_MSG_EDIT(c_msg_header_append, true, E_APPEND)
C_MSG_EDIT(c_msg_header_insert, true, E_INSERT)
C_MSG_EDIT(c_msg_header_trim, true, E_TRIM)
C_MSG_EDIT(c_msg_header_chop, true, E_CHOP)

static void
c_msg_add_u32(const struct fl_target_c *c, const struct fl_target_args *a, const char *fn)
{
	char call[128];

	snprintf(call, sizeof(call), "%s(%s, 0x%08llxu)", fn, c->objs[0],
	         (unsigned long long)a->ints[1]);
	c_msg_call(c, fn, call);
}

static void
c_msg_append_u32(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_msg_add_u32(c, a, "nng_msg_append_u32");
}

static void
c_msg_insert_u32(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_msg_add_u32(c, a, "nng_msg_insert_u32");
}

/* nng_msg_trim_u32 and _chop_u32: the value read said. */
static void
c_msg_take_u32(const struct fl_target_c *c, const char *fn)
{
	const char *m = c->objs[0];

	fprintf(c->out,
	        "\t\tif (held(%s, \"%s\")) {\n\t\t\tuint32_t v = 0;\n"
	        "\t\t\tint rv = %s(%s, &v);\n\n\t\t\tsay_msg(\"%s\", rv, %s);\n"
	        "\t\t\tif (rv == 0)\n\t\t\t\tprintf(\"\\tread 0x%%08x\\n\", (unsigned)v);\n\t\t}\n",
	        m, fn, fn, m, fn, m);
}

static void
c_msg_trim_u32(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	c_msg_take_u32(c, "nng_msg_trim_u32");
}

static void
c_msg_chop_u32(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	c_msg_take_u32(c, "nng_msg_chop_u32");
}

static void
c_msg_realloc(const struct fl_target_c *c, const struct fl_target_args *a)
{
	char what[64], call[128];

	snprintf(what, sizeof(what), "nng_msg_realloc(%lld)", (long long)a->ints[1]);
	snprintf(call, sizeof(call), "msg_resize(%s, %lld)", c->objs[0], (long long)a->ints[1]);
	c_msg_call(c, what, call);
}

static void
c_msg_reserve(const struct fl_target_c *c, const struct fl_target_args *a)
{
	char what[64], call[128];

	snprintf(what, sizeof(what), "nng_msg_reserve(%lld)", (long long)a->ints[1]);
	snprintf(call, sizeof(call), "nng_msg_reserve(%s, %lld)", c->objs[0],
	         (long long)a->ints[1]);
	c_msg_call(c, what, call);
}

/* nng_msg_clear and nng_msg_header_clear (which return nothing). */
static void
c_msg_clear_part(const struct fl_target_c *c, const char *fn)
{
	const char *m = c->objs[0];

	fprintf(c->out, "\t\tif (held(%s, \"%s\")) {\n\t\t\t%s(%s);\n", m, fn, fn, m);
	fprintf(c->out, "\t\t\tsay_msg(\"%s\", 0, %s);\n\t\t}\n", fn, m);
}

static void
c_msg_clear(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	c_msg_clear_part(c, "nng_msg_clear");
}

static void
c_msg_header_clear(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	c_msg_clear_part(c, "nng_msg_header_clear");
}

/* nng_sendmsg: on success the socket owns the message (the variable
 * NULL); on failure the object keeps it. */
static void
c_sendmsg(const struct fl_target_c *c, const struct fl_target_args *a)
{
	const char *s = c->objs[0], *m = c->objs[1];

	fprintf(c->out, "\t\tif (held(%s, \"nng_sendmsg\")) {\n", m);
	if (a->ints[2])
		fprintf(c->out,
		        "\t\t\tint rv = nng_sendmsg(%s, %s, NNG_FLAG_NONBLOCK);\n\n"
		        "\t\t\tsay(\"nng_sendmsg (nonblock)\", rv);\n"
		        "\t\t\tif (rv == 0)\n\t\t\t\t%s = NULL; /* the socket's */\n",
		        s, m, m);
	else
		fprintf(c->out, "\t\t\tsay(\"nng_sendmsg\", sock_io(%s, 1, &%s, %lld));\n", s, m,
		        (long long)c->deadline_ms);
	fputs("\t\t}\n", c->out);
}

static void
c_recvmsg(const struct fl_target_c *c, const struct fl_target_args *a)
{
	fprintf(c->out, "\t\tsay(\"nng_recvmsg%s\", recv_msg(%s, &%s, %d, %lld));\n",
	        a->ints[1] ? " (nonblock)" : "", c->objs[0], c->created, a->ints[1] != 0,
	        (long long)c->deadline_ms);
}

/* aio: a struct repro_aio * variable (the prologue's: the aio, its
 * callback and the state the adapter keeps of its one operation). */
static void
c_aio_alloc(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tsay(\"nng_aio_alloc\", aio_new(&%s, \"%s\"));\n", c->created,
	        c->created);
}

/* nng_send_aio and nng_recv_aio: on the socket objs[1] or the context
 * objs[2] (an absent one's variable is ""); a send of the message
 * object objs[3], or of size bytes. */
static void
c_aio_start(const struct fl_target_c *c, const struct fl_target_args *a, bool send)
{
	int64_t timeout = send ? a->ints[5] : a->ints[3];
	const char *sock = c->objs[1], *ctx = c->objs[2], *m = send ? c->objs[3] : "";

	fprintf(c->out, "\t\tsay(\"%s\", aio_start(%s, %s%s, %s%s, %d, %s%s, %lld, ",
	        send ? "nng_send_aio" : "nng_recv_aio", c->objs[0], sock[0] ? "&" : "",
	        sock[0] ? sock : "NULL", ctx[0] ? "&" : "", ctx[0] ? ctx : "NULL", send,
	        m[0] ? "&" : "", m[0] ? m : "NULL", send && !m[0] ? (long long)a->ints[4] : 0LL);
	if (timeout == NNG_DURATION_DEFAULT)
		fputs("NNG_DURATION_DEFAULT", c->out);
	else if (timeout == NNG_DURATION_INFINITE)
		fputs("NNG_DURATION_INFINITE", c->out);
	else
		fprintf(c->out, "%lld", (long long)timeout);
	fputs("));\n", c->out);
}

static void
c_send_aio(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_aio_start(c, a, true);
}

static void
c_recv_aio(const struct fl_target_c *c, const struct fl_target_args *a)
{
	c_aio_start(c, a, false);
}

static void
c_aio_wait(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tsay(\"nng_aio_wait\", aio_await(%s, %lld));\n", c->objs[0],
	        (long long)c->deadline_ms);
}

static void
c_aio_result(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\tsay(\"nng_aio_result\", aio_result_of(%s));\n", c->objs[0]);
}

static void
c_aio_cancel(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\taio_cancel_of(%s);\n", c->objs[0]);
}

static void
c_aio_stop(const struct fl_target_c *c, const struct fl_target_args *a)
{
	(void)a;
	fprintf(c->out, "\t\taio_stop_of(%s);\n", c->objs[0]);
}

static void
c_aio_free(const struct fl_target_c *c, const struct fl_target_args *a)
{
	fprintf(c->out, "\t\taio_release(&%s, %d);\n", c->objs[0], a->ints[1] != 0);
}

static const struct fl_target_arg socket_args[] = {
	{ .name = "protocol", .type = FL_TARGET_STRING, .required = true },
	{ NULL },
};
static const struct fl_target_arg url_args[] = {
	SOCK_ARG,
	{ .name = "url", .type = FL_TARGET_STRING, .required = true },
	{ NULL },
};
static const struct fl_target_arg dial_args[] = {
	SOCK_ARG,
	{ .name = "url", .type = FL_TARGET_STRING, .required = true },
	NONBLOCK_ARG(1),
	{ NULL },
};
static const struct fl_target_arg sub_args[] = {
	SOCK_ARG,
	{ .name = "topic", .type = FL_TARGET_STRING },
	{ NULL },
};
static const struct fl_target_arg send_args[] = {
	SOCK_ARG,
	SIZE_ARG(64),
	{ NULL },
};
static const struct fl_target_arg sock_args[] = {
	SOCK_ARG,
	{ NULL },
};
static const struct fl_target_arg pipes_args[] = {
	SOCK_ARG,
	{ .name = "count", .type = FL_TARGET_INT, .min = 0, .max = 1024, .dflt = 1 },
	{ NULL },
};
#define OPTION_ARG                                                                                 \
	{                                                                                          \
		.name = "option", .type = FL_TARGET_STRING, .required = true                       \
	}
#define VALUE_ARG                                                                                  \
	{                                                                                          \
		.name = "value", .type = FL_TARGET_INT, .min = INT64_MIN, .max = INT64_MAX,        \
		.dflt = VALUE_ABSENT                                                               \
	}
static const struct fl_target_arg sock_opt_args[] = {
	SOCK_ARG,
	OPTION_ARG,
	VALUE_ARG,
	{ NULL },
};
static const struct fl_target_arg ctx_opt_args[] = {
	CTX_ARG,
	OPTION_ARG,
	VALUE_ARG,
	{ NULL },
};
static const struct fl_target_arg dialer_opt_args[] = {
	{ .name = "dialer", .type = FL_TARGET_OBJECT, .required = true, .kind = "dialer" },
	OPTION_ARG,
	VALUE_ARG,
	{ NULL },
};
static const struct fl_target_arg listener_create_args[] = {
	SOCK_ARG,
	{ .name = "url", .type = FL_TARGET_STRING, .required = true },
	{ NULL },
};
static const struct fl_target_arg listener_args[] = {
	{ .name = "listener", .type = FL_TARGET_OBJECT, .required = true, .kind = "listener" },
	{ NULL },
};
static const struct fl_target_arg dialer_args[] = {
	{ .name = "dialer", .type = FL_TARGET_OBJECT, .required = true, .kind = "dialer" },
	{ NULL },
};
static const struct fl_target_arg dialer_start_args[] = {
	{ .name = "dialer", .type = FL_TARGET_OBJECT, .required = true, .kind = "dialer" },
	NONBLOCK_ARG(1),
	{ NULL },
};
static const struct fl_target_arg ctx_open_args[] = {
	SOCK_ARG,
	{ NULL },
};
static const struct fl_target_arg ctx_args[] = {
	CTX_ARG,
	{ NULL },
};
static const struct fl_target_arg ctx_sub_args[] = {
	CTX_ARG,
	{ .name = "topic", .type = FL_TARGET_STRING },
	{ NULL },
};
static const struct fl_target_arg ctx_send_args[] = {
	CTX_ARG,
	SIZE_ARG(64),
	{ NULL },
};
static const struct fl_target_arg msg_alloc_args[] = {
	SIZE_ARG(0),
	{ NULL },
};
static const struct fl_target_arg msg_args[] = {
	MSG_ARG,
	{ NULL },
};
static const struct fl_target_arg msg_size_args[] = {
	MSG_ARG,
	SIZE_ARG(1),
	{ NULL },
};
static const struct fl_target_arg msg_u32_args[] = {
	MSG_ARG,
	{ .name = "value", .type = FL_TARGET_INT, .min = 0, .max = UINT32_MAX, .dflt = 0x01020304 },
	{ NULL },
};
static const struct fl_target_arg sendmsg_args[] = {
	SOCK_ARG,
	MSG_ARG,
	NONBLOCK_ARG(0),
	{ NULL },
};
static const struct fl_target_arg recvmsg_args[] = {
	SOCK_ARG,
	NONBLOCK_ARG(0),
	{ NULL },
};
#define TIMEOUT_ARG                                                                                \
	{                                                                                          \
		.name = "timeout_ms", .type = FL_TARGET_INT, .min = NNG_DURATION_DEFAULT,          \
		.max = 600000, .dflt = NNG_DURATION_DEFAULT                                        \
	}
static const struct fl_target_arg send_aio_args[] = {
	AIO_ARG,
	{ .name = "sock", .type = FL_TARGET_OBJECT, .kind = "socket" },
	{ .name = "ctx", .type = FL_TARGET_OBJECT, .kind = "ctx" },
	{ .name = "msg", .type = FL_TARGET_OBJECT, .kind = "msg" },
	SIZE_ARG(64),
	TIMEOUT_ARG,
	{ NULL },
};
static const struct fl_target_arg recv_aio_args[] = {
	AIO_ARG,
	{ .name = "sock", .type = FL_TARGET_OBJECT, .kind = "socket" },
	{ .name = "ctx", .type = FL_TARGET_OBJECT, .kind = "ctx" },
	TIMEOUT_ARG,
	{ NULL },
};
static const struct fl_target_arg aio_args[] = {
	AIO_ARG,
	{ NULL },
};
static const struct fl_target_arg aio_free_args[] = {
	AIO_ARG,
	{ .name = "stop", .type = FL_TARGET_BOOL, .dflt = 1 },
	{ NULL },
};

/* An op and its C form (faultline repro --c). */
#define OP_C(n, a, f, c)                                                                           \
	{                                                                                          \
		.name = n, .args = a, .fn = f, .c_code = c                                         \
	}
#define OP_BLOCKS_C(n, a, f, c)                                                                    \
	{                                                                                          \
		.name = n, .args = a, .flags = FL_TARGET_OP_BLOCKS, .fn = f, .c_code = c           \
	}
static const struct fl_target_op ops[] = {
	{ .name = "nng_socket",
	  .args = socket_args,
	  .creates = "socket",
	  .fn = op_socket,
	  .c_code = c_socket },
	OP_C("nng_listen", url_args, op_listen, c_listen),
	OP_C("nng_dial", dial_args, op_dial, c_dial),
	OP_C("nng_subscribe", sub_args, op_subscribe, c_subscribe),
	OP_BLOCKS_C("nng_pipes_wait", pipes_args, op_pipes_wait, c_pipes_wait),
	OP_BLOCKS_C("nng_send", send_args, op_send, c_send),
	OP_BLOCKS_C("nng_recv", sock_args, op_recv, c_recv),
	{ .name = "nng_close",
	  .args = sock_args,
	  .closes = "sock",
	  .fn = op_close,
	  .c_code = c_close },
	OP_C("nng_socket_set", sock_opt_args, op_socket_set, c_socket_set),
	OP_C("nng_socket_get", sock_opt_args, op_socket_get, c_socket_get),
	OP_C("nng_ctx_set", ctx_opt_args, op_ctx_set, c_ctx_set),
	OP_C("nng_ctx_get", ctx_opt_args, op_ctx_get, c_ctx_get),
	OP_C("nng_dialer_set", dialer_opt_args, op_dialer_set, c_dialer_set),
	OP_C("nng_dialer_get", dialer_opt_args, op_dialer_get, c_dialer_get),
	{ .name = "nng_listener_create",
	  .args = listener_create_args,
	  .creates = "listener",
	  .fn = op_listener_create,
	  .c_code = c_listener_create },
	OP_C("nng_listener_start", listener_args, op_listener_start, c_listener_start),
	{ .name = "nng_listener_close",
	  .args = listener_args,
	  .closes = "listener",
	  .fn = op_listener_close,
	  .c_code = c_listener_close },
	{ .name = "nng_dialer_create",
	  .args = listener_create_args,
	  .creates = "dialer",
	  .fn = op_dialer_create,
	  .c_code = c_dialer_create },
	OP_C("nng_dialer_start", dialer_start_args, op_dialer_start, c_dialer_start),
	{ .name = "nng_dialer_close",
	  .args = dialer_args,
	  .closes = "dialer",
	  .c_code = c_dialer_close,
	  .fn = op_dialer_close },
	{ .name = "nng_ctx_open",
	  .args = ctx_open_args,
	  .creates = "ctx",
	  .fn = op_ctx_open,
	  .c_code = c_ctx_open },
	{ .name = "nng_ctx_close",
	  .args = ctx_args,
	  .closes = "ctx",
	  .fn = op_ctx_close,
	  .c_code = c_ctx_close },
	OP_C("nng_ctx_subscribe", ctx_sub_args, op_ctx_subscribe, c_ctx_subscribe),
	OP_BLOCKS_C("nng_ctx_send", ctx_send_args, op_ctx_send, c_ctx_send),
	OP_BLOCKS_C("nng_ctx_recv", ctx_args, op_ctx_recv, c_ctx_recv),
	{ .name = "nng_msg_alloc",
	  .args = msg_alloc_args,
	  .creates = "msg",
	  .fn = op_msg_alloc,
	  .c_code = c_msg_alloc },
	{ .name = "nng_msg_dup",
	  .args = msg_args,
	  .creates = "msg",
	  .fn = op_msg_dup,
	  .c_code = c_msg_dup },
	{ .name = "nng_msg_free",
	  .args = msg_args,
	  .closes = "msg",
	  .fn = op_msg_free,
	  .c_code = c_msg_free },
	OP_C("nng_msg_append", msg_size_args, op_msg_append, c_msg_append),
	OP_C("nng_msg_insert", msg_size_args, op_msg_insert, c_msg_insert),
	OP_C("nng_msg_trim", msg_size_args, op_msg_trim, c_msg_trim),
	OP_C("nng_msg_chop", msg_size_args, op_msg_chop, c_msg_chop),
	OP_C("nng_msg_header_append", msg_size_args, op_msg_header_append, c_msg_header_append),
	OP_C("nng_msg_header_insert", msg_size_args, op_msg_header_insert, c_msg_header_insert),
	OP_C("nng_msg_header_trim", msg_size_args, op_msg_header_trim, c_msg_header_trim),
	OP_C("nng_msg_header_chop", msg_size_args, op_msg_header_chop, c_msg_header_chop),
	OP_C("nng_msg_append_u32", msg_u32_args, op_msg_append_u32, c_msg_append_u32),
	OP_C("nng_msg_insert_u32", msg_u32_args, op_msg_insert_u32, c_msg_insert_u32),
	OP_C("nng_msg_trim_u32", msg_args, op_msg_trim_u32, c_msg_trim_u32),
	OP_C("nng_msg_chop_u32", msg_args, op_msg_chop_u32, c_msg_chop_u32),
	OP_C("nng_msg_realloc", msg_size_args, op_msg_realloc, c_msg_realloc),
	OP_C("nng_msg_reserve", msg_size_args, op_msg_reserve, c_msg_reserve),
	OP_C("nng_msg_clear", msg_args, op_msg_clear, c_msg_clear),
	OP_C("nng_msg_header_clear", msg_args, op_msg_header_clear, c_msg_header_clear),
	OP_BLOCKS_C("nng_sendmsg", sendmsg_args, op_sendmsg, c_sendmsg),
	{ .name = "nng_recvmsg",
	  .args = recvmsg_args,
	  .creates = "msg",
	  .flags = FL_TARGET_OP_BLOCKS,
	  .fn = op_recvmsg,
	  .c_code = c_recvmsg },
	{ .name = "nng_aio_alloc", .creates = "aio", .fn = op_aio_alloc, .c_code = c_aio_alloc },
	OP_C("nng_send_aio", send_aio_args, op_send_aio, c_send_aio),
	OP_C("nng_recv_aio", recv_aio_args, op_recv_aio, c_recv_aio),
	OP_BLOCKS_C("nng_aio_wait", aio_args, op_aio_wait, c_aio_wait),
	OP_C("nng_aio_result", aio_args, op_aio_result, c_aio_result),
	OP_C("nng_aio_cancel", aio_args, op_aio_cancel, c_aio_cancel),
	OP_C("nng_aio_stop", aio_args, op_aio_stop, c_aio_stop),
	{ .name = "nng_aio_free",
	  .args = aio_free_args,
	  .closes = "aio",
	  .fn = op_aio_free,
	  .c_code = c_aio_free },
	{ NULL },
};
static const struct fl_target_kind kinds[] = {
	{ .name = "socket", .close = sock_close, .c_type = "nng_socket" },
	{ .name = "ctx",
	  .close = ctx_close,
	  .c_type = "nng_ctx",
	  .c_close = "say(\"nng_ctx_close\", nng_ctx_close(%s));" },
	{ .name = "aio",
	  .close = aio_close,
	  .c_type = "struct repro_aio *",
	  .c_close = "aio_release(&%s, 1);" },
	{ .name = "msg",
	  .close = msg_close,
	  .c_type = "nng_msg *",
	  .c_close = "msg_release(&%s);" },
	{ .name = "dialer", .close = dialer_close, .c_type = "nng_dialer" },
	{ .name = "listener", .close = listener_close, .c_type = "nng_listener" },
	{ NULL },
};
static const struct fl_target_gauge gauges[] = {
	{ .name = "sockets_open", .read = gauge_sockets_open },
	{ .name = "aios_open", .read = gauge_aios_open },
	{ .name = "ctxs_open", .read = gauge_ctxs_open },
	{ .name = "msgs_open", .read = gauge_msgs_open },
	{ .name = "msgs_held", .read = gauge_msgs_held },
	{ .name = "dialers_open", .read = gauge_dialers_open },
	{ .name = "listeners_open", .read = gauge_listeners_open },
	{ NULL },
};

/* The library under test: NNG's own allocation calls are the ones the
 * fault point target/alloc fails, counted for target_resources and
 * checked by target_heap; the adapter's are not. */
#ifndef NNG_TARGET_STATIC
static const char *const libraries[] = { "libnng.so.1", NULL };
#endif

static const struct fl_target target = {
	.abi = FL_TARGET_ABI,
	.name = "nng",
	.ops = ops,
	.kinds = kinds,
	.gauges = gauges,
	.init = init,
	.fini = fini,
#ifdef NNG_TARGET_STATIC
	/* NNG's static archive, its allocation calls renamed (-Wl,--wrap:
	 * targets/meson.build's nng_wrapped.o) */
	.wrapped = true,
#else
	.libraries = libraries,
#endif
	.c_prologue = c_prologue,
	.c_build = "cc %s -o repro -lnng -lpthread",
	.shared_size = sizeof(struct sent_table),
};

const struct fl_target *
fl_target_entry(void)
{
	return &target;
}

#ifdef NNG_TARGET_STATIC
/* Linked into faultline's own program (faultline-nng-static) with NNG's
 * archive: registered before main, so scenarios without `target:` find
 * its ops. */
__attribute__((constructor)) static void
register_linked(void)
{
	char err[256];

	if (fl_target_register(&target, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline-nng-static: %s\n", err);
		_exit(70);
	}
}
#endif
