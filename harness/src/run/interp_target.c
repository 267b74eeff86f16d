/*
 * The target domain: a scenario's ops of a target (faultline/target.h),
 * called with the values the loader read, their objects kept in the
 * run's object slots, and target_resources: the target's gauges back to
 * zero once every object of it closed.
 *
 * The target's state (its init) is per process: in sim and stress modes
 * the actors share the run's, judged once every actor is done; in proc
 * mode each actor process makes its own, closes its objects, judges its
 * gauges and ends the state when its ops end (a library's threads do not
 * survive a fork, so nothing of it is made before one).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/choice.h"
#include "faultline/error.h"
#include "faultline/faults.h"
#include "faultline/platform.h"
#include "faultline/target.h"

#include "run/run_internal.h"
#include "scenario/target_internal.h"
#include "target/alloc_hook.h"

/* This process's target state. */
static struct {
	const struct fl_target *t;
	void *state;
	pid_t pid; /* the process it was made in (0: none) */
	bool failed;
	bool hooked;   /* its shared object's allocations are counted (alloc_hook.c) */
	struct run *r; /* the run its ops belong to (fl_target_note, _violation) */
} here;

/* A target's message to the run: false when no run of this process has
 * called the target (nothing to tell). */
static bool
target_says(char *line, size_t n, const char *fmt, va_list ap)
{
	if (here.r == NULL)
		return false;
	vsnprintf(line, n, fmt, ap);
	return true;
}

