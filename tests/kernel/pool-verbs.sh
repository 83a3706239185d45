#!/usr/bin/env bash
# pool-verbs: every ember-pool verb, plain and -j, and its exit codes.
. "${T_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
. "$T_TOP/tests/kernel/pool-helpers"

new_install --instance-id a3f4
P=ember-a3f4-pool

check "status without a pool says no" 1 "" ember-pool status
like "and says why" "$T_ERR" "*has no pool 'ember-a3f4-pool'*"
check "list without a pool is empty" 0 "" ember-pool list
check "clone without a pool is refused" 102 "" ember-pool clone base vm1
check "destroy without a pool succeeds" 0 "$P no" ember-pool destroy

check "create" 0 '*' ember-pool create --size 64M
like "create prints the pool" "$T_OUT" "$P rw 0 0 67108864 0 * 4194304 * 65536 - 0 0 0"
ok "the data file is sparse" test "$(du -k "$EMBER_STATE_DIR/pool/data.img" | cut -f1)" -lt 1024
ok "the data file has the pool's size" test "$(stat -c %s "$EMBER_STATE_DIR/pool/data.img")" = 67108864
check "the pool's uuid proves it ours" 0 "EMBER-a3f4-pool" dmsetup info -c --noheadings -o uuid $P
check "its table names devices by major:minor" 0 '*' dmsetup table $P
like "major:minor in the table" "$T_OUT" "0 131072 thin-pool [0-9]*:[0-9]* [0-9]*:[0-9]* 128 0 1 error_if_no_space*"
check "create again with the same size prints it" 0 '*' ember-pool create --size 64M
like "the same pool" "$T_OUT" "$P rw 0 0 67108864 *"
check "create -j again: one object with the plain names" 0 '*' ember-pool -j create --size 64M
like "  so" "$T_OUT" '{"pool":"ember-a3f4-pool","mode":"rw","transaction_id":0,"data_used":0,"data_size":67108864,*,"block_size":65536,"data_dev":null,"volumes":0,"faulty":0,"pending":0}'
check "create with another size is refused" 102 "" ember-pool create --size 128M
check "create with another block size is refused" 102 "" ember-pool create --size 64M --block-size 128K
check "status -j" 0 '*' ember-pool -j status
like "status -j is one object with the plain names" "$T_OUT" '{"pool":"ember-a3f4-pool","mode":"rw","transaction_id":0,"data_used":0,"data_size":67108864,"data_percent":0,"metadata_used":*,"metadata_size":4194304,"metadata_percent":*,"block_size":65536,"data_dev":null,"volumes":0,"faulty":0,"pending":0}'

random_file "$T_TMP/base.img" 3000000
check "import" 0 "ember-a3f4-img-base 0 3000320 ready - base no -" ember-pool import base "$T_TMP/base.img"
check "import again: the same image" 0 "ember-a3f4-img-base 0 3000320 ready - base no -" \
	ember-pool import base "$T_TMP/base.img"
random_file "$T_TMP/other.img" 1000000
check "import of another size under the name is refused" 102 "" ember-pool import base "$T_TMP/other.img"
check "import -j" 0 '{"name":"ember-a3f4-img-other","thin_id":1,"size":1000448,"state":"ready","owner":null,"image":"other","active":false,"device":null}' \
	ember-pool -j import other "$T_TMP/other.img"
check "the pool's transaction id moved once per create" 0 '*' ember-pool status
like "transaction id 2" "$T_OUT" "$P rw 2 *"

check "clone" 0 "ember-a3f4-vm-vm1 2 3000320 ready vm1 base yes /dev/mapper/ember-a3f4-vm-vm1" \
	ember-pool clone base vm1
