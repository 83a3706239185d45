/* ipalloc and cidalloc: address math at the edges, subnets refused where
 * they make no sense, the allocation rules, and the CID probe's decisions
 * with an injected probe (this machine has no /dev/vhost-vsock). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidalloc.h"
#include "error.h"
#include "file.h"
#include "ipalloc.h"

static char dir[64];
static struct install in;

static int setup(void **state)
{
	char path[128];
	struct db db;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ember-unit-ipalloc.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("{\"version\":1,\"instance_id\":\"a3f4\",\"ip_subnet\":\"10.7.0.0/16\"}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/state.db", dir);
	/* what init writes: the installation's table and identity row (a
	 * database without a table is one that lost its contents) */
	if (db_open(&db, path, 1) < 0 ||
	    db_exec(&db, "CREATE TABLE install (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
			 "INSERT INTO install VALUES ('instance_id', 'a3f4')") < 0)
		return -1;
	db_close(&db);
	return install_load(&in, dir);
}

static int teardown(void **state)
{
	(void)state;
	install_release(&in);
	return file_remove_tree(dir);
}

static struct cidr net(const char *s)
{
	struct cidr c;

	assert_int_equal(cidr_parse(s, &c), 0);
	return c;
}

static const char *ip(uint32_t a)
{
	static char buf[4][IP4_LEN];
	static int k;

	k = (k + 1) % 4;
	ip4_format(a, buf[k]);
	return buf[k];
}

static struct ipalloc at(const char *subnet, enum ipalloc_mode m, int64_t slot)
{
	struct ipalloc a;

	memset(&a, 0, sizeof(a));
	a.subnet = net(subnet);
	a.mode = m;
	a.slot = slot;
	ipalloc_address(&a);
	return a;
}

static void p2p_blocks_first_and_last(void **state)
{
	struct cidr c = net("10.7.0.0/16");
	struct ipalloc a;
	int64_t lo, hi;

	(void)state;
	ipalloc_slots(&c, IPALLOC_P2P, &lo, &hi);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 16383);
	a = at("10.7.0.0/16", IPALLOC_P2P, 0);
	assert_string_equal(ip(a.host), "10.7.0.1");
	assert_string_equal(ip(a.guest), "10.7.0.2");
	assert_int_equal(a.prefix, 30);
	assert_true(a.has_host);
	a = at("10.7.0.0/16", IPALLOC_P2P, 16383);
	assert_string_equal(ip(a.first), "10.7.255.252");
	assert_string_equal(ip(a.host), "10.7.255.253");
	assert_string_equal(ip(a.guest), "10.7.255.254");
	assert_string_equal(ip(a.last), "10.7.255.255");
	/* a /30 subnet is one block */
	c = net("192.168.5.8/30");
	ipalloc_slots(&c, IPALLOC_P2P, &lo, &hi);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 0);
	a = at("192.168.5.8/30", IPALLOC_P2P, 0);
	assert_string_equal(ip(a.guest), "192.168.5.10");
	/* the slot of an address is its block */
	assert_int_equal(ipalloc_slot_of(&c, IPALLOC_P2P, 0xc0a8050bu), 0);
	c = net("10.7.0.0/16");
	assert_int_equal(ipalloc_slot_of(&c, IPALLOC_P2P, 0x0a07ffffu), 16383);
}

static void single_addresses_skip_network_gateway_broadcast(void **state)
{
	struct cidr c = net("127.0.0.16/28");
	struct ipalloc a;
	int64_t lo, hi;

	(void)state;
	ipalloc_slots(&c, IPALLOC_SINGLE, &lo, &hi);
	assert_int_equal(lo, 2);
	assert_int_equal(hi, 14);
	a = at("127.0.0.16/28", IPALLOC_SINGLE, lo);
	assert_string_equal(ip(a.guest), "127.0.0.18");
	assert_string_equal(ip(a.host), "127.0.0.17");
	assert_int_equal(a.prefix, 28);
	a = at("127.0.0.16/28", IPALLOC_SINGLE, hi);
	assert_string_equal(ip(a.guest), "127.0.0.30");
	/* a /30: one address; a /31: both, no gateway; a /32 pool: the one */
	c = net("10.1.1.4/30");
	ipalloc_slots(&c, IPALLOC_SINGLE, &lo, &hi);
	assert_int_equal(lo, 2);
	assert_int_equal(hi, 2);
	c = net("10.1.1.4/31");
	ipalloc_slots(&c, IPALLOC_SINGLE, &lo, &hi);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 1);
	c = net("127.0.0.9/32");
	ipalloc_slots(&c, IPALLOC_SINGLE, &lo, &hi);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 0);
	a = at("127.0.0.9/32", IPALLOC_SINGLE, 0);
	assert_string_equal(ip(a.guest), "127.0.0.9");
	assert_false(a.has_host);
	assert_int_equal(a.prefix, 32);
}

