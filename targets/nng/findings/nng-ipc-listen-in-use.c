/*
 * NNG 1.5.2: a failed nng_listen (NNG_EADDRINUSE) on an ipc:// path
 * another socket listens on breaks that socket's listener (see
 * nng-ipc-listen-in-use.yaml beside this file).  Plain C on NNG's API:
 *
 *     cc nng-ipc-listen-in-use.c -o in-use -lnng
 *     ./in-use 0    # no second listen:           recv: Hunky dory
 *     ./in-use 1    # a second listen, other process: recv: Timed out
 *                   # (nearly always: now and then the listener survives)
 *
 * The second listen runs in a child forked before any NNG call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

int
main(int argc, char **argv)
{
	int second = argc > 1 ? atoi(argv[1]) : 1, rv;
	char path[64], url[80], *buf;
	nng_socket pull, push;
	size_t len;
	pid_t pid;

	snprintf(path, sizeof(path), "/tmp/nng-in-use-%ld.sock", (long)getpid());
	snprintf(url, sizeof(url), "ipc://%s", path);
	if ((pid = fork()) == 0) {
		usleep(200000); /* once the parent listens */
		if (second) {
			nng_socket other;

			nng_pull0_open(&other);
			rv = nng_listen(other, url, NULL, 0);
			printf("child: second listen: %s\n", nng_strerror(rv));
			nng_close(other);
		}
		fflush(stdout);
		_exit(0);
	}
	nng_pull0_open(&pull);
	nng_push0_open(&push);
	rv = nng_listen(pull, url, NULL, 0);
	printf("first listen: %s\n", nng_strerror(rv));
	fflush(stdout);
	waitpid(pid, NULL, 0);
	rv = nng_dial(push, url, NULL, 0);
	printf("dial: %s\n", nng_strerror(rv));
	nng_socket_set_ms(push, NNG_OPT_SENDTIMEO, 500);
	nng_socket_set_ms(pull, NNG_OPT_RECVTIMEO, 1000);
	rv = nng_send(push, "hi", 2, 0);
	printf("send: %s\n", nng_strerror(rv));
	rv = nng_recv(pull, &buf, &len, NNG_FLAG_ALLOC);
	printf("recv: %s\n", nng_strerror(rv));
	if (rv == 0)
		nng_free(buf, len);
	nng_close(push);
	nng_close(pull);
	nng_fini();
	unlink(path);
	return rv == 0 ? 0 : 1;
}
