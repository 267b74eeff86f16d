/*
 * A hostile writer against a live run directory, over real shared memory.
 *
 * A driver (with request/response) runs in its own process; beside it a
 * publisher, a subscriber, a request/response server and client, each a
 * legitimate client in its own process, keep working, and a stats reader
 * reads the gauges.  This process maps every segment of the run directory
 * (cnc.dat with its header, counters, command ring and broadcast; the log
 * buffers; chunks.dat and ports.dat with their queues) and scribbles:
 * random bytes anywhere, and 4- or 8-byte values chosen to hurt (0, ~0,
 * indices past capacity, misaligned positions, lengths of 2^60) at the
 * fields that hold layouts, lengths and indices.
 *
 * Pass: no process crashes (every one exits 0 when told to stop), the
 * driver's heartbeat keeps moving, the driver counts rejections, and
 * /dev/shm is clean afterwards.  The legitimate processes may get errors;
 * they close and reopen what failed.  A process that crashes or stops
 * making progress is counted, replaced, and fails the test at the end, so
 * one run tells how many such events a given number of rounds provokes.
 *
 * Bounded by work: FL_ROUNDS scribbles (default 3,000; 200 under
 * valgrind), in batches; after each batch this process waits until every
 * legitimate process finished one more pass of its loop and the driver's
 * heartbeat moved.  FL_SEED (printed) fixes the scribbles.
 */
#include <dirent.h>
#include <execinfo.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "test_util.h"
#include "faultline/chunk.h"
#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/reqrep.h"
#include "faultline/stats.h"
#include "chunk_pool.h"
#include "cnc.h"
#include "driver_ext.h"
#include "log_buffer.h"
#include "port_pool.h"
#include "rr_driver.h"

#define MS FL_NS_PER_MS
#define TERM (64u * 1024u)
#define BATCH 50u
#define MAX_SEGS 64

enum role { R_DRIVER, R_PUB, R_SUB, R_SERVER, R_CLIENT, R_STATS, N_ROLES };

static const char *const role_name[N_ROLES] = {
	"driver", "publisher", "subscriber", "rr-server", "rr-client", "stats-reader",
};

/* Shared with the children (an anonymous shared page made before the
 * forks): each legitimate process counts the passes of its loop. */
struct progress {
	_Atomic uint64_t passes[N_ROLES];
	_Atomic uint64_t ok[N_ROLES];      /* offers, fragments, requests served, replies, reads */
	_Atomic uint64_t errors[N_ROLES];
};

static struct progress *prog;
static char ns[64];
static char run_dir[256];

/* ---- the legitimate processes ---------------------------------------- */

static bool
told_to_stop(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* Nobody writes to the pipe: readable means its writer closed it. */
	return poll(&p, 1, 0) == 1;
}

static void
quiet(void *arg, int err, const char *what)
{
	(void)err;
	(void)what;
	atomic_fetch_add((_Atomic uint64_t *)arg, 1);
}

static fl_client *
open_client(enum role r)
{
	struct fl_client_ctx cc;
	fl_client *c = NULL;

	fl_client_ctx_init(&cc);
	cc.ns = ns;
	cc.heartbeat_interval_ns = 20 * MS;
	/* A poll may still hold a retired image until the linger ends: long
	 * enough for a starved poller on a loaded machine. */
	cc.resource_linger_ns = test_ms(200) * MS;
	cc.error_handler = quiet;
	cc.error_arg = &prog->errors[r];
	if (fl_client_open(&cc, &c) != 0)
		return NULL;
	return c;
}

static uint64_t
deadline(uint64_t ms)
{
	return fl_clock_now_ns() + test_ms(ms) * MS;
}

static void
on_fragment(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	volatile uint8_t sink = 0;

	(void)arg;
	(void)h;
	for (size_t k = 0; k < len; k += 64)
		sink ^= buf[k];
	(void)sink;
	atomic_fetch_add(&prog->ok[R_SUB], 1);
}

static void
driver_main(int stop_fd, int ready_fd)
{
	static const struct fl_driver_ext *const exts[] = { &fl_rr_driver_ext };
	struct fl_driver_ctx dc;
	fl_driver *d;
	char b;

	fl_driver_ctx_init(&dc);
	dc.ns = ns;
	dc.term_length = TERM;
	dc.mtu = 1024;
	dc.client_liveness_ns = test_ms(5000) * MS;
	dc.publication_linger_ns = 20 * MS;
	dc.unblock_timeout_ns = 50 * MS;
	dc.extensions = exts;
	dc.extension_count = 1;
	if (fl_driver_start(&dc, &d) != 0)
		_exit(2);
	(void)!write(ready_fd, "r", 1);
	while (read(stop_fd, &b, 1) < 0)
		;
	fl_driver_close(d);
	_exit(0);
}

