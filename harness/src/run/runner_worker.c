/*
 * The persistent worker.  Forking a child per run costs about 0.3 ms,
 * a fifth of a short sim run, so seeded sim runs (a sweep's too: the
 * sweep's rule goes with the seed) go to one forked worker that runs them
 * in sequence, each exactly as the per-run child would
 * (fli_runner_child_run).  So do plain proc runs (runner.c's for_worker):
 * the worker forks each run's process actors and runs its driver thread,
 * as the run's own process did, and a third of a proc run's page faults
 * (the run's process faulting in its pages again after its fork) are
 * gone.  The caller may send the next run while one is
 * on (fli_runner_next): the worker starts it as soon as the first ends,
 * and its frames wait (in the socket, or read into worker.buf) until
 * they are asked for; its deadline counts from its start (TAG_BEGIN
 * carries the time).  A run's outcome, its TAG_END and the TAG_BEGIN of
 * the run sent ahead go in one write, the next run's time taken once
 * the rest is written (held_send): the parent wakes once a run.
 *
 * Isolation stays what the per-run child gives where it matters: a run
 * that crashes kills the worker (its signal is the verdict, as before),
 * a run past its deadline gets the worker's process group SIGKILLed
 * (hang), and the worker retires after any run that did not pass or left
 * a file descriptor open (or, a proc run, a thread or a child process:
 * its group is killed with it), so every failure is found by a worker whose
 * earlier runs all passed clean, and replay and shrink (which always
 * fork per run) reproduce it.  A run sent ahead that a dead or retired
 * worker never began is sent again to a new one (runner.c); a send that
 * fails while a run is on leaves that run to be read to its end (a worker
 * that died in it: its crash).  A worker serves one
 * scenario, as it was (mode, scheduler) when the worker forked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultline/choice.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "faultline/sandbox.h"
#include "faultline/sim.h"

#include "faultline/faults.h"
#include "core/clock.h"
#include "core/sandbox_internal.h"
#include "run/run_internal.h"
#include "run/runner.h"
#include "run/runner_internal.h"
#include "run/sanitizer.h"

struct worker_req {
	uint64_t seed;
	uint64_t timeout_ms;
	uint64_t pct_steps;
	uint64_t sweep_k;
	uint8_t check_each_step;
	uint8_t count_hits;
	uint8_t sweep_persistent;
	uint8_t timeline;
	char sweep_point[128]; /* a sweep run's point, or "" */
	char ns[64];
	char san_dir[256]; /* the run's sanitizer report directory, or "" */
};

/* Requests sent and their outcomes not yet taken, oldest first: the run
 * being waited for and the one sent ahead (fli_runner_next), which the
 * worker starts as soon as the first ends, with no round trip between. */
#define WORKER_AHEAD 2

static struct {
	pid_t pid;   /* 0: none */
	pid_t owner; /* the process that forked it */
	int fd;      /* socket to the worker */
	const struct fl_scenario *s;
	enum fl_scn_mode mode;
	enum fl_scn_sched_kind sched;
	uint32_t properties;
	uint64_t sent[WORKER_AHEAD];  /* tickets of the requests in flight */
	uint64_t seeds[WORKER_AHEAD]; /* and their seeds */
	bool sweeps[WORKER_AHEAD];    /* and whether each is a sweep's */
	unsigned nsent;
	struct fli_worker_before ended; /* the runs it ended so far */
	uint64_t tickets;
	uint8_t *buf; /* read from the worker and not yet taken: the next */
	size_t len;   /* run's frames, whole or in part */
	size_t cap;
	bool no_more; /* a send failed with runs in flight: none is sent now */
	bool outside; /* it ended a run outside a batch (fli_runner_batch) */
} worker;

static bool in_batch; /* fli_runner_batch */

struct fli_worker_before fli_runner_worker_before;
/* A worker found dead between runs (fli_runner_worker_died). */
static struct {
	bool dead;
	pid_t owner; /* the process whose worker it was */
	int status;
	struct fli_worker_before before; /* the runs it had ended */
} death;

