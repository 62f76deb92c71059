/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The directory log (log/store.c) and tlog-proof files (log/proof.c): the
 * golden 1000-entry log reproduced byte for byte, logs grown in uneven batches
 * audited by ../shared/tools/tlogcheck (every tile, bundle, and consistency
 * with every earlier checkpoint), proofs checked both ways, entries over
 * 64 KiB refused, two writers serialised, a rolled-back state refused.
 */
#include <dirent.h>
#include <sys/wait.h>

#include "log/tlog.h"
#include "tests/unit/tlogtest.h"

#define FIX "fixtures/tlog-upstream"
#define GOLDEN_SKEY "PRIVATE+KEY+example.com/testlog+aa158d86+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
#define GOLDEN_VKEY "example.com/testlog+aa158d86+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"

static void must(cvmf_ctx *ctx, int r, const char *what)
{
	if (r)
		fail_msg("%s: %d: %s", what, r, cvmf_ctx_errmsg(ctx));
}

/* Add entries "entry i" for i in [from, to) in one batch. */
static void add_range(cvmf_ctx *ctx, const char *dir, uint64_t from, uint64_t to)
{
	size_t n = (size_t)(to - from);
	uint8_t **e = calloc(n, sizeof(*e));
	size_t *l = calloc(n, sizeof(*l));
	for (size_t i = 0; i < n; i++) {
		char b[32];
		l[i] = (size_t)snprintf(b, sizeof(b), "entry %llu", (unsigned long long)(from + i));
		e[i] = (uint8_t *)strdup(b);
	}
	uint64_t first = 0;
	must(ctx, cvmf_log_add(ctx, dir, (const uint8_t *const *)e, l, n, &first), "log add");
	assert_int_equal(first, from);
	for (size_t i = 0; i < n; i++)
		free(e[i]);
	free(e);
	free(l);
}

static char *golden_key(const char *tmp)
{
	char *k = t_write(tmp, "golden.skey", GOLDEN_SKEY "\n", strlen(GOLDEN_SKEY) + 1);
	assert_int_equal(chmod(k, 0600), 0);
	return k;
}

/* Every file under a/rel is in b with the same bytes (names in `skip_prefix` aside). */
static int same_tree(const char *a, const char *b, const char *rel, const char *skip_prefix)
{
	char *pa = NULL;
	assert_true(asprintf(&pa, "%s%s%s", a, *rel ? "/" : "", rel) > 0);
	DIR *d = opendir(pa);
	assert_non_null(d);
	struct dirent *e;
	int count = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' ||
		    (skip_prefix && !*rel && !strncmp(e->d_name, skip_prefix, strlen(skip_prefix))))
			continue;
		char *r2 = NULL, *fa = NULL, *fb = NULL;
		assert_true(asprintf(&r2, "%s%s%s", rel, *rel ? "/" : "", e->d_name) > 0);
		assert_true(asprintf(&fa, "%s/%s", a, r2) > 0);
		assert_true(asprintf(&fb, "%s/%s", b, r2) > 0);
		struct stat st;
		assert_int_equal(stat(fa, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			count += same_tree(a, b, r2, skip_prefix);
		} else {
			size_t la, lb;
			if (access(fb, R_OK) != 0)
				fail_msg("%s is in %s but not in %s", r2, a, b);
			char *da = t_slurp(fa, &la), *db = t_slurp(fb, &lb);
			if (la != lb || memcmp(da, db, la))
				fail_msg("%s differs (%zu vs %zu bytes)", r2, la, lb);
			free(da);
			free(db);
			count++;
		}
		free(r2);
		free(fa);
		free(fb);
	}
	closedir(d);
	free(pa);
	return count;
}

