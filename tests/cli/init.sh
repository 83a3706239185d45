#!/usr/bin/env bash
# ember-init and the multi-call dispatcher.
. "$(dirname "$0")/../lib.sh"

# The whole expected `show` output of an installation.
expect_show() { # DIR ID SUBNET
	local id=$2
	if [ -n "$id" ]; then
		printf '%s\n' "state_dir $1" "instance_id $id" "legacy no" "subnet $3" \
			"tap_prefix em$id-" "tap_alias ember:$id" \
			"chain_input ember-$id-input" "chain_forward ember-$id-forward" \
			"chain_postrouting ember-$id-postrouting" "rule_comment ember:$id" \
			"pool ember-$id-pool" "image_prefix ember-$id-img-" "volume_prefix ember-$id-vm-" \
			"dm_uuid_prefix EMBER-$id-"
	else
		printf '%s\n' "state_dir $1" "instance_id -" "legacy yes" "subnet $3" \
			"tap_prefix em-" "tap_alias ember:" "chain_input ember-input" \
			"chain_forward ember-forward" "chain_postrouting -" "rule_comment -" \
			"pool ember-pool" "image_prefix ember-img-" "volume_prefix ember-vm-" \
			"dm_uuid_prefix EMBER--"
	fi
}
# Everything an installation holds: its files, config.json, and the database by content
# (SQLite's -wal and -shm files come and go and are not state of their own).
tree() {
	(cd "$1" 2>/dev/null && find . ! -name 'state.db*' -printf '%p %m %s\n' | sort &&
		cat config.json 2>/dev/null && sqlite3 state.db .dump 2>/dev/null)
}

## dispatch
applets=$(printf 'ember-%s\n' agent cidalloc init ipalloc nat pool reconcile tap vm)
check "bare ember lists the applets" 0 "$applets" ember
check "ember --list lists the same" 0 "$applets" ember --list
check "an unknown applet exits 127" 127 "" ember nope
like "it says which" "$T_ERR" "ember: unknown applet 'nope'*"
ln -s "$EMBER" "$T_BIN/ember-nope"
check "an unknown applet name by symlink exits 127" 127 "" ember-nope
check "ember init dispatches like ember-init" 0 "ember-init 0.1.0" ember init --version
check "--help prints the usage text" 0 "*" ember-init --help
help=$T_OUT
like "the usage text names every verb" "$help" "*init*show*check*deinit*exit codes*"
check "-h prints the same" 0 "$help" ember init -h
for a in reconcile; do
	check "ember-$a is not built yet: 111" 111 "" ember-$a list
	like "and says so" "$T_ERR" "ember-$a: not implemented yet"
done

## init
dir=$(realpath -m "$EMBER_STATE_DIR")
id=$(derived_id "$dir")
s=$(derived_octet "$id")
check "init creates the installation and prints it" 0 "$(expect_show "$dir" "$id" "10.$s.0.0/16")" ember-init init
is "the state directory is 0700" "$(stat -c %a "$dir")" 700
ok "config.json is written" test -s "$dir/config.json"
ok "state.db is a database" sqlite3 "$dir/state.db" "PRAGMA integrity_check"
is "the database is in WAL mode" "$(sqlite3 "$dir/state.db" 'PRAGMA journal_mode')" wal
before=$(tree "$dir")
check "init again with the same settings succeeds" 0 "$(expect_show "$dir" "$id" "10.$s.0.0/16")" ember-init init
check "init again naming the same settings succeeds" 0 "*" ember-init init --instance-id "$id" --ip-subnet "10.$s.0.0/16"
check "init with another subnet is refused" 102 "" ember-init init --ip-subnet 10.250.0.0/16
like "saying what it has" "$T_ERR" "*already initialised with subnet 10.$s.0.0/16, not 10.250.0.0/16"
check "init with another instance id is refused" 102 "" ember-init init --instance-id ffff
check "init --legacy on an installation with an id is refused" 102 "" ember-init init --legacy
is "nothing changed" "$(tree "$dir")" "$before"
check "show prints the installation" 0 "$(expect_show "$dir" "$id" "10.$s.0.0/16")" ember-init show
check "show -j prints one object" 0 "{\"state_dir\":\"$dir\",\"instance_id\":\"$id\",\"legacy\":false,\"subnet\":\"10.$s.0.0/16\",\"tap_prefix\":\"em$id-\",\"tap_alias\":\"ember:$id\",\"chain_input\":\"ember-$id-input\",\"chain_forward\":\"ember-$id-forward\",\"chain_postrouting\":\"ember-$id-postrouting\",\"rule_comment\":\"ember:$id\",\"pool\":\"ember-$id-pool\",\"image_prefix\":\"ember-$id-img-\",\"volume_prefix\":\"ember-$id-vm-\",\"dm_uuid_prefix\":\"EMBER-$id-\"}" ember-init show -j
check "-q prints nothing" 0 "" ember-init -q show
check "--state-dir wins over EMBER_STATE_DIR" 100 "" ember-init show --state-dir "$T_TMP/elsewhere"
like "a missing installation says how to make one" "$T_ERR" "*no ember installation in '$T_TMP/elsewhere'*hint: run 'ember-init init' first*"
check "a relative --state-dir is made absolute" 0 "*" bash -c "cd '$T_TMP' && ember-init init --state-dir rel --instance-id 0001"
like "and canonical" "$T_OUT" "state_dir $(realpath "$T_TMP")/rel*"

