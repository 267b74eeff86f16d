/*
 * The cluster client: a session with a cluster of nodes (cluster.h),
 * over the session protocol of docs/cluster.md, as Aeron Cluster's
 * AeronCluster and AeronCluster.AsyncConnect are.
 *
 * The client borrows a pub/sub client (fl_client) that the caller opened
 * and closes itself; through it, it subscribes to its response (egress)
 * address and publishes to one member's ingress (channel
 * FL_CLUSTER_CHANNEL, stream FL_CLUSTER_INGRESS_STREAM_BASE + member).
 *
 * Connecting is asynchronous, in explicit steps, each with its own
 * deadline (ctx.message_timeout_ns from the moment the connect first
 * reached the step at this member: going back to CONNECT again keeps
 * it, so retries end; a redirect to the leader starts afresh), a
 * fault point "transport/cluster/client/<step>" (firing, it makes the step
 * time out at once, whatever it has in flight) and a scheduling point
 * "cluster.client.<step>":
 *
 *   CREATE_EGRESS_SUB    subscribe to the response address (by
 *                        registration id: start, then poll)
 *   CREATE_INGRESS_PUB   publish to a member's ingress (ctx.member, or
 *                        each member in turn with FL_CLUSTER_ROUND_ROBIN)
 *   AWAIT_PUB_CONNECTED  wait until that member subscribes to it
 *   SEND_CONNECT         offer CONNECT with a fresh correlation id
 *   POLL_RESPONSE        wait for its answer: OK (the session is open);
 *                        REDIRECT (the ingress publication is closed and
 *                        one to the named leader made: back to
 *                        CREATE_INGRESS_PUB); ERROR "no leader" (CONNECT
 *                        again after a short backoff, within this step's
 *                        deadline); ERROR "too many sessions" (FL_ELIMIT)
 *   CONCLUDE             the client takes over the subscription and the
 *                        publication
 *
 * What close guarantees: fl_cluster_connect_close, at any step, after a
 * timeout or an error, cancels every registration still in flight
 * (fl_client_cancel: the driver removes it once it completes) and closes
 * every one that completed, so the driver ends with no registration the
 * connect made (B2, Aeron issue #1574: a close that forgot the one in
 * flight left one orphaned subscription per timed-out connect).  A
 * session the cluster already opened (OK heard, not concluded) is sent
 * CLOSE.  One it opens for a CONNECT whose answer never came (the
 * connect closed or timed out at POLL_RESPONSE) is the cluster's to
 * time out (its session timeout): its id was never heard.
 *
 * Connected, the client offers commands to the leader's ingress with its
 * session's term, and fl_cluster_client_poll_egress delivers what the
 * cluster sends (responses, session events, new-leader events), sends
 * keep-alives when due, follows a new leader (a new ingress publication,
 * the old closed, the new term adopted) and closes the client when the
 * cluster closed the session (CLOSED: the close happens at the end of the
 * poll that delivered it, Aeron's pending close) or when no new leader
 * was heard of within ctx.new_leader_timeout_ns of the ingress losing its
 * subscriber, or of the egress losing its publisher (no leader publishes
 * to it: the session ended while nobody polled, its CLOSED gone with the
 * publication); the poll returns FL_ETIMEDOUT.
 *
 * Threading: single-threaded by contract.  A connect handle and a client
 * are used by the thread (the actor, under the harness's sim:
 * fl_actor_id) that created them, and by no other, closing included.
 * With ctx.check_owner (fl_cluster_client_ctx_init sets it), a call from
 * another thread returns FL_EOWNER (FL_EWRONG_THREAD) having touched
 * nothing, where it would otherwise race the owner and read a log buffer
 * the close unmapped (B3, Aeron issue #1590).  The check reads the
 * object: it catches a wrong thread while the object lives, never a call
 * after the owner closed (freed) it.  The pub/sub client may be
 * shared; in agent mode (fl_client_ctx.agent) someone must run
 * fl_client_do_work, which the synchronous helpers here do themselves.
 *
 * Shutting down from a signal: the handler (or any other thread) only
 * sets a flag the owner's loop reads; the owner leaves its loop and
 * closes:
 *
 *     static atomic_bool stop;
 *     static void on_signal(int sig) { (void)sig; atomic_store(&stop, true); }
 *
 *     while (!atomic_load(&stop)) {
 *             fl_client_do_work(pc);
 *             if (fl_cluster_client_poll_egress(c, on_event, NULL, 10) < 0)
 *                     break;
 *             ...
 *     }
 *     fl_cluster_client_close(c);   (the owner, after its last poll)
 *
 * faultline-kv (transport/kv/main.c) is a client built so.
 *
 * Time comes from fl_clock_now_ns (virtual under the harness's sim).
 * Results: 0 or a negative FL_E* code; out-params written on success
 * only.
 */
