#!/usr/bin/env bash
# the state database under faults on the other backend Debian ships: db-faults.sh again, on iptables-legacy.
command -v iptables-legacy-save >/dev/null || { echo "1..0 # SKIP iptables-legacy not found"; exit 0; }
DBF_BACKEND=legacy exec bash "$(dirname "$0")/db-faults.sh" "$@"
