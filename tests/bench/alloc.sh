#!/usr/bin/env bash
# IP allocation against CNI's host-local IPAM plugin, one process per call
# for both: sequential alloc + release of 1,000 owners (goal: ember/host-local
# <= 0.33), 8 processes in parallel with 1,000 owners in all (allocations per
# second of each), and one ember alloc with 16,000 existing allocations
# against none (goal <= 1.5x). Prints figures; never fails on a time.
set -eu
dir=$BENCH_TMP/alloc
mkdir -p "$dir/bin"
ln -sf "$EMBER" "$dir/bin/ember-init"
ln -sf "$EMBER" "$dir/bin/ember-ipalloc"
HOST_LOCAL=${HOST_LOCAL:-/usr/lib/cni/host-local}
OWNERS=1000

# spawnrun: start a command N times (%d in an argument or environment value
# is the call's index), over P processes released together, stdin from a
# file; print the wall-clock seconds. Any failed call fails the run.
cat >"$dir/spawnrun.c" <<'EOF'
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *subst(const char *fmt, int i)
{
	char *s = malloc(strlen(fmt) + 16), *p = strstr(fmt, "%d");

	if (!p)
		return strcpy(s, fmt);
	sprintf(s, "%.*s%d%s", (int)(p - fmt), fmt, i, p + 2);
	return s;
}

int main(int argc, char **argv)
{
	int n = 1, procs = 1, first = 0, k, i, j, nenv = 0, status, failed = 0, go[2];
	const char *in = "/dev/null", *env[16];
	char *args[64], *envp[256];
	double t0;
	pid_t pid;

	for (k = 1; k < argc && strcmp(argv[k], "--") != 0; k += 2) {
		if (strcmp(argv[k], "-n") == 0) n = atoi(argv[k + 1]);
		else if (strcmp(argv[k], "-p") == 0) procs = atoi(argv[k + 1]);
		else if (strcmp(argv[k], "-i") == 0) in = argv[k + 1];
		else if (strcmp(argv[k], "-f") == 0) first = atoi(argv[k + 1]);
		else if (strcmp(argv[k], "-e") == 0 && nenv < 16) env[nenv++] = argv[k + 1];
	}
	argv += k + 1;
	argc -= k + 1;
	if (pipe(go) < 0)
		return 1;
	for (j = 0; j < procs; j++) {
		if (fork() != 0)
			continue;
		close(go[1]);
		read(go[0], &k, 1); /* the barrier: released when the parent closes */
		for (i = first + j; i < first + n; i += procs) {
			posix_spawn_file_actions_t fa;
			int e = 0;

			for (k = 0; k < argc; k++)
				args[k] = subst(argv[k], i);
			args[argc] = NULL;
			for (k = 0; environ[k] && e < 200; k++)
				envp[e++] = environ[k];
			for (k = 0; k < nenv; k++)
				envp[e++] = subst(env[k], i);
			envp[e] = NULL;
			posix_spawn_file_actions_init(&fa);
			posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
			posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
			if (posix_spawn(&pid, args[0], &fa, NULL, args, envp) != 0)
				_exit(1);
			waitpid(pid, &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "spawnrun: %s %s failed\n", args[0], argc > 1 ? args[argc - 1] : "");
				_exit(1);
			}
			posix_spawn_file_actions_destroy(&fa);
		}
		_exit(0);
	}
	close(go[0]);
	t0 = now();
	close(go[1]);
	for (j = 0; j < procs; j++) {
		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	printf("%.6f\n", now() - t0);
	return failed;
}
EOF
cc -O2 -o "$dir/spawnrun" "$dir/spawnrun.c"
run() { "$dir/spawnrun" "$@"; }
ms() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.2f", s * 1000 / n }'; }

if [ ! -x "$HOST_LOCAL" ]; then
	echo "alloc: $HOST_LOCAL not found (Debian package containernetworking-plugins): no reference"
	exit 1
fi

# Each tool allocates from its own /16; each run starts from an empty state.
fresh_ember() {
	rm -rf "$dir/state"
	"$dir/bin/ember-init" init -q --state-dir "$dir/state" --ip-subnet 10.231.0.0/16
	export EMBER_STATE_DIR=$dir/state
	# the first alloc creates the tables: not part of any figure
	"$dir/bin/ember-ipalloc" alloc warm >/dev/null && "$dir/bin/ember-ipalloc" release warm >/dev/null
}
fresh_cni() {
	rm -rf "$dir/cni"
	mkdir -p "$dir/cni"
	printf '{"cniVersion":"0.4.0","name":"emberbench","type":"bridge","ipam":{"type":"host-local","ranges":[[{"subnet":"10.232.0.0/16"}]],"dataDir":"%s"}}\n' \
		"$dir/cni" >"$dir/netconf.json"
}
cni() { # COMMAND SPAWNRUN-OPTIONS...
	local cmd=$1
	shift
	run "$@" -i "$dir/netconf.json" -e CNI_COMMAND="$cmd" -e CNI_CONTAINERID=bench%d -e CNI_NETNS=/var/run/netns/bench%d \
		-e CNI_IFNAME=eth0 -e CNI_PATH="$(dirname "$HOST_LOCAL")" -- "$HOST_LOCAL"
}

