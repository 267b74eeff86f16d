/*
 * What a property sees of its trial: the choice stream, failure messages
 * and the step log.
 */
#include "prop_internal.h"

#include <stdio.h>
#include <string.h>

struct fl_choice *
fl_prop_choice(struct fl_prop_ctx *ctx)
{
	return ctx->choice;
}

const void *
fl_prop_arg(const struct fl_prop_ctx *ctx)
{
	return ctx->def ? ctx->def->arg : NULL;
}

bool
fl_prop_replaying(const struct fl_prop_ctx *ctx)
{
	return ctx->replaying;
}

int
fl_prop_vfail(struct fl_prop_ctx *ctx, const char *fmt, va_list ap)
{
	if (!ctx->failed) {
		ctx->failed = true;
		vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
	}
	return FL_PROP_FAIL;
}

int
fl_prop_fail(struct fl_prop_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = fl_prop_vfail(ctx, fmt, ap);
	va_end(ap);
	return rc;
}

void
fl_prop_log(struct fl_prop_ctx *ctx, const char *fmt, ...)
{
	if (!ctx->log || ctx->loglen + 2 >= FL_PROP_LOG_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	size_t room = FL_PROP_LOG_MAX - ctx->loglen - 1;
	int n = vsnprintf(ctx->log + ctx->loglen, room, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	ctx->loglen += (size_t)n < room ? (size_t)n : room - 1;
	if (ctx->loglen + 1 < FL_PROP_LOG_MAX && ctx->log[ctx->loglen - 1] != '\n')
		ctx->log[ctx->loglen++] = '\n';
	ctx->log[ctx->loglen] = 0;
}
