#include "tap.h"

#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "db.h"
#include "error.h"
#include "iproute.h"
#include "lock.h"

void tap_prefix(const struct install *in, char buf[TAP_NAME_LEN])
{
	const char *ns = install_namespace(in);

	snprintf(buf, TAP_NAME_LEN, "em%s-", ns ? ns : "");
}

void tap_alias_prefix(const struct install *in, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	snprintf(buf, n, "ember:%s", ns ? ns : "");
}

void tap_names(const struct install *in, struct out *o)
{
	char prefix[TAP_NAME_LEN], alias[64];

	tap_prefix(in, prefix);
	tap_alias_prefix(in, alias, sizeof(alias));
	out_str(o, "tap_prefix", prefix);
	out_str(o, "tap_alias", alias);
}

/* ---- names and ownership ---- */

void tap_name_candidate(const struct install *in, const char *owner, int k, char buf[TAP_NAME_LEN])
{
	char prefix[TAP_NAME_LEN], key[NAME_MAX_LEN + 16];
	uint32_t h;

	tap_prefix(in, prefix);
	if (k == 0)
		snprintf(key, sizeof(key), "%s", owner);
	else
		snprintf(key, sizeof(key), "%s#%d", owner, k);
	h = fnv1a32(key, strlen(key));
	/* "em<id>-" (7 bytes) + 7 hex = 14; legacy "em-" (3) + 8 hex = 11: both fit IFNAMSIZ */
	if (install_namespace(in))
		snprintf(buf, TAP_NAME_LEN, "%.7s%07x", prefix, (unsigned)(h & 0xfffffffu));
	else
		snprintf(buf, TAP_NAME_LEN, "%.7s%08x", prefix, (unsigned)h);
}

void tap_alias(const struct install *in, const char *owner, char *buf, size_t n)
{
	char prefix[64];

	tap_alias_prefix(in, prefix, sizeof(prefix));
	snprintf(buf, n, "%s:%s", prefix, owner);
}

int tap_owned(const struct install *in, const char *name, const char *alias,
	      char owner[NAME_MAX_LEN + 1])
{
	char prefix[64];
	size_t n;

	tap_prefix(in, prefix);
	if (strncmp(name, prefix, strlen(prefix)) != 0)
		return 0;
	tap_alias_prefix(in, prefix, sizeof(prefix));
	n = strlen(prefix);
	/* the whole alias is the token: "<prefix>:<owner>" with a valid owner and nothing more */
	if (strncmp(alias, prefix, n) != 0 || alias[n] != ':' || !name_valid(alias + n + 1))
		return 0;
	if (owner)
		snprintf(owner, NAME_MAX_LEN + 1, "%s", alias + n + 1);
	return 1;
}

