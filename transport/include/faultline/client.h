/*
 * The client: publications and subscriptions over a driver's namespace.
 *
 * A client's conductor (its heartbeat, the driver's responses and events,
 * image lifecycle, unmapping) runs on its own thread (fl_thread_start; the
 * default) or, with ctx.agent, whenever the application calls
 * fl_client_do_work.  Adding a publication or subscription is asynchronous
 * by registration id: *_start returns the id, *_poll reports FL_EAGAIN until
 * the driver answered, fl_client_cancel abandons it (the driver is told at
 * once, so nothing remains once the add completes).  Synchronous wrappers
 * with deadlines sit on top.
 *
 * Publish: offer() and try_claim()/commit()/abort() are lock-free, make no
 * syscalls and never block: they return the new stream position (> 0) or
 * FL_EBACKPRESSURE (the slowest subscriber is a full term behind),
 * FL_ENOT_CONNECTED (no subscriber), FL_ECLOSED, FL_EMSGSIZE.
 * A message up to fl_publication_max_message_length (term_length / 8) is
 * accepted; above max_payload (mtu - 16) it is fragmented, all fragments
 * claimed at once, and reassembled with struct fl_fragment_assembler.
 *
 * Subscribe: one image per publisher session; fl_subscription_poll delivers
 * fragments in order; images found by session id or index carry a reference
 * the caller must drop with fl_image_release.  A log buffer is unmapped
 * only when its image is gone and no reference is held (plus
 * ctx.resource_linger_ns, so a poll racing the removal never reads an
 * unmapped page); then the driver unlinks the file.
 *
 * Threading: a client and its objects may be used from several threads,
 * except: one thread polls a given subscription; an exclusive publication
 * has one offering thread (a concurrent one any number).  Close objects only
 * when no other thread uses them.
 */
#ifndef FAULTLINE_CLIENT_H
#define FAULTLINE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/driver.h" /* FL_NAME_MAX */

