#!/usr/bin/env bash
# Every kind of anomaly each `check` can report, one case each, its exact line:
# ember-ipalloc (shared, overlap, outside, corrupt, unrecorded, free-held,
# lost, free-outside), ember-cidalloc (shared, outside, corrupt, free-held,
# lost, free-outside) and ember-nat (missing-chain, foreign-chain,
# missing-jump, extra-jump, missing-rule, extra-rule, misordered). And
# ember-nat up into a chain check calls foreign: refused, nothing changed.
# In a network namespace of its own (ember-nat's rules).
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not found"

# anomaly APPLET TITLE SQL WANT: SQL makes it, check reports exactly WANT
# (exit 1), then the SQL in UNDO (a global) takes it away and check is clean
anomaly() {
	local applet=$1 title=$2 sql=$3 want=$4
	sqlite3 "$EMBER_STATE_DIR/state.db" "$sql"
	check "$applet check: $title" 1 "$want" "$applet" check
	like "  counted on stderr" "$T_ERR" "$applet: * found"
	sqlite3 "$EMBER_STATE_DIR/state.db" "$UNDO"
	check "  clean again" 0 "" "$applet" check
}

## ember-ipalloc
ember-init init -q --ip-subnet 10.123.0.0/16
ember-ipalloc -q alloc vm1 && ember-ipalloc -q alloc vm2
S=10.123.0.0/16
UNDO="DELETE FROM ipalloc_leases WHERE owner = 'x1'; DELETE FROM ipalloc_subnets WHERE subnet <> '$S'"
anomaly ember-ipalloc "an address inside another owner's block" \
	"INSERT INTO ipalloc_leases VALUES ('10.123.0.0/24', 2, 'x1', 'single', 0);
	 INSERT INTO ipalloc_subnets VALUES ('10.123.0.0/24', 'single', 175833088, 175833343)" \
	"x1 overlap 10.123.0.2 of 'x1' (subnet 10.123.0.0/24, single) overlaps 10.123.0.0/30 of 'vm1' (subnet $S, p2p)"
anomaly ember-ipalloc "two owners on one block" \
	"INSERT INTO ipalloc_leases VALUES ('10.123.0.0/24', 0, 'x1', 'p2p', 0);
	 INSERT INTO ipalloc_subnets VALUES ('10.123.0.0/24', 'p2p', 175833088, 175833343)" \
	"x1 overlap 10.123.0.0/30 of 'x1' (subnet 10.123.0.0/24, p2p) overlaps 10.123.0.0/30 of 'vm1' (subnet $S, p2p)"
UNDO="DELETE FROM ipalloc_leases WHERE owner IN ('s1', 's2'); DELETE FROM ipalloc_subnets WHERE subnet <> '$S'"
anomaly ember-ipalloc "one address held twice" \
	"INSERT INTO ipalloc_leases VALUES ('10.8.0.0/24', 2, 's1', 'single', 0);
	 INSERT INTO ipalloc_leases VALUES ('10.8.0.0/23', 2, 's2', 'single', 0);
	 INSERT INTO ipalloc_subnets VALUES ('10.8.0.0/24', 'single', 168296448, 168296703);
	 INSERT INTO ipalloc_subnets VALUES ('10.8.0.0/23', 'single', 168296448, 168296959)" \
	"s2 shared 10.8.0.2 is held by 's1' and 's2'"
UNDO="DELETE FROM ipalloc_leases WHERE owner = 'out'; DELETE FROM ipalloc_subnets WHERE subnet <> '$S'"
anomaly ember-ipalloc "a slot outside its subnet" \
	"INSERT INTO ipalloc_leases VALUES ('10.9.0.0/30', 1, 'out', 'p2p', 0);
	 INSERT INTO ipalloc_subnets VALUES ('10.9.0.0/30', 'p2p', 168361984, 168361987)" \
	"out outside slot 1 is outside subnet 10.9.0.0/30 (p2p slots 0-0)"
UNDO="DELETE FROM ipalloc_leases WHERE owner = 'bad'; DELETE FROM ipalloc_subnets WHERE subnet <> '$S'"
anomaly ember-ipalloc "a record no ember could write" \
	"INSERT INTO ipalloc_leases VALUES ('10.9.0.0/24', 0, 'bad', 'p2p', 0);
	 INSERT INTO ipalloc_subnets VALUES ('10.9.0.0/24', 'p2p', 168361984, 168362239);
	 UPDATE ipalloc_leases SET subnet = '10.9.0.1/24' WHERE owner = 'bad';
	 UPDATE ipalloc_subnets SET subnet = '10.9.0.1/24' WHERE subnet = '10.9.0.0/24'" \
	"bad corrupt '10.9.0.1/24' is not a subnet p2p mode can allocate from"
