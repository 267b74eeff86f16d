/*
 * Histories and the linearizability checker through the C API
 * (faultline/history.h): parsing both formats from memory, the values and
 * the errors; a model of the test's own (a counter); the built-in models'
 * verdicts and failure reports; fail and info ops a model drops; the time
 * limit on a search that explodes; fl_history_guess_model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/history.h"

/* Parses text from a buffer of exactly its length (no NUL after it), as
 * the file "t.edn", so that memcheck sees a read past the end. */
static int
parse(const char *text, const struct fl_history_model *model, struct fl_history *h, char *err,
      size_t errlen)
{
	size_t n = strlen(text);
	char *buf = malloc(n ? n : 1);
	assert_non_null(buf);
	memcpy(buf, text, n);
	int rc = fl_history_parse(buf, n, "t.edn", model, h, err, errlen);
	free(buf);
	return rc;
}

/* Parses text that must be good. */
static void
parse_ok(const char *text, const struct fl_history_model *model, struct fl_history *h)
{
	char err[512];
	int rc = parse(text, model, h, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse: %d: %s", rc, err);
}

/* Checks h under model (timeout_s <= 0: no limit) into *res. */
static void
check(const struct fl_history *h, const struct fl_history_model *model, double timeout_s,
      bool all_parts, struct fl_history_result *res)
{
	struct fl_history_options opt = { .timeout_s = timeout_s, .all_parts = all_parts };
	assert_fl(fl_history_check(h, model, &opt, res), 0);
}

/* The verdict of text under model, with no time limit. */
static enum fl_history_verdict
verdict_of(const char *text, const struct fl_history_model *model)
{
	struct fl_history h;
	struct fl_history_result res;
	parse_ok(text, model, &h);
	check(&h, model, 0, true, &res);
	enum fl_history_verdict v = res.verdict;
	fl_history_result_fini(&res);
	fl_history_fini(&h);
	return v;
}

/* ---- a model of the test's own: a counter with inc and read ---- */

enum { CTR_INC = 1, CTR_READ };

static const char *
ctr_check(struct fl_history_op *op)
{
	if (strcmp(op->f, "inc") == 0) {
		op->fcode = CTR_INC;
		return NULL;
	}
	if (strcmp(op->f, "read") == 0) {
		op->fcode = CTR_READ;
		if (op->outcome == FL_HOP_OK && op->out.kind != FL_HV_INT)
			return "the answer of a read must be an integer";
		return NULL;
	}
	return "the counter's functions are inc and read";
}

static int
ctr_init(struct fl_history_state *s)
{
	int64_t zero = 0;
	return fl_history_state_set(s, &zero, sizeof(zero));
}

static int64_t
ctr_value(const struct fl_history_state *s)
{
	int64_t x;
	assert_int_equal(s->len, sizeof(x));
	memcpy(&x, s->data, sizeof(x));
	return x;
}

static int
ctr_step(const struct fl_history_state *state, const struct fl_history_op *op,
         struct fl_history_state *next)
{
	int64_t x = ctr_value(state);
	/* fail ops never reach step: the counter has no step_fail */
	assert_int_not_equal(op->outcome, FL_HOP_FAIL);
	if (op->fcode == CTR_INC)
		x++;
	else if (op->outcome == FL_HOP_OK && op->out.i != x)
		return 0;
	return fl_history_state_set(next, &x, sizeof(x)) ? FL_ENOMEM : 1;
}

static bool
ctr_read_only(const struct fl_history_op *op)
{
	return op->fcode == CTR_READ;
}

static void
ctr_describe(const struct fl_history_state *s, char *buf, size_t n)
{
	snprintf(buf, n, "count %lld", (long long)ctr_value(s));
}

static const struct fl_history_model counter = {
	.name = "counter",
	.check_op = ctr_check,
	.init = ctr_init,
	.step = ctr_step,
	.read_only = ctr_read_only,
	.describe = ctr_describe,
};

/* ---- parsing ---- */

static void
parse_edn_fields(void **state)
{
	(void)state;
	struct fl_history h;
	parse_ok("; a comment, then a blank line\n"
	         "\n"
	         "{:process 0, :type :invoke, :f :write, :value 1}\n"
	         "{:process :nemesis, :type :info, :f :start, :value nil}\n"
	         "{:process 1, :type :invoke, :f :cas, :value [1 2]}\n"
	         "{:process 0, :type :ok, :f :write, :value 1}\n"
	         "{:process 1, :type :fail, :f :cas, :value [1 2]}\n"
	         "{:process 2, :type :invoke, :f :read, :value nil}\n"
	         "{:process 2, :type :info, :f :read, :value :timed-out}\n"
	         "{:type :invoke, :process 3, :f :read, :time 12}", /* no newline at the end */
	         NULL, &h);
	assert_string_equal(h.file, "t.edn");
	assert_int_equal(h.n, 4);
	const struct fl_history_op *w = &h.ops[0], *c = &h.ops[1], *r = &h.ops[2], *o = &h.ops[3];

	assert_int_equal(w->process, 0);
	assert_string_equal(w->f, "write");
	assert_int_equal(w->key.kind, FL_HV_ABSENT);
	assert_int_equal(w->in.kind, FL_HV_INT);
	assert_int_equal(w->in.i, 1);
	assert_int_equal(w->out.kind, FL_HV_INT);
	assert_int_equal(w->outcome, FL_HOP_OK);
	assert_int_equal(w->line, 3);
	assert_int_equal(w->ret_line, 6);

	assert_int_equal(c->process, 1);
	assert_int_equal(c->outcome, FL_HOP_FAIL);
	assert_int_equal(c->in.kind, FL_HV_LIST);
	assert_int_equal(c->in.len, 2);
	assert_int_equal(c->in.item[0].i, 1);
	assert_int_equal(c->in.item[1].i, 2);
	assert_int_equal(c->line, 5);
	assert_int_equal(c->ret_line, 7);

	/* info: no answer, no completion event, but its line is kept */
	assert_int_equal(r->outcome, FL_HOP_INFO);
	assert_int_equal(r->ret, UINT32_MAX);
	assert_int_equal(r->out.kind, FL_HV_ABSENT);
	assert_int_equal(r->in.kind, FL_HV_NIL);
	assert_int_equal(r->line, 8);
	assert_int_equal(r->ret_line, 9);

	/* never completed: info, no completion line; no :value: ABSENT */
	assert_int_equal(o->process, 3);
	assert_int_equal(o->outcome, FL_HOP_INFO);
	assert_int_equal(o->ret, UINT32_MAX);
	assert_int_equal(o->ret_line, 0);
	assert_int_equal(o->in.kind, FL_HV_ABSENT);
	assert_int_equal(o->line, 10);

	/* events in time order, the nemesis's not among them */
	assert_true(w->call < c->call);
	assert_true(c->call < w->ret);
	assert_true(w->ret < c->ret);
	assert_true(c->ret < r->call);
	assert_true(r->call < o->call);

	char buf[256];
	fl_history_describe_op(c, buf, sizeof(buf));
	assert_string_equal(buf, "process 1, line 5: cas [1 2] (fail)");
	fl_history_describe_op(r, buf, sizeof(buf));
	assert_string_equal(buf, "process 2, line 8: read (info: may or may not have happened)");
	fl_history_fini(&h);
	assert_null(h.ops);
	fl_history_fini(&h); /* twice is harmless */
}

static void
parse_log_lines(void **state)
{
	(void)state;
	struct fl_history h;
	parse_ok("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]\n"
	         "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"
	         "2017-01-01 INFO  jepsen.util - 4\t:invoke\t:read\tnil\r\n"
	         "INFO  jepsen.util - 4\t:ok\t:read\t-7\n"
	         "INFO  jepsen.util - 3\t:info\t:cas\t:timed-out\n",
	         NULL, &h);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.ops[0].process, 3);
	assert_string_equal(h.ops[0].f, "cas");
	assert_int_equal(h.ops[0].outcome, FL_HOP_INFO);
	assert_int_equal(h.ops[0].ret_line, 5);
	assert_int_equal(h.ops[1].process, 4);
	assert_int_equal(h.ops[1].outcome, FL_HOP_OK);
	assert_int_equal(h.ops[1].out.kind, FL_HV_INT);
	assert_int_equal(h.ops[1].out.i, -7);
	assert_int_equal(h.ops[1].line, 3);
	assert_int_equal(h.ops[1].ret_line, 4);
	fl_history_fini(&h);
}

