#!/usr/bin/env bash
# ember-agent through hybrid vsock: the agent as the stand-in's guest
# (EMBER_STANDIN_GUEST), the test client on the host through the VM's vsock
# Unix socket and "CONNECT 1024" (platform/hvsock.c, lib/agent_client.c):
# ping, exec, stdin, streaming, timeouts, disconnects, files; a guest whose
# agent starts 3 s late (wait: 10 s succeeds, 1 s fails in about a second);
# nothing listening; nothing read past the OK line.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v curl >/dev/null || skip_all "curl not found"

BUILD=${BUILD:-$T_TOP/build}
case $BUILD in /*) ;; *) BUILD=$T_TOP/$BUILD ;; esac
STANDIN=$BUILD/standin/firecracker
CLIENT=$BUILD/tests/agent-client
[ -x "$STANDIN" ] || skip_all "no stand-in at $STANDIN (make standin)"
[ -x "$CLIENT" ] || { echo "Bail out! no test client at $CLIENT (make $BUILD/tests/agent-client)"; exit 1; }
VERSION=$("$EMBER" --version | cut -d' ' -f2)
AGENT='exec ember-agent serve --uds "$EMBER_STANDIN_VSOCK_DIR/1024"'
KERNEL=$T_TMP/vmlinux
head -c 4096 /dev/zero >"$KERNEL"

api() { curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$1" -X "$2" "http://localhost$3" -d "$4"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
# boot NAME GUEST_COMMAND: a stand-in VM with vsock at $T_TMP/NAME.vsock,
# started (InstanceStart); nothing waits for its guest
boot() {
	local name=$1 sock=$T_TMP/$1.api i
	EMBER_STANDIN_GUEST=$2 "$STANDIN" --api-sock "$sock" --id "$name" >"$T_TMP/$name.log" 2>&1 &
	at_exit "kill -9 $!"
	for ((i = 0; i < 200; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
	[ "$(api "$sock" PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\",\"boot_args\":\"console=ttyS0\"}")" = 204 ] &&
		[ "$(api "$sock" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$T_TMP/$name.vsock\"}")" = 204 ] &&
		[ "$(api "$sock" PUT /actions '{"action_type":"InstanceStart"}')" = 204 ]
}

GREET='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
while True:
    c, _ = s.accept()
    c.sendall(b"{\"first\":\"guest speaks first\"}\n")
    c.close()'
ok "a VM whose guest runs the agent" boot vm1 "/usr/bin/python3 -c '$GREET' \"\$EMBER_STANDIN_VSOCK_DIR/7\" & $AGENT"
V=$T_TMP/vm1.vsock
C() { "$CLIENT" --hvsock "$V" --timeout-ms 10000 "$@"; }

check "wait: the agent answers" 0 "ok $VERSION 1" C wait
check "ping through CONNECT 1024" 0 "ok $VERSION 1" C ping
check "exec true" 0 "" C exec -- true
check "exec false" 1 "" C exec -- false
R=$T_TMP/result
check "exit 7" 7 "" C exec --result "$R" --command 'exit 7'
is "exit_code 7" "$(cut -d' ' -f1-3 "$R")" "7 - 0"
check "SIGKILL: 137" 137 "" C exec --result "$R" -- sh -c 'kill -9 $$'
is "signal 9, exit_code null" "$(cut -d' ' -f1-3 "$R")" "- 9 0"
check "a missing program: ENOENT" 1 "" C exec -- /no/such/program
like "said plainly" "$T_ERR" "*unable to run '/no/such/program': No such file or directory (ENOENT)"
check "env and cwd" 0 "v /usr" C exec --env K=v --cwd /usr --command 'echo "$K $(pwd)"'
check "the agent runs in the guest's namespaces" 0 "*" C exec -- readlink /proc/self/ns/pid
ok "not the host's" test "$T_OUT" != "$(readlink /proc/self/ns/pid)"

head -c $((8 * 1024 * 1024)) /dev/urandom >"$T_TMP/in8"
# summed in the guest: the stand-in's relay copies both directions in one
# thread with blocking writes, so a stream full both ways (cat echoing 8 MiB
# back) can stall it, which Firecracker's event-driven muxer would not;
# tests/cli/agent.sh round-trips it through cat over the Unix socket
is "8 MiB of random stdin arrives byte-exact" "$(C exec --stdin -- sha256sum <"$T_TMP/in8")" "$(sha256sum <"$T_TMP/in8")"

/usr/bin/time -f '%M' -o "$T_TMP/client.kb" "$CLIENT" --hvsock "$V" exec --command \
	'head -c 268435456 /dev/zero; grep VmHWM /proc/$PPID/status >&2' 2>"$T_TMP/hwm" | wc -c >"$T_TMP/count"
is "256 MiB of output streamed whole" "$(cat "$T_TMP/count")" 268435456
conn_kb=$(awk '/VmHWM/ {print $2}' "$T_TMP/hwm")
client_kb=$(tail -1 "$T_TMP/client.kb")
echo "# peak memory: agent connection ${conn_kb} kB, client ${client_kb} kB"
under_64m "the agent under 64 MiB" "$conn_kb"
under_64m "the client under 64 MiB" "$client_kb"

check "a timeout ends a group whose grandchild ignores SIGTERM: 124" 124 "" C exec --limit-ms 200 --result "$R" \
	--command "trap '' TERM; sh -c 'trap \"\" TERM; exec sleep 100' & sleep 100"
is "timed out, SIGKILL" "$(cut -d' ' -f1-3 "$R")" "- 9 1"
gone() { [ -z "$(C exec --command 'pgrep -x sleep' 2>/dev/null)" ]; }
ok "nothing of it is left in the guest" gone
t0=$(ms)
check "sh -c 'sleep 60 &' returns" 0 "" C exec --command 'sleep 60 &'
t1=$(ms)
ok "within a second ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1000
C exec --command 'pkill -x sleep' >/dev/null 2>&1

pids=()
for i in $(seq 1 32); do
	C exec --limit-ms 20000 --command "echo $i" >"$T_TMP/c$i.out" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
n=0
for i in $(seq 1 32); do [ "$(cat "$T_TMP/c$i.out")" = "$i" ] && n=$((n + 1)); done
is "32 concurrent execs" "$n" 32

"$CLIENT" --hvsock "$V" exec --command 'sleep 600 & sleep 601' >/dev/null 2>&1 &
cpid=$!
running() { C exec --command 'pgrep -x -f "sleep 601"' >/dev/null 2>&1; }
for ((i = 0; i < 200; i++)); do running && break; sleep 0.05; done
ok "a long command runs in the guest" running
kill -9 "$cpid"
wait "$cpid" 2>/dev/null
stopped() { ! running && [ -z "$(C exec --command 'pgrep -x -f "sleep 600"' 2>/dev/null)" ]; }
for ((i = 0; i < 200; i++)); do stopped && break; sleep 0.05; done
ok "the host disconnects: its whole group is gone in the guest" stopped

head -c $((100 * 1024 * 1024)) /dev/urandom >"$T_TMP/f100"
chmod 0640 "$T_TMP/f100"
check "cp in: write_file of 100 MiB" 0 "104857600" C write "$T_TMP/f100" "$T_TMP/guest-f"
is "same bytes" "$(sha256sum <"$T_TMP/guest-f")" "$(sha256sum <"$T_TMP/f100")"
is "mode kept" "$(stat -c %a "$T_TMP/guest-f")" 640
check "cp out: read_file of 100 MiB" 0 "104857600 0640 104857600" C read "$T_TMP/guest-f" "$T_TMP/back"
is "same bytes back" "$(sha256sum <"$T_TMP/back")" "$(sha256sum <"$T_TMP/f100")"
is "mode kept back" "$(stat -c %a "$T_TMP/back")" 640
check "a path that does not exist" 1 "" C read /no/such/file "$T_TMP/x"
check "a directory" 102 "" C read /usr "$T_TMP/x"

## the handshake
check "nothing past the OK line is read: the guest's first line reaches the client" 0 \
	'{"first":"guest speaks first"}' "$CLIENT" --hvsock "$V" --port 7 raw 1 /dev/null
t0=$(ms)
check "a port nobody listens on: 111 after the deadline" 111 "" "$CLIENT" --hvsock "$V" --port 1025 --timeout-ms 1000 ping
t1=$(ms)
like "saying the agent did not answer and how long it was waited for" "$T_ERR" \
	"agent-client: the agent did not answer on '$V' port 1025: waited 1.? s*"
ok "after about a second ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 1000 -a $((t1 - t0)) -lt 2500
check "a vsock socket that does not exist: 111 the same way" 111 "" "$CLIENT" --hvsock "$T_TMP/none.vsock" --timeout-ms 300 ping
like "saying so" "$T_ERR" "agent-client: the agent did not answer on '$T_TMP/none.vsock' port 1024: waited 0.? s*"

## an agent that starts 3 s after InstanceStart
ok "a VM whose agent starts 3 s late" boot late1 "sleep 3; $AGENT"
t0=$(ms)
check "wait with a 10 s deadline succeeds" 0 "ok $VERSION 1" "$CLIENT" --hvsock "$T_TMP/late1.vsock" --timeout-ms 10000 wait
t1=$(ms)
echo "# answered after $((t1 - t0)) ms"
ok "once the agent was up (not at once)" test $((t1 - t0)) -ge 2000
ok "another VM whose agent starts 3 s late" boot late2 "sleep 3; $AGENT"
t0=$(ms)
check "wait with a 1 s deadline fails: 111" 111 "" "$CLIENT" --hvsock "$T_TMP/late2.vsock" --timeout-ms 1000 wait
t1=$(ms)
like "saying how long it waited" "$T_ERR" "agent-client: the agent did not answer on '$T_TMP/late2.vsock' port 1024: waited 1.? s*"
ok "in about a second ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 1000 -a $((t1 - t0)) -lt 2500

done_testing
