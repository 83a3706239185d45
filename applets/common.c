#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"
#include "lock.h"
#include "spawn.h"
#include "subsys.h"

struct common common;
struct out out;
const char *progname = "ember";

/* The result is written into a buffer; stdout sees it only when the verb
 * returned (0, or 1 for a finished verdict), never the start of a document
 * that a failure cut short. */
static char *out_buf;
static size_t out_len;

static void out_open(void)
{
	FILE *f;

	if (out.f)
		return;
	f = open_memstream(&out_buf, &out_len);
	if (!f) {
		fprintf(stderr, "%s: unable to buffer the result: out of memory\n", progname);
		exit(EXIT_TEMP);
	}
	out_init(&out, f, common.json, common.quiet);
}

/* Drop the buffered result: nothing of it reaches stdout. */
static void out_discard(void)
{
	if (out.f)
		fclose(out.f);
	out.f = NULL;
	free(out_buf);
	out_buf = NULL;
	out_len = 0;
}

/* Write the buffered result to stdout and return RC (111 when stdout could
 * not be written). With -j, a verb that had nothing to say prints "{}", so
 * that every verb prints exactly one document. */
int finish(int rc)
{
	struct out o;

	out_open();
	if (out.json && !out.quiet && !out.wrote) {
		out_record_begin(&out);
		out_record_end(&out);
	}
	if (out_finish(&out) < 0 || fclose(out.f) != 0) {
		out.f = NULL;
		fprintf(stderr, "%s: unable to buffer the result: out of memory\n", progname);
		return EXIT_TEMP;
	}
	out.f = NULL;
	out_init(&o, stdout, 0, 0);
	if (out_len)
		fwrite(out_buf, 1, out_len, stdout);
	free(out_buf);
	out_buf = NULL;
	out_len = 0;
	if (out_finish(&o) < 0) {
		fprintf(stderr, "%s: %s\n", progname, error_message());
		return EXIT_TEMP;
	}
	return rc;
}

void xdie(int code)
{
	const char *hint = error_hint_text();

	out_discard();
	fprintf(stderr, "%s: %s\n", progname, error_message());
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	exit(code ? code : error_exit_code());
}

void xusage(const char *fmt, ...)
{
	va_list ap;

	out_discard();
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

int not_found(const char *fmt, ...)
{
	va_list ap;

	if (common.quiet)
		return EXIT_NO;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_NO;
}

void print_report(void *ctx, const char *owner, const char *kind, const char *detail)
{
	(void)ctx;
	out_record_begin(&out);
	out_str(&out, "owner", owner);
	out_str(&out, "kind", kind);
	out_str(&out, "detail", detail);
	out_record_end(&out);
}

int check_verdict(int n, const char *one, const char *many)
{
	if (n < 0)
		xdie(0);
	if (n > 0 && !common.quiet)
		fprintf(stderr, "%s: %d %s found\n", progname, n, n == 1 ? one : many);
	return n ? EXIT_NO : 0;
}

void xname(const char *what, const char *s)
{
	if (name_check(what, s) < 0)
		xdie(0);
}

/* ---- the command table ---------------------------------------------------- */

/* The common options; their bits follow the applet's own. */
enum { C_STATE_DIR, C_JSON, C_QUIET, C_VERBOSE, C_HELP, C_VERSION, N_COMMON };

static const char *c_state_dir, *c_flag[N_COMMON];

static const struct opt common_opts[N_COMMON] = {
	[C_STATE_DIR] = {"state-dir", "DIR", "state directory (default $EMBER_STATE_DIR, else /var/lib/ember)",
			 &c_state_dir, 0, NULL},
	[C_JSON] = {"json", NULL, "print JSON", &c_flag[C_JSON], 0, NULL},
	[C_QUIET] = {"quiet", NULL, "print no result and no warnings", &c_flag[C_QUIET], 0, NULL},
	[C_VERBOSE] = {"verbose", NULL, NULL, &c_flag[C_VERBOSE], 0, NULL},
	[C_HELP] = {"help", NULL, "print this help", &c_flag[C_HELP], 0, NULL},
	[C_VERSION] = {"version", NULL, "print the version", &c_flag[C_VERSION], 0, NULL},
};
static const char common_shorts[N_COMMON] = {[C_JSON] = 'j', [C_QUIET] = 'q', [C_VERBOSE] = 'v', [C_HELP] = 'h'};

static void print_lines(FILE *f, const char *text, int indent, int col)
{
	const char *p = text, *nl;

	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		fprintf(f, "%*s%.*s\n", col > 0 ? col : indent, "", (int)(nl - p), p);
		col = indent;
	}
}

