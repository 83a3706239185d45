#include "agent_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "hvsock.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int agent_client_exit_code(const char *code)
{
	static const char *const no[] = {"ENOENT", "ENOTDIR", NULL};
	static const char *const refused[] = {"EACCES", "EPERM", "EISDIR", "EROFS", NULL};
	static const char *const usage[] = {"EBADREQ", "EUNKNOWNOP", "EINVAL", "E2BIG", NULL};
	int i;

	for (i = 0; no[i]; i++)
		if (strcmp(code, no[i]) == 0)
			return EXIT_NO;
	for (i = 0; refused[i]; i++)
		if (strcmp(code, refused[i]) == 0)
			return EXIT_REFUSED;
	for (i = 0; usage[i]; i++)
		if (strcmp(code, usage[i]) == 0)
			return EXIT_USAGE;
	return EXIT_TEMP;
}

/* A reply that is an error object: AE filled and the error recorded. Returns
 * 1 when it was one (-1 recorded), 0 when not. */
static int agent_said_no(const cJSON *o, const char *op, struct agent_err *ae)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *code, *msg, *num;
	struct agent_err e;

	if (!err)
		return 0;
	memset(&e, 0, sizeof(e));
	code = cJSON_GetObjectItemCaseSensitive(err, "code");
	msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	num = cJSON_GetObjectItemCaseSensitive(err, "errno");
	snprintf(e.code, sizeof(e.code), "%s", cJSON_IsString(code) ? code->valuestring : "EIO");
	snprintf(e.message, sizeof(e.message), "%s", cJSON_IsString(msg) ? msg->valuestring : "no message");
	e.errnum = cJSON_IsNumber(num) ? num->valueint : 0;
	if (ae)
		*ae = e;
	error_code(agent_client_exit_code(e.code), "the agent refused %s: %s (%s)", op, e.message, e.code);
	return 1;
}

/* The next reply line that is not blank; -1 (recorded) at the end of the
 * stream, on a line too long or after TIMEOUT_MS. */
static int next_line(struct agent_reader *r, int timeout_ms, const char *op, char **line, size_t *n)
{
	int rc;

	do {
		rc = agent_read_line(r, timeout_ms, line, n);
		if (rc < 0) {
			if (errno == ETIMEDOUT)
				error_code(EXIT_TEMP, "the agent did not answer %s within %d ms", op, timeout_ms);
			return -1;
		}
		if (rc == AGENT_NONE)
			return error_code(EXIT_TEMP, "the agent closed the connection during %s",
					  op);
		if (rc == AGENT_TOO_LONG)
			return error_code(EXIT_TEMP,
					  "the agent sent a line longer than %d bytes during %s",
					  AGENT_LINE_MAX, op);
	} while (strspn(*line, " \t\r") == *n);
	return 0;
}

/* A reply line as an object; NULL (recorded) when it is not one. */
static cJSON *reply(const char *line, size_t n, const char *op)
{
	struct agent_err e;
	cJSON *o = agent_parse(line, n, &e);

	if (!o)
		error_code(EXIT_TEMP, "the agent's answer to %s is not a JSON object: %s", op, e.message);
	return o;
}

/* The next reply line as an object; NULL (recorded) at the end of the
 * stream, on a broken line or after TIMEOUT_MS. */
static cJSON *next_reply(struct agent_reader *r, int timeout_ms, const char *op)
{
	char *line;
	size_t n;

	if (next_line(r, timeout_ms, op, &line, &n) < 0)
		return NULL;
	return reply(line, n, op);
}

/* Send REQ; when the agent has closed the connection already, the reason is
 * the line it left (a refusal past its connection bound): that error. */
static int send_request(int fd, const cJSON *req, struct agent_reader *r, const char *op, struct agent_err *ae)
{
	struct error_saved saved;
	cJSON *o;

	if (agent_send(fd, req) == 0)
		return 0;
	error_save(&saved);
	o = next_reply(r, 100, op);
	if (!o || !agent_said_no(o, op, ae))
		error_restore(&saved);
	cJSON_Delete(o);
	return -1;
}

