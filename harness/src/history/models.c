/*
 * The built-in models: a register (read, write, cas), as Jepsen's etcd
 * and cas-register tests use it, one per :key when the ops have keys,
 * and a key-value map (get, put, append, cas), one independent object
 * per key, as the cluster's kv service has them.  Each is the table
 * fl_history_model describes; a user's model is written the same way.
 */
#include "faultline/history.h"
#include "faultline/error.h"
#include "history_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int
fl_history_state_set(struct fl_history_state *s, const void *p, size_t n)
{
	s->len = 0;
	return fl_history_state_append(s, p, n);
}

int
fl_history_state_append(struct fl_history_state *s, const void *p, size_t n)
{
	if (s->cap - s->len < n) {
		size_t cap = s->cap ? s->cap : 64;
		while (cap - s->len < n)
			cap *= 2;
		unsigned char *d = realloc(s->data, cap);
		if (!d)
			return FL_ENOMEM;
		s->data = d;
		s->cap = cap;
	}
	if (n)
		memcpy(s->data + s->len, p, n);
	s->len += n;
	return 0;
}

/* ---- values ---- */

bool
fl_hvalue_equal(const struct fl_hvalue *a, const struct fl_hvalue *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case FL_HV_ABSENT:
	case FL_HV_NIL: return true;
	case FL_HV_BOOL:
	case FL_HV_INT: return a->i == b->i;
	case FL_HV_STRING:
	case FL_HV_KEYWORD:
	case FL_HV_OTHER: return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
	case FL_HV_LIST:
	case FL_HV_MAP:
	case FL_HV_SET: /* in the order written */
		if (a->len != b->len)
			return false;
		for (size_t i = 0; i < a->len; i++)
			if (!fl_hvalue_equal(&a->item[i], &b->item[i]))
				return false;
		return true;
	}
	return false;
}

static uint64_t
mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
	return h * 0xBF58476D1CE4E5B9ull;
}

uint64_t
fli_hvalue_hash(const struct fl_hvalue *v)
{
	uint64_t h = mix(0, (uint64_t)v->kind);
	switch (v->kind) {
	case FL_HV_ABSENT:
	case FL_HV_NIL: break;
	case FL_HV_BOOL:
	case FL_HV_INT: h = mix(h, (uint64_t)v->i); break;
	case FL_HV_STRING:
	case FL_HV_KEYWORD:
	case FL_HV_OTHER:
		for (size_t i = 0; i < v->len; i++)
			h = mix(h, (unsigned char)v->s[i]);
		break;
	case FL_HV_LIST:
	case FL_HV_MAP:
	case FL_HV_SET:
		for (size_t i = 0; i < v->len; i++)
			h = mix(h, fli_hvalue_hash(&v->item[i]));
		break;
	}
	return h;
}

void
fl_hvalue_format(const struct fl_hvalue *v, char *buf, size_t n)
{
	if (!n)
		return;
	buf[0] = '\0';
	switch (v->kind) {
	case FL_HV_ABSENT: snprintf(buf, n, "(none)"); break;
	case FL_HV_NIL: snprintf(buf, n, "nil"); break;
	case FL_HV_BOOL: snprintf(buf, n, "%s", v->i ? "true" : "false"); break;
	case FL_HV_INT: snprintf(buf, n, "%" PRId64, v->i); break;
	case FL_HV_KEYWORD: snprintf(buf, n, ":%s", v->s); break;
	case FL_HV_OTHER: snprintf(buf, n, "%s", v->s); break;
	case FL_HV_STRING: {
		size_t k = 0;
		buf[k++] = '"';
		for (size_t i = 0; i < v->len && k + 3 < n; i++) {
			char c = v->s[i];
			if (c == '"' || c == '\\') {
				buf[k++] = '\\';
			} else if (c == '\n') {
				buf[k++] = '\\';
				c = 'n';
			}
			buf[k++] = c;
		}
		if (k + 1 < n)
			buf[k++] = '"';
		buf[k < n ? k : n - 1] = '\0';
		break;
	}
	case FL_HV_LIST:
	case FL_HV_MAP:
	case FL_HV_SET: {
		const char *open = v->kind == FL_HV_LIST ? "[" : v->kind == FL_HV_MAP ? "{" : "#{";
		size_t k = (size_t)snprintf(buf, n, "%s", open);
		for (size_t i = 0; i < v->len && k < n; i++) {
			if (i && k + 1 < n)
				buf[k++] = ' ';
			fl_hvalue_format(&v->item[i], buf + k, n - k);
			k += strlen(buf + k);
		}
		if (k + 1 < n) {
			buf[k++] = v->kind == FL_HV_LIST ? ']' : '}';
			buf[k] = '\0';
		}
		break;
	}
	}
}

