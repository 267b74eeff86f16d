/*
 * The cluster client (faultline/cluster_client.h): the connect's steps,
 * the connected session (its egress, keep-alives, failover and pending
 * close) and the key-value helpers on top.  Frames are session_wire.h's,
 * commands kv.h's; everything runs on the owner's thread, inside its
 * calls.
 */
#include "faultline/cluster_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/driver.h"
#include "faultline/platform.h"
#include "core/plant.h"
#include "kv.h"
#include "session_wire.h"

/* The public enums are the wire's numbers. */
_Static_assert(FL_CLUSTER_PUT == (int)FLI_KV_PUT && FL_CLUSTER_GET == (int)FLI_KV_GET &&
                       FL_CLUSTER_CAS == (int)FLI_KV_CAS && FL_CLUSTER_APPEND == (int)FLI_KV_APPEND,
               "kv ops");
_Static_assert(FL_CLUSTER_OK == (int)FLI_KV_OK && FL_CLUSTER_NOT_FOUND == (int)FLI_KV_NOT_FOUND &&
                       FL_CLUSTER_MISMATCH == (int)FLI_KV_MISMATCH &&
                       FL_CLUSTER_BAD == (int)FLI_KV_BAD,
               "kv statuses");
_Static_assert(FL_CLUSTER_EVENT_OK == (int)FLI_SW_OK &&
                       FL_CLUSTER_EVENT_ERROR == (int)FLI_SW_ERROR &&
                       FL_CLUSTER_EVENT_REDIRECT == (int)FLI_SW_REDIRECT &&
                       FL_CLUSTER_EVENT_AUTHENTICATION_REJECTED ==
                               (int)FLI_SW_AUTHENTICATION_REJECTED &&
                       FL_CLUSTER_EVENT_CLOSED == (int)FLI_SW_CLOSED,
               "event codes");
_Static_assert(FL_CLUSTER_MAX_KEY == FLI_KV_MAX_KEY && FL_CLUSTER_MAX_VALUE == FLI_KV_MAX_VALUE &&
                       FL_CLUSTER_MAX_DETAIL == FLI_SW_MAX_DETAIL,
               "limits");

/* After ERROR "no leader" (an election under way), CONNECT again this
 * much later: a few election rounds' worth of retries within the step's
 * deadline, not one per poll. */
#define NO_LEADER_BACKOFF_NS (20ull * FL_NS_PER_MS)
/* Redirects that renew the deadline; past them (members pointing at
 * each other through a long election) the step's deadline ends it. */
#define MAX_REDIRECTS (2 * FL_CLUSTER_MAX_NODES)
/* Fragments POLL_RESPONSE reads in one poll: one at a time, so that it
 * stops right after its answer and leaves what follows (the session's
 * first events) to the client. */
#define CONNECT_POLL_FRAGMENTS 16

static const char *const step_names[] = {
	"CREATE_EGRESS_SUB",
	"CREATE_INGRESS_PUB",
	"AWAIT_PUB_CONNECTED",
	"SEND_CONNECT",
	"POLL_RESPONSE",
	"CONCLUDE",
	"DONE",
};

struct fl_cluster_async_connect {
	struct fl_cluster_client_ctx ctx; /* egress_channel points at channel */
	char channel[FL_NAME_MAX + 1];
	uint64_t owner;                       /* fl_actor_id of the creator */
	enum fl_cluster_connect_step step;    /* read by other threads: atomic */
	enum fl_cluster_connect_step reached; /* the furthest step at this member */
	int err;                              /* sticky once the connect failed */
	uint64_t deadline_ns;                 /* the step's */
	uint64_t retry_ns;                    /* SEND_CONNECT: not before this */
	int64_t egress_reg, ingress_reg;      /* adds in flight (0: none) */
	fl_subscription *egress;
	fl_publication *ingress;
	int member;               /* whose ingress */
	int tried;                /* round robin: members moved past */
	int redirects;            /* that renewed the deadline */
	uint64_t correlation;     /* the CONNECT's */
	uint32_t attempts;        /* CONNECTs sent on this ingress publication */
	bool heard;               /* POLL_RESPONSE: its answer arrived */
	bool opened;              /* OK: the session exists in the cluster */
	struct fli_sw_msg answer; /* the answer (data not kept) */
	char detail[FLI_SW_MAX_DETAIL + 1];
	struct fl_fragment_assembler fa;
};

/* An operation of the key-value helpers the observer waits to hear the
 * end of: its key and values are copied. */
struct op {
	uint64_t correlation;
	enum fl_cluster_op op;
	size_t exp_len, val_len;
	uint8_t *exp, *val; /* in bytes[] */
	char key[FLI_KV_MAX_KEY + 1];
	uint8_t bytes[];
};

struct fl_cluster_client {
	struct fl_cluster_client_ctx ctx; /* egress_channel points at channel */
	char channel[FL_NAME_MAX + 1];
	uint64_t owner;
	fl_client *pc;
	fl_subscription *egress;
	fl_publication *ingress; /* to the leader (NULL while one is being made) */
	int64_t ingress_reg;     /* its add in flight (0: none) */
	int32_t ingress_stream;
	int leader;
	uint64_t session, term;
	enum fl_cluster_client_state state; /* atomic: read by other threads */
	int status;                         /* atomic: 0, or why it closed */
	uint64_t state_deadline_ns;         /* AWAIT_*: when to give up */
	uint64_t keepalive_ns;              /* the next keep-alive is due */
	uint64_t egress_lost_ns; /* since when no leader publishes to the egress (0: one does) */
	uint64_t next_correlation;
	struct fl_fragment_assembler fa;
	bool in_poll;
	int events; /* delivered during this poll */
	fl_cluster_event_handler h;
	void *harg;
	struct op **ops; /* outstanding observed operations */
	size_t nops, ops_cap;
	struct {
		bool on;
		uint64_t correlation;
		int rc; /* FL_EAGAIN until it ends */
		struct fl_cluster_reply *reply;
	} wait; /* a synchronous helper's */
	uint8_t frame[FLI_SW_INGRESS_MAX];
};

static bool
owned(bool check, uint64_t owner)
{
	return !check || fl_actor_id() == owner;
}

static void
ctx_defaults(struct fl_cluster_client_ctx *c)
{
	if (c->members == 0)
		c->members = 3;
	if (c->message_timeout_ns == 0)
		c->message_timeout_ns = FL_CLUSTER_MESSAGE_TIMEOUT_NS;
	if (c->new_leader_timeout_ns == 0)
		c->new_leader_timeout_ns = FL_CLUSTER_NEW_LEADER_TIMEOUT_NS;
	if (c->keepalive_interval_ns == 0)
		c->keepalive_interval_ns = FL_CLUSTER_KEEPALIVE_NS;
}

