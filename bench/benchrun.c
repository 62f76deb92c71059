/* SPDX-License-Identifier: Apache-2.0 */
/*
 * benchrun: run one or more commands repeatedly, interleaved, and print the
 * median wall time and the peak RSS of each. Used by bench/bench_snp.sh so
 * the benchmark needs nothing beyond a C compiler (no hyperfine, no time(1)).
 *
 *   benchrun [-n RUNS] [-w WARMUP] -- CMD1 ARGS... [::: CMD2 ARGS...]...
 *
 * Each round runs CMD1, CMD2, ... once, in that order: WARMUP rounds that
 * are not recorded (they warm the page cache for every command alike), then
 * RUNS recorded rounds. Standard input and output are /dev/null; standard
 * error is inherited so failures are visible. A command that does not exit 0
 * makes benchrun fail: timing a failing run would be meaningless.
 *
 * Output, one line per command, in command order:
 *   <median_ms> <min_ms> <max_ms> <max_rss_kib>
 * Wall time is CLOCK_MONOTONIC from just before posix_spawn to the return of
 * wait4; peak RSS is the largest ru_maxrss (KiB on Linux) over the recorded
 * runs. Linux folds the high-water RSS of the address space replaced by
 * execve into ru_maxrss, so benchrun itself stays small (no large
 * allocations) to keep that floor low.
 */
#define _GNU_SOURCE   /* wait4 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8
#define MAX_RUNS 10000

extern char **environ;

struct cmd {
	char **argv;
	double *ms;
	long max_rss_kib;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: benchrun [-n RUNS] [-w WARMUP] -- CMD ARGS... [::: CMD ARGS...]...\n");
	exit(2);
}

static int parse_count(const char *s, long lo, long hi, long *ret)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*ret = v;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("benchrun: clock_gettime");
		exit(1);
	}
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One run of c: wall milliseconds to *ret_ms, ru_maxrss to *ret_rss. */
static int run_once(const struct cmd *c, const posix_spawn_file_actions_t *fa,
		    double *ret_ms, long *ret_rss)
{
	pid_t pid;
	struct rusage ru;
	int status;
	double t0 = now_ms();
	int e = posix_spawnp(&pid, c->argv[0], fa, NULL, c->argv, environ);
	if (e != 0) {
		fprintf(stderr, "benchrun: cannot run '%s': %s\n", c->argv[0], strerror(e));
		return -1;
	}
	for (;;) {
		pid_t w = wait4(pid, &status, 0, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		perror("benchrun: wait4");
		return -1;
	}
	double t1 = now_ms();
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "benchrun: '%s' killed by signal %d\n", c->argv[0],
			WTERMSIG(status));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "benchrun: '%s' exited with status %d\n", c->argv[0],
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	*ret_ms = t1 - t0;
	*ret_rss = ru.ru_maxrss;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long runs = 21, warmup = 3;
	int opt;
	while ((opt = getopt(argc, argv, "+n:w:")) != -1) {
		switch (opt) {
		case 'n':
			if (parse_count(optarg, 1, MAX_RUNS, &runs))
				usage();
			break;
		case 'w':
			if (parse_count(optarg, 0, MAX_RUNS, &warmup))
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();

	/* Split the rest at ":::" into commands; argv is NULL-terminated, so
	 * overwriting each separator with NULL ends the command before it. */
	struct cmd cmds[MAX_CMDS];
	size_t n_cmds = 0;
	for (int i = optind; i < argc;) {
		if (n_cmds == MAX_CMDS) {
			fprintf(stderr, "benchrun: at most %d commands\n", MAX_CMDS);
			return 2;
		}
		if (!strcmp(argv[i], ":::"))
			usage();   /* empty command */
		cmds[n_cmds].argv = &argv[i];
		cmds[n_cmds].max_rss_kib = 0;
		cmds[n_cmds].ms = calloc((size_t)runs, sizeof(double));
		if (!cmds[n_cmds].ms) {
			fprintf(stderr, "benchrun: out of memory\n");
			return 1;
		}
		n_cmds++;
		while (i < argc && strcmp(argv[i], ":::"))
			i++;
		if (i < argc) {
			argv[i++] = NULL;
			if (i == argc)
				usage();   /* trailing separator */
		}
	}

	posix_spawn_file_actions_t fa;
	int e = posix_spawn_file_actions_init(&fa);
	if (!e)
		e = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (!e)
		e = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (e) {
		fprintf(stderr, "benchrun: posix_spawn_file_actions: %s\n", strerror(e));
		return 1;
	}

	for (long round = 0; round < warmup + runs; round++) {
		for (size_t c = 0; c < n_cmds; c++) {
			double ms;
			long rss;
			if (run_once(&cmds[c], &fa, &ms, &rss))
				return 1;
			if (round < warmup)
				continue;
			cmds[c].ms[round - warmup] = ms;
			if (rss > cmds[c].max_rss_kib)
				cmds[c].max_rss_kib = rss;
		}
	}

	e = posix_spawn_file_actions_destroy(&fa);
	if (e) {
		fprintf(stderr, "benchrun: posix_spawn_file_actions_destroy: %s\n", strerror(e));
		return 1;
	}
	for (size_t c = 0; c < n_cmds; c++) {
		double *ms = cmds[c].ms;
		size_t n = (size_t)runs;
		qsort(ms, n, sizeof(*ms), cmp_double);
		double median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
		if (printf("%.3f %.3f %.3f %ld\n", median, ms[0], ms[n - 1],
			   cmds[c].max_rss_kib) < 0) {
			perror("benchrun: printf");
			return 1;
		}
		free(ms);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("benchrun: stdout");
		return 1;
	}
	return 0;
}
