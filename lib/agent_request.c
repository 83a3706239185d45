#include "agent_request.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum agent_op op;
} ops[] = {
	{"ping", AGENT_OP_PING},
	{"exec", AGENT_OP_EXEC},
	{"read_file", AGENT_OP_READ_FILE},
	{"write_file", AGENT_OP_WRITE_FILE},
	{"status", AGENT_OP_STATUS},
};

static int bad(struct agent_err *e, const char *field, const char *what)
{
	return agent_err_set(e, "EBADREQ", 0, "'%s' must be %s", field, what);
}

/* A string field: 1 present (in *V), 0 absent, -1 mistyped. */
static int str_field(const cJSON *o, const char *key, const char **v, struct agent_err *e)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!x || cJSON_IsNull(x))
		return 0;
	if (!cJSON_IsString(x))
		return bad(e, key, "a string");
	if (!*x->valuestring)
		return agent_err_set(e, "EINVAL", 0, "'%s' must not be empty", key);
	*v = x->valuestring;
	return 1;
}

static int uint_field(const cJSON *o, const char *key, long long *v, struct agent_err *e)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!x || cJSON_IsNull(x))
		return 0;
	if (!agent_json_uint(x, v))
		return bad(e, key, "a non-negative integer");
	return 1;
}

static int parse_exec(const cJSON *o, struct agent_request *r, struct agent_err *e)
{
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(o, "argv");
	const cJSON *x, *in;
	const char *command = NULL;
	int n = 0, i = 0;

	if (str_field(o, "command", &command, e) < 0)
		return -1;
	if (argv && cJSON_IsNull(argv))
		argv = NULL;
	if (argv && command)
		return agent_err_set(e, "EBADREQ", 0, "exec takes 'argv' or 'command', not both");
	if (!argv && !command)
		return agent_err_set(e, "EBADREQ", 0, "exec needs 'argv' or 'command'");
	if (argv) {
		if (!cJSON_IsArray(argv))
			return bad(e, "argv", "an array of strings");
		n = cJSON_GetArraySize(argv);
		if (n == 0)
			return agent_err_set(e, "EINVAL", 0, "'argv' must not be empty");
	}
	r->argv = calloc((size_t)(command ? 4 : n + 1), sizeof(*r->argv));
	if (!r->argv)
		return agent_err_set(e, "ENOMEM", 12, "out of memory");
	if (command) {
		r->argv[0] = "/bin/sh";
		r->argv[1] = "-c";
		r->argv[2] = command;
	} else {
		cJSON_ArrayForEach(x, argv) {
			if (!cJSON_IsString(x))
				return bad(e, "argv", "an array of strings");
			r->argv[i++] = x->valuestring;
		}
		if (!*r->argv[0])
			return agent_err_set(e, "EINVAL", 0, "'argv[0]' must not be empty");
	}
	r->env = cJSON_GetObjectItemCaseSensitive(o, "env");
	if (r->env && cJSON_IsNull(r->env))
		r->env = NULL;
	if (r->env) {
		if (!cJSON_IsObject(r->env))
			return bad(e, "env", "an object of strings");
		cJSON_ArrayForEach(x, r->env) {
			if (!cJSON_IsString(x))
				return bad(e, "env", "an object of strings");
			if (!x->string || !*x->string || strchr(x->string, '='))
				return agent_err_set(e, "EINVAL", 0, "an 'env' name must be non-empty, without '='");
		}
	}
	if (str_field(o, "cwd", &r->cwd, e) < 0)
		return -1;
	in = cJSON_GetObjectItemCaseSensitive(o, "stdin");
	if (in && !cJSON_IsNull(in)) {
		if (!cJSON_IsBool(in))
			return bad(e, "stdin", "true or false");
		r->stdin_frames = cJSON_IsTrue(in);
	}
	if (uint_field(o, "timeout_ms", &r->timeout_ms, e) < 0)
		return -1;
	return 0;
}

static int parse_mode(const cJSON *o, struct agent_request *r, struct agent_err *e)
{
	const char *s = NULL;
	char *end;
	long m;
	int rc = str_field(o, "mode", &s, e);

	if (rc <= 0)
		return rc;
	m = strtol(s, &end, 8);
	if (*end || strlen(s) > 5 || strspn(s, "01234567") != strlen(s) || m > 07777)
		return bad(e, "mode", "an octal string such as \"0644\"");
	r->mode = (int)m;
	return 0;
}

