/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Thin wrappers over OpenSSL's EVP digests. The digest implementations are
 * fetched once per process and each hasher owns one EVP_MD_CTX that is
 * re-initialised, never re-allocated: the SNP chain makes thousands of
 * small hashes and per-call set-up would dominate them.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "internal.h"

struct cmn_hasher {
	EVP_MD_CTX *md;
	const EVP_MD *alg;
};

/* Indexed by enum cmn_hash_alg. */
static const struct {
	const char *evp, *name;
	size_t len;
} g_algs[] = {
	[CMN_SHA256] = { "SHA256", "SHA-256", 32 },
	[CMN_SHA384] = { "SHA384", "SHA-384", 48 },
	[CMN_SHA1] = { "SHA1", "SHA-1", 20 },
	[CMN_SHA512] = { "SHA512", "SHA-512", 64 },
};
static EVP_MD *g_md[4];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
	for (size_t i = 0; i < 4; i++)
		g_md[i] = EVP_MD_fetch(NULL, g_algs[i].evp, NULL);
}

size_t cmn_hash_len(enum cmn_hash_alg alg)
{
	return g_algs[alg].len;
}

int cmn_hasher_new(cvmf_ctx *ctx, enum cmn_hash_alg alg, struct cmn_hasher **ret)
{
	pthread_once(&g_once, fetch_digests);
	const EVP_MD *md = g_md[alg];
	if (!md)
		return cmn_error(ctx, CVMF_E_CRYPTO, "OpenSSL has no %s implementation",
				  g_algs[alg].name);
	struct cmn_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	h->alg = md;
	h->md = EVP_MD_CTX_new();
	if (!h->md || !EVP_DigestInit_ex2(h->md, md, NULL)) {
		cmn_hasher_free(h);
		return cmn_error(ctx, CVMF_E_CRYPTO, "cannot initialise a digest context");
	}
	*ret = h;
	return 0;
}

void cmn_hasher_free(struct cmn_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}

int cmn_hasher_reset(struct cmn_hasher *h)
{
	return EVP_DigestInit_ex2(h->md, NULL, NULL) ? 0 : CVMF_E_CRYPTO;
}

int cmn_hasher_update(struct cmn_hasher *h, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	return EVP_DigestUpdate(h->md, data, len) ? 0 : CVMF_E_CRYPTO;
}

int cmn_hasher_final(struct cmn_hasher *h, uint8_t *out)
{
	if (!EVP_DigestFinal_ex(h->md, out, NULL))
		return CVMF_E_CRYPTO;
	return cmn_hasher_reset(h);
}

int cmn_hasher_copy(struct cmn_hasher *dst, const struct cmn_hasher *src)
{
	return EVP_MD_CTX_copy_ex(dst->md, src->md) ? 0 : CVMF_E_CRYPTO;
}

int cmn_hasher_peek(struct cmn_hasher *h, uint8_t *out)
{
	EVP_MD_CTX *tmp = EVP_MD_CTX_new();
	int r = CVMF_E_CRYPTO;
	if (tmp && EVP_MD_CTX_copy_ex(tmp, h->md) && EVP_DigestFinal_ex(tmp, out, NULL))
		r = 0;
	EVP_MD_CTX_free(tmp);
	return r;
}

int cmn_hasher_oneshot(struct cmn_hasher *h, const void *data, size_t len, uint8_t *out)
{
	int r = cmn_hasher_reset(h);
	if (!r)
		r = cmn_hasher_update(h, data, len);
	if (!r)
		r = cmn_hasher_final(h, out);
	return r;
}

int cmn_digest_both(cvmf_ctx *ctx, const uint8_t *buf, size_t len, struct cvmf_file_digest *d)
{
	struct cmn_hasher *h256 = NULL, *h384 = NULL;
	int r = cmn_hasher_new(ctx, CMN_SHA256, &h256);
	if (!r)
		r = cmn_hasher_new(ctx, CMN_SHA384, &h384);
	if (!r && (cmn_hasher_oneshot(h256, buf, len, d->sha256) ||
		   cmn_hasher_oneshot(h384, buf, len, d->sha384)))
		r = cmn_error(ctx, CVMF_E_CRYPTO, "hashing failed");
	cmn_hasher_free(h256);
	cmn_hasher_free(h384);
	d->present = !r;
	d->size = len;
	return r;
}