static void subnets_refused_where_meaningless(void **state)
{
	static const struct {
		const char *s;
		enum ipalloc_mode m;
		const char *why;
	} bad[] = {
		{"10.7.0.1/16", IPALLOC_P2P, "host bits set"},
		{"10.7.0.0/31", IPALLOC_P2P, "cannot hold a p2p"},
		{"10.7.0.0/32", IPALLOC_P2P, "cannot hold a p2p"},
		{"10.7.0.0/33", IPALLOC_SINGLE, "invalid subnet"},
		{"10.0.0.0/7", IPALLOC_SINGLE, "too large"},
		{"0.0.0.0/8", IPALLOC_SINGLE, "'this network'"},
		{"0.1.0.0/16", IPALLOC_P2P, "'this network'"},
		{"224.0.0.0/24", IPALLOC_SINGLE, "multicast"},
		{"255.255.255.0/24", IPALLOC_SINGLE, "reserved"},
		{"255.255.255.255/32", IPALLOC_SINGLE, "reserved"},
		{"240.0.0.0/8", IPALLOC_P2P, "reserved"},
		{"127.0.0.0/24", IPALLOC_P2P, "loopback"},
		{"garbage", IPALLOC_P2P, "invalid subnet"},
		{"10.7.0.0", IPALLOC_P2P, "invalid subnet"},
		{"", IPALLOC_SINGLE, "invalid subnet"},
	};
	static const struct {
		const char *s;
		enum ipalloc_mode m;
	} good[] = {
		{"10.7.0.0/16", IPALLOC_P2P}, {"10.0.0.0/8", IPALLOC_P2P},    {"192.168.1.0/30", IPALLOC_P2P},
		{"127.0.0.16/28", IPALLOC_SINGLE}, {"127.0.0.9/32", IPALLOC_SINGLE}, {"1.0.0.0/8", IPALLOC_SINGLE},
		{"223.255.255.0/24", IPALLOC_P2P},
	};
	enum ipalloc_mode m;
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ipalloc_parse_subnet(bad[i].s, bad[i].m, &c), -1);
		assert_int_equal(error_exit_code(), EXIT_USAGE);
		if (!strstr(error_message(), bad[i].why))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].s, error_message(), bad[i].why);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (ipalloc_parse_subnet(good[i].s, good[i].m, &c) != 0)
			fail_msg("'%s' refused: %s", good[i].s, error_message());
	assert_int_equal(ipalloc_parse_mode("p2p", &m), 0);
	assert_int_equal(m, IPALLOC_P2P);
	assert_int_equal(ipalloc_parse_mode("single", &m), 0);
	assert_int_equal(m, IPALLOC_SINGLE);
	assert_int_equal(ipalloc_parse_mode("P2P", &m), -1);
	assert_int_equal(ipalloc_parse_mode("", &m), -1);
}

static void reserved_addresses(void **state)
{
	struct ipalloc_request r;
	int i;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.subnet = net("127.0.0.16/28");
	assert_int_equal(ipalloc_add_reserve(&r, "127.0.0.18"), 0);
	assert_int_equal(ipalloc_add_reserve(&r, "127.0.0.32"), -1);
	assert_non_null(strstr(error_message(), "not in subnet 127.0.0.16/28"));
	assert_int_equal(ipalloc_add_reserve(&r, "127.0.0.018"), -1);
	assert_int_equal(ipalloc_add_reserve(&r, "nope"), -1);
	assert_int_equal(r.n_reserve, 1);
	for (i = 1; i < IPALLOC_RESERVE_MAX; i++)
		assert_int_equal(ipalloc_add_reserve(&r, "127.0.0.20"), 0);
	assert_int_equal(ipalloc_add_reserve(&r, "127.0.0.20"), -1);
}

static struct ipalloc_request req(const char *subnet, enum ipalloc_mode m)
{
	struct ipalloc_request r;

	memset(&r, 0, sizeof(r));
	r.subnet = net(subnet);
	r.mode = m;
	return r;
}

/* Every statement finalized: a statement left open makes sqlite3_close fail,
 * so the last process out would not checkpoint the WAL, and it would grow. */
