/*
 * The NNG target (faultline/target.h, docs/targets.md): NNG 1.5.2 as
 * Debian ships it (libnng.so, unmodified), driven through its public
 * API, written from its manual pages (nng_socket(5), nng_listen(3),
 * nng_dial(3), nng_send(3), nng_recv(3), nng_close(3), nng_options(5),
 * nng_sub(7)), not aimed at any known defect.
 *
 * This first part covers sockets and whole-message send and receive:
 *
 *   nng_socket {as, protocol}   open a socket: req, rep, pub, sub, push,
 *                               pull, pair (pair1), bus, surveyor,
 *                               respondent
 *   nng_listen {sock, url}      e.g. inproc://a (same process: stress
 *                               mode's threads)
 *   nng_dial {sock, url, nonblock}
 *   nng_subscribe {sock, topic} a sub socket's topic ("" is every message)
 *   nng_send {sock, size, deadline_ms}
 *   nng_recv {sock, deadline_ms}
 *   nng_close {sock}
 *
 * The byte model: every message sent is a pattern its first byte keys
 * (byte i = first * 131 + i); every message received is checked against
 * it, and a difference is a target_model violation naming the op.  NNG's
 * errors map onto faultline's codes (timed out, closed, state, no
 * memory, ...); the story keeps NNG's own word for each (fl_target_note).
 *
 * NNG runs threads of its own: its scenarios run in stress or proc mode.
 * Not yet: contexts, aio (cancel, stop, wait, free at any step), the
 * message API and its byte model, options, dialer and listener objects.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/target.h"

/* A socket object is its NNG id plus one, not a pointer: another actor
 * may close it while an op of this one is inside nng_recv on it (NNG
 * answers that op NNG_ECLOSED), and nothing of the adapter's may be
 * freed under it. */
static nng_socket
sock_of(void *obj)
{
	nng_socket s = { .id = (uint32_t)((uintptr_t)obj - 1) };

	return s;
}

static void *
obj_of(nng_socket s)
{
	return (void *)((uintptr_t)s.id + 1);
}

static atomic_long sockets_open;
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
	case NNG_EINVAL: return FL_EINVAL;
	case NNG_EMSGSIZE: return FL_EMSGSIZE;
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
		atomic_fetch_add(&sockets_open, 1);
		*created = obj_of(s);
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
	(void)state;
	(void)created;
	return fl_of("listen", nng_listen(sock_of(a->objs[0]), a->strs[1], NULL, 0));
}

static int
op_dial(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)created;
	return fl_of("dial", nng_dial(sock_of(a->objs[0]), a->strs[1], NULL,
	                              a->ints[2] ? NNG_FLAG_NONBLOCK : 0));
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

static int
op_send(void *state, const struct fl_target_args *a, void **created)
{
	nng_socket s = sock_of(a->objs[0]);
	size_t len = (size_t)a->ints[1];
	unsigned char *buf = malloc(len > 0 ? len : 1);
	unsigned key = atomic_fetch_add(&next_key, 1);
	int rv;

	(void)state;
	(void)created;
	if (buf == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i == 0 ? key : buf[0] * 131u + i);
	rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, ms_left(a->deadline_ns));
	if (rv == 0)
		rv = nng_send(s, buf, len, 0); /* copies: buf stays ours */
	free(buf);
	return fl_of("send", rv);
}

static int
op_recv(void *state, const struct fl_target_args *a, void **created)
{
	nng_socket s = sock_of(a->objs[0]);
	unsigned char *buf = NULL;
	size_t len = 0;
	int rv;

	(void)state;
	(void)created;
	rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, ms_left(a->deadline_ns));
	if (rv == 0)
		rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC);
	if (rv != 0)
		return fl_of("recv", rv);
	for (size_t i = 1; i < len; i++)
		if (buf[i] != (unsigned char)(buf[0] * 131u + i)) {
			fl_target_violation("socket %u received a %zu-byte message that differs "
			                    "from every one sent at byte %zu",
			                    (unsigned)s.id, len, i);
			break;
		}
	nng_free(buf, len);
	return 0;
}

static void
sock_close(void *state, void *obj)
{
	(void)state;
	(void)nng_close(sock_of(obj));
	atomic_fetch_sub(&sockets_open, 1);
}

static int
op_close(void *state, const struct fl_target_args *a, void **created)
{
	int rv = nng_close(sock_of(a->objs[0]));

	(void)state;
	(void)created;
	atomic_fetch_sub(&sockets_open, 1);
	return fl_of("close", rv);
}

static int64_t
gauge_sockets(void *state)
{
	(void)state;
	return atomic_load(&sockets_open);
}

static int
init(void **state)
{
	*state = NULL;
	atomic_store(&sockets_open, 0);
	return 0;
}

/* The run's end: NNG's global state goes (nng_fini(3); NNG starts again
 * at its next call, should this process run another run). */
static void
fini(void *state)
{
	(void)state;
	nng_fini();
}

static const struct fl_target_arg socket_args[] = {
	{ .name = "protocol", .type = FL_TARGET_STRING, .required = true },
	{ NULL },
};
static const struct fl_target_arg url_args[] = {
	{ .name = "sock", .type = FL_TARGET_OBJECT, .required = true, .kind = "socket" },
	{ .name = "url", .type = FL_TARGET_STRING, .required = true },
	{ NULL },
};
static const struct fl_target_arg dial_args[] = {
	{ .name = "sock", .type = FL_TARGET_OBJECT, .required = true, .kind = "socket" },
	{ .name = "url", .type = FL_TARGET_STRING, .required = true },
	{ .name = "nonblock", .type = FL_TARGET_BOOL, .dflt = 1 },
	{ NULL },
};
static const struct fl_target_arg sub_args[] = {
	{ .name = "sock", .type = FL_TARGET_OBJECT, .required = true, .kind = "socket" },
	{ .name = "topic", .type = FL_TARGET_STRING },
	{ NULL },
};
static const struct fl_target_arg send_args[] = {
	{ .name = "sock", .type = FL_TARGET_OBJECT, .required = true, .kind = "socket" },
	{ .name = "size", .type = FL_TARGET_INT, .min = 0, .max = 1 << 20, .dflt = 64 },
	{ NULL },
};
static const struct fl_target_arg sock_args[] = {
	{ .name = "sock", .type = FL_TARGET_OBJECT, .required = true, .kind = "socket" },
	{ NULL },
};

static const struct fl_target_op ops[] = {
	{ .name = "nng_socket", .args = socket_args, .creates = "socket", .fn = op_socket },
	{ .name = "nng_listen", .args = url_args, .fn = op_listen },
	{ .name = "nng_dial", .args = dial_args, .fn = op_dial },
	{ .name = "nng_subscribe", .args = sub_args, .fn = op_subscribe },
	{ .name = "nng_send", .args = send_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_send },
	{ .name = "nng_recv", .args = sock_args, .flags = FL_TARGET_OP_BLOCKS, .fn = op_recv },
	{ .name = "nng_close", .args = sock_args, .closes = "sock", .fn = op_close },
	{ NULL },
};
static const struct fl_target_kind kinds[] = {
	{ .name = "socket", .close = sock_close },
	{ NULL },
};
static const struct fl_target_gauge gauges[] = {
	{ .name = "sockets_open", .read = gauge_sockets },
	{ NULL },
};

static const struct fl_target target = {
	.abi = FL_TARGET_ABI,
	.name = "nng",
	.ops = ops,
	.kinds = kinds,
	.gauges = gauges,
	.init = init,
	.fini = fini,
};

const struct fl_target *
fl_target_entry(void)
{
	return &target;
}
