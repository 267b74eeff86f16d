/*
 * The model-based (stateful) runner: a property that draws a sequence of
 * commands, applies each to a model and to the real system, and checks
 * invariants after every step (prop.h).
 */
#include "prop_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

int
fl_model_prop(struct fl_prop_ctx *ctx)
{
	return fl_model_run(ctx, fl_prop_arg(ctx));
}

int
fl_model_run(struct fl_prop_ctx *ctx, const struct fl_model_spec *spec)
{
	struct fl_choice *c = fl_prop_choice(ctx);
	if (!spec || !spec->cmds || spec->ncmds == 0 || !spec->setup)
		return fl_prop_fail(ctx, "model spec is incomplete");
	unsigned max_steps = spec->max_steps ? spec->max_steps : 50;
	unsigned avg = spec->avg_steps ? spec->avg_steps : 10;
	void *model = NULL, *real = NULL;
	int rc = spec->setup(ctx, &model, &real);
	if (rc != FL_PROP_PASS)
		return rc == FL_PROP_FAIL ? rc : fl_prop_fail(ctx, "setup failed: %d", rc);

	size_t ncmds = spec->ncmds > 64 ? 64 : spec->ncmds;
	uint32_t all_w[64];
	for (size_t i = 0; i < ncmds; i++)
		all_w[i] = spec->cmds[i].weight ? spec->cmds[i].weight : 1;
	unsigned step = 0;
	for (; step < max_steps; step++) {
		fl_choice_span_begin(c, "step");
		if (!fl_choice_weighted(c, avg, avg + 1)) {
			fl_choice_span_end(c);
			break;
		}
		/* The command is drawn over all commands, so a value means the
		 * same command whatever the model's state: deleting an earlier
		 * step does not turn a later "close" into a "release".  When
		 * its precondition fails, the nearest enabled command before it
		 * in table order runs instead (after it when none before is
		 * enabled), still with one draw, so that deleting a step never
		 * shifts the draws of the steps after it.  Before first: a
		 * smaller value then names that command by itself, which the
		 * shrinker finds by lowering the value. */
		const struct fl_model_cmd *cmd = NULL;
		size_t k = fl_gen_one_of_weighted(c, all_w, ncmds);
		for (size_t t = 0; t < ncmds && !cmd; t++) {
			size_t i = t <= k ? k - t : t;
			const struct fl_model_cmd *x = &spec->cmds[i];
			if (!x->precondition || x->precondition(model))
				cmd = x;
		}
		if (!cmd) {
			fl_choice_span_end(c);
			break;
		}
		_Alignas(max_align_t) unsigned char args[FL_MODEL_ARGS_MAX];
		memset(args, 0, sizeof args);
		if (cmd->gen)
			cmd->gen(ctx, model, args);
		char words[256];
		if (cmd->describe)
			cmd->describe(args, words, sizeof words);
		else
			snprintf(words, sizeof words, "%s", cmd->name);
		fl_prop_log(ctx, "step %u: %s", step + 1, words);
		rc = cmd->apply_real ? cmd->apply_real(ctx, real, model, args) : FL_PROP_PASS;
		if (rc == FL_PROP_PASS && cmd->apply_model)
			cmd->apply_model(model, args);
		if (rc == FL_PROP_PASS && spec->check)
			rc = spec->check(ctx, model, real);
		fl_choice_span_end(c);
		if (rc != FL_PROP_PASS) {
			fl_prop_log(ctx, "  -> failed after step %u", step + 1);
			goto out;
		}
	}
	if (spec->final_check) {
		fl_prop_log(ctx, "final check after %u steps", step);
		rc = spec->final_check(ctx, model, real);
	}
out:
	if (spec->teardown)
		spec->teardown(model, real);
	return rc;
}
