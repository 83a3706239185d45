#include "install.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file.h"
#include "hostnet.h"
#include "lock.h"
#include "name.h"

#define CONFIG_VERSION 1

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
	return 0;
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

int install_parse_config(struct install *in, const char *path, const char *text)
{
	const cJSON *id, *subnet, *version;
	cJSON *root;
	int rc = -1;

	root = cJSON_Parse(text);
	if (!root || !cJSON_IsObject(root)) {
		error_code(EXIT_INTERNAL, "unable to read '%s': not a JSON object", path);
		goto out;
	}
	version = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (version && (!cJSON_IsNumber(version) || version->valuedouble > CONFIG_VERSION)) {
		error_code(EXIT_INTERNAL, "unable to read '%s': unknown config version", path);
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

static int open_db(struct install *in, struct db **db, int create)
{
	char path[PATH_MAX];

	if (!in->db_ready) {
		if (install_path(in, path, sizeof(path), "state.db") < 0 || db_open(&in->db, path, create) < 0)
			return -1;
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
		rc = hostnet_overlap(&c, why, sizeof(why));
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

static const char *const base_schema[] = {
	"CREATE TABLE install (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT",
};

int install_init(struct install *in, const char *dir, const struct install_opts *o, int *created)
{
	char abs[PATH_MAX], path[PATH_MAX], id_buf[5], why[128];
	const char *id = NULL;
	struct cidr subnet = {0, 0};
	int lock = -1, rc = -1;

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
	if (absolute(dir, abs) < 0)
		return -1;
	/* A new installation's explicit subnet must be off the host's addresses
	 * and routes; checked before anything is made. An existing one is not
	 * checked again: its own TAP addresses live in it. */
	if (o->subnet && snprintf(path, sizeof(path), "%s/config.json", abs) < (int)sizeof(path) &&
	    access(path, F_OK) < 0) {
		rc = hostnet_overlap(&subnet, why, sizeof(why));
		if (rc > 0) {
			error_code(EXIT_USAGE, "subnet '%s' overlaps %s on this host", o->subnet, why);
			error_hint("choose a subnet that no address or route of this host uses");
		}
		if (rc != 0)
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
	if (install_path(in, path, sizeof(path), "state.db") < 0 || db_open(&in->db, path, 1) < 0)
		goto out;
	in->db_ready = 1;
	if (db_migrate(&in->db, "install", base_schema, 1) < 0)
		goto out;
	/* what a killed init's write of the config left behind */
	if (install_path(in, path, sizeof(path), "config.json") < 0 || file_remove_stale_tmp(path) < 0)
		goto out;
	if (*created && write_config(in) < 0)
		goto out;
	rc = 0;
out:
	lock_release(lock);
	return rc;
}