static void clear(struct agent_err *ae)
{
	if (ae)
		memset(ae, 0, sizeof(*ae));
}

int agent_client_ping(int fd, int timeout_ms, struct agent_ping *p, struct agent_err *ae)
{
	struct agent_reader r;
	const cJSON *x;
	cJSON *req, *o = NULL;
	int rc = -1;

	clear(ae);
	memset(p, 0, sizeof(*p));
	if (agent_reader_init(&r, fd) < 0)
		return -1;
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "ping");
	if (send_request(fd, req, &r, "ping", ae) < 0)
		goto out;
	o = next_reply(&r, timeout_ms, "ping");
	if (!o || agent_said_no(o, "ping", ae))
		goto out;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
		error_code(EXIT_TEMP, "the agent's answer to ping lacks \"ok\":true");
		goto out;
	}
	x = cJSON_GetObjectItemCaseSensitive(o, "version");
	snprintf(p->version, sizeof(p->version), "%s", cJSON_IsString(x) ? x->valuestring : "");
	x = cJSON_GetObjectItemCaseSensitive(o, "protocol");
	p->protocol = cJSON_IsNumber(x) ? x->valueint : 0;
	x = cJSON_GetObjectItemCaseSensitive(o, "uptime_seconds");
	p->uptime_seconds = cJSON_IsNumber(x) ? x->valuedouble : 0;
	rc = 0;
out:
	cJSON_Delete(req);
	cJSON_Delete(o);
	agent_reader_release(&r);
	return rc;
}

int agent_client_wait(const char *uds, unsigned port, int timeout_ms, struct agent_ping *p)
{
	long long start = now_ms(), deadline = start + timeout_ms;
	int fd, left;

	for (;;) {
		left = (int)(deadline - now_ms());
		fd = hvsock_connect(uds, port, left > 0 ? left : 0);
		if (fd < 0)
			return -1; /* it says how long it waited */
		left = (int)(deadline - now_ms());
		if (agent_client_ping(fd, left > 0 ? left : 0, p, NULL) == 0) {
			close(fd);
			return 0;
		}
		close(fd);
		left = (int)(deadline - now_ms());
		if (left <= 0)
			break;
		poll(NULL, 0, left < HVSOCK_RETRY_MS ? left : HVSOCK_RETRY_MS);
	}
	error_code(EXIT_TEMP, "the agent did not answer on '%s' port %u: waited %.1f s", uds, port,
		   (now_ms() - start) / 1000.0);
	return -1;
}

/* The frame line being sent, in pieces as the socket takes them. */
struct sending {
	char *buf;
	size_t size, off, len;
};

static int send_some(int fd, struct sending *s)
{
	ssize_t w = send(fd, s->buf + s->off, s->len - s->off, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return error_errno("unable to write to the agent");
	if (w > 0)
		s->off += (size_t)w;
	return 0;
}

static cJSON *exec_request(const struct agent_exec_spec *spec)
{
	cJSON *req = cJSON_CreateObject(), *env;
	const char *eq;
	int i;

	cJSON_AddStringToObject(req, "op", "exec");
	if (spec->argv) {
		cJSON *a = cJSON_AddArrayToObject(req, "argv");

		for (i = 0; spec->argv[i]; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(spec->argv[i]));
	} else {
		cJSON_AddStringToObject(req, "command", spec->command);
	}
	if (spec->env) {
		env = cJSON_AddObjectToObject(req, "env");
		for (i = 0; spec->env[i]; i++) {
			char name[256];

			eq = strchr(spec->env[i], '=');
			if (!eq)
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(eq - spec->env[i]), spec->env[i]);
			cJSON_DeleteItemFromObjectCaseSensitive(env, name);
			cJSON_AddStringToObject(env, name, eq + 1);
		}
	}
	if (spec->cwd)
		cJSON_AddStringToObject(req, "cwd", spec->cwd);
	if (spec->stdin_fd >= 0)
		cJSON_AddTrueToObject(req, "stdin");
	if (spec->timeout_ms)
		cJSON_AddNumberToObject(req, "timeout_ms", (double)spec->timeout_ms);
	return req;
}

