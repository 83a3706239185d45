#!/usr/bin/env bash
# make install: the binary and one symlink per applet, from the one applet list.
. "$(dirname "$0")/../lib.sh"

root=$T_TMP/root
check "make install into DESTDIR succeeds" 0 "*" make -s -C "$T_TOP" BUILD="$(dirname "$EMBER")" -o "$EMBER" \
	install PREFIX=/usr/local DESTDIR="$root"
ok "the binary is installed" test -x "$root/usr/local/bin/ember"
want=$(sed -n 's/^APPLET(\([a-z]*\))$/ember-\1/p' "$T_TOP/applets/applets.def")
is "one symlink per applet in applets.def" "$(cd "$root/usr/local/bin" && find . -type l -printf '%f\n' | sort)" "$want"
is "which the binary lists too" "$(cd "$root/usr/local/bin" && ./ember --list)" "$want"
is "each points at ember" "$(find "$root/usr/local/bin" -type l -printf '%l\n' | sort -u)" ember
check "an installed applet runs by its name" 0 "ember-init 0.1.0" "$root/usr/local/bin/ember-init" --version
check "make install again is idempotent" 0 "*" make -s -C "$T_TOP" BUILD="$(dirname "$EMBER")" -o "$EMBER" \
	install PREFIX=/usr/local DESTDIR="$root"

## pkg-config only where a build rule needs it: on a fresh machine `make check`
## and `make demo` run scripts/install-deps before anything asks about packages
fake=$T_TMP/fakebin
mkdir -p "$fake"
printf '#!/bin/sh\necho "pkg-config $*" >>"%s"\necho "Package sqlite3 was not found" >&2\nexit 1\n' "$T_TMP/pc.log" >"$fake/pkg-config"
chmod +x "$fake/pkg-config"
# (MAKE=true: the recursive make that runs after install-deps is not run)
for target in clean uninstall check demo; do
	: >"$T_TMP/pc.log"
	check "make -n $target asks pkg-config nothing" 0 "*" env PATH="$fake:$PATH" make -n --no-print-directory -C "$T_TOP" MAKE=true "$target"
	is "  (its log is empty)" "$(cat "$T_TMP/pc.log")" ""
	is "  and prints no pkg-config error" "$T_ERR" ""
done
like "check and demo run install-deps first" "$T_OUT" "scripts/install-deps*"

done_testing
