#!/usr/bin/env python3
"""The limit for ember-vm cp (tests/bench/exec.sh): raw bytes through the
same hybrid vsock path, no protocol. Guest: rawcat.py serve UDS (a listener
at the stand-in's $EMBER_STANDIN_VSOCK_DIR/<port>); each connection sends
"PUT PATH\\n" then bytes to EOF (written to PATH), or "GET PATH\\n" and gets
PATH's bytes; "PUTSYNC PATH\n" also fsyncs PATH. Host: rawcat.py
put|put+fsync|get|get+fsync VSOCK_UDS PORT LOCAL PATH (get+fsync fsyncs
LOCAL): +fsync is the durability ember-vm cp gives at the end it writes."""
import os
import socket
import sys
import threading

CHUNK = 1 << 20


def serve_one(c):
    f = c.makefile("rb")
    op, path = f.readline().decode().rstrip("\n").split(" ", 1)
    if op in ("PUT", "PUTSYNC"):
        with open(path, "wb") as out:
            while True:
                b = f.read1(CHUNK)
                if not b:
                    break
                out.write(b)
            if op == "PUTSYNC":
                out.flush()
                os.fsync(out.fileno())
        c.sendall(b"done\n")
    else:
        with open(path, "rb") as src:
            c.sendfile(src)
    c.close()


def serve(uds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(uds)
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_one, args=(c,), daemon=True).start()


def connect(uds, port):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            sys.exit("no OK")
        line += b
    if not line.startswith(b"OK "):
        sys.exit("bad answer %r" % line)
    return s


def main():
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
        return
    op, uds, port, local, path = sys.argv[1:6]
    s = connect(uds, int(port))
    if op in ("put", "put+fsync"):
        s.sendall(b"%s %s\n" % (b"PUT" if op == "put" else b"PUTSYNC", path.encode()))
        with open(local, "rb") as src:
            s.sendfile(src)
        s.shutdown(socket.SHUT_WR)
        if s.recv(16) != b"done\n":
            sys.exit("put not acknowledged")
    else:
        s.sendall(b"GET %s\n" % path.encode())
        with open(local, "wb") as out:
            while True:
                b = s.recv(CHUNK)
                if not b:
                    break
                out.write(b)
            if op == "get+fsync":
                out.flush()
                os.fsync(out.fileno())
    s.close()


if __name__ == "__main__":
    main()
