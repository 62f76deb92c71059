/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/key.c: keys made by the openssl command line in every form it
 * writes (PKCS#8 and traditional, PEM and DER, with an "EC PARAMETERS"
 * block), modes that are too open, wrong types and curves, encrypted keys,
 * public/private confusion, signatures checked by `openssl pkeyutl` in both
 * directions, the fingerprint, and the C2SP signed-note verifier key.
 */
#include "testlib.h"

#include <openssl/core_names.h>

#include "common/key.h"

struct fx {
	char *dir;
	cvmf_ctx *ctx;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = t_tmpdir();
	f->ctx = cvmf_ctx_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	t_rmrf(f->dir);
	free(f->dir);
	cvmf_ctx_free(f->ctx);
	free(f);
	return 0;
}

/* Run a shell command in dir with umask 077; it must succeed. */
static void sh_in(const char *dir, const char *cmd)
{
	struct run r = t_sh("cd '%s' && umask 077 && %s", dir, cmd);
	if (r.status)
		fail_msg("'%s' failed (%d): %s%s", cmd, r.status, r.out, r.err);
	t_run_free(&r);
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* Load name from f->dir as a private key of type t, sign, verify. */
static void load_sign_verify(struct fx *f, const char *name, enum cmn_key_type t)
{
	char *p = path_in(f->dir, name);
	struct cmn_key *k = NULL;
	int r = cmn_key_load_private(f->ctx, p, &k);
	if (r)
		fail_msg("%s: %s", name, cvmf_ctx_errmsg(f->ctx));
	assert_int_equal(cmn_key_type(k), t);
	assert_true(cmn_key_is_private(k));
	uint8_t *sig = NULL;
	size_t slen = 0;
	const char msg[] = "cvmforge test message";
	assert_int_equal(cmn_key_sign(f->ctx, k, msg, sizeof(msg), &sig, &slen), 0);
	assert_int_equal(cmn_key_verify(f->ctx, k, msg, sizeof(msg), sig, slen), 0);
	/* One changed byte of the message: CVMF_E_CRYPTO, "does not verify" */
	char bad[sizeof(msg)];
	memcpy(bad, msg, sizeof(msg));
	bad[0] ^= 1;
	assert_int_equal(cmn_key_verify(f->ctx, k, bad, sizeof(bad), sig, slen), CVMF_E_CRYPTO);
	assert_non_null(strstr(cvmf_ctx_errmsg(f->ctx), "does not verify"));
	/* A truncated signature */
	assert_int_equal(cmn_key_verify(f->ctx, k, msg, sizeof(msg), sig, slen - 1),
			 CVMF_E_CRYPTO);
	free(sig);
	cmn_key_free(k);
	free(p);
}

static void test_openssl_cli_keys(void **state)
{
	struct fx *f = *state;
	sh_in(f->dir, "openssl genpkey -algorithm ed25519 -out ed.pem && "
		      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem && "
		      "openssl ecparam -name secp384r1 -genkey -out p384-ecparam.pem && "
		      "openssl ec -in p384-ecparam.pem -out p384-trad.pem 2>/dev/null && "
		      "openssl pkey -in p384.pem -outform DER -out p384.der && "
		      "openssl pkey -in ed.pem -outform DER -out ed.der && "
		      "openssl ec -in p384.pem -outform DER -out p384-trad.der 2>/dev/null");
	load_sign_verify(f, "ed.pem", CMN_KEY_ED25519);
	load_sign_verify(f, "ed.der", CMN_KEY_ED25519);
	load_sign_verify(f, "p384.pem", CMN_KEY_ECDSA_P384);
	load_sign_verify(f, "p384-ecparam.pem", CMN_KEY_ECDSA_P384);
	load_sign_verify(f, "p384-trad.pem", CMN_KEY_ECDSA_P384);
	load_sign_verify(f, "p384.der", CMN_KEY_ECDSA_P384);
	load_sign_verify(f, "p384-trad.der", CMN_KEY_ECDSA_P384);
}

static void expect_refused(struct fx *f, const char *name, bool priv, int want,
			   const char *needle)
{
	char *p = path_in(f->dir, name);
	struct cmn_key *k = (struct cmn_key *)0x1;
	int r = priv ? cmn_key_load_private(f->ctx, p, &k) : cmn_key_load_public(f->ctx, p, &k);
	if (r != want)
		fail_msg("%s: got %d (%s), wanted %d", name, r, cvmf_ctx_errmsg(f->ctx), want);
	assert_ptr_equal(k, (struct cmn_key *)0x1); /* ret_* untouched on failure */
	if (!strstr(cvmf_ctx_errmsg(f->ctx), needle))
		fail_msg("%s: message '%s' lacks '%s'", name, cvmf_ctx_errmsg(f->ctx), needle);
	if (!strstr(cvmf_ctx_errmsg(f->ctx), name))
		fail_msg("%s: message '%s' does not name the file", name, cvmf_ctx_errmsg(f->ctx));
	free(p);
}

static void test_modes(void **state)
{
	struct fx *f = *state;
	sh_in(f->dir, "openssl genpkey -algorithm ed25519 -out a.pem && cp a.pem b.pem && "
		      "cp a.pem c.pem && chmod 644 a.pem && chmod 640 b.pem && chmod 604 c.pem && "
		      "cp -p a.pem d.pem && chmod 400 d.pem && "
		      "openssl pkey -in d.pem -pubout -out d.pub && chmod 644 d.pub");
	expect_refused(f, "a.pem", true, CVMF_E_INVAL, "permissions 0644");
	expect_refused(f, "b.pem", true, CVMF_E_INVAL, "permissions 0640");
	expect_refused(f, "c.pem", true, CVMF_E_INVAL, "too open");
	/* 0400 is fine; public keys may be world-readable */
	load_sign_verify(f, "d.pem", CMN_KEY_ED25519);
	char *p = path_in(f->dir, "d.pub");
	struct cmn_key *k = NULL;
	assert_int_equal(cmn_key_load_public(f->ctx, p, &k), 0);
	assert_false(cmn_key_is_private(k));
	/* A public key cannot sign */
	uint8_t *sig = NULL;
	size_t slen;
	assert_int_equal(cmn_key_sign(f->ctx, k, "x", 1, &sig, &slen), CVMF_E_INVAL);
	assert_null(sig);
	cmn_key_free(k);
	free(p);
}

static void test_wrong_types(void **state)
{
	struct fx *f = *state;
	sh_in(f->dir, "openssl ecparam -name prime256v1 -genkey -noout -out p256.pem && "
		      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp521r1 -out p521.pem && "
		      "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.pem 2>/dev/null && "
		      "openssl genpkey -algorithm ed448 -out ed448.pem && "
		      "openssl pkey -in p256.pem -pubout -out p256.pub && "
		      "openssl pkey -in rsa.pem -pubout -out rsa.pub && "
		      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ok.pem && "
		      "openssl pkey -in ok.pem -pubout -out ok.pub && "
		      "openssl pkey -in ok.pem -aes256 -passout pass:secret -out enc.pem && "
		      "printf 'not a key\\n' > junk.pem && : > empty.pem && "
		      "head -c 70000 /dev/zero > huge.pem && "
		      "head -c 100 ok.pem > cut.pem && mkdir dir.pem && mkfifo fifo.pem");
	expect_refused(f, "p256.pem", true, CVMF_E_UNSUPPORTED, "curve prime256v1");
	expect_refused(f, "p521.pem", true, CVMF_E_UNSUPPORTED, "curve secp521r1");
	expect_refused(f, "rsa.pem", true, CVMF_E_UNSUPPORTED, "RSA key");
	expect_refused(f, "ed448.pem", true, CVMF_E_UNSUPPORTED, "ED448 key");
	expect_refused(f, "p256.pub", false, CVMF_E_UNSUPPORTED, "curve prime256v1");
	expect_refused(f, "rsa.pub", false, CVMF_E_UNSUPPORTED, "RSA key");
	expect_refused(f, "enc.pem", true, CVMF_E_UNSUPPORTED, "encrypted");
	expect_refused(f, "ok.pub", true, CVMF_E_INVAL, "holds a public key");
	expect_refused(f, "ok.pem", false, CVMF_E_INVAL, "holds a private key");
	expect_refused(f, "junk.pem", true, CVMF_E_FORMAT, "not a PEM or DER");
	expect_refused(f, "junk.pem", false, CVMF_E_FORMAT, "not a PEM or DER");
	expect_refused(f, "cut.pem", true, CVMF_E_FORMAT, "not a PEM or DER");
	expect_refused(f, "empty.pem", true, CVMF_E_FORMAT, "empty");
	expect_refused(f, "huge.pem", false, CVMF_E_INVAL, "more than the 65536");
	expect_refused(f, "dir.pem", false, CVMF_E_IO, "only regular files are accepted");
	/* a FIFO without a writer: refused at once, not waited on */
	expect_refused(f, "fifo.pem", true, CVMF_E_IO, "only regular files are accepted");
	expect_refused(f, "missing.pem", true, CVMF_E_IO, "No such file");
}

/* Signatures made here verify with `openssl pkeyutl`, and the reverse. */
static void test_interop_openssl(void **state)
{
	struct fx *f = *state;
	sh_in(f->dir, "openssl genpkey -algorithm ed25519 -out ed.pem && "
		      "openssl pkey -in ed.pem -pubout -out ed.pub && "
		      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec.pem && "
		      "openssl pkey -in ec.pem -pubout -out ec.pub && "
		      "printf 'message signed by both sides\\n' > msg");
	const char *names[] = { "ed", "ec" };
	size_t mlen;
	char *mp = path_in(f->dir, "msg");
	char *msg = t_slurp(mp, &mlen);
	for (size_t i = 0; i < 2; i++) {
		char name[32], *p;
		struct cmn_key *k = NULL, *pub = NULL;
		uint8_t *sig = NULL;
		size_t slen;
		snprintf(name, sizeof(name), "%s.pem", names[i]);
		p = path_in(f->dir, name);
		assert_int_equal(cmn_key_load_private(f->ctx, p, &k), 0);
		free(p);
		snprintf(name, sizeof(name), "%s.pub", names[i]);
		p = path_in(f->dir, name);
		assert_int_equal(cmn_key_load_public(f->ctx, p, &pub), 0);
		free(p);
		assert_int_equal(cmn_key_sign(f->ctx, k, msg, mlen, &sig, &slen), 0);
		snprintf(name, sizeof(name), "%s.sig", names[i]);
		free(t_write(f->dir, name, sig, slen));
		free(sig);
		/* ours -> openssl (ECDSA: SHA-384 digest; Ed25519: raw input) */
		const char *dgst = i == 1 ? "-digest sha384 -rawin" : "-rawin";
		struct run r = t_sh("cd '%s' && openssl pkeyutl -verify -pubin -inkey %s.pub %s "
				    "-in msg -sigfile %s.sig", f->dir, names[i], dgst, names[i]);
		if (r.status)
			fail_msg("openssl does not verify our %s signature: %s%s", names[i], r.out,
				 r.err);
		t_run_free(&r);
		/* openssl -> ours */
		r = t_sh("cd '%s' && openssl pkeyutl -sign -inkey %s.pem %s -in msg -out o.sig",
			 f->dir, names[i], dgst);
		t_assert_clean_exit(&r, 0);
		t_run_free(&r);
		p = path_in(f->dir, "o.sig");
		char *osig = t_slurp(p, &slen);
		free(p);
		assert_int_equal(cmn_key_verify(f->ctx, pub, msg, mlen, (uint8_t *)osig, slen), 0);
		osig[slen / 2] ^= 0x40;
		assert_int_equal(cmn_key_verify(f->ctx, pub, msg, mlen, (uint8_t *)osig, slen),
				 CVMF_E_CRYPTO);
		free(osig);
		cmn_key_free(k);
		cmn_key_free(pub);
	}
	free(msg);
	free(mp);
}

static void test_fingerprint(void **state)
{
	struct fx *f = *state;
	sh_in(f->dir, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec.pem && "
		      "openssl pkey -in ec.pem -pubout -outform DER -out ec.der && "
		      "openssl pkey -in ec.pem -pubout -out ec.pub");
	char *p = path_in(f->dir, "ec.der");
	size_t n;
	char *der = t_slurp(p, &n);
	free(p);
	uint8_t want[32], got[32], got2[32];
	t_sha256(der, n, want);
	free(der);
	struct cmn_key *k = NULL, *pub = NULL;
	p = path_in(f->dir, "ec.pem");
	assert_int_equal(cmn_key_load_private(f->ctx, p, &k), 0);
	free(p);
	p = path_in(f->dir, "ec.pub");
	assert_int_equal(cmn_key_load_public(f->ctx, p, &pub), 0);
	free(p);
	assert_int_equal(cmn_key_fingerprint(f->ctx, k, got), 0);
	assert_int_equal(cmn_key_fingerprint(f->ctx, pub, got2), 0);
	assert_memory_equal(got, want, 32);
	assert_memory_equal(got2, want, 32);
	cmn_key_free(k);
	cmn_key_free(pub);
}

static void test_generate(void **state)
{
	struct fx *f = *state;
	for (int t = CMN_KEY_ECDSA_P384; t <= CMN_KEY_ED25519; t++) {
		struct cmn_key *a = NULL, *b = NULL;
		assert_int_equal(cmn_key_generate(f->ctx, (enum cmn_key_type)t, &a), 0);
		assert_int_equal(cmn_key_generate(f->ctx, (enum cmn_key_type)t, &b), 0);
		assert_int_equal(cmn_key_type(a), t);
		uint8_t fa[32], fb[32];
		assert_int_equal(cmn_key_fingerprint(f->ctx, a, fa), 0);
		assert_int_equal(cmn_key_fingerprint(f->ctx, b, fb), 0);
		assert_memory_not_equal(fa, fb, 32);
		uint8_t *sig;
		size_t slen;
		assert_int_equal(cmn_key_sign(f->ctx, a, "m", 1, &sig, &slen), 0);
		assert_int_equal(cmn_key_verify(f->ctx, a, "m", 1, sig, slen), 0);
		/* The other key does not verify it */
		assert_int_equal(cmn_key_verify(f->ctx, b, "m", 1, sig, slen), CVMF_E_CRYPTO);
		free(sig);
		char *pem = NULL;
		size_t plen;
		assert_int_equal(cmn_key_public_pem(f->ctx, a, &pem, &plen), 0);
		assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
		assert_int_equal(strlen(pem), plen);
		free(pem);
		cmn_key_free(a);
		cmn_key_free(b);
	}
	enum cmn_key_type t;
	assert_int_equal(cmn_key_type_parse("ed25519", &t), 0);
	assert_int_equal(t, CMN_KEY_ED25519);
	assert_int_equal(cmn_key_type_parse("ecdsa-p384", &t), 0);
	assert_int_equal(t, CMN_KEY_ECDSA_P384);
	assert_int_equal(cmn_key_type_parse("rsa", &t), CVMF_E_INVAL);
	cmn_key_free(NULL);
}

/* KEY and KEY.pub: 0600 whatever the umask, never overwritten, reloadable. */
static void test_write(void **state)
{
	struct fx *f = *state;
	struct cmn_key *k = NULL, *priv = NULL, *pub = NULL;
	assert_int_equal(cmn_key_generate(f->ctx, CMN_KEY_ECDSA_P384, &k), 0);
	char *p = path_in(f->dir, "w.key"), *pp = path_in(f->dir, "w.key.pub");
	mode_t old = umask(0);
	int r = cmn_key_write(f->ctx, k, p);
	umask(old);
	assert_int_equal(r, 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(pp, &st), 0);
	assert_int_equal(st.st_mode & 077, 066);  /* public: the umask's to choose */
	size_t n;
	char *pem = t_slurp(p, &n);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----")); /* PKCS#8 */
	free(pem);
	assert_int_equal(cmn_key_load_private(f->ctx, p, &priv), 0);
	assert_int_equal(cmn_key_load_public(f->ctx, pp, &pub), 0);
	uint8_t a[32], b[32], c[32];
	assert_int_equal(cmn_key_fingerprint(f->ctx, k, a), 0);
	assert_int_equal(cmn_key_fingerprint(f->ctx, priv, b), 0);
	assert_int_equal(cmn_key_fingerprint(f->ctx, pub, c), 0);
	assert_memory_equal(a, b, 32);
	assert_memory_equal(a, c, 32);
	/* never overwritten: not KEY, and not KEY.pub alone either */
	assert_int_equal(cmn_key_write(f->ctx, k, p), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(f->ctx), "exists"));
	char *q = path_in(f->dir, "q.key"), *qp = path_in(f->dir, "q.key.pub");
	free(t_write(f->dir, "q.key.pub", "keep", 4));
	assert_int_equal(cmn_key_write(f->ctx, k, q), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(f->ctx), "q.key.pub' exists"));
	assert_int_equal(access(q, F_OK), -1);
	char *keep = t_slurp(qp, NULL);
	assert_string_equal(keep, "keep");
	free(keep);
	/* a public key cannot be written as a key pair */
	assert_int_equal(cmn_key_write(f->ctx, pub, q), CVMF_E_INVAL);
	assert_int_equal(access(q, F_OK), -1);
	cmn_key_free(k);
	cmn_key_free(priv);
	cmn_key_free(pub);
	free(p);
	free(pp);
	free(q);
	free(qp);
}

