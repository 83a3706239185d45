/* spawn: argv only, stdin fed, output captured, timeouts enforced. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void timeout_holds_after_the_output_is_closed(void **state)
{
	const char *argv[] = {"sh", "-c", "exec >&- 2>&-; sleep 5", NULL};
	struct spawn s;
	time_t t0 = time(NULL);

	(void)state;
	assert_int_equal(spawn_run(argv, NULL, 0, 200, &s), -1);
	assert_non_null(strstr(error_message(), "did not finish"));
	assert_true(time(NULL) - t0 < 4);
}

/* A process that is gone, or a zombie nobody reaped yet. */
static int gone(pid_t pid)
{
	char path[64], stat[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	if (!fgets(stat, sizeof(stat), f))
		stat[0] = '\0';
	fclose(f);
	return strstr(stat, ") Z ") != NULL;
}

static void timeout_kills_what_the_child_started(void **state)
{
	char file[] = "/tmp/ember-test-spawn.XXXXXX", script[256];
	const char *argv[] = {"sh", "-c", script, NULL};
	struct spawn s;
	FILE *f;
	int fd, pid = 0, i;

	(void)state;
	fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	snprintf(script, sizeof(script), "sleep 30 </dev/null >/dev/null 2>&1 & echo $! >%s; wait", file);
	assert_int_equal(spawn_run(argv, NULL, 0, 300, &s), -1);
	f = fopen(file, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	unlink(file);
	for (i = 0; i < 100 && !gone(pid); i++)
		usleep(10000);
	assert_true(gone(pid));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(captures_stdout_stderr_and_status),
		cmocka_unit_test(feeds_stdin),
		cmocka_unit_test(arguments_are_not_split_by_a_shell),
		cmocka_unit_test(missing_program_is_an_error),
		cmocka_unit_test(timeout_kills),
		cmocka_unit_test(timeout_holds_after_the_output_is_closed),
		cmocka_unit_test(timeout_kills_what_the_child_started),
	};

	return UNIT_RUN(tests);
}
