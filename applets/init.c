/* ember-init: the installation: its state directory, identity and names. */
static const char usage[] =
	"usage: ember-init [OPTION...] VERB\n"
	"\n"
	"  init [--instance-id XXXX] [--ip-subnet CIDR] [--legacy]\n"
	"                      create the state directory, config.json and state.db;\n"
	"                      with the same settings again: succeed, change nothing\n"
	"  show                the installation and every name it gives host objects\n"
	"  check               preflight of the runtime; one line per piece\n"
	"  deinit [--purge]    remove this installation's host objects (refused while\n"
	"                      VMs are registered); --purge also removes its files\n"
	"\n"
	"options:\n"
	"      --instance-id XXXX  4 hex characters (default: derived from the path)\n"
	"      --ip-subnet CIDR    default subnet for allocations: a network address,\n"
	"                          prefix 8-30 (default: 10.S.0.0/16 derived from the id)\n"
	"      --legacy            no instance id: historic names, 10.100.0.0/16\n"
	"      --purge             deinit: also remove the state directory\n"
	"      --state-dir DIR     state directory (default $EMBER_STATE_DIR, else /var/lib/ember)\n"
	"  -j, --json              print JSON\n"
	"  -q, --quiet             print no result and no warnings\n"
	"  -v, --verbose           print each external command on stderr\n"
	"  -h, --help              print this help\n"
	"      --version           print the version\n"
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
	"  111 system failure (retry may work)\n";

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "file.h"
#include "lock.h"
#include "preflight.h"
#include "subsys.h"
#include "vm.h"

enum { OPT_INSTANCE_ID = OPT_APPLET, OPT_IP_SUBNET, OPT_LEGACY, OPT_PURGE };

static const struct option options[] = {
	{"instance-id", required_argument, NULL, OPT_INSTANCE_ID},
	{"ip-subnet", required_argument, NULL, OPT_IP_SUBNET},
	{"legacy", no_argument, NULL, OPT_LEGACY},
	{"purge", no_argument, NULL, OPT_PURGE},
	{0},
};

static struct install_opts opts;
static int purge;

static void option(int key, const char *arg)
{
	switch (key) {
	case OPT_INSTANCE_ID:
		opts.id = arg;
		break;
	case OPT_IP_SUBNET:
		opts.subnet = arg;
		break;
	case OPT_LEGACY:
		opts.legacy = 1;
		break;
	case OPT_PURGE:
		purge = 1;
		break;
	}
}

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
		subsystems[i].names(in, &out);
	out_record_end(&out);
}

static int do_init(int argc, char **argv)
{
	struct install in;
	int created;

	(void)argc;
	(void)argv;
	if (install_init(&in, install_dir_default(common.state_dir), &opts, &created) < 0) {
		install_release(&in);
		xdie(0);
	}
	if (in.moved_from[0])
		warn("derived subnet %s overlaps %s; using the next free one", in.moved_from,
		     in.moved_why);
	print_installation(&in);
	install_release(&in);
	return finish(0);
}

static int do_show(int argc, char **argv)
{
	struct install in;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	print_installation(&in);
	install_release(&in);
	return finish(0);
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

static int do_check(int argc, char **argv)
{
	int missing;

	(void)argc;
	(void)argv;
	out_list_begin(&out);
	missing = preflight_run(print_item, NULL);
	out_list_end(&out);
	return finish(missing ? EXIT_NO : 0);
}

struct vm_list {
	char names[512];
	size_t len;
};

static void add_vm(const char *name, void *ctx)
{
	struct vm_list *l = ctx;

	l->len += (size_t)snprintf(l->names + l->len, l->len < sizeof(l->names) ? sizeof(l->names) - l->len : 0,
				   "%s%s", l->len ? ", " : "", name);
	if (l->len >= sizeof(l->names))
		l->len = sizeof(l->names) - 1;
}

static int do_deinit(int argc, char **argv)
{
	struct vm_list vms = {{0}, 0};
	char path[PATH_MAX];
	struct install in;
	struct db *db;
	int i, n, lock, failed = 0;

	(void)argc;
	(void)argv;
	if (install_load(&in, install_dir_default(common.state_dir)) < 0) {
		/* deinit of what is not there succeeds, as every delete does */
		if (error_exit_code() != EXIT_USAGE)
			xdie(0);
		warn("%s; nothing to do", error_message());
		return finish(0);
	}
	/* a directory that only holds a config (copied in, or left half-made)
	 * has no locks/ yet */
	if (install_path(&in, path, sizeof(path), "locks") < 0 || file_mkdirs(path, 0700) < 0 ||
	    install_path(&in, path, sizeof(path), "locks/init") < 0 ||
	    (lock = lock_take(path, LOCK_EXCLUSIVE)) < 0 || install_db_create(&in, &db) < 0)
		xdie(0);
	n = vm_each_registered(&in, add_vm, &vms);
	if (n < 0)
		xdie(0);
	if (n > 0) {
		error_code(EXIT_REFUSED, "%d VM%s registered: %s", n, n == 1 ? " is" : "s are", vms.names);
		error_hint("stop and delete them with 'ember-vm delete NAME' first");
		xdie(0);
	}
	for (i = subsystem_count - 1; i >= 0; i--) {
		if (subsystems[i].teardown(&in) < 0) {
			fprintf(stderr, "%s: %s: %s\n", progname, subsystems[i].name, error_message());
			failed = 1;
		}
	}
	install_release(&in);
	if (failed) {
		lock_release(lock);
		return finish(EXIT_TEMP);
	}
	if (purge && (i = install_purge(&in)) < 0)
		xdie(0);
	if (purge && i == 0)
		warn("'%s' stays: it holds files ember did not make", in.dir);
	lock_release(lock);
	out_record_begin(&out);
	out_str(&out, "state_dir", in.dir);
	out_str(&out, "instance_id", install_namespace(&in));
	out_bool(&out, "purged", purge);
	out_record_end(&out);
	return finish(0);
}

static const struct verb verbs[] = {
	{"init", do_init, 0, 0},
	{"show", do_show, 0, 0},
	{"check", do_check, 0, 0},
	{"deinit", do_deinit, 0, 0},
	{0},
};

int init_main(int argc, char **argv)
{
	int first = xparse_options(argc, argv, usage, options, option);

	if ((opts.id || opts.subnet || opts.legacy) && (first >= argc || strcmp(argv[first], "init") != 0))
		xusage("--instance-id, --ip-subnet and --legacy go with 'init'");
	if (purge && (first >= argc || strcmp(argv[first], "deinit") != 0))
		xusage("--purge goes with 'deinit'");
	return xrun_verb(verbs, argc - first, argv + first);
}
