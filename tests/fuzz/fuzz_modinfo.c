/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for builder/modinfo.c: bld_module_vermagic (an ELF
 * module read through libelf) and bld_bzimage_release (the x86 setup
 * header), both fed the same untrusted bytes. ASan/UBSan catch bad reads in
 * our code and in libelf; the checks below catch a wrong answer:
 *   - success: a non-empty NUL-terminated string that fits the buffer;
 *     the release is a printable word that occurs in the input right where
 *     the header points; the vermagic occurs in the input after "vermagic=";
 *   - failure: CVMF_E_FORMAT (or INVAL for a too-small buffer), the output
 *     untouched, a one-line message naming what was being read.
 * Each call is repeated with a 16-byte output buffer to exercise the
 * "does not fit" path. Compressed modules (.ko.xz, .ko.zst, .ko.gz) are
 * decoded by the same call; for them the ELF checks apply to what is inside.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "builder/builder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

#define SENTINEL 0x5a

static void check_failure(cvmf_ctx *ctx, int r, const char *prefix, const char *out,
			  size_t len)
{
	CHECK(r == CVMF_E_FORMAT || r == CVMF_E_INVAL || r == CVMF_E_NOMEM);
	const char *msg = cvmf_ctx_errmsg(ctx);
	CHECK(!strncmp(msg, prefix, strlen(prefix)));
	CHECK(strlen(msg) > strlen(prefix) && !strchr(msg, '\n'));
	for (size_t i = 0; i < len; i++)
		CHECK((uint8_t)out[i] == SENTINEL);
}

static void run_release(cvmf_ctx *ctx, const uint8_t *data, size_t size, size_t len)
{
	char out[256];
	memset(out, SENTINEL, sizeof(out));
	int r = bld_bzimage_release(ctx, data, size, out, len);
	if (r) {
		check_failure(ctx, r, "bzImage: ", out, sizeof(out));
		return;
	}
	size_t n = strnlen(out, len);
	CHECK(n > 0 && n < len);
	for (size_t i = 0; i < n; i++)
		CHECK(out[i] > 0x20 && out[i] < 0x7f);
	/* It is what the header points at, followed by a space or the NUL. */
	CHECK(size >= 0x210);
	size_t off = 0x200 + (size_t)cmn_le16(data + 0x20e);
	CHECK(off + n < size && off + n < 0x8000);
	CHECK(!memcmp(data + off, out, n));
	CHECK(data[off + n] == ' ' || data[off + n] == 0);
	CHECK(!memcmp(data + 0x202, "HdrS", 4));
}

static void run_vermagic(cvmf_ctx *ctx, const uint8_t *data, size_t size, size_t len)
{
	char out[512];
	memset(out, SENTINEL, sizeof(out));
	int r = bld_module_vermagic(ctx, data, size, out, len);
	if (r) {
		check_failure(ctx, r, "module: ", out, sizeof(out));
		return;
	}
	size_t n = strnlen(out, len);
	CHECK(n > 0 && n < len);
	/* A compressed module (xz, zstd, gzip magic): the ELF is inside. */
	if (size >= 2 && (data[0] == 0xfd || data[0] == 0x28 || data[0] == 0x1f))
		return;
	CHECK(size >= 4 && !memcmp(data, "\177ELF", 4));
	CHECK(memmem(data, size, "vermagic=", 9) != NULL);
	/* The value comes from the input (the section data is not converted). */
	const uint8_t *p = data;
	bool found = false;
	while (!found && (p = memmem(p, size - (size_t)(p - data), "vermagic=", 9))) {
		p += 9;
		size_t left = size - (size_t)(p - data);
		found = left >= n && !memcmp(p, out, n);
	}
	CHECK(found);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	if (!ctx) {
		ctx = cvmf_ctx_new();
		CHECK(ctx != NULL);
	}
	run_release(ctx, data, size, 256);
	run_release(ctx, data, size, 16);
	run_vermagic(ctx, data, size, 512);
	run_vermagic(ctx, data, size, 16);
	return 0;
}
