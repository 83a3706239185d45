/* ember-vm: VM records and the Firecracker process. */
static const char usage[] =
	"usage: ember-vm [OPTION...] VERB [NAME]\n"
	"\n"
	"  create NAME --kernel PATH (--rootfs PATH | --no-rootfs) [--initrd PATH]\n"
	"         [--boot-args ARGS] [--vcpus N] [--memory MIB] [--read-only]\n"
	"         [--drive ID=PATH[:ro]]... [--tap TAP --guest-ip IP --host-ip IP/PREFIX |\n"
	"         --no-net] [--mac MAC] [--mtu N] [--cid CID | --no-vsock]\n"
	"                      record a VM after checking everything; network and vsock\n"
	"                      not given come from what NAME holds (ember-tap,\n"
	"                      ember-ipalloc, ember-cidalloc); again with the same\n"
	"                      parameters: succeed and print it\n"
	"  start NAME [--timeout S]\n"
	"                      spawn Firecracker and configure it; running already: succeed\n"
	"  stop NAME [--force] [--timeout S]   stop --all [--force] [--timeout S]\n"
	"                      Ctrl-Alt-Del, then SIGKILL after the timeout; --all: every\n"
	"                      running VM at once\n"
	"  delete NAME [--force]   delete --all --force\n"
	"                      remove the record and vms/NAME/ (a running VM: --force)\n"
	"  list [--state STATE]    every VM (of one state)\n"
	"  show NAME           one VM, with its sockets, boot args, drives and what\n"
	"                      Firecracker says\n"
	"  hosts               'IP NAME' per running VM with an address (dnsmasq --addn-hosts)\n"
	"\n"
	"options:\n"
	"      --kernel PATH       create: the kernel (a readable regular file)\n"
	"      --rootfs PATH       create: the root drive (a readable file or block device)\n"
	"      --no-rootfs         create: no root drive\n"
	"      --read-only         create: the root drive is read-only\n"
	"      --initrd PATH       create: an initrd\n"
	"      --boot-args ARGS    create: instead of 'console=ttyS0 reboot=k panic=1\n"
	"                          pci=off'; ip=... is appended with a network unless\n"
	"                          ARGS hold ip=\n"
	"      --vcpus N           create: 1-32 (default 1)\n"
	"      --memory MIB        create: at least 128 (default 128)\n"
	"      --drive ID=PATH[:ro]  create: an extra drive (ID: letters, digits, '_'; up to 16)\n"
	"      --tap TAP           create: the host's TAP (with --guest-ip and --host-ip)\n"
	"      --guest-ip IP       create: the guest's address\n"
	"      --host-ip IP/PREFIX create: the host's address on the TAP, and the prefix\n"
	"      --no-net            create: no network, even if NAME holds a TAP\n"
	"      --mac MAC           create: the guest's MAC (default 06:00 + the guest address)\n"
	"      --mtu N             create: the MTU advertised to the guest, 68-65535\n"
	"      --cid CID           create: the guest's vsock CID, 3-4294967294\n"
	"      --no-vsock          create: no vsock, even if NAME holds a CID\n"
	"      --timeout S         start: for the socket and each request (default 5);\n"
	"                          stop: for the exit after Ctrl-Alt-Del (default 10)\n"
	"      --wait S            start: not yet (needs the guest agent)\n"
	"      --force             stop: SIGKILL at once; delete: stop a running VM first\n"
	"      --all               stop, delete: every VM of this installation\n"
	"      --state STATE       list: created, starting, running, stopped or failed\n"
	"      --state-dir DIR     state directory (default $EMBER_STATE_DIR, else /var/lib/ember)\n"
	"  -j, --json              print JSON\n"
	"  -q, --quiet             print no result and no warnings\n"
	"  -v, --verbose           print each command run, and each API request and answer\n"
	"  -h, --help              print this help\n"
	"      --version           print the version\n"
	"\n"
	"output:\n"
	"  create, start, stop, list: one line per VM (JSON: an object; list, stop --all:\n"
	"    an array): name state alive pid vcpus memory tap guest_ip cid rootfs reason\n"
	"    (reason, last, may hold blanks)\n"
	"  show: one 'key value' line per field (JSON: an object): the same, then kernel\n"
	"    initrd boot_args read_only drives mac host_ip mtu api_sock vsock_uds\n"
	"    started fc_state fc_id\n"
	"  delete: name deleted   hosts: ip name\n"
	"\n"
	"exit codes:\n"
	"  0 ok   1 no such VM   100 usage or bad input (also what Firecracker refuses)\n"
	"  101 corrupt state   102 refused (exists with other parameters; running; a\n"
	"  process answers on its socket)   111 system failure, Firecracker failing or\n"
	"  not answering (retry may work)\n";

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "vm.h"

