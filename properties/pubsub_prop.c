/*
 * Pub/sub model-based property: random sequences of publication
 * and subscription adds (sync and async, cancelled at any step), offers,
 * polls, image lookups and releases, closes, against a model of what the
 * client holds.  After every step the driver's gauges for the client must
 * match the model (image references, pending registrations); at the end,
 * once everything is closed, zero log files and every gauge zero.
 *
 * Client lifecycle: the client is closed with everything it holds and a
 * new one opened (the driver must reclaim the old one's registrations and
 * count its held references as leaked), and a client process crashes: a
 * forked child opens a client, adds a publication on the property's
 * channel and is SIGKILLed; a later step lets the liveness timeout pass
 * and the driver must time it out and reclaim it.  Driver responses are
 * dropped by the faults variant (transport/cmd/drop).
 *
 * Driver and client run in agent mode on the trial's one thread (the
 * property pumps both) on a virtual clock the property advances (1 ms a
 * pump, the liveness timeout in one step), so a trial is deterministic
 * and shrinks.  Built
 * with -DPLANT_B1 it adds B1's lookup helper (takes an image reference,
 * never drops it) and checks the property catches it and shrinks it.
 */
#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/prop.h"
#include "faultline/stats.h"
#include "faultline/faults.h"

#include "prop_faults.h"
#include "prop_model.h"
#include "prop_program.h"

#include "faultline/platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PUBS    4
#define MAX_SUBS    4
#define MAX_REFS    8
#define MAX_PENDING 4
#define PUMP_ROUNDS 64
#define TERM_LENGTH (64 * 1024)
/* Offer's limits under that term and the driver's default mtu: the
 * largest message (term / 8) and a fragment's payload (mtu - 16). */
#define MAX_MESSAGE  (TERM_LENGTH / 8)
#define FRAG_PAYLOAD (FL_DRIVER_MTU - 16)

struct ps_model {
	int npubs, nsubs, nrefs, npending;
	int32_t sessions[MAX_PUBS];
	bool zombie; /* a crashed client process the driver has not timed out yet */
};

struct ps_real {
	char ns[64];
	fl_driver *driver;
	fl_client *client;
	fl_publication *pubs[MAX_PUBS];
	fl_subscription *subs[MAX_SUBS];
	fl_image *refs[MAX_REFS];
	int64_t pending[MAX_PENDING];
	bool pending_is_pub[MAX_PENDING];
	int npubs, nsubs, nrefs, npending;
	unsigned received;
	int baseline_files;       /* the driver's own files in the run directory */
	struct fl_faults *faults; /* pubsub_refs_faults: armed after setup */
	struct fl_prop_ctx *ctx;  /* for the error handler of a reopened client */
	uint64_t zombie_id;       /* client id of the crashed process (0: none) */
	uint64_t old_ids[8];      /* clients closed by "reopen", to check their records */
	int64_t old_refs[8];      /* references each held when it was closed */
	int nold;
};

/* The trial's virtual clock (the platform seam's now_ns): advanced by
 * pump() and by the liveness step, never by the wall clock. */
static uint64_t vclock_ns;

static uint64_t
vclock_now(void *arg)
{
	return vclock_ns;
}

static int count_run_dir(const char *ns);

static void
pump(struct ps_real *r)
{
	vclock_ns += FL_NS_PER_MS;
	for (int i = 0; i < PUMP_ROUNDS; i++) {
		int w = fl_driver_do_work(r->driver);
		if (r->client)
			w += fl_client_do_work(r->client);
		if (w <= 0 && i > 2)
			break;
	}
}

/* Asynchronous client errors (an injected fault failing an add) go into
 * the step log instead of stderr. */
static void
client_error(void *arg, int err, const char *what)
{
	fl_prop_log(arg, "  client error: %s (%s)", what, fl_errname(err));
}

