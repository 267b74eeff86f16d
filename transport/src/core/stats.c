/*
 * Reading the gauges of a namespace from any process; see stats.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/stats.h"
#include "cnc.h"
#include "shm.h"
#include "shm_mem.h"

int
fli_cnc_validate(const void *base, size_t len)
{
	const struct fli_cnc_header *h = base;

	if (len < FL_CNC_HEADER_SIZE + FL_CNC_COUNTERS_SIZE)
		return FL_EPROTO;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != FL_CNC_MAGIC ||
	    h->version != FL_CNC_VERSION)
		return FL_EPROTO;
	/* Each length is bounded by len before a sum uses it: no sum wraps. */
	if (h->counters_offset != FL_CNC_HEADER_SIZE || h->total_length > len ||
	    h->cmd_length > len || h->bc_length > len || h->cmd_offset > len ||
	    h->bc_offset > len || h->cmd_offset < FL_CNC_HEADER_SIZE + FL_CNC_COUNTERS_SIZE ||
	    h->cmd_offset + h->cmd_length + FL_RING_TRAILER > h->bc_offset ||
	    h->bc_offset + h->bc_length + FL_RING_TRAILER > len || h->cmd_length < 1024 ||
	    h->bc_length < 1024 || (h->cmd_length & (h->cmd_length - 1)) != 0 ||
	    (h->bc_length & (h->bc_length - 1)) != 0 || (h->cmd_offset % 64) != 0 ||
	    (h->bc_offset % 64) != 0)
		return FL_EPROTO;
	return 0;
}

#define LD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)

/* The gauges cnc.dat's counters and struct fl_stats share, by name, in
 * two runs: fl_stats_print puts the sums over active clients between. */
#define CNC_GAUGES_1(X)                                                                            \
	X(active_clients)                                                                          \
	X(publications)                                                                            \
	X(subscriptions)                                                                           \
	X(images)                                                                                  \
	X(log_files)                                                                               \
	X(log_files_mapped)
#define CNC_GAUGES_2(X)                                                                            \
	X(rejected_commands)                                                                       \
	X(client_timeouts)                                                                         \
	X(commands)                                                                                \
	X(unblocked_commands)                                                                      \
	X(log_files_unlink_pending)                                                                \
	X(corrupt_reads)                                                                           \
	X(driver_stalls)

/* The sums of struct fl_stats over the active clients' records. */
#define CLIENT_SUMS(X)                                                                             \
	X(pending_registrations)                                                                   \
	X(image_refs_held)

/* The counters a client record and struct fl_client_stats share. */
#define CLIENT_GAUGES(X)                                                                           \
	X(image_refs_held)                                                                         \
	X(logs_mapped)                                                                             \
	X(pending_registrations)                                                                   \
	X(registrations)                                                                           \
	X(refs_leaked)                                                                             \
	X(registrations_reclaimed)

int
fl_stats_read(const char *ns, struct fl_stats *out)
{
	return fl_stats_read_as(ns, 0, out);
}

int
fl_stats_read_as(const char *ns, uint32_t allowed_uid, struct fl_stats *out)
{
	char dir[256];
	struct fli_shm_dir d = { .fd = -1 };
	const size_t len = FL_CNC_HEADER_SIZE + sizeof(struct fli_cnc_counters);
	struct fli_cnc_header hc, *h = &hc;
	struct fli_cnc_counters *g;
	struct fl_stats s;
	uint8_t *snap;
	size_t file_len = 0;
	uint64_t now, hb;
	int rc, i;

	rc = fl_run_dir_path(ns, dir, sizeof(dir));
	if (rc != 0)
		return rc;
	/* Only this user's run directory, or the one allowed: as a client
	 * would.  Read with pread into private memory, so neither a writer nor
	 * a file shrunk under the read (another user's) can trip us up. */
	rc = fli_shm_dir_open(dir, allowed_uid != 0 ? (uid_t)allowed_uid : (uid_t)-1, &d, NULL, 0);
	if (rc != 0)
		return rc;
	snap = malloc(len);
	if (snap == NULL) {
		fli_shm_dir_close(&d);
		return FL_ENOMEM;
	}
	rc = fli_shm_read_at(&d, FL_CNC_FILE, snap, len, &file_len);
	fli_shm_dir_close(&d);
	if (rc != 0)
		goto out;
	memcpy(&hc, snap, sizeof(hc));
	rc = fli_cnc_validate(&hc, file_len);
	if (rc != 0)
		goto out;
	g = fli_cnc_counters(snap);
	memset(&s, 0, sizeof(s));
	now = fl_clock_now_ns();
	hb = LD(h->driver_heartbeat_ns);
	s.driver_pid = h->driver_pid;
	s.driver_heartbeat_age_ns = now > hb ? now - hb : 0;
	s.driver_alive = LD(h->driver_closed) == 0 &&
	                 s.driver_heartbeat_age_ns < h->client_liveness_ns &&
	                 (fli_shm_mem_on() /* its driver is this process */ ||
	                  kill(h->driver_pid, 0) == 0 || errno == EPERM);
#define COPY_GAUGE(name) s.name = LD(g->name);
	CNC_GAUGES_1(COPY_GAUGE)
	CNC_GAUGES_2(COPY_GAUGE)
#undef COPY_GAUGE
	s.ext_count = LD(g->ext_count);
	if (s.ext_count < 0 || s.ext_count > FL_STATS_MAX_EXT)
		s.ext_count = 0;
	for (i = 0; i < s.ext_count; i++) {
		memcpy(s.ext[i].name, g->ext[i].name, sizeof(s.ext[i].name));
		s.ext[i].name[sizeof(s.ext[i].name) - 1] = '\0';
		s.ext[i].value = LD(g->ext[i].value);
	}
	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++) {
		const struct fli_cnc_client *r = &g->clients[i];
		struct fl_client_stats *c;
		uint32_t st = LD(r->state);
		uint64_t chb;

		if (st == FL_CLIENT_FREE || st > FL_CLIENT_TIMED_OUT)
			continue;
		c = &s.clients[s.client_count++];
		c->client_id = LD(r->client_id);
		c->pid = LD(r->pid);
		c->state = st;
		chb = LD(r->heartbeat_ns);
		c->heartbeat_age_ns = now > chb ? now - chb : 0;
#define COPY_CLIENT_GAUGE(name) c->name = LD(r->name);
		CLIENT_GAUGES(COPY_CLIENT_GAUGE)
#undef COPY_CLIENT_GAUGE
#define ADD_SUM(name) s.name += c->name;
		if (st == FL_CLIENT_ACTIVE) {
			CLIENT_SUMS(ADD_SUM)
		}
#undef ADD_SUM
	}
	*out = s;
