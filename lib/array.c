#include "array.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

int array_reserve(void *v, int *cap, int n, size_t size)
{
	void *p, *grown;
	int c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	memcpy(&p, v, sizeof(p));
	grown = realloc(p, (size_t)c * size);
	if (!grown)
		return error_errno("unable to grow a list");
	memcpy(v, &grown, sizeof(grown));
	*cap = c;
	return 0;
}
