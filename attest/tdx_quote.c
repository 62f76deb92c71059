/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TDX quotes (Intel DCAP quote format v4 and v5): the 48-byte header, the TD
 * report body (TD 1.0, 584 bytes; TD 1.5, 648 bytes), and the ECDSA
 * signature data with its certification data (type 6: the QE report, its
 * signature, the QE authentication data and a nested type 5 PCK chain).
 * Every length is checked against what remains before it is used.
 */
#include <stdlib.h>
#include <string.h>

#include "attest/att.h"

#define TDX_HEADER_LEN 48u
#define TD10_BODY_LEN 584u
#define TD15_BODY_LEN 648u

static void body_parse(struct cvmf_tdx_quote *q, const uint8_t *b, bool td15)
{
	memcpy(q->tee_tcb_svn, b + 0, 16);
	memcpy(q->mrseam, b + 16, 48);
	memcpy(q->mrsignerseam, b + 64, 48);
	q->seam_attributes = cmn_le64(b + 112);
	q->td_attributes = cmn_le64(b + 120);
	q->xfam = cmn_le64(b + 128);
	memcpy(q->mrtd, b + 136, 48);
	memcpy(q->mrconfigid, b + 184, 48);
	memcpy(q->mrowner, b + 232, 48);
	memcpy(q->mrownerconfig, b + 280, 48);
	for (int i = 0; i < 4; i++)
		memcpy(q->rtmr[i], b + 328 + 48 * i, 48);
	memcpy(q->report_data, b + 520, 64);
	if (td15) {
		memcpy(q->tee_tcb_svn2, b + 584, 16);
		memcpy(q->mrservicetd, b + 600, 48);
	}
}

void cvmf_tdx_quote_free(struct cvmf_tdx_quote *q)
{
	if (!q)
		return;
	free(q->raw);
	free(q);
}

int cvmf_tdx_quote_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			 struct cvmf_tdx_quote **ret)
{
	int rc = 0;
	struct cvmf_tdx_quote *q = calloc(1, sizeof(*q));
	if (!q || !(q->raw = malloc(len ? len : 1))) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(q->raw, buf, len);
	q->raw_len = len;
	const uint8_t *p = q->raw;
	if (len < TDX_HEADER_LEN) {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: %zu bytes, shorter than its "
				"48-byte header", len);
		goto out;
	}
	q->version = cmn_le16(p);
	q->att_key_type = cmn_le16(p + 2);
	q->tee_type = cmn_le32(p + 4);
	q->qe_svn = cmn_le16(p + 8);
	q->pce_svn = cmn_le16(p + 10);
	memcpy(q->qe_vendor_id, p + 12, 16);
	memcpy(q->user_data, p + 28, 20);
	if (q->version != 4 && q->version != 5) {
		rc = cmn_error(ctx, CVMF_E_UNSUPPORTED, "TDX quote: version %u at offset 0 "
				"(4 and 5 are known)", q->version);
		goto out;
	}
	if (q->tee_type != 0x81) {
		rc = cmn_error(ctx, CVMF_E_UNSUPPORTED, "TDX quote: TEE type 0x%x at offset 4 "
				"(0x81 is TDX; 0 is an SGX quote)", q->tee_type);
		goto out;
	}
	if (q->att_key_type != 2) {
		rc = cmn_error(ctx, CVMF_E_UNSUPPORTED, "TDX quote: attestation key type %u at "
				"offset 2 (2, ECDSA P-256, is known)", q->att_key_type);
		goto out;
	}
	size_t off = TDX_HEADER_LEN;
	if (q->version == 4) {
		q->body_type = 2;
		q->body_size = TD10_BODY_LEN;
	} else {
		if (len < off + 6) {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote v5: truncated at offset %zu "
					"(body type and size)", off);
			goto out;
		}
		q->body_type = cmn_le16(p + off);
		q->body_size = cmn_le32(p + off + 2);
		uint32_t want = q->body_type == 2 ? TD10_BODY_LEN :
				q->body_type == 3 ? TD15_BODY_LEN : 0;
		if (!want) {
			rc = cmn_error(ctx, CVMF_E_UNSUPPORTED, "TDX quote v5: body type %u at "
					"offset 48 (2 TD 1.0 and 3 TD 1.5 are known; 1 is SGX)",
					q->body_type);
			goto out;
		}
		if (q->body_size != want) {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote v5: body size %u at offset "
					"50, a body of type %u has %u bytes", q->body_size,
					q->body_type, want);
			goto out;
		}
		off += 6;
	}
	if (len - off < q->body_size) {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: truncated in the TD report body "
				"(%zu bytes, the body ends at %zu)", len, off + q->body_size);
		goto out;
	}
	body_parse(q, p + off, q->body_type == 3);
	off += q->body_size;
	q->signed_len = off;
	if (len - off < 4) {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: truncated at offset %zu "
				"(signature data length)", off);
		goto out;
	}
	uint32_t sig_len = cmn_le32(p + off);
	off += 4;
	if (sig_len > len - off) {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: signature data length %u at "
				"offset %zu exceeds the %zu bytes left", sig_len, off - 4, len - off);
		goto out;
	}
	size_t end = off + sig_len;
	if (end - off < 64 + 64 + 6) {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: signature data of %u bytes at "
				"offset %zu, shorter than signature, key and certification header",
				sig_len, off);
		goto out;
	}
	memcpy(q->signature, p + off, 64);
	memcpy(q->att_key, p + off + 64, 64);
	off += 128;
	q->cert_type = cmn_le16(p + off);
	q->cert_size = cmn_le32(p + off + 2);
	off += 6;
	if (q->cert_size > end - off) {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: certification data size %u at "
				"offset %zu exceeds the %zu bytes of signature data left",
				q->cert_size, off - 4, end - off);
		goto out;
	}
	end = off + q->cert_size;
	if (q->cert_type == 6) {
		if (end - off < 384 + 64 + 2) {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: QE report certification "
					"data at offset %zu is %u bytes, too short", off, q->cert_size);
			goto out;
		}
		q->has_qe = true;
		const uint8_t *r = p + off;
		memcpy(q->qe_report, r, 384);
		memcpy(q->qe_cpusvn, r, 16);
		q->qe_miscselect = cmn_le32(r + 16);
		memcpy(q->qe_attributes, r + 48, 16);
		memcpy(q->qe_mrenclave, r + 64, 32);
		memcpy(q->qe_mrsigner, r + 128, 32);
		q->qe_isvprodid = cmn_le16(r + 256);
		q->qe_isvsvn = cmn_le16(r + 258);
		memcpy(q->qe_report_data, r + 320, 64);
		memcpy(q->qe_report_sig, r + 384, 64);
		off += 448;
		q->qe_auth_len = cmn_le16(p + off);
		off += 2;
		if (q->qe_auth_len > end - off) {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: QE authentication data "
					"length %u at offset %zu exceeds the %zu bytes left",
					q->qe_auth_len, off - 2, end - off);
			goto out;
		}
		q->qe_auth_data = p + off;
		off += q->qe_auth_len;
		if (end - off < 6) {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: truncated at offset %zu "
					"(nested certification data header)", off);
			goto out;
		}
		q->pck_cert_type = cmn_le16(p + off);
		q->pck_chain_len = cmn_le32(p + off + 2);
		off += 6;
		if (q->pck_chain_len > end - off) {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "TDX quote: nested certification data "
					"size %u at offset %zu exceeds the %zu bytes left",
					q->pck_chain_len, off - 4, end - off);
			goto out;
		}
		q->pck_chain = p + off;
	}
	*ret = q;
	q = NULL;
