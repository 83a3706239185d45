#!/usr/bin/env bash
# bench-pool (kernel-test --bench): clone + delete of a volume with ember-pool
# against the same done with dmsetup commands, in the same booted kernel, as a
# ratio over ROUNDS rounds. It measures and prints; it never fails on a time.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"
ROUNDS=${BENCH_ROUNDS:-25}

new_install --instance-id be0c
P=ember-be0c-pool
ember-pool -q create --size 256M || { echo "Bail out! create failed"; exit 1; }
random_file "$T_TMP/base.img" 4194304
ember-pool -q import base "$T_TMP/base.img" || { echo "Bail out! import failed"; exit 1; }
base=$(db "SELECT thin_id FROM pool_volume WHERE name = 'base'")
sectors=$((4194304 / 512))
pool_dev=$(dmsetup info -c --noheadings -o major,minor $P)

now() { echo "${EPOCHREALTIME/./}"; }

# one warm-up round of each, then the measured rounds
ember_round() {
	ember-pool -q clone base "b$1" && ember-pool -q delete "b$1"
}
# the reference: the same device-mapper work with dmsetup, one command each:
# the snapshot, a device with its /dev/mapper node (no udev here: mknodes),
# its removal and the delete; "full" also moves the pool's transaction id on
# around each change, as ember-pool does for its crash safety
tid() { dmsetup status $P | cut -d' ' -f4; }
dmsetup_round() {
	local id=$((100000 + $1)) full=$2 t
	dmsetup message $P 0 "create_snap $id $base" || return 1
	if [ "$full" = 1 ]; then t=$(tid) && dmsetup message $P 0 "set_transaction_id $t $((t + 1))" || return 1; fi
	dmsetup create "ref-$1" --table "0 $sectors thin $pool_dev $id" &&
		dmsetup mknodes "ref-$1" && test -b "/dev/mapper/ref-$1" &&
		dmsetup remove "ref-$1" &&
		dmsetup message $P 0 "delete $id" || return 1
	if [ "$full" = 1 ]; then t=$(tid) && dmsetup message $P 0 "set_transaction_id $t $((t + 1))" || return 1; fi
}
ember_round 0 || { echo "Bail out! ember-pool clone/delete failed"; exit 1; }
dmsetup_round 0 0 || { echo "Bail out! dmsetup clone/delete failed"; exit 1; }

# The three kinds of round interleaved, so a change in the host's load
# weighs on all of them alike; once with the guest's address-space
# randomization on (as booted) and once off. Under TCG a process whose code
# lands at new addresses has all of it translated again, at a cost real
# hardware does not have and that grows with the code a command runs; with
# randomization off the translations are reused, and what remains is closer
# to what the commands cost on a real host.
aslr=/proc/sys/kernel/randomize_va_space
booted=$(cat $aslr)
measure() { # measure ASLR LABEL FIRST: ROUNDS rounds, round numbers from FIRST
	local e=0 d=0 f=0 i t0 t1 t2 t3
	echo "$1" >$aslr
	for ((i = $3; i < $3 + ROUNDS; i++)); do
		t0=$(now)
		ember_round "$i" || echo "# ember round $i failed"
		t1=$(now)
		dmsetup_round "$i" 0 || echo "# dmsetup round $i failed"
		t2=$(now)
		dmsetup_round "$((i + 10000))" 1 || echo "# dmsetup round $i failed"
		t3=$(now)
		e=$((e + t1 - t0)) d=$((d + t2 - t1)) f=$((f + t3 - t2))
	done
	awk -v e=$e -v d=$d -v f=$f -v n="$ROUNDS" -v label="$2" 'BEGIN {
		printf "pool clone+delete, %d rounds under QEMU TCG, %s:\n", n, label
		printf "  ember-pool clone + delete (2 commands)               %7.1f ms/round\n", e / n / 1000
		printf "  dmsetup, the device work (5 commands)                %7.1f ms/round  ratio %.2f\n", d / n / 1000, e / d
		printf "  dmsetup, also moving the transaction id (9 commands) %7.1f ms/round  ratio %.2f\n", f / n / 1000, e / f
	}'
}
measure 2 "address-space randomization on" 1
measure 0 "address-space randomization off" $((ROUNDS + 1))
echo "$booted" >$aslr
echo "  (goal: ratio <= 0.5; ember-pool moves the pool's transaction id around each change, as the 9-command reference does)"
is "the database and the pool agree after the bench" "$(db_ids)" "$(pool_ids $P)"
done_testing
