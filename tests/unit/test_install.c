/* The installation: id and subnet derivation, owner names, config parsing. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "install.h"
#include "name.h"

static void fnv1a32_matches_reference_vectors(void **state)
{
	(void)state;
	/* published FNV-1a 32-bit test vectors */
	assert_int_equal(fnv1a32("", 0), 0x811c9dc5u);
	assert_int_equal(fnv1a32("a", 1), 0xe40c292cu);
	assert_int_equal(fnv1a32("foobar", 6), 0xbf9cf968u);
}

static void instance_id_is_low_16_bits_of_the_path_hash(void **state)
{
	char id[5];

	(void)state;
	install_derive_id("/var/lib/ember", id);
	{
		char want[5];

		snprintf(want, sizeof(want), "%04x", fnv1a32("/var/lib/ember", 14) & 0xffff);
		assert_string_equal(id, want);
	}
	/* leading zeros are kept: always 4 characters */
	install_derive_id("", id);
	assert_string_equal(id, "9dc5");
}

static void default_subnet_comes_from_the_id_hash(void **state)
{
	struct cidr c;
	uint32_t s;

	(void)state;
	install_default_subnet("a3f4", &c);
	s = (fnv1a32("a3f4", 4) >> 8) & 0xff;
	assert_int_equal(c.addr, 10u << 24 | s << 16);
	assert_int_equal(c.prefix, 16);
}

static void instance_id_parsing(void **state)
{
	char id[5];

	(void)state;
	assert_int_equal(install_parse_id("a3f4", id), 0);
	assert_string_equal(id, "a3f4");
	assert_int_equal(install_parse_id("A3F4", id), 0);
	assert_string_equal(id, "a3f4");
	assert_int_equal(install_parse_id("a3f", id), -1);
	assert_int_equal(error_exit_code(), EXIT_USAGE);
	assert_int_equal(install_parse_id("a3f45", id), -1);
	assert_int_equal(install_parse_id("g3f4", id), -1);
	assert_int_equal(install_parse_id("", id), -1);
	assert_int_equal(install_parse_id("a3 4", id), -1);
}

static void subnet_parsing(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(install_parse_subnet("10.1.0.0/16", &c), 0);
	assert_int_equal(install_parse_subnet("10.0.0.0/8", &c), 0);
	assert_int_equal(install_parse_subnet("192.168.7.0/30", &c), 0);
	assert_int_equal(install_parse_subnet("10.0.0.0/7", &c), -1);
	assert_int_equal(install_parse_subnet("10.1.0.0/31", &c), -1);
	assert_int_equal(install_parse_subnet("10.1.0.1/16", &c), -1);
	assert_string_equal(error_hint_text(), "did you mean '10.1.0.0/16'?");
	assert_int_equal(install_parse_subnet("10.1.0.0", &c), -1);
	/* the allocator's rule: subnets no p2p block can come from */
	assert_int_equal(install_parse_subnet("224.1.0.0/16", &c), -1);
	assert_int_equal(error_exit_code(), EXIT_USAGE);
	assert_int_equal(install_parse_subnet("0.0.0.0/8", &c), -1);
	assert_int_equal(install_parse_subnet("240.0.0.0/8", &c), -1);
	assert_int_equal(install_parse_subnet("127.0.0.0/16", &c), -1);
}

static void owner_names(void **state)
{
	static const char *const good[] = {"a", "0", "vm1", "web-1", "db_2", "abcdefghijklmnopqrstuvwxyz012345"};
	static const char *const bad[] = {"", "-a", "_a", "A", "vm 1", "vm/1", "vm.1", "é",
					  "abcdefghijklmnopqrstuvwxyz0123456", "vm1\n"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(name_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(name_valid(bad[i]));
	assert_false(name_valid(NULL));
}

/* Write TEXT as config.json in a new directory and load it. */
static int load(const char *text, struct install *in)
{
	char dir[] = "/tmp/ember-unit.XXXXXX", path[64];
	FILE *f;
	int rc;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	rc = install_load(in, dir);
	unlink(path);
	rmdir(dir);
	return rc;
}

static void config_parsing(void **state)
{
	struct install in;
	char buf[CIDR_LEN];

	(void)state;
	assert_int_equal(load("{\"version\":1,\"instance_id\":\"a3f4\",\"ip_subnet\":\"10.7.0.0/16\"}", &in), 0);
	assert_string_equal(install_namespace(&in), "a3f4");
	cidr_format(&in.subnet, buf);
	assert_string_equal(buf, "10.7.0.0/16");

	/* legacy: no instance id, historic subnet */
	assert_int_equal(load("{}", &in), 0);
	assert_null(install_namespace(&in));
	cidr_format(&in.subnet, buf);
	assert_string_equal(buf, "10.100.0.0/16");

	/* an id without a subnet takes the derived one */
	assert_int_equal(load("{\"instance_id\":\"a3f4\"}", &in), 0);
	{
		struct cidr want;

		install_default_subnet("a3f4", &want);
		assert_int_equal(in.subnet.addr, want.addr);
	}

	/* corrupt configs are refused as corrupt state (101) */
	assert_int_equal(load("{\"instance_id\":", &in), -1);
	assert_int_equal(error_exit_code(), EXIT_INTERNAL);
	assert_int_equal(load("[]", &in), -1);
	assert_int_equal(load("{\"instance_id\":\"A3F4\"}", &in), -1);
	assert_int_equal(load("{\"instance_id\":42}", &in), -1);
	assert_int_equal(load("{\"instance_id\":\"a3f4\",\"ip_subnet\":\"10.7.0.1/16\"}", &in), -1);
	assert_int_equal(load("{\"version\":2}", &in), -1);
	assert_int_equal(error_exit_code(), EXIT_INTERNAL);
	/* one object, a possible version */
	assert_int_equal(load("{\"version\":1}{\"version\":1}", &in), -1);
	assert_int_equal(error_exit_code(), EXIT_INTERNAL);
	assert_int_equal(load("{\"version\":1} x", &in), -1);
	assert_int_equal(load("{\"version\":0}", &in), -1);
	assert_int_equal(load("{\"version\":1.5}", &in), -1);
	assert_int_equal(load("{\"version\":-1e300}", &in), -1);
	assert_int_equal(load("{\"version\":1}\n\n", &in), 0);
	assert_int_equal(load("{\"ip_subnet\":\"224.0.0.0/8\"}", &in), -1);
	assert_int_equal(error_exit_code(), EXIT_INTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fnv1a32_matches_reference_vectors),
		cmocka_unit_test(instance_id_is_low_16_bits_of_the_path_hash),
		cmocka_unit_test(default_subnet_comes_from_the_id_hash),
		cmocka_unit_test(instance_id_parsing),
		cmocka_unit_test(subnet_parsing),
		cmocka_unit_test(owner_names),
		cmocka_unit_test(config_parsing),
	};

	return UNIT_RUN(tests);
}
