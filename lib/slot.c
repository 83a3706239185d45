#include "slot.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"
#include "error.h"

#define SQL_LEN 512

/* Table and column names come from the subsystem's constant struct, never
 * from input, so they are formatted into the SQL; values are always bound. */
static int prepare(struct db *db, sqlite3_stmt **st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int prepare(struct db *db, sqlite3_stmt **st, const char *fmt, ...)
{
	char sql[SQL_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(sql))
		return error("internal: SQL statement too long");
	return db_prepare(db, st, sql);
}

static void copy_text(sqlite3_stmt *st, int col, char *buf, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(buf, n, "%s", t ? (const char *)t : "");
}

/* SELECT range, slot, owner, created, tag: the columns read_lease reads. */
static const char *tag_expr(const struct slot_table *t)
{
	return t->tag_col ? t->tag_col : "''";
}

static void read_lease(sqlite3_stmt *st, struct slot_lease *l)
{
	copy_text(st, 0, l->range, sizeof(l->range));
	l->slot = sqlite3_column_int64(st, 1);
	copy_text(st, 2, l->owner, sizeof(l->owner));
	l->created = sqlite3_column_int64(st, 3);
	copy_text(st, 4, l->tag, sizeof(l->tag));
}

/* Step a statement that returns at most one integer: 1 with *V (0 for NULL
 * when NUL is set to 1), 0 no row, -1 error. */
static int step_int(struct db *db, sqlite3_stmt *st, int64_t *v, int *null)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		if (null)
			*null = sqlite3_column_type(st, 0) == SQLITE_NULL;
		*v = sqlite3_column_int64(st, 0);
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return db_error(db, "unable to read the state database");
}

int slot_get(struct db *db, const struct slot_table *t, const char *owner, struct slot_lease *l)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (prepare(db, &st, "SELECT %s, slot, owner, created, %s FROM %s WHERE owner = ?",
		    t->range_col, tag_expr(t), t->leases) < 0)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_lease(st, l);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(db, "unable to read the state database");
	}
	sqlite3_finalize(st);
	return rc;
}

/* One past the highest slot of the range in [lo, hi] held or free, or lo
 * when there is none. Each max() is one seek on a primary key. */
static int high_water(struct db *db, const struct slot_table *t, const struct slot_space *s,
		      int64_t *hwm)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;
	int null = 1, rc;

	if (prepare(db, &st,
		    "SELECT max(m) FROM (SELECT max(slot) AS m FROM %s WHERE %s = ?1 AND slot BETWEEN ?2 AND ?3"
		    " UNION ALL SELECT max(slot) FROM %s WHERE %s = ?1 AND slot BETWEEN ?2 AND ?3)",
		    t->leases, t->range_col, t->free, t->range_col) < 0)
		return -1;
	sqlite3_bind_text(st, 1, s->range, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, s->lo);
	sqlite3_bind_int64(st, 3, s->hi);
	rc = step_int(db, st, &v, &null);
	sqlite3_finalize(st);
	if (rc < 0)
		return -1;
	*hwm = rc == 0 || null ? s->lo : v + 1;
	return 0;
}

/* Execute a statement with (range, slot) bound as ?1, ?2. */
static int exec_range_slot(struct db *db, const char *sql, const char *range, int64_t slot,
			   const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, &st, sql) < 0)
		return -1;
	sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, slot);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		rc = db_error(db, what);
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

static int free_put(struct db *db, const struct slot_table *t, const char *range, int64_t slot)
{
	char sql[SQL_LEN];

	snprintf(sql, sizeof(sql), "INSERT INTO %s (%s, slot) VALUES (?1, ?2)", t->free, t->range_col);
	return exec_range_slot(db, sql, range, slot, "unable to record a free slot");
}

static int free_take(struct db *db, const struct slot_table *t, const char *range, int64_t slot)
{
	char sql[SQL_LEN];

	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?1 AND slot = ?2", t->free, t->range_col);
	return exec_range_slot(db, sql, range, slot, "unable to take a free slot");
}