static void
pubsub_main(enum role r, int stop_fd)
{
	fl_client *c = NULL;
	fl_publication *p = NULL;
	fl_subscription *s = NULL;
	uint8_t buf[3000];
	int fails = 0;

	memset(buf, 0x3c, sizeof(buf));
	while (!told_to_stop(stop_fd)) {
		atomic_fetch_add(&prog->passes[r], 1);
		if (c != NULL && fl_client_status(c) != 0) {
			fl_publication_close(p);
			fl_subscription_close(s);
			fl_client_close(c);
			c = NULL;
			p = NULL;
			s = NULL;
		}
		if (c == NULL && (c = open_client(r)) == NULL) {
			atomic_fetch_add(&prog->errors[r], 1);
			fl_idle_sleep_until(fl_clock_now_ns() + 2 * MS);
			continue;
		}
		if ((r == R_PUB && p == NULL &&
		     fl_client_add_publication(c, "hostile", 1, false, deadline(100), &p) != 0) ||
		    (r == R_SUB && s == NULL &&
		     fl_client_add_subscription(c, "hostile", 1, NULL, deadline(100), &s) != 0)) {
			atomic_fetch_add(&prog->errors[r], 1);
			fl_idle_sleep_until(fl_clock_now_ns() + 2 * MS);
			continue;
		}
		for (int i = 0; i < 16; i++) {
			if (r == R_PUB) {
				struct fl_claim cl;
				size_t len = (size_t)(i * 181) % sizeof(buf);
				int64_t rc = i % 4 == 3 ? fl_publication_try_claim(p, 64, &cl)
				                        : fl_publication_offer(p, buf, len);

				if (rc > 0 && i % 4 == 3) {
					memset(cl.data, 0x11, cl.length);
					rc = fl_claim_commit(&cl);
				}
				if (rc >= 0)
					atomic_fetch_add(&prog->ok[r], 1);
				if (rc == FL_ECLOSED || rc == FL_EPROTO) {
					atomic_fetch_add(&prog->errors[r], 1);
					fl_publication_close(p);
					p = NULL;
					break;
				}
			} else {
				fl_image *img;

				if (fl_subscription_poll(s, on_fragment, NULL, 32) < 0)
					atomic_fetch_add(&prog->errors[r], 1);
				if (fl_subscription_image_at_index(s, 0, &img) == 0) {
					if (fl_image_poll(img, on_fragment, NULL, 8) == FL_EPROTO) {
						atomic_fetch_add(&prog->errors[r], 1);
						fails++;
					}
					(void)fl_image_release(img);
				}
				/* An image a wild position stopped: subscribe again. */
				if (fails >= 8) {
					fl_subscription_close(s);
					s = NULL;
					fails = 0;
					break;
				}
			}
		}
		fl_idle_sleep_until(fl_clock_now_ns() + 200 * 1000);
	}
	fl_publication_close(p);
	fl_subscription_close(s);
	fl_client_close(c);
	_exit(0);
}

struct rr_side {
	fl_client *c;
	fl_rr_domain *dom;
	fl_rr_server *srv;
	fl_rr_client *cli;
};

static void
rr_side_close(struct rr_side *x)
{
	fl_rr_server_close(x->srv);
	fl_rr_client_close(x->cli);
	fl_rr_domain_close(x->dom);
	fl_client_close(x->c);
	memset(x, 0, sizeof(*x));
}

static int
rr_side_open(struct rr_side *x, enum role r)
{
	if (x->c == NULL && (x->c = open_client(r)) == NULL)
		return FL_ENOENT;
	if (x->dom == NULL) {
		int rc = fl_rr_domain_open(fl_client_run_dir(x->c), fl_client_id(x->c), &x->dom);

		if (rc != 0) {
			x->dom = NULL;
			return rc;
		}
	}
	if (r == R_SERVER && x->srv == NULL)
		return fl_rr_server_open(x->dom, "hsvc", &x->srv);
	if (r == R_CLIENT && x->cli == NULL)
		return fl_rr_client_open(x->dom, "hsvc", &x->cli);
	return 0;
}

