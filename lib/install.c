#include "install.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "error.h"
#include "file.h"
#include "hostnet.h"
#include "ipalloc.h"
#include "lock.h"
#include "name.h"

#define CONFIG_VERSION 1
/* The database's identity row (table install): the instance id of the
 * installation that wrote it ("" legacy). */
#define IDENTITY_KEY "instance_id"

/* What ember makes in a state directory, and nothing else: init adopts a
 * non-empty directory without a config only when it holds nothing but
 * these (a crashed init's leftovers), and --purge removes exactly these. */
static const char *const made[] = {
	"config.json", "state.db", "state.db-wal", "state.db-shm", "state.db-journal",
	"locks", "vms", "pool", "hosts",
};

static int made_by_ember(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(made); i++)
		if (strcmp(name, made[i]) == 0)
			return 1;
	/* file_write_atomic's temporary file, left by a crash */
	return strncmp(name, "config.json.tmp.", 16) == 0;
}

const char *install_namespace(const struct install *in)
{
	return in->id[0] ? in->id : NULL;
}

void install_derive_id(const char *path, char id[5])
{
	snprintf(id, 5, "%04x", fnv1a32(path, strlen(path)) & 0xffffu);
}

void install_default_subnet(const char *id, struct cidr *c)
{
	uint32_t s = (fnv1a32(id, strlen(id)) >> 8) & 0xff;

	c->addr = 10u << 24 | s << 16;
	c->prefix = 16;
}

