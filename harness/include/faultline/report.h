/*
 * Reports: run results collected as runs finish, written for people (a
 * progress line, one entry per failure, a summary) and for CI (JSON, JUnit
 * XML, TAP 13).
 *
 * The JSON shape (ci/count.py reads runs[].verdict == "pass"):
 *   {"runs": [{"scenario": s, "seed": n, "mode": "sim|proc|stress"|null,
 *              "run_index": n, "sweep_point": s|null, "sweep_k": n|null,
 *              "sweep_persistent": bool|null,
 *              "verdict": "pass|fail|crash|hang|deadlock|not_run",
 *              "property": s|null, "trace": path|null, "trace_hash": "16 hex digits",
 *              "seconds": x, "detail": s, "faults_fired": {point: n, ...},
 *              "op_errors_tolerated": n, "op_errors_fatal": n,
 *              "known": bool}, ...],
 *    "rules_never_fired": [{"scenario": s, "rule": i, "line": n, "point": s,
 *                           "runs": n}, ...],
 *    "skipped": [{"scenario": s, "why": s}, ...],
 *    "batch": {"seed": n, "plan": "16 hex digits", "shard": i, "shards": n,
 *              "scenarios": [{"scenario": s, "runs": n,
 *                             "cut_short": null|{"made": n, "share": n}}, ...]}
 *             (only with opt.shards; "scenarios" only with opt.scenarios),
 *    "interrupted": false|true,
 *    "summary": {"runs": n, "passed": n, "failed": n, "crashed": n, "hung": n,
 *                "deadlocked": n, "not_run": n, "known": n},
 *    "fixed": [{"scenario": s, "verdict": s, "property": s, "signature": s}]
 *             (only with a baseline)}
 * "known": a failure the baseline knows (fl_baseline_*, below).
 * A run the harness could not execute (it could not fork it) is reported
 * as "not_run", its detail saying why: never a pass, and it makes the exit
 * status 2.  summary.runs counts every result, not_run ones included.
 * sweep_point, sweep_k and sweep_persistent are null for a run that is not
 * part of a sweep; the sweep's counting run (listed only when it could not
 * run) has sweep_k 0 and the others null.
 * JUnit: one <testsuite> per scenario (in order of first result), one
 * <testcase> per run, named for what ran: "SCENARIO seed=S", plus
 * " sweep=POINT#K once" or " sweep=POINT#K persistent" for a faulted sweep
 * run (" sweep=count" for the counting run); the same name is each TAP
 * line's description.  A run that did not pass carries a <failure> naming the
 * verdict, the property, the seed, the trace and the replay command; a run
 * not run carries an <error> saying why.
 *
 * Not thread-safe: one thread (the runner's parent) adds results.
 */
#ifndef FAULTLINE_REPORT_H
#define FAULTLINE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "faultline/sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* enum fl_verdict (pass, fail, crash, hang, deadlock), fl_verdict_name and
 * fl_verdict_parse come from the sandbox, which ends every run. */
#define FL_VERDICT_COUNT 5

/* The result of one run.  Fixed-size fields so a forked run can send it to
 * the parent as plain bytes; empty strings mean "none". */
#define FL_REPORT_MAX_POINTS 64
/* Violations a run reports beyond its first (a baseline judges them). */
#define FL_REPORT_MORE 3

