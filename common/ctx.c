/* SPDX-License-Identifier: Apache-2.0 */
/* The error context: the library's only channel for messages. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

cvmf_ctx *cvmf_ctx_new(void)
{
	return calloc(1, sizeof(struct cvmf_ctx));
}

void cvmf_ctx_free(cvmf_ctx *ctx)
{
	free(ctx);
}

const char *cvmf_ctx_errmsg(const cvmf_ctx *ctx)
{
	return ctx ? ctx->msg : "";
}

int cmn_error(cvmf_ctx *ctx, int err, const char *fmt, ...)
{
	if (ctx) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
		va_end(ap);
		ctx->err = err;
	}
	return err;
}

const char *cvmf_strerror(int err)
{
	switch (err) {
	case CVMF_OK: return "success";
	case CVMF_E_NOMEM: return "out of memory";
	case CVMF_E_IO: return "input/output error";
	case CVMF_E_FORMAT: return "malformed input";
	case CVMF_E_INVAL: return "invalid parameter";
	case CVMF_E_UNSUPPORTED: return "not supported";
	case CVMF_E_CRYPTO: return "crypto library failure";
	}
	return "unknown error";
}
