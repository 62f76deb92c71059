/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One verification call for a relying party: cvmf_attest_verify() runs the
 * checks of an SNP report (attest/snp_verify.c) or a TDX quote
 * (attest/tdx_verify.c) and the policy, reporting each check. Also: the
 * check recorder, certificate-chain verification with X509_STORE (an
 * explicit time, CRLs per issuer, no X509_STRICT), and the policy document.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "attest/att.h"
#include "common/json.h"

bool att_check(struct att_run *r, const char *name, bool ok, const char *fmt, ...)
{
	char detail[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (r->check)
		r->check(r->user, name, ok, detail);
	if (!ok && r->res->verified) {
		r->res->verified = false;
		snprintf(r->res->failed_check, sizeof(r->res->failed_check), "%s", name);
		snprintf(r->res->failed_detail, sizeof(r->res->failed_detail), "%s", detail);
	}
	return ok;
}

static bool crl_for_issuer(STACK_OF(X509_CRL) *crls, X509 *x)
{
	for (int i = 0; crls && i < sk_X509_CRL_num(crls); i++)
		if (!X509_NAME_cmp(X509_CRL_get_issuer(sk_X509_CRL_value(crls, i)),
				   X509_get_issuer_name(x)))
			return true;
	return false;
}

/* One X509_verify_cert; 1 ok, 0 failed (detail written), <0 error. */
static int verify_one(struct att_run *r, X509 *leaf, STACK_OF(X509) *roots,
		      STACK_OF(X509) *untrusted, STACK_OF(X509_CRL) *crls, bool crl_check,
		      STACK_OF(X509) **ret_chain, char *detail, size_t n)
{
	int rc = -1;
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	if (!st || !sc)
		goto out;
	for (int i = 0; i < sk_X509_num(roots); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(roots, i)))
			goto out;
	if (crl_check)
		for (int i = 0; i < sk_X509_CRL_num(crls); i++)
			if (!X509_STORE_add_crl(st, sk_X509_CRL_value(crls, i)))
				goto out;
	if (!X509_STORE_CTX_init(sc, st, leaf, untrusted))
		goto out;
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sc);
	/* AMD's VCEKs have no AKID: X509_STRICT would refuse them. */
	X509_VERIFY_PARAM_clear_flags(vp, X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_set_time(vp, r->now);
	if (crl_check)
		X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK);
	int ok = X509_verify_cert(sc);
	if (ok == 1) {
		rc = 1;
		if (ret_chain)
			*ret_chain = X509_STORE_CTX_get1_chain(sc);
	} else {
		int err = X509_STORE_CTX_get_error(sc);
		X509 *cur = X509_STORE_CTX_get_current_cert(sc);
		char desc[256];
		att_cert_desc(cur ? cur : leaf, desc, sizeof(desc));
		char when[32];
		struct tm tm;
		gmtime_r(&r->now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		X509_CRL *crl = NULL;   /* the CRL of the current certificate's issuer */
		for (int i = 0; crls && i < sk_X509_CRL_num(crls) && !crl; i++)
			if (!X509_NAME_cmp(X509_CRL_get_issuer(sk_X509_CRL_value(crls, i)),
					   X509_get_issuer_name(cur ? cur : leaf)))
				crl = sk_X509_CRL_value(crls, i);
		if (crl && (err == X509_V_ERR_CRL_HAS_EXPIRED || err == X509_V_ERR_CRL_NOT_YET_VALID ||
			    err == X509_V_ERR_CRL_SIGNATURE_FAILURE)) {
			/* name the CRL: its issuer and its dates */
			char iss[128] = "?", a[32] = "?", b[32] = "?";
			X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl), NID_commonName, iss,
						  sizeof(iss));
			struct tm t1, t2;
			if (X509_CRL_get0_lastUpdate(crl) &&
			    ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl), &t1))
				strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%SZ", &t1);
			if (X509_CRL_get0_nextUpdate(crl) &&
			    ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &t2))
				strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &t2);
			snprintf(detail, n, "%s: %s: the CRL of '%s' (issued %s, next update %s), "
				 "at %s", desc, X509_verify_cert_error_string(err), iss, a, b, when);
		} else if (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)
			snprintf(detail, n, "%s: %s at %s", desc, X509_verify_cert_error_string(err),
				 when);
		else
			snprintf(detail, n, "%s: %s", desc, X509_verify_cert_error_string(err));
		rc = 0;
	}
out:
	if (rc < 0)
		cmn_error(r->ctx, CVMF_E_CRYPTO, "certificate verification could not run");
	ERR_clear_error();
	X509_STORE_CTX_free(sc);
	X509_STORE_free(st);
	return rc;
}