## explicit settings and legacy
new_state
check "--instance-id is taken as given, lowercased" 0 "*" ember-init init --instance-id A3F4 --ip-subnet 172.30.0.0/16
is "names follow it" "$T_OUT" "$(expect_show "$(realpath "$EMBER_STATE_DIR")" a3f4 172.30.0.0/16)"
new_state
check "--legacy makes a legacy installation" 0 "$(expect_show "$(realpath -m "$EMBER_STATE_DIR")" "" 10.100.0.0/16)" ember-init init --legacy
ok "its config has no instance id" bash -c "! grep -q instance_id '$EMBER_STATE_DIR/config.json'"
new_state
mkdir -p "$EMBER_STATE_DIR" && echo '{}' >"$EMBER_STATE_DIR/config.json"
check "a config without instance_id is legacy" 0 "$(expect_show "$(realpath "$EMBER_STATE_DIR")" "" 10.100.0.0/16)" ember-init show
check "init over it keeps it legacy" 0 "$(expect_show "$(realpath "$EMBER_STATE_DIR")" "" 10.100.0.0/16)" ember-init init
check "init over it with an id is refused" 102 "" ember-init init --instance-id a3f4

## bad input: a clear message, its exit code, nothing changed
new_state
for bad in xyz1 a3f a3f45 "" "a3 4" -1; do
	check "bad instance id '$bad' is refused" 100 "" ember-init init --instance-id "$bad"
	like "with a message" "$T_ERR" "ember-init: invalid instance id*hint: an instance id is exactly 4 hex characters*"
done
for bad in 10.1.0.1/16 10.0.0.0/7 10.1.0.0/31 10.1.0.0/33 10.1.0.0 garbage 10.1.0.0/016 300.1.0.0/16; do
	check "bad subnet '$bad' is refused" 100 "" ember-init init --ip-subnet "$bad"
done
# subnets the allocator can never hand an address from: its own rule, at init
while IFS='|' read -r bad why; do
	check "unusable subnet '$bad' is refused" 100 "" ember-init init --ip-subnet "$bad"
	like "  saying why" "$T_ERR" "ember-init: subnet '$bad' is $why*"
