#!/usr/bin/env bash
# ember-tap: TAPs of an installation, in a network namespace of this file's own.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"

# tapname ID OWNER [K]: the name DESIGN gives OWNER's TAP, computed here
# independently of the C code ("em<id>-" + 7 hex; legacy "em-" + 8 hex).
tapname() {
	local key=$2
	[ "${3:-0}" = 0 ] || key="$2#$3"
	if [ -n "$1" ]; then printf 'em%s-%07x\n' "$1" $(($(fnv1a32 "$key") & 0xfffffff)); else printf 'em-%08x\n' "$(fnv1a32 "$key")"; fi
}
# The whole network state of this namespace, and what a state directory records.
net() { ip -d addr show; }
rows() { sqlite3 "${1:-$EMBER_STATE_DIR}/state.db" "SELECT owner, name, address, mtu, uid, gid FROM tap ORDER BY owner" 2>/dev/null; }
snapshot() { net; rows; }
# net_except PREFIX: every link not named PREFIX*, in detail.
net_except() {
	local n
	for n in $(ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort); do
		case $n in "$1"*) ;; *) ip -d addr show dev "$n" ;; esac
	done
}
link_has() { ip -d link show dev "$1" 2>/dev/null | grep -q -- "$2"; }
nobody_group=$(id -gn nobody 2>/dev/null || echo nogroup)

A=a3f4
ember-init init -q --instance-id $A
a1=$(tapname $A vm1) a2=$(tapname $A vm2)
is "the name of vm1 is em<id>- and 7 hex characters" "$a1" "ema3f4-11c93a7"

## usage
check "no verb: 100" 100 "" ember-tap
check "an unknown verb: 100" 100 "" ember-tap destroy vm1
check "create without --address: 100" 100 "" ember-tap create vm1
like "says what is missing" "$T_ERR" "*--address HOST_IP/PREFIX is required*"
check "create without an owner: 100" 100 "" ember-tap create --address 10.0.0.1/30
check "two owners: 100" 100 "" ember-tap create vm1 vm2 --address 10.0.0.1/30
check "--address outside create: 100" 100 "" ember-tap show vm1 --address 10.0.0.1/30
check "--all outside list: 100" 100 "" ember-tap show vm1 --all
check "--help prints the usage" 0 "*" ember-tap --help
like "naming every verb, the fields and exit codes" "$T_OUT" "*create OWNER*delete OWNER*show OWNER*list*owner name address mtu user group state*exit codes*"
check "list of nothing prints nothing" 0 "" ember-tap -v list
is "and, with no link of our prefix, runs no ip at all" "$T_ERR" ""
check "list -j of nothing is an empty array" 0 "[]" ember-tap list -j
check "without an installation: 100" 100 "" ember-tap list --state-dir "$T_TMP/none"

## create
check "create prints the TAP" 0 "vm1 $a1 10.0.0.1/30 1500 - - up" ember-tap create vm1 --address 10.0.0.1/30
ok "the link exists" ip link show dev "$a1"
ok "it is a TAP, persistent and single-queue" link_has "$a1" "tun type tap pi off vnet_hdr off persist on"
ok "it is not multi-queue" bash -c "! ip -d link show dev $a1 | grep -q multi_queue"
ok "its ifalias proves whose it is" link_has "$a1" "alias ember:$A:vm1"
ok "it is up with the MTU asked for" link_has "$a1" "<.*UP.*> mtu 1500"
is "it has exactly the address asked for" "$(ip -o -4 addr show dev "$a1" | awk '{print $4}')" "10.0.0.1/30"
is "IPv6 is off on it" "$(cat /proc/sys/net/ipv6/conf/"$a1"/disable_ipv6)" 1
ok "and it never got an IPv6 address (addrgenmode none)" link_has "$a1" "addrgenmode none"
is "no IPv6 address at all" "$(ip -6 addr show dev "$a1")" ""
is "the database records it" "$(rows)" "vm1|$a1|10.0.0.1/30|1500||"
before=$(snapshot)
check "create again with the same parameters succeeds and prints it" 0 "vm1 $a1 10.0.0.1/30 1500 - - up" ember-tap create vm1 --address 10.0.0.1/30
check "with another address: 102" 102 "" ember-tap create vm1 --address 10.0.0.5/30
like "saying what exists" "$T_ERR" "ember-tap: TAP '$a1' of 'vm1' exists with other parameters: address 10.0.0.1/30 mtu 1500 user - group -*hint: delete it first*"
check "with another MTU: 102" 102 "" ember-tap create vm1 --address 10.0.0.1/30 --mtu 1400
check "with a user: 102" 102 "" ember-tap create vm1 --address 10.0.0.1/30 --user nobody
is "nothing changed" "$(snapshot)" "$before"
check "create -j prints one object" 0 "{\"owner\":\"vm2\",\"name\":\"$a2\",\"address\":\"10.0.0.5/30\",\"mtu\":9000,\"user\":\"nobody\",\"group\":\"$nobody_group\",\"state\":\"up\"}" \
	ember-tap create vm2 --address 10.0.0.5/30 --mtu 9000 --user nobody --group "$nobody_group" -j