/* The worker ended with status between runs: a death, unless it exited
 * 0 (told to stop, or retiring after a run that did not pass).  Only of
 * a worker whose every run was a batch's (a sweep's counting run or a
 * PCT calibration is no report's run to put it on).  In a sanitizer
 * build only a signal: a runtime's check at exit may turn an _exit(0)
 * into its own status (TSan's 66 for a thread left joinable). */
static void
note_death(int status)
{
	if (worker.ended.runs == 0 || worker.outside || !in_batch ||
	    (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || fli_san_enabled())))
		return;
	death.dead = true;
	death.owner = fl_getpid();
	death.status = status;
	death.before = worker.ended;
}

static void worker_stop(bool kill_it);

void
fli_runner_batch(bool on)
{
	/* A worker that ran runs outside the batch (a sweep's counting
	 * run) goes: the batch's is a new one, whose deaths count. */
	if (on && worker.pid > 0 && worker.outside && worker.owner == fl_getpid() &&
	    worker.nsent == 0)
		worker_stop(false);
	in_batch = on;
}

void
fli_worker_before_say(char *buf, size_t size, const struct fli_worker_before *b, const char *ran)
{
	if (b->sweep)
		snprintf(buf, size, "one of the %llu runs %s (a sweep's among them)",
		         (unsigned long long)b->runs, ran);
	else if (b->runs == 1)
		snprintf(buf, size, "the run %s (seed %llu)", ran,
		         (unsigned long long)b->first_seed);
	else
		snprintf(buf, size, "one of the %llu runs %s (seeds %llu %s %llu)",
		         (unsigned long long)b->runs, ran, (unsigned long long)b->first_seed,
		         b->consecutive ? "to" : "first, the last",
		         (unsigned long long)b->last_seed);
}

bool
fli_runner_worker_died(char *buf, size_t size)
{
	const struct fli_worker_before *b = &death.before;
	char how[64], runs[128];

	if (!death.dead || death.owner != fl_getpid()) /* a --jobs child's copy */
		return false;
	death.dead = false;
	if (WIFSIGNALED(death.status))
		snprintf(how, sizeof(how), "died of %s", fl_signal_name(WTERMSIG(death.status)));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(death.status));
	fli_worker_before_say(runs, sizeof(runs), b, "it ran");
	snprintf(buf, size,
	         "a persistent worker process %s between runs (found after this run): %s left "
	         "something behind in it (a thread, a timer, a signal handler) that killed "
	         "it, or the system did (the OOM killer); --fork-each runs each in a process "
	         "of its own",
	         how, runs);
	return true;
}

pid_t
fli_runner_worker_pid(void)
{
	return worker.owner == fl_getpid() ? worker.pid : 0;
}

/* All len bytes read (or written, out), again after EINTR: 0, or -1 on
 * an error or the stream's end. */
