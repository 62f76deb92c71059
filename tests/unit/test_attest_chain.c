/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust chain closed (issue 15, ../shared/docs/chain.md): an image built
 * from the ../shared inputs, signed (`cvmforge sign`), published to a log in
 * a temporary directory (`cvmforge publish`), and synthetic SEV-SNP reports
 * of its real launch digests, made with a test ARK/ASK/VCEK chain by
 * tests/tools/mkreport.c (included here), verified with `attest verify
 * --expect` against the signed statement and against the tlog-proof:
 * matched; a tampered statement or proof; a wrong vkey or release key; fail
 * closed without the keys; a report with another vCPU count explained; a
 * signed image whose files were changed is not searched; a TDX quote matched
 * through a statement and a proof made here.
 */
#include <jansson.h>

#include "testlib.h"

#include "common/json.h"

#define MKREPORT_NO_MAIN
#include "tests/tools/mkreport.c"

struct fx {
	char *dir;      /* everything */
	char *img;      /* dir/out/t-1 */
	char *stmt;     /* img/measurements.dsse.json */
	char *proof;    /* img.tlog-proof */
	char *pub;      /* the release key */
	char *vkey;     /* the log's verifier key (inline) */
	char *r2, *r6;  /* reports: 2 vCPUs of EPYC-v4 (published); 6 of EPYC-Milan (not) */
};

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static char *shared_abs(const char *rel)
{
	char *p = t_shared_file(rel);
	if (!p)
		return NULL;
	char *abs = realpath(p, NULL);
	free(p);
	return abs;
}

/* A report whose measurement is the image's SNP launch digest with these
 * parameters (computed by the library from the image's own OVMF.fd), with
 * its chain, in dir/name/. */
static char *make_report(struct fx *f, const char *name, unsigned vcpus, const char *cpu)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *fw = path_in(f->img, "OVMF.fd"), *dir = path_in(f->dir, name);
	struct cvmf_sev_spec spec = { .mode = CVMF_MODE_SNP, .ovmf_path = fw };
	struct cvmf_sev_inputs *in = NULL;
	if (cvmf_sev_load(ctx, &spec, &in))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	const struct cvmf_cpu_type *t = cvmf_cpu_type_find(cpu);
	assert_non_null(t);
	struct cvmf_sev_launch l = { .vmm = CVMF_VMM_QEMU, .vcpus = vcpus, .guest_features = 1,
				     .vcpu_sig = cvmf_cpu_sig(t->family, t->model, t->stepping) };
	struct cvmf_digest d;
	assert_int_equal(cvmf_sev_measure(ctx, in, &l, &d), 0);
	struct mkr_spec sp = { .product = "Genoa", .bl = 3, .tee = 0, .snp = 8, .ucode = 115 };
	memcpy(sp.measurement, d.bytes, 48);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_true(mkr_make(dir, &sp));
	cvmf_sev_inputs_free(in);
	cvmf_ctx_free(ctx);
	free(fw);
	return dir;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	*state = f;
	char *ovmf = shared_abs("inputs/OVMF.fd"), *kernel = shared_abs("inputs/vmlinuz-6.1.0-50");
	if (!ovmf || !kernel) {
		free(ovmf);
		free(kernel);
		return 0;   /* each test skips */
	}
	f->dir = t_tmpdir();
	char *recipe = path_in(f->dir, "t.recipe");
	struct run r = t_sh("mkdir -p '%s/rootfs' && printf '#!/bin/sh\\necho hi\\n' > '%s/rootfs/init'",
			    f->dir, f->dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	FILE *o = fopen(recipe, "w");
	assert_non_null(o);
	fprintf(o, "[image]\nname = t\nversion = 1\nsource-date-epoch = 1700000000\n\n"
		   "[firmware]\nsource = file:%s\nrelease = 2022.11\n\n"
		   "[kernel]\nsource = file:%s\n\n"
		   "[initrd]\ntree = rootfs\n\n"
		   "[cmdline]\nvalue = console=ttyS0\n\n"
		   "[snp]\nkernel-hashes = no\nvcpus = 1-2\ncpu-types = EPYC-v4\n", ovmf, kernel);
	fclose(o);
	/* build, sign, publish: the release pipeline of docs/log.md */
	r = t_sh("cd '%s' && '%s' build t.recipe -o out --lock --quiet 2>/dev/null && "
		 "'%s' key generate --type ed25519 -o rel.key && '%s' sign out/t-1 --key rel.key && "
		 "'%s' key generate --type ed25519 -o other.key && "
		 "'%s' log init log --origin test.example/log > vkey && "
		 "'%s' log init log2 --origin test.example/log > vkey2 && "
		 "'%s' publish out/t-1 --log log", f->dir, t_bin(), t_bin(), t_bin(), t_bin(),
		 t_bin(), t_bin(), t_bin());
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	f->img = path_in(f->dir, "out/t-1");
	f->stmt = path_in(f->img, "measurements.dsse.json");
	f->proof = path_in(f->dir, "out/t-1.tlog-proof");
	f->pub = path_in(f->dir, "rel.key.pub");
	char *vp = path_in(f->dir, "vkey");
	f->vkey = t_slurp(vp, NULL);
	f->vkey[strcspn(f->vkey, "\n")] = 0;
	free(vp);
	f->r2 = make_report(f, "r2", 2, "EPYC-v4");
	f->r6 = make_report(f, "r6", 6, "EPYC-Milan");
	free(recipe);
	free(ovmf);
	free(kernel);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->dir)
		t_rmrf(f->dir);
	free(f->dir); free(f->img); free(f->stmt); free(f->proof); free(f->pub);
	free(f->vkey); free(f->r2); free(f->r6);
	free(f);
	return 0;
}