static int
ps_setup(struct fl_prop_ctx *ctx, void **model, void **real)
{
	static unsigned counter;
	int rc =
	        prop_model_alloc(ctx, model, sizeof(struct ps_model), real, sizeof(struct ps_real));
	if (rc != FL_PROP_PASS)
		return rc;
	struct ps_model *m = *model;
	struct ps_real *r = *real;
	/* The runner's pid first: it removes what a crashed trial left. */
	snprintf(r->ns, sizeof r->ns, "prop-pubsub-%d-%d-%u", (int)getppid(), (int)getpid(),
	         counter++);
	struct fl_platform_ops ops = { .now_ns = vclock_now };
	vclock_ns = FL_NS_PER_SEC;
	fl_platform_set_ops(&ops);
	struct fl_driver_ctx dc;
	fl_driver_ctx_init(&dc);
	dc.ns = r->ns;
	dc.no_thread = true;
	/* The model knows the liveness timeout's step, not when the driver
	 * would find the killed process by pid. */
	dc.no_pid_check = true;
	dc.term_length = TERM_LENGTH;
	rc = fl_driver_start(&dc, &r->driver);
	if (rc) {
		fl_platform_set_ops(NULL);
		free(m);
		free(r);
		return fl_prop_fail(ctx, "driver start: %s", fl_errname(rc));
	}
	struct fl_client_ctx cc;
	fl_client_ctx_init(&cc);
	cc.ns = r->ns;
	cc.agent = true;
	cc.error_handler = client_error;
	cc.error_arg = ctx;
	rc = fl_client_open(&cc, &r->client);
	if (rc) {
		fl_driver_close(r->driver);
		fl_platform_set_ops(NULL);
		free(m);
		free(r);
		return fl_prop_fail(ctx, "client open: %s", fl_errname(rc));
	}
	pump(r);
	r->baseline_files = count_run_dir(r->ns);
	r->ctx = ctx;
	return FL_PROP_PASS;
}

static void
ps_teardown(void *model, void *real)
{
	struct ps_real *r = real;
	if (r) {
		fl_faults_free(r->faults);
		for (int i = 0; i < r->nrefs; i++)
			fl_image_release(r->refs[i]);
		for (int i = 0; i < r->npending; i++)
			fl_client_cancel(r->client, r->pending[i]);
		for (int i = 0; i < r->npubs; i++)
			fl_publication_close(r->pubs[i]);
		for (int i = 0; i < r->nsubs; i++)
			fl_subscription_close(r->subs[i]);
		fl_client_close(r->client);
		r->client = NULL; /* pump() must not touch the closed client */
		if (r->driver) {
			pump(r);
			fl_driver_close(r->driver);
		}
		fl_platform_set_ops(NULL);
	}
	free(model);
	free(real);
}

/* ---- commands ---- */

struct ps_args {
	int index;
	uint32_t len;
	bool exclusive;
};

static bool
can_add_pub(const void *mv)
{
	return ((const struct ps_model *)mv)->npubs < MAX_PUBS;
}
static bool
can_add_sub(const void *mv)
{
	return ((const struct ps_model *)mv)->nsubs < MAX_SUBS;
}
static bool
has_pub(const void *mv)
{
	return ((const struct ps_model *)mv)->npubs > 0;
}
static bool
has_sub(const void *mv)
{
	return ((const struct ps_model *)mv)->nsubs > 0;
}
static bool
can_take(const void *mv)
{
	const struct ps_model *m = mv;
	return m->nsubs > 0 && m->npubs > 0 && m->nrefs < MAX_REFS;
}
static bool
has_ref(const void *mv)
{
	return ((const struct ps_model *)mv)->nrefs > 0;
}
static bool
can_start_async(const void *mv)
{
	return ((const struct ps_model *)mv)->npending < MAX_PENDING;
}
static bool
has_pending(const void *mv)
{
	return ((const struct ps_model *)mv)->npending > 0;
}

static void
gen_pub_index(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct ps_args *)av)->index =
	        (int)fl_gen_one_of(fl_prop_choice(ctx),
	                           (size_t)((const struct ps_model *)mv)->npubs);
}
static void
gen_sub_index(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct ps_args *)av)->index =
	        (int)fl_gen_one_of(fl_prop_choice(ctx),
	                           (size_t)((const struct ps_model *)mv)->nsubs);
}
static void
gen_ref_index(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct ps_args *)av)->index =
	        (int)fl_gen_one_of(fl_prop_choice(ctx),
	                           (size_t)((const struct ps_model *)mv)->nrefs);
}
static void
gen_pending_index(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct ps_args *)av)->index =
	        (int)fl_gen_one_of(fl_prop_choice(ctx),
	                           (size_t)((const struct ps_model *)mv)->npending);
}
static void
gen_offer(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_pub_index(ctx, mv, av);
	/* Up to one byte past the largest message, one draw in 8 on a
	 * fragment boundary or the largest message (or one off). */
	static const uint64_t max_message = MAX_MESSAGE;
	static const struct fl_gen_edges edges = { FRAG_PAYLOAD, &max_message, 1 };
	((struct ps_args *)av)->len =
	        (uint32_t)fl_gen_size_edges(fl_prop_choice(ctx), 0, MAX_MESSAGE + 1, &edges);
}

