/*
 * The media driver's conductor: owns the run directory, serves commands
 * from the MPSC ring, answers on the broadcast, times clients out and
 * reclaims what they held, and keeps the gauges in cnc.dat current.
 *
 * All driver state below is touched only by the conductor (one thread, or
 * the caller of fl_driver_do_work).  Tables are fixed-size arrays scanned
 * linearly: they hold tens of entries and a scan is cheaper than keeping an
 * index consistent on every reclamation path.
 *
 * Every process of the namespace can write cnc.dat and the log buffers, so
 * the driver never takes a layout value, a count or an index back from
 * them: it keeps its own (the header as it wrote it, its counters, which
 * subscriber slots it gave out) and publishes them.  What it owns in
 * shared memory and finds changed it puts back on its duty cycle, counted
 * in the corrupt_reads gauge, so that one wild write does not lock new
 * clients out until a restart.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/plant.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "cnc.h"
#include "driver_ext.h"
#include "fli_impl.h"
#include "log_buffer.h"
#include "shm.h"

#define MAX_PUBS   1024
#define MAX_SUBS   1024
#define MAX_IMAGES 4096
#define MAX_LOGS   2048
#define MAX_EXTS   8

struct drv_mapper {
	uint64_t client_id;
	int count;
};

struct drv_log {
	int64_t id;
	char name[32]; /* FL_LOG_NAME_FMT, in the run directory */
	struct fli_shm shm;
	struct fli_log log;
	struct drv_mapper mappers[FL_STATS_MAX_CLIENTS];
	bool pub_alive;
};

struct drv_pub {
	int64_t reg_id;
	uint64_t owner;
	char channel[FL_NAME_MAX + 8];
	int32_t stream_id;
	bool exclusive;
	bool draining;
	uint64_t drain_deadline;
	struct drv_log *log;
	uint64_t slots; /* subscriber slots given to images, bit i = slot i */
};

struct drv_sub {
	int64_t reg_id;
	uint64_t owner;
	char channel[FL_NAME_MAX + 8];
	int32_t stream_id;
};

struct drv_image {
	struct drv_sub *sub;
	struct drv_pub *pub;
	int slot;
};

struct fl_driver {
	struct fl_driver_ctx ctx;
	char ns[FL_NAME_MAX + 1];
	char dir[256];
	struct fli_shm_dir rundir; /* the run directory: identity; open during an operation */
	struct fli_shm cnc;
	struct fli_cnc_header *hdr;
	struct fli_cnc_counters *ctr;
	struct fli_cnc_header own_hdr; /* the header as written: what repairs put back */
	struct {
		int64_t rejected_commands;
		int64_t client_timeouts;
		int64_t commands;
		int64_t unblocked_commands;
		int64_t corrupt_reads;
		int64_t driver_stalls;
	} cnt;             /* ours; update_gauges publishes them */
	int32_t ext_count; /* extension gauges set, published */
	int64_t max_id;    /* highest id a valid command or client record used */
	/* The client id the driver last saw active in each record: who holds
	 * what is taken from here, never from the shared record, which any
	 * process can write.  0: none. */
	uint64_t known[FL_STATS_MAX_CLIENTS];
	/* The latest heartbeat of that client seen not in the future (when
	 * the driver came to know it, if it showed none): a heartbeat is the
	 * client's clock, written just before; one moved back or into the
	 * future is a wild write, which must neither end a live client nor
	 * keep a record alive for ever. */
	uint64_t heard[FL_STATS_MAX_CLIENTS];
	uint64_t last_cycle;     /* when the last duty cycle began (0: none yet) */
	uint64_t stall_excess;   /* this cycle's credit (credit_stall), or 0 */
	uint64_t repair_logs_at; /* next look at the log buffers' metadata */
	struct fli_mpsc ring;
	struct fli_bcast bc;
	struct drv_pub *pubs[MAX_PUBS];
	int npubs;
	struct drv_sub *subs[MAX_SUBS];
	int nsubs;
	struct drv_image images[MAX_IMAGES];
	int nimages;
	struct drv_log *logs[MAX_LOGS];
	int nlogs;
	char *unlink_pending[MAX_LOGS]; /* names of released logs whose unlink failed */
	int nunlink;
	uint64_t unlink_retry_at;
	uint64_t pid_check_at; /* next look for clients whose process is gone */
	struct {
		const struct fl_driver_ext *e;
		void *state;
		bool started;
	} exts[MAX_EXTS];
	int nexts;
	fl_thread *thread;
	int stop;
	uint64_t now;
};

static void __attribute__((format(printf, 2, 3))) vlog(fl_driver *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->ctx.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "faultline-driver[%s]: ", d->ns);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void
fl_driver_ctx_init(struct fl_driver_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

const char *
fl_driver_run_dir(const fl_driver *d)
{
	return d->dir;
}

/* ---- events ---------------------------------------------------------- */

static void update_gauges(fl_driver *d);

/* Broadcasts an answer or event.  Before an add's answer the gauges go
 * out: a client that heard "publication ready" and then reads fl_stats
 * sees that publication counted.  Published only at the end of the duty
 * cycle, they lagged the answer by the rest of the cycle, and a test
 * that took its baseline just after an add (cluster_session_one, CI's
 * ThreadSanitizer job on a loaded machine) waited 400 s for a count one
 * short.  Not before other events: those go out halfway through a change
 * (the images of a client being reclaimed), whose gauges would show a
 * state that never settles, its subscriptions gone and it still active. */
static void
send_event(fl_driver *d, int32_t type, struct fli_event *ev)
{
	ev->version = FL_FRAME_VERSION;
	if (type == FL_EV_PUB_READY || type == FL_EV_SUB_READY)
		update_gauges(d);
	if ((type == FL_EV_PUB_READY || type == FL_EV_SUB_READY || type == FL_EV_ERROR) &&
	    FL_FAULT("transport/cmd/drop"))
		return;
	(void)fli_bcast_transmit(&d->bc, type, ev, sizeof(*ev));
}

static void
send_error(fl_driver *d, uint64_t client_id, int64_t corr_id, int code, const char *msg)
{
	struct fli_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.client_id = client_id;
	ev.corr_id = corr_id;
	ev.code = code;
	snprintf(ev.msg, sizeof(ev.msg), "%s", msg);
	send_event(d, FL_EV_ERROR, &ev);
}

/* Adds n to one of the driver's counters: its own copy is the truth, the
 * shared one is written from it at once and again every duty cycle (so a
 * wild write there lasts one cycle at most). */
#define COUNT(d, field, n)                                                                         \
	__atomic_store_n(&(d)->ctr->field, (d)->cnt.field += (n), __ATOMIC_RELAXED)

static void
reject(fl_driver *d, uint64_t client_id, int64_t corr_id, int code, const char *msg)
{
	COUNT(d, rejected_commands, 1);
	vlog(d, "rejected command: %s (corr %lld)", msg, (long long)corr_id);
	if (client_id != 0)
		send_error(d, client_id, corr_id, code, msg);
}

/* ---- clients ---------------------------------------------------------- */

static void reclaim_client(fl_driver *d, int slot, bool crashed, bool vanished);

/* Record `slot` shows client_id active: the driver knows it from now on;
 * its heartbeat is heard from here. */
static void
know(fl_driver *d, int slot, uint64_t client_id)
{
	uint64_t hb, now;

	if (d->known[slot] == client_id)
		return;
	hb = __atomic_load_n(&d->ctr->clients[slot].heartbeat_ns, __ATOMIC_ACQUIRE);
	now = fl_clock_now_ns(); /* after the read: a heartbeat just written is not future */
	d->known[slot] = client_id;
	d->heard[slot] = hb <= now ? hb : now;
	/* First seen in a late cycle: it was stopped with the driver too. */
	if (d->stall_excess != 0)
		d->heard[slot] = now - d->heard[slot] > d->stall_excess
		                         ? d->heard[slot] + d->stall_excess
		                         : now;
}

/* The record slot of client_id, or -1.  The driver's own table first; a
 * client not in it yet (opened since the last look) is taken from the
 * shared records, where it must be active under that id. */
static int
client_slot(fl_driver *d, uint64_t client_id)
{
	int i;

	if (client_id == 0)
		return -1;
	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++)
		if (d->known[i] == client_id)
			return i;
	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++) {
		struct fli_cnc_client *r = &d->ctr->clients[i];

		if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == FL_CLIENT_ACTIVE &&
		    __atomic_load_n(&r->client_id, __ATOMIC_RELAXED) == client_id) {
			if (d->known[i] != 0)
				reclaim_client(d, i, true, true); /* its last holder vanished */
			know(d, i, client_id);
			return i;
		}
	}
	return -1;
}

