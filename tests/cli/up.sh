#!/usr/bin/env bash
# ember-up and ember-down (scripts/): their command line, bad input refused
# before anything happens, and a failing or interrupted step undoing exactly
# what the run made, never what was there before. Steps are made to fail or
# to pause by a shim put first on PATH under an applet's name (tests/cli/up-helpers).
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/up-helpers"

## the scripts themselves
if command -v shellcheck >/dev/null; then
	ok "shellcheck finds nothing in ember-up (and ember-down, the same file)" shellcheck "$UP" "$DOWN"
else
	skip "shellcheck" "shellcheck not installed"
fi
is "ember-down is ember-up under another name" "$(readlink "$T_TOP/scripts/ember-down")" ember-up
ok "neither uses eval" bash -c "! grep -nE '(^|[;&|[:space:]])eval([[:space:]]|$)' '$UP'"
check "ember-up --help" 0 "*" "$UP" --help
like "names every option" "$T_OUT" "*--image IMG*--size SIZE*--rootfs PATH*--kernel PATH*--initrd*--vcpus*--memory*--boot-args*--allow*--uplink*--no-nat*--no-vsock*--wait*--state-dir*exit codes*"
check "ember-down --help" 0 "*" "$DOWN" --help
like "names every option" "$T_OUT" "*--delete*--force*--timeout*--state-dir*"
check "--version" 0 "ember-up $("$EMBER" --version | awk '{print $2}')" "$UP" --version

## make install puts both next to the applet symlinks
root=$T_TMP/root
ok "make install" make -s -C "$T_TOP" BUILD="$(dirname "$EMBER")" -o "$EMBER" install PREFIX=/usr/local DESTDIR="$root"
ok "installs ember-up and ember-down as files" test -f "$root/usr/local/bin/ember-up" -a ! -L "$root/usr/local/bin/ember-down" -a -x "$root/usr/local/bin/ember-down"
check "the installed ember-down is ember-down" 0 "*" "$root/usr/local/bin/ember-down" --help
like "  (its own usage)" "$T_OUT" "usage: ember-down NAME*"
check "and finds the applets beside it without PATH" 0 "ember-down $("$EMBER" --version | awk '{print $2}')" \
	env PATH=/usr/bin:/bin "$root/usr/local/bin/ember-down" --version

## bad input: 100, one line and its hint, and nothing at all changed
ember-init init -q --instance-id c0de
before=$(world)
bad() { # bad TITLE MESSAGE-PATTERN SCRIPT ARG...
	local title=$1 pat=$2
	shift 2
	check "$title: 100" 100 "" "$@"
	like "  says so" "$T_ERR" "$pat"
	is "  and nothing changed (no address, TAP, CID, rule, record, lock or file)" "$(world)" "$before"
}
bad "no name" "*a VM name is needed*" "$UP" --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "two names" "*unexpected operand 'b'*" "$UP" a b --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "a name with a blank" "*invalid VM name 'a b'*" "$UP" "a b" --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "a name with a metacharacter" "*invalid VM name 'a;rm'*" "$UP" "a;rm" --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "a name with a slash" "*invalid VM name '../x'*" "$UP" "../x" --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "a name in capitals" "*invalid VM name 'Web'*" "$UP" Web --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "a name of 33 characters" "*invalid VM name*" "$UP" "$(printf 'a%.0s' {1..33})" --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "a name that looks like an option, after --" "*invalid VM name '-j'*" "$UP" --rootfs "$ROOTFS" --kernel "$KERNEL" -- -j
cp "$KERNEL" "$T_TMP/a b"
bad "a kernel path with a blank" "*kernel path '$T_TMP/a b' holds a blank*" "$UP" web --rootfs "$ROOTFS" --kernel "$T_TMP/a b"
cp "$ROOTFS" "$T_TMP/r\$(id)"
bad "a rootfs path with \$(...)" "*rootfs path '$T_TMP/r\$(id)' holds*" "$UP" web --rootfs "$T_TMP/r\$(id)" --kernel "$KERNEL"
cp "$ROOTFS" "$T_TMP/r;x"
bad "a rootfs path with ;" "*rootfs path*holds*" "$UP" web --rootfs "$T_TMP/r;x" --kernel "$KERNEL"
bad "an initrd path with a newline" "*initrd path '$T_TMP/i?x' holds*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --initrd "$T_TMP/i
x"
bad "a state directory with a blank" "*state directory path*holds*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --state-dir "$T_TMP/s t"
bad "an empty --state-dir" "*--state-dir needs a directory*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --state-dir ""
bad "an empty EMBER_STATE_DIR" "*EMBER_STATE_DIR is set but empty*" env EMBER_STATE_DIR= "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "a kernel that does not exist" "*kernel '$T_TMP/nope' is not a readable regular file*" "$UP" web --rootfs "$ROOTFS" --kernel "$T_TMP/nope"
bad "a directory as rootfs" "*rootfs '$T_TMP' is not a readable regular file or block device*" "$UP" web --rootfs "$T_TMP" --kernel "$KERNEL"
bad "no --kernel" "*--kernel PATH is required*" "$UP" web --rootfs "$ROOTFS"
bad "neither --image nor --rootfs" "*--image IMG or --rootfs PATH is required*" "$UP" web --kernel "$KERNEL"
bad "both --image and --rootfs" "*--image and --rootfs exclude each other*" "$UP" web --image base --rootfs "$ROOTFS" --kernel "$KERNEL"
bad "an invalid image name" "*invalid image name 'Base'*" "$UP" web --image Base --kernel "$KERNEL"
bad "--size without --image" "*--size goes with --image*" "$UP" web --rootfs "$ROOTFS" --size 1G --kernel "$KERNEL"
bad "--vcpus not a number" "*--vcpus 'two' is not a number*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --vcpus two
bad "--memory not a number" "*--memory '1G' is not a number*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --memory 1G
bad "--wait not a number" "*--wait '5s' is not a number*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --wait 5s
bad "--allow with --no-nat" "*--allow goes not with --no-nat*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --no-nat --allow 10.0.0.0/8
bad "--uplink with --no-nat" "*--uplink goes not with --no-nat*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --no-nat --uplink up0
bad "an unknown option" "*unknown option '--cpus'*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --cpus 2
bad "an option given twice" "*option '--kernel' given twice*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --kernel "$KERNEL"
bad "a flag with a value" "*option '--no-nat' takes no value*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --no-nat=yes
bad "an option without its value" "*option '--kernel' needs a value*" "$UP" web --rootfs "$ROOTFS" --kernel
bad "ember-down's option given to ember-up" "*unknown option '--delete'*" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --delete
bad "ember-up's option given to ember-down" "*unknown option '--kernel'*" "$DOWN" web --kernel "$KERNEL"
bad "ember-down: a bad name" "*invalid VM name 'a b'*" "$DOWN" "a b"
bad "ember-down: --timeout not a number" "*--timeout 'soon' is not a number*" "$DOWN" web --timeout soon
bad "ember-down: no name" "*a VM name is needed*" "$DOWN"
check "no installation: the first applet says so (100), and nothing is made" 100 "" "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" --state-dir "$T_TMP/none"
like "  in its own words" "$T_ERR" "ember-ipalloc: no ember installation in '$T_TMP/none'*"
ok "  no directory appeared" test ! -e "$T_TMP/none"