## sequential alloc + release of 1,000 owners
fresh_ember
e_alloc=$(run -n $OWNERS -- "$dir/bin/ember-ipalloc" alloc vm%d)
e_release=$(run -n $OWNERS -- "$dir/bin/ember-ipalloc" release vm%d)
fresh_cni
c_alloc=$(cni ADD -n $OWNERS)
c_release=$(cni DEL -n $OWNERS)
e_total=$(awk -v a="$e_alloc" -v b="$e_release" 'BEGIN { print a + b }')
c_total=$(awk -v a="$c_alloc" -v b="$c_release" 'BEGIN { print a + b }')
echo "alloc: sequential, $OWNERS owners: ember-ipalloc alloc $(ms "$e_alloc" $OWNERS) ms + release $(ms "$e_release" $OWNERS) ms per owner;" \
	"host-local ADD $(ms "$c_alloc" $OWNERS) ms + DEL $(ms "$c_release" $OWNERS) ms"
echo "alloc: sequential ratio ember/host-local (alloc + release): $(awk -v e="$e_total" -v c="$c_total" 'BEGIN { printf "%.2f", e / c }') (goal <= 0.33)"

## 8 processes in parallel, 1,000 owners in all
fresh_ember
e_par=$(run -n $OWNERS -p 8 -- "$dir/bin/ember-ipalloc" alloc vm%d)
e_check=$("$dir/bin/ember-ipalloc" list | wc -l)
fresh_cni
c_par=$(cni ADD -n $OWNERS -p 8)
c_check=$(find "$dir/cni/emberbench" -name '10.232.*' | wc -l)
echo "alloc: 8 processes, $OWNERS owners: ember-ipalloc $(awk -v s="$e_par" -v n=$OWNERS 'BEGIN { printf "%.0f", n / s }') allocations/s," \
	"host-local $(awk -v s="$c_par" -v n=$OWNERS 'BEGIN { printf "%.0f", n / s }') allocations/s" \
	"(held afterwards: ember $e_check, host-local $c_check)"

## one alloc with 16,000 existing allocations against none, rounds interleaved
rounds=7 reps=30
fresh_ember
cp -a "$dir/state" "$dir/empty"
subnet=10.231.0.0/16
sqlite3 "$dir/state/state.db" "BEGIN;
	WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 16000)
	INSERT INTO ipalloc_leases (subnet, slot, owner, mode, created) SELECT '$subnet', i, 'fill' || i, 'p2p', 0 FROM n;
	INSERT INTO ipalloc_subnets (subnet, mode, first, last) VALUES ('$subnet', 'p2p', 182910976, 182976511);
	COMMIT;"
mv "$dir/state" "$dir/full"
held=$("$dir/bin/ember-ipalloc" list --state-dir "$dir/full" | wc -l)
ratios=()
e_empty=0 e_full=0
for ((r = 0; r < rounds; r++)); do
	t_empty=$(EMBER_STATE_DIR=$dir/empty run -n $reps -f $((r * reps)) -- "$dir/bin/ember-ipalloc" alloc new%d)
	t_full=$(EMBER_STATE_DIR=$dir/full run -n $reps -f $((r * reps)) -- "$dir/bin/ember-ipalloc" alloc new%d)
	ratios+=("$(awk -v a="$t_full" -v b="$t_empty" 'BEGIN { printf "%.4f", a / b }')")
	e_empty=$(awk -v a="$e_empty" -v b="$t_empty" 'BEGIN { print a + b }')
	e_full=$(awk -v a="$e_full" -v b="$t_full" 'BEGIN { print a + b }')
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(((rounds + 1) / 2))p")
echo "alloc: one alloc with $held existing allocations $(ms "$e_full" $((rounds * reps))) ms, with none" \
	"$(ms "$e_empty" $((rounds * reps))) ms (the 16,001st-16,210th and 1st-210th allocations)"
echo "alloc: ratio 16,000 existing / none (median of $rounds interleaved rounds of $reps): ${median}x (goal <= 1.5x)"
