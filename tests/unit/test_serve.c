/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge log serve`: the tlog-tiles read API byte for byte against the
 * directory (content types, cache headers, partial tiles), audited over HTTP
 * by tlogcheck; POST /add answering verified tlog-proofs, concurrent
 * submissions; every write-API refusal (401, 413, 400, 404 for traversal,
 * escapes, absolute forms and planted symlinks, 405, 503 + Retry-After) with
 * the log unchanged; a rolled-back directory refused; slow clients timed out
 * while others are served; libmicrohttpd not linked.
 */
#include <pthread.h>

#include "tests/unit/servetest.h"

#define TOKEN "s3cret-token_42"

struct fixture {
	char *d, *log, *vkey, *tok;
};

static void fx_init(struct fixture *f, unsigned n_entries)
{
	f->d = t_tmpdir();
	assert_true(asprintf(&f->log, "%s/log", f->d) > 0);
	struct run r = t_sh("cd '%s' && '%s' log init log --origin example.com/served", f->d, t_bin());
	t_assert_clean_exit(&r, 0);
	f->vkey = strdup(t_last_line(r.out));
	t_run_free(&r);
	f->tok = t_write(f->d, "token", TOKEN "\nsecond line ignored\n", strlen(TOKEN) + 21);
	assert_int_equal(chmod(f->tok, 0600), 0);
	if (n_entries) {
		r = t_sh("cd '%s' && mkdir e && i=0; while [ $i -lt %u ]; do echo \"entry $i\" >e/$i; "
			 "i=$((i+1)); done; '%s' log add log $(i=0; while [ $i -lt %u ]; do echo e/$i; "
			 "i=$((i+1)); done) >/dev/null", f->d, n_entries, t_bin(), n_entries);
		t_assert_clean_exit(&r, 0);
		t_run_free(&r);
	}
}

static void fx_free(struct fixture *f)
{
	t_rmrf(f->d);
	free(f->d);
	free(f->log);
	free(f->vkey);
	free(f->tok);
}

static void audit_url(int port, const char *vkey, const char *extra)
{
	if (!t_tlogcheck())
		return;
	struct run r = t_sh("'%s' audit -log http://127.0.0.1:%d -vkey '%s' -full %s 2>&1",
			    t_tlogcheck(), port, vkey, extra ? extra : "");
	if (r.status)
		fail_msg("tlogcheck audit over HTTP: %s", r.out);
	assert_non_null(strstr(r.out, "OK"));
	t_run_free(&r);
}

static char *file_of(const struct fixture *f, const char *rel, size_t *len)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", f->log, rel) > 0);
	char *b = t_slurp(p, len);
	free(p);
	return b;
}

static void expect_get(int port, const struct fixture *f, const char *rel, const char *ctype,
		       const char *cache)
{
	char path[256];
	snprintf(path, sizeof(path), "/%s", rel);
	struct t_resp r = t_http(port, "GET", path, NULL, NULL, 0);
	if (r.status != 200)
		fail_msg("GET %s: %d %s", path, r.status, r.body ? r.body : "");
	size_t len;
	char *want = file_of(f, rel, &len);
	assert_int_equal(r.body_len, len);
	assert_memory_equal(r.body, want, len);
	assert_string_equal(t_header(&r, "Content-Type"), ctype);
	assert_string_equal(t_header(&r, "Cache-Control"), cache);
	free(want);
	t_resp_free(&r);
	r = t_http(port, "HEAD", path, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	t_resp_free(&r);
}

/* Read API, read-only server, not linked against libmicrohttpd. */
static void test_read_api(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 300);
	struct srv_proc s;
	assert_int_equal(srv_start(&s, f.log, NULL, NULL, NULL), 0);
	expect_get(s.port, &f, "checkpoint", "text/plain; charset=utf-8", "no-cache, max-age=0");
	expect_get(s.port, &f, "tile/0/000", "application/octet-stream",
		   "public, max-age=31536000, immutable");
	expect_get(s.port, &f, "tile/0/001.p/44", "application/octet-stream", "public, max-age=5");
	expect_get(s.port, &f, "tile/1/000.p/1", "application/octet-stream", "public, max-age=5");
	expect_get(s.port, &f, "tile/entries/000", "application/octet-stream",
		   "public, max-age=31536000, immutable");
	expect_get(s.port, &f, "tile/entries/001.p/44", "application/octet-stream",
		   "public, max-age=5");
	audit_url(s.port, f.vkey, "-index 299");
	/* Read-only: no writes at all. */
	struct t_resp r = t_http(s.port, "POST", "/add", TOKEN, "x", 1);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.body, "read-only"));
	t_resp_free(&r);
	assert_int_equal(WTERMSIG(srv_stop(&s, SIGTERM)) | 0, 0);
	/* The binary does not link libmicrohttpd: only `log serve` loads it. */
	struct run rr = t_sh("readelf -d '%s' | grep -c microhttpd", t_bin());
	assert_string_equal(t_last_line(rr.out), "0");
	t_run_free(&rr);
	fx_free(&f);
}

/* POST /add: proofs that verify, indices in order, the log audits clean. */
struct sub {
	int port;
	int id, n;
	uint64_t *idx;
	int ok;
	int retry;              /* 503s with Retry-After: 1 */
};

static void *submitter(void *arg)
{
	struct sub *u = arg;
	for (int i = 0; i < u->n; i++) {
		char e[64];
		int len = snprintf(e, sizeof(e), "client %d entry %d", u->id, i);
		struct t_resp r = t_http(u->port, "POST", "/add", TOKEN, e, (size_t)len);
		u->idx[i] = r.status == 200 ? t_proof_index(r.body) : UINT64_MAX;
		u->ok += r.status == 200;
		if (r.status == 503 && t_header(&r, "Retry-After") &&
		    !strcmp(t_header(&r, "Retry-After"), "1"))
			u->retry++;
		else if (r.status != 200)
			u->retry = -1000;   /* anything else is wrong */
		t_resp_free(&r);
	}
	return NULL;
}

static void test_add(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 3);
	struct srv_proc s;
	char *extra[] = { "--token-file", f.tok, NULL };
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	struct t_resp r = t_http(s.port, "POST", "/add", TOKEN, "the fourth entry", 16);
	assert_int_equal(r.status, 200);
	assert_true(!strncmp(r.body, "c2sp.org/tlog-proof@v1\n", 23));
	assert_int_equal(t_proof_index(r.body), 3);
	char *pf = t_write(f.d, "p3", r.body, r.body_len);
	t_resp_free(&r);
	struct run v = t_sh("'%s' log verify '%s' --vkey '%s'", t_bin(), pf, f.vkey);
	t_assert_clean_exit(&v, 0);
	assert_non_null(strstr(v.out, "entry 3 of example.com/served (tree size 4)"));
	t_run_free(&v);
	free(pf);
	/* 16 clients at once, 10 entries each: every one acknowledged once. */
	enum { NC = 16, NE = 10 };
	struct sub u[NC];
	pthread_t t[NC];
	uint64_t idx[NC][NE];
	for (int i = 0; i < NC; i++) {
		u[i] = (struct sub){ s.port, i, NE, idx[i], 0, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, submitter, &u[i]), 0);
	}
	for (int i = 0; i < NC; i++)
		pthread_join(t[i], NULL);
	bool seen[4 + NC * NE] = { false };
	for (int i = 0; i < NC; i++) {
		assert_int_equal(u[i].ok, NE);
		for (int j = 0; j < NE; j++) {
			assert_true(idx[i][j] >= 4 && idx[i][j] < 4 + NC * NE);
			assert_false(seen[idx[i][j]]);
			seen[idx[i][j]] = true;
			/* The entry is at the index its proof named. */
			size_t len;
			char rel[64], want[64];
			snprintf(rel, sizeof(rel), "tile/entries/000.p/%d", 4 + NC * NE);
			char *b = file_of(&f, rel, &len);
			size_t off = 0;
			for (uint64_t k = 0; k < idx[i][j]; k++)
				off += 2 + ((size_t)(uint8_t)b[off] << 8 | (uint8_t)b[off + 1]);
			size_t el = (size_t)(uint8_t)b[off] << 8 | (uint8_t)b[off + 1];
			int wl = snprintf(want, sizeof(want), "client %d entry %d", i, j);
			assert_int_equal(el, (size_t)wl);
			assert_memory_equal(b + off + 2, want, el);
			free(b);
		}
	}
	audit_url(s.port, f.vkey, "-index 100");
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	fx_free(&f);
}

/* Every refusal of the write API, and nothing changes. */
static void expect_refused(int port, const struct fixture *f, const void *req, size_t len,
			   int status, const char *msg)
{
	size_t l0, l1;
	char *cp0 = file_of(f, "checkpoint", &l0);
	struct t_resp r = t_http_raw(port, req, len);
	if (r.status != status)
		fail_msg("request '%.60s': %d, wanted %d (%s)", (const char *)req, r.status, status,
			 r.body ? r.body : "no answer");
	if (msg && !strstr(r.body, msg))
		fail_msg("request '%.60s': body '%s' lacks '%s'", (const char *)req, r.body, msg);
	t_resp_free(&r);
	char *cp1 = file_of(f, "checkpoint", &l1);
	assert_int_equal(l0, l1);
	assert_memory_equal(cp0, cp1, l0);
	free(cp0);
	free(cp1);
}

#define REQ(s) s, sizeof(s) - 1

static void test_bad_input(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 300);
	struct srv_proc s;
	char *extra[] = { "--token-file", f.tok, NULL };
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	int p = s.port;
	/* 401: no token, a wrong one, a prefix of it, another scheme. */
	expect_refused(p, &f, REQ("POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na"),
		       401, "token");
	expect_refused(p, &f, REQ("POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
				  "Content-Length: 1\r\n\r\na"), 401, "token");
	expect_refused(p, &f, REQ("POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
				  TOKEN "x\r\nContent-Length: 1\r\n\r\na"), 401, "token");
	expect_refused(p, &f, REQ("POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
				  TOKEN "\r\nContent-Length: 1\r\n\r\na"), 401, "token");
	/* 413: announced, and streamed in chunks. */
	expect_refused(p, &f, REQ("POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
				  "\r\nContent-Length: 65536\r\n\r\n"), 413, "too large");
	{
		size_t n = 70000;
		char *big = malloc(n + 512);
		int h = snprintf(big, 512, "POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
				 "\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", n);
		memset(big + h, 'a', n);
		memcpy(big + h + n, "\r\n0\r\n\r\n", 7);
		expect_refused(p, &f, big, (size_t)h + n + 7, 413, "too large");
		free(big);
	}
	/* 400: an empty entry, a compressed body, a malformed request. */
	expect_refused(p, &f, REQ("POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
				  "\r\nContent-Length: 0\r\n\r\n"), 400, "empty");
	expect_refused(p, &f, REQ("POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
				  "\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\na"), 400,
		       "Content-Encoding");
	expect_refused(p, &f, REQ("POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
				  "\r\nContent-Length: zz\r\n\r\na"), 400, NULL);
	/* 404: traversal, escapes, absolute paths, non-canonical tiles, tiles
	 * beyond the published tree, unknown paths. */
	const char *nf[] = {
		"/tile/../checkpoint", "/tile/0/../../.state/lastSigned", "/.state/config",
		"/tile%2F0/000", "/tile/0%2F000", "/%63heckpoint", "//checkpoint",
		"/tile/0//000", "/tile/0/000.p/01", "/tile/0/0", "/tile/00/000", "/tile/0/x000/001",
		"/tile/0/x000/000", "/tile/entries/x000/001.p/44", /* non-canonical zero groups */
		"/tile/0/001", "/tile/0/001.p/45", "/tile/0/002.p/1", "/tile/entries/001.p/45",
		"/tile/64/000", "/tile/0/000.p/256", "/checkpoint/", "/checkpoint/?x=1",
		"/", "/add/", "/tile", "/tile/entries/000/", "/tile/0/000.p/",
	};
	for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
		char req[256];
		int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", nf[i]);
		expect_refused(p, &f, req, (size_t)n, 404, NULL);
	}
	expect_refused(p, &f, REQ("GET http://127.0.0.1/checkpoint HTTP/1.1\r\nHost: x\r\n\r\n"),
		       404, NULL);
	expect_refused(p, &f, REQ("GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"), 404, NULL);
	/* Symlinks planted in the tree: a file and a directory. */
	struct run r = t_sh("cd '%s' && mv tile/0/001.p/44 ../saved44 && ln -s /etc/passwd "
			    "tile/0/001.p/44 && mv tile/1 ../saved1 && mkdir -p ../evil && "
			    "cp ../saved1/000.p/1 ../evil/ 2>/dev/null; mkdir -p ../evil/000.p && "
			    "cp ../saved1/000.p/1 ../evil/000.p/1 && ln -s ../../evil tile/1", f.log);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* A file at a non-canonical name of a real tile (found by fuzz_serve). */
	r = t_sh("cd '%s' && mkdir tile/0/x000 && cp tile/0/000 tile/0/x000/000", f.log);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	expect_refused(p, &f, REQ("GET /tile/0/x000/000 HTTP/1.1\r\nHost: x\r\n\r\n"), 404, NULL);
	r = t_sh("rm -r '%s/tile/0/x000'", f.log);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	expect_refused(p, &f, REQ("GET /tile/0/001.p/44 HTTP/1.1\r\nHost: x\r\n\r\n"), 404, NULL);
	expect_refused(p, &f, REQ("GET /tile/1/000.p/1 HTTP/1.1\r\nHost: x\r\n\r\n"), 404, NULL);
	r = t_sh("cd '%s' && rm tile/0/001.p/44 tile/1 && mv ../saved44 tile/0/001.p/44 && "
		 "mv ../saved1 tile/1", f.log);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* 405: other methods, GET of /add. */
	expect_refused(p, &f, REQ("PUT /checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
		       405, NULL);
	expect_refused(p, &f, REQ("DELETE /tile/0/000 HTTP/1.1\r\nHost: x\r\n\r\n"), 405, NULL);
	expect_refused(p, &f, REQ("GET /add HTTP/1.1\r\nHost: x\r\n\r\n"), 405, NULL);
	expect_refused(p, &f, REQ("PUT /add HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
		       405, NULL);
	/* Still serving, still auditing clean, nothing was added. */
	audit_url(p, f.vkey, NULL);
	size_t l;
	char *cp = file_of(&f, "checkpoint", &l);
	assert_non_null(strstr(cp, "\n300\n"));
	free(cp);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	fx_free(&f);
}

/* 503 with Retry-After when more entries wait than --max-pending; what got
 * a 200 is in the log, what got a 503 is not. */
static void test_overload(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 0);
	struct srv_proc s;
	char *extra[] = { "--token-file", f.tok, "--max-pending", "1", NULL };
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	enum { NC = 48 };
	struct sub u[NC];
	pthread_t t[NC];
	uint64_t idx[NC];
	int ok = 0, rounds = 0;
	do {
		for (int i = 0; i < NC; i++) {
			u[i] = (struct sub){ s.port, rounds * NC + i, 1, &idx[i], 0, 0 };
			assert_int_equal(pthread_create(&t[i], NULL, submitter, &u[i]), 0);
		}
		ok = 0;
		for (int i = 0; i < NC; i++) {
			pthread_join(t[i], NULL);
			ok += u[i].ok;
		}
	} while (ok == NC && ++rounds < 10);
	assert_true(ok < NC);   /* some were refused */
	struct t_resp r = t_http(s.port, "GET", "/checkpoint", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	t_resp_free(&r);
	/* A refused request is a 503 that says when to retry. */
	int retry = 0;
	for (int i = 0; i < NC; i++)
		retry += u[i].retry;
	assert_true(retry > 0);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	/* Entries answered 200 are there; the tree has exactly those. */
	size_t l;
	char *cp = file_of(&f, "checkpoint", &l);
	uint64_t size = strtoull(strchr(cp, '\n') + 1, NULL, 10);
	free(cp);
	assert_true(size >= (uint64_t)ok);
	fx_free(&f);
}

/* A directory restored from an old backup is refused; the current one starts. */
static void test_rollback(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 5);
	struct srv_proc s;
	char *extra[] = { "--token-file", f.tok, NULL };
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	struct run r = t_sh("cp -a '%s' '%s/backup'", f.log, f.d);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	struct t_resp h = t_http(s.port, "POST", "/add", TOKEN, "after the backup", 16);
	assert_int_equal(h.status, 200);
	t_resp_free(&h);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	r = t_sh("cd '%s' && mv log current && cp -a backup log", f.d);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *err = NULL;
	assert_int_equal(srv_start(&s, f.log, extra, NULL, &err), 1);
	assert_non_null(strstr(err, "was rolled back: its tree has 5 entries, but this server "
				    "committed 6"));
	free(err);
	/* A different log of the same size under the same key: refused too. */
	r = t_sh("cd '%s' && rm -rf log && cp -a backup log && echo other >o && '%s' log add log o",
		 f.d, t_bin());
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	err = NULL;
	assert_int_equal(srv_start(&s, f.log, extra, NULL, &err), 3);
	assert_non_null(strstr(err, "is not the one this server committed"));
	free(err);
	r = t_sh("cd '%s' && rm -rf log && mv current log", f.d);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	audit_url(s.port, f.vkey, "-index 5");
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	fx_free(&f);
}

/* Slowloris and endless bodies are cut off; other clients are served. */
struct slow {
	int port;
	int mode;               /* 0 headers trickle, 1 body trickle, 2 body stalls */
	double closed_after;    /* seconds until the server closed it, or -1 */
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void *slow_client(void *arg)
{
	struct slow *w = arg;
	int fd = t_connect(w->port);
	double t0 = now_s();
	w->closed_after = -1;
	if (fd < 0)
		return NULL;
	const char *pre = w->mode == 0 ? "GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Slow: "
			  : "POST /add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
			    "\r\nContent-Length: 60000\r\n\r\nabc";
	send(fd, pre, strlen(pre), MSG_NOSIGNAL);
	while (now_s() - t0 < 15) {
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, 300) > 0) {
			char b[4096];
			if (recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0 || true) {
				w->closed_after = now_s() - t0;
				break;
			}
		}
		if (w->mode != 2 && send(fd, "a", 1, MSG_NOSIGNAL) < 0) {
			w->closed_after = now_s() - t0;
			break;
		}
	}
	close(fd);
	return NULL;
}

static void test_slow_clients(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 3);
	struct srv_proc s;
	char *extra[] = { "--token-file", f.tok, "--timeout", "1", NULL };
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	enum { NS = 30 };
	struct slow w[NS];
	pthread_t t[NS];
	for (int i = 0; i < NS; i++) {
		w[i] = (struct slow){ s.port, i % 3, -1 };
		assert_int_equal(pthread_create(&t[i], NULL, slow_client, &w[i]), 0);
	}
	/* Meanwhile, others are served at once, reads and writes. */
	for (int i = 0; i < 10; i++) {
		double t0 = now_s();
		struct t_resp r = t_http(s.port, "GET", "/checkpoint", NULL, NULL, 0);
		assert_int_equal(r.status, 200);
		t_resp_free(&r);
		char e[32];
		int n = snprintf(e, sizeof(e), "fast %d", i);
		r = t_http(s.port, "POST", "/add", TOKEN, e, (size_t)n);
		assert_int_equal(r.status, 200);
		t_resp_free(&r);
		assert_true(now_s() - t0 < 1.0);
		usleep(200 * 1000);
	}
	for (int i = 0; i < NS; i++) {
		pthread_join(t[i], NULL);
		/* idle timeout 1 s, request deadline 3 s (+ the reaper's period) */
		if (w[i].closed_after < 0 || w[i].closed_after > 5)
			fail_msg("slow client %d (mode %d) was not cut off (%.1f s)", i, w[i].mode,
				 w[i].closed_after);
	}
	audit_url(s.port, f.vkey, NULL);
	size_t l;
	char *cp = file_of(&f, "checkpoint", &l);
	assert_non_null(strstr(cp, "\n13\n"));      /* 3 + the 10 fast ones, no slow one */
	free(cp);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	fx_free(&f);
}

/* The client side over HTTP: publish IMAGE --log URL, log monitor URL (a
 * rollback of the served log is an alert), log proof URL N. */
static void test_client(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 2);
	struct srv_proc s;
	char *extra[] = { "--token-file", f.tok, NULL };
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	const char *b = t_bin();
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	struct run r = t_sh("cd '%s' && '%s' log monitor %s/ --vkey '%s' --state mon", f.d, b, url,
			    f.vkey);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "2 new entries (size 0 -> 2), first run"));
	t_run_free(&r);
	char *ovmf = t_shared_file("inputs/OVMF.fd"), *kernel = t_shared_file("inputs/vmlinuz-6.1.0-50");
	if (ovmf && kernel) {
		char *ao = realpath(ovmf, NULL), *ak = realpath(kernel, NULL);
		r = t_sh("cd '%s' && mkdir rootfs && printf '#!/bin/sh\\necho hi\\n' > rootfs/init && "
			 "printf '[image]\\nname = t\\nversion = 1\\nsource-date-epoch = 1700000000\\n\\n"
			 "[firmware]\\nsource = file:%s\\nrelease = 2022.11\\n\\n[kernel]\\nsource = file:%s\\n\\n"
			 "[initrd]\\ntree = rootfs\\n\\n[cmdline]\\nvalue = console=ttyS0\\n\\n"
			 "[snp]\\nkernel-hashes = no\\nvcpus = 1\\n' > t.recipe && "
			 "'%s' build t.recipe -o out --lock --quiet >/dev/null 2>&1 && "
			 "'%s' key generate --type ed25519 -o rel.key >/dev/null && "
			 "'%s' sign out/t-1 --key rel.key >/dev/null && "
			 "'%s' publish out/t-1 --log %s --token-file token",
			 f.d, ao, ak, b, b, b, b, url);
		t_assert_clean_exit(&r, 0);
		assert_non_null(strstr(r.out, "out/t-1: entry 2 of the log at http://127.0.0.1:"));
		t_run_free(&r);
		r = t_sh("cd '%s' && '%s' log verify out/t-1.tlog-proof --vkey '%s' --entry "
			 "out/t-1/measurements.dsse.json", f.d, b, f.vkey);
		t_assert_clean_exit(&r, 0);
		assert_non_null(strstr(r.out, "entry 2 of example.com/served (tree size 3)"));
		t_run_free(&r);
		/* Wrong token, missing token: refused, named. */
		r = t_sh("cd '%s' && rm out/t-1.tlog-proof && printf 'nope\\n' > bad && chmod 600 bad && "
			 "'%s' publish out/t-1 --log %s --token-file bad", f.d, b, url);
		t_assert_clean_exit(&r, 1);
		assert_non_null(strstr(r.err, "refused the entry: HTTP 401: missing or wrong bearer token"));
		t_run_free(&r);
		r = t_sh("cd '%s' && '%s' publish out/t-1 --log %s", f.d, b, url);
		t_assert_clean_exit(&r, 2);
		assert_non_null(strstr(r.err, "a log URL needs --token-file"));
		t_run_free(&r);
		/* The monitor decodes the published record over HTTP too. */
		r = t_sh("cd '%s' && '%s' log monitor %s --vkey '%s' --state mon", f.d, b, url, f.vkey);
		t_assert_clean_exit(&r, 0);
		assert_non_null(strstr(r.out, "DSSE envelope"));
		assert_non_null(strstr(r.out, "1 new entry (size 2 -> 3), consistent"));
		t_run_free(&r);
		free(ao);
		free(ak);
	}
	free(ovmf);
	free(kernel);
	/* A proof fetched over HTTP verifies. */
	r = t_sh("cd '%s' && '%s' log proof %s 1 -o p1 && '%s' log verify p1 --vkey '%s'", f.d, b,
		 url, b, f.vkey);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "entry 1 of example.com/served"));
	t_run_free(&r);
	/* The served log rolled back (replaced by its own older copy, the
	 * server restarted without its record): the monitor alerts. */
	struct t_resp h = t_http(s.port, "POST", "/add", TOKEN, "one more", 8);
	assert_int_equal(h.status, 200);
	t_resp_free(&h);
	r = t_sh("cd '%s' && '%s' log monitor %s --vkey '%s' --state mon -q", f.d, b, url, f.vkey);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	r = t_sh("cd '%s' && rm -rf log && mkdir e2 && echo a >e2/a && '%s' log init log --origin "
		 "example.com/served --key log.key >/dev/null && '%s' log add log e2/a >/dev/null && "
		 "rm log.key.tree-head", f.d, b, b);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	r = t_sh("cd '%s' && '%s' log monitor %s --vkey '%s' --state mon", f.d, b, url, f.vkey);
	t_assert_clean_exit(&r, 4);
	assert_non_null(strstr(r.out, "ALERT: rollback"));
	t_run_free(&r);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	fx_free(&f);
}

/* One POST /add; the index its proof names. */
static uint64_t post_one(int port, const char *entry)
{
	struct t_resp r = t_http(port, "POST", "/add", TOKEN, entry, strlen(entry));
	if (r.status != 200)
		fail_msg("POST /add '%s': %d %s", entry, r.status, r.body ? r.body : "");
	uint64_t i = t_proof_index(r.body);
	t_resp_free(&r);
	return i;
}

static struct t_resp get_ok(int port, const char *path)
{
	struct t_resp r = t_http(port, "GET", path, NULL, NULL, 0);
	if (r.status != 200)
		fail_msg("GET %s: %d %s", path, r.status, r.body ? r.body : "");
	return r;
}

/* Once a tile is full, the server removes its partial tiles (tlog.md §4.2
 * allows it) and answers a request for one with the full tile cut to size:
 * the same bytes it served before; a client holding an old checkpoint audits
 * clean. */
static void test_pruned_partials(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 0);
	struct srv_proc s;
	char *extra[] = { "--token-file", f.tok, NULL };
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	char e[32];
	struct t_resp t5 = { 0 }, b5 = { 0 }, c5 = { 0 };
	for (int i = 0; i < 300; i++) {         /* one batch each: every width published */
		snprintf(e, sizeof(e), "entry %d", i);
		assert_int_equal(post_one(s.port, e), (uint64_t)i);
		if (i == 4) {
			t5 = get_ok(s.port, "/tile/0/000.p/5");
			b5 = get_ok(s.port, "/tile/entries/000.p/5");
			c5 = get_ok(s.port, "/checkpoint");
			assert_int_equal(t5.body_len, 5 * 32);
		}
	}
	struct stat st;
	char *p = NULL;
	assert_true(asprintf(&p, "%s/tile/0/000.p", f.log) > 0);
	assert_int_equal(stat(p, &st), -1);     /* pruned */
	free(p);
	assert_true(asprintf(&p, "%s/tile/entries/000.p", f.log) > 0);
	assert_int_equal(stat(p, &st), -1);
	free(p);
	assert_true(asprintf(&p, "%s/tile/0/001.p/44", f.log) > 0);
	assert_int_equal(stat(p, &st), 0);      /* the edge stays */
	free(p);
	struct t_resp r = get_ok(s.port, "/tile/0/000.p/5");
	assert_int_equal(r.body_len, t5.body_len);
	assert_memory_equal(r.body, t5.body, t5.body_len);
	assert_string_equal(t_header(&r, "Cache-Control"), "public, max-age=5");
	t_resp_free(&r);
	r = get_ok(s.port, "/tile/entries/000.p/5");
	assert_int_equal(r.body_len, b5.body_len);
	assert_memory_equal(r.body, b5.body, b5.body_len);
	t_resp_free(&r);
	/* Width 200: the first 200 hashes of the full tile. */
	struct t_resp full = get_ok(s.port, "/tile/0/000");
	r = get_ok(s.port, "/tile/0/000.p/200");
	assert_int_equal(r.body_len, 200 * 32);
	assert_memory_equal(r.body, full.body, 200 * 32);
	t_resp_free(&r);
	t_resp_free(&full);
	/* A partial tile beyond the tree is still 404. */
	r = t_http(s.port, "GET", "/tile/0/001.p/45", NULL, NULL, 0);
	assert_int_equal(r.status, 404);
	t_resp_free(&r);
	char *old = t_write(f.d, "old.cp", c5.body, c5.body_len), *opt = NULL;
	assert_true(asprintf(&opt, "-old '%s'", old) > 0);
	audit_url(s.port, f.vkey, opt);
	free(opt);
	free(old);
	t_resp_free(&t5);
	t_resp_free(&b5);
	t_resp_free(&c5);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	fx_free(&f);
}

/* Another process appends to the served directory (log add): the server's
 * next batch sees it, reloads and checks the tree, and goes on after it. */
static void test_other_writer(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 2);
	struct srv_proc s;
	char *extra[] = { "--token-file", f.tok, NULL };
	assert_int_equal(srv_start(&s, f.log, extra, NULL, NULL), 0);
	assert_int_equal(post_one(s.port, "served 2"), 2);
	struct run r = t_sh("cd '%s' && printf 'outside' >x && '%s' log add log x x x", f.d, t_bin());
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	assert_int_equal(post_one(s.port, "served 6"), 6);
	struct t_resp h = get_ok(s.port, "/checkpoint");
	assert_non_null(strstr(h.body, "\n7\n"));
	t_resp_free(&h);
	/* A directory changed under the server to a different tree: refused. */
	r = t_sh("cd '%s' && cp -a log mine && rm -rf log/tile log/.state/treeState log/.state/lastSigned "
		 "log/checkpoint && mkdir e2 && echo other >e2/o && rm -rf other && "
		 "'%s' log init other --origin example.com/served --key log.key >/dev/null && "
		 "'%s' log add other e2/o e2/o e2/o e2/o e2/o e2/o e2/o e2/o >/dev/null && "
		 "cp -a other/tile log/ && cp other/.state/treeState other/.state/lastSigned log/.state/ && "
		 "cp other/checkpoint log/", f.d, t_bin(), t_bin());
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	h = t_http(s.port, "POST", "/add", TOKEN, "refused", 7);
	assert_int_equal(h.status, 500);
	assert_non_null(strstr(h.body, "not the ones this server committed"));
	t_resp_free(&h);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	fx_free(&f);
}

/* Reads keep the connection open: three requests on one connection, each
 * answer read by its Content-Length, none with "Connection: close". */
static void test_keep_alive(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 3);
	struct srv_proc s;
	assert_int_equal(srv_start(&s, f.log, NULL, NULL, NULL), 0);
	int fd = t_connect(s.port);
	assert_true(fd >= 0);
	const char *paths[] = { "/checkpoint", "/tile/0/000.p/3", "/nothing" };
	const int want[] = { 200, 200, 404 };
	for (int i = 0; i < 3; i++) {
		char req[128], buf[8192];
		int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
				  paths[i]);
		assert_int_equal(send(fd, req, (size_t)rl, MSG_NOSIGNAL), rl);
		size_t n = 0;
		char *end = NULL;
		long cl = -1;
		while (!end || n < (size_t)(end - buf) + 4 + (size_t)cl) {
			ssize_t got = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
			if (got <= 0)
				fail_msg("GET %s, request %d on one connection: closed after %zu bytes",
					 paths[i], i + 1, n);
			n += (size_t)got;
			buf[n] = '\0';
			if (!end && (end = strstr(buf, "\r\n\r\n"))) {
				const char *h = strcasestr(buf, "\r\nContent-Length:");
				assert_non_null(h);
				cl = strtol(h + 17, NULL, 10);
			}
		}
		int status = 0;
		assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &status), 1);
		assert_int_equal(status, want[i]);
		*end = '\0';
		assert_null(strcasestr(buf, "Connection: close"));
	}
	close(fd);
	assert_int_equal(srv_stop(&s, SIGTERM), 0);
	fx_free(&f);
}

/* Usage errors and a token file others can read. */
static void test_usage(void **state)
{
	(void)state;
	struct fixture f;
	fx_init(&f, 0);
	struct run r = t_sh("'%s' log serve '%s'", t_bin(), f.log);
	t_assert_clean_exit(&r, 2);
	assert_non_null(strstr(r.err, "--listen"));
	t_run_free(&r);
	r = t_sh("'%s' log serve '%s' --listen nowhere", t_bin(), f.log);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "ADDR:PORT"));
	t_run_free(&r);
	r = t_sh("chmod 644 '%s' && '%s' log serve '%s' --listen 127.0.0.1:0 --token-file '%s'",
		 f.tok, t_bin(), f.log, f.tok);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "chmod 600"));
	t_run_free(&r);
	r = t_sh("'%s' log serve '%s/nolog' --listen 127.0.0.1:0", t_bin(), f.d);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "not a cvmforge log"));
	t_run_free(&r);
	fx_free(&f);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_api),   cmocka_unit_test(test_add),
		cmocka_unit_test(test_bad_input),  cmocka_unit_test(test_overload),
		cmocka_unit_test(test_rollback),   cmocka_unit_test(test_slow_clients),
		cmocka_unit_test(test_client),     cmocka_unit_test(test_usage),
		cmocka_unit_test(test_pruned_partials), cmocka_unit_test(test_other_writer),
		cmocka_unit_test(test_keep_alive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
