/*
 * Fuzz target: the request/response segments, chunks.dat and ports.dat,
 * as their creator (the driver: repair, gauges, the reclaim of a dead
 * client's ports and chunks) and their users (clients: open, loan,
 * release, resolve, take, servers and clients sending to each other's
 * queues) find them after another process wrote over them.
 *
 * Each input creates a fresh domain through the driver's side
 * (fli_rr_driver_start, one of four small layouts) in a run directory of this
 * process, has bytes written over its shared mappings, works both sides,
 * stops the driver and removes the directory.  data[0]:
 *   bit0 0  ops: data[1..] is a sequence of ops (see run_ops) that write
 *           bytes or words at offsets they choose and call the two sides
 *           with indices, generations and owners they choose
 *        1  prefix: data[1..] is copied over the start of chunks.dat
 *           (bit1 0) or ports.dat (bit1 1), then a fixed script runs
 *           (run_script) with the indices and owners the segment holds
 *   bits 2-3  the layout (cfgs[])
 *
 * abort() when: a loan, resolve, take or response hands out a chunk that
 * is not where the caller's layout puts it (outside its mapping, over the
 * chunk headers, longer than its class); after the driver's repair its
 * gauges leave the capacities it created (table sizes, class sizes and
 * counts, in-use counts above them) or a client cannot open the domain; a
 * reclaim says it freed more than there is, or leaves the dead owner a
 * port or a chunk while every chunk header's mark is 0; the
 * run directory is left behind.  A crash is ASan's.  FL_FUZZ_VERBOSE=1:
 * what an input reaches, on stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/chunk.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "chunk_pool.h"
#include "fuzz_input.h"
#include "port_pool.h"
#include "rr_driver.h"
#include "shm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cfg {
	const char *spec;
	uint32_t server_ports, client_ports;
	uint32_t n;
	uint32_t size[4], count[4];
};

static const struct cfg cfgs[4] = {
	{ "64:8,1024:4", 2, 2, 2, { 64, 1024 }, { 8, 4 } },
	{ "16:3,32:1,4096:2", 4, 4, 3, { 16, 32, 4096 }, { 3, 1, 2 } },
	{ "128:16", 1, 3, 1, { 128 }, { 16 } },
	{ "8:1", 1, 1, 1, { 8 }, { 1 } },
};

#define NSLOTS 2  /* client processes */
#define NPORTS 2  /* servers and clients each, per slot */
#define NHELD  16 /* chunks the slots hold */

struct slot {
	fl_rr_domain *d; /* NULL: not open */
	uint64_t owner;
	fl_rr_server *srv[NPORTS];
	fl_rr_client *cli[NPORTS];
};

struct held {
	int slot; /* -1: empty */
	fl_chunk c;
};

struct run {
	const struct cfg *cfg;
	char dir[256];
	struct fli_rr_driver rd;
	fl_chunk_pool *dcp; /* the driver's mappings */
	struct fli_pp_pool *dpp;
	uint32_t total; /* chunks */
	struct slot s[NSLOTS];
	struct held h[NHELD];
};

static bool verbose; /* FL_FUZZ_VERBOSE: what an input reaches, on stderr */

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	fputs("rr_fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("rr_fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* A chunk handed to a user of pool p: of a class of p's layout (the one
 * p validated when it mapped the segment: the driver's, or another a
 * wild writer left before a repair), at its place in that class's
 * payload area, no longer than its class, inside p's mapping and past
 * the chunk headers.  Then every byte of it is written, as its user
 * would. */
static void
check_chunk(const fl_chunk_pool *p, const fl_chunk *c, const char *what)
{
	const char *base = (const char *)p->seg, *data = c->data;
	const char *hdr_end = (const char *)(p->hdrs + p->total);
	const struct fli_cp_layout *l = NULL;

	for (uint32_t i = 0; i < p->n_classes; i++)
		if (c->index >= p->cls[i].first && c->index - p->cls[i].first < p->cls[i].count)
			l = &p->cls[i];
	if (l == NULL || c->cap != l->chunk_size || c->len > c->cap ||
	    data != base + l->data_off + (uint64_t)(c->index - l->first) * l->chunk_size ||
	    data < hdr_end || data > base + p->size || (size_t)(base + p->size - data) < c->cap)
		fail("%s: chunk %u (cap %u, len %u) at offset %td of a %zu-byte mapping", what,
		     c->index, c->cap, c->len, data - base, p->size);
	memset(c->data, 0x5a, c->len);
}

/* After the driver's repair: its gauges within what it created, and the
 * domain open to a new client. */
