/*
 * faultline-bench: publish/subscribe throughput and ping-pong latency of
 * 32-byte messages over faultline's shared-memory transport (embedded
 * driver, real /dev/shm), measured in the same run against two peers:
 *
 *   ring  a minimal lock-free SPSC ring of 32-byte slots in shared memory
 *         (no transport at all), read as soon as a slot is there;
 *   batched ring  the same ring whose reader takes slots only in batches
 *         (the machine's limit: the reader never reads the line the
 *         writer is filling);
 *   nng   NNG pair1 over ipc:// (what a user would otherwise pick).
 *
 *   faultline-bench [--messages N] [--seconds S] [--repeat R] [--idle spin|yield|backoff] [--json]
 *                   [--nofp PATH | --no-nofp] [--single-only | --procs-only]
 *                   [--batch BYTES] [--batch-delay US] [--no-pre-touch]
 *
 * Each throughput figure sends N messages (default 10^6) from one
 * publisher to one subscriber, as two threads of one process and as two
 * processes; ping-pong runs N/10 round trips (at least 100) between two
 * processes after a warm-up.  A measurement stops sending after S seconds
 * (default 10) and reports what it did; --repeat R runs the whole set R
 * times, interleaved, and keeps each figure's best.  Prints one
 * `name value` line per figure, or one JSON object with --json, then
 * ratios against the peers.  faultline's two-process figures are measured
 * twice: with the default poll, and (named faultline_batched_*) with the
 * subscriber's reads batched by fl_subscription_set_batch (--batch,
 * --batch-delay; default 65536 bytes, 100 us), which lets a stream run
 * ahead of its reader; --batch 0 leaves those out.  --procs-only measures
 * only the two-process figures of faultline and the two rings;
 * --single-only only faultline's single-thread send+poll cost.  Its
 * clients read every page of a log when they map it (fl_client_ctx's
 * pre_touch); --no-pre-touch leaves the first lap to pay each page's
 * first access.
 *
 * The cost of compiled-in but disarmed fault and scheduling points cannot
 * be toggled at run time: `faultpoints_build` says which build this is
 * (meson -Dfaultpoints=enabled|disabled).  An enabled build also builds
 * faultline-bench-nofp, the same program on a transport compiled with the
 * points out; when it stands beside this program (or --nofp PATH names
 * it), the run measures in both builds, each in a fresh process,
 * alternating 5R times, the single-thread send+poll cost (one message
 * offered and polled back in one thread: the code path without scheduling
 * noise), the two-process throughput and the ping-pong p50, keeps the best
 * of each and prints their ratios, `ratio_faultpoints_enabled_disabled_*`.
 * The two-process throughput compared is the batched subscriber's (named
 * *_batched_*) unless --batch 0: the default poll's figure says more
 * about the regime each best run fell into than about the points
 * (docs/figures.md).
 *
 * Peers run in forked processes started before any thread exists in the
 * parent (the embedded driver starts after the fork; NNG is used only in
 * children), every wait has a deadline, and the run directory
 * /dev/shm/faultline-bench-<pid> is gone when the program exits.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include "bench_common.h"
#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/error.h"

#define SENTINEL_LEN 8                    /* end of stream (throughput) / stop (ping-pong) */
#define SETUP_NS     (10 * FL_NS_PER_SEC) /* connecting peers */
#define GRACE_NS     (10 * FL_NS_PER_SEC) /* past the sending bound */

static struct {
	uint64_t warmup;
	uint64_t messages;
	uint64_t rounds;
	struct bench_opts opts;  /* --json, --seconds, --repeat (best of), --idle */
	int single_only;         /* --single-only */
	int procs_only;          /* --procs-only */
	int no_nofp;             /* --no-nofp */
	const char *nofp_arg;    /* --nofp PATH, or NULL */
	uint32_t batch_bytes;    /* --batch BYTES: the batched subscriber's (0: none) */
	uint64_t batch_delay_ns; /* --batch-delay US */
	int no_pre_touch;        /* --no-pre-touch */
	char ns[48];
	char url[96];
} cfg;
/* Round trips before the measured ones: 1000, fewer for a short run. */
#define WARMUP_ROUNDS cfg.warmup

/* ---- endpoints: one interface over the three transports -------------- */

typedef void (*msg_handler)(void *ctx, const uint8_t *buf, size_t len);

struct ep_ops {
	/* 1: sent; 0: would block (idle, retry); < 0: error. */
	int (*send)(void *ep, const void *buf, size_t len);
	/* Messages delivered (>= 0) or < 0 on error. */
	int (*poll)(void *ep, msg_handler h, void *ctx, int limit);
	/* The publisher waits for the subscriber's ack of the end-of-stream
	 * message before closing (NNG drops what is queued at close). */
	int ack_at_end;
};

/* ---- the raw SPSC ring ----------------------------------------------- */

#define RING_SLOTS 4096u

struct ring_slot {
	uint32_t len;
	uint32_t pad_;
	uint8_t data[BENCH_MSG_LEN];
};

struct ring {
	_Alignas(64) _Atomic uint64_t head; /* consumer: next slot to read */
	_Alignas(64) _Atomic uint64_t tail; /* producer: next slot to write */
	_Alignas(64) struct ring_slot slot[RING_SLOTS];
};

/* One direction out and one in; positions cached so the fast path touches
 * the other side's cache line only when the ring looks full or empty. */
struct ring_ep {
	struct ring *out, *in;
	uint64_t tail, cached_head; /* writer state */
	uint64_t head, cached_tail; /* reader state */
};

static int
ring_send(void *p, const void *buf, size_t len)
{
	struct ring_ep *e = p;
	uint64_t t = e->tail;

	if (t - e->cached_head >= RING_SLOTS) {
		e->cached_head = atomic_load_explicit(&e->out->head, memory_order_acquire);
		if (t - e->cached_head >= RING_SLOTS)
			return 0;
	}
	struct ring_slot *s = &e->out->slot[t & (RING_SLOTS - 1)];
	s->len = (uint32_t)len;
	memcpy(s->data, buf, len);
	atomic_store_explicit(&e->out->tail, t + 1, memory_order_release);
	e->tail = t + 1;
	return 1;
}

static int
ring_poll(void *p, msg_handler h, void *ctx, int limit)
{
	struct ring_ep *e = p;
	uint64_t hd = e->head;
	int n = 0;

	if (hd == e->cached_tail) {
		e->cached_tail = atomic_load_explicit(&e->in->tail, memory_order_acquire);
		if (hd == e->cached_tail)
			return 0;
	}
	while (hd != e->cached_tail && n < limit) {
		const struct ring_slot *s = &e->in->slot[hd & (RING_SLOTS - 1)];
		h(ctx, s->data, s->len);
		hd++;
		n++;
	}
	atomic_store_explicit(&e->in->head, hd, memory_order_release);
	e->head = hd;
	return n;
}

static const struct ep_ops ring_ops = { ring_send, ring_poll, 0 };

