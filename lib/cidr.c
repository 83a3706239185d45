#include "cidr.h"

#include <stdio.h>

#include "error.h"

/* One decimal octet; advances *s. No sign, no leading zero, at most 255. */
static int octet(const char **s, uint32_t *v)
{
	const char *p = *s;
	uint32_t n = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		if (digits && n == 0)
			return -1;
		n = n * 10 + (uint32_t)(*p - '0');
		if (++digits > 3 || n > 255)
			return -1;
		p++;
	}
	if (!digits)
		return -1;
	*v = n;
	*s = p;
	return 0;
}

static int parse_ip(const char **s, uint32_t *ip)
{
	uint32_t v, r = 0;
	int i;

	for (i = 0; i < 4; i++) {
		if (i && *(*s)++ != '.')
			return -1;
		if (octet(s, &v) < 0)
			return -1;
		r = r << 8 | v;
	}
	*ip = r;
	return 0;
}

int ip4_parse(const char *s, uint32_t *ip)
{
	const char *p = s;

	if (parse_ip(&p, ip) < 0 || *p)
		return error_code(EXIT_USAGE, "invalid IPv4 address '%s'", s);
	return 0;
}

void ip4_format(uint32_t ip, char buf[IP4_LEN])
{
	snprintf(buf, IP4_LEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff);
}

int cidr_parse(const char *s, struct cidr *c)
{
	const char *p = s;
	int prefix = 0, digits = 0;

	if (parse_ip(&p, &c->addr) < 0 || *p++ != '/')
		goto bad;
	while (*p >= '0' && *p <= '9') {
		if (digits && prefix == 0)
			goto bad;
		prefix = prefix * 10 + (*p++ - '0');
		if (++digits > 2)
			goto bad;
	}
	if (!digits || *p || prefix > 32)
		goto bad;
	c->prefix = prefix;
	return 0;
bad:
	return error_code(EXIT_USAGE, "invalid CIDR '%s'", s);
}

void cidr_format(const struct cidr *c, char buf[CIDR_LEN])
{
	char ip[IP4_LEN];

	ip4_format(c->addr, ip);
	snprintf(buf, CIDR_LEN, "%s/%d", ip, c->prefix);
}

uint32_t cidr_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

uint32_t cidr_network(const struct cidr *c)
{
	return c->addr & cidr_mask(c->prefix);
}

uint32_t cidr_broadcast(const struct cidr *c)
{
	return cidr_network(c) | ~cidr_mask(c->prefix);
}

int cidr_is_network(const struct cidr *c)
{
	return c->addr == cidr_network(c);
}

int cidr_contains(const struct cidr *c, uint32_t ip)
{
	return (ip & cidr_mask(c->prefix)) == cidr_network(c);
}

int cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
	int p = a->prefix < b->prefix ? a->prefix : b->prefix;

	return ((a->addr ^ b->addr) & cidr_mask(p)) == 0;
}

uint64_t cidr_size(const struct cidr *c)
{
	return (uint64_t)1 << (32 - c->prefix);
}
