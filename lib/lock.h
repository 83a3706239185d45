/* lock: advisory whole-file locks (flock) on files under the state directory.
 * A lock is held by its open file description, so a child that inherits the
 * descriptor holds it too: spawn hands every held lock to the programs it
 * runs, and a change an `ip` or `iptables-restore` is still making keeps the
 * lock held even when ember itself was killed (see lock_held). */
#ifndef EMBER_LOCK_H
#define EMBER_LOCK_H

enum lock_mode { LOCK_SHARED = 1, LOCK_EXCLUSIVE = 2, LOCK_TRY = 4 };

#define LOCK_HELD_MAX 8

/* Open (creating, 0600) and lock PATH. Returns the descriptor, -1 on error
 * (with LOCK_TRY: -2, and no error recorded, when another process holds it). */
int lock_take(const char *path, int mode);
void lock_release(int fd);
/* The descriptors of the locks this process holds now, into FDS (at most
 * LOCK_HELD_MAX); returns how many. */
int lock_held(int fds[LOCK_HELD_MAX]);

#endif
