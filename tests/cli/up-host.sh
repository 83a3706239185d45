#!/usr/bin/env bash
# ember-up and ember-down for real: the stand-in as Firecracker, a peer
# namespace as the internet, and real dnsmasq answering names from
# STATE/hosts. The guest's own view (its eth0, its connections) is taken
# through ember-vm exec: the guest runs ember-agent, reached over the VM's
# hybrid vsock as in a real guest.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/up-helpers"
for t_c in busybox nsenter ss dig dnsmasq ping; do
	command -v "$t_c" >/dev/null || skip_all "$t_c not found (scripts/install-deps)"
done
need_vm
need_standin

# the peer ("the internet"): behind up0, both its addresses answer with the
# address they saw; the peer knows the way to the guests (through the host)
# so only the host's rules keep it out
netns P
in_peer() { nsenter -t "$P" -n "$@"; }
ip link del up0
ip link add up0 type veth peer name eth0 netns "$P"
ip addr add 198.51.100.1/24 dev up0 && ip link set up0 up
ip route add default via 198.51.100.2
in_peer ip link set lo up
in_peer ip addr add 198.51.100.2/24 dev eth0
in_peer ip addr add 203.0.113.5/24 dev eth0
in_peer ip link set eth0 up
serve "$P" 9000
serve "$P" 9003
serve - 9001

ember-init init -q --instance-id c0de
ID=c0de
subnet=$(ember-init show | awk '$1 == "subnet" {print $2}')
in_peer ip route add "$subnet" via 198.51.100.1

# dnsmasq in the host namespace, reading STATE/hosts, told of changes by SIGHUP
DNS_PID=$T_TMP/dnsmasq.pid
dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --listen-address=127.0.0.1 --bind-interfaces \
	--port=5353 --addn-hosts="$EMBER_STATE_DIR/hosts" --pid-file="$DNS_PID" --log-facility=- 2>"$T_TMP/dnsmasq.log" &
at_exit "kill $!"
until_ok test -s "$DNS_PID"
export EMBER_DNSMASQ_PIDFILE=$DNS_PID
name_of() { dig +short +time=1 +tries=1 @127.0.0.1 -p 5353 "$1"; }
ok "dnsmasq answers (and knows no web yet)" test -z "$(name_of web)"

## ember-up web: address, TAP, CID, record, NAT, process, name
guest_cmd web
check "ember-up web --rootfs FILE --kernel FILE --wait 10" 0 "*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --wait 10
up_out=$T_OUT
read -r _ G H P _ < <(ember-ipalloc show web)
read -r _ TAP _ < <(ember-tap show web)
like "prints ember-vm show: running, with ember-ipalloc's address" "$up_out" "name web
state running
alive yes
*
guest_ip $G
*"
is "  exactly what ember-vm show prints" "$up_out" "$(ember-vm show web)"
ok "the guest runs" guest_up web
in_web() { ember-vm exec web -- "$@"; }
check "ember-vm ping web: its agent answers" 0 "*" ember-vm ping web
is "ember-vm exec web -- ip -4 addr show eth0: the address ember-ipalloc gave" \
	"$(in_web ip -4 -o addr show eth0 | awk '{print $4}')" "$G/$P"
is "and its gateway is the TAP's side" "$(in_web ip route show default | awk '{print $3}')" "$H"
ok "the host reaches the guest" ping -c 1 -W 5 "$G"
is "the TAP is the one ember-tap made, up, held by Firecracker" "$(ip -br link show dev "$TAP" | awk '{print $2}')" UP
check "the guest reaches the peer through NAT; the peer sees the host's uplink address (MASQUERADE)" 0 "198.51.100.1" \
	connect in_web 198.51.100.2 9000
check "anywhere out of the uplink (no --allow)" 0 "198.51.100.1" connect in_web 203.0.113.5 9003
check "the guest cannot open a connection to the host (TAP side)" 124 "" connect in_web "$H" 9001
check "nor to the host's uplink address" 124 "" connect in_web 198.51.100.1 9001
check "the peer cannot open a connection to the guest" 124 "" connect in_peer "$G" 9002
check "the host can (replies come back)" 0 "$H" connect on_host "$G" 9002
is "STATE/hosts has web's line" "$(cat "$EMBER_STATE_DIR/hosts")" "$G web"
is "dnsmasq (SIGHUP'd by ember-up) answers web with the guest's address" "$(name_of web)" "$G"

## again: converges, changes nothing, prints it
snap=$(world)
check "ember-up web again: 0" 0 "*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL"
like "  prints the running VM" "$T_OUT" "name web
state running*"
is "  and nothing changed" "$(world)" "$snap"
check "  -j: ember-vm show -j" 0 "$(ember-vm show web -j)" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" -j
check "  other parameters: refused by ember-vm create (102)" 102 "" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --vcpus 2
like "  in its words" "$T_ERR" "*ember-vm: *"
is "  and nothing changed" "$(world)" "$snap"

