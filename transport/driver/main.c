/*
 * faultline-driver: the media driver as a daemon.
 *
 *   faultline-driver [-n NS] [--client-timeout-ms N] [--linger-ms N]
 *                    [--term-length BYTES] [--mtu BYTES] [-v]
 *
 * Runs the conductor on the main thread until SIGINT or SIGTERM, then
 * closes the driver, which removes /dev/shm/faultline-<ns>/.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: faultline-driver [-n NAMESPACE] [--client-timeout-ms N] [--linger-ms N]\n"
	           "                        [--term-length BYTES] [--mtu BYTES] [-v]\n"
	           "defaults: namespace 'default', client timeout 5000 ms, linger 1000 ms,\n"
	           "          term length 1048576, mtu 4096\n");
}

int
main(int argc, char **argv)
{
	struct fl_driver_ctx ctx;
	struct sigaction sa;
	struct fl_idle idle = {0};
	fl_driver *d;
	int i, rc;

	fl_driver_ctx_init(&ctx);
	ctx.ns = "default";
	ctx.no_thread = true;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if ((strcmp(a, "-n") == 0 || strcmp(a, "--namespace") == 0) && v) {
			ctx.ns = v;
			i++;
		} else if (strcmp(a, "--client-timeout-ms") == 0 && v) {
			ctx.client_liveness_ns = strtoull(v, NULL, 10) * FL_NS_PER_MS;
			i++;
		} else if (strcmp(a, "--linger-ms") == 0 && v) {
			ctx.publication_linger_ns = strtoull(v, NULL, 10) * FL_NS_PER_MS;
			i++;
		} else if (strcmp(a, "--term-length") == 0 && v) {
			ctx.term_length = (uint32_t)strtoul(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--mtu") == 0 && v) {
			ctx.mtu = (uint32_t)strtoul(v, NULL, 10);
			i++;
		} else if (strcmp(a, "-v") == 0) {
			ctx.verbose = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	rc = fl_driver_start(&ctx, &d);
	if (rc != 0) {
		fprintf(stderr, "faultline-driver: %s: %s\n", fl_errname(rc), fl_strerror(rc));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	idle.max_park_ns = FL_NS_PER_MS;
	fprintf(stderr, "faultline-driver: serving %s\n", fl_driver_run_dir(d));
	while (!stop) {
		int w = fl_driver_do_work(d);

		fl_idle(&idle, w, fl_clock_now_ns() + 10 * FL_NS_PER_MS);
	}
	fl_driver_close(d);
	fprintf(stderr, "faultline-driver: stopped\n");
	return 0;
}