void
fl_cluster_client_ctx_init(struct fl_cluster_client_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->members = 3;
	ctx->check_owner = true;
}

/* Offers frame m on p.  The publication's result. */
static int64_t
send_frame(fl_publication *p, const struct fli_sw_msg *m, uint8_t *buf, size_t cap)
{
	size_t len = fli_sw_encode(m, buf, cap);

	if (p == NULL)
		return FL_ENOT_CONNECTED;
	if (len == 0)
		return FL_EMSGSIZE;
	return fl_publication_offer(p, buf, len);
}

/* ---- connecting ------------------------------------------------------------------ */

const char *
fl_cluster_connect_step_name(enum fl_cluster_connect_step step)
{
	if ((int)step < 0 || (size_t)step >= sizeof(step_names) / sizeof(step_names[0]))
		return "unknown";
	return step_names[step];
}

enum fl_cluster_connect_step
fl_cluster_connect_step(const fl_cluster_async_connect *a)
{
	return __atomic_load_n(&a->step, __ATOMIC_RELAXED);
}

/* Moves to step.  Its deadline starts when the connect first gets there
 * (at this member): going back (CONNECT again after "no leader", the
 * ingress not connected after all) keeps the deadline it had, so that
 * retries end. */
static void
set_step(fl_cluster_async_connect *a, enum fl_cluster_connect_step step)
{
	__atomic_store_n(&a->step, step, __ATOMIC_RELAXED);
	if (step > a->reached) {
		a->reached = step;
		a->deadline_ns = fl_clock_now_ns() + a->ctx.message_timeout_ns;
	}
}

static int
connect_fail(fl_cluster_async_connect *a, int err)
{
	a->err = err;
	return err;
}

static void
connect_on_frame(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	fl_cluster_async_connect *a = arg;
	struct fli_sw_msg m;

	(void)h;
	if (a->heard || fli_sw_decode(buf, len, &m, NULL) != 0 || m.type != FLI_SW_SESSION_EVENT ||
	    m.correlation != a->correlation)
		return; /* another session's, an earlier connect's, or garbage */
	a->heard = true;
	a->answer = m;
	a->answer.data = NULL;
	memcpy(a->detail, m.data != NULL ? (const char *)m.data : "", m.len);
	a->detail[m.len] = '\0';
}

int
fl_cluster_connect_async(const struct fl_cluster_client_ctx *ctx, fl_cluster_async_connect **out)
{
	struct fl_cluster_client_ctx c;
	fl_cluster_async_connect *a;
	int32_t s;

	if (ctx == NULL || out == NULL || ctx->client == NULL || ctx->egress_channel == NULL)
		return FL_EINVAL;
	c = *ctx;
	ctx_defaults(&c);
	if (c.members < 1 || c.members > FL_CLUSTER_MAX_NODES ||
	    (c.member != FL_CLUSTER_ROUND_ROBIN && (c.member < 0 || c.member >= c.members)))
		return FL_EINVAL;
	if (fl_name_validate(c.egress_channel) != 0)
		return FL_ENAME;
	s = c.egress_stream;
	if (strcmp(c.egress_channel, FL_CLUSTER_CHANNEL) == 0 &&
	    ((s >= FL_CLUSTER_STREAM_BASE && s < FL_CLUSTER_STREAM_BASE + FL_CLUSTER_MAX_NODES) ||
	     (s >= FL_CLUSTER_INGRESS_STREAM_BASE &&
	      s < FL_CLUSTER_INGRESS_STREAM_BASE + FL_CLUSTER_MAX_NODES)))
		return FL_EINVAL; /* the cluster drops such a connect */
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return FL_ENOMEM;
	a->ctx = c;
	snprintf(a->channel, sizeof(a->channel), "%s", c.egress_channel);
	a->ctx.egress_channel = a->channel;
	a->owner = fl_actor_id();
	a->member = c.member == FL_CLUSTER_ROUND_ROBIN ? 0 : c.member;
	fl_fragment_assembler_init(&a->fa, connect_on_frame, a);
	a->deadline_ns = fl_clock_now_ns() + c.message_timeout_ns;
	*out = a;
	return 0;
}

/* Lets the ingress publication (or its add) go. */
static void
connect_drop_ingress(fl_cluster_async_connect *a)
{
	if (a->ingress_reg != 0)
		(void)fl_client_cancel(a->ctx.client, a->ingress_reg);
	a->ingress_reg = 0;
	(void)fl_publication_close(a->ingress);
	a->ingress = NULL;
}

/* From now on the connect talks to member m: its ingress is made anew,
 * every step before it with a deadline of its own when renew, else
 * within the deadline the connect had. */
static void
connect_to(fl_cluster_async_connect *a, int m, bool renew)
{
	connect_drop_ingress(a);
	a->attempts = 0;
	a->member = m;
	a->reached =
	        renew ? FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB : FL_CLUSTER_CONNECT_POLL_RESPONSE;
	set_step(a, FL_CLUSTER_CONNECT_CREATE_INGRESS_PUB);
}

/* The step's deadline passed.  Round robin moves on to the next member
 * while some is untried (before a session opened); else it timed out. */
static int
connect_deadline(fl_cluster_async_connect *a)
{
	enum fl_cluster_connect_step st = a->step;

	if (a->ctx.member == FL_CLUSTER_ROUND_ROBIN && !a->opened &&
	    st > FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB && st < FL_CLUSTER_CONNECT_CONCLUDE &&
	    a->tried + 1 < a->ctx.members) {
		a->tried++;
		connect_to(a, (a->member + 1) % a->ctx.members, true);
		return FL_EAGAIN;
	}
	return connect_fail(a, FL_ETIMEDOUT);
}

static int
step_create_egress(fl_cluster_async_connect *a)
{
	int rc;

	FL_SCHED_POINT("cluster.client.create_egress_sub");
	if (a->egress_reg == 0) {
		rc = fl_client_add_subscription_start(a->ctx.client, a->channel,
		                                      a->ctx.egress_stream, NULL, &a->egress_reg);
		if (rc == FL_EFULL)
			return FL_EAGAIN; /* the command ring: next poll */
		if (rc != 0)
			return connect_fail(a, rc);
	}
	if (FL_FAULT("transport/cluster/client/create_egress_sub"))
		return connect_fail(a, FL_ETIMEDOUT);
	rc = fl_client_add_subscription_poll(a->ctx.client, a->egress_reg, &a->egress);
	if (rc == FL_EAGAIN)
		return rc;
	a->egress_reg = 0; /* answered: the add is forgotten either way */
	if (rc != 0)
		return connect_fail(a, rc);
	set_step(a, FL_CLUSTER_CONNECT_CREATE_INGRESS_PUB);
	return FL_EAGAIN;
}

