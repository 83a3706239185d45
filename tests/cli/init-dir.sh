#!/usr/bin/env bash
# ember-init and the state directory it is given: it adopts only a new, empty or
# ember-made directory, deinit --purge removes only what ember made, and a path
# that is no directory, or a config.json that is not what ember wrote, gets a
# clear message and changes nothing.
. "$(dirname "$0")/../lib.sh"

# Everything under a directory: names, modes and sizes.
listing() { (cd "$1" && find . -printf '%p %m %s\n' | sort); }

## init adopts only what is new, empty or ember's
d=$T_TMP/notes
mkdir -m 0755 "$d" && echo x >"$d/notes.txt"
before=$(listing "$d")
check "init of a directory holding someone's files: 100" 100 "" ember-init init --state-dir "$d"
like "naming a file it holds, with a hint" "$T_ERR" "ember-init: '$d' is not empty and is not an ember installation (it holds 'notes.txt')*hint: name a new or empty directory with --state-dir"
is "nothing changed: no file, no mode" "$(listing "$d")" "$before"
mkdir -m 0755 "$T_TMP/subdir" && mkdir "$T_TMP/subdir/etc"
check "a directory holding a directory of someone's: 100" 100 "" ember-init init --state-dir "$T_TMP/subdir"
ok "nothing made in it" test ! -e "$T_TMP/subdir/locks"
mkdir "$T_TMP/dot" && touch "$T_TMP/dot/.hidden"
check "a hidden file counts too: 100" 100 "" ember-init init --state-dir "$T_TMP/dot"
for opt in "--instance-id a3f4" "--legacy" "--ip-subnet 172.31.0.0/16"; do
	# shellcheck disable=SC2086
	check "so with $opt" 100 "" ember-init init --state-dir "$d" $opt
done
mkdir -p "$T_TMP/mnt/lost+found"
check "an empty file system's mount point (only lost+found) is taken" 0 "*" ember-init init -q --state-dir "$T_TMP/mnt"
check "  and purged back to it" 0 "*" ember-init deinit --purge --state-dir "$T_TMP/mnt"
is "  (lost+found stays)" "$(cd "$T_TMP/mnt" && find . | sort | tr '\n' ' ')" ". ./lost+found "
mkdir "$T_TMP/empty"
check "an empty directory is taken" 0 "*" ember-init init -q --state-dir "$T_TMP/empty"
ok "  and made an installation" test -s "$T_TMP/empty/config.json"
# what an init killed before its config leaves: locks/, vms/, state.db
ember-init init -q --state-dir "$T_TMP/half" && rm "$T_TMP/half/config.json"
check "a directory holding only what an unfinished init made is completed" 0 "*" ember-init init -q --state-dir "$T_TMP/half"
ok "  (its config is written)" test -s "$T_TMP/half/config.json"
check "an installation with files of its operator's stays an installation" 0 "*" \
	bash -c "echo x >'$T_TMP/empty/README' && ember-init init -q --state-dir '$T_TMP/empty'"

## deinit --purge removes what ember made, and the directory only when empty
new_state
ember-init init -q
dir=$(realpath "$EMBER_STATE_DIR")
ember-ipalloc -q alloc vm1
mkdir -p "$dir/vms/vm1" "$dir/pool" && : >"$dir/hosts" && : >"$dir/config.json.tmp.4242"
echo "mine" >"$dir/notes.txt" && mkdir "$dir/backup" && echo b >"$dir/backup/state.db"
check "deinit --purge with files of the operator's in the directory" 0 "$dir $(ember-init show | sed -n 's/^instance_id //p') yes" ember-init deinit --purge
like "  says the directory stays" "$T_ERR" "ember-init: warning: '$dir' stays: it holds files ember did not make"
is "  (their contents too)" "$(cat "$dir/notes.txt" "$dir/backup/state.db")" "mine
b"
is "  what is left" "$(cd "$dir" && find . | sort | tr '\n' ' ')" ". ./backup ./backup/state.db ./notes.txt "
rm -rf "$dir"
ember-init init -q
ember-ipalloc -q alloc vm1
mkdir -p "$dir/vms/vm1" && : >"$dir/hosts"
check "deinit --purge of a directory holding only ember's files" 0 "*" ember-init deinit --purge
ok "  removes the directory" test ! -e "$dir"
is "  quietly" "$T_ERR" ""
# the state directory inside a directory of the operator's: only it goes
new_state
mkdir -p "$T_TMP/parent" && echo keep >"$T_TMP/parent/keep"
ember-init init -q --state-dir "$T_TMP/parent/ember"
check "deinit --purge of a state directory inside another" 0 "*" ember-init deinit --purge --state-dir "$T_TMP/parent/ember"
is "  leaves the parent and its files" "$(cd "$T_TMP/parent" && find . | sort | tr '\n' ' ')" ". ./keep "

