/* Error code descriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "faultline/error.h"

static void
every_code_has_a_name(void **state)
{
	for (int e = 0; e >= FL_ERROR_MIN; e--) {
		assert_string_not_equal(fl_strerror(e), "unknown error");
		assert_int_equal(strncmp(fl_errname(e), "FL_", 3), 0);
	}
	assert_string_equal(fl_strerror(1234), "unknown error");
	assert_string_equal(fl_errname(FL_ETIMEDOUT), "FL_ETIMEDOUT");
	/* None of ours: named with its number, two in one message apart. */
	const char *a = fl_errname(22), *b = fl_errname(-99999);
	assert_string_equal(a, "FL_E?(22)");
	assert_string_equal(b, "FL_E?(-99999)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_code_has_a_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
