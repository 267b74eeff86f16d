/*
 * The driver serving request/response (fl_rr_driver_ext) with real
 * processes and real shared memory: a client process opens the driver's
 * domain under its client id, takes a server port, a client port and
 * chunks; the driver's gauges show them; once the process is SIGKILLed
 * (or closes its client with everything still held) the driver reclaims
 * all of it after the liveness timeout, and its files go with the run
 * directory at close.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "fl_test.h"
#include "shm.h"
#include "faultline/chunk.h"
#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/reqrep.h"
#include "faultline/stats.h"
#include "chunk_pool.h"
#include "driver_ext.h"
#include "port_pool.h"
#include "rr_driver.h"

#define MS FL_NS_PER_MS

static struct fl_stats st;

static int64_t
gauge(const char *ns, const char *name)
{
	assert_fl(fl_stats_read(ns, &st), 0);
	for (int i = 0; i < st.ext_count; i++)
		if (strcmp(st.ext[i].name, name) == 0)
			return st.ext[i].value;
	fail_msg("no gauge %s", name);
	return -1;
}

static fl_driver *
start_driver(const char *ns)
{
	static const struct fl_driver_ext *const exts[] = { &fl_rr_driver_ext };
	struct fl_driver_ctx dc;
	fl_driver *d;

	test_driver_ctx(&dc, ns);
	/* Longer than any wait of the test: a loaded machine may starve a
	 * live client for seconds, and the killed holder must be found by pid
	 * at once, not by this timeout. */
	dc.client_liveness_ns = 3600 * FL_NS_PER_SEC;
	dc.extensions = exts;
	dc.extension_count = 1;
	assert_fl(fl_driver_start(&dc, &d), 0);
	return d;
}

/* The child: everything it takes stays held.  Writes one byte when ready,
 * then closes its client (close_client) or waits to be killed.  A program
 * of its own (main, "holder"): the test process has its driver's thread
 * when it starts one. */
static void
holder(const char *ns, int ready_fd, bool close_client)
{
	struct fl_client_ctx cc;
	fl_client *c;
	fl_rr_domain *dom;
	fl_rr_server *srv;
	fl_rr_client *cli;
	fl_chunk a, b;
	uint64_t dl = fl_clock_now_ns() + test_ms(5000) * MS;

	fl_client_ctx_init(&cc);
	cc.ns = ns;
	cc.heartbeat_interval_ns = 20 * MS;
	if (fl_client_open(&cc, &c) != 0 ||
	    fl_rr_domain_open(fl_client_run_dir(c), fl_client_id(c), &dom) != 0 ||
	    fl_rr_server_open(dom, "svc", &srv) != 0 || fl_rr_client_open(dom, "svc", &cli) != 0 ||
	    fl_rr_client_loan(cli, 32, dl, &a) != 0 || fl_rr_server_loan(srv, 32, dl, &b) != 0)
		_exit(3);
	if (write(ready_fd, "r", 1) != 1)
		_exit(4);
	if (close_client) {
		fl_client_close(c); /* the port and chunks are still held */
		_exit(0);
	}
	for (int i = 0; i < 30000; i++) /* killed long before 300 s */
		usleep(10000);
	_exit(5);
}

/* gauge() without asserts: dflt when it cannot be read. */
static int64_t
gauge_or(const char *ns, const char *name, int64_t dflt)
{
	struct fl_stats s;

	if (fl_stats_read(ns, &s) != 0)
		return dflt;
	for (int i = 0; i < s.ext_count; i++)
		if (strcmp(s.ext[i].name, name) == 0)
			return s.ext[i].value;
	return dflt;
}

/* Starts the holder program, which writes to fd when ready: its pid, or -1. */
static pid_t
start_holder(const char *ns, int fd, bool close_client)
{
	char fd_arg[16];

	snprintf(fd_arg, sizeof(fd_arg), "%d", fd);
	return test_spawn_self((char *[]){ "rr_driver_test", "holder", (char *)ns, fd_arg,
	                                   close_client ? "close" : "keep", NULL });
}

