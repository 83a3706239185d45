#!/usr/bin/env bash
# ember-vm against the Firecracker stand-in: every verb plain and -j, exit
# codes, idempotence, the exact requests Firecracker receives, and bad input
# refused with nothing recorded or spawned.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/vm.lib"

ember-init init -q --instance-id a001
S=$(sdir)
tap_up tap1 10.0.0.1/30
rows() { sqlite3 "$S/state.db" "SELECT count(*) FROM vms" 2>/dev/null || echo 0; }

## the common options
check "--help" 0 "*" ember-vm --help
like "  every verb, every option, the exit codes" "$T_OUT" "usage: ember-vm *create NAME*--kernel PATH*start NAME*stop*delete*list*show NAME*hosts*--drive ID=PATH*--timeout S*exit codes:*111*"
check "--version" 0 "ember-vm $("$EMBER" --version | cut -d' ' -f2)" ember-vm --version
check "an unknown option: 100" 100 "" ember-vm --bogus
check "a verb without its NAME: 100" 100 "" ember-vm show

## create
line="vm1 created no - 2 256 tap1 10.0.0.2 7 $ROOTFS -"
check "create prints the record" 0 "$line" \
	ember-vm create vm1 --kernel "$KERNEL" --rootfs "$ROOTFS" --vcpus 2 --memory 256 \
	--tap tap1 --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30 --cid 7 --drive "data=$ROOTFS:ro"
check "the same again: 0 and the record" 0 "$line" \
	ember-vm create vm1 --kernel "$KERNEL" --rootfs "$ROOTFS" --vcpus 2 --memory 256 \
	--tap tap1 --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30 --cid 7 --drive "data=$ROOTFS:ro"
check "other parameters: 102" 102 "" \
	ember-vm create vm1 --kernel "$KERNEL" --rootfs "$ROOTFS" --vcpus 4 --memory 256 \
	--tap tap1 --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30 --cid 7 --drive "data=$ROOTFS:ro"
like "  saying so" "$T_ERR" "ember-vm: VM 'vm1' exists with other parameters"
check "create -j" 0 '{"name":"vm2","state":"created","alive":false,"pid":null,"vcpus":1,"memory":128,"tap":null,"guest_ip":null,"cid":null,"rootfs":null,"reason":null}' \
	ember-vm -j create vm2 --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
ok "nothing runs after create" nothing_left vm1

## start: the exact requests
export EMBER_STANDIN_TRANSCRIPT=$T_TMP/transcript
check "start prints the running record" 0 "*" \
	ember-vm start vm1
like "  start prints the running record: its output" "$T_OUT" "vm1 running yes * 2 256 tap1 10.0.0.2 7 $ROOTFS -"
like "  with the pid" "$T_OUT" "vm1 running yes [0-9]* *"
unset EMBER_STANDIN_TRANSCRIPT
cat >"$T_TMP/want" <<EOF
GET / - -> 200
PUT /logger {"log_path":"$S/vms/vm1/firecracker.log","level":"Info"} -> 204
PUT /machine-config {"vcpu_count":2,"mem_size_mib":256} -> 204
PUT /boot-source {"kernel_image_path":"$KERNEL","boot_args":"console=ttyS0 reboot=k panic=1 pci=off ip=10.0.0.2::10.0.0.1:255.255.255.252:vm1:eth0:off"} -> 204
PUT /drives/rootfs {"drive_id":"rootfs","path_on_host":"$ROOTFS","is_root_device":true,"is_read_only":false} -> 204
PUT /drives/data {"drive_id":"data","path_on_host":"$ROOTFS","is_root_device":false,"is_read_only":true} -> 204
PUT /network-interfaces/eth0 {"iface_id":"eth0","host_dev_name":"tap1","guest_mac":"06:00:0a:00:00:02"} -> 204
PUT /vsock {"guest_cid":7,"uds_path":"$S/vms/vm1/vsock.sock"} -> 204
PUT /actions {"action_type":"InstanceStart"} -> 204
EOF
is "Firecracker received exactly the configuration, in order" "$(cat "$T_TMP/transcript")" "$(cat "$T_TMP/want")"
pid=$(fc_pids vm1)
is "one Firecracker process for vm1" "$(count_fc vm1)" 1
is "  its command line" "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "firecracker --api-sock $S/vms/vm1/firecracker.sock --id vm1 "
is "  in a session of its own" "$(ps -o sid= -p "$pid" | tr -d ' ')" "$pid"
is "  with only stdin, stdout, stderr of ours" "$(readlink /proc/"$pid"/fd/0 /proc/"$pid"/fd/1 /proc/"$pid"/fd/2)" \
	"/dev/null
