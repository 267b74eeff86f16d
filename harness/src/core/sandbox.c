/*
 * Fork isolation with a wall-clock deadline (see sandbox.h).
 *
 * The parent polls the pipe in slices of at most 20 ms and checks, with
 * waitid(WNOWAIT), whether the child has exited without reaping it: while
 * the child is a zombie its pid (and so its process group id) cannot be
 * reused, so the SIGKILL to the group that cleans up grandchildren never
 * hits a stranger.  Only then is the child reaped.
 */
#include "faultline/sandbox.h"
#include "faultline/error.h"
#include "core/clock.h"
#include "core/grow.h"
#include "core/sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_PAYLOAD (1u << 20)
#define DEFAULT_GRACE_MS    200
#define POLL_SLICE_MS       20

struct sink {
	uint8_t *buf;
	size_t len, cap, max;
	bool truncated;
	bool oom;
};

/* Reads what is available; returns 1 on EOF, 0 otherwise. */
static int
sink_read(struct sink *s, int fd)
{
	uint8_t tmp[16384];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n == 0)
			return 1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return 1;
		}
		size_t keep = (size_t)n;
		if (s->len + keep > s->max) {
			keep = s->max - s->len;
			s->truncated = true;
		}
		if (keep == 0 || s->oom)
			continue;
		uint8_t *nb = fli_grow(s->buf, &s->cap, s->len + keep + 1, 1, 4096);
		if (!nb) {
			s->oom = true;
			continue;
		}
		s->buf = nb;
		memcpy(s->buf + s->len, tmp, keep);
		s->len += keep;
	}
}

static bool
child_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

static void
reap(pid_t pid, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, 0);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
	}
}

pid_t
fli_fork_group(int fds[2])
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		/* In its own group the child would outlive a parent killed by
		 * a test runner's timeout: die with the parent instead. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(FL_SANDBOX_EXIT_FAIL);
		close(fds[0]);
		return 0;
	}
	/* Both sides set the group so neither order of scheduling leaves a
	 * window where a kill of the group misses the child. */
	setpgid(pid, pid);
	close(fds[1]);
	return pid;
}

