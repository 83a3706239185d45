/* The agent's pure parts: base64 (strict), the request parser, frames, the
 * line reader's bounds, and the hybrid vsock's OK line. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "file.h"

#include "agent_client.h"
#include "agent_request.h"
#include "base64.h"
#include "hvsock.h"

static void base64_vectors(void **state)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char enc[16], dec[16];
	int i;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_int_equal(base64_encode(plain[i], strlen(plain[i]), enc), strlen(coded[i]));
		assert_string_equal(enc, coded[i]);
		assert_int_equal(base64_decode(coded[i], strlen(coded[i]), dec), strlen(plain[i]));
		assert_memory_equal(dec, plain[i], strlen(plain[i]));
	}
}

static void base64_binary_round_trip(void **state)
{
	unsigned char in[1000], out[1000];
	char enc[BASE64_LEN(1000) + 1];
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (n = 0; n < sizeof(in); n += 7) {
		size_t len = base64_encode(in, n, enc);

		assert_int_equal(len, BASE64_LEN(n));
		assert_int_equal(base64_decode(enc, len, out), n);
		assert_memory_equal(in, out, n);
	}
}

static void base64_strict(void **state)
{
	static const char *const bad[] = {"Zg=",  "Zg", "Z===", "Zg==Zg==", "Zh==", "Zm9=", "Zm9v!A==",
					  "Zm 9", "=Zg=", "Zm=v", "Zg\n=", "-_8="};
	char dec[16];
	int i;

	(void)state;
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++)
		assert_int_equal(base64_decode(bad[i], strlen(bad[i]), dec), -1);
}

/* A plain, slow, strict decoder to hold the table-driven one to: one
 * character at a time, padding only as the last one or two. */
static long reference_decode(const unsigned char *s, size_t len, unsigned char *d)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long bits = 0;
	size_t i, pad = 0, out = 0;
	int nbits = 0;
	const char *at;

	if (len % 4)
		return -1;
	if (len && s[len - 1] == '=')
		pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++) {
		at = s[i] ? strchr(alphabet, s[i]) : NULL;
		if (!at)
			return -1;
		bits = bits << 6 | (unsigned long)(at - alphabet);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			d[out++] = (unsigned char)(bits >> nbits);
		}
	}
	if (bits & ((1UL << nbits) - 1))
		return -1; /* stray bits before the padding */
	return (long)out;
}

static size_t reference_encode(const unsigned char *s, size_t n, char *d)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, out = 0;

	for (i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16 |
				  (i + 1 < n ? (unsigned long)s[i + 1] << 8 : 0) |
				  (i + 2 < n ? s[i + 2] : 0);

		d[out++] = alphabet[v >> 18];
		d[out++] = alphabet[(v >> 12) & 63];
		d[out++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		d[out++] = i + 2 < n ? alphabet[v & 63] : '=';
	}
	d[out] = '\0';
	return out;
}

/* Every byte value in every place of strings up to 136 characters (so the
 * vector blocks of 32, the two scalar loops and the last group), random
 * strings, and the encoding of every length up to 300, against the
 * references. */
static void matches_reference(void)
{
	static const unsigned char chars[] = "AZaz09+/=QgwE\0\x80\xff -_\n";
	unsigned char s[168], a[168], b[168], in[300];
	char e1[404], e2[404];
	unsigned seed = 12345;
	size_t len, i, j;
	long x, y;
	int c, k;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)rand_r(&seed);
	for (len = 0; len <= sizeof(in); len++) {
		for (j = 0; j < 4 && j <= len; j++) {
			assert_int_equal(base64_encode(in + j, len - j, e1),
					 reference_encode(in + j, len - j, e2));
			assert_string_equal(e1, e2);
		}
	}
	for (len = 0; len <= 136; len += 4) {
		for (i = 0; i < len; i++) {
			for (c = 0; c < 256; c++) {
				for (j = 0; j < len; j++)
					s[j] = "Zm9v"[j % 4];
				s[i] = (unsigned char)c;
				x = base64_decode((const char *)s, len, a);
				y = reference_decode(s, len, b);
				assert_int_equal(x, y);
				if (x > 0)
					assert_memory_equal(a, b, (size_t)x);
			}
		}
	}
	for (k = 0; k < 200000; k++) {
		len = (size_t)(rand_r(&seed) % 41) * 4 +
		      (rand_r(&seed) % 8 == 0 ? (size_t)rand_r(&seed) % 4 : 0);
		for (j = 0; j < len; j++)
			s[j] = chars[rand_r(&seed) % (sizeof(chars) - 1)];
		x = base64_decode((const char *)s, len, a);
		y = reference_decode(s, len, b);
		assert_int_equal(x, y);
		if (x > 0)
			assert_memory_equal(a, b, (size_t)x);
	}
}

