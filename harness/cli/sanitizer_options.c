/*
 * The sanitizer runtimes' defaults for the faultline program; ASAN_OPTIONS,
 * UBSAN_OPTIONS and TSAN_OPTIONS in the environment still override them.
 * A report inside a run is that run's verdict (property sanitizer, see
 * runner.c and sanitizer.c), so the process that reports stops there, at
 * its first report, with the actors' state as the report found it:
 * ThreadSanitizer and UBSan (when built to recover) otherwise go on and
 * the run may pass after it.  AddressSanitizer stops at its first error
 * already, and LeakSanitizer's check at the end of each run
 * (fli_san_leak_check) does not stop the process.  In a build without these
 * runtimes the functions are never called.
 */
#include <limits.h>
#include <stdio.h>

#include "run/sanitizer.h"

const char *__tsan_default_options(void);
const char *__ubsan_default_options(void);

const char *
__tsan_default_options(void)
{
	return "halt_on_error=1";
}

/* UBSan: the stack shows the frame in the project that did it.  GCC's
 * libubsan alone reads its options at its first report, in the run, and
 * sets its report path from them: the run's is passed on. */
const char *
__ubsan_default_options(void)
{
	static char opts[PATH_MAX + 64];
	const char *path = fli_san_ubsan_log_path();

	snprintf(opts, sizeof(opts), "halt_on_error=1:print_stacktrace=1%s%s",
	         path != NULL ? ":log_path=" : "", path != NULL ? path : "");
	return opts;
}
