/*
 * The client conductor: heartbeat, driver events, the image lifecycle and
 * deferred frees; and every open and close of a client, publication and
 * subscription.  The data paths are in publication.c, subscription.c and
 * image.c; the objects and the locking rule in client_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/stats.h"
#include "client_internal.h"
#include "cnc.h"
#include "driver_ext.h"
#include "fli_impl.h"
#include "log_buffer.h"
#include "shm.h"
#include "core/plant.h"

enum { K_PUB = 1, K_SUB = 2 };
enum { P_PENDING = 0, P_DONE = 1, P_ERROR = 2 };

/* An add started and not yet collected (polled to its end or cancelled),
 * in c->pending in the order started. */
struct pending {
	int64_t reg_id;
	int kind;
	int state;
	int err;
	void *result;
	int32_t stream_id;
	bool exclusive;
	struct fl_image_handlers h;
	char channel[FL_NAME_MAX + 1];
};

struct retired {
	void *ptr;
	uint64_t at;
	uint64_t gen; /* c->quiescent when it was retired */
};

static int
vec_push(struct vec *a, void *p)
{
	if (a->n == a->cap) {
		int ncap = a->cap ? a->cap * 2 : 8;
		void **nv = realloc(a->v, (size_t)ncap * sizeof(void *));

		if (nv == NULL)
			return FL_ENOMEM;
		a->v = nv;
		a->cap = ncap;
	}
	a->v[a->n++] = p;
	return 0;
}

static void
vec_del(struct vec *a, int i)
{
	FLI_ASSERT(i >= 0 && i < a->n);
	a->v[i] = a->v[--a->n];
}

/* Removes element i keeping the order of the rest (c->pending: oldest
 * first, for fl_client_outstanding_adds). */
static void
vec_del_ordered(struct vec *a, int i)
{
	FLI_ASSERT(i >= 0 && i < a->n);
	memmove(&a->v[i], &a->v[i + 1], (size_t)(a->n - i - 1) * sizeof(void *));
	a->n--;
}

static int
vec_find(const struct vec *a, const void *p)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (a->v[i] == p)
			return i;
	return -1;
}

static void
report(fl_client *c, int err, const char *what)
{
	if (c->ctx.error_handler != NULL)
		c->ctx.error_handler(c->ctx.error_arg, err, what);
	else
		fprintf(stderr, "faultline client %llu: %s: %s\n", (unsigned long long)c->id, what,
		        fl_strerror(err));
}