int tap_alias_parse(const char *alias, char id[5], char owner[NAME_MAX_LEN + 1])
{
	const char *p;
	int i;

	if (strncmp(alias, "ember:", 6) != 0)
		return 0;
	p = alias + 6;
	for (i = 0; i < 4 && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')); i++)
		;
	if ((i != 0 && i != 4) || p[i] != ':' || !name_valid(p + i + 1))
		return 0;
	memcpy(id, p, (size_t)i);
	id[i] = '\0';
	snprintf(owner, NAME_MAX_LEN + 1, "%s", p + i + 1);
	return 1;
}

/* ---- parameters ---- */

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* A user or group: an existing name, or a number (0 .. 2^32-2). */
static int parse_id(const char *what, const char *s, long long *id)
{
	struct passwd *pw;
	struct group *gr;

	if (all_digits(s)) {
		if (strlen(s) > 10 || strtoll(s, NULL, 10) > 4294967294LL)
			return error_code(EXIT_USAGE, "invalid %s '%s': out of range", what, s);
		*id = strtoll(s, NULL, 10);
		return 0;
	}
	if (!*s || strlen(s) >= TAP_ID_LEN)
		return error_code(EXIT_USAGE, "invalid %s '%s'", what, s);
	if (strcmp(what, "user") == 0) {
		pw = getpwnam(s);
		if (pw) {
			*id = pw->pw_uid;
			return 0;
		}
	} else {
		gr = getgrnam(s);
		if (gr) {
			*id = gr->gr_gid;
			return 0;
		}
	}
	error_code(EXIT_USAGE, "unknown %s '%s'", what, s);
	error_hint("give a %s that exists on this host, or a number", what);
	return -1;
}

int tap_parse_params(const char *address, const char *mtu, const char *user, const char *group,
		     struct tap_params *p)
{
	uint32_t a;

	memset(p, 0, sizeof(*p));
	p->uid = p->gid = -1;
	if (!address)
		return error_code(EXIT_USAGE, "--address HOST_IP/PREFIX is required");
	if (cidr_parse(address, &p->address) < 0) {
		error_code(EXIT_USAGE, "invalid address '%s'", address);
		error_hint(
		    "give the host's address on the TAP and its prefix, such as 10.0.0.1/30");
		return -1;
	}
	a = p->address.addr;
	if (p->address.prefix < 8)
		return error_code(EXIT_USAGE, "invalid address '%s': the prefix must be 8 to 32",
				  address);
	if ((a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 14)
		return error_code(
		    EXIT_USAGE,
		    "invalid address '%s': not a unicast host address (zero, loopback, "
		    "multicast or reserved)",
		    address);
	if (p->address.prefix <= 30 &&
	    (a == cidr_network(&p->address) || a == cidr_broadcast(&p->address)))
		return error_code(
		    EXIT_USAGE,
		    "invalid address '%s': the network or broadcast address of its block", address);
	p->mtu = TAP_MTU_DEFAULT;
	if (mtu) {
		if (!all_digits(mtu) || strlen(mtu) > 5 || atoi(mtu) < TAP_MTU_MIN ||
		    atoi(mtu) > TAP_MTU_MAX)
			return error_code(EXIT_USAGE, "invalid MTU '%s': a number from %d to %d",
					  mtu, TAP_MTU_MIN, TAP_MTU_MAX);
		p->mtu = atoi(mtu);
	}
	if (user && parse_id("user", user, &p->uid) < 0)
		return -1;
	if (group && parse_id("group", group, &p->gid) < 0)
		return -1;
	return 0;
}

/* The id as ip prints a tun owner: the name when there is one, else the number. */
static void format_id(int group, long long id, char buf[TAP_ID_LEN])
{
	struct passwd *pw;
	struct group *gr;

	buf[0] = '\0';
	if (id < 0)
		return;
	if (!group && (pw = getpwuid((uid_t)id)))
		snprintf(buf, TAP_ID_LEN, "%s", pw->pw_name);
	else if (group && (gr = getgrgid((gid_t)id)))
		snprintf(buf, TAP_ID_LEN, "%s", gr->gr_name);
	else
		snprintf(buf, TAP_ID_LEN, "%lld", id);
}

/* The number behind what ip printed as a tun owner; -1 for none. */
static long long id_of(int group, const char *s)
{
	struct passwd *pw;
	struct group *gr;

	if (!*s)
		return -1;
	if (all_digits(s))
		return strtoll(s, NULL, 10);
	if (!group && (pw = getpwnam(s)))
		return pw->pw_uid;
	if (group && (gr = getgrnam(s)))
		return gr->gr_gid;
	return -2; /* a name we cannot resolve: matches nothing asked for */
}

/* ---- the record ---- */

static const char *const tap_schema[] = {
    /* uid/gid NULL: none; created_at in unix seconds, for reconcile's grace period */
    "CREATE TABLE tap (owner TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " address TEXT NOT NULL, mtu INTEGER NOT NULL, uid INTEGER, gid INTEGER,"
    " created_at INTEGER NOT NULL) STRICT",
    /* the creation time has one name in every table */
    "ALTER TABLE tap RENAME COLUMN created_at TO created",
};

const struct tables tap_tables = {"tap", tap_schema, ARRAY_SIZE(tap_schema), "tap",
				  "SELECT owner, created FROM tap ORDER BY owner"};

struct tap_row {
	char name[TAP_NAME_LEN];
	char address[CIDR_LEN];
	int mtu;
	long long uid, gid;
};

/* The database; 0 when a reading verb finds no tables (nothing recorded). */
static int tap_db(struct install *in, struct db **db)
{
	return tables_open(in, &tap_tables, 1, db);
}

static void copy_text(sqlite3_stmt *st, int col, char *buf, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(buf, n, "%s", t ? (const char *)t : "");
}

static void read_row(sqlite3_stmt *st, int col, struct tap_row *r)
{
	copy_text(st, col, r->name, sizeof(r->name));
	copy_text(st, col + 1, r->address, sizeof(r->address));
	r->mtu = sqlite3_column_int(st, col + 2);
	r->uid = sqlite3_column_type(st, col + 3) == SQLITE_NULL
		     ? -1
		     : sqlite3_column_int64(st, col + 3);
	r->gid = sqlite3_column_type(st, col + 4) == SQLITE_NULL
		     ? -1
		     : sqlite3_column_int64(st, col + 4);
}

/* OWNER's record: 1 found, 0 not, -1 error. */
static int row_get(struct db *db, const char *owner, struct tap_row *r)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, &st, "SELECT name, address, mtu, uid, gid FROM tap WHERE owner = ?") < 0)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_row(st, 0, r);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(db, "unable to read the TAP records");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Does another owner's record hold NAME? 1 yes, 0 no, -1 error. */
static int name_recorded(struct db *db, const char *name, const char *owner)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, &st, "SELECT 1 FROM tap WHERE name = ? AND owner <> ?") < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = 1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = db_error(db, "unable to read the TAP records");
	sqlite3_finalize(st);
	return rc;
}

