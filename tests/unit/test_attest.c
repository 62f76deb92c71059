/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation: parsing and verification of SEV-SNP reports and TDX quotes.
 *   - the real reports and quotes of ../shared/fixtures/attest-upstream: the
 *     fields its README lists, verification with the right material, and
 *     failure with the wrong one (a flipped bit in the signed bytes, another
 *     product's VCEK, an expired CRL now vs --at-time, the DEBUG quote);
 *   - synthetic chains made here with OpenSSL (an RSA-PSS ARK, an ASK or
 *     ASVK, a VCEK or VLEK with AMD's extensions) signing synthetic reports:
 *     revocation by a CRL, TCB and hwID mismatches, Turin, v2, VLEK, expiry,
 *     every policy key;
 *   - TDX collateral signed by a test TCB signing key over the exact bytes;
 *   - the command line: exit codes, the first line naming the failed check.
 */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "tests/unit/testlib.h"
#include "attest/att.h"
#include "builder/image.h"

#define FIX "fixtures/attest-upstream/"

/* ---- helpers ---- */

struct buf {
	uint8_t *d;
	size_t n;
};

static bool fixture(const char *rel, struct buf *b)
{
	char *p = t_shared_file(rel);
	if (!p)
		return false;
	b->d = (uint8_t *)t_slurp(p, &b->n);
	free(p);
	return true;
}

static void hex_eq(const uint8_t *d, size_t n, const char *want)
{
	char h[2 * 128 + 1];
	assert_true(n <= 128);
	cvmf_hex(d, n, h);
	assert_string_equal(h, want);
}

struct checks {
	char names[64][32];
	bool ok[64];
	size_t n;
};

static void rec(void *user, const char *what, bool ok, const char *detail)
{
	struct checks *c = user;
	(void)detail;
	if (c->n < 64) {
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s", what);
		c->ok[c->n++] = ok;
	}
}

static bool ran(const struct checks *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->names[i], name))
			return true;
	return false;
}

/* Verify buf with opts; the result (and the message on failure). */
static struct cvmf_attest_result verify_buf(const struct buf *b, const struct cvmf_attest_opts *o,
					    struct checks *c)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_attestation *a = NULL;
	struct cvmf_attest_result res;
	struct checks dummy = { 0 };
	int rc = cvmf_attestation_parse(ctx, b->d, b->n, &a);
	if (rc)
		fail_msg("parse: %s", cvmf_ctx_errmsg(ctx));
	rc = cvmf_attest_verify(ctx, a, o, rec, c ? c : &dummy, &res);
	if (rc)
		fail_msg("verify: %s", cvmf_ctx_errmsg(ctx));
	if (!res.verified)
		printf("# failed %s: %s\n", res.failed_check, res.failed_detail);
	cvmf_attestation_free(a);
	cvmf_ctx_free(ctx);
	return res;
}

static struct cvmf_blob blob_of(const struct buf *b, const char *name)
{
	return (struct cvmf_blob){ b->d, b->n, name };
}

static time_t utc(int y, int mo, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = 12 };
	return timegm(&tm);
}

/* ---- fixtures: parsing ---- */

static void test_snp_parse_fixtures(void **state)
{
	(void)state;
	struct buf m, g;
	if (!fixture(FIX "snp/milan/report.bin", &m) || !fixture(FIX "snp/genoa/report.bin", &g))
		skip();
	struct cvmf_snp_report r;
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(cvmf_snp_report_parse(ctx, m.d, m.n, &r), 0);
	assert_int_equal(r.version, 3);
	assert_int_equal(r.policy, 0x3001f);
	assert_int_equal(r.vmpl, 0);
	assert_int_equal(r.signer_info, 0);
	assert_int_equal(r.signer, CVMF_SNP_SIGNER_VCEK);
	hex_eq(r.measurement, 48, "5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f"
	       "98189887920ab2fa0096903a0c23fca1");
	hex_eq(r.host_data, 32, "4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10");
	hex_eq(r.reported_tcb.raw, 8, "04000000000018db");
	assert_int_equal(r.reported_tcb.bootloader, 4);
	assert_int_equal(r.reported_tcb.snp, 0x18);
	assert_int_equal(r.reported_tcb.microcode, 0xdb);
	assert_true(r.has_cpuid);
	assert_int_equal(r.cpuid_fam, 0x19);
	assert_int_equal(r.cpuid_mod, 0x01);
	assert_int_equal(r.cpuid_step, 0x01);
	assert_int_equal(r.product, CVMF_SNP_MILAN);
	hex_eq(r.chip_id, 8, "4ffb5cb4fd594f3f");
	assert_false(r.policy & CVMF_SNP_POLICY_DEBUG);
	assert_true(r.policy & CVMF_SNP_POLICY_SMT);

	assert_int_equal(cvmf_snp_report_parse(ctx, g.d, g.n, &r), 0);
	hex_eq(r.reported_tcb.raw, 8, "0a00000000001754");
	assert_int_equal(r.reported_tcb.bootloader, 0x0a);
	assert_int_equal(r.reported_tcb.snp, 0x17);
	assert_int_equal(r.reported_tcb.microcode, 0x54);
	assert_int_equal(r.cpuid_mod, 0x11);
	assert_int_equal(r.product, CVMF_SNP_GENOA);
	hex_eq(r.chip_id, 8, "b1e24a27bbc3a4d5");

	/* wrong size, unknown version, unknown signer: errors, never a crash */
	assert_int_equal(cvmf_snp_report_parse(ctx, g.d, g.n - 1, &r), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "1183 bytes"));
	g.d[0] = 6;
	assert_int_equal(cvmf_snp_report_parse(ctx, g.d, g.n, &r), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "version 6"));
	g.d[0] = 3;
	g.d[0x48] = 2 << 2;
	assert_int_equal(cvmf_snp_report_parse(ctx, g.d, g.n, &r), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "signing key 2"));
	cvmf_ctx_free(ctx);
	free(m.d);
	free(g.d);
}

static void test_tcb_layout_per_product(void **state)
{
	(void)state;
	const uint8_t raw[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct cvmf_snp_tcb t;
	cvmf_snp_tcb_decode(raw, CVMF_SNP_GENOA, &t);
	assert_int_equal(t.bootloader, 1);
	assert_int_equal(t.tee, 2);
	assert_int_equal(t.snp, 7);
	assert_int_equal(t.microcode, 8);
	cvmf_snp_tcb_decode(raw, CVMF_SNP_TURIN, &t);
	assert_int_equal(t.fmc, 1);
	assert_int_equal(t.bootloader, 2);
	assert_int_equal(t.tee, 3);
	assert_int_equal(t.snp, 4);
	assert_int_equal(t.microcode, 8);
	assert_int_equal(cvmf_snp_product_from_cpuid(0x19, 0x01), CVMF_SNP_MILAN);
	assert_int_equal(cvmf_snp_product_from_cpuid(0x19, 0x11), CVMF_SNP_GENOA);
	assert_int_equal(cvmf_snp_product_from_cpuid(0x19, 0xa0), CVMF_SNP_GENOA);
	assert_int_equal(cvmf_snp_product_from_cpuid(0x1a, 0x02), CVMF_SNP_TURIN);
	assert_int_equal(cvmf_snp_product_from_cpuid(0x17, 0x31), CVMF_SNP_PRODUCT_UNKNOWN);
}

static void test_tdx_parse_fixtures(void **state)
{
	(void)state;
	struct buf p, d;
	if (!fixture(FIX "tdx/tdx_prod_quote_SPR_E4.dat", &p) ||
	    !fixture(FIX "tdx/tdx_quote_debug.dat", &d))
		skip();
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_tdx_quote *q = NULL;
	assert_int_equal(cvmf_tdx_quote_parse(ctx, p.d, p.n, &q), 0);
	assert_int_equal(q->version, 4);
	assert_int_equal(q->tee_type, 0x81);
	assert_int_equal(q->body_type, 2);
	uint8_t attr[8];
	t_le64(attr, q->td_attributes);
	hex_eq(attr, 8, "0000004000000000");
	assert_false(q->td_attributes & CVMF_TD_ATTR_DEBUG);
	hex_eq(q->mrtd, 48, "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f"
	       "22fc00b8dcd404bc10d5e119d7215cbb");
	hex_eq(q->rtmr[0], 48, "2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976"
	       "823adf08f833c1e50b51779c6593f32a");
	hex_eq(q->report_data, 32, "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545");
	assert_true(q->has_qe);
	assert_int_equal(q->cert_type, 6);
	assert_int_equal(q->pck_cert_type, 5);
	assert_int_equal(q->signed_len, 48 + 584);
	assert_true(q->pck_chain_len > 0 && !memcmp(q->pck_chain, "-----BEGIN", 10));
	cvmf_tdx_quote_free(q);

	q = NULL;
	assert_int_equal(cvmf_tdx_quote_parse(ctx, d.d, d.n, &q), 0);
	t_le64(attr, q->td_attributes);
	hex_eq(attr, 8, "0100001000000000");
	assert_true(q->td_attributes & CVMF_TD_ATTR_DEBUG);
	hex_eq(q->mrtd, 48, "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b6"
	       "89cac1599ccea1b7d420483a9ce5f031");
	hex_eq(q->rtmr[0], 48, "e940da7c2712d2790e2961e00484f4fa8e6f9eed71361655ae22699476b14f9e"
	       "63867eb41edd4b480fef0c59f496b288");
	hex_eq(q->report_data, 32, "7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656ae");
	cvmf_tdx_quote_free(q);

	/* every truncation of the quote before the end of its signature data is
	 * an error, never a crash (bytes after it are padding, and ignored) */
	size_t end = 48 + 584 + 4 + t_get32(p.d + 48 + 584);
	assert_true(end <= p.n);
	for (size_t n = 0; n < end; n += n < 700 ? 1 : 97) {
		q = NULL;
		int rc = cvmf_tdx_quote_parse(ctx, p.d, n, &q);
		assert_true(rc < 0);
		assert_null(q);
	}

	/* v5 with a TD 1.5 body: built from the v4 quote's header and body */
	size_t n5 = 48 + 6 + 648 + 4;
	uint8_t *v5 = calloc(1, n5 + 200);
	memcpy(v5, p.d, 48);
	t_le16(v5, 5);
	t_le16(v5 + 48, 3);
	t_le32(v5 + 50, 648);
	memcpy(v5 + 54, p.d + 48, 584);
	memset(v5 + 54 + 584, 0xaa, 16);          /* TEE_TCB_SVN2 */
	memset(v5 + 54 + 600, 0xbb, 48);          /* MRSERVICETD */
	t_le32(v5 + 54 + 648, 134);
	t_le16(v5 + 54 + 648 + 4 + 128, 1);       /* certification data type 1, empty */
	q = NULL;
	assert_int_equal(cvmf_tdx_quote_parse(ctx, v5, n5 + 134, &q), 0);
	assert_int_equal(q->version, 5);
	assert_int_equal(q->body_type, 3);
	assert_int_equal(q->signed_len, 48 + 6 + 648);
	assert_memory_equal(q->mrtd, p.d + 48 + 136, 48);
	assert_int_equal(q->tee_tcb_svn2[0], 0xaa);
	assert_int_equal(q->mrservicetd[47], 0xbb);
	assert_false(q->has_qe);
	cvmf_tdx_quote_free(q);
	/* a TD 1.0 body announced with a TD 1.5 size is refused */
	t_le16(v5 + 48, 2);
	q = NULL;
	assert_int_equal(cvmf_tdx_quote_parse(ctx, v5, n5 + 134, &q), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "body size 648"));
	free(v5);
	cvmf_ctx_free(ctx);
	free(p.d);
	free(d.d);
}

