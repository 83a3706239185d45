#include "output.h"

#include <errno.h>
#include <string.h>

#include "error.h"

void out_init(struct out *o, FILE *f, int json, int quiet)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	o->quiet = quiet;
}

void out_json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* JSON: a comma before every item but the first at its level. */
static void json_next(struct out *o)
{
	if (o->count[o->depth]++)
		fputc(',', o->f);
}

static void json_open(struct out *o, int c)
{
	json_next(o);
	fputc(c, o->f);
	if (o->depth + 1 < OUT_DEPTH)
		o->depth++;
	o->count[o->depth] = 0;
}

static void json_close(struct out *o, int c)
{
	fputc(c, o->f);
	if (o->depth > 0)
		o->depth--;
}

void out_list_begin(struct out *o)
{
	if (o->quiet)
		return;
	o->wrote = 1;
	if (o->json)
		json_open(o, '[');
}

void out_list_end(struct out *o)
{
	if (!o->quiet && o->json)
		json_close(o, ']');
}

void out_record_begin(struct out *o)
{
	if (o->quiet)
		return;
	o->wrote = 1;
	o->fields = 0;
	o->vertical = 0;
	if (o->json)
		json_open(o, '{');
}

void out_record_vertical(struct out *o)
{
	out_record_begin(o);
	o->vertical = 1;
}

void out_record_end(struct out *o)
{
	if (o->quiet)
		return;
	if (o->json)
		json_close(o, '}');
	else if (!o->vertical)
		fputc('\n', o->f);
	o->vertical = 0;
}

static void field_begin(struct out *o, const char *k)
{
	if (o->json) {
		json_next(o);
		out_json_string(o->f, k);
		fputc(':', o->f);
	} else if (o->vertical) {
		fprintf(o->f, "%s ", k);
	} else if (o->fields++) {
		fputc(' ', o->f);
	}
}

static void field_end(struct out *o)
{
	if (!o->json && o->vertical)
		fputc('\n', o->f);
}

void out_str(struct out *o, const char *k, const char *val)
{
	if (o->quiet)
		return;
	field_begin(o, k);
	if (o->json) {
		if (val)
			out_json_string(o->f, val);
		else
			fputs("null", o->f);
	} else {
		fputs(val && *val ? val : "-", o->f);
	}
	field_end(o);
}

void out_int(struct out *o, const char *k, long long val)
{
	if (o->quiet)
		return;
	field_begin(o, k);
	fprintf(o->f, "%lld", val);
	field_end(o);
}

void out_bool(struct out *o, const char *k, int val)
{
	if (o->quiet)
		return;
	field_begin(o, k);
	if (o->json)
		fputs(val ? "true" : "false", o->f);
	else
		fputs(val ? "yes" : "no", o->f);
	field_end(o);
}

void out_strv(struct out *o, const char *k, const char *const *val, int n)
{
	int i;

	if (o->quiet)
		return;
	field_begin(o, k);
	if (o->json) {
		fputc('[', o->f);
		for (i = 0; i < n; i++) {
			if (i)
				fputc(',', o->f);
			out_json_string(o->f, val[i]);
		}
		fputc(']', o->f);
	} else if (n == 0) {
		fputc('-', o->f);
	} else {
		for (i = 0; i < n; i++)
			fprintf(o->f, "%s%s", i ? "," : "", val[i]);
	}
	field_end(o);
}

void out_item(struct out *o, const char *val)
{
	if (o->quiet)
		return;
	o->wrote = 1;
	if (o->json) {
		json_next(o);
		out_json_string(o->f, val);
	} else {
		fprintf(o->f, "%s\n", val);
	}
}

int out_finish(struct out *o)
{
	if (o->json && o->wrote)
		fputc('\n', o->f);
	errno = 0;
	if (fflush(o->f) != 0 || ferror(o->f)) {
		if (errno == EPIPE)
			return 0;
		return error_errno("unable to write the result to standard output");
	}
	return 0;
}
