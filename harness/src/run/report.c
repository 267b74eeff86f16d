/*
 * Reports: results are kept compactly (a passing run costs one small record
 * and no strings) so a sweep of 10^5 runs stays cheap, and written at the
 * end as JSON and JUnit, which need every run grouped by scenario.  Once
 * fl_report_open_files has opened the files, the JSON streams into its
 * file run by run instead, and records are kept for JUnit only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "faultline/error.h"
#include "faultline/report.h"
#include "core/clock.h"
#include "core/grow.h"
#include "run/json_read.h"

struct stored_run {
	uint32_t scenario; /* index into names */
	enum fl_verdict verdict;
	uint64_t seed;
	uint64_t trace_hash;
	double seconds;
	char *property, *detail, *trace, *replay; /* NULL when empty */
	char *html;
	char *fired;       /* JSON object of faults fired per point, NULL: none */
	char *sweep_point; /* a faulted sweep run's point, NULL: none */
	const char *mode;  /* static "sim", "proc", "stress", or NULL */
	uint64_t run_index, sweep_k;
	uint32_t op_errors_tolerated, op_errors_fatal;
	bool not_run, sweep_persistent, sweep_count;
	bool known; /* a failure the baseline knows */
};

struct never_fired {
	char *scenario, *point;
	int index, line;
	uint64_t runs;
};

struct fl_report {
	struct fl_report_options opt;
	struct stored_run *runs; /* records, when kept */
	size_t stored, run_cap;
	size_t run_count; /* every result added, not_run ones included */
	bool keep;        /* keep a record of every run */
	char **names;
	size_t name_count, name_cap;
	uint64_t by_verdict[FL_VERDICT_COUNT];
	uint64_t not_run;
	uint64_t known; /* failures the baseline knows */
	double seconds;
	bool progress_shown;    /* a \r progress line is on screen */
	bool progress_drawn;    /* drawn at least once: progress_ms is set */
	uint64_t progress_ms;   /* when the line was last drawn (monotonic) */
	char *current;          /* the scenario running now (fl_report_plan), or NULL */
	FILE *json_f, *junit_f; /* opened by fl_report_open_files */
	struct never_fired *never;
	size_t nnever;
	struct skipped {
		char *scenario, *why;
	} * skipped; /* fl_report_skipped, in order */
	size_t nskipped;
	char **sweeps; /* each sweep's JSON object (fl_report_sweep) */
	size_t nsweeps;
	struct planned {
		char *scenario;
		uint64_t runs;
		uint64_t made, share; /* fl_report_cut_short; share 0: not cut */
	} * planned;                  /* the batch's scenarios (opt.scenarios) */
	size_t nplanned;
	char *interrupted; /* why the batch stopped early, or NULL */
};

int
fl_report_new(const struct fl_report_options *opt, struct fl_report **out)
{
	struct fl_report *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return FL_ENOMEM;
	if (opt)
		r->opt = *opt;
	/* The caller's list need not outlive this call. */
	r->opt.scenarios = NULL;
	r->opt.scenario_runs = NULL;
	if (opt != NULL && opt->scenarios != NULL) {
		r->planned = calloc(opt->nscenarios ? opt->nscenarios : 1, sizeof(*r->planned));
		if (r->planned == NULL) {
			free(r);
			return FL_ENOMEM;
		}
		for (size_t i = 0; i < opt->nscenarios; i++) {
			r->planned[i].scenario = strdup(opt->scenarios[i]);
			r->planned[i].runs = opt->scenario_runs[i];
			r->nplanned = i + 1;
			if (r->planned[i].scenario == NULL) {
				fl_report_free(r);
				return FL_ENOMEM;
			}
		}
		r->opt.nscenarios = r->nplanned;
	}
	if (r->opt.out == NULL)
		r->opt.out = stdout;
	r->keep = true;
	if (r->opt.tap)
		fputs("TAP version 13\n", r->opt.tap);
	*out = r;
	return 0;
}

static void
close_file(FILE **f)
{
	if (*f != NULL && *f != stdout)
		fclose(*f);
	*f = NULL;
}

static void
free_strings(struct stored_run *s)
{
	free(s->property);
	free(s->detail);
	free(s->trace);
	free(s->replay);
	free(s->html);
	free(s->fired);
	free(s->sweep_point);
}

void
fl_report_free(struct fl_report *r)
{
	if (r == NULL)
		return;
	close_file(&r->json_f);
	close_file(&r->junit_f);
	for (size_t i = 0; i < r->stored; i++)
		free_strings(&r->runs[i]);
	free(r->runs);
	for (size_t i = 0; i < r->nnever; i++) {
		free(r->never[i].scenario);
		free(r->never[i].point);
	}
	free(r->never);
	for (size_t i = 0; i < r->nskipped; i++) {
		free(r->skipped[i].scenario);
		free(r->skipped[i].why);
	}
	free(r->skipped);
	for (size_t i = 0; i < r->nsweeps; i++)
		free(r->sweeps[i]);
	free(r->sweeps);
	for (size_t i = 0; i < r->nplanned; i++)
		free(r->planned[i].scenario);
	free(r->planned);
	free(r->interrupted);
	free(r->current);
	for (size_t i = 0; i < r->name_count; i++)
		free(r->names[i]);
	free(r->names);
	free(r);
}

static const char *
run_verdict(const struct stored_run *s)
{
	return s->not_run ? "not_run" : fl_verdict_name(s->verdict);
}

