/* ember-nat: per-VM MASQUERADE, forwarding and host isolation in iptables.
 * Its command table (verbs, options, help) is below; --help is rendered
 * from it. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "nat.h"

static const char *opt_guest, *opt_tap, *opt_uplink;
static const char *opt_allow[NAT_ALLOW_MAX];
static int n_allow;

enum { O_GUEST_IP, O_TAP, O_UPLINK, O_ALLOW };

static const struct opt options[] = {
	[O_GUEST_IP] = {"guest-ip", "IP", "the guest's address (the source MASQUERADE rewrites)", &opt_guest, 0, NULL},
	[O_TAP] = {"tap", "TAP", "the guest's TAP (it must exist)", &opt_tap, 0, NULL},
	[O_UPLINK] = {"uplink", "IF",
		      "the interface toward the outside (default: that of\n"
		      "the default route; it must exist)\n"
		      "down: --guest-ip, --tap and --uplink name the rules of a\n"
		      "legacy installation that no record describes",
		      &opt_uplink, 0, NULL},
	[O_ALLOW] = {"allow", "CIDR",
		     "up: let the guest reach only these networks (repeatable;\n"
		     "default: anywhere through the uplink)",
		     opt_allow, NAT_ALLOW_MAX, &n_allow},
};

static void print_vm(const struct nat_vm *v)
{
	char guest[IP4_LEN], allow[NAT_ALLOW_MAX][CIDR_LEN];
	const char *allowv[NAT_ALLOW_MAX];
	int i;

	out_record_begin(&out);
	out_str(&out, "owner", v->owner);
	if (!v->recorded) {
		/* rules removed that no record described: only the owner is known */
		out_str(&out, "guest_ip", NULL);
		out_str(&out, "tap", NULL);
		out_str(&out, "uplink", NULL);
		out_strv(&out, "allow", NULL, 0);
		out_str(&out, "state", v->state);
		out_record_end(&out);
		return;
	}
	ip4_format(v->p.guest, guest);
	for (i = 0; i < v->p.n_allow; i++) {
		cidr_format(&v->p.allow[i], allow[i]);
		allowv[i] = allow[i];
	}
	out_str(&out, "guest_ip", guest);
	out_str(&out, "tap", v->p.tap);
	out_str(&out, "uplink", v->p.uplink);
	out_strv(&out, "allow", allowv, v->p.n_allow);
	out_str(&out, "state", v->state);
	out_record_end(&out);
}

/* The parameters given on the command line. */
static void params(struct nat_params *p)
{
	int i;

	memset(p, 0, sizeof(*p));
	if (opt_guest && nat_parse_guest(opt_guest, &p->guest) < 0)
		xdie(0);
	if (opt_tap && nat_parse_ifname("TAP", opt_tap, p->tap) < 0)
		xdie(0);
	if (opt_uplink && nat_parse_ifname("uplink", opt_uplink, p->uplink) < 0)
		xdie(0);
	for (i = 0; i < n_allow; i++)
		if (nat_add_allow(p, opt_allow[i]) < 0)
			xdie(0);
}

static int do_up(struct install *in, int argc, char **argv)
{
	struct nat_params p;
	struct nat_vm v;
	int created;

	(void)argc;
	params(&p);
	if (nat_up(in, argv[0], &p, &v, &created) < 0)
		xdie(0);
	print_vm(&v);
	return 0;
}

static int do_down(struct install *in, int argc, char **argv)
{
	struct nat_params p;
	struct nat_vm v;
	int removed, given = opt_guest || opt_tap || opt_uplink;

	(void)argc;
	if (given && !(opt_guest && opt_tap && opt_uplink))
		xusage("down names unrecorded rules with all of --guest-ip, --tap and --uplink");
	params(&p);
	if (given && install_namespace(in))
		xusage("--guest-ip, --tap and --uplink go with 'down' of a legacy installation only: "
		       "this one finds its rules by their comment");
	if (nat_down(in, argv[0], given ? &p : NULL, &v, &removed) < 0)
		xdie(0);
	if (removed)
		print_vm(&v);
	return 0;
}

static int do_show(struct install *in, int argc, char **argv)
{
	struct nat_vm v;
	int rc;

	(void)argc;
	rc = nat_show(in, argv[0], &v);
	if (rc < 0)
		xdie(0);
	if (rc == 0)
		return not_found("'%s' has no NAT", argv[0]);
	print_vm(&v);
	return 0;
}

