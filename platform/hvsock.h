/* hvsock: the host side of Firecracker's hybrid vsock. The VM's vsock is a
 * Unix socket on the host; a connection to a guest port starts with
 * "CONNECT <port>\n" (in one write: Firecracker drops a line that arrives
 * in pieces) and is answered "OK <n>\n", n being a host-side port that
 * Firecracker picks (never the guest's). Nothing listening in the guest yet
 * (still booting), or no answer within Firecracker's 2 s: the connection
 * is closed without a byte, and the client tries again. */
#ifndef EMBER_HVSOCK_H
#define EMBER_HVSOCK_H

#include <stddef.h>

#define HVSOCK_RETRY_MS 100

/* Connect to the Unix socket PATH and open guest PORT, retrying every 100 ms
 * while the socket is missing, refuses, or closes before OK, until
 * TIMEOUT_MS have passed. Returns the connected fd (close-on-exec, blocking)
 * with nothing read past the OK line, or -1 (error recorded: 111 and "the
 * agent did not answer ... within N s" past the deadline; 100 for a path
 * that cannot be a socket; 111 for a refusal such as EACCES). */
int hvsock_connect(const char *path, unsigned port, int timeout_ms);
/* Whether LINE (N bytes, the '\n' included) is "OK <decimal>\n". */
int hvsock_ok_line(const char *line, size_t n);

#endif