static int
step_create_ingress(fl_cluster_async_connect *a)
{
	int rc;

	FL_SCHED_POINT("cluster.client.create_ingress_pub");
	if (a->ingress_reg == 0) {
		rc = fl_client_add_publication_start(a->ctx.client, FL_CLUSTER_CHANNEL,
		                                     FL_CLUSTER_INGRESS_STREAM_BASE + a->member,
		                                     true, &a->ingress_reg);
		if (rc == FL_EFULL)
			return FL_EAGAIN;
		if (rc != 0)
			return connect_fail(a, rc);
	}
	if (FL_FAULT("transport/cluster/client/create_ingress_pub"))
		return connect_fail(a, FL_ETIMEDOUT);
	rc = fl_client_add_publication_poll(a->ctx.client, a->ingress_reg, &a->ingress);
	if (rc == FL_EAGAIN)
		return rc;
	a->ingress_reg = 0;
	if (rc != 0)
		return connect_fail(a, rc);
	set_step(a, FL_CLUSTER_CONNECT_AWAIT_PUB_CONNECTED);
	return FL_EAGAIN;
}

static int
step_await_connected(fl_cluster_async_connect *a)
{
	FL_SCHED_POINT("cluster.client.await_pub_connected");
	if (FL_FAULT("transport/cluster/client/await_pub_connected"))
		return connect_fail(a, FL_ETIMEDOUT);
	if (fl_publication_is_connected(a->ingress))
		set_step(a, FL_CLUSTER_CONNECT_SEND_CONNECT);
	return FL_EAGAIN;
}

static int
step_send_connect(fl_cluster_async_connect *a)
{
	uint8_t buf[FLI_SW_INGRESS_MAX];
	struct fli_sw_msg m = {
		.type = FLI_SW_CONNECT,
		.stream = a->ctx.egress_stream,
		.data = (const uint8_t *)a->channel,
		.len = (uint32_t)strlen(a->channel),
	};
	int64_t rc;

	FL_SCHED_POINT("cluster.client.send_connect");
	if (FL_FAULT("transport/cluster/client/send_connect"))
		return connect_fail(a, FL_ETIMEDOUT);
	if (fl_clock_now_ns() < a->retry_ns)
		return FL_EAGAIN;
	/* A fresh id a CONNECT: an answer to an earlier one (another
	 * member's, or before a "no leader") is not this one's.  Made of the
	 * ingress publication's registration id, unique in the driver's
	 * namespace, so that connects sharing a response address do not take
	 * each other's answers; and deterministic (no draw from a harness
	 * run's choices). */
	a->correlation = (uint64_t)fl_publication_registration_id(a->ingress) << 16 |
	                 (++a->attempts & 0xffffu);
	m.correlation = a->correlation;
	rc = send_frame(a->ingress, &m, buf, sizeof(buf));
	if (rc > 0) {
		a->heard = false;
		set_step(a, FL_CLUSTER_CONNECT_POLL_RESPONSE);
	} else if (rc == FL_ENOT_CONNECTED) {
		set_step(a, FL_CLUSTER_CONNECT_AWAIT_PUB_CONNECTED);
	} else if (rc != FL_EBACKPRESSURE) {
		return connect_fail(a, (int)rc);
	}
	return FL_EAGAIN;
}

static int
step_poll_response(fl_cluster_async_connect *a)
{
	const struct fli_sw_msg *m = &a->answer;
	int rc;

	FL_SCHED_POINT("cluster.client.poll_response");
	if (FL_FAULT("transport/cluster/client/poll_response"))
		return connect_fail(a, FL_ETIMEDOUT);
	for (int i = 0; i < CONNECT_POLL_FRAGMENTS && !a->heard; i++) {
		rc = fl_subscription_poll(a->egress, fl_fragment_assembler_handler, &a->fa, 1);
		if (rc < 0)
			return connect_fail(a, rc);
		if (rc == 0)
			break;
	}
	if (!a->heard)
		return FL_EAGAIN;
	a->heard = false;
	switch (m->code) {
	case FLI_SW_OK:
		if (m->session == 0 || m->term == 0 || m->leader != a->member)
			return connect_fail(a, FL_EPROTO);
		a->opened = true;
		set_step(a, FL_CLUSTER_CONNECT_CONCLUDE);
		return FL_EAGAIN;
	case FLI_SW_REDIRECT:
		if (m->leader < 0 || m->leader >= a->ctx.members ||
		    m->stream != FL_CLUSTER_INGRESS_STREAM_BASE + m->leader)
			return connect_fail(a, FL_EPROTO);
		connect_to(a, m->leader, a->redirects++ < MAX_REDIRECTS);
		return FL_EAGAIN;
	case FLI_SW_ERROR:
		if (strcmp(a->detail, "too many sessions") == 0)
			return connect_fail(a, FL_ELIMIT);
		if (strcmp(a->detail, "no leader") != 0 && strcmp(a->detail, "not appended") != 0)
			return connect_fail(a, FL_EPROTO);
		/* An election, or a leader that could not append: again, within
		 * the deadline POLL_RESPONSE had. */
		a->retry_ns = fl_clock_now_ns() + NO_LEADER_BACKOFF_NS;
		set_step(a, FL_CLUSTER_CONNECT_SEND_CONNECT);
		return FL_EAGAIN;
	default: return connect_fail(a, FL_EPROTO); /* AUTHENTICATION_REJECTED, CLOSED */
	}
}

static void client_on_frame(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h);

/* A connected client over egress and ingress (taken over: the client
 * closes them), at leader `member` in session and term.  Allocated from
 * the object heap: a use after its close (B3: another thread closed it)
 * faults at once under the harness's sim.  NULL: out of memory. */
static fl_cluster_client *
client_new(const struct fl_cluster_client_ctx *ctx, uint64_t owner, fl_subscription *egress,
           fl_publication *ingress, int member, uint64_t session, uint64_t term)
{
	fl_cluster_client *c = fl_obj_alloc(sizeof(*c), "fl_cluster_client");

	if (c == NULL)
		return NULL;
	c->ctx = *ctx;
	snprintf(c->channel, sizeof(c->channel), "%s", ctx->egress_channel);
	c->ctx.egress_channel = c->channel;
	c->owner = owner;
	c->pc = ctx->client;
	c->egress = egress;
	c->ingress = ingress;
	c->ingress_stream = FL_CLUSTER_INGRESS_STREAM_BASE + member;
	c->leader = member;
	c->session = session;
	c->term = term;
	c->state = FL_CLUSTER_CLIENT_CONNECTED;
	c->next_correlation = 1;
	c->keepalive_ns = fl_clock_now_ns() + c->ctx.keepalive_interval_ns;
	fl_fragment_assembler_init(&c->fa, client_on_frame, c);
	return c;
}

