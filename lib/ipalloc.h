/* ipalloc: IPv4 addresses per owner, from subnets, in the state database.
 *
 * Mode p2p hands out /30 blocks (slot k = the k-th block of the subnet):
 * host (TAP side) = block+1, guest = block+2, prefix 30. Mode single hands
 * out one address of a shared subnet (slot k = network+k), never the network
 * address, the first host address (the gateway, which is host_ip) or the
 * broadcast address; a /31 or /32 subnet has neither network, broadcast nor
 * gateway, so every address is handed out and host_ip is none.
 *
 * Tables (STRICT): ipalloc_leases (subnet, slot, owner UNIQUE, mode,
 * created; PRIMARY KEY (subnet, slot)), ipalloc_free (the slot allocator's
 * free list), ipalloc_subnets (every subnet with allocations: its mode and
 * address range). Every allocation records its own subnet, so several
 * subnets coexist; a subnet is in one mode at a time and never overlaps
 * another subnet that has allocations. */
#ifndef EMBER_IPALLOC_H
#define EMBER_IPALLOC_H

#include <stdint.h>

#include "cidr.h"
#include "install.h"
#include "tables.h"
#include "name.h"
#include "slot.h"

#define IPALLOC_RESERVE_MAX 256

enum ipalloc_mode { IPALLOC_P2P, IPALLOC_SINGLE };

struct ipalloc_request {
	struct cidr subnet;
	enum ipalloc_mode mode;
	uint32_t reserve[IPALLOC_RESERVE_MAX]; /* addresses never handed out */
	int n_reserve;
	/* neither subnet nor mode was asked for (SUBNET and MODE are the
	 * defaults): what the owner holds, from any subnet, is the answer, so
	 * that a later change of the installation's subnet never makes an
	 * existing allocation "other parameters" */
	int any_held;
};

/* One allocation as it is printed. */
struct ipalloc {
	char owner[NAME_MAX_LEN + 1];
	struct cidr subnet;
	enum ipalloc_mode mode;
	int64_t slot;
	uint32_t guest;
	uint32_t host;   /* the TAP side (p2p) or the gateway (single) */
	int has_host;    /* 0: single mode in a /31 or /32 */
	int prefix;      /* 30 in p2p, the subnet's in single */
	uint32_t first, last; /* the addresses this allocation covers */
	int valid;            /* 0: a corrupt record (only owner is set) */
};

struct ipalloc_list {
	struct ipalloc *v;
	int n;
};

const char *ipalloc_mode_name(enum ipalloc_mode m);
/* "p2p" or "single"; anything else exit 100. */
int ipalloc_parse_mode(const char *s, enum ipalloc_mode *m);
/* Is C a subnet MODE can allocate from? A network address (no host bits),
 * prefix 8-30 (p2p) or 8-32 (single), not within 0.0.0.0/8, 224.0.0.0/4 or
 * 240.0.0.0/4, and for p2p not within 127.0.0.0/8. Exit 100 with a message. */
int ipalloc_valid_subnet(const struct cidr *c, enum ipalloc_mode m);
/* Parse S and check it as above. */
int ipalloc_parse_subnet(const char *s, enum ipalloc_mode m, struct cidr *c);
/* Add a --reserve address (an address of R's subnet) to R; exit 100 when not. */
int ipalloc_add_reserve(struct ipalloc_request *r, const char *s);

/* The slots of SUBNET in MODE: [*lo, *hi]. */
void ipalloc_slots(const struct cidr *subnet, enum ipalloc_mode m, int64_t *lo, int64_t *hi);
/* The slot holding address IP of SUBNET (which must contain it). */
int64_t ipalloc_slot_of(const struct cidr *subnet, enum ipalloc_mode m, uint32_t ip);
/* Fill A's addresses from its subnet, mode and slot (within the slots). */
void ipalloc_address(struct ipalloc *a);

/* Give OWNER an address as R asks, or confirm the one it has (CREATED
 * says which). It holds one with other parameters: 102; subnet full: 102. */
int ipalloc_alloc(struct install *in, const char *owner, const struct ipalloc_request *r,
		  struct ipalloc *a, int *created);
/* Release OWNER's address: 1 released (A is what it was), 0 it held none. */
int ipalloc_release(struct install *in, const char *owner, struct ipalloc *a);
/* OWNER's allocation: 1 (A filled) or 0 none. */
int ipalloc_show(struct install *in, const char *owner, struct ipalloc *a);
/* Every allocation (of SUBNET only, when not NULL), by address. */
int ipalloc_list(struct install *in, const struct cidr *subnet, struct ipalloc_list *l);
void ipalloc_list_release(struct ipalloc_list *l);
/* The invariants: no two owners on one address, nothing outside its subnet,
 * no overlapping blocks, every subnet recorded, the free list whole. REPORT
 * is called once per anomaly; returns how many, -1 on error. */
int ipalloc_check(struct install *in, slot_report_fn report, void *ctx);

/* Its tables, for the one opener and the owners reconcile lists. */
extern const struct tables ipalloc_tables;

#endif
