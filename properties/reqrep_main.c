/*
 * reqrep_prop: the request/response properties (reqrep_owners_prop.c,
 * reqrep_ctx_prop.c) as one program, run the way CI runs them (see
 * prop_program.h).
 */
#include "faultline/prop.h"

#include "prop_program.h"
#include "reqrep_models.h"

static const struct fl_prop_def props[] = {
	{ "reqrep_owners", fl_model_prop, &reqrep_owners_spec,
	  "request/response ports and chunks of three actors and a crashing client process: "
	  "per-owner balance at every step, FIFO takes, zero left at the end" },
	{ "reqrep_owners_faults", fl_model_prop, &reqrep_owners_faults_spec,
	  "the same with loans, port allocations and sends failing at random: nothing left "
	  "behind" },
	{ "reqrep_ctx", reqrep_ctx_prop, &reqrep_ctx_spec,
	  "contexts and aios under the deterministic scheduler: messages freed exactly once, "
	  "no aio freed or completed after close, callbacks owed, ports and chunks balanced" },
	{ "reqrep_ctx_faults", reqrep_ctx_prop, &reqrep_ctx_faults_spec,
	  "the same with sends failing at random (chunk loan, request/response send)" },
};

int
main(int argc, char **argv)
{
	return prop_program_main("reqrep_prop", argc, argv, props, sizeof props / sizeof props[0],
	                         REQREP_DIRS);
}
