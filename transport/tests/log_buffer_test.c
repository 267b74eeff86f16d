/*
 * Log buffer: offer/read, wrap with padding, fragmentation, lap checks
 * (stale bytes never pass for a frame), back-pressure, not connected,
 * closed, too large, try_claim commit/abort, corrupt frames; and the
 * edges: messages of k fragments' payload and one byte either side, the
 * largest message and one byte more, a claim ending exactly at the ring's
 * end, the first and the last subscriber slot, a pad longer than a frame's
 * 24-bit length (largest terms).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fl_test.h"
#include "log_buffer.h"

#define CAP FL_LOG_MIN_CAP
#define MTU 1024

struct rx {
	int n;
	uint64_t next; /* expected sequence */
	int errors;
	uint32_t flags[64];
	size_t lens[64];
};

static void
on_frag(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct rx *r = arg;

	if (r->n < 64) {
		r->flags[r->n] = h->flags;
		r->lens[r->n] = len;
	}
	r->n++;
}

static void
on_seq(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct rx *r = arg;
	uint64_t v;
	size_t k;

	memcpy(&v, buf, sizeof(v));
	if (v != r->next)
		r->errors++;
	for (k = 8; k < len; k++)
		if (buf[k] != (uint8_t)(v + k))
			r->errors++;
	r->next++;
	r->n++;
}

struct fixture {
	void *mem;
	struct fli_log log;
	struct fli_log_appender ap;
	uint64_t pos; /* the subscriber */
};

static struct fixture *
setup_log(bool exclusive)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->mem = aligned_alloc(4096, fli_log_file_length(CAP));
	memset(f->mem, 0, fli_log_file_length(CAP));
	fli_log_format(f->mem, CAP, MTU, 42, 7, exclusive, 1, 1);
	assert_fl(fli_log_attach(&f->log, f->mem, fli_log_file_length(CAP)), 0);
	fli_log_appender_init(&f->ap, &f->log, exclusive);
	return f;
}

static void
connect_sub(struct fixture *f)
{
	struct fli_log_meta *m = f->log.meta;

	m->slots[0].position = m->tail;
	m->slots[0].state = FL_SLOT_ACTIVE;
	m->subscriber_count = 1;
	f->pos = m->tail;
}

static void
teardown_log(struct fixture *f)
{
	free(f->mem);
	free(f);
}

static void
fill(uint8_t *b, size_t len, uint64_t v)
{
	size_t k;

	memcpy(b, &v, 8);
	for (k = 8; k < len; k++)
		b[k] = (uint8_t)(v + k);
}

static int
drain(struct fixture *f, fl_fragment_handler h, void *arg)
{
	int n = fli_log_read(&f->log, &f->pos, 42, h, arg, 1 << 20);

	f->log.meta->slots[0].position = f->pos;
	return n;
}

static void
not_connected_closed_too_large(void **state)
{
	struct fixture *f = setup_log(true);
	uint8_t buf[16] = { 0 };

	assert_fl(fli_log_offer(&f->ap, buf, 8), FL_ENOT_CONNECTED);
	connect_sub(f);
	assert_true(fli_log_offer(&f->ap, buf, 8) > 0);
	assert_fl(fli_log_offer(&f->ap, buf, CAP / 8 + 1), FL_EMSGSIZE);
	f->log.meta->closed = 1;
	assert_fl(fli_log_offer(&f->ap, buf, 8), FL_ECLOSED);
	teardown_log(f);
}

static void
wrap_backpressure_and_order(void **state)
{
	struct fixture *f = setup_log(true);
	static uint8_t buf[MTU];
	struct rx r = { 0 };
	uint64_t seq = 0;
	int bp = 0;

	connect_sub(f);
	/* Offer odd sizes through ~20 laps; read only when back-pressured. */
	while (seq < 5000) {
		size_t len = 8 + (seq * 37) % (MTU - 16 - 8);
		int64_t rc;

		fill(buf, len, seq);
		rc = fli_log_offer(&f->ap, buf, len);
		if (rc == FL_EBACKPRESSURE) {
			bp++;
			assert_true(drain(f, on_seq, &r) > 0);
			continue;
		}
		assert_true(rc > 0);
		seq++;
	}
	drain(f, on_seq, &r);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.n, 5000);
	assert_true(bp > 10);
	assert_int_equal(f->pos, f->log.meta->tail);
	teardown_log(f);
}

