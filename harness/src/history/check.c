/*
 * The linearizability search: Wing and Gong's algorithm with Lowe's
 * memoisation, on each independent part of a history (Porcupine's plan).
 *
 * A part's events (each op's invocation and, unless it is an info op, its
 * completion) sit in a doubly linked list in time order.  The search walks
 * the list from its head: at an invocation it tries to let that op take
 * effect now (the model's step from the current state); if the step is
 * legal and the pair (set of ops linearized, new state) was never reached
 * before, it lifts the op's two events out of the list, pushes it and
 * starts again from the head.  Reaching a completion means the op that
 * completes there had to take effect before it and did not: undo the last
 * op pushed and try the invocation after it.  Info ops have no completion,
 * so they never force anything; the part is linearizable once every op
 * that completed is linearized, and not when the stack runs empty.
 *
 * The memo set holds (bitset, state id); the bitset's hash is kept up to
 * date with one xor per push or pop (Zobrist hashing), and states are
 * interned so that comparing two is comparing two integers.
 *
 * One pruning beyond Lowe's: an info op whose step leaves the state as it
 * was is not pushed.  The configuration it would make (one more info op
 * linearized, the same state) is dominated by the current one: info ops
 * are optional and block nothing, so every order that finishes from it
 * finishes from the current configuration too, whose search covers it.
 * On the shared etcd histories this cuts the time about four-fold.
 */
#include "faultline/history.h"
#include "faultline/error.h"
#include "history_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static uint64_t
bytes_hash(const unsigned char *p, size_t n)
{
	uint64_t h = 0xCBF29CE484222325ull ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = splitmix(h ^ w);
	}
	uint64_t w = 0;
	if (n > i) /* an empty state may have no bytes at all (p NULL) */
		memcpy(&w, p + i, n - i);
	return splitmix(h ^ w);
}

/* ---- interned states ---- */

struct states {
	const struct fl_history_model *model;
	unsigned char *bytes; /* every state's bytes, one after another */
	size_t used, cap;
	size_t *off;    /* state id -> offset; off[id + 1] - off[id] is its length */
	uint64_t *hash; /* state id -> hash */
	uint32_t n, ncap;
	uint32_t *table; /* open addressing: state id + 1, 0 empty */
	size_t tcap;
};

static struct fl_history_state
state_view(const struct states *s, uint32_t id)
{
	/* Before any state has a byte, bytes is NULL: no arithmetic on it. */
	return (struct fl_history_state){ .data = s->bytes ? s->bytes + s->off[id] : NULL,
		                          .len = s->off[id + 1] - s->off[id] };
}

static bool
state_same(const struct states *s, uint32_t id, const struct fl_history_state *b)
{
	struct fl_history_state a = state_view(s, id);
	if (s->model->equal)
		return s->model->equal(&a, b);
	return a.len == b->len && (a.len == 0 || memcmp(a.data, b->data, a.len) == 0);
}

static int
states_grow_table(struct states *s)
{
	size_t cap = s->tcap ? s->tcap * 2 : 1024;
	uint32_t *t = calloc(cap, sizeof(*t));
	if (!t)
		return FL_ENOMEM;
	for (uint32_t id = 0; id < s->n; id++) {
		size_t i = s->hash[id] & (cap - 1);
		while (t[i])
			i = (i + 1) & (cap - 1);
		t[i] = id + 1;
	}
	free(s->table);
	s->table = t;
	s->tcap = cap;
	return 0;
}

