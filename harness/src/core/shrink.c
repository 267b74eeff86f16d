/*
 * The shrinker both engines use (faultline/shrink.h): it edits a failing
 * run's recorded choices, asks the engine to run each candidate, and
 * keeps what still fails the same way and is simpler (shortlex).  The
 * property engine runs candidates as trials; the scenario engine as full
 * scenario runs (run/shrink.c).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/shrink.h"

void
fl_shrink_run_fini(struct fl_shrink_run *r)
{
	if (!r)
		return;
	free(r->values);
	free(r->spans);
	free(r->message);
	free(r->log);
	memset(r, 0, sizeof *r);
}

static bool
same_kind(const struct fl_shrink_run *a, enum fl_verdict v, int sig)
{
	if (a->verdict != v)
		return false;
	return v != FL_VERDICT_CRASH || a->signal == sig;
}

struct shrinker {
	fl_shrink_fn fn;
	void *arg;
	enum fl_verdict verdict;
	int signal;
	struct fl_shrink_run best; /* the smallest failing run so far */
	uint64_t *cand;            /* scratch, capacity cap */
	size_t cap;
	unsigned attempts, accepted, max;
	int err;
	uint64_t *seen; /* hashes of streams already run (open addressing, 0 = empty) */
	size_t seen_cap, seen_n;
};

static uint64_t
stream_hash(const uint64_t *v, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	for (size_t i = 0; i < n; i++)
		h = (h ^ v[i]) * 0x100000001b3ull ^ (h >> 29);
	return h ? h : 1;
}

/* Records a stream; returns true when it had been run before (same edit
 * reached by two passes).  A full or unallocated table just forgets. */
static bool
seen_before(struct shrinker *s, const uint64_t *v, size_t n)
{
	if (s->seen_n * 2 >= s->seen_cap) {
		size_t ncap = s->seen_cap ? s->seen_cap * 2 : 1024;
		uint64_t *nt = calloc(ncap, sizeof *nt);
		if (!nt)
			return false;
		for (size_t i = 0; i < s->seen_cap; i++) {
			if (!s->seen[i])
				continue;
			size_t j = s->seen[i] & (ncap - 1);
			while (nt[j])
				j = (j + 1) & (ncap - 1);
			nt[j] = s->seen[i];
		}
		free(s->seen);
		s->seen = nt;
		s->seen_cap = ncap;
	}
	uint64_t h = stream_hash(v, n);
	size_t j = h & (s->seen_cap - 1);
	while (s->seen[j]) {
		if (s->seen[j] == h)
			return true;
		j = (j + 1) & (s->seen_cap - 1);
	}
	s->seen[j] = h;
	s->seen_n++;
	return false;
}

/* Shortlex: shorter is simpler, then lexicographically smaller. */
static bool
simpler(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	if (na != nb)
		return na < nb;
	for (size_t i = 0; i < na; i++)
		if (a[i] != b[i])
			return a[i] < b[i];
	return false;
}

static bool
budget_left(const struct shrinker *s)
{
	return s->err == 0 && s->attempts < s->max;
}

/* Trailing zeros replay the same as a stream that ends earlier (an
 * exhausted replay answers 0), so they are dropped before comparing
 * streams; spans are clipped to what is left. */
void
fl_shrink_run_normalise(struct fl_shrink_run *o)
{
	while (o->n > 0 && o->values[o->n - 1] == 0)
		o->n--;
	size_t k = 0;
	for (size_t i = 0; i < o->nspans; i++) {
		struct fl_choice_span sp = o->spans[i];
		if (sp.end > o->n)
			sp.end = (uint32_t)o->n;
		if (sp.start < sp.end)
			o->spans[k++] = sp;
	}
	o->nspans = k;
}

/* Runs cand[0..n); keeps it (as recorded by the run) when it fails the same
 * way and is simpler than the best.  Returns true when kept. */
static bool
try_cand(struct shrinker *s, size_t n)
{
	if (!budget_left(s))
		return false;
	if (!simpler(s->cand, n, s->best.values, s->best.n))
		return false;
	if (seen_before(s, s->cand, n))
		return false;
	s->attempts++;
	struct fl_shrink_run out;
	memset(&out, 0, sizeof out);
	int rc = s->fn(s->arg, s->cand, n, &out);
	if (rc) {
		fl_shrink_run_fini(&out);
		s->err = rc;
		return false;
	}
	if (out.recorded)
		fl_shrink_run_normalise(&out);
	if (!same_kind(&out, s->verdict, s->signal) || !out.recorded ||
	    !simpler(out.values, out.n, s->best.values, s->best.n)) {
		fl_shrink_run_fini(&out);
		return false;
	}
	fl_shrink_run_fini(&s->best);
	s->best = out;
	s->accepted++;
	return true;
}

static void
cand_load(struct shrinker *s)
{
	memcpy(s->cand, s->best.values, s->best.n * sizeof(uint64_t));
}

