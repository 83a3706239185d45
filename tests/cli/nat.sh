#!/usr/bin/env bash
# ember-nat: an installation's chains and per-VM rules, in a network namespace
# of this file's own. NAT_BACKEND=nft|legacy picks the iptables backend
# (nat-xtables-legacy.sh runs this file again on iptables-legacy).
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
iptables_backend "${NAT_BACKEND:-}"
export EMBER_IPTABLES=$B EMBER_RUN_DIR=$T_TMP/run
echo "# backend: $B"

ipt() { "iptables-$B" -w "$@"; }
# the whole ruleset, without the date lines and counters
save() { "iptables-$B-save" | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'; }
# the rules carrying TOKEN exactly (the comment value, quoted)
with_token() { save | grep -F -- "--comment \"$1\" " || true; }
ip link add up0 type veth peer name up0p
ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0
ip link add wan1 type veth peer name wan1p && ip link set wan1 up
for t in tapa tapb tapc tapd; do ip tuntap add dev $t mode tap; done
echo 0 >/proc/sys/net/ipv4/ip_forward

A=a3f4
ember-init init -q --instance-id $A
C="-m comment --comment"
J="$C \"ember:$A\""
# bucket OWNER: the two hex digits naming OWNER's bucket chains, computed
# here independently of the C code (FNV-1a-32 of the owner, mod 32)
bucket() { printf '%02x\n' $(($(fnv1a32 "$1") % 32)); }
# in_bucket PREFIX BUCKET [FROM]: the first owner PREFIX<n> (n from FROM) in BUCKET
in_bucket() { local n; for n in $(seq "${3:-1}" 400); do [ "$(bucket "$1$n")" = "$2" ] && echo "$1$n" && return; done; }
b1=$(bucket vm1) b2=$(bucket vm2) b10=$(bucket vm10)

## usage
check "no verb: 100" 100 "" ember-nat
check "an unknown verb: 100" 100 "" ember-nat start vm1
check "up without --guest-ip: 100" 100 "" ember-nat up vm1 --tap tapa
like "says what is missing" "$T_ERR" "*--guest-ip IP is required*"
check "up without --tap: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2
check "up without an owner: 100" 100 "" ember-nat up --guest-ip 10.0.0.2 --tap tapa
check "--allow outside up: 100" 100 "" ember-nat down vm1 --allow 10.0.0.0/8
check "--tap with list: 100" 100 "" ember-nat list --tap tapa
check "down of a non-legacy installation by parameters: 100" 100 "" ember-nat down vm1 --guest-ip 10.0.0.2 --tap tapa --uplink up0
check "--help prints the usage" 0 "*" ember-nat --help
like "naming every verb, the fields and exit codes" "$T_OUT" "*up OWNER*down OWNER*show OWNER*list*check*flush*owner guest_ip tap uplink allow state*exit codes*"
check "list of nothing prints nothing" 0 "" ember-nat -v list
is "and runs no iptables" "$T_ERR" ""
check "check of nothing: no drift" 0 "" ember-nat -v check
check "flush of nothing prints nothing" 0 "" ember-nat flush
check "show of an unknown owner: 1" 1 "" ember-nat show vm1
check "without an installation: 100" 100 "" ember-nat list --state-dir "$T_TMP/none"
is "no rule was written so far" "$(save | grep -c ember)" 0

## bad input: a clear error, nothing changed
before=$(save)
check "a bad owner: 100" 100 "" ember-nat up VM_1 --guest-ip 10.0.0.2 --tap tapa
check "a bad address: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.256 --tap tapa
like "naming it" "$T_ERR" "ember-nat: invalid guest address '10.0.0.256'*"
check "a loopback guest: 100" 100 "" ember-nat up vm1 --guest-ip 127.0.0.2 --tap tapa
check "a TAP that does not exist: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap nosuch
like "says so" "$T_ERR" "ember-nat: TAP 'nosuch' does not exist*hint:*"
check "an uplink that does not exist: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa --uplink nosuch
like "says so" "$T_ERR" "ember-nat: uplink 'nosuch' does not exist*"
check "a wildcard interface name: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap 'tap+'
check "the uplink as --tap, no TAP: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap up0
like "says so" "$T_ERR" "ember-nat: 'up0' is not a TAP: it is a link of another kind*hint:*"
check "the loopback as --tap: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap lo
check "the TAP as --uplink: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa --uplink tapa
check "the loopback as --uplink: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa --uplink lo
check "an --allow with host bits: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa --allow 10.1.2.3/8
like "with the network as a hint" "$T_ERR" "*hint: the network is 10.0.0.0/8*"
check "an --allow that is no CIDR: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa --allow nowhere
ip route del default
check "no default route and no --uplink: 100" 100 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa
like "says so, with the way out" "$T_ERR" "ember-nat: no uplink: this host has no default route*hint:*--uplink*"
ip route add default via 192.0.2.254 dev up0
is "nothing changed in the kernel" "$(save)" "$before"
is "IPv4 forwarding is still off" "$(cat /proc/sys/net/ipv4/ip_forward)" 0
is "nothing recorded" "$(sqlite3 "$EMBER_STATE_DIR/state.db" 'SELECT count(*) FROM nat_vms' 2>/dev/null || echo 0)" 0

## up
check "up prints the VM, the uplink from the default route" 0 "vm1 10.0.0.2 tapa up0 - up" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa
is "IPv4 forwarding is on" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
is "vm1's bucket" "$b1" 07
is "the filter table: chains, tagged jumps, a bucket, vm1's rules" "$(save | sed -n '/^\*filter/,/^COMMIT/p')" "*filter
:INPUT ACCEPT
:FORWARD ACCEPT
:OUTPUT ACCEPT
:ember-$A-forward -
:ember-$A-forward-$b1 -
:ember-$A-input -
:ember-$A-input-$b1 -
-A INPUT $J -j ember-$A-input
-A FORWARD $J -j ember-$A-forward
-A ember-$A-forward $J -j ember-$A-forward-$b1
-A ember-$A-forward-$b1 -s 10.0.0.2/32 -i tapa -o up0 $C \"ember:$A:vm1\" -j ACCEPT
-A ember-$A-forward-$b1 -i tapa $C \"ember:$A:vm1\" -j DROP
-A ember-$A-forward-$b1 -d 10.0.0.2/32 -o tapa -m conntrack --ctstate RELATED,ESTABLISHED $C \"ember:$A:vm1\" -j ACCEPT
-A ember-$A-forward-$b1 -o tapa $C \"ember:$A:vm1\" -j DROP
-A ember-$A-input $J -j ember-$A-input-$b1
-A ember-$A-input-$b1 -i tapa -m conntrack --ctstate RELATED,ESTABLISHED $C \"ember:$A:vm1\" -j ACCEPT
-A ember-$A-input-$b1 -i tapa $C \"ember:$A:vm1\" -j DROP
COMMIT"
is "the nat table: chain, tagged jump, MASQUERADE out of the uplink" "$(save | sed -n '/^\*nat/,/^COMMIT/p')" "*nat
:PREROUTING ACCEPT
:INPUT ACCEPT
:OUTPUT ACCEPT
:POSTROUTING ACCEPT
:ember-$A-postrouting -
:ember-$A-postrouting-$b1 -
-A POSTROUTING $J -j ember-$A-postrouting
-A ember-$A-postrouting $J -j ember-$A-postrouting-$b1
-A ember-$A-postrouting-$b1 -s 10.0.0.2/32 -o up0 $C \"ember:$A:vm1\" -j MASQUERADE
COMMIT"
is "the database records it" "$(sqlite3 "$EMBER_STATE_DIR/state.db" 'SELECT owner, guest_ip, tap, uplink, allow FROM nat_vms')" "vm1|10.0.0.2|tapa|up0|"
before=$(save)
check "up again with the same parameters succeeds and prints it" 0 "vm1 10.0.0.2 tapa up0 - up" ember-nat -v up vm1 --guest-ip 10.0.0.2 --tap tapa
# its chains are read first, to prove them ours: on nft a listing of just
# those (one iptables-nft-restore of -S lines), on legacy one iptables-save
if [ "$B" = nft ]; then
	like "reading only its own chains first, to prove them ours" "$T_ERR" "*filter
-S ember-$A-input
-S ember-$A-input-$b1
-S ember-$A-forward
-S ember-$A-forward-$b1
COMMIT
*nat
-S ember-$A-postrouting
-S ember-$A-postrouting-$b1
COMMIT
+ iptables-nft-restore --noflush -w 30
*"
else
	like "reading the rules first, to prove its chains ours" "$T_ERR" "+ iptables-legacy-save
*"
fi
like "asserting the jumps and its rules in one transaction, reading nothing else" "$T_ERR" "*+ iptables-$B -w 30 -t filter -S DOCKER-USER
*filter
-C INPUT $J -j ember-$A-input
*-C ember-$A-input-$b1 -i tapa*-C ember-$A-forward-$b1 -d 10.0.0.2/32*COMMIT
*nat
-C POSTROUTING*-C ember-$A-postrouting-$b1 -s 10.0.0.2/32*COMMIT
+ iptables-$B-restore --noflush -w 30"
is "  (that read and one restore, nothing else)" "$(grep -c -e "^+ iptables-$B-save" -e "^+ iptables-$B-restore" <<<"$T_ERR")" 2
check "the same, naming the uplink" 0 "vm1 10.0.0.2 tapa up0 - up" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa --uplink up0
check "with another address: 102" 102 "" ember-nat up vm1 --guest-ip 10.0.0.6 --tap tapa
like "saying what is up" "$T_ERR" "ember-nat: NAT of 'vm1' is up with other parameters: guest 10.0.0.2 tap tapa uplink up0 allow -*hint: take it down first*"
check "with another uplink: 102" 102 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa --uplink wan1
check "with an allowlist: 102" 102 "" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa --allow 10.0.0.0/8
check "another owner on vm1's TAP: 102" 102 "" ember-nat up vm5 --guest-ip 10.0.0.22 --tap tapa
like "naming it" "$T_ERR" "ember-nat: 'vm1' has that TAP or guest address already*"
check "another owner with vm1's address: 102" 102 "" ember-nat up vm5 --guest-ip 10.0.0.2 --tap tapd
is "nothing changed" "$(save)" "$before"
check "up -j prints one object" 0 '{"owner":"vm2","guest_ip":"10.0.0.6","tap":"tapb","uplink":"wan1","allow":["192.0.2.0/24","198.51.100.0/24"],"state":"up"}' \
	ember-nat up vm2 --guest-ip 10.0.0.6 --tap tapb --uplink wan1 --allow 198.51.100.0/24 --allow 192.0.2.0/24 --allow 198.51.100.0/24 -j
is "an allowlist: one ACCEPT per block, then the TAP's DROPs" "$(with_token "ember:$A:vm2" | grep forward)" \
	"-A ember-$A-forward-$b2 -s 10.0.0.6/32 -d 192.0.2.0/24 -i tapb -o wan1 $C \"ember:$A:vm2\" -j ACCEPT
-A ember-$A-forward-$b2 -s 10.0.0.6/32 -d 198.51.100.0/24 -i tapb -o wan1 $C \"ember:$A:vm2\" -j ACCEPT
-A ember-$A-forward-$b2 -i tapb $C \"ember:$A:vm2\" -j DROP
-A ember-$A-forward-$b2 -d 10.0.0.6/32 -o tapb -m conntrack --ctstate RELATED,ESTABLISHED $C \"ember:$A:vm2\" -j ACCEPT
-A ember-$A-forward-$b2 -o tapb $C \"ember:$A:vm2\" -j DROP"
check "the same blocks in another order are the same parameters" 0 "vm2 10.0.0.6 tapb wan1 192.0.2.0/24,198.51.100.0/24 up" \
	ember-nat up vm2 --guest-ip 10.0.0.6 --tap tapb --uplink wan1 --allow 192.0.2.0/24 --allow 198.51.100.0/24
check "-v prints the one restore transaction" 0 "*" ember-nat -v up vm10 --guest-ip 10.0.0.10 --tap tapc
like "filter and nat in one input" "$T_ERR" "*+ iptables-$B-restore --noflush -w*"
like "a new bucket: read the rules, then chains, jumps and rules, both tables, each committed" "$T_ERR" "+ iptables-$B-save*filter*:ember-$A-input-$b10 - *-A ember-$A-input $J -j ember-$A-input-$b10*-A ember-$A-input-$b10 -i tapc*COMMIT*nat*-A ember-$A-postrouting-$b10 -s 10.0.0.10/32*COMMIT*"
is "one restore only" "$(grep -c "^+ iptables-$B-restore" <<<"$T_ERR")" 1
is "the jumps exist once each: 3 from the base chains, 3 per bucket" "$(save | grep -- "$J -j ember-$A" | sort | uniq -c | awk '{print $1}' | sort -u)" 1
is "  for three buckets" "$(save | grep -c -- "$J -j ember-$A")" 12

## show and list
check "show prints one VM" 0 "vm1 10.0.0.2 tapa up0 - up" ember-nat show vm1
check "show -j prints one object" 0 '{"owner":"vm1","guest_ip":"10.0.0.2","tap":"tapa","uplink":"up0","allow":[],"state":"up"}' ember-nat show vm1 -j
check "list prints every VM by owner" 0 "vm1 10.0.0.2 tapa up0 - up
vm10 10.0.0.10 tapc up0 - up
vm2 10.0.0.6 tapb wan1 192.0.2.0/24,198.51.100.0/24 up" ember-nat list
check "list -j prints an array" 0 '[{"owner":"vm1","guest_ip":"10.0.0.2","tap":"tapa","uplink":"up0","allow":[],"state":"up"},{"owner":"vm10","guest_ip":"10.0.0.10","tap":"tapc","uplink":"up0","allow":[],"state":"up"},{"owner":"vm2","guest_ip":"10.0.0.6","tap":"tapb","uplink":"wan1","allow":["192.0.2.0/24","198.51.100.0/24"],"state":"up"}]' ember-nat list -j

## check: drift, one line per difference
check "no drift: exit 0, nothing printed" 0 "" ember-nat check
ipt -D ember-$A-forward-$b1 -s 10.0.0.2/32 -i tapa -o up0 $C "ember:$A:vm1" -j ACCEPT
check "a rule removed by hand: 1" 1 "vm1 missing-rule -t filter -A ember-$A-forward-$b1 -s 10.0.0.2/32 -i tapa -o up0 $C \"ember:$A:vm1\" -j ACCEPT" ember-nat check
like "and a count on stderr" "$T_ERR" "ember-nat: 1 difference found"
check "show says partial" 0 "vm1 10.0.0.2 tapa up0 - partial" ember-nat show vm1
check "check -j" 1 "[{\"owner\":\"vm1\",\"kind\":\"missing-rule\",\"detail\":\"-t filter -A ember-$A-forward-$b1 -s 10.0.0.2/32 -i tapa -o up0 $C \\\"ember:$A:vm1\\\" -j ACCEPT\"}]" ember-nat check -j
check "up repairs it" 0 "vm1 10.0.0.2 tapa up0 - up" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa
is "with the ACCEPT before the TAP's DROP again" "$(with_token "ember:$A:vm1" | grep forward | head -2 | awk '{print $NF}' | tr '\n' ' ')" "ACCEPT DROP "
check "no drift after the repair" 0 "" ember-nat check
ipt -A ember-$A-input-$b1 -i tapd $C "ember:$A:ghost" -j DROP
ipt -I ember-$A-input-$b1 -i tapa $C "ember:$A:vm1" -j DROP
ipt -D FORWARD $C "ember:$A" -j ember-$A-forward
check "a rule of an unrecorded owner, a duplicate and a missing jump: 1, three lines" 1 "- missing-jump -t filter -A FORWARD $J -j ember-$A-forward
vm1 extra-rule -t filter -A ember-$A-input-$b1 -i tapa $C \"ember:$A:vm1\" -j DROP
ghost extra-rule -t filter -A ember-$A-input-$b1 -i tapd $C \"ember:$A:ghost\" -j DROP" ember-nat check
check "list: every VM lacks the jump" 0 "vm1 10.0.0.2 tapa up0 - partial
vm10 10.0.0.10 tapc up0 - partial
vm2 10.0.0.6 tapb wan1 192.0.2.0/24,198.51.100.0/24 partial" ember-nat list
check "down of the unrecorded owner removes its rule, printing only the owner" 0 "ghost - - - - down" ember-nat down ghost
check "up of vm1 puts the jump back and drops the duplicate" 0 "vm1 10.0.0.2 tapa up0 - up" ember-nat up vm1 --guest-ip 10.0.0.2 --tap tapa
check "no drift left" 0 "" ember-nat check

## exact tokens: vm1 is not vm10
v10=$(with_token "ember:$A:vm10")
is "vm10 has its seven rules" "$(wc -l <<<"$v10")" 7
check "down vm1 prints what it was" 0 "vm1 10.0.0.2 tapa up0 - down" ember-nat down vm1
is "vm1's rules are gone" "$(with_token "ember:$A:vm1")" ""
is "vm10's are exactly as they were" "$(with_token "ember:$A:vm10")" "$v10"
check "down again: nothing to do, nothing printed" 0 "" ember-nat down vm1
check "down -j of vm10" 0 '{"owner":"vm10","guest_ip":"10.0.0.10","tap":"tapc","uplink":"up0","allow":[],"state":"down"}' ember-nat down vm10 -j
check "the chains and jumps stay for the next VM" 0 "" ember-nat check

## a foreign chain of our name: refused, nothing changed
new_state
ember-init init -q --instance-id b0b0
ipt -N ember-b0b0-forward
ipt -A ember-b0b0-forward -s 203.0.113.0/24 -j ACCEPT
before=$(save)
check "a chain of our name with a foreign rule: 102" 102 "" ember-nat up vm1 --guest-ip 10.0.1.2 --tap tapa
like "saying whose it is not" "$T_ERR" "ember-nat: chain 'ember-b0b0-forward' (table filter) exists but is not this installation's: it holds a rule that is not this installation's*hint:*"
ipt -F ember-b0b0-forward
check "an empty chain of our name no jump of ours leads to: 102" 102 "" ember-nat up vm1 --guest-ip 10.0.1.2 --tap tapa
like "saying so" "$T_ERR" "*no jump tagged 'ember:b0b0' leads to it*"
ipt -A ember-b0b0-forward -s 203.0.113.0/24 -j ACCEPT
is "nothing changed" "$(save)" "$before"
check "check reports it: 1" 1 "- foreign-chain -t filter ember-b0b0-forward: it holds a rule that is not this installation's: -A ember-b0b0-forward -s 203.0.113.0/24 -j ACCEPT" ember-nat check
check "flush refuses to touch it: 102" 102 "" ember-nat flush
is "still nothing changed" "$(save)" "$before"
ipt -F ember-b0b0-forward && ipt -X ember-b0b0-forward

## DOCKER-USER: Docker's FORWARD policy DROP
new_state
ember-init init -q --instance-id d0c4
ipt -N DOCKER-USER
ipt -A DOCKER-USER -j RETURN
ipt -I FORWARD -j DOCKER-USER
ipt -P FORWARD DROP
check "up where DOCKER-USER exists" 0 "vm1 10.0.2.2 tapd up0 - up" ember-nat up vm1 --guest-ip 10.0.2.2 --tap tapd
is "jumps from DOCKER-USER too, before its RETURN" "$(save | grep -- '-A DOCKER-USER')" "-A DOCKER-USER $C \"ember:d0c4\" -j ember-d0c4-forward
-A DOCKER-USER -j RETURN"
check "check expects that jump" 0 "" ember-nat check
ipt -D DOCKER-USER $C "ember:d0c4" -j ember-d0c4-forward
check "and misses it when it is gone" 1 "- missing-jump -t filter -A DOCKER-USER $C \"ember:d0c4\" -j ember-d0c4-forward" ember-nat check
check "up puts it back" 0 "vm1 10.0.2.2 tapd up0 - up" ember-nat up vm1 --guest-ip 10.0.2.2 --tap tapd
check "flush prints the VMs it removed" 0 "vm1 10.0.2.2 tapd up0 - down" ember-nat flush
is "Docker's own rules are as they were" "$(save | grep -e DOCKER -e 'FORWARD DROP')" ":FORWARD DROP
:DOCKER-USER -
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN"
ipt -P FORWARD ACCEPT && ipt -D FORWARD -j DOCKER-USER && ipt -F DOCKER-USER && ipt -X DOCKER-USER

## concurrency: 16 owners at once, and 4 ups of one owner at once
new_state
ember-init init -q --instance-id c0c0
for i in $(seq 1 16); do ip tuntap add dev ct$i mode tap; done
for i in $(seq 1 16); do ember-nat -q up p$i --guest-ip 10.0.3.$((i * 4 + 2)) --tap ct$i & done
for i in 1 2 3 4; do ember-nat -q up same --guest-ip 10.0.4.2 --tap tapb --uplink wan1 & done
wait
want=$(for i in $(seq 1 16); do echo "p$i 10.0.3.$((i * 4 + 2)) ct$i up0 - up"; done | sort; echo "same 10.0.4.2 tapb wan1 - up")
check "every owner is up" 0 "$(sort <<<"$want")" bash -c "ember-nat list | sort"
is "exactly 17 x 7 per-VM rules" "$(save | grep -c -- "--comment \"ember:c0c0:")" $((17 * 7))
is "no rule twice" "$(save | grep -- "ember:c0c0" | sort | uniq -d)" ""
is "no jump twice" "$(save | grep -- "--comment \"ember:c0c0\" -j" | sort | uniq -d)" ""
is "three from the base chains" "$(save | grep -c -e "^-A INPUT .*ember:c0c0" -e "^-A FORWARD .*ember:c0c0" -e "^-A POSTROUTING .*ember:c0c0")" 3
is "three per bucket in use" "$(save | grep -c -- "--comment \"ember:c0c0\" -j ember-c0c0-[a-z]*-[0-9a-f][0-9a-f]$")" \
	$((3 * $(for o in $(seq 1 16) same; do o=${o/#[0-9]*/p$o}; bucket "$o"; done | sort -u | wc -l)))
