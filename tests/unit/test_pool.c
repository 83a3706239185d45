/* The thin-pool status parser, on lines captured from dm-thin (Debian kernel
 * 6.1.0-57-amd64 under QEMU, `dmsetup status` of pools on loop devices, the
 * "0 SECTORS thin-pool " prefix cut as libdevmapper does), and the pool's
 * names and size operands. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "install.h"
#include "pool.h"

/* Parse PARAMS after filling K with garbage, so that nothing is left over. */
static int parse(const char *params, struct pool_kstatus *k)
{
	memset(k, 0x5a, sizeof(*k));
	return pool_parse_status(params, k);
}

static void assert_status(const char *params, const char *mode, long long tid, uint64_t meta_used,
			  uint64_t meta_total, uint64_t data_used, uint64_t data_total)
{
	struct pool_kstatus k;

	assert_int_equal(parse(params, &k), 0);
	assert_string_equal(k.mode, mode);
	assert_int_equal(k.tid, tid);
	assert_int_equal(k.meta_used, meta_used);
	assert_int_equal(k.meta_total, meta_total);
	assert_int_equal(k.data_used, data_used);
	assert_int_equal(k.data_total, data_total);
}

static void captured_rw(void **state)
{
	(void)state;
	/* a fresh pool: 4 MiB metadata (1024 blocks), 64 MiB data of 64 KiB blocks */
	assert_status("0 111/1024 0/1024 - rw discard_passdown queue_if_no_space - 256 ", "rw", 0,
		      111, 1024, 0, 1024);
	/* after 1 MiB written to a thin volume */
	assert_status("0 112/1024 16/1024 - rw discard_passdown queue_if_no_space - 256 ", "rw", 0,
		      112, 1024, 16, 1024);
	/* after set_transaction_id 0 7 */
	assert_status("7 112/1024 16/1024 - rw discard_passdown queue_if_no_space - 256 ", "rw", 7,
		      112, 1024, 16, 1024);
	/* reserve_metadata_snap: a held root instead of "-" */
	assert_status("7 113/1024 16/1024 25 rw discard_passdown queue_if_no_space - 256 ", "rw", 7,
		      113, 1024, 16, 1024);
	/* the feature words change, the mode does not */
	assert_status("0 111/1024 0/1024 - rw ignore_discard error_if_no_space - 256 ", "rw", 0,
		      111, 1024, 0, 1024);
	assert_status("0 111/1024 0/1024 - rw no_discard_passdown queue_if_no_space - 256 ", "rw",
		      0, 111, 1024, 0, 1024);
}

static void captured_other_modes(void **state)
{
	(void)state;
	/* table feature read_only */
	assert_status("3 112/1024 0/1024 - ro discard_passdown queue_if_no_space - 256 ", "ro", 3,
		      112, 1024, 0, 1024);
	/* an 8 MiB pool filled through a 32 MiB thin volume, error_if_no_space */
	assert_status(
	    "0 112/1024 128/128 - out_of_data_space discard_passdown error_if_no_space - 256 ",
	    "out_of_data_space", 0, 112, 1024, 128, 128);
	/* metadata writes failed (dm-flakey error_writes under it): read-only,
	 * flagged for thin_check; needs_check is what ember reports */
	assert_status("0 112/1024 0/1024 - ro discard_passdown queue_if_no_space needs_check 256 ",
		      "needs_check", 0, 112, 1024, 0, 1024);
	/* needs_check wins over any mode */
	assert_status(
	    "5 1/2 2/2 - out_of_data_space discard_passdown error_if_no_space needs_check 1",
	    "needs_check", 5, 1, 2, 2, 2);
}

static void failed_pools(void **state)
{
	(void)state;
	/* the metadata device turned into an error target under the pool */
	assert_status("Fail", "fail", -1, 0, 0, 0, 0);
	/* what the kernel prints when it cannot read the metadata for the
	 * status (drivers/md/dm-thin.c, pool_status) */
	assert_status("Error", "error", -1, 0, 0, 0, 0);
}

/* The largest pool dm-thin makes: 255 * 2^14 metadata blocks; 16 TiB of
 * 64 KiB blocks; and a large transaction id. */
static void large_values(void **state)
{
	(void)state;
	assert_status("4294967296 4177920/4177920 268435456/268435456 - rw discard_passdown "
		      "queue_if_no_space - 3145728",
		      "rw", 4294967296ll, 4177920, 4177920, 268435456, 268435456);
	assert_status("9223372036854775807 1/2 18446744073709551615/18446744073709551615 - rw "
		      "discard_passdown queue_if_no_space - 1",
		      "rw", 9223372036854775807ll, 1, 2, UINT64_MAX, UINT64_MAX);
}