void
fl_target_note(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	bool said;

	va_start(ap, fmt);
	said = target_says(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (said)
		fli_run_story(here.r, "target %s: %s", here.t->name, line);
}

void
fl_target_violation(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	bool said;

	va_start(ap, fmt);
	said = target_says(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!said)
		return;
	if (here.r->s->properties & FL_SCN_PROP_TARGET_MODEL)
		fli_run_fail(here.r, "target_model", "target %s: %s", here.t->name, line);
	else
		fli_run_story(here.r, "target %s: %s (target_model not checked)", here.t->name,
		              line);
}

void *
fl_target_shared(void)
{
	return here.r != NULL && here.pid == getpid() ? here.r->target_shared : NULL;
}

const char *
fl_target_run_name(void)
{
	return here.r != NULL && here.pid == getpid() ? here.r->ns : NULL;
}

/* Made by the first of the run's processes and threads to ask (the
 * state is in the run's shared memory); a name already taken (a
 * directory this run did not make) is never adopted. */
const char *
fl_target_run_dir(void)
{
	static __thread char path[512];
	struct run *r = here.r;
	int st = 0;

	if (r == NULL || here.pid != getpid() || fli_run_tmp_path(r->ns, path, sizeof(path)) != 0)
		return NULL;
	if (__atomic_compare_exchange_n(&r->target_dir, &st, 1, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_ACQUIRE)) {
		st = mkdir(path, 0700) == 0 ? 2 : -1;
		__atomic_store_n(&r->target_dir, st, __ATOMIC_RELEASE);
	}
	for (int i = 0; (st = __atomic_load_n(&r->target_dir, __ATOMIC_ACQUIRE)) == 1 && i < 10000;
	     i++)
		usleep(100); /* another process is making it: a mkdir's time */
	return st == 2 ? path : NULL;
}

static bool
per_process(const struct run *r)
{
	return r->s->mode == FL_SCN_MODE_PROC;
}

/* An allocation call of the target's library: the fault point
 * target/alloc, hit k its k-th call in this process. */
static bool
alloc_fails(void *arg, uint64_t n, const char *fn)
{
	(void)arg;
	if (!fl_faults_raise(FL_POINT_TARGET_ALLOC))
		return false;
	if (here.r != NULL)
		fli_run_story(here.r, "target %s: its allocation call #%llu (%s) fails (ENOMEM)",
		              here.t->name, (unsigned long long)n, fn);
	return true;
}

/* A heap error of the target's library (alloc_hook.h's heap check). */
static void
heap_error(void *arg, const char *what)
{
	(void)arg;
	if (here.r != NULL)
		fli_run_fail(here.r, "target_heap", "target %s: %s", here.t->name, what);
}

/* The target's library hooked (alloc_hook.h): its wrapped archive's
 * calls, its libraries, else its own shared object; 0 when it has none
 * of these (a target linked in, that names no library: nothing to
 * count), or a negative FL_E* code. */
static int
hook_library(const struct fl_target *t, bool check)
{
	const struct fli_alloc_hooks hooks = { .fail = alloc_fails,
		                               .check = check,
		                               .heap_error = heap_error };
	int rc = 0;

	if (t->wrapped) /* linked in from its archive, -Wl,--wrap */
		return fli_alloc_hook_wrapped(&hooks);
	if (t->libraries == NULL || t->libraries[0] == NULL)
		return fli_target_handle(t) != NULL ? fli_alloc_hook(fli_target_handle(t), &hooks)
		                                    : 0;
	for (size_t i = 0; rc >= 0 && t->libraries[i] != NULL; i++) {
		/* Loaded by the target (checked at its registration): this
		 * only finds it. */
		void *h = dlopen(t->libraries[i], RTLD_NOW | RTLD_NOLOAD);

		if (h == NULL)
			return FL_ENOENT;
		rc = i == 0 ? fli_alloc_hook(h, &hooks) : fli_alloc_hook_also(h);
		dlclose(h);
	}
	/* The adapter's frees: a block of the library's it frees (nng_free
	 * aside, a library may hand out blocks its caller frees) leaves
	 * the table instead of staying "held". */
	if (rc >= 0 && fli_target_handle(t) != NULL)
		rc = fli_alloc_hook_frees(fli_target_handle(t));
	if (rc < 0)
		(void)fli_alloc_unhook();
	return rc;
}

/* The target's state in this process, made on first use.  NULL: its init
 * failed (the run fails, "harness": the target could not be set up).
 * Once per process: stress mode's actors are threads that may all come
 * here at once (one init after another's op reset the library's counts:
 * a gauge of -1). */
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

static bool make_state(struct run *r);

static bool
ensure_state(struct run *r)
{
	bool ok;

	pthread_mutex_lock(&state_lock);
	ok = make_state(r);
	pthread_mutex_unlock(&state_lock);
	return ok;
}

static bool
make_state(struct run *r)
{
	const struct fl_target *t = r->s->target;
	int rc;

	/* This run's state already (another actor of it came first); a state
	 * of an earlier run this process never ended (cut short before its
	 * audit) is not reused: made anew below. */
	if (here.pid == getpid() && here.t == t && here.r == r)
		return !here.failed;
	here.t = t;
	here.r = r;
	here.pid = getpid();
	here.state = NULL;
	here.failed = false;
	/* The target's own allocations, counted from before its init (and
	 * before the threads a library starts there): the heap it holds
	 * once every object closed and fini ran is target_resources'. */
	here.hooked = false;
	{
		/* A run of this process that ended without its audit (cut
		 * short) may have left its hook: this run's own, anew. */
		(void)fli_alloc_unhook();
		fli_alloc_reset();
		rc = hook_library(t, (r->s->properties & FL_SCN_PROP_TARGET_HEAP) != 0);
		if (rc < 0) {
			here.failed = true;
			fli_run_fail(r, "harness",
			             "target %s: its allocations cannot be counted: %s", t->name,
			             fl_errname(rc));
			return false;
		}
		here.hooked = true;
	}
	rc = t->init != NULL ? t->init(&here.state) : 0;
	if (rc != 0) {
		here.failed = true;
		fli_run_fail(r, "harness", "target %s: init: %s", t->name, fl_errname(rc));
	}
	return !here.failed;
}

static int
arg_count(const struct fl_target_op *op)
{
	int n = 0;

	while (op->args != NULL && op->args[n].name != NULL)
		n++;
	return n;
}

/* A value drawn from a list (FL_SCN_TARGET_DRAWS), from the actor's
 * choice stream; the story says which. */
static int64_t
drawn(struct actor_run *ar, const struct fl_scenario_op *op, const char *name,
      const struct fl_scn_target_draw *d)
{
	int64_t v = d->values[fl_choice_draw(ar->choices, d->n)];

	if (ar->run->narrate)
		fli_run_story(ar->run, "%s: %s (line %d): %s drawn: %lld", ar->a->name,
		              fl_scenario_op_label(op), op->line, name, (long long)v);
	return v;
}

void
fli_target_ints(struct actor_run *ar, const struct fl_scenario_op *op,
                int64_t ints[FL_TARGET_MAX_ARGS])
{
	const struct fl_scn_op_target *o = &op->u.target;
	int n = arg_count(o->op);

	for (int i = 0; i < n; i++)
		ints[i] = o->draws[i].values != NULL
		                  ? drawn(ar, op, o->op->args[i].name, &o->draws[i])
		                  : o->ints[i];
}

uint64_t
fli_target_deadline_span(struct actor_run *ar, const struct fl_scenario_op *op)
{
	const struct fl_scn_op_target *o = &op->u.target;

	if (o->draws[8].values != NULL)
		return (uint64_t)drawn(ar, op, "deadline_ms", &o->draws[8]) * FL_NS_PER_MS;
	return o->deadline_ms != 0 ? (uint64_t)o->deadline_ms * FL_NS_PER_MS : ar->run->timeout_ns;
}

__thread struct fli_builtin_call fli_builtin_cur;

bool
fli_builtin_op(struct actor_run *ar, const struct fl_scenario_op *op, enum fl_scn_domain d)
{
	int64_t ints[FL_TARGET_MAX_ARGS] = { 0 };
	struct fl_target_args a = { .ints = ints,
		                    .strs = op->u.target.strs,
		                    .his = op->u.target.his,
		                    .given = op->u.target.given };

	if (fl_scenario_op_domain(op->kind) != d || op->u.target.op == NULL)
		return false;
	fli_target_ints(ar, op, ints);
	fli_builtin_cur.ar = ar;
	fli_builtin_cur.op = op;
	(void)op->u.target.op->fn(NULL, &a, NULL);
	return true;
}

/* `faultline repro --c`: every target op, as it starts, appended to the
 * file the environment's FL_RECORD_OPS names: "ACTOR OP DEADLINE_MS
 * INT..." (the actor's and the op's indices, the values its integers
 * had, drawn ones included).  One write a line (O_APPEND: the processes
 * of a proc run share the file). */
static void
record_op(struct actor_run *ar, const struct fl_scenario_op *op, const int64_t *ints, int n,
          uint64_t deadline_ns)
{
	static int fd = -1;
	static pid_t fd_pid;
	const char *path = getenv("FL_RECORD_OPS");
	char line[512];
	size_t len;
	uint64_t now = fl_clock_now_ns();

	if (path == NULL || path[0] == '\0')
		return;
	if (fd < 0 || fd_pid != getpid()) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		fd_pid = getpid();
		if (fd < 0)
			return;
	}
	len = (size_t)snprintf(line, sizeof(line), "%d %zu %lld", ar->index,
	                       (size_t)(op - ar->a->ops),
	                       deadline_ns > now ? (long long)((deadline_ns - now) / FL_NS_PER_MS)
	                                         : 0LL);
	for (int i = 0; i < n && len < sizeof(line) - 32; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %lld",
		                        (long long)ints[i]);
	line[len++] = '\n';
	if (write(fd, line, len) < 0) {
		/* the program written from it says what is missing */
	}
}