ok "the clone is a block device" test -b /dev/mapper/ember-a3f4-vm-vm1
ok "the clone holds the image" cmp -n 3000000 "$T_TMP/base.img" /dev/mapper/ember-a3f4-vm-vm1
check "its uuid" 0 "EMBER-a3f4-vm-vm1" dmsetup info -c --noheadings -o uuid ember-a3f4-vm-vm1
check "clone again: the same volume" 0 "ember-a3f4-vm-vm1 2 3000320 ready vm1 base yes /dev/mapper/ember-a3f4-vm-vm1" \
	ember-pool clone base vm1
check "clone again with another size is refused" 102 "" ember-pool clone base vm1 --size 8M
check "clone again of another image is refused" 102 "" ember-pool clone other vm1
check "clone -j --size grows" 0 '{"name":"ember-a3f4-vm-vm2","thin_id":3,"size":8388608,"state":"ready","owner":"vm2","image":"base","active":true,"device":"/dev/mapper/ember-a3f4-vm-vm2"}' \
	ember-pool -j clone base vm2 --size 8M
check "a clone cannot shrink below its image" 100 "" ember-pool clone base vm3 --size 1M
check "writes to a clone leave the image alone" 0 '*' dd if=/dev/zero of=/dev/mapper/ember-a3f4-vm-vm1 bs=4096 count=16 conv=fsync
ok "the clone changed" sh -c "! cmp -s -n 65536 '$T_TMP/base.img' /dev/mapper/ember-a3f4-vm-vm1"

check "deactivate" 0 "ember-a3f4-vm-vm1 2 3000320 ready vm1 base no -" ember-pool deactivate vm1
ok "its node is gone" test ! -e /dev/mapper/ember-a3f4-vm-vm1
check "deactivate again" 0 "ember-a3f4-vm-vm1 2 3000320 ready vm1 base no -" ember-pool deactivate vm1
check "deactivate -j" 0 '{"name":"ember-a3f4-vm-vm1","thin_id":2,"size":3000320,"state":"ready","owner":"vm1","image":"base","active":false,"device":null}' ember-pool -j deactivate vm1
check "activate by owner" 0 "ember-a3f4-vm-vm1 2 3000320 ready vm1 base yes /dev/mapper/ember-a3f4-vm-vm1" \
	ember-pool activate vm1
check "activate -j by device name" 0 '{"name":"ember-a3f4-vm-vm1","thin_id":2,"size":3000320,"state":"ready","owner":"vm1","image":"base","active":true,"device":"/dev/mapper/ember-a3f4-vm-vm1"}' \
	ember-pool -j activate ember-a3f4-vm-vm1
check "an image activates read-only" 0 "ember-a3f4-img-base 0 3000320 ready - base yes /dev/mapper/ember-a3f4-img-base" \
	ember-pool activate ember-a3f4-img-base
check "read-only in the kernel" 0 "r" sh -c "dmsetup info -c --noheadings -o attr ember-a3f4-img-base | cut -c4"
check "a clone of an active image (suspended around the snapshot)" 0 '*' ember-pool clone base vm3
like "vm3 made" "$T_OUT" "ember-a3f4-vm-vm3 4 3000320 ready vm3 base yes *"
check "the image is active and not suspended after it" 0 "L--r" sh -c "dmsetup info -c --noheadings -o attr ember-a3f4-img-base | cut -c1-4 | tr -d ' '"
check "deactivate the image by its name" 0 "ember-a3f4-img-base 0 3000320 ready - base no -" \
	ember-pool deactivate ember-a3f4-img-base
check "activate of an unknown volume says no" 1 "" ember-pool activate nosuch

check "list" 0 "ember-a3f4-img-base 0 3000320 ready - base no -
ember-a3f4-img-other 1 1000448 ready - other no -
ember-a3f4-vm-vm1 2 3000320 ready vm1 base yes /dev/mapper/ember-a3f4-vm-vm1
ember-a3f4-vm-vm2 3 8388608 ready vm2 base yes /dev/mapper/ember-a3f4-vm-vm2
ember-a3f4-vm-vm3 4 3000320 ready vm3 base yes /dev/mapper/ember-a3f4-vm-vm3" ember-pool list
check "list -j" 0 '*' ember-pool -j list
like "list -j is an array" "$T_OUT" '\[{"name":"ember-a3f4-img-base",*},{*},{*},{*},{"name":"ember-a3f4-vm-vm3",*}\]'

