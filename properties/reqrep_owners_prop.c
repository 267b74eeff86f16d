/*
 * The request/response owners model: ports and chunks per owner.
 *
 * reqrep_owners: three actors (owners 2, 3, 4) share one request/response
 * domain that the property creates as the driver would (owner 1, small
 * pools: 2 server ports, 3 client ports, chunks "64:6,512:3", so exhaustion
 * is reached often).  Random steps: server and client port opens and
 * closes (port churn, one server per service), loans, requests, takes,
 * responses, releases, expired-request polls, and a client process that
 * crashes: a forked child opens ports, loans and sends, then SIGKILLs
 * itself; a later step reclaims it as the driver does on a liveness
 * timeout.  The model knows every loaned chunk: held by which owner, or
 * queued at which port, in which order.  After every step the domain's
 * gauges must match it per owner (fl_chunk_owner_loaned, fl_rr_owner_ports),
 * per size class and in total, no release may have been stale, and each
 * take must return the request or response the model expects (FIFO, seq).
 * At the end everything is released and closed: zero chunks loaned, zero
 * ports in use, and the run directory holds only the driver's two files.
 *
 * reqrep_owners_faults: the same with the request/response fault points
 * firing at random (loan, port allocation, request and response send);
 * a failed call must leave nothing behind.
 *
 * Built with -DPLANT_BUGS the command set also holds the planted B4 bugs'
 * helpers (see reqrep_planted.c).
 */
#include "faultline/chunk.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/prop.h"
#include "faultline/reqrep.h"
#include "faultline/faults.h"

#include "prop_faults.h"
#include "prop_model.h"
#include "reqrep_models.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NACT         3    /* in-process actors, owners 2..4 */
#define ZOMBIE       NACT /* holder index of the crashed process */
#define NSVC         3    /* services "a", "b", "c" */
#define MAXP         16   /* port records */
#define MAXC         16   /* chunk records (the pool has 9 chunks) */
#define MAX_OUT      16   /* outstanding requests a client port tracks */
#define SERVER_PORTS 2
#define CLIENT_PORTS 3
#define CHUNK_SPEC   "64:6,512:3"
#define NCLS         2
#define LEN_MAX      600 /* above the largest class: FL_EMSGSIZE */

static const char *const svc_name[NSVC] = { "a", "b", "c" };

/* ------------------------------------------------------------------ */
/* reqrep_owners: the model. */

/* AT_TRANSIT: a request the crashed process was sending when it died,
 * after the chunk became the receiving server's and before the push: the
 * receiver's owner holds it (`holder` is that actor), it is in no queue,
 * and the crashed process's reclaim frees it.
 * AT_LIMBO: a chunk the crashed process was releasing when it died, after
 * its refcount went to 0 and before its owner word was cleared: loaned to
 * nobody, yet not free for a loan until the reclaim frees it. */
enum { AT_HELD, AT_QUEUED, AT_TRANSIT, AT_LIMBO };
enum { K_LOAN, K_REQUEST, K_RESPONSE };

struct m_chunk {
	bool used;
	uint8_t where; /* AT_HELD by `holder`, or AT_QUEUED at port slot `holder` */
	uint8_t kind;
	uint8_t cls; /* size class */
	int holder;
	uint64_t seq;    /* request / response sequence id */
	uint32_t reply;  /* request: uid of the client port to answer */
	uint32_t taker;  /* taken request: uid of the server port that took it */
	uint32_t qorder; /* queued: position in the port's FIFO */
};

struct m_port {
	bool used;
	bool server;
	int owner; /* actor index, or ZOMBIE */
	int svc;
	uint32_t uid;
	uint32_t qnext;
	int nout; /* client: requests sent, not answered or expired */
	uint64_t out_seq[MAX_OUT];
	uint32_t out_srv[MAX_OUT];
};

struct rr_model {
	struct m_port port[MAXP];
	struct m_chunk ch[MAXC];
	uint32_t next_uid;
	bool zombie; /* a crashed process not yet reclaimed */
	unsigned crashes;
};

struct rr_real {
	char dir[256];
	fl_rr_domain *drv; /* the driver's handle (owner 1) */
	fl_rr_domain *dom[NACT];
	fl_rr_server *srv[MAXP];
	fl_rr_client *cli[MAXP];
	fl_chunk ch[MAXC];
	uint64_t last_seq[MAXP]; /* last request sent by client port slot */
	uint64_t zombie_owner;
	struct fl_faults *faults;
	fl_rr_server *leaked[8]; /* planted B4: ports the buggy path lost */
	int nleaked;
};

static uint64_t
owner_of(int actor)
{
	return 2 + (uint64_t)actor;
}

static int
m_port_slot(const struct rr_model *m, uint32_t uid)
{
	for (int i = 0; i < MAXP; i++)
		if (m->port[i].used && m->port[i].uid == uid)
			return i;
	return -1;
}

static int
m_free_port(const struct rr_model *m)
{
	for (int i = 0; i < MAXP; i++)
		if (!m->port[i].used)
			return i;
	return -1;
}

static int
m_free_chunk(const struct rr_model *m)
{
	for (int i = 0; i < MAXC; i++)
		if (!m->ch[i].used)
			return i;
	return -1;
}

static int
m_server_of(const struct rr_model *m, int svc)
{
	for (int i = 0; i < MAXP; i++)
		if (m->port[i].used && m->port[i].server && m->port[i].svc == svc)
			return i;
	return -1;
}

static int
m_ports(const struct rr_model *m, bool server)
{
	int n = 0;
	for (int i = 0; i < MAXP; i++)
		n += m->port[i].used && m->port[i].server == server;
	return n;
}

/* The n-th port of `kind` held by actor a (n < count), or -1. */
static int
m_nth_port(const struct rr_model *m, int a, bool server, int n)
{
	for (int i = 0; i < MAXP; i++)
		if (m->port[i].used && m->port[i].owner == a && m->port[i].server == server &&
		    n-- == 0)
			return i;
	return -1;
}

static int
m_count_ports(const struct rr_model *m, int a, bool server)
{
	int n = 0;
	for (int i = 0; i < MAXP; i++)
		n += m->port[i].used && m->port[i].owner == a && m->port[i].server == server;
	return n;
}

/* Chunk records held by actor a of the given kind (-1: any). */
static int
m_count_held(const struct rr_model *m, int a, int kind)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++)
		n += m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder == a &&
		     (kind < 0 || m->ch[i].kind == kind);
	return n;
}

static int
m_nth_held(const struct rr_model *m, int a, int kind, int n)
{
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder == a &&
		    (kind < 0 || m->ch[i].kind == kind) && n-- == 0)
			return i;
	return -1;
}

/* A taken request whose server is still open (it can be answered). */
static bool
answerable(const struct rr_model *m, int i)
{
	return m->ch[i].kind == K_REQUEST && m_port_slot(m, m->ch[i].taker) >= 0;
}

static int
m_count_answerable(const struct rr_model *m, int a)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++)
		n += m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder == a &&
		     answerable(m, i);
	return n;
}

static int
m_nth_answerable(const struct rr_model *m, int a, int n)
{
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder == a &&
		    answerable(m, i) && n-- == 0)
			return i;
	return -1;
}

