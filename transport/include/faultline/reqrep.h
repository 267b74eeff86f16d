/*
 * Request/response over shared memory (iceoryx-like).
 *
 * A domain is the pair of segments in a run directory that request/response
 * uses: `chunks.dat` (the chunk pools, faultline/chunk.h) and `ports.dat`
 * (fixed tables of server ports and client ports, 512 each by default).
 * The driver creates the domain when it starts and reclaims a dead
 * client's ports and chunks; a test may create one in any directory.
 *
 * Data path: a server port offers a named service and owns a queue of
 * request chunk references; a client port owns a queue of response chunk
 * references.  Clients and servers push to each other's queues directly
 * (bounded lock-free MPMC queues in shared memory); the driver is not on
 * the data path.  A port is taken from its table with one CAS on its owner
 * word and returned on close, on every error path, and by the reclaimer
 * when its owner died.
 *
 * Choosing among several servers of one service: each client keeps the
 * list of live servers from its last scan of the server table (rescanned
 * every 256 sends, or when a chosen server has gone) and sends round-robin
 * over it, skipping a server whose request queue is full.  So load spreads
 * evenly without a shared counter, and a new server is seen within 256
 * requests.
 *
 * Ownership: a loaned chunk is the caller's until it is released or sent.
 * A successful send passes it to the receiver (its owner word becomes the
 * receiving port's owner, so a crash of either side is reclaimed); a failed
 * send leaves it with the caller.  A taken request or response is the
 * taker's and must be released (fl_rr_release) exactly once.
 *
 * Threading: a domain handle may be shared by threads; a server or client
 * handle is used by one thread at a time.
 */
#ifndef FAULTLINE_REQREP_H
#define FAULTLINE_REQREP_H

#include <stddef.h>
#include <stdint.h>

#include "faultline/chunk.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_RR_SERVICE_MAX     63  /* longest service name */
#define FL_RR_DEFAULT_PORTS   512 /* server and client ports each */
#define FL_RR_MAX_OUTSTANDING 256 /* unanswered requests per client */

typedef struct fl_rr_domain fl_rr_domain;
typedef struct fl_rr_server fl_rr_server;
typedef struct fl_rr_client fl_rr_client;

struct fl_rr_config {
	const char *chunk_spec; /* NULL: FL_CHUNK_DEFAULT_SPEC */
	uint32_t server_ports;  /* 0: FL_RR_DEFAULT_PORTS */
	uint32_t client_ports;  /* 0: FL_RR_DEFAULT_PORTS */
};

struct fl_rr_stats {
	uint32_t server_ports, client_ports;     /* table sizes */
	uint32_t servers_in_use, clients_in_use; /* gauges */
	uint64_t server_opens, client_opens;
	uint64_t server_exhausted, client_exhausted; /* FL_ENO_PORTS results */
	uint64_t ports_reclaimed;
	/* Queue cells dead processes left: claimed and never published
	 * (stepped over after the reclaim), taken and never given back
	 * (repaired when the port is next taken). */
	uint64_t queue_holes_marked, queue_cells_repaired;
	struct fl_chunk_pool_stats chunks;
};

/* fl_rr_errmsg returns this thread's message for the last error of the
 * request/response part (names the pool and its size for FL_ENO_PORTS and
 * FL_EPOOL_EMPTY).  Valid until the next call on this thread. */
const char *fl_rr_errmsg(void);

/* fl_rr_validate_service: 0 or FL_ENAME (empty, longer than
 * FL_RR_SERVICE_MAX, '/', "..", control characters). */
int fl_rr_validate_service(const char *name);

/* fl_rr_domain_create creates chunks.dat and ports.dat in the existing
 * directory `dir` (cfg NULL: defaults) and maps them with owner id 1.
 * Errors: FL_EINVAL, FL_EEXIST, FL_ENOSPC (no room in /dev/shm: the files
 * are reserved when created), FL_EIO, FL_ENOMEM; nothing is left behind
 * on failure.  The caller closes *out; the files stay until
 * fl_rr_domain_unlink. */
int fl_rr_domain_create(const char *dir, const struct fl_rr_config *cfg, fl_rr_domain **out);

