/*
 * cluster_prop: Raft's safety properties under random histories.  Three
 * (or five) Raft cores (transport/src/cluster/raft.c) on an in-memory
 * network (tests/raft_net.h), each with its real files and key-value
 * service; every step is a message delivered (in any order), dropped or
 * duplicated, time passing, an election timer firing early, a command
 * proposed at the leader, a node killed or restarted from its files, a
 * partition or its healing; and two steps made of several deliveries,
 * an election a chosen group of voters decides and a pair of nodes
 * exchanging all they have in flight to each other.  After every step:
 * election safety, log matching, leader completeness (of the leaders
 * elected and of any node that could be) and state machine safety
 * against the committed log every node applied (raft_net.h); at the end,
 * with the network healed and every node up, a leader within 10 s of
 * virtual time (cluster liveness) and every node's map the same.
 *
 * Built twice: cluster_prop (the library's Raft) and cluster_prop_planted
 * (raft.c compiled with FLI_PLANTS; --plant NAME picks one of three
 * classic bugs the property must find and shrink).
 */
#include "faultline/prop.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prop_program.h"
#include "raft_net.h"

/* Where trials keep their nodes' files: a directory of this program's own
 * under $TMPDIR (not /dev/shm: these are a node's disk files), removed at
 * the end whatever the trials left. */
static char base_dir[PATH_MAX];
static unsigned trial_no;

enum cp_kind {
	CP_DELIVER,   /* the oldest message on the link a -> b arrives */
	CP_TIME,      /* b + 1 ms pass; every node ticks */
	CP_TIMEOUT,   /* node a's election timer fires now (fired early) */
	CP_PUT,       /* node a, if it leads, proposes put(k(b % 3), b) */
	CP_DROP,      /* the oldest message on the link a -> b is lost */
	CP_DUPLICATE, /* ... arrives twice: a copy is resent */
	CP_REORDER,   /* message #a in flight arrives, before older ones */
	CP_RESTART,   /* node a restarts from its files (killed first if up) */
	CP_KILL,      /* node a dies; its files stay */
	CP_PARTITION, /* a group of nodes (picked by b) is cut off */
	CP_HEAL,      /* every link works again */
	CP_CAMPAIGN,  /* node a's timer fires; its requests reach group b */
	CP_EXCHANGE,  /* what a and b have in flight to each other arrives */
	CP_NKINDS
};

struct cp_real {
	struct rn net;
	char root[PATH_MAX];
	uint32_t swarm; /* the kinds of step this trial may take (a bit a kind) */
	/* The nodes' random draws (election timeouts) in this step: from
	 * one value of the step's own draws (0: every timeout the
	 * shortest), the how-manieth draw of the step mixed in. */
	uint64_t timers, timer_draws;
};

/* A node's random draw (its election timeout), from the step's timer
 * value rather than straight from the choice stream: how many a step
 * makes depends on the state (every append a follower takes resets its
 * timer), and were they drawn from the stream, deleting one step would
 * shift the draws of every step after it, which is what kept shrinking
 * from deleting steps.  Shrinking still makes timeouts simpler: a step's
 * value lowered to 0 makes each of its timeouts the shortest. */
static uint64_t
cp_random(void *arg, uint64_t bound)
{
	struct cp_real *r = arg;
	uint64_t z;

	if (bound == 0 || r->timers == 0)
		return 0;
	z = r->timers * 0x9e3779b97f4a7c15ull + ++r->timer_draws * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) % bound;
}

static int cp_nodes = 3;

/* The model is the committed log, kept by raft_net.h as nodes apply; the
 * engine's model pointer carries nothing else. */
static void
cp_teardown(void *model, void *real)
{
	struct cp_real *r = real;

	(void)model;
	rn_fini(&r->net);
	rmdir(r->root);
	free(r);
}

