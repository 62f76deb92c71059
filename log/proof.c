/* SPDX-License-Identifier: Apache-2.0 */
/*
 * c2sp.org/tlog-proof ("spicy signature"), written and verified offline:
 *
 *   c2sp.org/tlog-proof@v1\n
 *   [extra <base64 entry>\n]          unauthenticated; here, the entry itself
 *   index <decimal>\n
 *   <base64 hash>\n ...               inclusion proof, leaf sibling first
 *   \n
 *   <checkpoint note, verbatim, with the log signature and any cosignatures>
 *
 * Verification: the checkpoint is signed by the log key (whose name is the
 * origin), the witnesses' cosignature/v1 lines reach the quorum, the entry's
 * leaf hash is included in the checkpoint's tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "log/tlog.h"

#define PROOF_HEADER "c2sp.org/tlog-proof@v1\n"
#define MAX_PROOF_FILE (TLG_MAX_NOTE + 4 * (TLG_MAX_ENTRY + 3) / 3 + 8192)

/* The published checkpoint of a log, read and parsed once for its proofs. */
struct proof_src {
	uint8_t *note;
	size_t note_len;
	struct tlg_note *nt;
	struct tlg_checkpoint cp;
	struct tlg_tiles *t;
};

static void src_clear(struct proof_src *s)
{
	tlg_tiles_free(s->t);
	tlg_checkpoint_clear(&s->cp);
	tlg_note_free(s->nt);
	free(s->note);
}

static int src_open(cvmf_ctx *ctx, const char *dir, struct proof_src *s)
{
	char *cp_path = NULL;
	int r = 0;
	if (asprintf(&cp_path, "%s/checkpoint", dir) < 0)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if ((r = tlg_fetch(ctx, "checkpoint", cp_path, TLG_MAX_NOTE, &s->note, &s->note_len,
			   NULL)) ||
	    (r = tlg_note_parse(ctx, cp_path, s->note, s->note_len, &s->nt)) ||
	    (r = tlg_checkpoint_parse(ctx, cp_path, s->nt->text, s->nt->text_len, &s->cp)) ||
	    (r = tlg_tiles_new(ctx, dir, s->cp.size, &s->t)))
		goto out;
out:
	free(cp_path);
	return r;
}

/* The tree a proof is made against: its signed checkpoint and a node reader. */
struct proof_tree {
	const char *what;               /* the log, in errors */
	const char *note;
	size_t note_len;
	uint64_t size;
	const uint8_t *root;
	tlg_node_fn node;
	void *user;
};

/* One entry's tlog-proof. A node reader that keeps what it read (tiles, or a
 * writer's edge) lets the proofs of a batch share their reads. */
