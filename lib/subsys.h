/* subsys: the subsystems, in the order they are set up. ember-init asks each
 * for its names (show) and tears them down in reverse order (deinit). */
#ifndef EMBER_SUBSYS_H
#define EMBER_SUBSYS_H

#include "install.h"
#include "output.h"

struct subsystem {
	const char *name;
	void (*names)(const struct install *in, struct out *o);
	int (*teardown)(struct install *in); /* remove this installation's host objects */
};

extern const struct subsystem subsystems[];
extern const int subsystem_count;

#endif