$S/vms/vm1/console.log
$S/vms/vm1/console.log"
is "handles.json says pid, start time, sockets" "$(cat "$S/vms/vm1/handles.json")" \
	"{\"pid\":$pid,\"start_time\":\"$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f20)\",\"api_sock\":\"$S/vms/vm1/firecracker.sock\",\"vsock_uds\":\"$S/vms/vm1/vsock.sock\"}"
check "start of a running VM: 0 and the record, nothing spawned" 0 "vm1 running yes $pid 2 256 tap1 10.0.0.2 7 $ROOTFS -" ember-vm start vm1
is "  still one process" "$(count_fc vm1)" 1
check "start -v prints each request and answer on stderr" 0 "*" ember-vm -v start vm2
like "  the request" "$T_ERR" '*firecracker: PUT /machine-config {"vcpu_count":1,"mem_size_mib":128}*'
like "  the answer" "$T_ERR" "*firecracker: -> 204 (*"
like "  and the spawn" "$T_ERR" "*+ firecracker --api-sock $S/vms/vm2/firecracker.sock --id vm2*"

## list, show, hosts
check "list" 0 "*" ember-vm list
like "  one line per VM" "$T_OUT" "vm1 running yes $pid 2 256 tap1 10.0.0.2 7 $ROOTFS -
vm2 running yes [0-9]* 1 128 - - - - -"
check "list -j: the same keys" 0 "*" ember-vm -j list
like "  an array" "$T_OUT" "\\[{\"name\":\"vm1\",\"state\":\"running\",\"alive\":true,\"pid\":$pid,\"vcpus\":2,\"memory\":256,\"tap\":\"tap1\",\"guest_ip\":\"10.0.0.2\",\"cid\":7,\"rootfs\":\"$ROOTFS\",\"reason\":null},*\\]"
check "list --state running" 0 "*" ember-vm list --state running
is "  both" "$(echo "$T_OUT" | cut -d' ' -f1 | tr '\n' ' ')" "vm1 vm2 "
check "list --state stopped: none" 0 "" ember-vm list --state stopped
check "list --state bogus: 100" 100 "" ember-vm list --state bogus
check "show" 0 "*" ember-vm show vm1
is "  every field" "$T_OUT" "name vm1
state running
alive yes
pid $pid
vcpus 2
memory 256
tap tap1
guest_ip 10.0.0.2
cid 7
rootfs $ROOTFS
reason -
kernel $KERNEL
initrd -
boot_args console=ttyS0 reboot=k panic=1 pci=off ip=10.0.0.2::10.0.0.1:255.255.255.252:vm1:eth0:off
read_only no
drives data=$ROOTFS:ro
mac 06:00:0a:00:00:02
host_ip 10.0.0.1/30
mtu -
api_sock $S/vms/vm1/firecracker.sock
vsock_uds $S/vms/vm1/vsock.sock
started $(date -u -d "@$(sqlite3 "$S/state.db" "SELECT started FROM vms WHERE name = 'vm1'")" +%Y-%m-%dT%H:%M:%SZ)
fc_state Running
fc_id vm1"
check "show -j" 0 "*" ember-vm -j show vm1
like "  one object with Firecracker's word" "$T_OUT" '{"name":"vm1",*"drives":\["data='"$ROOTFS"':ro"\],*"fc_state":"Running","fc_id":"vm1"}'
check "show of an unknown VM: 1" 1 "" ember-vm show nope
like "  saying so" "$T_ERR" "ember-vm: no VM 'nope'"
check "hosts: running VMs with an address" 0 "10.0.0.2 vm1" ember-vm hosts
check "hosts -j" 0 '[{"ip":"10.0.0.2","name":"vm1"}]' ember-vm -j hosts
: >"$S/hosts.tmp.999999999" # what a killed writer left (no such pid)
check "hosts --write: prints them" 0 "10.0.0.2 vm1" ember-vm hosts --write
is "  and STATE/hosts holds exactly them" "$(cat "$S/hosts"; echo .)" "10.0.0.2 vm1
."
is "  mode 0644" "$(stat -c %a "$S/hosts")" 644
is "  no temporary file left, a killed writer's removed" "$(cd "$S" && ls -d hosts*)" hosts
check "hosts --write -j -q: prints nothing" 0 "" ember-vm -j -q hosts --write
is "  the file is plain lines still" "$(cat "$S/hosts")" "10.0.0.2 vm1"

