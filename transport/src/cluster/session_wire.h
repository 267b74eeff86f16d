/*
 * The client session protocol (as Aeron Cluster's): the frames a client
 * sends on a node's ingress, the events and replies the leader sends on
 * the client's egress, and the session entries of the log.
 *
 * Addresses.  Node i subscribes to its ingress: channel "cluster"
 * (FL_CLUSTER_CHANNEL), stream FL_CLUSTER_INGRESS_STREAM_BASE + i.  A
 * client subscribes to a response address of its own (any valid channel
 * name and stream but the cluster's own streams on "cluster") before it
 * connects; the leader publishes to it, one exclusive publication a
 * session.  Everything is little-endian; every frame starts with
 *
 *   0  u16 magic FLI_SW_MAGIC   2  u8 version FLI_SW_VERSION   3  u8 type
 *   4  u32 length of the data that ends the frame (0 if the type has none)
 *
 * and is exactly its type's header and that data (header bytes no field
 * names must be zero).  A frame that fails any check is counted
 * (ingress_garbled) and dropped, never answered: a frame of another
 * version cannot be parsed, so it is garbage too.
 *
 * Ingress (client to node), header bytes and fields:
 *   CONNECT    24: 8 u64 correlation id, 16 i32 response stream;
 *              data: the response channel (1..FL_NAME_MAX bytes, a name
 *              fl_name_validate accepts)
 *   KEEPALIVE  24: 8 u64 term, 16 u64 session id
 *   CLOSE      24: as KEEPALIVE
 *   COMMAND    32: 8 u64 term, 16 u64 session id, 24 u64 correlation id;
 *              data: a key-value command (kv.h), 1..FLI_SW_MAX_COMMAND
 *
 * Egress (the cluster to a client's response address):
 *   SESSION_EVENT  40: 8 u64 session id (0: none), 16 u64 correlation id,
 *                  24 u64 term, 32 i16 leader (-1: none known), 34 u8 code,
 *                  36 i32 the leader's ingress stream (0: none);
 *                  data: the detail, printable ASCII, 0..FLI_SW_MAX_DETAIL
 *   NEW_LEADER     32: 8 u64 session id, 16 u64 term, 24 i16 leader,
 *                  28 i32 the leader's ingress stream
 *   RESPONSE       48: 8 u64 session id, 16 u64 correlation id, 24 u64 term,
 *                  32 u64 log index, 40 u8 status (enum fli_kv_status);
 *                  data: the value (a get's), 0..FLI_KV_MAX_VALUE
 *
 * Session ids (log indexes), terms and log indexes are never 0 where a
 * session, a term or an index is named (SESSION_EVENT's session id and
 * term may be 0: an answer before there was one).
 *
 * Codes of SESSION_EVENT (Aeron's EventCode): OK, ERROR, REDIRECT,
 * AUTHENTICATION_REJECTED (reserved: there is no authentication), CLOSED.
 *
 * What happens, and what the leader promises:
 *   - CONNECT at the leader: it appends SESSION_OPEN (the correlation id
 *     and the response address).  Once that entry is committed and
 *     applied, the session exists on every node, its id being the
 *     entry's log index (unique, and the same on every node); the leader
 *     then opens a publication to the response address and sends
 *     SESSION_EVENT OK {correlation id, session id, leader, term, the
 *     leader's ingress stream}, retrying until it is offered.  With
 *     FL_CLUSTER_MAX_SESSIONS open (or about to be), ERROR "too many
 *     sessions" instead.  An OK promises that the session is in the log.
 *   - CONNECT at a follower or candidate: REDIRECT naming the leader it
 *     knows and its ingress stream, or ERROR "no leader" when it knows
 *     none.  A node's one-off answers (these, and CLOSED) go out on a
 *     publication it opens for the purpose and closes once offered, or
 *     once the session timeout passed.
 *   - COMMAND {term, session, correlation, command} at the leader, from a
 *     session open in its table and of its current term: appended as a
 *     session command entry; once applied (on every node, in log order),
 *     the leader sends RESPONSE {correlation id, status, the log index,
 *     value} on that session's egress, once: a RESPONSE that cannot be
 *     offered (no subscriber, back-pressure) is lost and counted
 *     (egress_dropped); the client resends or reads.  RESPONSEs go out in
 *     log order, after the session's OK or NEW_LEADER.  A COMMAND of
 *     another term gets ERROR "stale term" (its correlation id; the
 *     current term in the event).  A command applied after its session
 *     closed changes nothing.
 *   - KEEPALIVE and every COMMAND restart the session's activity timer on
 *     the leader.  A session silent for the session timeout is timed out:
 *     the leader appends SESSION_TIMEOUT; once applied every node drops
 *     it, and the leader sends CLOSED "timeout" and closes the session's
 *     publication.  CLOSE appends SESSION_CLOSE likewise, answered by
 *     CLOSED "client".  KEEPALIVE and CLOSE of another term, frames for
 *     sessions the leader does not have, and anything but CONNECT at a
 *     follower are dropped and counted (ingress_dropped).
 *   - A new leader, once its term's first entry (the no-op) is applied,
 *     so that everything committed before it is in its table, opens a
 *     publication to every open session, sends each NEW_LEADER {leader,
 *     term, its ingress stream} (retried until offered) and restarts
 *     every session's activity timer, so that no session times out for
 *     the failover's duration.  A client sends to the new leader, with
 *     the new term, from then on.
 *
 * Log entries: a session entry's data is a frame, checked again when
 * applied: SESSION_OPEN holds the CONNECT, SESSION_COMMAND the COMMAND
 * and SESSION_CLOSE the CLOSE the leader took; SESSION_TIMEOUT holds a
 * CLOSE the leader made.  An entry that does not parse, or holds another
 * frame, applies as nothing, on every node alike.
 */
