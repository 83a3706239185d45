#include "base64.h"

#include <stdint.h>
#include <string.h>

/* The tables below are constants built by the preprocessor from these two
 * expressions, so there is nothing to initialise at run time. */
#define ALPHA(v)                                                                                   \
	((v) < 26 ? 'A' + (v) : (v) < 52 ? 'a' + (v) - 26 : (v) < 62 ? '0' + (v) - 52 : (v) == 62 ? '+' : '/')
#define VALUE(c)                                                                                   \
	((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                    \
	 : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                               \
	 : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                               \
	 : (c) == '+'               ? 62                                                           \
	 : (c) == '/'               ? 63                                                           \
				    : -1)
#define R4(M, i) M(i) M((i) + 1) M((i) + 2) M((i) + 3)
#define R16(M, i) R4(M, i) R4(M, (i) + 4) R4(M, (i) + 8) R4(M, (i) + 12)
#define R64(M, i) R16(M, i) R16(M, (i) + 16) R16(M, (i) + 32) R16(M, (i) + 48)
#define R256(M, i) R64(M, i) R64(M, (i) + 64) R64(M, (i) + 128) R64(M, (i) + 192)
#define R1024(M, i) R256(M, i) R256(M, (i) + 256) R256(M, (i) + 512) R256(M, (i) + 768)
#define R4096(M, i) R1024(M, i) R1024(M, (i) + 1024) R1024(M, (i) + 2048) R1024(M, (i) + 3072)

/* The two characters of every 12 bits: three bytes encode in two lookups. */
#define PAIR(v) ALPHA((v) >> 6), ALPHA((v) & 63),
static const char pairs[2 * 4096] = {R4096(PAIR, 0)};

/* Each byte's value as the character in each of a group's four places,
 * already shifted, or BAD: a group decodes in four lookups and an OR, and
 * one test of the OR finds any character outside the alphabet ('=' too). */
#define BAD 0x01000000u
#define PLACE(c, shift) (VALUE(c) < 0 ? BAD : (uint32_t)VALUE(c) << (shift)),
#define P0(c) PLACE(c, 18)
#define P1(c) PLACE(c, 12)
#define P2(c) PLACE(c, 6)
#define P3(c) PLACE(c, 0)
static const uint32_t place0[256] = {R256(P0, 0)}, place1[256] = {R256(P1, 0)},
		      place2[256] = {R256(P2, 0)}, place3[256] = {R256(P3, 0)};

static void put_pair(char *d, uint64_t v)
{
	memcpy(d, pairs + 2 * (v & 0xfff), 2);
}

size_t base64_encode(const void *src, size_t n, char *dst)
{
	const unsigned char *s = src;
	char *d = dst;
	size_t i = 0;
	uint64_t v;

	/* six bytes at a time, from an eight-byte load */
	for (; i + 8 <= n; i += 6, d += 8) {
		memcpy(&v, s + i, 8);
		v = __builtin_bswap64(v);
		put_pair(d, v >> 52);
		put_pair(d + 2, v >> 40);
		put_pair(d + 4, v >> 28);
		put_pair(d + 6, v >> 16);
	}
	for (; i + 3 <= n; i += 3, d += 4) {
		v = (uint64_t)s[i] << 16 | (uint64_t)s[i + 1] << 8 | s[i + 2];
		put_pair(d, v >> 12);
		put_pair(d + 2, v);
	}
	if (i < n) {
		v = (uint64_t)s[i] << 16 | (i + 1 < n ? (uint64_t)s[i + 1] << 8 : 0);
		*d++ = (char)ALPHA(v >> 18);
		*d++ = (char)ALPHA((v >> 12) & 63);
		*d++ = i + 1 < n ? (char)ALPHA((v >> 6) & 63) : '=';
		*d++ = '=';
	}
	*d = '\0';
	return (size_t)(d - dst);
}

static uint32_t group(const unsigned char *s)
{
	return place0[s[0]] | place1[s[1]] | place2[s[2]] | place3[s[3]];
}

static unsigned char *put3(unsigned char *d, uint32_t x)
{
	d[0] = (unsigned char)(x >> 16);
	d[1] = (unsigned char)(x >> 8);
	d[2] = (unsigned char)x;
	return d + 3;
}

long base64_decode(const char *src, size_t len, void *dst)
{
	const unsigned char *s = (const unsigned char *)src, *last;
	unsigned char *d = dst;
	uint32_t x, y;

	if (len % 4)
		return -1;
	if (!len)
		return 0;
	/* every group before the last has four characters of the alphabet */
	last = s + len - 4;
	for (; s + 8 <= last; s += 8) {
		x = group(s);
		y = group(s + 4);
		if ((x | y) & BAD)
			return -1;
		d = put3(put3(d, x), y);
	}
	for (; s < last; s += 4) {
		x = group(s);
		if (x & BAD)
			return -1;
		d = put3(d, x);
	}
	/* the last: "xxxx", "xxx=" or "xx==", with no stray bits before the
	 * padding */
	x = place0[s[0]] | place1[s[1]];
	if (s[3] != '=') {
		x |= place2[s[2]] | place3[s[3]];
		if (x & BAD)
			return -1;
		d = put3(d, x);
	} else if (s[2] != '=') {
		x |= place2[s[2]];
		if ((x & BAD) || (x & 0xff))
			return -1;
		*d++ = (unsigned char)(x >> 16);
		*d++ = (unsigned char)(x >> 8);
	} else {
		if ((x & BAD) || (x & 0xffff))
			return -1;
		*d++ = (unsigned char)(x >> 16);
	}
	return (long)(d - (unsigned char *)dst);
}