/* A completion of an op that writes repeats the op's value: Jepsen's
 * clients answer with the op they were given.  One that says another
 * leaves open which was written (Knossos takes the completion's value for
 * an ok op, these models the invocation's), so it is refused rather than
 * one of them guessed.  A completion with no value says nothing. */
static bool
echoes(const struct fl_history_op *op)
{
	return op->out.kind == FL_HV_ABSENT || fl_hvalue_equal(&op->out, &op->in);
}

/* ---- the register: nil or an integer ---- */

enum { REG_READ = 1, REG_WRITE, REG_CAS };

/* State bytes: 0 for nil, or 1 and the integer's 8 bytes. */
static bool
reg_value(const struct fl_hvalue *v)
{
	return v->kind == FL_HV_NIL || v->kind == FL_HV_INT;
}

static int
reg_set(struct fl_history_state *s, const struct fl_hvalue *v)
{
	unsigned char b[9] = { 0 };
	if (v->kind == FL_HV_NIL)
		return fl_history_state_set(s, b, 1);
	b[0] = 1;
	memcpy(b + 1, &v->i, 8);
	return fl_history_state_set(s, b, 9);
}

static bool
reg_holds(const struct fl_history_state *s, const struct fl_hvalue *v)
{
	if (v->kind == FL_HV_NIL)
		return s->data[0] == 0;
	int64_t x;
	memcpy(&x, s->data + 1, 8);
	return s->data[0] == 1 && x == v->i;
}

static const char *
reg_check(struct fl_history_op *op)
{
	if (strcmp(op->f, "read") == 0) {
		op->fcode = REG_READ;
		if (op->outcome == FL_HOP_OK && !reg_value(&op->out))
			return "the answer of a read must be nil or an integer";
		return NULL;
	}
	if (strcmp(op->f, "write") == 0) {
		op->fcode = REG_WRITE;
		if (!reg_value(&op->in))
			return "a write's value must be nil or an integer";
		/* a failed write is dropped: its answer is not read */
		if (op->outcome == FL_HOP_OK && !echoes(op))
			return "the answer of a write must repeat the value written";
		return NULL;
	}
	if (strcmp(op->f, "cas") == 0) {
		op->fcode = REG_CAS;
		if (op->in.kind != FL_HV_LIST || op->in.len != 2 || !reg_value(&op->in.item[0]) ||
		    !reg_value(&op->in.item[1]))
			return "a cas's value must be [OLD NEW], each nil or an integer";
		/* a failed cas is an observation of OLD (reg_step): its answer
		 * must be the same cas, not, say, :timed-out, which is info */
		if (op->outcome != FL_HOP_INFO && !echoes(op))
			return "the answer of a cas must repeat its [OLD NEW]";
		return NULL;
	}
	return "the register's functions are read, write and cas";
}

static int
reg_init(struct fl_history_state *s)
{
	static const struct fl_hvalue nil = { .kind = FL_HV_NIL };
	return reg_set(s, &nil);
}