#ifndef FLI_SESSION_WIRE_H
#define FLI_SESSION_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "faultline/driver.h"
#include "kv.h"

#define FLI_SW_MAGIC       0x5346u /* "FS" */
#define FLI_SW_VERSION     1u
#define FLI_SW_MAX_DETAIL  128u
#define FLI_SW_MAX_COMMAND (FLI_KV_HDR + FLI_KV_MAX_KEY + FLI_KV_MAX_VALUE)
/* The largest frame of each kind, and so of a session entry. */
#define FLI_SW_EVENT_MAX   (40u + FLI_SW_MAX_DETAIL)
#define FLI_SW_INGRESS_MAX (32u + FLI_SW_MAX_COMMAND)
#define FLI_SW_EGRESS_MAX  (48u + FLI_KV_MAX_VALUE)

enum fli_sw_type {
	/* ingress */
	FLI_SW_CONNECT = 1,
	FLI_SW_KEEPALIVE = 2,
	FLI_SW_CLOSE = 3,
	FLI_SW_COMMAND = 4,
	/* egress */
	FLI_SW_SESSION_EVENT = 16,
	FLI_SW_NEW_LEADER = 17,
	FLI_SW_RESPONSE = 18,
};

enum fli_sw_code {
	FLI_SW_OK = 0,
	FLI_SW_ERROR = 1,
	FLI_SW_REDIRECT = 2,
	FLI_SW_AUTHENTICATION_REJECTED = 3,
	FLI_SW_CLOSED = 4,
};

/* One frame.  Which fields mean what, by type (the others are 0):
 *   CONNECT:          correlation, stream; data = the channel
 *   KEEPALIVE, CLOSE: term, session
 *   COMMAND:          term, session, correlation; data = the command
 *   SESSION_EVENT:    session, correlation, term, leader, code, stream;
 *                     data = the detail
 *   NEW_LEADER:       session, term, leader, stream
 *   RESPONSE:         session, correlation, term, index, code (the kv
 *                     status); data = the value */
struct fli_sw_msg {
	uint8_t type; /* enum fli_sw_type */
	uint8_t code;
	int16_t leader;
	int32_t stream;
	uint64_t term, session, correlation, index;
	const uint8_t *data; /* len bytes; decoded: points into the frame */
	uint32_t len;
};

/* fli_sw_size is the encoded size of m (0: an unknown type). */
size_t fli_sw_size(const struct fli_sw_msg *m);

/* fli_sw_encode writes frame m to buf (cap bytes); returns its size, or
 * 0 if it does not fit or a field is out of its range (what decoding
 * refuses, encoding refuses). */
size_t fli_sw_encode(const struct fli_sw_msg *m, uint8_t *buf, size_t cap);

/* fli_sw_decode reads the frame buf[0..len) into m (m->data points into
 * buf).  Returns 0 or FL_EPROTO; *why (if not NULL) says what was wrong. */
int fli_sw_decode(const uint8_t *buf, size_t len, struct fli_sw_msg *m, const char **why);

#endif