void
fl_client_ctx_init(struct fl_client_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

uint64_t
fl_client_id(const fl_client *c)
{
	return c->id;
}

int
fl_client_status(const fl_client *c)
{
	return __atomic_load_n(&c->status, __ATOMIC_ACQUIRE);
}

const char *
fl_client_run_dir(const fl_client *c)
{
	return c->dir;
}

static int
send_cmd(fl_client *c, int32_t type, int64_t corr, int64_t log_id, int32_t stream_id,
         bool exclusive, const char *channel)
{
	struct fli_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.version = FL_FRAME_VERSION;
	cmd.client_id = c->id;
	cmd.corr_id = corr;
	cmd.log_id = log_id;
	cmd.stream_id = stream_id;
	cmd.exclusive = exclusive;
	if (channel != NULL)
		snprintf(cmd.channel, sizeof(cmd.channel), "%s", channel);
	return fli_mpsc_write(&c->ring, type, &cmd, sizeof(cmd));
}

/* Remove commands must reach the driver: retry a full ring briefly. */
static void
send_cmd_retry(fl_client *c, int32_t type, int64_t corr, int64_t log_id)
{
	uint64_t deadline = fl_clock_now_ns() + 100 * FL_NS_PER_MS;
	struct fl_idle idle = { 0 };
	int rc;

	while ((rc = send_cmd(c, type, corr, log_id, 0, false, NULL)) == FL_EFULL) {
		if (fl_clock_now_ns() >= deadline) {
			report(c, FL_EFULL, "command ring full; a remove was lost");
			return;
		}
		fl_idle(&idle, 0, deadline);
	}
	if (rc != 0)
		report(c, rc, "command ring corrupt; a remove was lost");
}

static void
gauge_pending(fl_client *c)
{
	int64_t n = 0;
	int i;

	for (i = 0; i < c->pending.n; i++)
		n += ((struct pending *)c->pending.v[i])->state == P_PENDING;
	__atomic_store_n(&c->rec->pending_registrations, n, __ATOMIC_RELEASE);
}

/* ---- log maps --------------------------------------------------------- */

/* Maps a log's pages into this process's page table now: a write to a
 * page of a shared file mapping not yet mapped here takes a fault, and the
 * kernel maps no neighbours on a write.  Only the range the attach checked
 * (the metadata and the ring): a longer file (a wild writer's) costs
 * nothing more than its address space.  A kernel without
 * MADV_POPULATE_WRITE (before 5.14) or a failure leaves the pages to their
 * first touch.  On the shared VMs here that was not the whole cost: see
 * pre_touch below. */
static void
populate_log(fl_client *c, const struct fli_log *l)
{
	size_t len = fli_log_file_length((uint32_t)l->cap), off;

	(void)madvise((uint8_t *)l->meta, len, MADV_POPULATE_WRITE);
	/* ctx.pre_touch: even populated, a page not yet accessed cost its
	 * first access a stall the guest does not see as a fault (about 27 us
	 * a page on the shared VMs here, 7 us when taken in a row): every 4
	 * KiB of a log's first lap, 1 in 85 ping-pong round trips, which put
	 * the p99 at 20-24 us against 1.3 us on the second lap.  Reading one
	 * word a page now pays it up front: about 7 ms for a 4 MiB log, 1.8 s
	 * for the largest (1 GiB), with the client's lock held (docs/
	 * transport.md).  Reads only, so a log others already write stays
	 * untouched (docs/figures.md). */
	if (!c->ctx.pre_touch)
		return;
	for (off = 0; off < len; off += 4096) {
		(void)__atomic_load_n((const uint64_t *)((const uint8_t *)l->meta + off),
		                      __ATOMIC_RELAXED);
		c->pages_touched++;
	}
}

static int
map_get(fl_client *c, int64_t id, struct log_map **out)
{
	struct log_map *m;
	char name[32];
	int i, rc;

	for (i = 0; i < c->maps.n; i++) {
		m = c->maps.v[i];
		if (m->id == id) {
			m->refs++;
			*out = m;
			return 0;
		}
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return FL_ENOMEM;
	snprintf(name, sizeof(name), FL_LOG_NAME_FMT, (long long)id);
	FL_SCHED_POINT("client.log.map");
	rc = fli_shm_dir_reopen(c->dir, &c->rundir);
	if (rc == 0)
		rc = fli_shm_map_at(&c->rundir, name, true, FL_LOG_META_SIZE, &m->shm);
	fli_shm_dir_close(&c->rundir);
	if (rc == 0)
		rc = fli_log_attach(&m->log, m->shm.addr, m->shm.len);
	if (rc == 0)
		populate_log(c, &m->log);
	if (rc == 0)
		rc = vec_push(&c->maps, m);
	if (rc != 0) {
		fli_shm_unmap(&m->shm);
		free(m);
		return rc;
	}
	m->id = id;
	m->refs = 1;
	__atomic_store_n(&c->rec->logs_mapped, c->maps.n, __ATOMIC_RELEASE);
	*out = m;
	return 0;
}

static void
map_release(fl_client *c, struct log_map *m)
{
	int i;

	if (m == NULL)
		return;
	FLI_ASSERT(m->refs > 0);
	if (--m->refs > 0)
		return;
	FL_SCHED_POINT("client.log.unmap");
	fli_shm_unmap(&m->shm);
	i = vec_find(&c->maps, m);
	if (FLI_ALWAYS(i >= 0))
		vec_del(&c->maps, i);
	free(m);
	if (!c->abandoned) /* a dead process's gauge stays as it was */
		__atomic_store_n(&c->rec->logs_mapped, c->maps.n, __ATOMIC_RELEASE);
}

/* ---- images ----------------------------------------------------------- */

static void
retire(fl_client *c, void *p)
{
	struct retired *r = malloc(sizeof(*r));

	if (r == NULL || vec_push(&c->retired, r) != 0) {
		/* Cannot defer: leaking the list is safer than freeing it
		 * under a poller. */
		free(r);
		return;
	}
	r->ptr = p;
	r->at = c->now + c->ctx.resource_linger_ns;
	r->gen = c->quiescent;
}

static int
images_replace(fl_client *c, fl_subscription *s, fl_image *add, fl_image *del)
{
	struct image_list *old = __atomic_load_n(&s->images, __ATOMIC_ACQUIRE);
	int n = old ? old->count : 0, i, k = 0;
	struct image_list *nl =
	        fl_obj_alloc(sizeof(*nl) + (size_t)(n + 1) * sizeof(fl_image *), "image list");

	if (nl == NULL)
		return FL_ENOMEM;
	for (i = 0; i < n; i++)
		if (old->img[i] != del)
			nl->img[k++] = old->img[i];
	if (add != NULL)
		nl->img[k++] = add;
	nl->count = k;
	FL_SCHED_POINT("sub.images.swap");
	fl_atomic_store("sub.images.swapped", &s->images, nl, __ATOMIC_SEQ_CST);
	if (old != NULL)
		retire(c, old);
	return 0;
}

/* The image leaves its subscription: unavailable now, freed later. */
static void
image_retire(fl_client *c, fl_image *img)
{
	fl_atomic_store("image.unavailable", &img->available, 0, __ATOMIC_RELEASE);
	img->sub = NULL;
	img->dead_gen = c->quiescent;
	if (vec_push(&c->dead, img) != 0)
		report(c, FL_ENOMEM, "image kept mapped (out of memory)");
}

static void
image_free(fl_client *c, fl_image *img)
{
	if (fl_client_status(c) == 0)
		send_cmd_retry(c, FL_CMD_LOG_UNMAPPED, 0, img->log_id);
	map_release(c, img->map);
	fl_obj_free(img, sizeof(*img), "fl_image");
}

static void
sub_drop_images(fl_client *c, fl_subscription *s, bool callbacks)
{
	struct image_list *l = __atomic_load_n(&s->images, __ATOMIC_ACQUIRE);
	int i;

	if (l == NULL)
		return;
	fl_atomic_store("sub.images.dropped", &s->images, NULL, __ATOMIC_SEQ_CST);
	for (i = 0; i < l->count; i++) {
		if (callbacks && s->h.on_unavailable != NULL)
			s->h.on_unavailable(s->h.arg, s, l->img[i]);
		image_retire(c, l->img[i]);
	}
	retire(c, l);
}

/* ---- events ----------------------------------------------------------- */

static struct pending *
pending_find(fl_client *c, int64_t reg_id, int *idx)
{
	int i;

	for (i = 0; i < c->pending.n; i++) {
		struct pending *p = c->pending.v[i];

		if (p->reg_id == reg_id) {
			if (idx)
				*idx = i;
			return p;
		}
	}
	return NULL;
}

static fl_subscription *
sub_find(fl_client *c, int64_t reg_id)
{
	int i;

	for (i = 0; i < c->subs.n; i++)
		if (((fl_subscription *)c->subs.v[i])->reg_id == reg_id)
			return c->subs.v[i];
	return NULL;
}

static void
on_pub_ready(fl_client *c, const struct fli_event *ev)
{
	struct pending *pd = pending_find(c, ev->corr_id, NULL);
	fl_publication *p;
	int rc;

	if (pd == NULL || pd->kind != K_PUB || pd->state != P_PENDING)
		return;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		rc = FL_ENOMEM;
		goto fail;
	}
	rc = map_get(c, ev->log_id, &p->map);
	if (rc != 0)
		goto fail;
	rc = vec_push(&c->pubs, p);
	if (rc != 0) {
		map_release(c, p->map);
		goto fail;
	}
	p->c = c;
	p->reg_id = ev->corr_id;
	p->session_id = ev->session_id;
	p->stream_id = ev->stream_id;
	fli_log_appender_init(&p->ap, &p->map->log, pd->exclusive);
	pd->state = P_DONE;
	pd->result = p;
	gauge_pending(c);
	return;
fail:
	free(p);
	pd->state = P_ERROR;
	pd->err = rc;
	send_cmd_retry(c, FL_CMD_REMOVE_PUB, ev->corr_id, 0);
	gauge_pending(c);
}

static void
on_sub_ready(fl_client *c, const struct fli_event *ev)
{
	struct pending *pd = pending_find(c, ev->corr_id, NULL);
	fl_subscription *s;

	if (pd == NULL || pd->kind != K_SUB || pd->state != P_PENDING)
		return;
	s = fl_obj_alloc(sizeof(*s), "fl_subscription");
	if (s == NULL || vec_push(&c->subs, s) != 0) {
		fl_obj_free(s, sizeof(*s), "fl_subscription");
		pd->state = P_ERROR;
		pd->err = FL_ENOMEM;
		send_cmd_retry(c, FL_CMD_REMOVE_SUB, ev->corr_id, 0);
		gauge_pending(c);
		return;
	}
	s->c = c;
	s->reg_id = ev->corr_id;
	s->stream_id = pd->stream_id;
	s->h = pd->h;
	pd->state = P_DONE;
	pd->result = s;
	gauge_pending(c);
}

static void
on_image_available(fl_client *c, const struct fli_event *ev)
{
	fl_subscription *s = sub_find(c, ev->corr_id);
	fl_image *img = NULL;
	int rc;

	if (s == NULL) {
		/* Subscription gone or cancelled: the driver counted a mapping. */
		send_cmd_retry(c, FL_CMD_LOG_UNMAPPED, 0, ev->log_id);
		return;
	}
	if (ev->slot < 0 || ev->slot >= FL_LOG_MAX_SUBS) {
		report(c, FL_EPROTO, "image event with a bad slot");
		send_cmd_retry(c, FL_CMD_LOG_UNMAPPED, 0, ev->log_id);
		return;
	}
	img = fl_obj_alloc(sizeof(*img), "fl_image");
	if (img == NULL) {
		rc = FL_ENOMEM;
		goto fail;
	}
	rc = map_get(c, ev->log_id, &img->map);
	if (rc != 0)
		goto fail;
	img->c = c;
	img->sub = s;
	img->log = img->map->log;
	img->log_id = ev->log_id;
	img->sub_reg_id = s->reg_id;
	img->session_id = ev->session_id;
	img->slot = ev->slot;
	img->position = __atomic_load_n(&img->log.meta->slots[ev->slot].position, __ATOMIC_ACQUIRE);
	img->available = 1;
	rc = images_replace(c, s, img, NULL);
	if (rc != 0) {
		map_release(c, img->map);
		goto fail;
	}
	if (s->h.on_available != NULL)
		s->h.on_available(s->h.arg, s, img);
	return;
fail:
	fl_obj_free(img, sizeof(*img), "fl_image");
	report(c, rc, "mapping an image failed");
	send_cmd_retry(c, FL_CMD_LOG_UNMAPPED, 0, ev->log_id);
}

static void
on_image_unavailable(fl_client *c, const struct fli_event *ev)
{
	fl_subscription *s = sub_find(c, ev->corr_id);
	struct image_list *l;
	int i;

	if (s == NULL)
		return;
	l = __atomic_load_n(&s->images, __ATOMIC_ACQUIRE);
	for (i = 0; l != NULL && i < l->count; i++) {
		fl_image *img = l->img[i];

		if (img->log_id == ev->log_id && img->slot == ev->slot) {
			if (images_replace(c, s, NULL, img) != 0) {
				report(c, FL_ENOMEM, "image list");
				return;
			}
			if (s->h.on_unavailable != NULL)
				s->h.on_unavailable(s->h.arg, s, img);
			image_retire(c, img);
			return;
		}
	}
}

static void go_dead(fl_client *c, int err);

static void
on_event(void *arg, int32_t type, const uint8_t *payload, size_t len)
{
	fl_client *c = arg;
	struct fli_event ev;
	struct pending *pd;

	if (type >= FL_EXT_TYPE_MIN && type <= FL_EXT_TYPE_MAX) {
		if (c->ext_fn != NULL)
			c->ext_fn(c->ext_arg, type, payload, len);
		return;
	}
	if (len != sizeof(ev))
		return;
	memcpy(&ev, payload, sizeof(ev));
	if (ev.version != FL_FRAME_VERSION || ev.client_id != c->id)
		return;
	switch (type) {
	case FL_EV_PUB_READY: on_pub_ready(c, &ev); break;
	case FL_EV_SUB_READY: on_sub_ready(c, &ev); break;
	case FL_EV_ERROR:
		ev.msg[sizeof(ev.msg) - 1] = '\0';
		pd = pending_find(c, ev.corr_id, NULL);
		if (pd != NULL && pd->state == P_PENDING) {
			pd->state = P_ERROR;
			pd->err = ev.code < 0 && ev.code >= FL_ERROR_MIN ? ev.code : FL_EPROTO;
			gauge_pending(c);
		} else if (ev.code != 0) {
			report(c, ev.code, ev.msg);
		}
		break;
	case FL_EV_IMAGE_AVAILABLE: on_image_available(c, &ev); break;
	case FL_EV_IMAGE_UNAVAILABLE: on_image_unavailable(c, &ev); break;
	case FL_EV_CLIENT_TIMEOUT: go_dead(c, FL_ECLIENT_TIMEOUT); break;
	default: break;
	}
}

/* The driver is gone or timed us out: everything becomes unavailable and
 * is unmapped after the linger; the client stays usable only for close. */
static void
go_dead(fl_client *c, int err)
{
	int i;

	if (fl_client_status(c) != 0)
		return;
	fl_atomic_store("client.status.dead", &c->status, err, __ATOMIC_RELEASE);
	for (i = 0; i < c->pubs.n; i++)
		fl_atomic_store("pub.closed", &((fl_publication *)c->pubs.v[i])->closed, 1,
		                __ATOMIC_RELEASE);
	for (i = 0; i < c->subs.n; i++)
		sub_drop_images(c, c->subs.v[i], true);
	for (i = 0; i < c->pending.n; i++) {
		struct pending *p = c->pending.v[i];

		if (p->state == P_PENDING) {
			p->state = P_ERROR;
			p->err = err;
		}
	}
	gauge_pending(c);
	report(c, err,
	       err == FL_EDRIVER_TIMEOUT ? "driver stopped heart-beating"
	                                 : "the driver timed this client out");
}

enum { BARRIER_REGISTER, BARRIER_PRIVATE, BARRIER_GLOBAL };

/* membarrier(2): registers this process for private expedited barriers,
 * runs one on every running thread of the process, or runs the global one
 * (every thread of every process; slow, but it needs no registration).
 * 0, or -1 where the kernel (or a seccomp filter) says no. */
static int
process_barrier(int cmd)
{
#if defined(__linux__) && defined(SYS_membarrier)
	static const int cmds[] = { MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		                    MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_GLOBAL };

	return syscall(SYS_membarrier, cmds[cmd], 0, 0) == 0 ? 0 : -1;
#else
	(void)cmd;
	return -1;
#endif
}

/* This process's membarrier(2) registration, taken once before main while
 * the process has one thread: then it costs microseconds, while with other
 * threads running the kernel waits out an RCU grace period (13 ms here).
 * A fork inherits it; an exec runs this again. */
static bool process_registered;

__attribute__((constructor)) static void
register_process_barrier(void)
{
	process_registered = process_barrier(BARRIER_REGISTER) == 0;
}

/* The barrier the marks need, private if it works, else global;
 * counted (c->barriers) when one ran.  0, or -1 when both are refused. */
static int
fence_pollers(fl_client *c)
{
	if (process_barrier(BARRIER_PRIVATE) != 0 && process_barrier(BARRIER_GLOBAL) != 0)
		return -1;
	__atomic_fetch_add(&c->barriers, 1, __ATOMIC_RELAXED);
	return 0;
}

/* No reader inside an image list now: every one that could still see
 * what was retired before this moment has returned. */
static bool
no_reader_now(fl_client *c)
{
	int i;

	if (c->membarrier) {
		/* Each poller's mark is visible after this, or that poller
		 * reads the list stored before it.  Should the private barrier
		 * stop working (a seccomp filter installed since), the global
		 * one does the same, slowly; with neither, no moment counts:
		 * what waits stays mapped, never freed under a poller, and the
		 * client says so once. */
		if (fence_pollers(c) != 0) {
			if (!c->barrier_failed)
				report(c, FL_EIO,
				       "membarrier(2) refused: retired images stay mapped");
			c->barrier_failed = true;
			return false;
		}
		for (i = 0; i < c->subs.n; i++)
			if (__atomic_load_n(&((fl_subscription *)c->subs.v[i])->polling,
			                    __ATOMIC_ACQUIRE) != 0)
				return false;
	}
	return __atomic_load_n(&c->readers, __ATOMIC_SEQ_CST) == 0;
}

/* Does something retired wait for a reader-free moment still to come?
 * (Once one came, it waits only for its linger time.) */
static bool
moment_wanted(const fl_client *c)
{
	int i;

	for (i = 0; i < c->dead.n; i++)
		if (((const fl_image *)c->dead.v[i])->dead_gen >= c->quiescent)
			return true;
	for (i = 0; i < c->retired.n; i++)
		if (((const struct retired *)c->retired.v[i])->gen >= c->quiescent)
			return true;
	return false;
}

static int
reap(fl_client *c, bool all)
{
	int i, n = 0;

	/* A moment is looked for only while something waits for one: with
	 * membarrier the look is a barrier on every running thread (an
	 * interrupt to a spinning poller). */
	if (moment_wanted(c) && no_reader_now(c))
		c->quiescent++;
	for (i = c->dead.n - 1; i >= 0; i--) {
		fl_image *img = c->dead.v[i];

		if (!all && __atomic_load_n(&img->refs, __ATOMIC_ACQUIRE) != 0)
			continue;
		if (!all && img->dead_gen >= c->quiescent)
			continue;
		if (!all && !img->lingering) {
			img->lingering = true;
			img->free_at = c->now + c->ctx.resource_linger_ns;
			continue;
		}
		if (!all && c->now < img->free_at)
			continue;
		vec_del(&c->dead, i);
		image_free(c, img);
		n++;
	}
	for (i = c->retired.n - 1; i >= 0; i--) {
		struct retired *r = c->retired.v[i];

		if (!all && (c->now < r->at || r->gen >= c->quiescent))
			continue;
		vec_del(&c->retired, i);
		fl_obj_free(r->ptr, 0, "image list");
		free(r);
		n++;
	}
	return n;
}

/*
 * The driver is given up when its heartbeat is older than the driver
 * timeout, or sooner when its process has exited: a driver whose heartbeat
 * is a little stale is looked up by pid, at most every PID_CHECK_NS.  So
 * the timeout can be long enough that a starved live driver is never taken
 * for dead, and a killed one is still noticed at once.
 */
#define PID_CHECK_NS (20 * FL_NS_PER_MS)

static bool
driver_process_gone(fl_client *c, uint64_t hb)
{
	if (c->now <= hb || c->now - hb < PID_CHECK_NS || c->now < c->pid_check_at)
		return false;
	c->pid_check_at = c->now + PID_CHECK_NS;
	return fl_process_gone(__atomic_load_n(&c->hdr->driver_pid, __ATOMIC_RELAXED),
	                       __atomic_load_n(&c->hdr->driver_pid_ns, __ATOMIC_RELAXED));
}

static int
do_work_locked(fl_client *c)
{
	int work = 0, rc;
	uint64_t hb;

	c->now = fl_clock_now_ns();
	if (fl_client_status(c) == 0) {
		if (c->now >= c->next_hb && !FL_FAULT("transport/client/heartbeat")) {
			__atomic_store_n(&c->rec->heartbeat_ns, c->now, __ATOMIC_RELEASE);
			c->next_hb = c->now + c->ctx.heartbeat_interval_ns;
		}
		hb = __atomic_load_n(&c->hdr->driver_heartbeat_ns, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&c->hdr->driver_closed, __ATOMIC_ACQUIRE) != 0 ||
		    (c->now > hb && c->now - hb > c->ctx.driver_timeout_ns) ||
		    driver_process_gone(c, hb) || FL_FAULT("transport/client/driver_timeout")) {
			go_dead(c, FL_EDRIVER_TIMEOUT);
			work++;
		} else if (__atomic_load_n(&c->rec->state, __ATOMIC_ACQUIRE) != FL_CLIENT_ACTIVE ||
		           __atomic_load_n(&c->rec->client_id, __ATOMIC_ACQUIRE) != c->id) {
			go_dead(c, FL_ECLIENT_TIMEOUT);
			work++;
		} else {
			rc = fli_bcast_receive(&c->rx, on_event, c, 64);
			if (rc < 0) {
				/* The cursor moved to the latest record; the lost events
				 * are not work, so a client lapped again and again still
				 * idles and its registrations reach their deadlines. */
				report(c, rc,
				       rc == FL_ELAPPED ? "broadcast lapped: events lost"
				                        : "corrupt broadcast record");
			} else {
				work += rc;
			}
		}
	}
	work += reap(c, false);
	return work;
}