/* Cut [a, b) out of the best stream into cand; returns the new length. */
static size_t
cand_cut(struct shrinker *s, size_t a, size_t b)
{
	size_t n = s->best.n;
	memcpy(s->cand, s->best.values, a * sizeof(uint64_t));
	memcpy(s->cand + a, s->best.values + b, (n - b) * sizeof(uint64_t));
	return n - (b - a);
}

/* The best run's spans ordered largest first (deleting a whole step beats
 * deleting its parts), later first within a length (later steps depend on
 * earlier ones, rarely the reverse).  O(n^2) insertion sort: a few hundred
 * spans at most. */
static size_t
span_order(const struct shrinker *s, size_t *order)
{
	size_t m = 0;
	for (size_t i = s->best.nspans; i-- > 0;) {
		size_t len = s->best.spans[i].end - s->best.spans[i].start;
		if (len == 0)
			continue;
		size_t j = m++;
		while (j > 0) {
			const struct fl_choice_span *p = &s->best.spans[order[j - 1]];
			if ((size_t)(p->end - p->start) >= len)
				break;
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	return m;
}

static bool
pass_delete_spans(struct shrinker *s)
{
	bool any = false;
	size_t *order = malloc((s->best.nspans + 1) * sizeof *order);
	if (!order) {
		s->err = FL_ENOMEM;
		return false;
	}
	size_t m = span_order(s, order);
	for (size_t pos = 0; pos < m && budget_left(s);) {
		struct fl_choice_span sp = s->best.spans[order[pos]];
		size_t n = cand_cut(s, sp.start, sp.end);
		if (!try_cand(s, n)) {
			pos++;
			continue;
		}
		any = true;
		size_t *no = realloc(order, (s->best.nspans + 1) * sizeof *order);
		if (!no) {
			s->err = FL_ENOMEM;
			break;
		}
		order = no;
		m = span_order(s, order);
	}
	free(order);
	return any;
}

/* The best stream's top-level spans (the steps), in order, in a new array
 * of *m; NULL (s->err set) when out of memory. */
static struct fl_choice_span *
top_spans(struct shrinker *s, size_t *m)
{
	struct fl_choice_span *top = malloc((s->best.nspans + 1) * sizeof *top);
	if (!top) {
		s->err = FL_ENOMEM;
		return NULL;
	}
	*m = 0;
	for (size_t i = 0; i < s->best.nspans; i++) {
		struct fl_choice_span sp = s->best.spans[i];
		if (sp.end > sp.start && (*m == 0 || sp.start >= top[*m - 1].end))
			top[(*m)++] = sp;
	}
	return top;
}

/* Two top-level spans (steps) at once: a step that only an earlier one
 * makes meaningful (open a port, then use it) survives single deletions
 * when a later step relies on the index the pair shifts.  O(m^2) runs for
 * m steps, so only tried when no other pass helped. */
static bool
pass_delete_span_pairs(struct shrinker *s)
{
	size_t m;
	struct fl_choice_span *top = top_spans(s, &m);
	if (!top)
		return false;
	bool any = false;
	for (size_t j = m; j-- > 1 && !any && budget_left(s);) {
		for (size_t i = j; i-- > 0 && !any && budget_left(s);) {
			/* cut the later span first so the earlier one's offsets hold */
			size_t n = s->best.n, a = top[i].start, b = top[i].end;
			size_t c = top[j].start, d = top[j].end, k = 0;
			for (size_t x = 0; x < n; x++)
				if ((x < a || x >= b) && (x < c || x >= d))
					s->cand[k++] = s->best.values[x];
			any = try_cand(s, k);
		}
	}
	free(top);
	return any;
}

/* One step deleted and one later value moved by one, up or down: a step
 * whose arguments index what earlier steps made (a port, a chunk) means
 * something else once an earlier step is gone, and the value that keeps
 * the failure may be the next one up.  A shorter stream is simpler even
 * with one value raised.  O(m * n) runs for m steps and n values, so only
 * tried when nothing else helped. */
static bool
pass_delete_and_nudge(struct shrinker *s)
{
	size_t m;
	struct fl_choice_span *top = top_spans(s, &m);
	if (!top)
		return false;
	bool any = false;
	for (size_t j = m; j-- > 0 && !any && budget_left(s);) {
		size_t n = cand_cut(s, top[j].start, top[j].end);
		/* x == n: the first of the zeros a replay answers past the end
		 * (the cut left room for one more value). */
		for (size_t x = top[j].start; x <= n && !any && budget_left(s); x++) {
			for (int up = 1; up >= 0 && !any && budget_left(s); up--) {
				cand_cut(s, top[j].start, top[j].end);
				uint64_t v = x < n ? s->cand[x] : 0;
				if (!up && v == 0)
					continue;
				s->cand[x] = up ? v + 1 : v - 1;
				any = try_cand(s, x < n ? n : n + 1);
			}
		}
	}
	free(top);
	return any;
}

/* Deletes windows of k draws, [i-k, i), from the end of the best stream;
 * after a deletion the same end position is tried again on what moved
 * in, after a failed try the end moves back by stride. */
static bool
delete_windows(struct shrinker *s, size_t k, size_t stride)
{
	bool any = false;
	for (size_t i = s->best.n; i >= k && budget_left(s);) {
		if (try_cand(s, cand_cut(s, i - k, i))) {
			any = true;
			if (i > s->best.n)
				i = s->best.n;
		} else {
			i = i >= stride ? i - stride : 0;
		}
	}
	return any;
}

/* A stream without spans (the scenario engine records none) can be
 * thousands of draws long: delete runs of n/2, n/4, ... draws first, down
 * to the block pass's sizes, so it shrinks within a few hundred runs. */
static bool
pass_delete_halves(struct shrinker *s)
{
	bool any = false;
	if (s->best.nspans != 0)
		return false;
	for (size_t k = s->best.n / 2; k > 8 && budget_left(s); k /= 2)
		any |= delete_windows(s, k, k);
	return any;
}

static bool
pass_delete_blocks(struct shrinker *s)
{
	bool any = false;
	static const size_t sizes[] = { 8, 4, 2, 1 };
	for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
		any |= delete_windows(s, sizes[z], 1);
	return any;
}

static bool
pass_zero_spans(struct shrinker *s)
{
	bool any = false;
	for (size_t j = 0; j < s->best.nspans && budget_left(s); j++) {
		struct fl_choice_span sp = s->best.spans[j];
		bool nz = false;
		for (size_t i = sp.start; i < sp.end; i++)
			nz |= s->best.values[i] != 0;
		if (!nz)
			continue;
		cand_load(s);
		memset(s->cand + sp.start, 0, (sp.end - sp.start) * sizeof(uint64_t));
		if (try_cand(s, s->best.n))
			any = true;
	}
	return any;
}

static bool
pass_lower_values(struct shrinker *s)
{
	bool any = false;
	for (size_t i = 0; i < s->best.n && budget_left(s); i++) {
		uint64_t v = s->best.values[i];
		if (v == 0)
			continue;
		cand_load(s);
		s->cand[i] = 0;
		size_t n0 = s->best.n;
		if (try_cand(s, n0)) {
			any = true;
			continue;
		}
		/* lo does not fail, hi fails: binary search the boundary. */
		uint64_t lo = 0, hi = v;
		while (lo + 1 < hi && budget_left(s)) {
			uint64_t mid = lo + (hi - lo) / 2;
			cand_load(s);
			s->cand[i] = mid;
			if (try_cand(s, s->best.n)) {
				any = true;
				if (i >= s->best.n || s->best.values[i] != mid)
					break; /* the stream's shape changed */
				hi = mid;
			} else {
				lo = mid;
			}
		}
	}
	return any;
}

static bool
pass_sort_adjacent(struct shrinker *s)
{
	bool any = false;
	for (size_t i = 0; i + 1 < s->best.n && budget_left(s); i++) {
		if (s->best.values[i] <= s->best.values[i + 1])
			continue;
		cand_load(s);
		uint64_t t = s->cand[i];
		s->cand[i] = s->cand[i + 1];
		s->cand[i + 1] = t;
		if (try_cand(s, s->best.n))
			any = true;
	}
	return any;
}

int
fl_shrink(struct fl_shrink_run *failing, unsigned max_runs, fl_shrink_fn fn, void *arg,
          struct fl_shrink_run *best, unsigned *runs, unsigned *kept)
{
	if (!failing || !fn || !best) {
		fl_shrink_run_fini(failing);
		return FL_EINVAL;
	}
	struct shrinker sh = { .fn = fn, .arg = arg, .max = max_runs };
	struct shrinker *s = &sh;
	s->best = *failing;
	memset(failing, 0, sizeof *failing);
	s->verdict = s->best.verdict;
	s->signal = s->best.signal;
	if (s->best.recorded) {
		fl_shrink_run_normalise(&s->best);
		s->cap = s->best.n + 1;
		s->cand = malloc(s->cap * sizeof(uint64_t));
		if (!s->cand)
			s->err = FL_ENOMEM;
		bool improved = true;
		while (improved && budget_left(s)) {
			improved = false;
			improved |= pass_delete_halves(s);
			improved |= pass_delete_spans(s);
			improved |= pass_delete_blocks(s);
			improved |= pass_zero_spans(s);
			improved |= pass_lower_values(s);
			improved |= pass_sort_adjacent(s);
			if (!improved)
				improved = pass_delete_span_pairs(s);
			if (!improved)
				improved = pass_delete_and_nudge(s);
		}
		free(s->cand);
	}
	free(s->seen);
	*best = s->best;
	if (runs)
		*runs = s->attempts;
	if (kept)
		*kept = s->accepted;
	return s->err;
}
