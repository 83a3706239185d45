#include "nat.h"

#include <stdio.h>

static const char *const chain_suffix[] = {"input", "forward", "postrouting"};

void nat_chain_name(const struct install *in, enum nat_chain which, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	if (ns)
		snprintf(buf, n, "ember-%s-%s", ns, chain_suffix[which]);
	else if (which == NAT_POSTROUTING)
		snprintf(buf, n, "%s", "");
	else
		snprintf(buf, n, "ember-%s", chain_suffix[which]);
}

void nat_comment(const struct install *in, const char *owner, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	if (!ns)
		snprintf(buf, n, "%s", "");
	else if (owner)
		snprintf(buf, n, "ember:%s:%s", ns, owner);
	else
		snprintf(buf, n, "ember:%s", ns);
}

void nat_names(const struct install *in, struct out *o)
{
	char buf[64];

	nat_chain_name(in, NAT_INPUT, buf, sizeof(buf));
	out_str(o, "chain_input", buf);
	nat_chain_name(in, NAT_FORWARD, buf, sizeof(buf));
	out_str(o, "chain_forward", buf);
	nat_chain_name(in, NAT_POSTROUTING, buf, sizeof(buf));
	out_str(o, "chain_postrouting", buf);
	nat_comment(in, NULL, buf, sizeof(buf));
	out_str(o, "rule_comment", buf);
}

int nat_teardown(struct install *in)
{
	/* ember-nat writes no rules yet (issue 4): nothing to remove */
	(void)in;
	return 0;
}
