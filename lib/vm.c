/* vm: the record, its table, create (validation first), delete, list, show. */
#include "vm.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "cidalloc.h"
#include "db.h"
#include "error.h"
#include "file.h"
#include "ipalloc.h"
#include "lock.h"
#include "tap.h"

static const char *const state_names[VM_STATES] = {"created", "starting", "running", "stopped",
						    "failed"};

static const char *const schema[] = {
    /* drives: a JSON array of {"id", "path", "read_only"}; NULL columns:
     * none (no initrd, no rootfs, no network, no vsock, no MTU) */
    "CREATE TABLE vms (name TEXT PRIMARY KEY, kernel TEXT NOT NULL, initrd TEXT, rootfs TEXT,"
    " read_only INTEGER NOT NULL, boot_args TEXT NOT NULL, vcpus INTEGER NOT NULL,"
    " memory INTEGER NOT NULL, drives TEXT NOT NULL, tap TEXT, mac TEXT, guest_ip TEXT,"
    " host_ip TEXT, mtu INTEGER, cid INTEGER, api_sock TEXT NOT NULL, vsock_uds TEXT,"
    " state TEXT NOT NULL CHECK (state IN ('created', 'starting', 'running', 'stopped',"
    " 'failed')), reason TEXT, started INTEGER, created INTEGER NOT NULL) STRICT",
};

const char *vm_state_name(enum vm_state s)
{
	return s >= 0 && s < VM_STATES ? state_names[s] : "?";
}

int vm_parse_state(const char *s, enum vm_state *st)
{
	int i;

	for (i = 0; i < VM_STATES; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*st = (enum vm_state)i;
			return 0;
		}
	return error_code(EXIT_USAGE,
			  "unknown state '%s' (created, starting, running, stopped or failed)", s);
}

void vm_release(struct vm *v)
{
	int i;

	free(v->kernel);
	free(v->initrd);
	free(v->rootfs);
	free(v->boot_args);
	free(v->reason);
	for (i = 0; i < v->n_drives; i++)
		free(v->drives[i].path);
	v->kernel = v->initrd = v->rootfs = v->boot_args = v->reason = NULL;
	v->n_drives = 0;
}

void vm_records_release(struct vm_records *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		vm_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- the table ---- */

const struct tables vm_tables = {"vm", schema, ARRAY_SIZE(schema), "vms",
				 "SELECT name, created FROM vms ORDER BY name"};

int vm_db(struct install *in, struct db **db, int create)
{
	return tables_open(in, &vm_tables, create, db);
}

int vm_path(const struct install *in, const char *name, const char *rel, char *buf, size_t n)
{
	if ((size_t)snprintf(buf, n, "%s/vms/%s%s%s", in->dir, name, *rel ? "/" : "", rel) >= n)
		return error_code(EXIT_USAGE, "path too long under '%s'", in->dir);
	return 0;
}

int vm_lock(struct install *in, const char *name)
{
	char path[PATH_MAX], rel[NAME_MAX_LEN + 16];

	snprintf(rel, sizeof(rel), "locks/vm.%s", name);
	if (install_path(in, path, sizeof(path), "locks") < 0 || file_mkdirs(path, 0700) < 0 ||
	    install_path(in, path, sizeof(path), rel) < 0)
		return -1;
	return lock_take(path, LOCK_EXCLUSIVE);
}

static char *dup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? strdup((const char *)t) : NULL;
}

static void copy_col(sqlite3_stmt *st, int col, char *buf, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(buf, n, "%s", t ? (const char *)t : "");
}

