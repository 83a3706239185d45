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

# One round: REPS creates then REPS deletes with ember-tap, then the same with
# ip; creates and deletes are timed apart, so a create never pays for the
# kernel's clean-up after the delete just before it.
: >"$dir/create" && : >"$dir/both"
for ((r = 0; r < rounds; r++)); do
	t0=$(us)
	for ((i = 0; i < reps; i++)); do ember-tap -q create "b$i" --address "10.8.$i.1/30"; done
	t1=$(us)
	for ((i = 0; i < reps; i++)); do ember-tap -q delete "b$i"; done
	t2=$(us)
	for ((i = 0; i < reps; i++)); do
		ip -batch - <"$dir/create$i.batch"
		echo 1 >"/proc/sys/net/ipv6/conf/ref$i/disable_ipv6"
	done
	t3=$(us)
	for ((i = 0; i < reps; i++)); do ip -batch - <"$dir/delete$i.batch"; done
	t4=$(us)
	echo "$((t1 - t0)) $((t3 - t2))" | awk -v n="$reps" '{printf "%.1f %.1f %.4f\n", $1 / n, $2 / n, $1 / $2}' >>"$dir/create"
	echo "$((t2 - t0)) $((t4 - t2))" | awk -v n="$reps" '{printf "%.1f %.1f %.4f\n", $1 / n, $2 / n, $1 / $2}' >>"$dir/both"
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
