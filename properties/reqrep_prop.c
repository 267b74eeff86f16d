/*
 * Request/response model-based properties (issue 4).
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
 * reqrep_ctx (and reqrep_ctx_faults, sends failing at random): contexts
 * and asynchronous operations (aio.h) on one REQ and
 * one REP socket, run under the deterministic scheduler (harness sim: the
 * sockets' workers are coroutines, every interleaving decision comes from
 * the trial's stream, see cx_prop).  Random context opens and closes with receives
 * pending, sends, receives, replies, cancels, waits, server socket churn.
 * After every step: no message freed twice, no aio freed with work
 * pending, no completion after its context closed, ports per owner as
 * the model says, and messages alive no more than the property holds plus
 * one per context.  At the end, after closing: every message freed exactly
 * once, every callback owed run, zero chunks and ports.
 *
 * Built with -DPLANT_BUGS the program instead checks that the property
 * finds and shrinks each planted B4/B5 bug (--plant NAME, see main).
 */
#include "faultline/aio.h"
#include "faultline/chunk.h"
#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/prop.h"
#include "faultline/reqrep.h"
#include "faultline/sim.h"
#include "run/faults.h"

#include "prop_program.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NACT 3          /* in-process actors, owners 2..4 */
#define ZOMBIE NACT     /* holder index of the crashed process */
#define NSVC 3          /* services "a", "b", "c" */
#define MAXP 16         /* port records */
#define MAXC 16         /* chunk records (the pool has 9 chunks) */
#define MAX_OUT 16      /* outstanding requests a client port tracks */
#define SERVER_PORTS 2
#define CLIENT_PORTS 3
#define CHUNK_SPEC "64:6,512:3"
#define NCLS 2
#define LEN_MAX 600     /* above the largest class: FL_EMSGSIZE */
#define CX_CHUNK_SPEC "64:16,512:4" /* reqrep_ctx's pools */

static const char *const svc_name[NSVC] = {"a", "b", "c"};

#ifdef PLANT_BUGS
/* Which planted bug this run enables (main's --plant). */
static const char *plant;
static bool planted(const char *name)
{
	return plant && strcmp(plant, name) == 0;
}
#endif

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
	uint8_t where;    /* AT_HELD by `holder`, or AT_QUEUED at port slot `holder` */
	uint8_t kind;
	uint8_t cls;      /* size class */
	int holder;
	uint64_t seq;     /* request / response sequence id */
	uint32_t reply;   /* request: uid of the client port to answer */
	uint32_t taker;   /* taken request: uid of the server port that took it */
	uint32_t qorder;  /* queued: position in the port's FIFO */
};

struct m_port {
	bool used;
	bool server;
	int owner;        /* actor index, or ZOMBIE */
	int svc;
	uint32_t uid;
	uint32_t qnext;
	int nout;         /* client: requests sent, not answered or expired */
	uint64_t out_seq[MAX_OUT];
	uint32_t out_srv[MAX_OUT];
};

struct rr_model {
	struct m_port port[MAXP];
	struct m_chunk ch[MAXC];
	uint32_t next_uid;
	bool zombie;      /* a crashed process not yet reclaimed */
	unsigned crashes;
};

struct rr_real {
	char dir[256];
	fl_rr_domain *drv;          /* the driver's handle (owner 1) */
	fl_rr_domain *dom[NACT];
	fl_rr_server *srv[MAXP];
	fl_rr_client *cli[MAXP];
	fl_chunk ch[MAXC];
	uint64_t last_seq[MAXP];    /* last request sent by client port slot */
	uint64_t zombie_owner;
	struct fl_faults *faults;
	fl_rr_server *leaked[8];    /* planted B4: ports the buggy path lost */
	int nleaked;
};

static uint64_t owner_of(int actor)
{
	return 2 + (uint64_t)actor;
}

static int m_port_slot(const struct rr_model *m, uint32_t uid)
{
	for (int i = 0; i < MAXP; i++)
		if (m->port[i].used && m->port[i].uid == uid)
			return i;
	return -1;
}

static int m_free_port(const struct rr_model *m)
{
	for (int i = 0; i < MAXP; i++)
		if (!m->port[i].used)
			return i;
	return -1;
}

static int m_free_chunk(const struct rr_model *m)
{
	for (int i = 0; i < MAXC; i++)
		if (!m->ch[i].used)
			return i;
	return -1;
}

static int m_server_of(const struct rr_model *m, int svc)
{
	for (int i = 0; i < MAXP; i++)
		if (m->port[i].used && m->port[i].server && m->port[i].svc == svc)
			return i;
	return -1;
}

static int m_ports(const struct rr_model *m, bool server)
{
	int n = 0;
	for (int i = 0; i < MAXP; i++)
		n += m->port[i].used && m->port[i].server == server;
	return n;
}

/* The n-th port of `kind` held by actor a (n < count), or -1. */
static int m_nth_port(const struct rr_model *m, int a, bool server, int n)
{
	for (int i = 0; i < MAXP; i++)
		if (m->port[i].used && m->port[i].owner == a && m->port[i].server == server && n-- == 0)
			return i;
	return -1;
}

static int m_count_ports(const struct rr_model *m, int a, bool server)
{
	int n = 0;
	for (int i = 0; i < MAXP; i++)
		n += m->port[i].used && m->port[i].owner == a && m->port[i].server == server;
	return n;
}

/* Chunk records held by actor a of the given kind (-1: any). */
static int m_count_held(const struct rr_model *m, int a, int kind)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++)
		n += m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder == a &&
		     (kind < 0 || m->ch[i].kind == kind);
	return n;
}

static int m_nth_held(const struct rr_model *m, int a, int kind, int n)
{
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder == a &&
		    (kind < 0 || m->ch[i].kind == kind) && n-- == 0)
			return i;
	return -1;
}

/* A taken request whose server is still open (it can be answered). */
static bool answerable(const struct rr_model *m, int i)
{
	return m->ch[i].kind == K_REQUEST && m_port_slot(m, m->ch[i].taker) >= 0;
}

static int m_count_answerable(const struct rr_model *m, int a)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++)
		n += m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder == a && answerable(m, i);
	return n;
}

static int m_nth_answerable(const struct rr_model *m, int a, int n)
{
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder == a &&
		    answerable(m, i) && n-- == 0)
			return i;
	return -1;
}

/* Chunks owner `who` holds: its held records and what is queued at its ports. */
static int m_owner_chunks(const struct rr_model *m, int who)
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
static int m_class_loaned(const struct rr_model *m, int cls)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++)
		n += m->ch[i].used && m->ch[i].cls == cls && m->ch[i].where != AT_LIMBO;
	return n;
}

/* Chunks of class cls a loan cannot have: loaned, or in limbo. */
static int m_class_taken(const struct rr_model *m, int cls)
{
	int n = 0;
	for (int i = 0; i < MAXC; i++)
		n += m->ch[i].used && m->ch[i].cls == cls;
	return n;
}

/* The head of port slot p's queue, or -1. */
static int m_queue_head(const struct rr_model *m, int p)
{
	int best = -1;
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_QUEUED && m->ch[i].holder == p &&
		    (best < 0 || m->ch[i].qorder < m->ch[best].qorder))
			best = i;
	return best;
}

/* CHUNK_SPEC's class sizes: the boundaries loan sizes favour. */
static const uint64_t cls_size[NCLS] = {64, 512};

static int cls_for(uint32_t len)
{
	return len <= cls_size[0] ? 0 : len <= cls_size[1] ? 1 : -1;
}

static int class_total(int cls)
{
	return cls == 0 ? 6 : 3;
}

/* Removes port slot p: its queue is released (the close drains it). */
static void m_drop_port(struct rr_model *m, int p)
{
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_QUEUED && m->ch[i].holder == p)
			m->ch[i].used = false;
	memset(&m->port[p], 0, sizeof m->port[p]);
}

static void m_remove_outstanding(struct m_port *c, uint64_t seq)
{
	for (int k = 0; k < c->nout; k++)
		if (c->out_seq[k] == seq) {
			c->out_seq[k] = c->out_seq[c->nout - 1];
			c->out_srv[k] = c->out_srv[c->nout - 1];
			c->nout--;
			return;
		}
}

static void m_queue(struct rr_model *m, int i, int p)
{
	m->ch[i].where = AT_QUEUED;
	m->ch[i].holder = p;
	m->ch[i].qorder = m->port[p].qnext++;
}

/* ------------------------------------------------------------------ */
/* Setup and teardown. */

static int rr_setup(struct fl_prop_ctx *ctx, void **model, void **real)
{
	static unsigned counter;
	struct rr_model *m = calloc(1, sizeof *m);
	struct rr_real *r = calloc(1, sizeof *r);
	if (!m || !r) {
		free(m);
		free(r);
		return fl_prop_fail(ctx, "out of memory");
	}
	/* The runner's pid first: main removes what a crashed trial left. */
	char ns[64];
	snprintf(ns, sizeof ns, "prop-rr-%d-%d-%u", (int)getppid(), (int)getpid(), counter++);
	fl_run_dir_path(ns, r->dir, sizeof r->dir);
	struct fl_rr_config cfg = {.chunk_spec = CHUNK_SPEC, .server_ports = SERVER_PORTS,
				   .client_ports = CLIENT_PORTS};
	int rc = mkdir(r->dir, 0700) ? FL_EIO : fl_rr_domain_create(r->dir, &cfg, &r->drv);
	for (int a = 0; rc == 0 && a < NACT; a++)
		rc = fl_rr_domain_open(r->dir, owner_of(a), &r->dom[a]);
	if (rc) {
		for (int a = 0; a < NACT; a++)
			fl_rr_domain_close(r->dom[a]);
		fl_rr_domain_close(r->drv);
		fl_rr_domain_unlink(r->dir);
		rmdir(r->dir);
		free(m);
		free(r);
		return fl_prop_fail(ctx, "domain setup: %s", fl_errname(rc));
	}
	m->next_uid = 1;
	*model = m;
	*real = r;
	return FL_PROP_PASS;
}