/* tlog.md §2.3 worked example: seed 00..1f, name example.com/testlog. */
static void test_note_vkey(void **state)
{
	struct fx *f = *state;
	uint8_t seed[32];
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(pk);
	struct cmn_key *k = NULL;
	assert_int_equal(cmn_key_from_pkey(f->ctx, "seed key", pk, &k), 0);
	EVP_PKEY_free(pk);
	char *vkey = NULL;
	assert_int_equal(cmn_key_note_vkey(f->ctx, k, "example.com/testlog", &vkey), 0);
	assert_string_equal(vkey, "example.com/testlog+aa158d86+"
				  "AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4");
	free(vkey);
	uint8_t id[4];
	assert_int_equal(cmn_key_note_keyid(f->ctx, k, "example.com/testlog", id), 0);
	assert_int_equal(id[0], 0xaa);
	assert_int_equal(id[3], 0x86);
	const char *bad[] = { "", "a+b", "a b", "a\nb", "tab\there" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vkey = NULL;
		assert_int_equal(cmn_key_note_vkey(f->ctx, k, bad[i], &vkey), CVMF_E_INVAL);
		assert_null(vkey);
	}
	cmn_key_free(k);
	/* ECDSA keys have no signed-note verifier key of type 0x01 */
	struct cmn_key *ec = NULL;
	assert_int_equal(cmn_key_generate(f->ctx, CMN_KEY_ECDSA_P384, &ec), 0);
	vkey = NULL;
	assert_int_equal(cmn_key_note_vkey(f->ctx, ec, "example.com/x", &vkey),
			 CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(f->ctx), "Ed25519"));
	cmn_key_free(ec);
}

