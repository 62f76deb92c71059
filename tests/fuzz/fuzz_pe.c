/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for msr_authenticode(): a kernel or EFI application is
 * an untrusted file whose headers carry every offset and size the digest
 * walks. ASan/UBSan catch out-of-bounds reads inside the library; the
 * checks below catch an image that is accepted but hashed wrongly.
 *
 * Each input goes through msr_pe_mem with two hashers (SHA-256 and
 * SHA-384, one pass). On success the digests are recomputed by a plain
 * reference that trusts the headers the library accepted: it CHECKs that
 * every range it hashes lies inside the input (so an image the library
 * should have refused traps here) and must give the same bytes. The image
 * is then hashed again with its CheckSum flipped, which must not matter.
 * On failure, the message must name the image and be one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/internal.h"
#include "measure/measure.h"

#define WHAT "kernel 'fuzz'"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

static uint32_t g32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

struct ref {
	EVP_MD_CTX *md[2];
	const uint8_t *f;
	size_t size;
};

static void ref_hash(struct ref *r, uint64_t off, uint64_t len)
{
	CHECK(off <= r->size && len <= r->size - off);
	for (int i = 0; i < 2; i++)
		CHECK(EVP_DigestUpdate(r->md[i], r->f + off, (size_t)len));
}

/* The edk2 steps, for an image the library accepted. */
static void reference(struct ref *r, uint8_t d256[32], uint8_t d384[48])
{
	const uint8_t *f = r->f;
	CHECK(r->size >= 64);
	uint64_t pe = g16(f) == 0x5a4d ? g32(f + 0x3c) : 0;
	CHECK(pe + 264 <= r->size);
	CHECK(!memcmp(f + pe, "PE\0\0", 4));
	uint64_t opt = pe + 24;
	uint16_t magic = g16(f + opt);
	CHECK(magic == 0x10b || magic == 0x20b);
	uint64_t dd = opt + (magic == 0x20b ? 112 : 96);
	uint32_t nrva = g32(f + dd - 4);
	CHECK(nrva <= 16);
	uint32_t soh = g32(f + opt + 60);
	unsigned nsec = g16(f + pe + 6);
	uint64_t st = opt + g16(f + pe + 20);
	CHECK(st == dd + 8 * nrva);
	CHECK(st + 40ull * nsec <= soh && soh <= r->size);

	CHECK(EVP_DigestInit_ex(r->md[0], EVP_sha256(), NULL));
	CHECK(EVP_DigestInit_ex(r->md[1], EVP_sha384(), NULL));
	ref_hash(r, 0, opt + 64);
	if (nrva > 4) {
		ref_hash(r, opt + 68, dd + 32 - (opt + 68));
		ref_hash(r, dd + 40, soh - (dd + 40));
	} else {
		ref_hash(r, opt + 68, soh - (opt + 68));
	}
	/* Repeated minimum selection: the smallest PointerToRawData not yet
	 * taken, the lowest table index first among equals. */
	uint64_t sum = soh;
	uint64_t last_ptr = 0;
	int last_idx = -1;
	for (;;) {
		int best = -1;
		uint32_t best_ptr = 0;
		for (unsigned i = 0; i < nsec; i++) {
			const uint8_t *s = f + st + 40 * i;
			uint32_t ptr = g32(s + 20);
			if (!g32(s + 16))
				continue;
			bool after = ptr > last_ptr || (ptr == last_ptr && (int)i > last_idx);
			if (after && (best < 0 || ptr < best_ptr)) {
				best = (int)i;
				best_ptr = ptr;
			}
		}
		if (best < 0)
			break;
		const uint8_t *s = f + st + 40 * (unsigned)best;
		CHECK(g32(s + 12) >= soh && best_ptr >= soh);
		ref_hash(r, best_ptr, g32(s + 16));
		sum += g32(s + 16);
		last_ptr = best_ptr;
		last_idx = best;
	}
	uint64_t cert = nrva > 4 ? g32(f + dd + 36) : 0;
	if (r->size > sum) {
		CHECK(r->size >= sum + cert);
		if (r->size > sum + cert)
			ref_hash(r, sum, r->size - cert - sum);
	}
	CHECK(EVP_DigestFinal_ex(r->md[0], d256, NULL));
	CHECK(EVP_DigestFinal_ex(r->md[1], d384, NULL));
}

static int run(cvmf_ctx *ctx, struct cmn_hasher *const *h, const uint8_t *data, size_t size,
	       uint8_t d256[32], uint8_t d384[48])
{
	struct msr_pe_mem m;
	uint8_t *const out[2] = { d256, d384 };

	msr_pe_mem_init(&m, data, size);
	return msr_authenticode(ctx, WHAT, &m.src, h, 2, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	static struct cmn_hasher *h[2];
	static struct ref ref;
	uint8_t d256[32], d384[48], w256[32], w384[48];

	if (!ctx) {
		ctx = cvmf_ctx_new();
		if (!ctx || cmn_hasher_new(NULL, CMN_SHA256, &h[0]) ||
		    cmn_hasher_new(NULL, CMN_SHA384, &h[1]) ||
		    !(ref.md[0] = EVP_MD_CTX_new()) || !(ref.md[1] = EVP_MD_CTX_new()))
			__builtin_trap();
	}

	int r = run(ctx, h, data, size, d256, d384);
	if (r) {
		const char *msg = cvmf_ctx_errmsg(ctx);
		CHECK(r == CVMF_E_FORMAT || r == CVMF_E_UNSUPPORTED);
		CHECK(strncmp(msg, WHAT ": ", strlen(WHAT) + 2) == 0);
		CHECK(strlen(msg) > strlen(WHAT) + 2 && !strchr(msg, '\n'));
		return 0;
	}

	ref.f = data;
	ref.size = size;
	reference(&ref, w256, w384);
	CHECK(!memcmp(d256, w256, 32));
	CHECK(!memcmp(d384, w384, 48));

	/* Flip the CheckSum: the same digest (the hashers start dirty-free). */
	uint8_t *copy = malloc(size);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	uint64_t pe = g16(data) == 0x5a4d ? g32(data + 0x3c) : 0;
	for (int i = 0; i < 4; i++)
		copy[pe + 24 + 64 + i] ^= 0xa5;
	CHECK(run(ctx, h, copy, size, w256, w384) == 0);
	CHECK(!memcmp(d256, w256, 32));
	CHECK(!memcmp(d384, w384, 48));
	free(copy);
	return 0;
}
