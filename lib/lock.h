/* lock: advisory whole-file locks (flock) on files under the state directory. */
#ifndef EMBER_LOCK_H
#define EMBER_LOCK_H

enum lock_mode { LOCK_SHARED = 1, LOCK_EXCLUSIVE = 2, LOCK_TRY = 4 };

/* Open (creating, 0600) and lock PATH. Returns the descriptor, -1 on error
 * (with LOCK_TRY: -2, and no error recorded, when another process holds it). */
int lock_take(const char *path, int mode);
void lock_release(int fd);

#endif
