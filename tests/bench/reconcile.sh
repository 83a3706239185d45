#!/usr/bin/env bash
# ember-reconcile, in a network namespace of its own, one installation:
#  1. a converged pass over 100 running VMs (stand-ins), then over 1,000,
#     and their ratio (linear: goal <= 12x; goal <= 100 ms at 1,000);
#  2. a pass over the same 1,000 VMs once their processes are dead (each
#     with a TAP, NAT rules, an address and a CID): every VM marked stopped,
#     its TAP and rules torn down (goal <= 2 s).
# Each VM's address, TAP, CID and rules are made by the applets; its record
# and handles.json are written as ember-vm create and start leave them, and
# its process is the Firecracker stand-in started as ember-vm starts it. The
# converged figures are medians of several passes. Never fails on a time.
set -eu
if [ -z "${RECONCILE_BENCH_NETNS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "reconcile: skipped: needs root and network namespaces"
		exit 0
	fi
	command -v iptables >/dev/null || { echo "reconcile: skipped: iptables not found"; exit 0; }
	command -v sqlite3 >/dev/null || { echo "reconcile: skipped: sqlite3 not found"; exit 0; }
	RECONCILE_BENCH_NETNS=1 exec unshare -n -- bash "$0" "$@"
fi
standin=$(dirname "$EMBER")/standin/firecracker
[ -x "$standin" ] || make -s -C "$(dirname "$0")/../.." standin >/dev/null 2>&1 || true
[ -x "$standin" ] || { echo "reconcile: skipped: no stand-in at $standin (make standin)"; exit 0; }
dir=${BENCH_TMP:-$(mktemp -d)}/reconcile
mkdir -p "$dir/bin"
for a in ember-init ember-ipalloc ember-cidalloc ember-tap ember-nat ember-reconcile; do ln -sf "$EMBER" "$dir/bin/$a"; done
export PATH="$dir/bin:$PATH" EMBER_RUN_DIR=$dir/run EMBER_STATE_DIR=$dir/state
few=${RECONCILE_BENCH_FEW:-100} many=${RECONCILE_BENCH_VMS:-1000} runs=${RECONCILE_BENCH_RUNS:-11}
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done' EXIT

us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ip link set lo up
ip link add up0 type veth peer name up0p
ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0
ember-init init -q --instance-id be13
sqlite3 "$EMBER_STATE_DIR/state.db" "
CREATE TABLE IF NOT EXISTS schema_version (subsystem TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT;
INSERT OR IGNORE INTO schema_version VALUES ('vm', 1);
CREATE TABLE vms (name TEXT PRIMARY KEY, kernel TEXT NOT NULL, initrd TEXT, rootfs TEXT, read_only INTEGER NOT NULL, boot_args TEXT NOT NULL, vcpus INTEGER NOT NULL, memory INTEGER NOT NULL, drives TEXT NOT NULL, tap TEXT, mac TEXT, guest_ip TEXT, host_ip TEXT, mtu INTEGER, cid INTEGER, api_sock TEXT NOT NULL, vsock_uds TEXT, state TEXT NOT NULL CHECK (state IN ('created', 'starting', 'running', 'stopped', 'failed')), reason TEXT, started INTEGER, created INTEGER NOT NULL) STRICT;"

# vms FROM TO: VMs vFROM .. vTO-1, each with its runtime, record and process.
vms() {
	local i n g h p rest t c d sql=
	for ((i = $1; i < $2; i++)); do
		n=v$i d=$EMBER_STATE_DIR/vms/$n
		read -r _ g h p rest < <(ember-ipalloc alloc $n)
		read -r _ t rest < <(ember-tap create $n --address "$h/$p")
		read -r _ c < <(ember-cidalloc alloc $n)
		ember-nat -q up $n --guest-ip "$g" --tap "$t"
		mkdir -p "$d"
		"$standin" --api-sock "$d/firecracker.sock" --id $n </dev/null >/dev/null 2>&1 &
		pids+=($!)
		sql+="INSERT INTO vms VALUES ('$n', '/vmlinux', NULL, NULL, 0, 'console=ttyS0', 1, 128, '[]', '$t', NULL, '$g', '$h/$p', NULL, $c, '$d/firecracker.sock', '$d/vsock.sock', 'running', NULL, strftime('%s'), strftime('%s'));"
	done
	printf 'BEGIN; %s COMMIT;\n' "$sql" | sqlite3 "$EMBER_STATE_DIR/state.db"
	for ((i = $1; i < $2; i++)); do
		p=${pids[i]} d=$EMBER_STATE_DIR/vms/v$i
		printf '{"pid":%s,"start_time":"%s","api_sock":"%s","vsock_uds":null}' "$p" \
			"$(sed 's/.*) //' "/proc/$p/stat" | cut -d' ' -f20)" "$d/firecracker.sock" >"$d/handles.json"
	done
	ember-reconcile -q # the hosts file
}
# converged N: the median time of a pass that finds nothing to do, in ms.
converged() {
	local i t0 out
	for ((i = 0; i < runs; i++)); do
		t0=$(us)
		out=$(ember-reconcile)
		echo $(($(us) - t0))
		[ -z "$out" ] || echo "reconcile: warning: a converged pass did something: $out" >&2
	done | median | awk '{printf "%.1f", $1 / 1000}'
}

t0=$(us)
vms 0 "$few"
c_few=$(converged)
vms "$few" "$many"
setup=$((($(us) - t0) / 1000000))
c_many=$(converged)
for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
t0=$(us)
ember-reconcile >"$dir/report"
dead=$((($(us) - t0) / 1000))
stopped=$(grep -c ' mark-stopped ok$' "$dir/report" || true)
taps=$(grep -c '^tap .* teardown ok$' "$dir/report" || true)
left=$(ip -o link show | grep -c 'embe13-' || true)
[ "$stopped" = "$many" ] && [ "$taps" = "$many" ] && [ "$left" = 0 ] ||
	echo "reconcile: warning: the dead pass left something: $stopped stopped, $taps TAPs torn down, $left TAPs left"
printf 'reconcile: a pass over %d dead VMs (TAP, rules, address, CID each): %d ms (goal <= 2000)\n' "$many" "$dead"
printf 'reconcile: a converged pass: %s ms at %d running VMs (goal <= 100), %s ms at %d\n' "$c_many" "$many" "$c_few" "$few"
awk -v a="$c_many" -v b="$c_few" -v n="$many" -v m="$few" 'BEGIN {
	printf "reconcile: converged at %d / at %d: %.1fx (linear: goal <= 12x)\n", n, m, a / b }'
printf 'reconcile: (setup of %d VMs through the applets: %d s; %d passes per converged figure)\n' "$many" "$setup" "$runs"
