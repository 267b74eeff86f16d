/*
 * The fault engine.  See faults.h.
 *
 * libfiu asks fault_cb whether an enabled point fails; the callback counts
 * the hit, matches the rules and draws from the choice stream.  Actions
 * that block or never return (delay, crash) are not run inside libfiu's
 * callback, where its locks and recursion guard are held: the callback
 * leaves them pending and the seam's observer (fault_observe), called
 * right after fiu_fail returns, performs them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIU_ENABLE 1
#include <fiu-control.h>
#include <fiu.h>

#include "faultline/choice.h"
#include "faultline/error.h"
#include "faultline/platform.h"

#include "faultline/faults.h"

struct point_count {
	uint64_t hits;
	uint64_t fired;
};

struct rule_state {
	struct fl_fault_rule rule;
	uint64_t hits; /* hits of matching points, for NTH/AFTER */
};

struct fl_faults {
	struct fl_choice *choices;
	struct fl_fault_hooks hooks;
	struct rule_state *rules;
	size_t nrules;
	struct point_count *counts; /* indexed like fl_fault_point_names */
	size_t npoints;
	uint64_t total_fired;
	const char *first_point;
	uint64_t first_hit;
	bool armed;
	bool quiesced; /* fl_faults_quiesce: no decision from now on (under cb_lock) */
};

/* The action decided by the callback, performed by the observer right
 * after fiu_fail returns on the same thread.  Per thread: in stress mode
 * every actor is a thread, and one shared slot let a fault decided at one
 * actor's point be taken, counted and acted on (delayed, failed, crashed)
 * at another's (ThreadSanitizer found the race).  Under sim every actor
 * shares one thread, but nothing yields between the decision and the
 * observer, so the slot is still the deciding actor's. */
static __thread const struct rule_state *pending;

static struct fl_faults *active;
/* In stress mode actors are real threads: the callback's counters and its
 * draws from the choice stream are serialised.  Never contended under sim
 * (one OS thread, and the callback never yields). */
static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;

/* A process forked while another thread decides a fault (the run's
 * cluster thread forks node processes while the driver thread runs)
 * must not inherit the lock held: taken around every fork. */
static void
cb_lock_prepare(void)
{
	pthread_mutex_lock(&cb_lock);
}

static void
cb_lock_release(void)
{
	pthread_mutex_unlock(&cb_lock);
}

static void __attribute__((constructor)) cb_lock_atfork(void)
{
	(void)pthread_atfork(cb_lock_prepare, cb_lock_release, cb_lock_release);
}

/* The harness's own points, after the transport's (faults.h). */
static const char *const harness_points[] = { FL_POINT_TARGET_ALLOC, NULL };
static const char *const harness_whats[] = {
	"an allocation call (malloc, calloc, realloc, strdup, posix_memalign...) of the "
	"target's library fails with ENOMEM; hit k is its k-th call in the process",
	NULL,
};
#define HARNESS_POINTS (sizeof(harness_points) / sizeof(harness_points[0]) - 1)

static const char **all_points, **all_whats;
static size_t transport_points, all_count;
static pthread_once_t points_once = PTHREAD_ONCE_INIT;

/* Each point's index by its name's hash (open addressing, a power of two
 * at least twice the points): a fault point is looked up at every hit,
 * and a scan of the whole list, a strcmp a point, was 6 % of a cluster
 * sweep's time.  Slots hold index + 1; 0 is empty.  Left all empty
 * (the scan is used) when the points outnumber it. */
#define POINT_SLOTS 1024u
static uint16_t point_slot[POINT_SLOTS];
static bool point_hashed;

static uint32_t
name_hash(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *c = (const unsigned char *)name; *c != '\0'; c++)
		h = (h ^ *c) * 16777619u;
	return h;
}

static void
points_hash(void)
{
	if (2 * all_count > POINT_SLOTS)
		return;
	for (size_t i = 0; i < all_count; i++) {
		uint32_t k = name_hash(all_points[i]) & (POINT_SLOTS - 1);

		while (point_slot[k] != 0)
			k = (k + 1) & (POINT_SLOTS - 1);
		point_slot[k] = (uint16_t)(i + 1);
	}
	point_hashed = true;
}