/* The id of state b, interning it if new; -1 when out of memory. */
static int64_t
states_intern(struct states *s, const struct fl_history_state *b)
{
	uint64_t h = bytes_hash(b->data, b->len);
	if (2 * ((size_t)s->n + 1) > s->tcap && states_grow_table(s))
		return -1;
	size_t i = h & (s->tcap - 1);
	for (; s->table[i]; i = (i + 1) & (s->tcap - 1)) {
		uint32_t id = s->table[i] - 1;
		if (s->hash[id] == h && state_same(s, id, b))
			return id;
	}
	if (s->n + 2 > s->ncap) {
		uint32_t cap = s->ncap ? s->ncap * 2 : 256;
		size_t *off = realloc(s->off, ((size_t)cap + 1) * sizeof(*off));
		if (!off)
			return -1;
		s->off = off;
		uint64_t *hh = realloc(s->hash, (size_t)cap * sizeof(*hh));
		if (!hh)
			return -1;
		s->hash = hh;
		s->ncap = cap;
	}
	if (s->cap - s->used < b->len) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap - s->used < b->len)
			cap *= 2;
		unsigned char *nb = realloc(s->bytes, cap);
		if (!nb)
			return -1;
		s->bytes = nb;
		s->cap = cap;
	}
	if (b->len)
		memcpy(s->bytes + s->used, b->data, b->len);
	uint32_t id = s->n++;
	s->off[id] = s->used;
	s->used += b->len;
	s->off[id + 1] = s->used;
	s->hash[id] = h;
	s->table[i] = id + 1;
	return id;
}

static size_t
states_memory(const struct states *s)
{
	return s->cap + ((size_t)s->ncap + 1) * sizeof(size_t) + (size_t)s->ncap * 8 + s->tcap * 4;
}

static void
states_fini(struct states *s)
{
	free(s->bytes);
	free(s->off);
	free(s->hash);
	free(s->table);
}

/* ---- the set of ops linearized, kept small ---- */

/*
 * The memo holds a set for every configuration it saw, so the sets'
 * size is the search's memory.  The set is two bitsets: one over the
 * ops that completed (each must be linearized before its completion) and
 * one over the info ops (optional, and few).  Ops are numbered in
 * invocation order and linearized roughly in that order, so the first
 * bitset is mostly a run of full words, a short window of mixed words,
 * and zeros: the memo keeps only the count of full words, the window and
 * the info bitset.  That form is canonical (one set, one form), so two
 * sets are equal when their forms are.  A history of 10,000 ops took
 * 1,256 bytes a configuration as a plain bitset; tens of bytes this way.
 */
struct lset {
	uint64_t *req, *info;
	size_t nrw, niw;    /* words of each */
	uint64_t last_mask; /* req's last word: the bits that hold ops */
	size_t full;        /* req words [0, full) are full */
	size_t top;         /* req words [top, nrw) are zero */
};

static uint64_t
lset_word_mask(const struct lset *l, size_t w)
{
	return w + 1 == l->nrw ? l->last_mask : ~0ull;
}

static void
lset_add(struct lset *l, bool req, uint32_t bit)
{
	size_t w = bit / 64;

	if (!req) {
		l->info[w] |= 1ull << (bit % 64);
		return;
	}
	l->req[w] |= 1ull << (bit % 64);
	if (w + 1 > l->top)
		l->top = w + 1;
	while (l->full < l->nrw && l->req[l->full] == lset_word_mask(l, l->full))
		l->full++;
}

static void
lset_remove(struct lset *l, bool req, uint32_t bit)
{
	size_t w = bit / 64;

	if (!req) {
		l->info[w] &= ~(1ull << (bit % 64));
		return;
	}
	l->req[w] &= ~(1ull << (bit % 64));
	if (w < l->full)
		l->full = w;
	while (l->top > 0 && l->req[l->top - 1] == 0)
		l->top--;
}

/* Words of the set's form: a header (full, window length), the window,
 * the info bitset. */
static size_t
lset_form_words(const struct lset *l)
{
	return 1 + (l->top > l->full ? l->top - l->full : 0) + l->niw;
}

static void
lset_form(const struct lset *l, uint64_t *out)
{
	size_t win = l->top > l->full ? l->top - l->full : 0;

	out[0] = (uint64_t)l->full | (uint64_t)win << 32;
	if (win)
		memcpy(out + 1, l->req + l->full, win * 8);
	if (l->niw)
		memcpy(out + 1 + win, l->info, l->niw * 8);
}

static bool
lset_same(const struct lset *l, const uint64_t *form)
{
	size_t win = l->top > l->full ? l->top - l->full : 0;

	return form[0] == ((uint64_t)l->full | (uint64_t)win << 32) &&
	       (win == 0 || memcmp(form + 1, l->req + l->full, win * 8) == 0) &&
	       (l->niw == 0 || memcmp(form + 1 + win, l->info, l->niw * 8) == 0);
}

/* ---- the memo: (set, state) pairs seen ---- */

