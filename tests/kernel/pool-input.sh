#!/usr/bin/env bash
# pool-input: bad input gets a clear error (exit 100) and changes nothing.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"

new_install --instance-id badd
P=ember-badd-pool

# nothing_changed TITLE: no pool record, no device, no pool files.
nothing_changed() {
	is "$1: no pool recorded" "$(db "SELECT count(*) FROM pool" 2>/dev/null || echo 0)" 0
	is "$1: no device" "$(dmsetup ls | grep -c badd)" 0
	ok "$1: no pool files" test ! -e "$EMBER_STATE_DIR/pool"
}

for s in abc 10X -5 0 "" 1.5G 10GG 12Kb; do
	check "size '$s' is not a size" 100 "" ember-pool create --size "$s"
done
like "the error names the size" "$T_ERR" "ember-pool: invalid size '12Kb'*hint: a size is*"
check "create needs --size" 100 "" ember-pool create
check "a pool under 8 MiB" 100 "" ember-pool create --size 4M
check "block size not a multiple of 64 KiB" 100 "" ember-pool create --size 64M --block-size 96K
like "says so" "$T_ERR" "*must be a multiple of 64 KiB*"
check "block size over 1 GiB" 100 "" ember-pool create --size 64G --block-size 2G
check "block size not a size" 100 "" ember-pool create --size 64M --block-size big
check "metadata too small for the pool" 100 "" ember-pool create --size 1T --metadata-size 2M
like "with a hint" "$T_ERR" "*too small*hint: give at least*"
check "metadata over the thin-pool limit" 100 "" ember-pool create --size 64M --metadata-size 17G
check "a data device that does not exist" 100 "" ember-pool create --size 64M --data-dev /dev/nosuch
like "says which" "$T_ERR" "ember-pool: no device '/dev/nosuch'"
check "a data device that is no block device" 100 "" ember-pool create --size 64M --data-dev /etc/passwd
truncate -s 16M "$T_TMP/small"
small=$(losetup -f) && losetup "$small" "$T_TMP/small"
at_exit "losetup -d $small"
check "a data device too small" 100 "" ember-pool create --size 64M --data-dev "$small"
like "says how small" "$T_ERR" "*has 16777216 bytes, fewer than*"
nothing_changed "after every refused create"

check "a data device that fits" 0 '*' ember-pool create --size 16M --data-dev "$small"
like "the pool on it" "$T_OUT" "$P rw 0 0 16777216 * $small 0 0 0"
ok "no data file" test ! -e "$EMBER_STATE_DIR/pool/data.img"
check "its table names the device by major:minor" 0 "7:${small#/dev/loop}" \
	sh -c "dmsetup table $P | cut -d' ' -f5"
random_file "$T_TMP/base.img" 100000
check "import works on it" 0 '*' ember-pool import base "$T_TMP/base.img"

before=$(db "SELECT kind, name, thin_id, state FROM pool_volume")
check "clone of an unknown image" 100 "" ember-pool clone nosuch vm1
like "names it" "$T_ERR" "ember-pool: no image 'nosuch'*hint: import it*"
check "clone with a bad owner" 100 "" ember-pool clone base "Bad Owner"
check "clone with a bad size" 100 "" ember-pool clone base vm1 --size lots
check "import of a missing file" 100 "" ember-pool import img2 "$T_TMP/nosuch"
: >"$T_TMP/empty"
check "import of an empty file" 100 "" ember-pool import img2 "$T_TMP/empty"
check "import of a directory" 100 "" ember-pool import img2 "$T_TMP"
check "import under a bad name" 100 "" ember-pool import "../x" "$T_TMP/base.img"
check "delete of a bad name" 100 "" ember-pool delete "a/b"
check "activate of an unknown volume" 1 "" ember-pool activate nosuch
is "no volume changed" "$(db "SELECT kind, name, thin_id, state FROM pool_volume")" "$before"
check "--data-dev goes with create" 100 "" ember-pool grow --size 1G --data-dev /dev/sda
check "--force goes with destroy" 100 "" ember-pool delete base --force
check "a foreign device with our volume's name is never touched" 0 '*' \
	dmsetup create ember-badd-vm-vm9 --uuid OTHER-vm9 --table "0 8 error"
at_exit "dmsetup remove ember-badd-vm-vm9"
check "destroy --force leaves it" 0 '*' ember-pool destroy --force
check "it is still there" 0 "OTHER-vm9" dmsetup info -c --noheadings -o uuid ember-badd-vm-vm9
check "activate again" 0 '*' ember-pool activate
check "a clone under that name is refused" 102 "" ember-pool clone base vm9
like "because the device is not ours" "$T_ERR" "*not this installation's*"
done_testing
