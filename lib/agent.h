/* agent: ember-agent, the guest side. It listens on AF_VSOCK (or a Unix
 * socket) and serves each connection in a process of its own: JSON lines
 * (lib/agent_proto.h) with the ops ping, exec, read_file, write_file and
 * status. As PID 1 it also reaps every orphan and takes SIGINT (the
 * kernel's Ctrl-Alt-Del) as a reboot. */
#ifndef EMBER_AGENT_H
#define EMBER_AGENT_H

#define AGENT_MAX_CONNECTIONS 64

struct agent_options {
	const char *uds;     /* a Unix socket path, or NULL: AF_VSOCK */
	unsigned port;       /* the vsock port (AGENT_PORT) */
	int max_connections; /* served at once; past it: an EBUSY reply, then closed */
};

/* Serve until SIGTERM or SIGINT (not as PID 1: returns 0). Returns -1 (error
 * recorded) when it cannot listen. */
int agent_serve(const struct agent_options *o);

#endif
