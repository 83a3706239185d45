#include "agent_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base64.h"
#include "error.h"

#define READ_CHUNK (64 * 1024)
#define READER_CAP (AGENT_LINE_MAX + 1 + READ_CHUNK)
/* the longest key agent_frame writes ("stdout", "data", ...) */
#define FRAME_KEY_MAX 32

int agent_err_set(struct agent_err *e, const char *code, int errnum, const char *fmt, ...)
{
	const char *name = NULL;
	va_list ap;

	if (!code) {
		name = strerrorname_np(errnum);
		code = name ? name : "EIO";
	}
	snprintf(e->code, sizeof(e->code), "%s", code);
	e->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

cJSON *agent_reply(const cJSON *id)
{
	cJSON *o = cJSON_CreateObject();

	if (o && id)
		cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, 1));
	return o;
}

cJSON *agent_err_reply(const cJSON *id, const struct agent_err *e)
{
	cJSON *o = agent_reply(id), *err = cJSON_CreateObject();

	if (!o || !err) {
		cJSON_Delete(o);
		cJSON_Delete(err);
		return NULL;
	}
	cJSON_AddStringToObject(err, "code", e->code);
	cJSON_AddStringToObject(err, "message", e->message);
	if (e->errnum)
		cJSON_AddNumberToObject(err, "errno", e->errnum);
	cJSON_AddItemToObject(o, "error", err);
	return o;
}

int agent_reader_init(struct agent_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->buf = malloc(READER_CAP);
	if (!r->buf)
		return error_errno("unable to allocate a line buffer");
	return 0;
}

