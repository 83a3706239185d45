/* reconcile: one pass over every kind of object of the installation, that
 * repairs drift and never makes it worse.
 *
 * Every kind is listed once, before anything is changed (one ip -j, one
 * iptables-save, one dm listing, one query per table, one walk of /proc),
 * and joined on the owner, the VM's name; a listing that fails ends the pass
 * with nothing changed. The plan is then carried out in order, one action
 * at a time, each under the owner's VM lock (locks/vm.<owner>) and after
 * asking again whether it is still due, so that a VM started meanwhile is
 * never torn down and the other applets wait at most one action. Each
 * action goes through the subsystem that owns the object (its teardown of
 * one owner, its release of one owner), so every action is idempotent and a
 * pass killed half-way is finished by the next.
 *
 * Phase 1, VMs: a VM recorded starting or running whose process is not
 * alive has its runtime torn down (TAP, rules, active volume; sockets and
 * handles.json) and is marked stopped with the reason; a live Firecracker
 * whose API socket is this installation's, for a VM recorded stopped,
 * failed or created or not at all, is killed and its sockets removed.
 * Phase 2, the sweep: objects provably this installation's, of owners with
 * no running VM (TAPs, rules, active volumes) or no VM record (addresses,
 * CIDs, vms/<name>/), older than the grace; thin ids left half-way
 * (ember-pool's recovery); the hosts file rewritten from the running VMs. */
#ifndef EMBER_RECONCILE_H
#define EMBER_RECONCILE_H

#include "install.h"

#define RECONCILE_GRACE_DEFAULT 600

enum reconcile_kind {
	RK_VM,          /* a recorded VM whose process is gone: marked stopped */
	RK_FIRECRACKER, /* a live Firecracker no record runs: killed */
	RK_TAP,
	RK_NAT,
	RK_VOLUME,  /* an active VM volume: deactivated */
	RK_THIN,    /* thin ids left creating or deleting: the pool's recovery */
	RK_ADDRESS, /* ember-ipalloc */
	RK_CID,     /* ember-cidalloc */
	RK_VMDIR,   /* vms/<name>/ without a record */
	RK_HOSTS,   /* the hosts file */
	RK_KINDS
};

const char *reconcile_kind_name(int kind);
/* A kind's name: its number, or -1 (error recorded, exit 100). */
int reconcile_parse_kind(const char *s);

struct reconcile_opts {
	int dry_run;
	long long grace;     /* seconds */
	unsigned kinds;      /* 1 << kind of each kind to look at */
};

/* One action of the report, in the order taken. */
struct reconcile_action {
	int kind;
	const char *owner;  /* NULL: no one owner's */
	const char *object; /* the TAP's name, the pid, the path ... */
	const char *action; /* teardown, deactivate, release, mark-stopped, kill, remove, recover, rewrite */
	const char *result; /* ok, failed, skipped (no longer due), planned (dry run) */
	const char *error;  /* failed: why */
};

struct reconcile_summary {
	int count[RK_KINDS]; /* actions per kind */
	int failed;
	int young;  /* objects kept because they are younger than the grace */
	int faulty; /* thin ids quarantined by ember-pool */
	double duration_ms;
};

typedef void (*reconcile_report_fn)(const struct reconcile_action *a, void *ctx);

/* One at a time: locks/reconcile, without waiting. The descriptor, -2 when
 * another pass holds it, or -1. */
int reconcile_lock(struct install *in);

/* One pass. REPORT gets each action as it is taken. 0 when it ran (its
 * failed actions counted in S), -1 when a listing failed and nothing was
 * changed. */
int reconcile_run(struct install *in, const struct reconcile_opts *o, reconcile_report_fn report, void *ctx,
		  struct reconcile_summary *s);

#endif
