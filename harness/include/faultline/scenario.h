/*
 * Scenario files: YAML loaded with libcyaml against a schema, then checked
 * (references, names, ranges, mode and actor kinds, fault points).  The
 * format is documented in docs/scenario-format.md.
 *
 * A loaded scenario is one immutable, self-contained allocation tree owned
 * by the caller (free with fl_scenario_free).  Every actor, operation and
 * fault keeps the 1-based source line it came from, for reports.
 *
 * Errors read "file:line: field: what is wrong", e.g.
 *   scenarios/churn.yaml:14: actors[1].ops[0].offer.pub: unknown publication 'p9'
 * The CLI prints them and exits 2.
 *
 * Loading is thread-safe (no shared state); a loaded scenario may be read
 * from any number of threads.
 */
#ifndef FAULTLINE_SCENARIO_H
#define FAULTLINE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum fl_scn_mode {
	FL_SCN_MODE_SIM,    /* coroutines on one thread, virtual time */
	FL_SCN_MODE_PROC,   /* forked processes, real time, real kills */
	FL_SCN_MODE_STRESS, /* free-running threads, real time */
};

enum fl_scn_driver_kind {
	FL_SCN_DRIVER_EMBEDDED, /* the driver runs as an actor of the run */
	FL_SCN_DRIVER_PROCESS,  /* the driver is its own process (proc mode) */
};

enum fl_scn_actor_kind {
	FL_SCN_ACTOR_THREAD,  /* a coroutine (sim) or thread (stress, proc) */
	FL_SCN_ACTOR_PROCESS, /* a forked process (proc mode only) */
};

/* The operations, one line each in scenario_ops.def. */
enum fl_scn_op_kind {
#define FL_SCN_OP(KIND, name, DOMAIN, EXPECT) FL_SCN_OP_##KIND,
#include "faultline/scenario_ops.def"
#undef FL_SCN_OP
	FL_SCN_OP__COUNT
};

/* The part of the system an operation drives. */
enum fl_scn_domain {
	FL_SCN_DOMAIN_RUN,     /* the run's own steps: wait, barrier, crash_self, close_client */
	FL_SCN_DOMAIN_PUBSUB,  /* publications, subscriptions, images */
	FL_SCN_DOMAIN_REQREP,  /* services, connections, contexts */
	FL_SCN_DOMAIN_CLUSTER, /* cluster nodes: kills, restarts, partitions, commands */
	FL_SCN_DOMAIN_TARGET,  /* a target's ops (faultline/target.h) */
	FL_SCN_DOMAIN__COUNT
};

/* Kinds of the named objects operations create with `as:`. */
enum fl_scn_obj_kind {
	FL_SCN_OBJ_PUBLICATION,
	FL_SCN_OBJ_SUBSCRIPTION,
	FL_SCN_OBJ_IMAGE,
	FL_SCN_OBJ_SERVER,     /* offer_service */
	FL_SCN_OBJ_CONNECTION, /* connect_service */
	FL_SCN_OBJ_CTX,
	FL_SCN_OBJ_NODE,           /* a cluster node (wait_leader, kill_node) */
	FL_SCN_OBJ_CLUSTER_CLIENT, /* a cluster client (cluster_connect) */
	FL_SCN_OBJ_TARGET, /* an object of a target's kind (fl_scenario_object.target_kind) */
};

enum fl_scn_fault_action {
	FL_SCN_FAULT_ERROR,
	FL_SCN_FAULT_DELAY,
	FL_SCN_FAULT_DROP,
	FL_SCN_FAULT_CRASH,
};

enum fl_scn_fault_when {
	FL_SCN_WHEN_ALWAYS,      /* no `when:` given: every hit */
	FL_SCN_WHEN_NTH,         /* only the n-th hit (1-based) */
	FL_SCN_WHEN_AFTER,       /* every hit from the n-th on (1-based) */
	FL_SCN_WHEN_PROBABILITY, /* each hit with probability p (choice stream) */
};

enum fl_scn_sched_kind {
	FL_SCN_SCHED_RANDOM, /* uniform random over runnable actors */
	FL_SCN_SCHED_PCT,    /* PCT with `depth` (d - 1 change points) */
};

