#!/usr/bin/env bash
# up-image: ember-up and ember-down for real inside the kernel harness: a
# file-backed thin pool and an imported image, then `ember-up web --image
# base`: a real thin snapshot as the root drive, a real TAP, real iptables
# rules (the backend iptables is), the stand-in as Firecracker with its
# hybrid vsock bridged to AF_VSOCK CID 1, and ember-agent as the stand-in's
# guest, serving on real AF_VSOCK port 1024. ember-vm exec reaches it;
# ember-down --delete returns the pool's thin ids, the database and every
# applet's listing to what they were before, with no TAP, rule, process or
# socket left.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/vm-helpers"
. "$T_TOP/tests/kernel/pool-helpers"
need_module tun veth
need_tools ip ss iptables iptables-save iptables-restore flock pgrep sqlite3 thin_ls dmsetup cmp nsenter
case $(ip -V 2>&1) in *iproute2*) ;; *) skip_all "ip is not iproute2's (ember-tap needs ip -batch)" ;; esac
iptables-save >/dev/null 2>&1 || skip_all "iptables-save fails in this kernel: $(iptables-save 2>&1 | tail -1)"
need_netns "$@"
. "$T_TOP/tests/cli/up-helpers"
need_vm
need_standin

# the uplink leads to a peer namespace ("the internet") whose server answers
# with the address it sees (up-helpers' serve)
netns PEER
in_peer() { nsenter -t "$PEER" -n "$@"; }
ip link del up0
ip link add up0 type veth peer name eth0 netns "$PEER"
ip addr add 198.51.100.1/24 dev up0 && ip link set up0 up && ip route add default via 198.51.100.2
in_peer ip link set lo up && in_peer ip addr add 198.51.100.2/24 dev eth0 && in_peer ip link set eth0 up
serve "$PEER" 9000

echo "# iptables: $(iptables --version)"
new_install --instance-id c0de
P=ember-c0de-pool
ember-pool -q create --size 64M || { echo "Bail out! ember-pool create failed"; exit 1; }
random_file "$T_TMP/base.img" 3000000
check "ember-pool import base" 0 "ember-c0de-img-base 0 3000320 ready - base no -" \
	ember-pool import base "$T_TMP/base.img"
at_exit "'$DOWN' web --delete --force"

# the database's rows, sorted, but three kinds that move on by design: the
# tables (an applet makes its own on first use, with its schema_version row),
# ember-nat's buckets (their chains stay until flush) and the pool's row
# (its transaction id follows the kernel's; thin ids are never reused)
rows() { db .dump | grep '^INSERT INTO' | grep -vE '^INSERT INTO (schema_version|nat_buckets|pool) VALUES' | sort; }
# the pool's row but its two counters; the kernel's transaction id and ember's
pool_row() { db "SELECT id, state, size, metadata_size, block_size, data_dev, created FROM pool"; }
tids() { echo "$(ember-pool status | awk '{print $3}') $(dmsetup status $P | awk '{print $4}')"; }
ids_before=$(pool_ids $P)
rows_before=$(rows)
world_before=$(world)
row_before=$(pool_row)
is "the pool holds the image's thin id" "$ids_before" "0 "

## ember-up web --image base
export EMBER_STANDIN_GUEST='exec ember-agent serve'
check "ember-up web --image base --kernel FILE --wait 60" 0 "*" "$UP" web --image base --kernel "$KERNEL" --wait 60
up_out=$T_OUT
read -r _ G H PREFIX _ < <(ember-ipalloc show web)
read -r _ TAP _ < <(ember-tap show web)
DEV=/dev/mapper/ember-c0de-vm-web
like "it prints the VM: running, the thin volume as its root drive" "$up_out" "name web
state running
alive yes
*
guest_ip $G
cid 3
rootfs $DEV
*"
check "the volume is a thin snapshot of the image in the pool" 0 "*" dmsetup table ember-c0de-vm-web
like "  a thin target in the pool" "$T_OUT" "0 * thin [0-9]*:[0-9]* 1"
is "  the database and the pool agree on the thin ids" "$(db_ids)" "$(pool_ids $P)"
is "  two thin ids now" "$(pool_ids $P)" "0 1 "
FC=$(ember-vm show web | awk '$1 == "pid" {print $2}')
ok "Firecracker (the stand-in) holds the volume open" \
	test -n "$(for f in /proc/"$FC"/fd/*; do [ "$(readlink "$f")" = "$(readlink -f "$DEV")" ] && echo "$f"; done)"

