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

done_testing
