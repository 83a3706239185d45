#include "name.h"

#include <string.h>

#include "error.h"

static int lower_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int name_valid(const char *s)
{
	size_t i;

	if (!s || !lower_digit(s[0]))
		return 0;
	for (i = 1; s[i]; i++)
		if (i >= NAME_MAX_LEN || !(lower_digit(s[i]) || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int name_check(const char *what, const char *s)
{
	if (name_valid(s))
		return 0;
	error_code(EXIT_USAGE, "invalid %s %s", what, quote(s));
	error_hint("%s %s is 1 to 32 characters of a-z, 0-9, '_' and '-', starting with a letter or digit",
		   strchr("aeiou", what[0]) ? "an" : "a", what);
	return -1;
}

uint32_t fnv1a32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = 0x811c9dc5u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}