/* strdup of a fixed field, NULL when empty; *ok cleared on allocation failure. */
static char *
dup_field(const char *s, size_t cap, bool *ok)
{
	size_t n = strnlen(s, cap);
	if (n == 0)
		return NULL;
	char *p = malloc(n + 1);
	if (p == NULL) {
		*ok = false;
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static int
intern(struct fl_report *r, const char *name, size_t cap, uint32_t *idx)
{
	size_t n = strnlen(name, cap);
	/* Runs of one scenario arrive together: look from the newest name back. */
	for (size_t i = r->name_count; i-- > 0;)
		if (strlen(r->names[i]) == n && memcmp(r->names[i], name, n) == 0) {
			*idx = (uint32_t)i;
			return 0;
		}
	char **v = fli_grow(r->names, &r->name_cap, r->name_count + 1, sizeof *v, 8);
	if (v == NULL)
		return FL_ENOMEM;
	r->names = v;
	char *p = malloc(n + 1);
	if (p == NULL)
		return FL_ENOMEM;
	memcpy(p, name, n);
	p[n] = '\0';
	r->names[r->name_count] = p;
	*idx = (uint32_t)r->name_count++;
	return 0;
}

/* ---- naming ---- */

/* What ran, as JUnit testcase names and TAP descriptions give it:
 * "seed=S", plus " sweep=POINT#K once|persistent" (" sweep=count"). */
static void
run_name(FILE *f, const struct stored_run *s, void (*esc)(FILE *, const char *))
{
	fprintf(f, "seed=%llu", (unsigned long long)s->seed);
	if (s->sweep_point != NULL) {
		fputs(" sweep=", f);
		esc(f, s->sweep_point);
		fprintf(f, "#%llu %s", (unsigned long long)s->sweep_k,
		        s->sweep_persistent ? "persistent" : "once");
	} else if (s->sweep_count) {
		fputs(" sweep=count", f);
	}
}

static void
plain(FILE *f, const char *s)
{
	fputs(s, f);
}

static const char *const mode_names[] = { "sim", "proc", "stress" };

/* ---- people ---- */

static FILE *
progress_file(const struct fl_report *r)
{
	return r->opt.progress_out ? r->opt.progress_out : r->opt.out;
}

static void
clear_progress(struct fl_report *r)
{
	if (r->progress_shown) {
		fputs("\r\033[K", progress_file(r));
		fflush(progress_file(r));
		r->progress_shown = false;
	}
}

void
fl_report_clear_progress(struct fl_report *r)
{
	clear_progress(r);
}

static void progress(struct fl_report *r);

int
fl_report_plan(struct fl_report *r, const char *scenario, uint64_t more)
{
	r->opt.planned += more;
	if (scenario != NULL) {
		char *p = strdup(scenario);
		if (p == NULL)
			return FL_ENOMEM;
		free(r->current);
		r->current = p;
	}
	if (r->opt.tty)
		progress(r); /* the new scenario shows before its first result */
	return 0;
}

/* The progress line: "[done/planned] scenario: N passed, M not passed".
 * On a terminal (opt.tty) it is redrawn in place at most once every
 * progress_interval_ms, so a burst of results costs the terminal ten
 * lines a second, not one a run (the line may lag the count until the
 * next result; the summary is exact); otherwise a line every tenth of the
 * plan (or progress_every runs). */
static void
progress(struct fl_report *r)
{
	if (!r->opt.progress)
		return;
	uint64_t done = r->run_count, bad = done - r->by_verdict[FL_VERDICT_PASS];
	char count[48], line[160];
	if (r->opt.planned)
		snprintf(count, sizeof count, "[%llu/%llu]", (unsigned long long)done,
		         (unsigned long long)r->opt.planned);
	else
		snprintf(count, sizeof count, "[%llu]", (unsigned long long)done);
	snprintf(line, sizeof line, "%s %.*s%s%llu passed, %llu not passed", count,
	         r->current ? 36 : 0, r->current ? r->current : "", r->current ? ": " : "",
	         (unsigned long long)r->by_verdict[FL_VERDICT_PASS], (unsigned long long)bad);
	if (r->opt.tty) {
		/* 79 columns at most: a wrapped line is not redrawn in place. */
		line[79] = '\0';
		uint64_t now = fli_mono_ms(),
		         every = r->opt.progress_interval_ms ? r->opt.progress_interval_ms : 100;
		FILE *f = progress_file(r);
		if (r->progress_drawn && now - r->progress_ms < every)
			return;
		if (f != r->opt.out)
			fflush(r->opt.out); /* what was written there comes first */
		fprintf(f, "\r\033[K%s", line);
		fflush(f);
		r->progress_shown = true;
		r->progress_drawn = true;
		r->progress_ms = now;
		return;
	}
	if (done == 0)
		return;
	uint64_t every = r->opt.progress_every;
	if (every == 0)
		every = r->opt.planned >= 10 ? r->opt.planned / 10 : r->opt.planned ? 1 : 100;
	if (done % every == 0 || done == r->opt.planned)
		fprintf(r->opt.out, "%s\n", line);
}

static void
failure_entry(struct fl_report *r, const struct fl_run_result *res, const struct stored_run *s)
{
	char verdict[16];
	size_t i;
	const char *v = res->not_run ? "NOT RUN"
	                : s->known   ? "KNOWN"
	                             : fl_verdict_name(res->verdict);
	for (i = 0; v[i] && i + 1 < sizeof verdict; i++)
		verdict[i] = v[i] >= 'a' && v[i] <= 'z' ? (char)(v[i] - 'a' + 'A') : v[i];
	verdict[i] = '\0';
	clear_progress(r);
	fprintf(r->opt.out, "%-8s %.*s ", verdict, (int)sizeof res->scenario, res->scenario);
	run_name(r->opt.out, s, plain);
	fprintf(r->opt.out, " property=%.*s trace=%.*s\n", (int)sizeof res->property,
	        res->property[0] ? res->property : "-", (int)sizeof res->trace_path,
	        res->trace_path[0] ? res->trace_path : "-");
	if (res->detail[0])
		fprintf(r->opt.out, "         %.*s%s\n", (int)sizeof res->detail, res->detail,
		        s->known ? " (a known failure: the baseline has it)" : "");
	if (res->html_path[0])
		fprintf(r->opt.out, "         timeline: %.*s\n", (int)sizeof res->html_path,
		        res->html_path);
	for (size_t m = 0; m < res->nmore && m + 1 < res->violations; m++)
		fprintf(r->opt.out, "         then %.*s: %.*s\n", (int)sizeof res->more[m].property,
		        res->more[m].property, (int)sizeof res->more[m].detail,
		        res->more[m].detail);
	if (res->violations > 1u + res->nmore)
		fprintf(r->opt.out,
		        "         and %u more violation%s after it (the first is the verdict; "
		        "`faultline shrink` tells the run)\n",
		        res->violations - 1 - res->nmore,
		        res->violations - 1 - res->nmore == 1 ? "" : "s");
	if (res->replay_cmd[0])
		fprintf(r->opt.out, "         replay: %.*s\n", (int)sizeof res->replay_cmd,
		        res->replay_cmd);
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string (also a valid YAML double-quoted scalar): quotes, escapes,
 * invalid UTF-8 as U+FFFD. */
void
fli_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	fputc('"', f);
	while (n > 0) {
		unsigned char c = *p;
		size_t len;
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			len = 1;
		} else if (c == '\n') {
			fputs("\\n", f);
			len = 1;
		} else if (c == '\t') {
			fputs("\\t", f);
			len = 1;
		} else if (c == '\r') {
			fputs("\\r", f);
			len = 1;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			len = 1;
		} else if ((len = utf8_len(p, n)) == 0) {
			fputs("\\ufffd", f);
			len = 1;
		} else {
			fwrite(p, 1, len, f);
		}
		p += len;
		n -= len;
	}
	fputc('"', f);
}

static void
json_str_or_null(FILE *f, const char *s)
{
	if (s == NULL)
		fputs("null", f);
	else
		fli_json_str(f, s);
}

/* XML text or attribute value: the five entities; characters XML 1.0
 * cannot hold (controls other than tab/newline/CR, invalid UTF-8) as '?'. */
static void
xml_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	while (n > 0) {
		unsigned char c = *p;
		size_t len = 1;
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\t':
		case '\n':
		case '\r': fputc(c, f); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fputc('?', f);
			} else if ((len = utf8_len(p, n)) == 0) {
				fputc('?', f);
				len = 1;
			} else {
				fwrite(p, 1, len, f);
			}
		}
		p += len;
		n -= len;
	}
}

