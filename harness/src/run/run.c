/*
 * One run's own state, shared by the runner, the interpreter and the
 * auditor: the first violation (fli_run_fail), an operation's error and
 * whether a fault excuses it (fli_op_error), deadlines, the wait for the
 * embedded driver, the run's story (for faultline shrink), and the whole
 * life of its run directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/stats.h"

#include "core/clock.h"
#include "run/runner.h"

#include "run/run_internal.h"
#include "run/timeline.h"

/* run/heap.h: the faultline program sets it. */
const struct fli_heap_counter *fli_heap_counter;

static uint32_t
total_actor_faults(struct run *r)
{
	uint32_t n = 0;

	for (size_t i = 0; i < r->s->actor_count; i++)
		n += __atomic_load_n(&r->actors[i].faults_fired, __ATOMIC_RELAXED);
	return n;
}

void
fli_op_error(struct actor_run *ar, const struct fl_scenario_op *op, const char *what, int rv)
{
	struct run *r = ar->run;

	ar->op_errors++;
	if ((rv < 0 && rv >= FL_ERROR_MIN && (op->expect & FL_SCN_EXPECT_BIT(rv)) != 0) ||
	    r->sweep || fli_op_fault_explains(ar, rv)) {
		ar->op_errors_tolerated++;
		fli_tl_op_error(ar, what, rv, false);
		return;
	}
	fli_tl_op_error(ar, what, rv, true);
	if (r->faults_configured &&
	    __atomic_load_n(&r->driver_faults_fired, __ATOMIC_RELAXED) + total_actor_faults(r) > 0)
		fli_run_fail(r, "operations",
		             "actor %s: %s (line %d): %s: %s (%s; if an earlier fault causes it, "
		             "declare it with expect: %s or expect: any)",
		             ar->a->name, fl_scenario_op_label(op), op->line, what, fl_errname(rv),
		             fli_op_fault_fired(ar) ? "only delays fired in this operation, and a "
		                                      "delay moves time, nothing else"
		                                    : "no fault fired in this operation",
		             fl_errname(rv));
	else
		fli_run_fail(r, "operations", "actor %s: %s (line %d): %s: %s", ar->a->name,
		             fl_scenario_op_label(op), op->line, what, fl_errname(rv));
}

bool
fli_op_must_fail(struct actor_run *ar, const struct fl_scenario_op *op, const char *what, int rv)
{
	int want = 0;

	for (int c = -1; c >= FL_ERROR_MIN && op->expect != FL_SCN_EXPECT_ANY; c--)
		if (op->expect == FL_SCN_EXPECT_BIT(c))
			want = c;
	if (want == 0)
		return false;
	if (rv == want)
		return true;
	if (rv != 0) {
		fli_op_error(ar, op, what, rv);
		return true;
	}
	/* Excused only where a fault in this very op may have changed what
	 * it found, or in a sweep run. */
	if (!ar->run->sweep && !fli_op_fault_fired(ar)) {
		fli_tl_op_error(ar, "succeeded", 0, true);
		fli_run_fail(ar->run, "operations",
		             "actor %s: %s (line %d): expected %s, but it succeeded", ar->a->name,
		             fl_scenario_op_label(op), op->line, fl_errname(want));
	}
	return false;
}

/* Of a packed outside count (run_internal.h: all in the low half, the
 * nodes' in the high half), or of its growth since `at`: all of them, or
 * the driver's alone (the nodes' left out). */
static uint32_t
outside(uint64_t now, uint64_t at, bool with_nodes)
{
	uint32_t all = (uint32_t)now - (uint32_t)at;
	uint32_t nodes = (uint32_t)(now >> 32) - (uint32_t)(at >> 32);

	return with_nodes ? all : all - nodes;
}

bool
fli_run_faults_fired_for(const struct actor_run *ar)
{
	/* A pub/sub client's death: never a node's fault. */
	return ar->run->sweep || __atomic_load_n(&ar->faults_fired, __ATOMIC_ACQUIRE) > 0 ||
	       outside(__atomic_load_n(&ar->run->outside_faults, __ATOMIC_ACQUIRE), 0, false) > 0;
}