int
fl_sandbox_run(const struct fl_sandbox_opts *o, int (*fn)(void *arg, int out_fd), void *arg,
               struct fl_sandbox_result *res)
{
	if (!o || !fn || !res)
		return FL_EINVAL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return FL_EIO;
	fflush(stdout);
	fflush(stderr);
	double t0 = fli_mono_s();
	pid_t pid = fli_fork_group(p);
	if (pid < 0)
		return FL_EIO;
	if (pid == 0) {
		/* Handlers inherited from the parent (a test framework's longjmp
		 * on SIGSEGV, say) must not turn a crash into a return into the
		 * parent's code: fatal signals get their default action. */
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL,  SIGFPE, SIGABRT,
			                     SIGTRAP, SIGSYS, SIGTERM, SIGINT, SIGALRM };
		for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
			signal(fatal[i], SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		int rc = fn(arg, p[1]);
		fflush(stdout);
		fflush(stderr);
		close(p[1]);
		_exit(rc == 0 ? 0 : FL_SANDBOX_EXIT_FAIL);
	}
	/* A pidfd turns "the child exited" into a poll event; without one
	 * (old kernel, some valgrind versions) the loop falls back to short
	 * sleeps. */
	static bool no_pidfd; /* ENOSYS once (valgrind 3.19): never ask again */
	int pidfd = no_pidfd ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0)
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	else if (errno == ENOSYS)
		no_pidfd = true;
	int fl = fcntl(p[0], F_GETFL);
	fcntl(p[0], F_SETFL, fl | O_NONBLOCK);

	struct sink s = { .max = o->max_payload ? o->max_payload : DEFAULT_MAX_PAYLOAD };
	uint64_t start = fli_mono_ms();
	uint64_t deadline = o->timeout_ms ? start + o->timeout_ms : UINT64_MAX;
	uint64_t grace = o->grace_ms ? o->grace_ms : DEFAULT_GRACE_MS;
	bool eof = false, hang = false, dumped = false, stopped = false;
	long backoff_ns = 10000;
	for (;;) {
		/* Checked after the fork is published (pid set): a stop that
		 * came before is seen here, one that comes later interrupts
		 * poll (EINTR) or is seen one slice later. */
		if (o->stop != NULL && *o->stop) {
			stopped = true;
			goto kill_group;
		}
		if (!eof) {
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };
			uint64_t t = fli_mono_ms();
			int slice = POLL_SLICE_MS;
			if (deadline != UINT64_MAX && deadline > t &&
			    deadline - t < (uint64_t)slice)
				slice = (int)(deadline - t);
			if (deadline != UINT64_MAX && deadline <= t)
				slice = 0;
			struct pollfd pfds[2] = { pfd, { .fd = pidfd, .events = POLLIN } };
			int pr = poll(pfds, pidfd >= 0 ? 2 : 1, slice);
			if (pr > 0 && (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    sink_read(&s, p[0]))
				eof = true;
		}
		if (child_exited(pid)) {
			if (!eof)
				sink_read(&s, p[0]);
			break;
		}
		if (eof && pidfd >= 0) {
			/* Pipe closed: wait for the exit itself on the pidfd. */
			uint64_t t = fli_mono_ms();
			if (t >= deadline)
				goto timed_out;
			struct pollfd pp = { .fd = pidfd, .events = POLLIN };
			uint64_t left = deadline - t;
			poll(&pp, 1, left > POLL_SLICE_MS ? POLL_SLICE_MS : (int)left);
			continue;
		}
		if (eof) {
			/* Pipe closed: the child is usually exiting right now, so
			 * wait in steps from 10 us doubling to 1 ms. */
			if (fli_mono_ms() >= deadline)
				goto timed_out;
			struct timespec ts = { 0, backoff_ns };
			nanosleep(&ts, NULL);
			if (backoff_ns < 1000000)
				backoff_ns *= 2;
			continue;
		}
		if (fli_mono_ms() < deadline)
			continue;
	timed_out:
		hang = true;
		if (o->dump_signal && !dumped) {
			dumped = true;
			kill(pid, o->dump_signal);
			deadline = fli_mono_ms() + grace;
			continue;
		}
	kill_group:
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		/* The pipe may still be open in a grandchild that got the
		 * group kill; drain whatever is left without waiting. */
		while (!child_exited(pid)) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		sink_read(&s, p[0]);
		break;
	}
	/* A run that ended while a stop was pending may have died of the
	 * same signal (sent to every process by name, say): not a verdict. */
	if (o->stop != NULL && *o->stop)
		stopped = true;
	/* Grandchildren left in the group die with it. */
	kill(-pid, SIGKILL);
	int status = 0;
	reap(pid, &status);
	close(p[0]);
	if (pidfd >= 0)
		close(pidfd);

	memset(res, 0, sizeof *res);
	res->seconds = fli_mono_s() - t0;
	res->payload = s.buf;
	res->payload_len = s.len;
	if (s.buf)
		s.buf[s.len] = 0;
	res->truncated = s.truncated || s.oom;
	res->stopped = stopped;
	if (hang) {
		res->verdict = FL_VERDICT_HANG;
		res->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	} else if (WIFSIGNALED(status)) {
		res->verdict = FL_VERDICT_CRASH;
		res->exit_status = -1;
		res->signal = WTERMSIG(status);
	} else {
		res->exit_status = WEXITSTATUS(status);
		res->verdict = res->exit_status == 0 ? FL_VERDICT_PASS : FL_VERDICT_FAIL;
	}
	return 0;
}

