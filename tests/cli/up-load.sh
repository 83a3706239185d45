#!/usr/bin/env bash
# ember-up under load: 50 VMs (the stand-in as Firecracker) brought up 8 at a
# time, then taken down 8 at a time: no failure, no address, CID, TAP name or
# rule twice, the checks clean, and nothing left.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/up-helpers"
need_vm
need_standin
N=${UP_LOAD_VMS:-50}

ember-init init -q --instance-id 10ad
ID=10ad
before=$(world)
names=$(for ((i = 1; i <= N; i++)); do echo "vm$i"; done)
# each run's exit code and stderr in a file of its own
cat >"$T_TMP/one" <<EOF
#!/bin/sh
"\$1" "\$2" \$3 >"$T_TMP/out.\$2" 2>"$T_TMP/err.\$2"
echo \$? >"$T_TMP/rc.\$2"
EOF
chmod +x "$T_TMP/one"
xargs -P 8 -I{} "$T_TMP/one" "$UP" {} "--rootfs $ROOTFS --kernel $KERNEL" <<<"$names"
is "$N ember-ups, 8 at a time: every one exits 0" "$(cat "$T_TMP"/rc.* | sort | uniq -c | awk '{print $1, $2}')" "$N 0"
is "  and says nothing on stderr" "$(cat "$T_TMP"/err.*)" ""
is "$N VMs running, alive" "$(ember-vm list --state running | awk '$3 == "yes"' | wc -l)" "$N"
is "$N addresses, none twice" "$(ember-ipalloc list | awk '{print $2}' | sort -u | wc -l)" "$N"
is "$N CIDs, none twice" "$(ember-cidalloc list | awk '{print $2}' | sort -u | wc -l)" "$N"
is "$N TAPs, no name twice" "$(ember-tap list | awk '{print $2}' | sort -u | wc -l)" "$N"
is "  each a link that is up" "$(ip -br link | grep -c "^em$ID-.* UP ")" "$N"
is "$N Firecracker processes" "$(pgrep -fc -- "--api-sock $EMBER_STATE_DIR/vms/")" "$N"
rules=$(iptables-save | grep -E -- "--comment \"?ember:$ID:vm[0-9]+")
is "7 rules per VM in the kernel (input: replies, drop; forward: out, drop, replies, drop; MASQUERADE)" \
	"$(wc -l <<<"$rules")" $((7 * N))
is "  no rule twice" "$(sort <<<"$rules" | uniq -d)" ""
is "STATE/hosts: one line per VM, no address twice" "$(awk '{print $1}' "$EMBER_STATE_DIR/hosts" | sort -u | wc -l)" "$N"
is "  as ember-vm hosts says" "$(cat "$EMBER_STATE_DIR/hosts")" "$(ember-vm hosts)"
check "ember-ipalloc check: clean" 0 "" ember-ipalloc check
check "ember-cidalloc check: clean" 0 "" ember-cidalloc check
check "ember-nat check: clean" 0 "" ember-nat check

rm -f "$T_TMP"/rc.* "$T_TMP"/err.*
xargs -P 8 -I{} "$T_TMP/one" "$DOWN" {} "--delete --force" <<<"$names"
is "$N ember-down --delete, 8 at a time: every one exits 0" "$(cat "$T_TMP"/rc.* | sort | uniq -c | awk '{print $1, $2}')" "$N 0"
is "  and says nothing on stderr" "$(cat "$T_TMP"/err.*)" ""
is "no Firecracker left" "$(pgrep -fc -- "--api-sock $EMBER_STATE_DIR/vms/")" 0
is "STATE/hosts is empty" "$(cat "$EMBER_STATE_DIR/hosts")" ""
check "ember-ipalloc check: clean" 0 "" ember-ipalloc check
check "ember-cidalloc check: clean" 0 "" ember-cidalloc check
check "ember-nat check: clean" 0 "" ember-nat check
is "and nothing is left: no record, allocation, TAP, rule or file" "$(world)" "$before"

done_testing
