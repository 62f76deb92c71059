/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DSSE envelopes (github.com/secure-systems-lab/dsse, envelope.md and
 * protocol.md, v1): the signature is over the pre-authentication encoding
 *     PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * with LEN in ASCII decimal without leading zeros. The envelope is written
 * as canonical JSON (common/json.h), so an Ed25519 envelope of a given
 * payload is the same bytes every time.
 *
 * Reading is strict: exactly the members "payload", "payloadType" and
 * "signatures"; each signature exactly "keyid" and "sig"; strict base64; at
 * most CVMF_DSSE_MAX_SIGNATURES signatures, none twice.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/encode.h"
#include "common/internal.h"
#include "common/json.h"
#include "sign/sgn.h"

#define PAE_PREFIX "DSSEv1"
#define KEYID_MAX 256u

int sgn_pae(cvmf_ctx *ctx, const char *type, const void *body, size_t len, uint8_t **ret,
	    size_t *ret_len)
{
	char head[64];
	size_t tlen = strlen(type);
	int n = snprintf(head, sizeof(head), PAE_PREFIX " %zu ", tlen);
	char mid[32];
	int m = snprintf(mid, sizeof(mid), " %zu ", len);
	if (n < 0 || m < 0)
		return cmn_error(ctx, CVMF_E_INVAL, "cannot format the DSSE PAE");
	size_t total = (size_t)n + tlen + (size_t)m + len;
	uint8_t *p = malloc(total ? total : 1);
	if (!p)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory for the DSSE PAE (%zu bytes)",
				  total);
	memcpy(p, head, (size_t)n);
	memcpy(p + n, type, tlen);
	memcpy(p + n + tlen, mid, (size_t)m);
	if (len)
		memcpy(p + n + tlen + m, body, len);
	*ret = p;
	*ret_len = total;
	return 0;
}

int cvmf_dsse_sign(cvmf_ctx *ctx, const cvmf_key *key, const char *payload_type,
		   const void *payload, size_t len, char **ret, size_t *ret_len)
{
	uint8_t *pae = NULL, *sig = NULL, fp[32];
	size_t pae_len = 0, sig_len = 0;
	char *b64_payload = NULL, *b64_sig = NULL, keyid[65];
	json_t *env = NULL, *s = NULL;
	int r;

	if (len > CVMF_DSSE_MAX_ENVELOPE / 2)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "DSSE payload of %zu bytes: more than the %u accepted", len,
				  CVMF_DSSE_MAX_ENVELOPE / 2);
	if ((r = cmn_key_fingerprint(ctx, key->k, fp)) < 0)
		goto out;
	cvmf_hex(fp, sizeof(fp), keyid);
	if ((r = sgn_pae(ctx, payload_type, payload, len, &pae, &pae_len)) < 0)
		goto out;
	if ((r = cmn_key_sign(ctx, key->k, pae, pae_len, &sig, &sig_len)) < 0)
		goto out;
	b64_payload = cmn_base64_encode(payload, len);
	b64_sig = cmn_base64_encode(sig, sig_len);
	env = json_object();
	s = json_object();
	if (!b64_payload || !b64_sig || !env || !s ||
	    json_object_set_new(s, "keyid", json_string(keyid)) ||
	    json_object_set_new(s, "sig", json_string(b64_sig)) ||
	    json_object_set_new(env, "payload", json_string(b64_payload)) ||
	    json_object_set_new(env, "payloadType", json_string(payload_type)) ||
	    json_object_set_new(env, "signatures", json_pack("[O]", s))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory building a DSSE envelope");
		goto out;
	}
	r = cmn_json_canonical(ctx, env, ret, ret_len);
out:
	free(pae);
	free(sig);
	free(b64_payload);
	free(b64_sig);
	json_decref(s);
	json_decref(env);
	return r;
}

void sgn_envelope_clear(struct sgn_envelope *e)
{
	if (!e)
		return;
	free(e->payload_type);
	free(e->payload);
	for (size_t i = 0; i < e->n_sigs; i++) {
		free(e->sigs[i].keyid);
		free(e->sigs[i].sig);
	}
	free(e->sigs);
	memset(e, 0, sizeof(*e));
}

/* Refuse any member of obj not in allowed (NULL-terminated). */
static int only_members(cvmf_ctx *ctx, const char *what, const char *where, json_t *obj,
			const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(key, *a) == 0;
		if (!ok)
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s: unknown field \"%.80s\"", what,
					  where, key);
	}
	return 0;
}

static int get_string(cvmf_ctx *ctx, const char *what, const char *where, json_t *obj,
		      const char *key, const char **ret, size_t *ret_len)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s%s%s: missing", what, where,
				  *where ? "." : "", key);
	if (!json_is_string(v))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s%s%s: expected a string, got %s",
				  what, where, *where ? "." : "", key, cmn_json_type_name(v));
	*ret = json_string_value(v);
	*ret_len = json_string_length(v);
	return 0;
}

int sgn_dsse_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
		   struct sgn_envelope *ret)
{
	static const char *const env_keys[] = { "payload", "payloadType", "signatures", NULL };
	static const char *const sig_keys[] = { "keyid", "sig", NULL };
	struct sgn_envelope e = { 0 };
	json_t *root = NULL;
	const char *s;
	size_t n;
	int r;