static int row_put(struct db *db, const char *owner, const char *name, const struct tap_params *p)
{
	sqlite3_stmt *st = NULL;
	char addr[CIDR_LEN];

	cidr_format(&p->address, addr);
	if (db_prepare(db, &st,
		       "INSERT OR REPLACE INTO tap (owner, name, address, mtu, uid, gid, created)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?)") == 0) {
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, addr, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, p->mtu);
		if (p->uid >= 0)
			sqlite3_bind_int64(st, 5, p->uid);
		if (p->gid >= 0)
			sqlite3_bind_int64(st, 6, p->gid);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	}
	return db_run(db, st, "unable to record the TAP");
}

/* Remove OWNER's record, or every record when OWNER is NULL. */
static int row_delete(struct db *db, const char *owner)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(db, &st, owner ? "DELETE FROM tap WHERE owner = ?" : "DELETE FROM tap") < 0)
		return -1;
	if (owner)
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		db_error(db, "unable to remove the TAP record");
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

/* ROW of OWNER as it was before this command (R 0: none), in a transaction
 * of its own: after a create that failed, what it recorded first goes. */
static void row_restore(struct db *db, const char *owner, int r, const struct tap_row *row)
{
	struct error_saved saved;
	struct tap_params p;
	int rc;

	error_save(&saved);
	memset(&p, 0, sizeof(p));
	if (r == 1) {
		cidr_parse(row->address, &p.address);
		p.mtu = row->mtu;
		p.uid = row->uid;
		p.gid = row->gid;
	}
	rc = db_begin(db);
	if (rc == 0)
		rc = r == 1 ? row_put(db, owner, row->name, &p) : row_delete(db, owner);
	if (rc == 0)
		db_commit(db);
	db_rollback(db);
	error_restore(&saved);
}

/* ---- records for printing ---- */

static void tap_from_link(struct tap *t, const struct iproute_link *l, const char *owner, int mine)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->owner, sizeof(t->owner), "%s", owner ? owner : "");
	snprintf(t->name, sizeof(t->name), "%s", l->name);
	snprintf(t->address, sizeof(t->address), "%s", l->addr);
	t->mtu = l->mtu;
	snprintf(t->user, sizeof(t->user), "%s", l->user);
	snprintf(t->group, sizeof(t->group), "%s", l->group);
	t->state = l->up ? "up" : "down";
	t->mine = mine;
	snprintf(t->alias, sizeof(t->alias), "%s", l->alias);
}

static void tap_from_row(struct tap *t, const struct install *in, const char *owner,
			 const struct tap_row *r)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->owner, sizeof(t->owner), "%s", owner);
	snprintf(t->name, sizeof(t->name), "%s", r->name);
	snprintf(t->address, sizeof(t->address), "%s", r->address);
	t->mtu = r->mtu;
	format_id(0, r->uid, t->user);
	format_id(1, r->gid, t->group);
	t->state = "missing";
	t->mine = 1;
	tap_alias(in, owner, t->alias, sizeof(t->alias));
}

/* Read link NAME: 1 and L filled when it exists, 0 when not, -1 on error. */
static int read_link(const char *name, struct iproute_link *l)
{
	struct iproute_links links;

	if (!iproute_link_exists(name))
		return 0; /* no ip run for what is not there */
	if (iproute_links_read(name, &links) < 0)
		return -1;
	if (links.n == 0) {
		iproute_links_release(&links);
		return 0;
	}
	*l = links.v[0];
	iproute_links_release(&links);
	return 1;
}

/* Every link, when any could be ours (or ALL is asked for); else none, and
 * no ip is run: a link can only be ours if its name has our prefix. */
static int read_links(const struct install *in, int all, struct iproute_links *links)
{
	char prefix[TAP_NAME_LEN];
	int r;

	links->v = NULL;
	links->n = 0;
	if (!all) {
		tap_prefix(in, prefix);
		r = iproute_any_link_prefixed(prefix);
		if (r <= 0)
			return r;
	}
	return iproute_links_read(NULL, links);
}

/* Is L this installation's TAP of OWNER? A TAP (not a veth or anything else
 * that merely carries the name and the alias), with the prefix and the
 * exact alias token. */
