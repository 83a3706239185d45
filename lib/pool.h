/* pool: this installation's device-mapper thin pool and volumes. Names:
 * pool "ember-<id>-pool", volumes "ember-<id>-img-<name>" and
 * "ember-<id>-vm-<owner>", dm UUIDs prefixed "EMBER-<id>-" (legacy:
 * "ember-pool", "ember-img-", "ember-vm-", "EMBER--"). */
#ifndef EMBER_POOL_H
#define EMBER_POOL_H

#include <stddef.h>

#include "install.h"
#include "output.h"

void pool_name(const struct install *in, char *buf, size_t n);
/* KIND is "img" or "vm". */
void pool_volume_prefix(const struct install *in, const char *kind, char *buf, size_t n);
void pool_uuid_prefix(const struct install *in, char *buf, size_t n);
void pool_names(const struct install *in, struct out *o);
/* Remove this installation's volumes and pool from the kernel (files stay). */
int pool_teardown(struct install *in);

#endif