/* ---- fixtures: verification ---- */

static void test_snp_fixtures_verify(void **state)
{
	(void)state;
	struct buf rep, vcek, ask, g_rep, g_vcek, g_chain;
	if (!fixture(FIX "snp/milan/report.bin", &rep) || !fixture(FIX "snp/milan/vcek.pem", &vcek) ||
	    !fixture(FIX "snp/milan/ask.pem", &ask) || !fixture(FIX "snp/genoa/report.bin", &g_rep) ||
	    !fixture(FIX "snp/genoa/vcek.pem", &g_vcek) ||
	    !fixture(FIX "snp/trust/ask_ark_genoa.pem", &g_chain))
		skip();
	struct cvmf_blob certs[2] = { blob_of(&ask, "ask.pem"), blob_of(&vcek, "vcek.pem") };
	struct cvmf_attest_opts o = { .certs = certs, .n_certs = 2 };
	struct checks c = { 0 };
	struct cvmf_attest_result r = verify_buf(&rep, &o, &c);
	assert_true(r.verified);
	assert_int_equal(r.product, CVMF_SNP_MILAN);
	assert_true(ran(&c, "chain") && ran(&c, "tcb") && ran(&c, "hwid") && ran(&c, "signature") &&
		    ran(&c, "debug"));
	assert_false(ran(&c, "report_data"));   /* the default policy checks nothing else */

	/* Genoa, the VCEK after an ASK+ARK bundle */
	struct cvmf_blob gcerts[2] = { blob_of(&g_chain, "ask_ark_genoa.pem"),
				       blob_of(&g_vcek, "vcek.pem") };
	o.certs = gcerts;
	r = verify_buf(&g_rep, &o, NULL);
	assert_true(r.verified);
	assert_int_equal(r.product, CVMF_SNP_GENOA);

	/* another product's VCEK and ASK: Milan's pinned ARK refuses the chain */
	r = verify_buf(&rep, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "chain");
	/* ... and trusting Genoa's root, the product differs from the CPUID */
	struct buf g_ark;
	assert_true(fixture(FIX "snp/genoa/ark.pem", &g_ark));
	struct cvmf_blob root = blob_of(&g_ark, "ark.pem");
	o.trust_roots = &root;
	o.n_trust_roots = 1;
	r = verify_buf(&rep, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "product");
	o.trust_roots = NULL;
	o.n_trust_roots = 0;

	/* a flipped bit anywhere in the signed bytes, or in the signature */
	o.certs = certs;
	size_t flips[] = { 0x090, 0x050, 0x29f, 0x2a0, 0x2e8 };
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		rep.d[flips[i]] ^= 0x01;
		r = verify_buf(&rep, &o, NULL);
		assert_false(r.verified);
		assert_string_equal(r.failed_check, "signature");
		rep.d[flips[i]] ^= 0x01;
	}
	/* the reported TCB is checked against the VCEK before the signature */
	rep.d[0x180] ^= 0x01;
	r = verify_buf(&rep, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb");
	rep.d[0x180] ^= 0x01;
	/* so is the chip id */
	rep.d[0x1a0 + 63] ^= 0x80;
	r = verify_buf(&rep, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "hwid");
	rep.d[0x1a0 + 63] ^= 0x80;
	/* no VCEK given */
	o.certs = &certs[0];
	o.n_certs = 1;
	r = verify_buf(&rep, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "certificates");
	/* before the VCEK was issued (2026-02-05) */
	o.certs = certs;
	o.n_certs = 2;
	o.has_time = true;
	o.at_time = utc(2025, 6, 1);
	r = verify_buf(&rep, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "chain");
	assert_non_null(strstr(r.failed_detail, "not yet valid"));
	assert_non_null(strstr(r.failed_detail, "2026-02-05"));
	o.at_time = utc(2030, 1, 1);
	assert_true(verify_buf(&rep, &o, NULL).verified);
	free(rep.d); free(vcek.d); free(ask.d); free(g_rep.d); free(g_vcek.d); free(g_chain.d);
	free(g_ark.d);
}

static void test_tdx_fixtures_verify(void **state)
{
	(void)state;
	struct buf q, dbg, pckcrl, rootcrl;
	if (!fixture(FIX "tdx/tdx_prod_quote_SPR_E4.dat", &q) ||
	    !fixture(FIX "tdx/tdx_quote_debug.dat", &dbg) || !fixture(FIX "tdx/pckcrl", &pckcrl) ||
	    !fixture(FIX "tdx/rootcrl.der", &rootcrl))
		skip();
	struct checks c = { 0 };
	struct cvmf_attest_result r = verify_buf(&q, NULL, &c);
	assert_true(r.verified);
	assert_true(ran(&c, "quote_signature") && ran(&c, "pck_chain") &&
		    ran(&c, "qe_report_signature") && ran(&c, "qe_binding") && ran(&c, "debug"));
	assert_false(ran(&c, "tcb_status"));   /* no collateral, no policy naming it */
	assert_string_equal(r.tcb_status, "unknown");

	/* the DEBUG quote: refused by the default policy, accepted when allowed */
	r = verify_buf(&dbg, NULL, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "debug");
	struct cvmf_attest_policy pol;
	const char *pj = "{\"allow_debug\": true}";
	assert_int_equal(cvmf_attest_policy_parse(NULL, "policy", pj, strlen(pj), &pol), 0);
	struct cvmf_attest_opts o = { .policy = &pol };
	assert_true(verify_buf(&dbg, &o, NULL).verified);
	/* SNP-only keys are failures on a TDX quote, never ignored */
	cvmf_attest_policy_clear(&pol);
	pj = "{\"host_data\": \"0000000000000000000000000000000000000000000000000000000000000000\"}";
	assert_int_equal(cvmf_attest_policy_parse(NULL, "policy", pj, strlen(pj), &pol), 0);
	r = verify_buf(&q, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "host_data");
	cvmf_attest_policy_clear(&pol);
	pj = "{\"min_tcb\": {\"tee_tcb_svn\": \"03000400000000000000000000000000\"}}";
	assert_int_equal(cvmf_attest_policy_parse(NULL, "policy", pj, strlen(pj), &pol), 0);
	assert_true(verify_buf(&q, &o, NULL).verified);
	cvmf_attest_policy_clear(&pol);
	pj = "{\"min_tcb\": {\"tee_tcb_svn\": \"03000500000000000000000000000000\"}}";
	assert_int_equal(cvmf_attest_policy_parse(NULL, "policy", pj, strlen(pj), &pol), 0);
	r = verify_buf(&q, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "min_tcb");
	/* allowed_tcb_status without collateral: the status is unknown and fails */
	cvmf_attest_policy_clear(&pol);
	pj = "{\"allowed_tcb_status\": [\"UpToDate\"]}";
	assert_int_equal(cvmf_attest_policy_parse(NULL, "policy", pj, strlen(pj), &pol), 0);
	r = verify_buf(&q, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb_status");
	cvmf_attest_policy_clear(&pol);

	/* the CRLs have expired since they were served: now they fail, at a time
	 * when they were current they verify */
	struct cvmf_blob crls[2] = { blob_of(&pckcrl, "pckcrl"), blob_of(&rootcrl, "rootcrl.der") };
	struct cvmf_attest_opts oc = { .crls = crls, .n_crls = 2 };
	r = verify_buf(&q, &oc, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "pck_chain");
	assert_non_null(strstr(r.failed_detail, "CRL has expired"));
	assert_non_null(strstr(r.failed_detail, "the CRL of 'Intel SGX PCK Platform CA'"));
	assert_non_null(strstr(r.failed_detail, "next update 2023-07-08"));
	oc.has_time = true;
	oc.at_time = utc(2023, 6, 20);
	assert_true(verify_buf(&q, &oc, NULL).verified);

	/* flipped bits: in the body (quote signature), in the QE report (its
	 * signature), in the QE authentication data (the binding) */
	struct { size_t off; const char *check; } flips[] = {
		{ 48 + 136, "quote_signature" }, { 12, "quote_signature" },
		{ 48 + 584 + 4 + 128 + 6 + 10, "qe_report_signature" },
		{ 48 + 584 + 4 + 128 + 6 + 384 + 64 + 2, "qe_binding" },
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		q.d[flips[i].off] ^= 0x04;
		r = verify_buf(&q, NULL, NULL);
		assert_false(r.verified);
		assert_string_equal(r.failed_check, flips[i].check);
		q.d[flips[i].off] ^= 0x04;
	}
	free(q.d); free(dbg.d); free(pckcrl.d); free(rootcrl.d);
}

/* ---- synthetic chains ---- */

static EVP_PKEY *key_rsa(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *key_ec(const char *curve)
{
	EVP_PKEY *k = EVP_EC_gen(curve);
	assert_non_null(k);
	return k;
}

/* Sign x with key: RSA-PSS (SHA-384, salt 48) as AMD does, ECDSA SHA-256 otherwise. */
static void sign_cert(X509 *x, X509_CRL *crl, EVP_PKEY *key)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool rsa = EVP_PKEY_is_a(key, "RSA");
	assert_int_equal(EVP_DigestSignInit(mc, &pc, rsa ? EVP_sha384() : EVP_sha256(), NULL, key), 1);
	if (rsa) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()), 1);
	}
	if (x)
		assert_true(X509_sign_ctx(x, mc) > 0);
	else
		assert_true(X509_CRL_sign_ctx(crl, mc) > 0);
	EVP_MD_CTX_free(mc);
}

