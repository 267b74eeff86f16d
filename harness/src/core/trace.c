/*
 * Trace files (format in trace.h).
 */
#include "faultline/trace.h"
#include "faultline/error.h"
#include "faultline/sandbox.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIGNAL_MAX 127 /* WTERMSIG's range */

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int
fl_trace_init(struct fl_trace *t, const char *kind, const char *name, uint64_t hash, uint64_t seed,
              const char *verdict, const char *property, const char *message,
              const uint64_t *choices, size_t nchoices)
{
	if (!t || !kind || !name || (nchoices && !choices))
		return FL_EINVAL;
	struct fl_trace n = { .version = FL_TRACE_VERSION, .hash = hash, .seed = seed };
	n.kind = strdup(kind);
	n.name = strdup(name);
	n.verdict = dup_or_null(verdict);
	n.property = (property && strcmp(property, "-") != 0) ? strdup(property) : NULL;
	n.message = dup_or_null(message);
	if (nchoices) {
		n.choices = malloc(nchoices * sizeof *n.choices);
		if (n.choices)
			memcpy(n.choices, choices, nchoices * sizeof *n.choices);
	}
	n.nchoices = nchoices;
	if (!n.kind || !n.name || (verdict && !n.verdict) || (message && !n.message) ||
	    (property && strcmp(property, "-") != 0 && !n.property) || (nchoices && !n.choices)) {
		fl_trace_fini(&n);
		return FL_ENOMEM;
	}
	*t = n;
	return 0;
}

int
fl_trace_add_extra(struct fl_trace *t, const char *key, const char *value)
{
	if (!t || !key || !*key || strpbrk(key, " \t\n") || !value)
		return FL_EINVAL;
	struct fl_trace_extra *ne = realloc(t->extra, (t->nextra + 1) * sizeof *ne);
	if (!ne)
		return FL_ENOMEM;
	t->extra = ne;
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return FL_ENOMEM;
	}
	for (char *p = v; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	ne[t->nextra].key = k;
	ne[t->nextra].value = v;
	t->nextra++;
	return 0;
}

const char *
fl_trace_get_extra(const struct fl_trace *t, const char *key)
{
	if (!t || !key)
		return NULL;
	for (size_t i = 0; i < t->nextra; i++)
		if (strcmp(t->extra[i].key, key) == 0)
			return t->extra[i].value;
	return NULL;
}

void
fl_trace_fini(struct fl_trace *t)
{
	if (!t)
		return;
	free(t->kind);
	free(t->name);
	free(t->verdict);
	free(t->property);
	free(t->message);
	free(t->choices);
	for (size_t i = 0; i < t->nextra; i++) {
		free(t->extra[i].key);
		free(t->extra[i].value);
	}
	free(t->extra);
	memset(t, 0, sizeof *t);
}

static void
put_line(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	fputc('\n', f);
}

int
fl_trace_fwrite(FILE *f, const struct fl_trace *t)
{
	if (!f || !t || !t->kind || !t->name || t->signal < 0 || t->signal > SIGNAL_MAX)
		return FL_EINVAL;
	fprintf(f, "faultline-trace %d\n", FL_TRACE_VERSION);
	fprintf(f, "kind %s\n", t->kind);
	fputs("name ", f);
	put_line(f, t->name);
	fprintf(f, "hash %016" PRIx64 "\n", t->hash);
	fprintf(f, "seed %" PRIu64 "\n", t->seed);
	fprintf(f, "verdict %s\n", t->verdict ? t->verdict : "-");
	if (t->signal && strcmp(fl_signal_name(t->signal), "SIG?") != 0)
		fprintf(f, "signal %s\n", fl_signal_name(t->signal));
	else if (t->signal)
		fprintf(f, "signal %d\n", t->signal); /* a name the reader cannot map back */
	fputs("property ", f);
	put_line(f, t->property ? t->property : "-");
	if (t->message && *t->message) {
		fputs("message ", f);
		put_line(f, t->message);
	}
	if (t->trace_hash)
		fprintf(f, "trace_hash %016" PRIx64 "\n", t->trace_hash);
	for (size_t i = 0; i < t->nextra; i++) {
		fprintf(f, "%s ", t->extra[i].key);
		put_line(f, t->extra[i].value);
	}
	fprintf(f, "choices %zu\n", t->nchoices);
	for (size_t i = 0; i < t->nchoices; i++)
		fprintf(f, "%" PRIu64 "%c", t->choices[i],
		        (i % 16 == 15 || i + 1 == t->nchoices) ? '\n' : ' ');
	fputs("end\n", f);
	return ferror(f) ? FL_EIO : 0;
}

