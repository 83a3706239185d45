#!/usr/bin/env bash
# One list of test hooks (issue 10 §5): every crash_point/fail_point name in
# the code is in the table of tests/README.md with its kind, every name in
# the table is in the code, and every name is reached by some test (a test
# that sets EMBER_TEST_CRASH/EMBER_TEST_FAIL to it).
. "$(dirname "$0")/../lib.sh"
cd "$T_TOP" || exit 1

# "name kind" of every point in the code: the string literals in the calls
code=$(grep -ohE '\<(crash|fail)_point\([^;]*' lib/*.c platform/*.c applets/*.c |
	grep -v 'const char \*name' | while read -r call; do
	kind=${call%%_point*}
	grep -oE '"[a-z0-9-]+"' <<<"$call" | tr -d '"' | sed "s/\$/ $kind/"
done | sort -u)
listed=$(sed -nE 's/^\| `([a-z0-9-]+)` \| (crash|fail) \|.*/\1 \2/p' tests/README.md | sort -u)

ok "the code has test hooks" test -n "$code"
is "every point in the code is listed, with its kind, and every listed one is in the code" "$code" "$listed"
ok "the table names each point once" test "$(sed -nE 's/^\| `([a-z0-9-]+)` .*/\1/p' tests/README.md | sort | uniq -d)" = ""
ok "no hook reads another variable" test -z "$(grep -nE 'getenv\("EMBER_[A-Z_]*(CRASH|FAIL)' lib/*.c platform/*.c applets/*.c |
	grep -v 'lib/crash.c')"

# reached: a test sets the variable to the name, literally, or through a loop
# variable (EMBER_TEST_CRASH=pool-$step with the rest of the name in that file)
reached() {
	local name=$1 f
	for f in tests/cli/*.sh tests/kernel/*.sh tests/unit/*.c; do
		grep -qE "EMBER_TEST_(CRASH|FAIL)=([a-z0-9,-]*,)?$name(\$|[^a-z0-9-])" "$f" && return 0
		if grep -qE 'EMBER_TEST_(CRASH|FAIL)=[a-z]+-\$step' "$f"; then
			local prefix rest
			prefix=$(grep -oE 'EMBER_TEST_(CRASH|FAIL)=[a-z]+-\$step' "$f" | head -1 | sed -E 's/.*=([a-z]+-)\$step/\1/')
			rest=${name#"$prefix"}
			[ "$rest" != "$name" ] && grep -qE "(^|[ \"])$rest([ \";]|\$)" "$f" && return 0
		fi
	done
	return 1
}
while read -r name kind; do
	[ -n "$name" ] || continue
	ok "$kind point $name is reached by a test" reached "$name"
done <<<"$listed"

echo "1..$T_N"
[ "$T_FAILED" = 0 ]