/* An add that failed under an injected fault leaves the model as it was:
 * the property is that it leaves nothing behind either (checked at the
 * end).  Without faults any error is a failure. */
static int
add_failed(struct fl_prop_ctx *ctx, struct ps_real *r, const char *what, int rc)
{
	if (r->faults)
		return FL_PROP_PASS;
	return fl_prop_fail(ctx, "%s: %s", what, fl_errname(rc));
}

static int
add_pub_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	int64_t reg;
	int rc = fl_client_add_publication_start(r->client, "chan", 1, false, &reg);
	if (rc)
		return add_failed(ctx, r, "add_publication_start", rc);
	fl_publication *p = NULL;
	for (int i = 0;
	     i < 100 && (rc = fl_client_add_publication_poll(r->client, reg, &p)) == FL_EAGAIN; i++)
		pump(r);
	if (rc == FL_EAGAIN) /* the response was dropped: give up as a caller would */
		fl_client_cancel(r->client, reg);
	if (rc)
		return add_failed(ctx, r, "add_publication", rc);
	r->pubs[r->npubs++] = p;
	((struct ps_args *)av)->len = 1;
	pump(r);
	return FL_PROP_PASS;
}
static void
add_pub_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->npubs += (int)((const struct ps_args *)av)->len;
}

static void
image_handler_noop(void *arg, fl_subscription *s, fl_image *img)
{
}

static int
add_sub_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	int64_t reg;
	struct fl_image_handlers h = { image_handler_noop, image_handler_noop, NULL };
	int rc = fl_client_add_subscription_start(r->client, "chan", 1, &h, &reg);
	if (rc)
		return add_failed(ctx, r, "add_subscription_start", rc);
	fl_subscription *sub = NULL;
	for (int i = 0;
	     i < 100 && (rc = fl_client_add_subscription_poll(r->client, reg, &sub)) == FL_EAGAIN;
	     i++)
		pump(r);
	if (rc == FL_EAGAIN)
		fl_client_cancel(r->client, reg);
	if (rc)
		return add_failed(ctx, r, "add_subscription", rc);
	r->subs[r->nsubs++] = sub;
	((struct ps_args *)av)->len = 1;
	pump(r);
	return FL_PROP_PASS;
}
static void
add_sub_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->nsubs += (int)((const struct ps_args *)av)->len;
}

static int
close_pub_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	int i = ((const struct ps_args *)av)->index;
	int rc = fl_publication_close(r->pubs[i]);
	r->pubs[i] = r->pubs[--r->npubs];
	pump(r);
	return rc ? fl_prop_fail(ctx, "publication_close: %s", fl_errname(rc)) : FL_PROP_PASS;
}
static void
close_pub_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->npubs--;
}

static int
close_sub_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	int i = ((const struct ps_args *)av)->index;
	int rc = fl_subscription_close(r->subs[i]);
	r->subs[i] = r->subs[--r->nsubs];
	pump(r);
	return rc ? fl_prop_fail(ctx, "subscription_close: %s", fl_errname(rc)) : FL_PROP_PASS;
}
static void
close_sub_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->nsubs--;
}

static int
offer_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	const struct ps_args *a = av;
	static uint8_t buf[MAX_MESSAGE + 1];
	fl_publication *p = r->pubs[a->index];
	if (fl_publication_max_message_length(p) != MAX_MESSAGE ||
	    fl_publication_max_payload_length(p) != FRAG_PAYLOAD)
		return fl_prop_fail(ctx, "limits %zu/%zu, the generator assumes %d/%d",
		                    fl_publication_max_message_length(p),
		                    fl_publication_max_payload_length(p), MAX_MESSAGE,
		                    (int)FRAG_PAYLOAD);
	int64_t rc = fl_publication_offer(p, buf, a->len);
	if (a->len > MAX_MESSAGE)
		return rc == FL_EMSGSIZE ? FL_PROP_PASS
		                         : fl_prop_fail(ctx,
		                                        "offer(%u), above the largest message "
		                                        "(%d): %s, want FL_EMSGSIZE",
		                                        a->len, MAX_MESSAGE, fl_errname((int)rc));
	if (rc < 0 && rc != FL_ENOT_CONNECTED && rc != FL_EBACKPRESSURE)
		return fl_prop_fail(ctx, "offer(%u): %s", a->len, fl_errname((int)rc));
	return FL_PROP_PASS;
}

