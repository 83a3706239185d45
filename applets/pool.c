/* ember-pool: the device-mapper thin pool and its volumes. */
static const char usage[] =
	"usage: ember-pool [OPTION...] VERB [OPERAND...]\n"
	"\n"
	"the pool:\n"
	"  create --size SIZE [--data-dev DEV] [--metadata-size SIZE] [--block-size SIZE]\n"
	"                      create the pool: file-backed (sparse pool/data.img and\n"
	"                      pool/metadata.img on loop devices) unless --data-dev\n"
	"  activate            after a reboot: re-attach the loops, check the metadata\n"
	"                      (thin_check), start the pool, settle interrupted work\n"
	"  status              data and metadata use, mode, transaction id\n"
	"  grow --size SIZE    grow the pool (never shrinks)\n"
	"  destroy [--force] [--purge]\n"
	"                      remove the volumes and the pool from the kernel (refused\n"
	"                      while volumes are active unless --force); --purge also\n"
	"                      forgets them and removes the pool's files\n"
	"volumes:\n"
	"  import IMAGE FILE   copy FILE into a new read-only base volume IMAGE\n"
	"  clone IMAGE OWNER [--size SIZE]\n"
	"                      snapshot IMAGE for OWNER and activate it (grow only)\n"
	"  activate VOLUME     activate a volume (an image read-only)\n"
	"  deactivate VOLUME   remove a volume's device, keep its data\n"
	"  delete VOLUME       deactivate and delete a volume and its data\n"
	"  list                every volume of the pool\n"
	"  VOLUME is an owner (its VM volume) or a full device name such as\n"
	"  ember-a3f4-img-debian\n"
	"\n"
	"options:\n"
	"      --size SIZE           bytes, or with a K, M, G or T suffix (powers of 1024)\n"
	"      --data-dev DEV        create: a block device for the data\n"
	"      --metadata-size SIZE  create: metadata device size (default: sized for the pool)\n"
	"      --block-size SIZE     create: a multiple of 64K, up to 1G (default 64K)\n"
	"      --force               destroy: deactivate active volumes first\n"
	"      --purge               destroy: also forget the pool and remove its files\n"
	"      --state-dir DIR       state directory (default $EMBER_STATE_DIR, else /var/lib/ember)\n"
	"  -j, --json                print JSON\n"
	"  -q, --quiet               print no result and no warnings\n"
	"  -v, --verbose             print each external command on stderr\n"
	"  -h, --help                print this help\n"
	"      --version             print the version\n"
	"\n"
	"output:\n"
	"  create, activate, status, grow: one line (JSON: an object): pool mode\n"
	"    transaction_id data_used data_size data_percent metadata_used metadata_size\n"
	"    metadata_percent block_size data_dev volumes faulty pending\n"
	"  import, clone, activate VOLUME, deactivate, delete: one line per volume, as\n"
	"    list (JSON: an object); list: one line per volume (JSON: an array): name\n"
	"    thin_id size state owner image active device\n"
	"  destroy: pool purged\n"
	"  sizes are in bytes; a warning goes to stderr when data or metadata use is 80%\n"
	"  or more\n"
	"\n"
	"exit codes:\n"
	"  0 ok   1 no such pool or volume   100 usage or bad input\n"
	"  101 internal error, corrupt state or damaged metadata\n"
	"  102 refused (exists with other parameters, active, wrong state)\n"
	"  111 system failure (retry may work)\n";

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "pool.h"

enum {
	OPT_SIZE = OPT_APPLET,
	OPT_DATA_DEV,
	OPT_METADATA_SIZE,
	OPT_BLOCK_SIZE,
	OPT_FORCE,
	OPT_PURGE,
};

static const struct option options[] = {
	{"size", required_argument, NULL, OPT_SIZE},
	{"data-dev", required_argument, NULL, OPT_DATA_DEV},
	{"metadata-size", required_argument, NULL, OPT_METADATA_SIZE},
	{"block-size", required_argument, NULL, OPT_BLOCK_SIZE},
	{"force", no_argument, NULL, OPT_FORCE},
	{"purge", no_argument, NULL, OPT_PURGE},
	{0},
};

static struct pool_params params;
static const char *size_arg, *metadata_arg, *block_arg;
static int force, purge;

