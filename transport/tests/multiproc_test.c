/*
 * Multi-process tests over real shared memory: publisher and subscriber
 * processes exchanging messages of mixed sizes (content verified, no loss,
 * duplication or reordering), a subscriber SIGKILLed while holding image
 * references, a publisher killed in the middle of a claim, a client
 * outliving its driver, a client killed at random points of its work.
 *
 *   multiproc_test            the default cases (10^5 messages)
 *   multiproc_test million    the 10^6-message exchange (suite 'slow')
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "fl_test.h"
#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/stats.h"
#include "shm.h"

#define SEC    FL_NS_PER_SEC
#define MS     FL_NS_PER_MS
#define MAXLEN 12000

static long n_messages;

#define WAIT_UNTIL_P(cond, ms) WAIT_UNTIL((pump(), (cond)), under_valgrind() ? (ms)*20 : (ms))

/* Timeouts: memcheck serialises a process's threads, so a spinning thread
 * can starve a conductor for a long time; liveness is scaled up there.
 * Liveness is long (a loaded machine can starve a live process for
 * seconds): the driver finds a killed client, and a client its killed
 * driver, by pid within milliseconds, so no test waits it out. */
#define LIVENESS (3600 * SEC) /* longer than any wait: a reclaim seen is by pid */
static uint64_t
scaled(uint64_t ns)
{
	return under_valgrind() ? ns * 20 : ns;
}

/* Driver run agent style in the test process, so the process has no
 * extra thread when it forks (a forked child cannot join its parent's
 * threads, and memcheck would count their stacks as lost). */
static fl_driver *pump_driver;

static void
pump(void)
{
	if (pump_driver != NULL)
		fl_driver_do_work(pump_driver);
}

/* Waits for pid up to timeout_ms, running the driver; kills it after.
 * Returns exit code or 128 + signal, -1 on timeout. */