done <<'EOF'
224.1.0.0/16|within multicast (224.0.0.0/4): no address there can be handed out
239.0.0.0/8|within multicast (224.0.0.0/4)
0.0.0.0/8|within 'this network' (0.0.0.0/8)
0.1.0.0/16|within 'this network' (0.0.0.0/8)
240.0.0.0/8|within reserved (240.0.0.0/4)
255.255.255.0/24|within reserved (240.0.0.0/4)
127.0.0.0/16|loopback: a TAP cannot use it
EOF
check "host bits get a hint" 100 "" ember-init init --ip-subnet 10.1.0.1/16
like "naming the network" "$T_ERR" "*hint: did you mean '10.1.0.0/16'?"
check "--legacy with --instance-id is refused" 100 "" ember-init init --legacy --instance-id a3f4
check "an unknown option is refused" 100 "" ember-init init --bogus
like "by name" "$T_ERR" "ember-init: unknown option '--bogus'*hint: see 'ember-init --help'"
check "a missing option value is refused" 100 "" ember-init init --instance-id
check "an unknown verb is refused" 100 "" ember-init frobnicate
check "a prefix of a verb is not a verb" 100 "" ember-init ini
check "no verb is refused" 100 "" ember-init
check "an extra operand is refused" 100 "" ember-init show extra
check "--purge outside deinit is refused" 100 "" ember-init init --purge
check "--ip-subnet outside init is refused" 100 "" ember-init show --ip-subnet 10.1.0.0/16
ok "none of that created the state directory" test ! -e "$EMBER_STATE_DIR"
touch "$T_TMP/file"
check "a state dir under a regular file fails" 111 "" ember-init init --state-dir "$T_TMP/file/state"
like "saying why" "$T_ERR" "ember-init: unable to create directory '$T_TMP/file/state': Not a directory"
mkdir -p "$T_TMP/envdir" && touch "$T_TMP/envdir/keep"
for a in init show deinit; do
	check "an empty --state-dir is refused ($a), never taken for the default" 100 "" env EMBER_STATE_DIR="$T_TMP/envdir" ember-init $a --purge --state-dir ""
done
like "saying so" "$T_ERR" "ember-init: --state-dir needs a directory, not an empty string*"
ok "the default installation was not touched" test -e "$T_TMP/envdir/keep"
check "an unwritable state dir fails" 111 "" ember-init init --state-dir /proc/ember-state
like "saying why" "$T_ERR" "ember-init: unable to create directory '/proc/ember-state'*"

## corrupt config: 101, a hint, nothing written
new_state
ember-init init -q
printf '{"instance_id": "a3f4", ' >"$EMBER_STATE_DIR/config.json"
before=$(tree "$EMBER_STATE_DIR")
check "show refuses a corrupt config" 101 "" ember-init show
like "with a hint" "$T_ERR" "ember-init: unable to read '*/config.json': not a JSON object*hint: restore*"
check "init refuses a corrupt config" 101 "" ember-init init
check "deinit refuses a corrupt config" 101 "" ember-init deinit --purge
is "nothing was written" "$(tree "$EMBER_STATE_DIR")" "$before"
echo '{"instance_id":"zz"}' >"$EMBER_STATE_DIR/config.json"
check "a bad instance_id in the config is corrupt state" 101 "" ember-init show
# a directory that holds nothing but a corrupt config, mode 0755: init
# creates, locks and chmods nothing in it
mkdir -m 0755 "$T_TMP/bare" && printf '{"ip_subnet": ' >"$T_TMP/bare/config.json"
before=$(cd "$T_TMP/bare" && stat -c '%n %a %s' . *)
check "init of a bare directory with a corrupt config: 101" 101 "" ember-init init --state-dir "$T_TMP/bare"
is "no file, lock or mode changed" "$(cd "$T_TMP/bare" && stat -c '%n %a %s' . *)" "$before"
ok "no locks/ made" test ! -e "$T_TMP/bare/locks"
# unreadable: a directory where the config should be, and a file root cannot
# read as another user
rm "$T_TMP/bare/config.json" && mkdir "$T_TMP/bare/config.json"
check "a config that is no file is corrupt state: 101" 101 "" ember-init show --state-dir "$T_TMP/bare"
like "with a hint" "$T_ERR" "ember-init: *config.json*hint: check the permissions*"
check "and init refuses it too" 101 "" ember-init init --state-dir "$T_TMP/bare"
ok "still writing nothing" test ! -e "$T_TMP/bare/locks"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	other=$(mktemp -d /tmp/ember-other.XXXXXX) && at_exit "rm -rf '$other'"
	chmod 0755 "$other" && echo '{}' >"$other/config.json" && chmod 000 "$other/config.json"
	check "a config its user cannot read: 101" 101 "" setpriv --reuid=65534 --regid=65534 --clear-groups "$EMBER" init show --state-dir "$other"
	like "  with a hint" "$T_ERR" "*Permission denied*hint: check the permissions*"