static void test_golden(void **state)
{
	(void)state;
	char *golden = t_shared_file(FIX "/golden-log-1000/checkpoint");
	if (!golden)
		skip();
	*strrchr(golden, '/') = '\0';
	char *tmp = t_tmpdir(), *key = golden_key(tmp), *dir = NULL, *vkey = NULL;
	assert_true(asprintf(&dir, "%s/log", tmp) > 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	must(ctx, cvmf_log_init(ctx, dir, "example.com/testlog", key, &vkey), "init");
	assert_string_equal(vkey, GOLDEN_VKEY);
	const uint64_t sizes[] = { 1, 2, 3, 255, 256, 257, 1000 };
	uint64_t prev = 0;
	for (size_t i = 0; i < CMN_ARRAY_SIZE(sizes); i++) {
		add_range(ctx, dir, prev, sizes[i]);
		prev = sizes[i];
		char *a = NULL, *b = NULL;
		assert_true(asprintf(&a, "%s/checkpoint.%llu", golden, (unsigned long long)sizes[i]) > 0);
		assert_true(asprintf(&b, "%s/checkpoint", dir) > 0);
		char *da = t_slurp(a, NULL), *db = t_slurp(b, NULL);
		assert_string_equal(db, da);
		free(da);
		free(db);
		free(a);
		free(b);
	}
	/* Both ways: every golden file is ours, every file we serve is golden. */
	int n1 = same_tree(golden, dir, "", "checkpoint.");
	int n2 = same_tree(dir, golden, "", NULL);
	assert_int_equal(n1, n2);
	assert_int_equal(n1, 21);
	/* An empty batch changes nothing (no new checkpoint). */
	uint64_t first = 0;
	must(ctx, cvmf_log_add(ctx, dir, NULL, NULL, 0, &first), "empty add");
	assert_int_equal(first, 1000);
	assert_int_equal(same_tree(dir, golden, "", NULL), 21);
	cvmf_ctx_free(ctx);
	t_rmrf(tmp);
	free(tmp);
	free(key);
	free(dir);
	free(vkey);
	free(golden);
}

static struct run tlogcheck(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct run tlogcheck(const char *fmt, ...)
{
	char *args;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&args, fmt, ap) > 0);
	va_end(ap);
	struct run r = t_sh("'%s' %s 2>&1", t_tlogcheck(), args);
	free(args);
	return r;
}

/* Uneven batches; after each, tlogcheck audits every tile and bundle and the
 * consistency with every earlier checkpoint; proofs go both ways. */
static void test_audit(void **state)
{
	(void)state;
	if (!t_tlogcheck())
		skip();
	char *tmp = t_tmpdir(), *dir = NULL, *vkey = NULL;
	assert_true(asprintf(&dir, "%s/log", tmp) > 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	must(ctx, cvmf_log_init(ctx, dir, "test.example/audit", NULL, &vkey), "init");
	/* The key went beside the log, not into it. */
	char *kp = NULL;
	assert_true(asprintf(&kp, "%s/log.key", tmp) > 0);
	assert_int_equal(access(kp, R_OK), 0);
	const uint64_t sizes[] = { 1, 7, 256, 300, 511, 512, 513, 1300, 65536 + 7, 70000 };
	uint64_t prev = 0;
	size_t ncp = 0;
	char *cps[16];
	for (size_t i = 0; i < CMN_ARRAY_SIZE(sizes); i++) {
		add_range(ctx, dir, prev, sizes[i]);
		prev = sizes[i];
		struct run r = tlogcheck("audit -log '%s' -vkey '%s' -full", dir, vkey);
		if (r.status)
			fail_msg("audit at size %llu: %s", (unsigned long long)sizes[i], r.out);
		t_run_free(&r);
		for (size_t j = 0; j < ncp; j++) {
			r = tlogcheck("audit -log '%s' -vkey '%s' -old '%s'", dir, vkey, cps[j]);
			if (r.status)
				fail_msg("consistency %zu -> %llu: %s", j, (unsigned long long)sizes[i], r.out);
			t_run_free(&r);
		}
		char *save = NULL;
		assert_true(asprintf(&save, "%s/cp.%zu", tmp, ncp) > 0);
		r = t_sh("cp '%s/checkpoint' '%s'", dir, save);
		assert_int_equal(r.status, 0);
		t_run_free(&r);
		cps[ncp++] = save;
	}
	/* Our proofs verify with tlogcheck; its proofs verify with us. */
	const uint64_t idx[] = { 0, 1, 255, 256, 65535, 65536, 69999 };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(idx); i++) {
		char *proof = NULL, *pf = NULL, *ef = NULL, e[32];
		size_t plen = 0;
		int el = snprintf(e, sizeof(e), "entry %llu", (unsigned long long)idx[i]);
		must(ctx, cvmf_log_proof(ctx, dir, idx[i], &proof, &plen), "proof");
		pf = t_write(tmp, "p.tlog-proof", proof, plen);
		ef = t_write(tmp, "entry", e, (size_t)el);
		struct run r = tlogcheck("tlog-proof -vkey '%s' -entry-file '%s' '%s'", vkey, ef, pf);
		if (r.status)
			fail_msg("tlogcheck refused our proof for %llu: %s\n%s",
				 (unsigned long long)idx[i], r.out, proof);
		t_run_free(&r);
		/* tlogcheck's proof (no extra line) with the entry given. */
		r = tlogcheck("audit -log '%s' -vkey '%s' -index %llu | sed -n '/^--- tlog-proof ---$/,/^--- end ---$/p' | sed '1d;$d'",
			      dir, vkey, (unsigned long long)idx[i]);
		assert_int_equal(r.status, 0);
		assert_true(r.out_len > 50);
		struct cvmf_log_verify_opts o = { .vkey = vkey, .entry = (uint8_t *)e,
						  .entry_len = (size_t)el };
		struct cvmf_log_verified v;
		must(ctx, cvmf_log_verify_proof(ctx, r.out, r.out_len, &o, &v), "verify tlogcheck proof");
		assert_int_equal(v.index, idx[i]);
		assert_int_equal(v.size, 70000);
		cvmf_log_verified_clear(&v);
		/* Tampered: another entry, another index, a flipped hash. */
		o.entry = (const uint8_t *)"entry x";
		o.entry_len = 7;
		assert_int_equal(cvmf_log_verify_proof(ctx, r.out, r.out_len, &o, &v), CVMF_E_CRYPTO);
		o.entry = (uint8_t *)e;
		o.entry_len = (size_t)el;
		char *nl = strchr(r.out, '\n');
		char *hash = nl ? strchr(nl + 1, '\n') : NULL;
		assert_non_null(hash);
		hash[1] = hash[1] == 'A' ? 'B' : 'A';
		assert_int_not_equal(cvmf_log_verify_proof(ctx, r.out, r.out_len, &o, &v), 0);
		t_run_free(&r);
		free(proof);
		free(pf);
		free(ef);
	}
	for (size_t j = 0; j < ncp; j++)
		free(cps[j]);
	cvmf_ctx_free(ctx);
	t_rmrf(tmp);
	free(tmp);
	free(dir);
	free(vkey);
	free(kp);
}