static int
wait_child(pid_t pid, int timeout_ms)
{
	uint64_t dl = fl_clock_now_ns() + test_ms((uint64_t)timeout_ms) * MS;
	struct fl_idle idle = { 0 };
	int status;

	while (fl_clock_now_ns() < dl) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		pump();
		fl_idle(&idle, 0, fl_clock_now_ns() + MS);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Reads one byte from fd (made non-blocking), running the driver. */
static int
wait_ready(int fd, int timeout_ms)
{
	uint64_t dl = fl_clock_now_ns() + test_ms((uint64_t)timeout_ms) * MS;
	char ch;
	struct fl_idle idle = { 0 };

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (fl_clock_now_ns() < dl) {
		if (read(fd, &ch, 1) == 1)
			return 0;
		pump();
		fl_idle(&idle, 0, fl_clock_now_ns() + MS);
	}
	return -1;
}

static size_t
msg_len(long i)
{
	static const size_t sizes[] = { 8, 24, 100, 333, 1000, 4000, 11000, 17 };

	return sizes[(unsigned long)(i * 7 + i / 8) % 8u];
}

static void
fill(uint8_t *b, size_t len, long i)
{
	size_t k;

	memcpy(b, &i, sizeof(i));
	for (k = sizeof(i); k < len; k++)
		b[k] = (uint8_t)(i * 31 + (long)k);
}

static fl_client *
open_client(const char *ns, bool agent)
{
	struct fl_client_ctx cc;
	fl_client *c = NULL;

	fl_client_ctx_init(&cc);
	cc.ns = ns;
	cc.agent = agent;
	cc.driver_timeout_ns = scaled(LIVENESS);
	cc.heartbeat_interval_ns = 10 * MS;
	cc.resource_linger_ns = 10 * MS;
	if (fl_client_open(&cc, &c) != 0)
		return NULL;
	return c;
}

static fl_driver *
start_driver(const char *ns, bool agent)
{
	struct fl_driver_ctx dc;
	fl_driver *d = NULL;

	fl_driver_ctx_init(&dc);
	dc.ns = ns;
	dc.client_liveness_ns = scaled(LIVENESS);
	dc.publication_linger_ns = 10 * SEC;
	dc.term_length = 256 * 1024;
	dc.no_thread = agent;
	assert_fl(fl_driver_start(&dc, &d), 0);
	if (agent)
		pump_driver = d;
	return d;
}

/* ---- exchange -------------------------------------------------------- */

struct rx {
	long n;
	long errors;
	uint8_t want[MAXLEN];
};

static void
on_msg(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct rx *r = arg;

	fill(r->want, msg_len(r->n), r->n);
	if (len != msg_len(r->n) || memcmp(buf, r->want, len) != 0) {
		if (r->errors++ < 5)
			fprintf(stderr, "message %ld: len %zu want %zu\n", r->n, len,
			        msg_len(r->n));
	}
	r->n++;
}

static int
sub_process(const char *ns, int ready_fd)
{
	pump_driver = NULL;
	fl_client *c = open_client(ns, false);
	fl_subscription *s;
	static struct rx r;
	struct fl_fragment_assembler fa;
	struct fl_idle idle = { 0 };
	uint64_t dl;

	if (c == NULL)
		return 10;
	if (fl_client_add_subscription(c, "stream", 1, NULL, fl_clock_now_ns() + test_ms(5000) * MS,
	                               &s) != 0)
		return 11;
	if (write(ready_fd, "r", 1) != 1)
		return 12;
	fl_fragment_assembler_init(&fa, on_msg, &r);
	dl = fl_clock_now_ns() + 120 * SEC;
	while (r.n < n_messages && fl_clock_now_ns() < dl) {
		int k = fl_subscription_poll(s, fl_fragment_assembler_handler, &fa, 512);

		fl_idle(&idle, k > 0 ? k : 0, dl);
	}
	fl_fragment_assembler_fini(&fa);
	fl_subscription_close(s);
	fl_client_close(c);
	if (r.n != n_messages) {
		fprintf(stderr, "subscriber got %ld of %ld\n", r.n, n_messages);
		return 13;
	}
	return r.errors == 0 ? 0 : 14;
}

static int
pub_process(const char *ns)
{
	pump_driver = NULL;
	fl_client *c = open_client(ns, false);
	fl_publication *p;
	static uint8_t buf[MAXLEN];
	struct fl_idle idle = { 0 };
	uint64_t dl;
	long i;

	if (c == NULL)
		return 20;
	if (fl_client_add_publication(c, "stream", 1, true, fl_clock_now_ns() + test_ms(5000) * MS,
	                              &p) != 0)
		return 21;
	dl = fl_clock_now_ns() + 120 * SEC;
	for (i = 0; i < n_messages && fl_clock_now_ns() < dl;) {
		size_t len = msg_len(i);
		int64_t rc;

		fill(buf, len, i);
		rc = fl_publication_offer(p, buf, len);
		if (rc > 0) {
			i++;
			idle.spins = 0;
			continue;
		}
		if (rc != FL_EBACKPRESSURE && rc != FL_ENOT_CONNECTED)
			return 22;
		fl_idle(&idle, 0, dl);
	}
	fl_publication_close(p); /* the driver drains before dropping images */
	fl_client_close(c);
	return i == n_messages ? 0 : 23;
}

static void
exchange(long n, const char *name)
{
	char ns[64], dir[256];
	fl_driver *d;
	int fds[2];
	pid_t sub, pub;
	struct fl_stats st;

	n_messages = n;
	test_ns(ns, sizeof(ns), name);
	fl_run_dir_path(ns, dir, sizeof(dir));
	d = start_driver(ns, true);
	assert_int_equal(pipe(fds), 0);
	sub = test_fork();
	if (sub == 0)
		_exit(sub_process(ns, fds[1]));
	assert_int_equal(wait_ready(fds[0], 10000), 0);
	pub = test_fork();
	if (pub == 0)
		_exit(pub_process(ns));
	assert_int_equal(wait_child(pub, 300000), 0);
	assert_int_equal(wait_child(sub, 300000), 0);
	close(fds[0]);
	close(fds[1]);
	assert_true(WAIT_UNTIL_P(fl_stats_read(ns, &st) == 0 && st.publications == 0 &&
	                                 st.images == 0 && st.log_files == 0 &&
	                                 st.active_clients == 0,
	                         5000));
	assert_int_equal(fli_shm_dir_count(dir), 1);
	pump_driver = NULL;
	fl_driver_close(d);
	assert_int_equal(access(dir, F_OK), -1);
}

static void
exchange_100k(void **state)
{
	exchange(under_valgrind() ? 3000 : 100000, "x100k");
}

static void
exchange_million(void **state)
{
	exchange(1000000, "x1m");
}

/* ---- a process found gone by pid ------------------------------------------ */

static void
process_gone(void **state)
{
	uint64_t ns = fl_pid_ns();
	siginfo_t info;
	pid_t pid;
	int status;

	assert_true(ns != 0);
	assert_false(fl_process_gone((int32_t)getpid(), ns));
	assert_false(fl_process_gone(0, ns));
	assert_false(fl_process_gone(-1, ns));
	pid = test_fork();
	if (pid == 0)
		_exit(0);
	/* Exited but not reaped (a zombie): not gone yet. */
	assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
	assert_false(fl_process_gone((int32_t)pid, ns));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(fl_process_gone((int32_t)pid, ns));
	/* Another pid namespace's pid, or an unknown one, is never gone. */
	assert_false(fl_process_gone((int32_t)pid, ns + 1));
	assert_false(fl_process_gone((int32_t)pid, 0));
}

/* ---- subscriber killed holding references ------------------------------- */

/* The subscriber (a program of its own: the test process has a driver
 * thread and a conductor when it starts it): takes two references on the
 * image of session `session`, says so on ready_fd, waits to be killed. */
static int
subkill_child(const char *ns, int ready_fd, int32_t session)
{
	fl_client *sc = open_client(ns, false);
	fl_subscription *s;
	fl_image *a, *b;

	if (sc == NULL ||
	    fl_client_add_subscription(sc, "k", 1, NULL, fl_clock_now_ns() + test_ms(5000) * MS,
	                               &s) != 0 ||
	    !WAIT_UNTIL_P(fl_subscription_image_count(s) == 1, 5000) ||
	    fl_subscription_image_by_session_id(s, session, &a) != 0 ||
	    fl_subscription_image_at_index(s, 0, &b) != 0)
		return 1;
	if (write(ready_fd, "r", 1) != 1)
		return 2;
	for (;;)
		pause();
}

static void
sub_killed_holding_refs(void **state)
{
	char ns[64], dir[256];
	fl_driver *d;
	fl_client *c;
	fl_publication *p;
	struct fl_stats st;
	int fds[2];
	char fd_arg[16], session_arg[16];
	pid_t sub;
	int i, dead = -1;

	test_ns(ns, sizeof(ns), "subkill");
	fl_run_dir_path(ns, dir, sizeof(dir));
	d = start_driver(ns, false);
	c = open_client(ns, false);
	assert_non_null(c);
	assert_fl(fl_client_add_publication(c, "k", 1, true, fl_clock_now_ns() + test_ms(5000) * MS,
	                                    &p),
	          0);
	assert_int_equal(pipe(fds), 0);
	snprintf(fd_arg, sizeof(fd_arg), "%d", fds[1]);
	snprintf(session_arg, sizeof(session_arg), "%d", (int)fl_publication_session_id(p));
	sub = test_spawn_self(
	        (char *[]){ "multiproc_test", "subkill-child", ns, fd_arg, session_arg, NULL });
	assert_true(sub > 0);
	assert_int_equal(wait_ready(fds[0], 10000), 0);
	/* The gauges are the driver thread's to update, a duty cycle after
	 * the child's mapping and refs: wait for them, then name any that
	 * differ. */
	(void)WAIT_UNTIL_P(fl_stats_read(ns, &st) == 0 && st.image_refs_held == 2 &&
	                           st.images == 1 && st.log_files_mapped == 2,
	                   3000);
	assert_fl(fl_stats_read(ns, &st), 0);
	assert_int_equal(st.image_refs_held, 2);
	assert_int_equal(st.images, 1);
	assert_int_equal(st.log_files_mapped, 2);
	kill(sub, SIGKILL);
	assert_int_equal(wait_child(sub, 5000), 128 + SIGKILL);
	assert_true(WAIT_UNTIL_P(fl_stats_read(ns, &st) == 0 && st.client_timeouts == 1, 3000));
	(void)WAIT_UNTIL_P(fl_stats_read(ns, &st) == 0 && st.images == 0 && st.subscriptions == 0 &&
	                           st.image_refs_held == 0 && st.pending_registrations == 0 &&
	                           st.log_files_mapped == 1,
	                   3000);
	assert_int_equal(st.images, 0);
	assert_int_equal(st.subscriptions, 0);
	assert_int_equal(st.image_refs_held, 0);
	assert_int_equal(st.pending_registrations, 0);
	assert_int_equal(st.log_files_mapped, 1); /* the publisher's own */
	for (i = 0; i < st.client_count; i++)
		if (st.clients[i].state == FL_CLIENT_TIMED_OUT)
			dead = i;
	assert_true(dead >= 0);
	assert_int_equal(st.clients[dead].refs_leaked, 2);
	assert_int_equal(st.clients[dead].image_refs_held, 0);
	assert_int_equal(st.clients[dead].registrations, 0);
	assert_int_equal(st.clients[dead].registrations_reclaimed, 1);
	assert_false(fl_publication_is_connected(p));
	fl_publication_close(p);
	fl_client_close(c);
	assert_true(WAIT_UNTIL_P(fl_stats_read(ns, &st) == 0 && st.publications == 0 &&
	                                 st.log_files == 0 && st.log_files_mapped == 0 &&
	                                 st.active_clients == 0,
	                         3000));
	assert_int_equal(fli_shm_dir_count(dir), 1); /* only the driver's cnc.dat */
	close(fds[0]);
	close(fds[1]);
	pump_driver = NULL;
	fl_driver_close(d);
}

/* ---- publisher killed mid-claim ------------------------------------------- */

static void
count_msg(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	(*(long *)arg)++;
}

/* The publisher (a program of its own, as subkill_child): offers 100
 * messages, claims space for one more, says so on ready_fd and waits to
 * be killed, the claim never committed. */
static int
pubkill_child(const char *ns, int ready_fd)
{
	fl_client *pc = open_client(ns, false);
	fl_publication *p;
	struct fl_claim claim;
	int i;

	if (pc == NULL ||
	    fl_client_add_publication(pc, "m", 1, false, fl_clock_now_ns() + test_ms(5000) * MS,
	                              &p) != 0 ||
	    !WAIT_UNTIL_P(fl_publication_is_connected(p), 5000))
		return 1;
	for (i = 0; i < 100; i++)
		if (fl_publication_offer(p, "hello", 5) <= 0)
			return 2;
	if (fl_publication_try_claim(p, 64, &claim) <= 0)
		return 3;
	if (write(ready_fd, "r", 1) != 1)
		return 4;
	for (;;)
		pause(); /* never commits */
}

static void
pub_killed_mid_claim(void **state)
{
	char ns[64];
	fl_driver *d;
	fl_client *c;
	fl_subscription *s;
	fl_publication *p2;
	struct fl_stats st;
	int fds[2];
	char fd_arg[16];
	pid_t pub;
	long got = 0;

	test_ns(ns, sizeof(ns), "pubkill");
	d = start_driver(ns, false);
	c = open_client(ns, false);
	assert_non_null(c);
	assert_fl(fl_client_add_subscription(c, "m", 1, NULL,
	                                     fl_clock_now_ns() + test_ms(5000) * MS, &s),
	          0);
	assert_int_equal(pipe(fds), 0);
	snprintf(fd_arg, sizeof(fd_arg), "%d", fds[1]);
	pub = test_spawn_self((char *[]){ "multiproc_test", "pubkill-child", ns, fd_arg, NULL });
	assert_true(pub > 0);
	assert_int_equal(wait_ready(fds[0], 10000), 0);
	assert_true(
	        WAIT_UNTIL_P((fl_subscription_poll(s, count_msg, &got, 100), got == 100), 3000));
	kill(pub, SIGKILL);
	assert_int_equal(wait_child(pub, 5000), 128 + SIGKILL);
	/* The driver times the publisher out and closes its publication. */
	assert_true(WAIT_UNTIL_P(fl_subscription_image_count(s) == 0, 3000));
	/* Not wedged: a new publisher on the same stream gets through. */
	assert_fl(fl_client_add_publication(c, "m", 1, true, fl_clock_now_ns() + test_ms(5000) * MS,
	                                    &p2),
	          0);
	assert_true(WAIT_UNTIL_P(fl_subscription_image_count(s) == 1, 3000));
	assert_true(fl_publication_offer(p2, "again", 5) > 0);
	assert_true(
	        WAIT_UNTIL_P((fl_subscription_poll(s, count_msg, &got, 100), got == 101), 3000));
	fl_publication_close(p2);
	fl_subscription_close(s);
	fl_client_close(c);
	assert_true(WAIT_UNTIL_P(fl_stats_read(ns, &st) == 0 && st.log_files == 0 && st.images == 0,
	                         3000));
	close(fds[0]);
	close(fds[1]);
	pump_driver = NULL;
	fl_driver_close(d);
}

/* ---- a client killed anywhere --------------------------------------------- */

/* The client to kill (a program of its own, as subkill_child): says it is
 * up on ready_fd, then adds and closes a publication and a subscription,
 * offering and polling between, until it is killed. */
static int
killany_child(const char *ns, int ready_fd)
{
	fl_client *kc = open_client(ns, false);

	if (kc == NULL)
		return 1;
	if (write(ready_fd, "r", 1) != 1)
		return 2;
	for (;;) {
		fl_publication *p;
		fl_subscription *ks;
		long n = 0;
		uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

		if (fl_client_add_publication(kc, "z", 1, false, dl, &p) != 0)
			return 3;
		if (fl_client_add_subscription(kc, "z", 1, NULL, dl, &ks) != 0)
			return 4;
		for (int i = 0; i < 20; i++) {
			(void)fl_publication_offer(p, "payload", 7);
			(void)fl_subscription_poll(ks, count_msg, &n, 10);
		}
		fl_subscription_close(ks);
		fl_publication_close(p);
	}
}

/* A client process adding and closing publications and subscriptions,
 * offering and polling, as fast as it can, is SIGKILLed after a random
 * delay, again and again, next to a live subscriber.  Wherever the kill
 * lands (inside a command write, a claim, an image take), the driver times
 * the client out and every gauge goes back: no client, publication,
 * image, reference, registration or log file of its own is left, and the
 * command ring still takes commands.  The pass does not depend on where
 * the kills land; a failure names the round and the gauge. */
static void
client_killed_anywhere(void **state)
{
	unsigned rounds = getenv("FL_ROUNDS") ? (unsigned)atoi(getenv("FL_ROUNDS"))
	                                      : (under_valgrind() ? 3 : 15);
	char ns[64];
	fl_driver *d;
	fl_client *c;
	fl_subscription *s;
	struct fl_driver_ctx dc;
	struct fl_stats st;
	long got = 0;

	test_ns(ns, sizeof(ns), "killany");
	fl_driver_ctx_init(&dc);
	dc.ns = ns;
	dc.client_liveness_ns = scaled(LIVENESS);
	dc.publication_linger_ns = 10 * MS;
	dc.term_length = 64 * 1024;
	assert_fl(fl_driver_start(&dc, &d), 0);
	c = open_client(ns, false);
	assert_non_null(c);
	assert_fl(fl_client_add_subscription(c, "z", 1, NULL,
	                                     fl_clock_now_ns() + test_ms(5000) * MS, &s),
	          0);
	srand((unsigned)getpid());
	for (unsigned r = 0; r < rounds; r++) {
		int fds[2];
		char fd_arg[16];
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		snprintf(fd_arg, sizeof(fd_arg), "%d", fds[1]);
		pid = test_spawn_self(
		        (char *[]){ "multiproc_test", "killany-child", ns, fd_arg, NULL });
		assert_true(pid > 0);
		close(fds[1]);
		assert_int_equal(wait_ready(fds[0], 10000), 0);
		close(fds[0]);
		uint64_t until = fl_clock_now_ns() + (uint64_t)(rand() % 30000) * 1000;
		while (fl_clock_now_ns() < until)
			(void)fl_subscription_poll(s, count_msg, &got, 10);
		kill(pid, SIGKILL);
		assert_int_equal(wait_child(pid, 5000), 128 + SIGKILL);
		if (!WAIT_UNTIL_P(((void)fl_subscription_poll(s, count_msg, &got, 10),
		                   fl_stats_read(ns, &st) == 0 && st.active_clients == 1 &&
		                           st.publications == 0 && st.subscriptions == 1 &&
		                           st.images == 0 && st.pending_registrations == 0 &&
		                           st.log_files == 0),
		                  3000))
			fail_msg("round %u: clients %lld publications %lld subscriptions %lld "
			         "images %lld "
			         "refs %lld pending %lld log files %lld",
			         r, (long long)st.active_clients, (long long)st.publications,
			         (long long)st.subscriptions, (long long)st.images,
			         (long long)st.image_refs_held, (long long)st.pending_registrations,
			         (long long)st.log_files);
	}
	print_message("%u rounds: %lld commands, %lld unblocked, %lld client timeouts\n", rounds,
	              (long long)st.commands, (long long)st.unblocked_commands,
	              (long long)st.client_timeouts);
	/* The ring still takes commands: a publication of our own works. */
	fl_publication *p;
	assert_fl(fl_client_add_publication(c, "z", 2, true, fl_clock_now_ns() + test_ms(5000) * MS,
	                                    &p),
	          0);
	fl_publication_close(p);
	fl_subscription_close(s);
	fl_client_close(c);
	assert_true(WAIT_UNTIL_P(fl_stats_read(ns, &st) == 0 && st.active_clients == 0 &&
	                                 st.log_files == 0,
	                         3000));
	fl_driver_close(d);
}

/* ---- client outliving its driver ------------------------------------------ */

static void
client_outlives_driver(void **state)
{
	char ns[64], dir[256];
	fl_client *c;
	fl_publication *p;
	fl_driver *d2;
	struct fl_driver_ctx dc;
	int fds[2];
	pid_t drv;

	test_ns(ns, sizeof(ns), "driverdies");
	fl_run_dir_path(ns, dir, sizeof(dir));
	assert_int_equal(pipe(fds), 0);
	drv = test_fork();
	if (drv == 0) {
		fl_driver *d;

		fl_driver_ctx_init(&dc);
		dc.ns = ns;
		if (fl_driver_start(&dc, &d) != 0 || write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	assert_int_equal(wait_ready(fds[0], 10000), 0);
	c = open_client(ns, true);
	assert_non_null(c);
	assert_fl(fl_client_add_publication(c, "o", 1, true, fl_clock_now_ns() + test_ms(5000) * MS,
	                                    &p),
	          0);
	kill(drv, SIGKILL);
	assert_int_equal(wait_child(drv, 5000), 128 + SIGKILL);
	assert_true(WAIT_UNTIL_P(fl_client_do_work(c) == FL_EDRIVER_TIMEOUT, 3000));
	assert_fl(fl_publication_offer(p, "x", 1), FL_ECLOSED);
	fl_publication_close(p);
	fl_client_close(c);
	/* The next driver finds the stale directory and cleans it. */
	fl_driver_ctx_init(&dc);
	dc.ns = ns;
	dc.no_thread = true;
	assert_fl(fl_driver_start(&dc, &d2), 0);
	assert_int_equal(fli_shm_dir_count(dir), 1);
	fl_driver_close(d2);
	assert_int_equal(access(dir, F_OK), -1);
	close(fds[0]);
	close(fds[1]);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exchange_100k),           cmocka_unit_test(process_gone),
		cmocka_unit_test(sub_killed_holding_refs), cmocka_unit_test(pub_killed_mid_claim),
		cmocka_unit_test(client_outlives_driver),  cmocka_unit_test(client_killed_anywhere),
	};
	const struct CMUnitTest slow[] = {
		cmocka_unit_test(exchange_million),
	};

	/* The children test_spawn_self starts: ROLE NS READY_FD [SESSION]. */
	if (argc == 5 && strcmp(argv[1], "subkill-child") == 0)
		return subkill_child(argv[2], atoi(argv[3]), (int32_t)atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "pubkill-child") == 0)
		return pubkill_child(argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "killany-child") == 0)
		return killany_child(argv[2], atoi(argv[3]));
	if (argc > 1 && strcmp(argv[1], "million") == 0)
		return cmocka_run_group_tests(slow, NULL, test_ns_cleanup);
	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
