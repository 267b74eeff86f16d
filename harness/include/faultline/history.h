/*
 * Operation histories and their linearizability checker.
 *
 * A history is what clients saw: each operation's invocation and its
 * completion, in real-time order, as Jepsen records them.  The checker
 * asks whether one sequential order of the operations, each taking effect
 * at one instant between its invocation and its completion, explains
 * every answer under a model of the object (a register, a key-value map,
 * or a model of the user's own).
 *
 * Completions mean what Jepsen says they mean:
 *   ok    the operation took effect, once, and answered what is recorded;
 *   fail  it certainly did not take effect.  A model may still learn from
 *         the failure (a cas whose compare failed saw a value other than
 *         the expected one): see fl_history_model.step_fail;
 *   info  (or no completion at all) it may or may not have taken effect,
 *         at any time after its invocation, and its answer is unknown.
 *
 * The search is Wing and Gong's, with Lowe's memoisation of (the set of
 * operations linearized, the model's state), run separately on each part
 * of the history a model lets it split off (per key: P-compositionality),
 * as Porcupine does.  A time limit answers FL_HISTORY_UNKNOWN, never a
 * wrong "linearizable".
 */
#ifndef FAULTLINE_HISTORY_H
#define FAULTLINE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A value in a history: Jepsen's EDN values, as much of them as histories
 * use. */
enum fl_hvalue_kind {
	FL_HV_ABSENT = 0, /* no value was given */
	FL_HV_NIL,
	FL_HV_BOOL,
	FL_HV_INT,
	FL_HV_STRING,
	FL_HV_KEYWORD, /* :timed-out; s holds the name without the colon */
	FL_HV_LIST,    /* [a b] or (a b) */
	FL_HV_MAP,     /* {k v ...}: items alternate keys and values; len counts both */
	FL_HV_SET,     /* #{a b} */
	FL_HV_OTHER,   /* any other EDN token (a float, a symbol, a character,
	                  a tag): s holds its text; no built-in model takes one */
};

struct fl_hvalue {
	enum fl_hvalue_kind kind;
	int64_t i;     /* INT; BOOL: 0 or 1 */
	const char *s; /* STRING, KEYWORD: NUL-terminated, may hold NULs in STRING */
	size_t len;    /* STRING, KEYWORD, OTHER: bytes in s; LIST, MAP, SET: items */
	const struct fl_hvalue *item; /* LIST, MAP, SET */
};

enum fl_history_outcome { FL_HOP_OK, FL_HOP_FAIL, FL_HOP_INFO };

/* One operation: an invocation and its completion, paired per process. */
struct fl_history_op {
	int64_t process;
	const char *f;        /* the function, without the colon: "read", "cas", "append" */
	struct fl_hvalue key; /* :key (ABSENT when the history has none) */
	struct fl_hvalue in;  /* the value at invocation */
	struct fl_hvalue out; /* the value at completion (ABSENT for info) */
	enum fl_history_outcome outcome;
	uint32_t call, ret;      /* event positions; ret is UINT32_MAX for info */
	uint32_t line, ret_line; /* source lines (ret_line 0 when none) */
	int fcode;               /* the model's own code for f (set by check_op) */
};

struct fl_history {
	char *file;                /* the name errors and reports use */
	struct fl_history_op *ops; /* in invocation order */
	size_t n;
	struct fl_history_arena *arena; /* the values' memory (opaque) */
	/* the model whose check_op vetted the ops (fl_history_parse with a
	 * model, or fl_history_check_ops); fl_history_check needs it */
	const struct fl_history_model *model;
};

/* A model's state is a string of bytes the model writes.  Two states are
 * the same state when equal() says so (memcmp of the bytes when NULL), and
 * hash must agree: the checker hashes the bytes, so states that equal()
 * calls the same must have the same bytes unless equal is NULL. */
struct fl_history_state {
	unsigned char *data;
	size_t len, cap;
};

/* fl_history_state_set makes s hold the n bytes at p; 0 or FL_ENOMEM. */
int fl_history_state_set(struct fl_history_state *s, const void *p, size_t n);
/* fl_history_state_append adds the n bytes at p; 0 or FL_ENOMEM. */
int fl_history_state_append(struct fl_history_state *s, const void *p, size_t n);

/* A model: a small table of functions.  All but name, check_op, init and
 * step may be NULL. */
struct fl_history_model {
	const char *name;
	/* Is op one this model knows (its f and the shapes of its values)?
	 * Sets op->fcode for step to use.  NULL, or what is wrong in words
	 * (a static string) that the reader prints as file:line: message,
	 * the line of the completion when the message starts "the answer",
	 * of the invocation otherwise. */
	const char *(*check_op)(struct fl_history_op *op);
	/* The initial state, into s (empty on entry). 0 or FL_ENOMEM. */
	int (*init)(struct fl_history_state *s);
	/* May op take effect in state `state`?  If so, writes the state after
	 * it into next (empty on entry) and returns 1; 0 if not; FL_ENOMEM.
	 * For an info op, out is ABSENT: any answer is allowed. */
	int (*step)(const struct fl_history_state *state, const struct fl_history_op *op,
	            struct fl_history_state *next);
	/* For a fail op: does the failure carry an observation?  If it does,
	 * the op is placed like an ok one (it must fit between its invocation
	 * and its failure) and step sees it with outcome FL_HOP_FAIL, where it
	 * must leave the state as it was.  If NULL or false, the op is dropped. */
	bool (*step_fail)(const struct fl_history_op *op);
	/* Can op change the state?  An info op that cannot is dropped. */
	bool (*read_only)(const struct fl_history_op *op);
	/* Do ops with different keys touch independent objects?  Then the
	 * history is split by key and each part checked on its own, and
	 * fl_history_check_ops refuses a history where some ops have a :key
	 * and some have none, or a key that is not a string, an integer or a
	 * keyword. */
	bool per_key;
	bool (*equal)(const struct fl_history_state *a, const struct fl_history_state *b);
	/* The state in words, for reports ("4", "nil", "\"x 0 1 y\""). */
	void (*describe)(const struct fl_history_state *s, char *buf, size_t n);
};

