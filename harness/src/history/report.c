/*
 * A checker's verdict in words and in JSON: for a history that is not
 * linearizable, the smallest part that fails, the longest order the
 * search found for it, and the operation that could not follow.
 */
#include "faultline/history.h"
#include "run/json_read.h"

#include <inttypes.h>
#include <string.h>

static const char *
outcome_name(enum fl_history_outcome o)
{
	return o == FL_HOP_OK ? "ok" : o == FL_HOP_FAIL ? "fail" : "info";
}

void
fl_history_describe_op(const struct fl_history_op *op, char *buf, size_t n)
{
	char key[96] = "", in[160] = "", out[160] = "";
	if (op->key.kind != FL_HV_ABSENT) {
		fl_hvalue_format(&op->key, key + 5, sizeof(key) - 5);
		memcpy(key, " key ", 5);
	}
	if (op->in.kind != FL_HV_ABSENT && op->in.kind != FL_HV_NIL) {
		in[0] = ' ';
		fl_hvalue_format(&op->in, in + 1, sizeof(in) - 1);
	}
	if (op->outcome == FL_HOP_OK && op->out.kind != FL_HV_ABSENT &&
	    !fl_hvalue_equal(&op->in, &op->out)) {
		memcpy(out, " -> ", 4);
		fl_hvalue_format(&op->out, out + 4, sizeof(out) - 4);
	}
	const char *what = op->outcome == FL_HOP_INFO   ? "info: may or may not have happened"
	                   : op->outcome == FL_HOP_FAIL ? "fail"
	                                                : "ok";
	snprintf(buf, n, "process %" PRId64 ", line %" PRIu32 ": %s%s%s%s (%s)", op->process,
	         op->line, op->f, key, in, out, what);
}

/* How many of the prefix's last operations the words show. */
enum { SHOW_LAST = 8 };

void
fl_history_result_print(FILE *out, const struct fl_history *h, const struct fl_history_result *res)
{
	fprintf(out, "%s: %s (%zu ops in %zu part%s, %" PRIu64 " states, %.3f s)\n", h->file,
	        fl_history_verdict_name(res->verdict), res->ops, res->parts,
	        res->parts == 1 ? "" : "s", res->states, res->seconds);
	if (res->verdict == FL_HISTORY_UNKNOWN && res->completed == 0)
		fprintf(out, "  nothing to judge: no operation completed ok (%zu invoked)\n", h->n);
	else if (res->verdict == FL_HISTORY_UNKNOWN)
		fprintf(out, "  the time limit came first: %zu of %zu parts undecided\n",
		        res->parts_unknown, res->parts);
	if (!res->have_failure)
		return;
	const struct fl_history_failure *f = &res->failure;
	char buf[512];
	if (f->key.kind != FL_HV_ABSENT) {
		fl_hvalue_format(&f->key, buf, sizeof(buf));
		fprintf(out, "  the smallest part that fails: key %s, %zu ops\n", buf, f->part_ops);
	}
	fprintf(out, "  the longest order found explains %zu op%s", f->nprefix,
	        f->nprefix == 1 ? "" : "s");
	if (f->nprefix > SHOW_LAST)
		fprintf(out, "; its last %d", SHOW_LAST);
	fprintf(out, "%s\n", f->nprefix ? ":" : "");
	for (size_t i = f->nprefix > SHOW_LAST ? f->nprefix - SHOW_LAST : 0; i < f->nprefix; i++) {
		fl_history_describe_op(&h->ops[f->prefix[i]], buf, sizeof(buf));
		fprintf(out, "    %zu. %s\n", i + 1, buf);
	}
	fprintf(out, "  after %s the state is %s, and no op that may come next fits:\n",
	        f->nprefix ? "them" : "none", f->state);
	if (f->blocked == UINT32_MAX)
		return;
	const struct fl_history_op *b = &h->ops[f->blocked];
	fl_history_describe_op(b, buf, sizeof(buf));
	fprintf(out, "    %s\n      completed at line %" PRIu32 " before it could take effect\n",
	        buf, b->ret_line);
}

static void
json_op(FILE *out, const struct fl_history_op *op)
{
	char buf[512];
	fprintf(out, "{\"process\":%" PRId64 ",\"line\":%" PRIu32 ",\"f\":", op->process, op->line);
	fli_json_str(out, op->f);
	fl_hvalue_format(&op->in, buf, sizeof(buf));
	fputs(",\"value\":", out);
	fli_json_str(out, buf);
	if (op->outcome == FL_HOP_OK) {
		fl_hvalue_format(&op->out, buf, sizeof(buf));
		fputs(",\"answer\":", out);
		fli_json_str(out, buf);
	}
	fprintf(out, ",\"type\":\"%s\"", outcome_name(op->outcome));
	if (op->ret_line)
		fprintf(out, ",\"completion_line\":%" PRIu32, op->ret_line);
	fl_history_describe_op(op, buf, sizeof(buf));
	fputs(",\"words\":", out);
	fli_json_str(out, buf);
	fputc('}', out);
}

void
fl_history_result_json(FILE *out, const struct fl_history *h, const struct fl_history_result *res)
{
	fputs("{\"file\":", out);
	fli_json_str(out, h->file);
	fprintf(out,
	        ",\"verdict\":\"%s\",\"ops\":%zu,\"parts\":%zu,\"parts_unknown\":%zu,"
	        "\"completed\":%zu,\"states\":%" PRIu64 ",\"steps\":%" PRIu64
	        ",\"memory_bytes\":%zu,\"seconds\":%.6f",
	        fl_history_verdict_name(res->verdict), res->ops, res->parts, res->parts_unknown,
	        res->completed, res->states, res->steps, res->memory_high, res->seconds);
	if (res->have_failure) {
		const struct fl_history_failure *f = &res->failure;
		char buf[512];
		fputs(",\"failure\":{\"key\":", out);
		if (f->key.kind == FL_HV_ABSENT) {
			fputs("null", out);
		} else {
			fl_hvalue_format(&f->key, buf, sizeof(buf));
			fli_json_str(out, buf);
		}
		fprintf(out, ",\"part_ops\":%zu,\"prefix\":[", f->part_ops);
		for (size_t i = 0; i < f->nprefix; i++) {
			if (i)
				fputc(',', out);
			json_op(out, &h->ops[f->prefix[i]]);
		}
		fputs("],\"state\":", out);
		fli_json_str(out, f->state);
		fputs(",\"blocked\":", out);
		if (f->blocked == UINT32_MAX)
			fputs("null", out);
		else
			json_op(out, &h->ops[f->blocked]);
		fputc('}', out);
	}
	fputc('}', out);
}
