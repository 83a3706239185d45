#!/usr/bin/env bash
# The contract every applet keeps through the common dispatcher (issue 10
# §2-§3, issue 15 item 7): nothing on stdout unless the command succeeds (a
# failure half-way through a list leaves stdout empty), reading verbs create
# no tables, -j prints exactly one document, and the creation time has one
# column name in every table (an older database is migrated). In a network
# namespace of its own: tap and nat read the kernel.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not found"
export EMBER_RUN_DIR=$T_TMP/run

tables() { sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name" | tr '\n' ' '; }
sql() { sqlite3 "$EMBER_STATE_DIR/state.db" "$@"; }
have_iptables() { iptables -w -S >/dev/null 2>&1; }
has_dm() { [ -e /dev/mapper/control ]; }

ip link add up0 type veth peer name up0p && ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0
ip tuntap add dev tapx mode tap

## reading verbs create no tables
ember-init init -q --instance-id a1b2
base=$(tables)
check "ipalloc show" 1 "" ember-ipalloc show vm1
check "ipalloc list" 0 "" ember-ipalloc list
check "ipalloc check" 0 "" ember-ipalloc check
check "cidalloc show" 1 "" ember-cidalloc show vm1
check "cidalloc list" 0 "" ember-cidalloc list
check "cidalloc check" 0 "" ember-cidalloc check
check "tap show" 1 "" ember-tap show vm1
check "tap list" 0 "" ember-tap list
check "tap list --all" 0 "*" ember-tap list --all
if have_iptables; then
	check "nat show" 1 "" ember-nat show vm1
	check "nat list" 0 "" ember-nat list
	check "nat check" "*" "*" ember-nat check
else
	skip "nat reading verbs" "no iptables here"
fi
check "pool status: no pool (1)" 1 "" ember-pool status
check "pool list" 0 "" ember-pool list
check "init show" 0 "*" ember-init show
is "not one table was created" "$(tables)" "$base"
check "and -j prints one document: list" 0 "[]" ember-tap list -j
check "  pool list" 0 "[]" ember-pool list -j
is "  still no table" "$(tables)" "$base"

## -j: exactly one document, also when there is nothing to say
check "ipalloc release of an absent owner -j" 0 "{}" ember-ipalloc release vm9 -j
check "  plain: nothing" 0 "" ember-ipalloc release vm9
check "cidalloc release of an absent owner -j" 0 "{}" ember-cidalloc release vm9 -j
if have_iptables; then
	check "nat down of an absent owner -j" 0 "{}" ember-nat down vm9 -j
fi
check "tap delete of an absent owner -j: its object" 0 '{"owner":"vm9","name":null,"deleted":false}' \
	ember-tap delete vm9 -j
check "deinit where there is no installation -j" 0 "{}" ember-init deinit -j --state-dir "$T_TMP/none"
check "-q -j: nothing at all" 0 "" ember-ipalloc release vm9 -j -q

## nothing on stdout unless the command succeeds
ember-ipalloc alloc -q vm1 && ember-ipalloc alloc -q vm2
ember-cidalloc alloc -q vm1 && ember-cidalloc alloc -q vm2
sql "DROP TABLE ipalloc_subnets; DROP TABLE cidalloc_free"
check "ipalloc check -j of a damaged database: 101 and no fragment" 101 "" ember-ipalloc check -j
check "  plain too" 101 "" ember-ipalloc check
check "cidalloc check -j of a damaged database: 101 and no fragment" 101 "" ember-cidalloc check -j

ember-tap create -q vm1 --address 10.9.0.1/30
sql "ALTER TABLE tap RENAME TO tap_saved; CREATE TABLE tap (owner TEXT PRIMARY KEY, name TEXT)"
check "tap list -j with its links read and the records unreadable: 101, nothing printed" 101 "" ember-tap list -j
sql "DROP TABLE tap; ALTER TABLE tap_saved RENAME TO tap"
check "  (repaired, it lists)" 0 "*" ember-tap list

if have_iptables; then
	ember-nat up -q vm1 --guest-ip 10.9.0.2 --tap tapx
	sql "ALTER TABLE nat_vms RENAME TO nat_saved; CREATE TABLE nat_vms (owner TEXT PRIMARY KEY)"
	check "nat check -j with the records unreadable: 101, nothing printed" 101 "" ember-nat check -j
	check "nat list -j too" 101 "" ember-nat list -j
	sql "DROP TABLE nat_vms; ALTER TABLE nat_saved RENAME TO nat_vms"
	ember-nat down -q vm1
else
	skip "nat: nothing on stdout on failure" "no iptables here"
fi

if has_dm; then
	skip "pool list -j without device-mapper" "this kernel has device-mapper"
else
	# a pool recorded (the first schema step, as an older ember wrote it;
	# ember migrates the rest), on a kernel without device-mapper
	sql "CREATE TABLE pool (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, size INTEGER NOT NULL,
	       metadata_size INTEGER NOT NULL, block_size INTEGER NOT NULL, data_dev TEXT,
	       transaction_id INTEGER NOT NULL DEFAULT 0, next_thin_id INTEGER NOT NULL DEFAULT 0,
	       created INTEGER NOT NULL) STRICT;
	     CREATE TABLE pool_volume (kind TEXT NOT NULL, name TEXT NOT NULL, thin_id INTEGER NOT NULL UNIQUE,
	       size INTEGER NOT NULL, image TEXT, state TEXT NOT NULL, op_tid INTEGER, updated INTEGER NOT NULL,
	       PRIMARY KEY (kind, name)) STRICT;
	     INSERT INTO schema_version VALUES ('pool', 1);
	     INSERT INTO pool VALUES (1, 'ready', 8388608, 2097152, 65536, NULL, 1, 1, 1000);
	     INSERT INTO pool_volume VALUES ('vm', 'vm1', 0, 1048576, 'img', 'ready', NULL, 1234)"
	check "pool list -j of a recorded pool, no device-mapper: 111 and no '['" 111 "" ember-pool list -j
	check "pool status -j: 111 and nothing" 111 "" ember-pool status -j
	is "the migration gave the volume its creation time (from its last update)" \
		"$(sql "SELECT name, created FROM pool_volume")" "vm1|1234"