static void
rr_main(enum role r, int stop_fd)
{
	struct rr_side x = { 0 };
	int fails = 0;

	while (!told_to_stop(stop_fd)) {
		atomic_fetch_add(&prog->passes[r], 1);
		/* Errors in a row: the port may be wild; take another. */
		if ((x.c != NULL && fl_client_status(x.c) != 0) || fails >= 8) {
			rr_side_close(&x);
			fails = 0;
		}
		if (rr_side_open(&x, r) != 0) {
			atomic_fetch_add(&prog->errors[r], 1);
			if (x.srv == NULL && x.cli == NULL)
				rr_side_close(&x);
			fl_idle_sleep_until(fl_clock_now_ns() + 2 * MS);
			continue;
		}
		for (int i = 0; i < 16; i++) {
			fl_chunk req, resp;
			uint64_t seq, lost;
			int rc;

			if (r == R_SERVER) {
				rc = fl_rr_server_take(x.srv, &req);
				if (rc != 0) {
					if (rc != FL_EAGAIN) {
						atomic_fetch_add(&prog->errors[r], 1);
						fails++;
					}
					break;
				}
				rc = fl_rr_server_loan(x.srv, req.len, 0, &resp);
				if (rc == 0) {
					memcpy(resp.data, req.data, req.len);
					memset(resp.data, 0x22, resp.cap);
					resp.len = req.len;
					rc = fl_rr_server_send(x.srv, &req, &resp);
					if (rc != 0)
						(void)fl_rr_release(x.dom, &resp);
				}
				if (rc != 0)
					atomic_fetch_add(&prog->errors[r], 1);
				else
					atomic_fetch_add(&prog->ok[r], 1);
				(void)fl_rr_release(x.dom, &req);
				continue;
			}
			rc = fl_rr_client_loan(x.cli, (size_t)(i * 997) % 5000 + 1, 0, &req);
			if (rc == 0) {
				memset(req.data, 0x33, req.cap);
				rc = fl_rr_client_send(x.cli, &req, deadline(20), &seq);
				if (rc != 0)
					(void)fl_rr_release(x.dom, &req);
			}
			if (rc == 0) {
				rc = fl_rr_client_wait(x.cli, deadline(20), &resp, &lost);
				if (rc == 0) {
					memset(resp.data, 0x44, resp.cap);
					(void)fl_rr_release(x.dom, &resp);
				} else {
					fl_rr_client_forget(x.cli, seq);
				}
			}
			if (rc != 0) {
				atomic_fetch_add(&prog->errors[r], 1);
				fails++;
				break;
			}
			atomic_fetch_add(&prog->ok[r], 1);
			fails = 0;
		}
		fl_idle_sleep_until(fl_clock_now_ns() + 200 * 1000);
	}
	rr_side_close(&x);
	_exit(0);
}

static void
stats_main(int stop_fd)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct fl_stats st;

	while (!told_to_stop(stop_fd)) {
		uint64_t n = atomic_fetch_add(&prog->passes[R_STATS], 1);

		if (fl_stats_read(ns, &st) == 0) {
			fl_stats_print(&st, devnull, n % 2 == 0);
			atomic_fetch_add(&prog->ok[R_STATS], 1);
		} else
			atomic_fetch_add(&prog->errors[R_STATS], 1);
		fl_idle_sleep_until(fl_clock_now_ns() + 500 * 1000);
	}
	fclose(devnull);
	_exit(0);
}

/* A child that crashes prints where (addresses for addr2line -e), then
 * dies of the signal as it would have. */