## --allow: only what it allows
guest_cmd db
check "ember-up db --allow 198.51.100.0/24" 0 "*" "$UP" db --rootfs "$ROOTFS" --kernel "$KERNEL" --allow 198.51.100.0/24
ok "  runs" guest_up db
in_db() { ember-vm exec db -- "$@"; }
check "  reaches the allowed network" 0 "198.51.100.1" connect in_db 198.51.100.2 9000
check "  and nothing else" 124 "" connect in_db 203.0.113.5 9003
check "  nor the host" 124 "" connect in_db 198.51.100.1 9001
read -r _ GDB _ < <(ember-ipalloc show db)
check "  nor another guest" 124 "" connect in_db "$G" 9002
is "STATE/hosts: both (as ember-vm hosts prints them)" "$(sort "$EMBER_STATE_DIR/hosts")" "$(printf '%s\n' "$GDB db" "$G web" | sort)"
is "  exactly ember-vm hosts" "$(cat "$EMBER_STATE_DIR/hosts")" "$(ember-vm hosts)"
is "dnsmasq answers db" "$(name_of db)" "$GDB"

## a failing step undoes what this run made, and only that
before=$(world)
check "ember-nat up failing (--uplink that does not exist): ember-nat's exit code" 100 "" \
	"$UP" app --rootfs "$ROOTFS" --kernel "$KERNEL" --uplink nope0
like "  and its message" "$T_ERR" "*ember-nat: uplink 'nope0' does not exist*"
is "  the VM record, CID, TAP and address this run made are gone" "$(world)" "$before"
ember-ipalloc alloc app -q
ember-cidalloc alloc app -q
had=$(world)
check "again, with app's address and CID held before" 100 "" "$UP" app --rootfs "$ROOTFS" --kernel "$KERNEL" --uplink nope0
is "  they stay; the TAP and record it made are gone" "$(world)" "$had"
check "ember-vm start failing (Firecracker refuses the boot source): ember-vm's code" 100 "" \
	env EMBER_STANDIN_FAIL="PUT /boot-source=Invalid kernel" "$UP" app --rootfs "$ROOTFS" --kernel "$KERNEL"
like "  and its message, Firecracker's words in it" "$T_ERR" "*ember-vm: *Invalid kernel*"
is "  NAT, record and TAP undone; the address and CID held before stay" "$(world)" "$had"
ok "  no Firecracker of app is left" no_process app
ember-cidalloc release app -q
ember-ipalloc release app -q

## ember-down, ember-up again
check "ember-down db: the record as ember-vm stop leaves it" 0 "*" "$DOWN" db
like "  stopped" "$T_OUT" "db stopped no *"
ok "  db's Firecracker is gone" no_process db
ok "  its TAP is gone" bash -c "! ip link show dev '$(ember-vm show db | awk '$1 == "tap" {print $2}')' 2>/dev/null"
is "  its rules are gone" "$(iptables-save | grep -c -- "ember:$ID:db")" 0
is "  STATE/hosts lost its line" "$(cat "$EMBER_STATE_DIR/hosts")" "$G web"
is "  and dnsmasq no longer answers db" "$(name_of db)" ""
check "  its address and CID stay" 0 "*" ember-ipalloc show db
check "ember-down db again: 0, the same record" 0 "*" "$DOWN" db
guest_cmd db
check "ember-up db again brings it back" 0 "*" "$UP" db --rootfs "$ROOTFS" --kernel "$KERNEL" --allow 198.51.100.0/24
is "  with the same address" "$(ember-ipalloc show db | awk '{print $2}')" "$GDB"
ok "  running" guest_up db
check "  reaching what it may" 0 "198.51.100.1" connect in_db 198.51.100.2 9000

## ember-down web --delete leaves nothing of web
check "ember-down web --delete" 0 "*" "$DOWN" web --delete
like "  prints the record as stopped" "$T_OUT" "web stopped no *"
ok "  no TAP" bash -c "! ip link show dev '$TAP' 2>/dev/null"
is "  no rule" "$(iptables-save | grep -c -- "ember:$ID:web")" 0
check "  no address" 1 "" ember-ipalloc show web
check "  no CID" 1 "" ember-cidalloc show web
check "  no NAT record" 1 "" ember-nat show web
check "  no VM record" 1 "" ember-vm show web
ok "  no process" no_process web
ok "  no directory, socket or handles" test ! -e "$EMBER_STATE_DIR/vms/web"
is "  no hosts line" "$(cat "$EMBER_STATE_DIR/hosts")" "$GDB db"
is "  and dnsmasq no longer answers web" "$(name_of web)" ""
is "  no file that names web in the state directory (but ember-vm's lock, see README)" \
	"$(cd "$EMBER_STATE_DIR" && find . -name '*web*' ! -path ./locks/vm.web)" ""
check "ember-down web --delete again: 0, nothing to say" 0 "" "$DOWN" web --delete
check "  -j: {}" 0 "{}" "$DOWN" web --delete -j
check "ember-down db --delete -q" 0 "" "$DOWN" db --delete -q
ok "checks clean: ember-ipalloc" ember-ipalloc check
ok "  ember-cidalloc" ember-cidalloc check
ok "  ember-nat" ember-nat check

done_testing
