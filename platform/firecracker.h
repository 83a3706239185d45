/* firecracker: Firecracker's API over its Unix socket, through libcurl,
 * which is loaded with dlopen on the first call, so applets that never talk
 * to Firecracker never map it. One keep-alive easy handle per socket
 * (CURLOPT_UNIX_SOCKET_PATH), fixed-length bodies (Content-Length, never
 * chunked: Firecracker has no chunked decoder), an empty "Expect:" header
 * (no 100-continue round trip) and a timeout per request. */
#ifndef EMBER_FIRECRACKER_H
#define EMBER_FIRECRACKER_H

#include <stddef.h>

struct firecracker {
	void *curl;    /* CURL *, owned */
	void *headers; /* struct curl_slist *, owned */
	char *sock;    /* owned */
	int verbose;   /* print each request and answer on stderr */
	double waited_ms; /* time spent in requests, in total */
	int timed_out;    /* the last call failed on its timeout */
};

struct firecracker_answer {
	long status;     /* HTTP status */
	char *body;      /* NUL-terminated, owned ("" when none) */
	char *fault;     /* its fault_message, owned, or NULL */
	double ms;       /* how long it took */
};

/* Load libcurl (once): -1 with an error (111) when it cannot be loaded. */
int firecracker_load(void);
/* Begin that load on a thread of its own, so that it overlaps work that
 * waits for the disk; the first firecracker_load() joins it. */
void firecracker_preload(void);
/* Ready FC for the API socket SOCK (nothing is connected yet). */
int firecracker_open(struct firecracker *fc, const char *sock, int verbose);
void firecracker_close(struct firecracker *fc);
/* METHOD PATH with BODY (a JSON text, or NULL), waiting up to TIMEOUT_MS.
 * 0 when Firecracker answered, whatever the status (A filled); -1 with an
 * error (111) when it did not: no connection, the timeout, a broken answer. */
int firecracker_call(struct firecracker *fc, const char *method, const char *path,
		     const char *body, int timeout_ms, struct firecracker_answer *a);
void firecracker_answer_release(struct firecracker_answer *a);
/* Does a process accept connections on the Unix socket PATH? 1 yes, 0 no
 * (no such file, nothing listening), -1 error (a path that is not a
 * socket, say). */
int firecracker_socket_answers(const char *path);

#endif