/* A TAP description: one line, '#' escaped (it would start a directive). */
static void
tap_desc(FILE *f, const char *s, size_t cap)
{
	for (size_t i = 0; i < cap && s[i]; i++) {
		char c = s[i];
		if (c == '#' || c == '\\')
			fputc('\\', f);
		fputc(c == '\n' || c == '\r' ? ' ' : c, f);
	}
}

static void
tap_name(FILE *f, const char *s)
{
	tap_desc(f, s, strlen(s));
}

static void
tap_line(struct fl_report *r, const struct fl_run_result *res, const struct stored_run *s)
{
	FILE *f = r->opt.tap;
	bool pass = !s->not_run && s->verdict == FL_VERDICT_PASS;
	fprintf(f, "%s %zu - ", pass ? "ok" : "not ok", r->run_count + r->nskipped);
	tap_desc(f, res->scenario, sizeof res->scenario);
	fputc(' ', f);
	run_name(f, s, tap_name);
	/* TAP's expected failure: a TODO is not counted as failing. */
	fputs(s->known ? " # TODO known failure (baseline)\n" : "\n", f);
	if (pass)
		return;
	fprintf(f, "  ---\n  verdict: %s\n  seed: %llu\n", run_verdict(s),
	        (unsigned long long)s->seed);
	fputs("  property: ", f);
	json_str_or_null(f, s->property);
	fputs("\n  trace: ", f);
	json_str_or_null(f, s->trace);
	fprintf(f, "\n  trace_hash: \"%016llx\"\n  seconds: %.6f\n",
	        (unsigned long long)s->trace_hash, s->seconds);
	fputs("  detail: ", f);
	fli_json_str(f, s->detail ? s->detail : "");
	fputs("\n  replay: ", f);
	json_str_or_null(f, s->replay);
	fputs("\n  ...\n", f);
	fflush(f);
}

/* ---- JSON, one run at a time ---- */

static void
json_run(FILE *f, size_t i, const char *name, const struct stored_run *s)
{
	fputs(i ? ",\n  {" : "\n  {", f);
	fputs("\"scenario\": ", f);
	fli_json_str(f, name);
	fprintf(f, ", \"seed\": %llu, \"mode\": ", (unsigned long long)s->seed);
	json_str_or_null(f, s->mode);
	fprintf(f, ", \"run_index\": %llu, \"sweep_point\": ", (unsigned long long)s->run_index);
	json_str_or_null(f, s->sweep_point);
	if (s->sweep_point != NULL)
		fprintf(f, ", \"sweep_k\": %llu, \"sweep_persistent\": %s",
		        (unsigned long long)s->sweep_k, s->sweep_persistent ? "true" : "false");
	else
		fputs(s->sweep_count ? ", \"sweep_k\": 0, \"sweep_persistent\": null"
		                     : ", \"sweep_k\": null, \"sweep_persistent\": null",
		      f);
	fprintf(f, ", \"verdict\": \"%s\", \"property\": ", run_verdict(s));
	json_str_or_null(f, s->property);
	fputs(", \"trace\": ", f);
	json_str_or_null(f, s->trace);
	if (s->html != NULL) {
		fputs(", \"html\": ", f);
		fli_json_str(f, s->html);
	}
	fprintf(f, ", \"trace_hash\": \"%016llx\", \"seconds\": %.6f, \"detail\": ",
	        (unsigned long long)s->trace_hash, s->seconds);
	fli_json_str(f, s->detail ? s->detail : "");
	fprintf(f,
	        ", \"faults_fired\": %s, \"op_errors_tolerated\": %u, \"op_errors_fatal\": %u, "
	        "\"known\": %s}",
	        s->fired ? s->fired : "{}", s->op_errors_tolerated, s->op_errors_fatal,
	        s->known ? "true" : "false");
}

