#!/usr/bin/env bash
# ember-cidalloc: every verb plain and -j, exit codes, bad input, the probe
# of a device that cannot answer, and check's anomalies.
. "$(dirname "$0")/../lib.sh"

dump() { sqlite3 "$EMBER_STATE_DIR/state.db" .dump; }
cids() { sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT owner, range, slot FROM cidalloc_leases ORDER BY slot"; }
# This machine has no /dev/vhost-vsock; where one exists the probe is real and
# a CID another VM holds would be skipped, so pin the cases to "no device".
export EMBER_VSOCK_DEVICE=$T_TMP/no-vhost-vsock

check "alloc without an installation exits 100" 100 "" ember-cidalloc alloc vm1
like "saying so" "$T_ERR" "ember-cidalloc: no ember installation in '*'*"
ember-init init --ip-subnet 10.123.0.0/16 >/dev/null || echo "Bail out! ember-init init failed"

check "list of nothing prints nothing" 0 "" ember-cidalloc list
check "list -j of nothing is an empty array" 0 "[]" ember-cidalloc list -j
check "check of nothing is clean" 0 "" ember-cidalloc check
check "show of an unknown owner exits 1" 1 "" ember-cidalloc show vm1
like "saying so" "$T_ERR" "ember-cidalloc: 'vm1' holds no CID"
check "the first CID is 3" 0 "vm1 3" ember-cidalloc alloc vm1
check "then 4" 0 "vm2 4" ember-cidalloc alloc vm2
check "alloc -j prints one object" 0 '{"owner":"vm3","cid":5}' ember-cidalloc alloc vm3 -j
check "alloc again prints the same" 0 "vm1 3" ember-cidalloc alloc vm1
check "ember cidalloc dispatches the same" 0 "vm1 3" ember cidalloc alloc vm1
read -r owner cid < <(ember-cidalloc alloc vm2)
is "a script reads owner and cid" "$owner $cid" "vm2 4"
check "show" 0 "vm2 4" ember-cidalloc show vm2
check "show -j" 0 '{"owner":"vm2","cid":4}' ember-cidalloc show vm2 -j
check "list, by CID" 0 "vm1 3
vm2 4
vm3 5" ember-cidalloc list
check "list -j" 0 '[{"owner":"vm1","cid":3},{"owner":"vm2","cid":4},{"owner":"vm3","cid":5}]' ember-cidalloc list -j
check "release prints what was released" 0 "vm2 4" ember-cidalloc release vm2
check "release of an absent owner succeeds quietly" 0 "" ember-cidalloc release vm2
check "the lowest free CID is handed out next" 0 "vm4 4" ember-cidalloc alloc vm4
check "then the ones above" 0 "vm5 6" ember-cidalloc alloc vm5
check "release -j" 0 '{"owner":"vm5","cid":6}' ember-cidalloc release vm5 -j
is "the database holds what was printed" "$(cids)" "vm1|vsock|3
vm4|vsock|4
vm3|vsock|5"
is "and the IP allocator's tables are untouched" \
	"$(sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'ipalloc%'")" 0
check "check is clean" 0 "" ember-cidalloc check

## the probe: a device that exists but cannot answer fails the allocation
before=$(dump)
check "a device that is not vhost-vsock: 111" 111 "" env EMBER_VSOCK_DEVICE=/dev/null ember-cidalloc alloc vm6
like "naming the CID, the device and the cause" "$T_ERR" "ember-cidalloc: unable to probe vsock CID 6 with '/dev/null': Inappropriate ioctl for device"
is "and records nothing" "$(dump)" "$before"
check "an existing allocation is not probed again" 0 "vm1 3" env EMBER_VSOCK_DEVICE=/dev/null ember-cidalloc alloc vm1
if [ -e /dev/vhost-vsock ]; then
	check "the real device: a CID is allocated" 0 "*" env -u EMBER_VSOCK_DEVICE ember-cidalloc alloc vm7
else
	skip "the real /dev/vhost-vsock" "no /dev/vhost-vsock on this machine (the probe's decisions are unit-tested)"
fi

## bad input
bad() { # TITLE STDERR_PATTERN COMMAND...
	local title=$1 pattern=$2 before
	shift 2
	before=$(dump)
	check "$title: exit 100" 100 "" "$@"
	like "$title: says why" "$T_ERR" "$pattern"
	is "$title: database unchanged" "$(dump)" "$before"
}
bad "an invalid owner" "ember-cidalloc: invalid owner 'VM1'*" ember-cidalloc alloc VM1
bad "an owner with a slash" "*invalid owner 'a/b'*" ember-cidalloc release a/b
bad "an unknown option" "ember-cidalloc: unknown option '--subnet'*" ember-cidalloc alloc vm9 --subnet 10.0.0.0/8
bad "alloc without an owner" "*'alloc' needs an operand*" ember-cidalloc alloc
bad "two owners" "*unexpected operand 'vm8'*" ember-cidalloc show vm9 vm8
bad "an unknown verb" "*unknown verb 'free'*" ember-cidalloc free vm1
bad "a missing state directory" "*no ember installation in '$T_TMP/nowhere'*" ember-cidalloc alloc vm9 --state-dir "$T_TMP/nowhere"
ok "which is not created" test ! -e "$T_TMP/nowhere"
check "--help prints the usage text" 0 "*" ember-cidalloc --help
like "naming every verb, the fields and the exit codes" "$T_OUT" "usage: ember-cidalloc*alloc OWNER*release OWNER*show OWNER*list*check*owner cid*exit codes*"

## check: what only a hand could write
db=$EMBER_STATE_DIR/state.db
ok "a CID below 3" sqlite3 "$db" "INSERT INTO cidalloc_leases VALUES ('vsock', 2, 'low', 0)"
ok "a CID held twice, across ranges" sqlite3 "$db" "INSERT INTO cidalloc_leases VALUES ('other', 3, 'twin', 0)"
check "check exits 1 with one line per anomaly" 1 "twin corrupt CID 3 is recorded in unknown range 'other'
low outside CID 2 is outside 3-4294967294
vm1 shared CID 3 is held by 'twin' and 'vm1'" ember-cidalloc check
check "check -j: an array of the same records" 1 '[{"owner":"twin","kind":"corrupt","detail":"CID 3 is recorded in unknown range '"'other'"'"},{"owner":"low","kind":"outside","detail":"CID 2 is outside 3-4294967294"},{"owner":"vm1","kind":"shared","detail":"CID 3 is held by '"'twin'"' and '"'vm1'"'"}]' ember-cidalloc check -j
like "  and the count on stderr" "$T_ERR" "*3 anomal*"
check "show of the corrupt record exits 101" 101 "" ember-cidalloc show low
check "release removes it" 0 "low 2" ember-cidalloc release low
check "and the other" 0 "twin 3" ember-cidalloc release twin
check "check is clean again" 0 "" ember-cidalloc check
ok "the highest CID, written by hand" sqlite3 "$db" "INSERT INTO cidalloc_leases VALUES ('vsock', 4294967294, 'top', 0)"
check "lost CIDs below it are reported" 1 "- lost 4294967287 slots of vsock below its highest are neither held nor free" ember-cidalloc check
check "the free list is still used first" 0 "vm9 6" ember-cidalloc alloc vm9
check "then, past the last CID, alloc is refused, naming the range and its size" 102 "" ember-cidalloc alloc vm10
like "so" "$T_ERR" "ember-cidalloc: every vsock CID is taken: all 4294967292 of 3-4294967294 are allocated"

done_testing
