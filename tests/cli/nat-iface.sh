#!/usr/bin/env bash
# ember-nat takes only a TAP as --tap and an uplink that is neither that TAP
# nor the loopback: "-i T -j DROP" on any other link cuts the host off from
# it. Proven with real traffic: a peer beyond the uplink keeps reaching a
# listener of the host's across every refused up. In a network namespace of
# its own (and the peer's).
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
command -v nsenter >/dev/null || skip_all "nsenter (util-linux) not found"
command -v busybox >/dev/null || skip_all "busybox (for nc) not found: apt-get install busybox"
case $(iptables --version 2>/dev/null) in
*nf_tables*) B=nft ;;
*legacy*) B=legacy ;;
*) skip_all "iptables not found" ;;
esac
export EMBER_IPTABLES=$B EMBER_RUN_DIR=$T_TMP/run
save() { "iptables-$B-save" | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'; }

# the peer: a namespace of its own (tests/lib.sh)
netns P
in_peer() { nsenter -t "$P" -n "$@"; }
ip link add up0 type veth peer name eth0 netns "$P"
ip addr add 198.51.100.1/24 dev up0 && ip link set up0 up
ip route add default via 198.51.100.2
in_peer ip link set lo up
in_peer ip addr add 198.51.100.2/24 dev eth0
in_peer ip link set eth0 up
ip tuntap add dev tapa mode tap
ip tuntap add dev tuna mode tun
ip link add vtap type veth peer name vtapp
# a listener of the host's, answering "hello" to each connection
printf '#!/bin/sh\necho hello\n' >"$T_TMP/hello" && chmod +x "$T_TMP/hello"
busybox nc -ll -p 9001 -e "$T_TMP/hello" </dev/null >/dev/null 2>&1 &
at_exit "kill $!"
# reach: what the host's listener answers the peer; nothing when no
# connection opens within 3 seconds (a new connection is what a DROP stops)
reach() { in_peer timeout 3 bash -c 'exec 3<>/dev/tcp/198.51.100.1/9001 && cat <&3'; }
for _ in $(seq 1 100); do [ "$(reach 2>/dev/null)" = hello ] && break; sleep 0.05; done

ember-init init -q --instance-id 1f1f
check "the peer reaches the host" 0 "hello" reach
before=$(save)

## EMBER_IPTABLES names a backend, or is unset
for v in nfx NFT iptables "nft " ""; do
	check "EMBER_IPTABLES='$v': up refused, 100" 100 "" env EMBER_IPTABLES="$v" ember-nat up vm1 --guest-ip 10.1.0.2 --tap tapa
	like "  saying so" "$T_ERR" "ember-nat: invalid EMBER_IPTABLES '$v': nft or legacy*hint: unset it*"
done
for verb in list check flush "down vm1" "show vm1"; do
	# shellcheck disable=SC2086
	check "EMBER_IPTABLES=bogus: $verb refused, 100" 100 "" env EMBER_IPTABLES=bogus ember-nat $verb
done
is "  nothing recorded, not even the table" "$(sqlite3 "$EMBER_STATE_DIR/state.db" "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'nat%'")" 0

## interfaces that are not what they are named as
while IFS='|' read -r title args want; do
	# shellcheck disable=SC2086
	check "up $title: 100" 100 "" ember-nat up vm1 --guest-ip 10.1.0.2 $args
	like "  saying so" "$T_ERR" "ember-nat: $want*"
	check "  and the peer still reaches the host" 0 "hello" reach
done <<'EOF'
with the uplink as --tap|--tap up0|'up0' is not a TAP: it is a link of another kind
with the uplink as --tap, naming it as uplink too|--tap up0 --uplink up0|'up0' is not a TAP
with the loopback as --tap|--tap lo|'lo' is not a TAP: it is the loopback interface
with a TUN device as --tap|--tap tuna|'tuna' is not a TAP: it is a TUN device (no Ethernet frames)
with a veth as --tap|--tap vtap|'vtap' is not a TAP: it is a link of another kind
with the TAP as uplink|--tap tapa --uplink tapa|uplink 'tapa' is the guest's TAP
with the loopback as uplink|--tap tapa --uplink lo|uplink 'lo' is the loopback interface
EOF
ip route del default
ip route add default dev lo
check "up whose default route is the loopback's: 100" 100 "" ember-nat up vm1 --guest-ip 10.1.0.2 --tap tapa
like "  saying so" "$T_ERR" "ember-nat: uplink 'lo' is the loopback interface*hint: name the interface toward the outside with --uplink IF"
ip route del default
ip route add default via 198.51.100.2
is "no rule was written" "$(save)" "$before"
is "IPv4 forwarding is still off" "$(cat /proc/sys/net/ipv4/ip_forward)" 0
check "nothing recorded" 0 "" ember-nat list
check "with a TAP and the uplink it works" 0 "vm1 10.1.0.2 tapa up0 - up" ember-nat up vm1 --guest-ip 10.1.0.2 --tap tapa
check "  and the peer still reaches the host" 0 "hello" reach
check "a recorded owner is checked too: up again naming the uplink as --tap" 100 "" ember-nat up vm1 --guest-ip 10.1.0.2 --tap up0
check "  the peer still reaches the host" 0 "hello" reach

done_testing
