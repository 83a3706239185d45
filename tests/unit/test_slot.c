/* slot: the lowest free slot per owner, its free list, its constraints, and
 * a cost that does not grow with the number of allocations. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "error.h"
#include "file.h"
#include "slot.h"

static char dir[64];
static struct db db;

static const char *const schema[] = {
	"CREATE TABLE t_leases (range TEXT NOT NULL, slot INTEGER NOT NULL, owner TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL, PRIMARY KEY (range, slot)) STRICT, WITHOUT ROWID;"
	"CREATE TABLE t_free (range TEXT NOT NULL, slot INTEGER NOT NULL,"
	" PRIMARY KEY (range, slot)) STRICT, WITHOUT ROWID",
};

static const struct slot_table t = {"t_leases", "t_free", "range", NULL};

static int setup(void **state)
{
	char path[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ember-unit-slot.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	if (db_open(&db, path, 1) < 0 || db_migrate(&db, "t", schema, 1) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_close(&db);
	return file_remove_tree(dir);
}

/* One allocation in its own transaction, as the subsystems do: the slot, or
 * -2 when the range is full, -1 on error. */
static int64_t alloc_in(const struct slot_space *s, const char *owner)
{
	struct slot_lease l;
	int rc;

	assert_int_equal(db_begin(&db), 0);
	rc = slot_alloc(&db, &t, s, owner, NULL, &l);
	if (rc != 1) {
		db_rollback(&db);
		return rc == 0 ? -2 : -1;
	}
	assert_int_equal(db_commit(&db), 0);
	assert_string_equal(l.owner, owner);
	assert_string_equal(l.range, s->range);
	return l.slot;
}

static int64_t alloc(const char *range, int64_t lo, int64_t hi, const char *owner)
{
	struct slot_space s = {range, lo, hi, NULL, NULL};

	return alloc_in(&s, owner);
}

static int bounds(void *ctx, const char *range, const char *tag, int64_t *lo, int64_t *hi);

static int release(const char *owner)
{
	struct slot_lease l;
	int rc;

	assert_int_equal(db_begin(&db), 0);
	rc = slot_release(&db, &t, owner, bounds, NULL, &l);
	assert_int_equal(db_commit(&db), 0);
	return rc;
}

static int64_t scalar(const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(db_prepare(&db, &st, sql), 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

struct reports {
	int n;
	char kinds[256];
};

static void collect(void *ctx, const char *owner, const char *kind, const char *detail)
{
	struct reports *r = ctx;

	(void)owner;
	(void)detail;
	r->n++;
	strncat(r->kinds, kind, sizeof(r->kinds) - strlen(r->kinds) - 2);
	strcat(r->kinds, " ");
}

static int bounds(void *ctx, const char *range, const char *tag, int64_t *lo, int64_t *hi)
{
	(void)ctx;
	(void)tag;
	static const struct {
		const char *range;
		int64_t lo, hi;
	} known[] = {{"r", 10, 19}, {"other", 0, 3}, {"one", 0, 0}, {"big", 0, 100000}};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(range, known[i].range) == 0) {
			*lo = known[i].lo;
			*hi = known[i].hi;
			return 0;
		}
	return -1;
}

static int check(struct reports *r)
{
	memset(r, 0, sizeof(*r));
	return slot_check(&db, &t, bounds, collect, r);
}

static void lowest_free_first_and_reused(void **state)
{
	struct reports r;
	int i;

	(void)state;
	assert_int_equal(alloc("r", 10, 19, "a"), 10);
	assert_int_equal(alloc("r", 10, 19, "b"), 11);
	assert_int_equal(alloc("r", 10, 19, "c"), 12);
	assert_int_equal(alloc("r", 10, 19, "d"), 13);
	assert_int_equal(release("b"), 1);
	assert_int_equal(release("c"), 1);
	assert_int_equal(release("b"), 0);
	assert_int_equal(scalar("SELECT count(*) FROM t_free"), 2);
	assert_int_equal(alloc("r", 10, 19, "e"), 11);
	assert_int_equal(alloc("r", 10, 19, "f"), 12);
	assert_int_equal(alloc("r", 10, 19, "g"), 14);
	assert_int_equal(scalar("SELECT count(*) FROM t_free"), 0);
	assert_int_equal(check(&r), 0);
	/* another range is independent */
	assert_int_equal(alloc("other", 0, 3, "h"), 0);
	/* releasing everything forgets the free list: the range starts again at lo */
	for (i = 0; i < 7; i++)
		assert_int_equal(release((const char *[]){"a", "d", "e", "f", "g", "h", "x"}[i]), i < 6);
	assert_int_equal(scalar("SELECT count(*) FROM t_free"), 0);
	assert_int_equal(scalar("SELECT count(*) FROM t_leases"), 0);
	assert_int_equal(alloc("r", 10, 19, "a"), 10);
}

static void first_and_last_slot_then_full(void **state)
{
	char owner[16];
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		snprintf(owner, sizeof(owner), "o%d", i);
		assert_int_equal(alloc("r", 10, 19, owner), 10 + i);
	}
	assert_int_equal(alloc("r", 10, 19, "late"), -2);
	/* the last slot comes back, and only it */
	assert_int_equal(release("o9"), 1);
	assert_int_equal(alloc("r", 10, 19, "late"), 19);
	assert_int_equal(alloc("r", 10, 19, "later"), -2);
	/* a one-slot range (a /30 subnet, a /32 pool) */
	assert_int_equal(alloc("one", 0, 0, "only"), 0);
	assert_int_equal(alloc("one", 0, 0, "second"), -2);
	/* an empty range is always full */
	assert_int_equal(alloc("none", 1, 0, "x"), -2);
}