/* {"point": n, ...} of the points that fired, into a malloc'd string, or
 * NULL when none fired (or on no memory: *ok false). */
static char *
fired_json(const struct fl_report *r, const struct fl_run_result *res, bool *ok)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (r->opt.point_names == NULL)
		return NULL;
	for (size_t i = 0; i < FL_REPORT_MAX_POINTS && r->opt.point_names[i] != NULL; i++)
		if (res->faults_fired[i] != 0)
			goto some;
	return NULL;
some:
	m = open_memstream(&buf, &len);
	if (m == NULL) {
		*ok = false;
		return NULL;
	}
	fputc('{', m);
	for (size_t i = 0, n = 0; i < FL_REPORT_MAX_POINTS && r->opt.point_names[i] != NULL; i++) {
		if (res->faults_fired[i] == 0)
			continue;
		fputs(n++ ? ", " : "", m);
		fli_json_str(m, r->opt.point_names[i]);
		fprintf(m, ": %u", res->faults_fired[i]);
	}
	fputc('}', m);
	if (fclose(m) != 0) {
		free(buf);
		*ok = false;
		return NULL;
	}
	return buf;
}

static void
json_never_fired(const struct fl_report *r, FILE *f)
{
	fputs(",\n \"rules_never_fired\": [", f);
	for (size_t i = 0; i < r->nnever; i++) {
		const struct never_fired *n = &r->never[i];
		fputs(i ? ", {\"scenario\": " : "{\"scenario\": ", f);
		fli_json_str(f, n->scenario);
		fprintf(f, ", \"rule\": %d, \"line\": %d, \"point\": ", n->index, n->line);
		fli_json_str(f, n->point);
		fprintf(f, ", \"runs\": %llu}", (unsigned long long)n->runs);
	}
	fputc(']', f);
}

static void
json_skipped(const struct fl_report *r, FILE *f)
{
	fputs(",\n \"skipped\": [", f);
	for (size_t i = 0; i < r->nskipped; i++) {
		fputs(i ? ", {\"scenario\": " : "{\"scenario\": ", f);
		fli_json_str(f, r->skipped[i].scenario);
		fputs(", \"why\": ", f);
		fli_json_str(f, r->skipped[i].why);
		fputc('}', f);
	}
	fputc(']', f);
}

int
fl_report_skipped(struct fl_report *r, const char *scenario, const char *why)
{
	struct skipped *v = realloc(r->skipped, (r->nskipped + 1) * sizeof(*v));

	if (v == NULL)
		return FL_ENOMEM;
	r->skipped = v;
	v = &r->skipped[r->nskipped];
	v->scenario = strdup(scenario);
	v->why = strdup(why);
	if (v->scenario == NULL || v->why == NULL) {
		free(v->scenario);
		free(v->why);
		return FL_ENOMEM;
	}
	r->nskipped++;
	if (r->opt.tap) {
		clear_progress(r);
		fprintf(r->opt.tap, "ok %zu - ", r->run_count + r->nskipped);
		tap_name(r->opt.tap, scenario);
		fputs(" # SKIP ", r->opt.tap);
		tap_name(r->opt.tap, why);
		fputc('\n', r->opt.tap);
		fflush(r->opt.tap);
	}
	return 0;
}

int
fl_report_rule_never_fired(struct fl_report *r, const char *scenario, int index, const char *point,
                           int line, uint64_t runs)
{
	struct never_fired *v = realloc(r->never, (r->nnever + 1) * sizeof(*v));
	if (v == NULL)
		return FL_ENOMEM;
	r->never = v;
	v = &r->never[r->nnever];
	v->scenario = strdup(scenario);
	v->point = strdup(point);
	if (v->scenario == NULL || v->point == NULL) {
		free(v->scenario);
		free(v->point);
		return FL_ENOMEM;
	}
	v->index = index;
	v->line = line;
	v->runs = runs;
	r->nnever++;
	return 0;
}

/* {"p": v[i], ...} of the points whose hits are not 0. */
static void
point_map(FILE *m, const struct fl_report_sweep *s, const uint64_t *v)
{
	fputc('{', m);
	for (size_t i = 0, n = 0; i < s->npoints; i++) {
		if (s->hits[i] == 0)
			continue;
		fputs(n++ ? ", " : "", m);
		fli_json_str(m, s->points[i]);
		fprintf(m, ": %llu", (unsigned long long)v[i]);
	}
	fputc('}', m);
}

