/* reconcile: the pass. The listings and the plan are here; each action's
 * own work is one call into the subsystem that owns the object. */
#include "reconcile.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "cidalloc.h"
#include "crash.h"
#include "dm.h"
#include "error.h"
#include "file.h"
#include "ipalloc.h"
#include "iptables.h"
#include "lock.h"
#include "name.h"
#include "nat.h"
#include "pool.h"
#include "proc.h"
#include "proc_scan.h"
#include "subsys.h"
#include "tap.h"
#include "vm.h"

/* How long a SIGKILLed Firecracker may take to be gone. */
#define KILL_WAIT_MS 5000

static const char *const kind_names[RK_KINDS] = {
    [RK_VM] = "vm",         [RK_FIRECRACKER] = "firecracker", [RK_TAP] = "tap", [RK_NAT] = "nat",
    [RK_VOLUME] = "volume", [RK_THIN] = "thin",               [RK_ADDRESS] = "address",
    [RK_CID] = "cid",       [RK_VMDIR] = "vmdir",             [RK_HOSTS] = "hosts",
};

const char *reconcile_kind_name(int kind)
{
	return kind >= 0 && kind < RK_KINDS ? kind_names[kind] : "?";
}

int reconcile_parse_kind(const char *s)
{
	int i;

	for (i = 0; i < RK_KINDS; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return error_code(EXIT_USAGE,
			  "unknown kind %s (vm, firecracker, tap, nat, volume, thin, address, cid, vmdir or hosts)",
			  quote(s));
}

int reconcile_lock(struct install *in)
{
	char path[PATH_MAX];

	if (install_path(in, path, sizeof(path), "locks") < 0 || file_mkdirs(path, 0700) < 0 ||
	    install_path(in, path, sizeof(path), "locks/reconcile") < 0)
		return -1;
	return lock_take(path, LOCK_EXCLUSIVE | LOCK_TRY);
}

/* ---- the plan ---------------------------------------------------------------- */

struct pass;

/* One action: what it is, and what it needs to be carried out. */
struct step {
	int kind;
	char owner[NAME_MAX_LEN + 1]; /* "" none */
	char *object;                 /* owned */
	const char *action;
	int (*run)(struct pass *p, struct step *s); /* 0 done, 1 no longer due, -1 */
	const struct subsystem *sub;
	pid_t pid;
	unsigned long long start_time;
	char *arg; /* owned: a reason, a path, the hosts file's text */
	char *err; /* owned: why it failed */
};

/* Owners and their creation times, sorted by owner. */
struct owned {
	char owner[NAME_MAX_LEN + 1];
	long long created; /* 0: unknown */
};

struct owners {
	struct owned *v;
	int n, cap;
};

struct pass {
	struct owners seen; /* reconcile_seen: when an object of unknown age was first seen */
	struct owners kept; /* this pass: owners of unknown age kept, and since when */
	struct install *in;
	const struct reconcile_opts *o;
	struct reconcile_summary *s;
	long long now;
	struct vm_records vms; /* by name */
	struct owners gone;    /* owners whose runtime phase 1 tears down */
	int killed_starting;   /* a recorded VM's Firecracker was killed: its runtime is now dead */
	struct step *steps;
	int n, cap;
};

static int step_add(struct pass *p, int kind, const char *owner, const char *object, const char *action,
		    int (*run)(struct pass *, struct step *), struct step **out)
{
	struct step *s;

	if (array_reserve(&p->steps, &p->cap, p->n, sizeof(*p->steps)) < 0)
		return -1;
	s = &p->steps[p->n];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->owner, sizeof(s->owner), "%s", owner ? owner : "");
	s->object = object ? strdup(object) : NULL;
	if (object && !s->object)
		return error_errno("unable to plan the pass");
	s->action = action;
	s->run = run;
	p->n++;
	if (out)
		*out = s;
	return 0;
}

static void steps_release(struct pass *p)
{
	int i;

	for (i = 0; i < p->n; i++) {
		free(p->steps[i].object);
		free(p->steps[i].arg);
		free(p->steps[i].err);
	}
	free(p->steps);
}

static int wanted(const struct pass *p, int kind)
{
	return (p->o->kinds >> kind) & 1;
}

static int cmp_owned(const void *a, const void *b)
{
	return strcmp(((const struct owned *)a)->owner, ((const struct owned *)b)->owner);
}

static int owners_add(const char *owner, int64_t created, void *ctx)
{
	struct owners *l = ctx;

	if (array_reserve(&l->v, &l->cap, l->n, sizeof(*l->v)) < 0)
		return -1;
	snprintf(l->v[l->n].owner, sizeof(l->v[l->n].owner), "%s", owner ? owner : "");
	l->v[l->n].created = created;
	l->n++;
	return 0;
}