static void
on_crash(int sig)
{
	void *pc[48];
	int n = backtrace(pc, 48);
	char msg[64];
	int len = snprintf(msg, sizeof(msg), "hostile: pid %d: signal %d at:\n", (int)getpid(), sig);

	(void)!write(2, msg, (size_t)len);
	backtrace_symbols_fd(pc, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
crash_report(void)
{
	void *pc[1];

	backtrace(pc, 1); /* loads libgcc now, not in the handler */
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGILL, on_crash);
	signal(SIGFPE, on_crash);
	signal(SIGABRT, on_crash);
}

/* ---- process table ----------------------------------------------------- */

struct proc {
	pid_t pid;
	int stop_w;  /* closing it tells the process to stop */
	unsigned crashes, stuck;
	int first_status;
	unsigned first_round;
};

static struct proc procs[N_ROLES];

static void
spawn(enum role r)
{
	int stop[2], ready[2];
	pid_t pid;
	char b;

	assert_int_equal(pipe(stop), 0);
	assert_int_equal(pipe(ready), 0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		crash_report();
		close(stop[1]);
		close(ready[0]);
		for (int i = 0; i < N_ROLES; i++)
			if (procs[i].pid > 0)
				close(procs[i].stop_w);
		switch (r) {
		case R_DRIVER: driver_main(stop[0], ready[1]); break;
		case R_PUB:
		case R_SUB: pubsub_main(r, stop[0]); break;
		case R_SERVER:
		case R_CLIENT: rr_main(r, stop[0]); break;
		default: stats_main(stop[0]); break;
		}
		_exit(0);
	}
	close(stop[0]);
	close(ready[1]);
	if (r == R_DRIVER) {
		struct pollfd p = { .fd = ready[0], .events = POLLIN };

		assert_int_equal(poll(&p, 1, (int)test_ms(5000)), 1);
		assert_int_equal(read(ready[0], &b, 1), 1);
	}
	close(ready[0]);
	procs[r].pid = pid;
	procs[r].stop_w = stop[1];
}

/* Stops process r (closes its pipe) and waits for it, by a deadline.
 * Returns its exit status, 128 + signal, or -1 if it had to be killed. */
static int
stop_proc(enum role r)
{
	pid_t pid = procs[r].pid;
	int st = 0;
	bool done;

	close(procs[r].stop_w);
	procs[r].pid = 0;
	done = WAIT_UNTIL(waitpid(pid, &st, WNOHANG) == pid, 5000);
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
record_failure(enum role r, unsigned round, int status, bool stuck)
{
	struct proc *p = &procs[r];

	if (p->crashes + p->stuck == 0) {
		p->first_status = status;
		p->first_round = round;
	}
	if (stuck)
		p->stuck++;
	else
		p->crashes++;
	fprintf(stderr, "hostile: round %u: %s %s (status %d)\n", round, role_name[r],
	        stuck ? "made no progress; killed" : "died", status);
}

/* Has process r ended?  (Leaves it to be reaped.) */
static bool
ended(enum role r)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)procs[r].pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == procs[r].pid;
}

/* Reaps process r (ended, or killed now if kill_it) and starts another
 * in its place; a crash or a hang is counted. */
static void
replace(enum role r, unsigned round, bool kill_it)
{
	int st = 0;

	if (kill_it)
		kill(procs[r].pid, SIGKILL);
	waitpid(procs[r].pid, &st, 0);
	close(procs[r].stop_w);
	procs[r].pid = 0;
	record_failure(r, round, kill_it ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
	               kill_it);
	/* The dead driver's header may name a live pid (scribbled): its run
	 * directory is known stale here. */
	if (r == R_DRIVER)
		(void)fl_shm_dir_remove(run_dir);
	spawn(r);
}

/* ---- the hostile writer ------------------------------------------------ */

static uint64_t rng;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

enum seg_kind { S_CNC, S_LOG, S_CHUNKS, S_PORTS, S_OTHER };

struct seg {
	enum seg_kind kind;
	struct fl_shm m;
};

static struct seg segs[MAX_SEGS];
static int nsegs;

/* The layout as the driver made it, read once before any scribble. */
static struct fl_cnc_header cnc0;
static struct cp_seg chunks0;
static struct pp_seg ports0;

static void
unmap_all(void)
{
	for (int i = 0; i < nsegs; i++)
		fl_shm_unmap(&segs[i].m);
	nsegs = 0;
}

/* (Re)maps the files of the run directory: cnc.dat, chunks.dat, ports.dat
 * and up to MAX_SEGS - 3 log buffers. */
static void
map_all(void)
{
	DIR *d = opendir(run_dir);
	struct dirent *e;

	unmap_all();
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[600];
		struct seg *s = &segs[nsegs];
		enum seg_kind kind = strcmp(e->d_name, FL_CNC_FILE) == 0    ? S_CNC
		                     : strcmp(e->d_name, "chunks.dat") == 0 ? S_CHUNKS
		                     : strcmp(e->d_name, "ports.dat") == 0  ? S_PORTS
		                     : strncmp(e->d_name, "pub-", 4) == 0   ? S_LOG
		                                                            : S_OTHER;

		if (e->d_name[0] == '.' || (kind != S_CNC && kind != S_CHUNKS && kind != S_PORTS &&
		                            nsegs >= MAX_SEGS - 3) || nsegs == MAX_SEGS)
			continue;
		snprintf(path, sizeof(path), "%s/%s", run_dir, e->d_name);
		if (fl_shm_map(path, true, 1, &s->m) != 0)
			continue;
		s->kind = kind;
		nsegs++;
	}
	closedir(d);
}

/* A value chosen to hurt, near `cur` (the field's value) or `cap` (the
 * capacity behind it). */
