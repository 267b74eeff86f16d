/*
 * Fuzz target: the driver's command decoding.  Each input starts a live
 * driver (agent mode, request/response extension loaded) in a namespace of
 * this process, writes commands into its command ring as clients would,
 * legitimate or hostile, runs its duty cycle a bounded number of times
 * and closes it.  The driver must never crash, and after fl_driver_close
 * its run directory must be gone (every log buffer, chunks.dat, ports.dat
 * and cnc.dat with it).
 *
 * The input is a sequence of records {op, len, len bytes}; the fields a
 * record's op reads past its bytes are 0.  Ops (op % 8):
 *   0    register a client: claim a record in cnc.dat's client table as
 *        fl_client_open does ([slot], [flags: bit0 the id from the next
 *        8 bytes instead of next_id, e.g. a duplicate])
 *   1,5,6,7  a command as struct fli_cmd: [type][client][corr][log][stream]
 *        [flags][channel...] (see cmd_record)
 *   2    a raw record: [type lo][type hi][payload...]
 *   3    duty cycles: 1 + [n] % 4 calls of fl_driver_do_work
 *   4    a hostile write to a client record: [client][field][value, 8]
 * Clients are chosen by a byte: one of the ids registered so far, or 0, an
 * id nobody registered, or UINT64_MAX.  At most MAX_WORK duty cycles run
 * per input, and two more at the end for what is still on the ring.  The
 * driver's timed looks (gone processes every 20 ms, log repairs and the
 * extension's every 10 ms) come on its first cycle of an input, so an
 * input reaches them by writing before its first op 3.
 * FL_FUZZ_VERBOSE=1: the driver logs what an input reaches.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "cnc.h"
#include "driver_ext.h"
#include "fuzz_input.h"
#include "ring.h"
#include "rr_driver.h"
#include "shm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KNOWN 8
#define MAX_WORK  64 /* duty cycles per input, the final ones included */

struct run {
	fl_driver *d;
	struct fli_shm cnc; /* this "client" process's own mapping */
	struct fli_cnc_header *hdr;
	struct fli_cnc_counters *ctr;
	struct fli_mpsc ring;
	uint64_t known[MAX_KNOWN]; /* client ids registered, oldest first */
	int nknown;
	int work;
};

static uint64_t
pick_client(const struct run *r, uint8_t sel)
{
	if (sel < 0xe0)
		return r->nknown > 0 ? r->known[sel % r->nknown] : 0;
	if (sel < 0xf0)
		return 0;
	if (sel < 0xff)
		return (1ull << 20) + sel; /* nobody's */
	return UINT64_MAX;
}

/* Registration ids: a small range so that adds collide and removes find
 * what an add made; a few values at the edges. */
static int64_t
pick_id(uint8_t sel)
{
	switch (sel) {
	case 0xf0: return 0;
	case 0xf1: return -1;
	case 0xf2: return INT64_MAX;
	case 0xf3: return INT64_MIN;
	case 0xf4: return 1ll << 40;
	case 0xf5: return (1ll << 40) - 1;
	default: return sel < 0xf0 ? sel % 24 + 1 : sel;
	}
}

static void
do_work(struct run *r, int n)
{
	for (; n > 0 && r->work < MAX_WORK; n--, r->work++)
		(void)fl_driver_do_work(r->d);
}

