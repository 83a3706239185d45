/* probe: what the runtime of this host has: programs, devices, kernel
 * features and loadable libraries. Each answers yes/no plus a detail. */
#ifndef EMBER_PROBE_H
#define EMBER_PROBE_H

#include <stddef.h>

/* Find PROGRAM on PATH (and the sbin directories); 1 found (path in BUF), 0 not. */
int probe_program(const char *program, char *buf, size_t n);
/* The backend of iptables ("nf_tables" or "legacy"); 1 found, 0 not, -1 error. */
int probe_iptables_backend(char *buf, size_t n);
/* A character device that this process can open read-write. */
int probe_char_device(const char *path);
/* device-mapper in the kernel (/proc/misc or /dev/mapper/control). */
int probe_device_mapper(void);
/* A kernel module built in, loaded, or loadable (modprobe -n). */
int probe_kernel_module(const char *module);
/* A shared library that dlopen can load. */
int probe_library(const char *soname);

#endif
