/*
 * The auditor: at the end of a run, every property the scenario names is
 * checked against the driver's gauges, the run directory and the process,
 * and a violation names the resource concretely ("chunks_balanced: pool
 * 128 B has 1 chunk loaned by actor client (owner 101) after close").
 * With --check-each-step, audit_step checks after every operation what
 * must hold at any step: the image references the actor's client holds
 * are the ones the actor took, no message was freed twice, no aio was
 * freed with its operation pending, and once the
 * actor closed it holds no image reference.  (Chunks and ports are not
 * checked per step: the driver may still be reclaiming them.)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/aio.h"
#include "faultline/chunk.h"
#include "faultline/reqrep.h"
#include "faultline/stats.h"

#include "run/run_internal.h"

int
audit_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own fd */
}

/* The driver's own files; anything else left once every actor closed is a
 * leak. */
static bool
driver_file(const char *name)
{
	return strcmp(name, "chunks.dat") == 0 || strcmp(name, "ports.dat") == 0 ||
	       strcmp(name, "cnc.dat") == 0;
}

/* A file the driver released but could not unlink (an unlink fault) is on
 * its retry list and counted by log_files_unlink_pending; it is gone with
 * the run directory at the latest.  Only files beyond that count leak. */
static int64_t
unlink_pending(struct run *r)
{
	struct fl_stats *st = malloc(sizeof(*st));
	int64_t n = 0;

	if (st != NULL && fl_stats_read(r->ns, st) == 0)
		n = st->log_files_unlink_pending;
	free(st);
	return n;
}

static void
audit_files(struct run *r)
{
	DIR *d = opendir(r->dir);
	struct dirent *e;
	int64_t excused = -1;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || driver_file(e->d_name))
			continue;
		if (excused < 0)
			excused = unlink_pending(r);
		if (excused > 0 && strncmp(e->d_name, "pub-", 4) == 0) {
			excused--;
			continue;
		}
		run_fail(r, "no_leaked_files", "%s/%s is left after every actor closed", r->dir,
		         e->d_name);
		break;
	}
	closedir(d);
}

static const char *
owner_name(struct run *r, uint64_t owner)
{
	for (size_t i = 0; i < r->s->actor_count; i++)
		if (r->actors[i].owner == owner)
			return r->actors[i].a->name;
	return "?";
}

/* Actors sharing a client share its owner id: true the first time `owner`
 * is seen in seen[0..*nseen), which it joins. */
static bool
first_sight(uint64_t *seen, size_t *nseen, uint64_t owner)
{
	for (size_t k = 0; k < *nseen; k++)
		if (seen[k] == owner)
			return false;
	seen[(*nseen)++] = owner;
	return true;
}

/* " (the last taken by request, line 23)": the op of an actor of this
 * owner that last took ports (ports) or loaned chunks (!ports). */
static const char *
taken_by(struct run *r, uint64_t owner, bool ports)
{
	static char buf[96];

	buf[0] = '\0';
	for (size_t i = 0; i < r->s->actor_count; i++) {
		struct actor_run *ar = &r->actors[i];
		int line = ports ? ar->last_port_line : ar->last_loan_line;
		int kind = ports ? ar->last_port_op : ar->last_loan_op;

		if (ar->owner == owner && line > 0)
			snprintf(buf, sizeof(buf), ", the last taken by %s (line %d)",
			         fl_scenario_op_name((enum fl_scn_op_kind)kind), line);
	}
	return buf;
}

/* chunks_balanced: every pool full again and no owner holding a chunk.
 * The detail names each pool with chunks out and each actor holding some
 * (the driver's mapping, owner 1, holds none once it reclaimed). */
static void
audit_chunks(struct run *r)
{
	struct fl_rr_stats st;
	char pools[200] = "", owners[240] = "";
	uint64_t seen[RUN_MAX_ACTORS];
	size_t nseen = 0;
	uint32_t out = 0;

	fl_rr_stats(r->driver_dom, &st);
	for (uint32_t c = 0; c < st.chunks.n_classes; c++) {
		if (st.chunks.cls[c].loaned == 0)
			continue;
		out += st.chunks.cls[c].loaned;
		snprintf(pools + strlen(pools), sizeof(pools) - strlen(pools), "%spool %u B: %u of %u",
		         pools[0] ? ", " : "", st.chunks.cls[c].chunk_size, st.chunks.cls[c].loaned,
		         st.chunks.cls[c].total);
	}
	if (out == 0)
		return;
	for (size_t i = 0; i < r->s->actor_count; i++) {
		uint64_t owner = r->actors[i].owner;
		uint32_t n;

		if (!first_sight(seen, &nseen, owner))
			continue;
		n = fl_chunk_owner_loaned(fl_rr_domain_chunks(r->driver_dom), owner);
		if (n > 0)
			snprintf(owners + strlen(owners), sizeof(owners) - strlen(owners),
			         "%sactor %s (owner %llu) holds %u%s", owners[0] ? "; " : "",
			         owner_name(r, owner), (unsigned long long)owner, n,
			         taken_by(r, owner, false));
	}
	run_fail(r, "chunks_balanced", "%u chunk(s) still loaned after every actor closed (%s)%s%s",
	         out, pools, owners[0] ? ": " : "", owners);
}