/* ... with the vector code where the CPU has it, and with the scalar code
 * alone (what a CPU without it runs). */
static void base64_matches_reference(void **state)
{
	(void)state;
	matches_reference();
	base64_simd(0);
	matches_reference();
	base64_simd(1);
}

static int parse(const char *s, struct agent_request *r, struct agent_err *e)
{
	memset(e, 0, sizeof(*e));
	return agent_request_parse(s, strlen(s), r, e);
}

static void request_ops(void **state)
{
	struct agent_request r;
	struct agent_err e;

	(void)state;
	assert_int_equal(parse("{\"op\":\"ping\",\"id\":7}", &r, &e), 0);
	assert_int_equal(r.op, AGENT_OP_PING);
	assert_int_equal(r.id->valueint, 7);
	agent_request_release(&r);
	assert_int_equal(parse("{\"op\":\"exec\",\"argv\":[\"ls\",\"-l\"],\"env\":{\"A\":\"b\"},\"cwd\":\"/tmp\","
			       "\"stdin\":true,\"timeout_ms\":1500}",
			       &r, &e),
			 0);
	assert_string_equal(r.argv[0], "ls");
	assert_string_equal(r.argv[1], "-l");
	assert_null(r.argv[2]);
	assert_string_equal(r.cwd, "/tmp");
	assert_int_equal(r.stdin_frames, 1);
	assert_int_equal(r.timeout_ms, 1500);
	agent_request_release(&r);
	assert_int_equal(parse("{\"op\":\"exec\",\"command\":\"echo hi\"}", &r, &e), 0);
	assert_string_equal(r.argv[0], "/bin/sh");
	assert_string_equal(r.argv[1], "-c");
	assert_string_equal(r.argv[2], "echo hi");
	agent_request_release(&r);
	assert_int_equal(parse("{\"op\":\"read_file\",\"path\":\"/x\",\"offset\":3,\"length\":4}", &r, &e), 0);
	assert_int_equal(r.offset, 3);
	assert_int_equal(r.length, 4);
	agent_request_release(&r);
	assert_int_equal(parse("{\"op\":\"write_file\",\"path\":\"/x\",\"mode\":\"0751\"}", &r, &e), 0);
	assert_int_equal(r.mode, 0751);
	agent_request_release(&r);
	assert_int_equal(parse("  {\"op\":\"status\"}  \r", &r, &e), 0);
	agent_request_release(&r);
}

