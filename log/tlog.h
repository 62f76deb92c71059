/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interfaces of log/: RFC 6962 Merkle trees (merkle.c), C2SP signed
 * notes and checkpoints (note.c, checkpoint.c), tlog-tiles paths and the
 * directory log (tiles.c, store.c), tlog-proof files (proof.c). Not installed.
 * docs/log.md describes the formats; ../shared/docs/tlog.md the algorithms.
 */
#ifndef CVMF_LOG_TLOG_H
#define CVMF_LOG_TLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/internal.h"

#define TLG_HASH 32
#define TLG_MAX_PROOF 64                /* hashes in an inclusion or consistency proof */
#define TLG_MAX_ENTRY 65535u            /* an entry's length is a big-endian uint16 */
#define TLG_TILE_WIDTH 256u             /* tile height 8 */
#define TLG_MAX_NOTE (64u * 1024u)      /* notes and checkpoints we accept */
#define TLG_MAX_SIGS 100u               /* signature lines per note (x/mod's cap) */

/* ---- merkle.c: RFC 6962 / RFC 9162 §2.1 ---- */
int tlg_leaf_hash(const void *data, size_t len, uint8_t out[TLG_HASH]);
int tlg_node_hash(const uint8_t l[TLG_HASH], const uint8_t r[TLG_HASH], uint8_t out[TLG_HASH]);
void tlg_empty_root(uint8_t out[TLG_HASH]);     /* SHA-256("") */

/* The root of the perfect subtree over leaves [index << level, (index + 1) << level). */
typedef int (*tlg_node_fn)(void *user, unsigned level, uint64_t index, uint8_t out[TLG_HASH]);

/* MTH(D[lo:hi]) from perfect-subtree nodes; lo must be a multiple of the largest power of
 * two below hi - lo (true of every range the RFC recursion visits, and of lo == 0). */
int tlg_range_hash(cvmf_ctx *ctx, tlg_node_fn node, void *user, uint64_t lo, uint64_t hi,
		   uint8_t out[TLG_HASH]);
/* MTH of n leaf hashes held in memory (tests, small trees). */
int tlg_tree_hash(cvmf_ctx *ctx, const uint8_t (*leaves)[TLG_HASH], uint64_t n,
		  uint8_t out[TLG_HASH]);

/* Proof generation (RFC 6962 PATH and PROOF). out holds TLG_MAX_PROOF hashes. */
int tlg_prove_inclusion(cvmf_ctx *ctx, uint64_t index, uint64_t size, tlg_node_fn node,
			void *user, uint8_t (*out)[TLG_HASH], size_t *ret_n);
/* 0 < size1 <= size2; size1 == size2 gives an empty proof. */
int tlg_prove_consistency(cvmf_ctx *ctx, uint64_t size1, uint64_t size2, tlg_node_fn node,
			  void *user, uint8_t (*out)[TLG_HASH], size_t *ret_n);

/* Verification (RFC 9162 §2.1.3.2, §2.1.4.2): 0, or CVMF_E_CRYPTO with the reason.
 * Consistency follows transparency-dev/merkle: size1 == 0 is refused (callers that
 * accept an empty old tree, as tlog-witness does, special-case it); size1 == size2
 * needs an empty proof and equal roots. */
int tlg_verify_inclusion(cvmf_ctx *ctx, uint64_t index, uint64_t size,
			 const uint8_t leaf[TLG_HASH], const uint8_t (*proof)[TLG_HASH],
			 size_t n, const uint8_t root[TLG_HASH]);
int tlg_verify_consistency(cvmf_ctx *ctx, uint64_t size1, uint64_t size2,
			   const uint8_t root1[TLG_HASH], const uint8_t root2[TLG_HASH],
			   const uint8_t (*proof)[TLG_HASH], size_t n);
/* Root of [0, size) from the perfect subtrees of the right edge. */
int tlg_root(cvmf_ctx *ctx, uint64_t size, tlg_node_fn node, void *user, uint8_t out[TLG_HASH]);

/* ---- note.c: c2sp.org/signed-note ---- */
enum {
	TLG_SIG_ED25519 = 0x01,         /* Ed25519 over the note text */
	TLG_SIG_COSIG_V1 = 0x04,        /* timestamped Ed25519 cosignature/v1 */
};

struct tlg_sig {
	char *name;
	uint32_t id;
	uint8_t *sig;
	size_t sig_len;
};

struct tlg_note {
	char *text;                     /* NUL-terminated, ends in '\n' */
	size_t text_len;
	struct tlg_sig *sigs;
	size_t n_sigs;
};

int tlg_note_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
		   struct tlg_note **ret);
void tlg_note_free(struct tlg_note *n);

struct tlg_verifier {
	char *name;
	uint32_t id;
	uint8_t type;                   /* TLG_SIG_* */
	uint8_t pub[32];
	EVP_PKEY *pkey;
};