ok "the TAP belongs to that user and group" link_has "$a2" "persist on user nobody group $nobody_group"
check "the same user and group by number are the same parameters" 0 "vm2 $a2 10.0.0.5/30 9000 nobody $nobody_group up" \
	ember-tap create vm2 --address 10.0.0.5/30 --mtu 9000 --user "$(id -u nobody)" --group "$(getent group "$nobody_group" | cut -d: -f3)"
check "-v prints the one ip batch" 0 "*" ember-tap -v create vm9 --address 10.0.0.37/30
like "on stderr" "$T_ERR" "*+ ip -batch -*tuntap add dev $(tapname $A vm9) mode tap*alias ember:$A:vm9*addrgenmode none*address add 10.0.0.37/30*mtu 1500 up*"
check "-q prints nothing" 0 "" ember-tap -q delete vm9

## show and list
check "show prints one TAP" 0 "vm1 $a1 10.0.0.1/30 1500 - - up" ember-tap show vm1
check "show -j prints one object" 0 "{\"owner\":\"vm1\",\"name\":\"$a1\",\"address\":\"10.0.0.1/30\",\"mtu\":1500,\"user\":null,\"group\":null,\"state\":\"up\"}" ember-tap show vm1 -j
check "show of an unknown owner: 1" 1 "" ember-tap show nope
like "saying so" "$T_ERR" "ember-tap: no TAP for 'nope'"
check "show of a bad owner: 100" 100 "" ember-tap show Nope
check "list prints this installation's TAPs" 0 "vm1 $a1 10.0.0.1/30 1500 - - up
vm2 $a2 10.0.0.5/30 9000 nobody $nobody_group up" ember-tap list
check "list -j prints an array" 0 "[{\"owner\":\"vm1\",\"name\":\"$a1\",\"address\":\"10.0.0.1/30\",\"mtu\":1500,\"user\":null,\"group\":null,\"state\":\"up\"},{\"owner\":\"vm2\",\"name\":\"$a2\",\"address\":\"10.0.0.5/30\",\"mtu\":9000,\"user\":\"nobody\",\"group\":\"$nobody_group\",\"state\":\"up\"}]" ember-tap list -j

## bad input: a clear error, exit 100, nothing changed
before=$(snapshot)
while IFS='|' read -r what args want; do
	read -ra argv <<<"$args"
	check "bad input: $what: 100" 100 "" ember-tap create "${argv[@]}"
	like "  saying why" "$T_ERR" "ember-tap: $want*"
