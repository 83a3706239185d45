/* read_file and write_file: files streamed in frames. A write goes to a
 * temporary file in the same directory, is fsynced and renamed over the
 * path, so a write cut off half-way leaves the old file whole. */
#include "agent_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

static int sys_error(struct agent_conn *c, const struct agent_request *r, const char *what, int errnum)
{
	struct agent_err e;

	agent_err_set(&e, NULL, errnum, "unable to %s '%s': %s", what, r->path, strerror(errnum));
	return agent_conn_error(c, r->id, &e);
}

int agent_file_read(struct agent_conn *c, const struct agent_request *r)
{
	long long left = r->length, off = r->offset;
	char mode[8];
	struct stat st;
	cJSON *o;
	ssize_t n;
	long len;
	int fd;

	fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return sys_error(c, r, "open", errno);
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		int errnum = S_ISDIR(st.st_mode) ? EISDIR : errno;

		close(fd);
		return sys_error(c, r, "read", errnum);
	}
	for (;;) {
		size_t want = AGENT_RAW_MAX;

		if (left >= 0 && (long long)want > left)
			want = (size_t)left;
		if (want == 0)
			break;
		n = pread(fd, c->raw, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errnum = errno;

			close(fd);
			return sys_error(c, r, "read", errnum);
		}
		if (n == 0)
			break;
		off += n;
		if (left >= 0)
			left -= n;
		len = agent_frame(r->id, "data", c->raw, (size_t)n, c->frame, c->frame_size);
		if (len < 0 || agent_write_all(c->fd, c->frame, (size_t)len) < 0) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	o = agent_reply(r->id);
	if (!o)
		return 0;
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	cJSON_AddNumberToObject(o, "size", (double)st.st_size);
	cJSON_AddStringToObject(o, "mode", mode);
	cJSON_AddTrueToObject(o, "eof");
	return agent_conn_reply(c, o);
}

/* A temporary file beside PATH: its fd, its name in TMP. -1 with errno. */
static int make_temp(const char *path, char *tmp, size_t size)
{
	char copy[PATH_MAX], copy2[PATH_MAX];
	const char *dir, *base;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(copy2, copy, sizeof(copy2));
	dir = dirname(copy);
	base = basename(copy2);
	if (snprintf(tmp, size, "%s/.%s.ember-XXXXXX", dir, base) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkostemp(tmp, O_CLOEXEC);
}

static int sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int agent_file_write(struct agent_conn *c, const struct agent_request *r)
{
	char tmp[PATH_MAX], *line;
	int fd = -1, errnum = 0, rc, eof = 0;
	long long written = 0;
	off_t behind = 0;
	mode_t mode = 0644;
	int existed = 0;
	struct agent_err e;
	struct stat st;
	const char *what = "write";
	cJSON *o;
	size_t n;
	long got;

	/* frames follow whatever happens: those past an error are dropped */
	c->drain_key = "data";
	c->drain_eof = "eof";
	if (stat(r->path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return sys_error(c, r, "write", EISDIR);
		mode = st.st_mode & 07777;
		existed = 1;
	}
	if (r->mode >= 0)
		mode = (mode_t)r->mode;
	fd = make_temp(r->path, tmp, sizeof(tmp));
	if (fd < 0)
		return sys_error(c, r, "write", errno);
	if (existed && fchown(fd, st.st_uid, st.st_gid) < 0) {
		/* not ours to give away (a non-root agent): the file becomes ours */
	}
	if (fchmod(fd, mode) < 0) {
		errnum = errno;
		goto fail;
	}
	while (!eof) {
		rc = agent_read_line(&c->in, -1, &line, &n);
		if (rc == AGENT_NONE || rc < 0) {
			/* the host is gone half-way: the old file stays whole */
			close(fd);
			unlink(tmp);
			return -1;
		}
		if (rc == AGENT_TOO_LONG) {
			agent_err_set(&e, "E2BIG", 0, "a line is longer than %d bytes", AGENT_LINE_MAX);
			goto bad_frame;
		}
		if (strspn(line, " \t\r") == n)
			continue;
		got = agent_frame_parse(line, n, "data", "eof", c->raw, &eof, &e);
		if (got < 0)
			goto bad_frame;
		if (file_write_all(fd, c->raw, (size_t)got) < 0) {
			errnum = errno;
			goto fail;
		}
		written += got;
		file_write_behind(fd, (off_t)written, &behind);
	}
	c->drain_key = c->drain_eof = NULL;
	what = "sync";
	if (fsync(fd) < 0) {
		errnum = errno;
		goto fail;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		errnum = errno;
		goto fail;
	}
	what = "rename over";
	if (rename(tmp, r->path) < 0) {
		errnum = errno;
		goto fail;
	}
	sync_dir(r->path);
	o = agent_reply(r->id);
	if (!o)
		return 0;
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddNumberToObject(o, "written", (double)written);
	return agent_conn_reply(c, o);
bad_frame:
	close(fd);
	unlink(tmp);
	return agent_conn_error(c, r->id, &e);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	if (eof)
		c->drain_key = c->drain_eof = NULL;
	return sys_error(c, r, what, errnum);
}
