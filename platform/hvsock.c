#include "hvsock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

/* "OK " and a u32 in decimal: at most 10 digits */
#define OK_MAX 16

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hvsock_ok_line(const char *line, size_t n)
{
	size_t i;

	if (n < 5 || n > OK_MAX || memcmp(line, "OK ", 3) != 0 || line[n - 1] != '\n')
		return 0;
	for (i = 3; i < n - 1; i++)
		if (line[i] < '0' || line[i] > '9')
			return 0;
	return 1;
}

enum { ATTEMPT_OK = 0, ATTEMPT_RETRY = 1, ATTEMPT_FAIL = -1 };

/* Read the OK line byte by byte, so that nothing past it is taken from the
 * guest's stream. */
static int read_ok(int fd, const char *path, long long deadline)
{
	char line[OK_MAX + 1];
	size_t n = 0;
	ssize_t r;

	while (n < OK_MAX) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();

		if (left <= 0)
			return ATTEMPT_RETRY;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? ATTEMPT_RETRY : error_errno("unable to wait for '%s'", path);
		r = read(fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET)
			return ATTEMPT_RETRY;
		if (r < 0)
			return error_errno("unable to read from '%s'", path);
		if (r == 0) {
			if (n == 0)
				return ATTEMPT_RETRY; /* nothing listening yet */
			break;
		}
		if (line[n++] == '\n')
			break;
	}
	if (hvsock_ok_line(line, n))
		return ATTEMPT_OK;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return error_code(EXIT_TEMP, "unexpected answer from the hybrid vsock '%s': '%s'", path, line);
}

static int attempt(const char *path, unsigned port, long long deadline, int *fdp)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char msg[32];
	int fd, n, rc;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno("unable to create a socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int errnum = errno;

		close(fd);
		if (errnum == ENOENT || errnum == ECONNREFUSED || errnum == EAGAIN)
			return ATTEMPT_RETRY;
		return error_errnum(errnum, "unable to connect to '%s'", path);
	}
	n = snprintf(msg, sizeof(msg), "CONNECT %u\n", port);
	/* one write: Firecracker reads the line from a non-blocking stream */
	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return ATTEMPT_RETRY;
	}
	rc = read_ok(fd, path, deadline);
	if (rc != ATTEMPT_OK) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return ATTEMPT_OK;
}

int hvsock_connect(const char *path, unsigned port, int timeout_ms)
{
	long long start = now_ms(), deadline = start + (timeout_ms > 0 ? timeout_ms : 0), left;
	int fd = -1, rc;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return error_code(EXIT_USAGE, "socket path too long '%s'", path);
	for (;;) {
		rc = attempt(path, port, deadline, &fd);
		if (rc == ATTEMPT_OK)
			return fd;
		if (rc == ATTEMPT_FAIL)
			return -1;
		left = deadline - now_ms();
		if (left <= 0)
			break;
		/* the last try at the deadline itself */
		poll(NULL, 0, (int)(left < HVSOCK_RETRY_MS ? left : HVSOCK_RETRY_MS));
	}
	error_code(EXIT_TEMP, "the agent did not answer on '%s' port %u: waited %.1f s", path, port,
		   (now_ms() - start) / 1000.0);
	error_hint("is the guest up, and ember-agent serving there (vsock port %u)?", port);
	return -1;
}