static int
cp_setup(struct fl_prop_ctx *ctx, void **model, void **real)
{
	struct cp_real *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return FL_ENOMEM;
	if ((size_t)snprintf(r->root, sizeof(r->root), "%s/t%d-%u", base_dir, (int)getpid(),
	                     trial_no++) >= sizeof(r->root) ||
	    mkdir(r->root, 0700) != 0 || rn_setup(&r->net, cp_nodes, r->root, 1) != 0) {
		rmdir(r->root);
		free(r);
		return FL_EIO;
	}
	r->net.random = cp_random;
	r->net.random_arg = r;
	r->timers = fl_gen_u64(fl_prop_choice(ctx), 0, UINT32_MAX);
	/* The swarm: deliveries always; each other kind in half the trials
	 * (all of them on an all-zero stream, the simplest). */
	r->swarm = 1u << CP_DELIVER;
	for (int k = CP_DELIVER + 1; k < CP_NKINDS; k++)
		if (!fl_gen_bool(fl_prop_choice(ctx)))
			r->swarm |= 1u << k;
	for (int i = 0; i < cp_nodes; i++) {
		if (rn_start(&r->net, i) != 0) {
			cp_teardown(r, r);
			return FL_EIO;
		}
	}
	/* Up to 8 entries an append, or one (each acked alone: the shape
	 * of Figure 8, where an old entry reaches a majority before the
	 * leader's own). */
	rn_configure(&r->net, fl_gen_bool(fl_prop_choice(ctx)) ? 1 : 8,
	             /* and a new leader's no-op, or none (then an old entry
	              * commits only with a command of a later term) */
	             !fl_gen_bool(fl_prop_choice(ctx)));
	*model = r;
	*real = r;
	return 0;
}

static int
cp_check(struct fl_prop_ctx *ctx, const void *model, void *real)
{
	struct cp_real *r = real;

	(void)model;
	if (!rn_check(&r->net))
		return fl_prop_fail(ctx, "%s", r->net.violation);
	return FL_PROP_PASS;
}

/* ---- commands ---------------------------------------------------------
 *
 * One step a command; every command is a kind, drawn by its gen (below,
 * one a kind), applied by cp_apply and put in words by cp_describe. */


struct cp_args {
	enum cp_kind kind;
	uint32_t a, b;
	uint32_t timers; /* the step's timer value (cp_random) */
};

static bool
has_msgs(const void *model)
{
	return ((const struct cp_real *)model)->net.qlen > 0;
}

/* Swarm testing (Groce et al.): each trial leaves out some kinds of step
 * altogether, so that some histories are all kills and restarts, others
 * all timeouts and deliveries: deep shapes a uniform mix dilutes. */
static bool
in_swarm(const void *model, enum cp_kind kind)
{
	return (((const struct cp_real *)model)->swarm >> kind) & 1;
}

static void
cp_gen(struct fl_prop_ctx *ctx, void *args, enum cp_kind kind)
{
	struct cp_args *a = args;
	struct fl_choice *c = fl_prop_choice(ctx);

	a->kind = kind;
	switch (kind) {
	case CP_DELIVER:
	case CP_DROP:
	case CP_DUPLICATE:
	case CP_EXCHANGE:
		/* A link: from a to b (never a itself). */
		a->a = (uint32_t)fl_gen_u64(c, 0, (uint64_t)cp_nodes - 1);
		a->b = (a->a + 1 + (uint32_t)fl_gen_u64(c, 0, (uint64_t)cp_nodes - 2)) % cp_nodes;
		break;
	case CP_REORDER:
		/* The oldest message first is the simplest: 0. */
		a->a = (uint32_t)fl_gen_u64(c, 0, 7);
		break;
	case CP_HEAL: break;
	case CP_CAMPAIGN:
		/* A node and a group of the others (cp_voters). */
		a->a = (uint32_t)fl_gen_u64(c, 0, (uint64_t)cp_nodes - 1);
		a->b = (uint32_t)fl_gen_u64(c, 0, (1u << (cp_nodes - 1)) - 2);
		break;
	default:
		a->a = (uint32_t)fl_gen_u64(c, 0, (uint64_t)cp_nodes - 1);
		a->b = (uint32_t)fl_gen_u64(c, 0, 299);
		break;
	}
	/* Last, one value for the timers the step may reset (a message
	 * taken, time, an election, a restart): one draw whatever the
	 * step does. */
	if (kind == CP_DELIVER || kind == CP_REORDER || kind == CP_TIME || kind == CP_TIMEOUT ||
	    kind == CP_RESTART || kind == CP_CAMPAIGN || kind == CP_EXCHANGE)
		a->timers = (uint32_t)fl_gen_u64(c, 0, UINT32_MAX);
}

