/* ember-pool: the device-mapper thin pool and its volumes. Its command table
 * (verbs, options, help) is below; --help is rendered from it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "pool.h"

static struct pool_params params;
static const char *size_arg, *metadata_arg, *block_arg, *force, *purge;

enum { O_SIZE, O_DATA_DEV, O_METADATA_SIZE, O_BLOCK_SIZE, O_FORCE, O_PURGE };

static const struct opt options[] = {
	[O_SIZE] = {"size", "SIZE", "bytes, or with a K, M, G or T suffix (powers of 1024)", &size_arg, 0, NULL},
	[O_DATA_DEV] = {"data-dev", "DEV", "create: a block device for the data", &params.data_dev, 0, NULL},
	[O_METADATA_SIZE] = {"metadata-size", "SIZE", "create: metadata device size (default: sized for the pool)",
			     &metadata_arg, 0, NULL},
	[O_BLOCK_SIZE] = {"block-size", "SIZE", "create: a multiple of 64K, up to 1G (default 64K)", &block_arg, 0,
			  NULL},
	[O_FORCE] = {"force", NULL, "destroy: deactivate active volumes first", &force, 0, NULL},
	[O_PURGE] = {"purge", NULL, "destroy: also forget the pool and remove its files", &purge, 0, NULL},
};

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
static int pool_result(int rc, const struct pool_state *st)
{
	if (rc < 0)
		xdie(0);
	print_state(st);
	return 0;
}

static int do_create(struct install *in, int argc, char **argv)
{
	struct pool_state st;

	(void)argc;
	(void)argv;
	params.size = xsize("size", size_arg);
	if (metadata_arg)
		params.metadata_size = xsize("metadata size", metadata_arg);
	if (block_arg)
		params.block_size = xsize("block size", block_arg);
	return pool_result(pool_create(in, &params, &st), &st);
}

static int do_activate(struct install *in, int argc, char **argv)
{
	struct pool_volume v;
	struct pool_state st;

	if (argc < 1)
		return pool_result(pool_activate(in, &st), &st);
	if (pool_volume_activate(in, argv[0], &v) < 0)
		xdie(0);
	print_volume(&v);
	return 0;
}

static int do_status(struct install *in, int argc, char **argv)
{
	struct pool_state st;

	(void)argc;
	(void)argv;
	return pool_result(pool_status(in, &st), &st);
}

static int do_grow(struct install *in, int argc, char **argv)
{
	struct pool_state st;
	uint64_t size;

	(void)argc;
	(void)argv;
	size = xsize("size", size_arg);
	return pool_result(pool_grow(in, size, &st), &st);
}

static int do_destroy(struct install *in, int argc, char **argv)
{
	char name[POOL_NAME_LEN];

	(void)argc;
	(void)argv;
	if (pool_destroy(in, force != NULL, purge != NULL) < 0)
		xdie(0);
	pool_name(in, name, sizeof(name));
	out_record_begin(&out);
	out_str(&out, "pool", name);
	out_bool(&out, "purged", purge != NULL);
	out_record_end(&out);
	return 0;
}

static int do_import(struct install *in, int argc, char **argv)
{
	struct pool_volume v;

	(void)argc;
	if (pool_import(in, argv[0], argv[1], isatty(2) && !common.quiet ? progress : NULL, &v) < 0)
		xdie(0);
	print_volume(&v);
	return 0;
}

static int do_clone(struct install *in, int argc, char **argv)
{
	struct pool_volume v;
	uint64_t size = 0;

	(void)argc;
	if (size_arg)
		size = xsize("size", size_arg);
	if (pool_clone(in, argv[0], argv[1], size, &v) < 0)
		xdie(0);
	print_volume(&v);
	return 0;
}

static int do_deactivate(struct install *in, int argc, char **argv)
{
	struct pool_volume v;

	(void)argc;
	if (pool_volume_deactivate(in, argv[0], &v) < 0)
		xdie(0);
	print_volume(&v);
	return 0;
}

static int do_delete(struct install *in, int argc, char **argv)
{
	struct pool_volume v;
	int found;

	(void)argc;
	if (pool_volume_delete(in, argv[0], &v, &found) < 0)
		xdie(0);
	if (found)
		print_volume(&v);
	return 0;
}

static int do_list(struct install *in, int argc, char **argv)
{

	(void)argc;
	(void)argv;
	out_list_begin(&out);
	if (pool_list(in, list_one, NULL) < 0)
		xdie(0);
	out_list_end(&out);
	return 0;
}

#define V_POOL (V_INSTALL | V_TABLES | V_CHANGE)

static const struct verb verbs[] = {
	{.name = "create", .operands = "",
	 .opts = OPT(O_SIZE) | OPT(O_DATA_DEV) | OPT(O_METADATA_SIZE) | OPT(O_BLOCK_SIZE), .required = OPT(O_SIZE),
	 .flags = V_POOL, .run = do_create, .heading = "the pool:",
	 .help = "create the pool: file-backed (sparse pool/data.img and\n"
		 "pool/metadata.img on loop devices) unless --data-dev"},
	{.name = "activate", .operands = "[VOLUME]", .flags = V_POOL, .run = do_activate,
	 .help = "after a reboot: re-attach the loops, check the metadata\n"
		 "(thin_check), start the pool, settle interrupted work;\n"
		 "with VOLUME: activate a volume (an image read-only)"},
	{.name = "status", .operands = "", .flags = V_INSTALL, .run = do_status,
	 .help = "data and metadata use, mode, transaction id"},
	{.name = "grow", .operands = "", .opts = OPT(O_SIZE), .required = OPT(O_SIZE), .flags = V_POOL,
	 .run = do_grow, .help = "grow the pool (never shrinks)"},
	{.name = "destroy", .operands = "", .opts = OPT(O_FORCE) | OPT(O_PURGE), .flags = V_INSTALL | V_CHANGE,
	 .run = do_destroy,
	 .help = "remove the volumes and the pool from the kernel (refused\n"
		 "while volumes are active unless --force); --purge also\n"
		 "forgets them and removes the pool's files"},
	{.name = "import", .operands = "IMAGE FILE", .flags = V_POOL, .run = do_import, .heading = "volumes:",
	 .help = "copy FILE into a new read-only base volume IMAGE"},
	{.name = "clone", .operands = "IMAGE OWNER", .opts = OPT(O_SIZE), .flags = V_POOL, .run = do_clone,
	 .help = "snapshot IMAGE for OWNER and activate it (grow only)"},
	{.name = "deactivate", .operands = "VOLUME", .flags = V_POOL, .run = do_deactivate,
	 .help = "remove a volume's device, keep its data"},
	{.name = "delete", .operands = "VOLUME", .flags = V_INSTALL | V_CHANGE, .run = do_delete,
	 .help = "deactivate and delete a volume and its data; absent:\n"
		 "succeed, print nothing (JSON: {})"},
	{.name = "list", .operands = "", .flags = V_INSTALL, .run = do_list, .help = "every volume of the pool"},
	{0},
};

static const struct applet applet = {
	verbs, options, ARRAY_SIZE(options), "print each external command on stderr",
	"VOLUME is an owner (its VM volume) or a full device name\n"
	"(such as ember-a3f4-img-debian)",
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
	"  111 system failure (retry may work)\n",
};

int pool_main(int argc, char **argv)
{
	pool_report = report;
	return xrun(&applet, argc, argv);
}
