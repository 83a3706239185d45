#!/usr/bin/env bash
# The crash matrix: ember-up and ember-down killed half-way, at every named
# crash point they pass through (the applet SIGKILLs itself there, and the
# script with it: the host dying at that point) and with SIGKILL of the
# script itself between each pair of steps. Then either
#   ember-reconcile --grace 0 leaves nothing leaked: no TAP, rule, process,
#   socket, directory or hosts line of web, and an address or CID only while
#   a record of web holds them; the next pass finds nothing to do;
# or ember-up run again converges to a running VM, and ember-down --delete
# then leaves nothing at all. A crash point killing only the applet is
# undone by ember-up itself.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/up-helpers"
need_vm
need_standin
ember-reconcile --help >/dev/null 2>&1 || skip_all "ember-reconcile is not in this build"

ember-init init -q --instance-id c4a5
ID=c4a5
before=$(world)
up_web() { "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" "$@"; }

# leaked: what of web is left that no record of web accounts for. A VM that
# runs owns its runtime: then only its hosts line is asked for (reconcile
# writes it) and the checks
leaked() {
	local tap
	if [ "$(ember-vm show web 2>/dev/null | awk '$1 == "state" || $1 == "alive" {printf "%s ", $2}')" = "running yes " ]; then
		grep -qw web "$EMBER_STATE_DIR/hosts" 2>/dev/null || echo "no hosts line for a running VM"
		ember-ipalloc check >/dev/null 2>&1 || echo "ember-ipalloc check"
		ember-cidalloc check >/dev/null 2>&1 || echo "ember-cidalloc check"
		ember-nat check >/dev/null 2>&1 || echo "ember-nat check"
		return
	fi
	tap=$(ember-tap list | awk '$1 == "web" {print $2}')
	[ -z "$tap" ] || echo "TAP record $tap"
	ip -br link | grep -q "^em$ID-" && echo "link $(ip -br link | grep "^em$ID-" | awk '{print $1}')"
	iptables-save | grep -q -- "ember:$ID:web" && echo "rules"
	ember-nat show web >/dev/null 2>&1 && echo "NAT record"
	no_process web || echo "process"
	[ ! -e "$EMBER_STATE_DIR/vms/web/firecracker.sock" ] || echo "API socket"
	[ ! -e "$EMBER_STATE_DIR/vms/web/vsock.sock" ] || echo "vsock socket"
	[ ! -e "$EMBER_STATE_DIR/vms/web/handles.json" ] || echo "handles.json"
	grep -qw web "$EMBER_STATE_DIR/hosts" 2>/dev/null && echo "hosts line"
	if ! ember-vm show web >/dev/null 2>&1; then
		[ ! -e "$EMBER_STATE_DIR/vms/web" ] || echo "directory without a record"
		ember-ipalloc show web >/dev/null 2>&1 && echo "address without a record"
		ember-cidalloc show web >/dev/null 2>&1 && echo "CID without a record"
	fi
	ember-ipalloc check >/dev/null 2>&1 || echo "ember-ipalloc check"
	ember-cidalloc check >/dev/null 2>&1 || echo "ember-cidalloc check"
	ember-nat check >/dev/null 2>&1 || echo "ember-nat check"
}
# clean: what the next case starts from
clean() {
	"$DOWN" web --delete --force -q
	is "  (ember-down --delete then leaves nothing at all)" "$(world)" "$before"
}

# no_applet: no applet of this installation runs. The scripts run some steps
# at once: one that the script's death left running finishes on its own, as
# it would have; the reconcile of a row runs after it (its grace period
# exists for exactly such steps in flight)
no_applet() {
	! pgrep -f -- "--state-dir $EMBER_STATE_DIR" >/dev/null
}