#define CP_PRE(kind, msgs)                                                                         \
	static bool pre_##kind(const void *model)                                                  \
	{                                                                                          \
		return in_swarm(model, kind) && (!(msgs) || has_msgs(model));                      \
	}
CP_PRE(CP_DELIVER, true)
CP_PRE(CP_TIME, false)
CP_PRE(CP_TIMEOUT, false)
CP_PRE(CP_PUT, false)
CP_PRE(CP_DROP, true)
CP_PRE(CP_DUPLICATE, true)
CP_PRE(CP_REORDER, true)
CP_PRE(CP_RESTART, false)
CP_PRE(CP_KILL, false)
CP_PRE(CP_PARTITION, false)
CP_PRE(CP_HEAL, false)
CP_PRE(CP_CAMPAIGN, false)
CP_PRE(CP_EXCHANGE, true)

#define CP_GEN(kind)                                                                               \
	static void gen_##kind(struct fl_prop_ctx *ctx, const void *model, void *args)             \
	{                                                                                          \
		(void)model;                                                                       \
		cp_gen(ctx, args, kind);                                                           \
	}
CP_GEN(CP_DELIVER)
CP_GEN(CP_TIME)
CP_GEN(CP_TIMEOUT)
CP_GEN(CP_PUT)
CP_GEN(CP_DROP)
CP_GEN(CP_DUPLICATE)
CP_GEN(CP_REORDER)
CP_GEN(CP_RESTART)
CP_GEN(CP_KILL)
CP_GEN(CP_PARTITION)
CP_GEN(CP_HEAL)
CP_GEN(CP_CAMPAIGN)
CP_GEN(CP_EXCHANGE)

static const char *const msg_names[] = { "?", "vote_req", "vote_resp", "append", "append_resp" };

/* A message in words, on a line of the log after its step's. */
static void
log_msg(struct fl_prop_ctx *ctx, const struct fli_raft_msg *m)
{
	fl_prop_log(ctx, "    = %s %d->%d term %llu index %llu%s%s",
	            msg_names[m->type <= 4 ? m->type : 0], m->from, m->to,
	            (unsigned long long)m->term, (unsigned long long)m->index,
	            m->type == FLI_MSG_APPEND_REQ && m->n_entries > 0 ? " +entries" : "",
	            m->type == FLI_MSG_VOTE_RESP || m->type == FLI_MSG_APPEND_RESP
	                    ? (m->ok ? " ok" : " refused")
	                    : "");
}

/* The message a step takes: for CP_REORDER #a of the list (the last when
 * fewer), else the oldest on the link a -> b; -1 when that link has none.
 * The log says which. */
static ssize_t
pick(struct fl_prop_ctx *ctx, struct rn *net, const struct cp_args *a)
{
	ssize_t k = -1;

	if (a->kind == CP_REORDER) {
		k = a->a < net->qlen ? (ssize_t)a->a : (ssize_t)net->qlen - 1;
	} else {
		for (size_t i = 0; i < net->qlen && k < 0; i++)
			if (net->q[i].m.from == (int)a->a && net->q[i].m.to == (int)a->b)
				k = (ssize_t)i;
	}
	if (k < 0) {
		fl_prop_log(ctx, "    = nothing in flight there");
		return k;
	}
	log_msg(ctx, &net->q[k].m);
	return k;
}