/* Chunks owner `who` holds: its held records and what is queued at its ports. */
static int
m_owner_chunks(const struct rr_model *m, int who)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++) {
		const struct m_chunk *c = &m->ch[i];
		if (!c->used)
			continue;
		if (c->where == AT_LIMBO)
			continue;
		if (c->where == AT_QUEUED ? m->port[c->holder].owner == who : c->holder == who)
			n++;
	}
	return n;
}

/* Chunks of class cls with a reference (what the loaned gauge counts). */
static int
m_class_loaned(const struct rr_model *m, int cls)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++)
		n += m->ch[i].used && m->ch[i].cls == cls && m->ch[i].where != AT_LIMBO;
	return n;
}

/* Chunks of class cls a loan cannot have: loaned, or in limbo. */
static int
m_class_taken(const struct rr_model *m, int cls)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++)
		n += m->ch[i].used && m->ch[i].cls == cls;
	return n;
}

/* The head of port slot p's queue, or -1. */
static int
m_queue_head(const struct rr_model *m, int p)
{
	int best = -1;
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_QUEUED && m->ch[i].holder == p &&
		    (best < 0 || m->ch[i].qorder < m->ch[best].qorder))
			best = i;
	return best;
}

/* CHUNK_SPEC's class sizes: the boundaries loan sizes favour. */
static const uint64_t cls_size[NCLS] = { 64, 512 };

static int
cls_for(uint32_t len)
{
	return len <= cls_size[0] ? 0 : len <= cls_size[1] ? 1 : -1;
}

static int
class_total(int cls)
{
	return cls == 0 ? 6 : 3;
}

/* Removes port slot p: its queue is released (the close drains it). */
static void
m_drop_port(struct rr_model *m, int p)
{
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_QUEUED && m->ch[i].holder == p)
			m->ch[i].used = false;
	memset(&m->port[p], 0, sizeof m->port[p]);
}

static void
m_remove_outstanding(struct m_port *c, uint64_t seq)
{
	for (int k = 0; k < c->nout; k++)
		if (c->out_seq[k] == seq) {
			c->out_seq[k] = c->out_seq[c->nout - 1];
			c->out_srv[k] = c->out_srv[c->nout - 1];
			c->nout--;
			return;
		}
}

static void
m_queue(struct rr_model *m, int i, int p)
{
	m->ch[i].where = AT_QUEUED;
	m->ch[i].holder = p;
	m->ch[i].qorder = m->port[p].qnext++;
}

/* ------------------------------------------------------------------ */
/* Setup and teardown. */

static void rr_teardown(void *model, void *real);

/* A failure after the allocation hands the partial state to rr_teardown:
 * nothing is held yet, every domain is NULL or open. */
static int
rr_setup(struct fl_prop_ctx *ctx, void **model, void **real)
{
	static unsigned counter;
	int rc =
	        prop_model_alloc(ctx, model, sizeof(struct rr_model), real, sizeof(struct rr_real));
	if (rc != FL_PROP_PASS)
		return rc;
	struct rr_model *m = *model;
	struct rr_real *r = *real;
	/* The runner's pid first: main removes what a crashed trial left. */
	char ns[64];
	snprintf(ns, sizeof ns, "prop-rr-%d-%d-%u", (int)getppid(), (int)getpid(), counter++);
	fl_run_dir_path(ns, r->dir, sizeof r->dir);
	struct fl_rr_config cfg = { .chunk_spec = CHUNK_SPEC,
		                    .server_ports = SERVER_PORTS,
		                    .client_ports = CLIENT_PORTS };
	rc = mkdir(r->dir, 0700) ? FL_EIO : fl_rr_domain_create(r->dir, &cfg, &r->drv);
	for (int a = 0; rc == 0 && a < NACT; a++)
		rc = fl_rr_domain_open(r->dir, owner_of(a), &r->dom[a]);
	if (rc) {
		rr_teardown(m, r); /* what setup made so far */
		return fl_prop_fail(ctx, "domain setup: %s", fl_errname(rc));
	}
	m->next_uid = 1;
	return FL_PROP_PASS;
}

/* Releases what the actors hold and closes their ports (the final check
 * and teardown both use it; idempotent). */
/* Closes the port in slot p, server or client (the other is NULL). */
static void
close_port(struct rr_real *r, int p)
{
	fl_rr_server_close(r->srv[p]);
	fl_rr_client_close(r->cli[p]);
	r->srv[p] = NULL;
	r->cli[p] = NULL;
}

static void
rr_close_all(struct rr_model *m, struct rr_real *r)
{
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder != ZOMBIE) {
			fl_rr_release(r->dom[m->ch[i].holder], &r->ch[i]);
			m->ch[i].used = false;
		}
	for (int p = 0; p < MAXP; p++) {
		if (!m->port[p].used || m->port[p].owner == ZOMBIE)
			continue;
		close_port(r, p);
		m_drop_port(m, p);
	}
	for (int i = 0; i < r->nleaked; i++)
		fl_rr_server_close(r->leaked[i]);
	r->nleaked = 0;
}

/* The model of the driver's reclaim of the crashed process: its ports
 * (and what is queued there), the chunks it held, the request it was
 * sending. */
static void
m_reclaim_zombie(struct rr_model *m)
{
	for (int p = 0; p < MAXP; p++)
		if (m->port[p].used && m->port[p].owner == ZOMBIE)
			m_drop_port(m, p);
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && ((m->ch[i].where == AT_HELD && m->ch[i].holder == ZOMBIE) ||
		                      m->ch[i].where == AT_TRANSIT || m->ch[i].where == AT_LIMBO))
			m->ch[i].used = false;
	m->zombie = false;
}

static void
rr_reclaim_zombie(struct rr_model *m, struct rr_real *r, uint32_t *ports, uint32_t *chunks)
{
	fl_rr_reclaim_owner(r->drv, r->zombie_owner, ports, chunks);
	m_reclaim_zombie(m);
}

static void
rr_teardown(void *model, void *real)
{
	struct rr_model *m = model;
	struct rr_real *r = real;
	if (r) {
		fl_faults_free(r->faults);
		rr_close_all(m, r);
		if (m->zombie)
			rr_reclaim_zombie(m, r, NULL, NULL);
		for (int a = 0; a < NACT; a++)
			fl_rr_domain_close(r->dom[a]);
		fl_rr_domain_close(r->drv);
		fl_rr_domain_unlink(r->dir);
		rmdir(r->dir);
	}
	free(model);
	free(real);
}

/* ------------------------------------------------------------------ */
/* Commands.  apply_real predicts the outcome from the model, calls the
 * transport, compares, and records the outcome in args (rc, seq) for
 * apply_model.  With faults armed an FL_EFAULT_INJECTED result is
 * accepted in place of the prediction and changes nothing. */

struct rr_args {
	int8_t actor, port, chunk, chunk2, svc, svc2;
	int8_t n1, n2;             /* crash: loans, sends */
	int8_t ok1, ok2;           /* crash: server / client opened */
	int8_t loans_ok, sends_ok; /* crash: how many loans and sends succeeded */
	int8_t die_in_send;        /* crash: killed inside its last send (a server exists) */
	int8_t die_in_release;     /* crash: no server, so killed inside releasing that chunk */
	int32_t rc;
	uint32_t len;
	uint32_t slot; /* the model slot chosen for a new record */
	uint64_t seq, seq2;
};

