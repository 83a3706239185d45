#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "crash.h"
#include "dm.h"
#include "error.h"
#include "file.h"
#include "lock.h"
#include "loop.h"
#include "name.h"
#include "probe.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define DEFAULT_BLOCK_SIZE (64 * KIB)
#define MAX_BLOCK_SIZE (1 * GIB)
#define MIN_POOL_SIZE (8 * MIB)
#define MIN_METADATA_SIZE (2 * MIB)
/* dm-thin uses at most 255 * 2^14 metadata blocks of 4 KiB */
#define MAX_METADATA_SIZE (255ull * 16384 * 4096)
#define METADATA_BLOCK 4096ull
#define MAX_THIN_ID ((1ll << 24) - 1)
#define COPY_CHUNK (1024 * 1024)

static void report_nothing(const char *fmt, ...)
{
	(void)fmt;
}

void (*pool_report)(const char *fmt, ...) = report_nothing;

/* ---- names ------------------------------------------------------------ */

static const char *ns_dash(const struct install *in)
{
	return install_namespace(in) ? "-" : "";
}

void pool_name(const struct install *in, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	snprintf(buf, n, "ember-%s%spool", ns ? ns : "", ns_dash(in));
}

void pool_volume_prefix(const struct install *in, const char *kind, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	snprintf(buf, n, "ember-%s%s%s-", ns ? ns : "", ns_dash(in), kind);
}

void pool_uuid_prefix(const struct install *in, char *buf, size_t n)
{
	const char *ns = install_namespace(in);

	snprintf(buf, n, "EMBER-%s-", ns ? ns : "");
}

void pool_names(const struct install *in, struct out *o)
{
	char buf[64];

	pool_name(in, buf, sizeof(buf));
	out_str(o, "pool", buf);
	pool_volume_prefix(in, "img", buf, sizeof(buf));
	out_str(o, "image_prefix", buf);
	pool_volume_prefix(in, "vm", buf, sizeof(buf));
	out_str(o, "volume_prefix", buf);
	pool_uuid_prefix(in, buf, sizeof(buf));
	out_str(o, "dm_uuid_prefix", buf);
}

/* The dm UUID of a device: the prefix, then "pool" or "KIND-IDENT". */
static void uuid_of(const struct install *in, const char *kind, const char *ident, char *buf,
		    size_t n)
{
	char prefix[32];

	pool_uuid_prefix(in, prefix, sizeof(prefix));
	if (ident)
		snprintf(buf, n, "%s%s-%s", prefix, kind, ident);
	else
		snprintf(buf, n, "%s%s", prefix, kind);
}

static void volume_name(const struct install *in, const char *kind, const char *ident, char *buf,
			size_t n)
{
	char prefix[48];

	pool_volume_prefix(in, kind, prefix, sizeof(prefix));
	snprintf(buf, n, "%s%s", prefix, ident);
}

/* ---- sizes ------------------------------------------------------------ */

int pool_parse_size(const char *what, const char *s, uint64_t *bytes)
{
	unsigned long long v, mult = 1;
	const char *p = s;
	char *end;

	if (!s || *s < '0' || *s > '9')
		goto bad;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno)
		goto bad;
	switch (*end) {
	case 'k':
	case 'K':
		mult = KIB;
		end++;
		break;
	case 'm':
	case 'M':
		mult = MIB;
		end++;
		break;
	case 'g':
	case 'G':
		mult = GIB;
		end++;
		break;
	case 't':
	case 'T':
		mult = 1024 * GIB;
		end++;
		break;
	}
	if (mult > 1 && strcmp(end, "iB") == 0)
		end += 2;
	else if (strcmp(end, "B") == 0)
		end++;
	if (*end || v == 0 || v > UINT64_MAX / mult)
		goto bad;
	*bytes = v * mult;
	return 0;
bad:
	error_code(EXIT_USAGE, "invalid %s '%s'", what, s ? s : "");
	error_hint("a size is a positive number of bytes with an optional K, M, G or T suffix, "
		   "such as 10G");
	return -1;
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

/* Metadata for a pool of BLOCKS data blocks: the least that works, and
 * what create makes when no size is given (room for snapshots and growth). */
static uint64_t metadata_min(uint64_t blocks)
{
	uint64_t m = round_up(blocks * 48, MIB);

	return m < MIN_METADATA_SIZE ? MIN_METADATA_SIZE : m;
}

static uint64_t metadata_default(uint64_t blocks)
{
	uint64_t m = round_up(blocks * 128, MIB);

	if (m < 4 * MIB)
		m = 4 * MIB;
	return m > MAX_METADATA_SIZE ? MAX_METADATA_SIZE : m;
}

/* ---- the context of one call ------------------------------------------ */

struct ctx {
	struct install *in;
	struct db *db;
	int lock;
	char pool[POOL_NAME_LEN];
	char pool_uuid[DMDEV_UUID_LEN];
	/* the pool record */
	int have_row;
	char row_state[12];
	uint64_t size, metadata_size, block_size;
	char data_dev[PATH_MAX];
	long long next_thin_id;
};

static const char *const schema[] = {
    "CREATE TABLE pool ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " state TEXT NOT NULL CHECK (state IN ('creating', 'ready')),"
    " size INTEGER NOT NULL,"
    " metadata_size INTEGER NOT NULL,"
    " block_size INTEGER NOT NULL,"
    " data_dev TEXT,"
    " transaction_id INTEGER NOT NULL DEFAULT 0,"
    " next_thin_id INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL) STRICT;"
    "CREATE TABLE pool_volume ("
    " kind TEXT NOT NULL CHECK (kind IN ('img', 'vm')),"
    " name TEXT NOT NULL,"
    " thin_id INTEGER NOT NULL UNIQUE,"
    " size INTEGER NOT NULL,"
    " image TEXT,"
    " state TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'deleting', 'faulty')),"
    " op_tid INTEGER,"
    " updated INTEGER NOT NULL,"
    " PRIMARY KEY (kind, name)) STRICT;",
    /* an import whose copy is whole: a crash after it completes the import */
    "ALTER TABLE pool_volume ADD COLUMN copied INTEGER NOT NULL DEFAULT 0;",
    /* the creation time has one name in every table (one step, two statements) */
    ("ALTER TABLE pool_volume ADD COLUMN created INTEGER NOT NULL DEFAULT 0;"
     "UPDATE pool_volume SET created = updated;"),
};

/* The owners are those of the VM volumes. */
const struct tables pool_tables = {"pool", schema, ARRAY_SIZE(schema), "pool",
				   "SELECT name, created FROM pool_volume WHERE kind = 'vm' ORDER BY name"};

static int load_row(struct ctx *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	c->have_row = 0;
	if (db_prepare(c->db, &st,
		       "SELECT state, size, metadata_size, block_size, data_dev, next_thin_id "
		       "FROM pool WHERE id = 1") < 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->have_row = 1;
		snprintf(c->row_state, sizeof(c->row_state), "%s", sqlite3_column_text(st, 0));
		c->size = (uint64_t)sqlite3_column_int64(st, 1);
		c->metadata_size = (uint64_t)sqlite3_column_int64(st, 2);
		c->block_size = (uint64_t)sqlite3_column_int64(st, 3);
		snprintf(c->data_dev, sizeof(c->data_dev), "%s",
			 sqlite3_column_type(st, 4) == SQLITE_NULL
			     ? ""
			     : (const char *)sqlite3_column_text(st, 4));
		c->next_thin_id = sqlite3_column_int64(st, 5);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(c->db, "unable to read the pool record");
	}
	sqlite3_finalize(st);
	return rc;
}

enum { CTX_NO_LOCK, CTX_LOCK, CTX_TRY_LOCK };

/* Open the database, the schema and the pool lock (CTX_LOCK waits for it;
 * CTX_TRY_LOCK returns 1 without it when another run holds it). */
