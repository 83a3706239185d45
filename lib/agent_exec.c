/* exec: the child in its own session and process group, its output streamed
 * as it comes with back-pressure (one frame in flight: while it waits for
 * the socket, the pipes are not read, so a slow host slows the child), stdin
 * from frames, a timeout that ends the whole group, and the end as soon as
 * the child is reaped and its pipes are at EOF, or 500 ms after it is
 * reaped whatever holds the pipes. A host that goes away (its end of the
 * stream, or a hang-up) takes the command's whole group with it. */
#include "agent_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define KILL_GRACE_MS 2000
#define LINGER_MS 500
/* after the linger, at most this much more is read from a pipe that a
 * grandchild keeps writing to */
#define LINGER_BYTES (1024 * 1024)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct run {
	struct agent_conn *c;
	const struct agent_request *r;
	pid_t pid;
	int pidfd;
	int out[2];       /* our ends of the child's stdout and stderr, -1 closed */
	int in;           /* our end of its stdin, -1 closed */
	long long linger_read[2];
	/* the frame being written to the socket */
	size_t line_off, line_len;
	/* stdin: decoded bytes waiting for the pipe */
	char *stdin_buf;
	size_t stdin_off, stdin_len;
	int stdin_eof;    /* the end frame came */
	int stdin_broken; /* the child closed its stdin: frames are dropped */
	int status, reaped, timed_out, killed, lingered;
	long long start, deadline, kill_at, reaped_at;
	struct agent_err err; /* a bad frame ends the exec with this */
	int failed;
};

