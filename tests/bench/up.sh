#!/usr/bin/env bash
# ember-up + ember-down of one VM (the stand-in as Firecracker), in network
# namespaces of its own:
#  1. `ember-up NAME --rootfs FILE --kernel FILE` + `ember-down NAME --delete
#     --force`, against the same VM made as Firecracker's getting-started
#     guide makes it: `ip tuntap add`, `ip addr add`, `ip link set up`,
#     ip_forward, the same seven iptables rules one command each, the
#     stand-in started and one `curl --unix-socket` per API request (logger,
#     machine config, boot source, root drive, network interface, vsock,
#     InstanceStart), then the reverse (SIGKILL, the sockets, the rules, the
#     TAP). Both sides kill Firecracker at once (--force), so the figure is
#     the host's work, not the guest's time to answer Ctrl-Alt-Del. The
#     median of the per-round ratios over interleaved rounds (goal <= 0.5).
#  2. the wall time of one up + down, and the median time of each step
#     (ember-up -v and ember-down -v print every applet run with its time).
#  3. 50 VMs up 8 at a time, then down 8 at a time: VMs per second.
# Never fails on a time.
set -eu
if [ -z "${UP_BENCH_NETNS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "up: skipped: needs root and network namespaces"
		exit 0
	fi
	UP_BENCH_NETNS=1 exec unshare -n -- bash "$0" "$@"
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
standin=$build/standin/firecracker
[ -x "$standin" ] || { echo "up: skipped: no stand-in at $standin (make standin)"; exit 0; }
command -v curl >/dev/null || { echo "up: skipped: curl not found"; exit 0; }
dir=${BENCH_TMP:-$(mktemp -d)}/up
mkdir -p "$dir/bin"
for a in $("$EMBER" --list); do ln -sf "$EMBER" "$dir/bin/$a"; done
export PATH="$dir/bin:$build/standin:$PATH" EMBER_RUN_DIR=$dir/run
if ember-vm list --state-dir "$dir/none" 2>&1 | grep -q "not implemented yet"; then
	echo "up: skipped: ember-vm is not implemented in this build"
	exit 0
fi
rounds=${UP_BENCH_ROUNDS:-21} many=${UP_BENCH_VMS:-50}
interleave=${BENCH_TMP:-}/interleave
if [ ! -x "$interleave" ]; then
	cc -O2 -o "$dir/interleave" "$top/tests/bench/interleave.c"
	interleave=$dir/interleave
fi

ip link set lo up
ip link add up0 type veth peer name up0p
ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0

export EMBER_STATE_DIR=$dir/state
ember-init init -q --instance-id be14
printf 'kernel\n' >"$dir/vmlinux"
truncate -s 1M "$dir/rootfs"
up="$top/scripts/ember-up" down="$top/scripts/ember-down"

## 1. ember-up + ember-down against the getting-started guide
cat >"$dir/ember-side" <<EOF
#!/bin/sh
"$up" b1 --rootfs "$dir/rootfs" --kernel "$dir/vmlinux" -q && "$down" b1 --delete --force -q
EOF
cat >"$dir/guide-side" <<EOF
#!/bin/bash
set -e
S=$dir/guide.sock V=$dir/guide.vsock
put() { curl -sSf --unix-socket "\$S" -X PUT "http://localhost/\$1" -H 'Accept: application/json' \\
	-H 'Content-Type: application/json' -d "\$2" -o /dev/null; }
rules() {
	iptables -w "\$1" FORWARD -s 172.31.0.2/32 -i tapg -o up0 -j ACCEPT
	iptables -w "\$1" FORWARD -i tapg -j DROP
	iptables -w "\$1" FORWARD -d 172.31.0.2/32 -o tapg -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	iptables -w "\$1" FORWARD -o tapg -j DROP
	iptables -w "\$1" INPUT -i tapg -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	iptables -w "\$1" INPUT -i tapg -j DROP
	iptables -w -t nat "\$1" POSTROUTING -s 172.31.0.2/32 -o up0 -j MASQUERADE
}
ip tuntap add dev tapg mode tap
ip addr add 172.31.0.1/30 dev tapg
ip link set dev tapg up
echo 1 >/proc/sys/net/ipv4/ip_forward
rules -A
firecracker --api-sock "\$S" --id g >/dev/null 2>&1 &
pid=\$!
while [ ! -S "\$S" ]; do sleep 0.001; done
: >"$dir/guide.log"
put logger '{"log_path":"$dir/guide.log","level":"Info"}'
put machine-config '{"vcpu_count":1,"mem_size_mib":128}'
put boot-source '{"kernel_image_path":"$dir/vmlinux","boot_args":"console=ttyS0 reboot=k panic=1 pci=off ip=172.31.0.2::172.31.0.1:255.255.255.252:g:eth0:off"}'
put drives/rootfs '{"drive_id":"rootfs","path_on_host":"$dir/rootfs","is_root_device":true,"is_read_only":false}'
put network-interfaces/eth0 '{"iface_id":"eth0","guest_mac":"06:00:ac:1f:00:02","host_dev_name":"tapg"}'
put vsock '{"guest_cid":3,"uds_path":"'"\$V"'"}'
put actions '{"action_type":"InstanceStart"}'
kill -9 \$pid
{ wait \$pid; } 2>/dev/null || true
rm -f "\$S" "\$V"
rules -D
ip link del tapg
EOF
chmod +x "$dir/ember-side" "$dir/guide-side"
if ! "$dir/ember-side" || ! "$dir/guide-side"; then
	echo "up: a side failed once; no figures"
	exit 1
fi
read -r ember_us guide_us ratio < <("$interleave" "$rounds" 1 "$dir/ember-side" -- "$dir/guide-side")
printf 'up: ember-up --rootfs + ember-down --delete --force vs the getting-started guide (ip, iptables, curl per request), median of %d interleaved rounds: %.1f ms vs %.1f ms, ratio %.2fx (goal <= 0.5)\n' \
	"$rounds" "$(bc -l <<<"$ember_us / 1000")" "$(bc -l <<<"$guide_us / 1000")" "$ratio"

## 2. one up + down, step by step
for ((i = 0; i < rounds; i++)); do
	"$up" b1 --rootfs "$dir/rootfs" --kernel "$dir/vmlinux" -q -v 2>>"$dir/steps.up"
	"$down" b1 --delete --force -q -v 2>>"$dir/steps.down"
done
# "ember-up: ember-tap create b1 ... (exit 0, 4.118 ms)": the applet and verb, and the time
steps() {
	sed -nE 's/^ember-(up|down): (ember-[a-z]+ [a-z]+) .*\(exit [0-9]+, ([0-9.]+) ms\)$/\2 \3/p' "$1" |
		awk -v n="$rounds" '{ k = $1 " " $2; t[k] = t[k] " " $3; if (!(k in o)) { o[k] = ++m; key[m] = k } }
			END { for (i = 1; i <= m; i++) print key[i] "|" t[key[i]] }' |
		while IFS='|' read -r k v; do
			printf '%s %s\n' "$k" "$(tr ' ' '\n' <<<"$v" | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
		done
}
printf 'up: median of %d runs, ember-up %.1f ms + ember-down --delete --force %.1f ms (goal <= 100 ms for both), by step (ms):\n' \
	"$rounds" \
	"$(for ((i = 0; i < rounds; i++)); do s=${EPOCHREALTIME/./}; "$up" b1 --rootfs "$dir/rootfs" --kernel "$dir/vmlinux" -q; e=${EPOCHREALTIME/./}; echo $((e - s)) >>"$dir/t.up"; s=${EPOCHREALTIME/./}; "$down" b1 --delete --force -q; e=${EPOCHREALTIME/./}; echo $((e - s)) >>"$dir/t.down"; done; sort -n "$dir/t.up" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)] / 1000}')" \
	"$(sort -n "$dir/t.down" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)] / 1000}')"
steps "$dir/steps.up" | sed 's/^/up:   ember-up   /'
steps "$dir/steps.down" | sed 's/^/up:   ember-down /'

## 3. many VMs, 8 at a time
names=$(for ((i = 1; i <= many; i++)); do echo "m$i"; done)
t0=${EPOCHREALTIME/./}
xargs -P 8 -I{} "$up" {} --rootfs "$dir/rootfs" --kernel "$dir/vmlinux" -q <<<"$names"
t1=${EPOCHREALTIME/./}
xargs -P 8 -I{} "$down" {} --delete --force -q <<<"$names"
t2=${EPOCHREALTIME/./}
printf 'up: %d VMs up 8 at a time: %.2f s, %.1f VMs/s; down --delete --force 8 at a time: %.2f s, %.1f VMs/s\n' "$many" \
	"$(bc -l <<<"($t1 - $t0) / 1000000")" "$(bc -l <<<"$many * 1000000 / ($t1 - $t0)")" \
	"$(bc -l <<<"($t2 - $t1) / 1000000")" "$(bc -l <<<"$many * 1000000 / ($t2 - $t1)")"
