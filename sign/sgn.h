/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of sign/: parsed envelopes and statements. Not installed. */
#ifndef CVMF_SGN_H
#define CVMF_SGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/key.h"
#include "cvmforge/cvmforge.h"

struct cvmf_key {
	struct cmn_key *k;
};

/* DSSE pre-authentication encoding:
 * "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in decimal. */
int sgn_pae(cvmf_ctx *ctx, const char *type, const void *body, size_t len, uint8_t **ret,
	    size_t *ret_len);

/* Both canonical statement payloads of an image (either pointer pair may be
 * NULL), its files hashed once. */
struct cvmf_sign_opts;
int sgn_statements(cvmf_ctx *ctx, const char *image_dir, const struct cvmf_sign_opts *opts,
		   char **ret_meas, size_t *ret_meas_len, char **ret_prov, size_t *ret_prov_len);

struct sgn_sig {
	char *keyid;        /* as written; may be "" */
	uint8_t *sig;
	size_t len;
};
struct sgn_envelope {
	char *payload_type;
	uint8_t *payload;
	size_t payload_len;
	struct sgn_sig *sigs;
	size_t n_sigs;
};
/* Strict parse of a DSSE envelope (no signature check). Errors name `what`
 * and the field. */
int sgn_dsse_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
		   struct sgn_envelope *ret);
void sgn_envelope_clear(struct sgn_envelope *e);
/* Refuse any member of obj not in allowed (NULL-terminated): CVMF_E_FORMAT
 * "WHAT: WHERE: unknown field "KEY"". The envelope and the statement parsers'. */
int sgn_only_members(cvmf_ctx *ctx, const char *what, const char *where, json_t *obj,
		     const char *const *allowed);

struct sgn_subject {
	const char *name;   /* borrowed from the statement's JSON */
	bool has_sha256, has_sha384;
	uint8_t sha256[32], sha384[48];
};
struct sgn_statement {
	json_t *root;                 /* owned */
	const char *predicate_type;   /* borrowed */
	json_t *predicate;            /* borrowed */
	struct sgn_subject *subjects;
	size_t n_subjects;
};
/* Parse an in-toto Statement v1 payload: canonical JSON bytes only (what
 * cmn_json_canonical writes), no unknown fields, subjects with safe relative
 * names, unique, with a sha256 (and optionally sha384) digest. */
int sgn_statement_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
			struct sgn_statement *ret);
void sgn_statement_clear(struct sgn_statement *s);

/* The first place two JSON values differ: its path ("snp.measurements[2].vcpus")
 * and both values (compact JSON, shortened), into out. false if equal. */
bool sgn_json_diff(const json_t *a, const json_t *b, char *out, size_t len);

#endif