fi

ember-init init -q --state-dir "$T_TMP/vms"
sqlite3 "$T_TMP/vms/state.db" "CREATE TABLE vms (name TEXT PRIMARY KEY) STRICT; INSERT INTO vms VALUES ('web1')"
check "deinit -j refused (VMs registered): 102, nothing printed" 102 "" ember-init deinit -j --state-dir "$T_TMP/vms"

## one name for the creation time
new_state
ember-init init -q --instance-id c3d4
ember-tap create -q vm1 --address 10.8.0.1/30
ember-ipalloc alloc -q vm1 && ember-cidalloc alloc -q vm1
is "tap: created" "$(sql "SELECT count(*) FROM pragma_table_info('tap') WHERE name = 'created'")" 1
is "ipalloc: created" "$(sql "SELECT count(*) FROM pragma_table_info('ipalloc_leases') WHERE name = 'created'")" 1
is "cidalloc: created" "$(sql "SELECT count(*) FROM pragma_table_info('cidalloc_leases') WHERE name = 'created'")" 1
ember-tap delete -q vm1
# a database an older ember wrote: the tap table with created_at, version 1
sql "DROP TABLE tap; UPDATE schema_version SET version = 1 WHERE subsystem = 'tap';
     CREATE TABLE tap (owner TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, address TEXT NOT NULL,
       mtu INTEGER NOT NULL, uid INTEGER, gid INTEGER, created_at INTEGER NOT NULL) STRICT;
     INSERT INTO tap VALUES ('vm7', 'emc3d4-0000007', '10.8.0.5/30', 1500, NULL, NULL, 4242)"
check "a reading verb of the older database works" 0 "vm7 emc3d4-0000007 10.8.0.5/30 1500 - - missing" ember-tap list
is "  and it was migrated: created_at is now created, its value kept" "$(sql "SELECT owner, created FROM tap")" \
	"vm7|4242"

echo "1..$T_N"
[ "$T_FAILED" = 0 ]