done <<'EOF'
an owner with capitals|Vm3 --address 10.0.0.9/30|invalid owner 'Vm3'
an owner starting with '-'|_vm --address 10.0.0.9/30|invalid owner '_vm'
an owner with a slash|a/b --address 10.0.0.9/30|invalid owner 'a/b'
a 33-character owner|abcdefghijabcdefghijabcdefghijabc --address 10.0.0.9/30|invalid owner
an address without prefix|vm3 --address 10.0.0.9|invalid address '10.0.0.9'
an octet over 255|vm3 --address 10.0.0.300/30|invalid address
a prefix over 32|vm3 --address 10.0.0.9/33|invalid address
a prefix under 8|vm3 --address 10.0.0.9/4|invalid address '10.0.0.9/4': the prefix must be 8 to 32
the network address|vm3 --address 10.0.0.8/30|invalid address '10.0.0.8/30': the network or broadcast address
the broadcast address|vm3 --address 10.0.0.11/30|invalid address '10.0.0.11/30': the network or broadcast address
a loopback address|vm3 --address 127.0.0.2/8|invalid address '127.0.0.2/8': not a unicast host address
a multicast address|vm3 --address 224.0.0.9/24|invalid address '224.0.0.9/24': not a unicast host address
an MTU below 68|vm3 --address 10.0.0.9/30 --mtu 67|invalid MTU '67'
an MTU above 65535|vm3 --address 10.0.0.9/30 --mtu 65536|invalid MTU '65536'
an MTU that is not a number|vm3 --address 10.0.0.9/30 --mtu 1500b|invalid MTU '1500b'
an unknown user|vm3 --address 10.0.0.9/30 --user no-such-user|unknown user 'no-such-user'
an unknown group|vm3 --address 10.0.0.9/30 --group no-such-group|unknown group 'no-such-group'
a uid out of range|vm3 --address 10.0.0.9/30 --user 4294967295|invalid user '4294967295'
EOF
check "bad input: an empty owner: 100" 100 "" ember-tap create "" --address 10.0.0.9/30
is "bad input changed nothing" "$(snapshot)" "$before"

## a create that fails part-way leaves nothing
a3=$(tapname $A vm3)
check "an MTU the kernel refuses for a TAP (max 65521): 100" 100 "" ember-tap create vm3 --address 10.0.0.9/30 --mtu 65530
like "with the kernel's reason" "$T_ERR" "ember-tap: unable to create TAP '$a3' for 'vm3': mtu greater than device maximum"
ok "the half-made link is gone" bash -c "! ip link show dev $a3 2>/dev/null"
is "nothing changed" "$(snapshot)" "$before"
check "without ip on PATH: 111" 111 "" env PATH="$T_BIN" ember-tap create vm8 --address 10.0.0.41/30
like "saying so, with a hint" "$T_ERR" "ember-tap: unable to run 'ip': No such file or directory*hint: install it*"
is "nothing changed" "$(snapshot)" "$before"
check "the same create with an MTU it takes then works" 0 "vm3 $a3 10.0.0.9/30 1500 - - up" ember-tap create vm3 --address 10.0.0.9/30

## crash between the kernel and the database: the ifalias is the proof
a4=$(tapname $A vm4)
ember-tap -q create vm4 --address 10.0.0.13/30
sqlite3 "$EMBER_STATE_DIR/state.db" "DELETE FROM tap WHERE owner = 'vm4'" # as if create died before recording
check "show finds an unrecorded link by its ifalias" 0 "vm4 $a4 10.0.0.13/30 1500 - - up" ember-tap show vm4
check "list shows it" 0 "*" ember-tap list
like "  as up" "$T_OUT" "*vm4 $a4 10.0.0.13/30 1500 - - up*"
check "create with other parameters is refused: 102" 102 "" ember-tap create vm4 --address 10.0.0.17/30
check "create with the same parameters adopts it" 0 "vm4 $a4 10.0.0.13/30 1500 - - up" ember-tap create vm4 --address 10.0.0.13/30
is "and records it" "$(rows | grep '^vm4|')" "vm4|$a4|10.0.0.13/30|1500||"
sqlite3 "$EMBER_STATE_DIR/state.db" "DELETE FROM tap WHERE owner = 'vm4'"
check "delete removes an unrecorded link proven ours" 0 "vm4 $a4 yes" ember-tap delete vm4
ok "it is gone" bash -c "! ip link show dev $a4 2>/dev/null"

a5=$(tapname $A vm5)
printf '%s\n' "tuntap add dev $a5 mode tap" "link set dev $a5 alias ember:$A:vm5" \
	"address add 10.0.0.25/30 dev $a5" | ip -batch - # a create that died before its last line
