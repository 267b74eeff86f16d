/*
 * One figure of a benchmark program: "name value" a line, or a member of
 * one JSON object (the first call opens it; the caller closes it with
 * "}\n").  A negative value is a figure not measured: null in JSON, n/a
 * in text.  Shared by the harness's benchmark programs.
 */
#ifndef FL_BENCH_EMIT_H
#define FL_BENCH_EMIT_H

#include <stdbool.h>
#include <stdio.h>

static inline void
bench_emit(bool json, bool *first, const char *name, double v, int decimals)
{
	if (json) {
		printf("%s\"%s\": ", *first ? "{" : ", ", name);
		if (v < 0)
			printf("null");
		else
			printf("%.*f", decimals, v);
	} else if (v < 0) {
		printf("%s n/a\n", name);
	} else {
		printf("%s %.*f\n", name, decimals, v);
	}
	*first = false;
}

#endif