is "each owner's seven" "$(for o in $(seq 1 16) same; do o=${o/#[0-9]*/p$o}; with_token "ember:c0c0:$o" | wc -l; done | sort -u)" 7
check "and check agrees" 0 "" ember-nat check
for i in $(seq 1 16); do ember-nat -q down p$i & done
for i in 1 2 3 4; do ember-nat -q down same & done
wait
is "16 + 4 parallel downs leave no per-VM rule" "$(save | grep -c -- "--comment \"ember:c0c0:")" 0
check "and nothing recorded" 0 "" ember-nat list

## the common case: one transaction that asserts what the record says
new_state
F=f0f0
ember-init init -q --instance-id $F
JF="$C \"ember:$F\""
ember-nat -q up f1 --guest-ip 10.0.8.2 --tap tapa
bf=$(bucket f1)
for n in $(seq 1 200); do [ "$(bucket "g$n")" = "$bf" ] && break; done
g=g$n
rows() { sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT owner, applied FROM nat_vms ORDER BY owner"; }
restores() { grep -c -e "^+ iptables-$B-save" -e "^+ iptables-$B-restore" <<<"$T_ERR"; }
check "up of another owner in a bucket made before" 0 "$g 10.0.8.6 tapb up0 - up" ember-nat -v up $g --guest-ip 10.0.8.6 --tap tapb
like "  asserts the jumps, appends its rules" "$T_ERR" "*-C ember-$F-forward $JF -j ember-$F-forward-$bf*-A ember-$F-forward-$bf -s 10.0.8.6/32*"
is "  in one restore, reading only its chains" "$(restores) $(grep -c "^+ iptables-$B-save" <<<"$T_ERR")" "$([ "$B" = nft ] && echo "2 0" || echo "2 1")"
is "  its seven rules" "$(with_token "ember:$F:$g" | wc -l)" 7
check "down: one restore deleting exactly its rules" 0 "$g 10.0.8.6 tapb up0 - down" ember-nat -v down $g
is "  reading no rule" "$(restores) $(grep -c "^+ iptables-$B-save" <<<"$T_ERR")" "1 0"
is "  none left" "$(with_token "ember:$F:$g")" ""

check "killed after its transaction, before the record says so" 137 "" env EMBER_TEST_CRASH=nat-up-applied ember-nat up $g --guest-ip 10.0.8.6 --tap tapb
is "  the rules are in the kernel" "$(with_token "ember:$F:$g" | wc -l)" 7
is "  the record says they may not be" "$(rows)" "f1|1
$g|0"
check "up again reads the kernel first" 0 "$g 10.0.8.6 tapb up0 - up" ember-nat -v up $g --guest-ip 10.0.8.6 --tap tapb
like "  (iptables-save)" "$T_ERR" "*+ iptables-$B-save*"
is "  and adds no rule twice" "$(with_token "ember:$F:$g" | wc -l)" 7
is "  the record is settled" "$(rows)" "f1|1
$g|1"
ember-nat -q down $g
check "killed after recording, before its transaction" 137 "" env EMBER_TEST_CRASH=nat-up-recorded ember-nat up $g --guest-ip 10.0.8.6 --tap tapb
is "  no rule reached the kernel" "$(with_token "ember:$F:$g")" ""
check "  show says missing" 0 "$g 10.0.8.6 tapb up0 - missing" ember-nat show $g
check "  and check says so" 1 "*" ember-nat check
check "up again makes them" 0 "$g 10.0.8.6 tapb up0 - up" ember-nat up $g --guest-ip 10.0.8.6 --tap tapb
is "  once" "$(with_token "ember:$F:$g" | wc -l)" 7
check "  no drift" 0 "" ember-nat check
check "killed after down's transaction, before the record goes" 137 "" env EMBER_TEST_CRASH=nat-down-deleted ember-nat down $g
is "  the rules are gone" "$(with_token "ember:$F:$g")" ""
check "  down again removes the record" 0 "$g 10.0.8.6 tapb up0 - down" ember-nat down $g
is "  and nothing else" "$(rows)" "f1|1"

ember-nat -q up $g --guest-ip 10.0.8.6 --tap tapb
ipt -D ember-$F-forward-$bf -i tapb $C "ember:$F:$g" -j DROP
check "down of rules changed by hand: the assertion fails, down reads and removes the rest" 0 "$g 10.0.8.6 tapb up0 - down" ember-nat -v down $g
is "  (one refused restore, iptables-save, one restore)" "$(restores)" 3
is "  none of its rules is left" "$(with_token "ember:$F:$g")" ""
is "  f1's are all there" "$(with_token "ember:$F:f1" | wc -l)" 7
ipt -D ember-$F-input $C "ember:$F" -j ember-$F-input-$bf
is "  (gone)" "$(save | grep -c -- "-A ember-$F-input $JF -j ember-$F-input-$bf")" 0
check "a jump to a bucket removed by hand: up of a recorded owner puts it back" 0 "f1 10.0.8.2 tapa up0 - up" ember-nat up f1 --guest-ip 10.0.8.2 --tap tapa
check "  no drift" 0 "" ember-nat check
ipt -N DOCKER-USER
ipt -A DOCKER-USER -j RETURN
check "Docker came after the buckets: up of a new owner in one" 0 "$g 10.0.8.6 tapb up0 - up" ember-nat up $g --guest-ip 10.0.8.6 --tap tapb
is "  adds the jump from DOCKER-USER" "$(save | grep -c -- "-A DOCKER-USER $JF -j ember-$F-forward")" 1
check "  no drift" 0 "" ember-nat check
check "flush" 0 "*" ember-nat flush
is "  leaves no chain, jump or rule of the installation" "$(save | grep -c $F)" 0
is "  forgets the buckets" "$(sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT count(*) FROM nat_buckets")" 0
ipt -F DOCKER-USER && ipt -X DOCKER-USER