/* spawn_holder(ns, false) without asserts: the holder's pid, or -1. */
static pid_t
spawn_holder_or_fail(const char *ns)
{
	int p[2];
	pid_t pid;
	struct pollfd pfd = { .events = POLLIN };
	char byte;

	if (pipe(p) != 0)
		return -1;
	pid = start_holder(ns, p[1], false);
	close(p[1]);
	pfd.fd = p[0];
	if (pid < 0 || poll(&pfd, 1, (int)test_ms(20000)) != 1 || read(p[0], &byte, 1) != 1) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		pid = -1;
	}
	close(p[0]);
	return pid;
}

/* Waits up to test_ms(ms) until ns's gauges show servers server ports
 * and clients client ports in use and loaned chunks loaned; a failure
 * prints what they show. */
static void
wait_in_use(const char *ns, int64_t servers, int64_t clients, int64_t loaned, uint64_t ms)
{
	if (!WAIT_UNTIL(gauge(ns, "rr_servers_in_use") == servers &&
	                        gauge(ns, "rr_clients_in_use") == clients &&
	                        gauge(ns, "rr_chunks_loaned") == loaned,
	                ms))
		fail_msg("gauges rr_servers_in_use %lld, rr_clients_in_use %lld, "
		         "rr_chunks_loaned %lld; want %lld, %lld, %lld",
		         (long long)gauge(ns, "rr_servers_in_use"),
		         (long long)gauge(ns, "rr_clients_in_use"),
		         (long long)gauge(ns, "rr_chunks_loaned"), (long long)servers,
		         (long long)clients, (long long)loaned);
}

static pid_t
spawn_holder(const char *ns, bool close_client)
{
	int p[2];
	pid_t pid;
	struct pollfd pfd;
	char byte;

	assert_int_equal(pipe(p), 0);
	pid = start_holder(ns, p[1], close_client);
	assert_true(pid > 0);
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, (int)test_ms(20000)), 1);
	assert_int_equal(read(p[0], &byte, 1), 1);
	close(p[0]);
	return pid;
}

