/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to attest/: certificates, roots, checks. Not installed. */
#ifndef CVMF_ATT_H
#define CVMF_ATT_H

#include <openssl/x509.h>

#include "common/internal.h"

static inline void att_sk_x509_free(STACK_OF(X509) *sk)
{
	sk_X509_pop_free(sk, X509_free);
}

/* ---- certificates (attest/certs.c) ---- */
/* Append every certificate of a blob (PEM with one or more, or one DER) to
 * sk; errors name the blob. */
int att_certs_load(cvmf_ctx *ctx, const struct cvmf_blob *b, STACK_OF(X509) *sk);
int att_crls_load(cvmf_ctx *ctx, const struct cvmf_blob *b, STACK_OF(X509_CRL) *sk);

/* The role of an AMD certificate, from its subject CN and key. */
enum att_amd_role { ATT_ROLE_OTHER, ATT_ROLE_ARK, ATT_ROLE_ASK, ATT_ROLE_ASVK,
		    ATT_ROLE_VCEK, ATT_ROLE_VLEK };
enum att_amd_role att_amd_role(X509 *x, enum cvmf_snp_product *ret_product);
const char *att_role_name(enum att_amd_role r);

/* AMD's VCEK/VLEK extensions (OID 1.3.6.1.4.1.3704.1.*). */
struct att_amd_ext {
	bool has_struct_version, has_product, has_hwid, has_csp_id;
	long struct_version;
	char product[32];
	bool has_spl[10];            /* index 1..9: .3.1 .. .3.9 */
	long spl[10];
	uint8_t hwid[64];
	size_t hwid_len;
};
/* Parse one extension value by OID arc (the part after 1.3.6.1.4.1.3704.1.,
 * e.g. "3.8"); used by att_amd_ext_get and the fuzzer. */
int att_amd_ext_value(cvmf_ctx *ctx, const char *arc, const uint8_t *der, size_t len,
		      struct att_amd_ext *e);
int att_amd_ext_get(cvmf_ctx *ctx, X509 *x, struct att_amd_ext *ret);

/* "CN, valid NOTBEFORE to NOTAFTER" for messages. */
void att_cert_desc(X509 *x, char *out, size_t n);
void att_cert_cn(X509 *x, char *out, size_t n);

/* Intel's SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1). */
struct att_sgx_ext {
	uint8_t fmspc[6], pce_id[2], cpusvn[16];
	uint8_t comp_svn[16];
	uint16_t pcesvn;
	bool has_fmspc, has_pce_id, has_tcb;
};
int att_sgx_ext_parse(cvmf_ctx *ctx, const uint8_t *der, size_t len, struct att_sgx_ext *ret);
/* The span of a top-level key's value in a JSON object, as served: the
 * exact bytes a signature covers. */
int att_json_slice(const char *buf, size_t len, const char *key, size_t *ret_off,
		   size_t *ret_len);

/* ---- pinned roots (attest/roots.c) ---- */
struct att_root { enum cvmf_snp_product product; const char *pem; };
extern const struct att_root att_amd_arks[];
extern const size_t att_amd_n_arks;
extern const char att_intel_sgx_root_pem[];

/* ---- checks (attest/verify.c) ---- */
struct att_run {
	cvmf_ctx *ctx;
	cvmf_check_fn check;
	void *user;
	struct cvmf_attest_result *res;
	time_t now;
};
/* Report one check; a failure is recorded in res (the first only). Returns ok. */
bool att_check(struct att_run *r, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Verify leaf with X509_STORE (roots trusted, untrusted intermediates, CRLs
 * when given, time r->now, no X509_STRICT). On failure, detail names the
 * certificate, the reason and, for time errors, its dates. */
bool att_x509_verify(struct att_run *r, X509 *leaf, STACK_OF(X509) *roots,
		     STACK_OF(X509) *untrusted, STACK_OF(X509_CRL) *crls, char *detail, size_t n,
		     STACK_OF(X509) **ret_chain);   /* ret_chain: NULL, or the chain, leaf first */
/* Load the given blobs (certs, trust roots, CRLs); errors name the blob. */
int att_load_all(cvmf_ctx *ctx, const struct cvmf_blob *b, size_t n, STACK_OF(X509) *sk);
int att_load_crls(cvmf_ctx *ctx, const struct cvmf_blob *b, size_t n, STACK_OF(X509_CRL) *sk);
/* ECDSA verification of a raw r||s signature (big-endian halves of n bytes each). */
int att_ecdsa_verify_raw(cvmf_ctx *ctx, EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
			 size_t len, const uint8_t *r, const uint8_t *s, size_t n, bool le,
			 bool *ret_ok);
int att_snp_verify(struct att_run *r, const struct cvmf_snp_report *rep,
		   const struct cvmf_attest_opts *o);
int att_tdx_verify(struct att_run *r, const struct cvmf_tdx_quote *q,
		   const struct cvmf_attest_opts *o);

#endif
