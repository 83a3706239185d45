/* Request bodies checked against schema.json (derived from Firecracker's
 * OpenAPI file by derive-schema), refused with serde_json's own texts:
 *   missing field `x` at line L column C
 *   unknown field `x`, expected one of `a`, `b` at line L column C
 *   invalid type: string "2", expected u8 at line L column C
 *   unknown variant `x`, expected `A` or `B` at line L column C
 * cJSON parses; the scan below only finds where cJSON's values sit in the
 * text (serde's positions), over text cJSON has already accepted. */
#include "standin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *schema;

int schema_load(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t size = 0, n;
	char chunk[8192];

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		text = realloc(text, size + n + 1);
		memcpy(text + size, chunk, n);
		size += n;
	}
	fclose(f);
	if (!text)
		return -1;
	text[size] = 0;
	schema = cJSON_Parse(text);
	free(text);
	return schema ? 0 : -1;
}

/* The body definition of METHOD on PATH ("/drives/x" matches
 * "/drives/{drive_id}"), or NULL. */
const char *schema_body(const char *method, const char *path)
{
	const cJSON *p, *m;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(schema, "paths"))
	{
		const char *t = p->string, *s = path;

		while (*t && *s) {
			if (*t == '{') {
				while (*s && *s != '/')
					s++;
				while (*t && *t != '}')
					t++;
				if (*t)
					t++;
			} else if (*t++ != *s++) {
				break;
			}
		}
		if (*t || *s)
			continue;
		m = cJSON_GetObjectItemCaseSensitive(p, method);
		return cJSON_IsString(m) ? m->valuestring : NULL;
	}
	return NULL;
}

const cJSON *schema_definition(const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(schema, "definitions"), name);
}

/* --- where values sit in the text --- */

struct text {
	const char *s;
	size_t n;
};

static size_t skip_ws(const struct text *t, size_t i)
{
	while (i < t->n && strchr(" \t\r\n", t->s[i]))
		i++;
	return i;
}

/* The index just past the value at I (text cJSON accepted). */
static size_t skip_value(const struct text *t, size_t i)
{
	int depth = 0;

	do {
		char c = t->s[i];

		if (c == '"') {
			for (i++; i < t->n && t->s[i] != '"'; i++)
				if (t->s[i] == '\\')
					i++;
			i++;
		} else if (c == '{' || c == '[') {
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			depth--;
			i++;
		} else if (depth > 0) {
			i++;
		} else {
			while (i < t->n && !strchr(" \t\r\n,]}", t->s[i]))
				i++;
		}
	} while (depth > 0 && i < t->n);
	return i;
}

