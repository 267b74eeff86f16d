/*
 * Generators over the choice stream (prop.h).  Every one maps a 0 draw to
 * its simplest value and smaller draws to simpler values.
 */
#include "faultline/prop.h"

#include <string.h>

uint64_t
fl_gen_u64(struct fl_choice *c, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = hi - lo;
	if (span == UINT64_MAX)
		return fl_choice_draw(c, 0);
	return lo + fl_choice_draw(c, span + 1);
}

int64_t
fl_gen_i64(struct fl_choice *c, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = (uint64_t)hi - (uint64_t)lo;
	uint64_t d = span == UINT64_MAX ? fl_choice_draw(c, 0) : fl_choice_draw(c, span + 1);
	if (lo >= 0)
		return (int64_t)((uint64_t)lo + d);
	if (hi <= 0)
		return (int64_t)((uint64_t)hi - d);
	/* 0, 1, -1, 2, -2, ... while both sides last, then the longer side. */
	uint64_t pos = (uint64_t)hi, neg = (uint64_t)0 - (uint64_t)lo;
	uint64_t m = pos < neg ? pos : neg;
	if (d <= 2 * m || m > UINT64_MAX / 2) {
		uint64_t k = (d + 1) / 2;
		return (d & 1) ? (int64_t)k : -(int64_t)k;
	}
	uint64_t v = m + (d - 2 * m);
	/* 0 - v in unsigned arithmetic: v may be 2^63 (INT64_MIN). */
	return pos > neg ? (int64_t)v : (int64_t)(0 - v);
}

bool
fl_gen_bool(struct fl_choice *c)
{
	return fl_choice_draw(c, 2) != 0;
}

bool
fl_gen_weighted(struct fl_choice *c, uint32_t num, uint32_t den)
{
	return fl_choice_weighted(c, num, den);
}

size_t
fl_gen_one_of(struct fl_choice *c, size_t n)
{
	if (n <= 1)
		return 0;
	return (size_t)fl_choice_draw(c, n);
}

size_t
fl_gen_one_of_weighted(struct fl_choice *c, const uint32_t *w, size_t n)
{
	uint64_t sum = 0;
	size_t first = n;
	for (size_t i = 0; i < n; i++) {
		sum += w[i];
		if (w[i] && first == n)
			first = i;
	}
	if (sum == 0)
		return 0;
	uint64_t d = fl_choice_draw(c, sum);
	for (size_t i = 0; i < n; i++) {
		if (d < w[i])
			return i;
		d -= w[i];
	}
	return first;
}

size_t
fl_gen_size(struct fl_choice *c, size_t max)
{
	if (max == 0)
		return 0;
	/* One draw over [0, 2*max+1]: the lower half maps onto [0, max/8],
	 * the upper half onto [0, max], so half the sizes are small and 0
	 * stays the simplest. */
	uint64_t small = max / 8 + 1;
	uint64_t d = fl_choice_draw(c, 2 * (uint64_t)max + 2);
	if (d <= (uint64_t)max)
		return (size_t)(d * small / ((uint64_t)max + 1));
	return (size_t)(d - max - 1);
}

/* Does boundary b (or b - 1 or b + 1) fall in [lo, hi]? */
static bool
edge_reaches(uint64_t b, uint64_t lo, uint64_t hi)
{
	return (b == UINT64_MAX || b + 1 >= lo) && (b == 0 || b - 1 <= hi);
}

