/*
 * Baselines: failures already known, reported but not failing a batch
 * (faultline/report.h).
 *
 * A failure's signature is its scenario, verdict and property, and its
 * detail with what changes from run to run taken out: a run of digits
 * becomes N (seeds, counts, hit and allocation call numbers, times)
 * unless it says where or what (an op's line, a block's size, an offset
 * in a block, a pool's size, a hex code offset, a target gauge's name
 * such as g2, a count of 0: kept), every absolute path becomes PATH
 * (trace and history files), and a crash's detail stops before the ops
 * the actors happened to be in (a sanitizer's report's too).  An entry
 * with "sanitizer": "address" (or "undefined", "thread") applies only in
 * a build that has that sanitizer, as a sanitizer's suppressions do: in
 * another build it is not loaded, neither matched nor reported fixed.
 * Two runs that fail the same way in the
 * same place have the same signature; a failure at another op, another
 * crash site, another kind of block, has another.  A run that found
 * more than one violation is never known (report.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/report.h"

#include "run/json_read.h"
#include "run/runner.h"
#include "run/sanitizer.h"

struct fl_baseline_entry {
	char *scenario, *verdict, *property, *signature, *note;
	uint64_t seen; /* failures of this batch that matched it */
};

struct fl_baseline {
	struct fl_baseline_entry *v;
	size_t n, cap;
};

/* Digits at p (the run [p, q)) that say where or what, kept in the
 * signature: an op's line ("line 12"), a block's size ("the 140-byte
 * block", "(calloc, 112 bytes)"), an offset in a block ("byte 8"), a
 * chunk pool's size ("pool 64 B:"), and in the audits' lists of what
 * is left "after every actor closed" a count of 0.  There a 0 says which
 * of the resources listed leaked, and which did not: gauges_zero's "0
 * clients, 0 publications, 1 subscriptions, ..." and "0 clients, 0
 * publications, 0 subscriptions, 1 images, ..." are two leaks, and with
 * every count N a baseline that knew one passed any other (a new user's
 * trial: a stale image known, a kept subscription, publication or log
 * file each passed as it).  Elsewhere a 0 is a number like another: a
 * node 0 or a key k0 the run drew, "explains 0" of a history. */
static bool
kept_digits(const char *detail, const char *p, const char *q)
{
	size_t before = (size_t)(p - detail);

	if (q - p == 1 && *p == '0' && strstr(detail, "after every actor closed") != NULL)
		return true;
	if (before >= 5 && strncmp(p - 5, "pool ", 5) == 0 && strncmp(q, " B:", 3) == 0)
		return true;
	if ((before >= 5 && strncmp(p - 5, "line ", 5) == 0) ||
	    (before >= 5 && strncmp(p - 5, "byte ", 5) == 0))
		return true;
	if (strncmp(q, "-byte", 5) == 0)
		return true;
	return strncmp(q, " bytes)", 7) == 0 && before >= 2 && strncmp(p - 2, ", ", 2) == 0;
}

/* Digits at p inside the name of a target's gauge, in target_resources'
 * "target T: NAME is N once every object ... closed": kept with the rest
 * of the name (*q set past it).  Other names' digits (a node1, a key k3
 * drawn from the choice stream) are the same failure elsewhere: N. */
static bool
gauge_name_digits(const char *detail, const char *p, const char **q)
{
	const char *w = p, *e = p;

	if (strncmp(detail, "target ", 7) != 0 || p == detail ||
	    !(isalpha((unsigned char)p[-1]) || p[-1] == '_'))
		return false;
	while (w > detail && (isalnum((unsigned char)w[-1]) || w[-1] == '_'))
		w--;
	while (*e != '\0' && (isalnum((unsigned char)*e) || *e == '_'))
		e++;
	if (w < detail + 2 || strncmp(w - 2, ": ", 2) != 0 || strncmp(e, " is ", 4) != 0 ||
	    strstr(e, " once every object of ") == NULL)
		return false;
	*q = e;
	return true;
}

/* A sanitizer's verdict detail (sanitizer.c): "AddressSanitizer: ...". */
static bool
is_sanitizer_report(const char *detail)
{
	const char *colon = strstr(detail, "Sanitizer: ");

	return colon != NULL && strcspn(detail, " ") > (size_t)(colon - detail);
}

