/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for bld_cpio_diff(): `cvmforge initrd diff` reads two
 * files nobody vouches for, through libarchive's zstd/gzip filters and cpio
 * reader. ASan/UBSan catch memory errors; the checks below catch answers
 * that cannot be right.
 *
 * The first input byte says where to cut the rest into A and B. Then:
 *   - diff(A, B) and diff(B, A) agree: both fail, or both give the same
 *     0/1 answer (both sides are read in step, so which one is broken or
 *     different does not depend on the order);
 *   - diff(A, A) never says "different";
 *   - a failure leaves a one-line message naming the initrd; a difference
 *     a one-line description; equality an empty string.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "builder/builder.h"
#include "common/internal.h"
#include "tests/fuzz/fuzz.h"

static int run(cvmf_ctx *ctx, const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	char msg[1024];
	memset(msg, 'x', sizeof(msg));
	int r = bld_cpio_diff(ctx, a, al, b, bl, msg, sizeof(msg));
	CHECK(r == 0 || r == 1 || r == CVMF_E_FORMAT || r == CVMF_E_NOMEM ||
	      r == CVMF_E_UNSUPPORTED);
	if (r < 0) {
		const char *m = cvmf_ctx_errmsg(ctx);
		CHECK(strstr(m, "initrd") != NULL);
		CHECK(strchr(m, '\n') == NULL);
	} else {
		CHECK(memchr(msg, '\0', sizeof(msg)) != NULL);
		CHECK(strchr(msg, '\n') == NULL);
		CHECK(r == 0 ? msg[0] == '\0' : msg[0] != '\0');
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	if (!ctx) {
		ctx = cvmf_ctx_new();
		CHECK(ctx != NULL);
	}
	if (size < 1)
		return 0;
	size_t rest = size - 1;
	size_t cut = (size_t)data[0] * rest / 255;
	const uint8_t *a = data + 1, *b = data + 1 + cut;
	size_t al = cut, bl = rest - cut;

	int ab = run(ctx, a, al, b, bl);
	int ba = run(ctx, b, bl, a, al);
	CHECK((ab < 0) == (ba < 0));
	if (ab >= 0)
		CHECK(ab == ba);
	CHECK(run(ctx, a, al, a, al) != 1);
	CHECK(run(ctx, b, bl, b, bl) != 1);
	return 0;
}
