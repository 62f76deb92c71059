/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation, the relying party's side: parse a raw SEV-SNP attestation
 * report or a TDX quote, and verify it (hardware certificate chain, report
 * signature, policy) in one call. Included by cvmforge/cvmforge.h; the same
 * rules hold (no printing, errors in the context, ret_* written on success).
 */
#ifndef CVMFORGE_ATTEST_H
#define CVMFORGE_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cvmforge/core.h"
#include "cvmforge/measure.h"
#include "cvmforge/build.h"
#include "cvmforge/sign.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* ---- SEV-SNP attestation report (1184 bytes, little-endian) ---- */
#define CVMF_SNP_REPORT_SIZE 1184u
#define CVMF_SNP_SIGNED_LEN 0x2A0u

enum cvmf_snp_product {
	CVMF_SNP_PRODUCT_UNKNOWN = 0,
	CVMF_SNP_MILAN,
	CVMF_SNP_GENOA,
	CVMF_SNP_TURIN,
};
/* "Milan", "Genoa", "Turin" or "unknown". */
const char *cvmf_snp_product_name(enum cvmf_snp_product p);

enum cvmf_snp_signer { CVMF_SNP_SIGNER_VCEK = 0, CVMF_SNP_SIGNER_VLEK = 1,
		       CVMF_SNP_SIGNER_NONE = 7 };

/* One TCB version, decoded with its product's byte layout. */
struct cvmf_snp_tcb {
	uint8_t raw[8];   /* as stored */
	uint8_t bootloader, tee, snp, microcode, fmc;   /* fmc: Turin only */
};

/* SNP guest policy bits (ABI 1.55+). */
#define CVMF_SNP_POLICY_SMT          (1ull << 16)
#define CVMF_SNP_POLICY_RESERVED1    (1ull << 17)
#define CVMF_SNP_POLICY_MIGRATE_MA   (1ull << 18)
#define CVMF_SNP_POLICY_DEBUG        (1ull << 19)
#define CVMF_SNP_POLICY_SINGLE_SOCKET (1ull << 20)
#define CVMF_SNP_POLICY_CXL_ALLOW    (1ull << 21)
#define CVMF_SNP_POLICY_MEM_AES_256_XTS (1ull << 22)
#define CVMF_SNP_POLICY_RAPL_DIS     (1ull << 23)
#define CVMF_SNP_POLICY_CIPHERTEXT_HIDING (1ull << 24)
#define CVMF_SNP_POLICY_PAGE_SWAP_DISABLE (1ull << 25)

struct cvmf_snp_report {
	uint32_t version, guest_svn;
	uint64_t policy;
	uint8_t family_id[16], image_id[16];
	uint32_t vmpl, signature_algo;
	uint64_t platform_info;
	uint32_t signer_info;            /* raw field at 0x048 */
	bool author_key_en, mask_chip_key;
	enum cvmf_snp_signer signer;     /* bits 4:2 of signer_info (other values: refused) */
	uint8_t report_data[64], measurement[48], host_data[32];
	uint8_t id_key_digest[48], author_key_digest[48];
	uint8_t report_id[32], report_id_ma[32];
	struct cvmf_snp_tcb current_tcb, reported_tcb, committed_tcb, launch_tcb;
	bool has_cpuid;                  /* v3+ */
	uint8_t cpuid_fam, cpuid_mod, cpuid_step;
	uint8_t chip_id[64];
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	bool has_mitigations;            /* v5+ */
	uint64_t launch_mit_vector, current_mit_vector;
	uint8_t sig_r[72], sig_s[72];    /* little-endian, zero-padded */
	/* From CPUID (v3+), or guessed for v2 (Turin when chip_id[8..63] is
	 * zero and the chip id is not masked; else unknown). */
	enum cvmf_snp_product product;
	bool product_from_cpuid;
	uint8_t raw[CVMF_SNP_REPORT_SIZE];
};

/* Parse a raw report (exactly 1184 bytes, version 2..5). */
int cvmf_snp_report_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			  struct cvmf_snp_report *ret);
/* Decode 8 stored TCB bytes with a product's layout (Milan/Genoa:
 * [BL, TEE, 0, 0, 0, 0, SNP, ucode]; Turin: [FMC, BL, TEE, SNP, 0, 0, 0, ucode]).
 * An unknown product decodes as Milan/Genoa. */