/* Releases what the actors hold and closes their ports (the final check
 * and teardown both use it; idempotent). */
static void rr_close_all(struct rr_model *m, struct rr_real *r)
{
	for (int i = 0; i < MAXC; i++)
		if (m->ch[i].used && m->ch[i].where == AT_HELD && m->ch[i].holder != ZOMBIE) {
			fl_rr_release(r->dom[m->ch[i].holder], &r->ch[i]);
			m->ch[i].used = false;
		}
	for (int p = 0; p < MAXP; p++) {
		if (!m->port[p].used || m->port[p].owner == ZOMBIE)
			continue;
		if (m->port[p].server)
			fl_rr_server_close(r->srv[p]);
		else
			fl_rr_client_close(r->cli[p]);
		r->srv[p] = NULL;
		r->cli[p] = NULL;
		m_drop_port(m, p);
	}
	for (int i = 0; i < r->nleaked; i++)
		fl_rr_server_close(r->leaked[i]);
	r->nleaked = 0;
}

/* The model of the driver's reclaim of the crashed process: its ports
 * (and what is queued there), the chunks it held, the request it was
 * sending. */
static void m_reclaim_zombie(struct rr_model *m)
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

static void rr_reclaim_zombie(struct rr_model *m, struct rr_real *r, uint32_t *ports, uint32_t *chunks)
{
	fl_rr_reclaim_owner(r->drv, r->zombie_owner, ports, chunks);
	m_reclaim_zombie(m);
}

static void rr_teardown(void *model, void *real)
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
	uint32_t slot;             /* the model slot chosen for a new record */
	uint64_t seq, seq2;
};

static bool faulted(const struct rr_real *r, int rc)
{
	return r->faults && rc == FL_EFAULT_INJECTED;
}

static int mismatch(struct fl_prop_ctx *ctx, const char *what, int got, int want)
{
	return fl_prop_fail(ctx, "%s returned %s, the model expects %s (%s)", what, fl_errname(got),
			    fl_errname(want), fl_rr_errmsg());
}

/* Exhaustion must be a clear error: the message names the pool. */
static int exhausted_clearly(struct fl_prop_ctx *ctx, const char *what, int rc)
{
	const char *msg = fl_rr_errmsg();
	const char *want = rc == FL_ENO_PORTS ? "port pool exhausted"
			 : rc == FL_EPOOL_EMPTY ? "empty" : NULL;
	if (want && (!msg || !strstr(msg, want)))
		return fl_prop_fail(ctx, "%s: %s with message \"%s\", which does not say \"%s\"", what,
				    fl_errname(rc), msg ? msg : "", want);
	return FL_PROP_PASS;
}

static bool any_free_svc(const struct rr_model *m)
{
	for (int s = 0; s < NSVC; s++)
		if (m_server_of(m, s) < 0)
			return true;
	return false;
}

/* An index in [0, n), always one draw of the same bound whatever n is:
 * deleting a step then never shifts the draws of later steps (a plain
 * fl_gen_one_of draws nothing for n == 1). */
static size_t pick(struct fl_prop_ctx *ctx, size_t n)
{
	uint64_t v = fl_choice_draw(fl_prop_choice(ctx), 16);
	return n ? (size_t)(v % n) : 0;
}

static int gen_actor(struct fl_prop_ctx *ctx)
{
	return (int)pick(ctx, NACT);
}

/* An actor for which pred holds (the first one when none does: the
 * command's precondition makes sure one does). */
static int gen_actor_where(struct fl_prop_ctx *ctx, const struct rr_model *m,
			   bool (*pred)(const struct rr_model *, int))
{
	int ok[NACT], n = 0;
	for (int a = 0; a < NACT; a++)
		if (pred(m, a))
			ok[n++] = a;
	return n ? ok[pick(ctx, (size_t)n)] : 0;
}

static bool any_actor(const void *mv, bool (*pred)(const struct rr_model *, int))
{
	for (int a = 0; a < NACT; a++)
		if (pred(mv, a))
			return true;
	return false;
}

/* ---- open / close server ---- */

static bool p_open_server(const void *mv)
{
	return any_free_svc(mv) && m_free_port(mv) >= 0;
}

static void gen_open_server(struct fl_prop_ctx *ctx, const void *mv, void *av)
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

static int open_server_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	int want = m_ports(m, true) >= SERVER_PORTS ? FL_ENO_PORTS : 0;
	int p = m_free_port(m);
	fl_rr_server *s = NULL;
	int rc = fl_rr_server_open(r->dom[a->actor], svc_name[a->svc], &s);
	a->rc = rc;
	a->slot = (uint32_t)p;
	if (rc == 0)
		r->srv[p] = s;
	if (rc != want && !faulted(r, rc)) {
		if (rc == 0)
			fl_rr_server_close(s), r->srv[p] = NULL;
		return mismatch(ctx, "server_open", rc, want);
	}
	return exhausted_clearly(ctx, "server_open", rc);
}

static void open_port_model(struct rr_model *m, const struct rr_args *a, bool server)
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

static void open_server_model(void *mv, const void *av)
{
	open_port_model(mv, av, true);
}

static void d_open_server(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d opens a server of \"%s\"", a->actor, svc_name[a->svc]);
}

static bool has_server(const struct rr_model *m, int a)
{
	return m_count_ports(m, a, true) > 0;
}
static bool has_client(const struct rr_model *m, int a)
{
	return m_count_ports(m, a, false) > 0;
}
static bool p_has_server(const void *mv)
{
	return any_actor(mv, has_server);
}

/* An actor with a port of the kind, and one of its ports of that kind. */
static void gen_port_of(struct fl_prop_ctx *ctx, const struct rr_model *m, struct rr_args *a,
			bool server)
{
	a->actor = (int8_t)gen_actor_where(ctx, m, server ? has_server : has_client);
	int n = m_count_ports(m, a->actor, server);
	a->port = (int8_t)m_nth_port(m, a->actor, server, (int)pick(ctx, (size_t)n));
}

static void gen_server(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_port_of(ctx, mv, av, true);
}

/* Closes the port a->port names, server or client (the other is NULL). */
static int close_port_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct rr_real *r = rv;
	const struct rr_args *a = av;
	fl_rr_server_close(r->srv[a->port]);
	fl_rr_client_close(r->cli[a->port]);
	r->srv[a->port] = NULL;
	r->cli[a->port] = NULL;
	return FL_PROP_PASS;
}

static void close_port_model(void *mv, const void *av)
{
	m_drop_port(mv, ((const struct rr_args *)av)->port);
}

static void d_close_server(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d closes its server (port #%d)", a->actor, a->port);
}

/* ---- open / close client ---- */

static bool p_open_client(const void *mv)
{
	return m_free_port(mv) >= 0;
}

static void gen_open_client(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor(ctx);
	a->svc = (int8_t)pick(ctx, NSVC);
}

static int open_client_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	int want = m_ports(m, false) >= CLIENT_PORTS ? FL_ENO_PORTS : 0;
	int p = m_free_port(m);
	fl_rr_client *c = NULL;
	int rc = fl_rr_client_open(r->dom[a->actor], svc_name[a->svc], &c);
	a->rc = rc;
	a->slot = (uint32_t)p;
	if (rc == 0) {
		r->cli[p] = c;
		r->last_seq[p] = 0;
	}
	if (rc != want && !faulted(r, rc)) {
		if (rc == 0)
			fl_rr_client_close(c), r->cli[p] = NULL;
		return mismatch(ctx, "client_open", rc, want);
	}
	return exhausted_clearly(ctx, "client_open", rc);
}

static void open_client_model(void *mv, const void *av)
{
	open_port_model(mv, av, false);
}

static void d_open_client(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d opens a client of \"%s\"", a->actor, svc_name[a->svc]);
}

static bool p_has_client(const void *mv)
{
	return any_actor(mv, has_client);
}

static void gen_client(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_port_of(ctx, mv, av, false);
}

static void d_close_client(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d closes its client (port #%d)", a->actor, a->port);
}

/* ---- loan ---- */

static bool p_loan(const void *mv)
{
	return m_free_chunk(mv) >= 0;
}

static void gen_loan(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor(ctx);
	static const struct fl_gen_edges edges = {0, cls_size, NCLS};
	a->len = (uint32_t)fl_gen_size_edges(fl_prop_choice(ctx), 0, LEN_MAX, &edges);
}

static int predict_loan(const struct rr_model *m, uint32_t len)
{
	int cls = cls_for(len);
	if (cls < 0)
		return FL_EMSGSIZE;
	return m_class_taken(m, cls) >= class_total(cls) ? FL_EPOOL_EMPTY : 0;
}

static int loan_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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

static void loan_model(void *mv, const void *av)
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

static void d_loan(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d loans %u bytes", a->actor, a->len);
}

/* ---- send a request ---- */

static bool can_send(const struct rr_model *m, int a)
{
	return has_client(m, a) && m_count_held(m, a, K_LOAN) > 0;
}
static bool p_send(const void *mv)
{
	return any_actor(mv, can_send);
}

static void gen_send(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor_where(ctx, m, can_send);
	int n = m_count_ports(m, a->actor, false);
	a->port = (int8_t)m_nth_port(m, a->actor, false, (int)pick(ctx, (size_t)n));
	n = m_count_held(m, a->actor, K_LOAN);
	a->chunk = (int8_t)m_nth_held(m, a->actor, K_LOAN, (int)pick(ctx, (size_t)n));
}

static int send_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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

static void send_model(void *mv, const void *av)
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

static void d_send(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d sends chunk #%d as a request on client port #%d", a->actor, a->chunk,
		 a->port);
}

/* ---- server take ---- */