static void
parse_values(void **state)
{
	(void)state;
	struct fl_history h;
	char buf[128];
	parse_ok("{:process 0, :type :invoke, :f :x, :key :k, :value (1 [2 nil] \"s\" :kw true "
	         "false "
	         "-5 12N)}\n"
	         "{:process 0, :type :ok, :f :x, :value \"a\\\"b\\\\c\\n\"}\n",
	         NULL, &h);
	assert_int_equal(h.n, 1);
	const struct fl_history_op *op = &h.ops[0];
	assert_int_equal(op->key.kind, FL_HV_KEYWORD);
	assert_string_equal(op->key.s, "k");
	assert_int_equal(op->in.kind, FL_HV_LIST);
	assert_int_equal(op->in.len, 8);
	assert_int_equal(op->in.item[1].kind, FL_HV_LIST);
	assert_int_equal(op->in.item[1].item[1].kind, FL_HV_NIL);
	assert_int_equal(op->in.item[2].kind, FL_HV_STRING);
	assert_int_equal(op->in.item[4].kind, FL_HV_BOOL);
	assert_int_equal(op->in.item[4].i, 1);
	assert_int_equal(op->in.item[5].i, 0);
	assert_int_equal(op->in.item[6].i, -5);
	assert_int_equal(op->in.item[7].i, 12);
	fl_hvalue_format(&op->in, buf, sizeof(buf));
	assert_string_equal(buf, "[1 [2 nil] \"s\" :kw true false -5 12]");
	/* the escapes: a " b \ c newline */
	assert_int_equal(op->out.kind, FL_HV_STRING);
	assert_int_equal(op->out.len, 6);
	assert_memory_equal(op->out.s, "a\"b\\c\n", 6);
	fl_hvalue_format(&op->out, buf, sizeof(buf));
	assert_string_equal(buf, "\"a\\\"b\\\\c\\n\"");
	/* a small buffer truncates, NUL-terminated */
	fl_hvalue_format(&op->in, buf, 6);
	assert_true(strlen(buf) < 6);

	assert_true(fl_hvalue_equal(&op->in, &op->in));
	assert_false(fl_hvalue_equal(&op->in, &op->out));
	struct fl_hvalue one = { .kind = FL_HV_INT, .i = 1 }, tru = { .kind = FL_HV_BOOL, .i = 1 };
	assert_false(fl_hvalue_equal(&one, &tru));
	fl_history_fini(&h);
}

