/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sigstore Rekor v2 (log/rekor.c): the recorded rekor-tiles CreateEntry
 * answer of ../shared/fixtures/tlog-upstream/rekor-v2 verifies with its log
 * key, and each tampering is refused; a submission against a local HTTP
 * server that checks the request's shape against the Rekor v2 API (path,
 * content type, hashedRekordRequestV002 fields, the digest, the ECDSA P-384
 * signature over the statement with the sent key) and answers a
 * TransparencyLogEntry signed with its own key; an answer for another digest
 * is refused.
 */
#include <jansson.h>
#include <openssl/x509.h>
#include <pthread.h>

#include "common/encode.h"
#include "common/key.h"
#include "log/rekor.h"
#include "log/tlog.h"
#include "tests/unit/servetest.h"

/* vectors.json: the rekor-local checkpoint's key */
#define REKOR_LOCAL_VKEY "rekor-local+d80b4420+AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E"

static char *fixture(size_t *len)
{
	char *p = t_shared_file("fixtures/tlog-upstream/rekor-v2/rekor-local-create-entry-response.json");
	if (!p)
		return NULL;
	char *b = t_slurp(p, len);
	free(p);
	return b;
}

static void test_fixture(void **state)
{
	(void)state;
	size_t len = 0;
	char *tle = fixture(&len);
	if (!tle)
		skip();
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct tlg_rekor_entry e;
	assert_int_equal(tlg_rekor_verify(ctx, "fixture", tle, len, REKOR_LOCAL_VKEY, NULL, 0, &e), 0);
	assert_int_equal(e.index, 0);
	assert_int_equal(e.size, 1);
	assert_memory_equal(e.leaf, e.root, 32);      /* size 1: the root is the leaf */
	/* the body is the fixture's canonicalized body, byte for byte */
	char *bp = t_shared_file("fixtures/tlog-upstream/rekor-v2/rekor-local-entry0.canonicalized-body.json");
	size_t bl;
	char *body = t_slurp(bp, &bl);
	while (bl && body[bl - 1] == '\n')
		bl--;
	assert_int_equal(e.body_len, bl);
	assert_memory_equal(e.body, body, bl);
	/* and it logs this digest (base64 in the body) */
	uint8_t *d = NULL;
	size_t dl = 0;
	assert_int_equal(cmn_base64_decode(ctx, "d", "dyj4ednYHjN4/zsjjBeeLahS9slp97Z67LTAVxjrjXw=",
					   44, &d, &dl), 0);
	struct tlg_rekor_entry e2;
	assert_int_equal(tlg_rekor_verify(ctx, "fixture", tle, len, REKOR_LOCAL_VKEY, d, dl, &e2), 0);
	tlg_rekor_entry_clear(&e2);
	d[0] ^= 1;
	assert_int_equal(tlg_rekor_verify(ctx, "fixture", tle, len, REKOR_LOCAL_VKEY, d, dl, &e2),
			 CVMF_E_CRYPTO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "another digest"));
	free(d);
	tlg_rekor_entry_clear(&e);
	/* Tampered: another key, another index, another body, a proof hash too many. */
	assert_int_equal(tlg_rekor_verify(ctx, "fixture", tle, len,
					  "rekor-local+00000000+AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E",
					  NULL, 0, &e), CVMF_E_FORMAT);
	struct { const char *from, *to; int want; const char *msg; } cases[] = {
		{ "\"logIndex\": \"0\"", "\"logIndex\": \"1\"", CVMF_E_CRYPTO, "not below the tree size" },
		{ "\"logIndex\": \"0\"", "\"logIndex\": 0", CVMF_E_FORMAT, "logIndex" },
		{ "eyJhcGlWZXJzaW9uIjoiMC4wLjIi", "eyJhcGlWZXJzaW9uIjoiMC4wLjMi", CVMF_E_CRYPTO,
		  "not in the log's tree" },
		{ "\"hashes\": []", "\"hashes\": [\"m5JVGx4ESzbU2kFUPgYQ9adCA7e7mjnwQRluEmGJbHU=\"]",
		  CVMF_E_CRYPTO, "not in the log's tree" },
		{ "m5JVGx4ESzbU2kFUPgYQ9adCA7e7mjnwQRluEmGJbHU=\\n\\n", "m5JVGx4ESzbU2kFUPgYQ9adCA7e7mjnwQRluEmGJbHQ=\\n\\n",
		  CVMF_E_CRYPTO, NULL },
		{ "\"version\": \"0.0.2\"", "\"version\": \"0.0.1\"", CVMF_E_UNSUPPORTED, "hashedrekord 0.0.2" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = strdup(tle), *at = strstr(t, cases[i].from);
		assert_non_null(at);
		char *m = NULL;
		assert_true(asprintf(&m, "%.*s%s%s", (int)(at - t), t, cases[i].to,
				     at + strlen(cases[i].from)) > 0);
		int r = tlg_rekor_verify(ctx, "tampered", m, strlen(m), REKOR_LOCAL_VKEY, NULL, 0, &e);
		if (r != cases[i].want || (cases[i].msg && !strstr(cvmf_ctx_errmsg(ctx), cases[i].msg)))
			fail_msg("case %zu: %d %s", i, r, cvmf_ctx_errmsg(ctx));
		free(m);
		free(t);
	}
	free(body);
	free(bp);
	free(tle);
	cvmf_ctx_free(ctx);
}