/* The batched ring's reader: it reads once RING_BATCH slots are there, or
 * when the count stopped growing over RING_SETTLE pauses (the stream's
 * end, or a writer that waits for an answer).  So while the writer
 * streams, the reader stays a batch behind it and the two never share the
 * line being filled: throughput is then bounded by the machine's bandwidth,
 * not by the latency of a cache line crossing cores once a message. */
#define RING_BATCH  256u
#define RING_SETTLE 64

static int
ring_poll_batched(void *p, msg_handler h, void *ctx, int limit)
{
	struct ring_ep *e = p;
	uint64_t t = atomic_load_explicit(&e->in->tail, memory_order_acquire);

	if (t == e->head)
		return 0;
	if (t - e->head < RING_BATCH) {
		for (int k = 0; k < RING_SETTLE; k++)
			__builtin_ia32_pause();
		uint64_t again = atomic_load_explicit(&e->in->tail, memory_order_acquire);
		if (again != t && again - e->head < RING_BATCH)
			return 0; /* still growing: come back for the batch */
		t = again;
	}
	e->cached_tail = t;
	return ring_poll(p, h, ctx, limit);
}

static const struct ep_ops ring_batched_ops = { ring_send, ring_poll_batched, 0 };

/* ---- faultline ------------------------------------------------------- */

struct fl_ep {
	fl_client *client;
	fl_publication *pub;
	fl_subscription *sub;
	msg_handler h; /* poll's trampoline target */
	void *hctx;
};

static int
fl_send(void *p, const void *buf, size_t len)
{
	struct fl_ep *e = p;
	int64_t rc = fl_publication_offer(e->pub, buf, len);

	if (rc > 0)
		return 1;
	if (rc == FL_EBACKPRESSURE || rc == FL_ENOT_CONNECTED)
		return 0;
	return (int)rc;
}

static void
fl_trampoline(void *p, const uint8_t *buf, size_t len, const struct fl_header *hdr)
{
	struct fl_ep *e = p;

	e->h(e->hctx, buf, len);
}

static int
fl_poll(void *p, msg_handler h, void *ctx, int limit)
{
	struct fl_ep *e = p;

	e->h = h;
	e->hctx = ctx;
	return fl_subscription_poll(e->sub, fl_trampoline, e, limit);
}

static const struct ep_ops fl_ops = { fl_send, fl_poll, 0 };

/* fl_ep_open connects to the driver of cfg.ns with a publication on
 * tx_stream and a subscription on rx_stream (0: none) and waits until both
 * see their peer. */
static int
fl_ep_open(struct fl_ep *e, int32_t tx_stream, int32_t rx_stream, struct bench_result *res)
{
	struct fl_client_ctx ctx;
	uint64_t deadline = bench_now_ns() + SETUP_NS;
	int rc;

	memset(e, 0, sizeof(*e));
	fl_client_ctx_init(&ctx);
	ctx.ns = cfg.ns;
	ctx.pre_touch = !cfg.no_pre_touch;
	if ((rc = fl_client_open(&ctx, &e->client)) != 0) {
		bench_fail_set(res, rc, "fl_client_open");
		return rc;
	}
	if (rx_stream != 0 && (rc = fl_client_add_subscription(e->client, "bench", rx_stream, NULL,
	                                                       deadline, &e->sub)) != 0) {
		bench_fail_set(res, rc, "fl_client_add_subscription");
		return rc;
	}
	if (tx_stream != 0 && (rc = fl_client_add_publication(e->client, "bench", tx_stream, true,
	                                                      deadline, &e->pub)) != 0) {
		bench_fail_set(res, rc, "fl_client_add_publication");
		return rc;
	}
	while ((e->pub != NULL && !fl_publication_is_connected(e->pub)) ||
	       (e->sub != NULL && tx_stream != 0 && !fl_subscription_is_connected(e->sub))) {
		if (bench_now_ns() >= deadline) {
			bench_fail_set(res, FL_ETIMEDOUT, "waiting for the peer to connect");
			return FL_ETIMEDOUT;
		}
		fl_idle_sleep_until(bench_now_ns() + 100000);
	}
	return 0;
}

/* fl_ep_close is safe on a half-opened endpoint. */
static void
fl_ep_close(struct fl_ep *e)
{
	fl_publication_close(e->pub);
	fl_subscription_close(e->sub);
	fl_client_close(e->client);
	memset(e, 0, sizeof(*e));
}

/* ---- NNG pair1 over ipc:// ------------------------------------------- */

struct nng_ep {
	nng_socket s;
	int open;
	uint8_t buf[64];
};

static int
nng_ep_send(void *p, const void *buf, size_t len)
{
	struct nng_ep *e = p;
	int rc = nng_send(e->s, (void *)buf, len, 0);

	return rc == 0 ? 1 : -rc;
}

/* Blocks in NNG (up to its receive timeout): NNG's own idle strategy. */
static int
nng_ep_poll(void *p, msg_handler h, void *ctx, int limit)
{
	struct nng_ep *e = p;
	size_t len = sizeof(e->buf);
	int rc = nng_recv(e->s, e->buf, &len, 0);

	if (rc != 0)
		return -rc;
	h(ctx, e->buf, len);
	return 1;
}

static const struct ep_ops nng_ops = { nng_ep_send, nng_ep_poll, 1 };

static int
nng_ep_open(struct nng_ep *e, int listen, struct bench_result *res)
{
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = nng_pair1_open(&e->s)) != 0) {
		bench_fail_set(res, -rc, "nng_pair1_open");
		return -1;
	}
	e->open = 1;
	nng_setopt_ms(e->s, NNG_OPT_RECVTIMEO,
	              (nng_duration)((cfg.opts.bound_ns + GRACE_NS) / FL_NS_PER_MS));
	nng_setopt_ms(e->s, NNG_OPT_SENDTIMEO,
	              (nng_duration)((cfg.opts.bound_ns + GRACE_NS) / FL_NS_PER_MS));
	/* Queues of 1024 messages each way (NNG's default is a few): the
	 * tuning a user chasing throughput would apply. */
	nng_setopt_int(e->s, NNG_OPT_SENDBUF, 1024);
	nng_setopt_int(e->s, NNG_OPT_RECVBUF, 1024);
	/* The dialer retries in the background until the listener is up;
	 * the first send waits (up to the send timeout) for the pipe. */
	rc = listen ? nng_listen(e->s, cfg.url, NULL, 0)
	            : nng_dial(e->s, cfg.url, NULL, NNG_FLAG_NONBLOCK);
	if (rc != 0) {
		bench_fail_set(res, -rc, listen ? "nng_listen" : "nng_dial");
		return -1;
	}
	return 0;
}

static void
nng_ep_close(struct nng_ep *e)
{
	if (e->open)
		nng_close(e->s);
	e->open = 0;
}

/* ---- roles ----------------------------------------------------------- */

static void
fill_msg(uint8_t *buf, uint64_t seq, uint64_t stamp)
{
	memset(buf, 0x5a, BENCH_MSG_LEN);
	memcpy(buf, &seq, sizeof(seq));
	memcpy(buf + 8, &stamp, sizeof(stamp));
}