/* Whether this build has the sanitizer an entry names ("address",
 * "undefined", "thread"): fli_san_build() is the -Db_sanitize list. */
static bool
build_has(const char *sanitizer)
{
	const char *b = fli_san_build();
	size_t n = strlen(sanitizer);

	for (const char *p = b; (p = strstr(p, sanitizer)) != NULL; p += n)
		if ((p == b || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

void
fl_baseline_signature(const char *detail, char *out, size_t len)
{
	static const char actors[] = "; actors:";
	/* Big enough for a report's detail (400) and a run's (1024). */
	char cleaned[1100];
	const char *alone = strncmp(detail, "the run died of ", 16) == 0
	                            ? strstr(detail, FLI_ALONE_SAID)
	                            : NULL;
	const char *end;
	size_t o = 0;

	if (len == 0)
		return;
	/* Not what a crash in the persistent worker gave when run again
	 * alone (runner.c puts it before the actors' part): the same crash
	 * under --fork-each has none.  What follows it (the actors, a
	 * sweep's " [sweep: ...]") is read as it would be without it. */
	if (alone != NULL && strlen(detail) < sizeof(cleaned)) {
		const char *resume = alone + strlen(alone), *at;

		if ((at = strstr(alone, actors)) != NULL && at < resume)
			resume = at;
		if ((at = strstr(alone, " [sweep: ")) != NULL && at < resume)
			resume = at;
		snprintf(cleaned, sizeof(cleaned), "%.*s%s", (int)(alone - detail), detail, resume);
		detail = cleaned;
	}
	/* An op error's advice (run.c: "(no fault fired in this operation;
	 * ... or expect: any)", or "(only delays fired ...)") says whether a
	 * fault happened to fire, not where the failure is: left out, so the
	 * same error with and without a fault nearby is one failure. */
	static const char *const advice[] = { " (no fault fired in this operation;",
		                              " (only delays fired in this operation" };
	char plain[1100];
	for (size_t i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
		const char *a = strstr(detail, advice[i]), *close;

		if (a == NULL || (close = strstr(a, "expect: any)")) == NULL ||
		    strlen(detail) >= sizeof(plain))
			continue;
		snprintf(plain, sizeof(plain), "%.*s%s", (int)(a - detail), detail,
		         close + strlen("expect: any)"));
		detail = plain;
		break;
	}
	end = detail + strlen(detail);
	/* A crash: the signal, where it struck (its frames, their offsets
	 * verbatim) and what the harness saw of it, not which op each actor
	 * happened to be in (that varies from run to run); a sanitizer's
	 * report: its kind and frame, not the actors' ops. */
	if ((strncmp(detail, "the run died of ", 16) == 0 || is_sanitizer_report(detail)) &&
	    strstr(detail, actors) != NULL)
		end = strstr(detail, actors);
	for (const char *p = detail; p < end && o + 1 < len;) {
		const char *rep = NULL, *q = p;

		if (p[0] == '0' && p + 1 < end && (p[1] == 'x' || p[1] == 'X')) {
			/* A hex literal (a code offset): verbatim. */
			for (q = p + 2; q < end && strchr("0123456789abcdefABCDEF", *q) != NULL;
			     q++)
				;
		} else if (*p >= '0' && *p <= '9' && gauge_name_digits(detail, p, &q)) {
			/* A target gauge's name (g2): two gauges are two
			 * leaks, not one. */
		} else if (*p >= '0' && *p <= '9') {
			while (q < end && *q >= '0' && *q <= '9')
				q++;
			if (!kept_digits(detail, p, q))
				rep = "N";
		} else if (*p == '/' && (p == detail || p[-1] == ' ' || p[-1] == '(' ||
		                         p[-1] == '=' || p[-1] == '\'')) {
			while (q < end && *q != ' ' && *q != ')' && *q != '\'' && *q != ',')
				q++;
			rep = "PATH";
		} else {
			q = p + 1;
		}
		if (rep == NULL) {
			for (; p < q && o + 1 < len; p++)
				out[o++] = *p;
			continue;
		}
		for (; *rep != '\0' && o + 1 < len; rep++)
			out[o++] = *rep;
		p = q;
	}
	/* A sanitizer's run with more than one report: the others are not
	 * the first's, and the signature says so (a known first report
	 * never covers another process's unknown one). */
	if (is_sanitizer_report(detail) && strstr(end, "; and more reports") != NULL) {
		int k = snprintf(out + o, len - o, "; and more reports");

		o = k > 0 && (size_t)k < len - o ? o + (size_t)k : len - 1;
	}
	out[o] = '\0';
}

static int
add(struct fl_baseline *b, const char *scenario, const char *verdict, const char *property,
    const char *signature, const char *note)
{
	struct fl_baseline_entry *e;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct fl_baseline_entry *v = realloc(b->v, cap * sizeof(*v));

		if (v == NULL)
			return FL_ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	e = &b->v[b->n];
	*e = (struct fl_baseline_entry){ 0 };
	e->scenario = strdup(scenario);
	e->verdict = strdup(verdict);
	e->property = strdup(property);
	e->signature = strdup(signature);
	e->note = strdup(note);
	if (!e->scenario || !e->verdict || !e->property || !e->signature || !e->note) {
		free(e->scenario);
		free(e->verdict);
		free(e->property);
		free(e->signature);
		free(e->note);
		return FL_ENOMEM;
	}
	b->n++;
	return 0;
}

/* A string member of entry i, into *out; "" when absent and optional. */
static int
member(const struct fli_json *e, const char *key, bool required, const char **out, char *err,
       size_t errlen, const char *path, size_t i)
{
	const struct fli_json *v = fli_json_get(e, key);

	if (v == NULL && !required) {
		*out = "";
		return 0;
	}
	if (v == NULL || v->type != FL_JSON_STRING) {
		snprintf(err, errlen, "%s: known[%zu].%s: %s", path, i, key,
		         v == NULL ? "missing" : "a string expected");
		return FL_EPROTO;
	}
	*out = v->string;
	return 0;
}

int
fl_baseline_load(const char *path, struct fl_baseline **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0;
	struct fli_json *root = NULL;
	const struct fli_json *known;
	struct fl_baseline *b;
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return FL_ENOENT;
	}
	for (;;) {
		if (len + 4096 > cap) {
			char *t = realloc(text, cap = cap ? cap * 2 : 8192);

			if (t == NULL) {
				free(text);
				fclose(f);
				return FL_ENOMEM;
			}
			text = t;
		}
		size_t got = fread(text + len, 1, cap - len, f);

		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	rc = fli_json_parse(text, len, &root, err, errlen);
	free(text);
	if (rc != 0) {
		if (rc == FL_EPROTO) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, errlen, "%s: %s", path, msg);
		}
		return rc;
	}
	known = fli_json_get(root, "known");
	if (known == NULL || known->type != FL_JSON_ARRAY) {
		snprintf(err, errlen, "%s: expected an object with an array \"known\"", path);
		fli_json_free(root);
		return FL_EPROTO;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		fli_json_free(root);
		return FL_ENOMEM;
	}
	for (size_t i = 0; i < known->count; i++) {
		const struct fli_json *e = &known->items[i];
		const char *sc, *vd, *pr, *sg, *nt, *sn;
		enum fl_verdict v;

		if ((rc = member(e, "scenario", true, &sc, err, errlen, path, i)) != 0 ||
		    (rc = member(e, "verdict", true, &vd, err, errlen, path, i)) != 0 ||
		    (rc = member(e, "property", false, &pr, err, errlen, path, i)) != 0 ||
		    (rc = member(e, "signature", true, &sg, err, errlen, path, i)) != 0 ||
		    (rc = member(e, "note", false, &nt, err, errlen, path, i)) != 0 ||
		    (rc = member(e, "sanitizer", false, &sn, err, errlen, path, i)) != 0)
			break;
		if (sn[0] != '\0' && strcmp(sn, "address") != 0 && strcmp(sn, "undefined") != 0 &&
		    strcmp(sn, "thread") != 0) {
			snprintf(err, errlen,
			         "%s: known[%zu].sanitizer: '%s' is not address, undefined or "
			         "thread",
			         path, i, sn);
			rc = FL_EPROTO;
			break;
		}
		if (fl_verdict_parse(vd, &v) != 0 || v == FL_VERDICT_PASS) {
			snprintf(err, errlen,
			         "%s: known[%zu].verdict: '%s' is not a failing verdict (fail, "
			         "crash, "
			         "hang, deadlock)",
			         path, i, vd);
			rc = FL_EPROTO;
			break;
		}
		if (sn[0] != '\0' && !build_has(sn))
			continue; /* another build's: neither matched nor fixed here */
		if ((rc = add(b, sc, vd, pr, sg, nt)) != 0)
			break;
	}
	fli_json_free(root);
	if (rc != 0) {
		fl_baseline_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void
fl_baseline_free(struct fl_baseline *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].scenario);
		free(b->v[i].verdict);
		free(b->v[i].property);
		free(b->v[i].signature);
		free(b->v[i].note);
	}
	free(b->v);
	free(b);
}

