/*
 * The pub/sub domain's audit: image_refs (the references each actor's
 * operations took and its client still holds, at the end and with
 * --check-each-step after every step), no_pending_registrations (at each
 * actor's close) and gauges_zero, against the driver's gauges.
 */
#include <stdlib.h>

#include "faultline/client.h"
#include "faultline/error.h"
#include "faultline/stats.h"

#include "run/run_internal.h"

/* The driver's gauges, read for a check of the pub/sub audit (what: the
 * property that needs them), or NULL when the check cannot be made.  A
 * run whose driver did not start has none to read (that run failed, or
 * an injected fault stopped the start).  cnc.dat's header written by a
 * stray hand (FL_EPROTO) is no_corruption's to judge at the end, once the
 * driver put it back.  Any other failure fails the run (but one under
 * libc faults: said in the story): a check that cannot be made must not
 * pass for one that held. */
static struct fl_stats *
read_gauges(struct run *r, const char *what)
{
	struct fl_stats *st;
	int rc;

	if (r->driver == NULL)
		return NULL;
	st = malloc(sizeof(*st));
	if (st == NULL) {
		fli_run_fail(r, "harness", "%s: out of memory", what);
		return NULL;
	}
	rc = fl_stats_read(r->ns, st);
	/* A test's (cli_test.py case harness_failure): the read fails. */
	if (rc == 0 && getenv("FLI_TEST_GAUGES_UNREADABLE") != NULL)
		rc = FL_EIO;
	if (rc == 0)
		return st;
	free(st);
	if (rc == FL_EPROTO)
		return NULL;
	/* Under libc faults (libfiu's POSIX preload) the read's own open and
	 * malloc in an actor's process are calls the rules count: a fault
	 * there is the rule's, not the harness's. */
	if (fl_scenario_libc_faults(r->s)) {
		fli_run_story(r,
		              "%s: the driver's gauges of %s could not be read under libc "
		              "faults (%s): not judged there",
		              what, r->ns, fl_errname(rc));
		return NULL;
	}
	fli_run_fail(r, "harness", "%s: the driver's gauges of %s cannot be read: %s", what, r->ns,
	             fl_errname(rc));
	return NULL;
}

void
fli_audit_pubsub(struct run *r)
{
	uint32_t p = r->s->properties;
	struct fl_stats *st;

	if (!r->pubsub)
		return;
	if (p & FL_SCN_PROP_IMAGE_REFS) {
		for (size_t i = 0; i < r->s->actor_count; i++) {
			struct actor_run *ar = &r->actors[i];
			if (ar->image_refs != 0 && !ar->crashed) {
				fli_run_fail(r, "image_refs",
				             "actor %s holds %d image reference(s) to session %d "
				             "after close, "
				             "taken by take_image (line %d), never released",
				             ar->a->name, ar->image_refs, ar->last_image_session,
				             ar->last_image_line);
				return;
			}
		}
	}
	if (!(p & (FL_SCN_PROP_IMAGE_REFS | FL_SCN_PROP_GAUGES_ZERO)) ||
	    (st = read_gauges(r, "the audit of image_refs and gauges_zero")) == NULL)
		return;
	/* References a client still held when it closed, counted by the
	 * client itself: those a helper took behind the actor's back too. */
	for (size_t i = 0; (p & FL_SCN_PROP_IMAGE_REFS) && i < r->s->actor_count && !r->failed;
	     i++) {
		struct actor_run *ar = &r->actors[i];
		for (int c = 0; !ar->crashed && c < st->client_count; c++) {
			const struct fl_client_stats *cs = &st->clients[c];
			bool mine = false;
			for (uint32_t k = 0; k < ar->nclient_ids && k < RUN_MAX_CLIENT_IDS; k++)
				mine = mine || ar->client_ids[k] == cs->client_id;
			if (!mine || cs->refs_leaked == 0 || cs->state != FL_CLIENT_CLOSED)
				continue;
			fli_run_fail(r, "image_refs",
			             "actor %s's client %llu closed holding %lld image "
			             "reference(s) (session %d), "
			             "taken by %s (line %d), never released",
			             ar->a->name, (unsigned long long)cs->client_id,
			             (long long)cs->refs_leaked, ar->last_image_session,
			             ar->last_image_lookup ? "lookup_image's helper" : "take_image",
			             ar->last_image_line);
			break;
		}
	}
	if ((p & FL_SCN_PROP_GAUGES_ZERO) &&
	    (st->publications || st->subscriptions || st->images || st->log_files ||
	     st->log_files_mapped || st->active_clients || st->image_refs_held))
		fli_run_fail(r, "gauges_zero",
		             "after every actor closed: %lld clients, %lld publications, %lld "
		             "subscriptions, "
		             "%lld images, %lld log files (%lld mapped), %lld image refs",
		             (long long)st->active_clients, (long long)st->publications,
		             (long long)st->subscriptions, (long long)st->images,
		             (long long)st->log_files, (long long)st->log_files_mapped,
		             (long long)st->image_refs_held);
	free(st);
}

