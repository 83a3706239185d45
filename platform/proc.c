#include "proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
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

int proc_find(const char *option, const char *value, pid_t *pid)
{
	struct proc_stat st;
	pid_t *found = NULL;
	int n = 0, cap = 0, i, j, rc = 0;
	struct dirent *d;
	char *args;
	size_t len;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return error_errno("unable to read /proc");
	while ((d = readdir(dir))) {
		pid_t p;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		p = (pid_t)atoi(d->d_name);
		rc = proc_cmdline(p, &args, &len);
		if (rc < 0) {
			/* gone meanwhile, or not ours to read */
			error_clear();
			continue;
		}
		if (proc_args_have(args, len, option, value)) {
			if (array_reserve(&found, &cap, n, sizeof(*found)) < 0) {
				free(args);
				rc = -1;
				goto out;
			}
			found[n++] = p;
		}
		free(args);
	}
	rc = 0;
	for (i = 0; i < n && !rc; i++) {
		if (proc_stat(found[i], &st) < 0)
			continue;
		for (j = 0; j < n && found[j] != st.ppid; j++)
			;
		if (j == n) {
			*pid = found[i];
			rc = 1;
		}
	}
	error_clear();
out:
	free(found);
	closedir(dir);
	return rc;
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
