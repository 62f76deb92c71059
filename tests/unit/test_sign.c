/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing: DSSE envelopes (PAE, canonical bytes, byte-identical Ed25519
 * envelopes), every kind of bad envelope and statement failing with its
 * reason, the openssl command line verifying our signatures over PAE bytes
 * this test builds itself, and, on an image built from the ../shared inputs,
 * `cvmforge key`, `sign` and `verify --pubkey` with tampering of every kind.
 */
#include "testlib.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "common/key.h"
#include "sign/sgn.h"

#define KERNEL_REL "6.1.0-50-amd64"

struct fx {
	char *dir;
	cvmf_ctx *ctx;
	cvmf_key *ed, *ed2, *ec;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = t_tmpdir();
	f->ctx = cvmf_ctx_new();
	assert_int_equal(cvmf_key_generate(f->ctx, CVMF_KEY_ED25519, &f->ed), 0);
	assert_int_equal(cvmf_key_generate(f->ctx, CVMF_KEY_ED25519, &f->ed2), 0);
	assert_int_equal(cvmf_key_generate(f->ctx, CVMF_KEY_ECDSA_P384, &f->ec), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	t_rmrf(f->dir);
	free(f->dir);
	cvmf_key_free(f->ed);
	cvmf_key_free(f->ed2);
	cvmf_key_free(f->ec);
	cvmf_ctx_free(f->ctx);
	free(f);
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* The DSSE protocol's own example (protocol.md). */
static void test_pae(void **state)
{
	struct fx *f = *state;
	uint8_t *p = NULL;
	size_t n = 0;
	assert_int_equal(sgn_pae(f->ctx, "http://example.com/HelloWorld", "hello world", 11, &p, &n),
			 0);
	const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(p, want, n);
	free(p);
	assert_int_equal(sgn_pae(f->ctx, "", "", 0, &p, &n), 0);
	assert_int_equal(n, strlen("DSSEv1 0  0 "));
	assert_memory_equal(p, "DSSEv1 0  0 ", n);
	free(p);
}

static const char STMT[] = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{\"a\":1},"
			   "\"predicateType\":\"https://cvmforge.dev/measurements/v1\","
			   "\"subject\":[{\"digest\":{\"sha256\":\"0000000000000000000000000000000000"
			   "000000000000000000000000000000\"},\"name\":\"OVMF.fd\"}]}";

static char *sign_stmt(struct fx *f, const cvmf_key *k, const char *type, const char *payload,
		       size_t *len)
{
	char *env = NULL;
	assert_int_equal(cvmf_dsse_sign(f->ctx, k, type, payload, strlen(payload), &env, len), 0);
	return env;
}

static void test_dsse_roundtrip(void **state)
{
	struct fx *f = *state;
	size_t a_len, b_len, n;
	char *a = sign_stmt(f, f->ed, CVMF_DSSE_PAYLOAD_TYPE, STMT, &a_len);
	char *b = sign_stmt(f, f->ed, CVMF_DSSE_PAYLOAD_TYPE, STMT, &b_len);
	/* Ed25519: the same payload and key give the same envelope bytes */
	assert_int_equal(a_len, b_len);
	assert_memory_equal(a, b, a_len);
	assert_int_equal(strlen(a), a_len);
	assert_null(strchr(a, ' '));
	assert_null(strchr(a, '\n'));
	uint8_t *payload = NULL;
	assert_int_equal(cvmf_dsse_verify(f->ctx, "t", f->ed, CVMF_DSSE_PAYLOAD_TYPE, a, a_len,
					  &payload, &n), 0);
	assert_int_equal(n, strlen(STMT));
	assert_memory_equal(payload, STMT, n);
	free(payload);
	struct sgn_statement st;
	assert_int_equal(sgn_statement_parse(f->ctx, "t", STMT, strlen(STMT), &st), 0);
	assert_int_equal(st.n_subjects, 1);
	assert_string_equal(st.subjects[0].name, "OVMF.fd");
	assert_true(st.subjects[0].has_sha256);
	assert_false(st.subjects[0].has_sha384);
	sgn_statement_clear(&st);
	/* ECDSA: signatures differ, both verify */
	char *c = sign_stmt(f, f->ec, CVMF_DSSE_PAYLOAD_TYPE, STMT, &a_len);
	char *d = sign_stmt(f, f->ec, CVMF_DSSE_PAYLOAD_TYPE, STMT, &b_len);
	payload = NULL;
	assert_int_equal(cvmf_dsse_verify(f->ctx, "c", f->ec, CVMF_DSSE_PAYLOAD_TYPE, c, a_len,
					  &payload, &n), 0);
	free(payload);
	assert_int_equal(cvmf_dsse_verify(f->ctx, "d", f->ec, CVMF_DSSE_PAYLOAD_TYPE, d, b_len,
					  &payload, &n), 0);
	free(payload);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* cvmf_dsse_verify must fail on env with err and a message holding needle. */
static void expect_bad(struct fx *f, const cvmf_key *k, const char *env, size_t len, int err,
		       const char *needle)
{
	uint8_t *payload = (uint8_t *)0x1;
	size_t n = 7;
	int r = cvmf_dsse_verify(f->ctx, "env.json", k, CVMF_DSSE_PAYLOAD_TYPE, env, len, &payload,
				 &n);
	if (r != err || !strstr(cvmf_ctx_errmsg(f->ctx), needle))
		fail_msg("got %d '%s', wanted %d with '%s' for: %.300s", r, cvmf_ctx_errmsg(f->ctx),
			 err, needle, env);
	assert_ptr_equal(payload, (uint8_t *)0x1);
	assert_int_equal(n, 7);
}

/* Replace the first occurrence of from in s by to (into a new string). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	assert_non_null(at);
	char *out = NULL;
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from)) > 0);
	return out;
}

/* The value of "field":"..." in an envelope. */
static char *field(const char *env, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\"%s\":\"", name);
	const char *at = strstr(env, key);
	assert_non_null(at);
	at += strlen(key);
	return strndup(at, (size_t)(strchr(at, '"') - at));
}

static void test_dsse_bad(void **state)
{
	struct fx *f = *state;
	size_t len, len2;
	char *env = sign_stmt(f, f->ed, CVMF_DSSE_PAYLOAD_TYPE, STMT, &len);
	char *other = sign_stmt(f, f->ed, CVMF_DSSE_PAYLOAD_TYPE, "{\"x\":1}", &len2);
	char *payload = field(env, "payload"), *sig = field(env, "sig"), *keyid = field(env, "keyid");
	char *osig = field(other, "sig");
	char *e;

	/* a tampered payload: another statement under the same signature */
	char *p2 = strdup(payload);
	p2[10] = p2[10] == 'A' ? 'B' : 'A';
	e = replace(env, payload, p2);
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_CRYPTO, "does not verify");
	free(e);
	free(p2);
	/* swapped: the signature of another envelope */
	e = replace(env, sig, osig);
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_CRYPTO, "signatures[0] (keyid");
	free(e);
	/* duplicated signature */
	char *dup = NULL;
	assert_true(asprintf(&dup, "{\"keyid\":\"%s\",\"sig\":\"%s\"},{\"keyid\":\"%s\",\"sig\":\"%s\"}",
			     keyid, sig, keyid, sig) > 0);
	char *one = NULL;
	assert_true(asprintf(&one, "{\"keyid\":\"%s\",\"sig\":\"%s\"}", keyid, sig) > 0);
	e = replace(env, one, dup);
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "duplicated signature");
	free(e);
	free(dup);
	/* the same keyid twice with different signatures */
	assert_true(asprintf(&dup, "{\"keyid\":\"%s\",\"sig\":\"%s\"},{\"keyid\":\"%s\",\"sig\":\"%s\"}",
			     keyid, osig, keyid, sig) > 0);
	e = replace(env, one, dup);
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "the same keyid as signatures[0]");
	free(e);
	free(dup);
	/* no signatures; too many */
	e = replace(env, one, "");
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "0 signatures");
	free(e);
	char many[8192] = "";
	for (int i = 0; i < 17; i++) {
		char s1[300];
		snprintf(s1, sizeof(s1), "%s{\"keyid\":\"k%d\",\"sig\":\"%s\"}", i ? "," : "", i,
			 i % 2 ? sig : osig);
		strcat(many, s1);
	}
	e = replace(env, one, many);
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "17 signatures");
	free(e);
	/* truncated anywhere: an error, never a crash */
	for (size_t cut = 0; cut < len; cut += (cut < 40 ? 1 : 37)) {
		uint8_t *pl = NULL;
		size_t n;
		assert_true(cvmf_dsse_verify(f->ctx, "cut", f->ed, CVMF_DSSE_PAYLOAD_TYPE, env, cut,
					     &pl, &n) < 0);
		assert_null(pl);
		assert_true(strlen(cvmf_ctx_errmsg(f->ctx)) > 0);
	}
	expect_bad(f, f->ed, env, len - 1, CVMF_E_FORMAT, "env.json:1:");
	/* wrong payload type: signed as such, and rewritten */
	char *wt = sign_stmt(f, f->ed, "application/json", STMT, &len2);
	expect_bad(f, f->ed, wt, len2, CVMF_E_FORMAT,
		   "payloadType is \"application/json\", expected \"application/vnd.in-toto+json\"");
	free(wt);
	e = replace(env, "vnd.in-toto+json", "vnd.in-toto+jsom");
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "payloadType is");
	free(e);
	/* the wrong key: no signature with its keyid; a keyid relabelled */
	expect_bad(f, f->ed2, env, len, CVMF_E_CRYPTO, "no signature by the key");
	uint8_t fp2[32];
	char k2[65];
	assert_int_equal(cvmf_key_fingerprint(f->ctx, f->ed2, fp2), 0);
	cvmf_hex(fp2, 32, k2);
	e = replace(env, keyid, k2);
	expect_bad(f, f->ed2, e, strlen(e), CVMF_E_CRYPTO, "does not verify");
	free(e);
	/* non-canonical base64: padding bits set, missing padding, whitespace */
	size_t pl = strlen(payload);
	char *nc = strdup(payload);
	assert_int_equal(nc[pl - 1], '='); /* the statement's length is not a multiple of 3 */
	size_t last = nc[pl - 2] == '=' ? pl - 3 : pl - 2;
	/* flip the lowest bit of that character's value: an unused bit */
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *at = strchr(b64, nc[last]);
	assert_non_null(at);
	nc[last] = b64[(at - b64) ^ 1];
	e = replace(env, payload, nc);
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "(non-canonical)");
	free(e);
	free(nc);
	char *nopad = strndup(payload, pl - 1);
	e = replace(env, payload, nopad);
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "env.json: payload");
	free(e);
	free(nopad);
	char *ws = NULL;
	assert_true(asprintf(&ws, "%.8s\\n%s", payload, payload + 8) > 0);
	e = replace(env, payload, ws);
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "env.json: payload");
	free(e);
	free(ws);
	/* unknown fields, at the top and in a signature; wrong types */
	e = replace(env, "{\"payload\"", "{\"extra\":1,\"payload\"");
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "unknown field \"extra\"");
	free(e);
	e = replace(env, "{\"keyid\"", "{\"cert\":\"x\",\"keyid\"");
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "signatures[0]: unknown field \"cert\"");
	free(e);
	e = replace(env, "\"signatures\":[", "\"signatures\":[1,");
	expect_bad(f, f->ed, e, strlen(e), CVMF_E_FORMAT, "signatures[0]: expected an object");
	free(e);
	expect_bad(f, f->ed, "[]", 2, CVMF_E_FORMAT, "a DSSE envelope is a JSON object");
	expect_bad(f, f->ed, "{\"payload\":\"\",\"payload\":\"\"}", 27, CVMF_E_FORMAT, "env.json");
	/* huge: over the documented cap, refused before parsing */
	size_t big = CVMF_DSSE_MAX_ENVELOPE + 1;
	char *h = malloc(big);
	memset(h, ' ', big);
	expect_bad(f, f->ed, h, big, CVMF_E_INVAL, "more than the 4194304");
	free(h);

	free(one);
	free(payload);
	free(sig);
	free(keyid);
	free(osig);
	free(env);
	free(other);
}

