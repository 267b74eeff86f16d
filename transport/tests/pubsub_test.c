/*
 * Publish/subscribe through an embedded driver in this process: names,
 * exchange and gauges, image references and linger, async add and cancel
 * (also with the driver's response dropped), the list of adds outstanding,
 * bad input, hostile bytes in the command ring, one driver per namespace,
 * stale directories, driver and client timeouts, concurrent publishers;
 * and the edges: messages of k fragments' payload and one byte either
 * side and the largest message end to end, image indices, the first and
 * last client record and subscriber slot, and slot indices one past the
 * table in a forged image event.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <fiu.h>
#include <fiu-control.h>

#include "fl_test.h"
#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/stats.h"
#include <linux/membarrier.h>
#include <sys/syscall.h>

#include "client_internal.h"
#include "cnc.h"
#include "driver_ext.h"
#include "log_buffer.h"
#include "ring.h"
#include "shm.h"

#define SEC FL_NS_PER_SEC
#define MS  FL_NS_PER_MS

struct env {
	char ns[64];
	char dir[256];
	fl_driver *d;
	fl_client *c;
};

static struct env *
env_start(const char *name, bool agent_driver)
{
	struct env *e = calloc(1, sizeof(*e));
	struct fl_driver_ctx dc;
	struct fl_client_ctx cc;

	test_ns(e->ns, sizeof(e->ns), name);
	fl_run_dir_path(e->ns, e->dir, sizeof(e->dir));
	test_driver_ctx(&dc, e->ns);
	dc.client_liveness_ns = 30 * SEC; /* a loaded machine may starve a live client */
	dc.publication_linger_ns = 200 * MS;
	dc.no_thread = agent_driver;
	assert_fl(fl_driver_start(&dc, &e->d), 0);
	if (!agent_driver) {
		fl_client_ctx_init(&cc);
		cc.ns = e->ns;
		cc.resource_linger_ns = 20 * MS;
		cc.heartbeat_interval_ns = 10 * MS;
		assert_fl(fl_client_open(&cc, &e->c), 0);
	}
	return e;
}

static void
env_stop(struct env *e)
{
	fl_client_close(e->c);
	fl_driver_close(e->d);
	assert_int_equal(access(e->dir, F_OK), -1);
	free(e);
}

/* A driver without its own thread (the test runs its duty cycles) in a
 * namespace named for name (written to ns, nslen), whose clients time
 * out after liveness_ns. */
static fl_driver *
start_agent_driver(char *ns, size_t nslen, const char *name, uint64_t liveness_ns)
{
	struct fl_driver_ctx dc;
	fl_driver *d;

	fl_driver_ctx_init(&dc);
	dc.ns = test_ns(ns, nslen, name);
	dc.no_thread = true;
	dc.client_liveness_ns = liveness_ns;
	assert_fl(fl_driver_start(&dc, &d), 0);
	return d;
}

/* cc initialised for an agent client of ns: the test runs its conductor. */
static void
agent_client_ctx(struct fl_client_ctx *cc, const char *ns)
{
	fl_client_ctx_init(cc);
	cc->ns = ns;
	cc->agent = true;
}

static struct fl_stats st;

static struct fl_stats *
stats(struct env *e)
{
	assert_fl(fl_stats_read(e->ns, &st), 0);
	return &st;
}

/* Maps the first page of namespace ns's cnc.dat into m, writable (for a
 * wild write); returns its address. */
static void *
map_cnc(const char *ns, struct fli_shm *m)
{
	char dir[256], path[300];

	fl_run_dir_path(ns, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/cnc.dat", dir);
	assert_fl(fli_shm_map(path, true, 4096, m, NULL, 0), 0);
	return m->addr;
}

/* Maps the metadata of publication p's log in e's run directory into m
 * (writable or not); returns it. */
static struct fli_log_meta *
map_log_meta(struct env *e, fl_publication *p, bool writable, struct fli_shm *m)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/" FL_LOG_NAME_FMT, e->dir,
	         (long long)fl_publication_registration_id(p));
	assert_fl(fli_shm_map(path, writable, FL_LOG_META_SIZE, m, NULL, 0), 0);
	return m->addr;
}

struct rx {
	long n;
	long errors;
	int64_t next[4];
};

static void
on_msg(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct rx *r = arg;
	int64_t v[2];

	if (len < 16) {
		r->errors++;
		return;
	}
	memcpy(v, buf, 16);
	if (v[0] < 0 || v[0] > 3 || v[1] != r->next[v[0]])
		r->errors++;
	else
		r->next[v[0]]++;
	r->n++;
}

