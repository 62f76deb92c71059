/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TDX quote verification (DCAP, ECDSA P-256): the quote signature under the
 * attestation key, the PCK chain carried in the quote up to the pinned
 * Intel SGX Root CA (with CRLs), the QE report signature under the PCK, the
 * QE binding; with collateral, the TCB info and QE identity signatures over
 * their exact JSON bytes and the platform's TCB status; then the policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#include "attest/att.h"
#include "common/json.h"

/* ---- Intel's SGX extension ---- */

#define SGX_ARC "1.2.840.113741.1.13.1"

static int sgx_seq(cvmf_ctx *ctx, const uint8_t *der, size_t len, int depth,
		   struct att_sgx_ext *e)
{
	const unsigned char *p = der;
	int rc = 0;
	if (len > INT32_MAX || depth > 2)
		return cmn_error(ctx, CVMF_E_FORMAT, "PCK SGX extension: malformed");
	ASN1_SEQUENCE_ANY *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len);
	if (!seq || p != der + len) {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "PCK SGX extension: not a DER SEQUENCE");
		goto out;
	}
	for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
		ASN1_TYPE *t = sk_ASN1_TYPE_value(seq, i);
		if (t->type != V_ASN1_SEQUENCE)
			continue;
		const unsigned char *q = t->value.sequence->data;
		int ql = t->value.sequence->length;
		ASN1_SEQUENCE_ANY *pair = d2i_ASN1_SEQUENCE_ANY(NULL, &q, ql);
		if (!pair || sk_ASN1_TYPE_num(pair) != 2 ||
		    sk_ASN1_TYPE_value(pair, 0)->type != V_ASN1_OBJECT) {
			sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
			rc = cmn_error(ctx, CVMF_E_FORMAT, "PCK SGX extension: an entry is not "
					"(OID, value)");
			goto out;
		}
		char oid[80];
		ASN1_TYPE *v = sk_ASN1_TYPE_value(pair, 1);
		OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_TYPE_value(pair, 0)->value.object, 1);
		const char *sub = !strncmp(oid, SGX_ARC ".", strlen(SGX_ARC) + 1) ?
				  oid + strlen(SGX_ARC) + 1 : "";
		int64_t iv = -1;
		if (!strcmp(sub, "2") && v->type == V_ASN1_SEQUENCE) {
			rc = sgx_seq(ctx, v->value.sequence->data,
				     (size_t)v->value.sequence->length, depth + 1, e);
			e->has_tcb = !rc;
		} else if (!strcmp(sub, "4") && v->type == V_ASN1_OCTET_STRING &&
			   v->value.octet_string->length == 6) {
			memcpy(e->fmspc, v->value.octet_string->data, 6);
			e->has_fmspc = true;
		} else if (!strcmp(sub, "3") && v->type == V_ASN1_OCTET_STRING &&
			   v->value.octet_string->length == 2) {
			memcpy(e->pce_id, v->value.octet_string->data, 2);
			e->has_pce_id = true;
		} else if (!strncmp(sub, "2.", 2) && v->type == V_ASN1_INTEGER &&
			   ASN1_INTEGER_get_int64(&iv, v->value.integer) && iv >= 0) {
			int n = atoi(sub + 2);
			if (n >= 1 && n <= 16 && iv <= 255)
				e->comp_svn[n - 1] = (uint8_t)iv;
			else if (n == 17 && iv <= 65535)
				e->pcesvn = (uint16_t)iv;
		} else if (!strcmp(sub, "2.18") && v->type == V_ASN1_OCTET_STRING &&
			   v->value.octet_string->length == 16) {
			memcpy(e->cpusvn, v->value.octet_string->data, 16);
		}
		sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
		if (rc)
			goto out;
	}
out:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	ERR_clear_error();
	return rc;
}

int att_sgx_ext_parse(cvmf_ctx *ctx, const uint8_t *der, size_t len, struct att_sgx_ext *ret)
{
	struct att_sgx_ext e;
	memset(&e, 0, sizeof(e));
	int rc = sgx_seq(ctx, der, len, 0, &e);
	if (!rc)
		*ret = e;
	return rc;
}

