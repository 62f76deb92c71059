/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON layer (common/json.c) and strict base64 (common/encode.c):
 * round trips, canonical bytes, errors with line:column and JSON paths,
 * the RFC 4648 test vectors and the encodings refused.
 */
#include "tests/unit/testlib.h"
#include "common/encode.h"
#include "common/internal.h"
#include "common/json.h"

#define CTX_MSG(ctx) cvmf_ctx_errmsg(ctx)

static void test_hex(void **state)
{
	(void)state;
	const uint8_t b[] = { 0x00, 0x01, 0xab, 0xff };
	json_t *h = cmn_json_hex(b, sizeof(b));
	assert_string_equal(json_string_value(h), "0001abff");
	json_decref(h);
	h = cmn_json_hex(b, 0);
	assert_string_equal(json_string_value(h), "");
	json_decref(h);
	/* Longer than the stack buffer. */
	uint8_t big[200];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	h = cmn_json_hex(big, sizeof(big));
	assert_int_equal(json_string_length(h), 400);
	assert_memory_equal(json_string_value(h) + 396, "c6c7", 4);
	json_decref(h);
	h = cmn_json_hex_u64(0);
	assert_string_equal(json_string_value(h), "0x0");
	json_decref(h);
	h = cmn_json_hex_u64(UINT64_MAX);
	assert_string_equal(json_string_value(h), "0xffffffffffffffff");
	json_decref(h);

	/* get_hex: round trip, and the strings refused with the path named. */
	cvmf_ctx *ctx = cvmf_ctx_new();
	json_t *doc;
	const char *text = "{\"inputs\":[{\"sha256\":\"0001abff\"},{\"sha256\":\"0001ABFF\"},"
			   "{\"sha256\":\"0001abf\"},{\"sha256\":5}]}";
	assert_int_equal(cmn_json_parse(ctx, "doc", text, strlen(text), &doc), 0);
	uint8_t out[4];
	assert_int_equal(cmn_json_get_hex(ctx, "m.json", doc, "inputs[0].sha256", out, 4), 0);
	assert_memory_equal(out, b, 4);
	assert_int_equal(cmn_json_get_hex(ctx, "m.json", doc, "inputs[1].sha256", out, 4),
			 CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx),
			    "m.json: inputs[1].sha256: character 5 is not a lowercase hex digit");
	assert_int_equal(cmn_json_get_hex(ctx, "m.json", doc, "inputs[2].sha256", out, 4),
			 CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx),
			    "m.json: inputs[2].sha256: expected 8 lowercase hex digits, got 7 characters");
	assert_int_equal(cmn_json_get_hex(ctx, "m.json", doc, "inputs[3].sha256", out, 4),
			 CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx), "m.json: inputs[3].sha256: expected a string, got an integer");
	assert_int_equal(cmn_json_get_hex(ctx, "m.json", doc, "inputs[4].sha256", out, 4),
			 CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx), "m.json: inputs[4]: missing");
	json_decref(doc);
	cvmf_ctx_free(ctx);
}

static void test_get_paths(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	json_t *doc, *v;
	const char *text = "{\"inputs\": 5, \"a\": {\"b\": [1, {\"c\": \"x\"}]}, \"n\": -1}";
	assert_int_equal(cmn_json_parse(ctx, "doc", text, strlen(text), &doc), 0);
	assert_int_equal(cmn_json_get(ctx, "manifest.json", doc, "inputs", JSON_ARRAY, &v),
			 CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx), "manifest.json: inputs: expected an array, got an integer");
	assert_int_equal(cmn_json_get(ctx, "d", doc, "inputs[0]", -1, &v), CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx), "d: inputs: expected an array, got an integer");
	assert_int_equal(cmn_json_get(ctx, "d", doc, "a.b[1].c.d", -1, &v), CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx), "d: a.b[1].c: expected an object, got a string");
	const char *s;
	assert_int_equal(cmn_json_get_str(ctx, "d", doc, "a.b[1].c", &s), 0);
	assert_string_equal(s, "x");
	assert_int_equal(cmn_json_get(ctx, "d", doc, "a.z", -1, &v), CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx), "d: a.z: missing");
	assert_int_equal(cmn_json_get(ctx, "d", doc, "", JSON_ARRAY, &v), CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx), "d: expected an array, got an object");
	uint64_t u;
	assert_int_equal(cmn_json_get_u64(ctx, "d", doc, "a.b[0]", 10, &u), 0);
	assert_int_equal(u, 1);
	assert_int_equal(cmn_json_get_u64(ctx, "d", doc, "n", 10, &u), CVMF_E_FORMAT);
	assert_string_equal(CTX_MSG(ctx), "d: n: -1 is out of range (0 to 10)");
	assert_int_equal(cmn_json_get(ctx, "d", doc, "a..b", -1, &v), CVMF_E_INVAL);
	assert_int_equal(cmn_json_get(ctx, "d", doc, "a.b[ 1]", -1, &v), CVMF_E_INVAL);
	assert_int_equal(cmn_json_get(ctx, "d", doc, "a.b[-1]", -1, &v), CVMF_E_INVAL);
	assert_int_equal(cmn_json_get(ctx, "d", doc, "a.b[1", -1, &v), CVMF_E_INVAL);
	json_decref(doc);
	cvmf_ctx_free(ctx);
}

