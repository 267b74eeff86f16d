/*
 * The scenario runner: one run of one scenario, in a forked child with a
 * wall-clock deadline, returning a verdict, the broken property and the
 * recorded choices.  See interp.c for the operations and audit.c for the
 * properties checked at the end of a run.
 */
#ifndef FL_HARNESS_RUNNER_H
#define FL_HARNESS_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "faultline/sandbox.h"
#include "faultline/report.h"
#include "faultline/scenario.h"

#define FLI_RUN_DEFAULT_TIMEOUT_MS 60000u /* a run's wall-clock deadline (--timeout) */
/* How the detail of a crash in the persistent worker goes on when the
 * run, again alone in a fresh child, did not crash (a baseline's
 * signature stops there). */
#define FLI_ALONE_SAID "; alone, in a fresh process, "


struct fli_runner_opts {
	uint64_t seed;          /* generating stream seed (when not replaying) */
	const uint64_t *replay; /* recorded choices to replay, or NULL */
	size_t nreplay;
	bool replaying;
	uint64_t timeout_ms;  /* wall clock for the run; 0: FLI_RUN_DEFAULT_TIMEOUT_MS */
	bool check_each_step; /* audit after every operation too */
	uint64_t pct_steps;   /* PCT: the run's expected length in steps, over
	                           * which the d-1 change points are spread (e.g.
	                           * a clean run's step count); 0: a scale drawn
	                           * per run (fl_sim_config.pct_steps) */
	/* Sweep: fail the k-th hit (1-based) of point sweep_point, once or
	 * from k on.  sweep_point NULL: no sweep rule. */
	const char *sweep_point;
	uint64_t sweep_k;
	bool sweep_persistent;
	const char *ns_prefix; /* shm namespace prefix; NULL: "run" */
	/* --valgrind: the run's process is exec'd under memcheck (valgrind at
	 * `valgrind`, faultline itself at `self_exe`, the scenario re-read from
	 * its path), so its process actors (forked) are checked too; an error
	 * or a definite leak in any of them fails the run ("memcheck"), its
	 * log in valgrind_log_dir (NULL: "."). */
	const char *valgrind; /* path of valgrind, or NULL: not under valgrind */
	const char *self_exe;
	const char *valgrind_log_dir;
	bool fork_each;  /* a fresh forked child even for a plain sim run
	                           * (which otherwise goes to the persistent worker) */
	bool narrate;    /* tell the run's story (outcome.story): each op an
	                           * actor starts, each fault that fires, each crash */
	bool timeline;   /* keep the run's timeline (outcome.timeline) */
	bool count_hits; /* count every fault point's hits (outcome.hits)
	                           * even when no rule is set: libfiu is armed for
	                           * every point, which costs every hit a lookup */
	/* A sanitizer build (ASan, UBSan, LSan, TSan): a report in the run
	 * fails it ("sanitizer"); the reports are written to
	 * sanitizer_report (NULL: not kept), which the detail names. */
	const char *sanitizer_report;
	const char *san_dir; /* internal: the run's report directory, for
	                           * the exec'd run (`faultline __run`) */
};

struct fli_runner_outcome {
	enum fl_verdict verdict;
	int signal;
	char property[64];
	char detail[1024];
	uint64_t trace_hash;
	uint64_t steps;    /* sim: scheduling steps the run took */
	uint64_t *choices; /* malloc'd */
	size_t nchoices;
	uint64_t *hits; /* per fl_fault_point_names entry, malloc'd, or
	                           * NULL; counted with count_hits or fault rules */
	size_t nhits;
	uint64_t *fired; /* per fl_fault_point_names entry: faults that
	                           * fired in the run (every process), malloc'd, or
	                           * NULL when the run had no fault rule */
	size_t nfired;
	uint64_t op_errors_tolerated; /* op errors a fault in the op, expect: or a
	                                 sweep accounted for */
	uint64_t op_errors_fatal;     /* op errors that failed the run */
	uint64_t violations;          /* violations the run found (its verdict is the
	                                 first's) */
	struct {
		char property[64];
		char detail[400];
	} more[FL_REPORT_MORE]; /* the second to fourth */
	size_t nmore;
	uint64_t rules_fired; /* bit i: the scenario's faults[i] fired (the
	                                 sweep's own rule comes after them) */
	char *story;          /* with opts.narrate: one line an event, malloc'd */
	void *timeline;       /* with opts.timeline: struct fli_tl, malloc'd */
	size_t timeline_len;
	char *history; /* a failed run's history of client operations
	                                 (kv ops: Jepsen EDN, one event a line), malloc'd,
	                                 or NULL when it recorded none */
	double seconds;
	bool stopped; /* cut short or never started: the stop flag
	                           * (fli_runner_set_stop) was set; the verdict
	                           * means nothing and the run must not be reported */
};

/* fli_runner_run runs `s` once.  Never fails on the scenario's account: a
 * crash, hang or failure of the code under test is a verdict.  Returns 0,
 * or FL_ENOMEM / FL_EIO when the harness itself could not run it. */
