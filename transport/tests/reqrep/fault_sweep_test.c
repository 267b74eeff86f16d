/* Fault sweep over the request/response fault points: with each point
 * failing, a full round trip either completes or fails with a clear error,
 * and every port and chunk is back afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fiu.h>
#include <fiu-control.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "fl_test.h"

static int
teardown(void **state)
{
	fl_points_arm(false, false);
	test_rundir_remove();
	return 0;
}

/* One round trip with every error path cleaning up.  Returns the first
 * error (0 if none). */
static int
round_trip(const char *dir, fl_rr_domain **domain_out)
{
	fl_rr_domain *d, *cd = NULL;
	fl_rr_server *s = NULL;
	fl_rr_client *c = NULL;
	fl_chunk req, got, resp, back;
	uint64_t seq;
	int rc;

	rc = fl_rr_domain_create(dir, NULL, &d);
	if (rc != 0)
		return rc;
	*domain_out = d;
	rc = fl_rr_server_open(d, "sweep", &s);
	if (rc != 0)
		goto out;
	/* The client maps the domain as another process would. */
	rc = fl_rr_domain_open(dir, 9, &cd);
	if (rc != 0)
		goto out;
	rc = fl_rr_client_open(cd, "sweep", &c);
	if (rc != 0)
		goto out;
	rc = fl_rr_client_loan(c, 16, 0, &req);
	if (rc != 0)
		goto out;
	req.len = 16;
	rc = fl_rr_client_send(c, &req, 0, &seq);
	if (rc != 0) {
		fl_rr_release(d, &req);
		goto out;
	}
	rc = fl_rr_server_take(s, &got);
	if (rc != 0)
		goto out;
	rc = fl_rr_server_loan(s, 16, 0, &resp);
	if (rc == 0) {
		resp.len = 16;
		rc = fl_rr_server_send(s, &got, &resp);
		if (rc != 0)
			fl_rr_release(d, &resp);
	}
	fl_rr_release(d, &got);
	if (rc != 0)
		goto out;
	rc = fl_rr_client_take(c, &back);
	if (rc == 0)
		fl_rr_release(d, &back);
out:
	fl_rr_client_close(c);
	fl_rr_server_close(s);
	fl_rr_domain_close(cd);
	return rc;
}

static void
every_reqrep_point(void **state)
{
	static const char *const prefixes[] = { "transport/chunk/", "transport/port/",
		                                "transport/rr/", NULL };
	int swept = 0;

#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled: nothing to sweep */
#endif
	fiu_init(0);
	for (int i = 0; fl_fault_point_names[i] != NULL; i++) {
		const char *name = fl_fault_point_names[i];
		int mine = 0;
		for (int k = 0; prefixes[k] != NULL; k++)
			mine |= strncmp(name, prefixes[k], strlen(prefixes[k])) == 0;
		if (!mine)
			continue;
		fl_rr_domain *d = NULL;
		const char *dir = test_rundir("sweep");
		fiu_enable(name, 1, NULL, 0);
		fl_points_arm(false, true);
		int rc = round_trip(dir, &d);
		fl_points_arm(false, false);
		fiu_disable(name);
		print_message("%-34s -> %s\n", name, fl_errname(rc));
		if (rc != FL_EFAULT_INJECTED && rc != FL_EIO && rc != 0)
			fail_msg("%s: unexpected %s", name, fl_errname(rc));
		if (d != NULL) {
			struct fl_rr_stats st;
			fl_rr_stats(d, &st);
			assert_int_equal(st.servers_in_use + st.clients_in_use, 0);
			for (uint32_t k = 0; k < st.chunks.n_classes; k++)
				assert_int_equal(st.chunks.cls[k].loaned, 0);
			fl_rr_domain_close(d);
			fl_rr_domain_unlink(dir);
		}
		/* A failed create leaves nothing behind. */
		assert_int_equal(test_rundir_files(), 0);
		test_rundir_remove();
		swept++;
	}
	assert_true(swept >= 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(every_reqrep_point, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
