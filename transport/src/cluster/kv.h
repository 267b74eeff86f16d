/*
 * The cluster's service: a deterministic key-value state machine, applied
 * in log order on every node, so nodes that applied the same entries hold
 * the same map (fli_kv_hash says so in one number).
 *
 * A command is one log entry's data:
 *   u8 op, u8 zero, u16 key length, u32 value length, u32 expected
 *   length, then the key, the expected value (cas) and the value.
 * A command that does not parse applies as nothing, with FLI_KV_BAD, on
 * every node alike: input, never a crash.
 */
#ifndef FLI_KV_H
#define FLI_KV_H

#include <stddef.h>
#include <stdint.h>

enum fli_kv_op { FLI_KV_PUT = 1, FLI_KV_GET = 2, FLI_KV_CAS = 3, FLI_KV_APPEND = 4 };

enum fli_kv_status {
	FLI_KV_OK = 0,
	FLI_KV_NOT_FOUND = 1, /* get or cas of a key with no value */
	FLI_KV_MISMATCH = 2,  /* cas: the value was not the expected one */
	FLI_KV_BAD = 3,       /* the command does not parse */
};

#define FLI_KV_HDR       12u
#define FLI_KV_MAX_KEY   256u
#define FLI_KV_MAX_VALUE 4096u

struct fli_kv_slot;

struct fli_kv {
	struct fli_kv_slot *slots;
	uint64_t cap, count;
	uint64_t hash; /* of every (key, value): a sum, so order does not matter */
};

/* The outcome of one command; value (get: the value; others: none) is
 * valid until the next fli_kv_apply or fli_kv_fini. */
struct fli_kv_result {
	enum fli_kv_status status;
	const uint8_t *value;
	uint32_t value_len;
};

void fli_kv_init(struct fli_kv *kv);
void fli_kv_fini(struct fli_kv *kv);

/* fli_kv_apply applies cmd.  Returns 0, or FL_ENOMEM (the map is then
 * unchanged; a node stops rather than diverge). */
int fli_kv_apply(struct fli_kv *kv, const uint8_t *cmd, size_t len, struct fli_kv_result *res);

/* fli_kv_hash: one number for the map's contents. */
uint64_t fli_kv_hash(const struct fli_kv *kv);

/* fli_kv_encode writes a command to buf (cap bytes); returns its length,
 * or 0 if it does not fit or a length is over its maximum.  exp is only
 * for FLI_KV_CAS (may be NULL otherwise). */
size_t fli_kv_encode(enum fli_kv_op op, const void *key, size_t key_len, const void *exp,
                     size_t exp_len, const void *val, size_t val_len, uint8_t *buf, size_t cap);

#endif