static int lease_put(struct db *db, const struct slot_table *t, const char *range, int64_t slot,
		     const char *owner, const char *tag)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (t->tag_col)
		rc = prepare(db, &st, "INSERT INTO %s (%s, slot, owner, created, %s) VALUES (?, ?, ?, ?, ?)",
			     t->leases, t->range_col, t->tag_col);
	else
		rc = prepare(db, &st, "INSERT INTO %s (%s, slot, owner, created) VALUES (?, ?, ?, ?)",
			     t->leases, t->range_col);
	if (rc < 0)
		return -1;
	sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, slot);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	if (t->tag_col)
		sqlite3_bind_text(st, 5, tag ? tag : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = 0;
	} else if ((sqlite3_extended_errcode(db->h) & 0xff) == SQLITE_CONSTRAINT) {
		/* the caller checked the owner, so the slot was listed free while held */
		rc = error_code(EXIT_INTERNAL, "slot %lld of '%s' is held although listed as free: %s",
				(long long)slot, range, sqlite3_errmsg(db->h));
		error_hint("run the applet's 'check' verb");
	} else {
		rc = db_error(db, "unable to record the allocation");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The lowest free slot above AFTER (and at most HI), from the free list:
 * 1 found, 0 none, -1 error. */
static int free_next(struct db *db, const struct slot_table *t, const struct slot_space *s,
		     int64_t after, int64_t *slot)
{
	sqlite3_stmt *st = NULL;
	int null = 1, rc;

	if (prepare(db, &st, "SELECT min(slot) FROM %s WHERE %s = ? AND slot > ? AND slot <= ?", t->free,
		    t->range_col) < 0)
		return -1;
	sqlite3_bind_text(st, 1, s->range, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, s->hi);
	rc = step_int(db, st, slot, &null);
	sqlite3_finalize(st);
	if (rc < 0)
		return -1;
	return rc == 1 && !null;
}

int slot_alloc(struct db *db, const struct slot_table *t, const struct slot_space *s,
	       const char *owner, const char *tag, struct slot_lease *l)
{
	int64_t hwm, cand, slot;
	int from_free, skipped = 0, rc;

	if (s->lo > s->hi)
		return 0;
	if (high_water(db, t, s, &hwm) < 0)
		return -1;
	for (cand = s->lo - 1;; cand = slot) {
		from_free = free_next(db, t, s, cand, &slot);
		if (from_free < 0)
			return -1;
		if (!from_free)
			slot = cand + 1 > hwm ? cand + 1 : hwm;
		if (slot > s->hi)
			return 0;
		rc = s->skip ? s->skip(s->ctx, slot) : 0;
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if (++skipped > SLOT_MAX_SKIPS)
			return error_code(EXIT_TEMP, "more than %d slots of '%s' had to be skipped",
					  SLOT_MAX_SKIPS, s->range);
		/* a skipped slot above the free list joins it, so that every slot
		 * below the highest stays either held or free */
		if (!from_free && free_put(db, t, s->range, slot) < 0)
			return -1;
	}
	if (from_free && free_take(db, t, s->range, slot) < 0)
		return -1;
	if (lease_put(db, t, s->range, slot, owner, tag) < 0)
		return -1;
	crash_point("slot-alloc");
	memset(l, 0, sizeof(*l));
	snprintf(l->range, sizeof(l->range), "%s", s->range);
	l->slot = slot;
	snprintf(l->owner, sizeof(l->owner), "%s", owner);
	snprintf(l->tag, sizeof(l->tag), "%s", t->tag_col && tag ? tag : "");
	l->created = (int64_t)time(NULL);
	return 1;
}

/* 1 when RANGE still has leases, 0 when not, -1 on error. */
static int range_in_use(struct db *db, const struct slot_table *t, const char *range)
{
	sqlite3_stmt *st = NULL;
	int64_t v;
	int rc;

	if (prepare(db, &st, "SELECT 1 FROM %s WHERE %s = ? LIMIT 1", t->leases, t->range_col) < 0)
		return -1;
	sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
	rc = step_int(db, st, &v, NULL);
	sqlite3_finalize(st);
	return rc;
}

int slot_release(struct db *db, const struct slot_table *t, const char *owner,
		 slot_bounds_fn bounds, void *ctx, struct slot_lease *l)
{
	sqlite3_stmt *st = NULL;
	int64_t lo, hi;
	int rc;

	rc = slot_get(db, t, owner, l);
	if (rc <= 0)
		return rc;
	if (prepare(db, &st, "DELETE FROM %s WHERE owner = ?", t->leases) < 0)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "unable to release the allocation");
	rc = range_in_use(db, t, l->range);
	if (rc < 0)
		return -1;
	if (rc) {
		if (bounds(ctx, l->range, l->tag, &lo, &hi) == 0 && l->slot >= lo && l->slot <= hi &&
		    free_put(db, t, l->range, l->slot) < 0)
			return -1;
	} else {
		/* an empty range starts again from lo, with no free list */
		if (prepare(db, &st, "DELETE FROM %s WHERE %s = ?", t->free, t->range_col) < 0)
			return -1;
		sqlite3_bind_text(st, 1, l->range, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return db_error(db, "unable to release the allocation");
	}
	return 1;
}

int slot_each(struct db *db, const struct slot_table *t, const char *range,
	      int (*fn)(const struct slot_lease *l, void *ctx), void *ctx)
{
	struct slot_lease l;
	sqlite3_stmt *st = NULL;
	int rc;

	if (range)
		rc = prepare(db, &st, "SELECT %s, slot, owner, created, %s FROM %s WHERE %s = ?"
				      " ORDER BY %s, slot",
			     t->range_col, tag_expr(t), t->leases, t->range_col, t->range_col);
	else
		rc = prepare(db, &st, "SELECT %s, slot, owner, created, %s FROM %s ORDER BY %s, slot",
			     t->range_col, tag_expr(t), t->leases, t->range_col);
	if (rc < 0)
		return -1;
	if (range)
		sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_lease(st, &l);
		if (fn(&l, ctx) < 0) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	if (rc != SQLITE_DONE)
		rc = db_error(db, "unable to read the state database");
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int64_t slot_count(struct db *db, const struct slot_table *t, const char *range)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;
	int rc;

	if (range)
		rc = prepare(db, &st, "SELECT count(*) FROM %s WHERE %s = ?", t->leases, t->range_col);
	else
		rc = prepare(db, &st, "SELECT count(*) FROM %s", t->leases);
	if (rc < 0)
		return -1;
	if (range)
		sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
	rc = step_int(db, st, &v, NULL);
	sqlite3_finalize(st);
	return rc < 0 ? -1 : v;
}

/* A slot listed free while an owner holds it: alloc would fail on it. */
static int check_held_and_free(struct db *db, const struct slot_table *t, slot_report_fn report,
			       void *ctx)
{
	sqlite3_stmt *st = NULL;
	char detail[160];
	int rc, n = 0;

	if (prepare(db, &st,
		    "SELECT l.%s, l.slot, l.owner FROM %s l JOIN %s f ON f.%s = l.%s AND f.slot = l.slot"
		    " ORDER BY l.%s, l.slot",
		    t->range_col, t->leases, t->free, t->range_col, t->range_col, t->range_col) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(detail, sizeof(detail), "slot %lld of %s is held and also listed as free",
			 (long long)sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 0));
		report(ctx, (const char *)sqlite3_column_text(st, 2), "free-held", detail);
		n++;
	}
	if (rc != SQLITE_DONE)
		n = db_error(db, "unable to read the state database");
	sqlite3_finalize(st);
	return n;
}