/* `attest verify` of report directory rdir, with more options. */
static struct run attest(const char *rdir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct run attest(const char *rdir, const char *fmt, ...)
{
	char *more;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&more, fmt, ap) > 0);
	va_end(ap);
	struct run r = t_sh("'%s' attest verify '%s/report.bin' --certs '%s/vcek.pem' --certs "
			    "'%s/ask.pem' --trust-root '%s/ark.pem' %s", t_bin(), rdir, rdir, rdir,
			    rdir, more);
	free(more);
	return r;
}

static void expect_first_line(struct run *r, int status, const char *prefix)
{
	t_assert_clean_exit(r, status);
	if (strncmp(r->out, prefix, strlen(prefix)))
		fail_msg("wanted a first line starting '%s', got:\n%s", prefix, r->out);
	t_run_free(r);
}

#define NEED(f) do { if (!(f)->dir) skip(); } while (0)

static void test_statement_matched(void **state)
{
	struct fx *f = *state;
	NEED(f);
	struct run r = attest(f->r2, "--expect '%s' --pubkey '%s'", f->stmt, f->pub);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "matched: "));
	assert_non_null(strstr(r.out, ": 2 vCPUs of EPYC-v4, QEMU, guest features 0x1\n"));
	assert_non_null(strstr(r.out, "  ok     statement_signature  "));
	t_run_free(&r);
	/* the image directory with --pubkey means its signed statement */
	r = attest(f->r2, "--expect '%s' --pubkey '%s'", f->img, f->pub);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "ok     statement_signature"));
	t_run_free(&r);

	/* the library call, with its checks */
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *rep = path_in(f->r2, "report.bin");
	struct cvmf_attestation *a = NULL;
	cvmf_key *pub = NULL;
	assert_int_equal(cvmf_attestation_read(ctx, rep, &a), 0);
	assert_int_equal(cvmf_key_load_public(ctx, f->pub, &pub), 0);
	const char *ex[1] = { f->stmt };
	struct cvmf_attest_match_opts o = { .pubkey = pub };
	struct cvmf_attest_match m;
	assert_int_equal(cvmf_attest_match_ex(ctx, a, ex, 1, &o, &m), 0);
	assert_true(m.matched);
	assert_true(m.source_signed);
	assert_string_equal(m.failed_check, "");
	assert_int_equal(m.params.vcpus, 2);
	assert_string_equal(m.params.cpu_type, "EPYC-v4");
	assert_int_equal(m.n_published, 2);
	/* the same statement, no key: fail closed, nothing matched */
	assert_int_equal(cvmf_attest_match(ctx, a, ex, 1, true, &m), 0);
	assert_false(m.matched);
	assert_string_equal(m.failed_check, "statement_signature");
	assert_false(m.searched);
	cvmf_key_free(pub);
	cvmf_attestation_free(a);
	cvmf_ctx_free(ctx);
	free(rep);
}