static void test_parse_errors(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	json_t *v = NULL;
	const char *bad = "{\n  \"a\": 1,\n  \"b\": tru\n}";
	assert_int_equal(cmn_json_parse(ctx, "request", bad, strlen(bad), &v), CVMF_E_FORMAT);
	assert_null(v);
	assert_true(strncmp(CTX_MSG(ctx), "request:3:", 10) == 0);
	const char *dup = "{\"a\": 1, \"a\": 2}";
	assert_int_equal(cmn_json_parse(ctx, "request", dup, strlen(dup), &v), CVMF_E_FORMAT);
	assert_non_null(strstr(CTX_MSG(ctx), "duplicate"));
	const char *nul = "[\"a\\u0000b\"]";
	assert_int_equal(cmn_json_parse(ctx, "request", nul, strlen(nul), &v), CVMF_E_FORMAT);
	assert_int_equal(cmn_json_parse(ctx, "request", "", 0, &v), CVMF_E_FORMAT);
	assert_int_equal(cmn_json_parse(ctx, "request", "[1] x", 5, &v), CVMF_E_FORMAT);
	assert_true(strncmp(CTX_MSG(ctx), "request:1:", 10) == 0);
	/* Invalid UTF-8 inside a string. */
	assert_int_equal(cmn_json_parse(ctx, "request", "[\"\xff\"]", 5, &v), CVMF_E_FORMAT);
	/* A scalar is a document too. */
	assert_int_equal(cmn_json_parse(ctx, "request", "7", 1, &v), 0);
	assert_int_equal(json_integer_value(v), 7);
	json_decref(v);

	char *dir = t_tmpdir();
	char *p = t_write(dir, "m.json", bad, strlen(bad));
	v = NULL;
	assert_int_equal(cmn_json_read_file(ctx, "manifest", p, 1 << 20, &v), CVMF_E_FORMAT);
	char *want = NULL;
	assert_true(asprintf(&want, "manifest '%s':3:", p) > 0);
	assert_true(strncmp(CTX_MSG(ctx), want, strlen(want)) == 0);
	free(want);
	/* A missing file is a plain "cannot open", not line -1 column -1. */
	char *missing = NULL;
	assert_true(asprintf(&missing, "%s/nope.json", dir) > 0);
	assert_true(cmn_json_read_file(ctx, "manifest", missing, 1 << 20, &v) == CVMF_E_IO);
	assert_true(strncmp(CTX_MSG(ctx), "cannot open manifest '", 22) == 0);
	assert_null(strstr(CTX_MSG(ctx), ":-1:-1:"));
	/* The size cap. */
	assert_true(cmn_json_read_file(ctx, "manifest", p, 4, &v) < 0);
	assert_null(v);
	free(missing);
	free(p);
	t_rmrf(dir);
	free(dir);
	cvmf_ctx_free(ctx);
}

static char *canon(cvmf_ctx *ctx, const char *text)
{
	json_t *v;
	if (cmn_json_parse(ctx, "t", text, strlen(text), &v))
		fail_msg("%s", CTX_MSG(ctx));
	char *s = NULL;
	size_t n = 0;
	if (cmn_json_canonical(ctx, v, &s, &n))
		fail_msg("%s", CTX_MSG(ctx));
	assert_int_equal(strlen(s), n);
	json_decref(v);
	return s;
}

