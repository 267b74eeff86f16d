/*
 * The table of domains (run_internal.h): the parts of the system a
 * scenario drives, each with its interpreter and its audit.  In the
 * order they audit; they close in the reverse order.
 */
#include <stddef.h>

#include "run/run_internal.h"
#include "scenario/target_internal.h"

static const struct fli_run_domain pubsub = {
	.name = "pubsub",
	.op = fli_interp_pubsub_op,
	.close = fli_interp_pubsub_close,
	.quiet = fli_interp_pubsub_quiet,
	.audit = fli_audit_pubsub,
	.fli_audit_step = fli_audit_pubsub_step,
};

static const struct fli_run_domain reqrep = {
	.name = "reqrep",
	.op = fli_interp_reqrep_op,
	.close = fli_interp_reqrep_close,
	.audit = fli_audit_reqrep,
	.fli_audit_step = fli_audit_reqrep_step,
};

static const struct fli_run_domain cluster = {
	.name = "cluster",
	.op = fli_interp_cluster_op,
	.close = fli_interp_client_close,
	.busy = fli_cluster_busy,
};

static const struct fli_run_domain *const domains[FL_SCN_DOMAIN__COUNT] = {
	[FL_SCN_DOMAIN_PUBSUB] = &pubsub,
	[FL_SCN_DOMAIN_REQREP] = &reqrep,
	[FL_SCN_DOMAIN_CLUSTER] = &cluster,
	[FL_SCN_DOMAIN_TARGET] = &fli_target_domain,
};

const struct fli_run_domain *
fli_run_domain(enum fl_scn_domain d)
{
	return (unsigned)d < FL_SCN_DOMAIN__COUNT ? domains[d] : NULL;
}

bool
fli_run_domains_busy(struct run *r)
{
	for (int d = 0; d < FL_SCN_DOMAIN__COUNT; d++)
		if (domains[d] != NULL && domains[d]->busy != NULL && domains[d]->busy(r))
			return true;
	return false;
}

bool
fli_run_domains_quiet(struct run *r)
{
	for (int d = 0; d < FL_SCN_DOMAIN__COUNT; d++)
		if (domains[d] != NULL && domains[d]->quiet != NULL && !domains[d]->quiet(r))
			return false;
	return true;
}

const struct fl_target *const *
fli_builtin_targets(enum fl_scn_domain d)
{
	static const struct fl_target *const pubsub_t[] = { &fli_pubsub_target, NULL };
	static const struct fl_target *const reqrep_t[] = { &fli_reqrep_target, NULL };
	static const struct fl_target *const cluster_t[] = { &fli_cluster_target,
		                                             &fli_cluster_client_target, NULL };
	static const struct fl_target *const none[] = { NULL };

	switch (d) {
	case FL_SCN_DOMAIN_PUBSUB: return pubsub_t;
	case FL_SCN_DOMAIN_REQREP: return reqrep_t;
	case FL_SCN_DOMAIN_CLUSTER: return cluster_t;
	default: return none;
	}
}
