/*
 * Recording a run's timeline (timeline.h): the run's side.  Every call
 * is a no-op unless the run keeps one (r->tl).  Records are claimed with
 * one atomic add, so actors of any mode (threads, processes sharing the
 * region) append without a lock; an op's record is claimed when it
 * starts and completed by its own actor when it ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "faultline/aio.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "faultline/sim.h"
#include "faultline/stats.h"

#include "run/run_internal.h"
#include "run/sanitizer.h"
#include "run/timeline.h"

static size_t
tl_bytes(uint32_t cap)
{
	return sizeof(struct fli_tl) + (size_t)cap * sizeof(struct fli_tl_event);
}

int
fli_tl_open(struct run *r)
{
	struct fli_tl *tl = mmap(NULL, tl_bytes(FLI_TL_CAP), PROT_READ | PROT_WRITE,
	                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (tl == MAP_FAILED)
		return FL_ENOMEM;
	tl->cap = FLI_TL_CAP;
	tl->version = FLI_TL_VERSION;
	tl->t0 = fl_clock_now_ns();
	r->tl = tl;
	return 0;
}

void
fli_tl_close(struct run *r)
{
	if (r->tl != NULL)
		munmap(r->tl, tl_bytes(r->tl->cap));
	r->tl = NULL;
}

size_t
fli_tl_size(const struct run *r)
{
	uint32_t n;

	if (r->tl == NULL)
		return 0;
	n = __atomic_load_n(&r->tl->count, __ATOMIC_RELAXED);
	return tl_bytes(n < r->tl->cap ? n : r->tl->cap);
}

/* Now: under sim the step and the virtual time since the sim began
 * (after it, as at its last step: the end-of-run audit's violations);
 * otherwise an order number and the time since the run began. */
static void
stamp(struct run *r, uint32_t *step, uint64_t *t)
{
	struct fli_tl *tl = r->tl;

	if (r->s->mode != FL_SCN_MODE_SIM) {
		*step = (uint32_t)__atomic_add_fetch(&tl->seq, 1, __ATOMIC_RELAXED);
		*t = fl_clock_now_ns() - tl->t0;
		return;
	}
	if (fl_sim_now() != 0) {
		if (tl->sim_t0 == 0)
			tl->sim_t0 = fl_sim_now();
		tl->seq = fl_sim_steps();
		tl->sim_last = fl_sim_now() - tl->sim_t0;
	}
	*step = (uint32_t)tl->seq;
	*t = tl->sim_last;
}

/* A new record stamped with now, or NULL (no timeline, or full: the
 * count goes on past cap, so the reader knows how many were lost). */
static struct fli_tl_event *
claim(struct run *r, enum fli_tl_kind kind, int actor)
{
	struct fli_tl *tl = r->tl;
	struct fli_tl_event *e;
	uint32_t at;

	if (tl == NULL)
		return NULL;
	at = __atomic_fetch_add(&tl->count, 1, __ATOMIC_RELAXED);
	if (at >= tl->cap)
		return NULL;
	e = &tl->ev[at];
	memset(e, 0, sizeof(*e));
	e->actor = (int16_t)actor;
	stamp(r, &e->step0, &e->t0);
	e->step1 = e->step0;
	e->t1 = e->t0;
	e->kind = (uint8_t)kind;
	return e;
}

static void
copy_name(char *dst, size_t len, const char *a, const char *b)
{
	snprintf(dst, len, "%s%s%s", a, b != NULL ? "@" : "", b != NULL ? b : "");
}

void
fli_tl_op_begin(struct actor_run *ar, int index, uint32_t round)
{
	const struct fl_scenario_op *op = &ar->a->ops[index];
	struct fli_tl_event *e = claim(ar->run, FLI_TL_OP, ar->index);

	ar->tl_op = e;
	if (e == NULL)
		return;
	e->line = op->line;
	e->outcome = FLI_TL_OPEN;
	e->u.op.index = (uint16_t)index;
	e->u.op.round = round;
}

void
fli_tl_op_error(struct actor_run *ar, const char *what, int rv, bool fatal)
{
	struct fli_tl_event *e = ar->tl_op;

	if (e == NULL)
		return;
	if (e->u.op.rv == 0) {
		e->u.op.rv = rv;
		snprintf(e->u.op.what, sizeof(e->u.op.what), "%s", what);
	}
	if (fatal || e->outcome != FLI_TL_FATAL)
		e->outcome = fatal ? FLI_TL_FATAL : FLI_TL_TOLERATED;
}

