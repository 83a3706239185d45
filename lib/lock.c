#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "error.h"

/* the locks held now, for the children that must hold them too */
static int held[LOCK_HELD_MAX];
static int n_held;

int lock_take(const char *path, int mode)
{
	int fd, op;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_errno("unable to open lock '%s'", path);
	op = (mode & LOCK_SHARED) ? LOCK_SH : LOCK_EX;
	if (mode & LOCK_TRY)
		op |= LOCK_NB;
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK && (mode & LOCK_TRY)) {
			close(fd);
			return -2;
		}
		error_errno("unable to lock '%s'", path);
		close(fd);
		return -1;
	}
	if (n_held < LOCK_HELD_MAX)
		held[n_held++] = fd;
	return fd;
}

void lock_release(int fd)
{
	int i;

	if (fd < 0)
		return;
	for (i = 0; i < n_held; i++) {
		if (held[i] == fd) {
			held[i] = held[--n_held];
			break;
		}
	}
	close(fd);
}

int lock_held(int fds[LOCK_HELD_MAX])
{
	int i;

	for (i = 0; i < n_held; i++)
		fds[i] = held[i];
	return n_held;
}
