# shellcheck shell=bash
# tests/lib.sh: sourced by every shell test file. Prints TAP on stdout.
#
# A test file is a list of small cases:
#   check TITLE RC EXPECTED_STDOUT CMD [ARG...]   run CMD, compare exit code and stdout
#                                                 (RC or EXPECTED_STDOUT '*' = any); after it,
#                                                 $T_OUT and $T_ERR hold what CMD printed
#   ok TITLE CMD [ARG...]                         pass when CMD exits 0
#   is TITLE GOT WANT                             pass when the two strings are equal
#   like TITLE GOT PATTERN                        pass when GOT matches the glob PATTERN
#   skip TITLE REASON                             one skipped case
#   skip_all REASON                               the whole group is skipped (prints why)
#   need_netns                                    re-run this file in a new network namespace
# Every file runs in its own temporary directory $T_TMP with a fresh state directory
# ($EMBER_STATE_DIR); new_state gives another one. The applets are on PATH as symlinks.
set -u
T_TOP=${T_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
EMBER=${EMBER:-$T_TOP/build/ember}
T_N=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ember-test.XXXXXX")
T_CLEANUP=()
T_OUT=
T_ERR=
T_RC=

t_cleanup() {
	local i
	for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUP[i]}" >/dev/null 2>&1 || true
	done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# at_exit CMD: run CMD (a string) when the file ends, last registered first.
at_exit() { T_CLEANUP+=("$1"); }

if [ ! -x "$EMBER" ]; then
	echo "Bail out! no ember binary at $EMBER (run make)"
	exit 1
fi
T_BIN=$T_TMP/bin
mkdir -p "$T_BIN"
ln -s "$EMBER" "$T_BIN/ember"
for t_a in $("$EMBER" --list); do ln -s "$EMBER" "$T_BIN/$t_a"; done
unset t_a
export PATH="$T_BIN:$PATH"

new_state() {
	T_STATES=$((${T_STATES:-0} + 1))
	EMBER_STATE_DIR=$T_TMP/state$T_STATES
	export EMBER_STATE_DIR
}
new_state

t_pass() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1"
}
t_fail() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	shift
	local line
	for line in "$@"; do printf '%s\n' "$line" | sed 's/^/#   /'; done
}

check() {
	local title=$1 rc=$2 want=$3
	shift 3
	"$@" >"$T_TMP/.out" 2>"$T_TMP/.err" </dev/null
	T_RC=$?
	T_OUT=$(cat "$T_TMP/.out")
	T_ERR=$(cat "$T_TMP/.err")
	if [ "$rc" != "*" ] && [ "$T_RC" != "$rc" ]; then
		t_fail "$title" "command: $*" "exit code $T_RC, wanted $rc" "stdout: $T_OUT" "stderr: $T_ERR"
	elif [ "$want" != "*" ] && [ "$T_OUT" != "$want" ]; then
		t_fail "$title" "command: $*" "stdout:" "$T_OUT" "wanted:" "$want" "stderr: $T_ERR"
	else
		t_pass "$title"
	fi
}

ok() {
	local title=$1
	shift
	if "$@" >"$T_TMP/.out" 2>"$T_TMP/.err" </dev/null; then
		t_pass "$title"
	else
		t_fail "$title" "command failed: $*" "$(cat "$T_TMP/.out" "$T_TMP/.err")"
	fi
}

is() {
	if [ "$2" == "$3" ]; then t_pass "$1"; else t_fail "$1" "got:" "$2" "wanted:" "$3"; fi
}

like() {
	# shellcheck disable=SC2053
	if [[ $2 == $3 ]]; then t_pass "$1"; else t_fail "$1" "got:" "$2" "wanted a match of: $3"; fi
}

skip() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1 # SKIP $2"
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

# need_root_netns: the file re-executes itself inside a fresh network namespace
# (unshare -n), so TAPs and iptables rules never touch the host's own network.
need_netns() {
	[ "$(id -u)" = 0 ] || skip_all "needs root for a network namespace"
	if [ -z "${T_IN_NETNS:-}" ]; then
		command -v unshare >/dev/null || skip_all "unshare not found"
		unshare -n true 2>/dev/null || skip_all "network namespaces unavailable"
		T_IN_NETNS=1 exec unshare -n -- bash "$0" "$@"
	fi
	ip link set lo up
}

