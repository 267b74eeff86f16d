/*
 * reqrep_prop_planted: the request/response properties with a planted
 * bug (B4 in the owners model, B5 in the contexts model; --plant NAME).
 * Each must be found from every seed and shrunk to no more steps than its
 * hand-written reproduction in fixtures/.
 */
#include "faultline/prop.h"

#include "prop_program.h"
#include "reqrep_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *reqrep_plant;

/* The planted bugs, one property each, named "<property>+<plant>" so that
 * a saved trace replays with its plant (`faultline replay TRACE` runs
 * `reqrep_prop_planted --replay TRACE`). */
static int
planted_prop(struct fl_prop_ctx *ctx)
{
	const struct fl_model_spec *spec = fl_prop_arg(ctx);
	reqrep_plant = strchr(spec->name, '+') + 1;
	return strncmp(spec->name, "reqrep_ctx", 10) == 0 ? reqrep_ctx_prop(ctx)
	                                                  : fl_model_prop(ctx);
}

static const struct fl_prop_def planted_props[] = {
	{ "reqrep_owners+b4_response", planted_prop, &reqrep_owners_b4_response_spec,
	  "B4: a client releases a response only when its seq is the expected one" },
	{ "reqrep_owners+b4_port", planted_prop, &reqrep_owners_b4_port_spec,
	  "B4: a server port lost on an error path" },
	{ "reqrep_ctx+b5_send", planted_prop, &reqrep_ctx_b5_send_spec,
	  "B5: a message freed after a successful send" },
	{ "reqrep_ctx+b5_close", planted_prop, &reqrep_ctx_b5_close_spec,
	  "B5: an aio freed and its context closed with a receive pending" },
};

/* Each planted bug must be found on every seed and shrunk to no more steps
 * than its bound: the hand-written reproduction's length in this
 * property's steps. */
struct plant_def {
	const char *name;
	const struct fl_prop_def *prop;
	const char *helper;  /* a word of the helper's step description */
	const char *finding; /* what the failure must say: the broken invariant */
	unsigned max_steps;
};

static const struct plant_def plants[] = {
	/* fixtures/b4_response_leak.c leaks first in its second round: open
	 * server, open client, 2 x (call, serve, take response) */
	{ "b4_response", &planted_props[0], "B4 helper", "chunks, the model says", 8 },
	/* fixtures/b4_port_churn.c: one start_server whose configure fails */
	{ "b4_port", &planted_props[1], "B4 helper", "ports, the model says", 1 },
	/* fixtures/b5_free_after_send.c: open a context, send, free */
	{ "b5_send", &planted_props[2], "send", "freed twice", 2 },
	/* fixtures/b5_close_pending.c: open a context, send, wait, receive,
	 * give up (free the aio, close) */
	{ "b5_close", &planted_props[3], "B5 helper", "freed with an operation pending", 5 },
};

int
main(int argc, char **argv)
{
	if (planted_help(argc, argv, " --plant b4_response|b4_port|b5_send|b5_close"))
		return 0;
	start_reaper(REQREP_DIRS);
	/* --replay / --shrink of a saved trace: fl_prop_main, without --plant. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--replay") == 0 || strcmp(argv[i], "--shrink") == 0) {
			int k = 0;
			for (int j = 0; j < argc; j++)
				if (strcmp(argv[j], "--plant") == 0)
					j++;
				else
					argv[k++] = argv[j];
			argv[k] = NULL;
			return fl_prop_main(k, argv, planted_props,
			                    sizeof planted_props / sizeof planted_props[0]);
		}
	/* --bench [RUNS]: trials and seconds to find and shrink each bug. */
	if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
		unsigned runs = argc >= 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 10;
		printf("# reqrep_prop_planted: find and shrink, seeds 1..%u\n", runs);
		for (size_t i = 0; i < sizeof plants / sizeof plants[0]; i++)
			bench_find(plants[i].name, plants[i].prop, 1, runs);
		remove_leftovers();
		return 0;
	}
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--plant") == 0)
			reqrep_plant = argv[i + 1];
	const struct plant_def *pd = NULL;
	for (size_t i = 0; reqrep_plant && i < sizeof plants / sizeof plants[0]; i++)
		if (strcmp(plants[i].name, reqrep_plant) == 0)
			pd = &plants[i];
	if (!pd) {
		planted_usage(stderr, argv[0], " --plant b4_response|b4_port|b5_send|b5_close");
		return 2;
	}
	/* fl_prop_config_args leaves --plant NAME alone.  Under memcheck a
	 * shrink of 60 runs. */
	int code = planted_check(argc, argv, pd->name, pd->prop, pd->helper, pd->finding,
	                         pd->max_steps, 60);
	remove_leftovers();
	return code;
}