static void constraints_refuse_double_allocation(void **state)
{
	(void)state;
	assert_int_equal(alloc("r", 10, 19, "a"), 10);
	/* even if the code regressed, the data layer refuses a second owner on a
	 * slot and a second slot for an owner */
	assert_int_not_equal(sqlite3_exec(db.h, "INSERT INTO t_leases VALUES ('r', 10, 'b', 0)", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db.h, "INSERT INTO t_leases VALUES ('r', 11, 'a', 0)", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db.h, "INSERT INTO t_leases VALUES ('r', 'x', 'c', 0)", NULL, NULL, NULL),
			     SQLITE_OK);
	/* a free-list entry on a held slot (a corrupt list) is refused, not doubled */
	assert_int_equal(sqlite3_exec(db.h, "INSERT INTO t_free VALUES ('r', 9)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db.h, "UPDATE t_free SET slot = 10", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(alloc("r", 10, 19, "b"), -1);
	assert_int_equal(error_exit_code(), EXIT_INTERNAL);
	assert_int_equal(scalar("SELECT count(*) FROM t_leases"), 1);
}

/* Skip: 11 and 12 reserved. */
static int skip_11_12(void *ctx, int64_t slot)
{
	int *calls = ctx;

	(*calls)++;
	return slot == 11 || slot == 12;
}

static int skip_all(void *ctx, int64_t slot)
{
	(void)ctx;
	(void)slot;
	return 1;
}

static int skip_fails(void *ctx, int64_t slot)
{
	(void)ctx;
	(void)slot;
	return error_code(EXIT_TEMP, "probe failed");
}

static void skipped_slots_stay_on_the_free_list(void **state)
{
	struct slot_space s = {"r", 10, 19, skip_11_12, NULL};
	struct slot_space plain = {"r", 10, 19, NULL, NULL};
	struct reports r;
	int calls = 0;

	(void)state;
	s.ctx = &calls;
	assert_int_equal(alloc_in(&s, "a"), 10);
	assert_int_equal(alloc_in(&s, "b"), 13);
	assert_int_equal(calls, 4);
	/* 11 and 12 were passed over above the free list: they joined it */
	assert_int_equal(scalar("SELECT count(*) FROM t_free"), 2);
	assert_int_equal(scalar("SELECT min(slot) * 100 + max(slot) FROM t_free"), 1112);
	assert_int_equal(check(&r), 0);
	assert_int_equal(alloc_in(&s, "c"), 14);
	/* without the skip they are handed out, lowest first */
	assert_int_equal(alloc_in(&plain, "d"), 11);
	assert_int_equal(alloc_in(&plain, "e"), 12);
	assert_int_equal(alloc_in(&plain, "f"), 15);
	assert_int_equal(check(&r), 0);
	/* everything skipped: full, and nothing written */
	s.skip = skip_all;
	assert_int_equal(alloc_in(&s, "g"), -2);
	assert_int_equal(scalar("SELECT count(*) FROM t_free"), 0);
	/* a failing skip fails the allocation */
	s.skip = skip_fails;
	assert_int_equal(alloc_in(&s, "g"), -1);
	assert_int_equal(error_exit_code(), EXIT_TEMP);
	assert_int_equal(scalar("SELECT count(*) FROM t_leases"), 6);
}

static void too_many_skips_give_up(void **state)
{
	struct slot_space s = {"big", 0, 1000000, skip_all, NULL};

	(void)state;
	assert_int_equal(alloc_in(&s, "a"), -1);
	assert_int_equal(error_exit_code(), EXIT_TEMP);
	assert_non_null(strstr(error_message(), "had to be skipped"));
	assert_int_equal(scalar("SELECT count(*) FROM t_free"), 0);
}

static void check_finds_what_can_go_wrong(void **state)
{
	struct reports r;

	(void)state;
	assert_int_equal(alloc("r", 10, 19, "a"), 10);
	assert_int_equal(alloc("r", 10, 19, "b"), 11);
	assert_int_equal(alloc("r", 10, 19, "c"), 12);
	assert_int_equal(release("b"), 1);
	assert_int_equal(check(&r), 0);
	/* a free slot also held */
	assert_int_equal(sqlite3_exec(db.h, "INSERT INTO t_free VALUES ('r', 12)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(check(&r), 1);
	assert_string_equal(r.kinds, "free-held ");
	/* a free slot outside the range */
	assert_int_equal(sqlite3_exec(db.h, "DELETE FROM t_free WHERE slot = 12; INSERT INTO t_free VALUES ('r', 99)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(check(&r), 1);
	assert_string_equal(r.kinds, "free-outside ");
	/* a lost slot: below the highest, neither held nor free */
	assert_int_equal(sqlite3_exec(db.h, "DELETE FROM t_free", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(check(&r), 1);
	assert_string_equal(r.kinds, "lost ");
}

static void a_corrupt_slot_released_stays_off_the_free_list(void **state)
{
	struct reports r;

	(void)state;
	assert_int_equal(alloc("r", 10, 19, "a"), 10);
	assert_int_equal(alloc("r", 10, 19, "b"), 11);
	assert_int_equal(sqlite3_exec(db.h, "INSERT INTO t_leases VALUES ('r', 5, 'low', 0);"
					    "INSERT INTO t_leases VALUES ('nowhere', 1, 'lost', 0)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(release("low"), 1);
	assert_int_equal(release("lost"), 1);
	assert_int_equal(scalar("SELECT count(*) FROM t_free"), 0);
	assert_int_equal(check(&r), 0);
	/* a slot within the range does join it */
	assert_int_equal(release("a"), 1);
	assert_int_equal(scalar("SELECT slot FROM t_free"), 10);
	assert_int_equal(check(&r), 0);
}

static int count_steps(void *ctx)
{
	(*(long *)ctx)++;
	return 0;
}

/* Virtual-machine steps of one allocation after N allocations. */
static long steps_after(int n)
{
	char sql[256], owner[16];
	long steps = 0;

	snprintf(sql, sizeof(sql),
		 "DELETE FROM t_leases; DELETE FROM t_free;"
		 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %d)"
		 " INSERT INTO t_leases SELECT 'big', i, 'p' || i, 0 FROM n",
		 n);
	assert_int_equal(sqlite3_exec(db.h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_progress_handler(db.h, 1, count_steps, &steps);
	snprintf(owner, sizeof(owner), "new%d", n);
	assert_int_equal(alloc("big", 0, 100000, owner), n);
	sqlite3_progress_handler(db.h, 0, NULL, NULL);
	return steps;
}

static void cost_does_not_grow_with_allocations(void **state)
{
	long few, many, many_holes;

	(void)state;
	few = steps_after(10);
	many = steps_after(16000);
	/* a hole at the bottom of 16,000: found on the free list */
	assert_int_equal(release("p0"), 1);
	sqlite3_progress_handler(db.h, 1, count_steps, &many_holes);
	many_holes = 0;
	assert_int_equal(alloc("big", 0, 100000, "hole"), 0);
	sqlite3_progress_handler(db.h, 0, NULL, NULL);
	print_message("# VM steps of one allocation: %ld after 10, %ld after 16000, %ld into a hole\n", few,
		      many, many_holes);
	assert_true(many <= few * 3 / 2);
	assert_true(many_holes <= few * 3 / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lowest_free_first_and_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(first_and_last_slot_then_full, setup, teardown),
		cmocka_unit_test_setup_teardown(constraints_refuse_double_allocation, setup, teardown),
		cmocka_unit_test_setup_teardown(skipped_slots_stay_on_the_free_list, setup, teardown),
		cmocka_unit_test_setup_teardown(too_many_skips_give_up, setup, teardown),
		cmocka_unit_test_setup_teardown(check_finds_what_can_go_wrong, setup, teardown),
		cmocka_unit_test_setup_teardown(a_corrupt_slot_released_stays_off_the_free_list, setup, teardown),
		cmocka_unit_test_setup_teardown(cost_does_not_grow_with_allocations, setup, teardown),
	};

	return UNIT_RUN(tests);
}
