/* proc: what /proc says about a process: its state and start time
 * (/proc/<pid>/stat), its command line, and which process was started with
 * a given option and value (the Firecracker whose --api-sock is a path). */
#ifndef EMBER_PROC_H
#define EMBER_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc_stat {
	char state;                    /* field 3: R, S, D, Z, ... */
	pid_t ppid;                    /* field 4 */
	unsigned long long start_time; /* field 22: clock ticks since boot */
};

/* Parse the text of /proc/<pid>/stat: the fields after the LAST ')', since
 * the command name in parentheses may itself hold spaces and ')'. */
int proc_parse_stat(const char *text, struct proc_stat *st);
/* PID's stat: 0, -2 when there is no such process (no error recorded), -1. */
int proc_stat(pid_t pid, struct proc_stat *st);
/* PID's command line, its arguments NUL-separated (owned by the caller):
 * 0, -2 when there is no such process, -1. A zombie's is empty. */
int proc_cmdline(pid_t pid, char **args, size_t *len);
/* Does the NUL-separated ARGS hold OPTION immediately followed by VALUE,
 * both whole arguments? 1 or 0. */
int proc_args_have(const char *args, size_t len, const char *option, const char *value);
/* The process started with OPTION VALUE (exact arguments), found by reading
 * every /proc/<pid>/cmdline: 1 with *PID, 0 none, -1. Of several, the one
 * whose parent is not one of them (a forked helper shares its parent's
 * command line). */
int proc_find(const char *option, const char *value, pid_t *pid);

/* A pidfd of PID (pinning that very process): the descriptor, -2 when
 * there is no such process, -1. */
int proc_pidfd(pid_t pid);
/* Send SIG through PIDFD: 0, -2 when it has exited already, -1. */
int proc_pidfd_signal(int pidfd, int sig);
/* Wait up to TIMEOUT_MS for PIDFD's process to exit: 1 exited (a zombie
 * counts), 0 not yet, -1. */
int proc_pidfd_wait(int pidfd, int timeout_ms);

#endif