check "create adopts a half-made link of its owner and finishes it" 0 "vm5 $a5 10.0.0.25/30 1500 - - up" ember-tap create vm5 --address 10.0.0.25/30
ok "  up, IPv6 off" link_has "$a5" "<.*UP.*> mtu 1500"
is "  IPv6 off by sysctl too" "$(cat /proc/sys/net/ipv6/conf/"$a5"/disable_ipv6)" 1
check "and delete removes it" 0 "vm5 $a5 yes" ember-tap delete vm5
printf '%s\n' "tuntap add dev $a5 mode tap" "link set dev $a5 alias ember:$A:vm5" \
	"address add 10.0.0.29/30 dev $a5" | ip -batch -
check "a half-made link of its owner with another address: 102" 102 "" ember-tap create vm5 --address 10.0.0.25/30
like "saying so" "$T_ERR" "*TAP '$a5' of 'vm5' exists with other parameters: address 10.0.0.29/30 mtu 1500 user - group - (down)*"
check "delete removes it" 0 "vm5 $a5 yes" ember-tap delete vm5

## a record whose link is gone (a reboot)
ip link del dev "$a3"
check "show says missing" 0 "vm3 $a3 10.0.0.9/30 1500 - - missing" ember-tap show vm3
check "list says missing" 0 "*" ember-tap list
like "  as missing" "$T_OUT" "*vm3 $a3 10.0.0.9/30 1500 - - missing*"
check "create makes it again" 0 "vm3 $a3 10.0.0.9/30 1500 - - up" ember-tap create vm3 --address 10.0.0.9/30
ok "in the kernel" link_has "$a3" "alias ember:$A:vm3"

## name collisions
a6=$(tapname $A vm6) a6b=$(tapname $A vm6 1)
ip tuntap add dev "$a6" mode tap # someone else's link holds vm6's first name
ip link set dev "$a6" alias "ember:$A:VM6" # a near miss: not a valid owner, so no proof
before_foreign=$(ip -d addr show dev "$a6")
check "create moves to the next name, derived from 'vm6#1'" 0 "vm6 $a6b 10.0.0.21/30 1500 - - up" ember-tap create vm6 --address 10.0.0.21/30
check "create again finds it there" 0 "vm6 $a6b 10.0.0.21/30 1500 - - up" ember-tap create vm6 --address 10.0.0.21/30
check "list does not show the near-miss alias" 0 "vm1 $a1 10.0.0.1/30 1500 - - up
vm2 $a2 10.0.0.5/30 9000 nobody $nobody_group up
vm3 $a3 10.0.0.9/30 1500 - - up
vm6 $a6b 10.0.0.21/30 1500 - - up" ember-tap list
check "delete removes only the proven one" 0 "vm6 $a6b yes" ember-tap delete vm6
is "the other link is untouched" "$(ip -d addr show dev "$a6")" "$before_foreign"
a7=$(tapname $A vm7)
ip tuntap add dev "$a7" mode tap # our prefix and a token that is vm7's plus a blank: not proof
ip link set dev "$a7" alias "ember:$A:vm7 "
check "delete of an owner whose name is taken by a link not proven its: nothing" 0 "vm7 - no" ember-tap delete vm7
ok "that link is still there" link_has "$a7" "alias ember:$A:vm7 "
ip link del dev "$a6"
ip link del dev "$a7"

## another installation and foreign TAPs: list --all, read-only
B=b2c1
dirA=$EMBER_STATE_DIR
new_state
dirB=$EMBER_STATE_DIR
ember-init init -q --instance-id $B
b1=$(tapname $B web)
check "a second installation creates its TAP" 0 "web $b1 10.1.0.1/30 1500 - - up" ember-tap create web --address 10.1.0.1/30
ip tuntap add dev tapfor0 mode tap
ip link set dev tapfor0 alias "hand made"
ip tuntap add dev tapfor1 mode tap multi_queue
EMBER_STATE_DIR=$dirA
check "list shows this installation's only" 0 "vm1 $a1 10.0.0.1/30 1500 - - up
vm2 $a2 10.0.0.5/30 9000 nobody $nobody_group up
vm3 $a3 10.0.0.9/30 1500 - - up" ember-tap list
check "list --all marks the others" 0 "vm1 $a1 10.0.0.1/30 1500 - - up yes ember:$A:vm1
vm2 $a2 10.0.0.5/30 9000 nobody $nobody_group up yes ember:$A:vm2
vm3 $a3 10.0.0.9/30 1500 - - up yes ember:$A:vm3
- tapfor0 - 1500 - - down no hand_made
- tapfor1 - 1500 - - down no -
web $b1 10.1.0.1/30 1500 - - up no ember:$B:web" ember-tap list --all
check "list --all -j" 0 "*" ember-tap list --all -j
like "  keeps the alias as it is" "$T_OUT" "*{\"owner\":null,\"name\":\"tapfor0\",\"address\":null,\"mtu\":1500,\"user\":null,\"group\":null,\"state\":\"down\",\"mine\":false,\"alias\":\"hand made\"}*"
check "show of the other installation's owner: 1" 1 "" ember-tap show web
check "delete of the other installation's owner changes nothing" 0 "web - no" ember-tap delete web
ok "its TAP is still there" link_has "$b1" "alias ember:$B:web"