/* send_until sends one message, idling while the transport pushes back. */
static int
send_until(const struct ep_ops *ops, void *ep, const void *buf, size_t len, uint64_t deadline,
           struct bench_idle *idle)
{
	for (;;) {
		int rc = ops->send(ep, buf, len);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		if (bench_now_ns() >= deadline)
			return FL_ETIMEDOUT;
		bench_idle(idle, 0);
	}
}

/* What a subscriber or ponger has seen. */
struct rx {
	uint64_t expected; /* next sequence number */
	uint64_t errors;
	uint64_t start_ns; /* stamp carried by message 0 */
	int ended;         /* got the end-of-stream / stop message */
	uint8_t last[BENCH_MSG_LEN];
};

static void
rx_handler(void *p, const uint8_t *buf, size_t len)
{
	struct rx *rx = p;
	uint64_t seq;

	if (len == SENTINEL_LEN) {
		rx->ended = 1;
		return;
	}
	memcpy(&seq, buf, sizeof(seq));
	if (len != BENCH_MSG_LEN || seq != rx->expected || buf[BENCH_MSG_LEN - 1] != 0x5a)
		rx->errors++;
	if (seq == 0)
		memcpy(&rx->start_ns, buf + 8, sizeof(rx->start_ns));
	memcpy(rx->last, buf, len < sizeof(rx->last) ? len : sizeof(rx->last));
	rx->expected++;
}

static void
role_publish(const struct ep_ops *ops, void *ep, struct bench_result *res)
{
	uint8_t buf[BENCH_MSG_LEN];
	struct bench_idle idle;
	uint64_t start = bench_now_ns(), stop = start + cfg.opts.bound_ns, hard = stop + GRACE_NS;
	uint64_t i;
	int rc = 0;

	bench_idle_init(&idle, cfg.opts.idle);
	for (i = 0; i < cfg.messages; i++) {
		if ((i & 1023) == 0 && i > 0 && bench_now_ns() >= stop)
			break;
		fill_msg(buf, i, start);
		if ((rc = send_until(ops, ep, buf, BENCH_MSG_LEN, hard, &idle)) != 0) {
			bench_fail_set(res, rc, "publisher send");
			return;
		}
	}
	memcpy(buf, &i, sizeof(i));
	if ((rc = send_until(ops, ep, buf, SENTINEL_LEN, hard, &idle)) != 0) {
		bench_fail_set(res, rc, "publisher end-of-stream");
		return;
	}
	res->count = i;
	res->start_ns = start;
	if (ops->ack_at_end) {
		struct rx ack = { 0 };
		while (!ack.ended) {
			rc = ops->poll(ep, rx_handler, &ack, 1);
			if (rc < 0 || bench_now_ns() >= hard) {
				bench_fail_set(res, rc < 0 ? rc : FL_ETIMEDOUT,
				               "publisher waiting for the ack");
				return;
			}
		}
	}
}

static void
role_subscribe(const struct ep_ops *ops, void *ep, struct bench_result *res)
{
	struct rx rx = { 0 };
	struct bench_idle idle;
	uint64_t hard = bench_now_ns() + cfg.opts.bound_ns + 2 * GRACE_NS;

	uint64_t full_polls = 0, got = 0;

	bench_idle_init(&idle, cfg.opts.idle);
	while (!rx.ended) {
		int n = ops->poll(ep, rx_handler, &rx, 256);
		if (n < 0) {
			bench_fail_set(res, n, "subscriber poll");
			return;
		}
		full_polls += n > 0;
		got += (uint64_t)(n > 0 ? n : 0);
		if (n == 0 && bench_now_ns() >= hard) {
			bench_fail_set(res, FL_ETIMEDOUT, "subscriber: end of stream never came");
			return;
		}
		bench_idle(&idle, n);
	}
	res->end_ns = bench_now_ns();
	res->count = rx.expected;
	res->errors = rx.errors;
	res->start_ns = rx.start_ns;
	/* Messages a poll that found any took, on average: about 1 when the
	 * subscriber keeps up with the publisher message by message (their
	 * cache lines cross cores for each), more when it reads in batches. */
	res->extra = full_polls > 0 ? (double)got / (double)full_polls : 0;
	if (ops->ack_at_end) {
		uint8_t ack[SENTINEL_LEN] = { 0 };
		int rc = send_until(ops, ep, ack, SENTINEL_LEN, hard, &idle);
		if (rc != 0)
			bench_fail_set(res, rc, "subscriber ack");
	}
}

static void
role_ping(const struct ep_ops *ops, void *ep, struct bench_result *res)
{
	uint64_t total = WARMUP_ROUNDS + cfg.rounds, i;
	uint64_t *lat = bench_samples(cfg.rounds);
	uint8_t buf[BENCH_MSG_LEN];
	struct rx rx = { 0 };
	struct bench_idle idle;
	uint64_t stop = bench_now_ns() + cfg.opts.bound_ns, hard = stop + GRACE_NS;
	int rc;

	if (lat == NULL) {
		bench_fail_set(res, FL_ENOMEM, "latency samples");
		return;
	}
	bench_idle_init(&idle, cfg.opts.idle);
	for (i = 0; i < total; i++) {
		uint64_t t0 = bench_now_ns();
		if (t0 >= stop && i > WARMUP_ROUNDS + 100)
			break;
		fill_msg(buf, i, t0);
		if ((rc = send_until(ops, ep, buf, BENCH_MSG_LEN, hard, &idle)) != 0) {
			bench_fail_set(res, rc, "ping send");
			goto out;
		}
		while (rx.expected == i) {
			int n = ops->poll(ep, rx_handler, &rx, 1);
			if (n < 0 || (n == 0 && bench_now_ns() >= hard)) {
				bench_fail_set(res, n < 0 ? n : FL_ETIMEDOUT,
				               "waiting for the pong");
				goto out;
			}
			bench_idle(&idle, n);
		}
		if (i >= WARMUP_ROUNDS)
			lat[i - WARMUP_ROUNDS] = bench_now_ns() - t0;
	}
	res->count = i - WARMUP_ROUNDS;
	res->errors = rx.errors;
	bench_lat_summarize(lat, res->count, &res->lat);
out:
	memset(buf, 0, SENTINEL_LEN);
	rc = send_until(ops, ep, buf, SENTINEL_LEN, hard, &idle);
	if (rc != 0)
		bench_fail_set(res, rc, "ping stop");
	if (ops->ack_at_end && res->rc == 0) {
		rx.ended = 0;
		while (!rx.ended) {
			int n = ops->poll(ep, rx_handler, &rx, 1);
			if (n < 0 || bench_now_ns() >= hard) {
				bench_fail_set(res, n < 0 ? n : FL_ETIMEDOUT,
				               "waiting for the stop ack");
				break;
			}
		}
	}
	free(lat);
}

