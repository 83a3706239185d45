/* dm: device-mapper devices through libdevmapper, loaded with dlopen on the
 * first call, so applets that never touch storage never map it. The prefix is
 * dmdev_ because dm_ belongs to libdevmapper.
 *
 * Tables reference devices by major:minor. Without udev (no
 * /run/udev/control) udev synchronisation is switched off and the
 * /dev/mapper node is made here; with udev, cookies are set and waited for.
 * Failures record the kernel's errno, taken from the task
 * (dm_task_get_errno) or else from libdevmapper's errno-reporting log hook,
 * and dmdev_errno() returns it; libdevmapper's own messages are never printed. */
#ifndef EMBER_DM_H
#define EMBER_DM_H

#include <stddef.h>
#include <stdint.h>

#define DMDEV_NAME_LEN 128
#define DMDEV_UUID_LEN 129

struct dmdev_info {
	int exists;
	int suspended;
	int read_only;
	int live_table;
	int open_count;
	unsigned major, minor;
	char uuid[DMDEV_UUID_LEN];
};

/* Load libdevmapper (once); -1 with an error when it cannot be. */
int dmdev_load(void);
/* The errno of the last failed call (0 when it had none). */
int dmdev_errno(void);

/* INFO->exists = 0 when there is no such device. */
int dmdev_info(const char *name, struct dmdev_info *info);
/* Create NAME with UUID and one target, load it and resume it; its
 * /dev/mapper node exists on return. INFO may be NULL. */
int dmdev_create(const char *name, const char *uuid, uint64_t sectors, const char *target,
		 const char *params, int read_only, struct dmdev_info *info);
/* Load a new table into the inactive slot (takes effect at resume). */
int dmdev_reload(const char *name, uint64_t sectors, const char *target, const char *params);
int dmdev_suspend(const char *name);
int dmdev_resume(const char *name);
/* Remove NAME (absent: 0), retrying EBUSY a bounded number of times. */
int dmdev_remove(const char *name);
/* A target message to sector 0; EBUSY is retried like remove. */
int dmdev_message(const char *name, const char *message);
/* The first target's type and status line. */
int dmdev_status(const char *name, char *type, size_t type_len, char *params, size_t params_len);
/* Every device: FN(name, major, minor, ctx); FN returning -1 stops the walk. */
int dmdev_each(int (*fn)(const char *name, unsigned major, unsigned minor, void *ctx), void *ctx);
/* The node path of NAME ("/dev/mapper/NAME"). */
void dmdev_path(const char *name, char *buf, size_t n);

/* thin_check on a metadata device: 1 clean, 0 when thin_check is not
 * installed, -1 (error recorded, exit 101) when it finds damage. */
int dmdev_thin_check(const char *metadata_dev);

#endif
