/* cidr: IPv4 addresses and CIDR blocks, host byte order. */
#ifndef EMBER_CIDR_H
#define EMBER_CIDR_H

#include <stdint.h>

#define IP4_LEN 16   /* "255.255.255.255" + NUL */
#define CIDR_LEN 19  /* "255.255.255.255/32" + NUL */

struct cidr {
	uint32_t addr;
	int prefix;
};

/* Strict dotted quad: four decimal octets, no leading zeros, nothing else. */
int ip4_parse(const char *s, uint32_t *ip);
void ip4_format(uint32_t ip, char buf[IP4_LEN]);
/* "a.b.c.d/p" with 0 <= p <= 32; host bits are allowed here, see cidr_is_network. */
int cidr_parse(const char *s, struct cidr *c);
void cidr_format(const struct cidr *c, char buf[CIDR_LEN]);
uint32_t cidr_mask(int prefix);
uint32_t cidr_network(const struct cidr *c);
uint32_t cidr_broadcast(const struct cidr *c);
int cidr_is_network(const struct cidr *c);
int cidr_contains(const struct cidr *c, uint32_t ip);
int cidr_overlaps(const struct cidr *a, const struct cidr *b);
/* Number of addresses in the block (2^(32-prefix)). */
uint64_t cidr_size(const struct cidr *c);

#endif
