/* agent_request: a request line of the agent's protocol, parsed and checked
 * field by field (a pure function: the fuzz target holds it to its word). */
#ifndef EMBER_AGENT_REQUEST_H
#define EMBER_AGENT_REQUEST_H

#include <stddef.h>

#include "agent_proto.h"

enum agent_op { AGENT_OP_PING, AGENT_OP_EXEC, AGENT_OP_READ_FILE, AGENT_OP_WRITE_FILE, AGENT_OP_STATUS };

struct agent_request {
	cJSON *root;         /* owns every string below */
	const cJSON *id;     /* NULL: none */
	enum agent_op op;
	const char *op_name;
	/* exec */
	const char **argv;   /* NULL-terminated, owned ({"command"}: sh -c) */
	const cJSON *env;    /* an object of strings, or NULL */
	const char *cwd;     /* or NULL */
	int stdin_frames;    /* "stdin": true */
	long long timeout_ms; /* 0: none */
	/* read_file, write_file */
	const char *path;
	long long offset;
	long long length;    /* -1: to the end */
	int mode;            /* -1: not given */
};

/* Parse LINE (N bytes). 0, or -1 with E filled (EBADREQ for invalid JSON and
 * missing or mistyped fields, EUNKNOWNOP, EINVAL for a value out of range).
 * REQ->id is set whenever the line was a JSON object with a valid id, so an
 * error reply echoes it. Release REQ either way. */
int agent_request_parse(const char *line, size_t n, struct agent_request *req, struct agent_err *e);
void agent_request_release(struct agent_request *req);

/* A frame that follows a request: {"KEY":"<base64>"} or {"EOF_KEY":true}.
 * Returns the bytes decoded into DST (AGENT_RAW_MAX) and sets *EOF, or -1
 * with E filled. A data frame as agent_frame writes it takes the fast path
 * (agent_frame_fast); anything else is parsed with cJSON. */
long agent_frame_parse(const char *line, size_t n, const char *key, const char *eof_key, void *dst,
		       int *eof, struct agent_err *e);
/* The same with cJSON alone: what agent_frame_parse falls back to when the
 * line is not of the shape agent_frame_fast takes, and what it is held to. */
long agent_frame_parse_json(const char *line, size_t n, const char *key, const char *eof_key,
			    void *dst, int *eof, struct agent_err *e);

/* Whether LINE is a frame of KEY or EOF_KEY, at all (for stale frames). */
int agent_is_frame(const char *line, size_t n, const char *key, const char *eof_key);

#endif
