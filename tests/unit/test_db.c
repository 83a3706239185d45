/* db, lock and file: migrations per subsystem, transactions, locks, atomic files. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "error.h"
#include "file.h"
#include "lock.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ember-unit-db.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return file_remove_tree(dir);
}

static const char *const steps[] = {
	"CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL) STRICT",
	"ALTER TABLE t ADD COLUMN w INTEGER",
};

static int version_of(struct db *db, const char *subsystem)
{
	sqlite3_stmt *st;
	int v = -1;

	assert_int_equal(db_prepare(db, &st, "SELECT version FROM schema_version WHERE subsystem = ?"), 0);
	sqlite3_bind_text(st, 1, subsystem, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void migrations_apply_once_per_subsystem(void **state)
{
	char path[128];
	struct db db;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.db", dir);
	assert_int_equal(db_open(&db, path, 1), 0);
	assert_int_equal(db_has_table(&db, "t"), 0);
	assert_int_equal(db_migrate(&db, "demo", steps, 1), 0);
	assert_int_equal(version_of(&db, "demo"), 1);
	assert_int_equal(db_has_table(&db, "t"), 1);
	/* again: nothing to do (a second CREATE TABLE would fail) */
	assert_int_equal(db_migrate(&db, "demo", steps, 1), 0);
	/* the next step only */
	assert_int_equal(db_migrate(&db, "demo", steps, 2), 0);
	assert_int_equal(version_of(&db, "demo"), 2);
	assert_int_equal(db_exec(&db, "INSERT INTO t (k, v, w) VALUES ('a', 1, 2)"), 0);
	/* another subsystem has its own version */
	assert_int_equal(version_of(&db, "other"), -1);
	/* a database newer than the code is refused as corrupt state */
	assert_int_equal(db_migrate(&db, "demo", steps, 1), -1);
	assert_int_equal(error_exit_code(), EXIT_INTERNAL);
	assert_non_null(strstr(error_message(), "newer than this ember knows"));
	db_close(&db);
}

static void tables_are_strict_and_constraints_hold(void **state)
{
	char path[128];
	struct db db;

	(void)state;
	snprintf(path, sizeof(path), "%s/b.db", dir);
	assert_int_equal(db_open(&db, path, 1), 0);
	assert_int_equal(db_migrate(&db, "demo", steps, 2), 0);
	assert_int_equal(db_exec(&db, "INSERT INTO t (k, v) VALUES ('a', 'not a number')"), -1);
	assert_int_equal(db_exec(&db, "INSERT INTO t (k, v) VALUES ('a', 1)"), 0);
	assert_int_equal(db_exec(&db, "INSERT INTO t (k, v) VALUES ('a', 2)"), -1);
	assert_int_equal(error_exit_code(), EXIT_REFUSED);
	db_close(&db);
}

