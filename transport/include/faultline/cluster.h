/*
 * Cluster nodes: members replicating a log under Raft's rules over
 * faultline's own publish/subscribe, applying it to a key-value service.
 *
 * Each node is a client of a running driver (ctx.ns).  It subscribes to
 * its consensus stream (channel "cluster", stream FL_CLUSTER_STREAM_BASE +
 * id) and publishes to each peer's; every message is one versioned frame
 * whose every field is checked on arrival (a garbled one is counted and
 * dropped).  A node keeps its term, vote and log in files of its own
 * (ctx.dir) and writes them before it answers; opened again on the same
 * directory it restarts from them, cutting a torn tail.  A write that
 * fails halts the node (fail-stop): it answers nothing more until it is
 * closed and opened again.
 *
 * A node does nothing on its own thread: the application calls
 * fl_cluster_node_do_work in its duty cycle (an agent, as Aeron's
 * consensus module is), from one thread.
 *
 * Clients reach the cluster through sessions, as Aeron Cluster's do: a
 * client sends a connect request to the leader's ingress (channel
 * "cluster", stream FL_CLUSTER_INGRESS_STREAM_BASE + id) naming its
 * response address; the session's open, close and timeout are log
 * entries, so every node holds the same session table (rebuilt from the
 * log on restart); the leader answers on the client's egress, times out
 * sessions that stop sending keep-alives, and, newly elected, sends every
 * open session a new-leader event; a follower answers a connect with a
 * redirect naming the leader.  The frames, events and what the leader
 * promises: transport/src/cluster/session_wire.h and docs/cluster.md.
 * The application's own commands reach the log through
 * fl_cluster_node_put on the leader.  Not yet: snapshots.
 */
#ifndef FAULTLINE_CLUSTER_H
#define FAULTLINE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_CLUSTER_MAX_NODES    5
#define FL_CLUSTER_CHANNEL      "cluster"
#define FL_CLUSTER_STREAM_BASE  1000
#define FL_CLUSTER_ELECTION_NS  (300ull * 1000000ull)
#define FL_CLUSTER_HEARTBEAT_NS (50ull * 1000000ull)
/* Node id's ingress: where clients send (channel FL_CLUSTER_CHANNEL). */
#define FL_CLUSTER_INGRESS_STREAM_BASE 1100
/* A session silent this long is timed out by the leader. */
#define FL_CLUSTER_SESSION_TIMEOUT_NS (10ull * 1000000000ull)
/* Open sessions at most (part of the replicated state: the same on every
 * node); a connect beyond it is answered with an error. */
#define FL_CLUSTER_MAX_SESSIONS 64

typedef struct fl_cluster_node fl_cluster_node;

struct fl_cluster_node_status;

/* Watching a node from inside its process (a harness checking Raft's
 * invariants as they happen).  Each call comes from fl_cluster_node_do_work
 * or fl_cluster_node_put, on the node's thread; any member may be NULL. */
struct fl_cluster_observer {
	void *arg;
	/* The role, term or known leader changed (st: the status now). */
	void (*changed)(void *arg, const struct fl_cluster_node_status *st);
	/* Entry `index` of `term` was applied; hash as fl_cluster_node_entry's. */
	void (*applied)(void *arg, int id, uint64_t index, uint64_t term, uint64_t hash);
	/* Entry `index` of `term` is now durable in the node's log, every
	 * entry from index on it held before replaced (a watcher in another
	 * process keeps a copy of the log from these). */
	void (*logged)(void *arg, int id, uint64_t index, uint64_t term, uint64_t hash);
	/* A loss generator (as Aeron's tests have): a message from node
	 * `from` to node `to` is sent only when this says true.  A harness
	 * partitions the cluster with it. */
	bool (*link_up)(void *arg, int from, int to);
};

struct fl_cluster_node_ctx {
	const char *ns;               /* namespace of a running driver (required) */
	int id;                       /* 0 .. members - 1 */
	int members;                  /* 1, 3 or 5 (0: 3) */
	const char *dir;              /* this node's files (required; created 0700) */
	uint64_t election_timeout_ns; /* 0: FL_CLUSTER_ELECTION_NS; a follower waits [t, 2t) */
	uint64_t heartbeat_ns;        /* 0: FL_CLUSTER_HEARTBEAT_NS */
	uint64_t session_timeout_ns;  /* 0: FL_CLUSTER_SESSION_TIMEOUT_NS (leader-local) */
	bool sync;                    /* fdatasync every write (a disk, not /dev/shm) */
	const struct fl_cluster_observer *observer; /* borrowed; NULL: none */
};

/* fl_cluster_node_ctx_init zeroes ctx (defaults); ns, id and dir must
 * still be set. */
void fl_cluster_node_ctx_init(struct fl_cluster_node_ctx *ctx);

/* fl_cluster_node_open opens (or reopens from its files) node ctx->id.
 * Errors: FL_EINVAL (ctx), FL_EPERM (dir is a link or another user's),
 * FL_EIO, FL_ENOMEM, and fl_client_open's.  *out goes to
 * fl_cluster_node_close. */
int fl_cluster_node_open(const struct fl_cluster_node_ctx *ctx, fl_cluster_node **out);

/* fl_cluster_node_do_work runs one pass: the client's conductor,
 * messages in, timers.  Returns work done (>= 0) or the client's sticky
 * error. */
int fl_cluster_node_do_work(fl_cluster_node *n);

/* fl_cluster_node_close closes the node (its files stay).  NULL: no-op. */
void fl_cluster_node_close(fl_cluster_node *n);

