#!/usr/bin/env bash
# ember-nat for real: a guest, this (host) namespace and an "internet" peer.
# The host reaches the peer through a veth; the guest through a real TAP,
# emtap1, held open by tests/tap-pump, which stands in for the VMM and
# copies each frame between the TAP and a veth in the guest's namespace (a
# TAP carries nothing without a VMM, and ember-nat refuses a --tap that is
# no TAP). The peer answers each TCP connection with the source address it
# saw, so MASQUERADE is proven by what the guest reads back.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
command -v nsenter >/dev/null || skip_all "nsenter (util-linux) not found"
command -v busybox >/dev/null || skip_all "busybox (for nc) not found: apt-get install busybox"
command -v ss >/dev/null || skip_all "ss (iproute2) not found"
command -v python3 >/dev/null || skip_all "python3 (for tests/tap-pump) not found"
export EMBER_RUN_DIR=$T_TMP/run

# two more network namespaces (tests/lib.sh)
netns G
netns P
in_guest() { nsenter -t "$G" -n "$@"; }
in_peer() { nsenter -t "$P" -n "$@"; }

# host <-> peer: the uplink, with the default route through the peer, which
# has no route back to the guests: only MASQUERADE gets answers home
ip link add up0 type veth peer name eth0 netns "$P"
ip addr add 198.51.100.1/24 dev up0 && ip link set up0 up
ip route add default via 198.51.100.2
in_peer ip link set lo up
in_peer ip addr add 198.51.100.2/24 dev eth0
in_peer ip addr add 203.0.113.5/24 dev eth0
in_peer ip link set eth0 up
# host <-> guest: the TAP emtap1, pumped to wire0 <-> eth0 in the guest
ip tuntap add dev emtap1 mode tap
ip addr add 10.0.7.1/30 dev emtap1 && ip link set emtap1 up
in_guest ip link set lo up
in_guest ip link add eth0 type veth peer name wire0
in_guest ip link set wire0 up
in_guest ip addr add 10.0.7.2/30 dev eth0
in_guest ip link set eth0 up
in_guest ip route add default via 10.0.7.1
mkfifo "$T_TMP/pump"
"$T_TOP/tests/tap-pump" emtap1 "$G" wire0 eth0 >"$T_TMP/pump" &
at_exit "kill $!"
read -r -t 10 ready <"$T_TMP/pump" && [ "$ready" = ready ] || echo "Bail out! tests/tap-pump did not start"
echo 0 >/proc/sys/net/ipv4/ip_forward

# a server that answers each connection with its client's address
cat >"$T_TMP/whoami" <<'EOF'
#!/bin/sh
# the peer's address, without its port and any IPv4-mapped IPv6 dress
ss -tnH state established "( sport = :$PORT )" | awk '{print $4}' | sed -e 's/:[0-9]*$//' -e 's/^\[::ffff://' -e 's/\]$//' | head -1
EOF
chmod +x "$T_TMP/whoami"
serve() { # serve PID|- PORT: a server in PID's network namespace (-: this one)
	local ns=() port=$2
	[ "$1" = - ] || ns=(nsenter -t "$1" -n)
	# nsenter executes busybox in place, so $! is the server itself
	PORT=$port "${ns[@]}" busybox nc -ll -p "$port" -e "$T_TMP/whoami" </dev/null >/dev/null 2>&1 &
	at_exit "kill $!"
}
serve "$P" 9000
serve "$P" 9003 # on both of the peer's addresses
serve - 9001
serve "$G" 9002
sleep 0.3
# connect FROM-RUNNER ADDRESS PORT: print what the server answered; fail
# when no connection opens within 3 seconds
connect() { "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3 && cat <&3"; }
on_host() { "$@"; }

ember-init init -q --instance-id c0de
check "before ember-nat: the guest cannot reach the peer" 124 "" connect in_guest 198.51.100.2 9000
check "the peer reaches the host's listener (the listener works)" 0 "198.51.100.2" connect in_peer 198.51.100.1 9001

check "up" 0 "g1 10.0.7.2 emtap1 up0 - up" ember-nat up g1 --guest-ip 10.0.7.2 --tap emtap1
check "the guest reaches the peer, which sees the host's uplink address" 0 "198.51.100.1" connect in_guest 198.51.100.2 9000
check "anywhere through the uplink without --allow" 0 "198.51.100.1" connect in_guest 203.0.113.5 9003
check "the guest cannot open a connection to the host (TAP side)" 124 "" connect in_guest 10.0.7.1 9001
check "nor to the host's uplink address" 124 "" connect in_guest 198.51.100.1 9001
check "but the host's own connections to the guest get their replies" 0 "10.0.7.1" connect on_host 10.0.7.2 9002
# the peer learns the way to the guest: only the rules keep it out
in_peer ip route add 10.0.7.0/30 via 198.51.100.1
check "the peer, routed to the guest, cannot open a connection to it" 124 "" connect in_peer 10.0.7.2 9002

ember-nat -q down g1
check "  after down (forwarding on, no rule) it can: the case above proves the rules" 0 "198.51.100.2" \
	connect in_peer 10.0.7.2 9002
in_peer ip route del 10.0.7.0/30
check "after down the guest is cut off again" 124 "" connect in_guest 198.51.100.2 9000
check "up with --allow 198.51.100.0/24" 0 "g1 10.0.7.2 emtap1 up0 198.51.100.0/24 up" ember-nat up g1 --guest-ip 10.0.7.2 --tap emtap1 --allow 198.51.100.0/24
check "reaches the allowed network" 0 "198.51.100.1" connect in_guest 198.51.100.2 9000
check "is refused everywhere else" 124 "" connect in_guest 203.0.113.5 9003
check "and still cannot reach the host" 124 "" connect in_guest 10.0.7.1 9001

# Docker: FORWARD policy DROP, FORWARD -> DOCKER-USER first, then Docker's
# own chains (which drop what is not theirs)
ember-nat -q down g1
iptables -N DOCKER-USER
iptables -A DOCKER-USER -j RETURN
iptables -N DOCKER-ISOLATION
iptables -A DOCKER-ISOLATION -j DROP
iptables -P FORWARD DROP
iptables -A FORWARD -j DOCKER-USER
iptables -A FORWARD -j DOCKER-ISOLATION
check "up under Docker's FORWARD DROP" 0 "g1 10.0.7.2 emtap1 up0 - up" ember-nat up g1 --guest-ip 10.0.7.2 --tap emtap1
# Docker re-inserts its jump at the top of FORWARD when it restarts
iptables -D FORWARD -j DOCKER-USER && iptables -I FORWARD -j DOCKER-USER
iptables -I FORWARD 2 -j DOCKER-ISOLATION
check "the guest still reaches the peer, through DOCKER-USER" 0 "198.51.100.1" connect in_guest 198.51.100.2 9000
check "and still not the host" 124 "" connect in_guest 10.0.7.1 9001
check "flush" 0 "g1 10.0.7.2 emtap1 up0 - down" ember-nat flush
check "after flush, Docker's DROP holds again" 124 "" connect in_guest 198.51.100.2 9000

done_testing
