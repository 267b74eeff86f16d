/*
 * Toy systems with planted bugs (toys.h).
 */
#include "toys.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned toy_sum_calls;

/* ---------------- refcount manager ---------------- */

struct rm_real {
	int refs;         /* references on the resource */
	int user_handles; /* handles the user holds */
	bool open;
	bool buggy;
};

struct rm_model {
	int held;
	bool open;
};

/* A model spec followed by its "buggy" flag, read back by rm_setup. */
struct rm_spec {
	struct fl_model_spec spec;
	bool buggy;
};

static int
rm_setup(struct fl_prop_ctx *ctx, void **model, void **real)
{
	struct rm_model *m = calloc(1, sizeof *m);
	struct rm_real *r = calloc(1, sizeof *r);
	if (!m || !r) {
		free(m);
		free(r);
		return fl_prop_fail(ctx, "out of memory");
	}
	m->open = r->open = true;
	r->buggy = ((const struct rm_spec *)fl_prop_arg(ctx))->buggy;
	*model = m;
	*real = r;
	return FL_PROP_PASS;
}

static void
rm_teardown(void *model, void *real)
{
	free(model);
	free(real);
}

static bool
rm_is_open(const void *model)
{
	return ((const struct rm_model *)model)->open;
}

static bool
rm_can_release(const void *model)
{
	const struct rm_model *m = model;
	return m->open && m->held > 0;
}

static int
rm_acquire_real(struct fl_prop_ctx *ctx, void *real, const void *model, void *args)
{
	struct rm_real *r = real;
	r->refs++;
	r->user_handles++;
	return FL_PROP_PASS;
}

static void
rm_acquire_model(void *model, const void *args)
{
	((struct rm_model *)model)->held++;
}

static int
rm_release_real(struct fl_prop_ctx *ctx, void *real, const void *model, void *args)
{
	struct rm_real *r = real;
	r->refs--;
	r->user_handles--;
	return FL_PROP_PASS;
}

static void
rm_release_model(void *model, const void *args)
{
	((struct rm_model *)model)->held--;
}

/* The convenience helper: look the resource up (taking a reference), read
 * it, drop the reference.  The planted bug: when the resource is already
 * referenced the "fast path" never drops it (B1 in miniature). */
static int
rm_helper_real(struct fl_prop_ctx *ctx, void *real, const void *model, void *args)
{
	struct rm_real *r = real;
	bool fast = r->refs > 0;
	r->refs++;
	if (!(fast && r->buggy))
		r->refs--;
	return FL_PROP_PASS;
}

static int
rm_close_real(struct fl_prop_ctx *ctx, void *real, const void *model, void *args)
{
	struct rm_real *r = real;
	r->refs -= r->user_handles;
	r->user_handles = 0;
	r->open = false;
	return FL_PROP_PASS;
}

static void
rm_close_model(void *model, const void *args)
{
	struct rm_model *m = model;
	m->held = 0;
	m->open = false;
}

static int
rm_check(struct fl_prop_ctx *ctx, const void *model, void *real)
{
	const struct rm_model *m = model;
	const struct rm_real *r = real;
	if (r->user_handles != m->held)
		return fl_prop_fail(ctx, "user holds %d handles, model says %d", r->user_handles,
		                    m->held);
	if (!r->open && r->refs != 0)
		return fl_prop_fail(ctx, "refcount leak: %d reference(s) left after close",
		                    r->refs);
	return FL_PROP_PASS;
}

static int
rm_final(struct fl_prop_ctx *ctx, void *model, void *real)
{
	struct rm_real *r = real;
	if (r->open)
		return FL_PROP_PASS; /* the run ended before close: nothing to audit */
	return r->refs == 0 ? FL_PROP_PASS
	                    : fl_prop_fail(ctx, "refcount leak at the end: %d", r->refs);
}

static const struct fl_model_cmd rm_cmds[] = {
	{ .name = "acquire",
	  .weight = 4,
	  .precondition = rm_is_open,
	  .apply_real = rm_acquire_real,
	  .apply_model = rm_acquire_model },
	{ .name = "release",
	  .weight = 4,
	  .precondition = rm_can_release,
	  .apply_real = rm_release_real,
	  .apply_model = rm_release_model },
	{ .name = "lookup_helper",
	  .weight = 2,
	  .precondition = rm_is_open,
	  .apply_real = rm_helper_real },
	{ .name = "close",
	  .weight = 1,
	  .precondition = rm_is_open,
	  .apply_real = rm_close_real,
	  .apply_model = rm_close_model },
};


