/*
 * The loader's building blocks: the scenario's arena, error and warning
 * messages ("file:line: field: what"), lookups in the libyaml document (the
 * source of every line number) and typed field readers that check ranges
 * and presence.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "faultline/error.h"
#include "faultline/scenario.h"
#include "loader.h"

void *
fli_scn_arena_alloc(struct arena_block **a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (n == 0)
		n = sizeof(max_align_t);
	if (*a == NULL || (*a)->used + n > (*a)->cap) {
		size_t cap = n > 8192 ? n : 8192;
		struct arena_block *b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->next = *a;
		b->used = 0;
		b->cap = cap;
		*a = b;
	}
	void *p = (char *)(*a)->data + (*a)->used;
	(*a)->used += n;
	memset(p, 0, n);
	return p;
}

void
fli_scn_arena_free(struct arena_block *a)
{
	while (a != NULL) {
		struct arena_block *next = a->next;
		free(a);
		a = next;
	}
}
int
fli_scn_fail(struct loader *l, int line, const char *field, const char *fmt, ...)
{
	if (l->failed)
		return l->rc;
	l->failed = true;
	l->rc = FL_EINVAL;
	if (l->errlen == 0)
		return l->rc;
	int n;
	if (line > 0)
		n = snprintf(l->err, l->errlen, "%s:%d: %s: ", l->path, line, field);
	else
		n = snprintf(l->err, l->errlen, "%s: %s: ", l->path, field);
	if (n >= 0 && (size_t)n < l->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return l->rc;
}

int
fli_scn_fail_nomem(struct loader *l)
{
	if (!l->failed) {
		l->failed = true;
		l->rc = FL_ENOMEM;
		if (l->errlen)
			snprintf(l->err, l->errlen, "%s: out of memory", l->path);
	}
	return l->rc;
}

void
fli_scn_warn(struct loader *l, int line, const char *field, const char *fmt, ...)
{
	char buf[512], msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof buf, "%s:%d: %s: %s", l->path, line, field, msg);
	char **w = realloc(l->warnings, (l->warning_count + 1) * sizeof(*w));
	if (w == NULL)
		return;
	l->warnings = w;
	w[l->warning_count] = strdup(buf);
	if (w[l->warning_count] != NULL)
		l->warning_count++;
}

const char *
fli_scn_adup(struct loader *l, const char *str)
{
	size_t n = strlen(str) + 1;
	char *p = fli_scn_arena_alloc(l->arena, n);
	if (p == NULL) {
		fli_scn_fail_nomem(l);
		return NULL;
	}
	memcpy(p, str, n);
	return p;
}

/* ---- the libyaml document: lines and presence ---- */

yaml_node_t *
fli_scn_ynode(struct loader *l, int id)
{
	return yaml_document_get_node(&l->doc, id);
}

int
fli_scn_yline(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

bool
fli_scn_ynull(const yaml_node_t *n)
{
	if (n == NULL)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* The value node of `key` in mapping `map`, or NULL; *keyline gets the key's
 * line when non-NULL. */
yaml_node_t *
fli_scn_yget_k(struct loader *l, yaml_node_t *map, const char *key, int *keyline)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = fli_scn_ynode(l, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0) {
			if (keyline)
				*keyline = fli_scn_yline(k);
			return fli_scn_ynode(l, p->value);
		}
	}
	return NULL;
}

yaml_node_t *
fli_scn_yget(struct loader *l, yaml_node_t *map, const char *key)
{
	return fli_scn_yget_k(l, map, key, NULL);
}

yaml_node_t *
fli_scn_yitem(struct loader *l, yaml_node_t *seq, size_t i)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	if ((size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) <= i)
		return NULL;
	return fli_scn_ynode(l, seq->data.sequence.items.start[i]);
}

/* The line of a mapping, or the current item's line when the mapping is
 * absent or null (`offer:` with no value). */
int
fli_scn_map_line(struct loader *l, yaml_node_t *map)
{
	return map && !fli_scn_ynull(map) ? fli_scn_yline(map) : l->line;
}

void
fli_scn_join(char *buf, size_t n, const char *base, const char *key)
{
	if (base[0] != '\0')
		snprintf(buf, n, "%s.%s", base, key);
	else
		snprintf(buf, n, "%s", key);
}

/* ---- typed fields ---- */

int
fli_scn_need(struct loader *l, yaml_node_t *map, const char *base, const char *key)
{
	char f[160];
	fli_scn_join(f, sizeof f, base, key);
	return fli_scn_fail(l, fli_scn_map_line(l, map), f, "required field missing");
}

/*
 * Numbers are read here, from the text libcyaml hands over as a string:
 * libcyaml's own integer reader (strtoll with base 0, trailing text
 * ignored) takes 1e3 as 1, 2.5 as 2, 1_000 as 1, 010 as 8 and 0x10 as 16,
 * and its float reader takes 0.5abc as 0.5.  A misread number changes the
 * run silently, so anything but the plain form is an error.
 */

/* Returns 0 and *out for [+-]digits without leading zeros (010 is octal to
 * YAML 1.1 readers, decimal to others: it is refused rather than guessed),
 * -1 for anything else, 1 for a decimal integer beyond int64_t. */
int
fli_scn_parse_decimal(const char *s, int64_t *out)
{
	if (s == NULL)
		return -1;
	const char *d = s + (s[0] == '+' || s[0] == '-');
	if (d[0] < '0' || d[0] > '9' || (d[0] == '0' && d[1] != '\0'))
		return -1;
	for (const char *p = d; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno == ERANGE)
		return 1;
	*out = v;
	return 0;
}