static int
io_full(int fd, uint8_t *p, size_t len, bool out)
{
	while (len > 0) {
		ssize_t n = out ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fli_runner_read_full(int fd, void *buf, size_t len)
{
	return io_full(fd, buf, len, false);
}

/* Is this process alone again after a proc run: its one thread, and no
 * child left (running, or dead and not reaped)?  A run's own process
 * took what it left behind with it when it exited; the worker must not
 * carry a thread or a process of one run into the next run's verdict
 * (a leftover thread that crashes later, or allocates in the next run's
 * heap window).  Not alone: the worker retires, and its parent kills
 * its group. */
static bool
alone(void)
{
	char buf[1024], *p;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), status, field = 2;
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	long threads = 0;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* Field 20 is num_threads; field 2, the name, ends at the last ')'. */
	p = strrchr(buf, ')');
	while (p != NULL && field < 20 && (p = strchr(p + 1, ' ')) != NULL)
		field++;
	if (p == NULL || field != 20)
		return false;
	threads = strtol(p + 1, NULL, 10);
	return threads == 1 && waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

/* Reads the parent's next request into *q if it is already here (it
 * sends each in one write, ahead of the run before it), without
 * waiting for one that is not: true when *q holds it whole. */
static bool
next_ready(int fd, struct worker_req *q)
{
	ssize_t n = recv(fd, q, sizeof(*q), MSG_DONTWAIT);

	if (n == (ssize_t)sizeof(*q))
		return true;
	/* Part of it: the rest is on its way (false: the stream ended). */
	return n > 0 && fli_runner_read_full(fd, (uint8_t *)q + n, sizeof(*q) - (size_t)n) == 0;
}

/* Appends a frame to the outcome held for one write, or writes what is
 * held and then the frame when there is no memory to append it. */
static void
held_add(int fd, uint32_t tag, const void *data, uint32_t len)
{
	if (fl_sandbox_frames_add(&fli_runner_child_outcome, tag, data, len) != 0) {
		(void)fl_sandbox_frames_flush(fd, &fli_runner_child_outcome);
		fl_sandbox_frame_write(fd, tag, data, len);
	}
}

static int
write_full(int fd, const uint8_t *p, size_t len)
{
	return io_full(fd, (uint8_t *)p, len, true);
}

/* Writes the frames held: a run's outcome and its TAG_END, and at b_off
 * (SIZE_MAX: none) the next run's TAG_BEGIN, whose time is the moment
 * all before it was written.  A parent slow to read (busy, or stopped)
 * makes the write wait when an outcome fills the socket (a cluster
 * run's choices alone are 246 KB): that wait is not the next run's. */
static void
held_send(int fd, size_t b_off)
{
	struct fl_sandbox_frames *b = &fli_runner_child_outcome;
	size_t len = b->len, off = 0, at = b_off + 2 * sizeof(uint32_t);
	uint64_t began = fli_mono_ms();
	ssize_t n;
	bool stale;

	b->len = 0; /* the crash handler sends none of it again */
	fli_runner_child_outcome_mark = SIZE_MAX;
	if (b_off != SIZE_MAX)
		memcpy(b->buf + at, &began, sizeof(began));
	/* Nearly always all of it, in one call that does not wait. */
	n = send(fd, b->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0)
		off = (size_t)n;
	/* The TAG_BEGIN went out in part, the rest to wait for the parent. */
	stale = b_off != SIZE_MAX && off > b_off && off < len;
	if (b_off != SIZE_MAX && off <= b_off) {
		if (write_full(fd, b->buf + off, b_off - off) != 0)
			return;
		off = b_off;
		began = fli_mono_ms();
		memcpy(b->buf + at, &began, sizeof(began));
	}
	if (write_full(fd, b->buf + off, len - off) != 0 || !stale)
		return;
	/* A second TAG_BEGIN, with the time the run begins (the parent
	 * takes the last of those that lead a run's frames). */
	began = fli_mono_ms();
	fl_sandbox_frame_write(fd, TAG_BEGIN, &began, sizeof(began));
}

/* A test's (FLI_TEST_WORKER_DAMAGE set; cli_test.py, case worker): the
 * heap damage a run can leave in the worker, as by writing to blocks it
 * had freed, made at the start of the worker's second run (after its
 * TAG_BEGIN: the death is that run's, whenever its request came): the
 * head of each of malloc's per-thread lists of small free blocks points
 * nowhere, and the run dies in malloc.  Alone, in a fresh child, the
 * same run has no such damage. */
static void
test_damage(unsigned runs_ended)
{
	/* Called through a volatile pointer: the compiler would drop the
	 * write below as one to freed memory. */
	void (*volatile release)(void *) = free;
	void *a, *b;

	if (runs_ended != 1 || getenv("FLI_TEST_WORKER_DAMAGE") == NULL)
		return;
	/* One size a list (tcache bins are 16 bytes apart, 24 the first's
	 * largest): no malloc here takes from a list already damaged. */
	for (size_t size = 24; size <= 1032; size += 16) {
		a = malloc(size);
		b = malloc(size);
		release(a);
		release(b);
		/* b is the list's head: its first word is the link. */
		memset(b, 0x41, 8);
	}
}

/* A test's (cli_test.py case worker): the worker dies of SIGALRM (a
 * timer a run left, say; no sanitizer takes it) once the run of seed
 * FLI_TEST_WORKER_IDLE_DEATH has ended, before it reads the next
 * request; of the signal FLI_TEST_WORKER_IDLE_SIGNAL instead when set
 * (SIGSEGV: through the crash handler, which writes its frame first). */
static bool
test_idle_death(uint64_t seed)
{
	const char *e = getenv("FLI_TEST_WORKER_IDLE_DEATH");

	return e != NULL && strtoull(e, NULL, 10) == seed;
}

static void __attribute__((noreturn)) worker_main(const struct fl_scenario *s, int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL,  SIGFPE, SIGABRT,
		                     SIGTRAP, SIGSYS, SIGTERM, SIGINT, SIGALRM };
	int fds_at_start;
	bool have = false;  /* q holds the next request, read ahead */
	bool begun = false; /* and its TAG_BEGIN went with the last run's end */
	unsigned runs_ended = 0;
	struct worker_req q;

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	fds_at_start = fli_audit_count_fds();
	/* A run's outcome is held, to go with its TAG_END (held_send). */
	fli_runner_child_hold = true;
	for (;;) {
		struct fli_runner_opts o = { 0 };
		struct child_arg ca = { .s = s, .o = &o, .ns = q.ns };
		int32_t end[2];
		uint8_t end_frame[2 * sizeof(int32_t) + sizeof(uint64_t)];
		uint64_t ended, began;
		size_t b_off = SIZE_MAX;
		bool die;

		if (!have && fli_runner_read_full(fd, &q, sizeof(q)) != 0)
			_exit(0);
		if (!begun) {
			/* When it began: the deadline of a run sent ahead
			 * counts from here, not from when the parent began to
			 * wait. */
			began = fli_mono_ms();
			fl_sandbox_frame_write(fd, TAG_BEGIN, &began, sizeof(began));
		}
		have = begun = false;
		test_damage(runs_ended);
		q.ns[sizeof(q.ns) - 1] = '\0';
		q.san_dir[sizeof(q.san_dir) - 1] = '\0';
		q.sweep_point[sizeof(q.sweep_point) - 1] = '\0';
		ca.san_dir = q.san_dir[0] != '\0' ? q.san_dir : NULL;
		o.seed = q.seed;
		o.timeout_ms = q.timeout_ms;
		o.pct_steps = q.pct_steps;
		o.check_each_step = q.check_each_step;
		o.count_hits = q.count_hits;
		o.timeline = q.timeline;
		if (q.sweep_point[0] != '\0') {
			o.sweep_point = q.sweep_point;
			o.sweep_k = q.sweep_k;
			o.sweep_persistent = q.sweep_persistent;
		}
		end[0] = fli_runner_child_run(&ca, fd);
		end[1] = end[0] == 0 && fli_audit_count_fds() == fds_at_start &&
		         (s->mode != FL_SCN_MODE_PROC || alone());
		fflush(NULL);
		/* With when it ended: the run is judged by its own time, not
		 * by when the parent came to read it. */
		ended = fli_runner_child_done_ms;
		memcpy(end_frame, end, sizeof(end));
		memcpy(end_frame + sizeof(end), &ended, sizeof(ended));
		fli_runner_child_outcome_mark = fli_runner_child_outcome.len;
		held_add(fd, TAG_END, end_frame, sizeof(end_frame));
		/* The next run, sent ahead, begins once this one's frames are
		 * written: its TAG_BEGIN goes in the same write, so the
		 * parent wakes once a run, not three times.  Not after a
		 * failed or unclean run: the worker retires, and the parent
		 * sends that run again. */
		die = end[1] && test_idle_death(q.seed);
		if (end[1] && !die && next_ready(fd, &q)) {
			have = true;
			b_off = fli_runner_child_outcome.len;
			began = 0; /* held_send sets it */
			if (fl_sandbox_frames_add(&fli_runner_child_outcome, TAG_BEGIN, &began,
			                          sizeof(began)) == 0)
				begun = true;
			else
				b_off = SIZE_MAX;
		}
		held_send(fd, b_off);
		if (!end[1])
			_exit(0);
		if (die) {
			/* between runs, the next not read: a timer left */
			const char *sig = getenv("FLI_TEST_WORKER_IDLE_SIGNAL");

			raise(sig != NULL ? atoi(sig) : SIGALRM);
		}
		runs_ended++;
	}
}

/* Reaps pid, SIGKILLing its group once deadline (ms) has passed: a
 * worker whose socket closed may still be running (a run that closed the
 * worker's descriptor).  false when it had to be killed. */
static bool
reap_by(pid_t pid, int *status, uint64_t deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return true;
		if (fli_mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return false;
		}
		usleep(1000);
	}
}