#ifndef FAULTLINE_CLUSTER_CLIENT_H
#define FAULTLINE_CLUSTER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/client.h"
#include "faultline/cluster.h"
#include "faultline/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The name for a call from a thread that does not own the
 * object. */
#define FL_EWRONG_THREAD FL_EOWNER

#define FL_CLUSTER_MESSAGE_TIMEOUT_NS    (5ull * 1000000000ull)
#define FL_CLUSTER_NEW_LEADER_TIMEOUT_NS (10ull * 1000000000ull)
#define FL_CLUSTER_KEEPALIVE_NS          (1000ull * 1000000ull)
/* ctx.member: try each member in turn, from 0, moving on when one's
 * ingress is not subscribed within the message timeout. */
#define FL_CLUSTER_ROUND_ROBIN (-1)
/* The largest key (bytes, without the NUL) and value of a command. */
#define FL_CLUSTER_MAX_KEY   256
#define FL_CLUSTER_MAX_VALUE 4096
/* The largest detail of a session event (printable ASCII). */
#define FL_CLUSTER_MAX_DETAIL 128

typedef struct fl_cluster_client fl_cluster_client;
typedef struct fl_cluster_async_connect fl_cluster_async_connect;

/* The key-value service's operations and statuses (the bytes on the
 * wire). */
enum fl_cluster_op {
	FL_CLUSTER_PUT = 1,
	FL_CLUSTER_GET = 2,
	FL_CLUSTER_CAS = 3,
	FL_CLUSTER_APPEND = 4
};

enum fl_cluster_status {
	FL_CLUSTER_OK = 0,
	FL_CLUSTER_NOT_FOUND = 1, /* get or cas of a key with no value */
	FL_CLUSTER_MISMATCH = 2,  /* cas: the value was not the expected one */
	FL_CLUSTER_BAD = 3,       /* the command did not parse (applied as nothing) */
};

/* Codes of a session event (Aeron's EventCode). */
enum fl_cluster_event_code {
	FL_CLUSTER_EVENT_OK = 0,
	FL_CLUSTER_EVENT_ERROR = 1,
	FL_CLUSTER_EVENT_REDIRECT = 2,
	FL_CLUSTER_EVENT_AUTHENTICATION_REJECTED = 3, /* reserved */
	FL_CLUSTER_EVENT_CLOSED = 4,
};

enum fl_cluster_event_type {
	FL_CLUSTER_EV_RESPONSE = 1,   /* a command's result */
	FL_CLUSTER_EV_SESSION = 2,    /* a session event (an error, the session closed) */
	FL_CLUSTER_EV_NEW_LEADER = 3, /* a new leader leads the session (already followed) */
};

/* What poll_egress delivers; pointers valid during the handler only.
 * code: a RESPONSE's enum fl_cluster_status, a SESSION event's enum
 * fl_cluster_event_code.  data: a RESPONSE's value (a get's), a SESSION
 * event's detail (not NUL-terminated). */
struct fl_cluster_event {
	enum fl_cluster_event_type type;
	uint64_t session;     /* the client's session */
	uint64_t correlation; /* RESPONSE, SESSION: the command's (0: none) */
	uint64_t term;        /* the leader's term when it sent this */
	uint64_t index;       /* RESPONSE: the command's log index */
	int leader;           /* SESSION, NEW_LEADER: the leader (-1: none known) */
	int code;
	const uint8_t *data;
	size_t len;
};

/* A handler of egress events, called on the owner's thread from inside
 * poll_egress (or a synchronous helper's wait).  It may offer commands;
 * it must not close the client (close returns FL_EBUSY there). */