## stop
check "stop: Ctrl-Alt-Del, the exit, the clean-up" 0 "vm1 stopped no - 2 256 tap1 10.0.0.2 7 $ROOTFS stopped: Firecracker exited after Ctrl-Alt-Del" ember-vm stop vm1
ok "  the process is gone" gone "$pid"
ok "  no socket, no handles" nothing_left vm1
ok "  the logs stay" test -f "$S/vms/vm1/console.log" -a -f "$S/vms/vm1/firecracker.log"
check "stop of a stopped VM: 0" 0 "vm1 stopped no - 2 256 tap1 10.0.0.2 7 $ROOTFS stopped: Firecracker exited after Ctrl-Alt-Del" ember-vm stop vm1
check "hosts leaves stopped VMs out" 0 "" ember-vm hosts
check "hosts --write -q with no VM running" 0 "" ember-vm -q hosts --write
is "  empties STATE/hosts" "$(wc -c <"$S/hosts")" 0
check "stop -j --force" 0 "*" ember-vm -j stop --force vm2
like "  the record" "$T_OUT" '{"name":"vm2","state":"stopped",*"reason":"stopped: killed (--force)"}'
ok "  nothing left" nothing_left vm2
check "start again after a stop" 0 "*" ember-vm start vm1
like "  start again after a stop: its output" "$T_OUT" "vm1 running yes * 2 256 tap1 10.0.0.2 7 $ROOTFS -"
check "stop of an unknown VM: 1" 1 "" ember-vm stop nope

## delete
check "delete of a running VM: 102" 102 "" ember-vm delete vm1
like "  with a hint" "$T_ERR" "*'vm1' is running*hint: stop it first, or delete it with --force"
is "  still running" "$(count_fc vm1)" 1
check "delete --force stops it first" 0 "vm1 yes" ember-vm delete --force vm1
ok "  nothing left" nothing_left vm1
ok "  its directory is gone" test ! -e "$S/vms/vm1"
check "  and so is the record" 1 "" ember-vm show vm1
check "delete of what is absent: 0" 0 "vm1 no" ember-vm delete vm1
check "delete -j" 0 '{"name":"vm2","deleted":true}' ember-vm -j delete vm2
check "list of none" 0 "" ember-vm list
check "list -j of none" 0 "[]" ember-vm -j list
ember-vm -q create a1 --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
ember-vm -q create a2 --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
ember-vm -q start a1
check "delete --all needs --force" 100 "" ember-vm delete --all
check "delete --all --force" 0 "a1 yes
a2 yes" ember-vm delete --all --force
ok "  nothing left" nothing_left a1
is "  no records" "$(rows)" 0

## libcurl is mapped by what talks to Firecracker only
maps() { # CMD...: how many of libcurl and libdevmapper the process loads
	LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep -cE 'calling init: .*/(libcurl|libdevmapper)[.-]'
}
ember-vm -q create m1 --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
check "ember-vm start maps libcurl" "*" 1 maps ember-vm start m1
check "ember-vm list does not" "*" 0 maps ember-vm list
check "nor do the allocators" "*" 0 maps ember-ipalloc list
check "nor ember-tap" "*" 0 maps ember-tap list
ember-vm -q delete --force m1