void
fl_sandbox_result_fini(struct fl_sandbox_result *res)
{
	if (!res)
		return;
	free(res->payload);
	res->payload = NULL;
	res->payload_len = 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const uint8_t *b = data;
	while (len) {
		ssize_t n = write(fd, b, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FL_EIO;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fl_sandbox_frame_write(int fd, uint32_t tag, const void *data, uint32_t len)
{
	uint32_t hdr[2] = { tag, len };
	uint8_t small[256];
	int rc;

	/* A small frame in one write: each write may wake the reader (a
	 * worker's TAG_BEGIN, when its run was not sent ahead). */
	if (len <= sizeof(small) - sizeof(hdr)) {
		memcpy(small, hdr, sizeof(hdr));
		if (len > 0)
			memcpy(small + sizeof(hdr), data, len);
		return write_all(fd, small, sizeof(hdr) + len);
	}
	rc = write_all(fd, hdr, sizeof hdr);
	if (rc == 0)
		rc = write_all(fd, data, len);
	return rc;
}

int
fl_sandbox_frames_add(struct fl_sandbox_frames *b, uint32_t tag, const void *data, uint32_t len)
{
	uint32_t hdr[2] = { tag, len };

	if (b->cap - b->len < sizeof(hdr) + (size_t)len) {
		size_t cap = b->cap ? b->cap : 16384;
		uint8_t *p;

		while (cap - b->len < sizeof(hdr) + (size_t)len)
			cap *= 2;
		if ((p = realloc(b->buf, cap)) == NULL)
			return FL_ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, hdr, sizeof(hdr));
	if (len > 0)
		memcpy(b->buf + b->len + sizeof(hdr), data, len);
	b->len += sizeof(hdr) + len;
	return 0;
}

int
fl_sandbox_frames_flush(int fd, struct fl_sandbox_frames *b)
{
	int rc = b->len > 0 ? write_all(fd, b->buf, b->len) : 0;

	b->len = 0;
	return rc;
}

int
fl_sandbox_frame_next(const uint8_t *buf, size_t len, size_t *pos, uint32_t *tag,
                      const uint8_t **data, uint32_t *dlen)
{
	if (!pos || !tag || !data || !dlen)
		return FL_EINVAL;
	if (!buf || *pos >= len)
		return FL_ENOENT;
	if (len - *pos < 8)
		return FL_EPROTO;
	uint32_t hdr[2];
	memcpy(hdr, buf + *pos, sizeof hdr);
	if ((uint64_t)hdr[1] > len - *pos - 8)
		return FL_EPROTO;
	*tag = hdr[0];
	*dlen = hdr[1];
	*data = buf + *pos + 8;
	*pos += 8 + (size_t)hdr[1];
	return 0;
}

static const char *const verdict_names[] = { "pass", "fail", "crash", "hang", "deadlock" };

const char *
fl_verdict_name(enum fl_verdict v)
{
	if ((unsigned)v < sizeof verdict_names / sizeof verdict_names[0])
		return verdict_names[v];
	return "unknown";
}

int
fl_verdict_parse(const char *name, enum fl_verdict *out)
{
	if (!name || !out)
		return FL_EINVAL;
	for (unsigned i = 0; i < sizeof verdict_names / sizeof verdict_names[0]; i++) {
		if (strcmp(name, verdict_names[i]) == 0) {
			*out = (enum fl_verdict)i;
			return 0;
		}
	}
	return FL_EINVAL;
}

const char *
fl_signal_name(int sig)
{
	switch (sig) {
	case SIGHUP: return "SIGHUP";
	case SIGINT: return "SIGINT";
	case SIGQUIT: return "SIGQUIT";
	case SIGILL: return "SIGILL";
	case SIGTRAP: return "SIGTRAP";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGUSR1: return "SIGUSR1";
	case SIGSEGV: return "SIGSEGV";
	case SIGUSR2: return "SIGUSR2";
	case SIGPIPE: return "SIGPIPE";
	case SIGALRM: return "SIGALRM";
	case SIGTERM: return "SIGTERM";
	case SIGXCPU: return "SIGXCPU";
	case SIGXFSZ: return "SIGXFSZ";
	case SIGSYS: return "SIGSYS";
	default: return "SIG?";
	}
}
