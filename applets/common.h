/* common: what every applet shares: the common options, the result printer,
 * verb dispatch and the way errors end a process. The x prefix means the
 * function exits instead of returning an error. */
#ifndef EMBER_COMMON_H
#define EMBER_COMMON_H

#include <getopt.h>

#include "error.h"
#include "install.h"
#include "output.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

/* The common options, set by xparse_options. */
struct common {
	const char *state_dir; /* --state-dir, or NULL */
	int json;
	int quiet;
	int verbose;
};

extern struct common common;
extern struct out out;        /* the result, on stdout */
extern const char *progname;  /* "ember-init" however it was invoked */

/* Keys of applet options: use short letters, or values from OPT_APPLET up. */
enum { OPT_APPLET = 0x200 };

/* Parse argv with the applet's OPTIONS (a getopt_long table, ended by a zero
 * entry) plus the common ones; applet options go to HANDLE. Exits 0 on
 * --help/--version, 100 on a bad option. Returns the index of the first operand. */
int xparse_options(int argc, char **argv, const char *usage, const struct option *options,
		   void (*handle)(int key, const char *arg));

struct verb {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the verb */
	int min_args, max_args;            /* operands after the verb; -1: any */
};

/* Run the verb named by argv[0] (exact match), checking its operand count. */
int xrun_verb(const struct verb *verbs, int argc, char **argv);

/* Print the recorded error (and its hint) to stderr, then exit with CODE
 * (0 = the code recorded with the error). */
void xdie(int code) __attribute__((noreturn));
/* A usage error: message, a hint to --help, exit 100. */
void xusage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A warning line on stderr (not with -q). */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Load this installation (from --state-dir / $EMBER_STATE_DIR) or exit. */
void xinstall_load(struct install *in);
/* Validate a user-given name or exit 100. */
void xname(const char *what, const char *s);
/* An applet not built yet: the common options as everywhere (--help prints
 * USAGE), then "not implemented yet" and 111. */
int not_built(int argc, char **argv, const char *usage);
/* Flush the result and return RC (111 when stdout could not be written). */
int finish(int rc);

#endif