static bool
faulted(const struct rr_real *r, int rc)
{
	return r->faults && rc == FL_EFAULT_INJECTED;
}


/* Exhaustion must be a clear error: the message names the pool. */
static int
exhausted_clearly(struct fl_prop_ctx *ctx, const char *what, int rc)
{
	const char *msg = fl_rr_errmsg();
	const char *want = rc == FL_ENO_PORTS     ? "port pool exhausted"
	                   : rc == FL_EPOOL_EMPTY ? "empty"
	                                          : NULL;
	if (want && (!msg || !strstr(msg, want)))
		return fl_prop_fail(ctx, "%s: %s with message \"%s\", which does not say \"%s\"",
		                    what, fl_errname(rc), msg ? msg : "", want);
	return FL_PROP_PASS;
}

static bool
any_free_svc(const struct rr_model *m)
{
	for (int s = 0; s < NSVC; s++)
		if (m_server_of(m, s) < 0)
			return true;
	return false;
}

static int
gen_actor(struct fl_prop_ctx *ctx)
{
	return (int)pick(ctx, NACT);
}

/* An actor for which pred holds (the first one when none does: the
 * command's precondition makes sure one does). */
static int
gen_actor_where(struct fl_prop_ctx *ctx, const struct rr_model *m,
                bool (*pred)(const struct rr_model *, int))
{
	int ok[NACT], n = 0;
	for (int a = 0; a < NACT; a++)
		if (pred(m, a))
			ok[n++] = a;
	return n ? ok[pick(ctx, (size_t)n)] : 0;
}

static bool
any_actor(const void *mv, bool (*pred)(const struct rr_model *, int))
{
	for (int a = 0; a < NACT; a++)
		if (pred(mv, a))
			return true;
	return false;
}

/* ---- open / close server ---- */

static bool
p_open_server(const void *mv)
{
	return any_free_svc(mv) && m_free_port(mv) >= 0;
}

static void
gen_open_server(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	int free_svc[NSVC], n = 0;
	a->actor = (int8_t)gen_actor(ctx);
	for (int s = 0; s < NSVC; s++)
		if (m_server_of(m, s) < 0)
			free_svc[n++] = s;
	a->svc = (int8_t)free_svc[pick(ctx, (size_t)n)];
}

/* Opens a server or a client port of a->svc for a->actor in the model's
 * next free slot; the pool of its kind may be exhausted, and the message
 * must then say so. */
static int
open_port_real(struct fl_prop_ctx *ctx, struct rr_real *r, const struct rr_model *m,
               struct rr_args *a, bool server)
{
	const char *what = server ? "server_open" : "client_open";
	int want = m_ports(m, server) >= (server ? SERVER_PORTS : CLIENT_PORTS) ? FL_ENO_PORTS : 0;
	int p = m_free_port(m);
	int rc = server ? fl_rr_server_open(r->dom[a->actor], svc_name[a->svc], &r->srv[p])
	                : fl_rr_client_open(r->dom[a->actor], svc_name[a->svc], &r->cli[p]);
	a->rc = rc;
	a->slot = (uint32_t)p;
	if (rc == 0 && !server)
		r->last_seq[p] = 0;
	if (rc != want && !faulted(r, rc)) {
		if (rc == 0)
			close_port(r, p);
		return mismatch(ctx, what, rc, want);
	}
	return exhausted_clearly(ctx, what, rc);
}

static int
open_server_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	return open_port_real(ctx, rv, mv, av, true);
}

static void
open_port_model(struct rr_model *m, const struct rr_args *a, bool server)
{
	if (a->rc)
		return;
	struct m_port *p = &m->port[a->slot];
	memset(p, 0, sizeof *p);
	p->used = true;
	p->server = server;
	p->owner = a->actor;
	p->svc = a->svc;
	p->uid = m->next_uid++;
}

static void
open_server_model(void *mv, const void *av)
{
	open_port_model(mv, av, true);
}

static void
d_open_server(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d opens a server of \"%s\"", a->actor, svc_name[a->svc]);
}

static bool
has_server(const struct rr_model *m, int a)
{
	return m_count_ports(m, a, true) > 0;
}
static bool
has_client(const struct rr_model *m, int a)
{
	return m_count_ports(m, a, false) > 0;
}
static bool
p_has_server(const void *mv)
{
	return any_actor(mv, has_server);
}

/* An actor with a port of the kind, and one of its ports of that kind. */
static void
gen_port_of(struct fl_prop_ctx *ctx, const struct rr_model *m, struct rr_args *a, bool server)
{
	a->actor = (int8_t)gen_actor_where(ctx, m, server ? has_server : has_client);
	int n = m_count_ports(m, a->actor, server);
	a->port = (int8_t)m_nth_port(m, a->actor, server, (int)pick(ctx, (size_t)n));
}

static void
gen_server(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_port_of(ctx, mv, av, true);
}

static int
close_port_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	close_port(rv, ((const struct rr_args *)av)->port);
	return FL_PROP_PASS;
}

static void
close_port_model(void *mv, const void *av)
{
	m_drop_port(mv, ((const struct rr_args *)av)->port);
}

static void
d_close_server(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d closes its server (port #%d)", a->actor, a->port);
}

/* ---- open / close client ---- */

static bool
p_open_client(const void *mv)
{
	return m_free_port(mv) >= 0;
}

static void
gen_open_client(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor(ctx);
	a->svc = (int8_t)pick(ctx, NSVC);
}

static int
open_client_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	return open_port_real(ctx, rv, mv, av, false);
}

static void
open_client_model(void *mv, const void *av)
{
	open_port_model(mv, av, false);
}

static void
d_open_client(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d opens a client of \"%s\"", a->actor, svc_name[a->svc]);
}

static bool
p_has_client(const void *mv)
{
	return any_actor(mv, has_client);
}

static void
gen_client(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_port_of(ctx, mv, av, false);
}

static void
d_close_client(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d closes its client (port #%d)", a->actor, a->port);
}

/* ---- loan ---- */

static bool
p_loan(const void *mv)
{
	return m_free_chunk(mv) >= 0;
}

static void
gen_loan(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor(ctx);
	static const struct fl_gen_edges edges = { 0, cls_size, NCLS };
	a->len = (uint32_t)fl_gen_size_edges(fl_prop_choice(ctx), 0, LEN_MAX, &edges);
}

static int
predict_loan(const struct rr_model *m, uint32_t len)
{
	int cls = cls_for(len);
	if (cls < 0)
		return FL_EMSGSIZE;
	return m_class_taken(m, cls) >= class_total(cls) ? FL_EPOOL_EMPTY : 0;
}

static int
loan_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	int want = predict_loan(m, a->len);
	int i = m_free_chunk(m);
	fl_chunk c;
	int rc = fl_chunk_loan(fl_rr_domain_chunks(r->dom[a->actor]), a->len, 0, &c);
	a->rc = rc;
	a->slot = (uint32_t)i;
	if (rc == 0) {
		c.len = a->len;
		r->ch[i] = c;
	}
	if (rc != want && !faulted(r, rc))
		return mismatch(ctx, "loan", rc, want);
	int cls = cls_for(a->len); /* >= 0 when the loan was predicted to work */
	if (rc == 0 && cls >= 0 && c.cap != cls_size[cls])
		return fl_prop_fail(ctx, "loan of %u bytes got a %u-byte chunk, want %u", a->len,
		                    c.cap, (unsigned)cls_size[cls]);
	return exhausted_clearly(ctx, "loan", rc);
}

