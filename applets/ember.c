/* ember: the multi-call binary. It runs the applet named by basename(argv[0])
 * ("ember-init") or by its first operand ("ember init"); bare "ember" lists
 * the applets. */
#include <stdio.h>
#include <string.h>

#include "common.h"

#define APPLET(n) int n##_main(int argc, char **argv);
#include "applets.def"
#undef APPLET

struct applet_main {
	const char *name;
	const char *progname;
	int (*main)(int argc, char **argv);
};

static const struct applet_main applets[] = {
#define APPLET(n) {#n, "ember-" #n, n##_main},
#include "applets.def"
#undef APPLET
};

#define N_APPLETS ARRAY_SIZE(applets)

static int list(void)
{
	size_t i;

	for (i = 0; i < N_APPLETS; i++)
		printf("%s\n", applets[i].progname);
	return finish(0);
}

static int run(const char *name, int argc, char **argv)
{
	size_t i;

	for (i = 0; i < N_APPLETS; i++) {
		if (strcmp(applets[i].name, name) == 0) {
			progname = applets[i].progname;
			return applets[i].main(argc, argv);
		}
	}
	fprintf(stderr, "ember: unknown applet '%s'\nhint: run 'ember' to list the applets\n", name);
	return EXIT_UNKNOWN;
}

int main(int argc, char **argv)
{
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;

	base = base ? base + 1 : argv[0] ? argv[0] : "ember";
	if (strncmp(base, "ember-", 6) == 0)
		return run(base + 6, argc, argv);
	if (argc < 2 || strcmp(argv[1], "--list") == 0)
		return list();
	if (strcmp(argv[1], "--version") == 0) {
		printf("ember %s\n", EMBER_VERSION);
		return finish(0);
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: ember APPLET [ARG...]  or  ember-APPLET [ARG...]\napplets:\n");
		return list();
	}
	return run(argv[1], argc - 1, argv + 1);
}
