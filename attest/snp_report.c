/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP attestation reports (AMD SEV-SNP ABI, ATTESTATION_REPORT): every
 * field by offset, the TCB decoded with the product's layout (Turin adds an
 * FMC byte and reorders), the product from CPUID on v3+.
 */
#include <stdlib.h>
#include <string.h>

#include "attest/att.h"

const char *cvmf_snp_product_name(enum cvmf_snp_product p)
{
	switch (p) {
	case CVMF_SNP_MILAN: return "Milan";
	case CVMF_SNP_GENOA: return "Genoa";
	case CVMF_SNP_TURIN: return "Turin";
	case CVMF_SNP_PRODUCT_UNKNOWN: break;
	}
	return "unknown";
}

enum cvmf_snp_product cvmf_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19) {
		if (model <= 0x0f)
			return CVMF_SNP_MILAN;
		if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))
			return CVMF_SNP_GENOA;   /* Bergamo and Siena sign as Genoa */
	}
	if (family == 0x1a)
		return CVMF_SNP_TURIN;
	return CVMF_SNP_PRODUCT_UNKNOWN;
}

void cvmf_snp_tcb_decode(const uint8_t raw[8], enum cvmf_snp_product p, struct cvmf_snp_tcb *ret)
{
	struct cvmf_snp_tcb t = { 0 };
	memcpy(t.raw, raw, 8);
	if (p == CVMF_SNP_TURIN) {
		t.fmc = raw[0];
		t.bootloader = raw[1];
		t.tee = raw[2];
		t.snp = raw[3];
	} else {
		t.bootloader = raw[0];
		t.tee = raw[1];
		t.snp = raw[6];
	}
	t.microcode = raw[7];
	*ret = t;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int cvmf_snp_report_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			  struct cvmf_snp_report *ret)
{
	if (len != CVMF_SNP_REPORT_SIZE)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "SNP report: %zu bytes, an attestation report has %u", len,
				  CVMF_SNP_REPORT_SIZE);
	struct cvmf_snp_report *r = calloc(1, sizeof(*r));
	if (!r)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	int rc = 0;
	memcpy(r->raw, buf, len);
	r->version = cmn_le32(buf + 0x000);
	if (r->version < 2 || r->version > 5) {
		rc = cmn_error(ctx, CVMF_E_UNSUPPORTED,
				"SNP report: version %u at offset 0x000 (versions 2 to 5 are known)",
				r->version);
		goto out;
	}
	r->guest_svn = cmn_le32(buf + 0x004);
	r->policy = cmn_le64(buf + 0x008);
	memcpy(r->family_id, buf + 0x010, 16);
	memcpy(r->image_id, buf + 0x020, 16);
	r->vmpl = cmn_le32(buf + 0x030);
	r->signature_algo = cmn_le32(buf + 0x034);
	r->platform_info = cmn_le64(buf + 0x040);
	r->signer_info = cmn_le32(buf + 0x048);
	r->author_key_en = r->signer_info & 1;
	r->mask_chip_key = r->signer_info >> 1 & 1;
	unsigned signer = r->signer_info >> 2 & 7;
	if (signer != CVMF_SNP_SIGNER_VCEK && signer != CVMF_SNP_SIGNER_VLEK &&
	    signer != CVMF_SNP_SIGNER_NONE) {
		rc = cmn_error(ctx, CVMF_E_FORMAT,
				"SNP report: signing key %u in signer_info 0x%x at offset 0x048 "
				"(0 VCEK, 1 VLEK, 7 none)", signer, r->signer_info);
		goto out;
	}
	r->signer = (enum cvmf_snp_signer)signer;
	memcpy(r->report_data, buf + 0x050, 64);
	memcpy(r->measurement, buf + 0x090, 48);
	memcpy(r->host_data, buf + 0x0c0, 32);
	memcpy(r->id_key_digest, buf + 0x0e0, 48);
	memcpy(r->author_key_digest, buf + 0x110, 48);
	memcpy(r->report_id, buf + 0x140, 32);
	memcpy(r->report_id_ma, buf + 0x160, 32);
	memcpy(r->chip_id, buf + 0x1a0, 64);
	if (r->version >= 3) {
		r->has_cpuid = true;
		r->cpuid_fam = buf[0x188];
		r->cpuid_mod = buf[0x189];
		r->cpuid_step = buf[0x18a];
		r->product = cvmf_snp_product_from_cpuid(r->cpuid_fam, r->cpuid_mod);
		r->product_from_cpuid = r->product != CVMF_SNP_PRODUCT_UNKNOWN;
	} else if (!r->mask_chip_key && !all_zero(r->chip_id, 8) &&
		   all_zero(r->chip_id + 8, 56)) {
		r->product = CVMF_SNP_TURIN;   /* an 8-byte hwID: a guess, the chain decides */
	}
	cvmf_snp_tcb_decode(buf + 0x038, r->product, &r->current_tcb);
	cvmf_snp_tcb_decode(buf + 0x180, r->product, &r->reported_tcb);
	cvmf_snp_tcb_decode(buf + 0x1e0, r->product, &r->committed_tcb);
	cvmf_snp_tcb_decode(buf + 0x1f0, r->product, &r->launch_tcb);
	r->current_build = buf[0x1e8];
	r->current_minor = buf[0x1e9];
	r->current_major = buf[0x1ea];
	r->committed_build = buf[0x1ec];
	r->committed_minor = buf[0x1ed];
	r->committed_major = buf[0x1ee];
	if (r->version >= 5) {
		r->has_mitigations = true;
		r->launch_mit_vector = cmn_le64(buf + 0x1f8);
		r->current_mit_vector = cmn_le64(buf + 0x200);
	}
	memcpy(r->sig_r, buf + 0x2a0, 72);
	memcpy(r->sig_s, buf + 0x2e8, 72);
	*ret = *r;
out:
	free(r);
	return rc;
}
