/* spawn: argv only, stdin fed, output captured, timeouts enforced. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <signal.h>
#include <sys/wait.h>

#include "error.h"
#include "lock.h"
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

static void a_child_killed_by_a_signal_is_named_by_its_stderr_only(void **state)
{
	const char *argv[] = {"sh", "-c", "echo partial; echo why >&2; kill -TERM $$", NULL};
	const char *quiet[] = {"sh", "-c", "echo partial; kill -KILL $$", NULL};
	struct spawn s;

	(void)state;
	assert_int_equal(spawn_run(argv, NULL, 0, 5000, &s), 0);
	assert_int_equal(s.signal, SIGTERM);
	assert_string_equal(spawn_reason(&s), "killed by SIGTERM: why");
	spawn_release(&s);
	assert_int_equal(spawn_run(quiet, NULL, 0, 5000, &s), 0);
	assert_string_equal(spawn_reason(&s), "killed by SIGKILL");
	spawn_release(&s);
}

static void a_long_reason_is_clipped(void **state)
{
	const char *argv[] = {"sh", "-c", "printf '%0400d\\n' 0 >&2; exit 1", NULL};
	struct spawn s;

	(void)state;
	assert_int_equal(spawn_run(argv, NULL, 0, 5000, &s), 0);
	assert_true(strlen(spawn_reason(&s)) <= 243);
	assert_non_null(strstr(spawn_reason(&s), "0..."));
	spawn_release(&s);
}

static void the_child_holds_the_locks(void **state)
{
	char file[] = "/tmp/ember-test-lock.XXXXXX", script[128], want[128];
	const char *argv[] = {"sh", "-c", script, NULL};
	struct spawn s;
	int fd, lock;

	(void)state;
	fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	lock = lock_take(file, LOCK_EXCLUSIVE);
	assert_true(lock >= 0);
	snprintf(script, sizeof(script), "readlink /proc/$$/fd/%d", lock);
	assert_int_equal(spawn_run(argv, NULL, 0, 5000, &s), 0);
	snprintf(want, sizeof(want), "%s\n", file);
	assert_string_equal(s.out, want);
	spawn_release(&s);
	lock_release(lock);
	unlink(file);
}

static void the_child_dies_with_ember(void **state)
{
	char file[] = "/tmp/ember-test-spawn.XXXXXX", script[256];
	const char *argv[] = {"sh", "-c", script, NULL};
	int fd, pid = 0, i, status;
	struct spawn s;
	pid_t helper;
	FILE *f;

	(void)state;
	fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	snprintf(script, sizeof(script), "echo $$ >%s.new && mv %s.new %s; exec sleep 30", file,
		 file, file);
	helper = fork();
	if (helper == 0)
		_exit(spawn_run(argv, NULL, 0, 60000, &s) == 0 ? 0 : 1);
	for (i = 0; i < 500 && pid == 0; i++) {
		f = fopen(file, "r");
		if (f && fscanf(f, "%d", &pid) != 1)
			pid = 0;
		if (f)
			fclose(f);
		if (pid == 0)
			usleep(10000);
	}
	assert_true(pid > 0);
	kill(helper, SIGKILL); /* ember alone, not its child's group */
	waitpid(helper, &status, 0);
	for (i = 0; i < 500 && !gone(pid); i++)
		usleep(10000);
	assert_true(gone(pid));
	unlink(file);
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
		cmocka_unit_test(a_child_killed_by_a_signal_is_named_by_its_stderr_only),
		cmocka_unit_test(a_long_reason_is_clipped),
		cmocka_unit_test(the_child_holds_the_locks),
		cmocka_unit_test(the_child_dies_with_ember),
	};

	return UNIT_RUN(tests);
}
