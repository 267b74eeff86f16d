/*
 * A subscription made anew after a client error (resub.h).
 */
#include "resub.h"

#include "faultline/cluster.h"
#include "faultline/error.h"

int
fli_resub_poll(struct fli_resub *rs, fl_client *c, uint64_t now, uint64_t retry_ns,
               uint64_t give_up_ns)
{
	int rc;

	if (rs->reg != 0 && now >= rs->at + give_up_ns) {
		/* No answer (a lost response, a lapped broadcast): again. */
		(void)fl_client_cancel(c, rs->reg);
		rs->reg = 0;
		rs->want = true;
	}
	if (rs->reg == 0 && rs->want && now >= rs->at) {
		rs->want = false;
		rs->at = now + retry_ns;
		if (rs->sub != NULL)
			(void)fl_subscription_close(rs->sub);
		rs->sub = NULL;
		if (fl_client_add_subscription_start(c, FL_CLUSTER_CHANNEL, rs->stream, NULL,
		                                     &rs->reg) != 0) {
			rs->reg = 0;
			rs->want = true; /* at a later pass */
		}
		return 1;
	}
	if (rs->reg == 0)
		return 0;
	rc = fl_client_add_subscription_poll(c, rs->reg, &rs->sub);
	if (rc == FL_EAGAIN)
		return 0;
	rs->reg = 0;
	if (rc != 0) {
		rs->sub = NULL;
		rs->want = true;
	}
	return 1;
}

void
fli_resub_close(struct fli_resub *rs, fl_client *c)
{
	if (rs->reg != 0)
		(void)fl_client_cancel(c, rs->reg);
	if (rs->sub != NULL)
		(void)fl_subscription_close(rs->sub);
	rs->reg = 0;
	rs->sub = NULL;
}
