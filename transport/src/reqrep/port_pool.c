/*
 * Port pools: fixed tables of server and client ports in shared memory.
 * A port is taken by one CAS of its owner word from 0 to the owner's client
 * id, so a crash at any point leaves it attributed to that owner and the
 * reclaimer finds it.  Table sizes and offsets come from this process's
 * own copy of the layout (struct fli_pp_pool), never from the shared header.
 */
#include <string.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "port_pool.h"
#include "shm.h"

static const char *const kind_name[2] = { "server", "client" };

/* Writes pp's own layout into the segment header; with only_changed, only
 * what differs.  Returns how many fields it wrote. */
static uint32_t
layout_write(struct fli_pp_pool *pp, bool only_changed)
{
	struct fli_pp_seg *seg = pp->seg;
	uint32_t n = 0;

#define PUT(field, value) FLI_LAYOUT_PUT(n, only_changed, field, value)
	PUT(seg->version, PP_VERSION);
	PUT(seg->seg_size, (uint64_t)pp->size);
	for (int k = 0; k < 2; k++) {
		PUT(seg->tab[k].count, pp->count[k]);
		PUT(seg->tab[k].off, (uint64_t)((char *)pp->ports[k] - (char *)seg));
	}
	atomic_thread_fence(memory_order_release);
	PUT(seg->magic, PP_MAGIC); /* last: openers check it */
#undef PUT
	return n;
}

/* Each table's high mark back above its highest owned port, where a
 * stray write put it below (a scan would miss the ports past it).
 * Returns how many it raised. */
static uint32_t
high_repair(struct fli_pp_pool *pp)
{
	uint32_t n = 0;

	for (int k = 0; k < 2; k++) {
		_Atomic uint64_t *high = &pp->seg->tab[k].high;
		struct fli_pp_port *port = fli_pp_scan(pp, k, false);
		uint64_t need = 0, h;

		for (uint32_t i = pp->count[k]; i-- > 0;)
			if (atomic_load_explicit(&port[i].owner, memory_order_acquire) != 0) {
				need = (uint64_t)i + 1;
				break;
			}
		h = atomic_load_explicit(high, memory_order_relaxed);
		if (h >= need)
			continue;
		n++;
		while (h < need &&
		       !atomic_compare_exchange_weak_explicit(high, &h, need, memory_order_relaxed,
		                                              memory_order_relaxed))
			;
	}
	return n;
}

uint32_t
fli_pp_repair(struct fli_pp_pool *pp)
{
	return layout_write(pp, true) + high_repair(pp);
}

int
fli_pp_create(const char *path, uint32_t n_server, uint32_t n_client, struct fli_pp_pool *out)
{
	uint64_t size = sizeof(struct fli_pp_seg);
	struct fli_pp_seg *seg;
	void *base;
	int rc;

	size = (size + 63) & ~63ull;
	uint64_t off0 = size;
	size += (uint64_t)n_server * sizeof(struct fli_pp_port);
	uint64_t off1 = size;
	size += (uint64_t)n_client * sizeof(struct fli_pp_port);
	size = (size + 4095) & ~4095ull;
	rc = fli_rr_seg_create(path, size, "transport/port/segment", &base);
	if (rc != 0)
		return rc;
	seg = base;
	out->seg = seg;
	out->size = size;
	out->count[PP_SERVER] = n_server;
	out->count[PP_CLIENT] = n_client;
	out->ports[PP_SERVER] = (struct fli_pp_port *)((char *)seg + off0);
	out->ports[PP_CLIENT] = (struct fli_pp_port *)((char *)seg + off1);
	/* Every port free, every queue empty: the segment's zero bytes are
	 * that (rr_queue.h), so only the header is written. */
	(void)layout_write(out, false);
	return 0;
}

int
fli_pp_open(const char *path, struct fli_pp_pool *out)
{
	struct fli_pp_seg *seg, hc;
	void *base;
	size_t size;
	int rc;

	rc = fli_rr_seg_open(path, "transport/port/map", &base, &size);
	if (rc != 0)
		return rc;
	if (size < sizeof(hc))
		goto bad;
	/* Checked and kept as copied: the shared header can change between a
	 * check and a use. */
	memcpy(&hc, base, sizeof(hc));
	atomic_thread_fence(memory_order_acquire);
	if (hc.magic != PP_MAGIC || hc.version != PP_VERSION || hc.seg_size != size)
		goto bad;
	for (int k = 0; k < 2; k++)
		if (hc.tab[k].off < sizeof(hc) || hc.tab[k].off % 64 != 0 || hc.tab[k].off > size ||
		    (uint64_t)hc.tab[k].count * sizeof(struct fli_pp_port) > size - hc.tab[k].off)
			goto bad;
	seg = base;
	out->seg = seg;
	out->size = size;
	for (int k = 0; k < 2; k++) {
		out->count[k] = hc.tab[k].count;
		out->ports[k] = (struct fli_pp_port *)((char *)base + hc.tab[k].off);
	}
	return 0;
bad:
	fli_rr_set_errmsg("%s: not a port segment of version %u", path, PP_VERSION);
	fli_rr_seg_unmap(base, size);
	return FL_EPROTO;
}

void
fli_pp_close(struct fli_pp_pool *pp)
{
	fli_rr_seg_unmap(pp->seg, pp->size);
	pp->seg = NULL;
}

struct fli_pp_port *
fli_pp_port(struct fli_pp_pool *pp, int kind, uint32_t i)
{
	if (i >= pp->count[kind])
		return NULL;
	return pp->ports[kind] + i;
}