static int
step_conclude(fl_cluster_async_connect *a, fl_cluster_client **out)
{
	fl_cluster_client *c;

	FL_SCHED_POINT("cluster.client.conclude");
	if (FL_FAULT("transport/cluster/client/conclude"))
		return connect_fail(a, FL_ETIMEDOUT);
	c = client_new(&a->ctx, a->owner, a->egress, a->ingress, a->member, a->answer.session,
	               a->answer.term);
	if (c == NULL)
		return connect_fail(a, FL_ENOMEM);
	/* The assembler goes with the subscription (a message half read
	 * stays half read). */
	fl_fragment_assembler_fini(&c->fa);
	c->fa = a->fa;
	c->fa.delegate = client_on_frame;
	c->fa.delegate_clientd = c;
	memset(&a->fa, 0, sizeof(a->fa));
	a->egress = NULL;
	a->ingress = NULL;
	set_step(a, FL_CLUSTER_CONNECT_DONE);
	*out = c;
	return 0;
}

int
fl_cluster_connect_poll(fl_cluster_async_connect *a, fl_cluster_client **client)
{
	if (a == NULL || client == NULL)
		return FL_EINVAL;
	if (!owned(a->ctx.check_owner, a->owner))
		return FL_EOWNER;
	if (a->err != 0)
		return a->err;
	if (a->step == FL_CLUSTER_CONNECT_DONE)
		return FL_ESTATE;
	if (fl_clock_now_ns() >= a->deadline_ns)
		return connect_deadline(a);
	switch (a->step) {
	case FL_CLUSTER_CONNECT_CREATE_EGRESS_SUB: return step_create_egress(a);
	case FL_CLUSTER_CONNECT_CREATE_INGRESS_PUB: return step_create_ingress(a);
	case FL_CLUSTER_CONNECT_AWAIT_PUB_CONNECTED: return step_await_connected(a);
	case FL_CLUSTER_CONNECT_SEND_CONNECT: return step_send_connect(a);
	case FL_CLUSTER_CONNECT_POLL_RESPONSE: return step_poll_response(a);
	case FL_CLUSTER_CONNECT_CONCLUDE: return step_conclude(a, client);
	default: return FL_ESTATE;
	}
}

int
fl_cluster_connect_close(fl_cluster_async_connect *a)
{
	if (a == NULL)
		return 0;
	if (!owned(a->ctx.check_owner, a->owner))
		return FL_EOWNER;
	FL_SCHED_POINT("cluster.client.connect_close");
	if (a->opened && a->step != FL_CLUSTER_CONNECT_DONE) {
		/* The cluster opened a session nobody will use: end it now
		 * rather than at its timeout (best effort: one offer). */
		uint8_t buf[FLI_SW_EVENT_MAX];
		struct fli_sw_msg m = { .type = FLI_SW_CLOSE,
			                .term = a->answer.term,
			                .session = a->answer.session };

		(void)send_frame(a->ingress, &m, buf, sizeof(buf));
	}
	/* Every registration, in flight or completed: nothing stays with the
	 * driver (B2). */
	if (a->egress_reg != 0)
		(void)fl_client_cancel(a->ctx.client, a->egress_reg);
	(void)fl_subscription_close(a->egress);
	connect_drop_ingress(a);
	fl_fragment_assembler_fini(&a->fa);
	free(a);
	return 0;
}

/* ---- a connect of one's own ------------------------------------------------------ */

size_t
fl_cluster_connect_frame(uint8_t *buf, size_t cap, uint64_t correlation, const char *egress_channel,
                         int32_t egress_stream)
{
	struct fli_sw_msg m = { .type = FLI_SW_CONNECT,
		                .correlation = correlation,
		                .stream = egress_stream };

	if (buf == NULL || egress_channel == NULL || fl_name_validate(egress_channel) != 0)
		return 0;
	m.data = (const uint8_t *)egress_channel;
	m.len = (uint32_t)strlen(egress_channel);
	return fli_sw_encode(&m, buf, cap);
}

int
fl_cluster_decode_event(const uint8_t *buf, size_t len, struct fl_cluster_event *ev)
{
	struct fli_sw_msg m;

	if (buf == NULL || ev == NULL || fli_sw_decode(buf, len, &m, NULL) != 0)
		return FL_EPROTO;
	memset(ev, 0, sizeof(*ev));
	switch (m.type) {
	case FLI_SW_SESSION_EVENT: ev->type = FL_CLUSTER_EV_SESSION; break;
	case FLI_SW_RESPONSE: ev->type = FL_CLUSTER_EV_RESPONSE; break;
	case FLI_SW_NEW_LEADER: ev->type = FL_CLUSTER_EV_NEW_LEADER; break;
	default: return FL_EPROTO; /* an ingress frame */
	}
	ev->session = m.session;
	ev->correlation = m.correlation;
	ev->term = m.term;
	ev->index = m.index;
	ev->leader = m.leader;
	ev->code = m.code;
	ev->data = m.data;
	ev->len = m.len;
	return 0;
}

int
fl_cluster_client_adopt(const struct fl_cluster_client_ctx *ctx, fl_subscription *egress,
                        fl_publication *ingress, int leader, uint64_t session, uint64_t term,
                        fl_cluster_client **out)
{
	struct fl_cluster_client_ctx c;
	fl_cluster_client *cl;

	if (ctx == NULL || out == NULL || ctx->client == NULL || ctx->egress_channel == NULL ||
	    egress == NULL || ingress == NULL || session == 0 || term == 0)
		goto invalid;
	c = *ctx;
	ctx_defaults(&c);
	if (c.members < 1 || c.members > FL_CLUSTER_MAX_NODES || leader < 0 ||
	    leader >= c.members || fl_name_validate(c.egress_channel) != 0)
		goto invalid;
	cl = client_new(&c, fl_actor_id(), egress, ingress, leader, session, term);
	if (cl == NULL) {
		(void)fl_subscription_close(egress);
		(void)fl_publication_close(ingress);
		return FL_ENOMEM;
	}
	*out = cl;
	return 0;
invalid:
	(void)fl_subscription_close(egress);
	(void)fl_publication_close(ingress);
	return FL_EINVAL;
}

