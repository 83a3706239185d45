/* vm: the process and its liveness: handles.json, the identity of a pid,
 * pidfds, show (with Firecracker's own word), stop and stop --all. */
#include "vm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"
#include "error.h"
#include "file.h"
#include "firecracker.h"
#include "lock.h"
#include "proc.h"

/* How long a SIGKILLed process may take to be gone. */
#define KILL_WAIT_MS 5000
/* A Ctrl-Alt-Del and a show's GET / wait at most this long for an answer. */
#define ASK_TIMEOUT_MS 1000

/* ---- handles.json ---- */

int vm_handles_parse(const char *text, struct vm_handles *h)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "start_time");
	const cJSON *api = cJSON_GetObjectItemCaseSensitive(j, "api_sock");
	const cJSON *vs = cJSON_GetObjectItemCaseSensitive(j, "vsock_uds");
	int rc = -1;

	memset(h, 0, sizeof(*h));
	/* start_time is a string: clock ticks may pass what a double holds exactly */
	if (!cJSON_IsNumber(pid) || pid->valuedouble < 1 || pid->valuedouble > INT_MAX ||
	    !cJSON_IsString(st) || !cJSON_IsString(api) || strlen(api->valuestring) >= VM_SUN_PATH ||
	    !(cJSON_IsNull(vs) || (cJSON_IsString(vs) && strlen(vs->valuestring) < VM_SUN_PATH)))
		goto out;
	h->pid = (pid_t)pid->valuedouble;
	if (sscanf(st->valuestring, "%llu", &h->start_time) != 1)
		goto out;
	snprintf(h->api_sock, sizeof(h->api_sock), "%s", api->valuestring);
	if (cJSON_IsString(vs))
		snprintf(h->vsock_uds, sizeof(h->vsock_uds), "%s", vs->valuestring);
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

int vm_handles_read(const struct install *in, const char *name, struct vm_handles *h)
{
	char path[PATH_MAX], *text;
	int rc;

	if (vm_path(in, name, "handles.json", path, sizeof(path)) < 0)
		return -1;
	rc = file_read(path, &text, NULL);
	if (rc < 0) {
		/* missing or unreadable: /proc tells instead */
		error_clear();
		return 0;
	}
	rc = vm_handles_parse(text, h) == 0;
	free(text);
	return rc;
}

int vm_handles_write(const struct install *in, const char *name, const struct vm_handles *h)
{
	char path[PATH_MAX], st[24], *text = NULL;
	cJSON *j = cJSON_CreateObject();
	int rc = -1;

	snprintf(st, sizeof(st), "%llu", h->start_time);
	if (!j || !cJSON_AddNumberToObject(j, "pid", h->pid) ||
	    !cJSON_AddStringToObject(j, "start_time", st) ||
	    !cJSON_AddStringToObject(j, "api_sock", h->api_sock) ||
	    !(h->vsock_uds[0] ? cJSON_AddStringToObject(j, "vsock_uds", h->vsock_uds)
			      : cJSON_AddNullToObject(j, "vsock_uds")) ||
	    !(text = cJSON_PrintUnformatted(j))) {
		error("unable to encode the handles of '%s'", name);
		goto out;
	}
	if (vm_path(in, name, "handles.json", path, sizeof(path)) < 0)
		goto out;
	/* atomic, not durable: the process it names dies with the machine */
	rc = file_replace(path, text, strlen(text), 0600);
out:
	free(text);
	cJSON_Delete(j);
	return rc;
}

/* ---- liveness ---- */

/* Is PID the process started at START_TIME whose command line names SOCK?
 * NULL when it is, else why not. */
static int identity(pid_t pid, unsigned long long start_time, const char *sock,
		    const char **why)
{
	struct proc_stat st;
	size_t len;
	char *args;
	int rc;

	*why = VM_GONE;
	rc = proc_stat(pid, &st);
	if (rc == -2)
		return 0;
	if (rc < 0)
		return -1;
	if (st.state == 'Z' || st.state == 'X')
		return 0; /* exited, not reaped yet */
	*why = VM_GONE_REUSED;
	if (st.start_time != start_time)
		return 0;
	rc = proc_cmdline(pid, &args, &len);
	if (rc == -2) {
		*why = VM_GONE;
		return 0;
	}
	if (rc < 0)
		return -1;
	rc = proc_args_have(args, len, "--api-sock", sock);
	free(args);
	if (rc)
		*why = NULL;
	return rc;
}