## from what the owner holds
new_state
ember-init init -q --instance-id a002
S=$(sdir)
ember-ipalloc -q alloc web --subnet 10.7.0.0/24
ember-tap -q create web --address 10.7.0.1/30 --mtu 1400
ember-cidalloc -q alloc web
tap=$(ember-tap show web | cut -d' ' -f2)
check "network and vsock from ember-tap, ember-ipalloc, ember-cidalloc" 0 "web created no - 1 128 $tap 10.7.0.2 3 - -" \
	ember-vm create web --kernel "$KERNEL" --no-rootfs
check "  show: the TAP's MTU, the MAC from the address" 0 "*" ember-vm show web
like "  " "$T_OUT" "*mac 06:00:0a:07:00:02*host_ip 10.7.0.1/30*mtu 1400*"
check "  and it starts on that TAP" 0 "*" ember-vm start web
like "    and it starts on that TAP: its output" "$T_OUT" "web running yes *"
check "--no-net and --no-vsock leave them out" 0 "bare created no - 1 128 - - - - -" \
	ember-vm create bare --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
ember-ipalloc -q alloc half
check "an address but no TAP: 100" 100 "" ember-vm create half --kernel "$KERNEL" --no-rootfs
like "  saying what is missing" "$T_ERR" "*'half' holds an address but no TAP*hint: give --tap*"
check "--boot-args with ip= of its own: not appended" 0 "*" ember-vm -j create own --kernel "$KERNEL" --no-rootfs \
	--tap tap1 --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30 --boot-args "console=ttyS0 ip=dhcp"
is "  " "$(ember-vm show own | sed -n 's/^boot_args //p')" "console=ttyS0 ip=dhcp"
ember-vm -q stop --all --force

