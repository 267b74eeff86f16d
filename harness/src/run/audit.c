/*
 * The auditor: at the end of a run, every property the scenario names is
 * checked against the driver's gauges, the run directory and the process,
 * and a violation names the resource concretely ("chunks_balanced: pool
 * 128 B has 1 chunk loaned by actor client (owner 101) after close").
 * With --check-each-step, fli_audit_step checks after every operation what
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
#include <sys/stat.h>

#include "faultline/aio.h"
#include "faultline/chunk.h"
#include "faultline/error.h"
#include "faultline/reqrep.h"
#include "faultline/stats.h"

#include "run/run_internal.h"

int
fli_audit_count_fds(void)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	int n = 0;

	/* Linux 6.2 on gives the count as the directory's size: one call,
	 * where reading it took five.  0 is an older kernel's answer. */
	if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
		return (int)st.st_size;
	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own fd */
}

/* no_corruption, always checked: the driver puts back the shared words
 * only it owns (cnc.dat header, log metadata, chunk and port layouts) and
 * counts each one it found changed, and clients count the chunks they
 * refused as corrupt.  No scenario writes those words, so any count is
 * the transport's own stray write: a failure, however well repaired. */
static void
audit_corruption(struct run *r)
{
	struct fl_stats *st = calloc(1, sizeof(*st));
	int64_t reads = 0, layout = 0, rejected = 0, strays = 0;

	if (st == NULL) {
		fli_run_fail(r, "harness", "no_corruption: out of memory");
		return;
	}
	/* A run's request/response domain is the harness's own (its driver
	 * serves no extension): its layouts are checked, and put back, here,
	 * and its chunks refused as corrupt read from the pool. */
	if (r->driver_dom != NULL) {
		struct fl_rr_stats rs;

		layout += fl_rr_domain_repair(r->driver_dom);
		fl_rr_stats(r->driver_dom, &rs);
		rejected += (int64_t)rs.chunks.corrupt_rejected;
	}
	/* The pub/sub driver's counts, when the run has one (a run of
	 * request/response or a target alone has no cnc.dat). */
	if (r->driver != NULL) {
		int rc = fl_stats_read(r->ns, st);

		if (rc == FL_EPROTO) {
			/* A header the driver did not put back: written after its
			 * last pass. */
			fli_run_fail(r, "no_corruption",
			             "shared memory only the driver writes was changed: cnc.dat's "
			             "header is not valid at the end of the run");
			free(st);
			return;
		}
		if (rc != 0) {
			fli_run_fail(r, "harness",
			             "no_corruption: the driver's counts of %s cannot be read: %s",
			             r->ns, fl_errname(rc));
			free(st);
			return;
		}
		reads = st->corrupt_reads;
		if (st->driver_stalls > 0)
			fli_run_story(r,
			              "driver: %lld duty cycles came over half the client liveness "
			              "late (the machine or this process stalled): the clients' "
			              "silence then was not counted",
			              (long long)st->driver_stalls);
	}
	for (int i = 0; i < st->ext_count; i++) {
		if (strcmp(st->ext[i].name, "rr_layout_repaired") == 0)
			layout += st->ext[i].value;
		else if (strcmp(st->ext[i].name, "rr_corrupt_rejected") == 0)
			rejected += st->ext[i].value;
		else if (strcmp(st->ext[i].name, "rr_strays_reclaimed") == 0)
			strays += st->ext[i].value;
	}
	/* A stray (a port or chunk whose owner is no client) is taken back
	 * by the driver: in a run, a leak the reclaim would otherwise hide. */
	if (reads != 0 || layout != 0 || rejected != 0 || strays != 0)
		fli_run_fail(
		        r, "no_corruption",
		        "shared memory only the driver writes was changed: corrupt_reads %lld, "
		        "rr_layout_repaired %lld, rr_corrupt_rejected %lld, rr_strays_reclaimed "
		        "%lld",
		        (long long)reads, (long long)layout, (long long)rejected,
		        (long long)strays);
	free(st);
}

void
fli_audit_end_of_run(struct run *r)
{
	uint32_t p = r->s->properties;

	audit_corruption(r);
	for (int d = 0; d < FL_SCN_DOMAIN__COUNT; d++) {
		const struct fli_run_domain *dom = fli_run_domain((enum fl_scn_domain)d);

		if (dom != NULL && dom->audit != NULL)
			dom->audit(r);
	}
	fli_run_check_history(r);
	if (p & FL_SCN_PROP_NO_LEAKED_FILES)
		fli_run_dir_audit(r);
	if (p & FL_SCN_PROP_NO_NEW_FDS) {
		int now = fli_audit_count_fds();

		/* A count that failed (/proc/self/fd unreadable: no /proc, or
		 * no descriptor left to open it, which a leak causes) judges
		 * nothing. */
		if (now < 0 || r->fds_at_start < 0)
			fli_run_fail(
			        r, "harness",
			        "no_new_fds: this process's file descriptors cannot be counted "
			        "(/proc/self/fd)");
		else if (now > r->fds_at_start)
			fli_run_fail(r, "no_new_fds",
			             "%d file descriptor(s) open at the end, %d at the start", now,
			             r->fds_at_start);
		/* proc mode: each actor's own process, once its ops and its
		 * client closed (a crashed one's died with it). */
		for (size_t i = 0; r->s->mode == FL_SCN_MODE_PROC && i < r->s->actor_count; i++) {
			const struct actor_run *ar = &r->actors[i];

			if (ar->crashed || !__atomic_load_n(&ar->finished, __ATOMIC_ACQUIRE))
				continue;
			if (ar->fds_at_end < 0 || ar->fds_at_start < 0) {
				fli_run_fail(
				        r, "harness",
				        "no_new_fds: actor %s's file descriptors cannot be counted "
				        "(/proc/self/fd in its process)",
				        ar->a->name);
				break;
			}
			if (ar->fds_at_end <= ar->fds_at_start)
				continue;
			fli_run_fail(r, "no_new_fds",
			             "actor %s: %d file descriptor(s) open in its process once its "
			             "ops ended and its client closed, %d when it started",
			             ar->a->name, ar->fds_at_end, ar->fds_at_start);
			break;
		}
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
		         fl_scenario_op_label(&ar->a->ops[op]), ar->a->ops[op].line, rnd);
}

void
fli_audit_step(struct actor_run *ar, int op, uint32_t round)
{
	struct run *r = ar->run;
	char step[128];

	if (r->failed)
		return; /* the first violation is the one reported */
	step_name(ar, op, round, step, sizeof(step));
	for (int d = 0; d < FL_SCN_DOMAIN__COUNT; d++) {
		const struct fli_run_domain *dom = fli_run_domain((enum fl_scn_domain)d);

		if (dom != NULL && dom->fli_audit_step != NULL)
			dom->fli_audit_step(ar, step, op < 0);
	}
}
