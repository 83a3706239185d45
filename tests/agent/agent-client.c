/* agent-client: a small client of ember-agent for the tests and for people,
 * built on lib/agent_client.c (what ember-vm's verbs call).
 *
 *   agent-client (--uds PATH | --hvsock PATH | --vsock CID) [--port N] [--timeout-ms N] CMD ...
 *     ping                      "ok VERSION PROTOCOL"
 *     wait                      ping again until it answers or --timeout-ms
 *                               (--hvsock only)
 *     status                    the reply line
 *     exec [--stdin] [--env K=V]... [--cwd DIR] [--limit-ms N] [--result FILE]
 *          (--command STRING | [--] ARGV...)
 *                               output streamed to ours; exit status the
 *                               command's (128 + N for signal N, 124 timed
 *                               out); FILE gets "exit_code signal timed_out
 *                               duration_ms" ("-" for none)
 *     read REMOTE LOCAL         LOCAL written whole (a temporary file renamed)
 *                               with the remote mode; prints "size mode bytes"
 *     write LOCAL REMOTE [MODE] prints the bytes written
 *     raw N [FILE]              send FILE (default stdin) verbatim while
 *                               reading, print N reply lines (fewer if the
 *                               agent closes; 111 after --timeout-ms of
 *                               silence)
 *     flood N                   N connections at once, a ping on each, one
 *                               reply each: prints "ok=X busy=Y other=Z"
 *     hold                      send stdin verbatim, then keep the
 *                               connection open until killed
 * An error: one line on stderr, and the exit code it stands for. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent_client.h"
#include "error.h"
#include "file.h"
#include "hvsock.h"

static const char *uds, *hvsock, *vsock_cid;
static unsigned port = AGENT_PORT;
static int timeout_ms = 5000;

static void die(void)
{
	fprintf(stderr, "agent-client: %s\n", error_message());
	if (error_hint_text())
		fprintf(stderr, "hint: %s\n", error_hint_text());
	exit(error_exit_code());
}

static void usage(void)
{
	fprintf(stderr, "usage: agent-client (--uds PATH | --hvsock PATH | --vsock CID) [--port N] [--timeout-ms N] CMD ...\n");
	exit(100);
}

static int dial(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (hvsock) {
		fd = hvsock_connect(hvsock, port, timeout_ms);
		if (fd < 0)
			die();
		return fd;
	}
	if (vsock_cid) {
		/* a real AF_VSOCK connection (vsock_loopback: CID 1) */
		struct sockaddr_vm vm = {.svm_family = AF_VSOCK, .svm_cid = (unsigned)atol(vsock_cid), .svm_port = port};

		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&vm, sizeof(vm)) < 0) {
			error_errno("unable to connect to vsock %s:%u", vsock_cid, port);
			die();
		}
		return fd;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		error_errno("unable to connect to '%s'", uds);
		die();
	}
	return fd;
}

static int cmd_ping(void)
{
	struct agent_ping p;
	int fd = dial();

	if (agent_client_ping(fd, timeout_ms, &p, NULL) < 0)
		die();
	printf("ok %s %d\n", p.version, p.protocol);
	close(fd);
	return 0;
}

static int cmd_wait(void)
{
	struct agent_ping p;

	if (!hvsock)
		usage();
	if (agent_client_wait(hvsock, port, timeout_ms, &p) < 0)
		die();
	printf("ok %s %d\n", p.version, p.protocol);
	return 0;
}

static int cmd_status(void)
{
	struct agent_reader r;
	char *line;
	size_t n;
	int fd = dial();
	static const char req[] = "{\"op\":\"status\"}\n";

	if (agent_reader_init(&r, fd) < 0 || agent_write_all(fd, req, sizeof(req) - 1) < 0 ||
	    agent_read_line(&r, timeout_ms, &line, &n) != AGENT_LINE)
		die();
	printf("%s\n", line);
	agent_reader_release(&r);
	close(fd);
	return 0;
}

