/*
 * Chunk pools: size classes of chunks in one shared segment, loaned and
 * released lock-free.  See faultline/chunk.h.
 *
 * Every word another process can write is treated as hostile: indices read
 * from shared memory are bounds-checked and a bad one yields FL_EPROTO.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "chunk_pool.h"
#include "rr_internal.h"

#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))

struct spec {
	uint32_t n;
	uint32_t size[FL_CHUNK_MAX_CLASSES];
	uint32_t count[FL_CHUNK_MAX_CLASSES];
};

static int
parse_spec(const char *s, struct spec *sp)
{
	const char *p = s;

	memset(sp, 0, sizeof(*sp));
	while (*p != '\0') {
		char *end;
		unsigned long long sz, cnt;

		if (sp->n == FL_CHUNK_MAX_CLASSES) {
			rr_set_errmsg("chunk spec \"%s\": more than %d classes", s,
			              FL_CHUNK_MAX_CLASSES);
			return FL_EINVAL;
		}
		sz = strtoull(p, &end, 10);
		if (end == p || *end != ':')
			goto bad;
		p = end + 1;
		cnt = strtoull(p, &end, 10);
		if (end == p || (*end != ',' && *end != '\0') ||
		    (*end == ',' && end[1] == '\0'))
			goto bad;
		p = *end == ',' ? end + 1 : end;
		if (sz == 0 || sz > (1ull << 30) || cnt == 0 || cnt > (1ull << 20)) {
			rr_set_errmsg("chunk spec \"%s\": size must be 1..2^30, count 1..2^20", s);
			return FL_EINVAL;
		}
		if (sp->n > 0 && sz <= sp->size[sp->n - 1]) {
			rr_set_errmsg("chunk spec \"%s\": sizes must ascend", s);
			return FL_EINVAL;
		}
		sp->size[sp->n] = (uint32_t)sz;
		sp->count[sp->n] = (uint32_t)cnt;
		sp->n++;
	}
	if (sp->n == 0)
		goto bad;
	return 0;
bad:
	rr_set_errmsg("chunk spec \"%s\": expected size:count[,size:count...]", s);
	return FL_EINVAL;
}

int
fl_chunk_spec_check(const char *spec, uint64_t *bytes)
{
	struct spec sp;
	uint64_t total = 0;
	int rc;

	if (spec == NULL)
		return FL_EINVAL;
	rc = parse_spec(spec, &sp);
	if (rc != 0)
		return rc;
	for (uint32_t i = 0; i < sp.n; i++)
		total += (uint64_t)sp.size[i] * sp.count[i];
	if (bytes != NULL)
		*bytes = total;
	return 0;
}

struct cp_hdr *
cp_hdr(fl_chunk_pool *p, uint32_t index)
{
	if (index >= p->seg->total)
		return NULL;
	return (struct cp_hdr *)((char *)p->seg + p->seg->hdr_off) + index;
}

static void *
chunk_data(fl_chunk_pool *p, const struct cp_class *c, uint32_t index)
{
	return (char *)p->seg + c->data_off + (uint64_t)(index - c->first) * c->chunk_size;
}

/* Takes a free chunk of class c: owner word 0 -> p->owner, then refcount
 * 0 -> 1.  It looks first at this process's hint, then from the chunk freed
 * last by anyone, round the whole class.  0 and *index, or FL_EPOOL_EMPTY.
 * A chunk whose header is corrupted (refcount without an owner) is never
 * free and is stepped over. */