static void test_refusals(void **state)
{
	(void)state;
	char *tmp = t_tmpdir(), *dir = NULL, *vkey = NULL, *inside = NULL;
	assert_true(asprintf(&dir, "%s/log", tmp) > 0);
	assert_true(asprintf(&inside, "%s/log/k.pem", tmp) > 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	/* A key inside the served tree. */
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(cvmf_log_init(ctx, dir, "t.example/log", inside, &vkey), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "inside the log directory"));
	assert_int_equal(cvmf_log_init(ctx, dir, "bad origin", NULL, &vkey), CVMF_E_INVAL);
	must(ctx, cvmf_log_init(ctx, dir, "t.example/log", NULL, &vkey), "init");
	assert_int_equal(cvmf_log_init(ctx, dir, "t.example/log", NULL, &vkey), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "not empty"));
	/* An entry over 64 KiB: nothing appended. */
	uint8_t *big = calloc(1, 65536);
	const uint8_t *e[2] = { (const uint8_t *)"ok", big };
	size_t l[2] = { 2, 65536 };
	uint64_t first = 99;
	assert_int_equal(cvmf_log_add(ctx, dir, e, l, 2, &first), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "at most 65535"));
	assert_int_equal(first, 99);
	struct cvmf_log_state st;
	must(ctx, cvmf_log_state(ctx, dir, &st), "state");
	assert_int_equal(st.size, 0);
	l[1] = 65535;   /* the largest entry is fine */
	must(ctx, cvmf_log_add(ctx, dir, e, l, 2, &first), "add max");
	assert_int_equal(first, 0);
	char *proof = NULL;
	size_t plen;
	must(ctx, cvmf_log_proof(ctx, dir, 1, &proof, &plen), "proof of a 64 KiB entry");
	struct cvmf_log_verify_opts o = { .vkey = vkey };
	struct cvmf_log_verified v;
	must(ctx, cvmf_log_verify_proof(ctx, proof, plen, &o, &v), "verify");
	assert_int_equal(v.entry_len, 65535);
	cvmf_log_verified_clear(&v);
	assert_int_equal(cvmf_log_proof(ctx, dir, 2, &proof, &plen), CVMF_E_INVAL);
	free(proof);
	/* A tree state restored from an old backup: refused, nothing signed. */
	char *ts = NULL;
	assert_true(asprintf(&ts, "%s/.state/treeState", dir) > 0);
	size_t good_len;
	char *good = t_slurp(ts, &good_len);
	char old[128];
	uint8_t empty[32];
	tlg_empty_root(empty);
	char b64[45];
	cvmf_base64(empty, 32, b64);
	int n = snprintf(old, sizeof(old), "t.example/log\n0\n%s\n", b64);
	free(t_write(tmp, "log/.state/treeState", old, (size_t)n));
	assert_int_equal(cvmf_log_add(ctx, dir, e, l, 1, &first), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "behind the last signed checkpoint"));
	/* A tree state that lies about the root. */
	n = snprintf(old, sizeof(old), "t.example/log\n2\n%s\n", b64);
	free(t_write(tmp, "log/.state/treeState", old, (size_t)n));
	assert_int_equal(cvmf_log_add(ctx, dir, e, l, 1, &first), CVMF_E_CRYPTO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "committed tree state"));
	/* A tile rewritten behind our back: the next checkpoint is not signed. */
	free(t_write(tmp, "log/.state/treeState", good, good_len));
	uint8_t junk[64] = { 1 };
	free(t_write(tmp, "log/tile/0/000.p/2", junk, sizeof(junk)));
	assert_int_equal(cvmf_log_add(ctx, dir, e, l, 1, &first), CVMF_E_CRYPTO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "refusing to sign"));
	must(ctx, cvmf_log_state(ctx, dir, &st), "state");
	assert_int_equal(st.size, 2);
	free(good);
	free(ts);
	free(big);
	cvmf_ctx_free(ctx);
	t_rmrf(tmp);
	free(tmp);
	free(dir);
	free(vkey);
	free(inside);
}

