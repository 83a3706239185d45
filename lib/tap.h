/* tap: TAP devices of this installation. Names: "em<id>-" + 7 characters
 * derived from the owner (legacy "em-" + 8), at most 15 bytes; the link's
 * ifalias "ember:<id>:<owner>" (legacy "ember::<owner>") proves whose it is.
 * A TAP counts as this installation's only when its name has the prefix AND
 * its ifalias is exactly that token; nothing else is ever modified.
 *
 * The kernel is the truth and the database the record: a create makes the
 * link first (one ip -batch) and records it after, so a crash in between
 * leaves a link whose ifalias still proves it ours; the next create adopts
 * it, delete and teardown remove it, list shows it. A record whose link is
 * gone (after a reboot) is shown as "missing" and re-created by create. */
#ifndef EMBER_TAP_H
#define EMBER_TAP_H

#include <stddef.h>

#include "cidr.h"
#include "install.h"
#include "tables.h"
#include "name.h"
#include "output.h"

#define TAP_NAME_LEN 16	  /* IFNAMSIZ */
#define TAP_ALIAS_LEN 256 /* IFALIASZ */
#define TAP_ID_LEN 33	  /* a user or group name, or a number */
#define TAP_MTU_MIN 68
#define TAP_MTU_MAX 65535
#define TAP_MTU_DEFAULT 1500
#define TAP_CANDIDATES 64 /* names tried per owner before giving up */

/* "em<id>-", or "em-" for a legacy installation. */
void tap_prefix(const struct install *in, char buf[TAP_NAME_LEN]);
/* The ifalias token before ":<owner>": "ember:<id>" (legacy "ember:"). */
void tap_alias_prefix(const struct install *in, char *buf, size_t n);
void tap_names(const struct install *in, struct out *o);

/* The K-th candidate name for OWNER: K = 0 hashes the owner, K > 0 hashes
 * "<owner>#<K>", so a collision moves to the next name deterministically. */
void tap_name_candidate(const struct install *in, const char *owner, int k, char buf[TAP_NAME_LEN]);
/* "ember:<id>:<owner>" into BUF. */
void tap_alias(const struct install *in, const char *owner, char *buf, size_t n);
/* Is a link called NAME with ifalias ALIAS this installation's? 1 (OWNER, if
 * not NULL, gets the owner) or 0. Exact: prefix, then the whole alias. */
int tap_owned(const struct install *in, const char *name, const char *alias,
	      char owner[NAME_MAX_LEN + 1]);
/* An ifalias that is any installation's token "ember:<id>:<owner>" or legacy
 * "ember::<owner>": 1 with ID ("" legacy) and OWNER filled, else 0. */
int tap_alias_parse(const char *alias, char id[5], char owner[NAME_MAX_LEN + 1]);

/* What create asks for, validated (exit 100 on anything bad). */
struct tap_params {
	struct cidr address; /* the host's address on the link and its prefix */
	int mtu;
	long long uid, gid; /* -1: none */
};

/* ADDRESS "a.b.c.d/p" (a unicast host address, prefix 8-32, not the network
 * or broadcast address of its block), MTU (NULL: 1500) 68-65535, USER and
 * GROUP (NULL: none) names that exist or numbers. */
int tap_parse_params(const char *address, const char *mtu, const char *user, const char *group,
		     struct tap_params *p);

/* One TAP as the applet prints it. */
struct tap {
	char owner[NAME_MAX_LEN + 1]; /* "" for a foreign TAP */
	char name[TAP_NAME_LEN];
	char address[CIDR_LEN]; /* "" none */
	int mtu;		/* 0 unknown */
	char user[TAP_ID_LEN];	/* "" none */
	char group[TAP_ID_LEN];
	const char *state; /* "up", "down", or "missing" (recorded, not in the kernel) */
	int mine;	   /* proven this installation's */
	char alias[TAP_ALIAS_LEN];
};

struct tap_list {
	struct tap *v;
	int n;
};

/* Create OWNER's TAP, or confirm it exists with these parameters (CREATED
 * says which); other parameters: 102. T gets the resulting record. */
int tap_create(struct install *in, const char *owner, const struct tap_params *p, struct tap *t,
	       int *created);
/* Remove OWNER's TAP (and record). Absent: 0 with *DELETED = 0. */
int tap_delete(struct install *in, const char *owner, struct tap *t, int *deleted);
/* 1 and T filled when OWNER has a TAP (in the kernel or the record), 0 when not. */
int tap_show(struct install *in, const char *owner, struct tap *t);
/* This installation's TAPs; with ALL also every other TAP and every link
 * carrying an ember ifalias, marked mine = 0. */
int tap_list(struct install *in, int all, struct tap_list *l);
void tap_list_release(struct tap_list *l);
/* Remove the TAPs (and records) of the N OWNERS, in one ip -batch and one
 * transaction (ember-reconcile's batch of tap_delete). */
int tap_delete_owners(struct install *in, const char *const *owners, int n);
/* Remove every TAP that provably belongs to this installation. */
int tap_teardown(struct install *in);

/* Its tables, for the one opener and the owners reconcile lists. */
extern const struct tables tap_tables;

#endif
