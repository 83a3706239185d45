/* ember-cidalloc: vsock guest CIDs per owner, lowest free first. */
static const char usage[] =
	"usage: ember-cidalloc [OPTION...] VERB\n"
	"\n"
	"  alloc OWNER         give OWNER the lowest free CID of 3-4294967294, skipping\n"
	"                      a CID another program holds through /dev/vhost-vsock;\n"
	"                      again: succeed and print the CID it holds\n"
	"  release OWNER       free OWNER's CID and print what it was; absent: succeed,\n"
	"                      print nothing\n"
	"  show OWNER          print OWNER's CID\n"
	"  list                every allocation, by CID\n"
	"  check               the invariants: no CID held twice, none outside\n"
	"                      3-4294967294; one line per anomaly\n"
	"\n"
	"options:\n"
	"      --state-dir DIR     state directory (default $EMBER_STATE_DIR, else /var/lib/ember)\n"
	"  -j, --json              print JSON\n"
	"  -q, --quiet             print no result and no warnings\n"
	"  -v, --verbose           (no external commands are run)\n"
	"  -h, --help              print this help\n"
	"      --version           print the version\n"
	"\n"
	"environment:\n"
	"  EMBER_VSOCK_DEVICE      the device alloc probes (default /dev/vhost-vsock; a\n"
	"                          path that does not exist: no probing)\n"
	"\n"
	"output:\n"
	"  alloc, release, show, list: one line per allocation (JSON: an object;\n"
	"    list: an array): owner cid\n"
	"  check: one line per anomaly (JSON: an array): owner kind detail\n"
	"    kind: shared, outside, corrupt, free-held, lost, free-outside; owner is\n"
	"    '-' when the anomaly is no one owner's\n"
	"\n"
	"exit codes:\n"
	"  0 ok   1 show: no such allocation; check: anomalies found\n"
	"  100 usage or bad input   101 corrupt state   102 refused (every CID taken)\n"
	"  111 system failure: the vsock probe failed, database busy (retry may work)\n";

#include <stdio.h>
#include <stdlib.h>

#include "cidalloc.h"
#include "common.h"

/* No options of its own: only the common ones. */
static const struct option options[] = {
	{0},
};

static void option(int key, const char *arg)
{
	(void)key;
	(void)arg;
}

static void print_cid(const struct cidalloc *c)
{
	out_record_begin(&out);
	out_str(&out, "owner", c->owner);
	out_int(&out, "cid", c->cid);
	out_record_end(&out);
}

static int do_alloc(int argc, char **argv)
{
	const char *device = getenv("EMBER_VSOCK_DEVICE");
	struct install in;
	struct cidalloc c;
	int created;

	(void)argc;
	xname("owner", argv[1]);
	xinstall_load(&in);
	if (cidalloc_alloc(&in, argv[1], cidalloc_probe_device, (void *)(device && *device ? device : NULL),
			   &c, &created) < 0)
		xdie(0);
	print_cid(&c);
	install_release(&in);
	return finish(0);
}

static int do_release(int argc, char **argv)
{
	struct install in;
	struct cidalloc c;
	int rc;

	(void)argc;
	xname("owner", argv[1]);
	xinstall_load(&in);
	rc = cidalloc_release(&in, argv[1], &c);
	if (rc < 0)
		xdie(0);
	if (rc == 1)
		print_cid(&c);
	install_release(&in);
	return finish(0);
}

static int do_show(int argc, char **argv)
{
	struct install in;
	struct cidalloc c;
	int rc;

	(void)argc;
	xname("owner", argv[1]);
	xinstall_load(&in);
	rc = cidalloc_show(&in, argv[1], &c);
	if (rc < 0)
		xdie(0);
	install_release(&in);
	if (rc == 0) {
		if (!common.quiet)
			fprintf(stderr, "%s: '%s' holds no CID\n", progname, argv[1]);
		return finish(EXIT_NO);
	}
	print_cid(&c);
	return finish(0);
}

static int do_list(int argc, char **argv)
{
	struct cidalloc_list l;
	struct install in;
	int i;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	if (cidalloc_list(&in, &l) < 0)
		xdie(0);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++)
		print_cid(&l.v[i]);
	out_list_end(&out);
	cidalloc_list_release(&l);
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
	n = cidalloc_check(&in, print_anomaly, NULL);
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

int cidalloc_main(int argc, char **argv)
{
	int first = xparse_options(argc, argv, usage, options, option);

	return xrun_verb(verbs, argc - first, argv + first);
}
