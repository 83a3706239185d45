#!/usr/bin/env bash
# deinit excludes every changing command of its installation for its whole
# run (issue 16 item 4): changing verbs hold the installation lock shared,
# deinit holds it exclusive after writing its marker, and a command that
# comes late refuses (102). In a network namespace of this file's own.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
iptables -w -S >/dev/null 2>&1 || skip_all "iptables not usable here"
export EMBER_RUN_DIR=$T_TMP/run
TRIALS=${DEINIT_TRIALS:-20}

ip link add up0 type veth peer name up0p && ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0

A=e7e7
left() { { ip -o link show | grep -F "em$A-"; iptables-save | grep -F -- "$A"; } 2>/dev/null; }

## a deinit under way: changing verbs refuse, reading verbs still answer
ember-init init -q --instance-id $A
ember-ipalloc alloc -q vm1
echo 1 >"$EMBER_STATE_DIR/locks/deinit"
check "tap create while deinit has begun: 102" 102 "" ember-tap create vm1 --address 10.77.0.1/30
like "  says why, and what to do" "$T_ERR" \
	"ember-tap: the installation in '*' is being torn down*hint: wait for 'ember-init deinit' to end; if it was killed, run it again"
check "ipalloc alloc: 102" 102 "" ember-ipalloc alloc vm2
check "ipalloc release: 102" 102 "" ember-ipalloc release vm1
check "nat up: 102" 102 "" ember-nat up vm1 --guest-ip 10.77.0.2 --tap up0
check "pool create: 102" 102 "" ember-pool create --size 8M
check "a reading verb answers" 0 "*" ember-ipalloc show vm1
ok "  and nothing was made" test -z "$(left)"
check "deinit again (a killed one left its marker): it finishes" 0 "*" ember-init deinit
ok "  and removes the marker" test ! -e "$EMBER_STATE_DIR/locks/deinit"
check "  so that changes work again" 0 "*" ember-ipalloc alloc vm2

## the race: deinit --purge while a create/up loop runs, TRIALS times
churn() {
	local i=0 name
	while [ ! -e "$T_TMP/stop" ]; do
		i=$((i + 1))
		name=$(ember-tap create "vm$i" --address "10.77.$((i / 60)).$((i % 60 * 4 + 1))/30" 2>/dev/null)
		name=$(cut -d' ' -f2 <<<"$name")
		[ -n "$name" ] || continue
		ember-nat up "vm$i" --guest-ip "10.77.$((i / 60)).$((i % 60 * 4 + 2))" --tap "$name" >/dev/null 2>&1
	done
}
dirty=0 failed=0
for ((t = 1; t <= TRIALS; t++)); do
	rm -f "$T_TMP/stop"
	ember-init init -q --instance-id $A
	churn &
	pid=$!
	# deinit once the loop has made something (bounded: 20 s)
	for ((w = 0; w < 400; w++)); do
		[ "$(ember-nat list 2>/dev/null | wc -l)" -ge 2 ] && break
		sleep 0.05
	done
	ember-init deinit --purge >/dev/null 2>"$T_TMP/deinit.err" || { failed=$((failed + 1)); cat "$T_TMP/deinit.err"; }
	touch "$T_TMP/stop"
	wait "$pid"
	if [ -n "$(left)" ]; then
		dirty=$((dirty + 1))
		echo "# trial $t left:"
		left | sed 's/^/#   /'
		# clean up by hand for the next trial
		ip -o link show | grep -oE "em$A-[0-9a-f]+" | sort -u | xargs -r -n1 ip link del
		iptables-save | grep -v -- "$A" | iptables-restore
	fi
	[ ! -e "$EMBER_STATE_DIR" ] || rm -rf "$EMBER_STATE_DIR"
done
is "every deinit --purge of the $TRIALS succeeded" "$failed" 0
is "no trial left a TAP or a rule of the installation" "$dirty" 0
ok "the state directory is gone (no late command made it again)" test ! -e "$EMBER_STATE_DIR"

echo "1..$T_N"
[ "$T_FAILED" = 0 ]