static void owners_sort(struct owners *l)
{
	if (l->n)
		qsort(l->v, (size_t)l->n, sizeof(*l->v), cmp_owned);
}

static const struct owned *owners_find(const struct owners *l, const char *owner)
{
	struct owned key;

	if (!l->n)
		return NULL;
	snprintf(key.owner, sizeof(key.owner), "%s", owner);
	return bsearch(&key, l->v, (size_t)l->n, sizeof(*l->v), cmp_owned);
}

static int subsystem_owners(struct pass *p, const char *name, struct owners *l)
{
	int i;

	for (i = 0; i < subsystem_count; i++)
		if (strcmp(subsystems[i].name, name) == 0) {
			if (subsys_owners(p->in, &subsystems[i], owners_add, l) < 0)
				return -1;
			owners_sort(l);
			return 0;
		}
	return error("no subsystem %s", quote(name));
}

static const struct subsystem *subsystem_named(const char *name)
{
	int i;

	for (i = 0; i < subsystem_count; i++)
		if (strcmp(subsystems[i].name, name) == 0)
			return &subsystems[i];
	return NULL;
}

static int cmp_vm(const void *a, const void *b)
{
	return strcmp(((const struct vm *)a)->name, ((const struct vm *)b)->name);
}

static const struct vm *vm_find(const struct pass *p, const char *name)
{
	struct vm key;

	if (!p->vms.n)
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, p->vms.v, (size_t)p->vms.n, sizeof(*p->vms.v), cmp_vm);
}

/* The VM is recorded as running and its process is alive. */
static int is_running(const struct vm *v)
{
	return v && v->alive && (v->state == VM_RUNNING || v->state == VM_STARTING);
}

/* In the plan: does OWNER have a VM that is running and stays so? */
static int planned_running(const struct pass *p, const char *owner)
{
	return is_running(vm_find(p, owner)) && !owners_find(&p->gone, owner);
}

/* Old enough to be swept (CREATED 0: unknown, only with no grace at all). */
static int old_enough(struct pass *p, long long created)
{
	if (p->o->grace <= 0 || (created > 0 && p->now - created >= p->o->grace))
		return 1;
	p->s->young++;
	return 0;
}

/* ---- carrying an action out -------------------------------------------------- */

/* Under OWNER's VM lock: its record and liveness now (1), or none (0). */
static int vm_now(struct pass *p, const char *owner, struct vm *v)
{
	return vm_show(p->in, owner, 0, v);
}

/* Under OWNER's VM lock: has it a record (RECORDED), and does it run now
 * (RUNNING, may be NULL)? */
static int owner_now(struct pass *p, const char *owner, int *recorded, int *running)
{
	struct vm v;
	int rc = vm_now(p, owner, &v);

	if (rc < 0)
		return -1;
	*recorded = rc == 1;
	if (running)
		*running = rc == 1 && is_running(&v);
	if (rc == 1)
		vm_release(&v);
	return 0;
}

static int now_running(struct pass *p, const char *owner, int *running)
{
	int recorded;

	return owner_now(p, owner, &recorded, running);
}

/* A runtime object (TAP, rules, volume) of an owner with no running VM. */
static int run_teardown(struct pass *p, struct step *s)
{
	int running;

	if (now_running(p, s->owner, &running) < 0)
		return -1;
	if (running)
		return 1;
	return s->sub->teardown_owner(p->in, s->owner);
}

/* An allocation of an owner with no VM record. */
static int run_release(struct pass *p, struct step *s)
{
	int recorded;

	if (owner_now(p, s->owner, &recorded, NULL) < 0)
		return -1;
	if (recorded)
		return 1;
	if (fail_point("reconcile-release") < 0)
		return -1;
	return s->sub->release_owner(p->in, s->owner);
}

/* A VM recorded running whose process is gone: its sockets and handles go,
 * it is marked stopped with the reason. */
static int run_mark_stopped(struct pass *p, struct step *s)
{
	struct db *db;
	struct vm v;
	int rc = vm_now(p, s->owner, &v);

	if (rc <= 0)
		return rc < 0 ? -1 : 1;
	if (v.alive || (v.state != VM_RUNNING && v.state != VM_STARTING)) {
		vm_release(&v);
		return 1;
	}
	rc = vm_cleanup(p->in, &v);
	if (rc == 0)
		crash_point("reconcile-vm-cleaned");
	if (rc == 0 && (vm_db(p->in, &db, 0) < 0 || vm_set_state(db, s->owner, VM_STOPPED, s->arg, 0) < 0))
		rc = -1;
	vm_release(&v);
	return rc;
}