static void test_proof_matched(void **state)
{
	struct fx *f = *state;
	NEED(f);
	struct run r = attest(f->r2, "--expect '%s' --vkey '%s' --pubkey '%s'", f->proof, f->vkey,
			      f->pub);
	t_assert_clean_exit(&r, 0);
	assert_true(!strncmp(r.out, "matched: ", 9));
	assert_non_null(strstr(r.out, "2 vCPUs of EPYC-v4"));
	assert_non_null(strstr(r.out, "ok     tlog_proof           "));
	assert_non_null(strstr(r.out, "entry 0 of test.example/log (tree size 1)"));
	t_run_free(&r);
	/* the key in a file; the image directory with --vkey means its proof; JSON */
	r = attest(f->r2, "--json --expect '%s' --vkey '%s/vkey' --pubkey '%s'", f->img, f->dir,
		   f->pub);
	t_assert_clean_exit(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "verified")));
	assert_true(json_is_true(json_object_get(j, "matched")));
	assert_true(json_is_null(json_object_get(j, "failed_check")));
	json_t *mo = json_object_get(j, "match");
	assert_true(json_is_true(json_object_get(mo, "signed")));
	assert_int_equal(json_integer_value(json_object_get(mo, "vcpus")), 2);
	assert_string_equal(json_string_value(json_object_get(mo, "vcpu_type")), "EPYC-v4");
	bool proof_ok = false, sig_ok = false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(j, "checks"), i, c) {
		const char *n = json_string_value(json_object_get(c, "check"));
		bool ok = json_is_true(json_object_get(c, "ok"));
		proof_ok |= !strcmp(n, "tlog_proof") && ok;
		sig_ok |= !strcmp(n, "statement_signature") && ok;
	}
	assert_true(proof_ok && sig_ok);
	json_decref(j);
	t_run_free(&r);
	/* "IMAGE/" is IMAGE: its proof is IMAGE.tlog-proof, not IMAGE/.tlog-proof */
	r = attest(f->r2, "--expect '%s/' --vkey '%s' --pubkey '%s'", f->img, f->vkey, f->pub);
	expect_first_line(&r, 0, "matched: ");
}

/* A payload changed after signing; a proof whose entry was changed. */
static void test_tampered(void **state)
{
	struct fx *f = *state;
	NEED(f);
	char *bad = path_in(f->dir, "tampered.dsse.json");
	/* one vCPU count of the signed payload changed, re-encoded: the
	 * envelope is well formed, its signature no longer verifies */
	struct run r = t_sh("python3 -c 'import base64,json,sys; e=json.load(open(sys.argv[1])); "
			    "p=base64.b64decode(e[\"payload\"]); q=p.replace(b\"\\\"vcpus\\\":2\", "
			    "b\"\\\"vcpus\\\":9\", 1); assert p != q; e[\"payload\"]="
			    "base64.b64encode(q).decode(); open(sys.argv[2], \"w\").write(json.dumps(e, "
			    "sort_keys=True, separators=(\",\", \":\")) + \"\\n\")' '%s' '%s'",
			    f->stmt, bad);
	if (r.status == 127) {   /* no python3: flip a payload byte instead */
		t_run_free(&r);
		size_t n;
		char *env = t_slurp(f->stmt, &n);
		char *p = strstr(env, "\"payload\":\"") + 11 + 40;
		*p = *p == 'A' ? 'B' : 'A';
		free(t_write(f->dir, "tampered.dsse.json", env, n));
		free(env);
	} else {
		t_assert_clean_exit(&r, 0);
		t_run_free(&r);
	}
	r = attest(f->r2, "--expect '%s' --pubkey '%s'", bad, f->pub);
	expect_first_line(&r, 3, "FAILED statement_signature: ");
	/* the proof's entry (its extra line) changed: the inclusion fails */
	size_t n;
	char *proof = t_slurp(f->proof, &n);
	char *e = strstr(proof, "\nextra ");
	assert_non_null(e);
	e[7 + 30] = e[7 + 30] == 'A' ? 'B' : 'A';
	char *bp = t_write(f->dir, "tampered.tlog-proof", proof, n);
	r = attest(f->r2, "--expect '%s' --vkey '%s' --pubkey '%s'", bp, f->vkey, f->pub);
	expect_first_line(&r, 3, "FAILED tlog_proof: ");
	free(proof);
	free(bp);
	free(bad);
}

