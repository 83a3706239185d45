/* interleave ROUNDS REPS A... -- B...: start A then B, REPS times each per
 * round, for ROUNDS rounds (interleaved, so drift hits both alike); print the
 * median time per start of each and the median of the per-round ratios A/B.
 * Output is discarded. Times are wall clock. INTERLEAVE_SEP, when set, is
 * the separator instead of "--" (for an A that has "--" of its own). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds per start of ARGV, over REPS starts. */
static double run(char **argv, int reps)
{
	posix_spawn_file_actions_t fa;
	double t0 = now();
	int i, status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (i = 0; i < reps; i++) {
		if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
			perror(argv[0]);
			exit(1);
		}
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "%s failed\n", argv[0]);
			exit(1);
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	return (now() - t0) / reps;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	double *ta, *tb, *ratio;
	char **a, **b;
	const char *sep = getenv("INTERLEAVE_SEP");
	int rounds, reps, i;

	if (argc < 6) {
		fprintf(stderr, "usage: interleave ROUNDS REPS A... -- B...\n");
		return 2;
	}
	rounds = atoi(argv[1]);
	reps = atoi(argv[2]);
	a = argv + 3;
	for (i = 3; i < argc && strcmp(argv[i], sep ? sep : "--") != 0; i++)
		;
	if (i >= argc - 1)
		return 2;
	argv[i] = NULL;
	b = argv + i + 1;
	ta = calloc(rounds, sizeof(double));
	tb = calloc(rounds, sizeof(double));
	ratio = calloc(rounds, sizeof(double));
	for (i = 0; i < rounds; i++) {
		ta[i] = run(a, reps);
		tb[i] = run(b, reps);
		ratio[i] = ta[i] / tb[i];
	}
	printf("%.1f %.1f %.2f\n", median(ta, rounds) * 1e6, median(tb, rounds) * 1e6,
	       median(ratio, rounds));
	free(ta);
	free(tb);
	free(ratio);
	return 0;
}
