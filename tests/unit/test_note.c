/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log/note.c and log/checkpoint.c: every note of ../shared/fixtures/tlog-upstream
 * (vectors.json, accepted and rejected), the golden checkpoint reproduced byte
 * for byte from its seed, the sigsum cosignature/v1 reproduced, and malformed
 * notes, keys and checkpoints refused with a message.
 */
#include <jansson.h>
#include <openssl/rand.h>

#include "common/encode.h"
#include "log/tlog.h"
#include "tests/unit/testlib.h"

#define FIX "fixtures/tlog-upstream"

static json_t *vectors(void)
{
	char *p = t_shared_file(FIX "/vectors.json");
	if (!p)
		return NULL;
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);
	assert_non_null(j);
	free(p);
	return j;
}

static bool in_list(json_t *list, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		if (!strcmp(json_string_value(v), name))
			return true;
	}
	return false;
}

static void test_fixture_notes(void **state)
{
	(void)state;
	json_t *j = vectors();
	if (!j)
		skip();
	size_t i, ok_cases = 0, reject_cases = 0;
	json_t *c;
	json_array_foreach(json_object_get(j, "notes"), i, c) {
		char *rel = NULL;
		assert_true(asprintf(&rel, FIX "/%s", json_string_value(json_object_get(c, "file"))) > 0);
		char *path = t_shared_file(rel);
		assert_non_null(path);
		size_t len;
		char *buf = t_slurp(path, &len);
		json_t *vk = json_object_get(c, "vkeys");
		size_t nv = json_array_size(vk);
		struct tlg_verifier *v[4] = { 0 };
		bool ok[4];
		uint64_t times[4] = { 0 };
		for (size_t k = 0; k < nv; k++)
			assert_int_equal(tlg_vkey_parse(NULL, "vkey", json_string_value(json_array_get(vk, k)),
							&v[k]), 0);
		cvmf_ctx *ctx = cvmf_ctx_new();
		struct tlg_note *n = NULL;
		size_t count = 0;
		int r = tlg_note_parse(ctx, path, buf, len, &n);
		if (!r)
			r = tlg_note_verify(ctx, path, n, v, nv, ok, times, &count);
		bool want_ok = !strcmp(json_string_value(json_object_get(c, "expect")), "ok");
		if (want_ok) {
			if (r || count == 0)
				fail_msg("%s: refused: %s", path, cvmf_ctx_errmsg(ctx));
			json_t *verified = json_object_get(c, "verified");
			for (size_t k = 0; k < nv; k++)
				if (verified)
					assert_int_equal(ok[k], in_list(verified, v[k]->name));
			json_t *ct = json_object_get(c, "cosignature_time");
			if (ct)
				assert_int_equal(times[0], json_integer_value(ct));
			json_t *cp = json_object_get(c, "checkpoint");
			if (cp) {
				struct tlg_checkpoint k = { 0 };
				assert_int_equal(tlg_checkpoint_parse(ctx, path, n->text, n->text_len, &k), 0);
				assert_string_equal(k.origin, json_string_value(json_object_get(cp, "origin")));
				assert_int_equal(k.size, json_integer_value(json_object_get(cp, "size")));
				char b[45];
				cvmf_base64(k.root, 32, b);
				assert_string_equal(b, json_string_value(json_object_get(cp, "root")));
				tlg_checkpoint_clear(&k);
				/* The whole checkpoint path: parse, body, log signature. */
				struct tlg_note *n2 = NULL;
				assert_int_equal(tlg_checkpoint_open(ctx, path, buf, len, v[0], &n2, &k), 0);
				tlg_checkpoint_clear(&k);
				tlg_note_free(n2);
			}
			ok_cases++;
		} else {
			if (r == 0 && count > 0)
				fail_msg("%s: accepted, vectors.json says reject", path);
			/* A failure says why; "no known key" is a count of 0. */
			if (r)
				assert_true(strlen(cvmf_ctx_errmsg(ctx)) > 10);
			reject_cases++;
		}
		tlg_note_free(n);
		cvmf_ctx_free(ctx);
		for (size_t k = 0; k < nv; k++)
			tlg_verifier_free(v[k]);
		free(buf);
		free(path);
		free(rel);
	}
	assert_true(ok_cases >= 8 && reject_cases >= 5);
	json_decref(j);
}

