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
	if (db_begin(db) < 0)
		return -1;
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
	return db_write(db, st, "unable to record the TAP");
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

static int link_owned_by(const struct install *in, const struct iproute_link *l, const char *owner)
{
	char who[NAME_MAX_LEN + 1];

	return tap_owned(in, l->name, l->alias, who) && strcmp(who, owner) == 0;
}

/* 1 when link NAME exists and its ifalias proves it OWNER's, 0 when not, -1 on error. */
static int link_exists_owned(const struct install *in, const char *name, const char *owner)
{
	struct iproute_link l;
	int r = read_link(name, &l);

	return r <= 0 ? r : link_owned_by(in, &l, owner);
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

/* Is link L what P asks for? */
static int link_matches(const struct iproute_link *l, const struct tap_params *p)
{
	char addr[CIDR_LEN];

	cidr_format(&p->address, addr);
	/* up and without IPv6 addresses: a batch that died before its last line
	 * left a link that is not what was asked for */
	return l->tap && l->up && l->ninet6 == 0 && l->naddr == 1 && strcmp(l->addr, addr) == 0 &&
	       l->mtu == p->mtu && id_of(0, l->user) == p->uid && id_of(1, l->group) == p->gid;
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

int tap_create(struct install *in, const char *owner, const struct tap_params *p, struct tap *t,
	       int *created)
{
	char name[TAP_NAME_LEN], user[TAP_ID_LEN], group[TAP_ID_LEN];
	struct iproute_link l;
	struct tap_row row;
	struct db *db;
	int lock, rc = -1, k, r;

	*created = 0;
	lock = take_lock(in);
	if (lock < 0)
		return -1;
	if (tap_db(in, &db) < 0)
		goto out;
	r = row_get(db, owner, &row);
	if (r < 0)
		goto out;
	if (r == 1) {
		r = read_link(row.name, &l);
		if (r < 0)
			goto out;
		if (r == 1 && link_owned_by(in, &l, owner)) {
			if (!same_params(&row, p)) {
				format_id(0, row.uid, user);
				format_id(1, row.gid, group);
				refuse_other(owner, row.name, row.address, row.mtu, user, group,
					     "");
				goto out;
			}
			tap_from_link(t, &l, owner, 1);
			rc = 0;
			goto out;
		}
		/* the recorded link is gone (a reboot), or its name is another's
		 * now: the record is stale, make the TAP again */
	}
	for (k = 0; k < TAP_CANDIDATES; k++) {
		tap_name_candidate(in, owner, k, name);
		r = name_recorded(db, name, owner);
		if (r < 0)
			goto out;
		if (r == 1)
			continue;
		if (iproute_link_exists(name)) {
			r = read_link(name, &l);
			if (r < 0)
				goto out;
			if (r == 0 || !link_owned_by(in, &l, owner))
				continue; /* a collision: someone else's link */
			/* made by a create that did not live to record it: the ifalias
			 * proves it ours; adopt it when it is what is asked for */
			if (!link_matches(&l, p)) {
				refuse_other(owner, l.name, l.addr, l.mtu, l.user, l.group,
					     l.up ? (l.ninet6 ? " (with IPv6)" : "") : " (down)");
				goto out;
			}
			if (row_put(db, owner, name, p) < 0)
				goto out;
			tap_from_link(t, &l, owner, 1);
			rc = 0;
			goto out;
		}
		/* the rule for every address ember assigns: none a host link has */
		if (install_host_free(&p->address, 0, EXIT_REFUSED, "address") < 0)
			goto out;
		r = make_link(in, owner, name, p);
		if (r < 0)
			goto out;
		if (r == 1)
			continue;
		if (row_put(db, owner, name, p) < 0) {
			undo_create(name);
			goto out;
		}
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
	error_code(EXIT_REFUSED, "no free TAP name for '%s' in %d tries", owner, TAP_CANDIDATES);
	error_hint("links of other programs hold every name derived from it; list them with "
		   "'ember-tap list --all'");
out:
	lock_release(lock);
	return rc;
}

/* The links of this namespace that are OWNER's (every owner's when NULL), proven. */
static int owned_links(const struct install *in, const struct iproute_links *links,
		       const char *owner, const char ***names, int *n)
{
	char who[NAME_MAX_LEN + 1];
	int i;

	*n = 0;
	*names = calloc((size_t)links->n + 1, sizeof(**names));
	if (!*names)
		return error_errno("unable to list TAPs");
	for (i = 0; i < links->n; i++)
		if (tap_owned(in, links->v[i].name, links->v[i].alias, who) &&
		    (!owner || strcmp(who, owner) == 0))
			(*names)[(*n)++] = links->v[i].name;
	return 0;
}

int tap_delete(struct install *in, const char *owner, struct tap *t, int *deleted)
{
	struct iproute_links links = {NULL, 0};
	const char **names = NULL;
	struct iproute_link l;
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
	if (r == 1) {
		snprintf(t->name, sizeof(t->name), "%s", row.name);
		r = read_link(row.name, &l);
		if (r < 0)
			goto out;
		/* a link of that name that is not proven ours is left alone */
		if (r == 1 && link_owned_by(in, &l, owner)) {
			names = calloc(1, sizeof(*names));
			if (!names) {
				error_errno("unable to delete TAPs");
				goto out;
			}
			names[0] = row.name;
			if (delete_links(names, 1, 0) < 0)
				goto out;
		}
		if (row_delete(db, owner) < 0)
			goto out;
		*deleted = 1;
	} else {
		/* no record: a create that did not live to record its link may
		 * have left one, which only its ifalias proves */
		if (read_links(in, 0, &links) < 0 || owned_links(in, &links, owner, &names, &n) < 0)
			goto out;
		if (n > 0) {
			snprintf(t->name, sizeof(t->name), "%s", names[0]);
			if (delete_links(names, n, 0) < 0)
				goto out;
			*deleted = 1;
		}
	}
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
	char who[NAME_MAX_LEN + 1];
	struct iproute_link l;
	struct tap_row row;
	struct db *db;
	int r, i;

	r = tap_db(in, &db);
	if (r < 0)
		return -1;
	r = r ? row_get(db, owner, &row) : 0;
	if (r < 0)
		return -1;
	if (r == 1) {
		r = read_link(row.name, &l);
		if (r < 0)
			return -1;
		if (r == 1 && link_owned_by(in, &l, owner))
			tap_from_link(t, &l, owner, 1);
		else
			tap_from_row(t, in, owner, &row);
		return 1;
	}
	if (read_links(in, 0, &links) < 0)
		return -1;
	r = 0;
	for (i = 0; i < links.n && !r; i++) {
		if (tap_owned(in, links.v[i].name, links.v[i].alias, who) &&
		    strcmp(who, owner) == 0) {
			tap_from_link(t, &links.v[i], owner, 1);
			r = 1;
		}
	}
	iproute_links_release(&links);
	return r;
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

		if (tap_owned(in, l->name, l->alias, who))
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
			seen = v[i].mine && strcmp(v[i].owner, owner) == 0 &&
			       strcmp(v[i].name, row.name) == 0;
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

int tap_teardown(struct install *in)
{
	struct iproute_links links = {NULL, 0};
	const char **names = NULL;
	struct db *db;
	int lock, rc = -1, n;

	lock = take_lock(in);
	if (lock < 0)
		return -1;
	if (tap_db(in, &db) < 0)
		goto out;
	if (read_links(in, 0, &links) < 0 || owned_links(in, &links, NULL, &names, &n) < 0)
		goto out;
	if (delete_links(names, n, 1) < 0) {
		/* -force went on past a failing line (a link that vanished
		 * meanwhile): what counts is that none of ours is left */
		free(names);
		names = NULL;
		iproute_links_release(&links);
		if (iproute_links_read(NULL, &links) < 0 ||
		    owned_links(in, &links, NULL, &names, &n) < 0)
			goto out;
		if (n > 0) {
			error_code(EXIT_TEMP, "unable to delete TAP '%s' of this installation",
				   names[0]);
			goto out;
		}
	}
	if (row_delete(db, NULL) < 0)
		goto out;
	rc = 0;
out:
	free(names);
	iproute_links_release(&links);
	lock_release(lock);
	return rc;
}
