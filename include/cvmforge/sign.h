/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing (docs/sign.md): release keys, DSSE envelopes around in-toto
 * Statements (the measurement statement and SLSA provenance of an image),
 * their verification, and the SEV-SNP ID block / ID auth structures.
 * Included at the end of cvmforge/cvmforge.h; the rules stated there hold.
 */
#ifndef CVMFORGE_SIGN_H
#define CVMFORGE_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvmforge/core.h"
#include "cvmforge/measure.h"
#include "cvmforge/build.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* What the signatures say; versioned URIs (docs/sign.md). */
#define CVMF_DSSE_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define CVMF_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define CVMF_PREDICATE_MEASUREMENTS "https://cvmforge.dev/measurements/v1"
#define CVMF_PREDICATE_SLSA "https://slsa.dev/provenance/v1"
#define CVMF_BUILD_TYPE "https://cvmforge.dev/buildtypes/cvm-image/v1"
#define CVMF_BUILDER_ID_DEFAULT "https://cvmforge.dev/builders/local"

/* The files `cvmforge sign` adds to an image directory. Every top-level name
 * ending in ".dsse.json" is a signature: build never writes one, and verify
 * and reproduce do not count them among the image's files. */
#define CVMF_SIGN_MEASUREMENTS_FILE "measurements.dsse.json"
#define CVMF_SIGN_PROVENANCE_FILE "provenance.dsse.json"
#define CVMF_SIGN_SUFFIX ".dsse.json"

/* Caps on what a verifier reads: an envelope file, its signatures. */
#define CVMF_DSSE_MAX_ENVELOPE (4u << 20)
#define CVMF_DSSE_MAX_SIGNATURES 16u

/* ---- keys: ECDSA P-384 (SHA-384) and Ed25519 ---- */
enum cvmf_key_type { CVMF_KEY_ECDSA_P384 = 0, CVMF_KEY_ED25519 = 1 };
typedef struct cvmf_key cvmf_key;

int cvmf_key_generate(cvmf_ctx *ctx, enum cvmf_key_type type, cvmf_key **ret);
/* PEM or DER, PKCS#8 or traditional (keys made by the openssl command line).
 * A private key file readable by group or others is refused. */
int cvmf_key_load_private(cvmf_ctx *ctx, const char *path, cvmf_key **ret);
int cvmf_key_load_public(cvmf_ctx *ctx, const char *path, cvmf_key **ret);
/* PATH (PKCS#8 PEM, mode 0600 from the first byte) and PATH.pub; neither may
 * exist already. */
int cvmf_key_write(cvmf_ctx *ctx, const cvmf_key *key, const char *path);
enum cvmf_key_type cvmf_key_get_type(const cvmf_key *key);
bool cvmf_key_is_private(const cvmf_key *key);
/* "ecdsa-p384", "ed25519" */
const char *cvmf_key_type_name(enum cvmf_key_type type);
int cvmf_key_type_from_name(const char *name, enum cvmf_key_type *ret);
/* SHA-256 of the DER SubjectPublicKeyInfo: the DSSE keyid (in hex). */
int cvmf_key_fingerprint(cvmf_ctx *ctx, const cvmf_key *key, uint8_t out[32]);
/* The public key as PEM, malloc'd. */
int cvmf_key_public_pem(cvmf_ctx *ctx, const cvmf_key *key, char **ret);
/* Ed25519 only: the C2SP signed-note verifier key NAME+KEYID+BASE64. */
int cvmf_key_note_vkey(cvmf_ctx *ctx, const cvmf_key *key, const char *name, char **ret);
void cvmf_key_free(cvmf_key *key);

/* ---- DSSE (github.com/secure-systems-lab/dsse, protocol v1) ---- */
/* The envelope {"payload","payloadType","signatures":[{"keyid","sig"}]} as
 * canonical JSON (sorted keys, no whitespace), malloc'd and NUL-terminated.
 * The signature is over PAE(payloadType, payload). */
int cvmf_dsse_sign(cvmf_ctx *ctx, const cvmf_key *key, const char *payload_type,
		   const void *payload, size_t len, char **ret, size_t *ret_len);