static void
fragmentation(void **state)
{
	struct fixture *f = setup_log(false);
	size_t len = 3 * (MTU - 16) + 5;
	uint8_t *buf = malloc(len);
	struct rx r = { 0 };

	connect_sub(f);
	fill(buf, len, 9);
	assert_true(fli_log_offer(&f->ap, buf, len) > 0);
	assert_int_equal(drain(f, on_frag, &r), 4);
	assert_int_equal(r.flags[0], FL_FRAG_BEGIN);
	assert_int_equal(r.flags[1], 0);
	assert_int_equal(r.flags[3], FL_FRAG_END);
	assert_int_equal(r.lens[3], 5);
	/* An empty message is one unfragmented frame. */
	assert_true(fli_log_offer(&f->ap, buf, 0) > 0);
	assert_int_equal(drain(f, on_frag, &r), 1);
	assert_int_equal(r.flags[4], FL_FRAG_UNFRAGMENTED);
	assert_int_equal(r.lens[4], 0);
	free(buf);
	teardown_log(f);
}

static void
stale_payload_is_not_a_frame(void **state)
{
	struct fixture *f = setup_log(true);
	uint64_t next_pos, *p;
	struct rx r = { 0 };
	uint8_t buf[64] = { 0 };

	connect_sub(f);
	assert_true(fli_log_offer(&f->ap, buf, 8) > 0);
	assert_int_equal(drain(f, on_frag, &r), 1);
	/* Forge, where the next frame will go, a header word with the right
	 * lap and length (as user payload of an earlier lap could hold). */
	next_pos = f->pos;
	p = (uint64_t *)(f->log.data + (next_pos & f->log.mask));
	p[0] = 32u | ((uint64_t)FL_FRAG_UNFRAGMENTED << 24) | ((next_pos >> f->log.shift) << 32);
	p[1] = 0x1234;
	assert_int_equal(drain(f, on_frag, &r), 0);
	teardown_log(f);
}

static void
claim_commit_abort(void **state)
{
	struct fixture *f = setup_log(false);
	struct fl_claim c;
	struct rx r = { 0 };

	connect_sub(f);
	assert_fl(fli_log_try_claim(&f->ap, MTU, &c), FL_EMSGSIZE);
	assert_true(fli_log_try_claim(&f->ap, 10, &c) > 0);
	memset(c.data, 1, 10);
	/* Not committed yet: nothing visible. */
	assert_int_equal(drain(f, on_frag, &r), 0);
	assert_fl(fl_claim_commit(&c), 0);
	assert_fl(fl_claim_commit(&c), FL_EINVAL);
	assert_int_equal(drain(f, on_frag, &r), 1);
	assert_true(fli_log_try_claim(&f->ap, 10, &c) > 0);
	assert_fl(fl_claim_abort(&c), 0);
	assert_true(fli_log_offer(&f->ap, "abc", 3) > 0);
	assert_int_equal(drain(f, on_frag, &r), 1);
	assert_int_equal(r.lens[1], 3);
	assert_int_equal(f->pos, f->log.meta->tail);
	teardown_log(f);
}

static void
corrupt_frame_and_meta(void **state)
{
	struct fixture *f = setup_log(true);
	struct rx r = { 0 };
	uint8_t buf[8] = { 0 };

	connect_sub(f);
	assert_true(fli_log_offer(&f->ap, buf, 8) > 0);
	assert_int_equal(drain(f, on_frag, &r), 1);
	((struct fli_log_meta *)f->mem)->capacity = 12345;
	{
		struct fli_log l2;

		assert_fl(fli_log_attach(&l2, f->mem, fli_log_file_length(CAP)), FL_EPROTO);
	}
	((struct fli_log_meta *)f->mem)->capacity = CAP;
	((struct fli_log_meta *)f->mem)->magic = 1;
	{
		struct fli_log l2;

		assert_fl(fli_log_attach(&l2, f->mem, fli_log_file_length(CAP)), FL_EPROTO);
	}
	teardown_log(f);
}