static int
claim(fl_chunk_pool *p, struct cp_class *c, uint32_t *index)
{
	_Atomic uint32_t *hint = &p->hint[c - p->seg->cls];
	uint32_t pos = atomic_load_explicit(hint, memory_order_relaxed);
	bool jumped = false;

	if (pos >= c->count)
		pos = 0;
	for (uint32_t k = 0; k < c->count; k++, pos = pos + 1 < c->count ? pos + 1 : 0) {
		struct cp_hdr *h = cp_hdr(p, c->first + pos);
		uint64_t zero = 0, st;

		if (atomic_load_explicit(&h->owner, memory_order_relaxed) != 0 ||
		    (uint32_t)atomic_load_explicit(&h->state, memory_order_relaxed) != 0) {
			/* Our first pick is taken: scan the whole class from
			 * the chunk freed last, by anyone, so a nearly exhausted
			 * class is not scanned for the one chunk another
			 * process freed. */
			uint32_t lf = atomic_load_explicit(&c->last_freed, memory_order_relaxed);
			if (!jumped && lf < c->count && lf != pos) {
				jumped = true;
				k = UINT32_MAX; /* the step makes it 0 */
				pos = lf == 0 ? c->count - 1 : lf - 1; /* and this lf */
			}
			continue;
		}
		FL_SCHED_POINT("chunk.loan.cas");
		if (!atomic_compare_exchange_strong_explicit(&h->owner, &zero, p->owner,
		                                             memory_order_acq_rel,
		                                             memory_order_relaxed))
			continue;
		/* Ours: nobody else moves a refcount up from 0. */
		st = atomic_load_explicit(&h->state, memory_order_acquire);
		if ((uint32_t)st != 0 ||
		    !atomic_compare_exchange_strong_explicit(&h->state, &st,
		                                             (st & 0xffffffff00000000ull) | 1,
		                                             memory_order_acq_rel,
		                                             memory_order_acquire)) {
			/* A wild writer: leave the chunk as we found it. */
			atomic_store_explicit(&h->owner, 0, memory_order_release);
			continue;
		}
		atomic_store_explicit(hint, pos + 1, memory_order_relaxed);
		*index = c->first + pos;
		return 0;
	}
	return FL_EPOOL_EMPTY;
}

int
fl_chunk_pool_create(const char *path, const char *spec, fl_chunk_pool **out)
{
	struct spec sp;
	struct cp_seg *seg;
	fl_chunk_pool *p;
	uint64_t off, total = 0;
	void *base;
	int rc;

	if (path == NULL || out == NULL)
		return FL_EINVAL;
	rc = parse_spec(spec != NULL ? spec : FL_CHUNK_DEFAULT_SPEC, &sp);
	if (rc != 0)
		return rc;
	for (uint32_t i = 0; i < sp.n; i++)
		total += sp.count[i];
	if (total >= UINT32_MAX / 2) {
		rr_set_errmsg("chunk spec: too many chunks");
		return FL_EINVAL;
	}
	off = ALIGN_UP(sizeof(struct cp_seg), 64);
	uint64_t hdr_off = off;
	off += total * sizeof(struct cp_hdr);
	uint64_t data_off[FL_CHUNK_MAX_CLASSES];
	for (uint32_t i = 0; i < sp.n; i++) {
		off = ALIGN_UP(off, 64);
		data_off[i] = off;
		off += (uint64_t)sp.size[i] * sp.count[i];
	}
	off = ALIGN_UP(off, 4096);

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return FL_ENOMEM;
	rc = rr_seg_create(path, off, "transport/chunk/segment", &base);
	if (rc != 0) {
		free(p);
		return rc;
	}
	seg = base;
	seg->version = CP_VERSION;
	seg->n_classes = sp.n;
	seg->total = (uint32_t)total;
	seg->seg_size = off;
	seg->hdr_off = hdr_off;
	p->seg = seg;
	p->size = off;
	p->owner = 1;
	uint32_t first = 0;
	for (uint32_t i = 0; i < sp.n; i++) {
		struct cp_class *c = &seg->cls[i];

		c->chunk_size = sp.size[i];
		c->count = sp.count[i];
		c->first = first;
		c->data_off = data_off[i];
		for (uint32_t k = 0; k < c->count; k++)
			cp_hdr(p, first + k)->cls = i;
		first += c->count;
	}
	atomic_thread_fence(memory_order_release);
	seg->magic = CP_MAGIC; /* last: openers check it */
	*out = p;
	return 0;
}

