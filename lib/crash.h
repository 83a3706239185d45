/* crash: the test hooks, one mechanism for every subsystem (as git's
 * GIT_TEST_* knobs). When $EMBER_TEST_CRASH names a crash point, the process
 * kills itself with SIGKILL there, so that tests can prove what a process
 * killed half-way leaves behind; when $EMBER_TEST_FAIL lists a fail point
 * (comma-separated), that step fails as the kernel or a disk might, though
 * the one the tests run on never does. Every point is named once, as a
 * string literal at its call, and listed in tests/README.md
 * (tests/cli/test-hooks.sh holds the two to each other). */
#ifndef EMBER_CRASH_H
#define EMBER_CRASH_H

#define CRASH_ENV "EMBER_TEST_CRASH"
#define FAIL_ENV "EMBER_TEST_FAIL"

void crash_point(const char *name);
/* -1 with an error recorded (exit 111) when $EMBER_TEST_FAIL lists NAME, else 0. */
int fail_point(const char *name);

#endif
