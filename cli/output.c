/* SPDX-License-Identifier: Apache-2.0 */
/* Files the CLI writes: through the one writer (common/write.c), whole or not
 * at all for regular files, written through for devices and FIFOs. */
#include <stdlib.h>

#include "cli/cli.h"
#include "common/write.h"

int write_file_atomic(const char *path, const void *buf, size_t len)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory writing '%s'", path);
	int r = EXIT_OK_;
	if (cmn_write_file(ctx, "output file", path, buf, len, 0))
		r = fail("%s", cvmf_ctx_errmsg(ctx));
	cvmf_ctx_free(ctx);
	return r;
}
