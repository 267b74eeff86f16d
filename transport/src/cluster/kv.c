/*
 * The key-value service (kv.h): an open-addressing map of byte strings.
 */
#include "kv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"

struct fli_kv_slot {
	uint8_t *key; /* NULL: empty */
	uint8_t *val;
	uint32_t key_len, val_len;
	uint64_t key_hash;
};

/* FNV-1a, then a final mix: keys are short and often alike. */
static uint64_t
bytes_hash(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static uint64_t
pair_hash(const struct fli_kv_slot *s)
{
	return bytes_hash(s->val, s->val_len, s->key_hash ^ 0x9e3779b97f4a7c15ull);
}

void
fli_kv_init(struct fli_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
}

void
fli_kv_fini(struct fli_kv *kv)
{
	for (uint64_t i = 0; i < kv->cap; i++) {
		free(kv->slots[i].key);
		free(kv->slots[i].val);
	}
	free(kv->slots);
	memset(kv, 0, sizeof(*kv));
}

uint64_t
fli_kv_hash(const struct fli_kv *kv)
{
	return kv->hash + kv->count;
}

static struct fli_kv_slot *
find(const struct fli_kv *kv, const uint8_t *key, uint32_t len, uint64_t h)
{
	if (kv->cap == 0)
		return NULL;
	for (uint64_t i = h & (kv->cap - 1);; i = (i + 1) & (kv->cap - 1)) {
		struct fli_kv_slot *s = &kv->slots[i];
		if (s->key == NULL)
			return s;
		if (s->key_hash == h && s->key_len == len && memcmp(s->key, key, len) == 0)
			return s;
	}
}

static int
grow(struct fli_kv *kv)
{
	uint64_t cap = kv->cap ? 2 * kv->cap : 64;
	struct fli_kv_slot *old = kv->slots, *ns = calloc(cap, sizeof(*ns));

	if (ns == NULL)
		return FL_ENOMEM;
	kv->slots = ns;
	for (uint64_t i = 0; i < kv->cap; i++) {
		uint64_t j;
		if (old[i].key == NULL)
			continue;
		for (j = old[i].key_hash & (cap - 1); ns[j].key != NULL; j = (j + 1) & (cap - 1))
			;
		ns[j] = old[i];
	}
	kv->cap = cap;
	free(old);
	return 0;
}

/* Sets s's value to a ++ b (either may be empty). */
static int
set_value(struct fli_kv *kv, struct fli_kv_slot *s, const uint8_t *a, uint32_t alen,
          const uint8_t *b, uint32_t blen)
{
	uint8_t *v = malloc(alen + blen > 0 ? alen + blen : 1);

	if (v == NULL)
		return FL_ENOMEM;
	if (alen > 0)
		memcpy(v, a, alen);
	if (blen > 0)
		memcpy(v + alen, b, blen);
	kv->hash -= pair_hash(s);
	free(s->val);
	s->val = v;
	s->val_len = alen + blen;
	kv->hash += pair_hash(s);
	return 0;
}

int
fli_kv_apply(struct fli_kv *kv, const uint8_t *cmd, size_t len, struct fli_kv_result *res)
{
	uint32_t klen, vlen, elen;
	const uint8_t *key, *exp, *val;
	struct fli_kv_slot *s;
	uint64_t h;
	uint8_t op;

	memset(res, 0, sizeof(*res));
	res->status = FLI_KV_BAD;
	if (cmd == NULL || len < FLI_KV_HDR || cmd[1] != 0)
		return 0;
	op = cmd[0];
	klen = (uint32_t)(cmd[2] | (cmd[3] << 8));
	vlen = (uint32_t)cmd[4] | (uint32_t)cmd[5] << 8 | (uint32_t)cmd[6] << 16 |
	       (uint32_t)cmd[7] << 24;
	elen = (uint32_t)cmd[8] | (uint32_t)cmd[9] << 8 | (uint32_t)cmd[10] << 16 |
	       (uint32_t)cmd[11] << 24;
	if (op < FLI_KV_PUT || op > FLI_KV_APPEND || klen > FLI_KV_MAX_KEY ||
	    vlen > FLI_KV_MAX_VALUE || elen > FLI_KV_MAX_VALUE || (op != FLI_KV_CAS && elen != 0) ||
	    (op == FLI_KV_GET && vlen != 0) || (size_t)FLI_KV_HDR + klen + elen + vlen != len)
		return 0;
	key = cmd + FLI_KV_HDR;
	exp = key + klen;
	val = exp + elen;
	h = bytes_hash(key, klen, 0xcbf29ce484222325ull);
	if (kv->count + 1 > kv->cap / 2 && (op == FLI_KV_PUT || op == FLI_KV_APPEND) &&
	    grow(kv) != 0)
		return FL_ENOMEM;
	s = find(kv, key, klen, h);
	res->status = FLI_KV_OK;
	if (op == FLI_KV_GET || op == FLI_KV_CAS) {
		if (s == NULL || s->key == NULL) {
			res->status = FLI_KV_NOT_FOUND;
			return 0;
		}
		if (op == FLI_KV_GET) {
			res->value = s->val;
			res->value_len = s->val_len;
			return 0;
		}
		if (s->val_len != elen || memcmp(s->val, exp, elen) != 0) {
			res->status = FLI_KV_MISMATCH;
			return 0;
		}
		return set_value(kv, s, val, vlen, NULL, 0);
	}
	if (s->key == NULL) {
		uint8_t *k = malloc(klen > 0 ? klen : 1);
		if (k == NULL)
			return FL_ENOMEM;
		memcpy(k, key, klen);
		*s = (struct fli_kv_slot){ .key = k, .key_len = klen, .key_hash = h };
		kv->count++;
		kv->hash += pair_hash(s);
	}
	if (op == FLI_KV_PUT)
		return set_value(kv, s, val, vlen, NULL, 0);
	return set_value(kv, s, s->val, s->val_len, val, vlen);
}

size_t
fli_kv_encode(enum fli_kv_op op, const void *key, size_t key_len, const void *exp, size_t exp_len,
              const void *val, size_t val_len, uint8_t *buf, size_t cap)
{
	size_t n = FLI_KV_HDR + key_len + exp_len + val_len;

	if (key_len > FLI_KV_MAX_KEY || exp_len > FLI_KV_MAX_VALUE || val_len > FLI_KV_MAX_VALUE ||
	    n > cap || (op != FLI_KV_CAS && exp_len != 0))
		return 0;
	memset(buf, 0, FLI_KV_HDR);
	buf[0] = (uint8_t)op;
	buf[2] = (uint8_t)key_len;
	buf[3] = (uint8_t)(key_len >> 8);
	for (int i = 0; i < 4; i++) {
		buf[4 + i] = (uint8_t)(val_len >> (8 * i));
		buf[8 + i] = (uint8_t)(exp_len >> (8 * i));
	}
	if (key_len > 0)
		memcpy(buf + FLI_KV_HDR, key, key_len);
	if (exp_len > 0)
		memcpy(buf + FLI_KV_HDR + key_len, exp, exp_len);
	if (val_len > 0)
		memcpy(buf + FLI_KV_HDR + key_len + exp_len, val, val_len);
	return n;
}