static int write_out(void *ctx, int stream, const char *data, size_t n)
{
	(void)ctx;
	while (n) {
		ssize_t w = write(stream, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return error_errno("unable to write the output");
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

static int cmd_exec(int argc, char **argv)
{
	struct agent_exec_spec spec = {.stdin_fd = -1};
	struct agent_exec_result res;
	const char *env[64], *result = NULL;
	int nenv = 0, i, fd;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stdin") == 0)
			spec.stdin_fd = 0;
		else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc && nenv < 63)
			env[nenv++] = argv[++i];
		else if (strcmp(argv[i], "--cwd") == 0 && i + 1 < argc)
			spec.cwd = argv[++i];
		else if (strcmp(argv[i], "--limit-ms") == 0 && i + 1 < argc)
			spec.timeout_ms = atoll(argv[++i]);
		else if (strcmp(argv[i], "--result") == 0 && i + 1 < argc)
			result = argv[++i];
		else if (strcmp(argv[i], "--command") == 0 && i + 1 < argc)
			spec.command = argv[++i];
		else if (strcmp(argv[i], "--") == 0 || argv[i][0] != '-') {
			/* the command's argv: after "--", or from the first word
			 * that is no option */
			spec.argv = (const char *const *)argv + i + (argv[i][0] == '-');
			break;
		} else
			usage();
	}
	if (!spec.argv && !spec.command)
		usage();
	env[nenv] = NULL;
	if (nenv)
		spec.env = env;
	fd = dial();
	if (agent_client_exec(fd, &spec, write_out, NULL, &res, NULL) < 0)
		die();
	close(fd);
	if (result) {
		FILE *f = fopen(result, "w");

		if (!f)
			return 111;
		if (res.exit_code >= 0)
			fprintf(f, "%d ", res.exit_code);
		else
			fprintf(f, "- ");
		if (res.signal)
			fprintf(f, "%d ", res.signal);
		else
			fprintf(f, "- ");
		fprintf(f, "%d %lld\n", res.timed_out, res.duration_ms);
		fclose(f);
	}
	if (res.timed_out)
		return 124;
	return res.signal ? 128 + res.signal : res.exit_code;
}

/* The local file of a read, written back as it comes (as ember-vm cp's). */
struct sink {
	int fd;
	off_t done, behind;
};

static int sink(void *ctx, const char *data, size_t n)
{
	struct sink *s = ctx;

	if (write_out(NULL, s->fd, data, n) < 0)
		return -1;
	s->done += (off_t)n;
	file_write_behind(s->fd, s->done, &s->behind);
	return 0;
}

static int cmd_read(const char *remote, const char *local)
{
	struct agent_file_info info;
	struct sink s = {0};
	char tmp[4096];
	int fd = dial(), out;

	snprintf(tmp, sizeof(tmp), "%s.part.%d", local, (int)getpid());
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		error_errno("unable to create '%s'", tmp);
		die();
	}
	s.fd = out;
	if (agent_client_read_file(fd, remote, 0, -1, sink, &s, &info, NULL) < 0) {
		unlink(tmp);
		die();
	}
	if (fchmod(out, (mode_t)info.mode) < 0 || fsync(out) < 0 || close(out) < 0 || rename(tmp, local) < 0) {
		error_errno("unable to write '%s'", local);
		unlink(tmp);
		die();
	}
	printf("%lld %04o %lld\n", info.size, info.mode, info.bytes);
	close(fd);
	return 0;
}

static int cmd_write(const char *local, const char *remote, const char *mode)
{
	struct agent_file_info info;
	int in = open(local, O_RDONLY | O_CLOEXEC), fd;
	struct stat st;

	if (in < 0 || fstat(in, &st) < 0) {
		error_errno("unable to open '%s'", local);
		die();
	}
	fd = dial();
	if (agent_client_write_file(fd, remote, mode ? (int)strtol(mode, NULL, 8) : (int)(st.st_mode & 07777), in,
				    NULL, NULL, &info, NULL) < 0)
		die();
	printf("%lld\n", info.bytes);
	close(fd);
	return 0;
}