## a legacy installation: no comments, found by their text
new_state
ember-init init -q --legacy
check "legacy up" 0 "lvm1 10.0.5.2 tapa up0 - up" ember-nat up lvm1 --guest-ip 10.0.5.2 --tap tapa
is "its rules carry no comment, MASQUERADE in the base POSTROUTING" "$(save | grep -e ember-input -e ember-forward -e MASQUERADE | grep -v 'ember:' | sort)" \
	"$(sort <<<":ember-forward -
:ember-input -
-A INPUT -j ember-input
-A FORWARD -j ember-forward
-A ember-forward -s 10.0.5.2/32 -i tapa -o up0 -j ACCEPT
-A ember-forward -i tapa -j DROP
-A ember-forward -d 10.0.5.2/32 -o tapa -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ember-forward -o tapa -j DROP
-A ember-input -i tapa -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ember-input -i tapa -j DROP
-A POSTROUTING -s 10.0.5.2/32 -o up0 -j MASQUERADE")"
check "legacy check: no drift" 0 "" ember-nat check
check "legacy up again changes nothing" 0 "lvm1 10.0.5.2 tapa up0 - up" ember-nat up lvm1 --guest-ip 10.0.5.2 --tap tapa
is "the MASQUERADE is there once" "$(save | grep -c -- '-A POSTROUTING -s 10.0.5.2/32 -o up0 -j MASQUERADE')" 1
# someone else's MASQUERADE of another address, and one of vm lvm1's address
# out of another interface: not lvm1's text, so never removed
ipt -t nat -A POSTROUTING -s 10.0.5.6/32 -o up0 -j MASQUERADE
ipt -t nat -A POSTROUTING -s 10.0.5.2/32 -o wan1 -j MASQUERADE
# rules an older ember wrote before there were records (and before the
# ember-* chains: straight into FORWARD), for lvm2
ipt -A FORWARD -s 10.0.5.10/32 -i tapc -o up0 -j ACCEPT
ipt -A ember-forward -i tapc -j DROP
ipt -t nat -A POSTROUTING -s 10.0.5.10/32 -o up0 -j MASQUERADE
before=$(save)
check "legacy check: the unrecorded rules in our chain are drift" 1 "- extra-rule -t filter -A ember-forward -i tapc -j DROP" ember-nat check
check "legacy down of an unrecorded owner without its parameters: nothing is provably its" 0 "" ember-nat down lvm2
is "nothing changed" "$(save)" "$before"
check "down needs all three parameters: 100" 100 "" ember-nat down lvm2 --guest-ip 10.0.5.10 --tap tapc
check "legacy down by the parameters removes the rules written from them" 0 "lvm2 10.0.5.10 tapc up0 - down" ember-nat down lvm2 --guest-ip 10.0.5.10 --tap tapc --uplink up0
is "byte for byte: exactly those three lines are gone" "$(diff <(echo "$before") <(save) | grep '^[<>]' | LC_ALL=C sort)" "< -A FORWARD -s 10.0.5.10/32 -i tapc -o up0 -j ACCEPT
< -A POSTROUTING -s 10.0.5.10/32 -o up0 -j MASQUERADE
< -A ember-forward -i tapc -j DROP"
before=$(save)
check "legacy down of a recorded owner" 0 "lvm1 10.0.5.2 tapa up0 - down" ember-nat down lvm1
is "removes its seven lines and nothing else" "$(diff <(echo "$before") <(save) | grep -c '^<')" 7
is "the look-alike MASQUERADEs stay" "$(save | grep -c -- '-A POSTROUTING -s 10.0.5.[26]/32 -o [a-z0-9]* -j MASQUERADE')" 2
ember-nat -q up lvm3 --guest-ip 10.0.5.14 --tap tapd
check "legacy flush" 0 "lvm3 10.0.5.14 tapd up0 - down" ember-nat flush
is "leaves no legacy chain, jump or MASQUERADE of ours" "$(save | grep -c -e ember-input -e ember-forward -e 10.0.5.14)" 0
is "and the look-alikes" "$(save | grep -c -- '-A POSTROUTING -s 10.0.5.[26]/32 -o [a-z0-9]* -j MASQUERADE')" 2