static int link_owned_by(const struct install *in, const struct iproute_link *l, const char *owner)
{
	char who[NAME_MAX_LEN + 1];

	return l->tap && tap_owned(in, l->name, l->alias, who) && strcmp(who, owner) == 0;
}

/* A create killed after its first line ("tuntap add") left a TAP without
 * an alias: it is ours when the record made before it names it. */
static int link_half_made(const struct iproute_link *l, const char *recorded)
{
	return recorded && l->tap && !l->alias[0] && strcmp(l->name, recorded) == 0;
}

/* OWNER's link in LINKS: a TAP that is provably OWNER's (the one named
 * RECORDED first), or the half-made TAP RECORDED names (may be NULL).
 * NULL when there is none. */
static const struct iproute_link *own_link(const struct install *in,
					   const struct iproute_links *links, const char *owner,
					   const char *recorded)
{
	const struct iproute_link *found = NULL;
	int i;

	for (i = 0; i < links->n; i++) {
		const struct iproute_link *l = &links->v[i];

		if (link_half_made(l, recorded))
			return l;
		if (link_owned_by(in, l, owner) &&
		    (!found || (recorded && strcmp(l->name, recorded) == 0)))
			found = l;
	}
	return found;
}

/* 1 when link NAME exists and is OWNER's (its alias proves it, or it is the
 * half-made TAP of the name this create recorded), 0 when not, -1 on error. */
static int link_exists_owned(const struct install *in, const char *name, const char *owner)
{
	struct iproute_link l;
	int r = read_link(name, &l);

	return r <= 0 ? r : link_owned_by(in, &l, owner) || link_half_made(&l, name);
}

static int take_lock(struct install *in)
{
	char path[PATH_MAX];

	/* one lock per installation serializes every change to its TAPs, so two
	 * creates of one owner never both pick a name and make a link */
	if (install_path(in, path, sizeof(path), "locks/tap") < 0)
		return -1;
	return lock_take(path, LOCK_EXCLUSIVE);
}

/* ---- changes ---- */

static int delete_links(const char *const *names, int n, int force)
{
	struct iproute_failure f;
	char *script;
	size_t len = 0, cap = (size_t)n * (TAP_NAME_LEN + 16) + 1;
	int i, rc;

	if (n == 0)
		return 0;
	script = malloc(cap);
	if (!script)
		return error_errno("unable to delete TAPs");
	script[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(script + len, cap - len, "link del dev %s\n", names[i]);
	rc = iproute_batch(script, force, &f);
	free(script);
	return rc;
}

/* After a failed create: remove NAME (which this create made) and keep the
 * first error as the one reported. */
static void undo_create(const char *name)
{
	char msg[512], hint[256];
	int code = error_exit_code();
	const char *h = error_hint_text();

	snprintf(msg, sizeof(msg), "%s", error_message());
	snprintf(hint, sizeof(hint), "%s", h ? h : "");
	if (delete_links(&name, 1, 0) < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", error_message());
		error_code(code, "%s (and '%s' could not be removed: %s)", msg, name, why);
		error_hint("remove it with 'ip link del dev %s'", name);
		return;
	}
	error_code(code, "%s", msg);
	if (hint[0])
		error_hint("%s", hint);
}

/* Make link NAME for OWNER: one ip -batch. 0 made; 1 NAME was taken meanwhile
 * (try the next name); -1 failed, with nothing left behind. */
static int make_link(const struct install *in, const char *owner, const char *name,
		     const struct tap_params *p)
{
	char script[1024], alias[TAP_ALIAS_LEN], addr[CIDR_LEN], ids[64] = "";
	struct iproute_failure f;
	int ipv6 = iproute_has_ipv6(), len;

	tap_alias(in, owner, alias, sizeof(alias));
	cidr_format(&p->address, addr);
	if (p->uid >= 0)
		snprintf(ids, sizeof(ids), " user %lld", p->uid);
	if (p->gid >= 0)
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), " group %lld", p->gid);
	/* IPv6 off before the link comes up: with ip alone no sysctl can be set,
	 * so the batch sets addrgenmode none (the kernel then never configures
	 * an IPv6 address on it, not even link-local), and disable_ipv6 is
	 * written right after the batch. In between nothing IPv6 can happen: the
	 * link has no address, and no carrier until a VMM opens it. */
	len = snprintf(script, sizeof(script),
		       "tuntap add dev %s mode tap%s\n"
		       "link set dev %s alias %s\n"
		       "%s%s%s"
		       "address add %s dev %s\n"
		       "link set dev %s mtu %d up\n",
		       name, ids, name, alias, ipv6 ? "link set dev " : "", ipv6 ? name : "",
		       ipv6 ? " addrgenmode none\n" : "", addr, name, name, p->mtu);
	if (len < 0 || (size_t)len >= sizeof(script))
		return error("unable to build the ip batch for '%s'", name);
	if (iproute_batch(script, 0, &f) < 0) {
		if (f.line < 0) {
			/* ip could not run, or ran out of time part-way: remove what a
			 * killed batch may have made, when its ifalias proves it ours */
			if (link_exists_owned(in, name, owner) == 1)
				undo_create(name);
			return -1;
		}
		if (f.line == 1) {
			/* nothing was made; a name taken since we looked is a collision */
			if (iproute_link_exists(name))
				return 1;
			error_code(f.refused ? EXIT_USAGE : EXIT_TEMP,
				   "unable to create TAP '%s' for '%s': %s", name, owner,
				   f.message);
			return -1;
		}
		/* the kernel refusing a parameter (netlink "Error: ...") will refuse it
		 * again: bad input; anything else may pass on a retry */
		error_code(f.refused ? EXIT_USAGE : EXIT_TEMP,
			   "unable to create TAP '%s' for '%s': %s", name, owner, f.message);
		/* from line 2 on, line 1 made the link; without a line number, only a
		 * link whose ifalias proves it this owner's is ours to remove */
		if (f.line > 1 || (f.line == 0 && link_exists_owned(in, name, owner) == 1))
			undo_create(name);
		return -1;
	}
	if (ipv6 && iproute_disable_ipv6(name) < 0) {
		undo_create(name);
		return -1;
	}
	return 0;
}

