/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Load generator of bench/bench_serve.sh (compiled by it):
 *
 *   bench_serve post PORT TOKEN CLIENTS TOTAL SEED
 *       CLIENTS threads POST TOTAL distinct entries (64..191 bytes) to /add,
 *       one connection per request; prints entries/s and the p50/p99 latency
 *       of a POST (request sent to proof received), and the failures.
 *   bench_serve proofget PORT SIZE N SEED
 *       for N random entries of a tree of SIZE, GET every tile an inclusion
 *       proof needs (the entry's tile at each level, partial at the right
 *       edge), one request after another; prints the p50/p99 of one tile GET
 *       and of a whole proof's set of tiles.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int port;
static const char *token;

/* One request, the whole answer read; the status, or 0. */
static int request(const char *req, size_t len, char *buf, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return 0;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (w <= 0) {
			close(fd);
			return 0;
		}
		off += (size_t)w;
	}
	size_t n = 0;
	for (;;) {
		ssize_t got = recv(fd, buf + n, cap - 1 - n, 0);
		if (got <= 0)
			break;
		n += (size_t)got;
		if (n == cap - 1)
			n = 0;  /* only the status line matters */
	}
	close(fd);
	buf[n] = '\0';
	int status = 0;
	return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	return n ? v[(size_t)(p * (double)(n - 1))] : 0;
}

struct worker {
	int id;
	size_t first, n;
	unsigned seed;
	double *lat;
	size_t ok, failed, busy;
};

static void *poster(void *arg)
{
	struct worker *w = arg;
	char req[1024], buf[1 << 17];
	for (size_t i = 0; i < w->n; i++) {
		char e[256];
		unsigned r = w->seed ^ (unsigned)(w->first + i) * 2654435761u;
		int el = snprintf(e, sizeof(e), "bench entry %zu seed %u ", w->first + i, w->seed);
		int pad = 64 + (int)(r % 128) - el;
		for (int k = 0; k < pad && el < (int)sizeof(e) - 1; k++)
			e[el++] = (char)('a' + (r >> (k % 24)) % 26);
		int hl = snprintf(req, sizeof(req), "POST /add HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				  "Authorization: Bearer %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
				  token, el);
		memcpy(req + hl, e, (size_t)el);
		double t0 = now();
		int st = request(req, (size_t)(hl + el), buf, sizeof(buf));
		double t1 = now();
		if (st == 200) {
			w->lat[w->ok++] = t1 - t0;
		} else if (st == 503) {
			w->busy++;
			i--;            /* retry it */
			usleep(1000);
		} else {
			w->failed++;
		}
	}
	return NULL;
}

static int cmd_post(int clients, size_t total, unsigned seed)
{
	struct worker *w = calloc((size_t)clients, sizeof(*w));
	pthread_t *t = calloc((size_t)clients, sizeof(*t));
	size_t per = total / (size_t)clients;
	double t0 = now();
	for (int i = 0; i < clients; i++) {
		w[i].id = i;
		w[i].first = (size_t)i * per;
		w[i].n = i == clients - 1 ? total - w[i].first : per;
		w[i].seed = seed;
		w[i].lat = malloc(w[i].n * sizeof(double));
		pthread_create(&t[i], NULL, poster, &w[i]);
	}
	size_t ok = 0, failed = 0, busy = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
		failed += w[i].failed;
		busy += w[i].busy;
	}
	double t1 = now();
	double *lat = malloc((ok ? ok : 1) * sizeof(double));
	size_t k = 0;
	for (int i = 0; i < clients; i++)
		for (size_t j = 0; j < w[i].ok; j++)
			lat[k++] = w[i].lat[j];
	qsort(lat, ok, sizeof(double), cmp);
	printf("entries %zu\nfailed %zu\nbusy_503 %zu\nseconds %.3f\nrate %.0f\np50_ms %.2f\np99_ms %.2f\n",
	       ok, failed, busy, t1 - t0, (double)ok / (t1 - t0), pct(lat, ok, 0.5) * 1e3,
	       pct(lat, ok, 0.99) * 1e3);
	return failed ? 1 : 0;
}

static void tile_path(char *buf, size_t n, int level, uint64_t index, unsigned w)
{
	char groups[8][4];
	int g = 0;
	do {
		snprintf(groups[g++], 4, "%03u", (unsigned)(index % 1000));
		index /= 1000;
	} while (index);
	int p = level < 0 ? snprintf(buf, n, "/tile/entries/") : snprintf(buf, n, "/tile/%d/", level);
	for (int i = g - 1; i >= 0; i--)
		p += snprintf(buf + p, n - (size_t)p, "%s%s%s", i ? "x" : "", groups[i], i ? "/" : "");
	if (w && w < 256)
		snprintf(buf + p, n - (size_t)p, ".p/%u", w);
}

static int cmd_proofget(uint64_t size, size_t n, unsigned seed)
{
	double *one = malloc(n * 8 * sizeof(double)), *all = malloc(n * sizeof(double));
	size_t n1 = 0, failed = 0;
	char buf[1 << 16], req[256], path[128];
	srand(seed);
	for (size_t i = 0; i < n; i++) {
		uint64_t idx = ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % size;
		double t0 = now();
		for (int L = 0; L < 8; L++) {
			uint64_t h = size >> (8 * L);      /* hashes at level L */
			uint64_t t = (idx >> (8 * L)) >> 8;  /* the tile holding the path */
			if (t * 256 >= h)
				break;
			unsigned w = (t + 1) * 256 <= h ? 256 : (unsigned)(h - t * 256);
			tile_path(path, sizeof(path), L, t, w);
			int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
			double a = now();
			int st = request(req, (size_t)rl, buf, sizeof(buf));
			one[n1++] = now() - a;
			if (st != 200)
				failed++;
			if (h <= 256)
				break;
		}
		all[i] = now() - t0;
	}
	qsort(one, n1, sizeof(double), cmp);
	qsort(all, n, sizeof(double), cmp);
	printf("proofs %zu\ntile_gets %zu\nfailed %zu\ntile_p50_ms %.3f\ntile_p99_ms %.3f\n"
	       "proof_p50_ms %.3f\nproof_p99_ms %.3f\n", n, n1, failed, pct(one, n1, 0.5) * 1e3,
	       pct(one, n1, 0.99) * 1e3, pct(all, n, 0.5) * 1e3, pct(all, n, 0.99) * 1e3);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "post")) {
		port = atoi(argv[2]);
		token = argv[3];
		return cmd_post(atoi(argv[4]), strtoull(argv[5], NULL, 10),
				(unsigned)strtoul(argv[6], NULL, 10));
	}
	if (argc == 6 && !strcmp(argv[1], "proofget")) {
		port = atoi(argv[2]);
		return cmd_proofget(strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
				    (unsigned)strtoul(argv[5], NULL, 10));
	}
	fprintf(stderr, "usage: bench_serve post PORT TOKEN CLIENTS TOTAL SEED | "
			"proofget PORT SIZE N SEED\n");
	return 2;
}