static void
role_pong(const struct ep_ops *ops, void *ep, struct bench_result *res)
{
	struct rx rx = { 0 };
	struct bench_idle idle;
	uint64_t hard = bench_now_ns() + cfg.opts.bound_ns + 2 * GRACE_NS;
	uint64_t echoed = 0;

	bench_idle_init(&idle, cfg.opts.idle);
	while (!rx.ended) {
		int n = ops->poll(ep, rx_handler, &rx, 1);
		if (n < 0 || (n == 0 && bench_now_ns() >= hard)) {
			bench_fail_set(res, n < 0 ? n : FL_ETIMEDOUT, "pong: stop never came");
			return;
		}
		if (!rx.ended && rx.expected > echoed) {
			int rc = send_until(ops, ep, rx.last, BENCH_MSG_LEN, hard, &idle);
			if (rc != 0) {
				bench_fail_set(res, rc, "pong send");
				return;
			}
			echoed = rx.expected;
		}
		bench_idle(&idle, n);
	}
	if (ops->ack_at_end) {
		uint8_t ack[SENTINEL_LEN] = { 0 };
		int rc = send_until(ops, ep, ack, SENTINEL_LEN, hard, &idle);
		if (rc != 0)
			bench_fail_set(res, rc, "pong stop ack");
	}
	res->count = echoed;
	res->errors = rx.errors;
}

/* ---- peer processes and threads ------------------------------------- */

enum role { ROLE_PUB, ROLE_SUB, ROLE_PING, ROLE_PONG };

static void
run_role(enum role role, const struct ep_ops *ops, void *ep, struct bench_result *res)
{
	switch (role) {
	case ROLE_PUB: role_publish(ops, ep, res); break;
	case ROLE_SUB: role_subscribe(ops, ep, res); break;
	case ROLE_PING: role_ping(ops, ep, res); break;
	case ROLE_PONG: role_pong(ops, ep, res); break;
	}
}

/* Shared memory for the rings, mapped before the peers fork. */
static struct ring *rings;

struct peer {
	char kind; /* 'r' ring, 'b' batched ring, 'f' faultline, 'F' faultline with
	            * batched reads (fl_subscription_set_batch), 'n' nng */
	enum role role;
	void *ep; /* threads mode: an endpoint opened by the parent */
	struct bench_result res;
};

static void
ring_ep_for(struct ring_ep *e, enum role role)
{
	memset(e, 0, sizeof(*e));
	/* rings[0] carries publisher/ping -> subscriber/pong, rings[1] back. */
	if (role == ROLE_PUB || role == ROLE_PING) {
		e->out = &rings[0];
		e->in = &rings[1];
	} else {
		e->out = &rings[1];
		e->in = &rings[0];
	}
}

/* A peer in a process of its own. */
static void
peer_process(void *arg, struct bench_result *res)
{
	struct peer *p = arg;

	if (p->kind == 'r' || p->kind == 'b') {
		struct ring_ep e;
		ring_ep_for(&e, p->role);
		run_role(p->role, p->kind == 'b' ? &ring_batched_ops : &ring_ops, &e, res);
	} else if (p->kind == 'f' || p->kind == 'F') {
		struct fl_ep e;
		int32_t tx = 0, rx = 0;
		switch (p->role) {
		case ROLE_PUB: tx = 1; break;
		case ROLE_SUB: rx = 1; break;
		case ROLE_PING:
			tx = 2;
			rx = 3;
			break;
		case ROLE_PONG:
			tx = 3;
			rx = 2;
			break;
		}
		if (fl_ep_open(&e, tx, rx, res) == 0) {
			int rc = 0;
			if (p->kind == 'F' && e.sub != NULL)
				rc = fl_subscription_set_batch(e.sub, cfg.batch_bytes,
				                               cfg.batch_delay_ns);
			if (rc != 0)
				bench_fail_set(res, rc, "fl_subscription_set_batch");
			else
				run_role(p->role, &fl_ops, &e, res);
		}
		fl_ep_close(&e);
	} else {
		struct nng_ep e;
		if (nng_ep_open(&e, p->role == ROLE_SUB || p->role == ROLE_PONG, res) == 0)
			run_role(p->role, &nng_ops, &e, res);
		nng_ep_close(&e);
	}
}

static void *
peer_thread(void *arg)
{
	struct peer *p = arg;
	const struct ep_ops *ops = p->kind == 'r'   ? &ring_ops
	                           : p->kind == 'b' ? &ring_batched_ops
	                           : p->kind == 'f' ? &fl_ops
	                                            : &nng_ops;

	run_role(p->role, ops, p->ep, &p->res);
	return NULL;
}