/* Which verbs take an option: one table, so each option's verbs are said once. */
enum verb_bit {
	V_CREATE = 1 << 0,
	V_START = 1 << 1,
	V_STOP = 1 << 2,
	V_DELETE = 1 << 3,
	V_LIST = 1 << 4,
};

enum {
	OPT_KERNEL = OPT_APPLET,
	OPT_ROOTFS,
	OPT_NO_ROOTFS,
	OPT_READ_ONLY,
	OPT_INITRD,
	OPT_BOOT_ARGS,
	OPT_VCPUS,
	OPT_MEMORY,
	OPT_DRIVE,
	OPT_TAP,
	OPT_GUEST_IP,
	OPT_HOST_IP,
	OPT_NO_NET,
	OPT_MAC,
	OPT_MTU,
	OPT_CID,
	OPT_NO_VSOCK,
	OPT_TIMEOUT,
	OPT_WAIT,
	OPT_FORCE,
	OPT_ALL,
	OPT_STATE,
	OPT_END,
};

static const struct {
	struct option opt;
	unsigned verbs;
} vm_options[] = {
	{{"kernel", required_argument, NULL, OPT_KERNEL}, V_CREATE},
	{{"rootfs", required_argument, NULL, OPT_ROOTFS}, V_CREATE},
	{{"no-rootfs", no_argument, NULL, OPT_NO_ROOTFS}, V_CREATE},
	{{"read-only", no_argument, NULL, OPT_READ_ONLY}, V_CREATE},
	{{"initrd", required_argument, NULL, OPT_INITRD}, V_CREATE},
	{{"boot-args", required_argument, NULL, OPT_BOOT_ARGS}, V_CREATE},
	{{"vcpus", required_argument, NULL, OPT_VCPUS}, V_CREATE},
	{{"memory", required_argument, NULL, OPT_MEMORY}, V_CREATE},
	{{"drive", required_argument, NULL, OPT_DRIVE}, V_CREATE},
	{{"tap", required_argument, NULL, OPT_TAP}, V_CREATE},
	{{"guest-ip", required_argument, NULL, OPT_GUEST_IP}, V_CREATE},
	{{"host-ip", required_argument, NULL, OPT_HOST_IP}, V_CREATE},
	{{"no-net", no_argument, NULL, OPT_NO_NET}, V_CREATE},
	{{"mac", required_argument, NULL, OPT_MAC}, V_CREATE},
	{{"mtu", required_argument, NULL, OPT_MTU}, V_CREATE},
	{{"cid", required_argument, NULL, OPT_CID}, V_CREATE},
	{{"no-vsock", no_argument, NULL, OPT_NO_VSOCK}, V_CREATE},
	{{"timeout", required_argument, NULL, OPT_TIMEOUT}, V_START | V_STOP},
	{{"wait", required_argument, NULL, OPT_WAIT}, V_START},
	{{"force", no_argument, NULL, OPT_FORCE}, V_STOP | V_DELETE},
	{{"all", no_argument, NULL, OPT_ALL}, V_STOP | V_DELETE},
	{{"state", required_argument, NULL, OPT_STATE}, V_LIST},
};

#define N_OPTIONS (sizeof(vm_options) / sizeof(vm_options[0]))

static struct vm_request req;
static const char *timeout_arg, *wait_arg, *state_arg;
static int force, all;
static const char *given[OPT_END - OPT_APPLET]; /* the option's name, once given */

