#include "pool.h"

#include <stdio.h>

static const char *ns_dash(const struct install *in)
{
	return install_namespace(in) ? "-" : "";
}

void pool_name(const struct install *in, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	snprintf(buf, n, "ember-%s%spool", ns ? ns : "", ns_dash(in));
}

void pool_volume_prefix(const struct install *in, const char *kind, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	snprintf(buf, n, "ember-%s%s%s-", ns ? ns : "", ns_dash(in), kind);
}

void pool_uuid_prefix(const struct install *in, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	snprintf(buf, n, "EMBER-%s-", ns ? ns : "");
}

void pool_names(const struct install *in, struct out *o)
{
	char buf[64];

	pool_name(in, buf, sizeof(buf));
	out_str(o, "pool", buf);
	pool_volume_prefix(in, "img", buf, sizeof(buf));
	out_str(o, "image_prefix", buf);
	pool_volume_prefix(in, "vm", buf, sizeof(buf));
	out_str(o, "volume_prefix", buf);
	pool_uuid_prefix(in, buf, sizeof(buf));
	out_str(o, "dm_uuid_prefix", buf);
}

int pool_teardown(struct install *in)
{
	/* ember-pool creates no devices yet (issue 5): nothing to remove */
	(void)in;
	return 0;
}
