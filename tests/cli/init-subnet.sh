#!/usr/bin/env bash
# ember-init keeps the installation's subnet off the host's addresses and routes.
# Runs in its own network namespace, where the test controls both.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"

dir=$(realpath -m "$EMBER_STATE_DIR")
id=$(derived_id "$dir")
s=$(derived_octet "$id")
next=$(((s + 1) & 0xff))
ip link add ember-t0 type veth peer name ember-t1
ip addr add "10.$s.7.1/24" dev ember-t0
ip link set ember-t0 up

check "a derived subnet that overlaps a host address moves to the next" 0 "*" ember-init init
like "to 10.$next.0.0/16" "$T_OUT" "*subnet 10.$next.0.0/16*"
like "and says so" "$T_ERR" "ember-init: warning: derived subnet 10.$s.0.0/16 overlaps address 10.$s.7.1/24 on ember-t0; using the next free one"
a=$s # the octet of the host address
check "init again keeps the moved subnet" 0 "*" ember-init init
like "quietly" "$T_ERR" ""

new_state
dir=$(realpath -m "$EMBER_STATE_DIR")
id=$(derived_id "$dir")
s=$(derived_octet "$id")
ip route add "10.$s.128.0/17" dev ember-t0
ip route add "10.$(((s + 1) & 0xff)).0.0/16" dev ember-t0
check "a route counts too, and a taken next slot is skipped" 0 "*" ember-init init
like "to the slot after" "$T_OUT" "*subnet 10.$(((s + 2) & 0xff)).0.0/16*"
like "naming the route" "$T_ERR" "*overlaps route 10.$s.128.0/17 dev ember-t0*"

new_state
check "an explicit subnet that overlaps is refused" 100 "" ember-init init --ip-subnet 10.$s.0.0/16
like "with a hint" "$T_ERR" "ember-init: subnet '10.$s.0.0/16' overlaps route 10.$s.128.0/17 dev ember-t0 on this host*hint: choose a subnet*"
check "so is one inside a host address's network" 100 "" ember-init init --ip-subnet 10.$a.7.0/28
ok "and nothing was created" test ! -e "$EMBER_STATE_DIR"
check "a free explicit subnet is taken" 0 "*" ember-init init --ip-subnet 192.168.77.0/24
like "as given" "$T_OUT" "*subnet 192.168.77.0/24*"
ip route add default dev ember-t0
new_state
check "the default route is not a conflict" 0 "*" ember-init init --ip-subnet 172.20.0.0/16

done_testing