static void expect_bad_stmt(struct fx *f, const char *stmt, const char *needle)
{
	struct sgn_statement st = { 0 };
	int r = sgn_statement_parse(f->ctx, "stmt", stmt, strlen(stmt), &st);
	if (r != CVMF_E_FORMAT || !strstr(cvmf_ctx_errmsg(f->ctx), needle))
		fail_msg("got %d '%s', wanted '%s' for %s", r, cvmf_ctx_errmsg(f->ctx), needle, stmt);
	assert_null(st.root);
}

static void test_statement_bad(void **state)
{
	struct fx *f = *state;
	char *s;
	/* not canonical: whitespace, key order */
	s = replace(STMT, "{\"a\":1}", "{ \"a\":1}");
	expect_bad_stmt(f, s, "not canonical JSON (first difference at byte");
	free(s);
	expect_bad_stmt(f, "{\"predicateType\":\"x\",\"_type\":\"y\"}", "not canonical");
	s = replace(STMT, "{\"_type\"", "{\"Extra\":0,\"_type\"");
	expect_bad_stmt(f, s, "unknown field \"Extra\"");
	free(s);
	s = replace(STMT, "Statement/v1", "Statement/v0.1");
	expect_bad_stmt(f, s, "_type is \"https://in-toto.io/Statement/v0.1\"");
	free(s);
	s = replace(STMT, "\"name\":\"OVMF.fd\"", "\"name\":\"../OVMF.fd\"");
	expect_bad_stmt(f, s, "subject[0].name: not a relative path");
	free(s);
	s = replace(STMT, "\"name\":\"OVMF.fd\"", "\"name\":\"/etc/passwd\"");
	expect_bad_stmt(f, s, "not a relative path");
	free(s);
	s = replace(STMT, "\"name\":\"OVMF.fd\"", "\"name\":\"a//b\"");
	expect_bad_stmt(f, s, "not a relative path");
	free(s);
	s = replace(STMT, "\"sha256\"", "\"md5\"");
	expect_bad_stmt(f, s, "unknown field \"md5\"");
	free(s);
	s = replace(STMT, "\"0000000000", "\"000000000");
	expect_bad_stmt(f, s, "subject[0].digest.sha256: expected 64 hex digits");
	free(s);
	s = replace(STMT, "\"0000000000", "\"A000000000");
	expect_bad_stmt(f, s, "uppercase hex");
	free(s);
	s = replace(STMT, "\"subject\":[", "\"subject\":[{\"digest\":{\"sha256\":\"00000000000000000"
				"00000000000000000000000000000000000000000000000\"},\"name\":\"z\"},");
	expect_bad_stmt(f, s, "subject[1].name \"OVMF.fd\" is not after \"z\"");
	free(s);
	s = replace(STMT, "\"subject\":[", "\"subject\":[{\"digest\":{\"sha256\":\"00000000000000000"
				"00000000000000000000000000000000000000000000000\"},\"name\":\"OVMF.fd\"},");
	expect_bad_stmt(f, s, "sorted and unique");
	free(s);
	expect_bad_stmt(f, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{},"
			   "\"predicateType\":\"x\",\"subject\":[]}", "1 to 100000 subjects");
	expect_bad_stmt(f, "[1]", "a statement is a JSON object");
	expect_bad_stmt(f, "{\"a\":1.5}", "stmt: not canonical JSON: canonical JSON: a: a real number");
}

