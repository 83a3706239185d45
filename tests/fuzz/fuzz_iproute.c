/* libFuzzer target: the `ip -j` link parser and the `ip -batch` failure
 * parser never crash or leak, and what they fill in is within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iproute.h"

static void check_failure(const char *err)
{
	struct iproute_failure f;
	size_t n;

	iproute_parse_failure(err, &f);
	n = strnlen(f.message, sizeof(f.message));
	/* always a message, NUL-terminated, without a final period or blank */
	if (n == 0 || n == sizeof(f.message) || f.message[n - 1] == '.' || f.message[n - 1] == ' ')
		abort();
	if (f.refused && !strstr(err, "Error: "))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iproute_links links;
	const struct iproute_link *l;
	char *text = malloc(size + 1);
	int i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (iproute_parse_links(text, &links) == 0) {
		if (links.n < 0 || (links.n > 0 && !links.v))
			abort();
		for (i = 0; i < links.n; i++) {
			l = &links.v[i];
			if (!l->name[0] || strnlen(l->name, sizeof(l->name)) == sizeof(l->name) ||
			    strnlen(l->alias, sizeof(l->alias)) == sizeof(l->alias) ||
			    strnlen(l->user, sizeof(l->user)) == sizeof(l->user) ||
			    strnlen(l->group, sizeof(l->group)) == sizeof(l->group) ||
			    strnlen(l->addr, sizeof(l->addr)) == sizeof(l->addr))
				abort();
			/* the first address is kept when there is one */
			if ((l->naddr > 0) != (l->addr[0] != '\0') || l->naddr < 0 || l->ninet6 < 0)
				abort();
		}
		iproute_links_release(&links);
	} else if (links.v || links.n) {
		abort();
	}
	check_failure(text);
	free(text);
	return 0;
}
