/*
 * Chunk pools: size classes of chunks in one shared segment, loaned and
 * released lock-free.  See faultline/chunk.h.
 *
 * Every word another process can write is treated as hostile: the layout
 * (classes, counts, offsets) is validated once when the segment is mapped
 * and then taken from this process's own copy only; indices read from
 * shared memory are bounds-checked against it and a bad one yields
 * FL_EPROTO.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "chunk_pool.h"
#include "fli_impl.h"
#include "rr_internal.h"
#include "shm.h"

#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((uint64_t)(a)-1))

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
			fli_rr_set_errmsg("chunk spec \"%s\": more than %d classes", s,
			                  FL_CHUNK_MAX_CLASSES);
			return FL_EINVAL;
		}
		sz = strtoull(p, &end, 10);
		if (end == p || *end != ':')
			goto bad;
		p = end + 1;
		cnt = strtoull(p, &end, 10);
		if (end == p || (*end != ',' && *end != '\0') || (*end == ',' && end[1] == '\0'))
			goto bad;
		p = *end == ',' ? end + 1 : end;
		if (sz == 0 || sz > (1ull << 30) || cnt == 0 || cnt > (1ull << 20)) {
			fli_rr_set_errmsg("chunk spec \"%s\": size must be 1..2^30, count 1..2^20",
			                  s);
			return FL_EINVAL;
		}
		if (sp->n > 0 && sz <= sp->size[sp->n - 1]) {
			fli_rr_set_errmsg("chunk spec \"%s\": sizes must ascend", s);
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
	fli_rr_set_errmsg("chunk spec \"%s\": expected size:count[,size:count...]", s);
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

struct fli_cp_hdr *
fli_cp_hdr(fl_chunk_pool *p, uint32_t index)
{
	if (index >= p->total)
		return NULL;
	return p->hdrs + index;
}

void
fli_cp_count_corrupt(fl_chunk_pool *p)
{
	atomic_fetch_add_explicit(&p->seg->corrupt, 1, memory_order_relaxed);
}

/* The class that holds chunk `index` by p's own layout, or -1. */
static int
class_of(const fl_chunk_pool *p, uint32_t index)
{
	for (uint32_t i = 0; i < p->n_classes; i++)
		if (index >= p->cls[i].first && index - p->cls[i].first < p->cls[i].count)
			return (int)i;
	return -1;
}

/* Header h of chunk `index` and its class, by p's own layout.  -1 for an
 * index out of range, or a header whose mark a stray write set (counted). */
static int
checked_class(fl_chunk_pool *p, struct fli_cp_hdr *h, uint32_t index)
{
	int ci = h == NULL ? -1 : class_of(p, index);
	uint32_t mark = ci >= 0 ? h->mark : 0;

	if (mark != 0) {
		fli_cp_count_corrupt(p);
		fli_rr_set_errmsg("chunk %u: header mark is %u, not 0 (a stray write)", index,
		                  mark);
		return -1;
	}
	return ci;
}

/* The sum of a layout (struct fli_cp_seg's layout_sum): FNV-1a over its
 * words, each as 8 little-endian bytes. */
static uint64_t
sum_word(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t
layout_sum(uint32_t n_classes, uint32_t total, uint64_t seg_size, uint64_t hdr_off,
           const struct fli_cp_layout *cls)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = sum_word(h, n_classes);
	h = sum_word(h, total);
	h = sum_word(h, seg_size);
	h = sum_word(h, hdr_off);
	for (uint32_t i = 0; i < n_classes && i < FL_CHUNK_MAX_CLASSES; i++) {
		h = sum_word(h, cls[i].chunk_size);
		h = sum_word(h, cls[i].count);
		h = sum_word(h, cls[i].first);
		h = sum_word(h, cls[i].data_off);
	}
	return h;
}

/* p's chunk headers, where a scan of all of them reads (fli_shm_view). */
static struct fli_cp_hdr *
scan_hdrs(fl_chunk_pool *p, bool write)
{
	return fli_shm_view(p->hdrs, (size_t)p->total * sizeof(*p->hdrs), write);
}

