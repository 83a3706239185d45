/* proc_scan: every process started with a given option, in one walk of
 * /proc (ember-reconcile looks for the Firecracker processes whose API
 * socket lies in its state directory, whatever the VM's name). */
#ifndef EMBER_PROC_SCAN_H
#define EMBER_PROC_SCAN_H

#include <sys/types.h>

/* FN(pid, start_time, value, ctx) for each process whose command line holds
 * OPTION followed by a whole argument VALUE; a process whose parent has the
 * same command line (a forked helper) is left out. FN returning < 0 stops
 * the walk and is returned; else 0, or -1. */
typedef int (*proc_scan_fn)(pid_t pid, unsigned long long start_time, const char *value, void *ctx);
int proc_scan(const char *option, proc_scan_fn fn, void *ctx);

#endif