static void test_canonical(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *a = canon(ctx, "{\"b\": [1, 2, {\"y\": null, \"x\": true}], \"a\": \"\\u00e9/\", "
			     "\"B\": false, \"\\u00e9\": -9223372036854775808}");
	char *b = canon(ctx, "{\"\xc3\xa9\":-9223372036854775808,\"B\":false,\n\"a\":\"\xc3\xa9\\/\","
			     "  \"b\" : [1,2,{\"x\":true,\"y\":null}]}");
	/* Bytewise key order (uppercase before lowercase, UTF-8 after ASCII),
	 * compact, UTF-8 written as is, '/' not escaped, no newline. */
	const char *want = "{\"B\":false,\"a\":\"\xc3\xa9/\",\"b\":[1,2,{\"x\":true,\"y\":null}],"
			   "\"\xc3\xa9\":-9223372036854775808}";
	assert_string_equal(a, want);
	assert_string_equal(b, want);
	free(a);
	free(b);
	/* Only what JSON requires is escaped. */
	a = canon(ctx, "[\"q\\\" s\\\\ \\n\\t\\b\\f\\r \\u0001 \\u001f \\u007f\"]");
	assert_string_equal(a, "[\"q\\\" s\\\\ \\n\\t\\b\\f\\r \\u0001 \\u001F \x7f\"]");
	free(a);
	/* Built in a different insertion order: the same bytes. */
	json_t *o1 = json_pack("{s:i, s:s, s:[i]}", "z", 1, "m", "x", "a", 2);
	json_t *o2 = json_pack("{s:[i], s:s, s:i}", "a", 2, "m", "x", "z", 1);
	char *s1, *s2;
	size_t n1, n2;
	assert_int_equal(cmn_json_canonical(ctx, o1, &s1, &n1), 0);
	assert_int_equal(cmn_json_canonical(ctx, o2, &s2, &n2), 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(s1, s2, n1);
	assert_string_equal(s1, "{\"a\":[2],\"m\":\"x\",\"z\":1}");
	free(s1);
	free(s2);
	json_decref(o1);
	json_decref(o2);
	/* Reals are refused, with their path. */
	json_t *r = json_pack("{s:[i, {s:f}]}", "list", 1, "x", 1.5);
	assert_int_equal(cmn_json_canonical(ctx, r, &s1, &n1), CVMF_E_INVAL);
	assert_non_null(strstr(CTX_MSG(ctx), "list[1].x"));
	json_decref(r);
	cvmf_ctx_free(ctx);
}

static void test_pretty_file(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *dir = t_tmpdir(), *path = NULL;
	assert_true(asprintf(&path, "%s/out.json", dir) > 0);
	json_t *v = json_pack("{s:s, s:[i, i], s:{}}", "name", "caf\xc3\xa9", "list", 1, 2, "e");
	assert_int_equal(cmn_json_write_file(ctx, "manifest", path, v, 0), 0);
	size_t n;
	char *got = t_slurp(path, &n);
	/* The format of manifest.json and measurements.json, byte for byte. */
	const char *want = "{\n  \"e\": {},\n  \"list\": [\n    1,\n    2\n  ],\n"
			   "  \"name\": \"caf\\u00E9\"\n}\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(got, want, n);
	/* Round trip. */
	json_t *back;
	assert_int_equal(cmn_json_read_file(ctx, "manifest", path, 1 << 20, &back), 0);
	assert_true(json_equal(v, back));
	json_decref(back);
	free(got);
	/* Replacing a file is whole: no temporary left beside it. */
	assert_int_equal(cmn_json_write_file(ctx, "manifest", path, v, 0), 0);
	struct run r = t_sh("ls -A '%s'", dir);
	assert_string_equal(r.out, "out.json\n");
	t_run_free(&r);
	/* An unwritable place is an error naming the path. */
	char *bad = NULL;
	assert_true(asprintf(&bad, "%s/no/such/dir/x.json", dir) > 0);
	assert_int_equal(cmn_json_write_file(ctx, "manifest", bad, v, 0), CVMF_E_IO);
	assert_non_null(strstr(CTX_MSG(ctx), bad));
	free(bad);
	json_decref(v);
	free(path);
	t_rmrf(dir);
	free(dir);
	cvmf_ctx_free(ctx);
}

static void test_text(void **state)
{
	(void)state;
	json_t *t = cmn_json_text("ro quiet", 8);
	char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"hex\":\"726f207175696574\",\"value\":\"ro quiet\"}");
	free(s);
	json_decref(t);
	t = cmn_json_text("ro \xff", 4);
	s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	assert_string_equal(s, "{\"hex\":\"726f20ff\",\"value\":null}");
	free(s);
	json_decref(t);
	t = cmn_json_text("a\0b", 3);
	assert_true(json_is_null(json_object_get(t, "value")));
	assert_string_equal(json_string_value(json_object_get(t, "hex")), "610062");
	json_decref(t);
	json_t *p = cmn_json_string_or_null("caf\xc3\xa9");
	assert_string_equal(json_string_value(p), "caf\xc3\xa9");
	json_decref(p);
	assert_true(json_is_null(cmn_json_string_or_null("a\xff")));
	assert_true(json_is_null(cmn_json_string_or_null(NULL)));
	t = cmn_json_text("", 0);
	assert_string_equal(json_string_value(json_object_get(t, "value")), "");
	json_decref(t);
}