static char *serde_error(const struct text *t, size_t last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* serde_json's suffix: the line and column of the last character read. */
static char *serde_error(const struct text *t, size_t last, const char *fmt, ...)
{
	char what[1024], *out;
	size_t line = 1, column = 0, i;
	va_list ap;

	for (i = 0; i <= last && i < t->n; i++) {
		if (t->s[i] == '\n') {
			line++;
			column = 0;
		} else {
			column++;
		}
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (asprintf(
		&out,
		"An error occurred when deserializing the json body of a request: %s at line %zu "
		"column %zu.",
		what, line, column) < 0)
		return NULL;
	return out;
}

/* serde's list of names: `a`, `a` or `b`, one of `a`, `b`, `c`. */
static void expected_list(char *buf, size_t size, const cJSON *items, const char *key)
{
	const cJSON *it;
	int n = 0, i = 0;
	size_t len = 0;

	cJSON_ArrayForEach(it, items) n++;
	buf[0] = 0;
	if (n == 0) {
		snprintf(buf, size, "there are no fields");
		return;
	}
	if (n > 2)
		len += snprintf(buf + len, size - len, "one of ");
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *name = key ? cJSON_GetObjectItemCaseSensitive(it, key) : it;

		if (len >= size)
			break;
		len += snprintf(buf + len, size - len, "%s`%s`",
				i == 0 ? "" : (n == 2 ? " or " : ", "), name->valuestring);
		i++;
	}
}

/* What serde calls the value found ("string \"x\"", "integer `1`"). */
static void unexpected(char *buf, size_t size, const cJSON *v, const struct text *t, size_t start,
		       size_t end)
{
	if (cJSON_IsString(v))
		snprintf(buf, size, "string \"%s\"", v->valuestring);
	else if (cJSON_IsBool(v))
		snprintf(buf, size, "boolean `%s`", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNull(v))
		snprintf(buf, size, "null");
	else if (cJSON_IsArray(v))
		snprintf(buf, size, "sequence");
	else if (cJSON_IsObject(v))
		snprintf(buf, size, "map");
	else if (memchr(t->s + start, '.', end - start) || memchr(t->s + start, 'e', end - start) ||
		 memchr(t->s + start, 'E', end - start)) {
		/* serde writes a float with a decimal point (WithDecimalPoint). */
		char num[64];

		int digits;

		/* the shortest text that reads back the same, as Rust's */
		for (digits = 1; digits < 17; digits++) {
			snprintf(num, sizeof(num), "%.*g", digits, v->valuedouble);
			if (strtod(num, NULL) == v->valuedouble)
				break;
		}
		if (digits == 17)
			snprintf(num, sizeof(num), "%.17g", v->valuedouble);
		snprintf(buf, size, "floating point `%s%s`", num, strpbrk(num, ".eni") ? "" : ".0");
	} else
		snprintf(buf, size, "integer `%.*s`", (int)(end - start), t->s + start);
}

/* The Rust struct's name of a definition (serde's "expected struct X"). */
static const char *rust_name(const char *def)
{
	const char *name =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(schema_definition(def), "rust"));

	return name ? name : def;
}

static const char *expecting(const cJSON *field)
{
	static char buf[128];
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(field, "type"));
	const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(field, "ref"));

	if (ref) {
		snprintf(buf, sizeof(buf), "struct %s", rust_name(ref));
		return buf;
	}
	if (cJSON_GetObjectItemCaseSensitive(field, "enum"))
		return "variant identifier";
	if (!strcmp(type, "string"))
		return "a string";
	if (!strcmp(type, "boolean"))
		return "a boolean";
	if (!strcmp(type, "array"))
		return "a sequence";
	if (!strcmp(type, "object"))
		return "a map";
	return type;
}

static int check_object(const char *def, const cJSON *obj, const struct text *t, size_t start,
			int patch, char **message);

static int is_unsigned(const char *type)
{
	return type[0] == 'u';
}

static uint64_t unsigned_max(const char *type)
{
	if (!strcmp(type, "u8"))
		return UINT8_MAX;
	if (!strcmp(type, "u16"))
		return UINT16_MAX;
	if (!strcmp(type, "u32"))
		return UINT32_MAX;
	return UINT64_MAX;
}

