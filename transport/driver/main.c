/*
 * faultline-driver: the media driver as a daemon.
 *
 *   faultline-driver [-n NS] [--client-timeout-ms N] [--linger-ms N]
 *                    [--term-length BYTES] [--mtu BYTES]
 *                    [--chunks SPEC] [--ports N] [--no-reqrep] [-v]
 *
 * Runs the conductor on the main thread until SIGINT or SIGTERM, then
 * closes the driver, which removes /dev/shm/faultline-<ns>/.  Unless
 * --no-reqrep, it serves request/response too (fl_rr_driver_ext): chunk
 * pools and port tables in the run directory, reclaimed per dead client.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/chunk.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "daemon.h"
#include "driver_ext.h"
#include "reqrep/rr_driver.h"

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: faultline-driver [-n NAMESPACE] [--client-timeout-ms N] [--linger-ms N]\n"
	        "                        [--term-length BYTES] [--mtu BYTES]\n"
	        "                        [--chunks SPEC] [--ports N] [--no-reqrep] [-v]\n"
	        "defaults: namespace 'default', client timeout 5000 ms, linger 1000 ms,\n"
	        "          term length 4194304, mtu 4096; request/response served with\n"
	        "          chunk pools SPEC = size:count,... (default " FL_CHUNK_DEFAULT_SPEC ")\n"
	        "          and N server and N client ports (default 512)\n");
}

/* v, the value of option opt, as a decimal number min..max (digits only:
 * "abc", "-1", "+5", "12x" and "0x10" are refused, not read as 0, -1, 5
 * or 12) into *out.  false with the message printed. */
static bool
num_arg(const char *opt, const char *v, unsigned long long min, unsigned long long max,
        unsigned long long *out)
{
	char *end = NULL;

	errno = 0;
	if (*v >= '0' && *v <= '9')
		*out = strtoull(v, &end, 10);
	if (end == NULL || *end != '\0' || errno != 0 || *out < min || *out > max) {
		fprintf(stderr, "faultline-driver: %s %s: expected a number %llu..%llu\n", opt, v,
		        min, max);
		return false;
	}
	return true;
}

/* The duty cycle: the longest this loop parks. */
#define CYCLE_NS (10 * FL_NS_PER_MS)

int
main(int argc, char **argv)
{
	struct fl_driver_ctx ctx;
	struct fl_idle idle;
	static const struct fl_driver_ext *const exts[] = { &fl_rr_driver_ext };
	bool reqrep = true;
	fl_driver *d;
	unsigned long long n;
	int i, rc;

	fl_driver_ctx_init(&ctx);
	ctx.ns = "default";
	ctx.no_thread = true;
	ctx.cycle_ns = CYCLE_NS; /* a later duty cycle is a stall (driver.h) */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if ((strcmp(a, "-n") == 0 || strcmp(a, "--namespace") == 0) && v) {
			ctx.ns = v;
			i++;
		} else if (strcmp(a, "--client-timeout-ms") == 0 && v) {
			/* 1 ms to a day: 0 would be taken for the default */
			if (!num_arg(a, v, 1, 86400000ull, &n))
				return 2;
			ctx.client_liveness_ns = n * FL_NS_PER_MS;
			i++;
		} else if (strcmp(a, "--linger-ms") == 0 && v) {
			if (!num_arg(a, v, 1, 86400000ull, &n))
				return 2;
			ctx.publication_linger_ns = n * FL_NS_PER_MS;
			i++;
		} else if (strcmp(a, "--term-length") == 0 && v) {
			/* the transport checks what it takes (fl_driver_start) */
			if (!num_arg(a, v, 0, UINT32_MAX, &n))
				return 2;
			ctx.term_length = (uint32_t)n;
			i++;
		} else if (strcmp(a, "--mtu") == 0 && v) {
			if (!num_arg(a, v, 0, UINT32_MAX, &n))
				return 2;
			ctx.mtu = (uint32_t)n;
			i++;
		} else if (strcmp(a, "--chunks") == 0 && v) {
			if (fl_chunk_spec_check(v, NULL) != 0) {
				fprintf(stderr, "faultline-driver: --chunks %s: %s\n", v,
				        fl_rr_errmsg());
				return 2;
			}
			setenv("FL_RR_CHUNKS", v, 1);
			i++;
		} else if (strcmp(a, "--ports") == 0 && v) {
			if (!num_arg(a, v, 1, 65536, &n))
				return 2;
			setenv("FL_RR_SERVER_PORTS", v, 1);
			setenv("FL_RR_CLIENT_PORTS", v, 1);
			i++;
		} else if (strcmp(a, "--no-reqrep") == 0) {
			reqrep = false;
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
	if (reqrep) {
		ctx.extensions = exts;
		ctx.extension_count = 1;
	}
	rc = fl_driver_start(&ctx, &d);
	if (rc != 0) {
		/* Request/response says which of its segments failed, and why. */
		if (reqrep && fl_rr_errmsg()[0] != '\0')
			fprintf(stderr, "faultline-driver: %s\n", fl_rr_errmsg());
		fprintf(stderr, "faultline-driver: %s: %s\n", fl_errname(rc), fl_strerror(rc));
		return 1;
	}
	fli_daemon_trap_signals(&idle);
	fprintf(stderr, "faultline-driver: serving %s\n", fl_driver_run_dir(d));
	while (!fli_daemon_stop) {
		int w = fl_driver_do_work(d);

		fl_idle(&idle, w, fl_clock_now_ns() + CYCLE_NS);
	}
	fl_driver_close(d);
	fprintf(stderr, "faultline-driver: stopped\n");
	return 0;
}
