#include "tap.h"

#include <stdio.h>

void tap_prefix(const struct install *in, char buf[TAP_NAME_LEN])
{
	const char *ns = install_namespace(in);

	snprintf(buf, TAP_NAME_LEN, "em%s-", ns ? ns : "");
}

void tap_alias_prefix(const struct install *in, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	snprintf(buf, n, "ember:%s", ns ? ns : "");
}

void tap_names(const struct install *in, struct out *o)
{
	char prefix[TAP_NAME_LEN], alias[64];

	tap_prefix(in, prefix);
	tap_alias_prefix(in, alias, sizeof(alias));
	out_str(o, "tap_prefix", prefix);
	out_str(o, "tap_alias", alias);
}

int tap_teardown(struct install *in)
{
	/* ember-tap creates no TAPs yet (issue 4): nothing to remove */
	(void)in;
	return 0;
}
