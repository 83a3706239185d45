/* The guest without a CPU: at InstanceStart a fresh network namespace whose
 * eth0 (a TAP without a virtio-net header) carries the guest MAC and the
 * ip= address, joined frame by frame to the host TAP (12-byte
 * virtio_net_hdr_v1 on that side, as Firecracker's device has it); the
 * guest command runs there (in a PID namespace of its own, all of it killed
 * when the guest stops); hybrid vsock as Firecracker's muxer reads it.
 *
 * Vsock: a host client of uds_path writes "CONNECT <port>\n" and is joined
 * to $EMBER_STANDIN_VSOCK_DIR/<port> (or AF_VSOCK CID $EMBER_STANDIN_VSOCK_CID,
 * that port) after "OK <n>\n", n from 1073741825 up (one per CONNECT read, as
 * the muxer allocates it before the guest answers). The guest reaches host
 * port P by connecting to $EMBER_STANDIN_VSOCK_DIR/host and writing
 * "CONNECT <P>\n": the stand-in answers "OK <P>\n" and joins it to
 * <uds_path>_<P>, or closes it with no bytes when nothing listens there
 * (the RST a guest would get). */
#include "standin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define VNET_HDR 12
#define FRAME_MAX 65550

static struct {
	int started;
	int nlinks;
	struct {
		int host_fd, guest_fd;
	} links[8];
	pid_t command;
	char dir[64];
	int host_listener; /* $dir/host: guest-initiated connections */
	int vsock_listener;
	char uds_path[108];
	unsigned int local_port;
} g = {.host_listener = -1, .vsock_listener = -1, .local_port = 1u << 30};