/* "  alloc OWNER [--subnet CIDR]..." then the help, at column 22. */
static void usage_verb(const struct applet *a, const struct verb *v, FILE *f)
{
	char line[512];
	size_t k;
	int i;

	k = (size_t)snprintf(line, sizeof(line), "  %s%s%s", v->name, *v->operands ? " " : "", v->operands);
	for (i = 0; i < a->n_opts && k < sizeof(line); i++) {
		const struct opt *o = &a->opts[i];
		int req = (v->required & OPT(i)) != 0;

		if (!(v->opts & OPT(i)))
			continue;
		k += (size_t)snprintf(line + k, sizeof(line) - k, " %s--%s%s%s%s%s", req ? "" : "[", o->name,
				      o->arg ? " " : "", o->arg ? o->arg : "", req ? "" : "]", o->max ? "..." : "");
	}
	if (v->rest && k < sizeof(line))
		snprintf(line + k, sizeof(line) - k, " -- %s", v->rest);
	fputs(line, f);
	if (strlen(line) <= 20) {
		print_lines(f, v->help, 22, 22 - (int)strlen(line));
	} else {
		fputc('\n', f);
		print_lines(f, v->help, 22, 22);
	}
}

static void usage_opt(const struct opt *o, char s, const char *help, int width, FILE *f)
{
	char name[64];

	snprintf(name, sizeof(name), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	if (s)
		fprintf(f, "  -%c, %-*s", s, width, name);
	else
		fprintf(f, "      %-*s", width, name);
	print_lines(f, help, 8 + width, 2);
}

void usage_print(const struct applet *a, FILE *f)
{
	const struct verb *v;
	int i, width = 18, n;

	fprintf(f, "usage: %s [OPTION...] VERB [OPERAND...]\n\n", progname);
	for (v = a->verbs; v->name; v++) {
		if (v->heading)
			fprintf(f, "%s\n", v->heading);
		usage_verb(a, v, f);
	}
	if (a->verb_note)
		print_lines(f, a->verb_note, 2, 2);
	for (i = 0; i < a->n_opts; i++) {
		n = (int)strlen(a->opts[i].name) + 3 + (a->opts[i].arg ? (int)strlen(a->opts[i].arg) : 0);
		if (n > width)
			width = n;
	}
	fputs("\noptions:\n", f);
	for (i = 0; i < a->n_opts; i++)
		usage_opt(&a->opts[i], 0, a->opts[i].help, width, f);
	for (i = 0; i < N_COMMON; i++)
		usage_opt(&common_opts[i], common_shorts[i], i == C_VERBOSE ? a->verbose : common_opts[i].help,
			  width, f);
	if (a->tail)
		fputs(a->tail, f);
}

/* 'alloc' and 'list', the verbs that take option I */
static void verbs_of(const struct applet *a, int i, char *buf, size_t n)
{
	const struct verb *v;
	int count = 0, total = 0, k = 0;

	for (v = a->verbs; v->name; v++)
		total += (v->opts & OPT(i)) != 0;
	buf[0] = '\0';
	for (v = a->verbs; v->name; v++) {
		if (!(v->opts & OPT(i)))
			continue;
		count++;
		k += snprintf(buf + k, k < (int)n ? n - k : 0, "%s'%s'",
			      count == 1 ? "" : count == total ? " and " : ", ", v->name);
	}
}

/* The operand words of a verb: "IMAGE FILE", "[VOLUME]", "FILE..." */
struct operands {
	char word[8][16];
	int optional[8];
	int n, min, max; /* max -1: any */
};

static void operands_parse(const char *spec, struct operands *s)
{
	const char *p = spec;
	size_t len;
	char *w;

	memset(s, 0, sizeof(*s));
	while (*p && s->n < 8) {
		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (!len)
			break;
		w = s->word[s->n];
		snprintf(w, sizeof(s->word[0]), "%.*s", (int)len, p);
		p += len;
		if (w[0] == '[') {
			memmove(w, w + 1, strlen(w));
			w[strcspn(w, "]")] = '\0';
			s->optional[s->n] = 1;
		} else {
			s->min++;
		}
		if (strstr(w, "...")) {
			*strstr(w, "...") = '\0';
			s->max = -1;
		} else if (s->max >= 0) {
			s->max++;
		}
		s->n++;
	}
}

/* A VOLUME is an owner or a device name of ours; lib/ knows the prefixes,
 * this only refuses what can be neither. */
static void xvolume(const char *s)
{
	size_t i;

	if (name_valid(s))
		return;
	for (i = 0; s[i] && i < 64; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			break;
	if (s[0] && !s[i] && s[0] != '-' && s[0] != '_')
		return;
	error_code(EXIT_USAGE, "invalid volume %s", quote(s));
	error_hint("a volume is an owner or a device name such as ember-a3f4-img-debian");
	xdie(0);
}

static void operand_check(const char *word, const char *s)
{
	if (strcmp(word, "OWNER") == 0)
		xname("owner", s);
	else if (strcmp(word, "IMAGE") == 0)
		xname("image name", s);
	else if (strcmp(word, "NAME") == 0)
		xname("name", s);
	else if (strcmp(word, "VOLUME") == 0)
		xvolume(s);
	else if (!*s)
		xusage("%s is empty", word);
}

static void print_version(void)
{
	printf("%s %s\n", progname, EMBER_VERSION);
}

/* Store one option's value; refuses a second value for a single-valued one. */
static void opt_set(const struct opt *o, const char *val)
{
	if (o->max) {
		if (*o->n == o->max)
			xusage("--%s given more than %d times", o->name, o->max);
		o->val[(*o->n)++] = val;
		return;
	}
	if (*o->val && o->arg)
		xusage("option '--%s' given twice", o->name);
	*o->val = val;
}

int xrun(const struct applet *a, int argc, char **argv)
{
	char **operands = calloc((size_t)argc + 1, sizeof(*operands));
	unsigned given = 0, missing;
	const struct verb *v;
	struct operands spec;
	struct install in, *inp = NULL;
	int i, k, n = 0, n_rest = 0, rest_at = -1, rc, lock = -1;
	const char *env;
	char list[256];

	if (!operands) {
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(EXIT_TEMP);
	}
	if (a->n_opts > OPTS_MAX) {
		fprintf(stderr, "%s: more than %d options in the command table\n", progname, OPTS_MAX);
		exit(EXIT_INTERNAL);
	}
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *val = NULL;
		const struct opt *o = NULL;
		size_t len;

		if (strcmp(arg, "--") == 0) {
			rest_at = n;
			for (i++; i < argc; i++)
				operands[n++] = argv[i];
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			operands[n++] = argv[i];
			continue;
		}
		if (arg[1] != '-') {
			/* short flags, bundled: -jq */
			for (k = 1; arg[k]; k++) {
				int c;

				for (c = 0; c < N_COMMON && common_shorts[c] != arg[k]; c++)
					;
				if (c == N_COMMON) {
					char s[3] = {'-', arg[k], '\0'};

					xusage("unknown option %s", quote(s));
				}
				*common_opts[c].val = common_opts[c].name;
				if (c == C_HELP)
					break;
			}
			if (c_flag[C_HELP]) {
				usage_print(a, stdout);
				exit(finish(0));
			}
			continue;
		}
		eq = strchr(arg + 2, '=');
		len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		for (k = 0; k < a->n_opts + N_COMMON; k++) {
			const struct opt *c = k < a->n_opts ? &a->opts[k] : &common_opts[k - a->n_opts];

			if (strlen(c->name) == len && strncmp(c->name, arg + 2, len) == 0) {
				o = c;
				break;
			}
		}
		if (!o) {
			char name[QUOTE_MAX + 3];

			snprintf(name, sizeof(name), "%.*s", (int)len + 2, arg);
			xusage("unknown option %s", quote(name));
		}
		if (!o->arg && eq)
			xusage("option '--%s' takes no value", o->name);
		if (o->arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				xusage("option '--%s' needs a value", o->name);
		}
		if (k < a->n_opts)
			given |= OPT(k);
		if (o == &common_opts[C_HELP]) {
			usage_print(a, stdout);
			exit(finish(0));
		}
		if (o == &common_opts[C_VERSION]) {
			print_version();
			exit(finish(0));
		}
		opt_set(o, o->arg ? val : o->name);
	}

	/* the common options */
	if (c_flag[C_VERSION]) {
		print_version();
		exit(finish(0));
	}
	/* never "unset, so the default": a script's empty variable must not
	 * reach another installation */
	if (c_state_dir && !*c_state_dir)
		xusage("--state-dir needs a directory, not an empty string");
	env = getenv("EMBER_STATE_DIR");
	if (!c_state_dir && env && !*env)
		xusage("EMBER_STATE_DIR is set but empty: name a directory, or unset it for the default");
	common.state_dir = c_state_dir;
	common.json = c_flag[C_JSON] != NULL;
	common.quiet = c_flag[C_QUIET] != NULL;
	common.verbose = spawn_verbose = c_flag[C_VERBOSE] != NULL;
	out_open();

	/* the verb, its options and its operands */
	if (n < 1 || rest_at == 0)
		xusage("a verb is needed");
	for (v = a->verbs; v->name; v++)
		if (strcmp(v->name, operands[0]) == 0)
			break;
	if (!v->name)
		xusage("unknown verb %s", quote(operands[0]));
	for (i = 0; i < a->n_opts; i++) {
		if (!(given & OPT(i)) || (v->opts & OPT(i)))
			continue;
		verbs_of(a, i, list, sizeof(list));
		xusage("--%s goes with %s, not with '%s'", a->opts[i].name, list, v->name);
	}
	operands_parse(v->operands, &spec);
	if (rest_at < 0 || !(v->flags & V_REST))
		rest_at = n; /* without V_REST, "--" only ends the options */
	else
		n_rest = n - rest_at;
	k = rest_at - 1; /* operands after the verb */
	if (k < spec.min)
		xusage("'%s' needs %s", v->name, spec.min == 1 ? "an operand" : "more operands");
	if (spec.max >= 0 && k > spec.max)
		xusage("unexpected operand %s", quote(operands[1 + spec.max]));
	if ((v->flags & V_REST) && n_rest == 0 && v->rest)
		xusage("'%s' needs -- %s", v->name, v->rest);
	missing = v->required & ~given;
	for (i = 0; i < a->n_opts; i++)
		if (missing & OPT(i))
			xusage("--%s %s is required", a->opts[i].name, a->opts[i].arg ? a->opts[i].arg : "");
	for (i = 0; i < k; i++)
		operand_check(spec.word[i < spec.n ? i : spec.n - 1], operands[1 + i]);

	/* the installation */
	if (v->flags & V_INSTALL) {
		memset(&in, 0, sizeof(in));
		if (install_load(&in, install_dir_default(common.state_dir)) < 0)
			xdie(0);
		in.no_create = !(v->flags & V_TABLES);
		inp = &in;
		if ((v->flags & V_CHANGE) && (lock = subsys_enter(inp)) < 0)
			xdie(0);
	}
	rc = v->run(inp, n - 1, operands + 1);
	if (inp)
		install_release(inp);
	lock_release(lock);
	free(operands);
	if (rc != 0 && rc != EXIT_NO) {
		out_discard();
		return rc;
	}
	return finish(rc);
}

/* ---- applets not built yet ------------------------------------------------ */

int not_built(int argc, char **argv, const char *usage)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return finish(0);
		}
		if (strcmp(argv[i], "--version") == 0) {
			print_version();
			return finish(0);
		}
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "-j") && strcmp(argv[i], "-q") &&
		    strcmp(argv[i], "-v") && strcmp(argv[i], "--json") && strcmp(argv[i], "--quiet") &&
		    strcmp(argv[i], "--verbose") && strcmp(argv[i], "--state-dir") &&
		    strncmp(argv[i], "--state-dir=", 12))
			xusage("unknown option %s", quote(argv[i]));
		if (strcmp(argv[i], "--state-dir") == 0 && ++i == argc)
			xusage("option '--state-dir' needs a value");
	}
	fprintf(stderr, "%s: not implemented yet\n", progname);
	return EXIT_TEMP;
}
