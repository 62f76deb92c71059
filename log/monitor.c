/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor: is the log's newest checkpoint an extension of the last one we
 * saw? The last checkpoint is persisted in a state file (a monitor that does
 * not persist proves nothing), replaced only after every new entry verified.
 *
 *   smaller than the last seen               -> rollback alert
 *   same size, other root                    -> split view alert
 *   larger, consistency proof does not verify -> split view alert
 *
 * The new entries are read from the bundles and each matched with its leaf
 * hash in the level-0 tiles, after the tiles are checked to hash to the signed
 * root: the entries passed on are the ones the checkpoint commits to.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/write.h"
#include "log/tlog.h"

static int read_cp(cvmf_ctx *ctx, const char *what, const char *path,
		   const struct tlg_verifier *v, uint8_t **ret_note, size_t *ret_len,
		   struct tlg_checkpoint *cp)
{
	uint8_t *b = NULL;
	size_t len = 0;
	int r = tlg_fetch(ctx, what, path, TLG_MAX_NOTE, &b, &len, NULL);
	if (!r)
		r = tlg_checkpoint_open(ctx, path, b, len, v, NULL, cp);
	if (!r && strcmp(cp->origin, v->name)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "%s: origin '%s' is not the log key's name '%s'",
			       path, cp->origin, v->name);
		tlg_checkpoint_clear(cp);
	}
	if (r) {
		free(b);
		return r;
	}
	*ret_note = b;
	*ret_len = len;
	return 0;
}

int cvmf_log_monitor(cvmf_ctx *ctx, const char *dir, const char *vkey, const char *state_path,
		     cvmf_log_entry_fn entry, void *user, struct cvmf_log_monitor_result *ret)
{
	struct tlg_verifier *v = NULL;
	struct tlg_checkpoint cur = { 0 }, old = { 0 };
	struct tlg_tiles *t = NULL;
	uint8_t *cur_note = NULL, *old_note = NULL, *bundle = NULL;
	size_t cur_len = 0, old_len = 0, n = 0;
	char *cp_path = NULL;
	uint8_t proof[TLG_MAX_PROOF][TLG_HASH], h[TLG_HASH];
	struct cvmf_log_monitor_result res = { 0 };
	int r = tlg_vkey_parse(ctx, "log verifier key", vkey, &v);
	if (r)
		goto out;
	if (asprintf(&cp_path, "%s/checkpoint", dir) < 0) {
		cp_path = NULL;
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = read_cp(ctx, "checkpoint", cp_path, v, &cur_note, &cur_len, &cur)))
		goto out;
	res.new_size = cur.size;
	memcpy(res.new_root, cur.root, TLG_HASH);
	if (access(state_path, F_OK) != 0 && errno == ENOENT) {
		res.first = true;
	} else {
		if ((r = read_cp(ctx, "monitor state", state_path, v, &old_note, &old_len, &old)))
			goto out;
		res.old_size = old.size;
		memcpy(res.old_root, old.root, TLG_HASH);
	}
	if (cur.size < res.old_size) {
		res.alert = CVMF_LOG_ROLLBACK;
		snprintf(res.detail, sizeof(res.detail),
			 "rollback: the log's checkpoint has %llu entries, %llu were seen before",
			 (unsigned long long)cur.size, (unsigned long long)res.old_size);
		goto done;
	}
	if (cur.size == res.old_size && memcmp(cur.root, res.old_root, TLG_HASH)) {
		res.alert = CVMF_LOG_SPLIT_VIEW;
		snprintf(res.detail, sizeof(res.detail),
			 "split view: two checkpoints of size %llu with different roots, both "
			 "signed by %s",
			 (unsigned long long)cur.size, v->name);
		goto done;
	}
	if ((r = tlg_tiles_new(ctx, dir, cur.size, &t)))
		goto out;
	if (res.old_size && cur.size > res.old_size) {
		cvmf_ctx *pctx = cvmf_ctx_new();
		int pr = tlg_prove_consistency(pctx, res.old_size, cur.size, tlg_tiles_node, t,
					       proof, &n);
		if (!pr)
			pr = tlg_verify_consistency(pctx, res.old_size, cur.size, res.old_root,
						    cur.root, (const uint8_t(*)[TLG_HASH])proof, n);
		if (pr) {
			res.alert = CVMF_LOG_SPLIT_VIEW;
			snprintf(res.detail, sizeof(res.detail),
				 "split view: the checkpoint of size %llu is not consistent with "
				 "the one of size %llu seen before (%s)",
				 (unsigned long long)cur.size, (unsigned long long)res.old_size,
				 cvmf_ctx_errmsg(pctx));
			cvmf_ctx_free(pctx);
			goto done;
		}
		cvmf_ctx_free(pctx);
	}
	/* The tiles must hash to the signed root before their leaves are trusted. */
	if ((r = tlg_root(ctx, cur.size, tlg_tiles_node, t, h)))
		goto out;
	if (memcmp(h, cur.root, TLG_HASH)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "log '%s': the tiles do not hash to the root of its checkpoint (size %llu)",
			       dir, (unsigned long long)cur.size);
		goto out;
	}
	for (uint64_t i = res.old_size; i < cur.size;) {
		const uint8_t *starts[256];
		size_t lens[256];
		unsigned w = 0;
		free(bundle);
		bundle = NULL;
		if ((r = tlg_read_bundle(ctx, dir, i >> 8, cur.size, &bundle, starts, lens, &w)))
			goto out;
		for (unsigned k = (unsigned)(i & 255); k < w; k++, i++) {
			uint8_t tile_h[TLG_HASH];
			if (tlg_leaf_hash(starts[k], lens[k], h) ||
			    (r = tlg_tiles_node(t, 0, i, tile_h))) {
				r = cmn_error(ctx, r ? r : CVMF_E_CRYPTO,
					       "log '%s': no leaf hash for entry %llu", dir,
					       (unsigned long long)i);
				goto out;
			}
			if (memcmp(h, tile_h, TLG_HASH)) {
				r = cmn_error(ctx, CVMF_E_CRYPTO,
					       "log '%s': entry %llu does not hash to its leaf in the tiles",
					       dir, (unsigned long long)i);
				goto out;
			}
			if (entry && (r = entry(user, i, starts[k], lens[k])))
				goto out;
		}
	}
	if ((r = cmn_write_file(ctx, "monitor state", state_path, cur_note, cur_len, CMN_W_DURABLE)))
		goto out;
done:
	*ret = res;
out:
	tlg_verifier_free(v);
	tlg_checkpoint_clear(&cur);
	tlg_checkpoint_clear(&old);
	tlg_tiles_free(t);
	free(cur_note);
	free(old_note);
	free(bundle);
	free(cp_path);
	return r;
}