static void
parse_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "{:process 0, :type :invoke, :f :put, :key \"a, :value 1}\n",
		  "t.edn:1: a string is not closed" },
		{ "\n{:process 0, :type :invoke, :f :read}\n{:process 0, :type :done, :f :read}\n",
		  "t.edn:3: type must be :invoke, :ok, :fail or :info" },
		{ "{:process 0, :type :ok, :f :read, :value 1}\n",
		  "t.edn:1: process 0 completes (:ok) read with no operation open" },
		{ "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :invoke, :f :write}\n",
		  "t.edn:2: process 0 invokes write while its read from line 1 is still open" },
		{ "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :write}\n",
		  "t.edn:2: process 0 completes write but invoked read at line 1" },
		{ "; only a comment\n", "t.edn: no operations" },
		{ "", "t.edn: no operations" },
		{ "{:process :nemesis, :type :info, :f :start}\n", "t.edn: no operations" },
		{ "hello\n", "t.edn:1: expected a Jepsen log line" },
		{ "{:process 0, :type :invoke, :f :read}\nhello\n",
		  "t.edn:2: expected an EDN map" },
		{ "{:process 0, :type :invoke, :f :read, :value [1 2\n",
		  "t.edn:1: a list is not closed" },
		{ "{:process 0, :type :invoke, :f :read, :value nil\n",
		  "t.edn:1: the map is not closed" },
		/* the text ends after a key: nothing read past its end (memcheck) */
		{ "{:process 0, :type :invoke, :f :read, :value",
		  "t.edn:1: a value is missing at the end of the line" },
		{ "{:process 0, :type :invoke, :f :read, :value ",
		  "t.edn:1: a value is missing at the end of the line" },
		{ "{:process 0, :type :invoke, :f :read, :value}\n",
		  "t.edn:1: key :value has no value" },
		{ "{:process \"p\", :type :invoke, :f :read}\n",
		  "t.edn:1: process must be an integer" },
		{ "{:process 0, :type :invoke, :f :read, :value {:a}}\n",
		  "t.edn:1: a map has a key without a value" },
		{ "{:process 0, :type :invoke, :f :read, :value 99999999999999999999}\n",
		  "t.edn:1: integer '99999999999999999999' does not fit 64 bits" },
		{ "{:process 0, :type :invoke, :f :read, :value "
		  "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}\n",
		  "t.edn:1: values nest more than 16 deep" },
		{ "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok,\0 :f :read}\n",
		  "t.edn:2: a NUL byte" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_history h;
		char err[512] = "(untouched)";
		/* the NUL case: its length past the NUL */
		const char *t = cases[i].text;
		size_t n = strlen(t);
		if (strstr(cases[i].err, "NUL"))
			n += 1 + strlen(t + n + 1);
		char *buf = malloc(n ? n : 1);
		assert_non_null(buf);
		memcpy(buf, t, n);
		int rc = fl_history_parse(buf, n, "t.edn", NULL, &h, err, sizeof(err));
		free(buf);
		if (rc != FL_EINVAL || strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: rc %d, err '%s', want '%s...'", i, rc, err,
			         cases[i].err);
		/* a failed parse leaves nothing to free */
		assert_null(h.ops);
		assert_int_equal(h.n, 0);
		fl_history_fini(&h);
	}
}

static void
parse_with_model(void **state)
{
	(void)state;
	static const char kv_text[] =
	        "; kv\n"
	        "{:process 0, :type :invoke, :f :put, :key \"a\", :value \"x\"}\n"
	        "{:process 0, :type :ok, :f :put, :key \"a\", :value \"x\"}\n";
	struct fl_history h;
	char err[512];
	assert_fl(parse(kv_text, &fl_history_register, &h, err, sizeof(err)), FL_EINVAL);
	assert_string_equal(err, "t.edn:2: the register's functions are read, write and cas (model "
	                         "register)");
	assert_null(h.ops);

	/* parsed with no model, the model is vetted afterwards */
	parse_ok(kv_text, NULL, &h);
	assert_fl(fl_history_check_ops(&h, &fl_history_register, err, sizeof(err)), FL_EINVAL);
	assert_string_equal(err, "t.edn:2: the register's functions are read, write and cas (model "
	                         "register)");
	assert_fl(fl_history_check_ops(&h, &fl_history_kv, err, sizeof(err)), 0);
	fl_history_fini(&h);

	/* an answer that is wrong is named at its completion's line */
	assert_fl(parse("{:process 0, :type :invoke, :f :read, :value nil}\n"
	                "{:process 1, :type :invoke, :f :read, :value nil}\n"
	                "{:process 0, :type :ok, :f :read, :value \"x\"}\n",
	                &fl_history_register, &h, err, sizeof(err)),
	          FL_EINVAL);
	assert_string_equal(err, "t.edn:3: the answer of a read must be nil or an integer (model "
	                         "register)");

	assert_fl(fl_history_load("/nonexistent/dir/h.edn", NULL, &h, err, sizeof(err)), FL_EIO);
	assert_true(strncmp(err, "/nonexistent/dir/h.edn: ", 24) == 0);
}

