/*
 * The driver's side of request/response.  See rr_driver.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/chunk.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "chunk_pool.h"
#include "driver_ext.h"
#include "port_pool.h"
#include "rr_driver.h"

static uint32_t
env_u32(const char *name, uint32_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (v == NULL || *v == '\0')
		return dflt;
	n = strtoul(v, &end, 10);
	return *end == '\0' && n > 0 && n <= 65536 ? (uint32_t)n : dflt;
}

int
fli_rr_driver_start(struct fli_rr_driver *rd, const char *run_dir, const struct fl_rr_config *cfg)
{
	struct fl_rr_config c = { 0 };
	int rc;

	memset(rd, 0, sizeof(*rd));
	if (cfg != NULL)
		c = *cfg;
	if (c.chunk_spec == NULL)
		c.chunk_spec = getenv("FL_RR_CHUNKS");
	c.server_ports = env_u32("FL_RR_SERVER_PORTS", c.server_ports);
	c.client_ports = env_u32("FL_RR_CLIENT_PORTS", c.client_ports);
	snprintf(rd->dir, sizeof(rd->dir), "%s", run_dir);
	/* A dead driver's files: this driver owns the directory now. */
	(void)fl_rr_domain_unlink(run_dir);
	rc = fl_rr_domain_create(run_dir, &c, &rd->d);
	if (rc != 0)
		rd->dir[0] = '\0';
	return rc;
}

int
fli_rr_driver_client_gone(struct fli_rr_driver *rd, uint64_t client_id)
{
	uint32_t ports = 0, chunks = 0;

	if (rd->d == NULL || client_id == 0)
		return 0;
	if (fl_rr_reclaim_owner(rd->d, client_id, &ports, &chunks) != 0)
		return 0;
	if (ports + chunks > 0)
		rd->clients_reclaimed++;
	rd->ports_reclaimed += ports;
	rd->chunks_reclaimed += chunks;
	return (int)(ports + chunks);
}

void
fli_rr_driver_stop(struct fli_rr_driver *rd)
{
	if (rd->d != NULL) {
		fl_rr_domain_close(rd->d);
		rd->d = NULL;
	}
	if (rd->dir[0] != '\0') {
		(void)fl_rr_domain_unlink(rd->dir);
		rd->dir[0] = '\0';
	}
}

uint32_t
fli_rr_driver_repair(struct fli_rr_driver *rd)
{
	uint32_t n = fl_rr_domain_repair(rd->d);

	rd->layout_repaired += n;
	return n;
}

uint32_t
fli_rr_driver_reclaim_strays(struct fli_rr_driver *rd, bool (*held)(void *arg, uint64_t owner),
                             void *arg)
{
	struct fli_pp_pool *pp;
	fl_chunk_pool *cp;
	uint32_t n = 0;

	if (rd->d == NULL)
		return 0;
	pp = fli_rr_domain_ports(rd->d);
	cp = fl_rr_domain_chunks(rd->d);
	for (int k = 0; k < 2; k++) {
		struct fli_pp_port *port = fli_pp_scan(pp, k, false);

		for (uint32_t i = 0; i < pp->count[k]; i++) {
			uint64_t owner = atomic_load(&port[i].owner);
			bool kept;

			if (owner == 0)
				continue;
			kept = held(arg, owner);
			/* Past scheduling points, held's too (a driver's client
			 * lookup may reclaim a vanished one), the view is taken
			 * again (fli_shm_view).  fli_pp_free checks owner and
			 * generation again. */
			port = fli_pp_scan(pp, k, false);
			if (!kept &&
			    fli_pp_free(pp, cp, k, i, atomic_load(&port[i].gen), owner) == 0)
				n++;
			port = fli_pp_scan(pp, k, false);
		}
	}
	n += fli_cp_reclaim_strays(cp, held, arg);
	rd->strays_reclaimed += n;
	return n;
}

/* ---- the driver extension ------------------------------------------- */

/* Repairs and gauges, every GAUGE_PERIOD_NS of the duty cycle. */
#define GAUGE_PERIOD_NS (10 * FL_NS_PER_MS)

struct rr_ext {
	struct fli_rr_driver rd;
	uint64_t next_gauges_ns;
};

