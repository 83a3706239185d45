#include "base64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const void *src, size_t n, char *dst)
{
	const unsigned char *s = src;
	char *d = dst;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		*d++ = alphabet[v >> 18];
		*d++ = alphabet[(v >> 12) & 63];
		*d++ = alphabet[(v >> 6) & 63];
		*d++ = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);

		*d++ = alphabet[v >> 18];
		*d++ = alphabet[(v >> 12) & 63];
		*d++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*d++ = '=';
	}
	*d = '\0';
	return (size_t)(d - dst);
}

/* The value of each byte as a base64 character, or -1: a table, so that a
 * frame of 512 KiB decodes without a branch per character. */
static const signed char values[256] = {
#define X16 -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
	X16, X16,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,             /* '+' '/' */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,             /* '0'-'9' */
	-1, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,             /* 'A'-'O' */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,             /* 'P'-'Z' */
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,             /* 'a'-'o' */
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,             /* 'p'-'z' */
	X16, X16, X16, X16, X16, X16, X16, X16,
#undef X16
};

static int value(unsigned char c)
{
	return values[c];
}

long base64_decode(const char *src, size_t len, void *dst)
{
	unsigned char *d = dst;
	size_t i;

	if (len % 4)
		return -1;
	for (i = 0; i < len; i += 4) {
		int a = value((unsigned char)src[i]), b = value((unsigned char)src[i + 1]);
		int c = value((unsigned char)src[i + 2]), e = value((unsigned char)src[i + 3]);
		int last = i + 4 == len;

		if ((a | b | c | e) >= 0) {
			*d++ = (unsigned char)(a << 2 | b >> 4);
			*d++ = (unsigned char)((b & 15) << 4 | c >> 2);
			*d++ = (unsigned char)((c & 3) << 6 | e);
			continue;
		}
		if (a < 0 || b < 0)
			return -1;
		if (c < 0 || e < 0) {
			/* padding: only in the last group, "xx==" or "xxx=" */
			if (!last || src[i + 3] != '=' || (c < 0 && src[i + 2] != '='))
				return -1;
			if (c < 0) {
				if (b & 15)
					return -1;
				*d++ = (unsigned char)(a << 2 | b >> 4);
			} else {
				if (c & 3)
					return -1;
				*d++ = (unsigned char)(a << 2 | b >> 4);
				*d++ = (unsigned char)((b & 15) << 4 | c >> 2);
			}
			break;
		}
		return -1; /* not reached: one of the four is not base64 */
	}
	return (long)(d - (unsigned char *)dst);
}
