#!/usr/bin/env bash
# ember-ipalloc and ember-cidalloc under concurrency and SIGKILL: 16 processes
# released together by one barrier, each allocating and releasing many owners;
# then processes killed in the middle of allocating. No timing is assumed:
# the barrier is a FIFO, and waits are on conditions.
. "$(dirname "$0")/../lib.sh"

export EMBER_VSOCK_DEVICE=$T_TMP/no-vhost-vsock
db=$EMBER_STATE_DIR/state.db
ember-init init --ip-subnet 10.123.0.0/16 >/dev/null || echo "Bail out! ember-init init failed"
W=16 # workers
N=24 # owners each; the odd ones are released again

mkfifo "$T_TMP/ready" "$T_TMP/go"
# read-write opens never block and never see end-of-file
exec 3<>"$T_TMP/ready" 4<>"$T_TMP/go"

worker() { # W: allocate N owners (an address and a CID each), release the odd ones
	local w=$1 i o out
	echo "$w" >"$T_TMP/ready"
	read -r _ <"$T_TMP/go"
	for ((i = 1; i <= N; i++)); do
		o=w$w-$i
		if out=$(ember-ipalloc alloc "$o"); then echo "$out" >>"$T_TMP/ip.$w"; else echo "ipalloc alloc $o: $?" >>"$T_TMP/fail"; fi
		if out=$(ember-cidalloc alloc "$o"); then echo "$out" >>"$T_TMP/cid.$w"; else echo "cidalloc alloc $o: $?" >>"$T_TMP/fail"; fi
		if ((i % 2)); then
			ember-ipalloc release "$o" >/dev/null || echo "ipalloc release $o: $?" >>"$T_TMP/fail"
			ember-cidalloc release "$o" >/dev/null || echo "cidalloc release $o: $?" >>"$T_TMP/fail"
		fi
	done
}

pids=()
for ((w = 1; w <= W; w++)); do
	worker $w 2>>"$T_TMP/fail" &
	pids+=($!)
done
for ((w = 1; w <= W; w++)); do read -r _ <&3; done
# every worker waits on the barrier: release them all at once
for ((w = 1; w <= W; w++)); do echo go >&4; done
wait "${pids[@]}"

is "no command failed" "$(cat "$T_TMP/fail" 2>/dev/null)" ""
is "every allocation printed a record" "$(cat "$T_TMP"/ip.* | wc -l) $(cat "$T_TMP"/cid.* | wc -l)" "$((W * N)) $((W * N))"
survivors=$(for ((w = 1; w <= W; w++)); do for ((i = 2; i <= N; i += 2)); do echo "w$w-$i"; done; done | sort)
is "exactly the unreleased owners hold addresses" "$(ember-ipalloc list | cut -d' ' -f1 | sort)" "$survivors"
is "and CIDs" "$(ember-cidalloc list | cut -d' ' -f1 | sort)" "$survivors"
is "no address is held twice" "$(ember-ipalloc list | cut -d' ' -f2 | sort | uniq -d)" ""
is "no CID is held twice" "$(ember-cidalloc list | cut -d' ' -f2 | sort | uniq -d)" ""
is "no owner holds two" "$(sqlite3 "$db" "SELECT owner FROM ipalloc_leases UNION ALL SELECT owner FROM cidalloc_leases" | sort | uniq -c | awk '$1 != 2')" ""
# lowest free first: at no time did more than W * (N / 2 + 1) owners hold a
# slot, so no slot above that was ever handed out
is "the allocations stayed low" \
	"$(sqlite3 "$db" "SELECT max(slot) < $((W * (N / 2 + 1))) FROM (SELECT slot FROM ipalloc_leases UNION ALL SELECT slot FROM ipalloc_free)")" 1
is "the CIDs too" \
	"$(sqlite3 "$db" "SELECT max(slot) < $((3 + W * (N / 2 + 1))) FROM (SELECT slot FROM cidalloc_leases UNION ALL SELECT slot FROM cidalloc_free)")" 1
is "every record printed is the one held" \
	"$(cat "$T_TMP"/ip.* | grep -E -- '-(2|4|6|8|10|12|14|16|18|20|22|24) ' | sort)" "$(ember-ipalloc list | sort)"
check "ipalloc check is clean" 0 "" ember-ipalloc check
check "cidalloc check is clean" 0 "" ember-cidalloc check
is "the database is intact" "$(sqlite3 "$db" "PRAGMA integrity_check")" ok

