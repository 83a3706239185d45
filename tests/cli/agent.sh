#!/usr/bin/env bash
# ember-agent straight at its Unix socket, with the test client
# (tests/agent/agent-client.c, on lib/agent_client.c): ping, exec (exit codes,
# signals, spawn failures, env, cwd, stdin, streaming under a memory bound, a
# timeout that ends the group, a grandchild holding the pipes, concurrency, a
# host that disconnects), read_file/write_file, what the agent loads and opens,
# PID 1's duties, the systemd unit.
. "$(dirname "$0")/../lib.sh"

BUILD=${BUILD:-$T_TOP/build}
case $BUILD in /*) ;; *) BUILD=$T_TOP/$BUILD ;; esac
CLIENT=$BUILD/tests/agent-client
[ -x "$CLIENT" ] || { echo "Bail out! no test client at $CLIENT (make $BUILD/tests/agent-client)"; exit 1; }
VERSION=$("$EMBER" --version | cut -d' ' -f2)

# start_agent SOCKET [PREFIX...]: ember-agent serve on SOCKET; sets AGENT_PID.
start_agent() {
	local sock=$1 i
	shift
	"$@" ember-agent serve --uds "$sock" 2>"$T_TMP/agent.err" &
	AGENT_PID=$!
	at_exit "kill $AGENT_PID"
	for ((i = 0; i < 100; i++)); do
		"$CLIENT" --uds "$sock" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "Bail out! ember-agent did not come up on $sock: $(cat "$T_TMP/agent.err")"
	exit 1
}
# Poll CMD until it succeeds, at most 10 s.
eventually() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

## usage
check "--help prints the usage" 0 "*" ember-agent --help
like "naming serve" "$T_OUT" "usage: ember-agent*serve*"
check "no verb: 100" 100 "" ember-agent
check "a bad --port: 100" 100 "" ember-agent serve --port 0
like "saying so" "$T_ERR" "ember-agent: --port must be a number from 1 to 4294967294, not '0'*"
check "a bad --max-connections: 100" 100 "" ember-agent serve --max-connections x
check "a path that is not a socket: 102" 102 "" ember-agent serve --uds "$T_TMP"
like "saying so" "$T_ERR" "ember-agent: unable to listen on '$T_TMP': not a socket"

# no state directory exists or is needed
export EMBER_STATE_DIR=$T_TMP/no-such-state
SOCK=$T_TMP/agent.sock
start_agent "$SOCK"
MAIN=$AGENT_PID
C() { "$CLIENT" --uds "$SOCK" "$@"; }

check "a socket another agent answers on: 102" 102 "" ember-agent serve --uds "$SOCK"
like "saying so" "$T_ERR" "*another program answers there"

## ping, status
check "ping" 0 "ok $VERSION 1" C ping
check "status" 0 "*" C status
like "with every figure" "$T_OUT" '{"hostname":"*","uptime_seconds":*,"load":\[*,*,*\],"memory_total_kb":*,"memory_available_kb":*,"processes":*,"pid":'"$MAIN"'}'

## exec
R=$T_TMP/result
check "exec true" 0 "" C exec --result "$R" -- true
is "exit_code 0, no signal, not timed out" "$(cut -d' ' -f1-3 "$R")" "0 - 0"
check "exec false" 1 "" C exec -- false
check "exit 7" 7 "" C exec --result "$R" --command 'exit 7'
is "exit_code 7" "$(cut -d' ' -f1-3 "$R")" "7 - 0"
check "stdout and stderr apart" 0 "out" C exec --command 'echo out; echo err >&2'
is "stderr" "$T_ERR" "err"
check "a program that kills itself with SIGKILL: 137" 137 "" C exec --result "$R" -- sh -c 'kill -9 $$'
is "signal 9, exit_code null" "$(cut -d' ' -f1-3 "$R")" "- 9 0"
rm -f "$R"
check "a missing program is an error, not an exit code" 1 "" C exec --result "$R" -- /no/such/program
is "ENOENT, said plainly" "$T_ERR" "agent-client: the agent refused exec: unable to run '/no/such/program': No such file or directory (ENOENT)"
ok "and no result line" test ! -e "$R"
check "a missing cwd: ENOENT" 1 "" C exec --cwd /no/such/dir -- true
like "naming it" "$T_ERR" "*unable to change to '/no/such/dir': No such file or directory ?ENOENT?"
check "env is added to the agent's" 0 "bar $HOME" C exec --env FOO=bar -- sh -c 'echo "$FOO $HOME"'
check "env overrides the agent's" 0 "/elsewhere" C exec --env HOME=/elsewhere -- sh -c 'echo "$HOME"'
check "cwd" 0 "/usr/share" C exec --cwd /usr/share -- pwd
check "no stdin: /dev/null" 0 "0" C exec --command 'wc -c'

head -c $((8 * 1024 * 1024)) /dev/urandom >"$T_TMP/in8"
want=$(sha256sum <"$T_TMP/in8")
got=$(C exec --stdin -- cat <"$T_TMP/in8" | sha256sum)
is "8 MiB of random stdin comes back byte-exact" "$got" "$want"
check "stdin to a command that reads none" 0 "" C exec --stdin -- true <"$T_TMP/in8"

# 256 MiB through: the agent's connection process reports its own peak
# (its child's $PPID) at the end, the client's is measured by time(1)
/usr/bin/time -f '%M' -o "$T_TMP/client.kb" "$CLIENT" --uds "$SOCK" exec --command \
	'head -c 268435456 /dev/zero; grep VmHWM /proc/$PPID/status >&2' 2>"$T_TMP/hwm" | wc -c >"$T_TMP/count"
is "256 MiB of output streamed whole" "$(cat "$T_TMP/count")" 268435456
conn_kb=$(awk '/VmHWM/ {print $2}' "$T_TMP/hwm")
main_kb=$(awk '/VmHWM/ {print $2}' /proc/$MAIN/status)
client_kb=$(tail -1 "$T_TMP/client.kb")
echo "# peak memory: agent connection ${conn_kb} kB, agent ${main_kb} kB, client ${client_kb} kB"
under_64m "the agent's connection stayed under 64 MiB" "$conn_kb"
under_64m "the agent stayed under 64 MiB" "$main_kb"
under_64m "the client stayed under 64 MiB" "$client_kb"

# a timeout: SIGTERM to the group, 2 s, SIGKILL, grandchildren included
check "a timeout: 124" 124 "" C exec --limit-ms 300 --result "$R" --command \
	"trap '' TERM; sh -c 'trap \"\" TERM; echo \$\$ >$T_TMP/gc; exec sleep 100' & sleep 100"
is "timed_out, killed by SIGKILL" "$(cut -d' ' -f1-3 "$R")" "- 9 1"
ms=$(cut -d' ' -f4 "$R")
ok "after the 2 s grace (${ms} ms)" test "$ms" -ge 2300
# the grandchild's sh exec'd sleep (SIGTERM still ignored): its pid was written
gc=$(cat "$T_TMP/gc" 2>/dev/null)
gc_gone() { [ -n "$gc" ] && [ ! -e "/proc/$gc/stat" ]; }
ok "the grandchild that ignored SIGTERM is gone (once init reaps it)" eventually gc_gone
check "a timeout the command beats" 0 "x" C exec --limit-ms 10000 -- echo x

# a grandchild holding the pipes: the reply comes 500 ms after the reap
t0=$(date +%s%N)
check "sh -c 'sleep 60 &' returns" 0 "" C exec --result "$R" --command "sleep 60 & echo \$! >$T_TMP/bg"
t1=$(date +%s%N)
at_exit "kill $(cat "$T_TMP/bg")"
echo "# returned after $(((t1 - t0) / 1000000)) ms (agent: $(cut -d' ' -f4 "$R") ms)"
ok "within a second" test $(((t1 - t0) / 1000000)) -lt 1000
ok "output written before the exit still comes" test "$(C exec --command 'sleep 60 & echo last' 2>&1)" = last

# 32 at once: each waits until all 32 have started
mkdir "$T_TMP/started"
pids=()
for i in $(seq 1 32); do
	C exec --limit-ms 20000 --command "touch $T_TMP/started/$i; while [ \$(ls $T_TMP/started | wc -l) -lt 32 ]; do sleep 0.05; done; echo $i" \
		>"$T_TMP/c$i.out" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
n=0
for i in $(seq 1 32); do [ "$(cat "$T_TMP/c$i.out")" = "$i" ] && n=$((n + 1)); done
is "32 concurrent execs all ran together" "$n" 32

# a host that disconnects mid-exec: the group goes
"$CLIENT" --uds "$SOCK" exec --command "echo \$\$ >$T_TMP/pg; sleep 600 & sleep 600" >/dev/null 2>&1 &
cpid=$!
ok "the command started" eventually test -s "$T_TMP/pg"
pg=$(cat "$T_TMP/pg")
ok "its group is there" kill -0 -- "-$pg"
kill -9 "$cpid"
wait "$cpid" 2>/dev/null
group_gone() { ! kill -0 -- "-$pg" 2>/dev/null; }
ok "after the client is killed the group is gone" eventually group_gone

## read_file, write_file
head -c $((100 * 1024 * 1024)) /dev/urandom >"$T_TMP/f100"
chmod 0751 "$T_TMP/f100"
mkdir "$T_TMP/g"
check "write_file of 100 MiB" 0 "104857600" C write "$T_TMP/f100" "$T_TMP/g/f"
is "same bytes" "$(sha256sum <"$T_TMP/g/f")" "$(sha256sum <"$T_TMP/f100")"
is "mode kept" "$(stat -c %a "$T_TMP/g/f")" 751
is "no temporary file left" "$(ls -A "$T_TMP/g")" f
check "read_file of 100 MiB" 0 "104857600 0751 104857600" C read "$T_TMP/g/f" "$T_TMP/back"
is "same bytes back" "$(sha256sum <"$T_TMP/back")" "$(sha256sum <"$T_TMP/f100")"
is "mode kept back" "$(stat -c %a "$T_TMP/back")" 751
echo old >"$T_TMP/g/o"
chmod 0640 "$T_TMP/g/o"
echo new >"$T_TMP/new"
check "write_file over a file keeps its mode" 0 "4" C write "$T_TMP/new" "$T_TMP/g/o" 0640
is "the new content" "$(cat "$T_TMP/g/o")" new
is "mode 0640" "$(stat -c %a "$T_TMP/g/o")" 640
check "a missing path: ENOENT" 1 "" C read /no/such/file "$T_TMP/x"
is "said plainly" "$T_ERR" "agent-client: the agent refused read_file: unable to open '/no/such/file': No such file or directory (ENOENT)"
ok "nothing written locally" test ! -e "$T_TMP/x"
check "a directory: EISDIR" 102 "" C read "$T_TMP/g" "$T_TMP/x"
like "said plainly" "$T_ERR" "*unable to read '$T_TMP/g': Is a directory (EISDIR)"
check "write_file into a missing directory: ENOENT" 1 "" C write "$T_TMP/new" /no/such/dir/f
check "write_file over a directory: EISDIR" 102 "" C write "$T_TMP/new" "$T_TMP/g"
echo '{"op":"read_file","id":1,"path":"'"$T_TMP"'/g/o","offset":1,"length":2}' >"$T_TMP/req"
check "read_file with offset and length" 0 '{"id":1,"data":"ZXc="}
{"id":1,"size":4,"mode":"0640","eof":true}' C raw 2 "$T_TMP/req"

# a write cut off half-way: the old file whole, no temporary file
printf '%s\n' '{"op":"write_file","path":"'"$T_TMP"'/g/o"}' '{"data":"aGFsZg=="}' | C raw 0
no_temp() { [ "$(ls -A "$T_TMP/g")" = "f
o" ]; }
ok "a write cut off leaves no temporary file" eventually no_temp
is "and the old file whole" "$(cat "$T_TMP/g/o")" new

# permission denied: an agent run as nobody
mkdir -m 0755 "$T_TMP/rootonly"
echo secret >"$T_TMP/rootonly/secret"
chmod 0600 "$T_TMP/rootonly/secret"
chmod 0711 "$T_TMP"
mkdir -m 0777 "$T_TMP/pub"
start_agent "$T_TMP/pub/nobody.sock" setpriv --reuid=nobody --regid=nogroup --clear-groups
NOBODY=$AGENT_PID
check "read_file as nobody of a root-only file: EACCES" 102 "" "$CLIENT" --uds "$T_TMP/pub/nobody.sock" read "$T_TMP/rootonly/secret" "$T_TMP/x"
like "said plainly" "$T_ERR" "*unable to open '$T_TMP/rootonly/secret': Permission denied (EACCES)"
check "write_file as nobody into a root-only directory: EACCES" 102 "" "$CLIENT" --uds "$T_TMP/pub/nobody.sock" write "$T_TMP/new" "$T_TMP/rootonly/f"
ok "nothing was made there" test "$(ls -A "$T_TMP/rootonly")" = secret
kill "$NOBODY"

## what the agent loads and opens: libc and libcjson, no state
maps() { sed -n 's|.* \(/[^ ]*\.so[^ ]*\)$|\1|p' "$1" | xargs -n1 basename | sed 's/[.-][0-9.]*so.*//; s/\.so.*//' | sort -u | tr '\n' ' '; }
is "the agent's process maps only libc, libm, libcjson and ld.so" "$(without_sanitizer "$(maps /proc/$MAIN/maps)")" "ld-linux-x86 libc libcjson libm "
C exec --command 'cat /proc/$PPID/maps' >"$T_TMP/conn.maps"
is "and so does a connection's after exec and the file ops" "$(without_sanitizer "$(maps "$T_TMP/conn.maps")")" "ld-linux-x86 libc libcjson libm "
ok "no state directory was made" test ! -e "$EMBER_STATE_DIR"
is "no database open" "$(for t_f in /proc/"$MAIN"/fd/*; do readlink "$t_f"; done | grep -c -e '\.db' -e sqlite)" 0

