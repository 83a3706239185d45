/* ember-tap: this installation's TAP devices, through iproute2. Its command
 * table (verbs, options, help) is below; --help is rendered from it. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "tap.h"

static const char *address, *mtu, *user, *group, *all;

enum { O_ADDRESS, O_MTU, O_USER, O_GROUP, O_ALL };

static const struct opt options[] = {
    [O_ADDRESS] = {"address", "HOST_IP/PREFIX",
		   "create: the host's address on the TAP and its prefix\n"
		   "(a unicast host address, prefix 8-32)",
		   &address, 0, NULL},
    [O_MTU] = {"mtu", "N", "create: the MTU, 68-65535 (default 1500)", &mtu, 0, NULL},
    [O_USER] = {"user", "U", "create: the user that may open the TAP (name or number)", &user, 0, NULL},
    [O_GROUP] = {"group", "G", "create: the group that may open the TAP (name or number)", &group, 0, NULL},
    [O_ALL] = {"all", NULL, "list: also TAPs that are not this installation's", &all, 0, NULL},
};

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

static int do_create(struct install *in, int argc, char **argv)
{
	struct tap_params p;
	struct tap t;
	int created;

	(void)argc;
	if (tap_parse_params(address, mtu, user, group, &p) < 0)
		xdie(0);
	if (tap_create(in, argv[0], &p, &t, &created) < 0) {
		xdie(0);
	}
	print_tap(&t, 0);
	return 0;
}

static int do_delete(struct install *in, int argc, char **argv)
{
	struct tap t;
	int deleted;

	(void)argc;
	if (tap_delete(in, argv[0], &t, &deleted) < 0) {
		xdie(0);
	}
	out_record_begin(&out);
	out_str(&out, "owner", t.owner);
	out_str(&out, "name", t.name[0] ? t.name : NULL);
	out_bool(&out, "deleted", deleted);
	out_record_end(&out);
	return 0;
}

static int do_show(struct install *in, int argc, char **argv)
{
	struct tap t;
	int r;

	(void)argc;
	r = tap_show(in, argv[0], &t);
	if (r < 0)
		xdie(0);
	if (r == 0)
		return not_found("no TAP for '%s'", argv[0]);
	print_tap(&t, 0);
	return 0;
}

static int do_list(struct install *in, int argc, char **argv)
{
	struct tap_list l;
	int i;

	(void)argc;
	(void)argv;
	if (tap_list(in, all != NULL, &l) < 0) {
		xdie(0);
	}
	out_list_begin(&out);
	for (i = 0; i < l.n; i++)
		print_tap(&l.v[i], all != NULL);
	out_list_end(&out);
	tap_list_release(&l);
	return 0;
}

static const struct verb verbs[] = {
    {.name = "create", .operands = "OWNER", .opts = OPT(O_ADDRESS) | OPT(O_MTU) | OPT(O_USER) | OPT(O_GROUP),
     .required = OPT(O_ADDRESS), .flags = V_INSTALL | V_TABLES | V_CHANGE, .run = do_create,
     .help = "create OWNER's TAP (persistent, single queue, IPv6 off,\n"
	     "the address and MTU, up) with one ip -batch; again with\n"
	     "the same parameters: succeed and print it"},
    {.name = "delete", .operands = "OWNER", .flags = V_INSTALL | V_TABLES | V_CHANGE, .run = do_delete,
     .help = "remove OWNER's TAP and its record; absent: succeed"},
    {.name = "show", .operands = "OWNER", .flags = V_INSTALL, .run = do_show, .help = "print OWNER's TAP"},
    {.name = "list", .operands = "", .opts = OPT(O_ALL), .flags = V_INSTALL, .run = do_list,
     .help = "this installation's TAPs; --all also every other TAP and\n"
	     "every link with another installation's alias (read-only)"},
    {0},
};

static const struct applet applet = {
    verbs, options, ARRAY_SIZE(options), "print each external command (and ip batch) on stderr", NULL,
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
    "  111 system failure: ip failed, database busy (retry may work)\n",
};

int tap_main(int argc, char **argv)
{
	return xrun(&applet, argc, argv);
}
