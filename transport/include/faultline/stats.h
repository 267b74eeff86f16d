/*
 * Introspection: the gauges a driver publishes in its counters region,
 * readable from any process (also after a client died, and while the
 * driver runs).  The harness's auditor is built on these; `faultline-stat
 * [--json] <ns>` prints them.
 */
#ifndef FAULTLINE_STATS_H
#define FAULTLINE_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_STATS_MAX_CLIENTS 64
#define FL_STATS_MAX_EXT     16

/* Client record states. */
enum fl_client_state {
	FL_CLIENT_FREE = 0,
	FL_CLIENT_CLAIMING = 1, /* being opened */
	FL_CLIENT_ACTIVE = 2,
	FL_CLIENT_CLOSED = 3,    /* closed cleanly; record kept for inspection */
	FL_CLIENT_TIMED_OUT = 4, /* stopped heart-beating; the driver reclaimed it */
};

struct fl_client_stats {
	uint64_t client_id;
	int32_t pid;
	uint32_t state;                  /* enum fl_client_state */
	uint64_t heartbeat_age_ns;       /* now - last heartbeat */
	int64_t image_refs_held;         /* references from image lookups not yet released */
	int64_t logs_mapped;             /* log buffers this client maps */
	int64_t pending_registrations;   /* adds sent, not yet answered/cancelled */
	int64_t registrations;           /* publications + subscriptions the driver holds for it */
	int64_t refs_leaked;             /* image refs still held at close or death */
	int64_t registrations_reclaimed; /* registrations the driver freed at close/death */
};

struct fl_stats {
	int32_t driver_pid;
	bool driver_alive; /* heartbeat fresh and not closed */
	uint64_t driver_heartbeat_age_ns;
	int64_t active_clients; /* active clients */
	int64_t publications;
	int64_t subscriptions;
	int64_t images;
	int64_t log_files;             /* log buffer files existing */
	int64_t log_files_mapped;      /* (client, log) mappings */
	int64_t pending_registrations; /* sum over active clients */
	int64_t image_refs_held;       /* sum over active clients */
	int64_t rejected_commands;     /* malformed or invalid commands */
	int64_t client_timeouts;
	int64_t commands;                 /* commands processed */
	int64_t unblocked_commands;       /* commands of dead producers skipped */
	int64_t log_files_unlink_pending; /* released log files whose unlink failed, being retried */
	int64_t corrupt_reads;            /* shared words (cnc header, ring indices, log metadata)
	                                   the driver found wild and put back */
	int64_t driver_stalls;            /* duty cycles the driver came to more than
	                                   half the client liveness late (and later
	                                   than its cycle_ns): that time is not
	                                   counted as its clients' silence */
	int ext_count;
	struct {
		char name[32];
		int64_t value;
	} ext[FL_STATS_MAX_EXT]; /* gauges of driver extensions (reqrep) */
	int client_count;        /* records in clients[] (any non-free state) */
	struct fl_client_stats clients[FL_STATS_MAX_CLIENTS];
};

/* fl_stats_read reads the namespace's cnc.dat and copies the
 * gauges into *out.  Errors: FL_ENAME, FL_ENOENT (no run directory),
 * FL_EPERM (the run directory or cnc.dat is a link, not mode 0700, or not
 * owned by this process's effective uid: as for fl_client_open),
 * FL_EPROTO (bad magic/version), FL_EIO.  Thread-safe; any process of the
 * driver's user.  The driver publishes its gauges before it answers an
 * add and at the end of each duty cycle: a read after an add returned
 * counts what was added (the publication or subscription, its log and
 * registration; not yet the images the driver links after answering,
 * nor the subscriber's side).  What the driver does on its own (a
 * publication drained after its close, a dead client reclaimed) shows
 * only once it is done, so wait for the value wanted (with a deadline)
 * rather than read once. */
int fl_stats_read(const char *ns, struct fl_stats *out);

/* fl_stats_read_as is fl_stats_read that also accepts a run directory and
 * cnc.dat owned by allowed_uid (0: none but this process's own), for an
 * operator reading another user's driver.  The file is read with pread
 * into private memory, so its owner can change it under the read (the
 * values are checked) but never fault this process. */
int fl_stats_read_as(const char *ns, uint32_t allowed_uid, struct fl_stats *out);

/* fl_stats_print writes the stats as "name value" lines, or as one JSON
 * object when json is true. */
void fl_stats_print(const struct fl_stats *s, FILE *f, bool json);

#ifdef __cplusplus
}
#endif
#endif
