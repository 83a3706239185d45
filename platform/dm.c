#include "dm.h"

#include <dlfcn.h>
#include <errno.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "error.h"
#include "probe.h"
#include "spawn.h"

#define LIBDEVMAPPER "libdevmapper.so.1.02.1"
/* EBUSY on remove or message: how often, and how long between tries. */
#define BUSY_TRIES 25
#define BUSY_WAIT_MS 200

/* The functions used, typed from libdevmapper.h (__typeof__ of a declaration
 * references no symbol, so nothing is linked). */
#define DM_FUNCTIONS(X)                                                                            \
	X(dm_task_create)                                                                          \
	X(dm_task_destroy)                                                                         \
	X(dm_task_set_name)                                                                        \
	X(dm_task_set_uuid)                                                                        \
	X(dm_task_set_ro)                                                                          \
	X(dm_task_add_target)                                                                      \
	X(dm_task_set_message)                                                                     \
	X(dm_task_set_sector)                                                                      \
	X(dm_task_set_cookie)                                                                      \
	X(dm_task_set_add_node)                                                                    \
	X(dm_task_no_open_count)                                                                   \
	X(dm_task_run)                                                                             \
	X(dm_task_get_info)                                                                        \
	X(dm_task_get_uuid)                                                                        \
	X(dm_task_get_names)                                                                       \
	X(dm_get_next_target)                                                                      \
	X(dm_task_update_nodes)                                                                    \
	X(dm_udev_set_sync_support)                                                                \
	X(dm_udev_wait)                                                                            \
	X(dm_log_with_errno_init)

static struct {
	void *handle;
#define FIELD(f) __typeof__(&f) f;
	DM_FUNCTIONS(FIELD)
#undef FIELD
	/* optional: older libdevmapper lacks it, the log hook covers that */
	__typeof__(&dm_task_get_errno) dm_task_get_errno;
	int udev;
} lib;

static int last_errno;	 /* of the last failed call */
static int logged_errno; /* the errno libdevmapper last logged with an error */

/* libdevmapper's log hook: nothing is printed; an error's errno is kept. Its
 * dm_errno is the errno when libdevmapper classified it, and errno itself is
 * still the failed ioctl's when the ioctl error is logged. */
static void log_hook(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
	int saved = errno;

	(void)file;
	(void)line;
	(void)f;
	if (level <= 3 /* _LOG_ERR */) {
		if (dm_errno > 0)
			logged_errno = dm_errno;
		else if (saved > 0)
			logged_errno = saved;
	}
	errno = saved;
}

int dmdev_errno(void)
{
	return last_errno;
}

