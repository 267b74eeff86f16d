/*
 * Publish/subscribe operations of the interpreter, and the pub/sub part of
 * the audit.
 *
 * Each actor has its own fl_client (conductor on its own thread, which
 * under sim is another actor).  A message carries [u32 seq][u32 pub
 * object][fill], so a subscriber checks order, loss, duplication and
 * content per publication.  Image references taken by take_image are
 * counted per actor: what is still held when the run ends is the
 * image_refs violation (bug class B1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/choice.h"
#include "faultline/client.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/prop.h"
#include "faultline/stats.h"

#include "faultline/impl.h"
#include "faultline/target.h"
#include "run/run_internal.h"
#include "scenario/loader.h" /* MAX_COUNT, MAX_MSG_SIZE: the loader's limits */

/* Its ops are declared as a target's are (faultline/target.h; the table
 * pubsub_ops below): the loader reads them as any target's, and
 * fli_builtin_op calls each op's fn with fli_builtin_cur set to the
 * actor and the op being run, which the fn reads before anything else. */

/* The index of each op's arguments in its declaration. */
enum { AD_CHANNEL, AD_STREAM, AD_EXCLUSIVE, AD_ASYNC, AD_CANCEL_AT };
/* a subscription: not exclusive; batched reads (fl_subscription_set_batch) */
enum { AS_CHANNEL, AS_STREAM, AS_ASYNC, AS_CANCEL_AT, AS_BATCH, AS_BATCH_DELAY_US };
enum { RM_OBJ, RM_ASYNC, RM_CANCEL_AT };
enum { OF_PUB, OF_COUNT, OF_SIZE, OF_SIZES, OF_IMPL };
enum { PL_SUB, PL_UNTIL };
enum { TI_SUB, TI_FROM, TI_INDEX };
enum { LK_SUB, LK_FROM, LK_IMPL };
enum { RI_IMG };

bool
fli_scenario_uses_pubsub(const struct fl_scenario *s)
{
	return fl_scenario_uses_domain(s, FL_SCN_DOMAIN_PUBSUB);
}

/* A message's header: its sequence number, its publication object, its
 * length; the payload after it is a function of the sequence number and
 * the offset (fill_message). */
#define MSG_HEADER 12u

struct sub_state {
	fl_subscription *sub;
	struct fl_fragment_assembler fa;
	struct actor_run *ar;
	uint32_t received; /* messages delivered, all ops */
	int64_t *expected; /* next seq per pub object, -1: none seen */
};

static void
client_error(void *arg, int err, const char *what)
{
	struct actor_run *ar = arg;

	/* A driver timeout or a lapped broadcast is the client's to report;
	 * the run judges by properties.  Keep the first for the detail. */
	if (err != FL_ECLOSED && !fli_run_faults_fired_for(ar))
		fli_run_fail(ar->run, "operations", "actor %s: client: %s: %s", ar->a->name,
		             what ? what : "", fl_errname(err));
}

int
fli_actor_client_open(struct actor_run *ar, void (*on_error)(void *ar, int err, const char *what),
                      void **out)
{
	struct run *r = ar->run;
	struct fl_client_ctx ctx;
	int rv = fli_wait_driver(r);

	if (rv != 0)
		return rv;
	fl_client_ctx_init(&ctx);
	ctx.ns = r->ns;
	ctx.driver_timeout_ns = r->timeout_ns;
	ctx.resource_linger_ns = r->linger_ns;
	ctx.error_handler = on_error;
	ctx.error_arg = ar;
	return fl_client_open(&ctx, (fl_client **)out);
}

/* Open this actor's client on first use, once the driver is up. */
static int
ensure_client(struct actor_run *ar)
{
	int rv;

	if (ar->client != NULL)
		return 0;
	rv = fli_actor_client_open(ar, client_error, &ar->client);
	if (rv == 0)
		ar->client_ids[ar->nclient_ids++ % RUN_MAX_CLIENT_IDS] = fl_client_id(ar->client);
	return rv;
}

