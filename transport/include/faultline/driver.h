/*
 * The media driver: owns a namespace's run directory
 * (/dev/shm/faultline-<ns>/, mode 0700, files 0600) and all shared state in
 * it: the command-and-control segment cnc.dat (commands to the driver, a
 * broadcast of responses and events to clients, gauges) and one log buffer
 * file pub-<registration id>.log per publication (and, with the
 * request/response extension, chunks.dat and ports.dat).
 *
 * The run directory is trusted only when it is plainly this user's: a
 * directory (never followed through a symbolic link), owned by the
 * effective uid, mode 0700.  Any user can create /dev/shm/faultline-<ns>,
 * so a driver refuses anything else (FL_EPERM, with a message naming what
 * is wrong) and never removes it; removing a stale run directory unlinks
 * only the names above and leaves anything else, and then the directory.
 * Segments are reserved in /dev/shm when created (a full or small /dev/shm
 * is FL_ENOSPC, never a SIGBUS later).
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
 *   term (log ring) length         4 MiB (power of two, 64 KiB .. 1 GiB)
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

#define FL_NAME_MAX                  64 /* longest namespace or channel name, bytes without NUL */
#define FL_DRIVER_CLIENT_LIVENESS_NS (5ull * 1000000000ull)
#define FL_DRIVER_PUB_LINGER_NS      (1ull * 1000000000ull)
#define FL_DRIVER_UNBLOCK_NS         (1ull * 1000000000ull)
#define FL_DRIVER_TERM_LENGTH        (1u << 22)
#define FL_DRIVER_MTU                4096u

struct fl_driver_ext;

struct fl_driver_ctx {
	const char *ns;                 /* namespace (required, see fl_name_validate) */
	uint64_t client_liveness_ns;    /* 0: FL_DRIVER_CLIENT_LIVENESS_NS */
	uint64_t publication_linger_ns; /* 0: FL_DRIVER_PUB_LINGER_NS */
	uint64_t unblock_timeout_ns;    /* 0: FL_DRIVER_UNBLOCK_NS */
	uint32_t term_length;           /* 0: FL_DRIVER_TERM_LENGTH */
	uint32_t mtu;                   /* 0: FL_DRIVER_MTU */
	uint32_t cmd_ring_length;       /* 0: 1 MiB; power of two */
	uint32_t broadcast_length;      /* 0: 1 MiB; power of two */
	bool no_thread;                 /* true: caller runs fl_driver_do_work */
	bool verbose;                   /* log lifecycle events to stderr */
	bool no_pid_check;              /* true: reclaim a client only by the liveness
	                                    timeout, never because its pid is gone (a
	                                    model of the timeout path alone) */
	bool fresh_dir;                 /* true: the run directory must not exist
	                                    (FL_EEXIST): never take over a stale one.
	                                    For generated namespaces another user could
	                                    guess and create first */
	/* Extensions the driver runs, in order (at most 7): fl_rr_driver_ext
	 * (reqrep.h) makes it serve request/response. */
	const struct fl_driver_ext *const *extensions;
	size_t extension_count;
	/* The longest the caller leaves between fl_driver_do_work calls
	 * (no_thread); 0: not said.  A gap longer than this and than half the
	 * client liveness is the driver's own stall (a busy or paused
	 * machine), not its clients' silence: see driver_stalls in stats.h.
	 * The driver's own thread sets its own (at most 100 ms). */
	uint64_t cycle_ns;
};

typedef struct fl_driver fl_driver;

/* fl_driver_ctx_init zeroes ctx (all defaults).  ns must still be set. */
void fl_driver_ctx_init(struct fl_driver_ctx *ctx);

/* fl_driver_start creates the run directory and cnc.dat for ctx->ns and
 * starts the conductor (a thread unless ctx->no_thread).  A stale run
 * directory of this user (driver pid dead or heartbeat older than the
 * client liveness timeout) is taken over: its faultline files are unlinked
 * first.  Errors, each with a message on stderr saying why: FL_EPERM (the
 * path is a symbolic link, not a directory, owned by another user or not
 * mode 0700: refused and left alone), FL_EEXIST (a live driver owns the
 * namespace, naming its pid; or the stale directory holds a file faultline
 * did not create, which is left with the directory; or ctx->fresh_dir and
 * the directory exists), FL_ENOSPC (no room in /dev/shm; nothing is left
 * behind).  Also FL_ENAME (bad namespace), FL_EIO, FL_ENOMEM, FL_EINVAL
 * (bad sizes).  On success *out is owned by the caller and must be passed
 * to fl_driver_close.  ctx is copied (ns too). */
int fl_driver_start(const struct fl_driver_ctx *ctx, fl_driver **out);

/* fl_driver_do_work runs one duty-cycle pass of the conductor: commands,
 * client liveness, publication draining, log file reclamation, gauges.
 * Returns the amount of work done (>= 0).  Only for ctx.no_thread drivers,
 * from one thread at a time. */
int fl_driver_do_work(fl_driver *d);

/* fl_driver_close stops the conductor, marks the namespace closed (clients
 * see FL_EDRIVER_TIMEOUT), unlinks the transport's files and removes the
 * run directory (a file of another name put there keeps it, said on
 * stderr), then frees d.  NULL is a no-op. */
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

/* fl_run_dir_remove removes the run directory of ns after its driver died
 * without closing: what fl_driver_start does to a stale one, without
 * checking that its driver is dead.  Only a directory of this user, mode
 * 0700, reached without following a link, and in it only the transport's
 * files.  Returns 0, FL_ENAME, FL_ENOENT, FL_EPERM (a link, not a
 * directory, another owner or mode: left alone), FL_EEXIST (it holds a
 * file of another name: that file and the directory are left), FL_EIO. */
int fl_run_dir_remove(const char *ns);

/* fl_run_dirs_in_memory(true) keeps the run directories this process
 * makes from then on, and their files, in its own memory instead of in
 * /dev/shm, until it is called with false.  For a process that runs a
 * namespace's driver and every one of its clients itself, from one
 * thread (a sim run): no other process can open them.  Files are blocks
 * reused from run to run, cleared; each mapping has an address of its
 * own, gone at its unmap; every fault point of the shm seam is consulted
 * as before.  Returns whether the directories are now in memory: false
 * when asked to stop, or when this kernel (or valgrind) cannot map a
 * block twice, and /dev/shm is used as before. */
bool fl_run_dirs_in_memory(bool on);

/* fl_run_dir_make creates the run directory of ns (mode 0700), for a
 * namespace without a driver (a request/response domain alone).  0,
 * FL_ENAME, FL_EEXIST (anything is at the path), FL_ENOSPC, FL_EIO. */
int fl_run_dir_make(const char *ns);

/* fl_run_dir_exists: 1 when anything is at ns's run directory path (not
 * following a link), 0 when nothing is, or FL_ENAME. */
int fl_run_dir_exists(const char *ns);

/* fl_run_dir_each calls fn with the name of each entry in ns's run
 * directory ("." and ".." aside).  0, FL_ENAME, FL_ENOENT, FL_EIO. */
int fl_run_dir_each(const char *ns, void (*fn)(void *arg, const char *name), void *arg);

#ifdef __cplusplus
}
#endif
#endif
