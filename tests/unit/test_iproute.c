/* The ip -j parser, on output captured from iproute2 6.1 (`ip -j -d addr show`). */
#include "unit.h"

#include <string.h>

#include "iproute.h"

/* lo, one of our TAPs (user by name, group by number, as ip prints them), a
 * foreign multi-queue TAP whose alias has blanks, in one document. */
static const char captured[] =
    "[{\"ifindex\":1,\"ifname\":\"lo\",\"flags\":[\"LOOPBACK\",\"UP\",\"LOWER_UP\"],\"mtu\":65536,"
    "\"qdisc\":\"noqueue\",\"operstate\":\"UNKNOWN\",\"group\":\"default\",\"txqlen\":1000,"
    "\"link_type\":\"loopback\",\"address\":\"00:00:00:00:00:00\",\"broadcast\":\"00:00:00:00:00:"
    "00\","
    "\"promiscuity\":0,\"allmulti\":0,\"min_mtu\":0,\"max_mtu\":0,\"num_tx_queues\":1,\"num_rx_"
    "queues\":1,"
    "\"gso_max_size\":65536,\"gso_max_segs\":65535,\"tso_max_size\":524280,\"tso_max_segs\":65535,"
    "\"gro_max_size\":65536,\"addr_info\":[{\"family\":\"inet\",\"local\":\"127.0.0.1\","
    "\"prefixlen\":8,"
    "\"scope\":\"host\",\"label\":\"lo\",\"valid_life_time\":4294967295,\"preferred_life_time\":"
    "4294967295},"
    "{\"family\":\"inet6\",\"local\":\"::1\",\"prefixlen\":128,\"scope\":\"host\",\"valid_life_"
    "time\":4294967295,"
    "\"preferred_life_time\":4294967295}]},"
    "{\"ifindex\":2,\"ifname\":\"emtest-abc\",\"flags\":[\"NO-CARRIER\",\"BROADCAST\","
    "\"MULTICAST\",\"UP\"],"
    "\"mtu\":1400,\"qdisc\":\"pfifo_fast\",\"operstate\":\"DOWN\",\"group\":\"default\",\"txqlen\":"
    "1000,"
    "\"link_type\":\"ether\",\"address\":\"e2:f7:0b:1d:0e:cc\",\"broadcast\":\"ff:ff:ff:ff:ff:ff\","
    "\"promiscuity\":0,\"allmulti\":0,\"min_mtu\":68,\"max_mtu\":65521,\"linkinfo\":{\"info_kind\":"
    "\"tun\","
    "\"info_data\":{\"type\":\"tap\",\"pi\":false,\"vnet_hdr\":false,\"multi_queue\":false,"
    "\"persist\":true,"
    "\"user\":\"nobody\",\"group\":12345}},\"num_tx_queues\":1,\"num_rx_queues\":1,\"gso_max_"
    "size\":65536,"
    "\"gso_max_segs\":65535,\"tso_max_size\":65536,\"tso_max_segs\":65535,\"gro_max_size\":65536,"
    "\"ifalias\":\"ember:a3f4:vm1\",\"addr_info\":[{\"family\":\"inet\",\"local\":\"10.0.0.1\","
    "\"prefixlen\":30,\"scope\":\"global\",\"label\":\"emtest-abc\",\"valid_life_time\":4294967295,"
    "\"preferred_life_time\":4294967295}]},"
    "{\"ifindex\":3,\"ifname\":\"foreign0\",\"flags\":[\"BROADCAST\",\"MULTICAST\"],\"mtu\":1500,"
    "\"qdisc\":\"noop\",\"operstate\":\"DOWN\",\"group\":\"default\",\"txqlen\":1000,\"link_type\":"
    "\"ether\","
    "\"address\":\"a6:41:87:25:ee:a9\",\"broadcast\":\"ff:ff:ff:ff:ff:ff\",\"promiscuity\":0,"
    "\"allmulti\":0,"
    "\"min_mtu\":68,\"max_mtu\":65521,\"linkinfo\":{\"info_kind\":\"tun\",\"info_data\":{\"type\":"
    "\"tap\","
    "\"pi\":false,\"vnet_hdr\":false,\"multi_queue\":true,\"numqueues\":0,\"numdisabled\":0,"
    "\"persist\":true}},"
    "\"num_tx_queues\":256,\"num_rx_queues\":256,\"gso_max_size\":65536,\"gso_max_segs\":65535,"
    "\"tso_max_size\":65536,\"tso_max_segs\":65535,\"gro_max_size\":65536,\"ifalias\":\"my tap "
    "with spaces\","
    "\"addr_info\":[]}]\n";

static void parses_captured_links(void **state)
{
	struct iproute_links l;

	(void)state;
	assert_int_equal(iproute_parse_links(captured, &l), 0);
	assert_int_equal(l.n, 3);

	assert_string_equal(l.v[0].name, "lo");
	assert_int_equal(l.v[0].ifindex, 1);
	assert_int_equal(l.v[0].up, 1);
	assert_int_equal(l.v[0].tap, 0);
	assert_string_equal(l.v[0].addr, "127.0.0.1/8");
	assert_int_equal(l.v[0].naddr, 1);
	assert_int_equal(l.v[0].ninet6, 1);
	assert_string_equal(l.v[0].alias, "");

	assert_string_equal(l.v[1].name, "emtest-abc");
	assert_int_equal(l.v[1].mtu, 1400);
	assert_int_equal(l.v[1].up, 1);
	assert_int_equal(l.v[1].tap, 1);
	assert_int_equal(l.v[1].multi_queue, 0);
	assert_int_equal(l.v[1].persist, 1);
	assert_string_equal(l.v[1].user, "nobody");
	assert_string_equal(l.v[1].group, "12345");
	assert_string_equal(l.v[1].alias, "ember:a3f4:vm1");
	assert_string_equal(l.v[1].addr, "10.0.0.1/30");
	assert_int_equal(l.v[1].naddr, 1);
	assert_int_equal(l.v[1].ninet6, 0);

	assert_string_equal(l.v[2].name, "foreign0");
	assert_int_equal(l.v[2].up, 0);
	assert_int_equal(l.v[2].tap, 1);
	assert_int_equal(l.v[2].multi_queue, 1);
	assert_string_equal(l.v[2].user, "");
	assert_string_equal(l.v[2].alias, "my tap with spaces");
	assert_string_equal(l.v[2].addr, "");
	assert_int_equal(l.v[2].naddr, 0);
	iproute_links_release(&l);
}