static void
points_init(void)
{
	while (fl_fault_point_names[transport_points] != NULL)
		transport_points++;
	all_count = transport_points + HARNESS_POINTS;
	all_points = calloc(all_count + 1, sizeof(*all_points));
	all_whats = calloc(all_count + 1, sizeof(*all_whats));
	if (all_points == NULL || all_whats == NULL) {
		/* The transport's list alone, as it was before harness points. */
		free(all_points);
		free(all_whats);
		all_points = (const char **)fl_fault_point_names;
		all_whats = (const char **)fl_fault_point_whats;
		all_count = transport_points;
		return;
	}
	for (size_t i = 0; i < transport_points; i++) {
		all_points[i] = fl_fault_point_names[i];
		all_whats[i] = fl_fault_point_whats[i];
	}
	for (size_t i = 0; i < HARNESS_POINTS; i++) {
		all_points[transport_points + i] = harness_points[i];
		all_whats[transport_points + i] = harness_whats[i];
	}
	points_hash();
}

const char *const *
fl_fault_points(void)
{
	pthread_once(&points_once, points_init);
	return all_points;
}

const char *const *
fl_fault_points_what(void)
{
	pthread_once(&points_once, points_init);
	return all_whats;
}

size_t
fl_fault_point_count(void)
{
	pthread_once(&points_once, points_init);
	return all_count;
}

