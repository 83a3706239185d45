#include "crash.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void crash_point(const char *name)
{
	const char *v = getenv(CRASH_ENV);

	if (v && strcmp(v, name) == 0)
		kill(getpid(), SIGKILL);
}