/* Nothing in flight any more, nothing read kept. */
static void
worker_forget(void)
{
	worker.nsent = 0;
	worker.len = 0;
	worker.no_more = false;
}

static void
worker_stop(bool kill_it)
{
	int status = 0;

	if (worker.pid <= 0 || worker.owner != fl_getpid())
		return;
	/* Dead already, with no run in flight: between runs (note_death).
	 * One that died in a run in flight was that run's (a run sent ahead
	 * and not wanted, or one whose wait gave up). */
	siginfo_t si = { 0 };

	if (waitid(P_PID, (id_t)worker.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == worker.pid) {
		/* Its group first, while its pid is still its own (unreaped). */
		if (kill_it)
			kill(-worker.pid, SIGKILL); /* what its group left */
		close(worker.fd);
		while (waitpid(worker.pid, &status, 0) < 0 && errno == EINTR)
			;
		if (worker.nsent == 0)
			note_death(status);
	} else {
		if (kill_it)
			kill(-worker.pid, SIGKILL);
		close(worker.fd); /* a live worker reads EOF and exits 0 */
		/* It died before it read the EOF, or before the kill landed
		 * (of another signal). */
		if (reap_by(worker.pid, &status, fli_mono_ms() + 10000) && worker.nsent == 0 &&
		    (!kill_it || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL))
			note_death(status);
	}
	worker.pid = 0;
	worker_forget();
}

void
fli_runner_shutdown(void)
{
	fli_runner_next(NULL, NULL); /* a run sent ahead is not wanted */
	worker_stop(worker.nsent > 0);
	free(worker.buf);
	worker.buf = NULL;
	worker.cap = 0;
}

bool
fli_runner_worker_holds(uint64_t ticket)
{
	if (worker.pid <= 0 || worker.owner != fl_getpid())
		return false;
	for (unsigned i = 0; i < worker.nsent; i++)
		if (worker.sent[i] == ticket)
			return true;
	return false;
}

static int
worker_start(const struct fl_scenario *s)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return FL_EIO;
	fflush(NULL);
	pid = fli_fork_group(sv);
	if (pid < 0)
		return FL_EIO;
	if (pid == 0)
		worker_main(s, sv[1]);
	worker.pid = pid;
	worker.owner = fl_getpid();
	worker.fd = sv[0];
	worker.s = s;
	worker.mode = s->mode;
	worker.sched = s->scheduler;
	worker.properties = s->properties;
	memset(&worker.ended, 0, sizeof(worker.ended));
	worker.outside = false;
	worker_forget();
	return 0;
}

