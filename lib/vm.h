/* vm: VM records. Until ember-vm exists, this module only answers which VMs
 * are registered, so that deinit can refuse while any are. */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include "install.h"

/* Calls FN for each registered VM name; returns how many, or -1. */
int vm_each_registered(struct install *in, void (*fn)(const char *name, void *ctx), void *ctx);

#endif
