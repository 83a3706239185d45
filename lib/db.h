/* db: the state database (SQLite, WAL). Every subsystem owns its tables and
 * brings them up to date with db_migrate; every change runs in one
 * BEGIN IMMEDIATE transaction, so concurrent applets serialize on the
 * database's write lock instead of racing. */
#ifndef EMBER_DB_H
#define EMBER_DB_H

#include <sqlite3.h>

#define DB_BUSY_TIMEOUT_MS 10000
/* The WAL is checkpointed and truncated on close past this many pages. */
#define DB_WAL_PAGES 64

struct db {
	sqlite3 *h;
	int in_tx;
	int wal_pages; /* pages in the WAL after this connection's last commit */
};

/* Open PATH (creating it when CREATE): busy_timeout first, then WAL,
 * synchronous=NORMAL and foreign_keys. */
int db_open(struct db *db, const char *path, int create);
void db_close(struct db *db);
/* Record SQLite's current error for WHAT: SQLITE_BUSY -> 111, corruption -> 101. */
int db_error(struct db *db, const char *what);
int db_exec(struct db *db, const char *sql);
int db_prepare(struct db *db, sqlite3_stmt **st, const char *sql);
int db_begin(struct db *db); /* BEGIN IMMEDIATE */
/* End a one-statement write that db_begin opened: step ST (prepared and
 * bound; NULL when its preparation failed) to its end, commit, finalize;
 * on any failure roll back, with WHAT in the message. */
int db_write(struct db *db, sqlite3_stmt *st, const char *what);
/* Step ST (NULL when its preparation failed) to its end and finalize it,
 * inside a transaction the caller opened and commits. */
int db_run(struct db *db, sqlite3_stmt *st, const char *what);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/* Bring SUBSYSTEM's tables to the newest of N ordered steps (step i moves
 * version i to i+1), recorded in schema_version. Refuses a newer database. */
int db_migrate(struct db *db, const char *subsystem, const char *const *steps, int n);
/* 1 when TABLE exists, 0 when not, -1 on error. */
int db_has_table(struct db *db, const char *table);

#endif
