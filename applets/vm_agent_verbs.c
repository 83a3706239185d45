/* ember-vm exec, cp, ping and wait: the guest agent over hybrid vsock. */
#include "vm_agent_verbs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "common.h"
#include "file.h"
#include "name.h"
#include "vm_agent.h"

const char *vm_exec_env[VM_EXEC_ENV_MAX + 1];
int vm_exec_n_env;
const char *vm_exec_cwd, *vm_exec_stdin;

void vm_stdin_short(int argc, char **argv)
{
	static char stdin_opt[] = "--stdin";
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-i") == 0)
			argv[i] = stdin_opt;
}

/* What -j keeps of one stream. */
struct capture {
	char *buf;
	size_t len;
	int truncated;
};

struct exec_out {
	int json;
	struct capture c[2];
};

static int exec_output(void *ctx, int stream, const char *data, size_t n)
{
	struct exec_out *o = ctx;
	struct capture *c = &o->c[stream - 1];
	size_t keep;

	if (!o->json) {
		if (file_write_all(stream, data, n) < 0)
			return error_errno("unable to write the command's %s", stream == 1 ? "stdout" : "stderr");
		return 0;
	}
	keep = VM_EXEC_CAPTURE_MAX - c->len;
	if (keep < n)
		c->truncated = 1;
	else
		keep = n;
	if (!keep)
		return 0;
	if (!c->buf && !(c->buf = malloc(VM_EXEC_CAPTURE_MAX)))
		return error_errno("unable to capture the command's output");
	memcpy(c->buf + c->len, data, keep);
	c->len += keep;
	return 0;
}

static void out_b64(const char *key, const struct capture *c)
{
	char *b = malloc(BASE64_LEN(c->len) + 1);

	if (!b) {
		error_errno("unable to encode the command's output");
		xdie(EXIT_TEMP);
	}
	base64_encode(c->buf ? c->buf : "", c->len, b);
	out_str(&out, key, b);
	free(b);
}

int vm_do_exec(struct install *in, int argc, char **argv)
{
	struct agent_exec_spec spec = {.argv = (const char *const *)argv + 1, .env = vm_exec_env,
				       .cwd = vm_exec_cwd, .stdin_fd = vm_exec_stdin ? 0 : -1};
	struct exec_out o = {.json = common.json};
	struct agent_exec_result res;
	int fd, i, rc;

	(void)argc;
	for (i = 0; i < vm_exec_n_env; i++) {
		const char *eq = strchr(vm_exec_env[i], '=');

		if (!eq || eq == vm_exec_env[i])
			xusage("--env '%s' is not NAME=VALUE", vm_exec_env[i]);
	}
	if (vm_exec_cwd && !*vm_exec_cwd)
		xusage("--cwd needs a directory");
	spec.timeout_ms = vm_timeout_ms("--timeout", vm_timeout_arg());
	fd = vm_agent_connect(in, argv[0], VM_AGENT_CONNECT_MS);
	if (fd < 0)
		xdie(0);
	rc = agent_client_exec(fd, &spec, exec_output, &o, &res, NULL);
	close(fd);
	if (rc < 0)
		xdie(0);
	rc = res.timed_out ? 124 : res.signal ? 128 + res.signal : res.exit_code;
	if (!o.json)
		return rc;
	out_record_begin(&out);
	if (res.signal || res.exit_code < 0)
		out_str(&out, "exit_code", NULL);
	else
		out_int(&out, "exit_code", res.exit_code);
	if (res.signal)
		out_int(&out, "signal", res.signal);
	else
		out_str(&out, "signal", NULL);
	out_bool(&out, "timed_out", res.timed_out);
	out_int(&out, "duration_ms", res.duration_ms);
	out_b64("stdout", &o.c[0]);
	out_b64("stderr", &o.c[1]);
	out_bool(&out, "stdout_truncated", o.c[0].truncated);
	out_bool(&out, "stderr_truncated", o.c[1].truncated);
	out_record_end(&out);
	free(o.c[0].buf);
	free(o.c[1].buf);
	/* the document whatever the command's status (the framework prints a
	 * result only for 0 and 1) */
	exit(finish(rc));
}

/* "NAME:PATH" (NAME a valid name, PATH not empty): NAME into BUF and PATH's
 * start, or NULL for a local path. */
static const char *remote(const char *arg, char *buf, size_t n)
{
	const char *colon = strchr(arg, ':');

	if (!colon || memchr(arg, '/', (size_t)(colon - arg)) || colon == arg ||
	    (size_t)(colon - arg) >= n)
		return NULL;
	memcpy(buf, arg, (size_t)(colon - arg));
	buf[colon - arg] = '\0';
	xname("VM name", buf);
	if (!colon[1])
		xusage("'%s' names no path in VM '%s'", arg, buf);
	return colon + 1;
}

