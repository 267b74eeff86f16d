/*
 * Request/response: the domain (chunk and port segments of a run
 * directory), server ports and client ports.  See faultline/reqrep.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "chunk_pool.h"
#include "core/plant.h"
#include "fli_impl.h"
#include "cnc.h"
#include "port_pool.h"
#include "shm.h"

struct fl_rr_domain {
	fl_chunk_pool *chunks;
	struct fli_pp_pool ports;
	uint64_t owner;
};

/* The port a server or a client holds: the first member of both, so
 * port_open and port_close serve the two. */
struct rr_port {
	fl_rr_domain *d;
	uint32_t index;
	uint32_t gen;
};

struct fl_rr_server {
	struct rr_port p;
};

#define RR_MAX_CACHED   16
#define RR_RESCAN_EVERY 256

struct rr_pending {
	uint64_t seq;         /* 0: slot free */
	uint64_t deadline_ns; /* 0: none */
	uint32_t server;
	uint32_t server_gen;
};

struct fl_rr_client {
	struct rr_port p;
	char service[FL_RR_SERVICE_MAX + 1];
	uint64_t next_seq;
	uint32_t n_srv;
	uint32_t rr;
	uint32_t sends_since_scan;
	struct {
		uint32_t index, gen;
	} srv[RR_MAX_CACHED];
	uint32_t outstanding;
	uint32_t expire_scan; /* where fl_rr_client_expired resumes */
	struct rr_pending pending[FL_RR_MAX_OUTSTANDING];
};

static void
paths(const char *dir, char *chunks, char *ports)
{
	snprintf(chunks, PATH_MAX, "%s/" FL_CHUNKS_FILE, dir);
	snprintf(ports, PATH_MAX, "%s/" FL_PORTS_FILE, dir);
}

int
fl_rr_validate_service(const char *name)
{
	size_t n;

	if (name == NULL)
		return FL_ENAME;
	n = strlen(name);
	if (n == 0 || n > FL_RR_SERVICE_MAX || strstr(name, "..") != NULL)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '/')
			goto bad;
	return 0;
bad:
	fli_rr_set_errmsg("invalid service name (1..%d characters, no '/', '..' or control "
	                  "characters)",
	                  FL_RR_SERVICE_MAX);
	return FL_ENAME;
}

int
fl_rr_domain_create(const char *dir, const struct fl_rr_config *cfg, fl_rr_domain **out)
{
	char cpath[PATH_MAX], ppath[PATH_MAX];
	uint32_t ns =
	        cfg != NULL && cfg->server_ports != 0 ? cfg->server_ports : FL_RR_DEFAULT_PORTS;
	uint32_t nc =
	        cfg != NULL && cfg->client_ports != 0 ? cfg->client_ports : FL_RR_DEFAULT_PORTS;
	fl_rr_domain *d;
	int rc;

	if (dir == NULL || out == NULL || ns > 65536 || nc > 65536)
		return FL_EINVAL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return FL_ENOMEM;
	paths(dir, cpath, ppath);
	rc = fl_chunk_pool_create(cpath, cfg != NULL ? cfg->chunk_spec : NULL, &d->chunks);
	if (rc != 0)
		goto fail;
	rc = fli_pp_create(ppath, ns, nc, &d->ports);
	if (rc != 0)
		goto fail_chunks;
	d->owner = 1;
	*out = d;
	return 0;
fail_chunks:
	fl_chunk_pool_close(d->chunks);
	(void)fli_shm_unlink(cpath);
fail:
	free(d);
	return rc;
}

int
fl_rr_domain_open(const char *dir, uint64_t owner, fl_rr_domain **out)
{
	char cpath[PATH_MAX], ppath[PATH_MAX];
	fl_rr_domain *d;
	int rc;

	if (dir == NULL || out == NULL || owner == 0)
		return FL_EINVAL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return FL_ENOMEM;
	paths(dir, cpath, ppath);
	rc = fl_chunk_pool_open(cpath, owner, &d->chunks);
	if (rc != 0)
		goto fail;
	rc = fli_pp_open(ppath, &d->ports);
	if (rc != 0)
		goto fail_chunks;
	d->owner = owner;
	*out = d;
	return 0;
fail_chunks:
	fl_chunk_pool_close(d->chunks);
fail:
	free(d);
	return rc;
}