/* Properties, as bits of fl_scenario.properties. */
enum fl_scn_property {
	FL_SCN_PROP_IMAGE_REFS = 1u << 0,
	FL_SCN_PROP_NO_LEAKED_FILES = 1u << 1,
	FL_SCN_PROP_GAUGES_ZERO = 1u << 2,
	FL_SCN_PROP_NO_PENDING_REGISTRATIONS = 1u << 3,
	FL_SCN_PROP_NO_NEW_FDS = 1u << 4,
	FL_SCN_PROP_NO_UNEXPECTED_SIGNAL = 1u << 5,
	FL_SCN_PROP_DELIVERY_IN_ORDER = 1u << 6,
	FL_SCN_PROP_NO_LOSS = 1u << 7,
	FL_SCN_PROP_NO_DUPLICATES = 1u << 8,
	FL_SCN_PROP_CHUNKS_BALANCED = 1u << 9,
	FL_SCN_PROP_PORTS_ZERO = 1u << 10,
	FL_SCN_PROP_MESSAGES_FREED_ONCE = 1u << 11,
	FL_SCN_PROP_NO_LATE_COMPLETIONS = 1u << 12,
	/* The cluster's (Raft's safety properties, Figure 3 of the paper). */
	FL_SCN_PROP_ELECTION_SAFETY = 1u << 13, /* at most one leader a term */
	FL_SCN_PROP_LOG_MATCHING = 1u << 14,    /* same index and term: same entry, same prefix */
	FL_SCN_PROP_LEADER_COMPLETENESS = 1u << 15, /* a committed entry is in every later leader */
	FL_SCN_PROP_STATE_MACHINE_SAFETY =
	        1u << 16, /* no two nodes apply different entries at an index */
	FL_SCN_PROP_CLUSTER_LIVENESS = 1u << 17, /* a leader, and every node caught up, within
	                                                cluster.liveness_ms once every fault healed */
	FL_SCN_PROP_LINEARIZABLE = 1u << 18,     /* the history the clients saw (kv ops) has
	                                         one sequential order explaining it */
	FL_SCN_PROP_NO_ORPHANED_REGISTRATIONS =
	        1u << 19, /* once an actor's cluster clients closed, the driver holds no
	                     registration of theirs (B2) */
	FL_SCN_PROP_TARGET_RESOURCES = 1u << 20, /* a target's gauges back to zero once every
	                                            object of it closed */
	FL_SCN_PROP_TARGET_MODEL = 1u << 21,     /* no op of a target reported a violation of
	                                            the library's contract (fl_target_violation) */
	FL_SCN_PROP_TARGET_HEAP = 1u << 22,      /* the target's library wrote no byte past a block
	                                       it allocated, freed none twice, wrote none it
	                                       freed (alloc_hook.h's heap check) */
	FL_SCN_PROP_NO_HEAP_GROWTH = 1u << 23,   /* no heap block allocated during the run is
	                                       still held once it ended (run/heap.h) */
};
#define FL_SCN_PROP_COUNT 24
#define FL_SCN_PROP_CLUSTER                                                                        \
	(FL_SCN_PROP_ELECTION_SAFETY | FL_SCN_PROP_LOG_MATCHING |                                  \
	 FL_SCN_PROP_LEADER_COMPLETENESS | FL_SCN_PROP_STATE_MACHINE_SAFETY |                      \
	 FL_SCN_PROP_CLUSTER_LIVENESS)

/* cancel_at values besides a step index >= 0. */
#define FL_SCN_CANCEL_NONE   (-1) /* not cancelled */
#define FL_SCN_CANCEL_RANDOM (-2) /* step drawn from the choice stream */

/* A reference to a named object: index into fl_scenario.objects, or -1. */
typedef int fl_scn_ref;

struct fl_scn_op_wait {
	uint32_t ms;
};

/* What one run holds (the loader refuses more): its actors, and its
 * barriers' names. */
#define FL_SCN_MAX_ACTORS   64
#define FL_SCN_MAX_BARRIERS 32

struct fl_scn_op_barrier {
	const char *name; /* every actor reaching a barrier of this name waits for the rest */
};

/* The cluster domain's ops (kill_node, partition, put, kv,
 * cluster_connect, ...) are declared as a target's are
 * (harness/src/run/interp_cluster.c and interp_client.c); the values
 * their words stand for: */