int
fl_client_do_work(fl_client *c)
{
	int w;

	fl_mutex_lock(&c->mu);
	w = do_work_locked(c);
	fl_mutex_unlock(&c->mu);
	return fl_client_status(c) != 0 ? fl_client_status(c) : w;
}

static void
conductor(void *arg)
{
	fl_client *c = arg;
	struct fl_idle idle = { 0 };

	idle.max_park_ns = FL_NS_PER_MS;
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		uint64_t dl;
		int w;

		fl_mutex_lock(&c->mu);
		w = do_work_locked(c);
		/* The deadline hint must lie in the future: once the client is
		 * dead (or a heartbeat was skipped) next_hb stops advancing, and a
		 * past hint makes the conductor spin without letting time pass.
		 * Under the lock: API calls write c->now too. */
		dl = c->now + c->ctx.resource_linger_ns;
		if (fl_client_status(c) == 0 && c->next_hb > c->now && c->next_hb < dl)
			dl = c->next_hb;
		fl_mutex_unlock(&c->mu);
		fl_idle(&idle, w, dl);
	}
}

/* ---- open / close ------------------------------------------------------ */

int
fl_client_open(const struct fl_client_ctx *ctx, fl_client **out)
{
	fl_client *c;
	struct fli_cnc_header h; /* validated on this private copy, then used */
	uint64_t hb, now;
	int rc, i;

	if (ctx == NULL || out == NULL)
		return FL_EINVAL;
	if (fl_name_validate(ctx->ns) != 0)
		return FL_ENAME;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return FL_ENOMEM;
	c->ctx = *ctx;
	snprintf(c->ns, sizeof(c->ns), "%s", ctx->ns);
	c->ctx.ns = c->ns;
	if (c->ctx.driver_timeout_ns == 0)
		c->ctx.driver_timeout_ns = FL_CLIENT_DRIVER_TIMEOUT_NS;
	if (c->ctx.heartbeat_interval_ns == 0)
		c->ctx.heartbeat_interval_ns = FL_CLIENT_HEARTBEAT_NS;
	if (c->ctx.resource_linger_ns == 0)
		c->ctx.resource_linger_ns = FL_CLIENT_LINGER_NS;
	/* FL_CLIENT_NO_MEMBARRIER (set, any value): count pollers with locked
	 * instructions, as where membarrier(2) is refused (tests run both). */
	c->membarrier = process_registered && getenv("FL_CLIENT_NO_MEMBARRIER") == NULL &&
	                process_barrier(BARRIER_PRIVATE) == 0;
	fl_mutex_init(&c->mu);
	fl_run_dir_path(c->ns, c->dir, sizeof(c->dir));
	/* Whoever owns the run directory and cnc.dat can write what this
	 * process reads and shrink what it maps (SIGBUS): only its own uid
	 * (or the one allowed) is trusted, checked on the open descriptors. */
	rc = fli_shm_dir_open(c->dir,
	                      c->ctx.allowed_uid != 0 ? (uid_t)c->ctx.allowed_uid : (uid_t)-1,
	                      &c->rundir, NULL, 0);
	if (rc != 0)
		goto fail;
	rc = fli_shm_map_at(&c->rundir, FL_CNC_FILE, true, FL_CNC_HEADER_SIZE, &c->cnc);
	fli_shm_dir_close(&c->rundir); /* reopened for each log map */
	if (rc != 0)
		goto fail;
	memcpy(&h, c->cnc.addr, sizeof(h));
	rc = fli_cnc_validate(&h, c->cnc.len);
	if (rc != 0)
		goto fail;
	c->hdr = c->cnc.addr;
	now = fl_clock_now_ns();
	hb = __atomic_load_n(&c->hdr->driver_heartbeat_ns, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&c->hdr->driver_closed, __ATOMIC_ACQUIRE) != 0 ||
	    (now > hb && now - hb > c->ctx.driver_timeout_ns)) {
		rc = FL_EDRIVER_TIMEOUT;
		goto fail;
	}
	fli_mpsc_init(&c->ring, (uint8_t *)c->cnc.addr + h.cmd_offset, h.cmd_length, 0);
	fli_bcast_init(&c->bc, (uint8_t *)c->cnc.addr + h.bc_offset, h.bc_length, 0);
	fli_bcast_rx_init(&c->rx, &c->bc, c->scratch, sizeof(c->scratch));
	c->id = (uint64_t)fl_atomic_fetch_add("client.id.next", &c->hdr->next_id, 1,
	                                      __ATOMIC_ACQ_REL);
	for (i = 0; i < 2 * FL_STATS_MAX_CLIENTS && c->rec == NULL; i++) {
		struct fli_cnc_client *r =
		        &fli_cnc_counters(c->cnc.addr)->clients[i % FL_STATS_MAX_CLIENTS];
		uint32_t want = i < FL_STATS_MAX_CLIENTS ? FL_CLIENT_FREE : FL_CLIENT_CLOSED;
		uint32_t st = want;

		if (fl_atomic_cas("client.record.claim", &r->state, &st, FL_CLIENT_CLAIMING,
		                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			c->rec = r;
		else if (i >= FL_STATS_MAX_CLIENTS && st == FL_CLIENT_TIMED_OUT &&
		         fl_atomic_cas("client.record.claim", &r->state, &st, FL_CLIENT_CLAIMING,
		                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			c->rec = r;
	}
	if (c->rec == NULL) {
		rc = FL_ELIMIT;
		goto fail;
	}
	c->rec->pid = fl_getpid();
	c->rec->pid_ns = fl_pid_ns();
	c->rec->image_refs_held = 0;
	c->rec->logs_mapped = 0;
	c->rec->pending_registrations = 0;
	c->rec->registrations = 0;
	c->rec->refs_leaked = 0;
	c->rec->registrations_reclaimed = 0;
	__atomic_store_n(&c->rec->heartbeat_ns, now, __ATOMIC_RELEASE);
	__atomic_store_n(&c->rec->client_id, c->id, __ATOMIC_RELEASE);
	fl_atomic_store("client.record.active", &c->rec->state, FL_CLIENT_ACTIVE, __ATOMIC_RELEASE);
	c->next_hb = now + c->ctx.heartbeat_interval_ns;
	if (!c->ctx.agent) {
		rc = fl_thread_start(&c->thread, "fl-client", conductor, c);
		if (rc != 0) {
			/* The driver may have seen the record active: only it ends
			 * an active client (a record that just stops being active
			 * is reclaimed as a wild write).  Failing that, the record
			 * times out without heartbeats. */
			(void)send_cmd(c, FL_CMD_CLIENT_CLOSE, 0, 0, 0, false, NULL);
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	fli_shm_unmap(&c->cnc);
	fli_shm_dir_close(&c->rundir);
	fl_mutex_fini(&c->mu);
	free(c);
	return rc;
}

static void pub_free(fl_client *c, fl_publication *p);
static void sub_free(fl_client *c, fl_subscription *s);

void
fl_client_close(fl_client *c)
{
	int64_t leaked = 0;
	int i;

	if (c == NULL)
		return;
	if (c->thread != NULL) {
		fl_atomic_store("client.stop", &c->stop, 1, __ATOMIC_RELEASE);
		fl_thread_join(c->thread);
	}
	fl_mutex_lock(&c->mu);
	c->now = fl_clock_now_ns();
	if (c->abandoned)
		goto free_local;
	for (i = 0; i < c->subs.n; i++) {
		struct image_list *l = __atomic_load_n(&((fl_subscription *)c->subs.v[i])->images,
		                                       __ATOMIC_ACQUIRE);
		int k;

		for (k = 0; l != NULL && k < l->count; k++)
			leaked += __atomic_load_n(&l->img[k]->refs, __ATOMIC_ACQUIRE);
	}
	for (i = 0; i < c->dead.n; i++)
		leaked += __atomic_load_n(&((fl_image *)c->dead.v[i])->refs, __ATOMIC_ACQUIRE);
	if (leaked != 0)
		__atomic_fetch_add(&c->rec->refs_leaked, leaked, __ATOMIC_RELAXED);
	__atomic_store_n(&c->rec->image_refs_held, 0, __ATOMIC_RELAXED);
	if (PLANTED(FLI_PLANT_STRAY_WRITE))
		__atomic_store_n(&c->hdr->version, 0,
		                 __ATOMIC_RELAXED); /* the plant: a wild write */
	if (fl_client_status(c) == 0 || fl_client_status(c) == FL_EDRIVER_TIMEOUT) {
		/* After a (possibly false) driver timeout the driver may still be
		 * alive and holding our registrations: tell it we are closing
		 * (best effort); if it is really gone this write is harmless and
		 * the record stays ACTIVE without heartbeats, so a live driver
		 * would time it out and reclaim it anyway. */
		uint64_t deadline = c->now + 100 * FL_NS_PER_MS;
		struct fl_idle idle = { 0 };

		/* The driver drops every registration and mapping of ours on
		 * CLIENT_CLOSE; individual removes are not needed. */
		while (send_cmd(c, FL_CMD_CLIENT_CLOSE, 0, 0, 0, false, NULL) == FL_EFULL &&
		       fl_clock_now_ns() < deadline)
			fl_idle(&idle, 0, deadline);
		if (fl_client_status(c) == 0)
			fl_atomic_store("client.status.closed", &c->status, FL_ECLOSED,
			                __ATOMIC_RELEASE);
	} else {
		fl_atomic_store("client.record.closed", &c->rec->state, FL_CLIENT_CLOSED,
		                __ATOMIC_RELEASE);
	}
free_local:
	for (i = 0; i < c->pending.n; i++) {
		struct pending *p = c->pending.v[i];

		free(p); /* completed results are already in c->pubs / c->subs */
	}
	while (c->subs.n > 0)
		sub_free(c, c->subs.v[0]);
	while (c->pubs.n > 0)
		pub_free(c, c->pubs.v[0]);
	reap(c, true);
	while (c->maps.n > 0) {
		struct log_map *m = c->maps.v[0];

		m->refs = 1;
		map_release(c, m);
	}
	fl_mutex_unlock(&c->mu);
	free(c->pending.v);
	free(c->subs.v);
	free(c->pubs.v);
	free(c->maps.v);
	free(c->dead.v);
	free(c->retired.v);
	fli_shm_unmap(&c->cnc);
	fli_shm_dir_close(&c->rundir);
	fl_mutex_fini(&c->mu);
	free(c);
}

void
fl_client_abandon(fl_client *c)
{
	int ok = 0;

	if (c == NULL)
		return;
	/* Every path that would tell the driver something checks the
	 * status first; the flag covers the record and the gauges. */
	(void)__atomic_compare_exchange_n(&c->status, &ok, FL_ECRASHED, false, __ATOMIC_ACQ_REL,
	                                  __ATOMIC_ACQUIRE);
	c->abandoned = true;
	fl_client_close(c);
}

/* ---- async registration --------------------------------------------------- */

static int
add_start(fl_client *c, int kind, const char *channel, int32_t stream_id, bool exclusive,
          const struct fl_image_handlers *h, int64_t *reg_id)
{
	struct pending *p;
	int64_t id;
	int rc;

	if (c == NULL || reg_id == NULL)
		return FL_EINVAL;
	if (fl_name_validate(channel) != 0)
		return FL_ENAME;
	rc = fl_client_status(c);
	if (rc != 0)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return FL_ENOMEM;
	id = fl_atomic_fetch_add("client.id.next", &c->hdr->next_id, 1, __ATOMIC_ACQ_REL);
	p->reg_id = id;
	p->kind = kind;
	p->stream_id = stream_id;
	p->exclusive = exclusive;
	snprintf(p->channel, sizeof(p->channel), "%s", channel);
	if (h != NULL)
		p->h = *h;
	fl_mutex_lock(&c->mu);
	rc = vec_push(&c->pending, p);
	if (rc == 0) {
		rc = send_cmd(c, kind == K_PUB ? FL_CMD_ADD_PUB : FL_CMD_ADD_SUB, id, 0, stream_id,
		              exclusive, channel);
		if (rc != 0)
			c->pending.n--;
	}
	if (rc == 0)
		gauge_pending(c);
	fl_mutex_unlock(&c->mu);
	if (rc != 0) {
		free(p);
		return rc;
	}
	*reg_id = id;
	return 0;
}

static int
add_poll(fl_client *c, int kind, int64_t reg_id, void **out)
{
	struct pending *p;
	int idx, rc;

	if (c == NULL || out == NULL)
		return FL_EINVAL;
	fl_mutex_lock(&c->mu);
	p = pending_find(c, reg_id, &idx);
	if (p == NULL || p->kind != kind) {
		rc = FL_ENOENT;
	} else if (p->state == P_PENDING) {
		rc = FL_EAGAIN;
	} else {
		rc = p->state == P_DONE ? 0 : p->err;
		if (rc == 0)
			*out = p->result;
		vec_del_ordered(&c->pending, idx);
		free(p);
		gauge_pending(c);
	}
	fl_mutex_unlock(&c->mu);
	return rc;
}

int
fl_client_add_publication_start(fl_client *c, const char *channel, int32_t stream_id,
                                bool exclusive, int64_t *reg_id)
{
	return add_start(c, K_PUB, channel, stream_id, exclusive, NULL, reg_id);
}

int
fl_client_add_publication_poll(fl_client *c, int64_t reg_id, fl_publication **out)
{
	return add_poll(c, K_PUB, reg_id, (void **)out);
}

int
fl_client_add_subscription_start(fl_client *c, const char *channel, int32_t stream_id,
                                 const struct fl_image_handlers *h, int64_t *reg_id)
{
	return add_start(c, K_SUB, channel, stream_id, false, h, reg_id);
}

int
fl_client_add_subscription_poll(fl_client *c, int64_t reg_id, fl_subscription **out)
{
	return add_poll(c, K_SUB, reg_id, (void **)out);
}

int
fl_client_cancel(fl_client *c, int64_t reg_id)
{
	struct pending *p;
	int idx;

	if (c == NULL)
		return FL_EINVAL;
	fl_mutex_lock(&c->mu);
	c->now = fl_clock_now_ns();
	p = pending_find(c, reg_id, &idx);
	if (p == NULL) {
		fl_mutex_unlock(&c->mu);
		return FL_ENOENT;
	}
	if (PLANTED(FLI_PLANT_CANCEL_KEPT)) {
		/* The plant: the remove goes, the add stays on the list. */
		if (p->state == P_PENDING && fl_client_status(c) == 0)
			send_cmd_retry(c, p->kind == K_PUB ? FL_CMD_REMOVE_PUB : FL_CMD_REMOVE_SUB,
			               reg_id, 0);
		fl_mutex_unlock(&c->mu);
		return 0;
	}
	vec_del_ordered(&c->pending, idx);
	if (p->state == P_PENDING && fl_client_status(c) == 0)
		send_cmd_retry(c, p->kind == K_PUB ? FL_CMD_REMOVE_PUB : FL_CMD_REMOVE_SUB, reg_id,
		               0);
	else if (p->state == P_DONE && p->kind == K_PUB)
		pub_free(c, p->result);
	else if (p->state == P_DONE)
		sub_free(c, p->result);
	gauge_pending(c);
	fl_mutex_unlock(&c->mu);
	free(p);
	return 0;
}

int
fl_client_outstanding_adds(fl_client *c, struct fl_client_add_info *out, int cap)
{
	int i, n = 0;

	if (c == NULL || cap < 0 || (out == NULL && cap > 0))
		return FL_EINVAL;
	fl_mutex_lock(&c->mu);
	for (i = 0; i < c->pending.n; i++) {
		const struct pending *p = c->pending.v[i];
		struct fl_client_add_info *a;

		/* Answered with an error (or failed locally, or the driver
		 * gone): nothing held in the driver for it. */
		if (p->state == P_ERROR)
			continue;
		if (n < cap) {
			a = &out[n];
			memset(a, 0, sizeof(*a));
			a->reg_id = p->reg_id;
			a->publication = p->kind == K_PUB;
			a->answered = p->state == P_DONE;
			a->stream_id = p->stream_id;
			memcpy(a->channel, p->channel, sizeof(a->channel));
		}
		n++;
	}
	fl_mutex_unlock(&c->mu);
	return n;
}

static int
add_sync(fl_client *c, int kind, const char *channel, int32_t stream_id, bool exclusive,
         const struct fl_image_handlers *h, uint64_t deadline_ns, void **out)
{
	struct fl_idle idle = { 0 };
	int64_t id;
	int rc;

	rc = add_start(c, kind, channel, stream_id, exclusive, h, &id);
	if (rc != 0)
		return rc;
	for (;;) {
		if (c->ctx.agent)
			fl_client_do_work(c);
		rc = add_poll(c, kind, id, out);
		if (rc != FL_EAGAIN)
			return rc;
		if (fl_clock_now_ns() >= deadline_ns) {
			fl_client_cancel(c, id);
			return FL_ETIMEDOUT;
		}
		fl_idle(&idle, 0, deadline_ns);
	}
}

int
fl_client_add_publication(fl_client *c, const char *channel, int32_t stream_id, bool exclusive,
                          uint64_t deadline_ns, fl_publication **out)
{
	return add_sync(c, K_PUB, channel, stream_id, exclusive, NULL, deadline_ns, (void **)out);
}

int
fl_client_add_subscription(fl_client *c, const char *channel, int32_t stream_id,
                           const struct fl_image_handlers *h, uint64_t deadline_ns,
                           fl_subscription **out)
{
	return add_sync(c, K_SUB, channel, stream_id, false, h, deadline_ns, (void **)out);
}

static void
pub_free(fl_client *c, fl_publication *p)
{
	int i = vec_find(&c->pubs, p);

	if (i >= 0)
		vec_del(&c->pubs, i);
	if (fl_client_status(c) == 0)
		send_cmd_retry(c, FL_CMD_REMOVE_PUB, p->reg_id, 0);
	map_release(c, p->map);
	free(p);
}

int
fl_publication_close(fl_publication *p)
{
	fl_client *c;
	int rc;

	if (p == NULL)
		return 0;
	c = p->c;
	fl_mutex_lock(&c->mu);
	rc = fl_client_status(c);
	pub_free(c, p);
	fl_mutex_unlock(&c->mu);
	return rc;
}

/* Caller holds c->mu. */
static void
sub_free(fl_client *c, fl_subscription *s)
{
	int i = vec_find(&c->subs, s);

	if (i >= 0)
		vec_del(&c->subs, i);
	sub_drop_images(c, s, false);
	if (fl_client_status(c) == 0)
		send_cmd_retry(c, FL_CMD_REMOVE_SUB, s->reg_id, 0);
	fl_obj_free(s, sizeof(*s), "fl_subscription");
}

int
fl_subscription_close(fl_subscription *s)
{
	fl_client *c;
	int rc;

	if (s == NULL)
		return 0;
	c = s->c;
	fl_mutex_lock(&c->mu);
	c->now = fl_clock_now_ns();
	rc = fl_client_status(c);
	sub_free(c, s);
	fl_mutex_unlock(&c->mu);
	return rc;
}

/* ---- extension helpers ------------------------------------------------------ */

int
fli_client_ext_send(fl_client *c, int32_t type, const void *payload, size_t len)
{
	uint8_t buf[FL_EXT_MAX_PAYLOAD + sizeof(uint64_t)];
	int rc;

	if (c == NULL || type < FL_EXT_TYPE_MIN || type > FL_EXT_TYPE_MAX ||
	    len > FL_EXT_MAX_PAYLOAD || (payload == NULL && len != 0))
		return FL_EINVAL;
	rc = fl_client_status(c);
	if (rc != 0)
		return rc;
	memcpy(buf, &c->id, sizeof(c->id));
	if (len != 0)
		memcpy(buf + sizeof(c->id), payload, len);
	return fli_mpsc_write(&c->ring, type, buf, len + sizeof(c->id));
}

void
fli_client_ext_set_handler(fl_client *c,
                           void (*fn)(void *arg, int32_t type, const void *payload, size_t len),
                           void *arg)
{
	fl_mutex_lock(&c->mu);
	c->ext_fn = fn;
	c->ext_arg = arg;
	fl_mutex_unlock(&c->mu);
}