static void request_refusals(void **state)
{
	static const struct {
		const char *line, *code, *message;
		int keeps_id;
	} cases[] = {
		{"nope", "EBADREQ", "invalid JSON at byte 0", 0},
		{"[1]", "EBADREQ", "a request is a JSON object", 0},
		{"{\"op\":\"ping\"} x", "EBADREQ", "invalid JSON: more after the object at byte 14", 0},
		{"{\"id\":1}", "EBADREQ", "a request needs 'op'", 1},
		{"{\"id\":1,\"op\":3}", "EBADREQ", "'op' must be a string", 1},
		{"{\"id\":\"a\",\"op\":\"fly\"}", "EUNKNOWNOP", "unknown op 'fly'", 1},
		{"{\"id\":{},\"op\":\"ping\"}", "EBADREQ", "'id' must be a number or a string of at most 256 bytes", 0},
		{"{\"op\":\"exec\"}", "EBADREQ", "exec needs 'argv' or 'command'", 0},
		{"{\"op\":\"exec\",\"argv\":\"ls\"}", "EBADREQ", "'argv' must be an array of strings", 0},
		{"{\"op\":\"exec\",\"argv\":[1]}", "EBADREQ", "'argv' must be an array of strings", 0},
		{"{\"op\":\"exec\",\"argv\":[]}", "EINVAL", "'argv' must not be empty", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"command\":\"b\"}", "EBADREQ", "exec takes 'argv' or 'command', not both", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"env\":[]}", "EBADREQ", "'env' must be an object of strings", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"env\":{\"A\":1}}", "EBADREQ", "'env' must be an object of strings", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"env\":{\"A=B\":\"c\"}}", "EINVAL",
		 "an 'env' name must be non-empty, without '='", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"timeout_ms\":\"5\"}", "EBADREQ",
		 "'timeout_ms' must be a non-negative integer", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"timeout_ms\":-1}", "EBADREQ",
		 "'timeout_ms' must be a non-negative integer", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"timeout_ms\":1.5}", "EBADREQ",
		 "'timeout_ms' must be a non-negative integer", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"stdin\":1}", "EBADREQ", "'stdin' must be true or false", 0},
		{"{\"op\":\"exec\",\"argv\":[\"a\"],\"cwd\":7}", "EBADREQ", "'cwd' must be a string", 0},
		{"{\"op\":\"read_file\"}", "EBADREQ", "read_file needs 'path'", 0},
		{"{\"op\":\"read_file\",\"path\":5}", "EBADREQ", "'path' must be a string", 0},
		{"{\"op\":\"read_file\",\"path\":\"\"}", "EINVAL", "'path' must not be empty", 0},
		{"{\"op\":\"write_file\",\"path\":\"/x\",\"mode\":\"abc\"}", "EBADREQ",
		 "'mode' must be an octal string such as \"0644\"", 0},
		{"{\"op\":\"write_file\",\"path\":\"/x\",\"mode\":\"17777\"}", "EBADREQ",
		 "'mode' must be an octal string such as \"0644\"", 0},
		{"{\"op\":\"write_file\",\"path\":\"/x\",\"mode\":420}", "EBADREQ", "'mode' must be a string", 0},
	};
	struct agent_request r;
	struct agent_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].line, &r, &e), -1);
		assert_string_equal(e.code, cases[i].code);
		assert_string_equal(e.message, cases[i].message);
		assert_int_equal(e.errnum, 0);
		assert_int_equal(r.id != NULL, cases[i].keeps_id);
		agent_request_release(&r);
	}
}

static void frames(void **state)
{
	static char raw[AGENT_RAW_MAX];
	char *big;
	struct agent_err e;
	long n;
	int eof;

	(void)state;
	n = agent_frame_parse("{\"stdin\":\"aGk=\"}", 16, "stdin", "stdin_eof", raw, &eof, &e);
	assert_int_equal(n, 2);
	assert_memory_equal(raw, "hi", 2);
	assert_int_equal(eof, 0);
	n = agent_frame_parse("{\"stdin_eof\":true}", 18, "stdin", "stdin_eof", raw, &eof, &e);
	assert_int_equal(n, 0);
	assert_int_equal(eof, 1);
	assert_int_equal(agent_frame_parse("{\"stdin\":\"aGk\"}", 15, "stdin", "stdin_eof", raw, &eof, &e), -1);
	assert_string_equal(e.message, "'stdin' is not valid base64");
	assert_int_equal(agent_frame_parse("{\"stdin\":5}", 11, "stdin", "stdin_eof", raw, &eof, &e), -1);
	assert_string_equal(e.code, "EBADREQ");
	assert_int_equal(agent_frame_parse("{\"x\":1}", 7, "stdin", "stdin_eof", raw, &eof, &e), -1);
	assert_string_equal(e.message, "expected a 'stdin' or 'stdin_eof' frame");
	/* one character past a frame's 512 KiB */
	big = malloc(AGENT_FRAME_MAX + 32);
	n = sprintf(big, "{\"data\":\"");
	memset(big + n, 'A', AGENT_FRAME_MAX + 4);
	strcpy(big + n + AGENT_FRAME_MAX + 4, "\"}");
	assert_int_equal(agent_frame_parse(big, strlen(big), "data", "eof", raw, &eof, &e), -1);
	assert_string_equal(e.code, "E2BIG");
	/* exactly 512 KiB is a frame */
	strcpy(big + n + AGENT_FRAME_MAX, "\"}");
	assert_int_equal(agent_frame_parse(big, strlen(big), "data", "eof", raw, &eof, &e), AGENT_RAW_MAX);
	free(big);
}

