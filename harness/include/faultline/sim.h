/*
 * sim: run actors as coroutines on one OS thread under a deterministic
 * scheduler with virtual time.
 *
 * Only one actor runs at a time.  It gives control back at a scheduling
 * point (FL_SCHED_POINT), when it idles (fl_idle), when a lock it wants is
 * held (fl_mutex_lock) or when it finishes.  At each scheduling point the
 * scheduler picks the next runnable actor from the choice stream: uniformly
 * at random, or by PCT (Burckhardt et al., ASPLOS 2010: random priorities
 * and d-1 priority change points).
 *
 * Idling: an actor that idles having done no work sleeps until another
 * actor reports work (fl_idle with work_count > 0, an actor finishing or
 * starting) or until virtual time reaches the deadline it gave.  When every
 * live actor sleeps, virtual time jumps to the earliest deadline; with no
 * deadline ahead the verdict is deadlock.  So a 10 s timeout costs
 * microseconds and a seed reproduces a run bit for bit.
 *
 * While fl_sim_run runs, the sim owns the platform seam (fl_platform_set_ops)
 * and scheduling points are armed; both are restored when it returns.
 * fl_thread_start called by an actor starts another actor.
 *
 * Not thread-safe: one sim per process at a time, driven from one thread.
 */
#ifndef FAULTLINE_SIM_H
#define FAULTLINE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fl_choice;
struct fl_sim;

enum fl_sched_kind {
	FL_SCHED_RANDOM, /* uniform over runnable actors at each point */
	FL_SCHED_PCT,    /* highest priority runnable actor; d-1 change points */
};

struct fl_sim_config {
	struct fl_choice *choices; /* borrowed; every decision is drawn from it */
	enum fl_sched_kind kind;
	unsigned pct_depth;     /* d >= 1 (default 3) */
	uint64_t pct_steps;     /* steps over which change points are drawn: an
	                            * estimate of the run's length; 0: a scale drawn
	                            * per run from 32, 64, .., 4096 */
	uint64_t max_steps;     /* step limit (default 1,000,000) */
	size_t stack_size;      /* per actor (default 256 KiB) */
	uint64_t start_time_ns; /* virtual clock start (default 1 s) */
	/* Optional: told of each scheduling decision that departs from the
	 * default (random: a pick other than the first candidate; PCT: a
	 * change point demoting the actor that just ran), with the step it
	 * was taken at and the actor it concerns (a timeline's markers). */
	void (*on_decision)(void *arg, uint64_t step, const char *actor);
	void *decision_arg;
};

enum fl_sim_verdict {
	FL_SIM_OK,         /* every actor finished (or crashed on purpose) */
	FL_SIM_DEADLOCK,   /* no actor runnable and no deadline ahead */
	FL_SIM_STEP_LIMIT, /* max_steps reached */
};

enum fl_actor_state {
	FL_ACTOR_RUNNABLE,
	FL_ACTOR_IDLE,    /* sleeping until work elsewhere or its deadline */
	FL_ACTOR_BLOCKED, /* wants a lock another actor holds */
	FL_ACTOR_DONE,
	FL_ACTOR_CRASHED, /* stopped by fl_sim_crash_current */
};

#define FL_SIM_MAX_ACTORS 64

struct fl_sim_actor_report {
	char name[32];
	enum fl_actor_state state;
	const char *last_point; /* static string, or "" */
	uint64_t deadline_ns;   /* for IDLE */
};

struct fl_sim_result {
	enum fl_sim_verdict verdict;
	uint64_t steps;
	uint64_t switches;
	uint64_t virtual_ns; /* virtual time elapsed */
	uint64_t trace_hash; /* decisions and the (actor, point) sequence */
	size_t nactors;
	struct fl_sim_actor_report actors[FL_SIM_MAX_ACTORS];
};

/* fl_sim_new creates a sim.  Returns 0, FL_EINVAL or FL_ENOMEM. */
int fl_sim_new(const struct fl_sim_config *cfg, struct fl_sim **out);

/* fl_sim_spawn adds an actor that will run fn(arg).  `name` is copied.
 * Callable before fl_sim_run and from a running actor.  *id (optional)
 * receives the actor's id.  Returns 0, FL_ELIMIT or FL_ENOMEM. */
int fl_sim_spawn(struct fl_sim *sim, const char *name, void (*fn)(void *), void *arg, uint64_t *id);

/* fl_sim_run runs until every actor finished, deadlock or the step limit,
 * and fills *res.  Returns 0 or FL_ESTATE (already ran). */
int fl_sim_run(struct fl_sim *sim, struct fl_sim_result *res);

/* fl_sim_free frees the sim and every actor stack; NULL accepted.  Actors
 * that never finished are abandoned (their stacks freed, nothing run). */
void fl_sim_free(struct fl_sim *sim);

/* fl_sim_trace_hash returns the run's trace hash so far: FNV-1a over the
 * sequence of (actor id, scheduling point name) steps, then the hash of
 * every choice drawn (fl_choice_hash).  After fl_sim_run it equals
 * res->trace_hash.  Same seed, same program: same hash. */
uint64_t fl_sim_trace_hash(const struct fl_sim *sim);

/* fl_sim_current_name returns the running actor's name, or NULL outside an
 * actor (or when no sim runs). */
const char *fl_sim_current_name(void);

/* fl_sim_describe_current writes the running actor's name, who started
 * it and the scheduling point it passed last ("fl-req-worker (started by
 * client) after aio.state.idle") to buf; false outside an actor.  Takes no
 * lock and allocates nothing: for a crash handler. */
bool fl_sim_describe_current(char *buf, size_t len);

/* fl_sim_actor_name returns the name of the running sim's actor `id` (an
 * fl_actor_id() value), or NULL. */
const char *fl_sim_actor_name(uint64_t id);

/* fl_sim_crash_current stops the running actor for good, as if its
 * process died: it is never resumed and what it holds is not released.
 * Does not return when called from an actor; no-op otherwise. */
void fl_sim_crash_current(void);

/* fl_sim_now returns the virtual clock of the running sim (0 if none). */
uint64_t fl_sim_now(void);
/* fl_sim_steps returns the running sim's scheduling steps so far (0 if
 * none). */
uint64_t fl_sim_steps(void);

/* fl_sim_state_name names an actor state ("idle"). */
const char *fl_sim_state_name(enum fl_actor_state s);

/* ---- stress: the free-running baseline ------------------------------ */

struct fl_stress_actor {
	const char *name; /* for reports; not copied */
	void (*fn)(void *);
	void *arg;
};

struct fl_stress_result {
	uint64_t wall_ns; /* from the release of the actors to the last join */
};

/* fl_stress_run runs every actor's fn(arg) on its own pthread, free-running
 * with whatever platform operations are installed (normally the defaults:
 * real time, points disarmed, real locks), releases them together once all
 * exist, and returns when every one has returned.  No scheduler, no choice
 * stream: the baseline that sim schedulers are measured against.  *res is
 * optional.  Returns 0, FL_EINVAL (n is 0 or above FL_SIM_MAX_ACTORS) or
 * FL_EIO (a thread could not start; then no actor ran).  Call it from
 * outside any sim. */
int fl_stress_run(const struct fl_stress_actor *actors, size_t n, struct fl_stress_result *res);

#ifdef __cplusplus
}
#endif
#endif