bool
fli_driver_ext_client_alive(struct fl_driver *d, uint64_t client_id)
{
	return client_slot(d, client_id) >= 0;
}

static void
regs_add(fl_driver *d, uint64_t client_id, int64_t delta)
{
	int slot = client_slot(d, client_id);

	if (slot >= 0)
		__atomic_fetch_add(&d->ctr->clients[slot].registrations, delta, __ATOMIC_RELAXED);
}

/* ---- logs ------------------------------------------------------------- */

static struct drv_log *
log_find(fl_driver *d, int64_t id)
{
	int i;

	for (i = 0; i < d->nlogs; i++)
		if (d->logs[i]->id == id)
			return d->logs[i];
	return NULL;
}

static void
mapper_add(struct drv_log *l, uint64_t client_id, int delta)
{
	int i, free_i = -1;

	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++) {
		if (l->mappers[i].count != 0 && l->mappers[i].client_id == client_id) {
			l->mappers[i].count += delta;
			if (l->mappers[i].count < 0)
				l->mappers[i].count = 0;
			return;
		}
		if (l->mappers[i].count == 0 && free_i < 0)
			free_i = i;
	}
	if (delta > 0 && free_i >= 0) {
		l->mappers[free_i].client_id = client_id;
		l->mappers[free_i].count = delta;
	}
}

static void
mapper_drop_client(struct drv_log *l, uint64_t client_id)
{
	int i;

	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++)
		if (l->mappers[i].count != 0 && l->mappers[i].client_id == client_id)
			l->mappers[i].count = 0;
}

static int
mapper_total(const struct drv_log *l)
{
	int i, n = 0;

	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++)
		n += l->mappers[i].count != 0;
	return n;
}

/* Unlinks a file the driver no longer uses.  A failed unlink is not
 * forgotten: the path goes on the pending list, retried every
 * UNLINK_RETRY_NS of the duty cycle (and the run directory's removal at
 * close takes it at the latest); the gauge log_files_unlink_pending
 * counts it, so a file the driver knows about is never mistaken for one
 * it lost. */
#define UNLINK_RETRY_NS (10 * FL_NS_PER_MS)

/* Unlinks name in the run directory, opened again for it (shm.h). */
static int
dir_unlink(fl_driver *d, const char *name)
{
	int rc = fli_shm_dir_reopen(d->dir, &d->rundir);

	if (rc == 0)
		rc = fli_shm_unlink_at(&d->rundir, name);
	fli_shm_dir_close(&d->rundir);
	return rc;
}

static void
unlink_or_retry(fl_driver *d, const char *name)
{
	char *dup;

	if (dir_unlink(d, name) != FL_EIO) {
		vlog(d, "%s/%s unlinked", d->dir, name);
		return;
	}
	dup = d->nunlink < MAX_LOGS ? strdup(name) : NULL;
	if (dup == NULL) {
		vlog(d, "unlink %s/%s failed; no room to retry it", d->dir, name);
		return;
	}
	vlog(d, "unlink %s/%s failed; retrying", d->dir, name);
	if (d->nunlink == 0)
		d->unlink_retry_at = d->now + UNLINK_RETRY_NS;
	d->unlink_pending[d->nunlink++] = dup;
}

static int
retry_unlinks(fl_driver *d)
{
	int i, n = 0;

	if (d->nunlink == 0 || d->now < d->unlink_retry_at)
		return 0;
	for (i = d->nunlink - 1; i >= 0; i--) {
		if (dir_unlink(d, d->unlink_pending[i]) == FL_EIO)
			continue;
		vlog(d, "%s/%s unlinked on retry", d->dir, d->unlink_pending[i]);
		free(d->unlink_pending[i]);
		d->unlink_pending[i] = d->unlink_pending[--d->nunlink];
		n++;
	}
	d->unlink_retry_at = d->now + UNLINK_RETRY_NS;
	return n;
}

static void
log_destroy(fl_driver *d, int idx)
{
	struct drv_log *l = d->logs[idx];

	fli_shm_unmap(&l->shm);
	unlink_or_retry(d, l->name);
	free(l);
	FLI_ASSERT(idx >= 0 && idx < d->nlogs);
	d->logs[idx] = d->logs[--d->nlogs];
}

static int
reclaim_logs(fl_driver *d)
{
	int i, n = 0;

	for (i = d->nlogs - 1; i >= 0; i--) {
		struct drv_log *l = d->logs[i];

		if (!l->pub_alive && mapper_total(l) == 0 && !PLANTED(FLI_PLANT_LOG_KEPT)) {
			log_destroy(d, i);
			n++;
		}
	}
	return n;
}

/* ---- images ----------------------------------------------------------- */

static bool
matches(const struct drv_pub *p, const struct drv_sub *s)
{
	return !p->draining && p->stream_id == s->stream_id && strcmp(p->channel, s->channel) == 0;
}

/* ev, all else zero, for client `owner` about its registration reg_id
 * and publication p's log: PUB_READY and the images' events. */
static void
log_event(struct fli_event *ev, uint64_t owner, int64_t reg_id, const struct drv_pub *p)
{
	memset(ev, 0, sizeof(*ev));
	ev->client_id = owner;
	ev->corr_id = reg_id;
	ev->log_id = p->reg_id;
	ev->session_id = (int32_t)p->reg_id;
	ev->stream_id = p->stream_id;
}

static void
image_link(fl_driver *d, struct drv_pub *p, struct drv_sub *s)
{
	struct fli_log_meta *m = p->log->log.meta;
	struct fli_event ev;
	int i;

	if (d->nimages >= MAX_IMAGES)
		return;
	/* The free slot by our own table: the shared states can be wild. */
	for (i = 0; i < FL_LOG_MAX_SUBS; i++)
		if ((p->slots & (1ull << i)) == 0)
			break;
	if (i == FL_LOG_MAX_SUBS) {
		send_error(d, s->owner, s->reg_id, FL_ELIMIT,
		           "publication has no free subscriber slot");
		return;
	}
	FL_SCHED_POINT("driver.image.link");
	m->slots[i].client_id = s->owner;
	m->slots[i].sub_reg_id = s->reg_id;
	__atomic_store_n(&m->slots[i].position, __atomic_load_n(&m->tail, __ATOMIC_ACQUIRE),
	                 __ATOMIC_RELEASE);
	__atomic_store_n(&m->slots[i].state, FL_SLOT_ACTIVE, __ATOMIC_RELEASE);
	p->slots |= 1ull << i;
	__atomic_store_n(&m->subscriber_count, (uint32_t)__builtin_popcountll(p->slots),
	                 __ATOMIC_RELEASE);
	d->images[d->nimages].sub = s;
	d->images[d->nimages].pub = p;
	d->images[d->nimages].slot = i;
	d->nimages++;
	mapper_add(p->log, s->owner, 1);
	log_event(&ev, s->owner, s->reg_id, p);
	ev.slot = i;
	send_event(d, FL_EV_IMAGE_AVAILABLE, &ev);
}

