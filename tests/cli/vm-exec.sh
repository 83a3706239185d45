#!/usr/bin/env bash
# ember-vm exec, ping, wait and start --wait through the guest agent: the
# stand-in's guest is ember-agent serving on its vsock directory (as it
# serves vsock port 1024 in a real guest), reached through the VM's hybrid
# vsock. The guest shares this file system and pid namespace, so the
# guest's processes and files are checked from here.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/vm.lib"

ember-init init -q --instance-id a012
AGENT='exec ember-agent serve --uds "$EMBER_STANDIN_VSOCK_DIR/1024"'
export EMBER_STANDIN_GUEST=$AGENT
ember-vm -q create vm1 --kernel "$KERNEL" --no-rootfs --no-net --cid 3

## start --wait, ping
check "start --wait: running once the agent answers" 0 "*" \
	ember-vm start vm1 --wait 10
like "  the record" "$T_OUT" "vm1 running yes [0-9]* 1 128 - - 3 - -"
check "ping" 0 "*" ember-vm ping vm1
like "  name version protocol uptime" "$T_OUT" "vm1 * 1 [0-9]*"
check "ping -j" 0 "*" ember-vm -j ping vm1
like "  its keys" "$T_OUT" '{"name":"vm1","version":"*","protocol":1,"uptime_seconds":*}'
check "wait on an agent that answers" 0 "*" ember-vm wait vm1 --timeout 5
# the stand-in's guest runs in processes forked from it: none of them may
# look like a Firecracker of the VM, or reconcile kills the guest as a stray
check "ember-reconcile --grace 0 of the running VM: nothing to do" 0 "" ember-reconcile --grace 0
check "  its guest still answers" 0 "*" ember-vm ping vm1

## exit status
check "exec true: 0" 0 "" ember-vm exec vm1 -- true
check "exec false: 1" 1 "" ember-vm exec vm1 -- false
check "exit 7: 7" 7 "" ember-vm exec vm1 -- sh -c 'exit 7'
check "a command killed by SIGKILL: 137" 137 "" ember-vm exec vm1 -- sh -c 'kill -9 $$'
check "  -j: signal 9, exit_code null" 137 "*" ember-vm -j exec vm1 -- sh -c 'echo out; echo err >&2; kill -9 $$'
like "  -j: the document" "$T_OUT" \
	'{"exit_code":null,"signal":9,"timed_out":false,"duration_ms":*,"stdout":"b3V0Cg==","stderr":"ZXJyCg==","stdout_truncated":false,"stderr_truncated":false}'
check "-j of exit 0" 0 "*" ember-vm -j exec vm1 -- printf 'a\0b'
like "  binary output in base64" "$T_OUT" '{"exit_code":0,"signal":null,"timed_out":false,"duration_ms":*,"stdout":"YQBi","stderr":"",*}'
check "a missing program: an error, not an exit status" 1 "" ember-vm exec vm1 -- /nonexistent/prog arg
like "  saying so" "$T_ERR" "ember-vm: *unable to run '/nonexistent/prog': No such file or directory*"
check "  -j prints no document" 1 "" ember-vm -j exec vm1 -- /nonexistent/prog

## what the command gets
check "stdout and stderr apart" 0 "out" ember-vm exec vm1 -- sh -c 'echo out; echo err >&2'
is "  stderr to stderr" "$T_ERR" "err"
check "everything after -- is the guest's" 0 "-j --timeout x -- -i" ember-vm exec vm1 -- echo -j --timeout x -- -i
check "--env and --cwd" 0 "bar baz $T_TMP" \
	ember-vm exec vm1 --env FOO=bar --env QUX=baz --cwd "$T_TMP" -- sh -c 'echo "$FOO $QUX $(pwd)"'
check "a missing --cwd: an error" 1 "" ember-vm exec vm1 --cwd /nonexistent -- true
like "  naming it" "$T_ERR" "*/nonexistent*"
check "--env without '=': 100" 100 "" ember-vm exec vm1 --env FOO -- true
check "no command: 100" 100 "" ember-vm exec vm1
check "no stdin without -i" 0 "0" ember-vm exec vm1 -- sh -c 'wc -c'
head -c 8M /dev/urandom >"$T_TMP/in.bin"
want=$(sha256sum <"$T_TMP/in.bin" | cut -d' ' -f1)
is "-i: 8 MiB of random bytes round-tripped byte-exact" \
	"$(ember-vm exec vm1 -i -- cat <"$T_TMP/in.bin" | sha256sum | cut -d' ' -f1)" "$want"
is "--stdin: the same" "$(ember-vm exec vm1 --stdin -- sha256sum <"$T_TMP/in.bin" | cut -d' ' -f1)" "$want"

## 256 MiB of output, in bounded memory on both sides
/usr/bin/time -v -o "$T_TMP/time" ember-vm exec vm1 -- \
	sh -c 'head -c 268435456 /dev/zero; s=$(awk "/^PPid/ {print \$2}" /proc/self/status)
		a=$(awk "/^PPid/ {print \$2}" /proc/$s/status); grep VmHWM /proc/$a/status >&2
		grep VmHWM /proc/$(awk "/^PPid/ {print \$2}" /proc/$a/status)/status >&2' >"$T_TMP/count.out" 2>"$T_TMP/hwm" &&
	wc -c <"$T_TMP/count.out" >"$T_TMP/count"
