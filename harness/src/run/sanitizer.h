/*
 * Sanitizer reports as verdicts.  In a build with AddressSanitizer,
 * UndefinedBehaviorSanitizer, LeakSanitizer or ThreadSanitizer, each run
 * sends the runtimes' reports into a private directory of its own (made by
 * the parent, one per run); after the run the parent reads them, and any
 * report fails the run with property "sanitizer", whatever the run's own
 * checks said.  The process that reports also leaves, as it dies, the op
 * each actor was in (the death callback).  In a build without a sanitizer
 * every function here does nothing.
 */
#ifndef FL_HARNESS_SANITIZER_H
#define FL_HARNESS_SANITIZER_H

#include <stdbool.h>
#include <stddef.h>

/* The -Db_sanitize this build was made with ("address,undefined",
 * "thread"), or "none". */
const char *fli_san_build(void);

/* True when a sanitizer runtime is in this process: runs must be given a
 * report directory and judged on it. */
bool fli_san_enabled(void);

/* ---- the parent ---- */

/* Makes the run's private report directory (mode 0700, under TMPDIR or
 * /tmp) into dir.  0, or -1 (errno set). */
int fli_san_dir_make(char *dir, size_t len);

/* Reads every report the run left in `dir`, then removes them and the
 * directory.  No report: returns 0.  A report: the reports (every
 * process's, the first first) are copied to `keep` (NULL: not kept),
 * `detail` names the first one's kind, its first frame in the project, the
 * op each actor was in and where the report is, and returns 1.  -1: the
 * directory holds files it cannot read (out of file descriptors): the run
 * cannot be judged; `detail` says why, and the directory stays. */
int fli_san_collect(const char *dir, const char *keep, char *detail, size_t len);

/* ---- the run (the forked or exec'd child, or the sim worker) ---- */

/* Points every sanitizer runtime's report at `dir` (the reports of this
 * process and of the processes it forks, each in a file named after its
 * pid), and arranges that the process that reports writes what describe()
 * says (where it was, the actors' ops) beside its report as it dies, or
 * after a leak check (leak_check true).  Call at the start of each run;
 * dir NULL: reports go where they went. */
void fli_san_run_begin(const char *dir, void (*describe)(char *buf, size_t len, bool leak_check));

/* The report path of GCC's standalone UBSan runtime for this run, or
 * NULL: for __ubsan_default_options, which that runtime reads at its first
 * report (setting its path from the options, over the one set here). */
const char *fli_san_ubsan_log_path(void);

/* LeakSanitizer: checks for heap blocks nothing points to any more; a
 * leak is reported into the run's directory, with describe()'s text.
 * Returns true when one was found (the process must not run another run:
 * the same blocks would be reported again).  False without LeakSanitizer. */
bool fli_san_leak_check(void);

/* LeakSanitizer scans globals, stacks and thread-local storage, not other
 * mappings: a heap block whose only pointer lives in [p, p + len) (the
 * run's shared mapping) needs the region registered, or it is a leak. */
void fli_san_root_region(const void *p, size_t len, bool add);

#endif