/* The drives column: a JSON array. */
static int parse_drives(const char *text, struct vm *v)
{
	cJSON *j = cJSON_Parse(text), *d;
	int rc = -1;

	if (!cJSON_IsArray(j))
		goto out;
	cJSON_ArrayForEach(d, j)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(d, "path");
		const cJSON *ro = cJSON_GetObjectItemCaseSensitive(d, "read_only");

		if (v->n_drives >= VM_DRIVES_MAX || !cJSON_IsString(id) || !cJSON_IsString(path) ||
		    strlen(id->valuestring) > VM_DRIVE_ID_MAX)
			goto out;
		snprintf(v->drives[v->n_drives].id, sizeof(v->drives[0].id), "%s", id->valuestring);
		v->drives[v->n_drives].path = strdup(path->valuestring);
		v->drives[v->n_drives].read_only = cJSON_IsTrue(ro);
		if (!v->drives[v->n_drives++].path)
			goto out;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

static char *format_drives(const struct vm *v)
{
	cJSON *a = cJSON_CreateArray(), *d;
	char *s = NULL;
	int i;

	if (!a)
		return NULL;
	for (i = 0; i < v->n_drives; i++) {
		d = cJSON_CreateObject();
		if (!d || !cJSON_AddItemToArray(a, d) ||
		    !cJSON_AddStringToObject(d, "id", v->drives[i].id) ||
		    !cJSON_AddStringToObject(d, "path", v->drives[i].path) ||
		    !cJSON_AddBoolToObject(d, "read_only", v->drives[i].read_only))
			goto out;
	}
	s = cJSON_PrintUnformatted(a);
out:
	cJSON_Delete(a);
	return s;
}

#define SELECT_VM                                                                                  \
	"SELECT name, kernel, initrd, rootfs, read_only, boot_args, vcpus, memory, drives, tap,"   \
	" mac, guest_ip, host_ip, mtu, cid, api_sock, vsock_uds, state, reason, started, created"  \
	" FROM vms"

static int read_row(sqlite3_stmt *st, struct vm *v)
{
	const char *state = (const char *)sqlite3_column_text(st, 17);
	const char *drives = (const char *)sqlite3_column_text(st, 8);
	int i;

	memset(v, 0, sizeof(*v));
	copy_col(st, 0, v->name, sizeof(v->name));
	v->kernel = dup_col(st, 1);
	v->initrd = dup_col(st, 2);
	v->rootfs = dup_col(st, 3);
	v->read_only = sqlite3_column_int(st, 4);
	v->boot_args = dup_col(st, 5);
	v->vcpus = sqlite3_column_int(st, 6);
	v->memory = sqlite3_column_int(st, 7);
	copy_col(st, 9, v->tap, sizeof(v->tap));
	copy_col(st, 10, v->mac, sizeof(v->mac));
	copy_col(st, 11, v->guest_ip, sizeof(v->guest_ip));
	copy_col(st, 12, v->host_ip, sizeof(v->host_ip));
	v->mtu = sqlite3_column_int(st, 13);
	v->cid = (uint32_t)sqlite3_column_int64(st, 14);
	copy_col(st, 15, v->api_sock, sizeof(v->api_sock));
	copy_col(st, 16, v->vsock_uds, sizeof(v->vsock_uds));
	v->reason = dup_col(st, 18);
	v->started = sqlite3_column_int64(st, 19);
	v->created = sqlite3_column_int64(st, 20);
	v->state = VM_STATES;
	for (i = 0; state && i < VM_STATES; i++)
		if (strcmp(state, state_names[i]) == 0)
			v->state = (enum vm_state)i;
	if (!v->kernel || !v->boot_args || v->state == VM_STATES || !drives ||
	    parse_drives(drives, v) < 0) {
		error_code(EXIT_INTERNAL, "the record of VM '%s' is corrupt", v->name);
		vm_release(v);
		return -1;
	}
	return 0;
}

int vm_read(struct db *db, const char *name, struct vm *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, &st, SELECT_VM " WHERE name = ?") < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_row(st, v) < 0 ? -1 : 1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = db_error(db, "unable to read the VM records");
	sqlite3_finalize(st);
	return rc;
}

static void bind_text(sqlite3_stmt *st, int col, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, col, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, col);
}

int vm_set_state(struct db *db, const char *name, enum vm_state state, const char *reason,
		 long long started)
{
	sqlite3_stmt *st = NULL;

	if (db_begin(db) < 0)
		return -1;
	db_prepare(db, &st,
		   "UPDATE vms SET state = ?, reason = ?, started = coalesce(?, started) WHERE name = ?");
	if (st) {
		sqlite3_bind_text(st, 1, vm_state_name(state), -1, SQLITE_STATIC);
		bind_text(st, 2, reason);
		if (started > 0)
			sqlite3_bind_int64(st, 3, started);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	}
	return db_write(db, st, "unable to record the VM's state");
}