static void option(int key, const char *arg)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (vm_options[i].opt.val == key)
			given[key - OPT_APPLET] = vm_options[i].opt.name;
	switch (key) {
	case OPT_KERNEL: req.kernel = arg; break;
	case OPT_ROOTFS: req.rootfs = arg; break;
	case OPT_NO_ROOTFS: req.no_rootfs = 1; break;
	case OPT_READ_ONLY: req.read_only = 1; break;
	case OPT_INITRD: req.initrd = arg; break;
	case OPT_BOOT_ARGS: req.boot_args = arg; break;
	case OPT_VCPUS: req.vcpus = arg; break;
	case OPT_MEMORY: req.memory = arg; break;
	case OPT_DRIVE:
		if (req.n_drives <= VM_DRIVES_MAX)
			req.drives[req.n_drives++] = arg;
		break;
	case OPT_TAP: req.tap = arg; break;
	case OPT_GUEST_IP: req.guest_ip = arg; break;
	case OPT_HOST_IP: req.host_ip = arg; break;
	case OPT_NO_NET: req.no_net = 1; break;
	case OPT_MAC: req.mac = arg; break;
	case OPT_MTU: req.mtu = arg; break;
	case OPT_CID: req.cid = arg; break;
	case OPT_NO_VSOCK: req.no_vsock = 1; break;
	case OPT_TIMEOUT: timeout_arg = arg; break;
	case OPT_WAIT: wait_arg = arg; break;
	case OPT_FORCE: force = 1; break;
	case OPT_ALL: all = 1; break;
	case OPT_STATE: state_arg = arg; break;
	}
}

/* An option given to a verb that does not take it: 100, naming its verbs. */
static void check_options(const char *verb)
{
	static const char *const names[] = {"create", "start", "stop", "delete", "list"};
	unsigned bit = 0;
	size_t i, k;
	char verbs[64];

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strcmp(verb, names[k]) == 0)
			bit = 1u << k;
	for (i = 0; i < N_OPTIONS; i++) {
		if (!given[vm_options[i].opt.val - OPT_APPLET] || (vm_options[i].verbs & bit))
			continue;
		verbs[0] = '\0';
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (vm_options[i].verbs & (1u << k))
				snprintf(verbs + strlen(verbs), sizeof(verbs) - strlen(verbs), "%s'%s'",
					 verbs[0] ? " and " : "", names[k]);
		xusage("--%s goes with %s", vm_options[i].opt.name, verbs);
	}
}

/* --timeout S: seconds (a fraction allowed), more than 0, at most a day. */
static int timeout_ms(void)
{
	char *end;
	double s;

	if (!timeout_arg)
		return 0;
	s = strtod(timeout_arg, &end);
	if (end == timeout_arg || *end || !(s > 0) || s > 86400)
		xusage("--timeout '%s' is not a number of seconds (more than 0, at most 86400)",
		       timeout_arg);
	return s * 1000 < 1 ? 1 : (int)(s * 1000);
}

/* The reason as a line can carry it: control characters become blanks. */
static const char *reason_of(const struct vm *v, char *buf, size_t n)
{
	const char *r = v->why ? v->why : v->reason;
	size_t i;

	if (!r)
		return NULL;
	snprintf(buf, n, "%s", r);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < ' ')
			buf[i] = ' ';
	return buf;
}

static void fields(const struct vm *v)
{
	char reason[1024];

	out_str(&out, "name", v->name);
	out_str(&out, "state", vm_state_name(v->state));
	out_bool(&out, "alive", v->alive);
	if (v->alive)
		out_int(&out, "pid", v->pid);
	else
		out_str(&out, "pid", NULL);
	out_int(&out, "vcpus", v->vcpus);
	out_int(&out, "memory", v->memory);
	out_str(&out, "tap", v->tap[0] ? v->tap : NULL);
	out_str(&out, "guest_ip", v->guest_ip[0] ? v->guest_ip : NULL);
	if (v->cid)
		out_int(&out, "cid", v->cid);
	else
		out_str(&out, "cid", NULL);
	out_str(&out, "rootfs", v->rootfs);
	out_str(&out, "reason", reason_of(v, reason, sizeof(reason)));
}

static void print_vm(const struct vm *v)
{
	out_record_begin(&out);
	fields(v);
	out_record_end(&out);
}