/* The gauges as the actor's process sees them now. */
static void
gauges(struct actor_run *ar)
{
	struct run *r = ar->run;
	struct fli_tl_event *e;
	fl_rr_domain *dom = ar->dom != NULL ? ar->dom : r->driver_dom;
	struct fl_aio_debug aio;

	/* The driver's gauges are read through its files: with libc faults
	 * (libfiu's POSIX preload) those reads would be calls the rules count. */
	if (r->tl == NULL || fl_scenario_libc_faults(r->s))
		return;
	e = claim(r, FLI_TL_GAUGES, ar->index);
	if (e == NULL)
		return;
	if (r->pubsub && __atomic_load_n(&r->driver_state, __ATOMIC_RELAXED) == RUN_DRIVER_READY) {
		struct fl_stats *st = malloc(sizeof(*st));

		if (st != NULL && fl_stats_read(r->ns, st) == 0) {
			int64_t regs = 0;

			for (int i = 0; i < st->client_count; i++)
				if (st->clients[i].state == FL_CLIENT_ACTIVE)
					regs += st->clients[i].registrations +
					        st->clients[i].pending_registrations;
			e->u.gauges[FLI_TL_G_IMAGE_REFS] = (int32_t)st->image_refs_held;
			e->u.gauges[FLI_TL_G_PUBLICATIONS] = (int32_t)st->publications;
			e->u.gauges[FLI_TL_G_SUBSCRIPTIONS] = (int32_t)st->subscriptions;
			e->u.gauges[FLI_TL_G_REGISTRATIONS] = (int32_t)regs;
			e->u.gauges[FLI_TL_G_SHM_FILES] = (int32_t)st->log_files;
		}
		free(st);
	}
	/* The pools' and the aio counters are atomics other threads store:
	 * under ThreadSanitizer, an actor thread's acquiring read of them
	 * would order it after those threads and hide their races.  The
	 * driver's gauges above are read through the kernel (pread). */
	if (r->threaded && strstr(fli_san_build(), "thread") != NULL)
		return;
	if (dom != NULL && (ar->dom != NULL || r->s->mode != FL_SCN_MODE_PROC)) {
		struct fl_rr_stats rs;
		int64_t used = 0;

		fl_rr_stats(dom, &rs);
		for (uint32_t c = 0; c < rs.chunks.n_classes && c < FL_CHUNK_MAX_CLASSES; c++)
			used += (int64_t)rs.chunks.cls[c].loaned;
		e->u.gauges[FLI_TL_G_PORTS] = (int32_t)(rs.servers_in_use + rs.clients_in_use);
		e->u.gauges[FLI_TL_G_CHUNKS] = (int32_t)used;
	}
	fl_aio_debug_read(&aio);
	e->u.gauges[FLI_TL_G_MESSAGES] = (int32_t)(aio.msgs_allocated - aio.msgs_freed);
}

void
fli_tl_op_end(struct actor_run *ar)
{
	struct fli_tl_event *e = ar->tl_op;
	struct run *r = ar->run;

	ar->tl_op = NULL;
	if (e == NULL)
		return;
	stamp(r, &e->step1, &e->t1);
	if (e->outcome == FLI_TL_OPEN)
		e->outcome = FLI_TL_OK;
	gauges(ar);
}

void
fli_tl_crashed(struct actor_run *ar)
{
	struct fli_tl_event *e = ar->tl_op;

	if (e == NULL)
		return;
	stamp(ar->run, &e->step1, &e->t1);
	e->outcome = FLI_TL_CRASHED;
	ar->tl_op = NULL;
}

void
fli_tl_fault(struct run *r, int actor, int point, const char *name, uint64_t hit, int action)
{
	struct fli_tl_event *e = claim(r, FLI_TL_FAULT, actor);

	if (e == NULL)
		return;
	e->outcome = (uint8_t)action;
	e->u.fault.point = point;
	e->u.fault.hit = hit;
	if (point < 0)
		snprintf(e->u.fault.name, sizeof(e->u.fault.name), "%s", name);
}

void
fli_tl_named(struct run *r, int kind, int actor, const char *name, const char *where)
{
	struct fli_tl_event *e = claim(r, kind, actor);

	if (e != NULL)
		copy_name(e->u.name, sizeof(e->u.name), name != NULL ? name : "?", where);
}

void
fli_tl_decision(void *arg, uint64_t step, const char *actor)
{
	struct run *r = arg;
	struct fli_tl_event *e;

	/* Under sim only: one thread. */
	if (r->tl->decisions++ >= FLI_TL_DECISIONS_MAX ||
	    (e = claim(r, FLI_TL_DECISION, -1)) == NULL)
		return;
	e->step0 = e->step1 = (uint32_t)step;
	copy_name(e->u.name, sizeof(e->u.name), actor, NULL);
}

void
fli_tl_violation(struct run *r)
{
	(void)claim(r, FLI_TL_VIOLATION, -1);
}
