/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log/merkle.c and log/tiles.c against the transparency-dev/merkle vectors
 * (every inclusion and consistency file), the RFC 6962 reference tree, the
 * golden roots and the tile paths of ../shared/fixtures/tlog-upstream, and
 * proofs generated here verified (and tampered ones refused).
 */
#include <dirent.h>

#include <jansson.h>

#include "common/encode.h"
#include "log/tlog.h"
#include "tests/unit/testlib.h"

#define FIX "fixtures/tlog-upstream"

/* Base64 of a vector: any length (vectors include garbage); NULL if undecodable. */
static uint8_t *b64(const char *s, size_t *n)
{
	uint8_t *out = NULL;
	if (cmn_base64_decode(NULL, "vector", s, strlen(s), &out, n))
		return NULL;
	return out;
}

/* A 32-byte hash, or false. */
static bool hash32(json_t *v, uint8_t out[32])
{
	size_t n = 0;
	uint8_t *b = json_is_string(v) ? b64(json_string_value(v), &n) : NULL;
	bool ok = b && n == 32;
	if (ok)
		memcpy(out, b, 32);
	free(b);
	return ok;
}

/* A root of any length: the vectors compare equal-size roots as byte strings
 * ("ZG9uJ3QgY2FyZSAy"), and the C API takes 32-byte hashes, so a root of another
 * length stands in as its SHA-256 (equality is kept; it can never verify a proof). */
static bool root_of(json_t *v, uint8_t out[32])
{
	size_t n = 0;
	uint8_t *b = json_is_string(v) ? b64(json_string_value(v), &n) : NULL;
	if (!b)
		return false;
	if (n == 32)
		memcpy(out, b, 32);
	else
		t_sha256(b, n, out);
	free(b);
	return true;
}

/* The proof array, or false if a hash is not 32 bytes. */
static bool proof_of(json_t *a, uint8_t (*out)[32], size_t *n)
{
	size_t i;
	json_t *v;
	*n = 0;
	if (json_is_null(a))
		return true;
	if (!json_is_array(a) || json_array_size(a) > TLG_MAX_PROOF)
		return false;
	json_array_foreach(a, i, v) {
		if (!hash32(v, out[i]))
			return false;
	}
	*n = json_array_size(a);
	return true;
}

/* A uint64 member read from the text: jansson's integers stop at 2^63-1 and the
 * vectors use 2^64-1. */
static uint64_t u64_member(const char *text, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(text, pat);
	assert_non_null(p);
	return strtoull(p + strlen(pat), NULL, 10);
}

static int run_vector(const char *path, bool inclusion)
{
	json_error_t je;
	char *text = t_slurp(path, NULL);
	json_t *j = json_loads(text, JSON_DECODE_INT_AS_REAL, &je);
	if (!j)
		fail_msg("%s: %s", path, je.text);
	bool want_err = json_is_true(json_object_get(j, "wantErr"));
	uint8_t proof[TLG_MAX_PROOF][32], a[32], b[32];
	size_t n = 0;
	bool ok;
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (inclusion) {
		uint64_t idx = u64_member(text, "leafIdx"), size = u64_member(text, "treeSize");
		ok = hash32(json_object_get(j, "leafHash"), a) &&
		     hash32(json_object_get(j, "root"), b) &&
		     proof_of(json_object_get(j, "proof"), proof, &n) &&
		     tlg_verify_inclusion(ctx, (uint64_t)idx, (uint64_t)size, a,
					  (const uint8_t(*)[32])proof, n, b) == 0;
	} else {
		uint64_t s1 = u64_member(text, "size1"), s2 = u64_member(text, "size2");
		ok = root_of(json_object_get(j, "root1"), a) &&
		     root_of(json_object_get(j, "root2"), b) &&
		     proof_of(json_object_get(j, "proof"), proof, &n) &&
		     tlg_verify_consistency(ctx, (uint64_t)s1, (uint64_t)s2, a, b,
					    (const uint8_t(*)[32])proof, n) == 0;
	}
	if (ok == want_err)
		fail_msg("%s (%s): verified=%d, wantErr=%d; %s", path,
			 json_string_value(json_object_get(j, "desc")), ok, want_err,
			 cvmf_ctx_errmsg(ctx));
	if (!ok)
		assert_true(strlen(cvmf_ctx_errmsg(ctx)) > 0 || want_err);
	cvmf_ctx_free(ctx);
	json_decref(j);
	free(text);
	return 1;
}

