#!/usr/bin/env bash
# The state database under faults, in mount and network namespaces of this
# file's own: read-only, locked past its timeout by another process, a
# reading verb locked out, state.db copied alone as a backup, and a full
# disk (a small tmpfs). A command that cannot write its record changes
# nothing in the kernel. DBF_BACKEND=nft|legacy picks the iptables backend
# (db-faults-xtables-legacy.sh runs this file again on iptables-legacy).
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for mount and network namespaces"
if [ -z "${T_IN_MOUNTNS:-}" ]; then
	command -v unshare >/dev/null || skip_all "unshare not found"
	unshare -m -n true 2>/dev/null || skip_all "mount and network namespaces unavailable"
	rm -rf "$T_TMP"
	T_IN_MOUNTNS=1 T_IN_NETNS=1 exec unshare -m -n -- bash "$0" "$@"
fi
mount --make-rprivate /
ip link set lo up
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
command -v python3 >/dev/null || skip_all "python3 not found"
iptables_backend "${DBF_BACKEND:-}"
export EMBER_IPTABLES=$B EMBER_RUN_DIR=$T_TMP/run EMBER_VSOCK_DEVICE=$T_TMP/no-vhost-vsock
echo "# backend: $B"

ip link add up0 type veth peer name up0p
ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0

# what the kernel and the database hold
snapshot() {
	"iptables-$B-save" | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'
	ip -d link show
	ip -4 addr show
	sqlite3 "$EMBER_STATE_DIR/state.db" .dump
}
# hold MODE: another process keeps the state database locked (immediate: its
# write lock; exclusive: every lock) until release
hold() {
	rm -f "$T_TMP/held" "$T_TMP/release"
	python3 - "$EMBER_STATE_DIR/state.db" "$1" "$T_TMP/held" "$T_TMP/release" <<'EOF' &
import os, sqlite3, sys, time
db, mode, held, release = sys.argv[1:]
c = sqlite3.connect(db, isolation_level=None, timeout=30)
if mode == "exclusive":
    c.execute("PRAGMA locking_mode=EXCLUSIVE")
    c.execute("BEGIN EXCLUSIVE")
else:
    c.execute("BEGIN IMMEDIATE")
open(held, "w").close()
while not os.path.exists(release):
    time.sleep(0.05)
c.execute("ROLLBACK")
EOF
	HOLDER=$!
	at_exit "touch '$T_TMP/release'"
	wait_until "[ -e '$T_TMP/held' ]"
}
release() { touch "$T_TMP/release" && wait "$HOLDER"; }

ember-init init -q --ip-subnet 10.88.0.0/16
ember-tap -q create t1 --address 10.8.0.1/30
t1=$(ember-tap show t1 | cut -d' ' -f2)
ip tuntap add dev tapx mode tap
ember-nat -q up t1 --guest-ip 10.8.0.2 --tap "$t1"
ember-ipalloc -q alloc a1
db=$EMBER_STATE_DIR/state.db

## a read-only database: every change fails before the kernel changes
before=$(snapshot)
mount --bind -o ro "$db" "$db"
at_exit "umount '$db'"
check "nat down: 111" 111 "" ember-nat down t1
like "  saying the database cannot be written" "$T_ERR" "*unable to update the state database: it is read-only*"
check "nat up of a new owner: 111" 111 "" ember-nat up t2 --guest-ip 10.8.0.6 --tap tapx
check "nat flush: 111" 111 "" ember-nat flush
check "tap delete: 111" 111 "" ember-tap delete t1
check "tap create: 111" 111 "" ember-tap create t3 --address 10.8.0.9/30
check "ipalloc release: 111" 111 "" ember-ipalloc release a1
check "reading works: nat show" 0 "t1 10.8.0.2 $t1 up0 - up" ember-nat show t1
umount "$db"
is "nothing changed in the kernel or the database" "$(snapshot)" "$before"