int
fl_trace_write(const char *path, const struct fl_trace *t)
{
	if (!path || !t)
		return FL_EINVAL;
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	if (!tmp)
		return FL_ENOMEM;
	snprintf(tmp, n, "%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	int rc = FL_EIO;
	if (!f)
		goto out;
	rc = fl_trace_fwrite(f, t);
	if (fclose(f) != 0 && rc == 0)
		rc = FL_EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = FL_EIO;
	if (rc != 0)
		unlink(tmp);
out:
	free(tmp);
	return rc;
}

static void errf(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Digits only, as the writer writes them: strtoull alone would also take
 * leading blanks, a sign (" -5" is 2^64 - 5) and, in base 16, "0x".  No
 * leading zero in decimal: "010" reads as 8 to some and 10 to others. */
static int
parse_u64(const char *s, int base, uint64_t *out)
{
	if (!s || !*s || (base == 10 && s[0] == '0' && s[1] != '\0'))
		return -1;
	for (const char *p = s; *p; p++)
		if (!(*p >= '0' && *p <= '9') &&
		    !(base == 16 && ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))))
			return -1;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, base);
	if (errno)
		return -1;
	*out = v;
	return 0;
}

/* A signal is written by name when sandbox.c knows one, else as its
 * number; "SIG?" is not a name (it stood for any unknown signal). */
static int
parse_signal(const char *s)
{
	uint64_t v;
	if (parse_u64(s, 10, &v) == 0)
		return v >= 1 && v <= SIGNAL_MAX ? (int)v : -1;
	for (int i = 1; i <= SIGNAL_MAX; i++)
		if (strcmp(fl_signal_name(i), "SIG?") != 0 && strcmp(fl_signal_name(i), s) == 0)
			return i;
	return -1;
}

