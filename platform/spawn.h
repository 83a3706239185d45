/* spawn: run another program from an argv (never a shell), feed it stdin,
 * capture its stdout and stderr, and kill it (with what it started) when it
 * outlives a timeout. The child dies with ember: it is killed the moment
 * ember dies, however ember is killed (a kill of ember's process group, or
 * of ember alone), so no `ip` or `iptables-restore` goes on changing the
 * kernel for an ember that is gone; and it holds every lock ember holds
 * (lock_held) until it is gone, so the next ember never reads a kernel it is
 * still changing. */
#ifndef EMBER_SPAWN_H
#define EMBER_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct spawn {
	int status;       /* exit code, or 128 + signal */
	int signal;       /* the signal that killed it, 0 when it exited */
	int timed_out;
	char *out;        /* NUL-terminated, owned */
	size_t out_len;
	char *err;
	size_t err_len;
	char reason[320];
};

/* Set by -v: each command is printed to stderr before it runs. */
extern int spawn_verbose;

/* Run ARGV[0] (looked up on PATH) with INPUT (may be NULL) on stdin.
 * Returns 0 when it ran (whatever its exit code: see s->status), -1 when it
 * could not be started or timed out (error recorded). timeout_ms <= 0: none. */
int spawn_run(const char *const argv[], const char *input, size_t input_len,
	      int timeout_ms, struct spawn *s);
void spawn_release(struct spawn *s);
/* Start ARGV[0] (looked up on PATH) as a long-lived child in a session of
 * its own, stdin from /dev/null, stdout and stderr appended to LOG (created
 * 0600), signals at their defaults. *PID gets it; the caller waits for it. */
int spawn_detached(const char *const argv[], const char *log, pid_t *pid);
/* Why the command failed, for error messages: the last line of its stderr
 * (of its stdout when it exited with nothing on stderr), clipped; for a
 * command killed by a signal "killed by SIGNAME" and the last line of its
 * stderr only (what it printed on stdout is a partial result). */
const char *spawn_reason(struct spawn *s);

#endif
