/*
 * Command ring (MPSC) and broadcast buffer: records, wrap padding, full,
 * corrupt headers, unblocking a dead producer's record, lapping.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "fl_test.h"
#include "ring.h"

#define CAP 1024

struct seen {
	int n;
	int32_t types[256];
	size_t lens[256];
	uint8_t first[256];
};

static void
collect(void *arg, int32_t type, const uint8_t *p, size_t len)
{
	struct seen *s = arg;

	if (s->n < 256) {
		s->types[s->n] = type;
		s->lens[s->n] = len;
		s->first[s->n] = len ? p[0] : 0;
	}
	s->n++;
}

static uint64_t mem[(CAP + FL_RING_TRAILER) / 8];

static void
poke32(size_t off, int32_t v)
{
	memcpy((uint8_t *)mem + off, &v, sizeof(v));
}

static void
mpsc_roundtrip(void **state)
{
	struct fli_mpsc r;
	struct seen s = { 0 };
	uint8_t buf[100];
	int i;

	assert_fl(fli_mpsc_init(&r, mem, CAP, 1), 0);
	for (i = 0; i < 5; i++) {
		memset(buf, i + 1, sizeof(buf));
		assert_fl(fli_mpsc_write(&r, 10 + i, buf, (size_t)(10 * i)), 0);
	}
	assert_fl(fli_mpsc_read(&r, collect, &s, 100), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(s.types[i], 10 + i);
		assert_int_equal(s.lens[i], 10 * i);
	}
	assert_fl(fli_mpsc_read(&r, collect, &s, 100), 0);
	assert_fl(fli_mpsc_write(&r, 0, buf, 1), FL_EINVAL);
	assert_fl(fli_mpsc_write(&r, 1, buf, CAP), FL_EMSGSIZE);
}

static void
mpsc_wrap_and_full(void **state)
{
	struct fli_mpsc r;
	struct seen s = { 0 };
	uint8_t buf[120];
	int i, written = 0, rc;

	assert_fl(fli_mpsc_init(&r, mem, CAP, 1), 0);
	/* Fill until full, drain, repeat: crosses the end many times. */
	for (i = 0; i < 200; i++) {
		memset(buf, (uint8_t)i, sizeof(buf));
		rc = fli_mpsc_write(&r, 7, buf, (size_t)(i % 120));
		if (rc == FL_EFULL) {
			int n = fli_mpsc_read(&r, collect, &s, 1000);

			assert_true(n > 0);
			rc = fli_mpsc_write(&r, 7, buf, (size_t)(i % 120));
		}
		assert_fl(rc, 0);
		written++;
	}
	fli_mpsc_read(&r, collect, &s, 1000);
	assert_int_equal(s.n, written);
	for (i = 0; i < 200; i++) {
		assert_int_equal(s.lens[i], (size_t)(i % 120));
		if (s.lens[i])
			assert_int_equal(s.first[i], (uint8_t)i);
	}
}

static void
mpsc_garbage_header(void **state)
{
	struct fli_mpsc r;
	struct seen s = { 0 };
	uint8_t buf[16] = { 1 };

	assert_fl(fli_mpsc_init(&r, mem, CAP, 1), 0);
	assert_fl(fli_mpsc_write(&r, 5, buf, 16), 0);
	assert_fl(fli_mpsc_write(&r, 5, buf, 16), 0);
	/* A hostile process overwrites the second record's length. */
	poke32(24, 0x7fffff00);
	assert_fl(fli_mpsc_read(&r, collect, &s, 10), FL_EPROTO);
	assert_int_equal(s.n, 1);
	/* The ring resynced and keeps working. */
	assert_fl(fli_mpsc_write(&r, 6, buf, 8), 0);
	assert_fl(fli_mpsc_read(&r, collect, &s, 10), 1);
	assert_int_equal(s.types[1], 6);
}

