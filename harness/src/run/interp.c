/*
 * The operation interpreter: each actor's loop over its operations, the
 * run's own steps (wait, barrier, crash_self, close_client), and the
 * embedded driver's liveness duty (reclaiming what crashed actors owned).
 * A domain's operations (pub/sub, request/response) are its own files'
 * (interp_<domain>.c), reached through the table of domains (domain.c).
 *
 * Every wait is a duty-cycle loop over fl_idle with a deadline, so under
 * sim virtual time carries it and a missing peer is a timeout, never a
 * hang.  An operation that fails is a violation when the scenario injects
 * no faults (property "operations"); with faults configured, errors are the
 * expected outcome and the actor goes on to its clean-up operations: the
 * properties checked at the end decide the verdict.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/target.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "faultline/sim.h"

#include "run/run_internal.h"
#include "run/timeline.h"

/* What barrier_deadlock reads of the run: per actor, its waits_at word
 * (BARRIER_GONE once it finished or crashed), per barrier its arrivals. */
#define BARRIER_GONE UINT64_MAX
struct barrier_view {
	uint64_t waits_at[RUN_MAX_ACTORS];
	int arrived[RUN_MAX_BARRIERS];
};

static void
barrier_collect(struct run *r, struct barrier_view *v)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < r->s->actor_count && i < RUN_MAX_ACTORS; i++) {
		struct actor_run *a = &r->actors[i];

		if (__atomic_load_n(&a->finished, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&a->crashed, __ATOMIC_SEQ_CST))
			v->waits_at[i] = BARRIER_GONE;
		else
			v->waits_at[i] = __atomic_load_n(&a->waits_at, __ATOMIC_SEQ_CST);
	}
	for (int k = 0; k < r->nbarriers; k++)
		v->arrived[k] = __atomic_load_n(&r->barriers[k].arrived, __ATOMIC_SEQ_CST);
}

/*
 * Every actor that can still run waits at a barrier whose round cannot
 * complete (barriers crossed in opposite orders, or a peer that finished
 * or crashed before arriving): nothing can change, so the run is a
 * deadlock, named with each actor's barrier and line, rather than an op
 * error once the barrier's timeout passes.  The first actor to see it
 * records it; the others leave their barriers too.
 *
 * With free threads (stress, proc) the actors move while they are read:
 * one read waiting at a barrier may leave it when a peer read later
 * arrives there, and then wait elsewhere.  So the state is read twice and
 * judged only when both reads agree: every word read only ever changes to
 * a value it never had (arrivals count up, an actor waits at a (barrier,
 * round) once, finished and crashed stay), so two equal reads saw the
 * state as it was at one moment.  An actor between two barriers (0) is
 * never judged; one that keeps moving is not deadlocked.
 */
static bool
barrier_deadlock(struct run *r)
{
	struct barrier_view v, again;
	char detail[480];
	size_t off = 0;
	int waiting = 0;

	if (__atomic_load_n(&r->deadlocked, __ATOMIC_SEQ_CST))
		return true;
	barrier_collect(r, &v);
	for (size_t i = 0; i < r->s->actor_count && i < RUN_MAX_ACTORS; i++) {
		uint64_t w = v.waits_at[i];

		if (w == BARRIER_GONE)
			continue;
		if (w == 0)
			return false; /* it may still arrive somewhere */
		int at = (int)(w >> 32);
		if (v.arrived[at - 1] >= (int)(uint32_t)w * r->barriers[at - 1].expected)
			return false; /* its round completed: it goes on */
		waiting++;
	}
	if (waiting == 0)
		return false;
	barrier_collect(r, &again);
	if (memcmp(&v, &again, sizeof(v)) != 0)
		return false; /* something moved: judge another time */
	for (size_t i = 0; i < r->s->actor_count && i < RUN_MAX_ACTORS && off < sizeof(detail) - 1;
	     i++) {
		struct actor_run *a = &r->actors[i];
		uint64_t w = v.waits_at[i];
		int n;

		if (w == BARRIER_GONE)
			n = snprintf(detail + off, sizeof(detail) - off, "%s%s %s", off ? "; " : "",
			             a->a->name,
			             __atomic_load_n(&a->crashed, __ATOMIC_SEQ_CST) ? "crashed"
			                                                            : "finished");
		else
			n = snprintf(detail + off, sizeof(detail) - off,
			             "%s%s waits at barrier '%s' (line %d)", off ? "; " : "",
			             a->a->name, r->barriers[(w >> 32) - 1].name,
			             __atomic_load_n(&a->last_op_line, __ATOMIC_RELAXED));
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!__atomic_exchange_n(&r->deadlocked, true, __ATOMIC_SEQ_CST))
		fli_run_fail(r, "deadlock", "no barrier can complete: %s", detail);
	return true;
}