## bad input: a clear message, its exit code, nothing recorded or spawned
new_state
ember-init init -q --instance-id a003
S=$(sdir)
mkdir "$T_TMP/adir"
long=$T_TMP/$(printf 'l%.0s' $(seq 1 60))
mkdir -p "$long"
net=(--tap tap1 --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30)
n=0
bad() { # TITLE RC PATTERN ARGS...
	local title=$1 rc=$2 pat=$3
	shift 3
	n=$((n + 1))
	check "bad input: $title" "$rc" "" "$@"
	like "  a clear message" "$T_ERR" "ember-vm: $pat*"
}
bad "a name with upper case" 100 "invalid name*" ember-vm create Vm1 --kernel "$KERNEL" --no-rootfs
bad "a name with a dot" 100 "invalid name*" ember-vm create vm.1 --kernel "$KERNEL" --no-rootfs
bad "a name of 33 characters" 100 "invalid name*" ember-vm create "$(printf 'a%.0s' $(seq 1 33))" --kernel "$KERNEL" --no-rootfs
bad "no --kernel" 100 "create needs --kernel" ember-vm create x --no-rootfs
bad "a missing kernel" 100 "unable to read the kernel '/nonexistent': No such file or directory" ember-vm create x --kernel /nonexistent --no-rootfs
bad "a directory as kernel" 100 "the kernel '$T_TMP/adir' is a directory, not a regular file" ember-vm create x --kernel "$T_TMP/adir" --no-rootfs
bad "neither --rootfs nor --no-rootfs" 100 "create needs one of --rootfs and --no-rootfs" ember-vm create x --kernel "$KERNEL"
bad "both --rootfs and --no-rootfs" 100 "create needs one of --rootfs and --no-rootfs" ember-vm create x --kernel "$KERNEL" --rootfs "$ROOTFS" --no-rootfs
bad "a missing rootfs" 100 "unable to read the rootfs '/nope.ext4'*" ember-vm create x --kernel "$KERNEL" --rootfs /nope.ext4
bad "a directory as rootfs" 100 "the rootfs '$T_TMP/adir' is a directory, not a regular file or a block device" ember-vm create x --kernel "$KERNEL" --rootfs "$T_TMP/adir"
bad "a character device as rootfs" 100 "the rootfs '/dev/null' is something else*" ember-vm create x --kernel "$KERNEL" --rootfs /dev/null
bad "--read-only without --rootfs" 100 "--read-only goes with --rootfs" ember-vm create x --kernel "$KERNEL" --no-rootfs --read-only
bad "a missing initrd" 100 "unable to read the initrd*" ember-vm create x --kernel "$KERNEL" --no-rootfs --initrd /nope
bad "vcpus 0" 100 "--vcpus '0' is not a number of 1-32" ember-vm create x --kernel "$KERNEL" --no-rootfs --vcpus 0
bad "vcpus 33" 100 "--vcpus '33' is not a number of 1-32" ember-vm create x --kernel "$KERNEL" --no-rootfs --vcpus 33
bad "vcpus not a number" 100 "--vcpus '2x'*" ember-vm create x --kernel "$KERNEL" --no-rootfs --vcpus 2x
bad "memory 0" 100 "--memory (MiB) '0' is not a number of 128-*" ember-vm create x --kernel "$KERNEL" --no-rootfs --memory 0
bad "memory 127" 100 "--memory (MiB) '127' is not a number of 128-*" ember-vm create x --kernel "$KERNEL" --no-rootfs --memory 127
bad "a multicast MAC" 100 "MAC '01:00:0a:00:00:02' is a multicast address" ember-vm create x --kernel "$KERNEL" --no-rootfs "${net[@]}" --mac 01:00:0a:00:00:02
bad "a malformed MAC" 100 "MAC '06:00:0a:00:02' is not six pairs*" ember-vm create x --kernel "$KERNEL" --no-rootfs "${net[@]}" --mac 06:00:0a:00:02
bad "a MAC with a bad digit" 100 "MAC '06:00:0g:00:00:02' is not six pairs*" ember-vm create x --kernel "$KERNEL" --no-rootfs "${net[@]}" --mac 06:00:0g:00:00:02
bad "an all-zero MAC" 100 "MAC '00:00:00:00:00:00' is all zero" ember-vm create x --kernel "$KERNEL" --no-rootfs "${net[@]}" --mac 00:00:00:00:00:00
bad "an MTU of 67" 100 "--mtu '67' is not a number of 68-65535" ember-vm create x --kernel "$KERNEL" --no-rootfs "${net[@]}" --mtu 67
bad "--tap without addresses" 100 "--tap, --guest-ip and --host-ip go together" ember-vm create x --kernel "$KERNEL" --no-rootfs --tap tap1
bad "--no-net with --tap" 100 "--no-net goes with none of*" ember-vm create x --kernel "$KERNEL" --no-rootfs --no-net "${net[@]}"
bad "--no-net with --mac" 100 "--no-net goes with none of*" ember-vm create x --kernel "$KERNEL" --no-rootfs --no-net --mac 06:00:00:00:00:01
bad "a guest outside the host's block" 100 "--guest-ip 10.0.1.2 and --host-ip 10.0.0.1/30 are not two host addresses of one block" \
	ember-vm create x --kernel "$KERNEL" --no-rootfs --tap tap1 --guest-ip 10.0.1.2 --host-ip 10.0.0.1/30
bad "a host address without a prefix" 100 "--host-ip '10.0.0.1' is not IP/PREFIX" \
	ember-vm create x --kernel "$KERNEL" --no-rootfs --tap tap1 --guest-ip 10.0.0.2 --host-ip 10.0.0.1
bad "a bad TAP name" 100 "--tap 'a/b' is not an interface name" \
	ember-vm create x --kernel "$KERNEL" --no-rootfs --tap a/b --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30