/* Parse an envelope strictly (no unknown fields, strict base64, at most
 * CVMF_DSSE_MAX_SIGNATURES, no duplicate signatures, at most
 * CVMF_DSSE_MAX_ENVELOPE bytes), check its payload type, and verify the
 * signature whose keyid is key's fingerprint. `what` names the envelope in
 * messages. The payload is returned (malloc'd) only when it verifies. */
int cvmf_dsse_verify(cvmf_ctx *ctx, const char *what, const cvmf_key *key,
		     const char *payload_type, const void *env, size_t env_len,
		     uint8_t **ret_payload, size_t *ret_len);

/* ---- the statements of an image ---- */
struct cvmf_sign_opts {
	const char *recipe;      /* optional: the recipe; its digest must equal the
				  * manifest's, and RECIPE.lock, if present, is recorded */
	const char *builder_id;  /* runDetails.builder.id; NULL: CVMF_BUILDER_ID_DEFAULT */
	bool force;              /* replace existing signature files */
};

/* The canonical payloads (in-toto Statement v1) of an image directory:
 * subjects = every file of the image and its tarball (sha256; sha384 too for
 * the measured files); the measurement statement's predicate is
 * measurements.json, the provenance's a SLSA provenance v1 predicate built
 * from manifest.json. The files are checked against manifest.json first: an
 * image that does not match its manifest is refused. */
int cvmf_statement_measurements(cvmf_ctx *ctx, const char *image_dir, char **ret,
				size_t *ret_len);
int cvmf_statement_provenance(cvmf_ctx *ctx, const char *image_dir,
			      const struct cvmf_sign_opts *opts, char **ret, size_t *ret_len);
/* Write CVMF_SIGN_MEASUREMENTS_FILE and CVMF_SIGN_PROVENANCE_FILE into the
 * image directory (never changing a file build wrote). */
int cvmf_sign_image(cvmf_ctx *ctx, const char *image_dir, const cvmf_key *key,
		    const struct cvmf_sign_opts *opts);
/* Verify the two envelopes of an image (a directory, or a tarball with the
 * envelopes beside it) under a public key: both signatures, every subject
 * digest against the file on disk, no file that is not a subject, the signed
 * predicate against measurements.json, the same subjects in both. Each check
 * is reported; *ret_mismatches counts the failed ones. The return value is an
 * error only when the image or the key cannot be read. Recomputing the
 * measurements is cvmf_verify's job: run both. */
int cvmf_verify_signatures(cvmf_ctx *ctx, const char *image, const cvmf_key *pub,
			   cvmf_check_fn check, void *user, size_t *ret_mismatches);

/* ---- SEV-SNP ID block and ID auth (snp.md section 3) ---- */
#define CVMF_SNP_POLICY_DEFAULT 0x30000ull  /* as sev-snp-measure: SMT, reserved bit 17 */
struct cvmf_snp_id_params {
	uint8_t ld[48];          /* the expected launch digest */
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t guest_svn;
	uint64_t policy;
};
struct cvmf_snp_id_result {
	uint8_t id_block[96];
	uint8_t id_auth[4096];
	uint8_t id_key_digest[48];      /* SHA-384 of the 1028-byte ID key structure */
	uint8_t author_key_digest[48];  /* the same for the author key; zero without one */
	bool has_author_key;
};
/* Both keys must be ECDSA P-384 private keys; author_key may be NULL. */
int cvmf_snp_id_block(cvmf_ctx *ctx, const struct cvmf_snp_id_params *p,
		      const cvmf_key *id_key, const cvmf_key *author_key,
		      struct cvmf_snp_id_result *ret);

/* The SNP launch digests an image's measurements.json records, one per
 * measured configuration (VMM, vCPU count, CPU type, guest features); an
 * image without SNP measurements is an error. *ret is malloc'd. */
struct cvmf_snp_launch {
	char vmm[16];
	uint32_t vcpus;
	char cpu_type[64];
	char guest_features[32];
	uint8_t ld[48];
};
int cvmf_snp_image_launches(cvmf_ctx *ctx, const char *image, struct cvmf_snp_launch **ret,
			    size_t *ret_n);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* CVMFORGE_SIGN_H */