/* read, write, cas on one register, or on one per :key when the ops have keys */
extern const struct fl_history_model fl_history_register;
extern const struct fl_history_model fl_history_kv; /* get, put, append, cas per key */

/* fl_history_model_find: "register" or "kv" (NULL if neither). */
const struct fl_history_model *fl_history_model_find(const char *name);

/* fl_history_guess_model names the built-in model every op's f belongs
 * to, or NULL when none (or both) fits. */
const struct fl_history_model *fl_history_guess_model(const struct fl_history *h);

/* fl_history_parse reads a history from text: Jepsen's EDN, one map a
 * line ({:process 0, :type :invoke, :f :read, :value nil}), or Jepsen's
 * log lines (INFO  jepsen.util - 3<TAB>:ok<TAB>:read<TAB>nil); the first
 * line that is not blank or a ; comment decides which.  Ops of the
 * :nemesis process are skipped; any other :process must be an integer.  An
 * EDN map with a key twice, or :index values that do not grow line by line,
 * are errors.  An op never completed is an info op.  If model is not NULL
 * its check_op vets every op.  On a bad input returns FL_EINVAL and writes
 * "file:line: what is wrong" into err.
 * Returns 0, FL_EINVAL or FL_ENOMEM. */
int fl_history_parse(const char *text, size_t len, const char *file,
                     const struct fl_history_model *model, struct fl_history *h, char *err,
                     size_t errlen);
/* fl_history_load reads a file and parses it (FL_EIO: err says why). */
int fl_history_load(const char *path, const struct fl_history_model *model, struct fl_history *h,
                    char *err, size_t errlen);
/* fl_history_check_ops runs model->check_op over a parsed history (for a
 * model chosen after parsing); FL_EINVAL with file:line in err. */
int fl_history_check_ops(struct fl_history *h, const struct fl_history_model *model, char *err,
                         size_t errlen);
void fl_history_fini(struct fl_history *h);

enum fl_history_verdict {
	FL_HISTORY_LINEARIZABLE = 0,
	FL_HISTORY_NOT_LINEARIZABLE = 1,
	FL_HISTORY_UNKNOWN = 3, /* the time limit came first, or no operation
	                           completed ok: nothing to judge (a history cut
	                           off after its invocations is no evidence) */
};
const char *fl_history_verdict_name(enum fl_history_verdict v);

struct fl_history_options {
	double timeout_s; /* <= 0: no limit */
	/* Check every part even after one fails, to name the smallest. */
	bool all_parts;
};

/* For a part that is not linearizable: the longest prefix of a sequential
 * order the search found, and the operation that could not be placed
 * after it (its completion came before it fitted). */
struct fl_history_failure {
	struct fl_hvalue key; /* the part's key (ABSENT: the whole history) */
	size_t part_ops;      /* operations in the part */
	uint32_t *prefix;     /* indices into fl_history.ops, in order */
	size_t nprefix;
	uint32_t blocked; /* index of the op that could not be placed */
	char state[256];  /* the model's state after the prefix, in words */
};

struct fl_history_result {
	enum fl_history_verdict verdict;
	size_t ops, parts;    /* operations checked (after dropping), parts */
	size_t parts_unknown; /* parts the time limit cut short */
	size_t completed;     /* operations that completed ok (none: unknown) */
	uint64_t states;      /* (set, state) pairs the search memoised */
	uint64_t steps;       /* model steps taken */
	size_t memory_high;   /* bytes the search held at most */
	double seconds;
	bool have_failure;
	struct fl_history_failure failure; /* the smallest failing part */
};

/* fl_history_check decides h under model, which must be the model that
 * vetted h's ops (h->model).  Returns 0 (the verdict is in *res; free with
 * fl_history_result_fini), FL_EINVAL (no model, or h not vetted by it) or
 * FL_ENOMEM. */
int fl_history_check(const struct fl_history *h, const struct fl_history_model *model,
                     const struct fl_history_options *opt, struct fl_history_result *res);
void fl_history_result_fini(struct fl_history_result *res);

/* fl_history_describe_op writes op in words: "process 3, line 12: cas 1 -> 4 (ok)". */
void fl_history_describe_op(const struct fl_history_op *op, char *buf, size_t n);
/* fl_hvalue_format writes v as EDN ("nil", "3", "[1 2]", "\"x\""). */
void fl_hvalue_format(const struct fl_hvalue *v, char *buf, size_t n);
bool fl_hvalue_equal(const struct fl_hvalue *a, const struct fl_hvalue *b);

/* fl_history_result_print: the verdict and, when not linearizable, the
 * failing part in words, as `faultline check-history` prints them. */
void fl_history_result_print(FILE *out, const struct fl_history *h,
                             const struct fl_history_result *res);
/* fl_history_result_json: the same as one JSON object (no newline). */
void fl_history_result_json(FILE *out, const struct fl_history *h,
                            const struct fl_history_result *res);

#endif
