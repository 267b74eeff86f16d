/*
 * Reading histories: Jepsen's EDN (one map a line) and Jepsen's log lines.
 * Events are paired into operations per process; every error names the
 * file and line.
 */
#include "faultline/history.h"
#include "faultline/error.h"
#include "history_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena the values live in ---- */

struct fl_history_arena {
	struct fl_history_arena *next;
	size_t used, cap;
	max_align_t data[];
};

void *
fli_history_alloc(struct fl_history_arena **a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!*a || (*a)->cap - (*a)->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		struct fl_history_arena *b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = *a;
		b->used = 0;
		b->cap = cap;
		*a = b;
	}
	void *p = (char *)(*a)->data + (*a)->used;
	(*a)->used += n;
	return p;
}

static void
arena_free(struct fl_history_arena *a)
{
	while (a) {
		struct fl_history_arena *n = a->next;
		free(a);
		a = n;
	}
}

/* ---- the reader ---- */

struct reader {
	const char *p, *end; /* the current line */
	const char *file;
	uint32_t line;
	struct fl_history_arena **arena;
	char *err;
	size_t errlen;
	int rc; /* the first error */
};

static int
fail(struct reader *r, const char *fmt, ...)
{
	if (r->rc)
		return r->rc;
	int k = snprintf(r->err, r->errlen, "%s:%" PRIu32 ": ", r->file, r->line);
	if (k >= 0 && (size_t)k < r->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	r->rc = FL_EINVAL;
	return r->rc;
}

static void
skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == ',' || *r->p == '\r'))
		r->p++;
}

static bool
delimiter(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n' || c == '}' ||
	       c == ']' || c == ')' || c == '{' || c == '[' || c == '(' || c == '"';
}

static const char *
token_end(struct reader *r)
{
	const char *q = r->p;
	while (q < r->end && !delimiter(*q))
		q++;
	return q;
}

static char *
copy_str(struct reader *r, const char *s, size_t n)
{
	char *c = fli_history_alloc(r->arena, n + 1);
	if (!c) {
		r->rc = FL_ENOMEM;
		return NULL;
	}
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

static int read_value(struct reader *r, struct fl_hvalue *v, int depth);

static int
read_string(struct reader *r, struct fl_hvalue *v)
{
	const char *q = ++r->p;
	size_t n = 0;
	while (q < r->end && *q != '"') { /* count the bytes first */
		if (*q == '\\')
			q++;
		q++;
		n++;
	}
	if (q >= r->end)
		return fail(r, "a string is not closed before the end of the line");
	char *s = fli_history_alloc(r->arena, n + 1);
	if (!s)
		return r->rc = FL_ENOMEM;
	size_t k = 0;
	for (; r->p < q; r->p++) {
		char c = *r->p;
		if (c == '\\') {
			c = *++r->p;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '"':
			case '\\': break;
			default: return fail(r, "string escape \\%c is not one EDN has", c);
			}
		}
		s[k++] = c;
	}
	s[k] = '\0';
	r->p = q + 1;
	v->kind = FL_HV_STRING;
	v->s = s;
	v->len = k;
	return 0;
}

/* [a b], (a b), {k v}, #{a b}: r->p at the opening bracket (after the #
 * of a set). */
static int
read_list(struct reader *r, struct fl_hvalue *v, int depth, enum fl_hvalue_kind kind)
{
	char close = *r->p == '[' ? ']' : *r->p == '(' ? ')' : '}';
	r->p++;
	size_t n = 0, cap = 0;
	struct fl_hvalue *items = NULL;
	for (;;) {
		skip_space(r);
		if (r->p >= r->end) {
			free(items);
			return fail(r, "a list is not closed before the end of the line");
		}
		if (*r->p == close) {
			r->p++;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			struct fl_hvalue *g = realloc(items, cap * sizeof(*g));
			if (!g) {
				free(items);
				return r->rc = FL_ENOMEM;
			}
			items = g;
		}
		if (read_value(r, &items[n], depth + 1)) {
			free(items);
			return r->rc;
		}
		n++;
	}
	struct fl_hvalue *a = n ? fli_history_alloc(r->arena, n * sizeof(*a)) : NULL;
	if (n && !a) {
		free(items);
		return r->rc = FL_ENOMEM;
	}
	if (n)
		memcpy(a, items, n * sizeof(*a));
	free(items);
	if (kind == FL_HV_MAP && n % 2)
		return fail(r, "a map has a key without a value");
	v->kind = kind;
	v->item = a;
	v->len = n;
	return 0;
}

