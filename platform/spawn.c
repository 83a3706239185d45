#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "lock.h"

extern char **environ;
int spawn_verbose;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	char *p;

	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;

		while (c < *len + n + 1)
			c *= 2;
		p = realloc(*buf, c);
		if (!p)
			return error_errno("unable to grow a buffer");
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static void print_argv(const char *const argv[])
{
	int i;

	fputs("+", stderr);
	for (i = 0; argv[i]; i++)
		fprintf(stderr, " %s", argv[i]);
	fputc('\n', stderr);
}

/* In the child, between fork and exec: only async-signal-safe calls. Its
 * own process group (a timeout kills what it started too), SIGKILL the
 * moment ember dies however ember is killed, the pipes on 0-2, ember's locks
 * kept open, SIGPIPE back to the default. On failure the errno goes to
 * REPORT (close-on-exec: nothing arrives when the exec succeeds). */
static void child(const char *const argv[], pid_t parent, const int in[2], const int out[2],
		  const int err[2], int report)
{
	int locks[LOCK_HELD_MAX], n, i, e;

	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127); /* ember is gone already */
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
		goto fail;
	/* the locks ember holds stay held by the child: flock belongs to the
	 * open file description, which the child shares */
	n = lock_held(locks);
	for (i = 0; i < n; i++)
		if (fcntl(locks[i], F_SETFD, 0) < 0)
			goto fail;
	execvp(argv[0], (char *const *)argv);
fail:
	e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int spawn_run(const char *const argv[], const char *input, size_t input_len,
	      int timeout_ms, struct spawn *s)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, rep[2] = {-1, -1};
	size_t out_cap = 0, err_cap = 0, written = 0;
	long long deadline;
	struct pollfd pfd[3];
	int rc = -1, wstatus, n, e;
	pid_t pid = -1, parent = getpid();
	char buf[8192];
	ssize_t r;

	memset(s, 0, sizeof(*s));
	if (spawn_verbose)
		print_argv(argv);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0) {
		error_errno("unable to create a pipe for '%s'", argv[0]);
		goto out;
	}
	/* a child that exits early must not kill us with SIGPIPE on its stdin */
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		error_errno("unable to run '%s'", argv[0]);
		goto out;
	}
	if (pid == 0)
		child(argv, parent, in, out, err, rep[1]);
	close(rep[1]);
	rep[1] = -1;
	do
		r = read(rep[0], &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof(e)) {
		waitpid(pid, &wstatus, 0);
		pid = -1;
		error_errnum(e, "unable to run '%s'", argv[0]);
		if (e == ENOENT)
			error_hint("install it, or check PATH");
		goto out;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	in[0] = out[1] = err[1] = -1;
	if (!input || input_len == 0) {
		close(in[1]);
		in[1] = -1;
	} else {
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	}

	deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	while (out[0] >= 0 || err[0] >= 0) {
		int wait_ms = -1;

		pfd[0] = (struct pollfd){.fd = out[0], .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = err[0], .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = in[1], .events = POLLOUT};
		if (deadline) {
			wait_ms = (int)(deadline - now_ms());
			if (wait_ms <= 0) {
				s->timed_out = 1;
				break;
			}
		}
		n = poll(pfd, 3, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_errno("unable to wait for '%s'", argv[0]);
			goto out;
		}
		if (pfd[2].revents) {
			r = write(in[1], input + written, input_len - written);
			if (r > 0)
				written += (size_t)r;
			if (r < 0 && errno != EAGAIN) {
				close(in[1]);
				in[1] = -1;
			} else if (written == input_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (pfd[0].revents) {
			r = read(out[0], buf, sizeof(buf));
			if (r > 0) {
				if (append(&s->out, &s->out_len, &out_cap, buf, (size_t)r) < 0)
					goto out;
			} else if (r == 0 || errno != EINTR) {
				close(out[0]);
				out[0] = -1;
			}
		}
		if (pfd[1].revents) {
			r = read(err[0], buf, sizeof(buf));
			if (r > 0) {
				if (append(&s->err, &s->err_len, &err_cap, buf, (size_t)r) < 0)
					goto out;
			} else if (r == 0 || errno != EINTR) {
				close(err[0]);
				err[0] = -1;
			}
		}
	}
	/* its output is closed; it may still run (a child that closed its
	 * stdout and stderr): the deadline holds for the wait too. A pidfd
	 * wakes us the moment it exits; without one (before Linux 5.3), poll
	 * its exit in short naps */
	if (!s->timed_out && deadline) {
		int pfd_fd = (int)syscall(SYS_pidfd_open, pid, 0);

		for (n = 1;;) {
			int left = (int)(deadline - now_ms());

			if (left <= 0) {
				s->timed_out = 1;
				break;
			}
			if (pfd_fd >= 0) {
				struct pollfd w = {.fd = pfd_fd, .events = POLLIN};

				r = poll(&w, 1, left);
				if (r < 0 && errno == EINTR)
					continue;
				if (r == 0)
					continue; /* the deadline, checked above */
				break; /* exited (or poll failed: waitpid tells) */
			}
			r = waitpid(pid, &wstatus, WNOHANG);
			if (r == pid)
				goto reaped;
			if (r < 0 && errno != EINTR) {
				error_errno("unable to wait for '%s'", argv[0]);
				goto out;
			}
			poll(NULL, 0, n < left ? n : left);
			n = n < 16 ? n * 2 : 16;
		}
		if (pfd_fd >= 0)
			close(pfd_fd);
	}
	if (s->timed_out) {
		kill(-pid, SIGKILL);
		waitpid(pid, &wstatus, 0);
		pid = -1;
		error_code(EXIT_TEMP, "'%s' did not finish within %d ms", argv[0], timeout_ms);
		goto out;
	}
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			error_errno("unable to wait for '%s'", argv[0]);
			goto out;
		}
	}
reaped:
	pid = -1;
	s->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	s->signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
	if (!s->out && append(&s->out, &s->out_len, &out_cap, "", 0) < 0)
		goto out;
	if (!s->err && append(&s->err, &s->err_len, &err_cap, "", 0) < 0)
		goto out;
	rc = 0;
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, &wstatus, 0);
	}
	for (n = 0; n < 2; n++) {
		if (rep[n] >= 0)
			close(rep[n]);
		if (in[n] >= 0)
			close(in[n]);
		if (out[n] >= 0)
			close(out[n]);
		if (err[n] >= 0)
			close(err[n]);
	}
	if (rc < 0)
		spawn_release(s);
	return rc;
}