int vm_probe(const struct install *in, struct vm *v)
{
	struct vm_handles h;
	struct proc_stat st;
	const char *why = NULL;
	pid_t pid;
	int rc;

	v->alive = 0;
	v->pid = 0;
	v->start_time = 0;
	v->why = NULL;
	v->rebuilt = 0;
	rc = vm_handles_read(in, v->name, &h);
	if (rc < 0)
		return -1;
	if (rc == 0 && v->state != VM_RUNNING && v->state != VM_STARTING) {
		/* no start at work or left half-way: no process of ours (one
		 * started by hand answers on the socket, which start refuses) */
		h.pid = 0;
	} else if (rc == 0) {
		/* rebuilt from /proc: the process named by the exact socket */
		rc = proc_find("--api-sock", v->api_sock, &pid);
		if (rc < 0)
			return -1;
		if (rc == 1 && proc_stat(pid, &st) == 0) {
			h.pid = pid;
			h.start_time = st.start_time;
			v->rebuilt = 1;
		} else {
			h.pid = 0;
		}
	}
	if (h.pid > 0) {
		rc = identity(h.pid, h.start_time, v->api_sock, &why);
		if (rc < 0)
			return -1;
		v->alive = rc;
	}
	if (v->alive) {
		v->pid = h.pid;
		v->start_time = h.start_time;
	} else if (v->state == VM_RUNNING || v->state == VM_STARTING) {
		v->why = why ? why : VM_GONE;
	}
	return 0;
}

int vm_pidfd(const struct vm *v)
{
	const char *why;
	int fd, rc;

	if (!v->alive)
		return -2;
	fd = proc_pidfd(v->pid);
	if (fd < 0)
		return fd;
	/* the pidfd pins the process: if it is still the one, it stays the one */
	rc = identity(v->pid, v->start_time, v->api_sock, &why);
	if (rc <= 0) {
		close(fd);
		return rc < 0 ? -1 : -2;
	}
	return fd;
}

int vm_wait_exit(int pidfd, int timeout_ms)
{
	return proc_pidfd_wait(pidfd, timeout_ms);
}

int vm_kill(int pidfd, int timeout_ms)
{
	int rc = proc_pidfd_signal(pidfd, SIGKILL);

	if (rc == -1)
		return -1;
	rc = proc_pidfd_wait(pidfd, timeout_ms);
	if (rc == 0)
		return error_code(EXIT_TEMP, "the process did not exit within %d ms of SIGKILL",
				  timeout_ms);
	return rc < 0 ? -1 : 0;
}

static int unlink_if(const char *path)
{
	if (path[0] && unlink(path) < 0 && errno != ENOENT)
		return error_errno("unable to remove '%s'", path);
	return 0;
}

int vm_cleanup(const struct install *in, const struct vm *v)
{
	char path[PATH_MAX];

	if (unlink_if(v->api_sock) < 0 || unlink_if(v->vsock_uds) < 0 ||
	    vm_path(in, v->name, "handles.json", path, sizeof(path)) < 0)
		return -1;
	return unlink_if(path);
}

/* ---- show ---- */

/* GET /: Firecracker's own state and id. */
static void ask_firecracker(struct vm *v, int verbose)
{
	struct firecracker fc;
	struct firecracker_answer a;
	const cJSON *st, *id;
	cJSON *j;

	snprintf(v->fc_state, sizeof(v->fc_state), "no answer");
	if (firecracker_open(&fc, v->api_sock, verbose) < 0) {
		error_clear();
		return;
	}
	if (firecracker_call(&fc, "GET", "/", NULL, ASK_TIMEOUT_MS, &a) == 0) {
		j = cJSON_Parse(a.body);
		st = cJSON_GetObjectItemCaseSensitive(j, "state");
		id = cJSON_GetObjectItemCaseSensitive(j, "id");
		if (a.status == 200 && cJSON_IsString(st))
			snprintf(v->fc_state, sizeof(v->fc_state), "%s", st->valuestring);
		if (a.status == 200 && cJSON_IsString(id))
			snprintf(v->fc_id, sizeof(v->fc_id), "%s", id->valuestring);
		cJSON_Delete(j);
		firecracker_answer_release(&a);
	}
	error_clear();
	firecracker_close(&fc);
}

