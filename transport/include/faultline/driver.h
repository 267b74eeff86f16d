/*
 * The media driver: owns a namespace's run directory
 * (/dev/shm/faultline-<ns>/, mode 0700, files 0600) and all shared state in
 * it: the command-and-control segment cnc.dat (commands to the driver, a
 * broadcast of responses and events to clients, gauges) and one log buffer
 * file pub-<registration id>.log per publication.
 *
 * It runs embedded (fl_driver_start starts its conductor with
 * fl_thread_start, so under the harness it is an actor) or agent style
 * (ctx.no_thread: the caller calls fl_driver_do_work in its own duty cycle),
 * or as the daemon `faultline-driver`.  One live driver per namespace.
 *
 * Defaults (all overridable in struct fl_driver_ctx):
 *   client liveness timeout        5 s   (FL_DRIVER_CLIENT_LIVENESS_NS); a
 *                                         client whose process has exited is
 *                                         reclaimed sooner, once its heartbeat
 *                                         is 20 ms stale (found by pid, in the
 *                                         driver's own pid namespace)
 *   publication drain linger       1 s   (a closed publication's images stay
 *                                         until drained or this passes)
 *   command ring unblock timeout   1 s   (a command claimed by a dead client)
 *   term (log ring) length         1 MiB (power of two, 64 KiB .. 1 GiB)
 *   MTU (frame incl. 16 B header)  4 KiB
 */
#ifndef FAULTLINE_DRIVER_H
#define FAULTLINE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_NAME_MAX 64 /* longest namespace or channel name, bytes without NUL */
#define FL_DRIVER_CLIENT_LIVENESS_NS (5ull * 1000000000ull)
#define FL_DRIVER_PUB_LINGER_NS (1ull * 1000000000ull)
#define FL_DRIVER_UNBLOCK_NS (1ull * 1000000000ull)
#define FL_DRIVER_TERM_LENGTH (1u << 20)
#define FL_DRIVER_MTU 4096u

struct fl_driver_ext;

struct fl_driver_ctx {
	const char *ns;                  /* namespace (required, see fl_name_validate) */
	uint64_t client_liveness_ns;     /* 0: FL_DRIVER_CLIENT_LIVENESS_NS */
	uint64_t publication_linger_ns;  /* 0: FL_DRIVER_PUB_LINGER_NS */
	uint64_t unblock_timeout_ns;     /* 0: FL_DRIVER_UNBLOCK_NS */
	uint32_t term_length;            /* 0: FL_DRIVER_TERM_LENGTH */
	uint32_t mtu;                    /* 0: FL_DRIVER_MTU */
	uint32_t cmd_ring_length;        /* 0: 1 MiB; power of two */
	uint32_t broadcast_length;       /* 0: 1 MiB; power of two */
	bool no_thread;                  /* true: caller runs fl_driver_do_work */
	bool verbose;                    /* log lifecycle events to stderr */
	bool no_pid_check;               /* true: reclaim a client only by the liveness
	                                    timeout, never because its pid is gone (a
	                                    model of the timeout path alone) */
	/* Extra extensions besides the built-in table (driver_ext.h). */
	const struct fl_driver_ext *const *extensions;
	size_t extension_count;
};

typedef struct fl_driver fl_driver;

/* fl_driver_ctx_init zeroes ctx (all defaults).  ns must still be set. */
void fl_driver_ctx_init(struct fl_driver_ctx *ctx);

/* fl_driver_start creates the run directory and cnc.dat for ctx->ns and
 * starts the conductor (a thread unless ctx->no_thread).  A stale run
 * directory (driver pid dead or heartbeat older than the client liveness
 * timeout) is removed first.  Errors: FL_ENAME (bad namespace), FL_EEXIST
 * (a live driver owns the namespace; a message naming its pid goes to
 * stderr), FL_EIO, FL_ENOMEM, FL_EINVAL (bad sizes).  On success *out is
 * owned by the caller and must be passed to fl_driver_close.  ctx is copied
 * (ns too). */
int fl_driver_start(const struct fl_driver_ctx *ctx, fl_driver **out);

/* fl_driver_do_work runs one duty-cycle pass of the conductor: commands,
 * client liveness, publication draining, log file reclamation, gauges.
 * Returns the amount of work done (>= 0).  Only for ctx.no_thread drivers,
 * from one thread at a time. */
int fl_driver_do_work(fl_driver *d);

/* fl_driver_close stops the conductor, marks the namespace closed (clients
 * see FL_EDRIVER_TIMEOUT), unlinks every file and removes the run
 * directory, then frees d.  NULL is a no-op. */
void fl_driver_close(fl_driver *d);

/* fl_driver_run_dir returns the run directory path (owned by d). */
const char *fl_driver_run_dir(const fl_driver *d);

/* fl_name_validate checks a namespace or channel name: 1..FL_NAME_MAX
 * bytes, no '/', no "..", no control characters or spaces.  Returns 0 or
 * FL_ENAME. */
int fl_name_validate(const char *name);

/* fl_run_dir_path writes "/dev/shm/faultline-<ns>" into buf.  Returns 0,
 * FL_ENAME, or FL_EINVAL when buf is too small. */
int fl_run_dir_path(const char *ns, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
