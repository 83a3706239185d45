#!/usr/bin/env bash
# pool-full: writing past the pool's data gives a clear status, and grow recovers it.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"

new_install --instance-id f011
P=ember-f011-pool
check "a small pool" 0 '*' ember-pool create --size 16M
random_file "$T_TMP/base.img" 1048576
check "an image" 0 '*' ember-pool import base "$T_TMP/base.img"
check "an overcommitted clone" 0 '*' ember-pool clone base vm1 --size 64M
check "a write past the pool's data fails" 1 '*' dd if=/dev/zero of=/dev/mapper/ember-f011-vm-vm1 bs=1M count=32 conv=fsync
check "status says out_of_data_space" 0 '*' ember-pool status
like "the mode" "$T_OUT" "$P out_of_data_space * 16777216 100 *"
like "a warning at 80% and more" "$T_ERR" "*data is 100% full*"
like "and that writes fail" "$T_ERR" "*out of data space*"
check "-j says it too" 0 '*' ember-pool -j status
like "mode in JSON" "$T_OUT" '*"mode":"out_of_data_space"*'
check "grow" 0 '*' ember-pool grow --size 64M
like "writable again and larger" "$T_OUT" "$P rw * 67108864 * 65536 - 2 0 0"
ok "the data file grew" test "$(stat -c %s "$EMBER_STATE_DIR/pool/data.img")" = 67108864
ok "the write now succeeds" dd if=/dev/zero of=/dev/mapper/ember-f011-vm-vm1 bs=1M count=32 conv=fsync
check "status after" 0 '*' ember-pool status
like "rw, about half used" "$T_OUT" "$P rw * 67108864 5[0-9] *"
check "grow to the same size changes nothing" 0 '*' ember-pool grow --size 64M
check "grow cannot shrink" 100 "" ember-pool grow --size 32M
check "grow without --size" 100 "" ember-pool grow
random_file "$T_TMP/big.img" $((80 * 1024 * 1024))
check "an import larger than the free space fails" 111 "" ember-pool import big "$T_TMP/big.img"
like "with the kernel's errno" "$T_ERR" "*unable to write the image into '/dev/mapper/ember-f011-img-big'*"
check "and leaves nothing behind" 0 "0" db "SELECT count(*) FROM pool_volume WHERE name = 'big'"
is "the database and the pool agree" "$(db_ids)" "$(pool_ids $P)"
check "grow again" 0 '*' ember-pool grow --size 256M
check "now the import fits" 0 '*' ember-pool import big "$T_TMP/big.img"
# a grow killed at each step: the next run finishes it (a pool left
# suspended would hang every volume's I/O)
size=256
for step in grow-recorded grow-reloaded grow-suspended; do
	size=$((size + 64))
	(EMBER_TEST_CRASH=pool-$step ember-pool grow --size ${size}M; exit $?) >/dev/null 2>&1
	is "$step: killed at the step" "$?" 137
	check "$step: the next status finishes the grow" 0 '*' ember-pool status
	like "$step: rw at the new size" "$T_OUT" "$P rw * $((size * 1048576)) *"
	like "$step: and says so" "$T_ERR" "*pool '$P'*"
	ok "$step: the pool is not suspended" sh -c "dmsetup info $P | grep -q 'State: *ACTIVE'"
	ok "$step: a volume can be written" dd if=/dev/zero of=/dev/mapper/ember-f011-vm-vm1 bs=64k count=4 conv=fsync
done
check "an image left suspended by a killed clone" 0 '*' sh -c "ember-pool -q activate ember-f011-img-base && dmsetup suspend ember-f011-img-base"
check "the next clone of it works" 0 '*' ember-pool clone base vm2
like "and resumes it" "$(dmsetup info ember-f011-img-base)" "*State: *ACTIVE*"
check "the pool survives a reactivation at its new size" 0 '*' ember-pool destroy --force
check "activate" 0 '*' ember-pool activate
like "448M after activate" "$T_OUT" "$P rw * $((448 * 1048576)) *"
done_testing