static EVP_PKEY *seed_key(uint8_t first, bool counting)
{
	uint8_t seed[32] = { 0 };
	for (int i = 0; i < 32; i++)
		seed[i] = counting ? (uint8_t)i : (i ? 0 : first);
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(k);
	return k;
}

/* The golden checkpoints are signed by seed 00..1f: Ed25519 is deterministic. */
static void test_sign_golden(void **state)
{
	(void)state;
	json_t *j = vectors();
	if (!j)
		skip();
	json_t *g = json_object_get(j, "golden_log");
	json_t *key = json_object_get(g, "key");
	EVP_PKEY *k = seed_key(0, true);
	char *vkey = NULL, *name = NULL;
	assert_int_equal(tlg_vkey_format(NULL, "example.com/testlog", TLG_SIG_ED25519, k, &vkey), 0);
	assert_string_equal(vkey, json_string_value(json_object_get(key, "vkey")));
	EVP_PKEY *k2 = NULL;
	assert_int_equal(tlg_skey_parse(NULL, "skey", json_string_value(json_object_get(key, "skey")),
					&name, &k2), 0);
	assert_string_equal(name, "example.com/testlog");
	assert_int_equal(EVP_PKEY_eq(k, k2), 1);

	const char *sizes[] = { "1", "2", "3", "255", "256", "257", "1000" };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(sizes); i++) {
		char *rel = NULL;
		assert_true(asprintf(&rel, FIX "/golden-log-1000/checkpoint.%s", sizes[i]) > 0);
		char *path = t_shared_file(rel);
		assert_non_null(path);
		char *want = t_slurp(path, NULL);
		uint8_t root[32];
		size_t rl;
		uint8_t *r = NULL;
		const char *b = json_string_value(json_object_get(json_object_get(g, "roots_base64"),
								  sizes[i]));
		assert_int_equal(cmn_base64_decode(NULL, "root", b, strlen(b), &r, &rl), 0);
		memcpy(root, r, 32);
		free(r);
		char *text = NULL, *note = NULL;
		assert_int_equal(tlg_checkpoint_text(NULL, name, strtoull(sizes[i], NULL, 10), root,
						     &text), 0);
		assert_int_equal(tlg_note_sign(NULL, text, strlen(text), name, k2, &note), 0);
		assert_string_equal(note, want);
		free(text);
		free(note);
		free(want);
		free(path);
		free(rel);
	}
	/* checkpoint_70000 in vectors.json */
	uint8_t root[32];
	size_t rl;
	uint8_t *r = NULL;
	const char *b = json_string_value(json_object_get(json_object_get(g, "roots_base64"), "70000"));
	assert_int_equal(cmn_base64_decode(NULL, "root", b, strlen(b), &r, &rl), 0);
	memcpy(root, r, 32);
	free(r);
	char *text = NULL, *note = NULL;
	assert_int_equal(tlg_checkpoint_text(NULL, name, 70000, root, &text), 0);
	assert_int_equal(tlg_note_sign(NULL, text, strlen(text), name, k, &note), 0);
	assert_string_equal(note, json_string_value(json_object_get(g, "checkpoint_70000")));
	free(text);
	free(note);
	free(vkey);
	free(name);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	json_decref(j);
}

/* The sigsum cosignature/v1 line, reproduced from its seed and time. */
static void test_cosign_sigsum(void **state)
{
	(void)state;
	char *path = t_shared_file(FIX "/notes/sigsum-cosignature-v1.checkpoint");
	if (!path)
		skip();
	size_t len;
	char *buf = t_slurp(path, &len);
	struct tlg_note *n = NULL;
	assert_int_equal(tlg_note_parse(NULL, path, buf, len, &n), 0);
	EVP_PKEY *k = seed_key(0x11, false);
	char *line = NULL, *vkey = NULL;
	assert_int_equal(tlg_cosign_line(NULL, n->text, n->text_len, "example.org/witness", k, 1234,
					 &line), 0);
	assert_string_equal(line, buf + n->text_len + 1);
	assert_int_equal(tlg_vkey_format(NULL, "example.org/witness", TLG_SIG_COSIG_V1, k, &vkey), 0);
	assert_string_equal(vkey, "example.org/witness+cacf2e50+BGbguFjkYqYJ5m/nE3DIFtiEb/ED1UmaIqf+w3/bxCSn");
	/* The same key as a plain 0x01 verifier does not match the cosignature's ID. */
	struct tlg_verifier *v = NULL;
	char *plain = NULL;
	assert_int_equal(tlg_vkey_format(NULL, "example.org/witness", TLG_SIG_ED25519, k, &plain), 0);
	assert_int_equal(tlg_vkey_parse(NULL, "vkey", plain, &v), 0);
	size_t count = 9;
	assert_int_equal(tlg_note_verify(NULL, "n", n, &v, 1, NULL, NULL, &count), 0);
	assert_int_equal(count, 0);
	tlg_verifier_free(v);
	free(plain);
	free(vkey);
	free(line);
	EVP_PKEY_free(k);
	tlg_note_free(n);
	free(buf);
	free(path);
}

