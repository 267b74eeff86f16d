/*
 * Fuzz target: the trace reader (faultline replay and shrink read traces
 * other people hand them).  A trace must parse or be refused with a
 * message; counts in the header must never size an allocation the data
 * does not back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "faultline/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_trace t;
	char err[256];
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (f == NULL)
		return 0;
	if (fl_trace_fread(f, &t, err, sizeof(err)) == 0)
		fl_trace_fini(&t);
	fclose(f);
	return 0;
}
