#include "cidalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "vsock.h"

static const char *const schema[] = {
	"CREATE TABLE cidalloc_leases ("
	" range TEXT NOT NULL,"
	" slot INTEGER NOT NULL,"
	" owner TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (range, slot)) STRICT, WITHOUT ROWID;"
	"CREATE TABLE cidalloc_free ("
	" range TEXT NOT NULL,"
	" slot INTEGER NOT NULL,"
	" PRIMARY KEY (range, slot)) STRICT, WITHOUT ROWID",
};

const struct tables cidalloc_tables = {"cidalloc", schema, ARRAY_SIZE(schema), "cidalloc_leases",
					"SELECT owner, created FROM cidalloc_leases ORDER BY owner"};

static int bounds(void *ctx, const char *range, const char *tag, int64_t *lo, int64_t *hi);

static const struct slot_table table = {
	.leases = "cidalloc_leases",
	.free = "cidalloc_free",
	.range_col = "range",
	.tag_col = NULL,
};

int cidalloc_probe_device(void *ctx, uint32_t cid)
{
	return vsock_probe_cid(ctx ? (const char *)ctx : VSOCK_DEVICE, cid);
}

/* The slot allocator's skip: a CID the probe reports held. Once the probe
 * says there is no device, it is not asked again. */
struct probe {
	cidalloc_probe_fn fn;
	void *ctx;
	int held; /* CIDs skipped */
};

static int skip_held(void *ctx, int64_t slot)
{
	struct probe *p = ctx;
	int rc;

	if (!p->fn)
		return 0;
	rc = p->fn(p->ctx, (uint32_t)slot);
	switch (rc) {
	case 0:
		return 0;
	case 1:
		p->held++;
		return 1;
	case 2:
		p->fn = NULL;
		return 0;
	default:
		return -1;
	}
}

static int from_lease(const struct slot_lease *l, struct cidalloc *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->owner, sizeof(c->owner), "%s", l->owner);
	if (strcmp(l->range, CIDALLOC_RANGE) != 0 || l->slot < CIDALLOC_MIN || l->slot > CIDALLOC_MAX) {
		error_code(EXIT_INTERNAL, "the allocation of '%s' is corrupt (range '%s', CID %lld)", l->owner,
			   l->range, (long long)l->slot);
		error_hint("run 'ember-cidalloc check'");
		return -1;
	}
	c->cid = (uint32_t)l->slot;
	return 0;
}

int cidalloc_alloc(struct install *in, const char *owner, cidalloc_probe_fn probe, void *ctx,
		   struct cidalloc *c, int *created)
{
	struct probe p = {probe, ctx, 0};
	struct slot_space space = {CIDALLOC_RANGE, CIDALLOC_MIN, CIDALLOC_MAX, skip_held, &p};
	struct slot_lease l;
	struct db *db;
	int rc;

	*created = 0;
	if (tables_open(in, &cidalloc_tables, 1, &db) < 0 || db_begin(db) < 0)
		return -1;
	rc = slot_get(db, &table, owner, &l);
	if (rc == 1) {
		rc = from_lease(&l, c);
		db_rollback(db);
		return rc;
	}
	if (rc == 0) {
		rc = slot_alloc(db, &table, &space, owner, NULL, &l);
		if (rc == 0) {
			if (p.held)
				error_code(EXIT_REFUSED,
					   "every vsock CID is taken: all %lld of %d-%lld are allocated (%d held by other programs)",
					   CIDALLOC_MAX - CIDALLOC_MIN + 1, CIDALLOC_MIN, CIDALLOC_MAX, p.held);
			else
				error_code(EXIT_REFUSED,
					   "every vsock CID is taken: all %lld of %d-%lld are allocated",
					   CIDALLOC_MAX - CIDALLOC_MIN + 1, CIDALLOC_MIN, CIDALLOC_MAX);
			rc = -1;
		}
	}
	if (rc == 1 && from_lease(&l, c) == 0) {
		if (db_commit(db) < 0)
			return -1;
		*created = 1;
		return 0;
	}
	db_rollback(db);
	return -1;
}

int cidalloc_release(struct install *in, const char *owner, struct cidalloc *c)
{
	struct slot_lease l;
	struct db *db;
	int rc;

	rc = tables_open(in, &cidalloc_tables, 0, &db);
	if (rc <= 0)
		return rc;
	if (db_begin_freeing(db) < 0)
		return -1;
	rc = slot_release(db, &table, owner, bounds, NULL, &l);
	if (rc < 0) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) < 0)
		return -1;
	if (rc == 1) {
		/* a corrupt record is released all the same: print what it said */
		memset(c, 0, sizeof(*c));
		snprintf(c->owner, sizeof(c->owner), "%s", l.owner);
		c->cid = (uint32_t)l.slot;
	}
	return rc;
}

