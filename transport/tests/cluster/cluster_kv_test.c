/*
 * The key-value service (kv.c): put, get, cas and append as a register
 * and a list; the state hash follows the contents, not the history; a
 * command that does not parse changes nothing.
 */
#include "fl_test.h"
#include "kv.h"

static struct fli_kv_result
run(struct fli_kv *kv, enum fli_kv_op op, const char *key, const char *exp, const char *val)
{
	uint8_t cmd[FLI_KV_HDR + 1024];
	struct fli_kv_result res;
	size_t n = fli_kv_encode(op, key, strlen(key), exp, exp ? strlen(exp) : 0, val,
	                         val ? strlen(val) : 0, cmd, sizeof(cmd));

	assert_true(n > 0);
	assert_fl(fli_kv_apply(kv, cmd, n, &res), 0);
	return res;
}

static void
assert_value(struct fli_kv *kv, const char *key, const char *want)
{
	struct fli_kv_result r = run(kv, FLI_KV_GET, key, NULL, NULL);

	if (want == NULL) {
		assert_int_equal(r.status, FLI_KV_NOT_FOUND);
		return;
	}
	assert_int_equal(r.status, FLI_KV_OK);
	assert_int_equal(r.value_len, strlen(want));
	assert_memory_equal(r.value, want, r.value_len);
}

static void
register_and_list_semantics(void **state)
{
	struct fli_kv kv;

	(void)state;
	fli_kv_init(&kv);
	assert_value(&kv, "x", NULL);
	assert_int_equal(run(&kv, FLI_KV_CAS, "x", "", "1").status, FLI_KV_NOT_FOUND);
	assert_int_equal(run(&kv, FLI_KV_PUT, "x", NULL, "1").status, FLI_KV_OK);
	assert_value(&kv, "x", "1");
	assert_int_equal(run(&kv, FLI_KV_CAS, "x", "2", "3").status, FLI_KV_MISMATCH);
	assert_value(&kv, "x", "1");
	assert_int_equal(run(&kv, FLI_KV_CAS, "x", "1", "3").status, FLI_KV_OK);
	assert_value(&kv, "x", "3");
	assert_int_equal(run(&kv, FLI_KV_APPEND, "l", NULL, "a ").status, FLI_KV_OK);
	assert_int_equal(run(&kv, FLI_KV_APPEND, "l", NULL, "b").status, FLI_KV_OK);
	assert_value(&kv, "l", "a b");
	assert_int_equal(kv.count, 2);
	/* Many keys: the table grows and keeps them all. */
	for (int i = 0; i < 1000; i++) {
		char k[16], v[16];
		snprintf(k, sizeof(k), "key%d", i);
		snprintf(v, sizeof(v), "%d", i * 7);
		run(&kv, FLI_KV_PUT, k, NULL, v);
	}
	for (int i = 0; i < 1000; i += 37) {
		char k[16], v[16];
		snprintf(k, sizeof(k), "key%d", i);
		snprintf(v, sizeof(v), "%d", i * 7);
		assert_value(&kv, k, v);
	}
	assert_int_equal(kv.count, 1002);
	fli_kv_fini(&kv);
}

static void
hash_follows_contents(void **state)
{
	struct fli_kv a, b;

	(void)state;
	fli_kv_init(&a);
	fli_kv_init(&b);
	assert_true(fli_kv_hash(&a) == fli_kv_hash(&b));
	run(&a, FLI_KV_PUT, "x", NULL, "1");
	run(&a, FLI_KV_PUT, "y", NULL, "2");
	assert_true(fli_kv_hash(&a) != fli_kv_hash(&b));
	/* Another history to the same contents. */
	run(&b, FLI_KV_PUT, "y", NULL, "9");
	run(&b, FLI_KV_APPEND, "x", NULL, "1");
	assert_true(fli_kv_hash(&a) != fli_kv_hash(&b));
	run(&b, FLI_KV_CAS, "y", "9", "2");
	assert_true(fli_kv_hash(&a) == fli_kv_hash(&b));
	/* A value moved between keys is another state. */
	run(&a, FLI_KV_PUT, "x", NULL, "2");
	run(&a, FLI_KV_PUT, "y", NULL, "1");
	assert_true(fli_kv_hash(&a) != fli_kv_hash(&b));
	fli_kv_fini(&a);
	fli_kv_fini(&b);
}

static void
bad_commands_change_nothing(void **state)
{
	struct fli_kv kv;
	struct fli_kv_result res;
	uint8_t cmd[64];
	size_t n;
	uint64_t h;

	(void)state;
	fli_kv_init(&kv);
	run(&kv, FLI_KV_PUT, "x", NULL, "1");
	h = fli_kv_hash(&kv);
	n = fli_kv_encode(FLI_KV_PUT, "x", 1, NULL, 0, "22", 2, cmd, sizeof(cmd));
	for (size_t len = 0; len < n; len++) {
		assert_fl(fli_kv_apply(&kv, cmd, len, &res), 0);
		assert_int_equal(res.status, FLI_KV_BAD);
	}
	assert_fl(fli_kv_apply(&kv, NULL, 0, &res), 0);
	assert_int_equal(res.status, FLI_KV_BAD);
	cmd[0] = 9; /* unknown op */
	assert_fl(fli_kv_apply(&kv, cmd, n, &res), 0);
	assert_int_equal(res.status, FLI_KV_BAD);
	cmd[0] = FLI_KV_PUT;
	cmd[1] = 1; /* the zero byte */
	assert_fl(fli_kv_apply(&kv, cmd, n, &res), 0);
	assert_int_equal(res.status, FLI_KV_BAD);
	assert_true(fli_kv_hash(&kv) == h);
	/* The encoder refuses what the service would. */
	assert_fl(fli_kv_encode(FLI_KV_PUT, "x", FLI_KV_MAX_KEY + 1, NULL, 0, "", 0, cmd,
	                        sizeof(cmd)),
	          0);
	assert_fl(fli_kv_encode(FLI_KV_PUT, "x", 1, "e", 1, "", 0, cmd, sizeof(cmd)), 0);
	fli_kv_fini(&kv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(register_and_list_semantics),
		cmocka_unit_test(hash_follows_contents),
		cmocka_unit_test(bad_commands_change_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
