#include "db.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"

#define DB_STR2(x) #x
#define DB_STR(x) DB_STR2(x)

int db_error(struct db *db, const char *what)
{
	int rc = sqlite3_extended_errcode(db->h) & 0xff;
	const char *msg = sqlite3_errmsg(db->h);

	switch (rc) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		error_code(EXIT_TEMP, "%s: the state database is busy", what);
		error_hint("another ember command holds it; retry");
		return -1;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		error_code(EXIT_INTERNAL, "%s: the state database is corrupt: %s", what, msg);
		return -1;
	case SQLITE_CONSTRAINT:
		return error_code(EXIT_REFUSED, "%s: %s", what, msg);
	case SQLITE_FULL:
		error_code(EXIT_TEMP, "%s: the disk is full", what);
		error_hint(
		    "free space on the state directory's filesystem, then retry; releasing or "
		    "deleting what is no longer needed works even now");
		return -1;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_PERM:
		return error_code(EXIT_TEMP, "%s: %s", what, msg);
	default:
		return error_code(EXIT_INTERNAL, "%s: %s", what, msg);
	}
}

int db_exec(struct db *db, const char *sql)
{
	if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(db, "unable to update the state database");
	return 0;
}

/* locks/db-reserve beside the database file; -1 when it has no directory. */
static int reserve_path(struct db *db, char *buf, size_t n)
{
	const char *f = sqlite3_db_filename(db->h, "main");
	const char *slash = f ? strrchr(f, '/') : NULL;

	if (!slash || snprintf(buf, n, "%.*s/locks/db-reserve", (int)(slash - f), f) >= (int)n)
		return -1;
	return 0;
}

/* What the database's filesystem has free for us; -1 when unknown. */
static long long free_bytes(struct db *db)
{
	char path[4096], *slash;
	struct statvfs v;

	if (reserve_path(db, path, sizeof(path)) < 0)
		return -1;
	slash = strrchr(path, '/');
	*slash = '\0';
	slash = strrchr(path, '/');
	*slash = '\0'; /* the state directory */
	if (statvfs(path, &v) < 0)
		return -1;
	return (long long)v.f_bavail * (long long)v.f_frsize;
}

/* Hold DB_RESERVE_BYTES back for the transactions that free, once the
 * filesystem has room for it and more; never fails. */
static void reserve_keep(struct db *db)
{
	char path[4096];
	struct stat st;
	int fd;

	if (reserve_path(db, path, sizeof(path)) < 0 ||
	    (stat(path, &st) == 0 && st.st_size >= DB_RESERVE_BYTES) ||
	    free_bytes(db) < 2LL * DB_RESERVE_BYTES)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	/* a reserve that could not be made whole is none */
	if (posix_fallocate(fd, 0, DB_RESERVE_BYTES) != 0 && ftruncate(fd, 0) < 0) {
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* SQLite's busy handler: try again every millisecond, up to
 * DB_BUSY_TIMEOUT_MS. sqlite3_busy_timeout's own handler sleeps 1, 2, 5,
 * 10, 15, 20, 25 ... 100 ms between tries, so a wait for a writer that holds
 * the lock 25 ms (an ember-tap delete or ember-nat down holds it while the
 * kernel changes) lasted up to 33 ms, 55 ms for one of 40 ms. */
static int busy(void *arg, int count)
{
	static const struct timespec ms = {0, 1000000};
	struct db *db = arg;
	long long t = now_ms();

	if (count == 0)
		db->busy_since = t;
	if (t - db->busy_since >= DB_BUSY_TIMEOUT_MS)
		return 0;
	nanosleep(&ms, NULL);
	return 1;
}

/* Copy the WAL into state.db as far as no reader holds it back, never
 * waiting; with nothing to copy it costs nothing. */
static void checkpoint(struct db *db)
{
	sqlite3_busy_handler(db->h, NULL, NULL);
	sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	sqlite3_busy_handler(db->h, busy, db);
}

/* After each commit. */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
	struct db *db = arg;

	(void)h;
	(void)name;
	(void)pages;
	db->wrote = 1;
	return SQLITE_OK;
}

int db_open(struct db *db, const char *path, int create)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;

	memset(db, 0, sizeof(*db));
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		if (!db->h)
			return error_code(EXIT_TEMP, "unable to open the state database '%s'", path);
		error_code(EXIT_TEMP, "unable to open the state database '%s': %s", path,
			   sqlite3_errmsg(db->h));
		db_close(db);
		return -1;
	}
	/* The timeout must be in force before journal_mode: switching to WAL
	 * takes a lock that a concurrent opener may hold. */
	sqlite3_busy_handler(db->h, busy, db);
	/* By default the last connection to close checkpoints the WAL and
	 * deletes it. Instead db_close checkpoints it without waiting and
	 * the file stays: a checkpointed WAL is written again from its start,
	 * so the space it holds (up to DB_WAL_KEEP_BYTES) is reserved for the
	 * next commits, and a release still commits on a full disk. */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/* opening reads (and a first open sets WAL): a failure here is a read's */
	if (sqlite3_exec(
		db->h,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", NULL,
		NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db->h, "PRAGMA journal_size_limit=" DB_STR(DB_WAL_KEEP_BYTES), NULL, NULL,
			 NULL) != SQLITE_OK) {
		db_error(db, "unable to read the state database");
		db_close(db);
		return -1;
	}
	sqlite3_wal_hook(db->h, wal_hook, db);
	return 0;
}

