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
dmsetup_round() {
	local id=$((100000 + $1))
	dmsetup message $P 0 "create_snap $id $base" &&
		dmsetup create "ref-$1" --table "0 $sectors thin $pool_dev $id" &&
		dmsetup mknodes "ref-$1" && test -b "/dev/mapper/ref-$1" &&
		dmsetup remove "ref-$1" &&
		dmsetup message $P 0 "delete $id"
}
ember_round 0 || { echo "Bail out! ember-pool clone/delete failed"; exit 1; }
dmsetup_round 0 || { echo "Bail out! dmsetup clone/delete failed"; exit 1; }

t0=$(now)
for ((i = 1; i <= ROUNDS; i++)); do ember_round "$i" || echo "# ember round $i failed"; done
t1=$(now)
for ((i = 1; i <= ROUNDS; i++)); do dmsetup_round "$i" || echo "# dmsetup round $i failed"; done
t2=$(now)

awk -v e=$((t1 - t0)) -v d=$((t2 - t1)) -v n="$ROUNDS" 'BEGIN {
	printf "pool clone+delete, %d rounds under QEMU TCG: ember-pool %.1f ms/round, dmsetup %.1f ms/round, ratio %.2f (goal <= 0.5)\n",
		n, e / n / 1000, d / n / 1000, e / d
}'
is "the database and the pool agree after the bench" "$(db_ids)" "$(pool_ids $P)"
done_testing