void cvmf_snp_tcb_decode(const uint8_t raw[8], enum cvmf_snp_product p, struct cvmf_snp_tcb *ret);
/* The report's product from CPUID family/model (CVMF_SNP_PRODUCT_UNKNOWN if none). */
enum cvmf_snp_product cvmf_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* ---- TDX quote (DCAP v4, v5) ---- */
struct cvmf_tdx_quote {
	uint16_t version, att_key_type;
	uint32_t tee_type;
	uint16_t qe_svn, pce_svn;
	uint8_t qe_vendor_id[16], user_data[20];
	uint16_t body_type;              /* 2 TD 1.0, 3 TD 1.5 (v4: 2) */
	uint32_t body_size;              /* 584 or 648 */
	/* TD report body */
	uint8_t tee_tcb_svn[16], mrseam[48], mrsignerseam[48];
	uint64_t seam_attributes, td_attributes, xfam;
	uint8_t mrtd[48], mrconfigid[48], mrowner[48], mrownerconfig[48];
	uint8_t rtmr[4][48], report_data[64];
	uint8_t tee_tcb_svn2[16], mrservicetd[48];   /* TD 1.5 only, else zero */
	/* signature data */
	size_t signed_len;               /* header + (v5 type/size) + body */
	uint8_t signature[64];           /* r || s, big-endian */
	uint8_t att_key[64];             /* X || Y */
	uint16_t cert_type;              /* outer certification data type (6) */
	uint32_t cert_size;
	bool has_qe;                     /* type 6: QE report certification data */
	uint8_t qe_report[384], qe_report_sig[64];
	/* the QE report's fields */
	uint8_t qe_cpusvn[16];
	uint32_t qe_miscselect;
	uint8_t qe_attributes[16], qe_mrenclave[32], qe_mrsigner[32];
	uint16_t qe_isvprodid, qe_isvsvn;
	uint8_t qe_report_data[64];
	const uint8_t *qe_auth_data;     /* into raw */
	uint16_t qe_auth_len;
	uint16_t pck_cert_type;          /* nested certification data type (5: PEM chain) */
	const uint8_t *pck_chain;        /* into raw */
	uint32_t pck_chain_len;
	uint8_t *raw;                    /* owned copy of the quote */
	size_t raw_len;
};
/* TD attribute bits. */
#define CVMF_TD_ATTR_DEBUG         (1ull << 0)
#define CVMF_TD_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define CVMF_TD_ATTR_PKS           (1ull << 30)
#define CVMF_TD_ATTR_KL            (1ull << 31)
#define CVMF_TD_ATTR_PERFMON       (1ull << 63)

int cvmf_tdx_quote_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			 struct cvmf_tdx_quote **ret);
void cvmf_tdx_quote_free(struct cvmf_tdx_quote *q);

/* ---- either kind ---- */
enum cvmf_att_kind { CVMF_ATT_SNP = 1, CVMF_ATT_TDX = 2 };
struct cvmf_attestation {
	enum cvmf_att_kind kind;
	struct cvmf_snp_report *snp;
	struct cvmf_tdx_quote *tdx;
};
/* Auto-detect: a 1184-byte buffer with version 2..5 is an SNP report; a
 * buffer starting with version 4/5 and TEE type 0x81 is a TDX quote. */
int cvmf_attestation_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			   struct cvmf_attestation **ret);
int cvmf_attestation_read(cvmf_ctx *ctx, const char *path, struct cvmf_attestation **ret);
void cvmf_attestation_free(struct cvmf_attestation *a);

/* ---- verification ---- */
struct cvmf_blob {
	const void *data;
	size_t len;
	const char *name;   /* for messages: a file name, or NULL */
};

/* The relying party's policy. Each check runs only when its has_* flag is
 * set, except DEBUG, which is refused unless allow_debug. */
struct cvmf_attest_policy {
	bool allow_debug;
	bool has_min_tcb;                /* SNP: reported and launch TCB, per component */
	struct cvmf_snp_tcb min_tcb;
	bool has_report_data;
	uint8_t report_data[64];
	bool has_host_data;
	uint8_t host_data[32];
	bool has_vmpl;
	uint32_t vmpl;
	bool has_min_guest_svn;
	uint32_t min_guest_svn;
	size_t n_chip_ids;               /* 0: any */
	uint8_t (*chip_ids)[64];
	bool has_min_tee_tcb_svn;        /* TDX min_tcb: TEE_TCB_SVN bytes */
	uint8_t min_tee_tcb_svn[16];
	size_t n_tcb_status;             /* TDX allowed_tcb_status; 0: not named */
	char **tcb_status;
};
/* Parse a policy document (JSON; keys in docs/attest.md). Unknown keys and
 * wrong types are errors naming the key. */
int cvmf_attest_policy_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
			     struct cvmf_attest_policy *ret);
void cvmf_attest_policy_clear(struct cvmf_attest_policy *p);

struct cvmf_attest_opts {
	const struct cvmf_blob *certs; size_t n_certs;   /* PEM (one or more) or DER, any order */
	const struct cvmf_blob *trust_roots; size_t n_trust_roots; /* replace the pinned roots */
	const struct cvmf_blob *crls; size_t n_crls;     /* PEM or DER */
	const char *collateral_dir;      /* TDX: tcb_info.json, qe_identity.json,
	                                    tcb_signing_chain.pem */
	const struct cvmf_attest_policy *policy;         /* NULL: the default policy */
	bool has_time;
	time_t at_time;                  /* else now */
};