bool
fli_op_fault_fired(const struct actor_run *ar)
{
	return __atomic_load_n(&ar->faults_fired, __ATOMIC_ACQUIRE) != ar->faults_at_op ||
	       outside(__atomic_load_n(&ar->run->outside_faults, __ATOMIC_ACQUIRE),
	               ar->outside_faults_at_op, ar->op_sees_nodes) > 0;
}

bool
fli_op_fault_explains(const struct actor_run *ar, int rv)
{
	uint32_t errors = __atomic_load_n(&ar->errors_fired, __ATOMIC_ACQUIRE) - ar->errors_at_op +
	                  outside(__atomic_load_n(&ar->run->outside_errors, __ATOMIC_ACQUIRE),
	                          ar->outside_errors_at_op, ar->op_sees_nodes);

	if (errors > 0)
		return true;
	if (!fli_op_fault_fired(ar))
		return false;
	/* Only delays: they move time, and nothing else. */
	switch (rv) {
	case FL_ETIMEDOUT:
	case FL_ECLOSED:
	case FL_ENOT_CONNECTED:
	case FL_EBACKPRESSURE:
	case FL_EDRIVER_TIMEOUT:
	case FL_ECLIENT_TIMEOUT:
	case FL_EAGAIN:
	case FL_ECANCELED:
	case FL_EFULL:
	case FL_ELAPPED:
	case FL_EPOOL_EMPTY:
	case FL_ELIMIT:    /* requests unanswered, a table not yet drained */
	case FL_ENO_PORTS: /* ports not yet given back */
	case FL_ECRASHED:
	case FL_ENOSERVER: return true;
	default: return false;
	}
}

uint64_t
fli_deadline_after_ms(struct run *r, uint32_t ms)
{
	uint64_t d = ms != 0 ? (uint64_t)ms * FL_NS_PER_MS : r->timeout_ns;
	return fl_clock_now_ns() + d;
}

/* Wait (with a deadline) until the driver actor has started. */
int
fli_wait_driver(struct run *r)
{
	struct fl_idle st = { 0 };
	uint64_t deadline = fl_clock_now_ns() + r->timeout_ns;

	while (__atomic_load_n(&r->driver_state, __ATOMIC_ACQUIRE) == RUN_DRIVER_STARTING) {
		if (fl_clock_now_ns() >= deadline)
			return FL_ETIMEDOUT;
		fl_idle(&st, 0, deadline);
	}
	return __atomic_load_n(&r->driver_state, __ATOMIC_ACQUIRE) == RUN_DRIVER_READY ? 0
	                                                                               : FL_ENOENT;
}


