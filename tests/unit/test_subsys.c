/* The subsystem interface reconcile drives: every subsystem is in the table,
 * in set-up order; each lists its owners with the time each object was
 * created, from the one "created" column; release of one owner forgets it;
 * reading never creates tables. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "file.h"
#include "subsys.h"
#include "cidalloc.h"
#include "ipalloc.h"

static struct install in;
static char dir[64];

static int setup(void **state)
{
	struct install_opts o = {"a3f4", "10.7.0.0/16", 0};
	int created;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ember-unit-subsys.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return install_init(&in, dir, &o, &created);
}

static int teardown(void **state)
{
	(void)state;
	install_release(&in);
	return file_remove_tree(dir);
}

static const struct subsystem *find(const char *name)
{
	int i;

	for (i = 0; i < subsystem_count; i++)
		if (strcmp(subsystems[i].name, name) == 0)
			return &subsystems[i];
	fail_msg("no subsystem '%s'", name);
	return NULL;
}

struct seen {
	char text[256];
};

static int collect(const char *owner, int64_t created, void *ctx)
{
	struct seen *s = ctx;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s%s@%s", n ? " " : "", owner, created > 0 ? "t" : "0");
	return 0;
}

static const char *owners(const char *name)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	assert_true(subsys_owners(&in, find(name), collect, &s) >= 0);
	return s.text;
}

static void every_subsystem_in_order(void **state)
{
	static const char *const order[] = {"ipalloc", "cidalloc", "tap", "nat", "pool", "vm"};
	int i;

	(void)state;
	assert_int_equal(subsystem_count, 6);
	for (i = 0; i < subsystem_count; i++) {
		assert_string_equal(subsystems[i].name, order[i]);
		assert_non_null(subsystems[i].tables);
		assert_non_null(subsystems[i].release_owner);
	}
	assert_non_null(find("tap")->teardown);
	assert_non_null(find("tap")->teardown_owner);
	assert_null(find("ipalloc")->teardown_owner); /* an address is no host object */
	assert_non_null(find("vm")->teardown_owner);     /* its Firecracker */
	assert_null(find("vm")->teardown);               /* deinit refuses while VMs are registered */
}

static void owners_with_creation_times(void **state)
{
	struct ipalloc_request r;
	struct ipalloc a;
	struct cidalloc c;
	struct db *db;
	int created, i;

	(void)state;
	/* reading creates nothing */
	in.no_create = 1;
	for (i = 0; i < subsystem_count; i++)
		assert_int_equal(subsys_owners(&in, &subsystems[i], collect, &(struct seen){{0}}), 0);
	assert_int_equal(install_db(&in, &db), 0);
	assert_int_equal(db_has_table(db, "ipalloc_leases"), 0);
	assert_int_equal(db_has_table(db, "tap"), 0);
	in.no_create = 0;

	memset(&r, 0, sizeof(r));
	r.subnet = in.subnet;
	assert_int_equal(ipalloc_alloc(&in, "vm2", &r, &a, &created), 0);
	assert_int_equal(ipalloc_alloc(&in, "vm1", &r, &a, &created), 0);
	assert_int_equal(cidalloc_alloc(&in, "vm1", NULL, NULL, &c, &created), 0);
	assert_string_equal(owners("ipalloc"), "vm1@t vm2@t");
	assert_string_equal(owners("cidalloc"), "vm1@t");

	/* the records tap, nat and pool write, as they write them */
	for (i = 2; i < subsystem_count; i++)
		assert_int_equal(tables_open(&in, subsystems[i].tables, 1, &db), 1);
	assert_int_equal(db_exec(db, "INSERT INTO tap (owner, name, address, mtu, created) "
				     "VALUES ('vm3', 'ema3f4-0000003', '10.7.0.9/30', 1500, 1700000000);"
				     "INSERT INTO nat_vms (owner, guest_ip, tap, uplink, allow, created) "
				     "VALUES ('vm3', '10.7.0.10', 'ema3f4-0000003', 'eth0', '', 1700000000);"
				     "INSERT INTO pool_volume (kind, name, thin_id, size, state, updated, created) "
				     "VALUES ('img', 'base', 1, 1, 'ready', 5, 5), ('vm', 'vm3', 2, 1, 'ready', 7, 7)"),
			 0);
	assert_string_equal(owners("tap"), "vm3@t");
	assert_string_equal(owners("nat"), "vm3@t");
	assert_string_equal(owners("pool"), "vm3@t"); /* an image is no one's */
	assert_int_equal(db_exec(db, "INSERT INTO vms (name, kernel, read_only, boot_args, vcpus, memory, drives,"
				     " api_sock, state, created) VALUES ('vm3', '/k', 0, '', 1, 128, '[]', '/s',"
				     " 'stopped', 1700000000)"),
			 0);
	assert_string_equal(owners("vm"), "vm3@t");
	/* a stopped VM's runtime is nothing to tear down; releasing it deletes its record */
	assert_int_equal(find("vm")->teardown_owner(&in, "vm3"), 0);
	assert_string_equal(owners("vm"), "vm3@t");
	assert_int_equal(find("vm")->release_owner(&in, "vm3"), 0);
	assert_string_equal(owners("vm"), "");
	assert_int_equal(find("vm")->release_owner(&in, "vm3"), 0); /* absent: 0 */

	/* release one owner */
	assert_int_equal(find("ipalloc")->release_owner(&in, "vm1"), 0);
	assert_int_equal(find("cidalloc")->release_owner(&in, "vm1"), 0);
	assert_string_equal(owners("ipalloc"), "vm2@t");
	assert_string_equal(owners("cidalloc"), "");
	assert_int_equal(find("ipalloc")->release_owner(&in, "vm1"), 0); /* absent: 0 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_subsystem_in_order),
		cmocka_unit_test_setup_teardown(owners_with_creation_times, setup, teardown),
	};

	return UNIT_RUN(tests);
}