static void print_show(const struct vm *v)
{
	char *drives[VM_DRIVES_MAX], started[32];
	struct tm tm;
	time_t t = (time_t)v->started;
	int i;

	out_record_vertical(&out);
	fields(v);
	out_str(&out, "kernel", v->kernel);
	out_str(&out, "initrd", v->initrd);
	out_str(&out, "boot_args", v->boot_args);
	out_bool(&out, "read_only", v->read_only);
	for (i = 0; i < v->n_drives; i++)
		if (asprintf(&drives[i], "%s=%s%s", v->drives[i].id, v->drives[i].path,
			     v->drives[i].read_only ? ":ro" : "") < 0)
			drives[i] = NULL;
	out_strv(&out, "drives", (const char *const *)drives, v->n_drives);
	for (i = 0; i < v->n_drives; i++)
		free(drives[i]);
	out_str(&out, "mac", v->mac[0] ? v->mac : NULL);
	out_str(&out, "host_ip", v->host_ip[0] ? v->host_ip : NULL);
	if (v->mtu)
		out_int(&out, "mtu", v->mtu);
	else
		out_str(&out, "mtu", NULL);
	out_str(&out, "api_sock", v->api_sock);
	out_str(&out, "vsock_uds", v->vsock_uds[0] ? v->vsock_uds : NULL);
	started[0] = '\0';
	if (v->started > 0 && gmtime_r(&t, &tm))
		strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out_str(&out, "started", started[0] ? started : NULL);
	out_str(&out, "fc_state", v->fc_state[0] ? v->fc_state : NULL);
	out_str(&out, "fc_id", v->fc_id[0] ? v->fc_id : NULL);
	out_record_end(&out);
}

static int do_create(int argc, char **argv)
{
	struct install in;
	struct vm v;
	int created;

	(void)argc;
	xname("VM name", argv[1]);
	xinstall_load(&in);
	if (vm_create(&in, argv[1], &req, &v, &created) < 0) {
		install_release(&in);
		xdie(0);
	}
	install_release(&in);
	print_vm(&v);
	vm_release(&v);
	return finish(0);
}

static int do_start(int argc, char **argv)
{
	struct vm_start_opts o = {.timeout_ms = timeout_ms(), .verbose = common.verbose};
	struct install in;
	struct vm v;
	int rc;

	(void)argc;
	xname("VM name", argv[1]);
	if (wait_arg)
		xusage("--wait needs the guest agent, which this ember-vm cannot reach yet");
	xinstall_load(&in);
	rc = vm_start(&in, argv[1], &o, &v);
	install_release(&in);
	if (common.verbose && o.own_ms > 0)
		fprintf(stderr, "%s: start of '%s': %.2f ms waiting for Firecracker, %.2f ms of its own\n",
			progname, argv[1], o.waited_ms, o.own_ms);
	if (rc < 0) {
		vm_release(&v);
		xdie(0);
	}
	print_vm(&v);
	vm_release(&v);
	return finish(0);
}

struct stopped {
	int failed;
};

static void stopped_one(const struct vm *v, int err, void *ctx)
{
	struct stopped *s = ctx;

	if (err) {
		fprintf(stderr, "%s: %s\n", progname, error_message());
		s->failed = 1;
		return;
	}
	print_vm(v);
}

static int do_stop(int argc, char **argv)
{
	struct vm_stop_opts o = {.force = force, .timeout_ms = timeout_ms(),
				 .verbose = common.verbose};
	struct stopped s = {0};
	struct install in;
	struct vm v;
	int rc;

	if ((argc > 1) == all)
		xusage("stop needs a NAME or --all");
	if (!all)
		xname("VM name", argv[1]);
	xinstall_load(&in);
	if (all) {
		out_list_begin(&out);
		rc = vm_stop_all(&in, &o, stopped_one, &s);
		install_release(&in);
		if (rc < 0)
			xdie(0);
		out_list_end(&out);
		return finish(rc > 0 ? EXIT_TEMP : 0);
	}
	rc = vm_stop(&in, argv[1], &o, &v);
	install_release(&in);
	if (rc < 0) {
		vm_release(&v);
		xdie(0);
	}
	print_vm(&v);
	vm_release(&v);
	return finish(0);
}

