/* TAP names, ownership proofs and create parameters: pure logic of lib/tap. */
#include "unit.h"

#include <string.h>

#include "error.h"
#include "tap.h"

static void with_id(struct install *in, const char *id)
{
	memset(in, 0, sizeof(*in));
	strcpy(in->id, id);
}

/* Expected values computed independently (FNV-1a-32 in Python). */
static void names_derive_from_the_owner(void **state)
{
	struct install in;
	char name[TAP_NAME_LEN];

	(void)state;
	with_id(&in, "a3f4");
	tap_name_candidate(&in, "vm1", 0, name);
	assert_string_equal(name, "ema3f4-11c93a7");
	tap_name_candidate(&in, "vm2", 0, name);
	assert_string_equal(name, "ema3f4-21c953a");
	tap_name_candidate(&in, "web-01", 0, name);
	assert_string_equal(name, "ema3f4-d331887");
	/* the next candidate hashes "vm1#1" */
	tap_name_candidate(&in, "vm1", 1, name);
	assert_string_equal(name, "ema3f4-30db647");
	with_id(&in, "");
	tap_name_candidate(&in, "vm1", 0, name);
	assert_string_equal(name, "em-511c93a7");
	tap_name_candidate(&in, "web-01", 0, name);
	assert_string_equal(name, "em-0d331887");
}

static void names_fit_ifnamsiz(void **state)
{
	static const char *const owners[] = {"a", "0123456789abcdef0123456789abcdef", "x_y-z"};
	struct install in;
	char name[TAP_NAME_LEN];
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		for (k = 0; k < TAP_CANDIDATES; k++) {
			with_id(&in, "ffff");
			tap_name_candidate(&in, owners[i], k, name);
			assert_int_equal(strlen(name), 14);
			with_id(&in, "");
			tap_name_candidate(&in, owners[i], k, name);
			assert_int_equal(strlen(name), 11);
		}
	}
}

static void aliases(void **state)
{
	struct install in;
	char buf[TAP_ALIAS_LEN];

	(void)state;
	with_id(&in, "a3f4");
	tap_alias(&in, "vm1", buf, sizeof(buf));
	assert_string_equal(buf, "ember:a3f4:vm1");
	with_id(&in, "");
	tap_alias(&in, "vm1", buf, sizeof(buf));
	assert_string_equal(buf, "ember::vm1");
}

/* Ownership is the prefix AND the whole alias token: never a substring. */
static void ownership_is_exact(void **state)
{
	char owner[NAME_MAX_LEN + 1];
	struct install in;

	(void)state;
	with_id(&in, "a3f4");
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember:a3f4:vm1", owner), 1);
	assert_string_equal(owner, "vm1");
	/* any name with the prefix: the alias is the proof, the name only a filter */
	assert_int_equal(tap_owned(&in, "ema3f4-zzz", "ember:a3f4:vm1", NULL), 1);
	assert_int_equal(tap_owned(&in, "tap0", "ember:a3f4:vm1", NULL), 0);
	assert_int_equal(tap_owned(&in, "emb3f4-11c93a7", "ember:a3f4:vm1", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember:a3f4", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember:a3f4:", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember:a3f4:vm1 ", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "xember:a3f4:vm1", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember:a3f45:vm1", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember:a3f4:vm1:x", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember:a3f4:VM1", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember:b3f4:vm1", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember::vm1", NULL), 0);
	/* legacy: "em-" and "ember::<owner>" */
	with_id(&in, "");
	assert_int_equal(tap_owned(&in, "em-511c93a7", "ember::vm1", owner), 1);
	assert_string_equal(owner, "vm1");
	assert_int_equal(tap_owned(&in, "em-511c93a7", "ember:a3f4:vm1", NULL), 0);
	assert_int_equal(tap_owned(&in, "ema3f4-11c93a7", "ember::vm1", NULL), 0);
}

