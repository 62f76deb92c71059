/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers shared by every module of libcvmforge. Not installed. */
#ifndef CVMF_INTERNAL_H
#define CVMF_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cvmforge/cvmforge.h"

#define CMN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CMN_PAGE_SIZE 4096u

struct cvmf_ctx {
	int err;
	char msg[512];
};

/* Record an error in ctx (which may be NULL) and return err. */
int cmn_error(cvmf_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Little-endian packers: the only way on-disk integers are read or written. */
static inline uint16_t cmn_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t cmn_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t cmn_le64(const uint8_t *p)
{
	return (uint64_t)cmn_le32(p) | (uint64_t)cmn_le32(p + 4) << 32;
}
static inline void cmn_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void cmn_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cmn_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- hashing (common/hash.c), over OpenSSL EVP with prefetched digests ---- */
enum cmn_hash_alg { CMN_SHA256, CMN_SHA384, CMN_SHA1, CMN_SHA512 };

struct cmn_hasher;   /* a reusable EVP_MD_CTX */
int cmn_hasher_new(cvmf_ctx *ctx, enum cmn_hash_alg alg, struct cmn_hasher **ret);
void cmn_hasher_free(struct cmn_hasher *h);
int cmn_hasher_reset(struct cmn_hasher *h);
int cmn_hasher_update(struct cmn_hasher *h, const void *data, size_t len);
/* Finalise into out; the hasher may be reset and reused. */
int cmn_hasher_final(struct cmn_hasher *h, uint8_t *out);
/* Finalise a copy, leaving h running (for incremental prefixes). */
int cmn_hasher_peek(struct cmn_hasher *h, uint8_t *out);
int cmn_hasher_copy(struct cmn_hasher *dst, const struct cmn_hasher *src);
/* One-shot hash of a buffer with a reusable hasher. */
int cmn_hasher_oneshot(struct cmn_hasher *h, const void *data, size_t len, uint8_t *out);
size_t cmn_hash_len(enum cmn_hash_alg alg);
/* SHA-256 and SHA-384 of a buffer, as a file digest for reports. */
int cmn_digest_both(cvmf_ctx *ctx, const uint8_t *buf, size_t len, struct cvmf_file_digest *d);

/* ---- encodings (common/encode.c) ---- */
/* The value of one hex digit (either case), or -1. */
int cmn_hexval(char c);

/* ---- files (common/file.c) ---- */
/* Read a whole file into memory, refusing files larger than max. */
int cmn_read_file(cvmf_ctx *ctx, const char *what, const char *path, size_t max,
		   uint8_t **ret_buf, size_t *ret_len);
/* Stream a file through SHA-256 in fixed-size chunks (constant memory). */
int cmn_sha256_file(cvmf_ctx *ctx, const char *what, const char *path,
		     uint8_t out[32], uint64_t *ret_size);

/* Stream a file through several hashers at once (each reset first). */
int cmn_hash_file(cvmf_ctx *ctx, const char *what, const char *path,
		   struct cmn_hasher *const *h, size_t n_hashers, uint8_t *const *out,
		   uint64_t *ret_size);
/* mkdir -p: create path and its missing parents with mode; an existing
 * directory is fine, anything else in the way is an error naming it. */
int cmn_mkdir_p(cvmf_ctx *ctx, const char *path, unsigned mode);
/* Open a regular file for positioned reads: an fd (>= 0) or a CVMF_E_* code. */
int cmn_file_open(cvmf_ctx *ctx, const char *what, const char *path, uint64_t *ret_size);
/* Read exactly len bytes at off; a short file is an error naming it. */
int cmn_file_pread(cvmf_ctx *ctx, const char *what, const char *path, int fd, uint64_t off,
		    void *buf, size_t len);

#endif
