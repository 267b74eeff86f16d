/*
 * The request/response domain's audit: chunks_balanced and ports_zero
 * (each chunk and port back, a violation naming the actor and operation
 * that took the last one), messages_freed_once and no_late_completions
 * (the aio layer's counts, this process's and what finished process
 * actors reported), at the end and with --check-each-step after every
 * step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/aio.h"
#include "faultline/chunk.h"
#include "faultline/reqrep.h"

#include "run/run_internal.h"

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

/* Into owners[len]: "actor a holds 2, the last taken by ...; actor b ..."
 * for each owner (client) holding ports (ports) or loaned chunks
 * (!ports; these name the owner id too). */
static void
holders(struct run *r, bool ports, char *owners, size_t len)
{
	uint64_t seen[RUN_MAX_ACTORS];
	size_t nseen = 0;

	for (size_t i = 0; i < r->s->actor_count; i++) {
		uint64_t owner = r->actors[i].owner;
		char id[40] = "";
		uint32_t n;

		if (!first_sight(seen, &nseen, owner))
			continue;
		n = ports ? fl_rr_owner_ports(r->driver_dom, owner)
		          : fl_chunk_owner_loaned(fl_rr_domain_chunks(r->driver_dom), owner);
		if (n == 0)
			continue;
		if (!ports)
			snprintf(id, sizeof(id), " (owner %llu)", (unsigned long long)owner);
		snprintf(owners + strlen(owners), len - strlen(owners), "%sactor %s%s holds %u%s",
		         owners[0] ? "; " : "", owner_name(r, owner), id, n,
		         taken_by(r, owner, ports));
	}
}

/* chunks_balanced: every pool full again and no owner holding a chunk.
 * The detail names each pool with chunks out and each actor holding some
 * (the driver's mapping, owner 1, holds none once it reclaimed). */
static void
audit_chunks(struct run *r)
{
	struct fl_rr_stats st;
	char pools[200] = "", owners[240] = "";
	uint32_t out = 0;

	fl_rr_stats(r->driver_dom, &st);
	for (uint32_t c = 0; c < st.chunks.n_classes; c++) {
		if (st.chunks.cls[c].loaned == 0)
			continue;
		out += st.chunks.cls[c].loaned;
		snprintf(pools + strlen(pools), sizeof(pools) - strlen(pools),
		         "%spool %u B: %u of %u", pools[0] ? ", " : "", st.chunks.cls[c].chunk_size,
		         st.chunks.cls[c].loaned, st.chunks.cls[c].total);
	}
	if (out == 0)
		return;
	holders(r, false, owners, sizeof(owners));
	fli_run_fail(r, "chunks_balanced",
	             "%u chunk(s) still loaned after every actor closed (%s)%s%s", out, pools,
	             owners[0] ? ": " : "", owners);
}

/* ports_zero: no server or client port in use; the detail names each
 * actor (client) still holding ports. */
static void
audit_ports(struct run *r)
{
	struct fl_rr_stats st;
	char owners[240] = "";

	fl_rr_stats(r->driver_dom, &st);
	if (st.servers_in_use == 0 && st.clients_in_use == 0)
		return;
	holders(r, true, owners, sizeof(owners));
	fli_run_fail(r, "ports_zero",
	             "%u server and %u client port(s) in use after every actor closed%s%s",
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
fli_audit_aio_since(const struct run *r, struct fl_aio_debug *out)
{
	fl_aio_debug_read(out);
	aio_debug_add(out, &r->aio_base, -1);
}

void
fli_audit_aio_counts(struct run *r, struct fl_aio_debug *out)
{
	fli_audit_aio_since(r, out);
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

	fli_audit_aio_counts(r, &d);
	if (d.msg_double_frees > 0)
		fli_run_fail(r, "messages_freed_once",
		             "%llu message(s) freed twice (%llu allocated)",
		             (unsigned long long)d.msg_double_frees,
		             (unsigned long long)d.msgs_allocated);
	else if (d.msgs_allocated != d.msgs_freed && !any_crashed(r))
		fli_run_fail(r, "messages_freed_once", "%llu message(s) allocated, %llu freed",
		             (unsigned long long)d.msgs_allocated,
		             (unsigned long long)d.msgs_freed);
}

/* No aio completes after its context closed, none is freed while its
 * operation is pending (the completion would land in freed memory), and
 * every operation started ran its callback. */
static void
audit_late_completions(struct run *r)
{
	struct fl_aio_debug d;

	fli_audit_aio_counts(r, &d);
	if (d.aio_late_completions > 0)
		fli_run_fail(r, "no_late_completions",
		             "%llu aio completion(s) after their context closed",
		             (unsigned long long)d.aio_late_completions);
	else if (d.aio_free_pending > 0)
		fli_run_fail(r, "no_late_completions",
		             "%llu aio(s) freed while their operation was pending (closed its "
		             "context after)",
		             (unsigned long long)d.aio_free_pending);
	else if (d.aio_started != d.aio_completed && !any_crashed(r))
		fli_run_fail(r, "no_late_completions",
		             "%llu aio operation(s) started, %llu callbacks run",
		             (unsigned long long)d.aio_started,
		             (unsigned long long)d.aio_completed);
}

/* The domain's end-of-run properties, in this order: an aio freed too
 * early still holds what it received, so that cause is reported before
 * the message count it upsets. */
void
fli_audit_reqrep(struct run *r)
{
	uint32_t p = r->s->properties;

	if (p & FL_SCN_PROP_CHUNKS_BALANCED)
		audit_chunks(r);
	if (p & FL_SCN_PROP_PORTS_ZERO)
		audit_ports(r);
	if (p & FL_SCN_PROP_NO_LATE_COMPLETIONS)
		audit_late_completions(r);
	if (p & FL_SCN_PROP_MESSAGES_FREED_ONCE)
		audit_messages(r);
}

/* What must hold after any step: no message freed twice, no aio freed
 * with its operation pending or completed after its context closed.
 * (Chunks and ports are not checked per step: the driver may still be
 * reclaiming them.) */
void
fli_audit_reqrep_step(struct actor_run *ar, const char *step, bool closed)
{
	struct run *r = ar->run;
	uint32_t p = r->s->properties;

	(void)closed;
	if (p & FL_SCN_PROP_MESSAGES_FREED_ONCE) {
		struct fl_aio_debug d;

		fli_audit_aio_counts(r, &d);
		if (d.msg_double_frees > 0)
			fli_run_fail(r, "messages_freed_once",
			             "after %s of actor %s: %llu message(s) freed twice", step,
			             ar->a->name, (unsigned long long)d.msg_double_frees);
	}
	if (p & FL_SCN_PROP_NO_LATE_COMPLETIONS) {
		struct fl_aio_debug d;

		fli_audit_aio_counts(r, &d);
		if (d.aio_free_pending > 0)
			fli_run_fail(r, "no_late_completions",
			             "after %s of actor %s: %llu aio(s) freed while their "
			             "operation was pending",
			             step, ar->a->name, (unsigned long long)d.aio_free_pending);
		else if (d.aio_late_completions > 0)
			fli_run_fail(r, "no_late_completions",
			             "after %s of actor %s: %llu aio completion(s) after their "
			             "context closed",
			             step, ar->a->name, (unsigned long long)d.aio_late_completions);
	}
}