static int ctx_open(struct ctx *c, struct install *in, int lock)
{
	char path[PATH_MAX];
	int rc;

	memset(c, 0, sizeof(*c));
	c->in = in;
	c->lock = -1;
	pool_name(in, c->pool, sizeof(c->pool));
	uuid_of(in, "pool", NULL, c->pool_uuid, sizeof(c->pool_uuid));
	rc = tables_open(in, &pool_tables, 1, &c->db);
	if (rc <= 0)
		return rc; /* 0: a reading verb, and no pool was ever recorded */
	if (lock) {
		if (install_path(in, path, sizeof(path), "locks") < 0 ||
		    file_mkdirs(path, 0700) < 0 ||
		    install_path(in, path, sizeof(path), "locks/pool") < 0)
			return -1;
		c->lock = lock_take(path, LOCK_EXCLUSIVE | (lock == CTX_TRY_LOCK ? LOCK_TRY : 0));
		if (c->lock == -2)
			return 1; /* busy: another run holds it */
		if (c->lock < 0)
			return -1;
	}
	return load_row(c);
}

static void ctx_close(struct ctx *c)
{
	lock_release(c->lock);
	c->lock = -1;
}

static int need_row(struct ctx *c)
{
	if (c->have_row && strcmp(c->row_state, "ready") == 0)
		return 0;
	error_code(EXIT_REFUSED, "this installation has no pool '%s'", c->pool);
	error_hint("create it with 'ember-pool create --size SIZE'");
	return -1;
}

static int file_path(struct ctx *c, const char *which, char *buf, size_t n)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "pool/%s", which);
	return install_path(c->in, buf, n, rel);
}

/* ---- the pool device -------------------------------------------------- */

/* The pool device, checked to be ours: 1 active, 0 absent. */
static int pool_device(struct ctx *c, struct dmdev_info *info)
{
	if (dmdev_info(c->pool, info) < 0)
		return -1;
	if (!info->exists)
		return 0;
	if (strcmp(info->uuid, c->pool_uuid) != 0) {
		error_code(EXIT_REFUSED, "device '%s' is not this installation's pool (uuid '%s')",
			   c->pool, info->uuid);
		error_hint(
		    "another program owns that name; ember changes only devices whose uuid is '%s'",
		    c->pool_uuid);
		return -1;
	}
	return 1;
}

/* A decimal count, a u64 as the kernel prints it: 0, or -1 when TOK is none. */
static int parse_count(const char *tok, uint64_t *v)
{
	char *end;

	if (!tok || !*tok || strspn(tok, "0123456789") != strlen(tok) || strlen(tok) > 20)
		return -1;
	errno = 0;
	*v = strtoull(tok, &end, 10);
	return errno ? -1 : 0;
}

/* "USED/TOTAL" with USED <= TOTAL. */
static int parse_ratio(const char *tok, uint64_t *used, uint64_t *total)
{
	char a[24], b[24];
	const char *slash = tok ? strchr(tok, '/') : NULL;

	if (!slash || (size_t)(slash - tok) >= sizeof(a) || strlen(slash + 1) >= sizeof(b))
		return -1;
	memcpy(a, tok, (size_t)(slash - tok));
	a[slash - tok] = '\0';
	snprintf(b, sizeof(b), "%s", slash + 1);
	if (parse_count(a, used) < 0 || parse_count(b, total) < 0 || *used > *total)
		return -1;
	return 0;
}

static int one_of(const char *tok, const char *const *words)
{
	for (; tok && *words; words++)
		if (strcmp(tok, *words) == 0)
			return 1;
	return 0;
}

int pool_parse_status(const char *params, struct pool_kstatus *k)
{
	static const char *const modes[] = {"rw", "ro", "out_of_data_space", NULL};
	static const char *const discards[] = {"discard_passdown", "no_discard_passdown", "ignore_discard",
					       NULL};
	static const char *const policies[] = {"error_if_no_space", "queue_if_no_space", NULL};
	static const char *const checks[] = {"needs_check", "-", NULL};
	char buf[512], *tok[12], *save = NULL, *t;
	uint64_t tid, held;
	int n = 0;

	memset(k, 0, sizeof(*k));
	snprintf(buf, sizeof(buf), "%s", params);
	for (t = strtok_r(buf, " \t\n", &save); t && n < 12; t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	if (strcmp(params, "Fail") == 0 || strcmp(params, "Error") == 0) {
		snprintf(k->mode, sizeof(k->mode), "%s", params[0] == 'F' ? "fail" : "error");
		k->tid = -1;
		return 0;
	}
	/* TID META DATA HELD MODE DISCARD POLICY [NEEDS_CHECK [LOW_WATERMARK]] */
	/* a transaction id past 2^63-1 would read as "failed": none is ever that high */
	if (n < 7 || parse_count(tok[0], &tid) < 0 || tid > (uint64_t)LLONG_MAX ||
	    parse_ratio(tok[1], &k->meta_used, &k->meta_total) < 0 ||
	    parse_ratio(tok[2], &k->data_used, &k->data_total) < 0 ||
	    (strcmp(tok[3], "-") != 0 && parse_count(tok[3], &held) < 0) || !one_of(tok[4], modes) ||
	    !one_of(tok[5], discards) || !one_of(tok[6], policies) || (n > 7 && !one_of(tok[7], checks)) ||
	    (n > 8 && parse_count(tok[8], &held) < 0) || n > 9) {
		memset(k, 0, sizeof(*k));
		return error_code(EXIT_INTERNAL, "unexpected thin-pool status '%s'", params);
	}
	k->tid = (long long)tid;
	snprintf(k->mode, sizeof(k->mode), "%s", n > 7 && strcmp(tok[7], "needs_check") == 0 ? "needs_check" : tok[4]);
	return 0;
}

static int kernel_status(struct ctx *c, struct pool_kstatus *k)
{
	char type[32], params[512];

	if (dmdev_status(c->pool, type, sizeof(type), params, sizeof(params)) < 0)
		return -1;
	if (strcmp(type, "thin-pool") != 0)
		return error_code(EXIT_INTERNAL, "device '%s' is a %s, not a thin-pool", c->pool,
				  type);
	return pool_parse_status(params, k);
}

/* The pool's transaction id, or -1 with an error recorded. */
static long long kernel_tid(struct ctx *c)
{
	struct pool_kstatus k;

	if (kernel_status(c, &k) < 0)
		return -1;
	if (k.tid < 0)
		return error_code(EXIT_TEMP, "pool '%s' has failed (%s)", c->pool, k.mode);
	if (strcmp(k.mode, "rw") != 0 && strcmp(k.mode, "out_of_data_space") != 0) {
		error_code(EXIT_REFUSED, "pool '%s' is in mode %s", c->pool, k.mode);
		error_hint("check it with 'ember-pool status'");
		return -1;
	}
	return k.tid;
}

static int set_tid(struct ctx *c, long long from, long long to)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "set_transaction_id %lld %lld", from, to);
	return dmdev_message(c->pool, msg);
}

/* The data and metadata devices (attaching the loops of a file-backed pool). */
struct backing {
	struct loop_dev meta, data;
	unsigned data_major, data_minor;
	uint64_t data_bytes;
};

static int attach_backing(struct ctx *c, struct backing *b)
{
	char path[PATH_MAX];
	struct stat st;

	memset(b, 0, sizeof(*b));
	if (file_path(c, "metadata.img", path, sizeof(path)) < 0)
		return -1;
	if (stat(path, &st) < 0)
		return error_errno("unable to find the pool metadata '%s'", path);
	if (loop_attach(path, &b->meta) < 0)
		return -1;
	if (c->data_dev[0])
		return blockdev_probe(c->data_dev, &b->data_major, &b->data_minor, &b->data_bytes);
	if (file_path(c, "data.img", path, sizeof(path)) < 0)
		return -1;
	if (stat(path, &st) < 0)
		return error_errno("unable to find the pool data '%s'", path);
	if (loop_attach(path, &b->data) < 0)
		return -1;
	b->data_major = b->data.major;
	b->data_minor = b->data.minor;
	b->data_bytes = (uint64_t)st.st_size;
	return 0;
}

static void detach_backing(struct ctx *c)
{
	struct loop_dev l;
	char path[PATH_MAX];

	if (file_path(c, "metadata.img", path, sizeof(path)) == 0 && loop_find(path, &l) == 1)
		loop_detach(&l);
	if (file_path(c, "data.img", path, sizeof(path)) == 0 && loop_find(path, &l) == 1)
		loop_detach(&l);
}

static void pool_table(struct ctx *c, const struct backing *b, char *buf, size_t n)
{
	/* error_if_no_space: a full pool fails writes at once (status
	 * out_of_data_space) instead of queueing them; grow recovers it */
	snprintf(buf, n, "%u:%u %u:%u %" PRIu64 " 0 1 error_if_no_space", b->meta.major,
		 b->meta.minor, b->data_major, b->data_minor, c->block_size / 512);
}

