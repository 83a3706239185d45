/* subsys: the subsystems, in the order they are set up, and the policy that
 * drives them all: ember-init asks each for its names (show) and tears the
 * installation down in reverse order (deinit); ember-reconcile lists each
 * one's owners with the time each object was created, tears down one
 * owner's runtime objects and releases one owner.
 *
 * The installation lock: every verb that changes the installation holds
 * locks/install shared for its whole run (subsys_enter); deinit writes the
 * marker locks/deinit, so that late-comers refuse (102), then holds the lock
 * exclusive, so that it waits for every change under way and no change runs
 * while it tears down. */
#ifndef EMBER_SUBSYS_H
#define EMBER_SUBSYS_H

#include <stdint.h>

#include "install.h"
#include "output.h"
#include "tables.h"

struct subsystem {
	const char *name;
	const struct tables *tables; /* its owners are listed from these */
	/* print the names it gives host objects; NULL: none */
	void (*names)(const struct install *in, struct out *o);
	/* remove OWNER's runtime objects from the host; absent: 0; NULL: none */
	int (*teardown_owner)(struct install *in, const char *owner);
	/* forget OWNER: what it holds and its records; absent: 0 */
	int (*release_owner)(struct install *in, const char *owner);
	/* remove this installation's host objects; NULL: it has none */
	int (*teardown)(struct install *in);
};

extern const struct subsystem subsystems[];
extern const int subsystem_count;

/* Call FN for each owner S holds something of, with its creation time (unix
 * seconds); the number of owners, or -1. Never creates S's tables. */
int subsys_owners(struct install *in, const struct subsystem *s, tables_owner_fn fn, void *ctx);

/* A changing verb begins: the installation lock, shared; refused (102) once
 * deinit has begun, and (100) when the installation was removed meanwhile.
 * Returns the lock's descriptor for lock_release(), or -1. */
int subsys_enter(struct install *in);

/* Tear the installation down: the marker, the lock exclusive, refused (102,
 * the VMs named) while VMs are registered, then every subsystem's teardown
 * in reverse order (each failure goes to REPORT, and the result is 111),
 * then with PURGE the state directory. Not from within subsys_enter. */
int subsys_deinit(struct install *in, int purge, void (*report)(const char *subsystem, const char *message));

#endif