	if (len > CVMF_DSSE_MAX_ENVELOPE)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "%s: %zu bytes, more than the %u a DSSE envelope may have", what,
				  len, CVMF_DSSE_MAX_ENVELOPE);
	if ((r = cmn_json_parse(ctx, what, buf, len, &root)) < 0)
		return r;
	if (!json_is_object(root)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: a DSSE envelope is a JSON object, not %s",
			       what, cmn_json_type_name(root));
		goto out;
	}
	if ((r = only_members(ctx, what, "envelope", root, env_keys)) < 0)
		goto out;
	if ((r = get_string(ctx, what, "", root, "payloadType", &s, &n)) < 0)
		goto out;
	if (n == 0 || memchr(s, 0, n)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: payloadType: empty or holds a NUL", what);
		goto out;
	}
	if (!(e.payload_type = strdup(s))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = get_string(ctx, what, "", root, "payload", &s, &n)) < 0)
		goto out;
	{
		char w[300];
		snprintf(w, sizeof(w), "%s: payload", what);
		if ((r = cmn_base64_decode(ctx, w, s, n, &e.payload, &e.payload_len)) < 0)
			goto out;
	}
	json_t *sigs = json_object_get(root, "signatures");
	if (!json_is_array(sigs)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: signatures: %s", what,
			       sigs ? "expected an array" : "missing");
		goto out;
	}
	size_t ns = json_array_size(sigs);
	if (ns == 0 || ns > CVMF_DSSE_MAX_SIGNATURES) {
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "%s: signatures: %zu signatures; an envelope has 1 to %u", what, ns,
			       CVMF_DSSE_MAX_SIGNATURES);
		goto out;
	}
	if (!(e.sigs = calloc(ns, sizeof(*e.sigs)))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ns; i++) {
		char where[64], w[400];
		json_t *o = json_array_get(sigs, i);
		snprintf(where, sizeof(where), "signatures[%zu]", i);
		if (!json_is_object(o)) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s: expected an object, got %s", what,
				       where, cmn_json_type_name(o));
			goto out;
		}
		if ((r = only_members(ctx, what, where, o, sig_keys)) < 0)
			goto out;
		if ((r = get_string(ctx, what, where, o, "keyid", &s, &n)) < 0)
			goto out;
		if (n > KEYID_MAX || memchr(s, 0, n)) {
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "%s: %s.keyid: longer than %u bytes or holds a NUL", what,
				       where, KEYID_MAX);
			goto out;
		}
		if (!(e.sigs[i].keyid = strdup(s))) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		e.n_sigs = i + 1;
		if ((r = get_string(ctx, what, where, o, "sig", &s, &n)) < 0)
			goto out;
		snprintf(w, sizeof(w), "%s: %s.sig", what, where);
		if ((r = cmn_base64_decode(ctx, w, s, n, &e.sigs[i].sig, &e.sigs[i].len)) < 0)
			goto out;
		if (e.sigs[i].len == 0) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.sig: empty", what, where);
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			bool same_sig = e.sigs[j].len == e.sigs[i].len &&
					!memcmp(e.sigs[j].sig, e.sigs[i].sig, e.sigs[i].len);
			if (same_sig || (*e.sigs[i].keyid &&
					 !strcmp(e.sigs[j].keyid, e.sigs[i].keyid))) {
				r = cmn_error(ctx, CVMF_E_FORMAT,
					       "%s: %s: duplicated signature (the same %s as "
					       "signatures[%zu])", what, where,
					       same_sig ? "sig" : "keyid", j);
				goto out;
			}
		}
	}
	*ret = e;
	memset(&e, 0, sizeof(e));
	r = 0;
out:
	sgn_envelope_clear(&e);
	json_decref(root);
	return r;
}

int cvmf_dsse_verify(cvmf_ctx *ctx, const char *what, const cvmf_key *key,
		     const char *payload_type, const void *env, size_t env_len,
		     uint8_t **ret_payload, size_t *ret_len)
{
	struct sgn_envelope e = { 0 };
	uint8_t fp[32], *pae = NULL;
	size_t pae_len;
	char keyid[65];
	int r;

	if ((r = sgn_dsse_parse(ctx, what, env, env_len, &e)) < 0)
		return r;
	if (strcmp(e.payload_type, payload_type)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: payloadType is \"%.100s\", expected \"%s\"",
			       what, e.payload_type, payload_type);
		goto out;
	}
	if ((r = cmn_key_fingerprint(ctx, key->k, fp)) < 0)
		goto out;
	cvmf_hex(fp, sizeof(fp), keyid);
	size_t i;
	for (i = 0; i < e.n_sigs && strcmp(e.sigs[i].keyid, keyid); i++)
		;
	if (i == e.n_sigs) {
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "%s: no signature by the key %s (signed by keyid \"%.80s\"%s)", what,
			       keyid, e.sigs[0].keyid, e.n_sigs > 1 ? " and others" : "");
		goto out;
	}
	if ((r = sgn_pae(ctx, e.payload_type, e.payload, e.payload_len, &pae, &pae_len)) < 0)
		goto out;
	if ((r = cmn_key_verify(ctx, key->k, pae, pae_len, e.sigs[i].sig, e.sigs[i].len)) < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", cvmf_ctx_errmsg(ctx));
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "%s: signatures[%zu] (keyid %s): %s over the payload", what, i,
			       keyid, why);
		goto out;
	}
	*ret_payload = e.payload;
	*ret_len = e.payload_len;
	e.payload = NULL;
	r = 0;
out:
	free(pae);
	sgn_envelope_clear(&e);
	return r;
}
