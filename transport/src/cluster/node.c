/*
 * A cluster node (faultline/cluster.h): the Raft core (raft.c) wired to
 * publish/subscribe links, its files (store.c), the key-value service
 * (kv.c) and its clients' sessions (session.c).
 */
#include "faultline/cluster.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/client.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "kv.h"
#include "page.h"
#include "resub.h"
#include "le.h"
#include "raft.h"
#include "session.h"
#include "store.h"
#include "wire.h"

/* The largest frame: a full append of max_append_entries headers and
 * max_append_bytes of data (under a 64 KiB term's 8 KiB message).  The
 * largest entry is a session's command, a kv command in its frame. */
#define NODE_MAX_ENTRIES 32u
#define NODE_MAX_BYTES   FLI_SW_INGRESS_MAX
#define NODE_FRAME_MAX   (FLI_WIRE_HEADER + NODE_MAX_ENTRIES * FLI_WIRE_ENTRY_HDR + NODE_MAX_BYTES)

struct fl_cluster_node {
	struct fl_cluster_node_ctx ctx;
	fl_client *client;
	struct fli_resub sub; /* the consensus stream's (made anew after a client error) */
	fl_publication *pubs[FL_CLUSTER_MAX_NODES];
	int64_t pub_reg[FL_CLUSTER_MAX_NODES];    /* an add in flight, or 0 */
	uint64_t pub_retry[FL_CLUSTER_MAX_NODES]; /* no publication, none in flight:
	                                             when to ask again; in flight: when
	                                             to give up on the answer */
	uint64_t election_fault_at;               /* next look at the early-election point */
	uint64_t client_errors;
	struct fli_shm page;                   /* the status page (page.h), when mapped */
	struct fl_cluster_node_status page_st; /* what it shows */
	struct fl_fragment_assembler fa;
	struct fli_store st;
	struct fli_kv kv;
	struct fli_raft r;
	struct fli_sessions ss;
	bool raft_up;
	struct {
		int role, leader;
		uint64_t term;
	} seen; /* what the observer was last told */
	uint64_t garbled, refused, dropped, torn_bytes;
	struct fli_raft_entry ents[FLI_WIRE_MAX_ENTRIES];
	uint8_t frame[NODE_FRAME_MAX];
};

