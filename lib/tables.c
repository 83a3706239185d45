#include "tables.h"

#include "db.h"

int tables_open(struct install *in, const struct tables *t, int create, struct db **db)
{
	int rc;

	if (install_db(in, db) < 0)
		return -1;
	if (!create || in->no_create) {
		rc = db_has_table(*db, t->table);
		if (rc <= 0)
			return rc;
	}
	if (db_migrate(*db, t->subsystem, t->steps, t->n) < 0)
		return -1;
	return 1;
}

int tables_owners(struct install *in, const struct tables *t, tables_owner_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct db *db;
	int rc, n = 0;

	rc = tables_open(in, t, 0, &db);
	if (rc <= 0)
		return rc;
	if (db_prepare(db, &st, t->owners) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (fn((const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1), ctx) < 0) {
			n = -1;
			break;
		}
	}
	if (n >= 0 && rc != SQLITE_DONE)
		n = db_error(db, "unable to list the owners");
	sqlite3_finalize(st);
	return n;
}
