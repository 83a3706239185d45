#!/usr/bin/env bash
# agent-vsock: ember-agent on real AF_VSOCK (vsock_loopback), port 1024, and
# the test client reaching it at CID 1 (VMADDR_CID_LOCAL): ping, an exec,
# a file both ways; and the default port with no --uds.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

[ -e /proc/misc ] || skip_all "not inside the test kernel"
CLIENT=$T_TOP/build/tests/agent-client
[ -x "$CLIENT" ] || skip_all "no test client in the initramfs"
grep -q '^vsock_loopback ' /proc/modules || skip_all "vsock_loopback is not loaded in this kernel"

ember-agent serve 2>"$T_TMP/agent.err" &
AGENT=$!
at_exit "kill $AGENT"
C() { "$CLIENT" --vsock 1 --port 1024 "$@"; }
for ((i = 0; i < 200; i++)); do C ping >/dev/null 2>&1 && break; sleep 0.05; done
VERSION=$("$EMBER" --version | cut -d' ' -f2)
check "ping over AF_VSOCK at CID 1, port 1024 (the default)" 0 "ok $VERSION 1" C ping
check "exec" 0 "hello" C exec --command 'echo hello; exit 0'
check "exit 7" 7 "" C exec --command 'exit 7'
check "a missing program: ENOENT" 1 "" C exec -- /no/such/program
head -c 3000000 /dev/urandom >"$T_TMP/f"
chmod 0604 "$T_TMP/f"
check "write_file" 0 "3000000" C write "$T_TMP/f" "$T_TMP/g"
is "same bytes" "$(cmp "$T_TMP/f" "$T_TMP/g" && echo same)" same
check "read_file" 0 "3000000 0604 3000000" C read "$T_TMP/g" "$T_TMP/h"
is "same bytes back" "$(cmp "$T_TMP/f" "$T_TMP/h" && echo same)" same
C exec --stdin -- cat <"$T_TMP/f" >"$T_TMP/echoed"
is "stdin round trip, byte-exact" "$(cmp "$T_TMP/f" "$T_TMP/echoed" && echo same)" same
check "another port, nothing there: refused" 111 "" "$CLIENT" --vsock 1 --port 1025 ping
ember-agent serve --port 1025 2>/dev/null &
at_exit "kill $!"
for ((i = 0; i < 200; i++)); do "$CLIENT" --vsock 1 --port 1025 ping >/dev/null 2>&1 && break; sleep 0.05; done
check "it answers there" 0 "ok $VERSION 1" "$CLIENT" --vsock 1 --port 1025 ping
done_testing
