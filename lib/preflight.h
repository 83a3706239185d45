/* preflight: does this host have the runtime ember needs? One item per
 * piece, each with what was found and, when missing, what to do about it. */
#ifndef EMBER_PREFLIGHT_H
#define EMBER_PREFLIGHT_H

struct preflight_item {
	const char *name;
	int ok;
	const char *detail; /* what was found: a path, a backend; NULL when missing */
	const char *action; /* when missing: the fix, one line */
};

/* Calls FN for each item in order; returns how many are missing. */
int preflight_run(void (*fn)(const struct preflight_item *item, void *ctx), void *ctx);

#endif
