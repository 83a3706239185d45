#include "guest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

/* Whether a Unix socket at PATH answers: a stale one refuses. */
static int answers(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return 1;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno != ECONNREFUSED;
	close(fd);
	return rc;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return error_code(EXIT_USAGE, "socket path too long '%s' (at most %zu bytes)", path,
				  sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return error_code(EXIT_REFUSED, "unable to listen on '%s': not a socket", path);
		if (answers(&sa))
			return error_code(EXIT_REFUSED, "unable to listen on '%s': another program answers there",
					  path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno("unable to create a socket for '%s'", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
		error_errno("unable to listen on '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_vsock(unsigned port)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		error_errno("unable to create a vsock socket");
		if (errno == EAFNOSUPPORT)
			error_hint("the kernel needs CONFIG_VIRTIO_VSOCKETS (or modprobe vmw_vsock_virtio_transport)");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
		error_errno("unable to listen on vsock port %u", port);
		close(fd);
		return -1;
	}
	return fd;
}

int guest_listen(const char *uds, unsigned port)
{
	return uds ? listen_unix(uds) : listen_vsock(port);
}

double guest_uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long meminfo_available(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int guest_status_read(struct guest_status *st)
{
	struct sysinfo si;
	int i;

	memset(st, 0, sizeof(*st));
	if (gethostname(st->hostname, sizeof(st->hostname) - 1) < 0)
		return error_errno("unable to read the hostname");
	if (sysinfo(&si) < 0)
		return error_errno("unable to read the system's figures");
	st->uptime_seconds = guest_uptime();
	for (i = 0; i < 3; i++)
		st->load[i] = si.loads[i] / (double)(1 << SI_LOAD_SHIFT);
	st->memory_total_kb = (long long)si.totalram * si.mem_unit / 1024;
	st->memory_available_kb = meminfo_available();
	st->processes = si.procs;
	return 0;
}

int guest_reboot(void)
{
	sync();
	if (reboot(RB_AUTOBOOT) < 0)
		return error_errno("unable to reboot");
	return 0;
}