static void
on_message(void *clientd, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	struct sub_state *ss = clientd;
	struct run *r = ss->ar->run;
	uint32_t seq, pub, sent_len;

	(void)h;
	ss->received++;
	if (len < MSG_HEADER) {
		fli_run_fail(r, "delivery_in_order",
		             "actor %s: a %zu-byte message is shorter than its header",
		             ss->ar->a->name, len);
		return;
	}
	memcpy(&seq, buf, 4);
	memcpy(&pub, buf + 4, 4);
	memcpy(&sent_len, buf + 8, 4);
	if (pub >= r->s->object_count) {
		fli_run_fail(r, "delivery_in_order",
		             "actor %s: message names publication %u of %zu", ss->ar->a->name, pub,
		             r->s->object_count);
		return;
	}
	if (sent_len != len) {
		fli_run_fail(r, "delivery_in_order",
		             "actor %s: message %u from %s is %zu bytes, %u were sent",
		             ss->ar->a->name, seq, r->s->objects[pub].name, len, sent_len);
		return;
	}
	for (size_t i = MSG_HEADER; i < len; i++) {
		if (buf[i] != (uint8_t)(seq * 31 + i)) {
			fli_run_fail(r, "delivery_in_order",
			             "actor %s: message %u from %s corrupted at byte %zu",
			             ss->ar->a->name, seq, r->s->objects[pub].name, i);
			return;
		}
	}
	if (ss->expected[pub] >= 0 && (int64_t)seq != ss->expected[pub]) {
		uint32_t p = r->s->properties;
		if ((int64_t)seq < ss->expected[pub] && (p & FL_SCN_PROP_NO_DUPLICATES))
			fli_run_fail(r, "no_duplicates",
			             "actor %s: message %u from %s again (expected %lld)",
			             ss->ar->a->name, seq, r->s->objects[pub].name,
			             (long long)ss->expected[pub]);
		else if ((int64_t)seq > ss->expected[pub] && (p & FL_SCN_PROP_NO_LOSS))
			fli_run_fail(r, "no_loss", "actor %s: messages %lld..%u from %s lost",
			             ss->ar->a->name, (long long)ss->expected[pub], seq - 1,
			             r->s->objects[pub].name);
		else if (p & FL_SCN_PROP_DELIVERY_IN_ORDER)
			fli_run_fail(r, "delivery_in_order",
			             "actor %s: message %u from %s out of order (expected %lld)",
			             ss->ar->a->name, seq, r->s->objects[pub].name,
			             (long long)ss->expected[pub]);
	}
	ss->expected[pub] = (int64_t)seq + 1;
}

static int
cancel_step(struct actor_run *ar, int cancel_at)
{
	if (cancel_at == FL_SCN_CANCEL_RANDOM)
		return (int)fl_choice_draw(ar->choices, 8);
	return cancel_at;
}

/* What add_publication and add_subscription were given. */
struct add {
	const char *channel;
	int32_t stream;
	bool exclusive, async;
	int cancel_at;
	fl_scn_ref as;
	uint32_t batch; /* a subscription's batch bytes (0: none) */
	uint64_t batch_delay_ns;
};

