/* The Firecracker stand-in's parts: the API (firecracker.c), the body
 * checks against the derived schema (schema.c) and the CPU-less guest with
 * its network and hybrid vsock (guest.c). Test code; never installed. */
#ifndef STANDIN_H
#define STANDIN_H

#include <cjson/cJSON.h>
#include <poll.h>
#include <stddef.h>

#define FC_VERSION "1.16.1"

/* Logging in Firecracker's line format, on stdout or the --log-path file. */
void fc_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* strerror as musl (Firecracker's libc) words it. */
const char *os_error(int e);

/* schema.c: load the derived schema; check BODY (its raw text LEN bytes)
 * against definition DEF. On a refusal, *message holds Firecracker's
 * fault_message (malloc'ed) and -1 is returned. */
int schema_load(const char *path);
const char *schema_body(const char *method, const char *path);
const cJSON *schema_definition(const char *name);
int schema_check(const char *def, const char *text, size_t len, int patch, cJSON **out,
		 char **message);
/* BODY laid out in Rust field order with nulls and defaults, as Firecracker
 * serialises the stored configuration (GET /vm/config). */
cJSON *schema_normalise(const char *def, const cJSON *body);

/* guest.c */
struct guest_net {
	char iface_id[65];
	char host_dev[16];
	unsigned char mac[6];
	int has_mac;
	int tap_fd;
};
int guest_start(struct guest_net *nets, int n, const char *boot_args, char **message);
/* A process forked from the stand-in that does not exec at once (the
 * guest's keepers) calls this: its command line becomes TITLE, so that it
 * never looks like a Firecracker (--api-sock PATH) to ember's process scans;
 * Firecracker itself is one process. */
void standin_retitle(const char *title);
void guest_stop(void);
/* The poll set's guest and vsock part: add fds, then handle what is ready. */
int guest_poll_fds(struct pollfd *fds, int max);
void guest_poll_handle(struct pollfd *fds, int n);
/* A Unix stream socket bound at PATH and listening; -1 with errno. */
int unix_listen(const char *path);
int vsock_bind(const char *uds_path, char **message);

#endif