## ember-init deinit tears the installation's NAT down
new_state
ember-init init -q --instance-id e0e0
ember-nat -q up vm1 --guest-ip 10.0.6.2 --tap tapa
before=$(save | grep -v e0e0)
check "deinit" 0 "*" ember-init deinit
is "no chain, jump or rule of the installation is left" "$(save | grep -c e0e0)" 0
is "and everything else is as it was" "$(save)" "$before"

## after a reboot: the kernel lost every chain, the database still knows the buckets
new_state
R=e1e1
ember-init init -q --instance-id $R
ember-nat -q up r1 --guest-ip 10.0.9.2 --tap tapa
br=$(bucket r1)
same=$(in_bucket s "$br")
for n in $(seq 1 200); do [ "$(bucket "o$n")" != "$br" ] && break; done
other=o$n
wipe() { for t in filter nat; do ipt -t $t -F && ipt -t $t -X; done; }
wipe
check "up of a new VM in a bucket the database knows, every chain gone: repaired" 0 "$same 10.0.9.6 tapb up0 - up" ember-nat up $same --guest-ip 10.0.9.6 --tap tapb
check "up of the recorded VM" 0 "r1 10.0.9.2 tapa up0 - up" ember-nat up r1 --guest-ip 10.0.9.2 --tap tapa
check "up of a new VM in another bucket" 0 "$other 10.0.9.10 tapc up0 - up" ember-nat up $other --guest-ip 10.0.9.10 --tap tapc
check "  check is clean" 0 "" ember-nat check
wipe
check "down after every chain is gone" 0 "r1 10.0.9.2 tapa up0 - down" ember-nat down r1
check "  then up again" 0 "r1 10.0.9.2 tapa up0 - up" ember-nat up r1 --guest-ip 10.0.9.2 --tap tapa
check "  and up of the others" 0 "" bash -c "ember-nat -q up $same --guest-ip 10.0.9.6 --tap tapb && ember-nat -q up $other --guest-ip 10.0.9.10 --tap tapc"
check "  check is clean" 0 "" ember-nat check
is "  each owner's seven rules, once" "$(for o in r1 $same $other; do with_token "ember:$R:$o" | sort -u | wc -l; with_token "ember:$R:$o" | wc -l; done | sort -u)" 7

