/* libFuzzer target: the config.json parser never crashes, and what it
 * accepts is a valid installation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "install.h"
#include "name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct install in;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&in, 0, sizeof(in));
	if (install_parse_config(&in, "config.json", text) == 0) {
		if (in.id[0] && strlen(in.id) != 4)
			abort();
		if (in.subnet.prefix < 8 || in.subnet.prefix > 30 || !cidr_is_network(&in.subnet))
			abort();
	}
	free(text);
	return 0;
}
