#!/usr/bin/env bash
# ember-agent and bad requests, straight at its Unix socket: each gets an
# error reply with a code (and the request's id) and the agent goes on
# serving that connection where the framing allows, and every other one:
# after each case a ping on a new connection answers. Also the connection
# bound, a stalled half request, and frames left over from a request that
# ended early.
. "$(dirname "$0")/../lib.sh"

BUILD=${BUILD:-$T_TOP/build}
case $BUILD in /*) ;; *) BUILD=$T_TOP/$BUILD ;; esac
CLIENT=$BUILD/tests/agent-client
[ -x "$CLIENT" ] || { echo "Bail out! no test client at $CLIENT (make $BUILD/tests/agent-client)"; exit 1; }
VERSION=$("$EMBER" --version | cut -d' ' -f2)

SOCK=$T_TMP/agent.sock
ember-agent serve --uds "$SOCK" --max-connections 16 2>"$T_TMP/agent.err" &
AGENT=$!
at_exit "kill $AGENT"
for ((i = 0; i < 100; i++)); do
	"$CLIENT" --uds "$SOCK" ping >/dev/null 2>&1 && break
	sleep 0.05
done
C() { "$CLIENT" --uds "$SOCK" "$@"; }
# send N TITLE: stdin sent as is on one connection, N reply lines in $T_OUT
send() {
	cat >"$T_TMP/req"
	check "$2" 0 "*" C raw "$1" "$T_TMP/req"
}
# raw TITLE EXPECTED_LINES: stdin sent as is, the replies compared (a glob
# when they hold a '*'), then a ping on a new connection
raw() {
	local title=$1 want=$2 n
	n=$(printf '%s\n' "$want" | wc -l)
	send "$n" "$title"
	if [[ $want == *'*'* ]]; then like "$title: the replies" "$T_OUT" "$want"; else is "$title: the replies" "$T_OUT" "$want"; fi
	check "then a new connection's ping answers" 0 "ok $VERSION 1" C ping
}

raw "invalid JSON, then a ping on the same connection" '{"error":{"code":"EBADREQ","message":"invalid JSON at byte 7"}}
{"id":2,"ok":true,"version":"'"$VERSION"'","protocol":1,"uptime_seconds":*}' <<'EOF2'
{"op":"ping
{"op":"ping","id":2}
EOF2
# the uptime varies: compare what comes before it
send 2 "the ping after invalid JSON answers on that connection" <<'EOF2'
nope
{"op":"ping","id":2}
EOF2
like "both replies" "$T_OUT" '{"error":{"code":"EBADREQ","message":"invalid JSON at byte 0"}}
{"id":2,"ok":true,"version":"'"$VERSION"'","protocol":1,"uptime_seconds":*}'

big=$T_TMP/big
{ printf '{"op":"ping","pad":"'; head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' x; printf '"}\n{"op":"ping","id":"after"}\n'; } >"$big"
check "a 2 MiB line: E2BIG, and the next line is served" 0 "*" C raw 2 "$big"
like "both replies" "$T_OUT" '{"error":{"code":"E2BIG","message":"a line is longer than 1048576 bytes"}}
{"id":"after","ok":true,*}'
check "then a new connection's ping answers" 0 "ok $VERSION 1" C ping

raw "an unknown op, its id echoed" '{"id":"u1","error":{"code":"EUNKNOWNOP","message":"unknown op '"'"'reboot'"'"'"}}' <<<'{"op":"reboot","id":"u1"}'
raw "no op" '{"id":3,"error":{"code":"EBADREQ","message":"a request needs '"'"'op'"'"'"}}' <<<'{"id":3}'
raw "a JSON array" '{"error":{"code":"EBADREQ","message":"a request is a JSON object"}}' <<<'[1,2]'
raw "a mistyped argv" '{"id":4,"error":{"code":"EBADREQ","message":"'"'"'argv'"'"' must be an array of strings"}}' <<<'{"op":"exec","id":4,"argv":"ls"}'
raw "a mistyped timeout_ms" '{"error":{"code":"EBADREQ","message":"'"'"'timeout_ms'"'"' must be a non-negative integer"}}' <<<'{"op":"exec","argv":["true"],"timeout_ms":"1"}'
raw "a mistyped path" '{"error":{"code":"EBADREQ","message":"'"'"'path'"'"' must be a string"}}' <<<'{"op":"read_file","path":1}'
raw "a mistyped mode" '{"error":{"code":"EBADREQ","message":"'"'"'mode'"'"' must be an octal string such as \"0644\""}}' <<<'{"op":"write_file","path":"/tmp/x","mode":"rw"}'
raw "a mistyped id" '{"error":{"code":"EBADREQ","message":"'"'"'id'"'"' must be a number or a string of at most 256 bytes"}}' <<<'{"op":"ping","id":{"a":1}}'
raw "blank lines are skipped" '{"id":5,"ok":true,*}' <<<'

{"op":"ping","id":5}'

# invalid base64 in a write_file frame: the error at once, the frames up to
# the end dropped, the target untouched, and the next request served
echo old >"$T_TMP/t"
send 2 "invalid base64 in a write_file frame" <<EOF2
{"op":"write_file","id":"w","path":"$T_TMP/t"}
{"data":"not base64!"}
{"data":"aGk="}
{"eof":true}
{"op":"ping","id":"p"}
EOF2
like "EBADREQ, then the ping" "$T_OUT" '{"id":"w","error":{"code":"EBADREQ","message":"'"'"'data'"'"' is not valid base64"}}
{"id":"p","ok":true,*}'
is "the target untouched" "$(cat "$T_TMP/t")" old
is "no temporary file left" "$(find "$T_TMP" -mindepth 1 -maxdepth 1 -name '*ember-*' | grep -c .)" 0
check "then a new connection's ping answers" 0 "ok $VERSION 1" C ping

send 2 "invalid base64 in a stdin frame ends the exec with the error" <<EOF2
{"op":"exec","id":"x","argv":["cat"],"stdin":true}
{"stdin":"%%%%"}
{"stdin_eof":true}
{"op":"ping","id":"p"}
EOF2
like "EBADREQ, then the ping" "$T_OUT" '{"id":"x","error":{"code":"EBADREQ","message":"'"'"'stdin'"'"' is not valid base64"}}
{"id":"p","ok":true,*}'
check "then a new connection's ping answers" 0 "ok $VERSION 1" C ping

# stdin frames after the command ended are dropped up to stdin_eof
send 3 "stdin frames past the end of the command are dropped" <<'EOF2'
{"op":"exec","id":"t","argv":["true"],"stdin":true}
{"stdin":"aGk="}
{"stdin":"aGk="}
{"stdin_eof":true}
{"op":"ping","id":"p"}
{"stdin":"aGk="}
EOF2
like "the result, the ping, then a stray frame is an error" "$T_OUT" '{"id":"t","exit_code":0,"signal":null,"timed_out":false,"duration_ms":*}
{"id":"p","ok":true,*}
{"error":{"code":"EBADREQ","message":"a request needs '"'"'op'"'"'"}}'

send 3 "every reply line carries the id" <<<'{"op":"exec","id":"e1","argv":["sh","-c","echo o; echo e >&2"]}'
like "stdout, stderr, result" "$(sort <<<"$T_OUT")" '{"id":"e1","exit_code":0,"signal":null,"timed_out":false,"duration_ms":*}
{"id":"e1","stderr":"ZQo="}
{"id":"e1","stdout":"bwo="}'

# a stalled half request: the others are served meanwhile
printf '{"op":"pi' | "$CLIENT" --uds "$SOCK" hold &
holder=$!
at_exit "kill $holder"
check "a half request stalls; a ping on another connection answers" 0 "ok $VERSION 1" C ping
check "and an exec" 0 "hi" C exec -- echo hi
kill "$holder"
wait "$holder" 2>/dev/null

# the connection bound (16 here): 1,000 at once, past it EBUSY and closed
# (the client holds every connection open until all have answered; a
# connection of the case before may still hold its slot a moment)
check "1,000 connections at once" 0 "*" C flood 1000
like "each answered: a ping or EBUSY" "$T_OUT" "ok=* busy=* other=0"
okn=$(sed 's/ok=\([0-9]*\) busy=\([0-9]*\).*/\1/' <<<"$T_OUT")
busyn=$(sed 's/ok=\([0-9]*\) busy=\([0-9]*\).*/\2/' <<<"$T_OUT")
ok "some served ($okn), at most the bound of 16" test "$okn" -ge 1 -a "$okn" -le 16
is "the rest refused" "$busyn" $((1000 - okn))
check "then a new connection's ping answers" 0 "ok $VERSION 1" C ping
held=()
for i in $(seq 1 16); do
	"$CLIENT" --uds "$SOCK" hold </dev/null &
	held+=($!)
done
# the holders connect in the background: wait until all 16 are served
for ((i = 0; i < 200; i++)); do
	[ "$(pgrep -c -P "$AGENT")" = 16 ] && break
	sleep 0.05
done
check "the 17th connection: EBUSY, said plainly" 111 "" C ping
is "the message" "$T_ERR" "agent-client: the agent refused ping: too many connections: the agent serves 16 at once (EBUSY)"
kill "${held[@]}"
wait "${held[@]}" 2>/dev/null
for ((i = 0; i < 200; i++)); do C ping >/dev/null 2>&1 && break; sleep 0.05; done
check "once they close, a ping answers again" 0 "ok $VERSION 1" C ping
ok "the agent is still the same process" kill -0 "$AGENT"

done_testing