static void alias_tokens_of_any_installation(void **state)
{
	char id[5], owner[NAME_MAX_LEN + 1];

	(void)state;
	assert_int_equal(tap_alias_parse("ember:b2c1:web", id, owner), 1);
	assert_string_equal(id, "b2c1");
	assert_string_equal(owner, "web");
	assert_int_equal(tap_alias_parse("ember::web", id, owner), 1);
	assert_string_equal(id, "");
	assert_int_equal(tap_alias_parse("ember:b2c:web", id, owner), 0);
	assert_int_equal(tap_alias_parse("ember:B2C1:web", id, owner), 0);
	assert_int_equal(tap_alias_parse("ember:b2c1:", id, owner), 0);
	assert_int_equal(tap_alias_parse("ember:b2c1:web x", id, owner), 0);
	assert_int_equal(tap_alias_parse("hello there", id, owner), 0);
	assert_int_equal(tap_alias_parse("", id, owner), 0);
}

static void parameters_are_validated(void **state)
{
	struct tap_params p;

	(void)state;
	assert_int_equal(tap_parse_params("10.0.0.1/30", NULL, NULL, NULL, &p), 0);
	assert_int_equal(p.address.addr, 0x0a000001u);
	assert_int_equal(p.address.prefix, 30);
	assert_int_equal(p.mtu, 1500);
	assert_true(p.uid == -1 && p.gid == -1);
	assert_int_equal(tap_parse_params("10.0.0.1/32", "68", "0", "0", &p), 0);
	assert_int_equal(p.mtu, 68);
	assert_true(p.uid == 0 && p.gid == 0);
	assert_int_equal(tap_parse_params("10.0.0.0/31", "65535", "root", "root", &p), 0);
	assert_int_equal(p.mtu, 65535);
	assert_true(p.uid == 0 && p.gid == 0);
	assert_int_equal(tap_parse_params("169.254.0.1/16", NULL, "4294967294", NULL, &p), 0);
	assert_true(p.uid == 4294967294LL);
}

static void bad_parameters_exit_100(void **state)
{
	static const char *const bad_addresses[] = {
	    "10.0.0.1",
	    "10.0.0.1/33",
	    "10.0.0.1/7",
	    "10.0.0.0/30",
	    "10.0.0.3/30",
	    "0.1.2.3/24",
	    "127.0.0.1/8",
	    "224.0.0.1/24",
	    "240.0.0.1/8",
	    "255.255.255.255/32",
	    "10.0.0.256/30",
	    "a.b.c.d/24",
	    "",
	    "10.0.0.1/30 ",
	};
	static const char *const bad_mtus[] = {"67",	"65536", "0",		"-1",
					       "1500x", "",	 "99999999999", "0x500"};
	struct tap_params p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_addresses) / sizeof(bad_addresses[0]); i++) {
		assert_int_equal(tap_parse_params(bad_addresses[i], NULL, NULL, NULL, &p), -1);
		assert_int_equal(error_exit_code(), EXIT_USAGE);
	}
	assert_int_equal(tap_parse_params(NULL, NULL, NULL, NULL, &p), -1);
	assert_int_equal(error_exit_code(), EXIT_USAGE);
	for (i = 0; i < sizeof(bad_mtus) / sizeof(bad_mtus[0]); i++) {
		assert_int_equal(tap_parse_params("10.0.0.1/30", bad_mtus[i], NULL, NULL, &p), -1);
		assert_int_equal(error_exit_code(), EXIT_USAGE);
	}
	assert_int_equal(tap_parse_params("10.0.0.1/30", NULL, "no-such-user-here", NULL, &p), -1);
	assert_int_equal(error_exit_code(), EXIT_USAGE);
	assert_non_null(strstr(error_message(), "unknown user 'no-such-user-here'"));
	assert_int_equal(tap_parse_params("10.0.0.1/30", NULL, NULL, "no-such-group-here", &p), -1);
	assert_non_null(strstr(error_message(), "unknown group 'no-such-group-here'"));
	assert_int_equal(tap_parse_params("10.0.0.1/30", NULL, "4294967295", NULL, &p), -1);
	assert_int_equal(tap_parse_params("10.0.0.1/30", NULL, "", NULL, &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_derive_from_the_owner),
	    cmocka_unit_test(names_fit_ifnamsiz),
	    cmocka_unit_test(aliases),
	    cmocka_unit_test(ownership_is_exact),
	    cmocka_unit_test(alias_tokens_of_any_installation),
	    cmocka_unit_test(parameters_are_validated),
	    cmocka_unit_test(bad_parameters_exit_100),
	};

	return UNIT_RUN(tests);
}
