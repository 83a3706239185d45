#include "vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error.h"

int vsock_decide(int opened, int err, const char *device, uint32_t cid)
{
	int rc;

	if (!opened) {
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			return VSOCK_NO_DEVICE;
		rc = error_errnum(err, "unable to open '%s' to probe vsock CID %u", device, cid);
		if (err == EACCES || err == EPERM)
			error_hint("run as root, or as a user who may open %s", device);
		return rc;
	}
	if (err == 0)
		return VSOCK_FREE;
	if (err == EADDRINUSE)
		return VSOCK_HELD;
	return error_errnum(err, "unable to probe vsock CID %u with '%s'", cid, device);
}

int vsock_probe_cid(const char *device, uint32_t cid)
{
	uint64_t guest_cid = cid;
	int fd, rc, err;

	fd = open(device, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vsock_decide(0, errno, device, cid);
	rc = ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &guest_cid);
	err = rc == 0 ? 0 : errno;
	close(fd);
	return vsock_decide(1, err, device, cid);
}