/* The openssl command line verifies our signature over PAE bytes built here. */
static void test_openssl_verifies_pae(void **state)
{
	struct fx *f = *state;
	cvmf_key *keys[2] = { f->ed, f->ec };
	for (int i = 0; i < 2; i++) {
		size_t len;
		char *env = sign_stmt(f, keys[i], CVMF_DSSE_PAYLOAD_TYPE, STMT, &len);
		char *b64 = field(env, "sig");
		/* PAE, spelled out from the DSSE specification */
		char *pae = NULL;
		int n = asprintf(&pae, "DSSEv1 %zu %s %zu %s", strlen(CVMF_DSSE_PAYLOAD_TYPE),
				 CVMF_DSSE_PAYLOAD_TYPE, strlen(STMT), STMT);
		assert_true(n > 0);
		free(t_write(f->dir, "pae.bin", pae, (size_t)n));
		free(t_write(f->dir, "sig.b64", b64, strlen(b64)));
		char *pem = NULL;
		assert_int_equal(cvmf_key_public_pem(f->ctx, keys[i], &pem), 0);
		free(t_write(f->dir, "pub.pem", pem, strlen(pem)));
		struct run r = t_sh("cd '%s' && openssl base64 -d -A -in sig.b64 -out sig.bin && "
				    "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin %s "
				    "-in pae.bin -sigfile sig.bin", f->dir,
				    i ? "-digest sha384" : "");
		if (r.status)
			fail_msg("openssl does not verify the %s DSSE signature: %s%s",
				 i ? "ECDSA" : "Ed25519", r.out, r.err);
		assert_non_null(strstr(r.out, "Signature Verified Successfully"));
		t_run_free(&r);
		/* and not over the payload alone */
		free(t_write(f->dir, "pae.bin", STMT, strlen(STMT)));
		r = t_sh("cd '%s' && openssl pkeyutl -verify -pubin -inkey pub.pem -rawin %s "
			 "-in pae.bin -sigfile sig.bin", f->dir, i ? "-digest sha384" : "");
		assert_int_not_equal(r.status, 0);
		t_run_free(&r);
		free(pem);
		free(pae);
		free(b64);
		free(env);
	}
}

