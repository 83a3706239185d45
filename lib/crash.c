#include "crash.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

void crash_point(const char *name)
{
	const char *v = getenv(CRASH_ENV);

	if (v && strcmp(v, name) == 0)
		kill(getpid(), SIGKILL);
}

int fail_point(const char *name)
{
	const char *want = getenv(FAIL_ENV);
	size_t n = strlen(name);

	for (; want && *want; want += strcspn(want, ","), want += *want == ',')
		if (strncmp(want, name, n) == 0 && (want[n] == ',' || want[n] == '\0'))
			return error_code(EXIT_TEMP, "%s failed (" FAIL_ENV ")", name);
	return 0;
}