int dmdev_load(void)
{
	struct dm_task *t;

	if (lib.handle)
		return 0;
	if (!probe_device_mapper()) {
		error_code(EXIT_TEMP, "this kernel has no device-mapper");
		error_hint("load it with 'modprobe dm_thin_pool'");
		return -1;
	}
	lib.handle = dlopen(LIBDEVMAPPER, RTLD_LAZY | RTLD_LOCAL);
	if (!lib.handle) {
		error_code(EXIT_TEMP, "unable to load %s: %s", LIBDEVMAPPER, dlerror());
		error_hint("install libdevmapper1.02.1");
		return -1;
	}
#define RESOLVE(f)                                                                                 \
	if (!(*(void **)&lib.f = dlsym(lib.handle, #f))) {                                         \
		error_code(EXIT_TEMP, "%s has no %s", LIBDEVMAPPER, #f);                           \
		dlclose(lib.handle);                                                               \
		lib.handle = NULL;                                                                 \
		return -1;                                                                         \
	}
	DM_FUNCTIONS(RESOLVE)
#undef RESOLVE
	*(void **)&lib.dm_task_get_errno = dlsym(lib.handle, "dm_task_get_errno");
	lib.dm_log_with_errno_init(log_hook);
	/* the first task opens the control device and checks the driver:
	 * a kernel without it fails here, before anything is recorded */
	logged_errno = 0;
	t = lib.dm_task_create(DM_DEVICE_VERSION);
	if (!t) {
		error_errnum(logged_errno ? logged_errno : ENODEV,
			     "unable to use device-mapper (/dev/mapper/control)");
		error_hint("load it with 'modprobe dm_thin_pool'");
		dlclose(lib.handle);
		lib.handle = NULL;
		return -1;
	}
	lib.dm_task_destroy(t);
	/* libdevmapper waits for udev only where udev runs; elsewhere the
	 * nodes are ours to make */
	lib.udev = access("/run/udev/control", F_OK) == 0;
	lib.dm_udev_set_sync_support(lib.udev);
	return 0;
}

/* A task for TYPE on NAME (NULL: none); NULL with an error recorded. */
static struct dm_task *task(int type, const char *name)
{
	struct dm_task *t;

	if (dmdev_load() < 0)
		return NULL;
	logged_errno = 0;
	t = lib.dm_task_create(type);
	if (!t) {
		/* it fails when the control device cannot be opened, too */
		error_errnum(logged_errno ? logged_errno : ENOMEM,
			     "unable to use device-mapper (/dev/mapper/control)");
		return NULL;
	}
	if (name && !lib.dm_task_set_name(t, name)) {
		lib.dm_task_destroy(t);
		error_code(EXIT_USAGE, "invalid device-mapper name '%s'", name);
		return NULL;
	}
	lib.dm_task_no_open_count(t);
	return t;
}

/* Run T, waiting for udev when it runs and COOKIE says so; 0 or -1 with
 * last_errno set (no error recorded: callers say what failed). */
static int run(struct dm_task *t, int cookie)
{
	uint32_t c = 0;
	int ok;

	logged_errno = 0;
	last_errno = 0;
	if (cookie && lib.udev && !lib.dm_task_set_cookie(t, &c, 0)) {
		last_errno = logged_errno ? logged_errno : EIO;
		return -1;
	}
	ok = lib.dm_task_run(t);
	if (!ok) {
		if (lib.dm_task_get_errno)
			last_errno = lib.dm_task_get_errno(t);
		if (!last_errno)
			last_errno = logged_errno ? logged_errno : EIO;
	}
	if (cookie && lib.udev)
		lib.dm_udev_wait(c);
	else
		lib.dm_task_update_nodes();
	return ok ? 0 : -1;
}

void dmdev_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "/dev/mapper/%s", name);
}

/* Make sure /dev/mapper/NAME is the block device MAJOR:MINOR (libdevmapper
 * makes it without udev, but a stale node of an earlier device can linger). */
static int ensure_node(const char *name, unsigned major, unsigned minor)
{
	char path[DMDEV_NAME_LEN + 16];
	struct stat st;

	dmdev_path(name, path, sizeof(path));
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == makedev(major, minor))
		return 0;
	if (lib.udev)
		return error_code(EXIT_TEMP, "udev made no node '%s' for %u:%u", path, major,
				  minor);
	unlink(path);
	if (mkdir("/dev/mapper", 0755) < 0 && errno != EEXIST)
		return error_errno("unable to create '/dev/mapper'");
	if (mknod(path, S_IFBLK | 0600, makedev(major, minor)) < 0)
		return error_errno("unable to create the node '%s'", path);
	return 0;
}

static void drop_node(const char *name)
{
	char path[DMDEV_NAME_LEN + 16];
	struct stat st;

	if (lib.udev)
		return;
	dmdev_path(name, path, sizeof(path));
	if (lstat(path, &st) == 0 && S_ISBLK(st.st_mode))
		unlink(path);
}

