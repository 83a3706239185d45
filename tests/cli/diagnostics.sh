#!/usr/bin/env bash
# What ember says when a program it runs dies, and what a killed init leaves:
# a child killed by a signal is named so; one killed mid-output is reported
# by its stderr (clipped), never by its partial stdout; a killed init's
# temporary config goes on the next init. In a network namespace of its own.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
command -v ip >/dev/null || skip_all "ip (iproute2) not found"
export EMBER_RUN_DIR=$T_TMP/run
ember-init init -q --instance-id d1a9
# wrapper DIR NAME BODY: a program NAME in DIR that runs BODY (bash) when its
# arguments match $WRAP_WHEN, and the real program otherwise
wrapper() {
	mkdir -p "$1"
	printf '%s\n' '#!/bin/bash' "case \"\$*\" in \$WRAP_WHEN) $3 ;; esac" "exec $(command -v "$2") \"\$@\"" >"$1/$2"
	chmod +x "$1/$2"
}
long=$(printf 'x%.0s' $(seq 1 300))

## a child killed by a signal
wrapper "$T_TMP/term" ip 'kill -TERM $$'
check "ip killed by SIGTERM: 111" 111 "" env PATH="$T_TMP/term:$PATH" WRAP_WHEN='-batch*' ember-tap create k1 --address 10.11.0.1/30
like "  naming the signal" "$T_ERR" "ember-tap: ip -batch: ip killed by SIGTERM*"
ok "  nothing was made" bash -c "! ember-tap list | grep -q k1"

## a child killed in the middle of its output
ember-tap -q create k2 --address 10.11.0.5/30
wrapper "$T_TMP/half" ip "printf '[{\"ifname\":\"partial'; echo 'ip: $long' >&2; kill -KILL \$\$"
check "ip -j killed mid-output: 111" 111 "" env PATH="$T_TMP/half:$PATH" WRAP_WHEN='-j -d addr show' ember-tap list
like "  reported by its stderr, clipped, and the signal" "$T_ERR" "ember-tap: unable to list links with 'ip -j addr show': killed by SIGKILL: ip: xxxx*x...*"
like "  not by its partial stdout" "$T_ERR" "!(*partial*)"
ok "  one line" [ "$(wc -l <<<"$T_ERR")" = 1 ]
for B in nft legacy; do
	command -v "iptables-$B-save" >/dev/null || continue
	ip tuntap add dev tk$B mode tap
	ip link add up$B type veth peer name up${B}p
	EMBER_IPTABLES=$B ember-nat -q up n$B --guest-ip 10.11.1.$((${#B} * 4 + 2)) --tap tk$B --uplink up$B
	wrapper "$T_TMP/halfsave" "iptables-$B-save" "printf '*filter\n:INPUT ACCEPT [0:0]\n-A INP'; kill -KILL \$\$"
	check "iptables-$B-save killed mid-output: 111" 111 "" env PATH="$T_TMP/halfsave:$PATH" WRAP_WHEN='*' EMBER_IPTABLES=$B ember-nat list
	like "  says it was killed, not what it printed" "$T_ERR" "ember-nat: unable to read the rules: iptables-$B-save: killed by SIGKILL"
	wrapper "$T_TMP/termrestore" "iptables-$B-restore" 'kill -TERM $$'
	check "iptables-$B-restore killed by SIGTERM: 111" 111 "" env PATH="$T_TMP/termrestore:$PATH" WRAP_WHEN='*' EMBER_IPTABLES=$B ember-nat down n$B
	like "  naming the signal" "$T_ERR" "ember-nat: unable to change the rules: iptables-$B-restore: killed by SIGTERM"
	check "  and down then works" 0 "*" env EMBER_IPTABLES=$B ember-nat down n$B
	EMBER_IPTABLES=$B ember-nat -q flush
done

## a killed init's temporary config goes on the next init
new_state
mkdir -p "$EMBER_STATE_DIR"
# a pid that no process has (above the kernel's pid_max), and this shell's own
echo '{"partial' >"$EMBER_STATE_DIR/config.json.tmp.999999999"
echo '{"partial' >"$EMBER_STATE_DIR/config.json.tmp.$$"
check "init after a killed init" 0 "*" ember-init init --instance-id d1aa
ok "  removes the dead writer's temporary config" bash -c "! [ -e '$EMBER_STATE_DIR/config.json.tmp.999999999' ]"
ok "  keeps a live one's" [ -e "$EMBER_STATE_DIR/config.json.tmp.$$" ]
rm -f "$EMBER_STATE_DIR/config.json.tmp.$$"
echo '{"partial' >"$EMBER_STATE_DIR/config.json.tmp.999999998"
check "init again (the installation exists)" 0 "*" ember-init init --instance-id d1aa
ok "  removes it too" bash -c "! [ -e '$EMBER_STATE_DIR/config.json.tmp.999999998' ]"

done_testing