static void
image_unlink(fl_driver *d, int idx)
{
	struct drv_image *im = &d->images[idx];
	struct fli_log_meta *m = im->pub->log->log.meta;
	struct fli_event ev;

	FL_SCHED_POINT("driver.image.unlink");
	__atomic_store_n(&m->slots[im->slot].state, FL_SLOT_FREE, __ATOMIC_RELEASE);
	im->pub->slots &= ~(1ull << im->slot);
	__atomic_store_n(&m->subscriber_count, (uint32_t)__builtin_popcountll(im->pub->slots),
	                 __ATOMIC_RELEASE);
	log_event(&ev, im->sub->owner, im->sub->reg_id, im->pub);
	ev.slot = im->slot;
	send_event(d, FL_EV_IMAGE_UNAVAILABLE, &ev);
	FLI_ASSERT(idx >= 0 && idx < d->nimages);
	d->images[idx] = d->images[--d->nimages];
}

/* ---- publications and subscriptions ----------------------------------- */

/* The index in v[0..n) (d->pubs or d->subs) of the one registered as
 * id; -1 if none. */
#define REG_INDEX(v, n, id)                                                                        \
	({                                                                                         \
		int i_ = 0;                                                                        \
		while (i_ < (n) && (v)[i_]->reg_id != (id))                                        \
			i_++;                                                                      \
		i_ < (n) ? i_ : -1;                                                                \
	})

static struct drv_pub *
pub_find(fl_driver *d, int64_t reg_id)
{
	int i = REG_INDEX(d->pubs, d->npubs, reg_id);

	return i >= 0 ? d->pubs[i] : NULL;
}

static struct drv_sub *
sub_find(fl_driver *d, int64_t reg_id)
{
	int i = REG_INDEX(d->subs, d->nsubs, reg_id);

	return i >= 0 ? d->subs[i] : NULL;
}

static void
pub_destroy(fl_driver *d, int idx)
{
	struct drv_pub *p = d->pubs[idx];
	int i;

	__atomic_store_n(&p->log->log.meta->closed, 1, __ATOMIC_RELEASE);
	for (i = d->nimages - 1; i >= 0; i--)
		if (d->images[i].pub == p)
			image_unlink(d, i);
	p->log->pub_alive = false;
	vlog(d, "publication %s closed (%lld)", p->channel, (long long)p->reg_id);
	free(p);
	FLI_ASSERT(idx >= 0 && idx < d->npubs);
	d->pubs[idx] = d->pubs[--d->npubs];
}

/* Graceful close: no more offers; images stay until drained or linger. */
static void
pub_close(fl_driver *d, struct drv_pub *p)
{
	__atomic_store_n(&p->log->log.meta->closed, 1, __ATOMIC_RELEASE);
	mapper_add(p->log, p->owner, -1);
	p->draining = true;
	p->drain_deadline = d->now + d->ctx.publication_linger_ns;
}

static int
drain_pubs(fl_driver *d)
{
	int i, n = 0;

	for (i = d->npubs - 1; i >= 0; i--) {
		struct drv_pub *p = d->pubs[i];
		struct fli_log *l = &p->log->log;

		if (!p->draining || PLANTED(FLI_PLANT_PUB_KEPT))
			continue;
		if (d->now >= p->drain_deadline ||
		    fli_log_min_position(l) >= __atomic_load_n(&l->meta->tail, __ATOMIC_ACQUIRE)) {
			pub_destroy(d, i);
			n++;
		}
	}
	return n;
}

static void
sub_destroy(fl_driver *d, int idx)
{
	struct drv_sub *s = d->subs[idx];
	int i;

	for (i = d->nimages - 1; i >= 0; i--)
		if (d->images[i].sub == s)
			image_unlink(d, i);
	free(s);
	FLI_ASSERT(idx >= 0 && idx < d->nsubs);
	d->subs[idx] = d->subs[--d->nsubs];
}

static int
channel_ok(const struct fli_cmd *c)
{
	if (memchr(c->channel, '\0', sizeof(c->channel)) == NULL)
		return FL_EPROTO;
	return fl_name_validate(c->channel);
}

static void
cmd_add_pub(fl_driver *d, const struct fli_cmd *c)
{
	struct drv_pub *p = NULL;
	struct drv_log *l = NULL;
	struct fli_event ev;
	int rc, i;

	if (channel_ok(c) != 0) {
		reject(d, c->client_id, c->corr_id, FL_ENAME, "invalid channel name");
		return;
	}
	if (pub_find(d, c->corr_id) || sub_find(d, c->corr_id) || log_find(d, c->corr_id) ||
	    c->corr_id <= 0) {
		reject(d, c->client_id, c->corr_id, FL_EINVAL, "duplicate registration id");
		return;
	}
	if (d->npubs >= MAX_PUBS || d->nlogs >= MAX_LOGS) {
		send_error(d, c->client_id, c->corr_id, FL_ELIMIT, "publication table full");
		return;
	}
	if (FL_FAULT("transport/driver/registration")) {
		send_error(d, c->client_id, c->corr_id, FL_EFAULT_INJECTED, "registration failed");
		return;
	}
	if (FL_FAULT("transport/log/alloc"))
		goto nomem;
	p = calloc(1, sizeof(*p));
	l = calloc(1, sizeof(*l));
	if (p == NULL || l == NULL)
		goto nomem;
	l->id = c->corr_id;
	snprintf(l->name, sizeof(l->name), FL_LOG_NAME_FMT, (long long)c->corr_id);
	rc = fli_shm_dir_reopen(d->dir, &d->rundir);
	if (rc == 0)
		rc = fli_shm_create_at(&d->rundir, l->name, fli_log_file_length(d->ctx.term_length),
		                       &l->shm);
	fli_shm_dir_close(&d->rundir);
	if (rc != 0) {
		vlog(d, "creating %s/%s failed: %s", d->dir, l->name, fl_strerror(rc));
		send_error(d, c->client_id, c->corr_id, rc,
		           rc == FL_ENOSPC ? "no room in /dev/shm for the log buffer"
		                           : "creating the log buffer failed");
		goto out;
	}
	fli_log_format(l->shm.addr, d->ctx.term_length, d->ctx.mtu, (int32_t)c->corr_id,
	               c->stream_id, c->exclusive != 0, c->corr_id, c->client_id);
	if (fli_log_attach(&l->log, l->shm.addr, l->shm.len) != 0) {
		fli_shm_unmap(&l->shm);
		unlink_or_retry(d, l->name);
		send_error(d, c->client_id, c->corr_id, FL_EPROTO, "log buffer format");
		goto out;
	}
	l->pub_alive = true;
	mapper_add(l, c->client_id, 1);
	p->reg_id = c->corr_id;
	p->owner = c->client_id;
	snprintf(p->channel, sizeof(p->channel), "%s", c->channel);
	p->stream_id = c->stream_id;
	p->exclusive = c->exclusive != 0;
	p->log = l;
	d->logs[d->nlogs++] = l;
	d->pubs[d->npubs++] = p;
	regs_add(d, c->client_id, 1);
	log_event(&ev, p->owner, p->reg_id, p);
	ev.exclusive = c->exclusive;
	send_event(d, FL_EV_PUB_READY, &ev);
	vlog(d, "publication %s added (%lld)", p->channel, (long long)p->reg_id);
	for (i = 0; i < d->nsubs; i++)
		if (matches(p, d->subs[i]))
			image_link(d, p, d->subs[i]);
	return;
nomem:
	send_error(d, c->client_id, c->corr_id, FL_ENOMEM, "log buffer allocation failed");
out:
	free(p);
	free(l);
}

