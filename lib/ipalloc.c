#include "ipalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"

static const char *const schema[] = {
	"CREATE TABLE ipalloc_leases ("
	" subnet TEXT NOT NULL,"
	" slot INTEGER NOT NULL,"
	" owner TEXT NOT NULL UNIQUE,"
	" mode TEXT NOT NULL CHECK (mode IN ('p2p', 'single')),"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (subnet, slot)) STRICT, WITHOUT ROWID;"
	"CREATE TABLE ipalloc_free ("
	" subnet TEXT NOT NULL,"
	" slot INTEGER NOT NULL,"
	" PRIMARY KEY (subnet, slot)) STRICT, WITHOUT ROWID;"
	"CREATE TABLE ipalloc_subnets ("
	" subnet TEXT PRIMARY KEY,"
	" mode TEXT NOT NULL CHECK (mode IN ('p2p', 'single')),"
	" first INTEGER NOT NULL,"
	" last INTEGER NOT NULL) STRICT",
};

const struct tables ipalloc_tables = {"ipalloc", schema, ARRAY_SIZE(schema), "ipalloc_leases",
					"SELECT owner, created FROM ipalloc_leases ORDER BY owner"};

static int bounds(void *ctx, const char *range, const char *tag, int64_t *lo, int64_t *hi);

static const struct slot_table table = {
	.leases = "ipalloc_leases",
	.free = "ipalloc_free",
	.range_col = "subnet",
	.tag_col = "mode",
};

/* Blocks that no allocation can come from, whatever the mode. */
static const struct {
	struct cidr block;
	const char *what;
} special[] = {
	{{0x00000000u, 8}, "'this network' (0.0.0.0/8)"},
	{{0xe0000000u, 4}, "multicast (224.0.0.0/4)"},
	{{0xf0000000u, 4}, "reserved (240.0.0.0/4)"},
};
static const struct cidr loopback = {0x7f000000u, 8};

const char *ipalloc_mode_name(enum ipalloc_mode m)
{
	return m == IPALLOC_SINGLE ? "single" : "p2p";
}

int ipalloc_parse_mode(const char *s, enum ipalloc_mode *m)
{
	if (strcmp(s, "p2p") == 0)
		*m = IPALLOC_P2P;
	else if (strcmp(s, "single") == 0)
		*m = IPALLOC_SINGLE;
	else
		return error_code(EXIT_USAGE, "invalid mode '%s': p2p or single", s);
	return 0;
}

int ipalloc_valid_subnet(const struct cidr *c, enum ipalloc_mode m)
{
	char text[CIDR_LEN], net[CIDR_LEN];
	struct cidr n;
	size_t i;

	cidr_format(c, text);
	if (!cidr_is_network(c)) {
		n.addr = cidr_network(c);
		n.prefix = c->prefix;
		cidr_format(&n, net);
		error_code(EXIT_USAGE, "subnet '%s' has host bits set", text);
		error_hint("the network is %s", net);
		return -1;
	}
	if (c->prefix < 8)
		return error_code(EXIT_USAGE, "subnet '%s' is too large: the prefix must be 8 or more",
				  text);
	if (m == IPALLOC_P2P && c->prefix > 30) {
		error_code(EXIT_USAGE, "subnet '%s' cannot hold a p2p /30 block: the prefix must be 30 or less",
			   text);
		error_hint("--mode single hands out single addresses");
		return -1;
	}
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (cidr_overlaps(c, &special[i].block))
			return error_code(EXIT_USAGE, "subnet '%s' is within %s: no address there can be handed out",
					  text, special[i].what);
	if (m == IPALLOC_P2P && cidr_overlaps(c, &loopback)) {
		error_code(EXIT_USAGE, "subnet '%s' is loopback: a TAP cannot use it", text);
		error_hint("a loopback pool such as 127.0.0.16/28 needs --mode single");
		return -1;
	}
	return 0;
}