int
fl_fault_point_index(const char *name)
{
	const char *const *names = fl_fault_points();

	if (point_hashed) {
		for (uint32_t k = name_hash(name) & (POINT_SLOTS - 1); point_slot[k] != 0;
		     k = (k + 1) & (POINT_SLOTS - 1))
			if (strcmp(names[point_slot[k] - 1], name) == 0)
				return point_slot[k] - 1;
		return -1;
	}
	for (size_t i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

bool
fl_fault_point_external(const char *name)
{
	return strncmp(name, "posix/", 6) == 0 || strncmp(name, "libc/", 5) == 0;
}

static bool
point_matches(const char *pattern, const char *name)
{
	size_t len = strlen(pattern);

	if (len > 0 && pattern[len - 1] == '*')
		return strncmp(pattern, name, len - 1) == 0;
	return strcmp(pattern, name) == 0;
}

int
fl_faults_new(struct fl_choice *choices, const struct fl_fault_hooks *hooks, struct fl_faults **out)
{
	struct fl_faults *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return FL_ENOMEM;
	f->npoints = fl_fault_point_count();
	f->counts = calloc(f->npoints + 1, sizeof(*f->counts));
	if (f->counts == NULL) {
		free(f);
		return FL_ENOMEM;
	}
	f->choices = choices;
	if (hooks != NULL)
		f->hooks = *hooks;
	*out = f;
	return 0;
}

int
fl_faults_add(struct fl_faults *f, const struct fl_fault_rule *rule)
{
	struct rule_state *nr;
	bool known = false;

	if (rule->point == NULL || (rule->when == FL_WHEN_PROB && !(rule->p >= 0 && rule->p <= 1)))
		return FL_EINVAL;
	for (size_t i = 0; i < f->npoints; i++)
		known = known || point_matches(rule->point, fl_fault_points()[i]);
	known = known || fl_fault_point_external(rule->point);
	if (!known)
		return FL_EINVAL;
	nr = realloc(f->rules, (f->nrules + 1) * sizeof(*nr));
	if (nr == NULL)
		return FL_ENOMEM;
	f->rules = nr;
	memset(&f->rules[f->nrules], 0, sizeof(f->rules[f->nrules]));
	f->rules[f->nrules].rule = *rule;
	f->nrules++;
	return 0;
}

/* Probabilities are drawn as integers out of 2^20 so that a recorded draw
 * of 0 means "did not fire": shrinking turns faults off. */
#define PROB_SCALE (1u << 20)

static bool
rule_fires(struct fl_faults *f, struct rule_state *rs)
{
	const struct fl_fault_rule *r = &rs->rule;

	switch (r->when) {
	case FL_WHEN_NTH: return rs->hits == r->n;
	case FL_WHEN_AFTER: return rs->hits >= r->n;
	case FL_WHEN_ALWAYS: return true;
	case FL_WHEN_PROB:
		if (f->choices == NULL || r->p <= 0)
			return false;
		return fl_choice_weighted(f->choices, (uint32_t)(r->p * PROB_SCALE), PROB_SCALE);
	}
	return false;
}

static int fault_decide(struct fl_faults *f, const char *name, void **failinfo);

static int
fault_cb(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
	struct fl_faults *f = active;
	int rv;

	(void)failnum;
	(void)flags;
	if (f == NULL || !f->armed)
		return 0;
	pthread_mutex_lock(&cb_lock);
	rv = fault_decide(f, name, failinfo);
	pthread_mutex_unlock(&cb_lock);
	return rv;
}

/* A posix/ point fired: its action happens here, inside the wrapped call
 * (the preload library has no observer to hand it to). */
static int
external_fire(struct fl_faults *f, const struct rule_state *rs, const char *name, void **failinfo)
{
	switch (rs->rule.action) {
	case FL_FAULT_CRASH:
		if (f->hooks.crash != NULL)
			f->hooks.crash(f->hooks.arg, name); /* a process actor: SIGKILL */
		return 0;
	case FL_FAULT_DELAY: fl_idle_sleep_until(fl_clock_now_ns() + rs->rule.delay_ns); return 0;
	default: *failinfo = (void *)(intptr_t)(rs->rule.err > 0 ? rs->rule.err : EIO); return 1;
	}
}

/* Rule rs applies to this hit of point `name` (and to the running actor,
 * when it names one). */
static bool
rule_matches(struct fl_faults *f, const struct rule_state *rs, const char *name)
{
	const char *actor;

	if (!point_matches(rs->rule.point, name))
		return false;
	if (rs->rule.actor == NULL)
		return true;
	actor = f->hooks.actor_name ? f->hooks.actor_name(f->hooks.arg) : NULL;
	return actor != NULL && strcmp(actor, rs->rule.actor) == 0;
}

static int
fault_decide(struct fl_faults *f, const char *name, void **failinfo)
{
	int idx;
	bool external = fl_fault_point_external(name);

	if (f->quiesced)
		return 0;
	if (external &&
	    (f->hooks.in_process_actor == NULL || !f->hooks.in_process_actor(f->hooks.arg)))
		return 0;
	idx = fl_fault_point_index(name);
	if (idx >= 0)
		f->counts[idx].hits++;
	if (f->hooks.silenced != NULL && f->hooks.silenced(f->hooks.arg))
		return 0;
	/* Every matching rule counts the hit, whichever fires: `nth: 2` is
	 * the point's second hit even when another rule fired at its first. */
	for (size_t i = 0; i < f->nrules; i++)
		if (rule_matches(f, &f->rules[i], name))
			f->rules[i].hits++;
	for (size_t i = 0; i < f->nrules; i++) {
		struct rule_state *rs = &f->rules[i];

		/* The harness's own points take errors only: a wildcard rule's
		 * delay or crash (`point: "*"`) would act with the allocator's
		 * lock held (target/alloc). */
		if (idx >= (int)transport_points && rs->rule.action != FL_FAULT_ERROR)
			continue;
		if (!rule_matches(f, rs, name) || !rule_fires(f, rs))
			continue;
		if (idx >= 0)
			f->counts[idx].fired++;
		if (f->total_fired++ == 0) {
			f->first_point = idx >= 0 ? fl_fault_points()[idx] : NULL;
			f->first_hit = idx >= 0 ? f->counts[idx].hits : 0;
		}
		if (f->hooks.fired != NULL)
			f->hooks.fired(f->hooks.arg, name, i);
		if (external)
			return external_fire(f, rs, name, failinfo);
		pending = rs;
		return rs->rule.action == FL_FAULT_ERROR || rs->rule.action == FL_FAULT_DROP;
	}
	return 0;
}

static int
fault_observe(void *arg, const char *name, int failed)
{
	struct fl_faults *f = arg;
	const struct rule_state *rs = pending;

	pending = NULL;
	if (rs == NULL)
		return failed;
	switch (rs->rule.action) {
	case FL_FAULT_DELAY: fl_idle_sleep_until(fl_clock_now_ns() + rs->rule.delay_ns); return 0;
	case FL_FAULT_CRASH:
		if (f->hooks.crash != NULL)
			f->hooks.crash(f->hooks.arg, name);
		return 0;
	default: return failed;
	}
}

bool
fl_faults_raise(const char *name)
{
	struct fl_faults *f;
	void *failinfo = NULL;
	int rv;

	pthread_mutex_lock(&cb_lock);
	f = active;
	rv = f != NULL && f->armed ? fault_decide(f, name, &failinfo) : 0;
	pthread_mutex_unlock(&cb_lock);
	/* As after libfiu's fiu_fail: the decided action, out of the lock. */
	return f != NULL && fault_observe(f, name, rv) != 0;
}

/* Disables in libfiu the first npoints transport points and the external
 * (posix/libc) points of the first nrules rules. */
static void
disable_points(struct fl_faults *f, size_t npoints, size_t nrules)
{
	if (npoints > transport_points)
		npoints = transport_points;
	for (size_t i = 0; i < npoints; i++)
		fiu_disable(fl_fault_point_names[i]);
	for (size_t i = 0; i < nrules; i++)
		if (fl_fault_point_external(f->rules[i].rule.point))
			fiu_disable(f->rules[i].rule.point);
}

int
fl_faults_arm(struct fl_faults *f)
{
	fiu_init(0);
	memset(f->counts, 0, f->npoints * sizeof(*f->counts));
	for (size_t i = 0; i < f->nrules; i++)
		f->rules[i].hits = 0;
	f->total_fired = 0;
	f->first_point = NULL;
	pending = NULL;
	/* libfiu raises the transport's points; the harness's own come
	 * through fl_faults_raise. */
	for (size_t i = 0; i < transport_points; i++) {
		if (fiu_enable_external(fl_fault_point_names[i], 1, NULL, 0, fault_cb) != 0) {
			disable_points(f, i, 0);
			return FL_EIO;
		}
	}
	/* libfiu matches a name ending in '*' as a prefix itself; the callback
	 * then sees the rule's pattern, which the rule matches. */
	for (size_t i = 0; i < f->nrules; i++) {
		if (fl_fault_point_external(f->rules[i].rule.point) &&
		    fiu_enable_external(f->rules[i].rule.point, 1, NULL, 0, fault_cb) != 0) {
			disable_points(f, f->npoints, i);
			return FL_EIO;
		}
	}
	active = f;
	f->armed = true;
	fl_fault_set_observer(fault_observe, f);
	fl_points_arm(FL_POINTS_ARMED(fl_sched_armed), true);
	return 0;
}

void
fl_faults_disarm(struct fl_faults *f)
{
	if (f == NULL || !f->armed)
		return;
	fl_points_arm(FL_POINTS_ARMED(fl_sched_armed), false);
	fl_fault_set_observer(NULL, NULL);
	disable_points(f, f->npoints, f->nrules);
	f->armed = false;
	if (active == f)
		active = NULL;
}

void
fl_faults_quiesce(struct fl_faults *f)
{
	pthread_mutex_lock(&cb_lock);
	f->quiesced = true;
	pthread_mutex_unlock(&cb_lock);
}

void
fl_faults_free(struct fl_faults *f)
{
	if (f == NULL)
		return;
	fl_faults_disarm(f);
	free(f->rules);
	free(f->counts);
	free(f);
}

uint64_t
fl_faults_hits(const struct fl_faults *f, const char *point)
{
	int idx = fl_fault_point_index(point);
	return idx < 0 ? 0 : f->counts[idx].hits;
}

uint64_t
fl_faults_fired(const struct fl_faults *f, const char *point)
{
	int idx = fl_fault_point_index(point);
	return idx < 0 ? 0 : f->counts[idx].fired;
}

uint64_t
fl_faults_total_fired(const struct fl_faults *f)
{
	return f->total_fired;
}

const char *
fl_faults_first_fired(const struct fl_faults *f, uint64_t *hit)
{
	if (hit != NULL)
		*hit = f->first_hit;
	return f->first_point;
}
