/* ember-cidalloc: vsock guest CIDs per owner, lowest free first. Its command
 * table (verbs and help) is below; --help is rendered from it. */
#include <stdio.h>
#include <stdlib.h>

#include "cidalloc.h"
#include "common.h"

static void print_cid(const struct cidalloc *c)
{
	out_record_begin(&out);
	out_str(&out, "owner", c->owner);
	out_int(&out, "cid", c->cid);
	out_record_end(&out);
}

static int do_alloc(struct install *in, int argc, char **argv)
{
	const char *device = getenv("EMBER_VSOCK_DEVICE");
	struct cidalloc c;
	int created;

	(void)argc;
	if (cidalloc_alloc(in, argv[0], cidalloc_probe_device, (void *)(device && *device ? device : NULL), &c,
			   &created) < 0)
		xdie(0);
	print_cid(&c);
	return 0;
}

static int do_release(struct install *in, int argc, char **argv)
{
	struct cidalloc c;
	int rc;

	(void)argc;
	rc = cidalloc_release(in, argv[0], &c);
	if (rc < 0)
		xdie(0);
	if (rc == 1)
		print_cid(&c);
	return 0;
}

static int do_show(struct install *in, int argc, char **argv)
{
	struct cidalloc c;
	int rc;

	(void)argc;
	rc = cidalloc_show(in, argv[0], &c);
	if (rc < 0)
		xdie(0);
	if (rc == 0)
		return not_found("'%s' holds no CID", argv[0]);
	print_cid(&c);
	return 0;
}

static int do_list(struct install *in, int argc, char **argv)
{
	struct cidalloc_list l;
	int i;

	(void)argc;
	(void)argv;
	if (cidalloc_list(in, &l) < 0)
		xdie(0);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++)
		print_cid(&l.v[i]);
	out_list_end(&out);
	cidalloc_list_release(&l);
	return 0;
}

static int do_check(struct install *in, int argc, char **argv)
{
	int n;

	(void)argc;
	(void)argv;
	out_list_begin(&out);
	n = cidalloc_check(in, print_report, NULL);
	out_list_end(&out);
	return check_verdict(n, "anomaly", "anomalies");
}

static const struct verb verbs[] = {
	{.name = "alloc", .operands = "OWNER", .flags = V_INSTALL | V_TABLES | V_CHANGE, .run = do_alloc,
	 .help = "give OWNER the lowest free CID of 3-4294967294, skipping\n"
		 "a CID another program holds through /dev/vhost-vsock;\n"
		 "again: succeed and print the CID it holds"},
	{.name = "release", .operands = "OWNER", .flags = V_INSTALL | V_CHANGE, .run = do_release,
	 .help = "free OWNER's CID and print what it was; absent: succeed,\n"
		 "print nothing (JSON: {})"},
	{.name = "show", .operands = "OWNER", .flags = V_INSTALL, .run = do_show, .help = "print OWNER's CID"},
	{.name = "list", .operands = "", .flags = V_INSTALL, .run = do_list, .help = "every allocation, by CID"},
	{.name = "check", .operands = "", .flags = V_INSTALL, .run = do_check,
	 .help = "the invariants: no CID held twice, none outside\n"
		 "3-4294967294; one line per anomaly"},
	{0},
};

static const struct applet applet = {
	verbs, NULL, 0, "(no external commands are run)", NULL,
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
	"  111 system failure: the vsock probe failed, database busy (retry may work)\n",
};

int cidalloc_main(int argc, char **argv)
{
	return xrun(&applet, argc, argv);
}