void
fl_cluster_node_ctx_init(struct fl_cluster_node_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

/* ---- the Raft core's io -------------------------------------------------- */

/* FNV-1a 64 of an entry's type, length and bytes. */
static uint64_t
entry_hash(const struct fli_raft_entry *e)
{
	uint8_t head[6];
	uint64_t h = 0xcbf29ce484222325ull;

	fli_le_put(2, head, e->type);
	fli_le_put(4, head + 2, e->len);
	for (size_t i = 0; i < sizeof(head); i++)
		h = (h ^ head[i]) * 0x100000001b3ull;
	for (uint32_t i = 0; i < e->len; i++)
		h = (h ^ e->data[i]) * 0x100000001b3ull;
	return h;
}

/* The fault point of the link to node `to` (one a link, so a partition
 * is a set of drop rules: {point: transport/cluster/send/to2, actor:
 * node0} cuts 0 -> 2; transport/cluster/send/ and a star, every link). */
static bool
send_lost(int to)
{
	switch (to) {
	case 0: return FL_FAULT("transport/cluster/send/to0");
	case 1: return FL_FAULT("transport/cluster/send/to1");
	case 2: return FL_FAULT("transport/cluster/send/to2");
	case 3: return FL_FAULT("transport/cluster/send/to3");
	default: return FL_FAULT("transport/cluster/send/to4");
	}
}

static void
io_send(void *arg, const struct fli_raft_msg *m)
{
	fl_cluster_node *n = arg;
	fl_publication *p = n->pubs[m->to];
	const struct fl_cluster_observer *o = n->ctx.observer;
	size_t len;

	if (o != NULL && o->link_up != NULL && !o->link_up(o->arg, n->ctx.id, m->to))
		return; /* partitioned: the network lost it */
	if (send_lost(m->to) || p == NULL ||
	    (len = fli_wire_encode(m, n->frame, sizeof(n->frame))) == 0 ||
	    fl_publication_offer(p, n->frame, len) < 0)
		n->dropped++; /* Raft takes a lost message in its stride */
}

static int
io_persist_state(void *arg, uint64_t term, int32_t vote)
{
	fl_cluster_node *n = arg;

	if (FL_FAULT("transport/cluster/persist"))
		return FL_EIO;
	return fli_store_save_state(&n->st, term, vote);
}

static int
io_persist_entry(void *arg, uint64_t index, const struct fli_raft_entry *e)
{
	fl_cluster_node *n = arg;
	const struct fl_cluster_observer *o = n->ctx.observer;
	int rc;

	if (FL_FAULT("transport/cluster/persist"))
		return FL_EIO;
	rc = fli_store_put_entry(&n->st, index, e);
	if (rc == 0 && o != NULL && o->logged != NULL)
		o->logged(o->arg, n->ctx.id, index, e->term, entry_hash(e));
	return rc;
}

static void
io_apply(void *arg, uint64_t index, const struct fli_raft_entry *e)
{
	fl_cluster_node *n = arg;
	const struct fl_cluster_observer *o = n->ctx.observer;
	struct fli_kv_result res;
	int rc;

	if (n->r.role == FLI_RAFT_HALTED)
		return; /* stopped at an earlier entry: nothing more */
	if (e->type == FLI_ENTRY_COMMAND)
		rc = fli_kv_apply(&n->kv, e->data, e->len, &res);
	else
		rc = fli_sessions_apply(&n->ss, index, e, fl_clock_now_ns());
	/* Out of memory: the map would differ from the others' from here
	 * on; the node stops instead (it restarts from its log). */
	if (rc != 0) {
		n->r.role = FLI_RAFT_HALTED;
		fli_sessions_changed(&n->ss);
		return;
	}
	if (o != NULL && o->applied != NULL)
		o->applied(o->arg, n->ctx.id, index, e->term, entry_hash(e));
}

/* The election timeouts: the platform's randomness (the choice stream
 * under the harness's sim). */
static uint64_t
io_random(void *arg, uint64_t bound)
{
	(void)arg;
	return fl_random(bound);
}

static void
io_changed(void *arg)
{
	fl_cluster_node *n = arg;
	const struct fl_cluster_observer *o = n->ctx.observer;
	struct fl_cluster_node_status st;

	if (n->raft_up)
		fli_sessions_changed(&n->ss); /* a node that stops leading lets go of its egress */
	if (o == NULL || o->changed == NULL || !n->raft_up)
		return;
	if ((int)n->r.role == n->seen.role && n->r.leader == n->seen.leader &&
	    n->r.term == n->seen.term)
		return;
	n->seen.role = (int)n->r.role;
	n->seen.leader = n->r.leader;
	n->seen.term = n->r.term;
	(void)fl_cluster_node_status(n, &st);
	o->changed(o->arg, &st);
}

static const struct fli_raft_io node_io = {
	.send = io_send,
	.persist_state = io_persist_state,
	.persist_entry = io_persist_entry,
	.apply = io_apply,
	.random = io_random,
	.changed = io_changed,
};

/* ---- messages in ----------------------------------------------------------- */

static void
on_frame(void *clientd, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	fl_cluster_node *n = clientd;
	struct fli_raft_msg m;

	(void)h;
	if (fli_wire_decode(buf, len, &m, n->ents, NULL) != 0)
		n->garbled++;
	else if (fli_raft_recv(&n->r, &m, fl_clock_now_ns()) != 0)
		n->refused++; /* well formed, yet no correct node sends it */
}

/* The client reports what it could not do on its own: above all an
 * image it failed to map, after which this node would never hear that
 * peer again (its publication stays connected to the lost image).  The
 * node subscribes anew: the driver then offers every image afresh. */
static void
on_client_error(void *arg, int err, const char *what)
{
	fl_cluster_node *n = arg;

	(void)err;
	(void)what;
	n->client_errors++;
	n->sub.want = true;
	n->ss.ingress.want = true;
}

/* Completes the peers' publications still being added; one that failed
 * is asked for again a heartbeat later (the driver may have been busy; a
 * retry at once spun for as long as the failure lasted). */
static int
poll_publications(fl_cluster_node *n, uint64_t now)
{
	int work = 0;

	for (int i = 0; i < n->ctx.members; i++) {
		int rc;

		if (i == n->ctx.id || n->pubs[i] != NULL)
			continue;
		if (n->pub_reg[i] != 0 && now >= n->pub_retry[i]) {
			/* No answer in an election timeout (a lost response, a
			 * lapped broadcast): give up on it and ask again. */
			(void)fl_client_cancel(n->client, n->pub_reg[i]);
			n->pub_reg[i] = 0;
		}
		if (n->pub_reg[i] == 0) {
			if (now < n->pub_retry[i])
				continue;
			n->pub_retry[i] = now + n->ctx.election_timeout_ns;
			if (fl_client_add_publication_start(n->client, FL_CLUSTER_CHANNEL,
			                                    FL_CLUSTER_STREAM_BASE + i, true,
			                                    &n->pub_reg[i]) != 0)
				n->pub_reg[i] = 0;
			continue;
		}
		rc = fl_client_add_publication_poll(n->client, n->pub_reg[i], &n->pubs[i]);
		if (rc == FL_EAGAIN)
			continue;
		n->pub_reg[i] = 0;
		if (rc != 0) {
			n->pubs[i] = NULL;
			n->pub_retry[i] = now + n->ctx.heartbeat_ns;
		}
		work++;
	}
	return work;
}

static void page_update(fl_cluster_node *n, bool force);

int
fl_cluster_node_do_work(fl_cluster_node *n)
{
	int work = fl_client_do_work(n->client), polled;
	uint64_t now;

	if (work < 0)
		return work;
	now = fl_clock_now_ns();
	work += poll_publications(n, now);
	work += fli_resub_poll(&n->sub, n->client, now, n->ctx.heartbeat_ns,
	                       n->ctx.election_timeout_ns);
	polled = n->sub.sub != NULL
	                 ? fl_subscription_poll(n->sub.sub, fl_fragment_assembler_handler, &n->fa,
	                                        16)
	                 : 0;
	if (polled > 0)
		work += polled;
	/* The election timer fires early (a pause, a clock jump); looked at
	 * once a heartbeat, so that a fault firing at every look still lets
	 * time pass between elections. */
	if (n->r.role != FLI_RAFT_LEADER && n->r.role != FLI_RAFT_HALTED &&
	    now >= n->election_fault_at) {
		n->election_fault_at = now + n->ctx.heartbeat_ns;
		if (FL_FAULT("transport/cluster/election"))
			n->r.election_deadline_ns = now;
	}
	(void)fli_raft_tick(&n->r, fl_clock_now_ns());
	work += fli_sessions_do_work(&n->ss, fl_clock_now_ns());
	page_update(n, false);
	return work;
}

/* The status page follows what a watcher would look at; counters that
 * move on every message (garbled, dropped) ride along with the rest. */
static void
page_update(fl_cluster_node *n, bool force)
{
	struct fl_cluster_node_status st;
	const struct fl_cluster_node_status *o = &n->page_st;

	if (n->page.addr == NULL)
		return;
	(void)fl_cluster_node_status(n, &st);
	if (!force && st.role == o->role && st.leader == o->leader && st.term == o->term &&
	    st.commit == o->commit && st.applied == o->applied && st.log_length == o->log_length &&
	    st.sessions == o->sessions)
		return;
	fli_page_write(&n->page, &st, n->ctx.members);
	n->page_st = st;
}

/* ---- open and close --------------------------------------------------------- */

static int
start_raft(fl_cluster_node *n)
{
	struct fli_store_loaded l;
	struct fli_raft_config cfg = {
		.id = n->ctx.id,
		.n = n->ctx.members,
		.election_timeout_ns = n->ctx.election_timeout_ns,
		.heartbeat_ns = n->ctx.heartbeat_ns,
		.max_append_entries = NODE_MAX_ENTRIES,
		.max_append_bytes = NODE_MAX_BYTES,
		.leader_noop = true,
	};
	int rc = fli_store_open(&n->st, n->ctx.dir, n->ctx.sync, &l);

	if (rc != 0)
		return rc;
	n->torn_bytes = l.torn_bytes;
	rc = fli_raft_init(&n->r, &cfg, &node_io, n, l.term, l.voted_for, l.log, l.n,
	                   fl_clock_now_ns());
	fli_store_loaded_free(&l);
	if (rc != 0) {
		fli_store_close(&n->st);
		return rc;
	}
	n->raft_up = true;
	io_changed(n); /* a follower of its durable term */
	return 0;
}

int
fl_cluster_node_open(const struct fl_cluster_node_ctx *ctx, fl_cluster_node **out)
{
	struct fl_client_ctx cc;
	fl_cluster_node *n;
	int rc;

	if (ctx == NULL || out == NULL || ctx->ns == NULL || ctx->dir == NULL)
		return FL_EINVAL;
	if ((ctx->members != 0 && ctx->members != 1 && ctx->members != 3 && ctx->members != 5) ||
	    ctx->id < 0 || ctx->id >= (ctx->members ? ctx->members : 3))
		return FL_EINVAL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return FL_ENOMEM;
	n->ctx = *ctx;
	n->ctx.members = ctx->members ? ctx->members : 3;
	n->ctx.election_timeout_ns =
	        ctx->election_timeout_ns ? ctx->election_timeout_ns : FL_CLUSTER_ELECTION_NS;
	n->ctx.heartbeat_ns = ctx->heartbeat_ns ? ctx->heartbeat_ns : FL_CLUSTER_HEARTBEAT_NS;
	n->ctx.session_timeout_ns =
	        ctx->session_timeout_ns ? ctx->session_timeout_ns : FL_CLUSTER_SESSION_TIMEOUT_NS;
	n->seen.role = -1;
	fli_kv_init(&n->kv);
	fl_fragment_assembler_init(&n->fa, on_frame, n);
	fl_client_ctx_init(&cc);
	cc.ns = ctx->ns;
	cc.agent = true;
	cc.error_handler = on_client_error;
	cc.error_arg = n;
	rc = fl_client_open(&cc, &n->client);
	if (rc == 0)
		rc = fl_client_add_subscription(n->client, FL_CLUSTER_CHANNEL,
		                                FL_CLUSTER_STREAM_BASE + ctx->id, NULL,
		                                fl_clock_now_ns() + 10ull * 1000000000ull,
		                                &n->sub.sub);
	n->sub.stream = FL_CLUSTER_STREAM_BASE + ctx->id;
	for (int i = 0; rc == 0 && i < n->ctx.members; i++) {
		if (i == ctx->id)
			continue;
		rc = fl_client_add_publication_start(n->client, FL_CLUSTER_CHANNEL,
		                                     FL_CLUSTER_STREAM_BASE + i, true,
		                                     &n->pub_reg[i]);
		n->pub_retry[i] = fl_clock_now_ns() + n->ctx.election_timeout_ns;
	}
	if (rc == 0)
		rc = fli_sessions_open(&n->ss, n->client, &n->r, &n->kv, ctx->id,
		                       n->ctx.session_timeout_ns,
		                       fl_clock_now_ns() + 10ull * 1000000000ull);
	if (rc == 0)
		rc = start_raft(n);
	if (rc != 0) {
		fl_cluster_node_close(n);
		return rc;
	}
	/* The page is for watchers: a node runs without one (no room in
	 * /dev/shm), as it runs without a watcher. */
	if (fli_page_open(fl_client_run_dir(n->client), n->ctx.id, &n->page) == 0)
		page_update(n, true);
	*out = n;
	return 0;
}

void
fl_cluster_node_close(fl_cluster_node *n)
{
	if (n == NULL)
		return;
	if (n->page.addr != NULL)
		fli_page_close(&n->page, fl_client_run_dir(n->client), n->ctx.id, 1);
	fli_sessions_close(&n->ss);
	if (n->raft_up) {
		fli_raft_fini(&n->r);
		fli_store_close(&n->st);
	}
	fli_kv_fini(&n->kv);
	for (int i = 0; i < FL_CLUSTER_MAX_NODES; i++) {
		if (n->pub_reg[i] != 0)
			(void)fl_client_cancel(n->client, n->pub_reg[i]);
		if (n->pubs[i] != NULL)
			(void)fl_publication_close(n->pubs[i]);
	}
	fli_resub_close(&n->sub, n->client);
	fl_client_close(n->client);
	fl_fragment_assembler_fini(&n->fa);
	free(n);
}

void
fl_cluster_node_abandon(fl_cluster_node *n)
{
	if (n == NULL)
		return;
	fli_page_close(&n->page, NULL, n->ctx.id, 0); /* a dead process's page stays */
	fl_client_abandon(n->client);
	n->client = NULL;
	fli_sessions_abandon(&n->ss);
	/* Closed, never written: what a write left half done stays so. */
	if (n->raft_up) {
		fli_raft_fini(&n->r);
		fli_store_close(&n->st);
	}
	fli_kv_fini(&n->kv);
	fl_fragment_assembler_fini(&n->fa);
	free(n);
}

/* ---- what the node says, what it is asked ----------------------------------- */

int
fl_cluster_node_status(const fl_cluster_node *n, struct fl_cluster_node_status *st)
{
	if (n == NULL || st == NULL)
		return FL_EINVAL;
	memset(st, 0, sizeof(*st));
	st->id = n->ctx.id;
	st->role = (enum fl_cluster_role)n->r.role;
	st->leader = n->r.leader;
	st->term = n->r.term;
	st->commit = n->r.commit;
	st->applied = n->r.applied;
	st->log_length = fli_raft_last_index(&n->r);
	st->state_hash = fli_kv_hash(&n->kv);
	st->garbled = n->garbled;
	st->refused = n->refused;
	st->dropped = n->dropped;
	st->elections = n->r.elections;
	st->torn_bytes = n->torn_bytes;
	st->sessions = n->ss.n;
	st->ingress_garbled = n->ss.ingress_garbled;
	st->ingress_dropped = n->ss.ingress_dropped;
	st->egress_dropped = n->ss.egress_dropped;
	return 0;
}

int
fl_cluster_node_entry(const fl_cluster_node *n, uint64_t index, uint64_t *term, uint64_t *hash)
{
	const struct fli_raft_entry *e;

	if (n == NULL || term == NULL || hash == NULL)
		return FL_EINVAL;
	e = fli_raft_entry_at(&n->r, index);
	if (e == NULL)
		return FL_ENOENT;
	*term = e->term;
	*hash = entry_hash(e);
	return 0;
}

int
fl_cluster_node_put(fl_cluster_node *n, const char *key, const void *value, size_t len,
                    uint64_t *index)
{
	uint8_t cmd[FLI_KV_HDR + FLI_KV_MAX_KEY + FLI_KV_MAX_VALUE];
	size_t klen = key != NULL ? strlen(key) : 0;
	size_t clen;

	if (n == NULL || key == NULL || (value == NULL && len > 0))
		return FL_EINVAL;
	clen = fli_kv_encode(FLI_KV_PUT, key, klen, NULL, 0, value, len, cmd, sizeof(cmd));
	if (clen == 0)
		return FL_EMSGSIZE;
	return fli_raft_propose(&n->r, FLI_ENTRY_COMMAND, cmd, (uint32_t)clen, fl_clock_now_ns(),
	                        index);
}

int
fl_cluster_node_read(const fl_cluster_node *n, const char *key, void *buf, size_t cap, size_t *len)
{
	uint8_t cmd[FLI_KV_HDR + FLI_KV_MAX_KEY];
	struct fli_kv_result res;
	size_t clen;

	if (n == NULL || key == NULL || (buf == NULL && cap > 0) || len == NULL)
		return FL_EINVAL;
	clen = fli_kv_encode(FLI_KV_GET, key, strlen(key), NULL, 0, NULL, 0, cmd, sizeof(cmd));
	if (clen == 0)
		return FL_EMSGSIZE;
	/* A get changes nothing: the map is only read (the cast is safe) */
	if (fli_kv_apply((struct fli_kv *)&n->kv, cmd, clen, &res) != 0 || res.status == FLI_KV_BAD)
		return FL_EINVAL;
	if (res.status == FLI_KV_NOT_FOUND)
		return FL_ENOENT;
	*len = res.value_len;
	if (res.value_len > cap)
		return FL_EMSGSIZE;
	if (res.value_len > 0)
		memcpy(buf, res.value, res.value_len);
	return 0;
}