int
fl_cluster_connect(const struct fl_cluster_client_ctx *ctx, uint64_t deadline_ns,
                   fl_cluster_client **out)
{
	struct fl_idle idle = { 0 };
	fl_cluster_async_connect *a;
	fl_cluster_client *c = NULL;
	int rc;

	if (out == NULL)
		return FL_EINVAL;
	rc = fl_cluster_connect_async(ctx, &a);
	if (rc != 0)
		return rc;
	for (;;) {
		enum fl_cluster_connect_step step = a->step;
		int w = fl_client_do_work(ctx->client);

		if (w < 0) {
			rc = w;
			break;
		}
		rc = fl_cluster_connect_poll(a, &c);
		if (rc != FL_EAGAIN)
			break;
		if (fl_clock_now_ns() >= deadline_ns) {
			rc = FL_ETIMEDOUT;
			break;
		}
		fl_idle(&idle, w + (a->step != step),
		        deadline_ns < a->deadline_ns ? deadline_ns : a->deadline_ns);
	}
	(void)fl_cluster_connect_close(a);
	if (rc == 0)
		*out = c;
	return rc;
}

/* ---- the observer's operations ------------------------------------------------------ */

static void
observe(fl_cluster_client *c, enum fl_cluster_op_phase phase, const struct op *o, int status,
        uint64_t index, const void *read, size_t read_len)
{
	struct fl_cluster_op_event ev = {
		.phase = phase,
		.op = o->op,
		.correlation = o->correlation,
		.key = o->key,
		.expected = o->exp,
		.expected_len = o->exp_len,
		.value = o->val,
		.value_len = o->val_len,
		.status = status,
		.index = index,
	};

	if (o->op == FL_CLUSTER_GET) {
		ev.value = phase == FL_CLUSTER_OP_OK ? read : NULL;
		ev.value_len = phase == FL_CLUSTER_OP_OK ? read_len : 0;
	}
	c->ctx.observer->op(c->ctx.observer->arg, c, &ev);
}

static struct op *
op_find(fl_cluster_client *c, uint64_t correlation, size_t *at)
{
	for (size_t i = 0; i < c->nops; i++)
		if (c->ops[i]->correlation == correlation) {
			*at = i;
			return c->ops[i];
		}
	return NULL;
}

/* Ends observed operation i: the observer hears phase, it is forgotten. */
static void
op_end(fl_cluster_client *c, size_t i, enum fl_cluster_op_phase phase, int status, uint64_t index,
       const void *read, size_t read_len)
{
	struct op *o = c->ops[i];

	c->ops[i] = c->ops[--c->nops];
	observe(c, phase, o, status, index, read, read_len);
	free(o);
}

/* Every outstanding operation's answer is now unknown. */
static void
ops_info(fl_cluster_client *c)
{
	while (c->nops > 0)
		op_end(c, c->nops - 1, FL_CLUSTER_OP_INFO, -1, 0, NULL, 0);
}

/* ---- the connected client ------------------------------------------------------------ */

static void
set_state(fl_cluster_client *c, enum fl_cluster_client_state st, uint64_t deadline_ns)
{
	__atomic_store_n(&c->state, st, __ATOMIC_RELAXED);
	c->state_deadline_ns = deadline_ns;
}

/* Releases the publication, its add in flight and the subscription: the
 * client is closed, for `why`. */
static void
client_release(fl_cluster_client *c, int why)
{
	FL_SCHED_POINT("cluster.client.release");
	if (c->ingress_reg != 0)
		(void)fl_client_cancel(c->pc, c->ingress_reg);
	c->ingress_reg = 0;
	(void)fl_publication_close(c->ingress);
	c->ingress = NULL;
	(void)fl_subscription_close(c->egress);
	c->egress = NULL;
	set_state(c, FL_CLUSTER_CLIENT_CLOSED, 0);
	__atomic_store_n(&c->status, why, __ATOMIC_RELAXED);
	if (c->wait.on && c->wait.rc == FL_EAGAIN)
		c->wait.rc = why;
	ops_info(c);
}

static void
deliver(fl_cluster_client *c, const struct fl_cluster_event *ev)
{
	c->events++;
	if (c->h != NULL)
		c->h(c->harg, c, ev);
}

/* Is the synchronous helper waiting for correlation?  Then it ends with
 * rc (and the reply, if m is a RESPONSE). */
static bool
wait_match(fl_cluster_client *c, uint64_t correlation, int rc, const struct fli_sw_msg *m)
{
	struct fl_cluster_reply *r = c->wait.reply;

	if (!c->wait.on || c->wait.rc != FL_EAGAIN || c->wait.correlation != correlation)
		return false;
	c->wait.rc = rc;
	if (rc == 0 && r != NULL) {
		r->status = m->code;
		r->index = m->index;
		r->term = m->term;
		r->value_len = m->len;
		if (m->len > 0 && r->value != NULL)
			memcpy(r->value, m->data, m->len < r->value_cap ? m->len : r->value_cap);
	}
	return true;
}

static void
on_response(fl_cluster_client *c, const struct fli_sw_msg *m)
{
	struct fl_cluster_event ev = {
		.type = FL_CLUSTER_EV_RESPONSE,
		.session = m->session,
		.correlation = m->correlation,
		.term = m->term,
		.index = m->index,
		.leader = c->leader,
		.code = m->code,
		.data = m->data,
		.len = m->len,
	};
	struct op *o;
	size_t i;

	if ((o = op_find(c, m->correlation, &i)) != NULL) {
		/* A get that found nothing read nil: ok.  A cas that did not
		 * match, or found nothing, changed nothing: fail. */
		bool ok = m->code == FLI_KV_OK ||
		          (m->code == FLI_KV_NOT_FOUND && o->op == FL_CLUSTER_GET) ||
		          /* the plant cas_mismatch_ok (faultline-planted): a status
		           * read as "anything but an error" */
		          (PLANTED(FLI_PLANT_CAS_MISMATCH_OK) && m->code == FLI_KV_MISMATCH);

		op_end(c, i, ok ? FL_CLUSTER_OP_OK : FL_CLUSTER_OP_FAIL, m->code, m->index, m->data,
		       m->len);
	}
	if (!wait_match(c, m->correlation, 0, m))
		deliver(c, &ev);
}

