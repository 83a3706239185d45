/* hostnet: the host's IPv4 addresses and routes, read from the kernel
 * (getifaddrs and /proc/net/route), to keep a new subnet off them. */
#ifndef EMBER_HOSTNET_H
#define EMBER_HOSTNET_H

#include <stddef.h>

#include "cidr.h"

/* 1 when C overlaps an address's network or a non-default route of this host
 * (WHAT then names it, e.g. "address 10.1.2.3/24 on eth0"), 0 when not, -1 on
 * error. EXACT: only an address of the host that lies within C counts (no
 * network, no route): a single address handed out of a shared subnet, whose
 * gateway may well be the host's own. */
int hostnet_overlap(const struct cidr *c, int exact, char *what, size_t n);

#endif
