#!/usr/bin/env bash
# scripts/demo runs to its end, and each error it causes on purpose prints
# after the line that explains it, then its exit code.
. "$(dirname "$0")/../lib.sh"

check "the demo runs to its end" 0 "*" bash -c "EMBER='$EMBER' '$T_TOP/scripts/demo' 2>&1"
out=$T_OUT
like "  ending with the installation as JSON" "$out" '*the installation as JSON*{"state_dir":*}'
# each explained error: the explanation, the error (and its hint), its exit code
explained=$(awk '
	/\(its error follows\):$/ { want = 1; next }
	want == 1 && /^ember-[a-z]*: / { want = 2; next }
	want == 2 && /^hint: / { next }
	want == 2 && /^  exit [0-9]+$/ { print $2; want = 0; next }
	want { print "unexplained: " $0; want = 0 }
' <<<"$out")
is "two errors on purpose, each after its explanation, then its exit code" "$explained" "102
102"
is "and no other failing exit code printed" "$(grep -c 'exit [1-9]' <<<"$out")" 2

done_testing