bad "--cid and --no-vsock" 100 "--cid and --no-vsock exclude each other" ember-vm create x --kernel "$KERNEL" --no-rootfs --cid 5 --no-vsock
bad "a CID of 2" 100 "--cid '2' is not a number of 3-4294967294" ember-vm create x --kernel "$KERNEL" --no-rootfs --cid 2
bad "a drive id with a dash" 100 "drive id 'my-disk' is not 1-32 of letters, digits and '_'*" ember-vm create x --kernel "$KERNEL" --no-rootfs --drive "my-disk=$ROOTFS"
bad "a drive without =" 100 "--drive '$ROOTFS' is not ID=PATH\\[:ro\\]" ember-vm create x --kernel "$KERNEL" --no-rootfs --drive "$ROOTFS"
bad "a drive id twice" 100 "drive id 'd' is given twice" ember-vm create x --kernel "$KERNEL" --no-rootfs --drive "d=$ROOTFS" --drive "d=$ROOTFS:ro"
bad "a drive called rootfs" 100 "drive id 'rootfs' is the root drive's" ember-vm create x --kernel "$KERNEL" --no-rootfs --drive "rootfs=$ROOTFS"
bad "a missing drive" 100 "unable to read the drive '/nope'*" ember-vm create x --kernel "$KERNEL" --no-rootfs --drive "d=/nope:ro"
bad "a start option given to create" 100 "--timeout goes with 'start', 'stop'" ember-vm create x --kernel "$KERNEL" --no-rootfs --timeout 3
bad "a create option given to start" 100 "--kernel goes with 'create'" ember-vm start x --kernel "$KERNEL"
bad "a bad --wait" 100 "--wait '0' is not a number of seconds*" ember-vm start x --wait 0
bad "a zero --timeout" 100 "--timeout '0' is not a number of seconds*" ember-vm start x --timeout 0
bad "stop with a NAME and --all" 100 "stop needs a NAME or --all" ember-vm stop x --all
bad "an unknown verb" 100 "unknown verb 'boot'" ember-vm boot x
# the sun_path limit: state directories so long that the sockets do not fit
# (canonical paths of 90 and of 70 bytes; a socket path may have 107)
statedir_of() { # LENGTH: a fresh state directory path of LENGTH bytes
	local pad=$(($1 - ${#T_TMP} - 4))
	printf '%s/%s/st' "$T_TMP" "$(printf "%${pad}s" "" | tr ' ' p$1)"
}
EMBER_STATE_DIR=$(statedir_of 90)
mkdir -p "$(dirname "$EMBER_STATE_DIR")"
ember-init init -q --instance-id a004
L=$(sdir)
is "a state directory of 90 bytes" "${#L}" 90
bad "an API socket past sun_path" 100 "the API socket '$L/vms/v/firecracker.sock' is 113 bytes, more than the 107 that fit a Unix socket*hint: use a shorter --state-dir*" \
	ember-vm create v --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
EMBER_STATE_DIR=$(statedir_of 70)
mkdir -p "$(dirname "$EMBER_STATE_DIR")"
ember-init init -q --instance-id a005
L=$(sdir)
is "a state directory of 70 bytes" "${#L}" 70
nm=$(printf 'v%.0s' $(seq 1 15))
check "  a name whose API socket just fits (107 bytes)" 0 "*" ember-vm create "$nm" --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
bad "the vsock socket's <uds>_<port> form past sun_path" 100 "the vsock socket for a guest's port '$L/vms/$nm/vsock.sock_4294967295' is 112 bytes*" \
	ember-vm create "$nm" --kernel "$KERNEL" --no-rootfs --no-net --cid 9
check "  a name whose <uds>_4294967295 form just fits (107 bytes)" 0 "*" ember-vm create vvvvvvvvvv --kernel "$KERNEL" --no-rootfs --no-net --cid 9
is "  not one byte more: 11 characters" "$(ember-vm create vvvvvvvvvvv --kernel "$KERNEL" --no-rootfs --no-net --cid 9 2>&1; echo $?)" "ember-vm: the vsock socket for a guest's port '$L/vms/vvvvvvvvvvv/vsock.sock_4294967295' is 108 bytes, more than the 107 that fit a Unix socket
hint: use a shorter --state-dir (or VM name)
100"
is "bad input: at least 30 distinct cases" "$([ "$n" -ge 30 ] && echo yes)" yes
EMBER_STATE_DIR=$T_TMP/state3
is "nothing recorded for any of them" "$(rows)" 0
is "nothing spawned for any of them" "$(grep -lz -- "$S/vm[s]/" /proc/[0-9]*/cmdline 2>/dev/null | wc -l)" 0
ok "no VM directory made" test -z "$(ls "$S/vms")"

done_testing
