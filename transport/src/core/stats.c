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
	                 (kill(h->driver_pid, 0) == 0 || errno == EPERM);
	s.active_clients = LD(g->active_clients);
	s.publications = LD(g->publications);
	s.subscriptions = LD(g->subscriptions);
	s.images = LD(g->images);
	s.log_files = LD(g->log_files);
	s.log_files_mapped = LD(g->log_files_mapped);
	s.rejected_commands = LD(g->rejected_commands);
	s.client_timeouts = LD(g->client_timeouts);
	s.commands = LD(g->commands);
	s.unblocked_commands = LD(g->unblocked_commands);
	s.log_files_unlink_pending = LD(g->log_files_unlink_pending);
	s.corrupt_reads = LD(g->corrupt_reads);
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
		c->image_refs_held = LD(r->image_refs_held);
		c->logs_mapped = LD(r->logs_mapped);
		c->pending_registrations = LD(r->pending_registrations);
		c->registrations = LD(r->registrations);
		c->refs_leaked = LD(r->refs_leaked);
		c->registrations_reclaimed = LD(r->registrations_reclaimed);
		if (st == FL_CLIENT_ACTIVE) {
			s.pending_registrations += c->pending_registrations;
			s.image_refs_held += c->image_refs_held;
		}
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

void
fl_stats_print(const struct fl_stats *s, FILE *f, bool json)
{
	static const char *const names[] = {
		"active_clients",
		"publications",
		"subscriptions",
		"images",
		"log_files",
		"log_files_mapped",
		"pending_registrations",
		"image_refs_held",
		"rejected_commands",
		"client_timeouts",
		"commands",
		"unblocked_commands",
		"log_files_unlink_pending",
		"corrupt_reads",
	};
	int64_t vals[] = {
		s->active_clients,
		s->publications,
		s->subscriptions,
		s->images,
		s->log_files,
		s->log_files_mapped,
		s->pending_registrations,
		s->image_refs_held,
		s->rejected_commands,
		s->client_timeouts,
		s->commands,
		s->unblocked_commands,
		s->log_files_unlink_pending,
		s->corrupt_reads,
	};
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
		for (c = 0; c < s->client_count; c++) {
			const struct fl_client_stats *k = &s->clients[c];

			fprintf(f,
			        "client %llu pid %d state %s heartbeat_age_ns %llu image_refs_held "
			        "%lld "
			        "logs_mapped %lld pending_registrations %lld registrations %lld "
			        "refs_leaked %lld registrations_reclaimed %lld\n",
			        (unsigned long long)k->client_id, (int)k->pid, state_name(k->state),
			        (unsigned long long)k->heartbeat_age_ns,
			        (long long)k->image_refs_held, (long long)k->logs_mapped,
			        (long long)k->pending_registrations, (long long)k->registrations,
			        (long long)k->refs_leaked, (long long)k->registrations_reclaimed);
		}
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
		const struct fl_client_stats *k = &s->clients[c];

		fprintf(f,
		        "%s{\"client_id\": %llu, \"pid\": %d, \"state\": \"%s\", "
		        "\"heartbeat_age_ns\": %llu, "
		        "\"image_refs_held\": %lld, \"logs_mapped\": %lld, "
		        "\"pending_registrations\": %lld, "
		        "\"registrations\": %lld, \"refs_leaked\": %lld, "
		        "\"registrations_reclaimed\": %lld}",
		        c ? ", " : "", (unsigned long long)k->client_id, (int)k->pid,
		        state_name(k->state), (unsigned long long)k->heartbeat_age_ns,
		        (long long)k->image_refs_held, (long long)k->logs_mapped,
		        (long long)k->pending_registrations, (long long)k->registrations,
		        (long long)k->refs_leaked, (long long)k->registrations_reclaimed);
	}
	fprintf(f, "]}\n");
}
