#!/usr/bin/env bash
# ember-ipalloc: every verb plain and -j, exit codes, the bad-input table, and
# the state each command leaves behind.
. "$(dirname "$0")/../lib.sh"

dump() { sqlite3 "$EMBER_STATE_DIR/state.db" .dump; }
leases() { sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT owner, subnet, slot, mode FROM ipalloc_leases ORDER BY subnet, slot"; }
S=10.123.0.0/16
rec() { # OWNER BLOCK_BASE (a.b.c.d with d = block start): the p2p record
	local b=${2%.*} d=${2##*.}
	echo "$1 $b.$((d + 2)) $b.$((d + 1)) 30 255.255.255.252 $S p2p"
}

## before there is an installation
check "alloc without an installation exits 100" 100 "" ember-ipalloc alloc vm1
like "saying so" "$T_ERR" "ember-ipalloc: no ember installation in '*'*hint: run 'ember-init init' first*"
ok "and creates nothing" test ! -e "$EMBER_STATE_DIR"
check "so does list" 100 "" ember-ipalloc list

ember-init init --ip-subnet "$S" >/dev/null || echo "Bail out! ember-init init failed"

## alloc, plain and JSON
check "list of nothing prints nothing" 0 "" ember-ipalloc list
check "list -j of nothing is an empty array" 0 "[]" ember-ipalloc list -j
check "check of nothing is clean" 0 "" ember-ipalloc check
check "show before any allocation exits 1" 1 "" ember-ipalloc show vm1
is "no table was made by reading" "$(sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'ipalloc%'")" 0
check "alloc gives the first /30 of the installation's subnet" 0 "$(rec vm1 10.123.0.0)" ember-ipalloc alloc vm1
check "the next owner gets the next block" 0 "$(rec vm2 10.123.0.4)" ember-ipalloc alloc vm2
check "alloc -j prints one object with the same keys" 0 \
	'{"owner":"vm3","guest_ip":"10.123.0.10","host_ip":"10.123.0.9","prefix":30,"netmask":"255.255.255.252","subnet":"10.123.0.0/16","mode":"p2p"}' \
	ember-ipalloc alloc vm3 -j
read -r owner guest host prefix rest < <(ember-ipalloc alloc vm1)
is "a script reads owner guest host prefix" "$owner $guest $host $prefix" "vm1 10.123.0.2 10.123.0.1 30"
is "and the rest" "$rest" "255.255.255.252 $S p2p"
check "alloc again with the same parameters prints the same" 0 "$(rec vm1 10.123.0.0)" ember-ipalloc alloc vm1
check "naming them explicitly too" 0 "$(rec vm1 10.123.0.0)" ember-ipalloc alloc vm1 --subnet "$S" --mode p2p
check "ember ipalloc dispatches the same" 0 "$(rec vm1 10.123.0.0)" ember ipalloc alloc vm1
before=$(dump)
check "alloc with another subnet is refused" 102 "" ember-ipalloc alloc vm1 --subnet 10.124.0.0/16
like "saying what it holds" "$T_ERR" "ember-ipalloc: 'vm1' already holds 10.123.0.2 from $S (p2p), not from 10.124.0.0/16 (p2p)*hint: release it first: ember-ipalloc release vm1"
check "alloc with another mode is refused" 102 "" ember-ipalloc alloc vm1 --mode single
check "alloc whose --reserve names the address held is refused" 102 "" ember-ipalloc alloc vm1 --reserve 10.123.0.2
like "saying so" "$T_ERR" "*'vm1' already holds 10.123.0.2, which is reserved*"
is "refusals change nothing" "$(dump)" "$before"

## show and list
check "show prints the record" 0 "$(rec vm2 10.123.0.4)" ember-ipalloc show vm2
check "show -j prints one object" 0 \
	'{"owner":"vm2","guest_ip":"10.123.0.6","host_ip":"10.123.0.5","prefix":30,"netmask":"255.255.255.252","subnet":"10.123.0.0/16","mode":"p2p"}' \
	ember-ipalloc show vm2 -j
check "show of an unknown owner exits 1" 1 "" ember-ipalloc show nope
like "saying so" "$T_ERR" "ember-ipalloc: 'nope' holds no address"
check "-q keeps it quiet" 1 "" ember-ipalloc -q show nope
is "on stderr too" "$T_ERR" ""
check "list prints every allocation by address" 0 "$(rec vm1 10.123.0.0; rec vm2 10.123.0.4; rec vm3 10.123.0.8)" ember-ipalloc list
check "list -j prints an array" 0 \
	"[$(ember-ipalloc show vm1 -j),$(ember-ipalloc show vm2 -j),$(ember-ipalloc show vm3 -j)]" ember-ipalloc list -j

## release
check "release prints what was released" 0 "$(rec vm2 10.123.0.4)" ember-ipalloc release vm2
check "release of an absent owner succeeds quietly" 0 "" ember-ipalloc release vm2
check "with -j: one document, {} (issue 15 item 7)" 0 "{}" ember-ipalloc release vm2 -j
check "the freed block is the lowest free: handed out next" 0 "$(rec vm4 10.123.0.4)" ember-ipalloc alloc vm4
check "then the blocks above" 0 "$(rec vm5 10.123.0.12)" ember-ipalloc alloc vm5
check "release -j prints the object" 0 "$(ember-ipalloc show vm5 -j)" ember-ipalloc release vm5 -j
is "the database holds exactly what was printed" "$(leases)" "vm1|$S|0|p2p
vm4|$S|1|p2p
vm3|$S|2|p2p"

## single mode: a shared subnet, a loopback pool, reserved addresses
L=127.0.0.16/28
check "single skips the network and the gateway" 0 "lo1 127.0.0.18 127.0.0.17 28 255.255.255.240 $L single" \
	ember-ipalloc alloc lo1 --mode single --subnet $L
check "and every --reserve'd address" 0 "lo2 127.0.0.21 127.0.0.17 28 255.255.255.240 $L single" \
	ember-ipalloc alloc lo2 --mode single --subnet $L --reserve 127.0.0.19 --reserve 127.0.0.20
check "without --reserve the skipped ones are free again" 0 "lo3 127.0.0.19 127.0.0.17 28 255.255.255.240 $L single" \
	ember-ipalloc alloc lo3 --mode single --subnet $L
for i in 4 5 6 7 8 9 10 11 12 13; do ember-ipalloc alloc lo$i --mode single --subnet $L >/dev/null; done
check "the last address is below the broadcast" 0 "lo13 127.0.0.30 127.0.0.17 28 255.255.255.240 $L single" ember-ipalloc show lo13
before=$(dump)
check "a full subnet is refused" 102 "" ember-ipalloc alloc lo14 --mode single --subnet $L
like "naming it and its size" "$T_ERR" "ember-ipalloc: subnet $L is exhausted: all 13 addresses are allocated*hint: release an allocation, or allocate from another subnet with --subnet"
is "and nothing changed" "$(dump)" "$before"
check "list --subnet shows that subnet only" 0 "$(for i in 1 3 4 2 5 6 7 8 9 10 11 12 13; do ember-ipalloc show lo$i; done)" \
	ember-ipalloc list --subnet $L
check "list --subnet of a subnet without allocations prints nothing" 0 "" ember-ipalloc list --subnet 10.99.0.0/16
check "with -j an empty array" 0 "[]" ember-ipalloc list -j --subnet 10.99.0.0/16
check "a /32 pool holds its one address, with no gateway" 0 "p1 127.0.0.9 - 32 255.255.255.255 127.0.0.9/32 single" \
	ember-ipalloc alloc p1 --mode single --subnet 127.0.0.9/32
check "host_ip is null in JSON" 0 '{"owner":"p1","guest_ip":"127.0.0.9","host_ip":null,"prefix":32,"netmask":"255.255.255.255","subnet":"127.0.0.9/32","mode":"single"}' \
	ember-ipalloc show p1 -j
check "then it is full" 102 "" ember-ipalloc alloc p2 --mode single --subnet 127.0.0.9/32
like "all 1" "$T_ERR" "*subnet 127.0.0.9/32 is exhausted: all 1 addresses are allocated*"

## p2p edges: a /30 subnet is one block; subnets never overlap; one mode per subnet
check "a /30 subnet holds one block" 0 "e1 192.168.77.2 192.168.77.1 30 255.255.255.252 192.168.77.0/30 p2p" \
	ember-ipalloc alloc e1 --subnet 192.168.77.0/30
check "and no second" 102 "" ember-ipalloc alloc e2 --subnet 192.168.77.0/30
like "all 1 /30 blocks" "$T_ERR" "*subnet 192.168.77.0/30 is exhausted: all 1 /30 blocks are allocated*"
check "a subnet inside one in use is refused" 102 "" ember-ipalloc alloc o1 --subnet 10.123.4.0/24
like "naming it" "$T_ERR" "ember-ipalloc: subnet '10.123.4.0/24' overlaps subnet '$S', which has allocations*"
check "a subnet around one in use too" 102 "" ember-ipalloc alloc o1 --subnet 192.168.0.0/16
like "naming it" "$T_ERR" "*overlaps subnet '192.168.77.0/30'*"
check "the same subnet in the other mode is refused" 102 "" ember-ipalloc alloc o1 --subnet "$S" --mode single
like "naming the mode" "$T_ERR" "*subnet '$S' is in use in p2p mode, not single*"
check "once its last allocation is gone a subnet is free for anything" 0 \
	"e1 192.168.77.2 192.168.77.1 30 255.255.255.252 192.168.77.0/30 p2p" ember-ipalloc release e1
check "192.168.0.0/16 is now allowed" 0 "o1 192.168.0.2 192.168.0.1 30 255.255.255.252 192.168.0.0/16 p2p" \
	ember-ipalloc alloc o1 --subnet 192.168.0.0/16
check "check is clean" 0 "" ember-ipalloc check
check "check -j is an empty array" 0 "[]" ember-ipalloc check -j

## bad input: a clear message, exit 100, the database unchanged
bad() { # TITLE STDERR_PATTERN COMMAND...
	local title=$1 pattern=$2 before
	shift 2
	before=$(dump)
	check "$title: exit 100" 100 "" "$@"
	like "$title: says why" "$T_ERR" "$pattern"
	is "$title: database unchanged" "$(dump)" "$before"
}
bad "an invalid owner" "ember-ipalloc: invalid owner 'Bad_Owner'*" ember-ipalloc alloc Bad_Owner
bad "a 33-character owner" "*invalid owner*" ember-ipalloc alloc aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
bad "an owner starting with -" "*invalid owner '-vm'*" ember-ipalloc alloc -- -vm
bad "an empty owner" "*invalid owner ''*" ember-ipalloc release ""
bad "show of an invalid owner" "*invalid owner*" ember-ipalloc show ../etc
bad "host bits set" "ember-ipalloc: subnet '10.123.0.1/16' has host bits set*hint: the network is 10.123.0.0/16" \
	ember-ipalloc alloc vm9 --subnet 10.123.0.1/16
bad "a /31 in p2p" "*subnet '10.9.0.0/31' cannot hold a p2p /30 block*hint: --mode single*" ember-ipalloc alloc vm9 --subnet 10.9.0.0/31
bad "a /32 in p2p" "*cannot hold a p2p /30 block*" ember-ipalloc alloc vm9 --subnet 10.9.0.1/32
bad "a /33" "ember-ipalloc: invalid subnet '10.9.0.0/33': a.b.c.d/prefix expected" ember-ipalloc alloc vm9 --subnet 10.9.0.0/33
bad "a garbage subnet" "*invalid subnet 'ten.0.0.0/8'*" ember-ipalloc alloc vm9 --subnet ten.0.0.0/8
bad "a subnet without a prefix" "*invalid subnet '10.9.0.0'*" ember-ipalloc alloc vm9 --subnet 10.9.0.0
bad "a prefix below 8" "*too large*" ember-ipalloc alloc vm9 --subnet 10.0.0.0/7
bad "0.0.0.0/8" "*within 'this network' (0.0.0.0/8)*" ember-ipalloc alloc vm9 --subnet 0.0.0.0/8 --mode single
bad "multicast" "*within multicast (224.0.0.0/4)*" ember-ipalloc alloc vm9 --subnet 224.1.0.0/16
bad "255.x" "*within reserved (240.0.0.0/4)*" ember-ipalloc alloc vm9 --subnet 255.255.255.0/24 --mode single
bad "loopback in p2p" "*subnet '127.0.0.0/24' is loopback: a TAP cannot use it*" ember-ipalloc alloc vm9 --subnet 127.0.0.0/24
bad "an unknown mode" "ember-ipalloc: invalid mode 'bridge': p2p or single" ember-ipalloc alloc vm9 --mode bridge
bad "a reserved address outside the subnet" "*reserved address '10.1.0.1' is not in subnet $S" ember-ipalloc alloc vm9 --reserve 10.1.0.1
bad "a garbage reserved address" "*invalid address 'x' to reserve" ember-ipalloc alloc vm9 --reserve x
bad "a garbage subnet for list" "*invalid subnet*" ember-ipalloc list --subnet 10.1.2.3
bad "an unknown option" "ember-ipalloc: unknown option '--frobnicate'*hint: see 'ember-ipalloc --help'" ember-ipalloc alloc vm9 --frobnicate
bad "an option without its value" "*option '--subnet' needs a value*" ember-ipalloc alloc vm9 --subnet
bad "--mode with list" "*--mode goes with 'alloc', not with 'list'*" ember-ipalloc list --mode p2p
bad "--subnet with release" "*--subnet goes with 'alloc' and 'list'*" ember-ipalloc release vm1 --subnet "$S"
bad "alloc without an owner" "*'alloc' needs an operand*" ember-ipalloc alloc
bad "two owners" "*unexpected operand 'vm8'*" ember-ipalloc alloc vm9 vm8
bad "an unknown verb" "*unknown verb 'allocate'*" ember-ipalloc allocate vm9
bad "a prefix verb" "*unknown verb 'rel'*" ember-ipalloc rel vm1
bad "no verb" "*a verb is needed*" ember-ipalloc
bad "a missing state directory" "*no ember installation in '$T_TMP/nowhere'*" ember-ipalloc alloc vm9 --state-dir "$T_TMP/nowhere"
ok "which is not created" test ! -e "$T_TMP/nowhere"
check "--help prints the usage text" 0 "*" ember-ipalloc --help
like "naming every verb, the fields and the exit codes" "$T_OUT" "usage: ember-ipalloc*alloc OWNER*release OWNER*show OWNER*list*check*owner guest_ip host_ip prefix netmask subnet mode*exit codes*"

## check: anomalies that only a hand (or a bug) could write, one line each
new_state
ember-init init --ip-subnet "$S" >/dev/null
ember-ipalloc alloc vm1 >/dev/null && ember-ipalloc alloc vm2 >/dev/null
db=$EMBER_STATE_DIR/state.db
ok "two owners on one block, across overlapping subnets" sqlite3 "$db" \
	"INSERT INTO ipalloc_leases VALUES ('10.123.0.0/24', 0, 'x1', 'p2p', 0);
	 INSERT INTO ipalloc_subnets VALUES ('10.123.0.0/24', 'p2p', 175833088, 175833343)"
ok "two owners on one address" sqlite3 "$db" \
	"INSERT INTO ipalloc_leases VALUES ('10.8.0.0/24', 2, 's1', 'single', 0);
	 INSERT INTO ipalloc_leases VALUES ('10.8.0.0/23', 2, 's2', 'single', 0);
	 INSERT INTO ipalloc_subnets VALUES ('10.8.0.0/24', 'single', 168296448, 168296703);
	 INSERT INTO ipalloc_subnets VALUES ('10.8.0.0/23', 'single', 168296448, 168296959)"
ok "an address outside its subnet" sqlite3 "$db" \
	"INSERT INTO ipalloc_leases VALUES ('10.9.0.0/30', 1, 'out', 'p2p', 0);
	 INSERT INTO ipalloc_subnets VALUES ('10.9.0.0/30', 'p2p', 168361984, 168361987)"
check "check exits 1 with one line per anomaly" 1 \
	"out outside slot 1 is outside subnet 10.9.0.0/30 (p2p slots 0-0)
s2 shared 10.8.0.2 is held by 's1' and 's2'
x1 overlap 10.123.0.0/30 of 'x1' (subnet 10.123.0.0/24, p2p) overlaps 10.123.0.0/30 of 'vm1' (subnet $S, p2p)" ember-ipalloc check
like "and counts them on stderr" "$T_ERR" "ember-ipalloc: 3 anomalies found"
check "check -j: an array of objects" 1 \
	'[{"owner":"out","kind":"outside","detail":"slot 1 is outside subnet 10.9.0.0/30 (p2p slots 0-0)"},{"owner":"s2","kind":"shared","detail":"10.8.0.2 is held by '"'s1'"' and '"'s2'"'"},{"owner":"x1","kind":"overlap","detail":"10.123.0.0/30 of '"'x1'"' (subnet 10.123.0.0/24, p2p) overlaps 10.123.0.0/30 of '"'vm1'"' (subnet 10.123.0.0/16, p2p)"}]' \
	ember-ipalloc check -j
check "show of the corrupt record exits 101" 101 "" ember-ipalloc show out
like "pointing at check" "$T_ERR" "*the allocation of 'out' is corrupt*hint: run 'ember-ipalloc check'"
check "release removes it all the same" 0 "out - - - - - -" ember-ipalloc release out
for o in x1 s2; do ember-ipalloc release $o >/dev/null; done
check "and check is clean again" 0 "" ember-ipalloc check
ok "a slot lost from the free list" sqlite3 "$db" "INSERT INTO ipalloc_leases VALUES ('$S', 5, 'far', 'p2p', 0)"
check "is reported" 1 "- lost 3 slots of $S below its highest are neither held nor free" ember-ipalloc check
ok "a slot both held and free" sqlite3 "$db" "DELETE FROM ipalloc_leases WHERE owner = 'far'; INSERT INTO ipalloc_free VALUES ('$S', 1)"
check "is reported" 1 "vm2 free-held slot 1 of $S is held and also listed as free" ember-ipalloc check
check "and alloc refuses to double it" 101 "" ember-ipalloc alloc vm3
like "saying why" "$T_ERR" "*slot 1 of '$S' is held although listed as free*"
is "vm2 still holds its block alone" "$(sqlite3 "$db" "SELECT owner FROM ipalloc_leases WHERE slot = 1")" "vm2"

## the installation's subnet changes: existing allocations keep theirs
new_state
ember-init init -q --ip-subnet 10.77.0.0/16
ember-ipalloc -q alloc keep
sed -i 's|10.77.0.0/16|10.78.0.0/16|' "$EMBER_STATE_DIR/config.json"
check "alloc naming neither subnet nor mode prints what the owner holds" 0 "keep 10.77.0.2 10.77.0.1 30 255.255.255.252 10.77.0.0/16 p2p" ember-ipalloc alloc keep
check "naming the new subnet is another parameter: 102" 102 "" ember-ipalloc alloc keep --subnet 10.78.0.0/16
check "naming a mode is too" 102 "" ember-ipalloc alloc keep --mode single
check "a new owner gets the new subnet" 0 "new 10.78.0.2 10.78.0.1 30 255.255.255.252 10.78.0.0/16 p2p" ember-ipalloc alloc new
check "release of the old one" 0 "keep 10.77.0.2 10.77.0.1 30 255.255.255.252 10.77.0.0/16 p2p" ember-ipalloc release keep
check "both subnets' allocations check clean" 0 "" ember-ipalloc check

done_testing
