/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the DSSE envelope parser, envelope verification and
 * the in-toto statement parser (sign/dsse.c, sign/statement.c). Envelopes
 * come from whoever publishes an image, so they are hostile input.
 *
 * The same bytes go to sgn_dsse_parse(), cvmf_dsse_verify() under a fixed
 * Ed25519 key, and sgn_statement_parse(); a payload that parses out of an
 * envelope is fed to the statement parser too. Besides ASan/UBSan findings
 * it checks that:
 *   - a failure leaves no result and a message;
 *   - a parsed envelope has 1..CVMF_DSSE_MAX_SIGNATURES signatures, no
 *     repeated sig, and a non-empty payload type;
 *   - a parsed statement is canonical (its bytes re-encode to themselves),
 *     its subjects sorted, unique, relative and with a sha256.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/json.h"
#include "sign/sgn.h"
#include "tests/fuzz/fuzz.h"

static cvmf_key *fixed_key(void)
{
	static cvmf_key *k;
	if (!k) {
		uint8_t seed[32];
		for (int i = 0; i < 32; i++)
			seed[i] = (uint8_t)(i * 7 + 1);
		EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
		CHECK(pk);
		k = malloc(sizeof(*k));
		CHECK(k);
		CHECK(cmn_key_from_pkey(NULL, "fuzz key", pk, &k->k) == 0);
		EVP_PKEY_free(pk);
	}
	return k;
}

static void check_statement(cvmf_ctx *ctx, const void *buf, size_t len)
{
	struct sgn_statement st = { 0 };
	int r = sgn_statement_parse(ctx, "stmt", buf, len, &st);
	if (r < 0) {
		CHECK(!st.root && !st.subjects);
		CHECK(cvmf_ctx_errmsg(ctx)[0]);
		return;
	}
	char *canon = NULL;
	size_t clen = 0;
	CHECK(cmn_json_canonical(ctx, st.root, &canon, &clen) == 0);
	CHECK(clen == len && !memcmp(canon, buf, len));
	free(canon);
	CHECK(st.n_subjects >= 1 && st.predicate_type && json_is_object(st.predicate));
	for (size_t i = 0; i < st.n_subjects; i++) {
		CHECK(st.subjects[i].has_sha256);
		CHECK(st.subjects[i].name[0] && st.subjects[i].name[0] != '/');
		CHECK(!strstr(st.subjects[i].name, ".."));
		CHECK(i == 0 || strcmp(st.subjects[i - 1].name, st.subjects[i].name) < 0);
	}
	sgn_statement_clear(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	CHECK(ctx);
	struct sgn_envelope e = { 0 };
	int r = sgn_dsse_parse(ctx, "env", data, size, &e);
	if (r < 0) {
		CHECK(!e.payload_type && !e.sigs && !e.payload);
		CHECK(cvmf_ctx_errmsg(ctx)[0]);
	} else {
		CHECK(e.payload_type && e.payload_type[0]);
		CHECK(e.n_sigs >= 1 && e.n_sigs <= CVMF_DSSE_MAX_SIGNATURES);
		for (size_t i = 0; i < e.n_sigs; i++)
			for (size_t j = 0; j < i; j++)
				CHECK(e.sigs[i].len != e.sigs[j].len ||
				      memcmp(e.sigs[i].sig, e.sigs[j].sig, e.sigs[i].len));
		check_statement(ctx, e.payload, e.payload_len);
		sgn_envelope_clear(&e);
	}
	uint8_t *payload = NULL;
	size_t plen = 0;
	r = cvmf_dsse_verify(ctx, "env", fixed_key(), CVMF_DSSE_PAYLOAD_TYPE, data, size, &payload,
			     &plen);
	if (r < 0)
		CHECK(!payload && cvmf_ctx_errmsg(ctx)[0]);
	free(payload);
	check_statement(ctx, data, size);
	cvmf_ctx_free(ctx);
	return 0;
}
