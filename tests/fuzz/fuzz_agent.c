/* libFuzzer target: the agent's request and frame parsers never crash, and
 * what they accept holds to their word: a known op, exec with a non-empty
 * argv, a path for the file ops, a mode within 07777, a frame within its
 * bound; what they refuse carries a code and a message. The frames' fast
 * path (agent_frame_fast) answers as cJSON alone would, on the input as a
 * line and on the input as the inside of a data frame's string; base64
 * answers the same with and without its vector code. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_request.h"
#include "base64.h"

static char raw[AGENT_RAW_MAX], fast[AGENT_RAW_MAX];

/* agent_frame_parse (fast path, then cJSON) and cJSON alone agree, and what
 * the fast path takes for KEY is that frame as cJSON reads it. */
static void frames_agree(const char *line, size_t n, const char *key, const char *eof_key)
{
	static char json[AGENT_RAW_MAX];
	struct agent_err e, ej;
	long got, want, quick;
	int eof = -1, eofj = -1;

	memset(&e, 0, sizeof(e));
	memset(&ej, 0, sizeof(ej));
	got = agent_frame_parse(line, n, key, eof_key, raw, &eof, &e);
	want = agent_frame_parse_json(line, n, key, eof_key, json, &eofj, &ej);
	quick = agent_frame_fast(line, n, key, fast);
	if (got > AGENT_RAW_MAX || got != want || (got < 0 && (!e.code[0] || !e.message[0])))
		abort();
	if (got >= 0 && (eof != eofj || memcmp(raw, json, (size_t)got) != 0))
		abort();
	if (got < 0 && (strcmp(e.code, ej.code) != 0 || strcmp(e.message, ej.message) != 0))
		abort();
	if (quick >= 0 && (quick != want || eofj || memcmp(fast, json, (size_t)quick) != 0))
		abort();
}

/* The codec with and without its vector code: the same answers, and (in
 * buffers of exactly the sizes promised) no access past them. */
static void codec_agrees(const uint8_t *data, size_t size)
{
	unsigned char *src = malloc(size ? size : 1), *a = malloc(size / 4 * 3 + 1),
		      *b = malloc(size / 4 * 3 + 1);
	char *e1 = malloc(BASE64_LEN(size) + 1), *e2 = malloc(BASE64_LEN(size) + 1);
	unsigned char *back = malloc(BASE64_LEN(size) / 4 * 3 + 1);
	long x, y;

	if (src && a && b && e1 && e2 && back) {
		memcpy(src, data, size);
		x = base64_decode((const char *)src, size, a);
		base64_simd(0);
		y = base64_decode((const char *)src, size, b);
		base64_simd(1);
		if (x != y || (x > 0 && memcmp(a, b, (size_t)x) != 0))
			abort();
		base64_encode(src, size, e1);
		base64_simd(0);
		base64_encode(src, size, e2);
		base64_simd(1);
		if (strcmp(e1, e2) != 0 || base64_decode(e1, strlen(e1), back) != (long)size ||
		    memcmp(back, src, size) != 0)
			abort();
	}
	free(back);
	free(src);
	free(a);
	free(b);
	free(e1);
	free(e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = {"{\"data\":\"", "{\"id\":7,\"data\":\"",
					       "{\"id\":\"a-1\",\"data\":\""};
	struct agent_request r;
	struct agent_err e;
	char *line = malloc(size + 1), *wrapped;
	size_t i, p;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	memset(&e, 0, sizeof(e));
	if (agent_request_parse(line, size, &r, &e) == 0) {
		if (r.op > AGENT_OP_STATUS)
			abort();
		if (r.op == AGENT_OP_EXEC && (!r.argv || !r.argv[0] || !*r.argv[0]))
			abort();
		if ((r.op == AGENT_OP_READ_FILE || r.op == AGENT_OP_WRITE_FILE) && (!r.path || !*r.path))
			abort();
		if (r.mode > 07777 || r.offset < 0 || r.timeout_ms < 0)
			abort();
		if (r.id && !cJSON_IsNumber(r.id) && !(cJSON_IsString(r.id) && strlen(r.id->valuestring) <= AGENT_ID_MAX))
			abort();
	} else if (!e.code[0] || !e.message[0]) {
		abort();
	}
	agent_request_release(&r);
	frames_agree(line, size, "stdin", "stdin_eof");
	frames_agree(line, size, "data", "eof");
	/* the input as the inside of a data frame, with and without an id */
	wrapped = malloc(size + 32);
	if (wrapped) {
		p = size ? data[0] % 3 : 0; /* the first byte picks the prefix */
		i = strlen(prefixes[p]);
		memcpy(wrapped, prefixes[p], i);
		memcpy(wrapped + i, data, size);
		memcpy(wrapped + i + size, "\"}", 3);
		frames_agree(wrapped, i + size + 2, "data", "eof");
		free(wrapped);
	}
	codec_agrees(data, size);
	free(line);
	return 0;
}