static void
count_fragment(void *clientd, const uint8_t *b, size_t len, const struct fl_header *h)
{
	(*(unsigned *)clientd)++;
}

static int
poll_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	int rc = fl_subscription_poll(r->subs[((const struct ps_args *)av)->index], count_fragment,
	                              &r->received, 16);
	pump(r);
	return rc < 0 ? fl_prop_fail(ctx, "poll: %s", fl_errname(rc)) : FL_PROP_PASS;
}

/* Take a reference on the first image of a subscription, if it has one
 * (images appear asynchronously): the outcome goes into args so the model
 * counts exactly the references the client holds. */
static int
take_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	struct ps_args *a = av;
	fl_image *img = NULL;
	int rc = fl_subscription_image_at_index(r->subs[((const struct ps_args *)av)->index], 0,
	                                        &img);
	if (rc == FL_ENOENT)
		return FL_PROP_PASS;
	if (rc)
		return fl_prop_fail(ctx, "image_at_index: %s", fl_errname(rc));
	r->refs[r->nrefs++] = img;
	a->len = 1; /* took one: take_model follows */
	return FL_PROP_PASS;
}
static void
take_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->nrefs += (int)((const struct ps_args *)av)->len;
}

static int
release_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	int i = ((const struct ps_args *)av)->index;
	int rc = fl_image_release(r->refs[i]);
	r->refs[i] = r->refs[--r->nrefs];
	pump(r);
	return rc ? fl_prop_fail(ctx, "image_release: %s", fl_errname(rc)) : FL_PROP_PASS;
}
static void
release_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->nrefs--;
}

static int
async_start_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	bool pub = ((const struct ps_args *)av)->exclusive;
	int64_t reg;
	int rc = pub ? fl_client_add_publication_start(r->client, "chan", 2, false, &reg)
	             : fl_client_add_subscription_start(r->client, "chan", 2, NULL, &reg);
	if (rc)
		return add_failed(ctx, r, "async add start", rc);
	r->pending_is_pub[r->npending] = pub;
	r->pending[r->npending++] = reg;
	((struct ps_args *)av)->len = 1;
	return FL_PROP_PASS;
}
static void
gen_async(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct ps_args *)av)->exclusive = fl_gen_bool(fl_prop_choice(ctx));
}
static void
async_start_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->npending += (int)((const struct ps_args *)av)->len;
}

static int
cancel_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	int i = ((const struct ps_args *)av)->index;
	pump(r); /* let the add complete or not: cancel must work either way */
	int rc = fl_client_cancel(r->client, r->pending[i]);
	r->pending[i] = r->pending[r->npending - 1];
	r->pending_is_pub[i] = r->pending_is_pub[r->npending - 1];
	r->npending--;
	pump(r);
	return rc && rc != FL_ENOENT ? fl_prop_fail(ctx, "cancel: %s", fl_errname(rc))
	                             : FL_PROP_PASS;
}
static void
cancel_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->npending--;
}

static void
describe_index(const void *av, char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "%s #%d", what, ((const struct ps_args *)av)->index);
}
static void
d_close_pub(const void *a, char *b, size_t l)
{
	describe_index(a, b, l, "close publication");
}
static void
d_close_sub(const void *a, char *b, size_t l)
{
	describe_index(a, b, l, "close subscription");
}
static void
d_poll(const void *a, char *b, size_t l)
{
	describe_index(a, b, l, "poll subscription");
}
static void
d_take(const void *a, char *b, size_t l)
{
	describe_index(a, b, l, "take image of subscription");
}
static void
d_release(const void *a, char *b, size_t l)
{
	describe_index(a, b, l, "release image reference");
}
static void
d_cancel(const void *a, char *b, size_t l)
{
	describe_index(a, b, l, "cancel pending add");
}
static void
d_offer(const void *a, char *b, size_t l)
{
	snprintf(b, l, "offer %u bytes on publication #%d", ((const struct ps_args *)a)->len,
	         ((const struct ps_args *)a)->index);
}
static void
d_async(const void *a, char *b, size_t l)
{
	snprintf(b, l, "start async add %s",
	         ((const struct ps_args *)a)->exclusive ? "publication" : "subscription");
}