## up of an applied VM converges its rules: a duplicate, a misordered rule
gr=$(with_token "ember:$R:r1")
ipt -I ember-$R-forward-$br -i tapa $C "ember:$R:r1" -j DROP
check "  (check sees the duplicate)" 1 "r1 extra-rule -t filter -A ember-$R-forward-$br -i tapa $C \"ember:$R:r1\" -j DROP" ember-nat check
check "up of the applied VM with a rule twice" 0 "r1 10.0.9.2 tapa up0 - up" ember-nat up r1 --guest-ip 10.0.9.2 --tap tapa
check "  removes the duplicate" 0 "" ember-nat check
is "  its rules as written" "$(with_token "ember:$R:r1")" "$gr"
ipt -D ember-$R-forward-$br -s 10.0.9.2/32 -i tapa -o up0 $C "ember:$R:r1" -j ACCEPT
ipt -A ember-$R-forward-$br -s 10.0.9.2/32 -i tapa -o up0 $C "ember:$R:r1" -j ACCEPT
check "  (check sees the ACCEPT after the DROP)" 1 "r1 misordered its rules are not in the order they were written" ember-nat check
check "up of the applied VM with its rules out of order" 0 "r1 10.0.9.2 tapa up0 - up" ember-nat up r1 --guest-ip 10.0.9.2 --tap tapa
check "  puts them in order" 0 "" ember-nat check
is "  as written" "$(with_token "ember:$R:r1")" "$gr"

