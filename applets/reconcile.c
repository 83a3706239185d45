/* ember-reconcile: one pass over every kind of object of the installation,
 * from cron or a systemd timer, that repairs drift and never makes it
 * worse. Its command table (verbs, options, help) is below; --help is
 * rendered from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "lock.h"
#include "reconcile.h"

static const char *dry_run, *grace, *only[RK_KINDS], *skip[RK_KINDS];
static int n_only, n_skip;

enum { O_DRY_RUN, O_GRACE, O_ONLY, O_SKIP };

static const struct opt options[] = {
    [O_DRY_RUN] = {"dry-run", NULL, "run: print the plan, change nothing (the same as show-plan)", &dry_run, 0,
		   NULL},
    [O_GRACE] = {"grace", "SECONDS",
		 "sweep only objects created at least SECONDS ago (default 600,\n"
		 "so that an ember-up in flight is never raced); 0: all",
		 &grace, 0, NULL},
    [O_ONLY] = {"only", "KIND", "look only at KIND (repeatable): vm, firecracker, tap, nat,\nvolume, thin, address, cid, vmdir, hosts", only, RK_KINDS, &n_only},
    [O_SKIP] = {"skip", "KIND", "leave KIND alone (repeatable)", skip, RK_KINDS, &n_skip},
};

/* Each action as it is taken: one record, and on failure why on stderr. */
static void report(const struct reconcile_action *a, void *ctx)
{
	(void)ctx;
	out_record_begin(&out);
	out_str(&out, "kind", reconcile_kind_name(a->kind));
	out_str(&out, "owner", a->owner);
	out_str(&out, "object", a->object);
	out_str(&out, "action", a->action);
	out_str(&out, "result", a->result);
	if (out.json)
		out_str(&out, "error", a->error);
	out_record_end(&out);
	if (a->error)
		warn("%s %s %s: %s", reconcile_kind_name(a->kind), a->owner ? a->owner : "-", a->action, a->error);
}

static void summary(const struct reconcile_summary *s)
{
	int i, n = 0;

	for (i = 0; i < RK_KINDS; i++)
		n += s->count[i];
	if (!out.json)
		return;
	out_record_begin(&out);
	out_str(&out, "kind", "summary");
	out_int(&out, "actions", n);
	out_int(&out, "failed", s->failed);
	out_int(&out, "young", s->young);
	out_int(&out, "faulty", s->faulty);
	out_int(&out, "duration_ms", (long long)(s->duration_ms + 0.5));
	for (i = 0; i < RK_KINDS; i++)
		out_int(&out, reconcile_kind_name(i), s->count[i]);
	out_record_end(&out);
}

static void parse(struct reconcile_opts *o, int dry)
{
	char *end;
	int i, k;

	memset(o, 0, sizeof(*o));
	o->dry_run = dry || dry_run;
	o->grace = RECONCILE_GRACE_DEFAULT;
	if (grace) {
		o->grace = strtoll(grace, &end, 10);
		if (!*grace || *end || grace[0] == '-' || o->grace > 100LL * 365 * 86400)
			xusage("--grace needs a number of seconds, not %s", quote(grace));
	}
	o->kinds = n_only ? 0 : (1u << RK_KINDS) - 1;
	for (i = 0; i < n_only; i++) {
		if ((k = reconcile_parse_kind(only[i])) < 0)
			xdie(0);
		o->kinds |= 1u << k;
	}
	for (i = 0; i < n_skip; i++) {
		if ((k = reconcile_parse_kind(skip[i])) < 0)
			xdie(0);
		o->kinds &= ~(1u << k);
	}
}

