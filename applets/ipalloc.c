/* ember-ipalloc: IPv4 addresses per owner, lowest free first. */
static const char usage[] =
	"usage: ember-ipalloc [OPTION...] VERB\n"
	"\n"
	"  alloc OWNER [--subnet CIDR] [--mode p2p|single] [--reserve IP]...\n"
	"                      give OWNER the lowest free block (p2p) or address\n"
	"                      (single) of the subnet; again with the same subnet and\n"
	"                      mode, or with neither named: succeed and print what it\n"
	"                      holds\n"
	"  release OWNER       free OWNER's address and print what it was; absent:\n"
	"                      succeed, print nothing\n"
	"  show OWNER          print OWNER's allocation\n"
	"  list [--subnet CIDR]  every allocation (of that subnet), by address\n"
	"  check               the invariants: no address held twice, nothing outside\n"
	"                      its subnet, no overlapping blocks; one line per anomaly\n"
	"\n"
	"options:\n"
	"      --subnet CIDR       the subnet to allocate from (default: the\n"
	"                          installation's); p2p: prefix 8-30, single: 8-32\n"
	"      --mode p2p|single   p2p (default): a /30 block, host = block+1, guest =\n"
	"                          block+2; single: one address of a shared subnet,\n"
	"                          never its network, gateway (first) or broadcast address\n"
	"      --reserve IP        alloc: never hand out IP (or, in p2p, its block);\n"
	"                          repeatable\n"
	"      --state-dir DIR     state directory (default $EMBER_STATE_DIR, else /var/lib/ember)\n"
	"  -j, --json              print JSON\n"
	"  -q, --quiet             print no result and no warnings\n"
	"  -v, --verbose           (no external commands are run)\n"
	"  -h, --help              print this help\n"
	"      --version           print the version\n"
	"\n"
	"output:\n"
	"  alloc, release, show, list: one line per allocation (JSON: an object;\n"
	"    list: an array): owner guest_ip host_ip prefix netmask subnet mode\n"
	"    p2p: host_ip is the TAP side, prefix 30; single: host_ip is the subnet's\n"
	"    gateway (its first address; '-' / null in a /31 or /32), prefix the subnet's\n"
	"  check: one line per anomaly (JSON: an array): owner kind detail\n"
	"    kind: shared, overlap, outside, corrupt, unrecorded, free-held, lost,\n"
	"    free-outside; owner is '-' when the anomaly is no one owner's\n"
	"\n"
	"exit codes:\n"
	"  0 ok   1 show: no such allocation; check: anomalies found\n"
	"  100 usage or bad input (owner, subnet, mode, address)   101 corrupt state\n"
	"  102 refused (holds another allocation; subnet exhausted, in another mode,\n"
	"  or overlapping a subnet in use)   111 system failure, database busy (retry)\n";

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "ipalloc.h"

enum { OPT_SUBNET = OPT_APPLET, OPT_MODE, OPT_RESERVE };

static const struct option options[] = {
	{"subnet", required_argument, NULL, OPT_SUBNET},
	{"mode", required_argument, NULL, OPT_MODE},
	{"reserve", required_argument, NULL, OPT_RESERVE},
	{0},
};

static const char *opt_subnet, *opt_mode;
static const char *opt_reserve[IPALLOC_RESERVE_MAX];
static int n_reserve;

static void option(int key, const char *arg)
{
	switch (key) {
	case OPT_SUBNET:
		opt_subnet = arg;
		break;
	case OPT_MODE:
		opt_mode = arg;
		break;
	case OPT_RESERVE:
		if (n_reserve == IPALLOC_RESERVE_MAX)
			xusage("more than %d --reserve addresses", IPALLOC_RESERVE_MAX);
		opt_reserve[n_reserve++] = arg;
		break;
	}
}

static void print_alloc(const struct ipalloc *a)
{
	char guest[IP4_LEN], host[IP4_LEN], mask[IP4_LEN], subnet[CIDR_LEN];

	out_record_begin(&out);
	out_str(&out, "owner", a->owner);
	if (!a->valid) {
		/* a corrupt record being released: only its owner is known */
		out_str(&out, "guest_ip", NULL);
		out_str(&out, "host_ip", NULL);
		out_str(&out, "prefix", NULL);
		out_str(&out, "netmask", NULL);
		out_str(&out, "subnet", NULL);
		out_str(&out, "mode", NULL);
		out_record_end(&out);
		return;
	}
	ip4_format(a->guest, guest);
	ip4_format(a->host, host);
	ip4_format(cidr_mask(a->prefix), mask);
	cidr_format(&a->subnet, subnet);
	out_str(&out, "guest_ip", guest);
	out_str(&out, "host_ip", a->has_host ? host : NULL);
	out_int(&out, "prefix", a->prefix);
	out_str(&out, "netmask", mask);
	out_str(&out, "subnet", subnet);
	out_str(&out, "mode", ipalloc_mode_name(a->mode));
	out_record_end(&out);
}

