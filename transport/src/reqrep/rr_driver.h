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

struct fli_rr_driver {
	fl_rr_domain *d;
	char dir[4096];
	uint64_t clients_reclaimed;
	uint64_t ports_reclaimed;
	uint64_t chunks_reclaimed;
	uint64_t layout_repaired; /* wild layout fields put back (fli_rr_driver_repair) */
	uint64_t
	        strays_reclaimed; /* ports and chunks of no client (fli_rr_driver_reclaim_strays) */
};

/* Creates the domain in run_dir.  cfg NULL: defaults, overridden by the
 * environment (FL_RR_CHUNKS="size:count,...", FL_RR_SERVER_PORTS,
 * FL_RR_CLIENT_PORTS) so a daemon can be configured without a rebuild. */
int fli_rr_driver_start(struct fli_rr_driver *rd, const char *run_dir,
                        const struct fl_rr_config *cfg);

/* Reclaims what client_id held.  Returns the number of ports + chunks. */
int fli_rr_driver_client_gone(struct fli_rr_driver *rd, uint64_t client_id);

/* Puts back every layout field of chunks.dat and ports.dat (headers,
 * chunk classes) that differs from the driver's own copy: any client can
 * write them, and a wild one would refuse every new client's open.
 * Returns how many it put back (also added to rd->layout_repaired). */
uint32_t fli_rr_driver_repair(struct fli_rr_driver *rd);

/* Frees every port and chunk whose owner word names no owner held(arg,
 * owner) knows, and every chunk with a refcount and no owner: a wild
 * write put them there (any client can write the domain), no owner will
 * release them and no reclaim by owner ever finds them.  Unfreed, a
 * server port whose owner word changed keeps taking requests that nobody
 * answers (its server cannot close it), and the pools shrink for good.
 * Returns how many (also added to rd->strays_reclaimed). */
uint32_t fli_rr_driver_reclaim_strays(struct fli_rr_driver *rd,
                                      bool (*held)(void *arg, uint64_t owner), void *arg);

/* Unmaps and unlinks the domain.  Safe on a zeroed or stopped rd. */
void fli_rr_driver_stop(struct fli_rr_driver *rd);

#endif