static int same_params(const struct tap_row *r, const struct tap_params *p)
{
	char addr[CIDR_LEN];

	cidr_format(&p->address, addr);
	return strcmp(r->address, addr) == 0 && r->mtu == p->mtu && r->uid == p->uid &&
	       r->gid == p->gid;
}

static int refuse_other(const char *owner, const char *name, const char *address, int mtu,
			const char *user, const char *group, const char *state)
{
	error_code(
	    EXIT_REFUSED,
	    "TAP '%s' of '%s' exists with other parameters: address %s mtu %d user %s group %s%s",
	    name, owner, *address ? address : "-", mtu, *user ? user : "-", *group ? group : "-",
	    state);
	error_hint("delete it first with 'ember-tap delete %s'", owner);
	return -1;
}

/* Bring OWNER's link L to what P asks for, named NAME: one ip -batch of
 * only the lines needed (the name back when it was renamed within the
 * prefix, the alias a killed create did not set, IPv6 off, exactly P's
 * address, the MTU, up), then IPv6 off by sysctl. *CHANGED: 1 when
 * anything had to change. */
static int converge(const struct install *in, const char *owner, const struct iproute_link *l,
		    const char *name, const struct tap_params *p, int *changed)
{
	char script[1024], alias[TAP_ALIAS_LEN], addr[CIDR_LEN];
	struct iproute_failure f;
	int ipv6 = iproute_has_ipv6(), len = 0, stray;

	tap_alias(in, owner, alias, sizeof(alias));
	cidr_format(&p->address, addr);
	stray = l->naddr > 1 || (l->naddr == 1 && strcmp(l->addr, addr) != 0) || l->ninet6 > 0;
#define LINE(...) len += snprintf(script + len, sizeof(script) - (size_t)len, __VA_ARGS__)
	if (strcmp(l->name, name) != 0) {
		if (l->up) /* a link is renamed only when down */
			LINE("link set dev %s down\n", l->name);
		LINE("link set dev %s name %s\n", l->name, name);
	}
	if (strcmp(l->alias, alias) != 0)
		LINE("link set dev %s alias %s\n", name, alias);
	if (ipv6 && (stray || strcmp(l->name, name) != 0 || strcmp(l->alias, alias) != 0))
		LINE("link set dev %s addrgenmode none\n", name);
	if (stray)
		LINE("address flush dev %s\n", name);
	if (stray || l->naddr == 0)
		LINE("address add %s dev %s\n", addr, name);
	if (l->mtu != p->mtu || !l->up || strcmp(l->name, name) != 0)
		LINE("link set dev %s mtu %d up\n", name, p->mtu);
#undef LINE
	if (len >= (int)sizeof(script))
		return error("unable to build the ip batch for '%s'", name);
	*changed = len > 0;
	if (len > 0 && iproute_batch(script, 0, &f) < 0) {
		error_code(f.refused ? EXIT_USAGE : EXIT_TEMP,
			   "unable to repair TAP '%s' of '%s': %s", name, owner, f.message);
		return -1;
	}
	if (ipv6 && iproute_disable_ipv6(name) < 0)
		return -1;
	return 0;
}