struct fl_run_result {
	char scenario[128]; /* the scenario's name */
	uint64_t seed;
	enum fl_verdict verdict;
	char property[64]; /* the violated property, or "" */
	char detail
	        [1024]; /* e.g. "image_refs: actor sub holds 1 reference to session 7 after close" */
	char trace_path[256]; /* the trace file written for this run, or "" */
	uint64_t trace_hash;  /* hash of the run's trace (choices and events) */
	double seconds;       /* the run's wall time */
	char replay_cmd[512]; /* the exact command that replays the run, or "" */
	char html_path[256];  /* its timeline page (run --html-dir), or "" */
	bool not_run;         /* the harness could not execute the run (detail says
	                          why); verdict is then ignored */
	/* Faults that fired, per fault point (index into the options'
	 * point_names); all 0 without fault rules. */
	uint32_t faults_fired[FL_REPORT_MAX_POINTS];
	uint32_t op_errors_tolerated; /* caused by a fault in the op, expect:, a sweep */
	uint32_t op_errors_fatal;     /* op errors that failed the run */
	uint32_t violations;          /* violations the run found; its property and detail
	                                 are the first's.  A baseline knows a run only
	                                 when it knows every one */
	struct {
		char property[64];
		char detail[400];
	} more[FL_REPORT_MORE]; /* the second to fourth violations */
	uint8_t nmore;
	uint64_t rules_fired;  /* bit i: the scenario's fault rule i fired (the
	                                 CLI's rules_never_fired; not written) */
	char mode[8];          /* "sim", "proc" or "stress"; "": not known (null) */
	uint64_t run_index;    /* the run's place among its scenario's runs: run i
	                          of a batch has seed first + i; the sweep's runs
	                          follow (its counting run, then its faulted runs) */
	char sweep_point[64];  /* a faulted sweep run: the point failed; "": none */
	uint64_t sweep_k;      /* with sweep_point: the hit failed (1-based) */
	bool sweep_persistent; /* with sweep_point: failed from hit k on, not once */
	bool sweep_count;      /* the sweep's counting run (reported only when it
	                          could not run): sweep_k 0, no point */
	bool known;            /* a failure already judged known, whatever the
	                          report's baseline says (faultline merge: the
	                          shard's baseline knew it); ignored for a run
	                          that passed or was not run */
};

/*
 * Baselines (`faultline run --baseline FILE`): failures already known.
 * A run whose failure matches an entry is reported KNOWN and does not fail
 * the batch; any other failure does; an entry no run of its scenario
 * matched is reported FIXED (it did not happen).  The file:
 *
 *   {"faultline_baseline": 1,
 *    "known": [{"scenario": s, "verdict": "fail|crash|hang|deadlock",
 *               "property": s (may be absent: none), "signature": s,
 *               "note": s (optional: your triage),
 *               "sanitizer": "address|undefined|thread" (optional: the
 *               entry applies only in a build that has that sanitizer)}, ...]}
 *
 * The signature is the failure's detail with counts, call and hit
 * numbers, seeds and times made N and absolute paths PATH; an op's line,
 * a block's size, an offset in a block and hex code offsets stay
 * (fl_baseline_signature): the same failure at another seed matches, one
 * at another op or crash site does not.  A run is known only when every
 * violation it reports is.  --baseline-write FILE writes one entry for
 * each distinct failure of a batch.
 */
struct fl_baseline;

/* fl_baseline_load reads a baseline file.  0, FL_ENOENT, FL_ENOMEM, or
 * FL_EPROTO with err saying what is wrong (file, entry, member). */
int fl_baseline_load(const char *path, struct fl_baseline **out, char *err, size_t errlen);
void fl_baseline_free(struct fl_baseline *b);

/* fl_baseline_signature: detail with digits made N and paths PATH. */
void fl_baseline_signature(const char *detail, char *out, size_t len);

/* fl_baseline_match: the index of the entry the failure matches (and it
 * counts as seen), or -1. */
int fl_baseline_match(struct fl_baseline *b, const char *scenario, const char *verdict,
                      const char *property, const char *detail);

/* Entries, and how many failures of this batch matched each. */
size_t fl_baseline_count(const struct fl_baseline *b);
void fl_baseline_entry(const struct fl_baseline *b, size_t i, const char **scenario,
                       const char **verdict, const char **property, const char **signature,
                       const char **note, uint64_t *seen);

/* fl_baseline_note_failure adds the failure to *b (made on first use)
 * unless an entry matches it already: for --baseline-write.  0 or
 * FL_ENOMEM. */
int fl_baseline_note_failure(struct fl_baseline **b, const char *scenario, const char *verdict,
                             const char *property, const char *detail);

/* fl_baseline_write writes b (NULL: none known) as a baseline file.  0 or
 * FL_EIO with err. */
int fl_baseline_write(const struct fl_baseline *b, const char *path, char *err, size_t errlen);

