#!/usr/bin/env bash
# ember-tap and ember-nat under a storm: W workers churn create / up / down /
# delete of their owners at once, and a third of the commands are killed
# together with their children (a kill of the command's process group) at
# some moment of their run. Bounded: W x N rounds. Afterwards no rule is
# there twice and no owner has two TAPs; one create and one up per owner
# repair whatever a kill left, and check is clean. In a network namespace of
# its own; STORM_BACKEND=nft|legacy picks the iptables backend
# (net-storm-xtables-legacy.sh runs this file again on iptables-legacy).
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
iptables_backend "${STORM_BACKEND:-}"
export EMBER_IPTABLES=$B EMBER_RUN_DIR=$T_TMP/run
echo "# backend: $B"
save() { "iptables-$B-save" | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'; }
ip link add up0 type veth peer name up0p
ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0

A=5707
ember-init init -q --instance-id $A
W=4 # workers
N=16 # rounds each
tapname() { printf 'em%s-%07x\n' "$A" $(($(fnv1a32 "$1") & 0xfffffff)); }

# run CMD...: a third of the time in a session of its own, killed with its
# children after a moment; else to its end, logging an exit code other than
# 0 (or 100: nat up of a TAP a kill took away)
run() {
	local p rc
	if ((RANDOM % 3 == 0)); then
		setsid "$@" >/dev/null 2>&1 &
		p=$!
		sleep "$(printf "0.%03d" $((RANDOM % 25)))"
		kill -9 -- "-$p" 2>/dev/null
		wait "$p" 2>/dev/null
		echo k >>"$T_TMP/kills"
		return 0
	fi
	"$@" >/dev/null 2>"$T_TMP/err.$BASHPID"
	rc=$?
	if [ "$rc" != 0 ] && ! { [ "$rc" = 100 ] && [ "$2" = up ]; }; then
		echo "$* -> $rc: $(cat "$T_TMP/err.$BASHPID")" >>"$T_TMP/fail"
	fi
}
worker() {
	local w=$1 i o t
	for ((i = 1; i <= N; i++)); do
		o=s$w t=$(tapname s$w)
		run ember-tap create "$o" --address "10.20.$w.1/30"
		run ember-nat up "$o" --guest-ip "10.20.$w.2" --tap "$t"
		if ((i % 2)); then
			run ember-nat down "$o"
			run ember-tap delete "$o"
		fi
	done
}
for ((w = 1; w <= W; w++)); do worker $w & done
wait

is "no command that ran to its end failed" "$(cat "$T_TMP/fail" 2>/dev/null)" ""
ok "some commands were killed" [ -s "$T_TMP/kills" ]
echo "# $(wc -l <"$T_TMP/kills") of the commands killed"
# no ip or iptables of a killed command is left running
ok "nothing of the killed commands runs on" bash -c "! pgrep -x -f 'ip -batch -|iptables-$B-restore --noflush -w 30' >/dev/null"
is "no rule twice" "$(save | grep -- "ember:$A" | sort | uniq -d)" ""
is "no owner has two TAPs" "$(ip -d link show | grep -o "alias ember:$A:[a-z0-9]*" | sort | uniq -d)" ""
is "no TAP of the prefix without its alias beyond one per owner" \
	"$(ip -o link show | grep -c "em$A-")" "$(ip -o link show | grep -o "em$A-[0-9a-f]*" | sort -u | wc -l)"

## one create and one up per owner repair what the kills left
for ((w = 1; w <= W; w++)); do
	check "create s$w" 0 "s$w $(tapname s$w) 10.20.$w.1/30 1500 - - up" ember-tap create s$w --address "10.20.$w.1/30"
	check "up s$w" 0 "s$w 10.20.$w.2 $(tapname s$w) up0 - up" ember-nat up s$w --guest-ip "10.20.$w.2" --tap "$(tapname s$w)"
done
check "nat check is clean" 0 "" ember-nat check
check "tap list: one TAP per owner, up" 0 "$(for ((w = 1; w <= W; w++)); do echo "s$w $(tapname s$w) 10.20.$w.1/30 1500 - - up"; done)" ember-tap list
is "one link per owner" "$(ip -o link show | grep -c "em$A-")" "$W"
is "seven rules per owner" "$(save | grep -c -- "--comment \"ember:$A:")" $((W * 7))
check "the database is intact" 0 "ok" sqlite3 "$EMBER_STATE_DIR/state.db" "PRAGMA integrity_check"
check "deinit" 0 "*" ember-init deinit
is "no TAP, chain or rule of the installation is left" "$(ip -o link show | grep -c "em$A-") $(save | grep -c "ember-$A")" "0 0"

done_testing
