/* common: what every applet shares: its command table (verbs, each with its
 * own options and operands), the parser and the --help rendered from that
 * table, the dispatcher that sets up the installation, the buffered result
 * and the way errors end a process. The x prefix means the function exits
 * instead of returning an error. */
#ifndef EMBER_COMMON_H
#define EMBER_COMMON_H

#include "array.h"
#include "error.h"
#include "install.h"
#include "output.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

/* The common options: global, taken by every verb. */
struct common {
	const char *state_dir; /* --state-dir, or NULL */
	int json;
	int quiet;
	int verbose;
};

extern struct common common;
extern struct out out;       /* the result: reaches stdout only when the verb returns */
extern const char *progname; /* "ember-init" however it was invoked */

/* An option of an applet, declared once with its help text; each verb says
 * which options it takes. */
struct opt {
	const char *name;  /* "subnet": --subnet (exact name only) */
	const char *arg;   /* "CIDR": takes a value; NULL: a flag */
	const char *help;  /* lines separated by '\n' */
	const char **val;  /* the value (a flag: its name); repeatable: an array */
	int max;           /* repeatable up to MAX times into VAL[]; 0: once */
	int *n;            /* repeatable: how many were given */
};

/* An applet has at most this many options of its own (bits of a verb's mask). */
#define OPTS_MAX 32
#define OPT(i) (1u << (i))

enum verb_flags {
	V_INSTALL = 1 << 0, /* load the installation before the verb, release it after */
	V_TABLES = 1 << 1,  /* may create its subsystem's tables (reading verbs never do) */
	V_CHANGE = 1 << 2,  /* changes the installation: refused once deinit has begun */
	V_REST = 1 << 3,    /* the words after "--" follow the operands, never read as options */
};

struct verb {
	const char *name;
	/* "OWNER", "IMAGE FILE", "[VOLUME]": the count and kind of operands.
	 * OWNER, IMAGE, NAME and VOLUME are names, checked before anything else. */
	const char *operands;
	unsigned opts;     /* OPT(i) of each option it takes */
	unsigned required; /* of those, the ones it cannot do without */
	int flags;
	/* IN: the installation with V_INSTALL, else NULL; ARGV: the operands (and
	 * with V_REST the words after "--"), ARGC of them. Returns the exit code;
	 * the result is printed when it is 0 or 1. */
	int (*run)(struct install *in, int argc, char **argv);
	const char *help;    /* what it does, for --help */
	const char *rest;    /* V_REST: what follows "--" ("CMD [ARG...]") */
	const char *heading; /* a line printed before it in --help ("volumes:") */
};

struct applet {
	const struct verb *verbs; /* ended by a zero entry */
	const struct opt *opts;
	int n_opts;
	const char *verbose;   /* what -v does here, for --help */
	const char *verb_note; /* --help: printed after the verbs, or NULL */
	const char *tail;      /* --help: output, environment, exit codes */
};

/* Parse ARGV against applet A, set up what the verb needs, run it and
 * return its exit code (after the result is written). */
int xrun(const struct applet *a, int argc, char **argv);
/* Write the buffered result to stdout and return RC (111 when stdout could
 * not be written). */
int finish(int rc);
/* The --help text of A into F. */
void usage_print(const struct applet *a, FILE *f);

/* Print the recorded error (and its hint) to stderr, discard the result and
 * exit with CODE (0 = the code recorded with the error). */
void xdie(int code) __attribute__((noreturn));
/* A usage error: message, a hint to --help, exit 100. */
void xusage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A warning line on stderr (not with -q). */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Validate a user-given name or exit 100. */
void xname(const char *what, const char *s);
/* "show" of what is absent: the message on stderr (not with -q), exit code 1. */
int not_found(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The one printer of a check's report: one record per anomaly. */
void print_report(void *ctx, const char *owner, const char *kind, const char *detail);
/* A check's verdict: N < 0 dies; N > 0 says how many ONE/MANY on stderr and is 1. */
int check_verdict(int n, const char *one, const char *many);
/* An applet not built yet: the common options as everywhere (--help prints
 * USAGE), then "not implemented yet" and 111. */
int not_built(int argc, char **argv, const char *usage);

#endif