static void a_rolled_back_transaction_leaves_nothing(void **state)
{
	char path[128];
	sqlite3_stmt *st;
	struct db db;

	(void)state;
	snprintf(path, sizeof(path), "%s/c.db", dir);
	assert_int_equal(db_open(&db, path, 1), 0);
	assert_int_equal(db_migrate(&db, "demo", steps, 1), 0);
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(db_exec(&db, "INSERT INTO t (k, v) VALUES ('x', 1)"), 0);
	db_rollback(&db);
	assert_int_equal(db_prepare(&db, &st, "SELECT count(*) FROM t"), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	db_close(&db);
}

static void a_missing_database_is_not_created_unless_asked(void **state)
{
	char path[128];
	struct db db;

	(void)state;
	snprintf(path, sizeof(path), "%s/none.db", dir);
	assert_int_equal(db_open(&db, path, 0), -1);
	assert_int_equal(error_exit_code(), EXIT_TEMP);
	assert_int_equal(access(path, F_OK), -1);
}

/* Short-lived processes each commit (in a transaction, as every change
 * does) and close: the WAL must stay bounded (an unbounded one makes every
 * later open slower; each command's commits start it again from its
 * beginning) and nothing is lost. */
static void the_wal_stays_bounded_across_short_connections(void **state)
{
	char path[128], wal[160];
	sqlite3_stmt *st;
	struct stat sb;
	struct db db;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/w.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	for (i = 0; i < 400; i++) {
		assert_int_equal(db_open(&db, path, 1), 0);
		assert_int_equal(db_migrate(&db, "demo", steps, 1), 0);
		assert_int_equal(db_begin(&db), 0);
		assert_int_equal(db_exec(&db, "INSERT INTO t (k, v) VALUES (hex(randomblob(300)), 1)"), 0);
		assert_int_equal(db_commit(&db), 0);
		db_close(&db);
		if (stat(wal, &sb) == 0)
			assert_true(sb.st_size <= 16 * (4096 + 24) + 32);
	}
	assert_int_equal(db_open(&db, path, 0), 0);
	assert_int_equal(db_prepare(&db, &st, "SELECT count(*) FROM t"), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 400);
	sqlite3_finalize(st);
	db_close(&db);
}

/* Once the connections are closed, the database file alone holds every
 * commit: a copy of it (without its -wal) is a backup. */
static void the_database_file_alone_holds_every_commit(void **state)
{
	char path[128], copy[160], cmd[400];
	sqlite3_stmt *st;
	struct db db;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/b.db", dir);
	snprintf(copy, sizeof(copy), "%s/b-copy.db", dir);
	for (i = 0; i < 5; i++) {
		assert_int_equal(db_open(&db, path, 1), 0);
		assert_int_equal(db_migrate(&db, "demo", steps, 1), 0);
		assert_int_equal(db_begin(&db), 0);
		assert_int_equal(db_exec(&db, "INSERT INTO t (k, v) VALUES (hex(randomblob(8)), 1)"), 0);
		assert_int_equal(db_commit(&db), 0);
		db_close(&db);
	}
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(db_open(&db, copy, 0), 0);
	assert_int_equal(db_prepare(&db, &st, "SELECT count(*) FROM t"), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 5);
	sqlite3_finalize(st);
	db_close(&db);
}

static void locks_exclude_other_processes(void **state)
{
	char path[128];
	int fd, status;
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = lock_take(path, LOCK_EXCLUSIVE);
	assert_true(fd >= 0);
	pid = fork();
	if (pid == 0)
		_exit(lock_take(path, LOCK_EXCLUSIVE | LOCK_TRY) == -2 ? 0 : 1);
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	lock_release(fd);
	pid = fork();
	if (pid == 0)
		_exit(lock_take(path, LOCK_EXCLUSIVE | LOCK_TRY) >= 0 ? 0 : 1);
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void atomic_writes_and_reads(void **state)
{
	char path[128], *data;
	struct stat st;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/f.json", dir);
	assert_int_equal(file_read(path, &data, &len), -2);
	assert_int_equal(file_write_atomic(path, "one", 3, 0600), 0);
	assert_int_equal(file_write_atomic(path, "two!", 4, 0600), 0);
	assert_int_equal(file_read(path, &data, &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(data, "two!");
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no temporary file is left behind */
	snprintf(path, sizeof(path), "%s/f.json.tmp.%ld", dir, (long)getpid());
	assert_int_equal(access(path, F_OK), -1);
}

static void mkdirs_and_remove_tree(void **state)
{
	char path[128];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/x/y/z", dir);
	assert_int_equal(file_mkdirs(path, 0700), 0);
	assert_int_equal(file_mkdirs(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/x", dir);
	assert_int_equal(file_remove_tree(path), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(file_remove_tree("relative/path"), -1);
	assert_int_equal(file_remove_tree("/"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(migrations_apply_once_per_subsystem, setup, teardown),
		cmocka_unit_test_setup_teardown(tables_are_strict_and_constraints_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(a_rolled_back_transaction_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(a_missing_database_is_not_created_unless_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(the_wal_stays_bounded_across_short_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(the_database_file_alone_holds_every_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(locks_exclude_other_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(atomic_writes_and_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(mkdirs_and_remove_tree, setup, teardown),
	};

	return UNIT_RUN(tests);
}