static int walk(const char *dir, bool inclusion)
{
	int count = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = NULL;
		assert_true(asprintf(&p, "%s/%s", dir, e->d_name) > 0);
		struct stat st;
		assert_int_equal(stat(p, &st), 0);
		if (S_ISDIR(st.st_mode))
			count += walk(p, inclusion);
		else if (strstr(e->d_name, ".json"))
			count += run_vector(p, inclusion);
		free(p);
	}
	closedir(d);
	return count;
}

static void test_vectors(void **state)
{
	(void)state;
	char *inc = t_shared_file(FIX "/transparency-dev-merkle/testdata/inclusion");
	char *con = t_shared_file(FIX "/transparency-dev-merkle/testdata/consistency");
	if (!inc || !con) {
		free(inc);
		free(con);
		skip();
	}
	int ni = walk(inc, true), nc = walk(con, false);
	printf("# %d inclusion and %d consistency vectors\n", ni, nc);
	assert_true(ni >= 90 && nc >= 90);
	free(inc);
	free(con);
}

/* Perfect-subtree nodes over leaf hashes in memory, for proof generation. */
struct mem {
	uint8_t (*leaves)[32];
	uint64_t n;
};

static int mem_node(void *user, unsigned level, uint64_t index, uint8_t out[32])
{
	struct mem *m = user;
	uint64_t lo = index << level, hi = lo + ((uint64_t)1 << level);
	if (hi > m->n)
		return CVMF_E_INVAL;
	return tlg_tree_hash(NULL, (const uint8_t(*)[32])(m->leaves + lo), hi - lo, out);
}

static void test_reference_tree(void **state)
{
	(void)state;
	char *p = t_shared_file(FIX "/rfc6962-reference-tree.json");
	if (!p)
		skip();
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);
	assert_non_null(j);
	json_t *leaves = json_object_get(j, "leaf_inputs_hex");
	assert_int_equal(json_array_size(leaves), 8);
	uint8_t lh[8][32];
	for (size_t i = 0; i < 8; i++) {
		const char *h = json_string_value(json_array_get(leaves, i));
		uint8_t buf[64];
		size_t n = strlen(h) / 2;
		assert_int_equal(cvmf_unhex(h, buf, n), 0);
		assert_int_equal(tlg_leaf_hash(buf, n, lh[i]), 0);
	}
	/* Level 0 of the node hashes are the leaf hashes. */
	json_t *levels = json_object_get(j, "node_hashes_by_level_hex");
	for (size_t i = 0; i < 8; i++) {
		uint8_t want[32];
		assert_int_equal(cvmf_unhex(json_string_value(json_array_get(json_array_get(levels, 0), i)),
					    want, 32), 0);
		assert_memory_equal(lh[i], want, 32);
	}
	json_t *roots = json_object_get(j, "root_hash_by_tree_size_hex");
	if (!roots)
		roots = json_object_get(j, "roots_hex");
	assert_non_null(roots);
	struct mem m = { lh, 8 };
	uint8_t root[9][32];
	for (uint64_t s = 0; s <= 8; s++) {
		uint8_t want[32];
		json_t *v = json_is_array(roots) ? json_array_get(roots, s) : NULL;
		if (!v) {
			char k[4];
			snprintf(k, sizeof(k), "%llu", (unsigned long long)s);
			v = json_object_get(roots, k);
		}
		assert_non_null(v);
		assert_int_equal(cvmf_unhex(json_string_value(v), want, 32), 0);
		m.n = s;
		assert_int_equal(tlg_root(NULL, s, mem_node, &m, root[s]), 0);
		assert_memory_equal(root[s], want, 32);
	}
	/* Every proof among sizes 1..8 verifies; a flipped bit does not. */
	m.n = 8;
	for (uint64_t s = 1; s <= 8; s++) {
		for (uint64_t i = 0; i < s; i++) {
			uint8_t pr[TLG_MAX_PROOF][32];
			size_t n;
			assert_int_equal(tlg_prove_inclusion(NULL, i, s, mem_node, &m, pr, &n), 0);
			assert_int_equal(tlg_verify_inclusion(NULL, i, s, lh[i],
							      (const uint8_t(*)[32])pr, n, root[s]), 0);
			if (n) {
				pr[n - 1][5] ^= 1;
				assert_int_not_equal(tlg_verify_inclusion(NULL, i, s, lh[i],
						(const uint8_t(*)[32])pr, n, root[s]), 0);
			}
		}
		for (uint64_t s1 = 1; s1 <= s; s1++) {
			uint8_t pr[TLG_MAX_PROOF][32];
			size_t n;
			assert_int_equal(tlg_prove_consistency(NULL, s1, s, mem_node, &m, pr, &n), 0);
			assert_int_equal(tlg_verify_consistency(NULL, s1, s, root[s1], root[s],
								(const uint8_t(*)[32])pr, n), 0);
			if (n) {
				pr[0][0] ^= 0x80;
				assert_int_not_equal(tlg_verify_consistency(NULL, s1, s, root[s1], root[s],
						(const uint8_t(*)[32])pr, n), 0);
			}
		}
	}
	json_decref(j);
	free(p);
}

