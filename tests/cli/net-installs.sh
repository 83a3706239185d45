#!/usr/bin/env bash
# Three installations on one host (two with an instance id, one legacy), each
# with TAPs and NAT for the same owner names. Every teardown verb of one
# (ember-nat down and flush, ember-tap delete, ember-init deinit) leaves the
# others' links (ip -j -d addr) and rules (iptables-save) byte for byte.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
command -v iptables-save >/dev/null || skip_all "iptables-save not found"
export EMBER_RUN_DIR=$T_TMP/run

ip link add up0 type veth peer name up0p
ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0

A=a3f4 B=b7e2
dirA=$T_TMP/a dirB=$T_TMP/b dirL=$T_TMP/legacy
ember-init init -q --state-dir "$dirA" --instance-id $A --ip-subnet 10.10.0.0/16
ember-init init -q --state-dir "$dirB" --instance-id $B --ip-subnet 10.20.0.0/16
ember-init init -q --state-dir "$dirL" --legacy

# vm DIR OWNER: the composition ember-up does: an address, a TAP, NAT
vm() {
	local owner guest host prefix tap
	read -r owner guest host prefix _ < <(ember-ipalloc alloc "$2" --state-dir "$1")
	read -r _ tap _ < <(ember-tap create "$owner" --address "$host/$prefix" --state-dir "$1")
	ember-nat -q up "$owner" --guest-ip "$guest" --tap "$tap" --state-dir "$1"
}
for d in "$dirA" "$dirB" "$dirL"; do
	vm "$d" web && vm "$d" db
done

# Everything of the host but what belongs to installation A: its links (by
# name prefix) and its rules, chains and jumps (by name and token). Counters
# and the date lines are left out.
links_but_a() {
	local n
	for n in $(ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort); do
		case $n in "em$A-"*) ;; *) ip -j -d addr show dev "$n" && echo ;; esac
	done
}
rules_but_a() { iptables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//' | grep -v -e "ember-$A-" -e "ember:$A"; }
others() { links_but_a && rules_but_a; }
names() { ember-tap list --state-dir "$1" && ember-nat list --state-dir "$1"; }

is "A, B and the legacy installation each have two TAPs" \
	"$(for d in "$dirA" "$dirB" "$dirL"; do ember-tap list --state-dir "$d" | wc -l; done | tr '\n' ' ')" "2 2 2 "
is "and NAT for both VMs, up" "$(for d in "$dirA" "$dirB" "$dirL"; do ember-nat list --state-dir "$d" | awk '{print $NF}'; done | sort | uniq -c | awk '{print $1, $2}')" "6 up"
is "the same owner names in three installations: six TAP names" \
	"$(for d in "$dirA" "$dirB" "$dirL"; do ember-tap list --state-dir "$d"; done | awk '{print $2}' | sort -u | wc -l)" 6
is "three sets of shared chains" "$(iptables-save -t filter | grep -c '^:ember-.*forward ')" 3

before=$(others)
seenB=$(names "$dirB") seenL=$(names "$dirL")

check "A: nat down web" 0 "*" ember-nat down web --state-dir "$dirA"
like "  removed A's web" "$T_OUT" "web * down"
is "  the others' links and rules are byte for byte as they were" "$(others)" "$before"
check "A: tap delete web" 0 "*" ember-tap delete web --state-dir "$dirA"
like "  removed A's TAP" "$T_OUT" "web em$A-* yes"
is "  the others' links and rules are byte for byte as they were" "$(others)" "$before"
check "A: nat flush" 0 "*" ember-nat flush --state-dir "$dirA"
like "  removed A's db" "$T_OUT" "db * down"
is "  A has no rule, chain or jump left" "$(iptables-save | grep -c -e "ember-$A-" -e "ember:$A")" 0
is "  the others' links and rules are byte for byte as they were" "$(others)" "$before"
ember-nat -q up db --guest-ip 10.10.0.6 --tap "$(ember-tap show db --state-dir "$dirA" | cut -d' ' -f2)" --state-dir "$dirA"
check "A: ember-init deinit" 0 "*" ember-init deinit --state-dir "$dirA"
is "  A has no TAP left" "$(ip -o link show | grep -c "em$A-")" 0
is "  nor any rule, chain or jump" "$(iptables-save | grep -c -e "ember-$A-" -e "ember:$A")" 0
is "  the others' links and rules are byte for byte as they were" "$(others)" "$before"
is "B lists the same TAPs and NAT" "$(names "$dirB")" "$seenB"
is "so does the legacy installation" "$(names "$dirL")" "$seenL"
check "B: no drift" 0 "" ember-nat check --state-dir "$dirB"
check "legacy: no drift" 0 "" ember-nat check --state-dir "$dirL"

# and the other way round: B's teardown leaves the legacy installation's
legacy_rules() { iptables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//' | grep -v -e "ember-$B-" -e "ember:$B"; }
beforeL=$(legacy_rules)
check "B: ember-init deinit" 0 "*" ember-init deinit --state-dir "$dirB"
is "  the legacy installation's rules are as they were" "$(legacy_rules)" "$beforeL"
is "  and its TAPs" "$(ip -o link show | grep -c ' em-')" 2
check "legacy: ember-init deinit" 0 "*" ember-init deinit --state-dir "$dirL"
is "nothing of any installation is left" "$(ip -o link show | grep -c ' em'; iptables-save | grep -c ember)" "0
0"

done_testing