bool tlg_key_name_ok(const char *name, size_t len);
uint32_t tlg_key_id(const char *name, uint8_t type, const uint8_t *pub, size_t pub_len);
/* "name+hex8+base64(type||pub)": key ID recomputed and checked. */
int tlg_vkey_parse(cvmf_ctx *ctx, const char *what, const char *vkey,
		   struct tlg_verifier **ret);
void tlg_verifier_free(struct tlg_verifier *v);
/* The vkey string of an Ed25519 key (public or private) for type 0x01 or 0x04. */
int tlg_vkey_format(cvmf_ctx *ctx, const char *name, uint8_t type, EVP_PKEY *pkey, char **ret);
/* "PRIVATE+KEY+name+hex8+base64(0x01||seed)" (golang.org/x/mod's signer key). */
int tlg_skey_parse(cvmf_ctx *ctx, const char *what, const char *skey, char **ret_name,
		   EVP_PKEY **ret_pkey);

/* Verify a note against verifiers. Per note rules: unknown (name, ID) pairs are
 * ignored; a known pair whose signature fails rejects the note (CVMF_E_CRYPTO);
 * ok[i] is set for each verifier that signed; times[i] gets a cosignature's time
 * (both may be NULL). *ret_n counts the verifiers that signed (0 is not an error). */
int tlg_note_verify(cvmf_ctx *ctx, const char *what, const struct tlg_note *n,
		    struct tlg_verifier *const *v, size_t nv, bool *ok, uint64_t *times,
		    size_t *ret_n);
/* Sign text (ending in '\n') with an Ed25519 key: text, blank line, one signature line. */
int tlg_note_sign(cvmf_ctx *ctx, const char *text, size_t len, const char *name,
		  EVP_PKEY *key, char **ret);
/* One cosignature/v1 line ("— name base64\n") over a checkpoint text at time t. */
int tlg_cosign_line(cvmf_ctx *ctx, const char *text, size_t len, const char *name,
		    EVP_PKEY *key, uint64_t t, char **ret);

/* ---- checkpoint.c: c2sp.org/tlog-checkpoint ---- */
struct tlg_checkpoint {
	char *origin;
	uint64_t size;
	uint8_t root[TLG_HASH];
	size_t n_ext;                   /* extension lines (kept only as a count) */
};

int tlg_checkpoint_parse(cvmf_ctx *ctx, const char *what, const char *text, size_t len,
			 struct tlg_checkpoint *ret);
void tlg_checkpoint_clear(struct tlg_checkpoint *c);
int tlg_checkpoint_text(cvmf_ctx *ctx, const char *origin, uint64_t size,
			const uint8_t root[TLG_HASH], char **ret);
/* Parse a note, check its checkpoint body and a signature by `log`. */
int tlg_checkpoint_open(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
			const struct tlg_verifier *log, struct tlg_note **ret_note,
			struct tlg_checkpoint *ret_cp);

/* ---- tiles.c: c2sp.org/tlog-tiles ---- */
#define TLG_LEVEL_ENTRIES (-1)
/* "tile/L/N[.p/W]" or "tile/entries/N[.p/W]"; width 256 (or 0) means a full tile. */
int tlg_tile_path(char *buf, size_t n, int level, uint64_t index, unsigned width);
/* Width of tile `index` at `level` for a tree of `size` (0 if the tile is empty). */
unsigned tlg_tile_width(int level, uint64_t index, uint64_t size);
/* The root of a full or partial tile's first 2^r hashes from `start`. */
int tlg_tile_subtree(const uint8_t *hashes, unsigned start, unsigned r, uint8_t out[TLG_HASH]);

/* ---- fetch.c: a log's files from a directory or an http(s):// URL ---- */
bool tlg_is_url(const char *path);
/* Whole file (or GET body) of at most max bytes; *ret_missing (may be NULL)
 * is set when it does not exist (ENOENT, HTTP 404/410), with CVMF_E_IO. */
int tlg_fetch(cvmf_ctx *ctx, const char *what, const char *path, size_t max, uint8_t **ret,
	      size_t *ret_len, bool *ret_missing);

/* ---- client.c: POST URL/add of a served log (log serve) ---- */
int tlg_submit(cvmf_ctx *ctx, const char *url, const char *token, const uint8_t *entry,
	       size_t len, char **ret_proof, size_t *ret_len, uint64_t *ret_index);
/* publish.c: cvmf_log_publish to a directory, or to a served log's URL with a token */
int tlg_publish(cvmf_ctx *ctx, const char *image, const char *log, const char *token,
		char **ret_proof_path, uint64_t *ret_index);