static void option(int key, const char *arg)
{
	switch (key) {
	case OPT_SIZE:
		size_arg = arg;
		break;
	case OPT_DATA_DEV:
		params.data_dev = arg;
		break;
	case OPT_METADATA_SIZE:
		metadata_arg = arg;
		break;
	case OPT_BLOCK_SIZE:
		block_arg = arg;
		break;
	case OPT_FORCE:
		force = 1;
		break;
	case OPT_PURGE:
		purge = 1;
		break;
	}
}

/* pool_report: what lib/pool tells people goes to stderr as a warning. */
static void report(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	warn("%s", buf);
}

static void progress(uint64_t done, uint64_t total)
{
	static int last = -1;
	int pct = total ? (int)(done * 100 / total) : 100, i;

	if (pct == last)
		return;
	last = pct;
	fputc('\r', stderr);
	fputc('[', stderr);
	for (i = 0; i < 40; i++)
		fputc(i < pct * 40 / 100 ? '#' : ' ', stderr);
	fprintf(stderr, "] %3d%%%s", pct, done >= total ? "\n" : "");
	fflush(stderr);
}

static uint64_t xsize(const char *what, const char *arg)
{
	uint64_t v;

	if (pool_parse_size(what, arg, &v) < 0)
		xdie(0);
	return v;
}

static void print_state(const struct pool_state *st)
{
	out_record_begin(&out);
	out_str(&out, "pool", st->name);
	out_str(&out, "mode", st->mode);
	out_int(&out, "transaction_id", st->transaction_id);
	out_int(&out, "data_used", (long long)st->data_used);
	out_int(&out, "data_size", (long long)st->size);
	out_int(&out, "data_percent", st->data_percent);
	out_int(&out, "metadata_used", (long long)st->metadata_used);
	out_int(&out, "metadata_size", (long long)st->metadata_size);
	out_int(&out, "metadata_percent", st->metadata_percent);
	out_int(&out, "block_size", (long long)st->block_size);
	out_str(&out, "data_dev", st->data_dev[0] ? st->data_dev : NULL);
	out_int(&out, "volumes", st->volumes);
	out_int(&out, "faulty", st->faulty);
	out_int(&out, "pending", st->pending);
	out_record_end(&out);
	if (st->data_percent >= 80)
		warn("pool '%s' data is %d%% full; grow it with 'ember-pool grow --size SIZE'", st->name,
		     st->data_percent);
	if (st->metadata_percent >= 80)
		warn("pool '%s' metadata is %d%% full", st->name, st->metadata_percent);
	if (strcmp(st->mode, "out_of_data_space") == 0)
		warn("pool '%s' is out of data space: writes fail until it grows", st->name);
	if (st->faulty)
		warn("%d faulty volume%s: see 'ember-pool list'", st->faulty, st->faulty == 1 ? "" : "s");
}

static void print_volume(const struct pool_volume *v)
{
	out_record_begin(&out);
	out_str(&out, "name", v->name);
	out_int(&out, "thin_id", v->thin_id);
	out_int(&out, "size", (long long)v->size);
	out_str(&out, "state", v->state);
	out_str(&out, "owner", strcmp(v->kind, "vm") == 0 ? v->ident : NULL);
	out_str(&out, "image", strcmp(v->kind, "vm") == 0 ? v->image : v->ident);
	out_bool(&out, "active", v->active);
	out_str(&out, "device", v->device[0] ? v->device : NULL);
	out_record_end(&out);
}

static int list_one(const struct pool_volume *v, void *ctx)
{
	(void)ctx;
	print_volume(v);
	return 0;
}

/* The pool verbs print its state; ST is filled by the call. */
static int pool_result(int rc, struct install *in, const struct pool_state *st)
{
	if (rc < 0)
		xdie(0);
	install_release(in);
	print_state(st);
	return finish(0);
}

static int do_create(int argc, char **argv)
{
	struct pool_state st;
	struct install in;

	(void)argc;
	(void)argv;
	if (!size_arg)
		xusage("create needs --size SIZE");
	params.size = xsize("size", size_arg);
	if (metadata_arg)
		params.metadata_size = xsize("metadata size", metadata_arg);
	if (block_arg)
		params.block_size = xsize("block size", block_arg);
	xinstall_load(&in);
	return pool_result(pool_create(&in, &params, &st), &in, &st);
}