static uint64_t
bad_value(uint64_t cur, uint64_t cap)
{
	switch (next_rand() % 12) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2: return 0xffffffffu;
	case 3: return 0x7fffffff;
	case 4: return cap;
	case 5: return cap + 1 + next_rand() % 64;
	case 6: return cap - 1 - next_rand() % 15;
	case 7: return cur + (1ull << 60);
	case 8: return cur + 1 + next_rand() % 15;   /* misaligned */
	case 9: return cur - 1 - next_rand() % 64;
	case 10: return 64;
	default: return next_rand();
	}
}

static void
put(struct seg *s, uint64_t off, int width, uint64_t v)
{
	uint8_t *p = (uint8_t *)s->m.addr;

	if (off + (uint64_t)width > s->m.len)
		return;
	if (width == 8 && off % 8 == 0)
		__atomic_store_n((uint64_t *)(p + off), v, __ATOMIC_RELAXED);
	else if (width == 4 && off % 4 == 0)
		__atomic_store_n((uint32_t *)(p + off), (uint32_t)v, __ATOMIC_RELAXED);
	else
		memcpy(p + off, &v, (size_t)width);
}

static uint64_t
get(struct seg *s, uint64_t off, int width)
{
	uint64_t v = 0;

	if (off + (uint64_t)width <= s->m.len)
		memcpy(&v, (uint8_t *)s->m.addr + off, (size_t)width);
	return v;
}

/* A field of seg s that holds a layout value, a length or an index:
 * *off, *width and the capacity it is measured against. */
