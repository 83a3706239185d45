#!/usr/bin/env bash
# Options belong to verbs (issue 10 §1, issue 15 items 8 and 11): every applet
# parses its command line with the same common code, so an option given to
# the wrong verb, an unknown one, a prefix of one, one given twice, a value
# for a flag, and "--" all behave the same everywhere; --help is rendered
# from the same table, and the README lists the same options.
. "$(dirname "$0")/../lib.sh"

COMMON="state-dir json quiet verbose help version"
# The applets built on the command table (the stubs still print their own usage).
APPLETS=$(for a in $(ember --list); do ember "${a#ember-}" --help | grep -q '^options:' &&
	ember "${a#ember-}" --help | grep -Eq '^  [a-z]+ .*' && echo "$a"; done)

# help_verbs APPLET: one line per verb: "verb --opt --opt ..." (from its synopsis)
help_verbs() {
	"$1" --help | awk '/^options:/ { exit } /^  [a-z]/ { sub(/^  /, ""); sub(/  .*/, ""); print }' |
		while read -r verb rest; do
			printf '%s' "$verb"
			grep -oE -- '--[a-z][a-z-]*' <<<"$rest" | tr '\n' ' ' | sed 's/^/ /'
			echo
		done
}
# help_options APPLET: "name arg" per option of its own (arg '-' for a flag)
help_options() {
	"$1" --help | sed -n '/^options:/,/^$/p' |
		sed -nE 's/^  (-., |    )--([a-z][a-z-]*)( ([^ ]+))?( .*)?$/\2 \4/p' |
		while read -r name arg; do
			case " $COMMON " in *" $name "*) continue ;; esac
			echo "$name ${arg:--}"
		done
}
# operands APPLET VERB: valid stand-ins for the operands its synopsis names
operands() {
	"$1" --help | awk -v v="$2" '/^options:/ { exit } /^  [a-z]/ { sub(/^  /, ""); sub(/  .*/, ""); if ($1 == v) print }' |
		grep -oE '(^| )[A-Z][A-Z_]*(\.\.\.)?' | while read -r w; do
		case $w in
		OWNER | NAME | VOLUME) printf 'vm1 ' ;;
		IMAGE) printf 'img1 ' ;;
		*) printf 'x ' ;;
		esac
	done
}

nowhere=$T_TMP/no-such-installation

## every applet, every verb, every option: taken where --help lists it, refused elsewhere
for a in $APPLETS; do
	opts=$(help_options "$a")
	while read -r verb listed; do
		ops=$(operands "$a" "$verb")
		while read -r name arg; do
			[ -n "$name" ] || continue
			if [ "$arg" = - ]; then given=(--"$name"); else given=(--"$name" x); fi
			# shellcheck disable=SC2086
			"$a" "$verb" $ops "${given[@]}" --state-dir "$nowhere" >"$T_TMP/o" 2>"$T_TMP/e"
			rc=$?
			case " $listed " in
			*" --$name "*)
				if grep -q "goes with" "$T_TMP/e"; then
					t_fail "$a $verb takes --$name, as its --help says" "$(cat "$T_TMP/e")"
				else t_pass "$a $verb takes --$name, as its --help says"; fi
				;;
			*)
				if [ "$rc" = 100 ] && grep -q -- "^$a: --$name goes with .*, not with '$verb'\$" "$T_TMP/e" &&
					[ ! -s "$T_TMP/o" ]; then
					t_pass "$a $verb refuses --$name (100, one message)"
				else
					t_fail "$a $verb refuses --$name (100, one message)" "rc $rc" "$(cat "$T_TMP/e")"
				fi
				;;
			esac
		done <<<"$opts"
	done < <(help_verbs "$a")
done
ok "nothing was created by any of that" test ! -e "$nowhere"

## the same message everywhere, naming the verbs that take the option
check "ipalloc: --mode with release" 100 "" ember-ipalloc release vm1 --mode p2p
like "  names where it goes" "$T_ERR" "ember-ipalloc: --mode goes with 'alloc', not with 'release'*"
check "init: --purge with init" 100 "" ember-init init --purge
like "  names where it goes" "$T_ERR" "ember-init: --purge goes with 'deinit', not with 'init'*"
check "tap: --all with show" 100 "" ember-tap show vm1 --all
like "  names where it goes" "$T_ERR" "ember-tap: --all goes with 'list', not with 'show'*"
check "nat: --guest-ip with flush" 100 "" ember-nat flush --guest-ip 10.0.0.2
like "  names every verb that takes it" "$T_ERR" "ember-nat: --guest-ip goes with 'up' and 'down', not with 'flush'*"
check "pool: --size with delete" 100 "" ember-pool delete vm1 --size 1G
like "  names every verb that takes it" "$T_ERR" \
	"ember-pool: --size goes with 'create', 'grow' and 'clone', not with 'delete'*"

## long options by their exact name only
check "a prefix of an option is unknown" 100 "" ember-ipalloc alloc vm1 --sub 10.0.0.0/24
like "  by the name given" "$T_ERR" "ember-ipalloc: unknown option '--sub'*"
check "a prefix of a common option too" 100 "" ember-init show --stat "$T_TMP"
like "  by the name given" "$T_ERR" "ember-init: unknown option '--stat'*"
check "--json=yes: a flag takes no value" 100 "" ember-ipalloc list --json=yes
like "  says so" "$T_ERR" "ember-ipalloc: option '--json' takes no value*"
check "--all=1 too" 100 "" ember-tap list --all=1
like "  says so" "$T_ERR" "ember-tap: option '--all' takes no value*"
check "--subnet=CIDR is a value" 100 "" ember-ipalloc list --subnet=10.0.0.0/24 --state-dir "$nowhere"
like "  taken (the installation is what is missing)" "$T_ERR" "*no ember installation*"