int
fli_runner_worker_send(const struct fl_scenario *s, const struct fli_runner_opts *o, const char *ns,
                       const char *san_dir, uint64_t *ticket)
{
	struct worker_req q = { .seed = o->seed,
		                .timeout_ms = o->timeout_ms,
		                .pct_steps = o->pct_steps,
		                .check_each_step = o->check_each_step,
		                .count_hits = o->count_hits,
		                .timeline = o->timeline,
		                .sweep_k = o->sweep_k,
		                .sweep_persistent = o->sweep_persistent };

	if (o->sweep_point != NULL && strlen(o->sweep_point) >= sizeof(q.sweep_point))
		return FL_EIO; /* too long to send: the caller forks the run */
	if (worker.pid > 0 && worker.owner != fl_getpid()) {
		/* Forked (--jobs): the worker is the parent's, not ours. */
		close(worker.fd);
		worker.pid = 0;
		worker_forget();
	}
	if (worker.pid > 0 && (worker.s != s || worker.mode != s->mode ||
	                       worker.sched != s->scheduler || worker.properties != s->properties))
		worker_stop(true);
	if (worker.pid > 0 && worker.no_more && worker.nsent == 0)
		worker_stop(true); /* its runs taken: a new worker for the next */
	if (worker.pid > 0 && (worker.nsent == WORKER_AHEAD || worker.no_more))
		return FL_EIO; /* no more than that ahead; or a send failed */
	if (worker.pid <= 0 && worker_start(s) != 0)
		return FL_EIO;
	snprintf(q.ns, sizeof(q.ns), "%s", ns);
	snprintf(q.sweep_point, sizeof(q.sweep_point), "%s",
	         o->sweep_point != NULL ? o->sweep_point : "");
	snprintf(q.san_dir, sizeof(q.san_dir), "%s", san_dir != NULL ? san_dir : "");
	if (send(worker.fd, &q, sizeof(q), MSG_NOSIGNAL) != (ssize_t)sizeof(q)) {
		/* With a run in flight the worker may have died in it: what it
		 * wrote before is still to be read (fli_runner_worker_wait
		 * reads to the EOF and judges that run); only this one is not
		 * sent.  A part of the request sent makes the stream unusable
		 * for anything after that run: no more is sent to it. */
		if (worker.nsent > 0) {
			worker.no_more = true;
			return FL_EIO;
		}
		worker_stop(true);
		return FL_EIO;
	}
	*ticket = ++worker.tickets;
	worker.seeds[worker.nsent] = o->seed;
	worker.sweeps[worker.nsent] = o->sweep_point != NULL;
	worker.sent[worker.nsent++] = *ticket;
	return 0;
}