static void fill_info(struct dm_task *t, struct dmdev_info *info)
{
	struct dm_info i;
	const char *uuid;

	memset(info, 0, sizeof(*info));
	if (!lib.dm_task_get_info(t, &i) || !i.exists)
		return;
	info->exists = 1;
	info->suspended = i.suspended;
	info->read_only = i.read_only;
	info->live_table = i.live_table;
	info->open_count = i.open_count;
	info->major = (unsigned)i.major;
	info->minor = (unsigned)i.minor;
	uuid = lib.dm_task_get_uuid(t);
	snprintf(info->uuid, sizeof(info->uuid), "%s", uuid ? uuid : "");
}

int dmdev_info(const char *name, struct dmdev_info *info)
{
	struct dm_task *t = task(DM_DEVICE_INFO, name);
	int rc = -1;

	if (!t)
		return -1;
	if (run(t, 0) < 0) {
		error_errnum(last_errno, "unable to read device '%s'", name);
		goto out;
	}
	fill_info(t, info);
	rc = 0;
out:
	lib.dm_task_destroy(t);
	return rc;
}

static int load_table(struct dm_task *t, uint64_t sectors, const char *target, const char *params)
{
	if (!lib.dm_task_add_target(t, 0, sectors, target, params))
		return error_errnum(ENOMEM, "unable to build a %s table", target);
	return 0;
}

int dmdev_create(const char *name, const char *uuid, uint64_t sectors, const char *target,
		 const char *params, int read_only, struct dmdev_info *info)
{
	struct dmdev_info local;
	struct dm_task *t = task(DM_DEVICE_CREATE, name);
	int rc = -1;

	if (!info)
		info = &local;
	if (!t)
		return -1;
	if (!lib.dm_task_set_uuid(t, uuid)) {
		error_code(EXIT_USAGE, "invalid device-mapper uuid '%s'", uuid);
		goto out;
	}
	if (read_only)
		lib.dm_task_set_ro(t);
	lib.dm_task_set_add_node(t, DM_ADD_NODE_ON_CREATE);
	if (load_table(t, sectors, target, params) < 0)
		goto out;
	if (run(t, 1) < 0) {
		error_errnum(last_errno, "unable to create device '%s'", name);
		goto out;
	}
	fill_info(t, info);
	if (!info->exists) {
		error_code(EXIT_TEMP, "device '%s' vanished after its creation", name);
		goto out;
	}
	rc = ensure_node(name, info->major, info->minor);
out:
	lib.dm_task_destroy(t);
	return rc;
}

int dmdev_reload(const char *name, uint64_t sectors, const char *target, const char *params)
{
	struct dm_task *t = task(DM_DEVICE_RELOAD, name);
	int rc = -1;

	if (!t)
		return -1;
	if (load_table(t, sectors, target, params) < 0)
		goto out;
	if (run(t, 0) < 0) {
		error_errnum(last_errno, "unable to load a new table into '%s'", name);
		goto out;
	}
	rc = 0;
out:
	lib.dm_task_destroy(t);
	return rc;
}

static int simple(int type, const char *name, int cookie, const char *what)
{
	struct dm_task *t = task(type, name);
	int rc;

	if (!t)
		return -1;
	rc = run(t, cookie);
	if (rc < 0)
		error_errnum(last_errno, "unable to %s device '%s'", what, name);
	lib.dm_task_destroy(t);
	return rc;
}

int dmdev_suspend(const char *name)
{
	return simple(DM_DEVICE_SUSPEND, name, 0, "suspend");
}