static int pck_sgx_ext(cvmf_ctx *ctx, X509 *x, struct att_sgx_ext *ret)
{
	int n = X509_get_ext_count(x);
	for (int i = 0; i < n; i++) {
		X509_EXTENSION *ext = X509_get_ext(x, i);
		char oid[80];
		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0 ||
		    strcmp(oid, SGX_ARC))
			continue;
		ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);
		return att_sgx_ext_parse(ctx, ASN1_STRING_get0_data(d),
					 (size_t)ASN1_STRING_length(d), ret);
	}
	return cmn_error(ctx, CVMF_E_FORMAT, "the PCK certificate has no SGX extension (%s)",
			  SGX_ARC);
}

/* ---- JSON slicing: the exact bytes of a value ---- */

static size_t skip_ws(const char *b, size_t len, size_t i)
{
	while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
		i++;
	return i;
}

/* The end of a string starting at b[i] == '"' (one past the closing quote), or 0. */
static size_t string_end(const char *b, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (b[i] == '\\')
			i++;
		else if (b[i] == '"')
			return i + 1;
	}
	return 0;
}

static size_t value_end(const char *b, size_t len, size_t i)
{
	if (i >= len)
		return 0;
	if (b[i] == '"')
		return string_end(b, len, i);
	if (b[i] == '{' || b[i] == '[') {
		size_t depth = 0;
		while (i < len) {
			if (b[i] == '"') {
				size_t e = string_end(b, len, i);
				if (!e)
					return 0;
				i = e;
				continue;
			}
			if (b[i] == '{' || b[i] == '[')
				depth++;
			else if ((b[i] == '}' || b[i] == ']') && --depth == 0)
				return i + 1;
			i++;
		}
		return 0;
	}
	while (i < len && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' &&
	       b[i] != '\n' && b[i] != '\r' && b[i] != '\t')
		i++;
	return i;
}

int att_json_slice(const char *b, size_t len, const char *key, size_t *ret_off, size_t *ret_len)
{
	size_t i = skip_ws(b, len, 0), klen = strlen(key);
	if (i >= len || b[i] != '{')
		return CVMF_E_FORMAT;
	i = skip_ws(b, len, i + 1);
	while (i < len && b[i] == '"') {
		size_t ke = string_end(b, len, i);
		if (!ke)
			return CVMF_E_FORMAT;
		bool match = ke - i - 2 == klen && !memcmp(b + i + 1, key, klen);
		i = skip_ws(b, len, ke);
		if (i >= len || b[i] != ':')
			return CVMF_E_FORMAT;
		i = skip_ws(b, len, i + 1);
		size_t ve = value_end(b, len, i);
		if (!ve)
			return CVMF_E_FORMAT;
		if (match) {
			*ret_off = i;
			*ret_len = ve - i;
			return 0;
		}
		i = skip_ws(b, len, ve);
		if (i < len && b[i] == ',')
			i = skip_ws(b, len, i + 1);
	}
	return CVMF_E_FORMAT;
}

/* ---- keys and signatures ---- */

static EVP_PKEY *p256_key(const uint8_t xy[64])
{
	uint8_t pub[65];
	pub[0] = 0x04;
	memcpy(pub + 1, xy, 64);
	EVP_PKEY *k = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!bld || !pc ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return k;
}

static bool is_p256(EVP_PKEY *k)
{
	return k && EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_bits(k) == 256;
}

/* The certificate of a list that issued no other one in it (the leaf). */
static X509 *find_leaf(STACK_OF(X509) *sk)
{
	for (int i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);
		bool issuer = false;
		for (int j = 0; j < sk_X509_num(sk) && !issuer; j++)
			issuer = j != i && !X509_NAME_cmp(X509_get_subject_name(x),
						  X509_get_issuer_name(sk_X509_value(sk, j)));
		if (!issuer)
			return x;
	}
	return sk_X509_num(sk) ? sk_X509_value(sk, 0) : NULL;
}

static bool parse_time(const char *s, time_t *ret)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *e = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!e)
		return false;
	if (*e == '.')
		for (e++; *e >= '0' && *e <= '9'; e++)
			;
	if (strcmp(e, "Z"))
		return false;
	*ret = timegm(&tm);
	return true;
}

