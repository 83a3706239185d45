#!/usr/bin/env bash
# reconcile-pool: ember-reconcile and the thin pool, inside the kernel
# harness: a leaked active volume of an owner with no VM is deactivated (not
# deleted); thin ids left creating or deleting by a killed ember-pool are
# settled by the pool's own recovery, after which the database and the
# pool's thin ids agree; a converged pass leaves the dm tables and the
# database as they were; another installation's devices are never touched.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"
command -v thin_ls >/dev/null || skip_all "no thin_ls (thin-provisioning-tools)"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
command -v dmsetup >/dev/null || skip_all "no dmsetup"

tables() { dmsetup table | grep "ember-$1-" | sort; }
new_install --instance-id beef
SB=$EMBER_STATE_DIR
ember-pool -q create --size 32M || { echo "Bail out! create failed"; exit 1; }
head -c 200000 /dev/urandom >"$T_TMP/base.img"
ember-pool -q import base "$T_TMP/base.img" && ember-pool -q clone base other ||
	{ echo "Bail out! the other installation's volumes"; exit 1; }
db "UPDATE pool_volume SET created = created - 3600"
B_before="$(tables beef)
$(db .dump)"

new_install --instance-id c0de
P=ember-c0de-pool
ember-pool -q create --size 64M || { echo "Bail out! create failed"; exit 1; }
ember-pool -q import base "$T_TMP/base.img" || { echo "Bail out! import failed"; exit 1; }
check "clone vm1" 0 '*' ember-pool clone base vm1
ok "it is active" test -b /dev/mapper/ember-c0de-vm-vm1
check "with the default grace, a new volume stays" 0 "" ember-reconcile --only volume
ok "active still" test -b /dev/mapper/ember-c0de-vm-vm1
db "UPDATE pool_volume SET created = created - 3600"
check "show-plan: the leaked active volume" 0 "volume vm1 ember-c0de-vm-vm1 deactivate planned" ember-reconcile show-plan
check "the pass deactivates it" 0 "volume vm1 ember-c0de-vm-vm1 deactivate ok" ember-reconcile
ok "no device any more" test ! -e /dev/mapper/ember-c0de-vm-vm1
is "the volume stays, inactive" "$(db "SELECT name, state FROM pool_volume WHERE kind = 'vm'")" "vm1|ready"
before="$(tables c0de)
$(db .dump)"
check "the next pass does nothing" 0 "" ember-reconcile
is "dm tables and database unchanged" "$(tables c0de)
$(db .dump)" "$before"

# thin ids left half-way by a killed ember-pool
(EMBER_TEST_CRASH=pool-clone-committed ember-pool clone base vm2) >/dev/null 2>&1
is "a clone killed after its commit" "$?" 137
is "left creating" "$(db "SELECT state FROM pool_volume WHERE name = 'vm2'")" creating
check "the pass recovers it" 0 "thin - vm2 recover ok" ember-reconcile --only thin
is "nothing left half-way" "$(db "SELECT count(*) FROM pool_volume WHERE state <> 'ready'")" 0
is "the database and the pool agree" "$(db_ids)" "$(pool_ids $P)"
(EMBER_TEST_CRASH=pool-delete-deleted ember-pool delete vm1) >/dev/null 2>&1
is "a delete killed after the thin device went" "$?" 137
is "left deleting" "$(db "SELECT state FROM pool_volume WHERE name = 'vm1'")" deleting
check "the pass recovers it" 0 '*' ember-reconcile --grace 0
like "saying so" "$T_OUT" "*thin - vm1 recover ok*"
is "the volume is gone" "$(db "SELECT count(*) FROM pool_volume WHERE name = 'vm1'")" 0
is "the database and the pool agree" "$(db_ids)" "$(pool_ids $P)"
before="$(tables c0de)
$(db .dump)"
check "the next pass does nothing" 0 "" ember-reconcile --grace 0
is "dm tables and database unchanged" "$(tables c0de)
$(db .dump)" "$before"
is "the other installation's devices and database byte for byte" "$(tables beef)
$(EMBER_STATE_DIR=$SB db .dump)" "$B_before"

echo "1..$T_N"
[ "$T_FAILED" = 0 ]
