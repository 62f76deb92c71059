/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_log: the in-process half of bench/bench_log.sh.
 *
 *   bench_log entries DIR N SEED          N deterministic entries, files DIR/e<i>
 *   bench_log proofs LOGDIR N BATCH K     a log of N entries (batches of BATCH, through
 *                                         cvmf_log_add), then K proofs of random
 *                                         entries, each timed: p50/p99/max in ms of
 *                                         wall time, p50/p99 of the thread's CPU time
 *
 * Entries are 256..1791 bytes (splitmix64, fixed seed): the size of a signed
 * measurement statement. Output lines are "key value" for the script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cvmforge/cvmforge.h"

static uint64_t x;
static uint64_t rnd(void)
{
	uint64_t z = (x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t entry(uint64_t i, uint8_t *buf)
{
	size_t n = 256 + (size_t)(rnd() % 1536);
	int h = snprintf((char *)buf, 64, "cvm-measurement/v1 bench entry %llu\n",
			 (unsigned long long)i);
	for (size_t k = (size_t)h; k < n; k++)
		buf[k] = (uint8_t)('a' + rnd() % 26);
	return n;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double u = *(const double *)a, v = *(const double *)b;
	return u < v ? -1 : u > v;
}

int main(int argc, char **argv)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t buf[2048];
	if (argc == 5 && !strcmp(argv[1], "entries")) {
		uint64_t n = strtoull(argv[3], NULL, 10), total = 0;
		x = strtoull(argv[4], NULL, 10);
		for (uint64_t i = 0; i < n; i++) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/e%llu", argv[2], (unsigned long long)i);
			size_t len = entry(i, buf);
			FILE *f = fopen(p, "wb");
			if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
				return 1;
			total += len;
		}
		printf("entry_bytes %llu\n", (unsigned long long)total);
		return 0;
	}
	if (argc != 6 || strcmp(argv[1], "proofs")) {
		fprintf(stderr, "usage: bench_log entries DIR N SEED | proofs LOGDIR N BATCH K\n");
		return 2;
	}
	const char *dir = argv[2];
	uint64_t n = strtoull(argv[3], NULL, 10), batch = strtoull(argv[4], NULL, 10);
	size_t k = (size_t)strtoull(argv[5], NULL, 10);
	char *vkey = NULL;
	x = 1;
	if (cvmf_log_init(ctx, dir, "bench.example/log", NULL, &vkey))
		goto fail;
	uint8_t *store = malloc((size_t)batch * 2048);
	const uint8_t **ptr = malloc((size_t)batch * sizeof(*ptr));
	size_t *lens = malloc((size_t)batch * sizeof(*lens));
	double t0 = now();
	for (uint64_t done = 0; done < n;) {
		uint64_t m = n - done < batch ? n - done : batch, first;
		for (uint64_t i = 0; i < m; i++) {
			lens[i] = entry(done + i, store + i * 2048);
			ptr[i] = store + i * 2048;
		}
		if (cvmf_log_add(ctx, dir, ptr, lens, (size_t)m, &first))
			goto fail;
		done += m;
	}
	printf("build_seconds %.3f\n", now() - t0);
	double *t = malloc(k * sizeof(*t)), *c = malloc(k * sizeof(*c));
	x = 99;
	for (size_t i = 0; i < k; i++) {
		uint64_t idx = rnd() % n;
		char *proof = NULL;
		size_t plen;
		double a = now(), ca = cpu_now();
		if (cvmf_log_proof(ctx, dir, idx, &proof, &plen))
			goto fail;
		t[i] = (now() - a) * 1e3;
		c[i] = (cpu_now() - ca) * 1e3;
		free(proof);
	}
	qsort(t, k, sizeof(*t), cmp_d);
	printf("proof_p50_ms %.4f\nproof_p99_ms %.4f\nproof_max_ms %.4f\n", t[k / 2],
	       t[(size_t)((double)k * 0.99)], t[k - 1]);
	/* CPU time of the proving thread: what the proof costs when the machine is
	 * shared and wall-clock outliers are time spent descheduled. */
	qsort(c, k, sizeof(*c), cmp_d);
	printf("proof_cpu_p50_ms %.4f\nproof_cpu_p99_ms %.4f\n", c[k / 2],
	       c[(size_t)((double)k * 0.99)]);
	free(t);
	free(c);
	free(store);
	free(ptr);
	free(lens);
	free(vkey);
	cvmf_ctx_free(ctx);
	return 0;
fail:
	fprintf(stderr, "bench_log: %s\n", cvmf_ctx_errmsg(ctx));
	return 1;
}