## single-valued options once
check "--subnet twice" 100 "" ember-ipalloc alloc vm1 --subnet 10.0.0.0/24 --subnet 10.1.0.0/24
like "  refused, not the last taken" "$T_ERR" "ember-ipalloc: option '--subnet' given twice*"
check "--state-dir twice" 100 "" ember-init show --state-dir "$T_TMP/a" --state-dir "$T_TMP/b"
like "  refused" "$T_ERR" "*option '--state-dir' given twice*"
check "a repeatable option may repeat" 100 "" ember-ipalloc alloc vm1 --reserve 10.0.0.1 --reserve 10.0.0.2 \
	--state-dir "$nowhere"
like "  (the installation is what is missing)" "$T_ERR" "*no ember installation*"

## an empty state directory, from the option or the environment
check "--state-dir ''" 100 "" ember-ipalloc list --state-dir ''
check "EMBER_STATE_DIR=''" 100 "" env EMBER_STATE_DIR= ember-ipalloc list
like "  refused, never read as the default" "$T_ERR" "ember-ipalloc: EMBER_STATE_DIR is set but empty*"
check "EMBER_STATE_DIR='' with --state-dir: the option wins" 100 "" \
	env EMBER_STATE_DIR= ember-ipalloc list --state-dir "$nowhere"
like "  (the installation is what is missing)" "$T_ERR" "*no ember installation in*"

## "--" ends the options: what follows is an operand, never an option
ember-init init -q
check "an owner after -- is an operand" 1 "" ember-ipalloc show -q -- vm1
check "'--json' after -- is an operand, not the option" 100 "" ember-ipalloc show -- --json
like "  (an invalid owner)" "$T_ERR" "ember-ipalloc: invalid owner '--json'*"
check "-- before the verb: no verb" 100 "" ember-ipalloc -- list
like "  says so" "$T_ERR" "*a verb is needed*"

## echoed values: one line, quoted, escaped and clipped
check "a newline in an owner" 100 "" ember-ipalloc show "$(printf 'a\nb')"
is "  the message is one line (and its hint)" "$(wc -l <<<"$T_ERR")" 2
like "  escaped" "$T_ERR" "ember-ipalloc: invalid owner 'a\\\\nb'*"
check "an escape sequence in a verb" 100 "" ember-ipalloc "$(printf 'x\033[2J')"
like "  escaped" "$T_ERR" "ember-ipalloc: unknown verb 'x\\\\x1b\\[2J'*"
long=$(printf 'a%.0s' {1..10000})
check "a 10 KB owner" 100 "" ember-ipalloc show "$long"
like "  clipped, the quote kept" "$T_ERR" "ember-ipalloc: invalid owner 'aaaa*aaa...'"$'\n'"hint: *"
check "an unknown option with a control byte" 100 "" ember-ipalloc list "$(printf -- '--x\001y=1')"
like "  escaped" "$T_ERR" "ember-ipalloc: unknown option '--x\\\\x01y'*"
check "a newline in an option's value (lib's message)" 100 "" ember-ipalloc alloc vm1 --subnet "$(printf '10.0.0.0/8\nx\033[1m')"
is "  one line" "$(wc -l <<<"$T_ERR")" 1
like "  escaped" "$T_ERR" "ember-ipalloc: invalid subnet '10.0.0.0/8\\\\nx\\\\x1b\\[1m': *"
check "a 10 KB option value" 100 "" ember-ipalloc alloc vm1 --subnet "$long"
like "  clipped, its closing quote and the cause kept" "$T_ERR" "ember-ipalloc: invalid subnet 'aaa*aaa...': a.b.c.d/prefix expected*"
check "hints say 'an owner'" 100 "" ember-ipalloc show 'Bad!'
like "  not 'a owner'" "$T_ERR" "*hint: an owner is 1 to 32 characters*"

## operands are checked before anything else
check "pool delete 'Bad!': 100 before the kernel is asked" 100 "" ember-pool delete 'Bad!'
like "  names it" "$T_ERR" "ember-pool: invalid volume 'Bad!'*"
check "pool activate ''" 100 "" ember-pool activate ''
check "pool deactivate of a bad name" 100 "" ember-pool deactivate 'a b'
check "pool import of a bad image" 100 "" ember-pool import 'Img' /dev/null
check "tap create of a bad owner, whatever the options" 100 "" ember-tap create 'X' --address 10.0.0.1/30

## --help and the README list the same options (its synopsis and option table)
for a in $APPLETS; do
	readme=$(awk -v s="## $a" '$0 == s { on = 1; next } /^## / { on = 0 }
		on && /^```/ { blocks++; next } on && (blocks == 1 || /^\| `--/)' "$T_TOP/README.md" |
		grep -oE -- '--[a-z][a-z-]*' | sed 's/^--//' | sort -u |
		while read -r o; do case " $COMMON " in *" $o "*) ;; *) echo "$o" ;; esac; done | tr '\n' ' ')
	help=$(help_options "$a" | cut -d' ' -f1 | sort -u | tr '\n' ' ')
	is "$a: --help and its README section list the same options" "$readme" "$help"
done

echo "1..$T_N"
[ "$T_FAILED" = 0 ]
