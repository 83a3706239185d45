/* CIDR math: parsing is strict, formatting round-trips, the edges hold. */
#include "unit.h"

#include <string.h>

#include "cidr.h"

static void ip_parse_accepts_dotted_quads(void **state)
{
	uint32_t ip;

	(void)state;
	assert_int_equal(ip4_parse("10.0.0.1", &ip), 0);
	assert_int_equal(ip, 0x0a000001u);
	assert_int_equal(ip4_parse("0.0.0.0", &ip), 0);
	assert_int_equal(ip, 0);
	assert_int_equal(ip4_parse("255.255.255.255", &ip), 0);
	assert_int_equal(ip, 0xffffffffu);
}

static void ip_parse_refuses_garbage(void **state)
{
	static const char *const bad[] = {
		"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.4 ", " 1.2.3.4", "01.2.3.4",
		"1..3.4", "a.b.c.d", "1.2.3.-4", "1.2.3.4/24", "1000.2.3.4", "1.2.3.4.",
	};
	uint32_t ip;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ip4_parse(bad[i], &ip), -1);
}

static void cidr_parse_and_format_round_trip(void **state)
{
	static const char *const good[] = {"10.0.0.0/8", "10.1.2.0/24", "0.0.0.0/0", "1.2.3.4/32",
					   "127.0.0.16/28"};
	char buf[CIDR_LEN];
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cidr_parse(good[i], &c), 0);
		cidr_format(&c, buf);
		assert_string_equal(buf, good[i]);
	}
}

static void cidr_parse_refuses_bad_prefixes(void **state)
{
	static const char *const bad[] = {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
					  "10.0.0.0/08", "10.0.0.0/1a", "10.0.0.0/100", "/24"};
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cidr_parse(bad[i], &c), -1);
}

static void masks_networks_and_broadcasts(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_mask(0), 0);
	assert_int_equal(cidr_mask(8), 0xff000000u);
	assert_int_equal(cidr_mask(30), 0xfffffffcu);
	assert_int_equal(cidr_mask(32), 0xffffffffu);
	cidr_parse("10.1.2.3/24", &c);
	assert_false(cidr_is_network(&c));
	assert_int_equal(cidr_network(&c), 0x0a010200u);
	assert_int_equal(cidr_broadcast(&c), 0x0a0102ffu);
	assert_int_equal(cidr_size(&c), 256);
	cidr_parse("0.0.0.0/0", &c);
	assert_int_equal(cidr_size(&c), (uint64_t)1 << 32);
	cidr_parse("1.2.3.4/32", &c);
	assert_true(cidr_is_network(&c));
	assert_int_equal(cidr_broadcast(&c), 0x01020304u);
}

static void contains_and_overlaps(void **state)
{
	struct cidr a, b, c;

	(void)state;
	cidr_parse("10.31.0.0/16", &a);
	cidr_parse("10.31.200.0/24", &b);
	cidr_parse("10.32.0.0/16", &c);
	assert_true(cidr_contains(&a, 0x0a1f0001u));
	assert_true(cidr_contains(&a, 0x0a1fffffu));
	assert_false(cidr_contains(&a, 0x0a200000u));
	assert_true(cidr_overlaps(&a, &b));
	assert_true(cidr_overlaps(&b, &a));
	assert_false(cidr_overlaps(&a, &c));
	cidr_parse("0.0.0.0/0", &c);
	assert_true(cidr_overlaps(&a, &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ip_parse_accepts_dotted_quads),
		cmocka_unit_test(ip_parse_refuses_garbage),
		cmocka_unit_test(cidr_parse_and_format_round_trip),
		cmocka_unit_test(cidr_parse_refuses_bad_prefixes),
		cmocka_unit_test(masks_networks_and_broadcasts),
		cmocka_unit_test(contains_and_overlaps),
	};

	return UNIT_RUN(tests);
}