/* The length of the first run's frames in buf, through its TAG_END frame
 * (whose words go to end, its time to *ended), or 0 when they are not
 * all there yet. */
static size_t
run_frames(const uint8_t *buf, size_t len, int32_t end[2], uint64_t *ended)
{
	size_t pos = 0;
	uint32_t tag, dlen;
	const uint8_t *data;

	while (fl_sandbox_frame_next(buf, len, &pos, &tag, &data, &dlen) == 0)
		if (tag == TAG_END && dlen == 2 * sizeof(int32_t) + sizeof(uint64_t)) {
			memcpy(end, data, 2 * sizeof(int32_t));
			memcpy(ended, data + 2 * sizeof(int32_t), sizeof(uint64_t));
			return pos;
		}
	return 0;
}

/* Room for at least one more byte in worker.buf; false past what a run
 * may send. */
static bool
buf_room(void)
{
	size_t ncap;
	uint8_t *nb;

	if (worker.len < worker.cap)
		return true;
	ncap = worker.cap == 0 ? 1u << 16 : worker.cap * 2;
	nb = ncap > (512u << 20) ? NULL : realloc(worker.buf, ncap);
	if (nb == NULL)
		return false;
	worker.buf = nb;
	worker.cap = ncap;
	return true;
}

/* Reads what the worker has written and not yet been read, without
 * waiting: true when it read something. */
static bool
drain(void)
{
	bool got = false;

	for (;;) {
		struct pollfd pf = { .fd = worker.fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 0) <= 0 || !(pf.revents & POLLIN) || !buf_room())
			return got;
		n = read(worker.fd, worker.buf + worker.len, worker.cap - worker.len);
		if (n <= 0)
			return got;
		worker.len += (size_t)n;
		got = true;
	}
}

/* The TAG_BEGIN frames that lead what is read of the run waited for (one;
 * two when the first went out late, held_send): their length, 0 when
 * none is whole yet, and the last one's time in *began. */
static size_t
leading_begins(uint64_t *began)
{
	size_t pos = 0, at = 0;
	uint32_t tag, dlen;
	const uint8_t *data;

	while (fl_sandbox_frame_next(worker.buf, worker.len, &pos, &tag, &data, &dlen) == 0 &&
	       tag == TAG_BEGIN && dlen == sizeof(*began)) {
		memcpy(began, data, sizeof(*began));
		at = pos;
	}
	return at;
}

/* Moves the first n bytes read into *sr's payload (NUL-terminated, as
 * fl_sandbox_run's), keeping what follows for the next run.  false when
 * out of memory. */