static void
pick_field(struct seg *s, uint64_t *off, int *width, uint64_t *cap)
{
	uint64_t k = next_rand();

	*width = 8;
	*cap = s->m.len;
	switch (s->kind) {
	case S_CNC: {
		static const struct { uint16_t off; uint8_t width; } hdr[] = {
			{ offsetof(struct fl_cnc_header, magic), 8 },
			{ offsetof(struct fl_cnc_header, version), 4 },
			{ offsetof(struct fl_cnc_header, driver_pid), 4 },
			{ offsetof(struct fl_cnc_header, counters_offset), 8 },
			{ offsetof(struct fl_cnc_header, cmd_offset), 8 },
			{ offsetof(struct fl_cnc_header, cmd_length), 8 },
			{ offsetof(struct fl_cnc_header, bc_offset), 8 },
			{ offsetof(struct fl_cnc_header, bc_length), 8 },
			{ offsetof(struct fl_cnc_header, total_length), 8 },
			{ offsetof(struct fl_cnc_header, term_length), 4 },
			{ offsetof(struct fl_cnc_header, mtu), 4 },
			{ offsetof(struct fl_cnc_header, driver_heartbeat_ns), 8 },
			{ offsetof(struct fl_cnc_header, driver_closed), 4 },
			{ offsetof(struct fl_cnc_header, next_id), 8 },
		};
		uint64_t ring = cnc0.cmd_offset, bc = cnc0.bc_offset;
		uint64_t head = get(s, ring + cnc0.cmd_length + 128, 8);
		uint64_t btail = get(s, bc + cnc0.bc_length + 64, 8);

		switch (k % 6) {
		case 0:
			*off = hdr[(k >> 8) % (sizeof(hdr) / sizeof(hdr[0]))].off;
			*width = hdr[(k >> 8) % (sizeof(hdr) / sizeof(hdr[0]))].width;
			return;
		case 1: /* ring tail, head */
			*off = ring + cnc0.cmd_length + ((k >> 8) % 2 ? 128 : 0);
			*cap = cnc0.cmd_length;
			return;
		case 2: /* the record length (and type) at the ring head */
			*off = ring + (head & (cnc0.cmd_length - 1)) + ((k >> 8) % 2 ? 4 : 0);
			*width = 4;
			*cap = cnc0.cmd_length;
			return;
		case 3: /* broadcast tail_intent, tail, latest; the record at the tail */
			if ((k >> 8) % 4 == 3) {
				*off = bc + ((btail - 64) & (cnc0.bc_length - 1));
				*width = 4;
			} else {
				*off = bc + cnc0.bc_length + 64 * ((k >> 8) % 4);
			}
			*cap = cnc0.bc_length;
			return;
		case 4: { /* a client record */
			uint64_t rec = cnc0.counters_offset + offsetof(struct fl_cnc_counters, clients) +
			               ((k >> 8) % 8) * sizeof(struct fl_cnc_client);
			static const uint16_t fld[] = {
				offsetof(struct fl_cnc_client, state),
				offsetof(struct fl_cnc_client, pid),
				offsetof(struct fl_cnc_client, client_id),
				offsetof(struct fl_cnc_client, heartbeat_ns),
			};
			*off = rec + fld[(k >> 16) % 4];
			*width = (k >> 16) % 4 < 2 ? 4 : 8;
			return;
		}
		default: /* the counters, ext_count */
			*off = cnc0.counters_offset +
			       ((k >> 8) % (offsetof(struct fl_cnc_counters, ext) / 4)) * 4;
			*width = 4;
			return;
		}
	}
	case S_LOG: {
		static const struct { uint16_t off; uint8_t width; } meta[] = {
			{ offsetof(struct fl_log_meta, magic), 8 },
			{ offsetof(struct fl_log_meta, capacity), 4 },
			{ offsetof(struct fl_log_meta, mtu), 4 },
			{ offsetof(struct fl_log_meta, closed), 4 },
			{ offsetof(struct fl_log_meta, subscriber_count), 4 },
			{ offsetof(struct fl_log_meta, tail), 8 },
			{ offsetof(struct fl_log_meta, tail), 8 },
		};
		uint64_t tail = get(s, offsetof(struct fl_log_meta, tail), 8);

		*cap = TERM;
		switch (k % 4) {
		case 0:
		case 1:
			*off = meta[(k >> 8) % (sizeof(meta) / sizeof(meta[0]))].off;
			*width = meta[(k >> 8) % (sizeof(meta) / sizeof(meta[0]))].width;
			return;
		case 2: /* a slot's position or state */
			*off = offsetof(struct fl_log_meta, slots) +
			       ((k >> 8) % 4) * sizeof(struct fl_log_slot) + ((k >> 16) % 2 ? 8 : 0);
			*width = (k >> 16) % 2 ? 4 : 8;
			return;
		default: /* a frame header just behind the tail */
			*off = FL_LOG_META_SIZE + ((tail - 16 * (1 + (k >> 8) % 8)) & (TERM - 1));
			return;
		}
	}
	case S_CHUNKS: {
		uint32_t n = chunks0.total;

		if (k % 3 == 0) { /* the segment header, a class */
			static const struct { uint16_t off; uint8_t width; } f[] = {
				{ offsetof(struct cp_seg, magic), 4 },
				{ offsetof(struct cp_seg, n_classes), 4 },
				{ offsetof(struct cp_seg, total), 4 },
				{ offsetof(struct cp_seg, seg_size), 8 },
				{ offsetof(struct cp_seg, hdr_off), 8 },
				{ offsetof(struct cp_seg, cls[0].chunk_size), 4 },
				{ offsetof(struct cp_seg, cls[0].count), 4 },
				{ offsetof(struct cp_seg, cls[0].first), 4 },
				{ offsetof(struct cp_seg, cls[0].data_off), 8 },
				{ offsetof(struct cp_seg, cls[0].last_freed), 4 },
			};
			int i = (int)((k >> 8) % (sizeof(f) / sizeof(f[0])));

			*off = f[i].off + (i >= 5 ? ((k >> 16) % 3) * sizeof(struct cp_class) : 0);
			*width = f[i].width;
			*cap = n;
		} else { /* a chunk header */
			static const struct { uint16_t off; uint8_t width; } f[] = {
				{ offsetof(struct cp_hdr, state), 8 },
				{ offsetof(struct cp_hdr, owner), 8 },
				{ offsetof(struct cp_hdr, cls), 4 },
				{ offsetof(struct cp_hdr, len), 4 },
				{ offsetof(struct cp_hdr, reply_port), 4 },
				{ offsetof(struct cp_hdr, reply_gen), 4 },
				{ offsetof(struct cp_hdr, dest_gen), 4 },
				{ offsetof(struct cp_hdr, sender), 8 },
			};
			int i = (int)((k >> 8) % (sizeof(f) / sizeof(f[0])));

			/* Low indices: the chunks in use. */
			*off = chunks0.hdr_off + ((k >> 16) % (n < 64 ? n : 64)) * sizeof(struct cp_hdr) +
			       f[i].off;
			*width = f[i].width;
			*cap = n;
		}
		return;
	}
	case S_PORTS: {
		int kind = (int)((k >> 4) % 2);
		uint64_t port = ports0.tab[kind].off + ((k >> 8) % 4) * sizeof(struct pp_port);

		*cap = ports0.tab[kind].count;
		switch (k % 4) {
		case 0: { /* the segment header, a table */
			static const struct { uint16_t off; uint8_t width; } f[] = {
				{ offsetof(struct pp_seg, magic), 4 },
				{ offsetof(struct pp_seg, seg_size), 8 },
				{ offsetof(struct pp_seg, tab[0].count), 4 },
				{ offsetof(struct pp_seg, tab[0].off), 8 },
				{ offsetof(struct pp_seg, tab[0].hint), 8 },
			};
			int i = (int)((k >> 16) % (sizeof(f) / sizeof(f[0])));

			*off = f[i].off + (i >= 2 ? kind * sizeof(struct pp_table_hdr) : 0);
			*width = f[i].width;
			return;
		}
		case 1: /* a port's owner, state, gen */
			*off = port + ((k >> 16) % 3 == 0   ? offsetof(struct pp_port, owner)
			               : (k >> 16) % 3 == 1 ? offsetof(struct pp_port, state)
			                                    : offsetof(struct pp_port, gen));
			*width = (k >> 16) % 3 == 0 ? 8 : 4;
			return;
		case 2: /* its queue's enq, deq */
			*off = port + offsetof(struct pp_port, q) +
			       ((k >> 16) % 2 ? offsetof(struct rr_queue, deq)
			                      : offsetof(struct rr_queue, enq));
			*cap = RR_QUEUE_CAP;
			return;
		default: /* a cell's seq or value */
			*off = port + offsetof(struct pp_port, q) + offsetof(struct rr_queue, cells) +
			       ((k >> 16) % RR_QUEUE_CAP) * sizeof(struct rr_cell) + ((k >> 24) % 2) * 8;
			*cap = RR_QUEUE_CAP;
			return;
		}
	}
	default:
		*off = k % s->m.len;
		return;
	}
}

