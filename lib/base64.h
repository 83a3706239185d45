/* base64: RFC 4648 with padding, for the agent's binary frames. Decoding is
 * strict: only the standard alphabet, a length that is a multiple of four,
 * padding only at the end, and no stray bits in the last group. */
#ifndef EMBER_BASE64_H
#define EMBER_BASE64_H

#include <stddef.h>

/* The length of the encoding of N bytes (no terminating NUL). */
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Encode N bytes of SRC into DST (BASE64_LEN(n) + 1 bytes: NUL-terminated).
 * Returns the length written, without the NUL. */
size_t base64_encode(const void *src, size_t n, char *dst);
/* Decode LEN characters of SRC into DST (at least LEN / 4 * 3 bytes). Returns
 * the number of bytes decoded, or -1 when SRC is not strict base64 (no error
 * recorded: the caller says what it was decoding). */
long base64_decode(const char *src, size_t len, void *dst);
/* Whether the codec may use the CPU's vector instructions (AVX2, where
 * there): 1 by default; 0 runs the scalar code alone (tests: the code a
 * CPU without them runs). The answers are the same either way. */
void base64_simd(int on);

#endif