static int
read_value(struct reader *r, struct fl_hvalue *v, int depth)
{
	memset(v, 0, sizeof(*v));
	skip_space(r);
	if (r->p >= r->end)
		return fail(r, "a value is missing at the end of the line");
	if (depth > 16)
		return fail(r, "values nest more than 16 deep");
	char c = *r->p;
	if (c == '"')
		return read_string(r, v);
	if (c == '[' || c == '(')
		return read_list(r, v, depth, FL_HV_LIST);
	if (c == '{')
		return read_list(r, v, depth, FL_HV_MAP);
	if (c == '#' && r->p + 1 < r->end && r->p[1] == '{') {
		r->p++;
		return read_list(r, v, depth, FL_HV_SET);
	}
	const char *e = token_end(r);
	size_t n = (size_t)(e - r->p);
	if (n == 0)
		return fail(r, "unexpected '%c'", c);
	if (c == ':') {
		if (n == 1)
			return fail(r, "a keyword has no name");
		v->kind = FL_HV_KEYWORD;
		v->s = copy_str(r, r->p + 1, n - 1);
		v->len = n - 1;
		r->p = e;
		return v->s ? 0 : r->rc;
	}
	if (n == 3 && memcmp(r->p, "nil", 3) == 0) {
		v->kind = FL_HV_NIL;
	} else if (n == 4 && memcmp(r->p, "true", 4) == 0) {
		v->kind = FL_HV_BOOL;
		v->i = 1;
	} else if (n == 5 && memcmp(r->p, "false", 5) == 0) {
		v->kind = FL_HV_BOOL;
	} else if ((c >= '0' && c <= '9') || ((c == '-' || c == '+') && n > 1)) {
		char buf[32];
		if (n >= sizeof(buf))
			return fail(r, "number '%.*s' is too long", (int)n, r->p);
		memcpy(buf, r->p, n);
		buf[n] = '\0';
		if (buf[n - 1] == 'N') /* EDN's arbitrary-precision suffix */
			buf[n - 1] = '\0';
		char *end;
		errno = 0;
		long long x = strtoll(buf, &end, 10);
		if (*end == '\0' && errno == ERANGE)
			return fail(r, "integer '%.*s' does not fit 64 bits", (int)n, r->p);
		if (*end || errno) { /* a float, a ratio: kept as text */
			v->kind = FL_HV_OTHER;
			v->s = copy_str(r, r->p, n);
			v->len = n;
			r->p = e;
			return v->s ? 0 : r->rc;
		}
		v->kind = FL_HV_INT;
		v->i = x;
	} else { /* a symbol, a character, a tag: kept as text */
		v->kind = FL_HV_OTHER;
		v->s = copy_str(r, r->p, n);
		v->len = n;
		if (!v->s)
			return r->rc;
	}
	r->p = e;
	return 0;
}

/* ---- events and pairing ---- */

struct event {
	bool has_process;
	int64_t process;
	bool has_index; /* Jepsen's :index, the event's place in the history */
	int64_t index;
	enum { EV_INVOKE, EV_OK, EV_FAIL, EV_INFO } type;
	const char *f;
	struct fl_hvalue key, value;
};

static int
read_type(struct reader *r, const struct fl_hvalue *t, struct event *ev)
{
	static const char *const names[] = { "invoke", "ok", "fail", "info" };
	if (t->kind == FL_HV_KEYWORD)
		for (int i = 0; i < 4; i++)
			if (strcmp(t->s, names[i]) == 0) {
				ev->type = i;
				return 0;
			}
	return fail(r, "type must be :invoke, :ok, :fail or :info");
}