#ifdef PLANT_B1
/* B1 in miniature: a convenience lookup that takes a reference and never
 * drops it; the model (like its author) believes it is net zero. */
static int
helper_b1_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	fl_image *img = NULL;
	(void)fl_subscription_image_at_index(r->subs[((const struct ps_args *)av)->index], 0, &img);
	return FL_PROP_PASS;
}
static void
d_helper(const void *a, char *b, size_t l)
{
	describe_index(a, b, l, "lookup helper (B1) on subscription");
}

#endif


/* ---- client lifecycle: reopen, crash, liveness ---- */

static bool
can_reopen(const void *mv)
{
	return true;
}

static int
open_client(struct ps_real *r)
{
	struct fl_client_ctx cc;
	fl_client_ctx_init(&cc);
	cc.ns = r->ns;
	cc.agent = true;
	cc.error_handler = client_error;
	cc.error_arg = r->ctx;
	return fl_client_open(&cc, &r->client);
}

/* Closes the client with everything it holds (publications,
 * subscriptions, pending adds, image references) and opens a new one: the
 * driver must reclaim the old client's registrations and count the
 * references it still held as leaked (checked by ps_check). */
static int
reopen_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	if (r->faults)
		fl_faults_disarm(r->faults);
	if (r->nold < 8) {
		r->old_ids[r->nold] = fl_client_id(r->client);
		r->old_refs[r->nold++] = r->nrefs;
	}
	fl_client_close(r->client);
	r->client = NULL;
	r->npubs = r->nsubs = r->nrefs = r->npending = 0;
	pump(r);
	int rc = open_client(r);
	pump(r);
	if (r->faults && fl_faults_arm(r->faults) != 0 && rc == 0)
		rc = FL_EIO;
	return rc ? fl_prop_fail(ctx, "client reopen: %s", fl_errname(rc)) : FL_PROP_PASS;
}

static void
reopen_model(void *mv, const void *av)
{
	struct ps_model *m = mv;
	m->npubs = m->nsubs = m->nrefs = m->npending = 0;
}

static bool
can_crash(const void *mv)
{
	return !((const struct ps_model *)mv)->zombie;
}

/* What the crashing child reports before it dies. */
struct crash_report {
	int rc;
	uint64_t client_id;
};

static void
crash_child(int fd, const char *ns)
{
	struct crash_report rep = { 0, 0 };
	struct fl_client_ctx cc;
	fl_client *c = NULL;
	fl_client_ctx_init(&cc);
	cc.ns = ns;
	cc.agent = true;
	rep.rc = fl_client_open(&cc, &c);
	if (rep.rc == 0) {
		int64_t reg;
		fl_publication *p = NULL;
		rep.client_id = fl_client_id(c);
		rep.rc = fl_client_add_publication_start(c, "chan", 1, false, &reg);
		/* The driver runs in the parent: poll until it answered. */
		for (long i = 0; rep.rc == 0 && i < 10000000; i++) {
			fl_client_do_work(c);
			rep.rc = fl_client_add_publication_poll(c, reg, &p);
			if (rep.rc != FL_EAGAIN)
				break;
			rep.rc = 0;
			if (i % 64 == 63)
				sched_yield();
		}
	}
	if (write(fd, &rep, sizeof rep) != (ssize_t)sizeof rep)
		_exit(4);
	raise(SIGKILL); /* holding its client record and publication */
	_exit(5);
}

/* A client process adds a publication on the property's channel and is
 * killed.  The parent runs the driver meanwhile (virtual time stands
 * still, so the outcome does not depend on how the two interleave). */
