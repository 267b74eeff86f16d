/*
 * A hostile writer against a live run directory, over real shared memory.
 *
 * A driver (with request/response) runs in its own process; beside it a
 * publisher, a subscriber, a request/response server and client, each a
 * legitimate client in its own process, keep working, and a stats reader
 * reads the gauges.  This process maps every segment of the run directory
 * (cnc.dat with its header, counters, command ring and broadcast; the log
 * buffers with their subscriber slots and frames; chunks.dat and ports.dat
 * with their chunk headers, ports, service names and queues) and
 * scribbles: random bytes anywhere, and 4- or 8-byte values chosen to hurt
 * (0, ~0, indices past capacity, misaligned positions, lengths of 2^60)
 * at the fields that hold layouts, lengths, indices, owners and names.
 *
 * SCRIBBLE phase, FL_ROUNDS scribbles (default 3,000; 200 under
 * valgrind) in batches of 50.  The legitimate processes may get
 * errors; they close and reopen what failed.  After each batch this
 * process waits for a duty cycle of the driver that began 10 ms after the
 * batch to end (its 10 ms repairs then ran since), then until every
 * legitimate process finished one more pass of its loop.  A process that
 * crashes or stops making progress is counted, replaced, and fails the
 * test at the end, so one run tells how many such events a number of
 * rounds provokes.  The words only the driver writes (cnc.dat's header,
 * the log buffers' layout and subscriber slot states, the layout of
 * chunks.dat and ports.dat) that a batch left wild are looked at again
 * after that cycle: the header and the request/response layout must have
 * been put back, and the driver's counts (corrupt_reads,
 * rr_layout_repaired) must cover every one it put back.
 *
 * RECOVERY phase: the scribbling stops, the driver gets a few duty cycles
 * to put back what it owns, then every legitimate process drops what it
 * opened during the scribbling and must do K_REC operations that succeed,
 * reopening what fails: the publisher offers and the subscriber receives
 * K_REC messages in order (checked for content and sequence) on a fresh
 * publication and subscription, the request/response client completes
 * K_REC round trips (echoed content checked) with the server, the stats
 * reader sees a live driver K_REC times.  What stays broken after the
 * scribbling is what no process owns and the driver does not repair (see
 * "What may stay broken" below); fresh objects never use it, or it only
 * costs a reopen.
 *
 * CLOSE: the legitimate processes close everything and exit 0; the
 * driver's gauges (publications, subscriptions, images, log files, active
 * clients, request/response ports and chunks in use) come back to zero;
 * the driver exits 0 and /dev/shm holds nothing of the run.
 *
 * Every wait is bounded by work (a condition), with a deadline scaled by
 * test_ms() that only a failing run reaches.  FL_SEED (printed) fixes the
 * scribbles.
 *
 * What may stay broken (nobody repairs it, so nothing asserts it works
 * across the scribbling; fresh objects do not use it, or it costs a
 * reopen):
 * - log buffer data: frames and payloads are the publisher's; a
 *   scribbled frame is lost, or stops the image's reader there (a frame
 *   that fails its check reads as not written yet); so is the
 *   publication's tail.  The process that finds its publication or image
 *   failing makes a new one; one merely stuck is made new at RECOVERY.
 *   (A slot's position is written back by its subscriber at its next
 *   poll, its registration by the driver.)
 * - client records: a record that stops showing its client is reclaimed
 *   by the driver (counted), and that client closes; its process opens a
 *   new one.  A record a wild write made active without a client ends at
 *   the liveness timeout (at once if its pid names a dead process or its
 *   id is 0; a heartbeat from the future does not count).
 * - command ring and broadcast records: rejected or skipped; a command or
 *   event lost times its caller out.
 * - a live port's queue, service name and generation are its owner's: a
 *   server whose queue was scribbled may take nothing until it reopens.
 *   A free port's queue is put right by its next owner; a port or chunk
 *   whose owner word names no client is taken back by the driver.
 * - chunk headers' routing fields (len, seq, reply port, sender): a
 *   request or response routed wrong is lost; its client times out.
 */
#include <dirent.h>
#include <execinfo.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "fl_test.h"
#include "shm.h"
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

#define MS       FL_NS_PER_MS
#define TERM     (64u * 1024u)
#define MTU      1024u
#define BATCH    50u
#define MAX_SEGS 64
/* The period of the driver's log buffer repairs (driver.c REPAIR_LOGS_NS)
 * and of its request/response repairs (rr_driver.c GAUGE_PERIOD_NS). */
#define REPAIR_PERIOD_MS 10
/* Successful operations each legitimate process must do in RECOVERY. */
#define K_REC 64
/* Recovery traffic: its own stream, messages {magic, seq, seq bytes}. */
#define REC_STREAM 2
#define REC_MAGIC  0x7265636f76657279ull

enum role { R_DRIVER, R_PUB, R_SUB, R_SERVER, R_CLIENT, R_STATS, N_ROLES };

static const char *const role_name[N_ROLES] = {
	"driver", "publisher", "subscriber", "rr-server", "rr-client", "stats-reader",
};

/* Shared with the children (an anonymous shared page made before the
 * forks): each legitimate process counts the passes of its loop. */
struct progress {
	_Atomic uint64_t passes[N_ROLES];
	_Atomic uint64_t ok[N_ROLES]; /* offers, fragments, requests served, replies, reads */
	_Atomic uint64_t errors[N_ROLES];
	_Atomic int recovery; /* set by the test when the scribbling is over */
	/* RECOVERY: offers, messages received in order (the longest run of
	 * one publication), requests answered, round trips, reads of a live
	 * driver; objects reopened; errors; wrong content or order (none
	 * allowed). */
	_Atomic uint64_t rec_ok[N_ROLES];
	_Atomic uint64_t rec_reopens[N_ROLES];
	_Atomic uint64_t rec_errors[N_ROLES];
	_Atomic uint64_t rec_bad[N_ROLES];
	_Atomic int rec_last_error[N_ROLES];
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
open_client(enum role r, int *rc)
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
	*rc = fl_client_open(&cc, &c);
	return *rc == 0 ? c : NULL;
}

static uint64_t
deadline(uint64_t ms)
{
	return fl_clock_now_ns() + test_ms(ms) * MS;
}

/* The deadline of an operation (an add, a round trip) that takes ms on a
 * loaded machine at most: scaled as every wait.  During the scribbling a
 * command, event, request or response lost to a wild write is expected,
 * and its deadline only bounds what the loss costs (a pass of that
 * process, which the writer waits for): a quarter of it. */