/* Attach the backing devices, check the metadata (CHECK) and start the pool
 * device; a failure leaves no loop device of ours behind. */
static int start_pool(struct ctx *c, int check)
{
	struct backing b;
	char table[128];

	if (attach_backing(c, &b) < 0)
		goto fail;
	if (b.data_bytes < c->size) {
		error_code(EXIT_USAGE,
			   "the data device of '%s' has %" PRIu64
			   " bytes, fewer than the pool's %" PRIu64,
			   c->pool, b.data_bytes, c->size);
		goto fail;
	}
	if (check && dmdev_thin_check(b.meta.path) < 0)
		goto fail;
	pool_table(c, &b, table, sizeof(table));
	if (dmdev_create(c->pool, c->pool_uuid, c->size / 512, "thin-pool", table, 0, NULL) < 0)
		goto fail;
	return 0;
fail:
	detach_backing(c);
	return -1;
}

/* ---- volume records ---------------------------------------------------- */

struct vrow {
	char kind[4];
	char ident[33];
	char image[33];
	long long thin_id;
	uint64_t size;
	char state[12];
	long long op_tid; /* -1: none */
	int copied;       /* an import's copy finished and reached its device */
};

static void vrow_read(sqlite3_stmt *st, struct vrow *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->kind, sizeof(r->kind), "%s", sqlite3_column_text(st, 0));
	snprintf(r->ident, sizeof(r->ident), "%s", sqlite3_column_text(st, 1));
	r->thin_id = sqlite3_column_int64(st, 2);
	r->size = (uint64_t)sqlite3_column_int64(st, 3);
	snprintf(r->image, sizeof(r->image), "%s",
		 sqlite3_column_type(st, 4) == SQLITE_NULL
		     ? ""
		     : (const char *)sqlite3_column_text(st, 4));
	snprintf(r->state, sizeof(r->state), "%s", sqlite3_column_text(st, 5));
	r->op_tid = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
	r->copied = sqlite3_column_int(st, 7) != 0;
}

#define VROW_COLUMNS "kind, name, thin_id, size, image, state, op_tid, copied"

/* 1 found, 0 not. */
static int vrow_get(struct ctx *c, const char *kind, const char *ident, struct vrow *r)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(c->db, &st,
		       "SELECT " VROW_COLUMNS " FROM pool_volume WHERE kind = ? AND name = ?") < 0)
		return -1;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ident, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		vrow_read(st, r);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(c->db, "unable to read a volume record");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Run SQL (with ?1 kind, ?2 name, ?3 and ?4 integers) in its own transaction. */
static int vrow_exec(struct ctx *c, const char *sql, const struct vrow *r, long long a, long long b)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_begin(c->db) < 0)
		return -1;
	if (db_prepare(c->db, &st, sql) < 0)
		goto out;
	sqlite3_bind_text(st, 1, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->ident, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, a);
	if (sqlite3_bind_parameter_count(st) >= 4)
		sqlite3_bind_int64(st, 4, b);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(c->db, "unable to update a volume record");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = db_commit(c->db);
out:
	sqlite3_finalize(st);
	if (rc < 0)
		db_rollback(c->db);
	return rc;
}

static int record_tid(struct ctx *c, long long tid);

/* The record is ready and the pool's recorded transaction id is TID, in one
 * transaction. */
static int vrow_ready(struct ctx *c, const struct vrow *r, long long tid)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_begin(c->db) < 0)
		return -1;
	if (db_prepare(c->db, &st,
		       "UPDATE pool_volume SET state = 'ready', op_tid = NULL, updated = ? "
		       "WHERE kind = ? AND name = ?") < 0)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 2, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->ident, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(c->db, "unable to update a volume record");
		goto out;
	}
	if (record_tid(c, tid) < 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	rc = db_commit(c->db);
out:
	sqlite3_finalize(st);
	if (rc < 0)
		db_rollback(c->db);
	return rc;
}

static int vrow_set_state(struct ctx *c, const struct vrow *r, const char *state, long long op_tid)
{
	char sql[192];

	snprintf(sql, sizeof(sql),
		 "UPDATE pool_volume SET state = '%s', op_tid = nullif(?3, -1), updated = ?4 "
		 "WHERE kind = ?1 AND name = ?2",
		 state);
	return vrow_exec(c, sql, r, op_tid, (long long)time(NULL));
}

/* Drop the record; TID >= 0 also becomes the pool's recorded transaction id. */
static int vrow_drop(struct ctx *c, const struct vrow *r, long long tid)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_begin(c->db) < 0)
		return -1;
	if (db_prepare(c->db, &st, "DELETE FROM pool_volume WHERE kind = ? AND name = ?") < 0)
		goto out;
	sqlite3_bind_text(st, 1, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->ident, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(c->db, "unable to drop a volume record");
		goto out;
	}
	if (tid >= 0 && record_tid(c, tid) < 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	rc = db_commit(c->db);
out:
	sqlite3_finalize(st);
	if (rc < 0)
		db_rollback(c->db);
	return rc;
}

static int record_tid(struct ctx *c, long long tid)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "UPDATE pool SET transaction_id = %lld WHERE id = 1", tid);
	return db_exec(c->db, sql);
}

/* Insert a new record in state creating, with the next thin id and the
 * transaction id its creation will move the pool to. */
static int vrow_insert(struct ctx *c, struct vrow *r, long long op_tid)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_begin(c->db) < 0)
		return -1;
	if (load_row(c) < 0)
		goto out;
	if (c->next_thin_id > MAX_THIN_ID) {
		error_code(EXIT_REFUSED, "pool '%s' has handed out every thin id", c->pool);
		goto out;
	}
	r->thin_id = c->next_thin_id;
	r->op_tid = op_tid;
	snprintf(r->state, sizeof(r->state), "creating");
	if (db_exec(c->db, "UPDATE pool SET next_thin_id = next_thin_id + 1 WHERE id = 1") < 0 ||
	    db_prepare(c->db, &st,
		       "INSERT INTO pool_volume (" VROW_COLUMNS ", updated, created) "
		       "VALUES (?, ?, ?, ?, nullif(?, ''), 'creating', ?, 0, ?7, ?7)") < 0)
		goto out;
	sqlite3_bind_text(st, 1, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->ident, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->thin_id);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->size);
	sqlite3_bind_text(st, 5, r->image, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, op_tid);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(c->db, "unable to record the new volume");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = db_commit(c->db);
	if (rc == 0)
		c->next_thin_id++;
out:
	sqlite3_finalize(st);
	if (rc < 0)
		db_rollback(c->db);
	return rc;
}

/* ---- volume devices ---------------------------------------------------- */

static void vrow_names(struct ctx *c, const struct vrow *r, char *name, size_t n, char *uuid,
		       size_t un)
{
	volume_name(c->in, r->kind, r->ident, name, n);
	uuid_of(c->in, r->kind, r->ident, uuid, un);
}

/* The volume's device: 1 active (and ours), 0 absent. */
static int volume_device(struct ctx *c, const struct vrow *r, struct dmdev_info *info)
{
	char name[POOL_NAME_LEN], uuid[DMDEV_UUID_LEN];

	vrow_names(c, r, name, sizeof(name), uuid, sizeof(uuid));
	if (dmdev_info(name, info) < 0)
		return -1;
	if (!info->exists)
		return 0;
	if (strcmp(info->uuid, uuid) != 0) {
		error_code(EXIT_REFUSED, "device '%s' is not this installation's (uuid '%s')", name,
			   info->uuid);
		error_hint("ember changes only devices whose uuid is '%s'", uuid);
		return -1;
	}
	return 1;
}

static int volume_start(struct ctx *c, const struct vrow *r, int read_only)
{
	char name[POOL_NAME_LEN], uuid[DMDEV_UUID_LEN], table[64];
	struct dmdev_info pool, info;
	int rc;

	if ((rc = volume_device(c, r, &info)) != 0)
		return rc < 0 ? -1 : 0;
	if (pool_device(c, &pool) <= 0)
		return pool.exists ? -1
				   : error_code(EXIT_REFUSED, "pool '%s' is not active", c->pool);
	vrow_names(c, r, name, sizeof(name), uuid, sizeof(uuid));
	snprintf(table, sizeof(table), "%u:%u %lld", pool.major, pool.minor, r->thin_id);
	return dmdev_create(name, uuid, r->size / 512, "thin", table, read_only, NULL);
}

