/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crash test of `log serve`: nothing acknowledged is ever lost.
 *
 * CRASH_KILLS times (200 by default; 30 in the sanitizer run, whose binary is
 * ~10x slower), a server is started while 8 clients submit entries
 * concurrently, and killed with SIGKILL: in turn at each failpoint of the
 * append path (CVMF_CRASH_POINT=NAME:N, log/crash.c: sequencing, bundle and
 * tile writes, the batch's first round of fsyncs, the renames of the
 * tree-state commit, the record beside the key and lastSigned, the removal of
 * a full tile's partial tiles, and just before the answers are sent), N drawn
 * at random, or from outside after a random delay. The server is restarted
 * after each kill, and then:
 *   - it starts (it finishes or discards the interrupted batch);
 *   - every entry answered 200 is in the log at the index its proof named,
 *     and every proof verified when it was received;
 *   - every checkpoint handed out (in the proofs, or GET /checkpoint) is a
 *     prefix of the current tree: none smaller, none inconsistent;
 *   - tlogcheck audits the served log (-old: consistent with the previous
 *     audit's checkpoint; -full every 10th restart and at the end);
 *   - every 20th restart, the directory is swapped for a copy taken earlier
 *     and the server must refuse to start, then the real one is put back.
 * The seed is printed (# seed N) and CRASH_SEED=N replays a run.
 */
#include <pthread.h>

#include "log/tlog.h"
#include "tests/unit/servetest.h"

#define TOKEN "crash-test-token"
#define NCLIENTS 8

static const char *const points[] = { "sequence", "bundle", "tile", "sync",  "commit",
				      "external", "signed", "prune", "ack", NULL };
#define NPOINTS (sizeof(points) / sizeof(points[0]))

struct ack {
	char *entry;
	uint64_t size;          /* the checkpoint of its proof */
	uint8_t root[32];
};

static struct {
	pthread_mutex_t mu;
	struct ack *by_index;   /* acknowledged entries, by log index */
	uint64_t cap;
	uint64_t n_acks, max_index;
	uint64_t bad;           /* proofs that did not verify, indices acked twice */
	char bad_msg[512];
	const char *vkey;
} g = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct client {
	int port, iter, id;
	volatile int *stop;
};

static void record(const char *entry, const char *proof, size_t len)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_log_verify_opts o = { .vkey = g.vkey };
	struct cvmf_log_verified v;
	int r = cvmf_log_verify_proof(ctx, proof, len, &o, &v);
	pthread_mutex_lock(&g.mu);
	if (r || v.entry_len != strlen(entry) || memcmp(v.entry, entry, v.entry_len)) {
		if (!g.bad++)
			snprintf(g.bad_msg, sizeof(g.bad_msg), "proof of '%s' does not verify: %s",
				 entry, r ? cvmf_ctx_errmsg(ctx) : "another entry");
	} else {
		if (v.index >= g.cap) {
			uint64_t nc = (v.index + 1) * 2;
			g.by_index = realloc(g.by_index, nc * sizeof(*g.by_index));
			memset(g.by_index + g.cap, 0, (nc - g.cap) * sizeof(*g.by_index));
			g.cap = nc;
		}
		struct ack *a = &g.by_index[v.index];
		if (a->entry) {
			if (!g.bad++)
				snprintf(g.bad_msg, sizeof(g.bad_msg),
					 "index %llu acknowledged for '%s' and for '%s'",
					 (unsigned long long)v.index, a->entry, entry);
		} else {
			a->entry = strdup(entry);
			a->size = v.size;
			memcpy(a->root, v.root, 32);
			g.n_acks++;
			if (v.index > g.max_index)
				g.max_index = v.index;
		}
	}
	pthread_mutex_unlock(&g.mu);
	if (!r)
		cvmf_log_verified_clear(&v);
	cvmf_ctx_free(ctx);
}

static void *client(void *arg)
{
	struct client *c = arg;
	for (int seq = 0; !*c->stop; seq++) {
		char e[96];
		int n = snprintf(e, sizeof(e), "crash test: restart %d client %d entry %d", c->iter,
				 c->id, seq);
		struct t_resp r = t_http(c->port, "POST", "/add", TOKEN, e, (size_t)n);
		if (r.status == 200)
			record(e, r.body, r.body_len);
		else if (r.status == 0)
			usleep(2000);   /* the server is down */
		t_resp_free(&r);
	}
	return NULL;
}

/* The current tree, from the log directory. */
static void current_tree(const char *dir, uint64_t *size, uint8_t root[32])
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_log_state st;
	assert_int_equal(cvmf_log_state(ctx, dir, &st), 0);
	*size = st.size;
	memcpy(root, st.root, 32);
	cvmf_ctx_free(ctx);
}

/* Every acknowledged entry at its index; every acknowledged checkpoint a
 * prefix of the tree of `size`. */
static void check_acks(const char *dir, uint64_t size)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct tlg_tiles *t = NULL;
	assert_int_equal(tlg_tiles_new(ctx, dir, size, &t), 0);
	pthread_mutex_lock(&g.mu);
	if (g.bad)
		fail_msg("%s", g.bad_msg);
	if (g.n_acks && g.max_index >= size)
		fail_msg("entry %llu was acknowledged, the log has %llu entries",
			 (unsigned long long)g.max_index, (unsigned long long)size);
	for (uint64_t b = 0; g.n_acks && b <= g.max_index / 256; b++) {
		uint8_t *buf = NULL;
		const uint8_t *starts[256];
		size_t lens[256];
		unsigned w = 0;
		bool any = false;
		for (uint64_t i = b * 256; i < (b + 1) * 256 && i < g.cap; i++)
			any |= g.by_index[i].entry != NULL;
		if (!any)
			continue;
		if (tlg_read_bundle(ctx, dir, b, size, &buf, starts, lens, &w))
			fail_msg("bundle %llu: %s", (unsigned long long)b, cvmf_ctx_errmsg(ctx));
		for (unsigned i = 0; i < w && b * 256 + i < g.cap; i++) {
			struct ack *a = &g.by_index[b * 256 + i];
			if (!a->entry)
				continue;
			if (lens[i] != strlen(a->entry) || memcmp(starts[i], a->entry, lens[i]))
				fail_msg("entry %llu: acknowledged as '%s', the log has '%.*s'",
					 (unsigned long long)(b * 256 + i), a->entry, (int)lens[i],
					 (const char *)starts[i]);
			if (a->size) {  /* its checkpoint: a prefix of this tree */
				uint8_t h[32];
				if (a->size > size || tlg_range_hash(ctx, tlg_tiles_node, t, 0, a->size, h) ||
				    memcmp(h, a->root, 32))
					fail_msg("the checkpoint of size %llu in the proof of entry %llu "
						 "is not a prefix of the log (size %llu)",
						 (unsigned long long)a->size,
						 (unsigned long long)(b * 256 + i), (unsigned long long)size);
				a->size = 0;    /* checked once: later trees extend this one */
			}
		}
		free(buf);
	}
	pthread_mutex_unlock(&g.mu);
	tlg_tiles_free(t);
	cvmf_ctx_free(ctx);
}