void agent_reader_release(struct agent_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

int agent_reader_line(struct agent_reader *r, char **line, size_t *n)
{
	char *s = r->buf + r->start, *nl;

	for (;;) {
		nl = r->len > r->scanned ? memchr(s + r->scanned, '\n', r->len - r->scanned) : NULL;
		if (r->skipping) {
			if (!nl) {
				r->start = r->len = r->scanned = 0;
				return AGENT_NONE;
			}
			r->skipping = 0;
			r->len -= (size_t)(nl + 1 - s);
			r->start += (size_t)(nl + 1 - s);
			s = nl + 1;
			r->scanned = 0;
			continue;
		}
		if (!nl) {
			r->scanned = r->len;
			if (r->len > AGENT_LINE_MAX) {
				/* too long: drop what is here and the rest of it */
				r->skipping = 1;
				r->start = r->len = r->scanned = 0;
				return AGENT_TOO_LONG;
			}
			return AGENT_NONE;
		}
		*nl = '\0';
		*line = s;
		*n = (size_t)(nl - s);
		r->len -= *n + 1;
		r->start += *n + 1;
		r->scanned = 0;
		if (*n > AGENT_LINE_MAX)
			return AGENT_TOO_LONG;
		return AGENT_LINE;
	}
}

int agent_reader_room(const struct agent_reader *r)
{
	return r->len <= AGENT_LINE_MAX && !r->eof;
}

int agent_reader_fill(struct agent_reader *r)
{
	ssize_t got;

	if (r->start && (r->len == 0 || r->start + r->len + READ_CHUNK > READER_CAP)) {
		memmove(r->buf, r->buf + r->start, r->len);
		r->start = 0;
	}
	if (r->start + r->len >= READER_CAP)
		return 2; /* full: the caller takes a line or drops it first */
	got = recv(r->fd, r->buf + r->start + r->len, READER_CAP - r->start - r->len, MSG_DONTWAIT);
	if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 2;
	if (got < 0)
		return error_errno("unable to read from the connection");
	if (got == 0) {
		r->eof = 1;
		return 0;
	}
	r->len += (size_t)got;
	return 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int agent_read_line(struct agent_reader *r, int timeout_ms, char **line, size_t *n)
{
	long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
	int rc;

	for (;;) {
		rc = agent_reader_line(r, line, n);
		if (rc != AGENT_NONE)
			return rc;
		if (r->eof)
			return AGENT_NONE;
		rc = agent_reader_fill(r);
		if (rc < 0)
			return -1;
		if (rc == 2) {
			struct pollfd p = {.fd = r->fd, .events = POLLIN};
			int wait = -1;

			if (timeout_ms >= 0) {
				wait = (int)(deadline - now_ms());
				if (wait <= 0) {
					errno = ETIMEDOUT;
					return error_code(EXIT_TEMP, "no answer within %d ms", timeout_ms);
				}
			}
			if (poll(&p, 1, wait) < 0 && errno != EINTR)
				return error_errno("unable to wait for the connection");
		}
	}
}

char *agent_line(const cJSON *obj, size_t *n)
{
	char *s = cJSON_PrintUnformatted(obj), *p;
	size_t len;

	if (!s) {
		error("unable to serialise a reply");
		return NULL;
	}
	len = strlen(s);
	p = realloc(s, len + 2);
	if (!p) {
		free(s);
		error_errno("unable to serialise a reply");
		return NULL;
	}
	p[len] = '\n';
	p[len + 1] = '\0';
	*n = len + 1;
	return p;
}

size_t agent_frame_size(size_t n)
{
	/* the line: the base64, the key and an id of AGENT_ID_MAX characters
	 * each escaped as \uXXXX, the braces, quotes and the newline */
	return BASE64_LEN(n) + 6 * AGENT_ID_MAX + 128;
}

long agent_frame(const cJSON *id, const char *key, const void *data, size_t n, char *buf, size_t size)
{
	size_t klen = strlen(key), len = 0;

	if (size < agent_frame_size(n) || klen > FRAME_KEY_MAX)
		return error("unable to build a frame");
	/* the bytes cJSON prints for {"id":ID,"KEY":"<base64>"}, with the
	 * base64 encoded in place: hundreds of KiB never copied again */
	buf[len++] = '{';
	if (id) {
		memcpy(buf + len, "\"id\":", 5);
		len += 5;
		if (!cJSON_PrintPreallocated((cJSON *)id, buf + len, (int)(size - len), 0))
			return error("unable to build a frame");
		len += strlen(buf + len);
		buf[len++] = ',';
	}
	buf[len++] = '"';
	memcpy(buf + len, key, klen);
	len += klen;
	memcpy(buf + len, "\":\"", 3);
	len += 3;
	len += base64_encode(data, n, buf + len);
	memcpy(buf + len, "\"}\n", 3);
	return (long)(len + 3);
}

/* The length of an id agent_frame_fast takes at S (N bytes): digits alone,
 * or a string of letters, digits and "-_.:"; 0 for anything else. */
static size_t fast_id(const char *s, size_t n)
{
	size_t i = 0;

	if (n && s[0] == '"') {
		for (i = 1; i < n && i <= AGENT_ID_MAX; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
			      s[i] == '.' || s[i] == ':'))
				break;
		return i < n && s[i] == '"' ? i + 1 : 0;
	}
	while (i < n && i < 15 && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

long agent_frame_fast(const char *line, size_t n, const char *key, void *dst)
{
	size_t klen = strlen(key), i = 1, id;

	if (n < 2 || line[0] != '{' || memcmp(line + n - 2, "\"}", 2) != 0)
		return -1;
	if (n - i > 5 && memcmp(line + i, "\"id\":", 5) == 0) {
		id = fast_id(line + i + 5, n - i - 5);
		if (!id || i + 5 + id >= n || line[i + 5 + id] != ',')
			return -1;
		i += 5 + id + 1;
	}
	if (n - i < klen + 6 || line[i] != '"' || memcmp(line + i + 1, key, klen) != 0 ||
	    memcmp(line + i + 1 + klen, "\":\"", 3) != 0)
		return -1;
	i += klen + 4;
	/* the base64 runs to the line's closing "}: it holds no quote and no
	 * backslash when it decodes, so cJSON would read the same string */
	if (n - 2 - i > AGENT_FRAME_MAX)
		return -1;
	return base64_decode(line + i, n - 2 - i, dst);
}

int agent_write_all(int fd, const char *buf, size_t n)
{
	size_t done = 0;
	ssize_t w;

	while (done < n) {
		w = send(fd, buf + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				return error_errno("unable to wait for the connection");
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return error_errno("unable to write to the connection");
		done += (size_t)w;
	}
	return 0;
}

int agent_send(int fd, const cJSON *obj)
{
	size_t n;
	char *line = agent_line(obj, &n);
	int rc;

	if (!line)
		return -1;
	rc = agent_write_all(fd, line, n);
	free(line);
	return rc;
}

cJSON *agent_parse(const char *line, size_t n, struct agent_err *e)
{
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(line, n, &end, 0);

	if (!o) {
		agent_err_set(e, "EBADREQ", 0, "invalid JSON at byte %ld",
			      (long)((end ? end : cJSON_GetErrorPtr()) - line));
		return NULL;
	}
	while (end && end < line + n && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (end && end < line + n) {
		cJSON_Delete(o);
		agent_err_set(e, "EBADREQ", 0, "invalid JSON: more after the object at byte %ld",
			      (long)(end - line));
		return NULL;
	}
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		agent_err_set(e, "EBADREQ", 0, "a request is a JSON object");
		return NULL;
	}
	return o;
}

long agent_frame_decode(const cJSON *item, const char *key, void *dst, struct agent_err *e)
{
	size_t len;
	long n;

	if (!cJSON_IsString(item))
		return agent_err_set(e, "EBADREQ", 0, "'%s' must be a base64 string", key);
	len = strlen(item->valuestring);
	if (len > AGENT_FRAME_MAX)
		return agent_err_set(e, "E2BIG", 0, "'%s' is %zu characters of base64, past the %d of a frame",
				     key, len, AGENT_FRAME_MAX);
	n = base64_decode(item->valuestring, len, dst);
	if (n < 0)
		return agent_err_set(e, "EBADREQ", 0, "'%s' is not valid base64", key);
	return n;
}

int agent_json_uint(const cJSON *x, long long *v)
{
	double d;

	if (!cJSON_IsNumber(x))
		return 0;
	d = x->valuedouble;
	if (!(d >= 0 && d <= 9007199254740992.0) || (double)(long long)d != d)
		return 0;
	*v = (long long)d;
	return 1;
}
