/* crash: test-only crash points. When $EMBER_TEST_CRASH names the point, the
 * process kills itself with SIGKILL there, so that tests can prove what a
 * process killed half-way leaves behind. */
#ifndef EMBER_CRASH_H
#define EMBER_CRASH_H

#define CRASH_ENV "EMBER_TEST_CRASH"

void crash_point(const char *name);

#endif
