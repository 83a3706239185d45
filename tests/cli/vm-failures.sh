#!/usr/bin/env bash
# ember-vm when things go wrong: Firecracker refusing, hanging or dying at
# each request, a guest ignoring Ctrl-Alt-Del, a reused pid, a Firecracker
# killed behind ember's back, a socket someone else answers on, a busy TAP,
# and ember-vm itself killed at each of its crash points.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/vm.lib"

ember-init init -q --instance-id b001
S=$(sdir)
tap_up tapf 10.0.0.1/30
ember-vm -q create vm1 --kernel "$KERNEL" --rootfs "$ROOTFS" --drive "data=$ROOTFS:ro" \
	--tap tapf --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30 --cid 5
state() { sqlite3 "$S/state.db" "SELECT state FROM vms WHERE name = '$1'"; }
reason() { sqlite3 "$S/state.db" "SELECT reason FROM vms WHERE name = '$1'"; }
run_line() { echo "vm1 running yes $1 1 128 tapf 10.0.0.2 5 $ROOTFS -"; }

## Firecracker refusing each request (400 and its fault_message)
for op in "PUT /logger" "PUT /machine-config" "PUT /boot-source" "PUT /drives/rootfs" \
	"PUT /drives/data" "PUT /network-interfaces/eth0" "PUT /vsock" "PUT /actions InstanceStart"; do
	check "refused at $op: 100" 100 "" env EMBER_STANDIN_FAIL="$op=injected fault at $op" ember-vm start vm1
	like "  the message names the request and quotes Firecracker" "$T_ERR" \
		"ember-vm: unable to start 'vm1': $op: \"injected fault at $op\""
	is "  state failed" "$(state vm1)" failed
	is "  the reason recorded" "$(reason vm1)" "$op: \"injected fault at $op\""
	ok "  no process, no socket, no handles.json" nothing_left vm1
done
check "refused at GET /: 111 (not the input's fault)" 111 "" env EMBER_STANDIN_FAIL="GET /=not today" ember-vm start vm1
like "  saying so" "$T_ERR" "*GET /: status 400*not today*"
ok "  nothing left" nothing_left vm1
check "list shows the failure" 0 "vm1 failed no - 1 128 tapf 10.0.0.2 5 $ROOTFS GET /: status 400: {\"fault_message\":\"not today\"}" ember-vm list
check "the fault cleared, a second start succeeds" 0 "*" ember-vm start vm1
like "  running" "$T_OUT" "vm1 running yes [0-9]* *"
ember-vm -q stop --force vm1

## hanging at a request: the timeout, then nothing left
for op in "GET /" "PUT /boot-source" "PUT /vsock" "PUT /actions InstanceStart"; do
	check "a hang at $op: 111 after the timeout" 111 "" env EMBER_STANDIN_HANG="$op" ember-vm start vm1 --timeout 0.3
	like "  saying so" "$T_ERR" "*${op% InstanceStart}: no answer within 300 ms*"
	is "  state failed" "$(state vm1)" failed
	ok "  nothing left" nothing_left vm1
done

## dying at a request
check "Firecracker exits at PUT /drives/rootfs: 111" 111 "" env EMBER_STANDIN_EXIT_AT="PUT /drives/rootfs" ember-vm start vm1
like "  its exit and the request" "$T_ERR" "*firecracker exited with status 1 before answering PUT /drives/rootfs*"
ok "  nothing left" nothing_left vm1
check "Firecracker missing: 111" 111 "" env EMBER_FIRECRACKER=/nonexistent/firecracker ember-vm start vm1
like "  saying so" "$T_ERR" "*unable to run '/nonexistent/firecracker': No such file or directory*"
is "  state failed" "$(state vm1)" failed
check "a socket that comes late is waited for" 0 "*" env EMBER_STANDIN_SOCKET_DELAY_MS=300 ember-vm start vm1
ember-vm -q stop --force vm1
check "  but not past --timeout" 111 "" env EMBER_STANDIN_SOCKET_DELAY_MS=3000 ember-vm start vm1 --timeout 0.2
like "  saying so" "$T_ERR" "*the API socket '$S/vms/vm1/firecracker.sock' did not answer within 200 ms*"
ok "  nothing left" nothing_left vm1