int vm_show(struct install *in, const char *name, int ask, struct vm *v)
{
	struct db *db;
	int rc;

	memset(v, 0, sizeof(*v));
	if (name_check("VM name", name) < 0)
		return -1;
	rc = vm_db(in, &db, 0);
	if (rc <= 0)
		return rc;
	rc = vm_read(db, name, v);
	if (rc <= 0)
		return rc;
	if (vm_probe(in, v) < 0) {
		vm_release(v);
		return -1;
	}
	if (ask && v->alive)
		ask_firecracker(v, 0);
	return 1;
}

/* ---- stop ---- */

struct stopping {
	struct vm v;
	int lock, pidfd;
	int err; /* 0, or the exit code of its failure (error in e) */
	struct error_saved e;
	int waiting;            /* sent Ctrl-Alt-Del: waiting for the exit */
	long long deadline;
	char reason[160];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void stop_fail(struct stopping *s)
{
	s->err = error_exit_code();
	error_save(&s->e);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
}

/* Ask Firecracker to stop: 0 when it took the Ctrl-Alt-Del. */
static int send_cad(struct stopping *s, const struct vm_stop_opts *o)
{
	struct firecracker fc;
	struct firecracker_answer a;
	int rc = -1;

	if (firecracker_open(&fc, s->v.api_sock, o->verbose) < 0)
		return -1;
	if (firecracker_call(&fc, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}",
			     ASK_TIMEOUT_MS, &a) == 0) {
		rc = a.status == 204 ? 0 : -1;
		firecracker_answer_release(&a);
	}
	firecracker_close(&fc);
	return rc;
}

/* Take the lock, find the process, and send it Ctrl-Alt-Del or SIGKILL. */
static void stop_begin(struct install *in, const char *name, const struct vm_stop_opts *o,
		       struct stopping *s)
{
	struct db *db;
	int rc;

	memset(s, 0, sizeof(*s));
	s->lock = s->pidfd = -1;
	snprintf(s->v.name, sizeof(s->v.name), "%s", name);
	if (name_check("VM name", name) < 0 || (rc = vm_db(in, &db, 0)) < 0)
		return stop_fail(s);
	if (rc == 0)
		goto absent;
	s->lock = vm_lock(in, name);
	if (s->lock < 0 || (rc = vm_read(db, name, &s->v)) < 0)
		return stop_fail(s);
	if (rc == 0)
		goto absent;
	if (vm_probe(in, &s->v) < 0)
		return stop_fail(s);
	s->pidfd = vm_pidfd(&s->v);
	if (s->pidfd == -1)
		return stop_fail(s);
	if (s->pidfd == -2) {
		/* never signalled: not (or no longer) the VM's process */
		s->pidfd = -1;
		if (s->v.alive && vm_probe(in, &s->v) < 0)
			return stop_fail(s);
		s->v.alive = 0;
		if (s->v.state == VM_RUNNING || s->v.state == VM_STARTING)
			snprintf(s->reason, sizeof(s->reason), "%s", s->v.why ? s->v.why : VM_GONE);
		return;
	}
	if (!o->force && send_cad(s, o) == 0) {
		s->waiting = 1;
		s->deadline = now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : VM_STOP_TIMEOUT_MS);
		snprintf(s->reason, sizeof(s->reason), "stopped: Firecracker exited after Ctrl-Alt-Del");
		return;
	}
	error_clear();
	snprintf(s->reason, sizeof(s->reason), "%s",
		 o->force ? "stopped: killed (--force)"
			  : "stopped: killed (Firecracker did not take Ctrl-Alt-Del)");
	if (vm_kill(s->pidfd, KILL_WAIT_MS) < 0)
		stop_fail(s);
	return;