int install_parse_id(const char *s, char id[5])
{
	int i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			break;
		id[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	if (i != 4 || s[4] != '\0') {
		error_code(EXIT_USAGE, "invalid instance id '%s'", s);
		error_hint("an instance id is exactly 4 hex characters, such as 'a3f4'");
		return -1;
	}
	id[4] = '\0';
	return 0;
}

int install_parse_subnet(const char *s, struct cidr *c)
{
	char net[CIDR_LEN];
	struct cidr n;

	if (cidr_parse(s, c) < 0)
		return -1;
	if (c->prefix < 8 || c->prefix > 30) {
		error_code(EXIT_USAGE, "invalid subnet '%s': the prefix must be 8 to 30", s);
		return -1;
	}
	if (!cidr_is_network(c)) {
		n.addr = cidr_network(c);
		n.prefix = c->prefix;
		cidr_format(&n, net);
		error_code(EXIT_USAGE, "invalid subnet '%s': host bits are set", s);
		error_hint("did you mean '%s'?", net);
		return -1;
	}
	/* the allocator's own rule: a subnet no address can come from is no
	 * subnet for allocations */
	return ipalloc_valid_subnet(c, IPALLOC_P2P);
}

int install_host_free(const struct cidr *c, int exact, int code, const char *what)
{
	char why[128], text[CIDR_LEN];
	int rc;

	rc = hostnet_overlap(c, exact, why, sizeof(why));
	if (rc <= 0)
		return rc;
	if (exact)
		ip4_format(c->addr, text);
	else
		cidr_format(c, text);
	error_code(code, "%s '%s' overlaps %s on this host", what, text, why);
	if (exact)
		error_hint("the host has that address already: "
			   "--reserve it, or choose another subnet");
	else if (c->prefix > 30)
		error_hint("choose an address that no address or route of this host uses");
	else
		error_hint("choose a%s that no address or route of this host uses",
			   strcmp(what, "address") == 0 ? "n address whose network" : " subnet");
	return -1;
}

const char *install_dir_default(const char *given)
{
	const char *env;

	if (given && *given)
		return given;
	env = getenv("EMBER_STATE_DIR");
	if (env && *env)
		return env;
	return INSTALL_DEFAULT_DIR;
}

int install_path(const struct install *in, char *buf, size_t n, const char *rel)
{
	if ((size_t)snprintf(buf, n, "%s/%s", in->dir, rel) >= n)
		return error_code(EXIT_USAGE, "path too long under '%s'", in->dir);
	return 0;
}

/* An absolute version of DIR without resolving it (it may not exist yet). */
static int absolute(const char *dir, char out[PATH_MAX])
{
	char cwd[PATH_MAX];

	if (!*dir)
		return error_code(EXIT_USAGE, "empty state directory");
	if (dir[0] == '/') {
		if (strlen(dir) >= PATH_MAX)
			return error_code(EXIT_USAGE, "state directory path too long");
		strcpy(out, dir);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return error_errno("unable to find the current directory");
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", cwd, dir) >= PATH_MAX)
		return error_code(EXIT_USAGE, "state directory path too long");
	return 0;
}

/* ABS as a state directory: 0 a directory, -2 nothing there (no error),
 * else -1 (100) when it is something else: a file, or a symbolic link that
 * leads nowhere. */
static int dir_shape(const char *abs)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(abs, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return -2;
		return error_errno("unable to open the state directory '%s'", abs);
	}
	if (S_ISLNK(st.st_mode) && stat(abs, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return error_errno("unable to open the state directory '%s'", abs);
		n = readlink(abs, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		error_code(EXIT_USAGE,
			   "state directory '%s' is a symbolic link to '%s', "
			   "which does not exist",
			   abs, target);
		error_hint("create the directory it points to, or name another with --state-dir");
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		error_code(EXIT_USAGE, "state directory '%s' is not a directory", abs);
		error_hint("name a directory (or a path that does not exist yet) with --state-dir");
		return -1;
	}
	return 0;
}

/* Init may make an installation in ABS: it does not exist, is empty, holds
 * a config (an installation already), or holds only what an init that did
 * not finish left. Anything else is someone's directory: 100. */
static int dir_adoptable(const char *abs)
{
	struct dirent *d;
	char other[NAME_MAX + 1] = "";
	int config = 0;
	DIR *dir;

	dir = opendir(abs);
	if (!dir && errno == ENOENT)
		return 0;
	if (!dir)
		return error_errno("unable to read the state directory '%s'", abs);
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (strcmp(d->d_name, "config.json") == 0)
			config = 1;
		/* a file system of its own, mounted there, has lost+found */
		else if (!other[0] && !made_by_ember(d->d_name) &&
			 strcmp(d->d_name, "lost+found") != 0)
			snprintf(other, sizeof(other), "%s", d->d_name);
	}
	closedir(dir);
	if (config || !other[0])
		return 0;
	error_code(EXIT_USAGE, "'%s' is not empty and is not an ember installation (it holds '%s')",
		   abs, other);
	error_hint("name a new or empty directory with --state-dir");
	return -1;
}

int install_purge(const struct install *in)
{
	char path[PATH_MAX];
	struct dirent *d;
	size_t i;
	DIR *dir;
	int rc = 0;

	for (i = 0; i < ARRAY_SIZE(made); i++)
		if (install_path(in, path, sizeof(path), made[i]) < 0 || file_remove_tree(path) < 0)
			return -1;
	dir = opendir(in->dir);
	if (!dir && errno == ENOENT)
		return 1;
	if (!dir)
		return error_errno("unable to read the state directory '%s'", in->dir);
	while (rc == 0 && (d = readdir(dir)))
		if (strncmp(d->d_name, "config.json.tmp.", 16) == 0 &&
		    (install_path(in, path, sizeof(path), d->d_name) < 0 ||
		     file_remove_tree(path) < 0))
			rc = -1;
	closedir(dir);
	if (rc < 0)
		return -1;
	if (rmdir(in->dir) == 0 || errno == ENOENT)
		return 1;
	if (errno == ENOTEMPTY || errno == EEXIST)
		return 0;
	return error_errno("unable to remove the state directory '%s'", in->dir);
}

int install_parse_config(struct install *in, const char *path, const char *text)
{
	const cJSON *id, *subnet, *version;
	cJSON *root;
	int rc = -1;

	/* exactly one object: whatever follows it (a second object, a stray
	 * byte) means the file is not what ember wrote */
	root = cJSON_ParseWithOpts(text, NULL, 1);
	if (!root || !cJSON_IsObject(root)) {
		error_code(EXIT_INTERNAL, "unable to read '%s': not a JSON object", path);
		goto out;
	}
	/* no version: written before there was one; else an integer 1.. */
	version = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (version && (!cJSON_IsNumber(version) ||
			!(version->valuedouble >= 1 && version->valuedouble <= 65535) ||
			version->valuedouble != (double)(int)version->valuedouble)) {
		error_code(EXIT_INTERNAL, "unable to read '%s': impossible config version", path);
		goto out;
	}
	if (version && version->valuedouble > CONFIG_VERSION) {
		error_code(EXIT_INTERNAL,
			   "unable to read '%s': config version %d is newer than "
			   "this ember knows (%d)",
			   path, version->valueint, CONFIG_VERSION);
		goto out;
	}
	id = cJSON_GetObjectItemCaseSensitive(root, "instance_id");
	in->id[0] = '\0';
	if (id) {
		if (!cJSON_IsString(id) || install_parse_id(id->valuestring, in->id) < 0 ||
		    strcmp(id->valuestring, in->id) != 0) {
			error_code(EXIT_INTERNAL, "unable to read '%s': bad instance_id", path);
			goto out;
		}
	}
	subnet = cJSON_GetObjectItemCaseSensitive(root, "ip_subnet");
	if (subnet) {
		if (!cJSON_IsString(subnet) || install_parse_subnet(subnet->valuestring, &in->subnet) < 0) {
			error_code(EXIT_INTERNAL, "unable to read '%s': bad ip_subnet", path);
			goto out;
		}
	} else if (!in->id[0]) {
		cidr_parse(INSTALL_LEGACY_SUBNET, &in->subnet);
	} else {
		install_default_subnet(in->id, &in->subnet);
	}
	rc = 0;
out:
	if (rc < 0)
		error_hint("restore '%s' from a backup, or move it away and run 'ember-init init' again", path);
	cJSON_Delete(root);
	return rc;
}

/* Read DIR/config.json into IN: 0, -2 when there is none, -1 on error. */
static int read_config(struct install *in)
{
	char path[PATH_MAX];
	char *text = NULL;
	int rc;

	if (install_path(in, path, sizeof(path), "config.json") < 0)
		return -1;
	rc = file_read(path, &text, NULL);
	if (rc == 0) {
		rc = install_parse_config(in, path, text);
	} else if (rc == -1) {
		/* unreadable is as bad as corrupt: nothing can be trusted or written */
		char why[512];

		snprintf(why, sizeof(why), "%s", error_message());
		error_code(EXIT_INTERNAL, "%s", why);
		error_hint("check the permissions of '%s' (it must be a file that root can read)", path);
	}
	free(text);
	return rc;
}

int install_load(struct install *in, const char *dir)
{
	char abs[PATH_MAX];
	int rc;

	memset(in, 0, sizeof(*in));
	if (absolute(dir, abs) < 0)
		return -1;
	if (dir_shape(abs) == -1)
		return -1;
	if (!realpath(abs, in->dir)) {
		if (errno != ENOENT && errno != ENOTDIR)
			return error_errno("unable to open the state directory '%s'", abs);
		error_code(EXIT_USAGE, "no ember installation in '%s'", abs);
		error_hint("run 'ember-init init' first, or pass --state-dir");
		return -1;
	}
	rc = read_config(in);
	if (rc == -2) {
		error_code(EXIT_USAGE, "no ember installation in '%s'", in->dir);
		error_hint("run 'ember-init init' first, or pass --state-dir");
		return -1;
	}
	return rc;
}

static const char *const base_schema[] = {
	"CREATE TABLE install (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT",
};

static int db_lost(const char *path, const char *why)
{
	error_code(EXIT_INTERNAL, "the state database '%s' %s", path, why);
	error_hint("restore it (with its -wal file) from a backup; to start afresh instead, move "
		   "config.json and state.db away and run 'ember-init init'");
	return -1;
}

/* Before PATH is opened for an installation whose config exists: init
 * writes the database before the config, so an empty file is one that lost
 * its contents (truncated), never one that was not written yet. */
static int db_check_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
		return db_lost(path, "is empty: it lost its contents");
	return 0;
}

/* After it is opened: it holds tables (init makes them), and its identity
 * row, where it has one, names this installation. A database with tables
 * but no identity row is an older ember's (init adds the row). */
static int db_check_identity(struct install *in, const char *path)
{
	char why[128];
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(&in->db, &st, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'") < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0);
	else
		rc = db_error(&in->db, "unable to read the state database");
	sqlite3_finalize(st);
	if (rc <= 0)
		return rc < 0 ? -1 : db_lost(path, "holds no table: it lost its contents");
	rc = db_has_table(&in->db, "install");
	if (rc <= 0)
		return rc;
	if (db_prepare(&in->db, &st, "SELECT value FROM install WHERE key = '" IDENTITY_KEY "'") < 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), in->id) != 0) {
		snprintf(why, sizeof(why), "is installation '%s''s, not this one's ('%s')",
			 (const char *)sqlite3_column_text(st, 0), in->id[0] ? in->id : "legacy");
		rc = db_lost(path, why);
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(&in->db, "unable to read the state database");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The installation's own table and the database's identity row. */
static int db_stamp(struct install *in)
{
	sqlite3_stmt *st = NULL;

	if (db_migrate(&in->db, "install", base_schema, 1) < 0 || db_begin(&in->db) < 0)
		return -1;
	if (db_prepare(&in->db, &st,
		       "INSERT OR IGNORE INTO install (key, value) "
		       "VALUES ('" IDENTITY_KEY "', ?)") == 0)
		sqlite3_bind_text(st, 1, in->id, -1, SQLITE_STATIC);
	return db_write(&in->db, st, "unable to record the installation in the state database");
}

static int open_db(struct install *in, struct db **db, int create)
{
	char path[PATH_MAX];
	struct stat st;
	int fresh;

	if (!in->db_ready) {
		if (install_path(in, path, sizeof(path), "state.db") < 0 || db_check_size(path) < 0)
			return -1;
		fresh = create && stat(path, &st) < 0 && errno == ENOENT;
		if (db_open(&in->db, path, create) < 0)
			return -1;
		if ((fresh ? db_stamp(in) : db_check_identity(in, path)) < 0) {
			db_close(&in->db);
			return -1;
		}
		in->db_ready = 1;
	}
	*db = &in->db;
	return 0;
}

int install_db(struct install *in, struct db **db)
{
	return open_db(in, db, 0);
}

int install_db_create(struct install *in, struct db **db)
{
	return open_db(in, db, 1);
}

void install_release(struct install *in)
{
	if (in->db_ready)
		db_close(&in->db);
	in->db_ready = 0;
}

static int write_config(const struct install *in)
{
	char path[PATH_MAX], subnet[CIDR_LEN];
	char *text, *line;
	cJSON *root;
	size_t n;
	int rc;

	if (install_path(in, path, sizeof(path), "config.json") < 0)
		return -1;
	cidr_format(&in->subnet, subnet);
	root = cJSON_CreateObject();
	if (!root)
		return error("unable to build the config");
	if (!cJSON_AddNumberToObject(root, "version", CONFIG_VERSION) ||
	    (in->id[0] && !cJSON_AddStringToObject(root, "instance_id", in->id)) ||
	    !cJSON_AddStringToObject(root, "ip_subnet", subnet)) {
		cJSON_Delete(root);
		return error("unable to build the config");
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return error("unable to build the config");
	n = strlen(text);
	line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return error("unable to build the config");
	}
	memcpy(line + n, "\n", 2);
	rc = file_write_atomic(path, line, n + 1, 0600);
	free(line);
	return rc;
}

/* The derived subnet, moved to the next /16 that no host address or route uses. */
static int derive_subnet(struct install *in)
{
	struct cidr c, first;
	char why[128];
	int i, rc;

	if (in->id[0])
		install_default_subnet(in->id, &first);
	else
		cidr_parse(INSTALL_LEGACY_SUBNET, &first);
	c = first;
	for (i = 0; i < 256; i++) {
		c.addr = (first.addr & 0xff000000u) | (((first.addr >> 16) + (uint32_t)i) & 0xff) << 16;
		rc = hostnet_overlap(&c, 0, why, sizeof(why));
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if (i == 0) {
			cidr_format(&first, in->moved_from);
			snprintf(in->moved_why, sizeof(in->moved_why), "%s", why);
		}
	}
	if (i == 256) {
		error_code(EXIT_REFUSED, "no free 10.x.0.0/16 subnet on this host");
		error_hint("pass --ip-subnet CIDR");
		return -1;
	}
	in->subnet = c;
	return 0;
}

static int check_settings(const struct install *in, const struct install_opts *o, const char *id,
			  const struct cidr *subnet)
{
	char have[CIDR_LEN];

	if (o->legacy && in->id[0])
		return error_code(EXIT_REFUSED, "'%s' is already initialised with instance id '%s', not legacy",
				  in->dir, in->id);
	if (id && strcmp(id, in->id) != 0) {
		if (!in->id[0])
			return error_code(EXIT_REFUSED,
					  "'%s' is a legacy installation (no instance id); refusing '%s'",
					  in->dir, id);
		return error_code(EXIT_REFUSED, "'%s' is already initialised with instance id '%s', not '%s'",
				  in->dir, in->id, id);
	}
	if (o->subnet && (subnet->addr != in->subnet.addr || subnet->prefix != in->subnet.prefix)) {
		cidr_format(&in->subnet, have);
		return error_code(EXIT_REFUSED, "'%s' is already initialised with subnet %s, not %s",
				  in->dir, have, o->subnet);
	}
	return 0;
}

int install_init(struct install *in, const char *dir, const struct install_opts *o, int *created)
{
	char abs[PATH_MAX], path[PATH_MAX], id_buf[5];
	const char *id = NULL;
	struct cidr subnet = {0, 0};
	int lock = -1, rc = -1, existed, shape;

	memset(in, 0, sizeof(*in));
	*created = 0;
	/* validate everything before anything is touched */
	if (o->legacy && o->id)
		return error_code(EXIT_USAGE, "--legacy and --instance-id exclude each other");
	if (o->id) {
		if (install_parse_id(o->id, id_buf) < 0)
			return -1;
		id = id_buf;
	}
	if (o->subnet && install_parse_subnet(o->subnet, &subnet) < 0)
		return -1;
	if (absolute(dir, abs) < 0 || (shape = dir_shape(abs)) == -1)
		return -1;
	if (shape == 0 && dir_adoptable(abs) < 0)
		return -1;
	/* A new installation's explicit subnet must be off the host's addresses
	 * and routes; checked before anything is made. An existing one is not
	 * checked again: its own TAP addresses live in it. */
	if (o->subnet && snprintf(path, sizeof(path), "%s/config.json", abs) < (int)sizeof(path) &&
	    access(path, F_OK) < 0) {
		if (install_host_free(&subnet, 0, EXIT_USAGE, "subnet") < 0)
			return -1;
	}

	/* an existing installation whose config cannot be read is refused
	 * before anything is created, chmod-ed or locked in it */
	if (realpath(abs, in->dir) && read_config(in) == -1)
		return -1;
	memset(in, 0, sizeof(*in));

	if (file_mkdirs(abs, 0700) < 0)
		return -1;
	if (!realpath(abs, in->dir))
		return error_errno("unable to resolve the state directory '%s'", abs);
	if (chmod(in->dir, 0700) < 0)
		return error_errno("unable to set the mode of '%s'", in->dir);
	if (install_path(in, path, sizeof(path), "locks") < 0 || file_mkdirs(path, 0700) < 0)
		return -1;
	if (install_path(in, path, sizeof(path), "locks/init") < 0)
		return -1;
	lock = lock_take(path, LOCK_EXCLUSIVE);
	if (lock < 0)
		return -1;

	rc = read_config(in);
	if (rc == 0) {
		rc = check_settings(in, o, id, &subnet);
		if (rc < 0)
			goto out;
	} else if (rc == -2) {
		if (o->legacy)
			in->id[0] = '\0';
		else if (id)
			memcpy(in->id, id, 5);
		else
			install_derive_id(in->dir, in->id);
		if (o->subnet) {
			in->subnet = subnet;
		} else if (derive_subnet(in) < 0) {
			rc = -1;
			goto out;
		}
		*created = 1;
	} else {
		goto out;
	}

	/* The database and directories first, config.json last: the config is
	 * what says "this installation exists", so a crash before it leaves a
	 * directory that the next init simply completes. */
	rc = -1;
	if (install_path(in, path, sizeof(path), "vms") < 0 || file_mkdirs(path, 0700) < 0)
		goto out;
	if (install_path(in, path, sizeof(path), "state.db") < 0)
		goto out;
	/* an installation's database that lost its contents is never made
	 * afresh: that would hand out again what it held */
	existed = access(path, F_OK) == 0;
	if ((!*created && db_check_size(path) < 0) || db_open(&in->db, path, 1) < 0)
		goto out;
	in->db_ready = 1;
	if ((!*created && existed && db_check_identity(in, path) < 0) || db_stamp(in) < 0)
		goto out;
	/* what a killed init's write of the config left behind */
	if (install_path(in, path, sizeof(path), "config.json") < 0 ||
	    file_remove_stale_tmp(path) < 0)
		goto out;
	if (*created && write_config(in) < 0)
		goto out;
	rc = 0;
out:
	lock_release(lock);
	return rc;
}