static void
cmd_add_sub(fl_driver *d, const struct fli_cmd *c)
{
	struct drv_sub *s;
	struct fli_event ev;
	int i;

	if (channel_ok(c) != 0) {
		reject(d, c->client_id, c->corr_id, FL_ENAME, "invalid channel name");
		return;
	}
	if (pub_find(d, c->corr_id) || sub_find(d, c->corr_id) || c->corr_id <= 0) {
		reject(d, c->client_id, c->corr_id, FL_EINVAL, "duplicate registration id");
		return;
	}
	if (d->nsubs >= MAX_SUBS) {
		send_error(d, c->client_id, c->corr_id, FL_ELIMIT, "subscription table full");
		return;
	}
	if (FL_FAULT("transport/driver/registration")) {
		send_error(d, c->client_id, c->corr_id, FL_EFAULT_INJECTED, "registration failed");
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		send_error(d, c->client_id, c->corr_id, FL_ENOMEM, "out of memory");
		return;
	}
	s->reg_id = c->corr_id;
	s->owner = c->client_id;
	snprintf(s->channel, sizeof(s->channel), "%s", c->channel);
	s->stream_id = c->stream_id;
	d->subs[d->nsubs++] = s;
	regs_add(d, c->client_id, 1);
	memset(&ev, 0, sizeof(ev));
	ev.client_id = c->client_id;
	ev.corr_id = c->corr_id;
	ev.stream_id = c->stream_id;
	send_event(d, FL_EV_SUB_READY, &ev);
	for (i = 0; i < d->npubs; i++)
		if (matches(d->pubs[i], s))
			image_link(d, d->pubs[i], s);
}

static void
cmd_remove_pub(fl_driver *d, const struct fli_cmd *c)
{
	struct drv_pub *p = pub_find(d, c->corr_id);

	if (p == NULL || p->owner != c->client_id || p->draining)
		return; /* already gone (failed add, or cancel of a dropped add) */
	regs_add(d, c->client_id, -1);
	pub_close(d, p);
}

static void
cmd_remove_sub(fl_driver *d, const struct fli_cmd *c)
{
	int idx = REG_INDEX(d->subs, d->nsubs, c->corr_id);

	if (idx < 0 || d->subs[idx]->owner != c->client_id)
		return;
	regs_add(d, c->client_id, -1);
	if (!PLANTED(FLI_PLANT_SUB_KEPT))
		sub_destroy(d, idx);
}

/* Takes back everything the client of record `slot` (d->known[slot])
 * holds.  crashed: it did not close (timed out, or its process is gone).
 * vanished: its record stopped showing it without the driver's word (a
 * wild write): the record may be another client's by now, so only the
 * driver's own state is touched, and it is counted as a corrupt read. */
static void
reclaim_client(fl_driver *d, int slot, bool crashed, bool vanished)
{
	struct fli_cnc_client *r = &d->ctr->clients[slot];
	uint64_t id = d->known[slot];
	int64_t n = 0;
	struct fli_event ev;
	int i;

	d->known[slot] = 0;
	for (i = 0; i < d->nexts; i++)
		if (d->exts[i].e->on_client_gone != NULL)
			d->exts[i].e->on_client_gone(d, d->exts[i].state, id, crashed);
	for (i = d->npubs - 1; i >= 0; i--) {
		struct drv_pub *p = d->pubs[i];

		if (p->owner != id || (p->draining && !crashed))
			continue;
		if (!p->draining)
			n++;
		if (crashed)
			pub_destroy(d, i);
		else
			pub_close(d, p);
	}
	for (i = d->nsubs - 1; i >= 0; i--)
		if (d->subs[i]->owner == id && !PLANTED(FLI_PLANT_SUB_KEPT)) {
			sub_destroy(d, i);
			n++;
		}
	for (i = 0; i < d->nlogs; i++)
		mapper_drop_client(d->logs[i], id);
	if (crashed) {
		memset(&ev, 0, sizeof(ev));
		ev.client_id = id;
		send_event(d, FL_EV_CLIENT_TIMEOUT, &ev);
	}
	if (vanished) {
		COUNT(d, corrupt_reads, 1);
		vlog(d, "client %lld vanished from its record: reclaimed", (long long)id);
		return;
	}
	__atomic_fetch_add(&r->registrations_reclaimed, n, __ATOMIC_RELAXED);
	__atomic_store_n(&r->registrations, 0, __ATOMIC_RELAXED);
	if (crashed)
		__atomic_fetch_add(&r->refs_leaked,
		                   __atomic_load_n(&r->image_refs_held, __ATOMIC_RELAXED),
		                   __ATOMIC_RELAXED);
	__atomic_store_n(&r->image_refs_held, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->logs_mapped, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->pending_registrations, 0, __ATOMIC_RELAXED);
	fl_atomic_store("driver.client.ended", &r->state,
	                crashed ? FL_CLIENT_TIMED_OUT : FL_CLIENT_CLOSED, __ATOMIC_RELEASE);
	vlog(d, "client %s %lld", crashed ? "timed out" : "closed", (long long)id);
}

/* Ids are drawn from the shared next_id; the highest one a valid command
 * or an active client used is what next_id must stay above.  Ids from
 * 2^40 on are taken for wild (no namespace draws that many). */
#define ID_WILD   (1ll << 40)
#define ID_MARGIN 1024

static void
id_seen(fl_driver *d, int64_t id)
{
	/* An id is drawn from next_id, so a real one is below it: a forged
	 * command cannot push max_id (and the repair's floor) anywhere. */
	if (id > d->max_id && id < ID_WILD - ID_MARGIN &&
	    id < __atomic_load_n(&d->hdr->next_id, __ATOMIC_ACQUIRE))
		d->max_id = id;
}

static void
on_command(void *arg, int32_t type, const uint8_t *payload, size_t len)
{
	fl_driver *d = arg;
	struct fli_cmd c;
	struct drv_log *l;
	int i, slot;

	COUNT(d, commands, 1);
	if (type >= FL_EXT_TYPE_MIN && type <= FL_EXT_TYPE_MAX) {
		uint64_t cid;

		if (len < sizeof(uint64_t) || len > FL_EXT_MAX_PAYLOAD + sizeof(uint64_t)) {
			reject(d, 0, 0, FL_EPROTO, "extension command size");
			return;
		}
		memcpy(&cid, payload, sizeof(cid));
		for (i = 0; i < d->nexts; i++)
			if (d->exts[i].e->on_command != NULL) {
				int rc = d->exts[i].e->on_command(d, d->exts[i].state, cid, type,
				                                  payload + sizeof(cid),
				                                  len - sizeof(cid));
				if (rc == FL_EPROTO)
					COUNT(d, rejected_commands, 1);
			}
		return;
	}
	if (len != sizeof(c)) {
		reject(d, 0, 0, FL_EPROTO, "command size");
		return;
	}
	memcpy(&c, payload, sizeof(c));
	if (c.version != FL_FRAME_VERSION) {
		reject(d, c.client_id, c.corr_id, FL_EPROTO, "command version");
		return;
	}
	slot = client_slot(d, c.client_id);
	if (slot < 0) {
		reject(d, c.client_id, c.corr_id, FL_ENOENT, "unknown client");
		return;
	}
	id_seen(d, (int64_t)c.client_id);
	id_seen(d, c.corr_id);
	switch (type) {
	case FL_CMD_ADD_PUB: cmd_add_pub(d, &c); break;
	case FL_CMD_REMOVE_PUB: cmd_remove_pub(d, &c); break;
	case FL_CMD_ADD_SUB: cmd_add_sub(d, &c); break;
	case FL_CMD_REMOVE_SUB: cmd_remove_sub(d, &c); break;
	case FL_CMD_LOG_UNMAPPED:
		l = log_find(d, c.log_id);
		if (l != NULL)
			mapper_add(l, c.client_id, -1);
		break;
	case FL_CMD_CLIENT_CLOSE: reclaim_client(d, slot, false, false); break;
	default: reject(d, c.client_id, c.corr_id, FL_EPROTO, "unknown command type"); break;
	}
}