static void frame_lines(void **state)
{
	static char raw[AGENT_RAW_MAX], back[AGENT_RAW_MAX];
	size_t size = agent_frame_size(AGENT_RAW_MAX);
	char *buf = malloc(size);
	cJSON *id = cJSON_CreateString("x1");
	struct agent_err e;
	long len, n;
	int eof, i;

	(void)state;
	for (i = 0; i < AGENT_RAW_MAX; i++)
		raw[i] = (char)(i * 7);
	len = agent_frame(id, "data", raw, AGENT_RAW_MAX, buf, size);
	assert_true(len > 0);
	assert_int_equal(buf[len - 1], '\n');
	assert_memory_equal(buf, "{\"id\":\"x1\",\"data\":\"", 19);
	n = agent_frame_parse(buf, (size_t)len - 1, "data", "eof", back, &eof, &e);
	assert_int_equal(n, AGENT_RAW_MAX);
	assert_memory_equal(raw, back, AGENT_RAW_MAX);
	cJSON_Delete(id);
	free(buf);
}

/* agent_frame writes the very bytes cJSON prints for the same object. */
static void frame_bytes_as_cjson_prints(void **state)
{
	static char raw[AGENT_RAW_MAX];
	static const size_t lens[] = {0, 1, 2, 3, 4, 5, 1000, AGENT_RAW_MAX};
	size_t size = agent_frame_size(AGENT_RAW_MAX), i, j;
	char *buf = malloc(size), *b64 = malloc(BASE64_LEN(AGENT_RAW_MAX) + 1), *want,
	     big[AGENT_ID_MAX + 1];
	cJSON *ids[8], *o;
	long len;
	int k;

	(void)state;
	memset(big, '\x01', AGENT_ID_MAX);
	big[AGENT_ID_MAX] = '\0';
	ids[0] = NULL;
	ids[1] = cJSON_CreateNumber(7);
	ids[2] = cJSON_CreateNumber(-1.5e300);
	ids[3] = cJSON_CreateNumber(0.1);
	ids[4] = cJSON_CreateString("x1");
	ids[5] = cJSON_CreateString("a\"b\\c\n\xc3\xa9");
	ids[6] = cJSON_CreateString(big); /* each character escaped as \u0001 */
	ids[7] = cJSON_CreateString("");
	for (i = 0; i < AGENT_RAW_MAX; i++)
		raw[i] = (char)(i * 13 + 1);
	for (k = 0; k < 8; k++) {
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			o = cJSON_CreateObject();
			if (ids[k])
				cJSON_AddItemToObject(o, "id", cJSON_Duplicate(ids[k], 1));
			base64_encode(raw, lens[j], b64);
			cJSON_AddStringToObject(o, k % 2 ? "stdout" : "data", b64);
			want = cJSON_PrintUnformatted(o);
			len =
			    agent_frame(ids[k], k % 2 ? "stdout" : "data", raw, lens[j], buf, size);
			assert_int_equal(len, strlen(want) + 1);
			assert_memory_equal(buf, want, strlen(want));
			assert_int_equal(buf[len - 1], '\n');
			free(want);
			cJSON_Delete(o);
		}
		cJSON_Delete(ids[k]);
	}
	free(buf);
	free(b64);
}

/* A line through agent_frame_parse (the fast path, then cJSON) and through
 * cJSON alone: the same answer, to the byte and to the message. Returns
 * whether the fast path took it. */
static int same_either_way(const char *line, size_t n, const char *key, const char *eof_key)
{
	static char a[AGENT_RAW_MAX], b[AGENT_RAW_MAX], c[AGENT_RAW_MAX];
	struct agent_err ea, eb;
	long x, y, z;
	int eofa = -1, eofb = -1;

	memset(&ea, 0, sizeof(ea));
	memset(&eb, 0, sizeof(eb));
	x = agent_frame_parse(line, n, key, eof_key, a, &eofa, &ea);
	y = agent_frame_parse_json(line, n, key, eof_key, b, &eofb, &eb);
	z = agent_frame_fast(line, n, key, c);
	assert_int_equal(x, y);
	if (y >= 0) {
		assert_int_equal(eofa, eofb);
		assert_memory_equal(a, b, (size_t)y);
	} else {
		assert_string_equal(ea.code, eb.code);
		assert_string_equal(ea.message, eb.message);
	}
	if (z >= 0) {
		/* what the fast path takes, cJSON reads as that data frame */
		assert_int_equal(z, y);
		assert_int_equal(eofb, 0);
		assert_memory_equal(c, b, (size_t)y);
	}
	return z >= 0;
}

