#!/usr/bin/env bash
# ember-vm under concurrency: 8 starts of one VM at once (one Firecracker),
# 16 VMs started in parallel and stopped together, two installations with a
# VM of the same name, and reading verbs that never wait for a VM's lock.
# Workers are released together by a FIFO barrier; no timing is assumed.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/vm.lib"

ember-init init -q --instance-id c001
S=$(sdir)
mkfifo "$T_TMP/ready" "$T_TMP/go"
exec 3<>"$T_TMP/ready" 4<>"$T_TMP/go"
# together N CMD...: run CMD N times at once (each after the barrier), the
# Ith one's stdout in $T_TMP/out.I, its exit code in $T_TMP/rc.I
together() {
	local n=$1 i
	shift
	rm -f "$T_TMP"/out.* "$T_TMP"/rc.*
	for ((i = 1; i <= n; i++)); do
		(
			echo "$i" >"$T_TMP/ready"
			read -r _ <"$T_TMP/go"
			"${@//@I@/$i}" >"$T_TMP/out.$i" 2>>"$T_TMP/err"
			echo $? >"$T_TMP/rc.$i"
		) &
	done
	for ((i = 1; i <= n; i++)); do read -r _ <&3; done
	for ((i = 1; i <= n; i++)); do echo go >&4; done
	wait
}

## 8 concurrent starts of one VM
ember-vm -q create one --kernel "$KERNEL" --rootfs "$ROOTFS" --no-net --no-vsock
together 8 ember-vm start one
is "8 concurrent starts: all succeed" "$(cat "$T_TMP"/rc.* | sort -u)" 0
is "  one Firecracker process" "$(count_fc one)" 1
pid=$(fc_pids one)
is "  every one prints that process, running" "$(cat "$T_TMP"/out.* | sort -u)" "one running yes $pid 1 128 - - - $ROOTFS -"
ember-vm -q stop --force one

## 16 VMs in parallel
for ((i = 1; i <= 16; i++)); do
	ember-vm -q create "p$i" --kernel "$KERNEL" --rootfs "$ROOTFS" --no-net --cid $((100 + i))
done
together 16 ember-vm start p@I@
is "16 starts in parallel: all succeed" "$(cat "$T_TMP"/rc.* | sort -u)" 0
n=0 socks=()
for ((i = 1; i <= 16; i++)); do
	n=$((n + $(count_fc "p$i")))
	socks+=("$(ember-vm -j show "p$i" | sed 's/.*"api_sock":"\([^"]*\)".*/\1/')")
done
is "  16 processes" "$n" 16
is "  16 distinct sockets" "$(printf '%s\n' "${socks[@]}" | sort -u | wc -l)" 16
is "  all alive" "$(ember-vm list --state running | awk '$3 == "yes"' | wc -l)" 16

## reading verbs never wait for a VM's lock
exec 5>"$S/locks/vm.p1"
flock -x 5
check "show while p1's lock is held elsewhere" 0 "*" timeout 10 ember-vm show p1
like "  answers" "$T_OUT" "name p1*alive yes*"
check "list too" 0 "*" timeout 10 ember-vm list
check "hosts too" 0 "" timeout 10 ember-vm hosts
exec 5>&-

check "stop --all stops them all at once" 0 "*" ember-vm stop --all
is "  one line per VM" "$(echo "$T_OUT" | grep -c ' stopped no - ')" 16
n=0
for ((i = 1; i <= 16; i++)); do nothing_left "p$i" && n=$((n + 1)); done
is "  nothing left of any" "$n" 16
check "stop --all of nothing running: 0, no line" 0 "" ember-vm stop --all

## two installations, a VM of the same name in each
A=$EMBER_STATE_DIR
new_state
B=$EMBER_STATE_DIR
ember-init init -q --instance-id c002
for d in "$A" "$B"; do
	EMBER_STATE_DIR=$d ember-vm -q create twin --kernel "$KERNEL" --rootfs "$ROOTFS" --no-net --cid 200
	EMBER_STATE_DIR=$d ember-vm -q start twin
done
pa=$(EMBER_STATE_DIR=$A fc_pids twin) pb=$(EMBER_STATE_DIR=$B fc_pids twin)
ok "two installations: two processes" test -n "$pa" -a -n "$pb" -a "$pa" != "$pb"
ok "  two sockets" test -S "$(realpath "$A")/vms/twin/firecracker.sock" -a -S "$(realpath "$B")/vms/twin/firecracker.sock"
check "stop --all in one" 0 "*" env EMBER_STATE_DIR="$A" ember-vm stop --all --force
ok "  stops its own" gone "$pa"
ok "  leaves the other's running" alive "$pb"
check "  which still answers" 0 "*" env EMBER_STATE_DIR="$B" ember-vm show twin
like "  " "$T_OUT" "*alive yes*fc_state Running*"
EMBER_STATE_DIR=$A ember-vm -q start twin
pa=$(EMBER_STATE_DIR=$A fc_pids twin)
check "delete --all --force in one" 0 "*" env EMBER_STATE_DIR="$A" ember-vm delete --all --force
ok "  removes its own" gone "$pa"
ok "  leaves the other's process" alive "$pb"
ok "  and its files" test -S "$(realpath "$B")/vms/twin/firecracker.sock" -a -s "$(realpath "$B")/vms/twin/handles.json"
check "  and its record" 0 "twin running yes $pb 1 128 - - 200 $ROOTFS -" env EMBER_STATE_DIR="$B" ember-vm list
EMBER_STATE_DIR=$B ember-vm -q stop twin

done_testing