/* ---- store.c: the log in a directory ---- */
struct tlg_log;
int tlg_log_open(cvmf_ctx *ctx, const char *dir, bool writer, struct tlg_log **ret);
void tlg_log_close(struct tlg_log *l);
const char *tlg_log_key_path(const struct tlg_log *l);
/*
 * The writer: the append path of cvmf_log_add, kept open by a process that
 * appends batch after batch (log serve). It holds the right edge of the tree
 * in memory and the log's lock only during a batch; a batch first checks that
 * the state files are still the ones it left, and reloads and re-checks
 * everything if another process appended in between.
 *
 * The hook is called once the batch's tiles are durable and its root is
 * known, before anything is signed or committed; an error stops the batch. It
 * may name one private file (also_path, also_text: malloc'd, freed by the
 * writer) to be written durably in the commit, between treeState and
 * lastSigned. prev_size/prev_root is the tree the batch extends, which the
 * writer has checked against the tiles.
 *
 * Flags: TLG_W_DURABLE_CHECKPOINT fsyncs DIR/checkpoint too; a server, which
 * republishes lastSigned at start (tlg_writer_open does), can skip it.
 * TLG_W_PRUNE_PARTIALS removes the partial tiles of each full tile written
 * (tlog.md §4.2 allows it); for a server that answers a request for a
 * removed partial tile itself.
 *
 * tlg_writer_append with n == 0 finishes an interrupted batch: signs a
 * committed tree that has no signed checkpoint yet, republishes lastSigned.
 */
struct tlg_commit {
	const char *origin, *key_path;
	uint64_t size;
	const uint8_t *root;
	uint64_t prev_size;
	const uint8_t *prev_root;
	const char *also_path;          /* set by the hook */
	char *also_text;
};
typedef int (*tlg_commit_fn)(void *user, cvmf_ctx *ctx, struct tlg_commit *c);
struct tlg_writer;
enum { TLG_W_DURABLE_CHECKPOINT = 1u << 0, TLG_W_PRUNE_PARTIALS = 1u << 1 };
int tlg_writer_open(cvmf_ctx *ctx, const char *dir, unsigned flags, tlg_commit_fn hook,
		    void *user, struct tlg_writer **ret);
void tlg_writer_close(struct tlg_writer *w);
int tlg_writer_append(cvmf_ctx *ctx, struct tlg_writer *w, const uint8_t *const *entries,
		      const size_t *lens, size_t n, uint64_t *ret_first);
/* The size of the last checkpoint this writer signed. */
uint64_t tlg_writer_size(const struct tlg_writer *w);
/* The tlog-proofs of entries first..first+n-1 (the batch just appended, whose
 * bytes the caller holds) against the writer's signed checkpoint; the edge
 * from memory, other tiles from disk. ret[i] is malloc'd; on failure none is
 * kept. */
int tlg_writer_proofs(cvmf_ctx *ctx, struct tlg_writer *w, uint64_t first, size_t n,
		      const uint8_t *const *entries, const size_t *lens, char **ret,
		      size_t *ret_lens);
/* Crash-test failpoints (log/crash.c): with CVMF_CRASH_POINT=NAME:N in the
 * environment, the N-th time NAME is reached the process kills itself with
 * SIGKILL. Names: sequence, bundle, tile, sync, commit, external, signed,
 * prune (log/store.c); ack (log/server.c). A no-op otherwise. */
void tlg_crash_point(const char *name);
/* Node reader over the log's tiles for a tree of `size` (tlg_node_fn's user). */
struct tlg_tiles;
int tlg_tiles_new(cvmf_ctx *ctx, const char *dir, uint64_t size, struct tlg_tiles **ret);
void tlg_tiles_free(struct tlg_tiles *t);
int tlg_tiles_node(void *user, unsigned level, uint64_t index, uint8_t out[TLG_HASH]);
/* Bundle `bindex` of a tree of `size`: its bytes (*ret_buf, malloc'd), each entry's
 * start and length (arrays of 256), and its width. */
int tlg_read_bundle(cvmf_ctx *ctx, const char *dir, uint64_t bindex, uint64_t size,
		    uint8_t **ret_buf, const uint8_t **starts, size_t *lens, unsigned *ret_w);
/* The tlog-proofs of entries first..first+n-1 of a tree (size, root) whose
 * signed checkpoint is note, its nodes read through node; ret[i] is malloc'd;
 * on failure none is kept. `what` names the log in errors. */
int tlg_proofs(cvmf_ctx *ctx, const char *what, const char *note, size_t note_len,
	       uint64_t size, const uint8_t root[TLG_HASH], tlg_node_fn node, void *user,
	       uint64_t first, size_t n, const uint8_t *const *entries, const size_t *lens,
	       char **ret, size_t *ret_lens);
/* The byte length of the first w entries of a full bundle's bytes (the
 * partial bundle of width w it replaces); the whole bundle is checked. */
int tlg_bundle_cut(cvmf_ctx *ctx, const char *what, const uint8_t *b, size_t len, unsigned w,
		   size_t *ret_len);
/* Entry `index` of a log directory whose tree has `size` leaves (malloc'd). */
int tlg_read_entry(cvmf_ctx *ctx, const char *dir, uint64_t index, uint64_t size,
		   uint8_t **ret, size_t *ret_len);

#endif
