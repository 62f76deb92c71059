/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sigstore Rekor v2 (rekor-tiles), tlog.md §8: the hashedrekord v0.0.2
 * request for a statement (its SHA-384 digest, an ECDSA P-384 / SHA-384
 * signature over the statement, the DER SPKI key), POST
 * BASE/api/v2/log/entries, and the offline verification of the returned
 * TransparencyLogEntry: the checkpoint note signed by the log key (whose name
 * is the origin), the canonicalized body's leaf included in the checkpoint's
 * tree at the top-level logIndex (inclusionProof.rootHash and treeSize are
 * ignored: the verified checkpoint gives both), and the body naming the
 * digest that was signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "common/encode.h"
#include "common/http.h"
#include "common/json.h"
#include "common/key.h"
#include "log/rekor.h"
#include "log/tlog.h"

#define MAX_TLE (1u << 20)

void tlg_rekor_entry_clear(struct tlg_rekor_entry *e)
{
	if (!e)
		return;
	free(e->body);
	free(e->tle);
	memset(e, 0, sizeof(*e));
}

/* protobuf JSON int64: a decimal string. */
static int get_i64(cvmf_ctx *ctx, const char *what, const json_t *root, const char *path,
		   uint64_t *ret)
{
	const char *s = NULL;
	int r = cmn_json_get_str(ctx, what, root, path, &s);
	if (r)
		return r;
	char *end = NULL;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s: '%.30s' is not a decimal int64", what,
				  path, s);
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v > INT64_MAX)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s: '%.30s' is not a decimal int64", what,
				  path, s);
	*ret = v;
	return 0;
}

static int get_b64(cvmf_ctx *ctx, const char *what, const json_t *root, const char *path,
		   uint8_t **ret, size_t *ret_len)
{
	const char *s = NULL;
	char w[160];
	int r = cmn_json_get_str(ctx, what, root, path, &s);
	if (r)
		return r;
	snprintf(w, sizeof(w), "%s: %s", what, path);
	return cmn_base64_decode(ctx, w, s, strlen(s), ret, ret_len);
}