/* Adopt OWNER's link L (recorded as ROW when R is 1): refused (102) when it
 * is OWNER's with other parameters that cannot be made to hold (its user
 * or group; when it is unrecorded, an address other than P's: then it is
 * not the TAP asked for); else recorded and converged, and T gets what
 * the kernel then has. */
static int adopt(struct install *in, struct db *db, const char *owner, const struct iproute_link *l,
		 int r, const struct tap_row *row, const struct tap_params *p, struct tap *t,
		 int *created)
{
	char addr[CIDR_LEN], name[TAP_NAME_LEN];
	struct iproute_link now;
	int changed = 0;

	cidr_format(&p->address, addr);
	if (id_of(0, l->user) != p->uid || id_of(1, l->group) != p->gid ||
	    (r != 1 && l->naddr > 0 && (l->naddr > 1 || strcmp(l->addr, addr) != 0)))
		return refuse_other(owner, l->name, l->addr, l->mtu, l->user, l->group,
				    l->up ? (l->ninet6 ? " (with IPv6)" : "") : " (down)");
	/* an address to add is one no host link has */
	if ((l->naddr == 0 || (l->naddr == 1 && strcmp(l->addr, addr) != 0)) &&
	    install_host_free(&p->address, 0, EXIT_REFUSED, "address") < 0)
		return -1;
	/* the recorded name, unless another link holds it now */
	snprintf(name, sizeof(name), "%s",
		 r == 1 && !iproute_link_exists(row->name) ? row->name : l->name);
	/* the database's write lock before the kernel changes */
	if (db_begin(db) < 0)
		return -1;
	if (row_put(db, owner, name, p) < 0 || converge(in, owner, l, name, p, &changed) < 0 ||
	    db_commit(db) < 0) {
		db_rollback(db);
		return -1;
	}
	*created = changed || r != 1;
	if (read_link(name, &now) != 1)
		return error_code(EXIT_TEMP, "TAP '%s' of '%s' vanished while it was repaired",
				  name, owner);
	tap_from_link(t, &now, owner, 1);
	return 0;
}

int tap_create(struct install *in, const char *owner, const struct tap_params *p, struct tap *t,
	       int *created)
{
	char name[TAP_NAME_LEN], user[TAP_ID_LEN], group[TAP_ID_LEN];
	struct iproute_links links = {NULL, 0};
	const struct iproute_link *cur;
	struct tap_row row;
	struct db *db;
	int lock, rc = -1, k, r, had;

	*created = 0;
	lock = take_lock(in);
	if (lock < 0)
		return -1;
	if (tap_db(in, &db) < 0)
		goto out;
	had = r = row_get(db, owner, &row);
	if (r < 0)
		goto out;
	/* OWNER's link wherever it is: under the recorded name, renamed within
	 * the prefix, half-made by a create that was killed, or made by one that
	 * did not live to record it */
	if (read_links(in, 0, &links) < 0)
		goto out;
	cur = own_link(in, &links, owner, r == 1 ? row.name : NULL);
	if (cur && r == 1 && !same_params(&row, p)) {
		format_id(0, row.uid, user);
		format_id(1, row.gid, group);
		refuse_other(owner, row.name, row.address, row.mtu, user, group, "");
		goto out;
	}
	if (cur) {
		rc = adopt(in, db, owner, cur, r, &row, p, t, created);
		goto out;
	}
	/* no link of OWNER's (a reboot, or never made): make it. The rule for
	 * every address ember assigns: none a host link has */
	if (install_host_free(&p->address, 0, EXIT_REFUSED, "address") < 0)
		goto out;
	for (k = 0; k < TAP_CANDIDATES; k++) {
		tap_name_candidate(in, owner, k, name);
		r = name_recorded(db, name, owner);
		if (r < 0)
			goto out;
		if (r == 1 || iproute_link_exists(name))
			continue; /* another owner's, or a collision: someone else's link */
		/* recorded first, so that a create killed after its first line
		 * leaves a TAP the record proves ours; and the database's write
		 * lock is proven before the kernel changes */
		if (db_begin(db) < 0)
			goto out;
		if (row_put(db, owner, name, p) < 0 || db_commit(db) < 0) {
			db_rollback(db);
			goto out;
		}
		r = make_link(in, owner, name, p);
		if (r < 0) {
			row_restore(db, owner, had, &row);
			goto out;
		}
		if (r == 1)
			continue;
		memset(t, 0, sizeof(*t));
		snprintf(t->owner, sizeof(t->owner), "%s", owner);
		snprintf(t->name, sizeof(t->name), "%s", name);
		cidr_format(&p->address, t->address);
		t->mtu = p->mtu;
		format_id(0, p->uid, t->user);
		format_id(1, p->gid, t->group);
		t->state = "up";
		t->mine = 1;
		tap_alias(in, owner, t->alias, sizeof(t->alias));
		*created = 1;
		rc = 0;
		goto out;
	}
	row_restore(db, owner, had, &row);
	error_code(EXIT_REFUSED, "no free TAP name for '%s' in %d tries", owner, TAP_CANDIDATES);
	error_hint("links of other programs hold every name derived from it; list them with "
		   "'ember-tap list --all'");
out:
	iproute_links_release(&links);
	lock_release(lock);
	return rc;
}