/* fl_cluster_node_abandon frees the node as its process's death would:
 * its files are closed as they are (a write never finishes), its client
 * is abandoned (fl_client_abandon: the driver times it out), its memory
 * freed.  For a harness that kills a node living in one process; opened
 * again on the same directory it restarts from its files.  NULL: no-op. */
void fl_cluster_node_abandon(fl_cluster_node *n);

enum fl_cluster_role {
	FL_CLUSTER_FOLLOWER,
	FL_CLUSTER_CANDIDATE,
	FL_CLUSTER_LEADER,
	FL_CLUSTER_HALTED, /* a write failed: closed and opened again, it goes on */
};

struct fl_cluster_node_status {
	int id;
	enum fl_cluster_role role;
	int leader; /* -1: none known */
	uint64_t term, commit, applied, log_length;
	uint64_t state_hash;      /* of the key-value map: equal on nodes that applied alike */
	uint64_t garbled;         /* frames dropped as malformed */
	uint64_t refused;         /* well-formed messages no correct member sends (a second
	                        leader of this node's term, a match past its log, a
	                        message to another id): a bug or a forgery, never
	                        merely noise */
	uint64_t dropped;         /* messages not sent (no publication yet, back-pressure) */
	uint64_t elections;       /* elections this node started since it opened */
	uint64_t torn_bytes;      /* cut off its log's end when it opened */
	uint64_t sessions;        /* client sessions open (as this node applied the log) */
	uint64_t ingress_garbled; /* ingress frames dropped as malformed */
	uint64_t ingress_dropped; /* well-formed ingress frames not acted on (an
	                             unknown session, another term, a follower's
	                             keep-alive, a response address of the cluster's
	                             own, no room for the answer) */
	uint64_t egress_dropped;  /* replies and events not delivered (no subscriber,
	                             back-pressure) */
};

/* fl_cluster_node_status fills *st.  Returns 0 or FL_EINVAL. */
int fl_cluster_node_status(const fl_cluster_node *n, struct fl_cluster_node_status *st);

/* fl_cluster_stores_make makes top, the directory a cluster's nodes keep
 * their directories in (ctx.dir = top/node<id>), mode 0700; one there
 * already is fine.  While fl_run_dirs_in_memory is on, the nodes' files
 * are kept in this process's memory, and so is top.  0, FL_EINVAL,
 * FL_ENOMEM, FL_EIO. */
int fl_cluster_stores_make(const char *top);

/* fl_cluster_stores_remove removes every node directory (node<digits>)
 * under top, with the node's state and log, and then top, wherever
 * fl_cluster_stores_make put them.  Anything else there stays, and so do
 * the directories holding it.  0 (top is gone, or was never there),
 * FL_EEXIST (something stayed), FL_EINVAL. */
int fl_cluster_stores_remove(const char *top);

/* fl_cluster_page_remove removes node id's status page from the run
 * directory dir (what a node killed for good leaves), through the shm
 * seam (so in memory too), without its fault point.  0, FL_ENOENT,
 * FL_EIO. */
int fl_cluster_page_remove(const char *dir, int id);

/* fl_cluster_nodes_read reads the status pages the nodes of namespace ns
 * keep in their driver's run directory (node-<id>.stat, rewritten as a
 * node's state changes; faultline-stat prints them): at most max into
 * out, in id order, *count set; pids (may be NULL) gets each page's
 * writer.  A killed node's page stays, its pid gone, until that node
 * opens again.  allowed_uid as for fl_stats_read_as (0: this user's
 * only).  The pages are read, never mapped.  Returns 0, FL_EINVAL,
 * FL_ENAME, FL_ENOENT (no run directory), FL_EPERM, FL_EIO. */
int fl_cluster_nodes_read(const char *ns, uint32_t allowed_uid, struct fl_cluster_node_status *out,
                          int32_t *pids, int max, int *count);

/* fl_cluster_node_entry gives the term of entry `index` (1 ..
 * log_length) of n's log and a hash of its type and bytes (FNV-1a 64):
 * two nodes hold the same entry at an index when both are equal.
 * Returns 0, FL_EINVAL or FL_ENOENT (no such index). */
int fl_cluster_node_entry(const fl_cluster_node *n, uint64_t index, uint64_t *term, uint64_t *hash);

/* fl_cluster_node_put appends put(key, value) to the leader's log and
 * replicates it; *index (may be NULL) gets its index, applied on every
 * node once committed.  FL_ESTATE if n is not the leader, FL_EMSGSIZE
 * (key over 256 bytes, value over 4096), or the write's error (the node
 * halted). */
int fl_cluster_node_put(fl_cluster_node *n, const char *key, const void *value, size_t len,
                        uint64_t *index);

/* fl_cluster_node_read reads key's value from n's own key-value map, as
 * n has applied its log so far, into buf (cap bytes), *len its length.
 * A local read: on a leader that was deposed without knowing it yet, or
 * on a follower, the value may be stale.  A linearizable read first
 * commits an entry of the leader's term and waits until n applied it
 * (Raft's read index), then reads.  Returns 0, FL_ENOENT (no such key),
 * FL_EMSGSIZE (*len is the value's length, over cap; or a key over 256
 * bytes) or FL_EINVAL.  From the node's thread, like every call. */
int fl_cluster_node_read(const fl_cluster_node *n, const char *key, void *buf, size_t cap,
                         size_t *len);

#ifdef __cplusplus
}
#endif
#endif