/* ---- SEV-SNP ID block ---- */

static char *fixture_key(struct fx *f, const char *name)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "fixtures/snp-upstream/%s", name);
	char *src = t_shared_file(rel);
	if (!src)
		return NULL;
	size_t n;
	char *pem = t_slurp(src, &n);
	free(src);
	char *p = path_in(f->dir, name);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pem, n), (ssize_t)n);
	close(fd);
	free(pem);
	return p;
}

static void json_hex(const char *json, const char *key, uint8_t *out, size_t n)
{
	char k[80];
	snprintf(k, sizeof(k), "\"%s\": \"", key);
	const char *at = strstr(json, k);
	assert_non_null(at);
	char *hex = strndup(at + strlen(k), 2 * n);
	assert_int_equal(cvmf_unhex(hex, out, n), 0);
	free(hex);
}

static void json_b64(const char *json, const char *key, char *out, size_t len)
{
	char k[80];
	snprintf(k, sizeof(k), "\"%s\": \"", key);
	const char *at = strstr(json, k);
	assert_non_null(at);
	at += strlen(k);
	snprintf(out, len, "%.*s", (int)(strchr(at, '"') - at), at);
}

/* Verify {R,S} (little-endian, 72 bytes each) over msg with OpenSSL alone. */
static bool verify_fw_sig(EVP_PKEY *pk, const uint8_t *sig, const uint8_t *msg, size_t len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_lebin2bn(sig, 72, NULL), *sv = BN_lebin2bn(sig + 72, 72, NULL);
	assert_int_equal(ECDSA_SIG_set0(s, r, sv), 1);
	unsigned char *der = NULL;
	int dlen = i2d_ECDSA_SIG(s, &der);
	assert_true(dlen > 0);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_sha384(), NULL, pk), 1);
	int ok = EVP_DigestVerify(m, der, (size_t)dlen, msg, len);
	EVP_MD_CTX_free(m);
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	return ok == 1;
}

static EVP_PKEY *read_pem_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

