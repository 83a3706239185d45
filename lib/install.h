/* install: the installation. It owns the state directory, config.json and
 * the database handle, and exposes one generic thing to the subsystems: its
 * namespace (the instance id, or none for a legacy installation). Each
 * subsystem derives its own names from that namespace. */
#ifndef EMBER_INSTALL_H
#define EMBER_INSTALL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "db.h"

#define INSTALL_DEFAULT_DIR "/var/lib/ember"
#define INSTALL_LEGACY_SUBNET "10.100.0.0/16"

struct install {
	char dir[PATH_MAX];   /* canonical absolute path of the state directory */
	char id[5];           /* 4 lowercase hex characters; "" when legacy */
	struct cidr subnet;   /* the default subnet for allocations */
	struct db db;
	int db_ready;
	int no_create; /* a reading verb: subsystems never create their tables */
	/* set by install_init when the derived subnet had to move */
	char moved_from[CIDR_LEN];
	char moved_why[128];
};

struct install_opts {
	const char *id;      /* --instance-id, or NULL */
	const char *subnet;  /* --ip-subnet, or NULL */
	int legacy;          /* --legacy: no instance id, legacy names */
};

/* The instance id, or NULL for a legacy installation. */
const char *install_namespace(const struct install *in);
/* The low 16 bits of FNV-1a-32 over PATH, as 4 lowercase hex characters. */
void install_derive_id(const char *path, char id[5]);
/* 10.S.0.0/16 with S = (FNV-1a-32 over the 4 id characters >> 8) & 0xff. */
void install_default_subnet(const char *id, struct cidr *c);
/* Exactly 4 hex characters, lowercased into ID; anything else exit 100. */
int install_parse_id(const char *s, char id[5]);
/* A subnet given by an operator: a network address with prefix 8-30 that
 * the allocator can hand p2p blocks from (ipalloc_valid_subnet). */
int install_parse_subnet(const char *s, struct cidr *c);
/* The one rule for addresses ember hands out or assigns: C must not overlap
 * an address's network or a non-default route of this host (EXACT: C's
 * addresses must not be an address of the host). Else CODE, naming WHAT
 * ("subnet", "address") and the link that has it. 0 free, -1 error. */
int install_host_free(const struct cidr *c, int exact, int code, const char *what);

/* Fill IN's id and subnet from the text of config.json (PATH names it in
 * errors); a corrupt config is exit 101. */
int install_parse_config(struct install *in, const char *path, const char *text);

/* The state directory an applet uses: --state-dir, $EMBER_STATE_DIR, or the default. */
const char *install_dir_default(const char *given);
/* Load an existing installation (exit 100 when there is none, 101 when its
 * config is corrupt). The database is opened on first install_db(). */
int install_load(struct install *in, const char *dir);
/* Create the installation, or confirm that it exists with these settings. */
int install_init(struct install *in, const char *dir, const struct install_opts *o, int *created);
int install_db(struct install *in, struct db **db);
/* The same, creating state.db when it is missing (a directory that holds
 * only a config: teardown still has to look for the host objects). */
int install_db_create(struct install *in, struct db **db);
/* deinit --purge: remove what ember makes in the state directory
 * (config.json, state.db and its -wal/-shm, locks/, vms/, pool/, hosts),
 * then the directory when that left it empty: 1 removed, 0 it holds other
 * files and stays, -1 error. */
int install_purge(const struct install *in);
/* DIR/REL into BUF. */
int install_path(const struct install *in, char *buf, size_t n, const char *rel);
void install_release(struct install *in);

#endif
