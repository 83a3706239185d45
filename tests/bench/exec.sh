#!/usr/bin/env bash
# ember-vm exec and cp through the guest agent, against the stand-in whose
# guest runs ember-agent (and sshd, and a raw byte sink), in a network
# namespace of its own:
# - `ember-vm exec NAME -- true` against `ssh` (OpenSSH, key auth) to an
#   sshd in the guest's namespace over the VM's network (a TAP): the median
#   of per-round ratios, rounds interleaved. Goal: <= 0.1.
# - cp of a 256 MiB file each way, in MB/s, against raw bytes through the
#   same hybrid vsock path (tests/bench/rawcat.py, the limit). Goal: >= 0.7.
#   Also against those raw bytes with an fsync of the file written (cp's
#   durability). Each copy goes into a destination that does not exist,
#   after a sync (both untimed), so none pays for the one before it.
set -eu
if [ -z "${BENCH_IN_NETNS:-}" ]; then
	BENCH_IN_NETNS=1 exec unshare -n -- bash "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
ip link set lo up
dir=$BENCH_TMP/exec
mkdir -p "$dir/bin" "$dir/g" "$dir/ssh"
for a in ember-vm ember-init ember-agent; do ln -sf "$EMBER" "$dir/bin/$a"; done
standin=$(dirname "$EMBER")/standin
[ -x "$standin/firecracker" ] || make -C "$top" -s "$(dirname "$EMBER")/standin/firecracker" >/dev/null
export PATH="$dir/bin:$standin:$PATH" EMBER_STATE_DIR=$dir/state
unset EMBER_FIRECRACKER EMBER_STANDIN_FAIL EMBER_STANDIN_HANG EMBER_STANDIN_EXIT_AT EMBER_STANDIN_TRANSCRIPT

# sshd for the guest: key auth only, on the guest's own address
s=$dir/ssh
ssh-keygen -q -t ed25519 -N '' -f "$s/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$s/client_key"
cp "$s/client_key.pub" "$s/authorized_keys"
cat >"$s/sshd_config" <<CFG
Port 22
ListenAddress 0.0.0.0
HostKey $s/host_key
AuthorizedKeysFile $s/authorized_keys
PidFile $s/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
CFG
mkdir -p /run/sshd # sshd's privilege separation directory (Debian's unit makes it)

ember-init init -q --instance-id b012
ip tuntap add dev tapb mode tap && ip addr add 10.0.0.1/30 dev tapb && ip link set tapb up
# shellcheck disable=SC2016
export EMBER_STANDIN_GUEST="/usr/sbin/sshd -f $s/sshd_config -E $s/sshd.log;
python3 $here/rawcat.py serve \"\$EMBER_STANDIN_VSOCK_DIR/1025\" &
exec ember-agent serve --uds \"\$EMBER_STANDIN_VSOCK_DIR/1024\""
trap 'ember-vm -q stop --all --force 2>/dev/null; [ -s "$s/sshd.pid" ] && kill "$(cat "$s/sshd.pid")" 2>/dev/null; true' EXIT
ember-vm -q create b1 --kernel "$EMBER" --no-rootfs --tap tapb --guest-ip 10.0.0.2 --host-ip 10.0.0.1/30 --cid 3
ember-vm -q start b1 --wait 10
ssh_cmd=(ssh -i "$s/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o BatchMode=yes -o LogLevel=ERROR root@10.0.0.2 true)
for ((i = 0; i < 100; i++)); do "${ssh_cmd[@]}" 2>/dev/null && break; sleep 0.1; done
"${ssh_cmd[@]}"

rounds=21 reps=3
read -r ember_us ssh_us ratio < <(INTERLEAVE_SEP=::: "$BENCH_TMP/interleave" $rounds $reps \
	"$dir/bin/ember-vm" exec b1 -- true ::: "$(command -v ssh)" "${ssh_cmd[@]:1}")
echo "exec: ember-vm exec -- true $(printf %.0f "$ember_us") us, ssh true $(printf %.0f "$ssh_us") us per round trip"
echo "exec: ratio ember-vm exec / ssh (median of $rounds interleaved rounds of $reps): ${ratio}x (goal <= 0.1)"

# cp 256 MiB each way, against raw bytes on the same path (and with an
# fsync, as cp does); rounds interleaved, each copy into a new destination
uds=$(realpath "$EMBER_STATE_DIR")/vms/b1/vsock.sock
head -c 256M /dev/urandom >"$dir/big"
mb=$((256 * 1048576))
secs() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(((t1 - t0) / 1000)); }
rate() { awk -v b=$mb -v us="$1" 'BEGIN { printf "%.0f", b / us }'; } # bytes/us = MB/s
median() { sort -n | awk '{v[NR] = $1} END { print v[int((NR + 1) / 2)] }'; }
prep() { rm -f "$1" && sync; }
for k in in_cp in_cat in_sync out_cp out_cat out_sync; do : >"$dir/$k"; done
for ((r = 0; r < 5; r++)); do
	prep "$dir/g/big" && secs ember-vm -q cp "$dir/big" "b1:$dir/g/big" >>"$dir/in_cp"
	prep "$dir/g/raw" && secs python3 "$here/rawcat.py" put "$uds" 1025 "$dir/big" "$dir/g/raw" >>"$dir/in_cat"
	prep "$dir/g/raw" && secs python3 "$here/rawcat.py" put+fsync "$uds" 1025 "$dir/big" "$dir/g/raw" >>"$dir/in_sync"
	prep "$dir/back" && secs ember-vm -q cp "b1:$dir/g/big" "$dir/back" >>"$dir/out_cp"
	prep "$dir/rawback" && secs python3 "$here/rawcat.py" get "$uds" 1025 "$dir/rawback" "$dir/g/raw" >>"$dir/out_cat"
	prep "$dir/rawback" && secs python3 "$here/rawcat.py" get+fsync "$uds" 1025 "$dir/rawback" "$dir/g/raw" >>"$dir/out_sync"
done
cmp -s "$dir/big" "$dir/back" || echo "exec: cp round trip is NOT byte-exact"
cmp -s "$dir/big" "$dir/rawback" || echo "exec: raw round trip is NOT byte-exact"
for d in in out; do
	cp_r=$(rate "$(median <"$dir/${d}_cp")")
	cat_r=$(rate "$(median <"$dir/${d}_cat")")
	sync_r=$(rate "$(median <"$dir/${d}_sync")")
	[ $d = in ] && what="host -> guest" || what="guest -> host"
	echo "exec: cp 256 MiB $what: ember-vm cp $cp_r MB/s, raw bytes on the same vsock path $cat_r MB/s," \
		"ratio $(awk -v a="$cp_r" -v b="$cat_r" 'BEGIN { printf "%.2f", a / b }') (goal >= 0.7);" \
		"raw bytes + fsync (cp's durability) $sync_r MB/s," \
		"ratio $(awk -v a="$cp_r" -v b="$sync_r" 'BEGIN { printf "%.2f", a / b }') (medians of 5)"
done