static void test_wrong_keys(void **state)
{
	struct fx *f = *state;
	NEED(f);
	/* another log's key (same origin): the checkpoint's signature is not its */
	struct run r = attest(f->r2, "--expect '%s' --vkey '%s/vkey2' --pubkey '%s'", f->proof,
			      f->dir, f->pub);
	t_assert_clean_exit(&r, 3);
	assert_true(!strncmp(r.out, "FAILED tlog_proof: ", 19));
	assert_non_null(strstr(r.out, "not signed by the log key"));
	t_run_free(&r);
	/* another release key: the proof verifies, the statement's signature not */
	r = attest(f->r2, "--expect '%s' --vkey '%s' --pubkey '%s/other.key.pub'", f->proof,
		   f->vkey, f->dir);
	t_assert_clean_exit(&r, 3);
	assert_true(!strncmp(r.out, "FAILED statement_signature: ", 28));
	assert_non_null(strstr(r.out, "ok     tlog_proof"));
	t_run_free(&r);
	/* a malformed verifier key cannot run (1), not a failed proof */
	r = attest(f->r2, "--expect '%s' --vkey 'bogus+key' --pubkey '%s'", f->proof, f->pub);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "--vkey"));
	t_run_free(&r);
}

/* Fail closed: nothing signed is believed unchecked, nothing unsigned is
 * mixed into a signed check. */
static void test_fail_closed(void **state)
{
	struct fx *f = *state;
	NEED(f);
	struct run r = attest(f->r2, "--expect '%s'", f->stmt);
	expect_first_line(&r, 3, "FAILED statement_signature: ");
	r = attest(f->r2, "--expect '%s' --pubkey '%s'", f->proof, f->pub);
	expect_first_line(&r, 3, "FAILED tlog_proof: ");
	r = attest(f->r2, "--expect '%s' --vkey '%s'", f->proof, f->vkey);
	expect_first_line(&r, 3, "FAILED statement_signature: ");
	r = attest(f->r2, "--expect '%s/measurements.json' --pubkey '%s'", f->img, f->pub);
	expect_first_line(&r, 3, "FAILED statement_signature: ");
	/* with a log key, a statement alone is not enough: it must be proven */
	r = attest(f->r2, "--expect '%s' --vkey '%s' --pubkey '%s'", f->stmt, f->vkey, f->pub);
	expect_first_line(&r, 3, "FAILED tlog_proof: ");
	r = attest(f->r2, "--expect '%s/measurements.json' --vkey '%s'", f->img, f->vkey);
	expect_first_line(&r, 3, "FAILED tlog_proof: ");
	/* a failed source fails even when another one matches */
	r = attest(f->r2, "--expect '%s' --expect '%s' --pubkey '%s'", f->img, f->proof, f->pub);
	expect_first_line(&r, 3, "FAILED tlog_proof: ");
	r = attest(f->r2, "--json --expect '%s'", f->stmt);
	t_assert_clean_exit(&r, 3);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "verified")));
	assert_true(json_is_false(json_object_get(j, "matched")));
	assert_string_equal(json_string_value(json_object_get(j, "failed_check")),
			    "statement_signature");
	json_decref(j);
	t_run_free(&r);
	/* usage: the keys check what --expect names */
	r = attest(f->r2, "--pubkey '%s'", f->pub);
	t_assert_clean_exit(&r, 2);
	t_run_free(&r);
	/* the unsigned image directory, no keys: as before, and said to be unsigned */
	r = attest(f->r2, "--expect '%s'", f->img);
	assert_non_null(strstr(r.out, " (unsigned): 2 vCPUs of EPYC-v4"));
	expect_first_line(&r, 0, "matched: ");
}

