/* libFuzzer target: the address and CIDR parsers never crash, and whatever
 * they accept formats back to the same text (the parsers are strict). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[64], back[CIDR_LEN];
	struct cidr c;
	uint32_t ip;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ip4_parse(text, &ip) == 0) {
		ip4_format(ip, back);
		if (strcmp(back, text) != 0)
			abort();
	}
	if (cidr_parse(text, &c) == 0) {
		cidr_format(&c, back);
		if (strcmp(back, text) != 0)
			abort();
	}
	return 0;
}
