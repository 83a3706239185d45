#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "hostnet.h"

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

int sysctl_ip_forward_enable(void)
{
	char c = 0;
	int fd, rc = 0;

	fd = open(IP_FORWARD, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return error_errno("unable to open '%s'", IP_FORWARD);
	if (read(fd, &c, 1) == 1 && c == '1')
		goto out;
	if (pwrite(fd, "1\n", 2, 0) != 2)
		rc = error_errno("unable to turn on IPv4 forwarding ('%s')", IP_FORWARD);
out:
	close(fd);
	return rc;
}

struct uplink {
	char *buf;
	size_t n;
	unsigned best_metric;
	int found;
};

static int default_route(const struct hostnet_route *r, void *ctx)
{
	struct uplink *u = ctx;

	/* RTF_UP (1): a route that is up; destination and mask 0: the default */
	if (r->dst.addr != 0 || r->dst.prefix != 0 || !(r->flags & 1))
		return 0;
	if (!u->found || r->metric < u->best_metric) {
		snprintf(u->buf, u->n, "%s", r->dev);
		u->best_metric = r->metric;
		u->found = 1;
	}
	return 0;
}

int sysctl_parse_default_uplink(const char *text, char *buf, size_t n)
{
	struct uplink u = {buf, n, 0, 0};

	hostnet_parse_routes(text, default_route, &u);
	return u.found;
}

int sysctl_default_uplink(char *buf, size_t n)
{
	struct uplink u = {buf, n, 0, 0};

	if (hostnet_each_route(default_route, &u) < 0)
		return -1;
	return u.found;
}

int sysctl_link_exists(const char *name)
{
	/* not /sys/class/net: sysfs shows the namespace it was mounted in */
	return if_nametoindex(name) != 0;
}

enum sysctl_link_kind sysctl_link_kind(const char *name)
{
	struct ethtool_drvinfo drv;
	enum sysctl_link_kind kind = LINK_OTHER;
	struct ifreq ifr;
	int fd;

	/* ioctls on a socket of this namespace; /sys/class/net/NAME/tun_flags
	 * would tell the same, but sysfs shows the namespace it was mounted in */
	if (strlen(name) >= IFNAMSIZ || !sysctl_link_exists(name))
		return LINK_NONE;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return LINK_OTHER;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK)) {
		kind = LINK_LOOPBACK;
		goto out;
	}
	/* the tun driver names itself "tun" and its mode in bus_info */
	memset(&drv, 0, sizeof(drv));
	drv.cmd = ETHTOOL_GDRVINFO;
	ifr.ifr_data = (void *)&drv;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && strcmp(drv.driver, "tun") == 0)
		kind = strcmp(drv.bus_info, "tap") == 0 ? LINK_TAP : LINK_TUN;
out:
	close(fd);
	return kind;
}
