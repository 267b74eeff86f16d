/*
 * The driver's side of request/response: what the driver's extension hooks
 * call.  On start the driver creates the domain (chunks.dat, ports.dat) in
 * its run directory, replacing a stale one; when a client is gone (closed,
 * timed out, killed) it reclaims every port and chunk that client held;
 * on stop it removes the files.  Module-to-module (driver <-> reqrep).
 */
#ifndef FL_RR_DRIVER_H
#define FL_RR_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline/reqrep.h"

struct fl_driver_ext;

struct rr_driver {
	fl_rr_domain *d;
	char dir[4096];
	uint64_t clients_reclaimed;
	uint64_t ports_reclaimed;
	uint64_t chunks_reclaimed;
	uint64_t layout_repaired;  /* wild layout fields put back (rr_driver_repair) */
	uint64_t strays_reclaimed; /* ports and chunks of no client (rr_driver_reclaim_strays) */
};

/* Creates the domain in run_dir.  cfg NULL: defaults, overridden by the
 * environment (FL_RR_CHUNKS="size:count,...", FL_RR_SERVER_PORTS,
 * FL_RR_CLIENT_PORTS) so a daemon can be configured without a rebuild. */
int rr_driver_start(struct rr_driver *rd, const char *run_dir, const struct fl_rr_config *cfg);

/* Reclaims what client_id held.  Returns the number of ports + chunks. */
int rr_driver_client_gone(struct rr_driver *rd, uint64_t client_id);

/* Puts back every layout field of chunks.dat and ports.dat (headers,
 * chunk classes) that differs from the driver's own copy: any client can
 * write them, and a wild one would refuse every new client's open.
 * Returns how many it put back (also added to rd->layout_repaired). */
uint32_t rr_driver_repair(struct rr_driver *rd);

/* Frees every port and chunk whose owner word names no owner held(arg,
 * owner) knows, and every chunk with a refcount and no owner: a wild
 * write put them there (any client can write the domain), no owner will
 * release them and no reclaim by owner ever finds them.  Unfreed, a
 * server port whose owner word changed keeps taking requests that nobody
 * answers (its server cannot close it), and the pools shrink for good.
 * Returns how many (also added to rd->strays_reclaimed). */
uint32_t rr_driver_reclaim_strays(struct rr_driver *rd, bool (*held)(void *arg, uint64_t owner),
                                  void *arg);

/* Unmaps and unlinks the domain.  Safe on a zeroed or stopped rd. */
void rr_driver_stop(struct rr_driver *rd);

/*
 * The driver extension that makes a driver serve request/response: pass it
 * in fl_driver_ctx.extensions (faultline-driver does, unless --no-reqrep).
 * On start it creates chunks.dat and ports.dat in the run directory
 * (configured by FL_RR_CHUNKS, FL_RR_SERVER_PORTS, FL_RR_CLIENT_PORTS);
 * when a client closes or is timed out it reclaims every port and chunk
 * owned by that client's id (clients open the domain with
 * fl_rr_domain_open(fl_client_run_dir(c), fl_client_id(c), ...)); its
 * gauges (rr_servers_in_use, rr_clients_in_use, rr_chunks_loaned,
 * rr_chunks_total, rr_chunks_exhausted, rr_clients_reclaimed,
 * rr_ports_reclaimed, rr_chunks_reclaimed, rr_queue_holes_marked,
 * rr_queue_cells_repaired, rr_layout_repaired: wild layout fields put
 * back, rr_corrupt_rejected: wild words any process refused with
 * FL_EPROTO, rr_strays_reclaimed: ports and chunks of no client taken
 * back) are the driver's extension gauges, printed by faultline-stat;
 * every 10 ms it puts back the layout of both segments from its own copy
 * (rr_driver_repair) and takes back every port and chunk whose owner is
 * no active client of the driver (rr_driver_reclaim_strays: under this
 * driver, owner ids must be client ids); on stop it removes the files.
 */
extern const struct fl_driver_ext fl_rr_driver_ext;

#endif