/* Claims a client record as fl_client_open does. */
static void
register_client(struct run *r, struct in *in)
{
	uint8_t slot = u8(in), flags = u8(in);
	uint64_t id = (flags & 1) ? u64(in) : 0;
	struct fli_cnc_client *rec = NULL;

	if (!(flags & 1))
		id = (uint64_t)__atomic_fetch_add(&r->hdr->next_id, 1, __ATOMIC_ACQ_REL);
	for (int i = 0; i < FL_STATS_MAX_CLIENTS && rec == NULL; i++) {
		struct fli_cnc_client *c = &r->ctr->clients[(slot + i) % FL_STATS_MAX_CLIENTS];
		uint32_t st = FL_CLIENT_FREE;

		if (__atomic_compare_exchange_n(&c->state, &st, FL_CLIENT_CLAIMING, false,
		                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			rec = c;
	}
	if (rec == NULL)
		return;
	rec->pid = (int32_t)getpid();
	rec->pid_ns = fl_pid_ns();
	rec->image_refs_held = 0;
	rec->logs_mapped = 0;
	rec->pending_registrations = 0;
	rec->registrations = 0;
	rec->refs_leaked = 0;
	rec->registrations_reclaimed = 0;
	__atomic_store_n(&rec->heartbeat_ns, fl_clock_now_ns(), __ATOMIC_RELEASE);
	__atomic_store_n(&rec->client_id, id, __ATOMIC_RELEASE);
	__atomic_store_n(&rec->state, FL_CLIENT_ACTIVE, __ATOMIC_RELEASE);
	if (r->nknown < MAX_KNOWN)
		r->known[r->nknown++] = id;
}

static const char *const channels[] = { "alpha", "beta", "a.b-c_1", "" };

/*
 * A command: [type][client][corr][log][stream][flags][channel...].
 * type: % 8 under 0xe0 (1..6 the commands, 0 and 7 none); 0xe0..0xef an
 * extension type (its payload the client id, then the rest); above, large
 * unknown types.  flags: bit0 exclusive, bit1 a wrong version (flags >> 4),
 * bit2 the channel from the record's remaining bytes (bit3: no NUL), else
 * one of `channels` by the next byte; bit4 a payload 8 bytes short, bit5
 * 8 bytes long.
 */
static void
cmd_record(struct run *r, struct in *in)
{
	uint8_t t = u8(in), csel = u8(in), corr = u8(in), log = u8(in), stream = u8(in);
	uint8_t flags = u8(in);
	uint8_t buf[sizeof(struct fli_cmd) + 16];
	struct fli_cmd c;
	int32_t type;
	size_t len = sizeof(c);

	memset(&c, 0, sizeof(c));
	c.version = (flags & 2) ? (uint32_t)(flags >> 4) : FL_FRAME_VERSION;
	c.exclusive = flags & 1;
	c.client_id = pick_client(r, csel);
	c.corr_id = pick_id(corr);
	c.log_id = pick_id(log);
	c.stream_id = stream < 0xf0 ? stream % 4 : (int32_t)(int8_t)stream;
	if (flags & 4) {
		size_t n = in->n < sizeof(c.channel) ? in->n : sizeof(c.channel);

		memcpy(c.channel, in->p, n);
		in->p += n;
		in->n -= n;
		if (flags & 8)
			memset(c.channel + n, 'x', sizeof(c.channel) - n);
		else
			c.channel[n < sizeof(c.channel) ? n : sizeof(c.channel) - 1] = '\0';
	} else {
		snprintf(c.channel, sizeof(c.channel), "%s", channels[u8(in) % 4]);
	}
	if (t < 0xe0)
		type = t % 8;
	else if (t < 0xf0)
		type = FL_EXT_TYPE_MIN + (t & 0xf);
	else
		type = t == 0xff ? INT32_MAX : FL_EXT_TYPE_MAX + (t & 0xf);
	if (flags & 0x10)
		len -= 8;
	if (flags & 0x20)
		len += 8;
	memset(buf, 0, sizeof(buf));
	if (type >= FL_EXT_TYPE_MIN && type <= FL_EXT_TYPE_MAX) {
		/* An extension command: the client id, then the rest. */
		size_t n = in->n < sizeof(buf) - 8 ? in->n : sizeof(buf) - 8;

		memcpy(buf, &c.client_id, 8);
		memcpy(buf + 8, in->p, n);
		len = 8 + n;
	} else {
		memcpy(buf, &c, sizeof(c));
	}
	(void)fli_mpsc_write(&r->ring, type, buf, len);
}

static void
raw_record(struct run *r, struct in *in)
{
	int32_t type = u8(in);

	type |= (int32_t)u8(in) << 8;
	(void)fli_mpsc_write(&r->ring, type, in->p, in->n);
}

/* A client (hostile or dying) writing its own record: [client][field][v]. */
static void
client_write(struct run *r, struct in *in)
{
	uint64_t id = pick_client(r, u8(in));
	uint8_t field = u8(in);
	uint64_t v = u64(in), now = fl_clock_now_ns();
	struct fli_cnc_client *rec = NULL;

	for (int i = 0; i < FL_STATS_MAX_CLIENTS && rec == NULL; i++)
		if (r->ctr->clients[i].client_id == id)
			rec = &r->ctr->clients[i];
	if (rec == NULL)
		return;
	switch (field % 6) {
	case 0: /* stopped heart-beating long ago: timed out */
		__atomic_store_n(&rec->heartbeat_ns, 0, __ATOMIC_RELEASE);
		break;
	case 1: /* a little stale, and its process is gone */
		__atomic_store_n(&rec->pid, 0x7ffffff0, __ATOMIC_RELAXED);
		__atomic_store_n(&rec->heartbeat_ns, now - 25 * FL_NS_PER_MS, __ATOMIC_RELEASE);
		break;
	case 2: __atomic_store_n(&rec->heartbeat_ns, v, __ATOMIC_RELEASE); break;
	case 3: __atomic_store_n(&rec->state, (uint32_t)v, __ATOMIC_RELEASE); break;
	case 4: __atomic_store_n(&rec->client_id, v, __ATOMIC_RELEASE); break;
	default:
		__atomic_store_n(&rec->registrations, (int64_t)v, __ATOMIC_RELAXED);
		__atomic_store_n(&rec->image_refs_held, (int64_t)v, __ATOMIC_RELAXED);
		break;
	}
}

static char ns[FL_NAME_MAX + 1];

static void
setup_once(void)
{
	/* A small request/response domain (the daemon's own knobs): the
	 * driver creates it per input. */
	setenv("FL_RR_CHUNKS", "64:8,1024:4", 1);
	setenv("FL_RR_SERVER_PORTS", "2", 1);
	setenv("FL_RR_CLIENT_PORTS", "2", 1);
	snprintf(ns, sizeof(ns), "fz-driver-%d", (int)getpid());
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fl_driver_ext *const exts[] = { &fl_rr_driver_ext };
	struct fl_driver_ctx dc;
	struct fli_cnc_header h;
	struct run r;
	char dir[256], path[320];
	struct in in = { data, size };
	struct stat st;
	int rc;

	if (ns[0] == '\0')
		setup_once();
	memset(&r, 0, sizeof(r));
	fl_driver_ctx_init(&dc);
	dc.ns = ns;
	dc.no_thread = true;
	dc.term_length = 64 * 1024;
	dc.mtu = 1024;
	dc.cmd_ring_length = 64 * 1024;
	dc.broadcast_length = 64 * 1024;
	dc.extensions = exts;
	dc.extension_count = 1;
	dc.verbose = getenv("FL_FUZZ_VERBOSE") != NULL; /* what an input reaches */
	rc = fl_driver_start(&dc, &r.d);
	if (rc != 0) {
		fprintf(stderr, "driver_fuzz: fl_driver_start(%s): %s\n", ns, fl_strerror(rc));
		abort();
	}
	snprintf(dir, sizeof(dir), "%s", fl_driver_run_dir(r.d));
	snprintf(path, sizeof(path), "%s/%s", dir, FL_CNC_FILE);
	if (fli_shm_map(path, true, FL_CNC_HEADER_SIZE, &r.cnc, NULL, 0) != 0)
		abort();
	memcpy(&h, r.cnc.addr, sizeof(h));
	if (fli_cnc_validate(&h, r.cnc.len) != 0)
		abort();
	r.hdr = r.cnc.addr;
	r.ctr = fli_cnc_counters(r.cnc.addr);
	fli_mpsc_init(&r.ring, (uint8_t *)r.cnc.addr + h.cmd_offset, h.cmd_length, 0);

	while (in.n > 0) {
		uint8_t op = u8(&in), len = u8(&in);
		struct in rec = { in.p, len < in.n ? len : in.n };

		in.p += rec.n;
		in.n -= rec.n;
		switch (op % 8) {
		case 0: register_client(&r, &rec); break;
		case 2: raw_record(&r, &rec); break;
		case 3: do_work(&r, 1 + u8(&rec) % 4); break;
		case 4: client_write(&r, &rec); break;
		default: cmd_record(&r, &rec); break;
		}
	}
	r.work = 0;
	do_work(&r, 2); /* what is still on the ring */

	fli_shm_unmap(&r.cnc);
	fl_driver_close(r.d);
	if (lstat(dir, &st) == 0 || errno != ENOENT) {
		fprintf(stderr, "driver_fuzz: %s left behind after fl_driver_close\n", dir);
		abort();
	}
	return 0;
}