static void no_open_statements(void)
{
	struct db *db;
	sqlite3_stmt *st;

	assert_int_equal(install_db(&in, &db), 0);
	st = sqlite3_next_stmt(db->h, NULL);
	if (st)
		fail_msg("statement left open: %s", sqlite3_sql(st));
	assert_false(db->in_tx);
}

static const char *guest_of(const char *owner, struct ipalloc_request *r)
{
	struct ipalloc a;
	int created, rc;

	rc = ipalloc_alloc(&in, owner, r, &a, &created);
	no_open_statements();
	if (rc < 0)
		return NULL;
	return ip(a.guest);
}

static void allocation_rules(void **state)
{
	struct ipalloc_request p2p = req("10.7.0.0/16", IPALLOC_P2P);
	struct ipalloc_request one = req("192.168.9.0/30", IPALLOC_P2P);
	struct ipalloc_request pool = req("127.0.0.16/29", IPALLOC_SINGLE);
	struct ipalloc_request inner = req("10.7.3.0/24", IPALLOC_P2P);
	struct ipalloc_request same_single = req("10.7.0.0/16", IPALLOC_SINGLE);
	struct ipalloc_list l;
	struct ipalloc a;
	int created;

	(void)state;
	assert_string_equal(guest_of("vm1", &p2p), "10.7.0.2");
	assert_string_equal(guest_of("vm2", &p2p), "10.7.0.6");
	/* again with the same parameters: the same, not created */
	assert_int_equal(ipalloc_alloc(&in, "vm1", &p2p, &a, &created), 0);
	assert_false(created);
	assert_string_equal(ip(a.guest), "10.7.0.2");
	/* other parameters: refused */
	assert_null(guest_of("vm1", &one));
	assert_int_equal(error_exit_code(), EXIT_REFUSED);
	/* a /30 subnet holds one, then is exhausted, naming itself and its size */
	assert_string_equal(guest_of("vm3", &one), "192.168.9.2");
	assert_null(guest_of("vm4", &one));
	assert_int_equal(error_exit_code(), EXIT_REFUSED);
	assert_string_equal(error_message(), "subnet 192.168.9.0/30 is exhausted: all 1 /30 blocks are allocated");
	/* a subnet inside one in use, or the same one in another mode: refused */
	assert_null(guest_of("vm4", &inner));
	assert_int_equal(error_exit_code(), EXIT_REFUSED);
	assert_null(guest_of("vm4", &same_single));
	assert_non_null(strstr(error_message(), "in use in p2p mode"));
	/* a single pool with a reserved address: .18 skipped; 6 addresses - 1 */
	assert_int_equal(ipalloc_add_reserve(&pool, "127.0.0.18"), 0);
	assert_string_equal(guest_of("lo1", &pool), "127.0.0.19");
	assert_string_equal(guest_of("lo2", &pool), "127.0.0.20");
	assert_string_equal(guest_of("lo3", &pool), "127.0.0.21");
	assert_string_equal(guest_of("lo4", &pool), "127.0.0.22");
	assert_null(guest_of("lo5", &pool));
	assert_string_equal(error_message(),
			    "subnet 127.0.0.16/29 is exhausted: all 5 addresses are allocated or reserved (1 reserved)");
	/* without the reservation, .18 is the lowest free */
	pool.n_reserve = 0;
	assert_string_equal(guest_of("lo5", &pool), "127.0.0.18");
	/* an owner holding a now-reserved address is refused */
	assert_int_equal(ipalloc_add_reserve(&pool, "127.0.0.18"), 0);
	assert_null(guest_of("lo5", &pool));
	assert_non_null(strstr(error_message(), "which is reserved"));
	/* release: the record, then nothing; the block is handed out again */
	assert_int_equal(ipalloc_release(&in, "vm1", &a), 1);
	assert_string_equal(ip(a.guest), "10.7.0.2");
	assert_int_equal(ipalloc_release(&in, "vm1", &a), 0);
	assert_int_equal(ipalloc_show(&in, "vm1", &a), 0);
	assert_string_equal(guest_of("vm5", &p2p), "10.7.0.2");
	/* the /30 subnet, once empty, is forgotten: the inner subnet of another one
	 * still is not allowed while 10.7.0.0/16 has allocations */
	assert_int_equal(ipalloc_release(&in, "vm3", &a), 1);
	assert_int_equal(ipalloc_list(&in, NULL, &l), 0);
	assert_int_equal(l.n, 7);
	assert_string_equal(l.v[0].owner, "vm5");
	assert_string_equal(l.v[6].owner, "lo4");
	ipalloc_list_release(&l);
	assert_int_equal(ipalloc_list(&in, &pool.subnet, &l), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.v[0].owner, "lo5");
	ipalloc_list_release(&l);
	assert_int_equal(ipalloc_release(&in, "vm5", &a), 1);
	assert_int_equal(ipalloc_release(&in, "vm2", &a), 1);
	assert_string_equal(guest_of("vm4", &inner), "10.7.3.2");
}