/* One reply line of an exec: 0 output (passed on), 1 the result, -1 an error. */
static int exec_line(const cJSON *o, char *raw, agent_output_fn *out, void *ctx, struct agent_exec_result *res,
		     struct agent_err *ae)
{
	static const char *const keys[] = {"stdout", "stderr"};
	const cJSON *x;
	struct agent_err e;
	long n;
	int i;

	if (agent_said_no(o, "exec", ae))
		return -1;
	for (i = 0; i < 2; i++) {
		x = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
		if (!x)
			continue;
		n = agent_frame_decode(x, keys[i], raw, &e);
		if (n < 0)
			return error_code(EXIT_TEMP, "the agent sent a bad frame: %s", e.message);
		if (out && n && out(ctx, i + 1, raw, (size_t)n) < 0)
			return -1;
		return 0;
	}
	if (!cJSON_HasObjectItem(o, "exit_code"))
		return error_code(EXIT_TEMP, "the agent sent an exec line with neither output nor a result");
	x = cJSON_GetObjectItemCaseSensitive(o, "exit_code");
	res->exit_code = cJSON_IsNumber(x) ? x->valueint : -1;
	x = cJSON_GetObjectItemCaseSensitive(o, "signal");
	res->signal = cJSON_IsNumber(x) ? x->valueint : 0;
	res->timed_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "timed_out"));
	x = cJSON_GetObjectItemCaseSensitive(o, "duration_ms");
	res->duration_ms = cJSON_IsNumber(x) ? (long long)x->valuedouble : 0;
	return 1;
}

/* An output frame on the fast path (agent_frame_fast): 1 when LINE was one
 * (*RC 0, or -1 when OUT stopped), 0 when it must be parsed. */
static int output_fast(const char *line, size_t n, char *raw, agent_output_fn *out, void *ctx,
		       int *rc)
{
	long got = agent_frame_fast(line, n, "stdout", raw);
	int stream = 1;

	if (got < 0) {
		got = agent_frame_fast(line, n, "stderr", raw);
		stream = 2;
	}
	if (got < 0)
		return 0;
	*rc = out && got ? out(ctx, stream, raw, (size_t)got) : 0;
	return 1;
}

/* Fill S with the next stdin frame (or the end frame): 0, 1 at the end of
 * the input, -1 on an error. */
static int stdin_frame(int in, char *raw, struct sending *s)
{
	ssize_t n;
	long len;
	cJSON *o;
	char *line;
	size_t ln;

	do
		n = read(in, raw, AGENT_RAW_MAX);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno("unable to read stdin");
	if (n == 0) {
		o = cJSON_CreateObject();
		cJSON_AddTrueToObject(o, "stdin_eof");
		line = agent_line(o, &ln);
		cJSON_Delete(o);
		if (!line)
			return -1;
		memcpy(s->buf, line, ln);
		free(line);
		s->off = 0;
		s->len = ln;
		return 1;
	}
	len = agent_frame(NULL, "stdin", raw, (size_t)n, s->buf, s->size);
	if (len < 0)
		return -1;
	s->off = 0;
	s->len = (size_t)len;
	return 0;
}

int agent_client_exec(int fd, const struct agent_exec_spec *spec, agent_output_fn *out, void *ctx,
		      struct agent_exec_result *res, struct agent_err *ae)
{
	struct sending s = {0};
	struct agent_reader r;
	int in = spec->stdin_fd, rc = -1, got, stdin_done = in < 0;
	char *raw = NULL, *line;
	cJSON *req, *o;
	size_t n;

