#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"
#include "spawn.h"

struct common common;
struct out out;
const char *progname = "ember";

enum { OPT_STATE_DIR = 0x100, OPT_VERSION };

static const struct option common_options[] = {
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"json", no_argument, NULL, 'j'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
};

#define N_COMMON (sizeof(common_options) / sizeof(common_options[0]))
#define MAX_OPTIONS 48

void xdie(int code)
{
	const char *hint = error_hint_text();

	fflush(stdout);
	fprintf(stderr, "%s: %s\n", progname, error_message());
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	exit(code ? code : error_exit_code());
}

void xusage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nhint: see '%s --help'\n", progname);
	exit(EXIT_USAGE);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	if (common.quiet)
		return;
	fprintf(stderr, "%s: warning: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A short-option string for getopt_long from the table. */
static void short_options(const struct option *all, int n, char *buf, size_t size)
{
	size_t k = 0;
	int i;

	buf[k++] = ':'; /* report a missing argument as ':' */
	for (i = 0; i < n && k + 3 < size; i++) {
		if (all[i].val <= 0 || all[i].val > 127 || all[i].flag)
			continue;
		buf[k++] = (char)all[i].val;
		if (all[i].has_arg == required_argument)
			buf[k++] = ':';
	}
	buf[k] = '\0';
}

int xparse_options(int argc, char **argv, const char *usage, const struct option *options,
		   void (*handle)(int key, const char *arg))
{
	struct option all[MAX_OPTIONS];
	char shorts[2 * MAX_OPTIONS + 2];
	int n = 0, c, i;

	for (i = 0; options && options[i].name; i++)
		all[n++] = options[i];
	for (i = 0; i < (int)N_COMMON; i++)
		all[n++] = common_options[i];
	memset(&all[n], 0, sizeof(all[n]));
	short_options(all, n, shorts, sizeof(shorts));

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			/* never "unset, so the default": a script's empty variable
			 * must not reach another installation */
			if (!*optarg)
				xusage("--state-dir needs a directory, not an empty string");
			common.state_dir = optarg;
			break;
		case 'j':
			common.json = 1;
			break;
		case 'q':
			common.quiet = 1;
			break;
		case 'v':
			common.verbose = 1;
			spawn_verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(finish(0));
		case OPT_VERSION:
			printf("%s %s\n", progname, EMBER_VERSION);
			exit(finish(0));
		case ':':
			xusage("option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				xusage("unknown option '-%c'", optopt);
			xusage("unknown option '%s'", argv[optind - 1]);
		default:
			handle(c, optarg);
		}
	}
	out_init(&out, stdout, common.json, common.quiet);
	return optind;
}

int xrun_verb(const struct verb *verbs, int argc, char **argv)
{
	const struct verb *v;
	int n;

	if (argc < 1)
		xusage("a verb is needed");
	for (v = verbs; v->name; v++) {
		if (strcmp(v->name, argv[0]) != 0)
			continue;
		n = argc - 1;
		if (n < v->min_args)
			xusage("'%s' needs %s", v->name, v->min_args == 1 ? "an operand" : "more operands");
		if (v->max_args >= 0 && n > v->max_args)
			xusage("unexpected operand '%s'", argv[1 + v->max_args]);
		return v->run(argc, argv);
	}
	xusage("unknown verb '%s'", argv[0]);
}

void xinstall_load(struct install *in)
{
	if (install_load(in, install_dir_default(common.state_dir)) < 0)
		xdie(0);
}

void xname(const char *what, const char *s)
{
	if (name_check(what, s) < 0)
		xdie(0);
}

int finish(int rc)
{
	if (out.f == NULL)
		out_init(&out, stdout, 0, 0);
	if (out_finish(&out) < 0) {
		fprintf(stderr, "%s: %s\n", progname, error_message());
		return EXIT_TEMP;
	}
	return rc;
}

static void no_option(int key, const char *arg)
{
	(void)key;
	(void)arg;
}

int not_built(int argc, char **argv, const char *usage)
{
	static const struct option none[] = {{0}};

	xparse_options(argc, argv, usage, none, no_option);
	fprintf(stderr, "%s: not implemented yet\n", progname);
	return finish(EXIT_TEMP);
}