static void
scribble(void)
{
	struct seg *s;
	uint64_t off, cap;
	int width;

	if (nsegs == 0)
		return;
	s = &segs[next_rand() % (uint64_t)nsegs];
	if (next_rand() % 4 == 0) {
		/* Random bytes anywhere. */
		uint64_t n = 1 + next_rand() % 16;

		off = next_rand() % s->m.len;
		for (uint64_t i = 0; i < n && off + i < s->m.len; i++)
			((volatile uint8_t *)s->m.addr)[off + i] = (uint8_t)next_rand();
		return;
	}
	pick_field(s, &off, &width, &cap);
	put(s, off, width, bad_value(get(s, off, width), cap));
}

/* The driver's heartbeat, as written in cnc.dat. */
static uint64_t
heartbeat(void)
{
	for (int i = 0; i < nsegs; i++)
		if (segs[i].kind == S_CNC)
			return __atomic_load_n((uint64_t *)((uint8_t *)segs[i].m.addr +
			                                    offsetof(struct fl_cnc_header,
			                                             driver_heartbeat_ns)),
			                       __ATOMIC_ACQUIRE);
	return 0;
}

static int64_t
ext_gauge(const struct fl_stats *st, const char *name)
{
	for (int i = 0; i < st->ext_count; i++)
		if (strcmp(st->ext[i].name, name) == 0)
			return st->ext[i].value;
	return 0;
}

static void
read_layout(void)
{
	map_all();
	for (int i = 0; i < nsegs; i++) {
		if (segs[i].kind == S_CNC)
			memcpy(&cnc0, segs[i].m.addr, sizeof(cnc0));
		else if (segs[i].kind == S_CHUNKS)
			memcpy(&chunks0, segs[i].m.addr, sizeof(chunks0));
		else if (segs[i].kind == S_PORTS)
			memcpy(&ports0, segs[i].m.addr, sizeof(ports0));
	}
	assert_true(cnc0.magic == FL_CNC_MAGIC && chunks0.total > 0 && ports0.tab[0].count > 0);
}

