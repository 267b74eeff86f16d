/*
 * Reports: results are kept compactly (a passing run costs one small record
 * and no strings) so a sweep of 10^5 runs stays cheap, and written at the
 * end as JSON and JUnit, which need every run grouped by scenario.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/report.h"

struct stored_run {
	uint32_t scenario; /* index into names */
	enum fl_verdict verdict;
	uint64_t seed;
	uint64_t trace_hash;
	double seconds;
	char *property, *detail, *trace, *replay; /* NULL when empty */
};

struct fl_report {
	struct fl_report_options opt;
	struct stored_run *runs;
	size_t run_count, run_cap;
	char **names;
	size_t name_count, name_cap;
	uint64_t by_verdict[FL_VERDICT_COUNT];
	double seconds;
	bool progress_shown; /* a \r progress line is on screen */
};

int fl_report_new(const struct fl_report_options *opt, struct fl_report **out)
{
	struct fl_report *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return FL_ENOMEM;
	if (opt)
		r->opt = *opt;
	if (r->opt.out == NULL)
		r->opt.out = stdout;
	if (r->opt.tap)
		fputs("TAP version 13\n", r->opt.tap);
	*out = r;
	return 0;
}

void fl_report_free(struct fl_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->run_count; i++) {
		free(r->runs[i].property);
		free(r->runs[i].detail);
		free(r->runs[i].trace);
		free(r->runs[i].replay);
	}
	free(r->runs);
	for (size_t i = 0; i < r->name_count; i++)
		free(r->names[i]);
	free(r->names);
	free(r);
}

/* strdup of a fixed field, NULL when empty; *ok cleared on allocation failure. */
static char *dup_field(const char *s, size_t cap, bool *ok)
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

static int intern(struct fl_report *r, const char *name, size_t cap, uint32_t *idx)
{
	size_t n = strnlen(name, cap);
	/* Runs of one scenario arrive together: look from the newest name back. */
	for (size_t i = r->name_count; i-- > 0;)
		if (strlen(r->names[i]) == n && memcmp(r->names[i], name, n) == 0) {
			*idx = (uint32_t)i;
			return 0;
		}
	if (r->name_count == r->name_cap) {
		size_t c = r->name_cap ? r->name_cap * 2 : 8;
		char **v = realloc(r->names, c * sizeof(*v));
		if (v == NULL)
			return FL_ENOMEM;
		r->names = v;
		r->name_cap = c;
	}
	char *p = malloc(n + 1);
	if (p == NULL)
		return FL_ENOMEM;
	memcpy(p, name, n);
	p[n] = '\0';
	r->names[r->name_count] = p;
	*idx = (uint32_t)r->name_count++;
	return 0;
}

/* ---- people ---- */

static void clear_progress(struct fl_report *r)
{
	if (r->progress_shown) {
		fputs("\r\033[K", r->opt.out);
		r->progress_shown = false;
	}
}

static void progress(struct fl_report *r)
{
	if (!r->opt.progress)
		return;
	uint64_t done = r->run_count, bad = done - r->by_verdict[FL_VERDICT_PASS];
	char line[160];
	if (r->opt.planned)
		snprintf(line, sizeof line, "[%llu/%llu] %llu passed, %llu not passed",
		         (unsigned long long)done, (unsigned long long)r->opt.planned,
		         (unsigned long long)r->by_verdict[FL_VERDICT_PASS],
		         (unsigned long long)bad);
	else
		snprintf(line, sizeof line, "[%llu] %llu passed, %llu not passed",
		         (unsigned long long)done, (unsigned long long)r->by_verdict[FL_VERDICT_PASS],
		         (unsigned long long)bad);
	if (r->opt.tty) {
		fprintf(r->opt.out, "\r\033[K%s", line);
		r->progress_shown = true;
		fflush(r->opt.out);
		return;
	}
	uint64_t every = r->opt.progress_every;
	if (every == 0)
		every = r->opt.planned >= 10 ? r->opt.planned / 10 : r->opt.planned ? 1 : 100;
	if (done % every == 0 || done == r->opt.planned)
		fprintf(r->opt.out, "%s\n", line);
}