static int parse_path(const cJSON *o, struct agent_request *r, struct agent_err *e)
{
	int rc = str_field(o, "path", &r->path, e);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return agent_err_set(e, "EBADREQ", 0, "%s needs 'path'", r->op_name);
	return 0;
}

int agent_request_parse(const char *line, size_t n, struct agent_request *r, struct agent_err *e)
{
	const cJSON *id, *op;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->length = -1;
	r->mode = -1;
	r->root = agent_parse(line, n, e);
	if (!r->root)
		return -1;
	id = cJSON_GetObjectItemCaseSensitive(r->root, "id");
	if (id && !cJSON_IsNull(id)) {
		if (cJSON_IsNumber(id) || (cJSON_IsString(id) && strlen(id->valuestring) <= AGENT_ID_MAX))
			r->id = id;
		else
			return bad(e, "id", "a number or a string of at most 256 bytes");
	}
	op = cJSON_GetObjectItemCaseSensitive(r->root, "op");
	if (!op)
		return agent_err_set(e, "EBADREQ", 0, "a request needs 'op'");
	if (!cJSON_IsString(op))
		return bad(e, "op", "a string");
	r->op_name = op->valuestring;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, op->valuestring) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return agent_err_set(e, "EUNKNOWNOP", 0, "unknown op '%.64s'", op->valuestring);
	r->op = ops[i].op;
	switch (r->op) {
	case AGENT_OP_EXEC:
		return parse_exec(r->root, r, e);
	case AGENT_OP_READ_FILE:
		if (parse_path(r->root, r, e) < 0 || uint_field(r->root, "offset", &r->offset, e) < 0 ||
		    uint_field(r->root, "length", &r->length, e) < 0)
			return -1;
		return 0;
	case AGENT_OP_WRITE_FILE:
		if (parse_path(r->root, r, e) < 0 || parse_mode(r->root, r, e) < 0)
			return -1;
		return 0;
	default:
		return 0;
	}
}

void agent_request_release(struct agent_request *r)
{
	free(r->argv);
	cJSON_Delete(r->root);
	memset(r, 0, sizeof(*r));
}

long agent_frame_parse(const char *line, size_t n, const char *key, const char *eof_key, void *dst,
		       int *eof, struct agent_err *e)
{
	long got = agent_frame_fast(line, n, key, dst);

	if (got >= 0) {
		*eof = 0;
		return got;
	}
	return agent_frame_parse_json(line, n, key, eof_key, dst, eof, e);
}

long agent_frame_parse_json(const char *line, size_t n, const char *key, const char *eof_key,
			    void *dst, int *eof, struct agent_err *e)
{
	cJSON *o = agent_parse(line, n, e);
	const cJSON *data, *end;
	long got = 0;

	*eof = 0;
	if (!o)
		return -1;
	data = cJSON_GetObjectItemCaseSensitive(o, key);
	end = cJSON_GetObjectItemCaseSensitive(o, eof_key);
	if (end && !cJSON_IsBool(end)) {
		got = bad(e, eof_key, "true or false");
	} else if (!data && !cJSON_IsTrue(end)) {
		got = agent_err_set(e, "EBADREQ", 0, "expected a '%s' or '%s' frame", key, eof_key);
	} else {
		if (data)
			got = agent_frame_decode(data, key, dst, e);
		if (got >= 0)
			*eof = cJSON_IsTrue(end);
	}
	cJSON_Delete(o);
	return got;
}

int agent_is_frame(const char *line, size_t n, const char *key, const char *eof_key)
{
	struct agent_err e;
	cJSON *o = agent_parse(line, n, &e);
	int rc;

	if (!o)
		return 0;
	rc = !cJSON_GetObjectItemCaseSensitive(o, "op") &&
	     (cJSON_GetObjectItemCaseSensitive(o, key) || cJSON_GetObjectItemCaseSensitive(o, eof_key));
	cJSON_Delete(o);
	return rc;
}