static void
loan_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	if (a->rc)
		return;
	struct m_chunk *c = &m->ch[a->slot];
	memset(c, 0, sizeof *c);
	c->used = true;
	c->where = AT_HELD;
	c->kind = K_LOAN;
	c->cls = (uint8_t)cls_for(a->len);
	c->holder = a->actor;
}

static void
d_loan(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d loans %u bytes", a->actor, a->len);
}

/* ---- send a request ---- */

static bool
can_send(const struct rr_model *m, int a)
{
	return has_client(m, a) && m_count_held(m, a, K_LOAN) > 0;
}
static bool
p_send(const void *mv)
{
	return any_actor(mv, can_send);
}

static void
gen_send(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor_where(ctx, m, can_send);
	int n = m_count_ports(m, a->actor, false);
	a->port = (int8_t)m_nth_port(m, a->actor, false, (int)pick(ctx, (size_t)n));
	n = m_count_held(m, a->actor, K_LOAN);
	a->chunk = (int8_t)m_nth_held(m, a->actor, K_LOAN, (int)pick(ctx, (size_t)n));
}

static int
send_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	int want = m_server_of(m, m->port[a->port].svc) >= 0 ? 0 : FL_ENOSERVER;
	uint64_t seq = 0;
	int rc = fl_rr_client_send(r->cli[a->port], &r->ch[a->chunk], 0, &seq);
	a->rc = rc;
	a->seq = seq;
	if (rc == 0)
		r->last_seq[a->port] = seq;
	if (rc != want && !faulted(r, rc))
		return mismatch(ctx, "client_send", rc, want);
	return FL_PROP_PASS;
}

static void
send_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	if (a->rc)
		return;
	struct m_port *cp = &m->port[a->port];
	int s = m_server_of(m, cp->svc);
	struct m_chunk *c = &m->ch[a->chunk];
	c->kind = K_REQUEST;
	c->seq = a->seq;
	c->reply = cp->uid;
	m_queue(m, a->chunk, s);
	if (cp->nout < MAX_OUT) {
		cp->out_seq[cp->nout] = a->seq;
		cp->out_srv[cp->nout++] = m->port[s].uid;
	}
}

static void
d_send(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d sends chunk #%d as a request on client port #%d", a->actor,
	         a->chunk, a->port);
}

/* ---- server take ---- */

static void
gen_take(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_server(ctx, mv, av);
}

/* A take from port a->port returned rc and chunk c: it must be the head
 * of the port's queue in the model (FIFO, by seq), or FL_EAGAIN when the
 * model's queue is empty. */
static int
check_take(struct fl_prop_ctx *ctx, struct rr_real *r, const struct rr_model *m, struct rr_args *a,
           int rc, const fl_chunk *c, const char *what)
{
	int head = m_queue_head(m, a->port);
	a->rc = rc;
	a->chunk = (int8_t)head;
	if (rc != (head >= 0 ? 0 : FL_EAGAIN))
		return mismatch(ctx, what, rc, head >= 0 ? 0 : FL_EAGAIN);
	if (rc == 0) {
		r->ch[head] = *c;
		if (c->seq != m->ch[head].seq)
			return fl_prop_fail(ctx, "%s: seq %llu, the model expects %llu (FIFO)",
			                    what, (unsigned long long)c->seq,
			                    (unsigned long long)m->ch[head].seq);
	}
	return FL_PROP_PASS;
}

/* A take from port a->port, a server's (a request) or a client's (a
 * response), checked by check_take. */
static int
take_real(struct fl_prop_ctx *ctx, struct rr_real *r, const struct rr_model *m, struct rr_args *a,
          bool server)
{
	fl_chunk c;
	int rc = server ? fl_rr_server_take(r->srv[a->port], &c)
	                : fl_rr_client_take(r->cli[a->port], &c);
	return check_take(ctx, r, m, a, rc, &c, server ? "server_take" : "client_take");
}

/* The model of a take that worked (a->rc 0): the chunk leaves the queue
 * for the taking actor; returns it, or NULL when the take failed. */
static struct m_chunk *
m_take(struct rr_model *m, const struct rr_args *a)
{
	if (a->rc)
		return NULL;
	struct m_chunk *c = &m->ch[a->chunk];
	c->where = AT_HELD;
	c->holder = a->actor;
	return c;
}

static int
server_take_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	return take_real(ctx, rv, mv, av, true);
}

static void
server_take_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	struct m_chunk *c = m_take(m, a);
	if (c)
		c->taker = m->port[a->port].uid;
}

static void
d_server_take(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d takes a request on server port #%d", a->actor, a->port);
}

/* ---- respond ---- */

static bool
can_respond(const struct rr_model *m, int a)
{
	return m_count_answerable(m, a) > 0 && m_count_held(m, a, K_LOAN) > 0;
}
static bool
p_respond(const void *mv)
{
	return any_actor(mv, can_respond);
}

static void
gen_respond(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor_where(ctx, m, can_respond);
	int n = m_count_answerable(m, a->actor);
	a->chunk = (int8_t)m_nth_answerable(m, a->actor, (int)pick(ctx, (size_t)n));
	n = m_count_held(m, a->actor, K_LOAN);
	a->chunk2 = (int8_t)m_nth_held(m, a->actor, K_LOAN, (int)pick(ctx, (size_t)n));
}

static int
respond_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	int srv = m_port_slot(m, m->ch[a->chunk].taker);
	int want = m_port_slot(m, m->ch[a->chunk].reply) >= 0 ? 0 : FL_ENOT_CONNECTED;
	int rc = fl_rr_server_send(r->srv[srv], &r->ch[a->chunk], &r->ch[a->chunk2]);
	a->rc = rc;
	if (rc != want && !faulted(r, rc))
		return mismatch(ctx, "server_send", rc, want);
	return FL_PROP_PASS;
}

static void
respond_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	if (a->rc)
		return;
	struct m_chunk *c = &m->ch[a->chunk2];
	c->kind = K_RESPONSE;
	c->seq = m->ch[a->chunk].seq;
	m_queue(m, a->chunk2, m_port_slot(m, m->ch[a->chunk].reply));
}

static void
d_respond(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d answers request #%d with chunk #%d", a->actor, a->chunk,
	         a->chunk2);
}

/* ---- release ---- */

static bool
has_held(const struct rr_model *m, int a)
{
	return m_count_held(m, a, -1) > 0;
}
static bool
p_release(const void *mv)
{
	return any_actor(mv, has_held);
}

static void
gen_release(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor_where(ctx, m, has_held);
	int n = m_count_held(m, a->actor, -1);
	a->chunk = (int8_t)m_nth_held(m, a->actor, -1, (int)pick(ctx, (size_t)n));
}

static int
release_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct rr_real *r = rv;
	const struct rr_args *a = av;
	int rc = fl_rr_release(r->dom[a->actor], &r->ch[a->chunk]);
	return rc ? fl_prop_fail(ctx, "release: %s", fl_errname(rc)) : FL_PROP_PASS;
}

