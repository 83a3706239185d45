#!/usr/bin/env bash
# the TAP and NAT storm on the other backend Debian ships: net-storm.sh again, on iptables-legacy.
command -v iptables-legacy-save >/dev/null || { echo "1..0 # SKIP iptables-legacy not found"; exit 0; }
STORM_BACKEND=legacy exec bash "$(dirname "$0")/net-storm.sh" "$@"
