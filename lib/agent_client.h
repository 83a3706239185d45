/* agent_client: the host side of ember-agent's protocol (lib/agent_proto.h),
 * as functions on a connected socket (platform/hvsock.h opens one through a
 * VM's hybrid vsock) with callbacks, so that ember-vm's exec, cp, ping and
 * wait are thin. One request at a time per connection.
 *
 * Each returns 0, or -1 with an error recorded. When the agent answered with
 * an error object, AE (may be NULL) holds it and the recorded error's exit
 * code follows its code: ENOENT, ENOTDIR 1; EACCES, EPERM, EISDIR, EROFS 102;
 * EBADREQ, EUNKNOWNOP, EINVAL, E2BIG 100; anything else 111. AE->code is ""
 * when the failure was not the agent's answer (the connection broke). */
#ifndef EMBER_AGENT_CLIENT_H
#define EMBER_AGENT_CLIENT_H

#include <stddef.h>

#include "agent_proto.h"

struct agent_ping {
	char version[64];
	int protocol;
	double uptime_seconds;
};

/* ping, waiting at most TIMEOUT_MS (-1: forever) for the answer. */
int agent_client_ping(int fd, int timeout_ms, struct agent_ping *p, struct agent_err *ae);
/* Open the hybrid vsock UDS to PORT and ping, again every 100 ms until one
 * answers or TIMEOUT_MS have passed (then 111: "the agent did not answer
 * ... waited N s"). */
int agent_client_wait(const char *uds, unsigned port, int timeout_ms, struct agent_ping *p);

struct agent_exec_spec {
	const char *const *argv; /* NULL-terminated; or NULL and ... */
	const char *command;     /* ... a string for sh -c */
	const char *const *env;  /* "NAME=VALUE", NULL-terminated, or NULL */
	const char *cwd;         /* or NULL */
	int stdin_fd;            /* read to EOF and sent as stdin; -1: none */
	long long timeout_ms;    /* 0: none */
};

/* Output as it comes: STREAM 1 stdout, 2 stderr. Returns 0, or -1 (error
 * recorded) to stop: the connection is then closed by the caller, which
 * makes the agent kill the command's process group. */
typedef int agent_output_fn(void *ctx, int stream, const char *data, size_t n);

struct agent_exec_result {
	int exit_code;  /* -1: killed by a signal */
	int signal;     /* 0: none */
	int timed_out;
	long long duration_ms;
};

int agent_client_exec(int fd, const struct agent_exec_spec *spec, agent_output_fn *out, void *ctx,
		      struct agent_exec_result *res, struct agent_err *ae);

/* Bytes of a file as they come, and how many so far. -1 stops (recorded). */
typedef int agent_data_fn(void *ctx, const char *data, size_t n);
typedef void agent_progress_fn(void *ctx, long long done);

struct agent_file_info {
	long long size;  /* the file's size in the guest */
	int mode;        /* its permission bits */
	long long bytes; /* bytes received or sent */
};

/* read_file PATH from OFFSET, LENGTH bytes (-1: to the end). */
int agent_client_read_file(int fd, const char *path, long long offset, long long length, agent_data_fn *sink,
			   void *ctx, struct agent_file_info *info, struct agent_err *ae);
/* write_file PATH (MODE -1: the existing file's, else 0644) from SRC_FD to
 * its EOF; PROGRESS (may be NULL) after each frame. */
int agent_client_write_file(int fd, const char *path, int mode, int src_fd, agent_progress_fn *progress,
			    void *ctx, struct agent_file_info *info, struct agent_err *ae);

/* The exit code an agent error code stands for (see above). */
int agent_client_exit_code(const char *code);

#endif