/* Proofs in a 70000-entry tree: random pairs, and the golden roots. */
static void test_golden_roots(void **state)
{
	(void)state;
	char *p = t_shared_file(FIX "/vectors.json");
	if (!p)
		skip();
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);
	assert_non_null(j);
	enum { N = 70000 };
	uint8_t (*lh)[32] = malloc((size_t)N * 32);
	assert_non_null(lh);
	for (int i = 0; i < N; i++) {
		char e[32];
		int n = snprintf(e, sizeof(e), "entry %d", i);
		assert_int_equal(tlg_leaf_hash(e, (size_t)n, lh[i]), 0);
	}
	json_t *roots = json_object_get(json_object_get(j, "golden_log"), "roots_base64");
	const char *k;
	json_t *v;
	int checked = 0;
	json_object_foreach(roots, k, v) {
		uint64_t s = strtoull(k, NULL, 10);
		uint8_t r[32], want[32];
		assert_true(hash32(v, want));
		assert_int_equal(tlg_tree_hash(NULL, (const uint8_t(*)[32])lh, s, r), 0);
		assert_memory_equal(r, want, 32);
		checked++;
	}
	assert_true(checked >= 9);
	struct mem m = { lh, N };
	uint8_t big[32];
	assert_int_equal(tlg_tree_hash(NULL, (const uint8_t(*)[32])lh, N, big), 0);
	srand(7);
	for (int t = 0; t < 40; t++) {
		uint64_t s1 = 1 + (uint64_t)rand() % N, i = (uint64_t)rand() % s1;
		uint8_t r1[32], pr[TLG_MAX_PROOF][32];
		size_t n;
		assert_int_equal(tlg_tree_hash(NULL, (const uint8_t(*)[32])lh, s1, r1), 0);
		assert_int_equal(tlg_prove_inclusion(NULL, i, s1, mem_node, &m, pr, &n), 0);
		assert_int_equal(tlg_verify_inclusion(NULL, i, s1, lh[i], (const uint8_t(*)[32])pr,
						      n, r1), 0);
		assert_int_not_equal(tlg_verify_inclusion(NULL, i ^ 1, s1, lh[i],
							  (const uint8_t(*)[32])pr, n, r1), 0);
		assert_int_equal(tlg_prove_consistency(NULL, s1, N, mem_node, &m, pr, &n), 0);
		assert_int_equal(tlg_verify_consistency(NULL, s1, N, r1, big,
							(const uint8_t(*)[32])pr, n), 0);
		assert_int_not_equal(tlg_verify_consistency(NULL, s1, N, big, r1,
							    (const uint8_t(*)[32])pr, n), 0);
	}
	free(lh);
	json_decref(j);
	free(p);
}

