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
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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
        "Exit status as `run`'s: 0 every run passed, 1 some run did not pass, 2 a run not\n"
        "run, no run at all, an interrupted shard, or inputs that cannot be merged: not\n"
        "one whole batch (another seed or split, a shard twice or missing), one that does\n"
        "not parse or whose summary disagrees with its runs, or a run that is in two\n"
        "inputs (overlapping shards); then nothing is written.\n";

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
	} * skips; /* skipped scenarios, one per scenario */
	size_t nskips;
	const char *interrupted; /* the first interrupted input, or NULL */
	uint64_t seed, shards;   /* the batch of the first input */
	char plan[32];           /* ... and its plan */
	const char **shard_path; /* per shard: the input that holds it, NULL: none yet */
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
	return 0;
}

/* The input's place in its batch ("batch": its --seed, the plan of what
 * it runs, shard I of N): every input of one batch, each shard once.  0,
 * or -1 after saying why. */
static int
read_batch(struct merge *m, const char *path, const struct fli_json *b)
{
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
	return 0;
}

/* Reads one input into m; 0, or -1 after saying why. */
static int
read_input(struct merge *m, const char *path, size_t file, char ***ran, size_t *nran)
{
	static const char *const summary_keys[] = { "passed", "failed", "crashed", "hung",
		                                    "deadlocked" };
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");
	struct fli_json *doc = NULL;
	const struct fli_json *runs, *summary, *never, *skips, *intr;
	uint64_t counts[FL_VERDICT_COUNT + 1] = { 0 }, want;
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
	/* A scenario skipped in a shard is skipped in every one: said once. */
	for (size_t i = 0; i < skips->count; i++) {
		struct skip sk;
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
		for (k = 0; k < m->nskips && strcmp(m->skips[k].scenario, sk.scenario) != 0; k++)
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
	if (read_batch(m, path, fli_json_get(doc, "batch")) != 0)
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
	if (ran == NULL || nran == NULL) {
		fprintf(stderr, "faultline merge: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++)
		if (read_input(&m, argv[optind + i], i, &ran[i], &nran[i]) != 0)
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
	if (fl_report_new(&ro, &rep) != 0) {
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
	for (size_t k = 0; k < m.nskips; k++)
		if (fl_report_skipped(rep, m.skips[k].scenario, m.skips[k].why) != 0) {
			fprintf(stderr, "faultline merge: out of memory\n");
			status = FL_CLI_EXIT_USAGE;
			goto finish;
		}
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
	return status;
}
