/* cidalloc: vsock guest CIDs per owner, in the state database: the lowest
 * free CID of 3 .. 4294967294 (0-2 are the hypervisor, local and host
 * CIDs; 2^32-1 is VMADDR_CID_ANY). Where the host has /dev/vhost-vsock, a
 * CID that another program (a QEMU VM, say) holds through it is skipped: the
 * probe asks the kernel to set the CID and EADDRINUSE means taken.
 *
 * Tables (STRICT): cidalloc_leases (range, slot = the CID, owner UNIQUE,
 * created; PRIMARY KEY (range, slot)) and cidalloc_free, through the slot
 * allocator. There is one range, "vsock". */
#ifndef EMBER_CIDALLOC_H
#define EMBER_CIDALLOC_H

#include <stdint.h>

#include "install.h"
#include "tables.h"
#include "name.h"
#include "slot.h"

#define CIDALLOC_MIN 3
#define CIDALLOC_MAX 4294967294LL
#define CIDALLOC_RANGE "vsock"

struct cidalloc {
	char owner[NAME_MAX_LEN + 1];
	uint32_t cid;
};

struct cidalloc_list {
	struct cidalloc *v;
	int n;
};

/* Does another program hold CID? 0 no, 1 yes, 2 there is nothing to ask
 * (no vhost-vsock device: stop asking), -1 error recorded. */
typedef int (*cidalloc_probe_fn)(void *ctx, uint32_t cid);

/* The probe of the real device; CTX is its path (NULL: /dev/vhost-vsock). */
int cidalloc_probe_device(void *ctx, uint32_t cid);

/* Give OWNER the lowest free CID that PROBE does not report held, or confirm
 * the one it has (CREATED says which; an existing CID is not probed again).
 * PROBE NULL: no probing. All CIDs taken: 102. */
int cidalloc_alloc(struct install *in, const char *owner, cidalloc_probe_fn probe, void *ctx,
		   struct cidalloc *c, int *created);
/* 1 released (C is what it was), 0 OWNER held none. */
int cidalloc_release(struct install *in, const char *owner, struct cidalloc *c);
/* 1 (C filled) or 0 none. */
int cidalloc_show(struct install *in, const char *owner, struct cidalloc *c);
/* Every allocation, by CID. */
int cidalloc_list(struct install *in, struct cidalloc_list *l);
void cidalloc_list_release(struct cidalloc_list *l);
/* The invariants: every CID within 3 .. 2^32-2 and in the one range, no CID
 * held twice, the free list whole. Returns how many anomalies, -1 on error. */
int cidalloc_check(struct install *in, slot_report_fn report, void *ctx);

/* Its tables, for the one opener and the owners reconcile lists. */
extern const struct tables cidalloc_tables;

#endif
