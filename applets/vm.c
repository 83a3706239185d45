/* ember-vm: VM records and the Firecracker process. Its command table
 * (verbs, options, help) is below; --help is rendered from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "lock.h"
#include "subsys.h"
#include "vm.h"
#include "vm_agent_verbs.h"

static struct vm_request req;
static const char *no_rootfs, *read_only, *no_net, *no_vsock;
static const char *timeout_arg, *wait_arg, *state_arg, *force, *all, *write_arg;

enum {
	O_KERNEL, O_ROOTFS, O_NO_ROOTFS, O_READ_ONLY, O_INITRD, O_BOOT_ARGS, O_VCPUS, O_MEMORY,
	O_DRIVE, O_TAP, O_GUEST_IP, O_HOST_IP, O_NO_NET, O_MAC, O_MTU, O_CID, O_NO_VSOCK,
	O_TIMEOUT, O_WAIT, O_FORCE, O_ALL, O_STATE, O_WRITE,
	O_ENV, O_CWD, O_STDIN, /* exec (applets/vm_agent_verbs.c) */
};

static const struct opt options[] = {
    [O_KERNEL] = {"kernel", "PATH", "create: the kernel (a readable regular file)", &req.kernel, 0, NULL},
    [O_ROOTFS] = {"rootfs", "PATH", "create: the root drive (a readable file or block device)", &req.rootfs, 0, NULL},
    [O_NO_ROOTFS] = {"no-rootfs", NULL, "create: no root drive", &no_rootfs, 0, NULL},
    [O_READ_ONLY] = {"read-only", NULL, "create: the root drive is read-only", &read_only, 0, NULL},
    [O_INITRD] = {"initrd", "PATH", "create: an initrd", &req.initrd, 0, NULL},
    [O_BOOT_ARGS] = {"boot-args", "ARGS",
		     "create: instead of 'console=ttyS0 reboot=k panic=1 pci=off';\n"
		     "with a network ip=... is appended unless ARGS hold ip=",
		     &req.boot_args, 0, NULL},
    [O_VCPUS] = {"vcpus", "N", "create: 1-32 (default 1)", &req.vcpus, 0, NULL},
    [O_MEMORY] = {"memory", "MIB", "create: at least 128 (default 128)", &req.memory, 0, NULL},
    [O_DRIVE] = {"drive", "ID=PATH[:ro]",
		 "create: an extra drive (ID: letters, digits, '_'), up to 16", req.drives,
		 VM_DRIVES_MAX, &req.n_drives},
    [O_TAP] = {"tap", "TAP", "create: the host's TAP (with --guest-ip and --host-ip)", &req.tap, 0, NULL},
    [O_GUEST_IP] = {"guest-ip", "IP", "create: the guest's address", &req.guest_ip, 0, NULL},
    [O_HOST_IP] = {"host-ip", "IP/PREFIX", "create: the host's address on the TAP, and the prefix",
		   &req.host_ip, 0, NULL},
    [O_NO_NET] = {"no-net", NULL, "create: no network, even if NAME holds a TAP", &no_net, 0, NULL},
    [O_MAC] = {"mac", "MAC", "create: the guest's MAC (default 06:00 + the guest address)", &req.mac, 0, NULL},
    [O_MTU] = {"mtu", "N", "create: the MTU advertised to the guest, 68-65535", &req.mtu, 0, NULL},
    [O_CID] = {"cid", "CID", "create: the guest's vsock CID, 3-4294967294", &req.cid, 0, NULL},
    [O_NO_VSOCK] = {"no-vsock", NULL, "create: no vsock, even if NAME holds a CID", &no_vsock, 0, NULL},
    [O_TIMEOUT] = {"timeout", "S",
		   "start: for the socket and each request (default 5);\n"
		   "stop: for the exit after Ctrl-Alt-Del (default 10);\n"
		   "exec: the command's (then SIGTERM to its group, 2 s,\n"
		   "SIGKILL; exit 124); wait: for the agent (default 30)",
		   &timeout_arg, 0, NULL},
    [O_WAIT] = {"wait", "S", "start: then wait up to S seconds for the agent's ping", &wait_arg, 0, NULL},
    [O_FORCE] = {"force", NULL, "stop: SIGKILL at once; delete: stop a running VM first", &force, 0, NULL},
    [O_ALL] = {"all", NULL, "stop, delete: every VM of this installation", &all, 0, NULL},
    [O_STATE] = {"state", "STATE", "list: created, starting, running, stopped or failed", &state_arg, 0, NULL},
    [O_WRITE] = {"write", NULL, "hosts: also replace STATE/hosts with them (under locks/hosts)", &write_arg, 0, NULL},
    [O_ENV] = {"env", "K=V", "exec: set K in the command's environment (repeatable)", vm_exec_env,
	       VM_EXEC_ENV_MAX, &vm_exec_n_env},
    [O_CWD] = {"cwd", "DIR", "exec: the command's working directory in the guest", &vm_exec_cwd, 0, NULL},
    [O_STDIN] = {"stdin", NULL, "exec (also -i): forward stdin to the command, binary-safe", &vm_exec_stdin, 0,
		 NULL},
};