static void test_explained(void **state)
{
	struct fx *f = *state;
	NEED(f);
	struct run r = attest(f->r6, "--expect '%s' --vkey '%s' --pubkey '%s'", f->proof, f->vkey,
			      f->pub);
	t_assert_clean_exit(&r, 3);
	assert_true(!strncmp(r.out, "FAILED match: ", 14));
	assert_non_null(strstr(r.out, "none of the 2 values published in 1 --expect"));
	assert_non_null(strstr(r.out, "explanation: this report is the image "));
	assert_non_null(strstr(r.out, " with 6 vCPUs of EPYC-Milan, QEMU, guest features 0x1; "
				      "the published values are 1-2 vCPUs of EPYC-v4, QEMU"));
	t_run_free(&r);
	r = attest(f->r6, "--json --expect '%s' --pubkey '%s'", f->stmt, f->pub);
	t_assert_clean_exit(&r, 3);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "failed_check")), "match");
	json_t *e = json_object_get(j, "explanation");
	assert_int_equal(json_integer_value(json_object_get(e, "vcpus")), 6);
	assert_string_equal(json_string_value(json_object_get(e, "vcpu_type")), "EPYC-Milan");
	assert_string_equal(json_string_value(json_object_get(e, "source")), f->img);
	json_decref(j);
	t_run_free(&r);
}

/* A copy of the signed image whose firmware was changed after signing: the
 * proof and statement still verify (nothing matches), and the search does not
 * read files the statement does not sign. A proof without its extra line takes
 * the envelope beside it as the entry. */
