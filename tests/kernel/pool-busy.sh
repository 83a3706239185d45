#!/usr/bin/env bash
# pool-busy: a volume that is open is retried (EBUSY) for a bounded time, then
# refused with the kernel's errno; nothing is lost either way.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"

new_install --instance-id b057
P=ember-b057-pool
ember-pool -q create --size 64M || { echo "Bail out! create failed"; exit 1; }
random_file "$T_TMP/base.img" 100000
ember-pool -q import base "$T_TMP/base.img" && ember-pool -q clone base vm1 && ember-pool -q clone base vm2 ||
	{ echo "Bail out! setup failed"; exit 1; }

# sleep holds the volume open through its stdin, as a VMM holds its drive
# shellcheck disable=SC2217
sleep 2 </dev/mapper/ember-b057-vm-vm1 &
check "delete of a volume open for 2 s waits and succeeds" 0 '*' ember-pool delete vm1
like "deleted" "$T_OUT" "ember-b057-vm-vm1 * deleted vm1 base no -"
wait

# shellcheck disable=SC2217
sleep 30 </dev/mapper/ember-b057-vm-vm2 &
holder=$!
check "delete of a volume that stays open gives up" 111 "" ember-pool delete vm2
like "with the kernel's errno and a hint" "$T_ERR" "ember-pool: unable to remove device 'ember-b057-vm-vm2': Device or resource busy*hint: it is still open*"
check "the volume is intact" 0 "ember-b057-img-base 0 100352 ready - base no -
ember-b057-vm-vm2 2 100352 ready vm2 base yes /dev/mapper/ember-b057-vm-vm2" ember-pool list
check "so is a deactivate" 111 "" ember-pool deactivate vm2
check "destroy --force too" 111 "" ember-pool destroy --force
ok "and the pool is still there" dmsetup info $P
kill $holder
wait
check "once closed, delete works" 0 '*' ember-pool delete vm2
is "the database and the pool agree" "$(db_ids)" "$(pool_ids $P)"

# a long import holds the lock: readers neither wait for it nor mistake its
# half-way record for a crash
yes ember | head -c $((48 * 1024 * 1024)) >"$T_TMP/big.img"
ember-pool -q import big "$T_TMP/big.img" &
importer=$!
for i in $(seq 100); do
	[ "$(db "SELECT state FROM pool_volume WHERE name = 'big'")" = creating ] && break
	sleep 0.05
done
if [ "$(db "SELECT state FROM pool_volume WHERE name = 'big'")" = creating ]; then
	check "list during the import answers at once" 0 '*' timeout 10 ember-pool list
	like "and shows the image being made" "$T_OUT" "*ember-b057-img-big * creating - big *"
	check "status too" 0 '*' timeout 10 ember-pool status
	like "one pending" "$T_OUT" "* 1"
else
	skip "list during the import answers at once" "the import was too quick to catch"
fi
wait $importer
is "the import finished" "$?" 0
check "then it is ready" 0 '*' ember-pool list
like "ready" "$T_OUT" "*ember-b057-img-big * ready - big *"
is "the database and the pool agree at the end" "$(db_ids)" "$(pool_ids $P)"
done_testing
