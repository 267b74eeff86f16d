/*
 * faultline-demo: an embedded driver, one publisher thread and one
 * subscriber thread exchanging N messages of mixed sizes over shared
 * memory; prints a summary and the driver's gauges, checks that every
 * message arrived once and in order, and leaves /dev/shm clean.
 *
 *   faultline-demo [messages]      (default 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/stats.h"

struct demo {
	fl_publication *pub;
	fl_subscription *sub;
	long n;
	long received;
	long errors;
	uint64_t bytes;
	int pub_rc;
};

static size_t
msg_len(long i)
{
	static const size_t sizes[] = { 8, 32, 100, 1000, 5000, 20000 };

	return sizes[(unsigned long)i % 6u];
}

static void
fill(uint8_t *buf, size_t len, long i)
{
	size_t k;

	memcpy(buf, &i, sizeof(i));
	for (k = sizeof(i); k < len; k++)
		buf[k] = (uint8_t)(i + (long)k);
}

static void
publisher(void *arg)
{
	struct demo *d = arg;
	static uint8_t buf[20000];
	struct fl_idle idle = { 0 };
	uint64_t deadline = fl_clock_now_ns() + 60 * FL_NS_PER_SEC;
	long i;

	for (i = 0; i < d->n;) {
		size_t len = msg_len(i);
		int64_t rc;

		fill(buf, len, i);
		rc = fl_publication_offer(d->pub, buf, len);
		if (rc > 0) {
			i++;
			continue;
		}
		if (rc != FL_EBACKPRESSURE && rc != FL_ENOT_CONNECTED) {
			d->pub_rc = (int)rc;
			return;
		}
		if (fl_clock_now_ns() > deadline) {
			d->pub_rc = FL_ETIMEDOUT;
			return;
		}
		fl_idle(&idle, 0, deadline);
	}
}

static void
on_message(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct demo *d = arg;
	static uint8_t want[20000];
	long i = d->received;

	fill(want, msg_len(i), i);
	if (len != msg_len(i) || memcmp(buf, want, len) != 0)
		d->errors++;
	d->received++;
	d->bytes += len;
}

static void
subscriber(void *arg)
{
	struct demo *d = arg;
	struct fl_fragment_assembler fa;
	struct fl_idle idle = { 0 };
	uint64_t deadline = fl_clock_now_ns() + 60 * FL_NS_PER_SEC;

	fl_fragment_assembler_init(&fa, on_message, d);
	while (d->received < d->n && fl_clock_now_ns() < deadline) {
		int n = fl_subscription_poll(d->sub, fl_fragment_assembler_handler, &fa, 256);

		fl_idle(&idle, n > 0 ? n : 0, deadline);
	}
	fl_fragment_assembler_fini(&fa);
}

static const char usage[] =
        "usage: faultline-demo [MESSAGES]\n"
        "An embedded driver, a publisher thread and a subscriber thread exchange MESSAGES\n"
        "messages of mixed sizes (default 100000, at most 10^9) over shared memory; prints\n"
        "a summary and the driver's gauges.  Exit status 0 when every message arrived\n"
        "once and in order, 1 otherwise, 2 usage.\n";

int
main(int argc, char **argv)
{
	struct fl_driver_ctx dctx;
	struct fl_client_ctx cctx;
	struct fl_stats st;
	struct demo d = { 0 };
	fl_driver *drv = NULL;
	fl_client *cl = NULL;
	fl_thread *tp = NULL, *ts = NULL;
	char ns[64];
	uint64_t t0, t1, deadline;
	int rc, ok;

	d.n = 100000;
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 1) {
		char *end;
		d.n = strtol(argv[1], &end, 10);
		if (argc > 2 || argv[1][0] < '0' || argv[1][0] > '9' || *end != '\0' || d.n < 1 ||
		    d.n > 1000000000) {
			fputs(usage, stderr);
			return 2;
		}
	}
	snprintf(ns, sizeof(ns), "demo-%d", (int)getpid());
	fl_driver_ctx_init(&dctx);
	dctx.ns = ns;
	rc = fl_driver_start(&dctx, &drv);
	if (rc != 0) {
		fprintf(stderr, "driver: %s\n", fl_strerror(rc));
		return 1;
	}
	fl_client_ctx_init(&cctx);
	cctx.ns = ns;
	rc = fl_client_open(&cctx, &cl);
	if (rc != 0)
		goto fail;
	deadline = fl_clock_now_ns() + 5 * FL_NS_PER_SEC;
	rc = fl_client_add_subscription(cl, "demo", 1, NULL, deadline, &d.sub);
	if (rc == 0)
		rc = fl_client_add_publication(cl, "demo", 1, true, deadline, &d.pub);
	if (rc != 0)
		goto fail;
	while (!fl_publication_is_connected(d.pub) && fl_clock_now_ns() < deadline)
		fl_idle_sleep_until(fl_clock_now_ns() + FL_NS_PER_MS);
	t0 = fl_clock_now_ns();
	fl_thread_start(&ts, "demo-sub", subscriber, &d);
	fl_thread_start(&tp, "demo-pub", publisher, &d);
	fl_thread_join(tp);
	fl_thread_join(ts);
	t1 = fl_clock_now_ns();
	printf("messages %ld\nreceived %ld\ncontent_errors %ld\nbytes %llu\nseconds %.3f\n"
	       "messages_per_second %.0f\n",
	       d.n, d.received, d.errors, (unsigned long long)d.bytes, (double)(t1 - t0) / 1e9,
	       (double)d.received / ((double)(t1 - t0) / 1e9));
	if (fl_stats_read(ns, &st) == 0)
		fl_stats_print(&st, stdout, false);
	fl_publication_close(d.pub);
	fl_subscription_close(d.sub);
	fl_client_close(cl);
	fl_driver_close(drv);
	ok = d.pub_rc == 0 && d.received == d.n && d.errors == 0 && access("/dev/shm", F_OK) == 0;
	printf("result %s\n", ok ? "ok" : "FAILED");
	if (d.pub_rc != 0)
		fprintf(stderr, "publisher: %s\n", fl_strerror(d.pub_rc));
	return ok ? 0 : 1;
fail:
	fprintf(stderr, "demo: %s\n", fl_strerror(rc));
	fl_client_close(cl);
	fl_driver_close(drv);
	return 1;
}
