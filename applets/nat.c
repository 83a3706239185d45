/* ember-nat: per-VM MASQUERADE, forwarding and host isolation in iptables. */
static const char usage[] =
	"usage: ember-nat [OPTION...] VERB\n"
	"\n"
	"  up OWNER --guest-ip IP --tap TAP [--uplink IF] [--allow CIDR]...\n"
	"                      give OWNER's guest the way out: MASQUERADE out of the\n"
	"                      uplink, forwarding out of the TAP and replies back, no\n"
	"                      new connection to the host; again with the same\n"
	"                      parameters: succeed, repair what is missing, print it\n"
	"  down OWNER          remove OWNER's rules and print what they were; absent:\n"
	"                      succeed, print nothing\n"
	"  show OWNER          print OWNER's NAT and whether the kernel has it\n"
	"  list                every VM of this installation with NAT, by owner\n"
	"  check               compare what should exist with the kernel's rules; one\n"
	"                      line per difference\n"
	"  flush               remove this installation's rules, jumps, chains and\n"
	"                      records (nothing else), and print the VMs it removed\n"
	"\n"
	"options:\n"
	"      --guest-ip IP       the guest's address (the source MASQUERADE rewrites)\n"
	"      --tap TAP           the guest's TAP (it must exist)\n"
	"      --uplink IF         the interface toward the outside (default: that of\n"
	"                          the default route; it must exist)\n"
	"      --allow CIDR        up: let the guest reach only these networks (repeatable;\n"
	"                          default: anywhere through the uplink)\n"
	"                          down: --guest-ip, --tap and --uplink name the rules of a\n"
	"                          legacy installation that no record describes\n"
	"      --state-dir DIR     state directory (default $EMBER_STATE_DIR, else /var/lib/ember)\n"
	"  -j, --json              print JSON\n"
	"  -q, --quiet             print no result and no warnings\n"
	"  -v, --verbose           print each iptables command (and restore input) on stderr\n"
	"  -h, --help              print this help\n"
	"      --version           print the version\n"
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
	"  111 system failure: iptables failed or is missing, database busy (retry)\n";

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "nat.h"

enum { OPT_GUEST_IP = OPT_APPLET, OPT_TAP, OPT_UPLINK, OPT_ALLOW };

static const struct option options[] = {
	{"guest-ip", required_argument, NULL, OPT_GUEST_IP},
	{"tap", required_argument, NULL, OPT_TAP},
	{"uplink", required_argument, NULL, OPT_UPLINK},
	{"allow", required_argument, NULL, OPT_ALLOW},
	{0},
};

static const char *opt_guest, *opt_tap, *opt_uplink;
static const char *opt_allow[NAT_ALLOW_MAX];
static int n_allow;

static void option(int key, const char *arg)
{
	switch (key) {
	case OPT_GUEST_IP:
		opt_guest = arg;
		break;
	case OPT_TAP:
		opt_tap = arg;
		break;
	case OPT_UPLINK:
		opt_uplink = arg;
		break;
	case OPT_ALLOW:
		if (n_allow == NAT_ALLOW_MAX)
			xusage("more than %d --allow blocks", NAT_ALLOW_MAX);
		opt_allow[n_allow++] = arg;
		break;
	}
}

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

/* The parameters given on the command line (REQUIRED: --guest-ip and --tap). */
static void params(struct nat_params *p, int required)
{
	int i;

	memset(p, 0, sizeof(*p));
	if (required && !opt_guest)
		xusage("--guest-ip IP is required");
	if (required && !opt_tap)
		xusage("--tap TAP is required");
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

static int do_up(int argc, char **argv)
{
	struct nat_params p;
	struct install in;
	struct nat_vm v;
	int created;

	(void)argc;
	xname("owner", argv[1]);
	params(&p, 1);
	xinstall_load(&in);
	if (nat_up(&in, argv[1], &p, &v, &created) < 0)
		xdie(0);
	print_vm(&v);
	install_release(&in);
	return finish(0);
}

static int do_down(int argc, char **argv)
{
	struct nat_params p;
	struct install in;
	struct nat_vm v;
	int removed, given = opt_guest || opt_tap || opt_uplink;

	(void)argc;
	xname("owner", argv[1]);
	if (given && !(opt_guest && opt_tap && opt_uplink))
		xusage("down names unrecorded rules with all of --guest-ip, --tap and --uplink");
	params(&p, 0);
	xinstall_load(&in);
	if (given && install_namespace(&in))
		xusage("--guest-ip, --tap and --uplink go with 'down' of a legacy installation only: "
		       "this one finds its rules by their comment");
	if (nat_down(&in, argv[1], given ? &p : NULL, &v, &removed) < 0)
		xdie(0);
	if (removed)
		print_vm(&v);
	install_release(&in);
	return finish(0);
}

static int do_show(int argc, char **argv)
{
	struct install in;
	struct nat_vm v;
	int rc;

	(void)argc;
	xname("owner", argv[1]);
	xinstall_load(&in);
	rc = nat_show(&in, argv[1], &v);
	if (rc < 0)
		xdie(0);
	install_release(&in);
	if (rc == 0) {
		if (!common.quiet)
			fprintf(stderr, "%s: '%s' has no NAT\n", progname, argv[1]);
		return finish(EXIT_NO);
	}
	print_vm(&v);
	return finish(0);
}

static void print_list(const struct nat_list *l)
{
	int i;

	out_list_begin(&out);
	for (i = 0; i < l->n; i++)
		print_vm(&l->v[i]);
	out_list_end(&out);
}

static int do_list(int argc, char **argv)
{
	struct nat_list l;
	struct install in;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	if (nat_list(&in, &l) < 0)
		xdie(0);
	print_list(&l);
	nat_list_release(&l);
	install_release(&in);
	return finish(0);
}

static void print_difference(void *ctx, const char *owner, const char *kind, const char *detail)
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
	n = nat_check(&in, print_difference, NULL);
	out_list_end(&out);
	if (n < 0)
		xdie(0);
	install_release(&in);
	if (n > 0 && !common.quiet)
		fprintf(stderr, "%s: %d difference%s found\n", progname, n, n == 1 ? "" : "s");
	return finish(n ? EXIT_NO : 0);
}

static int do_flush(int argc, char **argv)
{
	struct nat_list l;
	struct install in;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	if (nat_flush(&in, &l) < 0)
		xdie(0);
	print_list(&l);
	nat_list_release(&l);
	install_release(&in);
	return finish(0);
}

static const struct verb verbs[] = {
	{"up", do_up, 1, 1},
	{"down", do_down, 1, 1},
	{"show", do_show, 1, 1},
	{"list", do_list, 0, 0},
	{"check", do_check, 0, 0},
	{"flush", do_flush, 0, 0},
	{0},
};

int nat_main(int argc, char **argv)
{
	int first = xparse_options(argc, argv, usage, options, option);
	const char *verb = first < argc ? argv[first] : "";

	if (n_allow && strcmp(verb, "up") != 0)
		xusage("--allow goes with 'up'");
	if ((opt_guest || opt_tap || opt_uplink) && strcmp(verb, "up") != 0 && strcmp(verb, "down") != 0)
		xusage("--guest-ip, --tap and --uplink go with 'up' (and 'down')");
	return xrun_verb(verbs, argc - first, argv + first);
}
