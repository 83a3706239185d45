#!/usr/bin/env bash
# The Firecracker stand-in (tests/firecracker/): its command line, the exact
# HTTP bytes, the spec-driven body checks, the resources opened at PUT time,
# the pre-/post-boot rules, the exits and the test knobs.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v curl >/dev/null || skip_all "curl not found"

case ${BUILD:-build} in /*) STANDIN=$BUILD/standin/firecracker ;; *) STANDIN=$T_TOP/${BUILD:-build}/standin/firecracker ;; esac
[ -x "$STANDIN" ] || skip_all "no stand-in at $STANDIN (make standin)"
WIRE=$T_TOP/tests/firecracker/wire
PY=/usr/bin/python3

# start NAME [VAR=VALUE...] [-- ARG...]: run a stand-in with API socket
# $T_TMP/NAME.sock, its log in $T_TMP/NAME.log; wait (bounded) for the
# socket; PID and SOCK name it.
start() {
	local name=$1 i
	shift
	local envs=() args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1") && shift; done
	[ "${1:-}" != -- ] || { shift && args=("$@"); }
	SOCK=$T_TMP/$name.sock
	env "${envs[@]}" "$STANDIN" --api-sock "$SOCK" --id "$name" "${args[@]}" >"$T_TMP/$name.log" 2>&1 &
	PID=$!
	at_exit "stop $PID"
	for ((i = 0; i < 200; i++)); do [ -S "$SOCK" ] && return 0; sleep 0.02; done
	return 1
}
# api METHOD PATH [BODY]: the whole response, CRs removed (the trailing
# space of the status line stays).
api() {
	if [ $# -ge 3 ]; then
		curl -sS -i --unix-socket "$SOCK" -X "$1" "http://localhost$2" -d "$3" | tr -d '\r'
	else
		curl -sS -i --unix-socket "$SOCK" -X "$1" "http://localhost$2" | tr -d '\r'
	fi
}
# The responses Firecracker gives, as api prints them.
r204() { printf 'HTTP/1.1 204 \nServer: Firecracker API\nConnection: keep-alive'; }
rjson() { printf 'HTTP/1.1 %s \nServer: Firecracker API\nConnection: keep-alive\nContent-Type: application/json\nContent-Length: %s\n\n%s' "$1" "${#2}" "$2"; }
r400() { rjson 400 "{\"fault_message\":\"$1\"}"; }
SERDE="An error occurred when deserializing the json body of a request:"
NOT_AFTER="The requested operation is not supported after starting the microVM."
NOT_BEFORE="The requested operation is not supported before starting the microVM."
# gone PID: wait (bounded) until PID has exited; GONE is its exit status.
gone() {
	local i
	for ((i = 0; i < 500; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.02; done
	if kill -0 "$1" 2>/dev/null; then GONE="still running" && return; fi
	wait "$1" 2>/dev/null
	GONE=$?
}
# stop PID: SIGKILL, reaped quietly.
stop() { kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

KERNEL=$T_TMP/vmlinux
INITRD=$T_TMP/initrd
DISK=$T_TMP/rootfs.ext4
head -c 4096 /dev/zero >"$KERNEL"
head -c 4096 /dev/zero >"$INITRD"
head -c 65536 /dev/zero >"$DISK"

## the command line
check "--version prints Firecracker's" 0 "Firecracker v1.16.1" "$STANDIN" --version
check "an unknown argument: 153, as Firecracker's argument parser" 153 "*" "$STANDIN" --foo bar
check "--name=value is no option: 153" 153 "*" "$STANDIN" --api-sock="$T_TMP/x.sock"
check "an --id outside [A-Za-z0-9-]: Firecracker panics (SIGABRT)" 134 "*" "$STANDIN" --api-sock "$T_TMP/y.sock" --id "a_b"
check "an invalid --level: 152" 152 "*" "$STANDIN" --api-sock "$T_TMP/y.sock" --level loud
: >"$T_TMP/taken.sock"
check "an API socket path that exists: exit 1" 1 "*" "$STANDIN" --api-sock "$T_TMP/taken.sock" --id x
like "with Firecracker's log line" "$T_OUT" "*\[x:main\] Failed to open the API socket at: $T_TMP/taken.sock. Check that it is not already used.
*\[x:main\] Firecracker exiting with error. exit_code=1"
ok "and the path is left as it was" test -f "$T_TMP/taken.sock"

start a
ok "the stand-in listens on --api-sock" test -S "$SOCK"
like "its log: Firecracker's line format and start lines" "$(cat "$T_TMP/a.log")" "20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] \[a:main\] Running Firecracker v1.16.1
*\[a:main\] Listening on API socket (\"$SOCK\").
*\[a:main\] API server started."

## GET
check "GET /: 200, compact JSON, Not started" 0 "$(rjson 200 '{"id":"a","state":"Not started","vmm_version":"1.16.1","app_name":"Firecracker"}')" api GET /
check "GET /version" 0 "$(rjson 200 '{"firecracker_version":"1.16.1"}')" api GET /version
check "GET /machine-config: Firecracker's defaults" 0 "$(rjson 200 '{"vcpu_count":1,"mem_size_mib":128,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}')" api GET /machine-config
check "GET /vm/config of nothing configured" 0 "$(rjson 200 '{"balloon":null,"drives":[],"boot-source":null,"cpu-config":null,"logger":null,"machine-config":{"vcpu_count":1,"mem_size_mib":128,"smt":false,"track_dirty_pages":false,"huge_pages":"None"},"metrics":null,"mmds-config":null,"network-interfaces":[],"vsock":null,"entropy":null,"pmem":[],"memory-hotplug":null}')" api GET /vm/config

## Firecracker's routing errors
check "an unknown path: its first token, no leading /" 0 "$(r400 "Invalid request method and/or path: GET foo.")" api GET /foo/bar
check "GET /vm without config" 0 "$(r400 "Invalid request method and/or path: GET vm.")" api GET /vm
check "a method the path does not take" 0 "$(r400 "Invalid request method and/or path: PATCH boot-source.")" api PATCH /boot-source '{"kernel_image_path":"x"}'
check "DELETE of an unknown path" 0 "$(r400 "Invalid request method and/or path: DELETE vsock.")" api DELETE /vsock
check "a GET with a body" 0 "$(r400 "GET request cannot have a body.")" api GET /machine-config '{}'
check "a PUT without a body, even on an unknown path" 0 "$(r400 "Empty PUT request.")" api PUT /nowhere
check "a PATCH without a body" 0 "$(r400 "Empty PATCH request.")" api PATCH /vm
check "a drive without an id" 0 "$(r400 "The ID cannot be empty.")" api PUT /drives '{"drive_id":"x","is_root_device":false}'
check "an id outside [alnum_]" 0 "$(r400 "API Resource IDs can only contain alphanumeric characters and underscores.")" api PUT /drives/a-b '{"drive_id":"a-b","is_root_device":false}'
check "a drive id in the path unlike the body's" 0 "$(r400 "The id from the path does not match the id from the body!")" api PUT /drives/a '{"drive_id":"b","is_root_device":false,"path_on_host":"'"$DISK"'"}'
check "an interface id in the path unlike the body's" 0 "$(r400 "The id from the path [a] does not match the id from the body [b]!")" api PUT /network-interfaces/a '{"iface_id":"b","host_dev_name":"x"}'

## micro-http's own errors: the literal newline, requests dropped
UHTTP="All previous unanswered requests will be dropped."
uhttp() { printf '%s' "{ \"error\": \"$1
$UHTTP\" }"; }
raw400() { printf 'HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' "$(uhttp "$1" | wc -c)" "$(uhttp "$1")"; }
check "an unknown method: micro-http's 400, its body not JSON" 0 "$(raw400 "Invalid HTTP Method: Unsupported HTTP method.")" \
	bash -c "printf 'POST / HTTP/1.1\r\n\r\n' | $PY $WIRE http $SOCK 1"
check "an unknown HTTP version" 0 "$(raw400 "Invalid HTTP Version: Unsupported HTTP version.")" \
	bash -c "printf 'GET / HTTP/2.0\r\n\r\n' | $PY $WIRE http $SOCK 1"
check "a Content-Length that is no number" 0 "$(raw400 "Invalid header. Reason: Invalid value. Key:Content-Length; Value:x")" \
	bash -c "printf 'PUT /vm HTTP/1.1\r\nContent-Length: x\r\n\r\n' | $PY $WIRE http $SOCK 1"
big=$(head -c 51201 /dev/zero | tr '\0' ' ')
check "a body past 51200 bytes: 400 (not 413) with micro-http's text" 0 "$(raw400 "Request payload with size 51201 is larger than the limit of 51200 allowed by server." | tr -d '\r')" api PUT /machine-config "$big"
check "a body of 51200 bytes is read (and judged as JSON)" 0 "$(r400 "$SERDE EOF while parsing a value at line 1 column 51200.")" api PUT /machine-config "${big:1}"

## bodies against the derived schema, with serde's texts
check "PUT /machine-config: 204, no body, no Content-Type" 0 "$(r204)" api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
check "GET /machine-config shows it, defaults filled in" 0 "$(rjson 200 '{"vcpu_count":2,"mem_size_mib":256,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}')" api GET /machine-config
check "a missing field (Firecracker's test_api.py text)" 0 "$(r400 "$SERDE missing field \`vcpu_count\` at line 1 column 21.")" api PUT /machine-config '{"mem_size_mib": 128}'
check "a wrong type" 0 "$(r400 "$SERDE invalid type: string \\\"2\\\", expected u8 at line 1 column 18.")" api PUT /machine-config '{"vcpu_count": "2", "mem_size_mib": 128}'
check "a boolean for a string" 0 "$(r400 "$SERDE invalid type: boolean \`true\`, expected a string at line 1 column 26.")" api PUT /boot-source '{"kernel_image_path": true}'
check "an unknown field: serde's list in the Rust struct's order" 0 "$(r400 "$SERDE unknown field \`foo\`, expected one of \`vcpu_count\`, \`mem_size_mib\`, \`smt\`, \`cpu_template\`, \`track_dirty_pages\`, \`huge_pages\` at line 1 column 44.")" api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256, "foo": 1}'
check "an unknown field in a nested rate limiter: two names joined by or" 0 "$(r400 "$SERDE unknown field \`x\`, expected \`bandwidth\` or \`ops\` at line 1 column 78.")" api PUT /drives/d '{"drive_id":"d","is_root_device":false,"path_on_host":"/x","rate_limiter":{"x":1}}'
check "a body that is no object: serde names the Rust struct" 0 "$(r400 "$SERDE invalid type: string \\\"x\\\", expected struct BootSourceConfig at line 1 column 3.")" api PUT /boot-source '"x"'
check "a number for a nested struct" 0 "$(r400 "$SERDE invalid type: integer \`5\`, expected struct RateLimiterConfig at line 1 column 54.")" api PUT /drives/a '{"drive_id":"a","is_root_device":true,"rate_limiter":5}'
check "a float for an integer: serde's decimal point" 0 "$(r400 "$SERDE invalid type: floating point \`2.0\`, expected u8 at line 1 column 17.")" api PUT /machine-config '{"vcpu_count":2.0,"mem_size_mib":1}'
check "a float as written" 0 "$(r400 "$SERDE invalid type: floating point \`0.1\`, expected usize at line 1 column 34.")" api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":0.1}'
check "a bad enum value" 0 "$(r400 "$SERDE unknown variant \`Foo\`, expected one of \`FlushMetrics\`, \`InstanceStart\`, \`SendCtrlAltDel\` at line 1 column 20.")" api PUT /actions '{"action_type":"Foo"}'
check "a two-value enum" 0 "$(r400 "$SERDE unknown variant \`Running\`, expected \`Paused\` or \`Resumed\` at line 1 column 18.")" api PATCH /vm '{"state":"Running"}'
check "an integer past its Rust type" 0 "$(r400 "$SERDE invalid value: integer \`256\`, expected u8 at line 1 column 17.")" api PUT /machine-config '{"vcpu_count":256,"mem_size_mib":1}'
check "a negative for an unsigned" 0 "$(r400 "$SERDE invalid value: integer \`-1\`, expected u32 at line 1 column 15.")" api PUT /vsock '{"guest_cid":-1,"uds_path":"x"}'
check "the spec's maximum: Firecracker's machine-config text" 0 "$(r400 "Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled.")" api PUT /machine-config '{"vcpu_count":33,"mem_size_mib":128}'
check "malformed JSON" 0 "$(r400 "$SERDE EOF while parsing a value at line 1 column 14.")" api PUT /machine-config '{"vcpu_count":'
check "malformed JSON: an object cut short" 0 "$(r400 "$SERDE EOF while parsing an object at line 1 column 16.")" api PUT /machine-config '{"vcpu_count":1 '
check "a duplicate field" 0 "$(r400 "$SERDE duplicate field \`vcpu_count\` at line 1 column 28.")" api PUT /machine-config '{"vcpu_count":1,"vcpu_count":1}'
check "nothing applied by the refused requests" 0 "$(rjson 200 '{"vcpu_count":2,"mem_size_mib":256,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}')" api GET /machine-config
# Every PUT and PATCH of the spec refuses an unknown field, as deny_unknown_fields does.
unknown_everywhere() {
	local m p out bad=0
	while read -r m p; do
		out=$(api "$m" "$p" '{"zz_unknown":1}')
		case $out in *"unknown field \`zz_unknown\`, expected"*) ;; *) echo "$m $p: $out" && bad=1 ;; esac
	done < <($PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p, ms in sorted(d["paths"].items()):
    for m, body in sorted(ms.items()):
        if body and "fields" in d["definitions"][body] and p not in ("/cpu-config",):
            print(m, p.replace("{drive_id}", "x").replace("{iface_id}", "x").replace("{id}", "x"))
' "$T_TOP/tests/firecracker/schema.json")
	return $bad
}
ok "an unknown field is refused on every endpoint with a body definition" unknown_everywhere

## resources opened at the PUT, with Firecracker's texts
check "a missing kernel" 0 "$(r400 "Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)")" api PUT /boot-source '{"kernel_image_path":"/nonexistent/vmlinux"}'
check "a missing initrd" 0 "$(r400 "Boot source error: The initrd file cannot be opened due to invalid path or invalid permissions. No such file or directory (os error 2)")" api PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\",\"initrd_path\":\"/nonexistent/initrd\"}"
check "a missing drive file" 0 "$(r400 "Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating the backing file: No such file or directory (os error 2) /nonexistent/disk")" api PUT /drives/rootfs '{"drive_id":"rootfs","is_root_device":true,"path_on_host":"/nonexistent/disk"}'
check "a directory as a read-write drive (opened rw)" 0 "$(r400 "Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating the backing file: Is a directory (os error 21) $T_TMP")" api PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"is_root_device\":true,\"path_on_host\":\"$T_TMP\",\"is_read_only\":false}"
check "a kernel and initrd that open" 0 "$(r204)" api PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\",\"initrd_path\":\"$INITRD\",\"boot_args\":\"console=ttyS0 reboot=k\"}"
check "a root drive" 0 "$(r204)" api PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"is_root_device\":true,\"path_on_host\":\"$DISK\"}"
check "a second root drive" 0 "$(r400 "Drive config error: A root block device already exists!")" api PUT /drives/other "{\"drive_id\":\"other\",\"is_root_device\":true,\"path_on_host\":\"$DISK\"}"
check "a read-only drive" 0 "$(r204)" api PUT /drives/data "{\"drive_id\":\"data\",\"is_root_device\":false,\"is_read_only\":true,\"path_on_host\":\"$INITRD\"}"
fdmode() { local f; for f in /proc/"$PID"/fd/*; do [ "$(readlink "$f")" = "$1" ] && awk '/^flags/ {print substr($2, length($2), 1)}' /proc/"$PID"/fdinfo/"${f##*/}"; done | sort -u; }
is "the root drive is held open read-write" "$(fdmode "$DISK")" 2
is "the read-only drive is held open read-only (and so is the initrd)" "$(fdmode "$INITRD")" 0
rm "$DISK"
like "the drive stays held once its file is removed" "$(ls -l /proc/"$PID"/fd)" "*$DISK (deleted)*"
check "a vsock socket path that exists" 0 "$(r400 "Vsock config error: Cannot create backend for vsock device: Error binding to the host-side Unix socket: Address in use (os error 98)")" api PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$T_TMP/taken.sock\"}"
check "a vsock: bound at the PUT" 0 "$(r204)" api PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$T_TMP/v1.sock\"}"
ok "its socket exists at once" test -S "$T_TMP/v1.sock"
check "vsock_id: accepted, with Deprecation: true" 0 "$(printf 'HTTP/1.1 204 \nServer: Firecracker API\nConnection: keep-alive\nDeprecation: true')" api PUT /vsock "{\"vsock_id\":\"v\",\"guest_cid\":3,\"uds_path\":\"$T_TMP/v2.sock\"}"
ok "a second PUT /vsock removed the first socket" test ! -e "$T_TMP/v1.sock"
ok "and bound the new one" test -S "$T_TMP/v2.sock"
like "the deprecation is logged" "$(cat "$T_TMP/a.log")" "*PUT /vsock: vsock_id field is deprecated.*"
ip tuntap add dev sttap0 mode tap
ip link set sttap0 up
like "a TAP nobody holds has no carrier" "$(ip link show dev sttap0)" "*NO-CARRIER*"
check "a TAP: opened with TUNSETIFF" 0 "$(r204)" api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"sttap0","guest_mac":"06:00:ac:10:00:02"}'
like "the TAP has a carrier now a process holds it" "$(ip link show dev sttap0)" "*LOWER_UP*"
like "and the holder set the vnet header (IFF_VNET_HDR)" "$(ip -d link show dev sttap0)" "*vnet_hdr on*"
check "a MAC already in use" 0 "$(r400 "Network config error: The MAC address is already in use: 06:00:ac:10:00:02")" api PUT /network-interfaces/eth1 '{"iface_id":"eth1","host_dev_name":"sttap1","guest_mac":"06:00:ac:10:00:02"}'
check "a failed re-PUT: Firecracker's TapError for a name past 15 bytes" 0 "$(r400 "Network config error: Could not create the network device: Open tap device failed: Invalid interface name")" api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"a-name-too-long-x"}'
like "has dropped the old entry first, as Firecracker: the TAP is let go" "$(ip link show dev sttap0)" "*NO-CARRIER*"
check "the TAP again" 0 "$(r204)" api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"sttap0","guest_mac":"06:00:ac:10:00:02"}'
A_PID=$PID A_SOCK=$SOCK
start b
check "a TAP another process holds: EBUSY in Firecracker's words" 0 "$(r400 "Network config error: Could not create the network device: Open tap device failed: Error while creating ifreq structure: Resource busy (os error 16). Invalid TUN/TAP Backend provided by sttap0. Check our documentation on setting up the network devices.")" api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"sttap0"}'
stop "$PID"
PID=$A_PID SOCK=$A_SOCK

