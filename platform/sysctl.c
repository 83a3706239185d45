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

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define ROUTES "/proc/net/route"

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

int sysctl_parse_default_uplink(const char *text, char *buf, size_t n)
{
	unsigned dst, gw, flags, mask, metric, best_metric = UINT_MAX;
	const char *p = text, *nl;
	char line[512], dev[IF_NAMESIZE + 1];
	int found = 0, first = 1;

	for (; *p; p = *nl ? nl + 1 : nl, first = 0) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		if (first)
			continue; /* the header */
		if (sscanf(line, "%16s %x %x %x %*d %*d %u %x", dev, &dst, &gw, &flags, &metric, &mask) != 6)
			continue;
		/* RTF_UP (1): a route that is up; destination and mask 0: the default */
		if (dst != 0 || mask != 0 || !(flags & 1) || strlen(dev) >= IF_NAMESIZE)
			continue;
		if (!found || metric < best_metric) {
			snprintf(buf, n, "%s", dev);
			best_metric = metric;
			found = 1;
		}
	}
	return found;
}

int sysctl_default_uplink(char *buf, size_t n)
{
	char text[65536];
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = open(ROUTES, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("unable to read '%s'", ROUTES);
	while (len + 1 < sizeof(text) && (r = read(fd, text + len, sizeof(text) - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return error_errno("unable to read '%s'", ROUTES);
		}
		len += (size_t)r;
	}
	close(fd);
	text[len] = '\0';
	return sysctl_parse_default_uplink(text, buf, n);
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
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && strcmp(drv.driver, "tun") == 0 && strcmp(drv.bus_info, "tap") == 0)
		kind = LINK_TAP;
out:
	close(fd);
	return kind;
}
