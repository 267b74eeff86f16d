/*
 * Shared by faultline-bench and faultline-rr-bench; see bench_common.h.
 */
#include "bench_common.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- idling -------------------------------------------------------- */

#define SPIN_PAUSES 64

void
bench_idle_init(struct bench_idle *st, enum bench_idle_mode mode)
{
	memset(st, 0, sizeof(*st));
	st->mode = mode;
}

void
bench_idle(struct bench_idle *st, int work)
{
	if (work > 0) {
		st->empty = 0;
		if (st->mode == BENCH_IDLE_BACKOFF)
			fl_idle(&st->fl, work, FL_DEADLINE_NONE);
		return;
	}
	switch (st->mode) {
	case BENCH_IDLE_SPIN:
		/* A peer on the other core answers within a few hundred ns; one
		 * on this core (2 cores shared with other work) runs only when
		 * we give the core away, so after SPIN_PAUSES empty passes every
		 * pass yields.  (A yield every 256 pauses instead cost a ~30 us
		 * round trip whenever both peers shared a core.) */
		if (++st->empty <= SPIN_PAUSES)
			__builtin_ia32_pause();
		else
			sched_yield();
		break;
	case BENCH_IDLE_YIELD: sched_yield(); break;
	case BENCH_IDLE_BACKOFF:
		/* A bounded park, so a loop still sees its own deadline. */
		fl_idle(&st->fl, 0, bench_now_ns() + 10 * FL_NS_PER_MS);
		break;
	}
}

static const char *const idle_names[] = { "spin", "yield", "backoff" };

int
bench_idle_parse(const char *s, enum bench_idle_mode *out)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(s, idle_names[i]) == 0) {
			*out = (enum bench_idle_mode)i;
			return 0;
		}
	}
	return -1;
}

const char *
bench_idle_name(enum bench_idle_mode mode)
{
	return idle_names[mode];
}

uint64_t *
bench_samples(size_t n)
{
	uint64_t *v = calloc(n != 0 ? n : 1, sizeof(*v));

	if (v != NULL)
		memset(v, 0xff, (n != 0 ? n : 1) * sizeof(*v));
	return v;
}

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * FL_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ---- latency ------------------------------------------------------- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
bench_lat_summarize(uint64_t *v, size_t n, struct bench_lat *out)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	out->p50_ns = v[n / 2];
	out->p99_ns = v[n * 99 / 100];
	out->p999_ns = v[n * 999 / 1000];
	out->max_ns = v[n - 1];
}

void
bench_fail_set(struct bench_result *res, int rc, const char *what)
{
	if (res->rc != 0)
		return;
	res->rc = rc != 0 ? rc : -1;
	snprintf(res->what, sizeof(res->what), "%s", what);
}

/* ---- peer processes ------------------------------------------------ */

