/* ember-ipalloc: IPv4 addresses per owner, lowest free first. Its command
 * table (verbs, options, help) is below; --help is rendered from it. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "ipalloc.h"

static const char *opt_subnet, *opt_mode;
static const char *opt_reserve[IPALLOC_RESERVE_MAX];
static int n_reserve;

enum { O_SUBNET, O_MODE, O_RESERVE };

static const struct opt options[] = {
	[O_SUBNET] = {"subnet", "CIDR",
		      "the subnet to allocate from (default: the\n"
		      "installation's); p2p: prefix 8-30, single: 8-32",
		      &opt_subnet, 0, NULL},
	[O_MODE] = {"mode", "p2p|single",
		    "p2p (default): a /30 block, host = block+1, guest =\n"
		    "block+2; single: one address of a shared subnet,\n"
		    "never its network, gateway (first) or broadcast address",
		    &opt_mode, 0, NULL},
	[O_RESERVE] = {"reserve", "IP", "alloc: never hand out IP (or, in p2p, its block);\nrepeatable",
		       opt_reserve, IPALLOC_RESERVE_MAX, &n_reserve},
};

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

static int do_alloc(struct install *in, int argc, char **argv)
{
	struct ipalloc_request r;
	struct ipalloc a;
	int i, created;

	(void)argc;
	memset(&r, 0, sizeof(r));
	if (opt_mode && ipalloc_parse_mode(opt_mode, &r.mode) < 0)
		xdie(0);
	if (opt_subnet && ipalloc_parse_subnet(opt_subnet, r.mode, &r.subnet) < 0)
		xdie(0);
	if (!opt_subnet)
		r.subnet = in->subnet;
	r.any_held = !opt_subnet && !opt_mode;
	for (i = 0; i < n_reserve; i++)
		if (ipalloc_add_reserve(&r, opt_reserve[i]) < 0)
			xdie(0);
	if (ipalloc_alloc(in, argv[0], &r, &a, &created) < 0)
		xdie(0);
	print_alloc(&a);
	return 0;
}

static int do_release(struct install *in, int argc, char **argv)
{
	struct ipalloc a;
	int rc;

	(void)argc;
	rc = ipalloc_release(in, argv[0], &a);
	if (rc < 0)
		xdie(0);
	if (rc == 1)
		print_alloc(&a);
	return 0;
}

static int do_show(struct install *in, int argc, char **argv)
{
	struct ipalloc a;
	int rc;

	(void)argc;
	rc = ipalloc_show(in, argv[0], &a);
	if (rc < 0)
		xdie(0);
	if (rc == 0)
		return not_found("'%s' holds no address", argv[0]);
	print_alloc(&a);
	return 0;
}

static int do_list(struct install *in, int argc, char **argv)
{
	struct ipalloc_list l;
	struct cidr subnet;
	int i;

	(void)argc;
	(void)argv;
	if (opt_subnet && ipalloc_parse_subnet(opt_subnet, IPALLOC_SINGLE, &subnet) < 0)
		xdie(0);
	if (ipalloc_list(in, opt_subnet ? &subnet : NULL, &l) < 0)
		xdie(0);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++)
		print_alloc(&l.v[i]);
	out_list_end(&out);
	ipalloc_list_release(&l);
	return 0;
}

static int do_check(struct install *in, int argc, char **argv)
{
	int n;

	(void)argc;
	(void)argv;
	out_list_begin(&out);
	n = ipalloc_check(in, print_report, NULL);
	out_list_end(&out);
	return check_verdict(n, "anomaly", "anomalies");
}

static const struct verb verbs[] = {
	{.name = "alloc", .operands = "OWNER", .opts = OPT(O_SUBNET) | OPT(O_MODE) | OPT(O_RESERVE),
	 .flags = V_INSTALL | V_TABLES | V_CHANGE, .run = do_alloc,
	 .help = "give OWNER the lowest free block (p2p) or address\n"
		 "(single) of the subnet; again with the same subnet and\n"
		 "mode, or with neither named: succeed and print what it\n"
		 "holds"},
	{.name = "release", .operands = "OWNER", .flags = V_INSTALL | V_CHANGE, .run = do_release,
	 .help = "free OWNER's address and print what it was; absent:\n"
		 "succeed, print nothing (JSON: {})"},
	{.name = "show", .operands = "OWNER", .flags = V_INSTALL, .run = do_show, .help = "print OWNER's allocation"},
	{.name = "list", .operands = "", .opts = OPT(O_SUBNET), .flags = V_INSTALL, .run = do_list,
	 .help = "every allocation (of that subnet), by address"},
	{.name = "check", .operands = "", .flags = V_INSTALL, .run = do_check,
	 .help = "the invariants: no address held twice, nothing outside\n"
		 "its subnet, no overlapping blocks; one line per anomaly"},
	{0},
};

static const struct applet applet = {
	verbs, options, ARRAY_SIZE(options), "(no external commands are run)", NULL,
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
	"  or overlapping a subnet in use)   111 system failure, database busy (retry)\n",
};

int ipalloc_main(int argc, char **argv)
{
	return xrun(&applet, argc, argv);
}
