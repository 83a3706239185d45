#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/* write(2) (OFFSET < 0) or pwrite(2) at OFFSET, all of BUF. */
static int write_whole(int fd, const void *buf, size_t len, off_t offset)
{
	const char *p = buf;
	ssize_t r;

	while (len > 0) {
		r = offset < 0 ? write(fd, p, len) : pwrite(fd, p, len, offset);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		len -= (size_t)r;
		if (offset >= 0)
			offset += r;
	}
	return 0;
}

int file_write_all(int fd, const void *buf, size_t len)
{
	return write_whole(fd, buf, len, -1);
}

int file_pwrite_all(int fd, const void *buf, size_t len, off_t offset)
{
	return write_whole(fd, buf, len, offset < 0 ? 0 : offset);
}

void file_write_behind(int fd, off_t written, off_t *started)
{
	if (written - *started < FILE_WRITE_BEHIND)
		return;
	/* errors surface at the fsync, which waits for all of it */
	sync_file_range(fd, *started, written - *started, SYNC_FILE_RANGE_WRITE);
	*started = written;
}

ssize_t file_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = read(fd, p + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int file_read(const char *path, char **data, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *p;
	ssize_t r;
	int fd;

	*data = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -2;
		return error_errno("unable to open '%s'", path);
	}
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		if (n + 1 >= cap) {
			p = realloc(buf, cap * 2);
			if (!p)
				goto fail;
			buf = p;
			cap *= 2;
		}
		r = file_read_all(fd, buf + n, cap - n - 1);
		if (r < 0)
			goto fail;
		n += (size_t)r;
		if (n + 1 < cap)
			break; /* short of what was asked: the end */
	}
	buf[n] = '\0';
	close(fd);
	*data = buf;
	if (len)
		*len = n;
	return 0;
fail:
	error_errno("unable to read '%s'", path);
	free(buf);
	close(fd);
	return -1;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("unable to open directory '%s'", dir);
	if (fsync(fd) < 0)
		rc = error_errno("unable to sync directory '%s'", dir);
	close(fd);
	return rc;
}

/* Write via a temporary file and rename; SYNC: fsync the file and the directory. */
static int write_replace(const char *path, const char *data, size_t len, mode_t mode, int sync)
{
	char tmp[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return error_code(EXIT_USAGE, "path too long '%s'", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return error_errno("unable to create '%s'", tmp);
	if (file_write_all(fd, data, len) < 0 || (sync && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return sync ? fsync_dir_of(path) : 0;
fail:
	error_errno("unable to write '%s'", path);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int file_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	return write_replace(path, data, len, mode, 1);
}

int file_replace(const char *path, const char *data, size_t len, mode_t mode)
{
	return write_replace(path, data, len, mode, 0);
}

int file_remove_stale_tmp(const char *path)
{
	const char *slash = strrchr(path, '/'), *base, *p;
	char dir[PATH_MAX];
	struct dirent *e;
	size_t n;
	long pid;
	DIR *d;

	if (!slash ||
	    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >= (int)sizeof(dir))
		return 0;
	base = slash + 1;
	n = strlen(base);
	d = opendir(dir[0] ? dir : "/");
	if (!d)
		return error_errno("unable to read directory '%s'", dir);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, base, n) != 0 || strncmp(e->d_name + n, ".tmp.", 5) != 0)
			continue;
		p = e->d_name + n + 5;
		if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 9)
			continue;
		pid = strtol(p, NULL, 10);
		/* a writer that still runs (or a pid we may not signal) keeps its file */
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return 0;
}

int file_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	struct stat st;
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return error_code(EXIT_USAGE, "path too long '%s'", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return error_errno("unable to create directory '%s'", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0) {
		if (errno != EEXIST)
			return error_errno("unable to create directory '%s'", buf);
		if (stat(buf, &st) < 0)
			return error_errno("unable to stat '%s'", buf);
		if (!S_ISDIR(st.st_mode))
			return error_errnum(ENOTDIR, "unable to use '%s' as a directory", buf);
	}
	return 0;
}

static int remove_at(int dirfd, const char *name)
{
	struct dirent *d;
	DIR *dir;
	int fd, rc = 0;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return error_errnum(errno, "unable to remove '%s'", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return error_errno("unable to open '%s'", name);
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return error_errno("unable to read '%s'", name);
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (remove_at(fd, d->d_name) < 0)
			rc = -1;
	}
	closedir(dir);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return error_errno("unable to remove '%s'", name);
	return rc;
}

int file_remove_tree(const char *path)
{
	if (path[0] != '/' || path[1] == '\0')
		return error("refusing to remove '%s'", path);
	return remove_at(AT_FDCWD, path);
}