int
fl_chunk_pool_open(const char *path, uint64_t owner, fl_chunk_pool **out)
{
	fl_chunk_pool *p;
	struct cp_seg *seg;
	void *base;
	size_t size;
	int rc;

	if (path == NULL || out == NULL || owner == 0)
		return FL_EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return FL_ENOMEM;
	rc = rr_seg_open(path, "transport/chunk/map", &base, &size);
	if (rc != 0)
		goto fail;
	seg = base;
	rc = FL_EPROTO;
	if (size < sizeof(*seg) || seg->magic != CP_MAGIC || seg->version != CP_VERSION ||
	    seg->n_classes == 0 || seg->n_classes > FL_CHUNK_MAX_CLASSES ||
	    seg->seg_size != size ||
	    seg->hdr_off + (uint64_t)seg->total * sizeof(struct cp_hdr) > size) {
		rr_set_errmsg("%s: not a chunk segment of version %u", path, CP_VERSION);
		goto fail_unmap;
	}
	uint64_t first = 0;
	for (uint32_t i = 0; i < seg->n_classes; i++) {
		struct cp_class *c = &seg->cls[i];
		if (c->first != first ||
		    c->data_off + (uint64_t)c->chunk_size * c->count > size) {
			rr_set_errmsg("%s: class %u out of bounds", path, i);
			goto fail_unmap;
		}
		first += c->count;
	}
	if (first != seg->total) {
		rr_set_errmsg("%s: class counts do not add up", path);
		goto fail_unmap;
	}
	p->seg = seg;
	p->size = size;
	p->owner = owner;
	*out = p;
	return 0;
fail_unmap:
	rr_seg_unmap(base, size);
fail:
	free(p);
	return rc;
}

void
fl_chunk_pool_set_owner(fl_chunk_pool *p, uint64_t owner)
{
	if (owner != 0)
		p->owner = owner;
}

void
fl_chunk_pool_close(fl_chunk_pool *p)
{
	if (p == NULL)
		return;
	rr_seg_unmap(p->seg, p->size);
	free(p);
}

int
fl_chunk_pool_unlink(const char *path)
{
	if (unlink(path) != 0)
		return FL_ENOENT;
	return 0;
}

static void
fill(fl_chunk_pool *p, struct cp_class *c, struct cp_hdr *h, uint32_t index, uint32_t gen,
     fl_chunk *out)
{
	out->data = chunk_data(p, c, index);
	out->len = atomic_load_explicit(&h->len, memory_order_relaxed);
	out->cap = c->chunk_size;
	out->seq = atomic_load_explicit(&h->seq, memory_order_relaxed);
	out->index = index;
	out->gen = gen;
	out->reply_port = atomic_load_explicit(&h->reply_port, memory_order_relaxed);
	out->reply_gen = atomic_load_explicit(&h->reply_gen, memory_order_relaxed);
	if (out->len > out->cap)
		out->len = out->cap;
}

int
fl_chunk_loan(fl_chunk_pool *p, size_t len, uint64_t deadline_ns, fl_chunk *out)
{
	struct cp_seg *seg = p->seg;
	struct cp_class *c = NULL;
	struct fl_idle idle = { 0 };
	uint32_t index;
	int rc;

	for (uint32_t i = 0; i < seg->n_classes && i < FL_CHUNK_MAX_CLASSES; i++) {
		if (seg->cls[i].chunk_size >= len) {
			c = &seg->cls[i];
			break;
		}
	}
	if (c == NULL) {
		rr_set_errmsg("chunk loan of %zu bytes: larger than the largest size class", len);
		return FL_EMSGSIZE;
	}
	if (FL_FAULT("transport/chunk/loan"))
		return FL_EFAULT_INJECTED;
	for (;;) {
		rc = claim(p, c, &index);
		if (rc == 0)
			break;
		if (deadline_ns == 0 || fl_clock_now_ns() >= deadline_ns) {
			atomic_fetch_add_explicit(&c->exhausted, 1, memory_order_relaxed);
			rr_set_errmsg("chunk pool of %u-byte chunks empty (%u chunks)",
			              c->chunk_size, c->count);
			return FL_EPOOL_EMPTY;
		}
		fl_idle(&idle, 0, deadline_ns);
	}
	struct cp_hdr *h = cp_hdr(p, index);
	uint32_t gen = (uint32_t)(atomic_load_explicit(&h->state, memory_order_relaxed) >> 32);
	atomic_store_explicit(&h->seq, 0, memory_order_relaxed);
	atomic_store_explicit(&h->len, (uint32_t)len, memory_order_relaxed);
	atomic_store_explicit(&h->reply_port, 0, memory_order_relaxed);
	atomic_store_explicit(&h->reply_gen, 0, memory_order_relaxed);
	atomic_store_explicit(&h->dest_gen, 0, memory_order_relaxed);
	atomic_store_explicit(&h->deadline_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&h->sender, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->loans, 1, memory_order_relaxed);
	fill(p, c, h, index, gen, out);
	return 0;
}

