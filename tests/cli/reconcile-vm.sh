#!/usr/bin/env bash
# ember-reconcile, phase 1: VMs recorded running whose Firecracker (the
# stand-in) is gone are marked stopped and their runtime torn down; a live
# Firecracker on this installation's socket that no running record owns is
# killed; a pid reused by an unrelated process is never signalled. In a
# network namespace of this file's own, beside a second installation.
#
# The records are written as lib/vm.c writes them (its table, its columns)
# and the stand-in is spawned as ember-vm start spawns it, with the
# handles.json start writes right after the spawn: what a start leaves
# behind, whether or not the ember-vm applet is built on this branch.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
command -v iptables-save >/dev/null || skip_all "iptables not found"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not found"
STANDIN=${BUILD:-$T_TOP/build}/standin/firecracker
case $STANDIN in /*) ;; *) STANDIN=$T_TOP/$STANDIN ;; esac
[ -x "$STANDIN" ] || skip_all "no stand-in at $STANDIN (make standin)"

. "$T_TOP/tests/reconcile-helpers"
uplink

# start_time PID: field 22 of /proc/PID/stat (after the command's ')').
start_time() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }
PIDS=()
at_exit 'for p in "${PIDS[@]}"; do kill -9 "$p"; done'

# net OWNER: the runtime ember-up gives a VM: address, TAP, CID, rules.
# Sets G (guest), H (host/prefix), TAPN, CID.
net() {
	local p rest
	read -r _ G h p rest < <(ember-ipalloc alloc "$1") || return 1
	H=$h/$p
	read -r _ TAPN rest < <(ember-tap create "$1" --address "$H") || return 1
	read -r _ CID < <(ember-cidalloc alloc "$1") || return 1
	ember-nat up "$1" --guest-ip "$G" --tap "$TAPN" >/dev/null
}
# record NAME STATE [TAP GUEST HOST CID]: NAME's record as ember-vm create
# and start leave it.
record() {
	local d=$EMBER_STATE_DIR/vms/$1
	sqlite3 "$EMBER_STATE_DIR/state.db" "
CREATE TABLE IF NOT EXISTS schema_version (subsystem TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT;
INSERT OR IGNORE INTO schema_version VALUES ('vm', 1);
CREATE TABLE IF NOT EXISTS vms (name TEXT PRIMARY KEY, kernel TEXT NOT NULL, initrd TEXT, rootfs TEXT, read_only INTEGER NOT NULL, boot_args TEXT NOT NULL, vcpus INTEGER NOT NULL, memory INTEGER NOT NULL, drives TEXT NOT NULL, tap TEXT, mac TEXT, guest_ip TEXT, host_ip TEXT, mtu INTEGER, cid INTEGER, api_sock TEXT NOT NULL, vsock_uds TEXT, state TEXT NOT NULL CHECK (state IN ('created', 'starting', 'running', 'stopped', 'failed')), reason TEXT, started INTEGER, created INTEGER NOT NULL) STRICT;
INSERT INTO vms VALUES ('$1', '$T_TMP/vmlinux', NULL, NULL, 0, 'console=ttyS0', 1, 128, '[]', $(q "${3:-}"), $(q "${3:+06:00:0a:00:00:02}"), $(q "${4:-}"), $(q "${5:-}"), NULL, ${6:-NULL}, '$d/firecracker.sock', '$d/vsock.sock', '$2', NULL, strftime('%s'), strftime('%s'));"
}
q() { if [ -n "$1" ]; then echo "'$1'"; else echo NULL; fi; }
# spawn NAME: the stand-in as ember-vm start spawns it, and its handles.json.
spawn() {
	local d=$EMBER_STATE_DIR/vms/$1 i
	mkdir -p "$d"
	"$STANDIN" --api-sock "$d/firecracker.sock" --id "$1" </dev/null >>"$d/console.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	for ((i = 0; i < 500; i++)); do [ -S "$d/firecracker.sock" ] && break; sleep 0.01; done
	handles "$1" "$PID" "$(start_time "$PID")"
}
handles() {
	printf '{"pid":%s,"start_time":"%s","api_sock":"%s","vsock_uds":null}' "$2" "$3" \
		"$EMBER_STATE_DIR/vms/$1/firecracker.sock" >"$EMBER_STATE_DIR/vms/$1/handles.json"
}
alive() { kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
state() { sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT state || '|' || coalesce(reason, '') FROM vms WHERE name = '$1'"; }

two_installs
: >"$T_TMP/vmlinux"
# the other installation: a running VM and a Firecracker of its own
net vm1
record vm1 running "$TAPN" "$G" "$H" "$CID"
spawn vm1
PB=$PID
spawn stray
PB2=$PID
export EMBER_STATE_DIR=$SA

## a running VM: nothing to do but the hosts file
net vm1
T1=$TAPN G1=$G
record vm1 running "$TAPN" "$G" "$H" "$CID"
spawn vm1
P1=$PID
check "a running VM: its hosts line is written" 0 "hosts - $SA/hosts rewrite ok" ember-reconcile --grace 0
is "the hosts file" "$(cat "$SA/hosts")" "$G1 vm1"
B_before=$(mine "$SB" $B)
before=$(snapshot)
check "then a pass does nothing" 0 "" ember-reconcile --grace 0
is "and changes nothing: links, rules, database, files" "$(snapshot)" "$before"
ok "the Firecracker runs on" alive "$P1"

## its Firecracker killed behind ember's back
kill -9 "$P1"
wait "$P1" 2>/dev/null
plan="tap vm1 $T1 teardown planned
nat vm1 - teardown planned
vm vm1 process-exited mark-stopped planned
hosts - $SA/hosts rewrite planned"
check "show-plan: the runtime torn down, the VM marked stopped" 0 "$plan" ember-reconcile show-plan
before=$(snapshot)
check "--dry-run: the same" 0 "$plan" ember-reconcile --dry-run
is "and nothing changed" "$(snapshot)" "$before"
check "the pass does what the plan said" 0 "${plan// planned/ ok}" ember-reconcile
is "the VM is stopped with the reason" "$(state vm1)" "stopped|process exited"
ok "its TAP is gone" test -z "$(ip link show "$T1" 2>/dev/null)"
is "its rules are gone" "$(iptables-save | grep -c "ember:$A:vm1\"")" 0
is "its address and CID are still held" "$(ember-ipalloc show vm1 | cut -d' ' -f2) $(ember-cidalloc show vm1 | cut -d' ' -f2)" "$G1 $CID"
ok "its API socket and handles are gone" test ! -e "$SA/vms/vm1/firecracker.sock" -a ! -e "$SA/vms/vm1/handles.json"
ok "its directory stays (the record does)" test -f "$SA/vms/vm1/console.log"
is "the hosts file has no line for it" "$(cat "$SA/hosts")" ""
after=$(snapshot)
check "the next pass does nothing" 0 "" ember-reconcile --grace 0
is "and changes nothing" "$(snapshot)" "$after"
if ember-vm list >/dev/null 2>&1; then
	ember-tap create vm1 --address "$H" >/dev/null
	check "ember-vm start brings it back" 0 "*" env PATH="$(dirname "$STANDIN"):$PATH" ember-vm start vm1
	is "running" "$(state vm1 | cut -d'|' -f1)" running
	ember-vm stop --force vm1 >/dev/null
	ember-tap delete vm1 >/dev/null
else
	skip "ember-vm start brings it back" "the ember-vm applet is not built on this branch yet"
fi

## a pid reused by an unrelated process
sleep 1000 &
PS=$!
PIDS+=("$PS")
record vm2 running
mkdir -p "$SA/vms/vm2"
handles vm2 "$PS" $(($(start_time "$PS") + 1))
check "handles that name an unrelated live process: marked stopped" 0 "vm vm2 pid-reused mark-stopped ok" ember-reconcile
ok "that process is never signalled" alive "$PS"
is "the reason" "$(state vm2)" "stopped|pid reused"
record vm3 running
mkdir -p "$SA/vms/vm3"
handles vm3 "$PS" "$(start_time "$PS")"
check "the right start time but not the VM's socket: the same" 0 "vm vm3 pid-reused mark-stopped ok" ember-reconcile
ok "that process survives again" alive "$PS"
record vm4 starting
check "no handles and no process" 0 "vm vm4 no-handles-and-no-process mark-stopped ok" ember-reconcile
is "the reason" "$(state vm4)" "stopped|no handles and no process"

## Firecrackers that no running record owns
spawn orphan
PO=$PID
spawn vm5
P5=$PID
record vm5 stopped
record vm6 failed
spawn vm6
P6=$PID
rm "$SA/vms/vm6/handles.json"
check "killed: no record, and records stopped or failed" 0 "firecracker orphan pid:$PO kill ok
firecracker vm5 pid:$P5 kill ok
firecracker vm6 pid:$P6 kill ok" ember-reconcile
ok "the orphan is gone" test ! -e "/proc/$PO" -o "$(alive "$PO" && echo y)" = ""
ok "and vm5's and vm6's" test "$(alive "$P5" && echo y)$(alive "$P6" && echo y)" = ""
ok "their sockets are removed" test ! -e "$SA/vms/orphan/firecracker.sock" -a ! -e "$SA/vms/vm5/firecracker.sock" -a ! -e "$SA/vms/vm6/firecracker.sock"
is "the records say what they said" "$(state vm5) $(state vm6)" "stopped| failed|"
check "the orphan's directory goes after the grace" 0 "vmdir orphan $SA/vms/orphan remove ok" ember-reconcile --grace 0
is "the other installation: links, rules, database and files byte for byte" "$(mine "$SB" $B)" "$B_before"
ok "and its Firecrackers run on" alive "$PB"
ok "both" alive "$PB2"

## a start killed right after the spawn
if ember-vm list >/dev/null 2>&1; then
	record vm9 created
	(EMBER_TEST_CRASH=vm-spawned PATH="$(dirname "$STANDIN"):$PATH" ember-vm start vm9) >/dev/null 2>&1
	is "the start is killed after the spawn" "$?" 137
	P9=$(pgrep -f -- "--api-sock $SA/vms/vm9/firecracker.sock" | head -1)
	PIDS+=("$P9")
	ok "its Firecracker lives on" alive "$P9"
	check "the pass kills it and, in the same pass, marks the VM stopped" 0 "firecracker vm9 pid:$P9 kill ok
vm vm9 no-handles-and-no-process mark-stopped ok" ember-reconcile
	ok "it is gone" test "$(alive "$P9" && echo y)" = ""
	check "and the one after is empty" 0 "" ember-reconcile
else
	skip "a start killed right after the spawn" "the ember-vm applet is not built on this branch"
fi

## killed half-way: the next pass finishes
spawn orphan2
PO=$PID
check "killed after the kill, before the sockets go" '*' "" env EMBER_TEST_CRASH=reconcile-firecracker-killed ember-reconcile
is "by SIGKILL" "$T_RC" 137
ok "the process is gone" test "$(alive "$PO" && echo y)" = ""
check "the next pass removes what it left" 0 "vmdir orphan2 $SA/vms/orphan2 remove ok" ember-reconcile --grace 0
net vm7
record vm7 running "$TAPN" "$G" "$H" "$CID"
spawn vm7
P7=$PID
ember-reconcile >/dev/null
kill -9 "$P7"
wait "$P7" 2>/dev/null
check "killed after the clean-up, before the record says stopped" '*' "" env EMBER_TEST_CRASH=reconcile-vm-cleaned ember-reconcile
is "by SIGKILL" "$T_RC" 137
is "still recorded running" "$(state vm7)" "running|"
check "the next pass marks it stopped" 0 "vm vm7 no-handles-and-no-process mark-stopped ok
hosts - $SA/hosts rewrite ok" ember-reconcile
check "and the one after is empty" 0 "" ember-reconcile

## after a reboot: every VM marked stopped, nothing recreated
for v in r1 r2; do
	net $v
	record $v running "$TAPN" "$G" "$H" "$CID"
	spawn $v
done
ember-reconcile >/dev/null
for p in "${PIDS[@]}"; do [ "$p" = "$PB" ] || [ "$p" = "$PB2" ] || [ "$p" = "$PS" ] || kill -9 "$p" 2>/dev/null; done
for v in r1 r2; do ip link del "$(tapname $A $v)"; done
iptables-save | grep -v "ember:$A:r" | iptables-restore
check "the first pass marks them stopped" 0 "*" ember-reconcile
like "and says so" "$T_OUT" "*vm r1 process-exited mark-stopped ok*vm r2 process-exited mark-stopped ok*"
is "both stopped" "$(state r1) $(state r2)" "stopped|process exited stopped|process exited"
ok "no TAP of theirs was made" test -z "$(ip -o link show | grep -E "$(tapname $A r1)|$(tapname $A r2)")"
check "the next pass is empty" 0 "" ember-reconcile

echo "1..$T_N"
[ "$T_FAILED" = 0 ]