static int volume_stop(struct ctx *c, const struct vrow *r)
{
	char name[POOL_NAME_LEN], uuid[DMDEV_UUID_LEN];
	struct dmdev_info info;
	int rc;

	if ((rc = volume_device(c, r, &info)) <= 0)
		return rc;
	vrow_names(c, r, name, sizeof(name), uuid, sizeof(uuid));
	return dmdev_remove(name);
}

/* Does the pool hold thin id ID? A short-lived thin device on it answers
 * without changing anything: its table loads only when the id exists.
 * 1 yes, 0 no, -1 undecided. */
static int thin_exists(struct ctx *c, long long id)
{
	char name[POOL_NAME_LEN], uuid[DMDEV_UUID_LEN], table[64];
	struct dmdev_info pool, old;

	if (pool_device(c, &pool) <= 0)
		return -1;
	snprintf(name, sizeof(name), "%.80s-probe", c->pool);
	uuid_of(c->in, "probe", NULL, uuid, sizeof(uuid));
	/* a probe left by a killed run goes; a device of another owner stays */
	if (dmdev_info(name, &old) < 0 || (old.exists && strcmp(old.uuid, uuid) != 0) ||
	    (old.exists && dmdev_remove(name) < 0))
		return -1;
	snprintf(table, sizeof(table), "%u:%u %lld", pool.major, pool.minor, id);
	if (dmdev_create(name, uuid, 8, "thin", table, 1, NULL) == 0) {
		dmdev_remove(name);
		return 1;
	}
	return dmdev_errno() == ENODATA ? 0 : -1;
}

/* "delete ID": 1 deleted, 0 it was not there, -1 error. */
static int thin_delete(struct ctx *c, long long id)
{
	char msg[48];

	snprintf(msg, sizeof(msg), "delete %lld", id);
	if (dmdev_message(c->pool, msg) == 0)
		return 1;
	return dmdev_errno() == ENODATA ? 0 : -1;
}

/* The delete protocol for a record whose device is inactive: record the
 * intent and the transaction id, delete, move the pool on, drop the record. */
static int volume_remove(struct ctx *c, const struct vrow *r, int crash)
{
	long long tid = kernel_tid(c);

	if (tid < 0)
		return -1;
	if (vrow_set_state(c, r, "deleting", tid + 1) < 0)
		return -1;
	if (crash)
		crash_point("pool-delete-recorded");
	if (thin_delete(c, r->thin_id) < 0)
		return -1;
	if (crash)
		crash_point("pool-delete-deleted");
	if (set_tid(c, tid, tid + 1) < 0)
		return -1;
	if (crash)
		crash_point("pool-delete-committed");
	return vrow_drop(c, r, tid + 1);
}

/* ---- recovery ---------------------------------------------------------- */

static int quarantine(struct ctx *c, const struct vrow *r, const char *why)
{
	pool_report("thin id %lld of %s '%s' is quarantined as faulty: %s", r->thin_id,
		    strcmp(r->kind, "img") == 0 ? "image" : "volume", r->ident, why);
	return vrow_set_state(c, r, "faulty", -1);
}

static int recover_one(struct ctx *c, const struct vrow *r)
{
	const char *what = strcmp(r->kind, "img") == 0 ? "import of image" : "clone for";
	long long tid = kernel_tid(c);
	int e;

	if (tid < 0)
		return -1;
	if (strcmp(r->state, "creating") == 0) {
		if (r->op_tid >= 0 && tid >= r->op_tid) {
			if (strcmp(r->kind, "vm") == 0) {
				pool_report("finished the interrupted clone for '%s'", r->ident);
				return vrow_set_state(c, r, "ready", -1);
			}
			if (r->copied) {
				pool_report("finished the interrupted import of image '%s'", r->ident);
				return vrow_set_state(c, r, "ready", -1);
			}
			/* the copy may be incomplete: the image goes */
			pool_report("rolled back the interrupted import of image '%s'", r->ident);
			if (volume_stop(c, r) < 0)
				return -1;
			return volume_remove(c, r, 0);
		}
		/* not committed: remove the thin device if the message got through */
		if ((e = thin_delete(c, r->thin_id)) < 0)
			return quarantine(c, r, error_message());
		pool_report("rolled back the interrupted %s '%s'", what, r->ident);
		return vrow_drop(c, r, -1);
	}
	/* deleting */
	if (r->op_tid >= 0 && tid >= r->op_tid) {
		pool_report("finished the interrupted delete of '%s'", r->ident);
		return vrow_drop(c, r, tid);
	}
	e = thin_exists(c, r->thin_id);
	if (e < 0)
		return quarantine(c, r, "its state in the pool cannot be read");
	if (e == 1) {
		pool_report("rolled back the interrupted delete of '%s': it is kept", r->ident);
		return vrow_set_state(c, r, "ready", -1);
	}
	if (set_tid(c, tid, r->op_tid) < 0)
		return -1;
	pool_report("finished the interrupted delete of '%s'", r->ident);
	return vrow_drop(c, r, r->op_tid);
}

/* Records left half-way: 1 some, 0 none. */
static int pending(struct ctx *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(c->db, &st,
		       "SELECT count(*) FROM pool_volume WHERE state IN ('creating', 'deleting')") <
	    0)
		return -1;
	rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) > 0
					    : db_error(c->db, "unable to read the volumes");
	sqlite3_finalize(st);
	return rc;
}

/* The pool's data size in the kernel (bytes), or -1. */
static long long kernel_size(struct ctx *c)
{
	struct pool_kstatus k;

	if (kernel_status(c, &k) < 0)
		return -1;
	return k.tid < 0 ? -1 : (long long)(k.data_total * c->block_size);
}

/* A killed grow can leave the pool suspended (every volume's I/O hangs) or
 * smaller than its record: resume it, and finish the grow. 1 when the pool
 * needs that, 0 when not. */
static int pool_unsettled(struct ctx *c)
{
	struct dmdev_info info;
	long long size;
	int r;

	if ((r = pool_device(c, &info)) <= 0)
		return r;
	if (info.suspended)
		return 1;
	size = kernel_size(c);
	return size >= 0 && (uint64_t)size < c->size;
}

static int reload_pool(struct ctx *c)
{
	struct backing b;
	char table[128];

	if (attach_backing(c, &b) < 0)
		return -1;
	pool_table(c, &b, table, sizeof(table));
	/* the new table takes effect at resume, which also lets the kernel see
	 * the larger data and metadata devices */
	if (dmdev_reload(c->pool, c->size / 512, "thin-pool", table) < 0)
		return -1;
	crash_point("pool-grow-reloaded");
	if (dmdev_suspend(c->pool) < 0)
		return -1;
	crash_point("pool-grow-suspended");
	return dmdev_resume(c->pool);
}

static int settle_pool(struct ctx *c)
{
	struct dmdev_info info;
	long long size;
	int r;

	if ((r = pool_device(c, &info)) <= 0)
		return r;
	size = kernel_size(c);
	if (size >= 0 && (uint64_t)size < c->size) {
		pool_report("finished the interrupted grow of pool '%s'", c->pool);
		return reload_pool(c);
	}
	if (info.suspended) {
		pool_report("resumed pool '%s', left suspended by an interrupted run", c->pool);
		return dmdev_resume(c->pool);
	}
	return 0;
}

/* An active device of ours left suspended (an image around a snapshot). */
static int resume_volume(struct ctx *c, const struct vrow *r)
{
	char name[POOL_NAME_LEN], uuid[DMDEV_UUID_LEN];
	struct dmdev_info info;

	if (volume_device(c, r, &info) <= 0 || !info.suspended)
		return 0;
	vrow_names(c, r, name, sizeof(name), uuid, sizeof(uuid));
	pool_report("resumed '%s', left suspended by an interrupted run", name);
	return dmdev_resume(name);
}