static void gen_take(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_server(ctx, mv, av);
}

/* A take from port a->port returned rc and chunk c: it must be the head
 * of the port's queue in the model (FIFO, by seq), or FL_EAGAIN when the
 * model's queue is empty. */
static int check_take(struct fl_prop_ctx *ctx, struct rr_real *r, const struct rr_model *m,
		      struct rr_args *a, int rc, const fl_chunk *c, const char *what)
{
	int head = m_queue_head(m, a->port);
	a->rc = rc;
	a->chunk = (int8_t)head;
	if (rc != (head >= 0 ? 0 : FL_EAGAIN))
		return mismatch(ctx, what, rc, head >= 0 ? 0 : FL_EAGAIN);
	if (rc == 0) {
		r->ch[head] = *c;
		if (c->seq != m->ch[head].seq)
			return fl_prop_fail(ctx, "%s: seq %llu, the model expects %llu (FIFO)", what,
					    (unsigned long long)c->seq,
					    (unsigned long long)m->ch[head].seq);
	}
	return FL_PROP_PASS;
}

static int server_take_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct rr_real *r = rv;
	struct rr_args *a = av;
	fl_chunk c;
	int rc = fl_rr_server_take(r->srv[a->port], &c);
	return check_take(ctx, r, mv, a, rc, &c, "server_take");
}

static void server_take_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	if (a->rc)
		return;
	struct m_chunk *c = &m->ch[a->chunk];
	c->where = AT_HELD;
	c->holder = a->actor;
	c->taker = m->port[a->port].uid;
}

static void d_server_take(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d takes a request on server port #%d", a->actor, a->port);
}

/* ---- respond ---- */

static bool can_respond(const struct rr_model *m, int a)
{
	return m_count_answerable(m, a) > 0 && m_count_held(m, a, K_LOAN) > 0;
}
static bool p_respond(const void *mv)
{
	return any_actor(mv, can_respond);
}

static void gen_respond(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor_where(ctx, m, can_respond);
	int n = m_count_answerable(m, a->actor);
	a->chunk = (int8_t)m_nth_answerable(m, a->actor, (int)pick(ctx, (size_t)n));
	n = m_count_held(m, a->actor, K_LOAN);
	a->chunk2 = (int8_t)m_nth_held(m, a->actor, K_LOAN, (int)pick(ctx, (size_t)n));
}

static int respond_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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

static void respond_model(void *mv, const void *av)
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

static void d_respond(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d answers request #%d with chunk #%d", a->actor, a->chunk, a->chunk2);
}

/* ---- release ---- */

static bool has_held(const struct rr_model *m, int a)
{
	return m_count_held(m, a, -1) > 0;
}
static bool p_release(const void *mv)
{
	return any_actor(mv, has_held);
}

static void gen_release(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_args *a = av;
	a->actor = (int8_t)gen_actor_where(ctx, m, has_held);
	int n = m_count_held(m, a->actor, -1);
	a->chunk = (int8_t)m_nth_held(m, a->actor, -1, (int)pick(ctx, (size_t)n));
}

static int release_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct rr_real *r = rv;
	const struct rr_args *a = av;
	int rc = fl_rr_release(r->dom[a->actor], &r->ch[a->chunk]);
	return rc ? fl_prop_fail(ctx, "release: %s", fl_errname(rc)) : FL_PROP_PASS;
}

static void release_model(void *mv, const void *av)
{
	((struct rr_model *)mv)->ch[((const struct rr_args *)av)->chunk].used = false;
}

static void d_release(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d releases chunk #%d", a->actor, a->chunk);
}

/* ---- client take ---- */

static int client_take_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	struct rr_real *r = rv;
	struct rr_args *a = av;
	fl_chunk c;
	int rc = fl_rr_client_take(r->cli[a->port], &c);
	return check_take(ctx, r, mv, a, rc, &c, "client_take");
}

static void client_take_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	if (a->rc)
		return;
	struct m_chunk *c = &m->ch[a->chunk];
	c->where = AT_HELD;
	c->holder = a->actor;
	m_remove_outstanding(&m->port[a->port], c->seq);
}

static void d_client_take(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d takes a response on client port #%d", a->actor, a->port);
}

#ifdef PLANT_BUGS
/* B4 (fixtures/b4_response_leak.c): the client releases a response only
 * when its sequence id is the one it expects (its last request's); its
 * author, like the model, believes every response is released. */
static bool p_plant_b4_response(const void *mv)
{
	return planted("b4_response") && p_has_client(mv);
}

static int take_b4_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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

static void take_b4_model(void *mv, const void *av)
{
	const struct rr_args *a = av;
	client_take_model(mv, av);
	if (a->rc == 0)
		((struct rr_model *)mv)->ch[a->chunk].used = false;
}

static void d_take_b4(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d takes and releases a response, B4 helper (client port #%d)", a->actor,
		 a->port);
}

/* B4 (fixtures/b4_port_churn.c): a server is opened, a setup step after
 * it fails, and the error path returns without closing the server. */
static bool p_plant_b4_port(const void *mv)
{
	return planted("b4_port") && p_open_server(mv);
}

static int start_b4_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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

static void d_start_b4(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d starts a server of \"%s\" whose setup fails, B4 helper", a->actor,
		 svc_name[a->svc]);
}
#endif

/* ---- client expired ---- */

static int expired_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	const struct rr_model *m = mv;
	struct rr_real *r = rv;
	struct rr_args *a = av;
	const struct m_port *cp = &m->port[a->port];
	bool any = false;
	for (int k = 0; k < cp->nout; k++)
		any |= m_port_slot(m, cp->out_srv[k]) < 0;
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
			return reason == FL_ECRASHED ? FL_PROP_PASS
						     : fl_prop_fail(ctx, "client_expired: reason %s, expected FL_ECRASHED",
								    fl_errname(reason));
	return fl_prop_fail(ctx, "client_expired: seq %llu is not a request to a closed server",
			    (unsigned long long)seq);
}

static void expired_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	if (a->rc == 0)
		m_remove_outstanding(&m->port[a->port], a->seq);
}

static void d_expired(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d polls expired requests on client port #%d", a->actor, a->port);
}

/* ---- the composite "call": loan 8 bytes and send them ---- */

static void gen_call(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	gen_client(ctx, mv, av);
	((struct rr_args *)av)->len = 8;
	((struct rr_args *)av)->chunk = -1;
}

static bool p_call(const void *mv)
{
	return p_has_client(mv) && m_free_chunk(mv) >= 0;
}

static int call_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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

static void call_model(void *mv, const void *av)
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

static void d_call(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d calls on client port #%d (loan + send)", a->actor, a->port);
}

/* ---- the composite "serve": take, loan, answer, release the request ---- */

static int serve_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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

static void serve_model(void *mv, const void *av)
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

static void d_serve(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	snprintf(b, l, "actor %d serves one request on server port #%d (take, loan, answer, release)",
		 a->actor, a->port);
}

/* ---- a client process crashes ---- */

static bool p_crash(const void *mv)
{
	const struct rr_model *m = mv;
	return !m->zombie && m_free_port(m) >= 0 && m_free_port(m) + 2 < MAXP &&
	       m_free_chunk(m) >= 0;
}

static void gen_crash(struct fl_prop_ctx *ctx, const void *mv, void *av)
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
	int dying_send;   /* 1 + the send it is killed inside, or 0 */
};

/* The crashing child's scheduling hooks: killed inside a delivery, after
 * the chunk became the receiver's and before the push; or inside a
 * release, after the refcount went to 0 and before the owner word is
 * cleared. */
static void die_at_push(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "rr.deliver.push") == 0)
		raise(SIGKILL);
}

static void die_at_release(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "chunk.release.cas") == 0)
		raise(SIGKILL);
}

static void crash_child(int fd, const char *dir, uint64_t owner, const struct rr_args *a)
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
			struct fl_platform_ops ops = {.sched_point = die_at_push};
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

static int crash_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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
		return fl_prop_fail(ctx, "the crashing client did not run as planned (status %#x)", st);
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
		return fl_prop_fail(ctx, "crashing client: %d loans succeeded, the model expects %d",
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

static void crash_model(void *mv, const void *av)
{
	struct rr_model *m = mv;
	const struct rr_args *a = av;
	m->crashes++;
	m->zombie = true;
	if (a->ok1) {
		struct rr_args o = {.actor = ZOMBIE, .svc = a->svc2, .slot = (uint32_t)m_free_port(m)};
		open_port_model(m, &o, true);
	}
	int cp = -1;
	if (a->ok2) {
		struct rr_args o = {.actor = ZOMBIE, .svc = a->svc, .slot = (uint32_t)m_free_port(m)};
		cp = (int)o.slot;
		open_port_model(m, &o, false);
	}
	for (int i = 0; i < a->loans_ok; i++) {
		struct rr_args l = {.actor = ZOMBIE, .len = 8, .slot = (uint32_t)m_free_chunk(m)};
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
			struct rr_args s = {.actor = ZOMBIE, .port = (int8_t)cp, .chunk = (int8_t)l.slot,
					    .seq = i == 0 ? a->seq : a->seq2};
			send_model(m, &s);
		}
	}
}

static void d_crash(const void *av, char *b, size_t l)
{
	const struct rr_args *a = av;
	char srv[48] = "";
	if (a->svc2 >= 0)
		snprintf(srv, sizeof srv, "a server of \"%s\", ", svc_name[a->svc2]);
	snprintf(b, l, "a client process opens %sa client of \"%s\", loans %d, sends %d, and is killed%s",
		 srv, svc_name[a->svc], a->n1, a->n2,
		 a->die_in_send ? " inside its last send (with no server to take it: inside "
				  "releasing that chunk)"
				: "");
}

static bool p_reclaim(const void *mv)
{
	return ((const struct rr_model *)mv)->zombie;
}

