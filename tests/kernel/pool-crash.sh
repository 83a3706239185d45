#!/usr/bin/env bash
# pool-crash: ember-pool killed dead (SIGKILL, EMBER_TEST_CRASH=pool-STEP) at each
# step of import, clone and delete; the next run must leave the database and
# the pool's real thin ids (thin_ls on a metadata snapshot) in agreement.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"
command -v thin_ls >/dev/null || skip_all "no thin_ls (thin-provisioning-tools)"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"

new_install --instance-id c0de
P=ember-c0de-pool
ember-pool -q create --size 64M || { echo "Bail out! create failed"; exit 1; }
random_file "$T_TMP/base.img" 1000000
ember-pool -q import base "$T_TMP/base.img" || { echo "Bail out! import failed"; exit 1; }

# crashed STEP OUTCOME CMD...: CMD dies at STEP; the next run settles it; the
# volume NAME (kind:ident) then exists ("kept") or not ("gone").
crashed() {
	local step=$1 kind=$2 ident=$3 outcome=$4
	shift 4
	(EMBER_TEST_CRASH=pool-$step "$@"; exit $?) >/dev/null 2>&1
	is "$step: killed at the step" "$?" 137
	check "$step: the next run settles it" 0 '*' ember-pool list
	is "$step: nothing is left half-way" "$(db "SELECT count(*) FROM pool_volume WHERE state <> 'ready'")" 0
	is "$step: the database and the pool agree" "$(db_ids)" "$(pool_ids $P)"
	local n
	n=$(db "SELECT count(*) FROM pool_volume WHERE kind = '$kind' AND name = '$ident'")
	if [ "$outcome" = kept ]; then
		is "$step: $kind $ident exists" "$n" 1
	else
		is "$step: $kind $ident is gone" "$n" 0
	fi
}

# up to the end of the copy an import is undone; once the copy is whole and
# recorded so (import-copied), it is finished
for step in import-recorded import-created import-committed import-copied; do
	random_file "$T_TMP/$step.img" 500000
	outcome=gone
	[ $step = import-copied ] && outcome=kept
	crashed $step img "$step" $outcome ember-pool import "$step" "$T_TMP/$step.img"
	check "$step: the import works on a second try" 0 '*' ember-pool import "$step" "$T_TMP/$step.img"
	ok "$step: and the image holds the file" sh -c "ember-pool -q activate ember-c0de-img-$step &&
		cmp -n 500000 '$T_TMP/$step.img' /dev/mapper/ember-c0de-img-$step && ember-pool -q deactivate ember-c0de-img-$step"
done

crashed clone-recorded vm c1 gone ember-pool clone base c1
crashed clone-created vm c2 gone ember-pool clone base c2
crashed clone-committed vm c3 kept ember-pool clone base c3
crashed clone-ready vm c4 kept ember-pool clone base c4
for o in c1 c2 c3 c4; do
	check "clone $o after the crash" 0 '*' ember-pool clone base $o
	ok "clone $o holds the image" cmp -n 1000000 "$T_TMP/base.img" /dev/mapper/ember-c0de-vm-$o
done

crashed delete-deactivated vm c1 kept ember-pool delete c1
crashed delete-recorded vm c2 kept ember-pool delete c2
crashed delete-deleted vm c3 gone ember-pool delete c3
crashed delete-committed vm c4 gone ember-pool delete c4
for o in c1 c2; do
	check "delete $o after the crash" 0 '*' ember-pool delete $o
done
# failures after the pool took the new device, before the change was
# committed (EMBER_TEST_FAIL makes a step fail that this kernel never fails)
check "a clone whose commit fails: refused" 111 "" env EMBER_TEST_FAIL=pool-create-commit ember-pool clone base f1
like "  saying so" "$T_ERR" "*create-commit failed*"
is "  the device it made is taken out again: database and pool agree" "$(db_ids)" "$(pool_ids $P)"
is "  nothing recorded" "$(db "SELECT count(*) FROM pool_volume WHERE name = 'f1'")" 0
check "a clone whose commit and undo fail: refused" 111 "" env EMBER_TEST_FAIL=pool-create-commit,pool-create-undo ember-pool clone base f2
like "  the id is reported quarantined" "$T_ERR" "*quarantined as faulty: it was created, but neither committed nor removed*"
is "  kept as faulty, never forgotten while the pool holds it" "$(db "SELECT state FROM pool_volume WHERE name = 'f2'")" faulty
is "  database and pool agree" "$(db_ids)" "$(pool_ids $P)"
check "  delete takes it out" 0 "*" ember-pool delete f2
is "  then they still agree" "$(db_ids)" "$(pool_ids $P)"
is "at the end, only the images remain" "$(db "SELECT kind || ':' || name FROM pool_volume ORDER BY thin_id" | tr '\n' ' ')" \
	"img:base img:import-recorded img:import-created img:import-committed img:import-copied "
is "and the pool agrees" "$(db_ids)" "$(pool_ids $P)"

check "status after everything" 0 '*' ember-pool status
like "no faulty and no pending volume" "$T_OUT" "* 0 0"

# An id whose fate cannot be decided: killed after create_snap, and before
# the next run someone else opens that thin id, so it can be neither rolled
# back nor kept. It is quarantined as faulty, reported, and never reused.
(EMBER_TEST_CRASH=pool-clone-created ember-pool clone base c5; exit $?) >/dev/null 2>&1
id=$(db "SELECT thin_id FROM pool_volume WHERE name = 'c5'")
pool_dev=$(dmsetup info -c --noheadings -o major,minor $P)
ok "someone opens thin id $id behind ember's back" dmsetup create intruder --table "0 8 thin $pool_dev $id"
check "the next run goes on" 0 '*' ember-pool list
like "and reports the quarantine" "$T_ERR" "*thin id $id of volume 'c5' is quarantined as faulty*"
like "list shows it faulty" "$T_OUT" "*ember-c0de-vm-c5 $id 1000448 faulty c5 base no -*"
check "status counts it" 0 '*' ember-pool status
like "one faulty" "$T_OUT" "* 1 0"
like "status warns" "$T_ERR" "*1 faulty volume*"
check "a clone for c5 is refused while it is faulty" 102 "" ember-pool clone base c5
check "a new clone gets a new thin id" 0 '*' ember-pool clone base c6
like "never the quarantined one" "$T_OUT" "ember-c0de-vm-c6 $((id + 1)) *"
ok "the intruder goes away" dmsetup remove intruder
check "delete removes the faulty volume" 0 '*' ember-pool delete c5
is "the database and the pool agree again" "$(db_ids)" "$(pool_ids $P)"
done_testing
