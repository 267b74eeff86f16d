/*
 * NNG 1.5.2 (Debian's libnng.so.1): an ipc:// listener that accepted a
 * connection, its socket also listening on inproc:// (a connection
 * there too; without it, no leak), then closed with nng_listener_close
 * (its socket closed after, then nng_fini), is not always freed: valgrind reports its block
 * (376 bytes, and 3,584 bytes it points to) "definitely lost", allocated
 * by nng_listener_create, in 4 or 5 of 5 runs of this program here (ten
 * rounds each).  nng_listener_close(3): "closes the listener ... any
 * connections it has established are closed"; nng_fini(3) releases
 * every resource the library holds.
 *
 * Found by targets/nng/scenarios/nng-dialer-listener.yaml
 * (target_resources: "target nng holds 8 heap blocks (3960 bytes) ...
 * the first made by its allocation call #N (calloc, 376 bytes)").
 *
 *     cc nng-ipc-listener-close-leak.c -o listener-leak -lnng
 *     valgrind --leak-check=full --errors-for-leak-kinds=definite \
 *         --error-exitcode=9 ./listener-leak [ROUNDS]   # exit 9: the leak
 *
 * (ROUNDS, default 10; on a loaded machine the race is rarer: 40.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		int rv_ = (x);                                                                     \
		if (rv_ != 0)                                                                      \
			printf("%s: %s\n", #x, nng_strerror(rv_));                                 \
	} while (0)

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 10;
	char path[64], url[80];

	snprintf(path, sizeof(path), "/tmp/nng-listener-leak-%ld.sock", (long)getpid());
	snprintf(url, sizeof(url), "ipc://%s", path);
	for (int r = 0; r < rounds; r++) {
		nng_socket pull, push;
		nng_listener li, ln;
		nng_dialer di, dn;
		char *buf;
		size_t len;

		CHECK(nng_pull0_open(&pull));
		CHECK(nng_listener_create(&li, pull, url));
		CHECK(nng_listener_create(&ln, pull, "inproc://listener-leak"));
		CHECK(nng_listener_start(li, 0));
		CHECK(nng_listener_start(ln, 0));
		CHECK(nng_push0_open(&push));
		CHECK(nng_dialer_create(&di, push, url));
		CHECK(nng_dialer_create(&dn, push, "inproc://listener-leak"));
		CHECK(nng_dialer_start(di, NNG_FLAG_NONBLOCK));
		CHECK(nng_dialer_start(dn, NNG_FLAG_NONBLOCK));
		for (int i = 0; i < 2; i++) {
			CHECK(nng_send(push, "0123456789", 10, 0));
		}
		for (int i = 0; i < 2; i++) {
			buf = NULL;
			CHECK(nng_recv(pull, &buf, &len, NNG_FLAG_ALLOC));
			if (buf != NULL)
				nng_free(buf, len);
		}
		CHECK(nng_listener_close(li));
		CHECK(nng_listener_close(ln));
		CHECK(nng_dialer_close(dn));
		CHECK(nng_dialer_close(di));
		CHECK(nng_close(push));
		CHECK(nng_close(pull));
	}
	nng_fini();
	unlink(path);
	return 0;
}