static int
add(const struct fl_target_args *args, bool is_pub)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	const struct add given = { .channel = args->strs[AD_CHANNEL],
		                   .stream = (int32_t)args->ints[AD_STREAM],
		                   .exclusive = is_pub && args->ints[AD_EXCLUSIVE] != 0,
		                   .async = args->ints[is_pub ? AD_ASYNC : AS_ASYNC] != 0,
		                   .cancel_at =
		                           (int)args->ints[is_pub ? AD_CANCEL_AT : AS_CANCEL_AT],
		                   .as = op->u.target.as,
		                   .batch = is_pub ? 0 : (uint32_t)args->ints[AS_BATCH],
		                   .batch_delay_ns =
		                           is_pub ? 0
		                                  : (uint64_t)args->ints[AS_BATCH_DELAY_US] *
		                                            1000u },
	                 *a = &given;
	struct fl_idle st = { 0 };
	uint64_t deadline = fli_deadline_after_ms(r, 0);
	int64_t reg;
	int rv = ensure_client(ar);
	void *obj = NULL;

	if (rv != 0) {
		fli_op_error(ar, op, "client", rv);
		return 0;
	}
	if (!a->async) {
		if (is_pub)
			rv = fl_client_add_publication(ar->client, a->channel, a->stream,
			                               a->exclusive, deadline,
			                               (fl_publication **)&obj);
		else
			rv = fl_client_add_subscription(ar->client, a->channel, a->stream, NULL,
			                                deadline, (fl_subscription **)&obj);
	} else {
		int cancel =
		        a->cancel_at == FL_SCN_CANCEL_NONE ? -1 : cancel_step(ar, a->cancel_at);

		rv = is_pub ? fl_client_add_publication_start(ar->client, a->channel, a->stream,
		                                              a->exclusive, &reg)
		            : fl_client_add_subscription_start(ar->client, a->channel, a->stream,
		                                               NULL, &reg);
		for (int step = 0; rv == 0; step++) {
			if (step == cancel) {
				fl_client_cancel(ar->client, reg);
				return 0; /* a cancelled add leaves no object */
			}
			rv = is_pub ? fl_client_add_publication_poll(ar->client, reg,
			                                             (fl_publication **)&obj)
			            : fl_client_add_subscription_poll(ar->client, reg,
			                                              (fl_subscription **)&obj);
			if (rv != FL_EAGAIN)
				break;
			if (fl_clock_now_ns() >= deadline) {
				fl_client_cancel(ar->client, reg);
				rv = FL_ETIMEDOUT;
				break;
			}
			fl_idle(&st, 0, deadline);
			rv = 0;
		}
	}
	if (rv != 0) {
		fli_op_error(ar, op, a->channel, rv);
		return 0;
	}
	if (is_pub) {
		r->objs[a->as] = obj;
		__atomic_store_n(&r->sessions[a->as], (int64_t)fl_publication_session_id(obj),
		                 __ATOMIC_RELEASE);
		return 0;
	}
	/* The arguments' bounds are set_batch's: an error here is the
	 * library's, and the op's. */
	if (a->batch != 0 &&
	    (rv = fl_subscription_set_batch(obj, a->batch, a->batch_delay_ns)) != 0) {
		fl_subscription_close(obj);
		fli_op_error(ar, op, "batch", rv);
		return 0;
	}
	struct sub_state *ss = calloc(1, sizeof(*ss));
	int64_t *exp = calloc(r->s->object_count + 1, sizeof(int64_t));
	if (ss == NULL || exp == NULL) {
		free(ss);
		free(exp);
		fl_subscription_close(obj);
		fli_op_error(ar, op, "memory", FL_ENOMEM);
		return 0;
	}
	for (size_t i = 0; i < r->s->object_count; i++)
		exp[i] = -1;
	ss->sub = obj;
	ss->ar = ar;
	ss->expected = exp;
	fl_fragment_assembler_init(&ss->fa, on_message, ss);
	r->objs[a->as] = ss;
	return 0;
}

static int
do_add_publication(void *state, const struct fl_target_args *args, void **created)
{
	(void)state, (void)created;
	return add(args, true);
}

static int
do_add_subscription(void *state, const struct fl_target_args *args, void **created)
{
	(void)state, (void)created;
	return add(args, false);
}

static void
close_publication(void *state, void *obj)
{
	(void)state;
	fl_publication_close(obj);
}

static void
close_subscription(void *state, void *obj)
{
	struct sub_state *ss = obj;

	(void)state;
	fl_subscription_close(ss->sub);
	fl_fragment_assembler_fini(&ss->fa);
	free(ss->expected);
	free(ss);
}

/* An image is released only by release_image: one still held is the
 * leak the audit reports (image_refs), not something to tidy. */
static void
keep_image(void *state, void *obj)
{
	(void)state, (void)obj;
}

enum { K_PUBLICATION, K_SUBSCRIPTION, K_IMAGE };
static const struct fl_target_kind pubsub_kinds[] = {
	[K_PUBLICATION] = { .name = "publication", .close = close_publication },
	[K_SUBSCRIPTION] = { .name = "subscription", .close = close_subscription },
	[K_IMAGE] = { .name = "image", .close = keep_image },
	{ NULL },
};

static void
close_object(struct run *r, size_t i)
{
	const struct fl_scenario_object *o = &r->s->objects[i];

	if (r->objs[i] == NULL)
		return;
	if (o->kind == FL_SCN_OBJ_PUBLICATION) {
		pubsub_kinds[K_PUBLICATION].close(NULL, r->objs[i]);
	} else if (o->kind == FL_SCN_OBJ_SUBSCRIPTION) {
		pubsub_kinds[K_SUBSCRIPTION].close(NULL, r->objs[i]);
	} else if (o->kind == FL_SCN_OBJ_IMAGE) {
		pubsub_kinds[K_IMAGE].close(NULL, r->objs[i]); /* kept: image_refs' */
		return;
	} else {
		/* Another domain's (a cluster client's state): its own close
		 * and teardown free it; cleared here, it leaked (no_heap_growth
		 * found it). */
		return;
	}
	r->objs[i] = NULL;
}

/* remove_publication, remove_subscription: closed at once (async and
 * cancel_at are read, and change nothing: the close does not wait). */
static int
do_remove(void *state, const struct fl_target_args *args, void **created)
{
	const struct fl_scenario_op *op = fli_builtin_cur.op;

	(void)state, (void)args, (void)created;
	if (op->u.target.objs[RM_OBJ] >= 0)
		close_object(fli_builtin_cur.ar->run, (size_t)op->u.target.objs[RM_OBJ]);
	return 0;
}

