/*
 * One run of one scenario, in a forked child (fl_sandbox_run) with a
 * wall-clock deadline.  The child builds the run directory, the choice
 * stream, the fault engine and the sim, runs every actor, audits, cleans up
 * and sends back frames: the verdict, the recorded choices, the trace hash
 * and the fault-point hit counts.  A SIGSEGV or abort in the code under
 * test still sends the choices (from the signal handler) so a crash can be
 * replayed and shrunk.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultline/choice.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "faultline/sandbox.h"
#include "faultline/sim.h"

#include "run/faults.h"
#include "run/run_internal.h"
#include "run/runner.h"

enum {
	TAG_VERDICT = 'V',
	TAG_CHOICES = 'C',
	TAG_HASH = 'H',
	TAG_HITS = 'P',
	TAG_STEPS = 'S',
};

struct child_arg {
	const struct fl_scenario *s;
	const struct fl_runner_opts *o;
	const char *ns;
};

/* For the crash handler: what to send when the code under test dies. */
static struct fl_choice *crash_choices;
static int crash_fd = -1;

static void
crash_handler(int sig)
{
	if (crash_choices != NULL && crash_fd >= 0)
		fl_sandbox_frame_write(crash_fd, TAG_CHOICES, fl_choice_values(crash_choices),
		                       (uint32_t)(fl_choice_count(crash_choices) * sizeof(uint64_t)));
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_crash_handlers(struct fl_choice *c, int fd)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };

	crash_choices = c;
	crash_fd = fd;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], crash_handler);
}

static struct run *the_run;
/* proc mode: the actor this process is (NULL in the run's own process). */
static struct actor_run *proc_actor;

static const char *
hook_actor_name(void *arg)
{
	(void)arg;
	if (proc_actor != NULL)
		return proc_actor->a->name;
	return fl_sim_current_name();
}

static void
hook_crash(void *arg, const char *point)
{
	struct run *r = arg;
	const char *name = fl_sim_current_name();

	(void)point;
	if (proc_actor != NULL) {
		/* A real crash: the process dies here, holding what it holds. */
		proc_actor->crashed_at_ns = fl_clock_now_ns();
		__atomic_store_n(&proc_actor->crashed, true, __ATOMIC_SEQ_CST);
		kill(getpid(), SIGKILL);
	}

	for (size_t i = 0; name != NULL && i < r->s->actor_count; i++) {
		if (strcmp(r->actors[i].a->name, name) == 0) {
			r->actors[i].crashed = true;
			r->actors[i].crashed_at_ns = fl_clock_now_ns();
		}
	}
	fl_sim_crash_current();
}

static enum fl_fault_action
map_action(enum fl_scn_fault_action a)
{
	switch (a) {
	case FL_SCN_FAULT_DELAY: return FL_FAULT_DELAY;
	case FL_SCN_FAULT_DROP: return FL_FAULT_DROP;
	case FL_SCN_FAULT_CRASH: return FL_FAULT_CRASH;
	default: return FL_FAULT_ERROR;
	}
}

static enum fl_fault_when
map_when(enum fl_scn_fault_when w)
{
	switch (w) {
	case FL_SCN_WHEN_NTH: return FL_WHEN_NTH;
	case FL_SCN_WHEN_AFTER: return FL_WHEN_AFTER;
	case FL_SCN_WHEN_PROBABILITY: return FL_WHEN_PROB;
	default: return FL_WHEN_ALWAYS;
	}
}