UNDO="DELETE FROM ipalloc_leases WHERE owner = 'norec'"
anomaly ember-ipalloc "a subnet with allocations but no record" \
	"INSERT INTO ipalloc_leases VALUES ('10.60.0.0/24', 0, 'norec', 'p2p', 0)" \
	"- unrecorded subnet 10.60.0.0/24 has p2p allocations but no subnet record"
UNDO="DELETE FROM ipalloc_free WHERE slot = 1 AND subnet = '$S'"
anomaly ember-ipalloc "a held slot listed free" \
	"INSERT INTO ipalloc_free VALUES ('$S', 1)" \
	"vm2 free-held slot 1 of $S is held and also listed as free"
UNDO="DELETE FROM ipalloc_leases WHERE owner = 'far'"
anomaly ember-ipalloc "slots neither held nor free" \
	"INSERT INTO ipalloc_leases VALUES ('$S', 5, 'far', 'p2p', 0)" \
	"- lost 3 slots of $S below its highest are neither held nor free"
UNDO="DELETE FROM ipalloc_free WHERE slot = 99999"
anomaly ember-ipalloc "a free slot outside the subnet" \
	"INSERT INTO ipalloc_free VALUES ('$S', 99999)" \
	"- free-outside 1 free slot of $S is outside it (0-16383)"

## ember-cidalloc
ember-cidalloc -q alloc c1 && ember-cidalloc -q alloc c2
UNDO="DELETE FROM cidalloc_leases WHERE owner = 'odd'"
anomaly ember-cidalloc "a CID in an unknown range, held twice" \
	"INSERT INTO cidalloc_leases VALUES ('other', 3, 'odd', 0)" \
	"odd corrupt CID 3 is recorded in unknown range 'other'
odd shared CID 3 is held by 'c1' and 'odd'"
UNDO="DELETE FROM cidalloc_leases WHERE owner IN ('low', 'top')"
anomaly ember-cidalloc "a reserved CID" \
	"INSERT INTO cidalloc_leases VALUES ('vsock', 2, 'low', 0)" \
	"low outside CID 2 is outside 3-4294967294"
anomaly ember-cidalloc "VMADDR_CID_ANY" \
	"INSERT INTO cidalloc_leases VALUES ('vsock', 4294967295, 'top', 0)" \
	"top outside CID 4294967295 is outside 3-4294967294"
UNDO="DELETE FROM cidalloc_free WHERE slot IN (1, 4)"
anomaly ember-cidalloc "a held CID listed free" \
	"INSERT INTO cidalloc_free VALUES ('vsock', 4)" \
	"c2 free-held slot 4 of vsock is held and also listed as free"
anomaly ember-cidalloc "a free CID outside the range" \
	"INSERT INTO cidalloc_free VALUES ('vsock', 1)" \
	"- free-outside 1 free slot of vsock is outside it (3-4294967294)"
UNDO="DELETE FROM cidalloc_leases WHERE owner = 'far'"
anomaly ember-cidalloc "CIDs neither held nor free" \
	"INSERT INTO cidalloc_leases VALUES ('vsock', 9, 'far', 0)" \
	"- lost 4 slots of vsock below its highest are neither held nor free"

## ember-nat
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
B=${NAT_BACKEND:-}
if [ -z "$B" ]; then
	case $(iptables --version 2>/dev/null) in
	*nf_tables*) B=nft ;;
	*legacy*) B=legacy ;;
	*) skip_all "iptables not found" ;;
	esac