static int
read_deadline(int fd, void *buf, size_t len, uint64_t deadline_ns)
{
	size_t got = 0;

	while (got < len) {
		uint64_t now = bench_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		int ms = (int)((deadline_ns - now) / FL_NS_PER_MS) + 1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int rc = poll(&p, 1, ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			continue;
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EPIPE : -errno;
		got += (size_t)n;
	}
	return 0;
}

/* The parent's ends of every live child's pipes: a new child closes them,
 * so closing a go pipe in the parent is an end-of-file its child sees. */
#define MAX_PARENT_FDS 64
static int parent_fds[MAX_PARENT_FDS];
static int n_parent_fds;

void
bench_parent_fd_add(int fd)
{
	/* One forgotten would keep a child from its end-of-file: never
	 * silently. */
	if (n_parent_fds == MAX_PARENT_FDS) {
		fprintf(stderr, "bench: more than %d pipe ends of children to track\n",
		        MAX_PARENT_FDS);
		exit(1);
	}
	parent_fds[n_parent_fds++] = fd;
}

void
bench_parent_fd_close(int fd)
{
	for (int i = 0; i < n_parent_fds; i++) {
		if (parent_fds[i] == fd) {
			parent_fds[i] = parent_fds[--n_parent_fds];
			break;
		}
	}
	close(fd);
}

int
bench_child_spawn(struct bench_child *c, void (*fn)(void *arg, struct bench_result *res), void *arg)
{
	int go[2], res[2];

	memset(c, 0, sizeof(*c));
	c->go_fd = c->res_fd = -1;
	if (pipe(go) != 0)
		return -errno;
	if (pipe(res) != 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		return -e;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		close(res[0]);
		close(res[1]);
		return -e;
	}
	if (pid == 0) {
		struct bench_result r;
		char b;

		close(go[1]);
		close(res[0]);
		for (int i = 0; i < n_parent_fds; i++)
			close(parent_fds[i]);
		memset(&r, 0, sizeof(r));
		if (read_deadline(go[0], &b, 1, bench_now_ns() + 30 * FL_NS_PER_SEC) != 0)
			_exit(3);
		fn(arg, &r);
		ssize_t n = write(res[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) && r.rc == 0 ? 0 : 1);
	}
	close(go[0]);
	close(res[1]);
	c->pid = pid;
	c->go_fd = go[1];
	c->res_fd = res[0];
	bench_parent_fd_add(c->go_fd);
	bench_parent_fd_add(c->res_fd);
	return 0;
}

int
bench_child_go(struct bench_child *c)
{
	return write(c->go_fd, "g", 1) == 1 ? 0 : -errno;
}

int
bench_child_finish(struct bench_child *c, uint64_t deadline_ns, struct bench_result *res)
{
	int rc = -1, status = 0;

	memset(res, 0, sizeof(*res));
	if (c->pid <= 0) {
		bench_fail_set(res, -1, "peer not started");
		return -1;
	}
	/* A child still waiting for its go byte sees end-of-file and exits
	 * at once instead of at its 30 s deadline. */
	bench_parent_fd_close(c->go_fd);
	c->go_fd = -1;
	int rrc = read_deadline(c->res_fd, res, sizeof(*res), deadline_ns);
	if (rrc != 0) {
		kill(c->pid, SIGKILL);
		memset(res, 0, sizeof(*res));
		bench_fail_set(res, rrc,
		               rrc == -ETIMEDOUT ? "peer missed its deadline (killed)"
		                                 : "peer died before reporting");
	}
	/* A child that reported exits at once; bound the wait anyway. */
	uint64_t reap_deadline = bench_now_ns() + 5 * FL_NS_PER_SEC;
	while (waitpid(c->pid, &status, WNOHANG) == 0) {
		if (bench_now_ns() >= reap_deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			break;
		}
		usleep(1000);
	}
	if (rrc == 0 && res->rc == 0)
		rc = 0;
	bench_parent_fd_close(c->res_fd);
	c->pid = 0;
	c->go_fd = c->res_fd = -1;
	return rc;
}

int
bench_child_kill(struct bench_child *c)
{
	int status = 0, rc = -1;

	if (c->pid <= 0)
		return -1;
	if (kill(c->pid, SIGKILL) == 0) {
		/* A SIGKILLed child is gone at once; bound the wait anyway. */
		uint64_t deadline = bench_now_ns() + 5 * FL_NS_PER_SEC;
		pid_t w;
		while ((w = waitpid(c->pid, &status, WNOHANG)) == 0 && bench_now_ns() < deadline)
			usleep(100);
		rc = w == c->pid ? 0 : -1;
	}
	if (c->go_fd >= 0)
		bench_parent_fd_close(c->go_fd);
	bench_parent_fd_close(c->res_fd);
	c->pid = 0;
	c->go_fd = c->res_fd = -1;
	return rc;
}

/* ---- figures ------------------------------------------------------- */

#define MAX_FIGURES 96

static struct figure {
	const char *name;
	double value;
	int decimals;
	const char *str; /* non-NULL: a string figure */
} figures[MAX_FIGURES];
static int nfigures;

/* One figure more than the table holds is the program's bug: said, not
 * dropped. */
static void
figure_room(const char *name)
{
	if (nfigures == MAX_FIGURES) {
		fprintf(stderr, "bench: no room for figure %s (%d figures at most)\n", name,
		        MAX_FIGURES);
		exit(1);
	}
}

void
bench_put(const char *name, double value, int decimals)
{
	figure_room(name);
	figures[nfigures++] = (struct figure){ name, value, decimals, NULL };
}

void
bench_put_str(const char *name, const char *value)
{
	figure_room(name);
	figures[nfigures++] = (struct figure){ name, 0, 0, value };
}

void
bench_print(int json)
{
	if (json)
		putchar('{');
	for (int i = 0; i < nfigures; i++) {
		const struct figure *f = &figures[i];
		if (json) {
			printf("%s\"%s\": ", i ? ", " : "", f->name);
			if (f->str != NULL)
				printf("\"%s\"", f->str);
			else
				printf("%.*f", f->decimals, f->value);
		} else if (f->str != NULL) {
			printf("%s %s\n", f->name, f->str);
		} else {
			printf("%s %.*f\n", f->name, f->decimals, f->value);
		}
	}
	if (json)
		printf("}\n");
	fflush(stdout);
}

void
bench_opts_init(struct bench_opts *o)
{
	o->json = 0;
	o->bound_ns = 10 * FL_NS_PER_SEC;
	o->repeat = 1;
	o->idle = BENCH_IDLE_SPIN;
}

int
bench_opt(struct bench_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (strcmp(a, "--json") == 0) {
		o->json = 1;
		return 1;
	}
	if (strcmp(a, "--seconds") != 0 && strcmp(a, "--repeat") != 0 && strcmp(a, "--idle") != 0)
		return 0;
	if (v == NULL)
		return -1;
	(*i)++;
	if (strcmp(a, "--seconds") == 0) {
		double s = strtod(v, NULL);
		if (!(s > 0 && s <= 3600))
			return -1;
		o->bound_ns = (uint64_t)(s * 1e9);
	} else if (strcmp(a, "--repeat") == 0) {
		unsigned long r = strtoul(v, NULL, 10);
		if (r < 1 || r > 100)
			return -1;
		o->repeat = (unsigned)r;
	} else if (bench_idle_parse(v, &o->idle) != 0) {
		return -1;
	}
	return 1;
}

int
bench_args(struct bench_opts *o, int argc, char **argv, int (*own)(int argc, char **argv, int *i),
           void (*usage)(FILE *f, const char *argv0))
{
	bench_opts_init(o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int took = bench_opt(o, argc, argv, &i);

		if (took == 0)
			took = own(argc, argv, &i);
		if (took > 0)
			continue;
		if (took == 0 && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			usage(stdout, argv[0]);
			return 0;
		}
		usage(stderr, argv[0]);
		return 2;
	}
	return -1;
}