struct cvmf_attest_result {
	bool verified;
	char failed_check[48];           /* "" when verified */
	char failed_detail[400];
	enum cvmf_att_kind kind;
	enum cvmf_snp_product product;   /* SNP: the product whose root verified */
	char tcb_status[32];             /* TDX: "UpToDate", ..., or "unknown" */
};

/* Verify a report or quote: every check is reported through check (may be
 * NULL) as (name, ok, detail); checks stop at the first failure. Returns an
 * error only when the verification could not run (unparsable report,
 * unreadable material, out of memory); a report that does not verify is a
 * success with ret->verified false and the failing check named. */
int cvmf_attest_verify(cvmf_ctx *ctx, const struct cvmf_attestation *a,
		       const struct cvmf_attest_opts *opts, cvmf_check_fn check, void *user,
		       struct cvmf_attest_result *ret);

/* ---- matching against published measurements ---- */
struct cvmf_attest_params {
	bool snp;                        /* SNP fields, else TDX fields */
	char vmm[16];                    /* SNP: "QEMU", "ec2", "gce" */
	char cpu_type[32];               /* SNP: QEMU -cpu model */
	uint32_t vcpu_sig;
	unsigned vcpus;
	uint64_t guest_features;
	uint64_t memory;                 /* TDX: bytes; 0 in an explanation: not
	                                    determined (no RTMR0 predicted) */
	char page_order[16];             /* TDX: "single-pass", "two-pass" */
};
struct cvmf_attest_match {
	bool matched;
	char source[512];                /* the --expect that matched */
	bool source_signed;              /* its values were under a verified signature */
	struct cvmf_attest_params params;
	bool rtmr_checked[4];            /* TDX: false: not predicted, unchecked */
	size_t n_published;              /* values compared */
	/* the search, when nothing matched and an image's files are at hand */
	bool searched, explained;
	size_t n_searched;               /* combinations tried */
	double search_ms;
	struct cvmf_attest_params explanation;
	char explain_source[512];
	/* cvmf_attest_match_ex: the expectation's own check that failed (its
	 * signature or its tlog-proof), "" when none did; matched is then false */
	char failed_check[48];
	char failed_detail[400];
	char published[160];             /* SNP: what the source the search
	                                    explained against lists, summarised */
	char not_searched[320];          /* why an image at hand was not searched
	                                    (its files are not the signed ones) */
};
/* Match the report's measurement (SNP) or MRTD and RTMR0-3 (TDX) against
 * the values published in each expect path: an image directory (its
 * measurements.json) or a measurements.json file. When nothing matches and
 * explain is set, search the parameter space of each image directory (SNP:
 * vCPUs 1-512 x CPU types x VMMs x its guest features and the common ones;
 * TDX: memory sizes x page orders) for the reported value. Any other
 * file is CVMF_E_UNSUPPORTED. Signed sources: cvmf_attest_match_ex. */
int cvmf_attest_match(cvmf_ctx *ctx, const struct cvmf_attestation *a,
		      const char *const *expect, size_t n_expect, bool explain,
		      struct cvmf_attest_match *ret);

/* The published values may also be signed (docs/attest.md): each expect path
 * is then
 *   - an image directory: with vkey, the tlog-proof IMAGE.tlog-proof beside
 *     it; else with pubkey, its measurements.dsse.json; else its
 *     measurements.json;
 *   - a measurements.json (refused when pubkey or vkey is given: every value
 *     must then be signed);
 *   - a signed measurement statement (a DSSE envelope, `cvmforge sign`),
 *     verified under pubkey by sign/ (refused when vkey is given: every value
 *     must then be proven in the log);
 *   - a c2sp.org/tlog-proof (`cvmforge publish`), verified offline under vkey
 *     by log/, whose entry is a signed statement verified under pubkey.
 * Fail closed: a statement without pubkey, a proof without vkey, a signature
 * or proof that does not verify stops the matching with ret->failed_check
 * ("statement_signature", "tlog_proof") named and nothing matched. Each such
 * check is reported through check (may be NULL). The explanation searches the
 * image directory of a signed source only after the files it reads have the
 * digests the statement signs. */
struct cvmf_attest_match_opts {
	const cvmf_key *pubkey;          /* the release key (public) */
	const char *vkey;                /* the log's note verifier key */
	bool explain;
	cvmf_check_fn check;
	void *user;
};
int cvmf_attest_match_ex(cvmf_ctx *ctx, const struct cvmf_attestation *a,
			 const char *const *expect, size_t n_expect,
			 const struct cvmf_attest_match_opts *opts, struct cvmf_attest_match *ret);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* CVMFORGE_ATTEST_H */