/* The links of this namespace that are OWNER's (every owner's when NULL),
 * proven: by their alias, or, half-made, by the name RECORDED (NULL: none)
 * gives them. */
static int owned_links(const struct install *in, const struct iproute_links *links,
		       const char *owner, const char *recorded, const char ***names, int *n)
{
	char who[NAME_MAX_LEN + 1];
	int i;

	*n = 0;
	*names = calloc((size_t)links->n + 1, sizeof(**names));
	if (!*names)
		return error_errno("unable to list TAPs");
	for (i = 0; i < links->n; i++) {
		const struct iproute_link *l = &links->v[i];

		if ((l->tap && tap_owned(in, l->name, l->alias, who) &&
		     (!owner || strcmp(who, owner) == 0)) ||
		    link_half_made(l, recorded))
			(*names)[(*n)++] = l->name;
	}
	return 0;
}

int tap_delete(struct install *in, const char *owner, struct tap *t, int *deleted)
{
	struct iproute_links links = {NULL, 0};
	const char **names = NULL;
	struct tap_row row;
	struct db *db;
	int lock, rc = -1, r, n;

	*deleted = 0;
	memset(t, 0, sizeof(*t));
	snprintf(t->owner, sizeof(t->owner), "%s", owner);
	lock = take_lock(in);
	if (lock < 0)
		return -1;
	if (tap_db(in, &db) < 0)
		goto out;
	r = row_get(db, owner, &row);
	if (r < 0)
		goto out;
	/* every link of OWNER's: the recorded one, one renamed within the
	 * prefix, a half-made one, one a create did not live to record. A link
	 * of the recorded name that is not proven ours is left alone */
	if (read_links(in, 0, &links) < 0 ||
	    owned_links(in, &links, owner, r == 1 ? row.name : NULL, &names, &n) < 0)
		goto out;
	if (r == 1)
		snprintf(t->name, sizeof(t->name), "%s", row.name);
	else if (n > 0)
		snprintf(t->name, sizeof(t->name), "%s", names[0]);
	if (r == 0 && n == 0) {
		rc = 0;
		goto out;
	}
	/* the database's write lock before the kernel changes */
	if (db_begin_freeing(db) < 0)
		goto out;
	if (delete_links(names, n, 0) < 0 || (r == 1 && row_delete(db, owner) < 0) ||
	    db_commit(db) < 0) {
		db_rollback(db);
		goto out;
	}
	*deleted = 1;
	rc = 0;
out:
	free(names);
	iproute_links_release(&links);
	lock_release(lock);
	return rc;
}

int tap_show(struct install *in, const char *owner, struct tap *t)
{
	struct iproute_links links = {NULL, 0};
	const struct iproute_link *l;
	struct tap_row row;
	struct db *db;
	int r;

	r = tap_db(in, &db);
	if (r < 0)
		return -1;
	r = r ? row_get(db, owner, &row) : 0;
	if (r < 0 || read_links(in, 0, &links) < 0)
		return -1;
	l = own_link(in, &links, owner, r == 1 ? row.name : NULL);
	if (l)
		tap_from_link(t, l, owner, 1);
	else if (r == 1)
		tap_from_row(t, in, owner, &row);
	iproute_links_release(&links);
	return l || r == 1;
}

static int compare_taps(const void *a, const void *b)
{
	const struct tap *x = a, *y = b;
	int c;

	if (x->mine != y->mine)
		return y->mine - x->mine;
	c = strcmp(x->owner, y->owner);
	return c ? c : strcmp(x->name, y->name);
}

