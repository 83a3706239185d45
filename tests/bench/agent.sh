#!/usr/bin/env bash
# ember-agent through hybrid vsock (the stand-in's, with the agent as its
# guest) against the references the issue names:
# - an exec round trip of `true` (tests/agent/agent-client: CONNECT 1024,
#   the exec, its result) against `ssh` (OpenSSH, key auth) to an sshd in
#   the same network namespace, as the median of per-round ratios over
#   interleaved rounds (tests/bench/interleave.c). Goal <= 0.1.
# - file copy throughput of a 256 MiB file each way (write_file, read_file)
#   against a plain byte copy through the same hybrid vsock socket (CONNECT
#   to a guest port where a copier writes or reads the file: the limit).
#   Goal >= 0.7 of it. Also against that copy with an fsync of the file it
#   wrote (what cp does, for durability), as a like-for-like figure. Every
#   copy goes into a destination that does not exist yet, after a sync
#   (untimed), in interleaved rounds (BENCH_CP_ROUNDS, 5): the medians.
# Run in a network namespace of its own; it never fails on a time.
set -u
if [ -z "${BENCH_IN_NETNS:-}" ]; then
	BENCH_IN_NETNS=1 exec unshare -n -- bash "$0" "$@"
fi
ip link set lo up
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
STANDIN=$BUILD/standin/firecracker
CLIENT=$BUILD/tests/agent-client
made_tmp=
if [ -z "${BENCH_TMP:-}" ]; then BENCH_TMP=$(mktemp -d) made_tmp=$BENCH_TMP; fi # run alone: ours to remove
T=$BENCH_TMP/agent
mkdir -p "$T/bin"
for x in "$STANDIN" "$CLIENT"; do
	[ -x "$x" ] || { echo "agent: $x missing (make standin $BUILD/tests/agent-client)"; exit 1; }
done
[ -x "$T/../interleave" ] || cc -O2 -o "$T/../interleave" "$here/interleave.c" || exit 1
ln -sf "$EMBER" "$T/bin/ember-agent"
export PATH="$T/bin:$PATH"
PY=/usr/bin/python3
pids=()
made_run_sshd=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -z "$made_run_sshd" ] || rmdir /run/sshd 2>/dev/null
	[ -z "$made_tmp" ] || rm -rf "$made_tmp"
}
trap cleanup EXIT

# the guest: the agent, and a plain copier on vsock port 9 (the reference:
# tests/bench/rawcat.py, as exec.sh's)
SOCK=$T/api.sock V=$T/v.sock
head -c 4096 /dev/zero >"$T/vmlinux"
EMBER_STANDIN_GUEST="$PY '$here/rawcat.py' serve \"\$EMBER_STANDIN_VSOCK_DIR/9\" & exec ember-agent serve --uds \"\$EMBER_STANDIN_VSOCK_DIR/1024\"" \
	"$STANDIN" --api-sock "$SOCK" --id bench >"$T/standin.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do [ -S "$SOCK" ] && break; sleep 0.05; done
api() { curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X PUT "http://localhost$1" -d "$2"; }
api /boot-source "{\"kernel_image_path\":\"$T/vmlinux\",\"boot_args\":\"console=ttyS0\"}" >/dev/null
api /vsock "{\"guest_cid\":3,\"uds_path\":\"$V\"}" >/dev/null
api /actions '{"action_type":"InstanceStart"}' >/dev/null
"$CLIENT" --hvsock "$V" --timeout-ms 10000 wait >/dev/null || { echo "agent: the agent did not come up"; exit 1; }