static bool
take_payload(size_t n, struct fl_sandbox_result *sr)
{
	uint8_t *p = malloc(n + 1);

	if (p == NULL)
		return false;
	memcpy(p, worker.buf, n);
	p[n] = '\0';
	memmove(worker.buf, worker.buf + n, worker.len - n);
	worker.len -= n;
	sr->payload = p;
	sr->payload_len = n;
	return true;
}

/* How long a dropped run's worker has to say it began it (its TAG_BEGIN
 * goes with the last run's end, or as soon as it reads the request): a
 * busy machine's scheduling delay, with room. */
#define DROP_WAIT_MS 2000

/* Whether what leads worker.buf is a whole frame other than TAG_BEGIN:
 * written between runs, only by the crash handler (TAG_CRASH). */
static bool
leading_other_frame(void)
{
	size_t pos = 0;
	uint32_t tag, dlen;
	const uint8_t *data;

	return fl_sandbox_frame_next(worker.buf, worker.len, &pos, &tag, &data, &dlen) == 0 &&
	       tag != TAG_BEGIN;
}

void
fli_runner_worker_drop(uint64_t ticket, bool (*stop)(void))
{
	uint64_t deadline = fli_mono_ms() + DROP_WAIT_MS, began, now;
	bool died = false;

	if (!fli_runner_worker_holds(ticket))
		return;
	while (worker.nsent == 1 && worker.sent[0] == ticket && leading_begins(&began) == 0 &&
	       !stop() && (now = fli_mono_ms()) < deadline) {
		struct pollfd pf = { .fd = worker.fd, .events = POLLIN };
		ssize_t n;

		/* The crash handler's frame first: dying between runs (a
		 * core dump can take longer than the wait). */
		if (leading_other_frame()) {
			died = true;
			break;
		}
		if (poll(&pf, 1, (int)(deadline - now > 100 ? 100 : deadline - now)) <= 0)
			continue;
		if (!buf_room())
			break;
		n = read(worker.fd, worker.buf + worker.len, worker.cap - worker.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			died = true; /* its socket closed: it ended */
			break;
		}
		worker.len += (size_t)n;
	}
	if (died) {
		/* Before it began the run: that run was never its, and its
		 * death is one between runs, noted once it is reaped (not
		 * killed: a kill would be the status seen). */
		worker.nsent = 0;
		worker_stop(false);
		return;
	}
	worker_stop(true);
}

int
fli_runner_worker_wait(uint64_t ticket, uint64_t timeout_ms, bool (*stop)(void),
                       struct fl_sandbox_result *sr)
{
	uint64_t t0 = fli_mono_ms(), deadline = t0 + timeout_ms, ended = 0, began = 0;
	bool extended = false;
	int32_t end[2];
	int status = 0;

