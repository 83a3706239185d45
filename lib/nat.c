#include "nat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash.h"
#include "array.h"
#include "error.h"
#include "file.h"
#include "iptables.h"
#include "lock.h"
#include "sysctl.h"

static const char *const chain_suffix[] = {"input", "forward", "postrouting"};

static const char *const schema[] = {
	"CREATE TABLE nat_vms ("
	" owner TEXT PRIMARY KEY,"
	" guest_ip TEXT NOT NULL,"
	" tap TEXT NOT NULL,"
	" uplink TEXT NOT NULL,"
	" allow TEXT NOT NULL," /* comma-separated CIDRs, "" for any */
	" created INTEGER NOT NULL) STRICT",
	/* 0: recorded before its rules were applied, and not confirmed since
	 * (a crash in between): the next change reads the kernel first */
	"ALTER TABLE nat_vms ADD COLUMN applied INTEGER NOT NULL DEFAULT 1",
	/* the buckets whose chains and jumps a change has made */
	"CREATE TABLE nat_buckets (bucket INTEGER PRIMARY KEY) STRICT",
};

const struct tables nat_tables = {"nat", schema, ARRAY_SIZE(schema), "nat_vms",
					"SELECT owner, created FROM nat_vms ORDER BY owner"};

/* The tables, once the backend is one that can be named: every verb refuses
 * a bad $EMBER_IPTABLES (100) before anything is read or made. */
static int nat_open(struct install *in, int create, struct db **db)
{
	if (ipt_env_check() < 0)
		return -1;
	return tables_open(in, &nat_tables, create, db);
}

/* ---- names ---------------------------------------------------------------- */

void nat_chain_name(const struct install *in, enum nat_chain which, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	if (ns)
		snprintf(buf, n, "ember-%s-%s", ns, chain_suffix[which]);
	else if (which == NAT_POSTROUTING)
		snprintf(buf, n, "%s", "");
	else
		snprintf(buf, n, "ember-%s", chain_suffix[which]);
}

unsigned nat_bucket(const char *owner)
{
	return fnv1a32(owner, strlen(owner)) % NAT_BUCKETS;
}

/* "<chain>-<hh>"; legacy: the chain, or the base POSTROUTING it has none of. */
void nat_bucket_chain(const struct install *in, enum nat_chain which, const char *owner, char *buf,
		      size_t n)
{
	char base[IPT_CHAIN_LEN];

	nat_chain_name(in, which, base, sizeof(base));
	if (install_namespace(in))
		snprintf(buf, n, "%.24s-%02x", base, nat_bucket(owner));
	else
		snprintf(buf, n, "%s", base[0] ? base : "POSTROUTING");
}

void nat_comment(const struct install *in, const char *owner, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	if (!ns)
		snprintf(buf, n, "%s", "");
	else if (owner)
		snprintf(buf, n, "ember:%s:%s", ns, owner);
	else
		snprintf(buf, n, "ember:%s", ns);
}

void nat_names(const struct install *in, struct out *o)
{
	char buf[64];

	nat_chain_name(in, NAT_INPUT, buf, sizeof(buf));
	out_str(o, "chain_input", buf);
	nat_chain_name(in, NAT_FORWARD, buf, sizeof(buf));
	out_str(o, "chain_forward", buf);
	nat_chain_name(in, NAT_POSTROUTING, buf, sizeof(buf));
	out_str(o, "chain_postrouting", buf);
	nat_comment(in, NULL, buf, sizeof(buf));
	out_str(o, "rule_comment", buf);
}

/* ---- parameters ----------------------------------------------------------- */

int nat_parse_guest(const char *s, uint32_t *ip)
{
	static const struct cidr bad[] = {
		{0x00000000u, 8}, {0x7f000000u, 8}, {0xe0000000u, 4}, {0xf0000000u, 4}};
	size_t i;

	if (ip4_parse(s, ip) < 0)
		return error_code(EXIT_USAGE, "invalid guest address '%s': a.b.c.d expected", s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_contains(&bad[i], *ip))
			return error_code(EXIT_USAGE, "guest address '%s' is not a unicast address a guest can have", s);
	return 0;
}

int nat_parse_ifname(const char *what, const char *s, char buf[NAT_IFNAME_LEN])
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= NAT_IFNAME_LEN || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return error_code(EXIT_USAGE, "invalid %s '%s': an interface name of 1-15 characters", what, s);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return error_code(EXIT_USAGE, "invalid %s '%s': only letters, digits, '-', '_' and '.'",
					  what, s);
	}
	snprintf(buf, NAT_IFNAME_LEN, "%s", s);
	return 0;
}

static int cidr_cmp(const struct cidr *a, const struct cidr *b)
{
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->prefix - b->prefix;
}

int nat_add_allow(struct nat_params *p, const char *s)
{
	struct cidr c, net;
	char text[CIDR_LEN];
	int i, j;

	if (cidr_parse(s, &c) < 0)
		return error_code(EXIT_USAGE, "invalid --allow '%s': a.b.c.d/prefix expected", s);
	if (!cidr_is_network(&c)) {
		net.addr = cidr_network(&c);
		net.prefix = c.prefix;
		cidr_format(&net, text);
		error_code(EXIT_USAGE, "--allow '%s' has host bits set", s);
		error_hint("the network is %s", text);
		return -1;
	}
	for (i = 0; i < p->n_allow && cidr_cmp(&p->allow[i], &c) < 0; i++)
		;
	if (i < p->n_allow && cidr_cmp(&p->allow[i], &c) == 0)
		return 0;
	if (p->n_allow == NAT_ALLOW_MAX)
		return error_code(EXIT_USAGE, "more than %d --allow blocks", NAT_ALLOW_MAX);
	for (j = p->n_allow; j > i; j--)
		p->allow[j] = p->allow[j - 1];
	p->allow[i] = c;
	p->n_allow++;
	return 0;
}

int nat_params_equal(const struct nat_params *a, const struct nat_params *b)
{
	int i;

	if (a->guest != b->guest || strcmp(a->tap, b->tap) != 0 || strcmp(a->uplink, b->uplink) != 0 ||
	    a->n_allow != b->n_allow)
		return 0;
	for (i = 0; i < a->n_allow; i++)
		if (cidr_cmp(&a->allow[i], &b->allow[i]) != 0)
			return 0;
	return 1;
}

static void allow_text(const struct nat_params *p, char *buf, size_t n)
{
	char c[CIDR_LEN];
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < p->n_allow; i++) {
		cidr_format(&p->allow[i], c);
		len += (size_t)snprintf(buf + (len < n ? len : n), len < n ? n - len : 0, "%s%s", i ? "," : "", c);
	}
}

static void describe(const struct nat_params *p, char *buf, size_t n)
{
	char guest[IP4_LEN], allow[NAT_ALLOW_MAX * CIDR_LEN];

	ip4_format(p->guest, guest);
	allow_text(p, allow, sizeof(allow));
	snprintf(buf, n, "guest %s tap %s uplink %s allow %s", guest, p->tap, p->uplink,
		 p->n_allow ? allow : "-");
}

/* ---- rules ---------------------------------------------------------------- */

/* Append a rule: MATCH (may be ""), then the comment TOKEN (none when ""),
 * then -j TARGET, in the order iptables-save prints them. */
