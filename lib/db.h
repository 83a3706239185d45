/* db: the state database (SQLite, WAL). Every subsystem owns its tables and
 * brings them up to date with db_migrate; every change runs in one
 * BEGIN IMMEDIATE transaction, so concurrent applets serialize on the
 * database's write lock instead of racing. */
#ifndef EMBER_DB_H
#define EMBER_DB_H

#include <sqlite3.h>

#define DB_BUSY_TIMEOUT_MS 10000
/* What the WAL file keeps of its size once it was checkpointed. */
#define DB_WAL_KEEP_BYTES 1048576
/* Space held back (locks/db-reserve, beside state.db) for the transactions
 * that free: with less than this free on the filesystem, a transaction that
 * may grow the database is refused ("the disk is full"), one that frees
 * (db_begin_freeing) gives the reserve back and commits. */
#define DB_RESERVE_BYTES (256 * 1024)

struct db {
	sqlite3 *h;
	int in_tx;
	int wrote;	  /* it committed: its close checkpoints */
	int checkpointed; /* since it opened (before its first write) */
	long long busy_since; /* ms, monotonic: when the current wait for a lock began */
};

/* Open PATH (creating it when CREATE): busy_timeout first, then WAL,
 * synchronous=NORMAL and foreign_keys. The close of a connection that wrote
 * checkpoints the WAL (when it can without waiting), so that state.db alone
 * holds every change once the commands are done: a copy of it is a backup. */
int db_open(struct db *db, const char *path, int create);
void db_close(struct db *db);
/* Record SQLite's current error for WHAT: SQLITE_BUSY -> 111, corruption -> 101. */
int db_error(struct db *db, const char *what);
int db_exec(struct db *db, const char *sql);
int db_prepare(struct db *db, sqlite3_stmt **st, const char *sql);
int db_begin(struct db *db); /* BEGIN IMMEDIATE; refused on a full disk */
/* BEGIN IMMEDIATE of a transaction that frees (a release, a delete): it
 * goes on on a full disk, on the space reserved for it. */
int db_begin_freeing(struct db *db);
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
