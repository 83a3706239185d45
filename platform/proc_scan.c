#include "proc_scan.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "proc.h"

struct found {
	pid_t pid, ppid;
	unsigned long long start_time;
	char *value;
};

/* The argument after OPTION in the NUL-separated ARGS, or NULL. */
static const char *arg_after(const char *args, size_t len, const char *option)
{
	const char *p = args, *end = args + len;

	while (p < end) {
		size_t n = strnlen(p, (size_t)(end - p));

		if (strcmp(p, option) == 0 && p + n + 1 < end)
			return p + n + 1;
		p += n + 1;
	}
	return NULL;
}

int proc_scan(const char *option, proc_scan_fn fn, void *ctx)
{
	struct found *f = NULL;
	int n = 0, cap = 0, i, j, rc = 0;
	struct proc_stat st;
	struct dirent *d;
	const char *val;
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
		if (proc_cmdline(p, &args, &len) < 0) {
			error_clear(); /* gone meanwhile */
			continue;
		}
		val = arg_after(args, len, option);
		if (val && proc_stat(p, &st) == 0 && st.state != 'Z' && st.state != 'X') {
			if (array_reserve(&f, &cap, n, sizeof(*f)) < 0 || !(f[n].value = strdup(val))) {
				free(args);
				rc = error_errno("unable to read /proc");
				goto out;
			}
			f[n].pid = p;
			f[n].ppid = st.ppid;
			f[n].start_time = st.start_time;
			n++;
		}
		error_clear();
		free(args);
	}
	for (i = 0; i < n && rc >= 0; i++) {
		for (j = 0; j < n && !(f[j].pid == f[i].ppid && strcmp(f[j].value, f[i].value) == 0); j++)
			;
		if (j == n)
			rc = fn(f[i].pid, f[i].start_time, f[i].value, ctx);
	}
out:
	for (i = 0; i < n; i++)
		free(f[i].value);
	free(f);
	closedir(dir);
	return rc;
}