static void
killed_client_is_reclaimed(void **state)
{
	char ns[64], dir[256], path[300];
	fl_driver *d;
	pid_t pid;
	int status;

	(void)state;
	test_ns(ns, sizeof(ns), "rrdrv");
	d = start_driver(ns);
	snprintf(dir, sizeof(dir), "%s", fl_driver_run_dir(d));
	snprintf(path, sizeof(path), "%s/chunks.dat", dir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/ports.dat", dir);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(gauge(ns, "rr_chunks_loaned"), 0);
	assert_true(gauge(ns, "rr_chunks_total") > 0);

	pid = spawn_holder(ns, false);
	wait_in_use(ns, 1, 1, 2, 3000);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* The reclaim publishes the gauges one by one, the reclaim counts
	 * after the in-use ones, and client_timeouts only at the end of the
	 * driver's cycle: a read between them saw the ports back and
	 * nothing reclaimed yet (once in the TSan job on a loaded machine).
	 * So wait for the last of them, then check each. */
	(void)WAIT_UNTIL(gauge(ns, "rr_servers_in_use") == 0 &&
	                         gauge(ns, "rr_clients_in_use") == 0 &&
	                         gauge(ns, "rr_chunks_loaned") == 0 &&
	                         gauge(ns, "rr_chunks_reclaimed") == 2 && st.client_timeouts == 1,
	                 10000);
	assert_int_equal(gauge(ns, "rr_servers_in_use"), 0);
	assert_int_equal(gauge(ns, "rr_clients_in_use"), 0);
	assert_int_equal(gauge(ns, "rr_chunks_loaned"), 0);
	assert_int_equal(gauge(ns, "rr_clients_reclaimed"), 1);
	assert_int_equal(gauge(ns, "rr_ports_reclaimed"), 2);
	assert_int_equal(gauge(ns, "rr_chunks_reclaimed"), 2);
	assert_int_equal(gauge(ns, "rr_queue_holes_marked"), 0); /* it died idle */
	assert_int_equal(st.client_timeouts, 1);

	/* A client that closes holding a port and chunks: reclaimed at once. */
	pid = spawn_holder(ns, true);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(WAIT_UNTIL(gauge(ns, "rr_servers_in_use") == 0 &&
	                               gauge(ns, "rr_chunks_loaned") == 0 &&
	                               gauge(ns, "rr_clients_reclaimed") == 2,
	                       3000));
	assert_int_equal(st.client_timeouts, 1);
	fl_driver_close(d);
	assert_int_equal(access(dir, F_OK), -1);
}

static void
driver_without_extension_has_no_domain(void **state)
{
	char ns[64], path[300];
	struct fl_driver_ctx dc;
	fl_driver *d;

	(void)state;
	test_ns(ns, sizeof(ns), "rrnone");
	fl_driver_ctx_init(&dc);
	dc.ns = ns;
	assert_fl(fl_driver_start(&dc, &d), 0);
	snprintf(path, sizeof(path), "%s/chunks.dat", fl_driver_run_dir(d));
	assert_int_equal(access(path, F_OK), -1);
	fl_driver_close(d);
}

/* The driver's duty cycle until one pass ran 30 ms or more after the
 * first: its 10 ms repair and gauge refresh ran at least once since. */
static void
driver_cycles(fl_driver *d)
{
	uint64_t until = fl_clock_now_ns() + 30 * MS;

	for (;;) {
		bool last = fl_clock_now_ns() >= until;

		fl_driver_do_work(d);
		if (last)
			return;
		fl_idle_sleep_until(fl_clock_now_ns() + MS);
	}
}

/* In a child: the duty cycle, after which the driver has put the layout
 * back and counted it.  0, or 1 when it did not count a repair. */
static int
cycles_repair(void *arg)
{
	fl_driver *d = arg;
	struct fl_stats s;

	driver_cycles(d);
	if (fl_stats_read(fli_driver_ext_ctx(d)->ns, &s) != 0)
		return 2;
	for (int i = 0; i < s.ext_count; i++)
		if (strcmp(s.ext[i].name, "rr_layout_repaired") == 0)
			return s.ext[i].value >= 1 ? 0 : 1;
	return 1;
}

/*
 * One 4- or 8-byte write into chunks.dat or ports.dat, which every client
 * maps writable, must not kill the driver: it takes every layout value
 * (table offsets and counts, class counts and offsets, the number of
 * classes) from its own memory, so its gauges stay true, and it puts the
 * shared header back, so that new clients still open the domain.  The
 * duty cycle after each write runs in a child: a crash is reported, not
 * suffered.
 */
static void
scribbled_layout_does_not_kill_driver(void **state)
{
	static const struct {
		const char *name;
		const char *file;
		size_t off;
		int width;
		uint64_t value;
	} cases[] = {
		{ "ports tab[0].off", "ports.dat", offsetof(struct fli_pp_seg, tab[0].off), 8,
		  1ull << 40 },
		{ "ports tab[1].count", "ports.dat", offsetof(struct fli_pp_seg, tab[1].count), 4,
		  0xffffffffu },
		{ "chunk class count", "chunks.dat", offsetof(struct fli_cp_seg, cls[0].count), 4,
		  0xffffffffu },
		{ "chunk class data_off", "chunks.dat",
		  offsetof(struct fli_cp_seg, cls[1].data_off), 8, 1ull << 40 },
		{ "n_classes", "chunks.dat", offsetof(struct fli_cp_seg, n_classes), 4, 64 },
		{ "chunk hdr_off", "chunks.dat", offsetof(struct fli_cp_seg, hdr_off), 8,
		  1ull << 40 },
		{ "chunk total", "chunks.dat", offsetof(struct fli_cp_seg, total), 4, 0xffffffffu },
	};
	int bad = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char ns[64], path[400];
		struct fl_driver_ctx dc;
		struct fli_shm m = { 0 };
		fl_rr_domain *dom;
		fl_driver *d;
		int64_t total;
		int rc;

		test_ns(ns, sizeof(ns), "rrscrib");
		fl_driver_ctx_init(&dc);
		dc.ns = ns;
		dc.no_thread = true;
		dc.extensions = (const struct fl_driver_ext *const[]){ &fl_rr_driver_ext };
		dc.extension_count = 1;
		assert_fl(fl_driver_start(&dc, &d), 0);
		driver_cycles(d);
		total = gauge(ns, "rr_chunks_total");
		snprintf(path, sizeof(path), "%s/%s", fl_driver_run_dir(d), cases[k].file);
		assert_fl(fli_shm_map(path, true, 4096, &m, NULL, 0), 0);
		test_scribble_write(m.addr, cases[k].off, cases[k].width, cases[k].value);
		rc = test_in_child(cycles_repair, d);
		if (rc != 0) {
			fprintf(stderr, "%s = %#llx: the driver's duty cycle ended with %d%s\n",
			        cases[k].name, (unsigned long long)cases[k].value, rc,
			        rc == 1 ? " (no repair counted)" : "");
			bad++;
		} else {
			/* The field again, for this process's driver. */
			test_scribble_write(m.addr, cases[k].off, cases[k].width, cases[k].value);
			driver_cycles(d);
			if (gauge(ns, "rr_chunks_total") != total ||
			    gauge(ns, "rr_servers_in_use") != 0 ||
			    gauge(ns, "rr_layout_repaired") < 1) {
				fprintf(stderr,
				        "%s = %#llx: gauges rr_chunks_total %lld (was %lld), "
				        "rr_servers_in_use %lld, rr_layout_repaired %lld\n",
				        cases[k].name, (unsigned long long)cases[k].value,
				        (long long)gauge(ns, "rr_chunks_total"), (long long)total,
				        (long long)gauge(ns, "rr_servers_in_use"),
				        (long long)gauge(ns, "rr_layout_repaired"));
				bad++;
			}
			/* Put back: a client maps the domain again. */
			rc = fl_rr_domain_open(fl_driver_run_dir(d), 77, &dom);
			if (rc != 0) {
				fprintf(stderr, "%s: open after the repair: %s\n", cases[k].name,
				        fl_errname(rc));
				bad++;
			} else {
				fl_rr_domain_close(dom);
			}
		}
		fli_shm_unmap(&m);
		fl_driver_close(d);
	}
	test_scribble_verdict(bad, cases);
}