/* Marks b broken at `round`, or at an earlier round it broke at. */
static void
barrier_break(struct barrier *b, uint32_t round)
{
	uint32_t was = __atomic_load_n(&b->broken, __ATOMIC_SEQ_CST);

	while ((was == 0 || round < was) &&
	       !__atomic_compare_exchange_n(&b->broken, &was, round, false, __ATOMIC_SEQ_CST,
	                                    __ATOMIC_SEQ_CST))
		;
}

static void
do_barrier(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct run *r = ar->run;
	struct barrier *b = NULL;
	struct fl_idle st = { 0 };
	uint64_t deadline = fli_deadline_after_ms(r, 0);
	uint32_t round = 0;

	for (int i = 0; i < r->nbarriers; i++) {
		if (strcmp(r->barriers[i].name, op->u.barrier.name) == 0) {
			b = &r->barriers[i];
			round = ++ar->barrier_rounds[i];
		}
	}
	if (b == NULL)
		return;
	uint32_t broken = __atomic_load_n(&b->broken, __ATOMIC_SEQ_CST);

	if (broken != 0 && round > broken) {
		/* A peer stopped waiting here (timed out): its rounds and
		 * this actor's no longer meet, and an arrival counted now
		 * could complete a round alone. */
		char what[160];

		snprintf(what, sizeof(what),
		         "%s (broken: an actor stopped waiting at it before, rounds out of "
		         "step)",
		         op->u.barrier.name);
		fli_op_error(ar, op, what, FL_ETIMEDOUT);
		return;
	}
	/* Arrive first, then say where it waits: a peer that sees it waiting
	 * sees its arrival counted too (barrier_deadlock).  Every arrival is
	 * an actor of this barrier arriving once a round, so at most round
	 * times expected (the assert this was: a late arrival after a peer's
	 * timeout broke it, in the code under test's name). */
	__atomic_add_fetch(&b->arrived, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ar->waits_at, (uint64_t)(b - r->barriers + 1) << 32 | round,
	                 __ATOMIC_SEQ_CST);
	fl_idle(&st, 1, FL_DEADLINE_NONE); /* arriving is progress for the others */
	/* Round k completes when every actor of the barrier arrived k times
	 * (actors with `repeat:` pass the same barrier once a round). */
	while (__atomic_load_n(&b->arrived, __ATOMIC_SEQ_CST) < (int)round * b->expected) {
		if (barrier_deadlock(r)) {
			barrier_break(b, round);
			__atomic_store_n(&ar->waits_at, 0, __ATOMIC_SEQ_CST);
			return;
		}
		/* (A peer's arrival just before the deadline completes it.) */
		if (fl_clock_now_ns() >= deadline &&
		    __atomic_load_n(&b->arrived, __ATOMIC_SEQ_CST) < (int)round * b->expected) {
			/* A peer died or is stuck: do not wait forever. */
			barrier_break(b, round);
			__atomic_store_n(&ar->waits_at, 0, __ATOMIC_SEQ_CST);
			fli_op_error(ar, op, op->u.barrier.name, FL_ETIMEDOUT);
			return;
		}
		fl_idle(&st, 0, deadline);
	}
	__atomic_store_n(&ar->waits_at, 0, __ATOMIC_SEQ_CST);
}

/* close_client: each domain closes what the actor opened in it, the
 * newest domain first (request/response, then pub/sub).  What is still
 * loaned after that is a leak. */
static void
do_close_client(struct actor_run *ar)
{
	for (int d = FL_SCN_DOMAIN__COUNT; d-- > 0;) {
		const struct fli_run_domain *dom = fli_run_domain((enum fl_scn_domain)d);

		if (dom != NULL && dom->close != NULL)
			dom->close(ar);
	}
}

