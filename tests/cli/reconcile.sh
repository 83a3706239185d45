#!/usr/bin/env bash
# ember-reconcile: the pass, its lock and report, and the sweep of what
# owners with no VM left behind (TAPs, rules, addresses, CIDs, vms/<name>/,
# the hosts file), in a network namespace of this file's own, beside a
# second installation that must stay byte for byte.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
command -v iptables-save >/dev/null || skip_all "iptables not found"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not found"

. "$T_TOP/tests/reconcile-helpers"
uplink

# leftover OWNER: what an ember-up leaves when its VM record is gone: an
# address, a TAP, a CID and NAT rules.
leftover() {
	local o g h p rest t
	read -r o g h p rest < <(ember-ipalloc alloc "$1") &&
		read -r o t rest < <(ember-tap create "$1" --address "$h/$p") &&
		ember-cidalloc alloc "$1" >/dev/null &&
		ember-nat up "$1" --guest-ip "$g" --tap "$t" >/dev/null
}
# age OWNER SECONDS: make OWNER's records that much older.
age() {
	local t
	for t in ipalloc_leases cidalloc_leases tap nat_vms; do
		sqlite3 "$EMBER_STATE_DIR/state.db" "UPDATE $t SET created = created - $2 WHERE owner = '$1'" || return 1
	done
}

two_installs
EMBER_STATE_DIR=$SB leftover vm1
EMBER_STATE_DIR=$SB age vm1 3600
mkdir -p "$SB/vms/ghost"
touch -d '2 hours ago' "$SB/vms/ghost"
export EMBER_STATE_DIR=$SA

## usage
check "an unknown kind: 100" 100 "" ember-reconcile --only disks
like "names the kinds" "$T_ERR" "*unknown kind 'disks' (vm, firecracker, tap, nat, volume, thin, address, cid, vmdir or hosts)*"
check "a grace that is not a number: 100" 100 "" ember-reconcile --grace 10m
check "a negative grace: 100" 100 "" ember-reconcile --grace -1
check "an operand: 100" 100 "" ember-reconcile run vm1
check "--dry-run with show-plan: 100" 100 "" ember-reconcile show-plan --dry-run
check "--help: 0" 0 "*" ember-reconcile --help
like "names the verbs, the kinds, the fields and exit codes" "$T_OUT" "*run \[--dry-run\] \[--grace SECONDS\] \[--only KIND\]... \[--skip KIND\]...*show-plan*kinds*vmdir*kind owner object action result*exit codes*"
check "no installation: 100" 100 "" env EMBER_STATE_DIR="$T_TMP/none" ember-reconcile

## a converged installation
check "nothing to do: nothing printed, 0" 0 "" ember-reconcile
json=$(ember-reconcile -j)
like "-j: the summary alone" "$json" '\[{"kind":"summary","actions":0,"failed":0,"young":0,"faulty":0,"duration_ms":*,"vm":0,"firecracker":0,"tap":0,"nat":0,"volume":0,"thin":0,"address":0,"cid":0,"vmdir":0,"hosts":0}]'
ok "no hosts file written for no VMs" test ! -e "$SA/hosts"

## leftovers of owners with no VM record
leftover vm1
leftover vm2
leftover young
age vm1 3600
age vm2 3600
a1=$(tapname $A vm1) a2=$(tapname $A vm2) ay=$(tapname $A young)
mkdir -p "$SA/vms/ghost" "$SA/vms/fresh"
touch "$SA/vms/ghost/handles.json"
touch -d '2 hours ago' "$SA/vms/ghost"
# links of our prefix whose alias does not prove them ours
ip tuntap add "em$A-0000001" mode tap
ip link set "em$A-0000001" alias "ember:$B:vm1"
ip tuntap add "em$A-0000002" mode tap
ip link set "em$A-0000002" alias "not-ember"
ip tuntap add "em$A-0000003" mode tap
ip link set "em$A-0000003" alias "ember:$A:vm1 "
# a link that is ours with no record (a create killed before it recorded it)
ip tuntap add "em$A-0000004" mode tap
ip link set "em$A-0000004" alias "ember:$A:lost"
echo "10.9.9.9 stale" >"$SA/hosts"
before_b=$(mine "$SB" $B)
before=$(snapshot "$SA")