int
fl_baseline_match(struct fl_baseline *b, const char *scenario, const char *verdict,
                  const char *property, const char *detail)
{
	char sig[sizeof(((struct fl_run_result *)0)->detail)];

	if (b == NULL)
		return -1;
	fl_baseline_signature(detail, sig, sizeof(sig));
	for (size_t i = 0; i < b->n; i++) {
		struct fl_baseline_entry *e = &b->v[i];

		if (strcmp(e->scenario, scenario) == 0 && strcmp(e->verdict, verdict) == 0 &&
		    strcmp(e->property, property) == 0 && strcmp(e->signature, sig) == 0) {
			e->seen++;
			return (int)i;
		}
	}
	return -1;
}

size_t
fl_baseline_count(const struct fl_baseline *b)
{
	return b == NULL ? 0 : b->n;
}

void
fl_baseline_entry(const struct fl_baseline *b, size_t i, const char **scenario,
                  const char **verdict, const char **property, const char **signature,
                  const char **note, uint64_t *seen)
{
	const struct fl_baseline_entry *e = &b->v[i];

	*scenario = e->scenario;
	*verdict = e->verdict;
	*property = e->property;
	*signature = e->signature;
	*note = e->note;
	*seen = e->seen;
}

int
fl_baseline_note_failure(struct fl_baseline **b, const char *scenario, const char *verdict,
                         const char *property, const char *detail)
{
	char sig[sizeof(((struct fl_run_result *)0)->detail)];

	if (*b == NULL && (*b = calloc(1, sizeof(**b))) == NULL)
		return FL_ENOMEM;
	if (fl_baseline_match(*b, scenario, verdict, property, detail) >= 0)
		return 0;
	fl_baseline_signature(detail, sig, sizeof(sig));
	if (add(*b, scenario, verdict, property, sig, "") != 0)
		return FL_ENOMEM;
	(*b)->v[(*b)->n - 1].seen = 1;
	return 0;
}