static int pass(struct install *in, int dry)
{
	struct reconcile_opts o;
	struct reconcile_summary s;
	int lock, rc;

	parse(&o, dry);
	lock = reconcile_lock(in);
	if (lock == -2) {
		if (!common.quiet)
			fprintf(stderr, "%s: another pass is running in %s: nothing to do\n", progname, quote(in->dir));
		return 0;
	}
	if (lock < 0)
		xdie(0);
	out_list_begin(&out);
	rc = reconcile_run(in, &o, report, NULL, &s);
	lock_release(lock);
	if (rc < 0)
		xdie(0);
	summary(&s);
	out_list_end(&out);
	if (s.faulty)
		warn("%d thin id%s quarantined as faulty: see 'ember-pool list'", s.faulty, s.faulty == 1 ? "" : "s");
	if (s.failed) {
		if (!common.quiet)
			fprintf(stderr, "%s: %d action%s failed: run it again\n", progname, s.failed,
				s.failed == 1 ? "" : "s");
		return finish(EXIT_TEMP);
	}
	return 0;
}

static int do_run(struct install *in, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return pass(in, 0);
}

static int do_show_plan(struct install *in, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return pass(in, 1);
}

static const struct verb verbs[] = {
    {.name = "run", .operands = "", .opts = OPT(O_DRY_RUN) | OPT(O_GRACE) | OPT(O_ONLY) | OPT(O_SKIP),
     .flags = V_INSTALL | V_TABLES | V_CHANGE, .run = do_run,
     .help = "one pass (the verb when none is given): phase 1 the VMs,\n"
	     "phase 2 the sweep; one line per action"},
    {.name = "show-plan", .operands = "", .opts = OPT(O_GRACE) | OPT(O_ONLY) | OPT(O_SKIP),
     .flags = V_INSTALL | V_CHANGE, .run = do_show_plan, .help = "print what run would do (run --dry-run)"},
    {0},
};

static const struct applet applet = {
    verbs, options, ARRAY_SIZE(options), "print each external command on stderr",
    "\nkinds, in the order of a pass:\n"
    "  vm           a VM recorded running whose process is gone: its runtime torn\n"
    "               down (tap, nat, volume), sockets and handles removed, marked stopped\n"
    "  firecracker  a live Firecracker on this installation's API socket that no\n"
    "               running record owns: killed, its sockets removed\n"
    "  tap, nat     TAPs and rules of owners with no running VM: torn down\n"
    "  volume       active volumes of owners with no running VM: deactivated\n"
    "  thin         thin ids left creating or deleting: ember-pool's recovery\n"
    "  address, cid allocations of owners with no VM record: released\n"
    "  vmdir        vms/<name>/ with no VM record: removed\n"
    "  hosts        the hosts file (state directory) rewritten from the running VMs\n",
    "\n"
    "output:\n"
    "  one line per action, in the order taken: kind owner object action result\n"
    "  (result: ok, failed, skipped when no longer due, planned with --dry-run);\n"
    "  JSON: an array of objects with those keys (and error), the last one the\n"
    "  summary: kind \"summary\", actions, failed, young, faulty, duration_ms and a\n"
    "  count per kind. A converged installation: nothing ([] and the summary)\n"
    "\n"
    "exit codes:\n"
    "  0 converged (nothing to do, or all done; also when another pass holds\n"
    "  locks/reconcile)   100 usage   101 corrupt config or state (nothing changed)\n"
    "  102 the installation is being torn down   111 an action failed (retry)\n",
};

/* "ember-reconcile [OPTION...]" is "ember-reconcile run [OPTION...]". */
static int has_verb(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return i + 1 < argc;
		if (a[0] != '-' || !a[1])
			return 1;
		if (strcmp(a, "--state-dir") == 0 || strcmp(a, "--grace") == 0 || strcmp(a, "--only") == 0 ||
		    strcmp(a, "--skip") == 0)
			i++;
	}
	return 0;
}

int reconcile_main(int argc, char **argv)
{
	char **args;
	int i, rc;

	if (has_verb(argc, argv))
		return xrun(&applet, argc, argv);
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args) {
		fprintf(stderr, "%s: out of memory\n", progname);
		return EXIT_TEMP;
	}
	args[0] = argv[0];
	args[1] = "run";
	for (i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	rc = xrun(&applet, argc + 1, args);
	free(args);
	return rc;
}