static const struct cmn_json_shape S_HEX1 = { .type = JSON_STRING, .hex = 1 };
static const struct cmn_json_shape S_INT = { .type = JSON_INTEGER, .nonneg = true };
static const struct cmn_json_shape S_ITEM = {
	.type = JSON_OBJECT,
	.members = (const struct cmn_json_member[]){ { "id", &S_HEX1 },
						     { "n", &S_INT, true },
						     { NULL, NULL, false } },
	.closed = true,
};
static const struct cmn_json_shape S_DOC = {
	.type = JSON_OBJECT,
	.members = (const struct cmn_json_member[]){
		{ "items", &(const struct cmn_json_shape){ .type = JSON_ARRAY, .each = &S_ITEM } },
		{ "map", &(const struct cmn_json_shape){ .type = JSON_OBJECT, .each = &S_INT } },
		{ "opt", &(const struct cmn_json_shape){ .type = JSON_TRUE, .nullable = true }, true },
		{ NULL, NULL, false } },
};

static void test_shape(void **state)
{
	(void)state;
	static const struct { const char *doc, *msg; } cases[] = {
		{ "{\"items\": [{\"id\": \"0a\", \"n\": 1}, {\"id\": \"ff\"}], \"map\": {\"a\": 1},"
		  " \"extra\": [1.5]}", NULL },
		{ "{\"items\": [], \"map\": {}, \"opt\": null}", NULL },
		{ "{\"items\": [], \"map\": {}, \"opt\": false}", NULL },
		{ "{\"items\": 5, \"map\": {}}", "doc.json: items: expected an array, got an integer" },
		{ "[]", "doc.json: expected an object, got an array" },
		{ "{\"map\": {}}", "doc.json: missing member 'items'" },
		{ "{\"items\": [{\"id\": \"0a\"}, {\"n\": 1}], \"map\": {}}",
		  "doc.json: items[1]: missing member 'id'" },
		{ "{\"items\": [{\"id\": \"0A\"}], \"map\": {}}",
		  "doc.json: items[0].id: character 2 is not a lowercase hex digit" },
		{ "{\"items\": [{\"id\": \"0a0\"}], \"map\": {}}",
		  "doc.json: items[0].id: expected 2 lowercase hex digits, got 3 characters" },
		{ "{\"items\": [{\"id\": \"0a\", \"x\": 1}], \"map\": {}}",
		  "doc.json: items[0]: unknown member 'x'" },
		{ "{\"items\": [], \"map\": {\"a\": 1, \"b\": -2}}", "doc.json: map.b: -2 is negative" },
		{ "{\"items\": [], \"map\": {\"a\": \"1\"}}",
		  "doc.json: map.a: expected an integer, got a string" },
		{ "{\"items\": [], \"map\": {}, \"opt\": 0}",
		  "doc.json: opt: expected a boolean or null, got an integer" },
	};
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (size_t i = 0; i < CMN_ARRAY_SIZE(cases); i++) {
		json_t *v;
		if (cmn_json_parse(ctx, "t", cases[i].doc, strlen(cases[i].doc), &v))
			fail_msg("%s", CTX_MSG(ctx));
		int rc = cmn_json_check(ctx, "doc.json", v, &S_DOC);
		if (!cases[i].msg && rc)
			fail_msg("case %zu: %s", i, CTX_MSG(ctx));
		if (cases[i].msg) {
			assert_int_equal(rc, CVMF_E_FORMAT);
			assert_string_equal(CTX_MSG(ctx), cases[i].msg);
		}
		json_decref(v);
	}
	cvmf_ctx_free(ctx);
}