static int
run_threads(struct peer *a, struct peer *b)
{
	pthread_t ta, tb;

	if (pthread_create(&tb, NULL, peer_thread, b) != 0)
		return -1;
	if (pthread_create(&ta, NULL, peer_thread, a) != 0) {
		/* b gives up at its own deadline. */
		pthread_join(tb, NULL);
		return -1;
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	return a->res.rc == 0 && b->res.rc == 0 ? 0 : -1;
}

/* NNG's threads must not be inherited through fork, so the two-thread NNG
 * run is itself a child process. */
static void
nng_threads_process(void *arg, struct bench_result *res)
{
	struct nng_ep pe, se;
	struct peer pub = { 'n', ROLE_PUB, &pe, { 0 } }, sub = { 'n', ROLE_SUB, &se, { 0 } };

	if (nng_ep_open(&se, 1, res) == 0 && nng_ep_open(&pe, 0, res) == 0) {
		run_threads(&pub, &sub);
		*res = sub.res;
		if (pub.res.rc != 0)
			*res = pub.res;
	}
	nng_ep_close(&pe);
	nng_ep_close(&se);
}

static int
start_driver(fl_driver **out)
{
	struct fl_driver_ctx ctx;
	int rc;

	fl_driver_ctx_init(&ctx);
	ctx.ns = cfg.ns;
	rc = fl_driver_start(&ctx, out);
	if (rc != 0)
		fprintf(stderr, "faultline-bench: driver for %s: %s\n", cfg.ns, fl_strerror(rc));
	return rc;
}

static void
report_failure(const char *what, const struct bench_result *r)
{
	fprintf(stderr, "faultline-bench: %s: %s (%d", what, r->what, r->rc);
	if (r->rc < 0 && r->rc > -200)
		fprintf(stderr, ": %s", fl_strerror(r->rc));
	fprintf(stderr, ")\n");
}

/* Two peers as processes.  kind 'f' runs the embedded driver in this
 * process, started after the fork.  *out gets the measuring side's result
 * (the subscriber's or the pinger's). */
static int
run_processes(char kind, enum role ra, enum role rb, const char *what, struct bench_result *out)
{
	struct peer a = { kind, ra, NULL, { 0 } }, b = { kind, rb, NULL, { 0 } };
	struct bench_child ca, cb;
	struct bench_result resa, resb;
	fl_driver *drv = NULL;
	int rc = -1;

	memset(&cb, 0, sizeof(cb));
	if (kind == 'r' || kind == 'b')
		memset(rings, 0, 2 * sizeof(*rings));
	if (bench_child_spawn(&ca, peer_process, &a) != 0)
		goto out;
	if (bench_child_spawn(&cb, peer_process, &b) != 0)
		goto out;
	if ((kind == 'f' || kind == 'F') && start_driver(&drv) != 0)
		goto out;
	if (bench_child_go(&cb) != 0 || bench_child_go(&ca) != 0)
		goto out;
	rc = 0;
out:;
	uint64_t deadline = bench_now_ns() + cfg.opts.bound_ns + 3 * GRACE_NS + SETUP_NS;
	int fa = bench_child_finish(&ca, deadline, &resa);
	int fb = bench_child_finish(&cb, deadline, &resb);
	fl_driver_close(drv);
	if (kind == 'n')
		unlink(cfg.url + strlen("ipc://"));
	if (rc != 0 || fa != 0 || fb != 0) {
		report_failure(what, fa != 0 ? &resa : &resb);
		return -1;
	}
	*out = (ra == ROLE_PING) ? resa : resb;
	return 0;
}

static double
rate(const struct bench_result *r)
{
	uint64_t dt = r->end_ns > r->start_ns ? r->end_ns - r->start_ns : 1;

	return (double)r->count * 1e9 / (double)dt;
}

static int
check_stream(const char *what, const struct bench_result *r)
{
	if (r->errors != 0) {
		fprintf(stderr,
		        "faultline-bench: %s: %" PRIu64 " messages lost, reordered or corrupted\n",
		        what, r->errors);
		return -1;
	}
	return 0;
}

/* ---- the measurements ------------------------------------------------ */

struct figures {
	double ring_thr, ring_proc, ring_batched_proc, fl_thr, fl_proc, nng_thr, nng_proc;
	double fl_proc_batch; /* the subscriber's messages per poll, in the best fl_proc run */
	double flb_proc, flb_proc_batch; /* the same, the subscriber's reads batched */
	double ring_1t_ns, fl_1t_ns;     /* send + poll of one message, one thread */
	struct bench_lat ring_pp, fl_pp, flb_pp, nng_pp;
	uint64_t ring_rounds, fl_rounds, flb_rounds, nng_rounds;
};

static void
count_handler(void *ctx, const uint8_t *buf, size_t len)
{
	(*(uint64_t *)ctx)++;
}

/* single_thread_ns sends one message and polls it back, in one thread,
 * and returns the best ns per message over 5 batches: the cost of the
 * code path alone, with no other core or scheduler involved.  Noise from
 * other load stays out of it, so it is the figure that shows what
 * compiled-in but disarmed points cost (compare two builds). */
static int
single_thread_ns(const struct ep_ops *ops, void *ep, double *out)
{
	uint8_t buf[BENCH_MSG_LEN];
	uint64_t k = cfg.messages < 200000 ? cfg.messages : 200000, got = 0;
	double best = 0;

	fill_msg(buf, 0, 0);
	for (int b = 0; b < 5; b++) {
		uint64_t t0 = bench_now_ns();
		for (uint64_t i = 0; i < k; i++) {
			if (ops->send(ep, buf, BENCH_MSG_LEN) != 1 ||
			    ops->poll(ep, count_handler, &got, 1) != 1) {
				fprintf(stderr,
				        "faultline-bench: single-thread send/poll failed\n");
				return -1;
			}
		}
		double ns = (double)(bench_now_ns() - t0) / (double)k;
		if (b == 0 || ns < best)
			best = ns;
	}
	*out = best;
	return 0;
}

static int
measure_ring_single(double *out)
{
	struct ring_ep e;

	memset(rings, 0, sizeof(*rings));
	memset(&e, 0, sizeof(e));
	e.out = e.in = &rings[0];
	return single_thread_ns(&ring_ops, &e, out);
}

static int
measure_ring_threads(double *out)
{
	struct ring_ep pe, se;
	struct peer pub = { 'r', ROLE_PUB, &pe, { 0 } }, sub = { 'r', ROLE_SUB, &se, { 0 } };

	memset(rings, 0, 2 * sizeof(*rings));
	ring_ep_for(&pe, ROLE_PUB);
	ring_ep_for(&se, ROLE_SUB);
	if (run_threads(&pub, &sub) != 0) {
		report_failure("ring threads", pub.res.rc != 0 ? &pub.res : &sub.res);
		return -1;
	}
	if (check_stream("ring threads", &sub.res) != 0)
		return -1;
	*out = rate(&sub.res);
	return 0;
}

/* measure_fl_threads: *out the threads' throughput, *single_ns the
 * single-thread send+poll cost on the same client. */
static int
measure_fl_threads(double *out, double *single_ns)
{
	fl_driver *drv = NULL;
	struct fl_ep e;
	struct bench_result setup = { 0 };
	struct peer pub = { 'f', ROLE_PUB, &e, { 0 } }, sub = { 'f', ROLE_SUB, &e, { 0 } };
	int rc = -1;

	memset(&e, 0, sizeof(e));
	if (start_driver(&drv) != 0)
		return -1;
	/* One client: the publication and the subscription on the same
	 * stream, the publisher and the subscriber threads share it. */
	if (fl_ep_open(&e, 1, 1, &setup) != 0) {
		report_failure("faultline threads setup", &setup);
		goto out;
	}
	if (run_threads(&pub, &sub) != 0) {
		report_failure("faultline threads", pub.res.rc != 0 ? &pub.res : &sub.res);
		goto out;
	}
	if (check_stream("faultline threads", &sub.res) != 0)
		goto out;
	*out = rate(&sub.res);
	if (single_thread_ns(&fl_ops, &e, single_ns) != 0)
		goto out;
	rc = 0;
out:
	fl_ep_close(&e);
	fl_driver_close(drv);
	return rc;
}

/* *per_poll (when not NULL): the subscriber's messages per poll that
 * found any. */
static int
measure_throughput_processes(char kind, const char *what, double *out, double *per_poll)
{
	struct bench_result r;

	if (run_processes(kind, ROLE_PUB, ROLE_SUB, what, &r) != 0 || check_stream(what, &r) != 0)
		return -1;
	*out = rate(&r);
	if (per_poll != NULL)
		*per_poll = r.extra;
	return 0;
}

static int
measure_nng_threads(double *out)
{
	struct bench_child c;
	struct bench_result r;

	if (bench_child_spawn(&c, nng_threads_process, NULL) != 0 || bench_child_go(&c) != 0) {
		memset(&r, 0, sizeof(r));
		bench_child_finish(&c, bench_now_ns(), &r);
		return -1;
	}
	int rc =
	        bench_child_finish(&c, bench_now_ns() + cfg.opts.bound_ns + 3 * GRACE_NS + SETUP_NS,
	                           &r);
	unlink(cfg.url + strlen("ipc://"));
	if (rc != 0) {
		report_failure("nng threads", &r);
		return -1;
	}
	if (check_stream("nng threads", &r) != 0)
		return -1;
	*out = rate(&r);
	return 0;
}

static int
measure_pingpong(char kind, const char *what, struct bench_lat *lat, uint64_t *rounds)
{
	struct bench_result r;

	if (run_processes(kind, ROLE_PING, ROLE_PONG, what, &r) != 0 || check_stream(what, &r) != 0)
		return -1;
	*lat = r.lat;
	*rounds = r.count;
	return 0;
}

/* measure_all runs every measurement once, in an order that interleaves
 * the three transports, and keeps the best figure of each so far (highest
 * throughput, lowest p50 with its p99/p99.9): on a shared, noisy machine
 * the best of a few runs is the figure least disturbed by other load. */
static int
measure_all(struct figures *f, int first)
{
	struct bench_lat lat;
	uint64_t rounds;
	double v, ns = 0, per_poll = 0;
	int rc = 0;

#define KEEP_MAX(field)                                                                            \
	do {                                                                                       \
		if (rc == 0 && (first || v > f->field))                                            \
			f->field = v;                                                              \
	} while (0)
#define KEEP_MIN(field)                                                                            \
	do {                                                                                       \
		if (rc == 0 && (first || ns < f->field))                                           \
			f->field = ns;                                                             \
	} while (0)
#define KEEP_LAT(field, nfield)                                                                    \
	do {                                                                                       \
		if (rc == 0 && (first || lat.p50_ns < f->field.p50_ns)) {                          \
			f->field = lat;                                                            \
			f->nfield = rounds;                                                        \
		}                                                                                  \
	} while (0)
	/* --procs-only: the two-process figures of faultline and the rings
	 * alone, in the same order. */
	if (!cfg.procs_only) {
		rc = measure_ring_single(&ns);
		KEEP_MIN(ring_1t_ns);
		rc = rc ? rc : measure_ring_threads(&v);
		KEEP_MAX(ring_thr);
		rc = rc ? rc : measure_fl_threads(&v, &ns);
		KEEP_MAX(fl_thr);
		KEEP_MIN(fl_1t_ns);
		rc = rc ? rc : measure_nng_threads(&v);
		KEEP_MAX(nng_thr);
	}
	rc = rc ? rc : measure_throughput_processes('r', "ring processes", &v, NULL);
	KEEP_MAX(ring_proc);
	rc = rc ? rc : measure_throughput_processes('b', "batched ring processes", &v, NULL);
	KEEP_MAX(ring_batched_proc);
	rc = rc ? rc : measure_throughput_processes('f', "faultline processes", &v, &per_poll);
	if (rc == 0 && (first || v > f->fl_proc))
		f->fl_proc_batch = per_poll;
	KEEP_MAX(fl_proc);
	if (cfg.batch_bytes != 0) {
		rc = rc ? rc
		        : measure_throughput_processes('F', "faultline batched processes", &v,
		                                       &per_poll);
		if (rc == 0 && (first || v > f->flb_proc))
			f->flb_proc_batch = per_poll;
		KEEP_MAX(flb_proc);
	}
	if (!cfg.procs_only) {
		rc = rc ? rc : measure_throughput_processes('n', "nng processes", &v, NULL);
		KEEP_MAX(nng_proc);
	}
	rc = rc ? rc : measure_pingpong('r', "ring ping-pong", &lat, &rounds);
	KEEP_LAT(ring_pp, ring_rounds);
	rc = rc ? rc : measure_pingpong('f', "faultline ping-pong", &lat, &rounds);
	KEEP_LAT(fl_pp, fl_rounds);
	if (cfg.batch_bytes != 0) {
		rc = rc ? rc : measure_pingpong('F', "faultline batched ping-pong", &lat, &rounds);
		KEEP_LAT(flb_pp, flb_rounds);
	}
	if (!cfg.procs_only) {
		rc = rc ? rc : measure_pingpong('n', "nng ping-pong", &lat, &rounds);
		KEEP_LAT(nng_pp, nng_rounds);
	}
#undef KEEP_MAX
#undef KEEP_MIN
#undef KEEP_LAT
	return rc;
}

/* --single-only: only the faultline single-thread figure (what an enabled
 * build asks of its -nofp sibling). */
static int
measure_fl_single(double *out)
{
	fl_driver *drv = NULL;
	struct fl_ep e;
	struct bench_result setup = { 0 };
	int rc = -1;

	memset(&e, 0, sizeof(e));
	if (start_driver(&drv) != 0)
		return -1;
	if (fl_ep_open(&e, 1, 1, &setup) != 0)
		report_failure("faultline single-thread setup", &setup);
	else
		rc = single_thread_ns(&fl_ops, &e, out);
	fl_ep_close(&e);
	fl_driver_close(drv);
	return rc;
}

/* What the points cost: each figure in this build (on) and in the -nofp
 * build (off), the best of the alternating rounds. */
struct points_cost {
	double single_on, single_off;     /* ns a message, one thread */
	double thr_on, thr_off;           /* two processes, msgs/s */
	double p50_on, p50_off;           /* two-process ping-pong p50, ns */
	double thr_ring_on, thr_ring_off; /* the ring of the round thr_* came from */
};

/* Runs `prog MODE --no-nofp --messages N` and reads the figures named in
 * names[0..n) into out[] (lines "name value").  0, or -1 with a message. */
static int
measure_child(const char *prog, const char *mode, const char *const *names, double *out, int n)
{
	char cmd[1200], line[256];
	FILE *f;
	int found = 0;

	/* The child measures as this run does: the same messages, bound and
	 * idle strategy. */
	snprintf(cmd, sizeof(cmd),
	         "'%s' %s --no-nofp --messages %llu --seconds %.9g --idle %s --batch %u "
	         "--batch-delay %.3f%s",
	         prog, mode, (unsigned long long)cfg.messages, (double)cfg.opts.bound_ns / 1e9,
	         bench_idle_name(cfg.opts.idle), (unsigned)cfg.batch_bytes,
	         (double)cfg.batch_delay_ns / 1e3, cfg.no_pre_touch ? " --no-pre-touch" : "");
	f = popen(cmd, "r");
	if (f == NULL) {
		perror("faultline-bench: popen");
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char name[128];
		double v;

		if (sscanf(line, "%127s %lf", name, &v) != 2)
			continue;
		for (int i = 0; i < n; i++)
			if (strcmp(name, names[i]) == 0 && !(found & (1 << i))) {
				out[i] = v;
				found |= 1 << i;
			}
	}
	if (pclose(f) != 0 || found != (1 << n) - 1) {
		fprintf(stderr, "faultline-bench: %s %s did not give its figures\n", prog, mode);
		return -1;
	}
	return 0;
}

/* The cost of the disarmed points: this build's and the -nofp build's
 * figures, each measured in a fresh process (a process's memory layout
 * alone moves the single-thread figure by a third on this machine),
 * alternating `rounds` times; the best of each.  The single-thread
 * figure is the code path alone; the two-process throughput and
 * ping-pong p50 are what a user sees, with the machine's noise in them
 * (the ring measured beside each throughput run shows how much). */
static int
measure_points_cost(const char *self, const char *nofp, unsigned rounds, struct points_cost *pc)
{
	static const char *const single[] = { "faultline_single_thread_ns_per_msg" };
	/* With batched reads, the throughput measured is the batched
	 * subscriber's: the keep-up reader's figure changes with the regime
	 * each run fell into more than with the points (docs/figures.md). */
	static const char *const procs[] = { "faultline_procs_msgs_per_sec",
		                             "faultline_pingpong_p50_ns",
		                             "ring_procs_msgs_per_sec" };
	static const char *const procs_batched[] = { "faultline_batched_procs_msgs_per_sec",
		                                     "faultline_pingpong_p50_ns",
		                                     "ring_batched_procs_msgs_per_sec" };
	double v[3];

	for (unsigned k = 0; k < rounds; k++) {
		for (int which = 0; which < 2; which++) {
			const char *prog = which == 0 ? self : nofp;
			double *s1 = which == 0 ? &pc->single_on : &pc->single_off;
			double *thr = which == 0 ? &pc->thr_on : &pc->thr_off;
			double *p50 = which == 0 ? &pc->p50_on : &pc->p50_off;
			double *ring = which == 0 ? &pc->thr_ring_on : &pc->thr_ring_off;

			if (measure_child(prog, "--single-only", single, v, 1) != 0)
				return -1;
			if (k == 0 || v[0] < *s1)
				*s1 = v[0];
			if (measure_child(prog, "--procs-only",
			                  cfg.batch_bytes != 0 ? procs_batched : procs, v, 3) != 0)
				return -1;
			/* The ring of the round whose faultline figure is kept. */
			if (k == 0 || v[0] > *thr) {
				*thr = v[0];
				*ring = v[2];
			}
			if (k == 0 || v[1] < *p50)
				*p50 = v[1];
		}
	}
	return 0;
}

/* The -nofp sibling beside this program, or NULL. */
static const char *
find_nofp(const char *given, char *buf, size_t len)
{
	ssize_t n;
	char *slash;

	if (given != NULL)
		return access(given, X_OK) == 0 ? given : NULL;
	if (strcmp(FL_BENCH_FAULTPOINTS, "enabled") != 0)
		return NULL;
	n = readlink("/proc/self/exe", buf, len - 16);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash == NULL)
		return NULL;
	snprintf(slash + 1, len - (size_t)(slash + 1 - buf), "faultline-bench-nofp");
	return access(buf, X_OK) == 0 ? buf : NULL;
}