/* The agent's environment with the request's on top. */
static char **make_env(const cJSON *env)
{
	size_t n = 0, k = 0, i;
	const cJSON *x;
	char **envp;

	for (i = 0; environ[i]; i++)
		n++;
	cJSON_ArrayForEach(x, env) n++;
	envp = calloc(n + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (i = 0; environ[i]; i++) {
		size_t len = strcspn(environ[i], "=");
		int overridden = 0;

		cJSON_ArrayForEach(x, env) {
			if (strlen(x->string) == len && strncmp(x->string, environ[i], len) == 0)
				overridden = 1;
		}
		if (!overridden)
			envp[k++] = environ[i];
	}
	cJSON_ArrayForEach(x, env) {
		size_t len = strlen(x->string) + strlen(x->valuestring) + 2;
		char *s = malloc(len);

		if (!s)
			break;
		snprintf(s, len, "%s=%s", x->string, x->valuestring);
		envp[k++] = s;
	}
	return envp;
}

static void free_env(char **envp, const cJSON *env)
{
	size_t i;

	if (!envp)
		return;
	for (i = 0; envp[i]; i++) {
		int ours = 1, j;

		for (j = 0; environ[j]; j++)
			if (envp[i] == environ[j])
				ours = 0;
		if (ours)
			free(envp[i]);
	}
	(void)env;
	free(envp);
}

static int check_cwd(const char *cwd, struct agent_err *e)
{
	struct stat st;

	if (stat(cwd, &st) < 0)
		return agent_err_set(e, NULL, errno, "unable to change to '%s': %s", cwd, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return agent_err_set(e, NULL, ENOTDIR, "unable to change to '%s': %s", cwd, strerror(ENOTDIR));
	return 0;
}

/* Start the child. 0, or -1 with E filled. */
static int spawn(struct run *x, struct agent_err *e)
{
	const struct agent_request *r = x->r;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, rc = -1, n, i;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char **envp = NULL;
	sigset_t all, none;

	if (r->cwd && check_cwd(r->cwd, e) < 0)
		return -1;
	if (r->env && !(envp = make_env(r->env)))
		return agent_err_set(e, NULL, ENOMEM, "out of memory");
	if ((r->stdin_frames ? pipe2(in, O_CLOEXEC) : (in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC))) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		agent_err_set(e, NULL, errno, "unable to create a pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (r->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, r->cwd);
	/* its own session and group; the signals as a fresh process has them
	 * (the agent ignores SIGPIPE and blocks others) */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	n = posix_spawnp(&x->pid, r->argv[0], &fa, &attr, (char *const *)r->argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (n != 0) {
		agent_err_set(e, NULL, n, "unable to run '%s': %s", r->argv[0], strerror(n));
		goto out;
	}
	x->in = r->stdin_frames ? in[1] : -1;
	x->out[0] = out[0];
	x->out[1] = err[0];
	in[1] = out[0] = err[0] = -1;
	for (i = 0; i < 2; i++)
		fcntl(x->out[i], F_SETFL, O_NONBLOCK);
	if (x->in >= 0)
		fcntl(x->in, F_SETFL, O_NONBLOCK);
	x->pidfd = (int)syscall(SYS_pidfd_open, x->pid, 0);
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free_env(envp, r->env);
	return rc;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void reap(struct run *x)
{
	int st;

	if (x->reaped)
		return;
	if (waitpid(x->pid, &st, WNOHANG) == x->pid) {
		x->status = st;
		x->reaped = 1;
		x->reaped_at = now_ms();
	}
}

/* The host is gone: the whole group goes too. */
static void kill_group(struct run *x)
{
	int st;

	kill(-x->pid, SIGKILL);
	if (!x->reaped)
		while (waitpid(x->pid, &st, 0) < 0 && errno == EINTR)
			;
	x->reaped = 1;
}

/* Read what the pipe I holds now into one frame. 1 a frame is pending, 0
 * nothing now, and the pipe closed at EOF (or after the linger). */
static int read_output(struct run *x, int i)
{
	static const char *const keys[] = {"stdout", "stderr"};
	size_t got = 0;
	ssize_t n;
	long len;

	while (got < AGENT_RAW_MAX) {
		n = read(x->out[i], x->c->raw + got, AGENT_RAW_MAX - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* EOF; an error; or empty after the linger: done with it */
			if (n == 0 || errno != EAGAIN || x->lingered)
				close_fd(&x->out[i]);
			break;
		}
		got += (size_t)n;
		if (x->lingered && (x->linger_read[i] += n) > LINGER_BYTES) {
			close_fd(&x->out[i]);
			break;
		}
	}
	if (!got)
		return 0;
	len = agent_frame(x->r->id, keys[i], x->c->raw, got, x->c->frame, x->c->frame_size);
	if (len < 0)
		return 0;
	x->line_off = 0;
	x->line_len = (size_t)len;
	return 1;
}

/* Take stdin frames from what the reader holds, while the pipe has room. */
static void take_stdin(struct run *x)
{
	char *line;
	size_t n;
	long got;
	int rc, eof;

	while (!x->failed && !x->stdin_eof && x->stdin_off == x->stdin_len) {
		rc = agent_reader_line(&x->c->in, &line, &n);
		if (rc == AGENT_NONE)
			break;
		if (rc == AGENT_TOO_LONG) {
			agent_err_set(&x->err, "E2BIG", 0, "a line is longer than %d bytes", AGENT_LINE_MAX);
			x->failed = 1;
			break;
		}
		if (strspn(line, " \t\r") == n)
			continue;
		got = agent_frame_parse(line, n, "stdin", "stdin_eof", x->stdin_buf, &eof, &x->err);
		if (got < 0) {
			x->failed = 1;
			break;
		}
		x->stdin_off = 0;
		x->stdin_len = x->stdin_broken ? 0 : (size_t)got;
		x->stdin_eof = eof;
	}
	if (x->stdin_eof && x->stdin_off == x->stdin_len)
		close_fd(&x->in);
}

static void write_stdin(struct run *x)
{
	ssize_t n = write(x->in, x->stdin_buf + x->stdin_off, x->stdin_len - x->stdin_off);

	if (n > 0) {
		x->stdin_off += (size_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* the child closed its stdin: what comes is dropped */
		x->stdin_broken = 1;
		x->stdin_off = x->stdin_len = 0;
		close_fd(&x->in);
	}
}

/* Whether the exec is over: the child reaped, its pipes done, the frame
 * sent, and after a timeout, the group killed or empty. */
static int over(struct run *x)
{
	if (!x->reaped || x->out[0] >= 0 || x->out[1] >= 0 || x->line_off < x->line_len)
		return 0;
	if (x->timed_out && !x->killed) {
		if (kill(-x->pid, 0) < 0 && errno == ESRCH)
			x->killed = 1;
		return x->killed;
	}
	return 1;
}

static void timers(struct run *x)
{
	long long t = now_ms();

	if (x->deadline && !x->timed_out && !x->reaped && t >= x->deadline) {
		x->timed_out = 1;
		kill(-x->pid, SIGTERM);
		x->kill_at = t + KILL_GRACE_MS;
	}
	if (x->timed_out && !x->killed && t >= x->kill_at) {
		kill(-x->pid, SIGKILL);
		x->killed = 1;
	}
	if (x->reaped && !x->lingered && t >= x->reaped_at + LINGER_MS)
		x->lingered = 1;
}

/* How long poll may sleep. */
static int wait_ms(struct run *x)
{
	long long t = now_ms(), next = -1;

#define SOONER(at) \
	do { \
		if (next < 0 || (at) < next) \
			next = (at); \
	} while (0)
	if (x->deadline && !x->timed_out && !x->reaped)
		SOONER(x->deadline);
	if (x->timed_out && !x->killed)
		SOONER(x->reaped ? t + 50 : x->kill_at); /* is the group empty yet? */
	if (x->reaped && !x->lingered)
		SOONER(x->reaped_at + LINGER_MS);
	if (!x->reaped && x->pidfd < 0)
		SOONER(t + 20); /* no pidfd (before Linux 5.3): look now and then */
	if (x->lingered && x->line_off == x->line_len && (x->out[0] >= 0 || x->out[1] >= 0))
		SOONER(t); /* drain what is there, then end */
#undef SOONER
	if (next < 0)
		return -1;
	return next <= t ? 0 : (int)(next - t);
}

/* The loop. 0 when the exec ran its course (or a frame was bad: x->failed),
 * -1 when the host is gone. */
static int pump(struct run *x)
{
	struct agent_conn *c = x->c;
	struct pollfd p[5];
	int n, i;

	for (;;) {
		if (x->r->stdin_frames)
			take_stdin(x);
		if (x->failed)
			return 0;
		timers(x);
		/* after the linger: what the pipes hold now, then they close
		 * (output is read only while no frame waits for the socket) */
		if (x->lingered && x->line_off == x->line_len) {
			for (i = 0; i < 2; i++) {
				if (x->out[i] >= 0 && read_output(x, i))
					break;
			}
		}
		if (over(x))
			return 0;
		p[0] = (struct pollfd){.fd = c->fd, .events = agent_reader_room(&c->in) ? POLLIN : 0};
		if (x->line_off < x->line_len)
			p[0].events |= POLLOUT;
		for (i = 0; i < 2; i++)
			p[1 + i] = (struct pollfd){.fd = x->line_off < x->line_len ? -1 : x->out[i], .events = POLLIN};
		p[3] = (struct pollfd){.fd = x->stdin_off < x->stdin_len ? x->in : -1, .events = POLLOUT};
		p[4] = (struct pollfd){.fd = x->reaped ? -1 : x->pidfd, .events = POLLIN};
		n = poll(p, 5, wait_ms(x));
		if (n < 0 && errno != EINTR)
			return -1;
		if (n <= 0) {
			reap(x);
			continue;
		}
		if (p[0].revents & (POLLHUP | POLLERR))
			return -1;
		/* the end of the host's stream is the host gone, even when only
		 * half of it is closed (what a proxy in between may pass on) */
		if ((p[0].revents & POLLIN) && agent_reader_fill(&c->in) <= 0)
			return -1;
		if (p[0].revents & POLLOUT) {
			ssize_t w = send(c->fd, c->frame + x->line_off, x->line_len - x->line_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
			if (w > 0)
				x->line_off += (size_t)w;
		}
		if (p[3].revents)
			write_stdin(x);
		if (p[4].revents)
			reap(x);
		if (x->pidfd < 0)
			reap(x);
		for (i = 0; i < 2 && x->line_off == x->line_len; i++) {
			if (p[1 + i].revents && read_output(x, i))
				break;
		}
	}
}

static int result(struct run *x)
{
	cJSON *o = agent_reply(x->r->id);
	int st = x->status;

	if (!o)
		return 0;
	if (WIFEXITED(st))
		cJSON_AddNumberToObject(o, "exit_code", WEXITSTATUS(st));
	else
		cJSON_AddNullToObject(o, "exit_code");
	if (WIFSIGNALED(st))
		cJSON_AddNumberToObject(o, "signal", WTERMSIG(st));
	else
		cJSON_AddNullToObject(o, "signal");
	cJSON_AddBoolToObject(o, "timed_out", x->timed_out);
	cJSON_AddNumberToObject(o, "duration_ms", (double)(now_ms() - x->start));
	return agent_conn_reply(x->c, o);
}

int agent_exec_run(struct agent_conn *c, const struct agent_request *r)
{
	struct run x = {.c = c, .r = r, .pid = -1, .pidfd = -1, .out = {-1, -1}, .in = -1};
	struct agent_err e;
	int rc;

	if (r->stdin_frames) {
		/* whatever happens, frames may follow: drop them up to the end */
		c->drain_key = "stdin";
		c->drain_eof = "stdin_eof";
		x.stdin_buf = malloc(AGENT_RAW_MAX);
		if (!x.stdin_buf) {
			agent_err_set(&e, NULL, ENOMEM, "out of memory");
			return agent_conn_error(c, r->id, &e);
		}
	}
	x.start = now_ms();
	if (spawn(&x, &e) < 0) {
		free(x.stdin_buf);
		return agent_conn_error(c, r->id, &e);
	}
	if (r->timeout_ms)
		x.deadline = x.start + r->timeout_ms;
	rc = pump(&x);
	if (rc < 0 || x.failed)
		kill_group(&x);
	close_fd(&x.in);
	close_fd(&x.out[0]);
	close_fd(&x.out[1]);
	close_fd(&x.pidfd);
	free(x.stdin_buf);
	if (rc < 0)
		return -1;
	if (r->stdin_frames && x.stdin_eof && !x.failed)
		c->drain_key = c->drain_eof = NULL;
	if (x.failed)
		return agent_conn_error(c, r->id, &x.err);
	return result(&x);
}