## two installations side by side: delete and deinit of one leave the other exactly as it was
others=$(net_except "em$A-")
rowsB=$(rows "$dirB")
check "delete in A" 0 "vm1 $a1 yes" ember-tap delete vm1
ok "A's link is gone" bash -c "! ip link show dev $a1 2>/dev/null"
is "A's record is gone" "$(rows | grep -c '^vm1|')" 0
check "delete again succeeds" 0 "vm1 - no" ember-tap delete vm1
check "delete -j" 0 '{"owner":"vm1","name":null,"deleted":false}' ember-tap delete vm1 -j
is "B's and the foreign links are exactly as they were" "$(net_except "em$A-")" "$others"
check "ember-init deinit of A" 0 "*" ember-init deinit
is "A has no TAP left" "$(ip -o link show | grep -c "em$A-")" 0
is "A has no record left" "$(rows)" ""
is "B's and the foreign links are still exactly as they were" "$(net_except "em$A-")" "$others"
is "B's records are as they were" "$(rows "$dirB")" "$rowsB"
check "B still lists its TAP" 0 "web $b1 10.1.0.1/30 1500 - - up" ember-tap list --state-dir "$dirB"
ip link del dev tapfor0
ip link del dev tapfor1

## legacy installation: "em-" names and ifalias "ember::<owner>"
new_state
ember-init init -q --legacy
l1=$(tapname "" vm1)
is "a legacy name is em- and 8 hex characters" "$l1" "em-511c93a7"
check "legacy create" 0 "vm1 $l1 10.100.0.1/30 1500 - - up" ember-tap create vm1 --address 10.100.0.1/30
ok "its ifalias is ember::vm1" link_has "$l1" "alias ember::vm1"
check "legacy list shows its own only" 0 "vm1 $l1 10.100.0.1/30 1500 - - up" ember-tap list
check "B's list does not show it" 0 "web $b1 10.1.0.1/30 1500 - - up" ember-tap list --state-dir "$dirB"
others=$(net_except "em-")
check "legacy deinit" 0 "*" ember-init deinit
ok "removes its TAP" bash -c "! ip link show dev $l1 2>/dev/null"
is "and nothing else" "$(net_except "em-")" "$others"
EMBER_STATE_DIR=$dirB
check "B deinit" 0 "*" ember-init deinit
is "no TAP is left" "$(ip -o link show | grep -c ' em')" 0

## concurrency: one lock per installation, so a name and a link are made once
new_state
ember-init init -q --instance-id $A
c=$(tapname $A conc)
for i in 1 2 3 4 5 6 7 8; do ember-tap create conc --address 10.2.0.1/30 >"$T_TMP/c$i.out" 2>&1 & done
wait
is "8 parallel creates of one owner all print the one TAP" "$(cat "$T_TMP"/c?.out | sort | uniq -c | awk '{print $1, $2, $3}')" "8 conc $c"
is "exactly one link carries its alias" "$(ip -d link show | grep -c "alias ember:$A:conc$")" 1
is "exactly one record" "$(rows | grep -c '^conc|')" 1
for i in 1 2 3 4 5 6 7 8; do
	(
		ember-tap create "p$i" --address "10.3.$i.1/30" >/dev/null 2>&1
		echo $? >"$T_TMP/p$i.rc"
	) &
	(
		ember-tap create same --address "10.4.$i.1/30" >/dev/null 2>&1
		echo $? >"$T_TMP/s$i.rc"
	) &