# killed TITLE SHIMVAR=VALUE [ember-up|ember-down]: one row of the matrix
killed() {
	local title=$1 how=$2 which=${3:-up}
	if [ "$which" = down ]; then
		check "$title: ember-up" 0 "*" up_web
		check "$title: ember-down killed" 137 "" shim "$how" "$DOWN" web
	else
		check "$title: ember-up killed" 137 "" shim "$how" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL"
	fi
	ok "  (the steps it left running end)" until_ok no_applet
	check "  ember-reconcile --grace 0 converges" 0 "*" ember-reconcile --grace 0
	is "  nothing of web is leaked" "$(leaked)" ""
	check "  the next pass finds nothing to do" 0 "" ember-reconcile --grace 0
	if [ "$which" = down ]; then
		check "  ember-down again" 0 "*" "$DOWN" web
	else
		check "  ember-up again (after the reconcile)" 0 "*" up_web
		like "  a running VM" "$T_OUT" "name web
state running
alive yes*"
	fi
	clean
	# the other way: no reconcile, the command again
	if [ "$which" = down ]; then
		check "$title again: ember-up" 0 "*" up_web
		check "$title again: ember-down killed" 137 "" shim "$how" "$DOWN" web
		ok "  (the steps it left running end)" until_ok no_applet
		check "  ember-down again converges" 0 "*" "$DOWN" web
		is "  nothing of web is leaked" "$(leaked)" ""
	else
		check "$title again: ember-up killed" 137 "" shim "$how" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL"
		ok "  (the steps it left running end)" until_ok no_applet
		check "  ember-up again converges" 0 "*" up_web
		like "  a running VM" "$T_OUT" "name web
state running
alive yes*"
		ok "  with its process" pgrep -f -- "--api-sock $EMBER_STATE_DIR/vms/web/firecracker.sock"
		is "  and its hosts line" "$(grep -w web "$EMBER_STATE_DIR/hosts" | awk '{print $2}')" web
	fi
	clean
}

## SIGKILL of ember-up between each pair of steps (before the step named)
for step in ember-ipalloc:alloc ember-tap:show ember-tap:create ember-cidalloc:show ember-cidalloc:alloc \
	ember-vm:show ember-vm:create ember-nat:show ember-nat:up ember-vm:start ember-vm:hosts; do
	killed "SIGKILL before $step" SHIM_KILL="$step"
done

## every crash point ember-up passes through, the script dying with the applet
for point in ember-ipalloc:alloc:slot-alloc ember-cidalloc:alloc:slot-alloc \
	ember-nat:up:nat-up-recorded ember-nat:up:nat-up-applied \
	ember-vm:start:vm-spawned ember-vm:start:vm-handles ember-vm:start:vm-api-get \
	ember-vm:start:vm-api-logger ember-vm:start:vm-api-machine-config ember-vm:start:vm-api-boot-source \
	ember-vm:start:vm-api-drive-rootfs ember-vm:start:vm-api-network ember-vm:start:vm-api-vsock \
	ember-vm:start:vm-api-instance-start; do
	killed "crash at ${point##*:} (in ${point%:*})" SHIM_CRASH="$point"
done

## and ember-down's
for point in ember-vm:stop:vm-stop-killed ember-nat:down:nat-down-deleted; do
	killed "crash at ${point##*:} (in ${point%:*})" SHIM_CRASH="$point" down
done
for step in ember-nat:down ember-tap:delete ember-vm:hosts; do
	killed "SIGKILL of ember-down before $step" SHIM_KILL="$step" down
done

## a crash point killing only the applet: ember-up sees it fail and undoes
for point in slot-alloc nat-up-recorded nat-up-applied vm-spawned vm-handles vm-api-boot-source vm-api-instance-start; do
	check "EMBER_TEST_CRASH=$point for the whole ember-up: the applet's death (137)" 137 "" \
		env EMBER_TEST_CRASH=$point "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL"
	is "  and ember-up undid all it made" "$(world)" "$before"
	ok "  with no process left" no_process web
done

done_testing