static int
reg_step(const struct fl_history_state *state, const struct fl_history_op *op,
         struct fl_history_state *next)
{
	switch (op->fcode) {
	case REG_READ:
		if (op->outcome == FL_HOP_OK && !reg_holds(state, &op->out))
			return 0;
		break;
	case REG_WRITE: return reg_set(next, &op->in) ? FL_ENOMEM : 1;
	case REG_CAS:
		if (op->outcome == FL_HOP_FAIL) /* the compare failed: it saw another value */
			return reg_holds(state, &op->in.item[0])                     ? 0
			       : fl_history_state_set(next, state->data, state->len) ? FL_ENOMEM
			                                                             : 1;
		/* ok, or info: an info cas whose compare fails changes nothing,
		 * the same as not taking effect, which the search tries anyway */
		if (!reg_holds(state, &op->in.item[0]))
			return 0;
		return reg_set(next, &op->in.item[1]) ? FL_ENOMEM : 1;
	}
	return fl_history_state_set(next, state->data, state->len) ? FL_ENOMEM : 1;
}

static bool
reg_step_fail(const struct fl_history_op *op)
{
	return op->fcode == REG_CAS;
}

static bool
reg_read_only(const struct fl_history_op *op)
{
	return op->fcode == REG_READ;
}

static void
reg_describe(const struct fl_history_state *s, char *buf, size_t n)
{
	int64_t x;
	if (s->data[0] == 0) {
		snprintf(buf, n, "nil");
		return;
	}
	memcpy(&x, s->data + 1, 8);
	snprintf(buf, n, "%" PRId64, x);
}

const struct fl_history_model fl_history_register = {
	.name = "register",
	.check_op = reg_check,
	.init = reg_init,
	.step = reg_step,
	.step_fail = reg_step_fail,
	.read_only = reg_read_only,
	/* Ops with a :key are on the register of that key, each checked on
	 * its own, as the kv model's keys are; judging them as one register
	 * would let a write to "a" explain a read of "b".  A history without
	 * keys is the one register it always was (one part, its key absent);
	 * fl_history_check_ops refuses one that mixes the two. */
	.per_key = true,
	.describe = reg_describe,
};

/* ---- the key-value map: per key, absent or a string ---- */

enum { KV_GET = 1, KV_PUT, KV_APPEND, KV_CAS };

/* Does the key hold exactly the string v?  An absent key holds nothing, not
 * "": the service answers a cas on it NOT_FOUND, whatever it expected. */
static bool
kv_holds(const struct fl_history_state *s, const struct fl_hvalue *v)
{
	return s->len && s->len - 1 == v->len && memcmp(s->data + 1, v->s, v->len) == 0;
}

/* State bytes: empty for an absent key, else 's' and the string. */
static const char *
kv_check(struct fl_history_op *op)
{
	if (op->key.kind == FL_HV_ABSENT)
		return "a key-value op needs a :key";
	if (strcmp(op->f, "get") == 0) {
		op->fcode = KV_GET;
		if (op->outcome == FL_HOP_OK && op->out.kind != FL_HV_STRING &&
		    op->out.kind != FL_HV_NIL)
			return "the answer of a get must be a string or nil";
		return NULL;
	}
	if (strcmp(op->f, "put") == 0 || strcmp(op->f, "append") == 0) {
		op->fcode = op->f[0] == 'p' ? KV_PUT : KV_APPEND;
		if (op->in.kind != FL_HV_STRING)
			return "the value of a put or an append must be a string";
		/* a failed put or append is dropped: its answer is not read */
		if (op->outcome == FL_HOP_OK && !echoes(op))
			return "the answer of a put or an append must repeat its value";
		return NULL;
	}
	if (strcmp(op->f, "cas") == 0) {
		op->fcode = KV_CAS;
		if (op->in.kind != FL_HV_LIST || op->in.len != 2 ||
		    op->in.item[0].kind != FL_HV_STRING || op->in.item[1].kind != FL_HV_STRING)
			return "a cas's value must be [EXPECTED NEW], two strings";
		/* a failed cas is an observation (kv_step): see reg_check */
		if (op->outcome != FL_HOP_INFO && !echoes(op))
			return "the answer of a cas must repeat its [EXPECTED NEW]";
		return NULL;
	}
	return "the key-value map's functions are get, put, append and cas";
}

