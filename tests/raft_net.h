/*
 * A cluster of Raft cores (transport/src/cluster/raft.h) on an in-memory
 * network, for the unit tests and the property program: every message
 * waits in one list until the caller delivers, drops or reorders it;
 * time moves only when the caller says; each node keeps its real files
 * (store.c) in a directory of its own and applies to a real key-value
 * service (kv.c), so a killed node restarts from what it persisted.
 *
 * rn_check states Raft's safety properties over everything that happened
 * so far and names the nodes, terms and indexes of a violation:
 * election safety, log matching, leader completeness and state machine
 * safety (Figure 3 of the paper).
 */
#ifndef RAFT_NET_H
#define RAFT_NET_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "reserve.h"
#include "kv.h"
#include "raft.h"
#include "store.h"

#define RN_MAX_TERMS 4096

struct rn;

struct rn_node {
	struct rn *net;
	int id;
	bool up;
	struct fli_raft r;
	struct fli_store st;
	struct fli_kv kv;
	char dir[PATH_MAX];
	int fail_persists; /* the next this many persists fail */
	uint64_t restarts, torn_bytes;
};

struct rn_msg {
	struct fli_raft_msg m;
	struct fli_raft_entry *ents; /* copies */
};

/* What was applied at an index, by the first node to apply it, and the
 * term it was committed in: the lowest term of a node when it applied
 * it (a leader applies what it commits at once; a follower learns of a
 * commit from a leader of its own term). */
struct rn_applied {
	uint64_t term;
	uint32_t crc;
	int node;
	uint64_t commit_term;
};

struct rn {
	int n;
	struct rn_node nodes[FLI_RAFT_MAX_NODES];
	struct fli_raft_config cfg;
	uint64_t now, rng;
	/* Where the nodes' random draws come from (their election
	 * timeouts): this, when set (a property's choice stream), else rng. */
	uint64_t (*random)(void *arg, uint64_t bound);
	void *random_arg;
	struct rn_msg *q;
	size_t qlen, qcap;
	bool cut[FLI_RAFT_MAX_NODES][FLI_RAFT_MAX_NODES]; /* link from -> to drops */
	uint64_t sent, dropped, delivered, protocol_errors;
	int leader_of[RN_MAX_TERMS]; /* -1: none seen */
	struct rn_applied *applied;
	uint64_t applied_len, applied_cap;
	char root[PATH_MAX];
	char violation[512];
};