static void
crash_self(struct actor_run *ar)
{
	ar->crashed = true;
	ar->crashed_at_ns = fl_clock_now_ns();
	fli_tl_crashed(ar);
	fli_tl_named(ar->run, FLI_TL_CRASH, ar->index, ar->a->name, "crash_self");
	/* A process actor dies for real, holding what it holds (it used to
	 * return and go on with its next operations). */
	if (ar->run->s->mode == FL_SCN_MODE_PROC)
		kill(getpid(), SIGKILL);
	fl_sim_crash_current();
}

static void
run_op(struct actor_run *ar, const struct fl_scenario_op *op)
{
	struct fl_idle st = { 0 };

	__atomic_store_n(&ar->last_op_line, op->line,
	                 __ATOMIC_RELAXED); /* barrier_deadlock reads it */
	fli_run_story(ar->run, "%s: %s (line %d)", ar->a->name, fl_scenario_op_label(op), op->line);
	switch (op->kind) {
	case FL_SCN_OP_OFFER_SERVICE:
	case FL_SCN_OP_CONNECT_SERVICE:
	case FL_SCN_OP_CTX_OPEN:
		ar->last_port_line = op->line;
		ar->last_port_op = (int)op->kind;
		break;
	case FL_SCN_OP_REQUEST:
	case FL_SCN_OP_RESPOND:
		ar->last_loan_line = op->line;
		ar->last_loan_op = (int)op->kind;
		break;
	default: break;
	}
	ar->faults_at_op = __atomic_load_n(&ar->faults_fired, __ATOMIC_ACQUIRE);
	ar->errors_at_op = __atomic_load_n(&ar->errors_fired, __ATOMIC_ACQUIRE);
	ar->outside_faults_at_op = __atomic_load_n(&ar->run->outside_faults, __ATOMIC_ACQUIRE);
	ar->outside_errors_at_op = __atomic_load_n(&ar->run->outside_errors, __ATOMIC_ACQUIRE);
	ar->op_sees_nodes = fl_scenario_op_domain(op->kind) == FL_SCN_DOMAIN_CLUSTER ||
	                    fl_scenario_op_domain(op->kind) == FL_SCN_DOMAIN_RUN;

	switch (op->kind) {
	case FL_SCN_OP_WAIT:
		fl_idle_sleep_until(fl_clock_now_ns() + (uint64_t)op->u.wait.ms * FL_NS_PER_MS);
		break;
	case FL_SCN_OP_BARRIER: do_barrier(ar, op); break;
	case FL_SCN_OP_CRASH_SELF: crash_self(ar); break;
	case FL_SCN_OP_CLOSE_CLIENT: do_close_client(ar); break;
	default: {
		const struct fli_run_domain *d = fli_run_domain(fl_scenario_op_domain(op->kind));

		if (d != NULL && d->op(ar, op))
			break;
		/* fli_runner_unsupported refuses such scenarios before a run. */
		fli_run_fail(ar->run, "operations",
		             "actor %s: %s (line %d) is not supported by this build", ar->a->name,
		             fl_scenario_op_label(op), op->line);
		break;
	}
	}
	fli_tl_op_end(ar);
	fl_idle(&st, 1, FL_DEADLINE_NONE); /* an operation finished: progress */
}

/* A test's (cli_test.py case harness_failure): the actor named by
 * FLI_TEST_ACTOR_EXIT ends its process with status 0 after its first op,
 * as code under test that exits would (its process: the run's own, or a
 * proc actor's).  _exit: a sanitizer build's checks at exit stay out. */
static void
test_actor_exit(const struct actor_run *ar)
{
	const char *name = getenv("FLI_TEST_ACTOR_EXIT");

	if (name != NULL && strcmp(name, ar->a->name) == 0)
		_exit(0);
}

/* Run the op list `repeat` times; the client closes when the ops end
 * (docs/scenario-format.md), as a process's client would at exit.  What its transport
 * objects still hold after that close is what the audit reports. */
