/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the JSON layer and strict base64 (common/json.c,
 * common/encode.c). The first byte picks the parser, the rest is the input.
 *   - even: cmn_json_parse(); on success, canonical bytes that parse back
 *     to an equal document whose canonical bytes are the same (no reals),
 *     the pretty text parses back to an equal document, and a shape check
 *     and path lookups that either pass or leave a message;
 *   - odd: cmn_base64_decode(); on success, encoding the bytes gives the
 *     input back exactly (one encoding per byte string); on failure, the
 *     out-parameters are untouched.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/internal.h"
#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

static bool has_real(const json_t *v)
{
	if (json_is_real(v))
		return true;
	const char *k;
	json_t *m;
	size_t i;
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, m)
			if (has_real(m))
				return true;
	if (json_is_array(v))
		json_array_foreach(v, i, m)
			if (has_real(m))
				return true;
	return false;
}

static const struct cmn_json_shape S_ANY = { .type = -1 };
static const struct cmn_json_shape S_HEX = { .type = JSON_STRING, .hex = 4, .nullable = true };
static const struct cmn_json_shape S_DOC = {
	.type = JSON_OBJECT,
	.members = (const struct cmn_json_member[]){
		{ "a", &(const struct cmn_json_shape){ .type = JSON_ARRAY, .each = &S_HEX }, true },
		{ "n", &(const struct cmn_json_shape){ .type = JSON_INTEGER, .nonneg = true }, true },
		{ NULL, NULL, false } },
	.each = &S_ANY,
};

static void fuzz_json(cvmf_ctx *ctx, const uint8_t *d, size_t n)
{
	json_t *v = (json_t *)(uintptr_t)1;
	if (cmn_json_parse(ctx, "fuzz", d, n, &v)) {
		CHECK(v == (json_t *)(uintptr_t)1);
		CHECK(cvmf_ctx_errmsg(ctx)[0] != '\0');
		return;
	}
	char *c = NULL;
	size_t clen = 0;
	if (!cmn_json_canonical(ctx, v, &c, &clen)) {
		CHECK(!has_real(v));
		CHECK(strlen(c) == clen);
		json_t *back;
		CHECK(!cmn_json_parse(ctx, "canonical", c, clen, &back));
		CHECK(json_equal(v, back));
		char *c2;
		size_t c2len;
		CHECK(!cmn_json_canonical(ctx, back, &c2, &c2len));
		CHECK(c2len == clen && !memcmp(c, c2, clen));
		free(c2);
		json_decref(back);
		free(c);
	} else {
		CHECK(has_real(v));
	}
	char *p;
	size_t plen;
	CHECK(!cmn_json_pretty(ctx, v, &p, &plen));
	CHECK(plen && p[plen - 1] == '\n');
	json_t *back;
	CHECK(!cmn_json_parse(ctx, "pretty", p, plen, &back));
	/* Reals may print as another real that reads back the same; equal otherwise. */
	CHECK(has_real(v) || json_equal(v, back));
	json_decref(back);
	free(p);
	if (cmn_json_check(ctx, "fuzz", v, &S_DOC))
		CHECK(cvmf_ctx_errmsg(ctx)[0] != '\0');
	uint8_t out[4];
	json_t *got;
	(void)cmn_json_get_hex(ctx, "fuzz", v, "a[0]", out, sizeof(out));
	(void)cmn_json_get(ctx, "fuzz", v, "a[1].b.c[2]", -1, &got);
	json_decref(v);
}

static void fuzz_base64(cvmf_ctx *ctx, const uint8_t *d, size_t n)
{
	uint8_t *out = (uint8_t *)(uintptr_t)1;
	size_t len = 12345;
	if (cmn_base64_decode(ctx, "fuzz", (const char *)d, n, &out, &len)) {
		CHECK(out == (uint8_t *)(uintptr_t)1 && len == 12345);
		CHECK(cvmf_ctx_errmsg(ctx)[0] != '\0');
		return;
	}
	CHECK(len <= n / 4 * 3);
	char *e = cmn_base64_encode(out, len);
	CHECK(e && strlen(e) == n && !memcmp(e, d, n));
	free(e);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	if (!ctx && !(ctx = cvmf_ctx_new()))
		__builtin_trap();
	if (!size)
		return 0;
	/* An exact-size copy, so ASan sees any read past the end. */
	size_t n = size - 1;
	uint8_t *t = malloc(n ? n : 1);
	if (!t)
		__builtin_trap();
	memcpy(t, data + 1, n);
	if (data[0] & 1)
		fuzz_base64(ctx, t, n);
	else
		fuzz_json(ctx, t, n);
	free(t);
	return 0;
}