## outside its own chains only the jumps it writes are the installation's
ipt -A INPUT -i tapd $C "ember:$R:ghost" -j DROP
ipt -A FORWARD -i tapd $C "ember:$R:r1" -j DROP
ipt -I INPUT -i tapd $C "ember:$R" -j ACCEPT
foreign=$(save | grep -e "-A INPUT -i tapd" -e "-A FORWARD -i tapd")
check "check: rules with its tokens in built-in chains are not its drift" 0 "" ember-nat check
check "down of an unrecorded owner whose token a built-in chain's rule carries: nothing of its" 0 "" ember-nat down ghost
check "up of r1 leaves the look-alike in FORWARD" 0 "r1 10.0.9.2 tapa up0 - up" ember-nat up r1 --guest-ip 10.0.9.2 --tap tapa
check "flush" 0 "*" ember-nat flush
is "  leaves no chain of the installation" "$(save | grep -c ":ember-$R")" 0
is "  and the three look-alikes exactly as they were" "$(save | grep -e "-A INPUT -i tapd" -e "-A FORWARD -i tapd")" "$foreign"
ipt -D INPUT -i tapd $C "ember:$R:ghost" -j DROP
ipt -D FORWARD -i tapd $C "ember:$R:r1" -j DROP
ipt -D INPUT -i tapd $C "ember:$R" -j ACCEPT