typedef void (*fl_cluster_event_handler)(void *arg, fl_cluster_client *c,
                                         const struct fl_cluster_event *ev);

/* ---- what the key-value helpers tell an observer ---------------------- */

/* A history's completions (Jepsen's): INVOKE right before a command is
 * offered; then exactly one of OK (applied, answered), FAIL (certainly
 * not applied: a cas that mismatched or found no value, a command that
 * did not parse, one the cluster refused, or one whose offer failed), or
 * INFO (unknown: the caller gave up, the leader changed, or the client
 * closed before the answer came). */
enum fl_cluster_op_phase {
	FL_CLUSTER_OP_INVOKE,
	FL_CLUSTER_OP_OK,
	FL_CLUSTER_OP_FAIL,
	FL_CLUSTER_OP_INFO,
};

/* value: the value written (PUT, APPEND, CAS), or a GET's value read
 * (OK only).  status and index: from the answer (OK, and FAIL when the
 * cluster answered), else -1 and 0. */
struct fl_cluster_op_event {
	enum fl_cluster_op_phase phase;
	enum fl_cluster_op op;
	uint64_t correlation;
	const char *key;      /* NUL-terminated */
	const void *expected; /* CAS: the expected value */
	size_t expected_len;
	const void *value;
	size_t value_len;
	int status; /* enum fl_cluster_status, or -1 */
	uint64_t index;
};

/* An observer of the key-value helpers' operations (fl_cluster_client_put
 * and its siblings; fl_cluster_client_offer's raw commands are not
 * observed).  Called on the owner's thread; pointers valid during the
 * call only.  A harness records a history from it. */
struct fl_cluster_op_observer {
	void *arg;
	void (*op)(void *arg, fl_cluster_client *c, const struct fl_cluster_op_event *ev);
};

/* ---- the context ---------------------------------------------------- */

/* The timeouts, 0 for their defaults: message_timeout_ns, each connect
 * step's deadline (FL_CLUSTER_MESSAGE_TIMEOUT_NS); new_leader_timeout_ns,
 * from the ingress losing its subscriber, or NEW_LEADER, to a connected
 * ingress again (FL_CLUSTER_NEW_LEADER_TIMEOUT_NS); keepalive_interval_ns
 * (FL_CLUSTER_KEEPALIVE_NS; keep it well under the session timeout).
 * on_event gets the events when poll_egress is given no handler, and
 * those a synchronous helper is not waiting for (NULL: dropped). */
struct fl_cluster_client_ctx {
	fl_client *client;          /* the pub/sub client to use (required; never closed here) */
	int members;                /* 1 .. FL_CLUSTER_MAX_NODES */
	int member;                 /* whose ingress first, or FL_CLUSTER_ROUND_ROBIN */
	const char *egress_channel; /* the response address (required; copied) ... */
	int32_t egress_stream;      /* ... not one of the cluster's own streams on "cluster" */
	uint64_t message_timeout_ns;
	uint64_t new_leader_timeout_ns;
	uint64_t keepalive_interval_ns;
	bool check_owner; /* calls from another thread return FL_EOWNER */
	fl_cluster_event_handler on_event;
	void *event_arg;
	const struct fl_cluster_op_observer
	        *observer; /* borrowed, outlives the client; NULL: none */
};

/* fl_cluster_client_ctx_init sets ctx to the defaults: members 3, member
 * 0, the timeouts 0 (their defaults), check_owner true.  client,
 * egress_channel and egress_stream must still be set. */
void fl_cluster_client_ctx_init(struct fl_cluster_client_ctx *ctx);

/* ---- connecting ------------------------------------------------------- */

enum fl_cluster_connect_step {
	FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB,
	FL_CLUSTER_CONNECT_CREATE_INGRESS_PUB,
	FL_CLUSTER_CONNECT_AWAIT_PUB_CONNECTED,
	FL_CLUSTER_CONNECT_SEND_CONNECT,
	FL_CLUSTER_CONNECT_POLL_RESPONSE,
	FL_CLUSTER_CONNECT_CONCLUDE,
	FL_CLUSTER_CONNECT_DONE, /* the client was handed over */
};