/* Two writers at once (processes): they serialise, no entry is lost. */
static void test_two_writers(void **state)
{
	(void)state;
	char *tmp = t_tmpdir(), *dir = NULL, *vkey = NULL;
	assert_true(asprintf(&dir, "%s/log", tmp) > 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	must(ctx, cvmf_log_init(ctx, dir, "t.example/two", NULL, &vkey), "init");
	pid_t pids[2];
	for (int w = 0; w < 2; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			cvmf_ctx *c = cvmf_ctx_new();
			for (int b = 0; b < 20; b++) {
				uint8_t *e[13];
				size_t l[13];
				char buf[13][32];
				for (int i = 0; i < 13; i++) {
					l[i] = (size_t)snprintf(buf[i], 32, "w%d b%d e%d", w, b, i);
					e[i] = (uint8_t *)buf[i];
				}
				uint64_t first;
				if (cvmf_log_add(c, dir, (const uint8_t *const *)e, l, 13, &first))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < 2; w++) {
		int st;
		assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct cvmf_log_state st;
	must(ctx, cvmf_log_state(ctx, dir, &st), "state");
	assert_int_equal(st.size, 2 * 20 * 13);
	if (t_tlogcheck()) {
		struct run r = tlogcheck("audit -log '%s' -vkey '%s' -full", dir, vkey);
		if (r.status)
			fail_msg("audit: %s", r.out);
		t_run_free(&r);
	}
	cvmf_ctx_free(ctx);
	t_rmrf(tmp);
	free(tmp);
	free(dir);
	free(vkey);
}

/* Readers while a writer appends: every proof a reader gets verifies against
 * the checkpoint it was made from (immutable tiles, partial tiles kept for every
 * published size, the checkpoint replaced atomically). */
static void test_read_while_writing(void **state)
{
	(void)state;
	char *tmp = t_tmpdir(), *dir = NULL, *vkey = NULL;
	assert_true(asprintf(&dir, "%s/log", tmp) > 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	must(ctx, cvmf_log_init(ctx, dir, "t.example/rw", NULL, &vkey), "init");
	add_range(ctx, dir, 0, 1);
	pid_t w = fork();
	assert_true(w >= 0);
	if (w == 0) {
		cvmf_ctx *c = cvmf_ctx_new();
		uint64_t n = 1;
		for (int b = 0; b < 60; b++) {
			uint64_t k = 1 + (uint64_t)(b * 37 % 97), first;
			uint8_t *e[100];
			size_t l[100];
			char buf[100][32];
			for (uint64_t i = 0; i < k; i++) {
				l[i] = (size_t)snprintf(buf[i], 32, "entry %llu", (unsigned long long)(n + i));
				e[i] = (uint8_t *)buf[i];
			}
			if (cvmf_log_add(c, dir, (const uint8_t *const *)e, l, (size_t)k, &first) ||
			    first != n)
				_exit(1);
			n += k;
		}
		_exit(0);
	}
	int proofs = 0, st = 0;
	srand(11);
	for (;;) {
		pid_t done = waitpid(w, &st, WNOHANG);
		struct cvmf_log_state ls;
		must(ctx, cvmf_log_state(ctx, dir, &ls), "state");
		uint64_t idx = (uint64_t)rand() % ls.size;
		char *proof = NULL, e[32];
		size_t plen;
		int el = snprintf(e, sizeof(e), "entry %llu", (unsigned long long)idx);
		must(ctx, cvmf_log_proof(ctx, dir, idx, &proof, &plen), "proof while writing");
		struct cvmf_log_verify_opts o = { .vkey = vkey, .entry = (uint8_t *)e,
						  .entry_len = (size_t)el };
		struct cvmf_log_verified v;
		must(ctx, cvmf_log_verify_proof(ctx, proof, plen, &o, &v), "verify while writing");
		assert_true(v.size >= ls.size);
		cvmf_log_verified_clear(&v);
		free(proof);
		proofs++;
		if (done == w)
			break;
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("# %d proofs verified while the writer appended\n", proofs);
	assert_true(proofs > 1);
	cvmf_ctx_free(ctx);
	t_rmrf(tmp);
	free(tmp);
	free(dir);
	free(vkey);
}

/* The states a crash leaves behind (tlog.md 6.3): a tree committed but not
 * signed, and files of an uncommitted batch. Both recover, and the log audits. */
static void test_crash_states(void **state)
{
	(void)state;
	char *tmp = t_tmpdir(), *dir = NULL, *vkey = NULL;
	assert_true(asprintf(&dir, "%s/log", tmp) > 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	must(ctx, cvmf_log_init(ctx, dir, "t.example/crash", NULL, &vkey), "init");
	add_range(ctx, dir, 0, 5);
	struct run r = t_sh("cd '%s' && cp log/checkpoint cp5 && cp log/.state/lastSigned ls5", tmp);
	assert_int_equal(r.status, 0);
	t_run_free(&r);
	add_range(ctx, dir, 5, 8);
	/* Committed at 8, crashed before signing: lastSigned and checkpoint still at 5. */
	r = t_sh("cd '%s' && cp cp5 log/checkpoint && cp ls5 log/.state/lastSigned", tmp);
	assert_int_equal(r.status, 0);
	t_run_free(&r);
	struct cvmf_log_state st;
	must(ctx, cvmf_log_state(ctx, dir, &st), "state");
	assert_int_equal(st.size, 5);
	uint64_t first = 0;
	must(ctx, cvmf_log_add(ctx, dir, NULL, NULL, 0, &first), "recover by signing");
	assert_int_equal(first, 8);
	must(ctx, cvmf_log_state(ctx, dir, &st), "state");
	assert_int_equal(st.size, 8);
	/* A batch that crashed before its commit point: junk beyond size 8, and temporaries. */
	uint8_t junk[11 * 32];
	memset(junk, 0x5a, sizeof(junk));
	free(t_write(tmp, "log/tile/0/000.p/11", junk, sizeof(junk)));
	free(t_write(tmp, "log/tile/entries/000.p/11", junk, 40));
	free(t_write(tmp, "log/tile/0/.tmp-1-000.p", junk, 7));
	add_range(ctx, dir, 8, 11);
	if (t_tlogcheck()) {
		r = tlogcheck("audit -log '%s' -vkey '%s' -full -old '%s/cp5'", dir, vkey, tmp);
		if (r.status)
			fail_msg("audit after recovery: %s", r.out);
		t_run_free(&r);
	}
	char *e = NULL;
	size_t el = 0;
	must(ctx, tlg_read_entry(ctx, dir, 10, 11, (uint8_t **)&e, &el), "entry 10");
	assert_int_equal(el, 8);
	assert_memory_equal(e, "entry 10", 8);
	free(e);
	cvmf_ctx_free(ctx);
	t_rmrf(tmp);
	free(tmp);
	free(dir);
	free(vkey);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_crash_states),
		cmocka_unit_test(test_read_while_writing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
