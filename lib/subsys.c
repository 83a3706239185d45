#include "subsys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "cidalloc.h"
#include "error.h"
#include "file.h"
#include "ipalloc.h"
#include "lock.h"
#include "nat.h"
#include "pool.h"
#include "tap.h"
#include "vm.h"

/* ---- one owner, per subsystem ---------------------------------------------- */

static int ipalloc_release_owner(struct install *in, const char *owner)
{
	struct ipalloc a;

	return ipalloc_release(in, owner, &a) < 0 ? -1 : 0;
}

static int cidalloc_release_owner(struct install *in, const char *owner)
{
	struct cidalloc c;

	return cidalloc_release(in, owner, &c) < 0 ? -1 : 0;
}

/* A TAP is a runtime object and its record at once: both go. */
static int tap_release_owner(struct install *in, const char *owner)
{
	struct tap t;
	int deleted;

	return tap_delete(in, owner, &t, &deleted);
}

static int nat_release_owner(struct install *in, const char *owner)
{
	struct nat_vm v;
	int removed;

	return nat_down(in, owner, NULL, &v, &removed);
}

struct find {
	const char *owner;
	int found;
};

static int find_owner(const char *owner, int64_t created, void *ctx)
{
	struct find *f = ctx;

	(void)created;
	f->found |= strcmp(owner, f->owner) == 0;
	return 0;
}

/* 1 when OWNER has a volume: only then is device-mapper asked. */
static int pool_has(struct install *in, const char *owner)
{
	struct find f = {owner, 0};

	if (tables_owners(in, &pool_tables, find_owner, &f) < 0)
		return -1;
	return f.found;
}

static int pool_teardown_owner(struct install *in, const char *owner)
{
	struct pool_volume v;
	int rc = pool_has(in, owner);

	return rc <= 0 ? rc : pool_volume_deactivate(in, owner, &v);
}

static int pool_release_owner(struct install *in, const char *owner)
{
	struct pool_volume v;
	int found, rc = pool_has(in, owner);

	return rc <= 0 ? rc : pool_volume_delete(in, owner, &v, &found);
}

/* A VM's runtime is its Firecracker: stopped at once (a reconcile or a
 * teardown has no guest to wait for). Its record stays. */
static int vm_teardown_owner(struct install *in, const char *owner)
{
	struct vm_stop_opts o = {1, 0, 0};
	struct vm v;
	int rc = vm_stop(in, owner, &o, &v);

	vm_release(&v);
	return rc < 0 ? -1 : 0;
}

static int vm_release_owner(struct install *in, const char *owner)
{
	struct vm v;
	int deleted, rc = vm_delete(in, owner, 1, &v, &deleted);

	vm_release(&v);
	return rc < 0 ? -1 : 0;
}

/* vm has no installation-wide teardown: deinit refuses while VMs are
 * registered (subsys_deinit). */
const struct subsystem subsystems[] = {
	{"ipalloc", &ipalloc_tables, NULL, NULL, ipalloc_release_owner, NULL},
	{"cidalloc", &cidalloc_tables, NULL, NULL, cidalloc_release_owner, NULL},
	{"tap", &tap_tables, tap_names, tap_release_owner, tap_release_owner, tap_teardown},
	{"nat", &nat_tables, nat_names, nat_release_owner, nat_release_owner, nat_teardown},
	{"pool", &pool_tables, pool_names, pool_teardown_owner, pool_release_owner, pool_teardown},
	{"vm", &vm_tables, NULL, vm_teardown_owner, vm_release_owner, NULL},
};

const int subsystem_count = ARRAY_SIZE(subsystems);

int subsys_owners(struct install *in, const struct subsystem *s, tables_owner_fn fn, void *ctx)
{
	return tables_owners(in, s->tables, fn, ctx);
}

/* ---- the installation lock --------------------------------------------------- */

/* locks/ of IN (made when missing, but never the state directory itself:
 * an installation removed meanwhile stays removed). */
static int locks_dir(struct install *in, char *path, size_t n)
{
	if (install_path(in, path, n, "locks") < 0)
		return -1;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		if (errno == ENOENT) {
			error_code(EXIT_USAGE, "no ember installation in '%s'", in->dir);
			error_hint("it was removed while this command waited");
			return -1;
		}
		return error_errno("unable to create '%s'", path);
	}
	return 0;
}

