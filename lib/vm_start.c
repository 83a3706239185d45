/* vm: the start sequence. Spawn Firecracker, write handles.json, wait for
 * the API socket and GET /, then configure it over one keep-alive
 * connection and InstanceStart; any failure on the way kills the process,
 * removes what it leaves and records state failed with the reason. */
#include "vm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"
#include "error.h"
#include "file.h"
#include "firecracker.h"
#include "lock.h"
#include "proc.h"
#include "spawn.h"

#define FIRECRACKER_ENV "EMBER_FIRECRACKER"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Firecracker's --id takes [A-Za-z0-9-]: a name's '_' becomes '-'. */
static void fc_id(const char *name, char *buf, size_t n)
{
	size_t i;

	snprintf(buf, n, "%s", name);
	for (i = 0; buf[i]; i++)
		if (buf[i] == '_')
			buf[i] = '-';
}

/* The last line of the console log: what a Firecracker that died said. */
static void last_line(const struct install *in, const char *name, char *buf, size_t n)
{
	char path[PATH_MAX], *text = NULL, *end, *start;

	buf[0] = '\0';
	if (vm_path(in, name, "console.log", path, sizeof(path)) < 0 ||
	    file_read(path, &text, NULL) < 0) {
		error_clear();
		free(text);
		return;
	}
	end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(text, '\n');
	snprintf(buf, n, "%s", start ? start + 1 : text);
	free(text);
}

/* ---- the requests ---- */

/* The steps of the configuration, each with its crash point. */
enum step { LOGGER, MACHINE_CONFIG, BOOT_SOURCE, ROOT_DRIVE, DRIVE, NETWORK, VSOCK, INSTANCE_START };

struct request {
	const char *method;
	char path[64];
	char *body; /* owned */
	enum step step;
};

/* After each request Firecracker took (every point a literal, as
 * tests/README.md lists them). */
static void after(enum step step)
{
	switch (step) {
	case LOGGER: crash_point("vm-api-logger"); break;
	case MACHINE_CONFIG: crash_point("vm-api-machine-config"); break;
	case BOOT_SOURCE: crash_point("vm-api-boot-source"); break;
	case ROOT_DRIVE: crash_point("vm-api-drive-rootfs"); break;
	case DRIVE: crash_point("vm-api-drive"); break;
	case NETWORK: crash_point("vm-api-network"); break;
	case VSOCK: crash_point("vm-api-vsock"); break;
	/* InstanceStart answered, before the record says running */
	case INSTANCE_START: crash_point("vm-api-instance-start"); break;
	}
}

struct plan {
	struct request r[8 + VM_DRIVES_MAX];
	int n;
};

static void plan_release(struct plan *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		free(p->r[i].body);
	p->n = 0;
}

/* Add PUT PATH with the body J (consumed). */
static int plan_put(struct plan *p, const char *path, enum step step, cJSON *j)
{
	struct request *r = &p->r[p->n];

	r->method = "PUT";
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->step = step;
	r->body = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!r->body)
		return error("unable to encode the request %s", path);
	p->n++;
	return 0;
}

static cJSON *drive(const char *id, const char *path, int root, int ro)
{
	cJSON *j = cJSON_CreateObject();

	if (j && cJSON_AddStringToObject(j, "drive_id", id) &&
	    cJSON_AddStringToObject(j, "path_on_host", path) &&
	    cJSON_AddBoolToObject(j, "is_root_device", root) &&
	    cJSON_AddBoolToObject(j, "is_read_only", ro))
		return j;
	cJSON_Delete(j);
	return NULL;
}