/* ports_zero: no server or client port in use; the detail names each
 * actor (client) still holding ports. */
static void
audit_ports(struct run *r)
{
	struct fl_rr_stats st;
	char owners[240] = "";
	uint64_t seen[RUN_MAX_ACTORS];
	size_t nseen = 0;

	fl_rr_stats(r->driver_dom, &st);
	if (st.servers_in_use == 0 && st.clients_in_use == 0)
		return;
	for (size_t i = 0; i < r->s->actor_count; i++) {
		uint64_t owner = r->actors[i].owner;
		uint32_t n;

		if (!first_sight(seen, &nseen, owner))
			continue;
		n = fl_rr_owner_ports(r->driver_dom, owner);
		if (n > 0)
			snprintf(owners + strlen(owners), sizeof(owners) - strlen(owners),
			         "%sactor %s holds %u%s", owners[0] ? "; " : "", owner_name(r, owner), n,
			         taken_by(r, owner, true));
	}
	run_fail(r, "ports_zero", "%u server and %u client port(s) in use after every actor closed%s%s",
	         st.servers_in_use, st.clients_in_use, owners[0] ? ": " : "", owners);
}

/* out += sign * d, counter by counter. */
static void
aio_debug_add(struct fl_aio_debug *out, const struct fl_aio_debug *d, int sign)
{
	out->msgs_allocated += (uint64_t)sign * d->msgs_allocated;
	out->msgs_freed += (uint64_t)sign * d->msgs_freed;
	out->msg_double_frees += (uint64_t)sign * d->msg_double_frees;
	out->aio_started += (uint64_t)sign * d->aio_started;
	out->aio_completed += (uint64_t)sign * d->aio_completed;
	out->aio_late_completions += (uint64_t)sign * d->aio_late_completions;
	out->aio_free_pending += (uint64_t)sign * d->aio_free_pending;
	out->ctx_opened += (uint64_t)sign * d->ctx_opened;
	out->ctx_closed += (uint64_t)sign * d->ctx_closed;
	out->replies_discarded += (uint64_t)sign * d->replies_discarded;
}

void
audit_aio_since(const struct run *r, struct fl_aio_debug *out)
{
	fl_aio_debug_read(out);
	aio_debug_add(out, &r->aio_base, -1);
}

void
audit_aio_counts(struct run *r, struct fl_aio_debug *out)
{
	audit_aio_since(r, out);
	for (size_t i = 0; i < r->s->actor_count; i++)
		aio_debug_add(out, &r->actors[i].aio_delta, 1);
}

/* A crashed actor's heap (messages, aios, their pending operations) dies
 * with it: in proc mode its counts are lost with the process, and under
 * sim the same holds for what it allocated.  Balances are then not
 * checkable; double frees and early aio frees still are. */