int tap_list(struct install *in, int all, struct tap_list *out_list)
{
	struct iproute_links links = {NULL, 0};
	char who[NAME_MAX_LEN + 1], id[5];
	sqlite3_stmt *st = NULL;
	struct tap_row row;
	struct tap *v = NULL, *grown;
	struct db *db;
	int rc = -1, i, n = 0, cap, seen, step = SQLITE_DONE, have;

	out_list->v = NULL;
	out_list->n = 0;
	if ((have = tap_db(in, &db)) < 0 || read_links(in, all, &links) < 0)
		goto out;
	cap = links.n + 16;
	v = calloc((size_t)cap, sizeof(*v));
	if (!v) {
		error_errno("unable to list TAPs");
		goto out;
	}
	for (i = 0; i < links.n; i++) {
		const struct iproute_link *l = &links.v[i];

		if (l->tap && tap_owned(in, l->name, l->alias, who))
			tap_from_link(&v[n++], l, who, 1);
		else if (all && tap_alias_parse(l->alias, id, who))
			tap_from_link(&v[n++], l, who, 0); /* another installation's */
		else if (all && l->tap)
			tap_from_link(&v[n++], l, NULL, 0); /* foreign */
	}
	/* records whose link is not in the kernel (or is not provably ours) */
	if (have && db_prepare(db, &st,
			       "SELECT owner, name, address, mtu, uid, gid FROM tap ORDER BY owner") < 0)
		goto out;
	while (have && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *owner = (const char *)sqlite3_column_text(st, 0);

		read_row(st, 1, &row);
		seen = 0;
		for (i = 0; i < n && !seen; i++)
			seen = v[i].mine && strcmp(v[i].owner, owner) == 0;
		if (seen)
			continue;
		if (n == cap) {
			cap *= 2;
			grown = realloc(v, (size_t)cap * sizeof(*v));
			if (!grown) {
				error_errno("unable to list TAPs");
				goto out;
			}
			v = grown;
		}
		for (i = 0; i < links.n && !link_half_made(&links.v[i], row.name); i++)
			;
		if (i < links.n) /* a create killed after its first line */
			tap_from_link(&v[n++], &links.v[i], owner, 1);
		else
			tap_from_row(&v[n++], in, owner, &row);
	}
	if (step != SQLITE_DONE) {
		db_error(db, "unable to read the TAP records");
		goto out;
	}
	qsort(v, (size_t)n, sizeof(*v), compare_taps);
	out_list->v = v;
	out_list->n = n;
	v = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	free(v);
	iproute_links_release(&links);
	return rc;
}

void tap_list_release(struct tap_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Add to NAMES (N so far, room for every link) the half-made TAPs that a
 * record names: creates killed after their first line. */
static int half_made_links(struct db *db, const struct iproute_links *links, const char **names,
			   int *n)
{
	sqlite3_stmt *st = NULL;
	int i, step;

	if (db_prepare(db, &st, "SELECT name FROM tap") < 0)
		return -1;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		for (i = 0; name && i < links->n; i++)
			if (link_half_made(&links->v[i], name))
				names[(*n)++] = links->v[i].name;
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : db_error(db, "unable to read the TAP records");
}

/* Every link of this installation's, into NAMES and N (DB NULL: no
 * record was ever made). */
static int all_owned(const struct install *in, struct db *db, const struct iproute_links *links,
		     const char ***names, int *n)
{
	if (owned_links(in, links, NULL, NULL, names, n) < 0)
		return -1;
	return db ? half_made_links(db, links, *names, n) : 0;
}

int tap_teardown(struct install *in)
{
	struct iproute_links links = {NULL, 0};
	const char **names = NULL;
	struct db *db = NULL;
	int lock, rc = -1, n, have;

	lock = take_lock(in);
	if (lock < 0)
		return -1;
	have = tap_db(in, &db);
	if (have < 0)
		goto out;
	if (read_links(in, 0, &links) < 0 ||
	    all_owned(in, have ? db : NULL, &links, &names, &n) < 0)
		goto out;
	/* the database's write lock before the kernel changes */
	if (db_begin_freeing(db) < 0)
		goto out;
	if (delete_links(names, n, 1) < 0) {
		/* -force went on past a failing line (a link that vanished
		 * meanwhile): what counts is that none of ours is left */
		free(names);
		names = NULL;
		iproute_links_release(&links);
		if (iproute_links_read(NULL, &links) < 0 ||
		    all_owned(in, have ? db : NULL, &links, &names, &n) < 0)
			goto out;
		if (n > 0) {
			error_code(EXIT_TEMP, "unable to delete TAP '%s' of this installation",
				   names[0]);
			goto out;
		}
	}
	if (row_delete(db, NULL) < 0 || db_commit(db) < 0)
		goto out;
	rc = 0;
out:
	if (db)
		db_rollback(db);
	free(names);
	iproute_links_release(&links);
	lock_release(lock);
	return rc;
}
