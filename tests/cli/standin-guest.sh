#!/usr/bin/env bash
# The stand-in's guest without a CPU, for real: ember-tap's TAP joined frame
# by frame to the guest's eth0 (ping and TCP from the host), the guest
# command, and hybrid vsock both ways.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v curl >/dev/null || skip_all "curl not found"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"

case ${BUILD:-build} in /*) STANDIN=$BUILD/standin/firecracker ;; *) STANDIN=$T_TOP/${BUILD:-build}/standin/firecracker ;; esac
[ -x "$STANDIN" ] || skip_all "no stand-in at $STANDIN (make standin)"
WIRE=$T_TOP/tests/firecracker/wire
PY=/usr/bin/python3

api() { curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X "$1" "http://localhost$2" -d "$3"; }
stop() { kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# until_ok CMD...: poll (bounded: 10 s in all) until CMD succeeds.
until_ok() {
	local end=$((SECONDS + 10))
	while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.02; done
	return 1
}
# guest_cmd PID: the guest command's pid on the host: the stand-in's child,
# its init (PID 1 of the guest's PID namespace), then the command.
guest_cmd() { pgrep -P "$(pgrep -P "$(pgrep -P "$1")")"; }

ember-init init -q
check "ember-tap makes the host's TAP" 0 "*" ember-tap create vm1 --address 172.16.0.1/30
TAP=$(awk '{print $2}' <<<"$T_OUT")
like "with carrier off while nobody holds it" "$(ip link show dev "$TAP")" "*NO-CARRIER*"

KERNEL=$T_TMP/vmlinux DISK=$T_TMP/rootfs
head -c 4096 /dev/zero >"$KERNEL"
head -c 4096 /dev/zero >"$DISK"
VSOCK=$T_TMP/v.sock
SOCK=$T_TMP/api.sock
GUEST="echo \"\$EMBER_STANDIN_VSOCK_DIR\" >$T_TMP/vsockdir; cat /proc/1/comm >$T_TMP/guestinit; $PY $WIRE tcp-echo 172.16.0.2 7000 >/dev/null & exec $PY $WIRE echo \"\$EMBER_STANDIN_VSOCK_DIR/5\""
EMBER_STANDIN_GUEST=$GUEST "$STANDIN" --api-sock "$SOCK" --id g1 >"$T_TMP/g1.log" 2>&1 &
PID=$!
at_exit "stop $PID"
ok "the stand-in is up" until_ok test -S "$SOCK"
is "boot source" "$(api PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\",\"boot_args\":\"console=ttyS0 reboot=k panic=1 ip=172.16.0.2::172.16.0.1:255.255.255.252::eth0:off\"}")" 204
is "root drive" "$(api PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"is_root_device\":true,\"path_on_host\":\"$DISK\"}")" 204
is "the TAP" "$(api PUT /network-interfaces/eth0 "{\"iface_id\":\"eth0\",\"host_dev_name\":\"$TAP\",\"guest_mac\":\"06:00:ac:10:00:02\"}")" 204
like "ip -d link show: the TAP has carrier, a process holds it" "$(ip -d link show dev "$TAP")" "*LOWER_UP*"
is "vsock" "$(api PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$VSOCK\"}")" 204
is "InstanceStart" "$(api PUT /actions '{"action_type":"InstanceStart"}')" 204
until_ok guest_cmd "$PID"
GPID=$(guest_cmd "$PID")
ok "the guest command runs" test -n "$GPID"
ok "in a PID namespace of its own" test "$(readlink /proc/"$GPID"/ns/pid)" != "$(readlink /proc/self/ns/pid)"
until_ok test -s "$T_TMP/guestinit"
is "whose /proc it sees: its PID 1 is the stand-in's small init" "$(cat "$T_TMP/guestinit")" firecracker
gns() { nsenter -t "$GPID" -n "$@"; }
ok "in a network namespace of its own" test "$(readlink /proc/"$GPID"/ns/net)" != "$(readlink /proc/self/ns/net)"
like "whose eth0 has the guest MAC" "$(gns ip link show dev eth0)" "*link/ether 06:00:ac:10:00:02 *"
is "and the ip= address and netmask" "$(gns ip -o -4 addr show dev eth0 | awk '{print $4}')" "172.16.0.2/30"
is "and the gateway" "$(gns ip route show default)" "default via 172.16.0.1 dev eth0 "
ok "the host pings the guest through the TAP" ping -c 1 -W 5 172.16.0.2
tcp_up() { [ "$($PY "$WIRE" tcp 172.16.0.2 7000 ping 2>/dev/null)" = ping ]; }
ok "a TCP connection from the host reaches the guest's server and back" until_ok tcp_up
like "the guest's ARP entry for the host: frames went both ways" "$(gns ip neigh show 172.16.0.1)" "172.16.0.1 dev eth0 lladdr *"

## hybrid vsock, host-initiated
until_ok test -S "$(cat "$T_TMP/vsockdir")/5"
VDIR=$(cat "$T_TMP/vsockdir")
ok "EMBER_STANDIN_VSOCK_DIR is set for the guest, and it listens there" test -S "$VDIR/5"
check "CONNECT 5: OK with the first local port, then the guest's echo" 0 "OK 1073741825
hello" $PY "$WIRE" connect "$VSOCK" 'CONNECT 5\n' 'hello'
check "lowercase connect works, the port counts up" 0 "OK 1073741826
world" $PY "$WIRE" connect "$VSOCK" 'connect 5\n' 'world'
check "bytes after the line in the same write go to the guest" 0 "OK 1073741827
early" $PY "$WIRE" connect "$VSOCK" 'CONNECT 5\nearly'
check "a port nobody listens on: closed, no bytes" 0 "" $PY "$WIRE" connect "$VSOCK" 'CONNECT 6\n' 'lost'
check "a half-written line (9 bytes, less than read_exact's 10): dropped" 0 "EOF after 0 bytes" $PY "$WIRE" half "$VSOCK" 'CONNECT 5'
check "10 bytes without the end of line: dropped as Firecracker drops it" 0 "EOF after 0 bytes" $PY "$WIRE" half "$VSOCK" 'CONNECT 10'
check "another keyword: dropped" 0 "" $PY "$WIRE" connect "$VSOCK" 'CONNECTX 5\n'
check "a line past 32 bytes: 32 read, the port no u32, dropped" 0 "" $PY "$WIRE" connect "$VSOCK" 'CONNECT 123456789012345678901234\n'
check "after all that, a good one still works (CONNECT 6 used up 1073741828: the muxer allocates the port before the guest answers)" 0 "OK 1073741829
again" $PY "$WIRE" connect "$VSOCK" 'CONNECT 5\n' 'again'

## hybrid vsock, guest-initiated: <uds_path>_<port>
$PY "$WIRE" once "${VSOCK}_52" >"$T_TMP/host52" &
HPID=$!
until_ok test -S "${VSOCK}_52"
check "the guest reaches host port 52 through \$EMBER_STANDIN_VSOCK_DIR/host" 0 "OK 52
pong" $PY "$WIRE" guest "$VDIR/host" 52 ping
wait "$HPID"
is "and the host's listener at <uds_path>_52 read the guest's bytes" "$(cat "$T_TMP/host52")" "ping"
check "no host listener on the port: closed, no bytes (the guest's RST)" 0 "" $PY "$WIRE" guest "$VDIR/host" 53 ping

## the guest stops with the VM
is "SendCtrlAltDel" "$(api PUT /actions '{"action_type":"SendCtrlAltDel"}')" 204
ok "the stand-in exits" until_ok bash -c "! kill -0 $PID"
wait "$PID"
is "with 0" "$?" 0
ok "and the guest command is gone with it" until_ok bash -c "! kill -0 $GPID"
ok "the vsock socket stays" test -S "$VSOCK"
like "the TAP stays (ember's), without carrier again" "$(ip link show dev "$TAP")" "*NO-CARRIER*"

## a guest dies with its VMM, however the VMM dies
SOCK=$T_TMP/api2.sock
EMBER_STANDIN_GUEST="sleep 1000 & exec sleep 1001" "$STANDIN" --api-sock "$SOCK" --id g2 >"$T_TMP/g2.log" 2>&1 &
PID=$!
at_exit "stop $PID"
until_ok test -S "$SOCK"
api PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\"}" >/dev/null
is "a guest without a network starts too" "$(api PUT /actions '{"action_type":"InstanceStart"}')" 204
until_ok guest_cmd "$PID"
GPID=$(guest_cmd "$PID")
ok "its command runs" test -n "$GPID"
BG=$(pgrep -P "$GPID")
ok "and what it started in the background" test -n "$BG"
stop "$PID"
ok "SIGKILL of the stand-in takes the guest command with it" until_ok bash -c "! kill -0 $GPID"
ok "and everything else in the guest" until_ok bash -c "! kill -0 $BG"

sanitizer_quiet() { ! grep -l 'Sanitizer\|runtime error' "$T_TMP"/*.log; }
ok "no sanitizer report in any stand-in's log" sanitizer_quiet

done_testing