static void
on_session_event(fl_cluster_client *c, const struct fli_sw_msg *m)
{
	struct fl_cluster_event ev = {
		.type = FL_CLUSTER_EV_SESSION,
		.session = m->session,
		.correlation = m->correlation,
		.term = m->term,
		.leader = m->leader,
		.code = m->code,
		.data = m->data,
		.len = m->len,
	};
	bool too_long = m->len == strlen("value too long") &&
	                memcmp(m->data, "value too long", m->len) == 0;
	struct op *o;
	size_t i;

	if (m->code == FLI_SW_CLOSED) {
		/* Closed at the end of this poll, on this thread (Aeron's
		 * pending close): the handler still sees the client whole. */
		if (c->state != FL_CLUSTER_CLIENT_CLOSED)
			set_state(c, FL_CLUSTER_CLIENT_PENDING_CLOSE, 0);
	} else if (m->code == FLI_SW_ERROR && m->correlation != 0) {
		/* "stale term", "not appended": not in the log.  "value too
		 * long": applied, its answer unknown. */
		if ((o = op_find(c, m->correlation, &i)) != NULL)
			op_end(c, i, too_long ? FL_CLUSTER_OP_INFO : FL_CLUSTER_OP_FAIL, -1, 0,
			       NULL, 0);
		if (wait_match(c, m->correlation, too_long ? FL_EMSGSIZE : FL_ESTATE, m))
			return;
	}
	deliver(c, &ev);
}

/* The ingress goes to stream (a leader's) anew: a new publication, the
 * old closed. */
static void
repoint(fl_cluster_client *c, int32_t stream)
{
	if (c->ingress_reg != 0)
		(void)fl_client_cancel(c->pc, c->ingress_reg);
	c->ingress_reg = 0;
	(void)fl_publication_close(c->ingress);
	c->ingress = NULL;
	c->ingress_stream = stream;
}

static void
on_new_leader(fl_cluster_client *c, const struct fli_sw_msg *m)
{
	struct fl_cluster_event ev = {
		.type = FL_CLUSTER_EV_NEW_LEADER,
		.session = m->session,
		.term = m->term,
		.leader = m->leader,
	};
	uint64_t now = fl_clock_now_ns();

	if (m->term <= c->term || c->state == FL_CLUSTER_CLIENT_PENDING_CLOSE)
		return; /* one already followed (or the session is ending) */
	FL_SCHED_POINT("cluster.client.new_leader");
	c->term = m->term;
	c->leader = m->leader;
	/* What the old leader took may or may not be in the log; its answer
	 * may never come. */
	ops_info(c);
	if (c->wait.on && c->wait.rc == FL_EAGAIN)
		c->wait.rc = FL_ECANCELED;
	if (c->ingress == NULL || m->stream != c->ingress_stream)
		repoint(c, m->stream);
	set_state(c,
	          c->ingress != NULL && fl_publication_is_connected(c->ingress)
	                  ? FL_CLUSTER_CLIENT_CONNECTED
	                  : FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER_CONNECTION,
	          now + c->ctx.new_leader_timeout_ns);
	c->keepalive_ns = now; /* tell the new leader at once */
	deliver(c, &ev);
}

static void
client_on_frame(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	fl_cluster_client *c = arg;
	struct fli_sw_msg m;

	(void)h;
	if (c->state == FL_CLUSTER_CLIENT_CLOSED || fli_sw_decode(buf, len, &m, NULL) != 0 ||
	    m.session != c->session)
		return; /* garbage, or another session's at this address */
	switch (m.type) {
	case FLI_SW_RESPONSE: on_response(c, &m); break;
	case FLI_SW_SESSION_EVENT: on_session_event(c, &m); break;
	case FLI_SW_NEW_LEADER:
		if (m.stream == FL_CLUSTER_INGRESS_STREAM_BASE + m.leader &&
		    m.leader < c->ctx.members)
			on_new_leader(c, &m);
		break;
	default: break; /* an ingress frame: not the cluster's to send */
	}
}

/* The ingress to a new leader: start its add, or poll it.  Returns work. */
static int
ingress_make(fl_cluster_client *c)
{
	int rc;

	if (c->ingress != NULL)
		return 0;
	if (c->ingress_reg == 0) {
		rc = fl_client_add_publication_start(c->pc, FL_CLUSTER_CHANNEL, c->ingress_stream,
		                                     true, &c->ingress_reg);
		if (rc != 0)
			c->ingress_reg = 0; /* the ring full: the next poll tries again */
		return 1;
	}
	rc = fl_client_add_publication_poll(c->pc, c->ingress_reg, &c->ingress);
	if (rc == FL_EAGAIN)
		return 0;
	c->ingress_reg = 0; /* done, or failed: asked again next time */
	return 1;
}

/* Keep-alive, failover, timeouts: the client's duty after reading. */
static int
client_duty(fl_cluster_client *c)
{
	uint64_t now = fl_clock_now_ns();
	int work = 0, rc;

	if ((rc = fl_client_status(c->pc)) != 0) {
		client_release(c, rc);
		return 1;
	}
	/* The session's egress publication goes when the cluster closes the
	 * session; a CLOSED sent while nobody polled goes with it.  No
	 * leader publishing to the egress for the new-leader timeout: the
	 * session is gone (a failover's new leader publishes at once). */
	if (fl_subscription_is_connected(c->egress)) {
		c->egress_lost_ns = 0;
	} else if (c->egress_lost_ns == 0) {
		c->egress_lost_ns = now;
	} else if (now - c->egress_lost_ns >= c->ctx.new_leader_timeout_ns) {
		client_release(c, FL_ETIMEDOUT);
		return 1;
	}
	switch (c->state) {
	case FL_CLUSTER_CLIENT_CONNECTED:
		if (c->ingress == NULL || !fl_publication_is_connected(c->ingress)) {
			/* The leader's ingress went: it died or resubscribes.
			 * Wait for NEW_LEADER, or for it to come back. */
			set_state(c, FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER,
			          now + c->ctx.new_leader_timeout_ns);
			return 1;
		}
		break;
	case FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER:
	case FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER_CONNECTION:
		work += ingress_make(c);
		if (c->ingress != NULL && fl_publication_is_connected(c->ingress)) {
			set_state(c, FL_CLUSTER_CLIENT_CONNECTED, 0);
			work++;
		} else if (now >= c->state_deadline_ns) {
			client_release(c, FL_ETIMEDOUT);
			return work + 1;
		}
		break;
	default: return 0;
	}
	if (c->state == FL_CLUSTER_CLIENT_CONNECTED && now >= c->keepalive_ns) {
		struct fli_sw_msg m = { .type = FLI_SW_KEEPALIVE,
			                .term = c->term,
			                .session = c->session };

		if (send_frame(c->ingress, &m, c->frame, sizeof(c->frame)) > 0) {
			c->keepalive_ns = now + c->ctx.keepalive_interval_ns;
			work++;
		}
	}
	return work;
}