static void
release_model(void *mv, const void *av)
{
	((struct rr_model *)mv)->ch[((const struct rr_args *)av)->chunk].used = false;
}

static void
d_release(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d releases chunk #%d", a->actor, a->chunk);
}

/* ---- client take ---- */

static int
client_take_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	return take_real(ctx, rv, mv, av, false);
}

static void
client_take_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	struct m_chunk *c = m_take(m, a);
	if (c)
		m_remove_outstanding(&m->port[a->port], c->seq);
}

static void
d_client_take(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d takes a response on client port #%d", a->actor, a->port);
}

#ifdef PLANT_BUGS
/* B4 (fixtures/b4_response_leak.c): the client releases a response only
 * when its sequence id is the one it expects (its last request's); its
 * author, like the model, believes every response is released. */
static bool
p_plant_b4_response(const void *mv)
{
	return planted("b4_response") && p_has_client(mv);
}

static int
take_b4_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct rr_real *r = rv;
	struct rr_args *a = av;
	fl_chunk c;
	int rc = client_take_real(ctx, rv, mv, av);
	if (rc != FL_PROP_PASS || a->rc != 0)
		return rc;
	c = r->ch[a->chunk];
	if (c.seq == r->last_seq[a->port])
		fl_rr_release(r->dom[a->actor], &c);
	return FL_PROP_PASS;
}

static void
take_b4_model(void *mv, const void *av)
{
	const struct rr_args *a = av;
	client_take_model(mv, av);
	if (a->rc == 0)
		((struct rr_model *)mv)->ch[a->chunk].used = false;
}

static void
d_take_b4(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d takes and releases a response, B4 helper (client port #%d)",
	         a->actor, a->port);
}

/* B4 (fixtures/b4_port_churn.c): a server is opened, a setup step after
 * it fails, and the error path returns without closing the server. */
static bool
p_plant_b4_port(const void *mv)
{
	return planted("b4_port") && p_open_server(mv);
}

static int
start_b4_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct rr_real *r = rv;
	const struct rr_args *a = av;
	fl_rr_server *s;
	if (fl_rr_server_open(r->dom[a->actor], svc_name[a->svc], &s) == 0) {
		/* configure() failed: the buggy path returns here */
		if (r->nleaked < 8)
			r->leaked[r->nleaked++] = s;
		else
			fl_rr_server_close(s);
	}
	return FL_PROP_PASS;
}

static void
d_start_b4(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d starts a server of \"%s\" whose setup fails, B4 helper", a->actor,
	         svc_name[a->svc]);
}
#endif

/* ---- client expired ---- */

static int
expired_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	const struct m_port *cp = &m->port[a->port];
	bool any = false, queued = false;
	for (int k = 0; k < cp->nout; k++)
		any |= m_port_slot(m, cp->out_srv[k]) < 0;
	/* A request to a closed server is lost only when nothing is queued
	 * at the client: a response its server sent before closing is
	 * taken first. */
	for (int i = 0; i < MAXC; i++)
		queued |=
		        m->ch[i].used && m->ch[i].where == AT_QUEUED && m->ch[i].holder == a->port;
	any = any && !queued;
	uint64_t seq = 0;
	int reason = 0;
	int rc = fl_rr_client_expired(r->cli[a->port], &seq, &reason);
	a->rc = rc;
	a->seq = seq;
	if (rc != (any ? 0 : FL_EAGAIN))
		return mismatch(ctx, "client_expired", rc, any ? 0 : FL_EAGAIN);
	if (rc)
		return FL_PROP_PASS;
	for (int k = 0; k < cp->nout; k++)
		if (cp->out_seq[k] == seq && m_port_slot(m, cp->out_srv[k]) < 0)
			return reason == FL_ECRASHED
			               ? FL_PROP_PASS
			               : fl_prop_fail(
			                         ctx,
			                         "client_expired: reason %s, expected FL_ECRASHED",
			                         fl_errname(reason));
	return fl_prop_fail(ctx, "client_expired: seq %llu is not a request to a closed server",
	                    (unsigned long long)seq);
}

static void
expired_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	if (a->rc == 0)
		m_remove_outstanding(&m->port[a->port], a->seq);
}

static void
d_expired(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d polls expired requests on client port #%d", a->actor, a->port);
}

/* ---- the composite "call": loan 8 bytes and send them ---- */

static void
gen_call(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_client(ctx, mv, av);
	((struct rr_args *)av)->len = 8;
	((struct rr_args *)av)->chunk = -1;
}

static bool
p_call(const void *mv)
{
	return p_has_client(mv) && m_free_chunk(mv) >= 0;
}

static int
call_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	int rc = loan_real(ctx, rv, mv, av);
	if (rc != FL_PROP_PASS || a->rc)
		return rc;
	/* The send sees the model after the loan: predict on a copy. */
	struct rr_model tmp = *m;
	loan_model(&tmp, av);
	a->chunk = (int8_t)a->slot;
	rc = send_real(ctx, rv, &tmp, av);
	if (rc == FL_PROP_PASS && a->rc) {
		/* No server: the caller releases its loan (the call failed). */
		struct rr_real *r = rv;
		fl_rr_release(r->dom[a->actor], &r->ch[a->chunk]);
	}
	return rc;
}

static void
call_model(void *mv, const void *av)
{
	struct rr_args a = *(const struct rr_args *)av;
	int send_rc = a.rc;
	if (a.chunk < 0 || (uint32_t)a.chunk != a.slot)
		return; /* the loan failed */
	a.rc = 0;
	loan_model(mv, &a);
	a.rc = send_rc;
	if (send_rc)
		((struct rr_model *)mv)->ch[a.chunk].used = false;
	else
		send_model(mv, &a);
}

static void
d_call(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d calls on client port #%d (loan + send)", a->actor, a->port);
}

/* ---- the composite "serve": take, loan, answer, release the request ---- */

static int
serve_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	fl_rr_server *s = r->srv[a->port];
	int head = m_queue_head(m, a->port);
	fl_chunk req, resp;
	a->chunk = (int8_t)head;
	a->chunk2 = -1;
	int rc = fl_rr_server_take(s, &req);
	a->rc = rc;
	if (rc != (head >= 0 ? 0 : FL_EAGAIN))
		return mismatch(ctx, "server_take", rc, head >= 0 ? 0 : FL_EAGAIN);
	if (rc)
		return FL_PROP_PASS;
	/* The request's chunk stays loaned while the response is loaned. */
	struct rr_model tmp = *m;
	tmp.ch[head].where = AT_HELD;
	tmp.ch[head].holder = a->actor;
	int want = predict_loan(&tmp, 8);
	int i = m_free_chunk(&tmp);
	rc = fl_rr_server_loan(s, 8, 0, &resp);
	if (rc != want && !faulted(r, rc)) {
		fl_rr_release(r->dom[a->actor], &req);
		if (rc == 0)
			fl_rr_release(r->dom[a->actor], &resp);
		return mismatch(ctx, "server_loan", rc, want);
	}
	if (rc == 0) {
		resp.len = 8;
		int to = m_port_slot(m, m->ch[head].reply);
		want = to >= 0 ? 0 : FL_ENOT_CONNECTED;
		rc = fl_rr_server_send(s, &req, &resp);
		if (rc != want && !faulted(r, rc)) {
			fl_rr_release(r->dom[a->actor], &req);
			return mismatch(ctx, "server_send", rc, want);
		}
		if (rc)
			fl_rr_release(r->dom[a->actor], &resp);
		else
			a->chunk2 = (int8_t)i;
	}
	rc = fl_rr_release(r->dom[a->actor], &req);
	return rc ? fl_prop_fail(ctx, "release of the request: %s", fl_errname(rc)) : FL_PROP_PASS;
}