/* One member's value V, at [start, end) in the text, against FIELD. */
static int check_value(const cJSON *field, const cJSON *v, const struct text *t, size_t start,
		       size_t end, int patch, char **message)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(field, "type"));
	const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(field, "ref"));
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(field, "enum");
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(field, "minimum");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(field, "maximum");
	const cJSON *range = cJSON_GetObjectItemCaseSensitive(field, "range_error");
	char found[256], list[512];
	int ok;

	/* An Option<T> takes null; the required fields are not Options. */
	if (cJSON_IsNull(v) && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(field, "required")))
		return 0;
	if (ref) {
		const cJSON *d = schema_definition(ref);

		if (cJSON_GetObjectItemCaseSensitive(d, "fields")) {
			if (!cJSON_IsObject(v))
				goto wrong;
			return check_object(ref, v, t, start, patch, message);
		}
		choices = cJSON_GetObjectItemCaseSensitive(d, "enum");
		type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "type"));
		if (!type)
			return 0;
	}
	if (!type || !strcmp(type, "any"))
		return 0;
	if (choices) {
		const cJSON *c;

		if (!cJSON_IsString(v))
			goto wrong;
		cJSON_ArrayForEach(c,
				   choices) if (!strcmp(c->valuestring, v->valuestring)) return 0;
		expected_list(list, sizeof(list), choices, NULL);
		*message = serde_error(t, end - 1, "unknown variant `%s`, expected %s",
				       v->valuestring, list);
		return -1;
	}
	if (!strcmp(type, "string"))
		ok = cJSON_IsString(v);
	else if (!strcmp(type, "boolean"))
		ok = cJSON_IsBool(v);
	else if (!strcmp(type, "array"))
		ok = cJSON_IsArray(v);
	else if (!strcmp(type, "object"))
		ok = cJSON_IsObject(v);
	else
		ok = cJSON_IsNumber(v) && !memchr(t->s + start, '.', end - start) &&
		     !memchr(t->s + start, 'e', end - start) &&
		     !memchr(t->s + start, 'E', end - start);
	if (!ok)
		goto wrong;
	if (cJSON_IsNumber(v)) {
		int negative = t->s[start] == '-';
		uint64_t u;

		errno = 0;
		u = negative ? 0 : strtoull(t->s + start, NULL, 10);
		if ((is_unsigned(type) && negative) || errno == ERANGE ||
		    (is_unsigned(type) && u > unsigned_max(type))) {
			*message =
			    serde_error(t, end - 1, "invalid value: integer `%.*s`, expected %s",
					(int)(end - start), t->s + start, type);
			return -1;
		}
		if ((min && v->valuedouble < min->valuedouble) ||
		    (max && v->valuedouble > max->valuedouble)) {
			if (cJSON_IsString(range)) {
				*message = strdup(range->valuestring);
				return -1;
			}
			*message =
			    serde_error(t, end - 1,
					"invalid value: integer `%.*s`, expected %s in the range "
					"the API specification allows",
					(int)(end - start), t->s + start, type);
			return -1;
		}
	}
	return 0;
wrong:
	unexpected(found, sizeof(found), v, t, start, end);
	/* serde has read a string, number or literal whole; a map or
	 * sequence it refuses at its first character. */
	*message = serde_error(t, (cJSON_IsObject(v) || cJSON_IsArray(v)) ? start - 1 : end - 1,
			       "invalid type: %s, expected %s", found, expecting(field));
	return -1;
}

static const cJSON *field_named(const cJSON *fields, const char *name)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, fields) if (!strcmp(cJSON_GetStringValue(
						      cJSON_GetObjectItemCaseSensitive(f, "name")),
						  name)) return f;
	return NULL;
}

/* OBJ, whose '{' is at START in the text, against definition DEF. A PATCH
 * body needs no field but the ids (Firecracker's *Update structs). */
static int check_object(const char *def, const cJSON *obj, const struct text *t, size_t start,
			int patch, char **message)
{
	const cJSON *d = schema_definition(def);
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(d, "fields");
	const cJSON *member, *f, *seen[64];
	size_t i = start + 1, nseen = 0, k;
	char list[1024];

	if (!fields)
		return 0;
	cJSON_ArrayForEach(member, obj)
	{
		size_t key_end, value, value_end;

		i = skip_ws(t, i);
		if (t->s[i] == ',')
			i = skip_ws(t, i + 1);
		key_end = skip_value(t, i) - 1;
		value = skip_ws(t, skip_ws(t, key_end + 1) + 1);
		value_end = skip_value(t, value);
		i = value_end;
		f = field_named(fields, member->string);
		if (!f) {
			expected_list(list, sizeof(list), fields, "name");
			*message = serde_error(t, key_end, "unknown field `%s`, expected %s",
					       member->string, list);
			return -1;
		}
		for (k = 0; k < nseen; k++) {
			if (seen[k] == f) {
				*message =
				    serde_error(t, key_end, "duplicate field `%s`", member->string);
				return -1;
			}
		}
		if (nseen < 64)
			seen[nseen++] = f;
		if (check_value(f, member, t, value, value_end, patch, message) < 0)
			return -1;
	}
	i = skip_ws(t, i);
	cJSON_ArrayForEach(f, fields)
	{
		const char *name =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"));

		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "required")) ||
		    cJSON_GetObjectItemCaseSensitive(obj, name))
			continue;
		if (patch && !strstr(name, "id"))
			continue;
		*message = serde_error(t, i, "missing field `%s`", name);
		return -1;
	}
	return 0;
}

