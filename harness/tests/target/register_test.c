/*
 * fl_target_register's checks (faultline/target.h): a well-formed table
 * registers, once; every malformed one is refused with FL_EINVAL (or
 * FL_EPROTO for another ABI, FL_EEXIST for a name taken) and a message
 * naming what is wrong, and is not registered (its ops stay unknown).
 * Each case breaks one rule of a table that is otherwise good.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl_test.h"

#include <string.h>

#include "faultline/error.h"
#include "faultline/scenario.h"
#include "faultline/target.h"
#include "scenario/target_internal.h"

static int
op_nop(void *state, const struct fl_target_args *a, void **created)
{
	(void)state;
	(void)a;
	(void)created;
	return 0;
}

static void
close_nop(void *state, void *obj)
{
	(void)state;
	(void)obj;
}

static bool
holds_yes(void *state, char *why, size_t len)
{
	(void)state;
	(void)why;
	(void)len;
	return true;
}

static const struct fl_target_kind kinds[] = {
	{ .name = "thing", .close = close_nop },
	{ NULL },
};

/* A good table, copied and broken by each case; its op names are the
 * case's own (registering one marks them taken). */
struct table {
	struct fl_target t;
	struct fl_target_op ops[2];
	struct fl_target_arg args[7];
	struct fl_target_property props[FL_TARGET_MAX_PROPERTIES + 2];
	char op_name[32];
};

static void
good(struct table *x, const char *tag)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->op_name, sizeof(x->op_name), "reg_%s_open", tag);
	x->ops[0] = (struct fl_target_op){ .name = x->op_name, .creates = "thing", .fn = op_nop };
	x->props[0] = (struct fl_target_property){ .name = "things_counted",
		                                   .what = "every thing is counted",
		                                   .holds = holds_yes };
	x->t = (struct fl_target){ .abi = FL_TARGET_ABI,
		                   .name = "reg",
		                   .ops = x->ops,
		                   .kinds = kinds,
		                   .properties = x->props };
}

/* t is refused with rc and a message containing want, and its op stays
 * unknown. */
static void
refused(struct table *x, int rc, const char *want)
{
	char err[256];
	const struct fl_target *found = NULL;

	assert_fl(fl_target_register(&x->t, err, sizeof(err)), rc);
	if (strstr(err, want) == NULL)
		fail_msg("message '%s' does not say '%s'", err, want);
	assert_null(fl_target_op_find(x->op_name, &found));
}

static void
test_good_registers_once(void **state)
{
	static struct table x; /* registered: its table must live */
	char err[256];
	const struct fl_target *found = NULL;

	(void)state;
	good(&x, "good");
	assert_fl(fl_target_register(&x.t, err, sizeof(err)), 0);
	assert_fl(fl_target_register(&x.t, err, sizeof(err)), 0); /* again: nothing */
	assert_non_null(fl_target_op_find("reg_good_open", &found));
	assert_ptr_equal(found, &x.t);
}

static void
test_abi(void **state)
{
	struct table x;

	(void)state;
	good(&x, "abi");
	x.t.abi = FL_TARGET_ABI - 1;
	refused(&x, FL_EPROTO, "built for target ABI");
}

static void
test_op_name_taken(void **state)
{
	static struct table x, y; /* x stays registered: its table must live */

	(void)state;
	good(&x, "taken");
	assert_fl(fl_target_register(&x.t, NULL, 0), 0);
	good(&y, "taken");
	y.t.name = "reg_other";
	{
		char err[256];

		assert_fl(fl_target_register(&y.t, err, sizeof(err)), FL_EEXIST);
		assert_non_null(strstr(err, "another registered target's too"));
	}
	good(&y, "builtin");
	y.ops[0].name = "offer"; /* a built-in operation's */
	{
		char err[256];

		assert_fl(fl_target_register(&y.t, err, sizeof(err)), FL_EEXIST);
		assert_non_null(strstr(err, "a built-in operation's name"));
	}
}

static void
test_properties(void **state)
{
	struct table x;

	(void)state;
	good(&x, "p1");
	x.props[0].name = "target_heap"; /* a built-in property's name */
	refused(&x, FL_EINVAL, "property target_heap is a built-in one's name");
	good(&x, "p2");
	x.props[1] = x.props[0];
	refused(&x, FL_EINVAL, "property things_counted is declared twice");
	good(&x, "p3");
	x.props[0].holds = NULL;
	refused(&x, FL_EINVAL,
	        "property things_counted needs a lower_case_name, a what and a holds");
	good(&x, "p4");
	x.props[0].name = "Things";
	refused(&x, FL_EINVAL, "property Things needs a lower_case_name");
	good(&x, "p5");
	for (int i = 0; i <= FL_TARGET_MAX_PROPERTIES; i++) {
		static char names[FL_TARGET_MAX_PROPERTIES + 1][16];

		snprintf(names[i], sizeof(names[i]), "prop_%d", i);
		x.props[i] = (struct fl_target_property){ .name = names[i],
			                                  .what = "w",
			                                  .holds = holds_yes };
	}
	refused(&x, FL_EINVAL, "more than FL_TARGET_MAX_PROPERTIES (16) properties");
}