static void audit(int port, const char *dir, bool full)
{
	if (!t_tlogcheck())
		return;
	struct run r = t_sh("cd '%s/..' && if [ -f prev.cp ]; then old='-old prev.cp'; fi; "
			    "'%s' audit -log http://127.0.0.1:%d -vkey '%s' %s $old 2>&1 && "
			    "cp '%s/checkpoint' prev.cp",
			    dir, t_tlogcheck(), port, g.vkey, full ? "-full" : "", dir);
	if (r.status)
		fail_msg("tlogcheck audit: %s", r.out);
	t_run_free(&r);
}

static void test_crash(void **state)
{
	(void)state;
	const char *ks = getenv("CRASH_KILLS"), *ss = getenv("CRASH_SEED");
	bool san = strstr(t_bin(), "asan") != NULL;
	int kills = ks ? atoi(ks) : san ? 30 : 200;
	unsigned seed = ss ? (unsigned)strtoul(ss, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
	printf("# seed %u (CRASH_SEED=%u replays it), %d kills\n", seed, seed, kills);
	srand(seed);
	char *d = t_tmpdir(), *dir = NULL, *tok;
	assert_true(asprintf(&dir, "%s/log", d) > 0);
	struct run r = t_sh("cd '%s' && '%s' log init log --origin crash.example/log", d, t_bin());
	t_assert_clean_exit(&r, 0);
	g.vkey = strdup(t_last_line(r.out));
	t_run_free(&r);
	tok = t_write(d, "token", TOKEN "\n", strlen(TOKEN) + 1);
	assert_int_equal(chmod(tok, 0600), 0);
	char *extra[] = { "--token-file", tok, NULL };
	int by_point[NPOINTS] = { 0 }, died_at_start = 0, refusals = 0;
	uint64_t snap_size = 0, max_seen = 0;
	for (int k = 0; k < kills; k++) {
		unsigned which = (unsigned)k % NPOINTS;
		char env[64];
		char *envv[] = { env, NULL };
		if (points[which])
			snprintf(env, sizeof(env), "CVMF_CRASH_POINT=%s:%d", points[which],
				 1 + rand() % 4);
		struct srv_proc s;
		int rc = srv_start(&s, dir, extra, points[which] ? envv : NULL, NULL);
		if (getenv("CRASH_DEBUG"))
			printf("# restart %d: %s: start %d\n", k, points[which] ? env : "random", rc);
		if (rc) {
			/* Killed at a failpoint while finishing the last batch. */
			if (rc != 128 + SIGKILL || !points[which])
				fail_msg("restart %d: the server did not start (%d)", k, rc);
			died_at_start++;
			by_point[which]++;
		} else {
			volatile int stop = 0;
			struct client c[NCLIENTS];
			pthread_t th[NCLIENTS];
			for (int i = 0; i < NCLIENTS; i++) {
				c[i] = (struct client){ s.port, k, i, &stop };
				assert_int_equal(pthread_create(&th[i], NULL, client, &c[i]), 0);
			}
			if (points[which]) {
				/* Until it kills itself; a point not reached in 10 s: kill it. */
				int st = 0;
				for (int t = 0; t < 1000 && waitpid(s.pid, &st, WNOHANG) == 0; t++)
					usleep(10000);
				if (waitpid(s.pid, &st, WNOHANG) == 0)
					kill(s.pid, SIGKILL);
				waitpid(s.pid, &st, 0);
				unlink(s.err_path);
				s.pid = 0;
			} else {
				usleep((useconds_t)(rand() % 150000));
				srv_stop(&s, SIGKILL);
			}
			by_point[which]++;
			stop = 1;
			for (int i = 0; i < NCLIENTS; i++)
				pthread_join(th[i], NULL);
		}
		/* Restart: it must start, and nothing acknowledged may be lost. */
		char *err = NULL;
		rc = srv_start(&s, dir, extra, NULL, &err);
		if (rc)
			fail_msg("restart %d after a kill (%s): the server does not start (%d): %s", k,
				 points[which] ? points[which] : "random", rc, err ? err : "");
		uint64_t size;
		uint8_t root[32];
		current_tree(dir, &size, root);
		if (size < max_seen)
			fail_msg("restart %d: the log has %llu entries, %llu were published before",
				 k, (unsigned long long)size, (unsigned long long)max_seen);
		max_seen = size;
		check_acks(dir, size);
		struct t_resp h = t_http(s.port, "GET", "/checkpoint", NULL, NULL, 0);
		assert_int_equal(h.status, 200);
		char want[32];
		snprintf(want, sizeof(want), "\n%llu\n", (unsigned long long)size);
		if (!strstr(h.body, want))
			fail_msg("restart %d: GET /checkpoint: %s, the log has %llu entries", k, h.body,
				 (unsigned long long)size);
		t_resp_free(&h);
		audit(s.port, dir, k % 10 == 9 || k == kills - 1);
		if (k == 4) {
			r = t_sh("cd '%s' && rm -rf snap && cp -a log snap", d);
			t_assert_clean_exit(&r, 0);
			t_run_free(&r);
			snap_size = size;
		}
		if (k % 20 == 19 && size > snap_size && snap_size) {
			/* Rolled back to the old copy: refused. */
			srv_stop(&s, SIGTERM);
			r = t_sh("cd '%s' && mv log cur && cp -a snap log", d);
			t_assert_clean_exit(&r, 0);
			t_run_free(&r);
			char *e2 = NULL;
			rc = srv_start(&s, dir, extra, NULL, &e2);
			if (rc != 1 || !strstr(e2, "was rolled back"))
				fail_msg("restart %d: a rolled-back directory was not refused (%d): %s", k,
					 rc, e2 ? e2 : "it started");
			free(e2);
			refusals++;
			r = t_sh("cd '%s' && rm -rf log && mv cur log", d);
			t_assert_clean_exit(&r, 0);
			t_run_free(&r);
		} else {
			srv_stop(&s, SIGTERM);
		}
		free(err);
	}
	printf("# %d kills survived (", kills);
	for (size_t i = 0; i < NPOINTS; i++)
		printf("%s%s %d", i ? ", " : "", points[i] ? points[i] : "random", by_point[i]);
	printf("; %d while finishing a batch at start-up), %llu entries acknowledged, log size "
	       "%llu, %d rollbacks refused\n", died_at_start, (unsigned long long)g.n_acks,
	       (unsigned long long)max_seen, refusals);
	assert_true(g.n_acks > 0);
	assert_true(refusals > 0 || kills < 40);
	for (uint64_t i = 0; i < g.cap; i++)
		free(g.by_index[i].entry);
	free(g.by_index);
	free((char *)g.vkey);
	t_rmrf(d);
	free(d);
	free(dir);
	free(tok);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