static void
serve_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	if (a->rc)
		return;
	struct m_chunk *req = &m->ch[a->chunk];
	req->where = AT_HELD; /* no longer queued, so the free slot is the same */
	req->holder = a->actor;
	if (a->chunk2 >= 0) {
		struct m_chunk *c = &m->ch[a->chunk2];
		memset(c, 0, sizeof *c);
		c->used = true;
		c->kind = K_RESPONSE;
		c->cls = 0;
		c->seq = req->seq;
		m_queue(m, a->chunk2, m_port_slot(m, req->reply));
	}
	req->used = false;
}

static void
d_serve(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l,
	         "actor %d serves one request on server port #%d (take, loan, answer, release)",
	         a->actor, a->port);
}

/* ---- a client process crashes ---- */

static bool
p_crash(const void *mv)
{
	const struct rr_model *m = mv;
	return !m->zombie && m_free_port(m) >= 0 && m_free_port(m) + 2 < MAXP &&
	       m_free_chunk(m) >= 0;
}

static void
gen_crash(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	struct fl_choice *c = fl_prop_choice(ctx);
	a->actor = ZOMBIE;
	a->svc = (int8_t)pick(ctx, NSVC);
	a->svc2 = -1;
	bool server = fl_gen_weighted(c, 1, 3);
	int free_svc[NSVC], n = 0;
	for (int s = 0; s < NSVC; s++)
		if (m_server_of(m, s) < 0)
			free_svc[n++] = s;
	size_t k = pick(ctx, (size_t)n);
	if (server && n)
		a->svc2 = (int8_t)free_svc[k];
	a->n1 = (int8_t)pick(ctx, 4);
	a->n2 = (int8_t)pick(ctx, (size_t)(a->n1 < 2 ? a->n1 : 2) + 1);
	a->die_in_send = (int8_t)(a->n2 > 0 && fl_gen_weighted(c, 1, 2));
#ifdef FL_POINTS_DISABLED
	a->die_in_send = 0; /* no scheduling point to die at (the draw stays) */
#endif
}

/* What the child reports before it dies. */
struct crash_report {
	int rc_server, rc_client;
	int loans_ok;
	int sends_ok;
	uint64_t seq[2];
	int send_rc[2];
	int dying_send; /* 1 + the send it is killed inside, or 0 */
};

/* The crashing child's scheduling hooks: killed inside a delivery, after
 * the chunk became the receiver's and before the push; or inside a
 * release, after the refcount went to 0 and before the owner word is
 * cleared. */
static void
die_at_push(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "rr.deliver.push") == 0)
		raise(SIGKILL);
}

static void
die_at_release(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "chunk.release.cas") == 0)
		raise(SIGKILL);
}

static void
crash_child(int fd, const char *dir, uint64_t owner, const struct rr_args *a)
{
	struct crash_report rep;
	fl_rr_domain *d;
	fl_rr_server *s = NULL;
	fl_rr_client *c = NULL;
	fl_chunk ch[3];
	memset(&rep, 0, sizeof rep);
	rep.rc_server = -1;
	if (fl_rr_domain_open(dir, owner, &d) != 0)
		_exit(3);
	if (a->svc2 >= 0)
		rep.rc_server = fl_rr_server_open(d, svc_name[a->svc2], &s);
	rep.rc_client = fl_rr_client_open(d, svc_name[a->svc], &c);
	for (int i = 0; i < a->n1 && fl_chunk_loan(fl_rr_domain_chunks(d), 8, 0, &ch[i]) == 0; i++)
		rep.loans_ok++;
	int nsend = c ? (a->n2 < rep.loans_ok ? a->n2 : rep.loans_ok) : 0;
	for (int i = 0; i < nsend; i++) {
		ch[i].len = 8;
		if (i == nsend - 1 && a->die_in_send) {
			/* Report first: this send does not return if it
			 * reaches a server. */
			struct fl_platform_ops ops = { .sched_point = die_at_push };
			rep.dying_send = i + 1;
			if (write(fd, &rep, sizeof rep) != (ssize_t)sizeof rep)
				_exit(4);
			fl_platform_set_ops(&ops);
			fl_points_arm(true, false);
			(void)fl_rr_client_send(c, &ch[i], 0, &rep.seq[i]);
			/* No server: the send returned.  Die inside releasing
			 * that chunk instead. */
			ops.sched_point = die_at_release;
			fl_platform_set_ops(&ops);
			fl_rr_release(d, &ch[i]);
			raise(SIGKILL);
		}
		rep.send_rc[i] = fl_rr_client_send(c, &ch[i], 0, &rep.seq[i]);
		rep.sends_ok += rep.send_rc[i] == 0;
	}
	if (write(fd, &rep, sizeof rep) != (ssize_t)sizeof rep)
		_exit(4);
	raise(SIGKILL); /* holding every port and chunk it took */
	_exit(5);
}

static int
crash_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	uint64_t owner = 100 + m->crashes;
	int fds[2];
	if (pipe(fds) != 0)
		return fl_prop_fail(ctx, "pipe failed");
	/* Faults are the parent's: the child must not draw from the stream. */
	if (r->faults)
		fl_faults_disarm(r->faults);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		crash_child(fds[1], r->dir, owner, a);
	}
	close(fds[1]);
	struct crash_report rep;
	ssize_t n = pid > 0 ? read(fds[0], &rep, sizeof rep) : -1;
	close(fds[0]);
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	if (r->faults && fl_faults_arm(r->faults) != 0)
		return fl_prop_fail(ctx, "re-arming faults failed");
	if (pid < 0 || n != (ssize_t)sizeof rep || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		return fl_prop_fail(ctx, "the crashing client did not run as planned (status %#x)",
		                    st);
	r->zombie_owner = owner;
	/* The model's predictions for what the child did. */
	int want_srv = a->svc2 < 0 ? -1 : m_ports(m, true) >= SERVER_PORTS ? FL_ENO_PORTS : 0;
	int want_cli = m_ports(m, false) >= CLIENT_PORTS ? FL_ENO_PORTS : 0;
	if (rep.rc_server != want_srv)
		return mismatch(ctx, "crashing client's server_open", rep.rc_server, want_srv);
	if (rep.rc_client != want_cli)
		return mismatch(ctx, "crashing client's client_open", rep.rc_client, want_cli);
	int room = class_total(0) - m_class_taken(m, 0);
	int want_loans = a->n1 < room ? a->n1 : room;
	if (rep.loans_ok != want_loans)
		return fl_prop_fail(ctx,
		                    "crashing client: %d loans succeeded, the model expects %d",
		                    rep.loans_ok, want_loans);
	bool server = m_server_of(m, a->svc) >= 0 || (rep.rc_server == 0 && a->svc2 == a->svc);
	for (int i = 0; rep.rc_client == 0 && i < a->n2 && i < rep.loans_ok; i++)
		if (i + 1 != rep.dying_send && rep.send_rc[i] != (server ? 0 : FL_ENOSERVER))
			return mismatch(ctx, "crashing client's send", rep.send_rc[i],
			                server ? 0 : FL_ENOSERVER);
	a->ok1 = (int8_t)(rep.rc_server == 0);
	a->ok2 = (int8_t)(rep.rc_client == 0);
	a->loans_ok = (int8_t)rep.loans_ok;
	a->sends_ok = (int8_t)rep.sends_ok;
	/* Killed inside the send if it reached a server, else inside the
	 * release of its chunk. */
	a->die_in_release = (int8_t)(rep.dying_send != 0 && !server);
	a->die_in_send = (int8_t)(rep.dying_send != 0 && server);
	a->seq = rep.seq[0];
	a->seq2 = rep.seq[1];
	return FL_PROP_PASS;
}

