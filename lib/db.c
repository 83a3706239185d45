#include "db.h"

#include <string.h>

#include "error.h"

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
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
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

/* After each commit: how many pages the WAL holds now. */
static int db_wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
	struct db *db = arg;

	(void)h;
	(void)name;
	db->wal_pages = pages;
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
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	/* Every applet is a short process, and by default the last connection to
	 * close checkpoints the WAL: four fsyncs per command. Instead the WAL is
	 * left in place and checkpointed (and truncated) by the closing process
	 * that finds it past DB_WAL_PAGES; db_wal_hook keeps the count. The
	 * bound matters: the first connection to open the database reads the
	 * whole WAL to rebuild its index, and cannot know what was checkpointed,
	 * so only a truncating checkpoint ever shortens it. */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_wal_hook(db->h, db_wal_hook, db);
	if (db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;") < 0) {
		db_close(db);
		return -1;
	}
	return 0;
}

void db_close(struct db *db)
{
	if (db->h) {
		if (db->in_tx)
			db_rollback(db);
		if (db->wal_pages >= DB_WAL_PAGES) {
			/* best effort, never waiting: a busy database is left to
			 * the next process that closes it */
			sqlite3_busy_timeout(db->h, 0);
			sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
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

int db_begin(struct db *db)
{
	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	db->in_tx = 1;
	return 0;
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