static int
setup_faults(struct run *r, const struct fl_runner_opts *o)
{
	struct fl_fault_hooks hooks = { .arg = r, .actor_name = hook_actor_name, .crash = hook_crash };
	int rv = fl_faults_new(r->choices, &hooks, &r->faults);

	for (size_t i = 0; rv == 0 && i < r->s->fault_count; i++) {
		const struct fl_scenario_fault *f = &r->s->faults[i];
		struct fl_fault_rule rule = {
			.point = f->point,
			.action = map_action(f->action),
			.when = map_when(f->when),
			.n = f->n,
			.p = f->probability,
			.delay_ns = (uint64_t)f->delay_ms * FL_NS_PER_MS,
			.actor = f->actor,
		};
		rv = fl_faults_add(r->faults, &rule);
		r->faults_configured = true;
	}
	if (rv == 0 && o->sweep_point != NULL) {
		struct fl_fault_rule rule = {
			.point = o->sweep_point,
			.action = FL_FAULT_ERROR,
			.when = o->sweep_persistent ? FL_WHEN_AFTER : FL_WHEN_NTH,
			.n = o->sweep_k,
		};
		rv = fl_faults_add(r->faults, &rule);
		r->faults_configured = true;
	}
	/* No rule and no counting: the points stay disarmed (one branch a
	 * hit), which changes no decision: only rules draw choices. */
	if (rv == 0 && (r->faults_configured || o->count_hits))
		rv = fl_faults_arm(r->faults);
	return rv;
}

