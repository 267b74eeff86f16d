/*
 * A small JSON reader: enough to read back faultline's own reports
 * (`faultline merge`).  The whole text is parsed into a tree; integers
 * that fit are kept exactly as uint64_t (seeds are 64-bit: a double would
 * round them).  Strict RFC 8259 syntax, nesting at most 64 deep; strings
 * are decoded to UTF-8 (\u escapes and surrogate pairs; a \u0000 is
 * refused, since the strings are C strings).
 */
#ifndef FL_HARNESS_JSON_READ_H
#define FL_HARNESS_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* fli_json_str writes s as a JSON string (also a valid YAML double-quoted
 * scalar): quotes, escapes, invalid UTF-8 as U+FFFD (report.c). */
void fli_json_str(FILE *f, const char *s);

enum fli_json_type {
	FL_JSON_NULL,
	FL_JSON_BOOL,
	FL_JSON_NUMBER,
	FL_JSON_STRING,
	FL_JSON_ARRAY,
	FL_JSON_OBJECT,
};

struct fli_json {
	enum fli_json_type type;
	bool boolean;  /* FL_JSON_BOOL */
	double number; /* FL_JSON_NUMBER */
	bool is_u64;   /* FL_JSON_NUMBER written as an integer in
	                            [0, 2^64-1]: u64 holds it exactly */
	uint64_t u64;
	char *string;           /* FL_JSON_STRING, NUL-terminated UTF-8 */
	struct fli_json *items; /* FL_JSON_ARRAY items, FL_JSON_OBJECT values */
	char **keys;            /* FL_JSON_OBJECT keys, beside items */
	size_t count;
};

/* fli_json_parse parses text[0..len) as one JSON value (whitespace around
 * it allowed).  Returns 0 and *out (free with fli_json_free), or FL_EPROTO
 * with err saying what is wrong and at which line, or FL_ENOMEM. */
int fli_json_parse(const char *text, size_t len, struct fli_json **out, char *err, size_t errlen);

/* fli_json_get returns the value of `key` in object v (the first, if the
 * key repeats), or NULL when v is not an object or has no such key. */
const struct fli_json *fli_json_get(const struct fli_json *v, const char *key);

/* fli_json_free releases a tree from fli_json_parse; NULL is a no-op. */
void fli_json_free(struct fli_json *v);

#endif
