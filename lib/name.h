/* name: user-given names (owners, images) and the hashes names derive from. */
#ifndef EMBER_NAME_H
#define EMBER_NAME_H

#include <stddef.h>
#include <stdint.h>

#define NAME_MAX_LEN 32

/* [a-z0-9][a-z0-9_-]{0,31} */
int name_valid(const char *s);
/* name_valid, or an error (exit 100) naming what the name was for. */
int name_check(const char *what, const char *s);

/* FNV-1a, 32 bits: offset basis 0x811c9dc5, prime 0x01000193. */
uint32_t fnv1a32(const void *data, size_t len);

#endif