static void
hostile_writer_against_live_run(void **state)
{
	const char *e = getenv("FL_ROUNDS");
	unsigned rounds = e != NULL ? (unsigned)atoi(e) : under_valgrind() ? 200 : 3000;
	uint64_t seed = getenv("FL_SEED") != NULL ? strtoull(getenv("FL_SEED"), NULL, 0)
	                                          : fl_clock_now_ns() ^ ((uint64_t)getpid() << 32);
	uint64_t last_pass[N_ROLES];
	unsigned failures = 0, hangs = 0;
	struct fl_stats st;
	int64_t rejected;

	(void)state;
	fprintf(stderr, "hostile: seed %" PRIu64 ", %u rounds (FL_SEED=%" PRIu64
	        " FL_ROUNDS=%u reproduce the scribbles)\n", seed, rounds, seed, rounds);
	rng = seed != 0 ? seed : 1;
	prog = mmap(NULL, sizeof(*prog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(prog != MAP_FAILED);
	memset(procs, 0, sizeof(procs));
	test_ns(ns, sizeof(ns), "hostile");
	fl_run_dir_path(ns, run_dir, sizeof(run_dir));
	for (int r = 0; r < N_ROLES; r++)
		spawn((enum role)r);
	read_layout();

	for (unsigned round = 0; round < rounds;) {
		uint64_t t0;

		map_all();
		if (round == 0) {
			/* One wild header field the driver must put back and count,
			 * whatever the seed draws. */
			for (int i = 0; i < nsegs; i++)
				if (segs[i].kind == S_CNC)
					put(&segs[i], offsetof(struct fl_cnc_header, version), 4, 0);
		}
		for (int r = 0; r < N_ROLES; r++)
			last_pass[r] = atomic_load(&prog->passes[r]);
		for (unsigned k = 0; k < BATCH && round < rounds; k++, round++) {
			scribble();
			sched_yield();
		}
		/* The driver is alive and its heartbeat moves (else it is
		 * replaced, and the new one has a layout of its own). */
		t0 = fl_clock_now_ns();
		if (ended(R_DRIVER) ||
		    !WAIT_UNTIL(ended(R_DRIVER) || (heartbeat() > t0 && heartbeat() <= fl_clock_now_ns()),
		                5000) ||
		    ended(R_DRIVER)) {
			replace(R_DRIVER, round, !ended(R_DRIVER));
			read_layout();
		}
		/* Every legitimate process finishes one more pass. */
		for (int r = R_PUB; r < N_ROLES; r++) {
			if (WAIT_UNTIL(atomic_load(&prog->passes[r]) > last_pass[r] + 1 || ended(r), 5000) &&
			    !ended(r))
				continue;
			replace(r, round, !ended(r));
		}
	}
	unmap_all();

	/* The driver counted what it rejected or repaired. */
	assert_true(WAIT_UNTIL(fl_stats_read(ns, &st) == 0, 5000));
	rejected = st.rejected_commands + st.corrupt_reads + ext_gauge(&st, "rr_layout_repaired") +
	           ext_gauge(&st, "rr_corrupt_rejected");
	fprintf(stderr,
	        "hostile: rejected_commands %" PRId64 " corrupt_reads %" PRId64
	        " rr_layout_repaired %" PRId64 " rr_corrupt_rejected %" PRId64
	        "; publications %" PRId64 " log_files %" PRId64 "\n",
	        st.rejected_commands, st.corrupt_reads, ext_gauge(&st, "rr_layout_repaired"),
	        ext_gauge(&st, "rr_corrupt_rejected"), st.publications, st.log_files);
	for (int r = R_PUB; r < N_ROLES; r++) {
		int rc = stop_proc((enum role)r);

		fprintf(stderr, "hostile: %s: %" PRIu64 " passes, %" PRIu64 " done, %" PRIu64
		        " errors, exit %d\n", role_name[r], atomic_load(&prog->passes[r]),
		        atomic_load(&prog->ok[r]), atomic_load(&prog->errors[r]), rc);
		if (rc != 0)
			record_failure((enum role)r, rounds, rc, rc == -1);
	}
	{
		int rc = stop_proc(R_DRIVER);

		fprintf(stderr, "hostile: driver exit %d\n", rc);
		if (rc != 0)
			record_failure(R_DRIVER, rounds, rc, rc == -1);
	}
	for (int r = 0; r < N_ROLES; r++) {
		failures += procs[r].crashes;
		hangs += procs[r].stuck;
	}
	fprintf(stderr, "hostile: %u rounds, %u crashes, %u hangs\n", rounds, failures, hangs);
	for (int r = 0; r < N_ROLES; r++)
		if (procs[r].crashes + procs[r].stuck != 0)
			fprintf(stderr, "hostile:   %s: %u crashes, %u hangs; first at round %u, status %d\n",
			        role_name[r], procs[r].crashes, procs[r].stuck, procs[r].first_round,
			        procs[r].first_status);
	munmap(prog, sizeof(*prog));
	assert_int_equal(access(run_dir, F_OK), -1);
	if (failures + hangs != 0)
		fail_msg("%u crashes and %u hangs in %u rounds (FL_SEED=%" PRIu64 ")", failures, hangs,
		         rounds, seed);
	assert_true(rejected > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hostile_writer_against_live_run),
	};

	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
