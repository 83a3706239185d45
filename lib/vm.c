#include "vm.h"

#include "db.h"

int vm_each_registered(struct install *in, void (*fn)(const char *name, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct db *db;
	int n = 0, rc;

	if (install_db(in, &db) < 0)
		return -1;
	rc = db_has_table(db, "vms");
	if (rc <= 0)
		return rc;
	if (db_prepare(db, &st, "SELECT name FROM vms ORDER BY name") < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fn((const char *)sqlite3_column_text(st, 0), ctx);
		n++;
	}
	if (rc != SQLITE_DONE)
		n = db_error(db, "unable to list the registered VMs");
	sqlite3_finalize(st);
	return n;
}