static void add_ext_der(X509 *x, const char *oid, const uint8_t *der, size_t n)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
	assert_true(o && s && ASN1_OCTET_STRING_set(s, der, (int)n));
	X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, s);
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(s);
	ASN1_OBJECT_free(o);
}

static void add_spl(X509 *x, const char *arc, unsigned v)
{
	char oid[64];
	snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.%s", arc);
	uint8_t der[4] = { 0x02, 1, (uint8_t)v };
	size_t n = 3;
	if (v >= 0x80) {
		der[1] = 2;
		der[2] = 0;
		der[3] = (uint8_t)v;
		n = 4;
	}
	add_ext_der(x, oid, der, n);
}

struct syn_tcb { unsigned bl, tee, snp, ucode, fmc; };

struct amd_ext {
	const char *product;         /* .2, or NULL */
	struct syn_tcb tcb;
	const uint8_t *hwid;         /* .4, or NULL (a VLEK: a CSP id instead) */
	size_t hwid_len;
	bool turin;                  /* .3.9 FMC */
};

static X509 *make_cert(const char *cn, long serial, X509 *issuer, EVP_PKEY *issuer_key,
		       EVP_PKEY *key, bool ca, time_t nb, time_t na, const struct amd_ext *amd)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME *nm = X509_NAME_new();
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"Advanced Micro Devices", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
	X509_NAME_free(nm);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na);
	X509_set_pubkey(x, key);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
						ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (ca) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (amd) {
		uint8_t one[3] = { 0x02, 0x01, 0x01 };
		add_ext_der(x, "1.3.6.1.4.1.3704.1.1", one, 3);
		if (amd->product) {
			uint8_t ia5[40] = { 0x16, (uint8_t)strlen(amd->product) };
			memcpy(ia5 + 2, amd->product, strlen(amd->product));
			add_ext_der(x, "1.3.6.1.4.1.3704.1.2", ia5, 2 + strlen(amd->product));
		}
		add_spl(x, "3.1", amd->tcb.bl);
		add_spl(x, "3.2", amd->tcb.tee);
		add_spl(x, "3.3", amd->tcb.snp);
		add_spl(x, "3.8", amd->tcb.ucode);
		if (amd->turin)
			add_spl(x, "3.9", amd->tcb.fmc);
		if (amd->hwid) {
			add_ext_der(x, "1.3.6.1.4.1.3704.1.4", amd->hwid, amd->hwid_len);
		} else {
			uint8_t csp[6] = { 0x16, 4, 'T', 'e', 's', 't' };
			add_ext_der(x, "1.3.6.1.4.1.3704.1.5", csp, 6);
		}
	}
	sign_cert(x, NULL, issuer_key ? issuer_key : key);
	return x;
}

static struct buf pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_X509(b, x));
	char *p;
	long n = BIO_get_mem_data(b, &p);
	struct buf r = { malloc((size_t)n), (size_t)n };
	memcpy(r.d, p, (size_t)n);
	BIO_free(b);
	return r;
}

static struct buf der_of(X509 *x)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);
	assert_true(n > 0);
	struct buf r = { malloc((size_t)n), (size_t)n };
	memcpy(r.d, d, (size_t)n);
	OPENSSL_free(d);
	return r;
}

static struct buf crl_revoking(X509 *issuer, EVP_PKEY *key, X509 *revoked, time_t last, time_t next)
{
	X509_CRL *c = X509_CRL_new();
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer));
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, last), *t2 = ASN1_TIME_set(NULL, next);
	X509_CRL_set1_lastUpdate(c, t1);
	X509_CRL_set1_nextUpdate(c, t2);
	if (revoked) {
		X509_REVOKED *r = X509_REVOKED_new();
		X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked));
		X509_REVOKED_set_revocationDate(r, t1);
		X509_CRL_add0_revoked(c, r);
	}
	X509_CRL_sort(c);
	sign_cert(NULL, c, key);
	unsigned char *d = NULL;
	int n = i2d_X509_CRL(c, &d);
	assert_true(n > 0);
	struct buf b = { malloc((size_t)n), (size_t)n };
	memcpy(b.d, d, (size_t)n);
	OPENSSL_free(d);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	X509_CRL_free(c);
	return b;
}

/* A synthetic AMD world: ARK, ASK (or ASVK), VCEK (or VLEK), and a report. */
struct syn {
	EVP_PKEY *ark_key, *ask_key, *leaf_key;
	X509 *ark, *ask, *leaf;
	struct buf ark_pem, ask_der, leaf_pem;
	uint8_t report[CVMF_SNP_REPORT_SIZE];
};

struct syn_spec {
	enum cvmf_snp_product product;
	bool vlek;
	unsigned version;            /* 2, 3 or 5 */
	struct syn_tcb tcb;          /* the report's reported TCB */
	struct syn_tcb cert_tcb;     /* the VCEK's SPLs */
	bool bad_hwid;
	time_t leaf_nb, leaf_na;
	const uint8_t *measurement;  /* NULL: bytes 0..47 */
};

static const char *pname(enum cvmf_snp_product p)
{
	return p == CVMF_SNP_TURIN ? "Turin" : p == CVMF_SNP_GENOA ? "Genoa" : "Milan";
}

static void tcb_encode(const struct syn_tcb *t, enum cvmf_snp_product p, uint8_t out[8])
{
	memset(out, 0, 8);
	if (p == CVMF_SNP_TURIN) {
		out[0] = (uint8_t)t->fmc;
		out[1] = (uint8_t)t->bl;
		out[2] = (uint8_t)t->tee;
		out[3] = (uint8_t)t->snp;
	} else {
		out[0] = (uint8_t)t->bl;
		out[1] = (uint8_t)t->tee;
		out[6] = (uint8_t)t->snp;
	}
	out[7] = (uint8_t)t->ucode;
}

/* Sign the report's bytes 0x000-0x29F with the leaf key (R, S little-endian). */
static void sign_report(struct syn *s)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	uint8_t der[128];
	size_t n = sizeof(der);
	assert_int_equal(EVP_DigestSignInit(mc, NULL, EVP_sha384(), NULL, s->leaf_key), 1);
	assert_int_equal(EVP_DigestSign(mc, der, &n, s->report, 0x2a0), 1);
	EVP_MD_CTX_free(mc);
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
	assert_non_null(sig);
	memset(s->report + 0x2a0, 0, 144);
	assert_int_equal(BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), s->report + 0x2a0, 72), 72);
	assert_int_equal(BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), s->report + 0x2e8, 72), 72);
	ECDSA_SIG_free(sig);
}

static EVP_PKEY *g_ark_key, *g_ask_key;   /* RSA keys are slow to make: made once */