## the agent on AF_VSOCK, through the stand-in's bridge
check "ember-vm exec web -- cat /proc/cmdline" 0 "$(cat /proc/cmdline)" ember-vm exec web -- cat /proc/cmdline
like "  (this kernel's, booted by QEMU)" "$T_OUT" "*console=ttyS0*"
check "ember-vm ping web" 0 "*" ember-vm ping web
like "  the agent answers" "$T_OUT" "web * 1 [0-9]*"
check "the guest's root drive holds the image's bytes" 0 "" \
	ember-vm exec web -- sh -c "head -c 3000000 $DEV | cmp - $T_TMP/base.img"
check "the guest's eth0 has ember-ipalloc's address" 0 "$G/$PREFIX" \
	ember-vm exec web -- sh -c "ip -4 -o addr show eth0 | awk '{print \$4}'"
check "  and its default route goes to the TAP's side" 0 "$H" \
	ember-vm exec web -- sh -c "ip route show | awk '\$1 == \"default\" {print \$3}'"
is "the TAP ember-tap made is up" "$(ip -br link show dev "$TAP" | awk '{print $2}')" UP
ok "the host reaches the guest through it (frames through the real TAP)" ping -c 1 -W 10 "$G"
check "ember-nat check: the kernel has the rules" 0 "" ember-nat check
check "the guest reaches the peer through NAT; the peer sees the uplink's address (MASQUERADE)" 0 \
	"198.51.100.1" ember-vm exec web -- timeout 5 bash -c 'exec 3<>/dev/tcp/198.51.100.2/9000 && cat <&3'
check "the MASQUERADE rule is in the kernel's nat table" 0 "*" iptables-save -t nat
like "  for the guest, out of the uplink, tagged web's" "$T_OUT" \
	"*-A ember-c0de-post* -s $G/32 -o up0 -m comment --comment *ember:c0de:web* -j MASQUERADE*"

## ember-down web --delete
check "ember-down web --delete" 0 "*" "$DOWN" web --delete
like "  prints the VM as stop left it" "$T_OUT" "web stopped no *"
is "the pool's thin ids are what they were" "$(pool_ids $P)" "$ids_before"
is "  and the database's" "$(db_ids)" "$ids_before"
ok "no volume device left" test ! -e "$DEV"
is "every row of the database is back (the tables made on first use stay, empty)" "$(rows)" "$rows_before"
is "  the pool's row but its counters" "$(pool_row)" "$row_before"
read -r tid ktid < <(tids)
is "  its transaction id is the kernel's" "$tid" "$ktid"
is "every applet's listing, link, address, rule and state file is back" "$(world)" "$world_before"
ok "no TAP left" test ! -e "/sys/class/net/$TAP"
is "no rule of web's" "$(iptables-save | grep -c 'ember:c0de:web')" 0
ok "no Firecracker process left" no_process web
is "no agent left (it was the guest's)" "$(pgrep -f 'ember-agent serve' | grep -c .)" 0
ok "no socket, handle or directory of web left" test ! -e "$EMBER_STATE_DIR/vms/web"

## once more, on an installation whose tables exist: the database byte for
## byte, but the pool's counters
dump() { db .dump | grep -v '^INSERT INTO pool VALUES'; }
dump_before=$(dump)
check "ember-up web again" 0 "*" "$UP" web --image base --kernel "$KERNEL" --wait 60 -q
check "  exec" 0 "$(cat /proc/cmdline)" ember-vm exec web -- cat /proc/cmdline
check "  ember-down web --delete" 0 "*" "$DOWN" web --delete -q
is "  the database's dump is what it was" "$(dump)" "$dump_before"
is "  the pool's row" "$(pool_row)" "$row_before"
is "  the pool's thin ids" "$(pool_ids $P)" "$ids_before"
is "  and everything else" "$(world)" "$world_before"
done_testing
