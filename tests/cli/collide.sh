#!/usr/bin/env bash
# Addresses that collide with the host's own are never handed out or assigned:
# the rule ember-init applies to the installation's subnet holds for
# ember-ipalloc alloc (its block, or its single address) and ember-tap create
# (the TAP's address): refused 102, naming the link that has it, nothing
# changed. In a network namespace of its own, whose links the test sets.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"

ip link add up0 type veth peer name up0p
ip link set up0 up && ip link set up0p up
ip addr add 192.0.2.1/24 dev up0
ip route add default via 192.0.2.254 dev up0
ip route add 198.51.100.0/26 via 192.0.2.254 dev up0
ip link add br0 type veth peer name br0p
ip addr add 172.20.0.1/24 dev br0
ip addr add 172.20.0.2/32 dev br0
ip link set br0 up
ember-init init -q --instance-id c011 --ip-subnet 10.44.0.0/16
leases() { sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT owner, subnet, slot FROM ipalloc_leases ORDER BY owner" 2>/dev/null; }
links() { ip -br -4 addr | sort; }

## ember-ipalloc alloc: p2p blocks touching a host network or route
before=$(leases)
while IFS='|' read -r title args want; do
	# shellcheck disable=SC2086
	check "alloc --subnet $title: 102" 102 "" ember-ipalloc alloc vm1 $args
	like "  naming the link" "$T_ERR" "ember-ipalloc: $want on this host*hint: choose a subnet that no address or route of this host uses"
done <<'EOF'
the uplink's /24|--subnet 192.0.2.0/24|subnet '192.0.2.0/24' overlaps address 192.0.2.1/24 on up0
a /28 inside the uplink's network|--subnet 192.0.2.16/28|subnet '192.0.2.16/28' overlaps address 192.0.2.1/24 on up0
a /16 around it|--subnet 192.0.0.0/16|subnet '192.0.0.0/16' overlaps address 192.0.2.1/24 on up0
a /30 holding the uplink's address|--subnet 192.0.2.0/30|subnet '192.0.2.0/30' overlaps address 192.0.2.1/24 on up0
a routed network|--subnet 198.51.100.0/24|subnet '198.51.100.0/24' overlaps route 198.51.100.0/26 dev up0
another link's network|--subnet 172.20.0.0/24|subnet '172.20.0.0/24' overlaps address 172.20.0.1/24 on br0
EOF
is "nothing was allocated" "$(leases)" "$before"
check "list shows nothing" 0 "" ember-ipalloc list
check "a subnet past the route is free" 0 "vm1 198.51.100.66 198.51.100.65 30 255.255.255.252 198.51.100.64/26 p2p" ember-ipalloc alloc vm1 --subnet 198.51.100.64/26
check "the installation's own subnet is free" 0 "vm2 10.44.0.2 10.44.0.1 30 255.255.255.252 10.44.0.0/16 p2p" ember-ipalloc alloc vm2
# a host link that takes an address of the installation's subnet after init
ip addr add 10.44.0.6/24 dev br0
check "an address put on a link after init: the next block is refused" 102 "" ember-ipalloc alloc vm3
like "  naming it" "$T_ERR" "ember-ipalloc: block '10.44.0.4/30' overlaps address 10.44.0.6/24 on br0 on this host*"
check "  what vm2 holds is still printed" 0 "vm2 10.44.0.2 10.44.0.1 30 255.255.255.252 10.44.0.0/16 p2p" ember-ipalloc alloc vm2
ip addr del 10.44.0.6/24 dev br0
check "  and once it is gone the block is handed out" 0 "vm3 10.44.0.6 10.44.0.5 30 255.255.255.252 10.44.0.0/16 p2p" ember-ipalloc alloc vm3

## single mode: a shared subnet whose gateway is the host's; an address a link has is refused
check "single mode on a bridge's subnet: the gateway may be the host's" 0 "s1 172.20.0.3 172.20.0.1 24 255.255.255.0 172.20.0.0/24 single" \
	ember-ipalloc alloc s1 --mode single --subnet 172.20.0.0/24 --reserve 172.20.0.2
before=$(leases)
ip addr add 172.21.0.2/32 dev br0
check "an address a link has is never handed out: 102" 102 "" ember-ipalloc alloc s2 --mode single --subnet 172.21.0.0/30
like "  naming it" "$T_ERR" "ember-ipalloc: address '172.21.0.2' overlaps address 172.21.0.2/32 on br0 on this host*hint: the host has that address already: --reserve it*"
is "  nothing allocated" "$(leases)" "$before"
check "a loopback pool is not the loopback's address" 0 "p1 127.0.0.18 127.0.0.17 28 255.255.255.240 127.0.0.16/28 single" ember-ipalloc alloc p1 --mode single --subnet 127.0.0.16/28
check "an address of the pool on lo (put there for p1)" 0 "*" ip addr add 127.0.0.18/32 dev lo
check "  is no collision for p1, which holds it" 0 "p1 127.0.0.18 127.0.0.17 28 255.255.255.240 127.0.0.16/28 single" ember-ipalloc alloc p1 --mode single --subnet 127.0.0.16/28
ip addr add 127.0.0.19/32 dev lo
check "but one put on lo by hand is taken: 102" 102 "" ember-ipalloc alloc p2 --mode single --subnet 127.0.0.16/28
like "  naming it" "$T_ERR" "*address '127.0.0.19' overlaps address 127.0.0.19/32 on lo*"

## ember-tap create: an address whose network another link has
before=$(links)
while IFS='|' read -r title addr want; do
	check "tap create --address $title: 102" 102 "" ember-tap create t1 --address "$addr"
	like "  naming the link" "$T_ERR" "ember-tap: address '$addr' overlaps $want on this host*hint: choose an address*"
done <<'EOF'
the uplink's own|192.0.2.1/24|address 192.0.2.1/24 on up0
in the uplink's network|192.0.2.9/30|address 192.0.2.1/24 on up0
a /32 of it|192.0.2.77/32|address 192.0.2.1/24 on up0
a network around it|192.0.0.1/16|address 192.0.2.1/24 on up0
in a routed network|198.51.100.1/30|route 198.51.100.0/26 dev up0
another link's /32|172.20.0.2/32|address 172.20.0.1/24 on br0
EOF
is "no link was made or changed" "$(links)" "$before"
check "no TAP recorded" 0 "" ember-tap list
check "a free address is taken" 0 "*" ember-tap create t1 --address 10.44.0.1/30
check "  and create again of the same TAP is no collision with itself" 0 "*" ember-tap create t1 --address 10.44.0.1/30
check "  nor is another owner's next block" 0 "*" ember-tap create t2 --address 10.44.0.5/30
check "but a third owner on t1's block: 102, naming t1's link" 102 "" ember-tap create t3 --address 10.44.0.2/30
like "  naming it" "$T_ERR" "ember-tap: address '10.44.0.2/30' overlaps address 10.44.0.1/30 on emc011-*"

done_testing