struct fl_report_options {
	FILE *out;                      /* progress, failures, summary; NULL: stdout */
	bool progress;                  /* print a progress line */
	bool tty;                       /* rewrite the progress line in place (\r, ESC[K) on
	                          progress_out: only for a terminal that takes
	                          escape codes (the caller decides) */
	FILE *progress_out;             /* where the in-place line goes; NULL: out.  It is
	                          cleared before anything is written to out */
	uint32_t progress_interval_ms;  /* tty: redraw at most once this often;
	                                  0: 100 (ten times a second) */
	uint64_t planned;               /* runs expected, 0 if unknown (progress); grows
	                          with fl_report_plan */
	uint64_t progress_every;        /* not a tty: a progress line every this many runs;
	                            0: a tenth of `planned` (or every 100 runs) */
	FILE *tap;                      /* TAP 13 is streamed here as runs finish; NULL: none.
	                          With TAP on stdout, point `out` at stderr. */
	const char *json_path;          /* written by fl_report_finish, or streamed as runs are
	                          added once fl_report_open_files opened it; "-" is
	                          stdout (point `out` elsewhere); NULL: none */
	const char *junit_path;         /* written by fl_report_finish; "-" is stdout; NULL: none */
	const char *const *point_names; /* names of the fault points faults_fired counts,
	                                   NULL-terminated; NULL: faults_fired not reported */
	struct fl_baseline *baseline;   /* known failures (borrowed): matched ones are
	                                   KNOWN, not failures; NULL: none */
	struct fl_baseline **record;    /* every distinct failure is noted here
	                                   (--baseline-write); NULL: not recorded */
	uint64_t batch_seed;            /* the batch's --seed */
	uint64_t batch_plan;            /* a hash of what the batch runs (its scenarios,
	                                   modes and runs): every shard's the same */
	uint64_t shard, shards;         /* this report is shard `shard` (1-based) of
	                                   `shards`; 0 shards: no "batch" in the JSON */
	const char *const *scenarios;   /* the batch's plan in the clear, so that merge
	                                   can tell which shard owns which run: every
	                                   scenario of the batch in its order, skipped
	                                   ones too (copied by fl_report_new); NULL:
	                                   none in the JSON */
	const uint64_t *scenario_runs;  /* beside scenarios: each one's runs in the
	                                   whole batch (not its sweep's) */
	size_t nscenarios;
	bool baseline_partial; /* the batch runs part of each scenario's runs
	                                   (a shard, a sweep limit): an entry no run
	                                   matched is not reported FIXED */
};

struct fl_report_counts {
	uint64_t runs;                         /* every result, not_run ones included */
	uint64_t by_verdict[FL_VERDICT_COUNT]; /* runs executed, by enum fl_verdict */
	uint64_t known;                        /* of the failures, those the baseline knows */
	uint64_t not_run;                      /* runs the harness could not execute */
	double seconds;                        /* sum of the runs' seconds */
	bool interrupted;                      /* fl_report_set_interrupted was called */
};

struct fl_report;

/* fl_report_new creates a report.  The options are copied, the batch's
 * scenarios too (the FILEs, paths and baselines are borrowed until
 * fl_report_free).  Writes the TAP header when
 * opt->tap is set.  Returns 0 or FL_ENOMEM; *out set on success. */
int fl_report_new(const struct fl_report_options *opt, struct fl_report **out);

/* fl_report_open_files opens (creates, truncates) the JSON and JUnit files
 * now, so that a path that cannot be written stops a batch before its first
 * run, and a report left from an earlier batch is never mistaken for this
 * one's.  The JSON report then streams into its file as runs are added
 * (the file parses only once fl_report_finish has closed it), and the
 * report keeps a per-run record (120 bytes on LP64, plus the strings of a
 * run that did not pass and a sweep run's point) only when a JUnit file is
 * to be written: with JSON alone
 * memory stays flat however many runs.  Call at most once, before the
 * first fl_report_add.  Returns 0, or FL_EIO (err names the file and why;
 * nothing is left open). */
int fl_report_open_files(struct fl_report *r, char *err, size_t errlen);

/* fl_report_rule_never_fired notes that fault rule faults[index] (at
 * `line`, on `point`) of `scenario` fired in none of its `runs` runs: a
 * line before the summary and an entry of rules_never_fired in the JSON.
 * Call it before fl_report_finish.  Returns 0 or FL_ENOMEM. */
int fl_report_rule_never_fired(struct fl_report *r, const char *scenario, int index,
                               const char *point, int line, uint64_t runs);

/* fl_report_skipped notes that `scenario` was not run at all (`why`: its
 * mode or this machine cannot run it): a TAP line `ok N - scenario # SKIP
 * why`, a JUnit testcase with <skipped>, an entry of the JSON's
 * `skipped`, and a count on the summary line, so that no report reads
 * as if it had run.  Returns 0 or FL_ENOMEM. */
int fl_report_skipped(struct fl_report *r, const char *scenario, const char *why);

