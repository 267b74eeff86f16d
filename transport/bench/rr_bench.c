/*
 * Request/response benchmark: round trips of 32-byte payloads between a
 * client and a server in separate processes, faultline's shared-memory
 * request/response against NNG req/rep over ipc:// in the same run, plus
 * the cost of one chunk loan+release.
 *
 *   faultline-rr-bench [--json] [--rounds N]
 *
 * Prints one `name value` line per figure (or one JSON object).
 */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "faultline/chunk.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"

#define PAYLOAD 32

struct figures {
	double rt_per_sec;
	uint64_t p50_ns, p99_ns;
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void
summarize(uint64_t *lat, unsigned n, uint64_t total_ns, struct figures *f)
{
	qsort(lat, n, sizeof(*lat), cmp_u64);
	f->rt_per_sec = (double)n * 1e9 / (double)total_ns;
	f->p50_ns = lat[n / 2];
	f->p99_ns = lat[(size_t)n * 99 / 100];
}

/* ---- faultline ------------------------------------------------------ */

static void
fl_server(const char *dir, unsigned n, int ready)
{
	fl_rr_domain *d;
	fl_rr_server *s;
	struct fl_idle idle = { 0 };

	if (fl_rr_domain_open(dir, 2, &d) != 0 || fl_rr_server_open(d, "bench", &s) != 0)
		_exit(2);
	(void)!write(ready, "r", 1);
	while (n > 0) {
		fl_chunk req, resp;
		int work = 0;
		if (fl_rr_server_take(s, &req) == 0) {
			if (fl_rr_server_loan(s, PAYLOAD, 0, &resp) == 0) {
				memcpy(resp.data, req.data, PAYLOAD);
				resp.len = PAYLOAD;
				if (fl_rr_server_send(s, &req, &resp) != 0)
					fl_rr_release(d, &resp);
			}
			fl_rr_release(d, &req);
			n--;
			work = 1;
		}
		fl_idle(&idle, work, FL_DEADLINE_NONE);
	}
	fl_rr_server_close(s);
	fl_rr_domain_close(d);
	_exit(0);
}

static int
bench_faultline(unsigned n, struct figures *f, double *loan_ns)
{
	char dir[PATH_MAX];
	fl_rr_domain *d;
	fl_rr_client *c;
	uint64_t *lat = calloc(n, sizeof(*lat));
	int pfd[2], rc = 1;
	char b;

	snprintf(dir, sizeof(dir), "/dev/shm/faultline-rrbench-%d", (int)getpid());
	mkdir(dir, 0700);
	if (lat == NULL || fl_rr_domain_create(dir, NULL, &d) != 0 || pipe(pfd) != 0)
		goto out_dir;
	/* Loan + release cost, single thread, uncontended. */
	{
		fl_chunk_pool *p = fl_rr_domain_chunks(d);
		unsigned k = 2000000;
		uint64_t t0 = fl_clock_now_ns();
		for (unsigned i = 0; i < k; i++) {
			fl_chunk ch;
			if (fl_chunk_loan(p, PAYLOAD, 0, &ch) != 0 || fl_chunk_release(p, &ch) != 0)
				goto out_domain;
		}
		*loan_ns = (double)(fl_clock_now_ns() - t0) / k;
	}
	pid_t pid = fork();
	if (pid == 0)
		fl_server(dir, n + 1000, pfd[1]);
	if (pid < 0 || read(pfd[0], &b, 1) != 1)
		goto out_domain;
	if (fl_rr_client_open(d, "bench", &c) != 0)
		goto out_child;
	uint64_t start = 0;
	for (unsigned i = 0; i < n + 1000; i++) { /* 1000 rounds of warm-up */
		fl_chunk req, resp;
		uint64_t seq, t0 = fl_clock_now_ns();
		if (i == 1000)
			start = t0;
		if (fl_rr_client_loan(c, PAYLOAD, 0, &req) != 0)
			goto out_client;
		memset(req.data, (int)i, PAYLOAD);
		req.len = PAYLOAD;
		if (fl_rr_client_send(c, &req, 0, &seq) != 0 ||
		    fl_rr_client_wait(c, t0 + 5 * FL_NS_PER_SEC, &resp, NULL) != 0 ||
		    resp.seq != seq)
			goto out_client;
		fl_rr_release(d, &resp);
		if (i >= 1000)
			lat[i - 1000] = fl_clock_now_ns() - t0;
	}
	summarize(lat, n, fl_clock_now_ns() - start, f);
	rc = 0;
out_client:
	fl_rr_client_close(c);
out_child:
	if (rc != 0)
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out_domain:
	fl_rr_domain_close(d);
	fl_rr_domain_unlink(dir);
out_dir:
	rmdir(dir);
	free(lat);
	return rc;
}

/* ---- NNG ------------------------------------------------------------ */

static void
nng_server(const char *url, unsigned n, int ready)
{
	nng_socket s;

	if (nng_rep0_open(&s) != 0 || nng_listen(s, url, NULL, 0) != 0)
		_exit(2);
	(void)!write(ready, "r", 1);
	while (n-- > 0) {
		nng_msg *m;
		if (nng_recvmsg(s, &m, 0) != 0)
			_exit(3);
		if (nng_sendmsg(s, m, 0) != 0) {
			nng_msg_free(m);
			_exit(4);
		}
	}
	usleep(100000); /* let the last reply drain */
	nng_close(s);
	_exit(0);
}

static int
bench_nng(unsigned n, struct figures *f)
{
	char url[128];
	nng_socket s;
	uint64_t *lat = calloc(n, sizeof(*lat));
	int pfd[2], rc = 1;
	char b;

	snprintf(url, sizeof(url), "ipc:///tmp/faultline-rrbench-%d.ipc", (int)getpid());
	if (lat == NULL || pipe(pfd) != 0)
		goto out;
	pid_t pid = fork();
	if (pid == 0)
		nng_server(url, n + 1000, pfd[1]);
	if (pid < 0 || read(pfd[0], &b, 1) != 1)
		goto out;
	if (nng_req0_open(&s) != 0 || nng_dial(s, url, NULL, 0) != 0)
		goto out_child;
	uint64_t start = 0;
	for (unsigned i = 0; i < n + 1000; i++) {
		nng_msg *m;
		uint64_t t0 = fl_clock_now_ns();
		if (i == 1000)
			start = t0;
		if (nng_msg_alloc(&m, PAYLOAD) != 0)
			goto out_sock;
		memset(nng_msg_body(m), (int)i, PAYLOAD);
		if (nng_sendmsg(s, m, 0) != 0) {
			nng_msg_free(m);
			goto out_sock;
		}
		if (nng_recvmsg(s, &m, 0) != 0)
			goto out_sock;
		nng_msg_free(m);
		if (i >= 1000)
			lat[i - 1000] = fl_clock_now_ns() - t0;
	}
	summarize(lat, n, fl_clock_now_ns() - start, f);
	rc = 0;
out_sock:
	nng_close(s);
out_child:
	if (rc != 0)
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	free(lat);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned n = 100000;
	int json = 0;
	struct figures ff, nf;
	double loan_ns = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			n = (unsigned)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--json] [--rounds N]\n", argv[0]);
			return 2;
		}
	}
	if (n < 100)
		n = 100;
	if (bench_faultline(n, &ff, &loan_ns) != 0) {
		fprintf(stderr, "faultline round trips failed: %s\n", fl_rr_errmsg());
		return 1;
	}
	/* NNG is roughly two orders of magnitude slower: fewer rounds. */
	if (bench_nng(n / 10, &nf) != 0) {
		fprintf(stderr, "nng round trips failed\n");
		return 1;
	}
	double ratio = ff.rt_per_sec / nf.rt_per_sec;
	if (json) {
		printf("{\"rr_faultline_rt_per_sec\": %.0f, \"rr_faultline_p50_ns\": %" PRIu64
		       ", \"rr_faultline_p99_ns\": %" PRIu64 ", \"rr_nng_ipc_rt_per_sec\": %.0f"
		       ", \"rr_nng_ipc_p50_ns\": %" PRIu64 ", \"rr_nng_ipc_p99_ns\": %" PRIu64
		       ", \"rr_ratio_vs_nng\": %.1f, \"chunk_loan_release_ns\": %.1f}\n",
		       ff.rt_per_sec, ff.p50_ns, ff.p99_ns, nf.rt_per_sec, nf.p50_ns, nf.p99_ns,
		       ratio, loan_ns);
	} else {
		printf("rr_faultline_rt_per_sec %.0f\n", ff.rt_per_sec);
		printf("rr_faultline_p50_ns %" PRIu64 "\n", ff.p50_ns);
		printf("rr_faultline_p99_ns %" PRIu64 "\n", ff.p99_ns);
		printf("rr_nng_ipc_rt_per_sec %.0f\n", nf.rt_per_sec);
		printf("rr_nng_ipc_p50_ns %" PRIu64 "\n", nf.p50_ns);
		printf("rr_nng_ipc_p99_ns %" PRIu64 "\n", nf.p99_ns);
		printf("rr_ratio_vs_nng %.1f\n", ratio);
		printf("chunk_loan_release_ns %.1f\n", loan_ns);
	}
	return 0;
}