static int prove_one(cvmf_ctx *ctx, const struct proof_tree *t, uint64_t index,
		     const uint8_t *entry, size_t entry_len, char **ret, size_t *ret_len)
{
	char *b64 = NULL, *out = NULL;
	uint8_t proof[TLG_MAX_PROOF][TLG_HASH], leaf[TLG_HASH];
	size_t n = 0;
	int r = 0;
	if (index >= t->size) {
		r = cmn_error(ctx, CVMF_E_INVAL,
			       "log '%s': entry %llu is not in the log (its checkpoint has %llu entries)",
			       t->what, (unsigned long long)index, (unsigned long long)t->size);
		goto out;
	}
	if ((r = tlg_prove_inclusion(ctx, index, t->size, t->node, t->user, proof, &n)))
		goto out;
	if (tlg_leaf_hash(entry, entry_len, leaf)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 failed");
		goto out;
	}
	/* Never hand out a proof that does not verify against the checkpoint. */
	if ((r = tlg_verify_inclusion(ctx, index, t->size, leaf,
				      (const uint8_t(*)[TLG_HASH])proof, n, t->root)))
		goto out;
	if (!(b64 = cmn_base64_encode(entry, entry_len))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	size_t cap = strlen(PROOF_HEADER) + 7 + strlen(b64) + 32 + n * 45 + 2 + t->note_len + 1;
	if (!(out = malloc(cap))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	size_t p = (size_t)snprintf(out, cap, PROOF_HEADER "extra %s\nindex %llu\n", b64,
				    (unsigned long long)index);
	for (size_t i = 0; i < n; i++) {
		cvmf_base64(proof[i], TLG_HASH, out + p);
		p += 44;
		out[p++] = '\n';
	}
	out[p++] = '\n';
	memcpy(out + p, t->note, t->note_len);
	p += t->note_len;
	out[p] = '\0';
	*ret = out;
	*ret_len = p;
	out = NULL;
out:
	free(b64);
	free(out);
	return r;
}

int cvmf_log_proof(cvmf_ctx *ctx, const char *dir, uint64_t index, char **ret, size_t *ret_len)
{
	struct proof_src s = { 0 };
	uint8_t *entry = NULL;
	size_t entry_len = 0;
	int r = src_open(ctx, dir, &s);
	if (r)
		goto out;
	if (index >= s.cp.size) {
		r = cmn_error(ctx, CVMF_E_INVAL,
			       "log '%s': entry %llu is not in the log (its checkpoint has %llu entries)",
			       dir, (unsigned long long)index, (unsigned long long)s.cp.size);
		goto out;
	}
	if ((r = tlg_read_entry(ctx, dir, index, s.cp.size, &entry, &entry_len)))
		goto out;
	struct proof_tree t = { dir, (const char *)s.note, s.note_len, s.cp.size, s.cp.root,
				tlg_tiles_node, s.t };
	r = prove_one(ctx, &t, index, entry, entry_len, ret, ret_len);
out:
	src_clear(&s);
	free(entry);
	return r;
}

int tlg_proofs(cvmf_ctx *ctx, const char *what, const char *note, size_t note_len,
	       uint64_t size, const uint8_t root[TLG_HASH], tlg_node_fn node, void *user,
	       uint64_t first, size_t n, const uint8_t *const *entries, const size_t *lens,
	       char **ret, size_t *ret_lens)
{
	struct proof_tree t = { what, note, note_len, size, root, node, user };
	size_t done = 0;
	int r = 0;
	for (; !r && done < n; done++)
		r = prove_one(ctx, &t, first + done, entries[done], lens[done], &ret[done],
			      &ret_lens[done]);
	if (r)
		for (size_t i = 0; i + 1 < done; i++) {
			free(ret[i]);
			ret[i] = NULL;
		}
	return r;
}

void cvmf_log_verified_clear(struct cvmf_log_verified *v)
{
	if (v) {
		free(v->entry);
		v->entry = NULL;
		v->entry_len = 0;
	}
}

/* The next '\n'-terminated line of [*p, end), without its newline. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
	const char *s = *p;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		return NULL;
	*len = (size_t)(nl - s);
	*p = nl + 1;
	return s;
}

int cvmf_log_verify_proof(cvmf_ctx *ctx, const void *buf, size_t len,
			  const struct cvmf_log_verify_opts *o, struct cvmf_log_verified *ret)
{
	const char *s = buf, *end = s + len, *p = s;
	struct tlg_verifier **v = NULL;
	struct tlg_note *note = NULL;
	struct tlg_checkpoint cp = { 0 };
	uint8_t *extra = NULL, *entry = NULL;
	size_t extra_len = 0, nv = 1 + o->n_witnesses, n = 0, line_no = 1, ll = 0;
	uint8_t proof[TLG_MAX_PROOF][TLG_HASH], leaf[TLG_HASH];
	bool *ok = NULL;
	uint64_t index = 0;
	int r = 0;
	const char *line;
	if (len > MAX_PROOF_FILE)
		return cmn_error(ctx, CVMF_E_FORMAT, "tlog-proof: %zu bytes, more than %u accepted",
				  len, (unsigned)MAX_PROOF_FILE);
	if (!o->vkey)
		return cmn_error(ctx, CVMF_E_INVAL, "tlog-proof: the log's verifier key is required");
	if (o->quorum > o->n_witnesses)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "tlog-proof: a quorum of %zu witnesses out of %zu given", o->quorum,
				  o->n_witnesses);
	if (len < strlen(PROOF_HEADER) || memcmp(s, PROOF_HEADER, strlen(PROOF_HEADER)))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "tlog-proof: line 1: not \"c2sp.org/tlog-proof@v1\"");
	p += strlen(PROOF_HEADER);
	v = calloc(nv, sizeof(*v));
	ok = calloc(nv, sizeof(*ok));
	if (!v || !ok) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = tlg_vkey_parse(ctx, "log verifier key", o->vkey, &v[0])))
		goto out;
	if (v[0]->type != TLG_SIG_ED25519) {
		r = cmn_error(ctx, CVMF_E_INVAL, "log verifier key: not an Ed25519 (0x01) note key");
		goto out;
	}
	for (size_t i = 0; i < o->n_witnesses; i++) {
		char what[64];
		snprintf(what, sizeof(what), "witness key %zu", i + 1);
		if ((r = tlg_vkey_parse(ctx, what, o->witnesses[i], &v[1 + i])))
			goto out;
		if (v[1 + i]->type != TLG_SIG_COSIG_V1) {
			r = cmn_error(ctx, CVMF_E_INVAL, "%s: not a cosignature/v1 (0x04) key", what);
			goto out;
		}
	}
	/* Header lines. */
	line = next_line(&p, end, &ll);
	line_no++;
	if (line && ll >= 6 && !memcmp(line, "extra ", 6)) {
		char what[64];
		snprintf(what, sizeof(what), "tlog-proof: line %zu: extra", line_no);
		if ((r = cmn_base64_decode(ctx, what, line + 6, ll - 6, &extra, &extra_len)))
			goto out;
		line = next_line(&p, end, &ll);
		line_no++;
	}
	if (!line || ll < 7 || memcmp(line, "index ", 6) || ll > 6 + 19 ||
	    (line[6] == '0' && ll > 7)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "tlog-proof: line %zu: not \"index N\"", line_no);
		goto out;
	}
	for (size_t i = 6; i < ll; i++) {
		if (line[i] < '0' || line[i] > '9' || index > (UINT64_MAX - 9) / 10) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "tlog-proof: line %zu: bad index", line_no);
			goto out;
		}
		index = index * 10 + (uint64_t)(line[i] - '0');
	}
	for (;;) {
		line = next_line(&p, end, &ll);
		line_no++;
		if (!line) {
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "tlog-proof: no empty line before the checkpoint");
			goto out;
		}
		if (ll == 0)
			break;
		uint8_t *h = NULL;
		size_t hl = 0;
		char what[64];
		snprintf(what, sizeof(what), "tlog-proof: line %zu: proof hash", line_no);
		if (n == TLG_MAX_PROOF) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "tlog-proof: more than %d proof hashes",
				       TLG_MAX_PROOF);
			goto out;
		}
		if ((r = cmn_base64_decode(ctx, what, line, ll, &h, &hl)))
			goto out;
		if (hl != TLG_HASH) {
			free(h);
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %zu bytes, not 32", what, hl);
			goto out;
		}
		memcpy(proof[n++], h, TLG_HASH);
		free(h);
	}
	/* The checkpoint: log signature (name == origin), then the witnesses. */
	if ((r = tlg_note_parse(ctx, "tlog-proof checkpoint", p, (size_t)(end - p), &note)) ||
	    (r = tlg_checkpoint_parse(ctx, "tlog-proof checkpoint", note->text, note->text_len,
				      &cp)))
		goto out;
	size_t count = 0;
	if ((r = tlg_note_verify(ctx, "tlog-proof checkpoint", note, v, nv, ok, NULL, &count)))
		goto out;
	if (!ok[0]) {
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "tlog-proof: the checkpoint is not signed by the log key '%s' "
			       "(key ID %08x)",
			       v[0]->name, v[0]->id);
		goto out;
	}
	if (strcmp(v[0]->name, cp.origin)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "tlog-proof: the log key is named '%s', the checkpoint's origin is '%s'",
			       v[0]->name, cp.origin);
		goto out;
	}
	size_t cosigned = count - 1;
	if (cosigned < o->quorum) {
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "tlog-proof: %zu of the %zu witnesses cosigned the checkpoint, the "
			       "quorum is %zu",
			       cosigned, o->n_witnesses, o->quorum);
		goto out;
	}
	/* The entry: given, or the extra line; both must agree. */
	const uint8_t *e = o->entry ? o->entry : extra;
	size_t elen = o->entry ? o->entry_len : extra_len;
	if (!e) {
		r = cmn_error(ctx, CVMF_E_INVAL,
			       "tlog-proof: no entry to check (no extra line, and none given)");
		goto out;
	}
	if (o->entry && extra && (extra_len != o->entry_len || memcmp(extra, o->entry, extra_len))) {
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "tlog-proof: the entry given differs from the one in the extra line");
		goto out;
	}
	if (tlg_leaf_hash(e, elen, leaf)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 failed");
		goto out;
	}
	if ((r = tlg_verify_inclusion(ctx, index, cp.size, leaf, (const uint8_t(*)[TLG_HASH])proof,
				      n, cp.root))) {
		char msg[400];
		snprintf(msg, sizeof(msg), "%s", cvmf_ctx_errmsg(ctx));
		r = cmn_error(ctx, r, "tlog-proof: entry %llu in %s (size %llu): %s",
			       (unsigned long long)index, cp.origin, (unsigned long long)cp.size, msg);
		goto out;
	}
	if (!(entry = malloc(elen ? elen : 1))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(entry, e, elen);
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->origin, sizeof(ret->origin), "%s", cp.origin);
	ret->index = index;
	ret->size = cp.size;
	memcpy(ret->root, cp.root, TLG_HASH);
	memcpy(ret->leaf, leaf, TLG_HASH);
	ret->n_cosigned = cosigned;
	ret->entry = entry;
	ret->entry_len = elen;
	entry = NULL;
out:
	for (size_t i = 0; v && i < nv; i++)
		tlg_verifier_free(v[i]);
	free(v);
	free(ok);
	tlg_note_free(note);
	tlg_checkpoint_clear(&cp);
	free(extra);
	free(entry);
	return r;
}