/* WHAT (--timeout, --wait) S: seconds (a fraction allowed), more than 0, at
 * most a day; not given: 0. */
int vm_timeout_ms(const char *what, const char *arg)
{
	char *end;
	double s;

	if (!arg)
		return 0;
	s = strtod(arg, &end);
	if (end == arg || *end || !(s > 0) || s > 86400)
		xusage("%s '%s' is not a number of seconds (more than 0, at most 86400)", what, arg);
	return s * 1000 < 1 ? 1 : (int)(s * 1000);
}

static int timeout_ms(void)
{
	return vm_timeout_ms("--timeout", timeout_arg);
}

const char *vm_timeout_arg(void)
{
	return timeout_arg;
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

static int do_create(struct install *in, int argc, char **argv)
{
	struct vm v;
	int created;

	(void)argc;
	req.no_rootfs = no_rootfs != NULL;
	req.read_only = read_only != NULL;
	req.no_net = no_net != NULL;
	req.no_vsock = no_vsock != NULL;
	if (vm_create(in, argv[0], &req, &v, &created) < 0)
		xdie(0);
	print_vm(&v);
	vm_release(&v);
	return 0;
}

static int do_start(struct install *in, int argc, char **argv)
{
	struct vm_start_opts o = {.timeout_ms = timeout_ms(), .verbose = common.verbose};
	struct vm v;
	int rc;

	(void)argc;
	vm_timeout_ms("--wait", wait_arg); /* a bad value refused before the start */
	rc = vm_start(in, argv[0], &o, &v);
	if (common.verbose && o.own_ms > 0)
		fprintf(stderr, "%s: start of '%s': %.2f ms waiting for Firecracker, %.2f ms of its own\n",
			progname, argv[0], o.waited_ms, o.own_ms);
	if (rc < 0) {
		vm_release(&v);
		xdie(0);
	}
	vm_start_wait(in, argv[0], wait_arg);
	print_vm(&v);
	vm_release(&v);
	return 0;
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

static int do_stop(struct install *in, int argc, char **argv)
{
	struct vm_stop_opts o = {.force = force != NULL, .timeout_ms = timeout_ms(),
				 .verbose = common.verbose};
	struct stopped s = {0};
	struct vm v;
	int rc;

	if ((argc > 0) == (all != NULL))
		xusage("stop needs a NAME or --all");
	if (all) {
		out_list_begin(&out);
		rc = vm_stop_all(in, &o, stopped_one, &s);
		if (rc < 0)
			xdie(0);
		out_list_end(&out);
		return rc > 0 ? EXIT_TEMP : 0;
	}
	rc = vm_stop(in, argv[0], &o, &v);
	if (rc < 0) {
		vm_release(&v);
		xdie(0);
	}
	print_vm(&v);
	vm_release(&v);
	return 0;
}

static void print_deleted(const char *name, int deleted)
{
	out_record_begin(&out);
	out_str(&out, "name", name);
	out_bool(&out, "deleted", deleted);
	out_record_end(&out);
}

static int do_delete(struct install *in, int argc, char **argv)
{
	struct vm_records l;
	struct vm v;
	int i, deleted, failed = 0;

	if ((argc > 0) == (all != NULL))
		xusage("delete needs a NAME or --all");
	if (all && !force)
		xusage("delete --all needs --force");
	if (!all) {
		if (vm_delete(in, argv[0], force != NULL, &v, &deleted) < 0)
			xdie(0);
		print_deleted(argv[0], deleted);
		vm_release(&v);
		return 0;
	}
	if (vm_list(in, -1, &l) < 0)
		xdie(0);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++) {
		if (vm_delete(in, l.v[i].name, 1, &v, &deleted) < 0) {
			fprintf(stderr, "%s: %s\n", progname, error_message());
			failed = 1;
		} else {
			print_deleted(l.v[i].name, deleted);
		}
		vm_release(&v);
	}
	out_list_end(&out);
	vm_records_release(&l);
	return failed ? EXIT_TEMP : 0;
}

static int do_list(struct install *in, int argc, char **argv)
{
	enum vm_state st = VM_STATES;
	struct vm_records l;
	int i;

	(void)argc;
	(void)argv;
	if (state_arg && vm_parse_state(state_arg, &st) < 0)
		xdie(0);
	if (vm_list(in, state_arg ? (int)st : -1, &l) < 0)
		xdie(0);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++)
		print_vm(&l.v[i]);
	out_list_end(&out);
	vm_records_release(&l);
	return 0;
}

