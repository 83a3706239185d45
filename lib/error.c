#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char message[1024];
static char hint[512];
static int code = EXIT_INTERNAL;

/* Copy the formatted TEXT (LEN bytes) into the message, one line whatever
 * it holds: control characters escaped as quote() does. When it would not
 * fit, a quoted value longer than QUOTE_MAX is clipped, its quote kept, so
 * that a huge value never cuts the message (nor its closing quote) short. */
static void sanitize(const char *text, size_t len)
{
	int clip = len >= sizeof(message) - 64, in_quote = 0;
	size_t k = 0, run = 0, i;

	for (i = 0; i < len && k + 8 < sizeof(message); i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\'') {
			in_quote = !in_quote;
			run = 0;
		} else if (in_quote && clip && ++run > QUOTE_MAX) {
			if (run == QUOTE_MAX + 1) {
				memcpy(message + k, "...", 3);
				k += 3;
			}
			continue;
		}
		if (ch == '\n' || ch == '\t' || ch == '\r') {
			message[k++] = '\\';
			message[k++] = ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r';
		} else if (ch < 0x20 || ch == 0x7f) {
			k += (size_t)snprintf(message + k, 5, "\\x%02x", ch);
		} else {
			message[k++] = (char)ch;
		}
	}
	message[k] = '\0';
}

static int record(int c, int errnum, const char *fmt, va_list ap)
{
	char small[1024], *text = small;
	va_list copy;
	size_t n;
	int r;

	va_copy(copy, ap);
	r = vsnprintf(small, sizeof(small), fmt, ap);
	if (r >= (int)sizeof(small) && (text = malloc((size_t)r + 1)) != NULL)
		vsnprintf(text, (size_t)r + 1, fmt, copy);
	else if (r >= (int)sizeof(small))
		text = small;
	va_end(copy);
	n = r < 0 ? 0 : text == small && r >= (int)sizeof(small) ? sizeof(small) - 1 : (size_t)r;
	sanitize(text, n);
	if (text != small)
		free(text);
	n = strlen(message);
	if (errnum && n < sizeof(message))
		snprintf(message + n, sizeof(message) - n, ": %s", strerror(errnum));
	hint[0] = '\0';
	code = c;
	return -1;
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(EXIT_INTERNAL, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int error_code(int c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(c, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	record(EXIT_TEMP, errnum ? errnum : EIO, fmt, ap);
	va_end(ap);
	return -1;
}

int error_errnum(int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(EXIT_TEMP, errnum ? errnum : EIO, fmt, ap);
	va_end(ap);
	return -1;
}

void error_hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hint, sizeof(hint), fmt, ap);
	va_end(ap);
}

const char *quote(const char *s)
{
	static char bufs[4][4 * QUOTE_MAX + 8];
	static int next;
	char *b = bufs[next++ % 4];
	size_t k = 0, i;

	b[k++] = '\'';
	for (i = 0; s && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == QUOTE_MAX) {
			memcpy(b + k, "...", 3);
			k += 3;
			break;
		}
		if (c == '\n' || c == '\t' || c == '\r' || c == '\'' || c == '\\') {
			b[k++] = '\\';
			b[k++] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			k += (size_t)snprintf(b + k, 5, "\\x%02x", c);
		} else {
			b[k++] = (char)c;
		}
	}
	b[k++] = '\'';
	b[k] = '\0';
	return b;
}

const char *error_message(void)
{
	return message[0] ? message : "unknown error";
}

const char *error_hint_text(void)
{
	return hint[0] ? hint : NULL;
}

int error_exit_code(void)
{
	return code;
}

void error_clear(void)
{
	message[0] = '\0';
	hint[0] = '\0';
	code = EXIT_INTERNAL;
}

void error_save(struct error_saved *s)
{
	memcpy(s->message, message, sizeof(message));
	memcpy(s->hint, hint, sizeof(hint));
	s->code = code;
}

void error_restore(const struct error_saved *s)
{
	memcpy(message, s->message, sizeof(message));
	memcpy(hint, s->hint, sizeof(hint));
	code = s->code;
}