/*
 * offer: first wait (at most OFFER_CONNECT_WAIT_NS) for a subscriber, so an
 * exchange set up with barriers does not lose its first messages to the
 * driver's asynchronous linking; then each message is offered, retried
 * while back-pressured until the deadline, and dropped when no subscriber
 * is connected, as an Aeron publisher's offer would be: what a subscriber
 * then misses is not loss (no_loss judges gaps among what it received).
 */
#define OFFER_CONNECT_WAIT_NS FL_NS_PER_SEC

/* What offer was given: the publication's object, and sizes. */
struct offer {
	fl_scn_ref pub;
	uint32_t count, size_min, size_max;
};

/* Writes message `seq` of publication object `pubidx`: its header, then
 * the payload on_message checks byte by byte. */
static void
fill_message(uint8_t *buf, uint32_t len, uint32_t seq, uint32_t pubidx)
{
	memcpy(buf, &seq, 4);
	memcpy(buf + 4, &pubidx, 4);
	memcpy(buf + 8, &len, 4);
	for (uint32_t b = MSG_HEADER; b < len; b++)
		buf[b] = (uint8_t)(seq * 31 + b);
}

/* The next message's size: drawn in [size_min, size_max] (one draw in
 * FL_GEN_EDGE_DEN on a boundary of `edges`), at least a header. */
static uint32_t
draw_size(struct actor_run *ar, const struct offer *o, const struct fl_gen_edges *edges)
{
	uint64_t drawn;

	if (!fl_gen_edge(ar->choices, o->size_min, o->size_max, edges, &drawn))
		drawn = (uint64_t)fl_choice_range(ar->choices, o->size_min, o->size_max);
	return drawn < MSG_HEADER ? MSG_HEADER : (uint32_t)drawn;
}

/* The most bytes one offer op with `impl:` builds before handing them to
 * the helper at once. */
#define OFFER_BATCH_MAX_BYTES (64u << 20)

/*
 * offer {impl}: the messages are built first (sizes drawn as without
 * impl), then the fixture helper named sends them all (fl_impl_offer_fn).
 * What it went through counts as sent: what it drops, repeats or reorders
 * is the subscribers' to see (no_loss, no_duplicates, delivery_in_order).
 */
static void
offer_batch(struct actor_run *ar, const struct fl_scenario_op *op, const struct offer *o,
            fl_publication *pub, const struct fl_impl *impl, const struct fl_gen_edges *edges)
{
	struct run *r = ar->run;
	struct fl_impl_msg *msgs = calloc(o->count, sizeof(*msgs));
	uint8_t *bytes = NULL;
	uint64_t total = 0;
	uint32_t sent = 0;
	int rv;

	if (msgs == NULL) {
		fli_op_error(ar, op, "offer batch", FL_ENOMEM);
		return;
	}
	for (uint32_t i = 0; i < o->count; i++) {
		msgs[i].len = draw_size(ar, o, edges);
		total += msgs[i].len;
	}
	if (total > OFFER_BATCH_MAX_BYTES || (bytes = malloc(total)) == NULL) {
		fli_op_error(ar, op, "offer batch",
		             total > OFFER_BATCH_MAX_BYTES ? FL_ELIMIT : FL_ENOMEM);
		goto out;
	}
	total = 0;
	for (uint32_t i = 0; i < o->count; i++) {
		fill_message(bytes + total, msgs[i].len, r->sent[o->pub] + i, (uint32_t)o->pub);
		msgs[i].buf = bytes + total;
		total += msgs[i].len;
	}
	rv = impl->fn.offer(pub, msgs, o->count, fli_deadline_after_ms(r, 0), &sent);
	/* A batch cut short by an error: the next numbers from where it
	 * stopped, as without impl (no gap a fault excused becomes loss). */
	r->sent[o->pub] += rv == 0 || sent > o->count ? o->count : sent;
	if (rv != 0)
		fli_op_error(ar, op, impl->name, rv);
out:
	free(bytes);
	free(msgs);
}