## exec round trip against ssh
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && made_run_sshd=1; fi
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" && ssh-keygen -q -t ed25519 -N '' -f "$T/userkey" || exit 1
cp "$T/userkey.pub" "$T/authorized_keys"
cat >"$T/sshd_config" <<EOF2
Port 2222
ListenAddress 127.0.0.1
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $T/sshd.pid
EOF2
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
pids+=($!)
SSH=("$(command -v ssh)" -q -i "$T/userkey" -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes root@127.0.0.1 true)
for ((i = 0; i < 100; i++)); do "${SSH[@]}" 2>/dev/null && break; sleep 0.05; done
"${SSH[@]}" || { echo "agent: sshd did not answer: $(tail -3 "$T/sshd.log")"; exit 1; }
rounds=${BENCH_ROUNDS:-21} reps=${BENCH_REPS:-5}
read -r a_us s_us ratio < <("$T/../interleave" "$rounds" "$reps" "$CLIENT" --hvsock "$V" exec true -- "${SSH[@]}")
printf 'agent: exec true round trip: %.0f us; ssh true: %.0f us; ratio agent/ssh (median of %d interleaved rounds of %d): %sx (goal <= 0.1x)\n' \
	"$a_us" "$s_us" "$rounds" "$reps" "$ratio"

## copy throughput against a plain copy through the same socket
size=$((256 * 1024 * 1024))
head -c "$size" /dev/urandom >"$T/f256"
mbs() { awk -v b="$size" -v ns="$1" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'; }
now() { date +%s%N; }
# plain: rawcat.py through CONNECT 9, the bytes and nothing else; in+fsync
# and out+fsync also fsync the file written, as cp does
plain() { # in|in+fsync|out|out+fsync PATH LOCAL
	local op
	case $1 in
	in) op="put" ;;
	in+fsync) op="put+fsync" ;;
	out) op="get" ;;
	out+fsync) op="get+fsync" ;;
	esac
	$PY "$here/rawcat.py" "$op" "$V" 9 "$3" "$2"
}
# Rounds interleaved, each copy timed alone: its destination removed and
# everything written back first (untimed), so that no copy pays for the one
# before it (its dirty pages, a file to replace); the median of each kind.
rounds=${BENCH_CP_ROUNDS:-5}
prep() { rm -f "$1" && sync; }
timed() { # CMD...: its time in ns
	local t0 t1
	t0=$(now)
	"$@" >/dev/null || return 1
	t1=$(now)
	echo $((t1 - t0))
}
for k in w pw pws r pr prs; do : >"$T/t.$k"; done
for ((i = 0; i < rounds; i++)); do
	prep "$T/g-agent" && timed "$CLIENT" --hvsock "$V" write "$T/f256" "$T/g-agent" >>"$T/t.w"
	prep "$T/g-plain" && timed plain in "$T/g-plain" "$T/f256" >>"$T/t.pw"
	prep "$T/g-plain" && timed plain in+fsync "$T/g-plain" "$T/f256" >>"$T/t.pws"
	prep "$T/h-agent" && timed "$CLIENT" --hvsock "$V" read "$T/g-agent" "$T/h-agent" >>"$T/t.r"
	prep "$T/h-plain" && timed plain out "$T/g-plain" "$T/h-plain" >>"$T/t.pr"
	prep "$T/h-plain" && timed plain out+fsync "$T/g-plain" "$T/h-plain" >>"$T/t.prs"
done
cmp -s "$T/f256" "$T/h-agent" || echo "agent: the copy back differs!"
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
for d in in out; do
	if [ $d = in ]; then a=w p=pw ps=pws what="in (write_file)"; else a=r p=pr ps=prs what="out (read_file)"; fi
	a_ns=$(median "$T/t.$a") p_ns=$(median "$T/t.$p") ps_ns=$(median "$T/t.$ps")
	echo "agent: cp $what 256 MiB: $(mbs "$a_ns") MB/s; plain copy: $(mbs "$p_ns") MB/s, ratio $(ratio "$p_ns" "$a_ns") (goal >= 0.7);" \
		"plain copy + fsync (cp's durability): $(mbs "$ps_ns") MB/s, ratio $(ratio "$ps_ns" "$a_ns") (medians of $rounds interleaved rounds)"
done