int ipalloc_parse_subnet(const char *s, enum ipalloc_mode m, struct cidr *c)
{
	if (cidr_parse(s, c) < 0)
		return error_code(EXIT_USAGE, "invalid subnet '%s': a.b.c.d/prefix expected", s);
	return ipalloc_valid_subnet(c, m);
}

int ipalloc_add_reserve(struct ipalloc_request *r, const char *s)
{
	char net[CIDR_LEN];
	uint32_t ip;

	if (ip4_parse(s, &ip) < 0)
		return error_code(EXIT_USAGE, "invalid address '%s' to reserve", s);
	if (!cidr_contains(&r->subnet, ip)) {
		cidr_format(&r->subnet, net);
		return error_code(EXIT_USAGE, "reserved address '%s' is not in subnet %s", s, net);
	}
	if (r->n_reserve >= IPALLOC_RESERVE_MAX)
		return error_code(EXIT_USAGE, "more than %d addresses to reserve", IPALLOC_RESERVE_MAX);
	r->reserve[r->n_reserve++] = ip;
	return 0;
}

void ipalloc_slots(const struct cidr *subnet, enum ipalloc_mode m, int64_t *lo, int64_t *hi)
{
	int64_t size = (int64_t)cidr_size(subnet);

	if (m == IPALLOC_P2P) {
		*lo = 0;
		*hi = size / 4 - 1;
	} else if (subnet->prefix >= 31) {
		*lo = 0;
		*hi = size - 1;
	} else {
		*lo = 2; /* past the network address and the gateway */
		*hi = size - 2;
	}
}

int64_t ipalloc_slot_of(const struct cidr *subnet, enum ipalloc_mode m, uint32_t ip)
{
	int64_t off = (int64_t)(ip - cidr_network(subnet));

	return m == IPALLOC_P2P ? off / 4 : off;
}

void ipalloc_address(struct ipalloc *a)
{
	uint32_t net = cidr_network(&a->subnet);

	if (a->mode == IPALLOC_P2P) {
		a->first = net + (uint32_t)a->slot * 4;
		a->last = a->first + 3;
		a->host = a->first + 1;
		a->guest = a->first + 2;
		a->has_host = 1;
		a->prefix = 30;
	} else {
		a->first = a->last = a->guest = net + (uint32_t)a->slot;
		a->has_host = a->subnet.prefix <= 30;
		a->host = a->has_host ? net + 1 : 0;
		a->prefix = a->subnet.prefix;
	}
}

/* The allocation a lease describes: 0, or -1 when the lease is not one
 * this code could have written (an invalid subnet, mode or slot). */
static int from_lease(const struct slot_lease *l, struct ipalloc *a)
{
	int64_t lo, hi;

	memset(a, 0, sizeof(*a));
	snprintf(a->owner, sizeof(a->owner), "%s", l->owner);
	a->slot = l->slot;
	if (cidr_parse(l->range, &a->subnet) < 0 || ipalloc_parse_mode(l->tag, &a->mode) < 0 ||
	    ipalloc_valid_subnet(&a->subnet, a->mode) < 0) {
		error_clear();
		return -1;
	}
	ipalloc_slots(&a->subnet, a->mode, &lo, &hi);
	if (l->slot < lo || l->slot > hi)
		return -1;
	ipalloc_address(a);
	a->valid = 1;
	return 0;
}

static int corrupt(const struct slot_lease *l)
{
	error_code(EXIT_INTERNAL, "the allocation of '%s' is corrupt (subnet '%s', mode '%s', slot %lld)",
		   l->owner, l->range, l->tag, (long long)l->slot);
	error_hint("run 'ember-ipalloc check'");
	return -1;
}