struct fli_pp_port *
fli_pp_scan(struct fli_pp_pool *pp, int kind, bool write)
{
	return fli_shm_view(pp->ports[kind], (size_t)pp->count[kind] * sizeof(struct fli_pp_port),
	                    write);
}

void
fli_pp_drain(struct fli_pp_port *port, fl_chunk_pool *cp)
{
	uint64_t v;

	for (uint32_t n = 0; n < 2 * RR_QUEUE_CAP && fli_rr_queue_pop(&port->q, &v) == 0; n++) {
		fl_chunk c;
		/* Entries whose chunk is gone already (freed by its sender,
		 * reclaimed) are dropped without a stale release. */
		if (fli_cp_take_entry(cp, (uint32_t)v, (uint32_t)(v >> 32), &c) == 0)
			(void)fli_cp_release_entry(cp, (uint32_t)v, (uint32_t)(v >> 32));
	}
}

int
fli_pp_alloc(struct fli_pp_pool *pp, fl_chunk_pool *cp, int kind, uint64_t owner,
             const char *service, uint32_t *index, uint32_t *gen)
{
	struct fli_pp_table_hdr *t = &pp->seg->tab[kind];
	uint32_t n = pp->count[kind];
	uint64_t start;

	if (FL_FAULT(kind == PP_SERVER ? "transport/port/server_alloc"
	                               : "transport/port/client_alloc")) {
		fli_rr_set_errmsg("%s port allocation: injected fault", kind_name[kind]);
		return FL_EFAULT_INJECTED;
	}
	start = atomic_load_explicit(&t->hint, memory_order_relaxed);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (uint32_t)((start + k) % n);
		struct fli_pp_port *p = fli_pp_port(pp, kind, i);
		uint64_t zero = 0;

		if (atomic_load_explicit(&p->owner, memory_order_relaxed) != 0)
			continue;
		FL_SCHED_POINT("port.alloc.cas");
		/* The high mark is raised before the port is owned (the CAS
		 * below releases it): whoever sees the owner sees the mark
		 * past it (fli_pp_repair checks that), and a scan that reads
		 * the mark after the port turned active looks at it.  A CAS
		 * that then fails leaves it raised: too high costs a longer
		 * scan, never a wrong answer. */
		for (uint64_t h = atomic_load_explicit(&t->high, memory_order_relaxed);
		     h < (uint64_t)i + 1 &&
		     !atomic_compare_exchange_weak_explicit(&t->high, &h, (uint64_t)i + 1,
		                                            memory_order_relaxed,
		                                            memory_order_relaxed);)
			;
		if (!fl_atomic_cas("port.alloc.owned", &p->owner, &zero, owner,
		                   memory_order_acq_rel, memory_order_relaxed))
			continue;
		atomic_store_explicit(&t->hint, i + 1, memory_order_relaxed);
		/* Cells a consumer killed mid-take never gave back, then
		 * entries a late sender pushed after the last free. */
		uint32_t fixed = fli_rr_queue_repair(&p->q);
		if (fixed > 0)
			atomic_fetch_add(&pp->seg->cells_repaired, fixed);
		fli_pp_drain(p, cp);
		/* Then what a wild write left in the empty queue. */
		fixed = fli_rr_queue_fix_wild(&p->q);
		if (fixed > 0)
			atomic_fetch_add(&pp->seg->cells_repaired, fixed);
		memset(p->service, 0, sizeof(p->service));
		strncpy(p->service, service, FL_RR_SERVICE_MAX);
		*gen = atomic_load_explicit(&p->gen, memory_order_relaxed);
		fl_atomic_store("port.alloc.active", &p->state, PP_ACTIVE, memory_order_release);
		atomic_fetch_add_explicit(&t->opens, 1, memory_order_relaxed);
		*index = i;
		return 0;
	}
	atomic_fetch_add_explicit(&t->exhausted, 1, memory_order_relaxed);
	fli_rr_set_errmsg("%s port pool exhausted: all %u %s ports in use", kind_name[kind], n,
	                  kind_name[kind]);
	return FL_ENO_PORTS;
}

int
fli_pp_free(struct fli_pp_pool *pp, fl_chunk_pool *cp, int kind, uint32_t index, uint32_t gen,
            uint64_t owner)
{
	struct fli_pp_port *p = fli_pp_port(pp, kind, index);
	uint32_t active = PP_ACTIVE;

	if (p == NULL)
		return FL_EPROTO;
	if (atomic_load_explicit(&p->owner, memory_order_acquire) != owner ||
	    atomic_load_explicit(&p->gen, memory_order_acquire) != gen)
		return FL_ESTALE;
	/* A crash between alloc's owner CAS and ACTIVE leaves state FREE:
	 * free it all the same. */
	if (!fl_atomic_cas("port.free.closing", &p->state, &active, PP_CLOSING, __ATOMIC_SEQ_CST,
	                   __ATOMIC_SEQ_CST))
		fl_atomic_store("port.free.closing", &p->state, PP_CLOSING, __ATOMIC_SEQ_CST);
	FL_SCHED_POINT("port.free.drain");
	fli_pp_drain(p, cp);
	fl_atomic_fetch_add("port.free.gen", &p->gen, 1, memory_order_release);
	fl_atomic_store("port.free.state", &p->state, PP_FREE, memory_order_release);
	fl_atomic_store("port.free.unowned", &p->owner, 0, memory_order_release);
	return 0;
}