static int
do_offer(void *state, const struct fl_target_args *args, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	bool range = (args->given & (1u << OF_SIZES)) != 0;
	const struct offer given = {
		.pub = op->u.target.objs[OF_PUB],
		.count = (uint32_t)args->ints[OF_COUNT],
		.size_min = (uint32_t)(range ? args->ints[OF_SIZES] : args->ints[OF_SIZE]),
		.size_max = (uint32_t)(range ? args->his[OF_SIZES] : args->ints[OF_SIZE]),
	},
	                   *o = &given;
	const struct fl_impl *impl =
	        (args->given & (1u << OF_IMPL)) != 0 ? fl_impl_find(args->strs[OF_IMPL]) : NULL;
	fl_publication *pub = o->pub >= 0 ? r->objs[o->pub] : NULL;
	struct fl_idle st = { 0 };
	uint8_t *buf;
	uint32_t maxlen = o->size_max > MSG_HEADER ? o->size_max : MSG_HEADER;
	uint64_t connect_until = fl_clock_now_ns() + OFFER_CONNECT_WAIT_NS;

	(void)state, (void)created;
	if (pub == NULL) {
		fli_op_error(ar, op, "no publication", FL_ESTATE);
		return 0;
	}
	while (!fl_publication_is_connected(pub) && fl_clock_now_ns() < connect_until)
		fl_idle(&st, 0, connect_until);
	/* Sizes where the transport changes path: each multiple of the
	 * fragment payload, the largest message (docs/scenario-format.md: sizes). */
	uint64_t max_message = fl_publication_max_message_length(pub);
	struct fl_gen_edges edges = { .step = fl_publication_max_payload_length(pub),
		                      .points = &max_message,
		                      .npoints = 1 };
	if (impl != NULL && impl->kind == FL_IMPL_OFFER) {
		offer_batch(ar, op, o, pub, impl, &edges);
		return 0;
	}
	buf = malloc(maxlen);
	if (buf == NULL) {
		fli_op_error(ar, op, "offer", FL_ENOMEM);
		return 0;
	}
	for (uint32_t i = 0; i < o->count; i++) {
		uint32_t len = draw_size(ar, o, &edges), seq = r->sent[o->pub];
		uint64_t deadline = fli_deadline_after_ms(r, 0);
		int64_t rv;

		fill_message(buf, len, seq, (uint32_t)o->pub);
		for (;;) {
			rv = fl_publication_offer(pub, buf, len);
			if (rv > 0 || rv != FL_EBACKPRESSURE || fl_clock_now_ns() >= deadline)
				break;
			fl_idle(&st, 0, deadline);
		}
		if (rv == FL_ENOT_CONNECTED) {
			fl_idle(&st, 1, FL_DEADLINE_NONE);
			continue; /* dropped: nobody listens */
		}
		if (rv <= 0) {
			fli_op_error(ar, op, "offer", (int)rv);
			break;
		}
		r->sent[o->pub]++;
		fl_idle(&st, 1, FL_DEADLINE_NONE);
	}
	free(buf);
	return 0;
}

static int
do_poll(void *state, const struct fl_target_args *args, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	fl_scn_ref sub = op->u.target.objs[PL_SUB];
	uint32_t until = (uint32_t)args->ints[PL_UNTIL];
	struct sub_state *ss = sub >= 0 ? r->objs[sub] : NULL;
	struct fl_idle st = { 0 };
	uint64_t deadline = fl_clock_now_ns() + fli_target_deadline_span(ar, op);
	uint32_t got = 0, start;

	(void)state, (void)created;
	if (ss == NULL) {
		fli_op_error(ar, op, "no subscription", FL_ESTATE);
		return 0;
	}
	start = ss->received;
	while (got < until) {
		int n = fl_subscription_poll(ss->sub, fl_fragment_assembler_handler, &ss->fa, 16);
		if (n < 0) {
			fli_op_error(ar, op, "poll", n);
			return 0;
		}
		got = ss->received - start;
		if (got >= until)
			break;
		if (fl_clock_now_ns() >= deadline) {
			if (r->s->properties & FL_SCN_PROP_NO_LOSS)
				fli_run_fail(r, "no_loss",
				             "actor %s: poll (line %d) received %u of %u messages "
				             "by its deadline",
				             ar->a->name, op->line, got, until);
			return 0;
		}
		fl_idle(&st, n, deadline);
	}
	return 0;
}

/* What take_image was given. */
struct take {
	fl_scn_ref sub, from, as;
	uint32_t index;
};

