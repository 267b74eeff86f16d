/*
 * The client session frames (session_wire.c): each type round-trips;
 * every truncation, a byte too many, an oversized field, another version
 * and each field out of its range are refused with the reason named;
 * random mutations of valid frames decode to FL_EPROTO or to a frame
 * that encodes back to the same bytes, never a read outside the frame
 * (each decoded copy is exactly its length: memcheck and ASan see a read
 * past it).
 */
#include "fl_test.h"

#include "session_wire.h"

static const uint8_t command[] = { FLI_KV_PUT, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'k', 'v' };

/* One valid frame of each type. */
static const struct fli_sw_msg frames[] = {
	{ .type = FLI_SW_CONNECT,
	  .correlation = 77,
	  .stream = 2001,
	  .data = (const uint8_t *)"egress",
	  .len = 6 },
	{ .type = FLI_SW_KEEPALIVE, .term = 3, .session = 12 },
	{ .type = FLI_SW_CLOSE, .term = 3, .session = 12 },
	{ .type = FLI_SW_COMMAND,
	  .term = 3,
	  .session = 12,
	  .correlation = 78,
	  .data = command,
	  .len = sizeof(command) },
	{ .type = FLI_SW_SESSION_EVENT,
	  .code = FLI_SW_REDIRECT,
	  .leader = 2,
	  .stream = 1102,
	  .term = 3,
	  .correlation = 77,
	  .data = (const uint8_t *)"see 2",
	  .len = 5 },
	{ .type = FLI_SW_NEW_LEADER, .leader = 1, .stream = 1101, .term = 4, .session = 12 },
	{ .type = FLI_SW_RESPONSE,
	  .code = FLI_KV_OK,
	  .term = 4,
	  .session = 12,
	  .correlation = 78,
	  .index = 40,
	  .data = (const uint8_t *)"v",
	  .len = 1 },
};

#define NFRAMES (sizeof(frames) / sizeof(frames[0]))

static void
assert_same(const struct fli_sw_msg *a, const struct fli_sw_msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->code, b->code);
	assert_int_equal(a->leader, b->leader);
	assert_int_equal(a->stream, b->stream);
	assert_fl(a->term, b->term);
	assert_fl(a->session, b->session);
	assert_fl(a->correlation, b->correlation);
	assert_fl(a->index, b->index);
	assert_int_equal(a->len, b->len);
	if (a->len > 0)
		assert_memory_equal(a->data, b->data, a->len);
}

static void
round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < NFRAMES; i++) {
		uint8_t buf[FLI_SW_EGRESS_MAX];
		struct fli_sw_msg got;
		size_t n = fli_sw_encode(&frames[i], buf, sizeof(buf));

		assert_true(n > 0);
		assert_int_equal(n, fli_sw_size(&frames[i]));
		assert_fl(fli_sw_encode(&frames[i], buf, n - 1), 0); /* does not fit */
		assert_fl(fli_sw_decode(buf, n, &got, NULL), 0);
		assert_same(&got, &frames[i]);
		assert_true(got.len == 0 || (got.data >= buf && got.data + got.len == buf + n));
	}
}

/* Decodes a copy of exactly len bytes of buf; returns the reason. */
static const char *
refused(const uint8_t *buf, size_t len)
{
	uint8_t *cut = malloc(len > 0 ? len : 1);
	struct fli_sw_msg got;
	const char *why = NULL;

	memcpy(cut, buf, len);
	assert_fl(fli_sw_decode(cut, len, &got, &why), FL_EPROTO);
	free(cut);
	assert_non_null(why);
	return why;
}

static void
every_truncation_and_extra_byte_is_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < NFRAMES; i++) {
		uint8_t buf[FLI_SW_EGRESS_MAX + 1] = { 0 };
		size_t n = fli_sw_encode(&frames[i], buf, sizeof(buf));

		for (size_t len = 0; len < n; len++)
			(void)refused(buf, len);
		assert_string_equal(refused(buf, n + 1), "data length is not the frame's");
	}
}

/* Fields too long for their type: refused by both sides. */
static void
oversized_fields_are_refused(void **state)
{
	static uint8_t big[FLI_SW_MAX_COMMAND + 2];
	uint8_t buf[FLI_SW_INGRESS_MAX + 64];
	struct fli_sw_msg m;
	size_t n;

	(void)state;
	memset(big, 'a', sizeof(big));
	/* A channel of FL_NAME_MAX bytes is the longest. */
	m = frames[0];
	m.data = big;
	m.len = FL_NAME_MAX;
	n = fli_sw_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	m.len = FL_NAME_MAX + 1;
	assert_fl(fli_sw_encode(&m, buf, sizeof(buf)), 0);
	/* The same frame with its length field and one more byte. */
	buf[4]++;
	buf[n] = 'a';
	assert_string_equal(refused(buf, n + 1), "data length out of range");
	/* The longest command, and one byte more. */
	m = frames[3];
	m.data = big;
	m.len = FLI_SW_MAX_COMMAND;
	n = fli_sw_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, FLI_SW_INGRESS_MAX);
	m.len++;
	assert_fl(fli_sw_encode(&m, buf, sizeof(buf)), 0);
	buf[4]++;
	buf[n] = 'a';
	assert_string_equal(refused(buf, n + 1), "data length out of range");
	/* An empty command, a detail too long, a value too long. */
	m = frames[3];
	m.len = 0;
	assert_fl(fli_sw_encode(&m, buf, sizeof(buf)), 0);
	m = frames[4];
	m.data = big;
	m.len = FLI_SW_MAX_DETAIL + 1;
	assert_fl(fli_sw_encode(&m, buf, sizeof(buf)), 0);
	m = frames[6];
	m.data = big;
	m.len = FLI_KV_MAX_VALUE + 1;
	assert_fl(fli_sw_encode(&m, buf, sizeof(buf)), 0);
}

