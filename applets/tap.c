/* ember-tap: this installation's TAP devices, through iproute2. */
static const char usage[] =
    "usage: ember-tap [OPTION...] VERB\n"
    "\n"
    "  create OWNER --address HOST_IP/PREFIX [--mtu N] [--user U] [--group G]\n"
    "                      create OWNER's TAP (persistent, single queue, IPv6 off,\n"
    "                      the address and MTU, up) with one ip -batch; again with\n"
    "                      the same parameters: succeed and print it\n"
    "  delete OWNER        remove OWNER's TAP and its record; absent: succeed\n"
    "  show OWNER          print OWNER's TAP\n"
    "  list [--all]        this installation's TAPs; --all also every other TAP and\n"
    "                      every link with another installation's alias (read-only)\n"
    "\n"
    "options:\n"
    "      --address IP/P      create: the host's address on the TAP and its prefix\n"
    "                          (a unicast host address, prefix 8-32)\n"
    "      --mtu N             create: the MTU, 68-65535 (default 1500)\n"
    "      --user U            create: the user that may open the TAP (name or number)\n"
    "      --group G           create: the group that may open the TAP (name or number)\n"
    "      --all               list: also TAPs that are not this installation's\n"
    "      --state-dir DIR     state directory (default $EMBER_STATE_DIR, else /var/lib/ember)\n"
    "  -j, --json              print JSON\n"
    "  -q, --quiet             print no result and no warnings\n"
    "  -v, --verbose           print each external command (and ip batch) on stderr\n"
    "  -h, --help              print this help\n"
    "      --version           print the version\n"
    "\n"
    "output:\n"
    "  create, show, list: one line per TAP (JSON: an object; list: an array):\n"
    "    owner name address mtu user group state\n"
    "    state is up, down, or missing (recorded, but no such link in the kernel);\n"
    "    user and group are '-' when none\n"
    "  list --all: the same plus 'mine' (yes when this installation's) and 'alias'\n"
    "    (the link's ifalias; in plain mode blanks show as '_'); owner is '-' for a\n"
    "    TAP without an ember alias\n"
    "  delete: owner name deleted\n"
    "\n"
    "exit codes:\n"
    "  0 ok   1 show: no such TAP   100 usage or bad input (bad owner, address, MTU,\n"
    "  user, group; a parameter the kernel refuses)   101 corrupt state\n"
    "  102 refused (exists with other parameters; no free name)\n"
    "  111 system failure: ip failed, database busy (retry may work)\n";

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "tap.h"

enum { OPT_ADDRESS = OPT_APPLET, OPT_MTU, OPT_USER, OPT_GROUP, OPT_ALL };

static const struct option options[] = {
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"user", required_argument, NULL, OPT_USER},
    {"group", required_argument, NULL, OPT_GROUP},
    {"all", no_argument, NULL, OPT_ALL},
    {0},
};

static const char *address, *mtu, *user, *group;
static int all;

static void option(int key, const char *arg)
{
	switch (key) {
	case OPT_ADDRESS:
		address = arg;
		break;
	case OPT_MTU:
		mtu = arg;
		break;
	case OPT_USER:
		user = arg;
		break;
	case OPT_GROUP:
		group = arg;
		break;
	case OPT_ALL:
		all = 1;
		break;
	}
}

/* An ifalias is free text: in plain mode, blanks and control characters
 * become '_' so that the line keeps its fields. */
static void plain_alias(const char *alias, char *buf, size_t n)
{
	size_t i;

	snprintf(buf, n, "%s", alias);
	if (common.json)
		return;
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f)
			buf[i] = '_';
}

static void print_tap(const struct tap *t, int with_origin)
{
	char alias[TAP_ALIAS_LEN];

	out_record_begin(&out);
	out_str(&out, "owner", t->owner[0] ? t->owner : NULL);
	out_str(&out, "name", t->name);
	out_str(&out, "address", t->address[0] ? t->address : NULL);
	if (t->mtu > 0)
		out_int(&out, "mtu", t->mtu);
	else
		out_str(&out, "mtu", NULL);
	out_str(&out, "user", t->user[0] ? t->user : NULL);
	out_str(&out, "group", t->group[0] ? t->group : NULL);
	out_str(&out, "state", t->state);
	if (with_origin) {
		plain_alias(t->alias, alias, sizeof(alias));
		out_bool(&out, "mine", t->mine);
		out_str(&out, "alias", alias[0] ? alias : NULL);
	}
	out_record_end(&out);
}

static int do_create(int argc, char **argv)
{
	struct tap_params p;
	struct install in;
	struct tap t;
	int created;

	(void)argc;
	xname("owner", argv[1]);
	if (tap_parse_params(address, mtu, user, group, &p) < 0)
		xdie(0);
	xinstall_load(&in);
	if (tap_create(&in, argv[1], &p, &t, &created) < 0) {
		install_release(&in);
		xdie(0);
	}
	install_release(&in);
	print_tap(&t, 0);
	return finish(0);
}

static int do_delete(int argc, char **argv)
{
	struct install in;
	struct tap t;
	int deleted;

	(void)argc;
	xname("owner", argv[1]);
	xinstall_load(&in);
	if (tap_delete(&in, argv[1], &t, &deleted) < 0) {
		install_release(&in);
		xdie(0);
	}
	install_release(&in);
	out_record_begin(&out);
	out_str(&out, "owner", t.owner);
	out_str(&out, "name", t.name[0] ? t.name : NULL);
	out_bool(&out, "deleted", deleted);
	out_record_end(&out);
	return finish(0);
}

static int do_show(int argc, char **argv)
{
	struct install in;
	struct tap t;
	int r;

	(void)argc;
	xname("owner", argv[1]);
	xinstall_load(&in);
	r = tap_show(&in, argv[1], &t);
	install_release(&in);
	if (r < 0)
		xdie(0);
	if (r == 0) {
		error_code(EXIT_NO, "no TAP for '%s'", argv[1]);
		xdie(0);
	}
	print_tap(&t, 0);
	return finish(0);
}

static int do_list(int argc, char **argv)
{
	struct tap_list l;
	struct install in;
	int i;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	if (tap_list(&in, all, &l) < 0) {
		install_release(&in);
		xdie(0);
	}
	install_release(&in);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++)
		print_tap(&l.v[i], all);
	out_list_end(&out);
	tap_list_release(&l);
	return finish(0);
}

static const struct verb verbs[] = {
    {"create", do_create, 1, 1},
    {"delete", do_delete, 1, 1},
    {"show", do_show, 1, 1},
    {"list", do_list, 0, 0},
    {0},
};

int tap_main(int argc, char **argv)
{
	int first = xparse_options(argc, argv, usage, options, option);
	const char *verb = first < argc ? argv[first] : "";

	if ((address || mtu || user || group) && strcmp(verb, "create") != 0)
		xusage("--address, --mtu, --user and --group go with 'create'");
	if (all && strcmp(verb, "list") != 0)
		xusage("--all goes with 'list'");
	return xrun_verb(verbs, argc - first, argv + first);
}