static int insert(struct db *db, const struct vm *v)
{
	sqlite3_stmt *st = NULL;
	char *drives = format_drives(v);

	if (!drives)
		return error("unable to encode the drives of '%s'", v->name);
	if (db_begin(db) < 0) {
		free(drives);
		return -1;
	}
	db_prepare(db, &st,
		   "INSERT INTO vms (name, kernel, initrd, rootfs, read_only, boot_args, vcpus, memory,"
		   " drives, tap, mac, guest_ip, host_ip, mtu, cid, api_sock, vsock_uds, state,"
		   " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'created', ?)");
	if (st) {
		bind_text(st, 1, v->name);
		bind_text(st, 2, v->kernel);
		bind_text(st, 3, v->initrd);
		bind_text(st, 4, v->rootfs);
		sqlite3_bind_int(st, 5, v->read_only);
		bind_text(st, 6, v->boot_args);
		sqlite3_bind_int(st, 7, v->vcpus);
		sqlite3_bind_int(st, 8, v->memory);
		bind_text(st, 9, drives);
		bind_text(st, 10, v->tap);
		bind_text(st, 11, v->mac);
		bind_text(st, 12, v->guest_ip);
		bind_text(st, 13, v->host_ip);
		if (v->mtu)
			sqlite3_bind_int(st, 14, v->mtu);
		if (v->cid)
			sqlite3_bind_int64(st, 15, v->cid);
		bind_text(st, 16, v->api_sock);
		bind_text(st, 17, v->vsock_uds);
		sqlite3_bind_int64(st, 18, (long long)time(NULL));
	}
	free(drives);
	return db_write(db, st, "unable to record the VM");
}

/* ---- validation ---- */

static int parse_int(const char *what, const char *s, long long lo, long long hi, long long *v)
{
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		goto bad;
	*v = strtoll(s, &end, 10);
	if (errno || *end || *v < lo || *v > hi)
		goto bad;
	return 0;
bad:
	return error_code(EXIT_USAGE, "%s '%s' is not a number of %lld-%lld", what, s, lo, hi);
}

/* PATH made absolute without resolving it (a /dev/mapper name stays one). */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *s;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&s, "%s/%s", cwd, path) < 0)
		return NULL;
	return s;
}

/* WHAT at PATH: readable, and a regular file (or, with BLOCK, a block
 * device). Returns the absolute path (owned) or NULL with an error (100). */
static char *check_file(const char *what, const char *path, int block)
{
	struct stat sb;
	char *abs;
	int fd;

	if (!*path) {
		error_code(EXIT_USAGE, "the %s path is empty", what);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		error_code(EXIT_USAGE, "unable to read the %s '%s': %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0) {
		error_errno("unable to read the %s '%s'", what, path);
		close(fd);
		return NULL;
	}
	close(fd);
	if (!S_ISREG(sb.st_mode) && !(block && S_ISBLK(sb.st_mode))) {
		error_code(EXIT_USAGE, "the %s '%s' is %s, not a regular file%s", what, path,
			   S_ISDIR(sb.st_mode) ? "a directory" : "something else",
			   block ? " or a block device" : "");
		return NULL;
	}
	abs = absolute(path);
	if (!abs)
		error_errno("unable to make '%s' absolute", path);
	return abs;
}

/* A MAC: six pairs of hex digits with ':', unicast, not all zero. */
static int parse_mac(const char *s, char out[VM_MAC_LEN])
{
	unsigned b[6];
	int i, n = 0;

	for (i = 0; i < 17; i++)
		if (!s[i] || (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i])))
			goto bad;
	if (s[17] || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
			    &n) != 6 || n != 17)
		goto bad;
	if (b[0] & 1)
		return error_code(EXIT_USAGE, "MAC '%s' is a multicast address", s);
	if (!(b[0] | b[1] | b[2] | b[3] | b[4] | b[5]))
		return error_code(EXIT_USAGE, "MAC '%s' is all zero", s);
	snprintf(out, VM_MAC_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", b[0] & 0xff, b[1] & 0xff,
		 b[2] & 0xff, b[3] & 0xff, b[4] & 0xff, b[5] & 0xff);
	return 0;
bad:
	return error_code(EXIT_USAGE, "MAC '%s' is not six pairs of hex digits like 06:00:0a:00:00:02",
			  s);
}