/* A reserved address in the slot? Reserved slots are sorted for bsearch. */
struct reserved {
	int64_t *slots;
	int n;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int skip_reserved(void *ctx, int64_t slot)
{
	const struct reserved *r = ctx;

	return r->n && bsearch(&slot, r->slots, (size_t)r->n, sizeof(slot), cmp_i64) != NULL;
}

/* The subnet may take an allocation in mode M: it is in no other mode and
 * overlaps no other subnet with allocations. Records it. */
static int claim_subnet(struct db *db, const struct cidr *c, enum ipalloc_mode m)
{
	sqlite3_stmt *st = NULL;
	char text[CIDR_LEN];
	const char *other, *mode;
	int rc = -1;

	cidr_format(c, text);
	if (db_prepare(db, &st, "SELECT subnet, mode FROM ipalloc_subnets WHERE first <= ?2 AND last >= ?1"
				" ORDER BY subnet <> ?3, subnet LIMIT 1") < 0)
		return -1;
	sqlite3_bind_int64(st, 1, cidr_network(c));
	sqlite3_bind_int64(st, 2, cidr_broadcast(c));
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		other = (const char *)sqlite3_column_text(st, 0);
		mode = (const char *)sqlite3_column_text(st, 1);
		if (strcmp(other, text) != 0) {
			error_code(EXIT_REFUSED, "subnet '%s' overlaps subnet '%s', which has allocations",
				   text, other);
			error_hint("allocate from '%s' or from a subnet apart from it", other);
			rc = -1;
		} else if (strcmp(mode, ipalloc_mode_name(m)) != 0) {
			rc = error_code(EXIT_REFUSED, "subnet '%s' is in use in %s mode, not %s", text, mode,
					ipalloc_mode_name(m));
		} else {
			rc = 0;
		}
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "unable to read the subnets in use");
	/* a p2p subnet taken into use is off the host's networks and routes,
	 * as init keeps the installation's (its TAPs would take them over);
	 * a shared subnet's gateway may be the host's own */
	if (m == IPALLOC_P2P && install_host_free(c, 0, EXIT_REFUSED, "subnet") < 0)
		return -1;
	if (db_prepare(db, &st, "INSERT INTO ipalloc_subnets (subnet, mode, first, last) VALUES (?, ?, ?, ?)") < 0)
		return -1;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ipalloc_mode_name(m), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, cidr_network(c));
	sqlite3_bind_int64(st, 4, cidr_broadcast(c));
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(db, "unable to record the subnet");
	sqlite3_finalize(st);
	return rc;
}

/* Forget SUBNET once its last allocation is gone. */
static int drop_subnet_if_empty(struct db *db, const char *subnet)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, &st, "DELETE FROM ipalloc_subnets WHERE subnet = ?1 AND NOT EXISTS"
				" (SELECT 1 FROM ipalloc_leases WHERE subnet = ?1)") < 0)
		return -1;
	sqlite3_bind_text(st, 1, subnet, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(db, "unable to release the subnet");
	sqlite3_finalize(st);
	return rc;
}

/* An existing allocation answers R when it has R's subnet and mode and no
 * reserved address. */
static int same_request(const struct ipalloc *a, const struct ipalloc_request *r, const char *owner)
{
	char have[CIDR_LEN], want[CIDR_LEN], ip[IP4_LEN];
	int i;

	cidr_format(&a->subnet, have);
	cidr_format(&r->subnet, want);
	ip4_format(a->guest, ip);
	if (!r->any_held && (a->mode != r->mode || strcmp(have, want) != 0)) {
		error_code(EXIT_REFUSED, "'%s' already holds %s from %s (%s), not from %s (%s)", owner, ip,
			   have, ipalloc_mode_name(a->mode), want, ipalloc_mode_name(r->mode));
		error_hint("release it first: ember-ipalloc release %s", owner);
		return -1;
	}
	for (i = 0; i < r->n_reserve; i++)
		if (r->reserve[i] >= a->first && r->reserve[i] <= a->last) {
			ip4_format(r->reserve[i], ip);
			error_code(EXIT_REFUSED, "'%s' already holds %s, which is reserved", owner, ip);
			error_hint("release it first: ember-ipalloc release %s", owner);
			return -1;
		}
	return 0;
}

/* What A hands out must be no address of the host's (install_host_free,
 * the rule init applies to the installation's subnet): a p2p block's host
 * side becomes a TAP's address, so the block may not touch a host network
 * or route (one that came after its subnet was taken into use); a single
 * address only may not be one a link has (the gateway of a shared subnet
 * is often the host's own). */