static void
crash_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	m->crashes++;
	m->zombie = true;
	if (a->ok1) {
		struct rr_args o = { .actor = ZOMBIE,
			             .svc = a->svc2,
			             .slot = (uint32_t)m_free_port(m) };
		open_port_model(m, &o, true);
	}
	int cp = -1;
	if (a->ok2) {
		struct rr_args o = { .actor = ZOMBIE,
			             .svc = a->svc,
			             .slot = (uint32_t)m_free_port(m) };
		cp = (int)o.slot;
		open_port_model(m, &o, false);
	}
	for (int i = 0; i < a->loans_ok; i++) {
		struct rr_args l = { .actor = ZOMBIE, .len = 8, .slot = (uint32_t)m_free_chunk(m) };
		loan_model(m, &l);
		if (i == a->sends_ok && a->die_in_send) {
			struct m_chunk *t = &m->ch[l.slot];
			t->where = AT_TRANSIT;
			t->holder = m->port[m_server_of(m, a->svc)].owner;
			t->kind = K_REQUEST;
			continue;
		}
		if (i == a->loans_ok - 1 && a->die_in_release) {
			m->ch[l.slot].where = AT_LIMBO;
			continue;
		}
		if (i < a->sends_ok) {
			struct rr_args s = { .actor = ZOMBIE,
				             .port = (int8_t)cp,
				             .chunk = (int8_t)l.slot,
				             .seq = i == 0 ? a->seq : a->seq2 };
			send_model(m, &s);
		}
	}
}

static void
d_crash(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	char srv[48] = "";
	if (a->svc2 >= 0)
		snprintf(srv, sizeof srv, "a server of \"%s\", ", svc_name[a->svc2]);
	snprintf(b, l,
	         "a client process opens %sa client of \"%s\", loans %d, sends %d, and is killed%s",
	         srv, svc_name[a->svc], a->n1, a->n2,
	         a->die_in_send ? " inside its last send (with no server to take it: inside "
	                          "releasing that chunk)"
	                        : "");
}

static bool
p_reclaim(const void *mv)
{
	return ((const struct rr_model *)mv)->zombie;
}

static int
reclaim_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	int want_ports = 0, want_chunks = 0;
	for (int p = 0; p < MAXP; p++)
		want_ports += m->port[p].used && m->port[p].owner == ZOMBIE;
	want_chunks = m_count_held(m, ZOMBIE, -1);
	for (int i = 0; i < MAXC; i++)
		want_chunks += m->ch[i].used &&
		               (m->ch[i].where == AT_TRANSIT || m->ch[i].where == AT_LIMBO);
	uint32_t ports = 0, chunks = 0;
	int rc = fl_rr_reclaim_owner(r->drv, r->zombie_owner, &ports, &chunks);
	if (rc)
		return fl_prop_fail(ctx, "reclaim_owner: %s", fl_errname(rc));
	if ((int)ports != want_ports || (int)chunks != want_chunks)
		return fl_prop_fail(
		        ctx,
		        "reclaim of the crashed client returned %u ports and %u chunks, "
		        "the model expects %d and %d",
		        ports, chunks, want_ports, want_chunks);
	return FL_PROP_PASS;
}

static void
reclaim_model(void *mv, const void *av)
{
	m_reclaim_zombie(mv);
}

static void
d_reclaim(const void *av, char *b, size_t l)
{
	snprintf(b, l, "the driver reclaims the crashed client (liveness timeout)");
}

static const struct fl_model_cmd rr_cmds[] = {
	{ .name = "open server",
	  .weight = 3,
	  .precondition = p_open_server,
	  .gen = gen_open_server,
	  .apply_real = open_server_real,
	  .apply_model = open_server_model,
	  .describe = d_open_server },
	{ .name = "open client",
	  .weight = 3,
	  .precondition = p_open_client,
	  .gen = gen_open_client,
	  .apply_real = open_client_real,
	  .apply_model = open_client_model,
	  .describe = d_open_client },
	{ .name = "call",
	  .weight = 4,
	  .precondition = p_call,
	  .gen = gen_call,
	  .apply_real = call_real,
	  .apply_model = call_model,
	  .describe = d_call },
	{ .name = "serve",
	  .weight = 4,
	  .precondition = p_has_server,
	  .gen = gen_take,
	  .apply_real = serve_real,
	  .apply_model = serve_model,
	  .describe = d_serve },
	{ .name = "take response",
	  .weight = 4,
	  .precondition = p_has_client,
	  .gen = gen_client,
	  .apply_real = client_take_real,
	  .apply_model = client_take_model,
	  .describe = d_client_take },
	{ .name = "loan",
	  .weight = 3,
	  .precondition = p_loan,
	  .gen = gen_loan,
	  .apply_real = loan_real,
	  .apply_model = loan_model,
	  .describe = d_loan },
	{ .name = "send",
	  .weight = 3,
	  .precondition = p_send,
	  .gen = gen_send,
	  .apply_real = send_real,
	  .apply_model = send_model,
	  .describe = d_send },
	{ .name = "take request",
	  .weight = 3,
	  .precondition = p_has_server,
	  .gen = gen_take,
	  .apply_real = server_take_real,
	  .apply_model = server_take_model,
	  .describe = d_server_take },
	{ .name = "respond",
	  .weight = 3,
	  .precondition = p_respond,
	  .gen = gen_respond,
	  .apply_real = respond_real,
	  .apply_model = respond_model,
	  .describe = d_respond },
	{ .name = "release",
	  .weight = 4,
	  .precondition = p_release,
	  .gen = gen_release,
	  .apply_real = release_real,
	  .apply_model = release_model,
	  .describe = d_release },
	{ .name = "expired",
	  .weight = 1,
	  .precondition = p_has_client,
	  .gen = gen_client,
	  .apply_real = expired_real,
	  .apply_model = expired_model,
	  .describe = d_expired },
	{ .name = "close server",
	  .weight = 2,
	  .precondition = p_has_server,
	  .gen = gen_server,
	  .apply_real = close_port_real,
	  .apply_model = close_port_model,
	  .describe = d_close_server },
	{ .name = "close client",
	  .weight = 2,
	  .precondition = p_has_client,
	  .gen = gen_client,
	  .apply_real = close_port_real,
	  .apply_model = close_port_model,
	  .describe = d_close_client },
	{ .name = "crash client process",
	  .weight = 1,
	  .precondition = p_crash,
	  .gen = gen_crash,
	  .apply_real = crash_real,
	  .apply_model = crash_model,
	  .describe = d_crash },
	{ .name = "reclaim crashed",
	  .weight = 2,
	  .precondition = p_reclaim,
	  .apply_real = reclaim_real,
	  .apply_model = reclaim_model,
	  .describe = d_reclaim },
#ifdef PLANT_BUGS
	{ .name = "take response (B4)",
	  .weight = 4,
	  .precondition = p_plant_b4_response,
	  .gen = gen_client,
	  .apply_real = take_b4_real,
	  .apply_model = take_b4_model,
	  .describe = d_take_b4 },
	{ .name = "start server (B4)",
	  .weight = 2,
	  .precondition = p_plant_b4_port,
	  .gen = gen_open_server,
	  .apply_real = start_b4_real,
	  .describe = d_start_b4 },
#endif
};