static void print_list(const struct nat_list *l)
{
	int i;

	out_list_begin(&out);
	for (i = 0; i < l->n; i++)
		print_vm(&l->v[i]);
	out_list_end(&out);
}

static int do_list(struct install *in, int argc, char **argv)
{
	struct nat_list l;

	(void)argc;
	(void)argv;
	if (nat_list(in, &l) < 0)
		xdie(0);
	print_list(&l);
	nat_list_release(&l);
	return 0;
}

static int do_check(struct install *in, int argc, char **argv)
{
	int n;

	(void)argc;
	(void)argv;
	out_list_begin(&out);
	n = nat_check(in, print_report, NULL);
	out_list_end(&out);
	return check_verdict(n, "difference", "differences");
}

static int do_flush(struct install *in, int argc, char **argv)
{
	struct nat_list l;

	(void)argc;
	(void)argv;
	if (nat_flush(in, &l) < 0)
		xdie(0);
	print_list(&l);
	nat_list_release(&l);
	return 0;
}

#define O_RULE (OPT(O_GUEST_IP) | OPT(O_TAP) | OPT(O_UPLINK))

static const struct verb verbs[] = {
	{.name = "up", .operands = "OWNER", .opts = O_RULE | OPT(O_ALLOW), .required = OPT(O_GUEST_IP) | OPT(O_TAP),
	 .flags = V_INSTALL | V_TABLES | V_CHANGE, .run = do_up,
	 .help = "give OWNER's guest the way out: MASQUERADE out of the\n"
		 "uplink, forwarding out of the TAP and replies back, no\n"
		 "new connection to the host; again with the same\n"
		 "parameters: succeed, repair what is missing, print it"},
	{.name = "down", .operands = "OWNER", .opts = O_RULE, .flags = V_INSTALL | V_TABLES | V_CHANGE, .run = do_down,
	 .help = "remove OWNER's rules and print what they were; absent:\n"
		 "succeed, print nothing (JSON: {})"},
	{.name = "show", .operands = "OWNER", .flags = V_INSTALL, .run = do_show,
	 .help = "print OWNER's NAT and whether the kernel has it"},
	{.name = "list", .operands = "", .flags = V_INSTALL, .run = do_list,
	 .help = "every VM of this installation with NAT, by owner"},
	{.name = "check", .operands = "", .flags = V_INSTALL, .run = do_check,
	 .help = "compare what should exist with the kernel's rules; one\n"
		 "line per difference"},
	{.name = "flush", .operands = "", .flags = V_INSTALL | V_CHANGE, .run = do_flush,
	 .help = "remove this installation's rules, jumps, chains and\n"
		 "records (nothing else), and print the VMs it removed"},
	{0},
};

static const struct applet applet = {
	verbs, options, ARRAY_SIZE(options), "print each iptables command (and restore input) on stderr", NULL,
	"\n"
	"output:\n"
	"  up, down, show, list, flush: one line per VM (JSON: an object; list and\n"
	"    flush: an array): owner guest_ip tap uplink allow state\n"
	"    allow: comma-separated CIDRs, '-' (JSON []) for anywhere\n"
	"    state: up (every rule in place), partial, missing (per the kernel), down\n"
	"  check: one line per difference (JSON: an array): owner kind detail\n"
	"    kind: missing-chain, foreign-chain, missing-jump, extra-jump, missing-rule,\n"
	"    extra-rule, misordered; owner is '-' when it is no one VM's\n"
	"\n"
	"environment:\n"
	"  EMBER_IPTABLES=nft|legacy  the iptables backend (default: the one the\n"
	"                             iptables alternative points to)\n"
	"\n"
	"exit codes:\n"
	"  0 ok   1 show: no such VM; check: drift found\n"
	"  100 usage or bad input (owner, address, CIDR, interface name; TAP or uplink\n"
	"  missing; no default route)   101 corrupt state\n"
	"  102 refused (up with other parameters; TAP or address of another VM; a chain\n"
	"  of this installation's name that is not its own)\n"
	"  111 system failure: iptables failed or is missing, database busy (retry)\n",
};

int nat_main(int argc, char **argv)
{
	return xrun(&applet, argc, argv);
}