static void
ext_gauges(struct fl_driver *d, struct rr_ext *x)
{
	struct fl_rr_stats st;
	int64_t loaned = 0, total = 0, exhausted = 0;
	unsigned g = 0;

	fl_rr_stats(x->rd.d, &st);
	for (uint32_t i = 0; i < st.chunks.n_classes && i < FL_CHUNK_MAX_CLASSES; i++) {
		loaned += st.chunks.cls[i].loaned;
		total += st.chunks.cls[i].total;
		exhausted += (int64_t)st.chunks.cls[i].exhausted;
	}
	fli_driver_ext_gauge_set(d, g++, "rr_servers_in_use", st.servers_in_use);
	fli_driver_ext_gauge_set(d, g++, "rr_clients_in_use", st.clients_in_use);
	fli_driver_ext_gauge_set(d, g++, "rr_chunks_loaned", loaned);
	fli_driver_ext_gauge_set(d, g++, "rr_chunks_total", total);
	fli_driver_ext_gauge_set(d, g++, "rr_chunks_exhausted", exhausted);
	fli_driver_ext_gauge_set(d, g++, "rr_clients_reclaimed", (int64_t)x->rd.clients_reclaimed);
	fli_driver_ext_gauge_set(d, g++, "rr_ports_reclaimed", (int64_t)x->rd.ports_reclaimed);
	fli_driver_ext_gauge_set(d, g++, "rr_chunks_reclaimed", (int64_t)x->rd.chunks_reclaimed);
	fli_driver_ext_gauge_set(d, g++, "rr_queue_holes_marked", (int64_t)st.queue_holes_marked);
	fli_driver_ext_gauge_set(d, g++, "rr_queue_cells_repaired",
	                         (int64_t)st.queue_cells_repaired);
	fli_driver_ext_gauge_set(d, g++, "rr_layout_repaired", (int64_t)x->rd.layout_repaired);
	fli_driver_ext_gauge_set(d, g++, "rr_corrupt_rejected",
	                         (int64_t)st.chunks.corrupt_rejected);
	fli_driver_ext_gauge_set(d, g++, "rr_strays_reclaimed", (int64_t)x->rd.strays_reclaimed);
}

static int
ext_start(struct fl_driver *d, void **state)
{
	struct rr_ext *x = calloc(1, sizeof(*x));
	int rc;

	if (x == NULL)
		return FL_ENOMEM;
	rc = fli_rr_driver_start(&x->rd, fl_driver_run_dir(d), NULL);
	if (rc != 0) {
		free(x);
		return rc;
	}
	ext_gauges(d, x);
	*state = x;
	return 0;
}

static void
ext_stop(struct fl_driver *d, void *state)
{
	struct rr_ext *x = state;

	(void)d;
	fli_rr_driver_stop(&x->rd);
	free(x);
}

/* Does a client of the driver hold this owner id?  (Ports and chunks are
 * taken under the client id: fl_rr_domain_open(run dir, client id).) */
static bool
client_holds(void *arg, uint64_t owner)
{
	return fli_driver_ext_client_alive(arg, owner);
}

static int
ext_do_work(struct fl_driver *d, void *state, uint64_t now_ns)
{
	struct rr_ext *x = state;

	if (now_ns >= x->next_gauges_ns) {
		(void)fli_rr_driver_repair(&x->rd);
		(void)fli_rr_driver_reclaim_strays(&x->rd, client_holds, d);
		ext_gauges(d, x);
		x->next_gauges_ns = now_ns + GAUGE_PERIOD_NS;
	}
	return 0;
}

static void
ext_client_gone(struct fl_driver *d, void *state, uint64_t client_id, bool crashed)
{
	struct rr_ext *x = state;

	(void)crashed;
	/* The layouts first: a chunk whose header mark was written is
	 * refused by the reclaim as corrupt, and would stay the dead
	 * client's for good. */
	(void)fli_rr_driver_repair(&x->rd);
	if (fli_rr_driver_client_gone(&x->rd, client_id) > 0)
		ext_gauges(d, x);
}

const struct fl_driver_ext fl_rr_driver_ext = {
	.name = "reqrep",
	.start = ext_start,
	.stop = ext_stop,
	.do_work = ext_do_work,
	.on_client_gone = ext_client_gone,
};