static int reclaim_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
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
		return fl_prop_fail(ctx, "reclaim of the crashed client returned %u ports and %u chunks, "
				    "the model expects %d and %d", ports, chunks, want_ports, want_chunks);
	return FL_PROP_PASS;
}

static void reclaim_model(void *mv, const void *av)
{
	m_reclaim_zombie(mv);
}

static void d_reclaim(const void *av, char *b, size_t l)
{
	snprintf(b, l, "the driver reclaims the crashed client (liveness timeout)");
}

static const struct fl_model_cmd rr_cmds[] = {
	{.name = "open server", .weight = 3, .precondition = p_open_server, .gen = gen_open_server, .apply_real = open_server_real, .apply_model = open_server_model, .describe = d_open_server},
	{.name = "open client", .weight = 3, .precondition = p_open_client, .gen = gen_open_client, .apply_real = open_client_real, .apply_model = open_client_model, .describe = d_open_client},
	{.name = "call", .weight = 4, .precondition = p_call, .gen = gen_call, .apply_real = call_real, .apply_model = call_model, .describe = d_call},
	{.name = "serve", .weight = 4, .precondition = p_has_server, .gen = gen_take, .apply_real = serve_real, .apply_model = serve_model, .describe = d_serve},
	{.name = "take response", .weight = 4, .precondition = p_has_client, .gen = gen_client, .apply_real = client_take_real, .apply_model = client_take_model, .describe = d_client_take},
	{.name = "loan", .weight = 3, .precondition = p_loan, .gen = gen_loan, .apply_real = loan_real, .apply_model = loan_model, .describe = d_loan},
	{.name = "send", .weight = 3, .precondition = p_send, .gen = gen_send, .apply_real = send_real, .apply_model = send_model, .describe = d_send},
	{.name = "take request", .weight = 3, .precondition = p_has_server, .gen = gen_take, .apply_real = server_take_real, .apply_model = server_take_model, .describe = d_server_take},
	{.name = "respond", .weight = 3, .precondition = p_respond, .gen = gen_respond, .apply_real = respond_real, .apply_model = respond_model, .describe = d_respond},
	{.name = "release", .weight = 4, .precondition = p_release, .gen = gen_release, .apply_real = release_real, .apply_model = release_model, .describe = d_release},
	{.name = "expired", .weight = 1, .precondition = p_has_client, .gen = gen_client, .apply_real = expired_real, .apply_model = expired_model, .describe = d_expired},
	{.name = "close server", .weight = 2, .precondition = p_has_server, .gen = gen_server, .apply_real = close_port_real, .apply_model = close_port_model, .describe = d_close_server},
	{.name = "close client", .weight = 2, .precondition = p_has_client, .gen = gen_client, .apply_real = close_port_real, .apply_model = close_port_model, .describe = d_close_client},
	{.name = "crash client process", .weight = 1, .precondition = p_crash, .gen = gen_crash, .apply_real = crash_real, .apply_model = crash_model, .describe = d_crash},
	{.name = "reclaim crashed", .weight = 2, .precondition = p_reclaim, .apply_real = reclaim_real, .apply_model = reclaim_model, .describe = d_reclaim},
#ifdef PLANT_BUGS
	{.name = "take response (B4)", .weight = 4, .precondition = p_plant_b4_response, .gen = gen_client, .apply_real = take_b4_real, .apply_model = take_b4_model, .describe = d_take_b4},
	{.name = "start server (B4)", .weight = 2, .precondition = p_plant_b4_port, .gen = gen_open_server, .apply_real = start_b4_real, .describe = d_start_b4},
#endif
};

/* The gauges against the model: per owner (chunks and ports), per size
 * class, ports in use, no stale release, the driver's owner holds none,
 * and each live client's outstanding count. */
static int rr_check(struct fl_prop_ctx *ctx, const void *mv, void *rv)
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
			return fl_prop_fail(ctx, "%s %d (owner %llu) holds %u chunks, the model says %d",
					    who == ZOMBIE ? "crashed client" : "actor", who,
					    (unsigned long long)owner, got_c, want_c);
		if ((int)got_p != want_p)
			return fl_prop_fail(ctx, "%s %d (owner %llu) holds %u ports, the model says %d",
					    who == ZOMBIE ? "crashed client" : "actor", who,
					    (unsigned long long)owner, got_p, want_p);
	}
	if (fl_chunk_owner_loaned(pool, 1) != 0)
		return fl_prop_fail(ctx, "the driver's owner holds %u chunks", fl_chunk_owner_loaned(pool, 1));
	struct fl_rr_stats st;
	fl_rr_stats(r->drv, &st);
	for (int k = 0; k < NCLS; k++) {
		if ((int)st.chunks.cls[k].loaned != m_class_loaned(m, k))
			return fl_prop_fail(ctx, "pool of %u-byte chunks: %u loaned, the model says %d",
					    st.chunks.cls[k].chunk_size, st.chunks.cls[k].loaned,
					    m_class_loaned(m, k));
		if (st.chunks.cls[k].stale)
			return fl_prop_fail(ctx, "pool of %u-byte chunks: %llu stale releases",
					    st.chunks.cls[k].chunk_size,
					    (unsigned long long)st.chunks.cls[k].stale);
	}
	if ((int)st.servers_in_use != m_ports(m, true) || (int)st.clients_in_use != m_ports(m, false))
		return fl_prop_fail(ctx, "ports in use: %u servers, %u clients; the model says %d, %d",
				    st.servers_in_use, st.clients_in_use, m_ports(m, true), m_ports(m, false));
	for (int p = 0; p < MAXP; p++)
		if (m->port[p].used && !m->port[p].server && m->port[p].owner != ZOMBIE &&
		    (int)fl_rr_client_outstanding(r->cli[p]) != m->port[p].nout)
			return fl_prop_fail(ctx, "client port #%d: %u requests outstanding, the model says %d",
					    p, fl_rr_client_outstanding(r->cli[p]), m->port[p].nout);
	return FL_PROP_PASS;
}

/* Files in a directory (-1: none). */
static int count_dir(const char *path, char *names, size_t len)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	if (len)
		names[0] = '\0';
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		size_t at = strlen(names), add = strlen(e->d_name) + 1;
		if (len > at + add) {
			if (at)
				names[at++] = ' ';
			memcpy(names + at, e->d_name, add);
		}
	}
	closedir(d);
	return n;
}

static int rr_final(struct fl_prop_ctx *ctx, void *mv, void *rv)
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
		return fl_prop_fail(ctx, "run directory holds %d files (%s), only the driver's 2 expected",
				    n, names);
	return FL_PROP_PASS;
}

#define RR_SPEC(name_, setup_)                                          \
	{                                                               \
		.name = name_, .cmds = rr_cmds,                         \
		.ncmds = sizeof rr_cmds / sizeof rr_cmds[0],            \
		.max_steps = 50, .avg_steps = 20, .setup = setup_,      \
		.check = rr_check, .final_check = rr_final,             \
		.teardown = rr_teardown,                                \
	}

static const struct fl_model_spec rr_spec = RR_SPEC("reqrep_owners", rr_setup);

/* Every request/response fault point of a step fails with probability
 * 1/20, drawn from the trial's stream (shrinking turns them off one by
 * one). */
static const char *const rr_fault_points[] = {
	"transport/chunk/loan", "transport/port/server_alloc", "transport/port/client_alloc",
	"transport/rr/request_send", "transport/rr/response_send", "transport/rr/queue_publish",
};

static int rr_setup_faults(struct fl_prop_ctx *ctx, void **model, void **real)
{
	int rc = rr_setup(ctx, model, real);
	if (rc != FL_PROP_PASS)
		return rc;
	struct rr_real *r = *real;
	rc = fl_faults_new(fl_prop_choice(ctx), NULL, &r->faults);
	for (size_t i = 0; rc == 0 && i < sizeof rr_fault_points / sizeof rr_fault_points[0]; i++) {
		struct fl_fault_rule rule = {.point = rr_fault_points[i], .action = FL_FAULT_ERROR,
					     .when = FL_WHEN_PROB, .p = 0.05};
		rc = fl_faults_add(r->faults, &rule);
	}
	if (rc == 0)
		rc = fl_faults_arm(r->faults);
	if (rc) {
		rr_teardown(*model, *real);
		return fl_prop_fail(ctx, "fault engine: %s", fl_errname(rc));
	}
	return FL_PROP_PASS;
}

static const struct fl_model_spec rr_spec_faults = RR_SPEC("reqrep_owners_faults", rr_setup_faults);

/* ------------------------------------------------------------------ */
/* reqrep_ctx: contexts and aios under the deterministic scheduler. */

#define MAX_CTX 5
#define AIO_TIMEOUT_NS FL_NS_PER_SEC /* virtual: a wait never hangs */

struct cx_ctx {
	bool used, rep, busy; /* busy: an operation started and not waited for */
	bool sent;            /* REQ: a request whose reply was not yet asked for */
	bool has_req;         /* REP: holds a received request (a message) */
	int last_op;          /* 0 send, 1 recv */
};

struct cx_model {
	struct cx_ctx c[MAX_CTX];
	bool rep_open;
};

struct cx_real {
	char dir[256];
	fl_rr_domain *drv, *dreq, *drep;
	fl_sock *req, *rep;
	fl_ctx *ctx[MAX_CTX];
	fl_aio *aio[MAX_CTX];
	fl_msg *held[MAX_CTX];   /* REP: the received request, to be answered */
	fl_aio *lost[8];         /* planted B5: aios the buggy path failed to free */
	int nlost;
	struct fl_faults *faults; /* reqrep_ctx_faults: armed after setup */
	struct fl_aio_debug base; /* counters at setup (process-wide) */
};

struct cx_args {
	int8_t ctx, slot;
	int32_t rc, result;
	uint32_t len;
	bool got_msg;
	bool freed;
};