static int host_free(const struct ipalloc *a)
{
	struct cidr c;

	if (a->mode == IPALLOC_P2P) {
		c.addr = a->first;
		c.prefix = 30;
		return install_host_free(&c, 0, EXIT_REFUSED, "block");
	}
	c.addr = a->guest;
	c.prefix = 32;
	return install_host_free(&c, 1, EXIT_REFUSED, "address");
}

static int full(const struct ipalloc_request *r, int64_t lo, int64_t hi, const struct reserved *res)
{
	char text[CIDR_LEN];
	int64_t n = hi - lo + 1;
	int i, k = 0;

	for (i = 0; i < res->n; i++)
		if (res->slots[i] >= lo && res->slots[i] <= hi && (i == 0 || res->slots[i] != res->slots[i - 1]))
			k++;
	cidr_format(&r->subnet, text);
	if (k)
		error_code(EXIT_REFUSED, "subnet %s is exhausted: all %lld %s are allocated or reserved (%d reserved)",
			   text, (long long)n, r->mode == IPALLOC_P2P ? "/30 blocks" : "addresses", k);
	else
		error_code(EXIT_REFUSED, "subnet %s is exhausted: all %lld %s are allocated", text,
			   (long long)n, r->mode == IPALLOC_P2P ? "/30 blocks" : "addresses");
	error_hint("release an allocation, or allocate from another subnet with --subnet");
	return -1;
}

int ipalloc_alloc(struct install *in, const char *owner, const struct ipalloc_request *r,
		  struct ipalloc *a, int *created)
{
	int64_t slots[IPALLOC_RESERVE_MAX];
	struct reserved res = {slots, 0};
	struct slot_space space;
	struct slot_lease l;
	char range[CIDR_LEN];
	struct db *db;
	int i, rc = -1;

	*created = 0;
	if (ipalloc_valid_subnet(&r->subnet, r->mode) < 0)
		return -1;
	for (i = 0; i < r->n_reserve; i++)
		slots[res.n++] = ipalloc_slot_of(&r->subnet, r->mode, r->reserve[i]);
	qsort(slots, (size_t)res.n, sizeof(slots[0]), cmp_i64);
	cidr_format(&r->subnet, range);
	memset(&space, 0, sizeof(space));
	space.range = range;
	ipalloc_slots(&r->subnet, r->mode, &space.lo, &space.hi);
	space.skip = skip_reserved;
	space.ctx = &res;

	if (tables_open(in, &ipalloc_tables, 1, &db) < 0 || db_begin(db) < 0)
		return -1;
	rc = slot_get(db, &table, owner, &l);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		rc = -1;
		if (from_lease(&l, a) < 0) {
			corrupt(&l);
			goto out;
		}
		if (same_request(a, r, owner) < 0)
			goto out;
		db_rollback(db);
		return 0;
	}
	rc = -1;
	if (claim_subnet(db, &r->subnet, r->mode) < 0)
		goto out;
	switch (slot_alloc(db, &table, &space, owner, ipalloc_mode_name(r->mode), &l)) {
	case 1:
		break;
	case 0:
		full(r, space.lo, space.hi, &res);
		goto out;
	default:
		goto out;
	}
	if (from_lease(&l, a) < 0) {
		corrupt(&l);
		goto out;
	}
	if (host_free(a) < 0)
		goto out;
	if (db_commit(db) < 0)
		return -1;
	*created = 1;
	return 0;
out:
	db_rollback(db);
	return rc;
}

int ipalloc_release(struct install *in, const char *owner, struct ipalloc *a)
{
	struct slot_lease l;
	struct db *db;
	int rc;

	rc = tables_open(in, &ipalloc_tables, 0, &db);
	if (rc <= 0)
		return rc;
	if (db_begin_freeing(db) < 0)
		return -1;
	rc = slot_release(db, &table, owner, bounds, NULL, &l);
	if (rc == 1 && drop_subnet_if_empty(db, l.range) < 0)
		rc = -1;
	if (rc < 0) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) < 0)
		return -1;
	/* a corrupt record is released all the same: that is how it goes away */
	if (rc == 1)
		from_lease(&l, a);
	return rc;
}