/* Under the lock: settle the pool and every half-way record. */
static int recover(struct ctx *c)
{
	sqlite3_stmt *st = NULL;
	struct vrow rows[64], img;
	int n = 0, i, rc;
	struct dmdev_info info;

	if (settle_pool(c) < 0)
		return -1;
	if ((rc = pending(c)) <= 0)
		return rc;
	if ((rc = pool_device(c, &info)) <= 0)
		return rc; /* inactive: the next activate settles them */
	if (db_prepare(c->db, &st,
		       "SELECT " VROW_COLUMNS " FROM pool_volume "
		       "WHERE state IN ('creating', 'deleting') ORDER BY thin_id") < 0)
		return -1;
	while (n < 64 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		vrow_read(st, &rows[n++]);
	sqlite3_finalize(st);
	for (i = 0; i < n; i++) {
		if (rows[i].image[0] && vrow_get(c, "img", rows[i].image, &img) == 1 &&
		    resume_volume(c, &img) < 0)
			return -1;
		if (recover_one(c, &rows[i]) < 0)
			return -1;
	}
	return 0;
}

/* Open for a change of volumes: lock, the pool record, the pool active,
 * and what a killed run left half-way settled. */
static int ctx_open_volumes(struct ctx *c, struct install *in)
{
	struct dmdev_info info;
	int rc;

	if (ctx_open(c, in, CTX_LOCK) < 0 || need_row(c) < 0)
		return -1;
	if ((rc = pool_device(c, &info)) < 0)
		return -1;
	if (rc == 0) {
		error_code(EXIT_REFUSED, "pool '%s' is not active", c->pool);
		error_hint("activate it with 'ember-pool activate'");
		return -1;
	}
	return recover(c);
}

int pool_recover(struct install *in)
{
	struct ctx c;
	int rc;

	if (ctx_open(&c, in, CTX_NO_LOCK) < 0)
		return -1;
	rc = pending(&c);
	if (rc == 0 && c.have_row)
		rc = pool_unsettled(&c);
	if (rc > 0) {
		/* a run that holds the lock is at work, not killed: what it
		 * has half-way is its own, and a reader does not wait for it */
		ctx_close(&c);
		rc = ctx_open(&c, in, CTX_TRY_LOCK);
		if (rc == 0)
			rc = recover(&c);
	}
	ctx_close(&c);
	return rc < 0 ? -1 : 0;
}

/* ---- pool verbs -------------------------------------------------------- */

static int count_volumes(struct ctx *c, struct pool_state *st)
{
	sqlite3_stmt *q = NULL;

	if (db_prepare(
		c->db, &q,
		"SELECT count(*), count(*) FILTER (WHERE state = 'faulty'), "
		"count(*) FILTER (WHERE state IN ('creating', 'deleting')) FROM pool_volume") < 0)
		return -1;
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return db_error(c->db, "unable to count the volumes");
	}
	st->volumes = sqlite3_column_int(q, 0);
	st->faulty = sqlite3_column_int(q, 1);
	st->pending = sqlite3_column_int(q, 2);
	sqlite3_finalize(q);
	return 0;
}

static int fill_state(struct ctx *c, struct pool_state *st)
{
	struct dmdev_info info;
	struct pool_kstatus k;
	int rc;

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", c->pool);
	st->size = c->size;
	st->metadata_size = c->metadata_size;
	st->block_size = c->block_size;
	snprintf(st->data_dev, sizeof(st->data_dev), "%s", c->data_dev);
	snprintf(st->mode, sizeof(st->mode), "inactive");
	st->transaction_id = -1;
	if (count_volumes(c, st) < 0 || (rc = pool_device(c, &info)) < 0)
		return -1;
	if (rc == 0)
		return 0;
	st->active = 1;
	if (kernel_status(c, &k) < 0)
		return -1;
	snprintf(st->mode, sizeof(st->mode), "%s", k.mode);
	st->transaction_id = k.tid;
	st->data_used = k.data_used * c->block_size;
	st->metadata_used = k.meta_used * METADATA_BLOCK;
	if (k.data_total)
		st->data_percent = (int)(k.data_used * 100 / k.data_total);
	if (k.meta_total)
		st->metadata_percent = (int)(k.meta_used * 100 / k.meta_total);
	return 0;
}

static int check_params(struct pool_params *p)
{
	uint64_t blocks, min;

	if (!p->block_size)
		p->block_size = DEFAULT_BLOCK_SIZE;
	if (p->block_size % DEFAULT_BLOCK_SIZE || p->block_size > MAX_BLOCK_SIZE) {
		error_code(EXIT_USAGE,
			   "invalid block size %" PRIu64
			   ": it must be a multiple of 64 KiB up to 1 GiB",
			   p->block_size);
		return -1;
	}
	p->size = p->size / p->block_size * p->block_size;
	if (p->size < MIN_POOL_SIZE || p->size < 16 * p->block_size)
		return error_code(EXIT_USAGE,
				  "invalid pool size: at least 8 MiB and 16 blocks are needed");
	blocks = p->size / p->block_size;
	min = metadata_min(blocks);
	if (!p->metadata_size)
		p->metadata_size = metadata_default(blocks);
	p->metadata_size = round_up(p->metadata_size, METADATA_BLOCK);
	if (p->metadata_size < min) {
		error_code(EXIT_USAGE,
			   "metadata size %" PRIu64 " is too small for a pool of %" PRIu64
			   " blocks",
			   p->metadata_size, blocks);
		error_hint("give at least %" PRIu64 " bytes, or leave --metadata-size out", min);
		return -1;
	}
	if (p->metadata_size > MAX_METADATA_SIZE)
		return error_code(EXIT_USAGE,
				  "metadata size %" PRIu64
				  " is over the thin-pool limit of %llu bytes",
				  p->metadata_size, MAX_METADATA_SIZE);
	return 0;
}

/* A sparse file of SIZE bytes; FRESH: whatever was there is zeroed. */
static int make_file(const char *path, uint64_t size, int fresh)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), rc = 0;

	if (fd < 0)
		return error_errno("unable to create '%s'", path);
	if ((fresh && ftruncate(fd, 0) < 0) || ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0)
		rc = error_errno("unable to size '%s'", path);
	close(fd);
	return rc;
}

static int insert_pool(struct ctx *c, const struct pool_params *p)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_begin(c->db) < 0)
		return -1;
	if (db_prepare(
		c->db, &st,
		"INSERT INTO pool (id, state, size, metadata_size, block_size, data_dev, created) "
		"VALUES (1, 'creating', ?, ?, ?, ?, ?)") < 0)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)p->size);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)p->metadata_size);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)p->block_size);
	if (p->data_dev)
		sqlite3_bind_text(st, 4, p->data_dev, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(c->db, "unable to record the pool");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = db_commit(c->db);
out:
	sqlite3_finalize(st);
	if (rc < 0)
		db_rollback(c->db);
	return rc;
}

/* The files (zeroed metadata), the loops and the device of a pool whose
 * record says creating; then the record says ready. */
static int build_pool(struct ctx *c)
{
	char path[PATH_MAX];
	struct dmdev_info info;
	int rc;

	if ((rc = pool_device(c, &info)) < 0)
		return -1;
	if (rc == 0) {
		detach_backing(c);
		if (file_path(c, "", path, sizeof(path)) < 0 || file_mkdirs(path, 0700) < 0)
			return -1;
		if (file_path(c, "metadata.img", path, sizeof(path)) < 0 ||
		    make_file(path, c->metadata_size, 1) < 0)
			return -1;
		if (!c->data_dev[0] && (file_path(c, "data.img", path, sizeof(path)) < 0 ||
					make_file(path, c->size, 1) < 0))
			return -1;
		crash_point("pool-create-files");
		if (start_pool(c, 0) < 0)
			return -1;
		crash_point("pool-create-started");
	}
	if (db_exec(c->db, "UPDATE pool SET state = 'ready' WHERE id = 1") < 0)
		return -1;
	snprintf(c->row_state, sizeof(c->row_state), "ready");
	return 0;
}