static void
usage(FILE *f, const char *argv0)
{
	fprintf(f,
	        "usage: %s [--messages N] [--seconds S] [--repeat R] [--idle spin|yield|backoff] "
	        "[--json]\n"
	        "          [--nofp PATH | --no-nofp] [--single-only | --procs-only]\n"
	        "          [--batch BYTES] [--batch-delay US] [--no-pre-touch]\n"
	        "  --messages N  messages per throughput run (default 1000000, >= 100);\n"
	        "                ping-pong runs N/10 round trips (>= 100)\n"
	        "  --seconds S   stop sending after S seconds per run (default 10)\n"
	        "  --repeat R    run every measurement R times, keep the best (default 1)\n"
	        "  --idle M      how the measured loops wait (default spin)\n"
	        "  --json        one JSON object instead of `name value` lines\n"
	        "  --nofp PATH   the same bench built with -Dfaultpoints=disabled (default:\n"
	        "                faultline-bench-nofp beside this program, if any); --no-nofp: "
	        "none\n"
	        "  --single-only only the faultline single-thread send+poll figure\n"
	        "  --procs-only  only the two-process figures of faultline and the rings\n"
	        "  --batch B     also measure a subscriber whose reads wait for B bytes\n"
	        "                (fl_subscription_set_batch; default 65536, at most 1048576,\n"
	        "                0: not measured)\n"
	        "  --batch-delay US  its longest wait in microseconds (default 100)\n"
	        "  --no-pre-touch  faultline's clients map logs without reading every page\n"
	        "                first (fl_client_ctx.pre_touch): a stream's first lap pays\n"
	        "                each page's first access\n",
	        argv0);
}

