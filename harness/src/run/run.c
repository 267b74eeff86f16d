/*
 * One run's own state, shared by the runner, the interpreter and the
 * auditor: the first violation (run_fail), an operation's error and
 * whether a fault excuses it (op_error), deadlines, the wait for the
 * embedded driver, and the run's story (for faultline shrink).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/platform.h"

#include "run/run_internal.h"

static uint32_t
total_actor_faults(struct run *r)
{
	uint32_t n = 0;

	for (size_t i = 0; i < r->s->actor_count; i++)
		n += __atomic_load_n(&r->actors[i].faults_fired, __ATOMIC_RELAXED);
	return n;
}

void
op_error(struct actor_run *ar, const struct fl_scenario_op *op, const char *what, int rv)
{
	struct run *r = ar->run;

	ar->op_errors++;
	if ((rv < 0 && rv >= FL_ERROR_MIN && (op->expect & FL_SCN_EXPECT_BIT(rv)) != 0) ||
	    r->sweep || op_fault_fired(ar)) {
		ar->op_errors_tolerated++;
		return;
	}
	if (r->faults_configured && __atomic_load_n(&r->driver_faults_fired, __ATOMIC_RELAXED) +
	                                    total_actor_faults(r) > 0)
		run_fail(r, "operations",
		         "actor %s: %s (line %d): %s: %s (no fault fired in this operation; if an "
		         "earlier fault causes it, declare it with expect: %s or expect: any)",
		         ar->a->name, fl_scenario_op_name(op->kind), op->line, what, fl_errname(rv),
		         fl_errname(rv));
	else
		run_fail(r, "operations", "actor %s: %s (line %d): %s: %s", ar->a->name,
		         fl_scenario_op_name(op->kind), op->line, what, fl_errname(rv));
}

bool
run_faults_fired_for(const struct actor_run *ar)
{
	return ar->run->sweep || __atomic_load_n(&ar->faults_fired, __ATOMIC_ACQUIRE) > 0 ||
	       __atomic_load_n(&ar->run->driver_faults_fired, __ATOMIC_ACQUIRE) > 0;
}

bool
op_fault_fired(const struct actor_run *ar)
{
	return __atomic_load_n(&ar->faults_fired, __ATOMIC_ACQUIRE) != ar->faults_at_op ||
	       __atomic_load_n(&ar->run->driver_faults_fired, __ATOMIC_ACQUIRE) != ar->driver_faults_at_op;
}

uint64_t
deadline_after_ms(struct run *r, uint32_t ms)
{
	uint64_t d = ms != 0 ? (uint64_t)ms * FL_NS_PER_MS : r->timeout_ns;
	return fl_clock_now_ns() + d;
}

/* Wait (with a deadline) until the driver actor has started. */
int
wait_driver(struct run *r)
{
	struct fl_idle st = { 0 };
	uint64_t deadline = fl_clock_now_ns() + r->timeout_ns;

	while (__atomic_load_n(&r->driver_state, __ATOMIC_ACQUIRE) == RUN_DRIVER_STARTING) {
		if (fl_clock_now_ns() >= deadline)
			return FL_ETIMEDOUT;
		fl_idle(&st, 0, deadline);
	}
	return __atomic_load_n(&r->driver_state, __ATOMIC_ACQUIRE) == RUN_DRIVER_READY ? 0 : FL_ENOENT;
}


void
run_story(struct run *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (!r->narrate)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	uint32_t at = __atomic_fetch_add(&r->story_len, (uint32_t)n, __ATOMIC_RELAXED);
	if (at + (uint32_t)n < sizeof(r->story))
		memcpy(r->story + at, line, (size_t)n);
}

void
run_fail(struct run *r, const char *property, const char *fmt, ...)
{
	va_list ap;

	/* Stress actors are real threads: the first to fail wins. */
	if (__atomic_exchange_n(&r->failed, true, __ATOMIC_SEQ_CST))
		return;
	snprintf(r->property, sizeof(r->property), "%s", property);
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}
