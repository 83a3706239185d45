#!/usr/bin/env bash
# pool-activate: after a reboot the pool comes back from its files; damaged
# metadata is caught by thin_check and nothing is started; concurrent runs
# serialize and leave the database and the pool in agreement.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"

new_install --instance-id ac71
P=ember-ac71-pool
check "activate without a pool says no" 1 "" ember-pool activate
check "create" 0 '*' ember-pool create --size 64M
random_file "$T_TMP/base.img" 2000000
check "import" 0 '*' ember-pool import base "$T_TMP/base.img"

# concurrent clones and deletes: one lock, one transaction id at a time
for i in 1 2 3 4 5 6; do ember-pool -q clone base "p$i" & done
wait
check "six concurrent clones all made" 0 "6" sh -c "ember-pool list | grep -c ' ready p[1-6] base yes '"
is "the database and the pool agree" "$(db_ids)" "$(pool_ids $P)"
for i in 1 2 3; do ember-pool -q delete "p$i" & done
for i in 7 8 9; do ember-pool -q clone base "p$i" & done
wait
check "deletes and clones side by side" 0 "p4 p5 p6 p7 p8 p9" sh -c "ember-pool -j list | grep -o '\"owner\":\"p[0-9]\"' | cut -d'\"' -f4 | sort | tr '\n' ' ' | sed 's/ \$//'"
is "the database and the pool agree again" "$(db_ids)" "$(pool_ids $P)"
check "the transaction id counts every create and delete" 0 '*' ember-pool status
like "1 import + 9 clones + 3 deletes" "$T_OUT" "$P rw 13 *"

# a reboot: devices and loops gone, files kept
check "destroy --force (as a reboot would)" 0 '*' ember-pool destroy --force
check "activate re-attaches the loops and starts the pool" 0 '*' ember-pool activate
like "with its transaction id" "$T_OUT" "$P rw 13 *"
ok "the loops are attached to our files" sh -c "losetup -a | grep -q '$EMBER_STATE_DIR/pool/data.img'"
check "a volume activates with its data" 0 '*' ember-pool activate p4
ok "the data" cmp -n 2000000 "$T_TMP/base.img" /dev/mapper/ember-ac71-vm-p4

check "destroy --force again" 0 '*' ember-pool destroy --force
dd if=/dev/urandom of="$EMBER_STATE_DIR/pool/metadata.img" bs=4096 count=1 conv=notrunc 2>/dev/null
check "activate with damaged metadata is refused" 101 "" ember-pool activate
like "thin_check found it, with a hint" "$T_ERR" "*thin_check finds the pool metadata on*damaged*hint: repair it with thin_repair*"
check "nothing was started" 0 "No devices found" dmsetup ls
ok "no loop device was left" sh -c "! losetup -a | grep -q '$EMBER_STATE_DIR'"
check "status says inactive" 0 '*' ember-pool status
like "inactive" "$T_OUT" "$P inactive -1 *"
# a create killed at each step: the same create (or activate) finishes it
for step in create-recorded create-files create-started; do
	new_install --instance-id c4e7
	(EMBER_TEST_CRASH=pool-$step ember-pool create --size 32M; exit $?) >/dev/null 2>&1
	is "$step: killed at the step" "$?" 137
	if [ $step = create-files ]; then
		check "$step: activate finishes it" 0 '*' ember-pool activate
	else
		check "$step: the same create finishes it" 0 '*' ember-pool create --size 32M
	fi
	like "$step: a fresh pool" "$T_OUT" "ember-c4e7-pool rw 0 0 33554432 0 *"
	check "$step: another size is refused all the same" 102 "" ember-pool create --size 64M
	check "$step: the pool works" 0 '*' ember-pool import base "$T_TMP/base.img"
	ok "$step: one loop device per file" test "$(losetup -a | grep -c "$EMBER_STATE_DIR/pool/")" = 2
	ember-pool -q destroy --force --purge
done
done_testing