bool att_x509_verify(struct att_run *r, X509 *leaf, STACK_OF(X509) *roots,
		     STACK_OF(X509) *untrusted, STACK_OF(X509_CRL) *crls, char *detail, size_t n,
		     STACK_OF(X509) **ret_chain)
{
	STACK_OF(X509) *chain = NULL;
	int v = verify_one(r, leaf, roots, untrusted, crls, false, &chain, detail, n);
	if (v != 1)
		return false;
	/* each certificate below the root against the CRLs of its issuer */
	bool ok = true;
	for (int i = 0; ok && i + 1 < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		if (!crl_for_issuer(crls, x))
			continue;
		ok = verify_one(r, x, roots, untrusted, crls, true, NULL, detail, n) == 1;
	}
	if (ok) {
		size_t k = 0;
		detail[0] = 0;
		for (int i = 0; i < sk_X509_num(chain) && k + 1 < n; i++) {
			char cn[128];
			att_cert_cn(sk_X509_value(chain, i), cn, sizeof(cn));
			int w = snprintf(detail + k, n - k, "%s%s", i ? " <- " : "", cn);
			if (w < 0 || (size_t)w >= n - k)
				break;
			k += (size_t)w;
		}
	}
	if (ok && ret_chain) {
		*ret_chain = chain;
		chain = NULL;
	}
	att_sk_x509_free(chain);
	return ok;
}

/* ---- policy ---- */

void cvmf_attest_policy_clear(struct cvmf_attest_policy *p)
{
	if (!p)
		return;
	free(p->chip_ids);
	for (size_t i = 0; i < p->n_tcb_status; i++)
		free(p->tcb_status[i]);
	free(p->tcb_status);
	memset(p, 0, sizeof(*p));
}

static int hex_key(cvmf_ctx *ctx, const char *what, const char *key, json_t *v, uint8_t *out,
		   size_t n)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) != 2 * n || cvmf_unhex(s, out, n))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: \"%s\" must be %zu bytes of hex (%zu "
				  "digits)", what, key, n, 2 * n);
	return 0;
}

static int uint_key(cvmf_ctx *ctx, const char *what, const char *key, json_t *v, uint64_t max,
		    uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: \"%s\" must be an integer 0..%llu",
				  what, key, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int cvmf_attest_policy_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
			     struct cvmf_attest_policy *ret)
{
	struct cvmf_attest_policy p;
	memset(&p, 0, sizeof(p));
	json_t *root = NULL;
	int rc = cmn_json_parse(ctx, what, buf, len, &root);
	if (rc)
		goto out;
	if (!json_is_object(root)) {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: a policy is a JSON object", what);
		goto out;
	}
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v) {
		uint64_t u;
		if (!strcmp(k, "allow_debug")) {
			if (!json_is_boolean(v)) {
				rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: \"allow_debug\" must be "
						"true or false", what);
				goto out;
			}
			p.allow_debug = json_is_true(v);
		} else if (!strcmp(k, "report_data")) {
			if ((rc = hex_key(ctx, what, k, v, p.report_data, 64)))
				goto out;
			p.has_report_data = true;
		} else if (!strcmp(k, "host_data")) {
			if ((rc = hex_key(ctx, what, k, v, p.host_data, 32)))
				goto out;
			p.has_host_data = true;
		} else if (!strcmp(k, "vmpl")) {
			if ((rc = uint_key(ctx, what, k, v, 3, &u)))
				goto out;
			p.vmpl = (uint32_t)u;
			p.has_vmpl = true;
		} else if (!strcmp(k, "min_guest_svn")) {
			if ((rc = uint_key(ctx, what, k, v, UINT32_MAX, &u)))
				goto out;
			p.min_guest_svn = (uint32_t)u;
			p.has_min_guest_svn = true;
		} else if (!strcmp(k, "min_tcb")) {
			if (!json_is_object(v)) {
				rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: \"min_tcb\" must be an "
						"object", what);
				goto out;
			}
			const char *ck;
			json_t *cv;
			json_object_foreach(v, ck, cv) {
				char key[64];
				snprintf(key, sizeof(key), "min_tcb.%s", ck);
				if (!strcmp(ck, "tee_tcb_svn")) {
					if ((rc = hex_key(ctx, what, key, cv, p.min_tee_tcb_svn, 16)))
						goto out;
					p.has_min_tee_tcb_svn = true;
					continue;
				}
				uint8_t *dst = !strcmp(ck, "bootloader") ? &p.min_tcb.bootloader :
					       !strcmp(ck, "tee") ? &p.min_tcb.tee :
					       !strcmp(ck, "snp") ? &p.min_tcb.snp :
					       !strcmp(ck, "microcode") ? &p.min_tcb.microcode :
					       !strcmp(ck, "fmc") ? &p.min_tcb.fmc : NULL;
				if (!dst) {
					rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: unknown key \"%s\" "
							"(bootloader, tee, snp, microcode, fmc, "
							"tee_tcb_svn)", what, key);
					goto out;
				}
				if ((rc = uint_key(ctx, what, key, cv, 255, &u)))
					goto out;
				*dst = (uint8_t)u;
				p.has_min_tcb = true;
			}
		} else if (!strcmp(k, "chip_ids")) {
			size_t n = json_array_size(v);
			if (!json_is_array(v) || !n) {
				rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: \"chip_ids\" must be a "
						"non-empty array of hex strings", what);
				goto out;
			}
			if (!(p.chip_ids = calloc(n, 64))) {
				rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
				goto out;
			}
			for (size_t i = 0; i < n; i++) {
				const char *s = json_string_value(json_array_get(v, i));
				size_t sl = s ? strlen(s) : 0;
				/* 64 bytes, or the 8-byte hwID of Turin */
				if (!s || (sl != 128 && sl != 16) || cvmf_unhex(s, p.chip_ids[i], sl / 2)) {
					rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: chip_ids[%zu] must be "
							"64 (or 8) bytes of hex", what, i);
					goto out;
				}
			}
			p.n_chip_ids = n;
		} else if (!strcmp(k, "allowed_tcb_status")) {
			size_t n = json_array_size(v);
			if (!json_is_array(v) || !n) {
				rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: \"allowed_tcb_status\" must "
						"be a non-empty array of strings", what);
				goto out;
			}
			if (!(p.tcb_status = calloc(n, sizeof(char *)))) {
				rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
				goto out;
			}
			for (size_t i = 0; i < n; i++) {
				const char *s = json_string_value(json_array_get(v, i));
				if (!s) {
					rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: allowed_tcb_status[%zu]"
							" must be a string", what, i);
					goto out;
				}
				if (!(p.tcb_status[i] = strdup(s))) {
					rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
					goto out;
				}
				p.n_tcb_status = i + 1;
			}
		} else {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: unknown key \"%s\" (allow_debug, "
					"min_tcb, report_data, host_data, vmpl, min_guest_svn, "
					"chip_ids, allowed_tcb_status)", what, k);
			goto out;
		}
	}
	*ret = p;
	memset(&p, 0, sizeof(p));
