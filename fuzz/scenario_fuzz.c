/*
 * Fuzz target: the scenario loader.  Any bytes are a scenario file; the
 * loader must return 0 or an error with a message, never crash, hang or
 * leak (ASan/UBSan/LSan watch).
 */
#include <stddef.h>
#include <stdint.h>

#include "faultline/scenario.h"
#include "fixtures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_scenario *s = NULL;
	char err[512];

	(void)fl_fixtures_register(); /* scenarios name their `impl:` helpers */
	if (fl_scenario_load_string("fuzz.yaml", (const char *)data, size, &s, err, sizeof(err)) ==
	    0)
		fl_scenario_free(s);
	return 0;
}
