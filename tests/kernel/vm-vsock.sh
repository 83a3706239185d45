#!/usr/bin/env bash
# vm-vsock: ember-vm's agent verbs over real AF_VSOCK. The stand-in runs in
# this kernel as Firecracker with EMBER_STANDIN_VSOCK_CID=1: each CONNECT on
# the VM's hybrid vsock UDS is bridged to vsock_loopback at CID 1, where
# ember-agent serve listens on port 1024 (the default, as in a guest). So
# ember-vm exec goes host UDS -> "CONNECT 1024" -> "OK <n>" -> AF_VSOCK ->
# agent. Also the muxer's answers the bridge must give: nothing listening
# on the port closes the stream with no bytes (ember-vm retries, then 111),
# and bytes sent after the CONNECT line reach the guest.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/vm-helpers"
need_tools sha256sum cmp ip
. "$T_TOP/tests/cli/vm.lib"

ember-init init -q --instance-id 5c01
check "ember-cidalloc gives vm1 its CID" 0 "vm1 3" ember-cidalloc alloc vm1
check "ember-vm create takes it (no drive, no TAP: vsock only)" 0 "*" \
	ember-vm create vm1 --kernel "$KERNEL" --no-rootfs --no-net
like "  the record has CID 3" "$T_OUT" "vm1 created no - 1 128 - - 3 - *"
VSOCK=$(sdir)/vms/vm1/vsock.sock
printf 'CONNECT 1024\n' >"$T_TMP/connect-1024"
printf 'CONNECT 1025\n' >"$T_TMP/connect-1025"

## nothing listens on port 1024 yet
is "no agent on AF_VSOCK port 1024" "$(agent_answers && echo answers)" ""
check "start (no --wait)" 0 "*" ember-vm start vm1
like "  running" "$T_OUT" "vm1 running yes *"
check "CONNECT 1024: the stream is closed with no bytes (Firecracker: the guest's RST)" 0 "" \
	"$CLIENT" --uds "$VSOCK" raw 1 "$T_TMP/connect-1024"
check "ping: 111 after ember-vm's retries" 111 "" ember-vm ping vm1
like "  saying the agent did not answer, and how long it waited" "$T_ERR" \
	"*the agent did not answer on '$VSOCK' port 1024: waited *"
check "wait --timeout 1: 111" 111 "" ember-vm wait vm1 --timeout 1
check "exec: 111, nothing run" 111 "" ember-vm exec vm1 -- true

## the agent comes up while ember-vm waits: its retry finds it
ember-vm wait vm1 --timeout 60 >"$T_TMP/wait.out" 2>"$T_TMP/wait.err" &
WAIT=$!
# (not a proof of order: the wait succeeds whichever comes first)
sleep 1
agent_up
wait "$WAIT"
is "wait --timeout 60: 0 once the agent listens" "$?" 0
VERSION=$("$EMBER" --version | cut -d' ' -f2)
like "  name version protocol uptime" "$(cat "$T_TMP/wait.out")" "vm1 $VERSION 1 [0-9]*"

## through the bridge to the real AF_VSOCK listener
check "ping" 0 "*" ember-vm ping vm1
like "  the agent's answer" "$T_OUT" "vm1 $VERSION 1 [0-9]*"
check "exec true: 0" 0 "" ember-vm exec vm1 -- true
check "exec false: 1" 1 "" ember-vm exec vm1 -- false
check "exit 7: 7" 7 "" ember-vm exec vm1 -- sh -c 'exit 7'
check "killed by SIGKILL: 137" 137 "" ember-vm exec vm1 -- sh -c 'kill -9 $$'
check "  -j: signal 9, its output in base64" 137 "*" ember-vm -j exec vm1 -- sh -c 'echo out; echo err >&2; kill -9 $$'
like "  the document" "$T_OUT" \
	'{"exit_code":null,"signal":9,"timed_out":false,"duration_ms":*,"stdout":"b3V0Cg==","stderr":"ZXJyCg==",*}'