/* Puts the five ping-pong figures of one peer, named "<peer>_pingpong_*"
 * (bench_put keeps the name: a literal, pasted here). */
#define PUT_PINGPONG(peer, rounds, pp)                                                             \
	do {                                                                                       \
		bench_put(peer "_pingpong_rounds", (double)(rounds), 0);                           \
		bench_put(peer "_pingpong_p50_ns", (double)(pp).p50_ns, 0);                        \
		bench_put(peer "_pingpong_p99_ns", (double)(pp).p99_ns, 0);                        \
		bench_put(peer "_pingpong_p999_ns", (double)(pp).p999_ns, 0);                      \
		bench_put(peer "_pingpong_max_ns", (double)(pp).max_ns, 0);                        \
	} while (0)

/* The ratios of faultline's two-process figures to the rings' (throughput:
 * faultline / ring, higher is better; p50: faultline / ring, lower is
 * better). */
static void
put_ring_ratios(const struct figures *f)
{
	bench_put("ratio_faultline_ring_procs_throughput", f->fl_proc / f->ring_proc, 3);
	bench_put("ratio_faultline_ring_batched_procs_throughput",
	          f->fl_proc / f->ring_batched_proc, 3);
	bench_put("ratio_faultline_ring_pingpong_p50",
	          (double)f->fl_pp.p50_ns / (double)f->ring_pp.p50_ns, 2);
	if (cfg.batch_bytes != 0) {
		bench_put("ratio_faultline_batched_ring_batched_procs_throughput",
		          f->flb_proc / f->ring_batched_proc, 3);
		bench_put("ratio_faultline_batched_ring_pingpong_p50",
		          (double)f->flb_pp.p50_ns / (double)f->ring_pp.p50_ns, 2);
	}
}

/* The options only this program takes, for bench_args. */
static int
own_opt(int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "--single-only") == 0)
		cfg.single_only = 1;
	else if (strcmp(a, "--procs-only") == 0)
		cfg.procs_only = 1;
	else if (strcmp(a, "--no-nofp") == 0)
		cfg.no_nofp = 1;
	else if (strcmp(a, "--no-pre-touch") == 0)
		cfg.no_pre_touch = 1;
	else if (strcmp(a, "--nofp") == 0 && *i + 1 < argc)
		cfg.nofp_arg = argv[++*i];
	else if (strcmp(a, "--messages") == 0 && *i + 1 < argc)
		cfg.messages = strtoull(argv[++*i], NULL, 10);
	else if (strcmp(a, "--batch") == 0 && *i + 1 < argc) {
		char *end;
		unsigned long long b = strtoull(argv[++*i], &end, 10);
		/* At most a quarter of the default 4 MiB log: the library
		 * would take no more. */
		if (*end != '\0' || end == argv[*i] || b > (1u << 20))
			return -1;
		cfg.batch_bytes = (uint32_t)b;
	} else if (strcmp(a, "--batch-delay") == 0 && *i + 1 < argc) {
		char *end;
		double us = strtod(argv[++*i], &end);
		/* fl_subscription_set_batch takes at most 1 ms. */
		if (*end != '\0' || !(us >= 0.001 && us <= 1000))
			return -1;
		cfg.batch_delay_ns = (uint64_t)(us * 1e3 + 0.5); /* rounded: us > 0 */
	} else
		return 0;
	return 1;
}

