/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for attest/'s parsers: the SEV-SNP report and TDX quote
 * (cvmf_attestation_parse, auto-detection included), AMD's VCEK extension
 * values (att_amd_ext_value), Intel's PCK SGX extension
 * (att_sgx_ext_parse), the exact-bytes JSON slicer (att_json_slice) and
 * certificate loading (att_certs_load, PEM and DER).
 *
 * Input: byte 0 picks the parser, the rest is its input.
 *   0-63    report or quote (byte 0 & 1: forced to 1184 bytes, zero-padded
 *           or cut, so the SNP path is reached)
 *   64-127  an AMD extension value; the arc is one of the known ones
 *   128-159 the PCK SGX extension
 *   160-191 the JSON slicer, for "tcbInfo"
 *   192-255 a certificate blob, then the role and the AMD extensions
 * Invariants: a parse either fails with a message or yields fields that lie
 * in the input (TDX pointers into the owned copy, lengths inside it).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/att.h"

static const char *const arcs[] = { "1", "2", "3.1", "3.2", "3.3", "3.8", "3.9", "4", "5", "6" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return 0;
	if (sel < 64) {
		uint8_t *buf = NULL;
		size_t len = n;
		if (sel & 1) {
			len = CVMF_SNP_REPORT_SIZE;
			buf = calloc(1, len);
			if (buf)
				memcpy(buf, in, n < len ? n : len);
		} else {
			buf = malloc(n ? n : 1);
			if (buf)
				memcpy(buf, in, n);
		}
		struct cvmf_attestation *a = NULL;
		if (buf && !cvmf_attestation_parse(ctx, buf, len, &a)) {
			if (a->kind == CVMF_ATT_TDX) {
				const struct cvmf_tdx_quote *q = a->tdx;
				if (q->signed_len > q->raw_len)
					abort();
				if (q->has_qe &&
				    (q->qe_auth_data < q->raw ||
				     q->qe_auth_data + q->qe_auth_len > q->raw + q->raw_len ||
				     q->pck_chain < q->raw ||
				     q->pck_chain + q->pck_chain_len > q->raw + q->raw_len))
					abort();
			} else if (a->kind != CVMF_ATT_SNP || a->snp->version < 2 ||
				   a->snp->version > 5) {
				abort();
			}
		} else if (!cvmf_ctx_errmsg(ctx)[0]) {
			abort();   /* a failure always says why */
		}
		cvmf_attestation_free(a);
		free(buf);
	} else if (sel < 128) {
		struct att_amd_ext e;
		memset(&e, 0, sizeof(e));
		const char *arc = arcs[sel % (sizeof(arcs) / sizeof(arcs[0]))];
		if (!att_amd_ext_value(ctx, arc, in, n, &e) && e.has_hwid &&
		    e.hwid_len != 8 && e.hwid_len != 64)
			abort();
	} else if (sel < 160) {
		struct att_sgx_ext e;
		att_sgx_ext_parse(ctx, in, n, &e);
	} else if (sel < 192) {
		size_t off, len;
		if (!att_json_slice((const char *)in, n, "tcbInfo", &off, &len) &&
		    (off > n || len > n - off))
			abort();
	} else {
		STACK_OF(X509) *sk = sk_X509_new_null();
		struct cvmf_blob b = { in, n, "fuzz" };
		if (sk && !att_certs_load(ctx, &b, sk)) {
			for (int i = 0; i < sk_X509_num(sk); i++) {
				struct att_amd_ext e;
				enum cvmf_snp_product p;
				char d[256];
				att_amd_role(sk_X509_value(sk, i), &p);
				att_amd_ext_get(ctx, sk_X509_value(sk, i), &e);
				att_cert_desc(sk_X509_value(sk, i), d, sizeof(d));
			}
		}
		att_sk_x509_free(sk);
	}
	cvmf_ctx_free(ctx);
	return 0;
}