int
fl_report_sweep(struct fl_report *r, const struct fl_report_sweep *s)
{
	char *buf = NULL, **v;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (m == NULL)
		return FL_ENOMEM;
	fputs("{\"scenario\": ", m);
	fli_json_str(m, s->scenario);
	fprintf(m, ", \"seed\": %llu, \"hits\": ", (unsigned long long)s->seed);
	point_map(m, s, s->hits);
	fputs(", \"tried\": ", m);
	point_map(m, s, s->tried);
	fprintf(m, ", \"faulted_runs\": %llu, \"kept\": %llu, \"this_shard\": %llu}",
	        (unsigned long long)s->faulted, (unsigned long long)s->kept,
	        (unsigned long long)s->here);
	if (fclose(m) != 0) {
		free(buf);
		return FL_ENOMEM;
	}
	v = realloc(r->sweeps, (r->nsweeps + 1) * sizeof(*v));
	if (v == NULL) {
		free(buf);
		return FL_ENOMEM;
	}
	r->sweeps = v;
	r->sweeps[r->nsweeps++] = buf;
	return 0;
}

int
fl_report_cut_short(struct fl_report *r, const char *scenario, uint64_t made, uint64_t share)
{
	for (size_t i = 0; i < r->nplanned; i++)
		if (strcmp(r->planned[i].scenario, scenario) == 0) {
			r->planned[i].made = made;
			r->planned[i].share = share;
			return 0;
		}
	return FL_EINVAL;
}

int
fl_report_set_interrupted(struct fl_report *r, const char *why)
{
	char *p = strdup(why);
	if (p == NULL)
		return FL_ENOMEM;
	free(r->interrupted);
	r->interrupted = p;
	return 0;
}

/* The baseline's entries whose scenario ran and no failure matched. */
static bool
fixed_entry(const struct fl_report *r, size_t i)
{
	const char *sc, *vd, *pr, *sg, *nt;
	uint64_t seen;

	fl_baseline_entry(r->opt.baseline, i, &sc, &vd, &pr, &sg, &nt, &seen);
	if (seen > 0 || r->opt.baseline_partial)
		return false;
	for (size_t n = 0; n < r->name_count; n++)
		if (strcmp(r->names[n], sc) == 0)
			return true;
	return false;
}

static void
json_fixed(const struct fl_report *r, FILE *f)
{
	bool first = true;

	if (r->opt.baseline == NULL)
		return;
	fputs(",\n \"fixed\": [", f);
	for (size_t i = 0; i < fl_baseline_count(r->opt.baseline); i++) {
		const char *sc, *vd, *pr, *sg, *nt;
		uint64_t seen;

		if (!fixed_entry(r, i))
			continue;
		fl_baseline_entry(r->opt.baseline, i, &sc, &vd, &pr, &sg, &nt, &seen);
		fputs(first ? "{\"scenario\": " : ", {\"scenario\": ", f);
		first = false;
		fli_json_str(f, sc);
		fputs(", \"verdict\": ", f);
		fli_json_str(f, vd);
		fputs(", \"property\": ", f);
		fli_json_str(f, pr);
		fputs(", \"signature\": ", f);
		fli_json_str(f, sg);
		fputc('}', f);
	}
	fputc(']', f);
}

static void
json_tail(const struct fl_report *r, FILE *f)
{
	fputs(r->run_count ? "\n]" : "]", f);
	json_never_fired(r, f);
	json_skipped(r, f);
	fputs(",\n \"sweeps\": [", f);
	for (size_t i = 0; i < r->nsweeps; i++)
		fprintf(f, "%s%s", i ? ", " : "", r->sweeps[i]);
	fputc(']', f);
	if (r->opt.shards > 0) {
		fprintf(f,
		        ",\n \"batch\": {\"seed\": %llu, \"plan\": \"%016llx\", \"shard\": %llu, "
		        "\"shards\": %llu",
		        (unsigned long long)r->opt.batch_seed,
		        (unsigned long long)r->opt.batch_plan, (unsigned long long)r->opt.shard,
		        (unsigned long long)r->opt.shards);
		if (r->planned != NULL) {
			fputs(", \"scenarios\": [", f);
			for (size_t i = 0; i < r->nplanned; i++) {
				const struct planned *pl = &r->planned[i];

				fputs(i ? ", {\"scenario\": " : "{\"scenario\": ", f);
				fli_json_str(f, pl->scenario);
				fprintf(f, ", \"runs\": %llu, \"cut_short\": ",
				        (unsigned long long)pl->runs);
				if (pl->share > 0)
					fprintf(f, "{\"made\": %llu, \"share\": %llu}}",
					        (unsigned long long)pl->made,
					        (unsigned long long)pl->share);
				else
					fputs("null}", f);
			}
			fputc(']', f);
		}
		fputc('}', f);
	}
	fprintf(f, ",\n \"interrupted\": %s", r->interrupted ? "true" : "false");
	fprintf(f,
	        ",\n \"summary\": {\"runs\": %zu, \"passed\": %llu, \"failed\": %llu, "
	        "\"crashed\": %llu, \"hung\": %llu, \"deadlocked\": %llu, \"not_run\": %llu, "
	        "\"known\": %llu}",
	        r->run_count, (unsigned long long)r->by_verdict[FL_VERDICT_PASS],
	        (unsigned long long)r->by_verdict[FL_VERDICT_FAIL],
	        (unsigned long long)r->by_verdict[FL_VERDICT_CRASH],
	        (unsigned long long)r->by_verdict[FL_VERDICT_HANG],
	        (unsigned long long)r->by_verdict[FL_VERDICT_DEADLOCK],
	        (unsigned long long)r->not_run, (unsigned long long)r->known);
	json_fixed(r, f);
	fputs("}\n", f);
}

/* ---- adding ---- */