/* fl_cluster_connect_async starts connecting (nothing is sent yet: the
 * first poll begins CREATE_EGRESS_SUB).  Errors: FL_EINVAL (ctx: no
 * client, members or member out of range, no egress channel, an egress
 * address on the cluster's own streams), FL_ENAME (egress channel),
 * FL_ENOMEM.  On success *out is owned by the caller, who must pass it to
 * fl_cluster_connect_close whatever happens.  Does not block; the calling
 * thread owns the handle. */
int fl_cluster_connect_async(const struct fl_cluster_client_ctx *ctx,
                             fl_cluster_async_connect **out);

/* fl_cluster_connect_poll advances the connect by at most one step,
 * without blocking.  Returns FL_EAGAIN while in progress; 0 when
 * connected, *client set (the caller owns it: fl_cluster_client_close;
 * the handle must still be closed, which then frees only itself);
 * FL_ETIMEDOUT when the current step's deadline passed (or its fault
 * point fired); or the error that ended it (fl_client's, FL_ELIMIT: the
 * cluster holds too many sessions, FL_EPROTO: an answer this client
 * cannot follow, FL_ENOMEM).  Once it returned anything but FL_EAGAIN it
 * returns the same again (FL_ESTATE after the client was handed over).
 * FL_EOWNER: called from another thread.  In agent mode the caller runs
 * fl_client_do_work between polls.  Owner thread only. */
int fl_cluster_connect_poll(fl_cluster_async_connect *a, fl_cluster_client **client);

/* fl_cluster_connect_step tells which step the connect is at, or at which
 * it failed (FL_CLUSTER_CONNECT_DONE once connected).  Read only: any
 * thread may call it while the owner does not close the handle. */
enum fl_cluster_connect_step fl_cluster_connect_step(const fl_cluster_async_connect *a);

/* fl_cluster_connect_step_name: "CREATE_EGRESS_SUB" ... "DONE", or
 * "unknown".  Thread-safe. */
const char *fl_cluster_connect_step_name(enum fl_cluster_connect_step step);

/* fl_cluster_connect_close releases everything the connect still holds,
 * at any step (see the top of this header: registrations in flight are
 * cancelled, completed ones closed, an open session not handed over is
 * sent CLOSE) and frees the handle.  After a timeout or an error the
 * caller must still call it.  Does not block.  Returns 0, or FL_EOWNER
 * (another thread: nothing was done).  NULL: 0. */
int fl_cluster_connect_close(fl_cluster_async_connect *a);

/* fl_cluster_connect connects synchronously: fl_cluster_connect_async,
 * then polls (running fl_client_do_work and idling between polls) until
 * connected, an error, or fl_clock_now_ns() >= deadline_ns
 * (FL_ETIMEDOUT); every step's own deadline applies too.  The handle is
 * closed either way: on failure nothing the connect made remains.  On
 * success *out is the caller's (fl_cluster_client_close).  Blocks; the
 * calling thread owns the client. */
int fl_cluster_connect(const struct fl_cluster_client_ctx *ctx, uint64_t deadline_ns,
                       fl_cluster_client **out);

/* ---- a connect of one's own ------------------------------------------- */

/* For a program that makes its connect itself (its own steps, retries or
 * authentication): the session protocol's CONNECT and the events it is
 * answered with, and a client over the session it opened.  What its
 * connect leaves behind when it fails is its own to release: every
 * publication and subscription, and every add still in flight
 * (fl_client_cancel), or the driver keeps them (B2). */

/* fl_cluster_connect_frame writes a CONNECT with `correlation` and the
 * response address (egress_channel, egress_stream) to buf, to be offered
 * on a member's ingress (FL_CLUSTER_CHANNEL, stream
 * FL_CLUSTER_INGRESS_STREAM_BASE + member).  Returns its length, or 0
 * when cap is too small or the address is not a valid name. */
size_t fl_cluster_connect_frame(uint8_t *buf, size_t cap, uint64_t correlation,
                                const char *egress_channel, int32_t egress_stream);

/* fl_cluster_decode_event decodes one message read from the egress into
 * *ev (pointers into buf): a SESSION event (the answer to a CONNECT
 * carries its correlation; OK names the session, the leader and the
 * term), a RESPONSE or a NEW_LEADER.  Returns 0, or FL_EPROTO for
 * anything else. */