static int do_alloc(int argc, char **argv)
{
	struct ipalloc_request r;
	struct install in;
	struct ipalloc a;
	int i, created;

	(void)argc;
	xname("owner", argv[1]);
	memset(&r, 0, sizeof(r));
	if (opt_mode && ipalloc_parse_mode(opt_mode, &r.mode) < 0)
		xdie(0);
	if (opt_subnet && ipalloc_parse_subnet(opt_subnet, r.mode, &r.subnet) < 0)
		xdie(0);
	xinstall_load(&in);
	if (!opt_subnet)
		r.subnet = in.subnet;
	r.any_held = !opt_subnet && !opt_mode;
	for (i = 0; i < n_reserve; i++)
		if (ipalloc_add_reserve(&r, opt_reserve[i]) < 0)
			xdie(0);
	if (ipalloc_alloc(&in, argv[1], &r, &a, &created) < 0)
		xdie(0);
	print_alloc(&a);
	install_release(&in);
	return finish(0);
}

static int do_release(int argc, char **argv)
{
	struct install in;
	struct ipalloc a;
	int rc;

	(void)argc;
	xname("owner", argv[1]);
	xinstall_load(&in);
	rc = ipalloc_release(&in, argv[1], &a);
	if (rc < 0)
		xdie(0);
	if (rc == 1)
		print_alloc(&a);
	install_release(&in);
	return finish(0);
}

static int do_show(int argc, char **argv)
{
	struct install in;
	struct ipalloc a;
	int rc;

	(void)argc;
	xname("owner", argv[1]);
	xinstall_load(&in);
	rc = ipalloc_show(&in, argv[1], &a);
	if (rc < 0)
		xdie(0);
	install_release(&in);
	if (rc == 0) {
		if (!common.quiet)
			fprintf(stderr, "%s: '%s' holds no address\n", progname, argv[1]);
		return finish(EXIT_NO);
	}
	print_alloc(&a);
	return finish(0);
}

static int do_list(int argc, char **argv)
{
	struct ipalloc_list l;
	struct install in;
	struct cidr subnet;
	int i;

	(void)argc;
	(void)argv;
	if (opt_subnet && ipalloc_parse_subnet(opt_subnet, IPALLOC_SINGLE, &subnet) < 0)
		xdie(0);
	xinstall_load(&in);
	if (ipalloc_list(&in, opt_subnet ? &subnet : NULL, &l) < 0)
		xdie(0);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++)
		print_alloc(&l.v[i]);
	out_list_end(&out);
	ipalloc_list_release(&l);
	install_release(&in);
	return finish(0);
}

static void print_anomaly(void *ctx, const char *owner, const char *kind, const char *detail)
{
	(void)ctx;
	out_record_begin(&out);
	out_str(&out, "owner", owner);
	out_str(&out, "kind", kind);
	out_str(&out, "detail", detail);
	out_record_end(&out);
}

static int do_check(int argc, char **argv)
{
	struct install in;
	int n;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	out_list_begin(&out);
	n = ipalloc_check(&in, print_anomaly, NULL);
	out_list_end(&out);
	if (n < 0)
		xdie(0);
	install_release(&in);
	if (n > 0 && !common.quiet)
		fprintf(stderr, "%s: %d anomal%s found\n", progname, n, n == 1 ? "y" : "ies");
	return finish(n ? EXIT_NO : 0);
}

static const struct verb verbs[] = {
	{"alloc", do_alloc, 1, 1},
	{"release", do_release, 1, 1},
	{"show", do_show, 1, 1},
	{"list", do_list, 0, 0},
	{"check", do_check, 0, 0},
	{0},
};

int ipalloc_main(int argc, char **argv)
{
	int first = xparse_options(argc, argv, usage, options, option);
	const char *verb = first < argc ? argv[first] : "";

	if ((opt_mode || n_reserve) && strcmp(verb, "alloc") != 0)
		xusage("--mode and --reserve go with 'alloc'");
	if (opt_subnet && strcmp(verb, "alloc") != 0 && strcmp(verb, "list") != 0)
		xusage("--subnet goes with 'alloc' and 'list'");
	return xrun_verb(verbs, argc - first, argv + first);
}