/* A wild writer leaves meta->tail (or a subscriber's position) off the
 * 16-byte frame grid, a few bytes before the ring's end: the publisher's
 * pad frame there would end up to 15 bytes past the end of the mapping.
 * Offer and claim refuse the misaligned tail (FL_EPROTO), for a shared
 * and for an exclusive publisher, and a read from a misaligned position
 * refuses too; the bytes past the end stay untouched. */
static void
misaligned_tail_is_refused(void **state)
{
	size_t file = fli_log_file_length(CAP);
	uint8_t *mem = aligned_alloc(4096, file + 4096);
	uint8_t buf[8] = { 0 };
	struct fli_log log;
	struct fli_log_appender ap;
	struct fl_claim claim;
	struct rx r = { 0 };
	uint64_t pos;

	(void)state;
	memset(mem, 0, file);
	memset(mem + file, 0xa5, 4096);
	fli_log_format(mem, CAP, MTU, 42, 7, false, 1, 1);
	assert_fl(fli_log_attach(&log, mem, file), 0);
	log.meta->slots[0].position = 2 * CAP - 3;
	log.meta->slots[0].state = FL_SLOT_ACTIVE;
	log.meta->subscriber_count = 1;
	for (int excl = 0; excl < 2; excl++) {
		log.meta->tail = 2 * CAP - 3;
		fli_log_appender_init(&ap, &log, excl);
		assert_fl(fli_log_offer(&ap, buf, sizeof(buf)), FL_EPROTO);
		assert_fl(fli_log_try_claim(&ap, sizeof(buf), &claim), FL_EPROTO);
	}
	pos = 2 * CAP - 3;
	assert_fl(fli_log_read(&log, &pos, 42, on_frag, &r, 10), FL_EPROTO);
	assert_int_equal(r.n, 0);
	for (size_t k = 0; k < 4096; k++)
		if (mem[file + k] != 0xa5)
			fail_msg("byte %zu past the end of the log was written", k);
	free(mem);
}

/* ---- sizes and slots at their edges ---------------------------------- */

#define MP         (MTU - FL_FRAME_HEADER) /* a fragment's payload: 1008 */
#define ALIGN16(x) (((x) + 15u) & ~(uint64_t)15u)

/* Fragments as read (flags, lengths) and the messages they reassemble to. */
struct edge_rx {
	struct rx frags;         /* as on_frag records them */
	struct test_whole whole; /* as test_on_whole records them, in bytes */
	uint8_t bytes[CAP / 8 + 16];
	struct fl_fragment_assembler fa;
};

static void
on_edge_frag(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct edge_rx *r = arg;

	on_frag(&r->frags, buf, len, h);
	fl_fragment_assembler_handler(&r->fa, buf, len, h);
}

static void
edge_rx_reset(struct edge_rx *r)
{
	fl_fragment_assembler_fini(&r->fa);
	memset(r, 0, sizeof(*r));
	r->whole.buf = r->bytes;
	r->whole.cap = sizeof(r->bytes);
	fl_fragment_assembler_init(&r->fa, test_on_whole, &r->whole);
}

/* Offers len bytes (a pattern of len), reads them back and checks every
 * fragment (count, lengths, flags), the bytes reassembled and the
 * positions: the offer's result is the old tail plus the frames' aligned
 * lengths, with no padding (the caller keeps the claim off the ring's
 * end), and the reader stops at it. */
