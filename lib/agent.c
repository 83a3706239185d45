#include "agent.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_conn.h"
#include "error.h"
#include "guest.h"

struct server {
	const struct agent_options *o;
	int lfd, sfd, pid1;
	pid_t *conns; /* the processes serving connections, 0: a free slot */
	int n;
};

/* Refuse a connection past the bound: one error line, then closed. */
static void refuse(int fd, const struct agent_err *e)
{
	cJSON *o = agent_err_reply(NULL, e);
	size_t n;
	char *line = o ? agent_line(o, &n) : NULL;

	if (line && send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the peer is gone already: nothing to tell */
	}
	free(line);
	cJSON_Delete(o);
	close(fd);
}

static void serve_child(struct server *s, int fd)
{
	sigset_t none;

	close(s->lfd);
	close(s->sfd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	agent_conn_serve(fd);
	_exit(0);
}

static void accept_one(struct server *s)
{
	struct agent_err e;
	pid_t pid;
	int fd, i;

	fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			poll(NULL, 0, 100); /* out of something: let it come back */
		return;
	}
	if (s->n >= s->o->max_connections) {
		agent_err_set(&e, "EBUSY", 0, "too many connections: the agent serves %d at once",
			      s->o->max_connections);
		refuse(fd, &e);
		return;
	}
	pid = fork();
	if (pid < 0) {
		agent_err_set(&e, NULL, errno, "unable to serve the connection: %s", strerror(errno));
		refuse(fd, &e);
		return;
	}
	if (pid == 0)
		serve_child(s, fd);
	close(fd);
	for (i = 0; i < s->o->max_connections; i++) {
		if (!s->conns[i]) {
			s->conns[i] = pid;
			s->n++;
			break;
		}
	}
}

/* Reap every child that ended: the connections' processes and, as PID 1,
 * every orphan of the guest. */
static void reap(struct server *s)
{
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < s->o->max_connections; i++) {
			if (s->conns[i] == pid) {
				s->conns[i] = 0;
				s->n--;
				break;
			}
		}
	}
}

/* 1 to go on, 0 to stop. */
static int on_signal(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(s);
			break;
		case SIGINT:
			/* the kernel's Ctrl-Alt-Del for init: Firecracker's
			 * SendCtrlAltDel ends the VM this way */
			if (s->pid1) {
				guest_reboot();
				break;
			}
			return 0;
		case SIGTERM:
			if (!s->pid1)
				return 0;
			break;
		}
	}
	return 1;
}

int agent_serve(const struct agent_options *o)
{
	struct server s = {.o = o, .lfd = -1, .sfd = -1, .pid1 = getpid() == 1};
	sigset_t set;
	int rc = -1;

	if (o->max_connections < 1)
		return error_code(EXIT_USAGE, "the connection bound must be at least 1");
	s.conns = calloc((size_t)o->max_connections, sizeof(*s.conns));
	if (!s.conns)
		return error_errno("unable to allocate the connection table");
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.sfd < 0) {
		error_errno("unable to take signals");
		goto out;
	}
	s.lfd = guest_listen(o->uds, o->port);
	if (s.lfd < 0)
		goto out;
	for (;;) {
		struct pollfd p[2] = {{.fd = s.sfd, .events = POLLIN}, {.fd = s.lfd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			error_errno("unable to wait for connections");
			goto out;
		}
		if (p[0].revents && !on_signal(&s))
			break;
		if (p[1].revents)
			accept_one(&s);
	}
	rc = 0;
out:
	if (s.lfd >= 0) {
		close(s.lfd);
		if (o->uds && rc == 0)
			unlink(o->uds);
	}
	if (s.sfd >= 0)
		close(s.sfd);
	free(s.conns);
	return rc;
}