static void *
chunk_data(fl_chunk_pool *p, const struct fli_cp_layout *c, uint32_t index)
{
	return (char *)p->seg + c->data_off + (uint64_t)(index - c->first) * c->chunk_size;
}

/* Takes a free chunk of class c: owner word 0 -> p->owner, then refcount
 * 0 -> 1.  It looks first at this process's hint, then from the chunk freed
 * last by anyone, round the whole class.  0 and *index, or FL_EPOOL_EMPTY.
 * A chunk whose header is corrupted (refcount without an owner) is never
 * free and is stepped over. */
static int
claim(fl_chunk_pool *p, uint32_t ci, uint32_t *index)
{
	const struct fli_cp_layout *c = &p->cls[ci];
	_Atomic uint32_t *hint = &p->hint[ci];
	uint32_t pos = atomic_load_explicit(hint, memory_order_relaxed);
	bool jumped = false;

	if (pos >= c->count)
		pos = 0;
	for (uint32_t k = 0; k < c->count; k++, pos = pos + 1 < c->count ? pos + 1 : 0) {
		struct fli_cp_hdr *h = p->hdrs + c->first + pos;
		uint64_t zero = 0, st;

		if (atomic_load_explicit(&h->owner, memory_order_relaxed) != 0 ||
		    (uint32_t)atomic_load_explicit(&h->state, memory_order_relaxed) != 0) {
			/* Our first pick is taken: scan the whole class from
			 * the chunk freed last, by anyone, so a nearly exhausted
			 * class is not scanned for the one chunk another
			 * process freed. */
			uint32_t lf = atomic_load_explicit(&p->seg->cls[ci].last_freed,
			                                   memory_order_relaxed);
			if (!jumped && lf < c->count && lf != pos) {
				jumped = true;
				k = UINT32_MAX;                        /* the step makes it 0 */
				pos = lf == 0 ? c->count - 1 : lf - 1; /* and this lf */
			}
			continue;
		}
		FL_SCHED_POINT("chunk.loan.cas");
		if (!fl_atomic_cas("chunk.loan.owned", &h->owner, &zero, p->owner,
		                   memory_order_acq_rel, memory_order_relaxed))
			continue;
		/* Ours: nobody else moves a refcount up from 0. */
		st = atomic_load_explicit(&h->state, memory_order_acquire);
		if ((uint32_t)st != 0 ||
		    !fl_atomic_cas("chunk.loan.counted", &h->state, &st,
		                   (st & 0xffffffff00000000ull) | 1, memory_order_acq_rel,
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

/* Writes p's own layout into the segment header; with only_changed, only
 * what differs, and every chunk header's mark back to 0.  Returns how many
 * fields it wrote. */
static uint32_t
layout_write(fl_chunk_pool *p, bool only_changed)
{
	struct fli_cp_seg *seg = p->seg;
	uint32_t n = 0;

#define PUT(field, value) FLI_LAYOUT_PUT(n, only_changed, field, value)
	PUT(seg->version, CP_VERSION);
	PUT(seg->n_classes, p->n_classes);
	PUT(seg->total, p->total);
	PUT(seg->seg_size, (uint64_t)p->size);
	PUT(seg->hdr_off, (uint64_t)((char *)p->hdrs - (char *)seg));
	for (uint32_t i = 0; i < FL_CHUNK_MAX_CLASSES; i++) {
		const struct fli_cp_layout *c = &p->cls[i]; /* zero past n_classes */

		PUT(seg->cls[i].chunk_size, c->chunk_size);
		PUT(seg->cls[i].count, c->count);
		PUT(seg->cls[i].first, c->first);
		PUT(seg->cls[i].data_off, c->data_off);
	}
	PUT(seg->layout_sum, layout_sum(p->n_classes, p->total, (uint64_t)p->size,
	                                (uint64_t)((char *)p->hdrs - (char *)seg), p->cls));
	if (only_changed) {
		struct fli_cp_hdr *h = scan_hdrs(p, true);

		for (uint32_t i = 0; i < p->total; i++)
			PUT(h[i].mark, 0);
	}
	atomic_thread_fence(memory_order_release);
	PUT(seg->magic, CP_MAGIC); /* last: openers check it */
#undef PUT
	return n;
}

uint32_t
fli_cp_repair(fl_chunk_pool *p)
{
	return layout_write(p, true);
}

int
fl_chunk_pool_create(const char *path, const char *spec, fl_chunk_pool **out)
{
	struct spec sp;
	struct fli_cp_seg *seg;
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
		fli_rr_set_errmsg("chunk spec: too many chunks");
		return FL_EINVAL;
	}
	off = ALIGN_UP(sizeof(struct fli_cp_seg), 64);
	uint64_t hdr_off = off;
	off += total * sizeof(struct fli_cp_hdr);
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
	rc = fli_rr_seg_create(path, off, "transport/chunk/segment", &base);
	if (rc != 0) {
		free(p);
		return rc;
	}
	seg = base;
	p->seg = seg;
	p->size = off;
	p->owner = 1;
	p->n_classes = sp.n;
	p->total = (uint32_t)total;
	p->hdrs = (struct fli_cp_hdr *)((char *)seg + hdr_off);
	uint32_t first = 0;
	for (uint32_t i = 0; i < sp.n; i++) {
		p->cls[i].chunk_size = sp.size[i];
		p->cls[i].count = sp.count[i];
		p->cls[i].first = first;
		p->cls[i].data_off = data_off[i];
		first += sp.count[i];
	}
	(void)layout_write(p, false);
	*out = p;
	return 0;
}

int
fl_chunk_pool_open(const char *path, uint64_t owner, fl_chunk_pool **out)
{
	fl_chunk_pool *p;
	struct fli_cp_seg hc; /* the header, validated on this private copy */
	uint64_t hdr_end, first = 0;
	void *base;
	size_t size;
	int rc;

	if (path == NULL || out == NULL || owner == 0)
		return FL_EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return FL_ENOMEM;
	rc = fli_rr_seg_open(path, "transport/chunk/map", &base, &size);
	if (rc != 0)
		goto fail;
	rc = FL_EPROTO;
	if (size < sizeof(hc)) {
		fli_rr_set_errmsg("%s: not a chunk segment of version %u", path, CP_VERSION);
		goto fail_unmap;
	}
	/* Checked and kept as copied: the shared header can change between a
	 * check and a use. */
	memcpy(&hc, base, sizeof(hc));
	atomic_thread_fence(memory_order_acquire);
	hdr_end = hc.hdr_off + (uint64_t)hc.total * sizeof(struct fli_cp_hdr);
	if (hc.magic != CP_MAGIC || hc.version != CP_VERSION || hc.n_classes == 0 ||
	    hc.n_classes > FL_CHUNK_MAX_CLASSES || hc.seg_size != size || hc.hdr_off < sizeof(hc) ||
	    hc.hdr_off % 64 != 0 || hc.hdr_off > size || hc.total == 0 ||
	    hc.total >= UINT32_MAX / 2 || hdr_end > size) {
		fli_rr_set_errmsg("%s: not a chunk segment of version %u", path, CP_VERSION);
		goto fail_unmap;
	}
	for (uint32_t i = 0; i < hc.n_classes; i++) {
		const struct fli_cp_class *c = &hc.cls[i];

		if (c->first != first || c->count == 0 || c->chunk_size == 0 ||
		    c->data_off < hdr_end || c->data_off > size ||
		    (uint64_t)c->chunk_size * c->count > size - c->data_off) {
			fli_rr_set_errmsg("%s: class %u out of bounds", path, i);
			goto fail_unmap;
		}
		first += c->count;
		p->cls[i].chunk_size = c->chunk_size;
		p->cls[i].count = c->count;
		p->cls[i].first = c->first;
		p->cls[i].data_off = c->data_off;
	}
	if (first != hc.total) {
		fli_rr_set_errmsg("%s: class counts do not add up", path);
		goto fail_unmap;
	}
	if (hc.layout_sum != layout_sum(hc.n_classes, hc.total, hc.seg_size, hc.hdr_off, p->cls)) {
		/* A layout that holds together but is not the creator's: a
		 * stray write the driver's repair has not put back yet. */
		atomic_fetch_add_explicit(&((struct fli_cp_seg *)base)->corrupt, 1,
		                          memory_order_relaxed);
		fli_rr_set_errmsg("%s: the layout does not match its sum (a stray write)", path);
		goto fail_unmap;
	}
	p->n_classes = hc.n_classes;
	p->total = hc.total;
	p->hdrs = (struct fli_cp_hdr *)((char *)base + hc.hdr_off);
	p->seg = base;
	p->size = size;
	p->owner = owner;
	*out = p;
	return 0;
fail_unmap:
	fli_rr_seg_unmap(base, size);
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
	fli_rr_seg_unmap(p->seg, p->size);
	free(p);
}

int
fl_chunk_pool_unlink(const char *path)
{
	return fli_shm_unlink(path);
}

static void
fill(fl_chunk_pool *p, const struct fli_cp_layout *c, struct fli_cp_hdr *h, uint32_t index,
     uint32_t gen, fl_chunk *out)
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
	struct fli_cp_class *sc;
	const struct fli_cp_layout *c = NULL;
	struct fl_idle idle = { 0 };
	uint32_t index, ci = 0;
	int rc;

	for (uint32_t i = 0; i < p->n_classes; i++) {
		if (p->cls[i].chunk_size >= len) {
			c = &p->cls[i];
			ci = i;
			break;
		}
	}
	if (c == NULL) {
		fli_rr_set_errmsg("chunk loan of %zu bytes: larger than the largest size class",
		                  len);
		return FL_EMSGSIZE;
	}
	if (FL_FAULT("transport/chunk/loan"))
		return FL_EFAULT_INJECTED;
	sc = &p->seg->cls[ci];
	for (;;) {
		rc = claim(p, ci, &index);
		if (rc == 0)
			break;
		if (deadline_ns == 0 || fl_clock_now_ns() >= deadline_ns) {
			atomic_fetch_add_explicit(&sc->exhausted, 1, memory_order_relaxed);
			fli_rr_set_errmsg("chunk pool of %u-byte chunks empty (%u chunks)",
			                  c->chunk_size, c->count);
			return FL_EPOOL_EMPTY;
		}
		fl_idle(&idle, 0, deadline_ns);
	}
	struct fli_cp_hdr *h = p->hdrs + index;
	uint32_t gen = (uint32_t)(atomic_load_explicit(&h->state, memory_order_relaxed) >> 32);
	atomic_store_explicit(&h->seq, 0, memory_order_relaxed);
	atomic_store_explicit(&h->len, (uint32_t)len, memory_order_relaxed);
	atomic_store_explicit(&h->reply_port, 0, memory_order_relaxed);
	atomic_store_explicit(&h->reply_gen, 0, memory_order_relaxed);
	atomic_store_explicit(&h->dest_gen, 0, memory_order_relaxed);
	atomic_store_explicit(&h->deadline_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&h->sender, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&sc->loans, 1, memory_order_relaxed);
	fill(p, c, h, index, gen, out);
	return 0;
}

/* The last step of a release: the chunk (refcount 0 already) becomes free
 * for the next claim. */
static void
free_owner(struct fli_cp_hdr *h)
{
	atomic_store_explicit(&h->sender, 0, memory_order_relaxed);
	FL_SCHED_POINT("chunk.release.cas");
	fl_atomic_store("chunk.free.unowned", &h->owner, 0, memory_order_release);
}

/* Drops one reference if the generation still matches; frees the chunk
 * when it was the last.  force: drop every reference at once (reclaim). */
static int
release_gen(fl_chunk_pool *p, uint32_t index, uint32_t gen, int force)
{
	struct fli_cp_hdr *h = fli_cp_hdr(p, index);
	int ci = checked_class(p, h, index);
	struct fli_cp_class *c;
	uint64_t st, nst;

	if (ci < 0)
		return FL_EPROTO;
	c = &p->seg->cls[ci];
	st = atomic_load_explicit(&h->state, memory_order_acquire);
	for (;;) {
		uint32_t rc = (uint32_t)st;

		if ((uint32_t)(st >> 32) != gen || rc == 0) {
			atomic_fetch_add_explicit(&c->stale, 1, memory_order_relaxed);
			fli_rr_set_errmsg(
			        "chunk %u: stale release (generation %u, now %u, refcount %u)",
			        index, gen, (uint32_t)(st >> 32), rc);
			return FL_ESTALE;
		}
		if (rc > 1 && !force)
			nst = (st & 0xffffffff00000000ull) | (rc - 1);
		else
			nst = ((uint64_t)(gen + 1) << 32);
		/* A chunk's generation only grows: a release keeps it or moves
		 * it one on (modulo 2^32). */
		FLI_ASSERT((uint32_t)(nst >> 32) - gen <= 1);
		FL_SCHED_POINT("chunk.release.state");
		if (fl_atomic_cas("chunk.release.dropped", &h->state, &st, nst,
		                  memory_order_acq_rel, memory_order_acquire))
			break;
	}
	if ((uint32_t)nst != 0)
		return 0;
	atomic_fetch_add_explicit(&c->releases, 1, memory_order_relaxed);
	/* Beside the counter: its line is ours already. */
	atomic_store_explicit(&c->last_freed, index - p->cls[ci].first, memory_order_relaxed);
	free_owner(h);
	/* Our next loan tries this chunk first: its lines are likely hot. */
	atomic_store_explicit(&p->hint[ci], index - p->cls[ci].first, memory_order_relaxed);
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
fli_cp_release_entry(fl_chunk_pool *p, uint32_t index, uint32_t gen)
{
	return release_gen(p, index, gen, 0);
}

int
fli_cp_take_entry(fl_chunk_pool *p, uint32_t index, uint32_t gen, fl_chunk *out)
{
	int rc = fli_cp_resolve(p, index, gen, out);
	uint64_t from;

	if (rc != 0)
		return rc;
	/* No transit (the common case): only this entry's popper can free
	 * the chunk now, so what resolved stands. */
	from = atomic_load(&fli_cp_hdr(p, index)->sender);
	if (from == 0)
		return 0;
	if (!fli_cp_transit_end(fli_cp_hdr(p, index), from))
		return FL_ESTALE;
	/* Freed between the two?  Then the transit we ended was another's. */
	return fli_cp_resolve(p, index, gen, out);
}

int
fli_cp_resolve(fl_chunk_pool *p, uint32_t index, uint32_t gen, fl_chunk *out)
{
	struct fli_cp_hdr *h = fli_cp_hdr(p, index);
	int ci = checked_class(p, h, index);
	uint64_t st;

	if (ci < 0)
		return FL_EPROTO;
	st = atomic_load_explicit(&h->state, memory_order_acquire);
	if ((uint32_t)(st >> 32) != gen || (uint32_t)st == 0)
		return FL_ESTALE;
	fill(p, &p->cls[ci], h, index, gen, out);
	return 0;
}

/* Frees chunk i (header h) of generation gen, every reference at once, and
 * counts it reclaimed.  1 if it was freed, 0 if it had changed. */
static int
reclaim_one(fl_chunk_pool *p, struct fli_cp_hdr *h, uint32_t i, uint32_t gen)
{
	int ci = class_of(p, i);

	(void)h;
	if (release_gen(p, i, gen, 1) != 0)
		return 0;
	if (ci >= 0)
		atomic_fetch_add_explicit(&p->seg->cls[ci].reclaimed, 1, memory_order_relaxed);
	return 1;
}

int
fl_chunk_reclaim_owner(fl_chunk_pool *p, uint64_t owner)
{
	struct fli_cp_hdr *all;
	int n = 0;

	if (owner == 0)
		return 0;
	all = scan_hdrs(p, true);
	for (uint32_t i = 0; i < p->total; i++) {
		struct fli_cp_hdr *h = all + i;
		uint64_t st;

		if (atomic_load_explicit(&h->owner, memory_order_acquire) != owner)
			continue;
		st = atomic_load_explicit(&h->state, memory_order_acquire);
		if ((uint32_t)st == 0) {
			/* A loan or release the owner died inside. */
			int ci = class_of(p, i);

			/* Through the mapping, not the view: free_owner
			 * reaches a scheduling point between its stores. */
			free_owner(fli_cp_hdr(p, i));
			n++;
			if (ci >= 0)
				atomic_fetch_add_explicit(&p->seg->cls[ci].reclaimed, 1,
				                          memory_order_relaxed);
		} else {
			n += reclaim_one(p, h, i, (uint32_t)(st >> 32));
		}
		all = scan_hdrs(p, true); /* past scheduling points: taken again */
	}
	return n;
}

int
fli_cp_reclaim_in_transit(fl_chunk_pool *p, uint64_t owner,
                          int (*queued)(void *arg, uint32_t index, uint32_t gen), void *arg)
{
	struct fli_cp_hdr *all;
	int n = 0;

	if (owner == 0 || owner == CP_SENDER_RECLAIMED)
		return 0;
	all = scan_hdrs(p, true);
	for (uint32_t i = 0; i < p->total; i++) {
		struct fli_cp_hdr *h = all + i;
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
		if (fl_atomic_cas("chunk.transit.reclaimed", &h->sender, &want, CP_SENDER_RECLAIMED,
		                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			n += reclaim_one(p, h, i, gen);
		all = scan_hdrs(p, true); /* past scheduling points: taken again */
	}
	return n;
}

uint32_t
fli_cp_reclaim_strays(fl_chunk_pool *p, bool (*held)(void *arg, uint64_t owner), void *arg)
{
	struct fli_cp_hdr *all = scan_hdrs(p, true);
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->total; i++) {
		struct fli_cp_hdr *h = all + i;
		uint64_t st = atomic_load_explicit(&h->state, memory_order_acquire);
		uint64_t owner = atomic_load_explicit(&h->owner, memory_order_acquire);

		if (owner == 0) {
			/* A loan takes the owner word before the refcount, a
			 * release gives the refcount back before the owner word:
			 * no owner and a refcount, the same both sides of the
			 * owner's read, is a wild write's.  No loan takes it
			 * (claim skips a refcount), so the exchange races none. */
			if ((uint32_t)st == 0)
				continue;
			if (fl_atomic_cas("chunk.stray.freed", &h->state, &st,
			                  (uint64_t)((uint32_t)(st >> 32) + 1) << 32,
			                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				n++;
		} else {
			bool kept = held(arg, owner);

			/* held may reach scheduling points (a driver's client
			 * lookup reclaims a vanished one): taken again. */
			all = scan_hdrs(p, true);
			if (kept)
				continue;
			h = all + i;
			if ((uint32_t)st == 0) {
				/* Nobody to release it, nor to reclaim it by owner. */
				if (fl_atomic_cas("chunk.stray.unowned", &h->owner, &owner, 0,
				                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
					n++;
			} else {
				n += (uint32_t)reclaim_one(p, h, i, (uint32_t)(st >> 32));
			}
		}
		all = scan_hdrs(p, true); /* past scheduling points: taken again */
	}
	return n;
}

void
fl_chunk_pool_stats(fl_chunk_pool *p, struct fl_chunk_pool_stats *out)
{
	struct fli_cp_hdr *all = scan_hdrs(p, false);

	memset(out, 0, sizeof(*out));
	out->n_classes = p->n_classes;
	out->corrupt_rejected = atomic_load(&p->seg->corrupt);
	for (uint32_t i = 0; i < p->n_classes; i++) {
		const struct fli_cp_layout *l = &p->cls[i];
		struct fli_cp_class *c = &p->seg->cls[i];
		struct fl_chunk_class_stats *s = &out->cls[i];

		s->chunk_size = l->chunk_size;
		s->total = l->count;
		for (uint32_t k = 0; k < l->count; k++)
			s->loaned += (uint32_t)atomic_load_explicit(&all[l->first + k].state,
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
	struct fli_cp_hdr *all = scan_hdrs(p, false);
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->total; i++) {
		struct fli_cp_hdr *h = all + i;
		if (atomic_load(&h->owner) == owner && (uint32_t)atomic_load(&h->state) != 0)
			n++;
	}
	return n;
}
