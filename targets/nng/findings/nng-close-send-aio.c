/*
 * NNG 1.5.2 (Debian's libnng.so.1): nng_close of a push socket by one
 * thread while another thread's nng_send_aio on it is in flight (over
 * inproc://, a puller connected).  NNG panics
 *
 *     panic: pthread_mutex_lock: Invalid argument
 *     This message is indicative of a BUG.
 *
 * (a mutex used after it was destroyed: under valgrind, an invalid read
 * in pthread_mutex_lock on NNG's thread of a block nng_close freed), and,
 * in the rounds that survive, messages whose send succeeded are never
 * freed, not even by nng_fini (valgrind: "definitely lost", allocated by
 * nng_msg_alloc).  nng_close(3): "operations that are blocked on the
 * socket ... return NNG_ECLOSED"; nng_send_aio(3): on failure the
 * message stays the caller's, on success the socket's.
 *
 * Found by targets/nng/scenarios/nng-aio-send-close.yaml (the leak,
 * target_resources, in about one run in seven).
 *
 *     cc nng-close-send-aio.c -o close-send-aio -lnng -lpthread
 *     ./close-send-aio 300     # exit 134 (NNG's panic) on 8 of 8 tries here;
 *                              # now and then it deadlocks instead
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

static nng_socket push;
static int delay_us;

static void *
closer(void *arg)
{
	(void)arg;
	usleep((useconds_t)delay_us);
	nng_close(push);
	return NULL;
}

static void
callback(void *arg)
{
	(void)arg;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 300, ok = 0, failed = 0;

	for (int r = 0; r < rounds; r++) {
		nng_socket pull;
		nng_aio *aio;
		nng_msg *m;
		pthread_t t;
		char url[64], *buf;
		size_t len;

		snprintf(url, sizeof(url), "inproc://close-send-aio-%d", r);
		nng_pull0_open(&pull);
		nng_listen(pull, url, NULL, 0);
		nng_push0_open(&push);
		nng_dial(push, url, NULL, 0);
		nng_send(push, "x", 1, 0);
		if (nng_recv(pull, &buf, &len, NNG_FLAG_ALLOC) == 0)
			nng_free(buf, len);
		nng_aio_alloc(&aio, callback, NULL);
		delay_us = r % 50;
		pthread_create(&t, NULL, closer, NULL);
		for (int i = 0; i < 4; i++) {
			nng_msg_alloc(&m, (size_t)(255 + i));
			nng_aio_set_msg(aio, m);
			nng_aio_set_timeout(aio, 1000);
			nng_send_aio(push, aio);
			nng_aio_wait(aio);
			if (nng_aio_result(aio) != 0) {
				nng_msg_free(nng_aio_get_msg(aio)); /* still the caller's */
				failed++;
			} else {
				ok++;
			}
		}
		pthread_join(t, NULL);
		nng_close(pull);
		nng_aio_free(aio);
	}
	printf("sends: %d succeeded, %d failed\n", ok, failed);
	nng_fini();
	return 0;
}