int
fl_report_add(struct fl_report *r, const struct fl_run_result *res)
{
	if (!res->not_run && (unsigned)res->verdict >= FL_VERDICT_COUNT)
		return FL_EINVAL;
	if (r->keep) {
		struct stored_run *v = fli_grow(r->runs, &r->run_cap, r->stored + 1, sizeof *v, 64);
		if (v == NULL)
			return FL_ENOMEM;
		r->runs = v;
	}
	const char *mode = NULL;
	for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++)
		if (strncmp(res->mode, mode_names[i], sizeof res->mode) == 0)
			mode = mode_names[i];
	if (mode == NULL && res->mode[0] != '\0')
		return FL_EINVAL;
	struct stored_run s = {
		.verdict = res->not_run ? FL_VERDICT_FAIL : res->verdict,
		.seed = res->seed,
		.mode = mode,
		.run_index = res->run_index,
		.sweep_k = res->sweep_point[0] ? res->sweep_k : 0,
		.sweep_persistent = res->sweep_point[0] && res->sweep_persistent,
		.sweep_count = !res->sweep_point[0] && res->sweep_count,
		.trace_hash = res->trace_hash,
		.seconds = res->seconds == res->seconds && res->seconds >= 0 ? res->seconds : 0,
		.not_run = res->not_run,
		.op_errors_tolerated = res->op_errors_tolerated,
		.op_errors_fatal = res->op_errors_fatal,
	};
	bool ok = true;
	if (intern(r, res->scenario, sizeof res->scenario, &s.scenario))
		return FL_ENOMEM;
	s.property = dup_field(res->property, sizeof res->property, &ok);
	s.detail = dup_field(res->detail, sizeof res->detail, &ok);
	s.trace = dup_field(res->trace_path, sizeof res->trace_path, &ok);
	s.replay = dup_field(res->replay_cmd, sizeof res->replay_cmd, &ok);
	s.html = dup_field(res->html_path, sizeof res->html_path, &ok);
	s.fired = fired_json(r, res, &ok);
	s.sweep_point = dup_field(res->sweep_point, sizeof res->sweep_point, &ok);
	if (!ok) {
		free_strings(&s);
		return FL_ENOMEM;
	}
	if (!s.not_run && s.verdict != FL_VERDICT_PASS) {
		/* Every violation of the run (the verdict's, then the later
		 * ones it kept), each a failure of its own: recorded for
		 * --baseline-write, and the run known only when the baseline
		 * knows every one of them. */
		uint32_t nv = res->violations > 1u ? res->violations : 1u;
		char prop[sizeof res->property + 1], detail[sizeof res->detail + 1];

		/* A sweep's counting run that failed is never known: its
		 * sweep was not made, and a baseline must not make that pass. */
		bool by_baseline =
		        r->opt.baseline != NULL && nv <= 1u + res->nmore && !s.sweep_count;
		for (uint32_t k = 0; k < nv && k <= res->nmore; k++) {
			const char *vname = fl_verdict_name(k == 0 ? s.verdict : FL_VERDICT_FAIL);

			if (k == 0) {
				snprintf(prop, sizeof(prop), "%.*s", (int)sizeof res->property,
				         res->property);
				snprintf(detail, sizeof(detail), "%.*s", (int)sizeof res->detail,
				         res->detail);
			} else {
				snprintf(prop, sizeof(prop), "%.*s",
				         (int)sizeof res->more[k - 1].property,
				         res->more[k - 1].property);
				snprintf(detail, sizeof(detail), "%.*s",
				         (int)sizeof res->more[k - 1].detail,
				         res->more[k - 1].detail);
			}
			if (by_baseline)
				by_baseline =
				        fl_baseline_match(r->opt.baseline, r->names[s.scenario],
				                          vname, prop, detail) >= 0;
			if (r->opt.record != NULL &&
			    fl_baseline_note_failure(r->opt.record, r->names[s.scenario], vname,
			                             prop, detail) != 0) {
				free_strings(&s);
				return FL_ENOMEM;
			}
		}
		/* A run a shard's baseline knew stays known in the merge,
		 * which has no baseline of its own. */
		s.known = by_baseline || (res->known && !s.sweep_count);
	}
	if (r->json_f != NULL)
		json_run(r->json_f, r->run_count, r->names[s.scenario], &s);
	r->run_count++;
	r->known += s.known;
	if (s.not_run)
		r->not_run++;
	else
		r->by_verdict[s.verdict]++;
	r->seconds += s.seconds;
	if (s.not_run || s.verdict != FL_VERDICT_PASS)
		failure_entry(r, res, &s);
	if (r->opt.tap)
		tap_line(r, res, &s);
	progress(r);
	if (r->keep)
		r->runs[r->stored++] = s;
	else
		free_strings(&s);
	return 0;
}

void
fl_report_counts(const struct fl_report *r, struct fl_report_counts *c)
{
	c->runs = r->run_count;
	memcpy(c->by_verdict, r->by_verdict, sizeof c->by_verdict);
	c->not_run = r->not_run;
	c->known = r->known;
	c->seconds = r->seconds;
	c->interrupted = r->interrupted != NULL;
}

int
fl_report_exit_status(const struct fl_report *r)
{
	if (r->interrupted != NULL || r->not_run > 0 || r->run_count == 0)
		return 2;
	return r->by_verdict[FL_VERDICT_PASS] + r->known == r->run_count ? 0 : 1;
}