/*
 * A client is reclaimed when its heartbeat is older than the liveness
 * timeout, or sooner when its process has exited: a client whose
 * heartbeat is a little stale is looked up by pid, at most every
 * PID_CHECK_NS.  Its heartbeat is the latest the driver heard that was
 * not in the future (d->heard): a wild write moving it back does not end
 * a live client, nor one moving it ahead keep a dead one for ever.  The second test is what keeps reclamation prompt on a
 * loaded machine, where the liveness timeout must be long enough that a
 * starved live client is never taken for dead.
 */
#define PID_CHECK_NS (20 * FL_NS_PER_MS)

static bool
client_process_gone(fl_driver *d, struct fli_cnc_client *r, uint64_t hb, bool look)
{
	if (!look || d->ctx.no_pid_check || d->now <= hb || d->now - hb < PID_CHECK_NS)
		return false;
	return fl_process_gone(__atomic_load_n(&r->pid, __ATOMIC_RELAXED),
	                       __atomic_load_n(&r->pid_ns, __ATOMIC_RELAXED));
}

/*
 * The driver's own stall is not its clients' silence.  A driver thread
 * not run for a second (the host took both vCPUs, or the machine is busy)
 * finds every heartbeat old when it comes back, though its clients were
 * stopped with it and have not had a moment to beat again: ending them
 * then is the machine's doing, not theirs.  So a duty cycle that comes
 * later than the caller's own cycle and than half the liveness credits
 * the time beyond that half to every known client's last heartbeat.  A
 * client is still ended after half the liveness of silence the driver was
 * there to see; one whose process is gone, sooner (by pid).  A caller
 * that did not say its cycle (cycle_ns 0) gets no credit: its gaps may be
 * its own pace.
 */
static void
credit_stall(fl_driver *d)
{
	uint64_t allowed = d->ctx.client_liveness_ns / 2, excess, prev = d->last_cycle;

	d->last_cycle = d->now;
	d->stall_excess = 0;
	if (d->ctx.cycle_ns == 0 || prev == 0 || d->now <= prev)
		return;
	if (allowed < d->ctx.cycle_ns)
		allowed = d->ctx.cycle_ns;
	if (d->now - prev <= allowed)
		return;
	excess = d->now - prev - allowed;
	d->stall_excess = excess; /* for a client first seen in this cycle (know) */
	for (int i = 0; i < FL_STATS_MAX_CLIENTS; i++)
		if (d->known[i] != 0)
			d->heard[i] = d->now - d->heard[i] > excess ? d->heard[i] + excess : d->now;
	COUNT(d, driver_stalls, 1);
	vlog(d,
	     "the driver was not run for %llu ms: that much less of its clients' silence "
	     "counted",
	     (unsigned long long)(excess / FL_NS_PER_MS));
}