int tlg_rekor_verify(cvmf_ctx *ctx, const char *what, const void *tle, size_t len,
		     const char *vkey, const uint8_t *digest, size_t digest_len,
		     struct tlg_rekor_entry *ret)
{
	json_t *j = NULL, *hashes = NULL, *body = NULL;
	struct tlg_verifier *v = NULL;
	struct tlg_checkpoint cp = { 0 };
	struct tlg_rekor_entry e = { 0 };
	uint8_t proof[TLG_MAX_PROOF][TLG_HASH];
	const char *kind = NULL, *version = NULL, *note = NULL;
	size_t n = 0;
	int r = cmn_json_parse(ctx, what, tle, len, &j);
	if (r)
		goto out;
	if ((r = tlg_vkey_parse(ctx, "Rekor log key", vkey, &v)) ||
	    (r = cmn_json_get_str(ctx, what, j, "kindVersion.kind", &kind)) ||
	    (r = cmn_json_get_str(ctx, what, j, "kindVersion.version", &version)))
		goto out;
	if (strcmp(kind, "hashedrekord") || strcmp(version, "0.0.2")) {
		r = cmn_error(ctx, CVMF_E_UNSUPPORTED, "%s: kind %s %s, only hashedrekord 0.0.2",
			       what, kind, version);
		goto out;
	}
	if ((r = get_i64(ctx, what, j, "logIndex", &e.index)) ||
	    (r = get_b64(ctx, what, j, "canonicalizedBody", &e.body, &e.body_len)) ||
	    (r = cmn_json_get_str(ctx, what, j, "inclusionProof.checkpoint.envelope", &note)) ||
	    (r = cmn_json_get(ctx, what, j, "inclusionProof.hashes", JSON_ARRAY, &hashes)))
		goto out;
	if (json_array_size(hashes) > TLG_MAX_PROOF) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: inclusionProof.hashes: %zu hashes", what,
			       json_array_size(hashes));
		goto out;
	}
	for (n = 0; n < json_array_size(hashes); n++) {
		char p[64];
		uint8_t *h = NULL;
		size_t hl = 0;
		snprintf(p, sizeof(p), "inclusionProof.hashes[%zu]", n);
		if ((r = get_b64(ctx, what, j, p, &h, &hl)))
			goto out;
		if (hl != TLG_HASH) {
			free(h);
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s: %zu bytes, not 32", what, p, hl);
			goto out;
		}
		memcpy(proof[n], h, TLG_HASH);
		free(h);
	}
	/* The checkpoint: signed by the log key, named for the origin. */
	if ((r = tlg_checkpoint_open(ctx, what, note, strlen(note), v, NULL, &cp)))
		goto out;
	if (strcmp(cp.origin, v->name)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "%s: the checkpoint's origin '%s' is not the log key's name '%s'", what,
			       cp.origin, v->name);
		goto out;
	}
	e.size = cp.size;
	memcpy(e.root, cp.root, TLG_HASH);
	if (e.index >= e.size) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "%s: logIndex %llu is not below the tree size %llu",
			       what, (unsigned long long)e.index, (unsigned long long)e.size);
		goto out;
	}
	if (tlg_leaf_hash(e.body, e.body_len, e.leaf)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 failed");
		goto out;
	}
	if ((r = tlg_verify_inclusion(ctx, e.index, e.size, e.leaf, (const uint8_t(*)[TLG_HASH])proof,
				      n, e.root))) {
		char m[300];
		snprintf(m, sizeof(m), "%s", cvmf_ctx_errmsg(ctx));
		r = cmn_error(ctx, r, "%s: the entry is not in the log's tree: %s", what, m);
		goto out;
	}
	/* The logged body names the digest that was signed. */
	if (digest) {
		if ((r = cmn_json_parse(ctx, "Rekor canonicalized body", e.body, e.body_len, &body)))
			goto out;
		json_t *spec = json_object_get(body, "spec");
		json_t *hr = json_object_get(spec, "hashedRekordV002");
		if (!hr)    /* the name before rekor-tiles renamed it (the fixture's) */
			hr = json_object_get(spec, "hashedRekordV0_0_2");
		const char *d64 = json_string_value(json_object_get(json_object_get(hr, "data"),
								    "digest"));
		uint8_t *d = NULL;
		size_t dl = 0;
		if (!d64) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: the body has no spec.hashedRekordV002.data.digest",
				       what);
			goto out;
		}
		if ((r = cmn_base64_decode(ctx, "the body's digest", d64, strlen(d64), &d, &dl)))
			goto out;
		bool same = dl == digest_len && !memcmp(d, digest, dl);
		free(d);
		if (!same) {
			r = cmn_error(ctx, CVMF_E_CRYPTO,
				       "%s: the logged entry is for another digest than the one signed",
				       what);
			goto out;
		}
	}
	if (!(e.tle = malloc(len + 1))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(e.tle, tle, len);
	e.tle[len] = '\0';
	e.tle_len = len;
	*ret = e;
	memset(&e, 0, sizeof(e));
out:
	json_decref(j);
	json_decref(body);
	tlg_verifier_free(v);
	tlg_checkpoint_clear(&cp);
	tlg_rekor_entry_clear(&e);
	return r;
}

