/*
 * faultline merge: the JSON reports of the shards of one batch (`run
 * --shard I/N`, one CI job each) made into one report, JSON and JUnit, as
 * one unsharded run would have written it, with the same exit rules.
 *
 * Every input is read whole and checked before anything is written: a
 * report that does not parse (a shard killed mid-batch), whose summary
 * disagrees with its runs, or that holds a run another input holds too
 * (overlapping shards, one file given twice: a run counted twice) stops
 * the merge with exit 2 and nothing written.
 *
 * So does a batch with runs missing, which would read as a smaller green
 * one: a scenario skipped in some shards and not in others (a shard skips
 * what its machine cannot run, and a skipped scenario takes no place in
 * its split: that shard made none of the scenario's runs and split the
 * later scenarios' runs otherwise), and, when the reports list the
 * batch's scenarios with their runs (batch.scenarios), a run of the plan
 * in no report, or in the report of a shard the plan does not give it
 * to, unless that shard says its time budget stopped it first.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/faults.h"
#include "faultline/platform.h"
#include "faultline/report.h"

#include "cli.h"
#include "core/grow.h"
#include "run/json_read.h"

static const char usage_merge[] =
        "usage: faultline merge REPORT.json... [--json OUT] [--junit OUT] [--quiet]\n"
        "Merges the JSON reports of the shards of one batch (run --shard I/N, the same\n"
        "seed) into one: its runs, its totals, the scenarios skipped, rules_never_fired\n"
        "(a rule never fired only if it fired in no shard that ran its scenario; the runs\n"
        "are summed), and \"interrupted\" when any shard was.  Prints the failures and\n"
        "the summary; --json and --junit write the merged report (- for stdout).\n"
        "Exit status as `run`'s: 0 every run passed or is known (a shard's --baseline\n"
        "knew it), 1 some run did not pass, 2 a run not run, no run at all, an interrupted\n"
        "shard, or inputs that cannot be merged: not one whole batch (another seed or\n"
        "split, a shard twice or missing, a scenario skipped in some shards only, a run\n"
        "of the plan in no shard's report unless its time budget stopped it), one that\n"
        "does not parse or whose summary disagrees with its runs, or a run that is in\n"
        "two inputs (overlapping shards); then nothing is written.\n";

/* One run of an input, and where it came from. */
struct merged_run {
	struct fl_run_result res;
	size_t file; /* index of the input */
	size_t pos;  /* its place in that input's runs */
};

struct never {
	char scenario[128], point[128];
	int64_t rule, line;
	uint64_t runs;
	size_t shards; /* inputs that list it */
};

struct merge {
	struct merged_run *runs;
	size_t nruns, cap;
	struct never *never; /* rules_never_fired entries, one per (scenario, rule) */
	size_t nnever;
	struct skip {
		char scenario[128], why[512];
		size_t file; /* the input that says it */
	} * skips;           /* skipped scenarios, one per (input, scenario) */
	size_t nskips;
	const char *interrupted; /* the first interrupted input, or NULL */
	uint64_t seed, shards;   /* the batch of the first input */
	char plan[32];           /* ... and its plan */
	const char **shard_path; /* per shard: the input that holds it, NULL: none yet */
	const char *const *path; /* per input: its path */
	uint64_t *shard_of;      /* per input: its shard (1-based) */
	bool *intr_of;           /* per input: it was interrupted */
	bool have_plan;          /* the inputs list the batch's scenarios */
	struct planned {
		char scenario[128];
		uint64_t runs;   /* its runs in the whole batch */
		bool skipped;    /* in every shard (check_skips) */
		uint64_t before; /* the runs of the scenarios before it that
		                       were not skipped: where its runs start in
		                       the split */
		uint64_t made;   /* its runs in the merge */
		bool cut;        /* some shard's time budget stopped it */
	} * planned;             /* batch.scenarios, in order (the first input's) */
	size_t nplanned;
	struct cut {
		size_t file, scenario; /* the input, the index in planned */
		uint64_t made, share;
	} * cuts; /* the inputs' cut_short entries */
	size_t ncuts;
};

static const char *const verdict_names[] = { "pass", "fail", "crash", "hang", "deadlock" };

static int
bad(const char *path, const char *fmt, const char *what, size_t i)
{
	fprintf(stderr, "faultline merge: %s: runs[%zu]: ", path, i);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	return -1;
}

/* Copies JSON string v (or "" for null when null_ok) into dst[cap]:
 * returns 0, or -1 when v is neither or does not fit and !truncate (a
 * longer text is cut at a UTF-8 character boundary when truncate). */
