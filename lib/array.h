/* array: growable arrays of any element type. */
#ifndef EMBER_ARRAY_H
#define EMBER_ARRAY_H

#include <stddef.h>

/* The number of elements of an array (not a pointer). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Make room for element N of the array *V (capacity *CAP elements of SIZE
 * bytes), doubling it when full. V is the address of the array pointer. */
int array_reserve(void *v, int *cap, int n, size_t size);

#endif