check "stdout and stderr apart" 0 "out" ember-vm exec vm1 -- sh -c 'echo out; echo err >&2'
is "  stderr" "$T_ERR" "err"
check "a missing program: an error, not an exit status" 1 "" ember-vm exec vm1 -- /no/such/program
like "  saying so" "$T_ERR" "*unable to run '/no/such/program'*"
check "--env and --cwd" 0 "bar /tmp" ember-vm exec vm1 --env FOO=bar --cwd /tmp -- sh -c 'echo "$FOO $(pwd)"'
check "the command runs under the agent listening on AF_VSOCK" 0 "yes" \
	ember-vm exec vm1 -- sh -c "p=\$\$; while [ \"\$p\" -gt 1 ]; do [ \"\$p\" = $AGENT ] && echo yes && break
		p=\$(awk '/^PPid/ {print \$2}' /proc/\$p/status); done"
head -c 4194304 /dev/urandom >"$T_TMP/in.bin"
want=$(sha256sum <"$T_TMP/in.bin" | cut -d' ' -f1)
is "-i: 4 MiB of random bytes through cat, byte-exact" \
	"$(ember-vm exec vm1 -i -- cat <"$T_TMP/in.bin" | sha256sum | cut -d' ' -f1)" "$want"
is "--stdin to sha256sum in the guest: the same digest" \
	"$(ember-vm exec vm1 --stdin -- sha256sum <"$T_TMP/in.bin" | cut -d' ' -f1)" "$want"

## cp both ways
head -c 3000000 /dev/urandom >"$T_TMP/f"
chmod 0604 "$T_TMP/f"
mkdir "$T_TMP/g"
check "cp LOCAL vm1:PATH" 0 "$T_TMP/f vm1:$T_TMP/g/f 3000000 0604" ember-vm cp "$T_TMP/f" "vm1:$T_TMP/g/f"
ok "  the same bytes" cmp "$T_TMP/f" "$T_TMP/g/f"
check "cp vm1:PATH LOCAL" 0 "vm1:$T_TMP/g/f $T_TMP/back 3000000 0604" ember-vm cp "vm1:$T_TMP/g/f" "$T_TMP/back"
is "  sha256 equal" "$(sha256sum <"$T_TMP/back" | cut -d' ' -f1)" "$(sha256sum <"$T_TMP/f" | cut -d' ' -f1)"
check "a missing guest path: 1" 1 "" ember-vm cp "vm1:$T_TMP/g/missing" "$T_TMP/keep"

## the handshake, byte by byte
printf 'CONNECT 1024\n{"op":"ping","id":7}\n' >"$T_TMP/connect-ping"
check "CONNECT 1024 and a request in one write: OK <n>, then the agent's reply" 0 "*" \
	"$CLIENT" --uds "$VSOCK" raw 2 "$T_TMP/connect-ping"
like "  OK with a port of the muxer's (2^30 and up), the request reached the guest" "$T_OUT" \
	'OK 107374[0-9][0-9][0-9][0-9]
{"id":7,"ok":true,*}'
N=$(sed -n '1s/^OK //p' <<<"$T_OUT")
check "CONNECT 1025 (nothing there): closed with no bytes" 0 "" \
	"$CLIENT" --uds "$VSOCK" raw 1 "$T_TMP/connect-1025"
check "  the next OK is two up: the refused CONNECT used a port (the muxer allocates it first)" 0 \
	"OK $((N + 2))" "$CLIENT" --uds "$VSOCK" raw 1 "$T_TMP/connect-1024"
ember-agent serve --port 1025 2>/dev/null &
at_exit "kill $!"
ok "  an agent on 1025" wait_until "'$CLIENT' --vsock 1 --port 1025 ping >/dev/null 2>&1"
check "  now it answers there through the bridge" 0 "ok $VERSION 1" "$CLIENT" --hvsock "$VSOCK" --port 1025 ping

## the agent goes: back to the retry and 111; it comes back: found again
kill "$AGENT" && wait "$AGENT" 2>/dev/null
ok "the agent is gone" wait_until "! agent_answers"
check "ping: 111" 111 "" ember-vm ping vm1
agent_up
check "wait finds the new one" 0 "*" ember-vm wait vm1 --timeout 60
check "exec again" 0 "again" ember-vm exec vm1 -- echo again

## stop
check "stop" 0 "*" ember-vm stop vm1
like "  stopped" "$T_OUT" "vm1 stopped no *"
ok "  no process, socket or handles left" nothing_left vm1
ok "  the agent (not the VM's) still answers on AF_VSOCK" agent_answers
check "ping a stopped VM: 102" 102 "" ember-vm ping vm1
done_testing
