/*
 * The consensus core of a cluster node: Raft's rules (Ongaro and
 * Ousterhout, Figure 2) as a state machine with no I/O of its own.
 *
 * A node feeds it what happens (fli_raft_recv: a message arrived;
 * fli_raft_tick: time passed; fli_raft_propose: a command to replicate)
 * and it acts through struct fli_raft_io: messages to send, state to make
 * durable, committed entries to apply, random draws for its election
 * timeout.  The persistence calls return only once the state is on disk,
 * and the core answers nothing that depends on a state it could not
 * persist: a failed persist halts the node (fail-stop; it restarts from
 * its files), as a failed write does in Aeron Cluster.
 *
 * Terms and indexes count from 1; index 0 with term 0 is the empty log's
 * last entry.  No snapshots: the log is kept whole.
 */
#ifndef FLI_RAFT_H
#define FLI_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLI_RAFT_MAX_NODES 5
#define FLI_RAFT_NO_NODE   (-1)

enum fli_raft_role {
	FLI_RAFT_FOLLOWER,
	FLI_RAFT_CANDIDATE,
	FLI_RAFT_LEADER,
	FLI_RAFT_HALTED, /* a persist failed: it acts no more until restarted */
};

/* Entry types.  The core makes only NOOP (a new leader's first entry, so
 * that entries of earlier terms can commit); the rest are the service's. */
enum fli_raft_entry_type {
	/* On disk and on the wire: add at the end only. */
	FLI_ENTRY_NOOP = 1,
	FLI_ENTRY_COMMAND,
	FLI_ENTRY_SESSION_OPEN,
	FLI_ENTRY_SESSION_CLOSE,
	FLI_ENTRY_SESSION_TIMEOUT,
	FLI_ENTRY_SESSION_COMMAND, /* a client session's command (session_wire.h) */
	FLI_ENTRY__MAX = FLI_ENTRY_SESSION_COMMAND,
};

struct fli_raft_entry {
	uint64_t term;
	uint16_t type; /* enum fli_raft_entry_type */
	uint32_t len;
	const uint8_t *data; /* len bytes (the core's copy, or the sender's) */
};

enum fli_raft_msg_type {
	FLI_MSG_VOTE_REQ = 1,
	FLI_MSG_VOTE_RESP = 2,
	FLI_MSG_APPEND_REQ = 3,
	FLI_MSG_APPEND_RESP = 4,
};

/* One consensus message.  Which fields mean what, by type:
 *   VOTE_REQ:    index, log_term = the candidate's last entry
 *   VOTE_RESP:   ok = vote granted
 *   APPEND_REQ:  index, log_term = the entry before `entries`;
 *                commit = the leader's commit index; entries
 *   APPEND_RESP: ok = appended; index = the last index now matching the
 *                leader's (ok), or the follower's last index (not ok) */
struct fli_raft_msg {
	uint8_t type;
	bool ok;
	int16_t from, to;
	uint64_t term;
	uint64_t index;
	uint64_t log_term;
	uint64_t commit;
	uint32_t n_entries;
	const struct fli_raft_entry *entries;
};

/* What the core calls; each gets the arg given to fli_raft_init. */
struct fli_raft_io {
	/* Sends m to m->to; the message may be lost, as on any network.  The
	 * entries m points to are valid during the call only. */
	void (*send)(void *arg, const struct fli_raft_msg *m);
	/* Makes (term, voted_for) durable.  0, or an error: the core halts. */
	int (*persist_state)(void *arg, uint64_t term, int32_t voted_for);
	/* Makes entry e durable at index (the log's next), after dropping
	 * every durable entry at index and above.  0, or an error. */
	int (*persist_entry)(void *arg, uint64_t index, const struct fli_raft_entry *e);
	/* Applies committed entry e at index; in log order, each once. */
	void (*apply)(void *arg, uint64_t index, const struct fli_raft_entry *e);
	/* A uniform draw in [0, bound) (the choice stream under the harness). */
	uint64_t (*random)(void *arg, uint64_t bound);
	/* Called when the role, term or leader changed (may be NULL). */
	void (*changed)(void *arg);
};

struct fli_raft_config {
	int id, n;                    /* this node's id, 0..n-1; n in 1..FLI_RAFT_MAX_NODES */
	uint64_t election_timeout_ns; /* a follower waits [t, 2t) for a leader */
	uint64_t heartbeat_ns;        /* a leader's append interval when idle */
	uint32_t max_append_entries;  /* at most this many entries a message */
	uint32_t max_append_bytes;    /* ... and this many bytes of their data */
	/* A new leader appends a no-op of its term at once, so that what
	 * earlier terms left commits without waiting for a command (section
	 * 5.4.2; Aeron Cluster logs a new leadership term the same way).
	 * false: only commands carry a leader's term. */
	bool leader_noop;
};

struct fli_raft_log {
	struct fli_raft_entry *e; /* e[0] is index 1 */
	uint64_t len, cap;
};

struct fli_raft {
	struct fli_raft_config cfg;
	struct fli_raft_io io;
	void *io_arg;
	enum fli_raft_role role;
	uint64_t term;
	int32_t voted_for;
	int32_t leader;
	struct fli_raft_log log;
	uint64_t commit, applied;
	uint64_t election_deadline_ns;
	uint32_t votes; /* candidate: a bit a granting node */
	/* Leader: per node, the next index to send and the highest known to
	 * match; when an append was last sent. */
	uint64_t next_index[FLI_RAFT_MAX_NODES];
	uint64_t match_index[FLI_RAFT_MAX_NODES];
	uint64_t sent_ns[FLI_RAFT_MAX_NODES];
	uint64_t elections; /* elections this node started */
	uint64_t persist_failures;
};

/* fli_raft_init sets r up as a follower of term `term` that voted for
 * voted_for, with the durable log `log` (n entries, copied), at time now;
 * io's calls get io_arg.  Returns 0, FL_EINVAL or FL_ENOMEM. */
int fli_raft_init(struct fli_raft *r, const struct fli_raft_config *cfg,
                  const struct fli_raft_io *io, void *io_arg, uint64_t term, int32_t voted_for,
                  const struct fli_raft_entry *log, uint64_t n, uint64_t now_ns);

/* fli_raft_fini frees r's log. */
void fli_raft_fini(struct fli_raft *r);

/* fli_raft_tick: an election timeout that passed starts an election; a
 * leader sends the appends that are due.  Returns the next time it needs
 * a tick. */
uint64_t fli_raft_tick(struct fli_raft *r, uint64_t now_ns);

/* fli_raft_recv handles message m (already checked by the wire layer;
 * the core checks what depends on its state).  Returns 0, or FL_EPROTO
 * for a message no node could have sent (counted by the caller). */
int fli_raft_recv(struct fli_raft *r, const struct fli_raft_msg *m, uint64_t now_ns);

/* fli_raft_propose appends a command of type to a leader's log and sends
 * it on; *index gets its index.  FL_ESTATE if r is not the leader,
 * FL_EMSGSIZE if it can never fit one message, FL_ENOMEM, or the
 * persist's error (r halted). */
int fli_raft_propose(struct fli_raft *r, uint16_t type, const void *data, uint32_t len,
                     uint64_t now_ns, uint64_t *index);

/* The last entry's index and term. */
uint64_t fli_raft_last_index(const struct fli_raft *r);
uint64_t fli_raft_term_at(const struct fli_raft *r, uint64_t index);
const struct fli_raft_entry *fli_raft_entry_at(const struct fli_raft *r, uint64_t index);

const char *fli_raft_role_name(enum fli_raft_role role);

#endif