is "256 MiB streamed whole" "$(cat "$T_TMP/count")" 268435456
host_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T_TMP/time")
agent_kb=$(awk '/VmHWM/ {print $2}' "$T_TMP/hwm" | sed -n 1p)
main_kb=$(awk '/VmHWM/ {print $2}' "$T_TMP/hwm" | sed -n 2p)
under_64m "  ember-vm's peak memory under 64 MiB (${host_kb:-?} kB)" "$host_kb"
under_64m "  the agent's (its connection's process) under 64 MiB (${agent_kb:-?} kB)" "$agent_kb"
under_64m "  the agent's listening process under 64 MiB (${main_kb:-?} kB)" "$main_kb"

## timeouts, groups, leftovers
check "--timeout: 124, the whole group killed though it ignores SIGTERM" 124 "" \
	ember-vm exec vm1 --timeout 0.5 -- sh -c 'echo $$ >'"$T_TMP/pg1"'; trap "" TERM; (sleep 60; :) & sleep 60; :'
# the guest has a pid namespace of its own: its groups are looked at from inside
group_gone() { ember-vm exec vm1 -- sh -c "! kill -0 -- -$1 2>/dev/null"; }
ok "  no process of its group is left" wait_until "group_gone $(cat "$T_TMP/pg1")"
check "  -j: timed_out" 124 "*" ember-vm -j exec vm1 --timeout 0.2 -- sleep 60
like "  -j: the document" "$T_OUT" '{"exit_code":null,"signal":*,"timed_out":true,*}'
start=$(date +%s%N)
check "a background grandchild holding the pipes: exec returns" 0 "" \
	ember-vm exec vm1 -- sh -c 'echo $$ >'"$T_TMP/pg2"'; sleep 60 &'
ms=$((($(date +%s%N) - start) / 1000000))
ok "  at once, not after the grandchild's 60 s (${ms} ms; the agent lingers 500 ms)" test "$ms" -lt 10000
ember-vm exec vm1 -- kill -- -"$(cat "$T_TMP/pg2")" 2>/dev/null

## 32 at once
for i in $(seq 32); do
	(ember-vm exec vm1 -- sh -c "echo $i; exit $((i % 5))" >"$T_TMP/c.$i" 2>&1; echo $? >"$T_TMP/rc.$i") &
done
wait
bad=0
for i in $(seq 32); do
	[ "$(cat "$T_TMP/c.$i")" = "$i" ] && [ "$(cat "$T_TMP/rc.$i")" = $((i % 5)) ] || bad=$((bad + 1))
done
is "32 concurrent execs: each its own output and status" "$bad" 0

## the host goes away mid-exec
ember-vm exec vm1 -- sh -c 'echo $$ >'"$T_TMP/pg3"'; sleep 60 & exec sleep 60' >/dev/null 2>&1 &
host=$!
ok "a command is running" wait_until "[ -s '$T_TMP/pg3' ]"
ok "  its group exists" ember-vm exec vm1 -- kill -0 -- -"$(cat "$T_TMP/pg3")"
kill -9 "$host"
wait "$host" 2>/dev/null
ok "ember-vm killed mid-exec: the guest's process group is gone" wait_until "group_gone $(cat "$T_TMP/pg3")"
check "  and the agent serves on" 0 "" ember-vm exec vm1 -- true

## wait for an agent that comes late
export EMBER_STANDIN_GUEST="while [ ! -e '$T_TMP/go' ]; do sleep 0.05; done; $AGENT"
ember-vm -q create late --kernel "$KERNEL" --no-rootfs --no-net --cid 4
check "start without --wait: at once" 0 "*" ember-vm start late
check "wait --timeout 1 while nothing listens: 111" 111 "" ember-vm wait late --timeout 1
like "  saying the agent did not answer, and how long it waited" "$T_ERR" \
	"ember-vm: the agent did not answer on '*/vms/late/vsock.sock' port 1024: waited [0-9]*.[0-9] s*"
check "ping: 111 as well" 111 "" ember-vm ping late
(sleep 3; touch "$T_TMP/go") &
check "the agent starting 3 s later: wait --timeout 10 succeeds" 0 "*" ember-vm wait late --timeout 10
like "  printing its ping" "$T_OUT" "late * 1 *"
rm -f "$T_TMP/go"
ember-vm -q stop late --force
check "start --wait 1 of a guest whose agent never comes: 111" 111 "" ember-vm start late --wait 1
like "  saying so" "$T_ERR" "ember-vm: the agent did not answer*waited [0-9]*.[0-9] s*"
check "  the VM is left running" 0 "*" ember-vm show late
like "  show says so" "$T_OUT" "*state running*"
ember-vm -q stop late --force
export EMBER_STANDIN_GUEST=$AGENT

## VMs the agent cannot be reached in
ember-vm -q create novs --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
ember-vm -q start novs
check "a VM without vsock: 100" 100 "" ember-vm exec novs -- true
like "  a clear message" "$T_ERR" "ember-vm: VM 'novs' has no vsock*"
check "  ping: 100" 100 "" ember-vm ping novs
check "  wait: 100" 100 "" ember-vm wait novs --timeout 1
check "  start --wait: 100" 100 "*" ember-vm start novs --wait 1
ember-vm -q create idle --kernel "$KERNEL" --no-rootfs --no-net --cid 5
check "a VM that is not running: 102" 102 "" ember-vm exec idle -- true
like "  saying so" "$T_ERR" "ember-vm: VM 'idle' is not running (state created)*"
check "no such VM: 1" 1 "" ember-vm exec nosuch -- true
like "  saying so" "$T_ERR" "ember-vm: no VM 'nosuch'*"
check "a bad name: 100" 100 "" ember-vm ping Bad.Name
check "--stdin is exec's" 100 "" ember-vm ping vm1 --stdin

done_testing