static void test_tile_paths(void **state)
{
	(void)state;
	char *p = t_shared_file(FIX "/vectors.json");
	if (!p)
		skip();
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);
	assert_non_null(j);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(j, "tile_paths"), i, v) {
		json_t *lv = json_object_get(v, "level");
		int level = json_is_string(lv) ? TLG_LEVEL_ENTRIES : (int)json_integer_value(lv);
		char buf[128];
		assert_int_equal(tlg_tile_path(buf, sizeof(buf), level,
					       (uint64_t)json_integer_value(json_object_get(v, "index")),
					       (unsigned)json_integer_value(json_object_get(v, "width"))),
				 0);
		assert_string_equal(buf, json_string_value(json_object_get(v, "path")));
	}
	assert_true(i >= 6);
	json_decref(j);
	free(p);
	char buf[128], small[12];
	assert_int_equal(tlg_tile_path(buf, sizeof(buf), 0, UINT64_MAX, 0), 0);
	assert_string_equal(buf, "tile/0/x018/x446/x744/x073/x709/x551/615");
	assert_int_equal(tlg_tile_path(buf, sizeof(buf), 63, 0, 1), 0);
	assert_string_equal(buf, "tile/63/000.p/1");
	assert_int_not_equal(tlg_tile_path(small, sizeof(small), 0, 1234567, 5), 0);
	/* Widths for size 70000 (vectors.json tile_sets) and guards at high levels. */
	assert_int_equal(tlg_tile_width(0, 272, 70000), 256);
	assert_int_equal(tlg_tile_width(0, 273, 70000), 112);
	assert_int_equal(tlg_tile_width(0, 274, 70000), 0);
	assert_int_equal(tlg_tile_width(1, 1, 70000), 17);
	assert_int_equal(tlg_tile_width(2, 0, 70000), 1);
	assert_int_equal(tlg_tile_width(3, 0, 70000), 0);
	assert_int_equal(tlg_tile_width(8, 0, UINT64_MAX), 0);
	assert_int_equal(tlg_tile_width(7, 0, UINT64_MAX), 255);
	assert_int_equal(tlg_tile_width(TLG_LEVEL_ENTRIES, 3, 1000), 232);
}

static void test_edges(void **state)
{
	(void)state;
	uint8_t e[32], r[32], l[32];
	tlg_empty_root(e);
	assert_int_equal(tlg_tree_hash(NULL, NULL, 0, r), 0);
	assert_memory_equal(e, r, 32);
	t_sha256("", 0, r);
	assert_memory_equal(e, r, 32);
	/* Size 1: the root is the leaf, the proof is empty. */
	assert_int_equal(tlg_leaf_hash("entry 0", 7, l), 0);
	char hex[65];
	cvmf_hex(l, 32, hex);
	assert_string_equal(hex, "773885a613489e24ce2cf76199d6a423f042e4bbf12d7eecee912ef276c65701");
	assert_int_equal(tlg_verify_inclusion(NULL, 0, 1, l, NULL, 0, l), 0);
	assert_int_not_equal(tlg_verify_inclusion(NULL, 1, 1, l, NULL, 0, l), 0);
	assert_int_not_equal(tlg_verify_inclusion(NULL, 0, 0, l, NULL, 0, l), 0);
	/* Consistency: 0 -> n refused, n -> n needs equal roots and no proof. */
	assert_int_not_equal(tlg_verify_consistency(NULL, 0, 0, e, e, NULL, 0), 0);
	assert_int_equal(tlg_verify_consistency(NULL, 5, 5, l, l, NULL, 0), 0);
	assert_int_not_equal(tlg_verify_consistency(NULL, 5, 5, l, e, NULL, 0), 0);
	assert_int_not_equal(tlg_verify_consistency(NULL, 6, 5, l, l, NULL, 0), 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t pr[TLG_MAX_PROOF][32];
	size_t n;
	assert_int_equal(tlg_prove_consistency(ctx, 0, 5, NULL, NULL, pr, &n), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "0 < old <= new"));
	assert_int_equal(tlg_prove_inclusion(ctx, 5, 5, NULL, NULL, pr, &n), CVMF_E_INVAL);
	cvmf_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_reference_tree),
		cmocka_unit_test(test_golden_roots),
		cmocka_unit_test(test_tile_paths),
		cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