static int valid_drive_id(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > VM_DRIVE_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* --drive ID=PATH[:ro] */
static int parse_drive(const char *s, struct vm *v)
{
	struct vm_drive *d = &v->drives[v->n_drives];
	const char *eq = strchr(s, '='), *path;
	char *copy = NULL;
	size_t n;
	int i;

	if (!eq || (size_t)(eq - s) > VM_DRIVE_ID_MAX)
		return error_code(EXIT_USAGE, "--drive '%s' is not ID=PATH[:ro]", s);
	memcpy(d->id, s, (size_t)(eq - s));
	d->id[eq - s] = '\0';
	if (!valid_drive_id(d->id))
		return error_code(EXIT_USAGE,
				  "drive id '%s' is not 1-%d of letters, digits and '_' (Firecracker's "
				  "rule)", d->id, VM_DRIVE_ID_MAX);
	if (strcmp(d->id, "rootfs") == 0)
		return error_code(EXIT_USAGE, "drive id 'rootfs' is the root drive's");
	for (i = 0; i < v->n_drives; i++)
		if (strcmp(v->drives[i].id, d->id) == 0)
			return error_code(EXIT_USAGE, "drive id '%s' is given twice", d->id);
	path = eq + 1;
	n = strlen(path);
	d->read_only = n > 3 && strcmp(path + n - 3, ":ro") == 0;
	if (d->read_only) {
		copy = strndup(path, n - 3);
		if (!copy)
			return error_errno("unable to parse --drive");
		path = copy;
	}
	d->path = check_file("drive", path, 1);
	free(copy);
	if (!d->path)
		return -1;
	v->n_drives++;
	return 0;
}

/* A TAP name as the kernel takes it. */
static int valid_ifname(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= VM_TAP_LEN || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) || !isprint((unsigned char)s[i]))
			return 0;
	return 1;
}

/* GUEST and HOST/PREFIX: one block, two distinct host addresses of it. */
static int check_addresses(const char *guest_s, const char *host_s, struct vm *v)
{
	struct cidr host;
	uint32_t guest;

	if (ip4_parse(guest_s, &guest) < 0)
		return error_code(EXIT_USAGE, "--guest-ip '%s' is not an IPv4 address", guest_s);
	if (cidr_parse(host_s, &host) < 0 || !strchr(host_s, '/'))
		return error_code(EXIT_USAGE, "--host-ip '%s' is not IP/PREFIX", host_s);
	if (host.prefix < 8 || host.prefix > 30)
		return error_code(EXIT_USAGE, "--host-ip '%s': the prefix must be 8-30", host_s);
	if (!cidr_contains(&host, guest) || guest == host.addr || guest == cidr_network(&host) ||
	    guest == cidr_broadcast(&host) || host.addr == cidr_network(&host) ||
	    host.addr == cidr_broadcast(&host))
		return error_code(EXIT_USAGE,
				  "--guest-ip %s and --host-ip %s are not two host addresses of one block",
				  guest_s, host_s);
	ip4_format(guest, v->guest_ip);
	cidr_format(&host, v->host_ip);
	return 0;
}

/* The network: from the flags, or what the owner holds (its TAP and its
 * address), or none. */
static int resolve_net(struct install *in, const struct vm_request *r, struct vm *v)
{
	struct ipalloc a;
	struct tap t;
	int has_tap, has_ip;
	char host[IP4_LEN];

	if (r->no_net)
		return 0;
	if (r->tap) {
		if (!valid_ifname(r->tap))
			return error_code(EXIT_USAGE, "--tap '%s' is not an interface name", r->tap);
		snprintf(v->tap, sizeof(v->tap), "%s", r->tap);
		return check_addresses(r->guest_ip, r->host_ip, v);
	}
	has_tap = tap_show(in, v->name, &t);
	if (has_tap < 0)
		return -1;
	has_ip = ipalloc_show(in, v->name, &a);
	if (has_ip < 0)
		return -1;
	if (!has_tap && !has_ip)
		return 0;
	if (!has_tap || !has_ip || !a.has_host) {
		error_code(EXIT_USAGE, "'%s' holds %s but no %s", v->name,
			   has_tap ? "a TAP" : "an address", has_tap ? "address" : "TAP");
		error_hint("give --tap, --guest-ip and --host-ip, or --no-net");
		return -1;
	}
	snprintf(v->tap, sizeof(v->tap), "%s", t.name);
	ip4_format(a.guest, v->guest_ip);
	ip4_format(a.host, host);
	snprintf(v->host_ip, sizeof(v->host_ip), "%s/%d", host, a.prefix);
	if (!r->mtu && t.mtu > 0)
		v->mtu = t.mtu;
	return 0;
}