## a guest that ignores Ctrl-Alt-Del
EMBER_STANDIN_IGNORE_CAD=1 ember-vm -q start vm1
pid=$(fc_pids vm1)
check "stop kills it after --timeout" 0 "vm1 stopped no - 1 128 tapf 10.0.0.2 5 $ROOTFS stopped: killed, no exit within 400 ms of Ctrl-Alt-Del" \
	ember-vm stop vm1 --timeout 0.4
ok "  it is gone" gone "$pid"
ok "  nothing left" nothing_left vm1

## PID reuse: handles.json pointing at a live unrelated process
ember-vm -q start vm1
ember-vm -q stop --force vm1
# a process as like the VM's Firecracker as can be: its command line names
# the socket exactly; only its start time is not the recorded one
python3 -c 'import time; time.sleep(1000)' --api-sock "$S/vms/vm1/firecracker.sock" &
other=$!
at_exit "kill $other"
st=$(sed 's/.*) //' "/proc/$other/stat" | cut -d' ' -f20)
printf '{"pid":%d,"start_time":"%d","api_sock":"%s","vsock_uds":null}' "$other" $((st + 1)) \
	"$S/vms/vm1/firecracker.sock" >"$S/vms/vm1/handles.json"
sqlite3 "$S/state.db" "UPDATE vms SET state = 'running', reason = NULL WHERE name = 'vm1'"
check "show: a pid with another start time is not alive" 0 "*" ember-vm show vm1
like "  alive no, and why" "$T_OUT" "name vm1
state running
alive no
pid -*
reason process gone (pid reused)*"
check "stop never signals it" 0 "vm1 stopped no - 1 128 tapf 10.0.0.2 5 $ROOTFS process gone (pid reused)" ember-vm stop vm1
ok "  the process survives" alive "$other"
is "  the record says why" "$(reason vm1)" "process gone (pid reused)"
ok "  handles.json removed" test ! -e "$S/vms/vm1/handles.json"
kill "$other"
gone "$other"
# the same start time, but a command line that does not name the socket
sleep 1000 &
other=$!
at_exit "kill $other"
st=$(sed 's/.*) //' "/proc/$other/stat" | cut -d' ' -f20)
printf '{"pid":%d,"start_time":"%d","api_sock":"%s","vsock_uds":null}' "$other" "$st" \
	"$S/vms/vm1/firecracker.sock" >"$S/vms/vm1/handles.json"
sqlite3 "$S/state.db" "UPDATE vms SET state = 'running' WHERE name = 'vm1'"
check "the right start time but not its socket: not alive either" 0 "*" ember-vm list
like "  " "$T_OUT" "vm1 running no - * process gone (pid reused)"
check "  stop leaves it alone" 0 "*" ember-vm stop --force vm1
ok "  it survives" alive "$other"
check "delete --force leaves it alone too" 0 "vm1 yes" ember-vm delete --force vm1
ok "  it survives" alive "$other"
ember-vm -q create vm1 --kernel "$KERNEL" --rootfs "$ROOTFS" --drive "data=$ROOTFS:ro" \
	--tap tapf --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30 --cid 5

## killed with SIGKILL behind ember's back
ember-vm -q start vm1
pid=$(fc_pids vm1)
kill -9 "$pid"
gone "$pid"
check "show: not alive" 0 "*" ember-vm show vm1
like "  and why" "$T_OUT" "*alive no*reason process gone*"
ok "  its sockets are left, stale" test -S "$S/vms/vm1/firecracker.sock" -a -S "$S/vms/vm1/vsock.sock"
check "start unlinks them and starts again" 0 "*" ember-vm start vm1
pid2=$(fc_pids vm1)
is "  a new process" "$(run_line "$pid2")" "$T_OUT"
ok "  not the old one" test "$pid" != "$pid2"

