/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificates for attestation: loading (PEM with any number of
 * certificates, or one DER), the role of an AMD certificate (ARK, ASK,
 * ASVK, VCEK, VLEK), and AMD's VCEK/VLEK extensions (OID arc
 * 1.3.6.1.4.1.3704.1: struct version, product name, the SPLs of each TCB
 * component, the hwID or the CSP id).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "attest/att.h"

static const char *blob_name(const struct cvmf_blob *b, const char *dflt)
{
	return b->name ? b->name : dflt;
}

static bool is_pem(const struct cvmf_blob *b)
{
	const char *p = b->data;
	size_t i = 0;
	while (i < b->len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return b->len - i >= 10 && !memcmp(p + i, "-----BEGIN", 10);
}

int att_certs_load(cvmf_ctx *ctx, const struct cvmf_blob *b, STACK_OF(X509) *sk)
{
	const char *name = blob_name(b, "certificate");
	int rc = 0, n = 0;
	if (b->len > INT32_MAX)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: too large for a certificate", name);
	if (is_pem(b)) {
		BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
		if (!bio)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		X509 *x;
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			if (!sk_X509_push(sk, x)) {
				X509_free(x);
				rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
				break;
			}
			n++;
		}
		unsigned long e = ERR_peek_last_error();
		ERR_clear_error();
		BIO_free(bio);
		if (!rc && (!n || (e && ERR_GET_REASON(e) != PEM_R_NO_START_LINE)))
			rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s", name,
					n ? "a PEM certificate after the first cannot be read" :
					    "no PEM certificate can be read");
		return rc;
	}
	const unsigned char *p = b->data;
	X509 *x = d2i_X509(NULL, &p, (long)b->len);
	ERR_clear_error();
	if (!x || p != (const unsigned char *)b->data + b->len) {
		X509_free(x);
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: neither PEM nor one DER certificate", name);
	}
	if (!sk_X509_push(sk, x)) {
		X509_free(x);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	return 0;
}

int att_crls_load(cvmf_ctx *ctx, const struct cvmf_blob *b, STACK_OF(X509_CRL) *sk)
{
	const char *name = blob_name(b, "CRL");
	int rc = 0, n = 0;
	if (b->len > INT32_MAX)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: too large for a CRL", name);
	if (is_pem(b)) {
		BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
		if (!bio)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		X509_CRL *c;
		while ((c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
			if (!sk_X509_CRL_push(sk, c)) {
				X509_CRL_free(c);
				rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
				break;
			}
			n++;
		}
		ERR_clear_error();
		BIO_free(bio);
		if (!rc && !n)
			rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: no PEM CRL can be read", name);
		return rc;
	}
	const unsigned char *p = b->data;
	X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)b->len);
	ERR_clear_error();
	if (!c || p != (const unsigned char *)b->data + b->len) {
		X509_CRL_free(c);
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: neither PEM nor one DER CRL", name);
	}
	if (!sk_X509_CRL_push(sk, c)) {
		X509_CRL_free(c);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	return 0;
}

void att_cert_cn(X509 *x, char *out, size_t n)
{
	out[0] = 0;
	X509_NAME *nm = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
	if (i >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
		int len = ASN1_STRING_length(s);
		const unsigned char *d = ASN1_STRING_get0_data(s);
		size_t k = 0;
		for (int j = 0; j < len && k + 1 < n; j++)
			out[k++] = d[j] >= 0x20 && d[j] < 0x7f ? (char)d[j] : '?';
		out[k] = 0;
	}
	if (!out[0])
		X509_NAME_oneline(nm, out, (int)n);
}

static void asn1_time_str(const ASN1_TIME *t, char *out, size_t n)
{
	struct tm tm;
	if (t && ASN1_TIME_to_tm(t, &tm))
		strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(out, n, "?");
}

void att_cert_desc(X509 *x, char *out, size_t n)
{
	char cn[128], a[32], b[32];
	att_cert_cn(x, cn, sizeof(cn));
	asn1_time_str(X509_get0_notBefore(x), a, sizeof(a));
	asn1_time_str(X509_get0_notAfter(x), b, sizeof(b));
	snprintf(out, n, "'%s' (valid %s to %s)", cn, a, b);
}

const char *att_role_name(enum att_amd_role r)
{
	switch (r) {
	case ATT_ROLE_ARK: return "ARK";
	case ATT_ROLE_ASK: return "ASK";
	case ATT_ROLE_ASVK: return "ASVK";
	case ATT_ROLE_VCEK: return "VCEK";
	case ATT_ROLE_VLEK: return "VLEK";
	case ATT_ROLE_OTHER: break;
	}
	return "other";
}

static enum cvmf_snp_product product_suffix(const char *s)
{
	if (!strncmp(s, "Milan", 5))
		return CVMF_SNP_MILAN;
	if (!strncmp(s, "Genoa", 5))
		return CVMF_SNP_GENOA;
	if (!strncmp(s, "Turin", 5))
		return CVMF_SNP_TURIN;
	return CVMF_SNP_PRODUCT_UNKNOWN;
}

