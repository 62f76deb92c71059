/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing keys: the one key loader of the library (signing, the transparency
 * log, the SNP ID block). A key wraps an OpenSSL EVP_PKEY and is loaded
 * through OpenSSL's decoder API, so a provider or a PKCS#11 URI can be added
 * later without touching callers. Not installed.
 */
#ifndef CVMF_COMMON_KEY_H
#define CVMF_COMMON_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "cvmforge/cvmforge.h"

/* Key files larger than this are refused before decoding. */
#define CMN_KEY_MAX_FILE (64u * 1024u)

enum cmn_key_type { CMN_KEY_ECDSA_P384, CMN_KEY_ED25519 };

struct cmn_key;  /* wraps an EVP_PKEY; private or public */

/* Loaded through OpenSSL's decoder API: PEM or DER, PKCS#8 or traditional,
 * keys made by the openssl CLI. A private key file readable by group or
 * others is refused, naming the file and its mode. Encrypted keys, other key
 * types and other curves are refused, naming the file. */
int cmn_key_load_private(cvmf_ctx *ctx, const char *path, struct cmn_key **ret);
/* A public key (SubjectPublicKeyInfo, PEM or DER). */
int cmn_key_load_public(cvmf_ctx *ctx, const char *path, struct cmn_key **ret);
int cmn_key_generate(cvmf_ctx *ctx, enum cmn_key_type t, struct cmn_key **ret);
/* Wrap an existing EVP_PKEY (a reference is taken); the same type checks as
 * loading. what names the key in messages. */
int cmn_key_from_pkey(cvmf_ctx *ctx, const char *what, EVP_PKEY *pkey, struct cmn_key **ret);

/* KEY (PKCS#8 PEM, 0600 from the first byte, refuses to overwrite) and
 * KEY.pub (SubjectPublicKeyInfo PEM, also never overwritten). */
int cmn_key_write(cvmf_ctx *ctx, const struct cmn_key *k, const char *path);
/* The public key as PEM (malloc'd, NUL-ended). */
int cmn_key_public_pem(cvmf_ctx *ctx, const struct cmn_key *k, char **ret, size_t *ret_len);

EVP_PKEY *cmn_key_pkey(const struct cmn_key *k);
enum cmn_key_type cmn_key_type(const struct cmn_key *k);
bool cmn_key_is_private(const struct cmn_key *k);
/* "ecdsa-p384" / "ed25519", the names the CLI takes. */
const char *cmn_key_type_name(enum cmn_key_type t);
/* Parse a name of cmn_key_type_name(); 0 or CVMF_E_INVAL. */
int cmn_key_type_parse(const char *s, enum cmn_key_type *ret);

/* sha256(DER SubjectPublicKeyInfo) */
int cmn_key_fingerprint(cvmf_ctx *ctx, const struct cmn_key *k, uint8_t out[32]);
/* The DER SubjectPublicKeyInfo (malloc'd). */
int cmn_key_public_der(cvmf_ctx *ctx, const struct cmn_key *k, uint8_t **ret, size_t *ret_len);

/* Sign / verify: ECDSA P-384 with SHA-384 (DER signature), Ed25519 pure. */
int cmn_key_sign(cvmf_ctx *ctx, const struct cmn_key *k, const void *msg, size_t len,
		 uint8_t **ret_sig, size_t *ret_len);
/* 0, or CVMF_E_CRYPTO with "signature does not verify" (or why it is malformed) */
int cmn_key_verify(cvmf_ctx *ctx, const struct cmn_key *k, const void *msg, size_t len,
		   const uint8_t *sig, size_t sig_len);

/* The C2SP signed-note verifier key of an Ed25519 key:
 * NAME+KEYID+BASE64(0x01 || pubkey), key id = SHA-256(NAME || 0x0A || 0x01 ||
 * pubkey)[:4] as 8 lowercase hex digits (c2sp.org/signed-note, tlog.md §2.3).
 * The name must be non-empty and hold no '+', spaces or control characters. */
int cmn_key_note_vkey(cvmf_ctx *ctx, const struct cmn_key *k, const char *name, char **ret_str);
/* The same for another signature type byte: 0x04 is a tlog-cosignature/v1
 * witness key (c2sp.org/tlog-cosignature). */
int cmn_key_note_vkey_type(cvmf_ctx *ctx, const struct cmn_key *k, const char *name,
			   uint8_t type, char **ret_str);
/* The 4-byte note key id alone (big-endian uint32 in the note signature). */
int cmn_key_note_keyid(cvmf_ctx *ctx, const struct cmn_key *k, const char *name,
		       uint8_t out[4]);

void cmn_key_free(struct cmn_key *k);

#endif