void db_close(struct db *db)
{
	if (db->h) {
		if (db->in_tx)
			db_rollback(db);
		/* state.db alone then holds every commit: a copy of it is a
		 * backup. Never waiting: a checkpoint that readers hold back is
		 * finished by the next command that writes. A reader costs
		 * nothing */
		if (db->wrote) {
			checkpoint(db);
			reserve_keep(db);
		}
		sqlite3_close(db->h);
	}
	db->h = NULL;
}

int db_prepare(struct db *db, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_error(db, "unable to read the state database");
	}
	return 0;
}

static int begin(struct db *db)
{
	/* opened read-only (SQLite does so when the file is): BEGIN would
	 * succeed and only the first write fail, after the kernel changed */
	if (sqlite3_db_readonly(db->h, "main") == 1) {
		error_code(EXIT_TEMP, "unable to update the state database: it is read-only");
		error_hint("make state.db writable again (a read-only mount or file), then retry");
		return -1;
	}
	/* The first connection to open the database rebuilds the WAL's index
	 * and cannot know that its frames were checkpointed already: before
	 * its first write it checkpoints them again (they are few: every
	 * writer's close checkpoints), so that its commits start the WAL again
	 * from its beginning, on the space the file holds, instead of growing it */
	if (!db->checkpointed) {
		checkpoint(db);
		db->checkpointed = 1;
	}
	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	db->in_tx = 1;
	return 0;
}

int db_begin(struct db *db)
{
	long long left = free_bytes(db);

	/* refused before the write would fill the disk: what is left is for
	 * the transactions that free */
	if (left >= 0 && left < DB_RESERVE_BYTES) {
		error_code(EXIT_TEMP, "unable to update the state database: the disk is full");
		error_hint(
		    "free space on the state directory's filesystem, then retry; releasing or "
		    "deleting what is no longer needed works even now");
		return -1;
	}
	return begin(db);
}

int db_begin_freeing(struct db *db)
{
	char path[4096];
	long long left = free_bytes(db);

	/* give the reserve back to the filesystem: this commit needs it */
	if (left >= 0 && left < DB_RESERVE_BYTES && reserve_path(db, path, sizeof(path)) == 0 &&
	    truncate(path, 0) < 0) {
		/* none was held: try all the same */
	}
	return begin(db);
}

int db_commit(struct db *db)
{
	if (db_exec(db, "COMMIT") < 0) {
		db_rollback(db);
		return -1;
	}
	db->in_tx = 0;
	return 0;
}

void db_rollback(struct db *db)
{
	if (db->in_tx)
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	db->in_tx = 0;
}

int db_has_table(struct db *db, const char *table)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, &st, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?") < 0)
		return -1;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		rc = db_error(db, "unable to read the state database");
	else
		rc = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc;
}

/* The recorded version of SUBSYSTEM: 0 when none, -1 on error. */
static int schema_version(struct db *db, const char *subsystem)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db->h, "SELECT version FROM schema_version WHERE subsystem = ?", -1,
			       &st, NULL) != SQLITE_OK) {
		/* no schema_version table yet: nothing was ever migrated */
		if (strstr(sqlite3_errmsg(db->h), "no such table"))
			return 0;
		return db_error(db, "unable to read the state database");
	}
	sqlite3_bind_text(st, 1, subsystem, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = db_error(db, "unable to read the state database");
	sqlite3_finalize(st);
	return rc;
}

int db_migrate(struct db *db, const char *subsystem, const char *const *steps, int n)
{
	sqlite3_stmt *st = NULL;
	int v, rc = -1;

	v = schema_version(db, subsystem);
	if (v == n)
		return 0;
	if (v < 0)
		return -1;
	if (db_begin(db) < 0)
		return -1;
	if (db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version ("
			"subsystem TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT") < 0)
		goto out;
	/* read again under the write lock: another process may have migrated */
	v = schema_version(db, subsystem);
	if (v < 0)
		goto out;
	if (v > n) {
		error_code(EXIT_INTERNAL,
			   "the state database has %s schema version %d, newer than this ember knows (%d)",
			   subsystem, v, n);
		error_hint("use the ember release that wrote it");
		goto out;
	}
	for (; v < n; v++)
		if (db_exec(db, steps[v]) < 0)
			goto out;
	if (db_prepare(db, &st, "INSERT INTO schema_version (subsystem, version) VALUES (?, ?) "
				"ON CONFLICT (subsystem) DO UPDATE SET version = excluded.version") < 0)
		goto out;
	sqlite3_bind_text(st, 1, subsystem, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, n);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(db, "unable to record the schema version");
		goto out;
	}
	rc = db_commit(db);
out:
	sqlite3_finalize(st);
	if (rc < 0)
		db_rollback(db);
	return rc;
}

int db_write(struct db *db, sqlite3_stmt *st, const char *what)
{
	int rc = -1;

	if (!st)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(db, what);
		goto out;
	}
	rc = db_commit(db);
out:
	sqlite3_finalize(st);
	if (rc < 0)
		db_rollback(db);
	return rc;
}

int db_run(struct db *db, sqlite3_stmt *st, const char *what)
{
	int rc = -1;

	if (!st)
		return -1;
	if (sqlite3_step(st) != SQLITE_DONE)
		db_error(db, what);
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}