/* The group CP_PARTITION cuts off: one or more nodes, never all. */
static uint32_t
cp_group(const struct cp_args *a)
{
	return (a->b % ((1u << cp_nodes) - 2)) + 1;
}

/* The group of voters CP_CAMPAIGN's requests reach: one or more of the
 * nodes other than a (bit i of b + 1 is the i-th of them). */
static uint32_t
cp_voters(const struct cp_args *a)
{
	uint32_t bits = (a->b % ((1u << (cp_nodes - 1)) - 1)) + 1, group = 0;

	for (int i = 0, j = 0; i < cp_nodes; i++)
		if (i != (int)a->a && ((bits >> j++) & 1))
			group |= 1u << i;
	return group;
}

/* A copy of message k, resent by its sender's io: it goes to the end of
 * the list.  (A copy: the send may move the list; entries stay put.) */
static void
duplicate(struct rn *net, size_t k)
{
	struct fli_raft_msg m = net->q[k].m;

	rn_io_send(&net->nodes[m.from], &m);
}

/* Node a's election timer fires now, if it is up and not the leader. */
static void
fire_timeout(struct fl_prop_ctx *ctx, struct rn *net, uint32_t i)
{
	struct rn_node *nd = &net->nodes[i];

	if (!nd->up) {
		fl_prop_log(ctx, "    = node %u is down: nothing", i);
	} else if (nd->r.role != FLI_RAFT_LEADER) {
		nd->r.election_deadline_ns = net->now;
		(void)fli_raft_tick(&nd->r, net->now);
	}
}

/* The first message in the list from index `from` on that goes from x
 * to y and is of `type` (0: any), or -1. */
static ssize_t
find_msg(const struct rn *net, size_t from, int x, int y, int type)
{
	for (size_t i = from; i < net->qlen; i++)
		if (net->q[i].m.from == x && net->q[i].m.to == y &&
		    (type == 0 || net->q[i].m.type == type))
			return (ssize_t)i;
	return -1;
}

/* An election decided by a group of voters: node a's timer fires (if it
 * is up and does not lead), its vote requests to the group arrive, and
 * their answers come back; its requests to the others stay in flight.
 * Figure 8's histories are three elections in a row, each won with a
 * different node's vote: as single deliveries that is a dozen steps in
 * a particular order, which random steps seldom make and a shrunk
 * history would have to keep. */
static void
campaign(struct fl_prop_ctx *ctx, struct rn *net, const struct cp_args *a)
{
	const struct rn_node *nd = &net->nodes[a->a];
	uint32_t group = cp_voters(a);
	size_t answers;
	ssize_t k;

	if (nd->up && nd->r.role == FLI_RAFT_LEADER) {
		fl_prop_log(ctx, "    = node %u leads term %llu: nothing", a->a,
		            (unsigned long long)nd->r.term);
		return;
	}
	fire_timeout(ctx, net, a->a);
	if (!nd->up || nd->r.role != FLI_RAFT_CANDIDATE)
		return;
	/* The answers land after what is in flight now, less the requests
	 * taken out of the list. */
	answers = net->qlen;
	for (int v = 0; v < net->n; v++) {
		if (!((group >> v) & 1) ||
		    (k = find_msg(net, 0, (int)a->a, v, FLI_MSG_VOTE_REQ)) < 0)
			continue;
		/* The newest: this election's. */
		for (ssize_t j = k; j >= 0;
		     j = find_msg(net, (size_t)j + 1, (int)a->a, v, FLI_MSG_VOTE_REQ))
			k = j;
		rn_deliver(net, (size_t)k);
		answers--;
	}
	for (int v = 0; v < net->n; v++)
		if (((group >> v) & 1) &&
		    (k = find_msg(net, answers, v, (int)a->a, FLI_MSG_VOTE_RESP)) >= 0) {
			log_msg(ctx, &net->q[k].m);
			rn_deliver(net, (size_t)k);
		}
	fl_prop_log(ctx, "    = node %u %s of term %llu", a->a, fli_raft_role_name(nd->r.role),
	            (unsigned long long)nd->r.term);
}