void
fli_audit_pubsub_step(struct actor_run *ar, const char *step, bool closed)
{
	struct run *r = ar->run;
	struct fl_stats *st;
	uint64_t id;

	if (!r->pubsub || !(r->s->properties & FL_SCN_PROP_IMAGE_REFS) || ar->crashed)
		return;
	if (closed && ar->image_refs != 0) {
		fli_run_fail(r, "image_refs",
		             "after %s of actor %s: it holds %d image reference(s) to session %d, "
		             "taken by "
		             "take_image (line %d), never released",
		             step, ar->a->name, ar->image_refs, ar->last_image_session,
		             ar->last_image_line);
		return;
	}
	if (ar->client == NULL)
		return;
	/* The client counts every reference a lookup took and a release
	 * dropped; the actor counts the ones its operations took.  A helper
	 * that takes one behind the actor's back shows as the difference. */
	id = fl_client_id(ar->client);
	if ((st = read_gauges(r, "image_refs after a step")) == NULL)
		return;
	for (int i = 0; i < st->client_count; i++) {
		const struct fl_client_stats *c = &st->clients[i];
		if (c->client_id != id || c->image_refs_held == ar->image_refs)
			continue;
		fli_run_fail(r, "image_refs",
		             "after %s of actor %s: its client holds %lld image reference(s), the "
		             "actor took %d "
		             "(session %d; the last taken by %s, line %d)",
		             step, ar->a->name, (long long)c->image_refs_held, ar->image_refs,
		             ar->last_image_session,
		             ar->last_image_lookup ? "lookup_image's helper" : "take_image",
		             ar->last_image_line);
		break;
	}
	free(st);
}

/* no_pending_registrations at an actor's close, before its client's close
 * cancels what is left: an add its code started and neither collected
 * nor cancelled (fl_client_outstanding_adds) is a registration the
 * driver holds, or will, for nobody.  (It was judged after every actor
 * closed, from the driver's sum over its active clients: 0 by
 * construction, since each close cancels its own; no plant could fail
 * it, and the mutant that tolerated one survived.) */
void
fli_audit_pubsub_close(struct actor_run *ar)
{
	struct run *r = ar->run;
	struct fl_client_add_info a;
	int n;

	if (!(r->s->properties & FL_SCN_PROP_NO_PENDING_REGISTRATIONS) || ar->client == NULL ||
	    ar->crashed)
		return;
	n = fl_client_outstanding_adds(ar->client, &a, 1);
	if (n > 0)
		fli_run_fail(r, "no_pending_registrations",
		             "actor %s: its client holds %d add(s) nobody collected or cancelled "
		             "when it closes: the first, of a %s on %s stream %d (registration "
		             "%lld), %s",
		             ar->a->name, n, a.publication ? "publication" : "subscription",
		             a.channel, a.stream_id, (long long)a.reg_id,
		             a.answered ? "answered by the driver" : "still in flight");
}
