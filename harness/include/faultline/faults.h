/*
 * The fault engine: decides, from the choice stream, whether an armed fault
 * point fires, and counts the hits of every point (for sweeps).
 *
 * It enables every name in fl_fault_point_names with libfiu's
 * fiu_enable_external, so libfiu's own random mode is never used and the
 * callback sees the real point name (libfiu hands a wildcard callback the
 * wildcard, not the point that was hit).  One engine is active per process
 * at a time: libfiu's callback carries no user pointer.
 */
#ifndef FAULTLINE_FAULTS_H
#define FAULTLINE_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fl_choice;

enum fl_fault_action {
	FL_FAULT_ERROR, /* the point fails: the transport takes its error path */
	FL_FAULT_DELAY, /* the caller idles delay_ns (virtual under sim), then goes on */
	FL_FAULT_DROP,  /* the point fails; used by "drop" points (responses) */
	FL_FAULT_CRASH, /* the acting actor dies at the point */
};

enum fl_fault_when {
	FL_WHEN_NTH,    /* only the n-th hit (1-based) */
	FL_WHEN_AFTER,  /* every hit from the n-th on */
	FL_WHEN_PROB,   /* each hit with probability p, drawn from the choice stream */
	FL_WHEN_ALWAYS, /* every hit */
};

struct fl_fault_rule {
	const char *point; /* exact point name, or a prefix ending in '*' */
	enum fl_fault_action action;
	enum fl_fault_when when;
	uint64_t n;        /* for NTH / AFTER */
	double p;          /* for PROB, 0..1 */
	uint64_t delay_ns; /* for DELAY */
	const char *actor; /* only when this actor is running; NULL: any */
	int err;           /* posix/ and libc/ points: the errno the failed call
	                        sets (libfiu's failinfo); 0: EIO */
};

/* A point of libfiu's POSIX preload (posix/..., libc/...), not one of the
 * transport's.  Such points exist only in a process that has
 * fiu_posix_preload.so loaded, and fire only inside process actors (the
 * hooks' in_process_actor); their actions run inside libfiu's callback:
 * error sets the rule's errno, crash kills the actor there, delay sleeps
 * there (real time: proc mode only). */
bool fl_fault_point_external(const char *name);

/* Hooks the runner supplies: who is running, and how to kill it. */
struct fl_fault_hooks {
	void *arg;
	const char *(*actor_name)(void *arg);
	/* Crash the running actor at `point`; does not return. */
	void (*crash)(void *arg, const char *point);
	/* True in a process actor: where external (posix/) points may fire. */
	bool (*in_process_actor)(void *arg);
	/* Rule `rule` (index in the order added) fired at `point` (any
	 * action), before the action happens: the runner attributes it to the
	 * running actor's operation. */
	void (*fired)(void *arg, const char *point, size_t rule);
	/* True once the run has stopped every fault (a cluster's supervisor
	 * healed it, and Raft promises progress only once faults stop): hits
	 * are still counted, but no rule fires and none draws a choice.  May
	 * be NULL. */
	bool (*silenced)(void *arg);
};

struct fl_faults;

/* fl_faults_new creates an engine drawing from `choices` (borrowed; may be
 * NULL when no rule uses a probability).  Returns 0 or FL_ENOMEM. */
int fl_faults_new(struct fl_choice *choices, const struct fl_fault_hooks *hooks,
                  struct fl_faults **out);

/* fl_faults_add copies a rule (strings are borrowed and must outlive the
 * engine).  Returns 0, FL_EINVAL (unknown point, bad probability) or
 * FL_ENOMEM. */
int fl_faults_add(struct fl_faults *f, const struct fl_fault_rule *rule);

/* fl_faults_arm enables every registered point with the engine's callback
 * and arms fault points; counting starts from zero.  Returns 0 or FL_EIO. */
int fl_faults_arm(struct fl_faults *f);

/* fl_faults_disarm disables every point and disarms. Safe if not armed. */
void fl_faults_disarm(struct fl_faults *f);

/* fl_faults_quiesce waits for a decision under way in another thread and
 * lets none start after it: from its return no rule counts a hit or
 * draws from the choice stream (a run that ends while threads still run
 * reads the stream). */
void fl_faults_quiesce(struct fl_faults *f);

/* fl_faults_free disarms and frees; NULL accepted. */
void fl_faults_free(struct fl_faults *f);

/* Hits of `point` since arming, and how many of them fired. */
uint64_t fl_faults_hits(const struct fl_faults *f, const char *point);
uint64_t fl_faults_fired(const struct fl_faults *f, const char *point);

/* Total faults fired since arming. */
uint64_t fl_faults_total_fired(const struct fl_faults *f);

/* The point and hit number of the first fault that fired (NULL if none). */
const char *fl_faults_first_fired(const struct fl_faults *f, uint64_t *hit);

/* Every point a rule can name and a sweep enumerates: the transport's
 * (fl_fault_point_names, raised through libfiu), then the harness's own
 * (raised with fl_faults_raise):
 *
 *   target/alloc  an allocation call of a target's library fails
 *
 * fl_fault_points() is that list, NULL-terminated, and
 * fl_fault_points_what() says what each does, at the same index. */
const char *const *fl_fault_points(void);
const char *const *fl_fault_points_what(void);

/* The harness's allocation point (alloc_hook.h numbers the calls). */
#define FL_POINT_TARGET_ALLOC "target/alloc"

/* fl_fault_point_index returns the index of `name` in fl_fault_points()
 * or -1. */
int fl_fault_point_index(const char *name);

/* fl_fault_point_count returns the number of points in fl_fault_points(). */
size_t fl_fault_point_count(void);

/* A point the harness raises itself, not through libfiu: counted as a hit
 * and judged by the active engine's rules as a transport point is.
 * Returns true when the hit fails with an error (FL_FAULT_ERROR or
 * FL_FAULT_DROP); false when no engine is armed.  The scenario loader
 * gives such points action error only (target/alloc is raised with the
 * allocator's lock held: no delay, no crash there). */
bool fl_faults_raise(const char *name);

#endif