/* What nodes a and b have in flight to each other arrives, oldest first,
 * and what that makes them send, until the pair is quiet (at most 64
 * messages): a leader brings a follower up to date, or learns it is
 * stale. */
static void
exchange(struct fl_prop_ctx *ctx, struct rn *net, const struct cp_args *a)
{
	int n = 0;

	for (; n < 64; n++) {
		ssize_t k = -1;

		for (size_t i = 0; i < net->qlen && k < 0; i++)
			if ((net->q[i].m.from == (int)a->a && net->q[i].m.to == (int)a->b) ||
			    (net->q[i].m.from == (int)a->b && net->q[i].m.to == (int)a->a))
				k = (ssize_t)i;
		if (k < 0)
			break;
		log_msg(ctx, &net->q[k].m);
		rn_deliver(net, (size_t)k);
	}
	if (n == 0)
		fl_prop_log(ctx, "    = nothing in flight there");
}

/* Node a proposes put(k(b % 3), b) if it thinks it leads: a stale leader
 * cut off from the rest takes commands too, and the logs part ways. */
static void
put(struct fl_prop_ctx *ctx, struct rn *net, const struct cp_args *a)
{
	const struct rn_node *nd = &net->nodes[a->a];
	char key[8], val[16];

	if (!nd->up || nd->r.role != FLI_RAFT_LEADER) {
		fl_prop_log(ctx, "    = node %u does not lead: nothing", a->a);
		return;
	}
	snprintf(key, sizeof(key), "k%u", a->b % 3);
	snprintf(val, sizeof(val), "%u", a->b);
	(void)rn_put(net, (int)a->a, key, val, NULL);
}

/* Delivers, drops or duplicates the message the step picks. */
static void
take(struct fl_prop_ctx *ctx, struct rn *net, const struct cp_args *a)
{
	ssize_t k = pick(ctx, net, a);

	if (k < 0)
		return;
	if (a->kind == CP_DROP)
		rn_remove(net, (size_t)k);
	else if (a->kind == CP_DUPLICATE)
		duplicate(net, (size_t)k);
	else
		rn_deliver(net, (size_t)k);
}

static int
cp_apply(struct fl_prop_ctx *ctx, void *real, const void *model, void *args)
{
	struct cp_real *r = real;
	struct rn *net = &r->net;
	const struct cp_args *a = args;

	(void)model;
	r->timers = a->timers;
	r->timer_draws = 0;
	switch (a->kind) {
	case CP_DELIVER:
	case CP_REORDER:
	case CP_DROP:
	case CP_DUPLICATE: take(ctx, net, a); break;
	case CP_TIME:
		net->now += ((uint64_t)a->b + 1) * 1000000ull;
		rn_tick_all(net);
		break;
	case CP_TIMEOUT: fire_timeout(ctx, net, a->a); break;
	case CP_PUT: put(ctx, net, a); break;
	case CP_RESTART:
		if (rn_restart(net, (int)a->a) != 0)
			return fl_prop_fail(ctx, "node %u does not restart from its files", a->a);
		break;
	case CP_KILL: rn_kill(net, (int)a->a); break;
	case CP_PARTITION: rn_partition(net, cp_group(a)); break;
	case CP_HEAL: rn_heal(net); break;
	case CP_CAMPAIGN: campaign(ctx, net, a); break;
	case CP_EXCHANGE: exchange(ctx, net, a); break;
	case CP_NKINDS: break;
	}
	return FL_PROP_PASS;
}

