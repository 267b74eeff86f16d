/*
 * Layout of cnc.dat, the command-and-control segment, and the frames that
 * cross it.  Module-to-module (driver, client, stats).
 *
 *   [0, 4096)                    struct fli_cnc_header
 *   [4096, +counters)            struct fli_cnc_counters (gauges, client records)
 *   [cmd_offset, +cmd+trailer)   to-driver MPSC ring
 *   [bc_offset, +bc+trailer)     to-clients broadcast
 *
 * Every frame starts with a version; the driver rejects (counts, answers
 * with an error event) any command of the wrong size or version.
 */
#ifndef FL_CNC_H
#define FL_CNC_H

#include <stdint.h>

#include "faultline/driver.h"
#include "faultline/stats.h"
#include "ring.h"

#define FL_CNC_MAGIC   0x464c434e43303031ull /* "FLCNC001" */
#define FL_CNC_VERSION 6u
#define FL_CNC_FILE    "cnc.dat"
/* cnc.dat while the driver starts: written whole, extensions started, then
 * renamed to FL_CNC_FILE, so a cnc.dat that exists is one a client can use
 * (one without a valid header is corrupt, never "not written yet"). */
#define FL_CNC_NEW_FILE  "cnc.dat.new"
#define FL_FRAME_VERSION 1u

struct fli_cnc_header {
	uint64_t magic;
	uint32_t version;
	int32_t driver_pid;
	uint64_t counters_offset;
	uint64_t cmd_offset;
	uint64_t cmd_length;
	uint64_t bc_offset;
	uint64_t bc_length;
	uint64_t total_length;
	uint64_t client_liveness_ns;
	uint32_t term_length;
	uint32_t mtu;
	uint64_t driver_pid_ns; /* fl_pid_ns() of the driver's process */
	uint64_t driver_heartbeat_ns __attribute__((aligned(64)));
	uint32_t driver_closed;
	int64_t next_id __attribute__((aligned(64)));
};

struct fli_cnc_client {
	uint32_t state; /* enum fl_client_state */
	int32_t pid;
	uint64_t client_id;
	uint64_t heartbeat_ns;
	int64_t image_refs_held;
	int64_t logs_mapped;
	int64_t pending_registrations;
	int64_t registrations;
	int64_t refs_leaked;
	int64_t registrations_reclaimed;
	uint64_t pid_ns; /* fl_pid_ns() of the client's process */
} __attribute__((aligned(128)));

struct fli_cnc_counters {
	int64_t active_clients;
	int64_t publications;
	int64_t subscriptions;
	int64_t images;
	int64_t log_files;
	int64_t log_files_mapped;
	int64_t rejected_commands;
	int64_t client_timeouts;
	int64_t commands;
	int64_t unblocked_commands;
	int64_t log_files_unlink_pending;
	int64_t corrupt_reads; /* shared words the driver found wild and put back */
	int64_t driver_stalls; /* duty cycles the driver came to late (its own stall) */
	int32_t ext_count;
	struct {
		char name[32];
		int64_t value;
	} ext[FL_STATS_MAX_EXT];
	struct fli_cnc_client clients[FL_STATS_MAX_CLIENTS] __attribute__((aligned(128)));
};

#define FL_CNC_HEADER_SIZE   4096u
#define FL_CNC_COUNTERS_SIZE (((sizeof(struct fli_cnc_counters) + 4095u) / 4096u) * 4096u)

/* Commands (client -> driver). */
enum {
	FL_CMD_ADD_PUB = 1,
	FL_CMD_REMOVE_PUB = 2,
	FL_CMD_ADD_SUB = 3,
	FL_CMD_REMOVE_SUB = 4,
	FL_CMD_LOG_UNMAPPED = 5,
	FL_CMD_CLIENT_CLOSE = 6,
};

struct fli_cmd {
	uint32_t version;
	uint32_t exclusive;
	uint64_t client_id;
	int64_t corr_id; /* the registration id for adds and removes */
	int64_t log_id;  /* LOG_UNMAPPED */
	int32_t stream_id;
	uint32_t pad_;
	char channel[FL_NAME_MAX + 8];
};

/* Events (driver -> clients). */
enum {
	FL_EV_PUB_READY = 101,
	FL_EV_SUB_READY = 102,
	FL_EV_ERROR = 103,
	FL_EV_IMAGE_AVAILABLE = 104,
	FL_EV_IMAGE_UNAVAILABLE = 105,
	FL_EV_CLIENT_TIMEOUT = 106,
};

struct fli_event {
	uint32_t version;
	int32_t code; /* ERROR */
	uint64_t client_id;
	int64_t corr_id; /* the registration (pub/sub) it answers */
	int64_t log_id;  /* publication registration id = log file id */
	int32_t session_id;
	int32_t stream_id;
	int32_t slot;
	uint32_t exclusive;
	char msg[96];
};

/* The files of a run directory (fli_shm_run_file: removing a stale run
 * directory unlinks these names and nothing else): cnc.dat (and
 * cnc.dat.new, a start cut short), the log file
 * of each publication, and the request/response segments (reqrep.c). */
#define FL_LOG_NAME_FMT "pub-%lld.log"
#define FL_CHUNKS_FILE  "chunks.dat"
#define FL_PORTS_FILE   "ports.dat"

/* The counters of a mapped cnc.dat.  Their offset is fixed (the header's
 * counters_offset must say FL_CNC_HEADER_SIZE): never re-read from the
 * shared header, which any process can write. */
static inline struct fli_cnc_counters *
fli_cnc_counters(void *base)
{
	return (struct fli_cnc_counters *)((uint8_t *)base + FL_CNC_HEADER_SIZE);
}

/* Validates a cnc.dat header for a mapping of len bytes: magic, version,
 * offsets within len.  0 or FL_EPROTO.  Pass a private copy of the header
 * (the shared one may change between the check and the use). */
int fli_cnc_validate(const void *base, size_t len);

#endif