int pool_create(struct install *in, const struct pool_params *given, struct pool_state *st)
{
	struct pool_params p = *given;
	unsigned maj, min;
	uint64_t bytes;
	struct ctx c;
	int rc = -1;

	if (check_params(&p) < 0)
		return -1;
	if (p.data_dev) {
		if (blockdev_probe(p.data_dev, &maj, &min, &bytes) < 0)
			return -1;
		if (bytes < p.size)
			return error_code(EXIT_USAGE,
					  "data device '%s' has %" PRIu64
					  " bytes, fewer than the %" PRIu64 " asked for",
					  p.data_dev, bytes, p.size);
	}
	if (dmdev_load() < 0 || ctx_open(&c, in, CTX_LOCK) < 0)
		goto out;
	if (c.have_row) {
		if (c.size != p.size || c.block_size != p.block_size ||
		    (given->metadata_size && c.metadata_size != p.metadata_size) ||
		    strcmp(c.data_dev, p.data_dev ? p.data_dev : "") != 0) {
			error_code(EXIT_REFUSED, "pool '%s' exists with other parameters", c.pool);
			error_hint("see them with 'ember-pool status'; 'ember-pool grow' changes "
				   "the size");
			goto out;
		}
		if (strcmp(c.row_state, "ready") == 0) {
			ctx_close(&c);
			return pool_activate(in, st);
		}
	} else {
		if (insert_pool(&c, &p) < 0 || load_row(&c) < 0)
			goto out;
		crash_point("pool-create-recorded");
	}
	if (build_pool(&c) < 0 || fill_state(&c, st) < 0)
		goto out;
	rc = 0;
out:
	ctx_close(&c);
	return rc;
}

int pool_activate(struct install *in, struct pool_state *st)
{
	struct dmdev_info info;
	struct ctx c;
	int rc = -1, r;

	if (dmdev_load() < 0 || ctx_open(&c, in, CTX_LOCK) < 0)
		goto out;
	if (!c.have_row) {
		error_code(EXIT_NO, "this installation has no pool '%s'", c.pool);
		error_hint("create it with 'ember-pool create --size SIZE'");
		goto out;
	}
	if (strcmp(c.row_state, "creating") == 0) {
		if (build_pool(&c) < 0)
			goto out;
	} else {
		if ((r = pool_device(&c, &info)) < 0)
			goto out;
		if (r == 0 && start_pool(&c, 1) < 0)
			goto out;
	}
	if (recover(&c) < 0 || fill_state(&c, st) < 0)
		goto out;
	rc = 0;
out:
	ctx_close(&c);
	return rc;
}

int pool_status(struct install *in, struct pool_state *st)
{
	struct ctx c;
	int rc = -1;

	if (ctx_open(&c, in, CTX_NO_LOCK) < 0)
		return -1;
	if (c.have_row) {
		ctx_close(&c);
		if (dmdev_load() < 0 || pool_recover(in) < 0 || ctx_open(&c, in, CTX_NO_LOCK) < 0)
			return -1;
	}
	if (!c.have_row) {
		error_code(EXIT_NO, "this installation has no pool '%s'", c.pool);
		error_hint("create it with 'ember-pool create --size SIZE'");
		goto out;
	}
	rc = fill_state(&c, st);
out:
	ctx_close(&c);
	return rc;
}

static int grow_file(struct ctx *c, const char *which, uint64_t size)
{
	char path[PATH_MAX];
	struct loop_dev l;
	int r;

	if (file_path(c, which, path, sizeof(path)) < 0 || make_file(path, size, 0) < 0)
		return -1;
	if ((r = loop_find(path, &l)) < 0)
		return -1;
	return r ? loop_refresh(&l) : 0;
}

int pool_grow(struct install *in, uint64_t size, struct pool_state *st)
{
	struct dmdev_info info;
	uint64_t meta, dev_bytes;
	unsigned maj, min;
	char sql[160];
	struct ctx c;
	int rc = -1, r;

	if (dmdev_load() < 0 || ctx_open(&c, in, CTX_LOCK) < 0 || need_row(&c) < 0)
		goto out;
	size = size / c.block_size * c.block_size;
	if (size < c.size) {
		error_code(EXIT_USAGE,
			   "pool '%s' has %" PRIu64 " bytes: it cannot shrink to %" PRIu64, c.pool,
			   c.size, size);
		goto out;
	}
	if ((r = pool_device(&c, &info)) < 0)
		goto out;
	if (r == 0) {
		error_code(EXIT_REFUSED, "pool '%s' is not active", c.pool);
		error_hint("activate it with 'ember-pool activate'");
		goto out;
	}
	if (recover(&c) < 0)
		goto out;
	if (size > c.size) {
		meta = metadata_min(size / c.block_size);
		if (meta > MAX_METADATA_SIZE) {
			error_code(EXIT_USAGE,
				   "a pool of %" PRIu64 " bytes needs more metadata than the thin-pool limit",
				   size);
			goto out;
		}
		if (c.data_dev[0]) {
			if (blockdev_probe(c.data_dev, &maj, &min, &dev_bytes) < 0)
				goto out;
			if (dev_bytes < size) {
				error_code(EXIT_USAGE,
					   "data device '%s' has %" PRIu64 " bytes, fewer than %" PRIu64,
					   c.data_dev, dev_bytes, size);
				goto out;
			}
		} else if (grow_file(&c, "data.img", size) < 0) {
			goto out;
		}
		if (meta > c.metadata_size) {
			if (grow_file(&c, "metadata.img", meta) < 0)
				goto out;
			c.metadata_size = meta;
		}
		/* recorded first: a run killed before the resume finds the pool
		 * smaller than its record and finishes the grow (settle_pool) */
		c.size = size;
		snprintf(sql, sizeof(sql),
			 "UPDATE pool SET size = %" PRIu64 ", metadata_size = %" PRIu64 " WHERE id = 1",
			 c.size, c.metadata_size);
		if (db_exec(c.db, sql) < 0)
			goto out;
		crash_point("pool-grow-recorded");
		if (reload_pool(&c) < 0)
			goto out;
	}
	if (fill_state(&c, st) < 0)
		goto out;
	rc = 0;
out:
	ctx_close(&c);
	return rc;
}

/* ---- teardown ---------------------------------------------------------- */

struct ours {
	struct ctx *c;
	char img[48], vm[48], probe[POOL_NAME_LEN];
	char names[256][POOL_NAME_LEN];
	int n;
	int active; /* volumes */
};

static int collect(const char *name, unsigned major, unsigned minor, void *ctx)
{
	struct ours *o = ctx;
	struct dmdev_info info;
	const char *kind, *ident;
	char uuid[DMDEV_UUID_LEN];

	(void)major;
	(void)minor;
	if (strncmp(name, o->img, strlen(o->img)) == 0) {
		kind = "img";
		ident = name + strlen(o->img);
	} else if (strncmp(name, o->vm, strlen(o->vm)) == 0) {
		kind = "vm";
		ident = name + strlen(o->vm);
	} else if (strcmp(name, o->probe) == 0) {
		kind = "probe";
		ident = NULL;
	} else {
		return 0;
	}
	if (o->n >= 256 || dmdev_info(name, &info) < 0 || !info.exists)
		return 0;
	uuid_of(o->c->in, kind, ident, uuid, sizeof(uuid));
	/* only a device whose uuid proves it ours */
	if (strcmp(info.uuid, uuid) != 0)
		return 0;
	snprintf(o->names[o->n++], POOL_NAME_LEN, "%s", name);
	if (ident)
		o->active++;
	return 0;
}

/* Remove our volumes (refused while some are active unless FORCE), the
 * pool, and detach the loops of our files. */
static int stop_all(struct ctx *c, int force)
{
	struct ours *o;
	struct dmdev_info info;
	int i, r, rc = -1;

	o = calloc(1, sizeof(*o));
	if (!o)
		return error_errno("unable to allocate");
	o->c = c;
	pool_volume_prefix(c->in, "img", o->img, sizeof(o->img));
	pool_volume_prefix(c->in, "vm", o->vm, sizeof(o->vm));
	snprintf(o->probe, sizeof(o->probe), "%.80s-probe", c->pool);
	if (dmdev_each(collect, o) < 0)
		goto out;
	if (o->active && !force) {
		error_code(EXIT_REFUSED, "%d volume%s of pool '%s' %s active", o->active,
			   o->active == 1 ? "" : "s", c->pool, o->active == 1 ? "is" : "are");
		error_hint("deactivate them, or use --force");
		goto out;
	}
	for (i = 0; i < o->n; i++)
		if (dmdev_remove(o->names[i]) < 0)
			goto out;
	if ((r = pool_device(c, &info)) < 0)
		goto out;
	if (r && dmdev_remove(c->pool) < 0)
		goto out;
	detach_backing(c);
	rc = 0;
out:
	free(o);
	return rc;
}

