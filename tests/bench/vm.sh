#!/usr/bin/env bash
# ember-vm start + stop --force of one VM against the Firecracker stand-in,
# versus the same configuration as Firecracker's getting-started guide does
# it: the process started by hand, then one `curl --unix-socket` process per
# request (logger, machine config, boot source, rootfs, network interface,
# vsock, InstanceStart), then SIGKILL and the sockets removed. Rounds are
# interleaved (tests/bench/interleave); the figure is the median of the
# per-round ratios (goal <= 0.5). Then ember-vm's own share of a start: the
# wall time of `ember-vm start` less the time it spent waiting for the
# stand-in (its API socket to answer, and each answer), as `-v` reports it
# (goal <= 5 ms). It runs in a network namespace of its own and never fails
# on a time.
set -eu
if [ -z "${VM_BENCH_NETNS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "vm: skipped: needs root and network namespaces"
		exit 0
	fi
	VM_BENCH_NETNS=1 exec unshare -n -- bash "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
case ${BUILD:-build} in /*) standin=$BUILD/standin ;; *) standin=$here/../../${BUILD:-build}/standin ;; esac
if [ ! -x "$standin/firecracker" ]; then
	echo "vm: skipped: no stand-in at $standin (make standin)"
	exit 0
fi
command -v curl >/dev/null || { echo "vm: skipped: curl not found"; exit 0; }
ip link set lo up
dir=${BENCH_TMP:-$(mktemp -d)}/vm
mkdir -p "$dir/bin"
for a in init vm; do ln -sf "$EMBER" "$dir/bin/ember-$a"; done
export PATH="$dir/bin:$standin:$PATH" EMBER_STATE_DIR=$dir/state
ember-init init -q --instance-id be02
rounds=${VM_BENCH_ROUNDS:-21}
echo kernel >"$dir/vmlinux"
truncate -s 16M "$dir/rootfs"
for t in tapa tapb; do ip tuntap add dev $t mode tap && ip link set $t up; done
ember-vm -q create bench --kernel "$dir/vmlinux" --rootfs "$dir/rootfs" --tap tapa \
	--guest-ip 10.9.0.2 --host-ip 10.9.0.1/30 --cid 3
ref=$dir/ref
mkdir -p "$ref"

# the two sides, as programs interleave can run
cat >"$dir/ember-side" <<EOF
#!/bin/bash
set -e
ember-vm -q start bench
ember-vm -q stop --force bench
EOF
cat >"$dir/curl-side" <<EOF
#!/bin/bash
set -e
sock=$ref/firecracker.sock
firecracker --api-sock "\$sock" --id ref >>$ref/console.log 2>&1 </dev/null &
pid=\$!
until [ -S "\$sock" ]; do :; done
put() { curl -sf --unix-socket "\$sock" -X PUT "http://localhost\$1" -H 'Accept: application/json' -H 'Content-Type: application/json' -d "\$2"; }
until curl -sf --unix-socket "\$sock" http://localhost/ >/dev/null; do :; done
put /logger '{"log_path":"$ref/firecracker.log","level":"Info"}'
put /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
put /boot-source '{"kernel_image_path":"$dir/vmlinux","boot_args":"console=ttyS0 reboot=k panic=1 pci=off ip=10.9.0.6::10.9.0.5:255.255.255.252:ref:eth0:off"}'
put /drives/rootfs '{"drive_id":"rootfs","path_on_host":"$dir/rootfs","is_root_device":true,"is_read_only":false}'
put /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tapb","guest_mac":"06:00:0a:09:00:06"}'
put /vsock '{"guest_cid":4,"uds_path":"$ref/vsock.sock"}'
put /actions '{"action_type":"InstanceStart"}'
kill -9 \$pid
wait \$pid || true
rm -f "\$sock" $ref/vsock.sock
EOF
chmod +x "$dir/ember-side" "$dir/curl-side"
touch "$ref/firecracker.log"
"$dir/ember-side" && "$dir/curl-side" # both work before anything is timed

interleave=${BENCH_TMP:-}/interleave
if [ ! -x "$interleave" ]; then # run alone, not from tests/bench/run
	cc -O2 -o "$dir/interleave" "$here/interleave.c"
	interleave=$dir/interleave
fi
read -r e c ratio < <("$interleave" "$rounds" 1 "$dir/ember-side" -- "$dir/curl-side")
printf 'vm: start + stop --force: ember-vm %.1f ms, one curl per request %.1f ms\n' \
	"$(echo "$e" | awk '{print $1 / 1000}')" "$(echo "$c" | awk '{print $1 / 1000}')"
printf 'vm: ratio ember-vm/curl (median of %d interleaved rounds): %.2fx (goal <= 0.5)\n' "$rounds" "$ratio"

# ember-vm's own share of a start
us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
: >"$dir/own"
for ((r = 0; r < rounds; r++)); do
	t0=$(us)
	ember-vm -v -q start bench 2>"$dir/err"
	t1=$(us)
	ember-vm -q stop --force bench
	waited=$(sed -n "s/.*start of 'bench': \([0-9.]*\) ms waiting for Firecracker, \([0-9.]*\) ms of its own/\1 \2/p" "$dir/err")
	echo "$((t1 - t0)) $waited" >>"$dir/own"
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
wall=$(awk '{print $1 / 1000}' "$dir/own" | median)
waited=$(awk '{print $2}' "$dir/own" | median)
share=$(awk '{print $1 / 1000 - $2}' "$dir/own" | median)
inner=$(awk '{print $3}' "$dir/own" | median)
printf 'vm: a start: %.2f ms from exec to exit, %.2f ms of it waiting for the stand-in (medians of %d)\n' "$wall" "$waited" "$rounds"
printf 'vm: ember-vm'"'"'s own share of a start: %.2f ms (exec to exit less the waits; goal <= 5 ms), %.2f ms of it inside vm_start\n' "$share" "$inner"
ember-vm -q delete --force bench