static int
check_clients(fl_driver *d)
{
	int i, n = 0;
	bool look = d->now >= d->pid_check_at;

	if (look)
		d->pid_check_at = d->now + PID_CHECK_NS;
	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++) {
		struct fli_cnc_client *r = &d->ctr->clients[i];
		uint32_t st = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
		uint64_t id = __atomic_load_n(&r->client_id, __ATOMIC_RELAXED), hb;

		/* Only the driver ends an active client (CLIENT_CLOSE or a
		 * timeout): one gone from its record otherwise was written
		 * away, and what it held would never come back. */
		if (d->known[i] != 0 && (st != FL_CLIENT_ACTIVE || id != d->known[i])) {
			reclaim_client(d, i, true, true);
			n++;
		}
		if (st == FL_CLIENT_ACTIVE && id == 0) {
			/* No client has id 0 and a client writes its id before
			 * its state: a wild write made a free record active.
			 * Ended, it is free for a client again. */
			if (fl_atomic_cas("driver.client.ended", &r->state, &st,
			                  FL_CLIENT_TIMED_OUT, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				COUNT(d, corrupt_reads, 1);
			continue;
		}
		if (st != FL_CLIENT_ACTIVE)
			continue;
		know(d, i, id);
		id_seen(d, (int64_t)id);
		hb = __atomic_load_n(&r->heartbeat_ns, __ATOMIC_ACQUIRE);
		if (hb > d->heard[i] && hb <= fl_clock_now_ns())
			d->heard[i] = hb;
		hb = d->heard[i];
		if ((d->now > hb && d->now - hb > d->ctx.client_liveness_ns) ||
		    client_process_gone(d, r, hb, look) ||
		    FL_FAULT("transport/driver/client_timeout")) {
			COUNT(d, client_timeouts, 1);
			reclaim_client(d, i, true, false);
			n++;
		}
	}
	return n;
}

static void
update_gauges(fl_driver *d)
{
	struct fli_cnc_counters *g = d->ctr;
	int64_t mapped = 0, clients = 0;
	int i;

	for (i = 0; i < d->nlogs; i++)
		mapped += mapper_total(d->logs[i]);
	for (i = 0; i < FL_STATS_MAX_CLIENTS; i++)
		clients +=
		        __atomic_load_n(&g->clients[i].state, __ATOMIC_RELAXED) == FL_CLIENT_ACTIVE;
	__atomic_store_n(&g->active_clients, clients, __ATOMIC_RELAXED);
	__atomic_store_n(&g->publications, d->npubs, __ATOMIC_RELAXED);
	__atomic_store_n(&g->subscriptions, d->nsubs, __ATOMIC_RELAXED);
	if (d->nimages != 0 || !PLANTED(FLI_PLANT_IMAGES_STALE))
		__atomic_store_n(&g->images, d->nimages, __ATOMIC_RELAXED);
	__atomic_store_n(&g->log_files, d->nlogs, __ATOMIC_RELAXED);
	__atomic_store_n(&g->log_files_unlink_pending, d->nunlink, __ATOMIC_RELAXED);
	__atomic_store_n(&g->rejected_commands, d->cnt.rejected_commands, __ATOMIC_RELAXED);
	__atomic_store_n(&g->client_timeouts, d->cnt.client_timeouts, __ATOMIC_RELAXED);
	__atomic_store_n(&g->commands, d->cnt.commands, __ATOMIC_RELAXED);
	__atomic_store_n(&g->unblocked_commands, d->cnt.unblocked_commands, __ATOMIC_RELAXED);
	__atomic_store_n(&g->corrupt_reads, d->cnt.corrupt_reads, __ATOMIC_RELAXED);
	__atomic_store_n(&g->driver_stalls, d->cnt.driver_stalls, __ATOMIC_RELAXED);
	__atomic_store_n(&g->ext_count, d->ext_count, __ATOMIC_RELAXED);
	__atomic_store_n(&g->log_files_mapped, mapped, __ATOMIC_RELEASE);
}

/* ---- repairs ------------------------------------------------------------ */

/* Writes the header's layout fields from the driver's own copy (not the
 * magic, the heartbeat, the closed flag or next_id).  Returns how many
 * differed. */
static int
header_put_back(fl_driver *d)
{
	struct fli_cnc_header *h = d->hdr;
	const struct fli_cnc_header *o = &d->own_hdr;
	int n = 0;

#define PUT_BACK(f)                                                                                \
	do {                                                                                       \
		if (__atomic_load_n(&h->f, __ATOMIC_RELAXED) != o->f) {                            \
			__atomic_store_n(&h->f, o->f, __ATOMIC_RELAXED);                           \
			n++;                                                                       \
		}                                                                                  \
	} while (0)
	PUT_BACK(version);
	PUT_BACK(driver_pid);
	PUT_BACK(counters_offset);
	PUT_BACK(cmd_offset);
	PUT_BACK(cmd_length);
	PUT_BACK(bc_offset);
	PUT_BACK(bc_length);
	PUT_BACK(total_length);
	PUT_BACK(client_liveness_ns);
	PUT_BACK(term_length);
	PUT_BACK(mtu);
	PUT_BACK(driver_pid_ns);
#undef PUT_BACK
	return n;
}

/* cnc.dat's header, every duty cycle: a wild write there would refuse
 * every new client (FL_EPROTO) or have every client give the driver up
 * (closed flag, pid), and a next_id moved back would hand out ids twice. */
static void
repair_header(fl_driver *d)
{
	int n = header_put_back(d);
	int64_t id;

	/* The magic last, with release: a client that sees it sees the rest. */
	if (__atomic_load_n(&d->hdr->magic, __ATOMIC_ACQUIRE) != FL_CNC_MAGIC) {
		__atomic_store_n(&d->hdr->magic, FL_CNC_MAGIC, __ATOMIC_RELEASE);
		n++;
	}
	if (__atomic_load_n(&d->hdr->driver_closed, __ATOMIC_ACQUIRE) != 0) {
		__atomic_store_n(&d->hdr->driver_closed, 0, __ATOMIC_RELEASE);
		n++;
	}
	/* Moved back, or so far on that ids would soon go negative: put it
	 * past the ids a client may have drawn and not used yet, too. */
	id = __atomic_load_n(&d->hdr->next_id, __ATOMIC_ACQUIRE);
	if (id <= d->max_id || id >= ID_WILD) {
		/* By CAS: a client's fetch-add since the load is not undone
		 * (two clients would get one id). */
		if (__atomic_compare_exchange_n(&d->hdr->next_id, &id, d->max_id + ID_MARGIN, false,
		                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			n++;
	}
	if (n != 0) {
		COUNT(d, corrupt_reads, n);
		vlog(d, "cnc.dat header: %d wild fields put back", n);
	}
}

/* The log buffers' fields the driver owns, every REPAIR_LOGS_NS: the
 * layout (a wild one makes every new mapping fail), the closed flag, the
 * subscriber slot states and count (a wild state makes a publisher wait
 * for, or run over, a subscriber that is not there), and each linked
 * slot's client id and registration (a wild registration stops its
 * subscriber writing its position back: the publisher then waits for it
 * for ever). */
#define REPAIR_LOGS_NS (10 * FL_NS_PER_MS)

static int
repair_slots(fl_driver *d, struct drv_pub *p)
{
	struct fli_log_meta *m = p->log->log.meta;
	int n = 0, i;

	for (i = 0; i < d->nimages; i++) {
		const struct drv_image *im = &d->images[i];
		struct fli_log_slot *sl = &m->slots[im->slot];

		if (im->pub != p)
			continue;
		if (__atomic_load_n(&sl->client_id, __ATOMIC_RELAXED) != im->sub->owner) {
			__atomic_store_n(&sl->client_id, im->sub->owner, __ATOMIC_RELAXED);
			n++;
		}
		if (__atomic_load_n(&sl->sub_reg_id, __ATOMIC_RELAXED) != im->sub->reg_id) {
			__atomic_store_n(&sl->sub_reg_id, im->sub->reg_id, __ATOMIC_RELEASE);
			n++;
		}
	}
	return n;
}

static int
repair_log(fl_driver *d, struct drv_pub *p)
{
	struct fli_log_meta *m = p->log->log.meta;
	const struct fli_log *l = &p->log->log;
	uint32_t closed = p->draining;
	int n = 0, i;

	if (__atomic_load_n(&m->version, __ATOMIC_RELAXED) != FL_LOG_VERSION ||
	    __atomic_load_n(&m->capacity, __ATOMIC_RELAXED) != (uint32_t)l->cap ||
	    __atomic_load_n(&m->mtu, __ATOMIC_RELAXED) != l->max_payload + FL_FRAME_HEADER ||
	    __atomic_load_n(&m->magic, __ATOMIC_ACQUIRE) != FL_LOG_MAGIC) {
		__atomic_store_n(&m->version, FL_LOG_VERSION, __ATOMIC_RELAXED);
		__atomic_store_n(&m->capacity, (uint32_t)l->cap, __ATOMIC_RELAXED);
		__atomic_store_n(&m->mtu, l->max_payload + FL_FRAME_HEADER, __ATOMIC_RELAXED);
		__atomic_store_n(&m->magic, FL_LOG_MAGIC, __ATOMIC_RELEASE);
		n++;
	}
	if (__atomic_load_n(&m->closed, __ATOMIC_RELAXED) != closed) {
		__atomic_store_n(&m->closed, closed, __ATOMIC_RELEASE);
		n++;
	}
	for (i = 0; i < FL_LOG_MAX_SUBS; i++) {
		uint32_t want = (p->slots >> i) & 1u ? FL_SLOT_ACTIVE : FL_SLOT_FREE;

		if (__atomic_load_n(&m->slots[i].state, __ATOMIC_RELAXED) != want) {
			__atomic_store_n(&m->slots[i].state, want, __ATOMIC_RELEASE);
			n++;
		}
	}
	if (__atomic_load_n(&m->subscriber_count, __ATOMIC_RELAXED) !=
	    (uint32_t)__builtin_popcountll(p->slots)) {
		__atomic_store_n(&m->subscriber_count, (uint32_t)__builtin_popcountll(p->slots),
		                 __ATOMIC_RELEASE);
		n++;
	}
	return n + repair_slots(d, p);
}

static void
repair_logs(fl_driver *d)
{
	int i, n = 0;

	if (d->now < d->repair_logs_at)
		return;
	d->repair_logs_at = d->now + REPAIR_LOGS_NS;
	for (i = 0; i < d->npubs; i++)
		n += repair_log(d, d->pubs[i]);
	if (n != 0) {
		COUNT(d, corrupt_reads, n);
		vlog(d, "log buffers: %d wild fields put back", n);
	}
}

int
fl_driver_do_work(fl_driver *d)
{
	int work = 0, rc, i;

	d->now = fl_clock_now_ns();
	__atomic_store_n(&d->hdr->driver_heartbeat_ns, d->now, __ATOMIC_RELEASE);
	credit_stall(d);
	repair_header(d);
	rc = fli_mpsc_read(&d->ring, on_command, d, 64);
	if (rc == FL_EPROTO) {
		COUNT(d, rejected_commands, 1);
		vlog(d, "corrupt command ring record skipped");
		work++;
	} else {
		work += rc;
	}
	if (d->ring.repairs != 0) {
		COUNT(d, corrupt_reads, (int64_t)d->ring.repairs);
		vlog(d, "command ring: %llu wild indices put back",
		     (unsigned long long)d->ring.repairs);
		d->ring.repairs = 0;
	}
	if (fli_mpsc_unblock(&d->ring, d->now, d->ctx.unblock_timeout_ns)) {
		COUNT(d, unblocked_commands, 1);
		work++;
	}
	work += check_clients(d);
	work += drain_pubs(d);
	for (i = 0; i < d->nexts; i++)
		if (d->exts[i].e->do_work != NULL)
			work += d->exts[i].e->do_work(d, d->exts[i].state, d->now);
	work += reclaim_logs(d);
	work += retry_unlinks(d);
	repair_logs(d);
	update_gauges(d);
	return work;
}

static void
conductor(void *arg)
{
	fl_driver *d = arg;
	struct fl_idle idle = { 0 };
	uint64_t period = d->ctx.cycle_ns;

	idle.max_park_ns = period < FL_NS_PER_MS ? period : FL_NS_PER_MS;
	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		int w = fl_driver_do_work(d);

		fl_idle(&idle, w, d->now + period);
	}
}

/* ---- start / close ------------------------------------------------------ */

/* Is the driver that left `name` (its cnc.dat) in the run directory dir
 * still alive?  1 live, 0 stale or none. */
static int
live_driver_of(const struct fli_shm_dir *dir, const char *name, uint64_t liveness_ns, int32_t *pid)
{
	struct fli_shm m = { 0 };
	const struct fli_cnc_header *h;
	int live = 0;

	if (fli_shm_map_at(dir, name, false, sizeof(*h), &m) != 0)
		return 0;
	h = m.addr;
	if (h->magic == FL_CNC_MAGIC && h->version == FL_CNC_VERSION &&
	    __atomic_load_n(&h->driver_closed, __ATOMIC_ACQUIRE) == 0) {
		uint64_t hb = __atomic_load_n(&h->driver_heartbeat_ns, __ATOMIC_ACQUIRE);
		uint64_t now = fl_clock_now_ns();

		*pid = h->driver_pid;
		if ((kill(h->driver_pid, 0) == 0 || errno == EPERM) &&
		    (now < hb || now - hb < liveness_ns))
			live = 1;
	}
	fli_shm_unmap(&m);
	return live;
}

/* cnc.dat.new too: a driver still starting (its header is written, its
 * magic and heartbeat stored, before its extensions start) is live. */
static int
live_driver(const struct fli_shm_dir *dir, uint64_t liveness_ns, int32_t *pid)
{
	return live_driver_of(dir, FL_CNC_FILE, liveness_ns, pid) ||
	       live_driver_of(dir, FL_CNC_NEW_FILE, liveness_ns, pid);
}

/* Removes the run directory: the transport's files in it, then the
 * directory, unless something else was put there (said on stderr). */
static void
remove_dir(fl_driver *d)
{
	char other[256];
	int rc = fli_shm_dir_reopen(d->dir, &d->rundir);

	if (rc == FL_EPERM)
		fprintf(stderr, "faultline: %s is no longer this driver's run directory; left it\n",
		        d->dir);
	if (rc == 0 && fli_shm_dir_clean(&d->rundir, d->dir, other, sizeof(other)) == FL_EEXIST)
		fprintf(stderr,
		        "faultline: left %s in place: it holds '%s', which faultline did not "
		        "create\n",
		        d->dir, other);
	fli_shm_dir_close(&d->rundir);
}

/*
 * The run directory exists.  It is taken over only when it is plainly a
 * dead driver's: a real directory (not a link), owned by this user, mode
 * 0700, its cnc.dat not heart-beating, and nothing in it but the files
 * the transport creates, which are unlinked (nothing is ever unlinked
 * through a link, nor anything of another name).  Anything else is
 * refused with a message saying why and left as it is.
 */
static int
take_stale_dir(fl_driver *d)
{
	char why[128], other[256];
	int32_t pid = 0;
	int rc;

	if (d->ctx.fresh_dir) {
		fprintf(stderr, "faultline: %s already exists; not adopting it (fresh_dir)\n",
		        d->dir);
		return FL_EEXIST;
	}
	rc = fli_shm_dir_open(d->dir, (uid_t)-1, &d->rundir, why, sizeof(why));
	if (rc == FL_EPERM)
		fprintf(stderr,
		        "faultline: %s %s: not a run directory of this user; refusing to use or "
		        "remove it\n",
		        d->dir, why);
	if (rc != 0)
		return rc == FL_ENOENT ? FL_EIO : rc;
	if (live_driver(&d->rundir, d->ctx.client_liveness_ns, &pid)) {
		fprintf(stderr,
		        "faultline: namespace '%s' is owned by a live driver (pid %d); "
		        "not starting a second one\n",
		        d->ns, (int)pid);
		return FL_EEXIST;
	}
	vlog(d, "removing the files of the stale run directory %s", d->dir);
	rc = fli_shm_dir_clean(&d->rundir, NULL, other, sizeof(other));
	if (rc == FL_EEXIST)
		fprintf(stderr,
		        "faultline: stale run directory %s holds '%s', which faultline did not "
		        "create; removed faultline's files and left the directory with it\n",
		        d->dir, other);
	/* Emptied, it is reused as it is: no window in which the name is free. */
	return rc;
}

/* The driver thread's duty cycle: a tenth of the liveness, at most 100 ms. */
static uint64_t
conductor_period(const struct fl_driver_ctx *c)
{
	uint64_t period = c->client_liveness_ns / 10;

	return period > 100 * FL_NS_PER_MS ? 100 * FL_NS_PER_MS : period;
}

static int
ctx_defaults(struct fl_driver_ctx *c)
{
	if (c->client_liveness_ns == 0)
		c->client_liveness_ns = FL_DRIVER_CLIENT_LIVENESS_NS;
	if (c->publication_linger_ns == 0)
		c->publication_linger_ns = FL_DRIVER_PUB_LINGER_NS;
	if (c->unblock_timeout_ns == 0)
		c->unblock_timeout_ns = FL_DRIVER_UNBLOCK_NS;
	if (c->term_length == 0)
		c->term_length = FL_DRIVER_TERM_LENGTH;
	if (c->mtu == 0)
		c->mtu = FL_DRIVER_MTU;
	if (c->cmd_ring_length == 0)
		c->cmd_ring_length = 1u << 20;
	if (c->broadcast_length == 0)
		c->broadcast_length = 1u << 20;
	if (!c->no_thread)
		c->cycle_ns = conductor_period(c);
	if (c->term_length < FL_LOG_MIN_CAP || c->term_length > FL_LOG_MAX_CAP ||
	    (c->term_length & (c->term_length - 1)) != 0 || c->mtu < 64 || c->mtu > 65536 ||
	    c->mtu % FL_FRAME_ALIGN != 0 || c->mtu > c->term_length / 8 ||
	    c->cmd_ring_length < 65536 || (c->cmd_ring_length & (c->cmd_ring_length - 1)) != 0 ||
	    c->broadcast_length < 65536 || (c->broadcast_length & (c->broadcast_length - 1)) != 0 ||
	    c->extension_count > MAX_EXTS - 1)
		return FL_EINVAL;
	return 0;
}

/* Fills the driver's own copy of cnc.dat's header and writes it out (all
 * but the magic, which the caller stores last). */
static void
cnc_header_init(fl_driver *d, size_t len)
{
	struct fli_cnc_header *o = &d->own_hdr;

	memset(o, 0, sizeof(*o));
	o->magic = FL_CNC_MAGIC;
	o->version = FL_CNC_VERSION;
	o->driver_pid = fl_getpid();
	o->driver_pid_ns = fl_pid_ns();
	o->counters_offset = FL_CNC_HEADER_SIZE;
	o->cmd_offset = FL_CNC_HEADER_SIZE + FL_CNC_COUNTERS_SIZE;
	o->cmd_length = d->ctx.cmd_ring_length;
	o->bc_offset = o->cmd_offset + d->ctx.cmd_ring_length + FL_RING_TRAILER;
	o->bc_length = d->ctx.broadcast_length;
	o->total_length = len;
	o->client_liveness_ns = d->ctx.client_liveness_ns;
	o->term_length = d->ctx.term_length;
	o->mtu = d->ctx.mtu;
	(void)header_put_back(d);
	d->hdr->next_id = 1;
}

static int
add_ext(fl_driver *d, const struct fl_driver_ext *e)
{
	int rc = 0;

	d->exts[d->nexts].e = e;
	if (e->start != NULL)
		rc = e->start(d, &d->exts[d->nexts].state);
	if (rc != 0)
		return rc;
	d->exts[d->nexts].started = true;
	d->nexts++;
	return 0;
}

int
fl_driver_start(const struct fl_driver_ctx *ctx, fl_driver **out)
{
	fl_driver *d;
	size_t len;
	uint8_t *base;
	int rc, i;

	if (ctx == NULL || out == NULL)
		return FL_EINVAL;
	if (fl_name_validate(ctx->ns) != 0)
		return FL_ENAME;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return FL_ENOMEM;
	d->ctx = *ctx;
	snprintf(d->ns, sizeof(d->ns), "%s", ctx->ns);
	d->ctx.ns = d->ns;
	rc = ctx_defaults(&d->ctx);
	if (rc != 0)
		goto fail;
	rc = fl_run_dir_path(d->ns, d->dir, sizeof(d->dir));
	if (rc != 0)
		goto fail;
	rc = fli_shm_dir_create(d->dir, &d->rundir);
	if (rc == FL_EEXIST)
		rc = take_stale_dir(d);
	if (rc != 0)
		goto fail;
	len = FL_CNC_HEADER_SIZE + FL_CNC_COUNTERS_SIZE + d->ctx.cmd_ring_length + FL_RING_TRAILER +
	      d->ctx.broadcast_length + FL_RING_TRAILER;
	/* Written under another name and renamed once the driver is up: a
	 * client never maps a cnc.dat whose header is not written yet. */
	rc = fli_shm_create_at(&d->rundir, FL_CNC_NEW_FILE, len, &d->cnc);
	if (rc != 0) {
		vlog(d, "creating %s/%s (%zu bytes) failed: %s", d->dir, FL_CNC_NEW_FILE, len,
		     fl_strerror(rc));
		goto fail_dir;
	}
	/* Reopened for each operation from now on (shm.h), never held. */
	fli_shm_dir_close(&d->rundir);
	base = d->cnc.addr;
	d->hdr = (struct fli_cnc_header *)base;
	cnc_header_init(d, len);
	d->ctr = fli_cnc_counters(base);
	fli_mpsc_init(&d->ring, base + d->own_hdr.cmd_offset, d->own_hdr.cmd_length, 0);
	fli_bcast_init(&d->bc, base + d->own_hdr.bc_offset, d->own_hdr.bc_length, 0);
	d->now = fl_clock_now_ns();
	__atomic_store_n(&d->hdr->driver_heartbeat_ns, d->now, __ATOMIC_RELEASE);
	__atomic_store_n(&d->hdr->magic, FL_CNC_MAGIC, __ATOMIC_RELEASE);
	for (i = 0; i < (int)d->ctx.extension_count; i++) {
		rc = add_ext(d, d->ctx.extensions[i]);
		if (rc != 0) {
			vlog(d, "extension %s did not start: %s", d->ctx.extensions[i]->name,
			     fl_strerror(rc));
			goto fail_cnc;
		}
	}
	if (PLANTED(FLI_PLANT_START_FAILS)) {
		rc = FL_EIO;
		goto fail_cnc;
	}
	rc = fli_shm_dir_reopen(d->dir, &d->rundir);
	if (rc == 0)
		rc = fli_shm_rename_at(&d->rundir, FL_CNC_NEW_FILE, FL_CNC_FILE);
	fli_shm_dir_close(&d->rundir);
	if (rc != 0) {
		vlog(d, "publishing %s/%s failed: %s", d->dir, FL_CNC_FILE, fl_strerror(rc));
		goto fail_cnc;
	}
	if (!d->ctx.no_thread) {
		rc = fl_thread_start(&d->thread, "fl-driver", conductor, d);
		if (rc != 0)
			goto fail_cnc;
	}
	vlog(d, "started in %s", d->dir);
	*out = d;
	return 0;
fail_cnc:
	for (i = 0; i < d->nexts; i++)
		if (d->exts[i].e->stop != NULL)
			d->exts[i].e->stop(d, d->exts[i].state);
	__atomic_store_n(&d->hdr->driver_closed, 1, __ATOMIC_RELEASE);
	fli_shm_unmap(&d->cnc);
fail_dir:
	remove_dir(d);
fail:
	fli_shm_dir_close(&d->rundir);
	free(d);
	return rc;
}

void
fl_driver_close(fl_driver *d)
{
	int i;

	if (d == NULL)
		return;
	if (d->thread != NULL) {
		__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
		fl_thread_join(d->thread);
	}
	for (i = d->nexts - 1; i >= 0; i--)
		if (d->exts[i].e->stop != NULL)
			d->exts[i].e->stop(d, d->exts[i].state);
	__atomic_store_n(&d->hdr->driver_closed, 1, __ATOMIC_RELEASE);
	while (d->nimages > 0)
		image_unlink(d, d->nimages - 1);
	for (i = 0; i < d->npubs; i++)
		free(d->pubs[i]);
	for (i = 0; i < d->nsubs; i++)
		free(d->subs[i]);
	for (i = 0; i < d->nlogs; i++) {
		fli_shm_unmap(&d->logs[i]->shm);
		free(d->logs[i]);
	}
	for (i = 0; i < d->nunlink; i++)
		free(d->unlink_pending[i]);
	fli_shm_unmap(&d->cnc);
	if (!PLANTED(FLI_PLANT_DIR_KEPT))
		remove_dir(d);
	vlog(d, "closed %s", d->dir);
	free(d);
}

/* ---- extension helpers --------------------------------------------------- */

int
fli_driver_ext_broadcast(struct fl_driver *d, int32_t type, const void *payload, size_t len)
{
	if (type < FL_EXT_TYPE_MIN || type > FL_EXT_TYPE_MAX || len > FL_EXT_MAX_PAYLOAD)
		return FL_EINVAL;
	return fli_bcast_transmit(&d->bc, type, payload, len);
}

const struct fl_driver_ctx *
fli_driver_ext_ctx(const struct fl_driver *d)
{
	return &d->ctx;
}

int64_t
fli_driver_ext_next_id(struct fl_driver *d)
{
	return __atomic_fetch_add(&d->hdr->next_id, 1, __ATOMIC_ACQ_REL);
}

int
fli_driver_ext_gauge_set(struct fl_driver *d, unsigned idx, const char *name, int64_t value)
{
	if (idx >= FL_STATS_MAX_EXT)
		return FL_EINVAL;
	if (d->ctr->ext[idx].name[0] == '\0' || strncmp(d->ctr->ext[idx].name, name, 31) != 0)
		snprintf(d->ctr->ext[idx].name, sizeof(d->ctr->ext[idx].name), "%s", name);
	__atomic_store_n(&d->ctr->ext[idx].value, value, __ATOMIC_RELEASE);
	if ((int32_t)idx + 1 > d->ext_count)
		d->ext_count = (int32_t)idx + 1;
	__atomic_store_n(&d->ctr->ext_count, d->ext_count, __ATOMIC_RELEASE);
	return 0;
}
