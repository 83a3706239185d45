#!/usr/bin/env bash
# smoke: the booted kernel has what the pool tests need: device-mapper, the
# thin-pool target, loop devices, and a thin pool made by hand works.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

[ -e /proc/misc ] || skip_all "not inside the test kernel"
like "device-mapper is registered" "$(grep device-mapper /proc/misc)" "*device-mapper"
ok "/dev/mapper/control exists" test -c /dev/mapper/control
ok "/dev/loop-control exists" test -c /dev/loop-control
command -v dmsetup >/dev/null || skip_all "no dmsetup in the initramfs"
check "the thin-pool target is loaded" 0 '*' dmsetup targets
like "thin-pool listed" "$T_OUT" "*thin-pool*"
like "thin listed" "$T_OUT" "*thin *"

truncate -s 64M "$T_TMP/data" && truncate -s 4M "$T_TMP/meta"
data=$(losetup -f) && losetup "$data" "$T_TMP/data"
at_exit "losetup -d $data"
meta=$(losetup -f) && losetup "$meta" "$T_TMP/meta"
at_exit "losetup -d $meta"
dd if=/dev/zero of="$meta" bs=4096 count=1 2>/dev/null
ok "a thin pool on loop devices" dmsetup create smoke-pool \
	--table "0 131072 thin-pool $meta $data 128 0"
at_exit "dmsetup remove smoke-pool"
ok "a thin device in it" dmsetup message smoke-pool 0 "create_thin 0"
# no udev here: tables name devices by major:minor, nodes are made by hand
pool_dev=$(dmsetup info -c --noheadings -o major,minor smoke-pool)
ok "the thin device activates" dmsetup create smoke-thin --table "0 65536 thin $pool_dev 0"
at_exit "dmsetup remove smoke-thin"
ok "dmsetup mknodes makes its node" dmsetup mknodes smoke-thin
ok "the node is a block device" test -b /dev/mapper/smoke-thin
ok "it can be written" dd if=/dev/zero of=/dev/mapper/smoke-thin bs=64k count=16
check "the pool status reads" 0 '*' dmsetup status smoke-pool
like "pool status has a transaction id" "$T_OUT" "0 131072 thin-pool 0 *"
ok "thin_check is in the initramfs" command -v thin_check
ok "the ember binary runs" "$EMBER" --list
done_testing
