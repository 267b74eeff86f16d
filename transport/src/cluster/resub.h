/*
 * A node's subscription (consensus or ingress) that is made anew when
 * the client reports an error it could not handle on its own: above all
 * an image it failed to map, after which that peer would never be heard
 * again (its publication stays connected to the lost image); or a lost
 * answer.  A new subscription gets every image offered afresh.  Without
 * blocking: the add is started, polled on later passes, given up and
 * asked again after give_up_ns; tries are retry_ns apart, so an error at
 * every try lets time pass.
 */
#ifndef FLI_CLUSTER_RESUB_H
#define FLI_CLUSTER_RESUB_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline/client.h"

struct fli_resub {
	fl_subscription *sub; /* NULL while it is being replaced */
	int64_t reg;          /* the add in flight, or 0 */
	bool want;            /* replace it at the next pass that may */
	uint64_t at;          /* ... not before this */
	int32_t stream;       /* on FL_CLUSTER_CHANNEL */
};

/* fli_resub_poll makes one pass; returns the work done (0 or 1). */
int fli_resub_poll(struct fli_resub *rs, fl_client *c, uint64_t now, uint64_t retry_ns,
                   uint64_t give_up_ns);

/* fli_resub_close cancels an add in flight and closes the subscription
 * (with a live client; a dead one's went with it). */
void fli_resub_close(struct fli_resub *rs, fl_client *c);

#endif