/* A Firecracker of this installation's socket that no record runs. */
static int run_kill(struct pass *p, struct step *s)
{
	struct vm v, t;
	int rc, fd, recorded;

	rc = vm_now(p, s->owner, &v);
	if (rc < 0)
		return -1;
	recorded = rc == 1;
	if (rc == 1 && v.alive && v.pid == s->pid && v.state == VM_RUNNING) {
		vm_release(&v);
		return 1; /* its start finished meanwhile: it is the VM's now */
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", s->owner);
	snprintf(t.api_sock, sizeof(t.api_sock), "%s", s->arg);
	if (rc == 1 && v.vsock_uds[0])
		snprintf(t.vsock_uds, sizeof(t.vsock_uds), "%s", v.vsock_uds);
	else if (vm_path(p->in, s->owner, "vsock.sock", t.vsock_uds, sizeof(t.vsock_uds)) < 0)
		t.vsock_uds[0] = 0;
	if (rc == 1)
		vm_release(&v);
	t.alive = 1;
	t.pid = s->pid;
	t.start_time = s->start_time;
	/* the pidfd pins the process, and its identity is asked again after */
	fd = vm_pidfd(&t);
	if (fd == -1)
		return -1;
	if (fd >= 0) {
		rc = vm_kill(fd, KILL_WAIT_MS);
		close(fd);
		if (rc < 0)
			return -1;
		crash_point("reconcile-firecracker-killed");
		p->killed_starting |= recorded;
	}
	return vm_cleanup(p->in, &t);
}

/* vms/<name>/ without a record, and no process on its socket. */
static int run_remove_dir(struct pass *p, struct step *s)
{
	char sock[PATH_MAX];
	int recorded, rc;
	pid_t pid;

	if (owner_now(p, s->owner, &recorded, NULL) < 0)
		return -1;
	if (recorded)
		return 1;
	if (vm_path(p->in, s->owner, "firecracker.sock", sock, sizeof(sock)) < 0)
		return -1;
	rc = proc_find("--api-sock", sock, &pid);
	if (rc != 0)
		return rc < 0 ? -1 : 1;
	return file_remove_tree(s->object);
}

static int run_recover(struct pass *p, struct step *s)
{
	(void)s;
	return pool_recover(p->in);
}

static int run_hosts(struct pass *p, struct step *s)
{
	(void)p;
	return file_write_atomic(s->object, s->arg, strlen(s->arg), 0644);
}

/* Carry S out under its owner's VM lock, and report it. */
static void step_run(struct pass *p, struct step *s, reconcile_report_fn report, void *ctx)
{
	struct reconcile_action a = {s->kind, s->owner[0] ? s->owner : NULL, s->object, s->action, "planned", NULL};
	int lock = -1, rc;

	p->s->count[s->kind]++;
	if (!p->o->dry_run) {
		error_clear();
		rc = s->owner[0] ? (lock = vm_lock(p->in, s->owner)) < 0 ? -1 : s->run(p, s) : s->run(p, s);
		lock_release(lock);
		a.result = rc == 0 ? "ok" : rc > 0 ? "skipped" : "failed";
		if (rc < 0) {
			a.error = error_message();
			p->s->failed++;
		}
		crash_point("reconcile-action");
	}
	report(&a, ctx);
}

/* How many owners one batch holds the VM locks of. */
#define BATCH 64

static int batchable(const struct step *s)
{
	return s->run == run_teardown && (s->kind == RK_TAP || s->kind == RK_NAT);
}

/* Steps A .. B-1, all TAPs or all rules: under their owners' VM locks, those
 * still due in one call of their subsystem (one ip -batch, one
 * iptables-restore); when it fails, one by one, so that each owner's
 * failure is its own. */
static void batch_run(struct pass *p, int a, int b, reconcile_report_fn report, void *ctx)
{
	const char *owners[BATCH];
	int lock[BATCH], rc[BATCH], i, n = 0, all, running;

	for (i = a; i < b; i++) {
		struct step *s = &p->steps[i];

		p->s->count[s->kind]++;
		lock[i - a] = -1;
		rc[i - a] = 0;
		if (p->o->dry_run)
			continue;
		error_clear();
		lock[i - a] = vm_lock(p->in, s->owner);
		if (lock[i - a] < 0 || now_running(p, s->owner, &running) < 0)
			rc[i - a] = -1;
		else if (running)
			rc[i - a] = 1;
		else
			owners[n++] = s->owner;
		if (rc[i - a] < 0)
			s->err = strdup(error_message());
	}
	if (!p->o->dry_run && n) {
		error_clear();
		all = p->steps[a].kind == RK_TAP ? tap_delete_owners(p->in, owners, n)
						 : nat_down_owners(p->in, owners, n);
		for (i = a; all < 0 && i < b; i++)
			if (rc[i - a] == 0) {
				error_clear();
				rc[i - a] = p->steps[i].sub->teardown_owner(p->in, p->steps[i].owner) < 0 ? -1 : 0;
				if (rc[i - a] < 0)
					p->steps[i].err = strdup(error_message());
			}
	}
	for (i = a; i < b; i++) {
		struct step *s = &p->steps[i];
		struct reconcile_action r = {s->kind, s->owner, s->object, s->action, "planned", NULL};

		if (!p->o->dry_run) {
			r.result = rc[i - a] == 0 ? "ok" : rc[i - a] > 0 ? "skipped" : "failed";
			if (rc[i - a] < 0) {
				r.error = s->err ? s->err : "failed";
				p->s->failed++;
			}
		}
		report(&r, ctx);
		lock_release(lock[i - a]);
		if (!p->o->dry_run)
			crash_point("reconcile-action");
	}
}

/* ---- phase 1: the VMs ----------------------------------------------------------- */

/* The reason a VM recorded running is not: as the issue words it. */
static const char *gone_reason(struct pass *p, const struct vm *v)
{
	struct vm_handles h;

	if (v->why && strcmp(v->why, VM_GONE_REUSED) == 0)
		return "pid reused";
	if (!v->rebuilt && vm_handles_read(p->in, v->name, &h) == 0)
		return "no handles and no process";
	error_clear();
	return "process exited";
}

static void dashed(const char *s, char *buf, size_t n)
{
	size_t i;

	snprintf(buf, n, "%s", s);
	for (i = 0; buf[i]; i++)
		if (buf[i] == ' ')
			buf[i] = '-';
}

struct runtime {
	struct tap_list taps;
	struct owners tap_created, nat, nat_unrecorded, vol_created;
	struct owners vols; /* owners of the active VM volumes */
};

static int plan_runtimes(struct pass *p, struct runtime *r, const struct owners *owners);

static int plan_vms(struct pass *p, struct runtime *r)
{
	char why[64];
	struct step *s;
	int i;

	for (i = 0; i < p->vms.n; i++) {
		const struct vm *v = &p->vms.v[i];

		if (!v->alive && (v->state == VM_RUNNING || v->state == VM_STARTING) &&
		    owners_add(v->name, 0, &p->gone) < 0)
			return -1;
	}
	owners_sort(&p->gone);
	/* their runtime first, then each is marked stopped */
	if (plan_runtimes(p, r, &p->gone) < 0)
		return -1;
	for (i = 0; i < p->vms.n; i++) {
		const struct vm *v = &p->vms.v[i];
		const char *reason;

		if (v->alive || (v->state != VM_RUNNING && v->state != VM_STARTING))
			continue;
		reason = gone_reason(p, v);
		dashed(reason, why, sizeof(why));
		if (step_add(p, RK_VM, v->name, why, "mark-stopped", run_mark_stopped, &s) < 0 ||
		    !(s->arg = strdup(reason)))
			return error_errno("unable to plan the pass");
	}
	return 0;
}

struct scan {
	struct pass *p;
	char prefix[PATH_MAX];
	pid_t *pids; /* sorted: the running VMs' processes */
	int n;
};

/* A Firecracker whose --api-sock is exactly <dir>/vms/<name>/firecracker.sock. */
static int found_firecracker(pid_t pid, unsigned long long start_time, const char *value, void *ctx)
{
	struct scan *c = ctx;
	char name[NAME_MAX_LEN + 1], sock[PATH_MAX], object[32];
	const struct vm *v;
	const char *rest, *slash;
	struct step *s;
	size_t n;

	if (strncmp(value, c->prefix, strlen(c->prefix)) != 0)
		return 0;
	rest = value + strlen(c->prefix);
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : 0;
	if (!n || n > NAME_MAX_LEN)
		return 0;
	memcpy(name, rest, n);
	name[n] = 0;
	if (!name_valid(name) || vm_path(c->p->in, name, "firecracker.sock", sock, sizeof(sock)) < 0 ||
	    strcmp(sock, value) != 0) {
		error_clear();
		return 0;
	}
	v = vm_find(c->p, name);
	/* the running VM's own; a start's (recorded starting) is asked again
	 * under the VM's lock: a start at work still holds it */
	if (v && v->alive && v->pid == pid && v->state == VM_RUNNING)
		return 0;
	snprintf(object, sizeof(object), "pid:%ld", (long)pid);
	if (step_add(c->p, RK_FIRECRACKER, name, object, "kill", run_kill, &s) < 0 || !(s->arg = strdup(value)))
		return error_errno("unable to plan the pass");
	s->pid = pid;
	s->start_time = start_time;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* The process of a running VM, its identity proven by the VM listing. */
static int known_pid(pid_t pid, void *ctx)
{
	struct scan *c = ctx;

	return c->n && bsearch(&pid, c->pids, (size_t)c->n, sizeof(*c->pids), cmp_pid) != NULL;
}

static int plan_firecrackers(struct pass *p)
{
	struct scan c = {p, "", NULL, 0};
	int i, rc;

	if ((size_t)snprintf(c.prefix, sizeof(c.prefix), "%s/vms/", p->in->dir) >= sizeof(c.prefix))
		return 0;
	c.pids = calloc((size_t)p->vms.n + 1, sizeof(*c.pids));
	if (!c.pids)
		return error_errno("unable to plan the pass");
	for (i = 0; i < p->vms.n; i++)
		if (p->vms.v[i].alive && p->vms.v[i].state == VM_RUNNING)
			c.pids[c.n++] = p->vms.v[i].pid;
	qsort(c.pids, (size_t)c.n, sizeof(*c.pids), cmp_pid);
	rc = proc_scan("--api-sock", known_pid, found_firecracker, &c);
	free(c.pids);
	return rc;
}

/* ---- phase 2: the sweep ------------------------------------------------------ */

/* Rules that carry an owner's exact token ("ember:<id>:<owner>") but no
 * record describes: one iptables-save. A legacy installation's rules carry
 * no token, so only its records say whose they are. */
static int list_unrecorded_rules(struct pass *p, struct runtime *r)
{
	struct ipt_ruleset rs = {0};
	char prefix[64];
	struct db *db;
	size_t n;
	int i, rc;

	if (!install_namespace(p->in))
		return 0;
	rc = tables_open(p->in, &nat_tables, 0, &db);
	if (rc <= 0)
		return rc; /* NAT never set up: no rule was ever made */
	if (ipt_env_check() < 0 || ipt_save(&rs) < 0)
		return -1;
	nat_comment(p->in, NULL, prefix, sizeof(prefix) - 1);
	strcat(prefix, ":");
	n = strlen(prefix);
	for (i = 0, rc = 0; i < rs.nrules && rc == 0; i++) {
		const char *c = rs.rules[i].comment;

		if (c && strncmp(c, prefix, n) == 0 && name_valid(c + n) && !owners_find(&r->nat, c + n) &&
		    !owners_find(&r->nat_unrecorded, c + n)) {
			rc = owners_add(c + n, 0, &r->nat_unrecorded);
			owners_sort(&r->nat_unrecorded);
		}
	}
	ipt_ruleset_release(&rs);
	return rc;
}

struct vol_scan {
	struct pass *p;
	struct runtime *r;
	char prefix[POOL_NAME_LEN], uuid[POOL_NAME_LEN];
	int failed;
};

/* An active VM volume: its name has the prefix, its UUID proves it ours. */
static int found_device(const char *name, unsigned major, unsigned minor, void *ctx)
{
	struct vol_scan *c = ctx;
	const char *owner = name + strlen(c->prefix);
	char uuid[DMDEV_UUID_LEN];
	struct dmdev_info info;

	(void)major;
	(void)minor;
	if (strncmp(name, c->prefix, strlen(c->prefix)) != 0 || !name_valid(owner))
		return 0;
	snprintf(uuid, sizeof(uuid), "%svm-%s", c->uuid, owner);
	if (dmdev_info(name, &info) < 0) {
		c->failed = 1;
		return -1;
	}
	if (!info.exists || strcmp(info.uuid, uuid) != 0)
		return 0;
	if (owners_add(owner, 0, &c->r->vols) < 0) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

/* Every kind's listing, once, before anything is changed. */
static int list_runtime(struct pass *p, struct runtime *r)
{
	struct vol_scan vs;

	memset(r, 0, sizeof(*r));
	if (wanted(p, RK_TAP) &&
	    (subsystem_owners(p, "tap", &r->tap_created) < 0 || tap_list(p->in, 0, &r->taps) < 0))
		return -1;
	if (wanted(p, RK_NAT)) {
		if (subsystem_owners(p, "nat", &r->nat) < 0 || list_unrecorded_rules(p, r) < 0)
			return -1;
	}
	if (wanted(p, RK_VOLUME)) {
		if (subsystem_owners(p, "pool", &r->vol_created) < 0)
			return -1;
		if (r->vol_created.n) {
			memset(&vs, 0, sizeof(vs));
			vs.p = p;
			vs.r = r;
			pool_volume_prefix(p->in, "vm", vs.prefix, sizeof(vs.prefix));
			pool_uuid_prefix(p->in, vs.uuid, sizeof(vs.uuid));
			if (dmdev_load() < 0 || dmdev_each(found_device, &vs) < 0 || vs.failed)
				return -1;
			owners_sort(&r->vols);
		}
	}
	return 0;
}

static void runtime_release(struct runtime *r)
{
	tap_list_release(&r->taps);
	free(r->tap_created.v);
	free(r->nat.v);
	free(r->nat_unrecorded.v);
	free(r->vol_created.v);
	free(r->vols.v);
}

static long long created_of(const struct owners *l, const char *owner)
{
	const struct owned *o = owners_find(l, owner);

	return o ? o->created : 0;
}

/* OWNER's runtime objects of KIND (its TAP, its rules or its volume) as a step. */
static int plan_runtime(struct pass *p, struct runtime *r, const char *owner, int kind)
{
	char vol[POOL_NAME_LEN + NAME_MAX_LEN];
	int i;

	for (i = 0; kind == RK_TAP && wanted(p, RK_TAP) && i < r->taps.n; i++) {
		const struct tap *t = &r->taps.v[i];

		/* a record whose link is gone (after a reboot) goes with it */
		if (!t->mine || strcmp(t->owner, owner) != 0)
			continue;
		if (step_add(p, RK_TAP, owner, t->name, "teardown", run_teardown, NULL) < 0)
			return -1;
		p->steps[p->n - 1].sub = subsystem_named("tap");
	}
	if (kind == RK_NAT && wanted(p, RK_NAT) &&
	    (owners_find(&r->nat, owner) || owners_find(&r->nat_unrecorded, owner))) {
		if (step_add(p, RK_NAT, owner, NULL, "teardown", run_teardown, NULL) < 0)
			return -1;
		p->steps[p->n - 1].sub = subsystem_named("nat");
	}
	if (kind == RK_VOLUME && wanted(p, RK_VOLUME) && owners_find(&r->vols, owner)) {
		pool_volume_prefix(p->in, "vm", vol, sizeof(vol));
		snprintf(vol + strlen(vol), sizeof(vol) - strlen(vol), "%s", owner);
		if (step_add(p, RK_VOLUME, owner, vol, "deactivate", run_teardown, NULL) < 0)
			return -1;
		p->steps[p->n - 1].sub = subsystem_named("pool");
	}
	return 0;
}

/* The runtime of OWNERS, kind by kind (so that each kind is one batch):
 * every TAP, then every owner's rules, then every volume. */
static int plan_runtimes(struct pass *p, struct runtime *r, const struct owners *owners)
{
	static const int kinds[] = {RK_TAP, RK_NAT, RK_VOLUME};
	int i, k;

	for (k = 0; k < (int)ARRAY_SIZE(kinds); k++)
		for (i = 0; i < owners->n; i++)
			if (plan_runtime(p, r, owners->v[i].owner, kinds[k]) < 0)
				return -1;
	return 0;
}

/* Objects whose creation no record knows (a TAP made by a create killed
 * before it recorded it, rules without a record): their age counts from the
 * pass that first saw them, kept in the table reconcile_seen, one row per
 * such owner while it is kept for the grace. */
static const char *const seen_schema[] = {
    "CREATE TABLE reconcile_seen (owner TEXT PRIMARY KEY, first_seen INTEGER NOT NULL) STRICT",
};
static const struct tables seen_tables = {"reconcile", seen_schema, ARRAY_SIZE(seen_schema), "reconcile_seen",
					  "SELECT owner, first_seen FROM reconcile_seen ORDER BY owner"};

/* The creation time of OWNER's objects of unknown age: since first seen. */
static long long first_seen(struct pass *p, const char *owner)
{
	const struct owned *o = owners_find(&p->seen, owner);

	return o ? o->created : p->now;
}

/* Bring reconcile_seen to the owners kept this pass; no change, no write. */
static int seen_save(struct pass *p)
{
	sqlite3_stmt *ins = NULL, *del = NULL;
	struct db *db;
	int i, rc = -1, changed = p->seen.n != p->kept.n;

	for (i = 0; !changed && i < p->kept.n; i++)
		changed = strcmp(p->seen.v[i].owner, p->kept.v[i].owner) != 0;
	/* a pass that looked at only some kinds saw only some of them */
	if (!changed || p->o->dry_run || !wanted(p, RK_TAP) || !wanted(p, RK_NAT) || !wanted(p, RK_VOLUME))
		return 0;
	if (tables_open(p->in, &seen_tables, 1, &db) < 0 || db_begin(db) < 0)
		return -1;
	if (db_prepare(db, &del, "DELETE FROM reconcile_seen") < 0 ||
	    db_prepare(db, &ins, "INSERT INTO reconcile_seen (owner, first_seen) VALUES (?, ?)") < 0 ||
	    sqlite3_step(del) != SQLITE_DONE)
		goto out;
	for (i = 0; i < p->kept.n; i++) {
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, p->kept.v[i].owner, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, p->kept.v[i].created);
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto out;
	}
	rc = db_commit(db);
out:
	if (rc < 0) {
		db_error(db, "unable to record the objects of unknown age");
		db_rollback(db);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	return rc;
}

/* Is OWNER's runtime due for the sweep: no running VM, not phase 1's, old? */
static int sweep_due(struct pass *p, const char *owner, long long created)
{
	return !planned_running(p, owner) && !owners_find(&p->gone, owner) && old_enough(p, created);
}

static int plan_sweep_runtime(struct pass *p, struct runtime *r)
{
	struct owners all = {0}, due = {0};
	int i, rc = -1;

	/* every owner with a runtime object, once, in order */
	for (i = 0; i < r->taps.n; i++)
		if (r->taps.v[i].mine && owners_add(r->taps.v[i].owner, 0, &all) < 0)
			goto out;
	for (i = 0; i < r->nat.n; i++)
		if (owners_add(r->nat.v[i].owner, 0, &all) < 0)
			goto out;
	for (i = 0; i < r->nat_unrecorded.n; i++)
		if (owners_add(r->nat_unrecorded.v[i].owner, 0, &all) < 0)
			goto out;
	for (i = 0; i < r->vols.n; i++)
		if (owners_add(r->vols.v[i].owner, 0, &all) < 0)
			goto out;
	owners_sort(&all);
	for (i = 0; i < all.n; i++) {
		const char *owner = all.v[i].owner;
		long long created;

		if (i > 0 && strcmp(owner, all.v[i - 1].owner) == 0)
			continue;
		if (planned_running(p, owner) || owners_find(&p->gone, owner))
			continue;
		/* the owner's newest object decides */
		created = created_of(&r->tap_created, owner);
		if (owners_find(&r->nat, owner) && created_of(&r->nat, owner) > created)
			created = created_of(&r->nat, owner);
		if (owners_find(&r->vols, owner) && created_of(&r->vol_created, owner) > created)
			created = created_of(&r->vol_created, owner);
		if (!created && p->o->grace > 0) {
			created = first_seen(p, owner);
			if (p->now - created < p->o->grace && owners_add(owner, created, &p->kept) < 0)
				goto out;
		}
		if (sweep_due(p, owner, created) && owners_add(owner, created, &due) < 0)
			goto out;
	}
	rc = plan_runtimes(p, r, &due);
out:
	free(all.v);
	free(due.v);
	return rc;
}

/* Allocations of owners with no VM record. */
static int plan_allocations(struct pass *p, int kind, const char *subsystem)
{
	struct owners l = {0};
	int i, rc = -1;

	if (!wanted(p, kind))
		return 0;
	if (subsystem_owners(p, subsystem, &l) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		if (vm_find(p, l.v[i].owner) || !old_enough(p, l.v[i].created))
			continue;
		if (step_add(p, kind, l.v[i].owner, NULL, "release", run_release, NULL) < 0)
			goto out;
		p->steps[p->n - 1].sub = subsystem_named(subsystem);
	}
	rc = 0;
out:
	free(l.v);
	return rc;
}

/* Thin ids left creating or deleting; quarantined ones counted. */
static int plan_thin(struct pass *p)
{
	sqlite3_stmt *st = NULL;
	struct db *db;
	int rc;

	if (!wanted(p, RK_THIN))
		return 0;
	if (install_db(p->in, &db) < 0)
		return -1;
	rc = db_has_table(db, "pool_volume");
	if (rc <= 0)
		return rc;
	if (db_prepare(db, &st,
		       "SELECT name, state FROM pool_volume WHERE state IN ('creating', 'deleting', 'faulty') "
		       "ORDER BY name") < 0)
		return -1;
	rc = 0;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 1);

		if (strcmp(state, "faulty") == 0) {
			p->s->faulty++;
			continue;
		}
		if (p->n && p->steps[p->n - 1].kind == RK_THIN)
			continue; /* one recovery settles them all */
		rc = step_add(p, RK_THIN, NULL, (const char *)sqlite3_column_text(st, 0), "recover", run_recover,
			      NULL);
	}
	sqlite3_finalize(st);
	return rc;
}

/* vms/<name>/ with no record. */
static int plan_dirs(struct pass *p)
{
	char path[PATH_MAX];
	struct dirent *d;
	struct stat sb;
	DIR *dir;
	int rc = 0;

	if (!wanted(p, RK_VMDIR))
		return 0;
	if (install_path(p->in, path, sizeof(path), "vms") < 0)
		return -1;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : error_errno("unable to read %s", quote(path));
	while (rc == 0 && (d = readdir(dir))) {
		char sub[PATH_MAX];

		if (!name_valid(d->d_name) || vm_find(p, d->d_name) ||
		    vm_path(p->in, d->d_name, "", sub, sizeof(sub)) < 0 || lstat(sub, &sb) < 0 ||
		    !S_ISDIR(sb.st_mode)) {
			error_clear();
			continue;
		}
		if (!old_enough(p, (long long)sb.st_mtime))
			continue;
		rc = step_add(p, RK_VMDIR, d->d_name, sub, "remove", run_remove_dir, NULL);
	}
	closedir(dir);
	return rc;
}

/* The hosts file from the VMs that stay running: rewritten when it differs. */
static int plan_hosts(struct pass *p)
{
	char path[PATH_MAX], *now = NULL, *text = NULL;
	size_t len = 0;
	struct step *s;
	FILE *f;
	int i, rc;

	if (!wanted(p, RK_HOSTS))
		return 0;
	if (install_path(p->in, path, sizeof(path), "hosts") < 0)
		return -1;
	f = open_memstream(&text, &len);
	if (!f)
		return error_errno("unable to plan the pass");
	for (i = 0; i < p->vms.n; i++)
		if (planned_running(p, p->vms.v[i].name) && p->vms.v[i].guest_ip[0])
			fprintf(f, "%s %s\n", p->vms.v[i].guest_ip, p->vms.v[i].name);
	if (fclose(f) != 0) {
		free(text);
		return error_errno("unable to plan the pass");
	}
	rc = file_read(path, &now, NULL);
	if (rc == -1) {
		free(text);
		return -1;
	}
	if (strcmp(rc == -2 ? "" : now, text) == 0) {
		free(now);
		free(text);
		return 0;
	}
	free(now);
	error_clear();
	if (step_add(p, RK_HOSTS, NULL, path, "rewrite", run_hosts, &s) < 0) {
		free(text);
		return -1;
	}
	s->arg = text;
	return 0;
}

static int cmp_dir_step(const void *a, const void *b)
{
	return strcmp(((const struct step *)a)->owner, ((const struct step *)b)->owner);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One listing and its plan, carried out. *AGAIN is set when it killed the
 * Firecracker of a recorded VM (a start that died half-way): what that
 * VM's death leaves (its runtime, its record's state) is only seen by a
 * fresh listing. */
static int pass_once(struct install *in, const struct reconcile_opts *o, reconcile_report_fn report, void *ctx,
		     struct reconcile_summary *s, int *again)
{
	struct pass p;
	struct runtime r;
	struct timespec ts;
	int i, first, rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	p.in = in;
	p.o = o;
	p.s = s;
	clock_gettime(CLOCK_REALTIME, &ts);
	p.now = ts.tv_sec;
	/* every listing first: a failure here changes nothing */
	if (vm_list(in, -1, &p.vms) < 0)
		goto out;
	if (p.vms.n)
		qsort(p.vms.v, (size_t)p.vms.n, sizeof(*p.vms.v), cmp_vm);
	if (list_runtime(&p, &r) < 0 || tables_owners(in, &seen_tables, owners_add, &p.seen) < 0)
		goto out;
	owners_sort(&p.seen);
	/* phase 1 */
	if (wanted(&p, RK_VM) && plan_vms(&p, &r) < 0)
		goto out;
	if (wanted(&p, RK_FIRECRACKER) && plan_firecrackers(&p) < 0)
		goto out;
	/* phase 2 */
	if (plan_sweep_runtime(&p, &r) < 0 || plan_thin(&p) < 0 || plan_allocations(&p, RK_ADDRESS, "ipalloc") < 0 ||
	    plan_allocations(&p, RK_CID, "cidalloc") < 0)
		goto out;
	owners_sort(&p.kept);
	if (seen_save(&p) < 0)
		goto out;
	first = p.n;
	if (plan_dirs(&p) < 0)
		goto out;
	if (p.n > first)
		qsort(p.steps + first, (size_t)(p.n - first), sizeof(*p.steps), cmp_dir_step);
	if (plan_hosts(&p) < 0)
		goto out;
	for (i = 0; i < p.n;) {
		int j = i + 1;

		if (batchable(&p.steps[i])) {
			while (j < p.n && j - i < BATCH && batchable(&p.steps[j]) && p.steps[j].kind == p.steps[i].kind)
				j++;
			batch_run(&p, i, j, report, ctx);
		} else {
			step_run(&p, &p.steps[i], report, ctx);
		}
		i = j;
	}
	rc = 0;
	*again = p.killed_starting;
out:
	runtime_release(&r);
	steps_release(&p);
	free(p.gone.v);
	free(p.seen.v);
	free(p.kept.v);
	vm_records_release(&p.vms);
	return rc;
}

int reconcile_run(struct install *in, const struct reconcile_opts *o, reconcile_report_fn report, void *ctx,
		  struct reconcile_summary *s)
{
	struct reconcile_summary more;
	long long t0 = now_ms();
	int again = 0, rc, k;

	memset(s, 0, sizeof(*s));
	rc = pass_once(in, o, report, ctx, s, &again);
	/* the pass converges by itself: once more over what its kills left,
	 * which the first listing saw alive (a dry run kills nothing) */
	if (rc == 0 && again && !o->dry_run) {
		memset(&more, 0, sizeof(more));
		rc = pass_once(in, o, report, ctx, &more, &again);
		for (k = 0; k < RK_KINDS; k++)
			s->count[k] += more.count[k];
		s->failed += more.failed;
		s->young = more.young;
		s->faulty = more.faulty;
	}
	s->duration_ms = (double)(now_ms() - t0);
	return rc;
}