#define RM_SPEC(bug)                                                                               \
	{                                                                                          \
		.spec = { .name = "refcount",                                                      \
			  .cmds = rm_cmds,                                                         \
			  .ncmds = 4,                                                              \
			  .max_steps = 60,                                                         \
			  .avg_steps = 25,                                                         \
			  .setup = rm_setup,                                                       \
			  .check = rm_check,                                                       \
			  .final_check = rm_final,                                                 \
			  .teardown = rm_teardown },                                               \
		.buggy = bug                                                                       \
	}

static const struct rm_spec rm_buggy = RM_SPEC(true);
static const struct rm_spec rm_good = RM_SPEC(false);

const struct fl_prop_def toy_refcount_leak = { "toy_refcount_leak", fl_model_prop, &rm_buggy,
	                                       "refcount leak needing 3 steps" };
const struct fl_prop_def toy_refcount_ok = { "toy_refcount_ok", fl_model_prop, &rm_good,
	                                     "correct refcount manager" };

/* ---------------- scalar and list toys ---------------- */

static int
sum_prop(struct fl_prop_ctx *ctx)
{
	struct fl_choice *c = fl_prop_choice(ctx);
	struct fl_gen_list l;
	uint64_t sum = 0;
	size_t n = 0;
	char buf[512];
	size_t off = 0;
	toy_sum_calls++;
	fl_gen_list_begin(&l, c, 0, 30, 4);
	while (fl_gen_list_next(&l)) {
		uint64_t v = fl_gen_u64(c, 0, 10000);
		sum += v;
		n++;
		if (off < sizeof buf - 32)
			off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%llu",
			                        n > 1 ? "," : "", (unsigned long long)v);
	}
	buf[off] = 0;
	fl_prop_log(ctx, "list [%s]", buf);
	if (sum >= 1000)
		return fl_prop_fail(ctx, "sum %llu >= 1000 for [%s]", (unsigned long long)sum, buf);
	return FL_PROP_PASS;
}

const struct fl_prop_def toy_sum_below_1000 = { "toy_sum_below_1000", sum_prop, NULL,
	                                        "sum of a list stays below 1000" };

/* x drawn in [0, max] and logged as "x = X" (the tests look for that line). */
static uint64_t
logged_x(struct fl_prop_ctx *ctx, uint64_t max)
{
	uint64_t x = fl_gen_u64(fl_prop_choice(ctx), 0, max);
	fl_prop_log(ctx, "x = %llu", (unsigned long long)x);
	return x;
}

static int
abort_prop(struct fl_prop_ctx *ctx)
{
	uint64_t x = logged_x(ctx, 1000);
	if (x >= 500)
		abort();
	if (x >= 100)
		return fl_prop_fail(ctx, "x = %llu >= 100", (unsigned long long)x);
	return FL_PROP_PASS;
}

const struct fl_prop_def toy_abort_at_500 = { "toy_abort_at_500", abort_prop, NULL,
	                                      "aborts at 500, fails at 100" };

static int
segv_prop(struct fl_prop_ctx *ctx)
{
	uint64_t x = logged_x(ctx, 1000);
	if (x >= 300)
		raise(SIGSEGV);
	return FL_PROP_PASS;
}

const struct fl_prop_def toy_segv_at_300 = { "toy_segv_at_300", segv_prop, NULL, "SIGSEGV at 300" };

static int
hang_prop(struct fl_prop_ctx *ctx)
{
	uint64_t x = logged_x(ctx, 100);
	if (x >= 50)
		for (;;)
			pause();
	return FL_PROP_PASS;
}

const struct fl_prop_def toy_hang_at_50 = { "toy_hang_at_50", hang_prop, NULL, "hangs at 50" };

static int
pass_prop(struct fl_prop_ctx *ctx)
{
	struct fl_choice *c = fl_prop_choice(ctx);
	uint64_t s = 0;
	for (int i = 0; i < 10; i++)
		s += fl_gen_u64(c, 0, 1000);
	return s <= 10000 ? FL_PROP_PASS : fl_prop_fail(ctx, "impossible");
}

const struct fl_prop_def toy_pass = { "toy_pass", pass_prop, NULL, "always passes" };

static int
sigkill_prop(struct fl_prop_ctx *ctx)
{
	uint64_t x = fl_gen_u64(fl_prop_choice(ctx), 0, 1000);
	if (x >= 500)
		raise(SIGKILL); /* no handler runs: nothing is reported */
	return FL_PROP_PASS;
}

const struct fl_prop_def toy_sigkill_at_500 = { "toy_sigkill_at_500", sigkill_prop, NULL,
	                                        "killed by SIGKILL at 500" };