static int cx_count(const struct cx_model *m, bool busy_only)
{
	int n = 0;
	for (int i = 0; i < MAX_CTX; i++)
		n += m->c[i].used && (!busy_only || m->c[i].busy);
	return n;
}

static int cx_held(const struct cx_model *m)
{
	int n = 0;
	for (int i = 0; i < MAX_CTX; i++)
		n += m->c[i].used && m->c[i].has_req;
	return n;
}

static void cx_debug(const struct cx_real *r, struct fl_aio_debug *d)
{
	fl_aio_debug_read(d);
	d->msgs_allocated -= r->base.msgs_allocated;
	d->msgs_freed -= r->base.msgs_freed;
	d->msg_double_frees -= r->base.msg_double_frees;
	d->aio_started -= r->base.aio_started;
	d->aio_completed -= r->base.aio_completed;
	d->aio_late_completions -= r->base.aio_late_completions;
	d->aio_free_pending -= r->base.aio_free_pending;
}

static int cx_setup(struct fl_prop_ctx *ctx, void **model, void **real)
{
	static unsigned counter;
	struct cx_model *m = calloc(1, sizeof *m);
	struct cx_real *r = calloc(1, sizeof *r);
	if (!m || !r) {
		free(m);
		free(r);
		return fl_prop_fail(ctx, "out of memory");
	}
	char ns[64];
	snprintf(ns, sizeof ns, "prop-rr-%d-%d-c%u", (int)getppid(), (int)getpid(), counter++);
	fl_run_dir_path(ns, r->dir, sizeof r->dir);
	struct fl_rr_config cfg = {.chunk_spec = CX_CHUNK_SPEC, .server_ports = 2, .client_ports = 2};
	int rc = mkdir(r->dir, 0700) ? FL_EIO : fl_rr_domain_create(r->dir, &cfg, &r->drv);
	if (rc == 0)
		rc = fl_rr_domain_open(r->dir, 2, &r->dreq);
	if (rc == 0)
		rc = fl_rr_domain_open(r->dir, 3, &r->drep);
	if (rc == 0)
		rc = fl_sock_open_rep(&r->rep, r->drep, "svc");
	if (rc == 0)
		rc = fl_sock_open_req(&r->req, r->dreq, "svc");
	if (rc) {
		fl_sock_close(r->req);
		fl_sock_close(r->rep);
		fl_rr_domain_close(r->dreq);
		fl_rr_domain_close(r->drep);
		fl_rr_domain_close(r->drv);
		fl_rr_domain_unlink(r->dir);
		rmdir(r->dir);
		free(m);
		free(r);
		return fl_prop_fail(ctx, "setup: %s", fl_errname(rc));
	}
	fl_aio_debug_read(&r->base);
	m->rep_open = true;
	*model = m;
	*real = r;
	return FL_PROP_PASS;
}

/* Closes context i: its pending operation is cancelled and waited for; a
 * message its aio still holds and a request it holds are freed. */
static void cx_close_ctx(struct cx_real *r, int i)
{
	fl_ctx_close(r->ctx[i]);
	r->ctx[i] = NULL;
	fl_msg_free(fl_aio_get_msg(r->aio[i]));
	fl_aio_free(r->aio[i]);
	r->aio[i] = NULL;
	fl_msg_free(r->held[i]);
	r->held[i] = NULL;
}

static void cx_close_rep_sock(struct cx_model *m, struct cx_real *r)
{
	fl_sock_close(r->rep); /* closes its contexts */
	r->rep = NULL;
	for (int i = 0; i < MAX_CTX; i++) {
		if (!m->c[i].used || !m->c[i].rep)
			continue;
		r->ctx[i] = NULL;
		fl_msg_free(fl_aio_get_msg(r->aio[i]));
		fl_aio_free(r->aio[i]);
		r->aio[i] = NULL;
		fl_msg_free(r->held[i]);
		r->held[i] = NULL;
		memset(&m->c[i], 0, sizeof m->c[i]);
	}
	m->rep_open = false;
}

static void cx_close_everything(struct cx_model *m, struct cx_real *r)
{
	for (int i = 0; i < MAX_CTX; i++)
		if (m->c[i].used && !m->c[i].rep) {
			cx_close_ctx(r, i);
			memset(&m->c[i], 0, sizeof m->c[i]);
		}
	if (r->rep)
		cx_close_rep_sock(m, r);
	fl_sock_close(r->req);
	r->req = NULL;
	for (int i = 0; i < r->nlost; i++)
		fl_aio_free(r->lost[i]); /* idle once its context closed */
	r->nlost = 0;
}

static void cx_teardown(void *model, void *real)
{
	struct cx_real *r = real;
	if (r) {
		fl_faults_free(r->faults);
		cx_close_everything(model, r);
		fl_rr_domain_close(r->dreq);
		fl_rr_domain_close(r->drep);
		fl_rr_domain_close(r->drv);
		fl_rr_domain_unlink(r->dir);
		rmdir(r->dir);
		fl_msg_quarantine_flush();
	}
	free(model);
	free(real);
}

/* ---- commands ---- */

/* The scheduler's stream (see cx_prop): reseeded at the start of every
 * step from one draw of the trial's stream, in the step's span. */
static struct fl_choice *cx_sched;

static bool cx_nested; /* inside a composite step: one reseed per step */

static void cx_step_schedule(struct fl_prop_ctx *ctx)
{
	if (!cx_nested)
		fl_choice_reseed(cx_sched, fl_choice_draw(fl_prop_choice(ctx), 1u << 16));
}

static int cx_free_slot(const struct cx_model *m)
{
	for (int i = 0; i < MAX_CTX; i++)
		if (!m->c[i].used)
			return i;
	return -1;
}

static bool p_cx_open_req(const void *mv)
{
	return cx_free_slot(mv) >= 0;
}

static bool p_cx_open_rep(const void *mv)
{
	return cx_free_slot(mv) >= 0 && ((const struct cx_model *)mv)->rep_open;
}

static int cx_open(struct fl_prop_ctx *ctx, struct cx_real *r, const struct cx_model *m,
		   struct cx_args *a, bool rep)
{
	int i = cx_free_slot(m);
	a->slot = (int8_t)i;
	int rc = fl_aio_alloc(&r->aio[i], NULL, NULL);
	if (rc)
		return fl_prop_fail(ctx, "aio_alloc: %s", fl_errname(rc));
	fl_aio_set_timeout(r->aio[i], AIO_TIMEOUT_NS);
	rc = fl_ctx_open(&r->ctx[i], rep ? r->rep : r->req);
	if (rc) {
		fl_aio_free(r->aio[i]);
		r->aio[i] = NULL;
		return fl_prop_fail(ctx, "ctx_open: %s", fl_errname(rc));
	}
	return FL_PROP_PASS;
}

static int cx_open_req_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	return cx_open(ctx, rv, mv, av, false);
}

static int cx_open_rep_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	return cx_open(ctx, rv, mv, av, true);
}

static void cx_open_model(void *mv, const void *av, bool rep)
{
	struct cx_ctx *c = &((struct cx_model *)mv)->c[((const struct cx_args *)av)->slot];
	memset(c, 0, sizeof *c);
	c->used = true;
	c->rep = rep;
}

static void cx_open_req_model(void *mv, const void *av)
{
	cx_open_model(mv, av, false);
}

static void cx_open_rep_model(void *mv, const void *av)
{
	cx_open_model(mv, av, true);
}

/* A context with pred true (the precondition makes sure one exists). */
static bool cx_any(const void *mv, bool (*pred)(const struct cx_ctx *))
{
	const struct cx_model *m = mv;
	for (int i = 0; i < MAX_CTX; i++)
		if (m->c[i].used && pred(&m->c[i]))
			return true;
	return false;
}

static int cx_pick(struct fl_prop_ctx *ctx, const struct cx_model *m, bool (*pred)(const struct cx_ctx *))
{
	int ok[MAX_CTX], n = 0;
	for (int i = 0; i < MAX_CTX; i++)
		if (m->c[i].used && pred(&m->c[i]))
			ok[n++] = i;
	return n ? ok[pick(ctx, (size_t)n)] : 0;
}

static bool c_req_idle(const struct cx_ctx *c)
{
	return !c->rep && !c->busy;
}
static bool c_recv_ok(const struct cx_ctx *c)
{
	return !c->busy && (c->rep ? !c->has_req : true);
}
static bool c_can_reply(const struct cx_ctx *c)
{
	return c->rep && !c->busy && c->has_req;
}
static bool c_busy(const struct cx_ctx *c)
{
	return c->busy;
}
static bool c_any(const struct cx_ctx *c)
{
	return true;
}

static bool p_cx_send(const void *mv) { return cx_any(mv, c_req_idle); }
static bool p_cx_recv(const void *mv) { return cx_any(mv, c_recv_ok); }
static bool p_cx_reply(const void *mv) { return cx_any(mv, c_can_reply); }
static bool p_cx_busy(const void *mv) { return cx_any(mv, c_busy); }
static bool p_cx_any(const void *mv) { return cx_any(mv, c_any); }

static void gen_cx_send(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	struct cx_args *a = av;
	/* Up to one byte past the 64-byte class of CX_CHUNK_SPEC, so sends
	 * land on both sides of it (one draw in 8 on 0, 63, 64 or 65). */
	static const uint64_t cls64 = 64;
	static const struct fl_gen_edges edges = {0, &cls64, 1};
	a->ctx = (int8_t)cx_pick(ctx, mv, c_req_idle);
	a->len = (uint32_t)fl_gen_size_edges(fl_prop_choice(ctx), 0, 65, &edges);
}
static void gen_cx_recv(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_recv_ok);
}
static void gen_cx_reply(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_can_reply);
}
static void gen_cx_busy(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_busy);
}
static void gen_cx_any(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_any);
}

/* A send's outcome: 0 (the library took the message) or an error after
 * which the message is still the caller's, and it frees it. */