static void
test_shape(void **state)
{
	struct table x;

	(void)state;
	good(&x, "s1");
	x.t.shared_size = FL_TARGET_SHARED_MAX + 1;
	refused(&x, FL_EINVAL, "shared_size is over FL_TARGET_SHARED_MAX");
	good(&x, "s2");
	x.ops[0].fn = NULL;
	refused(&x, FL_EINVAL, "has no function");
	good(&x, "s3");
	x.ops[0].creates = "nothing_declared";
	refused(&x, FL_EINVAL, "creates an undeclared kind");
	good(&x, "s4");
	x.t.name = "Reg";
	refused(&x, FL_EINVAL, "is not lower_case_name");
	good(&x, "s5");
	{
		static const char *const libs[] = { "libc.so.6", NULL };

		x.t.wrapped = true; /* linked in from an archive, and a shared library? */
		x.t.libraries = libs;
	}
	refused(&x, FL_EINVAL, "give wrapped or libraries, not both");
	good(&x, "s6");
	x.ops[0].name = NULL;
	x.ops[0].fn = NULL;
	refused(&x, FL_EINVAL, "declares no op");
}

static int
check_any(const char *value, char *why, size_t len)
{
	(void)value;
	(void)why;
	(void)len;
	return 0;
}

/* The arguments' declarations: kinds an object may be, a string's check,
 * an argument excluding another, the op's flags. */
