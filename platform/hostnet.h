/* hostnet: the host's IPv4 addresses and routes, read from the kernel
 * (getifaddrs and /proc/net/route), to keep a new subnet off them. */
#ifndef EMBER_HOSTNET_H
#define EMBER_HOSTNET_H

#include <net/if.h>
#include <stddef.h>

#include "cidr.h"

/* A line of /proc/net/route. */
struct hostnet_route {
	char dev[IF_NAMESIZE];
	struct cidr dst; /* prefix 0: the default route */
	unsigned flags;  /* RTF_UP (1), ... */
	unsigned metric;
};

/* Call FN for each route in TEXT (the text of /proc/net/route: a header,
 * then one line per route; lines that are not a route are skipped) until FN
 * returns non-zero, which is returned; else 0. Pure, for tests. */
int hostnet_parse_routes(const char *text, int (*fn)(const struct hostnet_route *r, void *ctx), void *ctx);
/* The same over this namespace's routes (-1: they could not be read). */
int hostnet_each_route(int (*fn)(const struct hostnet_route *r, void *ctx), void *ctx);

/* 1 when C overlaps an address's network or a non-default route of this host
 * (WHAT then names it, e.g. "address 10.1.2.3/24 on eth0"), 0 when not, -1 on
 * error. EXACT: only an address of the host that lies within C counts (no
 * network, no route): a single address handed out of a shared subnet, whose
 * gateway may well be the host's own. */
int hostnet_overlap(const struct cidr *c, int exact, char *what, size_t n);

#endif