struct memo_entry {
	uint64_t hash;
	uint64_t form; /* offset of its set's form in memo.words; UINT64_MAX: empty */
	uint32_t state;
};

struct memo {
	struct memo_entry *t;
	size_t cap, n;
	uint64_t *words; /* the forms, one after another */
	size_t wused, wcap;
};

static int
memo_grow(struct memo *m)
{
	size_t cap = m->cap ? m->cap * 2 : 4096;
	struct memo_entry *t = malloc(cap * sizeof(*t));
	if (!t)
		return FL_ENOMEM;
	for (size_t i = 0; i < cap; i++)
		t[i].form = UINT64_MAX;
	for (size_t j = 0; j < m->cap; j++) {
		if (m->t[j].form == UINT64_MAX)
			continue;
		size_t i = m->t[j].hash & (cap - 1);
		while (t[i].form != UINT64_MAX)
			i = (i + 1) & (cap - 1);
		t[i] = m->t[j];
	}
	free(m->t);
	m->t = t;
	m->cap = cap;
	return 0;
}

/* Adds (set, state) unless present: 1 added, 0 present, FL_ENOMEM. */
static int
memo_add(struct memo *m, uint64_t hash, const struct lset *set, uint32_t state)
{
	if (4 * (m->n + 1) > 3 * m->cap && memo_grow(m))
		return FL_ENOMEM;
	size_t i = hash & (m->cap - 1);
	for (; m->t[i].form != UINT64_MAX; i = (i + 1) & (m->cap - 1)) {
		const struct memo_entry *e = &m->t[i];
		if (e->hash == hash && e->state == state && lset_same(set, m->words + e->form))
			return 0;
	}
	size_t need = lset_form_words(set);
	if (m->wcap - m->wused < need) {
		size_t cap = m->wcap ? m->wcap * 2 : 4096;
		while (cap - m->wused < need)
			cap *= 2;
		uint64_t *w = realloc(m->words, cap * 8);
		if (!w)
			return FL_ENOMEM;
		m->words = w;
		m->wcap = cap;
	}
	lset_form(set, m->words + m->wused);
	m->t[i] = (struct memo_entry){ .hash = hash, .form = m->wused, .state = state };
	m->wused += need;
	m->n++;
	return 1;
}

/* ---- one part ---- */

struct part {
	uint32_t *ops; /* indices into the history, in invocation order */
	size_t n, cap;
	struct fl_hvalue key;
};

enum { PART_YES, PART_NO, PART_UNKNOWN };

struct search {
	const struct fl_history *h;
	const struct fl_history_model *model;
	double deadline; /* 0: none */
	uint64_t steps, states;
	size_t memory;
	/* the failure, when PART_NO */
	uint32_t *prefix;
	size_t nprefix;
	uint32_t blocked;
	char state_words[256];
};

static bool
required(const struct fl_history_op *op)
{
	return op->outcome != FL_HOP_INFO;
}

struct event {
	uint32_t time;
	uint32_t op; /* local index; high bit: a completion */
};

static int
event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	return x->time < y->time ? -1 : x->time > y->time;
}

#define RET_BIT 0x80000000u