int pool_destroy(struct install *in, int force, int purge)
{
	char path[PATH_MAX];
	struct ctx c;
	int rc = -1;

	if (ctx_open(&c, in, CTX_LOCK) < 0)
		goto out;
	if (!c.have_row) {
		rc = 0; /* destroying what is not there succeeds */
		goto out;
	}
	if (dmdev_load() < 0 || stop_all(&c, force) < 0)
		goto out;
	if (purge) {
		if (db_begin(c.db) < 0)
			goto out;
		if (db_exec(c.db, "DELETE FROM pool_volume; DELETE FROM pool;") < 0) {
			db_rollback(c.db);
			goto out;
		}
		if (db_commit(c.db) < 0)
			goto out;
		if (file_path(&c, "", path, sizeof(path)) < 0 || file_remove_tree(path) < 0)
			goto out;
	}
	rc = 0;
out:
	ctx_close(&c);
	return rc;
}

int pool_teardown(struct install *in)
{
	char path[PATH_MAX];
	struct ctx c;
	int rc;

	/* nothing of ours can be in a kernel without device-mapper */
	if (!probe_device_mapper())
		return 0;
	if (install_path(in, path, sizeof(path), "pool") == 0 && access(path, F_OK) != 0)
		return 0;
	if (dmdev_load() < 0 || ctx_open(&c, in, CTX_LOCK) < 0)
		return -1;
	rc = stop_all(&c, 1);
	ctx_close(&c);
	return rc;
}

/* ---- volume verbs ------------------------------------------------------ */

static void fill_volume(struct ctx *c, const struct vrow *r, struct pool_volume *v)
{
	struct dmdev_info info;

	memset(v, 0, sizeof(*v));
	volume_name(c->in, r->kind, r->ident, v->name, sizeof(v->name));
	snprintf(v->kind, sizeof(v->kind), "%s", r->kind);
	snprintf(v->ident, sizeof(v->ident), "%s", r->ident);
	snprintf(v->image, sizeof(v->image), "%s", r->image);
	v->thin_id = r->thin_id;
	v->size = r->size;
	snprintf(v->state, sizeof(v->state), "%s", r->state);
	if (volume_device(c, r, &info) == 1) {
		v->active = 1;
		dmdev_path(v->name, v->device, sizeof(v->device));
	}
	error_clear();
}

/* VOLUME (an owner, or a full dm name of ours) to its kind and ident. */
static int parse_volume(struct ctx *c, const char *volume, struct vrow *r)
{
	char img[48], vm[48];

	memset(r, 0, sizeof(*r));
	pool_volume_prefix(c->in, "img", img, sizeof(img));
	pool_volume_prefix(c->in, "vm", vm, sizeof(vm));
	if (strncmp(volume, img, strlen(img)) == 0) {
		snprintf(r->kind, sizeof(r->kind), "img");
		volume += strlen(img);
	} else {
		snprintf(r->kind, sizeof(r->kind), "vm");
		if (strncmp(volume, vm, strlen(vm)) == 0)
			volume += strlen(vm);
	}
	if (name_check(strcmp(r->kind, "img") == 0 ? "image name" : "volume", volume) < 0)
		return -1;
	snprintf(r->ident, sizeof(r->ident), "%s", volume);
	return 0;
}

static int find_volume(struct ctx *c, const char *volume, struct vrow *r)
{
	int found;

	if (parse_volume(c, volume, r) < 0 || (found = vrow_get(c, r->kind, r->ident, r)) < 0)
		return -1;
	if (!found) {
		error_code(EXIT_NO, "no volume '%s'", volume);
		error_hint("see the volumes with 'ember-pool list'");
		return -1;
	}
	return 0;
}

static int ready(const struct vrow *r, const char *volume)
{
	if (strcmp(r->state, "ready") == 0)
		return 0;
	error_code(EXIT_REFUSED, "volume '%s' is %s", volume, r->state);
	if (strcmp(r->state, "faulty") == 0)
		error_hint("remove it with 'ember-pool delete %s'", volume);
	return -1;
}

/* Create the thin device of a new record R: record, message, move the
 * pool's transaction id on. ORIGIN >= 0: a snapshot of that thin id, whose
 * device (when active) is suspended around it. */
static int thin_create(struct ctx *c, struct vrow *r, const struct vrow *origin)
{
	char msg[64], name[POOL_NAME_LEN], uuid[DMDEV_UUID_LEN];
	struct dmdev_info info;
	long long tid = kernel_tid(c);
	int suspended = 0, rc, e;

	if (tid < 0 || vrow_insert(c, r, tid + 1) < 0)
		return -1;
	crash_point(origin ? "pool-clone-recorded" : "pool-import-recorded");
	if (origin) {
		snprintf(msg, sizeof(msg), "create_snap %lld %lld", r->thin_id, origin->thin_id);
		if ((rc = volume_device(c, origin, &info)) < 0)
			goto undo;
		if (rc == 1) {
			/* one found suspended was left so by a killed run: it
			 * is resumed after the snapshot all the same */
			vrow_names(c, origin, name, sizeof(name), uuid, sizeof(uuid));
			if (!info.suspended && dmdev_suspend(name) < 0)
				goto undo;
			suspended = 1;
		}
	} else {
		snprintf(msg, sizeof(msg), "create_thin %lld", r->thin_id);
	}
	rc = dmdev_message(c->pool, msg);
	e = dmdev_errno();
	if (suspended && dmdev_resume(name) < 0 && rc == 0)
		goto made; /* the snapshot exists; its origin stays suspended */
	if (rc < 0) {
		if (e == EEXIST) {
			/* an id the database did not know: keep it away from use */
			pool_report("thin id %lld exists in pool '%s' without a record", r->thin_id,
				    c->pool);
			quarantine(c, r, "it existed before it was created");
			error_errnum(e, "unable to create thin device for '%s'", r->ident);
			return -1;
		}
		goto undo;
	}
	crash_point(origin ? "pool-clone-created" : "pool-import-created");
	if (fail_point("pool-create-commit") < 0 || set_tid(c, tid, tid + 1) < 0)
		goto made;
	crash_point(origin ? "pool-clone-committed" : "pool-import-committed");
	r->op_tid = tid + 1; /* the caller records it with the ready state */
	return 0;
made:
	/* the device exists in the pool but the change is not committed: take
	 * it out again, or, when that fails too (a read-only pool), keep its id
	 * out of use; never forget an id the pool holds */
	{
		struct error_saved saved;

		error_save(&saved);
		if (fail_point("pool-create-undo") < 0 || thin_delete(c, r->thin_id) < 0)
			quarantine(c, r, "it was created, but neither committed nor removed");
		else
			vrow_drop(c, r, -1);
		error_restore(&saved);
	}
	return -1;
undo:
	/* the message did not get through: nothing exists in the pool */
	{
		struct error_saved saved;

		error_save(&saved);
		vrow_drop(c, r, -1);
		error_restore(&saved);
	}
	return -1;
}

static int all_zero(const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i])
			return 0;
	return 1;
}

/* Copy SRC into the device PATH; zero chunks are skipped (a new thin device
 * reads as zeros), so a sparse image stays sparse in the pool. */
static int copy_into(int src, const char *file, const char *path, uint64_t size,
		     pool_progress_fn progress)
{
	char *buf = malloc(COPY_CHUNK);
	uint64_t done = 0;
	ssize_t n;
	int dst = -1, rc = -1;

	if (!buf)
		return error_errno("unable to allocate");
	dst = open(path, O_WRONLY | O_CLOEXEC);
	if (dst < 0) {
		error_errno("unable to open '%s'", path);
		goto out;
	}
	while (done < size) {
		n = file_read_all(src, buf, COPY_CHUNK);
		if (n < 0) {
			error_errno("unable to read '%s'", file);
			goto out;
		}
		if (n == 0)
			break;
		if (!all_zero(buf, (size_t)n) && file_pwrite_all(dst, buf, (size_t)n, (off_t)done) < 0) {
			error_errno("unable to write the image into '%s'", path);
			goto out;
		}
		done += (uint64_t)n;
		if (progress)
			progress(done, size);
	}
	if (fsync(dst) < 0) {
		error_errno("unable to write the image into '%s'", path);
		goto out;
	}
	rc = 0;
out:
	if (dst >= 0)
		close(dst);
	free(buf);
	return rc;
}