## the pre-boot and post-boot rules
check "PATCH /vm before start" 0 "$(r400 "$NOT_BEFORE")" api PATCH /vm '{"state":"Paused"}'
check "SendCtrlAltDel before start" 0 "$(r400 "$NOT_BEFORE")" api PUT /actions '{"action_type":"SendCtrlAltDel"}'
check "FlushMetrics before start" 0 "$(r400 "$NOT_BEFORE")" api PUT /actions '{"action_type":"FlushMetrics"}'
check "PATCH of a drive before start" 0 "$(r400 "$NOT_BEFORE")" api PATCH /drives/rootfs '{"drive_id":"rootfs"}'
check "InstanceStart" 0 "$(r204)" api PUT /actions '{"action_type":"InstanceStart"}'
check "GET /: Running" 0 "$(rjson 200 '{"id":"a","state":"Running","vmm_version":"1.16.1","app_name":"Firecracker"}')" api GET /
check "InstanceStart twice" 0 "$(r400 "$NOT_AFTER")" api PUT /actions '{"action_type":"InstanceStart"}'
for p in "/boot-source {\"kernel_image_path\":\"$KERNEL\"}" '/machine-config {"vcpu_count":1,"mem_size_mib":128}' \
	"/vsock {\"guest_cid\":3,\"uds_path\":\"$T_TMP/v3.sock\"}" '/logger {"level":"Debug"}' "/metrics {\"metrics_path\":\"$T_TMP/m\"}" \
	'/entropy {}' '/mmds/config {"network_interfaces":["eth0"]}'; do
	check "PUT ${p%% *} after start" 0 "$(r400 "$NOT_AFTER")" api PUT "${p%% *}" "${p#* }"