static void
remove_run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void
describe_actors(struct run *r, const struct fl_sim_result *res)
{
	size_t off = strlen(r->detail);

	for (size_t i = 0; i < res->nactors && off < sizeof(r->detail); i++) {
		char where[64] = "";
		int n;

		/* Scenario actors also say which operation they were in. */
		for (size_t k = 0; k < r->s->actor_count; k++) {
			const struct actor_run *ar = &r->actors[k];
			if (strcmp(ar->a->name, res->actors[i].name) == 0 && ar->a->op_count > 0 &&
			    !ar->finished)
				snprintf(where, sizeof(where), " in %s (line %d)",
				         fl_scenario_op_name(ar->a->ops[ar->op].kind), ar->a->ops[ar->op].line);
		}
		n = snprintf(r->detail + off, sizeof(r->detail) - off, "%s%s %s at %s%s",
		             i ? "; " : ": ", res->actors[i].name,
		             fl_sim_state_name(res->actors[i].state), res->actors[i].last_point, where);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int
send_outcome(int fd, struct run *r, enum fl_verdict v, uint64_t hash, uint64_t steps)
{
	char text[700];
	size_t np = fl_fault_point_count();
	uint64_t hits[256];

	fl_sandbox_frame_write(fd, TAG_CHOICES, fl_choice_values(r->choices),
	                       (uint32_t)(fl_choice_count(r->choices) * sizeof(uint64_t)));
	fl_sandbox_frame_write(fd, TAG_HASH, &hash, sizeof(hash));
	fl_sandbox_frame_write(fd, TAG_STEPS, &steps, sizeof(steps));
	if (r->faults != NULL && np <= 256) {
		for (size_t i = 0; i < np; i++)
			hits[i] = fl_faults_hits(r->faults, fl_fault_point_names[i]);
		fl_sandbox_frame_write(fd, TAG_HITS, hits, (uint32_t)(np * sizeof(uint64_t)));
	}
	snprintf(text, sizeof(text), "%d\n%s\n%s", (int)v, r->property, r->detail);
	fl_sandbox_frame_write(fd, TAG_VERDICT, text, (uint32_t)strlen(text));
	return v == FL_VERDICT_PASS ? 0 : 1;
}

/* Request/response operations or properties: the run needs a domain. */
static bool
uses_reqrep(const struct fl_scenario *s)
{
	if (s->properties & (FL_SCN_PROP_CHUNKS_BALANCED | FL_SCN_PROP_PORTS_ZERO))
		return true;
	for (size_t i = 0; i < s->actor_count; i++) {
		for (size_t j = 0; j < s->actors[i].op_count; j++) {
			switch (s->actors[i].ops[j].kind) {
			case FL_SCN_OP_OFFER_SERVICE:
			case FL_SCN_OP_CONNECT_SERVICE:
			case FL_SCN_OP_REQUEST:
			case FL_SCN_OP_RESPOND:
			case FL_SCN_OP_CTX_OPEN:
			case FL_SCN_OP_CTX_CLOSE:
				return true;
			default:
				break;
			}
		}
	}
	return false;
}

static void
audit_all(struct run *r)
{
	if (r->pubsub)
		audit_pubsub(r);
	audit_end_of_run(r);
}

/*
 * stress: the driver and every actor are real threads with the default
 * platform (real clock, backoff idling, pthread locks), the baseline the
 * controlled modes are measured against.  Each actor draws from its own
 * stream seeded from the run's, so what is generated reproduces; the
 * interleaving does not.
 */
static int
run_threads(struct run *r)
{
	fl_thread *driver, *actors[RUN_MAX_ACTORS];
	size_t n = r->s->actor_count, started = 0;
	int rv;

	r->threaded = true;
	for (size_t i = 0; i < n; i++)
		if (fl_choice_new_seeded(fl_choice_draw(r->choices, 0), &r->actors[i].choices) != 0)
			return FL_ENOMEM;
	rv = fl_thread_start(&driver, "driver", interp_driver_main, r);
	if (rv != 0)
		return rv;
	for (; started < n; started++) {
		rv = fl_thread_start(&actors[started], r->actors[started].a->name, interp_actor_main,
		                     &r->actors[started]);
		if (rv != 0) {
			/* The driver waits for every actor: mark the rest done. */
			for (size_t j = started; j < n; j++)
				__atomic_store_n(&r->actors[j].finished, true, __ATOMIC_RELEASE);
			break;
		}
	}
	for (size_t i = 0; i < started; i++)
		fl_thread_join(actors[i]);
	fl_thread_join(driver);
	for (size_t i = 0; i < n; i++) {
		fl_choice_free(r->actors[i].choices);
		r->actors[i].choices = NULL;
	}
	return rv;
}

/*
 * proc: every actor is a forked process with real time; the driver is a
 * thread of this process, started after the forks so no child inherits a
 * lock held mid-fork.  A planned crash (crash_self, a crash fault) is a
 * SIGKILL the actor sends itself after marking itself crashed in the
 * shared run; any other death by signal is an unexpected signal.  The
 * driver reclaims a dead actor once client_liveness_ms has passed.
 */
static void
proc_actor_main(struct actor_run *ar)
{
	proc_actor = ar;
	interp_actor_main(ar);
	fflush(NULL);
	_exit(0);
}

static int
run_processes(struct run *r)
{
	pid_t pids[RUN_MAX_ACTORS];
	size_t n = r->s->actor_count, alive = 0;
	fl_thread *driver;
	uint64_t deadline;
	struct fl_idle st = { 0 };
	int rv;

	fflush(NULL);
	for (size_t i = 0; i < n; i++) {
		r->actors[i].choices = r->choices; /* each process has its own copy */
		pids[i] = fork();
		if (pids[i] < 0) {
			for (size_t j = i; j < n; j++)
				__atomic_store_n(&r->actors[j].finished, true, __ATOMIC_RELEASE);
			break;
		}
		if (pids[i] == 0)
			proc_actor_main(&r->actors[i]);
		alive++;
	}
	rv = fl_thread_start(&driver, "driver", interp_driver_main, r);
	if (rv != 0) {
		__atomic_store_n(&r->driver_state, RUN_DRIVER_FAILED, __ATOMIC_RELEASE);
		for (size_t i = 0; i < alive; i++)
			kill(pids[i], SIGKILL);
	}
	/* Every wait has a deadline: the scenario's timeouts bound a run. */
	deadline = fl_clock_now_ns() + 4 * r->timeout_ns + r->liveness_ns;
	while (alive > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0) {
			if (fl_clock_now_ns() >= deadline) {
				for (size_t i = 0; i < n; i++)
					if (!__atomic_load_n(&r->actors[i].finished, __ATOMIC_ACQUIRE))
						kill(pids[i], SIGKILL);
				run_fail(r, "hang", "process actors still running after %llu ms",
				         (unsigned long long)((4 * r->timeout_ns + r->liveness_ns) / FL_NS_PER_MS));
			}
			fl_idle(&st, 0, fl_clock_now_ns() + FL_NS_PER_MS);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			struct actor_run *ar = &r->actors[i];
			if (pids[i] != pid)
				continue;
			alive--;
			if (WIFSIGNALED(status) && !__atomic_load_n(&ar->crashed, __ATOMIC_ACQUIRE)) {
				if (!(WTERMSIG(status) == SIGKILL && r->failed))
					run_fail(r, "no_unexpected_signal", "actor %s died of %s", ar->a->name,
					         fl_signal_name(WTERMSIG(status)));
				ar->crashed_at_ns = fl_clock_now_ns();
				__atomic_store_n(&ar->crashed, true, __ATOMIC_RELEASE);
			} else if (!WIFSIGNALED(status)) {
				__atomic_store_n(&ar->finished, true, __ATOMIC_RELEASE);
			}
		}
	}
	if (rv == 0)
		fl_thread_join(driver);
	return rv;
}

static int
child_main(void *arg, int out_fd)
{
	struct child_arg *ca = arg;
	const struct fl_scenario *s = ca->s;
	/* Shared, so that process actors (proc mode) report their barrier
	 * arrivals, crashes and violations to this process. */
	struct run *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                     -1, 0);
	struct fl_sim *sim = NULL;
	struct fl_sim_config cfg = { 0 };
	struct fl_sim_result res = { 0 };
	enum fl_verdict v = FL_VERDICT_PASS;
	int rv;

	if (r == MAP_FAILED)
		return 1;
	memset(r, 0, sizeof(*r));
	r->s = s;
	the_run = r;
	snprintf(r->ns, sizeof(r->ns), "%s", ca->ns);
	snprintf(r->dir, sizeof(r->dir), "/dev/shm/faultline-%s", r->ns);
	r->liveness_ns = (uint64_t)s->driver.client_liveness_ms * FL_NS_PER_MS;
	r->timeout_ns = (uint64_t)s->driver.driver_timeout_ms * FL_NS_PER_MS;
	rv = ca->o->replaying ? fl_choice_new_replay(ca->o->replay, ca->o->nreplay, &r->choices)
	                      : fl_choice_new_seeded(ca->o->seed, &r->choices);
	if (rv != 0)
		return 1;
	install_crash_handlers(r->choices, out_fd);
	rv = setup_faults(r, ca->o);
	if (rv != 0) {
		run_fail(r, "harness", "fault rules: %s", fl_errname(rv));
		goto done;
	}
	r->pubsub = scenario_uses_pubsub(s);
	r->reqrep = uses_reqrep(s);
	r->check_each_step = ca->o->check_each_step;
	r->linger_ns = (uint64_t)s->driver.linger_ms * FL_NS_PER_MS;
	r->fds_at_start = audit_count_fds();
	if (interp_setup(r) != 0) {
		run_fail(r, "harness", "out of memory");
		goto done;
	}

	if (s->mode == FL_SCN_MODE_PROC) {
		if (run_processes(r) != 0)
			run_fail(r, "harness", "could not start the driver thread");
		else if (r->driver_state != RUN_DRIVER_FAILED)
			audit_all(r);
		else
			goto audit_files_only;
	} else if (s->mode == FL_SCN_MODE_STRESS) {
		if (run_threads(r) != 0)
			run_fail(r, "harness", "could not start the actor threads");
		else if (r->driver_state != RUN_DRIVER_FAILED)
			audit_all(r);
		else
			goto audit_files_only;
	} else {
		/* The driver is an actor too: it starts inside the sim so that
		 * its clock is the virtual one. */
		for (size_t i = 0; i < s->actor_count; i++)
			r->actors[i].choices = r->choices;
		cfg.choices = r->choices;
		cfg.kind = s->scheduler == FL_SCN_SCHED_PCT ? FL_SCHED_PCT : FL_SCHED_RANDOM;
		cfg.pct_depth = s->sched_depth;
		cfg.pct_steps = ca->o->pct_steps;
		rv = fl_sim_new(&cfg, &sim);
		if (rv == 0)
			rv = fl_sim_spawn(sim, "driver", interp_driver_main, r, NULL);
		for (size_t i = 0; rv == 0 && i < s->actor_count; i++)
			rv = fl_sim_spawn(sim, s->actors[i].name, interp_actor_main, &r->actors[i], NULL);
		if (rv == 0)
			rv = fl_sim_run(sim, &res);
		if (rv != 0) {
			run_fail(r, "harness", "sim: %s", fl_errname(rv));
		} else if (res.verdict == FL_SIM_DEADLOCK) {
			run_fail(r, "deadlock", "no actor can run and no deadline is ahead");
			describe_actors(r, &res);
			v = FL_VERDICT_DEADLOCK;
		} else if (res.verdict == FL_SIM_STEP_LIMIT) {
			run_fail(r, "step_limit", "%llu scheduling steps without finishing",
			         (unsigned long long)res.steps);
			describe_actors(r, &res);
			v = FL_VERDICT_HANG;
		} else if (r->driver_state != RUN_DRIVER_FAILED) {
			audit_all(r);
		} else {
			goto audit_files_only;
		}
	}
	interp_teardown(r);
	if (r->driver_dom != NULL) {
		fl_rr_domain_close(r->driver_dom);
		fl_rr_domain_unlink(r->dir);
	}
	if (r->driver != NULL)
		fl_driver_close(r->driver);
	fl_sim_free(sim);
	goto done;

audit_files_only:
	if (s->properties & FL_SCN_PROP_NO_LEAKED_FILES) {
		DIR *d = opendir(r->dir);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				run_fail(r, "no_leaked_files",
				         "%s/%s is left after the driver failed to start", r->dir, e->d_name);
		if (d != NULL)
			closedir(d);
	}
done:
	if (r->faults != NULL)
		fl_faults_disarm(r->faults);
	remove_run_dir(r->dir);
	if (r->failed && v == FL_VERDICT_PASS)
		v = FL_VERDICT_FAIL;
	rv = send_outcome(out_fd, r, v, res.trace_hash, res.steps);
	crash_choices = NULL;
	fl_faults_free(r->faults);
	fl_choice_free(r->choices);
	munmap(r, sizeof(*r));
	return rv;
}

