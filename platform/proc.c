#include "proc.h"
#include "proc_scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "file.h"

int proc_parse_stat(const char *text, struct proc_stat *st)
{
	const char *p = strrchr(text, ')');
	unsigned long long v;
	char *end;
	int field;

	memset(st, 0, sizeof(*st));
	/* after ')' come " S ppid ...": field 3 is the state */
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return error("unparsable process status '%.40s'", text);
	st->state = p[2];
	p += 3;
	for (field = 4; field <= 22; field++) {
		while (*p == ' ')
			p++;
		errno = 0;
		v = strtoull(p, &end, 10);
		/* fields 4-22 are numbers; some (tty_nr, ...) may be negative */
		if (end == p && *p == '-')
			v = strtoull(p + 1, &end, 10);
		if (end == p || errno || (*end != ' ' && *end != '\n' && *end != '\0'))
			return error("unparsable process status: field %d", field);
		if (field == 4)
			st->ppid = (pid_t)v;
		if (field == 22)
			st->start_time = v;
		p = end;
	}
	return 0;
}

static int proc_read(pid_t pid, const char *what, char **data, size_t *len)
{
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	rc = file_read(path, data, len);
	if (rc == -1) {
		/* it exited between open and read (ESRCH) */
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		if (access(path, F_OK) != 0) {
			error_clear();
			return -2;
		}
	}
	return rc;
}

int proc_stat(pid_t pid, struct proc_stat *st)
{
	char *text;
	int rc;

	if (pid <= 0)
		return -2;
	rc = proc_read(pid, "stat", &text, NULL);
	if (rc < 0)
		return rc;
	rc = proc_parse_stat(text, st);
	free(text);
	return rc;
}

int proc_cmdline(pid_t pid, char **args, size_t *len)
{
	if (pid <= 0)
		return -2;
	return proc_read(pid, "cmdline", args, len);
}

int proc_args_have(const char *args, size_t len, const char *option, const char *value)
{
	const char *p = args, *end = args + len, *next;

	while (p < end) {
		next = p + strnlen(p, (size_t)(end - p)) + 1;
		if (strcmp(p, option) == 0)
			return next < end && strnlen(next, (size_t)(end - next)) < (size_t)(end - next) &&
			       strcmp(next, value) == 0;
		p = next;
	}
	return 0;
}

struct find {
	const char *value;
	pid_t pid;
	int found;
};

static int found_one(pid_t pid, unsigned long long start_time, const char *value, void *ctx)
{
	struct find *f = ctx;

	(void)start_time;
	if (!f->found && strcmp(value, f->value) == 0) {
		f->pid = pid;
		f->found = 1;
	}
	return 0;
}

/* One walk of /proc, as the reconcile's scan: the topmost process whose
 * OPTION is VALUE exactly (a forked helper shares its parent's arguments). */
int proc_find(const char *option, const char *value, pid_t *pid)
{
	struct find f = {value, 0, 0};

	if (proc_scan(option, NULL, found_one, &f) < 0)
		return -1;
	if (f.found)
		*pid = f.pid;
	return f.found;
}

int proc_pidfd(pid_t pid)
{
	int fd = pidfd_open(pid, 0);

	if (fd >= 0)
		return fd;
	if (errno == ESRCH)
		return -2;
	return error_errno("unable to open a pidfd of process %d", (int)pid);
}

int proc_pidfd_signal(int pidfd, int sig)
{
	if (pidfd_send_signal(pidfd, sig, NULL, 0) == 0)
		return 0;
	if (errno == ESRCH)
		return -2;
	return error_errno("unable to signal a process");
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int proc_pidfd_wait(int pidfd, int timeout_ms)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int n, left;

	for (;;) {
		left = (int)(deadline - now_ms());
		n = poll(&p, 1, left > 0 ? left : 0);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return error_errno("unable to wait for a process");
	}
}
