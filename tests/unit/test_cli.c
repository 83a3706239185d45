/* The command table's parser (applets/common.c): options belong to verbs,
 * "--" ends the options, V_REST keeps a command line of its own, values are
 * quoted one way. The failing paths exit, and are tested from the shell
 * (tests/cli/options.sh). */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "common.c"

static const char *o_subnet, *o_flag, *o_many[4];
static int n_many;
static int got_argc;
static char *got_argv[16];

enum { O_SUBNET, O_FLAG, O_MANY };

static const struct opt opts[] = {
	[O_SUBNET] = {"subnet", "CIDR", "a subnet", &o_subnet, 0, NULL},
	[O_FLAG] = {"flag", NULL, "a flag", &o_flag, 0, NULL},
	[O_MANY] = {"many", "X", "repeatable", o_many, 4, &n_many},
};

static int record(struct install *in, int argc, char **argv)
{
	int i;

	assert_null(in);
	got_argc = argc;
	for (i = 0; i < argc && i < 16; i++)
		got_argv[i] = argv[i];
	return 0;
}

static const struct verb verbs[] = {
	{.name = "exec", .operands = "NAME", .flags = V_REST, .run = record, .help = "run CMD", .rest = "CMD [ARG...]"},
	{.name = "get", .operands = "ARG...", .opts = OPT(O_SUBNET) | OPT(O_FLAG) | OPT(O_MANY), .run = record,
	 .help = "get"},
	{0},
};

static const struct applet applet = {verbs, opts, ARRAY_SIZE(opts), "nothing", NULL, NULL};

static int reset(void **state)
{
	(void)state;
	o_subnet = o_flag = NULL;
	n_many = 0;
	c_state_dir = NULL;
	memset(c_flag, 0, sizeof(c_flag));
	memset(&common, 0, sizeof(common));
	got_argc = -1;
	return 0;
}

static int run(char *const *args)
{
	char *argv[32];
	int n;

	for (n = 0; args[n]; n++)
		argv[n] = args[n];
	argv[n] = NULL;
	return xrun(&applet, n, argv);
}

static void test_rest_after_dashdash(void **state)
{
	char *args[] = {"ember-x", "-q", "exec", "vm1", "--", "ls", "-la", "--json", "--", NULL};

	(void)state;
	assert_int_equal(run(args), 0);
	assert_int_equal(got_argc, 5);
	assert_string_equal(got_argv[0], "vm1");
	assert_string_equal(got_argv[1], "ls");
	assert_string_equal(got_argv[2], "-la");
	assert_string_equal(got_argv[3], "--json");
	assert_string_equal(got_argv[4], "--");
	assert_int_equal(common.json, 0); /* the guest command's flag is not ember's */
	assert_int_equal(common.quiet, 1);
}

static void test_dashdash_ends_options(void **state)
{
	char *args[] = {"ember-x", "get", "--flag", "a", "--", "--subnet", "-j", NULL};

	(void)state;
	assert_int_equal(run(args), 0);
	assert_int_equal(got_argc, 3);
	assert_string_equal(got_argv[1], "--subnet");
	assert_string_equal(got_argv[2], "-j");
	assert_null(o_subnet);
	assert_non_null(o_flag);
	assert_int_equal(common.json, 0);
}

static void test_values(void **state)
{
	char *args[] = {"ember-x", "--many", "a", "get", "--subnet=10.0.0.0/8", "x", "--many=b", "-jq", NULL};

	(void)state;
	assert_int_equal(run(args), 0);
	assert_string_equal(o_subnet, "10.0.0.0/8");
	assert_int_equal(n_many, 2);
	assert_string_equal(o_many[0], "a");
	assert_string_equal(o_many[1], "b");
	assert_int_equal(got_argc, 1);
	assert_int_equal(common.json, 1);
	assert_int_equal(common.quiet, 1);
}

static void test_help_from_the_table(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	progname = "ember-x";
	usage_print(&applet, f);
	fclose(f);
	assert_non_null(strstr(buf, "usage: ember-x [OPTION...] VERB [OPERAND...]\n"));
	assert_non_null(strstr(buf, "\n  exec NAME -- CMD [ARG...]\n"));
	assert_non_null(strstr(buf, "\n  get ARG... [--subnet CIDR] [--flag] [--many X]...\n"));
	assert_non_null(strstr(buf, "\n      --subnet CIDR       a subnet\n"));
	assert_non_null(strstr(buf, "\n  -v, --verbose           nothing\n"));
	free(buf);
}

static void test_quote(void **state)
{
	char longer[200];

	(void)state;
	assert_string_equal(quote("vm1"), "'vm1'");
	assert_string_equal(quote("a\nb\tc'd\\"), "'a\\nb\\tc\\'d\\\\'");
	assert_string_equal(quote("x\033[2J\177"), "'x\\x1b[2J\\x7f'");
	assert_string_equal(quote(NULL), "''");
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(strlen(quote(longer)), QUOTE_MAX + 5);
	assert_string_equal(quote(longer) + QUOTE_MAX + 1, "...'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rest_after_dashdash, reset),
		cmocka_unit_test_setup(test_dashdash_ends_options, reset),
		cmocka_unit_test_setup(test_values, reset),
		cmocka_unit_test_setup(test_help_from_the_table, reset),
		cmocka_unit_test_setup(test_quote, reset),
	};

	return UNIT_RUN(tests);
}