int cidalloc_show(struct install *in, const char *owner, struct cidalloc *c)
{
	struct slot_lease l;
	struct db *db;
	int rc;

	rc = tables_open(in, &cidalloc_tables, 0, &db);
	if (rc <= 0)
		return rc;
	rc = slot_get(db, &table, owner, &l);
	if (rc == 1 && from_lease(&l, c) < 0)
		return -1;
	return rc;
}

struct collect {
	struct cidalloc_list *l;
	int cap;
};

static int collect(const struct slot_lease *lease, void *ctx)
{
	struct collect *c = ctx;

	if (array_reserve(&c->l->v, &c->cap, c->l->n, sizeof(*c->l->v)) < 0)
		return -1;
	if (from_lease(lease, &c->l->v[c->l->n]) < 0)
		return -1;
	c->l->n++;
	return 0;
}

int cidalloc_list(struct install *in, struct cidalloc_list *l)
{
	struct collect c = {l, 0};
	struct db *db;
	int rc;

	l->v = NULL;
	l->n = 0;
	rc = tables_open(in, &cidalloc_tables, 0, &db);
	if (rc <= 0)
		return rc;
	if (slot_each(db, &table, CIDALLOC_RANGE, collect, &c) < 0) {
		cidalloc_list_release(l);
		return -1;
	}
	return 0;
}

void cidalloc_list_release(struct cidalloc_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

struct check {
	slot_report_fn report;
	void *ctx;
	int n;
};

static int check_lease(const struct slot_lease *l, void *ctx)
{
	struct check *c = ctx;
	char detail[160];

	if (strcmp(l->range, CIDALLOC_RANGE) != 0) {
		snprintf(detail, sizeof(detail), "CID %lld is recorded in unknown range '%s'",
			 (long long)l->slot, l->range);
		c->report(c->ctx, l->owner, "corrupt", detail);
		c->n++;
	}
	if (l->slot < CIDALLOC_MIN || l->slot > CIDALLOC_MAX) {
		snprintf(detail, sizeof(detail), "CID %lld is outside %d-%lld", (long long)l->slot,
			 CIDALLOC_MIN, CIDALLOC_MAX);
		c->report(c->ctx, l->owner, "outside", detail);
		c->n++;
	}
	return 0;
}

/* One CID under two owners: only possible across ranges, by hand. */
static int check_shared(struct db *db, struct check *c)
{
	sqlite3_stmt *st = NULL;
	char detail[160];
	int rc;

	if (db_prepare(db, &st, "SELECT a.slot, a.owner, b.owner FROM cidalloc_leases a"
				" JOIN cidalloc_leases b ON b.slot = a.slot AND b.owner > a.owner"
				" ORDER BY a.slot, a.owner, b.owner") < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(detail, sizeof(detail), "CID %lld is held by '%s' and '%s'",
			 (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
			 sqlite3_column_text(st, 2));
		c->report(c->ctx, (const char *)sqlite3_column_text(st, 2), "shared", detail);
		c->n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "unable to read the CID allocations");
	return 0;
}

static int bounds(void *ctx, const char *range, const char *tag, int64_t *lo, int64_t *hi)
{
	(void)ctx;
	(void)tag;
	if (strcmp(range, CIDALLOC_RANGE) != 0)
		return -1;
	*lo = CIDALLOC_MIN;
	*hi = CIDALLOC_MAX;
	return 0;
}

int cidalloc_check(struct install *in, slot_report_fn report, void *ctx)
{
	struct check c;
	struct db *db;
	int rc;

	memset(&c, 0, sizeof(c));
	c.report = report;
	c.ctx = ctx;
	rc = tables_open(in, &cidalloc_tables, 0, &db);
	if (rc <= 0)
		return rc;
	if (db_exec(db, "BEGIN") < 0)
		return -1;
	db->in_tx = 1;
	rc = slot_each(db, &table, NULL, check_lease, &c);
	if (rc == 0)
		rc = check_shared(db, &c);
	if (rc == 0) {
		rc = slot_check(db, &table, bounds, report, ctx);
		if (rc >= 0) {
			c.n += rc;
			rc = 0;
		}
	}
	db_rollback(db);
	return rc < 0 ? -1 : c.n;
}