bool
fl_gen_edge(struct fl_choice *c, uint64_t lo, uint64_t hi, const struct fl_gen_edges *e,
            uint64_t *out)
{
	enum { K_LO, K_MULT, K_POINT, K_HI };
	uint64_t kmin = 1, kmax = 0, base;
	size_t npts = 0, nkinds = 0;
	int kinds[4];

	if (hi <= lo || !fl_choice_weighted(c, FL_GEN_EDGE_NUM, FL_GEN_EDGE_DEN))
		return false;
	/* The multiples k*step with k*step + 1 >= lo and k*step - 1 <= hi. */
	if (e != NULL && e->step != 0) {
		uint64_t s = e->step;
		if (lo > 1)
			kmin = (lo - 1) / s + ((lo - 1) % s != 0);
		if (kmin == 0)
			kmin = 1;
		kmax = hi == UINT64_MAX ? hi / s : (hi + 1) / s;
	}
	for (size_t i = 0; e != NULL && i < e->npoints; i++)
		npts += edge_reaches(e->points[i], lo, hi);
	kinds[nkinds++] = K_LO;
	if (kmin <= kmax)
		kinds[nkinds++] = K_MULT;
	if (npts > 0)
		kinds[nkinds++] = K_POINT;
	kinds[nkinds++] = K_HI;
	switch (kinds[fl_gen_one_of(c, nkinds)]) {
	case K_LO: *out = lo; return true;
	case K_HI: *out = hi; return true;
	case K_MULT: base = fl_gen_u64(c, kmin, kmax) * e->step; break;
	default: {
		size_t j = fl_gen_one_of(c, npts);
		base = 0;
		for (size_t i = 0; i < e->npoints; i++)
			if (edge_reaches(e->points[i], lo, hi) && j-- == 0) {
				base = e->points[i];
				break;
			}
		break;
	}
	}
	switch (fl_choice_draw(c, 3)) {
	case 1: base = base > lo ? base - 1 : lo; break;
	case 2: base = base < hi ? base + 1 : hi; break;
	default: break;
	}
	*out = base < lo ? lo : base > hi ? hi : base;
	return true;
}

uint64_t
fl_gen_size_edges(struct fl_choice *c, uint64_t lo, uint64_t hi, const struct fl_gen_edges *e)
{
	uint64_t v;

	if (hi <= lo)
		return lo;
	if (fl_gen_edge(c, lo, hi, e, &v))
		return v;
	return lo + fl_gen_size(c, hi - lo);
}

size_t
fl_gen_bytes(struct fl_choice *c, uint8_t *buf, size_t min, size_t max)
{
	fl_choice_span_begin(c, "bytes");
	size_t n = min + fl_gen_size(c, max > min ? max - min : 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)fl_choice_draw(c, 256);
	fl_choice_span_end(c);
	return n;
}

void
fl_gen_list_begin(struct fl_gen_list *l, struct fl_choice *c, size_t min, size_t max, size_t avg)
{
	memset(l, 0, sizeof *l);
	l->c = c;
	l->min = min;
	l->max = max < min ? min : max;
	if (avg == 0)
		avg = 1;
	l->more_num = (uint32_t)(avg > 1000000 ? 1000000 : avg);
	l->more_den = l->more_num + 1;
}

bool
fl_gen_list_next(struct fl_gen_list *l)
{
	if (l->in_elem) {
		fl_choice_span_end(l->c);
		l->in_elem = false;
	}
	if (l->count >= l->max)
		return false;
	if (l->count < l->min) {
		fl_choice_span_begin(l->c, "elem");
		l->in_elem = true;
		l->count++;
		return true;
	}
	fl_choice_span_begin(l->c, "elem");
	if (!fl_choice_weighted(l->c, l->more_num, l->more_den)) {
		fl_choice_span_end(l->c);
		return false;
	}
	l->in_elem = true;
	l->count++;
	return true;
}

size_t
fl_gen_array(struct fl_choice *c, void *out, size_t elem_size, size_t min, size_t max, size_t avg,
             fl_gen_fn gen, const void *arg)
{
	struct fl_gen_list l;
	size_t n = 0;
	fl_gen_list_begin(&l, c, min, max, avg);
	while (fl_gen_list_next(&l)) {
		gen(c, (char *)out + n * elem_size, arg);
		n++;
	}
	return n;
}
