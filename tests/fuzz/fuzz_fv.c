/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for measure/fv.c: cvmf_fw_scan() walks firmware volumes,
 * FFS files and sections and decodes LZMA sections with liblzma. Each input
 * is used twice:
 *   1. as a whole firmware image (volumes from offset 0);
 *   2. (inputs up to 256 KiB) as the decoded contents of an LZMA section:
 *      it is compressed here with lzma_alone_encoder, as edk2's LzmaCompress
 *      writes it, and wrapped in a volume with one file holding that
 *      GUID-defined section, so the fuzzer reaches the nested walk without
 *      having to produce valid LZMA itself.
 * ASan/UBSan catch bad reads; the checks below catch a wrong answer:
 *   - only allocation failures fail the call;
 *   - known means no error; every count is within its documented bound;
 *   - every name and version is NUL-terminated printable ASCII, versions
 *     start "20YY.MM" and the release is their YYYYMM;
 *   - cvmf_fw_check_release() answers 0 or CVMF_E_INVAL, and 0 for the
 *     image's own release unless a module bound contradicts it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "common/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

static void check_str(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	CHECK(n < cap);
	for (size_t i = 0; i < n; i++)
		CHECK((s[i] >= 0x20 && s[i] < 0x7f));
}

static void check(const uint8_t *buf, size_t len)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	CHECK(ctx);
	struct cvmf_fw_info *fi = NULL;
	int r = cvmf_fw_scan(ctx, buf, len, &fi);
	if (r) {
		CHECK(r == CVMF_E_NOMEM);
		CHECK(!fi);
		cvmf_ctx_free(ctx);
		return;
	}
	CHECK(fi);
	check_str(fi->error, sizeof(fi->error));
	if (fi->known)
		CHECK(!fi->error[0]);
	else
		CHECK(fi->error[0] && fi->features == 0);
	CHECK(fi->n_files <= 4096 && fi->n_volumes <= 64);
	CHECK(fi->decoded_bytes <= (128u << 20));
	CHECK(fi->n_versions <= CVMF_FW_MAX_VERSIONS);
	for (size_t i = 0; i < fi->n_files; i++) {
		check_str(fi->files[i].name, sizeof(fi->files[i].name));
		CHECK(fi->files[i].depth <= 8);
	}
	for (size_t i = 0; i < fi->n_versions; i++) {
		const char *v = fi->versions[i];
		check_str(v, sizeof(fi->versions[i]));
		check_str(fi->version_module[i], sizeof(fi->version_module[i]));
		CHECK(strlen(v) >= 7 && v[0] == '2' && v[1] == '0' && v[4] == '.');
	}
	if (fi->release) {
		CHECK(fi->n_versions == 1);
		const char *v = fi->versions[0];
		unsigned want = (unsigned)((v[0] - '0') * 100000 + (v[1] - '0') * 10000 +
					   (v[2] - '0') * 1000 + (v[3] - '0') * 100 +
					   (v[5] - '0') * 10 + (v[6] - '0'));
		CHECK(fi->release == want);
		CHECK(fi->release % 100 >= 1 && fi->release % 100 <= 12);
		r = cvmf_fw_check_release(ctx, fi, fi->release);
		bool bounded = (fi->release_min && fi->release < fi->release_min) ||
			       (fi->release_max && fi->release > fi->release_max);
		CHECK(r == (bounded ? CVMF_E_INVAL : 0));
	}
	static const unsigned claims[] = { 202211, 202502, 209912 };
	for (size_t i = 0; i < 3; i++) {
		r = cvmf_fw_check_release(ctx, fi, claims[i]);
		CHECK(r == 0 || r == CVMF_E_INVAL);
	}
	cvmf_fw_info_free(fi);
	cvmf_ctx_free(ctx);
}

static const uint8_t FFS2[16] = { 0x78, 0xe5, 0x8c, 0x8c, 0x3d, 0x8a, 0x1c, 0x4f,
				  0x99, 0x35, 0x89, 0x61, 0x85, 0xc3, 0x2d, 0xd3 };
static const uint8_t LZMA_GUID[16] = { 0x98, 0x58, 0x4e, 0xee, 0x14, 0x39, 0x59, 0x42,
				       0x9d, 0x6e, 0xdc, 0x7b, 0xd7, 0x94, 0x03, 0xcf };

/* A volume holding one file with one LZMA section whose contents are data. */
static void check_wrapped(const uint8_t *data, size_t size)
{
	size_t cap = size + size / 2 + 4096;
	uint8_t *z = malloc(cap);
	CHECK(z);
	lzma_options_lzma opt;
	CHECK(!lzma_lzma_preset(&opt, 0));
	lzma_stream s = LZMA_STREAM_INIT;
	CHECK(lzma_alone_encoder(&s, &opt) == LZMA_OK);
	s.next_in = data;
	s.avail_in = size;
	s.next_out = z;
	s.avail_out = cap;
	CHECK(lzma_code(&s, LZMA_FINISH) == LZMA_STREAM_END);
	size_t zn = cap - s.avail_out;
	lzma_end(&s);
	cmn_put_le64(z + 5, size);   /* edk2 records the decoded size */

	const size_t sec = 4 + 20 + zn, file = 24 + sec;
	const size_t fv = (72 + file + 7) & ~(size_t)7;
	uint8_t *img = malloc(fv);
	CHECK(img);
	memset(img, 0xff, fv);
	memset(img, 0, 72);
	memcpy(img + 16, FFS2, 16);
	cmn_put_le64(img + 32, fv);
	memcpy(img + 40, "_FVH", 4);
	cmn_put_le32(img + 44, 0x0004feff);
	cmn_put_le16(img + 48, 72);
	img[55] = 2;
	cmn_put_le32(img + 56, 1);
	cmn_put_le32(img + 60, (uint32_t)fv);
	uint16_t sum = 0;
	for (size_t i = 0; i < 72; i += 2)
		sum = (uint16_t)(sum + cmn_le16(img + i));
	cmn_put_le16(img + 50, (uint16_t)(0x10000u - sum));
	uint8_t *f = img + 72;
	memset(f, 0x11, 16);
	f[18] = 0x0b;   /* FIRMWARE_VOLUME_IMAGE, as OVMF's FVMAIN_COMPACT file */
	f[19] = 0;
	f[20] = (uint8_t)file;
	f[21] = (uint8_t)(file >> 8);
	f[22] = (uint8_t)(file >> 16);
	f[23] = 0xf8;
	uint8_t *g = f + 24;
	g[0] = (uint8_t)sec;
	g[1] = (uint8_t)(sec >> 8);
	g[2] = (uint8_t)(sec >> 16);
	g[3] = 0x02;
	memcpy(g + 4, LZMA_GUID, 16);
	cmn_put_le16(g + 20, 24);
	cmn_put_le16(g + 22, 1);
	memcpy(g + 24, z, zn);
	check(img, fv);
	free(img);
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size);
	if (size <= (256u << 10))
		check_wrapped(data, size);
	return 0;
}
