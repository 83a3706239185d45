/* vm_agent: ember-vm's side of the guest agent (ember-agent, DESIGN §4):
 * from a VM's record to a connection on its hybrid vsock, and the copies of
 * files in and out of the guest, atomic at both ends. The protocol itself is
 * lib/agent_client.h; the handshake platform/hvsock.h. */
#ifndef EMBER_VM_AGENT_H
#define EMBER_VM_AGENT_H

#include "agent_client.h"
#include "install.h"

#define VM_AGENT_PORT 1024
#define VM_AGENT_CONNECT_MS 5000 /* exec, cp, ping: for the agent to take the connection */
#define VM_AGENT_WAIT_MS 30000   /* wait without --timeout */

/* NAME's vsock UDS into UDS (N bytes), for a VM that is running and has a
 * vsock: 0; else -1 with the error recorded: no such VM 1, no vsock 100,
 * not running 102. */
int vm_agent_uds(struct install *in, const char *name, char *uds, size_t n);
/* A connection to NAME's agent, the handshake retried every 100 ms for up
 * to TIMEOUT_MS: the descriptor, or -1 (111: the agent did not answer, and
 * how long it was waited for). */
int vm_agent_connect(struct install *in, const char *name, int timeout_ms);
/* Ping NAME's agent on fresh connections until one answers or TIMEOUT_MS
 * have passed (111, saying how long). */
int vm_agent_wait(struct install *in, const char *name, int timeout_ms, struct agent_ping *p);

/* The guest's PATH into LOCAL (LOCAL a directory: the file of PATH's last
 * name in it): written to a temporary file beside it, given the guest
 * file's mode, fsynced, renamed over LOCAL; on any failure LOCAL is as it
 * was. PROGRESS (may be NULL) as bytes come. */
int vm_agent_cp_from(int fd, const char *path, const char *local, agent_progress_fn *progress,
		     void *ctx, struct agent_file_info *info);
/* LOCAL (a regular file) into the guest's PATH with LOCAL's mode (the agent
 * writes a temporary file and renames it). */
int vm_agent_cp_to(int fd, const char *local, const char *path, agent_progress_fn *progress,
		   void *ctx, struct agent_file_info *info);

#endif