static void
cp_describe(const void *args, char *buf, size_t len)
{
	const struct cp_args *a = args;
	int n;

	switch (a->kind) {
	case CP_DELIVER: snprintf(buf, len, "deliver %u -> %u", a->a, a->b); break;
	case CP_DROP: snprintf(buf, len, "drop %u -> %u", a->a, a->b); break;
	case CP_DUPLICATE: snprintf(buf, len, "duplicate %u -> %u", a->a, a->b); break;
	case CP_REORDER: snprintf(buf, len, "deliver message #%u in flight", a->a); break;
	case CP_TIME: snprintf(buf, len, "time +%u ms", a->b + 1); break;
	case CP_TIMEOUT: snprintf(buf, len, "election timeout at node %u", a->a); break;
	case CP_PUT:
		snprintf(buf, len, "node %u proposes put(k%u, %u)", a->a, a->b % 3, a->b);
		break;
	case CP_RESTART: snprintf(buf, len, "restart node %u from its files", a->a); break;
	case CP_KILL: snprintf(buf, len, "kill node %u", a->a); break;
	case CP_PARTITION:
		n = snprintf(buf, len, "partition: cut off");
		for (int i = 0; i < cp_nodes && n > 0 && (size_t)n < len; i++)
			if ((cp_group(a) >> i) & 1)
				n += snprintf(buf + n, len - (size_t)n, " %d", i);
		break;
	case CP_HEAL: snprintf(buf, len, "heal"); break;
	case CP_CAMPAIGN:
		n = snprintf(buf, len, "node %u campaigns; its requests reach", a->a);
		for (int i = 0; i < cp_nodes && n > 0 && (size_t)n < len; i++)
			if ((cp_voters(a) >> i) & 1)
				n += snprintf(buf + n, len - (size_t)n, " %d", i);
		break;
	case CP_EXCHANGE:
		snprintf(buf, len, "nodes %u and %u exchange what is in flight", a->a, a->b);
		break;
	case CP_NKINDS: break;
	}
}

_Static_assert(sizeof(struct cp_args) <= FL_MODEL_ARGS_MAX, "a step's args fit");

/* clang-format off */
#define CP_CMD(name, weight, kind) { name, weight, pre_##kind, gen_##kind, NULL, cp_apply, cp_describe }
static const struct fl_model_cmd cp_cmds[] = {
	CP_CMD("deliver", 30, CP_DELIVER),
	CP_CMD("time", 8, CP_TIME),
	CP_CMD("timeout", 4, CP_TIMEOUT),
	CP_CMD("put", 8, CP_PUT),
	CP_CMD("drop", 4, CP_DROP),
	CP_CMD("duplicate", 2, CP_DUPLICATE),
	CP_CMD("reorder", 4, CP_REORDER),
	CP_CMD("restart", 3, CP_RESTART),
	CP_CMD("kill", 2, CP_KILL),
	CP_CMD("partition", 2, CP_PARTITION),
	CP_CMD("heal", 2, CP_HEAL),
	CP_CMD("campaign", 20, CP_CAMPAIGN),
	CP_CMD("exchange", 10, CP_EXCHANGE),
};
/* clang-format on */

/* Healed, every node up: a leader within 10 s of virtual time, and every
 * node's map the same once it applied what the leader committed. */
/* Runs healed until a leader has been up a while (at most 10 s of
 * virtual time, checking safety at every 10 ms); returns it, or -1. */
static int
settle(struct rn *net)
{
	int l = -1;

	for (int step = 0; step < 1000 && net->violation[0] == '\0'; step++) {
		rn_run(net, 10000000ull, 10000000ull);
		(void)rn_check(net);
		l = rn_leader(net);
		if (l >= 0 && step >= 100)
			return l;
	}
	return net->violation[0] == '\0' ? l : -1;
}

/* Healed, every node up: a leader within 10 s of virtual time (cluster
 * liveness); a command it proposes then commits, and every node, having
 * applied what the leader committed, holds the same map.  (The command
 * also commits what earlier terms left, when leaders append no no-op.) */