static int
crash_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct ps_real *r = rv;
	int fds[2];
	if (pipe(fds) != 0)
		return fl_prop_fail(ctx, "pipe: %s", strerror(errno));
	if (r->faults)
		fl_faults_disarm(r->faults); /* the child must not draw from the stream */
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		crash_child(fds[1], r->ns);
	}
	close(fds[1]);
	struct crash_report rep;
	ssize_t n = -1;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	for (long i = 0; pid > 0 && i < 50000000; i++) {
		fl_driver_do_work(r->driver);
		n = read(fds[0], &rep, sizeof rep);
		if (n >= 0 || errno != EAGAIN)
			break;
		if (i % 64 == 63)
			sched_yield();
	}
	close(fds[0]);
	int st = 0;
	if (pid > 0) {
		if (n != (ssize_t)sizeof rep)
			kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	if (r->faults && fl_faults_arm(r->faults) != 0)
		return fl_prop_fail(ctx, "re-arming faults failed");
	if (pid < 0 || n != (ssize_t)sizeof rep || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		return fl_prop_fail(
		        ctx, "the crashing client process did not run as planned (status %#x)", st);
	if (rep.rc)
		return fl_prop_fail(ctx, "crashing client: open/add publication: %s",
		                    fl_errname(rep.rc));
	r->zombie_id = rep.client_id;
	pump(r);
	return FL_PROP_PASS;
}

static void
crash_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->zombie = true;
}

static bool
has_zombie(const void *mv)
{
	return ((const struct ps_model *)mv)->zombie;
}

/* Lets the driver's client liveness timeout pass (virtual time, 100 ms
 * at a time, pumping so the live client keeps heart-beating). */
static void
pass_liveness(struct ps_real *r)
{
	for (uint64_t t = 0; t <= FL_DRIVER_CLIENT_LIVENESS_NS; t += 100 * FL_NS_PER_MS) {
		vclock_ns += 100 * FL_NS_PER_MS;
		pump(r);
	}
}

static int
liveness_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	pass_liveness(rv);
	return FL_PROP_PASS;
}

static void
liveness_model(void *mv, const void *av)
{
	((struct ps_model *)mv)->zombie = false;
}

static const struct fl_model_cmd ps_cmds[] = {
	{ .name = "add publication",
	  .weight = 3,
	  .precondition = can_add_pub,
	  .apply_real = add_pub_real,
	  .apply_model = add_pub_model },
	{ .name = "add subscription",
	  .weight = 3,
	  .precondition = can_add_sub,
	  .apply_real = add_sub_real,
	  .apply_model = add_sub_model },
	{ .name = "offer",
	  .weight = 4,
	  .precondition = has_pub,
	  .gen = gen_offer,
	  .apply_real = offer_real,
	  .describe = d_offer },
	{ .name = "poll",
	  .weight = 4,
	  .precondition = has_sub,
	  .gen = gen_sub_index,
	  .apply_real = poll_real,
	  .describe = d_poll },
	{ .name = "take image",
	  .weight = 3,
	  .precondition = can_take,
	  .gen = gen_sub_index,
	  .apply_real = take_real,
	  .apply_model = take_model,
	  .describe = d_take },
	{ .name = "release image",
	  .weight = 3,
	  .precondition = has_ref,
	  .gen = gen_ref_index,
	  .apply_real = release_real,
	  .apply_model = release_model,
	  .describe = d_release },
	{ .name = "close publication",
	  .weight = 1,
	  .precondition = has_pub,
	  .gen = gen_pub_index,
	  .apply_real = close_pub_real,
	  .apply_model = close_pub_model,
	  .describe = d_close_pub },
	{ .name = "close subscription",
	  .weight = 1,
	  .precondition = has_sub,
	  .gen = gen_sub_index,
	  .apply_real = close_sub_real,
	  .apply_model = close_sub_model,
	  .describe = d_close_sub },
	{ .name = "async add",
	  .weight = 2,
	  .precondition = can_start_async,
	  .gen = gen_async,
	  .apply_real = async_start_real,
	  .apply_model = async_start_model,
	  .describe = d_async },
#ifdef PLANT_B1
	{ .name = "lookup helper",
	  .weight = 1,
	  .precondition = has_sub,
	  .gen = gen_sub_index,
	  .apply_real = helper_b1_real,
	  .describe = d_helper },
#endif
	{ .name = "cancel",
	  .weight = 2,
	  .precondition = has_pending,
	  .gen = gen_pending_index,
	  .apply_real = cancel_real,
	  .apply_model = cancel_model,
	  .describe = d_cancel },
	{ .name = "close the client with what it holds and open a new one",
	  .weight = 1,
	  .precondition = can_reopen,
	  .apply_real = reopen_real,
	  .apply_model = reopen_model },
	{ .name = "a client process adds a publication and is killed",
	  .weight = 1,
	  .precondition = can_crash,
	  .apply_real = crash_real,
	  .apply_model = crash_model },
	{ .name = "the client liveness timeout passes",
	  .weight = 1,
	  .precondition = has_zombie,
	  .apply_real = liveness_real,
	  .apply_model = liveness_model },
};

