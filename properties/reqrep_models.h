/*
 * The request/response properties: their two models, each in a file of its
 * own (reqrep_owners_prop.c: ports and chunks per owner, with a crashing
 * client process; reqrep_ctx_prop.c: contexts and aios under the sim), the
 * specs the programs' mains (reqrep_main.c, reqrep_planted.c) name, and
 * what both models' steps use.
 */
#ifndef PROPERTIES_REQREP_MODELS_H
#define PROPERTIES_REQREP_MODELS_H

#include "faultline/error.h"
#include "faultline/prop.h"
#include "faultline/reqrep.h"

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* What the names of the request/response programs' trials' run
 * directories start with (both models' setups name them "prop-rr-..."). */
#define REQREP_DIRS "faultline-prop-rr-"

/* The models' specs, the argument of their fl_prop_def: the owners model
 * runs under fl_model_prop, the contexts model under reqrep_ctx_prop. */
extern const struct fl_model_spec reqrep_owners_spec;
extern const struct fl_model_spec reqrep_owners_faults_spec;
extern const struct fl_model_spec reqrep_ctx_spec;
extern const struct fl_model_spec reqrep_ctx_faults_spec;

/* Runs the contexts model (its spec is fl_prop_arg(ctx)) inside one sim
 * actor; returns a FL_PROP_* verdict. */
int reqrep_ctx_prop(struct fl_prop_ctx *ctx);

#ifdef PLANT_BUGS
/* The planted programs' specs, named "<property>+<plant>": each is its
 * model's command set with that bug's helper enabled. */
extern const struct fl_model_spec reqrep_owners_b4_response_spec;
extern const struct fl_model_spec reqrep_owners_b4_port_spec;
extern const struct fl_model_spec reqrep_ctx_b5_send_spec;
extern const struct fl_model_spec reqrep_ctx_b5_close_spec;

/* Which planted bug this run enables (set by the planted property before
 * its trials run; NULL: none). */
extern const char *reqrep_plant;

static inline bool
planted(const char *name)
{
	return reqrep_plant && strcmp(reqrep_plant, name) == 0;
}
#endif

/* An index in [0, n), always one draw of the same bound whatever n is:
 * deleting a step then never shifts the draws of later steps (a plain
 * fl_gen_one_of draws nothing for n == 1). */
static inline size_t
pick(struct fl_prop_ctx *ctx, size_t n)
{
	uint64_t v = fl_choice_draw(fl_prop_choice(ctx), 16);
	return n ? (size_t)(v % n) : 0;
}

/* A call returned what the model does not expect. */
static inline int
mismatch(struct fl_prop_ctx *ctx, const char *what, int got, int want)
{
	return fl_prop_fail(ctx, "%s returned %s, the model expects %s (%s)", what, fl_errname(got),
	                    fl_errname(want), fl_rr_errmsg());
}

/* Files in a directory (-1: none), their names space-separated in names
 * (as many as fit in len bytes). */
static inline int
count_dir(const char *path, char *names, size_t len)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	if (len)
		names[0] = '\0';
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		size_t at = strlen(names), add = strlen(e->d_name) + 1;
		if (len > at + add) {
			if (at)
				names[at++] = ' ';
			memcpy(names + at, e->d_name, add);
		}
	}
	closedir(d);
	return n;
}

#endif
