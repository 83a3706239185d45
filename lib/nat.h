/* nat: this installation's iptables chains and per-VM rules. Names:
 * "ember-<id>-input|forward|postrouting" (legacy "ember-input|forward", no
 * postrouting chain); jumps carry the comment "ember:<id>", per-VM rules
 * "ember:<id>:<owner>" (legacy rules carry none).
 *
 * Layout, for owner O with guest G, TAP T, uplink U (token K = ember:<id>:O)
 * and O's bucket B = FNV-1a-32(O) mod 32, as two hex digits:
 *   filter INPUT        -m comment --comment "ember:<id>" -j ember-<id>-input
 *   filter FORWARD      -m comment --comment "ember:<id>" -j ember-<id>-forward
 *   filter DOCKER-USER  the same jump, where that chain exists
 *   nat POSTROUTING     -m comment --comment "ember:<id>" -j ember-<id>-postrouting
 *   ember-<id>-input, -forward, -postrouting: one jump (tagged "ember:<id>")
 *                       per bucket in use, to ember-<id>-input-B, ...
 *   ember-<id>-input-B  -i T ctstate RELATED,ESTABLISHED ACCEPT; -i T DROP
 *   ember-<id>-forward-B  -s G -i T -o U [-d ALLOW] ACCEPT; -i T DROP;
 *                       -d G -o T ctstate RELATED,ESTABLISHED ACCEPT
 *   ember-<id>-postrouting-B  -s G -o U MASQUERADE
 * The buckets keep every chain a change touches short, so that its cost does
 * not grow with the number of VMs (iptables-nft reads each chain a -C or -D
 * names). A legacy installation writes the same rules without comments
 * straight into ember-input and ember-forward, its MASQUERADE into the base
 * POSTROUTING chain, and finds them by their exact text.
 *
 * The kernel is the truth and the database (table nat_vms) the record of
 * what each owner asked for. Every change runs under locks/nat of the state
 * directory and a host-wide lock. The common case is one iptables-restore
 * transaction that asserts what it relies on (-C of the jumps; -D of exactly
 * the recorded rules) and so fails as a whole when the kernel is not as
 * recorded; then, and for a legacy installation always, the change reads
 * every rule (iptables-save), computes the difference and applies it as one
 * transaction. */
#ifndef EMBER_NAT_H
#define EMBER_NAT_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "install.h"
#include "tables.h"
#include "name.h"
#include "output.h"

#define NAT_IFNAME_LEN 16 /* IFNAMSIZ */
#define NAT_ALLOW_MAX 64
#define NAT_RULES_MAX (NAT_ALLOW_MAX + 6)
#define NAT_BUCKETS 32
#define NAT_SPEC_LEN 320
/* Where the host-wide lock lives; $EMBER_RUN_DIR overrides it. */
#define NAT_RUN_DIR "/run/ember"

enum nat_chain { NAT_INPUT, NAT_FORWARD, NAT_POSTROUTING };

/* The chain's name; "" when a legacy installation has no such chain. */
void nat_chain_name(const struct install *in, enum nat_chain which, char *buf, size_t n);
/* "ember:<id>" for jumps, or "ember:<id>:<owner>" when OWNER is given; "" for legacy. */
void nat_comment(const struct install *in, const char *owner, char *buf, size_t n);
void nat_names(const struct install *in, struct out *o);
/* OWNER's bucket, 0 .. NAT_BUCKETS-1, and its chain for hook WHICH
 * ("ember-<id>-forward-1f"; legacy: the chain its rules go to). */
unsigned nat_bucket(const char *owner);
void nat_bucket_chain(const struct install *in, enum nat_chain which, const char *owner, char *buf,
		      size_t n);

/* What `up` asks for. */
struct nat_params {
	uint32_t guest;
	char tap[NAT_IFNAME_LEN];
	char uplink[NAT_IFNAME_LEN]; /* "" until resolved: the default route's */
	struct cidr allow[NAT_ALLOW_MAX]; /* sorted, no duplicates; none: any */
	int n_allow;
};