fi
export EMBER_IPTABLES=$B EMBER_RUN_DIR=$T_TMP/run
ipt() { "iptables-$B" -w "$@"; }
save() { "iptables-$B-save" | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'; }
ip link add up0 type veth peer name up0p
ip link set up0 up && ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0
ip tuntap add dev tapa mode tap && ip tuntap add dev tapb mode tap
new_state
A=c4c4
ember-init init -q --instance-id $A
C="-m comment --comment"
J="$C \"ember:$A\""
b=$(printf '%02x' $(($(fnv1a32 vm1) % 32)))
for n in $(seq 1 300); do [ "$(printf '%02x' $(($(fnv1a32 "g$n") % 32)))" = "$b" ] && break; done
g=g$n # an owner in vm1's bucket
up() { ember-nat -q up vm1 --guest-ip 10.9.0.2 --tap tapa; }
# fresh: the installation's rules as up makes them, nothing else
fresh() { ember-nat -q flush && up; }
up
check "nat check of what up made: clean" 0 "" ember-nat check

ipt -D INPUT $C "ember:$A" -j ember-$A-input && ipt -F ember-$A-input && ipt -X ember-$A-input
check "nat check: a shared chain gone (missing-chain, and the jumps to and from it)" 1 "- missing-chain -t filter -N ember-$A-input
- missing-jump -t filter -A INPUT $J -j ember-$A-input
- missing-jump -t filter -A ember-$A-input $J -j ember-$A-input-$b" ember-nat check
fresh
ipt -t nat -D ember-$A-postrouting $C "ember:$A" -j ember-$A-postrouting-$b
ipt -t nat -F ember-$A-postrouting-$b && ipt -t nat -X ember-$A-postrouting-$b
check "nat check: a bucket chain gone (missing-chain, its jump, the rule in it)" 1 "- missing-chain -t nat -N ember-$A-postrouting-$b
- missing-jump -t nat -A ember-$A-postrouting $J -j ember-$A-postrouting-$b
vm1 missing-rule -t nat -A ember-$A-postrouting-$b -s 10.9.0.2/32 -o up0 $C \"ember:$A:vm1\" -j MASQUERADE" ember-nat check
check "  up repairs it" 0 "vm1 10.9.0.2 tapa up0 - up" ember-nat up vm1 --guest-ip 10.9.0.2 --tap tapa
check "  clean again" 0 "" ember-nat check
ipt -D ember-$A-forward $C "ember:$A" -j ember-$A-forward-$b
check "nat check: the jump to a bucket gone (missing-jump)" 1 "- missing-jump -t filter -A ember-$A-forward $J -j ember-$A-forward-$b" ember-nat check
fresh
ipt -A INPUT $C "ember:$A" -j ember-$A-input
check "nat check: a jump from a base chain twice (extra-jump)" 1 "- extra-jump -t filter -A INPUT $J -j ember-$A-input" ember-nat check
fresh
ipt -A ember-$A-forward $C "ember:$A" -j ember-$A-forward-$b
check "nat check: the jump to a bucket twice (extra-jump)" 1 "- extra-jump -t filter -A ember-$A-forward $J -j ember-$A-forward-$b" ember-nat check
fresh
ipt -D ember-$A-input-$b -i tapa $C "ember:$A:vm1" -j DROP
check "nat check: a rule gone (missing-rule)" 1 "vm1 missing-rule -t filter -A ember-$A-input-$b -i tapa $C \"ember:$A:vm1\" -j DROP" ember-nat check
fresh
ipt -A ember-$A-input-$b -i tapb $C "ember:$A:ghost" -j DROP
check "nat check: a rule of ours no record describes (extra-rule)" 1 "ghost extra-rule -t filter -A ember-$A-input-$b -i tapb $C \"ember:$A:ghost\" -j DROP" ember-nat check
fresh
ipt -D ember-$A-forward-$b -s 10.9.0.2/32 -i tapa -o up0 $C "ember:$A:vm1" -j ACCEPT
ipt -A ember-$A-forward-$b -s 10.9.0.2/32 -i tapa -o up0 $C "ember:$A:vm1" -j ACCEPT
check "nat check: an ACCEPT moved after its TAP's DROP (misordered)" 1 "vm1 misordered its rules are not in the order they were written" ember-nat check
fresh
check "  clean after a fresh up" 0 "" ember-nat check

## foreign rules in our chains: check says foreign-chain, up is refused
for chain in ember-$A-forward-$b ember-$A-forward; do
	ipt -I "$chain" -s 203.0.113.0/24 -j ACCEPT
	before=$(save)
	check "nat check: a foreign rule in $chain (foreign-chain)" 1 "- foreign-chain -t filter $chain: it holds a rule that is not this installation's: -A $chain -s 203.0.113.0/24 -j ACCEPT" ember-nat check
	check "  up again of vm1, whose rules are in it: 102" 102 "" ember-nat up vm1 --guest-ip 10.9.0.2 --tap tapa
	like "  saying whose it is not" "$T_ERR" "ember-nat: chain '$chain' (table filter) exists but is not this installation's: it holds a rule that is not this installation's: -A $chain -s 203.0.113.0/24 -j ACCEPT*hint:*"
	check "  up of a new owner in that bucket: 102" 102 "" ember-nat up "$g" --guest-ip 10.9.0.6 --tap tapb
	is "  nothing changed in the kernel" "$(save)" "$before"
	check "  nothing recorded" 0 "vm1 10.9.0.2 tapa up0 - up" ember-nat list
	check "  flush refuses it too" 102 "" ember-nat flush
	ipt -D "$chain" -s 203.0.113.0/24 -j ACCEPT
	check "  once it is gone, up works again" 0 "$g 10.9.0.6 tapb up0 - up" ember-nat up "$g" --guest-ip 10.9.0.6 --tap tapb
	ember-nat -q down "$g"
done
ipt -t nat -A ember-$A-postrouting-$b -s 203.0.113.0/24 -j MASQUERADE
check "a foreign rule in a nat table chain: up refused" 102 "" ember-nat up vm1 --guest-ip 10.9.0.2 --tap tapa
ipt -t nat -D ember-$A-postrouting-$b -s 203.0.113.0/24 -j MASQUERADE
check "and up works when it is gone" 0 "vm1 10.9.0.2 tapa up0 - up" ember-nat up vm1 --guest-ip 10.9.0.2 --tap tapa
check "clean at the end" 0 "" ember-nat check

done_testing