static void
check_repaired(struct run *r)
{
	const struct cfg *g = r->cfg;
	struct fl_rr_stats st;
	fl_rr_domain *d;
	int rc;

	note("repair: %u fields put back", fli_rr_driver_repair(&r->rd));
	fl_rr_stats(r->rd.d, &st);
	if (st.server_ports != g->server_ports || st.client_ports != g->client_ports ||
	    st.servers_in_use > g->server_ports || st.clients_in_use > g->client_ports)
		fail("port gauges: %u/%u servers, %u/%u clients in use", st.servers_in_use,
		     st.server_ports, st.clients_in_use, st.client_ports);
	if (st.chunks.n_classes != g->n)
		fail("chunk gauges: %u classes, created %u", st.chunks.n_classes, g->n);
	for (uint32_t i = 0; i < g->n; i++) {
		const struct fl_chunk_class_stats *c = &st.chunks.cls[i];

		if (c->chunk_size != g->size[i] || c->total != g->count[i] || c->loaned > c->total)
			fail("class %u gauges: size %u, %u of %u loaned; created %u x %u", i,
			     c->chunk_size, c->loaned, c->total, g->count[i], g->size[i]);
	}
	rc = fl_rr_domain_open(r->dir, 99, &d);
	if (rc != 0)
		fail("open after the driver's repair: %s (%s)", fl_strerror(rc), fl_rr_errmsg());
	fl_rr_domain_close(d);
}

static uint64_t
pick_owner(uint8_t b)
{
	switch (b) {
	case 0xf0: return 1; /* the driver's own handle */
	case 0xf1: return 1ull << 40;
	case 0xf2: return UINT64_MAX;
	default: return b < 0xf0 ? 2 + b % 4 : b;
	}
}

/* A generation for chunk index: near the one its header holds, or any. */
static uint32_t
pick_gen(const struct run *r, struct in *in, uint32_t index)
{
	uint8_t b = u8(in);
	uint32_t g = 0;

	if (b >= 0xf0)
		return u32(in);
	if (index < r->total)
		g = (uint32_t)(atomic_load(&r->dcp->hdrs[index].state) >> 32);
	return g + b % 3 - 1;
}

static uint64_t
pick_word(const struct run *r, struct in *in)
{
	switch (u8(in) % 10) {
	case 0: return 0;
	case 1: return 1;
	case 2: return UINT64_MAX;
	case 3: return 1ull << 63;
	case 4: return UINT32_MAX;
	case 5: return r->total;
	case 6: return r->dcp->size;
	case 7: return RR_QUEUE_CAP;
	case 8: return 2 + u8(in) % 4; /* an owner */
	default: return u64(in);
	}
}

static void
patch(struct run *r, struct in *in, bool word)
{
	int seg = u8(in) & 1;
	uint8_t *base = seg ? (uint8_t *)r->dpp->seg : (uint8_t *)r->dcp->seg;
	size_t size = seg ? r->dpp->size : r->dcp->size;
	size_t off = u16(in);

	if (word) {
		uint64_t v = pick_word(r, in);

		off = (off * 8) % size;
		memcpy(base + off, &v, sizeof(v));
	} else {
		size_t n = u8(in) % 33;

		off %= size;
		if (n > size - off)
			n = size - off;
		if (n > in->n)
			n = in->n;
		memcpy(base + off, in->p, n);
		in->p += n;
		in->n -= n;
	}
}

static struct held *
hold(struct run *r, int slot, const fl_chunk *c)
{
	for (int i = 0; i < NHELD; i++)
		if (r->h[i].slot < 0) {
			r->h[i].slot = slot;
			r->h[i].c = *c;
			return &r->h[i];
		}
	return NULL;
}

static const char *const services[] = { "svc", "other", "a/b", "" };

/* Are the chunk headers' marks all 0?  (The reclaim refuses a chunk whose
 * mark a stray write set as corrupt: it stays with its owner until a
 * repair.) */
static bool
classes_intact(const struct run *r)
{
	for (uint32_t i = 0; i < r->dcp->total; i++)
		if (r->dcp->hdrs[i].mark != 0)
			return false;
	return true;
}

/* The driver reclaims what a dead owner held: never more than there is,
 * and, when every chunk header's mark is 0, all of it. */
