/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 6962 Merkle trees (RFC 9162 §2.1): leaf and node hashes, tree hashes
 * from perfect-subtree nodes, inclusion and consistency proofs.
 *
 *   leaf = SHA-256(0x00 || entry)    node = SHA-256(0x01 || left || right)
 *
 * A node (level h, index k) is the root of the perfect subtree over leaves
 * [k·2^h, (k+1)·2^h). Every MTH(D[a:b]) of the RFC recursion splits into such
 * nodes, so proofs are generated through a node reader (tiles, or memory).
 */
#include <pthread.h>

#include "log/tlog.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* One digest context per thread, reused: a proof or a batch hashes thousands of
 * 65-byte nodes, and a context allocated per hash costs more than the hash. It
 * lives as long as its thread (one small allocation). */
static _Thread_local EVP_MD_CTX *tl_md_ctx;
/* Freed when its thread exits (a server's worker threads come and go). */
static pthread_key_t md_key;
static pthread_once_t md_key_once = PTHREAD_ONCE_INIT;

static void md_free(void *p)
{
	EVP_MD_CTX_free(p);
}

static void md_key_init(void)
{
	if (pthread_key_create(&md_key, md_free) != 0)
		md_key = (pthread_key_t)-1;
}

static int sha256_parts(const void *a, size_t na, const void *b, size_t nb, const void *c,
			size_t nc, uint8_t out[TLG_HASH])
{
	pthread_once(&sha256_once, sha256_fetch);
	if (!tl_md_ctx) {
		pthread_once(&md_key_once, md_key_init);
		tl_md_ctx = EVP_MD_CTX_new();
		if (tl_md_ctx && md_key != (pthread_key_t)-1)
			pthread_setspecific(md_key, tl_md_ctx);
	}
	EVP_MD_CTX *m = tl_md_ctx;
	int ok = m && sha256_md && EVP_DigestInit_ex2(m, sha256_md, NULL) &&
		 EVP_DigestUpdate(m, a, na) && (!nb || EVP_DigestUpdate(m, b, nb)) &&
		 (!nc || EVP_DigestUpdate(m, c, nc)) && EVP_DigestFinal_ex(m, out, NULL);
	return ok ? 0 : CVMF_E_CRYPTO;
}

int tlg_leaf_hash(const void *data, size_t len, uint8_t out[TLG_HASH])
{
	static const uint8_t zero = 0x00;
	return sha256_parts(&zero, 1, data, len, NULL, 0, out);
}

int tlg_node_hash(const uint8_t l[TLG_HASH], const uint8_t r[TLG_HASH], uint8_t out[TLG_HASH])
{
	static const uint8_t one = 0x01;
	return sha256_parts(&one, 1, l, TLG_HASH, r, TLG_HASH, out);
}

void tlg_empty_root(uint8_t out[TLG_HASH])
{
	static const uint8_t e[TLG_HASH] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
		0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
		0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};
	memcpy(out, e, TLG_HASH);
}

static unsigned bit_len(uint64_t x)
{
	return x ? 64u - (unsigned)__builtin_clzll(x) : 0;
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (bit_len(n - 1) - 1);
}

static int crypto_fail(cvmf_ctx *ctx)
{
	return cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 failed in the OpenSSL library");
}

int tlg_range_hash(cvmf_ctx *ctx, tlg_node_fn node, void *user, uint64_t lo, uint64_t hi,
		   uint8_t out[TLG_HASH])
{
	if (hi <= lo)
		return cmn_error(ctx, CVMF_E_INVAL, "merkle: empty range [%llu, %llu)",
				  (unsigned long long)lo, (unsigned long long)hi);
	uint64_t n = hi - lo;
	if (!(n & (n - 1)) && !(lo & (n - 1))) {
		unsigned h = bit_len(n) - 1;
		int r = node(user, h, lo >> h, out);
		return r < 0 ? cmn_error(ctx, r, "merkle: node %u/%llu cannot be read", h,
					  (unsigned long long)(lo >> h))
			     : 0;
	}
	/* The right-most part may be a chain of smaller perfect subtrees: walk it
	 * from the right without recursion depth beyond 64. */
	uint64_t k = split_point(n);
	uint8_t left[TLG_HASH], right[TLG_HASH];
	int r = tlg_range_hash(ctx, node, user, lo, lo + k, left);
	if (r == 0)
		r = tlg_range_hash(ctx, node, user, lo + k, hi, right);
	if (r == 0 && tlg_node_hash(left, right, out))
		r = crypto_fail(ctx);
	return r;
}