/* A unicast IPv4 address for a guest (not 0/8, 127/8, 224/4, 240/4); else exit 100. */
int nat_parse_guest(const char *s, uint32_t *ip);
/* An interface name: 1-15 of [A-Za-z0-9_.-] (no '+': iptables reads it as a
 * wildcard); else exit 100 naming WHAT. */
int nat_parse_ifname(const char *what, const char *s, char buf[NAT_IFNAME_LEN]);
/* Add --allow S (a network address a.b.c.d/p) to P, keeping it sorted and
 * without duplicates; else exit 100. */
int nat_add_allow(struct nat_params *p, const char *s);
/* 1 when A and B ask for the same thing. */
int nat_params_equal(const struct nat_params *a, const struct nat_params *b);

/* One rule: its table, chain and the text after "-A CHAIN " exactly as
 * iptables-save prints it. */
struct nat_rule {
	const char *table; /* "filter" or "nat" */
	char chain[32];
	char spec[NAT_SPEC_LEN];
};

/* OWNER's rules for P, in order; returns how many (at most NAT_RULES_MAX). */
int nat_vm_rules(const struct install *in, const char *owner, const struct nat_params *p,
		 struct nat_rule *r);
/* The installation's jumps into its chains: INPUT, FORWARD, nat POSTROUTING
 * (not legacy) and, with DOCKER, DOCKER-USER. Returns how many (at most 4). */
int nat_jumps(const struct install *in, int docker, struct nat_rule *r);
/* The jumps from the installation's chains into OWNER's buckets (3; none for
 * a legacy installation). */
int nat_bucket_jumps(const struct install *in, const char *owner, struct nat_rule *r);

/* One VM's NAT as it is printed. */
struct nat_vm {
	char owner[NAME_MAX_LEN + 1];
	struct nat_params p;
	int recorded;      /* 0: rules found without a record (only owner is set) */
	int applied;       /* 0: recorded, its rules not confirmed applied yet */
	const char *state; /* "up", "partial", "missing" (per the kernel), "down" (removed) */
};

struct nat_list {
	struct nat_vm *v;
	int n;
};

/* Set OWNER's NAT up as P asks, or confirm it (CREATED: 1 when anything had
 * to change in the kernel or the record). Recorded with other parameters:
 * 102; TAP or guest address of another owner: 102; TAP or uplink missing,
 * no default route: 100. V gets the resulting record. */
int nat_up(struct install *in, const char *owner, const struct nat_params *p, struct nat_vm *v,
	   int *created);
/* Remove OWNER's rules and record. A legacy installation finds the rules by
 * their text, from the record or, when there is none, from UNRECORDED (may
 * be NULL). Absent: 0 with *REMOVED = 0. */
int nat_down(struct install *in, const char *owner, const struct nat_params *unrecorded,
	     struct nat_vm *v, int *removed);
/* nat_down of the N OWNERS: the recorded rules of all in one transaction,
 * the records in one; an owner the kernel does not hold as recorded, one by
 * one as nat_down does (ember-reconcile's batch). */
int nat_down_owners(struct install *in, const char *const *owners, int n);
/* 1 and V filled when OWNER is recorded, 0 when not. */
int nat_show(struct install *in, const char *owner, struct nat_vm *v);
/* Every recorded VM, by owner, with its state. */
int nat_list(struct install *in, struct nat_list *l);
void nat_list_release(struct nat_list *l);

/* One difference between what should exist and what the kernel has. */
typedef void (*nat_report_fn)(void *ctx, const char *owner, const char *kind, const char *detail);
/* Compare; REPORT per difference (kinds: missing-chain, foreign-chain,
 * missing-jump, extra-jump, missing-rule, extra-rule, misordered). Returns
 * how many, -1 on error. */
int nat_check(struct install *in, nat_report_fn report, void *ctx);
/* Remove this installation's rules, jumps, chains and records; L (may be
 * NULL) gets the records removed. A chain of our name that holds a rule not
 * ours: 102, nothing changed. */
int nat_flush(struct install *in, struct nat_list *l);
/* Remove this installation's rules and chains (ember-nat flush). */
int nat_teardown(struct install *in);

/* Its tables, for the one opener and the owners reconcile lists. */
extern const struct tables nat_tables;

#endif