static void
reclaim(struct run *r, uint64_t owner)
{
	uint32_t max = r->total + r->cfg->server_ports + r->cfg->client_ports;
	bool intact = classes_intact(r);
	int n = fli_rr_driver_client_gone(&r->rd, owner);
	uint32_t chunks, ports;

	note("reclaim of owner %llu: %d ports and chunks", (unsigned long long)owner, n);
	if (n < 0 || (uint32_t)n > max)
		fail("reclaim of owner %llu: %d ports and chunks, of %u", (unsigned long long)owner,
		     n, max);
	if (!intact || owner == 0)
		return;
	chunks = fl_chunk_owner_loaned(r->dcp, owner);
	ports = fl_rr_owner_ports(r->rd.d, owner);
	if (chunks != 0 || ports != 0)
		fail("owner %llu still holds %u chunks and %u ports after its reclaim",
		     (unsigned long long)owner, chunks, ports);
}

/* A slot's process dies: it touches nothing more (its handles are freed
 * as the OS would), then the driver reclaims what its owner id held. */
static void
kill_slot(struct run *r, int k)
{
	struct slot *s = &r->s[k];

	if (s->d == NULL)
		return;
	for (int i = 0; i < NPORTS; i++) {
		free(s->srv[i]); /* library-allocated, nothing else owned */
		free(s->cli[i]);
		s->srv[i] = NULL;
		s->cli[i] = NULL;
	}
	fl_rr_domain_close(s->d);
	s->d = NULL;
	for (int i = 0; i < NHELD; i++)
		if (r->h[i].slot == k)
			r->h[i].slot = -1;
	note("slot %d (owner %llu) dies", k, (unsigned long long)s->owner);
	for (int i = 0; i < NSLOTS; i++)
		if (r->s[i].d != NULL && r->s[i].owner == s->owner)
			return; /* the same id lives on in another process */
	reclaim(r, s->owner);
}

/* An owner no slot runs (one the segments name, or any). */
static void
reclaim_owner(struct run *r, uint64_t owner)
{
	for (int i = 0; i < NSLOTS; i++)
		if (r->s[i].d != NULL && r->s[i].owner == owner)
			return; /* only the dead are reclaimed */
	reclaim(r, owner);
}

static void
open_slot(struct run *r, int k, uint64_t owner)
{
	struct slot *s = &r->s[k];
	int rc;

	if (s->d != NULL)
		return;
	rc = fl_rr_domain_open(r->dir, owner, &s->d);
	note("slot %d opens as owner %llu: %s", k, (unsigned long long)owner, fl_strerror(rc));
	if (rc != 0)
		s->d = NULL;
	s->owner = owner;
}

static fl_chunk_pool *
slot_pool(struct run *r, int k)
{
	return r->s[k].d != NULL ? fl_rr_domain_chunks(r->s[k].d) : r->dcp;
}

static void
loan(struct run *r, int k, size_t len)
{
	fl_chunk c;
	int rc;

	if (r->s[k].d == NULL)
		return;
	rc = fl_chunk_loan(slot_pool(r, k), len, 0, &c);
	note("slot %d loans %zu bytes: %s", k, len, fl_strerror(rc));
	if (rc != 0)
		return;
	check_chunk(slot_pool(r, k), &c, "loan");
	if (hold(r, k, &c) == NULL)
		(void)fl_rr_release(r->s[k].d, &c);
}

static void
server_serve(struct run *r, int k, fl_rr_server *srv)
{
	fl_chunk req, resp;
	int rc;

	if (srv == NULL)
		return;
	rc = fl_rr_server_take(srv, &req);
	note("slot %d serves: take %s", k, fl_strerror(rc));
	if (rc != 0)
		return;
	check_chunk(slot_pool(r, k), &req, "request taken");
	if (fl_rr_server_loan(srv, req.len, 0, &resp) == 0) {
		check_chunk(slot_pool(r, k), &resp, "response loan");
		rc = fl_rr_server_send(srv, &req, &resp);
		note("slot %d serves: send %s", k, fl_strerror(rc));
		if (rc != 0 && hold(r, k, &resp) == NULL)
			(void)fl_rr_release(r->s[k].d, &resp);
	}
	(void)fl_rr_release(r->s[k].d, &req);
}

static void
client_take(struct run *r, int k, fl_rr_client *cli)
{
	fl_chunk resp;
	uint64_t seq;
	int why;

	if (cli == NULL)
		return;
	why = fl_rr_client_take(cli, &resp);
	note("slot %d takes a response: %s", k, fl_strerror(why));
	if (why == 0) {
		check_chunk(slot_pool(r, k), &resp, "response taken");
		(void)fl_rr_release(r->s[k].d, &resp);
	}
	(void)fl_rr_client_expired(cli, &seq, &why);
}

/* Ops 8 and 9: slot k (s) opens its server (or client) port [i] for
 * [service], when its domain is open and that port is not. */