check "delete" 0 "ember-a3f4-vm-vm3 4 3000320 deleted vm3 base no -" ember-pool delete vm3
ok "its node is gone" test ! -e /dev/mapper/ember-a3f4-vm-vm3
check "delete again: nothing to do" 0 "" ember-pool delete vm3
check "delete -j" 0 '{"name":"ember-a3f4-img-other","thin_id":1,"size":1000448,"state":"deleted","owner":null,"image":"other","active":false,"device":null}' \
	ember-pool -j delete ember-a3f4-img-other
is "the database and the pool agree" "$(db_ids)" "$(pool_ids $P)"
is "thin ids left" "$(db_ids)" "0 2 3 "
check "status counts" 0 '*' ember-pool status
like "status after two deletes" "$T_OUT" "$P rw 7 * 65536 - 3 0 0"

check "destroy refuses while volumes are active" 102 "" ember-pool destroy
like "and says how many" "$T_ERR" "*2 volumes of pool 'ember-a3f4-pool' are active*"
ok "nothing was removed" test -b /dev/mapper/ember-a3f4-vm-vm1
check "destroy --force" 0 "$P no" ember-pool destroy --force
check "nothing of ours is left in the kernel" 0 "No devices found" dmsetup ls
ok "no loop device is left" sh -c "! losetup -a | grep -q '$EMBER_STATE_DIR'"
check "status of a destroyed pool: inactive" 0 "$P inactive -1 0 67108864 0 0 4194304 0 65536 - 3 0 0" ember-pool status
check "activate (as after a reboot)" 0 '*' ember-pool activate
like "active again, same transaction id" "$T_OUT" "$P rw 7 *"
check "the volumes came back" 0 "ember-a3f4-img-base 0 3000320 ready - base no -
ember-a3f4-vm-vm1 2 3000320 ready vm1 base no -
ember-a3f4-vm-vm2 3 8388608 ready vm2 base no -" ember-pool list
ok "their data too" sh -c "ember-pool -q activate vm2 && cmp -n 3000000 '$T_TMP/base.img' /dev/mapper/ember-a3f4-vm-vm2"
check "activate again: already active" 0 '*' ember-pool activate
check "activate -j" 0 '*' ember-pool -j activate
like "  one object" "$T_OUT" '{"pool":"ember-a3f4-pool","mode":"rw","transaction_id":7,*"volumes":3,"faulty":0,"pending":0}'
check "grow -j" 0 '*' ember-pool -j grow --size 96M
like "  the new size" "$T_OUT" '{"pool":"ember-a3f4-pool","mode":"rw",*"data_size":100663296,*}'
check "grow to a smaller size is refused" 100 "" ember-pool grow --size 64M
check "destroy -j" 0 '{"pool":"ember-a3f4-pool","purged":false}' ember-pool -j destroy --force
check "activate after it" 0 '*' ember-pool activate
like "  keeps the grown size" "$T_OUT" "$P rw 7 * 100663296 *"
check "destroy --force --purge" 0 "$P yes" ember-pool destroy --force --purge
ok "the pool files are gone" test ! -e "$EMBER_STATE_DIR/pool"
check "the records are gone" 0 "0" db "SELECT count(*) FROM pool_volume"
check "status: no pool" 1 "" ember-pool status

check "--size goes with create, grow and clone" 100 "" ember-pool list --size 1G
check "--purge goes with destroy" 100 "" ember-pool list --purge
check "an unknown verb" 100 "" ember-pool frobnicate
check "import needs two operands" 100 "" ember-pool import base
check "--help prints the usage" 0 '*' ember-pool --help
like "usage text" "$T_OUT" "usage: ember-pool *exit codes:*"
done_testing