static void malformed_lines(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "0",
	    "0 111/1024",
	    "0 111/1024 0/1024",
	    "0 111/1024 0/1024 -",
	    "0 111/1024 0/1024 - ",
	    "x 111/1024 0/1024 - rw discard_passdown queue_if_no_space - 256",
	    "0 111-1024 0/1024 - rw discard_passdown queue_if_no_space - 256",
	    "0 111/1024 0 - rw discard_passdown queue_if_no_space - 256",
	    "0 /1024 0/1024 - rw discard_passdown queue_if_no_space - 256",
	    "0 111/x 0/1024 - rw discard_passdown queue_if_no_space - 256",
	    "0 111 1024 0/1024 - rw discard_passdown queue_if_no_space - 256",
	    /* the whole dmsetup line: the parser gets the parameters only */
	    "0 131072 thin-pool 0 111/1024 0/1024 - rw discard_passdown queue_if_no_space - 256",
	    "thin-pool 0 111/1024 0/1024 - rw discard_passdown queue_if_no_space - 256",
	    /* a thin volume's status, not a pool's */
	    "2048 2047",
	    "fail",
	    "FAIL",
	    "error",
	    " Fail",
	    "Failure",
	    "Errors and more",
	    /* not the kernel's words, or numbers out of their range */
	    "0 1/2 3/4 - banana discard_passdown queue_if_no_space - 1",
	    "0 1/2 3/4 02/1- error - ro x y - 1",
	    "-1 1/2 3/4 - rw discard_passdown queue_if_no_space - 1",
	    "0 -1/2 3/4 - rw discard_passdown queue_if_no_space - 1",
	    "0 3/2 3/4 - rw discard_passdown queue_if_no_space - 1",
	    "0 1/2 5/4 - rw discard_passdown queue_if_no_space - 1",
	    "18446744073709551615 1/2 3/4 - rw discard_passdown queue_if_no_space - 1",
	    "9223372036854775808 1/2 3/4 - rw discard_passdown queue_if_no_space - 1",
	    "0 1/2 3/4 - rw discard_passdown maybe_if_no_space - 1",
	    "0 1/2 3/4 - rw passdown queue_if_no_space - 1",
	    "0 1/2 3/4 - rw discard_passdown queue_if_no_space perhaps 1",
	    "0 1/2 3/4 x rw discard_passdown queue_if_no_space - 1",
	    "0 1/2 3/4 - rw",
	    "0 1/2 3/4 - rw discard_passdown",
	    "0 1/2 3/4 - rw discard_passdown queue_if_no_space - 1 extra",
	};
	struct pool_kstatus k;
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear();
		assert_int_equal(parse(bad[i], &k), -1);
		assert_int_equal(error_exit_code(), EXIT_INTERNAL);
		snprintf(want, sizeof(want), "unexpected thin-pool status '%s'", bad[i]);
		assert_string_equal(error_message(), want);
	}
}

static void names(void **state)
{
	struct install in;
	char buf[64];

	(void)state;
	memset(&in, 0, sizeof(in));
	strcpy(in.id, "a3f4");
	pool_name(&in, buf, sizeof(buf));
	assert_string_equal(buf, "ember-a3f4-pool");
	pool_volume_prefix(&in, "img", buf, sizeof(buf));
	assert_string_equal(buf, "ember-a3f4-img-");
	pool_volume_prefix(&in, "vm", buf, sizeof(buf));
	assert_string_equal(buf, "ember-a3f4-vm-");
	pool_uuid_prefix(&in, buf, sizeof(buf));
	assert_string_equal(buf, "EMBER-a3f4-");
	/* legacy */
	in.id[0] = '\0';
	pool_name(&in, buf, sizeof(buf));
	assert_string_equal(buf, "ember-pool");
	pool_volume_prefix(&in, "img", buf, sizeof(buf));
	assert_string_equal(buf, "ember-img-");
	pool_volume_prefix(&in, "vm", buf, sizeof(buf));
	assert_string_equal(buf, "ember-vm-");
	pool_uuid_prefix(&in, buf, sizeof(buf));
	assert_string_equal(buf, "EMBER--");
}

static void sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} good[] = {
	    {"1", 1},
	    {"512B", 512},
	    {"4096", 4096},
	    {"64K", 65536},
	    {"64k", 65536},
	    {"64KiB", 65536},
	    {"64KB", 65536},
	    {"10M", 10485760},
	    {"10MiB", 10485760},
	    {"10G", 10737418240ull},
	    {"10g", 10737418240ull},
	    {"2T", 2199023255552ull},
	    {"2TiB", 2199023255552ull},
	    {"18446744073709551615", UINT64_MAX},
	    {"16777215T", 16777215ull << 40},
	};
	static const char *const bad[] = {
	    "",		 "0",
	    "0G",	 "-1",
	    "+1",	 " 1",
	    "1 ",	 "1 G",
	    "1.5G",	 "1X",
	    "1KK",	 "1iB",
	    "1Gi",	 "1GiBs",
	    "G",	 "0x10",
	    "1e3",	 "18446744073709551616",
	    "16777216T", "17179869184G",
	};
	char want[64];
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 0;
		assert_int_equal(pool_parse_size("--size", good[i].s, &v), 0);
		assert_int_equal(v, good[i].bytes);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(pool_parse_size("--size", bad[i], &v), -1);
		assert_int_equal(error_exit_code(), EXIT_USAGE);
		snprintf(want, sizeof(want), "invalid --size '%s'", bad[i]);
		assert_string_equal(error_message(), want);
		assert_int_equal(v, 7);
	}
	assert_int_equal(pool_parse_size("--metadata-size", NULL, &v), -1);
	assert_string_equal(error_message(), "invalid --metadata-size ''");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(captured_rw),     cmocka_unit_test(captured_other_modes),
	    cmocka_unit_test(failed_pools),    cmocka_unit_test(large_values),
	    cmocka_unit_test(malformed_lines), cmocka_unit_test(names),
	    cmocka_unit_test(sizes),
	};

	return UNIT_RUN(tests);
}