static void test_changed_files_and_bare_proof(void **state)
{
	struct fx *f = *state;
	NEED(f);
	struct run r = t_sh("cd '%s' && cp -r out/t-1 copy && grep -v '^extra ' out/t-1.tlog-proof "
			    "> copy.tlog-proof", f->dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = attest(f->r2, "--expect '%s/copy.tlog-proof' --vkey '%s' --pubkey '%s'", f->dir,
		   f->vkey, f->pub);
	expect_first_line(&r, 0, "matched: ");
	r = t_sh("printf x >> '%s/copy/OVMF.fd'", f->dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = attest(f->r6, "--expect '%s/copy' --pubkey '%s'", f->dir, f->pub);
	t_assert_clean_exit(&r, 3);
	assert_true(!strncmp(r.out, "FAILED match: ", 14));
	assert_non_null(strstr(r.out, "explanation: not searched: "));
	assert_non_null(strstr(r.out, "OVMF.fd does not have the sha256 the statement signs"));
	t_run_free(&r);
}

/* TDX, through the library: the production quote's MRTD and RTMRs in a
 * statement signed here, logged in a log made here; matched through the
 * statement and through the proof, with RTMR0 (not predicted) unchecked;
 * a statement listing another MRTD matches nothing. */
static void test_tdx_signed(void **state)
{
	(void)state;
	char *qp = t_shared_file("fixtures/attest-upstream/tdx/tdx_prod_quote_SPR_E4.dat");
	if (!qp)
		skip();
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_attestation *a = NULL;
	assert_int_equal(cvmf_attestation_read(ctx, qp, &a), 0);
	char h[4][97];
	cvmf_hex(a->tdx->mrtd, 48, h[0]);
	for (int k = 1; k < 4; k++)
		cvmf_hex(a->tdx->rtmr[k], 48, h[k]);
	json_t *pred = json_pack("{s:s,s:{s:[{s:I,s:s,s:s,s:n,s:s,s:s,s:s}]}}",
				 "format", "cvmforge-measurements/1", "tdx", "measurements",
				 "memory", (json_int_t)2147483648, "page-order", "single-pass", "mrtd", h[0],
				 "rtmr0", "rtmr1", h[1], "rtmr2", h[2], "rtmr3", h[3]);
	uint8_t d[32] = { 1 };
	char dh[65];
	cvmf_hex(d, 32, dh);
	json_t *st = json_pack("{s:s,s:[{s:s,s:{s:s}}],s:s,s:o}", "_type", CVMF_STATEMENT_TYPE,
			       "subject", "name", "measurements.json", "digest", "sha256", dh,
			       "predicateType", CVMF_PREDICATE_MEASUREMENTS, "predicate", pred);
	assert_non_null(st);
	char *payload = NULL, *env = NULL;
	size_t plen = 0, elen = 0;
	assert_int_equal(cmn_json_canonical(ctx, st, &payload, &plen), 0);
	cvmf_key *key = NULL;
	assert_int_equal(cvmf_key_generate(ctx, CVMF_KEY_ED25519, &key), 0);
	assert_int_equal(cvmf_dsse_sign(ctx, key, CVMF_DSSE_PAYLOAD_TYPE, payload, plen, &env,
					&elen), 0);
	char *dir = t_tmpdir(), *logdir = path_in(dir, "log"), *vkey = NULL;
	char *sp = t_write(dir, "tdx.dsse.json", env, elen);
	assert_int_equal(cvmf_log_init(ctx, logdir, "tdx.example/log", NULL, &vkey), 0);
	const uint8_t *ents[1] = { (const uint8_t *)env };
	uint64_t first = 0;
	assert_int_equal(cvmf_log_add(ctx, logdir, ents, &elen, 1, &first), 0);
	char *proof = NULL;
	size_t prlen = 0;
	assert_int_equal(cvmf_log_proof(ctx, logdir, first, &proof, &prlen), 0);
	char *pp = t_write(dir, "tdx.tlog-proof", proof, prlen);

	struct cvmf_attest_match_opts o = { .pubkey = key };
	struct cvmf_attest_match m;
	const char *ex[1] = { sp };
	if (cvmf_attest_match_ex(ctx, a, ex, 1, &o, &m))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	assert_string_equal(m.failed_check, "");
	assert_true(m.matched);
	assert_int_equal(m.params.memory, 2147483648ull);
	assert_string_equal(m.params.page_order, "single-pass");
	assert_false(m.rtmr_checked[0]);
	assert_true(m.rtmr_checked[1] && m.rtmr_checked[2] && m.rtmr_checked[3]);
	ex[0] = pp;
	o.vkey = vkey;
	assert_int_equal(cvmf_attest_match_ex(ctx, a, ex, 1, &o, &m), 0);
	assert_true(m.matched);
	assert_string_equal(m.source, pp);
	/* the proof, the wrong release key: the statement check fails */
	cvmf_key *other = NULL;
	assert_int_equal(cvmf_key_generate(ctx, CVMF_KEY_ED25519, &other), 0);
	o.pubkey = other;
	assert_int_equal(cvmf_attest_match_ex(ctx, a, ex, 1, &o, &m), 0);
	assert_false(m.matched);
	assert_string_equal(m.failed_check, "statement_signature");
	/* another MRTD: the signed values do not contain it */
	o.pubkey = key;
	a->tdx->mrtd[5] ^= 1;
	assert_int_equal(cvmf_attest_match_ex(ctx, a, ex, 1, &o, &m), 0);
	assert_false(m.matched);
	assert_string_equal(m.failed_check, "");
	assert_int_equal(m.n_published, 1);
	cvmf_key_free(key);
	cvmf_key_free(other);
	cvmf_attestation_free(a);
	json_decref(st);
	t_rmrf(dir);
	free(dir); free(logdir); free(vkey); free(sp); free(pp); free(proof); free(payload);
	free(env); free(qp);
	cvmf_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statement_matched),
		cmocka_unit_test(test_proof_matched),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_fail_closed),
		cmocka_unit_test(test_explained),
		cmocka_unit_test(test_changed_files_and_bare_proof),
		cmocka_unit_test(test_tdx_signed),
	};
	return cmocka_run_group_tests_name("attest_chain", tests, setup, teardown);
}