static void
names(void **state)
{
	char buf[300], big[100];
	struct fl_driver_ctx dc;
	struct fl_client_ctx cc;
	fl_driver *d;
	fl_client *c;

	assert_fl(fl_name_validate("ok-name_1.x"), 0);
	assert_fl(fl_name_validate(""), FL_ENAME);
	assert_fl(fl_name_validate(NULL), FL_ENAME);
	assert_fl(fl_name_validate("a/b"), FL_ENAME);
	assert_fl(fl_name_validate(".."), FL_ENAME);
	assert_fl(fl_name_validate("a..b"), FL_ENAME);
	assert_fl(fl_name_validate("tab\there"), FL_ENAME);
	assert_fl(fl_name_validate("sp ace"), FL_ENAME);
	memset(big, 'a', sizeof(big));
	big[FL_NAME_MAX] = '\0';
	assert_fl(fl_name_validate(big), 0);
	big[FL_NAME_MAX] = 'a';
	big[FL_NAME_MAX + 1] = '\0';
	assert_fl(fl_name_validate(big), FL_ENAME);
	assert_fl(fl_run_dir_path("x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/dev/shm/faultline-x");
	assert_fl(fl_run_dir_path("x", buf, 5), FL_EINVAL);
	fl_driver_ctx_init(&dc);
	dc.ns = "../etc";
	assert_fl(fl_driver_start(&dc, &d), FL_ENAME);
	fl_client_ctx_init(&cc);
	cc.ns = "bad/ns";
	assert_fl(fl_client_open(&cc, &c), FL_ENAME);
	cc.ns = "t-no-driver-here";
	assert_fl(fl_client_open(&cc, &c), FL_ENOENT);
	dc.ns = "t-badsize";
	dc.term_length = 1000;
	assert_fl(fl_driver_start(&dc, &d), FL_EINVAL);
}

/* Offers n messages on p (each of `len` bytes, or 16-215 in turn when
 * len is 0) while polling s, then checks every one came, in order.  A
 * subscriber that stops taking them fails the test at a deadline (each
 * message is polled back at once: the work, not the machine, bounds it). */
static void
stream_all(fl_publication *p, fl_subscription *s, long n, size_t len)
{
	struct rx r = { 0 };
	int64_t msg[32] = { 0 };
	uint64_t dl = fl_clock_now_ns() + test_ms(30000) * MS;
	long i;

	for (i = 0; i < n;) {
		int64_t rc;

		msg[1] = i;
		rc = fl_publication_offer(p, msg, len != 0 ? len : 16 + (size_t)(i % 200));
		if (rc > 0) {
			i++;
		} else {
			assert_fl(rc, FL_EBACKPRESSURE);
			assert_true(fl_clock_now_ns() < dl);
		}
		fl_subscription_poll(s, on_msg, &r, 100);
	}
	assert_true(WAIT_UNTIL((fl_subscription_poll(s, on_msg, &r, 100), r.n == n), 5000));
	assert_int_equal(r.errors, 0);
}

static void
exchange_and_gauges(void **state)
{
	struct env *e = env_start("exchange", false);
	fl_publication *p;
	fl_subscription *s;
	long n = under_valgrind() ? 2000 : 20000;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

	assert_fl(fl_client_add_subscription(e->c, "chan", 1, NULL, dl, &s), 0);
	assert_fl(fl_client_add_publication(e->c, "chan", 1, true, dl, &p), 0);
	/* The publication sees the driver's image at once; the subscription
	 * sees it when its client's conductor takes the broadcast event. */
	assert_true(WAIT_UNTIL(fl_publication_is_connected(p) && fl_subscription_is_connected(s),
	                       2000));
	/* The driver publishes its gauges before its acknowledgement and at
	 * the end of its duty cycle; the image it links just after answering
	 * the add is counted by the second (stats.h), so wait for both. */
	assert_true(WAIT_UNTIL(stats(e)->publications == 1 && st.images == 1, 2000));
	assert_int_equal(st.subscriptions, 1);
	assert_int_equal(st.log_files, 1);
	assert_int_equal(st.active_clients, 1);
	assert_int_equal(st.clients[0].registrations, 2);
	stream_all(p, s, n, 0);
	assert_fl(fl_publication_close(p), 0);
	/* The driver drains, then the image goes and the log is unlinked. */
	assert_true(WAIT_UNTIL(stats(e)->images == 0 && st.log_files == 0, 3000));
	assert_false(fl_subscription_is_connected(s));
	assert_fl(fl_subscription_close(s), 0);
	assert_true(WAIT_UNTIL(stats(e)->subscriptions == 0 && st.log_files_mapped == 0, 2000));
	assert_int_equal(fli_shm_dir_count(e->dir), 1); /* cnc.dat only */
	env_stop(e);
}

/* ctx.pre_touch: the client reads every page of each log it maps (its
 * publication's and its image's) before the first message, and the
 * stream then runs past a whole lap of the log as without it.  The read
 * stays inside the mapping (a page past it would fault the test), and
 * covers every page of every log mapped (the client's count of them);
 * a client without it reads none.  That the stalls it pays up front
 * are gone shows only in the bench's p99 (docs/figures.md), not in a
 * test bound by work. */
static uint64_t
log_pages_mapped(fl_client *c)
{
	uint64_t pages = 0;

	fl_mutex_lock(&c->mu);
	for (int i = 0; i < c->maps.n; i++) {
		struct log_map *m = c->maps.v[i];

		pages += (fli_log_file_length((uint32_t)m->log.cap) + 4095) / 4096;
	}
	fl_mutex_unlock(&c->mu);
	return pages;
}

static void
pre_touch_exchange(void **state)
{
	struct env *e = env_start("pretouch", false);
	struct fl_client_ctx cc;
	fl_client *c;
	fl_publication *p;
	fl_subscription *s;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

	(void)state;
	fl_client_ctx_init(&cc);
	cc.ns = e->ns;
	cc.pre_touch = true;
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_fl(fl_client_add_subscription(c, "touch", 1, NULL, dl, &s), 0);
	assert_fl(fl_client_add_publication(c, "touch", 1, true, dl, &p), 0);
	assert_true(WAIT_UNTIL(fl_subscription_is_connected(s), 2000));
	/* One log: the publication's, which the image maps again. */
	fl_mutex_lock(&c->mu);
	assert_int_equal(c->maps.n, 1);
	uint64_t touched = c->pages_touched;
	fl_mutex_unlock(&c->mu);
	assert_true(touched >= 17); /* 64 KiB and the metadata */
	assert_int_equal(touched, log_pages_mapped(c));
	/* 20,000 frames of 48 bytes: 14 laps of the tests' 64 KiB log. */
	stream_all(p, s, under_valgrind() ? 2000 : 20000, 32);
	assert_fl(fl_publication_close(p), 0);
	assert_fl(fl_subscription_close(s), 0);
	fl_client_close(c);

	/* Without it, nothing is read up front. */
	dl = fl_clock_now_ns() + test_ms(5000) * MS;
	fl_client_ctx_init(&cc);
	cc.ns = e->ns;
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_fl(fl_client_add_publication(c, "touch", 1, true, dl, &p), 0);
	assert_true(log_pages_mapped(c) >= 17);
	fl_mutex_lock(&c->mu);
	assert_int_equal(c->pages_touched, 0);
	fl_mutex_unlock(&c->mu);
	assert_fl(fl_publication_close(p), 0);
	fl_client_close(c);
	env_stop(e);
}

/* A reader starved inside fl_subscription_poll while its image goes
 * away: the client's conductor must not free the image list or unmap the
 * image's log under it, however long past the linger time it stays.
 * (Freeing by time alone did: a use-after-free ASan found in
 * multiproc's client_killed_anywhere on a loaded machine.)  The fragment
 * handler blocks the poll while another thread closes the publication and
 * waits until the driver dropped the image and the conductor had ten
 * linger times to reap it; the poll then goes on reading. */
struct starved {
	struct env *e;
	fl_publication *p;
	fl_subscription *s;
	bool nested; /* the handler polls the subscription again first */
	int calls;
	int inner;
	int images_gone;
};

static void
count_inner(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	((struct starved *)arg)->inner++;
}

static void *
close_and_wait(void *arg)
{
	struct starved *sv = arg;
	struct fl_stats *gs = calloc(1, sizeof(*gs));

	fl_publication_close(sv->p);
	sv->images_gone = WAIT_UNTIL(fl_stats_read(sv->e->ns, gs) == 0 && gs->images == 0, 3000);
	fl_idle_sleep_until(fl_clock_now_ns() + 10 * 20 * MS); /* 10 linger times */
	free(gs);
	return NULL;
}

static void
starving_handler(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct starved *sv = arg;
	pthread_t t;

	if (sv->calls++ != 0)
		return;
	/* A poll inside the poll: when it returns, the outer one is still
	 * reading the list. */
	if (sv->nested)
		assert_int_equal(fl_subscription_poll(sv->s, count_inner, sv, 1), 1);
	assert_int_equal(pthread_create(&t, NULL, close_and_wait, sv), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static void
starved_poll(bool membarrier, bool nested)
{
	struct env *e = env_start("starved", false);
	struct starved sv = { .e = e, .nested = nested };
	fl_subscription *s;
	int64_t msg[4] = { 0 };
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

	/* The path the test meant to take is the one the client took. */
	assert_int_equal(e->c->membarrier, membarrier);
	assert_fl(fl_client_add_subscription(e->c, "starve", 1, NULL, dl, &s), 0);
	sv.s = s;
	assert_fl(fl_client_add_publication(e->c, "starve", 1, true, dl, &sv.p), 0);
	assert_true(WAIT_UNTIL(fl_publication_is_connected(sv.p) && fl_subscription_is_connected(s),
	                       2000));
	for (int i = 0; i < 3; i++)
		assert_true(WAIT_UNTIL(fl_publication_offer(sv.p, msg, sizeof(msg)) > 0, 2000));
	/* Three messages, one poll: the handler blocks on the first; the
	 * other two are read after it returns, from the retired image. */
	assert_int_equal(fl_subscription_poll(s, starving_handler, &sv, 10), 3);
	assert_true(sv.images_gone);
	assert_int_equal(sv.calls, 3);
	/* (The inner poll read from the image's stored position, which the
	 * outer one writes back only at its end: it took the first message
	 * again.  Nested polls are safe, not meaningful.) */
	assert_int_equal(sv.inner, nested ? 1 : 0);
	/* Once the poll returned, the image goes. */
	assert_true(WAIT_UNTIL(fl_subscription_image_count(s) == 0, 2000));
	/* With the marks, the moment the conductor freed it after was one it
	 * took behind a membarrier(2): the marks alone do not order the
	 * poller's reads.  With the count, it runs none. */
	if (membarrier)
		assert_true(
		        WAIT_UNTIL(__atomic_load_n(&e->c->barriers, __ATOMIC_RELAXED) > 0, 2000));
	else
		assert_int_equal(__atomic_load_n(&e->c->barriers, __ATOMIC_RELAXED), 0);
	assert_fl(fl_subscription_close(s), 0);
	env_stop(e);
}

/* Does this kernel give private expedited membarriers? */
static bool
kernel_membarrier(void)
{
	long mask = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	return mask > 0 && (mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0;
}

/* The poller marks itself with plain stores and the conductor fences with
 * membarrier(2) where the kernel allows it (as here)... */
static void
image_not_freed_under_a_starved_poll(void **state)
{
	if (!kernel_membarrier())
		skip();
	starved_poll(true, false);
}

/* ...also when the poll is one inside another of the same subscription
 * (the inner one's end must not end the outer one's mark)... */
static void
image_not_freed_under_a_nested_poll(void **state)
{
	if (!kernel_membarrier())
		skip();
	starved_poll(true, true);
}

/* ...and counts it with locked instructions where it does not. */
static void
image_not_freed_under_a_starved_poll_counted(void **state)
{
	setenv("FL_CLIENT_NO_MEMBARRIER", "1", 1);
	starved_poll(false, false);
	starved_poll(false, true);
}

static int
unset_no_membarrier(void **state)
{
	unsetenv("FL_CLIENT_NO_MEMBARRIER");
	return 0;
}

struct img_seen {
	int available;
	int unavailable;
};

static void
on_avail(void *arg, fl_subscription *s, fl_image *img)
{
	((struct img_seen *)arg)->available++;
}

static void
on_unavail(void *arg, fl_subscription *s, fl_image *img)
{
	((struct img_seen *)arg)->unavailable++;
}

static void
image_refs_and_linger(void **state)
{
	struct env *e = env_start("imgref", false);
	struct img_seen seen = { 0 };
	struct fl_image_handlers h = { on_avail, on_unavail, &seen };
	fl_publication *p;
	fl_subscription *s;
	fl_image *img, *img2;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

	assert_fl(fl_client_add_subscription(e->c, "img", 3, &h, dl, &s), 0);
	assert_fl(fl_client_add_publication(e->c, "img", 3, false, dl, &p), 0);
	assert_true(WAIT_UNTIL(fl_subscription_image_count(s) == 1, 2000));
	assert_int_equal(seen.available, 1);
	assert_fl(fl_subscription_image_by_session_id(s, fl_publication_session_id(p), &img), 0);
	assert_fl(fl_subscription_image_by_session_id(s, 999999, &img2), FL_ENOENT);
	assert_fl(fl_subscription_image_at_index(s, 0, &img2), 0);
	assert_fl(fl_subscription_image_at_index(s, 1, &img2), FL_ENOENT);
	assert_ptr_equal(img, img2);
	assert_int_equal(stats(e)->image_refs_held, 2);
	assert_fl(fl_image_release(img2), 0);
	/* A release with no reference held is FL_ESTALE.  Checked while the
	 * image is available: only a retired image is ever freed, so img is
	 * still valid memory here (after the publication's close, the
	 * conductor may free it once its last reference went). */
	assert_fl(fl_image_release(img), 0);
	assert_fl(fl_image_release(img), FL_ESTALE);
	assert_fl(fl_subscription_image_at_index(s, 0, &img), 0);
	assert_true(fl_image_is_available(img));
	assert_int_equal(fl_image_session_id(img), fl_publication_session_id(p));
	fl_publication_close(p);
	assert_true(WAIT_UNTIL(!fl_image_is_available(img), 3000));
	assert_int_equal(seen.unavailable, 1);
	assert_fl(fl_image_poll(img, on_msg, NULL, 10), FL_ECLOSED);
	/* Still mapped while the reference is held. */
	fl_idle_sleep_until(fl_clock_now_ns() + 60 * MS);
	assert_int_equal(stats(e)->log_files, 1);
	assert_int_equal(st.clients[0].logs_mapped, 1);
	assert_fl(fl_image_release(img), 0);
	assert_true(WAIT_UNTIL(stats(e)->log_files == 0 && st.clients[0].logs_mapped == 0, 2000));
	assert_int_equal(st.image_refs_held, 0);
	fl_subscription_close(s);
	env_stop(e);
}

static void
async_add_cancel(void **state)
{
	struct env *e = env_start("cancel", false);
	fl_publication *p;
	fl_subscription *s;
	int64_t id, id2;
	int i, rc;

	for (i = 0; i < 20; i++) {
		assert_fl(fl_client_add_publication_start(e->c, "c", 1, true, &id), 0);
		assert_fl(fl_client_add_subscription_start(e->c, "c", 1, NULL, &id2), 0);
		if (i % 2)
			WAIT_UNTIL(fl_client_add_subscription_poll(e->c, id2, &s) != FL_EAGAIN &&
			                   (fl_subscription_close(s), true),
			           2000);
		else
			assert_fl(fl_client_cancel(e->c, id2), 0);
		assert_fl(fl_client_cancel(e->c, id), 0);
		assert_fl(fl_client_cancel(e->c, id), FL_ENOENT);
		assert_fl(fl_client_add_publication_poll(e->c, id, &p), FL_ENOENT);
	}
	assert_true(WAIT_UNTIL(stats(e)->publications == 0 && st.subscriptions == 0 &&
	                               st.log_files == 0 && st.clients[0].registrations == 0 &&
	                               st.clients[0].pending_registrations == 0 && st.images == 0,
	                       3000));
	/* A poll that completes normally. */
	assert_fl(fl_client_add_publication_start(e->c, "c", 1, true, &id), 0);
	assert_true(
	        WAIT_UNTIL((rc = fl_client_add_publication_poll(e->c, id, &p)) != FL_EAGAIN, 2000));
	assert_fl(rc, 0);
	fl_publication_close(p);
	env_stop(e);
}

static void
dropped_response_times_out_and_leaves_nothing(void **state)
{
	struct env *e;
	fl_publication *p;

#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled compiles the points out */
#endif
	e = env_start("drop", false);
	fiu_init(0);
	fiu_enable("transport/cmd/drop", 1, NULL, 0);
	fl_points_arm(false, true);
	assert_fl(fl_client_add_publication(e->c, "d", 1, true, fl_clock_now_ns() + 100 * MS, &p),
	          FL_ETIMEDOUT);
	fl_points_arm(false, false);
	fiu_disable("transport/cmd/drop");
	assert_true(WAIT_UNTIL(stats(e)->publications == 0 && st.log_files == 0 &&
	                               st.clients[0].pending_registrations == 0 &&
	                               st.clients[0].registrations == 0,
	                       3000));
	/* Registration failure and log allocation failure are reported. */
	fiu_enable("transport/log/alloc", 1, NULL, 0);
	fl_points_arm(false, true);
	assert_fl(fl_client_add_publication(e->c, "d", 1, true,
	                                    fl_clock_now_ns() + test_ms(2000) * MS, &p),
	          FL_ENOMEM);
	fl_points_arm(false, false);
	fiu_disable("transport/log/alloc");
	/* A segment /dev/shm has no room for: FL_ENOSPC, as posix_fallocate
	 * reports it. */
	fiu_enable("transport/shm/truncate", 1, NULL, 0);
	fl_points_arm(false, true);
	assert_fl(fl_client_add_publication(e->c, "d", 1, true,
	                                    fl_clock_now_ns() + test_ms(2000) * MS, &p),
	          FL_ENOSPC);
	fl_points_arm(false, false);
	fiu_disable("transport/shm/truncate");
	assert_int_equal(fli_shm_dir_count(e->dir), 1);
	env_stop(e);
}

static void
bad_input(void **state)
{
	struct env *e = env_start("badinput", false);
	fl_publication *p;
	fl_subscription *s;
	struct fl_claim claim;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;
	static uint8_t big[64 * 1024];
	int64_t id;

	assert_fl(fl_client_add_publication(e->c, "a/b", 1, true, dl, &p), FL_ENAME);
	assert_fl(fl_client_add_subscription_start(e->c, "", 1, NULL, &id), FL_ENAME);
	assert_fl(fl_client_add_publication_poll(e->c, 12345, &p), FL_ENOENT);
	assert_fl(fl_client_cancel(e->c, 12345), FL_ENOENT);
	assert_fl(fl_client_add_publication(e->c, "x", 1, true, dl, &p), 0);
	assert_fl(fl_publication_offer(p, big, 8), FL_ENOT_CONNECTED);
	assert_fl(fl_client_add_subscription(e->c, "x", 1, NULL, dl, &s), 0);
	assert_true(WAIT_UNTIL(fl_publication_is_connected(p), 2000));
	assert_int_equal(fl_publication_max_message_length(p), 8192);
	assert_int_equal(fl_publication_max_payload_length(p), 1008);
	assert_fl(fl_publication_offer(p, big, 8193), FL_EMSGSIZE);
	assert_true(fl_publication_offer(p, big, 8192) > 0);
	assert_fl(fl_publication_try_claim(p, 1009, &claim), FL_EMSGSIZE);
	assert_fl(fl_publication_offer(p, NULL, 3), FL_EINVAL);
	assert_fl(fl_subscription_poll(s, NULL, NULL, 10), FL_EINVAL);
	assert_fl(fl_claim_commit(NULL), FL_EINVAL);
	fl_publication_close(p);
	fl_subscription_close(s);
	env_stop(e);
}

static void
garbage_in_command_ring(void **state)
{
	struct env *e = env_start("garbage", false);
	struct fli_shm m = { 0 };
	struct fli_mpsc ring;
	struct fli_cmd cmd;
	struct fli_cnc_header *h;
	uint8_t junk[200];
	fl_publication *p;
	int i;

	h = map_cnc(e->ns, &m);
	fli_mpsc_init(&ring, (uint8_t *)m.addr + h->cmd_offset, h->cmd_length, 0);
	for (i = 0; i < (int)sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	/* Wrong sizes, unknown types, wrong version, unknown client, a
	 * channel without NUL, an invalid channel. */
	assert_fl(fli_mpsc_write(&ring, FL_CMD_ADD_PUB, junk, 13), 0);
	assert_fl(fli_mpsc_write(&ring, 77, junk, sizeof(cmd)), 0);
	memset(&cmd, 0, sizeof(cmd));
	cmd.version = 99;
	assert_fl(fli_mpsc_write(&ring, FL_CMD_ADD_PUB, &cmd, sizeof(cmd)), 0);
	cmd.version = FL_FRAME_VERSION;
	cmd.client_id = 987654;
	cmd.corr_id = 5;
	assert_fl(fli_mpsc_write(&ring, FL_CMD_ADD_SUB, &cmd, sizeof(cmd)), 0);
	cmd.client_id = fl_client_id(e->c);
	memset(cmd.channel, 'z', sizeof(cmd.channel));
	assert_fl(fli_mpsc_write(&ring, FL_CMD_ADD_SUB, &cmd, sizeof(cmd)), 0);
	snprintf(cmd.channel, sizeof(cmd.channel), "../x");
	assert_fl(fli_mpsc_write(&ring, FL_CMD_ADD_PUB, &cmd, sizeof(cmd)), 0);
	assert_fl(fli_mpsc_write(&ring, FL_EXT_TYPE_MIN, junk, 2), 0);
	assert_true(WAIT_UNTIL(stats(e)->rejected_commands >= 7, 2000));
	assert_int_equal(st.publications, 0);
	assert_int_equal(st.subscriptions, 0);
	/* A record with a corrupt committed length. */
	{
		uint64_t tail = __atomic_load_n(ring.tail, __ATOMIC_ACQUIRE);
		int32_t bad = 0x7ffffff0;

		__atomic_store_n(ring.tail, tail + 64, __ATOMIC_RELEASE);
		memcpy(ring.buf + (tail & ring.mask), &bad, 4);
	}
	assert_true(WAIT_UNTIL(stats(e)->rejected_commands >= 8, 2000));
	fli_shm_unmap(&m);
	/* The driver keeps serving. */
	assert_fl(fl_client_add_publication(e->c, "ok", 1, true,
	                                    fl_clock_now_ns() + test_ms(2000) * MS, &p),
	          0);
	fl_publication_close(p);
	env_stop(e);
}

static void
second_driver_refused_and_stale_dir_cleaned(void **state)
{
	struct env *e = env_start("second", false);
	struct fl_driver_ctx dc;
	fl_driver *d2;
	char path[300], dir[300], file[320];
	pid_t pid;
	int fd, status;

	fl_driver_ctx_init(&dc);
	dc.ns = e->ns;
	assert_fl(fl_driver_start(&dc, &d2), FL_EEXIST);
	env_stop(e);
	/* A stale directory: a driver that died (its pid is gone). */
	test_ns(path, sizeof(path), "stale");
	fl_driver_ctx_init(&dc);
	dc.ns = path;
	dc.no_thread = true;
	pid = test_fork();
	if (pid == 0) {
		fl_driver *d;

		_exit(fl_driver_start(&dc, &d) == 0 ? 0 : 1); /* dies holding the dir */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	fl_run_dir_path(dc.ns, dir, sizeof(dir));
	assert_int_equal(fli_shm_dir_count(dir), 1); /* left behind */
	assert_fl(fl_driver_start(&dc, &d2), 0);
	fl_driver_close(d2);
	/* A directory with garbage in it. */
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(file, sizeof(file), "%s/cnc.dat", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(write(fd, "garbage", 7) == 7);
	close(fd);
	assert_fl(fl_driver_start(&dc, &d2), 0);
	fl_driver_close(d2);
}

static void
driver_and_client_timeouts(void **state)
{
	struct env *e = env_start("timeouts", true);
	struct fl_client_ctx cc;
	fl_client *c1, *c2;
	fl_publication *p;
	fl_subscription *s;
	int64_t id;
	int rc;

	agent_client_ctx(&cc, e->ns);
	cc.driver_timeout_ns = 100 * MS;
	cc.resource_linger_ns = 1 * MS;
	assert_fl(fl_client_open(&cc, &c1), 0);
	assert_fl(fl_client_open(&cc, &c2), 0);
	/* Agent-style add: drive both sides until it completes. */
	assert_fl(fl_client_add_publication_start(c1, "t", 1, true, &id), 0);
	do {
		fl_driver_do_work(e->d);
		fl_client_do_work(c1);
	} while ((rc = fl_client_add_publication_poll(c1, id, &p)) == FL_EAGAIN);
	assert_fl(rc, 0);
	assert_fl(fl_client_add_subscription_start(c2, "t", 1, NULL, &id), 0);
	do {
		fl_driver_do_work(e->d);
		fl_client_do_work(c2);
	} while ((rc = fl_client_add_subscription_poll(c2, id, &s)) == FL_EAGAIN);
	assert_fl(rc, 0);
	fl_client_do_work(c2);
	assert_int_equal(fl_subscription_image_count(s), 1);
	/* The driver stops working: both clients notice. */
	fl_idle_sleep_until(fl_clock_now_ns() + 150 * MS);
	assert_fl(fl_client_do_work(c1), FL_EDRIVER_TIMEOUT);
	assert_fl(fl_client_do_work(c2), FL_EDRIVER_TIMEOUT);
	assert_fl(fl_client_status(c1), FL_EDRIVER_TIMEOUT);
	assert_fl(fl_publication_offer(p, "x", 1), FL_ECLOSED);
	assert_int_equal(fl_subscription_image_count(s), 0);
	assert_fl(fl_subscription_poll(s, on_msg, NULL, 1), FL_EDRIVER_TIMEOUT);
	fl_idle_sleep_until(fl_clock_now_ns() + 5 * MS);
	fl_client_do_work(c2);
	assert_int_equal(stats(e)->clients[1].logs_mapped, 0); /* released its mappings */
	assert_fl(fl_client_add_publication_start(c1, "t", 1, true, &id), FL_EDRIVER_TIMEOUT);
	fl_publication_close(p);
	fl_subscription_close(s);
	fl_client_close(c1);
	fl_client_close(c2);
	fl_driver_close(e->d);
	free(e);
}

static void
client_timed_out_by_driver(void **state)
{
	char ns[64];
	struct fl_client_ctx cc;
	fl_driver *d;
	fl_client *c;
	fl_subscription *s;
	int64_t id;
	int rc;

	d = start_agent_driver(ns, sizeof(ns), "clienttimeout", 50 * MS);
	agent_client_ctx(&cc, ns);
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_fl(fl_client_add_subscription_start(c, "t", 1, NULL, &id), 0);
	do {
		fl_driver_do_work(d);
		fl_client_do_work(c);
	} while ((rc = fl_client_add_subscription_poll(c, id, &s)) == FL_EAGAIN);
	assert_fl(rc, 0);
	/* The client hangs (no heartbeat) while the driver works. */
	fl_idle_sleep_until(fl_clock_now_ns() + 80 * MS);
	fl_driver_do_work(d);
	assert_fl(fl_stats_read(ns, &st), 0);
	assert_int_equal(st.client_timeouts, 1);
	assert_int_equal(st.subscriptions, 0);
	assert_int_equal(st.clients[0].state, FL_CLIENT_TIMED_OUT);
	assert_int_equal(st.clients[0].registrations_reclaimed, 1);
	assert_fl(fl_client_do_work(c), FL_ECLIENT_TIMEOUT);
	fl_subscription_close(s);
	fl_client_close(c);
	fl_driver_close(d);
}

/* A driver that was not run (a stall of the whole machine: its clients
 * stopped with it) does not end a client for the heartbeats it missed
 * meanwhile, nor one it first sees after the stall; a client that stays
 * silent while the driver runs is still ended.  The driver says its duty cycle (cycle_ns), as the harness's and
 * the daemon's do. */
static void
driver_stall_not_client_silence(void **state)
{
	char ns[64];
	struct fl_driver_ctx dc;
	struct fl_client_ctx cc;
	fl_driver *d;
	fl_client *c, *c2;
	uint64_t dl;

	fl_driver_ctx_init(&dc);
	dc.ns = test_ns(ns, sizeof(ns), "driverstall");
	dc.no_thread = true;
	dc.cycle_ns = 1 * MS;
	dc.client_liveness_ns = 50 * MS;
	assert_fl(fl_driver_start(&dc, &d), 0);
	agent_client_ctx(&cc, ns);
	cc.heartbeat_interval_ns = MS;
	assert_fl(fl_client_open(&cc, &c), 0);
	fl_driver_do_work(d);
	/* The client beats and the driver sees it, both within 10 ms (a
	 * busy machine may preempt between the two: again), ... */
	for (int tries = 0;; tries++) {
		uint64_t t0;

		assert_true(tries < 100);
		fl_idle_sleep_until(fl_clock_now_ns() + 2 * MS); /* its beat due */
		t0 = fl_clock_now_ns();
		assert_fl(fl_client_do_work(c), 0);
		fl_driver_do_work(d);
		if (fl_clock_now_ns() - t0 < 10 * MS)
			break;
	}
	/* ... and another opens, which the driver has not seen yet; then
	 * neither runs for longer than the liveness: the silence the driver
	 * saw is under 10 ms, plus the half it allows a stall. */
	assert_fl(fl_client_open(&cc, &c2), 0);
	fl_idle_sleep_until(fl_clock_now_ns() + 80 * MS);
	fl_driver_do_work(d);
	assert_fl(fl_stats_read(ns, &st), 0);
	assert_int_equal(st.client_timeouts, 0);
	assert_int_equal(st.active_clients, 2);
	assert_true(st.driver_stalls >= 1);     /* more when the machine stalled it */
	assert_true(fl_client_do_work(c) >= 0); /* still its driver's */
	assert_fl(fl_client_status(c), 0);
	assert_true(fl_client_do_work(c2) >= 0);
	assert_fl(fl_client_status(c2), 0);
	/* Now the clients stop beating while the driver runs: ended. */
	dl = fl_clock_now_ns() + test_ms(10000) * MS;
	do {
		fl_driver_do_work(d);
		assert_fl(fl_stats_read(ns, &st), 0);
		fl_idle_sleep_until(fl_clock_now_ns() + MS / 2);
	} while (st.client_timeouts < 2 && fl_clock_now_ns() < dl);
	assert_int_equal(st.client_timeouts, 2);
	assert_int_equal(st.active_clients, 0);
	assert_fl(fl_client_do_work(c), FL_ECLIENT_TIMEOUT);
	assert_fl(fl_client_do_work(c2), FL_ECLIENT_TIMEOUT);
	fl_client_close(c);
	fl_client_close(c2);
	fl_driver_close(d);
}

struct mt {
	fl_publication *p;
	int id;
	long n;
	int rc;
};

/* A false driver timeout on the client (fault) must not leak: close still
 * tells the live driver, which reclaims the registrations at once. */
static void
false_driver_timeout_close_reclaims(void **state)
{
	struct env *e;
	fl_publication *p;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled compiles the points out */
#endif
	e = env_start("falsedrvto", false);
	assert_fl(fl_client_add_publication(e->c, "fdt", 1, false, dl, &p), 0);
	assert_true(WAIT_UNTIL(stats(e)->publications == 1, 2000));
	fiu_init(0);
	fiu_enable("transport/client/driver_timeout", 1, NULL, FIU_ONETIME);
	fl_points_arm(false, true);
	assert_true(WAIT_UNTIL(fl_client_status(e->c) == FL_EDRIVER_TIMEOUT, 2000));
	fl_points_arm(false, false);
	fiu_disable("transport/client/driver_timeout");
	fl_publication_close(p);
	fl_client_close(e->c);
	e->c = NULL;
	/* Reclaimed by CLIENT_CLOSE, not by the (30 s) liveness timeout. */
	assert_true(WAIT_UNTIL(stats(e)->active_clients == 0 && st.publications == 0, 1000));
	assert_int_equal(st.client_timeouts, 0);
	env_stop(e);
}

static void
mt_offer(void *arg)
{
	struct mt *m = arg;
	int64_t msg[8] = { m->id, 0 };
	uint64_t dl = fl_clock_now_ns() + 20 * SEC;
	struct fl_idle idle = { 0 };

	while (msg[1] < m->n && fl_clock_now_ns() < dl) {
		int64_t rc = fl_publication_offer(m->p, msg, 16 + (size_t)(msg[1] % 48));

		if (rc > 0)
			msg[1]++;
		else if (rc != FL_EBACKPRESSURE)
			m->rc = (int)rc;
		else
			fl_idle(&idle, 0, dl);
	}
}

static void
concurrent_publication(void **state)
{
	struct env *e = env_start("concurrent", false);
	fl_publication *p;
	fl_subscription *s;
	struct rx r = { 0 };
	struct mt m[3];
	fl_thread *t[3];
	long n = under_valgrind() ? 500 : 20000;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;
	int i;

	assert_fl(fl_client_add_subscription(e->c, "mt", 1, NULL, dl, &s), 0);
	assert_fl(fl_client_add_publication(e->c, "mt", 1, false, dl, &p), 0);
	assert_true(WAIT_UNTIL(fl_publication_is_connected(p), 2000));
	for (i = 0; i < 3; i++) {
		m[i] = (struct mt){ p, i + 1, n, 0 };
		assert_fl(fl_thread_start(&t[i], "offer", mt_offer, &m[i]), 0);
	}
	assert_true(WAIT_UNTIL((fl_subscription_poll(s, on_msg, &r, 1000), r.n == 3 * n), 20000));
	for (i = 0; i < 3; i++) {
		fl_thread_join(t[i]);
		assert_fl(m[i].rc, 0);
	}
	assert_int_equal(r.errors, 0);
	fl_publication_close(p);
	fl_subscription_close(s);
	env_stop(e);
}

static void
late_subscriber_starts_at_tail(void **state)
{
	struct env *e = env_start("latejoin", false);
	fl_publication *p;
	fl_subscription *s1, *s2;
	struct rx r1 = { 0 }, r2 = { 0 };
	int64_t msg[4] = { 0 };
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;
	int i;

	assert_fl(fl_client_add_subscription(e->c, "late", 1, NULL, dl, &s1), 0);
	assert_fl(fl_client_add_publication(e->c, "late", 1, true, dl, &p), 0);
	assert_true(WAIT_UNTIL(fl_publication_is_connected(p), 2000));
	for (i = 0; i < 10; i++) {
		msg[1] = i;
		assert_true(fl_publication_offer(p, msg, 16) > 0);
	}
	assert_fl(fl_client_add_subscription(e->c, "late", 1, NULL, dl, &s2), 0);
	assert_true(WAIT_UNTIL(fl_subscription_image_count(s2) == 1, 2000));
	r2.next[0] = 10; /* the late joiner sees only what comes after it */
	for (i = 10; i < 20; i++) {
		msg[1] = i;
		assert_true(fl_publication_offer(p, msg, 16) > 0);
	}
	assert_true(
	        WAIT_UNTIL((fl_subscription_poll(s1, on_msg, &r1, 100),
	                    fl_subscription_poll(s2, on_msg, &r2, 100), r1.n == 20 && r2.n == 10),
	                   2000));
	assert_int_equal(r1.errors, 0);
	assert_int_equal(r2.errors, 0);
	fl_publication_close(p);
	fl_subscription_close(s1);
	fl_subscription_close(s2);
	env_stop(e);
}

/* A log file whose unlink fails stays on the driver's retry list (gauge
 * log_files_unlink_pending) and goes once unlink works again, or with the
 * run directory when the driver closes. */
static void
failed_unlink_is_retried(void **state)
{
	struct env *e;
	fl_publication *p;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

#ifdef FL_POINTS_DISABLED
	skip();
#endif
	e = env_start("unlink", false);
	fiu_init(0);
	fiu_enable("transport/shm/unlink", 1, NULL, 0);
	fl_points_arm(false, true);
	assert_fl(fl_client_add_publication(e->c, "u", 1, true, dl, &p), 0);
	fl_publication_close(p);
	assert_true(WAIT_UNTIL(stats(e)->log_files == 0 && st.log_files_unlink_pending == 1, 3000));
	assert_int_equal(fli_shm_dir_count(e->dir), 2);
	fiu_disable("transport/shm/unlink");
	assert_true(WAIT_UNTIL(stats(e)->log_files_unlink_pending == 0, 3000));
	assert_int_equal(fli_shm_dir_count(e->dir), 1);

	/* Failing for good: the driver's close still removes it. */
	fiu_enable("transport/shm/unlink", 1, NULL, 0);
	assert_fl(fl_client_add_publication(e->c, "u", 1, true, dl, &p), 0);
	fl_publication_close(p);
	assert_true(WAIT_UNTIL(stats(e)->log_files_unlink_pending == 1, 3000));
	env_stop(e);
	fiu_disable("transport/shm/unlink");
	fl_points_arm(false, false);
}

/* ---- sizes and indices at their edges ----------------------------- */

#define MP      1008u /* mtu 1024 - 16: a fragment's payload */
#define MAX_MSG 8192u /* term 64 KiB / 8: the largest message */

/* Publisher to subscriber through the driver, each message reassembled
 * and compared: k fragments' payload and one byte either side (k = 1..3),
 * the largest message and one byte less; one byte more is FL_EMSGSIZE
 * and the next message still arrives whole. */
static void
message_sizes_at_fragment_edges_end_to_end(void **state)
{
	struct env *e = env_start("fragedge", false);
	struct fl_fragment_assembler fa;
	static uint8_t msg[MAX_MSG + 1], got[MAX_MSG];
	struct test_whole w = { .buf = got, .cap = sizeof(got) };
	size_t sizes[16], n = 0;
	fl_publication *p;
	fl_subscription *s;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

	for (size_t k = 1; k <= 3; k++) {
		sizes[n++] = k * MP - 1;
		sizes[n++] = k * MP;
		sizes[n++] = k * MP + 1;
	}
	sizes[n++] = MAX_MSG - 1;
	sizes[n++] = MAX_MSG;
	sizes[n++] = 1;
	fl_fragment_assembler_init(&fa, test_on_whole, &w);
	assert_fl(fl_client_add_subscription(e->c, "edge", 1, NULL, dl, &s), 0);
	assert_fl(fl_client_add_publication(e->c, "edge", 1, true, dl, &p), 0);
	assert_true(WAIT_UNTIL(fl_publication_is_connected(p) && fl_subscription_is_connected(s),
	                       2000));
	assert_int_equal(fl_publication_max_payload_length(p), MP);
	assert_int_equal(fl_publication_max_message_length(p), MAX_MSG);
	for (size_t i = 0; i < n; i++) {
		size_t len = sizes[i];
		long before = w.n;
		int64_t rc;

		for (size_t k = 0; k < len; k++)
			msg[k] = (uint8_t)(k * 13 + i);
		if (len == 1) /* the last: after a refused one */
			assert_fl(fl_publication_offer(p, msg, MAX_MSG + 1), FL_EMSGSIZE);
		assert_true(
		        WAIT_UNTIL((rc = fl_publication_offer(p, msg, len)) != FL_EBACKPRESSURE ||
		                           (fl_subscription_poll(s, fl_fragment_assembler_handler,
		                                                 &fa, 100),
		                            false),
		                   2000));
		if (rc <= 0)
			fail_msg("offer(%zu) = %s", len, fl_errname((int)rc));
		assert_true(WAIT_UNTIL((fl_subscription_poll(s, fl_fragment_assembler_handler, &fa,
		                                             100),
		                        w.n > before),
		                       2000));
		if (w.n != before + 1 || w.len != len || memcmp(w.buf, msg, len) != 0)
			fail_msg("offer(%zu): %ld messages arrived, the last of %zu bytes%s", len,
			         w.n - before, w.len, w.len == len ? " and other bytes" : "");
	}
	fl_fragment_assembler_fini(&fa);
	fl_publication_close(p);
	fl_subscription_close(s);
	env_stop(e);
}

/* With two images, indices 0 and 1 name both (each once); -1, 2 (one past
 * the last) and INT_MAX are FL_ENOENT and take no reference. */
static void
image_index_first_last_and_past(void **state)
{
	struct env *e = env_start("imgindex", false);
	fl_publication *p[2];
	fl_subscription *s;
	fl_image *img[2], *none = NULL;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;
	int32_t a, b;

	assert_fl(fl_client_add_subscription(e->c, "ix", 1, NULL, dl, &s), 0);
	for (int i = 0; i < 2; i++)
		assert_fl(fl_client_add_publication(e->c, "ix", 1, false, dl, &p[i]), 0);
	assert_true(WAIT_UNTIL(fl_subscription_image_count(s) == 2, 2000));
	assert_fl(fl_subscription_image_at_index(s, -1, &none), FL_ENOENT);
	assert_fl(fl_subscription_image_at_index(s, 2, &none), FL_ENOENT);
	assert_fl(fl_subscription_image_at_index(s, 0x7fffffff, &none), FL_ENOENT);
	assert_null(none);
	assert_int_equal(stats(e)->image_refs_held, 0);
	assert_fl(fl_subscription_image_at_index(s, 0, &img[0]), 0);
	assert_fl(fl_subscription_image_at_index(s, 1, &img[1]), 0);
	assert_int_equal(stats(e)->image_refs_held, 2);
	a = fl_image_session_id(img[0]);
	b = fl_image_session_id(img[1]);
	assert_true(
	        (a == fl_publication_session_id(p[0]) && b == fl_publication_session_id(p[1])) ||
	        (a == fl_publication_session_id(p[1]) && b == fl_publication_session_id(p[0])));
	for (int i = 0; i < 2; i++) {
		assert_fl(fl_image_release(img[i]), 0);
		fl_publication_close(p[i]);
	}
	fl_subscription_close(s);
	env_stop(e);
}

/* Polls with a fragment limit take the images in turn: with three
 * publications each holding messages, three polls of limit 1 deliver one
 * message of each session, whatever image the turn starts at. */
struct by_session {
	int32_t sessions[64];
	int n;
};

static void
note_session(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct by_session *b = arg;

	(void)buf;
	(void)len;
	if (b->n < 64)
		b->sessions[b->n++] = h->session_id;
}

static void
polls_take_images_in_turn(void **state)
{
	struct env *e = env_start("rr", false);
	fl_publication *p[3];
	fl_subscription *s;
	struct by_session got = { { 0 }, 0 };
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;
	int64_t msg = 7;

	assert_fl(fl_client_add_subscription(e->c, "rr", 1, NULL, dl, &s), 0);
	for (int i = 0; i < 3; i++)
		assert_fl(fl_client_add_publication(e->c, "rr", 1, true, dl, &p[i]), 0);
	assert_true(WAIT_UNTIL(fl_subscription_image_count(s) == 3, 2000));
	for (int i = 0; i < 3; i++) {
		assert_true(WAIT_UNTIL(fl_publication_is_connected(p[i]), 2000));
		for (int k = 0; k < 4; k++)
			assert_true(fl_publication_offer(p[i], &msg, sizeof(msg)) > 0);
	}
	/* Twelve polls of one fragment: every window of three holds the three
	 * sessions once each. */
	for (int k = 0; k < 12; k++)
		assert_int_equal(fl_subscription_poll(s, note_session, &got, 1), 1);
	assert_int_equal(fl_subscription_poll(s, note_session, &got, 1), 0);
	for (int k = 0; k + 3 <= got.n; k++) {
		int32_t a = got.sessions[k], b = got.sessions[k + 1], c = got.sessions[k + 2];

		assert_true(a != b && b != c && a != c);
	}
	/* A poll of a larger limit takes from every image too. */
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 2; k++)
			assert_true(fl_publication_offer(p[i], &msg, sizeof(msg)) > 0);
	got.n = 0;
	assert_int_equal(fl_subscription_poll(s, note_session, &got, 6), 6);
	for (int i = 0; i < 3; i++) {
		int seen = 0;

		for (int k = 0; k < got.n; k++)
			seen += got.sessions[k] == fl_publication_session_id(p[i]);
		assert_int_equal(seen, 2);
		fl_publication_close(p[i]);
	}
	fl_subscription_close(s);
	env_stop(e);
}

/* Offers count messages of 16 bytes in sequence (on_msg's stream 0). */
static void
offer_seq(fl_publication *p, int64_t *seq, int count)
{
	for (int k = 0; k < count; k++) {
		int64_t msg[2] = { 0, (*seq)++ };

		assert_true(fl_publication_offer(p, msg, sizeof(msg)) > 0);
	}
}

static void
count_fragment(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	(*(int *)arg)++;
}

/* Offers count messages, then polls s once with limit: its result. */
static int
offer_poll(fl_publication *p, int64_t *seq, fl_subscription *s, struct rx *r, int count, int limit)
{
	offer_seq(p, seq, count);
	return fl_subscription_poll(s, on_msg, r, limit);
}

static void
sleep_us(uint64_t us)
{
	struct timespec ts = { 0, (long)(us * 1000) };

	nanosleep(&ts, NULL);
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* fl_subscription_set_batch: its bad arguments; lone messages (one of
 * three fragments too), polls that reached their limit and reads through
 * fl_image_poll start no wait, and set_batch ends one; after a stream's
 * read, a poll
 * waits while the tail grew since its last look, reads once the tail
 * stopped (at the next look, 2 us on), once a batch stands, and once the
 * delay from its first wait ran out although the tail still grows.  Each
 * step is decided by the clock and what this thread offered, so the
 * counts are exact. */
static void
batched_reads_wait_only_for_a_stream(void **state)
{
	struct env *e = env_start("batch", false);
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS, delay = 200000, first_start,
	         first_end, t;
	fl_publication *p;
	fl_subscription *s;
	fl_image *img;
	struct rx r = { 0 };
	int64_t seq = 0;
	int waits = 0, n;

	assert_fl(fl_client_add_subscription(e->c, "batch", 1, NULL, dl, &s), 0);
	assert_fl(fl_client_add_publication(e->c, "batch", 1, true, dl, &p), 0);
	assert_true(WAIT_UNTIL(fl_publication_is_connected(p), 2000));
	assert_true(WAIT_UNTIL(fl_subscription_image_count(s) == 1, 2000));
	assert_fl(fl_subscription_set_batch(NULL, 4096, delay), FL_EINVAL);
	assert_fl(fl_subscription_set_batch(s, 4096, 0), FL_EINVAL);
	assert_fl(fl_subscription_set_batch(s, 4096, MS + 1), FL_EINVAL);
	assert_fl(fl_subscription_set_batch(s, 0, 0), 0);
	assert_fl(fl_subscription_set_batch(s, 4096, delay), 0);

	/* Lone messages are read at once. */
	for (int k = 0; k < 3; k++)
		assert_int_equal(offer_poll(p, &seq, s, &r, 1, 16), 1);
	/* A poll that reached its limit was behind, not at the heels. */
	assert_int_equal(offer_poll(p, &seq, s, &r, 10, 10), 10);
	assert_int_equal(offer_poll(p, &seq, s, &r, 2, 16), 2);
	/* That read of two was at the heels: the next message waits until a
	 * look finds the tail where the last one left it. */
	assert_int_equal(offer_poll(p, &seq, s, &r, 1, 16), 0);
	sleep_us(20);
	assert_int_equal(offer_poll(p, &seq, s, &r, 0, 16), 1);
	/* A lone message of three fragments (mtu 1024) is no stream. */
	{
		uint8_t big[2500] = { 0 };
		int frags = 0;

		assert_true(fl_publication_offer(p, big, sizeof(big)) > 0);
		assert_int_equal(fl_subscription_poll(s, count_fragment, &frags, 16), 3);
		assert_int_equal(offer_poll(p, &seq, s, &r, 1, 16), 1);
	}
	/* A set_batch call ends a wait begun before it. */
	assert_int_equal(offer_poll(p, &seq, s, &r, 2, 16), 2);
	assert_int_equal(offer_poll(p, &seq, s, &r, 1, 16), 0);
	assert_fl(fl_subscription_set_batch(s, 4096, delay), 0);
	assert_int_equal(offer_poll(p, &seq, s, &r, 1, 16), 2);
	/* That read of two began a stream, but a read through fl_image_poll
	 * since is no stream's. */
	assert_fl(fl_subscription_image_at_index(s, 0, &img), 0);
	offer_seq(p, &seq, 2);
	assert_int_equal(fl_image_poll(img, on_msg, &r, 16), 2);
	assert_fl(fl_image_release(img), 0);
	assert_int_equal(offer_poll(p, &seq, s, &r, 1, 16), 1);
	/* A batch (4096 bytes: 128 frames of 32) is read at once. */
	assert_int_equal(offer_poll(p, &seq, s, &r, 3, 256), 3);
	assert_int_equal(offer_poll(p, &seq, s, &r, 130, 256), 130);
	/* A tail that keeps growing waits the delay, not longer. */
	offer_seq(p, &seq, 1);
	first_start = mono_ns();
	assert_int_equal(fl_subscription_poll(s, on_msg, &r, 256), 0);
	first_end = mono_ns();
	for (n = 0; n == 0 && waits < 100000; waits++) {
		offer_seq(p, &seq, 1);
		sleep_us(20);
		t = mono_ns();
		n = fl_subscription_poll(s, on_msg, &r, 256);
		if (n == 0)
			assert_true(t < first_end + delay);
	}
	assert_true(mono_ns() >= first_start + delay);
	assert_int_equal(n, waits + 1);
	assert_true(waits >= 1 && n < 128);
	assert_int_equal(r.n, seq);
	assert_int_equal(r.errors, 0);
	fl_publication_close(p);
	fl_subscription_close(s);
	env_stop(e);
}

/* The client table (FL_STATS_MAX_CLIENTS records in cnc.dat): the first
 * and the last record both serve a working client; one client more is
 * FL_ELIMIT; a closed record is taken again. */
static void
client_records_first_and_last(void **state)
{
	struct env *e = env_start("clientrec", false);
	struct fl_client_ctx cc;
	fl_client *c[FL_STATS_MAX_CLIENTS], *extra = NULL;
	fl_publication *p;
	fl_subscription *s;
	struct rx r = { 0 };
	int64_t msg[2] = { 0, 0 };
	int64_t id;
	int rc, last = FL_STATS_MAX_CLIENTS - 1;

	agent_client_ctx(&cc, e->ns);
	c[0] = e->c; /* record 0 */
	for (int i = 1; i < FL_STATS_MAX_CLIENTS; i++)
		if ((rc = fl_client_open(&cc, &c[i])) != 0)
			fail_msg("client %d of %d: %s", i + 1, FL_STATS_MAX_CLIENTS,
			         fl_errname(rc));
	assert_fl(fl_client_open(&cc, &extra), FL_ELIMIT);
	assert_null(extra);
	assert_int_equal(stats(e)->client_count, FL_STATS_MAX_CLIENTS);
	/* The driver counts active records on its duty cycle. */
	assert_true(WAIT_UNTIL(stats(e)->active_clients == FL_STATS_MAX_CLIENTS, 2000));
	assert_int_equal(st.clients[0].client_id, fl_client_id(c[0]));
	assert_int_equal(st.clients[last].client_id, fl_client_id(c[last]));
	/* The client in the last record subscribes and receives. */
	assert_fl(fl_client_add_subscription_start(c[last], "rec", 1, NULL, &id), 0);
	assert_true(
	        WAIT_UNTIL((fl_client_do_work(c[last]),
	                    (rc = fl_client_add_subscription_poll(c[last], id, &s)) != FL_EAGAIN),
	                   2000));
	assert_fl(rc, 0);
	assert_fl(fl_client_add_publication(e->c, "rec", 1, true,
	                                    fl_clock_now_ns() + test_ms(2000) * MS, &p),
	          0);
	assert_true(
	        WAIT_UNTIL((fl_client_do_work(c[last]), fl_subscription_is_connected(s)), 2000));
	assert_true(WAIT_UNTIL(fl_publication_is_connected(p), 2000));
	assert_true(fl_publication_offer(p, msg, sizeof(msg)) > 0);
	assert_true(WAIT_UNTIL((fl_client_do_work(c[last]), fl_subscription_poll(s, on_msg, &r, 10),
	                        r.n == 1),
	                       2000));
	assert_int_equal(r.errors, 0);
	assert_int_equal(stats(e)->clients[last].registrations, 1);
	fl_subscription_close(s);
	fl_publication_close(p);
	/* The last record, closed (once the driver took the close), is
	 * taken by the next client. */
	fl_client_close(c[last]);
	assert_true(WAIT_UNTIL(stats(e)->clients[last].state == FL_CLIENT_CLOSED, 2000));
	assert_fl(fl_client_open(&cc, &c[last]), 0);
	assert_int_equal(stats(e)->clients[last].client_id, fl_client_id(c[last]));
	assert_fl(fl_client_open(&cc, &extra), FL_ELIMIT);
	for (int i = 1; i < FL_STATS_MAX_CLIENTS; i++)
		fl_client_close(c[i]);
	env_stop(e);
}

struct errs {
	int n;
	int last;
	char what[128];
};

static void
record_error(void *arg, int err, const char *what)
{
	struct errs *x = arg;

	x->n++;
	x->last = err;
	snprintf(x->what, sizeof(x->what), "%s", what);
}

static void
pump(struct env *e, fl_client *c)
{
	fl_driver_do_work(e->d);
	fl_client_do_work(c);
}

/* A publication's subscriber slots (FL_LOG_MAX_SUBS in its log): 64
 * subscriptions take slots 0 to 63 (the log says whose each is) and all
 * receive; the 65th gets no image and FL_ELIMIT; a freed last slot is
 * taken again.  Agent driver and client: this thread runs both. */
static void
subscriber_slots_first_and_last(void **state)
{
	struct env *e = env_start("subslots", true);
	struct errs errs = { 0 };
	struct fl_client_ctx cc;
	fl_client *c;
	fl_publication *p;
	fl_subscription *s[FL_LOG_MAX_SUBS + 1];
	int64_t reg[FL_LOG_MAX_SUBS + 1], msg[2] = { 0, 0 };
	struct fli_shm m = { 0 };
	struct fli_log_meta *meta;
	int rc, last = FL_LOG_MAX_SUBS - 1;

	agent_client_ctx(&cc, e->ns);
	cc.error_handler = record_error;
	cc.error_arg = &errs;
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_fl(fl_client_add_publication_start(c, "slots", 1, true, &reg[0]), 0);
	assert_true(WAIT_UNTIL((pump(e, c),
	                        (rc = fl_client_add_publication_poll(c, reg[0], &p)) != FL_EAGAIN),
	                       2000));
	assert_fl(rc, 0);
	for (int i = 0; i <= FL_LOG_MAX_SUBS; i++) {
		assert_fl(fl_client_add_subscription_start(c, "slots", 1, NULL, &reg[i]), 0);
		assert_true(WAIT_UNTIL((pump(e, c),
		                        (rc = fl_client_add_subscription_poll(c, reg[i], &s[i])) !=
		                                FL_EAGAIN),
		                       2000));
		assert_fl(rc, 0);
	}
	assert_true(WAIT_UNTIL((pump(e, c), errs.n > 0), 2000));
	for (int i = 0; i < FL_LOG_MAX_SUBS; i++)
		if (fl_subscription_image_count(s[i]) != 1)
			fail_msg("subscription %d: %d images", i,
			         fl_subscription_image_count(s[i]));
	assert_int_equal(fl_subscription_image_count(s[FL_LOG_MAX_SUBS]), 0);
	assert_int_equal(errs.n, 1);
	assert_fl(errs.last, FL_ELIMIT);
	meta = map_log_meta(e, p, false, &m);
	assert_int_equal(meta->subscriber_count, FL_LOG_MAX_SUBS);
	assert_int_equal(meta->slots[0].sub_reg_id, reg[0]);
	assert_int_equal(meta->slots[last].sub_reg_id, reg[last]);
	/* Every slot holds the publisher back, so each receives. */
	assert_true(fl_publication_offer(p, msg, sizeof(msg)) > 0);
	for (int i = 0; i < FL_LOG_MAX_SUBS; i++) {
		struct rx r = { 0 };

		assert_true(WAIT_UNTIL((pump(e, c), fl_subscription_poll(s[i], on_msg, &r, 10),
		                        r.n == 1),
		                       2000));
	}
	/* The last slot freed, a new subscription takes it. */
	assert_fl(fl_subscription_close(s[last]), 0);
	assert_true(WAIT_UNTIL((pump(e, c), meta->subscriber_count == FL_LOG_MAX_SUBS - 1), 2000));
	assert_fl(fl_client_add_subscription_start(c, "slots", 1, NULL, &reg[last]), 0);
	assert_true(WAIT_UNTIL((pump(e, c),
	                        (rc = fl_client_add_subscription_poll(c, reg[last], &s[last])) !=
	                                FL_EAGAIN),
	                       2000));
	assert_fl(rc, 0);
	assert_true(WAIT_UNTIL((pump(e, c), fl_subscription_image_count(s[last]) == 1), 2000));
	assert_int_equal(meta->slots[last].sub_reg_id, reg[last]);
	fli_shm_unmap(&m);
	for (int i = 0; i <= FL_LOG_MAX_SUBS; i++)
		fl_subscription_close(s[i]);
	fl_publication_close(p);
	fl_client_close(c);
	fl_driver_close(e->d);
	assert_int_equal(access(e->dir, F_OK), -1);
	free(e);
}

/* Adds a publication (pub) or subscription on channel name, agent style;
 * returns the add's result. */
static int
add_sync(struct env *e, fl_client *c, bool pub, const char *name, void **out)
{
	int64_t id;
	int rc = pub ? fl_client_add_publication_start(c, name, 1, true, &id)
	             : fl_client_add_subscription_start(c, name, 1, NULL, &id);

	if (rc != 0)
		return rc;
	do {
		pump(e, c);
		rc = pub ? fl_client_add_publication_poll(c, id, (fl_publication **)out)
		         : fl_client_add_subscription_poll(c, id, (fl_subscription **)out);
	} while (rc == FL_EAGAIN);
	return rc;
}

/* The driver's publication and subscription tables (1024 each, driver.c
 * MAX_PUBS, MAX_SUBS): the 1024th add works, the 1025th is FL_ELIMIT and
 * leaves nothing; a freed last entry is taken again.  Channels are
 * distinct, so no images (1024 logs of 64 KiB, sparse). */
#define DRV_TABLE 1024

static void
driver_tables_first_and_last(void **state)
{
	struct env *e = env_start("drvtables", true);
	struct fl_client_ctx cc;
	fl_client *c;
	static fl_publication *p[DRV_TABLE + 1];
	static fl_subscription *s[DRV_TABLE + 1];
	char name[32];
	int rc;

	agent_client_ctx(&cc, e->ns);
	assert_fl(fl_client_open(&cc, &c), 0);
	for (int i = 0; i <= DRV_TABLE; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		rc = add_sync(e, c, true, name, (void **)&p[i]);
		if (rc != (i < DRV_TABLE ? 0 : FL_ELIMIT))
			fail_msg("publication %d of %d: %s", i + 1, DRV_TABLE, fl_errname(rc));
		snprintf(name, sizeof(name), "s%d", i);
		rc = add_sync(e, c, false, name, (void **)&s[i]);
		if (rc != (i < DRV_TABLE ? 0 : FL_ELIMIT))
			fail_msg("subscription %d of %d: %s", i + 1, DRV_TABLE, fl_errname(rc));
	}
	pump(e, c);
	assert_int_equal(stats(e)->publications, DRV_TABLE);
	assert_int_equal(st.subscriptions, DRV_TABLE);
	assert_int_equal(st.log_files, DRV_TABLE);
	assert_int_equal(st.clients[0].registrations, 2 * DRV_TABLE);
	assert_int_equal(st.clients[0].pending_registrations, 0);
	/* The last of each, closed, makes room for one more. */
	assert_fl(fl_publication_close(p[DRV_TABLE - 1]), 0);
	assert_fl(fl_subscription_close(s[DRV_TABLE - 1]), 0);
	pump(e, c);
	assert_fl(add_sync(e, c, true, "again", (void **)&p[DRV_TABLE - 1]), 0);
	assert_fl(add_sync(e, c, false, "again-s", (void **)&s[DRV_TABLE - 1]), 0);
	assert_fl(add_sync(e, c, true, "one-more", (void **)&p[DRV_TABLE]), FL_ELIMIT);
	for (int i = 0; i < DRV_TABLE; i++) {
		fl_publication_close(p[i]);
		fl_subscription_close(s[i]);
	}
	fl_client_close(c);
	fl_driver_close(e->d);
	assert_int_equal(access(e->dir, F_OK), -1);
	free(e);
}

/* Checks a listed add against what was started. */
static void
check_add(const struct fl_client_add_info *a, int64_t reg_id, bool pub, bool answered,
          int32_t stream_id, const char *channel)
{
	assert_int_equal(a->reg_id, reg_id);
	assert_int_equal(a->publication, pub);
	assert_int_equal(a->answered, answered);
	assert_int_equal(a->stream_id, stream_id);
	assert_string_equal(a->channel, channel);
}

/* fl_client_outstanding_adds lists the adds nobody collected, oldest
 * first: unanswered while the (agent) driver has not run, answered once it
 * ran and the client saw the answer; a poll to the end or a cancel takes
 * one off; a cap below the count copies cap and returns the count.  The
 * longest channel name is copied whole. */
static void
outstanding_adds_listed_until_collected(void **state)
{
	struct env *e = env_start("outadds", true);
	struct fl_client_add_info a[4], sentinel;
	struct fl_client_ctx cc;
	fl_client *c;
	fl_subscription *s;
	fl_publication *p;
	char longest[FL_NAME_MAX + 1];
	int64_t sid, pid, id3;

	(void)state;
	memset(longest, 'n', FL_NAME_MAX);
	longest[FL_NAME_MAX] = '\0';
	agent_client_ctx(&cc, e->ns);
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_int_equal(fl_client_outstanding_adds(c, a, 4), 0);
	assert_int_equal(fl_client_outstanding_adds(c, NULL, 0), 0);
	assert_fl(fl_client_outstanding_adds(NULL, a, 4), FL_EINVAL);
	assert_fl(fl_client_outstanding_adds(c, a, -1), FL_EINVAL);
	assert_fl(fl_client_outstanding_adds(c, NULL, 1), FL_EINVAL);

	assert_fl(fl_client_add_subscription_start(c, "out-s", 7, NULL, &sid), 0);
	assert_fl(fl_client_add_publication_start(c, longest, 9, false, &pid), 0);
	/* Neither driver nor client ran: both unanswered, oldest first. */
	assert_int_equal(fl_client_outstanding_adds(c, a, 4), 2);
	check_add(&a[0], sid, false, false, 7, "out-s");
	check_add(&a[1], pid, true, false, 9, longest);
	/* A cap below the count: the oldest cap copied, the count returned,
	 * nothing written past cap. */
	memset(&a[1], 0x5a, sizeof(a[1]));
	sentinel = a[1];
	assert_int_equal(fl_client_outstanding_adds(c, a, 1), 2);
	check_add(&a[0], sid, false, false, 7, "out-s");
	assert_memory_equal(&a[1], &sentinel, sizeof(sentinel));
	assert_int_equal(fl_client_outstanding_adds(c, NULL, 0), 2);

	/* The driver answers both; polled by nobody, they stay listed. */
	assert_true(WAIT_UNTIL((pump(e, c), fl_client_outstanding_adds(c, a, 4) == 2 &&
	                                            a[0].answered && a[1].answered),
	                       2000));
	check_add(&a[0], sid, false, true, 7, "out-s");
	check_add(&a[1], pid, true, true, 9, longest);
	assert_int_equal(stats(e)->clients[0].registrations, 2);

	/* A third add, unanswered, after the answered ones. */
	assert_fl(fl_client_add_subscription_start(c, "out-3", 3, NULL, &id3), 0);
	assert_int_equal(fl_client_outstanding_adds(c, a, 4), 3);
	check_add(&a[2], id3, false, false, 3, "out-3");
	/* The oldest polled to its end: off the list, the rest in order. */
	assert_fl(fl_client_add_subscription_poll(c, sid, &s), 0);
	assert_int_equal(fl_client_outstanding_adds(c, a, 4), 2);
	check_add(&a[0], pid, true, true, 9, longest);
	check_add(&a[1], id3, false, false, 3, "out-3");
	/* Cancelled, answered or not: off the list. */
	assert_fl(fl_client_cancel(c, pid), 0);
	assert_int_equal(fl_client_outstanding_adds(c, a, 4), 1);
	check_add(&a[0], id3, false, false, 3, "out-3");
	assert_fl(fl_client_cancel(c, id3), 0);
	assert_int_equal(fl_client_outstanding_adds(c, a, 4), 0);
	assert_fl(fl_client_add_publication_poll(c, pid, &p), FL_ENOENT);

	/* The driver ends up holding only the polled subscription. */
	assert_true(WAIT_UNTIL((pump(e, c), stats(e)->clients[0].registrations == 1 &&
	                                            st.publications == 0 && st.log_files == 0 &&
	                                            st.clients[0].pending_registrations == 0),
	                       2000));
	assert_int_equal(fl_client_outstanding_adds(c, a, 4), 0);
	assert_fl(fl_subscription_close(s), 0);
	fl_client_close(c);
	fl_driver_close(e->d);
	assert_int_equal(access(e->dir, F_OK), -1);
	free(e);
}

/* An add the driver answers with an error (its registration fault point)
 * holds nothing in the driver and leaves the list, though its poll still
 * reports the error. */
static void
outstanding_adds_omit_an_error_answer(void **state)
{
	struct env *e;
	struct fl_client_add_info a[2];
	struct fl_client_ctx cc;
	fl_client *c;
	fl_publication *p;
	int64_t id, ok;

	(void)state;
#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled compiles the points out */
#endif
	e = env_start("outadderr", true);
	agent_client_ctx(&cc, e->ns);
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_fl(fl_client_add_publication_start(c, "out-err", 5, true, &id), 0);
	assert_int_equal(fl_client_outstanding_adds(c, a, 2), 1);
	check_add(&a[0], id, true, false, 5, "out-err");
	fiu_init(0);
	fiu_enable("transport/driver/registration", 1, NULL, 0);
	fl_points_arm(false, true);
	assert_true(WAIT_UNTIL((pump(e, c), fl_client_outstanding_adds(c, a, 2) == 0), 2000));
	fl_points_arm(false, false);
	fiu_disable("transport/driver/registration");
	/* Still there to collect, with its error. */
	assert_fl(fl_client_add_publication_poll(c, id, &p), FL_EFAULT_INJECTED);
	assert_fl(fl_client_add_publication_poll(c, id, &p), FL_ENOENT);
	/* Listed again once the driver registers normally. */
	assert_fl(fl_client_add_publication_start(c, "out-err", 5, true, &ok), 0);
	assert_true(
	        WAIT_UNTIL((pump(e, c), fl_client_outstanding_adds(c, a, 2) == 1 && a[0].answered),
	                   2000));
	check_add(&a[0], ok, true, true, 5, "out-err");
	assert_int_equal(stats(e)->clients[0].registrations, 1);
	assert_fl(fl_client_add_publication_poll(c, ok, &p), 0);
	assert_int_equal(fl_client_outstanding_adds(c, a, 2), 0);
	fl_publication_close(p);
	fl_client_close(c);
	fl_driver_close(e->d);
	assert_int_equal(access(e->dir, F_OK), -1);
	free(e);
}

/* An image event naming slot -1 or FL_LOG_MAX_SUBS (one past the last),
 * as a corrupt broadcast could, is refused with FL_EPROTO: no image, no
 * access to a slot that does not exist.  The forged events are sent while
 * the (agent) driver is idle, so the broadcast has one transmitter. */
static void
forged_image_slot_is_refused(void **state)
{
	static const int bad_slot[2] = { -1, FL_LOG_MAX_SUBS };
	struct env *e = env_start("forgedslot", true);
	struct errs errs = { 0 };
	struct fl_client_ctx cc;
	struct fli_shm m = { 0 };
	struct fli_bcast bc;
	struct fli_cnc_header *h;
	fl_client *c;
	fl_publication *p;
	fl_subscription *s;
	int64_t pid, sid;
	int rc;

	agent_client_ctx(&cc, e->ns);
	cc.error_handler = record_error;
	cc.error_arg = &errs;
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_fl(fl_client_add_publication_start(c, "forged-p", 1, true, &pid), 0);
	assert_true(WAIT_UNTIL((pump(e, c),
	                        (rc = fl_client_add_publication_poll(c, pid, &p)) != FL_EAGAIN),
	                       2000));
	assert_fl(rc, 0);
	/* A subscription on another channel: no real image of p's log. */
	assert_fl(fl_client_add_subscription_start(c, "forged-s", 1, NULL, &sid), 0);
	assert_true(WAIT_UNTIL((pump(e, c),
	                        (rc = fl_client_add_subscription_poll(c, sid, &s)) != FL_EAGAIN),
	                       2000));
	assert_fl(rc, 0);
	h = map_cnc(e->ns, &m);
	fli_bcast_init(&bc, (uint8_t *)m.addr + h->bc_offset, h->bc_length, 0);
	for (int k = 0; k < 2; k++) {
		struct fli_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.version = FL_FRAME_VERSION;
		ev.client_id = fl_client_id(c);
		ev.corr_id = sid;
		ev.log_id = fl_publication_registration_id(p);
		ev.session_id = fl_publication_session_id(p);
		ev.stream_id = 1;
		ev.slot = bad_slot[k];
		errs.n = 0;
		assert_fl(fli_bcast_transmit(&bc, FL_EV_IMAGE_AVAILABLE, &ev, sizeof(ev)), 0);
		assert_true(WAIT_UNTIL((fl_client_do_work(c), errs.n > 0), 2000));
		if (errs.last != FL_EPROTO || strstr(errs.what, "slot") == NULL)
			fail_msg("slot %d: reported %s (%s), want FL_EPROTO for the slot",
			         bad_slot[k], fl_errname(errs.last), errs.what);
		assert_int_equal(fl_subscription_image_count(s), 0);
	}
	fli_shm_unmap(&m);
	fl_subscription_close(s);
	fl_publication_close(p);
	fl_client_close(c);
	fl_driver_close(e->d);
	assert_int_equal(access(e->dir, F_OK), -1);
	free(e);
}

/* A wild write over cnc.dat's header (a ring offset or length, the
 * version, the magic, the closed flag) refuses new clients (FL_EPROTO,
 * FL_EDRIVER_TIMEOUT) only until the driver's next duty cycle, which puts
 * the header back from its own copy. */
static void
scribbled_cnc_header_is_repaired(void **state)
{
	static const struct {
		const char *name;
		size_t off;
		int width;
		uint64_t value;
		int refused;
	} cases[] = {
		{ "version", offsetof(struct fli_cnc_header, version), 4, 99, FL_EPROTO },
		{ "magic", offsetof(struct fli_cnc_header, magic), 8, 0, FL_EPROTO },
		{ "counters_offset", offsetof(struct fli_cnc_header, counters_offset), 8, 0,
		  FL_EPROTO },
		{ "cmd_offset", offsetof(struct fli_cnc_header, cmd_offset), 8, 12345, FL_EPROTO },
		{ "bc_length", offsetof(struct fli_cnc_header, bc_length), 8, 1ull << 40,
		  FL_EPROTO },
		{ "driver_closed", offsetof(struct fli_cnc_header, driver_closed), 4, 1,
		  FL_EDRIVER_TIMEOUT },
	};
	struct env *e = env_start("cncscrib", true);
	struct fli_cnc_header saved;
	struct fl_client_ctx cc;
	struct fli_shm m = { 0 };
	fl_client *c;
	int rc, bad = 0;

	(void)state;
	map_cnc(e->ns, &m);
	memcpy(&saved, m.addr, sizeof(saved));
	fl_client_ctx_init(&cc);
	cc.ns = e->ns;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		test_scribble_write(m.addr, cases[k].off, cases[k].width, cases[k].value);
		rc = fl_client_open(&cc, &c);
		if (rc != cases[k].refused) {
			fprintf(stderr, "%s scribbled: open = %s, want %s\n", cases[k].name,
			        fl_errname(rc), fl_errname(cases[k].refused));
			bad++;
			if (rc == 0)
				fl_client_close(c);
		}
		fl_driver_do_work(e->d);
		rc = fl_client_open(&cc, &c);
		if (rc != 0) {
			fprintf(stderr, "%s scribbled, one duty cycle later: open = %s\n",
			        cases[k].name, fl_errname(rc));
			bad++;
			memcpy(m.addr, &saved, sizeof(saved)); /* for the next case */
		} else {
			fl_client_close(c);
		}
		fl_driver_do_work(e->d);
	}
	test_scribble_verdict(bad, cases);
	/* One put back per scribbled field. */
	assert_int_equal(stats(e)->corrupt_reads, (int64_t)(sizeof(cases) / sizeof(cases[0])));
	fli_shm_unmap(&m);
	env_stop(e);
}

/* What a client or a stats reader saw of the namespace while the driver
 * was still starting (from an extension's start(), the last step before
 * cnc.dat is published). */
static struct {
	const char *ns, *dir;
	int open_rc, stats_rc, fail_with;
	bool cnc_seen, new_seen;
} starting;

static int
starting_ext_start(struct fl_driver *d, void **state)
{
	struct fl_client_ctx cc;
	struct fl_stats gauges;
	char path[320];
	fl_client *c = NULL;

	(void)d;
	*state = NULL;
	fl_client_ctx_init(&cc);
	cc.ns = starting.ns;
	starting.open_rc = fl_client_open(&cc, &c);
	if (starting.open_rc == 0)
		fl_client_close(c);
	starting.stats_rc = fl_stats_read(starting.ns, &gauges);
	snprintf(path, sizeof(path), "%s/%s", starting.dir, FL_CNC_FILE);
	starting.cnc_seen = access(path, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/%s", starting.dir, FL_CNC_NEW_FILE);
	starting.new_seen = access(path, F_OK) == 0;
	return starting.fail_with;
}

/* A client that opens the namespace while its driver starts finds no
 * cnc.dat (FL_ENOENT), never one whose header is not written yet: that
 * it would take for corruption (FL_EPROTO), as a daemon's node did when
 * started the moment cnc.dat appeared.  A start that fails after the
 * header is written leaves nothing behind. */
static void
cnc_appears_only_whole(void **state)
{
	static const struct fl_driver_ext ext = { .name = "starting", .start = starting_ext_start };
	const struct fl_driver_ext *exts[] = { &ext };
	struct fl_driver_ctx dc;
	struct fl_client_ctx cc;
	char ns[64], dir[256];
	fl_driver *d;
	fl_client *c;

	(void)state;
	test_ns(ns, sizeof(ns), "whole");
	fl_run_dir_path(ns, dir, sizeof(dir));
	starting.ns = ns;
	starting.dir = dir;
	test_driver_ctx(&dc, ns);
	dc.no_thread = true;
	dc.extensions = exts;
	dc.extension_count = 1;
	starting.fail_with = FL_EIO;
	assert_fl(fl_driver_start(&dc, &d), FL_EIO);
	assert_int_equal(access(dir, F_OK), -1);
	starting.fail_with = 0;
	assert_fl(fl_driver_start(&dc, &d), 0);
	assert_fl(starting.open_rc, FL_ENOENT);
	assert_fl(starting.stats_rc, FL_ENOENT);
	assert_false(starting.cnc_seen);
	assert_true(starting.new_seen);
	fl_client_ctx_init(&cc);
	cc.ns = ns;
	assert_fl(fl_client_open(&cc, &c), 0);
	fl_client_close(c);
	fl_driver_close(d);
	assert_int_equal(access(dir, F_OK), -1);
}

/* Only the driver ends an active client.  A record written away under a
 * live client (its state set to closed by a wild write) must not strand
 * what the client holds: the driver goes by its own table of who was
 * active, reclaims the client's publication and log, and counts the
 * write.  (Before, the publication and its log stayed for good.) */
static void
vanished_client_is_reclaimed(void **state)
{
	struct env *e = env_start("vanish", false);
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;
	struct fli_cnc_counters *g;
	struct fli_shm m = { 0 };
	fl_publication *p;
	int i, found = 0;

	(void)state;
	assert_fl(fl_client_add_publication(e->c, "vanish", 1, true, dl, &p), 0);
	assert_true(WAIT_UNTIL(stats(e)->publications == 1 && st.log_files == 1, 2000));
	g = fli_cnc_counters(map_cnc(e->ns, &m));
	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++)
		if (__atomic_load_n(&g->clients[i].state, __ATOMIC_ACQUIRE) == FL_CLIENT_ACTIVE &&
		    g->clients[i].pid == (int32_t)getpid()) {
			__atomic_store_n(&g->clients[i].state, FL_CLIENT_CLOSED, __ATOMIC_RELEASE);
			found++;
		}
	assert_int_equal(found, 1);
	assert_true(WAIT_UNTIL(stats(e)->publications == 0 && st.log_files == 0, 5000));
	assert_int_equal(st.corrupt_reads, 1); /* the one vanished client */
	fl_publication_close(p);
	fli_shm_unmap(&m);
	env_stop(e);
}

/* A client record's heartbeat is the client's own word, but any process
 * can write it.  Moved back (0), it must not end the live client: before,
 * the driver's next look timed it out.  Moved into the future on a record
 * some wild write made active, it must not keep that record active for
 * ever: before, no timeout ever came (the age of a future heartbeat is
 * not counted) and active_clients never went back to 0. */
static void
wild_heartbeat_neither_ends_nor_keeps_a_client(void **state)
{
	char ns[64];
	struct fl_client_ctx cc;
	struct fli_cnc_counters *g;
	struct fli_shm m = { 0 };
	fl_driver *d;
	fl_client *c;
	int i, mine = -1, spare = -1;

	(void)state;
	d = start_agent_driver(ns, sizeof(ns), "wildhb", 50 * MS);
	agent_client_ctx(&cc, ns);
	cc.heartbeat_interval_ns = MS;
	assert_fl(fl_client_open(&cc, &c), 0);
	fl_driver_do_work(d);
	g = fli_cnc_counters(map_cnc(ns, &m));
	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++) {
		uint32_t s = __atomic_load_n(&g->clients[i].state, __ATOMIC_ACQUIRE);

		if (s == FL_CLIENT_ACTIVE && g->clients[i].client_id == fl_client_id(c))
			mine = i;
		else if (s == FL_CLIENT_FREE && spare < 0)
			spare = i;
	}
	assert_true(mine >= 0 && spare >= 0);

	/* The live client's heartbeat moved back. */
	__atomic_store_n(&g->clients[mine].heartbeat_ns, 0, __ATOMIC_RELEASE);
	fl_driver_do_work(d);
	assert_fl(fl_stats_read(ns, &st), 0);
	assert_int_equal(st.client_timeouts, 0);
	(void)fl_client_do_work(c);
	assert_int_equal(fl_client_status(c), 0);

	/* A free record made active, its heartbeat in the future, its pid a
	 * live process's (this one): only the timeout can end it. */
	g->clients[spare].client_id = 1ull << 39;
	g->clients[spare].pid = (int32_t)getpid();
	g->clients[spare].pid_ns = fl_pid_ns();
	g->clients[spare].heartbeat_ns = UINT64_MAX;
	__atomic_store_n(&g->clients[spare].state, FL_CLIENT_ACTIVE, __ATOMIC_RELEASE);
	fl_driver_do_work(d);
	assert_fl(fl_stats_read(ns, &st), 0);
	assert_int_equal(st.active_clients, 2);
	fl_idle_sleep_until(fl_clock_now_ns() + 80 * MS);
	(void)fl_client_do_work(c); /* the live one beats */
	fl_driver_do_work(d);
	assert_fl(fl_stats_read(ns, &st), 0);
	assert_int_equal(st.client_timeouts, 1);
	assert_int_equal(st.active_clients, 1);
	assert_int_equal(__atomic_load_n(&g->clients[spare].state, __ATOMIC_ACQUIRE),
	                 FL_CLIENT_TIMED_OUT);
	assert_int_equal(fl_client_status(c), 0);
	fli_shm_unmap(&m);
	fl_client_close(c);
	fl_driver_close(d);
}

/* A record that shows a client active under id 0 (a free record, its
 * state written by a wild write: no client has id 0, and a client writes
 * its id before its state) was skipped by the driver for ever, yet
 * counted in active_clients: the gauge never went back to 0 and the
 * record was never free again.  The driver ends it. */
static void
active_record_without_id_is_ended(void **state)
{
	char ns[64];
	struct fli_cnc_counters *g;
	struct fli_shm m = { 0 };
	fl_driver *d;

	(void)state;
	d = start_agent_driver(ns, sizeof(ns), "activeid0", 3600 * SEC);
	g = fli_cnc_counters(map_cnc(ns, &m));
	__atomic_store_n(&g->clients[5].state, FL_CLIENT_ACTIVE, __ATOMIC_RELEASE);
	fl_driver_do_work(d);
	assert_fl(fl_stats_read(ns, &st), 0);
	assert_int_equal(st.active_clients, 0);
	assert_int_equal(st.corrupt_reads, 1); /* the record ended */
	assert_int_equal(__atomic_load_n(&g->clients[5].state, __ATOMIC_ACQUIRE),
	                 FL_CLIENT_TIMED_OUT);
	fli_shm_unmap(&m);
	fl_driver_close(d);
}

/* A subscriber slot's client id and registration are the driver's words
 * (it writes them when it links an image); the subscriber writes its
 * position back only while the registration is its own, and only when it
 * moved on.  One wild write to the registration or to the position of a
 * live slot stopped the publisher at backpressure for good, once the
 * subscriber had read all there was: the driver puts the registration
 * back as it does the slot's state, and the subscriber writes its
 * position back whenever the slot shows another. */
static void
wild_slot_registration_or_position_is_put_back(void **state)
{
	struct env *e = env_start("slotreg", false);
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;
	struct fli_log_meta *meta;
	struct fli_shm m = { 0 };
	fl_publication *p;
	fl_subscription *s;
	struct rx r = { 0 };
	int64_t msg[128] = { 0 };
	long sent = 0, n = 64 * 4; /* four rings' worth of 1 KiB messages */

	(void)state;
	assert_fl(fl_client_add_subscription(e->c, "slotreg", 1, NULL, dl, &s), 0);
	assert_fl(fl_client_add_publication(e->c, "slotreg", 1, true, dl, &p), 0);
	assert_true(WAIT_UNTIL(fl_publication_is_connected(p) && fl_subscription_is_connected(s),
	                       2000));
	meta = map_log_meta(e, p, true, &m);
	assert_int_equal(__atomic_load_n(&meta->slots[0].state, __ATOMIC_ACQUIRE), FL_SLOT_ACTIVE);
	__atomic_fetch_add(&meta->slots[0].sub_reg_id, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&meta->slots[0].client_id, 0, __ATOMIC_RELEASE);
	/* Offers in sequence and polls, until n were received. */
	assert_true(WAIT_UNTIL((msg[1] = sent, sent += fl_publication_offer(p, msg, 1000 - 16) > 0,
	                        fl_subscription_poll(s, on_msg, &r, 100), r.n >= n),
	                       2000));
	/* The slot's position (the subscriber's word) moved back: its next
	 * poll writes its own again. */
	__atomic_store_n(&meta->slots[0].position, 0, __ATOMIC_RELEASE);
	assert_true(WAIT_UNTIL((msg[1] = sent, sent += fl_publication_offer(p, msg, 1000 - 16) > 0,
	                        fl_subscription_poll(s, on_msg, &r, 100), r.n >= 2 * n),
	                       2000));
	assert_int_equal(r.errors, 0);
	/* The two driver words scribbled (sub_reg_id, client_id), each put
	 * back once; the position is the subscriber's, not counted. */
	assert_int_equal(stats(e)->corrupt_reads, 2);
	fli_shm_unmap(&m);
	assert_fl(fl_publication_close(p), 0);
	assert_fl(fl_subscription_close(s), 0);
	env_stop(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(exchange_and_gauges),
		cmocka_unit_test(pre_touch_exchange),
		cmocka_unit_test(image_not_freed_under_a_starved_poll),
		cmocka_unit_test(image_not_freed_under_a_nested_poll),
		cmocka_unit_test_teardown(image_not_freed_under_a_starved_poll_counted,
		                          unset_no_membarrier),
		cmocka_unit_test(image_refs_and_linger),
		cmocka_unit_test(async_add_cancel),
		cmocka_unit_test(dropped_response_times_out_and_leaves_nothing),
		cmocka_unit_test(bad_input),
		cmocka_unit_test(garbage_in_command_ring),
		cmocka_unit_test(second_driver_refused_and_stale_dir_cleaned),
		cmocka_unit_test(driver_and_client_timeouts),
		cmocka_unit_test(driver_stall_not_client_silence),
		cmocka_unit_test(client_timed_out_by_driver),
		cmocka_unit_test(false_driver_timeout_close_reclaims),
		cmocka_unit_test(concurrent_publication),
		cmocka_unit_test(late_subscriber_starts_at_tail),
		cmocka_unit_test(failed_unlink_is_retried),
		cmocka_unit_test(message_sizes_at_fragment_edges_end_to_end),
		cmocka_unit_test(image_index_first_last_and_past),
		cmocka_unit_test(polls_take_images_in_turn),
		cmocka_unit_test(batched_reads_wait_only_for_a_stream),
		cmocka_unit_test(client_records_first_and_last),
		cmocka_unit_test(subscriber_slots_first_and_last),
		cmocka_unit_test(forged_image_slot_is_refused),
		cmocka_unit_test(driver_tables_first_and_last),
		cmocka_unit_test(outstanding_adds_listed_until_collected),
		cmocka_unit_test(outstanding_adds_omit_an_error_answer),
		cmocka_unit_test(scribbled_cnc_header_is_repaired),
		cmocka_unit_test(cnc_appears_only_whole),
		cmocka_unit_test(vanished_client_is_reclaimed),
		cmocka_unit_test(wild_heartbeat_neither_ends_nor_keeps_a_client),
		cmocka_unit_test(wild_slot_registration_or_position_is_put_back),
		cmocka_unit_test(active_record_without_id_is_ended),
	};

	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