void
fli_interp_actor_main(void *arg)
{
	struct actor_run *ar = arg;
	uint32_t repeat = ar->a->repeat ? ar->a->repeat : 1;

	if (ar->run->threaded)
		fli_run_set_thread_actor(ar);

	for (uint32_t k = 0; k < repeat; k++) {
		for (size_t i = 0; i < ar->a->op_count; i++) {
			ar->op = (int)i;
			fli_tl_op_begin(ar, (int)i, k);
			run_op(ar, &ar->a->ops[i]);
			if (ar->run->check_each_step)
				fli_audit_step(ar, (int)i, k);
			if (i == 0 && k == 0)
				test_actor_exit(ar);
		}
	}
	do_close_client(ar);
	if (ar->run->check_each_step)
		fli_audit_step(ar, -1, repeat);
	if (ar->run->s->mode == FL_SCN_MODE_PROC) {
		/* This process's counts die with it: hand them to the audit. */
		fli_audit_aio_since(ar->run, &ar->aio_delta);
		ar->fds_at_end = fli_audit_count_fds();
	}
	__atomic_store_n(&ar->finished, true, __ATOMIC_RELEASE);
}

/*
 * The embedded driver actor.  It starts the pub/sub driver (when the
 * scenario needs it) and the request/response domain inside the sim, so
 * every timestamp they take is virtual; serves commands; reclaims what
 * crashed actors owned once client_liveness_ms has passed (request/response;
 * the pub/sub driver times out its own clients); and, once every actor is
 * done, drains until the driver holds nothing or the drain deadline (linger
 * + liveness + 1 s) passes, so the audit sees the settled state.
 */
/* The embedded driver's duty cycle when nothing wakes it: a tenth of the
 * client liveness (so timeouts land within 10 % of it), at most 100 ms, as
 * the driver's own conductor does.  Commands wake it at once (a client's
 * write is work).  Under sim every tick is a scheduling step: a 10 ms
 * tick made a 1000 s virtual wait 10^5 steps. */
#define DRIVER_DUTY_MAX_NS (100ull * FL_NS_PER_MS)
#define DRIVER_DUTY_MIN_NS (1ull * FL_NS_PER_MS)
/* The drain's checks that the driver holds nothing (below). */
#define QUIET_EVERY_MIN_NS (250ull * 1000ull)
#define QUIET_EVERY_MAX_NS (50ull * FL_NS_PER_MS)

/* The driver thread's duty cycle: a tenth of the liveness, within the
 * bounds above. */
static uint64_t
driver_duty(const struct run *r)
{
	uint64_t duty = r->liveness_ns / 10;

	if (duty > DRIVER_DUTY_MAX_NS)
		duty = DRIVER_DUTY_MAX_NS;
	return duty < DRIVER_DUTY_MIN_NS ? DRIVER_DUTY_MIN_NS : duty;
}

static int
driver_start(struct run *r)
{
	int rv;

	/* A run's namespace is guessable (run-<pid>-<n>): whatever is there
	 * already, another user's link or directory or a dead run's, is never
	 * adopted.  The runner picked a free name; this catches one taken
	 * since, and fresh_dir / mkdir catch one taken after this check. */
	rv = fli_run_dir_claim(r);
	if (rv != 0)
		return rv;
	if (r->pubsub) {
		struct fl_driver_ctx ctx;

		fl_driver_ctx_init(&ctx);
		ctx.ns = r->ns;
		ctx.no_thread = true;
		/* This thread's cycle: a later one is the machine's stall (its
		 * clients' heartbeats are not held against them for it).  Not
		 * under sim: virtual time has no stalls, and a driver actor the
		 * scheduler held back while others ran was no stall. */
		if (r->s->mode != FL_SCN_MODE_SIM)
			ctx.cycle_ns = driver_duty(r);
		ctx.client_liveness_ns = r->liveness_ns;
		ctx.publication_linger_ns = r->linger_ns;
		ctx.term_length = r->s->driver.term_length;
		ctx.fresh_dir = true;
		rv = fl_driver_start(&ctx, (fl_driver **)&r->driver);
		if (rv == FL_EEXIST || rv == FL_EPERM)
			r->dir_taken = true;
		if (rv != 0)
			return rv;
	} else if ((rv = fli_run_dir_make(r)) != 0) {
		return rv;
	}
	/* Pub/sub-only runs have no request/response domain: creating its
	 * chunk pools (9 MiB of fresh shm) was most of such a run's cost. */
	if (!r->reqrep)
		return 0;
	/* driver.ports defaults to 64: a scenario run needs far fewer than
	 * the transport's 512 ports a pool, and initialising their queues is
	 * most of the cost of a short run (page faults on fresh shm). */
	struct fl_rr_config rrcfg = { .chunk_spec = r->s->driver.chunks,
		                      .server_ports = r->s->driver.ports,
		                      .client_ports = r->s->driver.ports };
	rv = fl_rr_domain_create(r->dir, &rrcfg, &r->driver_dom);
	if (rv == FL_EEXIST) /* the driver's request/response extension made it */
		rv = fl_rr_domain_open(r->dir, 1, &r->driver_dom);
	return rv;
}