static int resolve_vsock(struct install *in, const struct vm_request *r, struct vm *v)
{
	struct cidalloc c;
	long long cid;
	int rc;

	if (r->no_vsock)
		return 0;
	if (r->cid) {
		if (parse_int("--cid", r->cid, CIDALLOC_MIN, CIDALLOC_MAX, &cid) < 0)
			return -1;
		v->cid = (uint32_t)cid;
		return 0;
	}
	rc = cidalloc_show(in, v->name, &c);
	if (rc > 0)
		v->cid = c.cid;
	return rc < 0 ? -1 : 0;
}

/* A socket path must fit sun_path with its NUL. */
static int check_sun_path(const char *what, const char *path)
{
	size_t n = strlen(path);

	if (n < VM_SUN_PATH)
		return 0;
	error_code(EXIT_USAGE, "the %s '%s' is %zu bytes, more than the %d that fit a Unix socket",
		   what, path, n, VM_SUN_PATH - 1);
	error_hint("use a shorter --state-dir (or VM name)");
	return -1;
}

static int sockets(const struct install *in, struct vm *v)
{
	char path[PATH_MAX];

	if (vm_path(in, v->name, "firecracker.sock", path, sizeof(path)) < 0 ||
	    check_sun_path("API socket", path) < 0)
		return -1;
	/* known to fit (checked just above) */
	memcpy(v->api_sock, path, strlen(path) + 1);
	if (!v->cid)
		return 0;
	if (vm_path(in, v->name, "vsock.sock", path, sizeof(path)) < 0 ||
	    check_sun_path("vsock socket", path) < 0)
		return -1;
	memcpy(v->vsock_uds, path, strlen(path) + 1);
	/* Firecracker connects to <uds>_<port> for the guest's connections */
	snprintf(path, sizeof(path), "%s_%u", v->vsock_uds, 4294967295u);
	return check_sun_path("vsock socket for a guest's port", path);
}

/* "ip=" as a word of ARGS */
static int has_ip_arg(const char *args)
{
	const char *p;

	for (p = args; (p = strstr(p, "ip=")); p += 3)
		if (p == args || isspace((unsigned char)p[-1]))
			return 1;
	return 0;
}

static int boot_args(const struct vm_request *r, struct vm *v)
{
	const char *base = r->boot_args ? r->boot_args : VM_BOOT_ARGS_DEFAULT;
	struct cidr host;
	char mask[IP4_LEN], hostip[IP4_LEN];
	int n;

	if (strchr(base, '\n'))
		return error_code(EXIT_USAGE, "--boot-args holds a newline");
	if (v->tap[0] && !has_ip_arg(base)) {
		cidr_parse(v->host_ip, &host);
		ip4_format(host.addr, hostip);
		ip4_format(cidr_mask(host.prefix), mask);
		n = asprintf(&v->boot_args, "%s%sip=%s::%s:%s:%s:eth0:off", base, *base ? " " : "",
			     v->guest_ip, hostip, mask, v->name);
	} else {
		n = asprintf(&v->boot_args, "%s", base);
	}
	if (n < 0) {
		v->boot_args = NULL;
		return error_errno("unable to build the boot arguments");
	}
	if (n >= VM_BOOT_ARGS_MAX)
		return error_code(EXIT_USAGE, "the boot arguments are %d bytes, more than %d", n,
				  VM_BOOT_ARGS_MAX - 1);
	return 0;
}