struct progress {
	long long total; /* -1: unknown */
	long long start_ms;
	int shown;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define PROGRESS_MIN (8LL * 1024 * 1024) /* smaller files get no bar */

static void progress(void *ctx, long long done)
{
	struct progress *p = ctx;
	long long ms = now_ms() - p->start_ms;
	double mib = done / 1048576.0, rate = ms > 0 ? mib * 1000 / ms : 0;
	int pct, i;

	if (p->total >= 0 && p->total < PROGRESS_MIN)
		return;
	if (p->total < 0 && done < PROGRESS_MIN && !p->shown)
		return;
	p->shown = 1;
	if (p->total > 0) {
		pct = (int)(done * 100 / p->total);
		fputs("\r[", stderr);
		for (i = 0; i < 30; i++)
			fputc(i < pct * 30 / 100 ? '#' : ' ', stderr);
		fprintf(stderr, "] %3d%% %.1f MiB %.1f MiB/s", pct, mib, rate);
	} else {
		fprintf(stderr, "\r%.1f MiB %.1f MiB/s", mib, rate);
	}
	fflush(stderr);
}

int vm_do_cp(struct install *in, int argc, char **argv)
{
	char src_vm[NAME_MAX_LEN + 1], dst_vm[NAME_MAX_LEN + 1];
	const char *src = remote(argv[0], src_vm, sizeof(src_vm));
	const char *dst = remote(argv[1], dst_vm, sizeof(dst_vm));
	struct progress p = {.total = -1, .start_ms = now_ms()};
	int bar = isatty(2) && !common.quiet;
	struct agent_file_info info;
	struct stat st;
	char mode[8];
	int fd, rc;

	(void)argc;
	if (!!src == !!dst)
		xusage(src ? "cp copies between a VM and this host, not between VMs"
			   : "cp needs one side NAME:PATH (a VM's file) and the other a local path");
	fd = vm_agent_connect(in, src ? src_vm : dst_vm, VM_AGENT_CONNECT_MS);
	if (fd < 0)
		xdie(0);
	if (src) {
		rc = vm_agent_cp_from(fd, src, argv[1], bar ? progress : NULL, &p, &info);
	} else {
		if (stat(argv[0], &st) == 0)
			p.total = st.st_size;
		rc = vm_agent_cp_to(fd, argv[0], dst, bar ? progress : NULL, &p, &info);
	}
	close(fd);
	if (p.shown)
		fputc('\n', stderr);
	if (rc < 0)
		xdie(0);
	snprintf(mode, sizeof(mode), "%04o", info.mode & 07777);
	out_record_begin(&out);
	out_str(&out, "src", argv[0]);
	out_str(&out, "dst", argv[1]);
	out_int(&out, "bytes", info.bytes);
	out_str(&out, "mode", mode);
	out_record_end(&out);
	return 0;
}

static void print_ping(const char *name, const struct agent_ping *p)
{
	char up[32];

	snprintf(up, sizeof(up), "%.0f", p->uptime_seconds);
	out_record_begin(&out);
	out_str(&out, "name", name);
	out_str(&out, "version", p->version);
	out_int(&out, "protocol", p->protocol);
	out_int(&out, "uptime_seconds", (long long)p->uptime_seconds);
	out_record_end(&out);
}

int vm_do_ping(struct install *in, int argc, char **argv)
{
	struct agent_ping p;
	int fd;

	(void)argc;
	fd = vm_agent_connect(in, argv[0], VM_AGENT_CONNECT_MS);
	if (fd < 0 || agent_client_ping(fd, VM_AGENT_CONNECT_MS, &p, NULL) < 0)
		xdie(0);
	close(fd);
	print_ping(argv[0], &p);
	return 0;
}

int vm_do_wait(struct install *in, int argc, char **argv)
{
	int ms = vm_timeout_ms("--timeout", vm_timeout_arg());
	struct agent_ping p;

	(void)argc;
	if (vm_agent_wait(in, argv[0], ms ? ms : VM_AGENT_WAIT_MS, &p) < 0)
		xdie(0);
	print_ping(argv[0], &p);
	return 0;
}

void vm_start_wait(struct install *in, const char *name, const char *arg)
{
	struct agent_ping p;

	if (!arg)
		return;
	if (vm_agent_wait(in, name, vm_timeout_ms("--wait", arg), &p) < 0)
		xdie(0);
}