void
fl_report_summary_line(const struct fl_report *r, double wall_seconds, char *buf, size_t len)
{
	char not_run[160] = "";
	int n = 0;
	if (r->not_run)
		n = snprintf(not_run, sizeof not_run, ", %llu not run",
		             (unsigned long long)r->not_run);
	if (r->known && n >= 0 && (size_t)n < sizeof not_run)
		n += snprintf(not_run + n, sizeof not_run - (size_t)n,
		              ", %llu of the failures known (baseline)",
		              (unsigned long long)r->known);
	if (r->nskipped && n >= 0 && (size_t)n < sizeof not_run)
		snprintf(not_run + n, sizeof not_run - (size_t)n, ", %zu scenario%s skipped",
		         r->nskipped, r->nskipped == 1 ? "" : "s");
	snprintf(buf, len,
	         "%zu runs: %llu passed, %llu failed, %llu crashed, %llu hung, "
	         "%llu deadlocked%s (%.2f s)",
	         r->run_count, (unsigned long long)r->by_verdict[FL_VERDICT_PASS],
	         (unsigned long long)r->by_verdict[FL_VERDICT_FAIL],
	         (unsigned long long)r->by_verdict[FL_VERDICT_CRASH],
	         (unsigned long long)r->by_verdict[FL_VERDICT_HANG],
	         (unsigned long long)r->by_verdict[FL_VERDICT_DEADLOCK], not_run,
	         wall_seconds >= 0 ? wall_seconds : r->seconds);
}

/* ---- files ---- */

int
fl_report_write_json(const struct fl_report *r, FILE *f)
{
	if (!r->keep)
		return FL_EINVAL;
	fputs("{\"runs\": [", f);
	for (size_t i = 0; i < r->stored; i++)
		json_run(f, i, r->names[r->runs[i].scenario], &r->runs[i]);
	json_tail(r, f);
	return ferror(f) ? FL_EIO : 0;
}

/* JUnit: runs grouped by scenario in order of first appearance.  O(names x
 * runs), fine for the tens of scenarios a suite holds. */
int
fl_report_write_junit(const struct fl_report *r, FILE *f)
{
	if (!r->keep)
		return FL_EINVAL;
	uint64_t executed = r->run_count - r->not_run;
	uint64_t not_passed = executed - r->by_verdict[FL_VERDICT_PASS] - r->known;
	bool intr = r->interrupted != NULL; /* one more testcase, an error */
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<testsuites name=\"faultline\" tests=\"%zu\" failures=\"%llu\" errors=\"%llu\" "
	        "time=\"%.6f\">\n",
	        r->run_count + intr + r->nskipped, (unsigned long long)not_passed,
	        (unsigned long long)r->not_run + intr, r->seconds);
	/* A scenario not run at all: a suite of one skipped testcase. */
	for (size_t i = 0; i < r->nskipped; i++) {
		fputs("  <testsuite name=\"", f);
		xml_str(f, r->skipped[i].scenario);
		fputs("\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\" "
		      "time=\"0.000000\">\n    <testcase classname=\"",
		      f);
		xml_str(f, r->skipped[i].scenario);
		fputs("\" name=\"", f);
		xml_str(f, r->skipped[i].scenario);
		fputs("\" time=\"0.000000\">\n      <skipped message=\"", f);
		xml_str(f, r->skipped[i].why);
		fputs("\"/>\n    </testcase>\n  </testsuite>\n", f);
	}
	if (intr) {
		/* A partial batch must not read as a green one: an error
		 * testcase says it stopped early. */
		fputs("  <testsuite name=\"faultline\" tests=\"1\" failures=\"0\" errors=\"1\" "
		      "skipped=\"0\" time=\"0.000000\">\n"
		      "    <testcase classname=\"faultline\" name=\"interrupted\" "
		      "time=\"0.000000\">\n"
		      "      <error type=\"interrupted\" message=\"interrupted: ",
		      f);
		xml_str(f, r->interrupted);
		fputs("\">the batch was interrupted (", f);
		xml_str(f, r->interrupted);
		fputs("): this report holds only the runs that finished before it</error>\n"
		      "    </testcase>\n  </testsuite>\n",
		      f);
	}
	for (size_t n = 0; n < r->name_count; n++) {
		size_t tests = 0, failures = 0, errors = 0, skipped = 0;
		double secs = 0;
		for (size_t i = 0; i < r->stored; i++)
			if (r->runs[i].scenario == n) {
				tests++;
				errors += r->runs[i].not_run;
				skipped += r->runs[i].known;
				failures += !r->runs[i].not_run && !r->runs[i].known &&
				            r->runs[i].verdict != FL_VERDICT_PASS;
				secs += r->runs[i].seconds;
			}
		fputs("  <testsuite name=\"", f);
		xml_str(f, r->names[n]);
		fprintf(f,
		        "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
		        "time=\"%.6f\">\n",
		        tests, failures, errors, skipped, secs);
		for (size_t i = 0; i < r->stored; i++) {
			const struct stored_run *s = &r->runs[i];
			if (s->scenario != n)
				continue;
			fputs("    <testcase classname=\"", f);
			xml_str(f, r->names[n]);
			fputs("\" name=\"", f);
			xml_str(f, r->names[n]);
			fputc(' ', f);
			run_name(f, s, xml_str);
			fprintf(f, "\" time=\"%.6f\"", s->seconds);
			if (s->not_run) {
				fputs(">\n      <error type=\"not_run\" message=\"not run\">", f);
				xml_str(f, s->detail ? s->detail : "");
				fputs("</error>\n    </testcase>\n", f);
				continue;
			}
			if (s->verdict == FL_VERDICT_PASS) {
				fputs("/>\n", f);
				continue;
			}
			if (s->known) {
				/* A known failure, as pytest's xfail: skipped. */
				fprintf(f,
				        ">\n      <skipped message=\"known failure (baseline): %s",
				        fl_verdict_name(s->verdict));
				if (s->property) {
					fputs(": ", f);
					xml_str(f, s->property);
				}
				fputs("\"/>\n    </testcase>\n", f);
				continue;
			}
			fprintf(f, ">\n      <failure type=\"%s\" message=\"",
			        fl_verdict_name(s->verdict));
			xml_str(f, fl_verdict_name(s->verdict));
			if (s->property) {
				fputs(": ", f);
				xml_str(f, s->property);
			}
			fputs("\">", f);
			fprintf(f, "verdict: %s\nproperty: ", fl_verdict_name(s->verdict));
			xml_str(f, s->property ? s->property : "-");
			fprintf(f, "\nseed: %llu\ntrace: ", (unsigned long long)s->seed);
			xml_str(f, s->trace ? s->trace : "-");
			fprintf(f, "\ntrace_hash: %016llx\ndetail: ",
			        (unsigned long long)s->trace_hash);
			xml_str(f, s->detail ? s->detail : "");
			fputs("\nreplay: ", f);
			xml_str(f, s->replay ? s->replay : "-");
			fputs("</failure>\n    </testcase>\n", f);
		}
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
	return ferror(f) ? FL_EIO : 0;
}