## a state directory that is no directory: a clear message, nothing changed
echo data >"$T_TMP/plain"
for a in "ember-init init" "ember-init show" "ember-ipalloc list" "ember-cidalloc alloc vm1" "ember-tap list" "ember-nat list"; do
	# shellcheck disable=SC2086
	check "a regular file as state directory ($a): 100" 100 "" $a --state-dir "$T_TMP/plain"
	like "  saying so, with no hint about permissions" "$T_ERR" "ember-*: state directory '$T_TMP/plain' is not a directory
hint: name a directory (or a path that does not exist yet) with --state-dir"
done
is "the file is as it was" "$(cat "$T_TMP/plain")" data
ln -s "$T_TMP/nowhere" "$T_TMP/dangling"
for a in "ember-init init" "ember-init show" "ember-ipalloc alloc vm1" "ember-nat list"; do
	# shellcheck disable=SC2086
	check "a dangling symlink as state directory ($a): 100" 100 "" $a --state-dir "$T_TMP/dangling"
	like "  saying where it leads" "$T_ERR" "ember-*: state directory '$T_TMP/dangling' is a symbolic link to '$T_TMP/nowhere', which does not exist*hint:*"
done
ok "nothing was created where it leads" test ! -e "$T_TMP/nowhere"
check "deinit of a dangling symlink: nothing to do" 0 "" ember-init deinit --purge --state-dir "$T_TMP/dangling"
like "  saying why" "$T_ERR" "*is a symbolic link to*nothing to do"
ok "  and the link stays" test -L "$T_TMP/dangling"
mkdir "$T_TMP/target"
ln -s "$T_TMP/target" "$T_TMP/link"
check "a symlink to a directory is fine" 0 "*" ember-init init -q --state-dir "$T_TMP/link"

## a config.json that is not what ember wrote: 101, nothing written
new_state
ember-init init -q
dir=$(realpath "$EMBER_STATE_DIR")
good=$(cat "$dir/config.json")
while IFS='|' read -r title text; do
	printf '%s' "$text" >"$dir/config.json"
	check "a config that is $title: 101" 101 "" ember-init show
	like "  saying so, with a hint" "$T_ERR" "ember-init: unable to read '$dir/config.json': *hint: restore*"
	check "  and init refuses it" 101 "" ember-init init
	is "  leaving it as it was" "$(cat "$dir/config.json")" "$text"
done <<'EOF'
two objects|{"version": 1, "instance_id": "a3f4"}{"version": 1, "instance_id": "b0b0"}
an object and a stray byte|{"version": 1, "instance_id": "a3f4"} x
an object and an array|{"version": 1}[]
version 0|{"version": 0, "instance_id": "a3f4"}
a negative version|{"version": -1, "instance_id": "a3f4"}
a fractional version|{"version": 1.5, "instance_id": "a3f4"}
a huge version|{"version": 1e300, "instance_id": "a3f4"}
a version that is a string|{"version": "1", "instance_id": "a3f4"}
a newer version|{"version": 2, "instance_id": "a3f4"}
EOF
printf '%s' '{"version": 2}' >"$dir/config.json"
check "a newer version names both" 101 "" ember-init show
like "  the file's and this ember's" "$T_ERR" "*config version 2 is newer than this ember knows (1)*"
printf '%s\n\n  \n' "$good" >"$dir/config.json"
check "trailing blank lines are fine" 0 "*" ember-init show
printf '%s' '{"version": 1.0, "instance_id": "a3f4"}' >"$dir/config.json"
check "so is version 1.0" 0 "*" ember-init show

done_testing