static int
cp_final(struct fl_prop_ctx *ctx, void *model, void *real)
{
	struct rn *net = &((struct cp_real *)real)->net;
	uint64_t index = 0;
	int l;

	(void)model;
	/* Liveness holds only under random timeouts: from here on they come
	 * from the network's own generator, not the adversary's stream
	 * (where all-zero draws split every vote forever). */
	net->random = NULL;
	rn_heal(net);
	for (int i = 0; i < net->n; i++)
		if (!net->nodes[i].up && rn_start(net, i) != 0)
			return fl_prop_fail(ctx, "node %d does not restart from its files", i);
	l = settle(net);
	if (l >= 0 && rn_put(net, l, "final", "1", &index) == 0)
		l = settle(net);
	if (net->violation[0] != '\0')
		return fl_prop_fail(ctx, "%s", net->violation);
	if (l < 0 || index == 0 || net->nodes[l].r.commit < index)
		return fl_prop_fail(ctx, "cluster_liveness: no leader committed a command 20 s "
		                         "after the last fault healed");
	for (int i = 0; i < net->n; i++) {
		const struct rn_node *nd = &net->nodes[i];
		if (nd->r.applied != net->nodes[l].r.commit ||
		    fli_kv_hash(&nd->kv) != fli_kv_hash(&net->nodes[l].kv))
			return fl_prop_fail(
			        ctx,
			        "convergence: node %d applied %llu (map %016llx), leader %d "
			        "committed %llu (map %016llx)",
			        i, (unsigned long long)nd->r.applied,
			        (unsigned long long)fli_kv_hash(&nd->kv), l,
			        (unsigned long long)net->nodes[l].r.commit,
			        (unsigned long long)fli_kv_hash(&net->nodes[l].kv));
	}
	return FL_PROP_PASS;
}

static const struct fl_model_spec cp_spec = {
	.name = "raft",
	.cmds = cp_cmds,
	.ncmds = sizeof(cp_cmds) / sizeof(cp_cmds[0]),
	.max_steps = 200,
	.avg_steps = 60,
	.setup = cp_setup,
	.check = cp_check,
	.final_check = cp_final,
	.teardown = cp_teardown,
};

#ifndef FLI_PLANTS
/* Five nodes: the same history, majorities of three. */
static int
raft5_prop(struct fl_prop_ctx *ctx)
{
	cp_nodes = 5;
	return fl_model_prop(ctx);
}

static int
raft3_prop(struct fl_prop_ctx *ctx)
{
	cp_nodes = 3;
	return fl_model_prop(ctx);
}

static const struct fl_prop_def props[] = {
	{ "raft", raft3_prop, &cp_spec,
	  "three Raft nodes under reordering, loss, duplication, kills, restarts from files and "
	  "partitions: election safety, log matching, leader completeness, state machine safety; "
	  "a leader once healed, every map the same" },
	{ "raft5", raft5_prop, &cp_spec, "the same with five nodes" },
};
#endif

/* ---- the program's directory ------------------------------------------- */

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 ? -1 : 0;
}