static const struct fl_client_stats *
me(const struct fl_stats *st, uint64_t id)
{
	for (int i = 0; i < st->client_count; i++)
		if (st->clients[i].client_id == id)
			return &st->clients[i];
	return NULL;
}

/* The auditor's read is not part of the system under test: faults are
 * off while it maps the counters. */
static int
read_stats(struct ps_real *r, struct fl_stats *st)
{
	if (r->faults)
		fl_faults_disarm(r->faults);
	int rc = fl_stats_read(r->ns, st);
	if (r->faults && fl_faults_arm(r->faults) != 0 && rc == 0)
		rc = FL_EIO;
	return rc;
}

static int
ps_check(struct fl_prop_ctx *ctx, const void *mv, void *rv)
{
	const struct ps_model *m = mv;
	struct ps_real *r = rv;
	struct fl_stats st;
	int rc = read_stats(r, &st);
	if (rc)
		return fl_prop_fail(ctx, "stats_read: %s", fl_errname(rc));
	const struct fl_client_stats *c = me(&st, fl_client_id(r->client));
	if (!c)
		return fl_prop_fail(ctx, "client %llu not in the driver's table",
		                    (unsigned long long)fl_client_id(r->client));
	if (c->image_refs_held != m->nrefs)
		return fl_prop_fail(ctx, "image_refs: client holds %lld, model %d",
		                    (long long)c->image_refs_held, m->nrefs);
	for (int i = 0; i < r->nold; i++) {
		const struct fl_client_stats *o = me(&st, r->old_ids[i]);
		if (!o || o->state != FL_CLIENT_CLOSED || o->registrations ||
		    o->pending_registrations || o->image_refs_held ||
		    o->refs_leaked != r->old_refs[i])
			return fl_prop_fail(ctx,
			                    "closed client %llu: %s, state %u, registrations %lld, "
			                    "pending %lld, "
			                    "refs %lld, refs_leaked %lld (held %lld at close)",
			                    (unsigned long long)r->old_ids[i],
			                    o ? "record" : "no record", o ? o->state : 0,
			                    o ? (long long)o->registrations : 0,
			                    o ? (long long)o->pending_registrations : 0,
			                    o ? (long long)o->image_refs_held : 0,
			                    o ? (long long)o->refs_leaked : 0,
			                    (long long)r->old_refs[i]);
	}
	if (r->zombie_id) {
		const struct fl_client_stats *z = me(&st, r->zombie_id);
		uint32_t want = m->zombie ? FL_CLIENT_ACTIVE : FL_CLIENT_TIMED_OUT;
		int64_t regs = m->zombie ? 1 : 0;
		if (!z || z->state != want || z->registrations != regs)
			return fl_prop_fail(
			        ctx,
			        "crashed client %llu: %s, state %u (model %u), registrations %lld "
			        "(model %lld)",
			        (unsigned long long)r->zombie_id, z ? "record" : "no record",
			        z ? z->state : 0, want, z ? (long long)z->registrations : 0,
			        (long long)regs);
	}
	return FL_PROP_PASS;
}

