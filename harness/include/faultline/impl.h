/*
 * Helper implementations a scenario names with `impl:`, e.g.
 * `lookup_image: {sub: s, from: p, impl: b1_leaky}`: code under test that
 * the interpreter runs in place of its own step, so one scenario runs a
 * buggy helper and its correct twin on the same transport.  The engine
 * knows none by name: a program registers tables of them (faultline's CLI
 * registers the planted bugs of fixtures/, fixtures.h) before it loads a
 * scenario, and the loader checks each `impl:` against what is
 * registered.
 */
#ifndef FAULTLINE_IMPL_H
#define FAULTLINE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/aio.h"
#include "faultline/client.h"
#include "faultline/cluster_client.h"
#include "faultline/reqrep.h"

enum fl_impl_kind {
	FL_IMPL_IMAGE_LOOKUP,    /* fn.image_lookup, used by lookup_image */
	FL_IMPL_RR_REQUEST,      /* fn.rr_request, used by request {impl} */
	FL_IMPL_SERVER_OPEN,     /* fn.server_open, used by offer_service {impl} */
	FL_IMPL_CTX_REQUEST,     /* fn.ctx_request, used by request {impl} */
	FL_IMPL_CLUSTER_CONNECT, /* fn.cluster_connect, used by cluster_connect {impl} */
	FL_IMPL_CLIENT_OPEN,     /* fn.client_open, used by connect_service {impl} */
	FL_IMPL_OFFER,           /* fn.offer, used by offer {impl} */
	FL_IMPL_RR_ANSWER,       /* fn.rr_answer, used by respond {impl} */
};

/* An image lookup helper: finds the image of `session_id` on `sub` and
 * writes its position (bytes consumed) to *position on success.  Returns
 * 0, FL_ENOENT when the session has no image (yet), or another FL_E*
 * code.  A correct helper leaves no image reference behind on any path.
 * Called on the subscription's owner thread. */
typedef int (*fl_impl_image_lookup_fn)(fl_subscription *sub, int32_t session_id, int64_t *position);

/* A request helper on a plain connection: loans a request chunk of `size`
 * bytes, sends it with deadline_ns, waits (until deadline_ns) for its
 * response and releases it.  Responses to earlier requests the caller gave
 * up on may arrive first; a correct helper releases every response it
 * takes.  Returns 0 or an FL_E* code (FL_ETIMEDOUT: no answer in time).
 * Called on the connection's owner thread. */
typedef int (*fl_impl_rr_request_fn)(fl_rr_domain *d, fl_rr_client *cl, uint32_t size,
                                     uint64_t deadline_ns);

/* A server opener: opens a server for `service` and prepares it (a setup
 * step that loans and releases a chunk, and can fail).  0 and *out, or an
 * FL_E* code; a correct opener returns the port on every error path. */
typedef int (*fl_impl_server_open_fn)(fl_rr_domain *d, const char *service, fl_rr_server **out);

/* A client opener: connects to `service` and prepares the connection (a
 * setup step that loans and releases a chunk, and can fail).  0 and
 * *out, or an FL_E* code; a correct opener returns the client port on
 * every error path. */
typedef int (*fl_impl_client_open_fn)(fl_rr_domain *d, const char *service, fl_rr_client **out);

/* A context-per-request helper: opens a context on the REQ socket `s`,
 * sends a `size`-byte message, waits up to timeout_ns for the reply, frees
 * it and closes the context.  0 or an FL_E* code.  A correct helper frees
 * each message exactly once (never after a successful send) and never
 * frees an aio whose operation is pending. */
typedef int (*fl_impl_ctx_request_fn)(fl_sock *s, uint32_t size, uint64_t timeout_ns);

/* A cluster connect helper: connects as fl_cluster_connect does (ctx's
 * message timeout bounds each step; deadline_ns the whole connect) and
 * writes the client to *out.  Returns 0 or an FL_E* code (FL_ETIMEDOUT:
 * no connection by the deadline).  A correct helper leaves nothing of a
 * failed connect behind: no publication, no subscription, and no add
 * still in flight with the driver (B2).  Called on the owner's thread. */
typedef int (*fl_impl_cluster_connect_fn)(const struct fl_cluster_client_ctx *ctx,
                                          uint64_t deadline_ns, fl_cluster_client **out);

/* One message of an offer batch. */
struct fl_impl_msg {
	const uint8_t *buf;
	uint32_t len;
};

/* A batch sender: offers msgs[0..n) on `pub`, each exactly once and in
 * that order, retrying a message the publication refused for back
 * pressure (FL_EBACKPRESSURE) until deadline_ns; waits with fl_idle.
 * Returns 0 once every message was taken, or the FL_E* code of the offer
 * that failed (the rest are not sent); *sent is how many of the batch it
 * went through (the next batch numbers its messages from there).  Called
 * on the publication's owner thread. */
typedef int (*fl_impl_offer_fn)(fl_publication *pub, const struct fl_impl_msg *msgs, uint32_t n,
                                uint64_t deadline_ns, uint32_t *sent);

/* An answer helper on a server: answers the request `req` it took (loans a
 * response, writes the request's bytes back, sends it) by deadline_ns.
 * The caller releases req afterwards.  0 or an FL_E* code.  Called on the
 * server's owner thread. */
typedef int (*fl_impl_rr_answer_fn)(fl_rr_domain *d, fl_rr_server *srv, const fl_chunk *req,
                                    uint64_t deadline_ns);

struct fl_impl {
	const char *name; /* what `impl:` says */
	enum fl_impl_kind kind;
	const char *bug_class; /* docs/bug-classes.md class, e.g. "B1", or NULL */
	bool correct;          /* the correct helper, or the one with the bug */
	union {
		fl_impl_image_lookup_fn image_lookup;
		fl_impl_rr_request_fn rr_request;
		fl_impl_server_open_fn server_open;
		fl_impl_ctx_request_fn ctx_request;
		fl_impl_cluster_connect_fn cluster_connect;
		fl_impl_client_open_fn client_open;
		fl_impl_offer_fn offer;
		fl_impl_rr_answer_fn rr_answer;
	} fn;
};

/* fl_impl_register adds a table of implementations, ended by an entry
 * whose name is NULL; the table must outlive every scenario that names
 * one.  Registering the same table again does nothing.  0, FL_EEXIST
 * when a name is registered already (nothing of the table is added), or
 * FL_ELIMIT past FL_IMPL_MAX_TABLES tables.  Not thread-safe: call it
 * before loading scenarios. */
#define FL_IMPL_MAX_TABLES 8
int fl_impl_register(const struct fl_impl *table);

/* fl_impl_find returns the implementation called `name`, or NULL. */
const struct fl_impl *fl_impl_find(const char *name);

/* fl_impl_at returns the i-th registered implementation, NULL past the
 * end (for listing them in error messages). */
const struct fl_impl *fl_impl_at(size_t i);

/* fl_impl_names writes the names of the registered implementations of
 * `kinds` (bits 1 << enum fl_impl_kind), joined by ", ", into buf (for
 * an error listing the names that fit), and returns buf. */
char *fl_impl_names(unsigned kinds, char *buf, size_t len);

/* fl_impl_check: 0 when name is a registered implementation of one of
 * `kinds`; else -1 and why says so, naming what (a "request helper")
 * and the names that fit (a scenario's `impl:` check). */
int fl_impl_check(const char *name, unsigned kinds, const char *what, char *why, size_t len);

#endif