static int
search_part(struct search *S, const struct part *P)
{
	const struct fl_history *h = S->h;
	const struct fl_history_model *model = S->model;
	size_t n = P->n, ne = 0, nreq = 0;
	int rc = FL_ENOMEM, verdict = PART_UNKNOWN;
	struct states st = { .model = model };
	struct memo memo = { 0 };
	struct lset set = { 0 };
	struct fl_history_state cur = { 0 }, next = { 0 };
	struct event *ev = malloc(2 * n * sizeof(*ev));
	/* list nodes 1..ne (0 is the head); call_node/ret_node per local op */
	uint32_t *nx = malloc((2 * n + 1) * sizeof(*nx)), *pv = malloc((2 * n + 1) * sizeof(*pv));
	uint32_t *node_op = malloc((2 * n + 1) * sizeof(*node_op));
	uint32_t *call_node = malloc(n * sizeof(*call_node)),
	         *ret_node = malloc(n * sizeof(*ret_node));
	uint64_t *zob = malloc(n * sizeof(*zob));
	uint32_t *bit = malloc(n * sizeof(*bit)); /* an op's bit in set.req or set.info */
	uint32_t *stack_op = malloc(n * sizeof(*stack_op)),
	         *stack_state = malloc(n * sizeof(*stack_state));
	uint32_t *best = malloc(n * sizeof(*best));
	if (!ev || !nx || !pv || !node_op || !call_node || !ret_node || !zob || !bit || !stack_op ||
	    !stack_state || !best)
		goto out;
	size_t ninfo = 0;
	for (size_t i = 0; i < n; i++) {
		const struct fl_history_op *op = &h->ops[P->ops[i]];
		ev[ne++] = (struct event){ op->call, (uint32_t)i };
		if (required(op)) {
			ev[ne++] = (struct event){ op->ret, (uint32_t)i | RET_BIT };
			bit[i] = (uint32_t)nreq++;
		} else {
			bit[i] = (uint32_t)ninfo++;
		}
		zob[i] = splitmix(i * 0x100000001B3ull + 17);
	}
	set.nrw = (nreq + 63) / 64;
	set.niw = (ninfo + 63) / 64;
	set.last_mask = nreq % 64 ? (1ull << (nreq % 64)) - 1 : ~0ull;
	set.req = calloc(set.nrw ? set.nrw : 1, 8);
	set.info = calloc(set.niw ? set.niw : 1, 8);
	if (!set.req || !set.info)
		goto out;
	qsort(ev, ne, sizeof(*ev), event_cmp);
	nx[0] = ne ? 1 : 0;
	pv[0] = (uint32_t)ne;
	for (uint32_t k = 1; k <= ne; k++) {
		uint32_t o = ev[k - 1].op;
		node_op[k] = o;
		if (o & RET_BIT)
			ret_node[o & ~RET_BIT] = k;
		else
			call_node[o] = k;
		nx[k] = k == ne ? 0 : k + 1;
		pv[k] = k - 1;
	}
	if (model->init(&cur))
		goto out;
	int64_t cur_id = states_intern(&st, &cur);
	if (cur_id < 0)
		goto out;
	uint64_t zhash = 0;
	size_t depth = 0, left = nreq, best_depth = 0, low = 0;
	bool have_best = false;
	uint32_t entry = nx[0];
	uint64_t iter = 0;
	for (;;) {
		if (left == 0) {
			verdict = PART_YES;
			break;
		}
		if (S->deadline > 0 && (++iter & 1023) == 0 && now_s() > S->deadline) {
			verdict = PART_UNKNOWN;
			break;
		}
		uint32_t o = entry ? node_op[entry] : RET_BIT;
		if (!(o & RET_BIT)) {
			const struct fl_history_op *op = &h->ops[P->ops[o]];
			struct fl_history_state view = state_view(&st, (uint32_t)cur_id);
			S->steps++;
			int ok = model->step(&view, op, &next);
			if (ok < 0)
				goto out;
			if (ok == 1) {
				int64_t nid = states_intern(&st, &next);
				if (nid < 0)
					goto out;
				if (nid == cur_id &&
				    !required(op)) { /* an info op that changes nothing */
					entry = nx[entry];
					continue;
				}
				lset_add(&set, required(op), bit[o]);
				uint64_t zh = zhash ^ zob[o];
				int added = memo_add(&memo, splitmix(zh ^ ((uint64_t)nid << 32)),
				                     &set, (uint32_t)nid);
				if (added < 0)
					goto out;
				if (added) {
					stack_op[depth] = o;
					stack_state[depth] = (uint32_t)cur_id;
					depth++;
					cur_id = nid;
					zhash = zh;
					/* lift the op's events out of the list */
					uint32_t c = call_node[o];
					nx[pv[c]] = nx[c];
					pv[nx[c]] = pv[c];
					if (required(op)) {
						uint32_t r = ret_node[o];
						nx[pv[r]] = nx[r];
						pv[nx[r]] = pv[r];
						left--;
					}
					entry = nx[0];
					continue;
				}
				lset_remove(&set, required(op), bit[o]);
			}
			entry = nx[entry];
			continue;
		}
		/* a completion (or the list's end): its op did not fit */
		if (!have_best || depth > best_depth) {
			memcpy(best + low, stack_op + low, (depth - low) * sizeof(*best));
			best_depth = depth;
			low = depth;
			have_best = true;
			S->blocked = entry ? P->ops[o & ~RET_BIT] : UINT32_MAX;
			struct fl_history_state view = state_view(&st, (uint32_t)cur_id);
			if (model->describe)
				model->describe(&view, S->state_words, sizeof(S->state_words));
			else
				snprintf(S->state_words, sizeof(S->state_words), "(%zu bytes)",
				         view.len);
		}
		if (depth == 0) {
			verdict = PART_NO;
			break;
		}
		o = stack_op[--depth];
		if (depth < low)
			low = depth;
		cur_id = stack_state[depth];
		zhash ^= zob[o];
		const struct fl_history_op *op = &h->ops[P->ops[o]];
		lset_remove(&set, required(op), bit[o]);
		if (required(op)) { /* relink in the reverse order of lifting */
			uint32_t r = ret_node[o];
			nx[pv[r]] = r;
			pv[nx[r]] = r;
			left++;
		}
		uint32_t c = call_node[o];
		nx[pv[c]] = c;
		pv[nx[c]] = c;
		entry = nx[c];
	}
	rc = 0;
	if (verdict == PART_NO) {
		S->nprefix = best_depth;
		S->prefix = malloc((best_depth ? best_depth : 1) * sizeof(*S->prefix));
		if (!S->prefix) {
			rc = FL_ENOMEM;
		} else {
			for (size_t i = 0; i < best_depth; i++)
				S->prefix[i] = P->ops[best[i]];
		}
	}
	S->states += memo.n;
	size_t mem = states_memory(&st) + memo.cap * sizeof(struct memo_entry) + memo.wcap * 8 +
	             (set.nrw + set.niw) * 8 + ne * (sizeof(*ev) + 3 * sizeof(uint32_t)) +
	             n * (6 * sizeof(uint32_t) + 8);
	if (mem > S->memory)
		S->memory = mem;
out:
	free(ev);
	free(nx);
	free(pv);
	free(node_op);
	free(call_node);
	free(ret_node);
	free(zob);
	free(bit);
	free(set.req);
	free(set.info);
	free(stack_op);
	free(stack_state);
	free(best);
	free(cur.data);
	free(next.data);
	free(memo.t);
	free(memo.words);
	states_fini(&st);
	return rc ? rc : verdict;
}

