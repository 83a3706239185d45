/* error: one clear message, recorded where the failure is seen and returned up.
 * lib/ and platform/ return -1 after calling one of these; the applet prints the
 * message and picks the exit code (by default the one recorded with it). */
#ifndef EMBER_ERROR_H
#define EMBER_ERROR_H

enum exit_code {
	EXIT_NO = 1,          /* not found; a check found drift */
	EXIT_USAGE = 100,     /* usage or bad input: do not retry */
	EXIT_INTERNAL = 101,  /* internal error or corrupt state */
	EXIT_REFUSED = 102,   /* exists with other parameters, busy, exhausted, wrong state */
	EXIT_TEMP = 111,      /* system or temporary failure: a retry may work */
	EXIT_UNKNOWN = 127,   /* unknown applet */
};

/* Record a message with exit code 101 (internal); returns -1. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Record a message with the given exit code; returns -1. */
int error_code(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record a message with ": strerror(errno)" appended and exit code 111; returns -1. */
int error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same with an explicit errno value (for APIs that return it). */
int error_errnum(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Attach a hint line ("hint: ...") to the recorded error. */
void error_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* S as it is echoed in a message, one way everywhere: in single quotes,
 * control characters, quotes and backslashes escaped (\n, \x1b, \'), clipped
 * past QUOTE_MAX bytes with "..." inside the quotes. The result lives in one
 * of a few static buffers: use it in the message being made, keep it no longer. */
#define QUOTE_MAX 64
const char *quote(const char *s);

const char *error_message(void);
const char *error_hint_text(void);
int error_exit_code(void);
void error_clear(void);

/* Keep the recorded error across clean-up that may record another. */
struct error_saved {
	char message[1024];
	char hint[512];
	int code;
};
void error_save(struct error_saved *s);
void error_restore(const struct error_saved *s);

#endif