int
fl_cluster_client_poll_egress(fl_cluster_client *c, fl_cluster_event_handler handler, void *arg,
                              int limit)
{
	int work = 0, rc;

	if (c == NULL || limit <= 0)
		return FL_EINVAL;
	if (!owned(c->ctx.check_owner, c->owner))
		return FL_EOWNER;
	if (c->in_poll)
		return FL_EBUSY;
	if (c->state == FL_CLUSTER_CLIENT_CLOSED)
		return c->status;
	FL_SCHED_POINT("cluster.client.poll");
	c->in_poll = true;
	c->h = handler != NULL ? handler : c->ctx.on_event;
	c->harg = handler != NULL ? arg : c->ctx.event_arg;
	c->events = 0;
	rc = fl_subscription_poll(c->egress, fl_fragment_assembler_handler, &c->fa, limit);
	if (rc > 0)
		work += rc;
	if (c->state == FL_CLUSTER_CLIENT_PENDING_CLOSE) {
		client_release(c, FL_ECLOSED);
		work++;
	} else {
		work += client_duty(c);
	}
	c->in_poll = false;
	return c->state == FL_CLUSTER_CLIENT_CLOSED ? c->status : work;
}

int
fl_cluster_client_offer(fl_cluster_client *c, const void *cmd, size_t len, uint64_t *correlation)
{
	struct fli_sw_msg m = { .type = FLI_SW_COMMAND };
	int64_t rc;

	if (c == NULL || (cmd == NULL && len != 0))
		return FL_EINVAL;
	if (!owned(c->ctx.check_owner, c->owner))
		return FL_EOWNER;
	if (len == 0 || len > FLI_SW_MAX_COMMAND)
		return FL_EMSGSIZE;
	switch (c->state) {
	case FL_CLUSTER_CLIENT_CONNECTED: break;
	case FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER:
	case FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER_CONNECTION: return FL_ENOT_CONNECTED;
	default: return FL_ECLOSED;
	}
	m.term = c->term;
	m.session = c->session;
	m.correlation = c->next_correlation;
	m.data = cmd;
	m.len = (uint32_t)len;
	rc = send_frame(c->ingress, &m, c->frame, sizeof(c->frame));
	if (rc == FL_ENOT_CONNECTED || rc == FL_ECLOSED) {
		set_state(c, FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER,
		          fl_clock_now_ns() + c->ctx.new_leader_timeout_ns);
		return FL_ENOT_CONNECTED;
	}
	if (rc < 0)
		return (int)rc;
	c->next_correlation++;
	/* Anything sent keeps the session alive. */
	c->keepalive_ns = fl_clock_now_ns() + c->ctx.keepalive_interval_ns;
	if (correlation != NULL)
		*correlation = m.correlation;
	return 0;
}

int
fl_cluster_client_close(fl_cluster_client *c)
{
	if (c == NULL)
		return 0;
	if (!owned(c->ctx.check_owner, c->owner))
		return FL_EOWNER;
	/* From inside its own handler.  Another thread's close (the owner
	 * check off) is not stopped here: the contract forbids it, and a
	 * racy look at in_poll would only hide the misuse B3 is. */
	if (c->in_poll && fl_actor_id() == c->owner)
		return FL_EBUSY;
	FL_SCHED_POINT("cluster.client.close");
	if (c->state == FL_CLUSTER_CLIENT_CONNECTED) {
		struct fli_sw_msg m = { .type = FLI_SW_CLOSE,
			                .term = c->term,
			                .session = c->session };

		(void)send_frame(c->ingress, &m, c->frame, sizeof(c->frame));
	}
	if (c->state != FL_CLUSTER_CLIENT_CLOSED)
		client_release(c, FL_ECLOSED);
	fl_fragment_assembler_fini(&c->fa);
	free(c->ops);
	fl_obj_free(c, sizeof(*c), "fl_cluster_client");
	return 0;
}

uint64_t
fl_cluster_client_session_id(const fl_cluster_client *c)
{
	return c->session;
}

int
fl_cluster_client_leader(const fl_cluster_client *c)
{
	return c->leader;
}

uint64_t
fl_cluster_client_term(const fl_cluster_client *c)
{
	return c->term;
}

enum fl_cluster_client_state
fl_cluster_client_state(const fl_cluster_client *c)
{
	return __atomic_load_n(&c->state, __ATOMIC_RELAXED);
}

int
fl_cluster_client_status(const fl_cluster_client *c)
{
	return __atomic_load_n(&c->status, __ATOMIC_RELAXED);
}

/* ---- key-value operations ---------------------------------------------------------- */

/* Keeps op o (its key and values copied) for the observer. */
static int
op_track(fl_cluster_client *c, enum fl_cluster_op op, const char *key, const void *exp,
         size_t exp_len, const void *val, size_t val_len, struct op **out)
{
	struct op *o;

	if (c->nops == c->ops_cap) {
		size_t ncap = c->ops_cap ? 2 * c->ops_cap : 8;
		struct op **n = realloc(c->ops, ncap * sizeof(*n));

		if (n == NULL)
			return FL_ENOMEM;
		c->ops = n;
		c->ops_cap = ncap;
	}
	o = malloc(sizeof(*o) + exp_len + val_len);
	if (o == NULL)
		return FL_ENOMEM;
	o->op = op;
	snprintf(o->key, sizeof(o->key), "%s", key);
	o->exp = exp_len > 0 ? o->bytes : NULL;
	o->val = val_len > 0 ? o->bytes + exp_len : NULL;
	o->exp_len = exp_len;
	o->val_len = val_len;
	if (exp_len > 0)
		memcpy(o->exp, exp, exp_len);
	if (val_len > 0)
		memcpy(o->val, val, val_len);
	*out = o;
	return 0;
}

