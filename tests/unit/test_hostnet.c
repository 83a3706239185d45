/* The one parser of /proc/net/route (platform/hostnet.c), which both the
 * default uplink (sysctl) and the subnet-overlap check (hostnet) read; and
 * the EINTR-safe whole reads and writes of lib/file.c. */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file.h"
#include "hostnet.h"
#include "sysctl.h"

static const char routes[] =
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	"eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	"wlan0\t00000000\t0101A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0\n"
	"down0\t00000000\t0101A8C0\t0002\t0\t0\t1\t00000000\t0\t0\t0\n"
	"eth0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
	"averyverylongname0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	"garbage\n";

struct seen {
	char text[512];
};

static int collect(const struct hostnet_route *r, void *ctx)
{
	struct seen *s = ctx;
	char c[CIDR_LEN];
	size_t n = strlen(s->text);

	cidr_format(&r->dst, c);
	snprintf(s->text + n, sizeof(s->text) - n, "%s %s %u %u;", r->dev, c, r->flags, r->metric);
	return 0;
}

static int stop_at_second(const struct hostnet_route *r, void *ctx)
{
	(void)r;
	return ++*(int *)ctx == 2 ? 7 : 0;
}

static void one_parser(void **state)
{
	struct seen s = {{0}};
	char dev[IF_NAMESIZE];
	int n = 0;

	(void)state;
	assert_int_equal(hostnet_parse_routes(routes, collect, &s), 0);
	assert_string_equal(s.text, "eth0 0.0.0.0/0 3 100;wlan0 0.0.0.0/0 3 50;down0 0.0.0.0/0 2 1;"
				    "eth0 192.168.2.0/24 1 100;");
	assert_int_equal(hostnet_parse_routes(routes, stop_at_second, &n), 7);
	/* the default uplink: up, the lowest metric */
	assert_int_equal(sysctl_parse_default_uplink(routes, dev, sizeof(dev)), 1);
	assert_string_equal(dev, "wlan0");
	assert_int_equal(sysctl_parse_default_uplink("Iface\n", dev, sizeof(dev)), 0);
	assert_int_equal(sysctl_parse_default_uplink("", dev, sizeof(dev)), 0);
}

static void whole_reads_and_writes(void **state)
{
	char big[100000], back[100001];
	int p[2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(pipe(p), 0);
	/* a pipe takes 64 KiB at once: the writer's rest comes after the
	 * reader took some, in short reads the helper puts together */
	if (fork() == 0) {
		close(p[0]);
		_exit(file_write_all(p[1], big, sizeof(big)) == 0 ? 0 : 1);
	}
	close(p[1]);
	assert_int_equal(file_read_all(p[0], back, sizeof(back)), (ssize_t)sizeof(big));
	assert_memory_equal(back, big, sizeof(big));
	assert_int_equal(file_read_all(p[0], back, 10), 0); /* the end */
	close(p[0]);
	assert_true(wait(NULL) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_parser),
		cmocka_unit_test(whole_reads_and_writes),
	};

	return UNIT_RUN(tests);
}