static void
offer_and_check(struct fixture *f, struct edge_rx *r, size_t len)
{
	static uint8_t buf[CAP / 8 + 16];
	uint64_t tail = f->log.meta->tail, want_end = tail;
	size_t nfrag = len == 0 ? 1 : (len + MP - 1) / MP;
	int64_t pos;

	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(k * 7 + len);
	for (size_t i = 0; i < nfrag; i++)
		want_end += ALIGN16(FL_FRAME_HEADER + (i + 1 < nfrag ? MP : len - i * MP));
	edge_rx_reset(r);
	pos = fli_log_offer(&f->ap, buf, len);
	if (pos != (int64_t)want_end)
		fail_msg("offer(%zu) = %lld (%s), want position %llu (%zu fragments)", len,
		         (long long)pos, fl_errname((int)pos), (unsigned long long)want_end, nfrag);
	assert_int_equal(drain(f, on_edge_frag, r), (int)nfrag);
	assert_int_equal(f->pos, want_end);
	assert_int_equal(r->frags.n, (int)nfrag);
	for (size_t i = 0; i < nfrag && i < 64; i++) {
		uint32_t want = nfrag == 1       ? FL_FRAG_UNFRAGMENTED
		                : i == 0         ? FL_FRAG_BEGIN
		                : i + 1 == nfrag ? FL_FRAG_END
		                                 : 0;
		size_t wlen = i + 1 < nfrag ? MP : len - i * MP;

		if (r->frags.flags[i] != want || r->frags.lens[i] != wlen)
			fail_msg("offer(%zu): fragment %zu has flags %#x and %zu bytes, want %#x "
			         "and %zu",
			         len, i, r->frags.flags[i], r->frags.lens[i], want, wlen);
	}
	assert_int_equal(r->whole.n, 1);
	assert_int_equal(r->whole.len, len);
	if (memcmp(r->bytes, buf, len) != 0)
		fail_msg("offer(%zu): the reassembled bytes differ", len);
}

/* k fragments' worth of payload and one byte either side, for k = 1..3;
 * the largest message the term takes (CAP / 8: 8 full fragments and 128
 * bytes) and the bytes around it; one byte more is refused with
 * FL_EMSGSIZE and leaves the log as it was. */
static void
message_sizes_at_fragment_edges(void **state)
{
	struct fixture *f = setup_log(true);
	struct edge_rx *r = calloc(1, sizeof(*r));
	static uint8_t big[CAP / 8 + 1];
	struct fl_claim c;
	uint64_t tail;

	connect_sub(f);
	assert_int_equal(f->log.max_payload, MP);
	assert_int_equal(f->log.max_message, CAP / 8);
	for (size_t k = 1; k <= 3; k++) {
		offer_and_check(f, r, k * MP - 1);
		offer_and_check(f, r, k * MP);
		offer_and_check(f, r, k * MP + 1);
	}
	offer_and_check(f, r, 0);
	offer_and_check(f, r, CAP / 8 - 1);
	offer_and_check(f, r, CAP / 8);
	tail = f->log.meta->tail;
	assert_fl(fli_log_offer(&f->ap, big, CAP / 8 + 1), FL_EMSGSIZE);
	assert_int_equal(f->log.meta->tail, tail);
	assert_int_equal(drain(f, on_edge_frag, r), 0);
	offer_and_check(f, r, 1);
	/* try_claim takes one whole fragment's payload, no more. */
	assert_fl(fli_log_try_claim(&f->ap, MP + 1, &c), FL_EMSGSIZE);
	assert_true(fli_log_try_claim(&f->ap, MP, &c) > 0);
	memset(c.data, 0x5a, MP);
	assert_fl(fl_claim_commit(&c), 0);
	edge_rx_reset(r);
	assert_int_equal(drain(f, on_edge_frag, r), 1);
	assert_int_equal(r->frags.lens[0], MP);
	assert_int_equal(r->bytes[MP - 1], 0x5a);
	fl_fragment_assembler_fini(&r->fa);
	free(r);
	teardown_log(f);
}

/* Advances the tail (reading as it goes) until the ring's end is exactly
 * to_end bytes away. */