## a failing step undoes what this run made, in reverse, and exits with the applet's code
# Each applet ember-up runs before ember-vm, made to fail in turn.
for step in "ember-ipalloc alloc" "ember-tap create" "ember-cidalloc alloc"; do
	check "$step failing (102): ember-up exits 102" 102 "" shim SHIM_FAIL="${step/ /:}" SHIM_RC=102 "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL"
	is "  with the applet's message, last" "$(tail -1 <<<"$T_ERR")" "${step%% *}: injected failure"
	is "  and nothing of web is left" "$(world)" "$before"
done
check "a shown step failing otherwise than 'no' (ember-tap show: 111): exit 111" 111 "" shim SHIM_FAIL=ember-tap:show SHIM_RC=111 "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL"
is "  and the address it took is given back" "$(world)" "$before"

# what was there before the run stays
ember-ipalloc alloc web -q
ember-tap create web --address "$(ember-ipalloc show web | awk '{print $3 "/" $4}')" -q
had=$(world)
check "with web's address and TAP made before: ember-cidalloc failing" 111 "" shim SHIM_FAIL=ember-cidalloc:alloc "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL"
is "  undoes only the run's own: the address and the TAP stay" "$(world)" "$had"
check "with -v, each applet run is shown with its exit code" 111 "" shim SHIM_FAIL=ember-cidalloc:alloc "$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" -v
like "  (the undo included)" "$T_ERR" "*ember-up: ember-ipalloc show web -q (exit 0, *ms)*ember-cidalloc alloc web -q (exit 111, *ember-cidalloc release web -q (exit 0, *"
ok "  and never a release of what was there" bash -c "! grep -q -e 'ember-tap delete' -e 'ember-ipalloc release' <<<\"\$1\"" _ "$T_ERR"
ember-tap delete web -q
ember-ipalloc release web -q
is "(web taken down by hand)" "$(world)" "$before"

## ember-down: a failing step is reported; the address goes only after the TAP
ember-ipalloc alloc web -q
ember-tap create web --address "$(ember-ipalloc show web | awk '{print $3 "/" $4}')" -q
ember-cidalloc alloc web -q
check "ember-down --delete, ember-tap delete failing (111): exit 111" 111 "" shim SHIM_FAIL=ember-tap:delete "$DOWN" web --delete
is "  with the applet's message, last" "$(tail -1 <<<"$T_ERR")" "ember-tap: injected failure"
ok "  the CID went meanwhile (the steps beside the TAP's ran)" bash -c '! ember-cidalloc show web -q'
ok "  the address stays while the TAP that carries it does" ember-ipalloc show web -q
check "ember-down --delete again finishes it" 0 "" "$DOWN" web --delete
is "  and nothing of web is left" "$(world)" "$before"

## a signal: INT, TERM and HUP undo the same way; ember-up then dies of it
for sig in INT TERM HUP; do
	pause_at "ember-cidalloc:alloc"
	# (exec: $! is ember-up itself; INT is not ignored, as it is for a background job)
	(PATH=$SHIM_BIN:$PATH exec env --default-signal=INT SHIM_PAUSE=ember-cidalloc:alloc \
		"$UP" web --rootfs "$ROOTFS" --kernel "$KERNEL" >"$T_TMP/sig.out" 2>"$T_TMP/sig.err") &
	pid=$!
	ok "SIG$sig: ember-up reached ember-cidalloc alloc, which made the CID" paused
	kill -s "$sig" "$pid"
	resume
	{ wait "$pid"; } 2>/dev/null
	is "  ember-up dies of SIG$sig" "$?" $((128 + $(kill -l "$sig")))
	is "  having undone the CID, the TAP and the address" "$(world)" "$before"
	is "  and printed nothing" "$(cat "$T_TMP/sig.out")" ""
done

done_testing