int tlg_root(cvmf_ctx *ctx, uint64_t size, tlg_node_fn node, void *user, uint8_t out[TLG_HASH])
{
	if (size == 0) {
		tlg_empty_root(out);
		return 0;
	}
	return tlg_range_hash(ctx, node, user, 0, size, out);
}

struct mem_tree {
	const uint8_t (*leaves)[TLG_HASH];
	uint64_t n;
};

static int mem_node(void *user, unsigned level, uint64_t index, uint8_t out[TLG_HASH])
{
	const struct mem_tree *t = user;
	if (level == 0) {
		if (index >= t->n)
			return CVMF_E_INVAL;
		memcpy(out, t->leaves[index], TLG_HASH);
		return 0;
	}
	uint8_t l[TLG_HASH], r[TLG_HASH];
	int e = mem_node(user, level - 1, 2 * index, l);
	if (!e)
		e = mem_node(user, level - 1, 2 * index + 1, r);
	if (!e)
		e = tlg_node_hash(l, r, out) ? CVMF_E_CRYPTO : 0;
	return e;
}

int tlg_tree_hash(cvmf_ctx *ctx, const uint8_t (*leaves)[TLG_HASH], uint64_t n,
		  uint8_t out[TLG_HASH])
{
	struct mem_tree t = { leaves, n };
	return tlg_root(ctx, n, mem_node, &t, out);
}

/* PATH(m, D[lo:hi]), appended after the deeper part: leaf sibling first. */
static int path(cvmf_ctx *ctx, uint64_t m, uint64_t lo, uint64_t hi, tlg_node_fn node,
		void *user, uint8_t (*out)[TLG_HASH], size_t *n)
{
	if (hi - lo <= 1)
		return 0;
	uint64_t k = split_point(hi - lo);
	int r;
	if (m < k) {
		r = path(ctx, m, lo, lo + k, node, user, out, n);
		if (!r)
			r = tlg_range_hash(ctx, node, user, lo + k, hi, out[(*n)++]);
	} else {
		r = path(ctx, m - k, lo + k, hi, node, user, out, n);
		if (!r)
			r = tlg_range_hash(ctx, node, user, lo, lo + k, out[(*n)++]);
	}
	return r;
}

int tlg_prove_inclusion(cvmf_ctx *ctx, uint64_t index, uint64_t size, tlg_node_fn node,
			void *user, uint8_t (*out)[TLG_HASH], size_t *ret_n)
{
	if (index >= size)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "inclusion proof: index %llu is not below the tree size %llu",
				  (unsigned long long)index, (unsigned long long)size);
	size_t n = 0;
	int r = path(ctx, index, 0, size, node, user, out, &n);
	if (!r)
		*ret_n = n;
	return r;
}

/* SUBPROOF(m, D[lo:hi], b). */
static int subproof(cvmf_ctx *ctx, uint64_t m, uint64_t lo, uint64_t hi, bool b,
		    tlg_node_fn node, void *user, uint8_t (*out)[TLG_HASH], size_t *n)
{
	if (m == hi - lo) {
		if (b)
			return 0;
		return tlg_range_hash(ctx, node, user, lo, hi, out[(*n)++]);
	}
	uint64_t k = split_point(hi - lo);
	int r;
	if (m <= k) {
		r = subproof(ctx, m, lo, lo + k, b, node, user, out, n);
		if (!r)
			r = tlg_range_hash(ctx, node, user, lo + k, hi, out[(*n)++]);
	} else {
		r = subproof(ctx, m - k, lo + k, hi, false, node, user, out, n);
		if (!r)
			r = tlg_range_hash(ctx, node, user, lo, lo + k, out[(*n)++]);
	}
	return r;
}

int tlg_prove_consistency(cvmf_ctx *ctx, uint64_t size1, uint64_t size2, tlg_node_fn node,
			  void *user, uint8_t (*out)[TLG_HASH], size_t *ret_n)
{
	if (size1 == 0 || size1 > size2)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "consistency proof: sizes %llu -> %llu (need 0 < old <= new)",
				  (unsigned long long)size1, (unsigned long long)size2);
	size_t n = 0;
	int r = size1 == size2 ? 0 : subproof(ctx, size1, 0, size2, true, node, user, out, &n);
	if (!r)
		*ret_n = n;
	return r;
}

