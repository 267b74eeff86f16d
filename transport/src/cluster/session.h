/*
 * A node's client sessions (the protocol: session_wire.h): its ingress,
 * the session table the log builds, and, on the leader, each session's
 * egress.
 *
 * The table is replicated state: only applied entries change it, in log
 * order, so every node that applied the same entries holds the same
 * sessions (a restarted node rebuilds it as it applies its log again).
 * What is the leader's alone (each session's activity time and egress
 * publication, the events it still owes) is made when it leads and let go
 * when it stops.  One-off answers (a redirect, an error, a session's
 * CLOSED) go out through a small table of replies, each a publication
 * opened for it and closed once the answer is offered or the session
 * timeout passed.
 *
 * Everything runs on the node's thread, inside fl_cluster_node_do_work
 * and the Raft core's callbacks.
 */
#ifndef FLI_SESSION_H
#define FLI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline/client.h"
#include "faultline/cluster.h"
#include "faultline/driver.h"
#include "kv.h"
#include "raft.h"
#include "resub.h"
#include "session_wire.h"

#define FLI_SESSION_REPLIES 16                   /* one-off answers in flight at most */
#define FLI_EGRESS_RETRY_NS (10ull * 1000000ull) /* after a failed add */
#define FLI_EGRESS_PATIENCE_MAX                                                                    \
	16 /* election timeouts an add is waited for, at most
                                      (and a quarter of the session timeout) */

enum fli_owed { FLI_OWED_NONE, FLI_OWED_OK, FLI_OWED_NEW_LEADER };

/* An egress publication: added (reg in flight), then held (pub). */
struct fli_egress {
	fl_publication *pub;
	int64_t reg;          /* the add in flight, or 0 */
	uint64_t retry_ns;    /* no add before this (one failed); or, one in
	                      flight, when to give up waiting for its answer */
	uint64_t patience_ns; /* how long the next add is waited for; 0: an
	                         election timeout (longer at each add given
	                         up on, egress_patience_next; back to 0 at
	                         any answer) */
};

struct fli_session {
	uint64_t id;          /* its SESSION_OPEN's log index */
	uint64_t correlation; /* its CONNECT's */
	int32_t stream;       /* its response address */
	char channel[FL_NAME_MAX + 1];
	/* The leader's alone: */
	uint64_t active_ns;   /* its last keep-alive or command */
	struct fli_egress eg; /* its egress */
	uint8_t owed;         /* an event still to send: enum fli_owed */
	bool closing;         /* its close or timeout is in the log */
};

/* One event to one address, then its publication goes. */
struct fli_session_reply {
	bool used;
	int32_t stream;
	char channel[FL_NAME_MAX + 1];
	struct fli_egress eg;
	uint64_t deadline_ns;
	uint32_t len;
	uint8_t frame[FLI_SW_EVENT_MAX];
};

struct fli_sessions {
	fl_client *client; /* the node's; NULL until opened */
	struct fli_raft *r;
	struct fli_kv *kv;
	uint64_t timeout_ns;
	struct fli_resub ingress; /* made anew after a client error (resub.h) */
	struct fl_fragment_assembler fa;
	uint32_t n; /* open sessions, s[0..n) in the order they opened */
	struct fli_session s[FL_CLUSTER_MAX_SESSIONS];
	uint64_t leading; /* the term whose no-op this node applied as leader, or 0 */
	struct fli_session_reply replies[FLI_SESSION_REPLIES];
	uint64_t ingress_garbled, ingress_dropped, egress_dropped;
	uint8_t out[FLI_SW_EGRESS_MAX];
};

/* fli_sessions_open subscribes (by deadline_ns) to the ingress of node
 * r->cfg.id through client c, for a node whose Raft core is r (not yet
 * initialised: it is only kept) and whose service is kv.  Returns 0 or
 * fl_client_add_subscription's error; fli_sessions_close either way. */
int fli_sessions_open(struct fli_sessions *ss, fl_client *c, struct fli_raft *r, struct fli_kv *kv,
                      int id, uint64_t timeout_ns, uint64_t deadline_ns);

/* fli_sessions_close releases the publications and the subscription
 * (the client stays open).  Safe on a zeroed or half-opened ss. */
void fli_sessions_close(struct fli_sessions *ss);

/* fli_sessions_abandon frees what ss holds of its own, for a node whose
 * client was abandoned with everything it held. */
void fli_sessions_abandon(struct fli_sessions *ss);

/* fli_sessions_do_work reads the ingress, completes egress publications,
 * sends the events owed and the replies waiting, and, on a leader, times
 * sessions out.  Returns work done (>= 0). */
int fli_sessions_do_work(struct fli_sessions *ss, uint64_t now_ns);

/* fli_sessions_apply applies committed entry e at index when it is a
 * session's (or a no-op, which tells a leader its term's first entry is
 * applied); other entries are not its.  Returns 0, or FL_ENOMEM (a
 * command's: the node stops rather than diverge). */
int fli_sessions_apply(struct fli_sessions *ss, uint64_t index, const struct fli_raft_entry *e,
                       uint64_t now_ns);

/* fli_sessions_changed: the Raft core's role changed; a node that no
 * longer leads lets its sessions' egress go. */
void fli_sessions_changed(struct fli_sessions *ss);

#endif
