#include "base64.h"

#include <stdint.h>
#include <string.h>

/* The tables below are constants built by the preprocessor from these two
 * expressions, so there is nothing to initialise at run time. */
#define ALPHA(v)                                                                                   \
	((v) < 26    ? 'A' + (v)                                                                   \
	 : (v) < 52  ? 'a' + (v)-26                                                                \
	 : (v) < 62  ? '0' + (v)-52                                                                \
	 : (v) == 62 ? '+'                                                                         \
		     : '/')
#define VALUE(c)                                                                                   \
	((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                    \
	 : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                               \
	 : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                               \
	 : (c) == '+'		    ? 62                                                           \
	 : (c) == '/'		    ? 63                                                           \
				    : -1)
#define R4(M, i) M(i) M((i) + 1) M((i) + 2) M((i) + 3)
#define R16(M, i) R4(M, i) R4(M, (i) + 4) R4(M, (i) + 8) R4(M, (i) + 12)
#define R64(M, i) R16(M, i) R16(M, (i) + 16) R16(M, (i) + 32) R16(M, (i) + 48)
#define R256(M, i) R64(M, i) R64(M, (i) + 64) R64(M, (i) + 128) R64(M, (i) + 192)
#define R1024(M, i) R256(M, i) R256(M, (i) + 256) R256(M, (i) + 512) R256(M, (i) + 768)
#define R4096(M, i) R1024(M, i) R1024(M, (i) + 1024) R1024(M, (i) + 2048) R1024(M, (i) + 3072)

/* The two characters of every 12 bits: three bytes encode in two lookups. */
#define PAIR(v) ALPHA((v) >> 6), ALPHA((v)&63),
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* AVX2, where the CPU has it (checked once at run time): 24 bytes to 32
 * characters and back per step, the method of Muła and Lemire ("Faster
 * Base64 Encoding and Decoding using AVX2 Instructions", 2018). The scalar
 * code below stays the reference: it does the ends, and any block with a
 * character outside the alphabet is left to it, so the answers are the
 * same. */
#include <immintrin.h>
#define BASE64_AVX2 1

static int vectors = 1; /* base64_simd */

static int have_avx2(void)
{
	static int have = -1;

	if (have < 0)
		have = __builtin_cpu_supports("avx2") ? 1 : 0;
	return have && vectors;
}

/* 32 bytes, each lane's 12 at its bytes 4..15 (low) and 0..11 (high), as
 * the sextets of 8 groups, one per byte. */
__attribute__((target("avx2"))) static __m256i enc_sextets(__m256i in)
{
	__m256i t0, t1, t2, t3;

	in = _mm256_shuffle_epi8(in, _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0,
						     1, 14, 15, 13, 14, 11, 12, 10, 11, 8, 9, 7, 8,
						     5, 6, 4, 5));
	t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00));
	t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
	t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0));
	t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
	return _mm256_or_si256(t1, t3);
}

/* Sextets to characters: an offset by range (A-Z, a-z, 0-9, '+', '/'). */
__attribute__((target("avx2"))) static __m256i enc_chars(__m256i in)
{
	const __m256i offsets =
	    _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0, 65, 71,
			     -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
	__m256i idx = _mm256_subs_epu8(in, _mm256_set1_epi8(51));

	idx = _mm256_sub_epi8(idx, _mm256_cmpgt_epi8(in, _mm256_set1_epi8(25)));
	return _mm256_add_epi8(in, _mm256_shuffle_epi8(offsets, idx));
}

/* Encode whole steps of 24 bytes; returns the bytes taken. Every load stays
 * within SRC[0, N): the first at 0, the others 4 bytes before the step. */
__attribute__((target("avx2"))) static size_t encode_avx2(const unsigned char *s, size_t n, char *d)
{
	size_t i;
	__m256i v;

	if (n < 32)
		return 0;
	v = _mm256_loadu_si256((const __m256i *)s);
	v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6));
	_mm256_storeu_si256((__m256i *)d, enc_chars(enc_sextets(v)));
	for (i = 24, d += 32; i + 28 <= n; i += 24, d += 32) {
		v = _mm256_loadu_si256((const __m256i *)(s + i - 4));
		_mm256_storeu_si256((__m256i *)d, enc_chars(enc_sextets(v)));
	}
	return i;
}

/* Decode whole blocks of 32 characters while 48 or more are left (so the
 * 32-byte store stays within the LEN / 4 * 3 bytes of DST, and the last
 * group is the scalar code's); stops before a block with a character
 * outside the alphabet ('=' too). Returns the characters taken. */
__attribute__((target("avx2"))) static size_t decode_avx2(const unsigned char *s, size_t len,
							  unsigned char *d)
{
	const __m256i lut_lo =
	    _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a,
			     0x1b, 0x1b, 0x1b, 0x1a, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
			     0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
	const __m256i lut_hi =
	    _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10,
			     0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
			     0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
	const __m256i lut_roll =
	    _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4,
			     -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m256i mask_2f = _mm256_set1_epi8(0x2f);
	__m256i v, hi_nib, lo_nib, lo, hi, roll;
	size_t i;

	for (i = 0; len - i >= 48; i += 32, d += 24) {
		v = _mm256_loadu_si256((const __m256i *)(s + i));
		hi_nib = _mm256_and_si256(_mm256_srli_epi32(v, 4), mask_2f);
		lo_nib = _mm256_and_si256(v, mask_2f);
		lo = _mm256_shuffle_epi8(lut_lo, lo_nib);
		hi = _mm256_shuffle_epi8(lut_hi, hi_nib);
		if (!_mm256_testz_si256(lo, hi))
			break;
		roll = _mm256_shuffle_epi8(lut_roll,
					   _mm256_add_epi8(_mm256_cmpeq_epi8(v, mask_2f), hi_nib));
		v = _mm256_add_epi8(v, roll);
		v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
		v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
		v = _mm256_shuffle_epi8(v, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12,
							    -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9,
							    8, 14, 13, 12, -1, -1, -1, -1));
		v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1));
		_mm256_storeu_si256((__m256i *)d, v);
	}
	return i;
}
#endif

void base64_simd(int on)
{
#ifdef BASE64_AVX2
	vectors = on;
#else
	(void)on;
#endif
}

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

#ifdef BASE64_AVX2
	if (n >= 32 && have_avx2()) {
		i = encode_avx2(s, n, d);
		d += i / 3 * 4;
	}
#endif
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
#ifdef BASE64_AVX2
	if (len >= 48 && have_avx2()) {
		size_t k = decode_avx2(s, len, d);

		s += k;
		d += k / 4 * 3;
	}
#endif
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