static int
read_process(struct reader *r, const struct fl_hvalue *p, struct event *ev)
{
	if (p->kind == FL_HV_INT) {
		ev->has_process = true;
		ev->process = p->i;
		return 0;
	}
	/* Jepsen's nemesis is the one process that is not a client: its
	 * events are faults, not operations, and are skipped.  Any other
	 * name is not skipped: a client's ops dropped for its name would be
	 * judged without them, which can turn a wrong history linearizable. */
	if (p->kind == FL_HV_KEYWORD && strcmp(p->s, "nemesis") == 0)
		return 0;
	char buf[64];
	fl_hvalue_format(p, buf, sizeof(buf));
	return fail(r, "process must be an integer (a client) or :nemesis, not %s", buf);
}

/* The keys a map has had so far (names in the arena). */
struct seen_keys {
	const char **name;
	size_t n, cap;
};

/* Adds k to the keys seen; fails if it is there already.  EDN (Clojure's
 * reader) refuses a map with a key twice; taking the last one, as a
 * reader that assigns would, lets `:value 7, :value 1` or `:type :ok,
 * :type :info` change what the op says without a word. */
static int
key_once(struct reader *r, struct seen_keys *seen, const char *k)
{
	for (size_t i = 0; i < seen->n; i++)
		if (strcmp(seen->name[i], k) == 0)
			return fail(r, "key :%s is in the map twice (EDN allows a key once)", k);
	if (seen->n == seen->cap) {
		size_t cap = seen->cap ? seen->cap * 2 : 8;
		const char **g = realloc(seen->name, cap * sizeof(*g));
		if (!g)
			return r->rc = FL_ENOMEM;
		seen->name = g;
		seen->cap = cap;
	}
	seen->name[seen->n++] = k;
	return 0;
}

static int
read_edn_map(struct reader *r, struct event *ev, struct seen_keys *seen)
{
	if (*r->p != '{')
		return fail(r, "expected an EDN map '{:process ..., :type ..., :f ...}'");
	r->p++;
	bool seen_process = false, seen_type = false, seen_f = false;
	for (;;) {
		skip_space(r);
		if (r->p >= r->end)
			return fail(r, "the map is not closed before the end of the line");
		if (*r->p == '}') {
			r->p++;
			break;
		}
		struct fl_hvalue k, v;
		if (read_value(r, &k, 1))
			return r->rc;
		if (k.kind != FL_HV_KEYWORD)
			return fail(r, "map keys must be keywords");
		if (key_once(r, seen, k.s))
			return r->rc;
		skip_space(r);
		if (r->p < r->end && *r->p == '}')
			return fail(r, "key :%s has no value", k.s);
		if (read_value(r, &v, 1))
			return r->rc;
		if (strcmp(k.s, "process") == 0) {
			if (read_process(r, &v, ev))
				return r->rc;
			seen_process = true;
		} else if (strcmp(k.s, "type") == 0) {
			if (read_type(r, &v, ev))
				return r->rc;
			seen_type = true;
		} else if (strcmp(k.s, "f") == 0) {
			if (v.kind != FL_HV_KEYWORD && v.kind != FL_HV_STRING)
				return fail(r, ":f must be a keyword such as :read");
			ev->f = v.s;
			seen_f = true;
		} else if (strcmp(k.s, "key") == 0) {
			ev->key = v;
		} else if (strcmp(k.s, "value") == 0) {
			ev->value = v;
		} else if (strcmp(k.s, "index") == 0 && v.kind != FL_HV_NIL) {
			/* the order of the lines is taken for the history's
			 * real-time order: an :index says whether it is (see
			 * fl_history_parse); nil is none, as a Jepsen op record
			 * made without one prints it */
			if (v.kind != FL_HV_INT)
				return fail(r, ":index must be an integer (or nil)");
			ev->has_index = true;
			ev->index = v.i;
		}
	}
	skip_space(r);
	if (r->p < r->end)
		return fail(r, "text after the map: one map a line");
	if (!seen_process || !seen_type || !seen_f)
		return fail(r, "the map lacks :%s",
		            !seen_process ? "process"
		            : !seen_type  ? "type"
		                          : "f");
	return 0;
}