/* Every request of the configuration, in order, InstanceStart last. */
static int plan_build(const struct install *in, const struct vm *v, struct plan *p)
{
	char path[PATH_MAX];
	cJSON *j;
	int i;

	memset(p, 0, sizeof(*p));
	if (vm_path(in, v->name, "firecracker.log", path, sizeof(path)) < 0)
		return -1;
	j = cJSON_CreateObject();
	if (!j || !cJSON_AddStringToObject(j, "log_path", path) ||
	    !cJSON_AddStringToObject(j, "level", "Info"))
		goto fail_j;
	if (plan_put(p, "/logger", LOGGER, j) < 0)
		goto fail;
	j = cJSON_CreateObject();
	if (!j || !cJSON_AddNumberToObject(j, "vcpu_count", v->vcpus) ||
	    !cJSON_AddNumberToObject(j, "mem_size_mib", v->memory))
		goto fail_j;
	if (plan_put(p, "/machine-config", MACHINE_CONFIG, j) < 0)
		goto fail;
	j = cJSON_CreateObject();
	if (!j || !cJSON_AddStringToObject(j, "kernel_image_path", v->kernel) ||
	    !cJSON_AddStringToObject(j, "boot_args", v->boot_args) ||
	    (v->initrd && !cJSON_AddStringToObject(j, "initrd_path", v->initrd)))
		goto fail_j;
	if (plan_put(p, "/boot-source", BOOT_SOURCE, j) < 0)
		goto fail;
	if (v->rootfs && plan_put(p, "/drives/rootfs", ROOT_DRIVE,
				  drive("rootfs", v->rootfs, 1, v->read_only)) < 0)
		goto fail;
	for (i = 0; i < v->n_drives; i++) {
		snprintf(path, sizeof(path), "/drives/%s", v->drives[i].id);
		if (plan_put(p, path, DRIVE,
			     drive(v->drives[i].id, v->drives[i].path, 0, v->drives[i].read_only)) < 0)
			goto fail;
	}
	if (v->tap[0]) {
		j = cJSON_CreateObject();
		if (!j || !cJSON_AddStringToObject(j, "iface_id", "eth0") ||
		    !cJSON_AddStringToObject(j, "host_dev_name", v->tap) ||
		    !cJSON_AddStringToObject(j, "guest_mac", v->mac) ||
		    (v->mtu && !cJSON_AddNumberToObject(j, "mtu", v->mtu)))
			goto fail_j;
		if (plan_put(p, "/network-interfaces/eth0", NETWORK, j) < 0)
			goto fail;
	}
	if (v->cid) {
		j = cJSON_CreateObject();
		if (!j || !cJSON_AddNumberToObject(j, "guest_cid", v->cid) ||
		    !cJSON_AddStringToObject(j, "uds_path", v->vsock_uds))
			goto fail_j;
		if (plan_put(p, "/vsock", VSOCK, j) < 0)
			goto fail;
	}
	j = cJSON_CreateObject();
	if (!j || !cJSON_AddStringToObject(j, "action_type", "InstanceStart"))
		goto fail_j;
	/* after InstanceStart answered, before the record says running */
	return plan_put(p, "/actions", INSTANCE_START, j);
fail_j:
	cJSON_Delete(j);
	error("unable to encode the configuration of '%s'", v->name);
fail:
	plan_release(p);
	return -1;
}

/* ---- the sequence ---- */

struct run {
	struct install *in;
	struct vm *v;
	const struct vm_start_opts *o;
	int timeout_ms;
	pid_t pid;
	int pidfd;
	struct firecracker fc;
	int fc_open;
	double sock_ms; /* waiting for the API socket */
	char reason[1024]; /* of the failure */
	int code;          /* its exit code */
};

