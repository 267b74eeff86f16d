/*
 * State shared by the runner (runner.c), the run's own state (run.c),
 * the operation interpreter (interp*.c) and the auditor (audit*.c)
 * inside one run's child process.
 *
 * Names: public symbols are fl_ (harness/include/faultline); every
 * symbol shared between the harness's files but not public is fli_, in
 * the libraries and the fixtures alike; a file's own are static.
 */
#ifndef FL_HARNESS_RUN_INTERNAL_H
#define FL_HARNESS_RUN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "run/heap.h"
#include "faultline/aio.h"
#include "faultline/history.h"
#include "faultline/report.h"
#include "faultline/reqrep.h"
#include "faultline/scenario.h"
#include "faultline/target.h"

struct fl_choice;
struct fl_faults;
struct fli_tl;
struct fli_tl_event;

#define RUN_MAX_ACTORS     FL_SCN_MAX_ACTORS
#define RUN_MAX_BARRIERS   FL_SCN_MAX_BARRIERS
#define RUN_MAX_CLIENT_IDS 8
/* proc mode: the history's shared region (a history of ~40,000 events) */
#define RUN_HISTORY_SHARED (4u << 20)
#define FL_RUN_MAX_POINTS  64
#define RUN_NO_SESSION                                                                             \
	INT64_MIN /* registered fault points (fault_points.def) */ /* pub/sub clients an actor opened (close_client reopens) */

struct run;
struct cluster_run;

/* proc mode: a cluster operation an actor's process asks the run's
 * process to do (only that process holds the nodes). */
enum { CREQ_IDLE, CREQ_POSTED, CREQ_DONE };
struct cluster_req {
	int state; /* CREQ_* (atomic) */
	int kind;  /* enum fl_scn_op_kind */
	int node;  /* an id, or FL_SCN_NODE_LEADER */
	uint32_t count, size;
	bool wait;
	uint64_t deadline;
	char key[48]; /* put: the keys' prefix */
	int rv;       /* the node (kill, restart, wait_leader), 0, or an error */
	/* The run's process's progress on a put. */
	int phase, leader;
	uint32_t done, lives;
	uint64_t last_index, term; /* the last command's index, and the term it was proposed in */
};
struct fl_sim;

