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

struct cvmf_hasher {
	EVP_MD_CTX *md;
	const EVP_MD *alg;
};

/* Indexed by enum cvmf_hash_alg. */
static const struct {
	const char *evp, *name;
	size_t len;
} g_algs[] = {
	[CVMF_SHA256] = { "SHA256", "SHA-256", 32 },
	[CVMF_SHA384] = { "SHA384", "SHA-384", 48 },
	[CVMF_SHA1] = { "SHA1", "SHA-1", 20 },
	[CVMF_SHA512] = { "SHA512", "SHA-512", 64 },
};
static EVP_MD *g_md[4];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
	for (size_t i = 0; i < 4; i++)
		g_md[i] = EVP_MD_fetch(NULL, g_algs[i].evp, NULL);
}

size_t cvmf_hash_len(enum cvmf_hash_alg alg)
{
	return g_algs[alg].len;
}

int cvmf_hasher_new(cvmf_ctx *ctx, enum cvmf_hash_alg alg, struct cvmf_hasher **ret)
{
	pthread_once(&g_once, fetch_digests);
	const EVP_MD *md = g_md[alg];
	if (!md)
		return cvmf_error(ctx, CVMF_E_CRYPTO, "OpenSSL has no %s implementation",
				  g_algs[alg].name);
	struct cvmf_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return cvmf_error(ctx, CVMF_E_NOMEM, "out of memory");
	h->alg = md;
	h->md = EVP_MD_CTX_new();
	if (!h->md || !EVP_DigestInit_ex2(h->md, md, NULL)) {
		cvmf_hasher_free(h);
		return cvmf_error(ctx, CVMF_E_CRYPTO, "cannot initialise a digest context");
	}
	*ret = h;
	return 0;
}

void cvmf_hasher_free(struct cvmf_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}

int cvmf_hasher_reset(struct cvmf_hasher *h)
{
	return EVP_DigestInit_ex2(h->md, NULL, NULL) ? 0 : CVMF_E_CRYPTO;
}

int cvmf_hasher_update(struct cvmf_hasher *h, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	return EVP_DigestUpdate(h->md, data, len) ? 0 : CVMF_E_CRYPTO;
}

int cvmf_hasher_final(struct cvmf_hasher *h, uint8_t *out)
{
	if (!EVP_DigestFinal_ex(h->md, out, NULL))
		return CVMF_E_CRYPTO;
	return cvmf_hasher_reset(h);
}

int cvmf_hasher_copy(struct cvmf_hasher *dst, const struct cvmf_hasher *src)
{
	return EVP_MD_CTX_copy_ex(dst->md, src->md) ? 0 : CVMF_E_CRYPTO;
}

int cvmf_hasher_peek(struct cvmf_hasher *h, uint8_t *out)
{
	EVP_MD_CTX *tmp = EVP_MD_CTX_new();
	int r = CVMF_E_CRYPTO;
	if (tmp && EVP_MD_CTX_copy_ex(tmp, h->md) && EVP_DigestFinal_ex(tmp, out, NULL))
		r = 0;
	EVP_MD_CTX_free(tmp);
	return r;
}

int cvmf_hasher_oneshot(struct cvmf_hasher *h, const void *data, size_t len, uint8_t *out)
{
	int r = cvmf_hasher_reset(h);
	if (!r)
		r = cvmf_hasher_update(h, data, len);
	if (!r)
		r = cvmf_hasher_final(h, out);
	return r;
}

int cvmf_digest_both(cvmf_ctx *ctx, const uint8_t *buf, size_t len, struct cvmf_file_digest *d)
{
	struct cvmf_hasher *h256 = NULL, *h384 = NULL;
	int r = cvmf_hasher_new(ctx, CVMF_SHA256, &h256);
	if (!r)
		r = cvmf_hasher_new(ctx, CVMF_SHA384, &h384);
	if (!r && (cvmf_hasher_oneshot(h256, buf, len, d->sha256) ||
		   cvmf_hasher_oneshot(h384, buf, len, d->sha384)))
		r = cvmf_error(ctx, CVMF_E_CRYPTO, "hashing failed");
	cvmf_hasher_free(h256);
	cvmf_hasher_free(h384);
	d->present = !r;
	d->size = len;
	return r;
}