/* Files in the run directory (-1: no directory). */
static int
count_run_dir(const char *ns)
{
	char path[256];
	if (fl_run_dir_path(ns, path, sizeof path))
		return -1;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int
ps_final(struct fl_prop_ctx *ctx, void *mv, void *rv)
{
	struct ps_model *m = mv;
	struct ps_real *r = rv;
	if (m->zombie) {
		pass_liveness(r);
		m->zombie = false;
		int rc = ps_check(ctx, m, r);
		if (rc != FL_PROP_PASS)
			return rc;
	}
	for (int i = 0; i < r->nrefs; i++)
		fl_image_release(r->refs[i]);
	r->nrefs = 0;
	for (int i = 0; i < r->npending; i++)
		fl_client_cancel(r->client, r->pending[i]);
	r->npending = 0;
	for (int i = 0; i < r->npubs; i++)
		fl_publication_close(r->pubs[i]);
	r->npubs = 0;
	for (int i = 0; i < r->nsubs; i++)
		fl_subscription_close(r->subs[i]);
	r->nsubs = 0;
	pump(r);
	fl_client_close(r->client);
	r->client = NULL;
	pump(r);
	if (r->faults)
		fl_faults_disarm(r->faults);
	pump(r);
	struct fl_stats st;
	int rc = fl_stats_read(r->ns, &st);
	if (rc)
		return fl_prop_fail(ctx, "stats_read: %s", fl_errname(rc));
	if (st.publications || st.subscriptions || st.images || st.log_files ||
	    st.log_files_mapped || st.pending_registrations || st.image_refs_held ||
	    st.active_clients)
		return fl_prop_fail(
		        ctx,
		        "gauges after close: pubs %lld subs %lld images %lld logs %lld mapped %lld "
		        "pending %lld refs %lld clients %lld",
		        (long long)st.publications, (long long)st.subscriptions,
		        (long long)st.images, (long long)st.log_files,
		        (long long)st.log_files_mapped, (long long)st.pending_registrations,
		        (long long)st.image_refs_held, (long long)st.active_clients);
	int now = count_run_dir(r->ns);
	if (now > r->baseline_files)
		return fl_prop_fail(ctx,
		                    "%d file(s) left in the run directory beyond the driver's %d",
		                    now - r->baseline_files, r->baseline_files);
	return FL_PROP_PASS;
}

#define PS_SPEC(name_, setup_)                                                                     \
	{                                                                                          \
		.name = name_, .cmds = ps_cmds, .ncmds = sizeof ps_cmds / sizeof ps_cmds[0],       \
		.max_steps = 40, .avg_steps = 15, .setup = setup_, .check = ps_check,              \
		.final_check = ps_final, .teardown = ps_teardown,                                  \
	}

static const struct fl_model_spec ps_spec = PS_SPEC("pubsub_refs", ps_setup);

/* Faults at the points an add goes through (see prop_faults.h): the
 * response dropped, the registration or the log buffer failing, a segment
 * not created or not mapped. */
static const char *const fault_points[] = {
	"transport/cmd/drop",  "transport/driver/registration",
	"transport/log/alloc", "transport/shm/create",
	"transport/shm/map",
};

static int
ps_setup_faults(struct fl_prop_ctx *ctx, void **model, void **real)
{
	return prop_setup_faults(ctx, model, real, &ps_spec, offsetof(struct ps_real, faults),
	                         fault_points, sizeof fault_points / sizeof fault_points[0]);
}

static const struct fl_model_spec ps_spec_faults = PS_SPEC("pubsub_refs_faults", ps_setup_faults);

static const struct fl_prop_def props[] = {
	{ "pubsub_refs", fl_model_prop, &ps_spec,
	  "pub/sub adds (sync, async, cancelled), offers, polls, image take/release, closes: "
	  "image references balanced at every step, zero files and gauges at the end" },
	{ "pubsub_refs_faults", fl_model_prop, &ps_spec_faults,
	  "the same with adds failing at random (response dropped, registration, log buffer, "
	  "segment create/map): nothing left behind" },
};

/* What the names of this program's trials' run directories start with. */
#define PUBSUB_DIRS "faultline-prop-pubsub-"

#ifndef PLANT_B1
int
main(int argc, char **argv)
{
	return prop_program_main("pubsub_prop", argc, argv, props, sizeof props / sizeof props[0],
	                         PUBSUB_DIRS);
}
#else
/* The B1 bug planted in the command set: the property must catch it on
 * every seed and shrink it to the hand-written reproduction's three steps
 * (add subscription, add publication, lookup helper). */
int
main(int argc, char **argv)
{
	if (planted_help(argc, argv, ""))
		return 0;
	start_reaper(PUBSUB_DIRS);
	/* --bench [RUNS]: trials and seconds to find and shrink B1. */
	if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
		unsigned runs = argc >= 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 10;
		printf("# pubsub_prop_b1: find and shrink, seeds 1..%u\n", runs);
		bench_find("b1", &props[0], 1, runs);
		remove_leftovers();
		return 0;
	}
	/* A saved trace (`faultline replay TRACE` runs this program). */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--replay") == 0 || strcmp(argv[i], "--shrink") == 0)
			return fl_prop_main(argc, argv, props, sizeof props / sizeof props[0]);
	int code = planted_check(argc, argv, "b1", &props[0], "lookup helper", "image_refs:", 3, 0);
	remove_leftovers();
	return code;
}
#endif
