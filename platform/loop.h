/* loop: loop devices for the file-backed pool, through /dev/loop-control
 * (LOOP_CTL_GET_FREE) and LOOP_CONFIGURE, found again after a reboot by their
 * backing file in /sys/block/loop*\/loop/backing_file. Also the block-device
 * facts the pool needs (major:minor, size). */
#ifndef EMBER_LOOP_H
#define EMBER_LOOP_H

#include <stdint.h>

struct loop_dev {
	char path[32]; /* /dev/loopN */
	unsigned major, minor;
};

/* The loop device backed by the file PATH: 1 found, 0 none, -1 error. */
int loop_find(const char *path, struct loop_dev *l);
/* The loop device of PATH, attached when there is none. */
int loop_attach(const char *path, struct loop_dev *l);
/* Detach it (a device already gone counts as detached). */
int loop_detach(const struct loop_dev *l);
/* Tell the loop device that its file grew (LOOP_SET_CAPACITY). */
int loop_refresh(const struct loop_dev *l);
/* A block device's major:minor and size in bytes; exit 100 when PATH is no
 * block device. */
int blockdev_probe(const char *path, unsigned *major, unsigned *minor, uint64_t *size);

#endif