static void test_id_block_vector(void **state)
{
	struct fx *f = *state;
	char *vec_path = t_shared_file("vectors/snp-idblock.json");
	char *idk = fixture_key(f, "id_key_test.pem");
	char *auk = fixture_key(f, "author_key_test.pem");
	if (!vec_path || !idk || !auk) {
		free(vec_path);
		free(idk);
		free(auk);
		skip();
	}
	char *vec = t_slurp(vec_path, NULL);
	free(vec_path);
	t_check_input(idk, "a69da005da80299b4dc31b86aac3114e154519f4b81852529743444b8e8af7d6");
	t_check_input(auk, "61b57084ddd871aa7d453981a7034d355ed2c6ef3af81da8ad6d823f52791559");
	uint8_t want_block[96];
	json_hex(vec, "id_block_hex", want_block, 96);
	char want_idd[80], want_aud[80];
	json_b64(vec, "id_key_digest_base64", want_idd, sizeof(want_idd));
	json_b64(vec, "author_key_digest_base64", want_aud, sizeof(want_aud));

	/* The library */
	cvmf_key *id = NULL, *au = NULL;
	assert_int_equal(cvmf_key_load_private(f->ctx, idk, &id), 0);
	assert_int_equal(cvmf_key_load_private(f->ctx, auk, &au), 0);
	struct cvmf_snp_id_params p = { .policy = CVMF_SNP_POLICY_DEFAULT };
	memcpy(p.ld, want_block, 48);
	struct cvmf_snp_id_result *res = calloc(1, sizeof(*res));
	assert_int_equal(cvmf_snp_id_block(f->ctx, &p, id, au, res), 0);
	assert_memory_equal(res->id_block, want_block, 96);
	char b64[80];
	cvmf_base64(res->id_key_digest, 48, b64);
	assert_string_equal(b64, want_idd);
	cvmf_base64(res->author_key_digest, 48, b64);
	assert_string_equal(b64, want_aud);

	/* ID auth checked with OpenSSL alone, from the firmware layout */
	const uint8_t *a = res->id_auth;
	assert_int_equal(t_get32(a + 0), 1);
	assert_int_equal(t_get32(a + 4), 1);
	EVP_PKEY *ik = read_pem_key(idk), *ak = read_pem_key(auk);
	assert_true(verify_fw_sig(ik, a + 0x40, res->id_block, 96));
	assert_true(verify_fw_sig(ak, a + 0x680, a + 0x240, 1028));
	/* not under the other key; not over another message */
	assert_false(verify_fw_sig(ak, a + 0x40, res->id_block, 96));
	assert_false(verify_fw_sig(ik, a + 0x680, a + 0x240, 1028));
	uint8_t other[96];
	memcpy(other, res->id_block, 96);
	other[0x54] = 1;
	assert_false(verify_fw_sig(ik, a + 0x40, other, 96));
	/* The public-key structure: curve 2, Qx and Qy little-endian, as the key has them */
	for (int k = 0; k < 2; k++) {
		EVP_PKEY *pk = k ? ak : ik;
		const uint8_t *s = a + (k ? 0x880 : 0x240);
		BIGNUM *x = NULL, *y = NULL;
		assert_int_equal(EVP_PKEY_get_bn_param(pk, "qx", &x), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(pk, "qy", &y), 1);
		uint8_t xb[72], yb[72];
		assert_int_equal(BN_bn2lebinpad(x, xb, 72), 72);
		assert_int_equal(BN_bn2lebinpad(y, yb, 72), 72);
		assert_int_equal(t_get32(s), 2);
		assert_memory_equal(s + 4, xb, 72);
		assert_memory_equal(s + 76, yb, 72);
		for (size_t i = 148; i < 1028; i++)
			assert_int_equal(s[i], 0);
		BN_free(x);
		BN_free(y);
		uint8_t d[48];
		t_sha384(s, 1028, d);
		assert_memory_equal(d, k ? res->author_key_digest : res->id_key_digest, 48);
	}
	/* ... and with the openssl command line, from DER made of R and S */
	for (int k = 0; k < 2; k++) {
		const uint8_t *sig = a + (k ? 0x680 : 0x40);
		ECDSA_SIG *es = ECDSA_SIG_new();
		assert_int_equal(ECDSA_SIG_set0(es, BN_lebin2bn(sig, 72, NULL),
						BN_lebin2bn(sig + 72, 72, NULL)), 1);
		unsigned char *der = NULL;
		int dlen = i2d_ECDSA_SIG(es, &der);
		assert_true(dlen > 0);
		free(t_write(f->dir, "idsig.der", der, (size_t)dlen));
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
		if (k)
			free(t_write(f->dir, "idmsg.bin", a + 0x240, 1028));
		else
			free(t_write(f->dir, "idmsg.bin", res->id_block, 96));
		struct run o = t_sh("cd '%s' && openssl pkey -in '%s' -pubout -out idpub.pem && "
				    "openssl pkeyutl -verify -pubin -inkey idpub.pem -rawin -digest sha384 "
				    "-in idmsg.bin -sigfile idsig.der", f->dir, k ? auk : idk);
		if (o.status)
			fail_msg("openssl does not verify the %s signature in ID auth: %s%s",
				 k ? "author" : "ID block", o.out, o.err);
		t_run_free(&o);
	}
	EVP_PKEY_free(ik);
	EVP_PKEY_free(ak);

	/* Without an author key: no author fields */
	assert_int_equal(cvmf_snp_id_block(f->ctx, &p, id, NULL, res), 0);
	assert_false(res->has_author_key);
	assert_int_equal(t_get32(res->id_auth + 4), 0);
	for (size_t i = 0x680; i < 0x1000; i++)
		assert_int_equal(res->id_auth[i], 0);
	/* Other parameters land where the ABI puts them */
	memset(p.family_id, 0xfa, 16);
	memset(p.image_id, 0x1d, 16);
	p.guest_svn = 0x01020304;
	p.policy = 0xb0000;
	assert_int_equal(cvmf_snp_id_block(f->ctx, &p, id, au, res), 0);
	assert_int_equal(res->id_block[0x30], 0xfa);
	assert_int_equal(res->id_block[0x4f], 0x1d);
	assert_int_equal(t_get32(res->id_block + 0x50), 1);
	assert_int_equal(t_get32(res->id_block + 0x54), 0x01020304);
	assert_int_equal(t_get64(res->id_block + 0x58), 0xb0000);

	/* Wrong key types */
	struct cvmf_snp_id_result *keep = calloc(1, sizeof(*keep));
	assert_int_equal(cvmf_snp_id_block(f->ctx, &p, f->ed, NULL, keep), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(f->ctx), "ID key is an ed25519 key"));
	assert_int_equal(cvmf_snp_id_block(f->ctx, &p, id, f->ed, keep), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(f->ctx), "author key is an ed25519 key"));
	for (size_t i = 0; i < sizeof(*keep); i++)
		assert_int_equal(((uint8_t *)keep)[i], 0);
	free(keep);

	/* The CLI prints the same, in snp-create-id-block's lines */
	char ldhex[97];
	cvmf_hex(want_block, 48, ldhex);
	struct run r = t_sh("'%s' sign id-block --measurement %s --id-key '%s' --author-key '%s'",
			    t_bin(), ldhex, idk, auk);
	t_assert_clean_exit(&r, 0);
	char want_line[200];
	snprintf(want_line, sizeof(want_line), "id-block=%.128s,id-auth=", strstr(vec,
		 "\"id_block_base64\": \"") + strlen("\"id_block_base64\": \""));
	assert_true(strncmp(r.out, want_line, strlen(want_line)) == 0);
	char *nl = strchr(r.out, '\n');
	assert_non_null(nl);
	assert_int_equal(nl - r.out, strlen(want_line) + 5464); /* base64 of 4096 bytes */
	char l2[200];
	snprintf(l2, sizeof(l2), "\nid_key_hash: %s\nauthor_key: %s\n", want_idd, want_aud);
	assert_string_equal(nl, l2);
	t_run_free(&r);
	/* a P-256 key and an Ed25519 key are refused, naming the file */
	r = t_sh("cd '%s' && umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out p256.pem "
		 "&& '%s' key generate --type ed25519 -o ed.pem >/dev/null && "
		 "'%s' sign id-block --measurement %s --id-key p256.pem", f->dir, t_bin(), t_bin(),
		 ldhex);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "p256.pem"));
	assert_non_null(strstr(r.err, "curve prime256v1"));
	t_run_free(&r);
	r = t_sh("cd '%s' && '%s' sign id-block --measurement %s --id-key '%s' --author-key ed.pem",
		 f->dir, t_bin(), ldhex, idk);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "author key 'ed.pem' is an ed25519 key"));
	t_run_free(&r);
	/* usage errors */
	r = t_sh("'%s' sign id-block --measurement 00 --id-key '%s'", t_bin(), idk);
	t_assert_clean_exit(&r, 2);
	assert_non_null(strstr(r.err, "expected 96 hex digits"));
	t_run_free(&r);
	r = t_sh("'%s' sign id-block --id-key '%s'", t_bin(), idk);
	t_assert_clean_exit(&r, 2);
	t_run_free(&r);
	r = t_sh("'%s' sign id-block --measurement %s --id-key '%s' --guest-svn 4294967296", t_bin(),
		 ldhex, idk);
	t_assert_clean_exit(&r, 2);
	t_run_free(&r);

	free(res);
	cvmf_key_free(id);
	cvmf_key_free(au);
	free(vec);
	free(idk);
	free(auk);
}