int
fl_runner_run(const struct fl_scenario *s, const struct fl_runner_opts *o,
              struct fl_runner_outcome *out)
{
	static unsigned counter;
	struct fl_sandbox_opts so = { .timeout_ms = o->timeout_ms ? o->timeout_ms : 60000,
	                             .max_payload = 256u << 20 };
	struct fl_sandbox_result sr;
	char ns[64], dir[128];
	struct child_arg ca = { .s = s, .o = o, .ns = ns };
	size_t pos = 0;
	uint32_t tag, len;
	const uint8_t *data;
	int rv;

	memset(out, 0, sizeof(*out));
	snprintf(ns, sizeof(ns), "%s-%d-%u", o->ns_prefix ? o->ns_prefix : "run", (int)getpid(),
	         counter++);
	fflush(NULL);
	rv = fl_sandbox_run(&so, child_main, &ca, &sr);
	if (rv != 0)
		return rv;
	/* A crashed or killed child could not clean up: the harness does. */
	snprintf(dir, sizeof(dir), "/dev/shm/faultline-%s", ns);
	remove_run_dir(dir);

	out->verdict = sr.verdict;
	out->signal = sr.signal;
	out->seconds = sr.seconds;
	while (fl_sandbox_frame_next(sr.payload, sr.payload_len, &pos, &tag, &data, &len) == 0) {
		switch (tag) {
		case TAG_CHOICES:
			free(out->choices);
			out->choices = malloc(len ? len : 1);
			if (out->choices != NULL) {
				memcpy(out->choices, data, len);
				out->nchoices = len / sizeof(uint64_t);
			}
			break;
		case TAG_HASH:
			if (len == sizeof(uint64_t))
				memcpy(&out->trace_hash, data, sizeof(uint64_t));
			break;
		case TAG_STEPS:
			if (len == sizeof(uint64_t))
				memcpy(&out->steps, data, sizeof(uint64_t));
			break;
		case TAG_HITS:
			free(out->hits);
			out->hits = malloc(len ? len : 1);
			if (out->hits != NULL) {
				memcpy(out->hits, data, len);
				out->nhits = len / sizeof(uint64_t);
			}
			break;
		case TAG_VERDICT: {
			char text[700];
			char *nl1, *nl2;
			int v;

			snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)data);
			nl1 = strchr(text, '\n');
			nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
			if (nl1 == NULL || nl2 == NULL)
				break;
			*nl1 = *nl2 = '\0';
			v = atoi(text);
			if (sr.verdict == FL_VERDICT_PASS || sr.verdict == FL_VERDICT_FAIL)
				out->verdict = (enum fl_verdict)v;
			snprintf(out->property, sizeof(out->property), "%s", nl1 + 1);
			snprintf(out->detail, sizeof(out->detail), "%s", nl2 + 1);
			break;
		}
		}
	}
	if (out->verdict == FL_VERDICT_CRASH) {
		snprintf(out->property, sizeof(out->property), "no_unexpected_signal");
		snprintf(out->detail, sizeof(out->detail), "the run died of %s", fl_signal_name(sr.signal));
	} else if (out->verdict == FL_VERDICT_HANG && out->property[0] == '\0') {
		snprintf(out->property, sizeof(out->property), "hang");
		snprintf(out->detail, sizeof(out->detail), "no verdict within %llu ms of wall time",
		         (unsigned long long)so.timeout_ms);
	}
	fl_sandbox_result_fini(&sr);
	return 0;
}