/* Odd spacing, escapes, extra keys, wrong types, duplicates, NULs, bounds:
 * the fast path takes only agent_frame's own shape and answers as cJSON
 * would; every other line gets cJSON's answer. */
static void frame_fast_path(void **state)
{
	static const struct {
		const char *line;
		int fast;    /* taken by the fast path */
		long result; /* bytes, or -1 */
		const char *code;
	} cases[] = {
	    {"{\"data\":\"aGk=\"}", 1, 2, NULL},
	    {"{\"data\":\"\"}", 1, 0, NULL},
	    {"{\"id\":7,\"data\":\"aGk=\"}", 1, 2, NULL},
	    {"{\"id\":01,\"data\":\"aGk=\"}", 1, 2, NULL},
	    {"{\"id\":\"x-1.a:b_C\",\"data\":\"aGk=\"}", 1, 2, NULL},
	    {"{\"id\":\"\",\"data\":\"aGk=\"}", 1, 2, NULL},
	    {"{\"id\":1234567890123456,\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"id\":-1,\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"id\":\"a b\",\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"id\":\"a\\\"b\",\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"id\":null,\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"data\":\"aGk=\"} ", 0, 2, NULL},
	    {"{ \"data\" : \"aGk=\" }", 0, 2, NULL},
	    {"{\"data\" :\"aGk=\"}", 0, 2, NULL},
	    {"\t{\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"data\":\"aGk\\u003d\"}", 0, 2, NULL},
	    {"{\"data\":\"aG\\/k\"}", 0, 3, NULL},
	    {"{\"data\":\"aGk\\\"=\"}", 0, -1, "EBADREQ"},
	    {"{\"data\":\"aGk=\\\"}", 0, -1, "EBADREQ"},
	    {"{\"data\":\"aGk=\",\"x\":1}", 0, 2, NULL},
	    {"{\"x\":1,\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"x\":\"1\",\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"id\":7,\"x\":1,\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"data\":\"aGk=\",\"eof\":true}", 0, 2, NULL},
	    {"{\"data\":\"aGk=\",\"eof\":false}", 0, 2, NULL},
	    {"{\"data\":\"aGk=\",\"eof\":\"yes\"}", 0, -1, "EBADREQ"},
	    {"{\"eof\":true,\"data\":\"aGk=\"}", 0, 2, NULL},
	    {"{\"eof\":true}", 0, 0, NULL},
	    {"{\"data\":\"\",\"data\":\"aGk=\"}", 0, 0, NULL},
	    {"{\"data\":\"QQ==\",\"data\":\"aGk=\"}", 0, 1, NULL},
	    {"{\"data\":\"aGk=\",\"data\":5}", 0, 2, NULL},
	    {"{\"data\":5}", 0, -1, "EBADREQ"},
	    {"{\"data\":null}", 0, -1, "EBADREQ"},
	    {"{\"data\":[\"aGk=\"]}", 0, -1, "EBADREQ"},
	    {"{\"data\":\"aGk\"}", 0, -1, "EBADREQ"},
	    {"{\"data\":\"aG=k\"}", 0, -1, "EBADREQ"},
	    {"{\"data\":\"aGk=\"}}", 0, -1, "EBADREQ"},
	    {"{\"data\":\"aGk=\"", 0, -1, "EBADREQ"},
	    {"{\"data\":\"aGk=\"]", 0, -1, "EBADREQ"},
	    {"[\"data\",\"aGk=\"]", 0, -1, "EBADREQ"},
	    {"{\"Data\":\"aGk=\"}", 0, -1, "EBADREQ"},
	    {"{\"dataX\":\"aGk=\"}", 0, -1, "EBADREQ"},
	    {"{\"stdout\":\"aGk=\"}", 0, -1, "EBADREQ"},
	    {"{\"data\":\"a\"}", 0, -1, "EBADREQ"},
	    {"{\"}", 0, -1, "EBADREQ"},
	    {"{\"data\":\"}", 0, -1, "EBADREQ"},
	    {"\"}", 0, -1, "EBADREQ"},
	};
	char line[64], *big;
	size_t i, n;
	int fast;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static char raw[AGENT_RAW_MAX];
		struct agent_err e;
		int eof;

		fast = same_either_way(cases[i].line, strlen(cases[i].line), "data", "eof");
		if (fast != cases[i].fast)
			fail_msg("%s: fast path %d, not %d", cases[i].line, fast, cases[i].fast);
		memset(&e, 0, sizeof(e));
		if (agent_frame_parse(cases[i].line, strlen(cases[i].line), "data", "eof", raw,
				      &eof, &e) != cases[i].result ||
		    (cases[i].code && strcmp(e.code, cases[i].code) != 0))
			fail_msg("%s: not %ld %s", cases[i].line, cases[i].result,
				 cases[i].code ? cases[i].code : "");
	}
	/* a NUL inside the string: cJSON's string ends there, the fast path
	 * leaves it to cJSON */
	n = (size_t)sprintf(line, "{\"data\":\"aGk=") + 1;
	n += (size_t)sprintf(line + n, "QQ==\"}");
	assert_int_equal(same_either_way(line, n, "data", "eof"), 0);
	/* the frame bound, on both sides of it */
	big = malloc(AGENT_FRAME_MAX + 64);
	n = (size_t)sprintf(big, "{\"id\":\"x\",\"data\":\"");
	memset(big + n, 'A', AGENT_FRAME_MAX);
	strcpy(big + n + AGENT_FRAME_MAX, "\"}");
	assert_int_equal(same_either_way(big, strlen(big), "data", "eof"), 1);
	memset(big + n, 'A', AGENT_FRAME_MAX + 4);
	strcpy(big + n + AGENT_FRAME_MAX + 4, "\"}");
	assert_int_equal(same_either_way(big, strlen(big), "data", "eof"), 0);
	free(big);
	/* the client's keys */
	assert_int_equal(same_either_way("{\"stdout\":\"aGk=\"}", 17, "stdout", "stdin_eof"), 1);
	assert_int_equal(same_either_way("{\"stderr\":\"aGk=\"}", 17, "stdout", "stdin_eof"), 0);
	assert_int_equal(agent_frame_fast("{\"stderr\":\"aGk=\"}", 17, "stderr", line), 2);
}

