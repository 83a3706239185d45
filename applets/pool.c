/* ember-pool: not built yet. It says so and exits 111 rather than pretend. */
#include <stdio.h>

#include "common.h"

int pool_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "%s: not implemented yet\n", progname);
	return EXIT_TEMP;
}