/* Text cJSON refused because it ends too soon: what serde was parsing
 * ("a value", "an object", "a list", "a string"), or NULL. */
static const char *truncated(const struct text *t)
{
	char stack[256];
	size_t depth = 0, i;
	int in_string = 0;
	char last = 0;

	for (i = 0; i < t->n; i++) {
		char c = t->s[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"')
			in_string = 1;
		else if ((c == '{' || c == '[') && depth < sizeof(stack))
			stack[depth++] = c;
		else if ((c == '}' || c == ']') && depth > 0)
			depth--;
		if (!strchr(" \t\r\n", c))
			last = c;
	}
	if (in_string)
		return "a string";
	if (last == 0 || last == ':' || last == ',')
		return "a value";
	if (depth == 0)
		return NULL;
	return stack[depth - 1] == '{' ? "an object" : "a list";
}

int schema_check(const char *def, const char *text, size_t len, int patch, cJSON **out,
		 char **message)
{
	struct text t = {text, len};
	const char *end = NULL;
	cJSON *body = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	size_t start = skip_ws(&t, 0);
	char found[256];

	*out = NULL;
	if (!body) {
		const char *cut = truncated(&t);

		if (cut)
			*message = serde_error(&t, len ? len - 1 : 0, "EOF while parsing %s", cut);
		else
			*message =
			    serde_error(&t, end ? (size_t)(end - text) : 0, "expected value");
		return -1;
	}
	if (skip_ws(&t, (size_t)(end - text)) < len) {
		*message =
		    serde_error(&t, skip_ws(&t, (size_t)(end - text)), "trailing characters");
		cJSON_Delete(body);
		return -1;
	}
	if (def && cJSON_GetObjectItemCaseSensitive(schema_definition(def), "fields")) {
		if (!cJSON_IsObject(body)) {
			unexpected(found, sizeof(found), body, &t, start, skip_value(&t, start));
			*message = serde_error(&t, skip_value(&t, start) - 1,
					       "invalid type: %s, expected struct %s", found,
					       rust_name(def));
			cJSON_Delete(body);
			return -1;
		}
		if (check_object(def, body, &t, start, patch, message) < 0) {
			cJSON_Delete(body);
			return -1;
		}
	}
	*out = body;
	return 0;
}

/* Defaults Firecracker fills in when a field is absent (serde(default)). */
static const char *const defaults[][3] = {
    {"Drive", "cache_type", "\"Unsafe\""},
    {"Drive", "io_engine", "\"Sync\""},
    {"MachineConfiguration", "smt", "false"},
    {"MachineConfiguration", "track_dirty_pages", "false"},
    {"MachineConfiguration", "huge_pages", "\"None\""},
};

cJSON *schema_normalise(const char *def, const cJSON *body)
{
	const cJSON *f,
	    *fields = cJSON_GetObjectItemCaseSensitive(schema_definition(def), "fields");
	cJSON *out;
	size_t i;

	if (!fields)
		return cJSON_Duplicate(body, 1);
	out = cJSON_CreateObject();
	cJSON_ArrayForEach(f, fields)
	{
		const char *name =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"));
		const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "ref"));
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
		cJSON *item = NULL;

		if (v && !cJSON_IsNull(v)) {
			item = ref && cJSON_IsObject(v) ? schema_normalise(ref, v)
							: cJSON_Duplicate(v, 1);
		} else {
			for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
				if (!strcmp(defaults[i][0], def) && !strcmp(defaults[i][1], name))
					item = cJSON_Parse(defaults[i][2]);
		}
		cJSON_AddItemToObject(out, name, item ? item : cJSON_CreateNull());
	}
	return out;
}