static void
open_port(struct slot *s, int k, bool server, struct in *in)
{
	int i = u8(in) % NPORTS;
	const char *service;
	int rc;

	if (s->d == NULL || (server ? s->srv[i] != NULL : s->cli[i] != NULL))
		return;
	service = services[u8(in) % 4];
	if (server)
		rc = fl_rr_server_open(s->d, service, &s->srv[i]);
	else
		rc = fl_rr_client_open(s->d, service, &s->cli[i]);
	note("slot %d opens %s port %d: %s", k, server ? "server" : "client", i, fl_strerror(rc));
	if (rc != 0 && server)
		s->srv[i] = NULL;
	else if (rc != 0)
		s->cli[i] = NULL;
}

/*
 * Ops: [op] then its fields, 0 past the input's end.  op % 16:
 *   0 bytes over a segment [seg][off, 2][n][n bytes]; 1 a word [seg][off/8, 2][word]
 *   2 open a slot's domain [slot][owner]     3 loan [slot][len, 2]
 *   4 release a held chunk [slot][i][again]  5 release a forged one [slot][index, 2][gen]
 *   6 fli_cp_resolve [slot][index, 2][gen]       7 fli_cp_take_entry [slot][index, 2][gen]
 *   8 open a server port [slot][i][service]  9 open a client port [slot][i][service]
 *  10 a client sends a held chunk [slot][i][held][expired]
 *  11 a server serves one request [slot][i] 12 a client takes a response [slot][i]
 *  13 close a port [slot][i][kind]           14 the driver repairs and gauges
 *  15 a slot dies and is reclaimed [slot], or an owner nobody runs [0x80 | owner]
 */
static void
run_ops(struct run *r, struct in *in)
{
	while (in->n > 0) {
		uint8_t op = u8(in) % 16;
		int k = op >= 2 && op <= 13 ? u8(in) % NSLOTS : 0; /* the slot */
		struct slot *s = &r->s[k];
		fl_chunk c;
		uint32_t index, gen;
		int i;

		switch (op) {
		case 0:
		case 1: patch(r, in, op == 1); break;
		case 2: open_slot(r, k, pick_owner(u8(in))); break;
		case 3: loan(r, k, u16(in) % 5000); break;
		case 4:
			i = u8(in) % NHELD;
			if (r->h[i].slot == k && s->d != NULL) {
				(void)fl_rr_release(s->d, &r->h[i].c);
				if (!(u8(in) & 1))
					r->h[i].slot = -1; /* else released again later */
			}
			break;
		case 5:
			memset(&c, 0, sizeof(c));
			c.index = u16(in);
			c.gen = pick_gen(r, in, c.index);
			(void)fl_chunk_release(slot_pool(r, k), &c);
			break;
		case 6:
		case 7:
			index = u16(in) % (r->total + 4);
			gen = pick_gen(r, in, index);
			i = (op == 6 ? fli_cp_resolve : fli_cp_take_entry)(slot_pool(r, k), index,
			                                                   gen, &c);
			note("%s(%u, %u): %s", op == 6 ? "fli_cp_resolve" : "fli_cp_take_entry",
			     index, gen, fl_strerror(i));
			if (i == 0)
				check_chunk(slot_pool(r, k), &c,
				            op == 6 ? "fli_cp_resolve" : "fli_cp_take_entry");
			break;
		case 8:
		case 9: open_port(s, k, op == 8, in); break;
		case 10: {
			fl_rr_client *cli = s->cli[u8(in) % NPORTS];
			struct held *h = &r->h[u8(in) % NHELD];
			uint64_t seq;

			if (cli != NULL && h->slot == k) {
				i = fl_rr_client_send(cli, &h->c, u8(in) & 1, &seq);
				note("slot %d sends chunk %u: %s", k, h->c.index, fl_strerror(i));
				if (i == 0)
					h->slot = -1; /* the server's now */
			}
			break;
		}
		case 11: server_serve(r, k, s->srv[u8(in) % NPORTS]); break;
		case 12: client_take(r, k, s->cli[u8(in) % NPORTS]); break;
		case 13:
			i = u8(in) % NPORTS;
			if (u8(in) & 1) {
				fl_rr_client_close(s->cli[i]);
				s->cli[i] = NULL;
			} else {
				fl_rr_server_close(s->srv[i]);
				s->srv[i] = NULL;
			}
			break;
		case 14: check_repaired(r); break;
		default:
			i = u8(in);
			if (i & 0x80)
				reclaim_owner(r, pick_owner((uint8_t)(i & 0x7f)));
			else
				kill_slot(r, i % NSLOTS);
			break;
		}
	}
}