## handles.json lost: rebuilt from /proc
rm "$S/vms/vm1/handles.json"
check "show finds the process by its exact --api-sock" 0 "*" ember-vm show vm1
like "  alive, the same pid" "$T_OUT" "*alive yes
pid $pid2*fc_state Running*"
check "and stop stops it" 0 "*" ember-vm stop vm1
ok "  gone" gone "$pid2"
ok "  nothing left" nothing_left vm1

## a socket someone answers on
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); print("up", flush=True); time.sleep(1000)' \
	"$S/vms/vm1/firecracker.sock" >"$T_TMP/listener.out" &
listener=$!
at_exit "kill $listener"
for ((i = 0; i < 250; i++)); do [ -s "$T_TMP/listener.out" ] && break; sleep 0.02; done
check "start over a socket a live process answers on: 102" 102 "" ember-vm start vm1
like "  saying so" "$T_ERR" "ember-vm: a process answers on '$S/vms/vm1/firecracker.sock', but VM 'vm1' is stopped*"
ok "  the listener is untouched" alive "$listener"
ok "  its socket too" test -S "$S/vms/vm1/firecracker.sock"
is "  nothing spawned" "$(count_fc vm1)" 0
kill "$listener"
gone "$listener"
rm -f "$S/vms/vm1/firecracker.sock"

## a TAP that another process holds
python3 -c 'import fcntl,os,struct,sys,time
fd=os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"tapf", 0x0002 | 0x1000 | 0x4000))
print("held", flush=True); time.sleep(1000)' >"$T_TMP/holder.out" &
holder=$!
at_exit "kill $holder"
for ((i = 0; i < 250; i++)); do [ -s "$T_TMP/holder.out" ] && break; sleep 0.02; done
check "a busy TAP: Firecracker's EBUSY, 100" 100 "" ember-vm start vm1
like "  in its words" "$T_ERR" "*PUT /network-interfaces/eth0: \"*Could not create the network device*busy*"
ok "  nothing left" nothing_left vm1
kill "$holder"
gone "$holder"

## killed at each crash point: show tells the truth, start or stop converges
truth() { # NAME: show's alive field agrees with /proc
	local a
	a=$(ember-vm show "$1" | sed -n 's/^alive //p')
	[ "$a" = "$([ "$(count_fc "$1")" -gt 0 ] && echo yes || echo no)" ]
}
steps="spawned handles api-get api-logger api-machine-config api-boot-source api-drive-rootfs api-drive api-network api-vsock api-instance-start"
for step in $steps; do
	point=vm-$step
	check "killed at $point" 137 "" env EMBER_TEST_CRASH=vm-$step ember-vm start vm1
	ok "  show tells the truth" truth vm1
	check "  start converges" 0 "*" ember-vm start vm1
	like "  running" "$T_OUT" "vm1 running yes [0-9]* *"
	is "  one process" "$(count_fc vm1)" 1
	like "  configured and started: Firecracker says so" "$(ember-vm show vm1)" "*fc_state Running*"
	ember-vm -q stop --force vm1
	check "killed at $point again" 137 "" env EMBER_TEST_CRASH=vm-$step ember-vm start vm1
	check "  stop converges" 0 "*" ember-vm stop vm1 --timeout 1
	like "  stopped" "$T_OUT" "vm1 stopped no *"
	ok "  nothing left" nothing_left vm1
done
ember-vm -q start vm1
pid=$(fc_pids vm1)
check "killed in stop after the kill, before the clean-up" 137 "" env EMBER_TEST_CRASH=vm-stop-killed ember-vm stop vm1
ok "  the process is gone" gone "$pid"
ok "  show tells the truth" truth vm1
is "  the record still says running" "$(state vm1)" running
check "  stop converges" 0 "vm1 stopped no - 1 128 tapf 10.0.0.2 5 $ROOTFS process gone" ember-vm stop vm1
ok "  nothing left" nothing_left vm1

done_testing