void
fli_interp_driver_main(void *arg)
{
	struct run *r = arg;
	struct fl_idle st = { 0 };
	uint64_t drain_until = 0, next_quiet_check = 0;
	/* Sim time is free: every 50 ms of it (the traces were recorded
	 * so).  Real time is not: a proc run whose first check found the
	 * driver still busy waited 50 ms, 11 % of pubsub-smoke's proc runs
	 * and 60 % of their wall time; it now looks again after 250 µs,
	 * doubling to 50 ms (each look reads cnc.dat: a few syscalls). */
	uint64_t quiet_every =
	        r->s->mode == FL_SCN_MODE_SIM ? QUIET_EVERY_MAX_NS : QUIET_EVERY_MIN_NS;
	uint64_t duty = driver_duty(r);
	int rv = driver_start(r);

	if (rv != 0) {
		/* Under injected faults a driver that refuses to start cleanly
		 * is correct behaviour; without faults it is a failure. */
		if (r->dir_taken)
			fli_run_fail(
			        r, "harness",
			        "%s existed before the run (another user's, or left behind): a run "
			        "never adopts an existing run directory",
			        r->dir);
		else if (__atomic_load_n(&r->driver_faults_fired, __ATOMIC_ACQUIRE) == 0)
			fli_run_fail(r, "driver", "the driver did not start: %s", fl_errname(rv));
		/* A pub/sub driver that started before the request/response
		 * domain failed: the run skips its teardown, so it goes now
		 * (it was left with its cnc.dat and its heap). */
		if (r->driver != NULL) {
			fl_driver_close(r->driver);
			r->driver = NULL;
		}
		__atomic_store_n(&r->driver_state, RUN_DRIVER_FAILED, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&r->driver_state, RUN_DRIVER_READY, __ATOMIC_RELEASE);
	for (;;) {
		bool live = false;
		uint64_t next = FL_DEADLINE_NONE, now = fl_clock_now_ns();
		int work = 0;

		if (r->driver != NULL) {
			int w = fl_driver_do_work(r->driver);
			if (w > 0)
				work += w;
		}
		for (size_t i = 0; i < r->s->actor_count; i++) {
			struct actor_run *ar = &r->actors[i];

			if (ar->crashed && !ar->reclaimed) {
				uint64_t due = ar->crashed_at_ns + r->liveness_ns;
				/* No driver, nothing of the transport's to reclaim (a
				 * target's scenario): no liveness period to wait out. */
				if (r->driver == NULL && r->driver_dom == NULL)
					due = now;
				if (now >= due) {
					uint32_t ports = 0, chunks = 0;
					if (r->driver_dom != NULL)
						fl_rr_reclaim_owner(r->driver_dom, ar->owner,
						                    &ports, &chunks);
					ar->reclaimed = true;
					work++;
				} else {
					live = true;
					if (due < next)
						next = due;
				}
			} else if (!__atomic_load_n(&ar->finished, __ATOMIC_ACQUIRE) &&
			           !ar->crashed) {
				live = true;
			}
		}
		if (!live && fli_run_domains_busy(r))
			live = true;
		if (!live) {
			if (r->driver == NULL)
				break;
			if (drain_until == 0)
				drain_until = now + r->linger_ns + r->liveness_ns + FL_NS_PER_SEC;
			if (now >= drain_until)
				break;
			if (now >= next_quiet_check) {
				if (fli_run_domains_quiet(r))
					break;
				next_quiet_check = now + quiet_every;
				if (quiet_every < QUIET_EVERY_MAX_NS)
					quiet_every *= 2;
			}
		}
		if (r->driver != NULL && now + duty < next)
			next = now + duty;
		fl_idle(&st, work, next);
	}
	/* One pass more, now that no actor can write: a stray write that
	 * landed between the last pass's repair of cnc.dat's header and its
	 * commands (a client's close) is put back and counted, for
	 * no_corruption to see. */
	if (r->driver != NULL)
		(void)fl_driver_do_work(r->driver);
	__atomic_store_n(&r->driver_state, RUN_DRIVER_DONE, __ATOMIC_RELEASE);
}

void
fli_run_sessions_free(struct run *r)
{
	if (r->sessions != NULL && r->s->mode == FL_SCN_MODE_PROC)
		munmap(r->sessions, r->sessions_len);
	else
		free(r->sessions);
	r->sessions = NULL;
}

int
fli_interp_setup(struct run *r)
{
	const struct fl_scenario *s = r->s;

	r->objs = calloc(s->object_count + 1, sizeof(void *));
	r->socks = calloc(s->object_count + 1, sizeof(fl_sock *));
	r->sent = calloc(s->object_count + 1, sizeof(uint32_t));
	r->sessions_len = (s->object_count + 1) * sizeof(int64_t);
	/* Shared with process actors in proc mode; plain memory otherwise
	 * (a mapping was two syscalls a sim run). */
	if (s->mode != FL_SCN_MODE_PROC)
		r->sessions = malloc(r->sessions_len);
	else if ((r->sessions = mmap(NULL, r->sessions_len, PROT_READ | PROT_WRITE,
	                             MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		r->sessions = NULL;
	if (s->target != NULL && s->target->shared_size > 0) {
		/* Before any actor's process forks: theirs too. */
		r->target_shared = mmap(NULL, s->target->shared_size, PROT_READ | PROT_WRITE,
		                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (r->target_shared == MAP_FAILED) {
			r->target_shared = NULL;
			return FL_ENOMEM;
		}
	}
	if (r->objs == NULL || r->socks == NULL || r->sent == NULL || r->sessions == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i <= s->object_count; i++)
		r->sessions[i] = RUN_NO_SESSION;
	fl_aio_debug_read(&r->aio_base);
	for (size_t i = 0; i < s->actor_count && i < RUN_MAX_ACTORS; i++) {
		struct actor_run *ar = &r->actors[i];

		ar->run = r;
		ar->index = (int)i;
		ar->a = &s->actors[i];
		ar->owner = 100 + i;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->actors[j].client ? s->actors[j].client : s->actors[j].name,
			           ar->a->client ? ar->a->client : ar->a->name) == 0)
				ar->owner = r->actors[j].owner;
		for (size_t j = 0; j < ar->a->op_count; j++) {
			const struct fl_scenario_op *op = &ar->a->ops[j];
			int k;

			if (op->kind != FL_SCN_OP_BARRIER)
				continue;
			for (k = 0; k < r->nbarriers; k++)
				if (strcmp(r->barriers[k].name, op->u.barrier.name) == 0)
					break;
			if (k == r->nbarriers) {
				if (r->nbarriers == RUN_MAX_BARRIERS)
					continue;
				r->barriers[r->nbarriers++] =
				        (struct barrier){ .name = op->u.barrier.name };
			}
			/* An actor counts once per name, however often it waits. */
			bool seen = false;
			for (size_t m = 0; m < j; m++)
				seen = seen || (ar->a->ops[m].kind == FL_SCN_OP_BARRIER &&
				                strcmp(ar->a->ops[m].u.barrier.name,
				                       op->u.barrier.name) == 0);
			if (!seen)
				r->barriers[k].expected++;
		}
	}
	return 0;
}

void
fli_interp_teardown(struct run *r)
{
	/* Objects of actors that finished without close_client stay open: a
	 * leak the audit reports.  Close them now so the next run starts clean
	 * (the run directory is removed by the runner in any case). */
	r->pubsub = false; /* pub/sub clients closed inside the sim, or died there */
	for (size_t i = 0; i < r->s->actor_count; i++)
		if (!r->actors[i].crashed)
			do_close_client(&r->actors[i]);
	free(r->objs);
	free(r->socks);
	free(r->sent);
	fli_run_sessions_free(r);
	if (r->target_shared != NULL)
		munmap(r->target_shared, r->s->target->shared_size);
	r->target_shared = NULL;
	r->objs = NULL;
	r->socks = NULL;
	r->sent = NULL;
}