struct actor_run {
	struct run *run;
	int index;
	const struct fl_scenario_actor *a;
	uint64_t owner;    /* client id in the request/response domain */
	fl_rr_domain *dom; /* this actor's mapping, opened on first use */
	bool finished;
	bool crashed;   /* died at a fault point or by crash_self */
	bool reclaimed; /* the driver freed what it owned */
	uint64_t crashed_at_ns;
	int op;                       /* operation being run (for reports) */
	uint32_t op_errors;           /* operations that returned an error */
	uint32_t op_errors_tolerated; /* ... caused by a fault or declared (expect:) */
	uint32_t faults_fired;        /* fault rules that fired while this actor ran */
	uint32_t faults_at_op;        /* faults_fired when the current op began */
	uint32_t
	        errors_fired; /* of faults_fired, all but the delay rules' (fli_op_fault_explains) */
	uint32_t errors_at_op;         /* errors_fired when the current op began */
	uint64_t outside_faults_at_op; /* run->outside_faults then */
	uint64_t outside_errors_at_op; /* run->outside_errors then */
	bool op_sees_nodes;            /* the current op can meet a node's fault (cluster, run) */
	/* proc mode: where its process died of a signal ("at f+0x10 (a.so)
	 * <- ..."), written by its own crash handler for the reaper's
	 * verdict; empty when it could not say. */
	char crash_site[240];
	uint32_t barrier_rounds[RUN_MAX_BARRIERS]; /* arrivals at each barrier */
	uint64_t waits_at;                         /* (1 + index of the barrier it waits at) << 32 |
	                            the round it waits for; 0: none.  One word,
	                            so a peer reads both at once */
	int last_op_line;                          /* line of the op it runs or ran last */
	int last_port_line, last_port_op;          /* the last op that took a port (line, kind) */
	int last_loan_line, last_loan_op;          /* the last op that loaned chunks (line, kind) */
	void *client;                              /* fl_client *, pub/sub, opened on first use */
	void *cluster_pc;              /* fl_client * of its cluster clients (interp_client.c) */
	uint32_t cluster_removes_lost; /* removes that client said a fault lost */
	uint32_t cluster_writes;       /* values its cluster clients wrote (each its own) */
	struct fl_choice *choices;     /* the run's stream (sim), or the actor's own (stress) */
	int image_refs;                /* take_image minus release_image */
	int last_image_session;
	int last_image_line;                     /* line of the take_image or lookup_image that
	                            last took (or had a helper take) a reference */
	bool last_image_lookup;                  /* ... that op was lookup_image (a helper's) */
	uint64_t client_ids[RUN_MAX_CLIENT_IDS]; /* pub/sub clients opened, in order */
	uint32_t nclient_ids;
	struct cluster_req creq;       /* proc mode: a cluster op the run's process does for it */
	uint32_t history_lives;        /* kv ops that ended info: the actor is a new process
	                                  in the history after each (Jepsen's rule) */
	uint64_t proc_seed;            /* proc mode: its process's stream (faults) */
	int fds_at_start, fds_at_end;  /* proc mode: this process's open descriptors when
	                                  it started and when its ops ended (no_new_fds) */
	struct fl_aio_debug aio_delta; /* proc mode: this process's message and aio
	                                  counts, written when it finishes */
	struct fli_heap_held heap;     /* proc mode: what its process's heap kept of
	                                  what it allocated (no_heap_growth) */
	struct fli_tl_event *tl_op;    /* the timeline's record of the op it runs */
};

/* A value no other write of the run has, for a key-value op of ar's
 * (the history's checker tells a stale read from a fresh one only by
 * it): "<name>.<actor index>.<its write count>".  The name, cut at 40
 * characters, is for the reader; the index and count make it unique.
 * "<name>.<line>.<k>" was not: a name of 90 characters cut the rest
 * off the 96-byte value, and every round of a repeat wrote the same
 * values, so a stale read passed as fresh. */
#define RUN_VALUE_MAX 64
#define run_unique_value(ar, buf)                                                                  \
	snprintf((buf), RUN_VALUE_MAX, "%.40s.%d.%u", (ar)->a->name, (ar)->index,                  \
	         ++(ar)->cluster_writes)

struct barrier {
	const char *name;
	int expected; /* actors with a barrier of this name */
	int arrived;
	/* Atomic: 0, or the round at which an actor stopped waiting at it
	 * (its deadline, or the run's deadlock).  Arrivals of that round
	 * and earlier count as ever (a late peer completes it); one of a
	 * later round is an error: the rounds are out of step, and it could
	 * complete a round alone. */
	uint32_t broken;
};

enum run_driver_state {
	RUN_DRIVER_STARTING,
	RUN_DRIVER_READY,
	RUN_DRIVER_FAILED,
	RUN_DRIVER_DONE,
};