static int do_show(struct install *in, int argc, char **argv)
{
	struct vm v;
	int r;

	(void)argc;
	r = vm_show(in, argv[0], 1, &v);
	if (r < 0)
		xdie(0);
	if (r == 0)
		return not_found("no VM '%s'", argv[0]);
	print_show(&v);
	vm_release(&v);
	return 0;
}

static int do_hosts(struct install *in, int argc, char **argv)
{
	struct vm_records l;
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int i, lock = -1;

	(void)argc;
	(void)argv;
	/* --write changes the installation: not once deinit has begun */
	if (write_arg && (lock = subsys_enter(in)) < 0)
		xdie(0);
	if (write_arg && !(f = open_memstream(&text, &len))) {
		error_errno("unable to write the hosts file");
		xdie(0);
	}
	if (vm_list(in, VM_RUNNING, &l) < 0)
		xdie(0);
	out_list_begin(&out);
	for (i = 0; i < l.n; i++) {
		if (!l.v[i].alive || !l.v[i].guest_ip[0])
			continue;
		out_record_begin(&out);
		out_str(&out, "ip", l.v[i].guest_ip);
		out_str(&out, "name", l.v[i].name);
		out_record_end(&out);
		if (f)
			fprintf(f, "%s %s\n", l.v[i].guest_ip, l.v[i].name);
	}
	vm_records_release(&l);
	if (f) {
		if (fclose(f) != 0) {
			error_errno("unable to write the hosts file");
			xdie(0);
		}
		if (vm_hosts_write(in, text) < 0) {
			free(text);
			xdie(0);
		}
		free(text);
	}
	out_list_end(&out);
	lock_release(lock);
	return 0;
}