/* fl_rr_domain_open maps an existing domain for client id `owner`
 * (non-zero): every port and chunk it takes is recorded as that owner's.
 * Under a driver that serves request/response (faultline-driver; an
 * embedded driver started with fl_rr_driver_ext), open the driver's domain
 * with fl_rr_domain_open(fl_client_run_dir(c), fl_client_id(c), &d): the
 * driver then reclaims everything the client held when it closes or is
 * timed out.  Such a driver takes back (every 10 ms) any port or chunk
 * whose owner is no active client of it, a wild write's: do not open its
 * domain under another owner id.
 * Errors: FL_ENOENT, FL_EPERM (a segment is a link, not a regular file, or
 * not owned by this process's effective uid), FL_EPROTO, FL_EIO,
 * FL_ENOMEM, FL_EINVAL. */
int fl_rr_domain_open(const char *dir, uint64_t owner, fl_rr_domain **out);

/* fl_rr_domain_close unmaps.  Ports and chunks still held stay held until
 * closed/released or reclaimed.  Safe on NULL. */
void fl_rr_domain_close(fl_rr_domain *d);

/* fl_rr_domain_unlink removes the domain's files from `dir`, both tried.
 * 0, or the first failure: FL_ENOENT, FL_EIO. */
int fl_rr_domain_unlink(const char *dir);

struct fl_driver_ext;

/* fl_rr_driver_ext is the driver extension that makes a driver serve
 * request/response: list it in fl_driver_ctx.extensions (faultline-driver
 * does, unless --no-reqrep).  On start it creates chunks.dat and ports.dat
 * in the run directory (configured by the environment variables
 * FL_RR_CHUNKS, FL_RR_SERVER_PORTS, FL_RR_CLIENT_PORTS); when a client
 * closes or is timed out it reclaims every port and chunk owned by that
 * client's id (clients open the domain with
 * fl_rr_domain_open(fl_client_run_dir(c), fl_client_id(c), ...)).  Its
 * gauges (rr_servers_in_use, rr_clients_in_use, rr_chunks_loaned,
 * rr_chunks_total, rr_chunks_exhausted, rr_clients_reclaimed,
 * rr_ports_reclaimed, rr_chunks_reclaimed, rr_queue_holes_marked,
 * rr_queue_cells_repaired, rr_layout_repaired: wild layout fields put
 * back, rr_corrupt_rejected: wild words any process refused with
 * FL_EPROTO, rr_strays_reclaimed: ports and chunks of no client taken
 * back) are the driver's extension gauges, printed by faultline-stat.
 * Every 10 ms it puts back the layout of both segments from its own copy
 * and takes back every port and chunk whose owner is no active client of
 * the driver (under this driver, owner ids must be client ids); on stop
 * it removes the files.  Runs on the driver's conductor only. */
extern const struct fl_driver_ext fl_rr_driver_ext;

/* fl_rr_domain_chunks returns the domain's chunk pool (not owned). */
fl_chunk_pool *fl_rr_domain_chunks(fl_rr_domain *d);

/* fl_rr_reclaim_owner returns every port and chunk held by `owner` (a
 * dead client) to its pool; *ports / *chunks (may be NULL) get the counts.
 * Call only when the owner can no longer run.  Thread-safe. */
int fl_rr_reclaim_owner(fl_rr_domain *d, uint64_t owner, uint32_t *ports, uint32_t *chunks);

/* fl_rr_stats reads the gauges (a snapshot).  Thread-safe. */
void fl_rr_stats(fl_rr_domain *d, struct fl_rr_stats *out);

/* fl_rr_domain_repair puts back the chunk and port pools' layout words
 * (segment headers, class descriptors, each chunk's class) that differ
 * from d's own layout, and returns how many it wrote: what a driver's
 * request/response extension does every duty cycle (fl_rr_driver_ext).
 * Only words nobody but the domain's creator writes: any count is a
 * stray write.  Thread-safe against the pools' users. */
uint32_t fl_rr_domain_repair(fl_rr_domain *d);

/* fl_rr_owner_ports counts the ports `owner` holds (O(ports) scan). */
uint32_t fl_rr_owner_ports(fl_rr_domain *d, uint64_t owner);

/* fl_rr_release releases a chunk taken or loaned through the domain.
 * Errors: FL_ESTALE (already released), FL_EPROTO. */
int fl_rr_release(fl_rr_domain *d, const fl_chunk *c);

/* ---- server -------------------------------------------------------- */

/* fl_rr_server_open takes a server port offering `service`.  Errors:
 * FL_ENAME, FL_ENO_PORTS (message names the pool and its size),
 * FL_EFAULT_INJECTED, FL_ENOMEM.  On any error no port is held. */