static int
read_edn_line(struct reader *r, struct event *ev)
{
	struct seen_keys seen = { 0 };
	int rc = read_edn_map(r, ev, &seen);
	free(seen.name);
	return rc;
}

static const char log_marker[] = "jepsen.util - ";

static int
read_log_line(struct reader *r, struct event *ev)
{
	const char *m = NULL;
	for (const char *q = r->p; q + sizeof(log_marker) - 1 <= r->end; q++)
		if (memcmp(q, log_marker, sizeof(log_marker) - 1) == 0) {
			m = q;
			break;
		}
	if (!m)
		return fail(r, "expected a Jepsen log line 'INFO  jepsen.util - "
		               "PROCESS\\t:TYPE\\t:F\\tVALUE'");
	r->p = m + sizeof(log_marker) - 1;
	struct fl_hvalue v;
	if (read_value(r, &v, 1) || read_process(r, &v, ev))
		return r->rc;
	if (read_value(r, &v, 1) || read_type(r, &v, ev))
		return r->rc;
	if (read_value(r, &v, 1))
		return r->rc;
	if (v.kind != FL_HV_KEYWORD)
		return fail(r, "the function must be a keyword such as :read");
	ev->f = v.s;
	skip_space(r);
	if (r->p < r->end && read_value(r, &ev->value, 1))
		return r->rc;
	skip_space(r);
	if (r->p < r->end)
		return fail(r, "text after the value: '%.*s'", (int)(r->end - r->p), r->p);
	return 0;
}

/* Open operations by process: open addressing, keys never removed. */
struct open_map {
	int64_t *proc;
	uint32_t *op; /* UINT32_MAX: none open */
	size_t cap, n;
};

static uint32_t *
open_slot(struct open_map *m, int64_t p)
{
	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		int64_t *np = malloc(cap * sizeof(*np));
		uint32_t *no = malloc(cap * sizeof(*no));
		if (!np || !no) {
			free(np);
			free(no);
			return NULL;
		}
		for (size_t i = 0; i < cap; i++)
			no[i] = UINT32_MAX - 1; /* empty slot */
		for (size_t i = 0; i < m->cap; i++) {
			if (m->op[i] == UINT32_MAX - 1)
				continue;
			size_t h = (uint64_t)m->proc[i] * 0x9E3779B97F4A7C15ull >> 7;
			while (no[h & (cap - 1)] != UINT32_MAX - 1)
				h++;
			np[h & (cap - 1)] = m->proc[i];
			no[h & (cap - 1)] = m->op[i];
		}
		free(m->proc);
		free(m->op);
		m->proc = np;
		m->op = no;
		m->cap = cap;
	}
	size_t h = (uint64_t)p * 0x9E3779B97F4A7C15ull >> 7;
	for (;; h++) {
		size_t i = h & (m->cap - 1);
		if (m->op[i] == UINT32_MAX - 1) {
			m->proc[i] = p;
			m->op[i] = UINT32_MAX;
			m->n++;
			return &m->op[i];
		}
		if (m->proc[i] == p)
			return &m->op[i];
	}
}

static const char *
type_name(int t)
{
	static const char *const n[] = { "invoke", "ok", "fail", "info" };
	return n[t];
}