/* Per range with leases: free slots outside [lo, hi], and slots below the
 * highest that are in neither table. */
static int check_ranges(struct db *db, const struct slot_table *t, slot_bounds_fn bounds,
			slot_report_fn report, void *ctx)
{
	sqlite3_stmt *st = NULL, *q = NULL;
	char range[SLOT_RANGE_LEN], tag[SLOT_TAG_LEN], detail[200];
	int64_t lo, hi, held, nfree, top, outside;
	int rc, n = 0;

	if (prepare(db, &st, "SELECT %s, min(%s) FROM %s GROUP BY %s ORDER BY %s", t->range_col,
		    tag_expr(t), t->leases, t->range_col, t->range_col) < 0)
		return -1;
	if (prepare(db, &q,
		    "SELECT (SELECT count(*) FROM %s WHERE %s = ?1 AND slot BETWEEN ?2 AND ?3),"
		    " (SELECT count(*) FROM %s WHERE %s = ?1 AND slot BETWEEN ?2 AND ?3),"
		    " (SELECT max(m) FROM (SELECT max(slot) AS m FROM %s WHERE %s = ?1 AND slot BETWEEN ?2 AND ?3"
		    "  UNION ALL SELECT max(slot) FROM %s WHERE %s = ?1 AND slot BETWEEN ?2 AND ?3)),"
		    " (SELECT count(*) FROM %s WHERE %s = ?1 AND slot NOT BETWEEN ?2 AND ?3)",
		    t->leases, t->range_col, t->free, t->range_col, t->leases, t->range_col, t->free,
		    t->range_col, t->free, t->range_col) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		copy_text(st, 0, range, sizeof(range));
		copy_text(st, 1, tag, sizeof(tag));
		if (bounds(ctx, range, tag, &lo, &hi) < 0)
			continue;
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, range, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 2, lo);
		sqlite3_bind_int64(q, 3, hi);
		if (sqlite3_step(q) != SQLITE_ROW) {
			n = db_error(db, "unable to read the state database");
			break;
		}
		held = sqlite3_column_int64(q, 0);
		nfree = sqlite3_column_int64(q, 1);
		top = sqlite3_column_type(q, 2) == SQLITE_NULL ? lo - 1 : sqlite3_column_int64(q, 2);
		outside = sqlite3_column_int64(q, 3);
		if (top + 1 - lo > held + nfree) {
			snprintf(detail, sizeof(detail),
				 "%lld slot%s of %s below its highest %s neither held nor free",
				 (long long)(top + 1 - lo - held - nfree), top - lo - held - nfree ? "s" : "",
				 range, top - lo - held - nfree ? "are" : "is");
			report(ctx, NULL, "lost", detail);
			n++;
		}
		if (outside) {
			snprintf(detail, sizeof(detail), "%lld free slot%s of %s %s outside it (%lld-%lld)",
				 (long long)outside, outside > 1 ? "s" : "", range, outside > 1 ? "are" : "is",
				 (long long)lo, (long long)hi);
			report(ctx, NULL, "free-outside", detail);
			n++;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		n = db_error(db, "unable to read the state database");
	sqlite3_finalize(q);
	sqlite3_finalize(st);
	return n;
}

int slot_check(struct db *db, const struct slot_table *t, slot_bounds_fn bounds,
	       slot_report_fn report, void *ctx)
{
	int a, b;

	a = check_held_and_free(db, t, report, ctx);
	if (a < 0)
		return -1;
	b = check_ranges(db, t, bounds, report, ctx);
	if (b < 0)
		return -1;
	return a + b;
}
