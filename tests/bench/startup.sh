#!/usr/bin/env bash
# Startup cost of an applet that needs neither libcurl nor libdevmapper
# (ember-init show on an existing state dir) against a plain C program that
# prints one line: the median of per-round ratios, rounds interleaved. Goal: <= 1.5x.
set -eu
dir=$BENCH_TMP/startup
mkdir -p "$dir/bin"
ln -sf "$EMBER" "$dir/bin/ember-init"
"$dir/bin/ember-init" init -q --state-dir "$dir/state"
rounds=31 reps=50
read -r ember_us hello_us ratio < <("$BENCH_TMP/interleave" $rounds $reps \
	"$dir/bin/ember-init" show --state-dir "$dir/state" -- "$BENCH_TMP/hello")
echo "startup: ember-init show ${ember_us} us, plain C hello ${hello_us} us per start"
echo "startup: ratio ember/hello (median of $rounds interleaved rounds of $reps starts each): ${ratio}x (goal <= 1.5x)"
