#!/usr/bin/env bash
# tests/bench/pool.sh: ember-pool clone + delete against dmsetup, measured inside
# the Debian kernel that scripts/kernel-test boots (this host may have no
# device-mapper). Prints the figures; never fails on a time.
top=$(cd "$(dirname "$0")/../.." && pwd)
exec "$top/scripts/kernel-test" --bench "${BUILD:-$top/build}"