static int refuse_deinit(struct install *in)
{
	error_code(EXIT_REFUSED, "the installation in '%s' is being torn down", in->dir);
	error_hint("wait for 'ember-init deinit' to end; if it was killed, run it again");
	return -1;
}

int subsys_enter(struct install *in)
{
	char path[PATH_MAX], marker[PATH_MAX];
	struct stat a, b;
	int fd;

	if (locks_dir(in, path, sizeof(path)) < 0 || install_path(in, marker, sizeof(marker), "locks/deinit") < 0 ||
	    install_path(in, path, sizeof(path), "locks/install") < 0)
		return -1;
	/* a deinit under way holds the lock exclusive: say so now rather than
	 * wait for it, then ask again under the lock (it may have begun since) */
	if (access(marker, F_OK) == 0)
		return refuse_deinit(in);
	fd = lock_take(path, LOCK_SHARED);
	if (fd < 0)
		return -1;
	if (access(marker, F_OK) == 0) {
		lock_release(fd);
		return refuse_deinit(in);
	}
	/* the lock of a purged installation is a file no path names any more */
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		lock_release(fd);
		error_code(EXIT_USAGE, "no ember installation in '%s'", in->dir);
		error_hint("it was removed while this command waited");
		return -1;
	}
	return fd;
}

/* ---- deinit -------------------------------------------------------------------- */

struct vm_names {
	char names[512];
	size_t len;
};

static void add_vm(const char *name, void *ctx)
{
	struct vm_names *l = ctx;

	l->len += (size_t)snprintf(l->names + l->len, l->len < sizeof(l->names) ? sizeof(l->names) - l->len : 0,
				   "%s%s", l->len ? ", " : "", name);
	if (l->len >= sizeof(l->names))
		l->len = sizeof(l->names) - 1;
}

int subsys_deinit(struct install *in, int purge, void (*report)(const char *subsystem, const char *message))
{
	char path[PATH_MAX], marker[PATH_MAX], pid[32];
	struct vm_names vms = {{0}, 0};
	int i, n, lock = -1, init_lock = -1, failed = 0, rc = -1;
	struct db *db;

	/* a directory that only holds a config (copied in, or left half-made)
	 * has no locks/ yet */
	if (install_path(in, path, sizeof(path), "locks") < 0 || file_mkdirs(path, 0700) < 0 ||
	    install_path(in, marker, sizeof(marker), "locks/deinit") < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (file_write_atomic(marker, pid, strlen(pid), 0600) < 0)
		return -1;
	if (install_path(in, path, sizeof(path), "locks/install") < 0 ||
	    (lock = lock_take(path, LOCK_EXCLUSIVE)) < 0 || install_path(in, path, sizeof(path), "locks/init") < 0 ||
	    (init_lock = lock_take(path, LOCK_EXCLUSIVE)) < 0 || install_db_create(in, &db) < 0)
		goto out;
	n = vm_each_registered(in, add_vm, &vms);
	if (n < 0)
		goto out;
	if (n > 0) {
		error_code(EXIT_REFUSED, "%d VM%s registered: %s", n, n == 1 ? " is" : "s are", vms.names);
		error_hint("stop and delete them with 'ember-vm delete NAME' first");
		goto out;
	}
	for (i = subsystem_count - 1; i >= 0; i--) {
		if (subsystems[i].teardown && subsystems[i].teardown(in) < 0) {
			report(subsystems[i].name, error_message());
			failed++;
		}
	}
	if (failed) {
		error_code(EXIT_TEMP, "%d subsystem%s of '%s' could not be torn down", failed, failed == 1 ? "" : "s",
			   in->dir);
		error_hint("run 'ember-init deinit' again; until it succeeds, changes are refused");
		lock_release(init_lock);
		lock_release(lock);
		return -1; /* the marker stays: the installation is half torn down */
	}
	install_release(in);
	/* only what ember made, then the directory if that empties it */
	if (purge && install_purge(in) < 0)
		goto out;
	rc = 0;
out:
	if (rc == 0 && !purge && unlink(marker) < 0 && errno != ENOENT)
		rc = error_errno("unable to remove '%s'", marker);
	else if (rc < 0 && !failed)
		unlink(marker); /* refused or failed before any teardown: nothing changed */
	lock_release(init_lock);
	lock_release(lock);
	return rc;
}