/* RFC 4648 section 10. */
static const char *const B64_VECTORS[][2] = {
	{ "", "" },	    { "f", "Zg==" },	   { "fo", "Zm8=" },	       { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static void test_base64_vectors(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (size_t i = 0; i < CMN_ARRAY_SIZE(B64_VECTORS); i++) {
		const char *raw = B64_VECTORS[i][0], *enc = B64_VECTORS[i][1];
		char *e = cmn_base64_encode((const uint8_t *)raw, strlen(raw));
		assert_string_equal(e, enc);
		free(e);
		uint8_t *d = NULL;
		size_t n = 99;
		if (cmn_base64_decode(ctx, "v", enc, strlen(enc), &d, &n))
			fail_msg("%s: %s", enc, CTX_MSG(ctx));
		assert_int_equal(n, strlen(raw));
		assert_memory_equal(d, raw, n);
		free(d);
	}
	/* Every byte value and the '+' and '/' characters, both ways. */
	uint8_t all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)(255 - i);
	char *e = cmn_base64_encode(all, sizeof(all));
	assert_non_null(strchr(e, '+'));
	assert_non_null(strchr(e, '/'));
	uint8_t *d;
	size_t n;
	assert_int_equal(cmn_base64_decode(ctx, "v", e, strlen(e), &d, &n), 0);
	assert_int_equal(n, 256);
	assert_memory_equal(d, all, 256);
	free(d);
	free(e);
	cvmf_ctx_free(ctx);
}

static void test_base64_refused(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	static const struct { const char *s; size_t len; const char *msg; } bad[] = {
		{ "Zg", 2, "not a multiple of 4" },		/* padding missing */
		{ "Zg=", 3, "not a multiple of 4" },
		{ "Zm9vYg", 6, "not a multiple of 4" },
		{ "Zh==", 4, "non-canonical" },		/* 'h' leaves bits set */
		{ "Zm9=", 4, "non-canonical" },
		{ "Zg=a", 4, "'=' at offset 2" },		/* '=' in the middle */
		{ "Zg==Zg==", 8, "'=' at offset 2" },
		{ "====", 4, "'=' at offset 0" },
		{ "Zm 9v", 5, "not a multiple of 4" },
		{ "Zm 9vYg=", 8, "byte 0x20 at offset 2" },	/* whitespace */
		{ "Zm9v\nYmFy", 9, "not a multiple of 4" },
		{ "Zm9v\nYmF", 8, "byte 0x0a at offset 4" },
		{ " Zm9vYmF", 8, "byte 0x20 at offset 0" },
		{ "Zm9vYmF\t", 8, "byte 0x09 at offset 7" },
		{ "Zm9v-_8=", 8, "character '-' at offset 4" }, /* base64url */
		{ "Zm9v\0mFy", 8, "byte 0x00 at offset 4" },
		{ "Zm9v\xffmFy", 8, "byte 0xff at offset 4" },
	};
	for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
		uint8_t *d = (uint8_t *)"untouched";
		size_t n = 77;
		int rc = cmn_base64_decode(ctx, "signature", bad[i].s, bad[i].len, &d, &n);
		if (rc != CVMF_E_FORMAT)
			fail_msg("case %zu accepted", i);
		assert_string_equal((const char *)d, "untouched");
		assert_int_equal(n, 77);
		if (!strstr(CTX_MSG(ctx), bad[i].msg) || strncmp(CTX_MSG(ctx), "signature: ", 11))
			fail_msg("case %zu: %s", i, CTX_MSG(ctx));
	}
	cvmf_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_get_paths),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_pretty_file),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_refused),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