static void rule(struct nat_rule *r, int *n, const char *table, const char *chain, const char *token,
		 const char *target, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void rule(struct nat_rule *r, int *n, const char *table, const char *chain, const char *token,
		 const char *target, const char *fmt, ...)
{
	char match[160], comment[96] = "";
	struct nat_rule *x = &r[(*n)++];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(match, sizeof(match), fmt, ap);
	va_end(ap);
	if (*token)
		snprintf(comment, sizeof(comment), "-m comment --comment \"%.60s\" ", token);
	x->table = table;
	snprintf(x->chain, sizeof(x->chain), "%s", chain);
	snprintf(x->spec, sizeof(x->spec), "%s%s%s-j %.31s", match, *match ? " " : "", comment, target);
}

int nat_vm_rules(const struct install *in, const char *owner, const struct nat_params *p,
		 struct nat_rule *r)
{
	char input[32], forward[32], post[32], token[64], guest[IP4_LEN], allow[CIDR_LEN];
	int n = 0, i;

	/* into the owner's bucket chains; legacy: the historic chains and the
	 * base POSTROUTING */
	nat_bucket_chain(in, NAT_INPUT, owner, input, sizeof(input));
	nat_bucket_chain(in, NAT_FORWARD, owner, forward, sizeof(forward));
	nat_bucket_chain(in, NAT_POSTROUTING, owner, post, sizeof(post));
	nat_comment(in, owner, token, sizeof(token));
	ip4_format(p->guest, guest);

	/* the host answers the guest, and takes nothing new from it */
	rule(r, &n, "filter", input, token, "ACCEPT", "-i %s -m conntrack --ctstate RELATED,ESTABLISHED",
	     p->tap);
	rule(r, &n, "filter", input, token, "DROP", "-i %s", p->tap);
	/* out of the TAP to the uplink, from the guest's address only */
	if (p->n_allow == 0)
		rule(r, &n, "filter", forward, token, "ACCEPT", "-s %s/32 -i %s -o %s", guest, p->tap,
		     p->uplink);
	for (i = 0; i < p->n_allow; i++) {
		if (p->allow[i].prefix == 0) {
			/* iptables-save prints no -d for 0.0.0.0/0 */
			rule(r, &n, "filter", forward, token, "ACCEPT", "-s %s/32 -i %s -o %s", guest, p->tap,
			     p->uplink);
			continue;
		}
		cidr_format(&p->allow[i], allow);
		rule(r, &n, "filter", forward, token, "ACCEPT", "-s %s/32 -d %s -i %s -o %s", guest, allow,
		     p->tap, p->uplink);
	}
	rule(r, &n, "filter", forward, token, "DROP", "-i %s", p->tap);
	/* into the TAP: replies only; nothing new from outside (nor another guest) */
	rule(r, &n, "filter", forward, token, "ACCEPT",
	     "-d %s/32 -o %s -m conntrack --ctstate RELATED,ESTABLISHED", guest, p->tap);
	rule(r, &n, "filter", forward, token, "DROP", "-o %s", p->tap);
	rule(r, &n, "nat", post, token, "MASQUERADE", "-s %s/32 -o %s", guest, p->uplink);
	return n;
}

int nat_jumps(const struct install *in, int docker, struct nat_rule *r)
{
	char input[32], forward[32], post[32], token[64];
	int n = 0;

	nat_chain_name(in, NAT_INPUT, input, sizeof(input));
	nat_chain_name(in, NAT_FORWARD, forward, sizeof(forward));
	nat_chain_name(in, NAT_POSTROUTING, post, sizeof(post));
	nat_comment(in, NULL, token, sizeof(token));
	rule(r, &n, "filter", "INPUT", token, input, "%s", "");
	rule(r, &n, "filter", "FORWARD", token, forward, "%s", "");
	if (docker)
		rule(r, &n, "filter", "DOCKER-USER", token, forward, "%s", "");
	if (post[0])
		rule(r, &n, "nat", "POSTROUTING", token, post, "%s", "");
	return n;
}

int nat_bucket_jumps(const struct install *in, const char *owner, struct nat_rule *r)
{
	char shared[IPT_CHAIN_LEN], bucket[IPT_CHAIN_LEN], token[64];
	int n = 0, i;

	if (!install_namespace(in))
		return 0;
	nat_comment(in, NULL, token, sizeof(token));
	for (i = 0; i < 3; i++) {
		nat_chain_name(in, (enum nat_chain)i, shared, sizeof(shared));
		nat_bucket_chain(in, (enum nat_chain)i, owner, bucket, sizeof(bucket));
		rule(r, &n, i == NAT_POSTROUTING ? "nat" : "filter", shared, token, bucket, "%s", "");
	}
	return n;
}

/* The base chain a legacy rule of CHAIN may have been written to instead. */
static const char *base_of(const char *chain)
{
	if (strcmp(chain, "ember-input") == 0)
		return "INPUT";
	if (strcmp(chain, "ember-forward") == 0)
		return "FORWARD";
	return chain;
}

/* ---- the database ---------------------------------------------------------- */

static int read_row(sqlite3_stmt *st, struct nat_vm *v)
{
	const char *owner = (const char *)sqlite3_column_text(st, 0);
	const char *guest = (const char *)sqlite3_column_text(st, 1);
	const char *tap = (const char *)sqlite3_column_text(st, 2);
	const char *uplink = (const char *)sqlite3_column_text(st, 3);
	const char *allow = (const char *)sqlite3_column_text(st, 4);
	char buf[NAT_ALLOW_MAX * CIDR_LEN], *tok, *save = NULL;

	memset(v, 0, sizeof(*v));
	snprintf(v->owner, sizeof(v->owner), "%s", owner ? owner : "");
	v->recorded = 1;
	snprintf(buf, sizeof(buf), "%s", allow ? allow : "");
	if (!owner || !name_valid(owner) || !guest || nat_parse_guest(guest, &v->p.guest) < 0 || !tap ||
	    nat_parse_ifname("TAP", tap, v->p.tap) < 0 || !uplink ||
	    nat_parse_ifname("uplink", uplink, v->p.uplink) < 0)
		goto corrupt;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (nat_add_allow(&v->p, tok) < 0)
			goto corrupt;
	v->applied = sqlite3_column_int(st, 5) != 0;
	return 0;
corrupt:
	error_code(EXIT_INTERNAL, "the NAT record of '%s' is corrupt", owner ? owner : "?");
	error_hint("run 'ember-nat check', then 'ember-nat down %s'", owner ? owner : "OWNER");
	return -1;
}

#define SELECT_VM "SELECT owner, guest_ip, tap, uplink, allow, applied FROM nat_vms"

/* OWNER's record: 1 (V filled), 0 none, -1 error. */
static int read_record(struct db *db, const char *owner, struct nat_vm *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, &st, SELECT_VM " WHERE owner = ?") < 0)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_row(st, v) < 0 ? -1 : 1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = db_error(db, "unable to read the NAT records");
	sqlite3_finalize(st);
	return rc;
}

static int read_all(struct db *db, struct nat_list *l)
{
	sqlite3_stmt *st = NULL;
	int rc, cap = 0;
	void *p;

	memset(l, 0, sizeof(*l));
	if (db_prepare(db, &st, SELECT_VM " ORDER BY owner") < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			p = realloc(l->v, (size_t)cap * sizeof(*l->v));
			if (!p) {
				rc = error_errno("unable to read the NAT records");
				goto out;
			}
			l->v = p;
		}
		if (read_row(st, &l->v[l->n]) < 0) {
			rc = -1;
			goto out;
		}
		l->n++;
	}
	rc = rc == SQLITE_DONE ? 0 : db_error(db, "unable to read the NAT records");
out:
	sqlite3_finalize(st);
	if (rc < 0)
		nat_list_release(l);
	return rc;
}

