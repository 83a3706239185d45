/* agent_proto: what the agent (lib/agent*.c, in the guest) and its client
 * (lib/agent_client.c, on the host) share: the bounds, the line reader, the
 * writer, base64 frames and the error object.
 *
 * The protocol: one JSON object per '\n'-terminated line, at most
 * AGENT_LINE_MAX bytes; binary data travels in base64 strings of at most
 * AGENT_FRAME_MAX characters. A request may carry "id" (a string or a
 * number), echoed in every reply line. An error is
 * {"id":...,"error":{"code":"ENOENT","message":"...","errno":2}}. */
#ifndef EMBER_AGENT_PROTO_H
#define EMBER_AGENT_PROTO_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define AGENT_PORT 1024
#define AGENT_PROTOCOL 1
#define AGENT_LINE_MAX (1024 * 1024)
#define AGENT_FRAME_MAX (512 * 1024)
/* the bytes one frame carries: AGENT_FRAME_MAX base64 characters */
#define AGENT_RAW_MAX (AGENT_FRAME_MAX / 4 * 3)
#define AGENT_ID_MAX 256

/* An error as the protocol carries it. errnum 0: not from a system call
 * (EBADREQ, EUNKNOWNOP, E2BIG of a line, EBUSY of a connection bound). */
struct agent_err {
	char code[24];
	char message[512];
	int errnum;
};

/* Fill E with CODE (NULL: the errno's name) and a message. Returns -1. */
int agent_err_set(struct agent_err *e, const char *code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The error object of E as a reply line for a request with ID (may be NULL). */
cJSON *agent_err_reply(const cJSON *id, const struct agent_err *e);
/* A reply object with ID copied in (NULL: none). */
cJSON *agent_reply(const cJSON *id);

/* Lines from a socket, in a buffer of at most AGENT_LINE_MAX + a read. */
struct agent_reader {
	int fd;
	char *buf;
	size_t start, len; /* unconsumed: buf[start, start + len) */
	size_t scanned;    /* of those, searched for '\n' already */
	int skipping;      /* dropping the rest of a line that was too long */
	int eof;
};

enum { AGENT_NONE = 0, AGENT_LINE = 1, AGENT_TOO_LONG = 2 };

int agent_reader_init(struct agent_reader *r, int fd);
void agent_reader_release(struct agent_reader *r);
/* The next line from what is buffered, NUL-terminated in place (valid until
 * the next call): AGENT_LINE; AGENT_NONE when no whole line is buffered;
 * AGENT_TOO_LONG once for a line past AGENT_LINE_MAX (its rest is dropped). */
int agent_reader_line(struct agent_reader *r, char **line, size_t *n);
/* Whether the buffer has room for another read. */
int agent_reader_room(const struct agent_reader *r);
/* One read without waiting: 1 bytes came, 0 end of stream (r->eof set),
 * 2 nothing to read now, -1 an error (recorded). */
int agent_reader_fill(struct agent_reader *r);
/* Wait up to TIMEOUT_MS (-1: forever) for the next line: AGENT_LINE,
 * AGENT_TOO_LONG, AGENT_NONE at the end of the stream, -1 on an error or a
 * timeout (recorded; errno ETIMEDOUT for a timeout). */
int agent_read_line(struct agent_reader *r, int timeout_ms, char **line, size_t *n);

/* Serialise OBJ as one line (with '\n') into a buffer the caller frees. */
char *agent_line(const cJSON *obj, size_t *n);
/* A frame {id, KEY: base64 of DATA} as one line (with '\n') into BUF, which
 * holds agent_frame_size(n) bytes: the bytes cJSON would print for it, in
 * one pass. KEY is a plain name (nothing to escape). Returns the line's
 * length, or -1. */
long agent_frame(const cJSON *id, const char *key, const void *data, size_t n, char *buf, size_t size);
size_t agent_frame_size(size_t n);
/* The fast path for a frame of KEY, without a JSON parser: LINE (N bytes,
 * no newline) is exactly what agent_frame writes, {"KEY":"<base64>"} or
 * with "id" first (digits alone, or a string of letters, digits and
 * "-_.:"), and the base64 decodes (at most AGENT_FRAME_MAX characters).
 * Returns the bytes decoded into DST (AGENT_RAW_MAX bytes); -1 for any
 * other line, which the caller then parses with cJSON: the fast path only
 * takes lines that cJSON reads as that very object, so the answer is the
 * same either way (the unit tests and the fuzz target hold it to that). */
long agent_frame_fast(const char *line, size_t n, const char *key, void *dst);
/* Write all of BUF to the socket FD, waiting while it is full; -1 (recorded,
 * errno kept) when the peer is gone. */
int agent_write_all(int fd, const char *buf, size_t n);
/* agent_line then agent_write_all; releases nothing. */
int agent_send(int fd, const cJSON *obj);

/* Parse one line as a JSON object (trailing whitespace allowed). NULL with E
 * filled (EBADREQ) otherwise. */
cJSON *agent_parse(const char *line, size_t n, struct agent_err *e);
/* Decode the base64 string ITEM (named KEY for messages) into DST (at least
 * AGENT_RAW_MAX bytes): the length, or -1 with E filled (EBADREQ for a
 * mistyped or invalid string, E2BIG past AGENT_FRAME_MAX). */
long agent_frame_decode(const cJSON *item, const char *key, void *dst, struct agent_err *e);
/* Whether X is a JSON integer in [0, 2^53]; stores it in *V. */
int agent_json_uint(const cJSON *x, long long *v);

#endif
