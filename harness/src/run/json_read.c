/*
 * JSON reader (see json_read.h): recursive descent over the whole text,
 * O(n) in its length; depth is bounded so hostile input cannot exhaust
 * the stack.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"

#include "run/json_read.h"

#define MAX_DEPTH 64

struct parser {
	const char *p, *end, *start;
	char *err;
	size_t errlen;
	int rc; /* first error: FL_EPROTO or FL_ENOMEM */
};

static int
fail(struct parser *ps, int rc, const char *fmt, ...)
{
	if (ps->rc != 0)
		return ps->rc;
	ps->rc = rc;
	if (ps->errlen > 0) {
		int line = 1;
		char msg[200];
		va_list ap;

		for (const char *q = ps->start; q < ps->p && q < ps->end; q++)
			line += *q == '\n';
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(ps->err, ps->errlen, "line %d: %s", line, msg);
	}
	return rc;
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool
literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int
hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4)
		return fail(ps, FL_EPROTO, "a \\u escape needs four hex digits");
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, FL_EPROTO, "a \\u escape needs four hex digits");
	}
	*out = v;
	return 0;
}

static size_t
put_utf8(char *dst, uint32_t cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | cp >> 6);
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | cp >> 12);
		dst[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | cp >> 18);
	dst[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	dst[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at ps->p (the opening quote); *out malloc'd.  The decoded text
 * is never longer than the escaped one, so one allocation of that size. */
static int
parse_string(struct parser *ps, char **out)
{
	const char *q = ++ps->p;
	char *buf, *w;

	while (q < ps->end && *q != '"')
		q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
	if (q >= ps->end)
		return fail(ps, FL_EPROTO, "a string is not closed");
	if ((buf = malloc((size_t)(q - ps->p) + 1)) == NULL)
		return fail(ps, FL_ENOMEM, "out of memory");
	w = buf;
	while (*ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;
		uint32_t cp, lo;

		if (c < 0x20) {
			free(buf);
			return fail(ps, FL_EPROTO, "a control character in a string");
		}
		if (c != '\\') {
			*w++ = *ps->p++;
			continue;
		}
		ps->p++;
		switch (*ps->p++) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u':
			if (hex4(ps, &cp) != 0)
				break;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (!literal(ps, "\\u") || hex4(ps, &lo) != 0 || lo < 0xdc00 ||
				    lo > 0xdfff) {
					fail(ps, FL_EPROTO, "a lone surrogate in a \\u escape");
					break;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(ps, FL_EPROTO, "a lone surrogate in a \\u escape");
				break;
			} else if (cp == 0) {
				fail(ps, FL_EPROTO, "\\u0000 in a string");
				break;
			}
			w += put_utf8(w, cp);
			break;
		default: fail(ps, FL_EPROTO, "an unknown escape in a string");
		}
		if (ps->rc != 0) {
			free(buf);
			return ps->rc;
		}
	}
	ps->p++;
	*w = '\0';
	*out = buf;
	return 0;
}

static int
parse_number(struct parser *ps, struct fli_json *v)
{
	const char *s = ps->p;
	bool integer = true, negative = *ps->p == '-';
	char tmp[64];

	if (negative)
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9')
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	else
		return fail(ps, FL_EPROTO, "not a value");
	if (ps->p < ps->end && *ps->p == '.') {
		integer = false;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, FL_EPROTO, "a number needs digits after '.'");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		integer = false;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, FL_EPROTO, "a number needs digits in its exponent");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if ((size_t)(ps->p - s) >= sizeof(tmp))
		return fail(ps, FL_EPROTO, "a number of more than 63 characters");
	memcpy(tmp, s, (size_t)(ps->p - s));
	tmp[ps->p - s] = '\0';
	v->type = FL_JSON_NUMBER;
	v->number = strtod(tmp, NULL);
	if (integer && !negative) {
		errno = 0;
		v->u64 = strtoull(tmp, NULL, 10);
		v->is_u64 = errno == 0;
	}
	return 0;
}

static int parse_value(struct parser *ps, struct fli_json *v, int depth);

static int
grow(struct parser *ps, struct fli_json *v, size_t *cap, bool keys)
{
	size_t c = *cap ? *cap * 2 : 8;
	struct fli_json *items;

	if (v->count < *cap)
		return 0;
	items = realloc(v->items, c * sizeof(*items));
	if (items == NULL)
		return fail(ps, FL_ENOMEM, "out of memory");
	v->items = items;
	if (keys) {
		char **k = realloc(v->keys, c * sizeof(*k));
		if (k == NULL)
			return fail(ps, FL_ENOMEM, "out of memory");
		v->keys = k;
	}
	*cap = c;
	return 0;
}

static int
parse_container(struct parser *ps, struct fli_json *v, int depth)
{
	bool object = *ps->p == '{';
	char close = object ? '}' : ']';
	size_t cap = 0;

	v->type = object ? FL_JSON_OBJECT : FL_JSON_ARRAY;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;

		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, FL_EPROTO, "an object key must be a string");
			if (parse_string(ps, &key) != 0)
				return ps->rc;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return fail(ps, FL_EPROTO, "':' expected after an object key");
			}
			ps->p++;
		}
		if (grow(ps, v, &cap, object) != 0) {
			free(key);
			return ps->rc;
		}
		memset(&v->items[v->count], 0, sizeof(v->items[0]));
		if (object)
			v->keys[v->count] = key;
		v->count++;
		if (parse_value(ps, &v->items[v->count - 1], depth + 1) != 0)
			return ps->rc;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return fail(ps, FL_EPROTO, "',' or '%c' expected", close);
	}
}

static int
parse_value(struct parser *ps, struct fli_json *v, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(ps, FL_EPROTO, "nested more than %d deep", MAX_DEPTH);
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, FL_EPROTO, "the text ends where a value was expected");
	switch (*ps->p) {
	case '{':
	case '[': return parse_container(ps, v, depth);
	case '"': v->type = FL_JSON_STRING; return parse_string(ps, &v->string);
	case 't':
	case 'f':
		v->type = FL_JSON_BOOL;
		v->boolean = *ps->p == 't';
		if (!literal(ps, v->boolean ? "true" : "false"))
			return fail(ps, FL_EPROTO, "not a value");
		return 0;
	case 'n':
		v->type = FL_JSON_NULL;
		if (!literal(ps, "null"))
			return fail(ps, FL_EPROTO, "not a value");
		return 0;
	default: return parse_number(ps, v);
	}
}

static void
free_value(struct fli_json *v)
{
	for (size_t i = 0; i < v->count; i++) {
		free_value(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
}

void
fli_json_free(struct fli_json *v)
{
	if (v == NULL)
		return;
	free_value(v);
	free(v);
}

int
fli_json_parse(const char *text, size_t len, struct fli_json **out, char *err, size_t errlen)
{
	struct parser ps = { .p = text,
		             .end = text + len,
		             .start = text,
		             .err = err,
		             .errlen = errlen };
	struct fli_json *v = calloc(1, sizeof(*v));

	if (errlen > 0)
		err[0] = '\0';
	if (v == NULL)
		return FL_ENOMEM;
	if (parse_value(&ps, v, 0) == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			fail(&ps, FL_EPROTO, "text after the value");
	}
	if (ps.rc != 0) {
		fli_json_free(v);
		return ps.rc;
	}
	*out = v;
	return 0;
}

const struct fli_json *
fli_json_get(const struct fli_json *v, const char *key)
{
	if (v == NULL || v->type != FL_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->count; i++)
		if (strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}
