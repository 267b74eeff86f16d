/*
 * Fork isolation: run a function in a forked child with a wall-clock
 * deadline and turn whatever happens to it into a verdict.
 *
 * The child is the leader of its own process group; it reports back through
 * a pipe (raw bytes, usually frames written with fl_sandbox_frame_write).
 * The parent reads with poll() until the child exits or the deadline passes;
 * on the deadline it sends `dump_signal` (if set) so the child can report
 * what it was doing, waits `grace_ms`, then SIGKILLs the whole group.  The
 * child is always reaped and every descriptor closed: no zombie, no fd leak,
 * whatever the child writes (garbage, nothing, megabytes).
 *
 * Used by the property runner for each trial and by the scenario runner for
 * each run.
 */
#ifndef FAULTLINE_SANDBOX_H
#define FAULTLINE_SANDBOX_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a sandboxed run (or a property trial, or a scenario run) ended. */
enum fl_verdict {
	FL_VERDICT_PASS = 0,     /* fn returned 0 and the child exited 0 */
	FL_VERDICT_FAIL = 1,     /* fn reported failure, or the child exited non-zero */
	FL_VERDICT_CRASH = 2,    /* the child died of a signal */
	FL_VERDICT_HANG = 3,     /* the deadline passed; the child was killed */
	FL_VERDICT_DEADLOCK = 4, /* scenario runs: no actor runnable and no deadline ahead */
};

/* Exit status of a child whose fn returned non-zero. */
#define FL_SANDBOX_EXIT_FAIL 1
/* Exit status a child uses after answering the dump signal. */
#define FL_SANDBOX_EXIT_DUMPED 125

struct fl_sandbox_opts {
	uint64_t timeout_ms; /* wall-clock deadline; 0: none */
	size_t max_payload;  /* bytes kept from the child; more is read and dropped; 0: 1 MiB */
	int dump_signal;     /* sent on the deadline before SIGKILL; 0: none */
	uint64_t grace_ms;   /* wait after dump_signal; 0: 200 ms */
	const volatile sig_atomic_t *stop; /* non-zero (a signal handler sets it): the
	                                      child's group is killed within one 20 ms
	                                      poll slice and res->stopped set; NULL: none */
};

struct fl_sandbox_result {
	enum fl_verdict verdict;
	int exit_status;  /* exit code, or -1 when killed by a signal */
	int signal;       /* the fatal signal (crash) or 0 */
	uint8_t *payload; /* what the child wrote (malloc'd, NUL-terminated), may be NULL */
	size_t payload_len;
	bool truncated; /* the child wrote more than max_payload */
	double seconds; /* wall time of the run */
	bool stopped;   /* cut short by opts.stop: the verdict means nothing */
};

/* fl_sandbox_run forks; the child runs fn(arg, out_fd) and exits with 0 when
 * fn returns 0, FL_SANDBOX_EXIT_FAIL otherwise (via _exit: no atexit
 * handlers; stdout/stderr are flushed before the fork and after fn; fatal signals are reset to their default action in the
 * child, SIGPIPE ignored).  The parent collects the child's output and fills *res (on
 * success only; release with fl_sandbox_result_fini).  Returns 0, or
 * FL_EINVAL, FL_ENOMEM, FL_EIO (pipe/fork failed).  Blocks for at most
 * timeout_ms + grace_ms.  Not thread-safe against other code reaping
 * children with waitpid(-1).  The child's fn must not return into code that
 * expects to be in the parent; it may call _exit itself. */
int fl_sandbox_run(const struct fl_sandbox_opts *o, int (*fn)(void *arg, int out_fd), void *arg,
                   struct fl_sandbox_result *res);

/* fl_sandbox_result_fini frees the payload; safe on a zeroed result. */
void fl_sandbox_result_fini(struct fl_sandbox_result *res);

/* fl_sandbox_frame_write writes one frame: tag (4 bytes), length (4 bytes,
 * host order), then len bytes.  Async-signal-safe (write(2) only), so a
 * crash handler may use it.  Returns 0 or FL_EIO. */
int fl_sandbox_frame_write(int fd, uint32_t tag, const void *data, uint32_t len);

/* Frames gathered in memory and written in one go (a run's outcome is a
 * dozen frames: one write(2), not two a frame).  fl_sandbox_frames_add
 * appends one frame to *b (grown with realloc; the buffer is the
 * caller's to keep or free); fl_sandbox_frames_flush writes them and
 * empties *b.  Not for a signal handler.  0, FL_ENOMEM, FL_EIO. */
struct fl_sandbox_frames {
	uint8_t *buf;
	size_t len, cap;
};
int fl_sandbox_frames_add(struct fl_sandbox_frames *b, uint32_t tag, const void *data,
                          uint32_t len);
int fl_sandbox_frames_flush(int fd, struct fl_sandbox_frames *b);

/* fl_sandbox_frame_next parses the frame at *pos in buf[0..len): sets *tag,
 * *data (points into buf), *dlen and advances *pos.  Returns 0, FL_ENOENT
 * at the end of the buffer, FL_EPROTO on a truncated or malformed frame
 * (garbage from a child is never trusted). */
int fl_sandbox_frame_next(const uint8_t *buf, size_t len, size_t *pos, uint32_t *tag,
                          const uint8_t **data, uint32_t *dlen);

/* fl_verdict_name returns "pass", "fail", "crash", "hang" or "deadlock"
 * (static). */
const char *fl_verdict_name(enum fl_verdict v);

/* fl_verdict_parse maps a name back; returns 0 or FL_EINVAL. */
int fl_verdict_parse(const char *name, enum fl_verdict *out);

/* fl_signal_name returns "SIGSEGV" etc. for a signal number (static;
 * "SIG?" for unknown ones).  Thread-safe. */
const char *fl_signal_name(int sig);

#ifdef __cplusplus
}
#endif
#endif