else
	skip "a config its user cannot read: 101" "needs root and setpriv"
fi

## deinit
new_state
ember-init init -q
dir=$(realpath "$EMBER_STATE_DIR")
sqlite3 "$dir/state.db" "CREATE TABLE vms (name TEXT PRIMARY KEY) STRICT; INSERT INTO vms VALUES ('web1'), ('db1');"
check "deinit is refused while VMs are registered" 102 "" ember-init deinit --purge
like "naming them" "$T_ERR" "ember-init: 2 VMs are registered: db1, web1*hint: *ember-vm delete*"
ok "and the installation is still there" test -s "$dir/config.json"
sqlite3 "$dir/state.db" "DELETE FROM vms"
check "deinit without --purge keeps the files" 0 "$dir $(ember-init show | sed -n 's/^instance_id //p') no" ember-init deinit
ok "so the installation remains" ember-init show
check "deinit --purge removes them" 0 "*" ember-init deinit --purge -j
like "and says so" "$T_OUT" '{"state_dir":"*","instance_id":"*","purged":true}'
ok "the state directory is gone" test ! -e "$dir"
check "deinit of nothing succeeds" 0 "" ember-init deinit --purge
mkdir -p "$T_TMP/onlyconfig" && echo '{}' >"$T_TMP/onlyconfig/config.json"
check "deinit of a directory that only holds a (legacy) config" 0 "*" ember-init deinit --state-dir "$T_TMP/onlyconfig"

## the runtime preflight
check "check prints one line per piece" "*" "*" ember-init check
rc=$T_RC
is "check's exit code is 0 or 1" "$([ "$rc" = 0 ] || [ "$rc" = 1 ] && echo yes)" yes
like "pieces in order" "$(echo "$T_OUT" | cut -d' ' -f1 | tr '\n' ' ')" "ip iptables tun device-mapper thin-pool libdevmapper libcurl firecracker kvm "
if [ "$rc" = 1 ]; then
	missing=$(echo "$T_OUT" | awk '$2 == "missing" {print $1}' | head -1)
	like "a missing piece gets an actionable line" "$T_ERR" "*ember-init: $missing is missing: *"
fi
check "firecracker off PATH is reported missing" 1 "*" env PATH=/nonexistent "$EMBER" init check
like "as missing" "$T_OUT" "*firecracker missing -*"
check "check -j is an array" "*" "*" ember-init check -j
like "of objects" "$T_OUT" '\[{"name":"ip","status":"*"}*\]'

## concurrency: parallel inits agree
new_state
for i in 1 2 3 4 5 6 7 8; do ember-init init >"$T_TMP/par.$i" 2>&1 & done
wait
ok "eight parallel inits all print the same installation" bash -c "cd '$T_TMP' && for i in 2 3 4 5 6 7 8; do cmp -s par.1 par.\$i || exit 1; done"
ok "and it is complete" ember-init show

## the applets not built yet say so, with the common options of every applet
for a in reconcile; do
	check "ember-$a --help" 0 "*" ember-$a --help
	like "  prints its usage, with exit codes" "$T_OUT" "usage: ember-$a *exit codes:*111 not implemented yet*"
	check "ember-$a --version" 0 "ember-$a $("$EMBER" --version | cut -d' ' -f2)" ember-$a --version
	check "ember-$a --bogus: 100" 100 "" ember-$a --bogus
	check "ember-$a list: 111" 111 "" ember-$a list
	like "  saying why" "$T_ERR" "ember-$a: not implemented yet"
done

## process hygiene
check "a failed write of the result is an error" 111 "" bash -c 'ember-init show >/dev/full'
like "saying so" "$T_ERR" "*unable to write the result to standard output*"
ok "ember is not linked against libcurl or libdevmapper" bash -c "! ldd '$EMBER' | grep -Eq 'libcurl|libdevmapper'"
maps() { # APPLET ARGS...: how many of libcurl and libdevmapper the process loads
	LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep -cE 'calling init: .*/(libcurl|libdevmapper)[.-]'
}
check "ember-init show never maps libcurl or libdevmapper" "*" 0 maps ember-init show
check "while check, which loads both, maps them (so the probe sees them)" "*" 2 maps ember-init check

done_testing
