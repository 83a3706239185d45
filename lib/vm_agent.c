#include "vm_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file.h"
#include "hvsock.h"
#include "vm.h"

int vm_agent_uds(struct install *in, const char *name, char *uds, size_t n)
{
	struct vm v;
	int rc = -1, got;

	got = vm_show(in, name, 0, &v);
	if (got < 0)
		return -1;
	if (got == 0)
		return error_code(EXIT_NO, "no VM '%s'", name);
	if (!v.vsock_uds[0]) {
		error_code(EXIT_USAGE, "VM '%s' has no vsock, so its agent cannot be reached", name);
		error_hint("create it with --cid CID (or a CID from ember-cidalloc), not --no-vsock");
	} else if (v.state != VM_RUNNING || !v.alive) {
		error_code(EXIT_REFUSED, "VM '%s' is not running (state %s%s)", name, vm_state_name(v.state),
			   v.state == VM_RUNNING ? ", process gone" : "");
		error_hint("ember-vm start %s", name);
	} else if (snprintf(uds, n, "%s", v.vsock_uds) >= (int)n) {
		error_code(EXIT_INTERNAL, "vsock path of '%s' too long", name);
	} else {
		rc = 0;
	}
	vm_release(&v);
	return rc;
}

int vm_agent_connect(struct install *in, const char *name, int timeout_ms)
{
	char uds[VM_SUN_PATH];

	if (vm_agent_uds(in, name, uds, sizeof(uds)) < 0)
		return -1;
	return hvsock_connect(uds, VM_AGENT_PORT, timeout_ms);
}

int vm_agent_wait(struct install *in, const char *name, int timeout_ms, struct agent_ping *p)
{
	char uds[VM_SUN_PATH];

	if (vm_agent_uds(in, name, uds, sizeof(uds)) < 0)
		return -1;
	if (agent_client_wait(uds, VM_AGENT_PORT, timeout_ms, p) < 0) {
		error_hint("is ember-agent serving in VM '%s' (vsock port %d)? its console: vms/%s/console.log",
			   name, VM_AGENT_PORT, name);
		return -1;
	}
	return 0;
}

/* The exit code a local errno stands for, as the agent's are mapped. */
static int errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return EXIT_NO;
	case EACCES:
	case EPERM:
	case EISDIR:
	case EROFS:
		return EXIT_REFUSED;
	default:
		return EXIT_TEMP;
	}
}

struct sink {
	int fd;
	const char *tmp;
	long long done;
	off_t behind; /* written back from here on: file_write_behind */
	agent_progress_fn *progress;
	void *ctx;
};

static int sink_write(void *ctx, const char *data, size_t n)
{
	struct sink *s = ctx;

	if (file_write_all(s->fd, data, n) < 0)
		return error_errno("unable to write '%s'", s->tmp);
	s->done += (long long)n;
	file_write_behind(s->fd, (off_t)s->done, &s->behind);
	if (s->progress)
		s->progress(s->ctx, s->done);
	return 0;
}

int vm_agent_cp_from(int fd, const char *path, const char *local, agent_progress_fn *progress,
		     void *ctx, struct agent_file_info *info)
{
	char target[PATH_MAX], tmp[PATH_MAX + 32];
	const char *base = strrchr(path, '/');
	struct sink s = {.progress = progress, .ctx = ctx};
	struct stat st;
	char *dir, *slash;
	int dfd;

	base = base ? base + 1 : path;
	if (stat(local, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!*base)
			return error_code(EXIT_USAGE, "'%s' names no file to copy into directory '%s'", path,
					  local);
		if (snprintf(target, sizeof(target), "%s/%s", local, base) >= (int)sizeof(target))
			return error_code(EXIT_USAGE, "path too long: '%s/%s'", local, base);
	} else if (snprintf(target, sizeof(target), "%s", local) >= (int)sizeof(target)) {
		return error_code(EXIT_USAGE, "path too long: '%s'", local);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", target);
	s.fd = mkostemp(tmp, O_CLOEXEC);
	if (s.fd < 0)
		return error_code(errno_code(errno), "unable to create a file beside '%s': %s", target,
				  strerror(errno));
	s.tmp = tmp;
	if (agent_client_read_file(fd, path, 0, -1, sink_write, &s, info, NULL) < 0)
		goto fail;
	if (fchmod(s.fd, (mode_t)(info->mode & 07777)) < 0 || fsync(s.fd) < 0) {
		error_errno("unable to write '%s'", tmp);
		goto fail;
	}
	if (close(s.fd) < 0) {
		s.fd = -1;
		error_errno("unable to write '%s'", tmp);
		goto fail;
	}
	s.fd = -1;
	if (rename(tmp, target) < 0) {
		error_code(errno_code(errno), "unable to replace '%s': %s", target, strerror(errno));
		goto fail;
	}
	/* the rename itself durable: the directory's entry */
	dir = strdup(target);
	if (dir) {
		slash = strrchr(dir, '/');
		if (slash)
			slash[slash == dir] = '\0';
		dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	return 0;
fail:
	if (s.fd >= 0)
		close(s.fd);
	unlink(tmp);
	return -1;
}

int vm_agent_cp_to(int fd, const char *local, const char *path, agent_progress_fn *progress,
		   void *ctx, struct agent_file_info *info)
{
	struct stat st;
	int src, rc;

	src = open(local, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return error_code(errno_code(errno), "unable to open '%s': %s", local, strerror(errno));
	if (fstat(src, &st) < 0) {
		close(src);
		return error_errno("unable to stat '%s'", local);
	}
	if (!S_ISREG(st.st_mode)) {
		close(src);
		return error_code(S_ISDIR(st.st_mode) ? EXIT_REFUSED : EXIT_USAGE, "'%s' is %s, not a regular file",
				  local, S_ISDIR(st.st_mode) ? "a directory" : "special");
	}
	rc = agent_client_write_file(fd, path, (int)(st.st_mode & 07777), src, progress, ctx, info, NULL);
	close(src);
	return rc;
}
