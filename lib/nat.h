/* nat: this installation's iptables chains and per-VM rules. Names:
 * "ember-<id>-input|forward|postrouting" (legacy "ember-input|forward", no
 * postrouting chain); jumps carry the comment "ember:<id>", per-VM rules
 * "ember:<id>:<owner>" (legacy rules carry none). */
#ifndef EMBER_NAT_H
#define EMBER_NAT_H

#include <stddef.h>

#include "install.h"
#include "output.h"

enum nat_chain { NAT_INPUT, NAT_FORWARD, NAT_POSTROUTING };

/* The chain's name; "" when a legacy installation has no such chain. */
void nat_chain_name(const struct install *in, enum nat_chain which, char *buf, size_t n);
/* "ember:<id>" for jumps, or "ember:<id>:<owner>" when OWNER is given; "" for legacy. */
void nat_comment(const struct install *in, const char *owner, char *buf, size_t n);
void nat_names(const struct install *in, struct out *o);
/* Remove this installation's rules and chains (ember-nat flush). */
int nat_teardown(struct install *in);

#endif
