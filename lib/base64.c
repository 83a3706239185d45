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

/* The value of a base64 character, or -1. */
static int value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
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
		*d++ = (unsigned char)(a << 2 | b >> 4);
		*d++ = (unsigned char)((b & 15) << 4 | c >> 2);
		*d++ = (unsigned char)((c & 3) << 6 | e);
	}
	return (long)(d - (unsigned char *)dst);
}
