/* SPDX-License-Identifier: Apache-2.0 */
/* Sigstore Rekor v2 (log/rekor.c, tlog.md §8): hashedrekord v0.0.2 requests
 * and the offline verification of the TransparencyLogEntry answers. */
#ifndef CVMF_LOG_REKOR_H
#define CVMF_LOG_REKOR_H

#include <stddef.h>
#include <stdint.h>

#include "cvmforge/cvmforge.h"

struct cmn_key;

struct tlg_rekor_entry {
	uint64_t index, size;           /* logIndex; the verified checkpoint's size */
	uint8_t root[32], leaf[32];
	uint8_t *body;                  /* the canonicalized body (the leaf) */
	size_t body_len;
	char *tle;                      /* the TransparencyLogEntry JSON as received */
	size_t tle_len;
};
void tlg_rekor_entry_clear(struct tlg_rekor_entry *e);

/* Verify a TransparencyLogEntry offline against the log's note verifier key
 * (vkey, Ed25519 0x01; its name is the origin): checkpoint signature, the
 * body's inclusion at logIndex, and, when digest is not NULL, that the body
 * logs that digest. CVMF_E_CRYPTO when it does not verify. */
int tlg_rekor_verify(cvmf_ctx *ctx, const char *what, const void *tle, size_t len,
		     const char *vkey, const uint8_t *digest, size_t digest_len,
		     struct tlg_rekor_entry *ret);

/* The CreateEntry request for a statement: digest = SHA-384(stmt), ECDSA
 * P-384 / SHA-384 signature over stmt with k, the DER SPKI (malloc'd JSON). */
int tlg_rekor_request(cvmf_ctx *ctx, const struct cmn_key *k, const void *stmt, size_t len,
		      uint8_t digest[48], char **ret_json);

/* POST the request to BASE/api/v2/log/entries and verify the answer. */
int tlg_rekor_submit(cvmf_ctx *ctx, const char *base_url, const struct cmn_key *k,
		     const void *stmt, size_t len, const char *vkey, struct tlg_rekor_entry *ret);

/* A Sigstore bundle v0.3 (JSON, malloc'd) of a verified entry: the entry,
 * the digest and signature as messageSignature, the key's SHA-256 as hint. */
int tlg_rekor_bundle(cvmf_ctx *ctx, const struct tlg_rekor_entry *e, const uint8_t digest[48],
		     char **ret, size_t *ret_len);
/* Verify a bundle offline with the log's vkey; with stmt, also that its
 * digest is SHA-384(stmt) and the logged key's signature verifies over it. */
int tlg_rekor_bundle_verify(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
			    const char *vkey, const void *stmt, size_t stmt_len,
			    struct tlg_rekor_entry *ret);

#endif
