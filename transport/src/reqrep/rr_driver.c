/*
 * The driver's side of request/response.  See rr_driver.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
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
rr_driver_start(struct rr_driver *rd, const char *run_dir, const struct fl_rr_config *cfg)
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
rr_driver_client_gone(struct rr_driver *rd, uint64_t client_id)
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
rr_driver_stop(struct rr_driver *rd)
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