#define FL_SCN_MAX_NODES   5
#define FL_SCN_NODE_LEADER (-1) /* `node: leader`: the leader at that moment */
#define FL_SCN_NODE_REF    (-2) /* the node an earlier op named */

/* kv's `read`: `log` (commits an entry of the leader's term first, then
 * reads: Raft's read index) or `local` (reads the node's map at once:
 * stale when the node was deposed without knowing it). */
enum fl_scn_kv_read { FL_SCN_KV_READ_LOG, FL_SCN_KV_READ_LOCAL };

/* cluster_poll's `until`: the deadline, the client closed (by the
 * cluster, or by a flag another actor set: the owner closes it then),
 * or it followed a new leader. */
enum fl_scn_cluster_until {
	FL_SCN_UNTIL_DEADLINE,
	FL_SCN_UNTIL_CLOSED,
	FL_SCN_UNTIL_NEW_LEADER,
};

/* An op a target declares (faultline/target.h): its values per declared
 * argument, at the argument's index. */
struct fl_target;
struct fl_target_op;
/* A target op's INT argument or deadline_ms written as a list, e.g.
 * `size: [0, 1, 255, 256, 257]`, `deadline_ms: [0, 1, 5000]`: each time
 * the op runs, one of the values is drawn from the actor's choice stream
 * (the first is the shrinker's: a stream that runs out answers it). */
#define FL_SCN_TARGET_DRAWS 16
struct fl_scn_target_draw {
	const int64_t *values; /* NULL: not drawn */
	uint8_t n;
};

struct fl_scn_op_target {
	const struct fl_target *target;
	const struct fl_target_op *op;
	int64_t ints[8];      /* INT, BOOL, RANGE's lower end */
	int64_t his[8];       /* RANGE's upper end */
	uint32_t given;       /* bit i: argument i is in the scenario */
	uint32_t named;       /* bit i: INT argument i (with a kind) written as an
	                         object's name: objs[i], resolved once every object
	                         is known */
	const char *strs[8];  /* STRING (NULL: absent) */
	fl_scn_ref objs[8];   /* OBJECT */
	fl_scn_ref as;        /* the object it creates, or -1 */
	uint32_t deadline_ms; /* a blocking op's (0: the driver timeout) */
	/* Drawn values: [i] of INT argument i, [8] of deadline_ms (0 there:
	 * a deadline already past when the op starts). */
	struct fl_scn_target_draw draws[9];
};

/* One operation: a tagged union.  close_client and crash_self carry no
 * arguments. */
/* fl_scenario_op.expect: a set of FL_E* codes, bit -code for each (codes
 * run from -1 to FL_ERROR_MIN, above -64); FL_SCN_EXPECT_ANY: any error. */
#define FL_SCN_EXPECT_BIT(code) (1ull << (unsigned)(-(code)))
#define FL_SCN_EXPECT_ANY       (~0ull)

struct fl_scenario_op {
	enum fl_scn_op_kind kind;
	int line;        /* 1-based source line */
	uint64_t expect; /* the FL_E* codes the op may fail with (FL_SCN_EXPECT_BIT),
	                    FL_SCN_EXPECT_ANY, or 0: an error fails the run unless a
	                    fault fired in the op */
	union {
		struct fl_scn_op_wait wait;
		struct fl_scn_op_barrier barrier;
		/* a target's op, and a built-in op declared as one is (the
		 * pub/sub, request/response and cluster domains',
		 * harness/src/run/interp_pubsub.c, interp_reqrep.c,
		 * interp_cluster.c and interp_client.c) */
		struct fl_scn_op_target target;
	} u;
};

struct fl_scenario_actor {
	const char *name;
	enum fl_scn_actor_kind kind;
	const char *client; /* client name; actors naming the same client share it
	                       (defaults to the actor's name) */
	const struct fl_scenario_op *ops;
	size_t op_count;
	uint32_t repeat; /* times the op list runs in a row, >= 1 (default 1);
	                       objects named with `as:` are created afresh each time */
	int line;
};

/* A named object created by an operation's `as:`. */
struct fl_scenario_object {
	const char *name;
	enum fl_scn_obj_kind kind;
	int actor;               /* index of the defining actor */
	int op;                  /* index of the defining op in that actor */
	const char *target_kind; /* FL_SCN_OBJ_TARGET: the kind's name */
};