static void print_deleted(const char *name, int deleted)
{
	out_record_begin(&out);
	out_str(&out, "name", name);
	out_bool(&out, "deleted", deleted);
	out_record_end(&out);
}

static int do_delete(int argc, char **argv)
{
	struct vm_records l;
	struct install in;
	struct vm v;
	int i, deleted, failed = 0;

	if ((argc > 1) == all)
		xusage("delete needs a NAME or --all");
	if (all && !force)
		xusage("delete --all needs --force");
	if (!all)
		xname("VM name", argv[1]);
	xinstall_load(&in);
	if (!all) {
		if (vm_delete(&in, argv[1], force, &v, &deleted) < 0) {
			install_release(&in);
			xdie(0);
		}
		print_deleted(argv[1], deleted);
		vm_release(&v);
		install_release(&in);
		return finish(0);
	}
	if (vm_list(&in, -1, &l) < 0) {
		install_release(&in);
		xdie(0);
	}
	out_list_begin(&out);
	for (i = 0; i < l.n; i++) {
		if (vm_delete(&in, l.v[i].name, 1, &v, &deleted) < 0) {
			fprintf(stderr, "%s: %s\n", progname, error_message());
			failed = 1;
		} else {
			print_deleted(l.v[i].name, deleted);
		}
		vm_release(&v);
	}
	out_list_end(&out);
	vm_records_release(&l);
	install_release(&in);
	return finish(failed ? EXIT_TEMP : 0);
}

static int do_list(int argc, char **argv)
{
	enum vm_state st = VM_STATES;
	struct vm_records l;
	struct install in;
	int i;

	(void)argc;
	(void)argv;
	if (state_arg && vm_parse_state(state_arg, &st) < 0)
		xdie(0);
	xinstall_load(&in);
	if (vm_list(&in, state_arg ? (int)st : -1, &l) < 0) {
		install_release(&in);
		xdie(0);
	}
	install_release(&in);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++)
		print_vm(&l.v[i]);
	out_list_end(&out);
	vm_records_release(&l);
	return finish(0);
}

static int do_show(int argc, char **argv)
{
	struct install in;
	struct vm v;
	int r;

	(void)argc;
	xname("VM name", argv[1]);
	xinstall_load(&in);
	r = vm_show(&in, argv[1], 1, &v);
	install_release(&in);
	if (r < 0)
		xdie(0);
	if (r == 0) {
		error_code(EXIT_NO, "no VM '%s'", argv[1]);
		xdie(0);
	}
	print_show(&v);
	vm_release(&v);
	return finish(0);
}

static int do_hosts(int argc, char **argv)
{
	struct vm_records l;
	struct install in;
	int i;

	(void)argc;
	(void)argv;
	xinstall_load(&in);
	if (vm_list(&in, VM_RUNNING, &l) < 0) {
		install_release(&in);
		xdie(0);
	}
	install_release(&in);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++) {
		if (!l.v[i].alive || !l.v[i].guest_ip[0])
			continue;
		out_record_begin(&out);
		out_str(&out, "ip", l.v[i].guest_ip);
		out_str(&out, "name", l.v[i].name);
		out_record_end(&out);
	}
	out_list_end(&out);
	vm_records_release(&l);
	return finish(0);
}

static const struct verb verbs[] = {
	{"create", do_create, 1, 1},
	{"start", do_start, 1, 1},
	{"stop", do_stop, 0, 1},
	{"delete", do_delete, 0, 1},
	{"list", do_list, 0, 0},
	{"show", do_show, 1, 1},
	{"hosts", do_hosts, 0, 0},
	{0},
};

int vm_main(int argc, char **argv)
{
	struct option options[N_OPTIONS + 1];
	size_t i;
	int first;

	for (i = 0; i < N_OPTIONS; i++)
		options[i] = vm_options[i].opt;
	memset(&options[N_OPTIONS], 0, sizeof(options[0]));
	first = xparse_options(argc, argv, usage, options, option);
	check_options(first < argc ? argv[first] : "");
	return xrun_verb(verbs, argc - first, argv + first);
}
