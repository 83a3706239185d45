/* output: one call prints a field in both plain and JSON mode, so a field's name
 * is written once. Plain mode is one record per line, fields space-separated in
 * the order they are printed; JSON mode prints one document whose keys are the
 * same names. A vertical record (plain "key value" per line) serves records that
 * describe one thing with many fields, such as the installation. */
#ifndef EMBER_OUTPUT_H
#define EMBER_OUTPUT_H

#include <stdio.h>

#define OUT_DEPTH 8

struct out {
	FILE *f;
	int json;
	int quiet;         /* print nothing at all */
	int depth;            /* JSON nesting */
	int count[OUT_DEPTH]; /* JSON items written at each nesting level */
	int fields;           /* plain: fields written in the current record */
	int vertical;
	int wrote;            /* anything written at all */
};

void out_init(struct out *o, FILE *f, int json, int quiet);
void out_list_begin(struct out *o);
void out_list_end(struct out *o);
void out_record_begin(struct out *o);
void out_record_vertical(struct out *o);
void out_record_end(struct out *o);
/* NULL prints as JSON null and plain "-". */
void out_str(struct out *o, const char *key, const char *val);
void out_int(struct out *o, const char *key, long long val);
void out_bool(struct out *o, const char *key, int val);
/* A list of strings: a JSON array, plain comma-separated ("-" when empty). */
void out_strv(struct out *o, const char *key, const char *const *val, int n);
/* A bare string in a list (JSON string, plain one per line). */
void out_item(struct out *o, const char *val);
/* Flush; returns -1 with an error recorded when writing failed (EPIPE excepted). */
int out_finish(struct out *o);

/* JSON string escaping, shared with anything that writes JSON by hand. */
void out_json_string(FILE *f, const char *s);

#endif