/* A copy's write-behind: nothing until FILE_WRITE_BEHIND bytes are past the
 * mark, then the mark moves to what was written; the bytes are the file's. */
static void write_behind(void **state)
{
	char path[] = "/tmp/ember-test-behind.XXXXXX", *buf = calloc(1, FILE_WRITE_BEHIND);
	off_t started = 0, written = 0;
	struct stat st;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0 && buf);
	assert_int_equal(file_write_all(fd, buf, FILE_WRITE_BEHIND - 1), 0);
	written += FILE_WRITE_BEHIND - 1;
	file_write_behind(fd, written, &started);
	assert_int_equal(started, 0);
	assert_int_equal(file_write_all(fd, buf, 1), 0);
	written += 1;
	file_write_behind(fd, written, &started);
	assert_int_equal(started, FILE_WRITE_BEHIND);
	assert_int_equal(file_write_all(fd, buf, 4096), 0);
	file_write_behind(fd, written + 4096, &started);
	assert_int_equal(started, FILE_WRITE_BEHIND);
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, FILE_WRITE_BEHIND + 4096);
	close(fd);
	unlink(path);
	free(buf);
}

/* The reader: lines in order, a line past 1 MiB dropped whole, then on. */
static void reader_bounds(void **state)
{
	struct agent_reader r;
	int sv[2];
	char *line, *big;
	size_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		size_t len = 2 * AGENT_LINE_MAX;

		close(sv[0]);
		big = malloc(len + 1);
		memset(big, 'x', len);
		big[len] = '\n';
		assert_int_equal(write(sv[1], "a\n\nb\n", 5), 5);
		assert_int_equal(agent_write_all(sv[1], big, len + 1), 0);
		assert_int_equal(write(sv[1], "c\n", 2), 2);
		_exit(0);
	}
	close(sv[1]);
	assert_int_equal(agent_reader_init(&r, sv[0]), 0);
	assert_int_equal(agent_read_line(&r, 5000, &line, &n), AGENT_LINE);
	assert_string_equal(line, "a");
	assert_int_equal(agent_read_line(&r, 5000, &line, &n), AGENT_LINE);
	assert_int_equal(n, 0);
	assert_int_equal(agent_read_line(&r, 5000, &line, &n), AGENT_LINE);
	assert_string_equal(line, "b");
	assert_int_equal(agent_read_line(&r, 5000, &line, &n), AGENT_TOO_LONG);
	assert_int_equal(agent_read_line(&r, 5000, &line, &n), AGENT_LINE);
	assert_string_equal(line, "c");
	assert_int_equal(agent_read_line(&r, 5000, &line, &n), AGENT_NONE);
	agent_reader_release(&r);
	close(sv[0]);
}

