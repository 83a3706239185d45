/* libFuzzer target: the agent's request and frame parsers never crash, and
 * what they accept holds to their word: a known op, exec with a non-empty
 * argv, a path for the file ops, a mode within 07777, a frame within its
 * bound; what they refuse carries a code and a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char raw[AGENT_RAW_MAX];
	struct agent_request r;
	struct agent_err e;
	char *line = malloc(size + 1);
	long n;
	int eof;

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
	memset(&e, 0, sizeof(e));
	n = agent_frame_parse(line, size, "stdin", "stdin_eof", raw, &eof, &e);
	if (n > AGENT_RAW_MAX || (n < 0 && (!e.code[0] || !e.message[0])))
		abort();
	free(line);
	return 0;
}