## the database locked past its timeout by another process
hold immediate
nb=0 pids=()
for v in "ember-nat down t1" "ember-nat up t2 --guest-ip 10.8.0.6 --tap tapx" "ember-tap delete t1" "ember-tap create t3 --address 10.8.0.9/30"; do
	nb=$((nb + 1))
	$v >/dev/null 2>"$T_TMP/busy.$nb" &
	pids+=($!)
done
rcs=
for p in "${pids[@]}"; do
	wait "$p"
	rcs+="$? "
done
release
is "nat down, nat up, tap delete, tap create waited, then gave up: 111" "$rcs" "111 111 111 111 "
like "  saying the database is busy" "$(cat "$T_TMP"/busy.*)" "*the state database is busy*"
is "nothing changed in the kernel or the database" "$(snapshot)" "$before"
check "once it is free, nat down works" 0 "t1 10.8.0.2 $t1 up0 - down" ember-nat down t1
ember-nat -q up t1 --guest-ip 10.8.0.2 --tap "$t1"

## a reading verb locked out
hold exclusive
check "ipalloc list while another process holds every lock: 111" 111 "" ember-ipalloc list
like "  saying it could not read" "$T_ERR" "ember-ipalloc: unable to read the state database: the state database is busy*"
release

## state.db alone is a backup once the commands are done
mkdir "$T_TMP/copy"
cp "$EMBER_STATE_DIR/config.json" "$db" "$T_TMP/copy/"
check "a copy of state.db alone holds every record: ipalloc" 0 "$(ember-ipalloc list)" ember-ipalloc list --state-dir "$T_TMP/copy"
check "  tap" 0 "t1 $t1 10.8.0.1/30 1500 - - up" ember-tap list --state-dir "$T_TMP/copy"
check "  nat" 0 "t1 10.8.0.2 $t1 up0 - up" ember-nat list --state-dir "$T_TMP/copy"
check "the original is intact" 0 "ok" sqlite3 "$db" "PRAGMA integrity_check"
ember-nat -q flush
ember-tap -q delete t1

## a full disk: what frees space still works, and the message says so
mkdir "$T_TMP/small"
mount -t tmpfs -o size=1m tmpfs "$T_TMP/small"
at_exit "umount '$T_TMP/small'"
new_state
EMBER_STATE_DIR=$T_TMP/small/state
ember-init init -q --ip-subnet 10.89.0.0/16
ember-tap -q create f1 --address 10.9.0.1/30
f1=$(ember-tap show f1 | cut -d' ' -f2)
ember-nat -q up f1 --guest-ip 10.9.0.2 --tap "$f1"
ember-ipalloc -q alloc keep
ember-ipalloc -q alloc keep2
dd if=/dev/zero of="$T_TMP/small/fill" bs=4k 2>/dev/null
check "alloc on a full disk: 111" 111 "" ember-ipalloc alloc f0
like "  saying the disk is full and what to do" "$T_ERR" "ember-ipalloc: *the disk is full
hint: free space on the state directory's filesystem*releasing or deleting*"
check "  and it holds nothing" 1 "" ember-ipalloc show f0
check "tap create on a full disk: 111" 111 "" ember-tap create f2 --address 10.9.0.5/30
ok "  which made no link" bash -c "! ember-tap list | awk '\$1 == \"f2\"' | grep -q ."
check "ipalloc release works on the full disk" 0 "*" ember-ipalloc release keep
check "  and again" 0 "*" ember-ipalloc release keep2
check "nat down works" 0 "f1 10.9.0.2 $f1 up0 - down" ember-nat down f1
check "tap delete works" 0 "f1 $f1 yes" ember-tap delete f1
ok "  the TAP is gone" bash -c "! ip link show dev $f1 2>/dev/null"
check "what they released is gone from the records" 1 "" ember-ipalloc show keep
check "the records are consistent" 0 "" ember-ipalloc check
check "the database is intact" 0 "ok" sqlite3 "$EMBER_STATE_DIR/state.db" "PRAGMA integrity_check"
rm -f "$T_TMP/small/fill"
check "with space again, alloc works" 0 "*" ember-ipalloc alloc again

done_testing