## PID 1: orphans reaped, SIGINT reboots (in a PID namespace, the reboot of
## its init ends it with SIGHUP)
if unshare --pid --fork --mount-proc true 2>/dev/null; then
	unshare --pid --fork --mount-proc ember-agent serve --uds "$T_TMP/pid1.sock" &
	ns=$!
	at_exit "kill -9 $ns"
	ok "the agent as PID 1 answers" eventually "$CLIENT" --uds "$T_TMP/pid1.sock" ping
	check "the agent is PID 1 there" 0 "*" "$CLIENT" --uds "$T_TMP/pid1.sock" exec --command "tr '\\0' ' ' </proc/1/cmdline"
	like "its command line" "$T_OUT" "ember-agent serve --uds $T_TMP/pid1.sock "
	check "a command leaving an orphan" 0 "" "$CLIENT" --uds "$T_TMP/pid1.sock" exec --command 'sleep 0.2 & exit 0'
	no_zombie() { [ -z "$("$CLIENT" --uds "$T_TMP/pid1.sock" exec --command 'grep -l "^State:.*Z" /proc/[0-9]*/status' 2>/dev/null)" ]; }
	ok "the orphan is reaped once it exits" eventually no_zombie
	kill -INT "$(pgrep -P "$ns")"
	ended() { ! kill -0 "$ns" 2>/dev/null || [ "$(cut -d' ' -f3 /proc/"$ns"/stat)" = Z ]; }
	eventually ended || kill -9 "$ns"
	wait "$ns"
	is "SIGINT to PID 1 is a reboot (the namespace's init ends by SIGHUP)" "$?" 129
else
	skip "PID 1" "no PID namespaces here"
fi

## SIGTERM ends an agent that is not PID 1, and its socket goes
kill -TERM "$MAIN"
wait "$MAIN"
is "SIGTERM: exit 0" "$?" 0
ok "the socket is removed" test ! -e "$SOCK"

## the systemd unit for guest images
root=$T_TMP/root
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
# the targets it orders against: the host's own units
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$T_TOP/scripts/ember-agent.service" "$root/etc/systemd/system/"
check "systemd-analyze verify: the binary missing is found" 1 "" systemd-analyze verify --root="$root" /etc/systemd/system/ember-agent.service
cp "$EMBER" "$root/usr/local/bin/ember"
ln -s ember "$root/usr/local/bin/ember-agent"
check "systemd-analyze verify of scripts/ember-agent.service" 0 "" systemd-analyze verify --root="$root" /etc/systemd/system/ember-agent.service
is "says nothing" "$T_ERR" ""

done_testing