/* Everything that needs no database: the flags, the files, the numbers. */
static int check_request(const struct vm_request *r, struct vm *v)
{
	long long n;
	int i;

	if (!r->kernel)
		return error_code(EXIT_USAGE, "create needs --kernel");
	if (!r->rootfs == !r->no_rootfs)
		return error_code(EXIT_USAGE, "create needs one of --rootfs and --no-rootfs");
	if (r->read_only && !r->rootfs)
		return error_code(EXIT_USAGE, "--read-only goes with --rootfs");
	if (r->no_net && (r->tap || r->guest_ip || r->host_ip || r->mac || r->mtu))
		return error_code(EXIT_USAGE,
				  "--no-net goes with none of --tap, --guest-ip, --host-ip, --mac, --mtu");
	if ((r->tap || r->guest_ip || r->host_ip) && !(r->tap && r->guest_ip && r->host_ip))
		return error_code(EXIT_USAGE, "--tap, --guest-ip and --host-ip go together");
	if (r->no_vsock && r->cid)
		return error_code(EXIT_USAGE, "--cid and --no-vsock exclude each other");
	if (r->n_drives > VM_DRIVES_MAX)
		return error_code(EXIT_USAGE, "at most %d --drive", VM_DRIVES_MAX);
	v->kernel = check_file("kernel", r->kernel, 0);
	if (!v->kernel)
		return -1;
	if (r->initrd && !(v->initrd = check_file("initrd", r->initrd, 0)))
		return -1;
	if (r->rootfs && !(v->rootfs = check_file("rootfs", r->rootfs, 1)))
		return -1;
	v->read_only = r->read_only;
	for (i = 0; i < r->n_drives; i++)
		if (parse_drive(r->drives[i], v) < 0)
			return -1;
	n = 1;
	if (r->vcpus && parse_int("--vcpus", r->vcpus, 1, VM_VCPUS_MAX, &n) < 0)
		return -1;
	v->vcpus = (int)n;
	n = VM_MEMORY_MIN;
	if (r->memory && parse_int("--memory (MiB)", r->memory, VM_MEMORY_MIN, VM_MEMORY_MAX, &n) < 0)
		return -1;
	v->memory = (int)n;
	if (r->mac && parse_mac(r->mac, v->mac) < 0)
		return -1;
	if (r->mtu) {
		if (parse_int("--mtu", r->mtu, TAP_MTU_MIN, TAP_MTU_MAX, &n) < 0)
			return -1;
		v->mtu = (int)n;
	}
	return 0;
}

static int same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static int same_config(const struct vm *a, const struct vm *b)
{
	int i;

	if (!same_str(a->kernel, b->kernel) || !same_str(a->initrd, b->initrd) ||
	    !same_str(a->rootfs, b->rootfs) || a->read_only != b->read_only ||
	    !same_str(a->boot_args, b->boot_args) || a->vcpus != b->vcpus ||
	    a->memory != b->memory || a->n_drives != b->n_drives || strcmp(a->tap, b->tap) ||
	    strcmp(a->mac, b->mac) || strcmp(a->guest_ip, b->guest_ip) ||
	    strcmp(a->host_ip, b->host_ip) || a->mtu != b->mtu || a->cid != b->cid ||
	    strcmp(a->api_sock, b->api_sock) || strcmp(a->vsock_uds, b->vsock_uds))
		return 0;
	for (i = 0; i < a->n_drives; i++)
		if (strcmp(a->drives[i].id, b->drives[i].id) ||
		    !same_str(a->drives[i].path, b->drives[i].path) ||
		    a->drives[i].read_only != b->drives[i].read_only)
			return 0;
	return 1;
}

int vm_create(struct install *in, const char *name, const struct vm_request *r, struct vm *v,
	      int *created)
{
	struct vm old;
	struct db *db;
	uint32_t guest;
	int lock = -1, rc = -1;

	*created = 0;
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	if (name_check("VM name", name) < 0 || check_request(r, v) < 0)
		goto out;
	lock = vm_lock(in, name);
	if (lock < 0 || resolve_net(in, r, v) < 0 || resolve_vsock(in, r, v) < 0 ||
	    sockets(in, v) < 0 || boot_args(r, v) < 0)
		goto out;
	if (v->tap[0] && !v->mac[0]) {
		/* Firecracker's own convention: 06:00 and the guest's address */
		ip4_parse(v->guest_ip, &guest);
		snprintf(v->mac, sizeof(v->mac), "06:00:%02x:%02x:%02x:%02x", (guest >> 24) & 0xff,
			 (guest >> 16) & 0xff, (guest >> 8) & 0xff, guest & 0xff);
	}
	if (vm_db(in, &db, 1) < 0)
		goto out;
	rc = vm_read(db, name, &old);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		rc = same_config(&old, v) ? 0 : -1;
		vm_release(v);
		*v = old;
		if (rc < 0)
			error_code(EXIT_REFUSED, "VM '%s' exists with other parameters", name);
		goto out;
	}
	if (insert(db, v) < 0) {
		rc = -1;
		goto out;
	}
	v->state = VM_CREATED;
	v->created = (long long)time(NULL);
	*created = 1;
	rc = 0;