## a refused up changes no table (each table commits on its own)
new_state
P=e2e2
ember-init init -q --instance-id $P
ember-nat -q up p1 --guest-ip 10.0.10.2 --tap tapa
bp=$(bucket p1)
q=$(in_bucket q "$bp")
# the owner's own chains are the installation's, but the nat table lost the
# jump to them (so the nat part of the fast transaction refuses after the
# filter part committed), and another bucket's chain of the installation's
# name is another program's (so reading every rule then refuses, 102)
ob=$(printf '%02x' $(((0x$bp + 1) % 32)))
ipt -t nat -D POSTROUTING $C "ember:$P" -j ember-$P-postrouting
ipt -N ember-$P-input-$ob
ipt -A ember-$P-input-$ob -s 203.0.113.0/24 -j ACCEPT
before=$(save)
check "up of a new owner when a table refuses and a chain of its name is foreign: 102" 102 "" ember-nat up $q --guest-ip 10.0.10.6 --tap tapb
like "  saying why" "$T_ERR" "*chain 'ember-$P-input-$ob' (table filter) exists but is not this installation's*"
is "  no table changed (the filter rules it appended first are taken back)" "$(save)" "$before"
is "  nothing recorded for it" "$(rows)" "p1|1"
ipt -F ember-$P-input-$ob
ipt -X ember-$P-input-$ob
check "once the chain is the installation's again, up works" 0 "$q 10.0.10.6 tapb up0 - up" ember-nat up $q --guest-ip 10.0.10.6 --tap tapb
check "  and check is clean" 0 "" ember-nat check
ember-nat -q flush