int ipalloc_show(struct install *in, const char *owner, struct ipalloc *a)
{
	struct slot_lease l;
	struct db *db;
	int rc;

	rc = tables_open(in, &ipalloc_tables, 0, &db);
	if (rc <= 0)
		return rc;
	rc = slot_get(db, &table, owner, &l);
	if (rc == 1 && from_lease(&l, a) < 0)
		return corrupt(&l);
	return rc;
}

struct collect {
	struct ipalloc_list *l;
	int cap;
};

static int collect(const struct slot_lease *lease, void *ctx)
{
	struct collect *c = ctx;

	if (array_reserve(&c->l->v, &c->cap, c->l->n, sizeof(*c->l->v)) < 0)
		return -1;
	if (from_lease(lease, &c->l->v[c->l->n]) < 0)
		return corrupt(lease);
	c->l->n++;
	return 0;
}

static int cmp_alloc(const void *pa, const void *pb)
{
	const struct ipalloc *a = pa, *b = pb;

	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	if (a->last != b->last)
		return a->last > b->last ? -1 : 1;
	return strcmp(a->owner, b->owner);
}

int ipalloc_list(struct install *in, const struct cidr *subnet, struct ipalloc_list *l)
{
	struct collect c = {l, 0};
	char text[CIDR_LEN];
	struct db *db;
	int rc;

	l->v = NULL;
	l->n = 0;
	rc = tables_open(in, &ipalloc_tables, 0, &db);
	if (rc <= 0)
		return rc;
	if (subnet)
		cidr_format(subnet, text);
	if (slot_each(db, &table, subnet ? text : NULL, collect, &c) < 0) {
		ipalloc_list_release(l);
		return -1;
	}
	if (l->n)
		qsort(l->v, (size_t)l->n, sizeof(l->v[0]), cmp_alloc);
	return 0;
}