/* The last step of a release: the chunk (refcount 0 already) becomes free
 * for the next claim. */
static void
free_owner(struct cp_hdr *h)
{
	atomic_store_explicit(&h->sender, 0, memory_order_relaxed);
	FL_SCHED_POINT("chunk.release.cas");
	atomic_store_explicit(&h->owner, 0, memory_order_release);
}

/* Drops one reference if the generation still matches; frees the chunk
 * when it was the last.  force: drop every reference at once (reclaim). */
static int
release_gen(fl_chunk_pool *p, uint32_t index, uint32_t gen, int force)
{
	struct cp_hdr *h = cp_hdr(p, index);
	struct cp_class *c;
	uint64_t st, nst;

	if (h == NULL || h->cls >= p->seg->n_classes)
		return FL_EPROTO;
	c = &p->seg->cls[h->cls];
	if (index < c->first || index - c->first >= c->count)
		return FL_EPROTO;
	st = atomic_load_explicit(&h->state, memory_order_acquire);
	for (;;) {
		uint32_t rc = (uint32_t)st;

		if ((uint32_t)(st >> 32) != gen || rc == 0) {
			atomic_fetch_add_explicit(&c->stale, 1, memory_order_relaxed);
			rr_set_errmsg("chunk %u: stale release (generation %u, now %u, refcount %u)",
			              index, gen, (uint32_t)(st >> 32), rc);
			return FL_ESTALE;
		}
		if (rc > 1 && !force)
			nst = (st & 0xffffffff00000000ull) | (rc - 1);
		else
			nst = ((uint64_t)(gen + 1) << 32);
		FL_SCHED_POINT("chunk.release.state");
		if (atomic_compare_exchange_weak_explicit(&h->state, &st, nst,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	if ((uint32_t)nst != 0)
		return 0;
	atomic_fetch_add_explicit(&c->releases, 1, memory_order_relaxed);
	/* Beside the counter: its line is ours already. */
	atomic_store_explicit(&c->last_freed, index - c->first, memory_order_relaxed);
	free_owner(h);
	/* Our next loan tries this chunk first: its lines are likely hot. */
	atomic_store_explicit(&p->hint[h->cls], index - c->first, memory_order_relaxed);
	return 0;
}

int
fl_chunk_release(fl_chunk_pool *p, const fl_chunk *ch)
{
	if (p == NULL || ch == NULL)
		return FL_EINVAL;
	return release_gen(p, ch->index, ch->gen, 0);
}

int
cp_release_entry(fl_chunk_pool *p, uint32_t index, uint32_t gen)
{
	return release_gen(p, index, gen, 0);
}

int
cp_take_entry(fl_chunk_pool *p, uint32_t index, uint32_t gen, fl_chunk *out)
{
	int rc = cp_resolve(p, index, gen, out);
	uint64_t from;

	if (rc != 0)
		return rc;
	/* No transit (the common case): only this entry's popper can free
	 * the chunk now, so what resolved stands. */
	from = atomic_load(&cp_hdr(p, index)->sender);
	if (from == 0)
		return 0;
	if (!cp_transit_end(cp_hdr(p, index), from))
		return FL_ESTALE;
	/* Freed between the two?  Then the transit we ended was another's. */
	return cp_resolve(p, index, gen, out);
}

int
cp_resolve(fl_chunk_pool *p, uint32_t index, uint32_t gen, fl_chunk *out)
{
	struct cp_hdr *h = cp_hdr(p, index);
	struct cp_class *c;
	uint64_t st;

	if (h == NULL || h->cls >= p->seg->n_classes)
		return FL_EPROTO;
	c = &p->seg->cls[h->cls];
	if (index < c->first || index - c->first >= c->count)
		return FL_EPROTO;
	st = atomic_load_explicit(&h->state, memory_order_acquire);
	if ((uint32_t)(st >> 32) != gen || (uint32_t)st == 0)
		return FL_ESTALE;
	fill(p, c, h, index, gen, out);
	return 0;
}

/* Frees chunk i (header h) of generation gen, every reference at once, and
 * counts it reclaimed.  1 if it was freed, 0 if it had changed. */
static int
reclaim_one(fl_chunk_pool *p, struct cp_hdr *h, uint32_t i, uint32_t gen)
{
	if (release_gen(p, i, gen, 1) != 0)
		return 0;
	if (h->cls < p->seg->n_classes)
		atomic_fetch_add_explicit(&p->seg->cls[h->cls].reclaimed, 1, memory_order_relaxed);
	return 1;
}

int
fl_chunk_reclaim_owner(fl_chunk_pool *p, uint64_t owner)
{
	int n = 0;

	if (owner == 0)
		return 0;
	for (uint32_t i = 0; i < p->seg->total; i++) {
		struct cp_hdr *h = cp_hdr(p, i);
		uint64_t st;

		if (atomic_load_explicit(&h->owner, memory_order_acquire) != owner)
			continue;
		st = atomic_load_explicit(&h->state, memory_order_acquire);
		if ((uint32_t)st == 0) {
			/* A loan or release the owner died inside. */
			free_owner(h);
			n++;
			if (h->cls < p->seg->n_classes)
				atomic_fetch_add_explicit(&p->seg->cls[h->cls].reclaimed, 1,
				                          memory_order_relaxed);
			continue;
		}
		n += reclaim_one(p, h, i, (uint32_t)(st >> 32));
	}
	return n;
}

int
cp_reclaim_in_transit(fl_chunk_pool *p, uint64_t owner,
                      int (*queued)(void *arg, uint32_t index, uint32_t gen), void *arg)
{
	int n = 0;

	if (owner == 0 || owner == CP_SENDER_RECLAIMED)
		return 0;
	for (uint32_t i = 0; i < p->seg->total; i++) {
		struct cp_hdr *h = cp_hdr(p, i);
		uint64_t st, want = owner;
		uint32_t gen;

		if (atomic_load_explicit(&h->sender, memory_order_acquire) != owner)
			continue;
		st = atomic_load_explicit(&h->state, memory_order_acquire);
		gen = (uint32_t)(st >> 32);
		if ((uint32_t)st == 0 || queued(arg, i, gen))
			continue;
		/* Not published anywhere: the sender died before its push
		 * landed.  The receiver's take claims the chunk by the same
		 * exchange, so only one of the two gets it. */
		if (!atomic_compare_exchange_strong(&h->sender, &want, CP_SENDER_RECLAIMED))
			continue;
		n += reclaim_one(p, h, i, gen);
	}
	return n;
}

void
fl_chunk_pool_stats(fl_chunk_pool *p, struct fl_chunk_pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->n_classes = p->seg->n_classes;
	for (uint32_t i = 0; i < out->n_classes && i < FL_CHUNK_MAX_CLASSES; i++) {
		struct cp_class *c = &p->seg->cls[i];
		struct fl_chunk_class_stats *s = &out->cls[i];

		s->chunk_size = c->chunk_size;
		s->total = c->count;
		for (uint32_t k = 0; k < c->count; k++)
			s->loaned += (uint32_t)atomic_load_explicit(&cp_hdr(p, c->first + k)->state,
			                                            memory_order_relaxed) != 0;
		s->loans = atomic_load(&c->loans);
		s->releases = atomic_load(&c->releases);
		s->exhausted = atomic_load(&c->exhausted);
		s->stale = atomic_load(&c->stale);
		s->reclaimed = atomic_load(&c->reclaimed);
	}
}

uint32_t
fl_chunk_owner_loaned(fl_chunk_pool *p, uint64_t owner)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->seg->total; i++) {
		struct cp_hdr *h = cp_hdr(p, i);
		if (atomic_load(&h->owner) == owner && (uint32_t)atomic_load(&h->state) != 0)
			n++;
	}
	return n;
}