void
fl_rr_domain_close(fl_rr_domain *d)
{
	if (d == NULL)
		return;
	if (d->ports.seg != NULL)
		fli_pp_close(&d->ports);
	fl_chunk_pool_close(d->chunks);
	free(d);
}

int
fl_rr_domain_unlink(const char *dir)
{
	char cpath[PATH_MAX], ppath[PATH_MAX];
	int crc, prc;

	paths(dir, cpath, ppath);
	crc = fli_shm_unlink(cpath);
	prc = fli_shm_unlink(ppath);
	return crc != 0 ? crc : prc;
}

fl_chunk_pool *
fl_rr_domain_chunks(fl_rr_domain *d)
{
	return d->chunks;
}

struct fli_pp_pool *
fli_rr_domain_ports(fl_rr_domain *d)
{
	return &d->ports;
}

int
fl_rr_release(fl_rr_domain *d, const fl_chunk *c)
{
	return fl_chunk_release(d->chunks, c);
}

/* Is entry (index, gen) published in the queue of a live port of the
 * generation it was sent to?  (In a dead port's queue nobody takes it.) */
static int
queued_anywhere(void *arg, uint32_t index, uint32_t gen)
{
	fl_rr_domain *d = arg;
	uint32_t dest_gen = atomic_load(&fli_cp_hdr(d->chunks, index)->dest_gen);

	for (int k = 0; k < 2; k++) {
		struct fli_pp_port *port = fli_pp_scan(&d->ports, k, false);

		for (uint32_t i = 0; i < d->ports.count[k]; i++) {
			struct fli_pp_port *p = port + i;
			if (atomic_load(&p->state) == PP_ACTIVE &&
			    atomic_load(&p->gen) == dest_gen &&
			    fli_rr_queue_contains(&p->q, fli_rr_entry(index, gen)))
				return 1;
		}
	}
	return 0;
}

int
fl_rr_reclaim_owner(fl_rr_domain *d, uint64_t owner, uint32_t *ports, uint32_t *chunks)
{
	uint32_t np = 0;
	int nc;

	if (owner == 0)
		return FL_EINVAL;
	for (int k = 0; k < 2; k++) {
		struct fli_pp_port *port = fli_pp_scan(&d->ports, k, false);

		for (uint32_t i = 0; i < d->ports.count[k]; i++) {
			struct fli_pp_port *p = port + i;
			if (atomic_load(&p->owner) != owner)
				continue;
			if (fli_pp_free(&d->ports, d->chunks, k, i, atomic_load(&p->gen), owner) ==
			    0) {
				np++;
				atomic_fetch_add(&d->ports.seg->tab[k].reclaimed, 1);
			}
			/* Past scheduling points: taken again (fli_shm_view). */
			port = fli_pp_scan(&d->ports, k, false);
		}
	}
	/* A process killed inside a push leaves a claimed, unpublished cell
	 * that would stop its queue for good, and a chunk already handed to
	 * the receiver that never arrives. */
	for (int k = 0; k < 2; k++) {
		struct fli_pp_port *port = fli_pp_scan(&d->ports, k, true);

		for (uint32_t i = 0; i < d->ports.count[k]; i++) {
			uint32_t n = fli_rr_queue_mark_holes(&port[i].q);
			if (n > 0)
				atomic_fetch_add(&d->ports.seg->holes_marked, n);
		}
	}
	nc = fli_cp_reclaim_in_transit(d->chunks, owner, queued_anywhere, d);
	nc += fl_chunk_reclaim_owner(d->chunks, owner);
	if (ports != NULL)
		*ports = np;
	if (chunks != NULL)
		*chunks = (uint32_t)nc;
	return 0;
}