static void syn_make(struct syn *s, const struct syn_spec *sp)
{
	memset(s, 0, sizeof(*s));
	const char *pn = pname(sp->product);
	bool turin = sp->product == CVMF_SNP_TURIN;
	char cn[64];
	time_t nb = utc(2020, 1, 1), na = utc(2045, 1, 1);
	s->ark_key = g_ark_key;
	s->ask_key = g_ask_key;
	EVP_PKEY_up_ref(s->ark_key);
	EVP_PKEY_up_ref(s->ask_key);
	s->leaf_key = key_ec("P-384");
	snprintf(cn, sizeof(cn), "ARK-%s", pn);
	s->ark = make_cert(cn, 1, NULL, NULL, s->ark_key, true, nb, na, NULL);
	snprintf(cn, sizeof(cn), sp->vlek ? "SEV-VLEK-%s" : "SEV-%s", pn);
	s->ask = make_cert(cn, 2, s->ark, s->ark_key, s->ask_key, true, nb, na, NULL);
	uint8_t chip[64];
	for (int i = 0; i < 64; i++)
		chip[i] = turin && i >= 8 ? 0 : (uint8_t)(0x40 + i);
	uint8_t hw[64];
	memcpy(hw, chip, 64);
	if (sp->bad_hwid)
		hw[3] ^= 1;
	struct amd_ext amd = { .product = pn, .tcb = sp->cert_tcb, .turin = turin,
			       .hwid = sp->vlek ? NULL : hw, .hwid_len = turin ? 8 : 64 };
	s->leaf = make_cert(sp->vlek ? "SEV-VLEK" : "SEV-VCEK", 0, s->ask, s->ask_key, s->leaf_key,
			    false, sp->leaf_nb ? sp->leaf_nb : nb, sp->leaf_na ? sp->leaf_na : na,
			    &amd);
	s->ark_pem = pem_of(s->ark);
	s->ask_der = der_of(s->ask);
	s->leaf_pem = pem_of(s->leaf);

	uint8_t *r = s->report;
	memset(r, 0, CVMF_SNP_REPORT_SIZE);
	t_le32(r + 0x000, sp->version);
	t_le32(r + 0x004, 7);                         /* guest SVN */
	t_le64(r + 0x008, 0x30000);                   /* SMT, reserved bit 17 */
	t_le32(r + 0x030, 1);                         /* VMPL */
	t_le32(r + 0x034, 1);
	t_le32(r + 0x048, sp->vlek ? 1u << 2 : 0);
	memset(r + 0x050, 0x5a, 64);                  /* report_data */
	for (int i = 0; i < 48; i++)
		r[0x090 + i] = sp->measurement ? sp->measurement[i] : (uint8_t)i;
	memset(r + 0x0c0, 0x11, 32);                  /* host_data */
	uint8_t tcb[8];
	tcb_encode(&sp->tcb, sp->product, tcb);
	memcpy(r + 0x038, tcb, 8);
	memcpy(r + 0x180, tcb, 8);
	memcpy(r + 0x1e0, tcb, 8);
	memcpy(r + 0x1f0, tcb, 8);
	if (sp->version >= 3) {
		r[0x188] = turin ? 0x1a : 0x19;
		r[0x189] = sp->product == CVMF_SNP_GENOA ? 0x11 : turin ? 0x02 : 0x01;
		r[0x18a] = 1;
	}
	memcpy(r + 0x1a0, chip, 64);
	sign_report(s);
}

static void syn_free(struct syn *s)
{
	EVP_PKEY_free(s->ark_key);
	EVP_PKEY_free(s->ask_key);
	EVP_PKEY_free(s->leaf_key);
	X509_free(s->ark);
	X509_free(s->ask);
	X509_free(s->leaf);
	free(s->ark_pem.d);
	free(s->ask_der.d);
	free(s->leaf_pem.d);
}

static struct cvmf_attest_result syn_verify(struct syn *s, struct cvmf_attest_opts *o,
					    struct checks *c)
{
	struct cvmf_blob certs[2] = { blob_of(&s->leaf_pem, "leaf.pem"),
				      blob_of(&s->ask_der, "ask.der") };
	struct cvmf_blob root = blob_of(&s->ark_pem, "ark.pem");
	struct cvmf_attest_opts def = { 0 };
	if (!o)
		o = &def;
	o->certs = certs;
	o->n_certs = 2;
	o->trust_roots = &root;
	o->n_trust_roots = 1;
	struct buf b = { s->report, sizeof(s->report) };
	struct cvmf_attest_result r = verify_buf(&b, o, c);
	o->certs = NULL;
	o->trust_roots = NULL;
	return r;
}

static const struct syn_tcb T1 = { 3, 0, 8, 115, 0 };

static void test_syn_milan_and_crl(void **state)
{
	(void)state;
	struct syn s;
	struct syn_spec sp = { .product = CVMF_SNP_MILAN, .version = 3, .tcb = T1, .cert_tcb = T1 };
	syn_make(&s, &sp);
	struct cvmf_attest_result r = syn_verify(&s, NULL, NULL);
	assert_true(r.verified);
	assert_int_equal(r.product, CVMF_SNP_MILAN);
	/* the pinned ARKs do not know this test root */
	struct cvmf_blob certs[2] = { blob_of(&s.leaf_pem, NULL), blob_of(&s.ask_der, NULL) };
	struct cvmf_attest_opts o = { .certs = certs, .n_certs = 2 };
	struct buf b = { s.report, sizeof(s.report) };
	r = verify_buf(&b, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "chain");
	assert_non_null(strstr(r.failed_detail, "pinned Milan ARK"));

	/* a CRL signed by the ARK revokes the ASK */
	struct buf crl = crl_revoking(s.ark, s.ark_key, s.ask, time(NULL) - 3600,
				      time(NULL) + 86400 * 30);
	struct cvmf_blob cb = blob_of(&crl, "ark.crl");
	struct cvmf_attest_opts oc = { .crls = &cb, .n_crls = 1 };
	r = syn_verify(&s, &oc, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "chain");
	assert_non_null(strstr(r.failed_detail, "revoked"));
	assert_non_null(strstr(r.failed_detail, "SEV-Milan"));
	free(crl.d);
	/* a CRL of the ARK that revokes nothing: verified */
	crl = crl_revoking(s.ark, s.ark_key, NULL, time(NULL) - 3600, time(NULL) + 86400 * 30);
	cb = blob_of(&crl, "ark.crl");
	assert_true(syn_verify(&s, &oc, NULL).verified);
	free(crl.d);
	/* a CRL naming the ARK but signed by another key: refused */
	EVP_PKEY *other = key_ec("P-384");
	crl = crl_revoking(s.ark, other, NULL, time(NULL) - 3600, time(NULL) + 86400 * 30);
	cb = blob_of(&crl, "forged.crl");
	r = syn_verify(&s, &oc, NULL);
	assert_false(r.verified);
	assert_non_null(strstr(r.failed_detail, "CRL signature failure"));
	free(crl.d);
	EVP_PKEY_free(other);

	/* the VCEK given twice, once as DER inside certs, in any order: still found */
	struct buf leaf_der = der_of(s.leaf);
	struct cvmf_blob c3[3] = { blob_of(&s.ask_der, NULL), blob_of(&leaf_der, NULL),
				   blob_of(&s.ark_pem, NULL) };
	struct cvmf_blob root = blob_of(&s.ark_pem, NULL);
	struct cvmf_attest_opts o3 = { .certs = c3, .n_certs = 3, .trust_roots = &root,
				       .n_trust_roots = 1 };
	assert_true(verify_buf(&b, &o3, NULL).verified);
	free(leaf_der.d);
	syn_free(&s);
}

