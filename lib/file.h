/* file: whole-file reads and crash-safe writes. */
#ifndef EMBER_FILE_H
#define EMBER_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* write(2) all of BUF to FD, again after EINTR and short writes: 0, or -1
 * with errno set (no error recorded: the caller names the file). */
int file_write_all(int fd, const void *buf, size_t len);
/* The same with pwrite(2) at OFFSET. */
int file_pwrite_all(int fd, const void *buf, size_t len, off_t offset);
/* For a long write that ends in an fsync: once FILE_WRITE_BEHIND bytes were
 * written past *STARTED (WRITTEN in all), start writing them back without
 * waiting, and move *STARTED to WRITTEN. The disk then works while the data
 * still comes, and the fsync at the end has little left to wait for. */
#define FILE_WRITE_BEHIND (8 << 20)
void file_write_behind(int fd, off_t written, off_t *started);
/* read(2) up to LEN bytes into BUF, again after EINTR, until LEN or the end
 * of the file: the number read, or -1 with errno set. */
ssize_t file_read_all(int fd, void *buf, size_t len);
/* Read a whole file (NUL-terminated, owned by the caller). ENOENT is returned
 * as -2 with no error recorded, so callers can tell "absent" from "broken". */
int file_read(const char *path, char **data, size_t *len);
/* Write via a temporary file in the same directory: write, fsync, rename over
 * PATH, fsync the directory. Readers see the old or the new file, never half. */
int file_write_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* The same without the fsyncs: readers still see the old or the new file,
 * never half, but a power loss may leave either (for files that describe
 * processes, which do not survive it anyway). */
int file_replace(const char *path, const char *data, size_t len, mode_t mode);
/* Remove what file_write_atomic of PATH left behind when its process was
 * killed: PATH.tmp.<pid> of a pid that no longer runs. */
int file_remove_stale_tmp(const char *path);
/* mkdir -p; the last component gets MODE, missing parents 0755. */
int file_mkdirs(const char *path, mode_t mode);
/* rm -rf of a directory we own; refuses "/" and relative paths. */
int file_remove_tree(const char *path);

#endif