void
fli_run_story(struct run *r, const char *fmt, ...)
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
fli_run_fail(struct run *r, const char *property, const char *fmt, ...)
{
	va_list ap;

	/* Every violation counts (a baseline knows a run only when its one
	 * failure is known); stress actors are real threads: the first to
	 * fail is the verdict. */
	uint32_t nth = __atomic_fetch_add(&r->violations, 1, __ATOMIC_SEQ_CST);

	if (__atomic_exchange_n(&r->failed, true, __ATOMIC_SEQ_CST)) {
		char more[400];

		va_start(ap, fmt);
		vsnprintf(more, sizeof(more), fmt, ap);
		va_end(ap);
		/* Kept, each in its own slot (nth is this call's alone); the
		 * outcome sends those whose number the count covers. */
		if (nth >= 1 && nth - 1 < FL_REPORT_MORE) {
			snprintf(r->more[nth - 1].property, sizeof(r->more[0].property), "%s",
			         property);
			snprintf(r->more[nth - 1].detail, sizeof(r->more[0].detail), "%s", more);
		}
		fli_run_story(r, "also violated: %s: %s", property, more);
		return;
	}
	fli_tl_violation(r);
	snprintf(r->property, sizeof(r->property), "%s", property);
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* The actor running on this OS thread in stress mode (real threads); sim
 * actors share one thread and are found by the scheduler's name. */
static __thread struct actor_run *thread_actor;

void
fli_run_set_thread_actor(struct actor_run *ar)
{
	thread_actor = ar;
}

struct actor_run *
fli_run_thread_actor(void)
{
	return thread_actor;
}

/* ---- the run's directory of files (fl_target_run_dir) ---------------------
 *
 * "$TMPDIR/faultline-<ns>.d" (or /tmp): made on a target's first ask
 * (interp_target.c), removed with everything in it with the run
 * directory, whatever the run's end: a crashed actor's ipc socket goes
 * too.  Only a directory of this user's, never a link, is removed. */

int
fli_run_tmp_path(const char *ns, char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	n = snprintf(buf, len, "%s/faultline-%s.d", tmp, ns);
	return n > 0 && (size_t)n < len ? 0 : FL_ELIMIT;
}

static int
tmp_unlink(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

void
fli_run_tmp_remove(const char *ns)
{
	char path[512];
	struct stat st;

	if (fli_run_tmp_path(ns, path, sizeof(path)) != 0 || lstat(path, &st) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return;
	(void)nftw(path, tmp_unlink, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- the run directory -------------------------------------------------
 *
 * Its whole life: a free name is picked (fli_run_dir_pick), the path comes
 * from fl_run_dir_path, the embedded driver creates it fresh (or
 * fli_run_dir_make when the run has no pub/sub driver), the audit checks what
 * is left in it (fli_run_dir_audit, fli_run_dir_check_gone, fli_run_dir_check_empty),
 * and the runner removes it (fli_run_dir_remove) or a later faultline
 * reclaims a dead run's (fli_runner_remove_dead_run_dirs).  A name is
 * guessable (run-<pid>-<n>): whatever is there already, another user's
 * link or directory or a dead run's, is never adopted nor removed.
 */

int
fli_run_dir_pick(const char *prefix, char *ns, size_t len)
{
	static unsigned counter;
	char dir[256];
	struct stat st;

	/* A name in use is skipped, never adopted; the run itself refuses
	 * one taken after this look (fli_run_dir_claim). */
	for (int tries = 0;; tries++) {
		snprintf(ns, len, "%s-%d-%u", prefix ? prefix : "run", (int)fl_getpid(), counter++);
		if (fl_run_dir_path(ns, dir, sizeof(dir)) != 0)
			return FL_ENAME;
		if (lstat(dir, &st) != 0 && errno == ENOENT)
			return 0;
		fprintf(stderr,
		        "faultline: %s exists already (not this run's); skipping the name\n", dir);
		if (tries == 63) {
			fprintf(stderr, "faultline: 64 run directory names in a row exist already; "
			                "not running\n");
			errno = 0;
			return FL_EEXIST;
		}
	}
}

int
fli_run_dir_claim(struct run *r)
{
	if (fl_run_dir_exists(r->ns) == 1) {
		r->dir_taken = true;
		return FL_EEXIST;
	}
	return 0;
}

int
fli_run_dir_make(struct run *r)
{
	int rc = fl_run_dir_make(r->ns);

	r->dir_taken = rc == FL_EEXIST;
	return rc;
}

/* The driver's own files; anything else left once every actor closed is a
 * leak. */
static bool
driver_file(const char *name)
{
	return strcmp(name, "chunks.dat") == 0 || strcmp(name, "ports.dat") == 0 ||
	       strcmp(name, "cnc.dat") == 0;
}

/* A file the driver released but could not unlink (an unlink fault) is on
 * its retry list and counted by log_files_unlink_pending; it is gone with
 * the run directory at the latest.  Only files beyond that count leak. */
static int64_t
unlink_pending(struct run *r)
{
	struct fl_stats *st = malloc(sizeof(*st));
	int64_t n = 0;

	if (st != NULL && fl_stats_read(r->ns, st) == 0)
		n = st->log_files_unlink_pending;
	free(st);
	return n;
}

struct dir_audit {
	struct run *r;
	int64_t excused; /* -1: not read yet */
	bool failed;
	const char *when; /* NULL: the driver's files are not judged */
};

static void
audit_entry(void *arg, const char *name)
{
	struct dir_audit *a = arg;

	/* A hidden file is a leak like any other: nothing in a run makes
	 * one. */
	if (a->failed)
		return;
	if (a->when == NULL) {
		if (driver_file(name))
			return;
		if (a->excused < 0)
			a->excused = unlink_pending(a->r);
		if (a->excused > 0 && strncmp(name, "pub-", 4) == 0) {
			a->excused--;
			return;
		}
		a->failed = true;
		fli_run_fail(a->r, "no_leaked_files", "%s/%s is left after every actor closed",
		             a->r->dir, name);
		return;
	}
	fli_run_fail(a->r, "no_leaked_files", "%s/%s is left after %s", a->r->dir, name, a->when);
}

/* Every entry of the run directory to audit_entry.  A directory gone
 * holds nothing; one that cannot be read (no descriptor left, memory)
 * judges nothing, which is no pass. */
static void
dir_each_or_fail(struct run *r, struct dir_audit *a)
{
	int rc = fl_run_dir_each(r->ns, audit_entry, a);

	if (rc != 0 && rc != FL_ENOENT)
		fli_run_fail(r, "harness", "no_leaked_files: %s cannot be read: %s", r->dir,
		             fl_errname(rc));
}

/* no_leaked_files: nothing but the driver's own files is left once every
 * actor closed. */
void
fli_run_dir_audit(struct run *r)
{
	struct dir_audit a = { .r = r, .excused = -1 };

	dir_each_or_fail(r, &a);
}

void
fli_run_dir_check_gone(struct run *r)
{
	if (fl_run_dir_exists(r->ns) == 1)
		fli_run_fail(r, "no_leaked_files", "%s is left after the driver closed", r->dir);
}

void
fli_run_dir_check_empty(struct run *r)
{
	struct dir_audit a = { .r = r, .when = "the driver failed to start" };

	dir_each_or_fail(r, &a);
}

/* Removes what a run left in its run directory.  Only what a run makes
 * is removed: fl_run_dir_remove refuses a link, another user's directory
 * or mode, and unlinks only the transport's file names. */
void
fli_run_dir_remove(const char *ns)
{
	char dir[256];

	fli_run_tmp_remove(ns);
	/* A cluster's node files first: the transport removes only its own. */
	if (fl_run_dir_path(ns, dir, sizeof dir) == 0)
		(void)fli_cluster_remove_files(dir);
	(void)fl_run_dir_remove(ns);
}

/* Calls fn(ns, pid) for every /dev/shm/faultline-<prefix>-<pid>-<n>
 * (digits only after the prefix; pid 0: any pid). */
static unsigned
each_run_dir(pid_t pid, const char *ns_prefix, bool (*fn)(const char *ns, long pid))
{
	char prefix[96];
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	unsigned removed = 0;
	size_t n;

	if (d == NULL)
		return 0;
	n = (size_t)snprintf(prefix, sizeof(prefix), "faultline-%s-",
	                     ns_prefix ? ns_prefix : "run");
	while ((e = readdir(d)) != NULL) {
		const char *rest = e->d_name + n;
		char *end;
		long p;

		if (strncmp(e->d_name, prefix, n) != 0 || *rest < '1' || *rest > '9')
			continue;
		errno = 0;
		p = strtol(rest, &end, 10);
		if (errno != 0 || *end != '-' || end[1] == '\0' ||
		    strspn(end + 1, "0123456789") != strlen(end + 1) ||
		    (pid != 0 && p != (long)pid))
			continue;
		/* fl_run_dir_remove takes the namespace, not the path; it
		 * refuses a link or another user's directory and removes only
		 * the transport's own file names. */
		if (fn(e->d_name + strlen("faultline-"), p))
			removed++;
	}
	closedir(d);
	return removed;
}

static bool
remove_any(const char *ns, long pid)
{
	(void)pid;
	fli_run_tmp_remove(ns);
	return fl_run_dir_remove(ns) == 0;
}

void
fli_runner_remove_run_dirs(pid_t pid, const char *ns_prefix)
{
	(void)each_run_dir(pid, ns_prefix, remove_any);
}

/* A zombie: dead, only not reaped (its parent died too, and a pid 1 that
 * does not reap, as in many containers, keeps it). */
static bool
zombie(long pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* A pid this process can see and that no longer runs.  ESRCH or a
 * zombie; EPERM is a live process of another user. */
static bool
remove_if_dead(const char *ns, long pid)
{
	if (pid == (long)getpid() || pid > INT32_MAX)
		return false;
	if (kill((pid_t)pid, 0) == 0 ? !zombie(pid) : errno != ESRCH)
		return false;
	fli_run_tmp_remove(ns); /* a target's directory of the dead run's too */
	return fl_run_dir_remove(ns) == 0;
}

unsigned
fli_runner_remove_dead_run_dirs(const char *ns_prefix)
{
	return each_run_dir(0, ns_prefix, remove_if_dead);
}

/* ---- the history of the clients' operations ------------------------------ */

/* The lock is shared with process actors (proc mode): one killed while
 * holding it must not hang every other writer.  Held for a copy only, so
 * a second of real time without it is a dead holder: false. */
static bool
history_lock(struct run *r)
{
	double give_up = 0;

	for (unsigned spins = 0; __atomic_exchange_n(&r->history_lock, 1, __ATOMIC_ACQUIRE);
	     spins++) {
		if (spins % 1024 != 1023)
			continue;
		if (give_up == 0)
			give_up = fli_mono_s() + 1.0;
		else if (fli_mono_s() > give_up)
			return false;
		sched_yield();
	}
	return true;
}

static void
history_unlock(struct run *r)
{
	__atomic_store_n(&r->history_lock, 0, __ATOMIC_RELEASE);
}

/* s as an EDN string into buf ("..." with \" and \\ escaped); false
 * when it does not fit (nothing is cut short in a history). */
static bool
edn_string(char *buf, size_t n, const char *s)
{
	size_t k = 0;

	buf[k++] = '"';
	for (; *s != '\0' && k + 3 < n; s++) {
		if (*s == '"' || *s == '\\')
			buf[k++] = '\\';
		buf[k++] = *s == '\n' ? ' ' : *s;
	}
	buf[k++] = '"';
	buf[k] = '\0';
	return *s == '\0';
}

void
fli_run_history(struct run *r, const struct fl_history_model *model, int64_t process,
                const char *type, const char *f, const char *key, const char *value)
{
	fli_run_history2(r, model, process, type, f, key, value, NULL);
}

void
fli_run_history2(struct run *r, const struct fl_history_model *model, int64_t process,
                 const char *type, const char *f, const char *key, const char *value,
                 const char *value2)
{
	char k[600], v[9000], v2[4500], line[9800];
	bool whole = edn_string(k, sizeof(k), key);
	int n;

	if (value != NULL)
		whole &= edn_string(v, sizeof(v), value);
	else
		snprintf(v, sizeof(v), "nil");
	if (value2 != NULL && whole && edn_string(v2, sizeof(v2), value2)) {
		/* [VALUE VALUE2]: a cas's expected and new values */
		size_t len = strlen(v);
		if (len + strlen(v2) + 4 > sizeof(v)) {
			whole = false;
		} else {
			memmove(v + 1, v, len + 1);
			v[0] = '[';
			snprintf(v + len + 1, sizeof(v) - len - 1, " %s]", v2);
		}
	} else if (value2 != NULL) {
		whole = false;
	}
	n = snprintf(line, sizeof(line), "{:process %lld, :type :%s, :f :%s, :key %s, :value %s}\n",
	             (long long)process, type, f, k, v);
	if (!whole || n < 0 || (size_t)n >= sizeof(line)) {
		r->history_oom = true; /* judged as a harness failure: never a silent gap */
		return;
	}
	/* Outside the run's process the history must be the shared region:
	 * a heap of this process's own would be lost with it (and its
	 * pointer freed by the run's process). */
	if ((!r->history_shared && fl_getpid() != r->run_pid) || !history_lock(r)) {
		r->history_oom = true; /* judged as a harness failure */
		return;
	}
	r->history_model = model;
	if (r->history_shared && r->history_len + (size_t)n > r->history_cap) {
		/* Shared with process actors: it cannot move. */
		r->history_oom = true;
		history_unlock(r);
		return;
	}
	if (r->history_len + (size_t)n > r->history_cap) {
		size_t cap = r->history_cap ? r->history_cap * 2 : 4096;
		while (cap < r->history_len + (size_t)n)
			cap *= 2;
		char *h;

		/* The run's, freed after the heap is judged. */
		fli_heap_pause(true);
		h = realloc(r->history, cap);
		fli_heap_pause(false);
		if (h == NULL) {
			r->history_oom = true;
			history_unlock(r);
			return;
		}
		r->history = h;
		r->history_cap = cap;
	}
	memcpy(r->history + r->history_len, line, (size_t)n);
	r->history_len += (size_t)n;
	history_unlock(r);
}

/* A history is small (a scenario's clients make dozens to thousands of
 * operations) and decided in milliseconds; the limit only stops a search
 * that explodes, and then the run fails: undecided is not linearizable. */
#define HISTORY_CHECK_S 20.0 /* under the run's own limit (60 s by default) */

void
fli_run_check_history(struct run *r)
{
	struct fl_history h;
	struct fl_history_result res;
	struct fl_history_options opt = { .timeout_s = HISTORY_CHECK_S, .all_parts = true };
	char err[512];

	if (!(r->s->properties & FL_SCN_PROP_LINEARIZABLE))
		return;
	if (r->history_oom) {
		fli_run_fail(
		        r, "harness",
		        "linearizable: an event of the history could not be kept (out of memory, "
		        "or a value too long): the history is not whole");
		return;
	}
	if (r->history_len == 0 || r->history_model == NULL) {
		/* kv ops that never found a node saying it leads: nothing was
		 * checked, which a pass must not hide (a sweep's runs excepted:
		 * their faults are the point). */
		if (r->sweep)
			fli_run_story(r, "linearizable: no kv operation was invoked: not judged");
		else
			fli_run_fail(
			        r, "linearizable",
			        "nothing to judge: no kv operation was invoked (no node said it "
			        "led before an operation's deadline)");
		return;
	}
	if (fl_history_parse(r->history, r->history_len, "history", r->history_model, &h, err,
	                     sizeof(err)) != 0) {
		fli_run_fail(r, "harness", "linearizable: the run's own history does not parse: %s",
		             err);
		return;
	}
	size_t ok = 0;
	for (size_t i = 0; i < h.n; i++)
		ok += h.ops[i].outcome == FL_HOP_OK;
	if (ok == 0) { /* the checker would say unknown: say why */
		if (r->sweep)
			fli_run_story(r, "linearizable: no kv operation completed: not judged");
		else
			fli_run_fail(
			        r, "linearizable",
			        "nothing to judge: none of the %zu kv operations invoked completed",
			        h.n);
		fl_history_fini(&h);
		return;
	}
	if (fl_history_check(&h, r->history_model, &opt, &res) != 0) {
		fli_run_fail(r, "harness", "linearizable: out of memory checking the history");
		fl_history_fini(&h);
		return;
	}
	if (res.verdict == FL_HISTORY_UNKNOWN) {
		fli_run_fail(r, "linearizable",
		             "undecided: the search over %zu operations did not end within %.0f s "
		             "(an undecided history is not a linearizable one)",
		             res.ops, HISTORY_CHECK_S);
	} else if (res.verdict == FL_HISTORY_NOT_LINEARIZABLE && res.have_failure) {
		const struct fl_history_failure *f = &res.failure;
		char key[64] = "", op[256] = "(the end of the history)";

		fl_hvalue_format(&f->key, key, sizeof(key));
		if (f->blocked != UINT32_MAX)
			fl_history_describe_op(&h.ops[f->blocked], op, sizeof(op));
		fli_run_fail(r, "linearizable",
		             "key %s (%zu ops): no order of the operations explains the answers; "
		             "the longest order found explains %zu, after which the value is %s, "
		             "and %s completed before it could take effect",
		             key, f->part_ops, f->nprefix, f->state, op);
	}
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}