static void
test_args(void **state)
{
	struct table x;

	static const struct fl_target_name words[] = { { "never", -1 }, { NULL } };

	(void)state;
	good(&x, "a1");
	x.args[0] = (struct fl_target_arg){ .name = "t",
		                            .type = FL_TARGET_OBJECT,
		                            .kind = "thing|thing" };
	x.args[1] = (struct fl_target_arg){ .name = "s",
		                            .type = FL_TARGET_STRING,
		                            .check = check_any,
		                            .excludes = "t" };
	x.args[2] = (struct fl_target_arg){ .name = "n",
		                            .type = FL_TARGET_INT,
		                            .max = 9,
		                            .dflt = -1,
		                            .names = words,
		                            .requires = "b" };
	x.args[3] = (struct fl_target_arg){ .name = "b", .type = FL_TARGET_BOOL };
	x.args[4] = (struct fl_target_arg){ .name = "r", .type = FL_TARGET_RANGE, .max = 9 };
	x.args[5] = (struct fl_target_arg){ .name = "o",
		                            .type = FL_TARGET_OBJECT,
		                            .kind = "thing",
		                            .any_client = true };
	x.ops[0].args = x.args;
	x.ops[0].flags = FL_TARGET_OP_BLOCKS | FL_TARGET_OP_EXPECT_EXACT;
	{
		static struct table ok; /* registered: its table must live */
		char err[256];

		ok = x;
		ok.ops[0].args = ok.args;
		ok.ops[0].name = ok.op_name;
		ok.t.ops = ok.ops;
		ok.t.properties = ok.props;
		assert_fl(fl_target_register(&ok.t, err, sizeof(err)), 0);
	}
	good(&x, "a2");
	x.args[0] = (struct fl_target_arg){ .name = "t",
		                            .type = FL_TARGET_OBJECT,
		                            .kind = "thing|other" };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "an object argument of an undeclared kind");
	good(&x, "a3");
	x.args[0] =
	        (struct fl_target_arg){ .name = "t", .type = FL_TARGET_OBJECT, .kind = "thing|" };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "an object argument of an undeclared kind");
	good(&x, "a4");
	x.args[0] = (struct fl_target_arg){ .name = "n",
		                            .type = FL_TARGET_INT,
		                            .max = 1,
		                            .check = check_any };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "only a string argument has a check");
	good(&x, "a5");
	x.args[0] = (struct fl_target_arg){ .name = "n",
		                            .type = FL_TARGET_INT,
		                            .max = 1,
		                            .excludes = "n" };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "excludes no other argument");
	good(&x, "a6");
	x.ops[0].flags = 8;
	refused(&x, FL_EINVAL, "flags this faultline does not know");
	good(&x, "a7");
	x.ops[0].creates = NULL;
	x.ops[0].flags = FL_TARGET_OP_AS_OPTIONAL;
	refused(&x, FL_EINVAL, "`as:` optional, but it creates nothing");
	good(&x, "a7c");
	x.args[0] = (struct fl_target_arg){ .name = "g", .type = FL_TARGET_GROUPS, .max = 16 };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "a max of at most 15");
	good(&x, "a7d");
	x.args[0] = (struct fl_target_arg){ .name = "n",
		                            .type = FL_TARGET_INT,
		                            .max = 1,
		                            .names_only = true };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "names only has no names");
	good(&x, "a7e");
	x.args[0] = (struct fl_target_arg){ .name = "n",
		                            .type = FL_TARGET_INT,
		                            .max = 1,
		                            .kind = "other" };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "an object argument of an undeclared kind");
	good(&x, "a7f");
	x.args[0] =
	        (struct fl_target_arg){ .name = "s", .type = FL_TARGET_STRING, .kind = "thing" };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "only an object or integer argument has a kind");
	good(&x, "a7g");
	x.args[0] = (struct fl_target_arg){ .name = "s", .type = FL_TARGET_STRING, .names = words };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "only an integer argument has names");
	good(&x, "a7b");
	{
		static const struct fl_target_name digit[] = { { "1k", 1000 }, { NULL } };

		x.args[0] = (struct fl_target_arg){ .name = "n",
			                            .type = FL_TARGET_INT,
			                            .max = 9,
			                            .names = digit };
	}
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "lower_case_name starting with a letter");
	good(&x, "a8");
	x.args[0] =
	        (struct fl_target_arg){ .name = "n", .type = FL_TARGET_INT, .max = 9, .dflt = -5 };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "an integer's min, max and default disagree");
	good(&x, "a9");
	x.args[0] = (struct fl_target_arg){ .name = "n",
		                            .type = FL_TARGET_INT,
		                            .max = 9,
		                            .requires = "n" };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "requires no boolean argument");
	good(&x, "a10");
	x.args[0] = (struct fl_target_arg){ .name = "n",
		                            .type = FL_TARGET_INT,
		                            .max = 9,
		                            .any_client = true };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "only an object argument is any_client");
	good(&x, "a11");
	x.args[0] =
	        (struct fl_target_arg){ .name = "r", .type = FL_TARGET_RANGE, .min = 5, .max = 1 };
	x.ops[0].args = x.args;
	refused(&x, FL_EINVAL, "an integer's min, max and default disagree");
}

/* The built-in domains' ops declared as a target's pass every check a
 * library's target does (not registered: their names are the built-in
 * operations'). */
static void
test_builtin_tables(void **state)
{
	static const enum fl_scn_domain declared[] = { FL_SCN_DOMAIN_PUBSUB, FL_SCN_DOMAIN_REQREP,
		                                       FL_SCN_DOMAIN_CLUSTER };

	(void)state;
	for (size_t d = 0; d < sizeof(declared) / sizeof(declared[0]); d++) {
		size_t nops = 0;

		assert_non_null(fli_builtin_targets(declared[d])[0]);
		for (const struct fl_target *const *tp = fli_builtin_targets(declared[d]);
		     *tp != NULL; tp++) {
			const struct fl_target *t = *tp;
			char err[256] = "";

			if (fli_target_check(t, err, sizeof(err)) != 0)
				fail_msg("the %s table: %s", t->name, err);
			for (const struct fl_target_op *op = t->ops; op->name != NULL;
			     op++, nops++) {
				enum fl_scn_op_kind kind = FL_SCN_OP__COUNT;

				for (int k = 0; k < FL_SCN_OP__COUNT; k++)
					if (strcmp(fl_scenario_op_name((enum fl_scn_op_kind)k),
					           op->name) == 0)
						kind = (enum fl_scn_op_kind)k;
				if (kind == FL_SCN_OP__COUNT ||
				    fl_scenario_op_domain(kind) != declared[d])
					fail_msg("%s is not a %s operation", op->name, t->name);
			}
		}
		/* every op of the domain is in one of its tables */
		for (int k = 0; k < FL_SCN_OP__COUNT; k++)
			nops -= fl_scenario_op_domain((enum fl_scn_op_kind)k) == declared[d];
		assert_int_equal(nops, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_registers_once),
		cmocka_unit_test(test_abi),
		cmocka_unit_test(test_op_name_taken),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_builtin_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