out:
	cvmf_tdx_quote_free(q);
	return rc;
}

/* ---- either kind ---- */

void cvmf_attestation_free(struct cvmf_attestation *a)
{
	if (!a)
		return;
	free(a->snp);
	cvmf_tdx_quote_free(a->tdx);
	free(a);
}

int cvmf_attestation_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			   struct cvmf_attestation **ret)
{
	int rc = 0;
	struct cvmf_attestation *a = calloc(1, sizeof(*a));
	if (!a) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	bool tdx = len >= 8 && (cmn_le16(buf) == 4 || cmn_le16(buf) == 5) &&
		   cmn_le32(buf + 4) == 0x81;
	if (!tdx && len == CVMF_SNP_REPORT_SIZE) {
		a->kind = CVMF_ATT_SNP;
		if (!(a->snp = malloc(sizeof(*a->snp)))) {
			rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		rc = cvmf_snp_report_parse(ctx, buf, len, a->snp);
	} else if (tdx) {
		a->kind = CVMF_ATT_TDX;
		rc = cvmf_tdx_quote_parse(ctx, buf, len, &a->tdx);
	} else {
		rc = cmn_error(ctx, CVMF_E_FORMAT, "neither an SEV-SNP report (1184 bytes, "
				"version 2 to 5) nor a TDX quote (version 4 or 5, TEE type 0x81): "
				"%zu bytes%s", len, len >= 8 ? ", version and TEE type do not match" :
				"");
	}
	if (rc)
		goto out;
	*ret = a;
	a = NULL;
out:
	cvmf_attestation_free(a);
	return rc;
}

int cvmf_attestation_read(cvmf_ctx *ctx, const char *path, struct cvmf_attestation **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = cmn_read_file(ctx, "attestation report", path, 1u << 20, &buf, &len);
	if (rc)
		return rc;
	struct cvmf_attestation *a = NULL;
	rc = cvmf_attestation_parse(ctx, buf, len, &a);
	if (rc) {
		char msg[sizeof(((struct cvmf_ctx *)0)->msg)];
		snprintf(msg, sizeof(msg), "%s", cvmf_ctx_errmsg(ctx));
		cmn_error(ctx, rc, "%s: %s", path, msg);
	} else {
		*ret = a;
	}
	free(buf);
	return rc;
}