struct run {
	const struct fl_scenario *s;
	enum run_driver_state driver_state;
	bool pubsub;         /* the scenario uses pub/sub operations */
	bool reqrep;         /* ... request/response (a domain is created) */
	void *driver;        /* fl_driver *, embedded, agent style */
	uint32_t *sent;      /* messages offered per pub object */
	int64_t *sessions;   /* per pub object: its session id, RUN_NO_SESSION
	                            until added; shared with process actors (a
	                            take_image in another process names it) */
	size_t sessions_len; /* bytes mapped */
	void *target_shared; /* the target's shared_size bytes (fl_target_shared) */
	int target_dir;      /* fl_target_run_dir: 0 not made, 1 being made, 2 made,
	                        -1 cannot be (shared with process actors) */
	uint64_t linger_ns;
	char ns[64];
	char dir[256];  /* /dev/shm/faultline-<ns> */
	bool in_memory; /* fl_run_dirs_in_memory is on for this run */
	bool dir_taken; /* dir existed before the run: never used,
	                            audited nor removed by it */
	struct fl_choice *choices;
	struct fl_faults *faults;
	fl_rr_domain *driver_dom; /* the driver's own mapping (owner 1) */
	struct actor_run actors[RUN_MAX_ACTORS];
	void **objs;                  /* handle per fl_scenario.objects entry */
	struct cluster_run *cluster;  /* the cluster domain's nodes and checks, or NULL */
	uint8_t cluster_group[5];     /* partition: nodes of equal groups reach each other
	                                 (shared with node processes) */
	bool cluster_crashed[5];      /* proc: a node process died at a crash fault */
	bool node_life_crashed;       /* sim: a node's life died at a crash fault (kept
	                                 past the cluster's teardown, for the heap audit) */
	fl_sock **socks;              /* per server/connection object: the socket its
	                            contexts use, opened by the first ctx_open */
	struct fl_aio_debug aio_base; /* process-wide counts when the run began */
	struct barrier barriers[RUN_MAX_BARRIERS];
	int nbarriers;
	uint64_t liveness_ns;
	uint64_t timeout_ns;          /* default deadline of a wait */
	uint64_t actors_span_ns;      /* proc and stress actors end within it (hang) */
	bool faults_configured;       /* the scenario has fault rules */
	bool faults_silenced;         /* no rule fires from now on (a cluster's heal) */
	bool sweep;                   /* a sweep run: its op errors are the point */
	uint32_t driver_faults_fired; /* fault rules fired outside any actor (the driver) */
	/* Fault rules fired outside any actor (outside_faults), and of those
	 * all but the delay rules' (outside_errors), each one word: its low
	 * half counts them all, its high half those that fired in a cluster
	 * node, which excuse errors of cluster and run ops only (a dropped
	 * Raft message does not make a pub/sub image go missing).  One word,
	 * so an op's snapshot never holds a fault in one count and not in
	 * the other (fli_op_fault_explains). */
	uint64_t outside_faults, outside_errors;
	uint64_t rules_fired; /* bit i: the scenario's fault rule i fired */
	uint32_t violations;  /* fli_run_fail calls: the first is the verdict */
	/* The second to fourth violations (a baseline knows a run only when
	 * it knows every one). */
	struct {
		char property[64];
		char detail[400];
	} more[FL_REPORT_MORE];
	uint32_t point_fired[FL_RUN_MAX_POINTS]; /* per fl_fault_points() index */
	/* proc mode: per point, the most hits one actor process counted
	 * (each process numbers its own hits, as its rules do): what a
	 * sweep's counting run reports beside the run process's own. */
	uint64_t point_hits_max[FL_RUN_MAX_POINTS];
	bool threaded;        /* stress: actors are real threads */
	bool check_each_step; /* audit after every operation of every actor */
	bool heap_counted;    /* no_heap_growth: the heap counter records this run */
	int fds_at_start;
	/* The first violation found. */
	bool failed;
	bool deadlocked;    /* every live actor waits at a barrier no one can complete */
	bool narrate;       /* keep the story of the run (faultline shrink) */
	uint32_t story_len; /* bytes of story used (atomic: process actors append) */
	char story[16384];  /* one line an event: op starts, faults, crashes */
	char property[64];
	char detail[512];
	/* The history of the clients' operations (kv ops), Jepsen EDN, one
	 * event a line, under history_lock; judged by `linearizable`. */
	char *history;
	size_t history_len, history_cap;
	bool history_oom;    /* an event could not be kept: the run fails ("harness") */
	pid_t run_pid;       /* the run's process (history: see history_shared) */
	bool history_shared; /* proc mode: history is a fixed MAP_SHARED region that
	                        process actors append to (RUN_HISTORY_SHARED bytes) */
	int history_lock;
	const struct fl_history_model *history_model;
	struct fli_tl *tl; /* the run's timeline (timeline.h), shared with
	                      process actors, or NULL: none kept */
};