## killed inside the transaction, after writing and before COMMIT
next=$(ember-ipalloc alloc probe && ember-ipalloc release probe)
next=${next%%$'\n'*}
check "an alloc killed before its commit dies by SIGKILL" 137 "" env EMBER_TEST_CRASH=slot-alloc ember-ipalloc alloc crash1
check "and left nothing behind" 1 "" ember-ipalloc show crash1
is "the database is intact" "$(sqlite3 "$db" "PRAGMA integrity_check")" ok
check "check is clean" 0 "" ember-ipalloc check
check "the slot it was writing is the next one handed out" 0 "crash1 ${next#probe }" ember-ipalloc alloc crash1
check "the same for a CID" 137 "" env EMBER_TEST_CRASH=slot-alloc ember-cidalloc alloc crash1
check "nothing behind" 1 "" ember-cidalloc show crash1
check "cidalloc check is clean" 0 "" ember-cidalloc check

## SIGKILL at random points: W processes allocating and releasing in a loop
kworker() { # W: forever (bounded) allocate and release, logging each success
	local w=$1 i
	for ((i = 1; i <= 100000; i++)); do
		ember-ipalloc alloc "k$w-$((i % 7))" >/dev/null && echo a >>"$T_TMP/k.$w"
		ember-cidalloc alloc "k$w-$((i % 5))" >/dev/null
		ember-ipalloc release "k$w-$(((i + 3) % 7))" >/dev/null
		ember-cidalloc release "k$w-$(((i + 2) % 5))" >/dev/null
	done
}
kpids=()
# job control: each worker in its own process group, so that one kill
# reaches the ember command in flight too
set -m
for ((w = 1; w <= W; w++)); do
	kworker $w </dev/null >/dev/null 2>&1 &
	kpids+=($!)
	at_exit "kill -9 -- -$! 2>/dev/null"
done
set +m
# wait for a condition, not a time: every worker has allocated at least 5 times
for ((tries = 0; tries < 6000; tries++)); do
	done_workers=0
	for ((w = 1; w <= W; w++)); do
		[ -f "$T_TMP/k.$w" ] && [ "$(wc -l <"$T_TMP/k.$w")" -ge 5 ] && done_workers=$((done_workers + 1))
	done
	[ "$done_workers" = "$W" ] && break
	sleep 0.05
done
is "every worker got going" "$done_workers" "$W"
for p in "${kpids[@]}"; do kill -9 -- "-$p"; done
wait "${kpids[@]}" 2>/dev/null
left=0
# (a killed process may linger as a zombie until init reaps it: it runs no more)
for p in "${kpids[@]}"; do
	[ -n "$(ps -e -o pgid=,stat= | awk -v p="$p" '$1 == p && $2 !~ /^Z/')" ] && left=1
done
is "every killed process is gone" "$left" 0
is "after SIGKILL the database is intact" "$(sqlite3 "$db" "PRAGMA integrity_check")" ok
check "ipalloc check is clean" 0 "" ember-ipalloc check
check "cidalloc check is clean" 0 "" ember-cidalloc check
is "every subnet with leases is recorded, and only those" \
	"$(sqlite3 "$db" "SELECT subnet FROM ipalloc_subnets EXCEPT SELECT DISTINCT subnet FROM ipalloc_leases")" ""
check "allocation goes on" 0 "*" ember-ipalloc alloc after
check "and release" 0 "*" ember-ipalloc release after
check "still clean" 0 "" ember-ipalloc check

## process-group kills: each command in a session of its own, half of them
## killed together with their children at some moment of their run (bounded)
gkill() { # CMD...: run it in its own session; half the time kill its group after a moment
	local p
	setsid "$@" >/dev/null 2>&1 &
	p=$!
	if ((RANDOM % 2)); then
		sleep "$(printf '0.%03d' $((RANDOM % 15)))"
		kill -9 -- "-$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	return 0
}
gworker() {
	local w=$1 i
	for ((i = 1; i <= 15; i++)); do
		gkill ember-ipalloc alloc "g$w-$((i % 5))"
		gkill ember-cidalloc alloc "g$w-$((i % 4))"
		gkill ember-ipalloc release "g$w-$(((i + 2) % 5))"
		gkill ember-cidalloc release "g$w-$(((i + 1) % 4))"
	done
}
gpids=()
for ((w = 1; w <= 8; w++)); do
	gworker $w &
	gpids+=($!)
done
wait "${gpids[@]}"
is "after process-group kills the database is intact" "$(sqlite3 "$db" "PRAGMA integrity_check")" ok
check "ipalloc check is clean" 0 "" ember-ipalloc check
check "cidalloc check is clean" 0 "" ember-cidalloc check
is "no address is held twice" "$(ember-ipalloc list | cut -d' ' -f2 | sort | uniq -d)" ""
is "no CID is held twice" "$(ember-cidalloc list | cut -d' ' -f2 | sort | uniq -d)" ""
check "allocation goes on" 0 "*" ember-ipalloc alloc after2
check "still clean" 0 "" ember-ipalloc check

done_testing