#ifdef __cplusplus
extern "C" {
#endif

#define FL_CLIENT_DRIVER_TIMEOUT_NS (10ull * 1000000000ull)
#define FL_CLIENT_HEARTBEAT_NS      (100ull * 1000000ull)
#define FL_CLIENT_LINGER_NS         (100ull * 1000000ull)

typedef struct fl_client fl_client;
typedef struct fl_publication fl_publication;
typedef struct fl_subscription fl_subscription;
typedef struct fl_image fl_image;

/* Fragment flags. */
#define FL_FRAG_BEGIN        0x1u
#define FL_FRAG_END          0x2u
#define FL_FRAG_UNFRAGMENTED (FL_FRAG_BEGIN | FL_FRAG_END)

/* What a fragment handler learns besides the bytes. */
struct fl_header {
	int64_t position;   /* stream position after this fragment */
	int32_t session_id; /* the publisher's session */
	int32_t stream_id;
	uint32_t flags; /* FL_FRAG_* */
	uint32_t frame_length;
};

/* Called by poll for each fragment; buffer is valid only during the call. */
typedef void (*fl_fragment_handler)(void *clientd, const uint8_t *buffer, size_t length,
                                    const struct fl_header *header);

/* Image lifecycle callbacks, run on the client conductor (its thread, or
 * inside fl_client_do_work).  The image pointer is valid during the call
 * only; take a reference with fl_subscription_image_by_session_id. */
struct fl_image_handlers {
	void (*on_available)(void *arg, fl_subscription *sub, fl_image *img);
	void (*on_unavailable)(void *arg, fl_subscription *sub, fl_image *img);
	void *arg;
};

struct fl_client_ctx {
	const char *ns;                 /* namespace of a running driver (required) */
	bool agent;                     /* true: no conductor thread; call fl_client_do_work */
	uint64_t driver_timeout_ns;     /* 0: FL_CLIENT_DRIVER_TIMEOUT_NS */
	uint64_t heartbeat_interval_ns; /* 0: FL_CLIENT_HEARTBEAT_NS */
	uint64_t resource_linger_ns;    /* 0: FL_CLIENT_LINGER_NS */
	/* The run directory and its segments must be owned by this process's
	 * effective uid, or by allowed_uid when it is not 0: say which other
	 * user's driver to trust (its owner can write everything the client
	 * maps, and kill it by shrinking a file).  0: no other (root needs no
	 * allowance; its 0700 directories are closed to other users anyway). */
	uint32_t allowed_uid;
	/* Asynchronous errors (driver timeout, lapped broadcast, rejected
	 * command); called on the conductor.  NULL: printed to stderr. */
	void (*error_handler)(void *arg, int err, const char *what);
	void *error_arg;
	/* true: read every page of each log buffer when mapping it (Aeron's
	 * pre-touch), so that no message of a stream's first lap pays the
	 * page's first access.  Costs about 7 us a page here (7 ms for a 4
	 * MiB log, 1.8 s for a 1 GiB one), on the conductor (or the caller of
	 * fl_client_do_work) with the client's lock held: adds, cancels and
	 * closes on other threads wait, and a log large enough can outlast
	 * the driver's client liveness.  false (default): each page is paid
	 * on first use. */
	bool pre_touch;
};

/* fl_client_ctx_init zeroes ctx (defaults).  ns must still be set. */
void fl_client_ctx_init(struct fl_client_ctx *ctx);

/* fl_client_open connects to the driver of ctx->ns: maps cnc.dat, takes a
 * client record, starts heart-beating (and the conductor thread unless
 * ctx->agent).  Errors: FL_ENAME, FL_ENOENT (no driver), FL_EPERM (the run
 * directory or cnc.dat is a symbolic link, not a directory or regular
 * file, not mode 0700, owned by a uid other than this process's and
 * ctx->allowed_uid, or closed to this user), FL_EDRIVER_TIMEOUT (the
 * driver is not heart-beating), FL_EPROTO (version), FL_ELIMIT (client
 * table full), FL_EIO, FL_ENOMEM.  On success *out must be passed to
 * fl_client_close. */
int fl_client_open(const struct fl_client_ctx *ctx, fl_client **out);

/* fl_client_close closes every publication and subscription the client
 * still holds, tells the driver, unmaps everything and frees the client.
 * Image references still held are recorded as leaked in the client's
 * gauges (fl_stats_read).  No other thread may use the client or its
 * objects during or after the call.  NULL is a no-op. */
void fl_client_close(fl_client *c);

/* fl_client_abandon frees the client as its process's death would: its
 * memory and mappings in this process go, and the driver is told
 * nothing (its record, registrations and gauges stay as they were until
 * the driver times the client out and reclaims them).  For a harness
 * that kills a client living inside one process; same rules as
 * fl_client_close. */
void fl_client_abandon(fl_client *c);

/* fl_client_do_work runs one conductor pass (agent mode; harmless with a
 * thread).  Returns work done (>= 0) or FL_EDRIVER_TIMEOUT /
 * FL_ECLIENT_TIMEOUT once the client is dead (sticky). */
int fl_client_do_work(fl_client *c);

/* fl_client_id returns the client's id (unique per namespace). */
uint64_t fl_client_id(const fl_client *c);

/* fl_client_run_dir returns the path of the run directory the client is
 * attached to (owned by c, valid until fl_client_close), where a driver
 * that serves request/response keeps its domain: see fl_rr_domain_open. */
const char *fl_client_run_dir(const fl_client *c);

/* fl_client_status returns 0 while the client is usable, else the sticky
 * error (FL_EDRIVER_TIMEOUT, FL_ECLIENT_TIMEOUT, FL_ECLOSED). */
int fl_client_status(const fl_client *c);

/* fl_client_add_publication_start asks the driver for a publication on
 * (channel, stream_id); exclusive: one offering thread (plain tail store),
 * else concurrent (CAS).  *reg_id is set on success.  Errors: FL_ENAME,
 * FL_EFULL (command ring full: retry), FL_ENOMEM, client status. */
int fl_client_add_publication_start(fl_client *c, const char *channel, int32_t stream_id,
                                    bool exclusive, int64_t *reg_id);

/* fl_client_add_publication_poll: FL_EAGAIN while pending; 0 with *out set
 * (the caller owns it: fl_publication_close); or the add's error, after
 * which reg_id is forgotten.  FL_ENOENT: unknown or cancelled id. */
int fl_client_add_publication_poll(fl_client *c, int64_t reg_id, fl_publication **out);

/* fl_client_add_subscription_start: as above for a subscription.  h (may
 * be NULL) is copied. */
int fl_client_add_subscription_start(fl_client *c, const char *channel, int32_t stream_id,
                                     const struct fl_image_handlers *h, int64_t *reg_id);

/* fl_client_add_subscription_poll: as fl_client_add_publication_poll. */
int fl_client_add_subscription_poll(fl_client *c, int64_t reg_id, fl_subscription **out);

/* fl_client_cancel abandons an add in flight (or completed but not yet
 * polled): the matching remove is sent at once, so once the driver
 * processed both nothing is left.  Returns 0 or FL_ENOENT. */
int fl_client_cancel(fl_client *c, int64_t reg_id);

/* An add started with fl_client_add_*_start that nobody has collected
 * yet: neither polled to its end (fl_client_add_*_poll returned 0 or an
 * error) nor cancelled (fl_client_cancel). */
struct fl_client_add_info {
	int64_t reg_id;
	bool publication; /* else a subscription */
	bool answered;    /* the driver answered it (it holds the registration): only a poll or a
	                   * cancel lets it go */
	int32_t stream_id;
	char channel[FL_NAME_MAX + 1];
};

/* fl_client_outstanding_adds copies up to cap of them (oldest first) into
 * out and returns how many there are in all (may exceed cap), or
 * FL_EINVAL.  Adds answered with an error hold nothing in the driver and
 * are not listed (nor those failed when the client went dead).
 * Thread-safe (takes the client's lock). */
int fl_client_outstanding_adds(fl_client *c, struct fl_client_add_info *out, int cap);

/* Synchronous wrappers: start, then poll (running the conductor in agent
 * mode) until done or fl_clock_now_ns() >= deadline_ns, in which case the
 * add is cancelled and FL_ETIMEDOUT returned. */
int fl_client_add_publication(fl_client *c, const char *channel, int32_t stream_id, bool exclusive,
                              uint64_t deadline_ns, fl_publication **out);
int fl_client_add_subscription(fl_client *c, const char *channel, int32_t stream_id,
                               const struct fl_image_handlers *h, uint64_t deadline_ns,
                               fl_subscription **out);

/* ---- publications --------------------------------------------------- */

/* fl_publication_offer copies buf into the log (fragmenting above
 * max_payload).  Returns the new position (> 0), FL_EBACKPRESSURE,
 * FL_ENOT_CONNECTED, FL_ECLOSED or FL_EMSGSIZE.  Lock-free; see the
 * threading note above. */
int64_t fl_publication_offer(fl_publication *p, const void *buf, size_t len);

/* A claimed frame: write up to `length` bytes at `data`, then commit or
 * abort exactly once. */
struct fl_claim {
	uint8_t *data;
	size_t length;
	void *frame_; /* internal */
	uint32_t lap_;
	uint32_t frame_length_;
};

/* fl_publication_try_claim claims one unfragmented frame of len bytes
 * (len <= max_payload, else FL_EMSGSIZE).  Results as offer.  Subscribers
 * stop at an uncommitted claim, so commit or abort promptly. */
int64_t fl_publication_try_claim(fl_publication *p, size_t len, struct fl_claim *claim);

/* fl_claim_commit publishes the claimed frame.  Returns 0 or FL_EINVAL. */
int fl_claim_commit(struct fl_claim *claim);

/* fl_claim_abort turns the claim into padding subscribers skip. */
int fl_claim_abort(struct fl_claim *claim);

/* fl_publication_close sends the remove to the driver and frees p.  The
 * driver keeps the images until subscribers drained what was offered (or
 * its linger passed).  NULL is a no-op.  Returns 0 or the client status. */
int fl_publication_close(fl_publication *p);

int32_t fl_publication_session_id(const fl_publication *p);
int32_t fl_publication_stream_id(const fl_publication *p);
int64_t fl_publication_registration_id(const fl_publication *p);
/* Largest message offer accepts (term_length / 8). */
size_t fl_publication_max_message_length(const fl_publication *p);
/* Largest unfragmented payload (mtu - 16). */
size_t fl_publication_max_payload_length(const fl_publication *p);
/* true while at least one subscriber image is connected. */
bool fl_publication_is_connected(const fl_publication *p);
/* Current tail position. */
int64_t fl_publication_position(const fl_publication *p);

/* ---- subscriptions and images --------------------------------------- */

/* fl_subscription_poll delivers up to fragment_limit fragments, in order
 * per image, round-robin over images.  Returns the number delivered (>= 0)
 * or FL_ECLOSED.  Lock-free; one polling thread per subscription. */
int fl_subscription_poll(fl_subscription *s, fl_fragment_handler h, void *clientd,
                         int fragment_limit);

/* fl_subscription_set_batch trades latency for throughput on streams.
 * A subscriber that keeps up with a streaming publisher reads the cache
 * line the publisher is filling, and both stall on it; a batch lets the
 * publisher run ahead.  Once a poll's read of an image ended two or more
 * messages and stopped at the publisher's heels (short of its limit), the
 * image's next polls deliver nothing from it while fewer than `bytes` (at
 * most a quarter of its log) are published and unread and the
 * publisher's tail grew since the last look, for at most max_delay_ns
 * (0 < max_delay_ns <= 1 ms) from the first such poll, plus one look:
 * such a poll looks at the tail at most every 2 us and never blocks, and
 * a tail that stopped growing is read at the next look.  A waiting poll
 * returns 0 as an empty one does: an idle strategy that parks on 0 (as
 * fl_idle does after a while) adds its park to the wait, so a streaming
 * reader should spin or yield.  A lone message, of one fragment or
 * several, never starts a wait, so request/response and ping-pong are
 * unchanged; nor does a read through fl_image_poll.  A call ends every
 * wait under way.  Off (bytes 0) by default, and ignored while the sim
 * scheduler's points are armed.  Call it from the polling thread, or
 * before polling starts.  0 or FL_EINVAL. */
int fl_subscription_set_batch(fl_subscription *s, uint32_t bytes, uint64_t max_delay_ns);

/* fl_subscription_image_count returns the number of available images. */
int fl_subscription_image_count(fl_subscription *s);

/* fl_subscription_image_by_session_id finds the image of a session and
 * takes a reference (*out set): the caller must fl_image_release it.
 * FL_ENOENT when no such image. */
int fl_subscription_image_by_session_id(fl_subscription *s, int32_t session_id, fl_image **out);

/* fl_subscription_image_at_index: as above, by index < image_count. */
int fl_subscription_image_at_index(fl_subscription *s, int index, fl_image **out);

/* fl_subscription_is_connected: true while any image is available. */
bool fl_subscription_is_connected(fl_subscription *s);

/* fl_subscription_close sends the remove to the driver and frees s; its
 * images become unavailable (references still held stay valid until
 * released).  NULL is a no-op. */
int fl_subscription_close(fl_subscription *s);

/* fl_image_release drops a reference taken by a lookup; valid after the
 * image became unavailable (the last release lets the log be unmapped).
 * Returns 0, or FL_ESTALE when no reference is held. */
int fl_image_release(fl_image *img);

/* fl_image_poll polls one image (the caller holds a reference and is the
 * subscription's polling thread).  Returns fragments or FL_ECLOSED once
 * unavailable. */
int fl_image_poll(fl_image *img, fl_fragment_handler h, void *clientd, int fragment_limit);

int32_t fl_image_session_id(const fl_image *img);
int64_t fl_image_position(const fl_image *img);
bool fl_image_is_available(const fl_image *img);

/* ---- reassembly ---------------------------------------------------- */

/* Reassembles fragmented messages (per session) before calling
 * `delegate` once per whole message.  Pass fl_fragment_assembler_handler
 * as the handler and the assembler as clientd. */
struct fl_fragment_assembler {
	fl_fragment_handler delegate;
	void *delegate_clientd;
	struct fl_fa_session *sessions_; /* internal */
	size_t nsessions_;
};

void fl_fragment_assembler_init(struct fl_fragment_assembler *fa, fl_fragment_handler delegate,
                                void *clientd);
void fl_fragment_assembler_handler(void *fa, const uint8_t *buffer, size_t length,
                                   const struct fl_header *header);
/* Frees the buffers.  Safe on a zeroed assembler. */
void fl_fragment_assembler_fini(struct fl_fragment_assembler *fa);

#ifdef __cplusplus
}
#endif
#endif