static int
do_take_image(void *state, const struct fl_target_args *args, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	const struct take given = { .sub = op->u.target.objs[TI_SUB],
		                    .from = op->u.target.objs[TI_FROM],
		                    .as = op->u.target.as,
		                    .index = (uint32_t)args->ints[TI_INDEX] },
	                  *t = &given;
	struct sub_state *ss = t->sub >= 0 ? r->objs[t->sub] : NULL;
	struct fl_idle st = { 0 };
	uint64_t deadline = fli_deadline_after_ms(r, 0);
	fl_image *img = NULL;
	int rv;

	(void)state, (void)created;
	if (ss == NULL) {
		fli_op_error(ar, op, "no subscription", FL_ESTATE);
		return 0;
	}
	for (;;) {
		if (t->from >= 0) {
			/* The session the publication was given, by whichever
			 * actor or process added it (proc mode: another process). */
			int64_t sid = __atomic_load_n(&r->sessions[t->from], __ATOMIC_ACQUIRE);
			if (sid == RUN_NO_SESSION)
				rv = FL_ENOENT; /* not added yet: wait for it */
			else
				rv = fl_subscription_image_by_session_id(ss->sub, (int32_t)sid,
				                                         &img);
		} else {
			rv = fl_subscription_image_at_index(ss->sub, (int)t->index, &img);
		}
		if (rv != FL_ENOENT || fl_clock_now_ns() >= deadline)
			break;
		fl_idle(&st, 0, deadline);
	}
	if (rv != 0) {
		fli_op_error(ar, op, "image", rv);
		return 0;
	}
	r->objs[t->as] = img;
	ar->image_refs++;
	ar->last_image_session = fl_image_session_id(img);
	ar->last_image_line = op->line;
	ar->last_image_lookup = false;
	return 0;
}

/*
 * lookup_image: the fixture helper named by `impl` looks the publication's
 * session up (retrying while the image does not exist yet, until the
 * deadline) and reads a position.  The actor takes no reference of its own:
 * whatever the client still holds afterwards the helper left behind, which
 * --check-each-step names at this step and the end-of-run audit finds in
 * the client's refs_leaked at close.
 */
/* What lookup_image was given. */
struct lookup {
	fl_scn_ref sub, from;
	const char *impl;
};

static int
do_lookup_image(void *state, const struct fl_target_args *args, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	const struct lookup given = { .sub = op->u.target.objs[LK_SUB],
		                      .from = op->u.target.objs[LK_FROM],
		                      .impl = args->strs[LK_IMPL] },
	                    *lk = &given;
	const struct fl_impl *impl = fl_impl_find(lk->impl);
	struct sub_state *ss = lk->sub >= 0 ? r->objs[lk->sub] : NULL;
	struct fl_idle st = { 0 };
	uint64_t deadline = fli_deadline_after_ms(r, 0);
	int64_t position;
	int rv;

	(void)state, (void)created;
	if (impl == NULL || impl->kind != FL_IMPL_IMAGE_LOOKUP) {
		fli_op_error(ar, op, lk->impl, FL_EINVAL);
		return 0;
	}
	if (ss == NULL || lk->from < 0) {
		fli_op_error(ar, op, ss == NULL ? "no subscription" : "no publication", FL_ESTATE);
		return 0;
	}
	for (;;) {
		/* The publication's session, from whichever process added it. */
		int64_t sid = __atomic_load_n(&r->sessions[lk->from], __ATOMIC_ACQUIRE);
		rv = sid == RUN_NO_SESSION
		             ? FL_ENOENT
		             : impl->fn.image_lookup(ss->sub, (int32_t)sid, &position);
		if (rv != FL_ENOENT || fl_clock_now_ns() >= deadline)
			break;
		fl_idle(&st, 0, deadline);
	}
	if (rv != 0) {
		fli_op_error(ar, op, lk->impl, rv);
	} else {
		ar->last_image_session =
		        (int)__atomic_load_n(&r->sessions[lk->from], __ATOMIC_RELAXED);
		ar->last_image_line = op->line;
		ar->last_image_lookup = true;
	}
	return 0;
}

static int
do_release_image(void *state, const struct fl_target_args *args, void **created)
{
	struct actor_run *ar = fli_builtin_cur.ar;
	const struct fl_scenario_op *op = fli_builtin_cur.op;
	struct run *r = ar->run;
	fl_scn_ref i = op->u.target.objs[RI_IMG];
	int rv;

	(void)state, (void)args, (void)created;
	if (i < 0 || r->objs[i] == NULL) {
		fli_op_error(ar, op, "no image", FL_ESTATE);
		return 0;
	}
	rv = fl_image_release(r->objs[i]);
	r->objs[i] = NULL;
	if (rv != 0)
		fli_op_error(ar, op, "release", rv);
	else
		ar->image_refs--;
	return 0;
}

/* ---- the declaration ---- */

/* A channel is named (the loader's other strings may be empty: a topic
 * of every message). */