out:
	lock_release(lock);
	if (rc < 0)
		vm_release(v);
	return rc;
}

/* ---- reading ---- */

int vm_list(struct install *in, int state, struct vm_records *l)
{
	sqlite3_stmt *st = NULL;
	struct db *db;
	int rc, cap = 0;

	memset(l, 0, sizeof(*l));
	rc = vm_db(in, &db, 0);
	if (rc <= 0)
		return rc;
	if (db_prepare(db, &st, SELECT_VM " ORDER BY name") < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (array_reserve(&l->v, &cap, l->n, sizeof(*l->v)) < 0 ||
		    read_row(st, &l->v[l->n]) < 0)
			goto fail;
		if (state >= 0 && l->v[l->n].state != (enum vm_state)state) {
			vm_release(&l->v[l->n]);
			continue;
		}
		if (vm_probe(in, &l->v[l->n++]) < 0)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		db_error(db, "unable to list the VMs");
		goto fail;
	}
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	vm_records_release(l);
	return -1;
}

int vm_hosts_write(struct install *in, const char *text)
{
	char path[PATH_MAX], lpath[PATH_MAX];
	int lock, rc = -1;

	if (install_path(in, path, sizeof(path), "hosts") < 0 ||
	    install_path(in, lpath, sizeof(lpath), "locks/hosts") < 0)
		return -1;
	lock = lock_take(lpath, LOCK_EXCLUSIVE);
	if (lock < 0)
		return -1;
	if (file_remove_stale_tmp(path) == 0 && file_replace(path, text, strlen(text), 0644) == 0)
		rc = 0;
	lock_release(lock);
	return rc;
}

int vm_delete(struct install *in, const char *name, int force, struct vm *v, int *deleted)
{
	struct vm_stop_opts so = {.force = 1};
	char path[PATH_MAX];
	sqlite3_stmt *st = NULL;
	struct db *db;
	int lock, rc;

	*deleted = 0;
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	if (name_check("VM name", name) < 0)
		return -1;
	rc = vm_db(in, &db, 0);
	if (rc <= 0)
		return rc;
	lock = vm_lock(in, name);
	if (lock < 0)
		return -1;
	rc = vm_read(db, name, v);
	if (rc <= 0)
		goto out;
	rc = -1;
	if (vm_probe(in, v) < 0)
		goto out;
	if (!force && (v->alive || v->state == VM_RUNNING || v->state == VM_STARTING)) {
		error_code(EXIT_REFUSED, "VM '%s' is %s", name,
			   v->alive ? "running" : vm_state_name(v->state));
		error_hint("stop it first, or delete it with --force");
		goto out;
	}
	if (v->alive || v->state == VM_RUNNING || v->state == VM_STARTING) {
		/* the stop takes the lock itself: hand it over */
		lock_release(lock);
		lock = -1;
		vm_release(v);
		if (vm_stop(in, name, &so, v) < 0)
			goto out;
		lock = vm_lock(in, name);
		if (lock < 0)
			goto out;
	}
	if (vm_path(in, name, "", path, sizeof(path)) < 0 ||
	    (access(path, F_OK) == 0 && file_remove_tree(path) < 0))
		goto out;
	if (db_begin(db) < 0)
		goto out;
	if (db_prepare(db, &st, "DELETE FROM vms WHERE name = ?") == 0)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (db_write(db, st, "unable to delete the VM's record") < 0)
		goto out;
	*deleted = 1;
	rc = 0;
out:
	lock_release(lock);
	return rc < 0 ? -1 : 0;
}

int vm_each_registered(struct install *in, void (*fn)(const char *name, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct db *db;
	int n = 0, rc;

	if (install_db(in, &db) < 0)
		return -1;
	rc = db_has_table(db, "vms");
	if (rc <= 0)
		return rc;
	if (db_prepare(db, &st, "SELECT name FROM vms ORDER BY name") < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fn((const char *)sqlite3_column_text(st, 0), ctx);
		n++;
	}
	if (rc != SQLITE_DONE)
		n = db_error(db, "unable to list the registered VMs");
	sqlite3_finalize(st);
	return n;
}