int dmdev_resume(const char *name)
{
	struct dmdev_info info;

	if (simple(DM_DEVICE_RESUME, name, 1, "resume") < 0)
		return -1;
	if (dmdev_info(name, &info) < 0)
		return -1;
	return info.exists ? ensure_node(name, info.major, info.minor) : 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int dmdev_remove(const char *name)
{
	struct dm_task *t;
	int i, rc = -1;

	for (i = 0; i < BUSY_TRIES; i++) {
		if (!(t = task(DM_DEVICE_REMOVE, name)))
			return -1;
		rc = run(t, 1);
		lib.dm_task_destroy(t);
		if (rc == 0 || last_errno == ENXIO) {
			drop_node(name);
			return 0;
		}
		if (last_errno != EBUSY)
			break;
		sleep_ms(BUSY_WAIT_MS);
	}
	if (last_errno == EBUSY) {
		error_errnum(EBUSY, "unable to remove device '%s'", name);
		error_hint("it is still open: stop what uses it (a VM, a mount) first");
		return -1;
	}
	return error_errnum(last_errno, "unable to remove device '%s'", name);
}

int dmdev_message(const char *name, const char *message)
{
	struct dm_task *t;
	int i, rc = -1;

	for (i = 0; i < BUSY_TRIES; i++) {
		if (!(t = task(DM_DEVICE_TARGET_MSG, name)))
			return -1;
		if (!lib.dm_task_set_sector(t, 0) || !lib.dm_task_set_message(t, message)) {
			lib.dm_task_destroy(t);
			return error_errnum(ENOMEM, "unable to build the message '%s'", message);
		}
		rc = run(t, 0);
		lib.dm_task_destroy(t);
		if (rc == 0)
			return 0;
		if (last_errno != EBUSY)
			break;
		sleep_ms(BUSY_WAIT_MS);
	}
	return error_errnum(last_errno, "unable to send '%s' to '%s'", message, name);
}

int dmdev_status(const char *name, char *type, size_t type_len, char *params, size_t params_len)
{
	struct dm_task *t = task(DM_DEVICE_STATUS, name);
	uint64_t start, length;
	char *ttype = NULL, *tparams = NULL;
	int rc = -1;

	if (!t)
		return -1;
	if (run(t, 0) < 0) {
		error_errnum(last_errno, "unable to read the status of '%s'", name);
		goto out;
	}
	lib.dm_get_next_target(t, NULL, &start, &length, &ttype, &tparams);
	if (!ttype) {
		error_code(EXIT_TEMP, "device '%s' has no table", name);
		goto out;
	}
	snprintf(type, type_len, "%s", ttype);
	snprintf(params, params_len, "%s", tparams ? tparams : "");
	rc = 0;
out:
	lib.dm_task_destroy(t);
	return rc;
}

int dmdev_each(int (*fn)(const char *name, unsigned major, unsigned minor, void *ctx), void *ctx)
{
	struct dm_task *t = task(DM_DEVICE_LIST, NULL);
	struct dm_names *n;
	unsigned next = 0;
	int rc = -1;

	if (!t)
		return -1;
	if (run(t, 0) < 0) {
		error_errnum(last_errno, "unable to list device-mapper devices");
		goto out;
	}
	n = lib.dm_task_get_names(t);
	rc = 0;
	if (!n || !n->dev)
		goto out;
	do {
		n = (struct dm_names *)((char *)n + next);
		if (fn(n->name, major(n->dev), minor(n->dev), ctx) < 0) {
			rc = -1;
			break;
		}
		next = n->next;
	} while (next);
out:
	lib.dm_task_destroy(t);
	return rc;
}

int dmdev_thin_check(const char *metadata_dev)
{
	static const char *const dirs[] = {"/usr/sbin/thin_check", "/sbin/thin_check",
					   "/usr/local/sbin/thin_check"};
	const char *argv[] = {NULL, "-q", metadata_dev, NULL};
	struct spawn s;
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(dirs) && !argv[0]; i++)
		if (access(dirs[i], X_OK) == 0)
			argv[0] = dirs[i];
	if (!argv[0])
		return 0;
	if (spawn_run(argv, NULL, 0, 120000, &s) < 0)
		return -1;
	rc = 1;
	if (s.status != 0) {
		error_code(EXIT_INTERNAL, "thin_check finds the pool metadata on '%s' damaged: %s",
			   metadata_dev, spawn_reason(&s));
		error_hint("repair it with thin_repair before activating the pool");
		rc = -1;
	}
	spawn_release(&s);
	return rc;
}
