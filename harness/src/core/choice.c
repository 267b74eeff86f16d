/*
 * The choice stream.  See faultline/choice.h.
 *
 * Generation: splitmix64 expands the seed into xoshiro256** state.  Bounded
 * draws use Lemire's multiply-shift with rejection, so there is no modulo
 * bias and a replayed value is used as it was recorded.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/choice.h"
#include "faultline/error.h"
#include "core/grow.h"

#define SPAN_STACK_MAX 64

struct fl_choice {
	uint64_t s[4]; /* xoshiro256** state */
	bool replay;
	const uint64_t *src; /* replay: recorded values (owned copy) */
	size_t src_len;
	size_t src_pos;
	bool exhausted;

	uint64_t *vals; /* recorded draws */
	size_t nvals, capvals;

	struct fl_choice_span *spans;
	size_t nspans, capspans;
	uint32_t open[SPAN_STACK_MAX]; /* indices into spans of open spans */
	size_t nopen;
	size_t dropped_depth; /* spans opened past SPAN_STACK_MAX */
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
xoshiro_next(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

int
fl_choice_new_seeded(uint64_t seed, struct fl_choice **out)
{
	struct fl_choice *c = calloc(1, sizeof(*c));
	uint64_t x = seed;

	if (c == NULL)
		return FL_ENOMEM;
	for (int i = 0; i < 4; i++)
		c->s[i] = splitmix64(&x);
	*out = c;
	return 0;
}

void
fl_choice_reseed(struct fl_choice *c, uint64_t seed)
{
	uint64_t x = seed;

	if (c == NULL || c->replay)
		return;
	for (int i = 0; i < 4; i++)
		c->s[i] = splitmix64(&x);
}

void
fl_choice_detach(struct fl_choice *c, uint64_t seed)
{
	if (c == NULL)
		return;
	c->replay = false;
	c->exhausted = false;
	fl_choice_reseed(c, seed);
}

int
fl_choice_new_replay(const uint64_t *values, size_t n, struct fl_choice **out)
{
	struct fl_choice *c = calloc(1, sizeof(*c));
	uint64_t *copy = NULL;

	if (c == NULL)
		return FL_ENOMEM;
	if (n > 0) {
		copy = malloc(n * sizeof(*copy));
		if (copy == NULL) {
			free(c);
			return FL_ENOMEM;
		}
		memcpy(copy, values, n * sizeof(*copy));
	}
	c->replay = true;
	c->src = copy;
	c->src_len = n;
	*out = c;
	return 0;
}

void
fl_choice_free(struct fl_choice *c)
{
	if (c == NULL)
		return;
	free((void *)c->src);
	free(c->vals);
	free(c->spans);
	free(c);
}

static void
record(struct fl_choice *c, uint64_t v)
{
	uint64_t *nv = fli_grow(c->vals, &c->capvals, c->nvals + 1, sizeof *nv, 64);
	/* Out of memory while recording: the run goes on, the trace is
	 * short; replay of it answers 0 past the end. */
	if (nv == NULL)
		return;
	c->vals = nv;
	c->vals[c->nvals++] = v;
}

/* A value in [0, bound) from the generator, without modulo bias. */
static uint64_t
gen_bounded(struct fl_choice *c, uint64_t bound)
{
	unsigned __int128 m;
	uint64_t lo, threshold;

	if (bound == 0)
		return xoshiro_next(c->s);
	m = (unsigned __int128)xoshiro_next(c->s) * bound;
	lo = (uint64_t)m;
	if (lo < bound) {
		threshold = -bound % bound;
		while (lo < threshold) {
			m = (unsigned __int128)xoshiro_next(c->s) * bound;
			lo = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

uint64_t
fl_choice_draw(struct fl_choice *c, uint64_t bound)
{
	uint64_t v;

	if (c->replay) {
		if (c->src_pos < c->src_len) {
			v = c->src[c->src_pos++];
			if (bound != 0 && v >= bound)
				v %= bound;
		} else {
			c->exhausted = true;
			v = 0;
		}
	} else {
		v = gen_bounded(c, bound);
	}
	assert(c->src_pos <= c->src_len);
	record(c, v);
	assert(c->nvals <= c->capvals);
	return v;
}

int64_t
fl_choice_range(struct fl_choice *c, int64_t lo, int64_t hi)
{
	uint64_t span;

	if (hi <= lo)
		return lo;
	span = (uint64_t)hi - (uint64_t)lo + 1; /* 0 when the range is all of int64 */
	return (int64_t)((uint64_t)lo + fl_choice_draw(c, span));
}

bool
fl_choice_weighted(struct fl_choice *c, uint32_t num, uint32_t den)
{
	if (den == 0 || num == 0)
		return false;
	/* A certain event is not a decision: nothing is drawn, and no
	 * shrinking can turn it off (with a draw, 1/1 would always be false
	 * and n/n only nearly certain). */
	if (num >= den)
		return true;
	/* Draw in [0, den); values 1..num are true so that 0 is false. */
	uint64_t v = fl_choice_draw(c, den);
	return v != 0 && v <= num;
}

void
fl_choice_span_begin(struct fl_choice *c, const char *label)
{
	if (c->nopen == SPAN_STACK_MAX) {
		c->dropped_depth++;
		return;
	}
	struct fl_choice_span *ns = fli_grow(c->spans, &c->capspans, c->nspans + 1, sizeof *ns, 32);
	if (ns == NULL) {
		c->dropped_depth++;
		return;
	}
	c->spans = ns;
	c->spans[c->nspans] = (struct fl_choice_span){ .start = (uint32_t)c->nvals,
		                                       .end = (uint32_t)c->nvals,
		                                       .label = label };
	c->open[c->nopen++] = (uint32_t)c->nspans;
	c->nspans++;
}

void
fl_choice_span_end(struct fl_choice *c)
{
	uint32_t idx;

	if (c->dropped_depth > 0) {
		c->dropped_depth--;
		return;
	}
	if (c->nopen == 0)
		return;
	idx = c->open[--c->nopen];
	c->spans[idx].end = (uint32_t)c->nvals;
	/* A span with no draws is not recorded (it must be the last one:
	 * spans opened inside it had no draws either and were dropped). */
	if (c->spans[idx].start == c->spans[idx].end && idx == c->nspans - 1)
		c->nspans--;
}

size_t
fl_choice_count(const struct fl_choice *c)
{
	return c->nvals;
}

const uint64_t *
fl_choice_values(const struct fl_choice *c)
{
	return c->vals;
}

size_t
fl_choice_span_count(const struct fl_choice *c)
{
	return c->nspans;
}

const struct fl_choice_span *
fl_choice_spans(const struct fl_choice *c)
{
	return c->spans;
}

bool
fl_choice_exhausted(const struct fl_choice *c)
{
	return c->exhausted;
}

uint64_t
fl_choice_hash(const struct fl_choice *c)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < c->nvals; i++) {
		uint64_t v = c->vals[i];
		for (int b = 0; b < 8; b++) {
			h ^= (v >> (8 * b)) & 0xff;
			h *= 0x100000001b3ull;
		}
	}
	return h;
}