/* The prefix mode: a client before any repair, the driver, a client after
 * it, then the owners the segments name reclaimed. */
static void
run_script(struct run *r)
{
	for (int pass = 0; pass < 2; pass++) {
		struct slot *s = &r->s[0];

		open_slot(r, 0, 2);
		if (s->d != NULL) {
			fl_chunk c;

			for (uint32_t i = 0; i < r->cfg->n; i++)
				loan(r, 0, r->cfg->size[i]);
			for (uint32_t i = 0; i < r->total; i++) {
				uint32_t gen =
				        (uint32_t)(atomic_load(&r->dcp->hdrs[i].state) >> 32);

				if (fli_cp_resolve(slot_pool(r, 0), i, gen, &c) == 0)
					check_chunk(slot_pool(r, 0), &c, "fli_cp_resolve");
			}
			if (fl_rr_server_open(s->d, "svc", &s->srv[0]) != 0)
				s->srv[0] = NULL;
			if (fl_rr_client_open(s->d, "svc", &s->cli[0]) != 0)
				s->cli[0] = NULL;
			for (int i = 0; i < NHELD; i++) {
				uint64_t seq;

				if (r->h[i].slot == 0 && s->cli[0] != NULL &&
				    fl_rr_client_send(s->cli[0], &r->h[i].c, 0, &seq) == 0) {
					note("slot 0 sent chunk %u", r->h[i].c.index);
					r->h[i].slot = -1;
				}
			}
			for (int i = 0; i < 4; i++) {
				server_serve(r, 0, s->srv[0]);
				client_take(r, 0, s->cli[0]);
			}
		}
		check_repaired(r);
		kill_slot(r, 0);
	}
	/* Whoever the segments say holds a chunk or a port is dead now. */
	for (uint32_t i = 0; i < r->total; i++) {
		uint64_t owner = atomic_load(&r->dcp->hdrs[i].owner);

		if (owner != 0)
			reclaim_owner(r, owner);
	}
	for (int kind = 0; kind < 2; kind++)
		for (uint32_t i = 0; i < r->dpp->count[kind]; i++) {
			uint64_t owner = atomic_load(&fli_pp_port(r->dpp, kind, i)->owner);

			if (owner != 0)
				reclaim_owner(r, owner);
		}
	check_repaired(r);
}

static char dir[256];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_rr_config rc = { 0 };
	struct fli_shm_dir sd;
	struct run r;
	struct in in;
	struct stat st;
	int err;

	if (size < 1)
		return 0;
	if (dir[0] == '\0') {
		verbose = getenv("FL_FUZZ_VERBOSE") != NULL;
		snprintf(dir, sizeof(dir), "/dev/shm/faultline-fz-rr-%d", (int)getpid());
	}
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < NHELD; i++)
		r.h[i].slot = -1;
	r.cfg = &cfgs[(data[0] >> 2) & 3];
	snprintf(r.dir, sizeof(r.dir), "%s", dir);
	err = fli_shm_dir_create(dir, &sd);
	if (err != 0)
		fail("creating %s: %s", dir, fl_strerror(err));
	fli_shm_dir_close(&sd);
	rc.chunk_spec = r.cfg->spec;
	rc.server_ports = r.cfg->server_ports;
	rc.client_ports = r.cfg->client_ports;
	err = fli_rr_driver_start(&r.rd, dir, &rc);
	if (err != 0)
		fail("fli_rr_driver_start: %s (%s)", fl_strerror(err), fl_rr_errmsg());
	r.dcp = fl_rr_domain_chunks(r.rd.d);
	r.dpp = fli_rr_domain_ports(r.rd.d);
	r.total = r.dcp->total;

	in.p = data + 1;
	in.n = size - 1;
	if (data[0] & 1) {
		uint8_t *base = data[0] & 2 ? (uint8_t *)r.dpp->seg : (uint8_t *)r.dcp->seg;
		size_t len = data[0] & 2 ? r.dpp->size : r.dcp->size;

		memcpy(base, in.p, in.n < len ? in.n : len);
		run_script(&r);
	} else {
		run_ops(&r, &in);
		check_repaired(&r);
	}
	for (int k = 0; k < NSLOTS; k++)
		kill_slot(&r, k);
	fli_rr_driver_stop(&r.rd);
	if (rmdir(dir) != 0 || lstat(dir, &st) == 0 || errno != ENOENT)
		fail("%s left behind: %s", dir, strerror(errno));
	return 0;
}