/* ---- a local Rekor v2 ---- */

struct fake {
	int lfd;
	const char *stmt;
	struct cmn_key *logkey;
	const char *origin;
	const char *answer;             /* a canned answer instead of a real one */
	char problem[256];              /* what did not match the API */
	bool served;
};

static void *fake_rekor(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	char *req = calloc(1, 1 << 20);
	size_t n = 0;
	char *hend = NULL;
	while (!hend || n < (size_t)(hend - req) + 4 + strtoull(strcasestr(req, "Content-Length:") ?
						  strcasestr(req, "Content-Length:") + 15 : "0", NULL, 10)) {
		ssize_t got = recv(fd, req + n, (1 << 20) - 1 - n, 0);
		if (got <= 0)
			break;
		n += (size_t)got;
		hend = strstr(req, "\r\n\r\n");
	}
	char *prob = f->problem;
	json_t *j = NULL;
	const char *body = hend ? hend + 4 : "";
	if (strncmp(req, "POST /api/v2/log/entries HTTP/1.1\r\n", 35))
		snprintf(prob, 256, "request line: %.60s", req);
	else if (!strcasestr(req, "\r\nContent-Type: application/json\r\n"))
		snprintf(prob, 256, "no Content-Type: application/json");
	else if (!(j = json_loads(body, JSON_REJECT_DUPLICATES, NULL)))
		snprintf(prob, 256, "body is not JSON");
	const char *d64 = NULL, *s64 = NULL, *k64 = NULL, *kd = NULL;
	if (!*prob && (json_unpack(j, "{s:{s:s,s:{s:s,s:{s:{s:s},s:s}}}}", "hashedRekordRequestV002",
				   "digest", &d64, "signature", "content", &s64, "verifier",
				   "publicKey", "rawBytes", &k64, "keyDetails", &kd) ||
		       json_object_size(j) != 1))
		snprintf(prob, 256, "not a hashedRekordRequestV002: %s", body);
	uint8_t want[48];
	EVP_Digest(f->stmt, strlen(f->stmt), want, NULL, EVP_sha384(), NULL);
	char *w64 = cmn_base64_encode(want, 48);
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t *sig = NULL, *spki = NULL;
	size_t sl = 0, kl = 0;
	if (!*prob && strcmp(d64, w64))
		snprintf(prob, 256, "digest %s is not SHA-384 of the statement", d64);
	else if (!*prob && strcmp(kd, "PKIX_ECDSA_P384_SHA_384"))
		snprintf(prob, 256, "keyDetails %s", kd);
	else if (!*prob && (cmn_base64_decode(ctx, "sig", s64, strlen(s64), &sig, &sl) ||
			    cmn_base64_decode(ctx, "key", k64, strlen(k64), &spki, &kl)))
		snprintf(prob, 256, "bad base64: %s", cvmf_ctx_errmsg(ctx));
	if (!*prob) {
		const unsigned char *p = spki;
		EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)kl);
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC || EVP_PKEY_get_bits(pk) != 384 ||
		    EVP_DigestVerifyInit(m, NULL, EVP_sha384(), NULL, pk) != 1 ||
		    EVP_DigestVerify(m, sig, sl, (const unsigned char *)f->stmt, strlen(f->stmt)) != 1)
			snprintf(prob, 256, "the signature does not verify with the sent P-384 key");
		EVP_MD_CTX_free(m);
		EVP_PKEY_free(pk);
	}
	char *resp = NULL;
	if (f->answer) {
		resp = strdup(f->answer);
	} else if (!*prob) {
		/* The logged body, a one-leaf tree, its checkpoint signed by our key. */
		json_t *b = json_pack("{s:s,s:s,s:{s:{s:{s:s,s:s},s:{s:s,s:{s:s,s:{s:s}}}}}}",
				      "apiVersion", "0.0.2", "kind", "hashedrekord", "spec",
				      "hashedRekordV002", "data", "algorithm", "SHA2_384", "digest", d64,
				      "signature", "content", s64, "verifier", "keyDetails", kd,
				      "publicKey", "rawBytes", k64);
		char *canon = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS), *text = NULL, *note = NULL;
		uint8_t leaf[32];
		tlg_leaf_hash(canon, strlen(canon), leaf);
		assert_int_equal(tlg_checkpoint_text(ctx, f->origin, 1, leaf, &text), 0);
		assert_int_equal(tlg_note_sign(ctx, text, strlen(text), f->origin,
					       cmn_key_pkey(f->logkey), &note), 0);
		char *c64 = cmn_base64_encode((uint8_t *)canon, strlen(canon));
		json_t *tle = json_pack("{s:s,s:{s:s},s:{s:s,s:s},s:s,s:{s:s,s:s,s:[],s:{s:s}},s:s}",
					"logIndex", "0", "logId", "keyId", "AAAA", "kindVersion",
					"kind", "hashedrekord", "version", "0.0.2", "integratedTime",
					"0", "inclusionProof", "logIndex", "0", "treeSize", "1",
					"hashes", "checkpoint", "envelope", note, "canonicalizedBody", c64);
		resp = json_dumps(tle, JSON_INDENT(2));
		json_decref(tle);
		json_decref(b);
		free(canon);
		free(text);
		free(note);
		free(c64);
	}
	char head[256];
	int code = resp ? 201 : 400;
	if (!resp)
		resp = strdup("{\"code\":3,\"message\":\"invalid request\"}");
	int hl = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n", code, strlen(resp));
	send(fd, head, (size_t)hl, MSG_NOSIGNAL);
	send(fd, resp, strlen(resp), MSG_NOSIGNAL);
	close(fd);
	f->served = true;
	free(resp);
	free(sig);
	free(spki);
	free(w64);
	json_decref(j);
	cvmf_ctx_free(ctx);
	free(req);
	return NULL;
}

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_submit(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cmn_key *signer = NULL, *logkey = NULL, *ed = NULL;
	assert_int_equal(cmn_key_generate(ctx, CMN_KEY_ECDSA_P384, &signer), 0);
	assert_int_equal(cmn_key_generate(ctx, CMN_KEY_ED25519, &logkey), 0);
	char *vkey = NULL;
	assert_int_equal(tlg_vkey_format(ctx, "rekor.test/shard", TLG_SIG_ED25519,
					 cmn_key_pkey(logkey), &vkey), 0);
	const char *stmt = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[]}";
	int port;
	struct fake f = { .lfd = listen_any(&port), .stmt = stmt, .logkey = logkey,
			  .origin = "rekor.test/shard" };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, fake_rekor, &f), 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	struct tlg_rekor_entry e;
	int r = tlg_rekor_submit(ctx, url, signer, stmt, strlen(stmt), vkey, &e);
	pthread_join(t, NULL);
	if (f.problem[0])
		fail_msg("the request does not fit the Rekor v2 API: %s", f.problem);
	if (r)
		fail_msg("submit: %s", cvmf_ctx_errmsg(ctx));
	assert_int_equal(e.index, 0);
	assert_int_equal(e.size, 1);
	assert_non_null(strstr((char *)e.body, "\"keyDetails\":\"PKIX_ECDSA_P384_SHA_384\""));
	/* The Sigstore bundle v0.3 of it verifies offline, through the CLI too. */
	uint8_t dg[48];
	EVP_Digest(stmt, strlen(stmt), dg, NULL, EVP_sha384(), NULL);
	char *bundle = NULL;
	size_t bl = 0;
	assert_int_equal(tlg_rekor_bundle(ctx, &e, dg, &bundle, &bl), 0);
	assert_non_null(strstr(bundle, "\"mediaType\": \"application/vnd.dev.sigstore.bundle.v0.3+json\""));
	struct tlg_rekor_entry e3;
	assert_int_equal(tlg_rekor_bundle_verify(ctx, "bundle", bundle, bl, vkey, stmt, strlen(stmt), &e3), 0);
	tlg_rekor_entry_clear(&e3);
	assert_int_equal(tlg_rekor_bundle_verify(ctx, "bundle", bundle, bl, vkey, "other", 5, &e3),
			 CVMF_E_CRYPTO);
	char *d = t_tmpdir();
	char *bp = t_write(d, "b.sigstore.json", bundle, bl), *sp = t_write(d, "stmt", stmt, strlen(stmt));
	char *op = t_write(d, "other", "x", 1);
	struct run rr = t_sh("'%s' log verify '%s' --rekor-key '%s' --entry '%s'", t_bin(), bp, vkey, sp);
	t_assert_clean_exit(&rr, 0);
	assert_non_null(strstr(rr.out, "entry 0 of the Rekor log (tree size 1) logs its digest, and the "
				       "logged key signed the statement"));
	t_run_free(&rr);
	rr = t_sh("'%s' log verify '%s' --rekor-key '%s' --entry '%s'", t_bin(), bp, vkey, op);
	t_assert_clean_exit(&rr, 3);
	t_run_free(&rr);
	rr = t_sh("'%s' log verify '%s' --rekor-key '%s'", t_bin(), bp, REKOR_LOCAL_VKEY);
	t_assert_clean_exit(&rr, 3);    /* another log's key */
	assert_non_null(strstr(rr.err, "not signed by the log key 'rekor-local'"));
	t_run_free(&rr);
	t_rmrf(d);
	free(d);
	free(bp);
	free(sp);
	free(op);
	free(bundle);
	tlg_rekor_entry_clear(&e);
	/* An answer for another entry (the fixture, validly signed by its log):
	 * refused, because it does not log our digest. */
	size_t len = 0;
	char *other = fixture(&len);
	if (other) {
		f = (struct fake){ .lfd = f.lfd, .stmt = stmt, .logkey = logkey,
				   .origin = "rekor.test/shard", .answer = other };
		assert_int_equal(pthread_create(&t, NULL, fake_rekor, &f), 0);
		r = tlg_rekor_submit(ctx, url, signer, stmt, strlen(stmt), REKOR_LOCAL_VKEY, &e);
		pthread_join(t, NULL);
		assert_int_equal(r, CVMF_E_CRYPTO);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "another digest"));
		free(other);
	}
	/* Our checkpoint, checked with another log's key: refused. */
	f = (struct fake){ .lfd = f.lfd, .stmt = stmt, .logkey = logkey, .origin = "rekor.test/shard" };
	assert_int_equal(pthread_create(&t, NULL, fake_rekor, &f), 0);
	r = tlg_rekor_submit(ctx, url, signer, stmt, strlen(stmt), REKOR_LOCAL_VKEY, &e);
	pthread_join(t, NULL);
	assert_int_not_equal(r, 0);
	/* An Ed25519 signer: refused before anything is sent (no Ed25519ph in OpenSSL 3.0). */
	assert_int_equal(cmn_key_generate(ctx, CMN_KEY_ED25519, &ed), 0);
	assert_int_equal(tlg_rekor_submit(ctx, url, ed, stmt, strlen(stmt), vkey, &e),
			 CVMF_E_UNSUPPORTED);
	close(f.lfd);
	free(vkey);
	cmn_key_free(signer);
	cmn_key_free(logkey);
	cmn_key_free(ed);
	cvmf_ctx_free(ctx);
}