static int
check_channel(const char *name, char *why, size_t len)
{
	if (name[0] != '\0')
		return 0;
	snprintf(why, len, "must not be empty");
	return -1;
}

static int
check_lookup_impl(const char *name, char *why, size_t len)
{
	return fl_impl_check(name, 1u << FL_IMPL_IMAGE_LOOKUP, "image lookup", why, len);
}

static int
check_offer_impl(const char *name, char *why, size_t len)
{
	return fl_impl_check(name, 1u << FL_IMPL_OFFER, "batch sender", why, len);
}

/* cancel_at: the step of an asynchronous add or remove at which it is
 * cancelled, one drawn from the choice stream, or none. */
static const struct fl_target_name cancel_names[] = {
	{ "random", FL_SCN_CANCEL_RANDOM },
	{ "none", FL_SCN_CANCEL_NONE },
	{ NULL },
};

#define CANCEL_AT                                                                                  \
	{                                                                                          \
		.name = "cancel_at", .type = FL_TARGET_INT, .max = 1000000,                        \
		.dflt = FL_SCN_CANCEL_NONE, .names = cancel_names, .requires = "async"             \
	}

static const struct fl_target_arg add_pub_args[] = {
	[AD_CHANNEL] = { .name = "channel",
	                 .type = FL_TARGET_STRING,
	                 .required = true,
	                 .check = check_channel },
	[AD_STREAM] = { .name = "stream",
	                .type = FL_TARGET_INT,
	                .required = true,
	                .min = INT32_MIN,
	                .max = INT32_MAX },
	[AD_EXCLUSIVE] = { .name = "exclusive", .type = FL_TARGET_BOOL },
	[AD_ASYNC] = { .name = "async", .type = FL_TARGET_BOOL },
	[AD_CANCEL_AT] = CANCEL_AT,
	{ NULL },
};

static const struct fl_target_arg add_sub_args[] = {
	[AS_CHANNEL] = { .name = "channel",
	                 .type = FL_TARGET_STRING,
	                 .required = true,
	                 .check = check_channel },
	[AS_STREAM] = { .name = "stream",
	                .type = FL_TARGET_INT,
	                .required = true,
	                .min = INT32_MIN,
	                .max = INT32_MAX },
	[AS_ASYNC] = { .name = "async", .type = FL_TARGET_BOOL },
	[AS_CANCEL_AT] = CANCEL_AT,
	/* Batched reads, in proc and stress mode (the sim's armed points
	 * read every poll): bytes to let a stream run ahead by, and the
	 * longest wait for them. */
	[AS_BATCH] = { .name = "batch", .type = FL_TARGET_INT, .max = 1 << 28 },
	[AS_BATCH_DELAY_US] = { .name = "batch_delay_us",
	                        .type = FL_TARGET_INT,
	                        .min = 1,
	                        .max = 1000,
	                        .dflt = 100 },
	{ NULL },
};

static const struct fl_target_arg remove_pub_args[] = {
	[RM_OBJ] = FLI_ARG_OBJECT("pub", "publication"),
	[RM_ASYNC] = { .name = "async", .type = FL_TARGET_BOOL },
	[RM_CANCEL_AT] = CANCEL_AT,
	{ NULL },
};

static const struct fl_target_arg remove_sub_args[] = {
	[RM_OBJ] = FLI_ARG_OBJECT("sub", "subscription"),
	[RM_ASYNC] = { .name = "async", .type = FL_TARGET_BOOL },
	[RM_CANCEL_AT] = CANCEL_AT,
	{ NULL },
};

static const struct fl_target_arg offer_args[] = {
	[OF_PUB] = FLI_ARG_OBJECT("pub", "publication"),
	[OF_COUNT] = FLI_ARG_COUNT("count"),
	[OF_SIZE] = { .name = "size", .type = FL_TARGET_INT, .max = MAX_MSG_SIZE, .dflt = 64 },
	/* each message's size drawn in [min, max] (docs/scenario-format.md) */
	[OF_SIZES] = { .name = "sizes",
	               .type = FL_TARGET_RANGE,
	               .max = MAX_MSG_SIZE,
	               .excludes = "size" },
	/* a fixture's batch sender sends them (offer_batch) */
	[OF_IMPL] = { .name = "impl", .type = FL_TARGET_STRING, .check = check_offer_impl },
	{ NULL },
};

static const struct fl_target_arg poll_args[] = {
	[PL_SUB] = FLI_ARG_OBJECT("sub", "subscription"),
	[PL_UNTIL] = FLI_ARG_COUNT("until"),
	{ NULL },
};