static int
kv_send(fl_cluster_client *c, enum fl_cluster_op op, const char *key, const void *exp,
        size_t exp_len, const void *val, size_t val_len, uint64_t *correlation)
{
	uint8_t cmd[FLI_SW_MAX_COMMAND]; /* not the client's: an observer may call in */
	struct op *o = NULL;
	size_t key_len, len;
	uint64_t corr;
	int rc;

	if (c == NULL || key == NULL || (exp == NULL && exp_len != 0) ||
	    (val == NULL && val_len != 0))
		return FL_EINVAL;
	if (!owned(c->ctx.check_owner, c->owner))
		return FL_EOWNER;
	key_len = strnlen(key, FLI_KV_MAX_KEY + 1);
	if (key_len == 0)
		return FL_EINVAL;
	if (key_len > FLI_KV_MAX_KEY || exp_len > FLI_KV_MAX_VALUE || val_len > FLI_KV_MAX_VALUE)
		return FL_EMSGSIZE;
	len = fli_kv_encode((enum fli_kv_op)op, key, key_len, exp, exp_len, val, val_len, cmd,
	                    sizeof(cmd));
	if (len == 0)
		return FL_EMSGSIZE;
	/* No leader to send to: said before any INVOKE, so that a caller
	 * retrying through a failover does not fill a history with ops that
	 * never left. */
	if (c->state != FL_CLUSTER_CLIENT_CONNECTED)
		return c->state == FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER ||
		                       c->state == FL_CLUSTER_CLIENT_AWAIT_NEW_LEADER_CONNECTION
		               ? FL_ENOT_CONNECTED
		               : FL_ECLOSED;
	if (c->ctx.observer != NULL && c->ctx.observer->op != NULL) {
		rc = op_track(c, op, key, exp, exp_len, val, val_len, &o);
		if (rc != 0)
			return rc;
		/* INVOKE before the offer: once offered the leader may apply
		 * it, and another client see it, before this call returns. */
		o->correlation = c->next_correlation;
		observe(c, FL_CLUSTER_OP_INVOKE, o, -1, 0, NULL, 0);
	}
	rc = fl_cluster_client_offer(c, cmd, len, &corr);
	if (o != NULL && rc != 0) {
		observe(c, FL_CLUSTER_OP_FAIL, o, -1, 0, NULL, 0);
		free(o);
	} else if (o != NULL) {
		c->ops[c->nops++] = o;
	}
	if (rc == 0 && correlation != NULL)
		*correlation = corr;
	return rc;
}

int
fl_cluster_client_put(fl_cluster_client *c, const char *key, const void *value, size_t len,
                      uint64_t *correlation)
{
	return kv_send(c, FL_CLUSTER_PUT, key, NULL, 0, value, len, correlation);
}

int
fl_cluster_client_get(fl_cluster_client *c, const char *key, uint64_t *correlation)
{
	return kv_send(c, FL_CLUSTER_GET, key, NULL, 0, NULL, 0, correlation);
}

int
fl_cluster_client_cas(fl_cluster_client *c, const char *key, const void *expected,
                      size_t expected_len, const void *value, size_t len, uint64_t *correlation)
{
	return kv_send(c, FL_CLUSTER_CAS, key, expected, expected_len, value, len, correlation);
}

int
fl_cluster_client_append(fl_cluster_client *c, const char *key, const void *value, size_t len,
                         uint64_t *correlation)
{
	return kv_send(c, FL_CLUSTER_APPEND, key, NULL, 0, value, len, correlation);
}

int
fl_cluster_client_give_up(fl_cluster_client *c, uint64_t correlation)
{
	size_t i;

	if (c == NULL)
		return FL_EINVAL;
	if (!owned(c->ctx.check_owner, c->owner))
		return FL_EOWNER;
	if (op_find(c, correlation, &i) == NULL)
		return FL_ENOENT;
	op_end(c, i, FL_CLUSTER_OP_INFO, -1, 0, NULL, 0);
	return 0;
}

/* One pass of a synchronous helper's loop: the pub/sub client's
 * conductor, then the egress.  Returns work, or the client's error. */
static int
sync_pass(fl_cluster_client *c)
{
	int w = fl_client_do_work(c->pc), rc;

	if (w < 0)
		w = 0; /* the poll below closes the client with it */
	rc = fl_cluster_client_poll_egress(c, NULL, NULL, 16);
	return rc < 0 ? rc : w + rc;
}

static int
kv_sync(fl_cluster_client *c, enum fl_cluster_op op, const char *key, const void *exp,
        size_t exp_len, const void *val, size_t val_len, uint64_t deadline_ns,
        struct fl_cluster_reply *reply)
{
	struct fl_idle idle = { 0 };
	uint64_t corr;
	int rc, w;

	if (c == NULL)
		return FL_EINVAL;
	if (!owned(c->ctx.check_owner, c->owner))
		return FL_EOWNER;
	if (c->in_poll || c->wait.on)
		return FL_EBUSY; /* from inside a handler */
	/* Sent once there is a leader's ingress that takes it. */
	for (;;) {
		rc = kv_send(c, op, key, exp, exp_len, val, val_len, &corr);
		if (rc != FL_ENOT_CONNECTED && rc != FL_EBACKPRESSURE)
			break;
		if (fl_clock_now_ns() >= deadline_ns)
			return FL_ETIMEDOUT;
		w = sync_pass(c);
		if (w < 0)
			return w;
		fl_idle(&idle, w, deadline_ns);
	}
	if (rc != 0)
		return rc;
	c->wait.on = true;
	c->wait.correlation = corr;
	c->wait.rc = FL_EAGAIN;
	c->wait.reply = reply;
	idle = (struct fl_idle){ 0 };
	while (c->wait.rc == FL_EAGAIN) {
		if (fl_clock_now_ns() >= deadline_ns) {
			(void)fl_cluster_client_give_up(c, corr);
			c->wait.rc = FL_ETIMEDOUT;
			break;
		}
		w = sync_pass(c);
		if (w < 0 && c->wait.rc == FL_EAGAIN)
			c->wait.rc = w;
		fl_idle(&idle, w > 0 ? w : 0, deadline_ns);
	}
	c->wait.on = false;
	return c->wait.rc;
}

int
fl_cluster_client_put_sync(fl_cluster_client *c, const char *key, const void *value, size_t len,
                           uint64_t deadline_ns, struct fl_cluster_reply *reply)
{
	return kv_sync(c, FL_CLUSTER_PUT, key, NULL, 0, value, len, deadline_ns, reply);
}

int
fl_cluster_client_get_sync(fl_cluster_client *c, const char *key, uint64_t deadline_ns,
                           struct fl_cluster_reply *reply)
{
	return kv_sync(c, FL_CLUSTER_GET, key, NULL, 0, NULL, 0, deadline_ns, reply);
}

int
fl_cluster_client_cas_sync(fl_cluster_client *c, const char *key, const void *expected,
                           size_t expected_len, const void *value, size_t len, uint64_t deadline_ns,
                           struct fl_cluster_reply *reply)
{
	return kv_sync(c, FL_CLUSTER_CAS, key, expected, expected_len, value, len, deadline_ns,
	               reply);
}

int
fl_cluster_client_append_sync(fl_cluster_client *c, const char *key, const void *value, size_t len,
                              uint64_t deadline_ns, struct fl_cluster_reply *reply)
{
	return kv_sync(c, FL_CLUSTER_APPEND, key, NULL, 0, value, len, deadline_ns, reply);
}