/* ---- an image, end to end through the CLI ---- */

static char *shared_abs(const char *rel)
{
	char *p = t_shared_file(rel);
	if (!p)
		return NULL;
	char *abs = realpath(p, NULL);
	free(p);
	return abs;
}

/* Build a small image from ../shared inputs into f->dir/out; its path, or NULL. */
static char *build_image(struct fx *f)
{
	char *ovmf = shared_abs("inputs/OVMF.fd"), *kernel = shared_abs("inputs/vmlinuz-6.1.0-50");
	if (!ovmf || !kernel) {
		free(ovmf);
		free(kernel);
		return NULL;
	}
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
		   "[snp]\nkernel-hashes = no\nvcpus = 1-2\n", ovmf, kernel);
	fclose(o);
	r = t_sh("cd '%s' && '%s' build t.recipe -o out --lock --quiet", f->dir, t_bin());
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	free(ovmf);
	free(kernel);
	free(recipe);
	return path_in(f->dir, "out/t-1");
}

/* sha256sum of every file of the image, as one string. */
static char *image_sums(const char *img)
{
	struct run r = t_sh("cd '%s' && find . -type f ! -name '*.dsse.json' | sort | xargs sha256sum",
			    img);
	t_assert_clean_exit(&r, 0);
	free(r.err);
	return r.out;
}

static struct run verify(const char *img, const char *pub)
{
	return t_sh("'%s' verify '%s' --pubkey '%s' --quiet", t_bin(), img, pub);
}

static void expect_verify(const char *img, const char *pub, int status, const char *needle)
{
	struct run r = verify(img, pub);
	if (r.status != status || !strstr(r.out, needle))
		fail_msg("verify: exit %d (wanted %d), no '%s' in:\n%s%s", r.status, status, needle,
			 r.out, r.err);
	t_run_free(&r);
}