static int cx_send_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	const struct cx_model *m = mv;
	struct cx_real *r = rv;
	struct cx_args *a = av;
	fl_msg *msg;
	int rc = fl_msg_alloc(&msg, a->len);
	if (rc)
		return fl_prop_fail(ctx, "msg_alloc: %s", fl_errname(rc));
	fl_aio_set_msg(r->aio[a->ctx], msg);
	rc = fl_ctx_send(r->ctx[a->ctx], r->aio[a->ctx]);
	a->rc = rc;
	if (rc) {
		if (fl_aio_get_msg(r->aio[a->ctx]) != msg)
			return fl_prop_fail(ctx, "ctx_send failed (%s) but the aio lost the message",
					    fl_errname(rc));
		fl_msg_free(msg);
	}
#if defined(PLANT_BUGS)
	/* B5 (fixtures/b5_free_after_send.c): the caller frees the message
	 * a successful send took. */
	if (planted("b5_send") && rc == 0)
		fl_msg_free(msg);
#endif
	bool ok = rc == 0 || rc == FL_EPOOL_EMPTY || (!m->rep_open && rc == FL_ENOSERVER) ||
		  (r->faults && rc == FL_EFAULT_INJECTED);
	return ok ? FL_PROP_PASS : fl_prop_fail(ctx, "ctx_send: %s (server socket %s)", fl_errname(rc),
						 m->rep_open ? "open" : "closed");
}

static void cx_send_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	if (a->rc)
		return;
	c->busy = true;
	c->last_op = 0;
	if (!c->rep)
		c->sent = true;
	else
		c->has_req = false;
}

static int cx_recv_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	const struct cx_model *m = mv;
	struct cx_real *r = rv;
	struct cx_args *a = av;
	const struct cx_ctx *c = &m->c[a->ctx];
	int want = !c->rep && !c->sent ? FL_ESTATE : 0;
	int rc = fl_ctx_recv(r->ctx[a->ctx], r->aio[a->ctx]);
	a->rc = rc;
	return rc == want ? FL_PROP_PASS : mismatch(ctx, "ctx_recv", rc, want);
}

static void cx_recv_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	if (a->rc)
		return;
	c->busy = true;
	c->last_op = 1;
	c->sent = false;
}

static int cx_reply_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	struct cx_args *a = av;
	fl_msg *msg = r->held[a->ctx];
	r->held[a->ctx] = NULL;
	fl_aio_set_msg(r->aio[a->ctx], msg);
	int rc = fl_ctx_send(r->ctx[a->ctx], r->aio[a->ctx]);
	a->rc = rc;
	if (rc)
		fl_msg_free(fl_aio_get_msg(r->aio[a->ctx]));
	/* The requester's port lives as long as the REQ socket. */
	return rc == 0 || rc == FL_EPOOL_EMPTY || (r->faults && rc == FL_EFAULT_INJECTED)
		       ? FL_PROP_PASS
		       : fl_prop_fail(ctx, "reply: %s", fl_errname(rc));
}

static void cx_reply_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	c->has_req = false; /* sent, or freed after the failed send */
	if (a->rc == 0) {
		c->busy = true;
		c->last_op = 0;
	}
}

static int cx_wait_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	const struct cx_model *m = mv;
	struct cx_real *r = rv;
	struct cx_args *a = av;
	const struct cx_ctx *c = &m->c[a->ctx];
	fl_aio_wait(r->aio[a->ctx]);
	int res = fl_aio_result(r->aio[a->ctx]);
	fl_msg *msg = fl_aio_get_msg(r->aio[a->ctx]);
	a->result = res;
	a->got_msg = msg != NULL;
	if (c->last_op == 0 && (res != 0 || msg))
		return fl_prop_fail(ctx, "a send completed with %s%s", fl_errname(res),
				    msg ? " and a message" : "");
	if (c->last_op == 1 && (res == 0) != (msg != NULL))
		return fl_prop_fail(ctx, "a receive completed with %s and %s message", fl_errname(res),
				    msg ? "a" : "no");
	if (res != 0 && res != FL_ETIMEDOUT && res != FL_ECANCELED && res != FL_ECRASHED)
		return fl_prop_fail(ctx, "a receive completed with %s", fl_errname(res));
	if (msg && c->rep)
		r->held[a->ctx] = msg;
	else
		fl_msg_free(msg);
	return FL_PROP_PASS;
}

static void cx_wait_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	c->busy = false;
	if (c->rep && a->got_msg)
		c->has_req = true;
}

static int cx_cancel_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	fl_aio_cancel(r->aio[((const struct cx_args *)av)->ctx]);
	return FL_PROP_PASS;
}

static int cx_close_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	int i = ((const struct cx_args *)av)->ctx;
	fl_ctx_close(r->ctx[i]);
	r->ctx[i] = NULL;
	fl_msg_free(fl_aio_get_msg(r->aio[i]));
	int rc = fl_aio_free(r->aio[i]);
	r->aio[i] = NULL;
	fl_msg_free(r->held[i]);
	r->held[i] = NULL;
	return rc ? fl_prop_fail(ctx, "aio_free after ctx_close: %s", fl_errname(rc)) : FL_PROP_PASS;
}

static void cx_close_model(void *mv, const void *av)
{
	struct cx_ctx *c = &((struct cx_model *)mv)->c[((const struct cx_args *)av)->ctx];
	memset(c, 0, sizeof *c);
}

#ifdef PLANT_BUGS
/* B5 (fixtures/b5_close_pending.c): on a deadline of its own the caller
 * frees the aio and then closes the context, while the receive still
 * holds the aio.  Its author, like the model, believes both are gone. */
static bool c_recv_pending(const struct cx_ctx *c)
{
	return c->busy && c->last_op == 1;
}
static bool p_plant_b5_close(const void *mv)
{
	return planted("b5_close") && cx_any(mv, c_recv_pending);
}
static void gen_b5_close(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_recv_pending);
}
static int cx_give_up_b5_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	int i = ((const struct cx_args *)av)->ctx;
	if (fl_aio_free(r->aio[i]) != 0 && r->nlost < 8)
		r->lost[r->nlost++] = r->aio[i]; /* still pending: not freed (kept for teardown) */
	r->aio[i] = NULL;
	fl_ctx_close(r->ctx[i]);
	r->ctx[i] = NULL;
	fl_msg_free(r->held[i]);
	r->held[i] = NULL;
	return FL_PROP_PASS;
}
static void d_cx_b5(const void *av, char *b, size_t l)
{
	snprintf(b, l, "give up on context #%d: free its aio, then close it (B5 helper)",
		 ((const struct cx_args *)av)->ctx);
}
#endif

/* ---- composites: a round trip is eight single steps, these make it
 * three (call, serve, wait) so most trials carry replies ---- */

/* REQ: send a request, wait for the send, start the receive of its reply. */
static int cx_call_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_args *a = av;
	struct cx_model tmp = *(const struct cx_model *)mv;
	cx_nested = true;
	int rc = cx_send_real(ctx, rv, &tmp, av);
	int send_rc = a->rc;
	if (rc == FL_PROP_PASS && send_rc == 0) {
		cx_send_model(&tmp, av);
		rc = cx_wait_real(ctx, rv, &tmp, av);
		if (rc == FL_PROP_PASS) {
			cx_wait_model(&tmp, av);
			rc = cx_recv_real(ctx, rv, &tmp, av);
		}
	}
	cx_nested = false;
	a->result = send_rc; /* 0: the receive is pending (a->rc its start) */
	return rc;
}

static void cx_call_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	if (a->result != 0)
		return; /* the send failed: nothing changed */
	c->sent = a->rc != 0; /* the receive did not start: the reply is still owed */
	c->busy = a->rc == 0;
	c->last_op = 1;
}

static bool c_rep_ready(const struct cx_ctx *c)
{
	return c->rep && !c->busy && !c->has_req;
}
static bool p_cx_serve(const void *mv) { return cx_any(mv, c_rep_ready); }
static void gen_cx_serve(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_pick(ctx, mv, c_rep_ready);
}

/* REP: receive the next request (or time out), answer it with itself. */
static int cx_serve_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_args *a = av;
	struct cx_model tmp = *(const struct cx_model *)mv;
	cx_nested = true;
	int rc = cx_recv_real(ctx, rv, &tmp, av);
	a->got_msg = false;
	a->freed = false; /* true: a reply is pending */
	if (rc == FL_PROP_PASS && a->rc == 0) {
		cx_recv_model(&tmp, av);
		rc = cx_wait_real(ctx, rv, &tmp, av);
		if (rc == FL_PROP_PASS && a->got_msg) {
			cx_wait_model(&tmp, av);
			rc = cx_reply_real(ctx, rv, &tmp, av);
			a->freed = rc == FL_PROP_PASS && a->rc == 0;
		}
	}
	cx_nested = false;
	return rc;
}

static void cx_serve_model(void *mv, const void *av)
{
	const struct cx_args *a = av;
	struct cx_ctx *c = &((struct cx_model *)mv)->c[a->ctx];
	/* the request was answered (busy: the send's callback is owed) or
	 * freed after a failed reply; or none came (timed out) */
	c->has_req = false;
	c->busy = a->freed;
	c->last_op = 0;
}

static int cx_settle_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	fl_idle_sleep_until(fl_clock_now_ns() + 5 * FL_NS_PER_MS);
	return FL_PROP_PASS;
}

static bool p_rep_open(const void *mv)
{
	return ((const struct cx_model *)mv)->rep_open;
}
static bool p_rep_closed(const void *mv)
{
	return !((const struct cx_model *)mv)->rep_open;
}

static int cx_close_rep_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	/* The model is updated here too (cx_close_rep_sock): the real
	 * close and the model's drop of the REP contexts are one act. */
	struct cx_model tmp = *(const struct cx_model *)mv;
	cx_close_rep_sock(&tmp, rv);
	return FL_PROP_PASS;
}

