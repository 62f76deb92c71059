/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP report verification: ARK -> ASK -> VCEK (or ARK -> ASVK -> VLEK,
 * by the report's signer field) to AMD's pinned ARK of the report's product,
 * CRLs signed by the ARK, the VCEK's AMD extensions against the report
 * (SPLs = reported TCB; hwID = chip id, 8 bytes on Turin), the ECDSA P-384
 * signature over bytes 0x000-0x29F, then the policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "attest/att.h"

static int load_pinned(cvmf_ctx *ctx, const struct cvmf_snp_report *rep, STACK_OF(X509) *roots)
{
	for (size_t i = 0; i < att_amd_n_arks; i++) {
		if (rep->product_from_cpuid && att_amd_arks[i].product != rep->product)
			continue;
		struct cvmf_blob b = { att_amd_arks[i].pem, strlen(att_amd_arks[i].pem),
				       "pinned ARK" };
		int rc = att_certs_load(ctx, &b, roots);
		if (rc)
			return rc;
	}
	return 0;
}

static void hexs(const uint8_t *b, size_t n, char *out)
{
	cvmf_hex(b, n, out);
}

static void snp_policy(struct att_run *r, const struct cvmf_snp_report *rep,
		       const struct cvmf_snp_tcb *reported, const struct cvmf_snp_tcb *launch,
		       enum cvmf_snp_product prod, const struct cvmf_attest_policy *p)
{
	static const struct cvmf_attest_policy dflt;
	if (!p)
		p = &dflt;
	/* a key this platform has no field for is a failure, never ignored */
	if (p->has_min_tee_tcb_svn || p->n_tcb_status) {
		att_check(r, p->n_tcb_status ? "tcb_status" : "min_tcb", false, "the policy sets "
			  "%s, which an SEV-SNP report does not have", p->n_tcb_status ?
			  "allowed_tcb_status" : "min_tcb.tee_tcb_svn");
		return;
	}
	bool debug = rep->policy & CVMF_SNP_POLICY_DEBUG;
	if (!att_check(r, "debug", !debug || p->allow_debug, "%s",
		       !debug ? "the guest policy does not allow debugging" :
		       p->allow_debug ? "the guest policy allows debugging; the policy allows it" :
		       "the guest policy allows debugging (policy bit 19); set \"allow_debug\" "
		       "to accept it"))
		return;
	if (p->has_vmpl && !att_check(r, "vmpl", rep->vmpl == p->vmpl, "VMPL %u, the policy "
				      "wants %u", rep->vmpl, p->vmpl))
		return;
	if (p->has_min_guest_svn &&
	    !att_check(r, "min_guest_svn", rep->guest_svn >= p->min_guest_svn,
		       "guest SVN %u, the policy wants at least %u", rep->guest_svn,
		       p->min_guest_svn))
		return;
	if (p->has_min_tcb) {
		const struct cvmf_snp_tcb *t[2] = { reported, launch };
		const char *tn[2] = { "reported", "launch" };
		for (int i = 0; i < 2; i++) {
			const struct cvmf_snp_tcb *m = &p->min_tcb;
			const char *bad = t[i]->bootloader < m->bootloader ? "bootloader" :
					  t[i]->tee < m->tee ? "tee" : t[i]->snp < m->snp ? "snp" :
					  t[i]->microcode < m->microcode ? "microcode" :
					  prod == CVMF_SNP_TURIN && t[i]->fmc < m->fmc ? "fmc" : NULL;
			if (!att_check(r, "min_tcb", !bad, "%s TCB bootloader=%u tee=%u snp=%u "
				       "microcode=%u fmc=%u; minimum bootloader=%u tee=%u snp=%u "
				       "microcode=%u fmc=%u%s%s", tn[i], t[i]->bootloader, t[i]->tee,
				       t[i]->snp, t[i]->microcode, t[i]->fmc, m->bootloader, m->tee,
				       m->snp, m->microcode, m->fmc, bad ? ": too low: " : "",
				       bad ? bad : ""))
				return;
		}
	}
	char a[129], b[129];
	if (p->has_report_data) {
		hexs(rep->report_data, 64, a);
		hexs(p->report_data, 64, b);
		if (!att_check(r, "report_data", !memcmp(rep->report_data, p->report_data, 64),
			       "report_data %s, the policy wants %s", a, b))
			return;
	}
	if (p->has_host_data) {
		hexs(rep->host_data, 32, a);
		hexs(p->host_data, 32, b);
		if (!att_check(r, "host_data", !memcmp(rep->host_data, p->host_data, 32),
			       "host_data %s, the policy wants %s", a, b))
			return;
	}
	if (p->n_chip_ids) {
		bool hit = false;
		for (size_t i = 0; i < p->n_chip_ids && !hit; i++)
			hit = !memcmp(p->chip_ids[i], rep->chip_id, 64);
		hexs(rep->chip_id, prod == CVMF_SNP_TURIN ? 8 : 64, a);
		if (!att_check(r, "chip_ids", hit, "chip id %s%s in the policy's %zu", a,
			       hit ? " is" : " is not", p->n_chip_ids))
			return;
	}
}

int att_snp_verify(struct att_run *r, const struct cvmf_snp_report *rep,
		   const struct cvmf_attest_opts *o)
{
	cvmf_ctx *ctx = r->ctx;
	int rc = 0;
	char detail[400], desc[256];
	STACK_OF(X509) *certs = sk_X509_new_null(), *roots = sk_X509_new_null(), *chain = NULL;
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	if (!certs || !roots || !crls) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = att_load_all(ctx, o->certs, o->n_certs, certs)) ||
	    (rc = att_load_crls(ctx, o->crls, o->n_crls, crls)))
		goto out;
	if (o->n_trust_roots)
		rc = att_load_all(ctx, o->trust_roots, o->n_trust_roots, roots);
	else
		rc = load_pinned(ctx, rep, roots);
	if (rc)
		goto out;

	if (!att_check(r, "signer", rep->signer != CVMF_SNP_SIGNER_NONE, "%s",
		       rep->signer == CVMF_SNP_SIGNER_VCEK ? "VCEK" :
		       rep->signer == CVMF_SNP_SIGNER_VLEK ? "VLEK" :
		       "the report is not signed (signing key 7, none)"))
		goto out;
	enum att_amd_role want = rep->signer == CVMF_SNP_SIGNER_VCEK ? ATT_ROLE_VCEK : ATT_ROLE_VLEK;
	enum att_amd_role want_mid = want == ATT_ROLE_VCEK ? ATT_ROLE_ASK : ATT_ROLE_ASVK;

	/* the role of each certificate given */
	size_t k = 0, n_leaf = 0;
	detail[0] = 0;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		enum cvmf_snp_product cp;
		enum att_amd_role role = att_amd_role(sk_X509_value(certs, i), &cp);
		n_leaf += role == want;
		if (k < sizeof(detail))
			k += (size_t)snprintf(detail + k, sizeof(detail) - k, "%s%s%s%s%s",
					      i ? ", " : "", att_role_name(role),
					      cp ? " (" : "", cp ? cvmf_snp_product_name(cp) : "",
					      cp ? ")" : "");
	}
	if (!att_check(r, "certificates", n_leaf > 0, "%s%s%s%s%s", n_leaf ? "" : "no ",
		       n_leaf ? "" : att_role_name(want),
		       n_leaf ? "" : " among the certificates given; the report is signed by a ",
		       n_leaf ? "" : att_role_name(want),
		       n_leaf ? detail : (sk_X509_num(certs) ? "" : " (give it with --certs)")))
		goto out;

	/* the chain: the first leaf of the right role that verifies */
	X509 *leaf = NULL;
	char fail_detail[400] = "";
	for (int i = 0; i < sk_X509_num(certs) && !leaf; i++) {
		X509 *x = sk_X509_value(certs, i);
		if (att_amd_role(x, NULL) != want)
			continue;
		if (att_x509_verify(r, x, roots, certs, crls, detail, sizeof(detail), &chain))
			leaf = x;
		else
			snprintf(fail_detail, sizeof(fail_detail), "%s", detail);
	}
	if (!leaf) {
		char rootdesc[128] = "";
		if (!o->n_trust_roots)
			snprintf(rootdesc, sizeof(rootdesc), "AMD's pinned %s ARK%s",
				 rep->product_from_cpuid ? cvmf_snp_product_name(rep->product) :
				 "Milan, Genoa or Turin",
				 rep->product_from_cpuid ? " (the product of the report's CPUID)" : "");
		else
			snprintf(rootdesc, sizeof(rootdesc), "the --trust-root certificates");
		att_check(r, "chain", false, "the %s does not chain to %s: %s", att_role_name(want),
			  rootdesc, fail_detail);
		goto out;
	}
	/* the intermediate's role, and the product of the chain */
	int depth = sk_X509_num(chain);
	X509 *mid = depth >= 3 ? sk_X509_value(chain, 1) : NULL;
	enum cvmf_snp_product chain_prod = CVMF_SNP_PRODUCT_UNKNOWN, mp = 0;
	att_amd_role(sk_X509_value(chain, depth - 1), &chain_prod);
	if (!att_check(r, "chain", depth == 3 && att_amd_role(mid, &mp) == want_mid,
		       "%s%s%s", detail, depth == 3 ? "" : ": not 3 certificates deep",
		       depth == 3 && att_amd_role(mid, NULL) != want_mid ?
		       (want_mid == ATT_ROLE_ASK ? ": the intermediate is not an ASK" :
		        ": the intermediate is not an ASVK") : ""))
		goto out;
	if (!chain_prod)
		chain_prod = mp;
	if (rep->product_from_cpuid && chain_prod &&
	    !att_check(r, "product", chain_prod == rep->product, "the report's CPUID (family "
		       "0x%02x, model 0x%02x) is %s; the %s chains to %s", rep->cpuid_fam,
		       rep->cpuid_mod, cvmf_snp_product_name(rep->product), att_role_name(want),
		       cvmf_snp_product_name(chain_prod)))
		goto out;
	enum cvmf_snp_product prod = rep->product_from_cpuid ? rep->product : chain_prod;
	r->res->product = prod;
	struct cvmf_snp_tcb reported, launch;
	cvmf_snp_tcb_decode(rep->reported_tcb.raw, prod, &reported);
	cvmf_snp_tcb_decode(rep->launch_tcb.raw, prod, &launch);

	/* the AMD extensions against the report */
	struct att_amd_ext e;
	if (att_amd_ext_get(ctx, leaf, &e)) {
		att_check(r, "tcb", false, "%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	static const struct { int arc; const char *name; } spls[] = {
		{ 1, "bootloader" }, { 2, "tee" }, { 3, "snp" }, { 8, "microcode" }, { 9, "fmc" },
	};
	const uint8_t have[10] = { [1] = reported.bootloader, [2] = reported.tee,
				   [3] = reported.snp, [8] = reported.microcode,
				   [9] = reported.fmc };
	k = 0;
	const char *bad = NULL;
	for (size_t i = 0; i < sizeof(spls) / sizeof(spls[0]); i++) {
		int a = spls[i].arc;
		if (a == 9 && prod != CVMF_SNP_TURIN)
			continue;
		if (!e.has_spl[a] || e.spl[a] != have[a]) {
			bad = spls[i].name;
			snprintf(detail, sizeof(detail), "the %s's %s SPL (extension "
				 "1.3.6.1.4.1.3704.1.3.%d) is %s%ld, the report's reported_tcb has "
				 "%u", att_role_name(want), bad, a, e.has_spl[a] ? "" : "missing: ",
				 e.has_spl[a] ? e.spl[a] : 0L, have[a]);
			break;
		}
	}
	if (!bad)
		snprintf(detail, sizeof(detail), "%s SPLs = reported TCB (%s layout): "
			 "bootloader=%u tee=%u snp=%u microcode=%u%s", att_role_name(want),
			 cvmf_snp_product_name(prod), reported.bootloader, reported.tee,
			 reported.snp, reported.microcode, prod == CVMF_SNP_TURIN ? " fmc" : "");
	if (!att_check(r, "tcb", !bad, "%s", detail))
		goto out;
	if (want == ATT_ROLE_VCEK) {
		size_t hl = prod == CVMF_SNP_TURIN ? 8 : 64;
		char a[129], b[129];
		if (rep->mask_chip_key) {
			att_check(r, "hwid", true, "not compared: the report masks the chip id "
				  "(MASK_CHIP_KEY)");
		} else {
			bool ok = e.has_hwid && e.hwid_len == hl && !memcmp(e.hwid, rep->chip_id, hl);
			hexs(rep->chip_id, hl, a);
			if (e.has_hwid)
				hexs(e.hwid, e.hwid_len, b);
			if (!att_check(r, "hwid", ok, "chip id %s; the VCEK's hwID %s%s", a,
				       e.has_hwid ? b : "is missing",
				       ok ? "" : e.has_hwid && e.hwid_len != hl ?
				       " has the wrong length for the product" : " differs"))
				goto out;
		}
	}

	/* the report's signature */
	EVP_PKEY *key = X509_get0_pubkey(leaf);
	bool p384 = key && EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 384;
	if (rep->signature_algo != 1 || !p384) {
		att_check(r, "signature", false, "%s", rep->signature_algo != 1 ?
			  "signature_algo is not 1 (ECDSA P-384 with SHA-384)" :
			  "the signing certificate's key is not EC P-384");
		goto out;
	}
	bool sig_ok = false;
	if ((rc = att_ecdsa_verify_raw(ctx, key, EVP_sha384(), rep->raw, CVMF_SNP_SIGNED_LEN,
				       rep->sig_r, rep->sig_s, 72, true, &sig_ok)))
		goto out;
	att_cert_desc(leaf, desc, sizeof(desc));
	if (!att_check(r, "signature", sig_ok, "ECDSA P-384 over bytes 0x000-0x29F %s %s",
		       sig_ok ? "verifies under" : "does not verify under", desc))
		goto out;
	snp_policy(r, rep, &reported, &launch, prod, o->policy);
out:
	att_sk_x509_free(chain);
	att_sk_x509_free(certs);
	att_sk_x509_free(roots);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	return rc;
}
