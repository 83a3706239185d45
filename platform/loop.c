#include "loop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "error.h"

#define LOOP_MAJOR 7
/* LOOP_CTL_GET_FREE can hand two processes the same device: retry the race. */
#define ATTACH_TRIES 8

static void loop_set(struct loop_dev *l, unsigned minor)
{
	snprintf(l->path, sizeof(l->path), "/dev/loop%u", minor);
	l->major = LOOP_MAJOR;
	l->minor = minor;
}

/* /dev/loopN exists as the right node (devtmpfs makes it; make it when not). */
static int loop_node(const struct loop_dev *l)
{
	struct stat st;

	if (stat(l->path, &st) == 0 && S_ISBLK(st.st_mode))
		return 0;
	if (mknod(l->path, S_IFBLK | 0660, makedev(l->major, l->minor)) < 0 && errno != EEXIST)
		return error_errno("unable to create the node '%s'", l->path);
	return 0;
}

int loop_find(const char *path, struct loop_dev *l)
{
	char real[PATH_MAX], file[PATH_MAX + 32], backing[PATH_MAX + 16];
	struct dirent *d;
	unsigned minor;
	size_t n;
	DIR *dir;
	FILE *f;
	int found = 0;

	if (!realpath(path, real))
		return errno == ENOENT ? 0 : error_errno("unable to resolve '%s'", path);
	dir = opendir("/sys/block");
	if (!dir)
		return error_errno("unable to read '/sys/block'");
	while (!found && (d = readdir(dir))) {
		if (sscanf(d->d_name, "loop%u", &minor) != 1)
			continue;
		snprintf(file, sizeof(file), "/sys/block/%s/loop/backing_file", d->d_name);
		f = fopen(file, "re");
		if (!f)
			continue; /* not attached */
		if (fgets(backing, sizeof(backing), f)) {
			n = strlen(backing);
			if (n && backing[n - 1] == '\n')
				backing[--n] = '\0';
			if (strcmp(backing, real) == 0) {
				loop_set(l, minor);
				found = 1;
			}
		}
		fclose(f);
	}
	closedir(dir);
	if (found && loop_node(l) < 0)
		return -1;
	return found;
}

static int configure(int dev, int file, const char *path)
{
	struct loop_config cfg;
	struct loop_info64 info;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned)file;
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%.63s", path);
	if (ioctl(dev, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -1;
	/* kernels before 5.8: LOOP_SET_FD, then the status */
	if (ioctl(dev, LOOP_SET_FD, file) < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	snprintf((char *)info.lo_file_name, sizeof(info.lo_file_name), "%.63s", path);
	if (ioctl(dev, LOOP_SET_STATUS64, &info) < 0) {
		int saved = errno;

		ioctl(dev, LOOP_CLR_FD, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

int loop_attach(const char *path, struct loop_dev *l)
{
	char real[PATH_MAX];
	int ctl = -1, file = -1, dev = -1, rc = -1, n, i;

	if ((rc = loop_find(path, l)) != 0)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (!realpath(path, real))
		return error_errno("unable to resolve '%s'", path);
	file = open(real, O_RDWR | O_CLOEXEC);
	if (file < 0)
		return error_errno("unable to open '%s'", real);
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		error_errno("unable to open '/dev/loop-control'");
		error_hint("load the loop module: modprobe loop");
		goto out;
	}
	for (i = 0; i < ATTACH_TRIES; i++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			error_errno("unable to find a free loop device");
			goto out;
		}
		loop_set(l, (unsigned)n);
		if (loop_node(l) < 0)
			goto out;
		dev = open(l->path, O_RDWR | O_CLOEXEC);
		if (dev < 0) {
			error_errno("unable to open '%s'", l->path);
			goto out;
		}
		if (configure(dev, file, real) == 0) {
			rc = 0;
			goto out;
		}
		if (errno != EBUSY) {
			error_errno("unable to attach '%s' to '%s'", real, l->path);
			goto out;
		}
		close(dev);
		dev = -1;
	}
	error_errnum(EBUSY, "unable to attach '%s' to a loop device", real);
out:
	if (dev >= 0)
		close(dev);
	if (ctl >= 0)
		close(ctl);
	close(file);
	return rc;
}

int loop_detach(const struct loop_dev *l)
{
	int dev = open(l->path, O_RDWR | O_CLOEXEC), rc = 0;

	if (dev < 0)
		return errno == ENOENT || errno == ENXIO
			   ? 0
			   : error_errno("unable to open '%s'", l->path);
	if (ioctl(dev, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
		rc = error_errno("unable to detach '%s'", l->path);
	close(dev);
	return rc;
}

int loop_refresh(const struct loop_dev *l)
{
	int dev = open(l->path, O_RDWR | O_CLOEXEC), rc = 0;

	if (dev < 0)
		return error_errno("unable to open '%s'", l->path);
	if (ioctl(dev, LOOP_SET_CAPACITY, 0) < 0)
		rc = error_errno("unable to resize '%s'", l->path);
	close(dev);
	return rc;
}

int blockdev_probe(const char *path, unsigned *major, unsigned *minor, uint64_t *size)
{
	struct stat st;
	int fd, rc = 0;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return error_code(EXIT_USAGE, "no device '%s'", path);
		return error_errno("unable to read '%s'", path);
	}
	if (!S_ISBLK(st.st_mode))
		return error_code(EXIT_USAGE, "'%s' is not a block device", path);
	*major = major(st.st_rdev);
	*minor = minor(st.st_rdev);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("unable to open '%s'", path);
	if (ioctl(fd, BLKGETSIZE64, size) < 0)
		rc = error_errno("unable to read the size of '%s'", path);
	close(fd);
	return rc;
}