/* `cvmforge key`: show on openssl-made keys, and its errors and exit codes. */
static void test_cli(void **state)
{
	struct fx *f = *state;
	sh_in(f->dir, "openssl genpkey -algorithm ed25519 -out ed.pem && "
		      "openssl pkey -in ed.pem -pubout -outform DER -out ed.der && "
		      "openssl ecparam -name secp384r1 -genkey -out ec.pem && "
		      "openssl ecparam -name prime256v1 -genkey -noout -out p256.pem && "
		      "cp ed.pem open.pem && chmod 644 open.pem");
	struct run r = t_sh("cd '%s' && '%s' key show ed.der --name example.com/log && "
			    "'%s' key show ec.pem --json", f->dir, t_bin(), t_bin());
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "ed.der: ed25519 public key\nfingerprint sha256:"));
	assert_non_null(strstr(r.out, "note verifier key: example.com/log+"));
	assert_non_null(strstr(r.out, "\"type\": \"ecdsa-p384\""));
	assert_non_null(strstr(r.out, "\"private\": true"));
	assert_null(strstr(r.out + (strstr(r.out, "{") - r.out), "note-verifier-key"));
	t_run_free(&r);
	static const struct { const char *args; int status; const char *needle; } cases[] = {
		{ "key show p256.pem", 1, "'p256.pem' is an EC key on curve prime256v1" },
		{ "key show open.pem", 1, "permissions 0644 for private key 'open.pem'" },
		{ "key show missing.pem", 1, "cannot open public key 'missing.pem'" },
		{ "key show ed.pem --name 'a b'", 2, "argument --name: signed-note key name" },
		{ "key generate --type rsa -o x.key", 2, "invalid choice: 'rsa'" },
		{ "key generate --type ed25519", 2, "required: -o/--output" },
		{ "key", 2, "the following arguments are required: SUBCOMMAND" },
		{ "key frob", 2, "invalid choice: 'frob'" },
		{ "key generate --type ed25519 -o ed.pem", 1, "'ed.pem' exists" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = t_sh("cd '%s' && '%s' %s", f->dir, t_bin(), cases[i].args);
		if (r.status != cases[i].status || !strstr(r.err, cases[i].needle))
			fail_msg("%s: exit %d (wanted %d), stderr '%s' lacks '%s'", cases[i].args,
				 r.status, cases[i].status, r.err, cases[i].needle);
		t_run_free(&r);
	}
	/* nothing was written by the refused generate */
	char *x = path_in(f->dir, "x.key");
	assert_int_equal(access(x, F_OK), -1);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_cli_keys),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_interop_openssl),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_note_vkey),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