static int
make_base_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(base_dir, sizeof(base_dir), "%s/faultline-cluster-prop-XXXXXX",
	         tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(base_dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	return 0;
}

static void
remove_base_dir(void)
{
	(void)nftw(base_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#ifdef FLI_PLANTS
#include "core/plant.h"

/* The planted bugs: each must be found from seeds 1000-1004 and shrunk to
 * at most max_steps steps, whose log or failure names `helper` (for
 * Figure 8, the invariant it breaks).  max_steps 0: not yet found on
 * every seed within 10^4 trials (no test; --bench leaves it out). */
static const struct plant {
	const char *name;
	enum fli_plant plant;
	int nodes;
	const char *helper;
	const char *finding; /* what the failure must say: the property broken */
	unsigned max_steps;
	const char *what;
} plants[] = {
	{ "vote_no_log_check", FLI_PLANT_VOTE_NOT_UP_TO_DATE, 3, "node", "leader_completeness:", 30,
	  "a vote granted without the up-to-date log check" },
	{ "commit_old_term", FLI_PLANT_COMMIT_OLD_TERM, 3, "leader_completeness",
	  "leader_completeness", 30,
	  "a leader commits an earlier term's entry by counting replicas (Figure 8)" },
	{ "vote_not_persisted", FLI_PLANT_VOTE_NOT_PERSISTED, 3, "node", "election_safety:", 30,
	  "a vote answered before it is durable; the voter restarts" },
};
#define NPLANTS (sizeof(plants) / sizeof(plants[0]))

/* The property of a plant, named "raft+<plant>" so that a saved trace
 * replays with its plant (`faultline replay TRACE` runs
 * `cluster_prop_planted --replay TRACE`): it sets the plant in the trial
 * (a forked child, or this process under --no-fork) and runs. */
static int
planted_prop(struct fl_prop_ctx *ctx)
{
	const struct plant *p = &plants[*(const size_t *)fl_prop_arg(ctx)];

	fli_plant = p->plant;
	cp_nodes = p->nodes;
	return fl_model_run(ctx, &cp_spec);
}

static char planted_names[NPLANTS][64];
static size_t planted_index[NPLANTS];
static struct fl_prop_def planted_props[NPLANTS];

#define PLANT_NAMES " --plant vote_no_log_check|commit_old_term|vote_not_persisted"

int
main(int argc, char **argv)
{
	int code = 2, k = -1;
	size_t n = NPLANTS;

	if (planted_help(argc, argv, PLANT_NAMES))
		return 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(planted_names[i], sizeof(planted_names[i]), "raft+%s", plants[i].name);
		planted_index[i] = i;
		planted_props[i] = (struct fl_prop_def){ planted_names[i], planted_prop,
			                                 &planted_index[i], plants[i].what };
	}
	if (make_base_dir() != 0)
		return 2;
	/* Killed (a timeout, Ctrl-C), the program leaves its directory to
	 * its reaper (prop_program.h). */
	prop_leftovers_hook = remove_base_dir;
	start_reaper(NULL);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--replay") == 0 || strcmp(argv[i], "--shrink") == 0)
			k = -2;
	for (int i = 1; k != -2 && i + 1 < argc; i++)
		for (size_t j = 0; strcmp(argv[i], "--plant") == 0 && j < n; j++)
			if (strcmp(argv[i + 1], plants[j].name) == 0)
				k = (int)j;
	if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
		/* --bench [RUNS]: trials and seconds to find and shrink each. */
		unsigned runs = argc >= 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 5;
		printf("# cluster_prop_planted: find and shrink, seeds 1..%u\n", runs);
		for (size_t i = 0; i < n; i++)
			if (plants[i].max_steps > 0)
				bench_find(plants[i].name, &planted_props[i], 1, runs);
		code = 0;
	} else if (k == -2)
		code = fl_prop_main(argc, argv, planted_props, n);
	else if (k < 0)
		planted_usage(stderr, argv[0], PLANT_NAMES);
	else
		code = planted_check(argc, argv, planted_props[k].name, &planted_props[k],
		                     plants[k].helper, plants[k].finding, plants[k].max_steps, 60);
	remove_leftovers();
	return code;
}
#else
int
main(int argc, char **argv)
{
	int code;

	if (make_base_dir() != 0)
		return 2;
	/* Killed (a timeout, Ctrl-C), the program leaves its directory to
	 * its reaper (prop_program.h). */
	prop_leftovers_hook = remove_base_dir;
	start_reaper(NULL);
	if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
		/* --bench [SECONDS]: trials per second of each property. */
		double secs = argc >= 3 ? strtod(argv[2], NULL) : 2.0;
		printf("# cluster_prop: trials per second (%.1f s each)\n", secs);
		code = 0;
		for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
			code |= bench_throughput(&props[i], secs, 1);
	} else {
		setenv("FL_TRIALS", getenv("FL_UNDER_VALGRIND") ? "5" : "200", 0);
		code = fl_prop_main(argc, argv, props, sizeof(props) / sizeof(props[0]));
	}
	remove_leftovers();
	return code;
}
#endif