int fl_cluster_decode_event(const uint8_t *buf, size_t len, struct fl_cluster_event *ev);

/* fl_cluster_client_adopt makes a connected client of a session a
 * connect of one's own opened: the answer OK named `session`, `leader`
 * and `term`; egress is the subscription to the response address, and
 * ingress the publication to the leader's ingress (both taken over: the
 * client closes them, also when this fails).  ctx as for
 * fl_cluster_connect_async (its egress address is egress's).  Returns 0
 * and *out (the calling thread owns it), FL_EINVAL, FL_ENOMEM. */
int fl_cluster_client_adopt(const struct fl_cluster_client_ctx *ctx, fl_subscription *egress,
                            fl_publication *ingress, int leader, uint64_t session, uint64_t term,
                            fl_cluster_client **out);

/* ---- the connected client --------------------------------------------- */

enum fl_cluster_client_state {
	FL_CLUSTER_CLIENT_CONNECTED,
	/* The ingress lost its subscriber: waiting (new_leader_timeout_ns) for
	 * NEW_LEADER, or for the ingress to be subscribed again. */
	FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER,
	/* NEW_LEADER heard: the ingress to the new leader is being made
	 * (within new_leader_timeout_ns). */
	FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER_CONNECTION,
	/* The cluster closed the session: closed at the end of this poll. */
	FL_CLUSTER_CLIENT_PENDING_CLOSE,
	/* Closed (its publication and subscription released); only
	 * fl_cluster_client_close is left to call. */
	FL_CLUSTER_CLIENT_CLOSED,
};

/* fl_cluster_client_offer sends the key-value command cmd (len bytes,
 * encoded as the service expects; the helpers below encode it) to the
 * leader with the session's term; *correlation (may be NULL) gets the
 * id its RESPONSE will carry.  Returns 0; FL_ENOT_CONNECTED (no leader's
 * ingress now: poll egress, then try again), FL_EBACKPRESSURE (try
 * again), FL_EMSGSIZE (len 0 or over the largest command), FL_ECLOSED
 * (the session is closed or closing), FL_EINVAL, FL_EOWNER.  cmd is
 * copied.  Owner thread only; does not block. */
int fl_cluster_client_offer(fl_cluster_client *c, const void *cmd, size_t len,
                            uint64_t *correlation);

/* fl_cluster_client_poll_egress delivers up to limit fragments of what the
 * cluster sent this session to handler (NULL: ctx.on_event), as decoded
 * events, then does the client's duty: a keep-alive when due, the
 * failover (a new ingress to the new leader, the new term), the pending
 * close.  Returns the work done (>= 0); once the client is closed
 * (during this poll or before), the reason: FL_ECLOSED (the cluster
 * closed the session), FL_ETIMEDOUT (no new leader in time), or the pub/
 * sub client's error.  FL_EOWNER from another thread (nothing touched),
 * FL_EBUSY from inside its own handler.  Owner thread only; does not
 * block.  Events of other sessions at the same response address are
 * skipped. */
int fl_cluster_client_poll_egress(fl_cluster_client *c, fl_cluster_event_handler handler, void *arg,
                                  int limit);

/* fl_cluster_client_close sends CLOSE (best effort, one offer, when
 * connected), closes the client's publication and subscription, cancels
 * an ingress add in flight, tells the observer INFO of every operation
 * still unanswered, and frees c.  The pub/sub client stays open.
 * Returns 0, FL_EOWNER (another thread: nothing done, c still valid),
 * FL_EBUSY (from inside its own handler).  NULL: 0.  Owner thread only. */
int fl_cluster_client_close(fl_cluster_client *c);

/* Accessors: the session id (its SESSION_OPEN's log index), the leader
 * member, the term the client sends with (owner thread); the state and
 * the status, 0 while the client is usable, else why it closed (as
 * poll_egress returns), which any thread may read while the owner does
 * not close c.  Read only; no owner check. */