done
wait
is "8 parallel creates of different owners all succeed" "$(cat "$T_TMP"/p?.rc | sort | uniq -c | awk '{print $1, $2}')" "8 0"
is "8 links" "$(ip -d link show | grep -c "alias ember:$A:p[1-8]$")" 8
is "8 records" "$(rows | grep -c '^p[1-8]|')" 8
is "of 8 racing creates of one owner with other addresses, one wins and 7 are refused" "$(cat "$T_TMP"/s?.rc | sort | uniq -c | awk '{print $1, $2}')" "1 0
7 102"
is "and one link exists for it" "$(ip -d link show | grep -c "alias ember:$A:same$")" 1
check "deinit removes all of them" 0 "*" ember-init deinit
is "no TAP is left" "$(ip -o link show | grep -c ' em')" 0
is "nor any record" "$(rows)" ""
check "deinit again: nothing of ours, so no ip is run" 0 "*" ember-init -v deinit
printf '%s\n' "$T_ERR" >"$T_TMP/deinit.err"
ok "  (no '+ ip' on stderr)" bash -c "! grep -q '^+ ip ' '$T_TMP/deinit.err'"

## create converges an existing TAP to its record, and prints what the kernel then has
new_state
ember-init init -q --instance-id $A
cv=$(tapname $A conv)
ember-tap -q create conv --address 10.7.0.1/30 --mtu 9000
ip link set dev "$cv" down
check "create of a TAP set down by hand brings it up" 0 "conv $cv 10.7.0.1/30 9000 - - up" ember-tap create conv --address 10.7.0.1/30 --mtu 9000
ok "  in the kernel" link_has "$cv" "<.*UP.*> mtu 9000"
ip link set dev "$cv" mtu 1400
check "create of a TAP given another MTU by hand sets the recorded one" 0 "conv $cv 10.7.0.1/30 9000 - - up" ember-tap create conv --address 10.7.0.1/30 --mtu 9000
ok "  in the kernel" link_has "$cv" "mtu 9000"
ip addr add 10.9.9.9/24 dev "$cv"
check "create of a TAP with an extra address removes it" 0 "conv $cv 10.7.0.1/30 9000 - - up" ember-tap create conv --address 10.7.0.1/30 --mtu 9000
is "  exactly the recorded address is left" "$(ip -o -4 addr show dev "$cv" | awk '{print $4}')" "10.7.0.1/30"
ip link set dev "$cv" down
ip link set dev "$cv" name "em$A-moved"
check "create of a TAP renamed within the prefix takes it back" 0 "conv $cv 10.7.0.1/30 9000 - - up" ember-tap create conv --address 10.7.0.1/30 --mtu 9000
ok "  under its recorded name" link_has "$cv" "alias ember:$A:conv"
ok "  the other name is gone" bash -c "! ip link show dev em$A-moved 2>/dev/null"
is "  one link carries its alias" "$(ip -d link show | grep -c "alias ember:$A:conv$")" 1
is "  and no other link has its address" "$(ip -o -4 addr show | grep -c ' 10.7.0.1/')" 1
check "create with other parameters is still refused: 102" 102 "" ember-tap create conv --address 10.7.0.1/30

## a veth with the prefix and the alias is not a TAP of the installation
ip link add "em$A-veth0" type veth peer name vethpeer0
ip link set dev "em$A-veth0" alias "ember:$A:vv"
check "list does not show it" 0 "conv $cv 10.7.0.1/30 9000 - - up" ember-tap list
check "show of its owner: 1" 1 "" ember-tap show vv
check "delete of its owner leaves it alone" 0 "vv - no" ember-tap delete vv
ok "  the veth is there" ip link show dev "em$A-veth0"
ok "  and its peer" ip link show dev vethpeer0
check "deinit leaves it alone" 0 "*" ember-init deinit
ok "  the veth is there" ip link show dev "em$A-veth0"
ip link del dev "em$A-veth0"