struct reports {
	int n;
	char text[1024];
};

static void collect(void *ctx, const char *owner, const char *kind, const char *detail)
{
	struct reports *r = ctx;
	size_t k = strlen(r->text);

	r->n++;
	snprintf(r->text + k, sizeof(r->text) - k, "%s %s %s\n", owner ? owner : "-", kind, detail);
}

static void sql(const char *s)
{
	struct db *db;

	assert_int_equal(install_db(&in, &db), 0);
	if (sqlite3_exec(db->h, s, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", s, sqlite3_errmsg(db->h));
}

static void check_reports_anomalies(void **state)
{
	struct ipalloc_request p2p = req("10.7.0.0/16", IPALLOC_P2P);
	struct reports r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(ipalloc_check(&in, collect, &r), 0);
	assert_string_equal(guest_of("vm1", &p2p), "10.7.0.2");
	assert_string_equal(guest_of("vm2", &p2p), "10.7.0.6");
	assert_int_equal(ipalloc_check(&in, collect, &r), 0);
	/* what only a hand or a bug could write: an overlapping subnet's block,
	 * two single addresses on one address, a slot outside its subnet */
	sql("INSERT INTO ipalloc_leases VALUES ('10.7.0.0/24', 1, 'x1', 'p2p', 0);"
	    "INSERT INTO ipalloc_subnets VALUES ('10.7.0.0/24', 'p2p', 168230912, 168231167);"
	    "INSERT INTO ipalloc_leases VALUES ('10.8.0.0/24', 5, 's1', 'single', 0);"
	    "INSERT INTO ipalloc_leases VALUES ('10.8.0.0/16', 5, 's2', 'single', 0);"
	    "INSERT INTO ipalloc_subnets VALUES ('10.8.0.0/24', 'single', 168296448, 168296703);"
	    "INSERT INTO ipalloc_subnets VALUES ('10.8.0.0/16', 'single', 168296448, 168361983);"
	    "INSERT INTO ipalloc_leases VALUES ('10.9.0.0/24', 64, 'o1', 'p2p', 0);"
	    "INSERT INTO ipalloc_leases VALUES ('10.9.0.0/33', 0, 'c1', 'p2p', 0);");
	assert_int_equal(ipalloc_check(&in, collect, &r), 9);
	assert_string_equal(r.text,
			    "o1 outside slot 64 is outside subnet 10.9.0.0/24 (p2p slots 0-63)\n"
			    "c1 corrupt '10.9.0.0/33' is not a subnet p2p mode can allocate from\n"
			    "x1 overlap 10.7.0.4/30 of 'x1' (subnet 10.7.0.0/24, p2p) overlaps 10.7.0.4/30 of 'vm2' (subnet 10.7.0.0/16, p2p)\n"
			    "s2 shared 10.8.0.5 is held by 's1' and 's2'\n"
			    "- unrecorded subnet 10.9.0.0/24 has p2p allocations but no subnet record\n"
			    "- unrecorded subnet 10.9.0.0/33 has p2p allocations but no subnet record\n"
			    "- lost 1 slot of 10.7.0.0/24 below its highest is neither held nor free\n"
			    "- lost 3 slots of 10.8.0.0/16 below its highest are neither held nor free\n"
			    "- lost 3 slots of 10.8.0.0/24 below its highest are neither held nor free\n");
	/* show of a corrupt record is an error; release removes it */
	assert_int_equal(ipalloc_show(&in, "c1", &(struct ipalloc){0}), -1);
	assert_int_equal(error_exit_code(), EXIT_INTERNAL);
}

/* An injected probe: CIDs in HELD are taken by "another program". */
struct fake_probe {
	int64_t held[8];
	int n;
	int calls;
	int answer; /* when not held: 0, or 2 (no device), or -1 (failure) */
};

static int fake_probe(void *ctx, uint32_t cid)
{
	struct fake_probe *p = ctx;
	int i;

	p->calls++;
	if (p->answer != 0)
		return p->answer < 0 ? error_code(EXIT_TEMP, "probe of CID %u failed", cid) : p->answer;
	for (i = 0; i < p->n; i++)
		if (p->held[i] == cid)
			return 1;
	return 0;
}

static int64_t cid_of(const char *owner, struct fake_probe *p)
{
	struct cidalloc c;
	int created;

	if (cidalloc_alloc(&in, owner, p ? fake_probe : NULL, p, &c, &created) < 0)
		return -1;
	assert_string_equal(c.owner, owner);
	return c.cid;
}

static void cid_probe_decisions(void **state)
{
	struct fake_probe p = {{3, 4, 6}, 3, 0, 0};
	struct fake_probe none = {{0}, 0, 0, 2};
	struct fake_probe broken = {{0}, 0, 0, -1};
	struct cidalloc_list l;
	struct reports r;
	struct cidalloc c;

	(void)state;
	/* held CIDs are skipped, lowest free first */
	assert_int_equal(cid_of("vm1", &p), 5);
	assert_int_equal(p.calls, 3);
	assert_int_equal(cid_of("vm2", &p), 7);
	/* an owner that has a CID is not probed again */
	p.calls = 0;
	assert_int_equal(cid_of("vm1", &p), 5);
	assert_int_equal(p.calls, 0);
	/* once the other program lets 3 and 4 go, they are handed out */
	p.n = 0;
	assert_int_equal(cid_of("vm3", &p), 3);
	assert_int_equal(cid_of("vm4", &p), 4);
	assert_int_equal(cid_of("vm5", &p), 6);
	assert_int_equal(cid_of("vm6", &p), 8);
	/* no device: asked once, then not again */
	assert_int_equal(cidalloc_release(&in, "vm3", &c), 1);
	assert_int_equal(c.cid, 3);
	assert_int_equal(cidalloc_release(&in, "vm3", &c), 0);
	assert_int_equal(cid_of("vm7", &none), 3);
	assert_int_equal(none.calls, 1);
	/* a failing probe fails the allocation and records nothing */
	assert_int_equal(cid_of("vm8", &broken), -1);
	assert_int_equal(error_exit_code(), EXIT_TEMP);
	assert_int_equal(cidalloc_show(&in, "vm8", &c), 0);
	/* no probe at all */
	assert_int_equal(cid_of("vm8", NULL), 9);
	assert_int_equal(cidalloc_list(&in, &l), 0);
	assert_int_equal(l.n, 7);
	assert_int_equal(l.v[0].cid, 3);
	assert_string_equal(l.v[0].owner, "vm7");
	assert_int_equal(l.v[6].cid, 9);
	cidalloc_list_release(&l);
	memset(&r, 0, sizeof(r));
	assert_int_equal(cidalloc_check(&in, collect, &r), 0);
}

static void cid_edges(void **state)
{
	struct fake_probe all = {{0}, 0, 0, 0};
	struct reports r;
	struct cidalloc c;

	(void)state;
	/* the last CID is 2^32-2; past it, exhaustion names the range and its size */
	assert_int_equal(cid_of("first", &all), 3);
	sql("INSERT INTO cidalloc_leases VALUES ('vsock', 4294967294, 'last', 0)");
	assert_int_equal(cidalloc_show(&in, "last", &c), 1);
	assert_int_equal(c.cid, 4294967294u);
	assert_int_equal(cid_of("more", &all), -1);
	assert_int_equal(error_exit_code(), EXIT_REFUSED);
	assert_string_equal(error_message(), "every vsock CID is taken: all 4294967292 of 3-4294967294 are allocated");
	/* check: the CIDs below the hand-written one are lost; a CID outside the
	 * range and a CID held twice (across ranges) are reported */
	sql("INSERT INTO cidalloc_leases VALUES ('vsock', 2, 'low', 0);"
	    "INSERT INTO cidalloc_leases VALUES ('other', 3, 'twin', 0);");
	memset(&r, 0, sizeof(r));
	assert_int_equal(cidalloc_check(&in, collect, &r), 4);
	assert_string_equal(r.text, "twin corrupt CID 3 is recorded in unknown range 'other'\n"
				    "low outside CID 2 is outside 3-4294967294\n"
				    "twin shared CID 3 is held by 'first' and 'twin'\n"
				    "- lost 4294967290 slots of vsock below its highest are neither held nor free\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(p2p_blocks_first_and_last),
		cmocka_unit_test(single_addresses_skip_network_gateway_broadcast),
		cmocka_unit_test(subnets_refused_where_meaningless),
		cmocka_unit_test(reserved_addresses),
		cmocka_unit_test_setup_teardown(allocation_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(check_reports_anomalies, setup, teardown),
		cmocka_unit_test_setup_teardown(cid_probe_decisions, setup, teardown),
		cmocka_unit_test_setup_teardown(cid_edges, setup, teardown),
	};

	return UNIT_RUN(tests);
}