static int do_activate(int argc, char **argv)
{
	struct pool_volume v;
	struct pool_state st;
	struct install in;

	xinstall_load(&in);
	if (argc < 2)
		return pool_result(pool_activate(&in, &st), &in, &st);
	if (pool_volume_activate(&in, argv[1], &v) < 0)
		xdie(0);
	install_release(&in);
	print_volume(&v);
	return finish(0);
}

static int do_status(int argc, char **argv)
{
	struct pool_state st;
	struct install in;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	return pool_result(pool_status(&in, &st), &in, &st);
}

static int do_grow(int argc, char **argv)
{
	struct pool_state st;
	struct install in;
	uint64_t size;

	(void)argc;
	(void)argv;
	if (!size_arg)
		xusage("grow needs --size SIZE");
	size = xsize("size", size_arg);
	xinstall_load(&in);
	return pool_result(pool_grow(&in, size, &st), &in, &st);
}

static int do_destroy(int argc, char **argv)
{
	struct install in;
	char name[POOL_NAME_LEN];

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	if (pool_destroy(&in, force, purge) < 0)
		xdie(0);
	pool_name(&in, name, sizeof(name));
	install_release(&in);
	out_record_begin(&out);
	out_str(&out, "pool", name);
	out_bool(&out, "purged", purge);
	out_record_end(&out);
	return finish(0);
}

static int do_import(int argc, char **argv)
{
	struct pool_volume v;
	struct install in;

	(void)argc;
	xname("image name", argv[1]);
	xinstall_load(&in);
	if (pool_import(&in, argv[1], argv[2], isatty(2) && !common.quiet ? progress : NULL, &v) < 0)
		xdie(0);
	install_release(&in);
	print_volume(&v);
	return finish(0);
}

static int do_clone(int argc, char **argv)
{
	struct pool_volume v;
	struct install in;
	uint64_t size = 0;

	(void)argc;
	xname("image name", argv[1]);
	xname("owner", argv[2]);
	if (size_arg)
		size = xsize("size", size_arg);
	xinstall_load(&in);
	if (pool_clone(&in, argv[1], argv[2], size, &v) < 0)
		xdie(0);
	install_release(&in);
	print_volume(&v);
	return finish(0);
}

static int do_deactivate(int argc, char **argv)
{
	struct pool_volume v;
	struct install in;

	(void)argc;
	xinstall_load(&in);
	if (pool_volume_deactivate(&in, argv[1], &v) < 0)
		xdie(0);
	install_release(&in);
	print_volume(&v);
	return finish(0);
}

static int do_delete(int argc, char **argv)
{
	struct pool_volume v;
	struct install in;
	int found;

	(void)argc;
	xinstall_load(&in);
	if (pool_volume_delete(&in, argv[1], &v, &found) < 0)
		xdie(0);
	install_release(&in);
	if (found)
		print_volume(&v);
	return finish(0);
}

static int do_list(int argc, char **argv)
{
	struct install in;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	out_list_begin(&out);
	if (pool_list(&in, list_one, NULL) < 0)
		xdie(0);
	out_list_end(&out);
	install_release(&in);
	return finish(0);
}

static const struct verb verbs[] = {
	{"create", do_create, 0, 0},
	{"activate", do_activate, 0, 1},
	{"status", do_status, 0, 0},
	{"grow", do_grow, 0, 0},
	{"destroy", do_destroy, 0, 0},
	{"import", do_import, 2, 2},
	{"clone", do_clone, 2, 2},
	{"deactivate", do_deactivate, 1, 1},
	{"delete", do_delete, 1, 1},
	{"list", do_list, 0, 0},
	{0},
};

/* Which verbs take which options: anything else is a usage error. */
static void check_options(const char *verb)
{
	int is = 0;

	if ((params.data_dev || metadata_arg || block_arg) && strcmp(verb, "create") != 0)
		xusage("--data-dev, --metadata-size and --block-size go with 'create'");
	is = strcmp(verb, "create") == 0 || strcmp(verb, "grow") == 0 || strcmp(verb, "clone") == 0;
	if (size_arg && !is)
		xusage("--size goes with 'create', 'grow' and 'clone'");
	if ((force || purge) && strcmp(verb, "destroy") != 0)
		xusage("--force and --purge go with 'destroy'");
}

int pool_main(int argc, char **argv)
{
	int first = xparse_options(argc, argv, usage, options, option);

	if (first < argc)
		check_options(argv[first]);
	pool_report = report;
	return xrun_verb(verbs, argc - first, argv + first);
}