/* `publish IMAGE --rekor` on a built, signed image: the envelope's digest is
 * logged (the local Rekor checks the request), the answer is checked, and the
 * Sigstore bundle written beside the image verifies offline. */
static void test_publish_image(void **state)
{
	(void)state;
	char *d = t_tmpdir(), *img = t_small_image(d, "[snp]\nkernel-hashes = no\nvcpus = 1\n");
	if (!img) {
		t_rmrf(d);
		free(d);
		skip();         /* the reason is printed by t_small_image */
	}
	const char *b = t_bin();
	struct run r = t_sh("cd '%s' && '%s' key generate --type ecdsa-p384 -o rel.key >/dev/null && "
			    "'%s' sign out/t-1 --key rel.key >/dev/null", d, b, b);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cmn_key *logkey = NULL;
	char *vkey = NULL, *envp = NULL;
	assert_int_equal(cmn_key_generate(ctx, CMN_KEY_ED25519, &logkey), 0);
	assert_int_equal(tlg_vkey_format(ctx, "rekor.test/shard", TLG_SIG_ED25519,
					 cmn_key_pkey(logkey), &vkey), 0);
	assert_true(asprintf(&envp, "%s/out/t-1/measurements.dsse.json", d) > 0);
	char *env = t_slurp(envp, NULL);
	int port;
	struct fake f = { .lfd = listen_any(&port), .stmt = env, .logkey = logkey,
			  .origin = "rekor.test/shard" };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, fake_rekor, &f), 0);
	r = t_sh("cd '%s' && '%s' publish out/t-1 --rekor http://127.0.0.1:%d --key rel.key "
		 "--rekor-key '%s'", d, b, port, vkey);
	pthread_join(t, NULL);
	if (f.problem[0])
		fail_msg("the request does not fit the Rekor v2 API: %s", f.problem);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "out/t-1: entry 0 of the Rekor log at http://127.0.0.1:"));
	assert_non_null(strstr(r.out, "bundle out/t-1.sigstore.json"));
	t_run_free(&r);
	r = t_sh("cd '%s' && '%s' log verify out/t-1.sigstore.json --rekor-key '%s' --entry "
		 "out/t-1/measurements.dsse.json", d, b, vkey);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "logs its digest, and the logged key signed the statement"));
	t_run_free(&r);
	close(f.lfd);
	cmn_key_free(logkey);
	cvmf_ctx_free(ctx);
	t_rmrf(d);
	free(d);
	free(env);
	free(envp);
	free(vkey);
	free(img);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_submit),
		cmocka_unit_test(test_publish_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