struct fl_scenario_fault {
	const char *point; /* "transport/shm/map", "posix/mm/mmap", or a prefix ending in '*' */
	enum fl_scn_fault_action action;
	enum fl_scn_fault_when when;
	uint64_t n;         /* NTH / AFTER */
	double probability; /* PROBABILITY, in (0, 1] */
	int error;          /* ERROR/DROP: negative FL_E* code (`code:`), positive errno
	                      (`errno:`), or 0 for the point's default */
	uint32_t delay_ms;  /* DELAY */
	const char *actor;  /* only when this actor runs; NULL: any */
	int actor_index;    /* index of that actor, or -1 */
	int line;
};

struct fl_scenario_driver {
	enum fl_scn_driver_kind kind;
	uint32_t client_liveness_ms;
	uint32_t driver_timeout_ms;
	uint32_t linger_ms;
	uint32_t term_length; /* bytes, a power of two */
	const char *chunks;   /* request/response chunk pools ("size:count,..."), or NULL:
	                         the transport's FL_CHUNK_DEFAULT_SPEC */
	uint32_t ports;       /* server and client ports each (default FL_SCN_DEFAULT_PORTS) */
};

/* `cluster:`: the nodes a scenario runs (none when nodes is 0). */
struct fl_scenario_cluster {
	uint32_t nodes;               /* 1, 3 or 5; 0: no cluster */
	uint32_t election_timeout_ms; /* a follower waits [t, 2t) for a leader */
	uint32_t heartbeat_ms;
	uint32_t session_timeout_ms; /* a leader times out a client session silent this long */
	uint32_t liveness_ms;        /* cluster_liveness: once every fault healed, a leader and
	                         every node caught up within this long */
};

struct fl_scenario {
	const char *path; /* as given to fl_scenario_load */
	uint64_t hash;    /* FNV-1a 64 of the file's bytes */
	const char *name;
	const char *description;
	enum fl_scn_mode mode;
	struct fl_scenario_driver driver;
	const struct fl_scenario_actor *actors;
	size_t actor_count;
	const struct fl_scenario_object *objects;
	size_t object_count;
	const struct fl_scenario_fault *faults;
	size_t fault_count;
	struct fl_scenario_cluster cluster;
	const struct fl_target *target; /* `target:` (faultline/target.h), or NULL */
	const char *target_path;        /* ... the shared object it came from */
	const char *target_found;       /* ... that file, when found through FL_TARGET_PATH */
	uint32_t properties;            /* FL_SCN_PROP_* bits */
	uint32_t target_properties;     /* bit i: the target's properties[i] is checked */
	bool properties_default;        /* no `properties:` key: the leak and balance
	                            properties that fit the scenario's ops */
	uint64_t budget_runs;           /* 0: not bounded by runs */
	double budget_seconds;          /* 0: not bounded by time */
	enum fl_scn_sched_kind scheduler;
	uint32_t sched_depth; /* PCT depth d >= 1 */
	bool sweep;
	const char *const *warnings; /* "file:line: field: text", e.g. an unregistered
	                                transport/ fault point */
	size_t warning_count;
};

/* Defaults applied when the file leaves a value out. */
#define FL_SCN_DEFAULT_CLIENT_LIVENESS_MS 10000u
#define FL_SCN_DEFAULT_DRIVER_TIMEOUT_MS  10000u
#define FL_SCN_DEFAULT_LINGER_MS          5000u
#define FL_SCN_DEFAULT_TERM_LENGTH        (64u * 1024u)
#define FL_SCN_DEFAULT_PORTS              64u /* a run needs far fewer than the transport's 512 */
#define FL_SCN_DEFAULT_RUNS               100u
#define FL_SCN_DEFAULT_PCT_DEPTH          3u
#define FL_SCN_DEFAULT_ELECTION_MS        300u
#define FL_SCN_DEFAULT_HEARTBEAT_MS       50u

/* fl_scenario_set_target makes every scenario loaded after it use the
 * target's shared object at path (as `faultline run --target PATH`), as
 * if its `target:` named it (relative to the working directory); NULL:
 * each scenario's own `target:` again.  0, or FL_EINVAL (path too long).
 * fl_scenario_target_override: the path in force, else the environment's
 * FL_TARGET (how a run exec'd from the CLI inherits --target), or NULL. */
int fl_scenario_set_target(const char *path);
const char *fl_scenario_target_override(void);