/* A fault sweep of one scenario (faultline run --sweep): its counting
 * run's hits per point (points[i] hit hits[i] times, i < npoints; points
 * hit 0 times may be left out), the hits of each it tries (tried[i]: at
 * most its cap), the faulted runs that makes (2 x the sum of tried: once
 * and from then on), those --sweep-limit kept, and those of this shard. */
struct fl_report_sweep {
	const char *scenario;
	uint64_t seed;
	const char *const *points;
	const uint64_t *hits;
	const uint64_t *tried;
	size_t npoints;
	uint64_t faulted;
	uint64_t kept;
	uint64_t here;
};

/* fl_report_sweep notes a sweep: an entry of `sweeps` in the JSON
 * ({"scenario", "seed", "hits": {point: n}, "tried": {point: n},
 * "faulted_runs", "kept", "this_shard"}, points hit at least once).
 * Call it before fl_report_finish.  Returns 0 or FL_ENOMEM. */
int fl_report_sweep(struct fl_report *r, const struct fl_report_sweep *s);

/* fl_report_cut_short notes that the time budget stopped `scenario`'s
 * runs after `made` of the `share` this report was to make: its entry of
 * the batch's scenarios says "cut_short": {"made", "share"} (null when not
 * called), which tells merge those runs are missing on purpose.  Returns
 * 0, or FL_EINVAL when the scenario is not among opt.scenarios. */
int fl_report_cut_short(struct fl_report *r, const char *scenario, uint64_t made, uint64_t share);

/* fl_report_set_interrupted marks the batch interrupted (`why`, e.g.
 * "SIGINT", is copied): the JSON says "interrupted": true, the JUnit gets
 * an <error> testcase named interrupted, TAP ends with "Bail out!" instead
 * of a plan, a line before the summary says so, and the exit status is 2.
 * Call before fl_report_finish.  Returns 0 or FL_ENOMEM. */
int fl_report_set_interrupted(struct fl_report *r, const char *why);

/* fl_report_plan adds `more` runs to the plan (the progress line's total)
 * and, when scenario is not NULL, names the scenario now running (shown
 * on the progress line from now on).  Returns 0 or FL_ENOMEM. */
int fl_report_plan(struct fl_report *r, const char *scenario, uint64_t more);

/* fl_report_clear_progress clears the in-place progress line, if shown,
 * so that a caller's own message starts on a clean line (the line comes
 * back with the next result). */
void fl_report_clear_progress(struct fl_report *r);

/* fl_report_add records a finished run, or one not run (res->not_run),
 * and prints what it calls for: the progress line, a failure or not-run
 * entry (verdict, scenario, seed, property, trace, detail, replay command),
 * a TAP line, the JSON object when the JSON streams.  Returns 0, FL_EINVAL
 * (an unknown verdict) or FL_ENOMEM (the result is then not recorded). */
int fl_report_add(struct fl_report *r, const struct fl_run_result *res);

/* fl_report_finish prints the summary line, the TAP plan, and writes (or,
 * when streamed, ends) the JSON and JUnit files.  wall_seconds < 0 reports
 * the sum of the runs' seconds.  Returns 0, or FL_EIO when a file could not
 * be written (err names it; the other outputs are still written). */
int fl_report_finish(struct fl_report *r, double wall_seconds, char *err, size_t errlen);

/* fl_report_counts fills *c with the counts so far. */
void fl_report_counts(const struct fl_report *r, struct fl_report_counts *c);

/* fl_report_exit_status is the CLI's exit status for the results: 2 when a
 * run was not run, no run was executed at all (zero runs is never a pass)
 * or the batch was interrupted, else 0 when every run passed, 1 otherwise. */
int fl_report_exit_status(const struct fl_report *r);

/* fl_report_write_json / _junit write the whole report to f (what
 * fl_report_finish writes to the files).  Return 0, FL_EIO, or FL_EINVAL
 * when the report keeps no per-run records (fl_report_open_files without a
 * JUnit file). */
int fl_report_write_json(const struct fl_report *r, FILE *f);
int fl_report_write_junit(const struct fl_report *r, FILE *f);

/* fl_report_summary_line formats "N runs: N passed, N failed, N crashed, N
 * hung, N deadlocked (T s)" into buf, with ", N not run" before the time
 * when some run was not run. */
void fl_report_summary_line(const struct fl_report *r, double wall_seconds, char *buf, size_t len);

/* fl_report_free releases the report and closes the files it opened (not
 * the borrowed FILEs).  NULL is a no-op. */
void fl_report_free(struct fl_report *r);

#ifdef __cplusplus
}
#endif
#endif