static void
mpsc_unblock(void **state)
{
	struct fli_mpsc r;
	struct seen s = { 0 };
	uint8_t buf[16] = { 0 };
	uint64_t tail;

	assert_fl(fli_mpsc_init(&r, mem, CAP, 1), 0);
	/* Producer died after storing -length (record in progress). */
	tail = *r.tail;
	*r.tail = tail + 32;
	poke32(0, -32);
	assert_fl(fli_mpsc_write(&r, 9, buf, 8), 0);
	assert_fl(fli_mpsc_read(&r, collect, &s, 10), 0);
	assert_fl(fli_mpsc_unblock(&r, 1000, 500), 0); /* first sighting */
	assert_fl(fli_mpsc_unblock(&r, 1200, 500), 0); /* not long enough */
	assert_fl(fli_mpsc_unblock(&r, 2000, 500), 1);
	assert_fl(fli_mpsc_read(&r, collect, &s, 10), 1);
	assert_int_equal(s.types[0], 9);
	/* Producer died between the claim and the first store (all zero). */
	tail = *r.tail;
	*r.tail = tail + 48;
	assert_fl(fli_mpsc_write(&r, 11, buf, 8), 0);
	assert_fl(fli_mpsc_read(&r, collect, &s, 10), 0);
	fli_mpsc_unblock(&r, 5000, 500);
	assert_fl(fli_mpsc_unblock(&r, 6000, 500), 1);
	assert_fl(fli_mpsc_read(&r, collect, &s, 10), 1);
	assert_int_equal(s.types[1], 11);
}

/* A corrupt length at the head and a tail 2^60 past it, then a tail
 * behind the head: each read returns FL_EPROTO having cleaned at most the
 * ring once, and the ring takes and delivers records again.  0 or the
 * step that failed. */
static int
wild_tail(void *arg)
{
	struct fli_mpsc r;
	struct seen s = { 0 };
	uint8_t buf[16] = { 1 };
	uint64_t head;

	(void)arg;
	fli_mpsc_init(&r, mem, CAP, 1);
	if (fli_mpsc_write(&r, 5, buf, 16) != 0 || fli_mpsc_read(&r, collect, &s, 10) != 1)
		return 1;
	head = *r.head;
	poke32((size_t)(head & r.mask), 0x7ffffff0);
	*r.tail = head + (1ull << 60);
	if (fli_mpsc_read(&r, collect, &s, 10) != FL_EPROTO)
		return 2;
	if (fli_mpsc_write(&r, 6, buf, 8) != 0 || fli_mpsc_read(&r, collect, &s, 10) != 1 ||
	    s.types[1] != 6)
		return 3;
	*r.tail = *r.head - 8;
	if (fli_mpsc_read(&r, collect, &s, 10) != FL_EPROTO)
		return 4;
	if (fli_mpsc_write(&r, 7, buf, 8) != 0 || fli_mpsc_read(&r, collect, &s, 10) != 1 ||
	    s.types[2] != 7)
		return 5;
	return 0;
}

/* The consumer (the driver) must not loop over a span a wild writer
 * chose.  The reads run in a child given a generous deadline: on code
 * that clears the ring once per capacity up to the wild tail they would
 * run for days. */
static void
mpsc_wild_tail_is_bounded(void **state)
{
	pid_t pid = test_fork();
	int st = 0;
	bool done;

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(wild_tail(NULL));
	done = WAIT_UNTIL(waitpid(pid, &st, WNOHANG) == pid, 3000);
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("the reads did not return");
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("wild tail: step %d failed (status %#x)", WEXITSTATUS(st), st);
}