static const struct fl_target_arg take_args[] = {
	[TI_SUB] = FLI_ARG_OBJECT("sub", "subscription"),
	/* the image of this publication's session, whoever added it */
	[TI_FROM] = { .name = "from",
	              .type = FL_TARGET_OBJECT,
	              .kind = "publication",
	              .any_client = true },
	[TI_INDEX] = { .name = "index", .type = FL_TARGET_INT, .max = 1 << 20, .excludes = "from" },
	{ NULL },
};

static const struct fl_target_arg lookup_args[] = {
	[LK_SUB] = FLI_ARG_OBJECT("sub", "subscription"),
	[LK_FROM] = { .name = "from",
	              .type = FL_TARGET_OBJECT,
	              .required = true,
	              .kind = "publication",
	              .any_client = true },
	[LK_IMPL] = { .name = "impl",
	              .type = FL_TARGET_STRING,
	              .required = true,
	              .check = check_lookup_impl },
	{ NULL },
};

static const struct fl_target_arg release_args[] = {
	[RI_IMG] = FLI_ARG_OBJECT("img", "image"),
	{ NULL },
};

static const struct fl_target_op pubsub_ops[] = {
	{ .name = "add_publication",
	  .args = add_pub_args,
	  .creates = "publication",
	  .fn = do_add_publication },
	{ .name = "remove_publication", .args = remove_pub_args, .closes = "pub", .fn = do_remove },
	{ .name = "add_subscription",
	  .args = add_sub_args,
	  .creates = "subscription",
	  .fn = do_add_subscription },
	{ .name = "remove_subscription",
	  .args = remove_sub_args,
	  .closes = "sub",
	  .fn = do_remove },
	{ .name = "offer", .args = offer_args, .fn = do_offer },
	{ .name = "poll", .args = poll_args, .flags = FL_TARGET_OP_BLOCKS, .fn = do_poll },
	{ .name = "take_image", .args = take_args, .creates = "image", .fn = do_take_image },
	{ .name = "release_image", .args = release_args, .closes = "img", .fn = do_release_image },
	{ .name = "lookup_image", .args = lookup_args, .fn = do_lookup_image },
	{ NULL },
};

const struct fl_target fli_pubsub_target = {
	.abi = FL_TARGET_ABI,
	.name = "pubsub",
	.ops = pubsub_ops,
	.kinds = pubsub_kinds,
};

/* Runs a pub/sub operation: its declaration's fn, with the values of its
 * arguments for this run of it; false for any other kind. */
bool
fli_interp_pubsub_op(struct actor_run *ar, const struct fl_scenario_op *op)
{
	return fli_builtin_op(ar, op, FL_SCN_DOMAIN_PUBSUB);
}

/* Close this actor's publications and subscriptions, then its client. */
void
fli_interp_pubsub_close(struct actor_run *ar)
{
	struct run *r = ar->run;

	if (!r->pubsub)
		return;
	/* What the actor's code started and left behind is judged before
	 * the close cancels it. */
	fli_audit_pubsub_close(ar);
	for (size_t i = r->s->object_count; i-- > 0;)
		if (r->s->objects[i].actor == ar->index)
			close_object(r, i);
	if (ar->client != NULL) {
		void *c = ar->client;

		fl_client_close(c);
		/* The close freed the client's images: a slot left pointing at
		 * one would hand freed memory to a later release_image (an op
		 * error then, FL_ESTATE, not a use after free of the
		 * harness's own).  Only this actor's slots: a pub/sub client is
		 * one actor's, and other actors' fields are theirs to write
		 * (stress mode: ThreadSanitizer). */
		for (size_t i = 0; i < r->s->object_count; i++)
			if (r->s->objects[i].kind == FL_SCN_OBJ_IMAGE &&
			    r->s->objects[i].actor == ar->index)
				r->objs[i] = NULL;
		ar->client = NULL;
	}
}

/* True once the driver holds nothing: the drain before the audit ends. */
bool
fli_interp_pubsub_quiet(struct run *r)
{
	struct fl_stats *st = malloc(sizeof(*st));
	bool quiet;

	if (st == NULL || fl_stats_read(r->ns, st) != 0) {
		free(st);
		return true;
	}
	quiet = st->active_clients == 0 && st->publications == 0 && st->subscriptions == 0 &&
	        st->images == 0 && st->log_files == 0 && st->log_files_mapped == 0 &&
	        st->pending_registrations == 0 && st->log_files_unlink_pending == 0;
	free(st);
	return quiet;
}