## a killed up's iptables-restore dies with it, whether ember alone or its process group is killed
new_state
K=e3e3
ember-init init -q --instance-id $K
ember-nat -q up n1 --guest-ip 10.0.11.2 --tap tapa
bk=$(bucket n1)
m=$(in_bucket m "$bk")
pg=$(in_bucket m "$bk" $((${m#m} + 1)))
realrestore=$(command -v "iptables-$B-restore")
stall_wrapper "$T_TMP/slowipt" "iptables-$B-restore" "*" "^-[AD] "
PATH="$T_TMP/slowipt:$PATH" ember-nat up $m --guest-ip 10.0.11.6 --tap tapb >/dev/null 2>&1 &
first=$!
ok "an up's restore is running" wait_until "[ -s '$T_TMP/started' ]"
rpid=$(head -n 1 "$T_TMP/started")
kill -9 $first
wait $first 2>/dev/null
ok "  a kill of ember alone ends its restore" wait_until "! kill -0 $rpid 2>/dev/null"
touch "$T_TMP/go"
is "  which changed no rule" "$(with_token "ember:$K:$m")" ""
check "  the next up makes them" 0 "$m 10.0.11.6 tapb up0 - up" ember-nat up $m --guest-ip 10.0.11.6 --tap tapb
is "  its seven rules, once" "$(with_token "ember:$K:$m" | wc -l)" 7
check "  no drift" 0 "" ember-nat check
rm -f "$T_TMP/started" "$T_TMP/go"
PATH="$T_TMP/slowipt:$PATH" setsid ember-nat up $pg --guest-ip 10.0.11.10 --tap tapc >/dev/null 2>&1 &
leader=$!
ok "an up's restore is running" wait_until "[ -s '$T_TMP/started' ]"
rpid=$(head -n 1 "$T_TMP/started")
kill -9 -- -$leader
touch "$T_TMP/go"
ok "  a kill of ember's process group ends its restore" wait_until "! kill -0 $rpid 2>/dev/null"
wait $leader 2>/dev/null
is "  which changed no rule" "$(with_token "ember:$K:$pg")" ""
check "  show says so" 0 "$pg 10.0.11.10 tapc up0 - missing" ember-nat show $pg
check "  the next up makes them" 0 "$pg 10.0.11.10 tapc up0 - up" ember-nat up $pg --guest-ip 10.0.11.10 --tap tapc
check "  no drift" 0 "" ember-nat check

## a restore that fails after its filter table committed leaves what the next up or down repairs
mkdir -p "$T_TMP/halfipt"
# the filter table only, then a failure that names no line
printf '%s\n' '#!/bin/bash' \
	"f=$T_TMP/half.in" \
	'cat >"$f"' \
	"if grep -q '^\\*nat' \"\$f\" && grep -q '^-[AD] ' \"\$f\"; then sed '/^\\*nat/,\$d' \"\$f\" | $realrestore \"\$@\" || exit; echo 'simulated failure' >&2; exit 4; fi" \
	"exec $realrestore \"\$@\" <\"\$f\"" >"$T_TMP/halfipt/iptables-$B-restore"
chmod +x "$T_TMP/halfipt/iptables-$B-restore"
ember-nat -q down $m
check "up whose nat table fails: 111" 111 "" env PATH="$T_TMP/halfipt:$PATH" ember-nat up $m --guest-ip 10.0.11.6 --tap tapb
like "  with iptables' message" "$T_ERR" "*simulated failure*"
is "  its filter rules arrived" "$(with_token "ember:$K:$m" | wc -l)" 6
check "  show says partial" 0 "$m 10.0.11.6 tapb up0 - partial" ember-nat show $m
check "  up again repairs it" 0 "$m 10.0.11.6 tapb up0 - up" ember-nat up $m --guest-ip 10.0.11.6 --tap tapb
is "  seven rules, once" "$(with_token "ember:$K:$m" | wc -l)" 7
check "  no drift" 0 "" ember-nat check
check "down whose nat table fails: 111" 111 "" env PATH="$T_TMP/halfipt:$PATH" ember-nat down $m
is "  its filter rules are gone" "$(with_token "ember:$K:$m" | wc -l)" 1
check "  down again removes the rest" 0 "$m 10.0.11.6 tapb up0 - down" ember-nat down $m
is "  none left" "$(with_token "ember:$K:$m")" ""
for n in $(seq 1 300); do [ "$(bucket "w$n")" != "$bk" ] && [ "$(bucket "w$n")" != "$(bucket n1)" ] && break; done
w=w$n
check "up in a new bucket whose nat table fails: 111" 111 "" env PATH="$T_TMP/halfipt:$PATH" ember-nat up $w --guest-ip 10.0.11.14 --tap tapd
check "  up again repairs it" 0 "$w 10.0.11.14 tapd up0 - up" ember-nat up $w --guest-ip 10.0.11.14 --tap tapd
check "  no drift" 0 "" ember-nat check
ember-nat -q flush

done_testing