/* ---- collateral ---- */

struct collateral {
	char *buf;
	size_t len;
	json_t *doc;
	json_t *body;    /* doc[key] */
};

static void collateral_free(struct collateral *c)
{
	free(c->buf);
	json_decref(c->doc);
}

/* Read DIR/NAME, check its signature (over the exact bytes of KEY's value)
 * with signer, and its issueDate/nextUpdate at r->now. 1 ok, 0 failed (a
 * check reported), < 0 error. */
static int collateral_load(struct att_run *r, const char *dir, const char *name,
			   const char *key, const char *check, X509 *signer, struct collateral *c)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int rc = cmn_read_file(r->ctx, "collateral", path, 1u << 22, (uint8_t **)&c->buf, &c->len);
	if (rc)
		return rc;
	if ((rc = cmn_json_parse(r->ctx, path, c->buf, c->len, &c->doc)))
		return rc;
	c->body = json_object_get(c->doc, key);
	const char *sig_hex = json_string_value(json_object_get(c->doc, "signature"));
	size_t off = 0, n = 0;
	uint8_t sig[64];
	if (!json_is_object(c->body) || !sig_hex || strlen(sig_hex) != 128 ||
	    cvmf_unhex(sig_hex, sig, 64) || att_json_slice(c->buf, c->len, key, &off, &n))
		return cmn_error(r->ctx, CVMF_E_FORMAT, "%s: not {\"%s\": {...}, \"signature\": "
				  "128 hex digits}", path, key);
	bool ok = false;
	rc = att_ecdsa_verify_raw(r->ctx, X509_get0_pubkey(signer), EVP_sha256(),
				  (const uint8_t *)c->buf + off, n, sig, sig + 32, 32, false, &ok);
	if (rc)
		return rc;
	if (!att_check(r, check, ok, "%s: the signature over the %zu bytes of \"%s\" %s the TCB "
		       "signing certificate", path, n, key, ok ? "verifies under" :
		       "does not verify under"))
		return 0;
	time_t issue, next;
	const char *is = json_string_value(json_object_get(c->body, "issueDate"));
	const char *ns = json_string_value(json_object_get(c->body, "nextUpdate"));
	if (!parse_time(is, &issue) || !parse_time(ns, &next))
		return cmn_error(r->ctx, CVMF_E_FORMAT, "%s: issueDate or nextUpdate is not "
				  "an RFC 3339 UTC time", path);
	char when[32];
	struct tm tm;
	gmtime_r(&r->now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!att_check(r, check, r->now >= issue && r->now < next, "%s: issued %s, next update "
		       "%s; %s at %s", path, is, ns, r->now < issue ? "not yet valid" :
		       r->now >= next ? "expired" : "valid", when))
		return 0;
	return 1;
}

static const char *level_status(json_t *level)
{
	const char *s = json_string_value(json_object_get(level, "tcbStatus"));
	return s ? s : "unknown";
}