/* `ip -j link show` has no addr_info and no linkinfo: still a link. */
static void parses_link_show_without_details(void **state)
{
	static const char json[] =
	    "[{\"ifindex\":7,\"ifname\":\"veth0\",\"flags\":[\"BROADCAST\",\"MULTICAST\",\"UP\"],"
	    "\"mtu\":1500,\"operstate\":\"UP\",\"ifalias\":\"x\"}]";
	struct iproute_links l;

	(void)state;
	assert_int_equal(iproute_parse_links(json, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "veth0");
	assert_int_equal(l.v[0].tap, 0);
	assert_int_equal(l.v[0].naddr, 0);
	assert_string_equal(l.v[0].alias, "x");
	iproute_links_release(&l);
}

/* Several IPv4 addresses: the first is kept, all are counted. */
static void counts_addresses(void **state)
{
	static const char json[] =
	    "[{\"ifindex\":2,\"ifname\":\"t0\",\"flags\":[],\"mtu\":1500,\"addr_info\":["
	    "{\"family\":\"inet\",\"local\":\"10.0.0.1\",\"prefixlen\":30},"
	    "{\"family\":\"inet\",\"local\":\"10.9.0.1\",\"prefixlen\":24},"
	    "{\"family\":\"inet6\",\"local\":\"fe80::1\",\"prefixlen\":64}]}]";
	struct iproute_links l;

	(void)state;
	assert_int_equal(iproute_parse_links(json, &l), 0);
	assert_string_equal(l.v[0].addr, "10.0.0.1/30");
	assert_int_equal(l.v[0].naddr, 2);
	assert_int_equal(l.v[0].ninet6, 1);
	iproute_links_release(&l);
}

/* ip prints nothing for a filter that matches nothing; "[]" is also empty. */
static void empty_output_is_no_links(void **state)
{
	struct iproute_links l;

	(void)state;
	assert_int_equal(iproute_parse_links("", &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(iproute_parse_links(" \n", &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(iproute_parse_links("[]\n", &l), 0);
	assert_int_equal(l.n, 0);
	iproute_links_release(&l);
}

static void refuses_malformed_output(void **state)
{
	static const char *const bad[] = {
	    "{}",
	    "[1]",
	    "not json",
	    "[{\"ifindex\":1}]",
	    "[{\"ifname\":\"\"}]",
	    "[{\"ifname\":\"a-name-longer-than-15\"}]",
	    "[{\"ifname\":\"t0\",\"addr_info\":[{\"family\":\"inet\",\"local\":\"10.0.0.1\","
	    "\"prefixlen\":33}]}]",
	    "[{\"ifname\":\"t0\",\"addr_info\":[{\"family\":\"inet\",\"prefixlen\":24}]}]",
	    "[{\"ifname\":\"t0\"},",
	    "[{\"ifname\":\"t0\",\"addr_info\":[{\"family\":\"inet\",\"local\":\"hello\","
	    "\"prefixlen\":8}]}]",
	};
	struct iproute_links l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(iproute_parse_links(bad[i], &l), -1);
		assert_null(l.v);
		assert_int_equal(l.n, 0);
	}
}

/* What ip -batch prints when a line fails, captured. */
static void reads_batch_failures(void **state)
{
	struct iproute_failure f;

	(void)state;
	iproute_parse_failure("Error: mtu greater than device maximum.\nCommand failed -:5\n", &f);
	assert_int_equal(f.line, 5);
	assert_int_equal(f.refused, 1);
	assert_string_equal(f.message, "mtu greater than device maximum");

	iproute_parse_failure("ioctl(TUNSETIFF): Device or resource busy\nCommand failed -:1\n",
			      &f);
	assert_int_equal(f.line, 1);
	assert_int_equal(f.refused, 0);
	assert_string_equal(f.message, "ioctl(TUNSETIFF): Device or resource busy");

	iproute_parse_failure("Cannot find device \"nosuch\"\nCommand failed -:12\n", &f);
	assert_int_equal(f.line, 12);
	assert_string_equal(f.message, "Cannot find device \"nosuch\"");

	iproute_parse_failure("", &f);
	assert_int_equal(f.line, 0);
	assert_string_equal(f.message, "failed with no message");

	/* the number is on the "Command failed" line or nowhere */
	iproute_parse_failure("Error: nope.\nCommand failed -:\n12\n", &f);
	assert_int_equal(f.line, 0);
	assert_string_equal(f.message, "nope");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_captured_links),
	    cmocka_unit_test(parses_link_show_without_details),
	    cmocka_unit_test(counts_addresses),
	    cmocka_unit_test(empty_output_is_no_links),
	    cmocka_unit_test(refuses_malformed_output),
	    cmocka_unit_test(reads_batch_failures),
	};

	return UNIT_RUN(tests);
}