/* ---- splitting into parts ---- */

static bool
included(const struct fl_history_model *model, const struct fl_history_op *op)
{
	if (op->outcome == FL_HOP_FAIL)
		return model->step_fail && model->step_fail(op);
	if (op->outcome == FL_HOP_INFO)
		return !(model->read_only && model->read_only(op));
	return true;
}

/* Splits the ops the search needs into parts (by key when the model is
 * per key).  Returns the number of parts, or -1 when out of memory. */
static long
split(const struct fl_history *h, const struct fl_history_model *model, struct part **out,
      size_t *nops)
{
	size_t cap = 0, np = 0, tcap = 64;
	struct part *parts = NULL;
	uint32_t *table = NULL; /* part index + 1, by key hash */
	uint64_t *thash = NULL;
	*nops = 0;
	if (model->per_key) {
		table = calloc(tcap, sizeof(*table));
		thash = calloc(tcap, sizeof(*thash));
		if (!table || !thash)
			goto oom;
	}
	for (size_t i = 0; i < h->n; i++) {
		const struct fl_history_op *op = &h->ops[i];
		if (!included(model, op))
			continue;
		(*nops)++;
		size_t p = 0;
		if (model->per_key) {
			if (2 * (np + 1) > tcap) {
				size_t nc = tcap * 2;
				uint32_t *t = calloc(nc, sizeof(*t));
				uint64_t *th = calloc(nc, sizeof(*th));
				if (!t || !th) {
					free(t);
					free(th);
					goto oom;
				}
				for (size_t j = 0; j < tcap; j++) {
					if (!table[j])
						continue;
					size_t k = thash[j] & (nc - 1);
					while (t[k])
						k = (k + 1) & (nc - 1);
					t[k] = table[j];
					th[k] = thash[j];
				}
				free(table);
				free(thash);
				table = t;
				thash = th;
				tcap = nc;
			}
			uint64_t kh = fli_hvalue_hash(&op->key);
			size_t k = kh & (tcap - 1);
			for (; table[k]; k = (k + 1) & (tcap - 1))
				if (thash[k] == kh &&
				    fl_hvalue_equal(&parts[table[k] - 1].key, &op->key))
					break;
			if (!table[k]) {
				table[k] = (uint32_t)np + 1;
				thash[k] = kh;
				p = np;
			} else {
				p = table[k] - 1;
			}
		}
		if (p == np) {
			if (np == cap) {
				cap = cap ? cap * 2 : 8;
				struct part *g = realloc(parts, cap * sizeof(*g));
				if (!g)
					goto oom;
				parts = g;
			}
			parts[np++] =
			        (struct part){ .key = model->per_key ? op->key
				                                     : (struct fl_hvalue){ 0 } };
		}
		struct part *P = &parts[p];
		if (P->n == P->cap) {
			P->cap = P->cap ? P->cap * 2 : 16;
			uint32_t *g = realloc(P->ops, P->cap * sizeof(*g));
			if (!g)
				goto oom;
			P->ops = g;
		}
		P->ops[P->n++] = (uint32_t)i;
	}
	free(table);
	free(thash);
	*out = parts;
	return (long)np;
oom:
	for (size_t j = 0; j < np; j++)
		free(parts[j].ops);
	free(parts);
	free(table);
	free(thash);
	return -1;
}

