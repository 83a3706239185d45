#include "hostnet.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "file.h"

#define ROUTES "/proc/net/route"

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

int hostnet_parse_routes(const char *text, int (*fn)(const struct hostnet_route *r, void *ctx), void *ctx)
{
	const char *p = text, *nl;
	char line[512], dev[IF_NAMESIZE + 1];
	unsigned dst, mask;
	int first = 1, rc;

	for (; *p; p = *nl ? nl + 1 : nl, first = 0) {
		struct hostnet_route r;

		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		if (first)
			continue; /* the header */
		if (sscanf(line, "%16s %x %*x %x %*d %*d %u %x", dev, &dst, &r.flags, &r.metric, &mask) != 5 ||
		    strlen(dev) >= IF_NAMESIZE)
			continue;
		memcpy(r.dev, dev, strlen(dev) + 1); /* fits: checked just above */
		/* the file holds network byte order as a native integer */
		r.dst.addr = ntohl(dst);
		r.dst.prefix = prefix_of(ntohl(mask));
		rc = fn(&r, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

int hostnet_each_route(int (*fn)(const struct hostnet_route *r, void *ctx), void *ctx)
{
	char text[65536];
	ssize_t len;
	int fd;

	fd = open(ROUTES, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("unable to read '%s'", ROUTES);
	len = file_read_all(fd, text, sizeof(text) - 1);
	close(fd);
	if (len < 0)
		return error_errno("unable to read '%s'", ROUTES);
	text[len] = '\0';
	return hostnet_parse_routes(text, fn, ctx);
}

struct overlap {
	const struct cidr *c;
	char *what;
	size_t n;
};

static int route_overlaps(const struct hostnet_route *r, void *ctx)
{
	struct overlap *o = ctx;
	char buf[CIDR_LEN];

	if (r->dst.prefix == 0 || !cidr_overlaps(o->c, &r->dst))
		return 0; /* the default route covers everything: not a conflict */
	cidr_format(&r->dst, buf);
	snprintf(o->what, o->n, "route %s dev %s", buf, r->dev);
	return 1;
}

int hostnet_overlap(const struct cidr *c, int exact, char *what, size_t n)
{
	int rc = overlap_addresses(c, exact, what, n);
	struct overlap o = {c, what, n};

	if (rc != 0 || exact)
		return rc;
	return hostnet_each_route(route_overlaps, &o);
}