static void cx_close_rep_model(void *mv, const void *av)
{
	struct cx_model *m = mv;
	for (int i = 0; i < MAX_CTX; i++)
		if (m->c[i].used && m->c[i].rep)
			memset(&m->c[i], 0, sizeof m->c[i]);
	m->rep_open = false;
}

static int cx_open_rep_sock_real(struct fl_prop_ctx *ctx, void *rv, const void *mv, void *av)
{
	cx_step_schedule(ctx);
	struct cx_real *r = rv;
	int rc = fl_sock_open_rep(&r->rep, r->drep, "svc");
	return rc ? fl_prop_fail(ctx, "sock_open_rep: %s", fl_errname(rc)) : FL_PROP_PASS;
}

static void cx_open_rep_sock_model(void *mv, const void *av)
{
	((struct cx_model *)mv)->rep_open = true;
}

static void d_cx(const void *av, char *b, size_t l, const char *what)
{
	const struct cx_args *a = av;
	snprintf(b, l, "%s context #%d", what, a->ctx);
}
static void d_cx_open_req(const void *a, char *b, size_t l) { d_cx(a, b, l, "open REQ"); }
static void d_cx_open_rep(const void *a, char *b, size_t l) { d_cx(a, b, l, "open REP"); }
static void d_cx_send(const void *a, char *b, size_t l) { d_cx(a, b, l, "send a request on"); }
static void d_cx_recv(const void *a, char *b, size_t l) { d_cx(a, b, l, "start a receive on"); }
static void d_cx_reply(const void *a, char *b, size_t l) { d_cx(a, b, l, "reply on"); }
static void d_cx_wait(const void *a, char *b, size_t l) { d_cx(a, b, l, "wait for the operation of"); }
static void d_cx_cancel(const void *a, char *b, size_t l) { d_cx(a, b, l, "cancel the operation of"); }
static void d_cx_close(const void *a, char *b, size_t l) { d_cx(a, b, l, "close"); }
static void d_cx_call(const void *a, char *b, size_t l) { d_cx(a, b, l, "call (send, wait, receive) on"); }
static void d_cx_serve(const void *a, char *b, size_t l) { d_cx(a, b, l, "serve one request (receive, wait, reply) on"); }

static void gen_cx_slot(struct fl_prop_ctx *ctx, const void *mv, void *av)
{
	((struct cx_args *)av)->ctx = (int8_t)cx_free_slot(mv);
}

static const struct fl_model_cmd cx_cmds[] = {
	{.name = "open REQ context", .weight = 3, .precondition = p_cx_open_req, .gen = gen_cx_slot, .apply_real = cx_open_req_real, .apply_model = cx_open_req_model, .describe = d_cx_open_req},
	{.name = "open REP context", .weight = 3, .precondition = p_cx_open_rep, .gen = gen_cx_slot, .apply_real = cx_open_rep_real, .apply_model = cx_open_rep_model, .describe = d_cx_open_rep},
	{.name = "send", .weight = 4, .precondition = p_cx_send, .gen = gen_cx_send, .apply_real = cx_send_real, .apply_model = cx_send_model, .describe = d_cx_send},
	{.name = "recv", .weight = 4, .precondition = p_cx_recv, .gen = gen_cx_recv, .apply_real = cx_recv_real, .apply_model = cx_recv_model, .describe = d_cx_recv},
	{.name = "reply", .weight = 3, .precondition = p_cx_reply, .gen = gen_cx_reply, .apply_real = cx_reply_real, .apply_model = cx_reply_model, .describe = d_cx_reply},
	{.name = "wait", .weight = 4, .precondition = p_cx_busy, .gen = gen_cx_busy, .apply_real = cx_wait_real, .apply_model = cx_wait_model, .describe = d_cx_wait},
	{.name = "cancel", .weight = 1, .precondition = p_cx_busy, .gen = gen_cx_busy, .apply_real = cx_cancel_real, .describe = d_cx_cancel},
	{.name = "close context", .weight = 2, .precondition = p_cx_any, .gen = gen_cx_any, .apply_real = cx_close_real, .apply_model = cx_close_model, .describe = d_cx_close},
	{.name = "let the workers run (5 ms)", .weight = 2, .apply_real = cx_settle_real},
	{.name = "call", .weight = 4, .precondition = p_cx_send, .gen = gen_cx_send, .apply_real = cx_call_real, .apply_model = cx_call_model, .describe = d_cx_call},
	{.name = "serve", .weight = 4, .precondition = p_cx_serve, .gen = gen_cx_serve, .apply_real = cx_serve_real, .apply_model = cx_serve_model, .describe = d_cx_serve},
	{.name = "close the server socket", .weight = 1, .precondition = p_rep_open, .apply_real = cx_close_rep_real, .apply_model = cx_close_rep_model},
	{.name = "reopen the server socket", .weight = 2, .precondition = p_rep_closed, .apply_real = cx_open_rep_sock_real, .apply_model = cx_open_rep_sock_model},
#ifdef PLANT_BUGS
	{.name = "give up (B5)", .weight = 2, .precondition = p_plant_b5_close, .gen = gen_b5_close, .apply_real = cx_give_up_b5_real, .apply_model = cx_close_model, .describe = d_cx_b5},
#endif
};

/* After every step: nothing freed twice, no aio freed with work pending,
 * no completion after its context closed, ports per owner, messages alive
 * within [held, held + contexts], callbacks owed within the busy aios,
 * and no chunk held by anyone but the two sockets' owners. */
static int cx_check(struct fl_prop_ctx *ctx, const void *mv, void *rv)
{
	const struct cx_model *m = mv;
	struct cx_real *r = rv;
	struct fl_aio_debug d;
	cx_debug(r, &d);
	if (d.msg_double_frees)
		return fl_prop_fail(ctx, "%llu message(s) freed twice",
				    (unsigned long long)d.msg_double_frees);
	if (d.aio_free_pending)
		return fl_prop_fail(ctx, "%llu aio(s) freed with an operation pending",
				    (unsigned long long)d.aio_free_pending);
	if (d.aio_late_completions)
		return fl_prop_fail(ctx, "%llu operation(s) completed after their context closed",
				    (unsigned long long)d.aio_late_completions);
	int64_t live = (int64_t)(d.msgs_allocated - d.msgs_freed);
	int held = cx_held(m), nctx = cx_count(m, false);
	if (live < held || live > held + nctx)
		return fl_prop_fail(ctx, "%lld messages alive; the property holds %d and %d contexts may "
				    "hold one each", (long long)live, held, nctx);
	int64_t owed = (int64_t)(d.aio_started - d.aio_completed);
	if (owed < 0 || owed > cx_count(m, true))
		return fl_prop_fail(ctx, "%lld callbacks owed with %d operations not waited for",
				    (long long)owed, cx_count(m, true));
	if (fl_rr_owner_ports(r->drv, 2) != 1)
		return fl_prop_fail(ctx, "the REQ socket's owner holds %u ports, not 1",
				    fl_rr_owner_ports(r->drv, 2));
	if ((int)fl_rr_owner_ports(r->drv, 3) != (m->rep_open ? 1 : 0))
		return fl_prop_fail(ctx, "the REP socket's owner holds %u ports, the model says %d",
				    fl_rr_owner_ports(r->drv, 3), m->rep_open ? 1 : 0);
	fl_chunk_pool *pool = fl_rr_domain_chunks(r->drv);
	struct fl_rr_stats st;
	fl_rr_stats(r->drv, &st);
	uint32_t loaned = st.chunks.cls[0].loaned + st.chunks.cls[1].loaned;
	uint32_t owned = fl_chunk_owner_loaned(pool, 2) + fl_chunk_owner_loaned(pool, 3);
	if (loaned != owned || st.chunks.cls[0].stale || st.chunks.cls[1].stale)
		return fl_prop_fail(ctx, "%u chunks loaned, %u of them owned by the sockets, %llu stale releases",
				    loaned, owned,
				    (unsigned long long)(st.chunks.cls[0].stale + st.chunks.cls[1].stale));
	return FL_PROP_PASS;
}

static int cx_final(struct fl_prop_ctx *ctx, void *mv, void *rv)
{
	struct cx_model *m = mv;
	struct cx_real *r = rv;
	if (r->faults)
		fl_faults_disarm(r->faults);
	cx_close_everything(m, r);
	struct fl_aio_debug d;
	cx_debug(r, &d);
	if (d.msg_double_frees || d.aio_free_pending || d.aio_late_completions)
		return fl_prop_fail(ctx, "after close: %llu double frees, %llu aios freed pending, "
				    "%llu late completions", (unsigned long long)d.msg_double_frees,
				    (unsigned long long)d.aio_free_pending,
				    (unsigned long long)d.aio_late_completions);
	if (d.msgs_allocated != d.msgs_freed)
		return fl_prop_fail(ctx, "after close: %llu messages allocated, %llu freed",
				    (unsigned long long)d.msgs_allocated, (unsigned long long)d.msgs_freed);
	if (d.aio_started != d.aio_completed)
		return fl_prop_fail(ctx, "after close: %llu operations started, %llu callbacks run",
				    (unsigned long long)d.aio_started, (unsigned long long)d.aio_completed);
	struct fl_rr_stats st;
	fl_rr_stats(r->drv, &st);
	if (st.chunks.cls[0].loaned || st.chunks.cls[1].loaned || st.servers_in_use || st.clients_in_use)
		return fl_prop_fail(ctx, "after close: %u + %u chunks loaned, %u server and %u client ports",
				    st.chunks.cls[0].loaned, st.chunks.cls[1].loaned, st.servers_in_use,
				    st.clients_in_use);
	char names[256];
	int n = count_dir(r->dir, names, sizeof names);
	if (n != 2)
		return fl_prop_fail(ctx, "run directory holds %d files (%s), only the driver's 2 expected",
				    n, names);
	return FL_PROP_PASS;
}