void nat_list_release(struct nat_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Another owner with the same TAP or guest address: 1 (OTHER filled), 0 none. */
static int conflict(struct db *db, const char *owner, const struct nat_params *p, struct nat_vm *other)
{
	sqlite3_stmt *st = NULL;
	char guest[IP4_LEN];
	int rc;

	ip4_format(p->guest, guest);
	if (db_prepare(db, &st, SELECT_VM " WHERE owner <> ?1 AND (tap = ?2 OR guest_ip = ?3) LIMIT 1") < 0)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->tap, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, guest, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_row(st, other) < 0 ? -1 : 1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = db_error(db, "unable to read the NAT records");
	sqlite3_finalize(st);
	return rc;
}

/* Record OWNER's parameters, in the caller's transaction; APPLIED 0: before
 * its rules are applied. */
static int put_record(struct db *db, const char *owner, const struct nat_params *p, int applied)
{
	char guest[IP4_LEN], allow[NAT_ALLOW_MAX * CIDR_LEN];
	sqlite3_stmt *st = NULL;

	ip4_format(p->guest, guest);
	allow_text(p, allow, sizeof(allow));
	if (db_prepare(db, &st, "INSERT OR REPLACE INTO nat_vms (owner, guest_ip, tap, uplink, allow, created,"
				" applied) VALUES (?, ?, ?, ?, ?, ?, ?)") == 0) {
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, guest, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, p->tap, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, p->uplink, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, allow, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
		sqlite3_bind_int(st, 7, applied);
	}
	return db_run(db, st, "unable to record the NAT");
}

/* The same in a transaction of its own. */
static int write_record(struct db *db, const char *owner, const struct nat_params *p, int applied)
{
	if (db_begin(db) < 0)
		return -1;
	if (put_record(db, owner, p, applied) < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

/* One statement with an integer or text parameter, in the caller's transaction. */
static int run_one(struct db *db, const char *sql, const char *text, int num)
{
	sqlite3_stmt *st = NULL;

	if (db_prepare(db, &st, sql) == 0) {
		if (text)
			sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int(st, 1, num);
	}
	return db_run(db, st, "unable to record the NAT");
}

static int mark_applied(struct db *db, const char *owner)
{
	if (db_begin(db) < 0)
		return -1;
	if (run_one(db, "UPDATE nat_vms SET applied = 1 WHERE owner = ?", owner, 0) < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

static int put_bucket(struct db *db, unsigned b)
{
	return run_one(db, "INSERT OR IGNORE INTO nat_buckets (bucket) VALUES (?)", NULL, (int)b);
}

/* Has a change made bucket B's chains and jumps? 1 yes, 0 no, -1 error. */
static int bucket_known(struct db *db, unsigned b)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, &st, "SELECT 1 FROM nat_buckets WHERE bucket = ?") < 0)
		return -1;
	sqlite3_bind_int(st, 1, (int)b);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_error(db, "unable to read the NAT records");
	sqlite3_finalize(st);
	return rc;
}

/* Delete OWNER's record, or every record (and bucket) when OWNER is NULL, in
 * the caller's transaction. */
static int delete_rows(struct db *db, const char *owner)
{
	sqlite3_stmt *st = NULL;

	if (db_prepare(db, &st, owner ? "DELETE FROM nat_vms WHERE owner = ?" : "DELETE FROM nat_vms") < 0)
		st = NULL;
	else if (owner)
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	if (db_run(db, st, "unable to remove the NAT records") < 0)
		return -1;
	if (!owner && db_exec(db, "DELETE FROM nat_buckets") < 0)
		return -1;
	return 0;
}

/* The same in a transaction of its own. */
static int delete_records(struct db *db, const char *owner)
{
	if (db_begin(db) < 0)
		return -1;
	if (delete_rows(db, owner) < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

/* ---- locks ----------------------------------------------------------------- */

/* locks/nat serializes this installation's read-compute-write; the host-wide
 * lock serializes it with every other installation's, so that none computes
 * from a ruleset another is about to change. Always taken in this order. */
struct locks {
	int local, host;
};

static int take_locks(struct install *in, struct locks *l)
{
	const char *run = getenv("EMBER_RUN_DIR");
	char path[PATH_MAX];

	l->local = l->host = -1;
	if (!run || !*run)
		run = NAT_RUN_DIR;
	if (install_path(in, path, sizeof(path), "locks/nat") < 0 ||
	    (l->local = lock_take(path, LOCK_EXCLUSIVE)) < 0)
		return -1;
	if (file_mkdirs(run, 0755) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/xtables.lock", run);
	l->host = lock_take(path, LOCK_EXCLUSIVE);
	if (l->host < 0)
		goto fail;
	return 0;
fail:
	lock_release(l->local);
	l->local = -1;
	return -1;
}

static void release_locks(struct locks *l)
{
	lock_release(l->host);
	lock_release(l->local);
	l->host = l->local = -1;
}

/* ---- the kernel's rules, as this installation sees them ------------------- */

struct view {
	const struct install *in;
	struct ipt_ruleset rs;
	int docker;                    /* a DOCKER-USER chain exists */
	char chain[3][IPT_CHAIN_LEN];  /* ours ("" legacy postrouting) */
	char jump_token[16];           /* "ember:<id>", "" legacy */
	int *by_comment;               /* rules with a comment, by (comment, position) */
	int n_by_comment;
	/* what state_of found of the jumps: 0 not looked yet, 1 there, 2 not */
	unsigned char jumps_ok, buckets_ok[NAT_BUCKETS];
};

static const char *chain_table(int which)
{
	return which == NAT_POSTROUTING ? "nat" : "filter";
}

static int ours_table(const char *table)
{
	return strcmp(table, "filter") == 0 || strcmp(table, "nat") == 0;
}

static int cmp_comment(const void *a, const void *b, void *ctx)
{
	const struct ipt_rule *rules = ctx;
	int x = *(const int *)a, y = *(const int *)b;
	int c = strcmp(rules[x].comment, rules[y].comment);

	return c ? c : (x > y) - (x < y);
}

static void view_release(struct view *v)
{
	ipt_ruleset_release(&v->rs);
	free(v->by_comment);
	v->by_comment = NULL;
}

static int view_index(struct view *v);

static int view_load(struct view *v, const struct install *in)
{
	int i;

	memset(v, 0, sizeof(*v));
	v->in = in;
	for (i = 0; i < 3; i++)
		nat_chain_name(in, (enum nat_chain)i, v->chain[i], sizeof(v->chain[i]));
	nat_comment(in, NULL, v->jump_token, sizeof(v->jump_token));
	if (ipt_save(&v->rs) < 0)
		return -1;
	v->docker = ipt_find_chain(&v->rs, "filter", "DOCKER-USER") != NULL;
	return view_index(v);
}

/* Index V's rules by their comment. */
static int view_index(struct view *v)
{
	int i;

	v->by_comment = malloc(sizeof(int) * (size_t)(v->rs.nrules + 1));
	if (!v->by_comment) {
		view_release(v);
		return error_errno("unable to index the rules");
	}
	for (i = 0; i < v->rs.nrules; i++)
		if (v->rs.rules[i].comment && ours_table(v->rs.rules[i].table))
			v->by_comment[v->n_by_comment++] = i;
	qsort_r(v->by_comment, (size_t)v->n_by_comment, sizeof(int), cmp_comment, v->rs.rules);
	return 0;
}

static int legacy(const struct view *v)
{
	return !v->jump_token[0];
}

/* The positions of rules whose comment is exactly TOKEN: [*first, *first + n). */
static int with_comment(const struct view *v, const char *token, int *first)
{
	int lo = 0, hi = v->n_by_comment, mid, n = 0;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (strcmp(v->rs.rules[v->by_comment[mid]].comment, token) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + n < v->n_by_comment && strcmp(v->rs.rules[v->by_comment[lo + n]].comment, token) == 0)
		n++;
	return n;
}

static int same_rule(const struct ipt_rule *r, const struct nat_rule *e, const char *e_norm, int or_base)
{
	return strcmp(r->table, e->table) == 0 &&
	       (strcmp(r->chain, e->chain) == 0 || (or_base && strcmp(r->chain, base_of(e->chain)) == 0)) &&
	       strcmp(r->norm, e_norm) == 0;
}

#define OWNED_MAX 512

static int our_chain(const struct view *v, const char *table, const char *name, int *bucket);

/* The rules the kernel has for OWNER, whose expected rules are E (N of them):
 * those carrying its token in one of our chains (a per-VM token anywhere
 * else was not written by this installation: nothing proves it ours), or,
 * legacy, those whose text is one of E's (in E's chain or, written by an
 * older layout, its base chain). Positions in ruleset order into OUT;
 * returns how many. */
static int owned_rules(const struct view *v, const char *owner, const struct nat_rule *e,
		       char (*e_norm)[NAT_SPEC_LEN], int ne, int *out)
{
	char token[64];
	int i, j, first, n = 0, k;

	if (!legacy(v)) {
		nat_comment(v->in, owner, token, sizeof(token));
		k = with_comment(v, token, &first);
		for (i = 0; i < k && n < OWNED_MAX; i++) {
			const struct ipt_rule *r = &v->rs.rules[v->by_comment[first + i]];

			if (our_chain(v, r->table, r->chain, &j) >= 0)
				out[n++] = v->by_comment[first + i];
		}
		return n;
	}
	for (i = 0; i < v->rs.nrules && n < OWNED_MAX; i++) {
		for (j = 0; j < ne; j++)
			if (same_rule(&v->rs.rules[i], &e[j], e_norm[j], 1))
				break;
		if (j < ne)
			out[n++] = i;
	}
	return n;
}

/* How OWNER's kernel rules (A, NA) compare with E: *MATCHED expected rules
 * are present; returns 1 when A is exactly E in E's order. */
static int compare(const struct view *v, const int *a, int na, const struct nat_rule *e,
		   char (*e_norm)[NAT_SPEC_LEN], int ne, int *matched, int *used)
{
	int i, j, exact = na == ne;

	*matched = 0;
	for (i = 0; i < na; i++)
		used[i] = 0;
	for (j = 0; j < ne; j++) {
		for (i = 0; i < na; i++)
			if (!used[i] && same_rule(&v->rs.rules[a[i]], &e[j], e_norm[j], 0))
				break;
		if (i < na) {
			used[i] = 1;
			(*matched)++;
		}
	}
	/* exact: chain by chain, the same rules in the same order */
	for (j = 0; j < ne && exact; j++) {
		int x = 0, y = 0;

		if (j > 0 && strcmp(e[j - 1].chain, e[j].chain) == 0 && e[j - 1].table == e[j].table)
			continue; /* this chain was compared already */
		while (exact) {
			while (x < na && (strcmp(v->rs.rules[a[x]].table, e[j].table) != 0 ||
					  strcmp(v->rs.rules[a[x]].chain, e[j].chain) != 0))
				x++;
			while (y < ne && (strcmp(e[y].table, e[j].table) != 0 || strcmp(e[y].chain, e[j].chain) != 0))
				y++;
			if (x == na || y == ne) {
				exact = x == na && y == ne;
				break;
			}
			exact = same_rule(&v->rs.rules[a[x]], &e[y], e_norm[y], 0);
			x++;
			y++;
		}
	}
	return exact && *matched == ne;
}

static void normalize_all(const struct nat_rule *e, int ne, char (*norm)[NAT_SPEC_LEN])
{
	int i;

	for (i = 0; i < ne; i++)
		ipt_normalize(e[i].spec, norm[i], NAT_SPEC_LEN);
}

/* How many times the jump J is in the kernel. */
static int count_rule(const struct view *v, const struct nat_rule *j)
{
	char norm[NAT_SPEC_LEN];
	int i, n = 0;

	ipt_normalize(j->spec, norm, sizeof(norm));
	for (i = 0; i < v->rs.nrules; i++)
		if (same_rule(&v->rs.rules[i], j, norm, 0))
			n++;
	return n;
}

/* Is a rule's comment one of this installation's per-VM tokens? */
static int vm_token(const struct view *v, const char *comment, char owner[NAME_MAX_LEN + 1])
{
	size_t n = strlen(v->jump_token);

	if (legacy(v) || !comment || strncmp(comment, v->jump_token, n) != 0 || comment[n] != ':' ||
	    !name_valid(comment + n + 1))
		return 0;
	if (owner)
		snprintf(owner, NAME_MAX_LEN + 1, "%s", comment + n + 1);
	return 1;
}

/* Is NAME (in TABLE) one of our chain names? The hook it serves (0..2),
 * *BUCKET = -1 for the hook's shared chain or its bucket; -1 when not ours. */
static int our_chain(const struct view *v, const char *table, const char *name, int *bucket)
{
	size_t n;
	int i;

	for (i = 0; i < 3; i++) {
		if (!v->chain[i][0] || strcmp(table, chain_table(i)) != 0)
			continue;
		if (strcmp(name, v->chain[i]) == 0) {
			*bucket = -1;
			return i;
		}
		n = strlen(v->chain[i]);
		if (legacy(v) || strncmp(name, v->chain[i], n) != 0 || name[n] != '-')
			continue;
		name += n + 1;
		if (strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2 &&
		    (*bucket = (int)strtol(name, NULL, 16)) < NAT_BUCKETS)
			return i;
		return -1;
	}
	return -1;
}

/* Our chain NAME of TABLE, when the kernel has it: 0 when it is provably
 * ours (a legacy installation's historic names prove themselves), 1 when it
 * exists but is not (WHY says how), -1 when it does not exist. Ours: every
 * rule in it is a VM's of this installation (or, in a shared chain, a jump
 * tagged ours to one of its buckets), and it is jumped to by a tagged jump
 * or holds a rule of ours. */
static int chain_foreign_named(const struct view *v, const char *table, const char *name, char *why,
			       size_t n)
{
	int i, which, bucket, b, rules = 0, jumped = 0;

	which = our_chain(v, table, name, &bucket);
	if (which < 0 || !ipt_find_chain(&v->rs, table, name))
		return -1;
	if (legacy(v))
		return 0;
	for (i = 0; i < v->rs.nrules; i++) {
		const struct ipt_rule *r = &v->rs.rules[i];
		int tagged = r->comment && strcmp(r->comment, v->jump_token) == 0;

		if (strcmp(r->table, table) != 0)
			continue;
		if (strcmp(r->chain, name) == 0) {
			rules++;
			if (!vm_token(v, r->comment, NULL) &&
			    !(bucket < 0 && tagged && r->target && our_chain(v, table, r->target, &b) == which &&
			      b >= 0)) {
				snprintf(why, n, "it holds a rule that is not this installation's: -A %s %s", name,
					 r->spec);
				return 1;
			}
		}
		if (tagged && r->target && strcmp(r->target, name) == 0)
			jumped = 1;
	}
	if (!jumped && !rules) {
		snprintf(why, n, "no jump tagged '%s' leads to it and it holds no rule of ours", v->jump_token);
		return 1;
	}
	return 0;
}

/* Refuse (102) when a chain of our name exists that is not provably ours:
 * the shared chains, then every bucket chain the kernel has. */
static int chains_proven(const struct view *v)
{
	char why[NAT_SPEC_LEN + 128];
	int i, b;

	for (i = 0; i < v->rs.nchains; i++) {
		const struct ipt_chain *c = &v->rs.chains[i];

		if (our_chain(v, c->table, c->name, &b) < 0)
			continue;
		if (chain_foreign_named(v, c->table, c->name, why, sizeof(why)) == 1) {
			error_code(EXIT_REFUSED, "chain '%s' (table %s) exists but is not this installation's: %s",
				   c->name, c->table, why);
			error_hint("another program uses the name; remove or rename its chain, or give this "
				   "installation another --instance-id");
			return -1;
		}
	}
	return 0;
}

/* ---- the restore script ----------------------------------------------------- */

struct script {
	char *buf[2]; /* filter, nat */
	size_t len[2];
	FILE *f[2];
	int n[2]; /* lines per table */
	int lines;
};

static int script_open(struct script *s)
{
	int t;

	memset(s, 0, sizeof(*s));
	for (t = 0; t < 2; t++) {
		s->f[t] = open_memstream(&s->buf[t], &s->len[t]);
		if (!s->f[t])
			return error_errno("unable to build the rules");
	}
	return 0;
}

static void script_line(struct script *s, const char *table, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void script_line(struct script *s, const char *table, const char *fmt, ...)
{
	va_list ap;
	int t = strcmp(table, "nat") == 0;

	va_start(ap, fmt);
	vfprintf(s->f[t], fmt, ap);
	va_end(ap);
	fputc('\n', s->f[t]);
	s->n[t]++;
	s->lines++;
}

static void script_release(struct script *s)
{
	int t;

	for (t = 0; t < 2; t++) {
		if (s->f[t])
			fclose(s->f[t]);
		free(s->buf[t]);
	}
	memset(s, 0, sizeof(*s));
}

/* Apply the script (nothing when it is empty): filter, then nat, each table
 * a transaction of its own. TRY: a script that asserts: 1 when iptables
 * refused it, *APPLIED (TRY only) then has bit t set for each table t that
 * was committed before the refusal (filter 1, nat 2). */
static int script_run(struct script *s, int try, unsigned *applied)
{
	int t, rc, line = 0, failed = 0, commit[2] = {0, 0};
	char *all = NULL;
	size_t len = 0;
	FILE *f;

	if (applied)
		*applied = 0;
	if (!s->lines)
		return 0;
	for (t = 0; t < 2; t++) {
		fclose(s->f[t]);
		s->f[t] = NULL;
	}
	f = open_memstream(&all, &len);
	if (!f)
		return error_errno("unable to build the rules");
	for (t = 0; t < 2; t++) {
		if (!s->len[t])
			continue;
		fprintf(f, "*%s\n%sCOMMIT\n", t ? "nat" : "filter", s->buf[t]);
		line += s->n[t] + 2;
		commit[t] = line;
	}
	fclose(f);
	rc = try ? ipt_try_restore(all, &failed) : ipt_restore(all);
	free(all);
	for (t = 0; rc == 1 && applied && t < 2; t++)
		if (commit[t] && commit[t] < failed)
			*applied |= 1u << t;
	return rc;
}

static int script_apply(struct script *s)
{
	return script_run(s, 0, NULL);
}

/* Create our missing chains and jumps: the shared chains and their jumps
 * and, for OWNER (may be NULL), its bucket chains and the jumps to them.
 * Chains are declared before any rule. */
static void ensure_base(const struct view *v, struct script *s, const char *owner)
{
	struct nat_rule j[4], bj[3];
	char bucket[IPT_CHAIN_LEN];
	int i, nj, nb = 0;

	for (i = 0; i < 3; i++)
		if (v->chain[i][0] && !ipt_find_chain(&v->rs, chain_table(i), v->chain[i]))
			script_line(s, chain_table(i), ":%s - [0:0]", v->chain[i]);
	if (owner)
		nb = nat_bucket_jumps(v->in, owner, bj);
	for (i = 0; i < nb; i++) {
		nat_bucket_chain(v->in, (enum nat_chain)i, owner, bucket, sizeof(bucket));
		if (!ipt_find_chain(&v->rs, chain_table(i), bucket))
			script_line(s, chain_table(i), ":%s - [0:0]", bucket);
	}
	nj = nat_jumps(v->in, v->docker, j);
	for (i = 0; i < nj; i++)
		if (count_rule(v, &j[i]) == 0)
			script_line(s, j[i].table, "-I %s %s", j[i].chain, j[i].spec);
	for (i = 0; i < nb; i++)
		if (count_rule(v, &bj[i]) == 0)
			script_line(s, bj[i].table, "-A %s %s", bj[i].chain, bj[i].spec);
}

/* ---- verbs ------------------------------------------------------------------ */

/* The interfaces P names are what they are said to be: the TAP a TAP (a
 * rule "-i T -j DROP" on any other link cuts the host off from it), the
 * uplink an existing link that is neither the TAP nor the loopback. */
static int check_links(const struct nat_params *p)
{
	enum sysctl_link_kind k = sysctl_link_kind(p->tap);

	if (k == LINK_NONE) {
		error_code(EXIT_USAGE, "TAP '%s' does not exist", p->tap);
		error_hint("create it first: ember-tap create OWNER --address HOST_IP/PREFIX");
		return -1;
	}
	if (k != LINK_TAP) {
		error_code(EXIT_USAGE, "'%s' is not a TAP: %s", p->tap,
			   k == LINK_LOOPBACK ? "it is the loopback interface"
			   : k == LINK_TUN    ? "it is a TUN device (no Ethernet frames)"
					      : "it is a link of another kind");
		error_hint("name the guest's TAP with --tap (ember-tap show OWNER prints it)");
		return -1;
	}
	if (!p->uplink[0])
		return 0; /* not resolved yet: the default route's, checked then */
	if (strcmp(p->uplink, p->tap) == 0)
		return error_code(EXIT_USAGE, "uplink '%s' is the guest's TAP", p->uplink);
	k = sysctl_link_kind(p->uplink);
	if (k == LINK_NONE) {
		error_code(EXIT_USAGE, "uplink '%s' does not exist", p->uplink);
		error_hint("name an interface of this host with --uplink IF");
		return -1;
	}
	if (k == LINK_LOOPBACK) {
		error_code(EXIT_USAGE, "uplink '%s' is the loopback interface", p->uplink);
		error_hint("name the interface toward the outside with --uplink IF");
		return -1;
	}
	return 0;
}

static const char *state_of(struct view *v, const struct nat_vm *vm);

/* Before the fast path writes into OWNER's bucket chains: they and the
 * shared chains are provably ours, as the slow path proves them
 * (chain_foreign_named), read in one command that lists only them; and when
 * E (NE rules) is given, the recorded owner's rules there are exactly E, in
 * order (a -C cannot see a rule twice or out of order). 0 yes; 1 not, or
 * one is missing (the slow path then reads every rule, refuses what is not
 * ours, 102, and repairs the rest); -1 error. */
static int fast_proven(const struct install *in, const char *owner, const struct nat_rule *e,
		       int ne)
{
	const char *tables[6], *chains[6];
	char names[6][IPT_CHAIN_LEN], why[NAT_SPEC_LEN + 128], e_norm[NAT_RULES_MAX][NAT_SPEC_LEN];
	int a[OWNED_MAX], used[OWNED_MAX], i, n = 0, rc, na, matched;
	struct view v = {0};

	v.in = in;
	nat_comment(in, NULL, v.jump_token, sizeof(v.jump_token));
	for (i = 0; i < 3; i++) {
		nat_chain_name(in, (enum nat_chain)i, v.chain[i], sizeof(v.chain[i]));
		snprintf(names[n], sizeof(names[n]), "%s", v.chain[i]);
		nat_bucket_chain(in, (enum nat_chain)i, owner, names[n + 1], sizeof(names[n + 1]));
		tables[n] = tables[n + 1] = chain_table(i);
		chains[n] = names[n];
		chains[n + 1] = names[n + 1];
		n += 2;
	}
	rc = ipt_read_chains(tables, chains, n, &v.rs);
	for (i = 0; rc == 0 && i < n; i++)
		if (chain_foreign_named(&v, tables[i], chains[i], why, sizeof(why)) != 0)
			rc = 1;
	if (rc == 0 && e) {
		if (view_index(&v) < 0) {
			rc = -1;
		} else {
			normalize_all(e, ne, e_norm);
			na = owned_rules(&v, owner, e, e_norm, ne, a);
			if (!compare(&v, a, na, e, e_norm, ne, &matched, used))
				rc = 1;
		}
	}
	view_release(&v);
	return rc;
}

/* The fast path of up: one restore that asserts the jumps into OWNER's
 * buckets are there (-C) and appends its rules E, or, when they are recorded
 * as applied (FOUND) and were read exactly so, asserts them too. 0 done, 1
 * the kernel is not as recorded (nothing changed: read it), -1 error
 * (anything may have been applied). A new owner is recorded first (applied
 * = 0, *PENDING = 1), so a crash after the restore leaves a record that
 * sends the next change to read the kernel, never one that appends the
 * rules twice. Each table commits on its own: when a later table refuses,
 * what the earlier ones appended is taken back, so that a refusal leaves
 * the kernel as it was. */
static int fast_up(struct install *in, struct db *db, const char *owner, const struct nat_params *p,
		   int found, const struct nat_rule *e, int ne, int *pending)
{
	struct nat_rule j[4], bj[3];
	unsigned applied = 0;
	struct script s;
	int docker, nj, nb, i, rc;

	rc = bucket_known(db, nat_bucket(owner));
	if (rc <= 0)
		return rc < 0 ? -1 : 1; /* a bucket no change made yet: read the kernel */
	rc = fast_proven(in, owner, found ? e : NULL, ne);
	if (rc != 0)
		return rc;
	docker = ipt_chain_exists("filter", "DOCKER-USER");
	if (docker < 0)
		return -1;
	if (!found) {
		if (write_record(db, owner, p, 0) < 0)
			return -1;
		*pending = 1;
	}
	if (script_open(&s) < 0)
		return -1;
	nj = nat_jumps(in, docker, j);
	for (i = 0; i < nj; i++)
		script_line(&s, j[i].table, "-C %s %s", j[i].chain, j[i].spec);
	nb = nat_bucket_jumps(in, owner, bj);
	for (i = 0; i < nb; i++)
		script_line(&s, bj[i].table, "-C %s %s", bj[i].chain, bj[i].spec);
	for (i = 0; i < ne; i++)
		script_line(&s, e[i].table, "%s %s %s", found ? "-C" : "-A", e[i].chain, e[i].spec);
	crash_point("nat-up-recorded");
	rc = script_run(&s, 1, &applied);
	script_release(&s);
	crash_point("nat-up-applied");
	if (rc == 1 && applied && !found) {
		if (script_open(&s) < 0)
			return -1;
		for (i = 0; i < ne; i++)
			if (applied & (1u << (strcmp(e[i].table, "nat") == 0)))
				script_line(&s, e[i].table, "-D %s %s", e[i].chain, e[i].spec);
		i = script_apply(&s);
		script_release(&s);
		if (i < 0)
			return -1;
	}
	if (rc == 0 && !found) {
		if (mark_applied(db, owner) < 0)
			return -1;
		*pending = 0;
	}
	return rc;
}

int nat_up(struct install *in, const char *owner, const struct nat_params *want, struct nat_vm *v,
	   int *created)
{
	struct nat_rule e[NAT_RULES_MAX];
	char e_norm[NAT_RULES_MAX][NAT_SPEC_LEN], what[NAT_ALLOW_MAX * CIDR_LEN + 128];
	int a[OWNED_MAX], used[OWNED_MAX];
	struct nat_vm rec, other;
	struct nat_params p = *want;
	struct locks l = {-1, -1};
	struct view view = {0};
	struct script s = {0};
	int found, ne, na, i, matched, pending = 0, restored = 0, rc = -1;
	struct db *db;

	*created = 0;
	/* before anything is made: a backend that cannot be, links that are
	 * not what they are named as */
	if (ipt_env_check() < 0 || check_links(&p) < 0)
		return -1;
	if (nat_open(in, 1, &db) < 0 || take_locks(in, &l) < 0)
		return -1;
	found = read_record(db, owner, &rec);
	if (found < 0)
		goto out;
	if (!p.uplink[0]) {
		if (found) {
			snprintf(p.uplink, sizeof(p.uplink), "%s", rec.p.uplink);
		} else {
			i = sysctl_default_uplink(p.uplink, sizeof(p.uplink));
			if (i < 0)
				goto out;
			if (i == 0) {
				error_code(EXIT_USAGE, "no uplink: this host has no default route");
				error_hint("name the interface toward the outside with --uplink IF");
				goto out;
			}
		}
	}
	if (check_links(&p) < 0)
		goto out;
	if (found && !nat_params_equal(&rec.p, &p)) {
		describe(&rec.p, what, sizeof(what));
		error_code(EXIT_REFUSED, "NAT of '%s' is up with other parameters: %s", owner, what);
		error_hint("take it down first: ember-nat down %s", owner);
		goto out;
	}
	i = conflict(db, owner, &p, &other);
	if (i < 0)
		goto out;
	if (i) {
		describe(&other.p, what, sizeof(what));
		error_code(EXIT_REFUSED, "'%s' has that TAP or guest address already: %s", other.owner, what);
		goto out;
	}
	if (sysctl_ip_forward_enable() < 0)
		goto out;
	ne = nat_vm_rules(in, owner, &p, e);
	if (install_namespace(in) && (!found || rec.applied)) {
		restored = 1; /* from here a failure may leave rules applied */
		i = fast_up(in, db, owner, &p, found, e, ne, &pending);
		if (i < 0)
			goto out;
		if (i == 0) {
			*created = !found;
			goto done;
		}
	}
	/* read every rule, and make them exactly what they should be */
	restored = 0;
	if (view_load(&view, in) < 0 || chains_proven(&view) < 0)
		goto out;
	if (script_open(&s) < 0)
		goto out;
	ensure_base(&view, &s, owner);
	normalize_all(e, ne, e_norm);
	na = owned_rules(&view, owner, e, e_norm, ne, a);
	if (!compare(&view, a, na, e, e_norm, ne, &matched, used)) {
		/* anything but exactly these rules in this order: replace them all,
		 * so an ACCEPT never lands after its TAP's DROP */
		for (i = 0; i < na; i++)
			script_line(&s, view.rs.rules[a[i]].table, "-D %s %s", view.rs.rules[a[i]].chain,
				    view.rs.rules[a[i]].spec);
		for (i = 0; i < ne; i++)
			script_line(&s, e[i].table, "-A %s %s", e[i].chain, e[i].spec);
	}
	if (s.lines)
		*created = 1;
	/* the database's write lock before the kernel changes: a database that
	 * cannot be written fails the command with nothing changed */
	if (db_begin(db) < 0)
		goto out;
	restored = 1;
	if (script_apply(&s) < 0)
		goto out;
	if (!found || !rec.applied || pending) {
		if (put_record(db, owner, &p, 1) < 0)
			goto out;
		*created = 1;
	}
	if (install_namespace(in) && put_bucket(db, nat_bucket(owner)) < 0)
		goto out;
	if (db_commit(db) < 0)
		goto out;
	pending = 0;
done:
	memset(v, 0, sizeof(*v));
	snprintf(v->owner, sizeof(v->owner), "%s", owner);
	v->p = p;
	v->recorded = 1;
	v->applied = 1;
	v->state = "up";
	rc = 0;
out:
	db_rollback(db);
	/* a record made for a change that surely reached no kernel goes again */
	if (rc < 0 && pending && !restored) {
		struct error_saved saved;

		error_save(&saved);
		delete_records(db, owner);
		error_restore(&saved);
	}
	script_release(&s);
	view_release(&view);
	release_locks(&l);
	return rc;
}

int nat_down(struct install *in, const char *owner, const struct nat_params *unrecorded,
	     struct nat_vm *v, int *removed)
{
	struct nat_rule e[NAT_RULES_MAX];
	char e_norm[NAT_RULES_MAX][NAT_SPEC_LEN];
	const struct nat_params *p = NULL;
	struct locks l = {-1, -1};
	struct view view = {0};
	struct script s = {0};
	int a[OWNED_MAX], found, ne = 0, na, i, rc;
	struct db *db;

	*removed = 0;
	memset(v, 0, sizeof(*v));
	snprintf(v->owner, sizeof(v->owner), "%s", owner);
	v->state = "down";
	rc = nat_open(in, unrecorded != NULL, &db);
	if (rc <= 0)
		return rc; /* no table: this installation never set up NAT */
	rc = -1;
	if (take_locks(in, &l) < 0)
		return -1;
	found = read_record(db, owner, v);
	if (found < 0)
		goto out;
	v->state = "down";
	if (found)
		p = &v->p;
	else if (unrecorded && !install_namespace(in))
		p = unrecorded;
	if (!found && !p && !install_namespace(in)) {
		rc = 0; /* legacy rules are found by their text: without it, nothing is ours */
		goto out;
	}
	/* the database's write lock before the kernel changes: a database that
	 * cannot be written fails the command with nothing changed */
	if (db_begin_freeing(db) < 0)
		goto out;
	if (found && v->applied && install_namespace(in)) {
		/* the fast path: delete exactly the recorded rules. A table that
		 * refuses sends the change to read the kernel; what an earlier
		 * table removed is gone, as down wants */
		ne = nat_vm_rules(in, owner, p, e);
		if (script_open(&s) < 0)
			goto out;
		for (i = 0; i < ne; i++)
			script_line(&s, e[i].table, "-D %s %s", e[i].chain, e[i].spec);
		i = script_run(&s, 1, NULL);
		script_release(&s);
		if (i < 0)
			goto out;
		if (i == 0) {
			crash_point("nat-down-deleted");
			if (delete_rows(db, owner) < 0 || db_commit(db) < 0)
				goto out;
			*removed = 1;
			rc = 0;
			goto out;
		}
		/* not as recorded: read every rule and remove what carries its token */
	}
	if (view_load(&view, in) < 0 || script_open(&s) < 0)
		goto out;
	if (p) {
		ne = nat_vm_rules(in, owner, p, e);
		normalize_all(e, ne, e_norm);
	}
	na = owned_rules(&view, owner, e, e_norm, ne, a);
	for (i = 0; i < na; i++)
		script_line(&s, view.rs.rules[a[i]].table, "-D %s %s", view.rs.rules[a[i]].chain,
			    view.rs.rules[a[i]].spec);
	if (script_apply(&s) < 0)
		goto out;
	if (found && delete_rows(db, owner) < 0)
		goto out;
	if (db_commit(db) < 0)
		goto out;
	if (found || na) {
		*removed = 1;
		if (!found && p) {
			v->p = *p;
			v->recorded = 1;
		}
	}
	rc = 0;
out:
	db_rollback(db);
	script_release(&s);
	view_release(&view);
	release_locks(&l);
	return rc;
}

/* "up", "partial" or "missing": how much of VM's rules (and the jumps into
 * our chains) the kernel has. */
static const char *state_of(struct view *v, const struct nat_vm *vm)
{
	struct nat_rule e[NAT_RULES_MAX], j[4];
	char e_norm[NAT_RULES_MAX][NAT_SPEC_LEN];
	int a[OWNED_MAX], used[OWNED_MAX], ne, na, nj, i, matched, exact;
	unsigned b;

	ne = nat_vm_rules(v->in, vm->owner, &vm->p, e);
	normalize_all(e, ne, e_norm);
	na = owned_rules(v, vm->owner, e, e_norm, ne, a);
	exact = compare(v, a, na, e, e_norm, ne, &matched, used);
	if (matched == 0)
		return "missing";
	if (exact && !v->jumps_ok) {
		nj = nat_jumps(v->in, v->docker, j);
		for (i = 0; i < nj && exact; i++)
			exact = count_rule(v, &j[i]) > 0;
		v->jumps_ok = exact ? 1 : 2;
	}
	exact = exact && v->jumps_ok == 1;
	b = nat_bucket(vm->owner);
	if (exact && !legacy(v) && !v->buckets_ok[b]) {
		nj = nat_bucket_jumps(v->in, vm->owner, j);
		for (i = 0; i < nj && exact; i++)
			exact = count_rule(v, &j[i]) > 0;
		v->buckets_ok[b] = exact ? 1 : 2;
	}
	exact = exact && (legacy(v) || v->buckets_ok[b] == 1);
	return exact ? "up" : "partial";
}

int nat_show(struct install *in, const char *owner, struct nat_vm *v)
{
	struct view view = {0};
	struct db *db;
	int rc;

	rc = nat_open(in, 0, &db);
	if (rc <= 0)
		return rc;
	rc = read_record(db, owner, v);
	if (rc <= 0)
		return rc;
	if (view_load(&view, in) < 0)
		return -1;
	v->state = state_of(&view, v);
	view_release(&view);
	return 1;
}

int nat_list(struct install *in, struct nat_list *l)
{
	struct view view = {0};
	struct db *db;
	int rc, i;

	memset(l, 0, sizeof(*l));
	rc = nat_open(in, 0, &db);
	if (rc <= 0)
		return rc;
	if (read_all(db, l) < 0)
		return -1;
	if (l->n == 0)
		return 0;
	if (view_load(&view, in) < 0) {
		nat_list_release(l);
		return -1;
	}
	for (i = 0; i < l->n; i++)
		l->v[i].state = state_of(&view, &l->v[i]);
	view_release(&view);
	return 0;
}

static void report_rule(nat_report_fn report, void *ctx, const char *owner, const char *kind,
			const char *table, const char *chain, const char *spec)
{
	char detail[NAT_SPEC_LEN + 64];

	snprintf(detail, sizeof(detail), "-t %s -A %s %s", table, chain, spec);
	report(ctx, owner, kind, detail);
}

int nat_check(struct install *in, nat_report_fn report, void *ctx)
{
	struct nat_rule e[NAT_RULES_MAX], j[4];
	char e_norm[NAT_RULES_MAX][NAT_SPEC_LEN], why[NAT_SPEC_LEN + 128], owner[NAME_MAX_LEN + 1];
	int a[OWNED_MAX], used[OWNED_MAX], ne, na, nj, i, k, b, x, matched, n = 0, any = 0, rc;
	unsigned char seen[NAT_BUCKETS] = {0};
	struct nat_list l = {0};
	struct view view = {0};
	unsigned char *claimed = NULL;
	struct db *db;

	rc = nat_open(in, 0, &db);
	if (rc <= 0)
		return rc;
	if (read_all(db, &l) < 0 || view_load(&view, in) < 0)
		goto fail;
	claimed = calloc((size_t)view.rs.nrules + 1, 1);
	if (!claimed) {
		error_errno("unable to check the rules");
		goto fail;
	}
	/* the chains (shared, then buckets), and the jumps into them */
	for (i = 0; i < view.rs.nchains; i++) {
		const struct ipt_chain *c = &view.rs.chains[i];

		if (our_chain(&view, c->table, c->name, &b) < 0)
			continue;
		k = chain_foreign_named(&view, c->table, c->name, why, sizeof(why));
		if (k == 0)
			any = 1; /* installed: a chain of ours exists */
		if (k == 1) {
			char d[sizeof(why) + 64];

			snprintf(d, sizeof(d), "-t %s %s: %s", c->table, c->name, why);
			report(ctx, "-", "foreign-chain", d);
			n++;
		}
	}
	nj = nat_jumps(in, view.docker, j);
	for (i = 0; i < nj; i++)
		if (count_rule(&view, &j[i]))
			any = 1;
	if (any || l.n) {
		for (i = 0; i < 3; i++) {
			if (view.chain[i][0] && !ipt_find_chain(&view.rs, chain_table(i), view.chain[i])) {
				char d[96];

				snprintf(d, sizeof(d), "-t %s -N %s", chain_table(i), view.chain[i]);
				report(ctx, "-", "missing-chain", d);
				n++;
			}
		}
		for (i = 0; i < nj; i++) {
			k = count_rule(&view, &j[i]);
			if (k == 0) {
				report_rule(report, ctx, "-", "missing-jump", j[i].table, j[i].chain, j[i].spec);
				n++;
			}
			for (; k > 1; k--, n++)
				report_rule(report, ctx, "-", "extra-jump", j[i].table, j[i].chain, j[i].spec);
		}
	}
	/* the bucket of each recorded VM: its chains and the jumps to them */
	for (k = 0; k < l.n; k++) {
		char bucket[IPT_CHAIN_LEN];

		b = (int)nat_bucket(l.v[k].owner);
		if (legacy(&view) || seen[b]++)
			continue;
		nj = nat_bucket_jumps(in, l.v[k].owner, j);
		for (i = 0; i < nj; i++) {
			nat_bucket_chain(in, (enum nat_chain)i, l.v[k].owner, bucket, sizeof(bucket));
			if (!ipt_find_chain(&view.rs, chain_table(i), bucket)) {
				char d[96];

				snprintf(d, sizeof(d), "-t %s -N %s", chain_table(i), bucket);
				report(ctx, "-", "missing-chain", d);
				n++;
			}
			x = count_rule(&view, &j[i]);
			if (x == 0) {
				report_rule(report, ctx, "-", "missing-jump", j[i].table, j[i].chain, j[i].spec);
				n++;
			}
			for (; x > 1; x--, n++)
				report_rule(report, ctx, "-", "extra-jump", j[i].table, j[i].chain, j[i].spec);
		}
	}
	/* every recorded VM: its rules, exactly */
	for (k = 0; k < l.n; k++) {
		int y;

		ne = nat_vm_rules(in, l.v[k].owner, &l.v[k].p, e);
		normalize_all(e, ne, e_norm);
		na = owned_rules(&view, l.v[k].owner, e, e_norm, ne, a);
		i = compare(&view, a, na, e, e_norm, ne, &matched, used);
		for (x = 0; x < na; x++)
			claimed[a[x]] = 1;
		for (y = 0; y < ne; y++) {
			for (x = 0; x < na; x++)
				if (same_rule(&view.rs.rules[a[x]], &e[y], e_norm[y], 0))
					break;
			if (x == na) {
				report_rule(report, ctx, l.v[k].owner, "missing-rule", e[y].table, e[y].chain,
					    e[y].spec);
				n++;
			}
		}
		for (x = 0; x < na; x++) {
			if (!used[x]) {
				const struct ipt_rule *r = &view.rs.rules[a[x]];

				report_rule(report, ctx, l.v[k].owner, "extra-rule", r->table, r->chain, r->spec);
				n++;
			}
		}
		if (!i && matched == ne && na == ne) {
			report(ctx, l.v[k].owner, "misordered", "its rules are not in the order they were written");
			n++;
		}
	}
	/* rules that are ours but no recorded VM's */
	for (i = 0; i < view.rs.nrules; i++) {
		const struct ipt_rule *r = &view.rs.rules[i];

		if (claimed[i] || !ours_table(r->table))
			continue;
		if ((vm_token(&view, r->comment, owner) &&
		     our_chain(&view, r->table, r->chain, &b) >= 0) ||
		    (legacy(&view) &&
		     (strcmp(r->chain, view.chain[NAT_INPUT]) == 0 ||
		      strcmp(r->chain, view.chain[NAT_FORWARD]) == 0) &&
		     strcmp(r->table, "filter") == 0 &&
		     (snprintf(owner, sizeof(owner), "-") > 0))) {
			report_rule(report, ctx, owner, "extra-rule", r->table, r->chain, r->spec);
			n++;
		}
	}
	free(claimed);
	view_release(&view);
	nat_list_release(&l);
	return n;
fail:
	free(claimed);
	view_release(&view);
	nat_list_release(&l);
	return -1;
}

int nat_flush(struct install *in, struct nat_list *out_list)
{
	struct nat_rule e[NAT_RULES_MAX], j[4];
	char e_norm[NAT_RULES_MAX][NAT_SPEC_LEN], jnorm[NAT_SPEC_LEN];
	int a[OWNED_MAX], i, k, x, ne, na, nj, rc = -1;
	struct locks l = {-1, -1};
	struct nat_list recs = {0};
	struct view view = {0};
	struct script s = {0};
	unsigned char *gone = NULL;
	struct db *db;

	if (out_list)
		memset(out_list, 0, sizeof(*out_list));
	rc = nat_open(in, 0, &db);
	if (rc <= 0)
		return rc; /* never set up: nothing to remove, no iptables needed */
	rc = -1;
	if (take_locks(in, &l) < 0)
		return -1;
	if (read_all(db, &recs) < 0 || view_load(&view, in) < 0 || chains_proven(&view) < 0 ||
	    script_open(&s) < 0)
		goto out;
	gone = calloc((size_t)view.rs.nrules + 1, 1);
	if (!gone) {
		error_errno("unable to remove the rules");
		goto out;
	}
	/* rules in our chains go with the chain; everywhere else, ours by token
	 * (or, legacy, by their exact text) are deleted one by one */
	for (i = 0; i < view.rs.nrules; i++)
		if (our_chain(&view, view.rs.rules[i].table, view.rs.rules[i].chain, &k) >= 0)
			gone[i] = 1;
	nj = nat_jumps(in, 1, j);
	for (i = 0; i < view.rs.nrules; i++) {
		const struct ipt_rule *r = &view.rs.rules[i];

		if (gone[i] || !ours_table(r->table))
			continue;
		/* outside our chains, only the jumps we write are ours: tagged
		 * with the installation's token, to one of our chains */
		if (!legacy(&view) && r->comment && strcmp(r->comment, view.jump_token) == 0 &&
		    r->target && our_chain(&view, r->table, r->target, &k) >= 0)
			gone[i] = 2;
		for (k = 0; legacy(&view) && k < nj; k++) {
			ipt_normalize(j[k].spec, jnorm, sizeof(jnorm));
			if (same_rule(r, &j[k], jnorm, 0))
				gone[i] = 2;
		}
	}
	for (k = 0; legacy(&view) && k < recs.n; k++) {
		ne = nat_vm_rules(in, recs.v[k].owner, &recs.v[k].p, e);
		normalize_all(e, ne, e_norm);
		na = owned_rules(&view, recs.v[k].owner, e, e_norm, ne, a);
		for (x = 0; x < na; x++)
			if (!gone[a[x]])
				gone[a[x]] = 2;
	}
	for (i = 0; i < view.rs.nrules; i++)
		if (gone[i] == 2)
			script_line(&s, view.rs.rules[i].table, "-D %s %s", view.rs.rules[i].chain,
				    view.rs.rules[i].spec);
	/* every chain of ours emptied first, so that none is referenced when
	 * it is removed */
	for (x = 0; x < 2; x++)
		for (i = 0; i < view.rs.nchains; i++)
			if (our_chain(&view, view.rs.chains[i].table, view.rs.chains[i].name, &k) >= 0)
				script_line(&s, view.rs.chains[i].table, "-%c %s", x ? 'X' : 'F',
					    view.rs.chains[i].name);
	/* the database's write lock before the kernel changes */
	if (db_begin_freeing(db) < 0 || script_apply(&s) < 0 || delete_rows(db, NULL) < 0 ||
	    db_commit(db) < 0)
		goto out;
	for (k = 0; k < recs.n; k++)
		recs.v[k].state = "down";
	if (out_list) {
		*out_list = recs;
		memset(&recs, 0, sizeof(recs));
	}
	rc = 0;
out:
	db_rollback(db);
	free(gone);
	nat_list_release(&recs);
	script_release(&s);
	view_release(&view);
	release_locks(&l);
	return rc;
}

int nat_teardown(struct install *in)
{
	return nat_flush(in, NULL);
}

int nat_down_owners(struct install *in, const char *const *owners, int n)
{
	struct nat_rule e[NAT_RULES_MAX];
	struct locks l = {-1, -1};
	struct script s = {0};
	sqlite3_stmt *st = NULL;
	const char **slow = NULL;
	unsigned char *fast = NULL;
	int i, j, ne, rc = -1, r, n_slow = 0, removed;
	struct nat_vm v;
	struct db *db;

	if (n == 0)
		return 0;
	slow = calloc((size_t)n, sizeof(*slow));
	fast = calloc((size_t)n, 1);
	if (!slow || !fast) {
		error_errno("unable to remove the rules");
		goto out;
	}
	r = nat_open(in, 0, &db);
	if (r <= 0) {
		rc = r; /* no table: this installation never set up NAT */
		goto out;
	}
	if (take_locks(in, &l) < 0 || script_open(&s) < 0)
		goto out;
	/* the owners recorded as applied: exactly their rules, in one transaction */
	for (i = 0; i < n; i++) {
		r = read_record(db, owners[i], &v);
		if (r < 0)
			goto out;
		if (r == 1 && v.applied && install_namespace(in)) {
			ne = nat_vm_rules(in, owners[i], &v.p, e);
			for (j = 0; j < ne; j++)
				script_line(&s, e[j].table, "-D %s %s", e[j].chain, e[j].spec);
			fast[i] = 1;
		}
	}
	r = script_run(&s, 1, NULL);
	if (r < 0)
		goto out;
	if (r == 0) {
		if (db_begin(db) < 0 || db_prepare(db, &st, "DELETE FROM nat_vms WHERE owner = ?") < 0)
			goto out;
		for (i = 0; i < n; i++) {
			if (!fast[i])
				continue;
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, owners[i], -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE) {
				db_error(db, "unable to remove the NAT records");
				db_rollback(db);
				goto out;
			}
		}
		if (db_commit(db) < 0)
			goto out;
	}
	/* the rest (and all, when the kernel was not as recorded) one by one */
	for (i = 0; i < n; i++)
		if (r != 0 || !fast[i])
			slow[n_slow++] = owners[i];
	release_locks(&l);
	for (i = 0; i < n_slow; i++)
		if (nat_down(in, slow[i], NULL, &v, &removed) < 0)
			goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	script_release(&s);
	release_locks(&l);
	free(slow);
	free(fast);
	return rc;
}
