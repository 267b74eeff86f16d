/*
 * Fuzz target: the history reader and the linearizability checker
 * (faultline check-history reads histories other people hand it).  A
 * history must parse or be refused with a message naming file and line;
 * one that parses is checked under the model it fits, and a failure's
 * report must name only operations of the history.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_history h;
	struct fl_history_result res;
	/* A time limit keeps an exploding search from stalling the fuzzer;
	 * its answer is then unknown, which is checked like the others. */
	struct fl_history_options opt = { .timeout_s = 0.2, .all_parts = true };
	const struct fl_history_model *m;
	char err[512];

	if (fl_history_parse((const char *)data, size, "fuzz", NULL, &h, err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz", 4) != 0)
			abort(); /* every refusal names the file */
		return 0;
	}
	m = fl_history_guess_model(&h);
	if (m != NULL && fl_history_check_ops(&h, m, err, sizeof(err)) == 0 &&
	    fl_history_check(&h, m, &opt, &res) == 0) {
		if (res.verdict != FL_HISTORY_LINEARIZABLE &&
		    res.verdict != FL_HISTORY_NOT_LINEARIZABLE && res.verdict != FL_HISTORY_UNKNOWN)
			abort();
		if (res.have_failure) {
			if (res.verdict != FL_HISTORY_NOT_LINEARIZABLE)
				abort();
			if (res.failure.blocked != UINT32_MAX && res.failure.blocked >= h.n)
				abort();
			for (size_t i = 0; i < res.failure.nprefix; i++)
				if (res.failure.prefix[i] >= h.n)
					abort();
		}
		fl_history_result_fini(&res);
	}
	fl_history_fini(&h);
	return 0;
}