static int
kv_init(struct fl_history_state *s)
{
	s->len = 0;
	return 0;
}

static int
kv_step(const struct fl_history_state *state, const struct fl_history_op *op,
        struct fl_history_state *next)
{
	static const char tag = 's';
	switch (op->fcode) {
	case KV_GET:
		if (op->outcome != FL_HOP_OK)
			break;
		if (op->out.kind == FL_HV_NIL) { /* nil: the key is absent */
			if (state->len)
				return 0;
		} else if (state->len ? state->len - 1 != op->out.len ||
		                                memcmp(state->data + 1, op->out.s, op->out.len)
		                      : op->out.len != 0) { /* "" answers an absent key too */
			return 0;
		}
		break;
	case KV_PUT:
		if (fl_history_state_set(next, &tag, 1) ||
		    fl_history_state_append(next, op->in.s, op->in.len))
			return FL_ENOMEM;
		return 1;
	case KV_APPEND:
		if (fl_history_state_set(next, &tag, 1) ||
		    fl_history_state_append(next, state->len ? state->data + 1 : NULL,
		                            state->len ? state->len - 1 : 0) ||
		    fl_history_state_append(next, op->in.s, op->in.len))
			return FL_ENOMEM;
		return 1;
	case KV_CAS:
		/* fail: the compare saw the key absent or holding another value,
		 * so it fits only where the key did not hold EXPECTED */
		if (op->outcome == FL_HOP_FAIL)
			return kv_holds(state, &op->in.item[0])                      ? 0
			       : fl_history_state_set(next, state->data, state->len) ? FL_ENOMEM
			                                                             : 1;
		/* ok, or info: an info cas whose compare fails changes nothing,
		 * the same as not taking effect, which the search tries anyway */
		if (!kv_holds(state, &op->in.item[0]))
			return 0;
		if (fl_history_state_set(next, &tag, 1) ||
		    fl_history_state_append(next, op->in.item[1].s, op->in.item[1].len))
			return FL_ENOMEM;
		return 1;
	}
	return fl_history_state_set(next, state->data, state->len) ? FL_ENOMEM : 1;
}

/* A failed cas observed the key: not EXPECTED (see kv_step). */
static bool
kv_step_fail(const struct fl_history_op *op)
{
	return op->fcode == KV_CAS;
}

static bool
kv_read_only(const struct fl_history_op *op)
{
	return op->fcode == KV_GET;
}

static void
kv_describe(const struct fl_history_state *s, char *buf, size_t n)
{
	if (!s->len) {
		snprintf(buf, n, "absent");
		return;
	}
	struct fl_hvalue v = { .kind = FL_HV_STRING,
		               .s = (const char *)s->data + 1,
		               .len = s->len - 1 };
	fl_hvalue_format(&v, buf, n);
}

const struct fl_history_model fl_history_kv = {
	.name = "kv",
	.check_op = kv_check,
	.init = kv_init,
	.step = kv_step,
	.step_fail = kv_step_fail,
	.read_only = kv_read_only,
	.per_key = true,
	.describe = kv_describe,
};

const struct fl_history_model *
fl_history_model_find(const char *name)
{
	if (strcmp(name, "register") == 0)
		return &fl_history_register;
	if (strcmp(name, "kv") == 0)
		return &fl_history_kv;
	return NULL;
}

const struct fl_history_model *
fl_history_guess_model(const struct fl_history *h)
{
	static const struct fl_history_model *const models[] = { &fl_history_register,
		                                                 &fl_history_kv };
	const struct fl_history_model *found = NULL;
	for (size_t m = 0; m < 2; m++) {
		bool all = true;
		for (size_t i = 0; i < h->n && all; i++) {
			struct fl_history_op op = h->ops[i];
			all = models[m]->check_op(&op) == NULL;
		}
		if (all) {
			if (found)
				return NULL;
			found = models[m];
		}
	}
	return found;
}