static void
advance_to(struct fixture *f, uint64_t to_end)
{
	static uint8_t buf[MP];
	struct rx r = { 0 };

	while (CAP - (f->log.meta->tail & (CAP - 1)) != to_end) {
		uint64_t gap = CAP - (f->log.meta->tail & (CAP - 1)) - to_end;
		uint64_t frame = gap > MTU ? MTU : gap;

		assert_true(fli_log_offer(&f->ap, buf, frame - FL_FRAME_HEADER) > 0);
		drain(f, on_frag, &r);
	}
}

/* A message (two whole fragments) whose frames end exactly at the ring's
 * end takes the space without padding and reads back whole; one byte more
 * pads to the end and starts the message on the next lap. */
static void
claim_at_the_ring_end(void **state)
{
	struct fixture *f = setup_log(true);
	struct edge_rx *r = calloc(1, sizeof(*r));
	static uint8_t buf[2 * MP + 1];
	uint64_t start;
	int64_t pos;

	connect_sub(f);
	advance_to(f, 2 * MTU);
	offer_and_check(f, r, 2 * MP); /* no padding: checked there */
	assert_int_equal(f->log.meta->tail & (CAP - 1), 0);
	advance_to(f, 2 * MTU);
	start = f->log.meta->tail;
	memset(buf, 0x33, sizeof(buf));
	pos = fli_log_offer(&f->ap, buf, 2 * MP + 1);
	assert_int_equal(pos, start + 2 * MTU + 2 * MTU + ALIGN16(FL_FRAME_HEADER + 1));
	edge_rx_reset(r);
	assert_int_equal(drain(f, on_edge_frag, r), 3);
	assert_int_equal(r->whole.n, 1);
	assert_int_equal(r->whole.len, 2 * MP + 1);
	assert_int_equal(r->bytes[2 * MP], 0x33);
	assert_int_equal(f->pos, (uint64_t)pos);
	fl_fragment_assembler_fini(&r->fa);
	free(r);
	teardown_log(f);
}

/* Back-pressure counts every active slot, the first and the last: with
 * one slot reading and the other not, the publisher stops within
 * capacity - 16 bytes of the one that does not read, and that one then
 * reads every message in order. */
static void
first_and_last_subscriber_slot(void **state)
{
	static const int lagging[2] = { 0, FL_LOG_MAX_SUBS - 1 };

	for (int t = 0; t < 2; t++) {
		struct fixture *f = setup_log(true);
		struct fli_log_meta *m = f->log.meta;
		int slow = lagging[t], fast = lagging[1 - t];
		uint64_t slow_pos = m->tail, fast_pos = m->tail, offered = 0, start = m->tail;
		uint8_t buf[16];
		struct rx r = { 0 };
		int64_t rc;

		m->slots[slow].position = slow_pos;
		m->slots[fast].position = fast_pos;
		m->slots[slow].state = FL_SLOT_ACTIVE;
		m->slots[fast].state = FL_SLOT_ACTIVE;
		m->subscriber_count = 2;
		/* Bounded: 32-byte frames fill the ring in CAP / 32 offers. */
		for (rc = 0; offered < CAP / 16;) {
			fill(buf, sizeof(buf), offered);
			rc = fli_log_offer(&f->ap, buf, sizeof(buf));
			if (rc < 0)
				break;
			offered++;
			fli_log_read(&f->log, &fast_pos, 42, on_frag, &r, 1 << 20);
			m->slots[fast].position = fast_pos;
		}
		assert_fl(rc, FL_EBACKPRESSURE);
		if (m->tail - start > CAP - FL_FRAME_ALIGN || m->tail - start < CAP - 64)
			fail_msg("slot %d lagging: the publisher stopped %llu bytes ahead of it "
			         "(capacity %u)",
			         slow, (unsigned long long)(m->tail - start), CAP);
		memset(&r, 0, sizeof(r));
		fli_log_read(&f->log, &slow_pos, 42, on_seq, &r, 1 << 20);
		assert_int_equal(r.errors, 0);
		assert_int_equal(r.n, offered);
		assert_int_equal(slow_pos, m->tail);
		teardown_log(f);
	}
}