	memset(sr, 0, sizeof(*sr));
	/* Lost with a worker that died or was stopped, or never sent: the
	 * caller sends it again or forks it. */
	if (!fli_runner_worker_holds(ticket) || worker.sent[0] != ticket)
		return FL_EIO;
	fli_runner_worker_before = worker.ended;
	for (;;) {
		struct pollfd pf = { .fd = worker.fd, .events = POLLIN };
		uint64_t now = fli_mono_ms();
		size_t whole = run_frames(worker.buf, worker.len, end, &ended);
		size_t begins = leading_begins(&began);
		ssize_t n;

		/* Its time and its deadline count from its start (before
		 * this wait when it was sent ahead). */
		if (begins > 0 && began != t0 && !extended) {
			t0 = began;
			deadline = t0 + timeout_ms;
		}

		if (whole > 0) {
			if (!take_payload(whole, sr)) {
				worker_stop(true);
				sr->verdict = FL_VERDICT_FAIL;
				break;
			}
			worker.outside |= !in_batch;
			if (worker.ended.runs++ == 0) {
				worker.ended.first_seed = worker.seeds[0];
				worker.ended.consecutive = true;
			} else if (worker.seeds[0] != worker.ended.last_seed + 1) {
				worker.ended.consecutive = false;
			}
			worker.ended.last_seed = worker.seeds[0];
			worker.ended.sweep |= worker.sweeps[0];
			worker.nsent--;
			memmove(worker.sent, worker.sent + 1,
			        worker.nsent * sizeof(worker.sent[0]));
			memmove(worker.seeds, worker.seeds + 1,
			        worker.nsent * sizeof(worker.seeds[0]));
			memmove(worker.sweeps, worker.sweeps + 1,
			        worker.nsent * sizeof(worker.sweeps[0]));
			sr->verdict = end[0] == 0 ? FL_VERDICT_PASS : FL_VERDICT_FAIL;
			/* Ended, but past its time (from its start to its end, the
			 * worker's clock): a hang, as a run killed at its deadline
			 * would be. */
			if (ended > t0 && ended - t0 > timeout_ms) {
				sr->verdict = FL_VERDICT_HANG;
				sr->signal = 0;
			}
			/* It retires after a failed or unclean run: with its group,
			 * whatever a proc run left running in it. */
			if (!end[1])
				worker_stop(true);
			break;
		}
		if (stop()) {
			worker_stop(true);
			sr->verdict = FL_VERDICT_CRASH;
			sr->signal = SIGKILL;
			sr->stopped = true;
			break;
		}
		if (now >= deadline) {
			/* What is written already first: a run that ended in time
			 * and was not read yet (the parent slow) is no hang.  Nor
			 * is one whose outcome is coming (frames past its
			 * TAG_BEGIN: a run writes them once it is over, at once
			 * when it took over half its time, else with its
			 * TAG_END), its writes having waited for this reader:
			 * once more its time to finish them. */
			if (drain())
				continue;
			if (!extended && begins > 0 && worker.len > begins) {
				extended = true;
				deadline = now + timeout_ms;
				continue;
			}
			worker_stop(true);
			sr->verdict = FL_VERDICT_HANG;
			sr->signal = SIGKILL;
			break;
		}
		/* A stop interrupts poll (EINTR); one that lands just before it
		 * is seen within the 100 ms slice. */
		if (poll(&pf, 1, (int)(deadline - now > 100 ? 100 : deadline - now)) <= 0)
			continue;
		if (!buf_room()) { /* more than a run may send: a broken run */
			worker_stop(true);
			sr->verdict = FL_VERDICT_FAIL;
			break;
		}
		n = read(worker.fd, worker.buf + worker.len, worker.cap - worker.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			uint32_t first = 0;

			bool gone;

			close(worker.fd);
			gone = reap_by(worker.pid, &status,
			               deadline > fli_mono_ms() + 1000 ? deadline
			                                               : fli_mono_ms() + 1000);
			worker.pid = 0;
			if (!gone) {
				/* Its socket closed, and it ran on past the run's
				 * deadline: killed, a hang. */
				if (!take_payload(worker.len, sr))
					sr->payload = NULL;
				worker_forget();
				sr->verdict = FL_VERDICT_HANG;
				sr->signal = SIGKILL;
				break;
			}
			if (worker.len >= sizeof(first))
				memcpy(&first, worker.buf, sizeof(first));
			if (first != TAG_BEGIN) {
				/* It died before the run began (killed while idle):
				 * not this run's doing, the caller forks it; but a
				 * failure of the runs before it (note_death). */
				note_death(status);
				worker_forget();
				return FL_EIO;
			}
			/* The worker died in the run: what the per-run child's
			 * death would have been. */
			if (!take_payload(worker.len, sr))
				sr->payload = NULL;
			worker_forget();
			if (WIFSIGNALED(status)) {
				sr->verdict = FL_VERDICT_CRASH;
				sr->signal = WTERMSIG(status);
			} else {
				sr->verdict = FL_VERDICT_FAIL;
				sr->exit_status = WEXITSTATUS(status);
			}
			break;
		}
		worker.len += (size_t)n;
	}
	if (stop())
		sr->stopped = true; /* whatever it ended with, a stop was pending */
	sr->seconds = (ended > t0 ? ended - t0 : fli_mono_ms() - t0) / 1000.0;
	return 0;
}
