#include "probe.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "spawn.h"

static int executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int probe_program(const char *program, char *buf, size_t n)
{
	static const char *const sbin[] = {"/usr/local/sbin", "/usr/sbin", "/sbin"};
	const char *path = getenv("PATH");
	const char *p, *end;
	size_t i, len;

	for (p = path ? path : ""; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (len == 0)
			continue;
		snprintf(buf, n, "%.*s/%s", (int)len, p, program);
		if (executable(buf))
			return 1;
	}
	for (i = 0; i < ARRAY_SIZE(sbin); i++) {
		snprintf(buf, n, "%s/%s", sbin[i], program);
		if (executable(buf))
			return 1;
	}
	buf[0] = '\0';
	return 0;
}

int probe_iptables_backend(char *buf, size_t n)
{
	const char *argv[] = {"iptables", "--version", NULL};
	struct spawn s;
	char *open, *close;
	int rc = 0;

	if (spawn_run(argv, NULL, 0, 5000, &s) < 0)
		return -1;
	/* "iptables v1.8.9 (nf_tables)" or "iptables v1.8.9 (legacy)" */
	open = s.status == 0 ? strchr(s.out, '(') : NULL;
	close = open ? strchr(open, ')') : NULL;
	if (open && close) {
		snprintf(buf, n, "%.*s", (int)(close - open - 1), open + 1);
		rc = 1;
	}
	spawn_release(&s);
	return rc;
}

int probe_char_device(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && access(path, R_OK | W_OK) == 0;
}

int probe_device_mapper(void)
{
	char line[128];
	int found = 0;
	FILE *f;

	if (access("/dev/mapper/control", F_OK) == 0)
		return 1;
	f = fopen("/proc/misc", "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " device-mapper") != NULL;
	fclose(f);
	return found;
}

int probe_kernel_module(const char *module)
{
	const char *argv[] = {"modprobe", "-n", "-q", module, NULL};
	char path[256], prog[256];
	struct spawn s;
	int rc;

	snprintf(path, sizeof(path), "/sys/module/%s", module);
	if (access(path, F_OK) == 0)
		return 1;
	if (!probe_program("modprobe", prog, sizeof(prog)))
		return 0;
	argv[0] = prog;
	if (spawn_run(argv, NULL, 0, 5000, &s) < 0)
		return 0;
	rc = s.status == 0;
	spawn_release(&s);
	return rc;
}

int probe_library(const char *soname)
{
	void *h = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);

	if (!h)
		return 0;
	dlclose(h);
	return 1;
}