static FILE *
open_out(const char *path, char *err, size_t errlen)
{
	if (strcmp(path, "-") == 0)
		return stdout;
	FILE *f = fopen(path, "we"); /* not into the runs' execs */
	if (f == NULL && errlen)
		snprintf(err, errlen, "%s: cannot open for writing (%s)", path, strerror(errno));
	return f;
}

/* Flushes (stdout) or closes f; 0 or FL_EIO. */
static int
end_file(FILE *f, int rc)
{
	if (f == stdout)
		return fflush(f) != 0 || ferror(f) ? FL_EIO : rc;
	if (ferror(f))
		rc = FL_EIO;
	return fclose(f) != 0 ? FL_EIO : rc;
}

static int
write_file(const struct fl_report *r, FILE *f, const char *path,
           int (*writer)(const struct fl_report *, FILE *), char *err, size_t errlen)
{
	int rc = writer(r, f);
	rc = end_file(f, rc);
	if (rc && errlen)
		snprintf(err, errlen, "%s: write error", path);
	return rc;
}

int
fl_report_open_files(struct fl_report *r, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (r->opt.json_path && (r->json_f = open_out(r->opt.json_path, err, errlen)) == NULL)
		return FL_EIO;
	if (r->opt.junit_path && (r->junit_f = open_out(r->opt.junit_path, err, errlen)) == NULL) {
		close_file(&r->json_f);
		return FL_EIO;
	}
	/* Two reports written into one file would make neither parse. */
	struct stat a, b;
	if (r->json_f != NULL && r->junit_f != NULL && fstat(fileno(r->json_f), &a) == 0 &&
	    fstat(fileno(r->junit_f), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		if (errlen)
			snprintf(err, errlen,
			         "%s and %s: the JSON and JUnit reports would share one file",
			         r->opt.json_path, r->opt.junit_path);
		close_file(&r->json_f);
		close_file(&r->junit_f);
		return FL_EIO;
	}
	if (r->json_f != NULL) {
		fputs("{\"runs\": [", r->json_f);
		r->keep = r->junit_f != NULL;
	}
	return 0;
}

int
fl_report_finish(struct fl_report *r, double wall_seconds, char *err, size_t errlen)
{
	char line[256];
	int rc = 0, rc2;
	if (errlen)
		err[0] = '\0';
	clear_progress(r);
	for (size_t i = 0; i < r->nnever; i++)
		fprintf(r->opt.out,
		        "%s: fault rule faults[%d] (line %d, %s) never fired in %llu runs\n",
		        r->never[i].scenario, r->never[i].index, r->never[i].line,
		        r->never[i].point, (unsigned long long)r->never[i].runs);
	for (size_t i = 0; r->opt.baseline != NULL && i < fl_baseline_count(r->opt.baseline); i++) {
		const char *sc, *vd, *pr, *sg, *nt;
		uint64_t seen;

		if (!fixed_entry(r, i))
			continue;
		fl_baseline_entry(r->opt.baseline, i, &sc, &vd, &pr, &sg, &nt, &seen);
		fprintf(r->opt.out,
		        "FIXED    %s: the known failure (%s%s%s: %s) did not happen in this "
		        "batch\n",
		        sc, vd, pr[0] ? " " : "", pr, sg);
	}
	if (r->interrupted)
		fprintf(r->opt.out,
		        "INTERRUPTED (%s): the report holds the %zu runs that finished "
		        "before it\n",
		        r->interrupted, r->run_count);
	fl_report_summary_line(r, wall_seconds, line, sizeof line);
	fprintf(r->opt.out, "%s\n", line);
	fflush(r->opt.out);
	if (r->opt.tap) {
		/* TAP's way to say the plan was not carried out. */
		if (r->interrupted)
			fprintf(r->opt.tap, "Bail out! interrupted (%s)\n", r->interrupted);
		else
			fprintf(r->opt.tap, "1..%zu\n", r->run_count + r->nskipped);
		fflush(r->opt.tap);
	}
	if (r->json_f != NULL) {
		/* Streamed: the runs are in the file; end it with the summary. */
		json_tail(r, r->json_f);
		rc = end_file(r->json_f, 0);
		r->json_f = NULL;
		if (rc && errlen)
			snprintf(err, errlen, "%s: write error", r->opt.json_path);
	} else if (r->opt.json_path) {
		FILE *f = open_out(r->opt.json_path, err, errlen);
		rc = f == NULL ? FL_EIO
		               : write_file(r, f, r->opt.json_path, fl_report_write_json, err,
		                            errlen);
	}
	if (r->opt.junit_path) {
		char *e = rc ? NULL : err;
		size_t elen = rc ? 0 : errlen;
		FILE *f = r->junit_f != NULL ? r->junit_f : open_out(r->opt.junit_path, e, elen);
		r->junit_f = NULL;
		rc2 = f == NULL
		              ? FL_EIO
		              : write_file(r, f, r->opt.junit_path, fl_report_write_junit, e, elen);
		if (rc2)
			rc = rc2;
	}
	return rc;
}