	clear(ae);
	memset(res, 0, sizeof(*res));
	if (agent_reader_init(&r, fd) < 0)
		return -1;
	s.size = agent_frame_size(AGENT_RAW_MAX);
	s.buf = malloc(s.size);
	raw = malloc(AGENT_RAW_MAX);
	req = exec_request(spec);
	if (!s.buf || !raw || !req) {
		error_errno("unable to allocate an exec's buffers");
		goto out;
	}
	if (send_request(fd, req, &r, "exec", ae) < 0)
		goto out;
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};

		/* every whole line the reader holds first */
		while ((got = agent_reader_line(&r, &line, &n)) == AGENT_LINE) {
			if (strspn(line, " \t\r") == n)
				continue;
			if (output_fast(line, n, raw, out, ctx, &got)) {
				if (got < 0)
					goto out;
				continue;
			}
			o = reply(line, n, "exec");
			if (!o)
				goto out;
			got = exec_line(o, raw, out, ctx, res, ae);
			cJSON_Delete(o);
			if (got < 0)
				goto out;
			if (got == 1)
				goto done;
		}
		if (got == AGENT_TOO_LONG) {
			error_code(EXIT_TEMP, "the agent sent a line longer than %d bytes", AGENT_LINE_MAX);
			goto out;
		}
		if (r.eof) {
			error_code(EXIT_TEMP, "the agent closed the connection during exec");
			goto out;
		}
		if (s.off < s.len)
			p[0].events |= POLLOUT;
		else if (!stdin_done)
			p[1].fd = in;
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			error_errno("unable to wait for the agent");
			goto out;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (agent_reader_fill(&r) < 0)
				goto out;
		}
		if ((p[0].revents & POLLOUT) && send_some(fd, &s) < 0)
			goto out;
		if (p[1].revents) {
			got = stdin_frame(in, raw, &s);
			if (got < 0)
				goto out;
			stdin_done = got;
			if (send_some(fd, &s) < 0)
				goto out;
		}
	}
done:
	/* the agent drops stdin frames up to the end frame: finish the one on
	 * its way, then send the end, so the connection can carry more */
	if (s.off < s.len && agent_write_all(fd, s.buf + s.off, s.len - s.off) < 0)
		goto out;
	if (!stdin_done) {
		static const char eof[] = "{\"stdin_eof\":true}\n";

		if (agent_write_all(fd, eof, sizeof(eof) - 1) < 0)
			goto out;
	}
	rc = 0;
out:
	cJSON_Delete(req);
	free(s.buf);
	free(raw);
	agent_reader_release(&r);
	return rc;
}

int agent_client_read_file(int fd, const char *path, long long offset, long long length, agent_data_fn *sink,
			   void *ctx, struct agent_file_info *info, struct agent_err *ae)
{
	struct agent_reader r;
	struct agent_err e;
	cJSON *req, *o = NULL;
	const cJSON *x;
	char *raw = malloc(AGENT_RAW_MAX), *line;
	size_t len;
	long n;
	int rc = -1;

	clear(ae);
	memset(info, 0, sizeof(*info));
	req = cJSON_CreateObject();
	if (!raw || !req || agent_reader_init(&r, fd) < 0) {
		free(raw);
		cJSON_Delete(req);
		return error_errno("unable to allocate a read's buffers");
	}
	cJSON_AddStringToObject(req, "op", "read_file");
	cJSON_AddStringToObject(req, "path", path);
	if (offset)
		cJSON_AddNumberToObject(req, "offset", (double)offset);
	if (length >= 0)
		cJSON_AddNumberToObject(req, "length", (double)length);
	if (send_request(fd, req, &r, "read_file", ae) < 0)
		goto out;
	for (;;) {
		if (next_line(&r, -1, "read_file", &line, &len) < 0)
			goto out;
		n = agent_frame_fast(line, len, "data", raw);
		if (n < 0) {
			o = reply(line, len, "read_file");
			if (!o || agent_said_no(o, "read_file", ae))
				goto out;
			x = cJSON_GetObjectItemCaseSensitive(o, "data");
			if (!x)
				break;
			n = agent_frame_decode(x, "data", raw, &e);
			if (n < 0) {
				error_code(EXIT_TEMP, "the agent sent a bad frame: %s", e.message);
				goto out;
			}
			cJSON_Delete(o);
			o = NULL;
		}
		if (n && sink(ctx, raw, (size_t)n) < 0)
			goto out;
		info->bytes += n;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "eof"))) {
		error_code(EXIT_TEMP, "the agent sent a read_file line with neither data nor the end");
		goto out;
	}
	x = cJSON_GetObjectItemCaseSensitive(o, "size");
	info->size = cJSON_IsNumber(x) ? (long long)x->valuedouble : 0;
	x = cJSON_GetObjectItemCaseSensitive(o, "mode");
	info->mode = cJSON_IsString(x) ? (int)strtol(x->valuestring, NULL, 8) & 07777 : 0644;
	rc = 0;