## a create killed together with its ip, after each line of its batch
new_state
ember-init init -q --instance-id $A
realip=$(command -v ip)
mkdir -p "$T_TMP/stepbin"
# the first $IP_STEPS lines of a batch, then ember and this ip die, as in a kill of them both
printf '%s\n' '#!/bin/bash' \
	'if [ "$1" = -batch ]; then' \
	"	head -n \"\$IP_STEPS\" | $realip -batch -" \
	'	kill -9 $PPID' \
	'	kill -9 $$' \
	'fi' \
	"exec $realip \"\$@\"" >"$T_TMP/stepbin/ip"
chmod +x "$T_TMP/stepbin/ip"
for k in 1 2 3 4 5; do
	n=$(tapname $A st$k)
	check "killed after line $k of its batch" 137 "" env PATH="$T_TMP/stepbin:$PATH" IP_STEPS=$k ember-tap create st$k --address 10.5.$k.1/30
	check "  the next create finishes that link" 0 "st$k $n 10.5.$k.1/30 1500 - - up" ember-tap create st$k --address 10.5.$k.1/30
	is "  one link, under its first name" "$(ip -o link show | grep -c -e "$n" -e "$(tapname $A st$k 1)")" 1
	ok "  with its alias, up" link_has "$n" "alias ember:$A:st$k"
	ok "  up" link_has "$n" "<.*UP.*> mtu 1500"
	is "  its address" "$(ip -o -4 addr show dev "$n" | awk '{print $4}')" "10.5.$k.1/30"
	is "  IPv6 off by sysctl" "$(cat /proc/sys/net/ipv6/conf/"$n"/disable_ipv6)" 1
done
check "killed after its first line, then show" 137 "" env PATH="$T_TMP/stepbin:$PATH" IP_STEPS=1 ember-tap create sx --address 10.5.9.1/30
check "  show finds the half-made TAP (down)" 0 "sx $(tapname $A sx) - 1500 - - down" ember-tap show sx
check "  deinit removes it with the rest" 0 "*" ember-init deinit
is "  no link of the prefix is left" "$(ip -o link show | grep -c "em$A-")" 0

## a killed create's ip dies with it, whether ember alone or its process group is killed
new_state
ember-init init -q --instance-id $A
stall_wrapper "$T_TMP/slowbin" ip "-batch*"
sl=$(tapname $A sl)
PATH="$T_TMP/slowbin:$PATH" ember-tap create sl --address 10.6.0.1/30 >/dev/null 2>&1 &
first=$!
ok "a create's ip is running" wait_until "[ -s '$T_TMP/started' ]"
ipid=$(head -n 1 "$T_TMP/started")
kill -9 $first
wait $first 2>/dev/null
ok "  a kill of ember alone ends its ip" wait_until "! kill -0 $ipid 2>/dev/null"
touch "$T_TMP/go"
ok "  which made no link" bash -c "! ip link show dev $sl 2>/dev/null"
check "  the next create makes it" 0 "sl $sl 10.6.0.1/30 1500 - - up" ember-tap create sl --address 10.6.0.1/30
is "  one link carries its alias" "$(ip -d link show | grep -c "alias ember:$A:sl$")" 1
is "  none under its next name" "$(ip -o link show | grep -c "$(tapname $A sl 1)")" 0
rm -f "$T_TMP/started" "$T_TMP/go"
pg=$(tapname $A pg)
PATH="$T_TMP/slowbin:$PATH" setsid ember-tap create pg --address 10.6.0.5/30 >/dev/null 2>&1 &
leader=$!
ok "a create's ip is running" wait_until "[ -s '$T_TMP/started' ]"
ipid=$(head -n 1 "$T_TMP/started")
kill -9 -- -$leader
touch "$T_TMP/go"
ok "  a kill of ember's process group ends its ip" wait_until "! kill -0 $ipid 2>/dev/null"
wait $leader 2>/dev/null
ok "  which made no link" bash -c "! ip link show dev $pg 2>/dev/null"
check "  the next create makes it" 0 "pg $pg 10.6.0.5/30 1500 - - up" ember-tap create pg --address 10.6.0.5/30
check "deinit" 0 "*" ember-init deinit

done_testing