static bool
any_crashed(struct run *r)
{
	for (size_t i = 0; i < r->s->actor_count; i++)
		if (__atomic_load_n(&r->actors[i].crashed, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

/* Every message freed exactly once: no double free (fl_msg_free detects
 * one within its quarantine), and as many frees as allocations. */
static void
audit_messages(struct run *r)
{
	struct fl_aio_debug d;

	audit_aio_counts(r, &d);
	if (d.msg_double_frees > 0)
		run_fail(r, "messages_freed_once", "%llu message(s) freed twice (%llu allocated)",
		         (unsigned long long)d.msg_double_frees, (unsigned long long)d.msgs_allocated);
	else if (d.msgs_allocated != d.msgs_freed && !any_crashed(r))
		run_fail(r, "messages_freed_once", "%llu message(s) allocated, %llu freed",
		         (unsigned long long)d.msgs_allocated, (unsigned long long)d.msgs_freed);
}

/* No aio completes after its context closed, none is freed while its
 * operation is pending (the completion would land in freed memory), and
 * every operation started ran its callback. */
static void
audit_late_completions(struct run *r)
{
	struct fl_aio_debug d;

	audit_aio_counts(r, &d);
	if (d.aio_late_completions > 0)
		run_fail(r, "no_late_completions", "%llu aio completion(s) after their context closed",
		         (unsigned long long)d.aio_late_completions);
	else if (d.aio_free_pending > 0)
		run_fail(r, "no_late_completions",
		         "%llu aio(s) freed while their operation was pending (closed its context after)",
		         (unsigned long long)d.aio_free_pending);
	else if (d.aio_started != d.aio_completed && !any_crashed(r))
		run_fail(r, "no_late_completions", "%llu aio operation(s) started, %llu callbacks run",
		         (unsigned long long)d.aio_started, (unsigned long long)d.aio_completed);
}

/* no_corruption, always checked: the driver puts back the shared words
 * only it owns (cnc.dat header, log metadata, chunk and port layouts) and
 * counts each one it found changed, and clients count the chunks they
 * refused as corrupt.  No scenario writes those words, so any count is
 * the transport's own stray write: a failure, however well repaired. */
static void
audit_corruption(struct run *r)
{
	struct fl_stats *st = malloc(sizeof(*st));
	int64_t layout = 0, rejected = 0, strays = 0;

	if (st == NULL || fl_stats_read(r->ns, st) != 0) {
		free(st);
		return;
	}
	for (int i = 0; i < st->ext_count; i++) {
		if (strcmp(st->ext[i].name, "rr_layout_repaired") == 0)
			layout = st->ext[i].value;
		else if (strcmp(st->ext[i].name, "rr_corrupt_rejected") == 0)
			rejected = st->ext[i].value;
		else if (strcmp(st->ext[i].name, "rr_strays_reclaimed") == 0)
			strays = st->ext[i].value;
	}
	/* A stray (a port or chunk whose owner is no client) is taken back
	 * by the driver: in a run, a leak the reclaim would otherwise hide. */
	if (st->corrupt_reads != 0 || layout != 0 || rejected != 0 || strays != 0)
		run_fail(r, "no_corruption",
		         "shared memory only the driver writes was changed: corrupt_reads %lld, "
		         "rr_layout_repaired %lld, rr_corrupt_rejected %lld, rr_strays_reclaimed %lld",
		         (long long)st->corrupt_reads, (long long)layout, (long long)rejected,
		         (long long)strays);
	free(st);
}

void
audit_end_of_run(struct run *r)
{
	uint32_t p = r->s->properties;

	audit_corruption(r);
	if (p & FL_SCN_PROP_CHUNKS_BALANCED)
		audit_chunks(r);
	if (p & FL_SCN_PROP_PORTS_ZERO)
		audit_ports(r);
	/* An aio freed too early still holds what it received: that cause
	 * is reported before the message count it upsets. */
	if (p & FL_SCN_PROP_NO_LATE_COMPLETIONS)
		audit_late_completions(r);
	if (p & FL_SCN_PROP_MESSAGES_FREED_ONCE)
		audit_messages(r);
	if (p & FL_SCN_PROP_NO_LEAKED_FILES)
		audit_files(r);
	if (p & FL_SCN_PROP_NO_NEW_FDS) {
		int now = audit_count_fds();
		if (now > r->fds_at_start)
			run_fail(r, "no_new_fds", "%d file descriptor(s) open at the end, %d at the start",
			         now, r->fds_at_start);
	}
}

/* Describe step `op` of actor `ar` ("step 4 (take_image, line 21)"). */
static void
step_name(struct actor_run *ar, int op, uint32_t round, char *buf, size_t len)
{
	char rnd[32] = "";

	if (ar->a->repeat > 1)
		snprintf(rnd, sizeof(rnd), ", round %u", round + 1);
	if (op < 0)
		snprintf(buf, len, "close (after its last operation)");
	else
		snprintf(buf, len, "step %d (%s, line %d%s)", op + 1,
		         fl_scenario_op_name(ar->a->ops[op].kind), ar->a->ops[op].line, rnd);
}

void
audit_step(struct actor_run *ar, int op, uint32_t round)
{
	struct run *r = ar->run;
	uint32_t p = r->s->properties;
	char step[128];

	if (r->failed)
		return; /* the first violation is the one reported */
	step_name(ar, op, round, step, sizeof(step));
	if (r->pubsub)
		audit_pubsub_step(ar, step, op < 0);
	if (p & FL_SCN_PROP_MESSAGES_FREED_ONCE) {
		struct fl_aio_debug d;

		audit_aio_counts(r, &d);
		if (d.msg_double_frees > 0)
			run_fail(r, "messages_freed_once", "after %s of actor %s: %llu message(s) freed twice",
			         step, ar->a->name, (unsigned long long)d.msg_double_frees);
	}
	if (p & FL_SCN_PROP_NO_LATE_COMPLETIONS) {
		struct fl_aio_debug d;

		audit_aio_counts(r, &d);
		if (d.aio_free_pending > 0)
			run_fail(r, "no_late_completions",
			         "after %s of actor %s: %llu aio(s) freed while their operation was pending",
			         step, ar->a->name, (unsigned long long)d.aio_free_pending);
		else if (d.aio_late_completions > 0)
			run_fail(r, "no_late_completions",
			         "after %s of actor %s: %llu aio completion(s) after their context closed",
			         step, ar->a->name, (unsigned long long)d.aio_late_completions);
	}
}