static uint32_t
count_in_use(fl_rr_domain *d, int kind)
{
	struct fli_pp_port *port = fli_pp_scan(&d->ports, kind, false);
	uint32_t n = 0;

	for (uint32_t i = 0; i < d->ports.count[kind]; i++)
		if (atomic_load_explicit(&port[i].owner, memory_order_relaxed) != 0)
			n++;
	return n;
}

void
fl_rr_stats(fl_rr_domain *d, struct fl_rr_stats *out)
{
	struct fli_pp_seg *s = d->ports.seg;

	memset(out, 0, sizeof(*out));
	out->server_ports = d->ports.count[PP_SERVER];
	out->client_ports = d->ports.count[PP_CLIENT];
	out->servers_in_use = count_in_use(d, PP_SERVER);
	out->clients_in_use = count_in_use(d, PP_CLIENT);
	out->server_opens = atomic_load(&s->tab[PP_SERVER].opens);
	out->client_opens = atomic_load(&s->tab[PP_CLIENT].opens);
	out->server_exhausted = atomic_load(&s->tab[PP_SERVER].exhausted);
	out->client_exhausted = atomic_load(&s->tab[PP_CLIENT].exhausted);
	out->ports_reclaimed = atomic_load(&s->tab[PP_SERVER].reclaimed) +
	                       atomic_load(&s->tab[PP_CLIENT].reclaimed);
	out->queue_holes_marked = atomic_load(&s->holes_marked);
	out->queue_cells_repaired = atomic_load(&s->cells_repaired);
	fl_chunk_pool_stats(d->chunks, &out->chunks);
}

uint32_t
fl_rr_domain_repair(fl_rr_domain *d)
{
	return d != NULL ? fli_cp_repair(d->chunks) + fli_pp_repair(&d->ports) : 0;
}

uint32_t
fl_rr_owner_ports(fl_rr_domain *d, uint64_t owner)
{
	uint32_t n = 0;

	for (int k = 0; k < 2; k++) {
		struct fli_pp_port *port = fli_pp_scan(&d->ports, k, false);

		for (uint32_t i = 0; i < d->ports.count[k]; i++)
			if (atomic_load(&port[i].owner) == owner)
				n++;
	}
	return n;
}

/* Is port (kind, index) still the live port of generation gen?  On
 * success *owner gets its owner. */
static int
port_live(fl_rr_domain *d, int kind, uint32_t index, uint32_t gen, uint64_t *owner)
{
	struct fli_pp_port *p = fli_pp_port(&d->ports, kind, index);

	if (p == NULL)
		return 0;
	if (atomic_load_explicit(&p->state, memory_order_acquire) != PP_ACTIVE ||
	    atomic_load_explicit(&p->gen, memory_order_acquire) != gen)
		return 0;
	*owner = atomic_load_explicit(&p->owner, memory_order_acquire);
	return *owner != 0;
}

/*
 * Pushes chunk c to port (kind, index, gen) on behalf of its new owner.
 * The chunk's owner word is set to the receiver before the push so that a
 * crash of either side leaves it reclaimable; on failure it is restored.
 * If the port went away during the push, the entry is swept back out.
 */