static void test_image_sign_verify(void **state)
{
	struct fx *f = *state;
	char *img = build_image(f);
	if (!img)
		skip();
	char *before = image_sums(img);
	struct run r = t_sh("cd '%s' && umask 000 && '%s' key generate --type ed25519 -o rel.key && "
			    "stat -c %%a rel.key rel.key.pub && '%s' key show rel.key.pub --json && "
			    "'%s' key generate --type ecdsa-p384 -o ec.key && "
			    "'%s' key generate --type ed25519 -o other.key", f->dir, t_bin(), t_bin(),
			    t_bin(), t_bin());
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "600\n666\n"));   /* 0600 whatever the umask */
	assert_non_null(strstr(r.out, "\"note-verifier-key\": \"rel+"));
	t_run_free(&r);
	/* a key is never overwritten */
	r = t_sh("cd '%s' && '%s' key generate --type ed25519 -o rel.key", f->dir, t_bin());
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "'rel.key' exists"));
	t_run_free(&r);

	char *key = path_in(f->dir, "rel.key"), *pub = path_in(f->dir, "rel.key.pub");
	char *ecpub = path_in(f->dir, "ec.key.pub"), *opub = path_in(f->dir, "other.key.pub");
	r = t_sh("'%s' sign '%s' --key '%s'", t_bin(), img, key);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* signing changed no file build wrote; reproduce still compares equal */
	char *after = image_sums(img);
	assert_string_equal(before, after);
	free(after);
	char *m1 = path_in(img, "measurements.dsse.json"), *p1 = path_in(img, "provenance.dsse.json");
	size_t n1, n2;
	char *env1 = t_slurp(m1, &n1), *prov1 = t_slurp(p1, &n2);
	assert_int_equal(env1[n1 - 1], '\n');
	/* signed already: refused; --force: byte-identical with Ed25519 */
	r = t_sh("'%s' sign '%s' --key '%s'", t_bin(), img, key);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "signed already"));
	t_run_free(&r);
	r = t_sh("'%s' sign '%s' --key '%s' --force", t_bin(), img, key);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *env2 = t_slurp(m1, NULL), *prov2 = t_slurp(p1, NULL);
	assert_string_equal(env1, env2);
	assert_string_equal(prov1, prov2);
	free(env2);
	free(prov2);

	/* another build of the recipe, elsewhere, signed with the same key: the same bytes */
	r = t_sh("cd '%s' && TZ=Asia/Kathmandu '%s' build t.recipe -o out2 --quiet && "
		 "'%s' sign out2/t-1 --key rel.key >/dev/null && "
		 "cmp out/t-1/measurements.dsse.json out2/t-1/measurements.dsse.json && "
		 "cmp out/t-1/provenance.dsse.json out2/t-1/provenance.dsse.json", f->dir, t_bin(),
		 t_bin());
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	expect_verify(img, pub, 0, "signed by the given key");
	r = t_sh("'%s' reproduce '%s/t.recipe' --against '%s' --quiet", t_bin(), f->dir, img);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* the tarball, given alone, with the envelopes beside it */
	char *tar = path_in(img, "t-1.tar");
	expect_verify(tar, pub, 0, "signed by the given key");

	/* the payloads: subjects, predicate types, provenance */
	r = t_sh("cd '%s' && for f in measurements provenance; do python3 -c \"import json,base64,sys;"
		 "e=json.load(open('$f.dsse.json'));s=json.loads(base64.b64decode(e['payload']));"
		 "print(e['payloadType'],s['predicateType'],[x['name'] for x in s['subject']],"
		 "sorted(s['subject'][0]['digest']))\"; done", img);
	if (r.status == 127 || strstr(r.err, "not found")) {
		printf("# no python3: payload structure not inspected\n");
	} else {
		t_assert_clean_exit(&r, 0);
		assert_non_null(strstr(r.out, "application/vnd.in-toto+json https://cvmforge.dev/"
					      "measurements/v1 ['OVMF.fd', 'cmdline.txt', 'initrd.img', "
					      "'launch/qemu.sh', 'launch/snp.sh', 'manifest.json', "
					      "'measurements.json', 't-1.tar', 'vmlinuz'] ['sha256', 'sha384']"));
		assert_non_null(strstr(r.out, "https://slsa.dev/provenance/v1"));
	}
	t_run_free(&r);

	/* the wrong key */
	expect_verify(img, opub, 3, "no signature by the key");
	/* a changed launched file: named, with both digests */
	r = t_sh("cd '%s' && cp launch/qemu.sh q.bak && echo '# x' >> launch/qemu.sh", img);
	t_run_free(&r);
	expect_verify(img, pub, 3, "DIFFERS  signed file launch/qemu.sh: sha256: signed ");
	expect_verify(img, pub, 3, ", the file has ");
	r = t_sh("cd '%s' && mv q.bak launch/qemu.sh", img);
	t_run_free(&r);
	/* an unlisted file */
	r = t_sh("cd '%s' && echo evil > launch/evil.sh", img);
	t_run_free(&r);
	expect_verify(img, pub, 3, "file launch/evil.sh: not a subject of the signed measurement");
	r = t_sh("rm '%s/launch/evil.sh'", img);
	t_run_free(&r);
	/* a missing signed file */
	r = t_sh("cd '%s' && mv cmdline.txt ../c.bak", img);
	t_run_free(&r);
	/* (the measurements cannot be recomputed without it: could not run, 1) */
	expect_verify(img, pub, 1, "DIFFERS  signed file cmdline.txt: ");
	expect_verify(img, pub, 1, "cmdline.txt: missing");
	r = t_sh("cd '%s' && mv ../c.bak cmdline.txt", img);
	t_run_free(&r);
	/* swapped envelopes */
	r = t_sh("cd '%s' && cp measurements.dsse.json m.bak && cp provenance.dsse.json "
		 "measurements.dsse.json", img);
	t_run_free(&r);
	expect_verify(img, pub, 3, "predicateType is \"https://slsa.dev/provenance/v1\", expected "
				   "\"https://cvmforge.dev/measurements/v1\"");
	/* a truncated envelope; a missing one */
	r = t_sh("cd '%s' && head -c 100 m.bak > measurements.dsse.json", img);
	t_run_free(&r);
	expect_verify(img, pub, 3, "DIFFERS  signature measurements.dsse.json: measurements.dsse.json:1:");
	/* a huge one: over the cap, refused before it is parsed */
	r = t_sh("cd '%s' && head -c 5000000 /dev/zero | tr '\\0' ' ' > measurements.dsse.json", img);
	t_run_free(&r);
	expect_verify(img, pub, 3, "is 5000000 bytes, more than the 4194304 accepted");
	r = t_sh("cd '%s' && rm measurements.dsse.json", img);
	t_run_free(&r);
	expect_verify(img, pub, 3, "signature measurements.dsse.json: missing");
	r = t_sh("cd '%s' && mv m.bak measurements.dsse.json", img);
	t_run_free(&r);
	expect_verify(img, pub, 0, "signed by the given key");
	/* a private key or a missing file as --pubkey: could not run */
	r = verify(img, key);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "holds a private key"));
	t_run_free(&r);
	r = verify(img, "/nonexistent.pub");
	t_assert_clean_exit(&r, 1);
	t_run_free(&r);

	/* ECDSA P-384: signatures differ each time, and verify */
	r = t_sh("'%s' sign '%s' --key '%s/ec.key' --force", t_bin(), img, f->dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	expect_verify(img, ecpub, 0, "signed by the given key");
	expect_verify(img, pub, 3, "no signature by the key");

	/* sign refuses an image that does not match its manifest, naming the file */
	r = t_sh("cd '%s' && cp cmdline.txt ../c.bak && printf x >> cmdline.txt && "
		 "'%s' sign . --key '%s' --force", img, t_bin(), key);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "file cmdline.txt: sha256 "));
	assert_non_null(strstr(r.err, "manifest.json records"));
	t_run_free(&r);
	r = t_sh("cd '%s' && mv ../c.bak cmdline.txt", img);
	t_run_free(&r);
	/* ... and an image holding a link */
	r = t_sh("cd '%s' && ln -s vmlinuz launch/k && '%s' sign . --key '%s' --force; rc=$?; "
		 "rm launch/k; exit $rc", img, t_bin(), key);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "launch/k' in image '.' is a symbolic link"));
	t_run_free(&r);
	/* --recipe: the recipe must be the image's; the lock is recorded */
	r = t_sh("'%s' sign '%s' --key '%s' --force --recipe '%s/t.recipe.lock'", t_bin(), img, key,
		 f->dir);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "the image was built from t.recipe with sha256"));
	t_run_free(&r);
	r = t_sh("'%s' sign '%s' --key '%s' --force --recipe '%s/t.recipe' && cd '%s' && "
		 "python3 -c \"import json,base64;e=json.load(open('provenance.dsse.json'));"
		 "s=json.loads(base64.b64decode(e['payload']));"
		 "print(s['predicate']['buildDefinition']['externalParameters']['lock']['file'])\"",
		 t_bin(), img, key, f->dir, img);
	if (!strstr(r.err, "python3: not found")) {
		t_assert_clean_exit(&r, 0);
		assert_non_null(strstr(r.out, "t.recipe.lock\n"));
	}
	t_run_free(&r);
	/* a tarball is not a directory to sign into */
	r = t_sh("'%s' sign '%s' --key '%s' --force", t_bin(), tar, key);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "is not an image directory"));
	t_run_free(&r);
	/* a private key others can read is refused */
	r = t_sh("chmod 644 '%s' && '%s' sign '%s' --key '%s' --force", key, t_bin(), img, key);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "permissions 0644 for private key"));
	t_run_free(&r);

	/* ID blocks for every SNP launch digest of the image */
	r = t_sh("'%s' sign id-block --image '%s' --id-key '%s/ec.key' --json", t_bin(), img, f->dir);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "\"vcpus\": 1"));
	assert_non_null(strstr(r.out, "\"vcpus\": 2"));
	t_run_free(&r);

	/* launch/snp.sh passes the ID block of its VCPUS: its LD is that launch digest */
	r = t_sh("cd '%s' && '%s' sign id-block --image . --id-key '%s/ec.key' > ../ids.txt && "
		 "QEMU=echo ID_BLOCKS=../ids.txt VCPUS=2 sh launch/snp.sh | tr ' ' '\\n' | "
		 "grep sev-snp-guest | sed 's/.*id-block=//; s/,id-auth=.*//' | base64 -d | "
		 "head -c 48 | od -An -tx1 -v | tr -d ' \\n' && echo && python3 -c \"import json;"
		 "m=json.load(open('measurements.json'));print([x['launch-digest'] for x in "
		 "m['snp']['measurements'] if x['vcpus']==2][0])\"", img, t_bin(), f->dir);
	if (strstr(r.err, "python3: not found")) {
		printf("# no python3: the ID block's launch digest is not compared\n");
	} else {
		t_assert_clean_exit(&r, 0);
		char *nl1 = strchr(r.out, '\n');
		assert_non_null(nl1);
		assert_int_equal(nl1 - r.out, 96);
		assert_memory_equal(r.out, nl1 + 1, 96);
	}
	t_run_free(&r);
	r = t_sh("cd '%s' && QEMU=echo ID_BLOCKS=/dev/null sh launch/snp.sh", img);
	t_assert_clean_exit(&r, 2);
	assert_non_null(strstr(r.err, "has no ID block for VCPUS=1"));
	t_run_free(&r);

	char *final = image_sums(img);
	assert_string_equal(before, final);
	free(final);
	free(before);
	free(env1);
	free(prov1);
	free(m1);
	free(p1);
	free(tar);
	free(key);
	free(pub);
	free(ecpub);
	free(opub);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pae),
		cmocka_unit_test(test_dsse_roundtrip),
		cmocka_unit_test(test_dsse_bad),
		cmocka_unit_test(test_statement_bad),
		cmocka_unit_test(test_openssl_verifies_pae),
		cmocka_unit_test(test_id_block_vector),
		cmocka_unit_test(test_image_sign_verify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