static inline void
rn_violate(struct rn *net, const char *fmt, ...)
{
	va_list ap;

	if (net->violation[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(net->violation, sizeof(net->violation), fmt, ap);
	va_end(ap);
}

static inline uint64_t
rn_rand(struct rn *net, uint64_t bound)
{
	uint64_t z = (net->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return bound ? z % bound : 0;
}

/* ---- the io of one node ------------------------------------------------- */

static inline void
rn_io_send(void *arg, const struct fli_raft_msg *m)
{
	struct rn_node *nd = arg;
	struct rn *net = nd->net;
	struct rn_msg *q;

	net->sent++;
	if (net->cut[m->from][m->to]) {
		net->dropped++;
		return;
	}
	if (fli_reserve(&net->q, &net->qcap, net->qlen + 1, sizeof(*net->q)))
		abort();
	q = &net->q[net->qlen++];
	q->m = *m;
	q->ents = NULL;
	if (m->n_entries > 0) {
		q->ents = calloc(m->n_entries, sizeof(*q->ents));
		for (uint32_t k = 0; k < m->n_entries; k++) {
			q->ents[k] = m->entries[k];
			if (m->entries[k].len > 0) {
				uint8_t *d = malloc(m->entries[k].len);
				memcpy(d, m->entries[k].data, m->entries[k].len);
				q->ents[k].data = d;
			}
		}
	}
	q->m.entries = q->ents;
}

/* Does this persist fail (the caller asked for failures)? */
static inline bool
rn_persist_fails(struct rn_node *nd)
{
	return nd->fail_persists > 0 && nd->fail_persists-- > 0;
}

static inline int
rn_io_persist_state(void *arg, uint64_t term, int32_t vote)
{
	struct rn_node *nd = arg;

	return rn_persist_fails(nd) ? FL_EIO : fli_store_save_state(&nd->st, term, vote);
}

static inline int
rn_io_persist_entry(void *arg, uint64_t index, const struct fli_raft_entry *e)
{
	struct rn_node *nd = arg;

	return rn_persist_fails(nd) ? FL_EIO : fli_store_put_entry(&nd->st, index, e);
}

/* Raft's state machine safety: whatever any node applied at an index, every
 * node applies there. */
static inline void
rn_io_apply(void *arg, uint64_t index, const struct fli_raft_entry *e)
{
	struct rn_node *nd = arg;
	struct rn *net = nd->net;
	uint32_t crc = fli_crc32c(e->type, e->data, e->len);

	if (e->type == FLI_ENTRY_COMMAND) {
		struct fli_kv_result res;
		if (fli_kv_apply(&nd->kv, e->data, e->len, &res) != 0)
			abort();
	}
	if (fli_reserve(&net->applied, &net->applied_cap, index, sizeof(*net->applied)))
		abort();
	while (net->applied_len < index)
		net->applied[net->applied_len++] = (struct rn_applied){ 0, 0, -1, 0 };
	struct rn_applied *a = &net->applied[index - 1];
	if (a->node < 0) {
		*a = (struct rn_applied){ e->term, crc, nd->id, nd->r.term };
	} else if (a->term != e->term || a->crc != crc) {
		rn_violate(net,
		           "state_machine_safety: node %d applied term %llu at index %llu, node %d "
		           "applied term %llu there",
		           nd->id, (unsigned long long)e->term, (unsigned long long)index, a->node,
		           (unsigned long long)a->term);
	}
	if (nd->r.term < a->commit_term)
		a->commit_term = nd->r.term;
}

static inline uint64_t
rn_io_random(void *arg, uint64_t bound)
{
	struct rn_node *nd = arg;

	if (nd->net->random != NULL)
		return nd->net->random(nd->net->random_arg, bound);
	return rn_rand(nd->net, bound);
}

/* Election safety and leader completeness (an entry committed in a term
 * is in the log of every leader of a later term), checked as a node
 * becomes leader. */
static inline void
rn_io_changed(void *arg)
{
	struct rn_node *nd = arg;
	struct rn *net = nd->net;
	struct fli_raft *r = &nd->r;

	if (r->role != FLI_RAFT_LEADER || r->term >= RN_MAX_TERMS)
		return;
	if (net->leader_of[r->term] >= 0 && net->leader_of[r->term] != nd->id)
		rn_violate(net, "election_safety: nodes %d and %d both leaders of term %llu",
		           net->leader_of[r->term], nd->id, (unsigned long long)r->term);
	net->leader_of[r->term] = nd->id;
	for (uint64_t i = 0; i < net->applied_len; i++) {
		const struct rn_applied *a = &net->applied[i];

		if (a->node >= 0 && a->commit_term < r->term &&
		    fli_raft_term_at(r, i + 1) != a->term) {
			rn_violate(
			        net,
			        "leader_completeness: node %d leads term %llu without index %llu "
			        "(term %llu, committed in term %llu; it has term %llu there)",
			        nd->id, (unsigned long long)r->term, (unsigned long long)(i + 1),
			        (unsigned long long)a->term, (unsigned long long)a->commit_term,
			        (unsigned long long)fli_raft_term_at(r, i + 1));
			break;
		}
	}
}

/* ---- the network ------------------------------------------------------------ */

static inline int
rn_start(struct rn *net, int i)
{
	struct rn_node *nd = &net->nodes[i];
	struct fli_store_loaded l;
	struct fli_raft_config cfg = net->cfg;
	struct fli_raft_io io = {
		.send = rn_io_send,
		.persist_state = rn_io_persist_state,
		.persist_entry = rn_io_persist_entry,
		.apply = rn_io_apply,
		.random = rn_io_random,
		.changed = rn_io_changed,
	};
	int rc;

	rc = fli_store_open(&nd->st, nd->dir, false, &l);
	if (rc != 0)
		return rc;
	nd->torn_bytes += l.torn_bytes;
	cfg.id = i;
	fli_kv_init(&nd->kv);
	rc = fli_raft_init(&nd->r, &cfg, &io, nd, l.term, l.voted_for, l.log, l.n, net->now);
	fli_store_loaded_free(&l);
	if (rc != 0) {
		fli_store_close(&nd->st);
		fli_kv_fini(&nd->kv);
		return rc;
	}
	nd->up = true;
	return 0;
}

/* Kills node i: its memory is gone, its files stay, messages already
 * sent stay in flight. */
static inline void
rn_kill(struct rn *net, int i)
{
	struct rn_node *nd = &net->nodes[i];

	if (!nd->up)
		return;
	fli_raft_fini(&nd->r);
	fli_store_close(&nd->st);
	fli_kv_fini(&nd->kv);
	nd->up = false;
}

static inline int
rn_restart(struct rn *net, int i)
{
	rn_kill(net, i);
	net->nodes[i].restarts++;
	return rn_start(net, i);
}

/* Makes a network of n nodes with files under root (a directory that
 * exists), none started yet (rn_init starts them). */
static inline int
rn_setup(struct rn *net, int n, const char *root, uint64_t seed)
{
	memset(net, 0, sizeof(*net));
	net->n = n;
	net->rng = seed;
	net->now = 1000000000ull;
	net->cfg = (struct fli_raft_config){
		.n = n,
		.election_timeout_ns = 150000000ull,
		.heartbeat_ns = 50000000ull,
		.max_append_entries = 8,
		.max_append_bytes = 4096,
		.leader_noop = true,
	};
	snprintf(net->root, sizeof(net->root), "%s", root);
	for (int t = 0; t < RN_MAX_TERMS; t++)
		net->leader_of[t] = -1;
	for (int i = 0; i < n; i++) {
		net->nodes[i].net = net;
		net->nodes[i].id = i;
		if ((size_t)snprintf(net->nodes[i].dir, sizeof(net->nodes[i].dir), "%s/node-%d",
		                     root, i) >= sizeof(net->nodes[i].dir))
			return FL_ENAME;
	}
	return 0;
}

/* rn_setup, then every node started. */
static inline int
rn_init(struct rn *net, int n, const char *root, uint64_t seed)
{
	int rc = rn_setup(net, n, root, seed);

	for (int i = 0; rc == 0 && i < n; i++)
		rc = rn_start(net, i);
	return rc;
}

/* At most k entries an append, and whether a new leader appends a
 * no-op, for every node (and those restarted). */
static inline void
rn_configure(struct rn *net, uint32_t k, bool noop)
{
	net->cfg.max_append_entries = k;
	net->cfg.leader_noop = noop;
	for (int i = 0; i < net->n; i++)
		net->nodes[i].r.cfg = net->cfg, net->nodes[i].r.cfg.id = i;
}

static inline void
rn_msg_free(struct rn_msg *q)
{
	for (uint32_t k = 0; k < q->m.n_entries; k++)
		free((void *)q->ents[k].data);
	free(q->ents);
}

/* Removes message k from the list (order kept). */
static inline void
rn_remove(struct rn *net, size_t k)
{
	rn_msg_free(&net->q[k]);
	memmove(&net->q[k], &net->q[k + 1], (net->qlen - k - 1) * sizeof(*net->q));
	net->qlen--;
}

/* Delivers message k (to a node that is down or cut off, it is lost). */
static inline void
rn_deliver(struct rn *net, size_t k)
{
	struct rn_msg q = net->q[k];
	struct rn_node *to = &net->nodes[q.m.to];

	memmove(&net->q[k], &net->q[k + 1], (net->qlen - k - 1) * sizeof(*net->q));
	net->qlen--;
	if (to->up && !net->cut[q.m.from][q.m.to]) {
		net->delivered++;
		if (fli_raft_recv(&to->r, &q.m, net->now) != 0)
			net->protocol_errors++;
	} else {
		net->dropped++;
	}
	rn_msg_free(&q);
}

/* Delivers in order until the list is empty or max messages went. */
static inline void
rn_deliver_all(struct rn *net, size_t max)
{
	while (net->qlen > 0 && max-- > 0)
		rn_deliver(net, 0);
}

static inline void
rn_tick_all(struct rn *net)
{
	for (int i = 0; i < net->n; i++)
		if (net->nodes[i].up)
			(void)fli_raft_tick(&net->nodes[i].r, net->now);
}

/* Moves time on by ns in steps of step_ns, ticking every node and
 * delivering everything after each step. */
static inline void
rn_run(struct rn *net, uint64_t ns, uint64_t step_ns)
{
	for (uint64_t t = 0; t < ns; t += step_ns) {
		net->now += step_ns;
		rn_tick_all(net);
		rn_deliver_all(net, 100000);
	}
}

/* The leader of the highest term among live nodes, or -1. */
static inline int
rn_leader(const struct rn *net)
{
	int best = -1;

	for (int i = 0; i < net->n; i++) {
		const struct rn_node *nd = &net->nodes[i];
		if (nd->up && nd->r.role == FLI_RAFT_LEADER &&
		    (best < 0 || nd->r.term > net->nodes[best].r.term))
			best = i;
	}
	return best;
}

/* Isolates the nodes of group (a bit a node) from the rest. */
static inline void
rn_partition(struct rn *net, uint32_t group)
{
	for (int a = 0; a < net->n; a++)
		for (int b = 0; b < net->n; b++)
			net->cut[a][b] = ((group >> a) & 1) != ((group >> b) & 1);
}

static inline void
rn_heal(struct rn *net)
{
	memset(net->cut, 0, sizeof(net->cut));
}

/* Proposes put(key, value) at node i. */
static inline int
rn_put(struct rn *net, int i, const char *key, const char *value, uint64_t *index)
{
	uint8_t cmd[FLI_KV_HDR + 512];
	size_t n = fli_kv_encode(FLI_KV_PUT, key, strlen(key), NULL, 0, value, strlen(value), cmd,
	                         sizeof(cmd));

	if (n == 0 || !net->nodes[i].up)
		return FL_EINVAL;
	return fli_raft_propose(&net->nodes[i].r, FLI_ENTRY_COMMAND, cmd, (uint32_t)n, net->now,
	                        index);
}

/* Is a's log at least as up to date as b's (section 5.4.1: the later last
 * term, or the same and at least as long): would b vote for a? */
static inline bool
rn_up_to_date(const struct fli_raft *a, const struct fli_raft *b)
{
	uint64_t la = fli_raft_last_index(a), lb = fli_raft_last_index(b);
	uint64_t ta = fli_raft_term_at(a, la), tb = fli_raft_term_at(b, lb);

	return ta > tb || (ta == tb && la >= lb);
}

/* Leader completeness of every leader to come: a live node whose log
 * lacks a committed entry must not be able to win an election, that is,
 * its log must not be at least as up to date as those of a majority of
 * the nodes (itself included; a node that is down counts as refusing, so
 * the check only errs on the side of silence).  In Raft it holds in
 * every state: a majority holds each committed entry and the entry of
 * the committing leader's term, and a log at least as up to date as one
 * of theirs has both (section 5.4.3's argument).  Votes already cast do
 * not matter: the node can always time out into a term of its own.
 * Checked now, it names the moment a commit goes wrong (Figure 8: a
 * leader counts replicas of an earlier term's entry while another node
 * holds a later term's entry at that index), not an election later. */
static inline void
rn_check_electable(struct rn *net)
{
	for (int c = 0; c < net->n && net->violation[0] == '\0'; c++) {
		const struct fli_raft *rc = &net->nodes[c].r;
		uint64_t i;
		int votes = 0;

		if (!net->nodes[c].up)
			continue;
		for (i = 0; i < net->applied_len; i++)
			if (net->applied[i].node >= 0 &&
			    fli_raft_term_at(rc, i + 1) != net->applied[i].term)
				break;
		if (i == net->applied_len)
			continue;
		for (int v = 0; v < net->n; v++)
			votes += net->nodes[v].up && rn_up_to_date(rc, &net->nodes[v].r);
		if (2 * votes > net->n)
			rn_violate(
			        net,
			        "leader_completeness: node %d could be elected without index "
			        "%llu (term %llu, committed in term %llu; it has term %llu there): "
			        "its log, last term %llu, is as up to date as %d of the %d nodes'",
			        c, (unsigned long long)(i + 1),
			        (unsigned long long)net->applied[i].term,
			        (unsigned long long)net->applied[i].commit_term,
			        (unsigned long long)fli_raft_term_at(rc, i + 1),
			        (unsigned long long)fli_raft_term_at(rc, fli_raft_last_index(rc)),
			        votes, net->n);
	}
}

/* Log matching over the live nodes: two logs with an entry of the same
 * index and term agree on every entry up to it.  Returns true when
 * nothing is violated (net->violation says what is). */
static inline bool
rn_check(struct rn *net)
{
	for (int a = 0; a < net->n; a++) {
		for (int b = a + 1; b < net->n; b++) {
			const struct fli_raft *ra = &net->nodes[a].r, *rb = &net->nodes[b].r;
			uint64_t last, i;

			if (!net->nodes[a].up || !net->nodes[b].up)
				continue;
			last = fli_raft_last_index(ra) < fli_raft_last_index(rb)
			               ? fli_raft_last_index(ra)
			               : fli_raft_last_index(rb);
			/* The highest index where both have the same term... */
			for (i = last; i > 0 && fli_raft_term_at(ra, i) != fli_raft_term_at(rb, i);
			     i--)
				;
			/* ...and every entry up to it is identical. */
			for (; i > 0; i--) {
				const struct fli_raft_entry *x = fli_raft_entry_at(ra, i),
				                            *y = fli_raft_entry_at(rb, i);
				if (x->term != y->term || x->type != y->type || x->len != y->len ||
				    (x->len > 0 && memcmp(x->data, y->data, x->len) != 0)) {
					rn_violate(net,
					           "log_matching: nodes %d and %d differ at index "
					           "%llu "
					           "(terms %llu and %llu) below a common entry",
					           a, b, (unsigned long long)i,
					           (unsigned long long)x->term,
					           (unsigned long long)y->term);
					break;
				}
			}
		}
	}
	rn_check_electable(net);
	return net->violation[0] == '\0';
}

/* Frees everything; removes the nodes' files and directories. */
static inline void
rn_fini(struct rn *net)
{
	for (int i = 0; i < net->n; i++) {
		rn_kill(net, i);
		(void)fli_store_remove(net->nodes[i].dir);
	}
	while (net->qlen > 0)
		rn_remove(net, net->qlen - 1);
	free(net->q);
	free(net->applied);
	memset(net, 0, sizeof(*net)); /* a second rn_fini does nothing */
}

#endif
