/*
 * Log buffer: offer/read, wrap with padding, fragmentation, lap checks
 * (stale bytes never pass for a frame), back-pressure, not connected,
 * closed, too large, try_claim commit/abort, corrupt frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "log_buffer.h"

#define CAP FL_LOG_MIN_CAP
#define MTU 1024

struct rx {
	int n;
	uint64_t next;  /* expected sequence */
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
	struct fl_log log;
	struct fl_log_appender ap;
	uint64_t pos;  /* the subscriber */
};

static struct fixture *
setup_log(bool exclusive)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->mem = aligned_alloc(4096, fl_log_file_length(CAP));
	memset(f->mem, 0, fl_log_file_length(CAP));
	fl_log_format(f->mem, CAP, MTU, 42, 7, exclusive, 1, 1);
	assert_fl(fl_log_attach(&f->log, f->mem, fl_log_file_length(CAP)), 0);
	fl_log_appender_init(&f->ap, &f->log, exclusive);
	return f;
}

static void
connect_sub(struct fixture *f)
{
	struct fl_log_meta *m = f->log.meta;

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
	int n = fl_log_read(&f->log, &f->pos, 42, h, arg, 1 << 20);

	f->log.meta->slots[0].position = f->pos;
	return n;
}

static void
not_connected_closed_too_large(void **state)
{
	struct fixture *f = setup_log(true);
	uint8_t buf[16] = {0};

	assert_fl(fl_log_offer(&f->ap, buf, 8), FL_ENOT_CONNECTED);
	connect_sub(f);
	assert_true(fl_log_offer(&f->ap, buf, 8) > 0);
	assert_fl(fl_log_offer(&f->ap, buf, CAP / 8 + 1), FL_EMSGSIZE);
	f->log.meta->closed = 1;
	assert_fl(fl_log_offer(&f->ap, buf, 8), FL_ECLOSED);
	teardown_log(f);
}

static void
wrap_backpressure_and_order(void **state)
{
	struct fixture *f = setup_log(true);
	static uint8_t buf[MTU];
	struct rx r = {0};
	uint64_t seq = 0;
	int bp = 0;

	connect_sub(f);
	/* Offer odd sizes through ~20 laps; read only when back-pressured. */
	while (seq < 5000) {
		size_t len = 8 + (seq * 37) % (MTU - 16 - 8);
		int64_t rc;

		fill(buf, len, seq);
		rc = fl_log_offer(&f->ap, buf, len);
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
	struct rx r = {0};

	connect_sub(f);
	fill(buf, len, 9);
	assert_true(fl_log_offer(&f->ap, buf, len) > 0);
	assert_int_equal(drain(f, on_frag, &r), 4);
	assert_int_equal(r.flags[0], FL_FRAG_BEGIN);
	assert_int_equal(r.flags[1], 0);
	assert_int_equal(r.flags[3], FL_FRAG_END);
	assert_int_equal(r.lens[3], 5);
	/* An empty message is one unfragmented frame. */
	assert_true(fl_log_offer(&f->ap, buf, 0) > 0);
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
	struct rx r = {0};
	uint8_t buf[64] = {0};

	connect_sub(f);
	assert_true(fl_log_offer(&f->ap, buf, 8) > 0);
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
	struct rx r = {0};

	connect_sub(f);
	assert_fl(fl_log_try_claim(&f->ap, MTU, &c), FL_EMSGSIZE);
	assert_true(fl_log_try_claim(&f->ap, 10, &c) > 0);
	memset(c.data, 1, 10);
	/* Not committed yet: nothing visible. */
	assert_int_equal(drain(f, on_frag, &r), 0);
	assert_fl(fl_claim_commit(&c), 0);
	assert_fl(fl_claim_commit(&c), FL_EINVAL);
	assert_int_equal(drain(f, on_frag, &r), 1);
	assert_true(fl_log_try_claim(&f->ap, 10, &c) > 0);
	assert_fl(fl_claim_abort(&c), 0);
	assert_true(fl_log_offer(&f->ap, "abc", 3) > 0);
	assert_int_equal(drain(f, on_frag, &r), 1);
	assert_int_equal(r.lens[1], 3);
	assert_int_equal(f->pos, f->log.meta->tail);
	teardown_log(f);
}

static void
corrupt_frame_and_meta(void **state)
{
	struct fixture *f = setup_log(true);
	struct rx r = {0};
	uint8_t buf[8] = {0};

	connect_sub(f);
	assert_true(fl_log_offer(&f->ap, buf, 8) > 0);
	assert_int_equal(drain(f, on_frag, &r), 1);
	((struct fl_log_meta *)f->mem)->capacity = 12345;
	{
		struct fl_log l2;

		assert_fl(fl_log_attach(&l2, f->mem, fl_log_file_length(CAP)), FL_EPROTO);
	}
	((struct fl_log_meta *)f->mem)->capacity = CAP;
	((struct fl_log_meta *)f->mem)->magic = 1;
	{
		struct fl_log l2;

		assert_fl(fl_log_attach(&l2, f->mem, fl_log_file_length(CAP)), FL_EPROTO);
	}
	teardown_log(f);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