int tlg_rekor_request(cvmf_ctx *ctx, const struct cmn_key *k, const void *stmt, size_t len,
		      uint8_t digest[48], char **ret_json)
{
	uint8_t *sig = NULL, *spki = NULL;
	size_t sig_len = 0, spki_len = 0;
	char *s64 = NULL, *k64 = NULL, *d64 = NULL;
	json_t *j = NULL;
	int r = 0;
	if (cmn_key_type(k) != CMN_KEY_ECDSA_P384)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "Rekor v2: the key must be ECDSA P-384 (PKIX_ECDSA_P384_SHA_384); "
				  "Ed25519 needs Ed25519ph, which OpenSSL 3.0 lacks");
	if (!EVP_Digest(stmt, len, digest, NULL, EVP_sha384(), NULL))
		return cmn_error(ctx, CVMF_E_CRYPTO, "SHA-384 failed");
	/* ECDSA with SHA-384 over the statement: verifies against its digest. */
	if ((r = cmn_key_sign(ctx, k, stmt, len, &sig, &sig_len)) ||
	    (r = cmn_key_public_der(ctx, k, &spki, &spki_len)))
		goto out;
	if (!(s64 = cmn_base64_encode(sig, sig_len)) || !(k64 = cmn_base64_encode(spki, spki_len)) ||
	    !(d64 = cmn_base64_encode(digest, 48)) ||
	    !(j = json_pack("{s:{s:s,s:{s:s,s:{s:{s:s},s:s}}}}", "hashedRekordRequestV002",
			    "digest", d64, "signature", "content", s64, "verifier", "publicKey",
			    "rawBytes", k64, "keyDetails", "PKIX_ECDSA_P384_SHA_384")) ||
	    !(*ret_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
out:
	json_decref(j);
	free(sig);
	free(spki);
	free(s64);
	free(k64);
	free(d64);
	return r;
}

int tlg_rekor_submit(cvmf_ctx *ctx, const char *base_url, const struct cmn_key *k,
		     const void *stmt, size_t len, const char *vkey, struct tlg_rekor_entry *ret)
{
	char *body = NULL, *url = NULL;
	uint8_t digest[48], *resp = NULL;
	size_t resp_len = 0;
	long status = 0;
	size_t ul = strlen(base_url);
	while (ul && base_url[ul - 1] == '/')
		ul--;
	int r = tlg_rekor_request(ctx, k, stmt, len, digest, &body);
	if (r)
		goto out;
	if (asprintf(&url, "%.*s/api/v2/log/entries", (int)ul, base_url) < 0) {
		url = NULL;
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	const char *headers[] = { "Content-Type: application/json", "Accept: application/json",
				  NULL };
	/* Rekor v2 answers once a checkpoint covers the entry: >= 20 s. */
	struct cmn_http_req req = { .url = url, .method = "POST", .what = "Rekor submission",
				    .headers = headers, .body = body, .body_len = strlen(body),
				    .max_response = MAX_TLE, .timeout_s = 60 };
	if ((r = cmn_http(ctx, &req, &status, &resp, &resp_len)))
		goto out;
	if (status != 200 && status != 201) {
		size_t ml = strcspn(resp ? (char *)resp : "", "\n");
		r = cmn_error(ctx, CVMF_E_IO, "Rekor '%s' refused the entry: HTTP %ld%s%.*s", url,
			       status, ml ? ": " : "", (int)(ml > 300 ? 300 : ml),
			       resp ? (char *)resp : "");
		goto out;
	}
	r = tlg_rekor_verify(ctx, "Rekor's answer", resp, resp_len, vkey, digest, sizeof(digest),
			     ret);
out:
	free(body);
	free(url);
	free(resp);
	return r;
}

/* ---- Sigstore bundle v0.3 (tlog.md §8.5) ---- */

#define BUNDLE_V03 "application/vnd.dev.sigstore.bundle.v0.3+json"

/* The logged body's signature and key (base64 strings, borrowed from body). */
static int body_sig_key(cvmf_ctx *ctx, json_t *body, const char **ret_sig, const char **ret_key)
{
	json_t *spec = json_object_get(body, "spec");
	json_t *hr = json_object_get(spec, "hashedRekordV002");
	if (!hr)
		hr = json_object_get(spec, "hashedRekordV0_0_2");
	json_t *sig = json_object_get(hr, "signature");
	*ret_sig = json_string_value(json_object_get(sig, "content"));
	*ret_key = json_string_value(json_object_get(
		json_object_get(json_object_get(sig, "verifier"), "publicKey"), "rawBytes"));
	if (!*ret_sig || !*ret_key)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "Rekor body: no signature.content or verifier.publicKey.rawBytes");
	return 0;
}

int tlg_rekor_bundle(cvmf_ctx *ctx, const struct tlg_rekor_entry *e, const uint8_t digest[48],
		     char **ret, size_t *ret_len)
{
	json_t *tle = NULL, *body = NULL, *b = NULL;
	const char *s64 = NULL, *k64 = NULL;
	uint8_t *spki = NULL, fp[32];
	size_t spki_len = 0;
	char *d64 = NULL, *h64 = NULL;
	int r = cmn_json_parse(ctx, "Rekor entry", e->tle, e->tle_len, &tle);
	if (!r)
		r = cmn_json_parse(ctx, "Rekor body", e->body, e->body_len, &body);
	if (!r)
		r = body_sig_key(ctx, body, &s64, &k64);
	if (!r)
		r = cmn_base64_decode(ctx, "Rekor body: publicKey.rawBytes", k64, strlen(k64), &spki,
				      &spki_len);
	if (r)
		goto out;
	EVP_Digest(spki, spki_len, fp, NULL, EVP_sha256(), NULL);
	if (!(d64 = cmn_base64_encode(digest, 48)) || !(h64 = cmn_base64_encode(fp, 32)) ||
	    !(b = json_pack("{s:s,s:{s:{s:s},s:[O]},s:{s:{s:s,s:s},s:s}}", "mediaType", BUNDLE_V03,
			    "verificationMaterial", "publicKey", "hint", h64, "tlogEntries", tle,
			    "messageSignature", "messageDigest", "algorithm", "SHA2_384", "digest",
			    d64, "signature", s64)) ||
	    (r = cmn_json_pretty(ctx, b, ret, ret_len)) != 0) {
		if (!r)
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
out:
	json_decref(tle);
	json_decref(body);
	json_decref(b);
	free(spki);
	free(d64);
	free(h64);
	return r;
}

int tlg_rekor_bundle_verify(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
			    const char *vkey, const void *stmt, size_t stmt_len,
			    struct tlg_rekor_entry *ret)
{
	json_t *j = NULL, *tle = NULL, *body = NULL;
	const char *mt = NULL, *alg = NULL, *sig64 = NULL, *bs64 = NULL, *k64 = NULL;
	uint8_t *digest = NULL, *sig = NULL, *spki = NULL;
	size_t dl = 0, sl = 0, kl = 0;
	char *tle_text = NULL;
	struct tlg_rekor_entry e = { 0 };
	struct cmn_key *k = NULL;
	EVP_PKEY *pk = NULL;
	int r = cmn_json_parse(ctx, what, buf, len, &j);
	if (!r)
		r = cmn_json_get_str(ctx, what, j, "mediaType", &mt);
	if (!r && strcmp(mt, BUNDLE_V03))
		r = cmn_error(ctx, CVMF_E_UNSUPPORTED, "%s: mediaType '%s', not %s", what, mt,
			       BUNDLE_V03);
	if (!r)
		r = cmn_json_get_str(ctx, what, j, "messageSignature.messageDigest.algorithm", &alg);
	if (!r && strcmp(alg, "SHA2_384"))
		r = cmn_error(ctx, CVMF_E_UNSUPPORTED, "%s: digest algorithm %s, not SHA2_384", what,
			       alg);
	if (!r)
		r = get_b64(ctx, what, j, "messageSignature.messageDigest.digest", &digest, &dl);
	if (!r)
		r = cmn_json_get_str(ctx, what, j, "messageSignature.signature", &sig64);
	if (!r)
		r = cmn_json_get(ctx, what, j, "verificationMaterial.tlogEntries[0]", JSON_OBJECT, &tle);
	if (r)
		goto out;
	if (!(tle_text = json_dumps(tle, JSON_COMPACT))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	/* The log includes an entry for this digest... */
	if ((r = tlg_rekor_verify(ctx, what, tle_text, strlen(tle_text), vkey, digest, dl, &e)) ||
	    (r = cmn_json_parse(ctx, "Rekor body", e.body, e.body_len, &body)) ||
	    (r = body_sig_key(ctx, body, &bs64, &k64)))
		goto out;
	/* ...with the bundle's signature... */
	if (strcmp(bs64, sig64)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "%s: the logged signature is not the bundle's", what);
		goto out;
	}
	/* ...which signs this statement. */
	if (stmt) {
		uint8_t d[48];
		const unsigned char *p;
		EVP_Digest(stmt, stmt_len, d, NULL, EVP_sha384(), NULL);
		if (dl != 48 || memcmp(d, digest, 48)) {
			r = cmn_error(ctx, CVMF_E_CRYPTO,
				       "%s: the bundle's digest is not SHA-384 of the statement", what);
			goto out;
		}
		if ((r = cmn_base64_decode(ctx, "the logged key", k64, strlen(k64), &spki, &kl)) ||
		    (r = cmn_base64_decode(ctx, "the bundle's signature", sig64, strlen(sig64), &sig,
					   &sl)))
			goto out;
		p = spki;
		if (!(pk = d2i_PUBKEY(NULL, &p, (long)kl))) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: the logged key is not a DER SPKI", what);
			goto out;
		}
		if ((r = cmn_key_from_pkey(ctx, "the logged key", pk, &k)) ||
		    (r = cmn_key_verify(ctx, k, stmt, stmt_len, sig, sl)))
			goto out;
	}
	*ret = e;
	memset(&e, 0, sizeof(e));
out:
	json_decref(j);
	json_decref(body);
	free(tle_text);
	free(digest);
	free(sig);
	free(spki);
	EVP_PKEY_free(pk);
	cmn_key_free(k);
	tlg_rekor_entry_clear(&e);
	return r;
}