enum att_amd_role att_amd_role(X509 *x, enum cvmf_snp_product *ret_product)
{
	char cn[128];
	enum cvmf_snp_product prod = CVMF_SNP_PRODUCT_UNKNOWN;
	enum att_amd_role role = ATT_ROLE_OTHER;
	att_cert_cn(x, cn, sizeof(cn));
	if (!strncmp(cn, "ARK-", 4)) {
		role = ATT_ROLE_ARK;
		prod = product_suffix(cn + 4);
	} else if (!strncmp(cn, "SEV-VLEK-", 9)) {
		role = ATT_ROLE_ASVK;
		prod = product_suffix(cn + 9);
	} else if (!strcmp(cn, "SEV-VCEK") || !strcmp(cn, "SEV-VLEK")) {
		role = cn[5] == 'C' ? ATT_ROLE_VCEK : ATT_ROLE_VLEK;
		struct att_amd_ext e;
		if (!att_amd_ext_get(NULL, x, &e) && e.has_product)
			prod = product_suffix(e.product);
	} else if (!strncmp(cn, "SEV-", 4)) {
		role = ATT_ROLE_ASK;
		prod = product_suffix(cn + 4);
	} else {
		/* no AMD name: a hwID makes a VCEK, a CSP id a VLEK */
		struct att_amd_ext e;
		if (!att_amd_ext_get(NULL, x, &e)) {
			if (e.has_hwid)
				role = ATT_ROLE_VCEK;
			else if (e.has_csp_id)
				role = ATT_ROLE_VLEK;
			if (e.has_product)
				prod = product_suffix(e.product);
		}
	}
	if (ret_product)
		*ret_product = prod;
	return role;
}

#define AMD_ARC "1.3.6.1.4.1.3704.1."

int att_amd_ext_value(cvmf_ctx *ctx, const char *arc, const uint8_t *der, size_t len,
		      struct att_amd_ext *e)
{
	const unsigned char *p = der;
	int rc = 0;
	if (len > INT32_MAX)
		return cmn_error(ctx, CVMF_E_FORMAT, "AMD extension %s%s: too large", AMD_ARC, arc);
	if (!strcmp(arc, "4")) {   /* hwID: the raw bytes */
		if (len != 64 && len != 8)
			return cmn_error(ctx, CVMF_E_FORMAT, "AMD extension %s4 (hwID): %zu "
					  "bytes, not 64 (or 8 on Turin)", AMD_ARC, len);
		memcpy(e->hwid, der, len);
		e->hwid_len = len;
		e->has_hwid = true;
		return 0;
	}
	if (!strcmp(arc, "2") || !strcmp(arc, "5")) {   /* product name, CSP id */
		ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, (long)len);
		if (!s || p != der + len) {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "AMD extension %s%s: not one IA5String",
					AMD_ARC, arc);
		} else if (arc[0] == '2') {
			int n = ASN1_STRING_length(s);
			if (n >= (int)sizeof(e->product))
				n = (int)sizeof(e->product) - 1;
			for (int i = 0; i < n; i++) {
				unsigned char c = ASN1_STRING_get0_data(s)[i];
				e->product[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
			}
			e->product[n] = 0;
			e->has_product = true;
		} else {
			e->has_csp_id = true;
		}
		ASN1_IA5STRING_free(s);
		ERR_clear_error();
		return rc;
	}
	int idx = -1;
	if (!strcmp(arc, "1"))
		idx = 0;
	else if (!strncmp(arc, "3.", 2) && arc[2] >= '1' && arc[2] <= '9' && !arc[3])
		idx = arc[2] - '0';
	if (idx < 0)
		return 0;   /* an arc we do not use */
	ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &p, (long)len);
	int64_t v = 0;
	if (!ai || p != der + len || !ASN1_INTEGER_get_int64(&v, ai) || v < 0 || v > 255)
		rc = cmn_error(ctx, CVMF_E_FORMAT, "AMD extension %s%s: not one INTEGER 0..255",
				AMD_ARC, arc);
	ASN1_INTEGER_free(ai);
	ERR_clear_error();
	if (rc)
		return rc;
	if (idx == 0) {
		e->has_struct_version = true;
		e->struct_version = (long)v;
	} else {
		e->has_spl[idx] = true;
		e->spl[idx] = (long)v;
	}
	return 0;
}

int att_amd_ext_get(cvmf_ctx *ctx, X509 *x, struct att_amd_ext *ret)
{
	struct att_amd_ext e;
	memset(&e, 0, sizeof(e));
	int n = X509_get_ext_count(x);
	for (int i = 0; i < n; i++) {
		X509_EXTENSION *ext = X509_get_ext(x, i);
		char oid[80];
		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0)
			continue;
		if (strncmp(oid, AMD_ARC, strlen(AMD_ARC)))
			continue;
		ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);
		int rc = att_amd_ext_value(ctx, oid + strlen(AMD_ARC), ASN1_STRING_get0_data(d),
					   (size_t)ASN1_STRING_length(d), &e);
		if (rc)
			return rc;
	}
	*ret = e;
	return 0;
}
