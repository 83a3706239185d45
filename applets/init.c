/* ember-init: the installation: its state directory, identity and names.
 * Its command table (verbs, options, help) is below; --help is rendered
 * from it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "preflight.h"
#include "subsys.h"

static struct install_opts opts;
static const char *opt_legacy, *opt_purge;

enum { O_INSTANCE_ID, O_IP_SUBNET, O_LEGACY, O_PURGE };

static const struct opt options[] = {
	[O_INSTANCE_ID] = {"instance-id", "XXXX", "4 hex characters (default: derived from the path)", &opts.id, 0,
			   NULL},
	[O_IP_SUBNET] = {"ip-subnet", "CIDR",
			 "default subnet for allocations: a network address,\n"
			 "prefix 8-30 (default: 10.S.0.0/16 derived from the id)",
			 &opts.subnet, 0, NULL},
	[O_LEGACY] = {"legacy", NULL, "no instance id: historic names, 10.100.0.0/16", &opt_legacy, 0, NULL},
	[O_PURGE] = {"purge", NULL, "deinit: also remove the state directory", &opt_purge, 0, NULL},
};

static void print_installation(const struct install *in)
{
	char subnet[CIDR_LEN];
	int i;

	cidr_format(&in->subnet, subnet);
	out_record_vertical(&out);
	out_str(&out, "state_dir", in->dir);
	out_str(&out, "instance_id", install_namespace(in));
	out_bool(&out, "legacy", install_namespace(in) == NULL);
	out_str(&out, "subnet", subnet);
	for (i = 0; i < subsystem_count; i++)
		if (subsystems[i].names)
			subsystems[i].names(in, &out);
	out_record_end(&out);
}

static int do_init(struct install *none, int argc, char **argv)
{
	struct install in;
	int created;

	(void)none;
	(void)argc;
	(void)argv;
	opts.legacy = opt_legacy != NULL;
	if (install_init(&in, install_dir_default(common.state_dir), &opts, &created) < 0) {
		install_release(&in);
		xdie(0);
	}
	if (in.moved_from[0])
		warn("derived subnet %s overlaps %s; using the next free one", in.moved_from,
		     in.moved_why);
	print_installation(&in);
	install_release(&in);
	return 0;
}

static int do_show(struct install *in, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	print_installation(in);
	return 0;
}

static void print_item(const struct preflight_item *item, void *ctx)
{
	(void)ctx;
	out_record_begin(&out);
	out_str(&out, "name", item->name);
	out_str(&out, "status", item->ok ? "ok" : "missing");
	out_str(&out, "detail", item->detail);
	out_record_end(&out);
	if (!item->ok && !common.quiet)
		fprintf(stderr, "%s: %s is missing: %s\n", progname, item->name, item->action);
}

static int do_check(struct install *none, int argc, char **argv)
{
	int missing;

	(void)none;
	(void)argc;
	(void)argv;
	out_list_begin(&out);
	missing = preflight_run(print_item, NULL);
	out_list_end(&out);
	return missing ? EXIT_NO : 0;
}

static void report_teardown(const char *subsystem, const char *message)
{
	fprintf(stderr, "%s: %s: %s\n", progname, subsystem, message);
}

static int do_deinit(struct install *none, int argc, char **argv)
{
	struct install in;
	int purge = opt_purge != NULL;

	(void)none;
	(void)argc;
	(void)argv;
	if (install_load(&in, install_dir_default(common.state_dir)) < 0) {
		/* deinit of what is not there succeeds, as every delete does */
		if (error_exit_code() != EXIT_USAGE)
			xdie(0);
		warn("%s; nothing to do", error_message());
		return 0;
	}
	if (subsys_deinit(&in, purge, report_teardown) < 0)
		xdie(0);
	if (purge && access(in.dir, F_OK) == 0)
		warn("'%s' stays: it holds files ember did not make", in.dir);
	out_record_begin(&out);
	out_str(&out, "state_dir", in.dir);
	out_str(&out, "instance_id", install_namespace(&in));
	out_bool(&out, "purged", purge);
	out_record_end(&out);
	install_release(&in);
	return 0;
}

static const struct verb verbs[] = {
	{.name = "init", .operands = "", .opts = OPT(O_INSTANCE_ID) | OPT(O_IP_SUBNET) | OPT(O_LEGACY),
	 .run = do_init,
	 .help = "create the state directory, config.json and state.db;\n"
		 "with the same settings again: succeed, change nothing"},
	{.name = "show", .operands = "", .flags = V_INSTALL, .run = do_show,
	 .help = "the installation and every name it gives host objects"},
	{.name = "check", .operands = "", .run = do_check, .help = "preflight of the runtime; one line per piece"},
	{.name = "deinit", .operands = "", .opts = OPT(O_PURGE), .run = do_deinit,
	 .help = "remove this installation's host objects (refused while\n"
		 "VMs are registered); --purge also removes its files;\n"
		 "no installation: succeed, print nothing (JSON: {})"},
	{0},
};

static const struct applet applet = {
	verbs, options, ARRAY_SIZE(options), "print each external command on stderr", NULL,
	"\n"
	"output:\n"
	"  init, show: one 'key value' line per field (JSON: one object): state_dir\n"
	"    instance_id legacy subnet tap_prefix tap_alias chain_input chain_forward\n"
	"    chain_postrouting rule_comment pool image_prefix volume_prefix dm_uuid_prefix\n"
	"  check: one line per piece: name status detail (JSON: an array of objects)\n"
	"  deinit: state_dir instance_id purged\n"
	"\n"
	"exit codes:\n"
	"  0 ok   1 check: something required is missing   100 usage or bad input\n"
	"  101 corrupt config or state   102 refused (other settings, VMs registered)\n"
	"  111 system failure (retry may work)\n",
};

int init_main(int argc, char **argv)
{
	return xrun(&applet, argc, argv);
}
