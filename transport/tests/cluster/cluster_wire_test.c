/*
 * The consensus wire format (wire.c): a frame round-trips; every
 * truncation, every single-byte change of the header and a million
 * random mutations of a valid frame decode to a message that passes the
 * checks or to FL_EPROTO, never a read outside the frame (memcheck and
 * ASan jobs run this too).
 */
#include "fl_test.h"
#include "wire.h"

static const struct fli_raft_entry ents[] = {
	{ .term = 3, .type = FLI_ENTRY_COMMAND, .len = 5, .data = (const uint8_t *)"hello" },
	{ .term = 4, .type = FLI_ENTRY_NOOP, .len = 0, .data = NULL },
	{ .term = 4, .type = FLI_ENTRY_SESSION_OPEN, .len = 3, .data = (const uint8_t *)"abc" },
};

static const struct fli_raft_msg msg = {
	.type = FLI_MSG_APPEND_REQ,
	.from = 2,
	.to = 0,
	.term = 4,
	.index = 17,
	.log_term = 3,
	.commit = 15,
	.n_entries = 3,
	.entries = ents,
};

static void
round_trip(void **state)
{
	uint8_t buf[512];
	struct fli_raft_entry got_e[FLI_WIRE_MAX_ENTRIES];
	struct fli_raft_msg got;
	size_t n;

	(void)state;
	n = fli_wire_encode(&msg, buf, sizeof(buf));
	assert_int_equal(n, FLI_WIRE_HEADER + 3 * FLI_WIRE_ENTRY_HDR + 8);
	assert_int_equal(fli_wire_size(&msg), n);
	assert_fl(fli_wire_encode(&msg, buf, n - 1), 0); /* does not fit */
	assert_fl(fli_wire_decode(buf, n, &got, got_e, NULL), 0);
	assert_int_equal(got.type, msg.type);
	assert_int_equal(got.from, 2);
	assert_int_equal(got.to, 0);
	assert_fl(got.term, 4);
	assert_fl(got.index, 17);
	assert_fl(got.log_term, 3);
	assert_fl(got.commit, 15);
	assert_int_equal(got.n_entries, 3);
	for (int k = 0; k < 3; k++) {
		assert_fl(got.entries[k].term, ents[k].term);
		assert_int_equal(got.entries[k].type, ents[k].type);
		assert_int_equal(got.entries[k].len, ents[k].len);
		if (ents[k].len > 0)
			assert_memory_equal(got.entries[k].data, ents[k].data, ents[k].len);
	}
}

static void
every_truncation_is_refused(void **state)
{
	uint8_t buf[512];
	struct fli_raft_entry got_e[FLI_WIRE_MAX_ENTRIES];
	struct fli_raft_msg got;
	size_t n = fli_wire_encode(&msg, buf, sizeof(buf));

	(void)state;
	for (size_t len = 0; len < n; len++) {
		/* A copy of exactly len bytes, so a read past it is caught. */
		uint8_t *cut = malloc(len > 0 ? len : 1);
		const char *why = NULL;

		memcpy(cut, buf, len);
		assert_fl(fli_wire_decode(cut, len, &got, got_e, &why), FL_EPROTO);
		assert_non_null(why);
		free(cut);
	}
}

/* What each header field is checked for. */
static void
bad_fields_are_named(void **state)
{
	static const struct {
		size_t at;
		uint8_t value;
		const char *why;
	} cases[] = {
		{ 0, 0x00, "bad magic" },
		{ 2, 9, "unknown version" },
		{ 3, 0, "unknown message type" },
		{ 3, 5, "unknown message type" },
		{ 4, 5, "node id out of range" },
		{ 7, 0x80, "node id out of range" },
		{ 40, 2, "bad flags" },
		{ 41, 1, "bad flags" },
		{ 47, 1, "too many entries" },
		{ 39, 0xff, "index out of range" },
		{ FLI_WIRE_HEADER + 8, 9, "bad entry type" },
		{ FLI_WIRE_HEADER + 0, 9, "entry term out of range" },
		{ FLI_WIRE_HEADER + 15, 1, "entry data past the frame" },
	};
	uint8_t buf[512];
	struct fli_raft_entry got_e[FLI_WIRE_MAX_ENTRIES];
	struct fli_raft_msg got;
	size_t n = fli_wire_encode(&msg, buf, sizeof(buf));

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t copy[512];
		const char *why = NULL;

		memcpy(copy, buf, n);
		copy[cases[i].at] = cases[i].value;
		assert_fl(fli_wire_decode(copy, n, &got, got_e, &why), FL_EPROTO);
		if (strcmp(why, cases[i].why) != 0)
			fail_msg("byte %zu = %u: \"%s\", want \"%s\"", cases[i].at, cases[i].value,
			         why, cases[i].why);
	}
	/* A vote with entries, and bytes after the last entry. */
	{
		struct fli_raft_msg v = msg;
		const char *why = NULL;
		v.type = FLI_MSG_VOTE_REQ;
		n = fli_wire_encode(&v, buf, sizeof(buf));
		assert_fl(fli_wire_decode(buf, n, &got, got_e, &why), FL_EPROTO);
		assert_string_equal(why, "entries in a message that carries none");
		v.n_entries = 0;
		n = fli_wire_encode(&v, buf, sizeof(buf));
		assert_fl(fli_wire_decode(buf, n + 1, &got, got_e, &why), FL_EPROTO);
		assert_string_equal(why, "bytes after the last entry");
	}
}

/* Random mutations: whatever decodes is within its ranges. */
static void
mutations_never_read_out_of_bounds(void **state)
{
	uint8_t buf[512];
	struct fli_raft_entry got_e[FLI_WIRE_MAX_ENTRIES];
	struct fli_raft_msg got;
	size_t n = fli_wire_encode(&msg, buf, sizeof(buf));
	uint64_t x = 88172645463325252ull, ok = 0;
	unsigned rounds = under_valgrind() ? 20000 : 1000000;

	(void)state;
	for (unsigned r = 0; r < rounds; r++) {
		uint8_t copy[512];
		size_t len = n;
		int flips;

		memcpy(copy, buf, n);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		flips = 1 + (int)(x % 4);
		for (int f = 0; f < flips; f++)
			copy[(x >> (8 + 8 * f)) % n] ^= (uint8_t)(1u << ((x >> (40 + 3 * f)) & 7));
		if ((x >> 60) == 0)
			len = (x >> 20) % n;
		if (fli_wire_decode(copy, len, &got, got_e, NULL) == 0) {
			ok++;
			assert_true(got.from < FLI_RAFT_MAX_NODES && got.to < FLI_RAFT_MAX_NODES);
			assert_true(got.n_entries <= FLI_WIRE_MAX_ENTRIES);
			for (uint32_t k = 0; k < got.n_entries; k++)
				assert_true(
				        got.entries[k].data == NULL ||
				        (got.entries[k].data >= copy &&
				         got.entries[k].data + got.entries[k].len <= copy + len));
		}
	}
	/* Flips of the data bytes and of unchecked values do decode. */
	assert_true(ok > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(every_truncation_is_refused),
		cmocka_unit_test(bad_fields_are_named),
		cmocka_unit_test(mutations_never_read_out_of_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
