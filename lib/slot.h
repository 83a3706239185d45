/* slot: the lowest free integer slot in [lo, hi], one per owner, in SQLite.
 * IP blocks and vsock CIDs are the same problem; each subsystem keeps its own
 * two tables and hands their names to this module:
 *
 *   LEASES (RANGE TEXT, slot INTEGER, owner TEXT UNIQUE, created INTEGER
 *           [, TAG TEXT], PRIMARY KEY (RANGE, slot))  the slots held
 *   FREE   (RANGE TEXT, slot INTEGER, PRIMARY KEY (RANGE, slot))
 *
 * The primary key and UNIQUE (owner) make a double allocation impossible at
 * the data layer. FREE keeps the invariant that every slot of a range from
 * lo up to the highest slot held or free is in exactly one of the two tables,
 * so the lowest free slot is min(FREE) or else one past the highest: two index
 * seeks, whatever the number of allocations (a gap query over LEASES alone
 * walks the whole run of held slots below the first gap). A range that
 * becomes empty forgets its FREE rows.
 *
 * Every function here runs inside a transaction the caller began (db_begin),
 * so a process killed half-way leaves nothing half-written. */
#ifndef EMBER_SLOT_H
#define EMBER_SLOT_H

#include <stdint.h>

#include "db.h"
#include "name.h"

#define SLOT_RANGE_LEN 64
#define SLOT_TAG_LEN 16
#define SLOT_MAX_SKIPS 4096 /* slots passed over in one allocation before giving up */

struct slot_table {
	const char *leases;    /* table of held slots */
	const char *free;      /* table of free slots below the highest */
	const char *range_col; /* the range column of both */
	const char *tag_col;   /* an extra TEXT column of LEASES, or NULL */
};

/* Where an allocation may land. */
struct slot_space {
	const char *range;
	int64_t lo, hi; /* inclusive */
	/* A free slot that must still not be handed out (a reserved address, a
	 * CID another program holds): 1 skip it, 0 take it, -1 error. NULL: none. */
	int (*skip)(void *ctx, int64_t slot);
	void *ctx;
};

struct slot_lease {
	char range[SLOT_RANGE_LEN];
	int64_t slot;
	char owner[NAME_MAX_LEN + 1];
	char tag[SLOT_TAG_LEN]; /* "" without a tag column */
	int64_t created;        /* unix seconds */
};

/* OWNER's lease: 1 found (L filled), 0 none, -1 error. */
int slot_get(struct db *db, const struct slot_table *t, const char *owner, struct slot_lease *l);
/* Give OWNER the lowest free slot of S that SKIP lets through: 1 done (L
 * filled), 0 the range is full (nothing changed that a rollback will not
 * undo), -1 error. The caller has checked that OWNER holds nothing. */
int slot_alloc(struct db *db, const struct slot_table *t, const struct slot_space *s,
	       const char *owner, const char *tag, struct slot_lease *l);
/* A range's slots: 0 with [*lo, *hi], or -1 when the range (or its TAG) is
 * not one the subsystem could have written. */
typedef int (*slot_bounds_fn)(void *ctx, const char *range, const char *tag, int64_t *lo,
			      int64_t *hi);

/* Free OWNER's slot: 1 released (L gets what it was), 0 OWNER held none. A
 * slot outside its range's BOUNDS (a corrupt record) goes, but not onto the
 * free list. */
int slot_release(struct db *db, const struct slot_table *t, const char *owner,
		 slot_bounds_fn bounds, void *ctx, struct slot_lease *l);
/* Call FN for every lease (of RANGE, or all when NULL), by range then slot.
 * FN returning -1 stops the walk with -1. */
int slot_each(struct db *db, const struct slot_table *t, const char *range,
	      int (*fn)(const struct slot_lease *l, void *ctx), void *ctx);
/* Number of leases in RANGE (all ranges when NULL); -1 on error. */
int64_t slot_count(struct db *db, const struct slot_table *t, const char *range);

/* What a check reports, one call per anomaly: the owner concerned (NULL:
 * none), a short kind ("lost", "free-held", ...) and a sentence. */
typedef void (*slot_report_fn)(void *ctx, const char *owner, const char *kind, const char *detail);

/* The free-list invariants of every range: a slot both held and free, a free
 * slot outside its range, slots below the highest that are neither held nor
 * free (lost until the range empties). A range BOUNDS does not know is the
 * subsystem's to report. Returns the number of
 * anomalies reported, -1 on error. */
int slot_check(struct db *db, const struct slot_table *t, slot_bounds_fn bounds,
	       slot_report_fn report, void *ctx);

/* Set by tests only: EMBER_TEST_CRASH=slot-alloc (lib/crash.h) makes
 * slot_alloc kill its own process with SIGKILL after writing and before the
 * caller commits, so the crash tests can kill inside the transaction
 * deterministically. */

#endif