static int run(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int mask_bits(const char *mask)
{
	unsigned int a, b, c, d, v, bits = 0;

	if (sscanf(mask, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		return -1;
	v = a << 24 | b << 16 | c << 8 | d;
	while (v & 0x80000000u) {
		bits++;
		v <<= 1;
	}
	return bits;
}

/* ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf> */
static void parse_ip(const char *args, char field[7][64])
{
	const char *p = strstr(args, "ip=");
	int i = 0;

	memset(field, 0, 7 * 64);
	while (p && p != args && p[-1] != ' ')
		p = strstr(p + 1, "ip=");
	if (!p)
		return;
	for (p += 3; *p && *p != ' ' && i < 7; p++) {
		size_t l = strlen(field[i]);

		if (*p == ':')
			i++;
		else if (l < 63)
			field[i][l] = *p;
	}
}

/* eth<i> in the guest namespace: a TAP without a vnet header. */
static int guest_tap(int i, const struct guest_net *net)
{
	struct ifreq ifr;
	char name[16], mac[32];
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(name, sizeof(name), "eth%d", i);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	if (net->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", net->mac[0],
			 net->mac[1], net->mac[2], net->mac[3], net->mac[4], net->mac[5]);
		if (run((char *[]){"ip", "link", "set", name, "address", mac, NULL}) < 0) {
			close(fd);
			return -1;
		}
	}
	if (run((char *[]){"ip", "link", "set", name, "up", NULL}) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int make_namespace(struct guest_net *nets, int n, const char *boot_args)
{
	char ip[7][64], addr[100];
	int i, bits;

	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	if (run((char *[]){"ip", "link", "set", "lo", "up", NULL}) < 0)
		return -1;
	for (i = 0; i < n && i < 8; i++) {
		g.links[i].host_fd = nets[i].tap_fd;
		g.links[i].guest_fd = guest_tap(i, &nets[i]);
		if (g.links[i].guest_fd < 0)
			return -1;
		g.nlinks++;
	}
	parse_ip(boot_args, ip);
	if (n > 0 && ip[0][0]) {
		bits = ip[3][0] ? mask_bits(ip[3]) : 24;
		snprintf(addr, sizeof(addr), "%s/%d", ip[0], bits);
		if (run((char *[]){"ip", "addr", "add", addr, "dev", ip[5][0] ? ip[5] : "eth0",
				   NULL}) < 0)
			return -1;
		if (ip[2][0] &&
		    run((char *[]){"ip", "route", "add", "default", "via", ip[2], NULL}) < 0)
			return -1;
	}
	return 0;
}

int unix_listen(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	strcpy(addr.sun_path, path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The guest command in a PID namespace of its own under a small init, so
 * that it all dies at once, however the stand-in dies (as a guest dies with
 * its VMM): the stand-in -> C (dies with it) -> init, PID 1 (dies with C,
 * and the namespace with it) -> /bin/sh -c CMD. A mount namespace gives it
 * its own /proc. */
static pid_t spawn_guest(const char *cmd)
{
	pid_t c = fork(), init, sh;
	int status;

	if (c != 0)
		return c;
	standin_retitle("firecracker-standin-guest");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0 || (init = fork()) < 0)
		_exit(127);
	if (init > 0)
		_exit(waitpid(init, &status, 0) == init && WIFEXITED(status) ? WEXITSTATUS(status)
									     : 1);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The guest's /proc shows the guest's processes (the rest of the file
	 * system is the host's). */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		_exit(127);
	sh = fork();
	if (sh == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* PID 1 reaps every orphan until the command ends. */
	for (;;) {
		pid_t p = wait(&status);

		if (p == sh || (p < 0 && errno == ECHILD))
			_exit(p == sh && WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
}

int guest_start(struct guest_net *nets, int n, const char *boot_args, char **message)
{
	const char *cmd = getenv("EMBER_STANDIN_GUEST");
	int host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), rc;
	char path[128];

	if (host_ns < 0 || !mkdtemp(strcpy(g.dir, "/tmp/ember-standin-vsock.XXXXXX"))) {
		if (asprintf(message, "Start microvm error: the stand-in cannot make its guest: %s",
			     strerror(errno)) < 0)
			*message = NULL;
		if (host_ns >= 0)
			close(host_ns);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/host", g.dir);
	g.host_listener = unix_listen(path);
	setenv("EMBER_STANDIN_VSOCK_DIR", g.dir, 1);
	rc = make_namespace(nets, n, boot_args);
	if (rc == 0 && cmd)
		g.command = spawn_guest(cmd);
	if (setns(host_ns, CLONE_NEWNET) < 0 || rc < 0) {
		if (asprintf(
			message,
			"Start microvm error: the stand-in cannot make its guest's network: %s",
			strerror(errno)) < 0)
			*message = NULL;
		close(host_ns);
		return -1;
	}
	close(host_ns);
	g.started = 1;
	return 0;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

void guest_stop(void)
{
	if (g.command > 0) {
		kill(g.command, SIGKILL);
		waitpid(g.command, NULL, 0);
		g.command = 0;
	}
	if (g.dir[0])
		remove_dir(g.dir);
	g.dir[0] = 0;
	g.started = 0;
}

/* --- vsock --- */

int vsock_bind(const char *uds_path, char **message)
{
	int fd;

	/* A second PUT /vsock removes the old socket first. */
	if (g.vsock_listener >= 0) {
		close(g.vsock_listener);
		unlink(g.uds_path);
		g.vsock_listener = -1;
	}
	fd = unix_listen(uds_path);
	if (fd < 0) {
		int e = errno;

		if (asprintf(
			message,
			"Vsock config error: Cannot create backend for vsock device: Error binding "
			"to the host-side Unix socket: %s (os error %d)",
			os_error(e), e) < 0)
			*message = NULL;
		return -1;
	}
	g.vsock_listener = fd;
	snprintf(g.uds_path, sizeof(g.uds_path), "%s", uds_path);
	return 0;
}

/* One direction of a joined stream: FROM to TO until FROM ends, then TO's
 * write side is shut. Each direction has a thread of its own, so a side
 * that is slow to read never stops the other direction (one thread writing
 * both ways deadlocks as soon as both directions are full, as an exec
 * piping stdin through cat does). The last direction to end closes both. */
struct relay {
	int fds[2];
	int left; /* directions still running, under lock */
	pthread_mutex_t lock;
};

struct relay_half {
	struct relay *r;
	int from, to;
};

static void *relay_one(void *arg)
{
	struct relay_half *h = arg;
	struct relay *r = h->r;
	char buf[65536];
	int last;

	for (;;) {
		ssize_t n = read(h->from, buf, sizeof(buf)), w, off;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (off = 0; off < n; off += w) {
			w = send(h->to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0)
				goto gone;
		}
	}
	shutdown(h->to, SHUT_WR);
	goto out;
gone:
	/* the reader of TO is gone: stop reading FROM too, and wake the other
	 * direction, which reads from TO */
	shutdown(h->from, SHUT_RD);
	shutdown(h->to, SHUT_RDWR);
out:
	pthread_mutex_lock(&r->lock);
	last = --r->left == 0;
	pthread_mutex_unlock(&r->lock);
	free(h);
	if (last) {
		close(r->fds[0]);
		close(r->fds[1]);
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
	return NULL;
}

static void start_relay(int a, int b)
{
	struct relay *r = calloc(1, sizeof(*r));
	int i, started = 0;

	if (!r) {
		close(a);
		close(b);
		return;
	}
	r->fds[0] = a;
	r->fds[1] = b;
	r->left = 2;
	pthread_mutex_init(&r->lock, NULL);
	fcntl(a, F_SETFL, fcntl(a, F_GETFL) & ~O_NONBLOCK);
	fcntl(b, F_SETFL, fcntl(b, F_GETFL) & ~O_NONBLOCK);
	for (i = 0; i < 2; i++) {
		struct relay_half *h = malloc(sizeof(*h));
		pthread_t t;

		if (h) {
			h->r = r;
			h->from = r->fds[i];
			h->to = r->fds[1 - i];
		}
		if (!h || pthread_create(&t, NULL, relay_one, h) != 0) {
			free(h);
			break;
		}
		pthread_detach(t);
		started++;
	}
	if (started == 2)
		return;
	/* a direction that could not start: end the stream as if it had */
	pthread_mutex_lock(&r->lock);
	r->left -= 2 - started;
	i = r->left;
	pthread_mutex_unlock(&r->lock);
	shutdown(a, SHUT_RDWR);
	shutdown(b, SHUT_RDWR);
	if (i == 0) {
		close(a);
		close(b);
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
}

/* read_local_stream_port: 10 bytes at once, then one at a time up to '\n'
 * or 32 bytes, on a non-blocking stream: a line not yet whole is refused. */
static int read_port(int fd, unsigned int *port)
{
	char buf[33] = {0}, *word, *save, *end;
	size_t len = 0;
	ssize_t n;
	unsigned long v;

	while (len < 10) {
		n = recv(fd, buf + len, 10 - len, MSG_DONTWAIT);
		if (n <= 0)
			return -1;
		len += n;
	}
	while (buf[len - 1] != '\n' && len < 32) {
		n = recv(fd, buf + len, 1, MSG_DONTWAIT);
		if (n <= 0)
			return -1;
		len += n;
	}
	word = strtok_r(buf, " \t\r\n\v\f", &save);
	if (!word || strcasecmp(word, "connect"))
		return -1;
	word = strtok_r(NULL, " \t\r\n\v\f", &save);
	if (!word || *word == '-' || *word == '+')
		return -1;
	errno = 0;
	v = strtoul(word, &end, 10);
	if (*end || errno || v > 0xffffffffu)
		return -1;
	*port = v;
	return 0;
}

static int connect_guest(unsigned int port)
{
	const char *cid = getenv("EMBER_STANDIN_VSOCK_CID");
	int fd;

	if (cid) {
		struct sockaddr_vm addr = {
		    .svm_family = AF_VSOCK, .svm_cid = atoi(cid), .svm_port = port};

		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
	} else {
		struct sockaddr_un addr = {.sun_family = AF_UNIX};

		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%u", g.dir, port);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

#define MAX_PENDING 32
static int pending[MAX_PENDING]; /* accepted host streams, awaiting their CONNECT */
static int npending;

static void host_connection(int fd)
{
	unsigned int port;
	int guest;
	char ok[32];

	if (read_port(fd, &port) < 0) {
		fc_log("WARN", "vsock: error adding local-init connection: InvalidPortRequest");
		close(fd);
		return;
	}
	/* the muxer allocates the local port as soon as the port is read,
	 * before the guest answers: a CONNECT nobody accepts uses one up too */
	g.local_port = ((g.local_port + 1) & ~(1u << 31)) | (1u << 30);
	guest = connect_guest(port);
	if (guest < 0) {
		close(fd);
		return;
	}
	snprintf(ok, sizeof(ok), "OK %u\n", g.local_port);
	if (send(fd, ok, strlen(ok), MSG_NOSIGNAL) < 0) {
		close(fd);
		close(guest);
		return;
	}
	start_relay(fd, guest);
}

/* The guest's side: "CONNECT <P>\n", read whole (the guest's kernel would
 * have the port at connect time), then <uds_path>_<P>. */
static void *guest_connection(void *arg)
{
	int fd = (int)(long)arg, host;
	char line[33] = {0}, *end;
	size_t len = 0;
	unsigned long port;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	while (len < 32 && (len == 0 || line[len - 1] != '\n'))
		if (read(fd, line + len, 1) != 1)
			break;
		else
			len++;
	if (strncasecmp(line, "CONNECT ", 8) ||
	    (port = strtoul(line + 8, &end, 10), *end != '\n')) {
		close(fd);
		return NULL;
	}
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%.90s_%lu", g.uds_path, port) >=
	    (int)sizeof(addr.sun_path)) {
		close(fd);
		return NULL;
	}
	host = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (host < 0 || connect(host, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (host >= 0)
			close(host);
		close(fd);
		return NULL;
	}
	snprintf(line, sizeof(line), "OK %lu\n", port);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		close(fd);
		close(host);
		return NULL;
	}
	start_relay(fd, host);
	return NULL;
}

int guest_poll_fds(struct pollfd *fds, int max)
{
	int n = 0, i;

	if (!g.started)
		return 0;
	for (i = 0; i < g.nlinks && n + 2 <= max; i++) {
		fds[n++] = (struct pollfd){.fd = g.links[i].host_fd, .events = POLLIN};
		fds[n++] = (struct pollfd){.fd = g.links[i].guest_fd, .events = POLLIN};
	}
	if (n < max)
		fds[n++] = (struct pollfd){.fd = g.vsock_listener, .events = POLLIN};
	if (n < max)
		fds[n++] = (struct pollfd){.fd = g.host_listener, .events = POLLIN};
	for (i = 0; i < npending && n < max; i++)
		fds[n++] = (struct pollfd){.fd = pending[i], .events = POLLIN};
	return n;
}

static void forward(int from, int to, int from_hdr, int to_hdr)
{
	static char buf[VNET_HDR + FRAME_MAX];
	ssize_t n;

	/* Host side: [vnet header][frame]; guest side: [frame]. */
	n = read(from, from_hdr ? buf : buf + VNET_HDR, from_hdr ? sizeof(buf) : FRAME_MAX);
	if (n <= 0)
		return;
	if (from_hdr)
		n -= VNET_HDR;
	if (n <= 0)
		return;
	memset(buf, 0, VNET_HDR);
	if (write(to, to_hdr ? buf : buf + VNET_HDR, to_hdr ? n + VNET_HDR : n) < 0)
		return; /* a full queue drops the frame, as a NIC would */
}

void guest_poll_handle(struct pollfd *fds, int n)
{
	int i = 0, k, fd, ready[MAX_PENDING], nready = 0;

	if (!g.started)
		return;
	for (k = 0; k < g.nlinks && i + 2 <= n; k++, i += 2) {
		if (fds[i].revents & POLLIN)
			forward(fds[i].fd, fds[i + 1].fd, 1, 0);
		if (fds[i + 1].revents & POLLIN)
			forward(fds[i + 1].fd, fds[i].fd, 0, 1);
	}
	if (i < n && fds[i].fd >= 0 && (fds[i].revents & POLLIN)) {
		fd = accept4(fds[i].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0 && npending < MAX_PENDING)
			pending[npending++] = fd;
		else if (fd >= 0)
			close(fd);
	}
	i++;
	if (i < n && fds[i].fd >= 0 && (fds[i].revents & POLLIN)) {
		fd = accept4(fds[i].fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			pthread_t t;

			if (pthread_create(&t, NULL, guest_connection, (void *)(long)fd) == 0)
				pthread_detach(t);
			else
				close(fd);
		}
	}
	i++;
	/* A pending stream that became readable is read now, once. */
	for (k = 0; i + k < n && k < npending; k++)
		if (fds[i + k].revents)
			ready[nready++] = fds[i + k].fd;
	for (k = 0; k < nready; k++) {
		int j;

		for (j = 0; j < npending && pending[j] != ready[k]; j++)
			;
		pending[j] = pending[--npending];
		host_connection(ready[k]);
	}
}