static uint64_t
op_deadline(bool rec, uint64_t ms)
{
	return deadline(rec ? ms : ms / 4);
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
	/* A client record left active without a live client (its state
	 * written back to active, or its CLIENT_CLOSE lost to a wild ring,
	 * with a wild pid too, so that the driver cannot see the process
	 * gone) is ended by this timeout only: the gauges' wait after
	 * close covers it.  A live client starved longer than it is timed
	 * out and reopens. */
	dc.client_liveness_ns = test_ms(250) * MS;
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

/* ---- RECOVERY traffic ---- */

static size_t
rec_len(uint64_t seq)
{
	return 16 + (size_t)(seq % 8) * 16;
}

/* A recovery message: magic, seq, then rec_len(seq) - 16 bytes of seq. */
static void
rec_fill(uint8_t *buf, uint64_t seq)
{
	uint64_t magic = REC_MAGIC;

	memcpy(buf, &magic, 8);
	memcpy(buf + 8, &seq, 8);
	memset(buf + 16, (int)(uint8_t)seq, rec_len(seq) - 16);
}

/* The subscriber's view of the recovery messages, per publication
 * (session): the last seq and the run of consecutive seqs ending there. */
struct rec_sub {
	struct {
		int32_t session;
		uint64_t last;
		uint64_t run;
	} s[8];
	int n;
};

static void
on_rec_fragment(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct rec_sub *rs = arg;
	uint64_t magic = 0, seq = 0, best;
	int i;

	if (len >= 16) {
		memcpy(&magic, buf, 8);
		memcpy(&seq, buf + 8, 8);
	}
	if (magic != REC_MAGIC || len != rec_len(seq)) {
		atomic_fetch_add(&prog->rec_bad[R_SUB], 1);
		return;
	}
	for (size_t k = 16; k < len; k++)
		if (buf[k] != (uint8_t)seq) {
			atomic_fetch_add(&prog->rec_bad[R_SUB], 1);
			return;
		}
	for (i = 0; i < rs->n && rs->s[i].session != h->session_id; i++)
		;
	if (i == rs->n) {
		/* A publication not seen yet: its first message seen starts
		 * the run (a subscriber joins at the tail). */
		i = rs->n < 8 ? rs->n++ : (int)(seq % 8);
		rs->s[i].session = h->session_id;
		rs->s[i].run = 1;
	} else if (seq == rs->s[i].last + 1) {
		rs->s[i].run++;
	} else {
		/* One image delivers one publication's messages in order, with
		 * none lost (backpressure): a gap or a repeat is a bug. */
		atomic_fetch_add(&prog->rec_bad[R_SUB], 1);
		rs->s[i].run = 1;
	}
	rs->s[i].last = seq;
	best = atomic_load(&prog->rec_ok[R_SUB]);
	if (rs->s[i].run > best)
		atomic_store(&prog->rec_ok[R_SUB], rs->s[i].run);
}

/* Counts error rc; in RECOVERY also as a recovery error, the last one
 * kept. */
static void
count_error(enum role r, bool rec, int rc)
{
	atomic_fetch_add(&prog->errors[r], 1);
	if (rec) {
		atomic_fetch_add(&prog->rec_errors[r], 1);
		atomic_store(&prog->rec_last_error[r], rc);
	}
}

/* count_error, then a pause of 2 ms before the role tries again. */
static void
count_error_and_wait(enum role r, bool rec, int rc)
{
	count_error(r, rec, rc);
	fl_idle_sleep_until(fl_clock_now_ns() + 2 * MS);
}

/* Closes what a pub/sub role has open and forgets it. */
static void
drop_client(fl_client **c, fl_publication **p, fl_subscription **s)
{
	fl_publication_close(*p);
	fl_subscription_close(*s);
	fl_client_close(*c);
	*c = NULL;
	*p = NULL;
	*s = NULL;
}

static void
pubsub_main(enum role r, int stop_fd)
{
	fl_client *c = NULL;
	fl_publication *p = NULL;
	fl_subscription *s = NULL;
	uint8_t buf[3000];
	struct rec_sub rs;
	uint64_t seq = 0; /* RECOVERY: messages offered on p */
	bool rec = false; /* in RECOVERY, with objects opened since */
	int fails = 0, rc;

	memset(buf, 0x3c, sizeof(buf));
	memset(&rs, 0, sizeof(rs));
	while (!told_to_stop(stop_fd)) {
		atomic_fetch_add(&prog->passes[r], 1);
		if (!rec && atomic_load(&prog->recovery)) {
			/* The scribbling is over: what was opened during it may be
			 * broken for good (see the top); start afresh. */
			drop_client(&c, &p, &s);
			fails = 0;
			rec = true;
		}
		if (c != NULL && fl_client_status(c) != 0) {
			drop_client(&c, &p, &s);
			if (rec)
				atomic_fetch_add(&prog->rec_reopens[r], 1);
		}
		if (c == NULL && (c = open_client(r, &rc)) == NULL) {
			count_error_and_wait(r, rec, rc);
			continue;
		}
		if (r == R_PUB && p == NULL) {
			if ((rc = fl_client_add_publication(c, "hostile", rec ? REC_STREAM : 1,
			                                    false, op_deadline(rec, 100), &p)) !=
			    0) {
				count_error_and_wait(r, rec, rc);
				continue;
			}
			seq = 0; /* a new publication's messages count from 1 */
		}
		if (r == R_SUB && s == NULL) {
			if ((rc = fl_client_add_subscription(c, "hostile", rec ? REC_STREAM : 1,
			                                     NULL, op_deadline(rec, 100), &s)) !=
			    0) {
				count_error_and_wait(r, rec, rc);
				continue;
			}
			/* A new image starts at the publication's tail. */
			memset(&rs, 0, sizeof(rs));
		}
		for (int i = 0; i < 16; i++) {
			if (r == R_PUB && rec) {
				int64_t pos;

				rec_fill(buf, seq + 1);
				pos = fl_publication_offer(p, buf, rec_len(seq + 1));
				if (pos > 0) {
					seq++;
					atomic_fetch_add(&prog->ok[r], 1);
					atomic_fetch_add(&prog->rec_ok[r], 1);
					continue;
				}
				if (pos == FL_ECLOSED || pos == FL_EPROTO) {
					count_error(r, rec, (int)pos);
					atomic_fetch_add(&prog->rec_reopens[r], 1);
					fl_publication_close(p);
					p = NULL;
				}
				break; /* not connected yet, or backpressure */
			} else if (r == R_PUB) {
				struct fl_claim cl;
				size_t len = (size_t)(i * 181) % sizeof(buf);
				int64_t res = i % 4 == 3 ? fl_publication_try_claim(p, 64, &cl)
				                         : fl_publication_offer(p, buf, len);

				if (res > 0 && i % 4 == 3) {
					memset(cl.data, 0x11, cl.length);
					res = fl_claim_commit(&cl);
				}
				if (res >= 0)
					atomic_fetch_add(&prog->ok[r], 1);
				if (res == FL_ECLOSED || res == FL_EPROTO) {
					atomic_fetch_add(&prog->errors[r], 1);
					fl_publication_close(p);
					p = NULL;
					break;
				}
			} else if (rec) {
				int n = fl_subscription_poll(s, on_rec_fragment, &rs, 32);

				if (n < 0) {
					count_error(r, rec, n);
					fails++;
				} else {
					fails = 0;
				}
				if (fails >= 8) {
					atomic_fetch_add(&prog->rec_reopens[r], 1);
					fl_subscription_close(s);
					s = NULL;
					fails = 0;
				}
				if (n <= 0)
					break;
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
	int rc;

	if (x->c == NULL && (x->c = open_client(r, &rc)) == NULL)
		return rc;
	if (x->dom == NULL) {
		rc = fl_rr_domain_open(fl_client_run_dir(x->c), fl_client_id(x->c), &x->dom);
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

/* RECOVERY, the server: answers every request with its content. */
static int
rr_serve_echo(struct rr_side *x)
{
	fl_chunk req, resp;
	int rc = fl_rr_server_take(x->srv, &req);

	if (rc != 0)
		return rc;
	rc = fl_rr_server_loan(x->srv, req.len, 0, &resp);
	if (rc == 0) {
		memcpy(resp.data, req.data, req.len);
		resp.len = req.len;
		rc = fl_rr_server_send(x->srv, &req, &resp);
		if (rc != 0)
			(void)fl_rr_release(x->dom, &resp);
	}
	(void)fl_rr_release(x->dom, &req);
	return rc;
}

/* RECOVERY, the client: one round trip whose response must echo the
 * request (token, then token bytes).  0, an FL_E* code, or 1 when the
 * response came back wrong. */
static int
rr_round_trip(struct rr_side *x, uint64_t token)
{
	size_t len = 16 + (size_t)(token * 997) % 5000;
	fl_chunk req, resp;
	uint64_t seq, lost, got;
	int rc;

	rc = fl_rr_client_loan(x->cli, len, 0, &req);
	if (rc != 0)
		return rc;
	memcpy(req.data, &token, 8);
	memset((uint8_t *)req.data + 8, (int)(uint8_t)token, len - 8);
	req.len = (uint32_t)len;
	rc = fl_rr_client_send(x->cli, &req, deadline(20), &seq);
	if (rc != 0) {
		(void)fl_rr_release(x->dom, &req);
		return rc;
	}
	for (;;) {
		rc = fl_rr_client_wait(x->cli, deadline(20), &resp, &lost);
		if (rc != 0) {
			fl_rr_client_forget(x->cli, seq);
			return rc;
		}
		if (resp.seq == seq)
			break;
		/* A late answer to a request given up on. */
		(void)fl_rr_release(x->dom, &resp);
	}
	memcpy(&got, resp.data, 8);
	rc = resp.len != len || got != token;
	for (size_t k = 8; rc == 0 && k < len; k++)
		rc = ((uint8_t *)resp.data)[k] != (uint8_t)token;
	(void)fl_rr_release(x->dom, &resp);
	return rc;
}

static void
rr_main(enum role r, int stop_fd)
{
	struct rr_side x = { 0 };
	uint64_t token = 0;
	bool rec = false;
	int fails = 0, rc;

	while (!told_to_stop(stop_fd)) {
		atomic_fetch_add(&prog->passes[r], 1);
		if (!rec && atomic_load(&prog->recovery)) {
			/* The scribbling is over: start afresh. */
			rr_side_close(&x);
			fails = 0;
			rec = true;
		}
		/* Errors in a row: the port may be wild; take another. */
		if ((x.c != NULL && fl_client_status(x.c) != 0) || fails >= 8) {
			rr_side_close(&x);
			fails = 0;
			if (rec)
				atomic_fetch_add(&prog->rec_reopens[r], 1);
		}
		if ((rc = rr_side_open(&x, r)) != 0) {
			count_error(r, rec, rc);
			if (x.srv == NULL && x.cli == NULL)
				rr_side_close(&x);
			fl_idle_sleep_until(fl_clock_now_ns() + 2 * MS);
			continue;
		}
		for (int i = 0; i < 16; i++) {
			fl_chunk req, resp;
			uint64_t seq, lost;

			if (rec) {
				rc = r == R_SERVER ? rr_serve_echo(&x) : rr_round_trip(&x, ++token);
				if (rc == 0) {
					atomic_fetch_add(&prog->ok[r], 1);
					atomic_fetch_add(&prog->rec_ok[r], 1);
					fails = 0;
					continue;
				}
				if (rc == 1)
					atomic_fetch_add(&prog->rec_bad[r], 1);
				else if (rc != FL_EAGAIN)
					count_error(r, rec, rc);
				if (rc != FL_EAGAIN)
					fails++;
				break;
			}
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
				rc = fl_rr_client_send(x.cli, &req, op_deadline(false, 20), &seq);
				if (rc != 0)
					(void)fl_rr_release(x.dom, &req);
			}
			if (rc == 0) {
				rc = fl_rr_client_wait(x.cli, op_deadline(false, 20), &resp, &lost);
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
		bool rec = atomic_load(&prog->recovery);

		int rc = fl_stats_read(ns, &st);

		if (rc == 0) {
			fl_stats_print(&st, devnull, n % 2 == 0);
			atomic_fetch_add(&prog->ok[R_STATS], 1);
			if (rec && st.driver_alive)
				atomic_fetch_add(&prog->rec_ok[R_STATS], 1);
		} else {
			count_error(R_STATS, rec, rc);
		}
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
	int len =
	        snprintf(msg, sizeof(msg), "hostile: pid %d: signal %d at:\n", (int)getpid(), sig);

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
	int stop_w; /* closing it tells the process to stop */
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
	record_failure(r, round,
	               kill_it         ? -1
	               : WIFEXITED(st) ? WEXITSTATUS(st)
	                               : 128 + WTERMSIG(st),
	               kill_it);
	/* The dead driver's header may name a live pid (scribbled): its run
	 * directory is known stale here. */
	if (r == R_DRIVER)
		(void)fli_shm_dir_remove(run_dir);
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
	struct fli_shm m;
};

static struct seg segs[MAX_SEGS];
static int nsegs;

/* The layout as the driver made it, read once before any scribble. */
static struct fli_cnc_header cnc0;
static struct fli_cp_seg chunks0;
static struct fli_pp_seg ports0;

static void
unmap_all(void)
{
	for (int i = 0; i < nsegs; i++)
		fli_shm_unmap(&segs[i].m);
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

		if (e->d_name[0] == '.' ||
		    (kind != S_CNC && kind != S_CHUNKS && kind != S_PORTS &&
		     nsegs >= MAX_SEGS - 3) ||
		    nsegs == MAX_SEGS)
			continue;
		snprintf(path, sizeof(path), "%s/%s", run_dir, e->d_name);
		if (fli_shm_map(path, true, 1, &s->m, NULL, 0) != 0)
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
	case 8: return cur + 1 + next_rand() % 15; /* misaligned */
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

/* A field in a segment's layout: its offset and width (4 or 8). */
struct field {
	uint16_t off;
	uint8_t width;
};

#define NFIELDS(f) (sizeof(f) / sizeof((f)[0]))

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
		static const struct field hdr[] = {
			{ offsetof(struct fli_cnc_header, magic), 8 },
			{ offsetof(struct fli_cnc_header, version), 4 },
			{ offsetof(struct fli_cnc_header, driver_pid), 4 },
			{ offsetof(struct fli_cnc_header, counters_offset), 8 },
			{ offsetof(struct fli_cnc_header, cmd_offset), 8 },
			{ offsetof(struct fli_cnc_header, cmd_length), 8 },
			{ offsetof(struct fli_cnc_header, bc_offset), 8 },
			{ offsetof(struct fli_cnc_header, bc_length), 8 },
			{ offsetof(struct fli_cnc_header, total_length), 8 },
			{ offsetof(struct fli_cnc_header, term_length), 4 },
			{ offsetof(struct fli_cnc_header, mtu), 4 },
			{ offsetof(struct fli_cnc_header, driver_heartbeat_ns), 8 },
			{ offsetof(struct fli_cnc_header, driver_closed), 4 },
			{ offsetof(struct fli_cnc_header, next_id), 8 },
		};
		uint64_t ring = cnc0.cmd_offset, bc = cnc0.bc_offset;
		uint64_t head = get(s, ring + cnc0.cmd_length + 128, 8);
		uint64_t btail = get(s, bc + cnc0.bc_length + 64, 8);

		switch (k % 6) {
		case 0:
			*off = hdr[(k >> 8) % NFIELDS(hdr)].off;
			*width = hdr[(k >> 8) % NFIELDS(hdr)].width;
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
			uint64_t rec = cnc0.counters_offset +
			               offsetof(struct fli_cnc_counters, clients) +
			               ((k >> 8) % 8) * sizeof(struct fli_cnc_client);
			static const uint16_t fld[] = {
				offsetof(struct fli_cnc_client, state),
				offsetof(struct fli_cnc_client, pid),
				offsetof(struct fli_cnc_client, client_id),
				offsetof(struct fli_cnc_client, heartbeat_ns),
			};
			*off = rec + fld[(k >> 16) % 4];
			*width = (k >> 16) % 4 < 2 ? 4 : 8;
			return;
		}
		default: /* the counters, ext_count */
			*off = cnc0.counters_offset +
			       ((k >> 8) % (offsetof(struct fli_cnc_counters, ext) / 4)) * 4;
			*width = 4;
			return;
		}
	}
	case S_LOG: {
		static const struct field meta[] = {
			{ offsetof(struct fli_log_meta, magic), 8 },
			{ offsetof(struct fli_log_meta, capacity), 4 },
			{ offsetof(struct fli_log_meta, mtu), 4 },
			{ offsetof(struct fli_log_meta, closed), 4 },
			{ offsetof(struct fli_log_meta, subscriber_count), 4 },
			{ offsetof(struct fli_log_meta, tail), 8 },
			{ offsetof(struct fli_log_meta, tail), 8 },
		};
		uint64_t tail = get(s, offsetof(struct fli_log_meta, tail), 8);

		*cap = TERM;
		switch (k % 6) {
		case 0:
		case 1:
			*off = meta[(k >> 8) % NFIELDS(meta)].off;
			*width = meta[(k >> 8) % NFIELDS(meta)].width;
			return;
		case 2: { /* a subscriber slot's position, state, client id, registration */
			static const struct field f[] = {
				{ offsetof(struct fli_log_slot, position), 8 },
				{ offsetof(struct fli_log_slot, state), 4 },
				{ offsetof(struct fli_log_slot, client_id), 8 },
				{ offsetof(struct fli_log_slot, sub_reg_id), 8 },
			};
			int i = (int)((k >> 16) % 4);

			*off = offsetof(struct fli_log_meta, slots) +
			       ((k >> 8) % 4) * sizeof(struct fli_log_slot) + f[i].off;
			*width = f[i].width;
			return;
		}
		case 3: /* a frame header just behind the tail */
			*off = FL_LOG_META_SIZE + ((tail - 16 * (1 + (k >> 8) % 8)) & (TERM - 1));
			return;
		case 4: /* a frame header's word or check anywhere in the data */
			*off = FL_LOG_META_SIZE + ((k >> 8) % (TERM / 16)) * 16 +
			       ((k >> 40) % 2) * 8;
			return;
		default: /* payload anywhere in the data */
			*off = FL_LOG_META_SIZE + (k >> 8) % (TERM - 8);
			return;
		}
	}
	case S_CHUNKS: {
		uint32_t n = chunks0.total;

		if (k % 3 == 0) { /* the segment header, a class */
			static const struct field f[] = {
				{ offsetof(struct fli_cp_seg, magic), 4 },
				{ offsetof(struct fli_cp_seg, n_classes), 4 },
				{ offsetof(struct fli_cp_seg, total), 4 },
				{ offsetof(struct fli_cp_seg, seg_size), 8 },
				{ offsetof(struct fli_cp_seg, hdr_off), 8 },
				{ offsetof(struct fli_cp_seg, cls[0].chunk_size), 4 },
				{ offsetof(struct fli_cp_seg, cls[0].count), 4 },
				{ offsetof(struct fli_cp_seg, cls[0].first), 4 },
				{ offsetof(struct fli_cp_seg, cls[0].data_off), 8 },
				{ offsetof(struct fli_cp_seg, cls[0].last_freed), 4 },
			};
			int i = (int)((k >> 8) % NFIELDS(f));

			*off = f[i].off +
			       (i >= 5 ? ((k >> 16) % 3) * sizeof(struct fli_cp_class) : 0);
			*width = f[i].width;
			*cap = n;
		} else { /* a chunk header */
			static const struct field f[] = {
				{ offsetof(struct fli_cp_hdr, state), 8 },
				{ offsetof(struct fli_cp_hdr, owner), 8 },
				{ offsetof(struct fli_cp_hdr, mark), 4 },
				{ offsetof(struct fli_cp_hdr, len), 4 },
				{ offsetof(struct fli_cp_hdr, reply_port), 4 },
				{ offsetof(struct fli_cp_hdr, reply_gen), 4 },
				{ offsetof(struct fli_cp_hdr, dest_gen), 4 },
				{ offsetof(struct fli_cp_hdr, sender), 8 },
			};
			int i = (int)((k >> 8) % NFIELDS(f));
			const struct fli_cp_class *c = &chunks0.cls[(k >> 16) % chunks0.n_classes];
			uint64_t lf = get(s,
			                  (uint64_t)((const uint8_t *)&c->last_freed -
			                             (const uint8_t *)&chunks0),
			                  4);
			uint64_t idx;

			switch ((k >> 24) % 3) {
			case 0: /* the first 64 of a class (a loan starts there) */
				idx = c->first + (k >> 32) % (c->count < 64 ? c->count : 64);
				break;
			case 1: /* near the chunk freed last: the chunks in use */
				idx = c->first + (lf + (k >> 32) % 8) % c->count;
				break;
			default: /* any */ idx = (k >> 32) % n; break;
			}
			*off = chunks0.hdr_off + idx * sizeof(struct fli_cp_hdr) + f[i].off;
			*width = f[i].width;
			*cap = n;
		}
		return;
	}
	case S_PORTS: {
		int kind = (int)((k >> 4) % 2);
		uint32_t count = ports0.tab[kind].count;
		/* The port taken last (the table's hint is one past it): a live
		 * one; the first four; any. */
		uint64_t hint = get(s,
		                    offsetof(struct fli_pp_seg, tab[0].hint) +
		                            (uint64_t)kind * sizeof(struct fli_pp_table_hdr),
		                    8);
		uint64_t idx = (k >> 40) % 3 == 0   ? (hint + count - 1) % count
		               : (k >> 40) % 3 == 1 ? (k >> 8) % 4
		                                    : (k >> 42) % count;
		uint64_t port = ports0.tab[kind].off + idx * sizeof(struct fli_pp_port);

		*cap = count;
		switch (k % 5) {
		case 0: { /* the segment header, a table */
			static const struct field f[] = {
				{ offsetof(struct fli_pp_seg, magic), 4 },
				{ offsetof(struct fli_pp_seg, seg_size), 8 },
				{ offsetof(struct fli_pp_seg, tab[0].count), 4 },
				{ offsetof(struct fli_pp_seg, tab[0].off), 8 },
				{ offsetof(struct fli_pp_seg, tab[0].hint), 8 },
			};
			int i = (int)((k >> 16) % NFIELDS(f));

			*off = f[i].off + (i >= 2 ? kind * sizeof(struct fli_pp_table_hdr) : 0);
			*width = f[i].width;
			return;
		}
		case 1: /* a port's owner, state, gen */
			*off = port + ((k >> 16) % 3 == 0   ? offsetof(struct fli_pp_port, owner)
			               : (k >> 16) % 3 == 1 ? offsetof(struct fli_pp_port, state)
			                                    : offsetof(struct fli_pp_port, gen));
			*width = (k >> 16) % 3 == 0 ? 8 : 4;
			return;
		case 2: /* its queue's enq, deq */
			*off = port + offsetof(struct fli_pp_port, q) +
			       ((k >> 16) % 2 ? offsetof(struct fli_rr_queue, deq)
			                      : offsetof(struct fli_rr_queue, enq));
			*cap = RR_QUEUE_CAP;
			return;
		case 3: /* a cell's seq or value */
			*off = port + offsetof(struct fli_pp_port, q) +
			       offsetof(struct fli_rr_queue, cells) +
			       ((k >> 16) % RR_QUEUE_CAP) * sizeof(struct fli_rr_cell) +
			       ((k >> 24) % 2) * 8;
			*cap = RR_QUEUE_CAP;
			return;
		default: /* 8 bytes of its service name */
			*off = port + offsetof(struct fli_pp_port, service) +
			       ((k >> 16) % ((FL_RR_SERVICE_MAX + 1) / 8)) * 8;
			return;
		}
	}
	default: *off = k % s->m.len; return;
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
			                                    offsetof(struct fli_cnc_header,
			                                             driver_heartbeat_ns)),
			                       __ATOMIC_ACQUIRE);
	return 0;
}

/* An extension gauge; INT64_MIN when the driver shows none of that name. */
static int64_t
ext_gauge(const struct fl_stats *st, const char *name)
{
	for (int i = 0; i < st->ext_count; i++)
		if (strcmp(st->ext[i].name, name) == 0)
			return st->ext[i].value;
	return INT64_MIN;
}

/* ---- words only the driver writes ------------------------------------- */

/*
 * cnc.dat's header (put back every duty cycle, each word counted in
 * corrupt_reads), the layout of chunks.dat (and its sum) and ports.dat and
 * every chunk header's mark (every 10 ms, each counted in
 * rr_layout_repaired): the
 * driver puts back every one of them, whatever the value.  Besides, in
 * each log buffer, its layout (magic, version, capacity, mtu: counted once
 * together) and its subscriber slot states (each counted), put back every
 * 10 ms while the driver holds its publication, which this process cannot
 * tell: only those it finds put back are counted.  Nobody else writes
 * these words, so one that is put back was put back by the driver.
 */
struct owned {
	enum seg_kind kind;
	uint64_t off;
	int width;
	uint64_t want;
};

static struct owned *owned;
static size_t n_owned;

/* Which owned words are wild (one byte each), and per log buffer segment
 * whether its layout is and which slot states are. */
struct wild {
	uint8_t *w;
	uint8_t log_layout[MAX_SEGS];
	uint64_t log_slots[MAX_SEGS];
};

static struct wild wild_before, wild_after;

/* What the driver was seen to put back (since it started), and what it
 * left wild although it must have put it back. */
struct tally {
	uint64_t cnc, log, rr;
	uint64_t left;
};

static void
owned_add(enum seg_kind kind, uint64_t off, int width, const void *layout)
{
	struct owned *o = &owned[n_owned++];

	o->kind = kind;
	o->off = off;
	o->width = width;
	o->want = 0;
	memcpy(&o->want, (const uint8_t *)layout + off, (size_t)width);
}

#define OWNED(kind, type, field, layout)                                                           \
	owned_add(kind, offsetof(type, field), (int)sizeof(((type *)0)->field), layout)

/* The owned words of the layout read_layout read (before any scribble). */
static void
owned_build(void)
{
	free(owned);
	free(wild_before.w);
	free(wild_after.w);
	owned = calloc(64 + 4 * FL_CHUNK_MAX_CLASSES + chunks0.total, sizeof(*owned));
	wild_before.w = calloc(64 + 4 * FL_CHUNK_MAX_CLASSES + chunks0.total, 1);
	wild_after.w = calloc(64 + 4 * FL_CHUNK_MAX_CLASSES + chunks0.total, 1);
	assert_true(owned != NULL && wild_before.w != NULL && wild_after.w != NULL);
	n_owned = 0;
	OWNED(S_CNC, struct fli_cnc_header, magic, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, version, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, driver_pid, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, counters_offset, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, cmd_offset, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, cmd_length, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, bc_offset, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, bc_length, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, total_length, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, client_liveness_ns, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, term_length, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, mtu, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, driver_pid_ns, &cnc0);
	OWNED(S_CNC, struct fli_cnc_header, driver_closed, &cnc0); /* 0 */
	OWNED(S_CHUNKS, struct fli_cp_seg, magic, &chunks0);
	OWNED(S_CHUNKS, struct fli_cp_seg, version, &chunks0);
	OWNED(S_CHUNKS, struct fli_cp_seg, n_classes, &chunks0);
	OWNED(S_CHUNKS, struct fli_cp_seg, total, &chunks0);
	OWNED(S_CHUNKS, struct fli_cp_seg, seg_size, &chunks0);
	OWNED(S_CHUNKS, struct fli_cp_seg, hdr_off, &chunks0);
	for (int i = 0; i < FL_CHUNK_MAX_CLASSES; i++) {
		OWNED(S_CHUNKS, struct fli_cp_seg, cls[i].chunk_size, &chunks0);
		OWNED(S_CHUNKS, struct fli_cp_seg, cls[i].count, &chunks0);
		OWNED(S_CHUNKS, struct fli_cp_seg, cls[i].first, &chunks0);
		OWNED(S_CHUNKS, struct fli_cp_seg, cls[i].data_off, &chunks0);
	}
	OWNED(S_CHUNKS, struct fli_cp_seg, layout_sum, &chunks0);
	for (uint32_t c = 0; c < chunks0.n_classes; c++)
		for (uint32_t k = 0; k < chunks0.cls[c].count; k++) {
			struct owned *o = &owned[n_owned++];

			o->kind = S_CHUNKS;
			o->off = chunks0.hdr_off +
			         (uint64_t)(chunks0.cls[c].first + k) * sizeof(struct fli_cp_hdr) +
			         offsetof(struct fli_cp_hdr, mark);
			o->width = 4;
			o->want = 0;
		}
	OWNED(S_PORTS, struct fli_pp_seg, magic, &ports0);
	OWNED(S_PORTS, struct fli_pp_seg, version, &ports0);
	OWNED(S_PORTS, struct fli_pp_seg, seg_size, &ports0);
	for (int k = 0; k < 2; k++) {
		OWNED(S_PORTS, struct fli_pp_seg, tab[k].count, &ports0);
		OWNED(S_PORTS, struct fli_pp_seg, tab[k].off, &ports0);
	}
}

static struct seg *
seg_of(enum seg_kind kind)
{
	for (int i = 0; i < nsegs; i++)
		if (segs[i].kind == kind)
			return &segs[i];
	return NULL;
}

static void
wild_snap(struct wild *w)
{
	struct seg *by_kind[S_OTHER] = { seg_of(S_CNC), NULL, seg_of(S_CHUNKS), seg_of(S_PORTS) };

	for (size_t i = 0; i < n_owned; i++) {
		struct seg *s = by_kind[owned[i].kind];

		w->w[i] = s != NULL && get(s, owned[i].off, owned[i].width) != owned[i].want;
	}
	for (int i = 0; i < nsegs; i++) {
		struct seg *s = &segs[i];

		w->log_layout[i] = 0;
		w->log_slots[i] = 0;
		if (s->kind != S_LOG)
			continue;
		w->log_layout[i] =
		        get(s, offsetof(struct fli_log_meta, magic), 8) != FL_LOG_MAGIC ||
		        get(s, offsetof(struct fli_log_meta, version), 4) != FL_LOG_VERSION ||
		        get(s, offsetof(struct fli_log_meta, capacity), 4) != TERM ||
		        get(s, offsetof(struct fli_log_meta, mtu), 4) != MTU;
		for (int k = 0; k < FL_LOG_MAX_SUBS; k++)
			if (get(s,
			        offsetof(struct fli_log_meta, slots) +
			                k * sizeof(struct fli_log_slot) +
			                offsetof(struct fli_log_slot, state),
			        4) > FL_SLOT_ACTIVE)
				w->log_slots[i] |= 1ull << k;
	}
}

/* Adds to t what was wild in b and is no longer in a; counts in t->left
 * (and says) what the driver had to put back and did not. */
static void
wild_tally(struct tally *t, const struct wild *b, const struct wild *a, unsigned round)
{
	for (size_t i = 0; i < n_owned; i++) {
		if (!b->w[i])
			continue;
		if (a->w[i]) {
			if (t->left++ < 5)
				fprintf(stderr,
				        "hostile: round %u: %s word at %#" PRIx64 " not put back\n",
				        round,
				        owned[i].kind == S_CNC      ? "cnc.dat"
				        : owned[i].kind == S_CHUNKS ? "chunks.dat"
				                                    : "ports.dat",
				        owned[i].off);
		} else if (owned[i].kind == S_CNC) {
			t->cnc++;
		} else {
			t->rr++;
		}
	}
	for (int i = 0; i < nsegs; i++) {
		t->log += b->log_layout[i] && !a->log_layout[i];
		t->log += (uint64_t)__builtin_popcountll(b->log_slots[i] & ~a->log_slots[i]);
	}
}

/* Reads the driver's heartbeat once. */
static bool
heartbeat_in(uint64_t from, uint64_t *hb)
{
	*hb = heartbeat();
	return *hb >= from && *hb <= fl_clock_now_ns();
}

/* Waits until a duty cycle that began REPAIR_PERIOD_MS after t0 has ended
 * (the next one began): every repair of the driver's, the 10 ms ones too,
 * then ran after t0, and its gauges were published.  (The heartbeat is the
 * time its cycle began; one from the future is a scribble not put back
 * yet.)  False if the driver ended or its heartbeat stopped. */
static bool
driver_cycle_after(uint64_t t0)
{
	uint64_t hb = 0, hb2 = 0;

	if (!WAIT_UNTIL(ended(R_DRIVER) || heartbeat_in(t0 + REPAIR_PERIOD_MS * MS, &hb), 5000) ||
	    ended(R_DRIVER))
		return false;
	return WAIT_UNTIL(ended(R_DRIVER) || heartbeat_in(hb + 1, &hb2), 5000) && !ended(R_DRIVER);
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
	owned_build();
}

/* Failures found along the way, reported at the end (after everything
 * was stopped and cleaned up). */
static char why[2048];

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	size_t n = strlen(why);
	va_list ap;

	if (n + 2 >= sizeof(why))
		return;
	if (n != 0)
		why[n++] = ';', why[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(why + n, sizeof(why) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "hostile: FAIL: %s\n", why + n);
}

static bool
recovered(void)
{
	for (int r = R_PUB; r < N_ROLES; r++)
		if (atomic_load(&prog->rec_ok[r]) < K_REC)
			return false;
	return true;
}

static int
legit_ended(void)
{
	for (int r = R_PUB; r < N_ROLES; r++)
		if (ended((enum role)r))
			return r;
	return 0;
}

/* The gauges that must come back to zero once every client closed; the
 * names of those that did not go in buf. */
static bool
gauges_zero(const struct fl_stats *st, char *buf, size_t len)
{
	static const char *const ext[] = { "rr_servers_in_use", "rr_clients_in_use",
		                           "rr_chunks_loaned" };
	const struct {
		const char *name;
		int64_t v;
	} g[] = {
		{ "publications", st->publications },
		{ "subscriptions", st->subscriptions },
		{ "images", st->images },
		{ "log_files", st->log_files },
		{ "active_clients", st->active_clients },
		{ ext[0], ext_gauge(st, ext[0]) },
		{ ext[1], ext_gauge(st, ext[1]) },
		{ ext[2], ext_gauge(st, ext[2]) },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		if (g[i].v != 0 && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s %" PRId64, n ? ", " : "",
			                      g[i].name, g[i].v);
	return n == 0;
}

/* What the driver still holds after close, to tell which scribble left
 * it (FL_SEED reproduces the run): active client records, ports with an
 * owner, chunks with an owner or a refcount. */
static void
dump_held(const struct fl_stats *st)
{
	struct seg *ps, *cs;
	int n = 0;

	for (int i = 0; i < st->client_count; i++)
		if (st->clients[i].state == FL_CLIENT_ACTIVE)
			fprintf(stderr,
			        "hostile:   client record active: id %#" PRIx64 " pid %d "
			        "heartbeat age %" PRIu64 " ns\n",
			        st->clients[i].client_id, st->clients[i].pid,
			        st->clients[i].heartbeat_age_ns);
	map_all();
	ps = seg_of(S_PORTS);
	cs = seg_of(S_CHUNKS);
	for (int k = 0; ps != NULL && k < 2; k++)
		for (uint32_t i = 0; i < ports0.tab[k].count && n < 20; i++) {
			uint64_t port = ports0.tab[k].off + i * sizeof(struct fli_pp_port);
			uint64_t owner = get(ps, port + offsetof(struct fli_pp_port, owner), 8);

			if (owner != 0 && ++n)
				fprintf(stderr,
				        "hostile:   %s port %u: owner %#" PRIx64 " state %" PRIu64
				        " gen %" PRIu64 "\n",
				        k == 0 ? "server" : "client", i, owner,
				        get(ps, port + offsetof(struct fli_pp_port, state), 4),
				        get(ps, port + offsetof(struct fli_pp_port, gen), 4));
		}
	for (uint32_t i = 0; cs != NULL && i < chunks0.total && n < 40; i++) {
		uint64_t h = chunks0.hdr_off + (uint64_t)i * sizeof(struct fli_cp_hdr);
		uint64_t owner = get(cs, h + offsetof(struct fli_cp_hdr, owner), 8);
		uint64_t state = get(cs, h + offsetof(struct fli_cp_hdr, state), 8);

		if ((owner != 0 || (uint32_t)state != 0) && ++n)
			fprintf(stderr,
			        "hostile:   chunk %u: owner %#" PRIx64 " state %#" PRIx64 "\n", i,
			        owner, state);
	}
	unmap_all();
}

static void
hostile_writer_against_live_run(void **state)
{
	const char *e = getenv("FL_ROUNDS");
	unsigned rounds = e != NULL ? (unsigned)atoi(e) : under_valgrind() ? 200 : 3000;
	uint64_t seed = getenv("FL_SEED") != NULL ? strtoull(getenv("FL_SEED"), NULL, 0)
	                                          : fl_clock_now_ns() ^ ((uint64_t)getpid() << 32);
	uint64_t last_pass[N_ROLES], t_scr, t_rec, rec_ms;
	unsigned failures = 0, hangs = 0, respawns = 0;
	struct tally t = { 0 };
	struct fl_stats st;
	char gz[256];
	bool zero;

	(void)state;
	fprintf(stderr,
	        "hostile: seed %" PRIu64 ", %u rounds (FL_SEED=%" PRIu64
	        " FL_ROUNDS=%u reproduce the scribbles)\n",
	        seed, rounds, seed, rounds);
	rng = seed != 0 ? seed : 1;
	why[0] = '\0';
	prog = mmap(NULL, sizeof(*prog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(prog != MAP_FAILED);
	memset(procs, 0, sizeof(procs));
	test_ns(ns, sizeof(ns), "hostile");
	fl_run_dir_path(ns, run_dir, sizeof(run_dir));
	for (int r = 0; r < N_ROLES; r++)
		spawn((enum role)r);
	read_layout();

	/* ---- SCRIBBLE ---- */
	t_scr = fl_clock_now_ns();
	for (unsigned round = 0; round < rounds;) {
		map_all();
		if (round == 0) {
			/* One wild header field the driver must put back and count,
			 * whatever the seed draws. */
			put(seg_of(S_CNC), offsetof(struct fli_cnc_header, version), 4, 0);
		}
		for (int r = 0; r < N_ROLES; r++)
			last_pass[r] = atomic_load(&prog->passes[r]);
		for (unsigned k = 0; k < BATCH && round < rounds; k++, round++) {
			scribble();
			sched_yield();
		}
		/* The driver is alive and ran its repairs since the batch (else
		 * it is replaced, and the new one has a layout of its own); what
		 * the batch left wild of its words must be put back now. */
		wild_snap(&wild_before);
		if (ended(R_DRIVER) || !driver_cycle_after(fl_clock_now_ns())) {
			replace(R_DRIVER, round, !ended(R_DRIVER));
			read_layout();
			memset(&t, 0, sizeof(t));
		} else {
			wild_snap(&wild_after);
			wild_tally(&t, &wild_before, &wild_after, round);
		}
		/* Every legitimate process finishes one more pass. */
		for (int r = R_PUB; r < N_ROLES; r++) {
			if (WAIT_UNTIL(atomic_load(&prog->passes[r]) > last_pass[r] + 1 || ended(r),
			               5000) &&
			    !ended(r))
				continue;
			replace(r, round, !ended(r));
		}
	}

	fprintf(stderr, "hostile: %u rounds of scribbles in %" PRIu64 " ms\n", rounds,
	        (uint64_t)((fl_clock_now_ns() - t_scr) / MS));

	/* ---- RECOVERY ---- */
	/* The writer stopped.  A few duty cycles: the driver puts back what
	 * it owns (it checks its words every cycle or every 10 ms). */
	map_all();
	for (int i = 0; i < 3; i++)
		if (ended(R_DRIVER) || !driver_cycle_after(fl_clock_now_ns())) {
			replace(R_DRIVER, rounds, !ended(R_DRIVER));
			read_layout();
			memset(&t, 0, sizeof(t));
		}
	unmap_all();
	/* The driver counted every word of its own that it put back. */
	if (!WAIT_UNTIL(fl_stats_read(ns, &st) == 0, 5000))
		note("stats unreadable after the scribbling");
	fprintf(stderr,
	        "hostile: put back and counted: corrupt_reads %" PRId64 " (seen put back: cnc.dat "
	        "header %" PRIu64 ", log buffers %" PRIu64 "), rr_layout_repaired %" PRId64
	        " (seen %" PRIu64 "); rejected_commands %" PRId64 ", rr_corrupt_rejected %" PRId64
	        "\n",
	        st.corrupt_reads, t.cnc, t.log, ext_gauge(&st, "rr_layout_repaired"), t.rr,
	        st.rejected_commands, ext_gauge(&st, "rr_corrupt_rejected"));
	if (t.left != 0)
		note("%" PRIu64 " words only the driver writes were left wild a duty cycle later",
		     t.left);
	if (st.corrupt_reads < (int64_t)(t.cnc + t.log))
		note("corrupt_reads %" PRId64 " < %" PRIu64 " words seen put back",
		     st.corrupt_reads, t.cnc + t.log);
	if (ext_gauge(&st, "rr_layout_repaired") < (int64_t)t.rr)
		note("rr_layout_repaired %" PRId64 " < %" PRIu64 " words seen put back",
		     ext_gauge(&st, "rr_layout_repaired"), t.rr);

	/* Every legitimate process starts afresh and must succeed K_REC
	 * times.  One that dies now is replaced (and fails the test). */
	atomic_store(&prog->recovery, 1);
	t_rec = fl_clock_now_ns();
	for (;;) {
		int r;

		if (WAIT_UNTIL(recovered() || legit_ended() != 0 || ended(R_DRIVER), 5000) &&
		    !ended(R_DRIVER) && (r = legit_ended()) != 0 && respawns++ < 4) {
			replace((enum role)r, rounds, false);
			continue;
		}
		break;
	}
	rec_ms = (fl_clock_now_ns() - t_rec) / MS;
	for (int r = R_PUB; r < N_ROLES; r++) {
		uint64_t ok = atomic_load(&prog->rec_ok[r]), bad = atomic_load(&prog->rec_bad[r]);
		uint64_t errs = atomic_load(&prog->rec_errors[r]);

		fprintf(stderr,
		        "hostile: recovery: %s: %" PRIu64 " ok, %" PRIu64 " reopened, %" PRIu64
		        " errors%s%s%s, %" PRIu64 " wrong\n",
		        role_name[r], ok, atomic_load(&prog->rec_reopens[r]), errs,
		        errs ? " (last " : "",
		        errs ? fl_errname(atomic_load(&prog->rec_last_error[r])) : "",
		        errs ? ")" : "", bad);
		if (ok < K_REC)
			note("recovery: %s did %" PRIu64 " of %d operations in %" PRIu64 " ms",
			     role_name[r], ok, K_REC, rec_ms);
		if (bad != 0)
			note("recovery: %s saw %" PRIu64 " wrong messages or responses",
			     role_name[r], bad);
	}
	fprintf(stderr, "hostile: recovery took %" PRIu64 " ms\n", rec_ms);

	/* ---- CLOSE ---- */
	for (int r = R_PUB; r < N_ROLES; r++) {
		int rc = stop_proc((enum role)r);

		fprintf(stderr,
		        "hostile: %s: %" PRIu64 " passes, %" PRIu64 " done, %" PRIu64
		        " errors, exit %d\n",
		        role_name[r], atomic_load(&prog->passes[r]), atomic_load(&prog->ok[r]),
		        atomic_load(&prog->errors[r]), rc);
		if (rc != 0)
			record_failure((enum role)r, rounds, rc, rc == -1);
	}
	/* Every client closed: the driver holds nothing. */
	zero = WAIT_UNTIL(fl_stats_read(ns, &st) == 0 && gauges_zero(&st, gz, sizeof(gz)), 2000);
	fprintf(stderr, "hostile: after close: %s\n", zero ? "every gauge 0" : gz);
	if (!zero) {
		note("gauges not back to 0 after every client closed: %s", gz);
		dump_held(&st);
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
			fprintf(stderr,
			        "hostile:   %s: %u crashes, %u hangs; first at round %u, status "
			        "%d\n",
			        role_name[r], procs[r].crashes, procs[r].stuck,
			        procs[r].first_round, procs[r].first_status);
	munmap(prog, sizeof(*prog));
	free(owned);
	free(wild_before.w);
	free(wild_after.w);
	owned = NULL;
	wild_before.w = wild_after.w = NULL;
	assert_int_equal(access(run_dir, F_OK), -1);
	if (failures + hangs != 0)
		note("%u crashes and %u hangs", failures, hangs);
	if (why[0] != '\0')
		fail_msg("%s (%u rounds, FL_SEED=%" PRIu64 ")", why, rounds, seed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hostile_writer_against_live_run),
	};

	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