int pool_import(struct install *in, const char *image, const char *file, pool_progress_fn progress,
		struct pool_volume *v)
{
	char name[POOL_NAME_LEN], uuid[DMDEV_UUID_LEN], path[POOL_NAME_LEN + 16];
	struct dmdev_info info;
	struct vrow r, old;
	struct stat sb;
	uint64_t size;
	off_t end;
	struct ctx c;
	int src = -1, rc = -1, found;

	if (name_check("image name", image) < 0)
		return -1;
	src = open(file, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		if (errno == ENOENT)
			return error_code(EXIT_USAGE, "no image file '%s'", file);
		return error_errno("unable to open '%s'", file);
	}
	if (fstat(src, &sb) < 0) {
		error_errno("unable to read '%s'", file);
		goto out0;
	}
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) {
		error_code(EXIT_USAGE, "'%s' is not a file or a block device", file);
		goto out0;
	}
	if ((end = lseek(src, 0, SEEK_END)) < 0 || lseek(src, 0, SEEK_SET) < 0) {
		error_errno("unable to read '%s'", file);
		goto out0;
	}
	if (end == 0) {
		error_code(EXIT_USAGE, "image file '%s' is empty", file);
		goto out0;
	}
	size = round_up((uint64_t)end, 512);
	if (dmdev_load() < 0 || ctx_open_volumes(&c, in) < 0)
		goto out;
	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "img");
	snprintf(r.ident, sizeof(r.ident), "%s", image);
	r.size = size;
	if ((found = vrow_get(&c, "img", image, &old)) < 0)
		goto out;
	if (found) {
		if (ready(&old, image) < 0)
			goto out;
		if (old.size != size) {
			error_code(EXIT_REFUSED,
				   "image '%s' exists with another size (%" PRIu64 " bytes)", image,
				   old.size);
			error_hint("delete it first, or import under another name");
			goto out;
		}
		fill_volume(&c, &old, v);
		rc = 0;
		goto out;
	}
	if (volume_device(&c, &r, &info) < 0 || thin_create(&c, &r, NULL) < 0)
		goto out;
	vrow_names(&c, &r, name, sizeof(name), uuid, sizeof(uuid));
	dmdev_path(name, path, sizeof(path));
	if (volume_start(&c, &r, 0) < 0 || copy_into(src, file, path, size, progress) < 0 ||
	    volume_stop(&c, &r) < 0) {
		struct error_saved saved;

		error_save(&saved);
		if (volume_stop(&c, &r) == 0)
			volume_remove(&c, &r, 0);
		error_restore(&saved);
		goto out;
	}
	/* the copy is whole and on the device (stopped, so flushed): from here a
	 * crash completes the import instead of undoing it */
	if (vrow_exec(&c, "UPDATE pool_volume SET copied = 1, updated = ?3 WHERE kind = ?1 AND name = ?2",
		      &r, (long long)time(NULL), 0) < 0)
		goto out;
	crash_point("pool-import-copied");
	if (vrow_ready(&c, &r, r.op_tid) < 0)
		goto out;
	snprintf(r.state, sizeof(r.state), "ready");
	fill_volume(&c, &r, v);
	rc = 0;
out:
	ctx_close(&c);
out0:
	close(src);
	return rc;
}

int pool_clone(struct install *in, const char *image, const char *owner, uint64_t size,
	       struct pool_volume *v)
{
	struct vrow base, r, old;
	struct dmdev_info info;
	struct ctx c;
	int rc = -1, found;

	if (name_check("image name", image) < 0 || name_check("owner", owner) < 0)
		return -1;
	if (dmdev_load() < 0 || ctx_open_volumes(&c, in) < 0)
		goto out;
	if ((found = vrow_get(&c, "img", image, &base)) < 0)
		goto out;
	if (!found) {
		error_code(EXIT_USAGE, "no image '%s'", image);
		error_hint("import it with 'ember-pool import %s FILE'", image);
		goto out;
	}
	if (ready(&base, image) < 0)
		goto out;
	size = size ? round_up(size, 512) : base.size;
	if (size < base.size) {
		error_code(EXIT_USAGE,
			   "a clone of '%s' can only grow: %" PRIu64
			   " bytes is smaller than its %" PRIu64,
			   image, size, base.size);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "vm");
	snprintf(r.ident, sizeof(r.ident), "%s", owner);
	snprintf(r.image, sizeof(r.image), "%s", image);
	r.size = size;
	if ((found = vrow_get(&c, "vm", owner, &old)) < 0)
		goto out;
	if (found) {
		if (ready(&old, owner) < 0)
			goto out;
		if (old.size != size || strcmp(old.image, image) != 0) {
			error_code(EXIT_REFUSED,
				   "volume '%s' exists with other parameters (image '%s', %" PRIu64
				   " bytes)",
				   owner, old.image, old.size);
			goto out;
		}
		r = old;
	} else {
		/* a device of that name that is not ours stops it before anything is made */
		if (volume_device(&c, &r, &info) < 0)
			goto out;
		if (thin_create(&c, &r, &base) < 0 || vrow_ready(&c, &r, r.op_tid) < 0)
			goto out;
		snprintf(r.state, sizeof(r.state), "ready");
		crash_point("pool-clone-ready");
	}
	if (volume_start(&c, &r, 0) < 0)
		goto out;
	fill_volume(&c, &r, v);
	rc = 0;
out:
	ctx_close(&c);
	return rc;
}

int pool_volume_activate(struct install *in, const char *volume, struct pool_volume *v)
{
	struct vrow r;
	struct ctx c;
	int rc = -1;

	if (dmdev_load() < 0 || ctx_open_volumes(&c, in) < 0 || find_volume(&c, volume, &r) < 0 ||
	    ready(&r, volume) < 0)
		goto out;
	/* an image is a read-only base */
	if (volume_start(&c, &r, strcmp(r.kind, "img") == 0) < 0)
		goto out;
	fill_volume(&c, &r, v);
	rc = 0;
out:
	ctx_close(&c);
	return rc;
}

int pool_volume_deactivate(struct install *in, const char *volume, struct pool_volume *v)
{
	struct vrow r;
	struct ctx c;
	int rc = -1;

	if (dmdev_load() < 0 || ctx_open(&c, in, CTX_LOCK) < 0 || need_row(&c) < 0 ||
	    find_volume(&c, volume, &r) < 0 || volume_stop(&c, &r) < 0)
		goto out;
	fill_volume(&c, &r, v);
	rc = 0;
out:
	ctx_close(&c);
	return rc;
}

int pool_volume_delete(struct install *in, const char *volume, struct pool_volume *v, int *found)
{
	struct vrow r;
	struct ctx c;
	int rc = -1, f;

	*found = 0;
	if (dmdev_load() < 0 || ctx_open_volumes(&c, in) < 0 || parse_volume(&c, volume, &r) < 0)
		goto out;
	if ((f = vrow_get(&c, r.kind, r.ident, &r)) <= 0) {
		rc = f; /* deleting what is not there succeeds */
		goto out;
	}
	*found = 1;
	fill_volume(&c, &r, v);
	if (volume_stop(&c, &r) < 0)
		goto out;
	crash_point("pool-delete-deactivated");
	if (volume_remove(&c, &r, 1) < 0)
		goto out;
	v->active = 0;
	v->device[0] = '\0';
	snprintf(v->state, sizeof(v->state), "deleted");
	rc = 0;
out:
	ctx_close(&c);
	return rc;
}

int pool_list(struct install *in, int (*fn)(const struct pool_volume *v, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct pool_volume v;
	struct vrow r;
	struct ctx c;
	int rc = -1, s;

	if (ctx_open(&c, in, CTX_NO_LOCK) < 0)
		return -1;
	/* no pool, nothing to list: device-mapper is not needed for that */
	if (!c.have_row) {
		ctx_close(&c);
		return 0;
	}
	ctx_close(&c);
	if (dmdev_load() < 0 || pool_recover(in) < 0 || ctx_open(&c, in, CTX_NO_LOCK) < 0)
		return -1;
	if (db_prepare(c.db, &st, "SELECT " VROW_COLUMNS " FROM pool_volume ORDER BY kind, name") <
	    0)
		goto out;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		vrow_read(st, &r);
		fill_volume(&c, &r, &v);
		if (fn(&v, ctx) < 0)
			goto out;
	}
	if (s != SQLITE_DONE) {
		db_error(c.db, "unable to read the volumes");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	ctx_close(&c);
	return rc;
}