int
fl_baseline_write(const struct fl_baseline *b, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return FL_EIO;
	}
	fputs("{\"faultline_baseline\": 1,\n \"known\": [", f);
	for (size_t i = 0; b != NULL && i < b->n; i++) {
		const struct fl_baseline_entry *e = &b->v[i];

		fputs(i ? ",\n  {\"scenario\": " : "\n  {\"scenario\": ", f);
		fli_json_str(f, e->scenario);
		fputs(", \"verdict\": ", f);
		fli_json_str(f, e->verdict);
		fputs(", \"property\": ", f);
		fli_json_str(f, e->property);
		if (strcmp(e->property, "sanitizer") == 0) {
			/* A sanitizer's report: the entry is that build's. */
			fputs(", \"sanitizer\": ", f);
			fli_json_str(f,
			             strncmp(e->signature, "ThreadSanitizer", 15) == 0 ? "thread"
			             : strncmp(e->signature, "UndefinedBehaviorSanitizer", 26) == 0
			                     ? "undefined"
			                     : "address");
		}
		fputs(",\n   \"signature\": ", f);
		fli_json_str(f, e->signature);
		fputs(",\n   \"note\": ", f);
		fli_json_str(f, e->note);
		fputc('}', f);
	}
	fputs(b != NULL && b->n ? "\n ]}\n" : "]}\n", f);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: write error", path);
		return FL_EIO;
	}
	return 0;
}