static int parse_err(const char *note, const char *want)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct tlg_note *n = NULL;
	int r = tlg_note_parse(ctx, "note", note, strlen(note), &n);
	if (r == 0) {
		tlg_note_free(n);
		cvmf_ctx_free(ctx);
		fail_msg("accepted: %s", note);
	}
	if (!strstr(cvmf_ctx_errmsg(ctx), want))
		fail_msg("message '%s' lacks '%s'", cvmf_ctx_errmsg(ctx), want);
	cvmf_ctx_free(ctx);
	return r;
}

static void test_malformed(void **state)
{
	(void)state;
	const char *sig = "\xe2\x80\x94 k AAAAAAA=\n";
	char buf[512];
	snprintf(buf, sizeof(buf), "a\r\n\n%s", sig);
	parse_err(buf, "control character");
	snprintf(buf, sizeof(buf), "a\tb\n\n%s", sig);
	parse_err(buf, "control character");
	snprintf(buf, sizeof(buf), "a\xc0\x80\n\n%s", sig);
	parse_err(buf, "invalid UTF-8");
	parse_err("text\n\n", "signature block is empty");
	parse_err("text\n\n\xe2\x80\x94 k AAAAAAA=", "does not end in a newline");
	parse_err("text\n\n- k AAAAAAA=\n", "does not start with");
	parse_err("text\n\n\xe2\x80\x94 k+x AAAAAAA=\n", "no valid key name");
	parse_err("text\n\n\xe2\x80\x94 k AAAA\n", "shorter than a key ID");
	parse_err("text\n\n\xe2\x80\x94 k AAAAAA==\n", "shorter than a key ID"); /* 4 bytes */
	parse_err("text\n\n\xe2\x80\x94 k AAAAAAB=\n", "(non-canonical)");
	parse_err("text\n\n\xe2\x80\x94 k AA=AAAA=\n", "invalid base64: ");
	parse_err("text\n\n\xe2\x80\x94 k  AAAAAAA=\n", "9 characters");
	/* 101 signatures */
	size_t cap = 64 + 101 * 20;
	char *many = malloc(cap);
	strcpy(many, "text\n\n");
	for (int i = 0; i < 101; i++)
		strcat(many, "\xe2\x80\x94 k AAAAAAA=\n");
	parse_err(many, "more than 100 signatures");
	free(many);
	/* The last blank line separates: text may hold blank lines. */
	struct tlg_note *n = NULL;
	const char *blank = "a\n\nb\n\n\xe2\x80\x94 k AAAAAAA=\n";
	assert_int_equal(tlg_note_parse(NULL, "n", blank, strlen(blank), &n), 0);
	assert_string_equal(n->text, "a\n\nb\n");
	assert_int_equal(n->n_sigs, 1);
	assert_int_equal(n->sigs[0].id, 0);
	tlg_note_free(n);

	/* Verifier keys. */
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct tlg_verifier *v = NULL;
	const char *good = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
	assert_int_equal(tlg_vkey_parse(ctx, "vkey", good, &v), 0);
	assert_int_equal(v->id, 0x530d903a);
	tlg_verifier_free(v);
	const char *bad[][2] = {
		{ "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "does not match" },
		{ "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "lowercase" },
		{ "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "key type" },
		{ "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", "multiple of 4" },
		{ "example.com/foo", "not a verifier key" },
		{ "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "invalid key name" },
	};
	for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
		assert_int_not_equal(tlg_vkey_parse(ctx, "vkey", bad[i][0], &v), 0);
		if (!strstr(cvmf_ctx_errmsg(ctx), bad[i][1]))
			fail_msg("%s: message '%s' lacks '%s'", bad[i][0], cvmf_ctx_errmsg(ctx), bad[i][1]);
	}
	cvmf_ctx_free(ctx);
}

static void cp_err(const char *text, const char *want)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct tlg_checkpoint c = { 0 };
	if (tlg_checkpoint_parse(ctx, "cp", text, strlen(text), &c) == 0)
		fail_msg("accepted checkpoint: %s", text);
	if (!strstr(cvmf_ctx_errmsg(ctx), want))
		fail_msg("message '%s' lacks '%s'", cvmf_ctx_errmsg(ctx), want);
	cvmf_ctx_free(ctx);
}

static void test_checkpoints(void **state)
{
	(void)state;
	const char *root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	char b[256];
	struct tlg_checkpoint c = { 0 };
	snprintf(b, sizeof(b), "o\n0\n%s\n", root);
	assert_int_equal(tlg_checkpoint_parse(NULL, "cp", b, strlen(b), &c), 0);
	assert_int_equal(c.size, 0);
	tlg_checkpoint_clear(&c);
	snprintf(b, sizeof(b), "o\n9223372036854775807\n%s\next\n", root);
	assert_int_equal(tlg_checkpoint_parse(NULL, "cp", b, strlen(b), &c), 0);
	assert_int_equal(c.n_ext, 1);
	tlg_checkpoint_clear(&c);
	snprintf(b, sizeof(b), "o\n9223372036854775808\n%s\n", root);
	cp_err(b, "below 2^63");
	snprintf(b, sizeof(b), "o\n012\n%s\n", root);
	cp_err(b, "leading zeros");
	snprintf(b, sizeof(b), "o\n-1\n%s\n", root);
	cp_err(b, "decimal");
	snprintf(b, sizeof(b), "o\n1\n\n%s\n", root);
	cp_err(b, "line 3 is empty");
	cp_err("o\n1\n", "origin, a size and a root");
	cp_err("o\n1\nAAAA\n", "3 bytes, not 32");
	cp_err("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", "non-canonical");
	snprintf(b, sizeof(b), "o\n1\n%s", root);
	cp_err(b, "does not end in a newline");
}

/* A fresh key: sign, verify, tamper; a wrong signature from a known key rejects. */
static void test_roundtrip(void **state)
{
	(void)state;
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	assert_non_null(kc);
	assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
	assert_int_equal(EVP_PKEY_keygen(kc, &k), 1);
	EVP_PKEY_CTX_free(kc);
	char *vkey = NULL, *note = NULL;
	assert_int_equal(tlg_vkey_format(NULL, "test.example/log", TLG_SIG_ED25519, k, &vkey), 0);
	struct tlg_verifier *v = NULL;
	assert_int_equal(tlg_vkey_parse(NULL, "vkey", vkey, &v), 0);
	const char *text = "test.example/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
	assert_int_equal(tlg_note_sign(NULL, text, strlen(text), "test.example/log", k, &note), 0);
	struct tlg_checkpoint c = { 0 };
	assert_int_equal(tlg_checkpoint_open(NULL, "cp", note, strlen(note), v, NULL, &c), 0);
	assert_int_equal(c.size, 5);
	tlg_checkpoint_clear(&c);
	/* Change the size: the log's signature no longer verifies. */
	note[17] = '6';
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(tlg_checkpoint_open(ctx, "cp", note, strlen(note), v, NULL, &c),
			 CVMF_E_CRYPTO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "does not verify"));
	/* A note not signed by this key at all. */
	const char *other = "test.example/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"
			    "\xe2\x80\x94 other.example AAAAAAA=\n";
	assert_int_equal(tlg_checkpoint_open(ctx, "cp", other, strlen(other), v, NULL, &c),
			 CVMF_E_CRYPTO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "not signed by the log key"));
	cvmf_ctx_free(ctx);
	tlg_verifier_free(v);
	free(vkey);
	free(note);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_notes),
		cmocka_unit_test(test_sign_golden),
		cmocka_unit_test(test_cosign_sigsum),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_checkpoints),
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