void ipalloc_list_release(struct ipalloc_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* check: every lease, sorted by address, then a sweep for overlaps. */
struct check {
	struct ipalloc_list all;
	int cap;
	slot_report_fn report;
	void *ctx;
	int n;
};

static void describe(const struct ipalloc *a, char *buf, size_t n)
{
	char ip[IP4_LEN], net[CIDR_LEN];

	ip4_format(a->first, ip);
	cidr_format(&a->subnet, net);
	if (a->mode == IPALLOC_P2P)
		snprintf(buf, n, "%s/30 of '%s' (subnet %s, p2p)", ip, a->owner, net);
	else
		snprintf(buf, n, "%s of '%s' (subnet %s, single)", ip, a->owner, net);
}

static int check_lease(const struct slot_lease *l, void *ctx)
{
	struct check *c = ctx;
	struct ipalloc a;
	char detail[200];
	int64_t lo, hi;

	memset(&a, 0, sizeof(a));
	snprintf(a.owner, sizeof(a.owner), "%s", l->owner);
	a.slot = l->slot;
	if (cidr_parse(l->range, &a.subnet) < 0 || ipalloc_parse_mode(l->tag, &a.mode) < 0 ||
	    ipalloc_valid_subnet(&a.subnet, a.mode) < 0) {
		error_clear();
		snprintf(detail, sizeof(detail), "'%s' is not a subnet %s mode can allocate from", l->range,
			 l->tag);
		c->report(c->ctx, l->owner, "corrupt", detail);
		c->n++;
		return 0;
	}
	ipalloc_slots(&a.subnet, a.mode, &lo, &hi);
	if (l->slot < lo || l->slot > hi) {
		snprintf(detail, sizeof(detail), "slot %lld is outside subnet %s (%s slots %lld-%lld)",
			 (long long)l->slot, l->range, l->tag, (long long)lo, (long long)hi);
		c->report(c->ctx, l->owner, "outside", detail);
		c->n++;
		return 0;
	}
	ipalloc_address(&a);
	if (array_reserve(&c->all.v, &c->cap, c->all.n, sizeof(*c->all.v)) < 0)
		return -1;
	c->all.v[c->all.n++] = a;
	return 0;
}

static void check_overlaps(struct check *c)
{
	char d1[96], d2[96], detail[240], ip[IP4_LEN];
	const struct ipalloc *cur, *a;
	int i;

	if (c->all.n == 0)
		return;
	qsort(c->all.v, (size_t)c->all.n, sizeof(c->all.v[0]), cmp_alloc);
	/* CUR: the allocation reaching furthest so far; anything that starts
	 * before it ends overlaps it */
	cur = &c->all.v[0];
	for (i = 1; i < c->all.n; i++) {
		a = &c->all.v[i];
		if (a->first <= cur->last) {
			if (a->first == a->last && cur->first == cur->last) {
				ip4_format(a->guest, ip);
				snprintf(d1, sizeof(d1), "%s", cur->owner);
				snprintf(detail, sizeof(detail), "%s is held by '%s' and '%s'", ip, d1, a->owner);
				c->report(c->ctx, a->owner, "shared", detail);
			} else {
				describe(a, d1, sizeof(d1));
				describe(cur, d2, sizeof(d2));
				snprintf(detail, sizeof(detail), "%s overlaps %s", d1, d2);
				c->report(c->ctx, a->owner, "overlap", detail);
			}
			c->n++;
		}
		if (a->last > cur->last)
			cur = a;
	}
}

/* Subnets with allocations that ipalloc_subnets does not record (or records
 * in another mode): alloc could not see them when checking overlaps. */
static int check_subnets(struct db *db, struct check *c)
{
	sqlite3_stmt *st = NULL;
	char detail[160];
	int rc;

	if (db_prepare(db, &st, "SELECT DISTINCT l.subnet, l.mode, s.mode FROM ipalloc_leases l"
				" LEFT JOIN ipalloc_subnets s ON s.subnet = l.subnet"
				" WHERE s.mode IS NULL OR s.mode <> l.mode ORDER BY l.subnet") < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			snprintf(detail, sizeof(detail), "subnet %s has %s allocations but no subnet record",
				 sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
		else
			snprintf(detail, sizeof(detail), "subnet %s has %s allocations but is recorded as %s",
				 sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
				 sqlite3_column_text(st, 2));
		c->report(c->ctx, NULL, "unrecorded", detail);
		c->n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "unable to read the subnets in use");
	return 0;
}

static int bounds(void *ctx, const char *range, const char *tag, int64_t *lo, int64_t *hi)
{
	enum ipalloc_mode m = IPALLOC_P2P;
	struct cidr c;

	(void)ctx;
	if (cidr_parse(range, &c) < 0 || ipalloc_parse_mode(tag, &m) < 0 || ipalloc_valid_subnet(&c, m) < 0) {
		error_clear();
		return -1;
	}
	ipalloc_slots(&c, m, lo, hi);
	return 0;
}

int ipalloc_check(struct install *in, slot_report_fn report, void *ctx)
{
	struct check c;
	struct db *db;
	int rc;

	memset(&c, 0, sizeof(c));
	c.report = report;
	c.ctx = ctx;
	rc = tables_open(in, &ipalloc_tables, 0, &db);
	if (rc <= 0)
		return rc;
	/* one read transaction: a consistent picture while others allocate */
	if (db_exec(db, "BEGIN") < 0)
		return -1;
	db->in_tx = 1;
	rc = slot_each(db, &table, NULL, check_lease, &c);
	if (rc == 0) {
		check_overlaps(&c);
		rc = check_subnets(db, &c);
	}
	if (rc == 0) {
		rc = slot_check(db, &table, bounds, report, ctx);
		if (rc >= 0) {
			c.n += rc;
			rc = 0;
		}
	}
	db_rollback(db);
	ipalloc_list_release(&c.all);
	return rc < 0 ? -1 : c.n;
}
