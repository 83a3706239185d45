/* tap: TAP devices of this installation. Names: "em<id>-" + 7 characters
 * derived from the owner (legacy "em-"), at most 15 bytes; the link's ifalias
 * "ember:<id>:<owner>" proves whose it is. */
#ifndef EMBER_TAP_H
#define EMBER_TAP_H

#include <stddef.h>

#include "install.h"
#include "output.h"

#define TAP_NAME_LEN 16 /* IFNAMSIZ */

/* "em<id>-", or "em-" for a legacy installation. */
void tap_prefix(const struct install *in, char buf[TAP_NAME_LEN]);
/* The ifalias token before ":<owner>": "ember:<id>" (legacy "ember:"). */
void tap_alias_prefix(const struct install *in, char *buf, size_t n);
void tap_names(const struct install *in, struct out *o);
/* Remove every TAP that provably belongs to this installation. */
int tap_teardown(struct install *in);

#endif