/* Send stdin verbatim while printing up to N reply lines. */
static int cmd_raw(int lines, int hold, const char *file)
{
	struct agent_reader r;
	char buf[65536], *line;
	size_t n, off = 0, len = 0;
	int fd = dial(), in_open = 1, printed = 0, rc, in = 0;

	if (file && (in = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		error_errno("unable to open '%s'", file);
		die();
	}
	if (agent_reader_init(&r, fd) < 0)
		die();
	while (printed < lines || in_open || off < len) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};

		while (printed < lines && (rc = agent_reader_line(&r, &line, &n)) != AGENT_NONE) {
			if (rc == AGENT_LINE) {
				printf("%s\n", line);
				printed++;
			}
		}
		fflush(stdout);
		if (printed >= lines && !in_open && off == len)
			break;
		if (r.eof && (printed >= lines || !hold))
			break;
		if (off < len)
			p[0].events |= POLLOUT;
		else if (in_open)
			p[1].fd = in;
		if (r.eof)
			p[0].events &= ~POLLIN;
		rc = poll(p, 2, hold ? -1 : timeout_ms);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc == 0) {
			error_code(EXIT_TEMP, "no reply within %d ms (%d of %d lines)", timeout_ms, printed, lines);
			die();
		}
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !r.eof && agent_reader_fill(&r) < 0)
			break;
		if (p[0].revents & POLLOUT) {
			ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w < 0 && errno != EAGAIN)
				break;
			if (w > 0)
				off += (size_t)w;
		}
		if (p[1].revents) {
			ssize_t got = read(in, buf, sizeof(buf));

			if (got <= 0)
				in_open = 0;
			else {
				off = 0;
				len = (size_t)got;
			}
		}
	}
	if (hold) {
		for (;;)
			pause();
	}
	agent_reader_release(&r);
	close(fd);
	return 0;
}

static int cmd_flood(int count)
{
	static const char req[] = "{\"op\":\"ping\"}\n";
	int *fds = calloc((size_t)count, sizeof(int)), ok = 0, busy = 0, other = 0, i;

	for (i = 0; i < count; i++)
		fds[i] = dial();
	for (i = 0; i < count; i++)
		if (send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL) < 0) {
			/* refused already: its error line is there to read */
		}
	for (i = 0; i < count; i++) {
		struct agent_reader r;
		char *line;
		size_t n;

		if (agent_reader_init(&r, fds[i]) < 0)
			die();
		if (agent_read_line(&r, 30000, &line, &n) == AGENT_LINE) {
			if (strstr(line, "\"ok\":true"))
				ok++;
			else if (strstr(line, "\"EBUSY\""))
				busy++;
			else
				other++;
		} else {
			other++;
		}
		agent_reader_release(&r);
	}
	for (i = 0; i < count; i++)
		close(fds[i]);
	free(fds);
	printf("ok=%d busy=%d other=%d\n", ok, busy, other);
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--uds") == 0)
			uds = argv[i + 1];
		else if (strcmp(argv[i], "--hvsock") == 0)
			hvsock = argv[i + 1];
		else if (strcmp(argv[i], "--vsock") == 0)
			vsock_cid = argv[i + 1];
		else if (strcmp(argv[i], "--port") == 0)
			port = (unsigned)atol(argv[i + 1]);
		else if (strcmp(argv[i], "--timeout-ms") == 0)
			timeout_ms = atoi(argv[i + 1]);
		else
			usage();
	}
	if ((!uds && !hvsock && !vsock_cid) || i >= argc)
		usage();
	argc -= i;
	argv += i;
	if (strcmp(argv[0], "ping") == 0)
		return cmd_ping();
	if (strcmp(argv[0], "wait") == 0)
		return cmd_wait();
	if (strcmp(argv[0], "status") == 0)
		return cmd_status();
	if (strcmp(argv[0], "exec") == 0)
		return cmd_exec(argc, argv);
	if (strcmp(argv[0], "read") == 0 && argc == 3)
		return cmd_read(argv[1], argv[2]);
	if (strcmp(argv[0], "write") == 0 && (argc == 3 || argc == 4))
		return cmd_write(argv[1], argv[2], argc == 4 ? argv[3] : NULL);
	if (strcmp(argv[0], "raw") == 0 && (argc == 2 || argc == 3))
		return cmd_raw(atoi(argv[1]), 0, argc == 3 ? argv[2] : NULL);
	if (strcmp(argv[0], "flood") == 0 && argc == 2)
		return cmd_flood(atoi(argv[1]));
	if (strcmp(argv[0], "hold") == 0)
		return cmd_raw(0, 1, NULL);
	usage();
}