static void failure_entry(struct fl_report *r, const struct fl_run_result *res)
{
	char verdict[16];
	size_t i;
	const char *v = fl_verdict_name(res->verdict);
	for (i = 0; v[i] && i + 1 < sizeof verdict; i++)
		verdict[i] = (char)(v[i] - 'a' + 'A');
	verdict[i] = '\0';
	clear_progress(r);
	fprintf(r->opt.out, "%-8s %.*s seed=%llu property=%.*s trace=%.*s\n", verdict,
	        (int)sizeof res->scenario, res->scenario, (unsigned long long)res->seed,
	        (int)sizeof res->property, res->property[0] ? res->property : "-",
	        (int)sizeof res->trace_path, res->trace_path[0] ? res->trace_path : "-");
	if (res->detail[0])
		fprintf(r->opt.out, "         %.*s\n", (int)sizeof res->detail, res->detail);
	if (res->replay_cmd[0])
		fprintf(r->opt.out, "         replay: %.*s\n", (int)sizeof res->replay_cmd,
		        res->replay_cmd);
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
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
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string (also a valid YAML double-quoted scalar): quotes, escapes,
 * invalid UTF-8 as U+FFFD. */
static void json_str(FILE *f, const char *s)
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

static void json_str_or_null(FILE *f, const char *s)
{
	if (s == NULL)
		fputs("null", f);
	else
		json_str(f, s);
}

/* XML text or attribute value: the five entities; characters XML 1.0
 * cannot hold (controls other than tab/newline/CR, invalid UTF-8) as '?'. */
static void xml_str(FILE *f, const char *s)
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
static void tap_desc(FILE *f, const char *s, size_t cap)
{
	for (size_t i = 0; i < cap && s[i]; i++) {
		char c = s[i];
		if (c == '#' || c == '\\')
			fputc('\\', f);
		fputc(c == '\n' || c == '\r' ? ' ' : c, f);
	}
}

static void tap_line(struct fl_report *r, const struct fl_run_result *res, const struct stored_run *s)
{
	FILE *f = r->opt.tap;
	fprintf(f, "%s %zu - ", s->verdict == FL_VERDICT_PASS ? "ok" : "not ok", r->run_count);
	tap_desc(f, res->scenario, sizeof res->scenario);
	fprintf(f, " seed=%llu\n", (unsigned long long)res->seed);
	if (s->verdict == FL_VERDICT_PASS)
		return;
	fprintf(f, "  ---\n  verdict: %s\n  seed: %llu\n", fl_verdict_name(s->verdict),
	        (unsigned long long)s->seed);
	fputs("  property: ", f);
	json_str_or_null(f, s->property);
	fputs("\n  trace: ", f);
	json_str_or_null(f, s->trace);
	fprintf(f, "\n  trace_hash: \"%016llx\"\n  seconds: %.6f\n", (unsigned long long)s->trace_hash,
	        s->seconds);
	fputs("  detail: ", f);
	json_str(f, s->detail ? s->detail : "");
	fputs("\n  replay: ", f);
	json_str_or_null(f, s->replay);
	fputs("\n  ...\n", f);
	fflush(f);
}

/* ---- adding ---- */

int fl_report_add(struct fl_report *r, const struct fl_run_result *res)
{
	if ((unsigned)res->verdict >= FL_VERDICT_COUNT)
		return FL_EINVAL;
	if (r->run_count == r->run_cap) {
		size_t c = r->run_cap ? r->run_cap * 2 : 64;
		struct stored_run *v = realloc(r->runs, c * sizeof(*v));
		if (v == NULL)
			return FL_ENOMEM;
		r->runs = v;
		r->run_cap = c;
	}
	struct stored_run s = {
		.verdict = res->verdict,
		.seed = res->seed,
		.trace_hash = res->trace_hash,
		.seconds = res->seconds == res->seconds && res->seconds >= 0 ? res->seconds : 0,
	};
	bool ok = true;
	if (intern(r, res->scenario, sizeof res->scenario, &s.scenario))
		return FL_ENOMEM;
	s.property = dup_field(res->property, sizeof res->property, &ok);
	s.detail = dup_field(res->detail, sizeof res->detail, &ok);
	s.trace = dup_field(res->trace_path, sizeof res->trace_path, &ok);
	s.replay = dup_field(res->replay_cmd, sizeof res->replay_cmd, &ok);
	if (!ok) {
		free(s.property);
		free(s.detail);
		free(s.trace);
		free(s.replay);
		return FL_ENOMEM;
	}
	r->runs[r->run_count++] = s;
	r->by_verdict[s.verdict]++;
	r->seconds += s.seconds;
	if (s.verdict != FL_VERDICT_PASS)
		failure_entry(r, res);
	if (r->opt.tap)
		tap_line(r, res, &s);
	progress(r);
	return 0;
}

void fl_report_counts(const struct fl_report *r, struct fl_report_counts *c)
{
	c->runs = r->run_count;
	memcpy(c->by_verdict, r->by_verdict, sizeof c->by_verdict);
	c->seconds = r->seconds;
}

int fl_report_exit_status(const struct fl_report *r)
{
	return r->by_verdict[FL_VERDICT_PASS] == r->run_count ? 0 : 1;
}

void fl_report_summary_line(const struct fl_report *r, double wall_seconds, char *buf, size_t len)
{
	snprintf(buf, len, "%zu runs: %llu passed, %llu failed, %llu crashed, %llu hung, "
	                   "%llu deadlocked (%.2f s)",
	         r->run_count, (unsigned long long)r->by_verdict[FL_VERDICT_PASS],
	         (unsigned long long)r->by_verdict[FL_VERDICT_FAIL],
	         (unsigned long long)r->by_verdict[FL_VERDICT_CRASH],
	         (unsigned long long)r->by_verdict[FL_VERDICT_HANG],
	         (unsigned long long)r->by_verdict[FL_VERDICT_DEADLOCK],
	         wall_seconds >= 0 ? wall_seconds : r->seconds);
}

/* ---- files ---- */

int fl_report_write_json(const struct fl_report *r, FILE *f)
{
	fputs("{\"runs\": [", f);
	for (size_t i = 0; i < r->run_count; i++) {
		const struct stored_run *s = &r->runs[i];
		fputs(i ? ",\n  {" : "\n  {", f);
		fputs("\"scenario\": ", f);
		json_str(f, r->names[s->scenario]);
		fprintf(f, ", \"seed\": %llu, \"verdict\": \"%s\", \"property\": ",
		        (unsigned long long)s->seed, fl_verdict_name(s->verdict));
		json_str_or_null(f, s->property);
		fputs(", \"trace\": ", f);
		json_str_or_null(f, s->trace);
		fprintf(f, ", \"trace_hash\": \"%016llx\", \"seconds\": %.6f, \"detail\": ",
		        (unsigned long long)s->trace_hash, s->seconds);
		json_str(f, s->detail ? s->detail : "");
		fputc('}', f);
	}
	fprintf(f,
	        "%s],\n \"summary\": {\"runs\": %zu, \"passed\": %llu, \"failed\": %llu, "
	        "\"crashed\": %llu, \"hung\": %llu, \"deadlocked\": %llu}}\n",
	        r->run_count ? "\n" : "", r->run_count,
	        (unsigned long long)r->by_verdict[FL_VERDICT_PASS],
	        (unsigned long long)r->by_verdict[FL_VERDICT_FAIL],
	        (unsigned long long)r->by_verdict[FL_VERDICT_CRASH],
	        (unsigned long long)r->by_verdict[FL_VERDICT_HANG],
	        (unsigned long long)r->by_verdict[FL_VERDICT_DEADLOCK]);
	return ferror(f) ? FL_EIO : 0;
}

/* JUnit: runs grouped by scenario in order of first appearance.  O(names x
 * runs), fine for the tens of scenarios a suite holds. */
int fl_report_write_junit(const struct fl_report *r, FILE *f)
{
	uint64_t not_passed = r->run_count - r->by_verdict[FL_VERDICT_PASS];
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<testsuites name=\"faultline\" tests=\"%zu\" failures=\"%llu\" errors=\"0\" "
	        "time=\"%.6f\">\n",
	        r->run_count, (unsigned long long)not_passed, r->seconds);
	for (size_t n = 0; n < r->name_count; n++) {
		size_t tests = 0, failures = 0;
		double secs = 0;
		for (size_t i = 0; i < r->run_count; i++)
			if (r->runs[i].scenario == n) {
				tests++;
				failures += r->runs[i].verdict != FL_VERDICT_PASS;
				secs += r->runs[i].seconds;
			}
		fputs("  <testsuite name=\"", f);
		xml_str(f, r->names[n]);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.6f\">\n",
		        tests, failures, secs);
		for (size_t i = 0; i < r->run_count; i++) {
			const struct stored_run *s = &r->runs[i];
			if (s->scenario != n)
				continue;
			fputs("    <testcase classname=\"", f);
			xml_str(f, r->names[n]);
			fprintf(f, "\" name=\"seed=%llu\" time=\"%.6f\"", (unsigned long long)s->seed,
			        s->seconds);
			if (s->verdict == FL_VERDICT_PASS) {
				fputs("/>\n", f);
				continue;
			}
			fprintf(f, ">\n      <failure type=\"%s\" message=\"", fl_verdict_name(s->verdict));
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
			fprintf(f, "\ntrace_hash: %016llx\ndetail: ", (unsigned long long)s->trace_hash);
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

static int write_file(const struct fl_report *r, const char *path,
                      int (*writer)(const struct fl_report *, FILE *), char *err, size_t errlen)
{
	bool std = strcmp(path, "-") == 0;
	FILE *f = std ? stdout : fopen(path, "w");
	if (f == NULL) {
		if (errlen)
			snprintf(err, errlen, "%s: cannot open for writing", path);
		return FL_EIO;
	}
	int rc = writer(r, f);
	if (std)
		rc = fflush(f) != 0 ? FL_EIO : rc;
	else if (fclose(f) != 0)
		rc = FL_EIO;
	if (rc && errlen)
		snprintf(err, errlen, "%s: write error", path);
	return rc;
}

int fl_report_finish(struct fl_report *r, double wall_seconds, char *err, size_t errlen)
{
	char line[256];
	int rc = 0, rc2;
	if (errlen)
		err[0] = '\0';
	clear_progress(r);
	fl_report_summary_line(r, wall_seconds, line, sizeof line);
	fprintf(r->opt.out, "%s\n", line);
	fflush(r->opt.out);
	if (r->opt.tap) {
		fprintf(r->opt.tap, "1..%zu\n", r->run_count);
		fflush(r->opt.tap);
	}
	if (r->opt.json_path && (rc2 = write_file(r, r->opt.json_path, fl_report_write_json, err,
	                                          errlen)))
		rc = rc2;
	if (r->opt.junit_path &&
	    (rc2 = write_file(r, r->opt.junit_path, fl_report_write_junit, rc ? NULL : err,
	                      rc ? 0 : errlen)))
		rc = rc2;
	return rc;
}
