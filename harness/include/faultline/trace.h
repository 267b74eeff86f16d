/*
 * Trace files: one failing (or passing) run, saved so that `faultline
 * replay` reaches the same verdict and `faultline shrink` can minimise it.
 * Shared by the property engine and the scenario engine.
 *
 * Text format, one "key value" per line, '#' starts a comment line:
 *
 *   faultline-trace 1
 *   kind property                 # or: scenario
 *   name refcount_leak            # property or scenario name
 *   hash 9ae1c0f3d2b4a517         # identity of the scenario/property (hex)
 *   seed 1234567                  # seed of the failing run (decimal)
 *   verdict fail                  # pass | fail | crash | hang | deadlock | ...
 *   signal SIGSEGV                # optional, with crash
 *   property image_refs           # the broken property, or -
 *   message image_refs: actor sub holds 1 reference   # optional, one line
 *   trace_hash 51f0a3c2e9d18b77   # optional: fl_choice_hash of the choices
 *   mode sim                      # any other key: kept verbatim in `extra`
 *   choices 5
 *   0 3 17 0 1
 *   end
 *
 * The values after `choices N` are N unsigned decimal integers separated by
 * spaces or newlines (16 a line when written).  `end` closes the file.
 * Unknown keys before `choices` are preserved (extra) so each engine can add
 * its own (mode, scheduler, ...).
 */
#ifndef FAULTLINE_TRACE_H
#define FAULTLINE_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_TRACE_VERSION 1

struct fl_trace_extra {
	char *key;
	char *value;
};

struct fl_trace {
	int version; /* FL_TRACE_VERSION */
	char *kind;  /* "property" or "scenario" */
	char *name;
	uint64_t hash; /* identity of the property / scenario */
	uint64_t seed;
	char *verdict;       /* "fail", "crash", ... */
	int signal;          /* 0 unless a crash */
	char *property;      /* broken property or NULL ("-") */
	char *message;       /* NULL or one line */
	uint64_t trace_hash; /* 0: not given */
	uint64_t *choices;
	size_t nchoices;
	struct fl_trace_extra *extra;
	size_t nextra;
};

/* fl_trace_init fills *t with the given fields, copying every string and the
 * choices (NULL strings allowed except kind and name).  Free with
 * fl_trace_fini.  Returns 0, FL_EINVAL or FL_ENOMEM. */
int fl_trace_init(struct fl_trace *t, const char *kind, const char *name, uint64_t hash,
                  uint64_t seed, const char *verdict, const char *property, const char *message,
                  const uint64_t *choices, size_t nchoices);

/* fl_trace_add_extra appends a key/value (copied); key has no spaces.
 * Returns 0, FL_EINVAL or FL_ENOMEM. */
int fl_trace_add_extra(struct fl_trace *t, const char *key, const char *value);

/* fl_trace_get_extra returns the value of an extra key or NULL. */
const char *fl_trace_get_extra(const struct fl_trace *t, const char *key);

/* fl_trace_fini frees everything the trace owns; safe on a zeroed trace. */
void fl_trace_fini(struct fl_trace *t);

/* fl_trace_fwrite / fl_trace_write write the text format to a stream or to a
 * file path (created 0644, replaced atomically through a temporary name).
 * Newlines in message are written as spaces.  Returns 0, FL_EINVAL or
 * FL_EIO. */
int fl_trace_fwrite(FILE *f, const struct fl_trace *t);
int fl_trace_write(const char *path, const struct fl_trace *t);

/* fl_trace_fread / fl_trace_read parse a trace; *t is filled on success
 * (free with fl_trace_fini).  Returns 0, FL_EIO (cannot open), FL_EPROTO
 * (malformed: a message naming the line is written to err if non-NULL),
 * FL_ENOMEM. */
int fl_trace_fread(FILE *f, struct fl_trace *t, char *err, size_t errlen);
int fl_trace_read(const char *path, struct fl_trace *t, char *err, size_t errlen);

/* fl_trace_hash_str is the 64-bit FNV-1a hash of a string: the `hash`
 * identity of a property is fl_trace_hash_str(name). */
uint64_t fl_trace_hash_str(const char *s);

#ifdef __cplusplus
}
#endif
#endif