static void ok_line(void **state)
{
	(void)state;
	assert_true(hvsock_ok_line("OK 1073741825\n", 14));
	assert_true(hvsock_ok_line("OK 1\n", 5));
	assert_false(hvsock_ok_line("OK \n", 4));
	assert_false(hvsock_ok_line("OK 12", 5));
	assert_false(hvsock_ok_line("ok 12\n", 6));
	assert_false(hvsock_ok_line("OK 1x\n", 6));
	assert_false(hvsock_ok_line("OK  12\n", 7));
	assert_false(hvsock_ok_line("OK 123456789012345\n", 19));
}

/* A fake hybrid vsock: a listener at PATH whose child answers each of N
 * connections with REPLY (in one write) after reading the CONNECT line,
 * which it checks came whole in one read. */
static pid_t fake_hvsock(const char *path, const char *reply, int n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c, i;
	char buf[64];
	ssize_t got;
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 16), 0);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < n; i++) {
			c = accept(l, NULL, NULL);
			got = read(c, buf, sizeof(buf));
			if (got != 13 || memcmp(buf, "CONNECT 1024\n", 13) != 0)
				_exit(3);
			if (*reply && write(c, reply, strlen(reply)) < 0)
				_exit(4);
			close(c);
		}
		_exit(0);
	}
	close(l);
	return pid;
}

static void hvsock_nothing_past_ok(void **state)
{
	char path[] = "/tmp/ember-test-hvsock-XXXXXX", sock[64], buf[64];
	int fd, st;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/v.sock", path);
	/* the guest's first bytes arrive in the same segment as the OK line */
	pid = fake_hvsock(sock, "OK 1073741825\nhello\n", 1);
	fd = hvsock_connect(sock, 1024, 2000);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "hello\n", 6);
	close(fd);
	waitpid(pid, &st, 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	/* an answer that is not OK <n>: refused at once */
	pid = fake_hvsock(sock, "OK 12x\n", 1);
	assert_int_equal(hvsock_connect(sock, 1024, 2000), -1);
	assert_non_null(strstr(error_message(), "unexpected answer from the hybrid vsock"));
	assert_non_null(strstr(error_message(), "'OK 12x'"));
	waitpid(pid, &st, 0);
	/* closed with no bytes (nothing listening in the guest): retried, then 111 */
	pid = fake_hvsock(sock, "", 1); /* then the listener is gone: refused, retried */
	assert_int_equal(hvsock_connect(sock, 1024, 250), -1);
	assert_int_equal(error_exit_code(), EXIT_TEMP);
	assert_non_null(strstr(error_message(), "the agent did not answer on"));
	assert_non_null(strstr(error_message(), "port 1024: waited 0."));
	waitpid(pid, &st, 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	unlink(sock);
	rmdir(path);
}

static void exit_codes(void **state)
{
	(void)state;
	assert_int_equal(agent_client_exit_code("ENOENT"), 1);
	assert_int_equal(agent_client_exit_code("EACCES"), 102);
	assert_int_equal(agent_client_exit_code("EISDIR"), 102);
	assert_int_equal(agent_client_exit_code("EBADREQ"), 100);
	assert_int_equal(agent_client_exit_code("EBUSY"), 111);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(base64_vectors),
	    cmocka_unit_test(base64_binary_round_trip),
	    cmocka_unit_test(base64_strict),
	    cmocka_unit_test(base64_matches_reference),
	    cmocka_unit_test(request_ops),
	    cmocka_unit_test(request_refusals),
	    cmocka_unit_test(frames),
	    cmocka_unit_test(frame_lines),
	    cmocka_unit_test(frame_bytes_as_cjson_prints),
	    cmocka_unit_test(frame_fast_path),
	    cmocka_unit_test(write_behind),
	    cmocka_unit_test(reader_bounds),
	    cmocka_unit_test(ok_line),
	    cmocka_unit_test(exit_codes),
	    cmocka_unit_test(hvsock_nothing_past_ok),
	};

	return UNIT_RUN(tests);
}
