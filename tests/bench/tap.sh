#!/usr/bin/env bash
# ember-tap create (and delete) against a bare `ip -batch` doing the same
# operations: the same five batch lines (tuntap add, alias, addrgenmode none,
# address, mtu + up) and the disable_ipv6 write, then `link del`. Rounds are
# interleaved (ember then ip, REPS TAPs each), so drift hits both alike; the
# figure is the median of the per-round ratios. Goal: <= 1.3x. It runs in a
# network namespace of its own and never fails on a time.
set -eu
if [ -z "${TAP_BENCH_NETNS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "tap: skipped: needs root and network namespaces"
		exit 0
	fi
	TAP_BENCH_NETNS=1 exec unshare -n -- bash "$0" "$@"
fi
ip link set lo up
dir=${BENCH_TMP:-$(mktemp -d)}/tap
mkdir -p "$dir/bin"
ln -sf "$EMBER" "$dir/bin/ember-tap"
ln -sf "$EMBER" "$dir/bin/ember-init"
export PATH="$dir/bin:$PATH" EMBER_STATE_DIR=$dir/state
ember-init init -q --instance-id be01
rounds=${TAP_BENCH_ROUNDS:-21} reps=${TAP_BENCH_REPS:-10}

# the reference: the same batch ember-tap runs, for TAPs ref0, ref1, ...
for ((i = 0; i < reps; i++)); do
	printf '%s\n' "tuntap add dev ref$i mode tap" "link set dev ref$i alias ember:be01:ref$i" \
		"link set dev ref$i addrgenmode none" "address add 10.9.$i.1/30 dev ref$i" \
		"link set dev ref$i mtu 1500 up" >"$dir/create$i.batch"
	echo "link del dev ref$i" >"$dir/delete$i.batch"
done

us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# One side of a round: REPS creates then REPS deletes, timed apart, so a
# create never pays for the kernel's clean-up after the delete just before it.
ember_side() {
	local t0 t1 t2 i
	t0=$(us)
	for ((i = 0; i < reps; i++)); do ember-tap -q create "b$i" --address "10.8.$i.1/30"; done
	t1=$(us)
	for ((i = 0; i < reps; i++)); do ember-tap -q delete "b$i"; done
	t2=$(us)
	ec=$((t1 - t0)) ed=$((t2 - t1))
}
ip_side() {
	local t0 t1 t2 i
	t0=$(us)
	for ((i = 0; i < reps; i++)); do
		ip -batch - <"$dir/create$i.batch"
		echo 1 >"/proc/sys/net/ipv6/conf/ref$i/disable_ipv6"
	done
	t1=$(us)
	for ((i = 0; i < reps; i++)); do ip -batch - <"$dir/delete$i.batch"; done
	t2=$(us)
	ic=$((t1 - t0)) id=$((t2 - t1))
}
# what any ember command costs before it does anything: its own process
start_side() {
	local t0 t1 t2 i
	t0=$(us)
	for ((i = 0; i < reps; i++)); do ember-tap --version >/dev/null; done
	t1=$(us)
	for ((i = 0; i < reps; i++)); do /bin/true; done
	t2=$(us)
	es=$((t1 - t0)) ts=$((t2 - t1))
}

# Rounds alternate which side goes first (ABBA), so neither always follows
# the other's deletes.
: >"$dir/create" && : >"$dir/both" && : >"$dir/start"
for ((r = 0; r < rounds; r++)); do
	if ((r % 2)); then ip_side && ember_side; else ember_side && ip_side; fi
	start_side
	echo "$ec $ic" | awk -v n="$reps" '{printf "%.1f %.1f %.4f\n", $1 / n, $2 / n, $1 / $2}' >>"$dir/create"
	echo "$((ec + ed)) $((ic + id))" | awk -v n="$reps" '{printf "%.1f %.1f %.4f\n", $1 / n, $2 / n, $1 / $2}' >>"$dir/both"
	echo "$es $ts" | awk -v n="$reps" '{printf "%.1f %.1f\n", $1 / n, $2 / n}' >>"$dir/start"
done
left=$(ip -o link show | grep -c -e ' ref[0-9]' -e ' embe01-' || true)
[ "$left" = 0 ] || echo "tap: warning: $left link(s) left behind"

for what in create both; do
	e=$(cut -d' ' -f1 "$dir/$what" | median)
	i=$(cut -d' ' -f2 "$dir/$what" | median)
	ratio=$(cut -d' ' -f3 "$dir/$what" | median)
	if [ $what = create ]; then
		printf 'tap: create: ember-tap create %.0f us, bare ip -batch %.0f us per TAP\n' "$e" "$i"
		printf 'tap: create: ratio ember/ip (median of %d interleaved rounds of %d): %.2fx\n' "$rounds" "$reps" "$ratio"
	else
		printf 'tap: create + delete: ember-tap %.0f us, bare ip -batch %.0f us per TAP\n' "$e" "$i"
		printf 'tap: create + delete: ratio ember/ip (median of %d interleaved rounds of %d): %.2fx (goal <= 1.3x)\n' "$rounds" "$reps" "$ratio"
	fi
done
e=$(cut -d' ' -f1 "$dir/start" | median)
t=$(cut -d' ' -f2 "$dir/start" | median)
printf 'tap: for scale: one process start here costs %.0f us (ember-tap --version; /bin/true %.0f us);\n' "$e" "$t"
printf 'tap:   ember-tap create is that plus the same ip -batch as the reference, a database lookup and insert\n'