/* What each field is checked for, in frames that are otherwise valid. */
static void
bad_fields_are_named(void **state)
{
	static const struct {
		size_t frame, at;
		uint8_t value;
		const char *why;
	} cases[] = {
		{ 1, 0, 0x00, "bad magic" },
		{ 1, 2, 2, "unknown version" },
		{ 1, 2, 0, "unknown version" },
		{ 1, 3, 0, "unknown frame type" },
		{ 1, 3, 5, "unknown frame type" },
		{ 1, 3, 19, "unknown frame type" },
		{ 1, 4, 1, "data length is not the frame's" },
		{ 1, 7, 0x80, "data length is not the frame's" },
		{ 0, 20, 1, "nonzero reserved bytes" },
		{ 0, 24, '/', "invalid response channel" },
		{ 0, 24, ' ', "invalid response channel" },
		{ 0, 24, 0, "invalid response channel" },
		{ 1, 8, 0, "session or term 0" },  /* term 3 -> 0 */
		{ 1, 16, 0, "session or term 0" }, /* session 12 -> 0 */
		{ 3, 16, 0, "session or term 0" }, /* a command's session */
		{ 4, 34, 5, "event code or leader out of range" },
		{ 4, 32, 5, "event code or leader out of range" },
		{ 4, 33, 0x80, "event code or leader out of range" },
		{ 4, 35, 1, "nonzero reserved bytes" },
		{ 4, 40, 0x07, "detail not printable ASCII" },
		{ 4, 40, 0x80, "detail not printable ASCII" },
		{ 5, 24, 0xff, "leader out of range" }, /* leader 1 -> 255 */
		{ 5, 26, 1, "nonzero reserved bytes" },
		{ 6, 32, 0, "index 0 or status out of range" },
		{ 6, 40, 4, "index 0 or status out of range" },
		{ 6, 47, 1, "nonzero reserved bytes" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[FLI_SW_EGRESS_MAX];
		size_t n = fli_sw_encode(&frames[cases[i].frame], buf, sizeof(buf));
		const char *why;

		assert_true(cases[i].at < n);
		buf[cases[i].at] = cases[i].value;
		why = refused(buf, n);
		if (strcmp(why, cases[i].why) != 0)
			fail_msg("frame %zu byte %zu = %u: \"%s\", want \"%s\"", cases[i].frame,
			         cases[i].at, cases[i].value, why, cases[i].why);
	}
	/* ".." anywhere in a channel. */
	{
		struct fli_sw_msg m = frames[0];
		uint8_t buf[64];
		m.data = (const uint8_t *)"a..b";
		m.len = 4;
		assert_fl(fli_sw_encode(&m, buf, sizeof(buf)), 0);
	}
}

/* Random mutations: what decodes is canonical (encodes back to the same
 * bytes) and points inside its frame. */
static void
mutations_never_read_out_of_bounds(void **state)
{
	uint64_t x = 88172645463325252ull, ok = 0;
	unsigned rounds = test_scale(400000, 20);

	(void)state;
	for (unsigned r = 0; r < rounds; r++) {
		uint8_t buf[FLI_SW_EGRESS_MAX], again[FLI_SW_EGRESS_MAX], *copy;
		size_t n, len;
		struct fli_sw_msg got;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = fli_sw_encode(&frames[x % NFRAMES], buf, sizeof(buf));
		len = n;
		for (int f = 0; f < 1 + (int)((x >> 4) % 3); f++)
			buf[(x >> (8 + 8 * f)) % n] ^= (uint8_t)(1u << ((x >> (40 + 3 * f)) & 7));
		if ((x >> 60) == 0)
			len = (x >> 20) % n;
		copy = malloc(len > 0 ? len : 1);
		memcpy(copy, buf, len);
		if (fli_sw_decode(copy, len, &got, NULL) == 0) {
			ok++;
			assert_true(got.len == 0 ||
			            (got.data >= copy && got.data + got.len == copy + len));
			assert_int_equal(fli_sw_encode(&got, again, sizeof(again)), len);
			assert_memory_equal(again, copy, len);
		}
		free(copy);
	}
	assert_true(ok > 0); /* flips of data and of unchecked values decode */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(every_truncation_and_extra_byte_is_refused),
		cmocka_unit_test(oversized_fields_are_refused),
		cmocka_unit_test(bad_fields_are_named),
		cmocka_unit_test(mutations_never_read_out_of_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