static void test_syn_tcb_hwid_expiry(void **state)
{
	(void)state;
	struct syn s;
	struct syn_tcb other = T1;
	other.snp = 9;
	struct syn_spec sp = { .product = CVMF_SNP_GENOA, .version = 3, .tcb = T1, .cert_tcb = other };
	syn_make(&s, &sp);
	struct cvmf_attest_result r = syn_verify(&s, NULL, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb");
	assert_non_null(strstr(r.failed_detail, "snp SPL"));
	syn_free(&s);

	sp.cert_tcb = T1;
	sp.bad_hwid = true;
	syn_make(&s, &sp);
	r = syn_verify(&s, NULL, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "hwid");
	/* MASK_CHIP_KEY: the chip id is not compared */
	s.report[0x48] |= 2;
	sign_report(&s);
	r = syn_verify(&s, NULL, NULL);
	assert_true(r.verified);
	syn_free(&s);

	/* a VCEK that expired in 2024: fails now, verifies at a time it was valid */
	sp.bad_hwid = false;
	sp.leaf_nb = utc(2022, 1, 1);
	sp.leaf_na = utc(2024, 1, 1);
	syn_make(&s, &sp);
	r = syn_verify(&s, NULL, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "chain");
	assert_non_null(strstr(r.failed_detail, "certificate has expired"));
	assert_non_null(strstr(r.failed_detail, "SEV-VCEK"));
	assert_non_null(strstr(r.failed_detail, "2024-01-01"));
	struct cvmf_attest_opts o = { .has_time = true, .at_time = utc(2023, 3, 1) };
	assert_true(syn_verify(&s, &o, NULL).verified);
	syn_free(&s);
}

static void test_syn_turin_v2_vlek(void **state)
{
	(void)state;
	struct syn s;
	struct syn_tcb t = { 2, 1, 5, 0x40, 3 };
	struct syn_spec sp = { .product = CVMF_SNP_TURIN, .version = 5, .tcb = t, .cert_tcb = t };
	syn_make(&s, &sp);
	struct cvmf_attest_result r = syn_verify(&s, NULL, NULL);
	assert_true(r.verified);
	assert_int_equal(r.product, CVMF_SNP_TURIN);
	syn_free(&s);
	/* Turin's FMC SPL is checked */
	struct syn_tcb t2 = t;
	t2.fmc = 4;
	sp.cert_tcb = t2;
	syn_make(&s, &sp);
	r = syn_verify(&s, NULL, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb");
	assert_non_null(strstr(r.failed_detail, "fmc"));
	syn_free(&s);

	/* v2: no CPUID, the product comes from the chain (Genoa's TCB layout) */
	struct syn_spec v2 = { .product = CVMF_SNP_GENOA, .version = 2, .tcb = T1, .cert_tcb = T1 };
	syn_make(&s, &v2);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_snp_report rep;
	assert_int_equal(cvmf_snp_report_parse(ctx, s.report, sizeof(s.report), &rep), 0);
	assert_false(rep.has_cpuid);
	assert_int_equal(rep.product, CVMF_SNP_PRODUCT_UNKNOWN);
	cvmf_ctx_free(ctx);
	r = syn_verify(&s, NULL, NULL);
	assert_true(r.verified);
	assert_int_equal(r.product, CVMF_SNP_GENOA);
	syn_free(&s);

	/* VLEK: ARK -> ASVK -> VLEK, no hwID */
	struct syn_spec vl = { .product = CVMF_SNP_MILAN, .vlek = true, .version = 3, .tcb = T1,
			       .cert_tcb = T1 };
	syn_make(&s, &vl);
	struct checks c = { 0 };
	r = syn_verify(&s, NULL, &c);
	assert_true(r.verified);
	assert_false(ran(&c, "hwid"));
	/* the same report claiming a VCEK signature: there is no VCEK */
	s.report[0x48] = 0;
	sign_report(&s);
	r = syn_verify(&s, NULL, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "certificates");
	/* signer "none" */
	s.report[0x48] = 7 << 2;
	r = syn_verify(&s, NULL, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "signer");
	syn_free(&s);
}

static struct cvmf_attest_result with_policy(struct syn *s, const char *json, struct checks *c)
{
	struct cvmf_attest_policy pol;
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (cvmf_attest_policy_parse(ctx, "policy", json, strlen(json), &pol))
		fail_msg("policy: %s", cvmf_ctx_errmsg(ctx));
	cvmf_ctx_free(ctx);
	struct cvmf_attest_opts o = { .policy = &pol };
	struct cvmf_attest_result r = syn_verify(s, &o, c);
	cvmf_attest_policy_clear(&pol);
	return r;
}

static void test_syn_policy(void **state)
{
	(void)state;
	struct syn s;
	struct syn_spec sp = { .product = CVMF_SNP_MILAN, .version = 3, .tcb = T1, .cert_tcb = T1 };
	syn_make(&s, &sp);
	char rd[129], hd[65], chip[129];
	memset(rd, 0, sizeof(rd));
	for (int i = 0; i < 64; i++)
		memcpy(rd + 2 * i, "5a", 2);
	for (int i = 0; i < 32; i++)
		memcpy(hd + 2 * i, "11", 2);
	hd[64] = 0;
	cvmf_hex(s.report + 0x1a0, 64, chip);
	char full[1024];
	snprintf(full, sizeof(full), "{\"report_data\": \"%s\", \"host_data\": \"%s\", "
		 "\"vmpl\": 1, \"min_guest_svn\": 7, \"chip_ids\": [\"%s\"], \"min_tcb\": "
		 "{\"bootloader\": 3, \"snp\": 8, \"microcode\": 115}}", rd, hd, chip);
	struct checks c = { 0 };
	assert_true(with_policy(&s, full, &c).verified);
	assert_true(ran(&c, "report_data") && ran(&c, "host_data") && ran(&c, "vmpl") &&
		    ran(&c, "min_guest_svn") && ran(&c, "chip_ids") && ran(&c, "min_tcb"));

	struct { const char *json; const char *check; } bad[] = {
		{ "{\"vmpl\": 0}", "vmpl" },
		{ "{\"min_guest_svn\": 8}", "min_guest_svn" },
		{ "{\"min_tcb\": {\"snp\": 9}}", "min_tcb" },
		{ "{\"min_tcb\": {\"microcode\": 200}}", "min_tcb" },
		{ "{\"host_data\": \"1111111111111111111111111111111111111111111111111111111111111112\"}", "host_data" },
		{ "{\"chip_ids\": [\"0000000000000000\"]}", "chip_ids" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cvmf_attest_result r = with_policy(&s, bad[i].json, NULL);
		assert_false(r.verified);
		assert_string_equal(r.failed_check, bad[i].check);
	}
	snprintf(full, sizeof(full), "{\"report_data\": \"%.127s0\"}", rd);
	struct cvmf_attest_result r = with_policy(&s, full, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "report_data");

	/* TDX-only keys are failures on an SNP report, never ignored */
	r = with_policy(&s, "{\"allowed_tcb_status\": [\"UpToDate\"]}", NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb_status");
	r = with_policy(&s, "{\"min_tcb\": {\"tee_tcb_svn\": \"00000000000000000000000000000000\"}}", NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "min_tcb");
	/* DEBUG in the guest policy: refused by default, accepted when allowed */
	s.report[0x008 + 2] |= 0x08;   /* bit 19 */
	sign_report(&s);
	r = syn_verify(&s, NULL, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "debug");
	assert_true(with_policy(&s, "{\"allow_debug\": true}", NULL).verified);
	syn_free(&s);

	/* policy documents with errors name the key */
	struct cvmf_attest_policy pol;
	cvmf_ctx *ctx = cvmf_ctx_new();
	const char *errs[][2] = {
		{ "{\"allow_debug\": 1}", "allow_debug" },
		{ "{\"report_data\": \"00\"}", "report_data" },
		{ "{\"vmpl\": 4}", "vmpl" },
		{ "{\"min_tcb\": {\"sev\": 1}}", "min_tcb.sev" },
		{ "{\"chip_ids\": []}", "chip_ids" },
		{ "{\"debug\": false}", "unknown key \"debug\"" },
		{ "{\"vmpl\": 1,}", "policy:1:" },
		{ "[]", "JSON object" },
	};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		assert_int_equal(cvmf_attest_policy_parse(ctx, "policy", errs[i][0],
							  strlen(errs[i][0]), &pol), CVMF_E_FORMAT);
		if (!strstr(cvmf_ctx_errmsg(ctx), errs[i][1]))
			fail_msg("%s: %s lacks %s", errs[i][0], cvmf_ctx_errmsg(ctx), errs[i][1]);
	}
	cvmf_ctx_free(ctx);
}

/* ---- TDX collateral, signed here over the exact bytes ---- */

static char *sign_json(const char *key, const char *body, EVP_PKEY *k, bool spaced)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	uint8_t der[128], raw[64];
	size_t n = sizeof(der);
	assert_int_equal(EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(mc, der, &n, (const uint8_t *)body, strlen(body)), 1);
	EVP_MD_CTX_free(mc);
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
	ECDSA_SIG_free(sig);
	char hex[129];
	cvmf_hex(raw, 64, hex);
	char *doc = NULL;
	assert_true(asprintf(&doc, spaced ? "{ \"%s\" : %s ,\n \"signature\": \"%s\"}\n" :
			     "{\"%s\":%s,\"signature\":\"%s\"}", key, body, hex) > 0);
	return doc;
}

static void test_tdx_collateral(void **state)
{
	(void)state;
	struct buf q, root, qeid;
	if (!fixture(FIX "tdx/tdx_prod_quote_SPR_E4.dat", &q) ||
	    !fixture(FIX "tdx/trusted_root.pem", &root) ||
	    !fixture(FIX "tdx/sample_qeIdentity_response", &qeid))
		skip();
	/* the PCK certificate's FMSPC, from its SGX extension */
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_tdx_quote *tq = NULL;
	assert_int_equal(cvmf_tdx_quote_parse(ctx, q.d, q.n, &tq), 0);
	BIO *bio = BIO_new_mem_buf(tq->pck_chain, (int)tq->pck_chain_len);
	X509 *pck = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(pck);
	ASN1_OBJECT *sgx_oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
	int ei = X509_get_ext_by_OBJ(pck, sgx_oid, -1);
	ASN1_OBJECT_free(sgx_oid);
	assert_true(ei >= 0);
	ASN1_OCTET_STRING *ed = X509_EXTENSION_get_data(X509_get_ext(pck, ei));
	struct att_sgx_ext sgx;
	assert_int_equal(att_sgx_ext_parse(ctx, ASN1_STRING_get0_data(ed),
					   (size_t)ASN1_STRING_length(ed), &sgx), 0);
	assert_true(sgx.has_fmspc && sgx.has_tcb);
	char fmspc[13];
	cvmf_hex(sgx.fmspc, 6, fmspc);
	X509_free(pck);
	cvmf_tdx_quote_free(tq);

	/* a test root and TCB signing key, trusted beside Intel's root */
	EVP_PKEY *rk = key_ec("P-256"), *sk = key_ec("P-256");
	time_t nb = utc(2020, 1, 1), na = utc(2045, 1, 1);
	X509 *troot = make_cert("Test TCB Root", 1, NULL, NULL, rk, true, nb, na, NULL);
	X509 *signer = make_cert("Test TCB Signing", 2, troot, rk, sk, false, nb, na, NULL);
	struct buf troot_pem = pem_of(troot), signer_pem = pem_of(signer);

	/* TCB info: level 0 needs a TDX SVN no platform has; level 1 is met */
	char zeros[600] = "", big[600] = "";
	for (int i = 0; i < 16; i++) {
		strcat(zeros, i ? ",{\"svn\":0}" : "{\"svn\":0}");
		strcat(big, i == 2 ? ",{\"svn\":255}" : i ? ",{\"svn\":0}" : "{\"svn\":0}");
	}
	char tcb[4096];
	snprintf(tcb, sizeof(tcb), "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2023-06-18T08:42:58Z\","
		 "\"nextUpdate\":\"2023-07-18T08:42:58Z\",\"fmspc\":\"%s\",\"pceId\":\"0000\","
		 "\"tcbType\":0,\"tcbEvaluationDataNumber\":15,\"tcbLevels\":["
		 "{\"tcb\":{\"sgxtcbcomponents\":[%s],\"pcesvn\":0,\"tdxtcbcomponents\":[%s]},"
		 "\"tcbDate\":\"2023-02-15T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
		 "{\"tcb\":{\"sgxtcbcomponents\":[%s],\"pcesvn\":0,\"tdxtcbcomponents\":[%s]},"
		 "\"tcbDate\":\"2018-01-04T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]}",
		 fmspc, zeros, big, zeros, zeros);
	/* the QE identity: the fixture's enclaveIdentity bytes, re-signed */
	size_t off, len;
	assert_int_equal(att_json_slice((char *)qeid.d, qeid.n, "enclaveIdentity", &off, &len), 0);
	char *qe_body = strndup((char *)qeid.d + off, len);
	assert_true(qe_body[0] == '{' && qe_body[len - 1] == '}');

	char *dir = t_tmpdir();
	char *ti = sign_json("tcbInfo", tcb, sk, true);
	char *qi = sign_json("enclaveIdentity", qe_body, sk, false);
	free(t_write(dir, "tcb_info.json", ti, strlen(ti)));
	free(t_write(dir, "qe_identity.json", qi, strlen(qi)));
	free(t_write(dir, "tcb_signing_chain.pem", signer_pem.d, signer_pem.n));
	struct cvmf_blob roots[2] = { blob_of(&root, "trusted_root.pem"),
				      blob_of(&troot_pem, "test root") };
	struct cvmf_attest_opts o = { .trust_roots = roots, .n_trust_roots = 2,
				      .collateral_dir = dir, .has_time = true,
				      .at_time = utc(2023, 6, 20) };
	struct checks c = { 0 };
	struct cvmf_attest_result r = verify_buf(&q, &o, &c);
	/* OutOfDate is not allowed by default */
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb_status");
	assert_string_equal(r.tcb_status, "OutOfDate");
	assert_true(ran(&c, "tcb_info") && ran(&c, "qe_identity") && ran(&c, "tcb_signing_chain"));
	struct cvmf_attest_policy pol;
	const char *pj = "{\"allowed_tcb_status\": [\"UpToDate\", \"OutOfDate\"]}";
	assert_int_equal(cvmf_attest_policy_parse(ctx, "policy", pj, strlen(pj), &pol), 0);
	o.policy = &pol;
	r = verify_buf(&q, &o, NULL);
	assert_true(r.verified);
	assert_string_equal(r.tcb_status, "OutOfDate");
	/* after nextUpdate the collateral has expired */
	o.at_time = utc(2023, 8, 1);
	r = verify_buf(&q, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb_info");
	assert_non_null(strstr(r.failed_detail, "expired"));
	o.at_time = utc(2023, 6, 20);
	/* re-serialised bytes (the same JSON, other spacing) do not verify */
	char *resp = malloc(strlen(ti) + 2);
	char *sp = strstr(ti, "\"version\":3");
	size_t at = (size_t)(sp - ti) + 10;
	memcpy(resp, ti, at);
	resp[at] = ' ';
	strcpy(resp + at + 1, ti + at);
	free(t_write(dir, "tcb_info.json", resp, strlen(resp)));
	r = verify_buf(&q, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb_info");
	assert_non_null(strstr(r.failed_detail, "does not verify"));
	/* another FMSPC: no TCB level applies */
	char *fm = strstr(tcb, fmspc);
	fm[0] = fm[0] == '0' ? '1' : '0';
	free(ti);
	ti = sign_json("tcbInfo", tcb, sk, false);
	free(t_write(dir, "tcb_info.json", ti, strlen(ti)));
	r = verify_buf(&q, &o, NULL);
	assert_false(r.verified);
	assert_string_equal(r.failed_check, "tcb_info");
	assert_non_null(strstr(r.failed_detail, "FMSPC"));
	cvmf_attest_policy_clear(&pol);

	t_rmrf(dir);
	free(dir); free(ti); free(qi); free(resp); free(qe_body);
	free(troot_pem.d); free(signer_pem.d);
	X509_free(troot); X509_free(signer);
	EVP_PKEY_free(rk); EVP_PKEY_free(sk);
	cvmf_ctx_free(ctx);
	free(q.d); free(root.d); free(qeid.d);
}

static void test_json_slice(void **state)
{
	(void)state;
	const char *d = " { \"a\" : [1, {\"x\":\"}\\\"\"}] , \"tcbInfo\" :{\"k\":\"v\"} ,\"s\":1}";
	size_t off, len;
	assert_int_equal(att_json_slice(d, strlen(d), "tcbInfo", &off, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(d + off, "{\"k\":\"v\"}", 9);
	assert_int_equal(att_json_slice(d, strlen(d), "a", &off, &len), 0);
	assert_memory_equal(d + off, "[1, {\"x\":\"}\\\"\"}]", len);
	assert_int_equal(att_json_slice(d, strlen(d), "k", &off, &len), CVMF_E_FORMAT);
	assert_int_equal(att_json_slice(d, 20, "tcbInfo", &off, &len), CVMF_E_FORMAT);
}



/* The real AMD chains of go-sev-guest (VCEK and VLEK, Milan, Genoa, Turin):
 * each certificate's role and product, and each ASK or ASVK verifies to the
 * ARK pinned for its product (and not to another product's). */
static void test_real_amd_chains(void **state)
{
	(void)state;
	static const struct { const char *file; enum cvmf_snp_product p; bool vlek; } b[] = {
		{ "ask_ark_milan.pem", CVMF_SNP_MILAN, false },
		{ "ask_ark_milan_vlek.pem", CVMF_SNP_MILAN, true },
		{ "ask_ark_genoa.pem", CVMF_SNP_GENOA, false },
		{ "ask_ark_genoa_vlek.pem", CVMF_SNP_GENOA, true },
		{ "ask_ark_turin_vcek.pem", CVMF_SNP_TURIN, false },
		{ "ask_ark_turin_vlek.pem", CVMF_SNP_TURIN, true },
	};
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), FIX "snp/trust/%s", b[i].file);
		struct buf f;
		if (!fixture(rel, &f)) {
			cvmf_ctx_free(ctx);     /* skip() does not return */
			skip();
		}
		STACK_OF(X509) *sk = sk_X509_new_null();
		struct cvmf_blob bl = blob_of(&f, b[i].file);
		assert_int_equal(att_certs_load(ctx, &bl, sk), 0);
		assert_int_equal(sk_X509_num(sk), 2);
		enum cvmf_snp_product p0, p1;
		assert_int_equal(att_amd_role(sk_X509_value(sk, 0), &p0),
				 b[i].vlek ? ATT_ROLE_ASVK : ATT_ROLE_ASK);
		assert_int_equal(att_amd_role(sk_X509_value(sk, 1), &p1), ATT_ROLE_ARK);
		assert_int_equal(p0, b[i].p);
		assert_int_equal(p1, b[i].p);
		for (size_t k = 0; k < att_amd_n_arks; k++) {
			STACK_OF(X509) *roots = sk_X509_new_null();
			struct cvmf_blob rb = { att_amd_arks[k].pem, strlen(att_amd_arks[k].pem), NULL };
			assert_int_equal(att_certs_load(ctx, &rb, roots), 0);
			struct cvmf_attest_result res = { .verified = true };
			struct att_run r = { .ctx = ctx, .res = &res, .now = time(NULL) };
			char detail[400];
			bool ok = att_x509_verify(&r, sk_X509_value(sk, 0), roots, sk, NULL, detail,
						  sizeof(detail), NULL);
			if (ok != (att_amd_arks[k].product == b[i].p))
				fail_msg("%s against the pinned %s ARK: %s", b[i].file,
					 cvmf_snp_product_name(att_amd_arks[k].product), detail);
			att_sk_x509_free(roots);
		}
		att_sk_x509_free(sk);
		free(f.d);
	}
	/* the fixtures' VCEKs are VCEKs of their product ("Milan-B0" names Milan) */
	struct buf v;
	if (!fixture(FIX "snp/milan/vcek.pem", &v))
		skip();
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct cvmf_blob bl = blob_of(&v, "vcek.pem");
	assert_int_equal(att_certs_load(ctx, &bl, sk), 0);
	enum cvmf_snp_product p;
	assert_int_equal(att_amd_role(sk_X509_value(sk, 0), &p), ATT_ROLE_VCEK);
	assert_int_equal(p, CVMF_SNP_MILAN);
	struct att_amd_ext e;
	assert_int_equal(att_amd_ext_get(ctx, sk_X509_value(sk, 0), &e), 0);
	assert_string_equal(e.product, "Milan-B0");
	assert_true(e.has_spl[8] && e.spl[8] == 0xdb);
	assert_int_equal(e.hwid_len, 64);
	att_sk_x509_free(sk);
	free(v.d);
	/* extension values: malformed ones are errors naming the OID */
	const uint8_t bad_int[] = { 0x02, 0x02, 0x01, 0x00 };   /* 256 */
	assert_int_equal(att_amd_ext_value(ctx, "3.8", bad_int, sizeof(bad_int), &e), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "1.3.6.1.4.1.3704.1.3.8"));
	assert_int_equal(att_amd_ext_value(ctx, "4", bad_int, sizeof(bad_int), &e), CVMF_E_FORMAT);
	const uint8_t trail[] = { 0x02, 0x01, 0x05, 0x00 };
	assert_int_equal(att_amd_ext_value(ctx, "3.1", trail, sizeof(trail), &e), CVMF_E_FORMAT);
	cvmf_ctx_free(ctx);
}

/* TDX matching: MRTD and the predicted RTMRs; an RTMR that was not predicted
 * is unchecked, never matched. */
static void test_tdx_match(void **state)
{
	(void)state;
	struct buf q;
	if (!fixture(FIX "tdx/tdx_prod_quote_SPR_E4.dat", &q))
		skip();
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_attestation *a = NULL;
	assert_int_equal(cvmf_attestation_parse(ctx, q.d, q.n, &a), 0);
	char mrtd[97], r1[97], r2[97];
	cvmf_hex(a->tdx->mrtd, 48, mrtd);
	cvmf_hex(a->tdx->rtmr[1], 48, r1);
	cvmf_hex(a->tdx->rtmr[2], 48, r2);
	char *dir = t_tmpdir();
	char doc[2048];
	snprintf(doc, sizeof(doc), "{\"format\": \"cvmforge-measurements/1\", \"tdx\": "
		 "{\"measurements\": [{\"memory\": 1073741824, \"page-order\": \"two-pass\", "
		 "\"mrtd\": \"%s\", \"rtmr0\": null, \"rtmr1\": \"%s\", \"rtmr2\": \"%s\", "
		 "\"rtmr3\": \"%s\"}, {\"memory\": 2147483648, \"page-order\": \"single-pass\", "
		 "\"mrtd\": \"%s\", \"rtmr0\": null, \"rtmr1\": \"%s\", \"rtmr2\": \"%s\", "
		 "\"rtmr3\": null}]}}", mrtd, r1, r2, r2, mrtd, r1, r2);
	char *path = t_write(dir, "measurements.json", doc, strlen(doc));
	const char *ex[1] = { path };
	struct cvmf_attest_match m;
	assert_int_equal(cvmf_attest_match(ctx, a, ex, 1, false, &m), 0);
	assert_true(m.matched);
	assert_int_equal(m.n_published, 2);
	assert_int_equal(m.params.memory, 2147483648ull);   /* the first has a wrong RTMR3 */
	assert_string_equal(m.params.page_order, "single-pass");
	assert_false(m.rtmr_checked[0]);
	assert_true(m.rtmr_checked[1] && m.rtmr_checked[2]);
	assert_false(m.rtmr_checked[3]);
	/* a different MRTD matches nothing */
	a->tdx->mrtd[0] ^= 1;
	assert_int_equal(cvmf_attest_match(ctx, a, ex, 1, false, &m), 0);
	assert_false(m.matched);
	assert_false(m.searched);
	cvmf_attestation_free(a);
	t_rmrf(dir);
	free(dir); free(path); free(q.d);
	cvmf_ctx_free(ctx);
}


/* The TDX search: a quote of the image with 3 GiB and two-pass page order,
 * against an image that publishes 1 GiB single-pass. */
static void test_tdx_explain(void **state)
{
	(void)state;
	char *fw = t_shared_file("inputs/OVMF.trixie.fd");
	char *kernel = fw ? t_shared_file("inputs/vmlinuz-6.1.0-50") : NULL;
	char *initrd = kernel ? t_shared_file("inputs/initrd-tiny.cpio") : NULL;
	char *acpi = initrd ? t_shared_file("fixtures/tdx-upstream/quex-acpi-tables-1cpu-1024M-1disk.bin") : NULL;
	struct buf q;
	if (!acpi || !fixture(FIX "tdx/tdx_prod_quote_SPR_E4.dat", &q))
		skip();
	char *dir = t_tmpdir();
	const char *src[4] = { fw, kernel, initrd, acpi };
	const char *dst[4] = { "OVMF.fd", "vmlinuz", "initrd.img", "acpi-tables.bin" };
	for (int i = 0; i < 4; i++) {
		size_t n;
		char *d = t_slurp(src[i], &n);
		free(t_write(dir, dst[i], d, n));
		free(d);
	}
	free(t_write(dir, "cmdline.txt", "console=ttyS0", 13));
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *path = NULL;
	assert_true(asprintf(&path, "%s/acpi-tables.bin", dir) > 0);
	struct cvmf_tdx_spec spec = { .ovmf_path = fw, .kernel_path = kernel, .initrd_path = initrd,
				      .append = "console=ttyS0", .memory = 3ull << 30,
				      .acpi_tables_path = path, .page_order = CVMF_TDX_TWO_PASS,
				      .layout = CVMF_TDX_LAYOUT_2024_11 };
	struct cvmf_tdx_result *r = NULL;
	if (cvmf_tdx_measure(ctx, &spec, &r))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	struct cvmf_attestation *a = NULL;
	assert_int_equal(cvmf_attestation_parse(ctx, q.d, q.n, &a), 0);
	memcpy(a->tdx->mrtd, r->mrtd, 48);
	for (int k = 0; k < 4; k++)
		if (r->have_rtmr[k])
			memcpy(a->tdx->rtmr[k], r->rtmr[k], 48);
	assert_true(r->have_rtmr[0]);
	cvmf_tdx_result_free(r);
	char doc[1024];
	snprintf(doc, sizeof(doc), "{\"format\": \"cvmforge-measurements/1\", \"tdx\": "
		 "{\"params\": {\"memory\": [1073741824], \"page-orders\": [\"single-pass\"], "
		 "\"ovmf-event-layout\": \"%s\", \"kernel-header-patch\": false, "
		 "\"stub-cc\": false, \"acpi-tables\": \"acpi-tables.bin\"}, \"measurements\": []}}",
		 cvmf_tdx_layout_name(CVMF_TDX_LAYOUT_2024_11));
	free(t_write(dir, "measurements.json", doc, strlen(doc)));
	const char *ex[1] = { dir };
	struct cvmf_attest_match m;
	if (cvmf_attest_match(ctx, a, ex, 1, true, &m))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	assert_false(m.matched);
	assert_true(m.searched && m.explained);
	assert_int_equal(m.explanation.memory, 3ull << 30);
	assert_string_equal(m.explanation.page_order, "two-pass");
	printf("# TDX explained after %zu measurements in %.0f ms\n", m.n_searched, m.search_ms);
	cvmf_attestation_free(a);
	t_rmrf(dir);
	free(dir); free(path); free(fw); free(kernel); free(initrd); free(acpi); free(q.d);
	cvmf_ctx_free(ctx);
}

/* ---- matching and explaining, on synthetic reports of a real image ---- */

static void snp_digest(const char *fw, enum cvmf_vmm vmm, unsigned vcpus, const char *cpu,
		       uint64_t feat, uint8_t out[48])
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_sev_spec spec = { .mode = CVMF_MODE_SNP, .ovmf_path = fw };
	struct cvmf_sev_inputs *in = NULL;
	if (cvmf_sev_load(ctx, &spec, &in))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	const struct cvmf_cpu_type *t = cvmf_cpu_type_find(cpu);
	assert_non_null(t);
	struct cvmf_sev_launch l = { .vmm = vmm, .vcpus = vcpus, .guest_features = feat,
				     .vcpu_sig = cvmf_cpu_sig(t->family, t->model, t->stepping) };
	struct cvmf_digest d;
	assert_int_equal(cvmf_sev_measure(ctx, in, &l, &d), 0);
	memcpy(out, d.bytes, 48);
	cvmf_sev_inputs_free(in);
	cvmf_ctx_free(ctx);
}

static void test_match_explain(void **state)
{
	(void)state;
	char *fw = t_shared_file("inputs/OVMF.fd");
	if (!fw)
		skip();
	/* an image directory with its measurements.json, written by the builder's
	 * own function from the image's files */
	char *dir = t_tmpdir();
	size_t n;
	char *fwd = t_slurp(fw, &n);
	free(t_write(dir, "OVMF.fd", fwd, n));
	free(fwd);
	free(t_write(dir, "cmdline.txt", "console=ttyS0", 13));
	free(t_write(dir, "vmlinuz", "", 0));
	free(t_write(dir, "initrd.img", "", 0));
	json_t *plat = json_pack("{s:{s:b,s:[s],s:[i,i,i,i],s:[s],s:[s]}}", "snp",
				 "kernel-hashes", 0, "vmm-types", "QEMU", "vcpus", 1, 2, 3, 4,
				 "cpu-types", "EPYC-v4", "guest-features", "0x1");
	cvmf_ctx *ctx = cvmf_ctx_new();
	json_t *meas = NULL;
	if (img_measure(ctx, dir, "test", plat, &meas))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	char *mpath = NULL;
	assert_true(asprintf(&mpath, "%s/measurements.json", dir) > 0);
	assert_int_equal(json_dump_file(meas, mpath, JSON_INDENT(2)), 0);
	json_decref(meas);
	json_decref(plat);

	/* matched: 3 vCPUs of EPYC-v4 */
	uint8_t d[48];
	snp_digest(fw, CVMF_VMM_QEMU, 3, "EPYC-v4", 1, d);
	struct syn s;
	struct syn_spec sp = { .product = CVMF_SNP_GENOA, .version = 3, .tcb = T1, .cert_tcb = T1,
			       .measurement = d };
	syn_make(&s, &sp);
	struct cvmf_attestation *a = NULL;
	assert_int_equal(cvmf_attestation_parse(ctx, s.report, sizeof(s.report), &a), 0);
	struct cvmf_attest_match m;
	const char *ex[1] = { dir };
	assert_int_equal(cvmf_attest_match(ctx, a, ex, 1, true, &m), 0);
	assert_true(m.matched);
	assert_int_equal(m.params.vcpus, 3);
	assert_string_equal(m.params.cpu_type, "EPYC-v4");
	assert_string_equal(m.params.vmm, "QEMU");
	assert_int_equal(m.params.guest_features, 1);
	assert_int_equal(m.n_published, 4);
	assert_false(m.searched);
	/* the measurements.json file itself works too */
	ex[0] = mpath;
	assert_int_equal(cvmf_attest_match(ctx, a, ex, 1, true, &m), 0);
	assert_true(m.matched);
	cvmf_attestation_free(a);
	syn_free(&s);

	/* mismatched, explained: 7 vCPUs of EPYC-Genoa */
	snp_digest(fw, CVMF_VMM_QEMU, 7, "EPYC-Genoa", 1, d);
	syn_make(&s, &sp);
	a = NULL;
	assert_int_equal(cvmf_attestation_parse(ctx, s.report, sizeof(s.report), &a), 0);
	ex[0] = dir;
	assert_int_equal(cvmf_attest_match(ctx, a, ex, 1, true, &m), 0);
	assert_false(m.matched);
	assert_true(m.searched && m.explained);
	assert_int_equal(m.explanation.vcpus, 7);
	assert_string_equal(m.explanation.cpu_type, "EPYC-Genoa");
	assert_string_equal(m.explanation.vmm, "QEMU");
	printf("# explained after %zu combinations in %.1f ms\n", m.n_searched, m.search_ms);
	/* the CLI says so on its first line, exit 3, and in the JSON */
	char *rep = t_write(dir, "report.bin", s.report, sizeof(s.report));
	char *leaf = t_write(dir, "vcek.pem", s.leaf_pem.d, s.leaf_pem.n);
	char *ask = t_write(dir, "ask.der", s.ask_der.d, s.ask_der.n);
	char *ark = t_write(dir, "ark.pem", s.ark_pem.d, s.ark_pem.n);
	struct run r = t_sh("'%s' attest verify '%s' --certs '%s' --certs '%s' --trust-root '%s' "
			    "--expect '%s'", t_bin(), rep, leaf, ask, ark, dir);
	t_assert_clean_exit(&r, 3);
	assert_true(!strncmp(r.out, "FAILED match: ", 14));
	assert_non_null(strstr(r.out, "7 vCPUs of EPYC-Genoa, QEMU"));
	t_run_free(&r);
	r = t_sh("'%s' attest verify --json '%s' --certs '%s' --certs '%s' --trust-root '%s' "
		 "--expect '%s'", t_bin(), rep, leaf, ask, ark, dir);
	t_assert_clean_exit(&r, 3);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "verified")));
	assert_true(json_is_false(json_object_get(j, "matched")));
	json_t *e = json_object_get(j, "explanation");
	assert_int_equal(json_integer_value(json_object_get(e, "vcpus")), 7);
	assert_string_equal(json_string_value(json_object_get(e, "vcpu_type")), "EPYC-Genoa");
	assert_string_equal(json_string_value(json_object_get(e, "vmm")), "QEMU");
	assert_string_equal(json_string_value(json_object_get(e, "guest_features")), "0x1");
	json_decref(j);
	t_run_free(&r);
	cvmf_attestation_free(a);
	syn_free(&s);

	/* unexplainable: a measurement no launch of this firmware gives */
	memset(d, 0xee, sizeof(d));
	syn_make(&s, &sp);
	a = NULL;
	assert_int_equal(cvmf_attestation_parse(ctx, s.report, sizeof(s.report), &a), 0);
	assert_int_equal(cvmf_attest_match(ctx, a, ex, 1, true, &m), 0);
	assert_false(m.matched);
	assert_true(m.searched);
	assert_false(m.explained);
	assert_true(m.n_searched >= 512 * 3);
	printf("# unexplained after %zu combinations in %.1f ms\n", m.n_searched, m.search_ms);
	cvmf_attestation_free(a);
	syn_free(&s);

	/* an --expect that is not a measurements.json */
	ex[0] = fw;
	a = NULL;
	assert_int_equal(cvmf_attestation_parse(ctx, s.report, sizeof(s.report), &a), 0);
	assert_int_equal(cvmf_attest_match(ctx, a, ex, 1, false, &m), CVMF_E_UNSUPPORTED);
	cvmf_attestation_free(a);
	t_rmrf(dir);
	free(dir); free(mpath); free(fw); free(rep); free(leaf); free(ask); free(ark);
	cvmf_ctx_free(ctx);
}