static int
set_str(char **dst, const char *v)
{
	char *d = strdup(v);
	if (!d)
		return FL_ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

int
fl_trace_fread(FILE *f, struct fl_trace *out, char *err, size_t errlen)
{
	if (!f || !out)
		return FL_EINVAL;
	struct fl_trace t = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = FL_EPROTO;
	bool header = false, in_choices = false, ended = false;
	size_t want = 0, have = 0; /* choices announced, room in t.choices */
	unsigned seen = 0;         /* the keys below, each allowed once */
	static const char *const once[] = {
		"kind",    "name",   "hash",     "trace_hash", "seed",
		"verdict", "signal", "property", "message",    "choices"
	};

	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (len == 0 || line[0] == '#')
			continue;
		if (ended) {
			errf(err, errlen, "line %u: text after end", lineno);
			goto fail;
		}
		if (in_choices) {
			if (strcmp(line, "end") == 0) {
				ended = true;
				continue;
			}
			char *save = NULL;
			for (char *tok = strtok_r(line, " \t", &save); tok;
			     tok = strtok_r(NULL, " \t", &save)) {
				uint64_t v;
				if (parse_u64(tok, 10, &v) != 0) {
					errf(err, errlen, "line %u: bad choice value '%s'", lineno,
					     tok);
					goto fail;
				}
				if (t.nchoices >= want) {
					errf(err, errlen, "line %u: more than %zu choices", lineno,
					     want);
					goto fail;
				}
				/* Grown as values arrive: the count is the file's word
				 * and a short file must not cost count * 8 bytes. */
				if (t.nchoices == have) {
					size_t n = have ? have * 2 : 1024;
					uint64_t *c;
					if (n > want)
						n = want;
					if (!(c = realloc(t.choices, n * sizeof *c))) {
						rc = FL_ENOMEM;
						goto fail;
					}
					t.choices = c;
					have = n;
				}
				t.choices[t.nchoices++] = v;
			}
			continue;
		}
		char *sp = strchr(line, ' ');
		const char *key = line, *val = "";
		if (sp) {
			*sp = 0;
			val = sp + 1;
		}
		if (!header) {
			uint64_t ver;
			if (strcmp(key, "faultline-trace") != 0 || parse_u64(val, 10, &ver) != 0) {
				errf(err, errlen,
				     "line %u: not a faultline trace (want 'faultline-trace 1')",
				     lineno);
				goto fail;
			}
			if (ver != FL_TRACE_VERSION) {
				errf(err, errlen, "line %u: unsupported trace version %" PRIu64,
				     lineno, ver);
				goto fail;
			}
			t.version = (int)ver;
			header = true;
			continue;
		}
		int r = 0;
		if (!*key || strchr(key, '\t')) {
			errf(err, errlen, "line %u: '%s' is not a key (a line is 'key value')",
			     lineno, key);
			goto fail;
		}
		for (unsigned k = 0; k < sizeof once / sizeof once[0]; k++) {
			if (strcmp(key, once[k]) != 0)
				continue;
			if (seen & (1u << k)) {
				errf(err, errlen, "line %u: %s: given twice", lineno, key);
				goto fail;
			}
			seen |= 1u << k;
		}
		if (strcmp(key, "kind") == 0) {
			r = set_str(&t.kind, val);
		} else if (strcmp(key, "name") == 0) {
			r = set_str(&t.name, val);
		} else if (strcmp(key, "hash") == 0) {
			if (parse_u64(val, 16, &t.hash) != 0) {
				errf(err, errlen, "line %u: hash: not hex '%s'", lineno, val);
				goto fail;
			}
		} else if (strcmp(key, "trace_hash") == 0) {
			if (parse_u64(val, 16, &t.trace_hash) != 0) {
				errf(err, errlen, "line %u: trace_hash: not hex '%s'", lineno, val);
				goto fail;
			}
		} else if (strcmp(key, "seed") == 0) {
			if (parse_u64(val, 10, &t.seed) != 0) {
				errf(err, errlen, "line %u: seed: not a number '%s'", lineno, val);
				goto fail;
			}
		} else if (strcmp(key, "verdict") == 0) {
			r = set_str(&t.verdict, val);
		} else if (strcmp(key, "signal") == 0) {
			t.signal = parse_signal(val);
			if (t.signal < 0) {
				errf(err, errlen,
				     "line %u: signal: unknown '%s' (a name such as SIGSEGV, or a "
				     "number "
				     "from 1 to %d)",
				     lineno, val, SIGNAL_MAX);
				goto fail;
			}
		} else if (strcmp(key, "property") == 0) {
			if (strcmp(val, "-") != 0)
				r = set_str(&t.property, val);
		} else if (strcmp(key, "message") == 0) {
			r = set_str(&t.message, val);
		} else if (strcmp(key, "choices") == 0) {
			uint64_t n;
			if (parse_u64(val, 10, &n) != 0 || n > (1u << 28)) {
				errf(err, errlen, "line %u: choices: bad count '%s'", lineno, val);
				goto fail;
			}
			want = (size_t)n;
			in_choices = true;
		} else if (strcmp(key, "end") == 0) {
			errf(err, errlen, "line %u: end before choices", lineno);
			goto fail;
		} else if (fl_trace_get_extra(&t, key)) {
			errf(err, errlen, "line %u: %s: given twice", lineno, key);
			goto fail;
		} else {
			r = fl_trace_add_extra(&t, key, val);
		}
		if (r) {
			rc = r;
			goto fail;
		}
	}
	if (!header) {
		errf(err, errlen, "empty file: not a faultline trace");
		goto fail;
	}
	if (!t.kind || !t.name) {
		errf(err, errlen, "line %u: missing %s", lineno, !t.kind ? "kind" : "name");
		goto fail;
	}
	if (!in_choices) {
		errf(err, errlen, "line %u: missing 'choices N'", lineno);
		goto fail;
	}
	if (t.nchoices != want) {
		errf(err, errlen, "line %u: %zu choices, header says %zu", lineno, t.nchoices,
		     want);
		goto fail;
	}
	if (!ended) {
		errf(err, errlen, "line %u: missing 'end' (truncated file?)", lineno);
		goto fail;
	}
	free(line);
	*out = t;
	return 0;
fail:
	if (rc == FL_ENOMEM)
		errf(err, errlen, "line %u: out of memory", lineno);
	free(line);
	fl_trace_fini(&t);
	return rc;
}

int
fl_trace_read(const char *path, struct fl_trace *t, char *err, size_t errlen)
{
	if (!path || !t)
		return FL_EINVAL;
	FILE *f = fopen(path, "r");
	if (!f) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		return FL_EIO;
	}
	int rc = fl_trace_fread(f, t, err, errlen);
	fclose(f);
	return rc;
}

uint64_t
fl_trace_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; s && *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}