/* fl_scenario_load reads and checks the scenario file at `path`.  On success
 * *out owns the scenario (free with fl_scenario_free) and 0 is returned.  On
 * failure *out is untouched, a message "file:line: field: what is wrong" (or
 * "file: what" when no line applies) is written to err (truncated to errlen,
 * always NUL terminated when errlen > 0) and the result is FL_EINVAL (bad
 * file contents), FL_ENOENT / FL_EIO (cannot read) or FL_ENOMEM. */
int fl_scenario_load(const char *path, struct fl_scenario **out, char *err, size_t errlen);

/* fl_scenario_load_string is fl_scenario_load for YAML text in memory;
 * `path` is only used in messages and fl_scenario.path. */
int fl_scenario_load_string(const char *path, const char *text, size_t len,
                            struct fl_scenario **out, char *err, size_t errlen);

/* fl_scenario_free releases everything a loaded scenario owns.  NULL is a
 * no-op. */
void fl_scenario_free(struct fl_scenario *s);

/* fl_scenario_hash returns the stable 64-bit hash (FNV-1a) of the file's
 * contents, for traces: a trace replays only against the same bytes. */
uint64_t fl_scenario_hash(const struct fl_scenario *s);

/* fl_scenario_op_name returns the YAML key of an operation kind
 * ("add_publication"), or "?" for an unknown kind.  Static string. */
const char *fl_scenario_op_name(enum fl_scn_op_kind kind);

/* fl_scenario_op_domain returns the part of the system an operation
 * kind drives (FL_SCN_DOMAIN_RUN for an unknown kind). */
enum fl_scn_domain fl_scenario_op_domain(enum fl_scn_op_kind kind);

/* fl_scenario_uses_domain: does any actor of `s` run an operation of
 * domain `d`? */
bool fl_scenario_uses_domain(const struct fl_scenario *s, enum fl_scn_domain d);

/* fl_scenario_op_label: what reports call op: its kind's name
 * (fl_scenario_op_name), or a target op's own name. */
const char *fl_scenario_op_label(const struct fl_scenario_op *op);

/* fl_scenario_records_history: true when s has operations that record the
 * history linearizable judges (kv, cluster_put/get/cas/append). */
bool fl_scenario_records_history(const struct fl_scenario *s);

/* fl_scenario_libc_faults: true when s has faults on libc calls
 * (posix/..., libc/...), which libfiu's POSIX preload carries out. */
bool fl_scenario_libc_faults(const struct fl_scenario *s);

/* fl_scenario_mode_unsupported: NULL when s's mode can run every op,
 * fault and client sharing s has, else why not (a static string).  The
 * loader refuses a file whose own mode this is; --mode can still ask,
 * and `run` skips such a scenario, saying why. */
const char *fl_scenario_mode_unsupported(const struct fl_scenario *s);

/* fl_scenario_property_name returns the name of one FL_SCN_PROP_* bit
 * ("image_refs"), or NULL.  Static string. */
const char *fl_scenario_property_name(uint32_t prop);

/* fl_scenario_expand_paths turns files and directories into a list of
 * scenario files: a file is kept as given; a directory contributes its
 * *.yaml and *.yml files (not recursive), sorted by name.  On success
 * *files (a NULL-terminated array) and *count are set; free with
 * fl_scenario_paths_free.  Errors: FL_ENOENT (a path does not exist; err
 * names it), FL_EINVAL (a directory holds no scenario), FL_ENOMEM. */
int fl_scenario_expand_paths(const char *const *paths, size_t npaths, char ***files, size_t *count,
                             char *err, size_t errlen);

/* fl_scenario_paths_free frees a list from fl_scenario_expand_paths. */
void fl_scenario_paths_free(char **files);

/* fl_scenario_load_dir loads every *.yaml / *.yml file in `dir`, sorted by
 * name.  On success *out (an array of *count scenarios) is set; free with
 * fl_scenario_list_free.  On the first bad file it fails like
 * fl_scenario_load and frees what it loaded. */
int fl_scenario_load_dir(const char *dir, struct fl_scenario ***out, size_t *count, char *err,
                         size_t errlen);

/* fl_scenario_list_free frees `count` scenarios and the array. */
void fl_scenario_list_free(struct fl_scenario **list, size_t count);

#ifdef __cplusplus
}
#endif
#endif