/* Record the failure REASON (111 unless CODE says otherwise). */
static int failed(struct run *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int failed(struct run *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	r->code = code;
	return -1;
}

/* The process exited before it should have: say how, with its last words. */
static int died(struct run *r, const char *before)
{
	char line[512];
	int status = 0;

	if (waitpid(r->pid, &status, 0) == r->pid)
		r->pid = 0;
	last_line(r->in, r->v->name, line, sizeof(line));
	if (WIFSIGNALED(status))
		return failed(r, EXIT_TEMP, "firecracker was killed by signal %d before %s%s%s",
			      WTERMSIG(status), before, line[0] ? ": " : "", line);
	return failed(r, EXIT_TEMP, "firecracker exited with status %d before %s%s%s",
		      WEXITSTATUS(status), before, line[0] ? ": " : "", line);
}

static int spawn(struct run *r)
{
	char log[PATH_MAX], dir[PATH_MAX], id[NAME_MAX_LEN + 1];
	const char *fc = getenv(FIRECRACKER_ENV);
	const char *argv[] = {fc && *fc ? fc : "firecracker", "--api-sock", r->v->api_sock, "--id",
			      id, NULL};
	struct vm_handles h;
	struct proc_stat st;

	fc_id(r->v->name, id, sizeof(id));
	if (vm_path(r->in, r->v->name, "", dir, sizeof(dir)) < 0 || file_mkdirs(dir, 0700) < 0 ||
	    vm_path(r->in, r->v->name, "console.log", log, sizeof(log)) < 0)
		return failed(r, 0, "%s", error_message());
	if (spawn_detached(argv, log, &r->pid) < 0) {
		r->pid = 0;
		return failed(r, 0, "%s", error_message());
	}
	/* our child: its pid cannot be reused before we reap it */
	r->pidfd = proc_pidfd(r->pid);
	if (r->pidfd < 0)
		return failed(r, 0, "%s", error_message());
	crash_point("vm-spawned");
	memset(&h, 0, sizeof(h));
	h.pid = r->pid;
	if (proc_stat(r->pid, &st) < 0)
		return failed(r, 0, "unable to read the start time of process %d", (int)r->pid);
	h.start_time = st.start_time;
	snprintf(h.api_sock, sizeof(h.api_sock), "%s", r->v->api_sock);
	snprintf(h.vsock_uds, sizeof(h.vsock_uds), "%s", r->v->vsock_uds);
	if (vm_handles_write(r->in, r->v->name, &h) < 0)
		return failed(r, 0, "%s", error_message());
	r->v->pid = r->pid;
	r->v->start_time = st.start_time;
	crash_point("vm-handles");
	return 0;
}

/* The socket answers, then GET / says Firecracker is there, not started. */
static int wait_api(struct run *r)
{
	double t0 = now_ms(), deadline = t0 + r->timeout_ms;
	struct firecracker_answer a;
	int rc, nap = 1;

	/* libcurl loads while Firecracker starts up */
	if (firecracker_open(&r->fc, r->v->api_sock, r->o->verbose) < 0)
		return failed(r, 0, "%s", error_message());
	r->fc_open = 1;
	t0 = now_ms();
	for (;;) {
		rc = proc_pidfd_wait(r->pidfd, 0);
		if (rc == 1)
			return died(r, "its API socket answered");
		rc = firecracker_socket_answers(r->v->api_sock);
		if (rc == 1)
			break;
		if (rc < 0)
			return failed(r, 0, "%s", error_message());
		if (now_ms() >= deadline)
			return failed(r, EXIT_TEMP, "the API socket '%s' did not answer within %d ms",
				      r->v->api_sock, r->timeout_ms);
		/* a nap the process's exit cuts short */
		if (proc_pidfd_wait(r->pidfd, nap) < 0)
			return failed(r, 0, "%s", error_message());
		nap = nap < 4 ? nap * 2 : 4;
	}
	r->sock_ms = now_ms() - t0;
	if (firecracker_call(&r->fc, "GET", "/", NULL, r->timeout_ms, &a) < 0)
		return failed(r, 0, "%s", error_message());
	rc = a.status == 200 ? 0 : failed(r, EXIT_TEMP, "GET /: status %ld: %s", a.status, a.body);
	firecracker_answer_release(&a);
	if (rc == 0)
		crash_point("vm-api-get");
	return rc;
}

static int configure(struct run *r)
{
	struct firecracker_answer a;
	char path[PATH_MAX];
	struct plan p;
	int i, rc = 0, fd;

	/* Firecracker appends to the log; it exists before it is named */
	if (vm_path(r->in, r->v->name, "firecracker.log", path, sizeof(path)) < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return failed(r, EXIT_TEMP, "unable to create '%s': %s", path, strerror(errno));
	close(fd);
	if (plan_build(r->in, r->v, &p) < 0)
		return failed(r, 0, "%s", error_message());
	for (i = 0; i < p.n && rc == 0; i++) {
		const struct request *q = &p.r[i];
		const char *what = strcmp(q->path, "/actions") == 0 ? "InstanceStart" : "";

		if (firecracker_call(&r->fc, q->method, q->path, q->body, r->timeout_ms, &a) < 0) {
			/* no answer: a hang, or the process died at it (the
			 * connection closes a moment before the exit is seen) */
			if (proc_pidfd_wait(r->pidfd, r->fc.timed_out ? 0 : 1000) == 1) {
				char before[96];

				snprintf(before, sizeof(before), "answering %s %s%s%s", q->method,
					 q->path, *what ? " " : "", what);
				rc = died(r, before);
			} else {
				rc = failed(r, 0, "%s", error_message());
			}
			break;
		}
		if (a.status != 204) {
			/* Firecracker's own words: the input is at fault (100) */
			rc = failed(r, a.status == 400 ? EXIT_USAGE : EXIT_TEMP,
				    "%s %s%s%s: \"%s\"", q->method, q->path, *what ? " " : "", what,
				    a.fault ? a.fault : a.body);
		} else {
			after(q->step);
		}
		firecracker_answer_release(&a);
	}
	plan_release(&p);
	return rc;
}

/* Undo a start that failed: kill, reap, remove, record. */
static void roll_back(struct run *r)
{
	struct db *db;

	if (r->pidfd >= 0) {
		proc_pidfd_signal(r->pidfd, SIGKILL);
		if (r->pid > 0)
			waitpid(r->pid, NULL, 0);
	} else if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
	r->v->pid = 0;
	r->v->alive = 0;
	if (vm_cleanup(r->in, r->v) < 0)
		error_clear();
	if (vm_db(r->in, &db, 0) < 0 || vm_set_state(db, r->v->name, VM_FAILED, r->reason, 0) < 0)
		error_clear();
	r->v->state = VM_FAILED;
	free(r->v->reason);
	r->v->reason = strdup(r->reason);
}

/* A start that died half-way left its process: a Firecracker that has run
 * InstanceStart is adopted, any other is killed. 1 adopted, 0 killed. */
static int leftover(struct install *in, struct vm *v, int verbose)
{
	struct firecracker fc;
	struct firecracker_answer a;
	const cJSON *st, *id;
	char want[NAME_MAX_LEN + 1];
	int pidfd, running = 0;
	struct db *db;
	cJSON *j;

	fc_id(v->name, want, sizeof(want));
	if (firecracker_open(&fc, v->api_sock, verbose) == 0) {
		if (firecracker_call(&fc, "GET", "/", NULL, 1000, &a) == 0) {
			j = cJSON_Parse(a.body);
			st = cJSON_GetObjectItemCaseSensitive(j, "state");
			id = cJSON_GetObjectItemCaseSensitive(j, "id");
			running = a.status == 200 && cJSON_IsString(st) &&
				  strcmp(st->valuestring, "Running") == 0 && cJSON_IsString(id) &&
				  strcmp(id->valuestring, want) == 0;
			cJSON_Delete(j);
			firecracker_answer_release(&a);
		}
		firecracker_close(&fc);
	}
	error_clear();
	if (running) {
		if (v->rebuilt) {
			struct vm_handles h = {.pid = v->pid, .start_time = v->start_time};

			snprintf(h.api_sock, sizeof(h.api_sock), "%s", v->api_sock);
			snprintf(h.vsock_uds, sizeof(h.vsock_uds), "%s", v->vsock_uds);
			if (vm_handles_write(in, v->name, &h) < 0)
				return -1;
		}
		if (vm_db(in, &db, 0) < 0 ||
		    vm_set_state(db, v->name, VM_RUNNING, NULL, (long long)time(NULL)) < 0)
			return -1;
		v->state = VM_RUNNING;
		free(v->reason);
		v->reason = NULL;
		return 1;
	}
	pidfd = vm_pidfd(v);
	if (pidfd == -1)
		return -1;
	if (pidfd >= 0) {
		if (vm_kill(pidfd, 5000) < 0) {
			close(pidfd);
			return -1;
		}
		close(pidfd);
	}
	v->alive = 0;
	v->pid = 0;
	return 0;
}

/* Before a spawn: nothing may answer on the VM's sockets; files that no
 * process answers on are stale and go. */
static int clear_sockets(const struct install *in, struct vm *v)
{
	const char *socks[] = {v->api_sock, v->vsock_uds};
	char path[PATH_MAX];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
		if (!socks[i][0])
			continue;
		rc = firecracker_socket_answers(socks[i]);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			error_code(EXIT_REFUSED, "a process answers on '%s', but VM '%s' is %s",
				   socks[i], v->name, vm_state_name(v->state));
			error_hint("find it with: fuser '%s'", socks[i]);
			return -1;
		}
		if (unlink(socks[i]) < 0 && errno != ENOENT)
			return error_errno("unable to remove the stale socket '%s'", socks[i]);
	}
	if (vm_path(in, v->name, "handles.json", path, sizeof(path)) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return error_errno("unable to remove '%s'", path);
	return 0;
}

int vm_start(struct install *in, const char *name, struct vm_start_opts *o, struct vm *v)
{
	struct run r = {0};
	struct db *db;
	int lock = -1, rc = -1;
	double t0 = now_ms();

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	o->waited_ms = 0;
	if (name_check("VM name", name) < 0)
		return -1;
	/* libcurl loads while the database and the spawn wait for the disk */
	firecracker_preload();
	rc = vm_db(in, &db, 0);
	if (rc < 0)
		return -1;
	if (rc > 0 && (lock = vm_lock(in, name)) < 0)
		return -1;
	rc = rc > 0 ? vm_read(db, name, v) : 0;
	if (rc <= 0) {
		if (rc == 0)
			error_code(EXIT_NO, "no VM '%s'", name);
		rc = -1;
		goto out;
	}
	rc = -1;
	if (vm_probe(in, v) < 0)
		goto out;
	if (v->alive) {
		if (v->state == VM_RUNNING) {
			rc = 0;
			goto out;
		}
		if (v->state != VM_STARTING) {
			error_code(EXIT_REFUSED, "a Firecracker process (pid %d) runs for VM '%s', "
				   "but the record says %s", (int)v->pid, name, vm_state_name(v->state));
			error_hint("stop it with 'ember-vm stop %s'", name);
			goto out;
		}
		/* a start that died: the lock is ours, so no start is at work */
		rc = leftover(in, v, o->verbose);
		if (rc != 0)
			goto out;
		rc = -1;
		if (vm_cleanup(in, v) < 0)
			goto out;
	}
	if (clear_sockets(in, v) < 0 || vm_set_state(db, name, VM_STARTING, NULL, 0) < 0)
		goto out;
	v->state = VM_STARTING;
	v->why = NULL;
	free(v->reason);
	v->reason = NULL;

	r.in = in;
	r.v = v;
	r.o = o;
	r.pidfd = -1;
	r.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : VM_START_TIMEOUT_MS;
	if (spawn(&r) < 0 || wait_api(&r) < 0 || configure(&r) < 0) {
		roll_back(&r);
		error_code(r.code ? r.code : EXIT_TEMP, "unable to start '%s': %s", name, r.reason);
		goto out;
	}
	o->waited_ms = r.fc.waited_ms + r.sock_ms;
	o->own_ms = now_ms() - t0 - o->waited_ms;
	if (vm_set_state(db, name, VM_RUNNING, NULL, (long long)time(NULL)) < 0)
		goto out; /* a running VM whose record says starting: the next start adopts it */
	v->state = VM_RUNNING;
	v->started = (long long)time(NULL);
	v->alive = 1;
	rc = 0;
out:
	if (r.fc_open)
		firecracker_close(&r.fc);
	if (r.pidfd >= 0)
		close(r.pidfd);
	lock_release(lock);
	return rc;
}