static int svn_of(json_t *comps, size_t i)
{
	json_t *c = json_array_get(comps, i);
	json_t *v = json_object_get(c, "svn");
	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

/* The TCB status of the platform from the TCB info; 1 ok, 0 failed. */
static int tcb_status(struct att_run *r, const struct cvmf_tdx_quote *q,
		      const struct att_sgx_ext *sgx, json_t *ti, char *status, size_t n)
{
	const char *id = json_string_value(json_object_get(ti, "id"));
	const char *fmspc = json_string_value(json_object_get(ti, "fmspc"));
	uint8_t f[6];
	char want[13];
	cvmf_hex(sgx->fmspc, 6, want);
	if (!att_check(r, "tcb_info", id && !strcmp(id, "TDX"), "the TCB info's id is %s, not "
		       "TDX", id ? id : "missing"))
		return 0;
	if (!att_check(r, "tcb_info", fmspc && strlen(fmspc) == 12 && !cvmf_unhex(fmspc, f, 6) &&
		       !memcmp(f, sgx->fmspc, 6), "the TCB info is for FMSPC %s, the PCK "
		       "certificate's is %s", fmspc ? fmspc : "(none)", want))
		return 0;
	size_t start = q->tee_tcb_svn[1] > 0 ? 2 : 0;
	json_t *levels = json_object_get(ti, "tcbLevels"), *lv;
	size_t i;
	json_array_foreach(levels, i, lv) {
		json_t *tcb = json_object_get(lv, "tcb");
		json_t *sgxc = json_object_get(tcb, "sgxtcbcomponents");
		json_t *tdxc = json_object_get(tcb, "tdxtcbcomponents");
		json_t *pce = json_object_get(tcb, "pcesvn");
		if (json_array_size(sgxc) != 16 || json_array_size(tdxc) != 16 ||
		    !json_is_integer(pce))
			continue;
		bool ok = json_integer_value(pce) <= sgx->pcesvn;
		for (size_t k = 0; ok && k < 16; k++)
			ok = svn_of(sgxc, k) >= 0 && svn_of(sgxc, k) <= sgx->comp_svn[k];
		for (size_t k = start; ok && k < 16; k++)
			ok = svn_of(tdxc, k) >= 0 && svn_of(tdxc, k) <= q->tee_tcb_svn[k];
		if (!ok)
			continue;
		snprintf(status, n, "%s", level_status(lv));
		/* the TDX module's own identity, when the TCB info lists them */
		json_t *mods = json_object_get(ti, "tdxModuleIdentities"), *m;
		size_t j;
		char mid[16];
		snprintf(mid, sizeof(mid), "TDX_%02X", q->tee_tcb_svn[1]);
		if (start && json_is_array(mods)) {
			const char *mstatus = NULL;
			json_array_foreach(mods, j, m) {
				const char *s = json_string_value(json_object_get(m, "id"));
				if (!s || strcasecmp(s, mid))
					continue;
				json_t *ml;
				size_t kk;
				json_array_foreach(json_object_get(m, "tcbLevels"), kk, ml) {
					json_t *isv = json_object_get(json_object_get(ml, "tcb"),
								      "isvsvn");
					if (json_is_integer(isv) &&
					    json_integer_value(isv) <= q->tee_tcb_svn[0]) {
						mstatus = level_status(ml);
						break;
					}
				}
			}
			if (!att_check(r, "tcb_info", mstatus != NULL, "no TCB level of TDX module "
				       "%s is met by TEE_TCB_SVN[0] = %u", mid, q->tee_tcb_svn[0]))
				return 0;
			if (strcmp(mstatus, "UpToDate"))
				snprintf(status, n, "%s", mstatus);
		}
		att_check(r, "tcb_info", true, "FMSPC %s, TCB level %zu (%s): %s", want, i,
			  json_string_value(json_object_get(lv, "tcbDate")) ?
			  json_string_value(json_object_get(lv, "tcbDate")) : "no date", status);
		return 1;
	}
	att_check(r, "tcb_info", false, "no TCB level of FMSPC %s is met by the platform (PCE "
		  "SVN %u, TEE_TCB_SVN starting %02x%02x%02x)", want, sgx->pcesvn,
		  q->tee_tcb_svn[0], q->tee_tcb_svn[1], q->tee_tcb_svn[2]);
	return 0;
}

static int qe_identity(struct att_run *r, const struct cvmf_tdx_quote *q, json_t *qi,
		       char *status, size_t n)
{
	uint8_t mrsigner[32], misc[4], miscmask[4], attr[16], attrmask[16];
	const char *s1 = json_string_value(json_object_get(qi, "mrsigner"));
	const char *s2 = json_string_value(json_object_get(qi, "miscselect"));
	const char *s3 = json_string_value(json_object_get(qi, "miscselectMask"));
	const char *s4 = json_string_value(json_object_get(qi, "attributes"));
	const char *s5 = json_string_value(json_object_get(qi, "attributesMask"));
	json_t *prod = json_object_get(qi, "isvprodid");
	if (!s1 || !s2 || !s3 || !s4 || !s5 || strlen(s1) != 64 || strlen(s2) != 8 ||
	    strlen(s3) != 8 || strlen(s4) != 32 || strlen(s5) != 32 || cvmf_unhex(s1, mrsigner, 32) ||
	    cvmf_unhex(s2, misc, 4) || cvmf_unhex(s3, miscmask, 4) || cvmf_unhex(s4, attr, 16) ||
	    cvmf_unhex(s5, attrmask, 16) || !json_is_integer(prod))
		return cmn_error(r->ctx, CVMF_E_FORMAT, "QE identity: mrsigner, miscselect(Mask), "
				  "attributes(Mask) or isvprodid missing or malformed");
	/* miscselect is shown big-endian in the JSON, stored little-endian */
	uint32_t m = (uint32_t)misc[0] << 24 | misc[1] << 16 | misc[2] << 8 | misc[3];
	uint32_t mm = (uint32_t)miscmask[0] << 24 | miscmask[1] << 16 | miscmask[2] << 8 | miscmask[3];
	bool attr_ok = true;
	for (int i = 0; i < 16; i++)
		attr_ok = attr_ok && (q->qe_attributes[i] & attrmask[i]) == (attr[i] & attrmask[i]);
	const char *bad = memcmp(mrsigner, q->qe_mrsigner, 32) ? "MRSIGNER" :
			  json_integer_value(prod) != q->qe_isvprodid ? "ISVPRODID" :
			  (q->qe_miscselect & mm) != (m & mm) ? "MISCSELECT" :
			  !attr_ok ? "ATTRIBUTES" : NULL;
	if (!att_check(r, "qe_identity", !bad, "the QE report's %s differs from the QE "
		       "identity's", bad ? bad : ""))
		return 0;
	json_t *lv;
	size_t i;
	json_array_foreach(json_object_get(qi, "tcbLevels"), i, lv) {
		json_t *isv = json_object_get(json_object_get(lv, "tcb"), "isvsvn");
		if (json_is_integer(isv) && json_integer_value(isv) <= q->qe_isvsvn) {
			snprintf(status, n, "%s", level_status(lv));
			att_check(r, "qe_identity", true, "QE ISVSVN %u: %s", q->qe_isvsvn, status);
			return 1;
		}
	}
	att_check(r, "qe_identity", false, "no TCB level of the QE identity is met by QE ISVSVN %u",
		  q->qe_isvsvn);
	return 0;
}

static int collateral(struct att_run *r, const struct cvmf_tdx_quote *q, X509 *pck,
		      STACK_OF(X509) *roots, STACK_OF(X509_CRL) *crls, const char *dir)
{
	int rc = 0;
	char detail[400];
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct collateral ti = { 0 }, qi = { 0 };
	uint8_t *pem = NULL;
	size_t pem_len = 0;
	char path[4096];
	if (!chain) {
		rc = cmn_error(r->ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/tcb_signing_chain.pem", dir);
	if ((rc = cmn_read_file(r->ctx, "TCB signing chain", path, 1u << 20, &pem, &pem_len)))
		goto out;
	struct cvmf_blob b = { pem, pem_len, path };
	if ((rc = att_certs_load(r->ctx, &b, chain)))
		goto out;
	X509 *signer = find_leaf(chain);
	if (!att_check(r, "tcb_signing_chain", is_p256(X509_get0_pubkey(signer)) &&
		       att_x509_verify(r, signer, roots, chain, crls, detail, sizeof(detail), NULL),
		       "%s", is_p256(X509_get0_pubkey(signer)) ? detail :
		       "the TCB signing certificate's key is not EC P-256"))
		goto out;
	struct att_sgx_ext sgx;
	if ((rc = pck_sgx_ext(r->ctx, pck, &sgx)))
		goto out;
	if (!sgx.has_fmspc || !sgx.has_tcb) {
		rc = cmn_error(r->ctx, CVMF_E_FORMAT, "the PCK certificate's SGX extension lacks "
				"the FMSPC or the TCB");
		goto out;
	}
	char platform[32] = "unknown", qe[32] = "unknown";
	int v = collateral_load(r, dir, "tcb_info.json", "tcbInfo", "tcb_info", signer, &ti);
	if (v <= 0 || (v = tcb_status(r, q, &sgx, ti.body, platform, sizeof(platform))) <= 0) {
		rc = v < 0 ? v : 0;
		goto out;
	}
	v = collateral_load(r, dir, "qe_identity.json", "enclaveIdentity", "qe_identity", signer,
			    &qi);
	if (v <= 0 || (v = qe_identity(r, q, qi.body, qe, sizeof(qe))) <= 0) {
		rc = v < 0 ? v : 0;
		goto out;
	}
	/* the worse of the two: a QE that is not up to date taints the platform */
	snprintf(r->res->tcb_status, sizeof(r->res->tcb_status), "%s",
		 strcmp(platform, "UpToDate") ? platform : qe);
out:
	collateral_free(&ti);
	collateral_free(&qi);
	free(pem);
	att_sk_x509_free(chain);
	return rc;
}

/* ---- the whole verification ---- */

static void tdx_policy(struct att_run *r, const struct cvmf_tdx_quote *q,
		       const struct cvmf_attest_policy *p, bool have_collateral)
{
	static const struct cvmf_attest_policy dflt;
	if (!p)
		p = &dflt;
	/* a key this platform has no field for is a failure, never ignored */
	const char *snp_only = p->has_host_data ? "host_data" : p->has_vmpl ? "vmpl" :
			       p->has_min_guest_svn ? "min_guest_svn" :
			       p->n_chip_ids ? "chip_ids" : p->has_min_tcb ? "min_tcb" : NULL;
	if (snp_only) {
		att_check(r, snp_only, false, "the policy sets %s%s, which a TDX quote does not "
			  "have", snp_only, p->has_min_tcb && !strcmp(snp_only, "min_tcb") ?
			  " (an SNP component; TDX uses min_tcb.tee_tcb_svn)" : "");
		return;
	}
	bool debug = q->td_attributes & CVMF_TD_ATTR_DEBUG;
	if (!att_check(r, "debug", !debug || p->allow_debug, "%s",
		       !debug ? "the TD does not have the DEBUG attribute" :
		       p->allow_debug ? "the TD has the DEBUG attribute; the policy allows it" :
		       "the TD has the DEBUG attribute (TDATTRIBUTES bit 0); set \"allow_debug\" "
		       "to accept it"))
		return;
	char a[129], b[129];
	if (p->has_report_data) {
		cvmf_hex(q->report_data, 64, a);
		cvmf_hex(p->report_data, 64, b);
		if (!att_check(r, "report_data", !memcmp(q->report_data, p->report_data, 64),
			       "REPORTDATA %s, the policy wants %s", a, b))
			return;
	}
	if (p->has_min_tee_tcb_svn) {
		int bad = -1;
		for (int i = 0; i < 16 && bad < 0; i++)
			if (q->tee_tcb_svn[i] < p->min_tee_tcb_svn[i])
				bad = i;
		cvmf_hex(q->tee_tcb_svn, 16, a);
		cvmf_hex(p->min_tee_tcb_svn, 16, b);
		if (!att_check(r, "min_tcb", bad < 0, "TEE_TCB_SVN %s, the policy wants at least "
			       "%s%s", a, b, bad < 0 ? "" : " (a component is lower)"))
			return;
	}
	if (p->n_tcb_status || have_collateral) {
		const char *st = r->res->tcb_status;
		bool ok = false;
		for (size_t i = 0; i < p->n_tcb_status; i++)
			ok = ok || !strcmp(p->tcb_status[i], st);
		if (!p->n_tcb_status)
			ok = !strcmp(st, "UpToDate");
		att_check(r, "tcb_status", ok, "TCB status %s%s; allowed: %s", st,
			  have_collateral ? "" : " (no --collateral)",
			  p->n_tcb_status ? "the policy's allowed_tcb_status" : "UpToDate (default)");
	}
}

int att_tdx_verify(struct att_run *r, const struct cvmf_tdx_quote *q,
		   const struct cvmf_attest_opts *o)
{
	cvmf_ctx *ctx = r->ctx;
	int rc = 0;
	char detail[400], desc[256];
	STACK_OF(X509) *pcks = sk_X509_new_null(), *roots = sk_X509_new_null();
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	EVP_PKEY *att = NULL;
	if (!pcks || !roots || !crls) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = att_load_crls(ctx, o->crls, o->n_crls, crls)))
		goto out;
	if (o->n_trust_roots) {
		rc = att_load_all(ctx, o->trust_roots, o->n_trust_roots, roots);
	} else {
		struct cvmf_blob b = { att_intel_sgx_root_pem, strlen(att_intel_sgx_root_pem),
				       "pinned Intel SGX Root CA" };
		rc = att_certs_load(ctx, &b, roots);
	}
	if (rc)
		goto out;
	if (!att_check(r, "certification_data", q->has_qe && q->pck_cert_type == 5,
		       "certification data type %u%s (type 6 wrapping a type 5 PCK chain is "
		       "supported)", q->cert_type,
		       q->has_qe ? q->pck_cert_type == 5 ? "" : ", nested type not 5" : ""))
		goto out;
	/* quote signature */
	att = p256_key(q->att_key);
	bool ok = false;
	if (!att) {
		att_check(r, "quote_signature", false, "the attestation key is not a P-256 point");
		goto out;
	}
	if ((rc = att_ecdsa_verify_raw(ctx, att, EVP_sha256(), q->raw, q->signed_len,
				       q->signature, q->signature + 32, 32, false, &ok)))
		goto out;
	if (!att_check(r, "quote_signature", ok, "ECDSA P-256 over the header and body (%zu "
		       "bytes) %s the attestation key", q->signed_len,
		       ok ? "verifies under" : "does not verify under"))
		goto out;
	/* the PCK chain */
	struct cvmf_blob pb = { q->pck_chain, q->pck_chain_len, "the quote's PCK chain" };
	if ((rc = att_certs_load(ctx, &pb, pcks))) {
		att_check(r, "pck_chain", false, "%s", cvmf_ctx_errmsg(ctx));
		rc = 0;
		goto out;
	}
	X509 *pck = find_leaf(pcks);
	if (!att_check(r, "pck_chain", att_x509_verify(r, pck, roots, pcks, crls, detail,
						       sizeof(detail), NULL), "%s%s", detail,
		       o->n_trust_roots ? "" : " (to the pinned Intel SGX Root CA)"))
		goto out;
	/* QE report signature */
	EVP_PKEY *pk = X509_get0_pubkey(pck);
	if (!is_p256(pk)) {
		att_check(r, "qe_report_signature", false, "the PCK certificate's key is not EC P-256");
		goto out;
	}
	if ((rc = att_ecdsa_verify_raw(ctx, pk, EVP_sha256(), q->qe_report, 384, q->qe_report_sig,
				       q->qe_report_sig + 32, 32, false, &ok)))
		goto out;
	att_cert_desc(pck, desc, sizeof(desc));
	if (!att_check(r, "qe_report_signature", ok, "the QE report's signature %s %s",
		       ok ? "verifies under" : "does not verify under", desc))
		goto out;
	/* QE binding */
	uint8_t h[32];
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	unsigned hl = 0;
	bool hashed = mc && EVP_DigestInit_ex(mc, EVP_sha256(), NULL) == 1 &&
		      EVP_DigestUpdate(mc, q->att_key, 64) == 1 &&
		      EVP_DigestUpdate(mc, q->qe_auth_data, q->qe_auth_len) == 1 &&
		      EVP_DigestFinal_ex(mc, h, &hl) == 1;
	EVP_MD_CTX_free(mc);
	if (!hashed) {
		rc = cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 failed");
		goto out;
	}
	if (!att_check(r, "qe_binding", !memcmp(h, q->qe_report_data, 32), "the QE report's "
		       "REPORTDATA %s with SHA-256(attestation key || QE authentication data)",
		       !memcmp(h, q->qe_report_data, 32) ? "starts" : "does not start"))
		goto out;
	if (o->collateral_dir) {
		if ((rc = collateral(r, q, pck, roots, crls, o->collateral_dir)))
			goto out;
		if (!r->res->verified)
			goto out;
	}
	tdx_policy(r, q, o->policy, o->collateral_dir != NULL);
out:
	EVP_PKEY_free(att);
	att_sk_x509_free(pcks);
	att_sk_x509_free(roots);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	return rc;
}