static const struct verb verbs[] = {
    {.name = "create", .operands = "NAME",
     .opts = OPT(O_KERNEL) | OPT(O_ROOTFS) | OPT(O_NO_ROOTFS) | OPT(O_READ_ONLY) | OPT(O_INITRD) |
	     OPT(O_BOOT_ARGS) | OPT(O_VCPUS) | OPT(O_MEMORY) | OPT(O_DRIVE) | OPT(O_TAP) |
	     OPT(O_GUEST_IP) | OPT(O_HOST_IP) | OPT(O_NO_NET) | OPT(O_MAC) | OPT(O_MTU) | OPT(O_CID) |
	     OPT(O_NO_VSOCK),
     .flags = V_INSTALL | V_TABLES | V_CHANGE, .run = do_create,
     .help = "record a VM after checking everything; network and vsock\n"
	     "not given come from what NAME holds (ember-tap,\n"
	     "ember-ipalloc, ember-cidalloc); again with the same\n"
	     "parameters: succeed and print it"},
    {.name = "start", .operands = "NAME", .opts = OPT(O_TIMEOUT) | OPT(O_WAIT),
     .flags = V_INSTALL | V_CHANGE, .run = do_start,
     .help = "spawn Firecracker and configure it; running already: succeed;\n"
	     "--wait S: then wait for the guest agent's ping"},
    {.name = "stop", .operands = "[NAME]", .opts = OPT(O_FORCE) | OPT(O_TIMEOUT) | OPT(O_ALL),
     .flags = V_INSTALL | V_CHANGE, .run = do_stop,
     .help = "Ctrl-Alt-Del, then SIGKILL after the timeout; --all: every\n"
	     "running VM, all at once"},
    {.name = "delete", .operands = "[NAME]", .opts = OPT(O_FORCE) | OPT(O_ALL),
     .flags = V_INSTALL | V_CHANGE, .run = do_delete,
     .help = "remove the record and vms/NAME/ (a running VM: --force);\n"
	     "--all --force: every VM"},
    {.name = "list", .operands = "", .opts = OPT(O_STATE), .flags = V_INSTALL, .run = do_list,
     .help = "every VM (of one state)"},
    {.name = "show", .operands = "NAME", .flags = V_INSTALL, .run = do_show,
     .help = "one VM, with its sockets, boot args, drives and what\n"
	     "Firecracker says (GET /)"},
    {.name = "hosts", .operands = "", .opts = OPT(O_WRITE), .flags = V_INSTALL, .run = do_hosts,
     .help = "'IP NAME' per running VM with an address (dnsmasq --addn-hosts)"},
    {.name = "exec", .operands = "NAME", .opts = OPT(O_TIMEOUT) | OPT(O_ENV) | OPT(O_CWD) | OPT(O_STDIN),
     .flags = V_INSTALL | V_REST, .run = vm_do_exec, .rest = "CMD [ARG...]",
     .heading = "the guest agent (vsock port 1024):",
     .help = "run CMD in the guest, its output streamed; exit status the\n"
	     "guest's (128+N for signal N, 124 for --timeout); -j: one\n"
	     "JSON document instead"},
    {.name = "cp", .operands = "SRC DST", .flags = V_INSTALL, .run = vm_do_cp,
     .help = "NAME:PATH LOCAL or LOCAL NAME:PATH: copy a file, atomically\n"
	     "at both ends, its mode kept"},
    {.name = "ping", .operands = "NAME", .flags = V_INSTALL, .run = vm_do_ping,
     .help = "ask the agent for its version and uptime"},
    {.name = "wait", .operands = "NAME", .opts = OPT(O_TIMEOUT), .flags = V_INSTALL, .run = vm_do_wait,
     .help = "wait for the agent to answer a ping (default 30 s)"},
    {0},
};

static const struct applet applet = {
    verbs, options, ARRAY_SIZE(options),
    "print each command run, and each API request and answer, on stderr", NULL,
    "\n"
    "output:\n"
    "  create, start, stop, list: one line per VM (JSON: an object; list, stop --all:\n"
    "    an array): name state alive pid vcpus memory tap guest_ip cid rootfs reason\n"
    "    (reason, last, may hold blanks)\n"
    "  show: one 'key value' line per field (JSON: an object): the same, then kernel\n"
    "    initrd boot_args read_only drives mac host_ip mtu api_sock vsock_uds\n"
    "    started fc_state fc_id\n"
    "  delete: name deleted   hosts: ip name\n"
    VM_AGENT_USAGE_OUTPUT
    "\n"
    "environment:\n"
    "  EMBER_FIRECRACKER   the Firecracker binary (default: firecracker on PATH)\n"
    "\n"
    "exit codes:\n"
    "  0 ok   1 no such VM   100 usage or bad input (also what Firecracker refuses)\n"
    "  101 corrupt state   102 refused (exists with other parameters; running; a\n"
    "  process answers on its socket)   111 system failure, Firecracker failing or\n"
    "  not answering (retry may work)\n"
    VM_AGENT_USAGE_CODES,
};

int vm_main(int argc, char **argv)
{
	vm_stdin_short(argc, argv);
	return xrun(&applet, argc, argv);
}