static const struct fl_target_kind *
kind_named(const struct fl_target *t, const char *name)
{
	for (const struct fl_target_kind *k = t->kinds; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static bool
target_op(struct actor_run *ar, const struct fl_scenario_op *op)
{
	const struct fl_scn_op_target *o = &op->u.target;
	struct run *r = ar->run;
	const struct fl_target_op *top = o->op;
	int64_t ints[FL_TARGET_MAX_ARGS] = { 0 };
	const char *strs[FL_TARGET_MAX_ARGS] = { NULL };
	void *objs[FL_TARGET_MAX_ARGS] = { NULL };
	struct fl_target_args a = { .ints = ints,
		                    .strs = strs,
		                    .objs = objs,
		                    .his = o->his,
		                    .given = o->given };
	void *created = NULL;
	int n = arg_count(top), closes = -1, rv;

	if (op->kind != FL_SCN_OP_TARGET)
		return false;
	if (!ensure_state(r))
		return true;
	/* Drawn in the order of the arguments, and none after an object
	 * that is not open (the op is not called): fli_target_ints draws
	 * every one at once, for ops that have no objects to look up. */
	for (int i = 0; i < n; i++) {
		ints[i] = o->draws[i].values != NULL
		                  ? drawn(ar, op, top->args[i].name, &o->draws[i])
		                  : o->ints[i];
		strs[i] = o->strs[i];
		/* an object, or an integer given as an object's name */
		if ((top->args[i].type != FL_TARGET_OBJECT &&
		     !(top->args[i].type == FL_TARGET_INT && top->args[i].kind != NULL)) ||
		    o->objs[i] < 0)
			continue;
		objs[i] = __atomic_load_n(&r->objs[o->objs[i]], __ATOMIC_ACQUIRE);
		if (objs[i] == NULL) {
			fli_op_error(ar, op,
			             "its object is not open (the op that made it failed, or "
			             "it is closed)",
			             FL_ENOENT);
			return true;
		}
		if (top->closes != NULL && strcmp(top->closes, top->args[i].name) == 0)
			closes = o->objs[i];
	}
	/* An object being closed is gone from its slot before the close
	 * begins: an actor sharing it (stress mode) ending meanwhile must
	 * not close it again. */
	if (closes >= 0 && __atomic_exchange_n(&r->objs[closes], NULL, __ATOMIC_ACQ_REL) == NULL) {
		fli_op_error(ar, op, "its object is closed already", FL_ENOENT);
		return true;
	}
	if (top->flags & FL_TARGET_OP_BLOCKS)
		a.deadline_ns = fl_clock_now_ns() + fli_target_deadline_span(ar, op);
	record_op(ar, op, ints, n, a.deadline_ns);
	rv = top->fn(here.state, &a, top->creates != NULL ? &created : NULL);
	if ((top->flags & FL_TARGET_OP_EXPECT_EXACT) && fli_op_must_fail(ar, op, top->name, rv))
		return true; /* it failed, as it must: nothing made */
	if (rv == 0 && top->creates != NULL) {
		if (created == NULL) {
			fli_run_fail(r, "harness",
			             "target %s: op %s (line %d) succeeded and created nothing",
			             o->target->name, top->name, op->line);
			return true;
		}
		if (o->as >= 0)
			__atomic_store_n(&r->objs[o->as], created, __ATOMIC_RELEASE);
		else /* FL_TARGET_OP_AS_OPTIONAL: nobody names it */
			kind_named(o->target, top->creates)->close(here.state, created);
	}
	if (rv != 0)
		fli_op_error(ar, op, top->name, rv);
	return true;
}

/* target_resources: every gauge at zero. */
static void
judge_gauges(struct run *r, const char *who)
{
	const struct fl_target *t = r->s->target;

	if (!(r->s->properties & FL_SCN_PROP_TARGET_RESOURCES) || t->gauges == NULL)
		return;
	for (const struct fl_target_gauge *g = t->gauges; g->name != NULL; g++) {
		int64_t v = g->read(here.state);

		/* Each its own violation: a baseline that knows one leak
		 * must not hide another (a run is known only when every
		 * violation is). */
		if (v != 0)
			fli_run_fail(r, "target_resources",
			             "target %s: %s is %lld once every object of %s closed",
			             t->name, g->name, (long long)v, who);
	}
}

/* The target's own properties the scenario checks (fl_target_property),
 * each judged: every one that does not hold fails the run with its
 * name. */
static void
judge_properties(struct run *r, const char *who)
{
	const struct fl_target *t = r->s->target;

	for (int i = 0; t->properties != NULL && t->properties[i].name != NULL; i++) {
		char why[400] = "";

		if (!(r->s->target_properties & (1u << i)) ||
		    t->properties[i].holds(here.state, why, sizeof(why)))
			continue;
		why[sizeof(why) - 1] = '\0';
		fli_run_fail(r, t->properties[i].name,
		             "target %s: %s (once every object of %s closed)", t->name,
		             why[0] ? why : "it does not hold", who);
	}
}

/* fini, then (when counted) the heap the target still holds: blocks it
 * allocated, after every object closed and its fini ran. */
static void
end_state(struct run *r, const char *who, bool judge)
{
	struct fli_alloc_stats st;
	struct fli_alloc_block *held = NULL;
	size_t n = 0;

	if (here.t != NULL && here.pid == getpid() && !here.failed && here.t->fini != NULL)
		here.t->fini(here.state);
	if (here.hooked) {
		/* The heap check's last look: guards of what is still held,
		 * and the quarantine. */
		fli_alloc_flush();
		fli_alloc_stats(&st);
		/* The blocks' list only names the first: when it cannot be
		 * had (no memory for its copy) the counts alone fail the run. */
		if (judge && (r->s->properties & FL_SCN_PROP_TARGET_RESOURCES) &&
		    st.blocks_held > 0) {
			char first[160] = " (which ones is unknown: no list of them could be had)";
			int hrc = fli_alloc_held(&held, &n);

			/* A test's (cli_test.py case targets): no memory for the
			 * list. */
			if (hrc == 0 && getenv("FLI_TEST_ALLOC_LIST_FAILS") != NULL) {
				free(held);
				held = NULL;
				hrc = FL_ENOMEM;
			}
			if (hrc == 0 && n > 0)
				snprintf(first, sizeof(first),
				         ": the first made by its allocation call #%llu (%s, %zu "
				         "bytes)",
				         (unsigned long long)held[0].n, held[0].fn, held[0].size);
			fli_run_fail(r, "target_resources",
			             "target %s holds %llu heap block%s (%llu bytes) it allocated, "
			             "once every object of %s closed and its fini ran%s",
			             here.t->name, (unsigned long long)st.blocks_held,
			             st.blocks_held == 1 ? "" : "s",
			             (unsigned long long)st.bytes_held, who, first);
		}
		free(held);
		(void)fli_alloc_unhook();
		fli_alloc_reset();
		here.hooked = false;
	}
	here.pid = 0;
	here.state = NULL;
}

/* The actor's ops ended: what it left open is closed (as a process's
 * exit would have it); in proc mode its process's state is judged and
 * ended here. */
static void
target_close(struct actor_run *ar)
{
	struct run *r = ar->run;
	const struct fl_target *t = r->s->target;
	char who[96];

	if (t == NULL || here.pid != getpid() || here.failed)
		return;
	/* Past its last op: a crash from here is the closing's, not the
	 * last op's (list_actor_ops says so). */
	__atomic_store_n(&ar->op, (int)ar->a->op_count, __ATOMIC_RELAXED);
	for (size_t i = 0; r->objs != NULL && i < r->s->object_count; i++) {
		const struct fl_scenario_object *o = &r->s->objects[i];

		void *obj;

		if (o->kind != FL_SCN_OBJ_TARGET || o->actor != ar->index ||
		    (obj = __atomic_exchange_n(&r->objs[i], NULL, __ATOMIC_ACQ_REL)) == NULL)
			continue;
		fli_run_story(r, "%s: %s %s left open: closed by the harness", ar->a->name,
		              o->target_kind, o->name);
		kind_named(t, o->target_kind)->close(here.state, obj);
	}
	if (per_process(r)) {
		snprintf(who, sizeof(who), "actor %s's process", ar->a->name);
		if (!ar->crashed) {
			judge_gauges(r, who);
			judge_properties(r, who);
		}
		end_state(r, who, !ar->crashed);
	}
}

/* The run's end (every actor done): the shared state judged and ended. */
static void
target_audit(struct run *r)
{
	if (r->s->target == NULL || here.pid != getpid())
		return;
	if (!here.failed) {
		judge_gauges(r, "the run");
		judge_properties(r, "the run");
	}
	end_state(r, "the run", !here.failed);
}

const struct fli_run_domain fli_target_domain = {
	.name = "target",
	.op = target_op,
	.close = target_close,
	.audit = target_audit,
};