struct pump {
	fl_driver *d;
	int stop;
};

static void *
pump_driver(void *arg)
{
	struct pump *p = arg;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		fl_driver_do_work(p->d);
		fl_idle_sleep_until(fl_clock_now_ns() + MS);
	}
	return NULL;
}

/*
 * A client killed holding chunks whose header mark was written just
 * before (after the driver's last repair): the reclaim must still take
 * them back.  Before, it refused them as corrupt, the next repair put the
 * mark back, and they stayed the dead client's for good.
 * The driver runs in agent mode so that the kill lands between two of its
 * cycles, with no repair in between.
 */
static void
killed_holder_of_scribbled_chunks_is_reclaimed(void **state)
{
	char ns[64], path[300];
	struct fl_driver_ctx dc;
	struct pump pu = { 0 };
	fl_chunk_pool *cp;
	pthread_t t;
	fl_driver *d;
	pid_t pid;
	int status, scribbled = 0;
	bool loaned;

	(void)state;
	test_ns(ns, sizeof(ns), "rrscribkill");
	fl_driver_ctx_init(&dc);
	dc.ns = ns;
	dc.no_thread = true;
	dc.client_liveness_ns = 3600 * FL_NS_PER_SEC; /* found dead by pid */
	dc.extensions = (const struct fl_driver_ext *const[]){ &fl_rr_driver_ext };
	dc.extension_count = 1;
	assert_fl(fl_driver_start(&dc, &d), 0);
	pu.d = d;
	assert_int_equal(pthread_create(&t, NULL, pump_driver, &pu), 0);
	/* No assert while the pump runs: a failing one would leave the
	 * thread pumping a driver on this (unwound) stack. */
	pid = spawn_holder_or_fail(ns);
	loaned = pid > 0 && WAIT_UNTIL(gauge_or(ns, "rr_chunks_loaned", -1) == 2, 3000);
	__atomic_store_n(&pu.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (pid > 0 && !loaned)
		kill(pid, SIGKILL);
	assert_true(pid > 0 && loaned);

	snprintf(path, sizeof(path), "%s/chunks.dat", fl_driver_run_dir(d));
	assert_fl(fl_chunk_pool_open(path, 99, &cp), 0);
	for (uint32_t i = 0; i < cp->total; i++) {
		struct fli_cp_hdr *h = fli_cp_hdr(cp, i);

		if (atomic_load(&h->owner) != 0 && atomic_load(&h->owner) != 99) {
			h->mark = 77;
			scribbled++;
		}
	}
	fl_chunk_pool_close(cp);
	assert_int_equal(scribbled, 2);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Its heartbeat goes stale, then one cycle finds its pid gone. */
	fl_idle_sleep_until(fl_clock_now_ns() + 50 * MS);
	fl_driver_do_work(d);
	driver_cycles(d);
	assert_int_equal(gauge(ns, "rr_clients_reclaimed"), 1);
	assert_int_equal(gauge(ns, "rr_chunks_loaned"), 0);
	assert_int_equal(gauge(ns, "rr_chunks_reclaimed"), 2);
	fl_driver_close(d);
}

/*
 * Ports and chunks whose owner word names no client of the driver (a wild
 * write: every process maps the domain writable) are taken back by the
 * driver, and so is a chunk with a refcount and no owner.  Before, nobody
 * ever freed them: a server port whose owner a wild write changed kept
 * taking requests nobody answered (its server could not close it), and
 * the gauges never came back to zero.  What a live client holds stays.
 */
static void
strays_are_taken_back(void **state)
{
	char ns[64], path[400];
	struct fli_pp_pool pp;
	fl_chunk_pool *cp;
	struct fli_pp_port *port;
	struct fli_cp_hdr *h;
	fl_driver *d;
	pid_t pid;
	int status;
	uint64_t word;

	(void)state;
	test_ns(ns, sizeof(ns), "rrstray");
	d = start_driver(ns);
	snprintf(path, sizeof(path), "%s/ports.dat", fl_driver_run_dir(d));
	assert_fl(fli_pp_open(path, &pp), 0);
	snprintf(path, sizeof(path), "%s/chunks.dat", fl_driver_run_dir(d));
	assert_fl(fl_chunk_pool_open(path, 77, &cp), 0);
	pid = spawn_holder(ns, false);
	wait_in_use(ns, 1, 1, 2, 3000);

	/* The last server port: an owner no client has, active, named. */
	port = fli_pp_port(&pp, PP_SERVER, pp.count[PP_SERVER] - 1);
	strcpy(port->service, "svc");
	atomic_store(&port->owner, 0xdead0001ull);
	atomic_store(&port->state, PP_ACTIVE);
	/* The last chunk: loaned to that owner; the one before: a refcount
	 * and no owner. */
	h = fli_cp_hdr(cp, cp->total - 1);
	word = atomic_load(&h->state);
	atomic_store(&h->owner, 0xdead0001ull);
	atomic_store(&h->state, (word & 0xffffffff00000000ull) | 1);
	h = fli_cp_hdr(cp, cp->total - 2);
	word = atomic_load(&h->state);
	atomic_store(&h->state, (word & 0xffffffff00000000ull) | 5);

	assert_true(WAIT_UNTIL(gauge(ns, "rr_strays_reclaimed") == 3, 3000));
	assert_int_equal(gauge(ns, "rr_servers_in_use"), 1);
	assert_int_equal(gauge(ns, "rr_clients_in_use"), 1);
	assert_int_equal(gauge(ns, "rr_chunks_loaned"), 2);
	assert_int_equal(atomic_load(&port->owner), 0);
	assert_int_equal(atomic_load(&port->state), PP_FREE);
	assert_int_equal(atomic_load(&fli_cp_hdr(cp, cp->total - 1)->owner), 0);
	assert_int_equal((uint32_t)atomic_load(&fli_cp_hdr(cp, cp->total - 2)->state), 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	wait_in_use(ns, 0, 0, 0, 10000);
	fl_chunk_pool_close(cp);
	fli_pp_close(&pp);
	fl_driver_close(d);
}

int
main(int argc, char **argv)
{
	/* The holder test_spawn_self starts: holder NS READY_FD close|keep. */
	if (argc == 5 && strcmp(argv[1], "holder") == 0)
		holder(argv[2], atoi(argv[3]), strcmp(argv[4], "close") == 0);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(killed_client_is_reclaimed),
		cmocka_unit_test(driver_without_extension_has_no_domain),
		cmocka_unit_test(scribbled_layout_does_not_kill_driver),
		cmocka_unit_test(killed_holder_of_scribbled_chunks_is_reclaimed),
		cmocka_unit_test(strays_are_taken_back),
	};

	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