/* The largest terms' edge: a frame's length field holds 24 bits, and a
 * claim that does not fit before the ring's end pads to it, so in a ring of
 * 2^27 bytes (largest message 2^24) a 2^24-byte message offered 2^24 bytes
 * before the end needs a pad of 2^24 bytes: one more than the field holds.
 * The subscriber must read past the pad and get the message whole.  The
 * ring is anonymous memory, touched only where written (~17 MiB a pass). */
struct big_rx {
	struct test_whole whole; /* the message, as test_on_whole keeps it */
	int frags;
	struct fl_fragment_assembler fa;
};

static void
on_big_frag(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct big_rx *r = arg;

	r->frags++;
	fl_fragment_assembler_handler(&r->fa, buf, len, h);
}

static void
pad_longer_than_a_frame_length(void **state)
{
	const uint32_t cap = 1u << 27, mtu = 4096;
	const size_t len = cap / 8, file = fli_log_file_length(cap);
	const uint64_t mp = mtu - FL_FRAME_HEADER;
	struct fli_log log;
	struct fli_log_appender ap;
	struct big_rx r = { 0 };
	uint8_t *msg;
	uint64_t pos, start, total;
	int64_t end;
	void *mem;
	int n;

	/* Pads of the longest frame, one byte more (aligned: 16), 32 more. */
	for (uint64_t to_end = FL_FRAME_MAX_LENGTH; to_end <= len + 16; to_end += 16) {
		mem = mmap(NULL, file, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(mem != MAP_FAILED);
		fli_log_format(mem, cap, mtu, 42, 7, true, 1, 1);
		/* Lap 1, to_end bytes before the end: nothing before it is read. */
		start = 2ull * cap - to_end;
		((struct fli_log_meta *)mem)->tail = start;
		assert_fl(fli_log_attach(&log, mem, file), 0);
		log.meta->slots[0].position = start;
		log.meta->slots[0].state = FL_SLOT_ACTIVE;
		log.meta->subscriber_count = 1;
		fli_log_appender_init(&ap, &log, true);
		assert_int_equal(log.max_message, len);
		msg = malloc(len);
		r.whole.buf = malloc(len);
		r.whole.cap = len;
		for (size_t k = 0; k < len; k++)
			msg[k] = (uint8_t)(k * 7 + (k >> 12));
		total = (len / mp) * ALIGN16(FL_FRAME_HEADER + mp) +
		        ALIGN16(FL_FRAME_HEADER + len % mp);
		end = fli_log_offer(&ap, msg, len);
		assert_int_equal(end, start + to_end + total);
		fl_fragment_assembler_init(&r.fa, test_on_whole, &r.whole);
		r.whole.n = 0;
		r.frags = 0;
		pos = start;
		n = fli_log_read(&log, &pos, 42, on_big_frag, &r, 1 << 20);
		if (n < 0 || r.whole.n != 1 || pos != (uint64_t)end)
			fail_msg("pad of %llu bytes: read %d fragments (%s), %ld messages, stopped "
			         "%llu "
			         "bytes before the tail",
			         (unsigned long long)to_end, n, n < 0 ? fl_errname(n) : "ok",
			         r.whole.n, (unsigned long long)((uint64_t)end - pos));
		assert_int_equal(r.whole.len, len);
		if (memcmp(r.whole.buf, msg, len) != 0)
			fail_msg("pad of %llu bytes: the message came back changed",
			         (unsigned long long)to_end);
		fl_fragment_assembler_fini(&r.fa);
		free(r.whole.buf);
		free(msg);
		munmap(mem, file);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(not_connected_closed_too_large),
		cmocka_unit_test(wrap_backpressure_and_order),
		cmocka_unit_test(fragmentation),
		cmocka_unit_test(stale_payload_is_not_a_frame),
		cmocka_unit_test(claim_commit_abort),
		cmocka_unit_test(corrupt_frame_and_meta),
		cmocka_unit_test(misaligned_tail_is_refused),
		cmocka_unit_test(message_sizes_at_fragment_edges),
		cmocka_unit_test(claim_at_the_ring_end),
		cmocka_unit_test(first_and_last_subscriber_slot),
		cmocka_unit_test(pad_longer_than_a_frame_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
