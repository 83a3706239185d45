/* guest: what ember-agent asks of the guest's kernel: a listening socket
 * (AF_VSOCK, or a Unix socket for tests and the stand-in), the figures of
 * its status op, and the reboot that ends a VM. */
#ifndef EMBER_GUEST_H
#define EMBER_GUEST_H

#include <stdint.h>

/* Listen on UDS (a Unix stream socket path; a stale socket there that no one
 * answers on is replaced) or, with UDS NULL, on AF_VSOCK VMADDR_CID_ANY PORT.
 * Returns the listening fd (close-on-exec), or -1 (error recorded). */
int guest_listen(const char *uds, unsigned port);

struct guest_status {
	char hostname[256];
	double uptime_seconds;
	double load[3];
	long long memory_total_kb;
	long long memory_available_kb; /* -1: the kernel does not say */
	long long processes;
};

/* Fill ST (sysinfo(2) and /proc/meminfo). 0, or -1 (error recorded). */
int guest_status_read(struct guest_status *st);
/* Seconds since boot (CLOCK_BOOTTIME). */
double guest_uptime(void);
/* sync, then reboot(RB_AUTOBOOT): what init does on Ctrl-Alt-Del. Returns
 * only on failure (-1, error recorded). */
int guest_reboot(void);

#endif