int fl_rr_server_open(fl_rr_domain *d, const char *service, fl_rr_server **out);

/* fl_rr_server_close stops offering, releases every request still queued
 * and returns the port.  Safe on NULL. */
void fl_rr_server_close(fl_rr_server *s);

/* fl_rr_server_take takes the next request (skipping, and releasing,
 * requests whose deadline passed).  0 and *req (the caller's; release it),
 * FL_EAGAIN when none is queued, FL_EPROTO.  Never blocks. */
int fl_rr_server_take(fl_rr_server *s, fl_chunk *req);

/* fl_rr_server_loan loans a response chunk (see fl_chunk_loan). */
int fl_rr_server_loan(fl_rr_server *s, size_t len, uint64_t deadline_ns, fl_chunk *resp);

/* fl_rr_server_send sends `resp` (resp->len bytes) as the answer to `req`
 * with req's sequence id.  On success the response belongs to the client;
 * the request is untouched (release it).  Errors, after which resp is
 * still the caller's: FL_ENOT_CONNECTED (the client went away), FL_EFULL
 * (its response queue is full), FL_EINVAL, FL_EFAULT_INJECTED. */
int fl_rr_server_send(fl_rr_server *s, const fl_chunk *req, const fl_chunk *resp);

/* ---- client -------------------------------------------------------- */

/* fl_rr_client_open takes a client port for `service` (the service need not
 * be offered yet).  Errors: FL_ENAME, FL_ENO_PORTS, FL_EFAULT_INJECTED,
 * FL_ENOMEM.  On any error no port is held. */
int fl_rr_client_open(fl_rr_domain *d, const char *service, fl_rr_client **out);

/* fl_rr_client_close releases every response still queued and returns the
 * port.  Safe on NULL. */
void fl_rr_client_close(fl_rr_client *c);

/* fl_rr_client_loan loans a request chunk (see fl_chunk_loan). */
int fl_rr_client_loan(fl_rr_client *c, size_t len, uint64_t deadline_ns, fl_chunk *req);

/* fl_rr_client_send sends `req` (req->len bytes) to a server of the
 * service, with a fresh sequence id written to *seq.  deadline_ns (0: none)
 * is the request's deadline: the server drops it after that and
 * fl_rr_client_expired reports it.  On success the chunk belongs to the
 * server.  Errors, after which req is still the caller's: FL_ENOSERVER,
 * FL_EFULL (every server's queue is full), FL_ELIMIT (FL_RR_MAX_OUTSTANDING
 * unanswered requests), FL_EINVAL, FL_EFAULT_INJECTED. */
int fl_rr_client_send(fl_rr_client *c, const fl_chunk *req, uint64_t deadline_ns, uint64_t *seq);

/* fl_rr_client_take takes the next response: 0 and *resp (resp->seq is the
 * request's sequence id; the caller must release it whatever its seq),
 * FL_EAGAIN when none, FL_EPROTO.  Never blocks. */
int fl_rr_client_take(fl_rr_client *c, fl_chunk *resp);

/* fl_rr_client_expired reports one outstanding request that will never be
 * answered: 0 with *seq and *reason = FL_ETIMEDOUT (its deadline passed)
 * or FL_ECRASHED (its server closed or died); FL_EAGAIN if none.  The
 * request is forgotten; a response that still arrives is delivered by
 * fl_rr_client_take and must be released. */
int fl_rr_client_expired(fl_rr_client *c, uint64_t *seq, int *reason);

/* fl_rr_client_wait waits for the next response until deadline_ns
 * (fl_clock_now_ns time), idling with fl_idle.  0 and *resp; FL_ETIMEDOUT;
 * FL_ECRASHED or FL_ETIMEDOUT early when an outstanding request expired
 * (see fl_rr_client_expired; *seq_lost, if not NULL, gets its id). */
int fl_rr_client_wait(fl_rr_client *c, uint64_t deadline_ns, fl_chunk *resp, uint64_t *seq_lost);

/* fl_rr_client_forget stops tracking the outstanding request `seq` (the
 * caller gave up on it); a response that still arrives is delivered by
 * fl_rr_client_take and must be released.  No effect if not outstanding. */
void fl_rr_client_forget(fl_rr_client *c, uint64_t seq);

/* fl_rr_client_outstanding: requests sent and not yet answered/expired. */
uint32_t fl_rr_client_outstanding(fl_rr_client *c);

#ifdef __cplusplus
}
#endif
#endif
