/* SPDX-License-Identifier: Apache-2.0 */
/*
 * c2sp.org/tlog-checkpoint v1.0.0: the text of a signed note
 *
 *   <origin>\n  <tree size, decimal, no leading zeros>\n  <base64 root>\n  [<extension>\n]*
 *
 * parsed strictly: no empty lines, size <= 2^63-1, the root exactly 32 bytes in
 * canonical base64.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/encode.h"
#include "log/tlog.h"

void tlg_checkpoint_clear(struct tlg_checkpoint *c)
{
	if (c) {
		free(c->origin);
		c->origin = NULL;
	}
}

int tlg_checkpoint_parse(cvmf_ctx *ctx, const char *what, const char *text, size_t len,
			 struct tlg_checkpoint *ret)
{
	const char *line[3];
	size_t ll[3];
	size_t p = 0, n = 0, ext = 0;
	uint8_t *root = NULL;
	size_t root_len = 0;
	int r = 0;
	while (p < len) {
		const char *nl = memchr(text + p, '\n', len - p);
		if (!nl)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: checkpoint line %zu does not end in a newline", what,
					  n + 1);
		size_t l = (size_t)(nl - (text + p));
		if (l == 0)
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: checkpoint line %zu is empty",
					  what, n + 1);
		if (n < 3) {
			line[n] = text + p;
			ll[n] = l;
		} else {
			ext++;
		}
		n++;
		p += l + 1;
	}
	if (n < 3)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: a checkpoint has an origin, a size and a root hash (%zu lines)",
				  what, n);
	if (memchr(line[0], '\0', ll[0]))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: line 1: NUL in the origin", what);
	uint64_t size = 0;
	bool ok = ll[1] <= 19 && (ll[1] == 1 || line[1][0] != '0');
	for (size_t i = 0; ok && i < ll[1]; i++) {
		ok = line[1][i] >= '0' && line[1][i] <= '9';
		size = size * 10 + (uint64_t)(line[1][i] - '0');
	}
	if (!ok || size > INT64_MAX)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: line 2: the tree size '%.*s' is not a decimal number without "
				  "leading zeros below 2^63",
				  what, (int)(ll[1] > 24 ? 24 : ll[1]), line[1]);
	char where[160];
	snprintf(where, sizeof(where), "%s: line 3: root hash", what);
	r = cmn_base64_decode(ctx, where, line[2], ll[2], &root, &root_len);
	if (r)
		return r;
	if (root_len != TLG_HASH) {
		free(root);
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %zu bytes, not 32", where, root_len);
	}
	char *origin = strndup(line[0], ll[0]);
	if (!origin) {
		free(root);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	ret->origin = origin;
	ret->size = size;
	memcpy(ret->root, root, TLG_HASH);
	ret->n_ext = ext;
	free(root);
	return 0;
}

int tlg_checkpoint_text(cvmf_ctx *ctx, const char *origin, uint64_t size,
			const uint8_t root[TLG_HASH], char **ret)
{
	char b[45];
	cvmf_base64(root, TLG_HASH, b);
	if (!*origin || strchr(origin, '\n'))
		return cmn_error(ctx, CVMF_E_INVAL, "checkpoint: invalid origin");
	if (asprintf(ret, "%s\n%llu\n%s\n", origin, (unsigned long long)size, b) < 0)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	return 0;
}

int tlg_checkpoint_open(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
			const struct tlg_verifier *log, struct tlg_note **ret_note,
			struct tlg_checkpoint *ret_cp)
{
	struct tlg_note *n = NULL;
	struct tlg_checkpoint cp = { 0 };
	size_t count = 0;
	struct tlg_verifier *const v[1] = { (struct tlg_verifier *)log };
	int r = tlg_note_parse(ctx, what, buf, len, &n);
	if (r)
		goto out;
	r = tlg_checkpoint_parse(ctx, what, n->text, n->text_len, &cp);
	if (r)
		goto out;
	r = tlg_note_verify(ctx, what, n, v, 1, NULL, NULL, &count);
	if (r)
		goto out;
	if (count == 0 || log->type != TLG_SIG_ED25519) {
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "%s: not signed by the log key '%s' (key ID %08x)", what, log->name,
			       log->id);
		goto out;
	}
	if (ret_note) {
		*ret_note = n;
		n = NULL;
	}
	*ret_cp = cp;
	cp.origin = NULL;
out:
	tlg_checkpoint_clear(&cp);
	tlg_note_free(n);
	return r;
}
