/*
 * The port segment (ports.dat): fixed tables of server and client ports,
 * each port with its queue of chunk references.  Private to src/reqrep.
 */
#ifndef FL_PORT_POOL_H
#define FL_PORT_POOL_H

#include <stdatomic.h>
#include <stdint.h>

#include "faultline/reqrep.h"
#include "chunk_pool.h"
#include "rr_internal.h"
#include "rr_queue.h"

#define PP_MAGIC   0x464c5054u /* "FLPT" */
#define PP_VERSION 5u          /* 5: queue cells stored less their index */

enum fli_pp_kind { PP_SERVER = 0, PP_CLIENT = 1 };
enum fli_pp_state { PP_FREE = 0, PP_ACTIVE = 1, PP_CLOSING = 2 };

struct fli_pp_table_hdr {
	uint32_t count;
	uint32_t pad;
	uint64_t off; /* offset of the first port */
	/* One past the highest port ever taken (raised, never lowered):
	 * a client's scan for servers stops there rather than read every
	 * port of the table.  Any process can write it; a scan takes at
	 * most count, and a value written too low hides servers (an error
	 * the client sees), never shows a port that is not one; the
	 * driver's repair (fli_pp_repair) raises it again, and counts it. */
	_Atomic uint64_t high;
	_Atomic uint64_t hint; /* where the next allocation starts scanning */
	_Atomic uint64_t opens;
	_Atomic uint64_t exhausted;
	_Atomic uint64_t reclaimed;
};

/*
 * The segment's header.  Its layout fields (seg_size, each table's count
 * and off) are read once, validated, when a process maps the segment and
 * kept in that process's struct fli_pp_pool: any process can write them here,
 * so they are never read back.  The creator (the driver) puts them back
 * when they change (fli_pp_repair).
 */
struct fli_pp_seg {
	uint32_t magic;
	uint32_t version;
	uint64_t seg_size;
	struct fli_pp_table_hdr tab[2];
	/* Queue cells of dead processes: claimed and never published (marked
	 * holes by a reclaim), taken and never given back (repaired by a
	 * port's next owner). */
	_Atomic uint64_t holes_marked;
	_Atomic uint64_t cells_repaired;
};

struct fli_pp_port {
	_Atomic uint64_t owner; /* 0: free; the allocation CAS is on this word */
	_Atomic uint32_t state; /* enum fli_pp_state */
	_Atomic uint32_t gen;   /* bumped every time the port is freed */
	char service[FL_RR_SERVICE_MAX + 1];
	char pad[64 - 16];
	struct fli_rr_queue q;
};

struct fli_pp_pool {
	struct fli_pp_seg *seg;
	size_t size;
	uint32_t count[2]; /* the layout, this process's own copy */
	struct fli_pp_port *ports[2];
};

int fli_pp_create(const char *path, uint32_t n_server, uint32_t n_client, struct fli_pp_pool *out);
int fli_pp_open(const char *path, struct fli_pp_pool *out);
void fli_pp_close(struct fli_pp_pool *pp);

/* The creator's duty: puts back every layout field of the segment header
 * that differs from pp's own copy, and each table's high mark where it
 * is below the highest owned port.  Returns how many it put back. */
uint32_t fli_pp_repair(struct fli_pp_pool *pp);

/* Port i of table kind, or NULL when out of range. */
struct fli_pp_port *fli_pp_port(struct fli_pp_pool *pp, int kind, uint32_t i);
/* Table kind of pp where a scan of all of it reads, and writes when
 * write (fli_shm_view): its ports are the same, at other addresses. */
struct fli_pp_port *fli_pp_scan(struct fli_pp_pool *pp, int kind, bool write);

/* Takes a free port for owner, drains stale entries, puts back what a
 * wild write left in its queue (fli_rr_queue_fix_wild), names it and makes
 * it ACTIVE.  0 and *index, *gen; or FL_ENO_PORTS / FL_EFAULT_INJECTED. */
int fli_pp_alloc(struct fli_pp_pool *pp, fl_chunk_pool *cp, int kind, uint64_t owner,
                 const char *service, uint32_t *index, uint32_t *gen);

/* Stops the port, releases queued chunks and frees it, if it still has
 * generation gen and owner owner.  Returns 0 or FL_ESTALE. */
int fli_pp_free(struct fli_pp_pool *pp, fl_chunk_pool *cp, int kind, uint32_t index, uint32_t gen,
                uint64_t owner);

/* The port pool of a domain (not owned). */
struct fli_pp_pool *fli_rr_domain_ports(fl_rr_domain *d);

/* Pops and releases every entry of port's queue (at most two queues'
 * worth: a wild queue index cannot keep it popping). */
void fli_pp_drain(struct fli_pp_port *port, fl_chunk_pool *cp);

#endif