int spawn_detached(const char *const argv[], const char *log, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int n;

	if (spawn_verbose)
		print_argv(argv);
	if (posix_spawn_file_actions_init(&fa) != 0)
		return error_errno("unable to run '%s'", argv[0]);
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return error_errno("unable to run '%s'", argv[0]);
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	/* nothing else of ours (nor of whoever ran us) for the whole of its life */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* a session of its own: no terminal signal of ours reaches it, and
	 * what it does to its group never reaches us; an ignored SIGPIPE
	 * (spawn_run's) would be inherited through exec */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	n = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (n != 0) {
		error_errnum(n, "unable to run '%s'", argv[0]);
		if (n == ENOENT)
			error_hint("install it, or check PATH");
		return -1;
	}
	return 0;
}

void spawn_release(struct spawn *s)
{
	free(s->out);
	free(s->err);
	s->out = s->err = NULL;
	s->out_len = s->err_len = 0;
}

/* The last line of TEXT (trailing blanks cut), or NULL when it is empty. */
static const char *last_line(char *text)
{
	char *end, *start;

	if (!text || !*text)
		return NULL;
	end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		*--end = '\0';
	if (!*text)
		return NULL;
	start = strrchr(text, '\n');
	return start ? start + 1 : text;
}

#define REASON_CLIP 240

const char *spawn_reason(struct spawn *s)
{
	const char *line = last_line(s->err_len ? s->err : NULL);
	char sig[32];
	int n;

	if (!line && !s->signal)
		line = last_line(s->out_len ? s->out : NULL);
	if (s->signal) {
		if (sigabbrev_np(s->signal))
			snprintf(sig, sizeof(sig), "SIG%s", sigabbrev_np(s->signal));
		else
			snprintf(sig, sizeof(sig), "signal %d", s->signal);
		n = snprintf(s->reason, sizeof(s->reason), "killed by %s%s%.*s%s", sig,
			     line ? ": " : "", REASON_CLIP, line ? line : "",
			     line && strlen(line) > REASON_CLIP ? "..." : "");
	} else if (line) {
		n = snprintf(s->reason, sizeof(s->reason), "%.*s%s", REASON_CLIP, line,
			     strlen(line) > REASON_CLIP ? "..." : "");
	} else {
		n = snprintf(s->reason, sizeof(s->reason), "exit status %d and no message",
			     s->status);
	}
	(void)n;
	return s->reason;
}
