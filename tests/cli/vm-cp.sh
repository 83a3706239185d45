#!/usr/bin/env bash
# ember-vm cp both ways through the guest agent: byte-exact, the mode kept,
# atomic at both ends, and clear errors. The stand-in's guest shares this
# file system, so the guest's side is checked from here.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/vm.lib"

ember-init init -q --instance-id a013
AGENT='exec ember-agent serve --uds "$EMBER_STANDIN_VSOCK_DIR/1024"'
export EMBER_STANDIN_GUEST=$AGENT
ember-vm -q create vm1 --kernel "$KERNEL" --no-rootfs --no-net --cid 3
ember-vm -q start vm1 --wait 10
G=$T_TMP/guest L=$T_TMP/local
mkdir -p "$G" "$L"
sha() { sha256sum <"$1" | cut -d' ' -f1; }

## 100 MiB both ways
head -c 100M /dev/urandom >"$L/big"
chmod 0640 "$L/big"
check "cp LOCAL NAME:PATH: 100 MiB" 0 "$L/big vm1:$G/big 104857600 0640" ember-vm cp "$L/big" "vm1:$G/big"
is "  byte-exact in the guest" "$(sha "$G/big")" "$(sha "$L/big")"
is "  its mode kept" "$(stat -c %a "$G/big")" 640
chmod 0751 "$G/big"
check "cp NAME:PATH LOCAL: 100 MiB back" 0 "vm1:$G/big $L/back 104857600 0751" ember-vm cp "vm1:$G/big" "$L/back"
is "  byte-exact here" "$(sha "$L/back")" "$(sha "$L/big")"
is "  its mode kept" "$(stat -c %a "$L/back")" 751
check "-j" 0 "{\"src\":\"vm1:$G/big\",\"dst\":\"$L/back\",\"bytes\":104857600,\"mode\":\"0751\"}" \
	ember-vm -j cp "vm1:$G/big" "$L/back"
script -qec "ember-vm cp '$L/big' 'vm1:$G/tty'" /dev/null >"$T_TMP/tty.out" 2>&1
like "on a terminal: a progress bar for a large file" "$(tr '\r' '\n' <"$T_TMP/tty.out" | grep '%' | tail -n 1)" \
	"[[]##############################[]] 100% 100.0 MiB *MiB/s"
ember-vm cp "$L/big" "vm1:$G/notty" 2>"$T_TMP/notty.err" >/dev/null
is "  none when stderr is not one" "$(cat "$T_TMP/notty.err")" ""
mkdir "$L/dir"
check "into a local directory: the file of the guest path's name" 0 "*" ember-vm cp "vm1:$G/big" "$L/dir"
is "  there" "$(sha "$L/dir/big")" "$(sha "$L/big")"
: >"$L/empty"
check "an empty file" 0 "$L/empty vm1:$G/empty 0 0644" ember-vm cp "$L/empty" "vm1:$G/empty"
ok "  there, empty" test -f "$G/empty" -a ! -s "$G/empty"

## atomic: an old file stays whole when the copy fails
echo old >"$L/keep"
check "a missing guest path: 1" 1 "" ember-vm cp "vm1:$G/missing" "$L/keep"
like "  saying so" "$T_ERR" "ember-vm: *$G/missing*"
is "  the local file untouched" "$(cat "$L/keep")" old
is "  no temporary file left" "$(find "$L" -mindepth 1 -maxdepth 1 -name '*tmp*' | grep -c .)" 0
check "a missing local file: 1" 1 "" ember-vm cp "$L/missing" "vm1:$G/x"
like "  saying so" "$T_ERR" "ember-vm: unable to open '$L/missing': No such file or directory*"
ok "  nothing made in the guest" test ! -e "$G/x"
check "a guest directory as the source: 102" 102 "" ember-vm cp "vm1:$G" "$L/keep"
like "  saying so" "$T_ERR" "ember-vm: *"
is "  the local file untouched" "$(cat "$L/keep")" old
check "a local directory as the source: 102" 102 "" ember-vm cp "$L/dir" "vm1:$G/d"
like "  saying so" "$T_ERR" "ember-vm: '$L/dir' is a directory, not a regular file*"
check "a guest directory as the target: refused" "*" "" ember-vm cp "$L/keep" "vm1:$G"
ok "  not 0" test "$T_RC" != 0
ok "  the directory still a directory" test -d "$G"
check "into a missing guest directory: 1" 1 "" ember-vm cp "$L/keep" "vm1:$G/no/such/f"

## permission denied: a guest whose agent runs unprivileged
chmod 0755 "$T_TMP"
mkdir -p "$T_TMP/priv"
chmod 0700 "$T_TMP/priv"
echo secret >"$T_TMP/priv/f"
export EMBER_STANDIN_GUEST='chmod 0777 "$EMBER_STANDIN_VSOCK_DIR" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ember-agent serve --uds "$EMBER_STANDIN_VSOCK_DIR/1024"'
ember-vm -q create nobody --kernel "$KERNEL" --no-rootfs --no-net --cid 4
if ember-vm -q start nobody --wait 10 2>"$T_TMP/nobody.err"; then
	check "permission denied reading: 102" 102 "" ember-vm cp "nobody:$T_TMP/priv/f" "$L/p"
	like "  saying so" "$T_ERR" "ember-vm: *ermission denied*"
	ok "  nothing made here" test ! -e "$L/p"
	check "permission denied writing: 102" 102 "" ember-vm cp "$L/keep" "nobody:$T_TMP/priv/g"
	like "  saying so" "$T_ERR" "ember-vm: *ermission denied*"
	ok "  nothing made there" test ! -e "$T_TMP/priv/g"
else
	skip "permission denied" "an unprivileged agent does not start here: $(cat "$T_TMP/nobody.err")"
fi
export EMBER_STANDIN_GUEST=$AGENT

## bad operands
check "no side in a VM: 100" 100 "" ember-vm cp "$L/a" "$L/b"
like "  saying so" "$T_ERR" "ember-vm: cp needs one side NAME:PATH*"
check "both sides in VMs: 100" 100 "" ember-vm cp "vm1:/a" "vm1:/b"
check "NAME: without a path: 100" 100 "" ember-vm cp "vm1:" "$L/b"
check "a bad VM name: 100" 100 "" ember-vm cp "Bad:/a" "$L/b"
check "a local path with a colon after a slash is local" 100 "" ember-vm cp "./a:b" "$L/b"
check "one operand: 100" 100 "" ember-vm cp "vm1:/a"
ember-vm -q create novs --kernel "$KERNEL" --no-rootfs --no-net --no-vsock
ember-vm -q start novs
check "a VM without vsock: 100" 100 "" ember-vm cp "$L/keep" "novs:$G/x"
like "  saying so" "$T_ERR" "ember-vm: VM 'novs' has no vsock*"

done_testing