done
check "PATCH /machine-config after start" 0 "$(r400 "$NOT_AFTER")" api PATCH /machine-config '{"vcpu_count":1}'
check "PUT of a drive after start: v1.16's hot-plug path, PCI off" 0 "$(r400 "PCI is not enabled")" api PUT /drives/more "{\"drive_id\":\"more\",\"is_root_device\":false,\"path_on_host\":\"$INITRD\"}"
check "a refused PUT is still checked first (body before state)" 0 "$(r400 "$SERDE missing field \`is_root_device\` at line 1 column 16.")" api PUT /drives/more '{"drive_id":"x"}'
check "PATCH /vm Paused" 0 "$(r204)" api PATCH /vm '{"state":"Paused"}'
check "GET /: Paused" 0 "$(rjson 200 '{"id":"a","state":"Paused","vmm_version":"1.16.1","app_name":"Firecracker"}')" api GET /
check "PATCH /vm Resumed" 0 "$(r204)" api PATCH /vm '{"state":"Resumed"}'
check "PATCH of a drive after start" 0 "$(r204)" api PATCH /drives/rootfs '{"drive_id":"rootfs"}'
check "FlushMetrics after start" 0 "$(r204)" api PUT /actions '{"action_type":"FlushMetrics"}'
check "GET /vm/config: what was configured, in Firecracker's shape" 0 "$(rjson 200 "{\"balloon\":null,\"drives\":[{\"drive_id\":\"rootfs\",\"partuuid\":null,\"is_root_device\":true,\"cache_type\":\"Unsafe\",\"is_read_only\":null,\"path_on_host\":\"$DISK\",\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null},{\"drive_id\":\"data\",\"partuuid\":null,\"is_root_device\":false,\"cache_type\":\"Unsafe\",\"is_read_only\":true,\"path_on_host\":\"$INITRD\",\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null}],\"boot-source\":{\"kernel_image_path\":\"$KERNEL\",\"initrd_path\":\"$INITRD\",\"boot_args\":\"console=ttyS0 reboot=k\"},\"cpu-config\":null,\"logger\":null,\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,\"track_dirty_pages\":false,\"huge_pages\":\"None\"},\"metrics\":null,\"mmds-config\":null,\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"sttap0\",\"guest_mac\":\"06:00:ac:10:00:02\",\"mtu\":null,\"rx_rate_limiter\":null,\"tx_rate_limiter\":null}],\"vsock\":{\"vsock_id\":\"v\",\"guest_cid\":3,\"uds_path\":\"$T_TMP/v2.sock\"},\"entropy\":null,\"pmem\":[],\"memory-hotplug\":null}")" api GET /vm/config

## connections: keep-alive, in order, at most 10
printf 'GET /version HTTP/1.1\r\n\r\nPATCH /vm HTTP/1.1\r\nContent-Length: 19\r\n\r\n{"state":"Resumed"}GET / HTTP/1.1\r\n\r\n' >"$T_TMP/three"
check "pipelined requests on one connection: answered in order" 0 "$(printf 'HTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 32\r\n\r\n{"firecracker_version":"1.16.1"}HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\nHTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 76\r\n\r\n{"id":"a","state":"Running","vmm_version":"1.16.1","app_name":"Firecracker"}')" \
	bash -c "$PY $WIRE http $SOCK 3 <$T_TMP/three"
check "curl with three URLs reuses one connection" 0 "*" curl -sS -v --unix-socket "$SOCK" http://localhost/ http://localhost/version http://localhost/machine-config
is "curl says so twice" "$(grep -c 'Re-using existing connection' <<<"$T_ERR")" 2
check "Expect: 100-continue gets the interim 100 first" 0 "$(printf 'HTTP/1.1 100 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\nHTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n')" \
	bash -c "printf 'PATCH /vm HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 19\r\n\r\n{\"state\":\"Resumed\"}' | $PY $WIRE http $SOCK 2"
coproc HOLD { $PY "$WIRE" hold "$SOCK" 10; }
read -r held <&"${HOLD[0]}"
is "ten connections are served at once" "$held" "10 held"
check "the 11th gets Firecracker's 503 (no trailing space) and is closed" 0 "$(printf 'HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\nContent-Length: 40\r\n\r\n{ "error": "Too many open connections" }')" \
	bash -c "printf 'GET / HTTP/1.1\r\n\r\n' | $PY $WIRE eof $SOCK"
eval "exec ${HOLD[1]}>&-"
wait "$HOLD_PID"
served_again() { local i; for ((i = 0; i < 100; i++)); do api GET /version | grep -q 1.16.1 && return 0; sleep 0.02; done; return 1; }
ok "once they close, a new connection is served" served_again

## exits
check "SendCtrlAltDel: 204" 0 "$(r204)" api PUT /actions '{"action_type":"SendCtrlAltDel"}'
gone "$PID"
is "then the process exits 0 (the guest rebooted with reboot=k)" "$GONE" 0
like "logging Firecracker's last line" "$(tail -1 "$T_TMP/a.log")" "*\[a:main\] Firecracker exiting successfully. exit_code=0"
ok "the API socket is not unlinked" test -S "$T_TMP/a.sock"
ok "nor the vsock socket" test -S "$T_TMP/v2.sock"
start c
kill -TERM "$PID"
gone "$PID"
is "SIGTERM: death by the signal, no handler" "$GONE" 143
ok "the socket stays" test -S "$SOCK"
like "and nothing logged after the start" "$(tail -1 "$T_TMP/c.log")" "*API server started."
start d
kill -KILL "$PID"
gone "$PID"
is "SIGKILL: death" "$GONE" 137

## the knobs
start e EMBER_STANDIN_FAIL="PUT /machine-config=no memory today
PUT /actions InstanceStart=Start microvm error: Kvm error: Error creating KVM object: No such file or directory (os error 2)" \
	EMBER_STANDIN_TRANSCRIPT="$T_TMP/e.transcript"
check "EMBER_STANDIN_FAIL: the message, as a fault" 0 "$(r400 "no memory today")" api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":512}'
check "applying nothing" 0 "$(rjson 200 '{"vcpu_count":1,"mem_size_mib":128,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}')" api GET /machine-config
check "a second line names an action" 0 "$(r400 "Start microvm error: Kvm error: Error creating KVM object: No such file or directory (os error 2)")" api PUT /actions '{"action_type":"InstanceStart"}'
check "and again: the knob holds for every such request" 0 "$(r400 "Start microvm error: Kvm error: Error creating KVM object: No such file or directory (os error 2)")" api PUT /actions '{"action_type":"InstanceStart"}'
check "other requests are served" 0 "$(r204)" api PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\"}"
check "EMBER_STANDIN_TRANSCRIPT: one line per request, bodies compact" 0 "PUT /machine-config {\"vcpu_count\":2,\"mem_size_mib\":512} -> 400
GET /machine-config - -> 200
PUT /actions {\"action_type\":\"InstanceStart\"} -> 400
PUT /actions {\"action_type\":\"InstanceStart\"} -> 400
PUT /boot-source {\"kernel_image_path\":\"$KERNEL\"} -> 204" cat "$T_TMP/e.transcript"
stop "$PID"
start f EMBER_STANDIN_HANG="GET /version" EMBER_STANDIN_TRANSCRIPT="$T_TMP/f.transcript"
check "EMBER_STANDIN_HANG: GET / is answered" 0 "*" api GET /
check "the named request is never answered (curl gives up)" 28 "" curl -sS -m 1 --unix-socket "$SOCK" http://localhost/version
check "its transcript status is -" 0 "GET / - -> 200
GET /version - -> -" cat "$T_TMP/f.transcript"
stop "$PID"
start g EMBER_STANDIN_EXIT_AT="PUT /actions InstanceStart"
check "EMBER_STANDIN_EXIT_AT: other requests answered" 0 "$(r204)" api PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\"}"
check "the named one gets no answer" 52 "" curl -sS --unix-socket "$SOCK" -X PUT http://localhost/actions -d '{"action_type":"InstanceStart"}'
gone "$PID"
is "the process exited 1 before answering" "$GONE" 1
start h EMBER_STANDIN_IGNORE_CAD=1
api PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\"}" >/dev/null
api PUT /actions '{"action_type":"InstanceStart"}' >/dev/null
check "EMBER_STANDIN_IGNORE_CAD: SendCtrlAltDel answers 204" 0 "$(r204)" api PUT /actions '{"action_type":"SendCtrlAltDel"}'
sleep 0.5 # past the 100 ms a reboot takes; a slow machine could only make this pass wrongly, never fail
check "and the VM keeps running" 0 "$(rjson 200 '{"id":"h","state":"Running","vmm_version":"1.16.1","app_name":"Firecracker"}')" api GET /
stop "$PID"
t0=$(date +%s%N)
start i EMBER_STANDIN_SOCKET_DELAY_MS=300
t1=$(date +%s%N)
ok "EMBER_STANDIN_SOCKET_DELAY_MS: the socket appears no sooner than asked" test $(((t1 - t0) / 1000000)) -ge 300
stop "$PID"
start j -- --http-api-max-payload-size 250
body260=$(printf '%260s' '')
check "--http-api-max-payload-size: Firecracker's own test bytes (Content-Length 145)" 0 "$(printf 'HTTP/1.1 400 \nServer: Firecracker API\nConnection: keep-alive\nContent-Type: application/json\nContent-Length: 145\n\n{ "error": "Request payload with size 260 is larger than the limit of 250 allowed by server.\nAll previous unanswered requests will be dropped." }')" api PUT /boot-source "$body260"
start k -- --level Error
api GET / >/dev/null
is "--level Error: no Info lines" "$(cat "$T_TMP/k.log")" ""
start l -- --log-path "$T_TMP/l.file"
api GET / >/dev/null
like "--log-path: the log goes there" "$(cat "$T_TMP/l.file")" "*Running Firecracker v1.16.1*The API server received a Get request on \"/\".*"

## the schema follows the spec
YAML=$T_TOP/../shared/firecracker-api/firecracker.yaml
if [ -f "$YAML" ]; then
	check "the committed schema.json is what derive-schema makes of firecracker.yaml" 0 "$(cat "$T_TOP/tests/firecracker/schema.json")" $PY "$T_TOP/tests/firecracker/derive-schema" "$YAML"
	sed 's/maximum: 32/maximum: 64/' "$YAML" >"$T_TMP/drift.yaml"
	check "a spec that drifted derives another schema" 0 "*" $PY "$T_TOP/tests/firecracker/derive-schema" "$T_TMP/drift.yaml"
	ok "which the comparison catches" test "$T_OUT" != "$(cat "$T_TOP/tests/firecracker/schema.json")"
else
	skip "the committed schema.json is what derive-schema makes of firecracker.yaml" "no $YAML"
fi

sanitizer_quiet() { ! grep -l 'Sanitizer\|runtime error' "$T_TMP"/*.log; }
ok "no sanitizer report in any stand-in's log" sanitizer_quiet

done_testing
