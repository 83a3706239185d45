/* iproute: links and addresses through iproute2. Changes go through one
 * `ip -batch -` per command; reads through `ip -j -d addr show`, whose JSON
 * carries, per link, its flags, MTU, ifalias, tun details and IPv4 addresses.
 * The parser is a pure function over that JSON, so it is tested on captured
 * output. */
#ifndef EMBER_IPROUTE_H
#define EMBER_IPROUTE_H

#include <stddef.h>

#define IPROUTE_NAME_LEN 16   /* IFNAMSIZ */
#define IPROUTE_ALIAS_LEN 256 /* IFALIASZ */
#define IPROUTE_ID_LEN 33     /* a user or group: a name or a number */
#define IPROUTE_ADDR_LEN 19   /* "255.255.255.255/32" + NUL */

struct iproute_link {
	char name[IPROUTE_NAME_LEN];
	int ifindex;
	int mtu;
	int up;			       /* administratively up (flag UP) */
	char alias[IPROUTE_ALIAS_LEN]; /* "" when none */
	int tap;		       /* a tun device in tap mode */
	int multi_queue;
	int persist;
	char user[IPROUTE_ID_LEN]; /* tun owner as ip prints it: a name or a number; "" none */
	char group[IPROUTE_ID_LEN];
	char addr[IPROUTE_ADDR_LEN]; /* the first IPv4 address "a.b.c.d/p"; "" none */
	int naddr;		     /* how many IPv4 addresses */
	int ninet6;		     /* how many IPv6 addresses */
};

struct iproute_links {
	struct iproute_link *v;
	int n;
};

/* Parse the output of `ip -j [-d] addr show` (or `link show`) into LINKS.
 * Unknown keys are ignored; a missing or malformed required key (ifname) is
 * an error (exit 101). */
int iproute_parse_links(const char *json, struct iproute_links *links);
void iproute_links_release(struct iproute_links *links);

/* Every link of this network namespace, or only DEV (none when DEV is absent). */
int iproute_links_read(const char *dev, struct iproute_links *links);

/* 1 when a link called NAME exists (a cheap ioctl, no program run), 0 when not. */
int iproute_link_exists(const char *name);
/* 1 when any link's name starts with PREFIX (if_nameindex: netlink, no
 * program run), 0 when none, -1 on error. Lets readers skip ip when there
 * is nothing to read. */
int iproute_any_link_prefixed(const char *prefix);

/* Why a batch failed: the 1-based line ip stopped at (0 when unknown, -1
 * when ip could not be run or timed out, which may have done anything) and
 * the kernel's or ip's message, without "Error: " and a final period. */
struct iproute_failure {
	int line;
	int refused; /* the kernel refused a parameter (a netlink "Error: ..." message) */
	char message[256];
};

/* Read F from the stderr of a failed `ip -batch` (pure). */
void iproute_parse_failure(const char *err, struct iproute_failure *f);

/* Run SCRIPT (lines of ip commands) as one `ip [-force] -batch -`. 0 when
 * every line succeeded; -1 otherwise, with F filled and an error recorded
 * ("ip -batch: MESSAGE", exit 111). With FORCE, ip goes on after a failing line. */
int iproute_batch(const char *script, int force, struct iproute_failure *f);

/* 1 when this kernel has IPv6 (/proc/sys/net/ipv6 exists), 0 when not. */
int iproute_has_ipv6(void);
/* Write 1 to /proc/sys/net/ipv6/conf/NAME/disable_ipv6 (of this network
 * namespace: /proc/sys/net follows the caller's namespace, unlike /sys). */
int iproute_disable_ipv6(const char *name);

#endif
