/* tables: a subsystem's tables in the state database, opened one way by
 * every subsystem. Each subsystem describes its tables once (its migrations,
 * its main table, the query that lists its owners); reading verbs never
 * create them, and reconcile lists every subsystem's owners with the time
 * each object was created, from the one column name every table uses for it:
 * "created" (unix seconds). */
#ifndef EMBER_TABLES_H
#define EMBER_TABLES_H

#include <stdint.h>

#include "install.h"

struct tables {
	const char *subsystem;    /* its name in schema_version */
	const char *const *steps; /* the migrations, oldest first */
	int n;
	const char *table;  /* present once the subsystem was ever used */
	const char *owners; /* SELECT owner, created ...: one row per owned object */
};

/* Open IN's database with T's tables up to date. When they do not exist yet,
 * they are created only when CREATE and the verb may create tables (not
 * in->no_create); otherwise 0 is returned: nothing was ever recorded.
 * 1: ready; -1: an error. */
int tables_open(struct install *in, const struct tables *t, int create, struct db **db);

/* Call FN for each owner T's subsystem holds something of, with the time it
 * was created; FN returning < 0 stops (and is returned). The number of
 * owners, 0 when the tables do not exist, or -1. */
typedef int (*tables_owner_fn)(const char *owner, int64_t created, void *ctx);
int tables_owners(struct install *in, const struct tables *t, tables_owner_fn fn, void *ctx);

#endif