static int
get_str(const struct fli_json *v, char *dst, size_t cap, bool null_ok, bool truncate)
{
	size_t n;

	if (v != NULL && v->type == FL_JSON_NULL && null_ok) {
		dst[0] = '\0';
		return 0;
	}
	if (v == NULL || v->type != FL_JSON_STRING)
		return -1;
	n = strlen(v->string);
	if (n >= cap) {
		if (!truncate)
			return -1;
		n = cap - 1;
		while (n > 0 && ((unsigned char)v->string[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, v->string, n);
	dst[n] = '\0';
	return 0;
}

static int
get_u64(const struct fli_json *v, uint64_t *out)
{
	if (v == NULL || v->type != FL_JSON_NUMBER || !v->is_u64)
		return -1;
	*out = v->u64;
	return 0;
}

/* One run object into a result; 0 or -1 after saying why. */
static int
read_run(const char *path, size_t i, const struct fli_json *r, struct fl_run_result *res)
{
	const struct fli_json *v;
	uint64_t u;

	memset(res, 0, sizeof(*res));
	if (r->type != FL_JSON_OBJECT)
		return bad(path, "%s", "not an object", i);
	if (get_str(fli_json_get(r, "scenario"), res->scenario, sizeof(res->scenario), false,
	            false))
		return bad(path, "%s: a string of at most 127 bytes expected", "scenario", i);
	if (get_u64(fli_json_get(r, "seed"), &res->seed) != 0)
		return bad(path, "%s: an integer in [0, 2^64-1] expected", "seed", i);
	if (get_str(fli_json_get(r, "mode"), res->mode, sizeof(res->mode), true, false) != 0 ||
	    (res->mode[0] != '\0' && strcmp(res->mode, "sim") != 0 &&
	     strcmp(res->mode, "proc") != 0 && strcmp(res->mode, "stress") != 0))
		return bad(path, "%s: sim, proc, stress or null expected", "mode", i);
	if (get_u64(fli_json_get(r, "run_index"), &res->run_index) != 0)
		return bad(path, "%s: an integer expected (a report of this faultline's `run`)",
		           "run_index", i);
	v = fli_json_get(r, "sweep_point");
	if (get_str(v, res->sweep_point, sizeof(res->sweep_point), true, false) != 0)
		return bad(path, "%s: a point name or null expected", "sweep_point", i);
	v = fli_json_get(r, "sweep_k");
	if (res->sweep_point[0] != '\0') {
		const struct fli_json *pers = fli_json_get(r, "sweep_persistent");
		if (get_u64(v, &res->sweep_k) != 0 || res->sweep_k == 0)
			return bad(path, "%s: a sweep run's hit (1 or more) expected", "sweep_k",
			           i);
		if (pers == NULL || pers->type != FL_JSON_BOOL)
			return bad(path, "%s: true or false expected for a sweep run",
			           "sweep_persistent", i);
		res->sweep_persistent = pers->boolean;
	} else if (v != NULL && v->type != FL_JSON_NULL) {
		if (get_u64(v, &u) != 0 || u != 0)
			return bad(path, "%s: null, or 0 for the sweep's counting run, expected",
			           "sweep_k", i);
		res->sweep_count = true;
	}
	v = fli_json_get(r, "verdict");
	if (v == NULL || v->type != FL_JSON_STRING)
		return bad(path, "%s: a string expected", "verdict", i);
	if (strcmp(v->string, "not_run") == 0) {
		res->not_run = true;
	} else {
		size_t k;
		for (k = 0; k < FL_VERDICT_COUNT && strcmp(v->string, verdict_names[k]) != 0; k++)
			;
		if (k == FL_VERDICT_COUNT)
			return bad(path, "verdict: unknown '%s'", v->string, i);
		res->verdict = (enum fl_verdict)k;
	}
	if (get_str(fli_json_get(r, "property"), res->property, sizeof(res->property), true,
	            true) ||
	    get_str(fli_json_get(r, "trace"), res->trace_path, sizeof(res->trace_path), true,
	            true) ||
	    get_str(fli_json_get(r, "detail"), res->detail, sizeof(res->detail), true, true))
		return bad(path, "%s: strings (or null) expected", "property, trace, detail", i);
	/* The JSON has no replay command: it is the one `run` gives a trace. */
	if (res->trace_path[0] != '\0')
		snprintf(res->replay_cmd, sizeof(res->replay_cmd), "faultline replay %s",
		         res->trace_path);
	v = fli_json_get(r, "trace_hash");
	if (v == NULL || v->type != FL_JSON_STRING || strlen(v->string) != 16 ||
	    strspn(v->string, "0123456789abcdef") != 16)
		return bad(path, "%s: 16 hex digits expected", "trace_hash", i);
	res->trace_hash = strtoull(v->string, NULL, 16);
	v = fli_json_get(r, "seconds");
	if (v == NULL || v->type != FL_JSON_NUMBER || !(v->number >= 0))
		return bad(path, "%s: a number >= 0 expected", "seconds", i);
	res->seconds = v->number;
	v = fli_json_get(r, "faults_fired");
	if (v == NULL || v->type != FL_JSON_OBJECT)
		return bad(path, "%s: an object expected", "faults_fired", i);
	for (size_t k = 0; k < v->count; k++) {
		size_t pt;
		const char *const *names = fl_fault_points();

		for (pt = 0; pt < FL_REPORT_MAX_POINTS && names[pt] != NULL &&
		             strcmp(names[pt], v->keys[k]) != 0;
		     pt++)
			;
		if (pt == FL_REPORT_MAX_POINTS || names[pt] == NULL)
			return bad(path,
			           "faults_fired: '%s' is not a fault point of this faultline "
			           "(`faultline list --points`)",
			           v->keys[k], i);
		if (get_u64(&v->items[k], &u) != 0 || u > UINT32_MAX)
			return bad(path, "faults_fired: %s: a count expected", v->keys[k], i);
		res->faults_fired[pt] = (uint32_t)u;
	}
	if (get_u64(fli_json_get(r, "op_errors_tolerated"), &u) != 0 || u > UINT32_MAX)
		return bad(path, "%s: a count expected", "op_errors_tolerated", i);
	res->op_errors_tolerated = (uint32_t)u;
	if (get_u64(fli_json_get(r, "op_errors_fatal"), &u) != 0 || u > UINT32_MAX)
		return bad(path, "%s: a count expected", "op_errors_fatal", i);
	res->op_errors_fatal = (uint32_t)u;
	/* The shard's baseline knew the failure: the merge has no baseline
	 * to judge it again, and without this a green batch turns red. */
	v = fli_json_get(r, "known");
	if (v != NULL && v->type != FL_JSON_BOOL)
		return bad(path, "%s: true or false expected", "known", i);
	res->known = v != NULL && v->boolean;
	if (res->known && (res->not_run || res->verdict == FL_VERDICT_PASS || res->sweep_count))
		return bad(path, "%s: true only for a failure (not a sweep's counting run)",
		           "known", i);
	return 0;
}

/* batch.scenarios of input `file` (sc; NULL: it has none): the plan in
 * the clear, the same in every input, and the scenarios its time budget
 * cut short.  0, or -1 after saying why. */
static int
read_plan(struct merge *m, size_t file, const struct fli_json *sc)
{
	const char *path = m->path[file];
	bool has = sc != NULL;

	if (file == 0) {
		m->have_plan = has;
	} else if (has != m->have_plan) {
		fprintf(stderr,
		        "faultline merge: %s %s the batch's scenarios (batch.scenarios) and %s "
		        "%s: reports of different faultline builds, not one batch\n",
		        path, has ? "lists" : "does not list", m->path[0],
		        has ? "does not" : "does");
		return -1;
	}
	if (!has)
		return 0;
	if (sc->type != FL_JSON_ARRAY || (file > 0 && sc->count != m->nplanned)) {
		fprintf(stderr, "faultline merge: %s: batch.scenarios: %s\n", path,
		        sc->type != FL_JSON_ARRAY ? "an array expected"
		                                  : "not the first input's list: not one batch");
		return -1;
	}
	if (file == 0 &&
	    (m->planned = calloc(sc->count ? sc->count : 1, sizeof(*m->planned))) == NULL) {
		fprintf(stderr, "faultline merge: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < sc->count; i++) {
		const struct fli_json *e = &sc->items[i], *cut = fli_json_get(e, "cut_short");
		struct planned pl = { 0 };
		struct cut c = { .file = file, .scenario = i };

		if (get_str(fli_json_get(e, "scenario"), pl.scenario, sizeof(pl.scenario), false,
		            false) ||
		    get_u64(fli_json_get(e, "runs"), &pl.runs) != 0 ||
		    (cut != NULL && cut->type != FL_JSON_NULL &&
		     (get_u64(fli_json_get(cut, "made"), &c.made) != 0 ||
		      get_u64(fli_json_get(cut, "share"), &c.share) != 0 || c.made >= c.share))) {
			fprintf(stderr,
			        "faultline merge: %s: batch.scenarios[%zu]: scenario, runs and "
			        "cut_short (null, or made less than share) expected\n",
			        path, i);
			return -1;
		}
		if (file == 0) {
			m->planned[m->nplanned++] = pl;
		} else if (strcmp(pl.scenario, m->planned[i].scenario) != 0 ||
		           pl.runs != m->planned[i].runs) {
			fprintf(stderr,
			        "faultline merge: %s runs another plan than %s "
			        "(batch.scenarios[%zu] is %s with %" PRIu64
			        " runs, not %s with %" PRIu64 "): not one batch\n",
			        path, m->path[0], i, pl.scenario, pl.runs, m->planned[i].scenario,
			        m->planned[i].runs);
			return -1;
		}
		if (cut == NULL || cut->type == FL_JSON_NULL)
			continue;
		struct cut *v = realloc(m->cuts, (m->ncuts + 1) * sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "faultline merge: out of memory\n");
			return -1;
		}
		m->cuts = v;
		m->cuts[m->ncuts++] = c;
	}
	return 0;
}

/* The input's place in its batch ("batch": its --seed, the plan of what
 * it runs, shard I of N): every input of one batch, each shard once.  0,
 * or -1 after saying why. */
static int
read_batch(struct merge *m, size_t file, const struct fli_json *b)
{
	const char *path = m->path[file];
	uint64_t seed, shard, shards;
	char plan[32];

	if (b == NULL || b->type != FL_JSON_OBJECT || get_u64(fli_json_get(b, "seed"), &seed) ||
	    get_str(fli_json_get(b, "plan"), plan, sizeof(plan), false, false) ||
	    get_u64(fli_json_get(b, "shard"), &shard) ||
	    get_u64(fli_json_get(b, "shards"), &shards) || shards == 0 || shards > 1000000 ||
	    shard == 0 || shard > shards) {
		fprintf(stderr,
		        "faultline merge: %s: no batch (seed, plan, shard and shards expected, "
		        "the shard in 1..shards, at most 1000000 shards)\n",
		        path);
		return -1;
	}
	if (m->shard_path != NULL && seed == m->seed && shards == m->shards &&
	    strcmp(plan, m->plan) != 0) {
		fprintf(stderr,
		        "faultline merge: %s runs another plan than %s (plan %s, not %s: another "
		        "list of scenarios, or another --runs, --mode or sweep): not one batch\n",
		        path, m->shard_path[0] != NULL ? m->shard_path[0] : "the first input", plan,
		        m->plan);
		return -1;
	}
	if (m->shard_path == NULL) {
		if ((m->shard_path = calloc(shards, sizeof(*m->shard_path))) == NULL) {
			fprintf(stderr, "faultline merge: out of memory\n");
			return -1;
		}
		m->seed = seed;
		m->shards = shards;
		snprintf(m->plan, sizeof(m->plan), "%s", plan);
	} else if (seed != m->seed || shards != m->shards) {
		fprintf(stderr,
		        "faultline merge: %s is shard %" PRIu64 "/%" PRIu64 " of seed %" PRIu64
		        ", the first input of seed %" PRIu64 " in %" PRIu64
		        " shards: not one batch (each shard must run with one --seed and one "
		        "--shard I/N)\n",
		        path, shard, shards, seed, m->seed, m->shards);
		return -1;
	}
	if (m->shard_path[shard - 1] != NULL) {
		fprintf(stderr,
		        "faultline merge: %s and %s are both shard %" PRIu64 "/%" PRIu64
		        ": each shard once\n",
		        m->shard_path[shard - 1], path, shard, shards);
		return -1;
	}
	m->shard_path[shard - 1] = path;
	m->shard_of[file] = shard;
	return read_plan(m, file, fli_json_get(b, "scenarios"));
}

/* Reads one input into m; 0, or -1 after saying why. */
static int
read_input(struct merge *m, size_t file, char ***ran, size_t *nran)
{
	const char *path = m->path[file];
	static const char *const summary_keys[] = { "passed", "failed", "crashed", "hung",
		                                    "deadlocked" };
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");
	struct fli_json *doc = NULL;
	const struct fli_json *runs, *summary, *never, *skips, *intr;
	uint64_t counts[FL_VERDICT_COUNT + 1] = { 0 }, want, known = 0;
	int rc = -1;

	*ran = NULL;
	*nran = 0;
	if (f == NULL) {
		fprintf(stderr, "faultline merge: %s: %s\n", path, strerror(errno));
		return -1;
	}
	FILE *mem = open_memstream(&text, &len);
	char buf[65536];
	size_t n;
	while (mem != NULL && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	bool rerr = ferror(f);
	fclose(f);
	if (mem == NULL || fclose(mem) != 0 || rerr) {
		fprintf(stderr, "faultline merge: %s: cannot be read\n", path);
		free(text);
		return -1;
	}
	if (fli_json_parse(text, len, &doc, err, sizeof(err)) != 0) {
		fprintf(stderr,
		        "faultline merge: %s: not a JSON report (%s): a shard that did not "
		        "finish (killed?) leaves one that does not parse\n",
		        path, err[0] ? err : "out of memory");
		goto out;
	}
	runs = fli_json_get(doc, "runs");
	summary = fli_json_get(doc, "summary");
	never = fli_json_get(doc, "rules_never_fired");
	skips = fli_json_get(doc, "skipped");
	intr = fli_json_get(doc, "interrupted");
	if (runs == NULL || runs->type != FL_JSON_ARRAY || summary == NULL ||
	    summary->type != FL_JSON_OBJECT || never == NULL || never->type != FL_JSON_ARRAY ||
	    skips == NULL || skips->type != FL_JSON_ARRAY || intr == NULL ||
	    intr->type != FL_JSON_BOOL) {
		fprintf(stderr,
		        "faultline merge: %s: not a faultline run report (runs, "
		        "rules_never_fired, skipped, interrupted and summary expected)\n",
		        path);
		goto out;
	}
	/* Kept per input: check_skips compares them, and the merge says
	 * each once. */
	for (size_t i = 0; i < skips->count; i++) {
		struct skip sk = { .file = file };
		size_t k;

		if (get_str(fli_json_get(&skips->items[i], "scenario"), sk.scenario,
		            sizeof(sk.scenario), false, true) ||
		    get_str(fli_json_get(&skips->items[i], "why"), sk.why, sizeof(sk.why), false,
		            true)) {
			fprintf(stderr,
			        "faultline merge: %s: skipped[%zu]: scenario and why expected\n",
			        path, i);
			goto out;
		}
		for (k = 0; k < m->nskips && (m->skips[k].file != file ||
		                              strcmp(m->skips[k].scenario, sk.scenario) != 0);
		     k++)
			;
		if (k < m->nskips)
			continue;
		struct skip *v = realloc(m->skips, (m->nskips + 1) * sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "faultline merge: out of memory\n");
			goto out;
		}
		m->skips = v;
		m->skips[m->nskips++] = sk;
	}
	if (intr->boolean && m->interrupted == NULL)
		m->interrupted = path;
	m->intr_of[file] = intr->boolean;
	if (read_batch(m, file, fli_json_get(doc, "batch")) != 0)
		goto out;
	for (size_t i = 0; i < runs->count; i++) {
		struct merged_run *grown =
		        fli_grow(m->runs, &m->cap, m->nruns + 1, sizeof *grown, 256);
		struct merged_run *mr;

		if (grown == NULL) {
			fprintf(stderr, "faultline merge: out of memory\n");
			goto out;
		}
		m->runs = grown;
		mr = &m->runs[m->nruns];
		if (read_run(path, i, &runs->items[i], &mr->res) != 0)
			goto out;
		mr->file = file;
		mr->pos = i;
		m->nruns++;
		counts[mr->res.not_run ? FL_VERDICT_COUNT : (size_t)mr->res.verdict]++;
		known += mr->res.known;
		if (!mr->res.not_run) {
			bool seen = false;
			for (size_t k = 0; k < *nran && !seen; k++)
				seen = strcmp((*ran)[k], mr->res.scenario) == 0;
			if (!seen) {
				char **v = realloc(*ran, (*nran + 1) * sizeof(*v));
				if (v == NULL || (v[*nran] = strdup(mr->res.scenario)) == NULL) {
					if (v != NULL)
						*ran = v;
					fprintf(stderr, "faultline merge: out of memory\n");
					goto out;
				}
				*ran = v;
				(*nran)++;
			}
		}
	}
	/* The summary must be what the runs say: a report cut short or edited
	 * by hand is not merged. */
	if (get_u64(fli_json_get(summary, "runs"), &want) != 0 || want != runs->count) {
		fprintf(stderr,
		        "faultline merge: %s: the summary's runs is not the %zu runs listed\n",
		        path, runs->count);
		goto out;
	}
	for (size_t k = 0; k <= FL_VERDICT_COUNT; k++) {
		const char *key = k < FL_VERDICT_COUNT ? summary_keys[k] : "not_run";
		if (get_u64(fli_json_get(summary, key), &want) != 0 || want != counts[k]) {
			fprintf(stderr,
			        "faultline merge: %s: summary.%s is not the %" PRIu64
			        " runs listed "
			        "so\n",
			        path, key, counts[k]);
			goto out;
		}
	}
	/* A report without it (a hand-made one) knows none. */
	if (fli_json_get(summary, "known") != NULL &&
	    (get_u64(fli_json_get(summary, "known"), &want) != 0 || want != known)) {
		fprintf(stderr,
		        "faultline merge: %s: summary.known is not the %" PRIu64
		        " runs listed known\n",
		        path, known);
		goto out;
	}
	for (size_t i = 0; i < never->count; i++) {
		const struct fli_json *e = &never->items[i], *rv = fli_json_get(e, "rule"),
		                      *lv = fli_json_get(e, "line");
		struct never nv = { .shards = 1 };
		size_t k;

		if (get_str(fli_json_get(e, "scenario"), nv.scenario, sizeof(nv.scenario), false,
		            false) ||
		    get_str(fli_json_get(e, "point"), nv.point, sizeof(nv.point), false, true) ||
		    rv == NULL || rv->type != FL_JSON_NUMBER || lv == NULL ||
		    lv->type != FL_JSON_NUMBER || get_u64(fli_json_get(e, "runs"), &nv.runs) != 0) {
			fprintf(stderr,
			        "faultline merge: %s: rules_never_fired[%zu]: scenario, rule, "
			        "line, "
			        "point and runs expected\n",
			        path, i);
			goto out;
		}
		nv.rule = (int64_t)rv->number;
		nv.line = (int64_t)lv->number;
		for (k = 0; k < m->nnever; k++)
			if (strcmp(m->never[k].scenario, nv.scenario) == 0 &&
			    m->never[k].rule == nv.rule)
				break;
		if (k < m->nnever) {
			m->never[k].runs += nv.runs;
			m->never[k].shards++;
			continue;
		}
		struct never *v = realloc(m->never, (m->nnever + 1) * sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "faultline merge: out of memory\n");
			goto out;
		}
		m->never = v;
		m->never[m->nnever++] = nv;
	}
	rc = 0;
out:
	fli_json_free(doc);
	free(text);
	return rc;
}

/* The runs in key order: scenario, mode, seed, then the sweep fault. */
static int
key_cmp(const void *a, const void *b)
{
	const struct fl_run_result *x = &((const struct merged_run *)a)->res,
	                           *y = &((const struct merged_run *)b)->res;
	int c = strcmp(x->scenario, y->scenario);

	if (c == 0)
		c = strcmp(x->mode, y->mode);
	if (c == 0 && x->seed != y->seed)
		c = x->seed < y->seed ? -1 : 1;
	if (c == 0)
		c = (int)x->sweep_count - (int)y->sweep_count;
	if (c == 0)
		c = strcmp(x->sweep_point, y->sweep_point);
	if (c == 0 && x->sweep_k != y->sweep_k)
		c = x->sweep_k < y->sweep_k ? -1 : 1;
	if (c == 0)
		c = (int)x->sweep_persistent - (int)y->sweep_persistent;
	return c;
}

/* Input order, as the runs were read. */
static int
pos_cmp(const void *a, const void *b)
{
	const struct merged_run *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* A scenario skipped in one shard is skipped in every one.  A shard
 * skips what its machine cannot run (libfiu's preload missing, ...) and
 * leaves the scenario out of its split: its share of the scenario's runs
 * is made by no shard, and the later scenarios' runs are split otherwise
 * than in the shards that ran it.  0, or -1 after naming the scenario and
 * both inputs. */
static int
check_skips(const struct merge *m, size_t nfiles)
{
	for (size_t k = 0; k < m->nskips; k++) {
		const struct skip *sk = &m->skips[k];

		for (size_t f = 0; f < nfiles; f++) {
			size_t j;
			bool ran = false;

			for (j = 0;
			     j < m->nskips && (m->skips[j].file != f ||
			                       strcmp(m->skips[j].scenario, sk->scenario) != 0);
			     j++)
				;
			if (j < m->nskips)
				continue;
			for (size_t i = 0; i < m->nruns && !ran; i++)
				ran = m->runs[i].file == f &&
				      strcmp(m->runs[i].res.scenario, sk->scenario) == 0;
			/* An interrupted shard stopped before the scenarios it
			 * never reached, skipped ones too: not a disagreement
			 * (the merge is interrupted, exit 2, and says so). */
			if (!ran && m->intr_of[f])
				continue;
			fprintf(stderr,
			        "faultline merge: %s was skipped in %s (%s) but %s in %s: "
			        "the shards ran on different machines?  A shard that skips a "
			        "scenario makes none of its runs and splits the later "
			        "scenarios' runs without it, so these shards are not one "
			        "whole batch; give every shard what the scenario needs (or "
			        "run it in none)\n",
			        sk->scenario, m->path[sk->file], sk->why,
			        ran ? "run" : "not skipped", m->path[f]);
			return -1;
		}
	}
	return 0;
}

/* The plan's index of `scenario`, looked up from *hint on (runs of one
 * scenario come together), or -1. */
static ptrdiff_t
planned_index(const struct merge *m, const char *scenario, size_t *hint)
{
	for (size_t n = 0; n < m->nplanned; n++) {
		size_t i = (*hint + n) % m->nplanned;

		if (strcmp(m->planned[i].scenario, scenario) == 0) {
			*hint = i;
			return (ptrdiff_t)i;
		}
	}
	return -1;
}

/* Every run of the plan (batch.scenarios) is in the report of the shard
 * the split gives it to, as `run --shard` splits it: the batch's runs,
 * its skipped scenarios left out, numbered in order, run g to shard
 * g mod N.  A shard's share may fall short only when that shard was
 * interrupted, or says its time budget cut it (cut_short).  Sweep runs
 * are not checked: each shard's counting run decides its own.  Runs in
 * input order.  0, or -1 after naming the first run out of place or
 * missing. */
static int
check_plan(struct merge *m, size_t nfiles)
{
	uint64_t before = 0, *count = NULL;
	size_t hint = 0, i = 0;
	int rc = -1;

	if (!m->have_plan)
		return 0;
	for (size_t k = 0; k < m->nskips; k++) {
		ptrdiff_t p = planned_index(m, m->skips[k].scenario, &hint);
		if (p < 0) {
			fprintf(stderr,
			        "faultline merge: %s: skipped %s is not among its batch's "
			        "scenarios\n",
			        m->path[m->skips[k].file], m->skips[k].scenario);
			return -1;
		}
		m->planned[p].skipped = true;
	}
	for (size_t p = 0; p < m->nplanned; p++) {
		m->planned[p].before = before;
		if (!m->planned[p].skipped)
			before += m->planned[p].runs;
	}
	if ((count = calloc(m->nplanned ? m->nplanned : 1, sizeof(*count))) == NULL) {
		fprintf(stderr, "faultline merge: out of memory\n");
		return -1;
	}
	for (size_t f = 0; f < nfiles; f++) {
		uint64_t sh = m->shard_of[f] - 1;

		memset(count, 0, m->nplanned * sizeof(*count));
		for (; i < m->nruns && m->runs[i].file == f; i++) {
			const struct fl_run_result *r = &m->runs[i].res;
			ptrdiff_t p = planned_index(m, r->scenario, &hint);
			const struct planned *pl = &m->planned[p < 0 ? 0 : p];

			if (p < 0 || pl->skipped) {
				fprintf(stderr, "faultline merge: %s: runs[%zu]: %s is %s\n",
				        m->path[f], m->runs[i].pos, r->scenario,
				        p < 0 ? "not among its batch's scenarios"
				              : "a scenario every shard skipped");
				goto out;
			}
			if (r->sweep_point[0] != '\0' || r->sweep_count)
				continue;
			if (r->run_index >= pl->runs) {
				fprintf(stderr,
				        "faultline merge: %s: runs[%zu]: run_index %" PRIu64
				        " of %s, which has %" PRIu64 " runs in the batch\n",
				        m->path[f], m->runs[i].pos, r->run_index, r->scenario,
				        pl->runs);
				goto out;
			}
			uint64_t owner =
			        (pl->before % m->shards + r->run_index % m->shards) % m->shards;
			if (owner != sh) {
				fprintf(stderr,
				        "faultline merge: %s holds run %s seed=%" PRIu64
				        " (run_index %" PRIu64 "), which the batch's split "
				        "gives to shard %" PRIu64 "/%" PRIu64 ", not to its "
				        "shard %" PRIu64 "/%" PRIu64 ": the shards split the "
				        "batch differently (faultline builds that split "
				        "otherwise?)\n",
				        m->path[f], r->scenario, r->seed, r->run_index, owner + 1,
				        m->shards, sh + 1, m->shards);
				goto out;
			}
			count[p]++;
		}
		for (size_t p = 0; p < m->nplanned; p++) {
			struct planned *pl = &m->planned[p];
			uint64_t off = pl->before % m->shards;
			uint64_t first = sh >= off ? sh - off : sh + (m->shards - off);
			uint64_t share =
			        first < pl->runs ? 1 + (pl->runs - 1 - first) / m->shards : 0;
			const struct cut *c = NULL;

			if (pl->skipped)
				continue;
			pl->made += count[p];
			for (size_t k = 0; k < m->ncuts && c == NULL; k++)
				if (m->cuts[k].file == f && m->cuts[k].scenario == p)
					c = &m->cuts[k];
			if (c != NULL && (c->made != count[p] || c->share != share)) {
				fprintf(stderr,
				        "faultline merge: %s: %s's cut_short says %" PRIu64
				        " of %" PRIu64 " runs made; it holds %" PRIu64
				        " of the shard's %" PRIu64 "\n",
				        m->path[f], pl->scenario, c->made, c->share, count[p],
				        share);
				goto out;
			}
			pl->cut |= c != NULL;
			if (count[p] == share || c != NULL || m->intr_of[f])
				continue;
			if (count[p] > share) { /* only a report edited by hand */
				fprintf(stderr,
				        "faultline merge: %s holds %" PRIu64 " runs of %s, more "
				        "than the %" PRIu64 " of its shard\n",
				        m->path[f], count[p], pl->scenario, share);
				goto out;
			}
			/* Name the first run missing: the shard's runs of it are
			 * first, first + N, ...; those it holds are all its own. */
			bool *held = calloc(share, sizeof(*held));
			uint64_t miss = 0;
			if (held == NULL) {
				fprintf(stderr, "faultline merge: out of memory\n");
				goto out;
			}
			for (size_t j = 0; j < m->nruns; j++) {
				const struct fl_run_result *r = &m->runs[j].res;
				if (m->runs[j].file == f && !r->sweep_count &&
				    r->sweep_point[0] == '\0' &&
				    strcmp(r->scenario, pl->scenario) == 0)
					held[(r->run_index - first) / m->shards] = true;
			}
			while (miss < share - 1 && held[miss])
				miss++;
			free(held);
			miss = first + miss * m->shards;
			fprintf(stderr,
			        "faultline merge: run %s seed=%" PRIu64 " (run_index %" PRIu64
			        ") of the batch is missing: the batch's split gives it to shard "
			        "%" PRIu64 "/%" PRIu64 ", whose report %s holds %" PRIu64
			        " of its %" PRIu64 " runs of %s and says no time budget stopped "
			        "them; the merge would read as a smaller green batch\n",
			        pl->scenario, m->seed + miss, miss, sh + 1, m->shards, m->path[f],
			        count[p], share, pl->scenario);
			goto out;
		}
	}
	rc = 0;
out:
	free(count);
	return rc;
}

int
cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", required_argument, 0, 'O' },
		{ "junit", required_argument, 0, 'J' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *json = NULL, *junit = NULL;
	struct merge m = { 0 };
	struct fl_report *rep = NULL;
	char err[512];
	int c, status = FL_CLI_EXIT_USAGE;
	size_t nfiles;
	char ***ran = NULL; /* per input: the scenarios it executed a run of */
	size_t *nran = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'O': json = optarg; break;
		case 'J': junit = optarg; break;
		case 'q': break; /* no progress line to silence; accepted as run takes it */
		case 'h': fputs(usage_merge, stdout); return 0;
		default: fputs(usage_merge, stderr); return FL_CLI_EXIT_USAGE;
		}
	}
	nfiles = (size_t)(argc - optind);
	if (nfiles == 0) {
		fprintf(stderr, "faultline merge: no report to merge\n%s", usage_merge);
		return FL_CLI_EXIT_USAGE;
	}
	if (json != NULL && junit != NULL && strcmp(json, "-") == 0 && strcmp(junit, "-") == 0) {
		fprintf(stderr,
		        "faultline merge: --json - and --junit - both take stdout: give one\n");
		return FL_CLI_EXIT_USAGE;
	}
	ran = calloc(nfiles, sizeof(*ran));
	nran = calloc(nfiles, sizeof(*nran));
	m.path = (const char *const *)argv + optind;
	m.shard_of = calloc(nfiles, sizeof(*m.shard_of));
	m.intr_of = calloc(nfiles, sizeof(*m.intr_of));
	if (ran == NULL || nran == NULL || m.shard_of == NULL || m.intr_of == NULL) {
		fprintf(stderr, "faultline merge: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++)
		if (read_input(&m, i, &ran[i], &nran[i]) != 0)
			goto out;
	/* Before the overlap check: shards that skipped differently split
	 * the batch differently, and their runs can overlap too. */
	if (check_skips(&m, nfiles) != 0)
		goto out;
	/* A run in two inputs would be counted twice: refuse, naming it.  The
	 * sweep's counting run is every shard's own. */
	if (m.nruns > 1) /* qsort of NULL is undefined even for 0 items */
		qsort(m.runs, m.nruns, sizeof(*m.runs), key_cmp);
	for (size_t i = 1; i < m.nruns; i++) {
		const struct merged_run *a = &m.runs[i - 1], *b = &m.runs[i];
		if (key_cmp(a, b) != 0 || b->res.sweep_count)
			continue;
		fprintf(stderr, "faultline merge: run %s seed=%" PRIu64 "%s%s", b->res.scenario,
		        b->res.seed, b->res.mode[0] ? " mode=" : "", b->res.mode);
		if (b->res.sweep_point[0] != '\0')
			fprintf(stderr, " sweep=%s#%" PRIu64 " %s", b->res.sweep_point,
			        b->res.sweep_k, b->res.sweep_persistent ? "persistent" : "once");
		fprintf(stderr,
		        " is in %s (runs[%zu]) and in %s (runs[%zu]): the shards overlap "
		        "(the same shard twice? different --shard N, or --seed?); each run must "
		        "be counted once\n",
		        argv[optind + a->file], a->pos, argv[optind + b->file], b->pos);
		goto out;
	}
	if (m.nruns > 1)
		qsort(m.runs, m.nruns, sizeof(*m.runs), pos_cmp);
	/* A shard left out would read as a smaller green batch. */
	for (uint64_t k = 0; k < m.shards; k++)
		if (m.shard_path[k] == NULL) {
			fprintf(stderr,
			        "faultline merge: shard %" PRIu64 "/%" PRIu64 " of seed %" PRIu64
			        " is missing: give every shard's report\n",
			        k + 1, m.shards, m.seed);
			goto out;
		}
	if (check_plan(&m, nfiles) != 0)
		goto out;

	struct fl_report_options ro = {
		.out = (json != NULL && strcmp(json, "-") == 0) ||
		                       (junit != NULL && strcmp(junit, "-") == 0)
		               ? stderr
		               : stdout,
		.json_path = json,
		.junit_path = junit,
		.point_names = fl_fault_points(),
		/* The batch whole: as the unsharded run would say it. */
		.batch_seed = m.seed,
		.batch_plan = strtoull(m.plan, NULL, 16),
		.shard = 1,
		.shards = 1,
	};
	const char **names = NULL;
	uint64_t *runs = NULL;
	if (m.have_plan) {
		names = calloc(m.nplanned ? m.nplanned : 1, sizeof(*names));
		runs = calloc(m.nplanned ? m.nplanned : 1, sizeof(*runs));
		if (names == NULL || runs == NULL) {
			free(names);
			free(runs);
			fprintf(stderr, "faultline merge: out of memory\n");
			goto out;
		}
		for (size_t p = 0; p < m.nplanned; p++) {
			names[p] = m.planned[p].scenario;
			runs[p] = m.planned[p].runs;
		}
		ro.scenarios = names;
		ro.scenario_runs = runs;
		ro.nscenarios = m.nplanned;
	}
	int new_rc = fl_report_new(&ro, &rep); /* copies the plan */
	free(names);
	free(runs);
	if (new_rc != 0) {
		fprintf(stderr, "faultline merge: out of memory\n");
		goto out;
	}
	if (fl_report_open_files(rep, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline merge: report file %s\n", err);
		goto out;
	}
	fprintf(ro.out, "faultline merge: %zu runs from %zu reports\n", m.nruns, nfiles);
	for (size_t i = 0; i < m.nruns; i++)
		if (fl_report_add(rep, &m.runs[i].res) != 0) {
			fprintf(stderr, "faultline merge: out of memory\n");
			status = FL_CLI_EXIT_USAGE;
			goto finish;
		}
	/* Every input skipped the same (check_skips): the first's, once. */
	for (size_t k = 0; k < m.nskips; k++)
		if (m.skips[k].file == 0 &&
		    fl_report_skipped(rep, m.skips[k].scenario, m.skips[k].why) != 0) {
			fprintf(stderr, "faultline merge: out of memory\n");
			status = FL_CLI_EXIT_USAGE;
			goto finish;
		}
	/* A batch some shard's time budget cut short is smaller on purpose,
	 * as the unsharded run's would be: said, not refused. */
	for (size_t k = 0; k < m.ncuts; k++)
		fprintf(ro.out,
		        "%s: the time budget stopped shard %" PRIu64 "/%" PRIu64 " after %" PRIu64
		        " of its %" PRIu64 " runs (%s)\n",
		        m.planned[m.cuts[k].scenario].scenario, m.shard_of[m.cuts[k].file],
		        m.shards, m.cuts[k].made, m.cuts[k].share, m.path[m.cuts[k].file]);
	for (size_t p = 0; p < m.nplanned; p++)
		if (m.planned[p].cut)
			fl_report_cut_short(rep, m.planned[p].scenario, m.planned[p].made,
			                    m.planned[p].runs);
	/* Never fired in the batch: in every input that ran the scenario. */
	for (size_t k = 0; k < m.nnever; k++) {
		const struct never *nv = &m.never[k];
		size_t shards = 0;
		for (size_t f = 0; f < nfiles; f++)
			for (size_t s = 0; s < nran[f]; s++)
				shards += strcmp(ran[f][s], nv->scenario) == 0;
		if (nv->shards == shards)
			fl_report_rule_never_fired(rep, nv->scenario, (int)nv->rule, nv->point,
			                           (int)nv->line, nv->runs);
	}
	if (m.interrupted != NULL) {
		char why[600];
		snprintf(why, sizeof(why), "an input report was interrupted: %s", m.interrupted);
		fl_report_set_interrupted(rep, why);
	}
	status = fl_report_exit_status(rep);
finish:
	if (fl_report_finish(rep, -1, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultline merge: %s: the merged report is incomplete\n", err);
		status = FL_CLI_EXIT_USAGE;
	}
out:
	fl_report_free(rep);
	for (size_t i = 0; ran != NULL && i < nfiles; i++) {
		for (size_t s = 0; s < nran[i]; s++)
			free(ran[i][s]);
		free(ran[i]);
	}
	free(ran);
	free(nran);
	free(m.runs);
	free(m.never);
	free(m.skips);
	free(m.shard_path);
	free(m.shard_of);
	free(m.intr_of);
	free(m.planned);
	free(m.cuts);
	return status;
}