#define CX_SPEC(name_)                                                  \
	{                                                               \
		.name = name_, .cmds = cx_cmds,                         \
		.ncmds = sizeof cx_cmds / sizeof cx_cmds[0],            \
		.max_steps = 40, .avg_steps = 15, .setup = cx_setup,    \
		.check = cx_check, .final_check = cx_final,             \
		.teardown = cx_teardown,                                \
	}

static const struct fl_model_spec cx_spec = CX_SPEC("reqrep_ctx");

/* Sends fail at random (chunk loan, request and response send, 1/20 each
 * hit): the message stays the caller's, nothing is left behind. */
static int cx_setup_faults(struct fl_prop_ctx *ctx, void **model, void **real)
{
	static const char *const points[] = {"transport/chunk/loan", "transport/rr/request_send",
					     "transport/rr/response_send",
					     "transport/rr/queue_publish"};
	int rc = cx_setup(ctx, model, real);
	if (rc != FL_PROP_PASS)
		return rc;
	struct cx_real *r = *real;
	rc = fl_faults_new(fl_prop_choice(ctx), NULL, &r->faults);
	for (size_t i = 0; rc == 0 && i < sizeof points / sizeof points[0]; i++) {
		struct fl_fault_rule rule = {.point = points[i], .action = FL_FAULT_ERROR,
					     .when = FL_WHEN_PROB, .p = 0.05};
		rc = fl_faults_add(r->faults, &rule);
	}
	if (rc == 0)
		rc = fl_faults_arm(r->faults);
	if (rc) {
		cx_teardown(*model, *real);
		return fl_prop_fail(ctx, "fault engine: %s", fl_errname(rc));
	}
	return FL_PROP_PASS;
}

static const struct fl_model_spec cx_spec_faults = {
	.name = "reqrep_ctx_faults", .cmds = cx_cmds, .ncmds = sizeof cx_cmds / sizeof cx_cmds[0],
	.max_steps = 40, .avg_steps = 15, .setup = cx_setup_faults, .check = cx_check,
	.final_check = cx_final, .teardown = cx_teardown,
};

/* The model runner inside one sim actor: the sockets' workers are actors
 * too.  The scheduler draws from its own stream, reseeded from one value
 * of the trial's stream at setup and at every step (cx_step_schedule):
 * a trial replays exactly, shrinking lowers those seeds toward a plain
 * schedule, and a step's decisions cost the trial one value however many
 * there are, so deleting a step never shifts the draws of later steps. */
struct cx_run {
	struct fl_prop_ctx *ctx;
	int rc;
};

static void cx_actor(void *arg)
{
	struct cx_run *run = arg;
	run->rc = fl_model_prop(run->ctx);
}

static int cx_prop(struct fl_prop_ctx *ctx)
{
	struct fl_sim_config cfg = {.kind = FL_SCHED_RANDOM, .max_steps = 2000000,
				    .stack_size = 1 << 20};
	struct fl_sim *sim = NULL;
	struct cx_run run = {ctx, FL_PROP_FAIL};
	struct fl_sim_result res;
	int rc = fl_choice_new_seeded(fl_choice_draw(fl_prop_choice(ctx), 1u << 16), &cx_sched);
	if (rc == 0) {
		cfg.choices = cx_sched;
		rc = fl_sim_new(&cfg, &sim);
	}
	if (rc == 0)
		rc = fl_sim_spawn(sim, "property", cx_actor, &run, NULL);
	if (rc == 0)
		rc = fl_sim_run(sim, &res);
	fl_sim_free(sim);
	fl_choice_free(cx_sched);
	cx_sched = NULL;
	if (rc)
		return fl_prop_fail(ctx, "sim: %s", fl_errname(rc));
	if (res.verdict != FL_SIM_OK) {
		char who[512] = "";
		for (size_t i = 0; i < res.nactors; i++) {
			size_t at = strlen(who);
			snprintf(who + at, sizeof who - at, "%s%s %s at %s", at ? ", " : "",
				 res.actors[i].name, fl_sim_state_name(res.actors[i].state),
				 res.actors[i].last_point ? res.actors[i].last_point : "");
		}
		return fl_prop_fail(ctx, "%s after %llu scheduling steps: %s",
				    res.verdict == FL_SIM_DEADLOCK ? "deadlock" : "step limit",
				    (unsigned long long)res.steps, who);
	}
	return run.rc;
}

/* ------------------------------------------------------------------ */

static const struct fl_prop_def props[] = {
	{"reqrep_owners", fl_model_prop, &rr_spec,
	 "request/response ports and chunks of three actors and a crashing client process: "
	 "per-owner balance at every step, FIFO takes, zero left at the end"},
	{"reqrep_owners_faults", fl_model_prop, &rr_spec_faults,
	 "the same with loans, port allocations and sends failing at random: nothing left behind"},
	{"reqrep_ctx", cx_prop, &cx_spec,
	 "contexts and aios under the deterministic scheduler: messages freed exactly once, "
	 "no aio freed or completed after close, callbacks owed, ports and chunks balanced"},
	{"reqrep_ctx_faults", cx_prop, &cx_spec_faults,
	 "the same with sends failing at random (chunk loan, request/response send)"},
};

/* What trials of this runner that crashed or hung left in /dev/shm. */
static void remove_leftovers(void)
{
	remove_prop_dirs("faultline-prop-rr-");
}

#ifndef PLANT_BUGS
int main(int argc, char **argv)
{
	return prop_program_main("reqrep_prop", argc, argv, props, sizeof props / sizeof props[0],
				 remove_leftovers);
}
#else
/* The planted bugs, one property each, named "<property>+<plant>" so that
 * a saved trace replays with its plant (`faultline replay TRACE` runs
 * `reqrep_prop_planted --replay TRACE`). */
static const struct fl_model_spec plant_specs[] = {
	RR_SPEC("reqrep_owners+b4_response", rr_setup),
	RR_SPEC("reqrep_owners+b4_port", rr_setup),
	CX_SPEC("reqrep_ctx+b5_send"),
	CX_SPEC("reqrep_ctx+b5_close"),
};

static int planted_prop(struct fl_prop_ctx *ctx)
{
	const struct fl_model_spec *spec = fl_prop_arg(ctx);
	plant = strchr(spec->name, '+') + 1;
	return strncmp(spec->name, "reqrep_ctx", 10) == 0 ? cx_prop(ctx) : fl_model_prop(ctx);
}

static const struct fl_prop_def planted_props[] = {
	{"reqrep_owners+b4_response", planted_prop, &plant_specs[0],
	 "B4: a client releases a response only when its seq is the expected one"},
	{"reqrep_owners+b4_port", planted_prop, &plant_specs[1],
	 "B4: a server port lost on an error path"},
	{"reqrep_ctx+b5_send", planted_prop, &plant_specs[2],
	 "B5: a message freed after a successful send"},
	{"reqrep_ctx+b5_close", planted_prop, &plant_specs[3],
	 "B5: an aio freed and its context closed with a receive pending"},
};

/* Each planted bug must be found on every seed and shrunk to no more steps
 * than its bound: the hand-written reproduction's length in this
 * property's steps. */
struct plant_def {
	const char *name;
	const struct fl_prop_def *prop;
	const char *helper;  /* a word of the helper's step description */
	unsigned max_steps;
};

static const struct plant_def plants[] = {
	/* fixtures/b4_response_leak.c leaks first in its second round: open
	 * server, open client, 2 x (call, serve, take response) */
	{"b4_response", &planted_props[0], "B4 helper", 8},
	/* fixtures/b4_port_churn.c: one start_server whose configure fails */
	{"b4_port", &planted_props[1], "B4 helper", 1},
	/* fixtures/b5_free_after_send.c: open a context, send, free */
	{"b5_send", &planted_props[2], "send", 2},
	/* fixtures/b5_close_pending.c: open a context, send, wait, receive,
	 * give up (free the aio, close) */
	{"b5_close", &planted_props[3], "B5 helper", 5},
};

int main(int argc, char **argv)
{
	(void)props; /* the unplanted properties: reqrep_prop */
	if (planted_help(argc, argv, " --plant b4_response|b4_port|b5_send|b5_close"))
		return 0;
	start_reaper(remove_leftovers);
	/* --replay / --shrink of a saved trace: fl_prop_main, without --plant. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--replay") == 0 || strcmp(argv[i], "--shrink") == 0) {
			int k = 0;
			for (int j = 0; j < argc; j++)
				if (strcmp(argv[j], "--plant") == 0)
					j++;
				else
					argv[k++] = argv[j];
			argv[k] = NULL;
			return fl_prop_main(k, argv, planted_props,
					    sizeof planted_props / sizeof planted_props[0]);
		}
	/* --bench [RUNS]: trials and seconds to find and shrink each bug. */
	if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
		unsigned runs = argc >= 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 10;
		printf("# reqrep_prop_planted: find and shrink, seeds 1..%u\n", runs);
		for (size_t i = 0; i < sizeof plants / sizeof plants[0]; i++)
			bench_find(plants[i].name, plants[i].prop, 1, runs);
		remove_leftovers();
		return 0;
	}
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--plant") == 0)
			plant = argv[i + 1];
	const struct plant_def *pd = NULL;
	for (size_t i = 0; plant && i < sizeof plants / sizeof plants[0]; i++)
		if (strcmp(plants[i].name, plant) == 0)
			pd = &plants[i];
	if (!pd) {
		planted_usage(stderr, argv[0], " --plant b4_response|b4_port|b5_send|b5_close");
		return 2;
	}
	/* fl_prop_config_args leaves --plant NAME alone.  Under memcheck a
	 * shrink of 60 runs. */
	int code = planted_check(argc, argv, pd->name, pd->prop, pd->helper, pd->max_steps, 60);
	remove_leftovers();
	return code;
}
#endif