int
fl_history_parse(const char *text, size_t len, const char *file,
                 const struct fl_history_model *model, struct fl_history *h, char *err,
                 size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (errlen)
		err[0] = '\0';
	h->file = strdup(file ? file : "(history)");
	if (!h->file)
		return FL_ENOMEM;
	struct reader r = { .file = h->file, .arena = &h->arena, .err = err, .errlen = errlen };
	struct open_map open = { 0 };
	size_t cap = 0;
	uint32_t events = 0;
	int format = 0;          /* 1 EDN, 2 log */
	bool have_index = false; /* the last :index read, and its line */
	int64_t last_index = 0;
	uint32_t last_index_line = 0;
	const char *p = text, *end = text + len;
	while (p < end && !r.rc) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		r.line++;
		r.p = p;
		r.end = eol;
		p = nl ? nl + 1 : end;
		skip_space(&r);
		if (r.p == r.end || *r.p == ';')
			continue;
		if (memchr(r.p, '\0', (size_t)(r.end - r.p))) {
			fail(&r, "a NUL byte: this is not a text history");
			break;
		}
		if (!format)
			format = *r.p == '{' ? 1 : 2;
		struct event ev = { 0 };
		if ((format == 1 ? read_edn_line(&r, &ev) : read_log_line(&r, &ev)) != 0)
			break;
		/* The checker takes the lines' order for the order the events
		 * happened in.  Jepsen numbers its events in that order (the
		 * nemesis's too), so an :index that does not grow says the
		 * lines were reordered (sorted by process, say), and checking
		 * them as they stand would judge a history that never was. */
		if (ev.has_index) {
			if (have_index && ev.index <= last_index) {
				fail(&r,
				     ":index %" PRId64 " is not after line %" PRIu32 "'s %" PRId64
				     ": the lines are not in the history's order",
				     ev.index, last_index_line, last_index);
				break;
			}
			have_index = true;
			last_index = ev.index;
			last_index_line = r.line;
		}
		if (!ev.has_process)
			continue;
		if (events == UINT32_MAX - 2) {
			fail(&r, "more than %u events", UINT32_MAX - 2);
			break;
		}
		uint32_t *slot = open_slot(&open, ev.process);
		if (!slot) {
			r.rc = FL_ENOMEM;
			break;
		}
		if (ev.type == EV_INVOKE) {
			if (*slot != UINT32_MAX) {
				fail(&r,
				     "process %" PRId64
				     " invokes %s while its %s from line %" PRIu32 " is still open",
				     ev.process, ev.f, h->ops[*slot].f, h->ops[*slot].line);
				break;
			}
			if (h->n == cap) {
				cap = cap ? cap * 2 : 256;
				struct fl_history_op *g = realloc(h->ops, cap * sizeof(*g));
				if (!g) {
					r.rc = FL_ENOMEM;
					break;
				}
				h->ops = g;
			}
			struct fl_history_op *op = &h->ops[h->n];
			memset(op, 0, sizeof(*op));
			op->process = ev.process;
			op->f = ev.f;
			op->key = ev.key;
			op->in = ev.value;
			op->outcome = FL_HOP_INFO;
			op->call = events++;
			op->ret = UINT32_MAX;
			op->line = r.line;
			*slot = (uint32_t)h->n++;
			continue;
		}
		if (*slot == UINT32_MAX) {
			fail(&r, "process %" PRId64 " completes (:%s) %s with no operation open",
			     ev.process, type_name(ev.type), ev.f);
			break;
		}
		struct fl_history_op *op = &h->ops[*slot];
		if (strcmp(op->f, ev.f) != 0) {
			fail(&r, "process %" PRId64 " completes %s but invoked %s at line %" PRIu32,
			     ev.process, ev.f, op->f, op->line);
			break;
		}
		if (ev.key.kind != FL_HV_ABSENT && !fl_hvalue_equal(&ev.key, &op->key)) {
			fail(&r,
			     "process %" PRId64
			     " completes with another key than it invoked with at line %" PRIu32,
			     ev.process, op->line);
			break;
		}
		op->ret_line = r.line;
		*slot = UINT32_MAX;
		if (ev.type == EV_INFO) {
			events++;
			continue; /* stays open for ever: ret UINT32_MAX, out ABSENT */
		}
		op->outcome = ev.type == EV_OK ? FL_HOP_OK : FL_HOP_FAIL;
		op->out = ev.value;
		op->ret = events++;
	}
	free(open.proc);
	free(open.op);
	if (!r.rc && h->n == 0) {
		r.line = 0;
		snprintf(err, errlen, "%s: no operations: not a history (or only the nemesis's)",
		         h->file);
		r.rc = FL_EINVAL;
	}
	if (!r.rc && model)
		r.rc = fl_history_check_ops(h, model, err, errlen);
	if (r.rc) {
		if (r.rc == FL_ENOMEM && errlen)
			snprintf(err, errlen, "%s: out of memory", h->file);
		fl_history_fini(h);
	}
	return r.rc;
}