/* run.c: the run's own state. */
/* With r->narrate, append one line (no newline in fmt) to the run's
 * story; process actors append to the same shared buffer. */
void fli_run_story(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append one event to the run's history (Jepsen EDN): process, type
 * ("invoke", "ok", "fail", "info"), f, key (a string) and value (a string,
 * or NULL for nil), for a history under `model`. */
void fli_run_history(struct run *r, const struct fl_history_model *model, int64_t process,
                     const char *type, const char *f, const char *key, const char *value);
/* The same with a second value (not NULL: the value is [value value2],
 * a cas's expected and new values). */
void fli_run_history2(struct run *r, const struct fl_history_model *model, int64_t process,
                      const char *type, const char *f, const char *key, const char *value,
                      const char *value2);
/* The linearizable property: judge the run's history (audit.c calls it at
 * the end of the run). */
void fli_run_check_history(struct run *r);
/* Record the first violation; later ones are dropped. */
void fli_run_fail(struct run *r, const char *property, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* An operation failed.  Tolerated (counted in op_errors_tolerated) only
 * when a fault fired inside that operation, in this actor or in the
 * driver while the operation ran, when the operation declares the error
 * (`expect: FL_E...` or `expect: any`), or in a sweep run; any other
 * error is a violation ("operations") naming actor, op, line and error. */
void fli_op_error(struct actor_run *ar, const struct fl_scenario_op *op, const char *what, int rv);
/* A declared op's (a target's, or a built-in one declared as one is)
 * values for this run of it: its INT and BOOL arguments, drawn where the
 * scenario gave a list (the story says which); and a blocking op's
 * deadline from now: deadline_ms drawn (0: already past) or given, else
 * the driver timeout. */
void fli_target_ints(struct actor_run *ar, const struct fl_scenario_op *op,
                     int64_t ints[FL_TARGET_MAX_ARGS]);
uint64_t fli_target_deadline_span(struct actor_run *ar, const struct fl_scenario_op *op);
/* A built-in domain's op (declared as a target's is, fli_builtin_target):
 * fli_builtin_op calls its fn with its values for this run of it and
 * fli_builtin_cur set to the actor and op, which the fn reads before
 * anything else (under sim, another actor's op may run on this thread
 * once the fn yields); false when op is not domain d's. */
struct fli_builtin_call {
	struct actor_run *ar;
	const struct fl_scenario_op *op;
};
extern __thread struct fli_builtin_call fli_builtin_cur;
bool fli_builtin_op(struct actor_run *ar, const struct fl_scenario_op *op, enum fl_scn_domain d);
/* An op whose `expect:` names the one code it must fail with
 * (FL_TARGET_OP_EXPECT_EXACT), ended with rv: true when that is handled
 * here (it failed so: nothing was made; or otherwise: an op error);
 * false when it succeeded (a failure of the run, operations, unless a
 * fault fired in it or the run is a sweep's: what it made is kept, to be
 * closed) or its expect: names no code. */
bool fli_op_must_fail(struct actor_run *ar, const struct fl_scenario_op *op, const char *what,
                      int rv);
/* True when a fault fired in this actor's current operation, or in the
 * driver while it ran. */
bool fli_op_fault_fired(const struct actor_run *ar);
/* A fault fired inside the current op that can have caused error rv: any
 * but a delay, or a delay when rv is one a delay can cause (a deadline,
 * a timeout, a peer or client given up on, a full ring or pool). */
bool fli_op_fault_explains(const struct actor_run *ar, int rv);
/* True when a fault has fired in this actor or the driver so far in the
 * run (or in a sweep run): what an asynchronous client error, which no
 * operation owns, is tolerated for. */
bool fli_run_faults_fired_for(const struct actor_run *ar);
/* Now plus ms (0: the scenario's driver timeout). */
uint64_t fli_deadline_after_ms(struct run *r, uint32_t ms);
/* Wait, with a deadline, until the driver actor started: 0, FL_ETIMEDOUT,
 * or FL_ENOENT when it failed to start. */
int fli_wait_driver(struct run *r);

/* timeline.c: the run's timeline (timeline.h), kept when r->tl is set;
 * each call is a no-op otherwise. */
int fli_tl_open(struct run *r); /* 0 or FL_ENOMEM */
void fli_tl_close(struct run *r);
size_t fli_tl_size(const struct run *r); /* bytes of r->tl in use */
/* Actor ar starts op `index` of its list (in `round` of its repeats),
 * its op failed (fatal: the run fails for it), ended, or the actor died
 * in it. */
void fli_tl_op_begin(struct actor_run *ar, int index, uint32_t round);
void fli_tl_op_error(struct actor_run *ar, const char *what, int rv, bool fatal);
void fli_tl_op_end(struct actor_run *ar);
void fli_tl_crashed(struct actor_run *ar);
/* A fault fired at `point` (an fl_fault_point_names index) in actor
 * `actor` (-1: the driver), at its hit `hit`, doing `action`. */
void fli_tl_fault(struct run *r, int actor, int point, const char *name, uint64_t hit, int action);
/* A crash, a node's life begun or ended: `name`, and `where` (a crash's
 * point, or NULL). */
void fli_tl_named(struct run *r, int kind, int actor, const char *name, const char *where);
/* The sim's on_decision (arg: the run). */
void fli_tl_decision(void *arg, uint64_t step, const char *actor);
/* The run's first violation: now. */
void fli_tl_violation(struct run *r);

/* run.c: the run directory's life (see there). */
/* Pick a free namespace "<prefix>-<pid>-<n>" into ns: 0 or FL_EEXIST. */
int fli_run_dir_pick(const char *prefix, char *ns, size_t len);
/* The run's directory of files for a target (fl_target_run_dir):
 * "$TMPDIR/faultline-<ns>.d" into buf (0 or FL_ELIMIT); removed, with what
 * is in it, by fli_run_dir_remove (a directory of this user's alone). */
int fli_run_tmp_path(const char *ns, char *buf, size_t len);
void fli_run_tmp_remove(const char *ns);
/* FL_EEXIST (and r->dir_taken) when r->dir exists already: never adopted. */
int fli_run_dir_claim(struct run *r);
/* Make r->dir (a run without a pub/sub driver): 0, FL_EEXIST or FL_EIO. */
int fli_run_dir_make(struct run *r);
/* no_leaked_files once every actor closed: only the driver's files left. */
void fli_run_dir_audit(struct run *r);
/* no_leaked_files after the driver closed: the directory is gone. */
void fli_run_dir_check_gone(struct run *r);
/* no_leaked_files after the driver failed to start: the directory is empty. */
void fli_run_dir_check_empty(struct run *r);
/* Remove what a run left (fl_run_dir_remove's rules). */
void fli_run_dir_remove(const char *ns);

/* In stress mode, the actor this OS thread runs (NULL: none). */
void fli_run_set_thread_actor(struct actor_run *ar);
struct actor_run *fli_run_thread_actor(void);

/* interp.c: the actors' loop, the run's own steps, the embedded driver. */
int fli_interp_setup(struct run *r);
void fli_interp_actor_main(void *arg);
void fli_interp_driver_main(void *arg);
void fli_interp_teardown(struct run *r);
/* Frees r->sessions (a shared mapping in proc mode, heap otherwise). */
void fli_run_sessions_free(struct run *r);

/*
 * A domain: the part of the system a scenario drives through its
 * operations (scenario_ops.def names each operation's).  The interpreter
 * and the auditor reach a domain only through this table (domain.c);
 * adding one touches the table and the domain's own files:
 * interp_<domain>.c runs its operations, audit_<domain>.c checks its
 * properties.  Any hook but op may be NULL.
 */
struct fli_run_domain {
	const char *name;
	/* Run operation `op` of this domain: false when this build cannot. */
	bool (*op)(struct actor_run *ar, const struct fl_scenario_op *op);
	/* close_client's part: close what the actor opened in this domain.
	 * Domains close newest first (the table's last first). */
	void (*close)(struct actor_run *ar);
	/* Once every actor is done: true when the driver holds nothing of
	 * the domain any more (the drain before the audit ends). */
	bool (*quiet)(struct run *r);
	/* While true, the driver serves on even when every actor is done
	 * (the domain's own actors still run). */
	bool (*busy)(struct run *r);
	/* End of run: check the domain's properties (first violation wins;
	 * domains audit in the table's order). */
	void (*audit)(struct run *r);
	/* --check-each-step: what must hold after `step` of actor ar
	 * (`closed`: after its close). */
	void (*fli_audit_step)(struct actor_run *ar, const char *step, bool closed);
};

/* interp_cluster.c: the cluster domain (its nodes are actors of their
 * own, "node<i>", and a supervisor, "cluster"). */
bool fli_interp_cluster_op(struct actor_run *ar, const struct fl_scenario_op *op);
/* interp_client.c: the cluster's clients (cluster_connect and the rest,
 * fli_cluster_client_target's ops): the actor's close (its clients,
 * then no_orphaned_registrations), and the run's end. */
void fli_interp_client_close(struct actor_run *ar);
void fli_interp_client_teardown(struct run *r);
/* Before the run: the nodes' state (nothing when the scenario has no
 * cluster); FL_ENOMEM. */
int fli_cluster_setup(struct run *r);
/* Under sim: spawn the nodes' first lives and the supervisor. */
int fli_cluster_spawn(struct run *r, struct fl_sim *sim);
/* The domain still runs (the supervisor has not closed the nodes): the
 * driver keeps serving. */
bool fli_cluster_busy(struct run *r);
/* A crash fault stopped the running actor: true when it was a node's
 * life (then the node is down). */
bool fli_cluster_node_crash(struct run *r, const char *name);
/* A node life died at a crash fault in this run. */
bool fli_cluster_crashed(const struct run *r);
/* proc mode: the run's process's cluster thread (it forks the node
 * processes, serves the actors' requests, checks, supervises the end),
 * started once the actors are forked, and joined. */
int fli_cluster_start_proc(struct run *r);
void fli_cluster_join_proc(struct run *r);
/* runner_child.c: this process is node `id`'s (proc mode): fault rules
 * name it, a crash fault kills it as a planned crash. */
void fli_runner_child_node(int id, const char *name);
void fli_cluster_teardown(struct run *r);
/* Remove the nodes' files under run directory dir (only theirs): 0, or
 * FL_EEXIST when something else kept <dir>/cluster. */
int fli_cluster_remove_files(const char *dir);

/* interp_target.c: the domain of a target's ops (faultline/target.h). */
extern const struct fli_run_domain fli_target_domain;

/* The domain `d`, or NULL for FL_SCN_DOMAIN_RUN (the run's own steps). */
const struct fli_run_domain *fli_run_domain(enum fl_scn_domain d);
/* True when every domain says it is quiet. */
bool fli_run_domains_quiet(struct run *r);
/* True when a domain still runs actors of its own that need the driver. */
bool fli_run_domains_busy(struct run *r);

/* interp_pubsub.c and fli_audit_pubsub.c: the pub/sub domain. */
bool fli_interp_pubsub_op(struct actor_run *ar, const struct fl_scenario_op *op);
void fli_interp_pubsub_close(struct actor_run *ar);
bool fli_interp_pubsub_quiet(struct run *r);
void fli_audit_pubsub(struct run *r);
void fli_audit_pubsub_step(struct actor_run *ar, const char *step, bool closed);
void fli_audit_pubsub_close(struct actor_run *ar);
bool fli_scenario_uses_pubsub(const struct fl_scenario *s);
/* A pub/sub client of actor ar's on the run's driver (once it is up),
 * its asynchronous errors to on_error(ar, ...), into *out: 0, or
 * fli_wait_driver's or fl_client_open's error. */
int fli_actor_client_open(struct actor_run *ar,
                          void (*on_error)(void *ar, int err, const char *what), void **out);

/* runner_child.c: a process forked off the run (an actor, a node) stops
 * writing crash frames to the run's pipe. */
void fli_runner_child_forget_crash_pipe(void);

/* interp_reqrep.c and fli_audit_reqrep.c: the request/response domain. */
/* The request/response domain's ops, declared as a target's are
 * (interp_reqrep.c; fli_builtin_target). */
extern const struct fl_target fli_reqrep_target;
/* Argument declarations the built-in domains' tables share: a count
 * (required, 1..MAX_COUNT of scenario/loader.h), and an object of kind k
 * (required, of an actor with this actor's client). */
#define FLI_ARG_COUNT(n)                                                                           \
	{                                                                                          \
		.name = (n), .type = FL_TARGET_INT, .required = true, .min = 1, .max = MAX_COUNT,  \
		.dflt = 1                                                                          \
	}
/* keys k0 .. k<keys-1> a cluster op draws from (default 2) */
#define FLI_ARG_KEYS(n)                                                                            \
	{                                                                                          \
		.name = (n), .type = FL_TARGET_INT, .min = 1, .max = 64, .dflt = 2                 \
	}
#define FLI_ARG_OBJECT(n, k)                                                                       \
	{                                                                                          \
		.name = (n), .type = FL_TARGET_OBJECT, .required = true, .kind = (k)               \
	}
/* The pub/sub domain's (interp_pubsub.c). */
extern const struct fl_target fli_pubsub_target;
/* The cluster's and its client's (interp_cluster.c, interp_client.c),
 * whose objects the domain closes itself: their kinds' close is
 * fli_close_nothing. */
void fli_close_nothing(void *state, void *obj);
/* The cluster's and its client's (interp_cluster.c, interp_client.c). */
extern const struct fl_target fli_cluster_target;
extern const struct fl_target fli_cluster_client_target;
bool fli_interp_reqrep_op(struct actor_run *ar, const struct fl_scenario_op *op);
void fli_interp_reqrep_close(struct actor_run *ar);
void fli_audit_reqrep(struct run *r);
void fli_audit_reqrep_step(struct actor_run *ar, const char *step, bool closed);
/* The run's message and aio counts so far: this process's since the run
 * began, plus what finished process actors reported (proc mode). */
void fli_audit_aio_counts(struct run *r, struct fl_aio_debug *out);
/* This process's counts since the run began (what a process actor hands
 * over in its aio_delta when it finishes). */
void fli_audit_aio_since(const struct run *r, struct fl_aio_debug *out);

/* audit.c: the properties of the run itself (no_corruption,
 * no_leaked_files, no_new_fds), and every domain's through the table. */
/* Check the scenario's properties once every actor is done. */
void fli_audit_end_of_run(struct run *r);
/* fli_audit_step checks what must hold after operation `op` (index into the
 * actor's ops; -1: after its close) of actor `ar`, in `round` of its
 * repeats, and names that step in a violation (--check-each-step).  Runs
 * on the actor's own thread or process. */
void fli_audit_step(struct actor_run *ar, int op, uint32_t round);
int fli_audit_count_fds(void);

#endif
