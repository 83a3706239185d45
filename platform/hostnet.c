#include "hostnet.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static int prefix_of(uint32_t mask)
{
	int p = 0;

	while (p < 32 && (mask & (0x80000000u >> p)))
		p++;
	return p;
}

static int overlap_addresses(const struct cidr *c, int exact, char *what, size_t n)
{
	struct ifaddrs *ifa, *i;
	char buf[CIDR_LEN];
	int found = 0;

	if (getifaddrs(&ifa) < 0)
		return error_errno("unable to list the host's addresses");
	for (i = ifa; i && !found; i = i->ifa_next) {
		struct cidr a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask)
			continue;
		a.addr = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		a.prefix = prefix_of(ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr));
		if (exact ? cidr_contains(c, a.addr) : cidr_overlaps(c, &a)) {
			cidr_format(&a, buf);
			snprintf(what, n, "address %s on %s", buf, i->ifa_name);
			found = 1;
		}
	}
	freeifaddrs(ifa);
	return found;
}

static int overlap_routes(const struct cidr *c, char *what, size_t n)
{
	char line[512], dev[64], buf[CIDR_LEN];
	unsigned dst, gw, flags, mask;
	int found = 0;
	FILE *f;

	f = fopen("/proc/net/route", "re");
	if (!f)
		return error_errno("unable to read '/proc/net/route'");
	if (!fgets(line, sizeof(line), f)) /* header */
		goto out;
	while (!found && fgets(line, sizeof(line), f)) {
		struct cidr r;

		if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", dev, &dst, &gw, &flags, &mask) != 5)
			continue;
		/* the file holds network byte order as a native integer */
		r.addr = ntohl(dst);
		r.prefix = prefix_of(ntohl(mask));
		if (r.prefix == 0)
			continue; /* the default route covers everything: not a conflict */
		if (cidr_overlaps(c, &r)) {
			cidr_format(&r, buf);
			snprintf(what, n, "route %s dev %s", buf, dev);
			found = 1;
		}
	}
out:
	fclose(f);
	return found;
}

int hostnet_overlap(const struct cidr *c, int exact, char *what, size_t n)
{
	int rc = overlap_addresses(c, exact, what, n);

	if (rc != 0 || exact)
		return rc;
	return overlap_routes(c, what, n);
}