out:
	cJSON_Delete(o);
	cJSON_Delete(req);
	free(raw);
	agent_reader_release(&r);
	return rc;
}

int agent_client_write_file(int fd, const char *path, int mode, int src_fd, agent_progress_fn *progress,
			    void *ctx, struct agent_file_info *info, struct agent_err *ae)
{
	static const char eof[] = "{\"eof\":true}\n";
	size_t size = agent_frame_size(AGENT_RAW_MAX);
	char *raw = malloc(AGENT_RAW_MAX), *frame = malloc(size);
	struct agent_reader r;
	cJSON *req, *o = NULL;
	ssize_t n;
	long len;
	int rc = -1;

	clear(ae);
	memset(info, 0, sizeof(*info));
	req = cJSON_CreateObject();
	if (!raw || !frame || !req || agent_reader_init(&r, fd) < 0) {
		free(raw);
		free(frame);
		cJSON_Delete(req);
		return error_errno("unable to allocate a write's buffers");
	}
	cJSON_AddStringToObject(req, "op", "write_file");
	cJSON_AddStringToObject(req, "path", path);
	if (mode >= 0) {
		char m[8];

		snprintf(m, sizeof(m), "%04o", (unsigned)mode & 07777);
		cJSON_AddStringToObject(req, "mode", m);
	}
	if (send_request(fd, req, &r, "write_file", ae) < 0)
		goto out;
	for (;;) {
		/* an early answer is an error (the agent drops what follows) */
		if (agent_reader_fill(&r) == 1 || r.eof) {
			o = next_reply(&r, -1, "write_file");
			if (o && !agent_said_no(o, "write_file", ae))
				error_code(EXIT_TEMP, "the agent answered write_file before the end");
			if (agent_write_all(fd, eof, sizeof(eof) - 1) < 0) {
				/* it is gone: the error above says more */
			}
			goto out;
		}
		do
			n = read(src_fd, raw, AGENT_RAW_MAX);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			error_errno("unable to read the file to send");
			goto out; /* closing the connection leaves the old file whole */
		}
		if (n == 0)
			break;
		len = agent_frame(NULL, "data", raw, (size_t)n, frame, size);
		if (len < 0 || agent_write_all(fd, frame, (size_t)len) < 0)
			goto out;
		info->bytes += n;
		if (progress)
			progress(ctx, info->bytes);
	}
	if (agent_write_all(fd, eof, sizeof(eof) - 1) < 0)
		goto out;
	o = next_reply(&r, -1, "write_file");
	if (!o || agent_said_no(o, "write_file", ae))
		goto out;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
		error_code(EXIT_TEMP, "the agent's answer to write_file lacks \"ok\":true");
		goto out;
	}
	info->size = info->bytes;
	info->mode = mode;
	rc = 0;
out:
	cJSON_Delete(o);
	cJSON_Delete(req);
	free(raw);
	free(frame);
	agent_reader_release(&r);
	return rc;
}