static void
models_found_and_guessed(void **state)
{
	(void)state;
	assert_ptr_equal(fl_history_model_find("register"), &fl_history_register);
	assert_ptr_equal(fl_history_model_find("kv"), &fl_history_kv);
	assert_null(fl_history_model_find("counter"));
	assert_null(fl_history_model_find(""));

	static const struct {
		const char *text;
		const struct fl_history_model *model;
	} cases[] = {
		{ "{:process 0, :type :invoke, :f :read, :value nil}\n", &fl_history_register },
		{ "{:process 0, :type :invoke, :f :cas, :value [nil 1]}\n"
		  "{:process 1, :type :invoke, :f :write, :value 3}\n",
		  &fl_history_register },
		{ "{:process 0, :type :invoke, :f :get, :key 1, :value nil}\n", &fl_history_kv },
		{ "{:process 0, :type :invoke, :f :append, :key \"k\", :value \"x\"}\n",
		  &fl_history_kv },
		/* a cas of two strings with a key: kv's, not the register's */
		{ "{:process 0, :type :invoke, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n",
		  &fl_history_kv },
		/* the counter's: neither */
		{ "{:process 0, :type :invoke, :f :inc, :value nil}\n", NULL },
		/* one op of each: neither */
		{ "{:process 0, :type :invoke, :f :read, :value nil}\n"
		  "{:process 1, :type :invoke, :f :get, :key \"k\", :value nil}\n",
		  NULL },
		/* a get without a key: not kv */
		{ "{:process 0, :type :invoke, :f :get, :value nil}\n", NULL },
		/* a cas that is not [OLD NEW]: not the register */
		{ "{:process 0, :type :invoke, :f :cas, :value 3}\n", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_history h;
		parse_ok(cases[i].text, NULL, &h);
		if (fl_history_guess_model(&h) != cases[i].model)
			fail_msg("case %zu: guessed %s", i,
			         fl_history_guess_model(&h) ? fl_history_guess_model(&h)->name
			                                    : "none");
		fl_history_fini(&h);
	}
}

/* ---- a model of the test's own ---- */

static void
counter_linearizable(void **state)
{
	(void)state;
	/* two incs overlap each other and a read of 1; a read of 2 after */
	struct fl_history h;
	struct fl_history_result res;
	parse_ok("{:process 0, :type :invoke, :f :inc, :value nil}\n"
	         "{:process 1, :type :invoke, :f :inc, :value nil}\n"
	         "{:process 2, :type :invoke, :f :read, :value nil}\n"
	         "{:process 2, :type :ok, :f :read, :value 1}\n"
	         "{:process 0, :type :ok, :f :inc, :value nil}\n"
	         "{:process 1, :type :ok, :f :inc, :value nil}\n"
	         "{:process 2, :type :invoke, :f :read, :value nil}\n"
	         "{:process 2, :type :ok, :f :read, :value 2}\n",
	         &counter, &h);
	check(&h, &counter, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_LINEARIZABLE);
	assert_int_equal(res.ops, 4);
	assert_int_equal(res.parts, 1);
	assert_int_equal(res.parts_unknown, 0);
	assert_false(res.have_failure);
	assert_true(res.states > 0);
	assert_true(res.steps >= 4);
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

static void
counter_not_linearizable(void **state)
{
	(void)state;
	/* both incs completed before the read of 1 began */
	static const char text[] = "{:process 0, :type :invoke, :f :inc, :value nil}\n"
	                           "{:process 1, :type :invoke, :f :inc, :value nil}\n"
	                           "{:process 0, :type :ok, :f :inc, :value nil}\n"
	                           "{:process 1, :type :ok, :f :inc, :value nil}\n"
	                           "{:process 2, :type :invoke, :f :read, :value nil}\n"
	                           "{:process 2, :type :ok, :f :read, :value 1}\n";
	struct fl_history h;
	struct fl_history_result res;
	parse_ok(text, &counter, &h);
	check(&h, &counter, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_true(res.have_failure);
	assert_int_equal(res.failure.key.kind, FL_HV_ABSENT);
	assert_int_equal(res.failure.part_ops, 3);
	assert_int_equal(res.failure.blocked, 2); /* the read */
	assert_int_equal(res.failure.nprefix, 2); /* both incs */
	assert_true((res.failure.prefix[0] == 0 && res.failure.prefix[1] == 1) ||
	            (res.failure.prefix[0] == 1 && res.failure.prefix[1] == 0));
	assert_string_equal(res.failure.state, "count 2");

	char *words = NULL, *json = NULL;
	size_t nw = 0, nj = 0;
	FILE *f = open_memstream(&words, &nw);
	assert_non_null(f);
	fl_history_result_print(f, &h, &res);
	fclose(f);
	assert_non_null(strstr(words, "t.edn: not linearizable (3 ops in 1 part"));
	assert_non_null(strstr(words, "process 2, line 5: read -> 1 (ok)"));
	assert_non_null(strstr(words, "completed at line 6"));
	f = open_memstream(&json, &nj);
	assert_non_null(f);
	fl_history_result_json(f, &h, &res);
	fclose(f);
	assert_non_null(strstr(json, "\"verdict\":\"not linearizable\""));
	assert_non_null(strstr(json, "\"key\":null"));
	assert_non_null(strstr(json, "\"state\":\"count 2\""));
	assert_non_null(strstr(json, "\"blocked\":{\"process\":2,\"line\":5,"));
	free(words);
	free(json);
	fl_history_result_fini(&res);
	fl_history_fini(&h);

	/* with no describe, the state in words is its size */
	struct fl_history_model bare = counter;
	bare.describe = NULL;
	parse_ok(text, &bare, &h);
	check(&h, &bare, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_string_equal(res.failure.state, "(8 bytes)");
	fl_history_result_fini(&res);
	fl_history_fini(&h);

	/* the read of 2 instead is right */
	char good[sizeof(text)];
	memcpy(good, text, sizeof(text));
	*strrchr(good, '1') = '2';
	assert_int_equal(verdict_of(good, &counter), FL_HISTORY_LINEARIZABLE);
	/* and a read of 3 never is */
	*strrchr(good, '2') = '3';
	assert_int_equal(verdict_of(good, &counter), FL_HISTORY_NOT_LINEARIZABLE);
}

static void
counter_fail_ops_dropped(void **state)
{
	(void)state;
	/* the counter has no step_fail: the failed inc did not happen and the
	 * read of 1 stands; were it placed, the read would have to see 2 */
	struct fl_history h;
	struct fl_history_result res;
	parse_ok("{:process 0, :type :invoke, :f :inc, :value nil}\n"
	         "{:process 0, :type :ok, :f :inc, :value nil}\n"
	         "{:process 1, :type :invoke, :f :inc, :value nil}\n"
	         "{:process 1, :type :fail, :f :inc, :value nil}\n"
	         "{:process 2, :type :invoke, :f :read, :value nil}\n"
	         "{:process 2, :type :ok, :f :read, :value 1}\n",
	         &counter, &h);
	check(&h, &counter, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_LINEARIZABLE);
	assert_int_equal(res.ops, 2);
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

static void
counter_info_ops(void **state)
{
	(void)state;
	/* an info read cannot change the state: dropped; an info inc is kept
	 * and may or may not happen: reads of 1 and then 2 are both right */
	static const char text[] = "{:process 0, :type :invoke, :f :inc, :value nil}\n"
	                           "{:process 0, :type :ok, :f :inc, :value nil}\n"
	                           "{:process 1, :type :invoke, :f :read, :value nil}\n"
	                           "{:process 1, :type :info, :f :read, :value nil}\n"
	                           "{:process 2, :type :invoke, :f :inc, :value nil}\n"
	                           "{:process 2, :type :info, :f :inc, :value nil}\n"
	                           "{:process 3, :type :invoke, :f :read, :value nil}\n"
	                           "{:process 3, :type :ok, :f :read, :value 1}\n"
	                           "{:process 3, :type :invoke, :f :read, :value nil}\n"
	                           "{:process 3, :type :ok, :f :read, :value X}\n";
	char t[sizeof(text)];
	struct fl_history h;
	struct fl_history_result res;
	memcpy(t, text, sizeof(t));
	*strrchr(t, 'X') = '2';
	parse_ok(t, &counter, &h);
	check(&h, &counter, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_LINEARIZABLE);
	assert_int_equal(res.ops, 4); /* inc, info inc, two reads */
	fl_history_result_fini(&res);
	fl_history_fini(&h);
	*strrchr(t, '2') = '1';
	assert_int_equal(verdict_of(t, &counter), FL_HISTORY_LINEARIZABLE);
	/* the info inc happens at most once */
	*strrchr(t, '1') = '3';
	assert_int_equal(verdict_of(t, &counter), FL_HISTORY_NOT_LINEARIZABLE);
}

/* ---- the built-in models ---- */

static void
register_fail_cas_blocked(void **state)
{
	(void)state;
	/* the failed cas [0 1] saw a value other than 0 while the register
	 * held 0 throughout */
	struct fl_history h;
	struct fl_history_result res;
	parse_ok("{:process 0, :type :invoke, :f :write, :value 0}\n"
	         "{:process 0, :type :ok, :f :write, :value 0}\n"
	         "{:process 1, :type :invoke, :f :cas, :value [0 1]}\n"
	         "{:process 1, :type :fail, :f :cas, :value [0 1]}\n"
	         "{:process 0, :type :invoke, :f :read, :value nil}\n"
	         "{:process 0, :type :ok, :f :read, :value 0}\n",
	         &fl_history_register, &h);
	check(&h, &fl_history_register, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_int_equal(res.ops, 3); /* the failed cas is kept: it observed */
	assert_int_equal(res.failure.blocked, 1);
	assert_int_equal(res.failure.nprefix, 1);
	assert_int_equal(res.failure.prefix[0], 0);
	assert_string_equal(res.failure.state, "0");
	fl_history_result_fini(&res);
	fl_history_fini(&h);

	/* a failed write did not happen and observed nothing: dropped */
	parse_ok("{:process 0, :type :invoke, :f :write, :value 4}\n"
	         "{:process 0, :type :fail, :f :write, :value 4}\n"
	         "{:process 0, :type :invoke, :f :read, :value nil}\n"
	         "{:process 0, :type :ok, :f :read, :value nil}\n",
	         &fl_history_register, &h);
	check(&h, &fl_history_register, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_LINEARIZABLE);
	assert_int_equal(res.ops, 1);
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

static void
kv_failure_names_key(void **state)
{
	(void)state;
	/* key "a" is fine; key "b" reads "old" after "new" was put */
	struct fl_history h;
	struct fl_history_result res;
	parse_ok("{:process 0, :type :invoke, :f :put, :key \"a\", :value \"x\"}\n"
	         "{:process 0, :type :ok, :f :put, :key \"a\", :value \"x\"}\n"
	         "{:process 1, :type :invoke, :f :put, :key \"b\", :value \"old\"}\n"
	         "{:process 1, :type :ok, :f :put, :key \"b\", :value \"old\"}\n"
	         "{:process 1, :type :invoke, :f :put, :key \"b\", :value \"new\"}\n"
	         "{:process 1, :type :ok, :f :put, :key \"b\", :value \"new\"}\n"
	         "{:process 0, :type :invoke, :f :get, :key \"a\", :value nil}\n"
	         "{:process 0, :type :ok, :f :get, :key \"a\", :value \"x\"}\n"
	         "{:process 2, :type :invoke, :f :get, :key \"b\", :value nil}\n"
	         "{:process 2, :type :ok, :f :get, :key \"b\", :value \"old\"}\n",
	         &fl_history_kv, &h);
	check(&h, &fl_history_kv, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_int_equal(res.parts, 2);
	assert_int_equal(res.ops, 5);
	assert_true(res.have_failure);
	assert_int_equal(res.failure.key.kind, FL_HV_STRING);
	assert_int_equal(res.failure.key.len, 1);
	assert_memory_equal(res.failure.key.s, "b", 1);
	assert_int_equal(res.failure.part_ops, 3);
	assert_int_equal(res.failure.blocked, 4); /* the get of "old" */
	assert_int_equal(res.failure.nprefix, 2);
	assert_string_equal(res.failure.state, "\"new\"");
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

static void
kv_smallest_or_first_part(void **state)
{
	(void)state;
	/* two keys fail: "big" (4 ops) first, "s" (2 ops) after */
	struct fl_history h;
	struct fl_history_result res;
	parse_ok("{:process 0, :type :invoke, :f :put, :key \"big\", :value \"1\"}\n"
	         "{:process 0, :type :ok, :f :put, :key \"big\", :value \"1\"}\n"
	         "{:process 0, :type :invoke, :f :get, :key \"big\", :value nil}\n"
	         "{:process 0, :type :ok, :f :get, :key \"big\", :value \"1\"}\n"
	         "{:process 0, :type :invoke, :f :put, :key \"big\", :value \"2\"}\n"
	         "{:process 0, :type :ok, :f :put, :key \"big\", :value \"2\"}\n"
	         "{:process 0, :type :invoke, :f :get, :key \"big\", :value nil}\n"
	         "{:process 0, :type :ok, :f :get, :key \"big\", :value \"1\"}\n"
	         "{:process 1, :type :invoke, :f :put, :key \"s\", :value \"x\"}\n"
	         "{:process 1, :type :ok, :f :put, :key \"s\", :value \"x\"}\n"
	         "{:process 1, :type :invoke, :f :get, :key \"s\", :value nil}\n"
	         "{:process 1, :type :ok, :f :get, :key \"s\", :value nil}\n",
	         &fl_history_kv, &h);
	check(&h, &fl_history_kv, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_memory_equal(res.failure.key.s, "s", 2);
	assert_int_equal(res.failure.part_ops, 2);
	assert_int_equal(res.failure.blocked, 5);
	fl_history_result_fini(&res);
	check(&h, &fl_history_kv, 0, false, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_memory_equal(res.failure.key.s, "big", 4);
	assert_int_equal(res.failure.part_ops, 4);
	assert_int_equal(res.failure.blocked, 3);
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

/* kv's cas, as the cluster's kv service does it: ok swapped EXPECTED for
 * NEW; fail saw the key absent or holding another value; an absent key
 * never matches, not even "". */
static void
kv_cas_ok(void **state)
{
	(void)state;
	/* put "a", cas a -> b; the get overlapping the cas may see either */
	struct fl_history h;
	struct fl_history_result res;
	parse_ok("{:process 0, :type :invoke, :f :put, :key \"k\", :value \"a\"}\n"
	         "{:process 0, :type :ok, :f :put, :key \"k\", :value \"a\"}\n"
	         "{:process 0, :type :invoke, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"
	         "{:process 1, :type :invoke, :f :get, :key \"k\", :value nil}\n"
	         "{:process 1, :type :ok, :f :get, :key \"k\", :value \"a\"}\n"
	         "{:process 0, :type :ok, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"
	         "{:process 1, :type :invoke, :f :get, :key \"k\", :value nil}\n"
	         "{:process 1, :type :ok, :f :get, :key \"k\", :value \"b\"}\n",
	         &fl_history_kv, &h);
	check(&h, &fl_history_kv, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_LINEARIZABLE);
	assert_int_equal(res.ops, 4);
	fl_history_result_fini(&res);
	fl_history_fini(&h);

	/* a cas ok whose EXPECTED the key never held: "x" */
	parse_ok("{:process 0, :type :invoke, :f :put, :key \"k\", :value \"a\"}\n"
	         "{:process 0, :type :ok, :f :put, :key \"k\", :value \"a\"}\n"
	         "{:process 0, :type :invoke, :f :cas, :key \"k\", :value [\"x\" \"b\"]}\n"
	         "{:process 0, :type :ok, :f :cas, :key \"k\", :value [\"x\" \"b\"]}\n",
	         &fl_history_kv, &h);
	check(&h, &fl_history_kv, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_int_equal(res.failure.blocked, 1);
	assert_int_equal(res.failure.nprefix, 1);
	assert_string_equal(res.failure.state, "\"a\"");
	fl_history_result_fini(&res);
	fl_history_fini(&h);

	/* an absent key is not "": a cas ok expecting "" on it is not either */
	assert_int_equal(
	        verdict_of("{:process 0, :type :invoke, :f :cas, :key \"k\", :value [\"\" \"b\"]}\n"
	                   "{:process 0, :type :ok, :f :cas, :key \"k\", :value [\"\" \"b\"]}\n",
	                   &fl_history_kv),
	        FL_HISTORY_NOT_LINEARIZABLE);
	/* while a key put to "" holds "" */
	assert_int_equal(
	        verdict_of("{:process 0, :type :invoke, :f :put, :key \"k\", :value \"\"}\n"
	                   "{:process 0, :type :ok, :f :put, :key \"k\", :value \"\"}\n"
	                   "{:process 0, :type :invoke, :f :cas, :key \"k\", :value [\"\" \"b\"]}\n"
	                   "{:process 0, :type :ok, :f :cas, :key \"k\", :value [\"\" \"b\"]}\n"
	                   "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n"
	                   "{:process 0, :type :ok, :f :get, :key \"k\", :value \"b\"}\n",
	                   &fl_history_kv),
	        FL_HISTORY_LINEARIZABLE);
}

static void
kv_cas_fail_observes(void **state)
{
	(void)state;
	/* fails that fit: the key absent (NOT_FOUND), then holding "c" while
	 * the cas expected "a"; the second overlaps the put of "c", so it
	 * must go after it */
	struct fl_history h;
	struct fl_history_result res;
	parse_ok("{:process 0, :type :invoke, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"
	         "{:process 0, :type :fail, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"
	         "{:process 1, :type :invoke, :f :put, :key \"k\", :value \"a\"}\n"
	         "{:process 1, :type :ok, :f :put, :key \"k\", :value \"a\"}\n"
	         "{:process 0, :type :invoke, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"
	         "{:process 1, :type :invoke, :f :put, :key \"k\", :value \"c\"}\n"
	         "{:process 1, :type :ok, :f :put, :key \"k\", :value \"c\"}\n"
	         "{:process 0, :type :fail, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"
	         "{:process 1, :type :invoke, :f :get, :key \"k\", :value nil}\n"
	         "{:process 1, :type :ok, :f :get, :key \"k\", :value \"c\"}\n",
	         &fl_history_kv, &h);
	check(&h, &fl_history_kv, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_LINEARIZABLE);
	assert_int_equal(res.ops, 5); /* the failed cas ops are kept: they observed */
	fl_history_result_fini(&res);
	fl_history_fini(&h);

	/* a fail claims a mismatch while the key held "a" from before its
	 * invocation to after its failure: the only order has it see "a" */
	parse_ok("{:process 0, :type :invoke, :f :put, :key \"k\", :value \"a\"}\n"
	         "{:process 0, :type :ok, :f :put, :key \"k\", :value \"a\"}\n"
	         "{:process 1, :type :invoke, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"
	         "{:process 1, :type :fail, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"
	         "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n"
	         "{:process 0, :type :ok, :f :get, :key \"k\", :value \"a\"}\n",
	         &fl_history_kv, &h);
	check(&h, &fl_history_kv, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_int_equal(res.ops, 3);
	assert_int_equal(res.failure.blocked, 1);
	assert_int_equal(res.failure.nprefix, 1);
	assert_int_equal(res.failure.prefix[0], 0);
	assert_string_equal(res.failure.state, "\"a\"");
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

/* put PUT, then a cas a -> b that never completed, then a get of GOT */
#define KV_CAS_INFO(put, got)                                                                      \
	"{:process 0, :type :invoke, :f :put, :key \"k\", :value \"" put "\"}\n"                   \
	"{:process 0, :type :ok, :f :put, :key \"k\", :value \"" put "\"}\n"                       \
	"{:process 1, :type :invoke, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"                 \
	"{:process 1, :type :info, :f :cas, :key \"k\", :value [\"a\" \"b\"]}\n"                   \
	"{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n"                           \
	"{:process 0, :type :ok, :f :get, :key \"k\", :value \"" got "\"}\n"

static void
kv_cas_info(void **state)
{
	(void)state;
	/* the info cas may have taken effect, or not */
	assert_int_equal(verdict_of(KV_CAS_INFO("a", "b"), &fl_history_kv),
	                 FL_HISTORY_LINEARIZABLE);
	assert_int_equal(verdict_of(KV_CAS_INFO("a", "a"), &fl_history_kv),
	                 FL_HISTORY_LINEARIZABLE);
	/* but only where its compare held: never from "z" */
	assert_int_equal(verdict_of(KV_CAS_INFO("z", "b"), &fl_history_kv),
	                 FL_HISTORY_NOT_LINEARIZABLE);
	assert_int_equal(verdict_of(KV_CAS_INFO("z", "z"), &fl_history_kv),
	                 FL_HISTORY_LINEARIZABLE);
}
#undef KV_CAS_INFO

static void
kv_cas_bad_values(void **state)
{
	(void)state;
	static const char *const bad[] = { "\"b\"",       "nil",
		                           "[\"a\"]",     "[\"a\" \"b\" \"c\"]",
		                           "[1 2]",       "[\"a\" nil]",
		                           "[nil \"b\"]", "#{\"a\" \"b\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char t[256], err[512];
		struct fl_history h;
		snprintf(t, sizeof(t),
		         "{:process 0, :type :invoke, :f :cas, :key \"k\", :value %s}\n", bad[i]);
		if (parse(t, &fl_history_kv, &h, err, sizeof(err)) != FL_EINVAL ||
		    strcmp(err, "t.edn:1: a cas's value must be [EXPECTED NEW], two strings "
		                "(model kv)") != 0)
			fail_msg("value %s: err '%s'", bad[i], err);
		fl_history_fini(&h);
	}
	struct fl_history h;
	char err[512];
	assert_fl(parse("{:process 0, :type :invoke, :f :cas, :value [\"a\" \"b\"]}\n",
	                &fl_history_kv, &h, err, sizeof(err)),
	          FL_EINVAL);
	assert_string_equal(err, "t.edn:1: a key-value op needs a :key (model kv)");
	assert_fl(parse("{:process 0, :type :invoke, :f :read, :key \"k\", :value nil}\n",
	                &fl_history_kv, &h, err, sizeof(err)),
	          FL_EINVAL);
	assert_string_equal(err, "t.edn:1: the key-value map's functions are get, put, append and "
	                         "cas (model kv)");
}

static void
check_rejects_bad_arguments(void **state)
{
	(void)state;
	struct fl_history h;
	struct fl_history_result res;
	struct fl_history_model no_step = counter;
	no_step.step = NULL;
	parse_ok("{:process 0, :type :invoke, :f :inc, :value nil}\n", &counter, &h);
	assert_fl(fl_history_check(&h, NULL, NULL, &res), FL_EINVAL);
	assert_fl(fl_history_check(NULL, &counter, NULL, &res), FL_EINVAL);
	assert_fl(fl_history_check(&h, &no_step, NULL, &res), FL_EINVAL);
	/* no options: no time limit; the one op never completed: nothing to
	 * judge, so unknown, not linearizable (a history cut off after its
	 * invocations is no evidence) */
	assert_fl(fl_history_check(&h, &counter, NULL, &res), 0);
	assert_int_equal(res.verdict, FL_HISTORY_UNKNOWN);
	assert_int_equal(res.completed, 0);
	fl_history_result_fini(&res);
	fl_history_fini(&h);


	/* check needs the ops vetted by the very model it is given (h->model):
	 * parsed with none, not until fl_history_check_ops; a copy of the
	 * model that vetted them is another model */
	parse_ok("{:process 0, :type :invoke, :f :read, :value nil}\n"
	         "{:process 0, :type :ok, :f :read, :value 3}\n",
	         NULL, &h);
	assert_null(h.model);
	assert_fl(fl_history_check(&h, &fl_history_register, NULL, &res), FL_EINVAL);
	char err[256];
	assert_fl(fl_history_check_ops(&h, &fl_history_register, err, sizeof(err)), 0);
	assert_ptr_equal(h.model, &fl_history_register);
	assert_fl(fl_history_check(&h, &fl_history_kv, NULL, &res), FL_EINVAL);
	assert_fl(fl_history_check(&h, &fl_history_register, NULL, &res), 0);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE); /* 3 was never written */
	fl_history_result_fini(&res);
	fl_history_fini(&h);
	struct fl_history_model copy = counter;
	parse_ok("{:process 0, :type :invoke, :f :inc, :value nil}\n", &counter, &h);
	assert_fl(fl_history_check(&h, &copy, NULL, &res), FL_EINVAL);
	fl_history_fini(&h);

	assert_string_equal(fl_history_verdict_name(FL_HISTORY_LINEARIZABLE), "linearizable");
	assert_string_equal(fl_history_verdict_name(FL_HISTORY_NOT_LINEARIZABLE),
	                    "not linearizable");
	assert_string_equal(fl_history_verdict_name(FL_HISTORY_UNKNOWN), "unknown");

	struct fl_history_state s = { 0 };
	assert_fl(fl_history_state_set(&s, "abc", 3), 0);
	assert_fl(fl_history_state_append(&s, "de", 2), 0);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.data, "abcde", 5);
	char big[300];
	memset(big, 'z', sizeof(big));
	assert_fl(fl_history_state_append(&s, big, sizeof(big)), 0);
	assert_int_equal(s.len, 305);
	assert_fl(fl_history_state_set(&s, "x", 1), 0);
	assert_int_equal(s.len, 1);
	free(s.data);
}

/* ---- the time limit ---- */

/* n writes of 1..n invoked at once that never complete (info: each may or
 * may not have happened, in any order), then a read of 999, which nothing
 * writes.  Not linearizable, but only the whole search says so: every
 * subset of the writes in every order ending in each value, n * 2^(n-1)
 * (set, state) pairs. */
static char *
adversarial(unsigned n)
{
	size_t cap = 64 * (size_t)n + 256, k = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	for (unsigned i = 0; i < n; i++)
		k += (size_t)snprintf(t + k, cap - k,
		                      "{:process %u, :type :invoke, :f :write, :value %u}\n", i,
		                      i + 1);
	snprintf(t + k, cap - k,
	         "{:process %u, :type :invoke, :f :read, :value nil}\n"
	         "{:process %u, :type :ok, :f :read, :value 999}\n",
	         n, n);
	return t;
}

static void
time_limit_never_says_linearizable(void **state)
{
	(void)state;
	/* 40 writes: 40 * 2^39 pairs, far beyond 0.05 s on any machine.  The
	 * test is bounded by work, not time: should the search finish (a
	 * smarter checker), it must say not linearizable. */
	char *t = adversarial(40);
	struct fl_history h;
	struct fl_history_result res;
	parse_ok(t, &fl_history_register, &h);
	free(t);
	check(&h, &fl_history_register, 0.05, true, &res);
	print_message("40 info writes, 0.05 s: %s after %llu states\n",
	              fl_history_verdict_name(res.verdict), (unsigned long long)res.states);
	assert_int_not_equal(res.verdict, FL_HISTORY_LINEARIZABLE);
	if (res.verdict == FL_HISTORY_UNKNOWN) {
		assert_int_equal(res.parts_unknown, 1);
		assert_false(res.have_failure);
	} else {
		assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
		assert_int_equal(res.failure.blocked, 40);
	}
	assert_int_equal(res.ops, 41);
	fl_history_result_fini(&res);
	fl_history_fini(&h);

	/* 8 writes, no limit: the search ends, not linearizable */
	t = adversarial(8);
	parse_ok(t, &fl_history_register, &h);
	free(t);
	check(&h, &fl_history_register, 0, true, &res);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	assert_int_equal(res.parts_unknown, 0);
	assert_int_equal(res.failure.blocked, 8);
	assert_true(res.states > 8);
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

static void
time_limit_one_part_fails(void **state)
{
	(void)state;
	/* key "slow": 30 appends invoked at once, never completed, then a get
	 * of a string none makes (every order of every subset is a state);
	 * key "bad": a stale get, decided at once.  A part that certainly fails
	 * decides, whatever the time limit did to the other. */
	size_t cap = 4096, k = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	for (unsigned i = 0; i < 30; i++)
		k += (size_t)snprintf(t + k, cap - k,
		                      "{:process %u, :type :invoke, :f :append, :key \"slow\", "
		                      ":value \"%c\"}\n",
		                      i, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcd"[i]);
	snprintf(t + k, cap - k,
	         "{:process 30, :type :invoke, :f :get, :key \"slow\", :value nil}\n"
	         "{:process 30, :type :ok, :f :get, :key \"slow\", :value \"?\"}\n"
	         "{:process 31, :type :invoke, :f :put, :key \"bad\", :value \"v\"}\n"
	         "{:process 31, :type :ok, :f :put, :key \"bad\", :value \"v\"}\n"
	         "{:process 31, :type :invoke, :f :get, :key \"bad\", :value nil}\n"
	         "{:process 31, :type :ok, :f :get, :key \"bad\", :value nil}\n");
	struct fl_history h;
	struct fl_history_result res;
	parse_ok(t, &fl_history_kv, &h);
	free(t);
	check(&h, &fl_history_kv, 0.05, true, &res);
	print_message("30 info appends and a stale get, 0.05 s: %s\n",
	              fl_history_verdict_name(res.verdict));
	assert_int_equal(res.parts, 2);
	assert_int_not_equal(res.verdict, FL_HISTORY_LINEARIZABLE);
	if (res.verdict == FL_HISTORY_NOT_LINEARIZABLE) {
		assert_true(res.have_failure);
		/* "slow", had it been decided, is the larger part: "bad" is named */
		assert_memory_equal(res.failure.key.s, "bad", 4);
		assert_int_equal(res.failure.blocked, 32);
	} else {
		assert_int_equal(res.verdict, FL_HISTORY_UNKNOWN);
		assert_int_equal(res.parts_unknown, 2);
	}
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

/* A vetting that fails part-way leaves the history vetted by no model:
 * fcodes of the failed model on some ops must never be stepped by
 * another's check. */
static void
failed_vetting_unvets(void **state)
{
	struct fl_history h;
	struct fl_history_result res;
	char err[512];
	(void)state;

	parse_ok("{:process 0, :type :invoke, :f :read, :value nil}\n"
	         "{:process 0, :type :ok, :f :read, :value 1}\n",
	         &fl_history_register, &h);
	assert_int_equal(fl_history_check_ops(&h, &fl_history_kv, err, sizeof(err)), FL_EINVAL);
	assert_null(h.model);
	assert_int_equal(fl_history_check(&h, &fl_history_register, NULL, &res), FL_EINVAL);
	assert_int_equal(fl_history_check_ops(&h, &fl_history_register, err, sizeof(err)), 0);
	assert_int_equal(fl_history_check(&h, &fl_history_register, NULL, &res), 0);
	assert_int_equal(res.verdict, FL_HISTORY_NOT_LINEARIZABLE);
	fl_history_result_fini(&res);
	fl_history_fini(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_edn_fields),
		cmocka_unit_test(parse_log_lines),
		cmocka_unit_test(parse_values),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(parse_with_model),
		cmocka_unit_test(models_found_and_guessed),
		cmocka_unit_test(counter_linearizable),
		cmocka_unit_test(counter_not_linearizable),
		cmocka_unit_test(counter_fail_ops_dropped),
		cmocka_unit_test(counter_info_ops),
		cmocka_unit_test(register_fail_cas_blocked),
		cmocka_unit_test(kv_failure_names_key),
		cmocka_unit_test(kv_smallest_or_first_part),
		cmocka_unit_test(kv_cas_ok),
		cmocka_unit_test(kv_cas_fail_observes),
		cmocka_unit_test(kv_cas_info),
		cmocka_unit_test(kv_cas_bad_values),
		cmocka_unit_test(check_rejects_bad_arguments),
		cmocka_unit_test(time_limit_never_says_linearizable),
		cmocka_unit_test(time_limit_one_part_fails),
		cmocka_unit_test(failed_vetting_unvets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
