/* vsock: the host's vhost-vsock device, asked whether a guest CID is taken. */
#ifndef EMBER_VSOCK_H
#define EMBER_VSOCK_H

#include <stdint.h>

#define VSOCK_DEVICE "/dev/vhost-vsock"

enum vsock_probe {
	VSOCK_FREE = 0,   /* no one holds the CID */
	VSOCK_HELD = 1,   /* another program (a VM's vhost-vsock) holds it */
	VSOCK_NO_DEVICE = 2, /* no such device here: nothing can hold a CID through it */
};

/* Open DEVICE, try VHOST_VSOCK_SET_GUEST_CID with CID, close (which lets the
 * CID go again). EADDRINUSE means held. Returns an enum vsock_probe, or -1
 * with an error recorded (exit 111) when the device exists but cannot be
 * asked (permissions, an ioctl it does not know). */
int vsock_probe_cid(const char *device, uint32_t cid);
/* What an errno of the probe means (a pure function, for the unit tests):
 * ERR from open (OPENED 0) or from the ioctl (OPENED 1; 0: it succeeded).
 * An enum vsock_probe, or -1 with the error recorded. */
int vsock_decide(int opened, int err, const char *device, uint32_t cid);

#endif
