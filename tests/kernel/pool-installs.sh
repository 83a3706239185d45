#!/usr/bin/env bash
# pool-installs: two installations side by side, and a legacy one: each
# touches only the devices whose uuid proves them its own.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"

random_file "$T_TMP/base.img" 500000

new_install --instance-id aaaa
A=$EMBER_STATE_DIR
check "pool A" 0 '*' ember-pool create --size 32M
check "image A" 0 '*' ember-pool import base "$T_TMP/base.img"
check "clone A" 0 "ember-aaaa-vm-web 1 500224 ready web base yes /dev/mapper/ember-aaaa-vm-web" ember-pool clone base web

new_install --instance-id bbbb
B=$EMBER_STATE_DIR
check "pool B" 0 '*' ember-pool create --size 32M
check "image B" 0 '*' ember-pool import base "$T_TMP/base.img"
check "the same owner in B" 0 "ember-bbbb-vm-web 1 500224 ready web base yes /dev/mapper/ember-bbbb-vm-web" ember-pool clone base web

new_install --legacy
L=$EMBER_STATE_DIR
check "a legacy pool" 0 '*' ember-pool create --size 32M
like "its name" "$T_OUT" "ember-pool rw *"
check "legacy image" 0 "ember-img-base 0 500224 ready - base no -" ember-pool import base "$T_TMP/base.img"
check "legacy clone" 0 "ember-vm-web 1 500224 ready web base yes /dev/mapper/ember-vm-web" ember-pool clone base web
check "legacy uuids" 0 "EMBER--pool
EMBER--vm-web" sh -c "dmsetup info -c --noheadings -o uuid ember-pool; dmsetup info -c --noheadings -o uuid ember-vm-web"
check "ember-init show names them" 0 '*' ember-init show
like "legacy names in show" "$T_OUT" "*pool ember-pool*image_prefix ember-img-*volume_prefix ember-vm-*dm_uuid_prefix EMBER--*"

check "every pool and clone is in the kernel" 0 "ember-aaaa-pool
ember-aaaa-vm-web
ember-bbbb-pool
ember-bbbb-vm-web
ember-pool
ember-vm-web" sh -c "dmsetup ls | cut -f1 | sort"

EMBER_STATE_DIR=$A
check "A lists only its own" 0 "ember-aaaa-img-base 0 500224 ready - base no -
ember-aaaa-vm-web 1 500224 ready web base yes /dev/mapper/ember-aaaa-vm-web" ember-pool list
check "destroy A" 0 "ember-aaaa-pool yes" ember-pool destroy --force --purge
check "B's and the legacy pool and volumes are untouched" 0 "ember-bbbb-pool
ember-bbbb-vm-web
ember-pool
ember-vm-web" sh -c "dmsetup ls | cut -f1 | sort"
ok "B's volume still holds its data" cmp -n 500000 "$T_TMP/base.img" /dev/mapper/ember-bbbb-vm-web
ok "the legacy volume too" cmp -n 500000 "$T_TMP/base.img" /dev/mapper/ember-vm-web
ok "B's files are there" test -f "$B/pool/data.img"

EMBER_STATE_DIR=$L
check "deinit of the legacy installation tears its pool down" 0 '*' ember-init deinit
check "only B is left" 0 "ember-bbbb-pool
ember-bbbb-vm-web" sh -c "dmsetup ls | cut -f1 | sort"
EMBER_STATE_DIR=$B
check "B still works" 0 "ember-bbbb-vm-web 1 500224 deleted web base no -" ember-pool delete web
is "B's database and pool agree" "$(db_ids)" "$(pool_ids ember-bbbb-pool)"
done_testing