# netns VAR: another network namespace, held by a sleeping process of its own
# (killed when the file ends); its pid in VAR, for nsenter -t "$VAR" -n.
# Started here, not in a command substitution, which would wait for it.
netns() {
	unshare -n sleep 100000 </dev/null >/dev/null 2>&1 &
	local pid=$!
	at_exit "kill $pid"
	while [ "$(readlink /proc/$pid/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done
	printf -v "$1" %s "$pid"
}

# fnv1a32 STRING: FNV-1a-32 in shell arithmetic, independent of the C one.
fnv1a32() {
	local s=$1 h=2166136261 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(((h ^ c) * 16777619 & 0xffffffff))
	done
	echo "$h"
}

# derived_id DIR / derived_octet ID: the instance id of a state directory and
# the second octet of its default subnet, as DESIGN §3 defines them.
derived_id() { printf '%04x\n' $(($(fnv1a32 "$1") & 0xffff)); }
derived_octet() { echo $((($(fnv1a32 "$1") >> 8) & 0xff)); }

# iptables_backend [B]: the iptables backend to test on (B, else the one
# `iptables` is), into $B; the whole file is skipped when it is missing.
iptables_backend() {
	B=${1:-}
	if [ -z "$B" ]; then
		case $(iptables --version 2>/dev/null) in
		*nf_tables*) B=nft ;;
		*legacy*) B=legacy ;;
		*) skip_all "iptables not found" ;;
		esac
	fi
	command -v "iptables-$B-save" >/dev/null || skip_all "iptables-$B-save not found"
}

# wait_until CONDITION: poll the shell CONDITION (a string) until it holds,
# for at most a minute; 1 when it never did. A bound, never a proof.
wait_until() {
	local i
	for ((i = 0; i < 1200; i++)); do
		eval "$1" && return 0
		sleep 0.05
	done
	return 1
}

# stall_wrapper DIR PROGRAM PATTERN [INPUT]: DIR/PROGRAM runs the real
# PROGRAM, but an invocation whose arguments match the glob PATTERN (and,
# with INPUT, whose stdin has a line matching the regular expression INPUT)
# first logs its pid to $T_TMP/started and waits: the first one until
# $T_TMP/go exists, a later one until the first is over.
stall_wrapper() {
	mkdir -p "$1"
	printf '%s\n' '#!/bin/bash' \
		"in=$T_TMP/stall.in.\$\$" \
		'cat >"$in"' \
		"case \"\$*\" in $3)" \
		"	if grep -q -e '${4:-.}' \"\$in\" || [ -z '${4:-}' ]; then" \
		"	echo \$\$ >>$T_TMP/started" \
		"	first=\$(head -n 1 $T_TMP/started)" \
		'	for ((i = 0; i < 1200; i++)); do' \
		"		if [ \"\$first\" = \$\$ ]; then [ -e $T_TMP/go ] && break; else kill -0 \"\$first\" 2>/dev/null || break; fi" \
		'		sleep 0.05' \
		'	done' \
		'	fi' \
		'	;;' \
		'esac' \
		"exec $(command -v "$2") \"\$@\" <\"\$in\"" >"$1/$2"
	chmod +x "$1/$2"
}

# done_testing: the plan line; a file's exit code says whether anything failed.
done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" = 0 ]
}

# sanitized: 0 when $EMBER is an AddressSanitizer build. Its shadow memory
# and quarantine make a process's peak memory say nothing of ember's own, and
# it maps the sanitizer runtime (libasan, libubsan, libgcc_s, libstdc++).
sanitized() { ldd "$EMBER" 2>/dev/null | grep -q libasan; }
# under_64m TITLE KB: a peak memory bound, asserted on a plain build only.
under_64m() {
	if sanitized; then
		skip "$1" "a sanitizer build's peak memory is its shadow and quarantine (checked on the plain build)"
	else
		ok "$1" test "${2:-999999}" -lt 65536
	fi
}
# without_sanitizer LIBS: the space-separated library names of LIBS less the
# sanitizer runtime, on a sanitizer build (plain builds: LIBS as they are).
without_sanitizer() {
	if sanitized; then
		tr ' ' '\n' <<<"$1" | grep -vxE 'libasan|libubsan|libgcc_s|libstdc\+\+|' | tr '\n' ' '
	else
		printf '%s' "$1"
	fi
}