plan="tap vm1 $a1 teardown planned
tap vm2 $a2 teardown planned
nat vm1 - teardown planned
nat vm2 - teardown planned
address vm1 - release planned
address vm2 - release planned
cid vm1 - release planned
cid vm2 - release planned
vmdir ghost $SA/vms/ghost remove planned
hosts - $SA/hosts rewrite planned"
check "show-plan: one line per action, the young ones kept" 0 "$plan" ember-reconcile show-plan
check "run --dry-run: the same plan" 0 "$plan" ember-reconcile run --dry-run
is "the dry run changed nothing" "$(snapshot "$SA")" "$before"
check "the pass does what the plan said" 0 "${plan// planned/ ok}" ember-reconcile
ok "an unrecorded TAP of ours stays: its age counts from this pass" ip link show "em$A-0000004"
is "the time it was first seen is kept" "$(sqlite3 "$SA/state.db" "SELECT owner FROM reconcile_seen")" "lost"
ok "vm1's TAP is gone" test -z "$(ip link show "$a1" 2>/dev/null)"
ok "vm2's TAP is gone" test -z "$(ip link show "$a2" 2>/dev/null)"
is "their rules are gone" "$(iptables-save | grep -cE "ember:$A:vm[12]\"")" 0
is "their records are gone" "$(sqlite3 "$SA/state.db" "SELECT owner FROM ipalloc_leases UNION ALL SELECT owner FROM cidalloc_leases UNION ALL SELECT owner FROM tap UNION ALL SELECT owner FROM nat_vms")" "young
young
young
young"
ok "the young owner's TAP stays (grace)" ip link show "$ay"
is "and its rules" "$(iptables-save | grep -c "ember:$A:young\"")" 7
ok "vms/ghost/ is gone" test ! -e "$SA/vms/ghost"
ok "vms/fresh/ stays (grace)" test -d "$SA/vms/fresh"
is "the hosts file is rewritten from the running VMs (none)" "$(cat "$SA/hosts")" ""
ok "a TAP of our prefix with another installation's alias stays" ip link show "em$A-0000001"
ok "a TAP of our prefix without an ember alias stays" ip link show "em$A-0000002"
ok "a TAP whose alias only begins with our token stays" ip link show "em$A-0000003"
is "the other installation: links, rules and database byte for byte" "$(mine "$SB" $B)" "$before_b"
ok "and its leftover directory" test -d "$SB/vms/ghost"
json=$(ember-reconcile -j)
like "-j after the pass: nothing to do, the young counted" "$json" '\[{"kind":"summary","actions":0,"failed":0,"young":*'
after=$(snapshot "$SA")
check "a pass after a converged pass does nothing" 0 "" ember-reconcile
is "links, rules, database and files unchanged" "$(snapshot "$SA")" "$after"

sqlite3 "$SA/state.db" "UPDATE reconcile_seen SET first_seen = first_seen - 3600"
check "an hour after it was first seen, the unrecorded TAP goes" 0 "tap lost em$A-0000004 teardown ok" ember-reconcile
is "and its sighting" "$(sqlite3 "$SA/state.db" "SELECT count(*) FROM reconcile_seen")" 0
check "--grace 0: the young go too" 0 "tap young $ay teardown ok
nat young - teardown ok
address young - release ok
cid young - release ok
vmdir fresh $SA/vms/fresh remove ok" ember-reconcile --grace 0
is "the other installation is still untouched" "$(mine "$SB" $B)" "$before_b"
ok "a pass in B sweeps B's (its own id)" ember-reconcile --state-dir "$SB"
is "B's leftovers are gone" "$(sqlite3 "$SB/state.db" "SELECT count(*) FROM tap")" 0
ok "A's foreign-looking links stay through B's pass" ip link show "em$A-0000001"
for i in 1 2 3; do ip link del "em$A-000000$i"; done

## --only and --skip, -j
leftover vm3
age vm3 3600
check "--only tap" 0 "tap vm3 $(tapname $A vm3) teardown ok" ember-reconcile --only tap
check "--skip nat --skip cid: the address only" 0 "address vm3 - release ok" ember-reconcile --skip nat --skip cid --skip hosts
json=$(ember-reconcile -j --grace 0)
like "-j: an object per action with the same keys, then the summary" "$json" '\[{"kind":"nat","owner":"vm3","object":null,"action":"teardown","result":"ok","error":null},{"kind":"cid","owner":"vm3","object":null,"action":"release","result":"ok","error":null},{"kind":"summary","actions":2,"failed":0,*"nat":1,*"cid":1,*}]'

## rules that carry an owner's token but no record
leftover norec
ember-tap delete norec >/dev/null
ember-ipalloc release norec >/dev/null
ember-cidalloc release norec >/dev/null
sqlite3 "$SA/state.db" "DELETE FROM nat_vms WHERE owner = 'norec'"
check "with the default grace they stay: their age is not known yet" 0 "" ember-reconcile
is "their rules are there" "$(iptables-save | grep -c "ember:$A:norec\"")" 7
check "--grace 0: found by their exact token and torn down" 0 "nat norec - teardown ok" ember-reconcile --grace 0
is "none is left" "$(iptables-save | grep -c "ember:$A:norec\"")" 0

