/*
 * The driver's side of request/response: what the driver's extension hooks
 * call.  On start the driver creates the domain (chunks.dat, ports.dat) in
 * its run directory, replacing a stale one; when a client is gone (closed,
 * timed out, killed) it reclaims every port and chunk that client held;
 * on stop it removes the files.  Module-to-module (driver <-> reqrep).
 */
#ifndef FL_RR_DRIVER_H
#define FL_RR_DRIVER_H

#include <stdint.h>

#include "faultline/reqrep.h"

struct rr_driver {
	fl_rr_domain *d;
	char dir[4096];
	uint64_t clients_reclaimed;
	uint64_t ports_reclaimed;
	uint64_t chunks_reclaimed;
};

/* Creates the domain in run_dir.  cfg NULL: defaults, overridden by the
 * environment (FL_RR_CHUNKS="size:count,...", FL_RR_SERVER_PORTS,
 * FL_RR_CLIENT_PORTS) so a daemon can be configured without a rebuild. */
int rr_driver_start(struct rr_driver *rd, const char *run_dir, const struct fl_rr_config *cfg);

/* Reclaims what client_id held.  Returns the number of ports + chunks. */
int rr_driver_client_gone(struct rr_driver *rd, uint64_t client_id);

/* Unmaps and unlinks the domain.  Safe on a zeroed or stopped rd. */
void rr_driver_stop(struct rr_driver *rd);

#endif