/* Clips a value quoted in a message; a scalar may be as long as the file. */
#define CLIP(s) (int)(strlen(s) > 64 ? 64 : strlen(s)), (s), (strlen(s) > 64 ? "..." : "")

int
fli_scn_int_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                  const char *raw, int64_t min, int64_t max, bool required, int64_t dflt,
                  int64_t *out)
{
	yaml_node_t *n = fli_scn_yget(l, map, key);
	char f[160];
	int64_t v = 0;
	int r;
	if (n == NULL) {
		if (required)
			return fli_scn_need(l, map, base, key);
		*out = dflt;
		return 0;
	}
	if (raw == NULL)
		raw = "";
	fli_scn_join(f, sizeof f, base, key);
	if ((r = fli_scn_parse_decimal(raw, &v)) < 0)
		return fli_scn_fail(l, fli_scn_yline(n), f,
		                    "expected a decimal integer (got '%.*s%s')", CLIP(raw));
	if (r > 0 || v < min || v > max) {
		if (r == 0 && max == INT64_MAX)
			return fli_scn_fail(l, fli_scn_yline(n), f, "must be >= %lld (got %s)",
			                    (long long)min, raw);
		return fli_scn_fail(l, fli_scn_yline(n), f,
		                    "must be between %lld and %lld (got %.*s%s)", (long long)min,
		                    (long long)max, CLIP(raw));
	}
	*out = v;
	return 0;
}

int
fli_scn_u32_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                  const char *raw, int64_t min, int64_t max, bool required, uint32_t dflt,
                  uint32_t *out)
{
	int64_t r;
	int rc = fli_scn_int_field(l, map, base, key, raw, min, max, required, dflt, &r);
	if (rc == 0)
		*out = (uint32_t)r;
	return rc;
}

/* A decimal number: [+-], digits with an optional fraction, an optional
 * exponent (0.25, .5, 1e-3).  No hex floats, inf, nan or trailing text. */
int
fli_scn_number_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                     const char *raw, double *out)
{
	const char *p = raw ? raw : "";
	size_t digits = 0;
	p += *p == '+' || *p == '-';
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (digits > 0 && (*p == 'e' || *p == 'E')) {
		p++;
		p += *p == '+' || *p == '-';
		if (*p < '0' || *p > '9')
			digits = 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (digits == 0 || *p != '\0') {
		char f[160];
		fli_scn_join(f, sizeof f, base, key);
		raw = raw ? raw : "";
		return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, map, key)), f,
		                    "expected a decimal number (got '%.*s%s')", CLIP(raw));
	}
	*out = strtod(raw, NULL);
	return 0;
}

/* libcyaml reads any unknown word as true; accept only YAML's spellings. */
int
fli_scn_bool_check(struct loader *l, yaml_node_t *map, const char *base, const char *key)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off", "1", "0" };
	yaml_node_t *n = fli_scn_yget(l, map, key);
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp((const char *)n->data.scalar.value, words[i]) == 0)
			return 0;
	char f[160];
	fli_scn_join(f, sizeof f, base, key);
	return fli_scn_fail(l, fli_scn_yline(n), f, "expected true or false (got '%s')",
	                    (const char *)n->data.scalar.value);
}

bool
fli_scn_valid_name(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* A string field; `name` asks for an identifier (letters, digits, _-./). */
int
fli_scn_str_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                  const char *raw, bool required, bool name, const char **out)
{
	if (raw == NULL) {
		if (required)
			return fli_scn_need(l, map, base, key);
		*out = NULL;
		return 0;
	}
	char f[160];
	fli_scn_join(f, sizeof f, base, key);
	int line = fli_scn_yline(fli_scn_yget(l, map, key));
	if (raw[0] == '\0')
		return fli_scn_fail(l, line, f, "must not be empty");
	if (name && !fli_scn_valid_name(raw))
		return fli_scn_fail(l, line, f,
		                    "'%s' is not a valid name (letters, digits, '_', '-', '.')",
		                    raw);
	*out = fli_scn_adup(l, raw);
	return *out ? 0 : l->rc;
}

int
fli_scn_enum_field(struct loader *l, yaml_node_t *map, const char *base, const char *key,
                   const char *raw, const char *const *names, int count, int dflt, int *out)
{
	if (raw == NULL) {
		if (dflt < 0)
			return fli_scn_need(l, map, base, key);
		*out = dflt;
		return 0;
	}
	for (int i = 0; i < count; i++) {
		if (strcmp(raw, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	char f[160], list[256] = "";
	fli_scn_join(f, sizeof f, base, key);
	for (int i = 0; i < count; i++) {
		strncat(list, names[i], sizeof list - strlen(list) - 1);
		if (i + 1 < count)
			strncat(list, ", ", sizeof list - strlen(list) - 1);
	}
	return fli_scn_fail(l, fli_scn_yline(fli_scn_yget(l, map, key)), f,
	                    "must be one of %s (got '%s')", list, raw);
}

/* Edit distance of a and b (each at most 127 bytes counted). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[128];
	if (la > 127)
		la = 127;
	if (lb > 127)
		lb = 127;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *
fli_scn_nearest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bd = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		size_t d = edit_distance(word, names[i]);
		if (d < bd) {
			bd = d;
			best = names[i];
		}
	}
	/* A quarter of the word, at least one edit: "no_leaks" is not taken
	 * for no_loss (3 edits), "ofer" is for offer. */
	size_t most = strlen(word) / 4;
	return bd <= (most > 1 ? most : 1) ? best : NULL;
}