out:
	cvmf_attest_policy_clear(&p);
	json_decref(root);
	return rc;
}

int cvmf_attest_verify(cvmf_ctx *ctx, const struct cvmf_attestation *a,
		       const struct cvmf_attest_opts *opts, cvmf_check_fn check, void *user,
		       struct cvmf_attest_result *ret)
{
	static const struct cvmf_attest_opts no_opts;
	struct cvmf_attest_result res;
	memset(&res, 0, sizeof(res));
	res.verified = true;
	res.kind = a->kind;
	snprintf(res.tcb_status, sizeof(res.tcb_status), "unknown");
	if (!opts)
		opts = &no_opts;
	struct att_run r = { .ctx = ctx, .check = check, .user = user, .res = &res,
			     .now = opts->has_time ? opts->at_time : time(NULL) };
	if (a->kind == CVMF_ATT_SNP && opts->collateral_dir)
		return cmn_error(ctx, CVMF_E_INVAL, "collateral (%s) applies to TDX quotes, not "
				  "to an SEV-SNP report", opts->collateral_dir);
	int rc = a->kind == CVMF_ATT_SNP ? att_snp_verify(&r, a->snp, opts) :
		 a->kind == CVMF_ATT_TDX ? att_tdx_verify(&r, a->tdx, opts) :
		 cmn_error(ctx, CVMF_E_INVAL, "attestation of unknown kind %d", (int)a->kind);
	if (rc)
		return rc;
	*ret = res;
	return 0;
}

int att_load_all(cvmf_ctx *ctx, const struct cvmf_blob *b, size_t n, STACK_OF(X509) *sk)
{
	for (size_t i = 0; i < n; i++) {
		int rc = att_certs_load(ctx, &b[i], sk);
		if (rc)
			return rc;
	}
	return 0;
}

int att_load_crls(cvmf_ctx *ctx, const struct cvmf_blob *b, size_t n, STACK_OF(X509_CRL) *sk)
{
	for (size_t i = 0; i < n; i++) {
		int rc = att_crls_load(ctx, &b[i], sk);
		if (rc)
			return rc;
	}
	return 0;
}

int att_ecdsa_verify_raw(cvmf_ctx *ctx, EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
			 size_t len, const uint8_t *r, const uint8_t *s, size_t n, bool le,
			 bool *ret_ok)
{
	int rc = 0;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *br = le ? BN_lebin2bn(r, (int)n, NULL) : BN_bin2bn(r, (int)n, NULL);
	BIGNUM *bs = le ? BN_lebin2bn(s, (int)n, NULL) : BN_bin2bn(s, (int)n, NULL);
	unsigned char *der = NULL;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	if (!sig || !br || !bs || !mc) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (!ECDSA_SIG_set0(sig, br, bs)) {
		rc = cmn_error(ctx, CVMF_E_CRYPTO, "ECDSA_SIG_set0 failed");
		goto out;
	}
	br = bs = NULL;
	int dlen = i2d_ECDSA_SIG(sig, &der);
	if (dlen <= 0) {
		rc = cmn_error(ctx, CVMF_E_CRYPTO, "i2d_ECDSA_SIG failed");
		goto out;
	}
	if (EVP_DigestVerifyInit(mc, NULL, md, NULL, key) != 1) {
		rc = cmn_error(ctx, CVMF_E_CRYPTO, "EVP_DigestVerifyInit failed");
		goto out;
	}
	/* 1 verified, 0 a bad signature, < 0 a malformed one: only 1 is ok */
	*ret_ok = EVP_DigestVerify(mc, der, (size_t)dlen, msg, len) == 1;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mc);
	OPENSSL_free(der);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(sig);
	return rc;
}