/* The gauges against the model: per owner (chunks and ports), per size
 * class, ports in use, no stale release, the driver's owner holds none,
 * and each live client's outstanding count. */
static int
rr_check(struct fl_prop_ctx *ctx, const void *mv, void *rv)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	fl_chunk_pool *pool = fl_rr_domain_chunks(r->drv);
	for (int who = 0; who <= NACT; who++) {
		if (who == ZOMBIE && !m->zombie)
			continue;
		uint64_t owner = who == ZOMBIE ? r->zombie_owner : owner_of(who);
		int want_c = m_owner_chunks(m, who);
		int want_p = m_count_ports(m, who, true) + m_count_ports(m, who, false);
		uint32_t got_c = fl_chunk_owner_loaned(pool, owner);
		uint32_t got_p = fl_rr_owner_ports(r->drv, owner);
		if ((int)got_c != want_c)
			return fl_prop_fail(ctx,
			                    "%s %d (owner %llu) holds %u chunks, the model says %d",
			                    who == ZOMBIE ? "crashed client" : "actor", who,
			                    (unsigned long long)owner, got_c, want_c);
		if ((int)got_p != want_p)
			return fl_prop_fail(ctx,
			                    "%s %d (owner %llu) holds %u ports, the model says %d",
			                    who == ZOMBIE ? "crashed client" : "actor", who,
			                    (unsigned long long)owner, got_p, want_p);
	}
	if (fl_chunk_owner_loaned(pool, 1) != 0)
		return fl_prop_fail(ctx, "the driver's owner holds %u chunks",
		                    fl_chunk_owner_loaned(pool, 1));
	struct fl_rr_stats st;
	fl_rr_stats(r->drv, &st);
	for (int k = 0; k < NCLS; k++) {
		if ((int)st.chunks.cls[k].loaned != m_class_loaned(m, k))
			return fl_prop_fail(ctx,
			                    "pool of %u-byte chunks: %u loaned, the model says %d",
			                    st.chunks.cls[k].chunk_size, st.chunks.cls[k].loaned,
			                    m_class_loaned(m, k));
		if (st.chunks.cls[k].stale)
			return fl_prop_fail(ctx, "pool of %u-byte chunks: %llu stale releases",
			                    st.chunks.cls[k].chunk_size,
			                    (unsigned long long)st.chunks.cls[k].stale);
	}
	if ((int)st.servers_in_use != m_ports(m, true) ||
	    (int)st.clients_in_use != m_ports(m, false))
		return fl_prop_fail(ctx,
		                    "ports in use: %u servers, %u clients; the model says %d, %d",
		                    st.servers_in_use, st.clients_in_use, m_ports(m, true),
		                    m_ports(m, false));
	for (int p = 0; p < MAXP; p++)
		if (m->port[p].used && !m->port[p].server && m->port[p].owner != ZOMBIE &&
		    (int)fl_rr_client_outstanding(r->cli[p]) != m->port[p].nout)
			return fl_prop_fail(
			        ctx, "client port #%d: %u requests outstanding, the model says %d",
			        p, fl_rr_client_outstanding(r->cli[p]), m->port[p].nout);
	return FL_PROP_PASS;
}

static int
rr_final(struct fl_prop_ctx *ctx, void *mv, void *rv)
{
	struct rr_model *m = mv;
	struct rr_real *r = rv;
	if (r->faults)
		fl_faults_disarm(r->faults);
	rr_close_all(m, r);
	if (m->zombie)
		rr_reclaim_zombie(m, r, NULL, NULL);
	int rc = rr_check(ctx, m, r);
	if (rc != FL_PROP_PASS)
		return rc;
	struct fl_rr_stats st;
	fl_rr_stats(r->drv, &st);
	for (int k = 0; k < NCLS; k++)
		if (st.chunks.cls[k].loaned)
			return fl_prop_fail(ctx, "after close: %u chunks of %u bytes still loaned",
			                    st.chunks.cls[k].loaned, st.chunks.cls[k].chunk_size);
	if (st.servers_in_use || st.clients_in_use)
		return fl_prop_fail(ctx, "after close: %u server and %u client ports in use",
		                    st.servers_in_use, st.clients_in_use);
	char names[256];
	int n = count_dir(r->dir, names, sizeof names);
	if (n != 2 || !strstr(names, "chunks.dat") || !strstr(names, "ports.dat"))
		return fl_prop_fail(
		        ctx, "run directory holds %d files (%s), only the driver's 2 expected", n,
		        names);
	return FL_PROP_PASS;
}

#define RR_SPEC(name_, setup_)                                                                     \
	{                                                                                          \
		.name = name_, .cmds = rr_cmds, .ncmds = sizeof rr_cmds / sizeof rr_cmds[0],       \
		.max_steps = 50, .avg_steps = 20, .setup = setup_, .check = rr_check,              \
		.final_check = rr_final, .teardown = rr_teardown,                                  \
	}

const struct fl_model_spec reqrep_owners_spec = RR_SPEC("reqrep_owners", rr_setup);

/* Every request/response fault point of a step (see prop_faults.h). */
static const char *const rr_fault_points[] = {
	"transport/chunk/loan",      "transport/port/server_alloc", "transport/port/client_alloc",
	"transport/rr/request_send", "transport/rr/response_send",  "transport/rr/queue_publish",
};

static int
rr_setup_faults(struct fl_prop_ctx *ctx, void **model, void **real)
{
	return prop_setup_faults(ctx, model, real, &reqrep_owners_spec,
	                         offsetof(struct rr_real, faults), rr_fault_points,
	                         sizeof rr_fault_points / sizeof rr_fault_points[0]);
}

const struct fl_model_spec reqrep_owners_faults_spec =
        RR_SPEC("reqrep_owners_faults", rr_setup_faults);

#ifdef PLANT_BUGS
const struct fl_model_spec reqrep_owners_b4_response_spec =
        RR_SPEC("reqrep_owners+b4_response", rr_setup);
const struct fl_model_spec reqrep_owners_b4_port_spec = RR_SPEC("reqrep_owners+b4_port", rr_setup);
#endif