/* A per-key model's history is split by key, each key an object of its
 * own, keys compared as they are written.  So a key must be a value
 * whose writing is the value (a string, an integer, a keyword: not a set
 * or a map, whose order of writing is not, nor a float), or one object
 * could be split in two and each half pass alone; and either every op
 * has a :key or none does: ops without one would be one more object
 * beside the keyed ones, which is no reading of such a history. */
static int
check_keys(const struct fl_history *h, const struct fl_history_model *model, char *err,
           size_t errlen)
{
	const struct fl_history_op *keyed = NULL, *unkeyed = NULL;
	for (size_t i = 0; i < h->n; i++) {
		const struct fl_history_op *op = &h->ops[i];
		enum fl_hvalue_kind k = op->key.kind;
		if (k == FL_HV_ABSENT) {
			if (!unkeyed)
				unkeyed = op;
		} else if (k != FL_HV_STRING && k != FL_HV_INT && k != FL_HV_KEYWORD) {
			snprintf(err, errlen,
			         "%s:%" PRIu32 ": a :key must be a string, an integer or a keyword "
			         "(model %s)",
			         h->file, op->line, model->name);
			return FL_EINVAL;
		} else if (!keyed) {
			keyed = op;
		}
		if (keyed && unkeyed) {
			snprintf(err, errlen,
			         "%s:%" PRIu32 ": this op has %s :key but the op at line %" PRIu32
			         " has %s: each key is an object of its own, so give every op a "
			         ":key or none (model %s)",
			         h->file, op->line, op == keyed ? "a" : "no",
			         op == keyed ? unkeyed->line : keyed->line,
			         op == keyed ? "none" : "one", model->name);
			return FL_EINVAL;
		}
	}
	return 0;
}

int
fl_history_check_ops(struct fl_history *h, const struct fl_history_model *model, char *err,
                     size_t errlen)
{
	/* Not vetted until every op is: a half-done pass leaves fcodes of
	 * this model on some ops, which no model's check may step. */
	h->model = NULL;
	for (size_t i = 0; i < h->n; i++) {
		struct fl_history_op *op = &h->ops[i];
		const char *why = model->check_op(op);
		if (why) {
			snprintf(err, errlen, "%s:%" PRIu32 ": %s (model %s)", h->file,
			         op->ret_line && strncmp(why, "the answer", 10) == 0 ? op->ret_line
			                                                             : op->line,
			         why, model->name);
			return FL_EINVAL;
		}
	}
	if (model->per_key && check_keys(h, model, err, errlen))
		return FL_EINVAL;
	h->model = model;
	return 0;
}

int
fl_history_load(const char *path, const struct fl_history_model *model, struct fl_history *h,
                char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return FL_EIO;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fclose(f);
			snprintf(err, errlen, "%s: out of memory", path);
			return FL_ENOMEM;
		}
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		char *g = realloc(buf, cap);
		if (!g)
			free(buf);
		buf = g;
	}
	int bad = ferror(f) ? errno : 0;
	fclose(f);
	if (bad) {
		free(buf);
		snprintf(err, errlen, "%s: %s", path, strerror(bad));
		return FL_EIO;
	}
	int rc = fl_history_parse(buf, n, path, model, h, err, errlen);
	free(buf);
	return rc;
}

void
fl_history_fini(struct fl_history *h)
{
	free(h->file);
	free(h->ops);
	arena_free(h->arena);
	memset(h, 0, sizeof(*h));
}
