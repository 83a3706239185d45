/* sysctl: the kernel's IPv4 forwarding switch and default route, read and
 * written through /proc (which, unlike /sys, follows the caller's network
 * namespace). */
#ifndef EMBER_SYSCTL_H
#define EMBER_SYSCTL_H

#include <stddef.h>

/* net.ipv4.ip_forward = 1 (written only when it is not already). */
int sysctl_ip_forward_enable(void);
/* The interface of the default route with the lowest metric into BUF:
 * 1 found, 0 no default route, -1 error. */
int sysctl_default_uplink(char *buf, size_t n);
/* The same, from the text of /proc/net/route (pure, for tests). */
int sysctl_parse_default_uplink(const char *text, char *buf, size_t n);
/* 1 when a network interface called NAME exists in this namespace, else 0. */
int sysctl_link_exists(const char *name);

enum sysctl_link_kind { LINK_NONE, LINK_TAP, LINK_TUN, LINK_LOOPBACK, LINK_OTHER };
/* What NAME is, in this namespace: no link, a TAP or a TUN device (the tun
 * driver in either mode), the loopback, or another link. */
enum sysctl_link_kind sysctl_link_kind(const char *name);

#endif