/* ---- the command line ---- */

static void test_cli(void **state)
{
	(void)state;
	char *rep = t_shared_file(FIX "snp/milan/report.bin");
	char *vcek = rep ? t_shared_file(FIX "snp/milan/vcek.pem") : NULL;
	char *ask = vcek ? t_shared_file(FIX "snp/milan/ask.pem") : NULL;
	char *dbg = ask ? t_shared_file(FIX "tdx/tdx_quote_debug.dat") : NULL;
	if (!dbg)
		skip();
	const char *bin = t_bin();
	struct run r = t_sh("'%s' attest show '%s'", bin, rep);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "measurement                      5feee30d6d7e1a29"));
	assert_non_null(strstr(r.out, "reported_tcb.microcode           219"));
	t_run_free(&r);
	r = t_sh("'%s' attest show --json '%s'", bin, dbg);
	t_assert_clean_exit(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(json_object_get(j, "td_attributes"), "debug")));
	assert_string_equal(json_string_value(json_object_get(j, "mrtd")),
			    "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b6"
			    "89cac1599ccea1b7d420483a9ce5f031");
	json_decref(j);
	t_run_free(&r);

	r = t_sh("'%s' attest verify '%s' --certs '%s' --certs '%s'", bin, rep, vcek, ask);
	t_assert_clean_exit(&r, 0);
	assert_true(!strncmp(r.out, "verified: ", 10));
	t_run_free(&r);
	r = t_sh("'%s' attest verify '%s' --certs '%s'", bin, rep, ask);
	t_assert_clean_exit(&r, 3);
	assert_true(!strncmp(r.out, "FAILED certificates: no VCEK", 28));
	t_run_free(&r);
	r = t_sh("'%s' attest verify --json '%s'", bin, dbg);
	t_assert_clean_exit(&r, 3);
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "verified")));
	assert_string_equal(json_string_value(json_object_get(j, "failed_check")), "debug");
	assert_non_null(json_object_get(json_object_get(j, "report"), "rtmr3"));
	json_decref(j);
	t_run_free(&r);
	/* an allowing policy file */
	char *dir = t_tmpdir();
	char *pol = t_write(dir, "p.json", "{\"allow_debug\": true}", 21);
	r = t_sh("'%s' attest verify '%s' --policy '%s'", bin, dbg, pol);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* at a time before the VCEK: exit 3, naming the dates */
	r = t_sh("'%s' attest verify '%s' --certs '%s' --certs '%s' --at-time 2025-01-01T00:00:00Z",
		 bin, rep, vcek, ask);
	t_assert_clean_exit(&r, 3);
	assert_true(!strncmp(r.out, "FAILED chain: ", 14));
	assert_non_null(strstr(r.out, "not yet valid"));
	t_run_free(&r);
	/* could not run: 1; usage: 2 */
	r = t_sh("'%s' attest verify '%s/none'", bin, dir);
	t_assert_clean_exit(&r, 1);
	t_run_free(&r);
	r = t_sh("'%s' attest show '%s'", bin, pol);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "neither an SEV-SNP report"));
	t_run_free(&r);
	r = t_sh("'%s' attest verify '%s' --at-time yesterday", bin, rep);
	t_assert_clean_exit(&r, 2);
	t_run_free(&r);
	r = t_sh("'%s' attest verify", bin);
	t_assert_clean_exit(&r, 2);
	t_run_free(&r);
	r = t_sh("'%s' attest frobnicate", bin);
	t_assert_clean_exit(&r, 2);
	t_run_free(&r);
	char *badpol = t_write(dir, "bad.json", "{\"allow_debug\": 1}", 18);
	r = t_sh("'%s' attest verify '%s' --policy '%s'", bin, dbg, badpol);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "allow_debug"));
	t_run_free(&r);
	t_rmrf(dir);
	free(dir); free(pol); free(badpol);
	free(rep); free(vcek); free(ask); free(dbg);
}

static int setup(void **state)
{
	(void)state;
	g_ark_key = key_rsa();
	g_ask_key = key_rsa();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(g_ark_key);
	EVP_PKEY_free(g_ask_key);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_parse_fixtures),
		cmocka_unit_test(test_tcb_layout_per_product),
		cmocka_unit_test(test_tdx_parse_fixtures),
		cmocka_unit_test(test_snp_fixtures_verify),
		cmocka_unit_test(test_tdx_fixtures_verify),
		cmocka_unit_test(test_syn_milan_and_crl),
		cmocka_unit_test(test_syn_tcb_hwid_expiry),
		cmocka_unit_test(test_syn_turin_v2_vlek),
		cmocka_unit_test(test_syn_policy),
		cmocka_unit_test(test_tdx_collateral),
		cmocka_unit_test(test_json_slice),
		cmocka_unit_test(test_real_amd_chains),
		cmocka_unit_test(test_tdx_match),
		cmocka_unit_test(test_tdx_explain),
		cmocka_unit_test(test_match_explain),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests_name("attest", tests, setup, teardown);
}