absent:
	error_code(EXIT_NO, "no VM '%s'", name);
	stop_fail(s);
}

/* Wait for every process that took Ctrl-Alt-Del; SIGKILL those past their
 * deadline. */
static void stop_wait(struct stopping *s, int n, const struct vm_stop_opts *o)
{
	int i, rc, pending;

	do {
		pending = 0;
		for (i = 0; i < n; i++) {
			long long left;

			if (!s[i].waiting)
				continue;
			left = s[i].deadline - now_ms();
			/* one at a time, each up to its deadline: they all run meanwhile */
			rc = vm_wait_exit(s[i].pidfd, left > 0 ? (int)left : 0);
			if (rc == 1) {
				s[i].waiting = 0;
				continue;
			}
			if (rc < 0) {
				s[i].waiting = 0;
				stop_fail(&s[i]);
				continue;
			}
			if (now_ms() < s[i].deadline) {
				pending = 1;
				continue;
			}
			s[i].waiting = 0;
			snprintf(s[i].reason, sizeof(s[i].reason),
				 "stopped: killed, no exit within %d ms of Ctrl-Alt-Del",
				 o->timeout_ms > 0 ? o->timeout_ms : VM_STOP_TIMEOUT_MS);
			if (vm_kill(s[i].pidfd, KILL_WAIT_MS) < 0)
				stop_fail(&s[i]);
		}
	} while (pending);
}

/* The process is gone: remove what it leaves, record the state. */
static void stop_finish(struct install *in, struct stopping *s)
{
	struct db *db;
	int rc;

	if (s->err)
		goto out;
	if (s->pidfd >= 0)
		crash_point("vm-stop-killed");
	if (s->reason[0]) {
		if (vm_cleanup(in, &s->v) < 0 || vm_db(in, &db, 0) < 0 ||
		    vm_set_state(db, s->v.name, VM_STOPPED, s->reason, 0) < 0) {
			stop_fail(s);
			goto out;
		}
		s->v.state = VM_STOPPED;
		free(s->v.reason);
		s->v.reason = strdup(s->reason);
	}
	rc = vm_probe(in, &s->v);
	if (rc < 0)
		stop_fail(s);
out:
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	lock_release(s->lock);
	s->lock = -1;
}

int vm_stop(struct install *in, const char *name, const struct vm_stop_opts *o, struct vm *v)
{
	struct stopping s;

	stop_begin(in, name, o, &s);
	stop_wait(&s, 1, o);
	stop_finish(in, &s);
	*v = s.v;
	if (s.err) {
		error_restore(&s.e);
		return -1;
	}
	return 0;
}

/* How many VMs one round of stop --all holds at once: a lock, a pidfd and,
 * for a moment, a connection each. */
static int batch_size(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur < 64)
		return 8;
	return r.rlim_cur > 4096 ? 1024 : (int)(r.rlim_cur - 32) / 4;
}

int vm_stop_all(struct install *in, const struct vm_stop_opts *o,
		void (*done)(const struct vm *v, int err, void *ctx), void *ctx)
{
	struct stopping *s = NULL;
	struct vm_records l;
	int i, j, k, n, failed = 0, batch = batch_size();

	if (vm_list(in, -1, &l) < 0)
		return -1;
	s = calloc((size_t)(l.n ? l.n : 1), sizeof(*s));
	if (!s) {
		vm_records_release(&l);
		return error_errno("unable to stop the VMs");
	}
	for (i = 0; i < l.n; i += batch) {
		n = 0;
		for (j = i; j < l.n && j < i + batch; j++) {
			struct vm *v = &l.v[j];

			if (!v->alive && v->state != VM_RUNNING && v->state != VM_STARTING)
				continue;
			stop_begin(in, v->name, o, &s[n++]);
		}
		stop_wait(s, n, o);
		for (k = 0; k < n; k++) {
			stop_finish(in, &s[k]);
			if (s[k].err) {
				failed++;
				error_restore(&s[k].e);
			}
			done(&s[k].v, s[k].err, ctx);
			vm_release(&s[k].v);
		}
	}
	free(s);
	vm_records_release(&l);
	return failed;
}