## the kernel not as recorded: the batch falls back to one owner at a time
leftover vm8
leftover vm9
iptables-save | grep -v -- "-A .*MASQUERADE.*ember:$A:vm8\"" | iptables-restore
check "one owner's rules half gone: both owners' rules torn down" 0 "tap vm8 $(tapname $A vm8) teardown ok
tap vm9 $(tapname $A vm9) teardown ok
nat vm8 - teardown ok
nat vm9 - teardown ok" ember-reconcile --grace 0 --only tap --only nat
is "none of their rules is left" "$(iptables-save | grep -cE "ember:$A:vm[89]\"")" 0
is "nor their records" "$(sqlite3 "$SA/state.db" "SELECT count(*) FROM nat_vms WHERE owner IN ('vm8', 'vm9')")" 0
ember-reconcile --grace 0 >/dev/null

## a failed action does not stop the pass
leftover vm4
leftover vm5
check "one failed action: 111, the others done" 111 "tap vm4 $(tapname $A vm4) teardown ok
tap vm5 $(tapname $A vm5) teardown ok
nat vm4 - teardown ok
nat vm5 - teardown ok
address vm4 - release failed
address vm5 - release failed
cid vm4 - release failed
cid vm5 - release failed" env EMBER_TEST_FAIL=reconcile-release ember-reconcile --grace 0
like "says why, and that a retry may work" "$T_ERR" "*address vm4 release: reconcile-release failed (EMBER_TEST_FAIL)*4 actions failed: run it again"
check "the next pass finishes" 0 "address vm4 - release ok
address vm5 - release ok
cid vm4 - release ok
cid vm5 - release ok" ember-reconcile --grace 0
check "and the one after is empty" 0 "" ember-reconcile --grace 0

## one at a time
exec 9>"$SA/locks/reconcile"
flock 9
check "a second pass exits 0 at once" 0 "" ember-reconcile
like "and says so on stderr" "$T_ERR" "*another pass is running in '$SA': nothing to do*"
check "-q: silently" 0 "" ember-reconcile -q
is "-q: nothing on stderr" "$T_ERR" ""
exec 9>&-

## a corrupt config: nothing touched
leftover vm6
age vm6 3600
cp "$SA/config.json" "$T_TMP/config"
echo '{"instance_id": ' >"$SA/config.json"
before=$(snapshot "$SA")
check "a corrupt config: 101" 101 "" ember-reconcile --grace 0
like "with the reason" "$T_ERR" "*config.json*"
is "nothing changed" "$(snapshot "$SA")" "$before"
cp "$T_TMP/config" "$SA/config.json"
sqlite3 "$SA/state.db" "CREATE TABLE vms (x)"
before=$(snapshot "$SA")
check "a VM table no ember wrote: the listing fails, before any action" '*' "" ember-reconcile --grace 0
ok "it failed" test "$T_RC" != 0
is "nothing changed" "$(snapshot "$SA")" "$before"
sqlite3 "$SA/state.db" "DROP TABLE vms"
check "the VM table back: the pass sweeps vm6" 0 "tap vm6 $(tapname $A vm6) teardown ok
nat vm6 - teardown ok
address vm6 - release ok
cid vm6 - release ok" ember-reconcile --grace 0

## a pass killed at random points is finished by the next
n_bad=0 n_killed=0
for i in $(seq 1 20); do
	for o in k1 k2 k3; do leftover $o; done
	ember-reconcile --grace 0 >/dev/null 2>&1 &
	pid=$!
	sleep "0.0$((RANDOM % 10))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ $? != 137 ] || n_killed=$((n_killed + 1))
	# an ip or iptables-restore it was running holds its locks until the
	# kernel has killed it too (PR_SET_PDEATHSIG): a pass meanwhile would
	# rightly say that another one runs
	flock -w 30 "$SA/locks/reconcile" true
	out=$(ember-reconcile --grace 0 2>&1) || { n_bad=$((n_bad + 1)); echo "# run $i: the next pass failed: $out"; }
	out=$(ember-reconcile --grace 0 2>&1)
	[ -z "$out" ] || { n_bad=$((n_bad + 1)); echo "# run $i: the pass after it did: $out"; }
done
is "20 passes killed at random: each next one converges and the one after is empty" "$n_bad" 0
echo "# $n_killed of the 20 were killed before they ended"
for o in c1 c2; do leftover $o; done
check "killed after its first action" '*' "" env EMBER_TEST_CRASH=reconcile-action ember-reconcile --grace 0
is "by SIGKILL" "$T_RC" 137
check "the next pass finishes the rest" 0 '*' ember-reconcile --grace 0
like "what the killed one did not" "$T_OUT" "*cid c2 - release ok"
check "and the one after is empty" 0 "" ember-reconcile --grace 0
is "nothing of any owner left" "$(sqlite3 "$SA/state.db" "SELECT count(*) FROM tap") $(ip -o link show | grep -c "em$A-")" "0 0"

echo "1..$T_N"
[ "$T_FAILED" = 0 ]
