#include "agent_conn.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

int agent_conn_reply(struct agent_conn *c, cJSON *obj)
{
	int rc;

	if (!obj)
		return 0; /* out of memory for a reply: the next may fit */
	rc = agent_send(c->fd, obj);
	cJSON_Delete(obj);
	return rc;
}

int agent_conn_error(struct agent_conn *c, const cJSON *id, const struct agent_err *e)
{
	return agent_conn_reply(c, agent_err_reply(id, e));
}

static int op_ping(struct agent_conn *c, const struct agent_request *r)
{
	cJSON *o = agent_reply(r->id);

	if (o) {
		cJSON_AddTrueToObject(o, "ok");
		cJSON_AddStringToObject(o, "version", EMBER_VERSION);
		cJSON_AddNumberToObject(o, "protocol", AGENT_PROTOCOL);
		cJSON_AddNumberToObject(o, "uptime_seconds", guest_uptime());
	}
	return agent_conn_reply(c, o);
}

static int op_status(struct agent_conn *c, const struct agent_request *r)
{
	struct guest_status st;
	struct agent_err e;
	cJSON *o;

	if (guest_status_read(&st) < 0) {
		agent_err_set(&e, "EIO", 0, "unable to read the guest's status");
		return agent_conn_error(c, r->id, &e);
	}
	o = agent_reply(r->id);
	if (o) {
		cJSON_AddStringToObject(o, "hostname", st.hostname);
		cJSON_AddNumberToObject(o, "uptime_seconds", st.uptime_seconds);
		cJSON_AddItemToObject(o, "load", cJSON_CreateDoubleArray(st.load, 3));
		cJSON_AddNumberToObject(o, "memory_total_kb", (double)st.memory_total_kb);
		if (st.memory_available_kb >= 0)
			cJSON_AddNumberToObject(o, "memory_available_kb", (double)st.memory_available_kb);
		else
			cJSON_AddNullToObject(o, "memory_available_kb");
		cJSON_AddNumberToObject(o, "processes", (double)st.processes);
		/* the agent's own: this connection is served by its child */
		cJSON_AddNumberToObject(o, "pid", getppid());
	}
	return agent_conn_reply(c, o);
}

/* A frame left over from a request that ended early: dropped. Returns 1 when
 * LINE was one (and clears the drain at its end frame). */
static int drained(struct agent_conn *c, const char *line, size_t n)
{
	struct agent_err e;
	cJSON *o;
	int rc = 0;

	if (!c->drain_key)
		return 0;
	o = agent_parse(line, n, &e);
	if (o && !cJSON_GetObjectItemCaseSensitive(o, "op")) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, c->drain_eof))) {
			c->drain_key = c->drain_eof = NULL;
			rc = 1;
		} else if (cJSON_GetObjectItemCaseSensitive(o, c->drain_key)) {
			rc = 1;
		}
	}
	if (!rc)
		c->drain_key = c->drain_eof = NULL; /* a request: the host moved on */
	cJSON_Delete(o);
	return rc;
}

static int blank(const char *s, size_t n)
{
	return strspn(s, " \t\r") == n;
}

static int serve_line(struct agent_conn *c, const char *line, size_t n)
{
	struct agent_request r;
	struct agent_err e;
	int rc;

	if (agent_request_parse(line, n, &r, &e) < 0) {
		rc = agent_conn_error(c, r.id, &e);
		agent_request_release(&r);
		return rc;
	}
	switch (r.op) {
	case AGENT_OP_PING:
		rc = op_ping(c, &r);
		break;
	case AGENT_OP_STATUS:
		rc = op_status(c, &r);
		break;
	case AGENT_OP_EXEC:
		rc = agent_exec_run(c, &r);
		break;
	case AGENT_OP_READ_FILE:
		rc = agent_file_read(c, &r);
		break;
	case AGENT_OP_WRITE_FILE:
		rc = agent_file_write(c, &r);
		break;
	default:
		rc = 0;
	}
	agent_request_release(&r);
	return rc;
}

void agent_conn_serve(int fd)
{
	struct agent_conn c = {.fd = fd};
	struct agent_err e;
	char *line;
	size_t n;
	int rc;

	c.frame_size = agent_frame_size(AGENT_RAW_MAX);
	c.frame = malloc(c.frame_size);
	c.raw = malloc(AGENT_RAW_MAX);
	if (!c.frame || !c.raw || agent_reader_init(&c.in, fd) < 0)
		goto out;
	for (;;) {
		rc = agent_read_line(&c.in, -1, &line, &n);
		if (rc == AGENT_TOO_LONG) {
			agent_err_set(&e, "E2BIG", 0, "a line is longer than %d bytes", AGENT_LINE_MAX);
			if (agent_conn_error(&c, NULL, &e) < 0)
				break;
			continue;
		}
		if (rc != AGENT_LINE)
			break; /* the end of the stream, or the peer is gone */
		if (blank(line, n) || drained(&c, line, n))
			continue;
		if (serve_line(&c, line, n) < 0)
			break;
	}
out:
	agent_reader_release(&c.in);
	free(c.frame);
	free(c.raw);
	close(fd);
}
