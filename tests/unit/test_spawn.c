/* spawn: argv only, stdin fed, output captured, timeouts enforced. */
#include "unit.h"

#include <string.h>

#include "error.h"
#include "spawn.h"

static void captures_stdout_stderr_and_status(void **state)
{
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	struct spawn s;

	(void)state;
	assert_int_equal(spawn_run(argv, NULL, 0, 5000, &s), 0);
	assert_int_equal(s.status, 3);
	assert_string_equal(s.out, "out\n");
	assert_string_equal(s.err, "err\n");
	assert_string_equal(spawn_reason(&s), "err");
	spawn_release(&s);
}

static void feeds_stdin(void **state)
{
	const char *argv[] = {"cat", NULL};
	static char big[200000];
	struct spawn s;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(spawn_run(argv, big, sizeof(big) - 1, 5000, &s), 0);
	assert_int_equal(s.status, 0);
	assert_int_equal(s.out_len, sizeof(big) - 1);
	spawn_release(&s);
}

static void arguments_are_not_split_by_a_shell(void **state)
{
	const char *argv[] = {"printf", "%s|", "a b", "$(id)", NULL};
	struct spawn s;

	(void)state;
	assert_int_equal(spawn_run(argv, NULL, 0, 5000, &s), 0);
	assert_string_equal(s.out, "a b|$(id)|");
	spawn_release(&s);
}

static void missing_program_is_an_error(void **state)
{
	const char *argv[] = {"ember-no-such-program", NULL};
	struct spawn s;

	(void)state;
	assert_int_equal(spawn_run(argv, NULL, 0, 5000, &s), -1);
	assert_int_equal(error_exit_code(), EXIT_TEMP);
	assert_non_null(strstr(error_message(), "ember-no-such-program"));
}

static void timeout_kills(void **state)
{
	const char *argv[] = {"sleep", "5", NULL};
	struct spawn s;

	(void)state;
	assert_int_equal(spawn_run(argv, NULL, 0, 100, &s), -1);
	assert_non_null(strstr(error_message(), "did not finish"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(captures_stdout_stderr_and_status),
		cmocka_unit_test(feeds_stdin),
		cmocka_unit_test(arguments_are_not_split_by_a_shell),
		cmocka_unit_test(missing_program_is_an_error),
		cmocka_unit_test(timeout_kills),
	};

	return UNIT_RUN(tests);
}
