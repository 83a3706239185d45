#!/usr/bin/env bash
# Network setup of one VM, in network namespaces of its own:
#  1. per-VM setup + teardown: `ember-tap create` + `ember-nat up`, then
#     `ember-nat down` + `ember-tap delete`, against the same link and the
#     same seven rules made the way Firecracker's network-setup guide makes
#     them: one plain `ip` or `iptables` command per step (and per rule);
#  2. `ember-nat up` + `down` of one VM in a namespace where 1,000 VMs of the
#     installation are already up, against one where none is (goal <= 1.5x).
# Rounds are interleaved (ABBA), so drift weighs on both sides alike; each
# figure is the median of the per-round ratios. Never fails on a time.
set -eu
if [ -z "${NET_BENCH_NETNS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "net: skipped: needs root and network namespaces"
		exit 0
	fi
	command -v iptables >/dev/null || { echo "net: skipped: iptables not found"; exit 0; }
	NET_BENCH_NETNS=1 exec unshare -n -- bash "$0" "$@"
fi
dir=${BENCH_TMP:-$(mktemp -d)}/net
mkdir -p "$dir/bin"
for a in ember-init ember-tap ember-nat; do ln -sf "$EMBER" "$dir/bin/$a"; done
export PATH="$dir/bin:$PATH" EMBER_RUN_DIR=$dir/run
rounds=${NET_BENCH_ROUNDS:-21} reps=${NET_BENCH_REPS:-5} many=${NET_BENCH_VMS:-1000}

us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
uplink() {
	ip link set lo up
	ip link add up0 type veth peer name up0p
	ip link set up0 up && ip link set up0p up
	ip addr add 192.0.2.1/24 dev up0
	ip route add default via 192.0.2.254 dev up0
}
uplink

## 1. ember against plain commands, in this namespace
EMBER_STATE_DIR=$dir/state ember-init init -q --instance-id be02
export EMBER_STATE_DIR=$dir/state
ember_side() {
	local t0 i
	t0=$(us)
	for ((i = 0; i < reps; i++)); do
		ember-tap -q create "b$i" --address "10.8.$i.1/30"
		ember-nat -q up "b$i" --guest-ip "10.8.$i.2" --tap "embe02-$(tapsuffix "b$i")"
	done
	for ((i = 0; i < reps; i++)); do
		ember-nat -q down "b$i"
		ember-tap -q delete "b$i"
	done
	e=$(($(us) - t0))
}
# the TAP name ember gives an owner (so that nat up names it without a lookup)
tapsuffix() {
	local s=$1 h=2166136261 k c
	for ((k = 0; k < ${#s}; k++)); do
		printf -v c '%d' "'${s:k:1}"
		h=$(((h ^ c) * 16777619 & 0xffffffff))
	done
	printf '%07x' $((h & 0xfffffff))
}
# the rules ember writes for a VM, one plain iptables command each
ref_rules() { # ref_rules -A|-D TAP GUEST
	iptables -w "$1" FORWARD -s "$3/32" -i "$2" -o up0 -j ACCEPT
	iptables -w "$1" FORWARD -i "$2" -j DROP
	iptables -w "$1" FORWARD -d "$3/32" -o "$2" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	iptables -w "$1" FORWARD -o "$2" -j DROP
	iptables -w "$1" INPUT -i "$2" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	iptables -w "$1" INPUT -i "$2" -j DROP
	iptables -w -t nat "$1" POSTROUTING -s "$3/32" -o up0 -j MASQUERADE
}
plain_side() {
	local t0 i
	t0=$(us)
	for ((i = 0; i < reps; i++)); do
		ip tuntap add dev "ref$i" mode tap
		ip link set dev "ref$i" alias "ember:be02:ref$i"
		ip link set dev "ref$i" addrgenmode none
		ip addr add "10.9.$i.1/30" dev "ref$i"
		ip link set dev "ref$i" mtu 1500 up
		echo 1 >"/proc/sys/net/ipv6/conf/ref$i/disable_ipv6"
		echo 1 >/proc/sys/net/ipv4/ip_forward
		ref_rules -A "ref$i" "10.9.$i.2"
	done
	for ((i = 0; i < reps; i++)); do
		ref_rules -D "ref$i" "10.9.$i.2"
		ip link del dev "ref$i"
	done
	p=$(($(us) - t0))
}
: >"$dir/vm"
for ((r = 0; r < rounds; r++)); do
	if ((r % 2)); then plain_side && ember_side; else ember_side && plain_side; fi
	echo "$e $p" | awk -v n="$reps" '{printf "%.1f %.1f %.4f\n", $1 / n, $2 / n, $1 / $2}' >>"$dir/vm"
done
left=$(( $(ip -o link show | grep -c -e ' ref[0-9]' -e ' embe02-' || true) + $(iptables-save | grep -c -e 'ember:be02:' -e 10.9. || true) ))
[ "$left" = 0 ] || echo "net: warning: $left link(s) or rule(s) left behind"
e=$(cut -d' ' -f1 "$dir/vm" | median)
p=$(cut -d' ' -f2 "$dir/vm" | median)
ratio=$(cut -d' ' -f3 "$dir/vm" | median)
printf 'net: per-VM setup + teardown: ember-tap + ember-nat %.0f us, plain ip + iptables %.0f us per VM\n' "$e" "$p"
printf 'net: per-VM setup + teardown: ratio ember/plain (median of %d interleaved rounds of %d): %.2fx\n' "$rounds" "$reps" "$ratio"

## 2. ember-nat up + down with MANY VMs up against none, in two namespaces
# each namespace is held by a sleeping process; commands enter it with nsenter
netns() { # netns VAR
	unshare -n sleep 100000 </dev/null >/dev/null 2>&1 &
	local pid=$!
	while [ "$(readlink /proc/$pid/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done
	printf -v "$1" %s "$pid"
}
netns N0
netns N1
trap 'kill $N0 $N1 2>/dev/null' EXIT
in0() { nsenter -t "$N0" -n "$@"; }
in1() { nsenter -t "$N1" -n "$@"; }
in0 bash -c "$(declare -f uplink); uplink"
in1 bash -c "$(declare -f uplink); uplink"
ember-init init -q --state-dir "$dir/s0" --instance-id be03
ember-init init -q --state-dir "$dir/s1" --instance-id be03
for ns in in0 in1; do $ns ip tuntap add dev probe mode tap; done
# MANY TAPs in one batch, then MANY ups (each its own ember-nat process)
for ((i = 0; i < many; i++)); do echo "tuntap add dev m$i mode tap"; done | in1 ip -batch -
t0=$(us)
for ((i = 0; i < many; i++)); do
	in1 ember-nat -q up "m$i" --state-dir "$dir/s1" --guest-ip "10.$((64 + i / 16384)).$((i / 64 % 256)).$((i % 64 * 4 + 2))" --tap "m$i"
done
fill=$(($(us) - t0))
# (EMBER_IPTABLES=legacy measures the other backend; the plain commands of 1. stay the default's)
rules=$(in1 "iptables-${EMBER_IPTABLES:+$EMBER_IPTABLES-}save" | grep -c -- '-A ember-be03-\|-A POSTROUTING' || true)
updown() { # updown RUNNER STATE: REPS ups and downs of the probe VM
	local t0 i
	t0=$(us)
	for ((i = 0; i < reps; i++)); do
		"$1" ember-nat -q up probe --state-dir "$2" --guest-ip 10.99.0.2 --tap probe
		"$1" ember-nat -q down probe --state-dir "$2"
	done
	echo $(($(us) - t0))
}
: >"$dir/many"
for ((r = 0; r < rounds; r++)); do
	if ((r % 2)); then b=$(updown in1 "$dir/s1") a=$(updown in0 "$dir/s0"); else a=$(updown in0 "$dir/s0") b=$(updown in1 "$dir/s1"); fi
	echo "$b $a" | awk -v n="$reps" '{printf "%.1f %.1f %.4f\n", $1 / n, $2 / n, $1 / $2}' >>"$dir/many"
done
in1 ember-nat check --state-dir "$dir/s1" >/dev/null || echo "net: warning: drift after the run with $many VMs"
b=$(cut -d' ' -f1 "$dir/many" | median)
a=$(cut -d' ' -f2 "$dir/many" | median)
ratio=$(cut -d' ' -f3 "$dir/many" | median)
awk -v n="$many" -v t="$fill" -v r="$rules" 'BEGIN {
	printf "net: filling: %d ember-nat ups took %.1f s (%.1f ms each on average); %d rules in the chains of the installation\n", n, t / 1e6, t / n / 1e3, r }'
printf 'net: ember-nat up + down: %.0f us with %d VMs up, %.0f us with none\n' "$b" "$many" "$a"
printf 'net: ember-nat up + down: ratio %d VMs/none (median of %d interleaved rounds of %d): %.2fx (goal <= 1.5x)\n' \
	"$many" "$rounds" "$reps" "$ratio"