static int mismatch(cvmf_ctx *ctx, const char *what, const char *why)
{
	return cmn_error(ctx, CVMF_E_CRYPTO, "%s proof does not verify: %s", what, why);
}

int tlg_verify_inclusion(cvmf_ctx *ctx, uint64_t index, uint64_t size,
			 const uint8_t leaf[TLG_HASH], const uint8_t (*proof)[TLG_HASH],
			 size_t n, const uint8_t root[TLG_HASH])
{
	if (index >= size)
		return mismatch(ctx, "inclusion", "the index is not below the tree size");
	/* Expected length: bits where index and size-1 differ, plus the border. */
	unsigned inner = bit_len(index ^ (size - 1));
	unsigned border = (unsigned)__builtin_popcountll(index >> inner);
	if (n != (size_t)inner + border)
		return cmn_error(ctx, CVMF_E_CRYPTO,
				  "inclusion proof does not verify: it has %zu hashes, a proof for "
				  "index %llu in a tree of %llu has %u",
				  n, (unsigned long long)index, (unsigned long long)size,
				  inner + border);
	uint64_t fn = index, sn = size - 1;
	uint8_t r[TLG_HASH];
	memcpy(r, leaf, TLG_HASH);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return mismatch(ctx, "inclusion", "the proof is too long");
		int e;
		if ((fn & 1) || fn == sn) {
			e = tlg_node_hash(proof[i], r, r);
			if (!(fn & 1))
				while (fn && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			e = tlg_node_hash(r, proof[i], r);
		}
		if (e)
			return crypto_fail(ctx);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return mismatch(ctx, "inclusion", "the proof is too short");
	if (memcmp(r, root, TLG_HASH))
		return mismatch(ctx, "inclusion", "the computed root differs from the tree's root");
	return 0;
}

int tlg_verify_consistency(cvmf_ctx *ctx, uint64_t size1, uint64_t size2,
			   const uint8_t root1[TLG_HASH], const uint8_t root2[TLG_HASH],
			   const uint8_t (*proof)[TLG_HASH], size_t n)
{
	if (size1 == 0)
		return mismatch(ctx, "consistency", "the old tree is empty");
	if (size1 > size2)
		return mismatch(ctx, "consistency", "the old tree is larger than the new one");
	if (size1 == size2) {
		if (n)
			return mismatch(ctx, "consistency", "equal sizes need an empty proof");
		if (memcmp(root1, root2, TLG_HASH))
			return mismatch(ctx, "consistency", "equal sizes with different roots");
		return 0;
	}
	if (n == 0)
		return mismatch(ctx, "consistency", "the proof is empty");
	/* Expected length (transparency-dev/merkle). */
	unsigned fork = bit_len((size1 - 1) ^ (size2 - 1));
	unsigned border = (unsigned)__builtin_popcountll((size1 - 1) >> fork);
	unsigned shift = (unsigned)__builtin_ctzll(size1);
	unsigned want = (size1 == (uint64_t)1 << shift ? 0 : 1) + (fork - shift) + border;
	if (n != want)
		return cmn_error(ctx, CVMF_E_CRYPTO,
				  "consistency proof does not verify: it has %zu hashes, a proof "
				  "from %llu to %llu has %u",
				  n, (unsigned long long)size1, (unsigned long long)size2, want);
	const uint8_t *first = (size1 & (size1 - 1)) ? proof[0] : root1;
	size_t i = (size1 & (size1 - 1)) ? 1 : 0;
	uint64_t fn = size1 - 1, sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	uint8_t fr[TLG_HASH], sr[TLG_HASH];
	memcpy(fr, first, TLG_HASH);
	memcpy(sr, first, TLG_HASH);
	for (; i < n; i++) {
		if (sn == 0)
			return mismatch(ctx, "consistency", "the proof is too long");
		int e = 0;
		if ((fn & 1) || fn == sn) {
			e = tlg_node_hash(proof[i], fr, fr) || tlg_node_hash(proof[i], sr, sr);
			if (!(fn & 1))
				while (fn && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			e = tlg_node_hash(sr, proof[i], sr);
		}
		if (e)
			return crypto_fail(ctx);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return mismatch(ctx, "consistency", "the proof is too short");
	if (memcmp(fr, root1, TLG_HASH))
		return mismatch(ctx, "consistency", "the old root is not reproduced");
	if (memcmp(sr, root2, TLG_HASH))
		return mismatch(ctx, "consistency", "the new root is not reproduced");
	return 0;
}