void
fl_runner_outcome_fini(struct fl_runner_outcome *out)
{
	free(out->choices);
	free(out->hits);
	out->choices = NULL;
	out->hits = NULL;
}

const char *
fl_runner_unsupported(const struct fl_scenario *s)
{
	if (s->mode == FL_SCN_MODE_STRESS) {
		for (size_t i = 0; i < s->fault_count; i++)
			if (s->faults[i].action == FL_SCN_FAULT_CRASH)
				return "crash faults need sim or proc mode (a thread cannot die alone)";
		for (size_t i = 0; i < s->actor_count; i++)
			for (size_t j = 0; j < s->actors[i].op_count; j++)
				if (s->actors[i].ops[j].kind == FL_SCN_OP_CRASH_SELF)
					return "crash_self needs sim or proc mode (a thread cannot die alone)";
	}
	for (size_t i = 0; i < s->actor_count; i++) {
		for (size_t j = 0; j < s->actors[i].op_count; j++) {
			switch (s->actors[i].ops[j].kind) {
			case FL_SCN_OP_WAIT:
			case FL_SCN_OP_BARRIER:
			case FL_SCN_OP_CRASH_SELF:
			case FL_SCN_OP_CLOSE_CLIENT:
			case FL_SCN_OP_OFFER_SERVICE:
			case FL_SCN_OP_CONNECT_SERVICE:
			case FL_SCN_OP_REQUEST:
			case FL_SCN_OP_RESPOND:
				break;
			case FL_SCN_OP_CTX_OPEN:
			case FL_SCN_OP_CTX_CLOSE:
				return "ctx_open/ctx_close are not wired to the runner yet";
			default:
				break;
			}
		}
	}
	for (size_t i = 0; i < s->fault_count; i++)
		if (fl_fault_point_index(s->faults[i].point) < 0 &&
		    strchr(s->faults[i].point, '*') == NULL)
			return "faults on points outside the transport (libfiu POSIX preload) need proc mode";
	return NULL;
}
