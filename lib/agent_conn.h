/* agent_conn: one connection of ember-agent, served in its own process:
 * requests in order, one op at a time (lib/agent_conn.c), exec
 * (lib/agent_exec.c), read_file and write_file (lib/agent_file.c). */
#ifndef EMBER_AGENT_CONN_H
#define EMBER_AGENT_CONN_H

#include "agent_proto.h"
#include "agent_request.h"

struct agent_conn {
	int fd;
	struct agent_reader in;
	char *frame; /* one frame line of AGENT_RAW_MAX bytes */
	size_t frame_size;
	char *raw;   /* AGENT_RAW_MAX bytes */
	/* frames of a request that ended before its end frame came: dropped
	 * up to that end frame (stdin/stdin_eof, data/eof); NULL: none */
	const char *drain_key, *drain_eof;
};

/* Serve the connection FD until the peer closes it; closes FD. */
void agent_conn_serve(int fd);

/* Send one reply line (waiting while the socket is full): 0, or -1 when the
 * peer is gone. */
int agent_conn_reply(struct agent_conn *c, cJSON *obj);
int agent_conn_error(struct agent_conn *c, const cJSON *id, const struct agent_err *e);

/* The ops that stream. Each returns 0 to go on serving the connection, -1
 * when the peer is gone. */
int agent_exec_run(struct agent_conn *c, const struct agent_request *r);
int agent_file_read(struct agent_conn *c, const struct agent_request *r);
int agent_file_write(struct agent_conn *c, const struct agent_request *r);

#endif
