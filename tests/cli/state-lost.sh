#!/usr/bin/env bash
# A state.db that lost its contents is corrupt state, never a fresh database:
# with config.json present, every applet refuses it (101, with a hint) and
# creates nothing. The database records whose it is (an identity row written
# by init); one of an older ember, without that row, is still read.
# In a network namespace of its own: ember-tap and ember-nat are among the
# applets asked.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
export EMBER_RUN_DIR=$T_TMP/run

# Everything in the state directory, with sizes (the database files included;
# not the lock files under locks/, which hold nothing).
listing() { (cd "$1" && find . ! -path './locks/*' -printf '%p %m %s\n' | sort); }
# Every applet, reading and changing verbs: "title|command".
verbs() {
	cat <<'EOF'
ipalloc list|ember-ipalloc list
ipalloc show|ember-ipalloc show vm1
ipalloc alloc|ember-ipalloc alloc vm2
ipalloc release|ember-ipalloc release vm1
ipalloc check|ember-ipalloc check
cidalloc list|ember-cidalloc list
cidalloc alloc|ember-cidalloc alloc vm2
cidalloc check|ember-cidalloc check
tap list|ember-tap list
tap create|ember-tap create vm2 --address 10.77.0.5/30
tap delete|ember-tap delete vm1
nat list|ember-nat list
nat up|ember-nat up vm2 --guest-ip 10.77.0.6 --tap tapx --uplink upx
nat check|ember-nat check
nat flush|ember-nat flush
pool list|ember-pool list
pool status|ember-pool status
init init|ember-init init
init deinit|ember-init deinit --purge
EOF
}
ip tuntap add dev tapx mode tap
ip link add upx type veth peer name upxp

ember-init init -q --instance-id a3f4
dir=$(realpath "$EMBER_STATE_DIR")
check "an allocation" 0 "vm1 10.$(derived_octet a3f4).0.2 10.$(derived_octet a3f4).0.1 30 255.255.255.252 10.$(derived_octet a3f4).0.0/16 p2p" ember-ipalloc alloc vm1
is "init recorded the database's identity" "$(sqlite3 "$dir/state.db" "SELECT value FROM install WHERE key = 'instance_id'")" a3f4

## the database truncated, its WAL lost
: >"$dir/state.db"
rm -f "$dir/state.db-wal" "$dir/state.db-shm"
before=$(listing "$dir")
while IFS='|' read -r title cmd; do
	# shellcheck disable=SC2086
	check "a truncated state.db: $title: 101" 101 "" $cmd
	like "  saying so, with a hint" "$T_ERR" "ember-*: the state database '$dir/state.db' is empty: it lost its contents
hint: restore it*"
done < <(verbs)
is "nothing was created or changed" "$(listing "$dir")" "$before"
is "no TAP was made" "$(ip -o link show | grep -c ema3f4)" 0

## a database that holds no table at all (zeroed, or replaced by an empty one)
sqlite3 "$dir/state.db" "PRAGMA journal_mode=WAL" >/dev/null
before=$(listing "$dir")
while IFS='|' read -r title cmd; do
	# shellcheck disable=SC2086
	check "a state.db with no table: $title: 101" 101 "" $cmd
	like "  saying so" "$T_ERR" "*the state database '$dir/state.db' holds no table: it lost its contents*hint:*"
done < <(verbs | grep -e 'ipalloc alloc' -e 'list' -e 'init init')
is "nothing was created" "$(sqlite3 "$dir/state.db" "SELECT count(*) FROM sqlite_schema")" 0

## another installation's database
new_state
ember-init init -q --instance-id b0b0
ember-ipalloc -q alloc vm1
new_state
ember-init init -q --instance-id c0c0
cp "$T_TMP/state$((T_STATES - 1))/state.db" "$EMBER_STATE_DIR/state.db"
rm -f "$EMBER_STATE_DIR/state.db-wal" "$EMBER_STATE_DIR/state.db-shm"
cp "$T_TMP/state$((T_STATES - 1))"/state.db-wal "$EMBER_STATE_DIR/" 2>/dev/null || true
check "a state.db copied from another installation: 101" 101 "" ember-ipalloc list
like "  naming whose it is" "$T_ERR" "*the state database '*/state.db' is installation 'b0b0''s, not this one's ('c0c0')*hint:*"
check "  init refuses it too" 101 "" ember-init init

## never written, and an older ember's
new_state
mkdir -p "$EMBER_STATE_DIR" && echo '{}' >"$EMBER_STATE_DIR/config.json"
check "a config without a database (a legacy installation made by hand): deinit" 0 "*" ember-init deinit
check "  then the database it made is this installation's" 0 "" ember-ipalloc list
is "  with its identity" "$(sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT quote(value) FROM install WHERE key = 'instance_id'")" "''"
new_state
ember-init init -q --instance-id d0d0
ember-ipalloc -q alloc vm1
# an older ember wrote no identity row
sqlite3 "$EMBER_STATE_DIR/state.db" "DELETE FROM install"
check "a database of an older ember (tables, no identity row) is read" 0 "vm1 10.$(derived_octet d0d0).0.2 10.$(derived_octet d0d0).0.1 30 255.255.255.252 10.$(derived_octet d0d0).0.0/16 p2p" ember-ipalloc list
check "  and allocated from" 0 "*" ember-ipalloc alloc vm2
check "  init again records the identity" 0 "*" ember-init init -q
is "  (the row)" "$(sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT value FROM install WHERE key = 'instance_id'")" d0d0
check "  and keeps the allocations" 0 "*" ember-ipalloc show vm1

done_testing