int
main(int argc, char **argv)
{
	struct figures f = { 0 };
	const char *nofp;
	char nofp_buf[1024];
	struct points_cost pc = { 0 };
	char self[1024];

	cfg.messages = 1000000;
	cfg.batch_bytes = 65536;
	cfg.batch_delay_ns = 100000;
	/* A peer that died must not kill us through its pipe. */
	signal(SIGPIPE, SIG_IGN);
	int st = bench_args(&cfg.opts, argc, argv, own_opt, usage);
	if (st >= 0)
		return st;
	if (cfg.messages < 100)
		cfg.messages = 100;
	cfg.rounds = cfg.messages / 10 < 100 ? 100 : cfg.messages / 10;
	cfg.warmup = cfg.rounds >= 10000 ? 1000 : cfg.rounds / 10;
	snprintf(cfg.ns, sizeof(cfg.ns), "bench-%d", (int)getpid());
	snprintf(cfg.url, sizeof(cfg.url), "ipc:///tmp/faultline-bench-%d.ipc", (int)getpid());
	if (cfg.single_only) {
		double ns = 0, v;
		for (unsigned r = 0; r < cfg.opts.repeat; r++) {
			if (measure_fl_single(&v) != 0)
				return 1;
			if (r == 0 || v < ns)
				ns = v;
		}
		bench_put_str("faultpoints_build", FL_BENCH_FAULTPOINTS);
		bench_put("faultline_single_thread_ns_per_msg", ns, 1);
		bench_print(cfg.opts.json);
		return 0;
	}
	nofp = cfg.no_nofp ? NULL : find_nofp(cfg.nofp_arg, nofp_buf, sizeof(nofp_buf));
	if (cfg.nofp_arg != NULL && nofp == NULL) {
		fprintf(stderr, "faultline-bench: --nofp %s: not an executable\n", cfg.nofp_arg);
		return 2;
	}

	rings = mmap(NULL, 2 * sizeof(*rings), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	             -1, 0);
	if (rings == MAP_FAILED) {
		perror("faultline-bench: mmap");
		return 1;
	}
	/* Every run below leaves no thread behind, so the next one may fork. */
	int rc = 0;
	for (unsigned r = 0; r < cfg.opts.repeat && rc == 0; r++)
		rc = measure_all(&f, r == 0);
	if (rc == 0 && nofp != NULL && !cfg.procs_only) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		rc = measure_points_cost(self, nofp, 5 * cfg.opts.repeat, &pc);
	}
	munmap(rings, 2 * sizeof(*rings));
	if (rc != 0)
		return 1;

	bench_put_str("faultpoints_build", FL_BENCH_FAULTPOINTS);
	bench_put_str("idle_strategy", bench_idle_name(cfg.opts.idle));
	bench_put_str("pre_touch", cfg.no_pre_touch ? "no" : "yes");
	bench_put("message_bytes", BENCH_MSG_LEN, 0);
	bench_put("messages", (double)cfg.messages, 0);
	bench_put("repeat", cfg.opts.repeat, 0);
	/* --procs-only prints its figures in the same order, the others left
	 * out. */
	bool all = !cfg.procs_only;
	if (all)
		bench_put("faultline_threads_msgs_per_sec", f.fl_thr, 0);
	bench_put("faultline_procs_msgs_per_sec", f.fl_proc, 0);
	bench_put("faultline_procs_msgs_per_poll", f.fl_proc_batch, 1);
	if (cfg.batch_bytes != 0) {
		bench_put("faultline_batched_procs_msgs_per_sec", f.flb_proc, 0);
		bench_put("faultline_batched_procs_msgs_per_poll", f.flb_proc_batch, 1);
		bench_put("batch_bytes", cfg.batch_bytes, 0);
		bench_put("batch_delay_ns", (double)cfg.batch_delay_ns, 0);
	}
	if (all)
		bench_put("faultline_single_thread_ns_per_msg", f.fl_1t_ns, 1);
	PUT_PINGPONG("faultline", f.fl_rounds, f.fl_pp);
	if (cfg.batch_bytes != 0)
		PUT_PINGPONG("faultline_batched", f.flb_rounds, f.flb_pp);
	if (all)
		bench_put("ring_threads_msgs_per_sec", f.ring_thr, 0);
	bench_put("ring_procs_msgs_per_sec", f.ring_proc, 0);
	bench_put("ring_batched_procs_msgs_per_sec", f.ring_batched_proc, 0);
	if (all)
		bench_put("ring_single_thread_ns_per_msg", f.ring_1t_ns, 1);
	PUT_PINGPONG("ring", f.ring_rounds, f.ring_pp);
	if (all) {
		bench_put("nng_threads_msgs_per_sec", f.nng_thr, 0);
		bench_put("nng_procs_msgs_per_sec", f.nng_proc, 0);
		PUT_PINGPONG("nng", f.nng_rounds, f.nng_pp);
		/* Throughput ratios are faultline / peer (higher is better
		 * for faultline); latency ratios are faultline / peer (lower
		 * is better). */
		bench_put("ratio_faultline_ring_threads_throughput", f.fl_thr / f.ring_thr, 3);
	}
	put_ring_ratios(&f);
	if (all) {
		bench_put("ratio_faultline_nng_threads_throughput", f.fl_thr / f.nng_thr, 1);
		bench_put("ratio_faultline_nng_procs_throughput", f.fl_proc / f.nng_proc, 1);
		bench_put("ratio_faultline_nng_pingpong_p50",
		          (double)f.fl_pp.p50_ns / (double)f.nng_pp.p50_ns, 3);
	}
	if (all && nofp != NULL) {
		/* The compiled-in, disarmed points cost: above 1 for the single
		 * thread's ns and the p50, below 1 for the throughput. */
		bench_put("faultpoints_enabled_single_thread_ns_per_msg", pc.single_on, 1);
		bench_put("faultpoints_disabled_single_thread_ns_per_msg", pc.single_off, 1);
		bench_put("ratio_faultpoints_enabled_disabled_single_thread",
		          pc.single_on / pc.single_off, 3);
		/* With batched reads, the batched subscriber's and the batched
		 * ring's (measure_points_cost). */
		bool b = cfg.batch_bytes != 0;
		bench_put(b ? "faultpoints_enabled_batched_procs_msgs_per_sec"
		            : "faultpoints_enabled_procs_msgs_per_sec",
		          pc.thr_on, 0);
		bench_put(b ? "faultpoints_disabled_batched_procs_msgs_per_sec"
		            : "faultpoints_disabled_procs_msgs_per_sec",
		          pc.thr_off, 0);
		bench_put(b ? "ratio_faultpoints_enabled_disabled_batched_procs_throughput"
		            : "ratio_faultpoints_enabled_disabled_procs_throughput",
		          pc.thr_on / pc.thr_off, 3);
		bench_put(b ? "faultpoints_enabled_ring_batched_procs_msgs_per_sec"
		            : "faultpoints_enabled_ring_procs_msgs_per_sec",
		          pc.thr_ring_on, 0);
		bench_put(b ? "faultpoints_disabled_ring_batched_procs_msgs_per_sec"
		            : "faultpoints_disabled_ring_procs_msgs_per_sec",
		          pc.thr_ring_off, 0);
		bench_put("faultpoints_enabled_pingpong_p50_ns", pc.p50_on, 0);
		bench_put("faultpoints_disabled_pingpong_p50_ns", pc.p50_off, 0);
		bench_put("ratio_faultpoints_enabled_disabled_pingpong_p50", pc.p50_on / pc.p50_off,
		          3);
	}
	bench_print(cfg.opts.json);
	return 0;
}
