/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the parsers of the served log and its clients: the
 * read API's path parser (log/server.c; first byte 0: a path accepted must
 * re-encode to itself), Rekor v2 TransparencyLogEntry answers (first byte 1)
 * and Sigstore bundles (first byte 2) verified against the rekor-local key
 * (log/rekor.c). Nothing may crash, hang or leak.
 */
#include <stdlib.h>
#include <string.h>

#include "log/rekor.h"
#include "log/server.h"
#include "log/tlog.h"

#define REKOR_VKEY "rekor-local+d80b4420+AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	if (data[0] % 3 == 0) {
		char *p = malloc(n + 1);
		if (!p)
			return 0;
		memcpy(p, in, n);
		p[n] = '\0';
		int level;
		uint64_t index;
		unsigned w;
		if (tlg_serve_parse_tile(p, &level, &index, &w)) {
			char canon[128];
			if (tlg_tile_path(canon, sizeof(canon), level, index, w) || strcmp(canon, p))
				abort();
		}
		free(p);
		return 0;
	}
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct tlg_rekor_entry e;
	int r = data[0] % 3 == 1
			? tlg_rekor_verify(ctx, "fuzz", in, n, REKOR_VKEY, NULL, 0, &e)
			: tlg_rekor_bundle_verify(ctx, "fuzz", in, n, REKOR_VKEY, "x", 1, &e);
	if (r == 0) {
		if (e.index >= e.size || !e.body)
			abort();
		tlg_rekor_entry_clear(&e);
	}
	cvmf_ctx_free(ctx);
	return 0;
}