uint64_t fl_cluster_client_session_id(const fl_cluster_client *c);
int fl_cluster_client_leader(const fl_cluster_client *c);
uint64_t fl_cluster_client_term(const fl_cluster_client *c);
enum fl_cluster_client_state fl_cluster_client_state(const fl_cluster_client *c);
int fl_cluster_client_status(const fl_cluster_client *c);

/* ---- key-value operations ------------------------------------------- */

/* fl_cluster_client_put, _get, _cas and _append encode the command (key a
 * C string of 1..FL_CLUSTER_MAX_KEY bytes; values of at most
 * FL_CLUSTER_MAX_VALUE bytes, for cas the expected and the new value
 * together) and offer it as fl_cluster_client_offer does; *correlation
 * (may be NULL) gets the id to match the RESPONSE by.  With an observer
 * it hears INVOKE before the offer (and FAIL if the offer then failed),
 * then the outcome once known.  Results as fl_cluster_client_offer's;
 * FL_EMSGSIZE for a key or value over its limit; FL_EINVAL (NULL key or
 * a value pointer NULL with a length).  Owner thread only; do not
 * block. */
int fl_cluster_client_put(fl_cluster_client *c, const char *key, const void *value, size_t len,
                          uint64_t *correlation);
int fl_cluster_client_get(fl_cluster_client *c, const char *key, uint64_t *correlation);
int fl_cluster_client_cas(fl_cluster_client *c, const char *key, const void *expected,
                          size_t expected_len, const void *value, size_t len,
                          uint64_t *correlation);
int fl_cluster_client_append(fl_cluster_client *c, const char *key, const void *value, size_t len,
                             uint64_t *correlation);

/* fl_cluster_client_give_up: the caller stops waiting for the answer to
 * correlation (its own deadline passed): the observer hears INFO, and a
 * later answer is delivered like any other but reported to no one.
 * Returns 0, FL_ENOENT (no such operation outstanding), FL_EOWNER. */
int fl_cluster_client_give_up(fl_cluster_client *c, uint64_t correlation);

/* A synchronous operation's answer. */
struct fl_cluster_reply {
	int status;       /* enum fl_cluster_status */
	uint64_t index;   /* the command's log index */
	uint64_t term;    /* the term of the leader that answered */
	void *value;      /* in: where a get's value goes (may be NULL with value_cap 0) */
	size_t value_cap; /* in: its size */
	size_t value_len; /* out: the value's length (only value_cap bytes copied if more) */
};

/* fl_cluster_client_put_sync, _get_sync, _cas_sync and _append_sync send
 * the operation, retrying the offer while there is no leader's ingress
 * or back-pressure, then poll the egress (running fl_client_do_work and
 * idling) until its answer, into *reply (value and value_cap read; may
 * be NULL when no value is wanted), or until fl_clock_now_ns() >=
 * deadline_ns.  Other events go to ctx.on_event.  Returns 0 (the answer
 * is in *reply: its status may be NOT_FOUND or MISMATCH); FL_ETIMEDOUT
 * (no answer by the deadline: the command may still be applied, the
 * observer hears INFO); FL_ECANCELED (a new leader took over before the
 * answer: the command may have been applied, INFO); FL_ESTATE (the
 * cluster refused the command, "stale term" or "not appended": it was
 * not applied); FL_EMSGSIZE (a get's value too long to be answered);
 * FL_ECLOSED, FL_ETIMEDOUT or the client's error if the client closed
 * meanwhile; the async call's errors.  Block; owner thread only. */
int fl_cluster_client_put_sync(fl_cluster_client *c, const char *key, const void *value, size_t len,
                               uint64_t deadline_ns, struct fl_cluster_reply *reply);
int fl_cluster_client_get_sync(fl_cluster_client *c, const char *key, uint64_t deadline_ns,
                               struct fl_cluster_reply *reply);
int fl_cluster_client_cas_sync(fl_cluster_client *c, const char *key, const void *expected,
                               size_t expected_len, const void *value, size_t len,
                               uint64_t deadline_ns, struct fl_cluster_reply *reply);
int fl_cluster_client_append_sync(fl_cluster_client *c, const char *key, const void *value,
                                  size_t len, uint64_t deadline_ns, struct fl_cluster_reply *reply);

#ifdef __cplusplus
}
#endif
#endif