const char *
fl_history_verdict_name(enum fl_history_verdict v)
{
	switch (v) {
	case FL_HISTORY_LINEARIZABLE: return "linearizable";
	case FL_HISTORY_NOT_LINEARIZABLE: return "not linearizable";
	case FL_HISTORY_UNKNOWN: return "unknown";
	}
	return "?";
}

int
fl_history_check(const struct fl_history *h, const struct fl_history_model *model,
                 const struct fl_history_options *opt, struct fl_history_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!h || !model || !model->init || !model->step || h->model != model)
		return FL_EINVAL;
	double t0 = now_s();
	struct search S = { .h = h, .model = model };
	if (opt && opt->timeout_s > 0)
		S.deadline = t0 + opt->timeout_s;
	struct part *parts = NULL;
	long np = split(h, model, &parts, &res->ops);
	if (np < 0)
		return FL_ENOMEM;
	res->parts = (size_t)np;
	int rc = 0;
	bool failed = false;
	for (long i = 0; i < np; i++) {
		if (failed && !(opt && opt->all_parts))
			break;
		/* a smaller failing part was found: a larger one cannot replace it */
		if (failed && parts[i].n >= res->failure.part_ops)
			continue;
		S.prefix = NULL;
		int v = search_part(&S, &parts[i]);
		if (v < 0) {
			rc = v;
			break;
		}
		if (v == PART_UNKNOWN) {
			res->parts_unknown++;
			continue;
		}
		if (v != PART_NO)
			continue;
		if (failed)
			free(res->failure.prefix);
		failed = true;
		res->have_failure = true;
		res->failure = (struct fl_history_failure){
			.key = parts[i].key,
			.part_ops = parts[i].n,
			.prefix = S.prefix,
			.nprefix = S.nprefix,
			.blocked = S.blocked,
		};
		memcpy(res->failure.state, S.state_words, sizeof(res->failure.state));
	}
	for (long i = 0; i < np; i++)
		free(parts[i].ops);
	free(parts);
	res->states = S.states;
	res->steps = S.steps;
	res->memory_high = S.memory;
	res->seconds = now_s() - t0;
	if (rc) {
		fl_history_result_fini(res);
		return rc;
	}
	for (size_t i = 0; i < h->n; i++)
		res->completed += h->ops[i].outcome == FL_HOP_OK;
	/* One part that certainly fails decides, whatever the others' limit;
	 * a history in which nothing completed ok is no evidence at all. */
	res->verdict = failed                                        ? FL_HISTORY_NOT_LINEARIZABLE
	               : (res->parts_unknown || res->completed == 0) ? FL_HISTORY_UNKNOWN
	                                                             : FL_HISTORY_LINEARIZABLE;
	return 0;
}

void
fl_history_result_fini(struct fl_history_result *res)
{
	free(res->failure.prefix);
	res->failure.prefix = NULL;
	res->have_failure = false;
}