static int
deliver(fl_rr_domain *d, int kind, uint32_t index, uint32_t gen, const fl_chunk *c)
{
	struct fli_pp_port *p = fli_pp_port(&d->ports, kind, index);
	struct fli_cp_hdr *h = fli_cp_hdr(d->chunks, c->index);
	uint64_t owner;
	int rc;

	if (h == NULL)
		return FL_EINVAL;
	uint64_t st = atomic_load_explicit(&h->state, memory_order_acquire);
	if ((uint32_t)(st >> 32) != c->gen || (uint32_t)st == 0) {
		/* Released already: handing it on would give a free chunk an
		 * owner. */
		fli_rr_set_errmsg("chunk %u: sent after its release (generation %u, now %u)",
		                  c->index, c->gen, (uint32_t)(st >> 32));
		return FL_ESTALE;
	}
	if (!port_live(d, kind, index, gen, &owner))
		return FL_ENOT_CONNECTED;
	atomic_store_explicit(&h->dest_gen, gen, memory_order_relaxed);
	/* In transit: if we die before the push lands, the reclaim of our
	 * owner id finds the chunk by `sender` and takes it back. */
	atomic_store_explicit(&h->sender, d->owner, memory_order_relaxed);
	fl_atomic_store("rr.deliver.handed", &h->owner, owner, memory_order_release);
	FL_SCHED_POINT("rr.deliver.push");
	rc = fli_rr_queue_push(&p->q, fli_rr_entry(c->index, c->gen));
	if (rc != 0) {
		fl_atomic_store("rr.deliver.unhanded", &h->owner, d->owner, memory_order_release);
		atomic_store_explicit(&h->sender, 0, memory_order_release);
		return rc;
	}
	if (port_live(d, kind, index, gen, &owner)) {
		/* Still live after the push: the receiver's close, if it comes,
		 * drains our entry. */
		fli_cp_transit_end(h, d->owner);
		return 0;
	}
	/* The receiver closed or was reclaimed while we pushed: its drain
	 * may have missed our entry.  Take the chunk back unless a taker got
	 * it first; the entry left behind is dropped by whoever pops it.
	 * Nobody else's entry is touched, so a crash here loses nothing. */
	uint64_t want = d->owner;
	if (fl_atomic_cas("rr.deliver.taken_back", &h->sender, &want, CP_SENDER_RECLAIMED,
	                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		(void)fli_cp_release_entry(d->chunks, c->index, c->gen);
	return 0;
}

/* Pops entries from port's queue until a live one for generation gen; at
 * most two queues' worth per call (FL_EAGAIN after: wild queue indices
 * cannot keep it popping). */
static int
take(fl_rr_domain *d, struct fli_pp_port *p, uint32_t gen, int is_request, fl_chunk *out)
{
	uint64_t v;

	for (uint32_t n = 0; n < 2 * RR_QUEUE_CAP && fli_rr_queue_pop(&p->q, &v) == 0; n++) {
		uint32_t index = (uint32_t)v, cgen = (uint32_t)(v >> 32);
		struct fli_cp_hdr *h = fli_cp_hdr(d->chunks, index);
		fl_chunk c;
		int rc;

		FL_SCHED_POINT("rr.take.pop");
		if (h == NULL) {
			fli_cp_count_corrupt(d->chunks);
			fli_rr_set_errmsg("queue entry with chunk index %u out of range", index);
			return FL_EPROTO;
		}
		/* Whoever ends the chunk's transit has it: a sender taking it
		 * back, a dead sender's reclaim, or we. */
		rc = fli_cp_take_entry(d->chunks, index, cgen, &c);
		if (rc == FL_ESTALE)
			continue; /* freed or taken back after it was queued */
		if (rc != 0)
			return rc;
		if (atomic_load(&h->dest_gen) != gen) {
			(void)fli_cp_release_entry(d->chunks, index, cgen);
			continue;
		}
		if (is_request) {
			uint64_t dl = atomic_load(&h->deadline_ns);
			if (dl != 0 && fl_clock_now_ns() > dl) {
				(void)fli_cp_release_entry(d->chunks, index, cgen);
				continue;
			}
		}
		*out = c;
		return 0;
	}
	return FL_EAGAIN;
}

/* ---- ports of servers and clients ---------------------------------- */

/* Checks d and service, then allocates a zeroed object of size bytes whose
 * first member is a struct rr_port, and a port of kind for service in it.
 * On success *out is that object; port_close frees both. */
static int
port_open(fl_rr_domain *d, const char *service, int kind, size_t size, struct rr_port **out)
{
	struct rr_port *p;
	int rc;

	if (d == NULL || out == NULL)
		return FL_EINVAL;
	rc = fl_rr_validate_service(service);
	if (rc != 0)
		return rc;
	p = calloc(1, size);
	if (p == NULL)
		return FL_ENOMEM;
	rc = fli_pp_alloc(&d->ports, d->chunks, kind, d->owner, service, &p->index, &p->gen);
	if (rc != 0) {
		free(p);
		return rc;
	}
	p->d = d;
	*out = p;
	return 0;
}

/* Frees the port of kind p holds, then p's object (p may be NULL). */
static void
port_close(struct rr_port *p, int kind)
{
	if (p == NULL)
		return;
	(void)fli_pp_free(&p->d->ports, p->d->chunks, kind, p->index, p->gen, p->d->owner);
	/* The plants: a wild write into a layout word only the domain's
	 * creator writes, which nobody reads again in the run. */
	if ((kind == PP_SERVER && PLANTED(FLI_PLANT_RR_SERVER_PORT_STRAY)) ||
	    (kind == PP_CLIENT && PLANTED(FLI_PLANT_RR_CLIENT_PORT_STRAY)))
		p->d->ports.seg->tab[kind].count ^= 1;
	if (kind == PP_CLIENT && PLANTED(FLI_PLANT_RR_CHUNK_STRAY))
		p->d->chunks->seg->version ^= 1;
	free(p);
}

/* ---- server -------------------------------------------------------- */

int
fl_rr_server_open(fl_rr_domain *d, const char *service, fl_rr_server **out)
{
	struct rr_port *p;
	int rc = port_open(d, service, PP_SERVER, sizeof(fl_rr_server), out != NULL ? &p : NULL);

	if (rc == 0)
		*out = (fl_rr_server *)p;
	return rc;
}

void
fl_rr_server_close(fl_rr_server *s)
{
	port_close(s != NULL ? &s->p : NULL, PP_SERVER);
}

int
fl_rr_server_take(fl_rr_server *s, fl_chunk *req)
{
	return take(s->p.d, fli_pp_port(&s->p.d->ports, PP_SERVER, s->p.index), s->p.gen, 1, req);
}

int
fl_rr_server_loan(fl_rr_server *s, size_t len, uint64_t deadline_ns, fl_chunk *resp)
{
	return fl_chunk_loan(s->p.d->chunks, len, deadline_ns, resp);
}

int
fl_rr_server_send(fl_rr_server *s, const fl_chunk *req, const fl_chunk *resp)
{
	struct fli_cp_hdr *h;

	if (s == NULL || req == NULL || resp == NULL || resp->len > resp->cap ||
	    req->reply_port == 0)
		return FL_EINVAL;
	h = fli_cp_hdr(s->p.d->chunks, resp->index);
	if (h == NULL)
		return FL_EINVAL;
	if (FL_FAULT("transport/rr/response_send"))
		return FL_EFAULT_INJECTED;
	atomic_store_explicit(&h->seq, req->seq, memory_order_relaxed);
	atomic_store_explicit(&h->len, resp->len, memory_order_relaxed);
	return deliver(s->p.d, PP_CLIENT, req->reply_port - 1, req->reply_gen, resp);
}

/* ---- client -------------------------------------------------------- */

int
fl_rr_client_open(fl_rr_domain *d, const char *service, fl_rr_client **out)
{
	struct rr_port *p;
	int rc = port_open(d, service, PP_CLIENT, sizeof(fl_rr_client), out != NULL ? &p : NULL);

	if (rc == 0) {
		*out = (fl_rr_client *)p;
		strncpy((*out)->service, service, FL_RR_SERVICE_MAX);
	}
	return rc;
}

void
fl_rr_client_close(fl_rr_client *c)
{
	port_close(c != NULL ? &c->p : NULL, PP_CLIENT);
}

int
fl_rr_client_loan(fl_rr_client *c, size_t len, uint64_t deadline_ns, fl_chunk *req)
{
	return fl_chunk_loan(c->p.d->chunks, len, deadline_ns, req);
}

static void
scan_servers(fl_rr_client *c)
{
	struct fli_pp_pool *pp = &c->p.d->ports;
	/* Only the ports ever taken: a table of unused ports is pages a
	 * scan need not touch. */
	uint64_t high = atomic_load_explicit(&pp->seg->tab[PP_SERVER].high, memory_order_acquire);
	uint32_t n = high < pp->count[PP_SERVER] ? (uint32_t)high : pp->count[PP_SERVER];

	c->n_srv = 0;
	c->sends_since_scan = 0;
	for (uint32_t i = 0; i < n && c->n_srv < RR_MAX_CACHED; i++) {
		struct fli_pp_port *p = fli_pp_port(pp, PP_SERVER, i);
		uint32_t gen;

		if (atomic_load_explicit(&p->state, memory_order_acquire) != PP_ACTIVE)
			continue;
		gen = atomic_load_explicit(&p->gen, memory_order_acquire);
		if (strncmp(p->service, c->service, sizeof(p->service)) != 0)
			continue;
		/* Re-check: the name may have been rewritten under us. */
		if (atomic_load(&p->state) != PP_ACTIVE || atomic_load(&p->gen) != gen)
			continue;
		c->srv[c->n_srv].index = i;
		c->srv[c->n_srv].gen = gen;
		c->n_srv++;
	}
}

static struct rr_pending *
pending_slot(fl_rr_client *c, uint64_t seq)
{
	return &c->pending[seq % FL_RR_MAX_OUTSTANDING];
}

int
fl_rr_client_send(fl_rr_client *c, const fl_chunk *req, uint64_t deadline_ns, uint64_t *seq)
{
	struct fli_cp_hdr *h;
	uint64_t s;
	int rc = FL_ENOSERVER, rescanned = 0;

	if (c == NULL || req == NULL || req->len > req->cap)
		return FL_EINVAL;
	h = fli_cp_hdr(c->p.d->chunks, req->index);
	if (h == NULL)
		return FL_EINVAL;
	if (FL_FAULT("transport/rr/request_send"))
		return FL_EFAULT_INJECTED;
	s = c->next_seq + 1;
	if (pending_slot(c, s)->seq != 0) {
		fli_rr_set_errmsg("client of \"%s\": %d requests unanswered", c->service,
		                  FL_RR_MAX_OUTSTANDING);
		return FL_ELIMIT;
	}
	atomic_store_explicit(&h->seq, s, memory_order_relaxed);
	atomic_store_explicit(&h->len, req->len, memory_order_relaxed);
	atomic_store_explicit(&h->reply_port, c->p.index + 1, memory_order_relaxed);
	atomic_store_explicit(&h->reply_gen, c->p.gen, memory_order_relaxed);
	atomic_store_explicit(&h->deadline_ns, deadline_ns, memory_order_relaxed);
	if (c->n_srv == 0 || ++c->sends_since_scan >= RR_RESCAN_EVERY) {
		scan_servers(c);
		rescanned = 1;
	}
	for (;;) {
		uint32_t tried = 0;
		while (tried < c->n_srv) {
			uint32_t k = c->rr++ % c->n_srv;
			rc = deliver(c->p.d, PP_SERVER, c->srv[k].index, c->srv[k].gen, req);
			if (rc == 0) {
				struct rr_pending *pe = pending_slot(c, s);
				pe->seq = s;
				pe->deadline_ns = deadline_ns;
				pe->server = c->srv[k].index;
				pe->server_gen = c->srv[k].gen;
				c->outstanding++;
				c->next_seq = s;
				*seq = s;
				return 0;
			}
			if (rc == FL_EFAULT_INJECTED || rc == FL_ESTALE)
				return rc; /* no other server would do better */
			if (rc == FL_ENOT_CONNECTED) {
				/* Gone: drop it from the cache. */
				c->srv[k] = c->srv[--c->n_srv];
				continue;
			}
			tried++;
		}
		if (rescanned || rc == FL_EFULL)
			break;
		scan_servers(c);
		rescanned = 1;
	}
	if (rc == FL_EFULL)
		fli_rr_set_errmsg("every server of \"%s\" has a full request queue (%u)",
		                  c->service, RR_QUEUE_CAP);
	else {
		rc = FL_ENOSERVER;
		fli_rr_set_errmsg("no server offers \"%s\"", c->service);
	}
	return rc;
}

int
fl_rr_client_take(fl_rr_client *c, fl_chunk *resp)
{
	int rc =
	        take(c->p.d, fli_pp_port(&c->p.d->ports, PP_CLIENT, c->p.index), c->p.gen, 0, resp);

	if (rc == 0) {
		struct rr_pending *pe = pending_slot(c, resp->seq);
		if (pe->seq == resp->seq && resp->seq != 0) {
			pe->seq = 0;
			FLI_ASSERT(c->outstanding > 0);
			c->outstanding--;
		}
	}
	return rc;
}

int
fl_rr_client_expired(fl_rr_client *c, uint64_t *seq, int *reason)
{
	uint64_t now;

	if (c->outstanding == 0)
		return FL_EAGAIN;
	/* The caller found its queue empty; a server may answer and close
	 * before the scan below reads its port. */
	FL_SCHED_POINT("rr.client.expire_scan");
	now = fl_clock_now_ns();
	for (uint32_t k = 0; k < FL_RR_MAX_OUTSTANDING; k++) {
		uint32_t i = (c->expire_scan + k) % FL_RR_MAX_OUTSTANDING;
		struct rr_pending *pe = &c->pending[i];
		uint64_t owner;
		int why;

		if (pe->seq == 0)
			continue;
		if (pe->deadline_ns != 0 && now > pe->deadline_ns)
			why = FL_ETIMEDOUT;
		else if (!port_live(c->p.d, PP_SERVER, pe->server, pe->server_gen, &owner))
			why = FL_ECRASHED;
		else
			continue;
		/* A server publishes its response before its port reads
		 * closed (the close is a release store after the push;
		 * port_live's load acquires), so one that answered and closed
		 * at once has the answer published in our queue: take what is
		 * there first.  (Holes left by failed pushes are no answer.) */
		if (why == FL_ECRASHED &&
		    fli_rr_queue_any_published(
		            &fli_pp_port(&c->p.d->ports, PP_CLIENT, c->p.index)->q))
			return FL_EAGAIN;
		*seq = pe->seq;
		*reason = why;
		pe->seq = 0;
		FLI_ASSERT(c->outstanding > 0);
		c->outstanding--;
		c->expire_scan = i + 1;
		return 0;
	}
	return FL_EAGAIN;
}

int
fl_rr_client_wait(fl_rr_client *c, uint64_t deadline_ns, fl_chunk *resp, uint64_t *seq_lost)
{
	struct fl_idle idle = { 0 };
	uint32_t pass = 0;

	for (;;) {
		uint64_t seq;
		int reason, rc = fl_rr_client_take(c, resp);

		if (rc != FL_EAGAIN)
			return rc;
		/* Checking every outstanding request costs O(outstanding):
		 * do it every 64 idle passes, not on every spin. */
		if ((pass++ & 63) == 0 && fl_rr_client_expired(c, &seq, &reason) == 0) {
			if (seq_lost != NULL)
				*seq_lost = seq;
			return reason;
		}
		if (fl_clock_now_ns() >= deadline_ns)
			return FL_ETIMEDOUT;
		fl_idle(&idle, 0, deadline_ns);
	}
}

void
fl_rr_client_forget(fl_rr_client *c, uint64_t seq)
{
	struct rr_pending *pe = pending_slot(c, seq);

	if (seq != 0 && pe->seq == seq) {
		pe->seq = 0;
		FLI_ASSERT(c->outstanding > 0);
		c->outstanding--;
	}
}

uint32_t
fl_rr_client_outstanding(fl_rr_client *c)
{
	return c->outstanding;
}