static void
bcast_roundtrip_and_lap(void **state)
{
	struct fli_bcast b;
	struct fli_bcast_rx rx, slow;
	struct seen s = { 0 };
	uint8_t scratch[256], scratch2[256], buf[100];
	int i, rc;

	assert_fl(fli_bcast_init(&b, mem, CAP, 1), 0);
	fli_bcast_rx_init(&rx, &b, scratch, sizeof(scratch));
	fli_bcast_rx_init(&slow, &b, scratch2, sizeof(scratch2));
	for (i = 0; i < 100; i++) {
		memset(buf, (uint8_t)i, sizeof(buf));
		assert_fl(fli_bcast_transmit(&b, 3, buf, (size_t)(i % 100)), 0);
		assert_fl(fli_bcast_receive(&rx, collect, &s, 10), 1);
		assert_int_equal(s.lens[i], (size_t)(i % 100));
		if (i % 100)
			assert_int_equal(s.first[i], (uint8_t)i);
	}
	/* The slow receiver never read: it was lapped. */
	rc = fli_bcast_receive(&slow, collect, &s, 10);
	assert_fl(rc, FL_ELAPPED);
	assert_int_equal(slow.lapped, 1);
	/* After resync it receives the latest record. */
	rc = fli_bcast_receive(&slow, collect, &s, 10);
	assert_true(rc >= 0);
	assert_fl(fli_bcast_transmit(&b, 0, buf, 1), FL_EINVAL);
	assert_fl(fli_bcast_transmit(&b, 3, buf, CAP), FL_EMSGSIZE);
}

static void
bcast_garbage(void **state)
{
	struct fli_bcast b;
	struct fli_bcast_rx rx;
	struct seen s = { 0 };
	uint8_t scratch[64], buf[8] = { 0 };

	assert_fl(fli_bcast_init(&b, mem, CAP, 1), 0);
	fli_bcast_rx_init(&rx, &b, scratch, sizeof(scratch));
	assert_fl(fli_bcast_transmit(&b, 3, buf, 8), 0);
	poke32(0, 3); /* shorter than a header */
	assert_fl(fli_bcast_receive(&rx, collect, &s, 10), FL_EPROTO);
	assert_fl(fli_bcast_transmit(&b, 4, buf, 8), 0);
	assert_fl(fli_bcast_receive(&rx, collect, &s, 10), 1);
	assert_int_equal(s.types[0], 4);
}

/* A wild writer moves the broadcast tail back: the transmitter keeps its
 * own tail, so the next record lands where receivers look for it, and a
 * receiver whose cursor a wild tail put ahead resyncs (FL_EPROTO) instead
 * of going deaf until the tail catches up. */
static void
bcast_tail_scribbled(void **state)
{
	struct fli_bcast b;
	struct fli_bcast_rx rx;
	struct seen s = { 0 };
	uint8_t scratch[64], buf[8] = { 0 };
	int rc, k;

	assert_fl(fli_bcast_init(&b, mem, CAP, 1), 0);
	fli_bcast_rx_init(&rx, &b, scratch, sizeof(scratch));
	assert_fl(fli_bcast_transmit(&b, 3, buf, 8), 0);
	assert_fl(fli_bcast_receive(&rx, collect, &s, 10), 1);
	*b.tail = 0;
	assert_fl(fli_bcast_transmit(&b, 4, buf, 8), 0);
	assert_fl(fli_bcast_receive(&rx, collect, &s, 10), 1);
	assert_int_equal(s.types[1], 4);
	/* A tail far ahead for a moment: the receiver follows it, then the
	 * transmitter puts it back. */
	*b.tail = 1ull << 60;
	*b.latest = (1ull << 60) + 5;
	(void)fli_bcast_receive(&rx, collect, &s, 10);
	assert_fl(fli_bcast_transmit(&b, 5, buf, 8), 0);
	for (k = 0, rc = 0; k < 3 && s.n < 3; k++)
		rc = fli_bcast_receive(&rx, collect, &s, 10);
	if (s.n < 3)
		fail_msg("the receiver lost the record after the wild tail (last rc %s)",
		         fl_errname(rc));
	assert_int_equal(s.types[2], 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mpsc_roundtrip),
		cmocka_unit_test(mpsc_wrap_and_full),
		cmocka_unit_test(mpsc_garbage_header),
		cmocka_unit_test(mpsc_unblock),
		cmocka_unit_test(bcast_roundtrip_and_lap),
		cmocka_unit_test(bcast_garbage),
		cmocka_unit_test(mpsc_wild_tail_is_bounded),
		cmocka_unit_test(bcast_tail_scribbled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