/* fli_runner_actors_span_ms: proc and stress actors end within 4 x the
 * driver timeout + the liveness (property hang), stretched as far as
 * timeout_ms (--timeout) is past its default: a slow machine or a
 * sanitizer's build asks for more time.  The run's wall deadline is never
 * before it. */
uint64_t fli_runner_actors_span_ms(const struct fl_scenario *s, uint64_t timeout_ms);

int fli_runner_run(const struct fl_scenario *s, const struct fli_runner_opts *o,
                   struct fli_runner_outcome *out);

void fli_runner_outcome_fini(struct fli_runner_outcome *out);

/* fli_runner_read_full reads exactly len bytes from fd (retrying on EINTR):
 * 0, or -1 on an error or an early end of file. */
int fli_runner_read_full(int fd, void *buf, size_t len);

/* fli_runner_set_self names the faultline program (its `__run` command), for
 * runs that are re-executed rather than forked: --valgrind, and scenarios
 * with posix/ faults (which need libfiu's POSIX preload loaded at exec). */
void fli_runner_set_self(const char *exe);

/* The environment variable that hands an exec'd run (`faultline __run`)
 * its sanitizer report directory (fli_runner_opts.san_dir). */
#define FL_RUNNER_SAN_DIR_ENV "FL_RUN_SANITIZER_DIR"

/* ... and tells it to keep its timeline (fli_runner_opts.timeline). */
#define FL_RUNNER_TIMELINE_ENV "FL_RUN_TIMELINE"

/* Exit status memcheck gives a process with errors or definite leaks. */
#define FL_RUNNER_MEMCHECK_EXIT 97

/* fli_runner_child_main is one run in this process, writing its frames to
 * `fd`: what the forked child does, for `faultline __run` (the process
 * exec'd under valgrind).  Returns 0 when the run passed. */
int fli_runner_child_main(const struct fl_scenario *s, const struct fli_runner_opts *o,
                          const char *ns, int fd);

/* fli_runner_next says which run the caller makes after the coming
 * fli_runner_run (s NULL: none, or not known): a plain seeded sim or
 * proc run goes to the persistent worker with the coming one, and the worker
 * starts it as soon as that one ends.  A run sent ahead and not then
 * asked for is killed, its directories (and a sanitizer's reports)
 * removed. */
void fli_runner_next(const struct fl_scenario *s, const struct fli_runner_opts *o);

/* fli_runner_shutdown ends this process's persistent worker (if any)
 * and reaps it.  Call before exiting; a worker left running dies with
 * its parent (PR_SET_PDEATHSIG). */
void fli_runner_shutdown(void);

/* fli_runner_worker_died: whether a persistent worker was found dead
 * between runs (after one run's end, before the next's begin) by a signal
 * or an exit status other than 0, since the last call: something a run
 * left in it (a thread, a timer, a handler), or the world (the OOM
 * killer), killed it; never a pass.  Noted when the harness next talks
 * to the worker or at fli_runner_shutdown, so the failure goes on the
 * last run the caller made before then.  buf gets what to say of it,
 * naming the runs that worker had ended.  Clears the note. */
bool fli_runner_worker_died(char *buf, size_t size);

/* fli_runner_batch(true) says the runs from here on are a batch's, each
 * a report's entry, until fli_runner_batch(false): only a worker whose
 * every run was a batch's has its death between runs noted. */
void fli_runner_batch(bool on);

/* fli_runner_worker_pid: this process's persistent worker, or 0 (for
 * a benchmark of its memory). */
pid_t fli_runner_worker_pid(void);

/* fli_runner_set_stop names a flag a signal handler sets (SIGINT, SIGTERM):
 * once it reads non-zero, fli_runner_run starts no run (outcome.stopped),
 * and a run under way has its process group killed within 100 ms, its run
 * directory removed, and comes back with outcome.stopped.  NULL: none.
 * The flag is borrowed for the life of the process. */
void fli_runner_set_stop(const volatile sig_atomic_t *flag);

/* fli_runner_remove_run_dirs removes every run directory named after
 * process `pid` (/dev/shm/faultline-<ns_prefix>-<pid>-<n>; ns_prefix NULL:
 * "run"): what a process that ran runs and was killed (a --jobs worker)
 * could not remove itself.  Call only once `pid` and its runs are dead. */
void fli_runner_remove_run_dirs(pid_t pid, const char *ns_prefix);

/* fli_runner_remove_dead_run_dirs removes the run directories named after a
 * process that no longer runs (kill(pid, 0) fails with ESRCH, or a
 * zombie): what a SIGKILLed CLI, worker or run left.  Only this user's directories, never
 * through a link, only the transport's own file names (fl_run_dir_remove).
 * A pid reused by a live process keeps its directory until it is gone.
 * Returns how many it removed. */
unsigned fli_runner_remove_dead_run_dirs(const char *ns_prefix);

/* fli_runner_unsupported returns NULL when this build can run every
 * operation of `s`, or a static reason naming the first one it cannot. */
const char *fli_runner_unsupported(const struct fl_scenario *s);

#endif