out:
	free(snap);
	return rc;
}

static const char *
state_name(uint32_t st)
{
	switch (st) {
	case FL_CLIENT_CLAIMING: return "opening";
	case FL_CLIENT_ACTIVE: return "active";
	case FL_CLIENT_CLOSED: return "closed";
	case FL_CLIENT_TIMED_OUT: return "timed_out";
	default: return "free";
	}
}

/* One client's record: text, one line; JSON, one object. */
static void
print_client(const struct fl_client_stats *k, FILE *f, bool json)
{
#define GAUGE_NAME(name)  #name,
#define GAUGE_VALUE(name) k->name,
	static const char *const names[] = { CLIENT_GAUGES(GAUGE_NAME) };
	const int64_t vals[] = { CLIENT_GAUGES(GAUGE_VALUE) };
#undef GAUGE_NAME
#undef GAUGE_VALUE

	fprintf(f,
	        json ? "{\"client_id\": %llu, \"pid\": %d, \"state\": \"%s\", "
	               "\"heartbeat_age_ns\": %llu"
	             : "client %llu pid %d state %s heartbeat_age_ns %llu",
	        (unsigned long long)k->client_id, (int)k->pid, state_name(k->state),
	        (unsigned long long)k->heartbeat_age_ns);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		fprintf(f, json ? ", \"%s\": %lld" : " %s %lld", names[i], (long long)vals[i]);
	fputs(json ? "}" : "\n", f);
}

void
fl_stats_print(const struct fl_stats *s, FILE *f, bool json)
{
#define GAUGE_NAME(name)  #name,
#define GAUGE_VALUE(name) s->name,
	static const char *const names[] = { CNC_GAUGES_1(GAUGE_NAME) CLIENT_SUMS(GAUGE_NAME)
		                                     CNC_GAUGES_2(GAUGE_NAME) };
	const int64_t vals[] = { CNC_GAUGES_1(GAUGE_VALUE) CLIENT_SUMS(GAUGE_VALUE)
		                         CNC_GAUGES_2(GAUGE_VALUE) };
#undef GAUGE_NAME
#undef GAUGE_VALUE
	size_t i;
	int c;

	if (!json) {
		fprintf(f, "driver_pid %d\ndriver_alive %d\ndriver_heartbeat_age_ns %llu\n",
		        (int)s->driver_pid, (int)s->driver_alive,
		        (unsigned long long)s->driver_heartbeat_age_ns);
		for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
			fprintf(f, "%s %lld\n", names[i], (long long)vals[i]);
		for (c = 0; c < s->ext_count; c++)
			if (s->ext[c].name[0])
				fprintf(f, "%s %lld\n", s->ext[c].name, (long long)s->ext[c].value);
		for (c = 0; c < s->client_count; c++)
			print_client(&s->clients[c], f, false);
		return;
	}
	fprintf(f, "{\"driver_pid\": %d, \"driver_alive\": %s, \"driver_heartbeat_age_ns\": %llu",
	        (int)s->driver_pid, s->driver_alive ? "true" : "false",
	        (unsigned long long)s->driver_heartbeat_age_ns);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		fprintf(f, ", \"%s\": %lld", names[i], (long long)vals[i]);
	fprintf(f, ", \"ext\": {");
	for (c = 0; c < s->ext_count; c++)
		fprintf(f, "%s\"%s\": %lld", c ? ", " : "", s->ext[c].name,
		        (long long)s->ext[c].value);
	fprintf(f, "}, \"clients\": [");
	for (c = 0; c < s->client_count; c++) {
		fputs(c ? ", " : "", f);
		print_client(&s->clients[c], f, true);
	}
	fprintf(f, "]}\n");
}
